//! Pacing of predictive campaigns: how many numbers of a calling list to dial *now* so that
//! agents stay busy while few answered calls find no agent.
//!
//! A predictive dialer places more calls than it has idle agents, because most calls are not
//! answered. When more are answered than there are agents, the customer who answered hears
//! silence; such a call, answered with no agent within [`ABANDON_AFTER_MS`] (2 s), is dropped
//! and counted as **abandoned**. The **abandonment rate** is abandoned calls divided by
//! answered calls (answered by a person, whether an agent took them or not); regulators cap
//! it per campaign over a rolling 24 hours (Ofcom) or 30 days (the FTC's Telemarketing Sales
//! Rule), both at 3 % ([`DEFAULT_ABANDON_CAP`]). [`AbandonWindow`] keeps both rates with
//! bounded memory.
//!
//! The principal trait is [`Pacer`]: the driver reports what happens to calls and agents
//! ([`Pacer::observe`] with a [`PacingEvent`]) and asks, every second or so, how many calls
//! to place ([`Pacer::calls_to_place`] with the [`CampaignState`]). Three pacers:
//!
//! - [`Progressive`]: one call per idle agent not already covered by a ringing call; never
//!   abandons, and keeps agents waiting through every unanswered ring.
//! - [`VicidialAdaptive`]: a dial level (lines per active agent) raised while agents wait and
//!   lowered when customers wait or the drop rate nears the cap, in the style of VICIdial's
//!   adaptive modes. The baseline.
//! - [`ModelBased`] (the default, [`default_pacer`]): learns the answer rate, the ring-time
//!   distributions, talk and wrap-up times, predicts for every horizon of the next half
//!   minute how many calls will be answered and how many agents will be free, and places a
//!   call only while the predicted probability that *that* call, if answered, finds no agent
//!   stays under a threshold, which feedback from the measured abandonment moves.
//!
//! Like the rest of the crate this is sans-IO: every instant comes in as `now_ms`
//! (milliseconds, any fixed origin), nothing reads a clock and nothing is random. A pacer
//! decides counts, not numbers: which number of the list to dial next is the driver's
//! business (and the [`Dialer`](crate::Dialer)'s for callbacks).
//!
//! # Example
//!
//! ```
//! use hotline_dialer::pacing::{CampaignState, Pacer, PacingEvent, Progressive};
//!
//! let mut pacer = Progressive;
//! // Three agents idle, one call already ringing: two more calls.
//! let state = CampaignState {
//!     agents_idle: 3,
//!     ringing_since_ms: &[0],
//!     ..CampaignState::default()
//! };
//! assert_eq!(pacer.calls_to_place(1_000, &state), 2);
//! pacer.observe(1_000, PacingEvent::Placed);
//! ```

use crate::{DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};

/// An answered call with no agent within this long is dropped and counted as abandoned.
pub const ABANDON_AFTER_MS: u64 = 2 * SECOND_MS;

/// The abandonment cap when none is configured: 3 % of answered calls, per campaign, over
/// each of the rolling windows.
pub const DEFAULT_ABANDON_CAP: f64 = 0.03;

/// The largest abandonment cap a configuration may set (a cap above this is not a cap).
pub const ABANDON_CAP_MAX: f64 = 0.5;

/// The most calls one [`Pacer::calls_to_place`] answers.
pub const CALLS_PER_DECISION_MAX: u32 = 1_000;

/// The short rolling window of [`AbandonWindow`]: 24 hours.
pub const ABANDON_WINDOW_SHORT_MS: u64 = DAY_MS;

/// The width of a bucket of the short window: a minute (so the window rolls minute by
/// minute).
pub const ABANDON_BUCKET_SHORT_MS: u64 = MINUTE_MS;

/// The long rolling window of [`AbandonWindow`]: 30 days.
pub const ABANDON_WINDOW_LONG_MS: u64 = 30 * DAY_MS;

/// The width of a bucket of the long window: an hour.
pub const ABANDON_BUCKET_LONG_MS: u64 = HOUR_MS;

/// Buckets of the short window (1,440).
const SHORT_BUCKETS: usize = (ABANDON_WINDOW_SHORT_MS / ABANDON_BUCKET_SHORT_MS) as usize;

/// Buckets of the long window (720).
const LONG_BUCKETS: usize = (ABANDON_WINDOW_LONG_MS / ABANDON_BUCKET_LONG_MS) as usize;

/// What the driver reports to a [`Pacer`] as it happens. Durations are in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacingEvent {
    /// A call was placed (it rings from now).
    Placed,
    /// A person answered after ringing this long. Counts as answered in the abandonment
    /// rate; an agent must take it within [`ABANDON_AFTER_MS`].
    Answered {
        /// From placing the call to the answer.
        ring_ms: u64,
    },
    /// The call ended without a person answering: no answer until the ring timeout, busy,
    /// rejected, a network failure.
    NotAnswered {
        /// From placing the call to its end.
        ring_ms: u64,
    },
    /// An answered call was bridged to an agent after waiting this long (at most
    /// [`ABANDON_AFTER_MS`]).
    Connected {
        /// From the answer to the agent.
        wait_ms: u64,
    },
    /// An answered call found no agent within [`ABANDON_AFTER_MS`] and was dropped.
    Abandoned,
    /// An agent's conversation ended after this long; the agent is in wrap-up now.
    TalkEnded {
        /// From the connection to the hang-up.
        talk_ms: u64,
    },
    /// An agent finished wrap-up after this long and is idle again.
    WrapEnded {
        /// From the hang-up to ready.
        wrap_ms: u64,
    },
}

/// The campaign as it is at the instant of a decision, as the driver knows it: every agent
/// logged in to the campaign and not paused is idle, talking or in wrap-up; every call placed
/// and not ended is ringing, waiting for an agent (answered, within [`ABANDON_AFTER_MS`]) or
/// talking. The slices hold the instants (in the same `now_ms` time) at which each one
/// entered its state; their lengths are the counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CampaignState<'a> {
    /// Agents ready with no call.
    pub agents_idle: u32,
    /// For each agent talking: when the call was connected.
    pub talking_since_ms: &'a [u64],
    /// For each agent in wrap-up: when the conversation ended.
    pub wrapping_since_ms: &'a [u64],
    /// For each call ringing: when it was placed.
    pub ringing_since_ms: &'a [u64],
    /// For each answered call waiting for an agent: when it was answered.
    pub waiting_since_ms: &'a [u64],
}

impl CampaignState<'_> {
    /// Agents talking.
    pub fn agents_talking(&self) -> u32 {
        count(self.talking_since_ms)
    }

    /// Agents in wrap-up.
    pub fn agents_wrapping(&self) -> u32 {
        count(self.wrapping_since_ms)
    }

    /// Agents logged in and not paused: idle, talking or in wrap-up.
    pub fn agents_staffed(&self) -> u32 {
        self.agents_idle
            .saturating_add(self.agents_talking())
            .saturating_add(self.agents_wrapping())
    }

    /// Calls ringing.
    pub fn calls_ringing(&self) -> u32 {
        count(self.ringing_since_ms)
    }

    /// Answered calls waiting for an agent.
    pub fn calls_waiting(&self) -> u32 {
        count(self.waiting_since_ms)
    }
}

fn count(slice: &[u64]) -> u32 {
    u32::try_from(slice.len()).unwrap_or(u32::MAX)
}

