//! Predictive campaigns: a discrete-event simulation of agents working an outbound calling
//! list under a pacer from [`hotline_dialer::pacing`], with a virtual clock and a seeded
//! random number generator, so a run replays exactly from its seed.
//!
//! The principal types are [`CampaignScenario`] (agents, the list's answer rate, ring, talk
//! and wrap-up times, the abandonment cap), [`simulate_campaign`] (one run under one pacer)
//! and [`compare_pacers`] (the three pacers, [`Progressive`], [`VicidialAdaptive`] and
//! [`ModelBased`], on the same scenario and seed). The list is unbounded: the k-th number
//! dialled behaves the same under every pacer (answers or not, rings, talks and wraps up as
//! long), drawn in order from one stream, so the pacers face the very same customers and
//! differ by their pacing alone.
//!
//! # The model of a campaign
//!
//! - All agents log in at the start and stay for the whole run; an agent is idle, talking or
//!   in wrap-up. An answered call goes to the agent idle longest.
//! - A placed call is answered with probability `answer_rate` after `ring_answered`; if that
//!   is not before `ring_timeout`, or the customer does not answer, it ends unanswered after
//!   `min(ring_unanswered, ring_timeout)`.
//! - An answered call with no idle agent waits; if no agent is free within
//!   [`ABANDON_AFTER_MS`] (2 s) it is dropped: **abandoned**. An agent freed at exactly 2 s
//!   still takes it.
//! - The pacer is asked every `pace_every` (1 s) until the end of the run and its calls are
//!   placed at once. After the end no call is placed; those in progress run to their end
//!   and count.
//!
//! # The figures
//!
//! - Abandonment rate: abandoned ÷ answered (answered by a person, whether an agent took
//!   the call or not), the usual definition and the one the caps use.
//! - Occupancy: (talk + wrap-up time) ÷ logged-in time, within the run's length.
//! - Connects per agent-hour: calls connected to an agent ÷ (agents × hours).
//! - Mean agent wait: the mean idle gap of an agent before a call connects.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fmt;
use std::time::Duration;

use hotline_dialer::pacing::{
    CampaignState, ModelBased, ModelConfig, Pacer, PacingEvent, Progressive, VicidialAdaptive,
    VicidialConfig, ABANDON_AFTER_MS, ABANDON_CAP_MAX, CALLS_PER_DECISION_MAX, DEFAULT_ABANDON_CAP,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, Exp, LogNormal};

use crate::scenario::{Distribution, ScenarioError, MAX_SCENARIO_DURATION};

/// The most agents a campaign scenario may have.
pub const MAX_CAMPAIGN_AGENTS: u32 = 10_000;

/// The shortest `pace_every`.
pub const MIN_PACE_EVERY: Duration = Duration::from_millis(100);

/// The longest `ring_timeout`.
pub const MAX_RING_TIMEOUT: Duration = Duration::from_secs(300);

/// The most calls in progress (ringing, waiting or talking) a run keeps; a pacer asking for
/// more is given this many (and [`CampaignReport::calls_refused`] counts the rest).
pub const MAX_CALLS_IN_PROGRESS: usize = 1_000_000;

/// The longest single draw of a duration: a day (a log-normal tail is cut there).
const DRAW_MAX_MS: u64 = 24 * 3_600_000;

/// A predictive campaign to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignScenario {
    /// A name for reports.
    pub name: String,
    /// Agents logged in for the whole run.
    pub agents: u32,
    /// Length of the run.
    pub duration: Duration,
    /// The share of calls a person answers.
    pub answer_rate: f64,
    /// Ring time of the calls that are answered.
    pub ring_answered: Distribution,
    /// Ring time of the calls that are not (capped by `ring_timeout`).
    pub ring_unanswered: Distribution,
    /// The dialler hangs up a call still ringing after this long.
    pub ring_timeout: Duration,
    /// Talk time of a connected call.
    pub talk: Distribution,
    /// Wrap-up time after each call.
    pub wrap: Distribution,
    /// How often the pacer is asked how many calls to place.
    pub pace_every: Duration,
    /// The abandonment cap the pacers are given.
    pub abandon_cap: f64,
}

