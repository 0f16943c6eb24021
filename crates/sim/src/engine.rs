//! The discrete-event simulation of a day: arrivals, patience, talk, shifts and callback dials
//! around the real routing core.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use hotline_routing::metrics::{MetricsConfig, Projection};
use hotline_routing::{
    AgentId, AgentState, ContactId, ContactKind, ContactSpec, DialOutcome, Event, Input, Outcome,
    Placement, PreferredAgent, Router, Time,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, Exp, LogNormal};

use crate::scenario::{Distribution, Scenario, ScenarioError};

/// After the day ends no one arrives; what is still going on (callers waiting, conversations,
/// wrap-ups, callbacks) is followed for at most this long.
pub const MAX_DRAIN: Duration = Duration::from_secs(4 * 3600);

/// How well an estimate of the wait, given at arrival, matched the real wait.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EstimateAccuracy {
    /// Answered calls that were queued at arrival and so got an estimate.
    pub samples: u64,
    /// Mean absolute error of the routing core's estimate, in seconds.
    pub ours_mae_seconds: f64,
    /// Mean absolute error of Asterisk's moving-average estimate, in seconds.
    pub asterisk_mae_seconds: f64,
    /// Mean of (estimate − real wait) for the routing core's estimate: positive means it
    /// promised longer waits than happened.
    pub ours_bias_seconds: f64,
    /// The same for Asterisk's estimate.
    pub asterisk_bias_seconds: f64,
}

/// Figures for one customer segment of one call type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SegmentStats {
    /// The call type's name.
    pub call_type: String,
    /// The segment's name.
    pub segment: String,
    /// Arrivals.
    pub offered: u64,
    /// Calls and chats answered by an agent while waiting (callbacks not included).
    pub answered: u64,
    /// Hung up while waiting, after the queue's short-abandon threshold.
    pub abandoned: u64,
    /// Hung up within the short-abandon threshold (as in the queue figures, not counted as
    /// abandoned).
    pub short_abandoned: u64,
    /// Became callbacks (chosen or at the maximum wait).
    pub callbacks: u64,
    /// Callbacks that connected.
    pub callbacks_connected: u64,
    /// Sum of the waits of answered calls and chats, in ms.
    pub answered_wait_ms: u64,
    /// Longest wait of an answered call or chat, in ms.
    pub longest_answered_wait_ms: u64,
}

impl SegmentStats {
    /// Average wait of answered calls and chats.
    pub fn average_wait(&self) -> Option<Duration> {
        (self.answered > 0).then(|| Duration::from_millis(self.answered_wait_ms / self.answered))
    }
}