/// A pacing controller. Sans-IO: the driver calls [`observe`](Pacer::observe) for every
/// [`PacingEvent`] in the order they happen and [`calls_to_place`](Pacer::calls_to_place)
/// whenever it may dial (every second is usual), places that many calls at once and reports
/// each as [`PacingEvent::Placed`]. `now_ms` never goes back; an instant earlier than one
/// already seen is taken as that one.
pub trait Pacer {
    /// A short name for reports.
    fn name(&self) -> &'static str;

    /// Learns from what happened at `now_ms`.
    fn observe(&mut self, now_ms: u64, event: PacingEvent);

    /// How many calls to place now, at most [`CALLS_PER_DECISION_MAX`].
    fn calls_to_place(&mut self, now_ms: u64, state: &CampaignState<'_>) -> u32;

    /// Counts answered and abandoned calls of the past (a restart restores the rolling
    /// windows from stored counts, oldest first, before any [`Pacer::observe`]) without
    /// learning anything else from them. Pacers that keep no window ignore it.
    fn restore_abandons(&mut self, at_ms: u64, counts: AbandonCounts) {
        let _ = (at_ms, counts);
    }
}

/// The pacer to use when none is chosen: [`ModelBased`] with its defaults and this cap.
pub fn default_pacer(abandon_cap: f64) -> ModelBased {
    ModelBased::new(ModelConfig {
        abandon_cap,
        ..ModelConfig::default()
    })
}

/// Answered and abandoned calls over some span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AbandonCounts {
    /// Calls answered by a person.
    pub answered: u64,
    /// Of those, calls dropped for want of an agent within [`ABANDON_AFTER_MS`].
    pub abandoned: u64,
}

impl AbandonCounts {
    /// Abandoned divided by answered; `None` before anything was answered.
    pub fn rate(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.abandoned as f64 / self.answered as f64)
    }

    fn add(&mut self, other: AbandonCounts) {
        self.answered += other.answered;
        self.abandoned += other.abandoned;
    }

    fn subtract(&mut self, other: AbandonCounts) {
        self.answered = self.answered.saturating_sub(other.answered);
        self.abandoned = self.abandoned.saturating_sub(other.abandoned);
    }
}

/// A campaign's answered and abandoned calls over the rolling 24 hours (minute buckets) and
/// 30 days (hour buckets): 2,160 buckets in all, whatever the volume. A call counts at the
/// instant it is reported (an abandoned call in the bucket of its drop, its answer in that
/// of the answer), so a window ends on the bucket of `now_ms` and starts a whole number of
/// buckets earlier: the 24-hour rate at 10:00:30 covers 10:01 yesterday to now.
#[derive(Clone, Debug)]
pub struct AbandonWindow {
    short: BucketRing,
    long: BucketRing,
}

impl Default for AbandonWindow {
    fn default() -> AbandonWindow {
        AbandonWindow::new()
    }
}

impl AbandonWindow {
    /// An empty window.
    pub fn new() -> AbandonWindow {
        AbandonWindow {
            short: BucketRing::new(ABANDON_BUCKET_SHORT_MS, SHORT_BUCKETS),
            long: BucketRing::new(ABANDON_BUCKET_LONG_MS, LONG_BUCKETS),
        }
    }

    /// Counts a call answered by a person at `now_ms`.
    pub fn record_answered(&mut self, now_ms: u64) {
        let one = AbandonCounts {
            answered: 1,
            abandoned: 0,
        };
        self.short.record(now_ms, one);
        self.long.record(now_ms, one);
    }

    /// Counts an answered call dropped at `now_ms` for want of an agent.
    pub fn record_abandoned(&mut self, now_ms: u64) {
        let one = AbandonCounts {
            answered: 0,
            abandoned: 1,
        };
        self.short.record(now_ms, one);
        self.long.record(now_ms, one);
    }

    /// Counts calls answered and abandoned at `at_ms` in bulk: a driver restoring the
    /// window after a restart from the counts it stored per minute. Like the other records,
    /// instants before the newest one recorded fall in the newest bucket.
    pub fn record_counts(&mut self, at_ms: u64, counts: AbandonCounts) {
        self.short.record(at_ms, counts);
        self.long.record(at_ms, counts);
    }

    /// The counts of the 24 hours up to `now_ms`.
    pub fn counts_24h(&self, now_ms: u64) -> AbandonCounts {
        self.short.total_at(now_ms)
    }

    /// The counts of the 30 days up to `now_ms`.
    pub fn counts_30d(&self, now_ms: u64) -> AbandonCounts {
        self.long.total_at(now_ms)
    }

    /// The counts of the last `span_ms` up to `now_ms`, in whole minutes (rounded up, at
    /// most 24 hours).
    pub fn counts_recent(&self, now_ms: u64, span_ms: u64) -> AbandonCounts {
        self.short.recent(now_ms, span_ms)
    }

    /// The abandonment rate of the 24 hours up to `now_ms`.
    pub fn rate_24h(&self, now_ms: u64) -> Option<f64> {
        self.counts_24h(now_ms).rate()
    }

    /// The abandonment rate of the 30 days up to `now_ms`.
    pub fn rate_30d(&self, now_ms: u64) -> Option<f64> {
        self.counts_30d(now_ms).rate()
    }

