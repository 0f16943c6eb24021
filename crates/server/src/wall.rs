//! The supervisors' live figures (the wall, 响应速度监控看板), as a projection of the event log:
//! per queue, who waits now and for how long, callbacks pending, and today's counters
//! (service level, ASA, abandonment, connect rate, callback timeliness) from the routing
//! core's own `metrics::Projection`; per agent, the state, since when, the contact in hand
//! and today's handled contacts and talk time. Kept current by [`crate::log_tail`] and read
//! by `GET /api/v1/metrics/wall`.
//!
//! "Today" starts at local midnight in the center's time zone. Counters are kept in
//! [`INTERVAL`] slots from seven days before the start (events older than that only move
//! the live state), for at most `metrics::MAX_INTERVALS` slots (about 200 days of running).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use hotline_calendar::Calendar;
use hotline_routing::metrics::{Counters, MetricsConfig, Projection};
use hotline_routing::{AgentState, ContactKind, Event, Outcome, RoutingConfig, Time};
use hotline_store::StoredEvent;
use serde::Serialize;
use utoipa::ToSchema;

use crate::log_tail::{Projected, Tailed};

/// The counters' slot length.
pub const INTERVAL: Duration = Duration::from_secs(15 * 60);
/// How far before the start the counters reach.
pub const HISTORY: Duration = Duration::from_secs(7 * 86_400);
/// Contacts followed at once (waiting, or in an agent's hands); beyond it the oldest are
/// forgotten.
pub const MAX_LIVE_CONTACTS: usize = 100_000;

/// A waiting contact.
#[derive(Clone, Copy, Debug)]
struct Waiting {
    queue: usize,
    since_ms: i64,
    callback: bool,
}

/// Handled contacts remembered per agent (two days' worth at most).
pub const MAX_HANDLED_PER_AGENT: usize = 2_000;
/// How long an agent's handled contacts are remembered.
const HANDLED_KEPT_MS: i64 = 2 * 86_400_000;

/// An agent as the wall shows it.
#[derive(Clone, Debug, Default)]
struct AgentLive {
    state: Option<AgentState>,
    since_ms: i64,
    contact: Option<i64>,
    /// Contacts wrapped up: when, and the talk time (ms).
    handled: std::collections::VecDeque<(i64, u64, u64)>,
}

/// The wall's projection.
pub struct Wall {
    routing: Arc<RoutingConfig>,
    counters: Projection,
    origin_ms: i64,
    waiting: HashMap<i64, Waiting>,
    agents: Vec<AgentLive>,
}

impl Wall {
    /// An empty wall for `routing`, counting from [`HISTORY`] before `now_ms`.
    pub fn new(routing: Arc<RoutingConfig>, now_ms: i64) -> Wall {
        let origin_ms = (now_ms - HISTORY.as_millis() as i64).max(0);
        let origin_ms = origin_ms - origin_ms % INTERVAL.as_millis() as i64;
        Wall {
            counters: Projection::new(
                &routing,
                MetricsConfig {
                    origin: Time::from_millis(origin_ms as u64),
                    interval: INTERVAL,
                    ..MetricsConfig::default()
                },
            ),
            agents: vec![AgentLive::default(); routing.agents.len()],
            routing,
            origin_ms,
            waiting: HashMap::new(),
        }
    }

    /// Follows a new routing configuration ([`hotline_routing::Router::reconfigure`]): the
    /// same queues and agents by place, perhaps more at the end, new names for the rows, new
    /// thresholds and goals.
    pub fn reconfigure(&mut self, routing: Arc<RoutingConfig>) {
        self.counters.reconfigure(&routing);
        if self.agents.len() < routing.agents.len() {
            self.agents
                .resize(routing.agents.len(), AgentLive::default());
        }
        self.routing = routing;
    }

