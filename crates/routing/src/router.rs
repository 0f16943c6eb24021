//! [`Router`]: the routing state machine.
//!
//! One owner for every queue's order and every agent's state: "one agent, one offer" and "one
//! contact, one agent" hold because a single-threaded state machine changes both together.
//!
//! Indexes, so that a decision costs a few tree look-ups however large the center is:
//! - each queue keeps its waiting contacts in groups of equal requirements
//!   ([`GroupKey`]: channel, requirement set, step), each group a `BTreeSet` in routing order;
//!   an agent that frees up looks at the head of each group it qualifies for, not at every
//!   contact;
//! - each queue keeps, per channel, the agents available to take a contact from it, in the
//!   order of the queue's [`AgentSelection`];
//! - one timer heap with lazy deletion: each contact and agent has at most one live entry.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use crate::config::{
    apply_step, merge_requirement, AgentSelection, ConfigError, MaxWaitAction, RoutingConfig,
    MAX_CHAT_CAPACITY, MAX_PROFICIENCY,
};
use crate::event::{AgentState, DialOutcome, Event, OfferEndReason, Outcome};
use crate::types::{
    duration_millis, AgentId, Channel, ContactAttributes, ContactId, ContactKind, Priority,
    QueueId, ReasonCode, SkillId, SkillRequirement, Time,
};

/// The most agents one contact remembers as having declined it; the oldest is forgotten first.
pub const MAX_DECLINED_PER_CONTACT: usize = 8;
/// The most extra skills one contact may require.
pub const MAX_CONTACT_SKILLS: usize = 32;
/// The most contacts one agent works on at once (one call, or chats up to the chat capacity).
pub const MAX_WORK_ITEMS: usize = 1 + MAX_CHAT_CAPACITY as usize;
/// Weight of the newest handle time in a queue's moving average of handle time.
const HANDLE_TIME_SMOOTHING: f64 = 1.0 / 32.0;
/// How long a contact whose overflow queue was full waits before trying it again.
const OVERFLOW_RETRY: Duration = Duration::from_secs(15);
/// The most queue-to-queue overflows one contact makes at one instant.
const MAX_OVERFLOWS_PER_INSTANT: usize = 8;
/// Weight kept by the older history of hang-ups and waiting time at each ended wait.
const PATIENCE_SMOOTHING: f64 = 1.0 - 1.0 / 512.0;
/// Cache key of `staffed_agents`: queue, requirement set and its generation, step.
type StaffingKey = (u32, u32, u32, u8);
/// Cached `staffed_agents`: staffing version, agents, capacity.
type Staffing = (u64, u32, f64);

/// The hash of the router's maps: rotate, xor and multiply per word (the FxHash scheme).
/// Their keys are small integers chosen by the system (contact ids from the driver, skill
/// and queue indexes), not by outsiders, so a keyed hash's resistance to flooding buys
/// nothing here and SipHash cost a microsecond per decision.
#[derive(Clone, Copy, Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type WordMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;

/// A contact's requirement set before it has one.
const NO_REQUIREMENTS: u32 = u32::MAX;
/// Arrival sequence numbers are spaced this far apart so an explicit placement fits between.
const TIEBREAK_SPACING: u64 = 1 << 16;

/// A contact for the core to route.
#[derive(Clone, Debug)]
pub struct ContactSpec {
    /// The driver's identifier, unique for the life of the router.
    pub id: ContactId,
    /// The queue it joins.
    pub queue: QueueId,
    /// Call, callback or chat.
    pub kind: ContactKind,
    /// Customer facts that set its priority.
    pub attributes: ContactAttributes,
    /// Skills needed on top of the queue's (need tags, language).
    pub skills: Vec<SkillRequirement>,
    /// A dedicated or preferred agent to wait for first.
    pub preferred_agent: Option<PreferredAgent>,
    /// The original arrival time, when earlier than now (a callback request that keeps its
    /// place); `None` means now.
    pub enqueued_at: Option<Time>,
    /// Where it goes in the queue.
    pub placement: Placement,
    /// For a callback: the most dials before it fails; `None` for the queue's
    /// [`CallbackPolicy::max_attempts`](crate::CallbackPolicy::max_attempts). An outbound
    /// dialler that keeps its own retry policy gives 1: each of its attempts is a contact.
    pub max_dials: Option<u32>,
}

impl ContactSpec {
    /// A call with default attributes and no extra requirements.
    pub fn call(id: ContactId, queue: QueueId) -> ContactSpec {
        ContactSpec {
            id,
            queue,
            kind: ContactKind::Call,
            attributes: ContactAttributes::default(),
            skills: Vec::new(),
            preferred_agent: None,
            enqueued_at: None,
            placement: Placement::ByPriority,
            max_dials: None,
        }
    }
}

/// Wait up to `wait` for `agent` before any other agent may take the contact. The agent need
/// not have the queue in its profile nor its skills: the company chose it for this customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreferredAgent {
    /// The agent.
    pub agent: AgentId,
    /// How long to wait for it; `Duration::MAX` for a strictly dedicated agent.
    pub wait: Duration,
}

/// Where a contact goes in its queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Placement {
    /// By priority class, score and arrival.
    #[default]
    ByPriority,
    /// At this 0-based position among the queue's waiting contacts of the same channel, for a
    /// supervisor who moves a contact by hand. It takes the class and score of the contact it
    /// goes in front of, and keeps that place until its priority changes. Costs O(n log n) in
    /// the queue's length; after about 16 placements at the very same spot the order among
    /// those placed there may be off by one.
    Position(u32),
}

/// What the driver tells the core.
#[derive(Clone, Debug)]
pub enum Input {
    /// A contact arrives.
    Arrive(ContactSpec),
    /// The caller hung up (a call or chat), or a callback was cancelled.
    Abandon {
        /// The contact.
        contact: ContactId,
    },
    /// The waiting caller chose a callback: it may hang up and keeps its place.
    AcceptCallback {
        /// The contact.
        contact: ContactId,
    },
    /// The customer's attributes changed (for example, recognised as VIP by the IVR); its
    /// priority and so its place change.
    SetAttributes {
        /// The contact.
        contact: ContactId,
        /// The new attributes.
        attributes: ContactAttributes,
    },
    /// A supervisor moves a waiting contact.
    Reposition {
        /// The contact.
        contact: ContactId,
        /// Where to.
        placement: Placement,
    },
    /// The result of a callback dial asked for by [`Event::CallbackDialRequested`].
    CallbackResult {
        /// The contact.
        contact: ContactId,
        /// What happened.
        outcome: DialOutcome,
    },
    /// The agent logs in (not ready until it says so).
    Login {
        /// The agent.
        agent: AgentId,
    },
    /// The agent logs out; contacts in progress go on to their end.
    Logout {
        /// The agent.
        agent: AgentId,
    },
    /// The agent is ready for contacts.
    Ready {
        /// The agent.
        agent: AgentId,
    },
    /// The agent takes no new contacts, for a reason.
    NotReady {
        /// The agent.
        agent: AgentId,
        /// Why.
        reason: ReasonCode,
    },
    /// The agent answered the offer. An offer that has already ended (timed out, withdrawn)
    /// cannot be accepted: the input is refused with [`InputError::WrongState`], and the
    /// driver releases the agent's call leg. Offers carry no number of their own, so the
    /// driver should send an `Accept` only for the ringing it started last.
    Accept {
        /// The agent.
        agent: AgentId,
        /// The contact offered.
        contact: ContactId,
    },
    /// The agent declined the offer.
    Reject {
        /// The agent.
        agent: AgentId,
        /// The contact offered.
        contact: ContactId,
    },
    /// The driver could not reach the agent's device for the offer.
    Unreachable {
        /// The agent.
        agent: AgentId,
        /// The contact offered.
        contact: ContactId,
    },
    /// The conversation ended; wrap-up begins.
    Complete {
        /// The agent.
        agent: AgentId,
        /// The contact.
        contact: ContactId,
    },
    /// The agent ends wrap-up before its timer.
    EndWrapUp {
        /// The agent.
        agent: AgentId,
        /// The contact.
        contact: ContactId,
    },
}

