//! The routing configuration: skills, queues, agents and policies, as plain data.
//!
//! The `hotline-config` crate reads it from TOML; this module only checks that it makes sense
//! ([`RoutingConfig::validate`]) and answers questions about it.

use std::time::Duration;

use crate::types::{AgentId, ContactAttributes, Priority, QueueId, SkillId, SkillRequirement};

/// The most queues a configuration may hold.
pub const MAX_QUEUES: usize = 10_000;
/// The most agents a configuration may hold.
pub const MAX_AGENTS: usize = 200_000;
/// The most skills a configuration may hold.
pub const MAX_SKILLS: usize = 4_096;
/// The most time steps one queue may have.
pub const MAX_STEPS: usize = 16;
/// The most entries an agent's routing profile may hold.
pub const MAX_PROFILE_ENTRIES: usize = 64;
/// The highest proficiency.
pub const MAX_PROFICIENCY: u8 = 5;
/// The most chats one agent may hold at once.
pub const MAX_CHAT_CAPACITY: u8 = 16;
/// The largest priority bonus of any one kind (a tier's, urgency's per level, …).
pub const MAX_PRIORITY_BONUS: Duration = Duration::from_secs(30 * 24 * 3600);

/// Everything the routing core needs to know about the center.
#[derive(Clone, Debug, Default)]
pub struct RoutingConfig {
    /// Skill names; a [`SkillId`] is an index here.
    pub skills: Vec<String>,
    /// Queues; a [`QueueId`] is an index here.
    pub queues: Vec<QueueConfig>,
    /// Agents; an [`AgentId`] is an index here.
    pub agents: Vec<AgentConfig>,
    /// Not-ready reasons after the built-in ones ([`ReasonCode::BUILT_IN`](crate::ReasonCode::BUILT_IN)).
    pub extra_reasons: Vec<String>,
    /// How customer attributes become a priority.
    pub priority: PriorityPolicy,
    /// Offers to agents.
    pub offers: OfferPolicy,
    /// Callbacks (virtual hold and requested callbacks).
    pub callbacks: CallbackPolicy,
    /// Limits on the core's size.
    pub limits: Limits,
}

/// A queue: where contacts of one kind of need wait, and how they are routed.
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// The queue's name, unique in the configuration.
    pub name: String,
    /// Skills every contact of this queue needs, before any time step relaxes them. The first
    /// one is the queue's primary skill, which [`AgentSelection::BestProficiency`] ranks by.
    pub skills: Vec<SkillRequirement>,
    /// Which ready agent gets a contact.
    pub selection: AgentSelection,
    /// Time steps, in increasing `after` order.
    pub steps: Vec<Step>,
    /// What happens to a caller who waits too long.
    pub max_wait: Option<MaxWait>,
    /// How many contacts the queue may hold at once (waiting, ringing an agent, being dialled
    /// or between callback dials); further arrivals are refused.
    pub max_waiting: u32,
    /// After-call work time given to an agent after each contact of this queue.
    pub wrap_up: Duration,
    /// Handle time (talk + wrap-up) assumed before any contact has been handled; the wait
    /// estimate starts from it.
    pub expected_handle_time: Duration,
    /// Service-level threshold: a contact answered within it counts as on time.
    pub service_level_threshold: Duration,
    /// Service-level goal as a fraction (0.8 for 80 %), for reports and alerts.
    pub service_level_goal: f64,
    /// Callers who hang up within this time are not counted against the service level.
    pub short_abandon: Duration,
}

impl QueueConfig {
    /// A queue with the given name and skills and defaults for everything else.
    pub fn new(name: impl Into<String>, skills: Vec<SkillRequirement>) -> QueueConfig {
        QueueConfig {
            name: name.into(),
            skills,
            selection: AgentSelection::LongestIdle,
            steps: Vec::new(),
            max_wait: None,
            max_waiting: 1_000,
            wrap_up: Duration::ZERO,
            expected_handle_time: Duration::from_secs(180),
            service_level_threshold: Duration::from_secs(20),
            service_level_goal: 0.8,
            short_abandon: Duration::from_secs(5),
        }
    }
}