    fn routing_event(&mut self, at_ms: i64, event: &Event) {
        if at_ms >= self.origin_ms {
            self.counters
                .observe(Time::from_millis(at_ms as u64), event);
        }
        match *event {
            Event::ContactQueued {
                contact,
                queue,
                kind,
                enqueued_at,
            } if self.waiting.len() < MAX_LIVE_CONTACTS => {
                self.waiting.insert(
                    contact.0 as i64,
                    Waiting {
                        queue: queue.index(),
                        since_ms: enqueued_at.as_millis() as i64,
                        callback: kind == ContactKind::Callback,
                    },
                );
            }
            Event::CallbackPromised { contact, .. } => {
                if let Some(w) = self.waiting.get_mut(&(contact.0 as i64)) {
                    w.callback = true;
                }
            }
            Event::ContactOverflowed { contact, to, .. } => match to {
                Some(to) => {
                    if let Some(w) = self.waiting.get_mut(&(contact.0 as i64)) {
                        w.queue = to.index();
                    }
                }
                None => {
                    self.waiting.remove(&(contact.0 as i64));
                }
            },
            Event::OfferCreated { contact, agent, .. } => {
                if let Some(a) = self.agents.get_mut(agent.index()) {
                    a.contact = Some(contact.0 as i64);
                }
            }
            Event::OfferEnded { agent, .. } => {
                if let Some(a) = self.agents.get_mut(agent.index()) {
                    a.contact = None;
                }
            }
            Event::ContactEnded {
                contact,
                outcome,
                agent,
                ..
            } => {
                self.waiting.remove(&(contact.0 as i64));
                if let (Outcome::Answered, Some(agent)) = (outcome, agent) {
                    if let Some(a) = self.agents.get_mut(agent.index()) {
                        a.contact = Some(contact.0 as i64);
                    }
                }
            }
            Event::WrapUpEnded {
                agent,
                talk,
                wrap_up,
                ..
            } => {
                if let Some(a) = self.agents.get_mut(agent.index()) {
                    a.contact = None;
                    a.handled.push_back((
                        at_ms,
                        talk.as_millis() as u64,
                        wrap_up.as_millis() as u64,
                    ));
                    while a.handled.len() > MAX_HANDLED_PER_AGENT
                        || a.handled
                            .front()
                            .is_some_and(|&(t, _, _)| t < at_ms - HANDLED_KEPT_MS)
                    {
                        a.handled.pop_front();
                    }
                }
            }
            Event::AgentStateChanged { agent, state } => {
                if let Some(a) = self.agents.get_mut(agent.index()) {
                    a.state = Some(state);
                    a.since_ms = at_ms;
                    if matches!(
                        state,
                        AgentState::Ready | AgentState::LoggedOut | AgentState::NotReady(_)
                    ) {
                        a.contact = None;
                    }
                }
            }
            _ => {}
        }
    }

