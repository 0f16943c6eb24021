//! Metrics as projections of the event log: feed every [`Event`] with its time to a
//! [`Projection`], read [`Counters`] per queue and interval, and derive the figures.
//!
//! # Definitions
//!
//! A contact counts in the interval in which it arrived at the queue, and in the queue where
//! its routing ended (a contact that overflows from A to B counts as offered and overflowed in
//! A, and as offered in B). Calls and chats are counted apart from callbacks: a call that
//! becomes a callback leaves the call figures and joins the callback figures. Waits are
//! measured from the contact's first arrival in the center, as the caller lived them, also in
//! a queue it overflowed into.
//!
//! - **offered**: calls and chats that arrived (refused ones included).
//! - **answered**: offered contacts an agent took. **abandoned**: callers that hung up after
//!   the queue's short-abandon threshold; **short abandoned**: before it (not counted against
//!   the service level: misdials and instant hang-ups).
//! - **service level** = answered within the queue's threshold ÷ (answered + abandoned).
//! - **ASA** (average speed of answer) = total wait of answered contacts ÷ answered.
//! - **abandonment rate** = abandoned ÷ (answered + abandoned).
//! - **connect rate** = (answered + callbacks connected) ÷ (offered + callbacks requested):
//!   how many of the people who wanted an agent got one.
//! - **AHT** (average handle time) = (talk + wrap-up) ÷ contacts handled, all three counted
//!   in the interval in which the wrap-up ends.
//! - **occupancy** = agent time on contacts and in wrap-up ÷ that time plus time ready or
//!   ringing (not-ready time excluded).
//! - **longest wait**: the longest time from arrival to the end of routing among the interval's
//!   contacts.
//! - **callback timeliness** = callbacks first dialled within the promise
//!   ([`MetricsConfig::callback_promise`]) of their request ÷ callbacks whose promise fell due
//!   or that were dialled.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::config::RoutingConfig;
use crate::event::{AgentState, Event, Outcome};
use crate::types::{duration_millis, AgentId, ContactId, ContactKind, QueueId, Time};

/// The most intervals a projection keeps; later events count in the last one. Intervals are
/// kept densely from [`MetricsConfig::origin`]: a long-running driver sets the origin near
/// its start (and rolls projections over), rather than leaving it at the clock's zero.
pub const MAX_INTERVALS: usize = 20_000;
/// The shortest interval; shorter ones are lengthened to it.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// How a projection cuts time.
#[derive(Clone, Copy, Debug)]
pub struct MetricsConfig {
    /// Start of interval 0.
    pub origin: Time,
    /// Interval length (15 or 30 minutes is usual).
    pub interval: Duration,
    /// A callback is on time if first dialled within this long of its request.
    pub callback_promise: Duration,
}

impl Default for MetricsConfig {
    fn default() -> MetricsConfig {
        MetricsConfig {
            origin: Time::ZERO,
            interval: Duration::from_secs(30 * 60),
            callback_promise: Duration::from_secs(3600),
        }
    }
}

