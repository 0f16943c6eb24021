//! The `[dialer]` section: its defaults, the fixture, and errors that name the field.

mod common;

use common::*;
use hotline_dialer::{
    DialerConfig, DialerRules, E164Number, Outcome, RetryDelays, ATTEMPTS_MAX, MAX_TASKS,
};

/// The error of a `[dialer]` section, as `field: message`.
fn error_of(toml_text: &str) -> String {
    let config = config_from(toml_text).unwrap_or_else(|e| panic!("{e}"));
    match DialerRules::from_config(&config) {
        Ok(_) => panic!("accepted: {toml_text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn an_empty_section_is_the_default() {
    let config = config_from("[dialer]").unwrap();
    assert_eq!(config, DialerConfig::default());
    let rules = DialerRules::from_config(&config).unwrap();
    assert_eq!(rules.max_attempts(), 6);
    assert_eq!(rules.max_attempts_per_day(), 3);
    assert_eq!(
        rules.retry(),
        RetryDelays {
            busy_ms: 5 * MINUTE_MS,
            no_answer_ms: 20 * MINUTE_MS,
            rejected_ms: 60 * MINUTE_MS,
            network_failure_ms: 2 * MINUTE_MS,
        }
    );
    assert_eq!(rules.retry().after(Outcome::Connected), None);
    assert_eq!(rules.retry().after(Outcome::Unknown), Some(2 * MINUTE_MS));
    assert_eq!(rules.asap_promise_ms(), 30_000);
    assert_eq!(rules.apology_after_ms(), 300_000);
    assert_eq!(rules.asap_horizon_ms(), 3 * DAY_MS);
    assert_eq!(rules.max_tasks(), MAX_TASKS);

    // 08:00-21:00 every day in Shanghai.
    let hours = rules.legal_hours_for(&E164Number::parse(MAINLAND).unwrap());
    assert_eq!(hours.time_zone_name(), "Asia/Shanghai");
    for (at, open) in [
        ("2026-09-27 07:59", false),
        ("2026-09-27 08:00", true),
        ("2026-09-27 20:59", true),
        ("2026-09-27 21:00", false),
        ("2026-10-01 12:00", true),
    ] {
        assert_eq!(hours.is_open(sh(at)), open, "{at}");
    }
    // DialerRules::default is the same section.
    let default = DialerRules::default();
    assert_eq!(default.retry(), rules.retry());
    assert_eq!(
        default
            .legal_hours_for(&E164Number::parse(MAINLAND).unwrap())
            .name(),
        "legal_hours"
    );
}

#[test]
fn the_fixture_reads_as_written() {
    let rules = rules();
    assert_eq!(rules.max_attempts(), 4);
    assert_eq!(rules.max_attempts_per_day(), 2);
    let region = |number: &str| {
        rules
            .legal_hours_for(&E164Number::parse(number).unwrap())
            .name()
            .to_owned()
    };
    assert_eq!(region("+8613812345678"), "mainland");
    assert_eq!(region("+85291234567"), "hong_kong");
    assert_eq!(region("+12125550123"), "north_america");
    assert_eq!(region("+18085550123"), "hawaii");
    // The holiday closes the mainland all day.
    let mainland = rules.legal_hours_for(&E164Number::parse(MAINLAND).unwrap());
    assert!(!mainland.is_open(sh("2026-10-01 12:00")));
}

#[test]
fn flaws_name_the_field() {
    for (toml_text, expected) in [
        (
            "[dialer]\nretry = { busy = \"5x\" }",
            r#"retry.busy: invalid duration "5x"; expected forms like "30s", "5m", "1h30m", "3d""#,
        ),
        (
            "[dialer]\nretry = { no_answer = \"8d\" }",
            r#"retry.no_answer: duration "8d" is too long; at most 7d"#,
        ),
        (
            "[dialer]\nmax_attempts = 0",
            "max_attempts: 0 is out of range; expected 1 to 20",
        ),
        (
            "[dialer]\nmax_attempts = 21",
            "max_attempts: 21 is out of range; expected 1 to 20",
        ),
        (
            "[dialer]\nmax_attempts = 2\nmax_attempts_per_day = 3",
            "max_attempts_per_day: 3 is more than max_attempts (2); a task never gets more \
             attempts in a day than in all",
        ),
        (
            "[dialer]\nmax_attempts_per_day = -1",
            "max_attempts_per_day: -1 is out of range; expected 1 to 10",
        ),
        (
            "[dialer]\nasap_promise = \"0s\"",
            r#"asap_promise: duration "0s" is zero; it must be longer"#,
        ),
        (
            "[dialer]\nasap_horizon = \"31d\"",
            r#"asap_horizon: duration "31d" is too long; at most 30d"#,
        ),
        (
            "[dialer]\napology_after = \"5 m\"",
            r#"apology_after: invalid duration "5 m"; expected forms like "30s", "5m", "1h30m", "3d""#,
        ),
        (
            "[dialer]\nmax_tasks = 2000001",
            "max_tasks: 2000001 is out of range; expected 1 to 2000000",
        ),
        (
            "[dialer]\nlegal_hours = { name = \"x\", weekly = { mon = \"08:00-25:00\" } }",
            r#"legal_hours.weekly.mon: invalid time "25:00" in range "08:00-25:00"; expected "HH:MM" from 00:00 to 24:00"#,
        ),
        (
            "[[dialer.regions]]\nprefix = \"852\"\nlegal_hours = { name = \"hk\", weekly = {} }",
            r#"regions[0].prefix: "852" does not begin with "+"; expected "+" and the leading digits of the numbers, such as "+852""#,
        ),
        (
            "[[dialer.regions]]\nprefix = \"+852\"\nlegal_hours = { name = \"hk\", weekly = {} }\n\
             [[dialer.regions]]\nprefix = \"+852\"\nlegal_hours = { name = \"hk2\", weekly = {} }",
            r#"regions[1].prefix: "+852" is also the prefix of regions[0]; each prefix once"#,
        ),
        (
            "[[dialer.regions]]\nprefix = \"+852\"\nlegal_hours = { name = \"hk\", time_zone = \"Asia/Hongkong2\", weekly = {} }",
            r#"regions[0].legal_hours.time_zone: unknown time zone "Asia/Hongkong2"; expected an IANA time zone name such as "Asia/Shanghai" or "America/New_York""#,
        ),
    ] {
        assert_eq!(error_of(toml_text), expected, "{toml_text}");
    }
    assert!(format!("{ATTEMPTS_MAX}") == "20");
}

#[test]
fn unknown_keys_are_refused_by_name() {
    for (toml_text, key) in [
        ("[dialer]\nmax_attempt = 3", "max_attempt"),
        ("[dialer]\nretry = { busy_line = \"5m\" }", "busy_line"),
        ("[[dialer.regions]]\nprefix = \"+852\"\nhours = {}", "hours"),
    ] {
        let error = config_from(toml_text).unwrap_err();
        assert!(error.contains(key), "{toml_text}: {error}");
    }
}