/// An input the core could not apply. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// No such contact is held (never arrived, or already ended).
    UnknownContact(ContactId),
    /// A contact with this identifier is already held.
    DuplicateContact(ContactId),
    /// No such agent in the configuration.
    UnknownAgent(AgentId),
    /// No such queue in the configuration.
    UnknownQueue(QueueId),
    /// A requirement names an unknown skill or a proficiency outside 1 to 5.
    BadRequirement(SkillRequirement),
    /// Too many extra skills on one contact.
    TooManySkills(usize),
    /// No such not-ready reason.
    UnknownReason(ReasonCode),
    /// The contact's original arrival lies in the future.
    EnqueuedInFuture,
    /// The input does not fit the state it is applied to.
    WrongState(&'static str),
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::UnknownContact(c) => write!(f, "unknown contact {}", c.0),
            InputError::DuplicateContact(c) => write!(f, "contact {} is already held", c.0),
            InputError::UnknownAgent(a) => write!(f, "unknown agent {}", a.0),
            InputError::UnknownQueue(q) => write!(f, "unknown queue {}", q.0),
            InputError::BadRequirement(r) => write!(
                f,
                "bad skill requirement: skill {} at proficiency {} (1 to {MAX_PROFICIENCY})",
                r.skill.0, r.min_proficiency
            ),
            InputError::TooManySkills(n) => {
                write!(f, "{n} skills on one contact; at most {MAX_CONTACT_SKILLS}")
            }
            InputError::UnknownReason(r) => write!(f, "unknown not-ready reason {}", r.0),
            InputError::EnqueuedInFuture => f.write_str("enqueued_at lies in the future"),
            InputError::WrongState(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for InputError {}

/// Why [`Router::reconfigure`] refused a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReconfigureError {
    /// The configuration itself is wrong.
    Invalid(Vec<ConfigError>),
    /// It removes, renames or reorders a queue, agent, skill or not-ready reason: their ids
    /// are in the contacts and agents in progress (and in the event log).
    Identity(String),
}

impl std::fmt::Display for ReconfigureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReconfigureError::Invalid(errors) => {
                let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                write!(f, "the configuration is not valid: {}", all.join("; "))
            }
            ReconfigureError::Identity(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ReconfigureError {}

/// Checks that `new` keeps every queue, agent, skill and reason of `old` under its id.
fn check_identities(old: &RoutingConfig, new: &RoutingConfig) -> Result<(), ReconfigureError> {
    fn same<T>(
        what: &str,
        old: &[T],
        new: &[T],
        name: impl Fn(&T) -> &str,
    ) -> Result<(), ReconfigureError> {
        for (i, before) in old.iter().enumerate() {
            match new.get(i) {
                Some(now) if name(now) == name(before) => {}
                Some(now) => {
                    return Err(ReconfigureError::Identity(format!(
                        "{what} {i} was {:?} and is now {:?}: {what}s may be added at the end, \
                         not removed, renamed or reordered while the center runs",
                        name(before),
                        name(now)
                    )))
                }
                None => {
                    return Err(ReconfigureError::Identity(format!(
                        "{what} {:?} is gone: {what}s may be added at the end, not removed \
                         while the center runs",
                        name(before)
                    )))
                }
            }
        }
        Ok(())
    }
    same("skill", &old.skills, &new.skills, |s| s.as_str())?;
    same("queue", &old.queues, &new.queues, |q| q.name.as_str())?;
    same("agent", &old.agents, &new.agents, |a| a.name.as_str())?;
    same(
        "not-ready reason",
        &old.extra_reasons,
        &new.extra_reasons,
        |r| r.as_str(),
    )?;
    // Waiting contacts hold their tier by place (their attributes), as agents hold reasons.
    same(
        "priority tier",
        &old.priority.tiers,
        &new.priority.tiers,
        |t| t.name.as_str(),
    )
}

/// A waiting contact's place and expected wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WaitEstimate {
    /// 1 for the next contact to be served in its queue.
    pub position: u32,
    /// Logged-in, ready agents that could take it (busy or not).
    pub eligible_agents: u32,
    /// Expected remaining wait; `None` when no agent could take it now.
    pub expected_wait: Option<Duration>,
}

/// Where a contact stands in routing order. Ordered: the smallest key goes first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
struct OrderKey {
    /// 255 − priority class, so a higher class sorts first.
    inverse_class: u8,
    /// Arrival time minus the priority bonus: the highest score sorts first, and since every
    /// waiting contact's score grows at the same rate the order never needs re-sorting.
    adjusted_ms: i64,
    /// Arrival order (spaced out for explicit placements).
    tiebreak: u64,
    /// The contact's slot, which makes every key unique.
    slot: u32,
}

/// Contacts with equal requirements wait in one group.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
struct GroupKey {
    channel: u8,
    requirements: u32,
    step: u8,
}

/// An available agent's place in a queue's selection order. Smallest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
struct ReadyKey {
    primary: u64,
    secondary: u64,
    agent: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ContactState {
    /// In its queue's group.
    Waiting,
    /// Waiting for its preferred agent only (in that agent's `preferred` set).
    Preferred(AgentId),
    /// Offered to an agent.
    Offered(AgentId),
    /// A callback being dialled for an agent.
    Dialing(AgentId),
    /// A callback between dials, until `retry_at`.
    RetryWait,
}

#[derive(Clone, Debug)]
struct Contact {
    id: ContactId,
    queue: QueueId,
    kind: ContactKind,
    attributes: ContactAttributes,
    own_skills: Vec<SkillRequirement>,
    enqueued_at: Time,
    queue_entered_at: Time,
    /// Steps of the current queue applied so far.
    step: u8,
    requirements: u32,
    key: OrderKey,
    state: ContactState,
    preferred: Option<(AgentId, Time)>,
    declined: Vec<(AgentId, Time)>,
    max_wait_done: bool,
    /// Not before this time: the overflow queue was full.
    max_wait_retry_at: Time,
    attempts: u32,
    /// Dials at most (callbacks).
    max_dials: u32,
    retry_at: Time,
    timer_generation: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Presence {
    LoggedOut,
    NotReady(ReasonCode),
    Ready,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    Dialing,
    Talking {
        since: Time,
    },
    WrapUp {
        talk: Duration,
        since: Time,
        until: Time,
    },
}

#[derive(Clone, Copy, Debug)]
struct WorkItem {
    contact: ContactId,
    queue: QueueId,
    channel: Channel,
    phase: Phase,
}

#[derive(Clone, Copy, Debug)]
struct Offer {
    slot: u32,
    contact: ContactId,
    offered_at: Time,
    deadline: Time,
}

#[derive(Clone, Debug)]
struct ProfileSlot {
    queue: QueueId,
    priority: u8,
    delay: Duration,
    /// When this agent was last offered a contact of this queue (round robin).
    last_offer_seq: u64,
    /// The agent's skills as (slot in the queue's `ready_skills`, proficiency).
    skill_slots: Vec<(u16, u8)>,
    ready_key: [Option<ReadyKey>; Channel::COUNT],
}

#[derive(Clone, Debug)]
struct Agent {
    presence: Presence,
    offer: Option<Offer>,
    work: Vec<WorkItem>,
    idle_since: Time,
    busy_ms: u64,
    missed: u32,
    /// Sorted by priority, then configuration order.
    profile: Vec<ProfileSlot>,
    preferred: BTreeSet<OrderKey>,
    chat_capacity: u8,
    state: AgentState,
    in_ready: [bool; Channel::COUNT],
    timer_generation: u32,
}

#[derive(Clone, Debug, Default)]
struct Queue {
    waiting: BTreeMap<GroupKey, BTreeSet<OrderKey>>,
    /// Contacts counted against `max_waiting`: every contact of the queue not yet ended.
    held: u32,
    ready: [BTreeSet<ReadyKey>; Channel::COUNT],
    /// The skills this queue's agents have, each with a slot in `ready_skills` (fixed by the
    /// configuration).
    skill_slots: WordMap<SkillId, u16>,
    /// Per channel and skill slot: how many agents of `ready` have that skill at each
    /// proficiency (index 1 to 5), so a pool that cannot serve a contact is passed over
    /// without a scan.
    ready_skills: [Vec<[u32; MAX_PROFICIENCY as usize + 1]>; Channel::COUNT],
    /// Agents with the queue in their profile.
    agents: Vec<AgentId>,
    /// `(r, s)`: contacts of queue `r` that have passed `s` steps may go to this queue's agents.
    borrowers: Vec<(QueueId, u8)>,
    /// `pools[s]`: the queues whose agents may take a contact that has passed `s` steps.
    pools: Vec<Vec<QueueId>>,
    /// Distinct non-zero profile delays of this queue's agents, ascending.
    delays: Vec<Duration>,
    handle_time_ms: f64,
    asterisk_holdtime_ms: f64,
    /// Recent hang-ups of waiting callers and recent total waiting time (both decayed by
    /// [`PATIENCE_SMOOTHING`] per ended wait): their ratio estimates the rate at which a
    /// waiting caller hangs up.
    recent_abandons: f64,
    recent_waiting_ms: f64,
    /// Moving average of the time from offer to answer.
    ring_time_ms: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum TimerRef {
    Contact { slot: u32, generation: u32 },
    Agent { agent: u32, generation: u32 },
}

/// The routing core. Feed it [`Input`]s and timeouts with the current time; drain
/// [`Router::poll_event`] after each.
///
/// ```
/// use hotline_routing::*;
/// use std::time::Duration;
///
/// let mut config = RoutingConfig::default();
/// config.skills = vec!["billing".into()];
/// let billing = SkillRequirement { skill: SkillId(0), min_proficiency: 1 };
/// config.queues.push(QueueConfig::new("billing", vec![billing]));
/// config.agents.push(AgentConfig {
///     name: "alice".into(),
///     skills: vec![(SkillId(0), 3)],
///     profile: vec![ProfileEntry { queue: QueueId(0), priority: 1, delay: Duration::ZERO }],
///     chat_capacity: 0,
/// });
/// let mut router = Router::new(config).unwrap();
/// let t = Time::from_secs(10);
/// router.handle(t, Input::Login { agent: AgentId(0) }).unwrap();
/// router.handle(t, Input::Ready { agent: AgentId(0) }).unwrap();
/// router.handle(t, Input::Arrive(ContactSpec::call(ContactId(1), QueueId(0)))).unwrap();
/// let offered = std::iter::from_fn(|| router.poll_event())
///     .any(|(_, e)| matches!(e, Event::OfferCreated { agent: AgentId(0), .. }));
/// assert!(offered);
/// ```
#[derive(Clone, Debug)]
pub struct Router {
    config: RoutingConfig,
    n_skills: usize,
    /// Each agent's skills with proficiency, sorted by skill: agents have a handful, so a
    /// merge with a (sorted) requirement set is as quick as a dense agents × skills matrix,
    /// which would take 800 MB at the configuration's limits.
    agent_skills: Vec<Box<[(SkillId, u8)]>>,
    agents: Vec<Agent>,
    queues: Vec<Queue>,
    contacts: Vec<Option<Contact>>,
    free_slots: Vec<u32>,
    index: WordMap<ContactId, u32>,
    /// Interned requirement sets, shared by the contacts that need the same skills. Each is
    /// counted by the contacts using it and freed with the last one, so there are never more
    /// than there are contacts.
    requirement_sets: Vec<Vec<SkillRequirement>>,
    requirement_ids: WordMap<Vec<SkillRequirement>, u32>,
    requirement_users: Vec<u32>,
    /// Bumped when a set's id is freed, so cached figures for the old set are not reused.
    requirement_generation: Vec<u32>,
    free_requirement_ids: Vec<u32>,
    timers: BinaryHeap<Reverse<(Time, TimerRef)>>,
    events: VecDeque<(Time, Event)>,
    now: Time,
    sequence: u64,
    staffing_version: u64,
    staffing_cache: WordMap<StaffingKey, Staffing>,
}

impl Router {
    /// A router for this configuration, or every problem found in it.
    pub fn new(config: RoutingConfig) -> Result<Router, Vec<ConfigError>> {
        config.validate()?;
        let n_skills = config.skills.len();
        let agent_skills: Vec<Box<[(SkillId, u8)]>> = config
            .agents
            .iter()
            .map(|a| {
                let mut skills = a.skills.clone();
                skills.sort_unstable();
                skills.into_boxed_slice()
            })
            .collect();
        let mut queues: Vec<Queue> = config
            .queues
            .iter()
            .map(|q| Queue {
                handle_time_ms: duration_millis(q.expected_handle_time) as f64,
                ..Queue::default()
            })
            .collect();
        let mut agents = Vec::with_capacity(config.agents.len());
        for (ai, a) in config.agents.iter().enumerate() {
            let mut profile: Vec<ProfileSlot> = a
                .profile
                .iter()
                .map(|e| {
                    let q = &mut queues[e.queue.index()];
                    let skill_slots = a
                        .skills
                        .iter()
                        .map(|&(skill, level)| {
                            let next = q.skill_slots.len() as u16;
                            let slot = *q.skill_slots.entry(skill).or_insert(next);
                            if slot == next {
                                for counts in &mut q.ready_skills {
                                    counts.push([0; MAX_PROFICIENCY as usize + 1]);
                                }
                            }
                            (slot, level)
                        })
                        .collect();
                    ProfileSlot {
                        queue: e.queue,
                        priority: e.priority,
                        delay: e.delay,
                        last_offer_seq: 0,
                        skill_slots,
                        ready_key: [None; Channel::COUNT],
                    }
                })
                .collect();
            profile.sort_by_key(|p| p.priority);
            for p in &profile {
                let q = &mut queues[p.queue.index()];
                q.agents.push(AgentId(ai as u32));
                if !p.delay.is_zero() && !q.delays.contains(&p.delay) {
                    q.delays.push(p.delay);
                }
            }
            agents.push(Agent {
                presence: Presence::LoggedOut,
                offer: None,
                work: Vec::new(),
                idle_since: Time::ZERO,
                busy_ms: 0,
                missed: 0,
                profile,
                preferred: BTreeSet::new(),
                chat_capacity: a.chat_capacity,
                state: AgentState::LoggedOut,
                in_ready: [false; Channel::COUNT],
                timer_generation: 0,
            });
        }
        for (qi, qc) in config.queues.iter().enumerate() {
            let mut pool = vec![QueueId(qi as u32)];
            let mut pools = vec![pool.clone()];
            for (si, step) in qc.steps.iter().enumerate() {
                for &target in &step.widen_to {
                    if !pool.contains(&target) {
                        pool.push(target);
                        queues[target.index()]
                            .borrowers
                            .push((QueueId(qi as u32), si as u8 + 1));
                    }
                }
                pools.push(pool.clone());
            }
            queues[qi].pools = pools;
        }
        for q in &mut queues {
            q.delays.sort();
        }
        Ok(Router {
            config,
            n_skills,
            agent_skills,
            agents,
            queues,
            contacts: Vec::new(),
            free_slots: Vec::new(),
            index: WordMap::default(),
            requirement_sets: Vec::new(),
            requirement_ids: WordMap::default(),
            requirement_users: Vec::new(),
            requirement_generation: Vec::new(),
            free_requirement_ids: Vec::new(),
            timers: BinaryHeap::new(),
            events: VecDeque::new(),
            now: Time::ZERO,
            sequence: 0,
            staffing_version: 0,
            staffing_cache: WordMap::default(),
        })
    }

    /// The configuration the router runs.
    pub fn config(&self) -> &RoutingConfig {
        &self.config
    }

    /// Runs a new configuration from `now` on, without dropping anything in progress: the
    /// contacts keep their places, waits and offers, the agents their states, offers, calls
    /// and wrap-ups (whose terms were set when they began). Queues, agents, skills,
    /// not-ready reasons and priority tiers keep their ids, so the new configuration may add them at the end and
    /// change their properties (a queue's skills, steps, maximum wait, selection, limits;
    /// an agent's skills, profile and chat capacity; the policies), but not remove, rename or
    /// reorder them (an agent with an empty profile takes no contacts). Waiting contacts get
    /// the new queue's requirements at the step they reached (capped at its steps), their
    /// timers follow the new steps and delays, and every available agent is offered what it
    /// may now take. An error leaves the router as it was.
    pub fn reconfigure(
        &mut self,
        now: Time,
        config: RoutingConfig,
    ) -> Result<(), ReconfigureError> {
        check_identities(&self.config, &config)?;
        // What the configuration decides is rebuilt as `new` builds it (which validates it,
        // before anything here changes); what happened is kept.
        let mut fresh = Router::new(config).map_err(ReconfigureError::Invalid)?;
        self.handle_timeout(now);
        let now = self.now;
        let old_agents = std::mem::take(&mut self.agents);
        for (ai, old) in old_agents.into_iter().enumerate() {
            let a = &mut fresh.agents[ai];
            for p in &mut a.profile {
                if let Some(before) = old.profile.iter().find(|o| o.queue == p.queue) {
                    p.last_offer_seq = before.last_offer_seq;
                }
            }
            let profile = std::mem::take(&mut a.profile);
            let chat_capacity = a.chat_capacity;
            *a = Agent {
                profile,
                chat_capacity,
                in_ready: [false; Channel::COUNT],
                ..old
            };
            // Not in any ready set yet: `agent_changed` below puts it where it now belongs.
            for p in &mut a.profile {
                p.ready_key = [None; Channel::COUNT];
            }
        }
        let old_queues = std::mem::take(&mut self.queues);
        for (qi, old) in old_queues.into_iter().enumerate() {
            let q = &mut fresh.queues[qi];
            q.held = old.held;
            q.handle_time_ms = old.handle_time_ms;
            q.asterisk_holdtime_ms = old.asterisk_holdtime_ms;
            q.recent_abandons = old.recent_abandons;
            q.recent_waiting_ms = old.recent_waiting_ms;
            q.ring_time_ms = old.ring_time_ms;
        }
        self.config = fresh.config;
        self.n_skills = fresh.n_skills;
        self.agent_skills = fresh.agent_skills;
        self.agents = fresh.agents;
        self.queues = fresh.queues;
        self.staffing_version += 1;
        self.staffing_cache = WordMap::default();
        // Every contact again: its requirements and step under the new queue, back in its
        // group if it waits there, and its next timer.
        for slot in 0..self.contacts.len() as u32 {
            if self.contacts[slot as usize].is_none() {
                continue;
            }
            let steps = self.config.queues[self.contact(slot).queue.index()]
                .steps
                .len();
            let c = self.contact_mut(slot);
            c.step = c.step.min(steps as u8);
            self.refresh_requirements(slot);
            if self.contact(slot).state == ContactState::Waiting {
                self.put_back(now, slot);
            }
            self.schedule_contact(slot);
        }
        for agent in 0..self.agents.len() as u32 {
            self.agent_changed(now, AgentId(agent));
        }
        // Waiting contacts first, in routing order, each choosing among the agents now
        // available by its queue's selection rule (longest idle, round robin …), as they
        // would have if the agents had become ready one by one; then the agents, for the
        // contacts waiting for them in particular.
        let mut waiting: Vec<(OrderKey, u32)> = self
            .contacts
            .iter()
            .enumerate()
            .filter_map(|(slot, c)| {
                c.as_ref()
                    .filter(|c| c.state == ContactState::Waiting)
                    .map(|c| (c.key, slot as u32))
            })
            .collect();
        waiting.sort_unstable();
        for (_, slot) in waiting {
            if self.contacts[slot as usize]
                .as_ref()
                .is_some_and(|c| c.state == ContactState::Waiting)
            {
                self.route_contact(now, slot);
            }
        }
        for agent in 0..self.agents.len() as u32 {
            self.route_agent(now, AgentId(agent));
        }
        Ok(())
    }

    /// The next event, with the time it happened. Drain after every input and timeout.
    pub fn poll_event(&mut self) -> Option<(Time, Event)> {
        self.events.pop_front()
    }

    /// When the router next wants [`Router::handle_timeout`]. May be earlier than needed (a
    /// cancelled timer); calling early is harmless.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// Fires every timer due at or before `now`, each at its own time, in order.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(&Reverse((at, timer))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            self.now = self.now.max(at);
            let t = self.now;
            match timer {
                TimerRef::Contact { slot, generation } => {
                    let live = self
                        .contacts
                        .get(slot as usize)
                        .and_then(Option::as_ref)
                        .is_some_and(|c| c.timer_generation == generation);
                    if live {
                        self.advance_contact(t, slot);
                    }
                }
                TimerRef::Agent { agent, generation } => {
                    if self.agents[agent as usize].timer_generation == generation {
                        self.agent_timeout(t, AgentId(agent));
                    }
                }
            }
        }
        self.now = self.now.max(now);
        self.compact_timers();
    }

    /// Applies one input at `now` (clamped to the latest time the router has seen), after
    /// firing the timers due by then.
    pub fn handle(&mut self, now: Time, input: Input) -> Result<(), InputError> {
        // Whatever fell due first (an offer timing out, a step) happens before the input, so
        // the input meets the state it would have met with a punctual driver.
        self.handle_timeout(now);
        let now = self.now;
        match input {
            Input::Arrive(spec) => self.arrive(now, spec),
            Input::Abandon { contact } => self.abandon(now, contact),
            Input::AcceptCallback { contact } => self.accept_callback(now, contact),
            Input::SetAttributes {
                contact,
                attributes,
            } => self.set_attributes(now, contact, attributes),
            Input::Reposition { contact, placement } => self.reposition(contact, placement),
            Input::CallbackResult { contact, outcome } => {
                self.callback_result(now, contact, outcome)
            }
            Input::Login { agent } => self.login(now, agent),
            Input::Logout { agent } => self.logout(now, agent),
            Input::Ready { agent } => self.ready(now, agent),
            Input::NotReady { agent, reason } => self.not_ready(now, agent, reason),
            Input::Accept { agent, contact } => self.accept(now, agent, contact),
            Input::Reject { agent, contact } => {
                self.check_offer(agent, contact)?;
                self.end_offer(now, agent, OfferEndReason::Rejected);
                Ok(())
            }
            Input::Unreachable { agent, contact } => {
                self.check_offer(agent, contact)?;
                self.end_offer(now, agent, OfferEndReason::Unreachable);
                Ok(())
            }
            Input::Complete { agent, contact } => self.complete(now, agent, contact),
            Input::EndWrapUp { agent, contact } => self.end_wrap_up(now, agent, contact),
        }
    }

    /// An agent's state as supervisors see it.
    pub fn agent_state(&self, agent: AgentId) -> Option<AgentState> {
        self.agents.get(agent.index()).map(|a| a.state)
    }

    /// The not-ready reason of an agent who is logged in and not ready.
    pub fn not_ready_reason(&self, agent: AgentId) -> Option<ReasonCode> {
        match self.agents.get(agent.index())?.presence {
            Presence::NotReady(reason) => Some(reason),
            _ => None,
        }
    }

    /// The contacts an agent is wrapping up, each with when its wrap-up ends by itself.
    pub fn wrap_ups(&self, agent: AgentId) -> Vec<(ContactId, Time)> {
        self.agents.get(agent.index()).map_or_else(Vec::new, |a| {
            a.work
                .iter()
                .filter_map(|w| match w.phase {
                    Phase::WrapUp { until, .. } => Some((w.contact, until)),
                    _ => None,
                })
                .collect()
        })
    }

    /// Contacts held by a queue (waiting, offered, dialling or between callback dials).
    pub fn held(&self, queue: QueueId) -> u32 {
        self.queues.get(queue.index()).map_or(0, |q| q.held)
    }

    /// Agents ready and free for a voice contact with `queue` in their profile (an outbound
    /// dialler paces its agent-first callbacks by it).
    pub fn ready_voice_agents(&self, queue: QueueId) -> u32 {
        self.queues
            .get(queue.index())
            .map_or(0, |q| q.ready[Channel::Voice as usize].len() as u32)
    }

    /// Contacts the router holds in all.
    pub fn contact_count(&self) -> usize {
        self.index.len()
    }

    /// The queue's moving average of handle time (talk + wrap-up).
    pub fn handle_time(&self, queue: QueueId) -> Option<Duration> {
        self.queues
            .get(queue.index())
            .map(|q| Duration::from_millis(q.handle_time_ms as u64))
    }

    /// Position and expected wait of a waiting contact, from its place among the contacts of
    /// its queue and channel (`ahead`), the logged-in ready agents that could take it (`s`,
    /// each weighted by its share of time for this queue: see `staffed_agents`), the queue's
    /// moving average of handle time (`1/μ`) and its recent hang-up rate `θ` (hang-ups ÷
    /// total waiting time):
    ///
    /// `Σ_{i=0}^{ahead} 1 / (sμ + iθ)`
    ///
    /// the expected time to reach an agent when all are busy and each caller ahead may hang
    /// up (the M/M/s+M queue; with `θ = 0` it is `(ahead + 1) / sμ`), plus the queue's moving
    /// average of ring time (offer to answer). It ignores contacts of a higher class that
    /// arrive later.
    ///
    /// `None` for a contact that is not waiting.
    pub fn estimate(&mut self, contact: ContactId) -> Option<WaitEstimate> {
        let slot = *self.index.get(&contact)?;
        let c = self.contacts[slot as usize].as_ref()?;
        if !matches!(c.state, ContactState::Waiting | ContactState::Preferred(_)) {
            return None;
        }
        let (queue, requirements, step, key) = (c.queue, c.requirements, c.step, c.key);
        let channel = c.kind.channel() as u8;
        let ahead: usize = self.queues[queue.index()]
            .waiting
            .range(group_range(channel))
            .map(|(_, set)| set.range(..key).count())
            .sum();
        let (agents, capacity) = self.staffed_agents(queue, requirements, step);
        let expected_wait =
            (agents > 0).then(|| expected_wait(&self.queues[queue.index()], ahead, capacity));
        Some(WaitEstimate {
            position: ahead as u32 + 1,
            eligible_agents: agents,
            expected_wait,
        })
    }

    /// [`Router::estimate`] for every contact waiting in a queue (for announcements), in
    /// queue order, in one pass: O(n log n) for n waiting, where asking contact by contact
    /// costs O(n²). Contacts waiting for a dedicated agent are not listed.
    pub fn queue_estimates(&mut self, queue: QueueId) -> Vec<(ContactId, WaitEstimate)> {
        if queue.index() >= self.queues.len() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for channel in Channel::ALL {
            let mut waiting: Vec<(OrderKey, u32, u8)> = self.queues[queue.index()]
                .waiting
                .range(group_range(channel as u8))
                .flat_map(|(g, set)| set.iter().map(move |k| (*k, g.requirements, g.step)))
                .collect();
            waiting.sort_unstable_by_key(|(k, _, _)| *k);
            out.reserve(waiting.len());
            for (ahead, (key, requirements, step)) in waiting.into_iter().enumerate() {
                let (agents, capacity) = self.staffed_agents(queue, requirements, step);
                let q = &self.queues[queue.index()];
                let estimate = WaitEstimate {
                    position: ahead as u32 + 1,
                    eligible_agents: agents,
                    expected_wait: (agents > 0).then(|| expected_wait(q, ahead, capacity)),
                };
                out.push((self.contact(key.slot).id, estimate));
            }
        }
        out
    }

    /// Asterisk's estimate, kept as a baseline to compare against: one moving average of the
    /// wait of answered calls per queue (`(3 × old + new) / 4`), minus the time already waited.
    pub fn asterisk_estimate(&self, now: Time, contact: ContactId) -> Option<Duration> {
        let slot = *self.index.get(&contact)?;
        let c = self.contacts[slot as usize].as_ref()?;
        let hold = Duration::from_millis(self.queues[c.queue.index()].asterisk_holdtime_ms as u64);
        Some(hold.saturating_sub(now.saturating_since(c.queue_entered_at)))
    }

    // ----- contacts -----

    fn arrive(&mut self, now: Time, spec: ContactSpec) -> Result<(), InputError> {
        let qi = spec.queue.index();
        if qi >= self.queues.len() {
            return Err(InputError::UnknownQueue(spec.queue));
        }
        if self.index.contains_key(&spec.id) {
            return Err(InputError::DuplicateContact(spec.id));
        }
        if spec.skills.len() > MAX_CONTACT_SKILLS {
            return Err(InputError::TooManySkills(spec.skills.len()));
        }
        for r in &spec.skills {
            if r.skill.index() >= self.n_skills
                || !(1..=MAX_PROFICIENCY).contains(&r.min_proficiency)
            {
                return Err(InputError::BadRequirement(*r));
            }
        }
        if let Some(p) = spec.preferred_agent {
            if p.agent.index() >= self.agents.len() {
                return Err(InputError::UnknownAgent(p.agent));
            }
        }
        let enqueued_at = spec.enqueued_at.unwrap_or(now);
        if enqueued_at > now {
            return Err(InputError::EnqueuedInFuture);
        }
        let full = self.index.len() >= self.config.limits.max_contacts
            || self.queues[qi].held >= self.config.queues[qi].max_waiting;
        if full {
            self.emit(
                now,
                Event::ContactEnded {
                    contact: spec.id,
                    queue: spec.queue,
                    kind: spec.kind,
                    outcome: Outcome::Refused,
                    waited: Duration::ZERO,
                    agent: None,
                },
            );
            return Ok(());
        }
        self.sequence += 1;
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.contacts.push(None);
                (self.contacts.len() - 1) as u32
            }
        };
        let mut own_skills = spec.skills.clone();
        own_skills.sort();
        own_skills.dedup_by_key(|r| r.skill);
        let priority = self.config.priority.priority_for(&spec.attributes);
        let preferred = spec.preferred_agent.and_then(|p| {
            let logged_in = self.agents[p.agent.index()].presence != Presence::LoggedOut;
            (logged_in && !p.wait.is_zero()).then_some((p.agent, now + p.wait))
        });
        let contact = Contact {
            id: spec.id,
            queue: spec.queue,
            kind: spec.kind,
            attributes: spec.attributes,
            own_skills,
            enqueued_at,
            queue_entered_at: now,
            step: 0,
            requirements: NO_REQUIREMENTS,
            key: priority_key(
                priority,
                enqueued_at,
                self.sequence * TIEBREAK_SPACING,
                slot,
            ),
            state: ContactState::Waiting,
            preferred,
            declined: Vec::new(),
            max_wait_done: false,
            max_wait_retry_at: Time::ZERO,
            attempts: 0,
            max_dials: spec
                .max_dials
                .unwrap_or(self.config.callbacks.max_attempts)
                .max(1),
            retry_at: Time::ZERO,
            // Distinct from any stale timer left by the slot's previous contact. A stale
            // match would only cost a harmless re-evaluation.
            timer_generation: self.sequence as u32,
        };
        self.contacts[slot as usize] = Some(contact);
        self.refresh_requirements(slot);
        self.index.insert(spec.id, slot);
        self.queues[qi].held += 1;
        if let Placement::Position(position) = spec.placement {
            let key = self.key_at_position(slot, position);
            self.contact_mut(slot).key = key;
        }
        self.emit(
            now,
            Event::ContactQueued {
                contact: spec.id,
                queue: spec.queue,
                kind: spec.kind,
                enqueued_at,
            },
        );
        self.put_back(now, slot);
        self.advance_contact(now, slot);
        Ok(())
    }

    fn abandon(&mut self, now: Time, id: ContactId) -> Result<(), InputError> {
        let slot = self.slot_of(id)?;
        let state = self.contact(slot).state;
        match state {
            ContactState::Waiting | ContactState::Preferred(_) => self.take_out(slot),
            ContactState::Offered(agent) => {
                self.agents[agent.index()].offer = None;
                self.emit(
                    now,
                    Event::OfferEnded {
                        contact: id,
                        agent,
                        reason: OfferEndReason::ContactGone,
                    },
                );
                let outcome = self.gone_outcome(slot);
                self.end_contact(now, slot, outcome, None);
                self.agent_changed(now, agent);
                self.route_agent(now, agent);
                return Ok(());
            }
            ContactState::RetryWait => {}
            ContactState::Dialing(_) => {
                return Err(InputError::WrongState(
                    "the callback is being dialled: report the dial's result instead",
                ))
            }
        }
        let outcome = self.gone_outcome(slot);
        self.end_contact(now, slot, outcome, None);
        Ok(())
    }

    fn gone_outcome(&self, slot: u32) -> Outcome {
        if self.contact(slot).kind == ContactKind::Callback {
            Outcome::Cancelled
        } else {
            Outcome::Abandoned
        }
    }

    fn accept_callback(&mut self, now: Time, id: ContactId) -> Result<(), InputError> {
        let slot = self.slot_of(id)?;
        let c = self.contact(slot);
        if c.kind != ContactKind::Call {
            return Err(InputError::WrongState(
                "only a waiting call can become a callback",
            ));
        }
        if !matches!(c.state, ContactState::Waiting | ContactState::Preferred(_)) {
            return Err(InputError::WrongState(
                "the call is already being offered to an agent",
            ));
        }
        let queue = c.queue;
        self.contact_mut(slot).kind = ContactKind::Callback;
        self.emit(
            now,
            Event::CallbackPromised {
                contact: id,
                queue,
                chosen: true,
            },
        );
        self.schedule_contact(slot);
        Ok(())
    }

    fn set_attributes(
        &mut self,
        now: Time,
        id: ContactId,
        attributes: ContactAttributes,
    ) -> Result<(), InputError> {
        let slot = self.slot_of(id)?;
        let priority = self.config.priority.priority_for(&attributes);
        let waiting = matches!(
            self.contact(slot).state,
            ContactState::Waiting | ContactState::Preferred(_)
        );
        if waiting {
            self.take_out(slot);
        }
        let c = self.contact_mut(slot);
        c.attributes = attributes;
        c.key = priority_key(priority, c.enqueued_at, c.key.tiebreak, slot);
        if waiting {
            self.put_back(now, slot);
        }
        Ok(())
    }

    fn reposition(&mut self, id: ContactId, placement: Placement) -> Result<(), InputError> {
        let slot = self.slot_of(id)?;
        if !matches!(self.contact(slot).state, ContactState::Waiting) {
            return Err(InputError::WrongState(
                "only a contact waiting in its queue can be moved",
            ));
        }
        self.take_out(slot);
        let key = match placement {
            Placement::ByPriority => {
                let c = self.contact(slot);
                let priority = self.config.priority.priority_for(&c.attributes);
                priority_key(priority, c.enqueued_at, c.key.tiebreak, slot)
            }
            Placement::Position(position) => self.key_at_position(slot, position),
        };
        self.contact_mut(slot).key = key;
        let now = self.now;
        self.put_back(now, slot);
        Ok(())
    }

    /// A key that puts the contact at `position` among its queue's other waiting contacts of
    /// its channel. The contact must not be in its group.
    fn key_at_position(&self, slot: u32, position: u32) -> OrderKey {
        let c = self.contact(slot);
        let mut keys: Vec<OrderKey> = self.queues[c.queue.index()]
            .waiting
            .range(group_range(c.kind.channel() as u8))
            .flat_map(|(_, set)| set.iter().copied())
            .filter(|k| k.slot != slot)
            .collect();
        keys.sort_unstable();
        let position = position as usize;
        let Some(next) = keys.get(position).copied() else {
            return match keys.last() {
                Some(last) if *last > c.key => OrderKey {
                    tiebreak: last.tiebreak + 1,
                    slot,
                    ..*last
                },
                _ => c.key,
            };
        };
        let prev = position.checked_sub(1).map(|p| keys[p]);
        let tiebreak = match prev {
            Some(p)
                if (p.inverse_class, p.adjusted_ms) == (next.inverse_class, next.adjusted_ms) =>
            {
                p.tiebreak + (next.tiebreak - p.tiebreak) / 2
            }
            _ => next.tiebreak.saturating_sub(1),
        };
        OrderKey {
            tiebreak,
            slot,
            ..next
        }
    }

    fn callback_result(
        &mut self,
        now: Time,
        id: ContactId,
        outcome: DialOutcome,
    ) -> Result<(), InputError> {
        let slot = self.slot_of(id)?;
        let ContactState::Dialing(agent) = self.contact(slot).state else {
            return Err(InputError::WrongState("the callback is not being dialled"));
        };
        let item = self.agents[agent.index()]
            .work
            .iter()
            .position(|w| w.contact == id && matches!(w.phase, Phase::Dialing))
            .expect("a dialling callback has a dialling work item");
        if outcome == DialOutcome::Connected {
            self.agents[agent.index()].work[item].phase = Phase::Talking { since: now };
            self.end_contact(now, slot, Outcome::Answered, Some(agent));
            self.agent_changed(now, agent);
            return Ok(());
        }
        self.agents[agent.index()].work.remove(item);
        let policy = &self.config.callbacks;
        let (attempt, max_dials) = (self.contact(slot).attempts, self.contact(slot).max_dials);
        let retry_at = (attempt < max_dials).then(|| {
            now + match outcome {
                DialOutcome::Busy => policy.retry_after_busy,
                DialOutcome::Rejected => policy.retry_after_rejected,
                DialOutcome::Failed => policy.retry_after_failure,
                DialOutcome::NoAnswer | DialOutcome::Connected => policy.retry_after_no_answer,
            }
        });
        self.emit(
            now,
            Event::CallbackAttemptFailed {
                contact: id,
                agent,
                attempt,
                outcome,
                retry_at,
            },
        );
        match retry_at {
            Some(at) => {
                let c = self.contact_mut(slot);
                c.state = ContactState::RetryWait;
                c.retry_at = at;
                self.schedule_contact(slot);
            }
            None => self.end_contact(now, slot, Outcome::CallbackFailed, None),
        }
        self.agent_changed(now, agent);
        self.route_agent(now, agent);
        Ok(())
    }

    /// Applies what is due for a contact (retry, preferred-agent expiry, steps, maximum
    /// wait), routes it if it waits, and schedules its next timer.
    fn advance_contact(&mut self, now: Time, slot: u32) {
        let state = self.contact(slot).state;
        match state {
            ContactState::Offered(_) | ContactState::Dialing(_) => return,
            ContactState::RetryWait => {
                if now < self.contact(slot).retry_at {
                    self.schedule_contact(slot);
                    return;
                }
                self.contact_mut(slot).state = ContactState::Waiting;
                self.put_back(now, slot);
            }
            ContactState::Waiting | ContactState::Preferred(_) => {}
        }
        // The preferred agent's turn is over: join the queue.
        if let ContactState::Preferred(agent) = self.contact(slot).state {
            let expired = self
                .contact(slot)
                .preferred
                .is_none_or(|(_, until)| now >= until);
            if expired {
                let key = self.contact(slot).key;
                self.agents[agent.index()].preferred.remove(&key);
                let c = self.contact_mut(slot);
                c.preferred = None;
                c.state = ContactState::Waiting;
                self.put_back(now, slot);
            }
        }
        self.contact_mut(slot)
            .declined
            .retain(|&(_, until)| until > now);
        self.apply_due_steps(now, slot);
        if !self.apply_max_wait(now, slot) {
            return; // the contact left the center
        }
        self.route_contact(now, slot);
        if self.contacts[slot as usize].is_some() {
            self.schedule_contact(slot);
        }
    }

    fn apply_due_steps(&mut self, now: Time, slot: u32) {
        let c = self.contact(slot);
        let queue = c.queue;
        let steps = &self.config.queues[queue.index()].steps;
        let waited = now.saturating_since(c.queue_entered_at);
        let mut step = c.step as usize;
        let first = step;
        while step < steps.len() && waited >= steps[step].after {
            step += 1;
        }
        if step == first {
            return;
        }
        let offer_callback =
            steps[first..step].iter().any(|s| s.offer_callback) && c.kind == ContactKind::Call;
        let id = c.id;
        let regroup = c.state == ContactState::Waiting;
        if regroup {
            self.take_out(slot);
        }
        self.contact_mut(slot).step = step as u8;
        self.refresh_requirements(slot);
        if regroup {
            self.put_back(now, slot);
        }
        for s in first..step {
            self.emit(
                now,
                Event::StepReached {
                    contact: id,
                    queue,
                    step: s as u8,
                },
            );
        }
        if offer_callback {
            self.emit(now, Event::CallbackOffered { contact: id, queue });
        }
    }

    /// Returns `false` when the contact left the center.
    fn apply_max_wait(&mut self, now: Time, slot: u32) -> bool {
        // Validation keeps every maximum wait above zero, so a contact that just moved to a
        // new queue is not due there at the same instant; the bound is a second guard.
        for _ in 0..MAX_OVERFLOWS_PER_INSTANT {
            let c = self.contact(slot);
            let Some(max_wait) = &self.config.queues[c.queue.index()].max_wait else {
                return true;
            };
            if c.max_wait_done
                || c.kind == ContactKind::Callback
                || now.saturating_since(c.queue_entered_at) < max_wait.after
                || now < c.max_wait_retry_at
            {
                return true;
            }
            let (id, from) = (c.id, c.queue);
            match max_wait.action.clone() {
                MaxWaitAction::Overflow(to) => {
                    if self.queues[to.index()].held >= self.config.queues[to.index()].max_waiting {
                        // The overflow queue is full: stay, keeping the place, and try again.
                        self.contact_mut(slot).max_wait_retry_at = now + OVERFLOW_RETRY;
                        return true;
                    }
                    self.take_out(slot);
                    self.queues[from.index()].held -= 1;
                    self.queues[to.index()].held += 1;
                    let c = self.contact_mut(slot);
                    c.queue = to;
                    c.queue_entered_at = now;
                    c.max_wait_retry_at = Time::ZERO;
                    c.step = 0;
                    c.declined.clear();
                    c.preferred = None;
                    c.state = ContactState::Waiting;
                    self.refresh_requirements(slot);
                    self.emit(
                        now,
                        Event::ContactOverflowed {
                            contact: id,
                            from,
                            to: Some(to),
                        },
                    );
                    self.put_back(now, slot);
                    self.apply_due_steps(now, slot);
                }
                MaxWaitAction::Leave(_) => {
                    self.take_out(slot);
                    self.emit(
                        now,
                        Event::ContactOverflowed {
                            contact: id,
                            from,
                            to: None,
                        },
                    );
                    self.end_contact(now, slot, Outcome::Overflowed, None);
                    return false;
                }
                MaxWaitAction::Callback => {
                    let c = self.contact_mut(slot);
                    c.max_wait_done = true;
                    if c.kind != ContactKind::Call {
                        return true; // only a caller can be called back; a chat keeps waiting
                    }
                    c.kind = ContactKind::Callback;
                    self.emit(
                        now,
                        Event::CallbackPromised {
                            contact: id,
                            queue: from,
                            chosen: false,
                        },
                    );
                    return true;
                }
            }
        }
        true
    }

    /// Offers a waiting contact to the best available agent that may take it, if any.
    fn route_contact(&mut self, now: Time, slot: u32) {
        let c = self.contact(slot);
        let channel = c.kind.channel();
        let chosen = match c.state {
            ContactState::Preferred(agent) => {
                (self.agents[agent.index()].in_ready[channel as usize] && !declined(c, agent, now))
                    .then_some(agent)
            }
            ContactState::Waiting => self.queues[c.queue.index()].pools[c.step as usize]
                .iter()
                .filter(|&&pool| self.pool_may_serve(pool, channel, c.requirements))
                .find_map(|&pool| {
                    self.queues[pool.index()].ready[channel as usize]
                        .iter()
                        .map(|k| AgentId(k.agent))
                        .find(|&a| self.available(a, channel) && self.eligible(c, a, pool, now))
                }),
            _ => None,
        };
        if let Some(agent) = chosen {
            self.offer(now, slot, agent);
        }
    }

    /// Whether agent `a`, reached through its profile entry for `pool`, may take contact `c`
    /// (availability aside).
    fn eligible(&self, c: &Contact, a: AgentId, pool: QueueId, now: Time) -> bool {
        let Some(entry) = self.agents[a.index()]
            .profile
            .iter()
            .find(|p| p.queue == pool)
        else {
            return false;
        };
        now.saturating_since(c.queue_entered_at) >= entry.delay
            && self.qualifies(a, c.requirements)
            && !declined(c, a, now)
    }

    /// Whether, for every required skill, some ready agent of the pool has it at the level
    /// needed: a cheap necessary condition before scanning the pool's ready agents.
    fn pool_may_serve(&self, pool: QueueId, channel: Channel, requirements: u32) -> bool {
        let q = &self.queues[pool.index()];
        let counts = &q.ready_skills[channel as usize];
        !q.ready[channel as usize].is_empty()
            && self.requirement_sets[requirements as usize]
                .iter()
                .all(|r| {
                    q.skill_slots.get(&r.skill).is_some_and(|&slot| {
                        counts[slot as usize][r.min_proficiency as usize..]
                            .iter()
                            .any(|&n| n > 0)
                    })
                })
    }

    fn qualifies(&self, a: AgentId, requirements: u32) -> bool {
        // Both lists are sorted by skill: one merge.
        let skills = &self.agent_skills[a.index()];
        let mut i = 0;
        self.requirement_sets[requirements as usize]
            .iter()
            .all(|r| {
                while i < skills.len() && skills[i].0 < r.skill {
                    i += 1;
                }
                i < skills.len() && skills[i].0 == r.skill && skills[i].1 >= r.min_proficiency
            })
    }

    /// An agent's proficiency in a skill; 0 when it lacks it.
    fn proficiency(&self, a: AgentId, skill: SkillId) -> u8 {
        let skills = &self.agent_skills[a.index()];
        skills
            .binary_search_by_key(&skill, |&(s, _)| s)
            .map_or(0, |i| skills[i].1)
    }

    fn offer(&mut self, now: Time, slot: u32, agent: AgentId) {
        self.take_out(slot);
        self.sequence += 1;
        let deadline = now + self.config.offers.offer_timeout;
        let c = self.contact_mut(slot);
        c.state = ContactState::Offered(agent);
        c.timer_generation = c.timer_generation.wrapping_add(1);
        let (id, queue, kind) = (c.id, c.queue, c.kind);
        let sequence = self.sequence;
        let a = &mut self.agents[agent.index()];
        debug_assert!(a.offer.is_none(), "an agent never gets two offers");
        a.offer = Some(Offer {
            slot,
            contact: id,
            offered_at: now,
            deadline,
        });
        if let Some(p) = a.profile.iter_mut().find(|p| p.queue == queue) {
            p.last_offer_seq = sequence;
        }
        self.emit(
            now,
            Event::OfferCreated {
                contact: id,
                agent,
                queue,
                kind,
            },
        );
        self.agent_changed(now, agent);
    }

    fn end_contact(&mut self, now: Time, slot: u32, outcome: Outcome, agent: Option<AgentId>) {
        let c = self.contacts[slot as usize].take().expect("live contact");
        self.release_requirements(c.requirements);
        self.index.remove(&c.id);
        self.free_slots.push(slot);
        let q = &mut self.queues[c.queue.index()];
        q.held -= 1;
        let waited = now.saturating_since(c.enqueued_at);
        let in_queue = duration_millis(now.saturating_since(c.queue_entered_at)) as f64;
        if c.kind != ContactKind::Callback
            && matches!(outcome, Outcome::Answered | Outcome::Abandoned)
        {
            q.recent_abandons *= PATIENCE_SMOOTHING;
            q.recent_waiting_ms = q.recent_waiting_ms * PATIENCE_SMOOTHING + in_queue;
            if outcome == Outcome::Abandoned {
                q.recent_abandons += 1.0;
            }
        }
        if outcome == Outcome::Answered && c.kind == ContactKind::Call {
            q.asterisk_holdtime_ms = (3.0 * q.asterisk_holdtime_ms + in_queue) / 4.0;
        }
        self.emit(
            now,
            Event::ContactEnded {
                contact: c.id,
                queue: c.queue,
                kind: c.kind,
                outcome,
                waited,
                agent,
            },
        );
    }

    /// Removes a waiting contact from its group or from its preferred agent's set.
    fn take_out(&mut self, slot: u32) {
        let c = self.contact(slot);
        let (key, group, queue) = (c.key, group_key(c), c.queue);
        match c.state {
            ContactState::Waiting => {
                let groups = &mut self.queues[queue.index()].waiting;
                let set = groups
                    .get_mut(&group)
                    .expect("a waiting contact is in its group");
                let removed = set.remove(&key);
                debug_assert!(removed);
                if set.is_empty() {
                    groups.remove(&group);
                }
            }
            ContactState::Preferred(agent) => {
                self.agents[agent.index()].preferred.remove(&key);
            }
            _ => {}
        }
    }

    /// Puts a contact whose state is `Waiting` or `Preferred` back where it waits: a contact
    /// still within its preferred agent's time waits for that agent, else in its group.
    fn put_back(&mut self, now: Time, slot: u32) {
        let c = self.contact(slot);
        let key = c.key;
        let preferred = c
            .preferred
            .filter(|&(agent, until)| {
                now < until && self.agents[agent.index()].presence != Presence::LoggedOut
            })
            .map(|(agent, _)| agent);
        match preferred {
            Some(agent) => {
                self.contact_mut(slot).state = ContactState::Preferred(agent);
                self.agents[agent.index()].preferred.insert(key);
            }
            None => {
                let c = self.contact_mut(slot);
                c.preferred = None;
                c.state = ContactState::Waiting;
                let group = group_key(c);
                let queue = c.queue;
                self.queues[queue.index()]
                    .waiting
                    .entry(group)
                    .or_default()
                    .insert(key);
            }
        }
    }

    fn schedule_contact(&mut self, slot: u32) {
        let deadline = self.contact_deadline(slot);
        let c = self.contact_mut(slot);
        c.timer_generation = c.timer_generation.wrapping_add(1);
        let generation = c.timer_generation;
        if deadline != Time::NEVER {
            self.timers
                .push(Reverse((deadline, TimerRef::Contact { slot, generation })));
        }
    }

    /// The next time something changes for the contact by itself.
    fn contact_deadline(&self, slot: u32) -> Time {
        let c = self.contact(slot);
        match c.state {
            ContactState::RetryWait => return c.retry_at,
            ContactState::Offered(_) | ContactState::Dialing(_) => return Time::NEVER,
            ContactState::Waiting | ContactState::Preferred(_) => {}
        }
        let qc = &self.config.queues[c.queue.index()];
        let entered = c.queue_entered_at;
        let waited = self.now.saturating_since(entered);
        let mut next = Time::NEVER;
        if let Some(step) = qc.steps.get(c.step as usize) {
            next = next.min(entered + step.after);
        }
        if let Some(max_wait) = &qc.max_wait {
            if !c.max_wait_done && c.kind != ContactKind::Callback {
                next = next.min((entered + max_wait.after).max(c.max_wait_retry_at));
            }
        }
        if let Some((_, until)) = c.preferred {
            next = next.min(until);
        }
        for &(_, until) in &c.declined {
            next = next.min(until);
        }
        for pool in &self.queues[c.queue.index()].pools[c.step as usize] {
            let delays = &self.queues[pool.index()].delays;
            if let Some(d) = delays.iter().find(|&&d| d > waited) {
                next = next.min(entered + *d);
            }
        }
        next
    }

    // ----- agents -----

    fn login(&mut self, now: Time, agent: AgentId) -> Result<(), InputError> {
        self.check_agent(agent)?;
        if self.agents[agent.index()].presence == Presence::LoggedOut {
            // Least occupied counts handle time since login.
            self.agents[agent.index()].busy_ms = 0;
            self.set_presence(agent, Presence::NotReady(ReasonCode::LOGGED_IN));
            self.agent_changed(now, agent);
        }
        Ok(())
    }

    fn logout(&mut self, now: Time, agent: AgentId) -> Result<(), InputError> {
        self.check_agent(agent)?;
        if self.agents[agent.index()].presence == Presence::LoggedOut {
            return Ok(());
        }
        self.set_presence(agent, Presence::LoggedOut);
        // Out of the ready sets before anything is re-routed below.
        self.agent_changed(now, agent);
        if self.agents[agent.index()].offer.is_some() {
            self.end_offer(now, agent, OfferEndReason::AgentUnavailable);
        }
        // Contacts waiting for this agent stop waiting for it.
        let waiting: Vec<u32> = self.agents[agent.index()]
            .preferred
            .iter()
            .map(|k| k.slot)
            .collect();
        for slot in waiting {
            self.take_out(slot);
            self.contact_mut(slot).preferred = None;
            self.put_back(now, slot);
            self.advance_contact(now, slot);
        }
        self.agent_changed(now, agent);
        Ok(())
    }

    fn ready(&mut self, now: Time, agent: AgentId) -> Result<(), InputError> {
        self.check_agent(agent)?;
        let a = &mut self.agents[agent.index()];
        match a.presence {
            Presence::LoggedOut => Err(InputError::WrongState("the agent is logged out")),
            Presence::Ready => Ok(()),
            Presence::NotReady(_) => {
                a.missed = 0;
                if a.work.is_empty() {
                    a.idle_since = now;
                }
                self.set_presence(agent, Presence::Ready);
                self.agent_changed(now, agent);
                self.route_agent(now, agent);
                Ok(())
            }
        }
    }

    fn not_ready(
        &mut self,
        now: Time,
        agent: AgentId,
        reason: ReasonCode,
    ) -> Result<(), InputError> {
        self.check_agent(agent)?;
        if reason.index() >= ReasonCode::BUILT_IN.len() + self.config.extra_reasons.len() {
            return Err(InputError::UnknownReason(reason));
        }
        if self.agents[agent.index()].presence == Presence::LoggedOut {
            return Err(InputError::WrongState("the agent is logged out"));
        }
        self.set_presence(agent, Presence::NotReady(reason));
        self.agent_changed(now, agent);
        if self.agents[agent.index()].offer.is_some() {
            self.end_offer(now, agent, OfferEndReason::AgentUnavailable);
        }
        self.agent_changed(now, agent);
        Ok(())
    }

    fn set_presence(&mut self, agent: AgentId, presence: Presence) {
        let a = &mut self.agents[agent.index()];
        if a.presence != presence {
            a.presence = presence;
            self.staffing_version += 1;
        }
    }

    fn check_agent(&self, agent: AgentId) -> Result<(), InputError> {
        if agent.index() < self.agents.len() {
            Ok(())
        } else {
            Err(InputError::UnknownAgent(agent))
        }
    }

    fn check_offer(&self, agent: AgentId, contact: ContactId) -> Result<(), InputError> {
        self.check_agent(agent)?;
        match self.agents[agent.index()].offer {
            Some(o) if o.contact == contact => Ok(()),
            _ => Err(InputError::WrongState(
                "no such offer is ringing for this agent",
            )),
        }
    }

    fn accept(&mut self, now: Time, agent: AgentId, id: ContactId) -> Result<(), InputError> {
        self.check_offer(agent, id)?;
        let a = &mut self.agents[agent.index()];
        let offer = a.offer.take().expect("checked");
        a.missed = 0;
        let slot = offer.slot;
        let (kind, queue) = {
            let c = self.contact(slot);
            (c.kind, c.queue)
        };
        if kind != ContactKind::Callback {
            let ring = duration_millis(now.saturating_since(offer.offered_at)) as f64;
            let q = &mut self.queues[queue.index()];
            q.ring_time_ms += (ring - q.ring_time_ms) * HANDLE_TIME_SMOOTHING;
        }
        let channel = kind.channel();
        if kind == ContactKind::Callback {
            let c = self.contact_mut(slot);
            c.state = ContactState::Dialing(agent);
            c.attempts += 1;
            let attempt = c.attempts;
            self.agents[agent.index()].work.push(WorkItem {
                contact: id,
                queue,
                channel,
                phase: Phase::Dialing,
            });
            self.emit(
                now,
                Event::CallbackDialRequested {
                    contact: id,
                    agent,
                    attempt,
                },
            );
        } else {
            self.agents[agent.index()].work.push(WorkItem {
                contact: id,
                queue,
                channel,
                phase: Phase::Talking { since: now },
            });
            self.end_contact(now, slot, Outcome::Answered, Some(agent));
        }
        debug_assert!(self.agents[agent.index()].work.len() <= MAX_WORK_ITEMS);
        self.agent_changed(now, agent);
        // A chat agent may have room for more.
        self.route_agent(now, agent);
        Ok(())
    }

    /// Withdraws the agent's offer; the contact keeps its place and goes to the next agent.
    fn end_offer(&mut self, now: Time, agent: AgentId, reason: OfferEndReason) {
        let offer = self.agents[agent.index()]
            .offer
            .take()
            .expect("an offer rings");
        let slot = offer.slot;
        match reason {
            OfferEndReason::Rejected | OfferEndReason::TimedOut | OfferEndReason::Unreachable => {
                let until = now + self.config.offers.reoffer_after;
                let c = self.contact_mut(slot);
                // A preferred agent that declines or misses its customer hands it to the
                // queue rather than keep it waiting for itself alone.
                if c.preferred.is_some_and(|(p, _)| p == agent) {
                    c.preferred = None;
                }
                c.declined.retain(|&(a, _)| a != agent);
                if c.declined.len() >= MAX_DECLINED_PER_CONTACT {
                    let oldest = (0..c.declined.len())
                        .min_by_key(|&i| c.declined[i].1)
                        .expect("not empty");
                    c.declined.remove(oldest);
                }
                c.declined.push((agent, until));
            }
            OfferEndReason::AgentUnavailable | OfferEndReason::ContactGone => {}
        }
        self.emit(
            now,
            Event::OfferEnded {
                contact: offer.contact,
                agent,
                reason,
            },
        );
        match reason {
            OfferEndReason::TimedOut => {
                let a = &mut self.agents[agent.index()];
                a.missed += 1;
                if a.missed >= self.config.offers.max_missed_offers && a.presence == Presence::Ready
                {
                    self.set_presence(agent, Presence::NotReady(ReasonCode::MISSED_OFFERS));
                }
            }
            OfferEndReason::Unreachable
                if self.agents[agent.index()].presence == Presence::Ready =>
            {
                self.set_presence(agent, Presence::NotReady(ReasonCode::UNREACHABLE));
            }
            _ => {}
        }
        // The contact goes first to another agent, then the agent looks for other work.
        self.contact_mut(slot).state = ContactState::Waiting;
        self.put_back(now, slot);
        self.advance_contact(now, slot);
        self.agent_changed(now, agent);
        self.route_agent(now, agent);
    }

    fn complete(&mut self, now: Time, agent: AgentId, id: ContactId) -> Result<(), InputError> {
        self.check_agent(agent)?;
        let a = &mut self.agents[agent.index()];
        let Some(item) = a
            .work
            .iter()
            .position(|w| w.contact == id && matches!(w.phase, Phase::Talking { .. }))
        else {
            return Err(InputError::WrongState(
                "the agent is not talking to this contact",
            ));
        };
        let Phase::Talking { since } = a.work[item].phase else {
            unreachable!()
        };
        let talk = now.saturating_since(since);
        let queue = a.work[item].queue;
        let wrap_up = self.config.queues[queue.index()].wrap_up;
        a.work[item].phase = Phase::WrapUp {
            talk,
            since: now,
            until: now + wrap_up,
        };
        self.emit(
            now,
            Event::ContactCompleted {
                contact: id,
                agent,
                queue,
                talk,
            },
        );
        if wrap_up.is_zero() {
            self.finish_work(now, agent, item);
        } else {
            self.agent_changed(now, agent);
        }
        Ok(())
    }

    fn end_wrap_up(&mut self, now: Time, agent: AgentId, id: ContactId) -> Result<(), InputError> {
        self.check_agent(agent)?;
        let Some(item) = self.agents[agent.index()]
            .work
            .iter()
            .position(|w| w.contact == id && matches!(w.phase, Phase::WrapUp { .. }))
        else {
            return Err(InputError::WrongState(
                "the agent is not wrapping up this contact",
            ));
        };
        self.finish_work(now, agent, item);
        Ok(())
    }

    fn finish_work(&mut self, now: Time, agent: AgentId, item: usize) {
        let a = &mut self.agents[agent.index()];
        let w = a.work.remove(item);
        let Phase::WrapUp { talk, since, .. } = w.phase else {
            unreachable!("only wrap-up finishes")
        };
        let wrap_up = now.saturating_since(since);
        let handle = duration_millis(talk + wrap_up);
        a.busy_ms += handle;
        if a.work.is_empty() {
            a.idle_since = now;
        }
        let q = &mut self.queues[w.queue.index()];
        q.handle_time_ms += (handle as f64 - q.handle_time_ms) * HANDLE_TIME_SMOOTHING;
        self.emit(
            now,
            Event::WrapUpEnded {
                contact: w.contact,
                agent,
                queue: w.queue,
                talk,
                wrap_up,
            },
        );
        self.agent_changed(now, agent);
        self.route_agent(now, agent);
    }

    fn agent_timeout(&mut self, now: Time, agent: AgentId) {
        let a = &self.agents[agent.index()];
        if a.offer.is_some_and(|o| o.deadline <= now) {
            self.end_offer(now, agent, OfferEndReason::TimedOut);
        }
        while let Some(item) = self.agents[agent.index()]
            .work
            .iter()
            .position(|w| matches!(w.phase, Phase::WrapUp { until, .. } if until <= now))
        {
            self.finish_work(now, agent, item);
        }
        self.schedule_agent(agent);
    }

    fn schedule_agent(&mut self, agent: AgentId) {
        let a = &mut self.agents[agent.index()];
        a.timer_generation = a.timer_generation.wrapping_add(1);
        let mut next = a.offer.map_or(Time::NEVER, |o| o.deadline);
        for w in &a.work {
            if let Phase::WrapUp { until, .. } = w.phase {
                next = next.min(until);
            }
        }
        if next != Time::NEVER {
            let generation = a.timer_generation;
            self.timers.push(Reverse((
                next,
                TimerRef::Agent {
                    agent: agent.0,
                    generation,
                },
            )));
        }
    }

    fn available(&self, agent: AgentId, channel: Channel) -> bool {
        let a = &self.agents[agent.index()];
        if a.presence != Presence::Ready || a.offer.is_some() {
            return false;
        }
        match channel {
            Channel::Voice => a.work.is_empty(),
            Channel::Chat => {
                a.work.iter().all(|w| w.channel == Channel::Chat)
                    && a.work.len() < a.chat_capacity as usize
            }
        }
    }

    /// After any change to an agent: its place in the ready sets, its timer and its state.
    fn agent_changed(&mut self, now: Time, agent: AgentId) {
        for channel in Channel::ALL {
            let want = self.available(agent, channel);
            let ch = channel as usize;
            let have = self.agents[agent.index()].in_ready[ch];
            if !want && !have {
                continue;
            }
            // Also when it stays available (a chat agent finishing one of its chats): its
            // place in the selection order may have moved.
            let mut profile = std::mem::take(&mut self.agents[agent.index()].profile);
            for p in &mut profile {
                let old = p.ready_key[ch].take();
                let new = want.then(|| self.ready_key(agent, p));
                if old != new {
                    let q = &mut self.queues[p.queue.index()];
                    if let Some(key) = old {
                        q.ready[ch].remove(&key);
                    }
                    if let Some(key) = new {
                        q.ready[ch].insert(key);
                    }
                    if old.is_some() != new.is_some() {
                        let counts = &mut q.ready_skills[ch];
                        for &(slot, level) in &p.skill_slots {
                            let n = &mut counts[slot as usize][level as usize];
                            if new.is_some() {
                                *n += 1;
                            } else {
                                *n -= 1;
                            }
                        }
                    }
                }
                p.ready_key[ch] = new;
            }
            let a = &mut self.agents[agent.index()];
            a.profile = profile;
            a.in_ready[ch] = want;
        }
        self.schedule_agent(agent);
        let a = &self.agents[agent.index()];
        let state = if a
            .work
            .iter()
            .any(|w| matches!(w.phase, Phase::Talking { .. } | Phase::Dialing))
        {
            AgentState::OnContact
        } else if a.offer.is_some() {
            AgentState::Reserved
        } else if !a.work.is_empty() {
            AgentState::WrapUp
        } else {
            match a.presence {
                Presence::LoggedOut => AgentState::LoggedOut,
                Presence::NotReady(r) => AgentState::NotReady(r),
                Presence::Ready => AgentState::Ready,
            }
        };
        if state != a.state {
            self.agents[agent.index()].state = state;
            self.emit(now, Event::AgentStateChanged { agent, state });
        }
    }

    fn ready_key(&self, agent: AgentId, p: &ProfileSlot) -> ReadyKey {
        let a = &self.agents[agent.index()];
        let idle = a.idle_since.as_millis();
        let (primary, secondary) = match self.config.queues[p.queue.index()].selection {
            AgentSelection::LongestIdle => (idle, 0),
            AgentSelection::BestProficiency => {
                let primary_skill = self.config.queues[p.queue.index()].skills.first();
                let level = primary_skill.map_or(0, |r| self.proficiency(agent, r.skill));
                (
                    u64::from(MAX_PROFICIENCY - level.min(MAX_PROFICIENCY)),
                    idle,
                )
            }
            AgentSelection::LeastOccupied => (a.busy_ms, idle),
            AgentSelection::RoundRobin => (p.last_offer_seq, idle),
        };
        ReadyKey {
            primary,
            secondary,
            agent: agent.0,
        }
    }

    /// Offers the best waiting contact to an agent that has room, if any.
    fn route_agent(&mut self, now: Time, agent: AgentId) {
        for channel in Channel::ALL {
            if !self.agents[agent.index()].in_ready[channel as usize] {
                continue;
            }
            if let Some(slot) = self.best_contact_for(agent, channel, now) {
                self.offer(now, slot, agent);
                return;
            }
        }
    }

    fn best_contact_for(&self, agent: AgentId, channel: Channel, now: Time) -> Option<u32> {
        let a = &self.agents[agent.index()];
        // A contact waiting for this agent in particular comes first.
        for key in &a.preferred {
            let c = self.contact(key.slot);
            if c.kind.channel() == channel && !declined(c, agent, now) {
                return Some(key.slot);
            }
        }
        let profile = &a.profile;
        let mut i = 0;
        while i < profile.len() {
            let priority = profile[i].priority;
            let mut best: Option<OrderKey> = None;
            while i < profile.len() && profile[i].priority == priority {
                let entry = &profile[i];
                best = self.best_in_queue(agent, entry.queue, channel, entry.delay, 0, now, best);
                i += 1;
            }
            if let Some(key) = best {
                return Some(key.slot);
            }
        }
        // Contacts of other queues that widened to this agent's queues come after all of its
        // own: a backup team serves its own callers first.
        let mut best: Option<OrderKey> = None;
        for entry in profile {
            for &(other, min_step) in &self.queues[entry.queue.index()].borrowers {
                best = self.best_in_queue(agent, other, channel, entry.delay, min_step, now, best);
            }
        }
        best.map(|key| key.slot)
    }

    /// The best contact of `queue` (better than `best`) that `agent` may take, looking only at
    /// groups past `min_step` steps.
    #[allow(clippy::too_many_arguments)]
    fn best_in_queue(
        &self,
        agent: AgentId,
        queue: QueueId,
        channel: Channel,
        delay: Duration,
        min_step: u8,
        now: Time,
        mut best: Option<OrderKey>,
    ) -> Option<OrderKey> {
        for (group, set) in self.queues[queue.index()]
            .waiting
            .range(group_range(channel as u8))
        {
            if group.step < min_step || !self.qualifies(agent, group.requirements) {
                continue;
            }
            for key in set {
                if best.is_some_and(|b| *key > b) {
                    break;
                }
                let c = self.contact(key.slot);
                if now.saturating_since(c.queue_entered_at) >= delay && !declined(c, agent, now) {
                    best = Some(*key);
                    break;
                }
            }
        }
        best
    }

    /// Logged-in agents with presence ready that could take a contact with these requirements
    /// at this step, and their capacity for this queue: an agent counts as `1/k` where `k` is
    /// the number of queues it serves at the same or a higher profile priority (an agent
    /// shared by three queues gives each about a third of its time), and a borrowed agent
    /// (through a widened pool) as `1/(queues + 1)`, since it serves its own first. Cached
    /// until an agent's presence changes.
    fn staffed_agents(&mut self, queue: QueueId, requirements: u32, step: u8) -> (u32, f64) {
        let generation = self.requirement_generation[requirements as usize];
        let cache_key = (queue.0, requirements, generation, step);
        if let Some(&(version, n, capacity)) = self.staffing_cache.get(&cache_key) {
            if version == self.staffing_version {
                return (n, capacity);
            }
        }
        let pools = &self.queues[queue.index()].pools[step as usize];
        let mut seen = HashSet::new();
        let (mut n, mut capacity) = (0u32, 0.0f64);
        for pool in pools {
            for &a in &self.queues[pool.index()].agents {
                let agent = &self.agents[a.index()];
                if agent.presence == Presence::Ready
                    && self.qualifies(a, requirements)
                    && (pools.len() == 1 || seen.insert(a))
                {
                    n += 1;
                    let share = if *pool == queue {
                        let priority = agent
                            .profile
                            .iter()
                            .find(|p| p.queue == queue)
                            .map_or(u8::MAX, |p| p.priority);
                        let k = agent
                            .profile
                            .iter()
                            .filter(|p| p.priority <= priority)
                            .count();
                        1.0 / k.max(1) as f64
                    } else {
                        1.0 / (agent.profile.len() + 1) as f64
                    };
                    capacity += share;
                }
            }
        }
        if self.staffing_cache.len() > 100_000 {
            self.staffing_cache.clear();
        }
        self.staffing_cache
            .insert(cache_key, (self.staffing_version, n, capacity));
        (n, capacity)
    }

    // ----- helpers -----

    /// Recomputes a contact's requirement set from its queue, its own skills and its step.
    fn refresh_requirements(&mut self, slot: u32) {
        let c = self.contact(slot);
        let qc = &self.config.queues[c.queue.index()];
        let mut requirements = qc.skills.clone();
        for r in &c.own_skills {
            merge_requirement(&mut requirements, *r);
        }
        for step in &qc.steps[..c.step as usize] {
            requirements = apply_step(&requirements, step);
        }
        requirements.sort();
        let id = match self.requirement_ids.get(&requirements) {
            Some(&id) => id,
            None => {
                let id = match self.free_requirement_ids.pop() {
                    Some(id) => {
                        self.requirement_sets[id as usize] = requirements.clone();
                        id
                    }
                    None => {
                        self.requirement_sets.push(requirements.clone());
                        self.requirement_users.push(0);
                        self.requirement_generation.push(0);
                        (self.requirement_sets.len() - 1) as u32
                    }
                };
                self.requirement_ids.insert(requirements, id);
                id
            }
        };
        self.requirement_users[id as usize] += 1;
        let old = std::mem::replace(&mut self.contact_mut(slot).requirements, id);
        self.release_requirements(old);
    }

    /// One contact fewer uses this requirement set; the last one frees it.
    fn release_requirements(&mut self, id: u32) {
        if id == NO_REQUIREMENTS {
            return;
        }
        let users = &mut self.requirement_users[id as usize];
        *users -= 1;
        if *users == 0 {
            let set = std::mem::take(&mut self.requirement_sets[id as usize]);
            self.requirement_ids.remove(&set);
            self.requirement_generation[id as usize] += 1;
            self.free_requirement_ids.push(id);
        }
    }

    fn slot_of(&self, id: ContactId) -> Result<u32, InputError> {
        self.index
            .get(&id)
            .copied()
            .ok_or(InputError::UnknownContact(id))
    }

    fn contact(&self, slot: u32) -> &Contact {
        self.contacts[slot as usize].as_ref().expect("live contact")
    }

    fn contact_mut(&mut self, slot: u32) -> &mut Contact {
        self.contacts[slot as usize].as_mut().expect("live contact")
    }

    fn emit(&mut self, now: Time, event: Event) {
        self.events.push_back((now, event));
    }

    /// Drops cancelled timers when they outnumber the live ones, so the heap stays bounded by
    /// the number of contacts and agents.
    fn compact_timers(&mut self) {
        let live_bound = 4 * (self.index.len() + self.agents.len()) + 1024;
        if self.timers.len() <= live_bound {
            return;
        }
        let contacts = &self.contacts;
        let agents = &self.agents;
        self.timers.retain(|Reverse((_, timer))| match *timer {
            TimerRef::Contact { slot, generation } => contacts
                .get(slot as usize)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.timer_generation == generation),
            TimerRef::Agent { agent, generation } => {
                agents[agent as usize].timer_generation == generation
            }
        });
    }

    /// Checks the core's invariants against a brute-force reading of its state; for tests.
    ///
    /// - an offer is held by exactly one agent and one contact, both pointing at each other;
    /// - every waiting contact is in exactly the set its state says;
    /// - the ready sets hold exactly the available agents;
    /// - no waiting contact may be taken by an agent that is available for its channel.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        let now = self.now;
        let mut offered = HashSet::new();
        for (ai, a) in self.agents.iter().enumerate() {
            if let Some(o) = a.offer {
                let c = self.contacts[o.slot as usize]
                    .as_ref()
                    .ok_or(format!("agent {ai} offered a dead slot"))?;
                if c.state != ContactState::Offered(AgentId(ai as u32)) || c.id != o.contact {
                    return Err(format!(
                        "agent {ai} offer does not match contact {:?}",
                        c.id
                    ));
                }
                if !offered.insert(o.slot) {
                    return Err(format!("contact {:?} offered twice", c.id));
                }
            }
            for channel in Channel::ALL {
                let want = self.available(AgentId(ai as u32), channel);
                if want != a.in_ready[channel as usize] {
                    return Err(format!("agent {ai} ready-set flag wrong for {channel:?}"));
                }
                for p in &a.profile {
                    let in_set = p.ready_key[channel as usize].is_some_and(|k| {
                        self.queues[p.queue.index()].ready[channel as usize].contains(&k)
                    });
                    if in_set != want {
                        return Err(format!("agent {ai} ready set of queue {:?} wrong", p.queue));
                    }
                }
            }
        }
        let mut in_groups = 0usize;
        for q in &self.queues {
            for (g, set) in &q.waiting {
                for k in set {
                    let c = self.contacts[k.slot as usize]
                        .as_ref()
                        .ok_or("dead slot in a group")?;
                    if c.state != ContactState::Waiting || group_key(c) != *g || c.key != *k {
                        return Err(format!("contact {:?} in the wrong group", c.id));
                    }
                    in_groups += 1;
                }
            }
            for (ch, ready) in q.ready.iter().enumerate() {
                let mut counts = vec![[0u32; MAX_PROFICIENCY as usize + 1]; q.skill_slots.len()];
                for k in ready {
                    if !self.agents[k.agent as usize].in_ready.iter().any(|&r| r) {
                        return Err(format!("agent {} in a ready set but unavailable", k.agent));
                    }
                    for &(skill, level) in &self.config.agents[k.agent as usize].skills {
                        counts[q.skill_slots[&skill] as usize][level as usize] += 1;
                    }
                }
                if q.ready_skills[ch] != counts {
                    return Err("ready skill counts disagree with the ready set".into());
                }
            }
        }
        let mut held = vec![0u32; self.queues.len()];
        let mut waiting = 0usize;
        for (slot, c) in self.contacts.iter().enumerate() {
            let Some(c) = c else { continue };
            held[c.queue.index()] += 1;
            if self.index.get(&c.id) != Some(&(slot as u32)) {
                return Err(format!("index wrong for {:?}", c.id));
            }
            match c.state {
                ContactState::Waiting => waiting += 1,
                ContactState::Preferred(a)
                    if !self.agents[a.index()].preferred.contains(&c.key) =>
                {
                    return Err(format!("{:?} missing from its agent's set", c.id));
                }
                ContactState::Offered(a)
                    if self.agents[a.index()].offer.map(|o| o.slot) != Some(slot as u32) =>
                {
                    return Err(format!("{:?} offered but the agent disagrees", c.id));
                }
                _ => {}
            }
            // No available agent may take a waiting contact.
            let channel = c.kind.channel();
            for (ai, a) in self.agents.iter().enumerate() {
                let agent = AgentId(ai as u32);
                if !self.available(agent, channel) || declined(c, agent, now) {
                    continue;
                }
                let may = match c.state {
                    ContactState::Preferred(p) => p == agent,
                    ContactState::Waiting => {
                        let pools = &self.queues[c.queue.index()].pools[c.step as usize];
                        a.profile.iter().any(|p| {
                            pools.contains(&p.queue)
                                && now.saturating_since(c.queue_entered_at) >= p.delay
                        }) && self.requirement_sets[c.requirements as usize]
                            .iter()
                            .all(|r| {
                                self.proficiency(AgentId(ai as u32), r.skill) >= r.min_proficiency
                            })
                    }
                    _ => false,
                };
                if may {
                    return Err(format!(
                        "contact {:?} waits while agent {ai} is available and may take it",
                        c.id
                    ));
                }
            }
        }
        if waiting != in_groups {
            return Err(format!(
                "{waiting} waiting contacts but {in_groups} in groups"
            ));
        }
        for (qi, q) in self.queues.iter().enumerate() {
            if q.held != held[qi] {
                return Err(format!(
                    "queue {qi} holds {} but counts {}",
                    held[qi], q.held
                ));
            }
        }
        Ok(())
    }
}