    /// The higher of the two windows' rates: the one a cap must be checked against.
    pub fn rate_worst(&self, now_ms: u64) -> Option<f64> {
        match (self.rate_24h(now_ms), self.rate_30d(now_ms)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// The window (24 h or 30 d) whose rate is the higher, with its counts.
    fn worst_counts(&self, now_ms: u64) -> AbandonCounts {
        let (short, long) = (self.counts_24h(now_ms), self.counts_30d(now_ms));
        if short.rate().unwrap_or(0.0) >= long.rate().unwrap_or(0.0) {
            short
        } else {
            long
        }
    }
}

/// Fixed-width buckets in a ring, with a running total over the ring.
#[derive(Clone, Debug)]
struct BucketRing {
    width_ms: u64,
    buckets: Vec<AbandonCounts>,
    /// The number (instant / width) of the newest bucket written, if any.
    newest: Option<u64>,
    /// The sum of the buckets in the ring (those from `newest - len + 1` to `newest`).
    total: AbandonCounts,
}

impl BucketRing {
    fn new(width_ms: u64, len: usize) -> BucketRing {
        BucketRing {
            width_ms,
            buckets: vec![AbandonCounts::default(); len],
            newest: None,
            total: AbandonCounts::default(),
        }
    }

    fn len(&self) -> u64 {
        self.buckets.len() as u64
    }

    fn slot(&self, number: u64) -> usize {
        (number % self.len()) as usize
    }

    /// Moves the ring on to the bucket of `now_ms`, emptying those that fall out of it.
    fn advance(&mut self, now_ms: u64) -> u64 {
        let number = now_ms / self.width_ms;
        match self.newest {
            Some(newest) if number <= newest => newest,
            Some(newest) => {
                let steps = (number - newest).min(self.len());
                for k in 1..=steps {
                    let slot = self.slot(newest + k);
                    let old = std::mem::take(&mut self.buckets[slot]);
                    self.total.subtract(old);
                }
                self.newest = Some(number);
                number
            }
            None => {
                self.newest = Some(number);
                number
            }
        }
    }

    fn record(&mut self, now_ms: u64, counts: AbandonCounts) {
        let number = self.advance(now_ms);
        let slot = self.slot(number);
        self.buckets[slot].add(counts);
        self.total.add(counts);
    }

    /// The total as it will be once the ring is moved on to `now_ms`, without moving it.
    fn total_at(&self, now_ms: u64) -> AbandonCounts {
        let Some(newest) = self.newest else {
            return AbandonCounts::default();
        };
        let number = now_ms / self.width_ms;
        let mut total = self.total;
        if number > newest {
            // Buckets numbered up to `number - len` have left the window; those in the ring
            // are numbered from `newest - len + 1`.
            let first = (newest + 1).saturating_sub(self.len());
            let last = (number - self.len().min(number)).min(newest);
            if number >= self.len() && last >= first {
                for n in first..=last {
                    total.subtract(self.buckets[self.slot(n)]);
                }
            }
        }
        total
    }

    /// The sum of the last `span_ms` of buckets up to the bucket of `now_ms`.
    fn recent(&self, now_ms: u64, span_ms: u64) -> AbandonCounts {
        let Some(newest) = self.newest else {
            return AbandonCounts::default();
        };
        let number = now_ms / self.width_ms;
        let buckets = span_ms.div_ceil(self.width_ms).clamp(1, self.len());
        let first = (number + 1).saturating_sub(buckets);
        let oldest_kept = (newest + 1).saturating_sub(self.len());
        let mut total = AbandonCounts::default();
        for n in first.max(oldest_kept)..=number.min(newest) {
            total.add(self.buckets[self.slot(n)]);
        }
        total
    }
}

// ---------------------------------------------------------------------------------------
// Progressive

/// One call per idle agent: places `idle − ringing − waiting` calls, so that every call that
/// could be answered has an agent kept for it. It never abandons a call (unless agents leave
/// while their calls ring), and agents wait through every unanswered ring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progressive;

impl Pacer for Progressive {
    fn name(&self) -> &'static str {
        "progressive"
    }

    fn observe(&mut self, _now_ms: u64, _event: PacingEvent) {}

    fn calls_to_place(&mut self, _now_ms: u64, state: &CampaignState<'_>) -> u32 {
        progressive_calls(state)
    }
}

fn progressive_calls(state: &CampaignState<'_>) -> u32 {
    state
        .agents_idle
        .saturating_sub(state.calls_ringing())
        .saturating_sub(state.calls_waiting())
        .min(CALLS_PER_DECISION_MAX)
}

// ---------------------------------------------------------------------------------------
// VICIdial-style adaptive

/// How often [`VicidialAdaptive`] moves its dial level when none is configured: 15 s.
pub const DEFAULT_VICIDIAL_ADJUST_EVERY_MS: u64 = 15 * SECOND_MS;

/// The shortest adjustment period.
pub const VICIDIAL_ADJUST_EVERY_MIN_MS: u64 = SECOND_MS;

/// The lowest dial level: one line per active agent.
pub const DIAL_LEVEL_MIN: f64 = 1.0;

/// The highest dial level a configuration may set.
pub const DIAL_LEVEL_MAX: f64 = 10.0;

/// The dial level's upper bound when none is configured.
pub const DEFAULT_DIAL_LEVEL_MAX: f64 = 4.0;

/// The dial level at the start when none is configured.
pub const DEFAULT_DIAL_LEVEL_START: f64 = 1.0;

/// The largest change of the dial level in one adjustment for the balance of waiting agents
/// and waiting calls, when none is configured.
pub const DEFAULT_DIAL_LEVEL_STEP_MAX: f64 = 0.1;

/// The dial level's fall in one adjustment while the drop rate is at or over the cap, when
/// none is configured.
pub const DEFAULT_DIAL_LEVEL_STEP_OVER_CAP: f64 = 0.25;

/// The step for the balance is this times the balance as a share of active agents (with 50
/// agents, 5 waiting on average raise the level by 0.1 in one adjustment, the default
/// maximum).
pub const DEFAULT_VICIDIAL_INTENSITY: f64 = 1.0;

/// The share of the cap from which the drop rate tapers the rises and starts pulling the
/// level down, when none is configured.
pub const DEFAULT_TAPER_FROM: f64 = 0.5;

/// Answered calls in the window before [`VicidialAdaptive`] takes its drop rate into
/// account (a rate over a handful of calls is noise).
pub const VICIDIAL_MIN_ANSWERED_FOR_DROP_RATE: u64 = 50;

/// The settings of [`VicidialAdaptive`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VicidialConfig {
    /// The abandonment cap (a share of answered calls), checked against both rolling windows.
    pub abandon_cap: f64,
    /// The dial level at the start.
    pub dial_level_start: f64,
    /// The dial level's upper bound (its lower bound is [`DIAL_LEVEL_MIN`]).
    pub dial_level_max: f64,
    /// How often the dial level moves.
    pub adjust_every_ms: u64,
    /// The largest move for the balance of waiting agents and waiting calls.
    pub step_max: f64,
    /// The move while the drop rate is at or over the cap.
    pub step_over_cap: f64,
    /// The move for the balance per unit of (balance ÷ active agents).
    pub intensity: f64,
    /// From this share of the cap the drop rate tapers rises and pulls the level down.
    pub taper_from: f64,
}

impl Default for VicidialConfig {
    fn default() -> VicidialConfig {
        VicidialConfig {
            abandon_cap: DEFAULT_ABANDON_CAP,
            dial_level_start: DEFAULT_DIAL_LEVEL_START,
            dial_level_max: DEFAULT_DIAL_LEVEL_MAX,
            adjust_every_ms: DEFAULT_VICIDIAL_ADJUST_EVERY_MS,
            step_max: DEFAULT_DIAL_LEVEL_STEP_MAX,
            step_over_cap: DEFAULT_DIAL_LEVEL_STEP_OVER_CAP,
            intensity: DEFAULT_VICIDIAL_INTENSITY,
            taper_from: DEFAULT_TAPER_FROM,
        }
    }
}

impl VicidialConfig {
    /// The settings brought within their bounds: the cap to `(0, ABANDON_CAP_MAX]`, levels to
    /// `[DIAL_LEVEL_MIN, DIAL_LEVEL_MAX]`, steps to `[0, DIAL_LEVEL_MAX]`, the period to at
    /// least [`VICIDIAL_ADJUST_EVERY_MIN_MS`], the taper to `[0, 0.99]`. Not-a-number takes
    /// the default.
    pub fn clamped(self) -> VicidialConfig {
        let d = VicidialConfig::default();
        let max = clamp_or(
            self.dial_level_max,
            DIAL_LEVEL_MIN,
            DIAL_LEVEL_MAX,
            d.dial_level_max,
        );
        VicidialConfig {
            abandon_cap: clamp_cap(self.abandon_cap),
            dial_level_start: clamp_or(self.dial_level_start, DIAL_LEVEL_MIN, max, DIAL_LEVEL_MIN),
            dial_level_max: max,
            adjust_every_ms: self.adjust_every_ms.max(VICIDIAL_ADJUST_EVERY_MIN_MS),
            step_max: clamp_or(self.step_max, 0.0, DIAL_LEVEL_MAX, d.step_max),
            step_over_cap: clamp_or(self.step_over_cap, 0.0, DIAL_LEVEL_MAX, d.step_over_cap),
            intensity: clamp_or(self.intensity, 0.0, 100.0, d.intensity),
            taper_from: clamp_or(self.taper_from, 0.0, 0.99, d.taper_from),
        }
    }
}

