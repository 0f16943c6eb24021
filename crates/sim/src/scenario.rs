//! A simulated day: the center's routing configuration (the same one the server runs) plus
//! the workload: who calls when, how long they talk, how long they are willing to wait, and
//! when agents work.

use std::time::Duration;

use hotline_routing::{
    AgentId, ContactAttributes, ContactKind, QueueId, ReasonCode, RoutingConfig, SkillRequirement,
};

/// The longest day a scenario may simulate.
pub const MAX_SCENARIO_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// The shortest report interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);
/// The most arrivals one run may generate; a scenario asking for more is refused before the
/// run rather than exhausting memory.
pub const MAX_ARRIVALS: u64 = 50_000_000;

/// Everything one simulation run needs.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// A name for reports.
    pub name: String,
    /// The routing configuration: skills, queues, agents, policies.
    pub routing: RoutingConfig,
    /// Length of the simulated day.
    pub duration: Duration,
    /// Report interval (15 or 30 minutes is usual).
    pub interval: Duration,
    /// The random seed; the same seed gives the same day.
    pub seed: u64,
    /// Kinds of incoming contacts.
    pub call_types: Vec<CallType>,
    /// When each agent works. An agent with no shift works the whole day.
    pub shifts: Vec<Shift>,
    /// How simulated agents behave.
    pub agents: AgentBehaviour,
}

/// One kind of incoming contact: where it goes, how many, how long, how patient.
#[derive(Clone, Debug)]
pub struct CallType {
    /// A name for reports.
    pub name: String,
    /// The queue it joins.
    pub queue: QueueId,
    /// Call or chat (a callback request is a call type with kind `Callback`).
    pub kind: ContactKind,
    /// Arrival rate over the day.
    pub arrivals: ArrivalPattern,
    /// Talk time (wrap-up comes from the queue).
    pub handle_time: Distribution,
    /// How long a caller waits before hanging up; `None`: never hangs up.
    pub patience: Option<Distribution>,
    /// Customer segments, drawn by weight for each arrival.
    pub segments: Vec<Segment>,
    /// Probability that a caller offered a callback takes it.
    pub accepts_callback: f64,
    /// Probability that a callback dial is answered.
    pub callback_answer_rate: f64,
    /// Ring time of a callback dial before its result.
    pub callback_ring_time: Duration,
}

/// A share of the callers of a call type with the same attributes.
#[derive(Clone, Debug)]
pub struct Segment {
    /// A name for reports ("vip", "standard").
    pub name: String,
    /// Relative weight.
    pub weight: f64,
    /// Attributes that set the priority.
    pub attributes: ContactAttributes,
    /// Extra skills the segment needs (language, need tags).
    pub skills: Vec<SkillRequirement>,
    /// A dedicated agent the segment's callers wait for first, and for how long.
    pub preferred_agent: Option<(AgentId, Duration)>,
}

/// Arrivals per hour in consecutive periods from the start of the day (a Poisson process with
/// a piecewise-constant rate). After the last period the rate stays at its last value.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrivalPattern {
    /// Length of each period.
    pub period: Duration,
    /// Calls per hour in each period.
    pub per_hour: Vec<f64>,
}

impl ArrivalPattern {
    /// A constant rate all day.
    pub fn constant(per_hour: f64) -> ArrivalPattern {
        ArrivalPattern {
            period: Duration::from_secs(3600),
            per_hour: vec![per_hour],
        }
    }

    /// The rate (per hour) in force at `offset` into the day, and when that rate ends.
    pub fn rate_at(&self, offset: Duration) -> (f64, Option<Duration>) {
        let period = self.period.as_secs_f64().max(1.0);
        let index = (offset.as_secs_f64() / period) as usize;
        match self.per_hour.get(index) {
            Some(&rate) if index + 1 < self.per_hour.len() => (
                rate,
                Some(Duration::from_secs_f64(period * (index + 1) as f64)),
            ),
            Some(&rate) => (rate, None),
            None => (self.per_hour.last().copied().unwrap_or(0.0), None),
        }
    }

    /// Expected arrivals over `duration`.
    pub fn expected_arrivals(&self, duration: Duration) -> f64 {
        let mut total = 0.0;
        let mut t = Duration::ZERO;
        while t < duration {
            let (rate, end) = self.rate_at(t);
            let end = end.unwrap_or(duration).min(duration);
            total += rate * (end - t).as_secs_f64() / 3600.0;
            t = end;
        }
        total
    }
}

/// A distribution of durations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Always the same.
    Fixed(Duration),
    /// Exponential with this mean (memoryless; what Erlang C and A assume).
    Exponential {
        /// The mean.
        mean: Duration,
    },
    /// Log-normal with this mean and standard deviation (what real handle times look like).
    LogNormal {
        /// The mean.
        mean: Duration,
        /// The standard deviation.
        sd: Duration,
    },
}

impl Distribution {
    /// The mean.
    pub fn mean(&self) -> Duration {
        match *self {
            Distribution::Fixed(d) => d,
            Distribution::Exponential { mean } | Distribution::LogNormal { mean, .. } => mean,
        }
    }
}

/// When an agent works: logged in and ready from `start` to `end` (offsets into the day).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shift {
    /// The agent.
    pub agent: AgentId,
    /// Start of the shift.
    pub start: Duration,
    /// End of the shift: no new contacts; the one in progress is finished.
    pub end: Duration,
}