    /// The wall at `now_ms`; "today" from `today_ms` (local midnight).
    pub fn report(&self, now_ms: i64, today_ms: i64) -> WallReport {
        let first = self.first_interval(today_ms);
        let sum = |queue: Option<usize>| {
            let mut total = Counters::default();
            for i in first..self.counters.interval_count() {
                match queue {
                    Some(q) => {
                        total.add(&self.counters.queue(i, hotline_routing::QueueId(q as u32)))
                    }
                    None => total.add(&self.counters.center(i)),
                }
            }
            total
        };
        let mut live: BTreeMap<usize, (u64, i64, u64)> = BTreeMap::new();
        for w in self.waiting.values() {
            let entry = live.entry(w.queue).or_insert((0, i64::MAX, 0));
            if w.callback {
                entry.2 += 1;
            } else {
                entry.0 += 1;
                entry.1 = entry.1.min(w.since_ms);
            }
        }
        let queue_figures = |live: Option<&(u64, i64, u64)>, counters: Counters| {
            let (waiting, oldest, callbacks) = live.copied().unwrap_or((0, i64::MAX, 0));
            QueueFigures {
                waiting,
                longest_wait_ms: (waiting > 0).then(|| (now_ms - oldest).max(0)),
                callbacks_pending: callbacks,
                offered: counters.offered,
                answered: counters.answered,
                abandoned: counters.abandoned,
                service_level: counters.service_level(),
                asa_ms: counters.asa().map(|d| d.as_millis() as u64),
                abandonment_rate: counters.abandonment_rate(),
                connect_rate: counters.connect_rate(),
                callback_timeliness: counters.callback_timeliness(),
            }
        };
        let queues = self
            .routing
            .queues
            .iter()
            .enumerate()
            .map(|(i, q)| QueueRow {
                name: q.name.clone(),
                service_level_goal: q.service_level_goal,
                figures: queue_figures(live.get(&i), sum(Some(i))),
            })
            .collect();
        let all = live
            .values()
            .fold((0, i64::MAX, 0), |(w, o, c), &(w2, o2, c2)| {
                (w + w2, o.min(o2), c + c2)
            });
        let agents = self
            .routing
            .agents
            .iter()
            .zip(&self.agents)
            .map(|(config, live)| {
                let today = live
                    .handled
                    .iter()
                    .filter(|&&(at, _, _)| at >= today_ms)
                    .fold((0, 0, 0), |(n, talk, wrap), &(_, t, w)| {
                        (n + 1, talk + t, wrap + w)
                    });
                AgentRow {
                    name: config.name.clone(),
                    state: live
                        .state
                        .map_or("logged_out".into(), |s| state_name(&self.routing, s)),
                    since_ms: (live.state.is_some()).then_some(live.since_ms),
                    contact_id: live.contact,
                    handled_today: today.0,
                    talk_ms_today: today.1,
                    handle_ms_today: today.1 + today.2,
                }
            })
            .collect();
        WallReport {
            at_ms: now_ms,
            today_from_ms: today_ms,
            center: queue_figures(Some(&all), sum(None)),
            queues,
            agents,
            alerts: Vec::new(),
            outbound: None,
        }
    }

    /// The intervals from the one holding `from_ms` to the one holding `now_ms`, for a queue
    /// (an index of the configuration's queues) or, with `None`, the whole center. The last
    /// interval is the one under way: its figures so far.
    pub fn history(&self, now_ms: i64, from_ms: i64, queue: Option<usize>) -> WallHistory {
        let interval_ms = INTERVAL.as_millis() as i64;
        let first = self.first_interval(from_ms.max(self.origin_ms));
        let last = self.first_interval(now_ms);
        let queue_id = queue.map(|q| hotline_routing::QueueId(q as u32));
        let points = (first..=last)
            .map(|i| {
                let start_ms = self.origin_ms + i as i64 * interval_ms;
                let c = match queue_id {
                    Some(q) => self.counters.queue(i, q),
                    None => self.counters.center(i),
                };
                let covered_ms = (now_ms.min(start_ms + interval_ms) - start_ms).max(1);
                let held = self.counters.held_ms_until(
                    i,
                    queue_id,
                    Time::from_millis(now_ms.max(0) as u64),
                );
                IntervalPoint {
                    start_ms,
                    offered: c.offered,
                    answered: c.answered,
                    abandoned: c.abandoned,
                    waiting_average: held as f64 / covered_ms as f64,
                    waiting_peak: c.held_peak,
                    service_level: c.service_level(),
                    abandonment_rate: c.abandonment_rate(),
                    asa_ms: c.asa().map(|d| d.as_millis() as u64),
                }
            })
            .collect();
        let goal = match queue {
            Some(q) => self.routing.queues.get(q).map(|q| q.service_level_goal),
            // The center's goal: the strictest of its queues'.
            None => self
                .routing
                .queues
                .iter()
                .map(|q| q.service_level_goal)
                .reduce(f64::max),
        };
        WallHistory {
            queue: queue.and_then(|q| self.routing.queues.get(q).map(|q| q.name.clone())),
            interval_ms,
            service_level_goal: goal,
            points,
        }
    }