/// How a queue chooses among the ready agents that may take a contact. One offer goes to one
/// agent at a time: there is no ring-all.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum AgentSelection {
    /// The agent idle the longest (since its last contact ended or it became ready).
    #[default]
    LongestIdle,
    /// The agent with the highest proficiency in the queue's primary skill; ties go to the one
    /// idle the longest.
    BestProficiency,
    /// The agent with the least handle time since it logged in; ties go to the one idle the
    /// longest.
    LeastOccupied,
    /// The agent offered a contact from this queue least recently.
    RoundRobin,
}

/// A time step ("bullseye" ring): once a contact has waited `after` in the queue, its
/// requirements and its pool of agents change. Relaxing and dropping apply to every required
/// skill, the queue's and the contact's own (a language, a need tag) alike.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// Time in the queue after which the step applies.
    pub after: Duration,
    /// Lower every required proficiency by this much (never below 1).
    pub relax_proficiency: u8,
    /// Skills no longer required.
    pub drop_skills: Vec<SkillId>,
    /// Skills required from now on; for a skill already required, the stricter level holds
    /// (use `relax_proficiency` to loosen).
    pub add_skills: Vec<SkillRequirement>,
    /// Agents of these queues may take the contact too (another group, or an overflow queue's
    /// "temporary lines").
    pub widen_to: Vec<QueueId>,
    /// Offer the caller a callback that keeps its place.
    pub offer_callback: bool,
}

/// The longest a caller waits in a queue and what happens then.
#[derive(Clone, Debug)]
pub struct MaxWait {
    /// Time in the queue.
    pub after: Duration,
    /// What happens.
    pub action: MaxWaitAction,
}

/// What happens to a caller that reached its queue's maximum wait.
#[derive(Clone, Debug, PartialEq)]
pub enum MaxWaitAction {
    /// Move to another queue, keeping the original arrival time (and so the place).
    Overflow(QueueId),
    /// Leave the center for an outside destination (voicemail, another site), named for the
    /// driver.
    Leave(String),
    /// Turn into a callback that keeps its place; the driver tells the caller and hangs up.
    Callback,
}

/// An agent: skills, routing profile and capacity.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The agent's name (login), unique in the configuration.
    pub name: String,
    /// Skills with proficiency 1 to 5.
    pub skills: Vec<(SkillId, u8)>,
    /// The queues the agent takes contacts from.
    pub profile: Vec<ProfileEntry>,
    /// How many chats at once; voice capacity is always 1.
    pub chat_capacity: u8,
}

/// One queue in an agent's routing profile (as in Amazon Connect routing profiles).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProfileEntry {
    /// The queue.
    pub queue: QueueId,
    /// 1 is the highest: when the agent frees up, it takes the best contact from its
    /// highest-priority queues that have one before looking at lower ones.
    pub priority: u8,
    /// A contact must have waited this long in the queue before this agent may take it
    /// (backup agents).
    pub delay: Duration,
}

/// How customer attributes become a [`Priority`].
#[derive(Clone, Debug)]
pub struct PriorityPolicy {
    /// Customer tiers (membership levels), indexed by [`ContactAttributes::tier`].
    pub tiers: Vec<TierPriority>,
    /// Bonus for each level of urgency.
    pub urgency_bonus: Duration,
    /// Bonus for a customer who prefers a human.
    pub prefer_human_bonus: Duration,
    /// Customers with a value score at or above this get `high_value_bonus`.
    pub high_value_threshold: Option<u32>,
    /// Bonus for high-value customers.
    pub high_value_bonus: Duration,
}

impl Default for PriorityPolicy {
    fn default() -> PriorityPolicy {
        PriorityPolicy {
            tiers: vec![TierPriority {
                name: "standard".into(),
                class: 0,
                bonus: Duration::ZERO,
            }],
            urgency_bonus: Duration::ZERO,
            prefer_human_bonus: Duration::ZERO,
            high_value_threshold: None,
            high_value_bonus: Duration::ZERO,
        }
    }
}

