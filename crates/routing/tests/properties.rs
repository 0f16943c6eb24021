//! Property tests: random sequences of inputs and timeouts against the routing core's
//! invariants.
//!
//! - an agent never holds two offers and a contact is never offered to two agents;
//! - every contact ends exactly once (answered, abandoned, overflowed, refused, callback failed
//!   or cancelled);
//! - no waiting contact may be taken by an available agent (checked by
//!   `Router::check_invariants` after every step, by brute force);
//! - first come, first served among equal contacts;
//! - all of it across live reconfigurations (`Router::reconfigure`): profiles, skills,
//!   steps, maximum waits, selection and capacity changed and agents added mid-flight.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use hotline_routing::*;
use proptest::prelude::*;

fn req(skill: u16, level: u8) -> SkillRequirement {
    SkillRequirement {
        skill: SkillId(skill),
        min_proficiency: level,
    }
}

/// Three queues and six agents with overlapping skills, steps that relax and widen, a maximum
/// wait that overflows, delays in profiles, and chat capacity on some agents.
fn center() -> RoutingConfig {
    let mut config = RoutingConfig {
        skills: vec!["billing".into(), "tech".into(), "zh".into()],
        ..RoutingConfig::default()
    };
    let mut billing = QueueConfig::new("billing", vec![req(0, 3)]);
    billing.steps = vec![
        Step {
            after: Duration::from_secs(20),
            relax_proficiency: 2,
            ..Step::default()
        },
        Step {
            after: Duration::from_secs(60),
            widen_to: vec![QueueId(2)],
            offer_callback: true,
            drop_skills: vec![SkillId(0)],
            ..Step::default()
        },
    ];
    billing.max_waiting = 6;
    let mut tech = QueueConfig::new("tech", vec![req(1, 2)]);
    tech.selection = AgentSelection::BestProficiency;
    tech.max_wait = Some(MaxWait {
        after: Duration::from_secs(90),
        action: MaxWaitAction::Overflow(QueueId(2)),
    });
    tech.wrap_up = Duration::from_secs(5);
    let mut general = QueueConfig::new("general", vec![]);
    general.selection = AgentSelection::RoundRobin;
    general.max_wait = Some(MaxWait {
        after: Duration::from_secs(200),
        action: MaxWaitAction::Callback,
    });
    config.queues = vec![billing, tech, general];
    let entry = |q: u32, priority: u8, delay: u64| ProfileEntry {
        queue: QueueId(q),
        priority,
        delay: Duration::from_secs(delay),
    };
    let agent = |name: &str, skills: Vec<(SkillId, u8)>, profile: Vec<ProfileEntry>, chat: u8| {
        AgentConfig {
            name: name.into(),
            skills,
            profile,
            chat_capacity: chat,
        }
    };
    config.agents = vec![
        agent(
            "a0",
            vec![(SkillId(0), 5), (SkillId(2), 3)],
            vec![entry(0, 1, 0)],
            0,
        ),
        agent(
            "a1",
            vec![(SkillId(0), 1)],
            vec![entry(0, 1, 0), entry(2, 2, 0)],
            2,
        ),
        agent(
            "a2",
            vec![(SkillId(1), 4)],
            vec![entry(1, 1, 0), entry(2, 1, 10)],
            0,
        ),
        agent(
            "a3",
            vec![(SkillId(1), 2), (SkillId(0), 3)],
            vec![entry(1, 2, 0), entry(0, 1, 30)],
            3,
        ),
        agent("a4", vec![(SkillId(2), 5)], vec![entry(2, 1, 0)], 1),
        agent(
            "a5",
            vec![(SkillId(0), 4), (SkillId(1), 4), (SkillId(2), 4)],
            vec![entry(0, 1, 0), entry(1, 1, 0), entry(2, 1, 0)],
            0,
        ),
    ];
    config.priority.tiers.push(TierPriority {
        name: "gold".into(),
        class: 0,
        bonus: Duration::from_secs(30),
    });
    config.priority.tiers.push(TierPriority {
        name: "vip".into(),
        class: 1,
        bonus: Duration::ZERO,
    });
    config.callbacks.max_attempts = 2;
    config.offers.max_missed_offers = 2;
    config
}

