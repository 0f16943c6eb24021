//! The outbound figures, as a projection of the event log (never a second source): trigger →
//! first dial and trigger → connected (p50, p95, max), connect rate, answer rate, attempts
//! per connect and callback timeliness (the customer's phone rang by the promised instant),
//! in all and per source channel, for the callbacks requested in a time window.
//!
//! Which events, and what they mean:
//! - `callback.requested` (the outbound task, when a request is stored): the trigger, its
//!   channel and promise;
//! - `callback.attempt_started`: the dialler handed an attempt out;
//! - `call.outbound_queued` (the switch): the attempt's contact, which later events name;
//! - `call.callback_dialling` (agent first: after the agent answered) and
//!   `call.outbound_dialling` (automatic calls): the customer's INVITE left: the dial;
//! - `call.outbound_ended`: how the attempt ended (`connected`: the customer answered);
//! - `callback.done`, `callback.failed`, `callback.cancelled`: the task's end.
//!
//! [`OutboundMetrics`] keeps the projection current by tailing the log
//! ([`crate::log_tail`]; the whole log is replayed at start) and answers
//! [`OutboundMetrics::report`] from memory.
//!
//! Abandonment (answered calls left without an agent for 2 s, `call.outbound_ended` with
//! `abandoned`) happens only to predictive campaigns' calls, placed before an agent is free;
//! agent-first calls cannot be abandoned (the agent is on the line before the customer is
//! dialled), so their rate is 0. Campaign tasks name their campaign in
//! `callback.requested`, and the figures are split per campaign too.

use std::collections::{BTreeMap, HashMap, VecDeque};

use hotline_store::StoredEvent;
use serde::Serialize;
use utoipa::ToSchema;

use crate::log_tail::{Projected, Tailed};

/// Tasks remembered; the oldest are forgotten beyond it.
pub const MAX_TASKS_TRACKED: usize = 200_000;
/// Attempts' contacts remembered until their end.
pub const MAX_CONTACTS_TRACKED: usize = 20_000;

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Done,
    Failed,
    Cancelled,
}

/// What the log said about one task.
#[derive(Clone, Debug)]
struct TaskFacts {
    channel: String,
    campaign: Option<i64>,
    trigger_ms: i64,
    promised_ms: i64,
    first_dial_ms: Option<i64>,
    connected_ms: Option<i64>,
    attempts: u32,
    dialled: u32,
    answered: u32,
    abandoned: u32,
    end: Option<End>,
}

/// The projection: fed with events in log order, asked for reports.
#[derive(Debug, Default)]
pub struct Projection {
    tasks: BTreeMap<i64, TaskFacts>,
    contacts: HashMap<i64, i64>,
    contact_order: VecDeque<i64>,
}

