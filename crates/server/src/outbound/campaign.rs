//! Predictive campaigns (外呼活动) on real calls: a list of numbers, each a callback task of
//! the campaign's own [`Dialer`] (the same rules: legal hours, contact hours, attempts,
//! retries, do-not-call re-checked before each dial), dialled before an agent is free at the
//! rate the campaign's [`Pacer`] decides.
//!
//! Every [`PACING_TICK`] the outbound task asks the switch for the campaign queue's agents
//! ([`QueueAgents`]: idle, talking since, wrapping since), adds the calls it has ringing and
//! the answered ones waiting for an agent, and asks the pacer how many to place. The switch
//! reports each call's progress ([`PacingStep`]: answered, then talk and wrap-up times) and
//! end (connected, abandoned, hung up, not answered), which the pacer learns from.
//!
//! The abandonment cap is kept twice: the pacer aims under it, and the lane itself counts
//! answered and abandoned calls over the rolling 24 hours and 30 days ([`AbandonWindow`],
//! stored per minute in the records so a restart keeps them). While the worse of the two
//! windows is at or over the cap, the lane dials progressively (one call per idle agent not
//! already covered), which abandons nothing while agents stay.

use std::collections::HashMap;

use hotline_dialer::pacing::{
    default_pacer, AbandonCounts, AbandonWindow, VicidialAdaptive, VicidialConfig,
    ABANDON_WINDOW_LONG_MS,
};
use hotline_dialer::{CampaignState, Dialer, DialerRules, Pacer, PacingEvent, Progressive};
use hotline_store::{Campaign, CampaignState as StoredState, Records, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::switch::{OutboundResult, PacingStep, QueueAgents};

/// How often each running campaign's pacer decides.
pub const PACING_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a pacer waits for the switch's answer about the agents before it skips a round.
pub const AGENTS_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Answered calls the lane needs in a window before its rate may hold the pacer back: fewer
/// say nothing yet (one early abandon out of three answered calls is not a 33 % campaign).
pub const CAP_MIN_ANSWERED: u64 = 30;

/// A campaign the outbound task dials.
pub(super) struct Lane {
    /// As the records hold it.
    pub campaign: Campaign,
    /// Its tasks.
    pub dialer: Dialer,
    pacer: Box<dyn Pacer + Send>,
    window: AbandonWindow,
    /// Calls ringing: task → when placed.
    ringing: HashMap<u64, u64>,
    /// Answered calls waiting for an agent: task → when answered.
    waiting: HashMap<u64, u64>,
    counters: LaneCounters,
    /// The last decision was held to progressive by the cap.
    capped: bool,
}

/// What a lane counted since the start.
#[derive(Clone, Copy, Debug, Default, Serialize, ToSchema)]
pub struct LaneCounters {
    /// Calls placed.
    pub placed: u64,
    /// Answered by a person.
    pub answered: u64,
    /// Bridged to an agent within the 2 s.
    pub connected: u64,
    /// Answered with no agent within the 2 s: the apology played.
    pub abandoned: u64,
    /// Answered, and the customer hung up before an agent came.
    pub hung_up: u64,
    /// Not answered (busy, no answer, rejected, failed, not placed).
    pub not_answered: u64,
}

/// A campaign's live figures, for the API and the wall.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CampaignLive {
    /// The campaign.
    pub id: i64,
    /// Tasks the dialer holds (pending or dialling).
    pub active: u64,
    /// Calls ringing now.
    pub ringing: u64,
    /// Answered calls waiting for an agent now.
    pub waiting: u64,
    /// Since the start of this process.
    pub since_start: LaneCounters,
    /// Answered calls over the rolling 24 hours.
    pub answered_24h: u64,
    /// Abandoned calls over the rolling 24 hours.
    pub abandoned_24h: u64,
    /// The abandonment rate over the rolling 24 hours (`null` before an answer).
    pub abandonment_24h: Option<f64>,
    /// Answered calls over the rolling 30 days.
    pub answered_30d: u64,
    /// Abandoned calls over the rolling 30 days.
    pub abandoned_30d: u64,
    /// The abandonment rate over the rolling 30 days.
    pub abandonment_30d: Option<f64>,
    /// The last pacing round was held to progressive dialling by the cap.
    pub capped: bool,
}

/// The pacer a campaign names: `model` (the default), `vicidial` or `progressive`.
pub(super) fn pacer_of(name: &str, abandon_cap: f64) -> Box<dyn Pacer + Send> {
    match name {
        "vicidial" => Box::new(VicidialAdaptive::new(VicidialConfig {
            abandon_cap,
            ..VicidialConfig::default()
        })),
        "progressive" => Box::new(Progressive),
        _ => Box::new(default_pacer(abandon_cap)),
    }
}