    fn first_interval(&self, from_ms: i64) -> usize {
        let offset = (from_ms - self.origin_ms).max(0) as u128;
        (offset / INTERVAL.as_millis()) as usize
    }
}

/// An agent state's name on the wall (`not_ready:<reason>` with the reason's name).
pub fn state_name(routing: &RoutingConfig, state: AgentState) -> String {
    match state {
        AgentState::LoggedOut => "logged_out".into(),
        AgentState::NotReady(reason) => format!(
            "not_ready:{}",
            hotline_store::routing_log::reason_name(routing, reason)
        ),
        AgentState::Ready => "ready".into(),
        AgentState::Reserved => "ringing".into(),
        AgentState::OnContact => "on_contact".into(),
        AgentState::WrapUp => "wrap_up".into(),
    }
}

impl Projected for Wall {
    fn apply(&mut self, event: &StoredEvent) {
        if let Ok(Some((at, routing_event))) =
            hotline_store::routing_log::decode(&self.routing, event)
        {
            self.routing_event(at.as_millis() as i64, &routing_event);
        }
    }
}

/// One queue's (or the center's) figures. Rates are `null` when nothing was counted.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct QueueFigures {
    /// Calls and chats waiting now (callbacks apart).
    pub waiting: u64,
    /// How long the longest of them has waited, ms.
    pub longest_wait_ms: Option<i64>,
    /// Callbacks promised and not yet connected or failed.
    pub callbacks_pending: u64,
    /// Today: arrived.
    pub offered: u64,
    /// Today: answered.
    pub answered: u64,
    /// Today: abandoned.
    pub abandoned: u64,
    /// Today: answered within the queue's threshold ÷ (answered + abandoned).
    pub service_level: Option<f64>,
    /// Today: average speed of answer, ms.
    pub asa_ms: Option<u64>,
    /// Today: abandoned ÷ (answered + abandoned).
    pub abandonment_rate: Option<f64>,
    /// Today: (answered + callbacks connected) ÷ (offered + callbacks requested).
    pub connect_rate: Option<f64>,
    /// Today: callbacks first dialled within their promise ÷ callbacks dialled.
    pub callback_timeliness: Option<f64>,
}

/// A queue on the wall.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct QueueRow {
    /// Its name.
    pub name: String,
    /// Its service-level goal (a fraction), which the service-level alert compares with.
    pub service_level_goal: f64,
    /// Its figures.
    #[serde(flatten)]
    pub figures: QueueFigures,
}

/// An agent on the wall.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AgentRow {
    /// The agent's name.
    pub name: String,
    /// `logged_out`, `not_ready:<reason>`, `ready`, `ringing`, `on_contact`, `wrap_up`.
    pub state: String,
    /// Since when (Unix ms); `null` before any change was seen.
    pub since_ms: Option<i64>,
    /// The contact being offered, talked to or wrapped up.
    pub contact_id: Option<i64>,
    /// Today: contacts handled.
    pub handled_today: u64,
    /// Today: talk time, ms.
    pub talk_ms_today: u64,
    /// Today: talk and wrap-up time, ms (÷ handled: the average handle time).
    pub handle_ms_today: u64,
}

/// The wall.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct WallReport {
    /// When (Unix ms).
    pub at_ms: i64,
    /// Where "today" starts (local midnight, Unix ms).
    pub today_from_ms: i64,
    /// The whole center.
    pub center: QueueFigures,
    /// Per queue, in the configuration's order.
    pub queues: Vec<QueueRow>,
    /// Per agent, in the configuration's order.
    pub agents: Vec<AgentRow>,
    /// Threshold alerts now ([`crate::alerts`]); filled in by the API, empty from the
    /// projection alone.
    pub alerts: Vec<crate::alerts::Alert>,
    /// Today's callbacks and campaign calls (trigger → first dial, connect rate …), from the
    /// outbound figures; filled in by the API where the center dials out.
    pub outbound: Option<crate::outbound_metrics::OutboundFigures>,
}