/// Counts for one queue (or the whole center) over one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// Calls and chats that arrived.
    pub offered: u64,
    /// Offered contacts an agent took.
    pub answered: u64,
    /// Answered within the queue's service-level threshold.
    pub answered_in_threshold: u64,
    /// Hung up after the short-abandon threshold.
    pub abandoned: u64,
    /// Hung up within the short-abandon threshold.
    pub short_abandoned: u64,
    /// Left the queue after the maximum wait (to another queue or out of the center).
    pub overflowed: u64,
    /// Refused because the queue or the center was full.
    pub refused: u64,
    /// Sum of the waits of answered contacts, in ms.
    pub answered_wait_ms: u64,
    /// Sum of the waits of abandoned contacts, in ms.
    pub abandoned_wait_ms: u64,
    /// Longest wait among the contacts that ended, in ms.
    pub longest_wait_ms: u64,
    /// Contacts whose wrap-up ended.
    pub handled: u64,
    /// Talk time of handled contacts, in ms.
    pub talk_ms: u64,
    /// Wrap-up time of handled contacts, in ms.
    pub wrap_up_ms: u64,
    /// Callbacks requested or promised.
    pub callbacks_requested: u64,
    /// Callbacks whose customer answered.
    pub callbacks_connected: u64,
    /// Callbacks that failed after every dial.
    pub callbacks_failed: u64,
    /// Callbacks cancelled.
    pub callbacks_cancelled: u64,
    /// Callback dials.
    pub callback_dials: u64,
    /// Callbacks first dialled within the promise.
    pub callbacks_on_time: u64,
    /// Callbacks first dialled after the promise, or not dialled when it fell due.
    pub callbacks_late: u64,
    /// Agent time on contacts, in ms (center only).
    pub agent_on_contact_ms: u64,
    /// Agent time in wrap-up, in ms (center only).
    pub agent_wrap_up_ms: u64,
    /// Agent time ready or ringing, in ms (center only).
    pub agent_available_ms: u64,
    /// Agent time not ready, in ms (center only).
    pub agent_not_ready_ms: u64,
    /// Integral of the number of contacts held over time, in contact·ms.
    pub held_contact_ms: u128,
    /// Most contacts held at once.
    pub held_peak: u64,
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl Counters {
    /// Service level; `None` with nothing answered or abandoned.
    pub fn service_level(&self) -> Option<f64> {
        ratio(self.answered_in_threshold, self.answered + self.abandoned)
    }
    /// Average speed of answer.
    pub fn asa(&self) -> Option<Duration> {
        (self.answered > 0).then(|| Duration::from_millis(self.answered_wait_ms / self.answered))
    }
    /// Abandonment rate.
    pub fn abandonment_rate(&self) -> Option<f64> {
        ratio(self.abandoned, self.answered + self.abandoned)
    }
    /// Connect rate.
    pub fn connect_rate(&self) -> Option<f64> {
        ratio(
            self.answered + self.callbacks_connected,
            self.offered + self.callbacks_requested,
        )
    }
    /// Average handle time.
    pub fn aht(&self) -> Option<Duration> {
        (self.handled > 0)
            .then(|| Duration::from_millis((self.talk_ms + self.wrap_up_ms) / self.handled))
    }
    /// Occupancy.
    pub fn occupancy(&self) -> Option<f64> {
        let busy = self.agent_on_contact_ms + self.agent_wrap_up_ms;
        ratio(busy, busy + self.agent_available_ms)
    }
    /// Callback timeliness.
    pub fn callback_timeliness(&self) -> Option<f64> {
        ratio(
            self.callbacks_on_time,
            self.callbacks_on_time + self.callbacks_late,
        )
    }
    /// Average number of contacts held over a span of this length.
    pub fn average_held(&self, span: Duration) -> f64 {
        let ms = duration_millis(span).max(1) as f64;
        self.held_contact_ms as f64 / ms
    }
    /// Average number of agents logged in (not ready included) over a span of this length.
    pub fn average_staffed(&self, span: Duration) -> f64 {
        let ms = duration_millis(span).max(1) as f64;
        (self.agent_on_contact_ms
            + self.agent_wrap_up_ms
            + self.agent_available_ms
            + self.agent_not_ready_ms) as f64
            / ms
    }

    /// Adds another set of counts (for totals over intervals or queues).
    pub fn add(&mut self, o: &Counters) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.answered_in_threshold += o.answered_in_threshold;
        self.abandoned += o.abandoned;
        self.short_abandoned += o.short_abandoned;
        self.overflowed += o.overflowed;
        self.refused += o.refused;
        self.answered_wait_ms += o.answered_wait_ms;
        self.abandoned_wait_ms += o.abandoned_wait_ms;
        self.longest_wait_ms = self.longest_wait_ms.max(o.longest_wait_ms);
        self.handled += o.handled;
        self.talk_ms += o.talk_ms;
        self.wrap_up_ms += o.wrap_up_ms;
        self.callbacks_requested += o.callbacks_requested;
        self.callbacks_connected += o.callbacks_connected;
        self.callbacks_failed += o.callbacks_failed;
        self.callbacks_cancelled += o.callbacks_cancelled;
        self.callback_dials += o.callback_dials;
        self.callbacks_on_time += o.callbacks_on_time;
        self.callbacks_late += o.callbacks_late;
        self.agent_on_contact_ms += o.agent_on_contact_ms;
        self.agent_wrap_up_ms += o.agent_wrap_up_ms;
        self.agent_available_ms += o.agent_available_ms;
        self.agent_not_ready_ms += o.agent_not_ready_ms;
        self.held_contact_ms += o.held_contact_ms;
        self.held_peak = self.held_peak.max(o.held_peak);
    }
}