/// What a simulated day produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// The seed used.
    pub seed: u64,
    /// Length of the day.
    pub duration: Duration,
    /// Queue names, by [`hotline_routing::QueueId`].
    pub queue_names: Vec<String>,
    /// Every metric, per queue and interval, projected from the router's events.
    pub metrics: Projection,
    /// Figures per segment.
    pub segments: Vec<SegmentStats>,
    /// Estimated-wait accuracy.
    pub estimates: EstimateAccuracy,
    /// Contacts that arrived.
    pub arrivals: u64,
    /// Router events processed.
    pub router_events: u64,
    /// When the books were closed (the end of the day, or later if contacts were still
    /// held): the time the metrics' agent time runs to.
    pub finished_at: Time,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum SimEvent {
    Arrival {
        call_type: u32,
    },
    Patience {
        contact: ContactId,
    },
    Answer {
        agent: AgentId,
        contact: ContactId,
    },
    TalkEnd {
        agent: AgentId,
        contact: ContactId,
    },
    DialResult {
        contact: ContactId,
        connected: bool,
    },
    ShiftStart {
        agent: AgentId,
    },
    ShiftEnd {
        agent: AgentId,
    },
    /// `generation` ties a break to the shift it was planned in.
    BreakStart {
        agent: AgentId,
        generation: u32,
    },
    BreakEnd {
        agent: AgentId,
        generation: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct LiveContact {
    call_type: u32,
    segment: u32,
    patient: bool,
    /// Drawn at arrival, so that two scenarios run with one seed face the same callers.
    talk: Duration,
    estimate: Option<(Duration, Duration)>,
}

struct Sim<'a> {
    scenario: &'a Scenario,
    router: Router,
    /// Agents' and customers' reactions (callback offers, dial results).
    rng: ChaCha8Rng,
    /// One stream per call type for arrivals and for everything about each caller (segment,
    /// patience, talk time): common random numbers, so a scenario and its variant with the
    /// same seed face the very same callers, and differences come from routing alone.
    caller_rngs: Vec<ChaCha8Rng>,
    heap: BinaryHeap<Reverse<(Time, u64, SimEvent)>>,
    sequence: u64,
    live: HashMap<ContactId, LiveContact>,
    next_contact: u64,
    metrics: Projection,
    segments: Vec<Vec<SegmentStats>>,
    cumulative_weights: Vec<Vec<f64>>,
    estimate_errors: (u64, f64, f64, f64, f64),
    arrivals: u64,
    router_events: u64,
    end: Time,
    finished_at: Time,
    last_activity: Time,
    /// Per agent: bumped at every shift start, so breaks planned in an earlier shift lapse.
    shift_generation: Vec<u32>,
    /// Per agent: a break asked for whose agent is still finishing a contact; the break's
    /// time starts when the agent is actually not ready.
    break_pending: Vec<Option<u32>>,
}

/// Runs one simulated day with this seed. `progress` is called now and then with the
/// simulated time reached. The scenario is validated first; nothing runs if it is wrong.
pub fn simulate(
    scenario: &Scenario,
    seed: u64,
    progress: &mut dyn FnMut(Duration),
) -> Result<Report, Vec<ScenarioError>> {
    simulate_with_events(scenario, seed, progress, &mut |_, _| {})
}

/// [`simulate`], handing every routing event to `on_event` as well (to write the day's event
/// log, for example).
pub fn simulate_with_events(
    scenario: &Scenario,
    seed: u64,
    progress: &mut dyn FnMut(Duration),
    on_event: &mut dyn FnMut(Time, &Event),
) -> Result<Report, Vec<ScenarioError>> {
    scenario.validate()?;
    let router = Router::new(scenario.routing.clone()).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| ScenarioError {
                path: e.path,
                message: e.message,
            })
            .collect::<Vec<_>>()
    })?;
    let metrics = Projection::new(
        &scenario.routing,
        MetricsConfig {
            origin: Time::ZERO,
            interval: scenario.interval,
            ..MetricsConfig::default()
        },
    );
    let segments = scenario
        .call_types
        .iter()
        .map(|t| {
            t.segments
                .iter()
                .map(|s| SegmentStats {
                    call_type: t.name.clone(),
                    segment: s.name.clone(),
                    ..SegmentStats::default()
                })
                .collect()
        })
        .collect();
    let cumulative_weights = scenario
        .call_types
        .iter()
        .map(|t| {
            let mut sum = 0.0;
            t.segments
                .iter()
                .map(|s| {
                    sum += s.weight.max(0.0);
                    sum
                })
                .collect()
        })
        .collect();
    let mut sim = Sim {
        scenario,
        router,
        rng: ChaCha8Rng::seed_from_u64(seed),
        caller_rngs: (0..scenario.call_types.len())
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(i as u64 + 1);
                rng
            })
            .collect(),
        heap: BinaryHeap::new(),
        sequence: 0,
        live: HashMap::new(),
        next_contact: 0,
        metrics,
        segments,
        cumulative_weights,
        estimate_errors: (0, 0.0, 0.0, 0.0, 0.0),
        arrivals: 0,
        router_events: 0,
        end: Time::ZERO + scenario.duration,
        finished_at: Time::ZERO,
        last_activity: Time::ZERO,
        shift_generation: vec![0; scenario.routing.agents.len()],
        break_pending: vec![None; scenario.routing.agents.len()],
    };
    sim.run(progress, on_event);
    let (n, ours, asterisk, ours_bias, asterisk_bias) = sim.estimate_errors;
    let mean = |sum: f64| if n > 0 { sum / n as f64 } else { 0.0 };
    Ok(Report {
        scenario: scenario.name.clone(),
        seed,
        duration: scenario.duration,
        queue_names: scenario
            .routing
            .queues
            .iter()
            .map(|q| q.name.clone())
            .collect(),
        metrics: sim.metrics,
        segments: sim.segments.into_iter().flatten().collect(),
        estimates: EstimateAccuracy {
            samples: n,
            ours_mae_seconds: mean(ours),
            asterisk_mae_seconds: mean(asterisk),
            ours_bias_seconds: mean(ours_bias),
            asterisk_bias_seconds: mean(asterisk_bias),
        },
        arrivals: sim.arrivals,
        router_events: sim.router_events,
        finished_at: sim.finished_at,
    })
}

