//! Staffing arithmetic for one queue of calls: Erlang C (M/M/n) and Erlang A (M/M/n+M).
//!
//! The principal function is [`agents_required`]: given the [`Traffic`] offered to a queue and a
//! [`ServiceLevelTarget`], it finds the smallest number of agents that meets the target and
//! returns the [`QueueFigures`] at that staffing. [`erlang_c`], [`erlang_a`] and [`evaluate`]
//! give the figures for one number of agents chosen by the caller.
//!
//! ```
//! use std::time::Duration;
//! use hotline_sim::erlang::{agents_required, ServiceLevelTarget, Traffic};
//!
//! let traffic = Traffic {
//!     arrivals_per_hour: 200.0,
//!     average_handle_time: Duration::from_secs(180),
//! };
//! let target = ServiceLevelTarget {
//!     fraction: 0.80,
//!     threshold: Duration::from_secs(20),
//! };
//! let staffing = agents_required(&traffic, &target, None)?;
//! assert_eq!(staffing.agents_required, 14);
//! assert!((staffing.figures.service_level - 0.888).abs() < 0.001);
//! # Ok::<(), hotline_sim::erlang::ErlangError>(())
//! ```
//!
//! # The two models
//!
//! Both models assume Poisson arrivals, exponential handle times and one first-come-first-served
//! queue in front of `n` identical agents.
//!
//! - **Erlang C** assumes that callers wait for ever. It is the industry's habit and overstates
//!   the staff needed when callers do hang up; it has no steady state when the offered load
//!   reaches the number of agents, and the figures then say so (see [`QueueFigures::is_stable`]).
//! - **Erlang A** (Palm's model) gives every caller an exponentially distributed patience; a
//!   caller still waiting when the patience runs out abandons. It is stable at every load, and
//!   it is the better model whenever abandonment is visible in the statistics.
//!
//! # Service level
//!
//! The service level is the fraction of *all* arrivals answered within the threshold `T`.
//! Under Erlang C every caller is answered, so it is `P(wait <= T)`; under Erlang A a caller who
//! abandons counts as not answered within `T`, even if they hung up after one second.
//!
//! # Accuracy
//!
//! Erlang C is computed with the Erlang B recursion, which is stable for any number of agents.
//! Erlang A sums its stationary distribution from the mode outwards, in ratios that never
//! overflow, and stops where a geometric bound on the remaining terms falls below
//! [`TAIL_TOLERANCE`] of the mass already summed; the truncation error of every reported figure
//! is therefore below `2 * TAIL_TOLERANCE` (relative). The probability that a waiting caller is
//! answered within `T`, which the defining backward equations give as an integral, is evaluated
//! in closed form (see [`erlang_a`]), so it carries no step-size error; what remains is floating
//! point rounding, below 1e-9 for every case the tests cover.
//!
//! This module does no IO and holds no state; every function is a pure computation.

use std::fmt;
use std::time::Duration;

/// The largest number of agents that [`agents_required`] will consider.
///
/// A search has to end somewhere; a hundred thousand agents on one queue is beyond any contact
/// centre this project expects, so a target that needs more is reported as unreachable.
pub const MAX_AGENTS: u32 = 100_000;

/// The highest state (calls in the system) that an Erlang A evaluation may have to visit.
///
/// With very long patience and fewer agents than the offered load, the queue settles around
/// `(load - agents) * patience / handle_time` calls, which grows without bound as the patience
/// does. The evaluation walks every state up to the top of the distribution, so this bounds its
/// time (about a second at the limit); it keeps no per-state memory.
pub const MAX_DISTRIBUTION_STATES: u64 = 20_000_000;

/// The relative mass below which the tails of the Erlang A distribution are cut off.
pub const TAIL_TOLERANCE: f64 = 1e-18;

/// The calls offered to one queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traffic {
    /// Mean number of calls arriving per hour (Poisson arrivals); finite and not negative.
    pub arrivals_per_hour: f64,
    /// Mean time an agent spends on one call, talk and wrap-up together (exponential); not zero.
    pub average_handle_time: Duration,
}

impl Traffic {
    /// The offered load in erlangs: arrivals per second times the handle time in seconds, the
    /// mean number of agents that would be busy if every call were answered.
    pub fn offered_load_erlangs(&self) -> f64 {
        self.arrivals_per_hour / 3600.0 * self.average_handle_time.as_secs_f64()
    }

    /// The offered load, once the inputs have been checked; every public computation starts
    /// here so that a NaN or a zero handle time cannot reach the arithmetic.
    fn validated_load(&self) -> Result<f64, ErlangError> {
        if !self.arrivals_per_hour.is_finite() || self.arrivals_per_hour < 0.0 {
            return Err(ErlangError::InvalidArrivalRate {
                arrivals_per_hour: self.arrivals_per_hour,
            });
        }
        if self.average_handle_time.is_zero() {
            return Err(ErlangError::ZeroHandleTime);
        }
        Ok(self.offered_load_erlangs())
    }
}

/// A service-level objective: `fraction` of all calls answered within `threshold`, as in
/// "80% in 20 seconds".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceLevelTarget {
    /// The fraction of calls to answer within the threshold, strictly between 0 and 1. One is
    /// excluded because with random arrivals no finite staff answers every call in time.
    pub fraction: f64,
    /// The answer time that counts as good service.
    pub threshold: Duration,
}

impl ServiceLevelTarget {
    fn validate(&self) -> Result<(), ErlangError> {
        if self.fraction > 0.0 && self.fraction < 1.0 {
            Ok(())
        } else {
            Err(ErlangError::InvalidTarget {
                fraction: self.fraction,
            })
        }
    }
}