/// Expected remaining wait with `ahead` contacts in front: `Σ_{i=0}^{ahead} 1/(r + iθ)` with
/// `r` the queue's service rate for this contact and `θ` its hang-up rate, in closed form
/// (`(ψ(r/θ + ahead + 1) − ψ(r/θ)) / θ`, ψ the digamma function) so it costs the same for the
/// 1st and the 10,000th caller; plus the queue's ring time.
fn expected_wait(q: &Queue, ahead: usize, capacity: f64) -> Duration {
    let service_rate = capacity / q.handle_time_ms.max(1.0); // per ms
    let hang_up_rate = if q.recent_waiting_ms > 0.0 {
        q.recent_abandons / q.recent_waiting_ms
    } else {
        0.0
    };
    let n = ahead as f64;
    // Below this ratio the hang-ups change nothing measurable and the digamma difference
    // would lose its precision.
    let ms = if hang_up_rate <= service_rate * 1e-9 {
        (n + 1.0) / service_rate
    } else {
        let a = service_rate / hang_up_rate;
        (digamma(a + n + 1.0) - digamma(a)) / hang_up_rate
    };
    Duration::from_millis((ms + q.ring_time_ms).min(1e15) as u64)
}

/// The digamma function ψ(x) for x > 0: the recurrence up to 10, then the asymptotic series
/// (error below 1e-13 there).
pub(crate) fn digamma(mut x: f64) -> f64 {
    let mut result = 0.0;
    while x < 10.0 {
        result -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    result + x.ln()
        - 0.5 / x
        - f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f / 132.0))))
}