#[derive(Clone, Debug)]
enum Op {
    Advance(u16),
    Arrive {
        queue: u8,
        kind: u8,
        tier: u8,
        zh: bool,
        preferred: Option<(u8, u8)>,
    },
    Abandon(u8),
    AcceptCallback(u8),
    SetTier(u8, u8),
    Reposition(u8, u8),
    Login(u8),
    Logout(u8),
    Ready(u8),
    NotReady(u8),
    Accept(u8),
    Reject(u8),
    Unreachable(u8),
    Complete(u8),
    EndWrapUp(u8),
    DialResult(u8, u8),
    Estimate(u8),
    Reconfigure(u8, u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u16..40_000).prop_map(Op::Advance),
        4 => (0u8..3, 0u8..4, 0u8..3, any::<bool>(), proptest::option::weighted(0.2, (0u8..6, 1u8..60)))
            .prop_map(|(queue, kind, tier, zh, preferred)| Op::Arrive { queue, kind, tier, zh, preferred }),
        1 => any::<u8>().prop_map(Op::Abandon),
        1 => any::<u8>().prop_map(Op::AcceptCallback),
        1 => (any::<u8>(), 0u8..3).prop_map(|(c, t)| Op::SetTier(c, t)),
        1 => (any::<u8>(), 0u8..5).prop_map(|(c, p)| Op::Reposition(c, p)),
        1 => (0u8..8).prop_map(Op::Login),
        1 => (0u8..8).prop_map(Op::Logout),
        3 => (0u8..8).prop_map(Op::Ready),
        1 => (0u8..8).prop_map(Op::NotReady),
        5 => (0u8..8).prop_map(Op::Accept),
        1 => (0u8..8).prop_map(Op::Reject),
        1 => (0u8..8).prop_map(Op::Unreachable),
        3 => (0u8..8).prop_map(Op::Complete),
        1 => (0u8..8).prop_map(Op::EndWrapUp),
        2 => (any::<u8>(), 0u8..5).prop_map(|(c, o)| Op::DialResult(c, o)),
        1 => any::<u8>().prop_map(Op::Estimate),
        1 => (0u8..8, any::<u8>(), any::<u8>()).prop_map(|(k, a, b)| Op::Reconfigure(k, a, b)),
    ]
}

/// The configuration with one change, picked by `kind` and placed by `a` and `b`: the kinds
/// of edit a supervisor makes while the center runs.
fn reconfigured(current: &RoutingConfig, kind: u8, a: u8, b: u8) -> RoutingConfig {
    let mut config = current.clone();
    let agent = a as usize % config.agents.len();
    let queue = b as usize % config.queues.len();
    let original = center();
    match kind {
        // An agent joins or leaves a queue.
        0 => {
            let profile = &mut config.agents[agent].profile;
            match profile.iter().position(|p| p.queue.index() == queue) {
                Some(i) => {
                    profile.remove(i);
                }
                None => profile.push(ProfileEntry {
                    queue: QueueId(queue as u32),
                    priority: b % 3,
                    delay: Duration::from_secs(u64::from(a % 3) * 10),
                }),
            }
        }
        // An agent's skill level.
        1 => {
            if let Some(skill) = config.agents[agent].skills.first_mut() {
                skill.1 = 1 + b % 5;
            }
        }
        // A queue's required level.
        2 => {
            if let Some(skill) = config.queues[queue].skills.first_mut() {
                skill.min_proficiency = 1 + a % 5;
            }
        }
        // A queue's steps: one fewer, or as at first.
        3 => {
            if config.queues[queue].steps.pop().is_none() {
                if let Some(q) = original.queues.get(queue) {
                    config.queues[queue].steps = q.steps.clone();
                }
            }
        }
        // A queue's maximum wait.
        4 => {
            config.queues[queue].max_wait = match a % 3 {
                0 => None,
                1 => Some(MaxWait {
                    after: Duration::from_secs(10 + u64::from(b)),
                    action: MaxWaitAction::Callback,
                }),
                _ => Some(MaxWait {
                    after: Duration::from_secs(10 + u64::from(b)),
                    action: MaxWaitAction::Overflow(QueueId(((queue + 1) % 3) as u32)),
                }),
            };
        }
        // A queue's selection.
        5 => {
            config.queues[queue].selection = [
                AgentSelection::LongestIdle,
                AgentSelection::BestProficiency,
                AgentSelection::LeastOccupied,
                AgentSelection::RoundRobin,
            ][a as usize % 4];
        }
        // An agent's chat capacity.
        6 => config.agents[agent].chat_capacity = b % 4,
        // A new agent (up to eight).
        _ => {
            if config.agents.len() < 8 {
                let n = config.agents.len();
                config.agents.push(AgentConfig {
                    name: format!("a{n}"),
                    skills: vec![(SkillId(u16::from(a % 3)), 1 + b % 5)],
                    profile: vec![ProfileEntry {
                        queue: QueueId(queue as u32),
                        priority: 1,
                        delay: Duration::ZERO,
                    }],
                    chat_capacity: a % 3,
                });
            }
        }
    }
    config
}