/// Which queueing model produced a set of figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// M/M/n: callers never abandon.
    ErlangC,
    /// M/M/n+M: callers abandon after an exponentially distributed patience with this mean.
    ErlangA {
        /// Mean time a caller is willing to wait before hanging up.
        patience: Duration,
    },
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Model::ErlangC => f.write_str("Erlang C"),
            Model::ErlangA { .. } => f.write_str("Erlang A"),
        }
    }
}

/// The steady-state figures of one queue with a given number of agents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueFigures {
    /// The model the figures come from.
    pub model: Model,
    /// The number of agents the figures are for.
    pub agents: u32,
    /// Offered load in erlangs (see [`Traffic::offered_load_erlangs`]).
    pub offered_load_erlangs: f64,
    /// False when Erlang C has no steady state because the load is at least the number of
    /// agents: the queue then grows without bound, and the other figures are the limits
    /// (service level 0, every caller waits, agents always busy, waits unbounded). Erlang A is
    /// always stable because impatient callers drain the queue.
    pub is_stable: bool,
    /// Probability that an arriving call finds every agent busy and has to queue.
    pub probability_of_waiting: f64,
    /// Fraction of all arrivals answered within [`QueueFigures::service_level_threshold`].
    pub service_level: f64,
    /// The threshold the service level refers to.
    pub service_level_threshold: Duration,
    /// Mean wait of answered calls, counting the zero wait of those answered at once; `None`
    /// when unbounded (unstable Erlang C) or when it does not fit a `Duration`.
    pub average_speed_of_answer: Option<Duration>,
    /// Fraction of the agents' time spent handling calls; 1 for an unstable queue.
    pub occupancy: f64,
    /// Probability that an arriving call abandons before it is answered; `None` under Erlang
    /// C, which has no abandonment.
    pub abandonment: Option<f64>,
    /// Mean number of calls waiting in the queue; `None` when unbounded (unstable Erlang C).
    pub expected_queue_length: Option<f64>,
}

/// The result of [`agents_required`]: the staffing found and the figures it gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Staffing {
    /// The smallest number of agents that meets the target.
    pub agents_required: u32,
    /// The target that was met.
    pub target: ServiceLevelTarget,
    /// The queue's figures with [`Staffing::agents_required`] agents.
    pub figures: QueueFigures,
}

/// Why a staffing computation could not give figures.
#[derive(Debug, Clone, PartialEq)]
pub enum ErlangError {
    /// The arrival rate is negative, infinite or not a number.
    InvalidArrivalRate {
        /// The rate that was given.
        arrivals_per_hour: f64,
    },
    /// The average handle time is zero, which makes the offered load meaningless.
    ZeroHandleTime,
    /// The mean patience is zero; such callers never wait, which is Erlang B, not Erlang A.
    ZeroPatience,
    /// The service-level fraction is not strictly between 0 and 1.
    InvalidTarget {
        /// The fraction that was given.
        fraction: f64,
    },
    /// Figures were asked for zero agents.
    NoAgents,
    /// The Erlang A distribution reaches further than [`MAX_DISTRIBUTION_STATES`]; this happens
    /// only with patience that is very long compared with the handle time on an overloaded
    /// queue, where Erlang C with enough agents is the better question.
    DistributionTooWide {
        /// The number of agents being evaluated.
        agents: u32,
    },
    /// No number of agents up to [`MAX_AGENTS`] meets the target.
    TargetUnreachable {
        /// The bound that was searched up to.
        agents_max: u32,
    },
}

impl fmt::Display for ErlangError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErlangError::InvalidArrivalRate { arrivals_per_hour } => write!(
                f,
                "arrival rate must be a finite, non-negative number of calls per hour, got {arrivals_per_hour}"
            ),
            ErlangError::ZeroHandleTime => f.write_str("average handle time must be above zero"),
            ErlangError::ZeroPatience => f.write_str("mean patience must be above zero"),
            ErlangError::InvalidTarget { fraction } => write!(
                f,
                "service-level fraction must be strictly between 0 and 1, got {fraction}"
            ),
            ErlangError::NoAgents => f.write_str("at least one agent is needed"),
            ErlangError::DistributionTooWide { agents } => write!(
                f,
                "with {agents} agents the queue would hold more than {MAX_DISTRIBUTION_STATES} calls; \
                 the patience is too long for an Erlang A evaluation of this load (use Erlang C)"
            ),
            ErlangError::TargetUnreachable { agents_max } => write!(
                f,
                "the service-level target cannot be met with at most {agents_max} agents"
            ),
        }
    }
}

impl std::error::Error for ErlangError {}

/// Erlang C (M/M/n) figures for `agents` agents and the service-level `threshold`.
///
/// The probability of waiting comes from the Erlang B recursion
/// `B(k) = A·B(k-1) / (k + A·B(k-1))`, `B(0) = 1`, which never overflows, and
/// `C = n·B / (n - A·(1 - B))`. Then the service level is `1 - C·exp(-(n - A)·T / AHT)`, the
/// average speed of answer is `C·AHT / (n - A)` and the occupancy `A / n`.
///
/// When `n <= A` the queue has no steady state; the figures are then returned with
/// [`QueueFigures::is_stable`] false rather than as an error, because "this is not enough
/// agents" is an answer, not a failure.
pub fn erlang_c(
    traffic: &Traffic,
    agents: u32,
    threshold: Duration,
) -> Result<QueueFigures, ErlangError> {
    let load = traffic.validated_load()?;
    if agents == 0 {
        return Err(ErlangError::NoAgents);
    }
    let mut blocking = 1.0;
    for servers in 1..=agents {
        blocking = erlang_b_step(load, servers, blocking);
    }
    Ok(erlang_c_from_blocking(
        traffic, load, agents, blocking, threshold,
    ))
}