fn clamp_or(value: f64, low: f64, high: f64, default: f64) -> f64 {
    if value.is_nan() {
        default
    } else {
        value.clamp(low, high)
    }
}

fn clamp_cap(cap: f64) -> f64 {
    if cap.is_nan() || cap <= 0.0 {
        DEFAULT_ABANDON_CAP
    } else {
        cap.min(ABANDON_CAP_MAX)
    }
}

/// The baseline: an adaptive dial level in the style of VICIdial's adaptive modes
/// (`ADAPT_TAPERED`, `ADAPT_HARD_LIMIT`), written from the public description of how they
/// behave, not ported from VICIdial's code. The rule, exactly:
///
/// - **Lines.** Active agents are those idle or talking (an agent in wrap-up is in the
///   disposition screen, paused, as in VICIdial). The pacer keeps `floor(level × active)`
///   calls in progress (ringing, waiting for an agent, or talking), so it places
///   `floor(level × (idle + talking)) − (ringing + waiting + talking)` calls, none if that is
///   negative. At level 1 this is [`Progressive`].
/// - **Balance.** At every decision it samples `idle − waiting` (agents waiting for calls
///   minus calls waiting for agents; VICIdial's "differential", with a target of 0).
/// - **Adjustment.** Every `adjust_every_ms` (15 s) it takes the mean balance `b` of the
///   samples since the last adjustment and the drop rate `r` of the worse rolling window
///   (24 h or 30 d; taken as 0 until [`VICIDIAL_MIN_ANSWERED_FOR_DROP_RATE`] calls are
///   answered in it), with `x = r ÷ cap` and `s(b) = min(step_max, intensity × |b| ÷
///   active)`:
///   - if `x ≥ 1`: the level falls by `step_over_cap` (0.25), whatever the balance;
///   - else, with `taper = clamp((1 − x) ÷ (1 − taper_from), 0, 1)` (1 below half the cap,
///     0 at the cap): if `b > 0` the level rises by `s(b) × taper`; if `b < 0` it falls by
///     `s(b)`; and if `x > taper_from` it falls by a further `step_max × (x − taper_from) ÷
///     (1 − taper_from)`: the nearer the cap, the harder the pull down;
///   - the level stays within `[1, dial_level_max]` (1 to 4 by default).
#[derive(Clone, Debug)]
pub struct VicidialAdaptive {
    config: VicidialConfig,
    level: f64,
    window: AbandonWindow,
    balance_sum: f64,
    balance_samples: u64,
    next_adjust_ms: Option<u64>,
    latest_ms: u64,
}

impl VicidialAdaptive {
    /// A pacer with these settings (brought within bounds, see [`VicidialConfig::clamped`]).
    pub fn new(config: VicidialConfig) -> VicidialAdaptive {
        let config = config.clamped();
        VicidialAdaptive {
            level: config.dial_level_start,
            config,
            window: AbandonWindow::new(),
            balance_sum: 0.0,
            balance_samples: 0,
            next_adjust_ms: None,
            latest_ms: 0,
        }
    }

    /// The dial level now.
    pub fn dial_level(&self) -> f64 {
        self.level
    }

    /// The answered and abandoned calls it has counted.
    pub fn abandon_window(&self) -> &AbandonWindow {
        &self.window
    }

    fn adjust(&mut self, now_ms: u64, active: u32) {
        let c = self.config;
        let balance = if self.balance_samples > 0 {
            self.balance_sum / self.balance_samples as f64
        } else {
            0.0
        };
        self.balance_sum = 0.0;
        self.balance_samples = 0;
        let counts = self.window.worst_counts(now_ms);
        let x = if counts.answered >= VICIDIAL_MIN_ANSWERED_FOR_DROP_RATE {
            counts.rate().unwrap_or(0.0) / c.abandon_cap
        } else {
            0.0
        };
        let step = (c.intensity * balance.abs() / f64::from(active.max(1))).min(c.step_max);
        let mut level = self.level;
        if x >= 1.0 {
            level -= c.step_over_cap;
        } else {
            let taper = ((1.0 - x) / (1.0 - c.taper_from)).clamp(0.0, 1.0);
            if balance > 0.0 {
                level += step * taper;
            } else if balance < 0.0 {
                level -= step;
            }
            if x > c.taper_from {
                level -= c.step_max * (x - c.taper_from) / (1.0 - c.taper_from);
            }
        }
        self.level = level.clamp(DIAL_LEVEL_MIN, c.dial_level_max);
    }
}

impl Default for VicidialAdaptive {
    fn default() -> VicidialAdaptive {
        VicidialAdaptive::new(VicidialConfig::default())
    }
}

impl Pacer for VicidialAdaptive {
    fn name(&self) -> &'static str {
        "vicidial-adaptive"
    }

    fn restore_abandons(&mut self, at_ms: u64, counts: AbandonCounts) {
        self.window.record_counts(at_ms, counts);
    }

    fn observe(&mut self, now_ms: u64, event: PacingEvent) {
        let now_ms = now_ms.max(self.latest_ms);
        self.latest_ms = now_ms;
        match event {
            PacingEvent::Answered { .. } => self.window.record_answered(now_ms),
            PacingEvent::Abandoned => self.window.record_abandoned(now_ms),
            _ => {}
        }
    }

    fn calls_to_place(&mut self, now_ms: u64, state: &CampaignState<'_>) -> u32 {
        let now_ms = now_ms.max(self.latest_ms);
        self.latest_ms = now_ms;
        let active = state.agents_idle.saturating_add(state.agents_talking());
        self.balance_sum += f64::from(state.agents_idle) - f64::from(state.calls_waiting());
        self.balance_samples += 1;
        let next = *self
            .next_adjust_ms
            .get_or_insert(now_ms + self.config.adjust_every_ms);
        if now_ms >= next {
            self.adjust(now_ms, active);
            self.next_adjust_ms = Some(now_ms + self.config.adjust_every_ms);
        }
        let lines = (self.level * f64::from(active) + 1e-9).floor() as u64;
        let in_progress = u64::from(state.calls_ringing())
            + u64::from(state.calls_waiting())
            + u64::from(state.agents_talking());
        lines
            .saturating_sub(in_progress)
            .min(u64::from(CALLS_PER_DECISION_MAX)) as u32
    }
}

// ---------------------------------------------------------------------------------------
// Model-based

/// The share of the cap [`ModelBased`] aims at when none is configured: half (1.5 % under a
/// 3 % cap). In simulation the occupancy it buys changes little from a quarter of the cap
/// to four fifths (a few tenths of a point on 50 agents), so the default keeps the wider
/// margin for lists that behave worse than their history.
pub const DEFAULT_TARGET_FRACTION: f64 = 0.5;

/// The most calls ringing per staffed agent when none is configured (a bound on lines, and
/// on the damage of a wrong estimate).
pub const DEFAULT_LINES_PER_AGENT_MAX: f64 = 3.0;

/// The largest `lines_per_agent_max` a configuration may set.
pub const LINES_PER_AGENT_MAX: f64 = 20.0;

/// The answer rate assumed before anything is learned.
pub const DEFAULT_PRIOR_ANSWER_RATE: f64 = 0.25;

/// The ring time of answered calls assumed before anything is learned: 10 s.
pub const DEFAULT_PRIOR_RING_ANSWERED_MS: u64 = 10 * SECOND_MS;