#[derive(Clone, Copy, Debug)]
struct Live {
    queue: QueueId,
    /// First arrival in the center (for a callback request: when it was requested).
    first_arrival: Time,
    /// Arrival at the current queue.
    queue_since: Time,
    kind: ContactKind,
    /// When the callback was requested or promised, until its first dial.
    promised_at: Option<Time>,
}

/// The projection: feed it events in order with [`Projection::observe`].
#[derive(Clone, Debug)]
pub struct Projection {
    config: MetricsConfig,
    thresholds: Vec<(Duration, Duration)>,
    /// `[interval][queue]`.
    queues: Vec<Vec<Counters>>,
    center: Vec<Counters>,
    live: HashMap<ContactId, Live>,
    /// Callbacks not yet dialled, by promise deadline, so a promise falling due counts late.
    promises: BTreeSet<(Time, ContactId)>,
    /// Per queue: contacts held now, and since when that number holds (integrated lazily,
    /// when it changes, so an event costs the same with 10 queues or 10,000).
    held: Vec<(u64, Time)>,
    held_total: u64,
    held_since: Time,
    agents: Vec<(AgentState, Time)>,
    last: Time,
}

impl Projection {
    /// An empty projection for this configuration's queues and agents.
    pub fn new(routing: &RoutingConfig, mut config: MetricsConfig) -> Projection {
        config.interval = config.interval.max(MIN_INTERVAL);
        Projection {
            config,
            thresholds: routing
                .queues
                .iter()
                .map(|q| (q.service_level_threshold, q.short_abandon))
                .collect(),
            queues: Vec::new(),
            center: Vec::new(),
            live: HashMap::new(),
            promises: BTreeSet::new(),
            held: vec![(0, config.origin); routing.queues.len()],
            held_total: 0,
            held_since: config.origin,
            agents: vec![(AgentState::LoggedOut, config.origin); routing.agents.len()],
            last: config.origin,
        }
    }

    fn index(&self, at: Time) -> usize {
        interval_index(self.config, at)
    }

    fn interval_start(&self, index: usize) -> Time {
        interval_start(self.config, index)
    }

    fn grow(&mut self, index: usize) {
        let n = self.thresholds.len();
        while self.center.len() <= index {
            self.center.push(Counters::default());
            self.queues.push(vec![Counters::default(); n]);
        }
    }

    fn queue_counters(&mut self, at: Time, queue: QueueId) -> &mut Counters {
        let i = self.index(at);
        self.grow(i);
        &mut self.queues[i][queue.index()]
    }

    fn center_counters(&mut self, at: Time) -> &mut Counters {
        let i = self.index(at);
        self.grow(i);
        &mut self.center[i]
    }

    /// Spreads the center's contacts held up to `now`.
    fn advance(&mut self, now: Time) {
        if now <= self.last {
            return;
        }
        let (from, n) = (self.held_since, self.held_total);
        self.integrate_held(None, n, from, now);
        self.held_since = now;
        self.last = now;
    }

    /// Adds `n` contacts held from `from` to `to` to a queue's (or, with `None`, the
    /// center's) integral, interval by interval.
    fn integrate_held(&mut self, queue: Option<QueueId>, n: u64, from: Time, to: Time) {
        if n == 0 {
            return;
        }
        for (i, ms) in pieces(self.config, from, to) {
            self.grow(i);
            let c = match queue {
                Some(q) => &mut self.queues[i][q.index()],
                None => &mut self.center[i],
            };
            c.held_contact_ms += u128::from(n) * u128::from(ms);
        }
    }

    fn add_agent_time(&mut self, state: AgentState, from: Time, to: Time) {
        for (i, ms) in pieces(self.config, from, to) {
            self.grow(i);
            let c = &mut self.center[i];
            match state {
                AgentState::LoggedOut => {}
                AgentState::NotReady(_) => c.agent_not_ready_ms += ms,
                AgentState::Ready | AgentState::Reserved => c.agent_available_ms += ms,
                AgentState::OnContact => c.agent_on_contact_ms += ms,
                AgentState::WrapUp => c.agent_wrap_up_ms += ms,
            }
        }
    }

    fn change_held(&mut self, queue: QueueId, up: bool) {
        let at = self.last;
        let (n, since) = self.held[queue.index()];
        self.integrate_held(Some(queue), n, since, at);
        let n = if up { n + 1 } else { n.saturating_sub(1) };
        self.held[queue.index()] = (n, at);
        if up {
            self.held_total += 1;
        } else {
            self.held_total = self.held_total.saturating_sub(1);
        }
        let total = self.held_total;
        let c = self.queue_counters(at, queue);
        c.held_peak = c.held_peak.max(n);
        let c = self.center_counters(at);
        c.held_peak = c.held_peak.max(total);
    }