/// One step of the Erlang B recursion: the blocking probability with `servers` servers from the
/// one with `servers - 1`. Shared by [`erlang_c`] and the search so both give identical bits.
fn erlang_b_step(load: f64, servers: u32, blocking_previous: f64) -> f64 {
    let carried = load * blocking_previous;
    carried / (f64::from(servers) + carried)
}

fn erlang_c_from_blocking(
    traffic: &Traffic,
    load: f64,
    agents: u32,
    blocking: f64,
    threshold: Duration,
) -> QueueFigures {
    let servers = f64::from(agents);
    let handle_seconds = traffic.average_handle_time.as_secs_f64();
    if servers <= load {
        return QueueFigures {
            model: Model::ErlangC,
            agents,
            offered_load_erlangs: load,
            is_stable: false,
            probability_of_waiting: 1.0,
            service_level: 0.0,
            service_level_threshold: threshold,
            average_speed_of_answer: None,
            occupancy: 1.0,
            abandonment: None,
            expected_queue_length: None,
        };
    }
    let spare = servers - load;
    let waiting = (servers * blocking / (servers - load * (1.0 - blocking))).clamp(0.0, 1.0);
    let service_level = 1.0 - waiting * (-spare * threshold.as_secs_f64() / handle_seconds).exp();
    QueueFigures {
        model: Model::ErlangC,
        agents,
        offered_load_erlangs: load,
        is_stable: true,
        probability_of_waiting: waiting,
        service_level: service_level.clamp(0.0, 1.0),
        service_level_threshold: threshold,
        average_speed_of_answer: Duration::try_from_secs_f64(waiting * handle_seconds / spare).ok(),
        occupancy: load / servers,
        abandonment: None,
        expected_queue_length: Some(waiting * load / spare),
    }
}

/// Erlang A (M/M/n+M, Palm's model) figures for `agents` agents, the service-level
/// `threshold` and exponentially distributed patience with mean `patience`.
///
/// # Method
///
/// Time is measured in handle times, so the service rate is `μ = 1`, the arrival rate is the
/// load `A` and the abandonment rate is `θ = AHT / patience`. The number of calls in the system
/// is a birth-death chain with birth rate `A` and death rate `min(k, n) + max(k - n, 0)·θ`; its
/// stationary distribution `π` is summed outwards from its mode (see the module's accuracy
/// notes), so nothing overflows for thousands of agents and erlangs.
///
/// A caller who arrives with `j` callers already waiting (PASTA: with probability `π(n + j)`)
/// moves forward at rate `a_i = n + i·θ` while `i` are ahead and abandons at rate `θ`. So:
///
/// - they are answered with probability `p_j = Π a_i / (a_i + θ) = n / (n + (j + 1)·θ)`
///   (the product telescopes), and the abandonment probability is
///   `Σ_j π(n + j)·(1 - p_j)`;
/// - the sum of their holding times, `Σ_{i≤j} Exp(n + (i + 1)·θ)`, is independent of the
///   route taken, so the mean wait of an answered caller is `p_j·Σ_{i≤j} 1 / (n + (i + 1)·θ)`
///   (the same as the recursion `m_i = a_i / r_i·(p_{i-1} / r_i + m_{i-1})`);
/// - the probability `f_j(T)` of being answered by `T`, the solution of the backward equations
///   `f_i' = a_i·(f_{i-1} - f_i) - θ·f_i`, `f_{-1} = 1`, `f_i(0) = 0`, is `p_j` times the
///   distribution function of that sum of exponentials. Their rates are evenly spaced, so the
///   sum has the law of `-ln(U) / θ` with `U ~ Beta(n/θ + 1, j + 1)`, and
///   `f_j(T) = p_j·P(N > j)` where `N` is negative binomial with `n/θ + 1` successes of
///   probability `x = exp(-θ·T)`. Its probabilities are accumulated in logarithms, one term per
///   `j`, so no step size enters the error. (A unit test checks this against a Runge-Kutta
///   integration of the backward equations.)
///
/// The service level is `Σ_{k<n} π(k) + Σ_j π(n + j)·f_j(T)`, the average speed of answer is
/// `Σ_j π(n + j)·m_j / P(answered)` and the occupancy `A·(1 - P(abandon)) / n`.
pub fn erlang_a(
    traffic: &Traffic,
    agents: u32,
    threshold: Duration,
    patience: Duration,
) -> Result<QueueFigures, ErlangError> {
    let load = traffic.validated_load()?;
    if agents == 0 {
        return Err(ErlangError::NoAgents);
    }
    if patience.is_zero() {
        return Err(ErlangError::ZeroPatience);
    }
    let handle_seconds = traffic.average_handle_time.as_secs_f64();
    let abandon_rate = handle_seconds / patience.as_secs_f64();
    let threshold_in_handle_times = threshold.as_secs_f64() / handle_seconds;
    let chain = BirthDeathChain {
        load,
        agents: u64::from(agents),
        abandon_rate,
    };
    let window = chain
        .window()
        .ok_or(ErlangError::DistributionTooWide { agents })?;
    let sums = chain.sum_over(&window, threshold_in_handle_times);

    let total = sums.total;
    let abandonment = (sums.abandoning / total).clamp(0.0, 1.0);
    let answered = 1.0 - abandonment;
    let answered_wait = sums.answered_wait / total;
    let average_speed_of_answer = if answered > 0.0 {
        Duration::try_from_secs_f64(answered_wait / answered * handle_seconds).ok()
    } else {
        None
    };
    Ok(QueueFigures {
        model: Model::ErlangA { patience },
        agents,
        offered_load_erlangs: load,
        is_stable: true,
        probability_of_waiting: (sums.waiting / total).clamp(0.0, 1.0),
        service_level: ((sums.idle_agent + sums.answered_in_time) / total).clamp(0.0, 1.0),
        service_level_threshold: threshold,
        average_speed_of_answer,
        occupancy: (load * answered / f64::from(agents)).clamp(0.0, 1.0),
        abandonment: Some(abandonment),
        expected_queue_length: Some(sums.queue_length / total),
    })
}

