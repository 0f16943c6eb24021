//! Fixture-driven tests. `fixtures/good/*.toml` must read without a problem;
//! `fixtures/bad/*.toml` must give exactly the diagnostics their `# expect:` lines list:
//!
//! ```text
//! # expect: LINE:COL: FIELD: MESSAGE-SUBSTRING
//! ```
//!
//! one line per diagnostic (`*` for COL skips checking the column). A new case is a new file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hotline_config::{
    deserialize_section, load_scenario, parse_document, parse_routing, parse_routing_section,
    parse_scenario, Diagnostic,
};
use hotline_routing::{AgentSelection, ContactKind, MaxWaitAction, QueueId, SkillRequirement};
use hotline_sim::Distribution;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

#[test]
fn good_fixtures_read() {
    for path in fixtures("good") {
        if let Err(problems) = load_scenario(&path) {
            panic!("{} should read cleanly:\n{problems}", path.display());
        }
    }
}

/// One `# expect:` line.
#[derive(Debug)]
struct Expected {
    line: usize,
    column: Option<usize>,
    field: String,
    message: String,
}

impl Expected {
    fn parse(text: &str) -> Option<Expected> {
        let (line, rest) = text.split_once(':')?;
        let (column, rest) = rest.split_once(": ")?;
        let (field, message) = rest.split_once(": ")?;
        Some(Expected {
            line: line.trim().parse().ok()?,
            column: match column.trim() {
                "*" => None,
                c => Some(c.parse().ok()?),
            },
            field: field.to_string(),
            message: message.trim().to_string(),
        })
    }

    fn matches(&self, d: &Diagnostic) -> bool {
        d.line == self.line
            && self.column.is_none_or(|c| c == d.column)
            && d.field == self.field
            && d.message.contains(&self.message)
    }
}

/// Checks one bad file; returns what went wrong, if anything.
fn check_bad(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let expected: Vec<Expected> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# expect:"))
        .map(|l| Expected::parse(l.trim()).ok_or_else(|| format!("malformed expect line {l:?}")))
        .collect::<Result<_, _>>()?;
    if expected.is_empty() {
        return Err("no `# expect:` line".into());
    }
    let file = path.file_name().unwrap().to_string_lossy();
    let diagnostics = match parse_scenario(&file, &text) {
        Ok(_) => return Err("read without a problem".into()),
        Err(d) => d.0,
    };
    let mut unmatched: Vec<&Diagnostic> = diagnostics.iter().collect();
    let mut missing = Vec::new();
    for e in &expected {
        match unmatched.iter().position(|d| e.matches(d)) {
            Some(i) => {
                unmatched.remove(i);
            }
            None => missing.push(e),
        }
    }
    if missing.is_empty() && unmatched.is_empty() {
        return Ok(());
    }
    let got: Vec<String> = diagnostics.iter().map(|d| format!("  {d}")).collect();
    Err(format!(
        "expected but not given: {missing:?}\nnot expected: {}\nall diagnostics:\n{}",
        unmatched.len(),
        got.join("\n")
    ))
}

