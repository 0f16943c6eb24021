//! Duration texts of the configuration files (`"30s"`, `"90m"`, `"1h30m"`, `"3d"`): numbers,
//! each followed by a unit, units in a fixed order and each at most once, without spaces. The
//! sections that take durations (tickets' SLA targets and follow-ups, the dialer's retries and
//! promises) choose their units; this is the one parser they share.

/// Parses `text` as numbers each followed by a unit of `units` (largest first, each with its
/// length in milliseconds), in that order, each unit at most once; the whole must be above
/// zero and at most `max_ms`. The error is a message without the field (the caller adds it):
/// `expected` says what a duration looks like, `show_max` writes the maximum.
pub fn parse_duration(
    text: &str,
    units: &[(char, u64)],
    expected: &str,
    max_ms: u64,
    show_max: &dyn Fn(u64) -> String,
) -> Result<u64, String> {
    let invalid = || format!("invalid duration {text:?}; {expected}");
    let too_long = || {
        format!(
            "duration {text:?} is too long; at most {}",
            show_max(max_ms)
        )
    };
    let mut rest = text;
    let mut next_unit = 0;
    let mut total_ms: u64 = 0;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let (number, after) = rest.split_at(digits);
        let unit = after.chars().next().ok_or_else(invalid)?;
        let offset = units
            .get(next_unit..)
            .and_then(|units| units.iter().position(|&(name, _)| name == unit))
            .ok_or_else(invalid)?;
        let unit_ms = units[next_unit + offset].1;
        next_unit += offset + 1;
        // A number too long for u64 is far past any maximum.
        let count: u64 = number.parse().map_err(|_| too_long())?;
        total_ms = count
            .checked_mul(unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(too_long)?;
        rest = &after[unit.len_utf8()..];
    }
    if total_ms == 0 {
        return Err(format!("duration {text:?} is zero; it must be longer"));
    }
    if total_ms > max_ms {
        return Err(too_long());
    }
    Ok(total_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNITS: [(char, u64); 2] = [('h', 3_600_000), ('m', 60_000)];

    fn parse(text: &str) -> Result<u64, String> {
        parse_duration(text, &UNITS, "like 1h30m", 10 * 3_600_000, &|ms| {
            format!("{}h", ms / 3_600_000)
        })
    }

    #[test]
    fn units_in_order_once_above_zero_and_under_the_maximum() {
        assert_eq!(parse("1h30m"), Ok(5_400_000));
        assert_eq!(parse("90m"), Ok(5_400_000));
        assert!(parse("30m1h").unwrap_err().contains("invalid duration"));
        assert!(parse("1h1h").is_err());
        assert!(parse("").is_err());
        assert!(parse("1 h").is_err());
        assert!(parse("0m").unwrap_err().contains("zero"));
        assert!(parse("11h").unwrap_err().contains("at most 10h"));
        assert!(parse("99999999999999999999h")
            .unwrap_err()
            .contains("too long"));
    }
}