/// The ring time of unanswered calls assumed before anything is learned: 30 s.
pub const DEFAULT_PRIOR_RING_UNANSWERED_MS: u64 = 30 * SECOND_MS;

/// The talk time assumed before anything is learned: 2 minutes.
pub const DEFAULT_PRIOR_TALK_MS: u64 = 2 * MINUTE_MS;

/// The wrap-up time assumed before anything is learned: 15 s.
pub const DEFAULT_PRIOR_WRAP_MS: u64 = 15 * SECOND_MS;

/// The weight of the priors, in calls: the first this many observations outweigh them.
pub const PRIOR_WEIGHT: f64 = 20.0;

/// Each learned distribution weighs at most this many observations; beyond, old ones are
/// halved, so the estimates follow a list or a time of day that changes.
pub const MODEL_MEMORY_CALLS: f64 = 2_000.0;

/// The width of a bucket of the ring-time distributions: 1 s.
pub const RING_BUCKET_MS: u64 = SECOND_MS;

/// Buckets of the ring-time distributions (longer rings count in the last): 2 minutes.
pub const RING_BUCKETS: usize = 120;

/// The width of a bucket of the talk-time distribution: 5 s.
pub const TALK_BUCKET_MS: u64 = 5 * SECOND_MS;

/// Buckets of the talk-time distribution (longer talks count in the last): 2 hours.
pub const TALK_BUCKETS: usize = 1_440;

/// The width of a bucket of the wrap-up distribution: 1 s.
pub const WRAP_BUCKET_MS: u64 = SECOND_MS;

/// Buckets of the wrap-up distribution (longer wrap-ups count in the last): 10 minutes.
pub const WRAP_BUCKETS: usize = 600;

/// The step between the horizons at which [`ModelBased`] compares answers and free agents.
pub const HORIZON_STEP_MS: u64 = SECOND_MS;

/// The most horizons (so the furthest is 60 s ahead); fewer when the answered calls' ring
/// time ends sooner.
pub const HORIZONS_MAX: usize = 60;

/// How often the feedback moves the threshold: every minute.
pub const FEEDBACK_EVERY_MS: u64 = MINUTE_MS;

/// The span of recent calls the feedback measures: the last hour.
pub const FEEDBACK_SPAN_MS: u64 = HOUR_MS;

/// Answered calls at the target rate the feedback adds to what it measures, so that the
/// first minutes' handful of calls do not swing the threshold.
pub const FEEDBACK_PRIOR_ANSWERED: f64 = 200.0;

/// How far one feedback step moves the threshold: it is multiplied by
/// `exp(gain × (target − measured) ÷ target)`, clamped to a factor of 2 either way.
pub const FEEDBACK_GAIN: f64 = 0.15;

/// The threshold's bounds.
pub const THRESHOLD_MIN: f64 = 0.001;
/// The threshold's upper bound.
pub const THRESHOLD_MAX: f64 = 0.5;

/// Answered calls in a rolling window before its rate can trip the guard (see
/// [`ModelBased`]).
pub const GUARD_MIN_ANSWERED: u64 = 100;

/// What [`ModelBased`] assumes before it has learned.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelPriors {
    /// The share of calls answered by a person.
    pub answer_rate: f64,
    /// The mean ring time of answered calls.
    pub ring_answered_ms: u64,
    /// The mean ring time of calls that end unanswered.
    pub ring_unanswered_ms: u64,
    /// The mean talk time.
    pub talk_ms: u64,
    /// The mean wrap-up time.
    pub wrap_ms: u64,
}

impl Default for ModelPriors {
    fn default() -> ModelPriors {
        ModelPriors {
            answer_rate: DEFAULT_PRIOR_ANSWER_RATE,
            ring_answered_ms: DEFAULT_PRIOR_RING_ANSWERED_MS,
            ring_unanswered_ms: DEFAULT_PRIOR_RING_UNANSWERED_MS,
            talk_ms: DEFAULT_PRIOR_TALK_MS,
            wrap_ms: DEFAULT_PRIOR_WRAP_MS,
        }
    }
}

/// The settings of [`ModelBased`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelConfig {
    /// The abandonment cap (a share of answered calls), checked against both rolling windows.
    pub abandon_cap: f64,
    /// The share of the cap the feedback aims at.
    pub target_fraction: f64,
    /// The most calls ringing per staffed agent.
    pub lines_per_agent_max: f64,
    /// What is assumed before anything is learned.
    pub priors: ModelPriors,
}

impl Default for ModelConfig {
    fn default() -> ModelConfig {
        ModelConfig {
            abandon_cap: DEFAULT_ABANDON_CAP,
            target_fraction: DEFAULT_TARGET_FRACTION,
            lines_per_agent_max: DEFAULT_LINES_PER_AGENT_MAX,
            priors: ModelPriors::default(),
        }
    }
}

impl ModelConfig {
    /// The settings brought within their bounds: the cap to `(0, ABANDON_CAP_MAX]`, the
    /// target fraction to `[0.05, 1]`, lines to `[1, LINES_PER_AGENT_MAX]`, the prior answer
    /// rate to `[0.01, 1]`, prior times to at least a millisecond. Not-a-number takes the
    /// default.
    pub fn clamped(self) -> ModelConfig {
        let d = ModelConfig::default();
        ModelConfig {
            abandon_cap: clamp_cap(self.abandon_cap),
            target_fraction: clamp_or(self.target_fraction, 0.05, 1.0, d.target_fraction),
            lines_per_agent_max: clamp_or(
                self.lines_per_agent_max,
                1.0,
                LINES_PER_AGENT_MAX,
                d.lines_per_agent_max,
            ),
            priors: ModelPriors {
                answer_rate: clamp_or(self.priors.answer_rate, 0.01, 1.0, d.priors.answer_rate),
                ring_answered_ms: self.priors.ring_answered_ms.max(1),
                ring_unanswered_ms: self.priors.ring_unanswered_ms.max(1),
                talk_ms: self.priors.talk_ms.max(1),
                wrap_ms: self.priors.wrap_ms.max(1),
            },
        }
    }
}