    /// Counts promises that fell due undialled before `now` as late (a dial exactly at the
    /// deadline is on time).
    fn expire_promises(&mut self, now: Time) {
        while let Some(&(deadline, contact)) = self.promises.first() {
            if deadline >= now {
                break;
            }
            self.promises.pop_first();
            if let Some(live) = self.live.get_mut(&contact) {
                if live.promised_at.take().is_some() {
                    let live = *live;
                    self.both(&live, |c| c.callbacks_late += 1);
                }
            }
        }
    }

    /// Applies `f` to the counters a contact counts in: its queue's, in the interval it
    /// arrived at that queue, and the center's, in the interval of its first arrival.
    fn both(&mut self, live: &Live, f: impl Fn(&mut Counters)) {
        f(self.queue_counters(live.queue_since, live.queue));
        f(self.center_counters(live.first_arrival));
    }

    fn promise(&mut self, at: Time, contact: ContactId) {
        if let Some(live) = self.live.get_mut(&contact) {
            live.promised_at = Some(at);
            let live = *live;
            self.promises
                .insert((at + self.config.callback_promise, contact));
            self.both(&live, |c| c.callbacks_requested += 1);
        }
    }

    fn known_queue(&self, queue: QueueId) -> bool {
        queue.index() < self.thresholds.len()
    }

