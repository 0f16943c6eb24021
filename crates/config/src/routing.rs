//! The `[routing]` table: skills, queues, agents and policies, read into a
//! [`RoutingConfig`] with every name resolved to its identifier.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use hotline_routing::{
    AgentConfig, AgentId, AgentSelection, MaxWait, MaxWaitAction, ProfileEntry, QueueConfig,
    QueueId, ReasonCode, RoutingConfig, SkillId, SkillRequirement, Step, TierPriority, MAX_AGENTS,
};
use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use crate::diagnostic::{deserialize_value, Diagnostic, Source};
use crate::locate::{merge_groups, AgentEntry, Locations};
use crate::values::{parse_profile_ref, parse_service_level, parse_skill_ref, Dur, Selection};

/// The `[routing]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRouting {
    skills: Option<Spanned<Vec<Spanned<String>>>>,
    reasons: Option<Spanned<Vec<Spanned<String>>>>,
    priority: Option<Spanned<RawPriority>>,
    offers: Option<Spanned<RawOffers>>,
    callbacks: Option<Spanned<RawCallbacks>>,
    limits: Option<Spanned<RawLimits>>,
    #[serde(default)]
    queues: Vec<Spanned<RawQueue>>,
    #[serde(default)]
    agents: Vec<Spanned<RawAgent>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPriority {
    urgency_bonus: Option<Dur>,
    prefer_human_bonus: Option<Dur>,
    high_value_threshold: Option<u32>,
    high_value_bonus: Option<Dur>,
    tiers: Option<Spanned<Vec<Spanned<RawTier>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    name: Spanned<String>,
    #[serde(default)]
    class: u8,
    bonus: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffers {
    offer_timeout: Option<Spanned<Dur>>,
    max_missed_offers: Option<u32>,
    reoffer_after: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCallbacks {
    max_attempts: Option<Spanned<u32>>,
    retry_after_no_answer: Option<Dur>,
    retry_after_busy: Option<Dur>,
    retry_after_rejected: Option<Dur>,
    retry_after_failure: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_contacts: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    name: Spanned<String>,
    #[serde(default)]
    skills: Vec<Spanned<String>>,
    selection: Option<Selection>,
    max_waiting: Option<Spanned<u32>>,
    wrap_up: Option<Dur>,
    expected_handle_time: Option<Dur>,
    service_level: Option<Spanned<String>>,
    short_abandon: Option<Dur>,
    max_wait: Option<Spanned<RawMaxWait>>,
    #[serde(default)]
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaxWait {
    after: Dur,
    overflow: Option<Spanned<String>>,
    leave: Option<Spanned<String>>,
    callback: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    after: Spanned<Dur>,
    #[serde(default)]
    relax_proficiency: u8,
    #[serde(default)]
    drop_skills: Vec<Spanned<String>>,
    #[serde(default)]
    add_skills: Vec<Spanned<String>>,
    #[serde(default)]
    widen_to: Vec<Spanned<String>>,
    #[serde(default)]
    offer_callback: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    name: Spanned<String>,
    count: Option<Spanned<u32>>,
    #[serde(default)]
    skills: Vec<Spanned<String>>,
    #[serde(default)]
    queues: Vec<Spanned<String>>,
    chat_capacity: Option<Spanned<u8>>,
}

/// Identifiers put where a name did not resolve. They make `validate()` fail at the same
/// path, which keeps it from judging whether queues can be served on a configuration with
/// holes in it; its complaint there is dropped in favour of the one that names the name.
const UNKNOWN_SKILL: SkillId = SkillId(u16::MAX);
const UNKNOWN_QUEUE: QueueId = QueueId(u32::MAX);
pub(crate) const UNKNOWN_AGENT: AgentId = AgentId(u32::MAX);

/// Adds an agent with an unknown skill, so that `validate()` is sure to find a fault and so
/// does not judge whether queues can be served: on a configuration read with problems (an
/// agent entry left out, a profile entry that did not parse) that judgement would only repeat
/// them. Returns the path of the fault it adds, to leave out.
pub(crate) fn add_hole(config: &mut RoutingConfig) -> String {
    let path = format!("agents[{}].skills[0]", config.agents.len());
    config.agents.push(AgentConfig {
        name: "(placeholder)".into(),
        skills: vec![(UNKNOWN_SKILL, 1)],
        profile: Vec::new(),
        chat_capacity: 0,
    });
    path
}

/// How many digits the number in an expanded agent's name has: the width of `count`, at
/// least 3 (`acct-001`).
pub(crate) fn agent_number_width(count: usize) -> usize {
    count.to_string().len().max(3)
}

/// The name of the agent at `offset` (from 0) of an entry with `count > 1`: `acct-017`.
pub(crate) fn agent_name(prefix: &str, offset: usize, width: usize) -> String {
    format!("{prefix}-{:0width$}", offset + 1)
}

/// A list of names for a message: `a, b, c`, cut short after a few.
pub(crate) fn known(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    const SHOWN_MAX: usize = 12;
    let mut shown: Vec<String> = Vec::new();
    let mut more = 0;
    for name in names {
        if shown.len() < SHOWN_MAX {
            shown.push(name.as_ref().to_string());
        } else {
            more += 1;
        }
    }
    match (shown.is_empty(), more) {
        (true, _) => "none".into(),
        (false, 0) => shown.join(", "),
        (false, more) => format!("{} and {more} more", shown.join(", ")),
    }
}

/// The routing configuration read from a `[routing]` table, with what is needed to resolve
/// the scenario's references into it and to place `validate()`'s complaints.
pub(crate) struct ResolvedRouting {
    /// The configuration, not yet validated.
    pub config: RoutingConfig,
    /// Problems found while reading (unknown names and malformed values).
    pub diagnostics: Vec<Diagnostic>,
    /// Where each part came from.
    pub locations: Locations,
    skills: HashMap<String, SkillId>,
    queues: HashMap<String, QueueId>,
    /// Every queue's name in order, known before the queues themselves are read.
    queue_order: Vec<String>,
    agents: HashMap<String, AgentId>,
    tiers: HashMap<String, u8>,
    /// Entry name → index into `locations.agent_entries`.
    agent_entries: HashMap<String, usize>,
}

impl ResolvedRouting {
    /// The problems found reading the table followed by those `RoutingConfig::validate`
    /// finds, each placed in the file; the latter are judged on the configuration as read,
    /// with placeholders where names did not resolve.
    pub fn check(&mut self, src: &Source<'_>) -> Vec<Diagnostic> {
        let mut diagnostics = std::mem::take(&mut self.diagnostics);
        let (result, hole) = if diagnostics.is_empty() {
            (self.config.validate(), None)
        } else {
            let mut probe = self.config.clone();
            let hole = add_hole(&mut probe);
            (probe.validate(), Some(hole))
        };
        if let Err(errors) = result {
            let located = errors
                .iter()
                .filter(|e| Some(&e.path) != hole.as_ref())
                .filter_map(|e| self.locations.diagnose(src, &e.path, &e.message, "routing"))
                .collect();
            diagnostics.extend(merge_groups(located));
        }
        diagnostics
    }

    /// The skill called `name`.
    pub fn skill(&self, name: &str) -> Option<SkillId> {
        self.skills.get(name).copied()
    }

    /// The queue called `name`.
    pub fn queue(&self, name: &str) -> Option<QueueId> {
        self.queues.get(name).copied()
    }

    /// The agent called `name` (an expanded name such as `acct-017`).
    pub fn agent(&self, name: &str) -> Option<AgentId> {
        self.agents.get(name).copied()
    }

    /// The tier called `name`.
    pub fn tier(&self, name: &str) -> Option<u8> {
        self.tiers.get(name).copied()
    }

    /// The `[[routing.agents]]` entry called `name`.
    pub fn agent_entry(&self, name: &str) -> Option<&AgentEntry> {
        self.agent_entries
            .get(name)
            .map(|&i| &self.locations.agent_entries[i])
    }

    /// Known queue names, for messages.
    pub fn queue_names(&self) -> String {
        known(&self.queue_order)
    }

    /// Known skill names, for messages.
    pub fn skill_names(&self) -> String {
        known(&self.config.skills)
    }

    /// Known tier names, for messages.
    pub fn tier_names(&self) -> String {
        known(self.config.priority.tiers.iter().map(|t| &t.name))
    }

    /// Reads a skill requirement (`"zh"` or `"zh:2"`, level 1 by default), recording its
    /// place at `path`; on a problem reports it and returns a placeholder.
    pub fn requirement(
        &mut self,
        src: &Source<'_>,
        text: &Spanned<String>,
        path: String,
        field: String,
    ) -> SkillRequirement {
        self.locations
            .value(path.clone(), text.span(), field.clone());
        let problem = match parse_skill_ref(text.get_ref()) {
            Err(message) => message,
            Ok(r) => match self.skill(r.name) {
                Some(skill) => {
                    return SkillRequirement {
                        skill,
                        min_proficiency: r.level.unwrap_or(1),
                    }
                }
                None => format!(
                    "unknown skill {:?}; known skills: {}",
                    r.name,
                    self.skill_names()
                ),
            },
        };
        self.diagnostics.push(src.at(text.span(), field, problem));
        self.locations.suppress(path);
        SkillRequirement {
            skill: UNKNOWN_SKILL,
            min_proficiency: 1,
        }
    }

    /// Resolves a queue name, recording its place at `path`; on a problem reports it and
    /// returns a placeholder.
    fn queue_ref(
        &mut self,
        src: &Source<'_>,
        name: &Spanned<String>,
        path: String,
        field: String,
    ) -> QueueId {
        self.locations
            .value(path.clone(), name.span(), field.clone());
        if let Some(id) = self.queue(name.get_ref()) {
            return id;
        }
        let message = format!(
            "unknown queue {:?}; known queues: {}",
            name.get_ref(),
            self.queue_names()
        );
        self.diagnostics.push(src.at(name.span(), field, message));
        self.locations.suppress(path);
        UNKNOWN_QUEUE
    }
}

/// Reads the `[routing]` table: the one serde error that stops deserializing, or the
/// configuration with the problems found resolving its names.
pub(crate) fn read_routing(
    src: &Source<'_>,
    section: Spanned<DeValue<'_>>,
) -> Result<ResolvedRouting, Diagnostic> {
    let span = section.span();
    let raw: RawRouting = deserialize_value(src, "routing", section)?;
    Ok(resolve(src, raw, span))
}

fn resolve(src: &Source<'_>, raw: RawRouting, section: Range<usize>) -> ResolvedRouting {
    let mut r = ResolvedRouting {
        config: RoutingConfig::default(),
        diagnostics: Vec::new(),
        locations: Locations::new(section.clone()),
        skills: HashMap::new(),
        queues: HashMap::new(),
        queue_order: Vec::new(),
        agents: HashMap::new(),
        tiers: HashMap::new(),
        agent_entries: HashMap::new(),
    };
    let RawRouting {
        skills,
        reasons,
        priority,
        offers,
        callbacks,
        limits,
        queues,
        agents,
    } = raw;

    for name in ["queues", "agents"] {
        r.locations
            .table(name, section.clone(), format!("routing.{name}"));
    }
    resolve_skills(src, &mut r, skills, &section);
    resolve_reasons(src, &mut r, reasons, &section);
    resolve_priority(src, &mut r, priority, &section);
    resolve_policies(&mut r, offers, callbacks, limits, &section);

    // Names first, so that a step may widen to, or overflow into, a queue defined later.
    for (qi, queue) in queues.iter().enumerate() {
        let name = queue.get_ref().name.get_ref();
        if name.contains(':') {
            r.diagnostics.push(src.at(
                queue.get_ref().name.span(),
                format!("routing.queues[{qi}].name"),
                format!("a queue name cannot contain ':' ({name:?}); it separates the priority in an agent's queues"),
            ));
        }
        r.queues.entry(name.clone()).or_insert(QueueId(qi as u32));
        r.queue_order.push(name.clone());
    }
    for (qi, queue) in queues.into_iter().enumerate() {
        let config = resolve_queue(src, &mut r, qi, queue);
        r.config.queues.push(config);
    }
    for (entry, agent) in agents.into_iter().enumerate() {
        resolve_agent(src, &mut r, entry, agent);
    }
    r
}

fn resolve_skills(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    skills: Option<Spanned<Vec<Spanned<String>>>>,
    section: &Range<usize>,
) {
    let span = skills.as_ref().map_or(section.clone(), |s| s.span());
    r.locations.table("skills", span, "routing.skills");
    for (i, name) in skills
        .map(Spanned::into_inner)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let field = format!("routing.skills[{i}]");
        let text = name.get_ref();
        if text.is_empty() || text.contains(':') {
            r.diagnostics.push(src.at(
                name.span(),
                field,
                format!("a skill name must not be empty or contain ':' ({text:?}); ':' separates the proficiency"),
            ));
        } else if r.skills.contains_key(text) {
            r.diagnostics.push(src.at(
                name.span(),
                field,
                format!("skill {text:?} is listed twice"),
            ));
            continue;
        }
        let id = SkillId(r.config.skills.len() as u16);
        r.skills.insert(text.clone(), id);
        r.config.skills.push(name.into_inner());
    }
}

fn resolve_reasons(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    reasons: Option<Spanned<Vec<Spanned<String>>>>,
    section: &Range<usize>,
) {
    let span = reasons.as_ref().map_or(section.clone(), |s| s.span());
    r.locations.table("reasons", span, "routing.reasons");
    for (i, name) in reasons
        .map(Spanned::into_inner)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let text = name.get_ref();
        let problem = if ReasonCode::BUILT_IN.contains(&text.as_str()) {
            Some(format!(
                "{text:?} is a built-in reason ({}); list only extra ones",
                ReasonCode::BUILT_IN.join(", ")
            ))
        } else if r.config.extra_reasons.contains(text) {
            Some(format!("reason {text:?} is listed twice"))
        } else if text.is_empty() {
            Some("a reason needs a name".into())
        } else {
            None
        };
        match problem {
            Some(message) => {
                r.diagnostics
                    .push(src.at(name.span(), format!("routing.reasons[{i}]"), message))
            }
            None => r.config.extra_reasons.push(name.into_inner()),
        }
    }
}

fn resolve_priority(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    priority: Option<Spanned<RawPriority>>,
    section: &Range<usize>,
) {
    let span = priority.as_ref().map_or(section.clone(), |p| p.span());
    r.locations
        .table("priority", span.clone(), "routing.priority");
    let policy = &mut r.config.priority;
    if let Some(priority) = priority {
        let p = priority.into_inner();
        let defaults = hotline_routing::PriorityPolicy::default();
        policy.urgency_bonus = p.urgency_bonus.map_or(defaults.urgency_bonus, |d| d.0);
        policy.prefer_human_bonus = p
            .prefer_human_bonus
            .map_or(defaults.prefer_human_bonus, |d| d.0);
        policy.high_value_threshold = p.high_value_threshold.or(defaults.high_value_threshold);
        policy.high_value_bonus = p
            .high_value_bonus
            .map_or(defaults.high_value_bonus, |d| d.0);
        if let Some(tiers) = p.tiers {
            r.locations
                .table("priority.tiers", tiers.span(), "routing.priority.tiers");
            policy.tiers.clear();
            for (i, tier) in tiers.into_inner().into_iter().enumerate() {
                let tier = tier.into_inner();
                let name = tier.name.get_ref();
                if policy.tiers.iter().any(|t| &t.name == name) {
                    r.diagnostics.push(src.at(
                        tier.name.span(),
                        format!("routing.priority.tiers[{i}].name"),
                        format!("tier {name:?} is listed twice"),
                    ));
                }
                policy.tiers.push(TierPriority {
                    name: tier.name.into_inner(),
                    class: tier.class,
                    bonus: tier.bonus.map_or(Duration::ZERO, |d| d.0),
                });
            }
        }
    }
    for (i, tier) in r.config.priority.tiers.iter().enumerate() {
        if i <= usize::from(u8::MAX) {
            r.tiers.entry(tier.name.clone()).or_insert(i as u8);
        }
    }
}

fn resolve_policies(
    r: &mut ResolvedRouting,
    offers: Option<Spanned<RawOffers>>,
    callbacks: Option<Spanned<RawCallbacks>>,
    limits: Option<Spanned<RawLimits>>,
    section: &Range<usize>,
) {
    let span_of = |s: Option<Range<usize>>| s.unwrap_or_else(|| section.clone());
    r.locations.table(
        "offers",
        span_of(offers.as_ref().map(Spanned::span)),
        "routing.offers",
    );
    r.locations.table(
        "callbacks",
        span_of(callbacks.as_ref().map(Spanned::span)),
        "routing.callbacks",
    );
    r.locations.table(
        "limits",
        span_of(limits.as_ref().map(Spanned::span)),
        "routing.limits",
    );
    if let Some(offers) = offers {
        let o = offers.into_inner();
        let policy = &mut r.config.offers;
        if let Some(t) = o.offer_timeout {
            r.locations.value(
                "offers.offer_timeout",
                t.span(),
                "routing.offers.offer_timeout",
            );
            policy.offer_timeout = t.into_inner().0;
        }
        if let Some(n) = o.max_missed_offers {
            policy.max_missed_offers = n;
        }
        if let Some(d) = o.reoffer_after {
            policy.reoffer_after = d.0;
        }
    }
    if let Some(callbacks) = callbacks {
        let c = callbacks.into_inner();
        let policy = &mut r.config.callbacks;
        if let Some(n) = c.max_attempts {
            r.locations.value(
                "callbacks.max_attempts",
                n.span(),
                "routing.callbacks.max_attempts",
            );
            policy.max_attempts = n.into_inner();
        }
        let retries = [
            (c.retry_after_no_answer, &mut policy.retry_after_no_answer),
            (c.retry_after_busy, &mut policy.retry_after_busy),
            (c.retry_after_rejected, &mut policy.retry_after_rejected),
            (c.retry_after_failure, &mut policy.retry_after_failure),
        ];
        for (given, slot) in retries {
            if let Some(d) = given {
                *slot = d.0;
            }
        }
    }
    if let Some(max_contacts) = limits.and_then(|l| l.into_inner().max_contacts) {
        r.config.limits.max_contacts = max_contacts;
    }
}

fn resolve_queue(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    qi: usize,
    queue: Spanned<RawQueue>,
) -> QueueConfig {
    let path = format!("queues[{qi}]");
    let field = format!("routing.queues[{qi}]");
    r.locations.table(&path, queue.span(), &field);
    let q = queue.into_inner();
    r.locations.value(
        format!("{path}.name"),
        q.name.span(),
        format!("{field}.name"),
    );

    let skills = q
        .skills
        .iter()
        .enumerate()
        .map(|(i, s)| {
            r.requirement(
                src,
                s,
                format!("{path}.skills[{i}]"),
                format!("{field}.skills[{i}]"),
            )
        })
        .collect();
    let mut config = QueueConfig::new(q.name.into_inner(), skills);
    if let Some(selection) = q.selection {
        config.selection = match selection {
            Selection::LongestIdle => AgentSelection::LongestIdle,
            Selection::BestProficiency => AgentSelection::BestProficiency,
            Selection::LeastOccupied => AgentSelection::LeastOccupied,
            Selection::RoundRobin => AgentSelection::RoundRobin,
        };
    }
    if let Some(n) = q.max_waiting {
        r.locations.value(
            format!("{path}.max_waiting"),
            n.span(),
            format!("{field}.max_waiting"),
        );
        config.max_waiting = n.into_inner();
    }
    if let Some(d) = q.wrap_up {
        config.wrap_up = d.0;
    }
    if let Some(d) = q.expected_handle_time {
        config.expected_handle_time = d.0;
    }
    if let Some(d) = q.short_abandon {
        config.short_abandon = d.0;
    }
    if let Some(level) = q.service_level {
        let level_field = format!("{field}.service_level");
        for part in ["service_level_goal", "service_level_threshold"] {
            r.locations
                .value(format!("{path}.{part}"), level.span(), &level_field);
        }
        match parse_service_level(level.get_ref()) {
            Ok((goal, threshold)) => {
                config.service_level_goal = goal;
                config.service_level_threshold = threshold;
            }
            Err(message) => r
                .diagnostics
                .push(src.at(level.span(), level_field, message)),
        }
    }
    if let Some(max_wait) = q.max_wait {
        config.max_wait = resolve_max_wait(src, r, &path, &field, max_wait);
    }
    r.locations.table(
        format!("{path}.steps"),
        config_span(&r.locations, &path),
        format!("{field}.steps"),
    );
    for (si, step) in q.steps.into_iter().enumerate() {
        let step = resolve_step(
            src,
            r,
            &format!("{path}.steps[{si}]"),
            &format!("{field}.steps[{si}]"),
            step,
        );
        config.steps.push(step);
    }
    config
}

/// The span recorded for a table path (the queue's entry), for lists inside it that carry
/// no span of their own.
fn config_span(locations: &Locations, path: &str) -> Range<usize> {
    locations
        .span_of(path)
        .unwrap_or_else(|| locations.fallback.clone())
}

fn resolve_max_wait(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    path: &str,
    field: &str,
    max_wait: Spanned<RawMaxWait>,
) -> Option<MaxWait> {
    let span = max_wait.span();
    r.locations.table(
        format!("{path}.max_wait"),
        span.clone(),
        format!("{field}.max_wait"),
    );
    let m = max_wait.into_inner();
    let callback = m.callback.as_ref().is_some_and(|c| *c.get_ref());
    let given: Vec<&str> = [
        m.overflow.as_ref().map(|_| "overflow"),
        m.leave.as_ref().map(|_| "leave"),
        callback.then_some("callback"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() != 1 {
        let found = if given.is_empty() {
            "none".to_string()
        } else {
            given.join(" and ")
        };
        r.diagnostics.push(src.at(
            span,
            format!("{field}.max_wait"),
            format!(
                "give exactly one of overflow = \"queue\", leave = \"destination\" or \
                 callback = true (found {found})"
            ),
        ));
        return None;
    }
    let action = if let Some(target) = &m.overflow {
        MaxWaitAction::Overflow(r.queue_ref(
            src,
            target,
            format!("{path}.max_wait.action"),
            format!("{field}.max_wait.overflow"),
        ))
    } else if let Some(destination) = m.leave {
        MaxWaitAction::Leave(destination.into_inner())
    } else {
        MaxWaitAction::Callback
    };
    Some(MaxWait {
        after: m.after.0,
        action,
    })
}

fn resolve_step(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    path: &str,
    field: &str,
    step: Spanned<RawStep>,
) -> Step {
    r.locations.table(path, step.span(), field);
    let s = step.into_inner();
    r.locations.value(
        format!("{path}.after"),
        s.after.span(),
        format!("{field}.after"),
    );
    let mut drop_skills = Vec::new();
    for (i, name) in s.drop_skills.iter().enumerate() {
        let spath = format!("{path}.drop_skills[{i}]");
        let sfield = format!("{field}.drop_skills[{i}]");
        if name.get_ref().contains(':') {
            r.locations.value(&spath, name.span(), &sfield);
            r.diagnostics.push(src.at(
                name.span(),
                sfield,
                format!(
                    "drop_skills takes skill names without a proficiency, not {:?}",
                    name.get_ref()
                ),
            ));
            r.locations.suppress(spath);
            // A placeholder keeps the indices of later entries those of the file.
            drop_skills.push(UNKNOWN_SKILL);
            continue;
        }
        drop_skills.push(r.requirement(src, name, spath, sfield).skill);
    }
    let add_skills = s
        .add_skills
        .iter()
        .enumerate()
        .map(|(i, t)| {
            r.requirement(
                src,
                t,
                format!("{path}.add_skills[{i}]"),
                format!("{field}.add_skills[{i}]"),
            )
        })
        .collect();
    let widen_to = s
        .widen_to
        .iter()
        .enumerate()
        .map(|(i, q)| {
            r.queue_ref(
                src,
                q,
                format!("{path}.widen_to[{i}]"),
                format!("{field}.widen_to[{i}]"),
            )
        })
        .collect();
    Step {
        after: s.after.into_inner().0,
        relax_proficiency: s.relax_proficiency,
        drop_skills,
        add_skills,
        widen_to,
        offer_callback: s.offer_callback,
    }
}

fn resolve_agent(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    entry: usize,
    agent: Spanned<RawAgent>,
) {
    let path = format!("agents[{entry}]");
    let field = format!("routing.agents[{entry}]");
    r.locations.table(&path, agent.span(), &field);
    let entry_span = agent.span();
    let a = agent.into_inner();
    let name_span = a.name.span();
    r.locations.value(
        format!("{path}.name"),
        name_span.clone(),
        format!("{field}.name"),
    );
    r.locations.value(
        format!("{path}.profile"),
        entry_span,
        format!("{field}.queues"),
    );

    let mut skills = Vec::new();
    for (i, text) in a.skills.iter().enumerate() {
        let spath = format!("{path}.skills[{i}]");
        let sfield = format!("{field}.skills[{i}]");
        r.locations.value(&spath, text.span(), &sfield);
        let problem = match parse_skill_ref(text.get_ref()) {
            Err(message) => message,
            Ok(s) => match (r.skill(s.name), s.level) {
                (Some(skill), Some(level)) => {
                    skills.push((skill, level));
                    continue;
                }
                (None, _) => format!(
                    "unknown skill {:?}; known skills: {}",
                    s.name,
                    r.skill_names()
                ),
                (Some(_), None) => format!(
                    "an agent's skill needs a proficiency from 1 to 5, such as \"{}:3\"",
                    s.name
                ),
            },
        };
        r.diagnostics.push(src.at(text.span(), sfield, problem));
        r.locations.suppress(spath);
        skills.push((UNKNOWN_SKILL, 1));
    }
    let mut profile = Vec::new();
    for (i, text) in a.queues.iter().enumerate() {
        let ppath = format!("{path}.profile[{i}]");
        let pfield = format!("{field}.queues[{i}]");
        match parse_profile_ref(text.get_ref()) {
            Err(message) => {
                r.locations.value(&ppath, text.span(), &pfield);
                r.diagnostics.push(src.at(text.span(), pfield, message));
                r.locations.suppress(ppath);
                // A placeholder keeps the indices of later entries those of the file.
                profile.push(ProfileEntry {
                    queue: UNKNOWN_QUEUE,
                    priority: 1,
                    delay: Duration::ZERO,
                });
            }
            Ok(p) => {
                let queue = Spanned::new(text.span(), p.queue.to_string());
                let queue = r.queue_ref(src, &queue, ppath, pfield);
                profile.push(ProfileEntry {
                    queue,
                    priority: p.priority,
                    delay: p.delay,
                });
            }
        }
    }
    let chat_capacity = match a.chat_capacity {
        Some(c) => {
            r.locations.value(
                format!("{path}.chat_capacity"),
                c.span(),
                format!("{field}.chat_capacity"),
            );
            c.into_inner()
        }
        None => 0,
    };

    let count = a.count.as_ref().map_or(1, |c| *c.get_ref() as usize);
    let first = r.config.agents.len();
    let count = if first + count > MAX_AGENTS {
        let span = a.count.as_ref().map_or(name_span.clone(), Spanned::span);
        r.diagnostics.push(src.at(
            span,
            format!("{field}.count"),
            format!(
                "at most {MAX_AGENTS} agents in all; this entry would make {}",
                first + count
            ),
        ));
        0
    } else {
        count
    };
    let prefix = a.name.into_inner();
    let width = agent_number_width(count);
    let mut reported_clash = false;
    for offset in 0..count {
        let name = if count == 1 {
            prefix.clone()
        } else {
            agent_name(&prefix, offset, width)
        };
        let id = AgentId(r.config.agents.len() as u32);
        if let Some(other) = r.agents.get(&name) {
            if !reported_clash {
                let other_entry = r
                    .locations
                    .agent_entries
                    .iter()
                    .find(|e| e.first <= other.index() && other.index() < e.first + e.count)
                    .map_or(0, |e| e.entry);
                r.diagnostics.push(src.at(
                    name_span.clone(),
                    format!("{field}.name"),
                    format!("agent name {name:?} is already used by routing.agents[{other_entry}]"),
                ));
                reported_clash = true;
            }
        } else {
            r.agents.insert(name.clone(), id);
        }
        r.config.agents.push(AgentConfig {
            name,
            skills: skills.clone(),
            profile: profile.clone(),
            chat_capacity,
        });
    }
    if !r.agent_entries.contains_key(&prefix) {
        r.agent_entries
            .insert(prefix.clone(), r.locations.agent_entries.len());
    }
    r.locations.agent_entries.push(AgentEntry {
        entry,
        name: prefix,
        first,
        count,
    });
}
