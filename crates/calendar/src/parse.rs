//! The short text forms of a calendar: times of day (`"08:00"`), hours (`"08:00-12:00,13:30-18:00"`),
//! dates (`"2026-10-01"`) and date ranges (`"2026-10-01..2026-10-07"`). Each parser returns the
//! message of its error; the caller adds the field.

use std::fmt;

use jiff::civil::Date;

use crate::{HOLIDAY_SPAN_DAYS_MAX, RANGES_PER_DAY_MAX};

/// Minutes in a day; `24:00` is this many minutes after midnight.
pub(crate) const MINUTES_PER_DAY: u16 = 24 * 60;

/// What a time of day looks like, for error messages.
const TIME_EXPECTED: &str = r#""HH:MM" from 00:00 to 24:00"#;

/// What hours look like, for error messages.
const HOURS_EXPECTED: &str =
    r#"ranges "HH:MM-HH:MM" separated by commas, such as "08:00-12:00,13:30-18:00""#;

/// What a date looks like, for error messages.
const DATE_EXPECTED: &str = r#""YYYY-MM-DD" such as "2026-10-01""#;

/// One open range of a day in local wall-clock minutes after midnight: open from `start_minute`
/// up to, not including, `end_minute`. Always `start_minute < end_minute <= MINUTES_PER_DAY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpenRange {
    pub start_minute: u16,
    pub end_minute: u16,
}

impl fmt::Display for OpenRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (start, end) = (self.start_minute, self.end_minute);
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            start / 60,
            start % 60,
            end / 60,
            end % 60
        )
    }
}

/// Parses `"HH:MM"` (one or two digits of hours, two of minutes) into minutes after midnight,
/// `00:00` to `24:00`.
pub(crate) fn parse_time(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(1..=2).contains(&hours.len())
        || minutes.len() != 2
        || !all_digits(hours)
        || !all_digits(minutes)
    {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    if minutes >= 60 {
        return None;
    }
    let minute_of_day = hours * 60 + minutes;
    (minute_of_day <= MINUTES_PER_DAY).then_some(minute_of_day)
}

/// Parses a day's hours: ranges `"HH:MM-HH:MM"` separated by commas, in any order, none
/// overlapping. Ranges that touch (`"08:00-12:00,12:00-18:00"`) are joined into one, since the
/// calendar does not change at the point where they meet.
pub(crate) fn parse_hours(text: &str) -> Result<Vec<OpenRange>, String> {
    if text.trim().is_empty() {
        return Err(format!("no hours given; expected {HOURS_EXPECTED}"));
    }
    let pieces: Vec<&str> = text.split(',').map(str::trim).collect();
    if pieces.len() > RANGES_PER_DAY_MAX {
        return Err(format!(
            "{} ranges in {text:?}; a day may have at most {RANGES_PER_DAY_MAX}",
            pieces.len()
        ));
    }
    let mut ranges = Vec::with_capacity(pieces.len());
    for piece in pieces {
        ranges.push(parse_range(piece)?);
    }
    ranges.sort_by_key(|range| range.start_minute);
    let mut joined: Vec<OpenRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match joined.last_mut() {
            Some(last) if range.start_minute < last.end_minute => {
                return Err(format!("ranges {last} and {range} overlap"));
            }
            Some(last) if range.start_minute == last.end_minute => {
                last.end_minute = range.end_minute;
            }
            _ => joined.push(range),
        }
    }
    debug_assert!(joined
        .windows(2)
        .all(|w| w[0].end_minute < w[1].start_minute));
    Ok(joined)
}

/// Parses one range `"HH:MM-HH:MM"` that starts before it ends, within one day.
fn parse_range(piece: &str) -> Result<OpenRange, String> {
    let Some((start, end)) = piece.split_once('-') else {
        return Err(format!(
            "invalid range {piece:?}; expected {HOURS_EXPECTED}"
        ));
    };
    let time = |text: &str| {
        let text = text.trim();
        parse_time(text).ok_or_else(|| {
            format!("invalid time {text:?} in range {piece:?}; expected {TIME_EXPECTED}")
        })
    };
    let (start_minute, end_minute) = (time(start)?, time(end)?);
    if start_minute == MINUTES_PER_DAY {
        return Err(format!(
            "range {piece:?} starts at 24:00; 24:00 can only end a range"
        ));
    }
    if end_minute <= start_minute {
        return Err(format!(
            "range {piece:?} does not end after it starts; a range stays within one day, so \
             hours past midnight are written as \"22:00-24:00\" on one day and \
             \"00:00-06:00\" on the next"
        ));
    }
    Ok(OpenRange {
        start_minute,
        end_minute,
    })
}

/// Parses a date `"YYYY-MM-DD"`.
pub(crate) fn parse_date(text: &str) -> Result<Date, String> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return Err(format!("invalid date {text:?}; expected {DATE_EXPECTED}"));
    }
    // The shape check above leaves only digits in each part, so these parse.
    let year: i16 = text[0..4].parse().map_err(|_| text.to_owned())?;
    let month: i8 = text[5..7].parse().map_err(|_| text.to_owned())?;
    let day: i8 = text[8..10].parse().map_err(|_| text.to_owned())?;
    Date::new(year, month, day).map_err(|_| format!("{text:?} is not a day of the calendar"))
}