impl Projection {
    /// Applies one event (others than the module's are ignored).
    pub fn apply(&mut self, event: &StoredEvent) {
        let data = &event.data;
        let task_of = |data: &serde_json::Value| data["task"].as_i64();
        match event.kind.as_str() {
            "callback.requested" => {
                let Some(task) = task_of(data) else {
                    return;
                };
                self.tasks.insert(
                    task,
                    TaskFacts {
                        channel: data["channel"].as_str().unwrap_or("api").to_string(),
                        campaign: data["campaign"].as_i64(),
                        trigger_ms: event.at_ms,
                        promised_ms: data["promised_ms"].as_i64().unwrap_or(i64::MAX),
                        first_dial_ms: None,
                        connected_ms: None,
                        attempts: 0,
                        dialled: 0,
                        answered: 0,
                        abandoned: 0,
                        end: None,
                    },
                );
                while self.tasks.len() > MAX_TASKS_TRACKED {
                    self.tasks.pop_first();
                }
            }
            "callback.attempt_started" => {
                if let Some(facts) = task_of(data).and_then(|t| self.tasks.get_mut(&t)) {
                    facts.attempts += 1;
                }
            }
            "call.outbound_queued" => {
                let (Some(contact), Some(task)) = (event.contact_id, task_of(data)) else {
                    return;
                };
                self.contacts.insert(contact, task);
                self.contact_order.push_back(contact);
                while self.contact_order.len() > MAX_CONTACTS_TRACKED {
                    if let Some(old) = self.contact_order.pop_front() {
                        self.contacts.remove(&old);
                    }
                }
            }
            "call.callback_dialling" | "call.outbound_dialling" => {
                let Some(task) = event.contact_id.and_then(|c| self.contacts.get(&c)) else {
                    return;
                };
                if let Some(facts) = self.tasks.get_mut(task) {
                    facts.dialled += 1;
                    facts.first_dial_ms.get_or_insert(event.at_ms);
                }
            }
            "call.outbound_ended" => {
                if let Some(contact) = event.contact_id {
                    self.contacts.remove(&contact);
                }
                let result = data["result"].as_str().unwrap_or("");
                if !matches!(result, "connected" | "abandoned" | "hung_up") {
                    return;
                }
                if let Some(facts) = task_of(data).and_then(|t| self.tasks.get_mut(&t)) {
                    // A person answered (predictive calls: whether an agent came or not).
                    facts.answered += 1;
                    match result {
                        "connected" => {
                            facts.connected_ms.get_or_insert(event.at_ms);
                        }
                        "abandoned" => facts.abandoned += 1,
                        _ => {}
                    }
                }
            }
            "callback.done" | "callback.failed" | "callback.cancelled" => {
                if let Some(facts) = task_of(data).and_then(|t| self.tasks.get_mut(&t)) {
                    facts.end = Some(match event.kind.as_str() {
                        "callback.done" => End::Done,
                        "callback.failed" => End::Failed,
                        _ => End::Cancelled,
                    });
                }
            }
            _ => {}
        }
    }

    /// Callbacks not dialled yet (nor ended) whose promise falls before `now_ms + within_ms`
    /// (those already late too): the ones about to miss their promise.
    pub fn promises_due(&self, now_ms: i64, within_ms: i64) -> u64 {
        self.tasks
            .values()
            .filter(|f| {
                f.end.is_none()
                    && f.first_dial_ms.is_none()
                    && f.campaign.is_none()
                    && f.promised_ms <= now_ms.saturating_add(within_ms)
            })
            .count() as u64
    }

    /// The figures of all the callbacks requested in `[from_ms, to_ms)`, without the splits
    /// (the wall's: cheaper than [`Projection::report`], no key per channel).
    pub fn total(&self, from_ms: i64, to_ms: i64) -> OutboundFigures {
        let mut total = Tally::default();
        for facts in self.tasks.values() {
            if facts.trigger_ms >= from_ms && facts.trigger_ms < to_ms {
                total.add(facts);
            }
        }
        total.figures()
    }