impl PriorityPolicy {
    /// The priority of a contact with these attributes. An unknown tier counts as tier 0.
    pub fn priority_for(&self, attributes: &ContactAttributes) -> Priority {
        let tier = self
            .tiers
            .get(attributes.tier as usize)
            .or_else(|| self.tiers.first());
        let (class, mut bonus) = tier.map_or((0, Duration::ZERO), |t| (t.class, t.bonus));
        bonus = bonus.saturating_add(
            self.urgency_bonus
                .saturating_mul(u32::from(attributes.urgency)),
        );
        if attributes.prefer_human {
            bonus = bonus.saturating_add(self.prefer_human_bonus);
        }
        if self
            .high_value_threshold
            .is_some_and(|threshold| attributes.value_score >= threshold)
        {
            bonus = bonus.saturating_add(self.high_value_bonus);
        }
        Priority { class, bonus }
    }
}

/// A customer tier's place in the order.
#[derive(Clone, Debug)]
pub struct TierPriority {
    /// The tier's name (for example "vip").
    pub name: String,
    /// The priority class of the tier's contacts.
    pub class: u8,
    /// The bonus of the tier's contacts within their class.
    pub bonus: Duration,
}

/// Offers to agents.
#[derive(Clone, Debug)]
pub struct OfferPolicy {
    /// An offer not accepted within this time is withdrawn and counts as missed.
    pub offer_timeout: Duration,
    /// After this many missed offers in a row the agent is made not ready; 0: never.
    pub max_missed_offers: u32,
    /// An agent that rejected or missed a contact is not offered it again for this long.
    pub reoffer_after: Duration,
}

impl Default for OfferPolicy {
    fn default() -> OfferPolicy {
        OfferPolicy {
            offer_timeout: Duration::from_secs(20),
            max_missed_offers: 2,
            reoffer_after: Duration::from_secs(30),
        }
    }
}

/// Callbacks: how many dials and how long between them.
#[derive(Clone, Debug)]
pub struct CallbackPolicy {
    /// Dials at most per callback; after the last failed one the callback fails.
    pub max_attempts: u32,
    /// Wait before the next dial after no answer.
    pub retry_after_no_answer: Duration,
    /// Wait before the next dial after a busy line.
    pub retry_after_busy: Duration,
    /// Wait before the next dial after the customer rejected the call.
    pub retry_after_rejected: Duration,
    /// Wait before the next dial after a network or trunk failure.
    pub retry_after_failure: Duration,
}

impl Default for CallbackPolicy {
    fn default() -> CallbackPolicy {
        CallbackPolicy {
            max_attempts: 3,
            retry_after_no_answer: Duration::from_secs(600),
            retry_after_busy: Duration::from_secs(300),
            retry_after_rejected: Duration::from_secs(1800),
            retry_after_failure: Duration::from_secs(120),
        }
    }
}

/// Limits on the routing core's size.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The most contacts held at once (waiting, offered, dialling or between callback
    /// attempts); further arrivals are refused.
    pub max_contacts: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_contacts: 1_000_000,
        }
    }
}

/// A configuration that does not make sense, with the path of the field at fault
/// (for example `queues[2].steps[0].widen_to`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field at fault, as a path into the configuration.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn err(path: String, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path,
        message: message.into(),
    }
}