/// One interval of the wall's charts.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct IntervalPoint {
    /// Where the interval starts (Unix ms).
    pub start_ms: i64,
    /// Calls and chats that arrived in it.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, abandoned.
    pub abandoned: u64,
    /// Contacts in the queue (calls, chats and callbacks), on average over the interval (over
    /// its part so far, for the one under way).
    pub waiting_average: f64,
    /// The most contacts in the queue at once.
    pub waiting_peak: u64,
    /// Its service level; `null` with nothing answered or abandoned.
    pub service_level: Option<f64>,
    /// Its abandonment rate.
    pub abandonment_rate: Option<f64>,
    /// Its average speed of answer, ms.
    pub asa_ms: Option<u64>,
}

/// The wall's charts: the last hours, interval by interval.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct WallHistory {
    /// The queue; `null` for the whole center.
    pub queue: Option<String>,
    /// The interval's length, ms.
    pub interval_ms: i64,
    /// The service-level goal to draw (the center's: its strictest queue's).
    pub service_level_goal: Option<f64>,
    /// Oldest first; the last is the interval under way.
    pub points: Vec<IntervalPoint>,
}

/// What changed from `previous` to `now`, as the wall stream's `changes` event sends it: the
/// agent rows that changed, and the center, the queues and the alerts when any of them did;
/// `None` when nothing did.
pub fn changes(previous: &WallReport, now: &WallReport) -> Option<serde_json::Value> {
    let figures_changed = previous.center != now.center
        || previous.queues != now.queues
        || previous.alerts != now.alerts
        || previous.outbound != now.outbound;
    let agents: Vec<&AgentRow> = now
        .agents
        .iter()
        .zip(
            previous
                .agents
                .iter()
                .map(Some)
                .chain(std::iter::repeat(None)),
        )
        .filter(|(row, old)| old.is_none_or(|old| old != *row))
        .map(|(row, _)| row)
        .collect();
    if !figures_changed && agents.is_empty() {
        return None;
    }
    let mut data = serde_json::json!({ "at_ms": now.at_ms, "agents": agents });
    if figures_changed {
        data["center"] = serde_json::to_value(&now.center).unwrap_or_default();
        data["queues"] = serde_json::to_value(&now.queues).unwrap_or_default();
        data["alerts"] = serde_json::to_value(&now.alerts).unwrap_or_default();
        data["outbound"] = serde_json::to_value(&now.outbound).unwrap_or_default();
    }
    Some(data)
}

/// The live wall, shared with the API.
pub type WallMetrics = Tailed<Wall>;

impl Tailed<Wall> {
    /// [`Wall::reconfigure`].
    pub fn reconfigure(&self, routing: Arc<RoutingConfig>) {
        self.lock().state.reconfigure(routing);
    }

    /// The charts: the last `hours` up to now, for one queue (by name; `Err` when the
    /// configuration has no such queue) or the whole center.
    pub fn history(
        &self,
        now_ms: i64,
        hours: u32,
        queue: Option<&str>,
    ) -> Result<WallHistory, String> {
        let wall = &self.lock().state;
        let queue = match queue {
            None => None,
            Some(name) => Some(
                wall.routing
                    .queues
                    .iter()
                    .position(|q| q.name == name)
                    .ok_or_else(|| format!("no queue named {name:?}"))?,
            ),
        };
        let from_ms = now_ms - i64::from(hours) * 3_600_000 + 1;
        Ok(wall.history(now_ms, from_ms, queue))
    }