/// What the test knows from the events alone.
#[derive(Default)]
struct Model {
    offers: HashMap<AgentId, ContactId>,
    offered_contacts: HashSet<ContactId>,
    talking: HashMap<AgentId, Vec<ContactId>>,
    wrapping: HashMap<AgentId, Vec<ContactId>>,
    dialing: HashMap<ContactId, AgentId>,
    arrived: Vec<ContactId>,
    ended: HashMap<ContactId, u32>,
}

impl Model {
    fn observe(&mut self, event: &Event) -> Result<(), TestCaseError> {
        match *event {
            Event::OfferCreated { contact, agent, .. } => {
                prop_assert!(
                    self.offers.insert(agent, contact).is_none(),
                    "agent {agent:?} got two offers"
                );
                prop_assert!(
                    self.offered_contacts.insert(contact),
                    "{contact:?} offered to two agents"
                );
            }
            Event::OfferEnded { contact, agent, .. } => {
                prop_assert_eq!(self.offers.remove(&agent), Some(contact));
                self.offered_contacts.remove(&contact);
            }
            Event::CallbackDialRequested { contact, agent, .. } => {
                prop_assert_eq!(self.offers.remove(&agent), Some(contact));
                self.offered_contacts.remove(&contact);
                prop_assert!(
                    self.dialing.insert(contact, agent).is_none(),
                    "two dials for one callback"
                );
            }
            Event::CallbackAttemptFailed { contact, .. } => {
                prop_assert!(self.dialing.remove(&contact).is_some());
            }
            Event::ContactEnded {
                contact,
                outcome,
                agent,
                ..
            } => {
                *self.ended.entry(contact).or_default() += 1;
                prop_assert_eq!(self.ended[&contact], 1, "{:?} ended twice", contact);
                if outcome == Outcome::Answered {
                    let agent = agent.expect("answered by an agent");
                    if self.dialing.remove(&contact).is_none() {
                        prop_assert_eq!(self.offers.remove(&agent), Some(contact));
                        self.offered_contacts.remove(&contact);
                    }
                    self.talking.entry(agent).or_default().push(contact);
                } else {
                    prop_assert!(
                        !self.offered_contacts.contains(&contact),
                        "zombie offer for {contact:?}"
                    );
                    prop_assert!(!self.dialing.contains_key(&contact));
                }
            }
            Event::ContactCompleted { contact, agent, .. } => {
                let talking = self.talking.entry(agent).or_default();
                let i = talking
                    .iter()
                    .position(|c| *c == contact)
                    .expect("was talking");
                talking.remove(i);
                self.wrapping.entry(agent).or_default().push(contact);
            }
            Event::WrapUpEnded { contact, agent, .. } => {
                let wrapping = self.wrapping.entry(agent).or_default();
                let i = wrapping
                    .iter()
                    .position(|c| *c == contact)
                    .expect("was wrapping");
                wrapping.remove(i);
            }
            _ => {}
        }
        Ok(())
    }
}

struct Run {
    router: Router,
    now: Time,
    model: Model,
    next_id: u64,
}

impl Run {
    fn drain(&mut self) -> Result<(), TestCaseError> {
        while let Some((_, e)) = self.router.poll_event() {
            self.model.observe(&e)?;
        }
        self.router
            .check_invariants()
            .map_err(TestCaseError::fail)?;
        Ok(())
    }

    fn input(&mut self, input: Input) -> Result<(), TestCaseError> {
        let _ = self.router.handle(self.now, input); // refusals are fine; invariants must hold
        self.drain()
    }