/// Figures for `agents` agents under Erlang C when `patience` is `None`, Erlang A otherwise.
pub fn evaluate(
    traffic: &Traffic,
    agents: u32,
    threshold: Duration,
    patience: Option<Duration>,
) -> Result<QueueFigures, ErlangError> {
    match patience {
        None => erlang_c(traffic, agents, threshold),
        Some(patience) => erlang_a(traffic, agents, threshold, patience),
    }
}

/// The smallest number of agents that meets `target`, under Erlang C when `patience` is
/// `None` and Erlang A with that mean patience otherwise, together with the figures there.
///
/// The answer is at least one agent, even for no traffic. Erlang C is searched upwards one
/// agent at a time, reusing the Erlang B recursion, so the whole search costs no more than one
/// evaluation. Erlang A starts at `fraction·A` agents (below it fewer than `fraction` of the
/// calls can even be answered, since at most `n` of the `A` erlangs are carried) and then
/// gallops and bisects, which relies on the service level rising with the number of agents.
/// A target that needs more than [`MAX_AGENTS`] is reported as
/// [`ErlangError::TargetUnreachable`].
pub fn agents_required(
    traffic: &Traffic,
    target: &ServiceLevelTarget,
    patience: Option<Duration>,
) -> Result<Staffing, ErlangError> {
    let load = traffic.validated_load()?;
    target.validate()?;
    let figures = match patience {
        None => search_erlang_c(traffic, load, target)?,
        Some(patience) => search_erlang_a(traffic, load, target, patience)?,
    };
    Ok(Staffing {
        agents_required: figures.agents,
        target: *target,
        figures,
    })
}

fn search_erlang_c(
    traffic: &Traffic,
    load: f64,
    target: &ServiceLevelTarget,
) -> Result<QueueFigures, ErlangError> {
    let mut blocking = 1.0;
    for agents in 1..=MAX_AGENTS {
        blocking = erlang_b_step(load, agents, blocking);
        // An unstable queue has a service level of zero, below any valid target.
        if f64::from(agents) <= load {
            continue;
        }
        let figures = erlang_c_from_blocking(traffic, load, agents, blocking, target.threshold);
        if figures.service_level >= target.fraction {
            return Ok(figures);
        }
    }
    Err(ErlangError::TargetUnreachable {
        agents_max: MAX_AGENTS,
    })
}

fn search_erlang_a(
    traffic: &Traffic,
    load: f64,
    target: &ServiceLevelTarget,
    patience: Duration,
) -> Result<QueueFigures, ErlangError> {
    let unreachable = ErlangError::TargetUnreachable {
        agents_max: MAX_AGENTS,
    };
    let lower_bound = (target.fraction * load).floor().max(1.0);
    if lower_bound > f64::from(MAX_AGENTS) {
        return Err(unreachable);
    }
    // Truncation is exact here: the value is a whole number within u32 range.
    let mut failing = lower_bound as u32 - 1;
    let mut candidate = lower_bound as u32;
    let mut stride = 1u32;
    let mut met = loop {
        let figures = erlang_a(traffic, candidate, target.threshold, patience)?;
        if figures.service_level >= target.fraction {
            break figures;
        }
        if candidate == MAX_AGENTS {
            return Err(unreachable);
        }
        failing = candidate;
        candidate = candidate.saturating_add(stride).min(MAX_AGENTS);
        stride = stride.saturating_mul(2);
    };
    while met.agents - failing > 1 {
        let middle = failing + (met.agents - failing) / 2;
        let figures = erlang_a(traffic, middle, target.threshold, patience)?;
        if figures.service_level >= target.fraction {
            met = figures;
        } else {
            failing = middle;
        }
    }
    Ok(met)
}

/// The Erlang A birth-death chain in units of the handle time (service rate 1).
struct BirthDeathChain {
    load: f64,
    agents: u64,
    abandon_rate: f64,
}

/// The states `lowest..=highest` that carry all but a negligible part of the stationary mass,
/// with the weight of `lowest` relative to the mode's weight of 1.
struct Window {
    lowest: u64,
    highest: u64,
    lowest_weight: f64,
}

/// Unnormalised sums over the window; dividing by `total` gives the probabilities.
#[derive(Default)]
struct ChainSums {
    total: f64,
    idle_agent: f64,
    waiting: f64,
    abandoning: f64,
    answered_in_time: f64,
    answered_wait: f64,
    queue_length: f64,
}

impl BirthDeathChain {
    /// The total departure rate with `calls` calls in the system.
    fn death_rate(&self, calls: u64) -> f64 {
        if calls <= self.agents {
            calls as f64
        } else {
            self.agents as f64 + (calls - self.agents) as f64 * self.abandon_rate
        }
    }

    /// The most likely state: the first `k` whose successor's death rate reaches the birth
    /// rate, after which the weights only fall. `None` when it lies beyond the state limit.
    fn mode(&self) -> Option<u64> {
        let agents = self.agents as f64;
        let mode = if self.load <= agents {
            (self.load.ceil() - 1.0).max(0.0)
        } else {
            agents + ((self.load - agents) / self.abandon_rate).ceil() - 1.0
        };
        if mode < MAX_DISTRIBUTION_STATES as f64 {
            // Truncation is exact: the value is a whole number below the state limit.
            Some(mode as u64)
        } else {
            None
        }
    }

