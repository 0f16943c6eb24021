//! Callback tasks as the store keeps them ([`NewCallbackTask`], [`CallbackTask`]): a
//! customer's request to be called back, written before it is acknowledged, with the
//! dialer's scheduling state beside it (`crates/dialer` decides when; the store keeps).

use hotline_phone::PhoneNumber;

use crate::records::{CustomerId, FieldError};
use crate::ticket_records::TicketId;

/// Where a callback request may come from (`agent`: scheduled by an agent at the end of a
/// call; `campaign`: a predictive campaign's number, and only that).
pub const CALLBACK_CHANNELS: [&str; 8] = [
    "web_form",
    "wechat",
    "app",
    "after_sales",
    "follow_up",
    "api",
    "agent",
    "campaign",
];
/// How a task may be dialled (none given: the center's default mode); `predictive` only for a
/// campaign's tasks.
pub const CALLBACK_MODES: [&str; 4] = ["agent_first", "automatic", "preview", "predictive"];
/// A task's priorities, lowest first.
pub const CALLBACK_PRIORITIES: [&str; 3] = ["normal", "high", "urgent"];
/// The longest reason, in characters.
pub const MAX_CALLBACK_REASON_CHARS: usize = 200;
/// The most need tags, and the longest one in characters.
pub const MAX_CALLBACK_TAGS: usize = 20;
/// The longest need tag, in characters.
pub const MAX_CALLBACK_TAG_CHARS: usize = 32;
/// The largest CRM payload, as JSON bytes.
pub const MAX_CALLBACK_PAYLOAD_BYTES: usize = 16 * 1024;
/// The largest dialer snapshot, as JSON bytes.
pub const MAX_CALLBACK_SNAPSHOT_BYTES: usize = 16 * 1024;
/// The most tasks one list returns.
pub const MAX_CALLBACKS_PAGE: u32 = 500;

/// Where a callback task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallbackState {
    /// Waiting for its time (or a retry).
    Pending,
    /// An attempt was handed to the dialer and is under way.
    Dialling,
    /// The customer was reached.
    Done,
    /// Failed for good (attempts used up, invalid number, window passed).
    Failed,
    /// Cancelled (by an agent, or do-not-call found before a dial).
    Cancelled,
}

impl CallbackState {
    /// Its name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Pending => "pending",
            CallbackState::Dialling => "dialling",
            CallbackState::Done => "done",
            CallbackState::Failed => "failed",
            CallbackState::Cancelled => "cancelled",
        }
    }

    /// The state of a name.
    pub fn parse(name: &str) -> Option<CallbackState> {
        [
            CallbackState::Pending,
            CallbackState::Dialling,
            CallbackState::Done,
            CallbackState::Failed,
            CallbackState::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Whether the task may still be dialled (and counts for the one-active-task rule).
    pub fn is_active(self) -> bool {
        matches!(self, CallbackState::Pending | CallbackState::Dialling)
    }
}

/// A callback task to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCallbackTask {
    /// The customer, when known.
    pub customer: Option<CustomerId>,
    /// The number to call.
    pub number: PhoneNumber,
    /// Where the request came from ([`CALLBACK_CHANNELS`]).
    pub channel: String,
    /// Why the customer wants the call (shown to the agent).
    pub reason: String,
    /// Need tags (knowledge-base suggestions on the screen pop).
    pub need_tags: Vec<String>,
    /// The CRM's payload (order data …) for the screen pop; sealed at rest.
    pub payload: Option<serde_json::Value>,
    /// [`CALLBACK_PRIORITIES`].
    pub priority: String,
    /// The customer's value score (high-value customers first when capacity is short).
    pub value_score: u32,
    /// The requested window, `[start, end)` in Unix milliseconds.
    pub window_start_ms: i64,
    /// The window's end.
    pub window_end_ms: i64,
    /// When the customer was told the call would come.
    pub promised_ms: i64,
    /// One active task per key: the customer (or number) and the reason.
    pub dedupe_key: String,
    /// The ticket whose follow-up this is.
    pub ticket: Option<TicketId>,
    /// When it was requested.
    pub created_ms: i64,
    /// The campaign whose number this is (its channel is then `campaign`).
    pub campaign: Option<i64>,
    /// How it is dialled ([`CALLBACK_MODES`]); `None`: the center's default mode.
    pub mode: Option<String>,
    /// Who asked for it (a user's or an API key's name); `None` for tasks the system made.
    pub requested_by: Option<String>,
}