/// How simulated agents behave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AgentBehaviour {
    /// Time from an offer to the agent answering.
    pub answer_delay: Duration,
    /// Breaks during a shift (shrinkage), if any.
    pub breaks: Option<Breaks>,
}

impl Default for AgentBehaviour {
    fn default() -> AgentBehaviour {
        AgentBehaviour {
            answer_delay: Duration::from_secs(2),
            breaks: None,
        }
    }
}

/// Every agent takes a break of `length` every `every` while logged in, going not ready with
/// `reason` (a conversation in progress is finished first). The breaks of different agents
/// are staggered over the `every` period, so a team does not leave all at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Breaks {
    /// Time from the start of one break to the start of the next.
    pub every: Duration,
    /// Length of a break.
    pub length: Duration,
    /// The not-ready reason given.
    pub reason: ReasonCode,
}

/// A scenario that cannot run, with the field at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The field at fault, as a path (for example `call_types[1].queue`).
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// Checks the workload and the routing configuration before a run; returns every problem.
    pub fn validate(&self) -> Result<(), Vec<ScenarioError>> {
        let mut errors: Vec<ScenarioError> = Vec::new();
        let mut e = |path: String, message: String| errors.push(ScenarioError { path, message });
        if let Err(routing) = self.routing.validate() {
            for r in routing {
                e(r.path, r.message);
            }
        }
        if self.duration.is_zero() || self.duration > MAX_SCENARIO_DURATION {
            e(
                "duration".into(),
                format!(
                    "must be longer than zero and at most {} hours",
                    MAX_SCENARIO_DURATION.as_secs() / 3600
                ),
            );
        }
        if self.interval < MIN_INTERVAL {
            e(
                "interval".into(),
                format!("must be at least {} s", MIN_INTERVAL.as_secs()),
            );
        }
        if self.call_types.is_empty() {
            e(
                "call_types".into(),
                "at least one call type is needed".into(),
            );
        }
        let mut expected = 0.0;
        for (i, t) in self.call_types.iter().enumerate() {
            let path = format!("call_types[{i}]");
            if t.queue.index() >= self.routing.queues.len() {
                e(
                    format!("{path}.queue"),
                    format!("unknown queue {}", t.queue.0),
                );
            }
            if t.arrivals.per_hour.is_empty()
                || t.arrivals
                    .per_hour
                    .iter()
                    .any(|r| !r.is_finite() || *r < 0.0)
            {
                e(
                    format!("{path}.arrivals"),
                    "rates must be numbers of calls per hour, zero or more".into(),
                );
            }
            if t.arrivals.period < MIN_INTERVAL {
                e(
                    format!("{path}.arrivals.period"),
                    format!("must be at least {} s", MIN_INTERVAL.as_secs()),
                );
            }
            expected += t.arrivals.expected_arrivals(self.duration);
            for (name, p) in [
                ("accepts_callback", t.accepts_callback),
                ("callback_answer_rate", t.callback_answer_rate),
            ] {
                if !(0.0..=1.0).contains(&p) {
                    e(
                        format!("{path}.{name}"),
                        "must be a probability from 0 to 1".into(),
                    );
                }
            }
            if t.segments.is_empty() || t.segments.iter().all(|s| s.weight <= 0.0) {
                e(
                    format!("{path}.segments"),
                    "at least one segment with a positive weight is needed".into(),
                );
            }
            for (si, s) in t.segments.iter().enumerate() {
                if !s.weight.is_finite() || s.weight < 0.0 {
                    e(
                        format!("{path}.segments[{si}].weight"),
                        "must be zero or more".into(),
                    );
                }
                if let Some((agent, _)) = s.preferred_agent {
                    if agent.index() >= self.routing.agents.len() {
                        e(
                            format!("{path}.segments[{si}].preferred_agent"),
                            format!("unknown agent {}", agent.0),
                        );
                    }
                }
                if s.attributes.tier as usize >= self.routing.priority.tiers.len() {
                    e(
                        format!("{path}.segments[{si}].tier"),
                        format!("unknown tier {}", s.attributes.tier),
                    );
                }
            }
            if let Distribution::LogNormal { mean, .. } | Distribution::Exponential { mean } =
                t.handle_time
            {
                if mean.is_zero() {
                    e(
                        format!("{path}.handle_time"),
                        "the mean must be longer than zero".into(),
                    );
                }
            }
        }
        if expected > MAX_ARRIVALS as f64 {
            e(
                "call_types".into(),
                format!("about {expected:.0} arrivals expected; at most {MAX_ARRIVALS} per run"),
            );
        }
        if let Some(b) = self.agents.breaks {
            if b.length.is_zero() || b.every <= b.length {
                e(
                    "agent_behaviour.breaks".into(),
                    "a break must last longer than zero and less than `every`".into(),
                );
            }
            let reasons = ReasonCode::BUILT_IN.len() + self.routing.extra_reasons.len();
            if b.reason.index() < ReasonCode::BUILT_IN.len() || b.reason.index() >= reasons {
                e(
                    "agent_behaviour.breaks.reason".into(),
                    "must be one of the configuration's own not-ready reasons".into(),
                );
            }
        }
        for (i, s) in self.shifts.iter().enumerate() {
            if s.agent.index() >= self.routing.agents.len() {
                e(
                    format!("shifts[{i}].agent"),
                    format!("unknown agent {}", s.agent.0),
                );
            }
            if s.end <= s.start {
                e(
                    format!("shifts[{i}]"),
                    "a shift must end after it starts".into(),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
