//! Helpers shared by the dialer's tests: the rules of `fixtures/dialer.toml`, instants written
//! as wall-clock time, tasks and calendars.

#![allow(dead_code)]

use std::sync::Arc;

use hotline_calendar::{Calendar, CalendarSpec};
use hotline_dialer::{
    CustomerKey, Dialer, DialerConfig, DialerRules, Event, NewTask, RequestedWindow,
};
use serde::Deserialize;

pub const SECOND_MS: u64 = 1_000;
pub const MINUTE_MS: u64 = 60 * SECOND_MS;
pub const HOUR_MS: u64 = 60 * MINUTE_MS;
pub const DAY_MS: u64 = 24 * HOUR_MS;

/// A mainland mobile number (default legal hours).
pub const MAINLAND: &str = "+8613812345678";

/// A file with a `[dialer]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub dialer: DialerConfig,
}

/// Reads the `[dialer]` table of a TOML text.
pub fn config_from(toml_text: &str) -> Result<DialerConfig, String> {
    toml::from_str::<File>(toml_text)
        .map(|file| file.dialer)
        .map_err(|e| e.to_string())
}

/// The rules of `fixtures/dialer.toml`.
pub fn rules() -> DialerRules {
    let config = config_from(include_str!("../fixtures/dialer.toml")).unwrap();
    DialerRules::from_config(&config).unwrap_or_else(|e| panic!("{e}"))
}

/// A dialer under the rules of `fixtures/dialer.toml`.
pub fn dialer() -> Dialer {
    Dialer::new(rules())
}

/// `"2026-09-28 10:00"` as UTC wall-clock time, in milliseconds since the epoch.
pub fn utc(text: &str) -> u64 {
    let number = |range: std::ops::Range<usize>| -> i64 { text[range].parse().unwrap() };
    assert!(text.len() == 16 || text.len() == 19, "{text}");
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute) = (number(11..13), number(14..16));
    let second = if text.len() == 19 { number(17..19) } else { 0 };
    // Days from 1970-01-01 to the civil date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    u64::try_from((((days * 24 + hour) * 60 + minute) * 60 + second) * 1000).unwrap()
}

/// Shanghai (and Hong Kong) wall-clock time: UTC+8, no clock changes.
pub fn sh(text: &str) -> u64 {
    utc(text) - 8 * HOUR_MS
}

/// New York wall-clock time in summer (EDT, UTC-4).
pub fn ny_summer(text: &str) -> u64 {
    utc(text) + 4 * HOUR_MS
}

/// An ASAP callback of `customer` for `reason` to a mainland number, normal priority.
pub fn task(customer: u64, reason: &str) -> NewTask {
    NewTask {
        customer: CustomerKey(customer),
        reason: reason.to_owned(),
        number: MAINLAND.to_owned(),
        priority_class: 0,
        value_score: 0,
        window: RequestedWindow::Asap,
        contact_hours: None,
    }
}

/// A calendar from its TOML text.
pub fn calendar(toml_text: &str) -> Arc<Calendar> {
    let spec: CalendarSpec = toml::from_str(toml_text).unwrap();
    Arc::new(Calendar::from_spec(&spec).unwrap_or_else(|e| panic!("{e}")))
}

/// Every event waiting, oldest first.
pub fn drain(dialer: &mut Dialer) -> Vec<Event> {
    std::iter::from_fn(|| dialer.poll_event()).collect()
}