    /// The wall now, "today" in `calendar`'s time zone.
    pub fn report(&self, now_ms: i64, calendar: &Calendar) -> WallReport {
        let local = calendar.local_time(now_ms.max(0) as u64);
        let since_midnight = (i64::from(local.hour) * 60 + i64::from(local.minute)) * 60_000
            + now_ms.rem_euclid(60_000);
        self.lock().state.report(now_ms, now_ms - since_midnight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_routing::{AgentId, ContactId, QueueId};

    const ROUTING: &str = r#"
[routing]
[[routing.queues]]
name = "general"
[[routing.queues]]
name = "vip"
[[routing.agents]]
name = "ann"
queues = ["general", "vip"]
[[routing.agents]]
name = "bob"
queues = ["general"]
"#;

    fn queued(contact: u64, kind: ContactKind, at_ms: u64) -> Event {
        Event::ContactQueued {
            contact: ContactId(contact),
            queue: QueueId(0),
            kind,
            enqueued_at: Time::from_millis(at_ms),
        }
    }

    fn ended(contact: u64, outcome: Outcome, agent: Option<u32>, waited_ms: u64) -> Event {
        Event::ContactEnded {
            contact: ContactId(contact),
            queue: QueueId(0),
            kind: ContactKind::Call,
            outcome,
            waited: Duration::from_millis(waited_ms),
            agent: agent.map(AgentId),
        }
    }

    #[test]
    fn the_wall_shows_who_waits_how_long_and_each_agents_state_and_day() {
        let routing = Arc::new(hotline_config::parse_routing("wall.toml", ROUTING).unwrap());
        let midnight = 1_796_486_400_000; // any instant; "today" starts here
        let t = |s: i64| midnight + s * 1_000;
        let mut wall = Wall::new(routing, t(0));
        let ann = AgentId(0);
        wall.routing_event(
            t(1),
            &Event::AgentStateChanged {
                agent: ann,
                state: AgentState::Ready,
            },
        );
        wall.routing_event(t(10), &queued(1, ContactKind::Call, t(10) as u64));
        wall.routing_event(t(20), &queued(3, ContactKind::Callback, t(20) as u64));
        wall.routing_event(t(30), &queued(2, ContactKind::Call, t(30) as u64));
        let report = wall.report(t(40), midnight);
        let general = &report.queues[0];
        assert_eq!(general.name, "general");
        assert_eq!(general.figures.waiting, 2);
        assert_eq!(general.figures.longest_wait_ms, Some(30_000));
        assert_eq!(general.figures.callbacks_pending, 1);
        assert_eq!(report.queues[1].figures.waiting, 0);
        assert_eq!(report.queues[1].figures.longest_wait_ms, None);
        assert_eq!(report.center.waiting, 2);
        assert_eq!(report.agents[0].state, "ready");
        assert_eq!(report.agents[0].since_ms, Some(t(1)));
        assert_eq!(report.agents[1].state, "logged_out");

        // Ann takes contact 1; contact 2 hangs up; ann talks a minute and wraps up.
        wall.routing_event(
            t(41),
            &Event::OfferCreated {
                contact: ContactId(1),
                agent: ann,
                queue: QueueId(0),
                kind: ContactKind::Call,
            },
        );
        wall.routing_event(
            t(42),
            &Event::AgentStateChanged {
                agent: ann,
                state: AgentState::Reserved,
            },
        );
        wall.routing_event(t(45), &ended(1, Outcome::Answered, Some(0), 35_000));
        wall.routing_event(
            t(45),
            &Event::AgentStateChanged {
                agent: ann,
                state: AgentState::OnContact,
            },
        );
        wall.routing_event(t(50), &ended(2, Outcome::Abandoned, None, 20_000));
        let report = wall.report(t(60), midnight);
        assert_eq!(report.queues[0].figures.waiting, 0);
        assert_eq!(report.agents[0].state, "on_contact");
        assert_eq!(report.agents[0].contact_id, Some(1));
        assert_eq!(report.agents[0].since_ms, Some(t(45)));
        let general = &report.queues[0].figures;
        assert_eq!((general.answered, general.abandoned), (1, 1));
        assert_eq!(general.abandonment_rate, Some(0.5));
        wall.routing_event(
            t(105),
            &Event::ContactCompleted {
                contact: ContactId(1),
                agent: ann,
                queue: QueueId(0),
                talk: Duration::from_secs(60),
            },
        );
        wall.routing_event(
            t(110),
            &Event::WrapUpEnded {
                contact: ContactId(1),
                agent: ann,
                queue: QueueId(0),
                talk: Duration::from_secs(60),
                wrap_up: Duration::from_secs(5),
            },
        );
        wall.routing_event(
            t(110),
            &Event::AgentStateChanged {
                agent: ann,
                state: AgentState::Ready,
            },
        );
        let report = wall.report(t(120), midnight);
        assert_eq!(report.agents[0].contact_id, None);
        assert_eq!(
            (
                report.agents[0].handled_today,
                report.agents[0].talk_ms_today,
                report.agents[0].handle_ms_today
            ),
            (1, 60_000, 65_000)
        );
        // Tomorrow, today's counts start again; the callback still waits.
        let tomorrow = midnight + 86_400_000;
        let report = wall.report(tomorrow + 1_000, tomorrow);
        assert_eq!(report.agents[0].handled_today, 0);
        assert_eq!(report.queues[0].figures.answered, 0);
        assert_eq!(report.queues[0].figures.callbacks_pending, 1);
    }

    #[test]
    fn the_charts_give_each_interval_its_figures_and_the_average_in_queue_so_far() {
        let routing = Arc::new(hotline_config::parse_routing("wall.toml", ROUTING).unwrap());
        let start = 1_796_486_400_000; // on a 15-minute boundary
        let t = |s: i64| start + s * 1_000;
        let mut wall = Wall::new(routing.clone(), t(0));
        // 1 waits the first half of the first interval and is answered late.
        wall.routing_event(t(0), &queued(1, ContactKind::Call, t(0) as u64));
        wall.routing_event(t(450), &ended(1, Outcome::Answered, Some(0), 450_000));
        // In the second: 2 abandons after 30 s; 3 waits since 1,300 s and still does.
        wall.routing_event(t(1_000), &queued(2, ContactKind::Call, t(1_000) as u64));
        wall.routing_event(t(1_030), &ended(2, Outcome::Abandoned, None, 30_000));
        wall.routing_event(t(1_300), &queued(3, ContactKind::Call, t(1_300) as u64));

        let history = wall.history(t(1_350), t(0), None);
        assert_eq!(history.interval_ms, 900_000);
        assert_eq!(history.queue, None);
        assert_eq!(history.points.len(), 2);
        let (first, now) = (&history.points[0], &history.points[1]);
        assert_eq!(first.start_ms, t(0));
        assert_eq!((first.offered, first.answered, first.abandoned), (1, 1, 0));
        assert!((first.waiting_average - 0.5).abs() < 1e-9, "{first:?}");
        assert_eq!(first.waiting_peak, 1);
        assert_eq!(first.service_level, Some(0.0));
        assert_eq!(first.asa_ms, Some(450_000));
        assert_eq!(now.start_ms, t(900));
        assert_eq!((now.offered, now.answered, now.abandoned), (2, 0, 1));
        assert_eq!(now.abandonment_rate, Some(1.0));
        // 30 s + 50 s so far, over the 450 s of the interval gone by.
        assert!((now.waiting_average - 80.0 / 450.0).abs() < 1e-9, "{now:?}");

        // One queue alone; the other queue's chart is flat.
        let general = wall.history(t(1_350), t(0), Some(0));
        assert_eq!(general.queue.as_deref(), Some("general"));
        assert_eq!(general.points, history.points);
        let vip = wall.history(t(1_350), t(0), Some(1));
        assert!(vip
            .points
            .iter()
            .all(|p| p.offered == 0 && p.waiting_average == 0.0));
        assert_eq!(
            vip.service_level_goal,
            Some(routing.queues[1].service_level_goal)
        );
    }
}