/// The default pacer: a model of the next minute, and feedback from the measured rate.
///
/// **What it learns** (from [`PacingEvent`]s, each distribution as a histogram of fixed
/// buckets, the priors weighing [`PRIOR_WEIGHT`] calls spread evenly from 0 to twice their
/// mean, old observations halved beyond [`MODEL_MEMORY_CALLS`]): the answer rate `p` and the
/// ring-time distribution `F_A` of answered calls and `F_N` of unanswered ones (one memory for
/// both, so `p` is the share of answered calls in it); the talk-time distribution `F_T`; the
/// wrap-up distribution `F_W` and its mean `w̄`.
///
/// **What it predicts**, for each horizon `h = 0, 1 s, 2 s, …` up to where `F_A` reaches
/// 99.9 % (at most [`HORIZONS_MAX`]), with `g` = [`ABANDON_AFTER_MS`]: each as a sum of
/// independent Bernoulli trials, with its mean and variance:
///
/// - answers by `h`, `D(h)`: the calls waiting for an agent (certain), plus, for each call
///   ringing for `a`, `P(answered in (a, a+h] | still ringing at a) = p (F_A(a+h) − F_A(a)) /
///   (p (1 − F_A(a)) + (1 − p)(1 − F_N(a)))`;
/// - agents free by `h + g`, `S(h)`: the idle agents (certain), plus, for each agent in
///   wrap-up for `u`, `P(wrap ends by u + h + g | not by u)` from `F_W`, plus, for each agent
///   talking for `t`, `P(talk ends by t + h + g − w̄ | not by t)` from `F_T` (the talk must
///   end and the wrap-up pass; a talk older than anything seen is taken as memoryless).
///
/// **The decision.** A new call is answered in `(h−1, h]` with probability `f(h) = p
/// (F_A(h) − F_A(h−1))`. Placing `n` new calls adds `n p F_A(h)` to `D(h)`'s mean and `n
/// q(1−q)` (`q = p F_A(h)`) to its variance. The chance that one more call, if answered,
/// finds no agent within `g` is predicted as
/// `A(n) = Σ_h f(h) Φ((E D(h) − E S(h) + ½) / √(Var D(h) + Var S(h))) / Σ_h f(h)`
/// (normal approximation of `P(D(h) ≥ S(h))` with a continuity correction: the answers
/// before it have taken every agent free in time). It places calls one by one while
/// `A(n) ≤ θ`, at most `lines_per_agent_max × staffed agents` ringing and
/// [`CALLS_PER_DECISION_MAX`] at once.
///
/// **Feedback.** Every [`FEEDBACK_EVERY_MS`] the threshold `θ` (starting at the target, `cap
/// × target_fraction`) is multiplied by `exp(FEEDBACK_GAIN × (target − m) ÷ target)` (by
/// ½ to 2 at most, and kept within [`THRESHOLD_MIN`], [`THRESHOLD_MAX`]), where `m` is the
/// rate of the last [`FEEDBACK_SPAN_MS`] with [`FEEDBACK_PRIOR_ANSWERED`] answered calls at
/// the target added, or the worse rolling window's (24 h, 30 d) rate when that one is above
/// the target: the model's errors are corrected by what happened, and a window that has used
/// up its margin holds the threshold down until it recovers.
///
/// **Guard.** While either rolling window (with at least [`GUARD_MIN_ANSWERED`] answered
/// calls) is at or over the cap, it places calls as [`Progressive`] does, which abandons none
/// and so brings the rate down.
#[derive(Clone, Debug)]
pub struct ModelBased {
    config: ModelConfig,
    ring: RingModel,
    talk: Histogram,
    wrap: Histogram,
    window: AbandonWindow,
    threshold: f64,
    next_feedback_ms: Option<u64>,
    latest_ms: u64,
    scratch: Scratch,
}

/// Buffers reused from one decision to the next.
#[derive(Clone, Debug, Default)]
struct Scratch {
    demand_mean: Vec<f64>,
    demand_var: Vec<f64>,
    supply_mean: Vec<f64>,
    supply_var: Vec<f64>,
    new_answer: Vec<f64>,
}

impl ModelBased {
    /// A pacer with these settings (brought within bounds, see [`ModelConfig::clamped`]).
    pub fn new(config: ModelConfig) -> ModelBased {
        let config = config.clamped();
        let priors = config.priors;
        let mut ring = RingModel {
            answered: Histogram::new(RING_BUCKET_MS, RING_BUCKETS),
            unanswered: Histogram::new(RING_BUCKET_MS, RING_BUCKETS),
        };
        ring.answered
            .add_spread(priors.ring_answered_ms, PRIOR_WEIGHT * priors.answer_rate);
        ring.unanswered.add_spread(
            priors.ring_unanswered_ms,
            PRIOR_WEIGHT * (1.0 - priors.answer_rate),
        );
        let mut talk = Histogram::new(TALK_BUCKET_MS, TALK_BUCKETS);
        talk.add_spread(priors.talk_ms, PRIOR_WEIGHT);
        let mut wrap = Histogram::new(WRAP_BUCKET_MS, WRAP_BUCKETS);
        wrap.add_spread(priors.wrap_ms, PRIOR_WEIGHT);
        ModelBased {
            threshold: config.abandon_cap * config.target_fraction,
            config,
            ring,
            talk,
            wrap,
            window: AbandonWindow::new(),
            next_feedback_ms: None,
            latest_ms: 0,
            scratch: Scratch::default(),
        }
    }

    /// The threshold now: the largest predicted chance that a new call, if answered, finds
    /// no agent, at which calls are still placed.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The learned share of calls answered.
    pub fn answer_rate(&self) -> f64 {
        self.ring.answer_rate()
    }

    /// The learned mean talk time, in milliseconds.
    pub fn mean_talk_ms(&self) -> f64 {
        self.talk.mean_ms()
    }

    /// The learned mean wrap-up time, in milliseconds.
    pub fn mean_wrap_ms(&self) -> f64 {
        self.wrap.mean_ms()
    }

    /// The answered and abandoned calls it has counted.
    pub fn abandon_window(&self) -> &AbandonWindow {
        &self.window
    }

    fn feedback(&mut self, now_ms: u64) {
        let target = self.config.abandon_cap * self.config.target_fraction;
        let recent = self.window.counts_recent(now_ms, FEEDBACK_SPAN_MS);
        let mut measured = (recent.abandoned as f64 + FEEDBACK_PRIOR_ANSWERED * target)
            / (recent.answered as f64 + FEEDBACK_PRIOR_ANSWERED);
        let worst = self.window.worst_counts(now_ms);
        if worst.answered >= GUARD_MIN_ANSWERED {
            let rate = worst.rate().unwrap_or(0.0);
            if rate > target {
                measured = measured.max(rate);
            }
        }
        let factor = (FEEDBACK_GAIN * (target - measured) / target)
            .exp()
            .clamp(0.5, 2.0);
        self.threshold = (self.threshold * factor).clamp(THRESHOLD_MIN, THRESHOLD_MAX);
    }

    fn guard_tripped(&self, now_ms: u64) -> bool {
        let cap = self.config.abandon_cap;
        [
            self.window.counts_24h(now_ms),
            self.window.counts_30d(now_ms),
        ]
        .iter()
        .any(|c| c.answered >= GUARD_MIN_ANSWERED && c.rate().unwrap_or(0.0) >= cap)
    }

    /// Fills the scratch buffers with the predictions for each horizon; answers how many
    /// horizons there are.
    fn predict(&mut self, now_ms: u64, state: &CampaignState<'_>) -> usize {
        let p = self.ring.answer_rate();
        let grace = ABANDON_AFTER_MS as f64;
        let wrap_mean = self.wrap.mean_ms();
        let mut horizons = 1;
        while horizons < HORIZONS_MAX
            && self
                .ring
                .answered
                .cdf(((horizons - 1) as u64 * HORIZON_STEP_MS) as f64)
                < 0.999
        {
            horizons += 1;
        }
        let s = &mut self.scratch;
        for v in [
            &mut s.demand_mean,
            &mut s.demand_var,
            &mut s.supply_mean,
            &mut s.supply_var,
            &mut s.new_answer,
        ] {
            v.clear();
            v.resize(horizons, 0.0);
        }
        let waiting = f64::from(state.calls_waiting());
        let idle = f64::from(state.agents_idle);
        for k in 0..horizons {
            let h = (k as u64 * HORIZON_STEP_MS) as f64;
            s.new_answer[k] = p * self.ring.answered.cdf(h);
            s.demand_mean[k] = waiting;
            s.supply_mean[k] = idle;
        }
        for &since in state.ringing_since_ms {
            let age = now_ms.saturating_sub(since) as f64;
            for k in 0..horizons {
                let h = (k as u64 * HORIZON_STEP_MS) as f64;
                let q = self.ring.answer_within(p, age, h);
                s.demand_mean[k] += q;
                s.demand_var[k] += q * (1.0 - q);
            }
        }
        for &since in state.wrapping_since_ms {
            let age = now_ms.saturating_sub(since) as f64;
            for k in 0..horizons {
                let h = (k as u64 * HORIZON_STEP_MS) as f64;
                let q = self.wrap.end_within(age, h + grace);
                s.supply_mean[k] += q;
                s.supply_var[k] += q * (1.0 - q);
            }
        }
        for &since in state.talking_since_ms {
            let age = now_ms.saturating_sub(since) as f64;
            for k in 0..horizons {
                let h = (k as u64 * HORIZON_STEP_MS) as f64;
                let span = h + grace - wrap_mean;
                if span <= 0.0 {
                    continue;
                }
                let q = self.talk.end_within(age, span);
                s.supply_mean[k] += q;
                s.supply_var[k] += q * (1.0 - q);
            }
        }
        horizons
    }