#[test]
fn bad_fixtures_give_their_diagnostics() {
    let mut failures = Vec::new();
    for path in fixtures("bad") {
        if let Err(why) = check_bad(&path) {
            failures.push(format!("{}: {why}", path.display()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn full_fixture_maps_to_the_domain_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good/full.toml");
    let s = load_scenario(&path).unwrap();
    let r = &s.routing;
    assert_eq!(s.name, "Payday at a bank: VIP first");
    assert_eq!(s.duration, Duration::from_secs(24 * 3600));
    assert_eq!(s.interval, Duration::from_secs(1800));
    assert_eq!(s.seed, 7);
    assert_eq!(s.agents.answer_delay, Duration::from_secs(3));

    // Agents expanded from `count`, zero-padded to three digits.
    let names: Vec<&str> = r.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 40 + 8 + 2 + 1);
    assert_eq!(names[0], "acct-001");
    assert_eq!(names[39], "acct-040");
    assert_eq!(names[40], "loans-001");
    assert_eq!(names[50], "temp");
    let skill = |n: &str| r.skill_id(n).unwrap();
    let queue = |n: &str| r.queue_id(n).unwrap();
    assert_eq!(
        r.agents[0].skills,
        vec![(skill("accounts"), 4), (skill("zh"), 5), (skill("en"), 3)]
    );
    let overflow_entry = r.agents[0].profile[2];
    assert_eq!(overflow_entry.queue, queue("overflow"));
    assert_eq!(overflow_entry.priority, 3);
    assert_eq!(overflow_entry.delay, Duration::from_secs(30));
    assert_eq!(r.agents[50].chat_capacity, 3);
    assert_eq!(r.extra_reasons, ["break", "lunch", "training"]);

    // Queues: service level, skills with default proficiency, steps resolved to ids.
    let accounts = &r.queues[0];
    assert_eq!(accounts.service_level_goal, 0.8);
    assert_eq!(accounts.service_level_threshold, Duration::from_secs(20));
    assert_eq!(
        accounts.skills,
        vec![
            SkillRequirement {
                skill: skill("accounts"),
                min_proficiency: 2
            },
            SkillRequirement {
                skill: skill("zh"),
                min_proficiency: 1
            },
        ]
    );
    assert_eq!(accounts.wrap_up, Duration::from_secs(15));
    assert_eq!(accounts.max_waiting, 500);
    assert_eq!(accounts.steps.len(), 2);
    assert_eq!(accounts.steps[0].widen_to, vec![QueueId(2)]);
    assert_eq!(accounts.steps[0].drop_skills, vec![skill("zh")]);
    assert_eq!(accounts.steps[0].relax_proficiency, 1);
    assert!(accounts.steps[0].offer_callback);
    assert_eq!(
        accounts.steps[1].widen_to,
        vec![queue("loans"), queue("overflow")]
    );
    assert_eq!(
        accounts.max_wait.as_ref().unwrap().action,
        MaxWaitAction::Callback
    );
    let loans = &r.queues[1];
    assert_eq!(loans.selection, AgentSelection::BestProficiency);
    assert_eq!(loans.service_level_goal, 0.9);
    assert_eq!(
        loans.max_wait.as_ref().unwrap().action,
        MaxWaitAction::Overflow(queue("overflow"))
    );
    assert_eq!(
        r.queues[2].max_wait.as_ref().unwrap().action,
        MaxWaitAction::Leave("voicemail".into())
    );
    // Defaults from QueueConfig::new.
    assert_eq!(r.queues[3].max_waiting, 1000);
    assert_eq!(r.queues[3].expected_handle_time, Duration::from_secs(180));

    // Policies.
    let tiers: Vec<(&str, u8, Duration)> = r
        .priority
        .tiers
        .iter()
        .map(|t| (t.name.as_str(), t.class, t.bonus))
        .collect();
    assert_eq!(
        tiers,
        [
            ("standard", 0, Duration::ZERO),
            ("gold", 0, Duration::from_secs(60)),
            ("vip", 1, Duration::ZERO)
        ]
    );
    assert_eq!(r.priority.high_value_threshold, Some(100_000));
    assert_eq!(r.offers.offer_timeout, Duration::from_secs(15));
    assert_eq!(r.callbacks.max_attempts, 4);
    assert_eq!(r.callbacks.retry_after_failure, Duration::from_secs(60));
    assert_eq!(r.limits.max_contacts, 50_000);

    // The workload.
    let calls = &s.call_types[0];
    assert_eq!(calls.queue, queue("accounts"));
    assert_eq!(
        calls.handle_time,
        Distribution::LogNormal {
            mean: Duration::from_secs(240),
            sd: Duration::from_secs(120)
        }
    );
    assert_eq!(calls.arrivals.per_hour, vec![200.0]);
    let vip = &calls.segments[0];
    assert_eq!(vip.name, "vip");
    assert_eq!(vip.attributes.tier, 2);
    assert_eq!(r.priority.priority_for(&vip.attributes).class, 1);
    assert_eq!(
        vip.skills,
        vec![SkillRequirement {
            skill: skill("zh"),
            min_proficiency: 1
        }]
    );
    let vipdesk = r.agent_id("vipdesk-001").unwrap();
    assert_eq!(
        vip.preferred_agent,
        Some((vipdesk, Duration::from_secs(45)))
    );
    assert_eq!(calls.segments[1].attributes.tier, 1);
    assert!(calls.segments[1].attributes.prefer_human);
    let loans_calls = &s.call_types[1];
    assert_eq!(loans_calls.arrivals.period, Duration::from_secs(1800));
    assert_eq!(
        loans_calls.segments[0].preferred_agent.unwrap().1,
        Duration::MAX
    );
    assert_eq!(loans_calls.segments[0].weight, 1.0);
    assert_eq!(s.call_types[2].kind, ContactKind::Callback);
    assert_eq!(s.call_types[3].kind, ContactKind::Chat);
    // Defaults of a call type.
    assert_eq!(s.call_types[3].callback_answer_rate, 0.8);
    assert_eq!(s.call_types[3].callback_ring_time, Duration::from_secs(15));
    assert_eq!(s.call_types[3].segments[0].name, "all");

    // Shifts expanded per agent; a bare TOML time works.
    assert_eq!(s.shifts.len(), 40 + 8 + 1);
    assert_eq!(s.shifts[0].agent, r.agent_id("acct-001").unwrap());
    assert_eq!(s.shifts[0].start, Duration::from_secs(8 * 3600));
    assert_eq!(s.shifts[40].start, Duration::from_secs(9 * 3600));
    assert_eq!(s.shifts[47].end, Duration::from_secs(24 * 3600));
    assert_eq!(s.shifts[48].agent, r.agent_id("vipdesk-002").unwrap());
}

#[test]
fn minimal_fixture_uses_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good/minimal.toml");
    let s = load_scenario(&path).unwrap();
    assert_eq!(s.name, "minimal");
    assert_eq!(s.duration, Duration::from_secs(24 * 3600));
    assert_eq!(s.routing.agents[0].name, "ann");
    assert_eq!(s.routing.priority.tiers[0].name, "standard");
    assert_eq!(s.routing.offers.offer_timeout, Duration::from_secs(20));
    assert_eq!(
        s.call_types[0].handle_time,
        Distribution::Fixed(Duration::from_secs(180))
    );
    assert!(s.shifts.is_empty());
}

#[test]
fn routing_files_ignore_other_tables() {
    // The server's configuration file: its own tables next to [routing].
    let text = r#"
[server]
listen = "0.0.0.0:5060"

[routing]
skills = ["en"]
[[routing.queues]]
name = "support"
skills = ["en:2"]
[[routing.agents]]
name = "desk"
skills = ["en:3"]
queues = ["support"]
"#;
    let routing = parse_routing("hotline.toml", text).unwrap();
    assert_eq!(routing.queues[0].name, "support");

    let bad = text.replace("en:3", "en:1");
    let problems = parse_routing("hotline.toml", &bad).unwrap_err();
    assert_eq!(problems.0.len(), 1);
    assert_eq!(problems.0[0].line, 7);
    assert_eq!(problems.0[0].field, "routing.queues[0]");
    assert!(problems.0[0].message.contains("no agent can serve"));
}

#[test]
fn a_file_that_cannot_be_read_is_one_diagnostic_at_line_zero() {
    let problems = load_scenario(Path::new("/no/such/scenario.toml")).unwrap_err();
    assert_eq!(problems.0.len(), 1);
    let d = &problems.0[0];
    assert_eq!((d.line, d.column), (0, 0));
    assert_eq!(d.file, "/no/such/scenario.toml");
    assert!(d.message.contains("cannot read the file"), "{d}");
}

#[test]
fn a_caller_reads_its_own_tables_beside_routing() {
    // How the server is meant to read its configuration file: parse once, read its own
    // tables with `deserialize_section`, hand `[routing]` to `parse_routing_section`.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Server {
        #[allow(dead_code)]
        listen: String,
    }
    let text = r#"[server]
listen = "0.0.0.0:5060"
lisen = "oops"

[routing]
[[routing.queues]]
name = "support"
selection = "fastest"
"#;
    let mut document = parse_document("hotline.toml", text).unwrap();
    let server = document.get_mut().remove("server").unwrap();
    let routing = document.get_mut().remove("routing").unwrap();
    let problem = deserialize_section::<Server>("hotline.toml", text, "server", server)
        .err()
        .unwrap();
    assert_eq!(
        problem.to_string(),
        r#"hotline.toml:3:1: server.lisen: unknown key "lisen"; expected one of listen"#
    );
    let problems = parse_routing_section("hotline.toml", text, routing).unwrap_err();
    assert_eq!(problems.0[0].field, "routing.queues[0].selection");
    assert_eq!((problems.0[0].line, problems.0[0].column), (8, 13));
}