/// Parses a holiday: one date, or an inclusive range `"2026-10-01..2026-10-07"` of at most
/// [`HOLIDAY_SPAN_DAYS_MAX`] days. Returns the first and last dates.
pub(crate) fn parse_date_span(text: &str) -> Result<(Date, Date), String> {
    let Some((first, last)) = text.split_once("..") else {
        let date = parse_date(text)?;
        return Ok((date, date));
    };
    let (first, last) = (parse_date(first)?, parse_date(last)?);
    if last < first {
        return Err(format!("range {:?} ends before it starts", text.trim()));
    }
    // Both dates lie within jiff's range, so the difference does too.
    let days = first
        .until(last)
        .map(|span| span.get_days())
        .unwrap_or(i32::MAX);
    let days = i64::from(days) + 1;
    if days > HOLIDAY_SPAN_DAYS_MAX {
        return Err(format!(
            "range {:?} covers {days} days; a holiday range may cover at most \
             {HOLIDAY_SPAN_DAYS_MAX}",
            text.trim()
        ));
    }
    Ok((first, last))
}

/// Writes a holiday span back as it is written in the file.
pub(crate) fn format_span((first, last): (Date, Date)) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}..{last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start_minute: u16, end_minute: u16) -> OpenRange {
        OpenRange {
            start_minute,
            end_minute,
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("00:00"), Some(0));
        assert_eq!(parse_time("08:00"), Some(480));
        assert_eq!(parse_time("8:05"), Some(485));
        assert_eq!(parse_time("23:59"), Some(1439));
        assert_eq!(parse_time("24:00"), Some(1440));
        for bad in [
            "",
            "8",
            "08",
            "08:0",
            "08:000",
            "008:00",
            "24:01",
            "25:00",
            "08:60",
            "-1:00",
            "+8:00",
            "08:00:00",
            " 08:00",
            "8h00",
            "０８:００",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hours() {
        assert_eq!(parse_hours("08:00-22:00"), Ok(vec![range(480, 1320)]));
        assert_eq!(parse_hours("00:00-24:00"), Ok(vec![range(0, 1440)]));
        assert_eq!(
            parse_hours(" 13:30-18:00 , 08:00-12:00 "),
            Ok(vec![range(480, 720), range(810, 1080)])
        );
        // Touching ranges are one range.
        assert_eq!(
            parse_hours("08:00-12:00,12:00-18:00"),
            Ok(vec![range(480, 1080)])
        );
        assert_eq!(
            parse_hours("08:00 - 12:00").map(|r| r[0].to_string()),
            Ok("08:00-12:00".to_owned())
        );
        // Ranges "01:00-01:30", "02:00-02:30", … as many as asked for.
        let ranges = |count: u16| {
            (1..=count)
                .map(|hour| format!("{hour:02}:00-{hour:02}:30"))
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(
            parse_hours(&ranges(8)).map(|r| r.len()),
            Ok(RANGES_PER_DAY_MAX)
        );
        assert!(parse_hours(&ranges(9))
            .unwrap_err()
            .contains("a day may have at most 8"));
        assert_eq!(
            parse_hours("08:00-12:00,11:59-13:00"),
            Err("ranges 08:00-12:00 and 11:59-13:00 overlap".to_owned())
        );
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-10-01"), Ok(jiff::civil::date(2026, 10, 1)));
        assert_eq!(parse_date("2028-02-29"), Ok(jiff::civil::date(2028, 2, 29)));
        for bad in [
            "2026-1-01",
            "2026/10/01",
            "26-10-01",
            "2026-10-01T00:00",
            "",
            "+026-10-01",
        ] {
            assert!(parse_date(bad).unwrap_err().contains("expected"), "{bad:?}");
        }
        for impossible in ["2026-02-29", "2026-13-01", "2026-04-31", "2026-00-10"] {
            assert!(
                parse_date(impossible)
                    .unwrap_err()
                    .contains("not a day of the calendar"),
                "{impossible:?}"
            );
        }
        let d = jiff::civil::date;
        assert_eq!(
            parse_date_span("2026-10-01..2026-10-07"),
            Ok((d(2026, 10, 1), d(2026, 10, 7)))
        );
        assert_eq!(
            parse_date_span("2027-01-01"),
            Ok((d(2027, 1, 1), d(2027, 1, 1)))
        );
        assert!(parse_date_span("2026-01-01..2026-12-31").is_ok());
        assert!(
            parse_date_span("2028-01-01..2028-12-31").is_ok(),
            "a leap year"
        );
        assert!(
            parse_date_span("2026-01-01..2027-01-01").is_ok(),
            "366 days"
        );
        assert!(parse_date_span("2026-01-01..2027-01-02")
            .unwrap_err()
            .contains("covers 367 days"));
        assert_eq!(
            format_span((d(2026, 10, 1), d(2026, 10, 7))),
            "2026-10-01..2026-10-07"
        );
        assert_eq!(format_span((d(2027, 1, 1), d(2027, 1, 1))), "2027-01-01");
    }
}