    /// The predicted chance that one call more than `n` new ones, if answered, finds no
    /// agent in time; `None` when no new call is predicted to be answered at all.
    fn marginal_abandon(&self, horizons: usize, n: f64) -> Option<f64> {
        let s = &self.scratch;
        let mut weighted = 0.0;
        let mut weights = 0.0;
        let mut previous = 0.0;
        for k in 0..horizons {
            let q = s.new_answer[k];
            let f = (q - previous).max(0.0);
            previous = q;
            if f <= 0.0 {
                continue;
            }
            let mean = s.demand_mean[k] + n * q - s.supply_mean[k] + 0.5;
            let var = s.demand_var[k] + n * q * (1.0 - q) + s.supply_var[k];
            let chance = if var < 1e-9 {
                if mean > 0.0 {
                    1.0
                } else {
                    0.0
                }
            } else {
                normal_cdf(mean / var.sqrt())
            };
            weighted += f * chance;
            weights += f;
        }
        (weights > 1e-12).then(|| weighted / weights)
    }
}

impl Default for ModelBased {
    fn default() -> ModelBased {
        ModelBased::new(ModelConfig::default())
    }
}

impl Pacer for ModelBased {
    fn name(&self) -> &'static str {
        "model-based"
    }

    fn restore_abandons(&mut self, at_ms: u64, counts: AbandonCounts) {
        self.window.record_counts(at_ms, counts);
    }

    fn observe(&mut self, now_ms: u64, event: PacingEvent) {
        let now_ms = now_ms.max(self.latest_ms);
        self.latest_ms = now_ms;
        match event {
            PacingEvent::Placed | PacingEvent::Connected { .. } => {}
            PacingEvent::Answered { ring_ms } => {
                self.window.record_answered(now_ms);
                self.ring.learn(ring_ms, true);
            }
            PacingEvent::NotAnswered { ring_ms } => self.ring.learn(ring_ms, false),
            PacingEvent::Abandoned => self.window.record_abandoned(now_ms),
            PacingEvent::TalkEnded { talk_ms } => self.talk.learn(talk_ms),
            PacingEvent::WrapEnded { wrap_ms } => self.wrap.learn(wrap_ms),
        }
    }

    fn calls_to_place(&mut self, now_ms: u64, state: &CampaignState<'_>) -> u32 {
        let now_ms = now_ms.max(self.latest_ms);
        self.latest_ms = now_ms;
        let next = *self
            .next_feedback_ms
            .get_or_insert(now_ms + FEEDBACK_EVERY_MS);
        if now_ms >= next {
            self.feedback(now_ms);
            self.next_feedback_ms = Some(now_ms + FEEDBACK_EVERY_MS);
        }
        let staffed = state.agents_staffed();
        if staffed == 0 {
            return 0;
        }
        if self.guard_tripped(now_ms) {
            return progressive_calls(state);
        }
        self.ring.refresh();
        self.talk.refresh();
        self.wrap.refresh();
        let lines = (self.config.lines_per_agent_max * f64::from(staffed)).ceil() as u64;
        let room = lines
            .saturating_sub(u64::from(state.calls_ringing()))
            .min(u64::from(CALLS_PER_DECISION_MAX)) as u32;
        let horizons = self.predict(now_ms, state);
        let mut n = 0;
        while n < room {
            match self.marginal_abandon(horizons, f64::from(n)) {
                Some(chance) if chance <= self.threshold => n += 1,
                Some(_) => break,
                // Nothing is expected to be answered: no risk in calling, nor any use in
                // calling more than there are agents to take a surprise.
                None => return progressive_calls(state).min(room),
            }
        }
        n
    }
}

/// The ring-time distributions of answered and unanswered calls, with one memory.
#[derive(Clone, Debug)]
struct RingModel {
    answered: Histogram,
    unanswered: Histogram,
}

impl RingModel {
    fn learn(&mut self, ring_ms: u64, answered: bool) {
        if answered {
            self.answered.add(ring_ms, 1.0);
        } else {
            self.unanswered.add(ring_ms, 1.0);
        }
        if self.answered.total + self.unanswered.total > MODEL_MEMORY_CALLS {
            self.answered.scale(0.5);
            self.unanswered.scale(0.5);
        }
    }

    fn refresh(&mut self) {
        self.answered.refresh();
        self.unanswered.refresh();
    }

    fn answer_rate(&self) -> f64 {
        let total = self.answered.total + self.unanswered.total;
        if total > 0.0 {
            self.answered.total / total
        } else {
            0.0
        }
    }

    /// The chance that a call ringing for `age_ms` is answered within the next `span_ms`.
    fn answer_within(&self, p: f64, age_ms: f64, span_ms: f64) -> f64 {
        let fa = self.answered.cdf(age_ms);
        let still = p * (1.0 - fa) + (1.0 - p) * (1.0 - self.unanswered.cdf(age_ms));
        if still <= 1e-12 {
            return 0.0;
        }
        (p * (self.answered.cdf(age_ms + span_ms) - fa) / still).clamp(0.0, 1.0)
    }
}

/// A distribution of durations as weights in fixed-width buckets (uniform within each).
#[derive(Clone, Debug)]
struct Histogram {
    bucket_ms: u64,
    weights: Vec<f64>,
    /// `cumulative[i]` = the weight of buckets before `i`; valid when not `dirty`.
    cumulative: Vec<f64>,
    total: f64,
    /// The weighted sum of the bucket midpoints, for the mean.
    sum_ms: f64,
    dirty: bool,
}

impl Histogram {
    fn new(bucket_ms: u64, buckets: usize) -> Histogram {
        Histogram {
            bucket_ms,
            weights: vec![0.0; buckets],
            cumulative: vec![0.0; buckets + 1],
            total: 0.0,
            sum_ms: 0.0,
            dirty: true,
        }
    }

    fn add(&mut self, ms: u64, weight: f64) {
        let last = self.weights.len() - 1;
        let index = ((ms / self.bucket_ms) as usize).min(last);
        self.weights[index] += weight;
        self.total += weight;
        self.sum_ms += weight * (ms as f64);
        self.dirty = true;
    }

