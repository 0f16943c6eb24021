//! The calendar driven through its public API: TOML in, instants in, answers out. Instants are
//! written as RFC 3339 with their offset, so that each case reads as the wall clock it tests.

use hotline_calendar::{
    Calendar, CalendarSpec, LocalTime, Weekday, HOLIDAYS_MAX, LATEST_INSTANT_MS,
    SEARCH_HORIZON_DAYS, WORKDAYS_MAX,
};

/// Reads and builds a calendar, failing the test with the message if it is refused.
fn calendar(toml_text: &str) -> Calendar {
    let spec: CalendarSpec =
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}\nin:\n{toml_text}"));
    Calendar::from_spec(&spec).unwrap_or_else(|e| panic!("{e}\nin:\n{toml_text}"))
}

/// The Shanghai service line of `fixtures/service.toml`.
fn service() -> Calendar {
    calendar(include_str!("fixtures/service.toml"))
}

/// An instant such as `"2026-09-28T08:00:00+08:00"`, in milliseconds since the epoch.
fn ms(text: &str) -> u64 {
    let timestamp: jiff::Timestamp = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    u64::try_from(timestamp.as_millisecond()).expect("an instant after 1970")
}

/// An instant in milliseconds written back in UTC, for messages.
fn show(at_ms: u64) -> String {
    jiff::Timestamp::from_millisecond(at_ms as i64)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{at_ms} ms"))
}

