//! Predictive pacing on simulated campaigns: the three pacers on the same list, the issue's
//! target (occupancy ≥ 85 % with abandonment ≤ 3 % on 50 agents at a 30 % answer rate),
//! the baseline beside it, and replay from a seed.

use std::sync::OnceLock;
use std::time::Duration;

use hotline_dialer::pacing::{ModelBased, Progressive};
use hotline_sim::predictive::{
    compare_pacers, simulate_campaign, CampaignReport, CampaignScenario,
};
use hotline_sim::Distribution;

/// The issue's campaign, every parameter spelled out: 50 agents logged in for 8 hours; 30 %
/// of calls answered, after a log-normal ring of mean 8 s (sd 5 s); unanswered calls ring
/// until the 25 s timeout; talk log-normal, mean 180 s (sd 120 s); wrap-up 10 s; the pacer
/// asked every second; the cap 3 %.
fn fifty_agents() -> CampaignScenario {
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
        abandon_cap: 0.03,
    }
}

const SEED: u64 = 1;

/// The three pacers on the issue's campaign with [`SEED`], run once for all the tests.
fn comparison() -> &'static [(&'static str, CampaignReport)] {
    static REPORTS: OnceLock<Vec<(&'static str, CampaignReport)>> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let reports = compare_pacers(&fifty_agents(), SEED).expect("a valid scenario");
        for (_, report) in &reports {
            println!("{report}");
        }
        reports
    })
}

fn report(pacer: &str) -> &'static CampaignReport {
    &comparison()
        .iter()
        .find(|(name, _)| *name == pacer)
        .unwrap_or_else(|| panic!("no report for {pacer}"))
        .1
}

#[test]
fn the_issue_scenario_is_the_default_one() {
    assert_eq!(fifty_agents(), CampaignScenario::default());
}

#[test]
fn compare_pacers_runs_the_three_on_the_same_list() {
    let names: Vec<_> = comparison().iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["progressive", "vicidial-adaptive", "model-based"]);
    for (name, r) in comparison() {
        assert_eq!(r.pacer, *name);
        assert_eq!(r.seed, SEED);
        // Every call placed ends once: answered or not; every answered call is connected
        // or abandoned.
        assert_eq!(r.calls_placed, r.answered + r.not_answered, "{r}");
        assert_eq!(r.answered, r.connected + r.abandoned, "{r}");
        assert_eq!(r.calls_refused, 0, "{r}");
        // Agents' time adds up to the logged-in time.
        let logged_in = r.duration * r.agents;
        assert_eq!(r.talk_time + r.wrap_time + r.idle_time, logged_in, "{r}");
    }
}

#[test]
fn progressive_never_abandons() {
    let r = report("progressive");
    assert_eq!(r.abandoned, 0, "{r}");
    assert!(r.answered > 1_000, "{r}");
    // Nor on a small team with a list that answers fast and often.
    let hot = CampaignScenario {
        agents: 3,
        duration: Duration::from_secs(2 * 3600),
        answer_rate: 0.9,
        ring_answered: Distribution::Exponential {
            mean: Duration::from_secs(2),
        },
        talk: Distribution::Exponential {
            mean: Duration::from_secs(30),
        },
        wrap: Distribution::Fixed(Duration::ZERO),
        ..fifty_agents()
    };
    let r = simulate_campaign(&hot, &mut Progressive, SEED).unwrap();
    assert_eq!(r.abandoned, 0, "{r}");
    assert!(r.answered > 500, "{r}");
}

/// The issue's target. Measured over 5 seeds in release (see the report of the change):
/// the model-based pacer reaches 94-95 % at 1.4-1.7 % abandonment; this seed is one of them.
#[test]
fn model_based_keeps_agents_busy_under_the_cap_on_fifty_agents() {
    let r = report("model-based");
    assert!(r.abandonment_rate() <= 0.03, "{r}");
    assert!(r.occupancy() >= 0.85, "{r}");
}

#[test]
fn vicidial_baseline_respects_the_cap_and_beats_progressive() {
    let r = report("vicidial-adaptive");
    assert!(r.abandonment_rate() <= 0.03, "{r}");
    assert!(r.occupancy() > report("progressive").occupancy(), "{r}");
}

#[test]
fn model_based_beats_the_baseline_at_no_more_abandonment() {
    let (model, baseline) = (report("model-based"), report("vicidial-adaptive"));
    assert!(
        model.abandonment_rate() <= baseline.abandonment_rate(),
        "{model}\n{baseline}"
    );
    assert!(
        model.occupancy() >= baseline.occupancy() + 0.05,
        "{model}\n{baseline}"
    );
    assert!(
        model.connects_per_agent_hour() > baseline.connects_per_agent_hour(),
        "{model}\n{baseline}"
    );
}

#[test]
fn model_based_respects_the_cap_on_a_small_team() {
    let small = CampaignScenario {
        agents: 10,
        duration: Duration::from_secs(4 * 3600),
        ..fifty_agents()
    };
    for seed in [1, 2] {
        let r = simulate_campaign(&small, &mut ModelBased::default(), seed).unwrap();
        assert!(r.abandonment_rate() <= 0.03, "{r}");
        assert!(r.occupancy() > 0.80, "{r}");
    }
}

#[test]
fn the_same_seed_gives_the_same_report() {
    let scenario = CampaignScenario {
        duration: Duration::from_secs(2 * 3600),
        ..fifty_agents()
    };
    let run = |seed| simulate_campaign(&scenario, &mut ModelBased::default(), seed).unwrap();
    let first = run(7);
    assert_eq!(first, run(7));
    assert_ne!(first, run(8));
}

#[test]
fn a_wrong_scenario_is_refused_with_every_fault() {
    let wrong = CampaignScenario {
        agents: 0,
        answer_rate: 1.5,
        abandon_cap: 0.0,
        ..fifty_agents()
    };
    let errors = simulate_campaign(&wrong, &mut Progressive, SEED).unwrap_err();
    let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["agents", "answer_rate", "abandon_cap"]);
}
