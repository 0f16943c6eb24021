//! A scenario file: the `[routing]` table plus the workload of a simulated day.

use std::collections::HashSet;
use std::time::Duration;

use hotline_routing::{AgentId, ContactAttributes, ContactKind, ReasonCode};
use hotline_sim::{
    AgentBehaviour, ArrivalPattern, Breaks, CallType, Distribution, Scenario, Segment, Shift,
};
use serde::de::IgnoredAny;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diagnostic::{deserialize_value, Diagnostics, Source};
use crate::locate::merge_groups;
use crate::routing::{add_hole, read_routing, ResolvedRouting, UNKNOWN_AGENT};
use crate::values::{format_clock, ClockTime, DistributionKind, Dur, Kind, Wait};

/// Defaults of the scenario's own keys.
const DEFAULT_DURATION: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
const DEFAULT_SEED: u64 = 1;
const DEFAULT_CALLBACK_ANSWER_RATE: f64 = 0.8;
const DEFAULT_CALLBACK_RING_TIME: Duration = Duration::from_secs(15);

/// The most shifts a scenario may expand to (one per agent of each `[[shifts]]` entry).
pub const SHIFTS_MAX: usize = 1_000_000;

/// Top-level keys that belong to the scenario rather than to `[routing]`, to name the fields
/// of `Scenario::validate`'s complaints.
const SCENARIO_KEYS: [&str; 6] = [
    "name",
    "duration",
    "interval",
    "seed",
    "call_types",
    "shifts",
];

