//! The simulator against queueing theory: on M/M/c days (Poisson arrivals, exponential talk
//! time, no hang-ups) service level and ASA match Erlang C; with exponential patience the
//! abandonment, service level and ASA match Erlang A.
//!
//! Tolerance: each figure is the mean of independent replications (different seeds), and it
//! must lie within 4 standard errors of the formula; the standard error itself must be small
//! (service level ±0.01, ASA ±15 % of the formula), so the check means something. Seeds are
//! fixed, so the test is deterministic.

use std::time::Duration;

use hotline_routing::*;
use hotline_sim::erlang::{erlang_a, erlang_c, Traffic};
use hotline_sim::*;

const REPLICATIONS: u64 = 60;

fn mmc_day(rate_per_hour: f64, aht: Duration, agents: u32, patience: Option<Duration>) -> Scenario {
    let mut routing = RoutingConfig {
        skills: vec!["s".into()],
        ..RoutingConfig::default()
    };
    let mut queue = QueueConfig::new(
        "q",
        vec![SkillRequirement {
            skill: SkillId(0),
            min_proficiency: 1,
        }],
    );
    queue.max_waiting = 100_000;
    queue.short_abandon = Duration::ZERO;
    routing.queues.push(queue);
    for i in 0..agents {
        routing.agents.push(AgentConfig {
            name: format!("a{i}"),
            skills: vec![(SkillId(0), 3)],
            profile: vec![ProfileEntry {
                queue: QueueId(0),
                priority: 1,
                delay: Duration::ZERO,
            }],
            chat_capacity: 0,
        });
    }
    Scenario {
        name: "m/m/c".into(),
        routing,
        duration: Duration::from_secs(24 * 3600),
        interval: Duration::from_secs(3600),
        seed: 1,
        call_types: vec![CallType {
            name: "calls".into(),
            queue: QueueId(0),
            kind: ContactKind::Call,
            arrivals: ArrivalPattern::constant(rate_per_hour),
            handle_time: hotline_sim::Distribution::Exponential { mean: aht },
            patience: patience.map(|mean| hotline_sim::Distribution::Exponential { mean }),
            segments: vec![Segment {
                name: "all".into(),
                weight: 1.0,
                attributes: ContactAttributes::default(),
                skills: vec![],
                preferred_agent: None,
            }],
            accepts_callback: 0.0,
            callback_answer_rate: 0.8,
            callback_ring_time: Duration::from_secs(15),
        }],
        shifts: vec![],
        agents: AgentBehaviour {
            answer_delay: Duration::ZERO,
            breaks: None,
        },
    }
}

struct Sample {
    mean: f64,
    standard_error: f64,
}

fn sample(values: &[f64]) -> Sample {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Sample {
        mean,
        standard_error: (variance / n).sqrt(),
    }
}

/// (service level, ASA seconds, abandonment) per replication.
fn replicate(scenario: &Scenario) -> (Sample, Sample, Sample) {
    let mut sl = Vec::new();
    let mut asa = Vec::new();
    let mut abandonment = Vec::new();
    for seed in 0..REPLICATIONS {
        let report = simulate(scenario, 1000 + seed, &mut |_| {}).expect("valid scenario");
        let total = report.metrics.center_total();
        sl.push(total.service_level().unwrap());
        asa.push(total.asa().unwrap().as_secs_f64());
        abandonment.push(total.abandonment_rate().unwrap());
    }
    (sample(&sl), sample(&asa), sample(&abandonment))
}

fn assert_close(what: &str, got: &Sample, expected: f64, max_standard_error: f64) {
    eprintln!(
        "{what}: simulated {:.4} ± {:.4} (1 s.e.), formula {expected:.4}",
        got.mean, got.standard_error
    );
    assert!(
        got.standard_error <= max_standard_error,
        "{what}: standard error {:.4} too large for a meaningful check",
        got.standard_error
    );
    assert!(
        (got.mean - expected).abs() <= 4.0 * got.standard_error + 1e-9,
        "{what}: simulated {:.4} is more than 4 s.e. ({:.4}) from {expected:.4}",
        got.mean,
        got.standard_error
    );
}