    /// Takes one event, which happened at `at`. Events must come in time order. Events that
    /// name a queue or agent this configuration does not have (a log replayed after the
    /// configuration changed) are passed over.
    pub fn observe(&mut self, at: Time, event: &Event) {
        let queue_ok = match *event {
            Event::ContactQueued { queue, .. }
            | Event::StepReached { queue, .. }
            | Event::CallbackOffered { queue, .. }
            | Event::CallbackPromised { queue, .. }
            | Event::OfferCreated { queue, .. }
            | Event::ContactEnded { queue, .. }
            | Event::ContactCompleted { queue, .. }
            | Event::WrapUpEnded { queue, .. } => self.known_queue(queue),
            Event::ContactOverflowed { from, to, .. } => {
                self.known_queue(from) && to.is_none_or(|to| self.known_queue(to))
            }
            Event::OfferEnded { .. }
            | Event::CallbackDialRequested { .. }
            | Event::CallbackAttemptFailed { .. }
            | Event::AgentStateChanged { .. } => true,
        };
        if !queue_ok {
            return;
        }
        self.advance(at);
        self.expire_promises(at);
        match *event {
            Event::ContactQueued {
                contact,
                queue,
                kind,
                enqueued_at,
            } => {
                let live = Live {
                    queue,
                    first_arrival: enqueued_at.min(at),
                    queue_since: at,
                    kind,
                    promised_at: None,
                };
                self.live.insert(contact, live);
                self.change_held(queue, true);
                if kind == ContactKind::Callback {
                    // A callback request's promise runs from when it was requested.
                    self.promise(live.first_arrival, contact);
                } else {
                    self.both(&live, |c| c.offered += 1);
                }
            }
            Event::CallbackPromised { contact, .. } => {
                if let Some(live) = self.live.get_mut(&contact) {
                    if live.kind != ContactKind::Callback {
                        // The call leaves the call figures and joins the callback figures.
                        live.kind = ContactKind::Callback;
                        let live = *live;
                        self.both(&live, |c| c.offered = c.offered.saturating_sub(1));
                        self.promise(at, contact);
                    }
                }
            }
            Event::ContactOverflowed { contact, from, to } => {
                let Some(live) = self.live.get(&contact).copied() else {
                    return;
                };
                let waited = duration_millis(at.saturating_since(live.first_arrival));
                if live.kind != ContactKind::Callback {
                    let q = self.queue_counters(live.queue_since, from);
                    q.overflowed += 1;
                    q.longest_wait_ms = q.longest_wait_ms.max(waited);
                }
                match to {
                    Some(to) => {
                        self.change_held(from, false);
                        self.change_held(to, true);
                        let live = self.live.get_mut(&contact).expect("live");
                        live.queue = to;
                        live.queue_since = at;
                        if live.kind != ContactKind::Callback {
                            self.queue_counters(at, to).offered += 1;
                        }
                    }
                    None => {
                        // Left the center: the center counts it once, here.
                        let c = self.center_counters(live.first_arrival);
                        c.overflowed += 1;
                        c.longest_wait_ms = c.longest_wait_ms.max(waited);
                    }
                }
            }
            Event::CallbackDialRequested { contact, .. } => {
                let Some(live) = self.live.get_mut(&contact) else {
                    return;
                };
                let first = live.promised_at.take();
                let live = *live;
                self.both(&live, |c| c.callback_dials += 1);
                if let Some(promised) = first {
                    let deadline = promised + self.config.callback_promise;
                    self.promises.remove(&(deadline, contact));
                    if at <= deadline {
                        self.both(&live, |c| c.callbacks_on_time += 1);
                    } else {
                        self.both(&live, |c| c.callbacks_late += 1);
                    }
                }
            }
            Event::ContactEnded {
                contact,
                queue,
                kind,
                outcome,
                waited,
                ..
            } => {
                let live = self.live.remove(&contact);
                if outcome == Outcome::Refused {
                    let refused = Live {
                        queue,
                        first_arrival: at,
                        queue_since: at,
                        kind,
                        promised_at: None,
                    };
                    self.both(&refused, |c| {
                        if kind == ContactKind::Callback {
                            c.callbacks_requested += 1;
                        } else {
                            c.offered += 1;
                        }
                        c.refused += 1;
                    });
                    return;
                }
                let Some(live) = live else { return };
                self.change_held(queue, false);
                if let Some(promised) = live.promised_at {
                    self.promises
                        .remove(&(promised + self.config.callback_promise, contact));
                }
                let waited_ms = duration_millis(waited);
                let (threshold, short) = self.thresholds[queue.index()];
                self.both(&live, |c| {
                    if kind == ContactKind::Callback {
                        match outcome {
                            Outcome::Answered => c.callbacks_connected += 1,
                            Outcome::CallbackFailed => c.callbacks_failed += 1,
                            Outcome::Cancelled | Outcome::Abandoned => c.callbacks_cancelled += 1,
                            Outcome::Overflowed | Outcome::Refused => {}
                        }
                        return;
                    }
                    c.longest_wait_ms = c.longest_wait_ms.max(waited_ms);
                    match outcome {
                        Outcome::Answered => {
                            c.answered += 1;
                            c.answered_wait_ms += waited_ms;
                            if waited <= threshold {
                                c.answered_in_threshold += 1;
                            }
                        }
                        Outcome::Abandoned | Outcome::Cancelled => {
                            if waited <= short {
                                c.short_abandoned += 1;
                            } else {
                                c.abandoned += 1;
                                c.abandoned_wait_ms += waited_ms;
                            }
                        }
                        // Counted when it left (`ContactOverflowed`).
                        Outcome::Overflowed | Outcome::Refused | Outcome::CallbackFailed => {}
                    }
                });
            }
            Event::WrapUpEnded {
                queue,
                talk,
                wrap_up,
                ..
            } => {
                // Handle time counts once, when the work ends: talk and wrap-up together.
                let (talk, wrap) = (duration_millis(talk), duration_millis(wrap_up));
                let add = |c: &mut Counters| {
                    c.handled += 1;
                    c.talk_ms += talk;
                    c.wrap_up_ms += wrap;
                };
                add(self.queue_counters(at, queue));
                add(self.center_counters(at));
            }
            Event::AgentStateChanged { agent, state } => self.agent_state(at, agent, state),
            Event::ContactCompleted { .. }
            | Event::CallbackAttemptFailed { .. }
            | Event::StepReached { .. }
            | Event::CallbackOffered { .. }
            | Event::OfferCreated { .. }
            | Event::OfferEnded { .. } => {}
        }
    }

    fn agent_state(&mut self, at: Time, agent: AgentId, state: AgentState) {
        let Some(&(previous, since)) = self.agents.get(agent.index()) else {
            return;
        };
        self.add_agent_time(previous, since, at);
        self.agents[agent.index()] = (state, at);
    }

    /// Closes the books at `now`: agent time and held contacts up to now, and promises due.
    pub fn finish(&mut self, now: Time) {
        self.advance(now);
        for q in 0..self.held.len() {
            let (n, since) = self.held[q];
            self.integrate_held(Some(QueueId(q as u32)), n, since, now);
            self.held[q] = (n, now);
        }
        self.expire_promises(now);
        for i in 0..self.agents.len() {
            let (state, since) = self.agents[i];
            self.add_agent_time(state, since, now);
            self.agents[i] = (state, now);
        }
    }