impl Default for CampaignScenario {
    /// The campaign of issue 5's target: 50 agents for 8 hours, 30 % of calls answered after
    /// a log-normal ring of mean 8 s (sd 5 s), unanswered calls ringing to the 25 s timeout,
    /// log-normal talk of mean 180 s (sd 120 s), 10 s of wrap-up, the pacer asked every
    /// second, a 3 % cap.
    fn default() -> CampaignScenario {
        CampaignScenario {
            name: "50 agents, 30 % answer".to_owned(),
            agents: 50,
            duration: Duration::from_secs(8 * 3600),
            answer_rate: 0.30,
            ring_answered: Distribution::LogNormal {
                mean: Duration::from_secs(8),
                sd: Duration::from_secs(5),
            },
            ring_unanswered: Distribution::Fixed(Duration::from_secs(25)),
            ring_timeout: Duration::from_secs(25),
            talk: Distribution::LogNormal {
                mean: Duration::from_secs(180),
                sd: Duration::from_secs(120),
            },
            wrap: Distribution::Fixed(Duration::from_secs(10)),
            pace_every: Duration::from_secs(1),
            abandon_cap: DEFAULT_ABANDON_CAP,
        }
    }
}

impl CampaignScenario {
    /// Checks the scenario before a run; returns every problem.
    pub fn validate(&self) -> Result<(), Vec<ScenarioError>> {
        let mut errors = Vec::new();
        let mut e = |path: &str, message: String| {
            errors.push(ScenarioError {
                path: path.to_owned(),
                message,
            })
        };
        if self.agents == 0 || self.agents > MAX_CAMPAIGN_AGENTS {
            e("agents", format!("must be 1 to {MAX_CAMPAIGN_AGENTS}"));
        }
        if self.duration.is_zero() || self.duration > MAX_SCENARIO_DURATION {
            e(
                "duration",
                format!(
                    "must be longer than zero and at most {} hours",
                    MAX_SCENARIO_DURATION.as_secs() / 3600
                ),
            );
        }
        if !(0.0..=1.0).contains(&self.answer_rate) {
            e("answer_rate", "must be a probability from 0 to 1".into());
        }
        if self.ring_timeout.is_zero() || self.ring_timeout > MAX_RING_TIMEOUT {
            e(
                "ring_timeout",
                format!(
                    "must be longer than zero and at most {} s",
                    MAX_RING_TIMEOUT.as_secs()
                ),
            );
        }
        if self.pace_every < MIN_PACE_EVERY {
            e(
                "pace_every",
                format!("must be at least {} ms", MIN_PACE_EVERY.as_millis()),
            );
        }
        if !(self.abandon_cap > 0.0 && self.abandon_cap <= ABANDON_CAP_MAX) {
            e(
                "abandon_cap",
                format!("must be above 0 and at most {ABANDON_CAP_MAX}"),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// What one run of a campaign under one pacer produced. Counts cover the calls placed during
/// the run (followed to their end); times cover the run's length.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignReport {
    /// The pacer's name.
    pub pacer: String,
    /// The scenario's name.
    pub scenario: String,
    /// The seed used.
    pub seed: u64,
    /// Agents logged in.
    pub agents: u32,
    /// Length of the run.
    pub duration: Duration,
    /// Calls placed.
    pub calls_placed: u64,
    /// Calls answered by a person.
    pub answered: u64,
    /// Calls that ended unanswered.
    pub not_answered: u64,
    /// Answered calls bridged to an agent.
    pub connected: u64,
    /// Answered calls dropped with no agent within [`ABANDON_AFTER_MS`].
    pub abandoned: u64,
    /// Calls a pacer asked for beyond [`MAX_CALLS_IN_PROGRESS`], not placed.
    pub calls_refused: u64,
    /// The most calls ringing at once.
    pub max_calls_ringing: u64,
    /// Agents' time talking, summed.
    pub talk_time: Duration,
    /// Agents' time in wrap-up, summed.
    pub wrap_time: Duration,
    /// Agents' time idle, summed.
    pub idle_time: Duration,
    /// Idle gaps that ended with a connected call, and their summed length.
    pub idle_gaps: u64,
    /// The summed length of those gaps.
    pub idle_gaps_time: Duration,
}

impl CampaignReport {
    /// Abandoned ÷ answered (0 when nothing was answered).
    pub fn abandonment_rate(&self) -> f64 {
        if self.answered == 0 {
            0.0
        } else {
            self.abandoned as f64 / self.answered as f64
        }
    }

    /// (Talk + wrap-up time) ÷ logged-in time.
    pub fn occupancy(&self) -> f64 {
        let logged_in = self.duration.as_secs_f64() * f64::from(self.agents);
        if logged_in <= 0.0 {
            return 0.0;
        }
        (self.talk_time + self.wrap_time).as_secs_f64() / logged_in
    }

    fn agent_hours(&self) -> f64 {
        self.duration.as_secs_f64() / 3600.0 * f64::from(self.agents)
    }

    /// Calls connected to an agent per logged-in agent-hour.
    pub fn connects_per_agent_hour(&self) -> f64 {
        let hours = self.agent_hours();
        if hours > 0.0 {
            self.connected as f64 / hours
        } else {
            0.0
        }
    }

    /// Calls placed per logged-in agent-hour.
    pub fn calls_per_agent_hour(&self) -> f64 {
        let hours = self.agent_hours();
        if hours > 0.0 {
            self.calls_placed as f64 / hours
        } else {
            0.0
        }
    }

    /// The mean idle gap of an agent before a call connects.
    pub fn mean_agent_wait(&self) -> Duration {
        if self.idle_gaps == 0 {
            Duration::ZERO
        } else {
            self.idle_gaps_time / u32::try_from(self.idle_gaps).unwrap_or(u32::MAX)
        }
    }
}

impl fmt::Display for CampaignReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<18} seed {:>3}: occupancy {:5.1} %, abandonment {:4.2} % ({} of {} answered), \
             {:5.1} calls and {:4.1} connects per agent-hour, agent wait {:5.1} s, \
             {} placed, at most {} ringing",
            self.pacer,
            self.seed,
            100.0 * self.occupancy(),
            100.0 * self.abandonment_rate(),
            self.abandoned,
            self.answered,
            self.calls_per_agent_hour(),
            self.connects_per_agent_hour(),
            self.mean_agent_wait().as_secs_f64(),
            self.calls_placed,
            self.max_calls_ringing,
        )
    }
}

