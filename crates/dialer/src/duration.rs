//! The durations of the configuration: `"30s"`, `"5m"`, `"1h30m"`, `"3d"`: days of 24 hours,
//! hours, minutes and seconds, each unit at most once and in that order. The same form as the
//! tickets section's calendar durations, with seconds added (the promise of an ASAP callback is
//! counted in seconds). The parser returns the message of its error; the caller adds the field.

/// Milliseconds in a second, a minute, an hour and a day of 24 hours.
const SECOND_MS: u64 = 1_000;
const MINUTE_MS: u64 = 60 * SECOND_MS;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

/// The units a duration may use, largest first, each with its length.
const UNITS: [(char, u64); 4] = [
    ('d', DAY_MS),
    ('h', HOUR_MS),
    ('m', MINUTE_MS),
    ('s', SECOND_MS),
];

/// What a duration looks like, for error messages.
const EXPECTED: &str = r#"expected forms like "30s", "5m", "1h30m", "3d""#;

/// Parses a duration into milliseconds. It must be above zero and at most `max_ms`.
pub(crate) fn parse_duration(text: &str, max_ms: u64) -> Result<u64, String> {
    hotline_calendar::duration::parse_duration(text, &UNITS, EXPECTED, max_ms, &show)
}

/// A duration in milliseconds written back in the configuration's form (`"3d"`, `"1h30m"`,
/// `"30s"`), for messages and defaults. Parts below a second are dropped.
pub(crate) fn show(duration_ms: u64) -> String {
    let mut text = String::new();
    let mut rest_ms = duration_ms;
    for (name, unit_ms) in UNITS {
        let count = rest_ms / unit_ms;
        if count > 0 {
            text.push_str(&format!("{count}{name}"));
            rest_ms %= unit_ms;
        }
    }
    if text.is_empty() {
        text.push_str("0s");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_MS: u64 = 30 * DAY_MS;

    #[test]
    fn durations() {
        for (text, expected_ms) in [
            ("30s", 30 * SECOND_MS),
            ("5m", 5 * MINUTE_MS),
            ("1h30m", 90 * MINUTE_MS),
            ("3d", 3 * DAY_MS),
            ("1d12h", 36 * HOUR_MS),
            ("1d1h1m1s", DAY_MS + HOUR_MS + MINUTE_MS + SECOND_MS),
            ("0h5m", 5 * MINUTE_MS),
            ("30d", MAX_MS),
        ] {
            assert_eq!(parse_duration(text, MAX_MS), Ok(expected_ms), "{text}");
        }
    }

    #[test]
    fn flawed_durations() {
        for text in [
            "", "4x", "4", "h", "4 h", " 4h", "4h ", "4H", "30m1h", "4h4h", "1.5h", "-4h", "4h30",
            "４h", "5ms",
        ] {
            assert_eq!(
                parse_duration(text, MAX_MS),
                Err(format!("invalid duration {text:?}; {EXPECTED}")),
                "{text}"
            );
        }
        assert_eq!(
            parse_duration("0s", MAX_MS),
            Err(r#"duration "0s" is zero; it must be longer"#.to_owned())
        );
        assert_eq!(
            parse_duration("30d1s", MAX_MS),
            Err(r#"duration "30d1s" is too long; at most 30d"#.to_owned())
        );
        assert_eq!(
            parse_duration("99999999999999999999d", MAX_MS),
            Err(r#"duration "99999999999999999999d" is too long; at most 30d"#.to_owned())
        );
    }

    #[test]
    fn showing_durations() {
        assert_eq!(show(90 * MINUTE_MS), "1h30m");
        assert_eq!(show(3 * DAY_MS), "3d");
        assert_eq!(show(30 * SECOND_MS), "30s");
        assert_eq!(show(0), "0s");
    }
}