impl RoutingConfig {
    /// The queue called `name`.
    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.queues
            .iter()
            .position(|q| q.name == name)
            .map(|i| QueueId(i as u32))
    }

    /// The agent called `name`.
    pub fn agent_id(&self, name: &str) -> Option<AgentId> {
        self.agents
            .iter()
            .position(|a| a.name == name)
            .map(|i| AgentId(i as u32))
    }

    /// The skill called `name`.
    pub fn skill_id(&self, name: &str) -> Option<SkillId> {
        self.skills
            .iter()
            .position(|s| s == name)
            .map(|i| SkillId(i as u16))
    }

    /// Checks every reference and limit, and that every queue can be served by some agent.
    /// Returns every problem found, in the order of the configuration.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        if self.skills.len() > MAX_SKILLS {
            errors.push(err("skills".into(), format!("at most {MAX_SKILLS} skills")));
        }
        if self.queues.is_empty() {
            errors.push(err("queues".into(), "at least one queue is needed"));
        }
        if self.queues.len() > MAX_QUEUES {
            errors.push(err("queues".into(), format!("at most {MAX_QUEUES} queues")));
        }
        if self.agents.len() > MAX_AGENTS {
            errors.push(err("agents".into(), format!("at most {MAX_AGENTS} agents")));
        }
        if self.priority.tiers.is_empty() {
            errors.push(err("priority.tiers".into(), "at least one tier is needed"));
        }
        if self.priority.tiers.len() > 256 {
            errors.push(err("priority.tiers".into(), "at most 256 tiers"));
        }
        if self.callbacks.max_attempts == 0 {
            errors.push(err("callbacks.max_attempts".into(), "must be at least 1"));
        }
        if self.offers.offer_timeout.is_zero() {
            errors.push(err(
                "offers.offer_timeout".into(),
                "must be longer than zero",
            ));
        }
        if self.offers.reoffer_after.is_zero() {
            errors.push(err(
                "offers.reoffer_after".into(),
                "must be longer than zero, or a contact bounces straight back to the agent that declined it",
            ));
        }
        let bonuses = [
            (
                "priority.urgency_bonus".to_string(),
                self.priority.urgency_bonus,
            ),
            (
                "priority.prefer_human_bonus".to_string(),
                self.priority.prefer_human_bonus,
            ),
            (
                "priority.high_value_bonus".to_string(),
                self.priority.high_value_bonus,
            ),
        ]
        .into_iter()
        .chain(
            self.priority
                .tiers
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("priority.tiers[{i}].bonus"), t.bonus)),
        );
        for (path, bonus) in bonuses {
            if bonus > MAX_PRIORITY_BONUS {
                errors.push(err(
                    path,
                    format!("at most {} days", MAX_PRIORITY_BONUS.as_secs() / 86_400),
                ));
            }
        }
        if crate::types::ReasonCode::BUILT_IN.len() + self.extra_reasons.len() > u16::MAX as usize {
            errors.push(err("reasons".into(), "too many not-ready reasons"));
        }
        let n_skills = self.skills.len();
        let n_queues = self.queues.len();
        let check_skill = |errors: &mut Vec<ConfigError>, path: String, skill: SkillId| {
            if skill.index() >= n_skills {
                errors.push(err(path, format!("unknown skill {}", skill.0)));
            }
        };
        let check_requirement =
            |errors: &mut Vec<ConfigError>, path: String, requirement: &SkillRequirement| {
                check_skill(errors, format!("{path}.skill"), requirement.skill);
                if !(1..=MAX_PROFICIENCY).contains(&requirement.min_proficiency) {
                    errors.push(err(
                        format!("{path}.min_proficiency"),
                        format!(
                            "proficiency must be 1 to {MAX_PROFICIENCY}, not {}",
                            requirement.min_proficiency
                        ),
                    ));
                }
            };
        let check_queue = |errors: &mut Vec<ConfigError>, path: String, queue: QueueId| {
            if queue.index() >= n_queues {
                errors.push(err(path, format!("unknown queue {}", queue.0)));
            }
        };
        // Names seen, for repeats: a set, not a scan of the queues before (10,000 queues made
        // that 50 million comparisons, at every reload).
        let mut queue_names = std::collections::HashSet::with_capacity(self.queues.len());
        for (qi, queue) in self.queues.iter().enumerate() {
            let path = format!("queues[{qi}]");
            if queue.name.is_empty() {
                errors.push(err(format!("{path}.name"), "a queue needs a name"));
            }
            if !queue_names.insert(queue.name.as_str()) {
                errors.push(err(
                    format!("{path}.name"),
                    format!("queue name {:?} is used twice", queue.name),
                ));
            }
            for (i, r) in queue.skills.iter().enumerate() {
                check_requirement(&mut errors, format!("{path}.skills[{i}]"), r);
            }
            if queue.max_waiting == 0 {
                errors.push(err(format!("{path}.max_waiting"), "must be at least 1"));
            }
            if !(0.0..=1.0).contains(&queue.service_level_goal) {
                errors.push(err(
                    format!("{path}.service_level_goal"),
                    "must be a fraction from 0 to 1",
                ));
            }
            if queue.steps.len() > MAX_STEPS {
                errors.push(err(
                    format!("{path}.steps"),
                    format!("at most {MAX_STEPS} steps"),
                ));
            }
            for (si, step) in queue.steps.iter().enumerate() {
                let spath = format!("{path}.steps[{si}]");
                if si > 0 && step.after < queue.steps[si - 1].after {
                    errors.push(err(
                        format!("{spath}.after"),
                        "steps must be in increasing `after` order",
                    ));
                }
                for (i, s) in step.drop_skills.iter().enumerate() {
                    check_skill(&mut errors, format!("{spath}.drop_skills[{i}]"), *s);
                }
                for (i, r) in step.add_skills.iter().enumerate() {
                    check_requirement(&mut errors, format!("{spath}.add_skills[{i}]"), r);
                }
                for (i, q) in step.widen_to.iter().enumerate() {
                    check_queue(&mut errors, format!("{spath}.widen_to[{i}]"), *q);
                    if q.index() == qi {
                        errors.push(err(
                            format!("{spath}.widen_to[{i}]"),
                            "a queue cannot widen to itself",
                        ));
                    }
                }
            }
            if queue.max_wait.as_ref().is_some_and(|m| m.after.is_zero()) {
                errors.push(err(
                    format!("{path}.max_wait.after"),
                    "must be longer than zero",
                ));
            }
            if let Some(MaxWait {
                action: MaxWaitAction::Overflow(target),
                ..
            }) = &queue.max_wait
            {
                check_queue(&mut errors, format!("{path}.max_wait.action"), *target);
                if target.index() == qi {
                    errors.push(err(
                        format!("{path}.max_wait.action"),
                        "a queue cannot overflow to itself",
                    ));
                }
            }
        }
        for (ai, agent) in self.agents.iter().enumerate() {
            let path = format!("agents[{ai}]");
            if agent.name.is_empty() {
                errors.push(err(format!("{path}.name"), "an agent needs a name"));
            }
            for (i, (skill, level)) in agent.skills.iter().enumerate() {
                check_skill(&mut errors, format!("{path}.skills[{i}]"), *skill);
                if agent.skills[..i].iter().any(|(s, _)| s == skill) {
                    errors.push(err(format!("{path}.skills[{i}]"), "a skill appears twice"));
                }
                if !(1..=MAX_PROFICIENCY).contains(level) {
                    errors.push(err(
                        format!("{path}.skills[{i}]"),
                        format!("proficiency must be 1 to {MAX_PROFICIENCY}, not {level}"),
                    ));
                }
            }
            if agent.profile.len() > MAX_PROFILE_ENTRIES {
                errors.push(err(
                    format!("{path}.profile"),
                    format!("at most {MAX_PROFILE_ENTRIES} queues"),
                ));
            }
            for (i, entry) in agent.profile.iter().enumerate() {
                check_queue(
                    &mut errors,
                    format!("{path}.profile[{i}].queue"),
                    entry.queue,
                );
                if agent.profile[..i].iter().any(|e| e.queue == entry.queue) {
                    errors.push(err(
                        format!("{path}.profile[{i}].queue"),
                        "a queue appears twice in the profile",
                    ));
                }
            }
            if agent.chat_capacity > MAX_CHAT_CAPACITY {
                errors.push(err(
                    format!("{path}.chat_capacity"),
                    format!("at most {MAX_CHAT_CAPACITY}"),
                ));
            }
        }
        if errors.is_empty() {
            // Only meaningful once every reference is known to be good.
            if let Some(cycle) = self.overflow_cycle() {
                errors.push(err(
                    format!("queues[{}].max_wait.action", cycle[0].0),
                    format!(
                        "overflow goes round in a circle: {}",
                        cycle
                            .iter()
                            .map(|q| self.queues[q.index()].name.as_str())
                            .chain(std::iter::once(self.queues[cycle[0].index()].name.as_str()))
                            .collect::<Vec<_>>()
                            .join(" → ")
                    ),
                ));
            }
            // Agents by queue in their profile, so each queue looks only at its own.
            let mut agents_of: Vec<Vec<&AgentConfig>> = vec![Vec::new(); self.queues.len()];
            for agent in &self.agents {
                for entry in &agent.profile {
                    agents_of[entry.queue.index()].push(agent);
                }
            }
            for (qi, queue) in self.queues.iter().enumerate() {
                if !self.some_agent_serves(QueueId(qi as u32), &agents_of) {
                    errors.push(err(
                        format!("queues[{qi}]"),
                        format!(
                            "no agent can serve queue {:?}: no agent has it in its profile with the skills {}",
                            queue.name,
                            self.describe_requirements(&queue.skills)
                        ),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// A chain of queue-to-queue overflows that comes back to where it started, if any.
    fn overflow_cycle(&self) -> Option<Vec<QueueId>> {
        let next = |q: QueueId| match &self.queues[q.index()].max_wait {
            Some(MaxWait {
                action: MaxWaitAction::Overflow(to),
                ..
            }) => Some(*to),
            _ => None,
        };
        // Each queue has at most one overflow target: follow the chain from every queue.
        let mut done = vec![false; self.queues.len()];
        for start in 0..self.queues.len() {
            let mut chain: Vec<QueueId> = Vec::new();
            let mut at = Some(QueueId(start as u32));
            while let Some(q) = at {
                if done[q.index()] {
                    break;
                }
                if let Some(i) = chain.iter().position(|c| *c == q) {
                    return Some(chain[i..].to_vec());
                }
                chain.push(q);
                at = next(q);
            }
            for q in chain {
                done[q.index()] = true;
            }
        }
        None
    }

    /// Whether some agent has `queue` in its profile and the queue's base skills, or could take
    /// its contacts after a step relaxes or widens them.
    fn some_agent_serves(&self, queue: QueueId, agents_of: &[Vec<&AgentConfig>]) -> bool {
        let q = &self.queues[queue.index()];
        // Requirements and pools at each step (step 0 = before any).
        let mut requirements: Vec<SkillRequirement> = q.skills.clone();
        let mut pools = vec![queue];
        let mut stages = vec![(requirements.clone(), pools.clone())];
        for step in &q.steps {
            requirements = apply_step(&requirements, step);
            pools.extend(step.widen_to.iter().copied());
            stages.push((requirements.clone(), pools.clone()));
        }
        stages.iter().any(|(requirements, pools)| {
            pools.iter().any(|pool| {
                agents_of[pool.index()].iter().any(|agent| {
                    requirements.iter().all(|r| {
                        agent
                            .skills
                            .iter()
                            .any(|(s, level)| *s == r.skill && *level >= r.min_proficiency)
                    })
                })
            })
        })
    }

    fn describe_requirements(&self, requirements: &[SkillRequirement]) -> String {
        if requirements.is_empty() {
            return "(none)".into();
        }
        requirements
            .iter()
            .map(|r| {
                let name = self.skills.get(r.skill.index()).map_or("?", String::as_str);
                format!("{name}>={}", r.min_proficiency)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The requirements after one step: relax, drop, then add.
pub(crate) fn apply_step(requirements: &[SkillRequirement], step: &Step) -> Vec<SkillRequirement> {
    let mut out: Vec<SkillRequirement> = requirements
        .iter()
        .filter(|r| !step.drop_skills.contains(&r.skill))
        .map(|r| SkillRequirement {
            skill: r.skill,
            min_proficiency: r
                .min_proficiency
                .saturating_sub(step.relax_proficiency)
                .max(1),
        })
        .collect();
    for add in &step.add_skills {
        merge_requirement(&mut out, *add);
    }
    out
}

/// Adds a requirement, keeping the stricter level where the skill is already required.
pub(crate) fn merge_requirement(requirements: &mut Vec<SkillRequirement>, add: SkillRequirement) {
    match requirements.iter_mut().find(|r| r.skill == add.skill) {
        Some(existing) => {
            existing.min_proficiency = existing.min_proficiency.max(add.min_proficiency)
        }
        None => requirements.push(add),
    }
}