    fn pick_alive(&self, n: u8) -> Option<ContactId> {
        let alive: Vec<ContactId> = self
            .model
            .arrived
            .iter()
            .copied()
            .filter(|c| !self.model.ended.contains_key(c))
            .collect();
        (!alive.is_empty()).then(|| alive[n as usize % alive.len()])
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let agents = self.router.config().agents.len() as u32;
        let agent = |a: u8| AgentId(u32::from(a) % agents);
        match *op {
            Op::Advance(ms) => {
                self.now = self.now + Duration::from_millis(u64::from(ms));
                self.router.handle_timeout(self.now);
                self.drain()?;
            }
            Op::Arrive {
                queue,
                kind,
                tier,
                zh,
                preferred,
            } => {
                self.next_id += 1;
                let id = ContactId(self.next_id);
                self.model.arrived.push(id);
                let mut spec = ContactSpec::call(id, QueueId(u32::from(queue)));
                spec.kind = match kind {
                    0 | 1 => ContactKind::Call,
                    2 => ContactKind::Callback,
                    _ => ContactKind::Chat,
                };
                spec.attributes.tier = tier;
                if zh {
                    spec.skills.push(req(2, 2));
                }
                spec.preferred_agent = preferred.map(|(a, s)| PreferredAgent {
                    agent: agent(a),
                    wait: Duration::from_secs(u64::from(s)),
                });
                self.input(Input::Arrive(spec))?;
            }
            Op::Abandon(n) => {
                if let Some(contact) = self.pick_alive(n) {
                    self.input(Input::Abandon { contact })?;
                }
            }
            Op::AcceptCallback(n) => {
                if let Some(contact) = self.pick_alive(n) {
                    self.input(Input::AcceptCallback { contact })?;
                }
            }
            Op::SetTier(n, tier) => {
                if let Some(contact) = self.pick_alive(n) {
                    let attributes = ContactAttributes {
                        tier,
                        ..Default::default()
                    };
                    self.input(Input::SetAttributes {
                        contact,
                        attributes,
                    })?;
                }
            }
            Op::Reposition(n, p) => {
                if let Some(contact) = self.pick_alive(n) {
                    self.input(Input::Reposition {
                        contact,
                        placement: Placement::Position(u32::from(p)),
                    })?;
                }
            }
            Op::Login(a) => self.input(Input::Login { agent: agent(a) })?,
            Op::Logout(a) => self.input(Input::Logout { agent: agent(a) })?,
            Op::Ready(a) => {
                self.input(Input::Login { agent: agent(a) })?;
                self.input(Input::Ready { agent: agent(a) })?;
            }
            Op::NotReady(a) => self.input(Input::NotReady {
                agent: agent(a),
                reason: ReasonCode::LOGGED_IN,
            })?,
            Op::Accept(a) | Op::Reject(a) | Op::Unreachable(a) => {
                if let Some(&contact) = self.model.offers.get(&agent(a)) {
                    let agent = agent(a);
                    self.input(match op {
                        Op::Accept(_) => Input::Accept { agent, contact },
                        Op::Reject(_) => Input::Reject { agent, contact },
                        _ => Input::Unreachable { agent, contact },
                    })?;
                }
            }
            Op::Complete(a) => {
                if let Some(&contact) = self.model.talking.get(&agent(a)).and_then(|t| t.first()) {
                    self.input(Input::Complete {
                        agent: agent(a),
                        contact,
                    })?;
                }
            }
            Op::EndWrapUp(a) => {
                if let Some(&contact) = self.model.wrapping.get(&agent(a)).and_then(|t| t.first()) {
                    self.input(Input::EndWrapUp {
                        agent: agent(a),
                        contact,
                    })?;
                }
            }
            Op::Estimate(n) => {
                if let Some(contact) = self.pick_alive(n) {
                    if let Some(e) = self.router.estimate(contact) {
                        prop_assert!(e.position >= 1);
                        prop_assert!(e.position as usize <= self.router.contact_count());
                        if let Some(wait) = e.expected_wait {
                            prop_assert!(e.eligible_agents > 0);
                            prop_assert!(wait < Duration::from_secs(365 * 24 * 3600));
                        }
                    }
                    let _ = self.router.asterisk_estimate(self.now, contact);
                }
            }
            Op::Reconfigure(kind, a, b) => {
                let config = reconfigured(self.router.config(), kind, a, b);
                // A refused configuration must leave everything as it was; an accepted one
                // must keep every invariant (checked by `drain`).
                let _ = self.router.reconfigure(self.now, config);
                self.drain()?;
            }
            Op::DialResult(n, o) => {
                let dialing: Vec<ContactId> = self.model.dialing.keys().copied().collect();
                if !dialing.is_empty() {
                    let mut sorted = dialing;
                    sorted.sort();
                    let contact = sorted[n as usize % sorted.len()];
                    let outcome = [
                        DialOutcome::Connected,
                        DialOutcome::NoAnswer,
                        DialOutcome::Busy,
                        DialOutcome::Rejected,
                        DialOutcome::Failed,
                    ][o as usize];
                    self.input(Input::CallbackResult { contact, outcome })?;
                }
            }
        }
        Ok(())
    }