    /// Adds `weight` spread evenly from 0 to twice `mean_ms` (a prior with that mean).
    fn add_spread(&mut self, mean_ms: u64, weight: f64) {
        let end = 2 * mean_ms;
        let buckets = end.div_ceil(self.bucket_ms).max(1);
        for b in 0..buckets {
            let mid = (b * self.bucket_ms + self.bucket_ms / 2).min(end);
            self.add(mid, weight / buckets as f64);
        }
    }

    fn learn(&mut self, ms: u64) {
        self.add(ms, 1.0);
        if self.total > MODEL_MEMORY_CALLS {
            self.scale(0.5);
        }
    }

    fn scale(&mut self, factor: f64) {
        for w in &mut self.weights {
            *w *= factor;
        }
        self.total *= factor;
        self.sum_ms *= factor;
        self.dirty = true;
    }

    fn refresh(&mut self) {
        if !self.dirty {
            return;
        }
        let mut sum = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            self.cumulative[i] = sum;
            sum += w;
        }
        self.cumulative[self.weights.len()] = sum;
        self.dirty = false;
    }

    fn mean_ms(&self) -> f64 {
        if self.total > 0.0 {
            self.sum_ms / self.total
        } else {
            0.0
        }
    }

    /// `P(X ≤ ms)`. Needs [`Histogram::refresh`] after the last change.
    fn cdf(&self, ms: f64) -> f64 {
        debug_assert!(!self.dirty, "refresh before reading");
        if self.total <= 0.0 || ms <= 0.0 {
            return 0.0;
        }
        let position = ms / self.bucket_ms as f64;
        let index = position.floor() as usize;
        if index >= self.weights.len() {
            return 1.0;
        }
        let within = position - index as f64;
        ((self.cumulative[index] + within * self.weights[index]) / self.total).min(1.0)
    }

    /// `P(X ≤ age + span | X > age)`; memoryless with the mean beyond anything seen.
    fn end_within(&self, age_ms: f64, span_ms: f64) -> f64 {
        let survived = 1.0 - self.cdf(age_ms);
        if survived <= 1e-9 {
            let mean = self.mean_ms().max(1.0);
            return 1.0 - (-span_ms / mean).exp();
        }
        ((self.cdf(age_ms + span_ms) - self.cdf(age_ms)) / survived).clamp(0.0, 1.0)
    }
}

/// The standard normal distribution function, `Φ(x)`, from the complementary error function
/// (Numerical Recipes' `erfcc`, a fractional error under 1.2e-7 everywhere).
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_known_values() {
        for (x, phi) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746),
            (-1.96, 0.024_997_895),
            (3.0, 0.998_650_102),
        ] {
            assert!((normal_cdf(x) - phi).abs() < 1e-6, "Φ({x})");
        }
    }

    #[test]
    fn abandon_window_rolls_by_minute_and_hour() {
        let mut w = AbandonWindow::new();
        w.record_answered(0);
        w.record_answered(30_000);
        w.record_abandoned(31_000);
        assert_eq!(w.rate_24h(60_000), Some(0.5));
        // 24 h later the first minute has left the short window but not the long one.
        let day = ABANDON_WINDOW_SHORT_MS;
        assert_eq!(w.counts_24h(day), AbandonCounts::default());
        assert_eq!(w.counts_24h(day - 1).answered, 2);
        assert_eq!(w.counts_30d(day).answered, 2);
        w.record_answered(day);
        assert_eq!(w.counts_24h(day).answered, 1);
        assert_eq!(w.counts_30d(day).answered, 3);
        assert_eq!(w.rate_worst(day), Some(1.0 / 3.0));
        // The last hour, in minutes.
        assert_eq!(w.counts_recent(day + 59 * MINUTE_MS, HOUR_MS).answered, 1);
        assert_eq!(w.counts_recent(day + 60 * MINUTE_MS, HOUR_MS).answered, 0);
        // After 30 days, nothing.
        assert_eq!(
            w.counts_30d(day + ABANDON_WINDOW_LONG_MS),
            AbandonCounts::default()
        );
        // A jump over the whole window empties it.
        w.record_answered(100 * DAY_MS);
        assert_eq!(w.counts_30d(100 * DAY_MS).answered, 1);
        assert_eq!(w.counts_24h(100 * DAY_MS).answered, 1);
    }

    #[test]
    fn progressive_covers_each_idle_agent_once() {
        let mut pacer = Progressive;
        let state = CampaignState {
            agents_idle: 5,
            ringing_since_ms: &[0, 0],
            waiting_since_ms: &[0],
            talking_since_ms: &[0; 10],
            ..CampaignState::default()
        };
        assert_eq!(pacer.calls_to_place(0, &state), 2);
        let over = CampaignState {
            agents_idle: 1,
            ringing_since_ms: &[0, 0],
            ..CampaignState::default()
        };
        assert_eq!(pacer.calls_to_place(0, &over), 0);
    }

    #[test]
    fn vicidial_level_one_is_progressive_and_rises_while_agents_wait() {
        let mut pacer = VicidialAdaptive::default();
        let talking = [0u64; 40];
        let state = CampaignState {
            agents_idle: 10,
            talking_since_ms: &talking,
            ringing_since_ms: &[0; 4],
            ..CampaignState::default()
        };
        assert_eq!(pacer.calls_to_place(0, &state), 6);
        for s in 1..=60 {
            pacer.calls_to_place(s * SECOND_MS, &state);
        }
        // Ten of fifty waiting: the full step at every adjustment (4 in a minute).
        assert!(
            (pacer.dial_level() - 1.4).abs() < 1e-9,
            "{}",
            pacer.dial_level()
        );
        // Over the cap it falls whatever the balance.
        for t in 0..100 {
            pacer.observe(61_000 + t, PacingEvent::Answered { ring_ms: 5_000 });
            if t < 10 {
                pacer.observe(61_000 + t, PacingEvent::Abandoned);
            }
        }
        for s in 61..=76 {
            pacer.calls_to_place(s * SECOND_MS, &state);
        }
        assert!(
            (pacer.dial_level() - 1.15).abs() < 1e-9,
            "{}",
            pacer.dial_level()
        );
    }

    #[test]
    fn model_based_learns_and_places_more_than_idle_agents() {
        let mut pacer = ModelBased::default();
        for i in 0..1_000u64 {
            let t = i * 100;
            pacer.observe(t, PacingEvent::Placed);
            if i % 10 < 3 {
                pacer.observe(t, PacingEvent::Answered { ring_ms: 8_000 });
                pacer.observe(t, PacingEvent::Connected { wait_ms: 0 });
                pacer.observe(t, PacingEvent::TalkEnded { talk_ms: 180_000 });
                pacer.observe(t, PacingEvent::WrapEnded { wrap_ms: 10_000 });
            } else {
                pacer.observe(t, PacingEvent::NotAnswered { ring_ms: 25_000 });
            }
        }
        assert!(
            (pacer.answer_rate() - 0.3).abs() < 0.02,
            "{}",
            pacer.answer_rate()
        );
        assert!((pacer.mean_wrap_ms() - 10_000.0).abs() < 1_000.0);
        let talking = [50_000u64; 45];
        let state = CampaignState {
            agents_idle: 5,
            talking_since_ms: &talking,
            ..CampaignState::default()
        };
        let n = pacer.calls_to_place(100_000, &state);
        assert!(n > 5, "{n}");
        // No agents: no calls.
        assert_eq!(pacer.calls_to_place(100_000, &CampaignState::default()), 0);
    }
}