impl Lane {
    /// A lane for `campaign` with its stored abandon counts (the rolling windows) restored.
    pub async fn open(
        records: &Records,
        campaign: Campaign,
        rules: DialerRules,
        now_ms: u64,
    ) -> Result<Lane, StoreError> {
        let mut pacer = pacer_of(&campaign.fields.pacer, campaign.fields.abandon_cap);
        let mut window = AbandonWindow::new();
        let since = now_ms.saturating_sub(ABANDON_WINDOW_LONG_MS) as i64;
        for (minute, answered, abandoned) in
            records.campaign_abandons_since(campaign.id, since).await?
        {
            let counts = AbandonCounts {
                answered,
                abandoned,
            };
            window.record_counts(minute.max(0) as u64, counts);
            pacer.restore_abandons(minute.max(0) as u64, counts);
        }
        Ok(Lane {
            campaign,
            dialer: Dialer::new(rules),
            pacer,
            window,
            ringing: HashMap::new(),
            waiting: HashMap::new(),
            counters: LaneCounters::default(),
            capped: false,
        })
    }

    /// Whether its pacer places calls now.
    pub fn running(&self) -> bool {
        self.campaign.state == StoredState::Running
    }

    /// Whether it was stopped (for good).
    pub fn stopped(&self) -> bool {
        self.campaign.state == StoredState::Stopped
    }

    /// The campaign's queue, by name.
    pub fn queue(&self) -> &str {
        &self.campaign.fields.queue
    }

    /// How many calls to place now, given the queue's agents: the pacer's answer, held to
    /// progressive while the worse rolling window is at or over the cap.
    pub fn calls_to_place(&mut self, agents: &QueueAgents) -> u32 {
        let now = agents.at_ms;
        let ringing: Vec<u64> = self.ringing.values().copied().collect();
        let waiting: Vec<u64> = self.waiting.values().copied().collect();
        let state = CampaignState {
            agents_idle: agents.idle,
            talking_since_ms: &agents.talking_since_ms,
            wrapping_since_ms: &agents.wrapping_since_ms,
            ringing_since_ms: &ringing,
            waiting_since_ms: &waiting,
        };
        let wanted = self.pacer.calls_to_place(now, &state);
        self.capped = self.over_cap(now);
        if self.capped {
            wanted.min(Progressive.calls_to_place(now, &state))
        } else {
            wanted
        }
    }

    fn over_cap(&self, now_ms: u64) -> bool {
        let cap = self.campaign.fields.abandon_cap;
        [
            self.window.counts_24h(now_ms),
            self.window.counts_30d(now_ms),
        ]
        .iter()
        .any(|c| c.answered >= CAP_MIN_ANSWERED && c.rate().is_some_and(|r| r >= cap))
    }

    /// A call of the lane was placed at `at_ms`.
    pub fn placed(&mut self, task: u64, at_ms: u64) {
        self.pacer.observe(at_ms, PacingEvent::Placed);
        self.ringing.insert(task, at_ms);
        self.counters.placed += 1;
    }

    /// A report about one of its calls: the pacer learns, the windows count. Answers the
    /// counts to add to the records' minute of `at_ms` (answered, abandoned), if any.
    pub fn report(&mut self, task: u64, result: OutboundResult, at_ms: u64) -> Option<(u64, u64)> {
        let since =
            |map: &mut HashMap<u64, u64>| map.remove(&task).map(|t| at_ms.saturating_sub(t));
        match result {
            OutboundResult::Pacing(PacingStep::Answered) => {
                let ring_ms = since(&mut self.ringing).unwrap_or(0);
                self.pacer.observe(at_ms, PacingEvent::Answered { ring_ms });
                self.window.record_answered(at_ms);
                self.waiting.insert(task, at_ms);
                self.counters.answered += 1;
                Some((1, 0))
            }
            OutboundResult::Pacing(PacingStep::TalkEnded(talk_ms)) => {
                self.pacer
                    .observe(at_ms, PacingEvent::TalkEnded { talk_ms });
                None
            }
            OutboundResult::Pacing(PacingStep::WrapEnded(wrap_ms)) => {
                self.pacer
                    .observe(at_ms, PacingEvent::WrapEnded { wrap_ms });
                None
            }
            OutboundResult::Connected => {
                let wait_ms = since(&mut self.waiting).unwrap_or(0);
                self.pacer
                    .observe(at_ms, PacingEvent::Connected { wait_ms });
                self.counters.connected += 1;
                None
            }
            OutboundResult::Abandoned => {
                self.waiting.remove(&task);
                self.pacer.observe(at_ms, PacingEvent::Abandoned);
                self.window.record_abandoned(at_ms);
                self.counters.abandoned += 1;
                Some((0, 1))
            }
            OutboundResult::HungUp => {
                self.waiting.remove(&task);
                self.counters.hung_up += 1;
                None
            }
            OutboundResult::Later(_) => None,
            _ => {
                // Ended before an answer. A call withdrawn before it rang was never placed
                // for the pacer's purposes either, but it counts the ring it had.
                let ring_ms = since(&mut self.ringing).unwrap_or(0);
                self.waiting.remove(&task);
                self.pacer
                    .observe(at_ms, PacingEvent::NotAnswered { ring_ms });
                self.counters.not_answered += 1;
                None
            }
        }
    }