#[test]
fn matches_erlang_c_at_several_loads() {
    let aht = Duration::from_secs(180);
    let traffic = Traffic {
        arrivals_per_hour: 200.0,
        average_handle_time: aht,
    };
    for agents in [11, 12, 14] {
        let figures = erlang_c(&traffic, agents, Duration::from_secs(20)).unwrap();
        let (sl, asa, abandonment) = replicate(&mmc_day(200.0, aht, agents, None));
        let expected_asa = figures.average_speed_of_answer.unwrap().as_secs_f64();
        assert_close(
            &format!("{agents} agents: service level"),
            &sl,
            figures.service_level,
            0.01,
        );
        assert_close(
            &format!("{agents} agents: ASA"),
            &asa,
            expected_asa,
            0.15 * expected_asa,
        );
        assert_eq!(abandonment.mean, 0.0, "no one hangs up in M/M/c");
    }
}

#[test]
fn matches_erlang_a_with_exponential_patience() {
    let aht = Duration::from_secs(180);
    let patience = Duration::from_secs(120);
    let traffic = Traffic {
        arrivals_per_hour: 200.0,
        average_handle_time: aht,
    };
    for agents in [9, 10, 12] {
        let figures = erlang_a(&traffic, agents, Duration::from_secs(20), patience).unwrap();
        let (sl, asa, abandonment) = replicate(&mmc_day(200.0, aht, agents, Some(patience)));
        let expected_asa = figures.average_speed_of_answer.unwrap().as_secs_f64();
        assert_close(
            &format!("{agents} agents: abandonment"),
            &abandonment,
            figures.abandonment.unwrap(),
            0.01,
        );
        assert_close(
            &format!("{agents} agents: service level"),
            &sl,
            figures.service_level,
            0.01,
        );
        assert_close(
            &format!("{agents} agents: ASA"),
            &asa,
            expected_asa,
            0.15 * expected_asa,
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_day() {
    let scenario = mmc_day(
        200.0,
        Duration::from_secs(180),
        11,
        Some(Duration::from_secs(120)),
    );
    let a = simulate(&scenario, 42, &mut |_| {}).unwrap();
    let b = simulate(&scenario, 42, &mut |_| {}).unwrap();
    let c = simulate(&scenario, 43, &mut |_| {}).unwrap();
    assert_eq!(a.metrics.center_total(), b.metrics.center_total());
    assert_eq!(a.router_events, b.router_events);
    assert_ne!(a.metrics.center_total(), c.metrics.center_total());
}

#[test]
fn breaks_take_their_share_of_the_agents_time() {
    let mut scenario = mmc_day(
        150.0,
        Duration::from_secs(180),
        12,
        Some(Duration::from_secs(300)),
    );
    scenario.routing.extra_reasons = vec!["break".into()];
    let reason = ReasonCode(ReasonCode::BUILT_IN.len() as u16);
    scenario.agents.breaks = Some(Breaks {
        every: Duration::from_secs(2 * 3600),
        length: Duration::from_secs(15 * 60),
        reason,
    });
    let mut breaks_started = 0;
    let report = simulate_with_events(&scenario, 9, &mut |_| {}, &mut |_, e| {
        if *e
            == (Event::AgentStateChanged {
                agent: AgentId(0),
                state: AgentState::NotReady(reason),
            })
        {
            breaks_started += 1;
        }
    })
    .unwrap();
    // Over the day itself (the first 24 hourly intervals): 15 minutes in every 2 hours.
    let mut day = hotline_routing::metrics::Counters::default();
    for i in 0..24 {
        day.add(&report.metrics.center(i));
    }
    let logged_in = day.agent_on_contact_ms
        + day.agent_wrap_up_ms
        + day.agent_available_ms
        + day.agent_not_ready_ms;
    let share = day.agent_not_ready_ms as f64 / logged_in as f64;
    assert!((share - 0.125).abs() < 0.01, "not-ready share {share:.3}");
    assert!(
        (11..=13).contains(&breaks_started),
        "agent 0 took {breaks_started} breaks"
    );
    // Fewer agents on the phones: a worse day than without breaks, on the same callers.
    let mut no_breaks = scenario.clone();
    no_breaks.agents.breaks = None;
    let without = simulate(&no_breaks, 9, &mut |_| {})
        .unwrap()
        .metrics
        .center_total();
    assert!(
        report.metrics.center_total().service_level().unwrap() < without.service_level().unwrap()
    );
}