    /// The figures of the callbacks requested from `from_ms` up to `to_ms`.
    pub fn report(&self, from_ms: i64, to_ms: i64) -> OutboundReport {
        let mut total = Tally::default();
        let mut by_channel: BTreeMap<String, Tally> = BTreeMap::new();
        let mut by_campaign: BTreeMap<String, Tally> = BTreeMap::new();
        for facts in self.tasks.values() {
            if facts.trigger_ms < from_ms || facts.trigger_ms >= to_ms {
                continue;
            }
            total.add(facts);
            by_channel
                .entry(facts.channel.clone())
                .or_default()
                .add(facts);
            if let Some(campaign) = facts.campaign {
                by_campaign
                    .entry(campaign.to_string())
                    .or_default()
                    .add(facts);
            }
        }
        OutboundReport {
            from_ms,
            to_ms,
            total: total.figures(),
            by_channel: by_channel
                .into_iter()
                .map(|(channel, tally)| (channel, tally.figures()))
                .collect(),
            by_campaign: by_campaign
                .into_iter()
                .map(|(campaign, tally)| (campaign, tally.figures()))
                .collect(),
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    requested: u64,
    connected: u64,
    failed: u64,
    cancelled: u64,
    attempts: u64,
    dialled: u64,
    answered: u64,
    abandoned: u64,
    first_dials: u64,
    within_promise: u64,
    to_first_dial: Vec<i64>,
    to_connected: Vec<i64>,
}

impl Tally {
    fn add(&mut self, facts: &TaskFacts) {
        self.requested += 1;
        match facts.end {
            Some(End::Done) => self.connected += 1,
            Some(End::Failed) => self.failed += 1,
            Some(End::Cancelled) => self.cancelled += 1,
            None => {}
        }
        self.attempts += u64::from(facts.attempts);
        self.dialled += u64::from(facts.dialled);
        self.answered += u64::from(facts.answered);
        self.abandoned += u64::from(facts.abandoned);
        if let Some(dial) = facts.first_dial_ms {
            self.first_dials += 1;
            if dial <= facts.promised_ms {
                self.within_promise += 1;
            }
            self.to_first_dial.push(dial - facts.trigger_ms);
        }
        if let Some(connected) = facts.connected_ms {
            self.to_connected.push(connected - facts.trigger_ms);
        }
    }

    fn figures(mut self) -> OutboundFigures {
        let ratio = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
        OutboundFigures {
            requested: self.requested,
            connected: self.connected,
            failed: self.failed,
            cancelled: self.cancelled,
            pending: self.requested - self.connected - self.failed - self.cancelled,
            attempts: self.attempts,
            dialled: self.dialled,
            answered: self.answered,
            abandoned: self.abandoned,
            abandonment: ratio(self.abandoned, self.answered),
            connect_rate: ratio(self.connected, self.connected + self.failed),
            answer_rate: ratio(self.answered, self.dialled),
            attempts_per_connect: ratio(self.dialled, self.connected),
            dialled_within_promise: self.within_promise,
            timeliness: ratio(self.within_promise, self.first_dials),
            trigger_to_first_dial_ms: Latency::of(&mut self.to_first_dial),
            trigger_to_connected_ms: Latency::of(&mut self.to_connected),
        }
    }
}

/// The figures of a set of callbacks. Rates are `null` when nothing was counted.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OutboundFigures {
    /// Callbacks requested.
    pub requested: u64,
    /// Reached (the customer answered and talked to an agent).
    pub connected: u64,
    /// Failed for good.
    pub failed: u64,
    /// Cancelled (do-not-call, consent, staff, the customer).
    pub cancelled: u64,
    /// Not ended yet.
    pub pending: u64,
    /// Attempts handed out by the dialler.
    pub attempts: u64,
    /// Attempts whose customer was dialled (the INVITE left).
    pub dialled: u64,
    /// Dials the customer answered.
    pub answered: u64,
    /// Answered predictive calls left without an agent for 2 s (the apology played).
    pub abandoned: u64,
    /// Abandoned ÷ answered.
    pub abandonment: Option<f64>,
    /// Connected ÷ (connected + failed).
    pub connect_rate: Option<f64>,
    /// Answered ÷ dialled.
    pub answer_rate: Option<f64>,
    /// Dials per connected callback.
    pub attempts_per_connect: Option<f64>,
    /// Callbacks whose first dial came by the promised instant.
    pub dialled_within_promise: u64,
    /// Dialled within promise ÷ callbacks dialled.
    pub timeliness: Option<f64>,
    /// From the request to the customer's first dial.
    pub trigger_to_first_dial_ms: Latency,
    /// From the request to the customer answering.
    pub trigger_to_connected_ms: Latency,
}

/// A latency's distribution in milliseconds; `null` figures when there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Latency {
    /// How many.
    pub count: u64,
    /// Median (nearest rank).
    pub p50: Option<i64>,
    /// 95th percentile (nearest rank).
    pub p95: Option<i64>,
    /// The longest.
    pub max: Option<i64>,
}