/// Checks `is_open` at each instant and reports every mismatch at once.
fn check_open(calendar: &Calendar, cases: &[(&str, bool)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(at, open)| calendar.is_open(ms(at)) != *open)
        .map(|(at, open)| {
            let expected = if *open { "open" } else { "closed" };
            format!("  at {at}: expected {expected}")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "calendar {:?}:\n{}",
        calendar.name(),
        wrong.join("\n")
    );
}

/// Follows `next_change` from `from` and checks each instant it gives against `expected`, then
/// that nothing follows when `expected` ends with `None`. Along the way it checks that the
/// answer really flips at each change and not the millisecond before, and that `next_open`
/// agrees.
fn check_changes(calendar: &Calendar, from: &str, expected: &[Option<&str>]) {
    let mut at_ms = ms(from);
    for (step, expected) in expected.iter().enumerate() {
        let open = calendar.is_open(at_ms);
        let change = calendar.next_change(at_ms);
        assert_eq!(
            change.map(show),
            expected.map(|e| show(ms(e))),
            "calendar {:?}, change {step} after {from}, looking from {}",
            calendar.name(),
            show(at_ms)
        );
        let expected_next_open = if open { Some(at_ms) } else { change };
        assert_eq!(calendar.next_open(at_ms), expected_next_open);
        let Some(change_ms) = change else { return };
        assert!(change_ms > at_ms);
        assert_eq!(
            calendar.is_open(change_ms - 1),
            open,
            "before {}",
            show(change_ms)
        );
        assert_eq!(calendar.is_open(change_ms), !open, "at {}", show(change_ms));
        at_ms = change_ms;
    }
}

#[test]
fn shanghai_boundaries_of_a_weekday() {
    check_open(
        &service(),
        &[
            // Monday 2026-09-28.
            ("2026-09-28T00:00:00+08:00", false),
            ("2026-09-28T07:59:59.999+08:00", false),
            ("2026-09-28T08:00:00+08:00", true),
            ("2026-09-28T12:00:00+08:00", true),
            ("2026-09-28T21:59:59.999+08:00", true),
            ("2026-09-28T22:00:00+08:00", false),
            ("2026-09-28T23:59:59.999+08:00", false),
            // The same instants in UTC.
            ("2026-09-28T00:00:00Z", true),
            ("2026-09-27T23:59:59.999Z", false),
        ],
    );
}

#[test]
fn shanghai_weekend_and_make_up_sunday() {
    check_open(
        &service(),
        &[
            // An ordinary weekend: Saturday's own hours, Sunday closed.
            ("2026-10-17T08:59:59.999+08:00", false),
            ("2026-10-17T09:00:00+08:00", true),
            ("2026-10-17T17:59:59.999+08:00", true),
            ("2026-10-17T18:00:00+08:00", false),
            ("2026-10-18T12:00:00+08:00", false),
            // Sunday 2026-09-27 is a make-up working day.
            ("2026-09-27T07:59:59.999+08:00", false),
            ("2026-09-27T08:00:00+08:00", true),
            ("2026-09-27T21:59:59.999+08:00", true),
            ("2026-09-27T22:00:00+08:00", false),
            // Saturday 2026-10-10 keeps weekday hours, not Saturday's.
            ("2026-10-10T08:00:00+08:00", true),
            ("2026-10-10T20:00:00+08:00", true),
            ("2026-10-10T22:00:00+08:00", false),
        ],
    );
}

#[test]
fn shanghai_holidays_close_weekdays() {
    check_open(
        &service(),
        &[
            ("2026-09-30T12:00:00+08:00", true),
            // Golden Week: every day closed, Thursday to Wednesday.
            ("2026-10-01T08:00:00+08:00", false),
            ("2026-10-01T12:00:00+08:00", false),
            ("2026-10-03T12:00:00+08:00", false),
            ("2026-10-05T12:00:00+08:00", false),
            ("2026-10-07T21:59:59.999+08:00", false),
            ("2026-10-08T08:00:00+08:00", true),
            // New Year's Day 2027, a Friday.
            ("2027-01-01T12:00:00+08:00", false),
            ("2026-12-31T12:00:00+08:00", true),
            ("2027-01-04T12:00:00+08:00", true),
        ],
    );
}

#[test]
fn shanghai_lunch_break() {
    let lunch = calendar(
        r#"
        name = "lunch"
        weekly = { mon = "13:30-17:30, 08:30-12:00" }
        "#,
    );
    check_open(
        &lunch,
        &[
            ("2026-09-28T08:29:59.999+08:00", false),
            ("2026-09-28T08:30:00+08:00", true),
            ("2026-09-28T11:59:59.999+08:00", true),
            ("2026-09-28T12:00:00+08:00", false),
            ("2026-09-28T13:29:59.999+08:00", false),
            ("2026-09-28T13:30:00+08:00", true),
            ("2026-09-28T17:30:00+08:00", false),
        ],
    );
    check_changes(
        &lunch,
        "2026-09-28T07:00:00+08:00",
        &[
            Some("2026-09-28T08:30:00+08:00"),
            Some("2026-09-28T12:00:00+08:00"),
            Some("2026-09-28T13:30:00+08:00"),
            Some("2026-09-28T17:30:00+08:00"),
            Some("2026-10-05T08:30:00+08:00"),
        ],
    );
}

#[test]
fn shanghai_changes_across_a_weekend() {
    // Friday evening to Monday, with the make-up Sunday.
    check_changes(
        &service(),
        "2026-09-25T21:00:00+08:00",
        &[
            Some("2026-09-25T22:00:00+08:00"),
            Some("2026-09-26T09:00:00+08:00"),
            Some("2026-09-26T18:00:00+08:00"),
            Some("2026-09-27T08:00:00+08:00"),
            Some("2026-09-27T22:00:00+08:00"),
            Some("2026-09-28T08:00:00+08:00"),
        ],
    );
    // An ordinary weekend: nothing happens on Sunday.
    check_changes(
        &service(),
        "2026-10-16T23:00:00+08:00",
        &[
            Some("2026-10-17T09:00:00+08:00"),
            Some("2026-10-17T18:00:00+08:00"),
            Some("2026-10-19T08:00:00+08:00"),
        ],
    );
}

#[test]
fn shanghai_changes_across_golden_week() {
    check_changes(
        &service(),
        "2026-09-30T12:00:00+08:00",
        &[
            Some("2026-09-30T22:00:00+08:00"),
            Some("2026-10-08T08:00:00+08:00"),
            Some("2026-10-08T22:00:00+08:00"),
            Some("2026-10-09T08:00:00+08:00"),
            Some("2026-10-09T22:00:00+08:00"),
            // Saturday 2026-10-10, a make-up working day.
            Some("2026-10-10T08:00:00+08:00"),
            Some("2026-10-10T22:00:00+08:00"),
            Some("2026-10-12T08:00:00+08:00"),
        ],
    );
    let service = service();
    let during = ms("2026-10-03T15:00:00+08:00");
    assert_eq!(
        service.next_open(during),
        Some(ms("2026-10-08T08:00:00+08:00"))
    );
    let open = ms("2026-10-08T09:00:00+08:00");
    assert_eq!(service.next_open(open), Some(open));
}

#[test]
fn ranges_join_across_midnight() {
    let night = calendar(
        r#"
        name = "night"
        weekly = { fri = "20:00-24:00", sat = "00:00-24:00", sun = "00:00-02:00,08:00-10:00" }
        "#,
    );
    check_open(
        &night,
        &[
            ("2026-10-16T23:59:59.999+08:00", true),
            ("2026-10-17T00:00:00+08:00", true),
            ("2026-10-18T00:00:00+08:00", true),
            ("2026-10-18T02:00:00+08:00", false),
        ],
    );
    check_changes(
        &night,
        "2026-10-16T12:00:00+08:00",
        &[
            Some("2026-10-16T20:00:00+08:00"),
            Some("2026-10-18T02:00:00+08:00"),
            Some("2026-10-18T08:00:00+08:00"),
            Some("2026-10-18T10:00:00+08:00"),
            Some("2026-10-23T20:00:00+08:00"),
        ],
    );
}

/// America/New_York springs forward on Sunday 2026-03-08: 02:00 EST becomes 03:00 EDT at
/// 07:00 UTC, and no wall-clock time from 02:00 to 02:59 exists that day.
#[test]
fn new_york_spring_forward() {
    // A range that starts in the skipped hour opens at the jump.
    let starts_in_gap = calendar(
        r#"
        name = "starts_in_gap"
        time_zone = "America/New_York"
        weekly = { sun = "02:30-04:00" }
        "#,
    );
    check_changes(
        &starts_in_gap,
        "2026-03-07T12:00:00-05:00",
        &[
            Some("2026-03-08T03:00:00-04:00"),
            Some("2026-03-08T04:00:00-04:00"),
            Some("2026-03-15T02:30:00-04:00"),
        ],
    );
    check_open(
        &starts_in_gap,
        &[
            ("2026-03-08T01:59:59.999-05:00", false),
            ("2026-03-08T07:00:00Z", true),
            // The Sunday before, an ordinary one.
            ("2026-03-01T02:29:59.999-05:00", false),
            ("2026-03-01T02:30:00-05:00", true),
        ],
    );

    // A range that ends in the skipped hour closes at the jump: open an hour of real time.
    let ends_in_gap = calendar(
        r#"
        name = "ends_in_gap"
        time_zone = "America/New_York"
        weekly = { sun = "01:00-02:30" }
        "#,
    );
    check_changes(
        &ends_in_gap,
        "2026-03-08T00:00:00-05:00",
        &[
            Some("2026-03-08T01:00:00-05:00"),
            Some("2026-03-08T03:00:00-04:00"),
        ],
    );

    // A range wholly inside the skipped hour does not open that day.
    let inside_gap = calendar(
        r#"
        name = "inside_gap"
        time_zone = "America/New_York"
        weekly = { sun = "02:15-02:45" }
        "#,
    );
    check_changes(
        &inside_gap,
        "2026-03-08T00:00:00-05:00",
        &[
            Some("2026-03-15T02:15:00-04:00"),
            Some("2026-03-15T02:45:00-04:00"),
        ],
    );
    assert!(!inside_gap.is_open(ms("2026-03-08T07:00:00Z")));

    // Legal calling hours keep to the wall clock on both sides of the change, 23 hours apart.
    let calling_hours = calendar(
        r#"
        name = "calling_hours"
        time_zone = "America/New_York"
        weekly = { sat = "08:00-21:00", sun = "08:00-21:00" }
        "#,
    );
    check_changes(
        &calling_hours,
        "2026-03-07T12:00:00-05:00",
        &[
            Some("2026-03-07T21:00:00-05:00"),
            Some("2026-03-08T08:00:00-04:00"),
            Some("2026-03-08T21:00:00-04:00"),
        ],
    );
    assert_eq!(
        ms("2026-03-08T08:00:00-04:00") - ms("2026-03-07T21:00:00-05:00"),
        10 * 3_600_000
    );

    // Open through the night: the night is an hour shorter.
    let overnight = calendar(
        r#"
        name = "overnight"
        time_zone = "America/New_York"
        weekly = { sat = "22:00-24:00", sun = "00:00-03:00" }
        "#,
    );
    check_changes(
        &overnight,
        "2026-03-07T12:00:00-05:00",
        &[
            Some("2026-03-07T22:00:00-05:00"),
            Some("2026-03-08T03:00:00-04:00"),
        ],
    );
    assert_eq!(
        ms("2026-03-08T03:00:00-04:00") - ms("2026-03-07T22:00:00-05:00"),
        4 * 3_600_000
    );
}

/// America/New_York falls back on Sunday 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00
/// UTC, and the wall clock reads 01:00 to 01:59 twice.
#[test]
fn new_york_fall_back() {
    // A range that ends in the repeated hour closes the first time and stays closed.
    let ends_in_fold = calendar(
        r#"
        name = "ends_in_fold"
        time_zone = "America/New_York"
        weekly = { sun = "00:00-01:30" }
        "#,
    );
    check_changes(
        &ends_in_fold,
        "2026-10-31T23:00:00-04:00",
        &[
            Some("2026-11-01T00:00:00-04:00"),
            Some("2026-11-01T01:30:00-04:00"),
            Some("2026-11-08T00:00:00-05:00"),
        ],
    );
    check_open(
        &ends_in_fold,
        &[
            ("2026-11-01T01:15:00-04:00", true),
            // The second 01:15, which the wall clock reads as inside the range.
            ("2026-11-01T01:15:00-05:00", false),
        ],
    );

    // A range that starts in the repeated hour opens the first time and stays open.
    let starts_in_fold = calendar(
        r#"
        name = "starts_in_fold"
        time_zone = "America/New_York"
        weekly = { sun = "01:30-05:00" }
        "#,
    );
    check_changes(
        &starts_in_fold,
        "2026-11-01T00:00:00-04:00",
        &[
            Some("2026-11-01T01:30:00-04:00"),
            Some("2026-11-01T05:00:00-05:00"),
        ],
    );
    check_open(
        &starts_in_fold,
        &[
            ("2026-11-01T01:15:00-05:00", true),
            ("2026-11-01T01:29:59.999-04:00", false),
        ],
    );

    // Open through the night: the night is an hour longer.
    let overnight = calendar(
        r#"
        name = "overnight"
        time_zone = "America/New_York"
        weekly = { sat = "22:00-24:00", sun = "00:00-03:00" }
        "#,
    );
    check_changes(
        &overnight,
        "2026-10-31T12:00:00-04:00",
        &[
            Some("2026-10-31T22:00:00-04:00"),
            Some("2026-11-01T03:00:00-05:00"),
        ],
    );
    assert_eq!(
        ms("2026-11-01T03:00:00-05:00") - ms("2026-10-31T22:00:00-04:00"),
        6 * 3_600_000
    );

    // Calling hours, 25 hours apart.
    let calling_hours = calendar(
        r#"
        name = "calling_hours"
        time_zone = "America/New_York"
        weekly = { sat = "08:00-21:00", sun = "08:00-21:00" }
        "#,
    );
    check_changes(
        &calling_hours,
        "2026-10-31T22:00:00-04:00",
        &[
            Some("2026-11-01T08:00:00-05:00"),
            Some("2026-11-01T21:00:00-05:00"),
        ],
    );
}

#[test]
fn never_open_and_always_open() {
    let never = calendar(
        r#"
        name = "never"
        weekly = {}
        "#,
    );
    let closed_all_week = calendar(
        r#"
        name = "closed_all_week"
        weekly = { mon = "closed", tue = "closed", wed = "closed", thu = "closed", fri = "closed", sat = "closed", sun = "closed" }
        "#,
    );
    let open_all_week = calendar(
        r#"
        name = "open_all_week"
        weekly = { mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }
        "#,
    );
    let always = Calendar::always_open();
    assert_eq!(always.name(), "always_open");
    assert_eq!(always.time_zone_name(), "Asia/Shanghai");
    for at_ms in [
        0,
        1,
        ms("2026-10-01T00:00:00+08:00"),
        ms("2026-10-01T12:34:56.789+08:00"),
        LATEST_INSTANT_MS - 1,
        LATEST_INSTANT_MS,
        u64::MAX,
    ] {
        for closed in [&never, &closed_all_week] {
            assert!(!closed.is_open(at_ms), "{} at {at_ms}", closed.name());
            assert_eq!(
                closed.next_open(at_ms),
                None,
                "{} at {at_ms}",
                closed.name()
            );
            assert_eq!(
                closed.next_change(at_ms),
                None,
                "{} at {at_ms}",
                closed.name()
            );
        }
        for open in [&always, &open_all_week] {
            assert!(open.is_open(at_ms), "{} at {at_ms}", open.name());
            assert_eq!(
                open.next_open(at_ms),
                Some(at_ms),
                "{} at {at_ms}",
                open.name()
            );
            assert_eq!(open.next_change(at_ms), None, "{} at {at_ms}", open.name());
        }
    }
}

#[test]
fn search_horizon() {
    // A holiday covering a whole year: the next opening is still found.
    let closed_for_a_year = calendar(
        r#"
        name = "closed_for_a_year"
        weekly = { mon = "08:00-22:00", tue = "08:00-22:00", wed = "08:00-22:00", thu = "08:00-22:00", fri = "08:00-22:00", sat = "08:00-22:00", sun = "08:00-22:00" }
        holidays = ["2026-01-01..2026-12-31"]
        "#,
    );
    assert_eq!(
        closed_for_a_year.next_open(ms("2026-01-01T12:00:00+08:00")),
        Some(ms("2027-01-01T08:00:00+08:00"))
    );

    // Only workdays: found on the last day of the horizon, not the day after.
    assert_eq!(SEARCH_HORIZON_DAYS, 400);
    let from = ms("2026-01-01T12:00:00+08:00");
    let last_day = calendar(
        r#"
        name = "last_day"
        weekly = {}
        workdays = [{ date = "2027-02-05", hours = "23:00-24:00" }]
        "#,
    );
    assert_eq!(
        last_day.next_open(from),
        Some(ms("2027-02-05T23:00:00+08:00"))
    );
    // The horizon counts from the day asked about.
    assert_eq!(
        last_day.next_change(ms("2027-02-05T23:30:00+08:00")),
        Some(ms("2027-02-06T00:00:00+08:00"))
    );
    assert_eq!(
        last_day.next_change(from),
        Some(ms("2027-02-05T23:00:00+08:00"))
    );
    let past_last_day = calendar(
        r#"
        name = "past_last_day"
        weekly = {}
        workdays = [{ date = "2027-02-06", hours = "00:00-01:00" }]
        "#,
    );
    assert_eq!(past_last_day.next_open(from), None);

    // The closing of the last interval found is known once the days after it were looked at.
    let open_two_days = calendar(
        r#"
        name = "open_two_days"
        weekly = {}
        workdays = [{ date = "2026-01-01", hours = "00:00-24:00" }, { date = "2026-01-02", hours = "00:00-12:00" }]
        "#,
    );
    assert_eq!(
        open_two_days.next_change(from),
        Some(ms("2026-01-02T12:00:00+08:00"))
    );
}

#[test]
fn local_time() {
    let service = service();
    assert_eq!(service.time_zone_name(), "Asia/Shanghai");
    assert_eq!(
        service.local_time(ms("2026-09-30T16:05:00Z")),
        LocalTime {
            year: 2026,
            month: 10,
            day: 1,
            weekday: Weekday::Thursday,
            hour: 0,
            minute: 5,
        }
    );
    let new_york = calendar(
        r#"
        name = "new_york"
        time_zone = "america/new_york"
        weekly = {}
        "#,
    );
    assert_eq!(new_york.time_zone_name(), "America/New_York");
    let second_one_fifteen = new_york.local_time(ms("2026-11-01T06:15:00Z"));
    assert_eq!(
        (
            second_one_fifteen.weekday,
            second_one_fifteen.hour,
            second_one_fifteen.minute
        ),
        (Weekday::Sunday, 1, 15)
    );
    assert_eq!(
        new_york.local_time(ms("2026-11-01T05:15:00Z")),
        second_one_fifteen
    );
    assert_eq!(new_york.local_time(u64::MAX).year, 9999);
}

#[test]
fn limits_and_defaults() {
    assert_eq!(
        jiff::Timestamp::MAX.as_millisecond(),
        LATEST_INSTANT_MS as i64,
        "LATEST_INSTANT_MS is the end of jiff's range"
    );
    let default_zone = calendar(
        r#"
        name = "default_zone"
        weekly = {}
        "#,
    );
    assert_eq!(default_zone.time_zone_name(), "Asia/Shanghai");

    // The largest calendar allowed is accepted.
    let holidays: Vec<String> = (0..HOLIDAYS_MAX)
        .map(|i| {
            format!(
                "\"{}\"",
                jiff::civil::date(2026, 1, 1) + jiff::Span::new().days(i as i64)
            )
        })
        .collect();
    let workdays: Vec<String> = (0..WORKDAYS_MAX)
        .map(|i| {
            let date = jiff::civil::date(2030, 1, 1) + jiff::Span::new().days(i as i64);
            format!("{{ date = \"{date}\", hours = \"08:00-09:00\" }}")
        })
        .collect();
    let large = calendar(&format!(
        "name = \"large\"\nweekly = {{}}\nholidays = [{}]\nworkdays = [{}]\n",
        holidays.join(", "),
        workdays.join(", ")
    ));
    assert_eq!(
        large.next_open(ms("2029-12-31T12:00:00+08:00")),
        Some(ms("2030-01-01T08:00:00+08:00"))
    );
}

#[test]
fn bare_toml_dates() {
    let bare = calendar(
        r#"
        name = "bare"
        weekly = { sun = "09:00-10:00" }
        holidays = [2026-10-04, "2026-10-11"]
        workdays = [{ date = 2026-10-10, hours = "09:00-10:00" }]
        "#,
    );
    check_open(
        &bare,
        &[
            ("2026-10-04T09:30:00+08:00", false),
            ("2026-10-10T09:30:00+08:00", true),
            ("2026-10-11T09:30:00+08:00", false),
            ("2026-10-18T09:30:00+08:00", true),
        ],
    );
}

#[test]
fn calendars_cross_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Calendar>();
}