fn declined(c: &Contact, agent: AgentId, now: Time) -> bool {
    c.declined
        .iter()
        .any(|&(a, until)| a == agent && until > now)
}

fn group_key(c: &Contact) -> GroupKey {
    GroupKey {
        channel: c.kind.channel() as u8,
        requirements: c.requirements,
        step: c.step,
    }
}

fn group_range(channel: u8) -> std::ops::RangeInclusive<GroupKey> {
    GroupKey {
        channel,
        requirements: 0,
        step: 0,
    }..=GroupKey {
        channel,
        requirements: u32::MAX,
        step: u8::MAX,
    }
}

fn priority_key(priority: Priority, enqueued_at: Time, tiebreak: u64, slot: u32) -> OrderKey {
    OrderKey {
        inverse_class: u8::MAX - priority.class,
        adjusted_ms: enqueued_at.as_millis().min(i64::MAX as u64 / 2) as i64
            - duration_millis(priority.bonus).min(i64::MAX as u64 / 2) as i64,
        tiebreak,
        slot,
    }
}

#[cfg(test)]
mod tests {
    use super::digamma;

    #[test]
    fn digamma_sums_the_harmonic_like_series() {
        // Σ_{i=0}^{n} 1/(a + i) = ψ(a + n + 1) − ψ(a), for small and large a and n.
        for &a in &[0.01, 0.5, 1.0, 3.7, 42.0, 1e4] {
            for &n in &[0usize, 1, 5, 100, 5000] {
                let direct: f64 = (0..=n).map(|i| 1.0 / (a + i as f64)).sum();
                let closed = digamma(a + n as f64 + 1.0) - digamma(a);
                assert!(
                    (direct - closed).abs() <= 1e-9 * direct,
                    "a {a} n {n}: {direct} vs {closed}"
                );
            }
        }
        // ψ(1) = −γ.
        assert!((digamma(1.0) + 0.577_215_664_901_532_9).abs() < 1e-12);
    }
}