    /// Ends every contact still held, so "ends exactly once" can be checked for all.
    fn finish(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..1000 {
            let Some(contact) = self.pick_alive(0) else {
                break;
            };
            if self.model.dialing.contains_key(&contact) {
                self.input(Input::CallbackResult {
                    contact,
                    outcome: DialOutcome::Connected,
                })?;
            } else {
                self.input(Input::Abandon { contact })?;
            }
        }
        for &contact in &self.model.arrived {
            prop_assert_eq!(
                self.model.ended.get(&contact).copied(),
                Some(1),
                "{:?} did not end once",
                contact
            );
        }
        prop_assert_eq!(self.router.contact_count(), 0);
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 1..300)) {
        let mut run = Run { router: Router::new(center()).unwrap(), now: Time::ZERO, model: Model::default(), next_id: 0 };
        for op in &ops {
            run.apply(op)?;
        }
        run.finish()?;
    }

    /// One queue, equal contacts, agents that always answer: contacts are offered in arrival
    /// order, whatever the timing of arrivals, hang-ups and agents.
    #[test]
    fn first_come_first_served_among_equals(
        steps in proptest::collection::vec((0u8..4, 1u16..30_000), 1..200)
    ) {
        let mut config = RoutingConfig { skills: vec!["s".into()], ..RoutingConfig::default() };
        config.queues.push(QueueConfig::new("q", vec![req(0, 1)]));
        for i in 0..3 {
            config.agents.push(AgentConfig {
                name: format!("a{i}"),
                skills: vec![(SkillId(0), 3)],
                profile: vec![ProfileEntry { queue: QueueId(0), priority: 1, delay: Duration::ZERO }],
                chat_capacity: 0,
            });
        }
        let mut router = Router::new(config).unwrap();
        let mut now = Time::ZERO;
        let mut next = 0u64;
        let mut offered_order = Vec::new();
        let mut talking: Vec<(AgentId, ContactId)> = Vec::new();
        let mut abandoned = HashSet::new();
        for i in 0..3 {
            router.handle(now, Input::Login { agent: AgentId(i) }).unwrap();
        }
        for (action, ms) in steps {
            now = now + Duration::from_millis(u64::from(ms));
            router.handle_timeout(now);
            match action {
                0 | 1 => {
                    next += 1;
                    router.handle(now, Input::Arrive(ContactSpec::call(ContactId(next), QueueId(0)))).unwrap();
                }
                2 => {
                    if let Some(k) = talking.pop() {
                        router.handle(now, Input::Complete { agent: k.0, contact: k.1 }).unwrap();
                    }
                    let agent = AgentId((ms % 3) as u32);
                    router.handle(now, Input::Ready { agent }).unwrap();
                }
                _ => {
                    // The oldest waiting caller hangs up now and then.
                    if next > 0 {
                        let c = ContactId(u64::from(ms) % next + 1);
                        if router.handle(now, Input::Abandon { contact: c }).is_ok() {
                            abandoned.insert(c);
                        }
                    }
                }
            }
            while let Some((_, e)) = router.poll_event() {
                if let Event::OfferCreated { contact, agent, .. } = e {
                    offered_order.push(contact);
                    router.handle(now, Input::Accept { agent, contact }).unwrap();
                    talking.push((agent, contact));
                }
            }
            router.check_invariants().map_err(TestCaseError::fail)?;
        }
        let mut sorted = offered_order.clone();
        sorted.sort();
        prop_assert_eq!(offered_order, sorted);
    }
}