/// Runs the three pacers on the same scenario with the same seed (so on the same list of
/// customers): [`Progressive`], [`VicidialAdaptive`] and [`ModelBased`], each with its
/// default settings and the scenario's cap, in that order.
pub fn compare_pacers(
    scenario: &CampaignScenario,
    seed: u64,
) -> Result<Vec<(&'static str, CampaignReport)>, Vec<ScenarioError>> {
    let mut pacers: Vec<Box<dyn Pacer>> = vec![
        Box::new(Progressive),
        Box::new(VicidialAdaptive::new(VicidialConfig {
            abandon_cap: scenario.abandon_cap,
            ..VicidialConfig::default()
        })),
        Box::new(ModelBased::new(ModelConfig {
            abandon_cap: scenario.abandon_cap,
            ..ModelConfig::default()
        })),
    ];
    let mut reports = Vec::with_capacity(pacers.len());
    for pacer in &mut pacers {
        let report = simulate_campaign(scenario, pacer.as_mut(), seed)?;
        reports.push((pacer.name(), report));
    }
    Ok(reports)
}

/// Runs one campaign under `pacer` with this seed. The scenario is validated first; nothing
/// runs if it is wrong.
pub fn simulate_campaign(
    scenario: &CampaignScenario,
    pacer: &mut dyn Pacer,
    seed: u64,
) -> Result<CampaignReport, Vec<ScenarioError>> {
    scenario.validate()?;
    let agents = scenario.agents as usize;
    let mut run = Run {
        scenario,
        end_ms: duration_ms(scenario.duration),
        list: ChaCha8Rng::seed_from_u64(seed),
        heap: BinaryHeap::new(),
        sequence: 0,
        agents: vec![
            Agent {
                state: AgentState::Idle,
                since_ms: 0,
                wrap_ms: 0,
            };
            agents
        ],
        idle: (0..scenario.agents).collect(),
        calls: BTreeMap::new(),
        ringing: BTreeMap::new(),
        waiting: VecDeque::new(),
        next_call: 0,
        buffers: Buffers::default(),
        report: CampaignReport {
            pacer: pacer.name().to_owned(),
            scenario: scenario.name.clone(),
            seed,
            agents: scenario.agents,
            duration: scenario.duration,
            calls_placed: 0,
            answered: 0,
            not_answered: 0,
            connected: 0,
            abandoned: 0,
            calls_refused: 0,
            max_calls_ringing: 0,
            talk_time: Duration::ZERO,
            wrap_time: Duration::ZERO,
            idle_time: Duration::ZERO,
            idle_gaps: 0,
            idle_gaps_time: Duration::ZERO,
        },
        talk_ms: 0,
        wrap_ms: 0,
        idle_ms: 0,
        idle_gaps_ms: 0,
    };
    run.push(0, Ev::Tick);
    while let Some(Reverse((at, _, _, event))) = run.heap.pop() {
        run.handle(at, event, pacer);
    }
    run.finish();
    Ok(run.report)
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What the clock brings. At one instant events are handled in the order of this list: an
/// agent freed at the very instant an answered call's 2 s run out takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    WrapEnd { agent: u32 },
    RingEnd { call: u64, answered: bool },
    AbandonCheck { call: u64 },
    TalkEnd { agent: u32 },
    Tick,
}

