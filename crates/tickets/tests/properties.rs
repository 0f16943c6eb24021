//! Properties of business time and of the SLA clock on the Shanghai office calendar of
//! `fixtures/shanghai.toml`, over instants from September to December 2026 (National Day and
//! its make-up days included).

use hotline_calendar::{Calendar, CalendarSpec};
use hotline_tickets::{add_business_ms, business_ms_between, SlaClock, SlaPolicy};
use proptest::prelude::*;

const HOUR_MS: u64 = 3_600_000;

/// 2026-09-01 00:00 and 2027-01-01 00:00 in Shanghai.
const FROM_MS: u64 = 1_788_192_000_000;
const TO_MS: u64 = 1_798_732_800_000;

fn office() -> Calendar {
    let spec: CalendarSpec = toml::from_str(include_str!("fixtures/shanghai.toml")).unwrap();
    Calendar::from_spec(&spec).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Adding business time and measuring it back agree, and the due instant is the first at
    /// which that much time has passed.
    #[test]
    fn add_and_between_agree(start_ms in FROM_MS..TO_MS, business_ms in 0..200 * HOUR_MS) {
        let office = office();
        let due_ms = add_business_ms(&office, start_ms, business_ms).expect("the office opens");
        prop_assert_eq!(business_ms_between(&office, start_ms, due_ms), business_ms);
        if business_ms > 0 {
            prop_assert!(business_ms_between(&office, start_ms, due_ms - 1) < business_ms);
        }
    }

    /// Business time is additive over a split point.
    #[test]
    fn between_is_additive(a in FROM_MS..TO_MS, b in FROM_MS..TO_MS, c in FROM_MS..TO_MS) {
        let office = office();
        let mut points = [a, b, c];
        points.sort_unstable();
        let [a, b, c] = points;
        prop_assert_eq!(
            business_ms_between(&office, a, b) + business_ms_between(&office, b, c),
            business_ms_between(&office, a, c)
        );
    }

    /// The report changes at `next_check_at_ms` and not before, whatever the pauses.
    #[test]
    fn the_next_check_is_when_the_report_changes(
        start_ms in FROM_MS..TO_MS,
        pause_after_ms in 0..100 * HOUR_MS,
        pause_for_ms in 0..200 * HOUR_MS,
        look_after_ms in 0..300 * HOUR_MS,
        warn_at_percent in 1u8..=100,
    ) {
        let office = office();
        let policy = SlaPolicy {
            name: "p".to_owned(),
            first_response_ms: 4 * HOUR_MS,
            resolution_ms: 24 * HOUR_MS,
            warn_at_percent,
        };
        let mut clock = SlaClock::start(start_ms);
        let pause_ms = start_ms + pause_after_ms;
        clock.pause(&office, pause_ms);
        clock.resume(pause_ms + pause_for_ms);
        let now_ms = start_ms + look_after_ms;
        let states = |at_ms: u64| {
            let report = clock.evaluate(&policy, &office, at_ms);
            (report.first_response.state, report.resolution.state)
        };
        let report = clock.evaluate(&policy, &office, now_ms);
        if let Some(check_ms) = report.next_check_at_ms {
            prop_assert!(check_ms > now_ms);
            prop_assert_eq!(states(check_ms - 1), states(now_ms));
            prop_assert_ne!(states(check_ms), states(now_ms));
        }
    }
}