    /// Its live figures at `now_ms`.
    pub fn live(&self, now_ms: u64) -> CampaignLive {
        let day = self.window.counts_24h(now_ms);
        let month = self.window.counts_30d(now_ms);
        CampaignLive {
            id: self.campaign.id,
            active: self.dialer.len() as u64,
            ringing: self.ringing.len() as u64,
            waiting: self.waiting.len() as u64,
            since_start: self.counters,
            answered_24h: day.answered,
            abandoned_24h: day.abandoned,
            abandonment_24h: day.rate(),
            answered_30d: month.answered,
            abandoned_30d: month.abandoned,
            abandonment_30d: month.rate(),
            capped: self.capped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_store::NewCampaign;

    fn lane(pacer: &str) -> Lane {
        let campaign = Campaign {
            id: 7,
            fields: NewCampaign {
                name: "renewals".into(),
                queue: "sales".into(),
                pacer: pacer.into(),
                abandon_cap: 0.03,
            },
            state: StoredState::Running,
            created_ms: 0,
            updated_ms: 0,
        };
        Lane {
            pacer: pacer_of(pacer, 0.03),
            campaign,
            dialer: Dialer::new(DialerRules::default()),
            window: AbandonWindow::new(),
            ringing: HashMap::new(),
            waiting: HashMap::new(),
            counters: LaneCounters::default(),
            capped: false,
        }
    }

    fn agents(at_ms: u64, idle: u32) -> QueueAgents {
        QueueAgents {
            at_ms,
            idle,
            ..QueueAgents::default()
        }
    }

    #[test]
    fn a_call_answered_then_abandoned_counts_in_both_windows_and_is_stored_per_minute() {
        let mut lane = lane("model");
        lane.placed(1, 1_000);
        assert_eq!(
            lane.report(1, OutboundResult::Pacing(PacingStep::Answered), 9_000),
            Some((1, 0))
        );
        assert_eq!(lane.live(9_000).waiting, 1);
        assert_eq!(
            lane.report(1, OutboundResult::Abandoned, 11_000),
            Some((0, 1))
        );
        let live = lane.live(12_000);
        assert_eq!((live.ringing, live.waiting), (0, 0));
        assert_eq!((live.answered_24h, live.abandoned_24h), (1, 1));
        assert_eq!((live.answered_30d, live.abandoned_30d), (1, 1));
        assert_eq!(live.abandonment_24h, Some(1.0));
        assert_eq!(live.since_start.abandoned, 1);
    }

    #[test]
    fn over_the_cap_the_lane_dials_no_more_than_progressive() {
        let mut lane = lane("vicidial");
        // 40 answered, 4 abandoned: 10 % over a 3 % cap.
        for task in 0..40u64 {
            lane.placed(task, 1_000);
            lane.report(task, OutboundResult::Pacing(PacingStep::Answered), 2_000);
            let end = if task < 4 {
                OutboundResult::Abandoned
            } else {
                OutboundResult::Connected
            };
            lane.report(task, end, 3_000);
        }
        // Five idle agents and two calls ringing: progressive places three.
        lane.placed(100, 4_000);
        lane.placed(101, 4_000);
        let placed = lane.calls_to_place(&agents(5_000, 5));
        assert!(placed <= 3, "placed {placed}");
        assert!(lane.live(5_000).capped);
    }

    #[test]
    fn under_the_minimum_of_answered_calls_the_cap_does_not_hold_back() {
        let mut lane = lane("model");
        lane.placed(1, 1_000);
        lane.report(1, OutboundResult::Pacing(PacingStep::Answered), 2_000);
        lane.report(1, OutboundResult::Abandoned, 4_000);
        lane.calls_to_place(&agents(5_000, 5));
        assert!(!lane.live(5_000).capped);
    }

    #[test]
    fn a_call_not_answered_leaves_the_ringing_set() {
        let mut lane = lane("progressive");
        lane.placed(1, 1_000);
        assert_eq!(lane.live(1_000).ringing, 1);
        assert_eq!(lane.report(1, OutboundResult::Busy, 3_000), None);
        let live = lane.live(3_000);
        assert_eq!(live.ringing, 0);
        assert_eq!(live.since_start.not_answered, 1);
        // Progressive: one per idle agent, none ringing now.
        assert_eq!(lane.calls_to_place(&agents(4_000, 2)), 2);
    }
}