impl NewCallbackTask {
    /// Checks every field, naming the one at fault.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !CALLBACK_CHANNELS.contains(&self.channel.as_str()) {
            return Err(FieldError::new(
                "channel",
                format!(
                    "{:?} is not one of {}",
                    self.channel,
                    CALLBACK_CHANNELS.join(", ")
                ),
            ));
        }
        match (self.campaign, self.channel == "campaign") {
            (Some(_), false) => {
                return Err(FieldError::new(
                    "channel",
                    "a campaign's task has channel \"campaign\"",
                ))
            }
            (None, true) => {
                return Err(FieldError::new(
                    "campaign",
                    "channel \"campaign\" needs a campaign",
                ))
            }
            _ => {}
        }
        if let Some(mode) = &self.mode {
            if !CALLBACK_MODES.contains(&mode.as_str()) {
                return Err(FieldError::new(
                    "mode",
                    format!("{mode:?} is not one of {}", CALLBACK_MODES.join(", ")),
                ));
            }
            if mode == "predictive" && self.campaign.is_none() {
                return Err(FieldError::new(
                    "mode",
                    "predictive dialling is only for a campaign's tasks",
                ));
            }
        }
        let reason = self.reason.trim();
        if reason.is_empty() || self.reason.chars().count() > MAX_CALLBACK_REASON_CHARS {
            return Err(FieldError::new(
                "reason",
                format!("1 to {MAX_CALLBACK_REASON_CHARS} characters"),
            ));
        }
        if self.need_tags.len() > MAX_CALLBACK_TAGS {
            return Err(FieldError::new(
                "need_tags",
                format!("at most {MAX_CALLBACK_TAGS} tags"),
            ));
        }
        for (i, tag) in self.need_tags.iter().enumerate() {
            if tag.trim().is_empty() || tag.chars().count() > MAX_CALLBACK_TAG_CHARS {
                return Err(FieldError::new(
                    format!("need_tags[{i}]"),
                    format!("1 to {MAX_CALLBACK_TAG_CHARS} characters"),
                ));
            }
        }
        if let Some(payload) = &self.payload {
            if payload.to_string().len() > MAX_CALLBACK_PAYLOAD_BYTES {
                return Err(FieldError::new(
                    "payload",
                    format!("at most {MAX_CALLBACK_PAYLOAD_BYTES} bytes of JSON"),
                ));
            }
        }
        if !CALLBACK_PRIORITIES.contains(&self.priority.as_str()) {
            return Err(FieldError::new(
                "priority",
                format!(
                    "{:?} is not one of {}",
                    self.priority,
                    CALLBACK_PRIORITIES.join(", ")
                ),
            ));
        }
        if self.window_end_ms <= self.window_start_ms {
            return Err(FieldError::new(
                "window",
                "its end must come after its start",
            ));
        }
        if self.dedupe_key.is_empty() {
            return Err(FieldError::new("dedupe_key", "must not be empty"));
        }
        Ok(())
    }
}

/// A stored callback task.
#[derive(Clone, Debug, PartialEq)]
pub struct CallbackTask {
    /// Its id.
    pub id: i64,
    /// What was requested.
    pub fields: NewCallbackTask,
    /// Where it is.
    pub state: CallbackState,
    /// Attempts made.
    pub attempts: u32,
    /// The last outcome, in the dialer's words.
    pub outcome: Option<String>,
    /// The dialer's state (JSON), if it wrote one.
    pub snapshot: Option<String>,
    /// When it last changed.
    pub updated_ms: i64,
}

/// Which tasks a list returns, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackFilter {
    /// Only tasks in this state.
    pub state: Option<CallbackState>,
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Only those this user or API key asked for.
    pub requested_by: Option<String>,
    /// Only ids below this (the next page).
    pub before_id: Option<i64>,
    /// At most this many ([`MAX_CALLBACKS_PAGE`]).
    pub limit: u32,
}

impl Default for CallbackFilter {
    fn default() -> Self {
        CallbackFilter {
            state: None,
            customer: None,
            requested_by: None,
            before_id: None,
            limit: 100,
        }
    }
}