/// Builds a calendar that must be refused and returns the message.
fn error_of(toml_text: &str) -> String {
    let spec: CalendarSpec =
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}\nin:\n{toml_text}"));
    match Calendar::from_spec(&spec) {
        Ok(_) => panic!("accepted:\n{toml_text}"),
        Err(error) => {
            assert!(error.to_string().starts_with(error.field()));
            assert!(error.to_string().ends_with(error.message()));
            error.to_string()
        }
    }
}

#[test]
fn errors_name_their_field() {
    let too_many_holidays = format!(
        "name = \"t\"\nweekly = {{}}\nholidays = [{}]",
        vec!["\"2026-01-01\""; HOLIDAYS_MAX + 1].join(", ")
    );
    let too_many_workdays = format!(
        "name = \"t\"\nweekly = {{}}\nworkdays = [{}]",
        vec!["{ date = \"2026-01-01\", hours = \"08:00-09:00\" }"; WORKDAYS_MAX + 1].join(", ")
    );
    let cases: &[(&str, &str)] = &[
        (
            r#"name = ""
               weekly = {}"#,
            "name: a calendar needs a name",
        ),
        (
            r#"name = "a-name-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-and"
               weekly = {}"#,
            "name: the name is 65 bytes long; at most 64",
        ),
        (
            r#"name = "t"
               time_zone = "Asia/Shangai"
               weekly = {}"#,
            r#"time_zone: unknown time zone "Asia/Shangai"; expected an IANA time zone name such as "Asia/Shanghai" or "America/New_York""#,
        ),
        (
            r#"name = "t"
               time_zone = "Etc/Unknown"
               weekly = {}"#,
            r#"time_zone: unknown time zone "Etc/Unknown"; expected an IANA time zone name such as "Asia/Shanghai" or "America/New_York""#,
        ),
        (
            r#"name = "t"
               weekly = { mon = "08:00-25:00" }"#,
            r#"weekly.mon: invalid time "25:00" in range "08:00-25:00"; expected "HH:MM" from 00:00 to 24:00"#,
        ),
        (
            r#"name = "t"
               weekly = { tue = "8-12" }"#,
            r#"weekly.tue: invalid time "8" in range "8-12"; expected "HH:MM" from 00:00 to 24:00"#,
        ),
        (
            r#"name = "t"
               weekly = { wed = "08:00" }"#,
            r#"weekly.wed: invalid range "08:00"; expected ranges "HH:MM-HH:MM" separated by commas, such as "08:00-12:00,13:30-18:00""#,
        ),
        (
            r#"name = "t"
               weekly = { thu = "22:00-06:00" }"#,
            r#"weekly.thu: range "22:00-06:00" does not end after it starts; a range stays within one day, so hours past midnight are written as "22:00-24:00" on one day and "00:00-06:00" on the next"#,
        ),
        (
            r#"name = "t"
               weekly = { fri = "08:00-08:00" }"#,
            r#"weekly.fri: range "08:00-08:00" does not end after it starts; a range stays within one day, so hours past midnight are written as "22:00-24:00" on one day and "00:00-06:00" on the next"#,
        ),
        (
            r#"name = "t"
               weekly = { sat = "24:00-24:00" }"#,
            r#"weekly.sat: range "24:00-24:00" starts at 24:00; 24:00 can only end a range"#,
        ),
        (
            r#"name = "t"
               weekly = { sun = "08:00-12:00,13:00-18:00,11:00-13:30" }"#,
            "weekly.sun: ranges 08:00-12:00 and 11:00-13:30 overlap",
        ),
        (
            r#"name = "t"
               weekly = { mon = "01:00-02:00,02:30-03:00,03:30-04:00,04:30-05:00,05:30-06:00,06:30-07:00,07:30-08:00,08:30-09:00,09:30-10:00" }"#,
            r#"weekly.mon: 9 ranges in "01:00-02:00,02:30-03:00,03:30-04:00,04:30-05:00,05:30-06:00,06:30-07:00,07:30-08:00,08:30-09:00,09:30-10:00"; a day may have at most 8"#,
        ),
        (
            r#"name = "t"
               weekly = { tue = " " }"#,
            r#"weekly.tue: no hours given; expected ranges "HH:MM-HH:MM" separated by commas, such as "08:00-12:00,13:30-18:00", or "closed""#,
        ),
        (
            r#"name = "t"
               weekly = {}
               holidays = ["2026-10-01", "2026-02-30"]"#,
            r#"holidays[1]: "2026-02-30" is not a day of the calendar"#,
        ),
        (
            r#"name = "t"
               weekly = {}
               holidays = ["2026-10-1"]"#,
            r#"holidays[0]: invalid date "2026-10-1"; expected "YYYY-MM-DD" such as "2026-10-01""#,
        ),
        (
            r#"name = "t"
               weekly = {}
               holidays = ["2026-10-07..2026-10-01"]"#,
            r#"holidays[0]: range "2026-10-07..2026-10-01" ends before it starts"#,
        ),
        (
            r#"name = "t"
               weekly = {}
               holidays = ["2026-01-01..2027-01-02"]"#,
            r#"holidays[0]: range "2026-01-01..2027-01-02" covers 367 days; a holiday range may cover at most 366"#,
        ),
        (
            r#"name = "t"
               weekly = {}
               holidays = ["2026-10-01..2026-10-07", "2027-01-01", "2026-10-05"]"#,
            "holidays[2]: 2026-10-05 overlaps holidays[0] (2026-10-01..2026-10-07); list each date once",
        ),
        (
            r#"name = "t"
               weekly = {}
               holidays = ["2026-10-05", "2026-10-01..2026-10-07"]"#,
            "holidays[1]: 2026-10-01..2026-10-07 overlaps holidays[0] (2026-10-05); list each date once",
        ),
        (&too_many_holidays, "holidays: 513 entries; at most 512"),
        (
            r#"name = "t"
               weekly = {}
               workdays = [{ date = "2026-9-27", hours = "08:00-22:00" }]"#,
            r#"workdays[0].date: invalid date "2026-9-27"; expected "YYYY-MM-DD" such as "2026-10-01""#,
        ),
        (
            r#"name = "t"
               weekly = {}
               holidays = ["2026-10-01..2026-10-07"]
               workdays = [{ date = "2026-09-27", hours = "08:00-22:00" }, { date = "2026-10-03", hours = "08:00-22:00" }]"#,
            "workdays[1].date: 2026-10-03 is also a holiday (holidays[0], 2026-10-01..2026-10-07); a date is either a holiday or a workday",
        ),
        (
            r#"name = "t"
               weekly = {}
               workdays = [{ date = "2026-09-27", hours = "08:00-22:00" }, { date = "2026-09-27", hours = "09:00-12:00" }]"#,
            "workdays[1].date: 2026-09-27 is listed twice (also workdays[0]); list each date once",
        ),
        (
            r#"name = "t"
               weekly = {}
               workdays = [{ date = "2026-09-27", hours = "08:00-22:60" }]"#,
            r#"workdays[0].hours: invalid time "22:60" in range "08:00-22:60"; expected "HH:MM" from 00:00 to 24:00"#,
        ),
        (
            r#"name = "t"
               weekly = {}
               workdays = [{ date = "2026-09-27", hours = "closed" }]"#,
            r#"workdays[0].hours: a workday cannot be "closed"; a closed date belongs in holidays"#,
        ),
        (
            r#"name = "t"
               weekly = {}
               workdays = [{ date = "2026-09-27", hours = "" }]"#,
            r#"workdays[0].hours: no hours given; expected ranges "HH:MM-HH:MM" separated by commas, such as "08:00-12:00,13:30-18:00""#,
        ),
        (&too_many_workdays, "workdays: 513 entries; at most 512"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(toml_text, expected)| {
            let actual = error_of(toml_text);
            (actual != *expected).then(|| format!("  expected {expected}\n  got      {actual}"))
        })
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n\n"));
}

#[test]
fn unknown_and_missing_keys_are_refused_by_serde() {
    let cases: &[(&str, &str)] = &[
        (
            r#"name = "t"
               weekly = { monday = "08:00-22:00" }"#,
            "unknown field `monday`",
        ),
        (
            r#"name = "t"
               weekly = {}
               holiday = ["2026-10-01"]"#,
            "unknown field `holiday`",
        ),
        (
            r#"name = "t"
               weekly = {}
               workdays = [{ date = "2026-09-27", hours = "08:00-22:00", like = "mon" }]"#,
            "unknown field `like`",
        ),
        (
            r#"name = "t"
               weekly = {}
               workdays = [{ date = "2026-09-27" }]"#,
            "missing field `hours`",
        ),
        (r#"name = "t""#, "missing field `weekly`"),
        (
            r#"name = "t"
               weekly = {}
               holidays = [20261001]"#,
            "a date",
        ),
    ];
    for (toml_text, expected) in cases {
        let error = toml::from_str::<CalendarSpec>(toml_text)
            .expect_err(toml_text)
            .to_string();
        assert!(error.contains(expected), "{toml_text}\n{error}");
    }
}