impl Sim<'_> {
    fn push(&mut self, at: Time, event: SimEvent) {
        self.sequence += 1;
        self.heap.push(Reverse((at, self.sequence, event)));
    }

    fn sample(rng: &mut ChaCha8Rng, distribution: Distribution) -> Duration {
        let seconds = match distribution {
            Distribution::Fixed(d) => return d,
            Distribution::Exponential { mean } => {
                let mean = mean.as_secs_f64();
                if mean <= 0.0 {
                    return Duration::ZERO;
                }
                Exp::new(1.0 / mean).expect("positive rate").sample(rng)
            }
            Distribution::LogNormal { mean, sd } => {
                let (m, s) = (mean.as_secs_f64(), sd.as_secs_f64());
                if m <= 0.0 {
                    return Duration::ZERO;
                }
                let sigma2 = (1.0 + (s * s) / (m * m)).ln();
                let mu = m.ln() - sigma2 / 2.0;
                LogNormal::new(mu, sigma2.sqrt())
                    .expect("finite parameters")
                    .sample(rng)
            }
        };
        Duration::from_secs_f64(seconds.clamp(0.0, 30.0 * 24.0 * 3600.0))
    }

    /// The next arrival of a call type after `now`: a Poisson process with a piecewise-constant
    /// rate, restarted at each change of rate (exact, since it is memoryless).
    fn schedule_arrival(&mut self, call_type: u32, now: Time) {
        let pattern = &self.scenario.call_types[call_type as usize].arrivals;
        let mut t = now;
        while t < self.end {
            let offset = t.saturating_since(Time::ZERO);
            let (rate, change) = pattern.rate_at(offset);
            let change = change.map_or(self.end, |c| (Time::ZERO + c).min(self.end));
            if rate > 0.0 {
                let gap: f64 = Exp::new(rate / 3600.0)
                    .expect("positive rate")
                    .sample(&mut self.caller_rngs[call_type as usize]);
                let at = t + Duration::from_secs_f64(gap);
                if at < change {
                    self.push(at, SimEvent::Arrival { call_type });
                    return;
                }
            }
            t = change;
        }
    }

    fn run(&mut self, progress: &mut dyn FnMut(Duration), on_event: &mut dyn FnMut(Time, &Event)) {
        for call_type in 0..self.scenario.call_types.len() as u32 {
            self.schedule_arrival(call_type, Time::ZERO);
        }
        let mut shifted = vec![false; self.scenario.routing.agents.len()];
        for shift in &self.scenario.shifts {
            shifted[shift.agent.index()] = true;
        }
        let shifts = self.scenario.shifts.clone();
        for shift in shifts {
            self.push(
                Time::ZERO + shift.start,
                SimEvent::ShiftStart { agent: shift.agent },
            );
            self.push(
                Time::ZERO + shift.end,
                SimEvent::ShiftEnd { agent: shift.agent },
            );
        }
        // An agent with no shift works all day and stays until the last caller is served.
        for (i, has_shift) in shifted.iter().enumerate() {
            if !has_shift {
                let agent = AgentId(i as u32);
                self.push(Time::ZERO, SimEvent::ShiftStart { agent });
            }
        }
        // The day ends when nothing is left to happen: no caller, conversation, wrap-up or
        // timer (arrivals stop at the end of the day); at most MAX_DRAIN after it.
        let stop = self.end + MAX_DRAIN;
        let mut steps = 0u64;
        loop {
            let next_sim = self.heap.peek().map(|Reverse((t, _, _))| *t);
            let next_router = self.router.poll_timeout();
            let Some(t) = [next_sim, next_router].into_iter().flatten().min() else {
                break;
            };
            if t > stop {
                break;
            }
            if next_router.is_some_and(|r| Some(r) <= next_sim || next_sim.is_none()) {
                self.router.handle_timeout(t);
            } else {
                let Reverse((at, _, event)) = self.heap.pop().expect("peeked");
                self.last_activity = self.last_activity.max(at);
                self.handle(at, event, on_event);
            }
            self.drain(t, on_event);
            steps += 1;
            if steps.is_multiple_of(65_536) {
                progress(t.saturating_since(Time::ZERO));
            }
        }
        // The books close at the last thing that happened: a cancelled timer left in the
        // router's heap is no activity and must not stretch the agents' idle time.
        let last = self.last_activity.max(self.end);
        self.metrics.finish(last);
        self.finished_at = last;
    }

    fn input(&mut self, now: Time, input: Input) {
        // Inputs that race with the router (an answer after the caller hung up) are refused
        // by it; that is expected here.
        let _ = self.router.handle(now, input);
    }

    fn handle(&mut self, now: Time, event: SimEvent, on_event: &mut dyn FnMut(Time, &Event)) {
        match event {
            SimEvent::Arrival { call_type } => {
                self.arrive(now, call_type, on_event);
                self.schedule_arrival(call_type, now);
            }
            SimEvent::Patience { contact } => {
                if self.live.get(&contact).is_some_and(|c| c.patient) {
                    self.input(now, Input::Abandon { contact });
                }
            }
            SimEvent::Answer { agent, contact } => {
                self.input(now, Input::Accept { agent, contact })
            }
            SimEvent::TalkEnd { agent, contact } => {
                self.input(now, Input::Complete { agent, contact })
            }
            SimEvent::DialResult { contact, connected } => {
                let outcome = if connected {
                    DialOutcome::Connected
                } else {
                    DialOutcome::NoAnswer
                };
                self.input(now, Input::CallbackResult { contact, outcome });
            }
            SimEvent::ShiftStart { agent } => {
                self.input(now, Input::Login { agent });
                self.input(now, Input::Ready { agent });
                let generation = &mut self.shift_generation[agent.index()];
                *generation += 1;
                let generation = *generation;
                if let Some(breaks) = self.scenario.agents.breaks {
                    // Staggered over the period by the golden ratio, so any team spreads out.
                    let phase = (agent.0 as f64 * 0.618_033_988_75).fract();
                    let first = now + breaks.every.mul_f64(phase.max(0.05));
                    self.push(first, SimEvent::BreakStart { agent, generation });
                }
            }
            SimEvent::ShiftEnd { agent } => {
                self.shift_generation[agent.index()] += 1;
                self.break_pending[agent.index()] = None;
                self.input(now, Input::Logout { agent });
            }
            SimEvent::BreakStart { agent, generation } => {
                let Some(breaks) = self.scenario.agents.breaks else {
                    return;
                };
                if generation == self.shift_generation[agent.index()] {
                    // The break's length runs from when the agent is actually not ready
                    // (see `react`): one on a call finishes it first.
                    self.break_pending[agent.index()] = Some(generation);
                    let reason = breaks.reason;
                    self.input(now, Input::NotReady { agent, reason });
                }
            }
            SimEvent::BreakEnd { agent, generation } => {
                let Some(breaks) = self.scenario.agents.breaks else {
                    return;
                };
                if generation == self.shift_generation[agent.index()] {
                    self.input(now, Input::Ready { agent });
                    let next = now + (breaks.every - breaks.length);
                    // No break planned past the end of the day (agents without a shift stay
                    // on until the work is done).
                    if next < self.end {
                        self.push(next, SimEvent::BreakStart { agent, generation });
                    }
                }
            }
        }
    }

    fn arrive(&mut self, now: Time, call_type: u32, on_event: &mut dyn FnMut(Time, &Event)) {
        self.arrivals += 1;
        self.next_contact += 1;
        let id = ContactId(self.next_contact);
        let t = &self.scenario.call_types[call_type as usize];
        let weights = &self.cumulative_weights[call_type as usize];
        let total = *weights.last().expect("validated: a segment");
        let rng = &mut self.caller_rngs[call_type as usize];
        let draw = rng.random::<f64>() * total;
        let talk = Self::sample(rng, t.handle_time);
        let patience = t.patience.map(|p| Self::sample(rng, p));
        let segment = weights
            .partition_point(|&w| w <= draw)
            .min(weights.len() - 1);
        let s = &t.segments[segment];
        let spec = ContactSpec {
            id,
            queue: t.queue,
            kind: t.kind,
            attributes: s.attributes,
            skills: s.skills.clone(),
            preferred_agent: s
                .preferred_agent
                .map(|(agent, wait)| PreferredAgent { agent, wait }),
            enqueued_at: None,
            placement: Placement::ByPriority,
            max_dials: None,
        };
        let kind = t.kind;
        self.segments[call_type as usize][segment].offered += 1;
        self.live.insert(
            id,
            LiveContact {
                call_type,
                segment: segment as u32,
                patient: patience.is_some() && kind != ContactKind::Callback,
                talk,
                estimate: None,
            },
        );
        self.input(now, Input::Arrive(spec));
        self.drain(now, on_event);
        // The estimates a caller would hear on arrival.
        if let Some(ours) = self.router.estimate(id).and_then(|e| e.expected_wait) {
            let asterisk = self
                .router
                .asterisk_estimate(now, id)
                .unwrap_or(Duration::ZERO);
            if let Some(live) = self.live.get_mut(&id) {
                live.estimate = Some((ours, asterisk));
            }
        }
        if let Some(patience) = patience {
            if kind != ContactKind::Callback && self.live.contains_key(&id) {
                self.push(now + patience, SimEvent::Patience { contact: id });
            }
        }
    }

    fn drain(&mut self, now: Time, on_event: &mut dyn FnMut(Time, &Event)) {
        while let Some((at, event)) = self.router.poll_event() {
            self.router_events += 1;
            self.last_activity = self.last_activity.max(at);
            self.metrics.observe(at, &event);
            on_event(at, &event);
            self.react(now.max(at), &event);
        }
    }

    fn react(&mut self, now: Time, event: &Event) {
        match *event {
            Event::AgentStateChanged {
                agent,
                state: AgentState::NotReady(reason),
            } => {
                let Some(breaks) = self.scenario.agents.breaks else {
                    return;
                };
                if reason == breaks.reason {
                    if let Some(generation) = self.break_pending[agent.index()].take() {
                        self.push(
                            now + breaks.length,
                            SimEvent::BreakEnd { agent, generation },
                        );
                    }
                }
            }
            Event::OfferCreated { contact, agent, .. } => {
                let delay = self.scenario.agents.answer_delay;
                self.push(now + delay, SimEvent::Answer { agent, contact });
            }
            Event::CallbackOffered { contact, .. } => {
                let Some(live) = self.live.get(&contact).copied() else {
                    return;
                };
                let p = self.scenario.call_types[live.call_type as usize].accepts_callback;
                if p > 0.0 && self.rng.random::<f64>() < p {
                    let _ = self.router.handle(now, Input::AcceptCallback { contact });
                }
            }
            Event::CallbackPromised { contact, .. } => {
                if let Some(live) = self.live.get_mut(&contact) {
                    live.patient = false;
                    self.segments[live.call_type as usize][live.segment as usize].callbacks += 1;
                }
            }
            Event::CallbackDialRequested { contact, .. } => {
                let Some(live) = self.live.get(&contact).copied() else {
                    return;
                };
                let t = &self.scenario.call_types[live.call_type as usize];
                let (rate, ring) = (t.callback_answer_rate, t.callback_ring_time);
                let connected = self.rng.random::<f64>() < rate;
                self.push(now + ring, SimEvent::DialResult { contact, connected });
            }
            Event::ContactEnded {
                contact,
                queue,
                outcome,
                waited,
                agent,
                kind,
            } => {
                let Some(live) = self.live.remove(&contact) else {
                    return;
                };
                let stats = &mut self.segments[live.call_type as usize][live.segment as usize];
                match outcome {
                    Outcome::Answered if kind == ContactKind::Callback => {
                        stats.callbacks_connected += 1;
                        if let Some(agent) = agent {
                            self.push(now + live.talk, SimEvent::TalkEnd { agent, contact });
                        }
                    }
                    Outcome::Answered => {
                        stats.answered += 1;
                        let ms = waited.as_millis() as u64;
                        stats.answered_wait_ms += ms;
                        stats.longest_answered_wait_ms = stats.longest_answered_wait_ms.max(ms);
                        if kind == ContactKind::Call {
                            if let Some((ours, asterisk)) = live.estimate {
                                let real = waited.as_secs_f64();
                                let e = &mut self.estimate_errors;
                                e.0 += 1;
                                e.1 += (ours.as_secs_f64() - real).abs();
                                e.2 += (asterisk.as_secs_f64() - real).abs();
                                e.3 += ours.as_secs_f64() - real;
                                e.4 += asterisk.as_secs_f64() - real;
                            }
                        }
                        if let Some(agent) = agent {
                            self.push(now + live.talk, SimEvent::TalkEnd { agent, contact });
                        }
                    }
                    Outcome::Abandoned | Outcome::Cancelled => {
                        let short = self.scenario.routing.queues[queue.index()].short_abandon;
                        if waited <= short && kind != ContactKind::Callback {
                            stats.short_abandoned += 1;
                        } else {
                            stats.abandoned += 1;
                        }
                    }
                    Outcome::Overflowed | Outcome::Refused | Outcome::CallbackFailed => {}
                }
            }
            _ => {}
        }
    }
}