    /// Finds the window by walking down and up from the mode. Each walk stops once the next
    /// weight, times the geometric series of the (falling) ratios still to come, is below the
    /// tolerance; the ratios fall monotonically away from the mode because the death rate
    /// rises with the state.
    fn window(&self) -> Option<Window> {
        let mode = self.mode()?;
        let mut sum = 1.0;

        let mut lowest = mode;
        let mut lowest_weight = 1.0;
        while lowest > 0 {
            let ratio = self.death_rate(lowest) / self.load;
            let next = lowest_weight * ratio;
            if ratio < 1.0 && next / (1.0 - ratio) < TAIL_TOLERANCE * sum {
                break;
            }
            lowest_weight = next;
            lowest -= 1;
            sum += next;
        }

        let mut highest = mode;
        let mut weight = 1.0;
        loop {
            let ratio = self.load / self.death_rate(highest + 1);
            let next = weight * ratio;
            if ratio < 1.0 && next / (1.0 - ratio) < TAIL_TOLERANCE * sum {
                break;
            }
            if highest + 1 >= MAX_DISTRIBUTION_STATES {
                return None;
            }
            weight = next;
            highest += 1;
            sum += next;
        }
        Some(Window {
            lowest,
            highest,
            lowest_weight,
        })
    }

    /// Walks the window upwards once, accumulating every figure's unnormalised sum; nothing is
    /// stored per state, so memory stays constant however wide the window is.
    fn sum_over(&self, window: &Window, threshold: f64) -> ChainSums {
        let mut sums = ChainSums::default();
        let mut caller = TaggedCaller::new(self.agents as f64, self.abandon_rate, threshold);
        // The caller's recursions start from an empty queue, so bring them up to the window.
        for _ in self.agents..window.lowest {
            caller.advance();
        }
        let mut weight = window.lowest_weight;
        for calls in window.lowest..=window.highest {
            sums.total += weight;
            if calls < self.agents {
                sums.idle_agent += weight;
            } else {
                sums.waiting += weight;
                sums.abandoning += weight * caller.abandon_probability();
                sums.answered_in_time += weight * caller.answered_within_threshold();
                sums.answered_wait += weight * caller.answered_wait_contribution();
                sums.queue_length += weight * caller.ahead as f64;
                caller.advance();
            }
            if calls < window.highest {
                weight *= self.load / self.death_rate(calls + 1);
            }
        }
        sums
    }
}

/// The fate of one arriving caller who finds `ahead` callers already waiting and every agent
/// busy, in units of the handle time. Advanced one caller ahead at a time, because every
/// quantity is a running sum or product over the callers ahead.
struct TaggedCaller {
    agents: f64,
    abandon_rate: f64,
    ahead: u64,
    /// `p_j`: the probability of being answered at all.
    answered: f64,
    /// `Σ_{i≤j} 1 / r_i`: the mean wait on the route that ends in an answer.
    wait_if_answered: f64,
    /// `ln P(N = j)` for the negative binomial `N` that gives `f_j(T) = p_j·P(N > j)`.
    log_count_probability: f64,
    /// `P(N <= j)`.
    count_distribution: f64,
    /// `ln(1 - exp(-θ·T))`, the log of the failure probability of each trial of `N`.
    log_failure: f64,
}

impl TaggedCaller {
    fn new(agents: f64, abandon_rate: f64, threshold: f64) -> Self {
        let leave_rate = agents + abandon_rate;
        // P(N = 0) = x^(n/θ + 1) with x = exp(-θ·T); its log is -(n + θ)·T, written so that a
        // tiny θ does not overflow n/θ.
        let log_count_probability = -leave_rate * threshold;
        TaggedCaller {
            agents,
            abandon_rate,
            ahead: 0,
            answered: agents / leave_rate,
            wait_if_answered: 1.0 / leave_rate,
            log_count_probability,
            count_distribution: log_count_probability.exp(),
            // A zero threshold gives ln(0) = -inf, so every later P(N = j) is exp(-inf) = 0
            // and f_j(0) = 0 as it must be.
            log_failure: (-(-abandon_rate * threshold).exp_m1()).ln(),
        }
    }

    /// `1 - p_j`, computed directly rather than by subtraction so that long patience (p_j
    /// close to 1) keeps its relative precision.
    fn abandon_probability(&self) -> f64 {
        self.ahead_plus_one() * self.abandon_rate / self.leave_rate()
    }

    fn answered_within_threshold(&self) -> f64 {
        self.answered * (1.0 - self.count_distribution).max(0.0)
    }

    /// `m_j = p_j·Σ_{i≤j} 1 / r_i`: the wait, counted only when the caller is answered.
    fn answered_wait_contribution(&self) -> f64 {
        self.answered * self.wait_if_answered
    }

    fn ahead_plus_one(&self) -> f64 {
        self.ahead as f64 + 1.0
    }

    /// `r_j = n + (j + 1)·θ`: the rate at which the caller's position changes, forwards or out.
    fn leave_rate(&self) -> f64 {
        self.agents + self.ahead_plus_one() * self.abandon_rate
    }