impl Ev {
    fn order(self) -> u8 {
        match self {
            Ev::WrapEnd { .. } => 0,
            Ev::RingEnd { .. } => 1,
            Ev::AbandonCheck { .. } => 2,
            Ev::TalkEnd { .. } => 3,
            Ev::Tick => 4,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgentState {
    Idle,
    Talking,
    Wrapping,
}

#[derive(Clone, Copy, Debug)]
struct Agent {
    state: AgentState,
    since_ms: u64,
    /// The wrap-up that follows the call in progress.
    wrap_ms: u64,
}

/// A call in progress: what its customer will do, drawn when it is placed.
#[derive(Clone, Copy, Debug)]
struct Call {
    placed_ms: u64,
    answered_ms: u64,
    talk_ms: u64,
    wrap_ms: u64,
}

/// The slices handed to the pacer, reused.
#[derive(Default)]
struct Buffers {
    talking: Vec<u64>,
    wrapping: Vec<u64>,
    ringing: Vec<u64>,
    waiting: Vec<u64>,
}

struct Run<'a> {
    scenario: &'a CampaignScenario,
    end_ms: u64,
    /// The list: one draw after another for each number dialled, in order.
    list: ChaCha8Rng,
    heap: BinaryHeap<Reverse<(u64, u8, u64, Ev)>>,
    sequence: u64,
    agents: Vec<Agent>,
    /// Idle agents, longest idle first.
    idle: VecDeque<u32>,
    calls: BTreeMap<u64, Call>,
    /// Calls ringing, by id (so in the order placed), with when they were placed.
    ringing: BTreeMap<u64, u64>,
    /// Answered calls waiting for an agent, first answered first.
    waiting: VecDeque<u64>,
    next_call: u64,
    buffers: Buffers,
    report: CampaignReport,
    talk_ms: u64,
    wrap_ms: u64,
    idle_ms: u64,
    idle_gaps_ms: u64,
}

impl Run<'_> {
    fn push(&mut self, at_ms: u64, event: Ev) {
        self.sequence += 1;
        self.heap
            .push(Reverse((at_ms, event.order(), self.sequence, event)));
    }

    fn clip(&self, ms: u64) -> u64 {
        ms.min(self.end_ms)
    }

    /// Moves an agent to a new state at `now_ms`, adding the time spent in the old one.
    fn set_agent(&mut self, agent: u32, state: AgentState, now_ms: u64) {
        let a = self.agents[agent as usize];
        let spent = self.clip(now_ms) - self.clip(a.since_ms);
        match a.state {
            AgentState::Idle => self.idle_ms += spent,
            AgentState::Talking => self.talk_ms += spent,
            AgentState::Wrapping => self.wrap_ms += spent,
        }
        let a = &mut self.agents[agent as usize];
        a.state = state;
        a.since_ms = now_ms;
    }

    fn handle(&mut self, now_ms: u64, event: Ev, pacer: &mut dyn Pacer) {
        match event {
            Ev::Tick => {
                self.pace(now_ms, pacer);
                let next = now_ms + duration_ms(self.scenario.pace_every);
                if next < self.end_ms {
                    self.push(next, Ev::Tick);
                }
            }
            Ev::RingEnd { call, answered } => {
                self.ringing.remove(&call);
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                let ring_ms = now_ms - c.placed_ms;
                if answered {
                    c.answered_ms = now_ms;
                    self.report.answered += 1;
                    pacer.observe(now_ms, PacingEvent::Answered { ring_ms });
                    self.waiting.push_back(call);
                    self.push(now_ms + ABANDON_AFTER_MS, Ev::AbandonCheck { call });
                    self.connect(now_ms, pacer);
                } else {
                    self.calls.remove(&call);
                    self.report.not_answered += 1;
                    pacer.observe(now_ms, PacingEvent::NotAnswered { ring_ms });
                }
            }
            Ev::AbandonCheck { call } => {
                if let Some(position) = self.waiting.iter().position(|&c| c == call) {
                    self.waiting.remove(position);
                    self.calls.remove(&call);
                    self.report.abandoned += 1;
                    pacer.observe(now_ms, PacingEvent::Abandoned);
                }
            }
            Ev::TalkEnd { agent } => {
                let talk_ms = now_ms - self.agents[agent as usize].since_ms;
                pacer.observe(now_ms, PacingEvent::TalkEnded { talk_ms });
                self.set_agent(agent, AgentState::Wrapping, now_ms);
                let wrap_ms = self.agents[agent as usize].wrap_ms;
                self.push(now_ms + wrap_ms, Ev::WrapEnd { agent });
            }
            Ev::WrapEnd { agent } => {
                let wrap_ms = now_ms - self.agents[agent as usize].since_ms;
                pacer.observe(now_ms, PacingEvent::WrapEnded { wrap_ms });
                self.set_agent(agent, AgentState::Idle, now_ms);
                self.idle.push_back(agent);
                self.connect(now_ms, pacer);
            }
        }
    }

    /// Bridges waiting calls to idle agents, first come first served.
    fn connect(&mut self, now_ms: u64, pacer: &mut dyn Pacer) {
        while !self.waiting.is_empty() && !self.idle.is_empty() {
            let call = self.waiting.pop_front().expect("not empty");
            let agent = self.idle.pop_front().expect("not empty");
            let Some(c) = self.calls.remove(&call) else {
                continue;
            };
            let gap_ms = now_ms - self.agents[agent as usize].since_ms;
            if now_ms <= self.end_ms {
                self.report.idle_gaps += 1;
                self.idle_gaps_ms += gap_ms;
            }
            self.set_agent(agent, AgentState::Talking, now_ms);
            self.report.connected += 1;
            let wait_ms = now_ms - c.answered_ms;
            debug_assert!(wait_ms <= ABANDON_AFTER_MS, "a call waited {wait_ms} ms");
            pacer.observe(now_ms, PacingEvent::Connected { wait_ms });
            self.agents[agent as usize].wrap_ms = c.wrap_ms;
            self.push(now_ms + c.talk_ms, Ev::TalkEnd { agent });
        }
    }

    fn pace(&mut self, now_ms: u64, pacer: &mut dyn Pacer) {
        let b = &mut self.buffers;
        b.talking.clear();
        b.wrapping.clear();
        for a in &self.agents {
            match a.state {
                AgentState::Idle => {}
                AgentState::Talking => b.talking.push(a.since_ms),
                AgentState::Wrapping => b.wrapping.push(a.since_ms),
            }
        }
        b.ringing.clear();
        b.ringing.extend(self.ringing.values().copied());
        b.waiting.clear();
        b.waiting.extend(
            self.waiting
                .iter()
                .filter_map(|c| self.calls.get(c).map(|c| c.answered_ms)),
        );
        let state = CampaignState {
            agents_idle: self.idle.len() as u32,
            talking_since_ms: &b.talking,
            wrapping_since_ms: &b.wrapping,
            ringing_since_ms: &b.ringing,
            waiting_since_ms: &b.waiting,
        };
        let asked = pacer
            .calls_to_place(now_ms, &state)
            .min(CALLS_PER_DECISION_MAX) as usize;
        let room = MAX_CALLS_IN_PROGRESS.saturating_sub(self.calls.len());
        self.report.calls_refused += asked.saturating_sub(room) as u64;
        for _ in 0..asked.min(room) {
            self.place(now_ms);
            pacer.observe(now_ms, PacingEvent::Placed);
        }
        self.report.max_calls_ringing =
            self.report.max_calls_ringing.max(self.ringing.len() as u64);
    }

    fn place(&mut self, now_ms: u64) {
        let s = self.scenario;
        // Every draw is made for every number, so the k-th number is the same customer
        // whatever the pacer.
        let answers = self.list.random::<f64>() < s.answer_rate;
        let ring_answered_ms = sample_ms(&mut self.list, s.ring_answered);
        let ring_unanswered_ms = sample_ms(&mut self.list, s.ring_unanswered);
        let talk_ms = sample_ms(&mut self.list, s.talk);
        let wrap_ms = sample_ms(&mut self.list, s.wrap);
        let timeout_ms = duration_ms(s.ring_timeout);
        let (answered, ring_ms) = if answers && ring_answered_ms < timeout_ms {
            (true, ring_answered_ms)
        } else {
            (false, ring_unanswered_ms.min(timeout_ms))
        };
        self.next_call += 1;
        let call = self.next_call;
        self.calls.insert(
            call,
            Call {
                placed_ms: now_ms,
                answered_ms: 0,
                talk_ms,
                wrap_ms,
            },
        );
        self.ringing.insert(call, now_ms);
        self.report.calls_placed += 1;
        self.push(now_ms + ring_ms, Ev::RingEnd { call, answered });
    }

    /// Closes the books at the end of the run: each agent's current state counts up to it.
    fn finish(&mut self) {
        let end = self.end_ms;
        for agent in 0..self.agents.len() as u32 {
            let state = self.agents[agent as usize].state;
            self.set_agent(agent, state, end);
        }
        let r = &mut self.report;
        r.talk_time = Duration::from_millis(self.talk_ms);
        r.wrap_time = Duration::from_millis(self.wrap_ms);
        r.idle_time = Duration::from_millis(self.idle_ms);
        r.idle_gaps_time = Duration::from_millis(self.idle_gaps_ms);
    }
}

/// A draw from `distribution`, in whole milliseconds, at most a day.
fn sample_ms(rng: &mut ChaCha8Rng, distribution: Distribution) -> u64 {
    let seconds = match distribution {
        Distribution::Fixed(d) => return duration_ms(d).min(DRAW_MAX_MS),
        Distribution::Exponential { mean } => {
            let mean = mean.as_secs_f64();
            if mean <= 0.0 {
                return 0;
            }
            Exp::new(1.0 / mean).expect("positive rate").sample(rng)
        }
        Distribution::LogNormal { mean, sd } => {
            let (m, s) = (mean.as_secs_f64(), sd.as_secs_f64());
            if m <= 0.0 {
                return 0;
            }
            let sigma2 = (1.0 + (s * s) / (m * m)).ln();
            let mu = m.ln() - sigma2 / 2.0;
            LogNormal::new(mu, sigma2.sqrt())
                .expect("finite parameters")
                .sample(rng)
        }
    };
    ((seconds * 1000.0).round().max(0.0) as u64).min(DRAW_MAX_MS)
}