    /// Counts from now on with a new configuration of the same queues and agents, more added
    /// at the end ([`crate::Router::reconfigure`]): contacts that end from now on are judged
    /// by the queues' new thresholds (also those already waiting); what was counted stays.
    pub fn reconfigure(&mut self, routing: &RoutingConfig) {
        self.thresholds = routing
            .queues
            .iter()
            .map(|q| (q.service_level_threshold, q.short_abandon))
            .collect();
        let queues = self.thresholds.len();
        for interval in &mut self.queues {
            if interval.len() < queues {
                interval.resize(queues, Counters::default());
            }
        }
        let last = self.last;
        if self.held.len() < queues {
            self.held.resize(queues, (0, last));
        }
        if self.agents.len() < routing.agents.len() {
            self.agents
                .resize(routing.agents.len(), (AgentState::LoggedOut, last));
        }
    }

    /// Number of intervals with data.
    pub fn interval_count(&self) -> usize {
        self.center.len()
    }

    /// Start time of an interval.
    pub fn interval_start_time(&self, index: usize) -> Time {
        self.interval_start(index)
    }

    /// The interval length.
    pub fn interval(&self) -> Duration {
        self.config.interval
    }

    /// The whole center's counts in one interval.
    pub fn center(&self, index: usize) -> Counters {
        self.center.get(index).copied().unwrap_or_default()
    }

    /// One queue's counts in one interval.
    pub fn queue(&self, index: usize, queue: QueueId) -> Counters {
        self.queues
            .get(index)
            .and_then(|q| q.get(queue.index()))
            .copied()
            .unwrap_or_default()
    }

    /// The whole center over every interval.
    pub fn center_total(&self) -> Counters {
        let mut total = Counters::default();
        for c in &self.center {
            total.add(c);
        }
        total
    }

    /// One queue over every interval.
    pub fn queue_total(&self, queue: QueueId) -> Counters {
        let mut total = Counters::default();
        for q in &self.queues {
            if let Some(c) = q.get(queue.index()) {
                total.add(c);
            }
        }
        total
    }

    /// The contact·ms held in interval `index` up to `now`, by a queue or (with `None`) the
    /// whole center: what [`Counters::held_contact_ms`] will hold once the books close, for
    /// the part of the interval before `now`, without closing them (the time since the last
    /// change is integrated on the fly).
    pub fn held_ms_until(&self, index: usize, queue: Option<QueueId>, now: Time) -> u128 {
        let (closed, n, since) = match queue {
            Some(q) => {
                let (n, since) = self.held.get(q.index()).copied().unwrap_or((0, now));
                (self.queue(index, q).held_contact_ms, n, since)
            }
            None => (
                self.center(index).held_contact_ms,
                self.held_total,
                self.held_since,
            ),
        };
        let start = self.interval_start(index);
        let end = if index >= MAX_INTERVALS - 1 {
            now
        } else {
            self.interval_start(index + 1)
        };
        let (from, to) = (since.max(start), now.min(end));
        let open_ms = if to > from {
            duration_millis(to.saturating_since(from))
        } else {
            0
        };
        closed + u128::from(n) * u128::from(open_ms)
    }

    /// Contacts held now, per queue.
    pub fn held_now(&self, queue: QueueId) -> u64 {
        self.held.get(queue.index()).map_or(0, |&(n, _)| n)
    }
}

fn interval_index(config: MetricsConfig, at: Time) -> usize {
    let offset = duration_millis(at.saturating_since(config.origin));
    let len = duration_millis(config.interval).max(1);
    ((offset / len) as usize).min(MAX_INTERVALS - 1)
}

fn interval_start(config: MetricsConfig, index: usize) -> Time {
    config.origin + config.interval * index as u32
}

/// The pieces of the span `[from, to)` in each interval: (interval index, milliseconds).
fn pieces(config: MetricsConfig, from: Time, to: Time) -> impl Iterator<Item = (usize, u64)> {
    let mut t = from;
    std::iter::from_fn(move || {
        if t >= to {
            return None;
        }
        let i = interval_index(config, t);
        let end = if i == MAX_INTERVALS - 1 {
            to
        } else {
            interval_start(config, i + 1).min(to)
        };
        let ms = duration_millis(end.saturating_since(t));
        t = end;
        Some((i, ms))
    })
}