impl Latency {
    fn of(values: &mut [i64]) -> Latency {
        values.sort_unstable();
        let rank = |p: f64| {
            let n = values.len();
            (n > 0).then(|| values[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        Latency {
            count: values.len() as u64,
            p50: rank(0.50),
            p95: rank(0.95),
            max: values.last().copied(),
        }
    }
}

/// The outbound figures of a window, in all and per source channel.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OutboundReport {
    /// The window's start (requests from then).
    pub from_ms: i64,
    /// Its end, excluded.
    pub to_ms: i64,
    /// Every channel together.
    pub total: OutboundFigures,
    /// Per source channel (`web_form`, `wechat`, `app`, `after_sales`, `follow_up`, `api`,
    /// `campaign`).
    pub by_channel: BTreeMap<String, OutboundFigures>,
    /// Per predictive campaign, by id.
    pub by_campaign: BTreeMap<String, OutboundFigures>,
}

/// The live projection, shared with the API: [`Tailed`] over [`Projection`].
pub type OutboundMetrics = Tailed<Projection>;

impl Projected for Projection {
    fn apply(&mut self, event: &StoredEvent) {
        Projection::apply(self, event);
    }
}

impl Tailed<Projection> {
    /// [`Projection::promises_due`] now.
    pub fn promises_due(&self, now_ms: i64, within_ms: i64) -> u64 {
        self.lock().state.promises_due(now_ms, within_ms)
    }

    /// The figures of the callbacks requested from `from_ms` up to `to_ms`.
    pub fn report(&self, from_ms: i64, to_ms: i64) -> OutboundReport {
        self.lock().state.report(from_ms, to_ms)
    }

    /// [`Projection::total`] now.
    pub fn total(&self, from_ms: i64, to_ms: i64) -> OutboundFigures {
        self.lock().state.total(from_ms, to_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(
        seq: i64,
        at_ms: i64,
        kind: &str,
        contact: Option<i64>,
        data: serde_json::Value,
    ) -> StoredEvent {
        StoredEvent {
            seq,
            at_ms,
            kind: kind.to_string(),
            contact_id: contact,
            agent: None,
            queue: None,
            data,
        }
    }

    #[test]
    fn a_busy_then_connected_callback_and_a_failed_one_give_the_rates_and_latencies() {
        let mut p = Projection::default();
        let events = [
            event(
                1,
                1_000,
                "callback.requested",
                None,
                json!({"task": 1, "channel": "web_form", "promised_ms": 31_000}),
            ),
            event(
                2,
                1_010,
                "callback.attempt_started",
                None,
                json!({"task": 1, "attempt": 1}),
            ),
            event(
                3,
                1_020,
                "call.outbound_queued",
                Some(10),
                json!({"task": 1, "attempt": 1}),
            ),
            event(
                4,
                4_000,
                "call.callback_dialling",
                Some(10),
                json!({"attempt": 1}),
            ),
            event(
                5,
                5_000,
                "call.outbound_ended",
                Some(10),
                json!({"task": 1, "attempt": 1, "result": "busy"}),
            ),
            event(
                6,
                2_000,
                "callback.requested",
                None,
                json!({"task": 2, "channel": "wechat", "promised_ms": 3_000}),
            ),
            event(
                7,
                60_000,
                "callback.attempt_started",
                None,
                json!({"task": 1, "attempt": 2}),
            ),
            event(
                8,
                60_010,
                "call.outbound_queued",
                Some(11),
                json!({"task": 1, "attempt": 2}),
            ),
            event(
                9,
                61_000,
                "call.callback_dialling",
                Some(11),
                json!({"attempt": 1}),
            ),
            event(
                10,
                65_000,
                "call.outbound_ended",
                Some(11),
                json!({"task": 1, "attempt": 2, "result": "connected"}),
            ),
            event(11, 65_000, "callback.done", None, json!({"task": 1})),
            event(
                12,
                9_000,
                "callback.attempt_started",
                None,
                json!({"task": 2, "attempt": 1}),
            ),
            event(
                13,
                9_010,
                "call.outbound_queued",
                Some(12),
                json!({"task": 2, "attempt": 1}),
            ),
            event(
                14,
                9_500,
                "call.callback_dialling",
                Some(12),
                json!({"attempt": 1}),
            ),
            event(
                15,
                30_000,
                "call.outbound_ended",
                Some(12),
                json!({"task": 2, "attempt": 1, "result": "no_answer"}),
            ),
            event(16, 30_000, "callback.failed", None, json!({"task": 2})),
            event(
                17,
                40_000,
                "callback.requested",
                None,
                json!({"task": 3, "channel": "web_form", "promised_ms": 70_000}),
            ),
        ];
        for e in &events {
            p.apply(e);
        }
        let report = p.report(0, 100_000);
        let total = &report.total;
        assert_eq!(total.requested, 3);
        assert_eq!((total.connected, total.failed, total.pending), (1, 1, 1));
        assert_eq!(total.dialled, 3);
        assert_eq!(total.answered, 1);
        assert_eq!(total.connect_rate, Some(0.5));
        assert_eq!(total.answer_rate, Some(1.0 / 3.0));
        assert_eq!(total.attempts_per_connect, Some(3.0));
        // Task 1 rang by its promise (4 000 ≤ 31 000), task 2 did not (9 500 > 3 000).
        assert_eq!(total.dialled_within_promise, 1);
        assert_eq!(total.timeliness, Some(0.5));
        assert_eq!(total.trigger_to_first_dial_ms.count, 2);
        assert_eq!(total.trigger_to_first_dial_ms.max, Some(7_500));
        assert_eq!(total.trigger_to_first_dial_ms.p50, Some(3_000));
        assert_eq!(total.trigger_to_connected_ms.max, Some(64_000));
        let web = &report.by_channel["web_form"];
        assert_eq!((web.requested, web.connected, web.pending), (2, 1, 1));
        assert_eq!(report.by_channel["wechat"].failed, 1);
        // The window counts requests by their trigger.
        assert_eq!(p.report(1_500, 100_000).total.requested, 2);
        assert_eq!(p.report(0, 1_000).total.requested, 0);
        assert_eq!(p.report(0, 1_000).total.connect_rate, None);
    }

    #[test]
    fn a_campaign_s_abandoned_and_connected_calls_give_its_abandonment_apart_from_callbacks() {
        let mut p = Projection::default();
        let mut seq = 0;
        let mut next = |at_ms, kind: &str, contact, data| {
            seq += 1;
            event(seq, at_ms, kind, contact, data)
        };
        let mut events = vec![next(
            1_000,
            "callback.requested",
            None,
            json!({"task": 1, "channel": "web_form", "promised_ms": 31_000}),
        )];
        for (task, result) in [
            (2, "connected"),
            (3, "abandoned"),
            (4, "hung_up"),
            (5, "busy"),
        ] {
            events.push(next(
                1_000,
                "callback.requested",
                None,
                json!({"task": task, "channel": "campaign", "campaign": 9, "promised_ms": 31_000}),
            ));
            events.push(next(
                2_000,
                "call.outbound_queued",
                Some(task * 10),
                json!({"task": task, "attempt": 1}),
            ));
            events.push(next(
                2_000,
                "call.outbound_dialling",
                Some(task * 10),
                json!({"task": task}),
            ));
            events.push(next(
                9_000,
                "call.outbound_ended",
                Some(task * 10),
                json!({"task": task, "attempt": 1, "result": result}),
            ));
        }
        for e in &events {
            p.apply(e);
        }
        let report = p.report(0, 100_000);
        let campaign = &report.by_campaign["9"];
        assert_eq!((campaign.requested, campaign.dialled), (4, 4));
        // Connected, abandoned and hung up were answered by a person; busy was not.
        assert_eq!((campaign.answered, campaign.abandoned), (3, 1));
        assert_eq!(campaign.abandonment, Some(1.0 / 3.0));
        assert_eq!(report.by_channel["campaign"].abandoned, 1);
        assert_eq!(report.by_channel["web_form"].abandonment, None);
        assert_eq!(report.total.requested, 5);
        assert!(!report.by_campaign.contains_key("web_form"));
    }
}