    fn advance(&mut self) {
        self.ahead += 1;
        let leave_rate = self.leave_rate();
        self.answered = self.agents / leave_rate;
        self.wait_if_answered += 1.0 / leave_rate;
        // P(N = j) / P(N = j - 1) = (n/θ + j) / j · (1 - x) = (1 + n / (θ·j))·(1 - x).
        self.log_count_probability +=
            (self.agents / (self.abandon_rate * self.ahead as f64)).ln_1p() + self.log_failure;
        self.count_distribution += self.log_count_probability.exp();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(arrivals_per_hour: f64, handle_seconds: u64) -> Traffic {
        Traffic {
            arrivals_per_hour,
            average_handle_time: Duration::from_secs(handle_seconds),
        }
    }

    fn seconds(duration: Option<Duration>) -> f64 {
        duration
            .expect("a finite average speed of answer")
            .as_secs_f64()
    }

    fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{what}: got {actual}, expected {expected} ± {tolerance}"
        );
    }

    #[test]
    fn erlang_c_textbook_case_needs_14_agents() {
        let target = ServiceLevelTarget {
            fraction: 0.80,
            threshold: Duration::from_secs(20),
        };
        let staffing = agents_required(&traffic(200.0, 180), &target, None).unwrap();
        assert_eq!(staffing.agents_required, 14);
        let figures = staffing.figures;
        assert_eq!(figures.model, Model::ErlangC);
        assert_close(figures.offered_load_erlangs, 10.0, 1e-12, "load");
        assert_close(figures.service_level, 0.888, 0.001, "service level");
        assert_close(seconds(figures.average_speed_of_answer), 7.8, 0.05, "ASA");
        assert_close(figures.occupancy, 10.0 / 14.0, 1e-12, "occupancy");
        // The same figures come from evaluating 14 agents directly.
        let direct = erlang_c(&traffic(200.0, 180), 14, target.threshold).unwrap();
        assert_eq!(direct, figures);
        // And 13 agents fall short, so 14 is the smallest.
        let fewer = erlang_c(&traffic(200.0, 180), 13, target.threshold).unwrap();
        assert!(fewer.service_level < 0.80);
    }

    #[test]
    fn erlang_c_matches_the_closed_form_with_factorials() {
        // Direct formula for small n: C = (A^n/n! · n/(n-A)) / (Σ_{k<n} A^k/k! + A^n/n! · n/(n-A)).
        let load = 10.0_f64;
        let agents = 14;
        let mut sum = 0.0;
        let mut term = 1.0;
        for k in 0..agents {
            sum += term;
            term *= load / f64::from(k + 1);
        }
        let last = term * f64::from(agents) / (f64::from(agents) - load);
        let expected = last / (sum + last);
        let figures = erlang_c(&traffic(200.0, 180), agents, Duration::from_secs(20)).unwrap();
        assert_close(figures.probability_of_waiting, expected, 1e-12, "P(wait)");
    }

    #[test]
    fn erlang_c_unstable_load_is_reported_not_panicked() {
        for agents in [1, 5, 10] {
            let figures = erlang_c(&traffic(200.0, 180), agents, Duration::from_secs(20)).unwrap();
            assert!(!figures.is_stable);
            assert_eq!(figures.service_level, 0.0);
            assert_eq!(figures.probability_of_waiting, 1.0);
            assert_eq!(figures.average_speed_of_answer, None);
            assert_eq!(figures.expected_queue_length, None);
            assert_eq!(figures.occupancy, 1.0);
        }
        let stable = erlang_c(&traffic(200.0, 180), 11, Duration::from_secs(20)).unwrap();
        assert!(stable.is_stable);
    }

    #[test]
    fn erlang_c_service_level_rises_and_waits_fall_with_agents() {
        let mut previous: Option<QueueFigures> = None;
        for agents in 11..40 {
            let figures = erlang_c(&traffic(200.0, 180), agents, Duration::from_secs(20)).unwrap();
            if let Some(previous) = previous {
                assert!(figures.service_level > previous.service_level);
                assert!(figures.probability_of_waiting < previous.probability_of_waiting);
                // Non-strict: once waits fall below a nanosecond, `Duration` rounds them equal.
                assert!(figures.average_speed_of_answer <= previous.average_speed_of_answer);
                assert!(figures.occupancy < previous.occupancy);
            }
            previous = Some(figures);
        }
    }

    #[test]
    fn erlang_c_handles_large_loads_without_overflow() {
        // 100 000 calls an hour at 180 s is 5 000 erlangs.
        let target = ServiceLevelTarget {
            fraction: 0.80,
            threshold: Duration::from_secs(20),
        };
        let staffing = agents_required(&traffic(100_000.0, 180), &target, None).unwrap();
        let agents = staffing.agents_required;
        assert!(agents > 5_000 && agents < 5_100, "{agents}");
        assert!(staffing.figures.service_level >= 0.80);
        let fewer = erlang_c(&traffic(100_000.0, 180), agents - 1, target.threshold).unwrap();
        assert!(fewer.service_level < 0.80);
    }

    #[test]
    fn zero_traffic_needs_one_agent_and_never_waits() {
        let target = ServiceLevelTarget {
            fraction: 0.9,
            threshold: Duration::from_secs(10),
        };
        for patience in [None, Some(Duration::from_secs(60))] {
            let staffing = agents_required(&traffic(0.0, 180), &target, patience).unwrap();
            assert_eq!(staffing.agents_required, 1);
            assert_eq!(staffing.figures.probability_of_waiting, 0.0);
            assert_eq!(staffing.figures.service_level, 1.0);
            assert_eq!(staffing.figures.occupancy, 0.0);
        }
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let threshold = Duration::from_secs(20);
        assert!(matches!(
            erlang_c(&traffic(f64::NAN, 180), 3, threshold),
            Err(ErlangError::InvalidArrivalRate { .. })
        ));
        assert!(matches!(
            erlang_c(&traffic(-1.0, 180), 3, threshold),
            Err(ErlangError::InvalidArrivalRate { .. })
        ));
        assert_eq!(
            erlang_c(&traffic(100.0, 0), 3, threshold),
            Err(ErlangError::ZeroHandleTime)
        );
        assert_eq!(
            erlang_c(&traffic(100.0, 180), 0, threshold),
            Err(ErlangError::NoAgents)
        );
        assert_eq!(
            erlang_a(&traffic(100.0, 180), 3, threshold, Duration::ZERO),
            Err(ErlangError::ZeroPatience)
        );
        for fraction in [0.0, 1.0, 1.5, f64::NAN] {
            let target = ServiceLevelTarget {
                fraction,
                threshold,
            };
            assert!(matches!(
                agents_required(&traffic(100.0, 180), &target, None),
                Err(ErlangError::InvalidTarget { .. })
            ));
        }
    }

    #[test]
    fn unreachable_targets_are_errors() {
        // Fifty million erlangs cannot be carried by the agent limit.
        let target = ServiceLevelTarget {
            fraction: 0.8,
            threshold: Duration::from_secs(20),
        };
        for patience in [None, Some(Duration::from_secs(60))] {
            assert_eq!(
                agents_required(&traffic(1e9, 180), &target, patience),
                Err(ErlangError::TargetUnreachable {
                    agents_max: MAX_AGENTS
                })
            );
        }
    }

    #[test]
    fn erlang_a_with_very_long_patience_converges_to_erlang_c() {
        let threshold = Duration::from_secs(20);
        for agents in [11, 14, 20] {
            let c = erlang_c(&traffic(200.0, 180), agents, threshold).unwrap();
            let a = erlang_a(
                &traffic(200.0, 180),
                agents,
                threshold,
                Duration::from_secs(1_000_000_000),
            )
            .unwrap();
            assert_close(a.service_level, c.service_level, 1e-3, "service level");
            assert_close(
                a.probability_of_waiting,
                c.probability_of_waiting,
                1e-3,
                "P(wait)",
            );
            assert_close(
                seconds(a.average_speed_of_answer),
                seconds(c.average_speed_of_answer),
                0.05,
                "ASA",
            );
            assert!(a.abandonment.unwrap() < 1e-3);
        }
    }

    #[test]
    fn erlang_a_with_tiny_patience_loses_every_caller_who_waits() {
        // Callers who will not wait make the queue an Erlang B loss system: the ones who find
        // every agent busy abandon, and they are the Erlang B blocking probability.
        let load = 10.0;
        let threshold = Duration::from_secs(20);
        for agents in [5, 10, 14] {
            let a = erlang_a(
                &traffic(200.0, 180),
                agents,
                threshold,
                Duration::from_millis(1),
            )
            .unwrap();
            let mut blocking = 1.0;
            for servers in 1..=agents {
                blocking = erlang_b_step(load, servers, blocking);
            }
            let abandonment = a.abandonment.unwrap();
            assert_close(
                abandonment,
                a.probability_of_waiting,
                1e-4,
                "abandonment vs P(wait)",
            );
            assert_close(
                a.probability_of_waiting,
                blocking,
                1e-4,
                "P(wait) vs Erlang B",
            );
            assert_close(a.service_level, 1.0 - blocking, 1e-4, "service level");
        }
    }

    #[test]
    fn erlang_a_abandonment_agrees_with_flow_balance() {
        // In steady state callers leave the queue by abandoning at rate θ·E[queue], which must
        // equal λ·P(abandon).
        for (arrivals, agents, patience) in [
            (200.0, 14, 120),
            (200.0, 8, 60),
            (200.0, 10, 600),
            (100_000.0, 4_900, 120),
            (100_000.0, 5_050, 300),
        ] {
            let load = traffic(arrivals, 180).offered_load_erlangs();
            let figures = erlang_a(
                &traffic(arrivals, 180),
                agents,
                Duration::from_secs(20),
                Duration::from_secs(patience),
            )
            .unwrap();
            let abandon_rate = 180.0 / patience as f64;
            let flow = abandon_rate * figures.expected_queue_length.unwrap() / load;
            let abandonment = figures.abandonment.unwrap();
            assert!(
                (abandonment - flow).abs() <= 1e-9 * abandonment.max(1e-300),
                "{arrivals}/h, {agents} agents: {abandonment} vs {flow}"
            );
        }
    }

    #[test]
    fn erlang_a_figures_improve_with_agents() {
        let threshold = Duration::from_secs(20);
        let patience = Duration::from_secs(120);
        let mut previous: Option<QueueFigures> = None;
        for agents in 1..40 {
            let figures = erlang_a(&traffic(200.0, 180), agents, threshold, patience).unwrap();
            if let Some(previous) = previous {
                assert!(figures.service_level > previous.service_level, "{agents}");
                assert!(figures.abandonment < previous.abandonment, "{agents}");
                assert!(
                    figures.probability_of_waiting < previous.probability_of_waiting,
                    "{agents}"
                );
                // Non-strict: once waits fall below a nanosecond, `Duration` rounds them equal.
                assert!(
                    figures.average_speed_of_answer <= previous.average_speed_of_answer,
                    "{agents}"
                );
            }
            previous = Some(figures);
        }
    }

    #[test]
    fn erlang_a_search_finds_the_smallest_staffing() {
        let target = ServiceLevelTarget {
            fraction: 0.80,
            threshold: Duration::from_secs(20),
        };
        for (arrivals, patience) in [(200.0, 120), (200.0, 30), (200.0, 3_600), (100_000.0, 120)] {
            let patience = Duration::from_secs(patience);
            let staffing =
                agents_required(&traffic(arrivals, 180), &target, Some(patience)).unwrap();
            let agents = staffing.agents_required;
            assert!(staffing.figures.service_level >= 0.80);
            assert_eq!(staffing.figures.model, Model::ErlangA { patience });
            let fewer = erlang_a(
                &traffic(arrivals, 180),
                agents - 1,
                target.threshold,
                patience,
            )
            .unwrap();
            assert!(fewer.service_level < 0.80, "{arrivals}/h: {agents} agents");
        }
    }

    #[test]
    fn erlang_a_copes_with_five_thousand_agents_and_erlangs() {
        let figures = erlang_a(
            &traffic(100_000.0, 180),
            5_000,
            Duration::from_secs(20),
            Duration::from_secs(120),
        )
        .unwrap();
        assert!(figures.service_level > 0.0 && figures.service_level < 1.0);
        assert!(figures.abandonment.unwrap() > 0.0);
        assert!(figures.service_level.is_finite() && figures.occupancy <= 1.0);
        // Overloaded by 10% with long patience: a long queue, but still a finite answer.
        let overloaded = erlang_a(
            &traffic(110_000.0, 180),
            5_000,
            Duration::from_secs(20),
            Duration::from_secs(3_600),
        )
        .unwrap();
        assert_close(
            overloaded.abandonment.unwrap(),
            1.0 / 11.0,
            1e-3,
            "abandonment",
        );
    }

    /// The backward equations `f_i' = a_i (f_{i-1} - f_i) - θ f_i`, integrated with RK4 over
    /// `[0, t]` in `steps` steps, for `i` in `0..ahead_max` (in units of the handle time).
    fn answered_by_runge_kutta(
        agents: f64,
        abandon_rate: f64,
        t: f64,
        ahead_max: usize,
        steps: usize,
    ) -> Vec<f64> {
        let derivative = |f: &[f64]| -> Vec<f64> {
            (0..f.len())
                .map(|i| {
                    let forward = agents + i as f64 * abandon_rate;
                    let before = if i == 0 { 1.0 } else { f[i - 1] };
                    forward * (before - f[i]) - abandon_rate * f[i]
                })
                .collect()
        };
        let h = t / steps as f64;
        let mut f = vec![0.0; ahead_max];
        for _ in 0..steps {
            let shifted = |base: &[f64], k: &[f64], by: f64| -> Vec<f64> {
                base.iter().zip(k).map(|(b, k)| b + by * k).collect()
            };
            let k1 = derivative(&f);
            let k2 = derivative(&shifted(&f, &k1, h / 2.0));
            let k3 = derivative(&shifted(&f, &k2, h / 2.0));
            let k4 = derivative(&shifted(&f, &k3, h));
            for i in 0..ahead_max {
                f[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
            }
        }
        f
    }

    #[test]
    fn closed_form_answer_probability_matches_the_backward_equations() {
        for (agents, abandon_rate, t) in [(3.0, 3.0, 0.11), (14.0, 1.5, 0.5), (2.0, 0.01, 2.0)] {
            let integrated = answered_by_runge_kutta(agents, abandon_rate, t, 60, 20_000);
            let mut caller = TaggedCaller::new(agents, abandon_rate, t);
            for (ahead, expected) in integrated.iter().enumerate() {
                assert_close(
                    caller.answered_within_threshold(),
                    *expected,
                    1e-10,
                    &format!("f_{ahead}"),
                );
                caller.advance();
            }
        }
    }

    /// Erlang A the slow, obvious way for a small queue: the distribution by direct products
    /// over a fixed number of states, the recursions for `p_j` and `m_j` exactly as written in
    /// the brief, and the service level from the Runge-Kutta integration.
    fn erlang_a_by_brute_force(
        load: f64,
        agents: usize,
        abandon_rate: f64,
        t: f64,
        states: usize,
    ) -> (f64, f64, f64, f64) {
        let mut weights = vec![1.0];
        for k in 1..states {
            let death = if k <= agents {
                k as f64
            } else {
                agents as f64 + (k - agents) as f64 * abandon_rate
            };
            weights.push(weights[k - 1] * load / death);
        }
        let total: f64 = weights.iter().sum();
        let pi: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let queue = states - agents;
        let answered_by = answered_by_runge_kutta(agents as f64, abandon_rate, t, queue, 20_000);
        let (mut abandon, mut wait, mut in_time) = (0.0, 0.0, 0.0);
        let (mut p_previous, mut m_previous) = (1.0, 0.0);
        for j in 0..queue {
            let forward = agents as f64 + j as f64 * abandon_rate;
            let leave = forward + abandon_rate;
            let p = forward / leave * p_previous;
            let m = forward / leave * (p_previous / leave + m_previous);
            abandon += pi[agents + j] * (1.0 - p);
            wait += pi[agents + j] * m;
            in_time += pi[agents + j] * answered_by[j];
            (p_previous, m_previous) = (p, m);
        }
        let idle: f64 = pi[..agents].iter().sum();
        (idle + in_time, abandon, wait / (1.0 - abandon), 1.0 - idle)
    }

    #[test]
    fn erlang_a_matches_a_brute_force_computation() {
        // (arrivals per hour, agents, patience seconds), handle time 180 s, threshold 30 s.
        for (arrivals, agents, patience) in [(80.0, 4, 90), (200.0, 14, 120), (200.0, 7, 45)] {
            let load = arrivals / 20.0;
            let abandon_rate = 180.0 / patience as f64;
            let (service_level, abandonment, asa, waiting) =
                erlang_a_by_brute_force(load, agents, abandon_rate, 30.0 / 180.0, 400);
            let figures = erlang_a(
                &traffic(arrivals, 180),
                agents as u32,
                Duration::from_secs(30),
                Duration::from_secs(patience),
            )
            .unwrap();
            assert_close(figures.service_level, service_level, 1e-9, "service level");
            assert_close(
                figures.abandonment.unwrap(),
                abandonment,
                1e-9,
                "abandonment",
            );
            assert_close(
                seconds(figures.average_speed_of_answer),
                asa * 180.0,
                1e-6,
                "ASA",
            );
            assert_close(figures.probability_of_waiting, waiting, 1e-9, "P(wait)");
        }
    }

    #[test]
    fn erlang_a_zero_threshold_counts_only_calls_answered_at_once() {
        let figures = erlang_a(
            &traffic(200.0, 180),
            12,
            Duration::ZERO,
            Duration::from_secs(120),
        )
        .unwrap();
        assert_close(
            figures.service_level,
            1.0 - figures.probability_of_waiting,
            1e-12,
            "service level",
        );
    }
}
