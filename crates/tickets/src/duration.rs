//! The two duration texts of the configuration: business durations (`"4h"`, `"90m"`,
//! `"1h30m"`) and calendar durations, which may also count days (`"3d"`, `"1d12h"`).
//! Each parser returns the message of its error; the caller adds the field.

/// Milliseconds in a minute, an hour and a day of 24 hours.
const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

/// What a business duration looks like, for error messages.
const BUSINESS_EXPECTED: &str = r#"expected forms like "4h", "90m", "1h30m""#;

/// What a calendar duration looks like, for error messages.
const CALENDAR_EXPECTED: &str = r#"expected forms like "3d", "72h", "1d12h", "90m""#;

/// Parses a business duration: hours and minutes only, `"4h"`, `"90m"`, `"1h30m"`, into
/// milliseconds. Days are refused on purpose: a "day" of business time could mean 24 hours
/// or one working day, and the two differ by a factor of three.
pub(crate) fn parse_business_duration(text: &str, max_ms: u64) -> Result<u64, String> {
    parse(
        text,
        &[('h', HOUR_MS), ('m', MINUTE_MS)],
        BUSINESS_EXPECTED,
        max_ms,
    )
}

/// Parses a calendar duration: days of 24 hours, hours and minutes, `"3d"`, `"72h"`,
/// `"1d12h"`, into milliseconds.
pub(crate) fn parse_calendar_duration(text: &str, max_ms: u64) -> Result<u64, String> {
    parse(
        text,
        &[('d', DAY_MS), ('h', HOUR_MS), ('m', MINUTE_MS)],
        CALENDAR_EXPECTED,
        max_ms,
    )
}

/// Parses with the calendar crate's shared parser, the maximum written in these units.
fn parse(text: &str, units: &[(char, u64)], expected: &str, max_ms: u64) -> Result<u64, String> {
    hotline_calendar::duration::parse_duration(text, units, expected, max_ms, &|max| {
        show_max(max, units)
    })
}

/// A maximum in the units of the text it limits: whole days as days (`"366d"`) where days
/// are allowed, else as [`show`] writes it.
fn show_max(max_ms: u64, units: &[(char, u64)]) -> String {
    let days_allowed = units.iter().any(|&(name, _)| name == 'd');
    if days_allowed && max_ms >= DAY_MS && max_ms.is_multiple_of(DAY_MS) {
        format!("{}d", max_ms / DAY_MS)
    } else {
        show(max_ms)
    }
}

/// A duration in milliseconds written back as hours and minutes (`"1000h"`, `"1h30m"`), for
/// messages. Seconds and less are dropped.
pub(crate) fn show(duration_ms: u64) -> String {
    let hours = duration_ms / HOUR_MS;
    let minutes = duration_ms % HOUR_MS / MINUTE_MS;
    match (hours, minutes) {
        (0, minutes) => format!("{minutes}m"),
        (hours, 0) => format!("{hours}h"),
        (hours, minutes) => format!("{hours}h{minutes}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_MS: u64 = 1000 * HOUR_MS;

    #[test]
    fn business_durations() {
        for (text, expected_ms) in [
            ("4h", 4 * HOUR_MS),
            ("90m", 90 * MINUTE_MS),
            ("1h30m", 90 * MINUTE_MS),
            ("0h5m", 5 * MINUTE_MS),
            ("1000h", MAX_MS),
            ("007h", 7 * HOUR_MS),
        ] {
            assert_eq!(
                parse_business_duration(text, MAX_MS),
                Ok(expected_ms),
                "{text}"
            );
        }
    }

    #[test]
    fn calendar_durations() {
        for (text, expected_ms) in [
            ("3d", 3 * DAY_MS),
            ("72h", 3 * DAY_MS),
            ("1d12h", 36 * HOUR_MS),
            ("1d1h1m", DAY_MS + HOUR_MS + MINUTE_MS),
        ] {
            assert_eq!(
                parse_calendar_duration(text, 366 * DAY_MS),
                Ok(expected_ms),
                "{text}"
            );
        }
    }

    #[test]
    fn flawed_durations() {
        let expected = r#"expected forms like "4h", "90m", "1h30m""#;
        for text in [
            "", "4x", "4", "h", "4 h", " 4h", "4h ", "4H", "30m1h", "4h4h", "1d", "1.5h", "-4h",
            "4h30", "４h",
        ] {
            assert_eq!(
                parse_business_duration(text, MAX_MS),
                Err(format!("invalid duration {text:?}; {expected}")),
                "{text}"
            );
        }
        assert_eq!(
            parse_business_duration("0h", MAX_MS),
            Err(r#"duration "0h" is zero; it must be longer"#.to_owned())
        );
        assert_eq!(
            parse_business_duration("1000h1m", MAX_MS),
            Err(r#"duration "1000h1m" is too long; at most 1000h"#.to_owned())
        );
        assert_eq!(
            parse_business_duration("99999999999999999999h", MAX_MS),
            Err(r#"duration "99999999999999999999h" is too long; at most 1000h"#.to_owned())
        );
        assert_eq!(
            parse_business_duration("9999999999999999h", MAX_MS),
            Err(r#"duration "9999999999999999h" is too long; at most 1000h"#.to_owned())
        );
    }

    #[test]
    fn showing_durations() {
        assert_eq!(show(90 * MINUTE_MS), "1h30m");
        assert_eq!(show(40 * HOUR_MS), "40h");
        assert_eq!(show(5 * MINUTE_MS), "5m");
    }
}