/// The scenario's own keys as written (`[routing]` is read on its own).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    duration: Option<Spanned<Dur>>,
    interval: Option<Spanned<Dur>>,
    seed: Option<u64>,
    agent_behaviour: Option<RawBehaviour>,
    #[serde(default)]
    shifts: Vec<Spanned<RawShift>>,
    #[serde(default)]
    call_types: Vec<Spanned<RawCallType>>,
    /// Read by the routing section parser; named here so that it is not an unknown key.
    #[serde(rename = "routing")]
    _routing: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBehaviour {
    answer_delay: Option<Dur>,
    breaks: Option<Spanned<RawBreaks>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreaks {
    every: Dur,
    length: Dur,
    reason: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    agents: Spanned<String>,
    start: Spanned<ClockTime>,
    end: Spanned<ClockTime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCallType {
    name: Spanned<String>,
    queue: Spanned<String>,
    kind: Option<Kind>,
    rate: Option<Spanned<f64>>,
    arrivals: Option<Spanned<RawArrivals>>,
    handle_time: Spanned<RawDistribution>,
    patience: Option<Spanned<RawDistribution>>,
    accepts_callback: Option<Spanned<f64>>,
    callback_answer_rate: Option<Spanned<f64>>,
    callback_ring_time: Option<Dur>,
    #[serde(default)]
    segments: Vec<Spanned<RawSegment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArrivals {
    period: Spanned<Dur>,
    per_hour: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDistribution {
    distribution: DistributionKind,
    mean: Option<Spanned<Dur>>,
    sd: Option<Spanned<Dur>>,
    value: Option<Spanned<Dur>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    name: Spanned<String>,
    weight: Option<Spanned<f64>>,
    tier: Option<Spanned<String>>,
    #[serde(default)]
    urgency: u8,
    #[serde(default)]
    prefer_human: bool,
    #[serde(default)]
    value_score: u32,
    #[serde(default)]
    skills: Vec<Spanned<String>>,
    preferred_agent: Option<Spanned<RawPreferred>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreferred {
    agent: Spanned<String>,
    wait: Wait,
}

/// Reads a scenario from a parsed document: the routing section and the workload are
/// deserialized separately (so a type error in each is reported), then every name is
/// resolved, then `Scenario::validate` runs and its complaints are placed in the file.
pub(crate) fn read_scenario(
    src: &Source<'_>,
    mut document: Spanned<DeTable<'_>>,
) -> Result<Scenario, Diagnostics> {
    let document_span = document.span();
    let routing_value = document.get_mut().remove("routing");
    let mut diagnostics = Vec::new();
    let routing = match routing_value {
        Some(value) => read_routing(src, value)
            .map_err(|d| diagnostics.push(d))
            .ok(),
        None => {
            diagnostics.push(src.at(
                0..0,
                "routing",
                "required table [routing] is missing (skills, queues and agents)",
            ));
            None
        }
    };
    let workload = Spanned::new(document_span, DeValue::Table(document.into_inner()));
    let raw: Option<RawScenario> = deserialize_value(src, "", workload)
        .map_err(|d| diagnostics.push(d))
        .ok();
    let Some(mut routing) = routing else {
        return Err(Diagnostics::finish(diagnostics));
    };
    let Some(raw) = raw else {
        // The workload could not be read, but the routing table can still be checked.
        diagnostics.extend(routing.check(src));
        return Err(Diagnostics::finish(diagnostics));
    };

    let routing_had_problems = !routing.diagnostics.is_empty();
    let scenario = resolve(src, &mut routing, raw);
    diagnostics.append(&mut routing.diagnostics);
    let (result, hole) = if routing_had_problems {
        let mut probe = scenario.clone();
        let hole = add_hole(&mut probe.routing);
        (probe.validate(), Some(hole))
    } else {
        (scenario.validate(), None)
    };
    let located = match result {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .iter()
            .filter(|e| Some(&e.path) != hole.as_ref())
            .filter_map(|e| {
                let top = e.path.split(['.', '[']).next().unwrap_or_default();
                let prefix = if SCENARIO_KEYS.contains(&top) {
                    ""
                } else {
                    "routing"
                };
                routing.locations.diagnose(src, &e.path, &e.message, prefix)
            })
            .collect(),
    };
    diagnostics.extend(merge_groups(located));
    if diagnostics.is_empty() {
        Ok(scenario)
    } else {
        Err(Diagnostics::finish(diagnostics))
    }
}

fn resolve(src: &Source<'_>, r: &mut ResolvedRouting, raw: RawScenario) -> Scenario {
    let start = 0..0;
    let mut duration = DEFAULT_DURATION;
    if let Some(d) = raw.duration {
        r.locations.value("duration", d.span(), "duration");
        duration = d.into_inner().0;
    } else {
        r.locations.value("duration", start.clone(), "duration");
    }
    let mut interval = DEFAULT_INTERVAL;
    if let Some(d) = raw.interval {
        r.locations.value("interval", d.span(), "interval");
        interval = d.into_inner().0;
    } else {
        r.locations.value("interval", start.clone(), "interval");
    }
    r.locations.table("call_types", start.clone(), "call_types");
    r.locations.table("shifts", start, "shifts");

    let mut call_types = Vec::new();
    let mut names = HashSet::new();
    for (i, call_type) in raw.call_types.into_iter().enumerate() {
        let name = call_type.get_ref().name.clone();
        if !names.insert(name.get_ref().clone()) {
            r.diagnostics.push(src.at(
                name.span(),
                format!("call_types[{i}].name"),
                format!("call type {:?} is defined twice", name.get_ref()),
            ));
        }
        call_types.push(resolve_call_type(src, r, i, call_type));
    }
    let mut shifts = Vec::new();
    for (i, shift) in raw.shifts.into_iter().enumerate() {
        resolve_shift(src, r, i, shift, &mut shifts);
    }
    let behaviour = raw.agent_behaviour;
    let answer_delay = behaviour
        .as_ref()
        .and_then(|b| b.answer_delay)
        .map_or(AgentBehaviour::default().answer_delay, |d| d.0);
    let breaks = behaviour
        .and_then(|b| b.breaks)
        .and_then(|breaks| resolve_breaks(src, r, breaks));
    let file_stem = std::path::Path::new(src.file)
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    Scenario {
        name: raw.name.unwrap_or(file_stem),
        routing: std::mem::take(&mut r.config),
        duration,
        interval,
        seed: raw.seed.unwrap_or(DEFAULT_SEED),
        call_types,
        shifts,
        agents: AgentBehaviour {
            answer_delay,
            breaks,
        },
    }
}

/// Breaks name one of the configuration's own not-ready reasons.
fn resolve_breaks(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    breaks: Spanned<RawBreaks>,
) -> Option<Breaks> {
    r.locations.table(
        "agent_behaviour.breaks",
        breaks.span(),
        "agent_behaviour.breaks",
    );
    let breaks = breaks.into_inner();
    let name = breaks.reason.get_ref();
    match r
        .config
        .extra_reasons
        .iter()
        .position(|known| known == name)
    {
        Some(i) => Some(Breaks {
            every: breaks.every.0,
            length: breaks.length.0,
            reason: ReasonCode((ReasonCode::BUILT_IN.len() + i) as u16),
        }),
        None => {
            let known = if r.config.extra_reasons.is_empty() {
                "none: add it to routing.reasons".to_string()
            } else {
                r.config.extra_reasons.join(", ")
            };
            r.diagnostics.push(src.at(
                breaks.reason.span(),
                "agent_behaviour.breaks.reason",
                format!("unknown not-ready reason {name:?}; known reasons: {known}"),
            ));
            None
        }
    }
}

fn resolve_call_type(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    i: usize,
    call_type: Spanned<RawCallType>,
) -> CallType {
    let path = format!("call_types[{i}]");
    let entry_span = call_type.span();
    r.locations.table(&path, entry_span.clone(), &path);
    r.locations.table(
        format!("{path}.segments"),
        entry_span.clone(),
        format!("{path}.segments"),
    );
    let t = call_type.into_inner();

    let queue_path = format!("{path}.queue");
    r.locations.value(&queue_path, t.queue.span(), &queue_path);
    let queue = r.queue(t.queue.get_ref()).unwrap_or_else(|| {
        r.diagnostics.push(src.at(
            t.queue.span(),
            &queue_path,
            format!(
                "unknown queue {:?}; known queues: {}",
                t.queue.get_ref(),
                r.queue_names()
            ),
        ));
        r.locations.suppress(&queue_path);
        hotline_routing::QueueId(u32::MAX)
    });

    let arrivals = match (t.rate, t.arrivals) {
        (Some(rate), None) => {
            r.locations.value(
                format!("{path}.arrivals"),
                rate.span(),
                format!("{path}.rate"),
            );
            ArrivalPattern::constant(rate.into_inner())
        }
        (None, Some(arrivals)) => {
            r.locations.table(
                format!("{path}.arrivals"),
                arrivals.span(),
                format!("{path}.arrivals"),
            );
            let a = arrivals.into_inner();
            r.locations.value(
                format!("{path}.arrivals.period"),
                a.period.span(),
                format!("{path}.arrivals.period"),
            );
            ArrivalPattern {
                period: a.period.into_inner().0,
                per_hour: a.per_hour,
            }
        }
        (Some(_), Some(arrivals)) => {
            r.diagnostics.push(src.at(
                arrivals.span(),
                format!("{path}.arrivals"),
                "give either rate (calls per hour all day) or arrivals, not both",
            ));
            ArrivalPattern::constant(0.0)
        }
        (None, None) => {
            r.diagnostics.push(src.at(
                entry_span.clone(),
                &path,
                "needs rate = calls per hour, or arrivals = { period = \"30m\", per_hour = [...] }",
            ));
            ArrivalPattern::constant(0.0)
        }
    };

    let handle_time = distribution(src, r, &format!("{path}.handle_time"), t.handle_time);
    let patience = t
        .patience
        .map(|p| distribution(src, r, &format!("{path}.patience"), p));
    let mut probability = |name: &str, given: Option<Spanned<f64>>, default: f64| match given {
        Some(p) => {
            let field = format!("{path}.{name}");
            r.locations.value(&field, p.span(), &field);
            p.into_inner()
        }
        None => default,
    };
    let accepts_callback = probability("accepts_callback", t.accepts_callback, 0.0);
    let callback_answer_rate = probability(
        "callback_answer_rate",
        t.callback_answer_rate,
        DEFAULT_CALLBACK_ANSWER_RATE,
    );

    let segments = if t.segments.is_empty() {
        vec![Segment {
            name: "all".into(),
            weight: 1.0,
            attributes: ContactAttributes::default(),
            skills: Vec::new(),
            preferred_agent: None,
        }]
    } else {
        let mut names = HashSet::new();
        let mut segments = Vec::new();
        for (si, segment) in t.segments.into_iter().enumerate() {
            let name = segment.get_ref().name.clone();
            if !names.insert(name.get_ref().clone()) {
                r.diagnostics.push(src.at(
                    name.span(),
                    format!("{path}.segments[{si}].name"),
                    format!("segment {:?} is defined twice", name.get_ref()),
                ));
            }
            segments.push(resolve_segment(
                src,
                r,
                &format!("{path}.segments[{si}]"),
                segment,
            ));
        }
        segments
    };

    CallType {
        name: t.name.into_inner(),
        queue,
        kind: match t.kind.unwrap_or(Kind::Call) {
            Kind::Call => ContactKind::Call,
            Kind::Chat => ContactKind::Chat,
            Kind::Callback => ContactKind::Callback,
        },
        arrivals,
        handle_time,
        patience,
        segments,
        accepts_callback,
        callback_answer_rate,
        callback_ring_time: t
            .callback_ring_time
            .map_or(DEFAULT_CALLBACK_RING_TIME, |d| d.0),
    }
}

/// Reads `{ distribution = "lognormal", mean = "4m", sd = "2m" }` and its kin; a key that
/// the distribution does not take, or one it needs and lacks, is a problem.
fn distribution(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    path: &str,
    given: Spanned<RawDistribution>,
) -> Distribution {
    let span = given.span();
    r.locations.value(path, span.clone(), path);
    let d = given.into_inner();
    let (name, needs): (&str, &[&str]) = match d.distribution {
        DistributionKind::Fixed => ("fixed", &["value"]),
        DistributionKind::Exponential => ("exponential", &["mean"]),
        DistributionKind::LogNormal => ("lognormal", &["mean", "sd"]),
    };
    let keys = [("mean", &d.mean), ("sd", &d.sd), ("value", &d.value)];
    let mut ok = true;
    for (key, value) in keys {
        match (needs.contains(&key), value) {
            (true, None) => {
                ok = false;
                r.diagnostics.push(src.at(
                    span.clone(),
                    path,
                    format!("the {name} distribution needs {}", needs.join(" and ")),
                ));
            }
            (false, Some(v)) => {
                ok = false;
                r.diagnostics.push(src.at(
                    v.span(),
                    format!("{path}.{key}"),
                    format!(
                        "the {name} distribution takes only {}; \"fixed\" takes value, \
                         \"exponential\" mean, \"lognormal\" mean and sd",
                        needs.join(" and ")
                    ),
                ));
            }
            _ => {}
        }
    }
    let get = |v: &Option<Spanned<Dur>>| v.as_ref().map_or(Duration::ZERO, |v| v.get_ref().0);
    if !ok {
        return Distribution::Fixed(Duration::ZERO);
    }
    match d.distribution {
        DistributionKind::Fixed => Distribution::Fixed(get(&d.value)),
        DistributionKind::Exponential => Distribution::Exponential { mean: get(&d.mean) },
        DistributionKind::LogNormal => Distribution::LogNormal {
            mean: get(&d.mean),
            sd: get(&d.sd),
        },
    }
}

fn resolve_segment(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    path: &str,
    segment: Spanned<RawSegment>,
) -> Segment {
    r.locations.table(path, segment.span(), path);
    let s = segment.into_inner();
    let weight = match s.weight {
        Some(w) => {
            r.locations
                .value(format!("{path}.weight"), w.span(), format!("{path}.weight"));
            w.into_inner()
        }
        None => 1.0,
    };
    let tier = match s.tier {
        None => 0,
        Some(name) => {
            let tier_path = format!("{path}.tier");
            r.locations.value(&tier_path, name.span(), &tier_path);
            r.tier(name.get_ref()).unwrap_or_else(|| {
                r.diagnostics.push(src.at(
                    name.span(),
                    &tier_path,
                    format!(
                        "unknown tier {:?}; known tiers (routing.priority.tiers): {}",
                        name.get_ref(),
                        r.tier_names()
                    ),
                ));
                r.locations.suppress(&tier_path);
                u8::MAX
            })
        }
    };
    let skills = s
        .skills
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let field = format!("{path}.skills[{i}]");
            r.requirement(src, text, field.clone(), field)
        })
        .collect();
    let preferred_agent = s.preferred_agent.map(|preferred| {
        let preferred_path = format!("{path}.preferred_agent");
        r.locations
            .value(&preferred_path, preferred.span(), &preferred_path);
        let p = preferred.into_inner();
        let agent = agent_by_name(src, r, &p.agent, &format!("{preferred_path}.agent"));
        if agent == UNKNOWN_AGENT {
            r.locations.suppress(&preferred_path);
        }
        (agent, p.wait.0)
    });
    Segment {
        name: s.name.into_inner(),
        weight,
        attributes: ContactAttributes {
            tier,
            value_score: s.value_score,
            urgency: s.urgency,
            prefer_human: s.prefer_human,
        },
        skills,
        preferred_agent,
    }
}

/// One agent by its name (`vipdesk-001`, or an entry's name when its count is 1).
fn agent_by_name(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    name: &Spanned<String>,
    field: &str,
) -> AgentId {
    if let Some(id) = r.agent(name.get_ref()) {
        return id;
    }
    let message = match r.agent_entry(name.get_ref()) {
        Some(entry) if entry.count > 1 => format!(
            "{:?} is a group of {} agents; name one of them, such as \"{}\"",
            name.get_ref(),
            entry.count,
            crate::routing::agent_name(
                &entry.name,
                0,
                crate::routing::agent_number_width(entry.count)
            )
        ),
        _ => format!(
            "unknown agent {:?}; known agents: {}",
            name.get_ref(),
            agent_names(r)
        ),
    };
    r.diagnostics.push(src.at(name.span(), field, message));
    UNKNOWN_AGENT
}

/// The agents' names, for messages: `ann, desk-001…desk-010`.
fn agent_names(r: &ResolvedRouting) -> String {
    crate::routing::known(
        r.locations
            .agent_entries
            .iter()
            .filter(|e| e.count > 0)
            .map(|e| {
                if e.count > 1 {
                    let width = crate::routing::agent_number_width(e.count);
                    format!(
                        "{}…{}",
                        crate::routing::agent_name(&e.name, 0, width),
                        crate::routing::agent_name(&e.name, e.count - 1, width)
                    )
                } else {
                    e.name.clone()
                }
            }),
    )
}

/// The `[[routing.agents]]` entries' names, for messages: `ann, desk (10 agents)`.
fn entry_names(r: &ResolvedRouting) -> String {
    crate::routing::known(r.locations.agent_entries.iter().map(|e| {
        if e.count == 1 {
            e.name.clone()
        } else {
            format!("{} ({} agents)", e.name, e.count)
        }
    }))
}

/// Expands a `[[shifts]]` entry into one shift per agent of the named entry (or the one
/// named agent).
fn resolve_shift(
    src: &Source<'_>,
    r: &mut ResolvedRouting,
    i: usize,
    shift: Spanned<RawShift>,
    shifts: &mut Vec<Shift>,
) {
    let path = format!("shifts[{i}]");
    r.locations.table(&path, shift.span(), &path);
    let s = shift.into_inner();
    let agents_field = format!("{path}.agents");
    r.locations
        .value(&agents_field, s.agents.span(), &agents_field);
    let agents: Vec<AgentId> = if let Some(entry) = r.agent_entry(s.agents.get_ref()) {
        (entry.first..entry.first + entry.count)
            .map(|a| AgentId(a as u32))
            .collect()
    } else if let Some(agent) = r.agent(s.agents.get_ref()) {
        vec![agent]
    } else {
        r.diagnostics.push(src.at(
            s.agents.span(),
            &agents_field,
            format!(
                "unknown agents {:?}; name a routing.agents entry or one agent; the entries are {}",
                s.agents.get_ref(),
                entry_names(r)
            ),
        ));
        return;
    };
    let (start, end) = (s.start.get_ref().0, s.end.get_ref().0);
    if end <= start {
        r.diagnostics.push(src.at(
            s.end.span(),
            format!("{path}.end"),
            format!(
                "a shift must end after it starts (starts {}, ends {})",
                format_clock(start),
                format_clock(end)
            ),
        ));
        return;
    }
    if shifts.len() + agents.len() > SHIFTS_MAX {
        r.diagnostics.push(src.at(
            s.agents.span(),
            &agents_field,
            format!("at most {SHIFTS_MAX} shifts in all (one per agent of each entry); this entry would make {}", shifts.len() + agents.len()),
        ));
        return;
    }
    for agent in agents {
        r.locations.shift_entries.push(i);
        shifts.push(Shift { agent, start, end });
    }
}
