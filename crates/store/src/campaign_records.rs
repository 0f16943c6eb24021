//! Predictive campaigns as the store keeps them ([`NewCampaign`], [`Campaign`]): a list of
//! numbers dialled for one routing queue by a pacer, under a cap on abandoned calls. The
//! numbers are callback tasks of channel `campaign` ([`NewCallbackTask::campaign`]); the
//! answered and abandoned counts are kept per minute so a restart restores the abandonment
//! windows (`crates/dialer` paces and counts; the store keeps).
//!
//! [`NewCallbackTask::campaign`]: crate::NewCallbackTask::campaign

use crate::records::FieldError;

/// The pacers a campaign may be dialled by.
pub const CAMPAIGN_PACERS: [&str; 3] = ["model", "vicidial", "progressive"];
/// The longest campaign name, in characters.
pub const MAX_CAMPAIGN_NAME_CHARS: usize = 64;
/// The longest queue name, in characters.
pub const MAX_CAMPAIGN_QUEUE_CHARS: usize = 64;
/// The highest abandonment cap (a fraction of answered calls).
pub const MAX_ABANDON_CAP: f64 = 0.5;
/// The most live (running or paused) campaigns, and the most one list returns.
pub const MAX_CAMPAIGNS: usize = 1_000;
/// The most tasks one batch insert stores.
pub const MAX_CAMPAIGN_BATCH: usize = 10_000;

/// Where a campaign is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CampaignState {
    /// Its tasks are dialled.
    Running,
    /// Nothing is dialled; its tasks wait.
    Paused,
    /// Finished: nothing is dialled again until it is set running.
    Stopped,
}

impl CampaignState {
    /// Its name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::Stopped => "stopped",
        }
    }

    /// The state of a name.
    pub fn parse(name: &str) -> Option<CampaignState> {
        [
            CampaignState::Running,
            CampaignState::Paused,
            CampaignState::Stopped,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// A campaign to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCampaign {
    /// Its name, unique ([`MAX_CAMPAIGN_NAME_CHARS`]); stored trimmed.
    pub name: String,
    /// The routing queue whose agents take its answered calls.
    pub queue: String,
    /// [`CAMPAIGN_PACERS`].
    pub pacer: String,
    /// The highest share of answered calls that may be abandoned, a fraction in
    /// `(0, MAX_ABANDON_CAP]` (0.03: 3 %).
    pub abandon_cap: f64,
}

impl NewCampaign {
    /// Checks every field, naming the one at fault.
    pub fn validate(&self) -> Result<(), FieldError> {
        let name = self.name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_CAMPAIGN_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(FieldError::new(
                "name",
                format!("1 to {MAX_CAMPAIGN_NAME_CHARS} characters without control characters"),
            ));
        }
        if self.queue.trim().is_empty()
            || self.queue.chars().count() > MAX_CAMPAIGN_QUEUE_CHARS
            || self.queue.chars().any(char::is_control)
        {
            return Err(FieldError::new(
                "queue",
                format!("1 to {MAX_CAMPAIGN_QUEUE_CHARS} characters without control characters"),
            ));
        }
        if !CAMPAIGN_PACERS.contains(&self.pacer.as_str()) {
            return Err(FieldError::new(
                "pacer",
                format!(
                    "{:?} is not one of {}",
                    self.pacer,
                    CAMPAIGN_PACERS.join(", ")
                ),
            ));
        }
        if !self.abandon_cap.is_finite()
            || self.abandon_cap <= 0.0
            || self.abandon_cap > MAX_ABANDON_CAP
        {
            return Err(FieldError::new(
                "abandon_cap",
                format!("a fraction above 0 and at most {MAX_ABANDON_CAP}"),
            ));
        }
        Ok(())
    }
}

/// A stored campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct Campaign {
    /// Its id.
    pub id: i64,
    /// What was asked for (the name trimmed).
    pub fields: NewCampaign,
    /// Where it is.
    pub state: CampaignState,
    /// When it was created.
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
}

/// A campaign's tasks by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CampaignCounts {
    /// Waiting for their time (or a retry).
    pub pending: u64,
    /// With an attempt under way.
    pub dialling: u64,
    /// Reached.
    pub done: u64,
    /// Failed for good.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
}
