//! [`Calendar`]: the checked calendar, and its answers about instants.

use std::collections::btree_map::{BTreeMap, Entry};

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone, TimeZoneDatabase};
use jiff::Timestamp;

use crate::parse::MINUTES_PER_DAY;
use crate::parse::{format_span, parse_date, parse_date_span, parse_hours, OpenRange};
use crate::{
    CalendarError, CalendarSpec, DEFAULT_TIME_ZONE, HOLIDAYS_MAX, LATEST_INSTANT_MS,
    NAME_BYTES_MAX, SEARCH_HORIZON_DAYS, WORKDAYS_MAX,
};

/// The word that marks a weekday closed in `weekly`.
const CLOSED: &str = "closed";

/// The name of [`Calendar::always_open`].
const ALWAYS_OPEN_NAME: &str = "always_open";

/// When a contact center is open: weekly hours, holidays and make-up working days in one time
/// zone. Built by [`Calendar::from_spec`] or [`Calendar::always_open`]; see the crate
/// documentation for the model.
///
/// Every question takes the instant as milliseconds since the Unix epoch; the calendar never
/// reads a clock.
#[derive(Clone, Debug)]
pub struct Calendar {
    name: String,
    /// The canonical IANA name of `time_zone`.
    time_zone_name: String,
    time_zone: TimeZone,
    /// The hours of each day of the week, Monday first.
    weekly: [Vec<OpenRange>; 7],
    /// Holidays as inclusive `(first, last)` spans, sorted and disjoint.
    holidays: Vec<(Date, Date)>,
    /// Make-up working days and their hours; none of them is a holiday.
    workdays: BTreeMap<Date, Vec<OpenRange>>,
}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    /// Monday, 星期一.
    Monday,
    /// Tuesday, 星期二.
    Tuesday,
    /// Wednesday, 星期三.
    Wednesday,
    /// Thursday, 星期四.
    Thursday,
    /// Friday, 星期五.
    Friday,
    /// Saturday, 星期六.
    Saturday,
    /// Sunday, 星期日.
    Sunday,
}

impl Weekday {
    fn from_jiff(weekday: jiff::civil::Weekday) -> Weekday {
        match weekday {
            jiff::civil::Weekday::Monday => Weekday::Monday,
            jiff::civil::Weekday::Tuesday => Weekday::Tuesday,
            jiff::civil::Weekday::Wednesday => Weekday::Wednesday,
            jiff::civil::Weekday::Thursday => Weekday::Thursday,
            jiff::civil::Weekday::Friday => Weekday::Friday,
            jiff::civil::Weekday::Saturday => Weekday::Saturday,
            jiff::civil::Weekday::Sunday => Weekday::Sunday,
        }
    }
}

/// The calendar's local wall-clock reading at an instant, to the minute: what an announcement
/// says ("we open again on Thursday 8 October at 08:00").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime {
    /// The year, such as 2026.
    pub year: i16,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 31.
    pub day: u8,
    /// The day of the week.
    pub weekday: Weekday,
    /// The hour, 0 to 23.
    pub hour: u8,
    /// The minute, 0 to 59.
    pub minute: u8,
}

impl Calendar {
    /// Checks a calendar as written and builds it. The error names the first field at fault.
    pub fn from_spec(spec: &CalendarSpec) -> Result<Calendar, CalendarError> {
        if spec.name.trim().is_empty() {
            return Err(CalendarError::new("name", "a calendar needs a name"));
        }
        if spec.name.len() > NAME_BYTES_MAX {
            return Err(CalendarError::new(
                "name",
                format!(
                    "the name is {} bytes long; at most {NAME_BYTES_MAX}",
                    spec.name.len()
                ),
            ));
        }

        let time_zone_text = spec.time_zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE);
        let time_zone = TimeZoneDatabase::bundled()
            .get(time_zone_text)
            .ok()
            .filter(|tz| !tz.is_unknown())
            .ok_or_else(|| {
                CalendarError::new(
                    "time_zone",
                    format!(
                        "unknown time zone {time_zone_text:?}; expected an IANA time zone name \
                         such as \"Asia/Shanghai\" or \"America/New_York\""
                    ),
                )
            })?;
        let time_zone_name = time_zone.iana_name().unwrap_or(time_zone_text).to_owned();

        let mut weekly: [Vec<OpenRange>; 7] = Default::default();
        for (hours, (key, text)) in weekly.iter_mut().zip(spec.weekly.days()) {
            *hours = match text {
                None => Vec::new(),
                Some(text) if text.trim() == CLOSED => Vec::new(),
                Some(text) => parse_hours(text).map_err(|message| {
                    let message = if text.trim().is_empty() {
                        format!("{message}, or \"{CLOSED}\"")
                    } else {
                        message
                    };
                    CalendarError::new(format!("weekly.{key}"), message)
                })?,
            };
        }

        if spec.holidays.len() > HOLIDAYS_MAX {
            return Err(CalendarError::new(
                "holidays",
                format!("{} entries; at most {HOLIDAYS_MAX}", spec.holidays.len()),
            ));
        }
        // Each span with the index of its entry, for messages.
        let mut holidays: Vec<((Date, Date), usize)> = Vec::with_capacity(spec.holidays.len());
        for (index, text) in spec.holidays.iter().enumerate() {
            let span = parse_date_span(text)
                .map_err(|message| CalendarError::new(format!("holidays[{index}]"), message))?;
            holidays.push((span, index));
        }
        holidays.sort_by_key(|&((first, _), _)| first);
        for pair in holidays.windows(2) {
            let (((_, earlier_last), earlier_index), ((later_first, _), later_index)) =
                (pair[0], pair[1]);
            if later_first <= earlier_last {
                let (reported, other) = if earlier_index > later_index {
                    (pair[0], pair[1])
                } else {
                    (pair[1], pair[0])
                };
                return Err(CalendarError::new(
                    format!("holidays[{}]", reported.1),
                    format!(
                        "{} overlaps holidays[{}] ({}); list each date once",
                        format_span(reported.0),
                        other.1,
                        format_span(other.0)
                    ),
                ));
            }
        }

        if spec.workdays.len() > WORKDAYS_MAX {
            return Err(CalendarError::new(
                "workdays",
                format!("{} entries; at most {WORKDAYS_MAX}", spec.workdays.len()),
            ));
        }
        let mut workdays: BTreeMap<Date, (usize, Vec<OpenRange>)> = BTreeMap::new();
        for (index, workday) in spec.workdays.iter().enumerate() {
            let date = parse_date(&workday.date).map_err(|message| {
                CalendarError::new(format!("workdays[{index}].date"), message)
            })?;
            if let Some((span, holiday_index)) = holidays
                .iter()
                .find(|((first, last), _)| (*first..=*last).contains(&date))
            {
                return Err(CalendarError::new(
                    format!("workdays[{index}].date"),
                    format!(
                        "{date} is also a holiday (holidays[{holiday_index}], {}); a date is \
                         either a holiday or a workday",
                        format_span(*span)
                    ),
                ));
            }
            let hours_field = || format!("workdays[{index}].hours");
            if workday.hours.trim() == CLOSED {
                return Err(CalendarError::new(
                    hours_field(),
                    "a workday cannot be \"closed\"; a closed date belongs in holidays",
                ));
            }
            let hours = parse_hours(&workday.hours)
                .map_err(|message| CalendarError::new(hours_field(), message))?;
            match workdays.entry(date) {
                Entry::Occupied(first) => {
                    return Err(CalendarError::new(
                        format!("workdays[{index}].date"),
                        format!(
                            "{date} is listed twice (also workdays[{}]); list each date once",
                            first.get().0
                        ),
                    ));
                }
                Entry::Vacant(slot) => {
                    slot.insert((index, hours));
                }
            }
        }

        Ok(Calendar {
            name: spec.name.clone(),
            time_zone_name,
            time_zone,
            weekly,
            holidays: holidays.into_iter().map(|(span, _)| span).collect(),
            workdays: workdays
                .into_iter()
                .map(|(date, (_, hours))| (date, hours))
                .collect(),
        })
    }

    /// A calendar that is open at every instant, named `"always_open"`, in
    /// [`DEFAULT_TIME_ZONE`]: the default where no calendar is configured.
    pub fn always_open() -> Calendar {
        // The bundled database always has the default zone; should it ever not, a fixed UTC+8
        // gives the same local times, since Shanghai has kept UTC+8 without clock changes
        // since 1991.
        let time_zone = TimeZoneDatabase::bundled()
            .get(DEFAULT_TIME_ZONE)
            .unwrap_or_else(|_| TimeZone::fixed(Offset::constant(8)));
        let all_day = vec![OpenRange {
            start_minute: 0,
            end_minute: MINUTES_PER_DAY,
        }];
        Calendar {
            name: ALWAYS_OPEN_NAME.to_owned(),
            time_zone_name: DEFAULT_TIME_ZONE.to_owned(),
            time_zone,
            weekly: std::array::from_fn(|_| all_day.clone()),
            holidays: Vec::new(),
            workdays: BTreeMap::new(),
        }
    }

    /// The calendar's name, as written in its section.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The IANA name of the time zone the hours are read in, such as `"Asia/Shanghai"`.
    pub fn time_zone_name(&self) -> &str {
        &self.time_zone_name
    }

    /// The local wall-clock date and time at `at_ms` (milliseconds since the Unix epoch).
    /// Instants after [`LATEST_INSTANT_MS`] read as that instant.
    pub fn local_time(&self, at_ms: u64) -> LocalTime {
        let local = self.time_zone.to_datetime(clamped_timestamp(at_ms));
        // jiff keeps each part within the ranges the fields document, so the casts are exact.
        LocalTime {
            year: local.year(),
            month: local.month() as u8,
            day: local.day() as u8,
            weekday: Weekday::from_jiff(local.weekday()),
            hour: local.hour() as u8,
            minute: local.minute() as u8,
        }
    }

    /// Whether the center is open at `at_ms` (milliseconds since the Unix epoch). Each range
    /// includes its start and excludes its end: open at 08:00:00.000, closed at 22:00:00.000
    /// for `"08:00-22:00"`. Instants after [`LATEST_INSTANT_MS`] are answered as that instant.
    pub fn is_open(&self, at_ms: u64) -> bool {
        let at = clamped_timestamp(at_ms);
        let at_ms = at.as_millisecond();
        let today = self.time_zone.to_datetime(at).date();
        // A range of the day before can still be open after midnight when the clock went back
        // over midnight, and one of the next day can already be open before it; further days
        // cannot reach `at`.
        let mut intervals = Vec::new();
        [today.yesterday().ok(), Some(today), today.tomorrow().ok()]
            .into_iter()
            .flatten()
            .any(|date| {
                self.intervals_on(date, &mut intervals);
                intervals
                    .iter()
                    .any(|&(start_ms, end_ms)| start_ms <= at_ms && at_ms < end_ms)
            })
    }

    /// The first instant after `at_ms` at which [`is_open`](Calendar::is_open) gives a
    /// different answer than at `at_ms`: when to look again. `None` when the answer does not
    /// change within [`SEARCH_HORIZON_DAYS`] local days after the date of `at_ms` (a calendar
    /// that is always open or never open, or an instant after [`LATEST_INSTANT_MS`]).
    pub fn next_change(&self, at_ms: u64) -> Option<u64> {
        if at_ms > LATEST_INSTANT_MS {
            return None;
        }
        let change_ms = self.next_change_ms(clamped_timestamp(at_ms))?;
        debug_assert!(change_ms > at_ms as i64);
        // A boundary past the end of jiff's range is no change a caller can wait for.
        u64::try_from(change_ms)
            .ok()
            .filter(|&change_ms| change_ms <= LATEST_INSTANT_MS)
    }

    /// [`Calendar::next_change`] after an instant within jiff's range.
    fn next_change_ms(&self, at: Timestamp) -> Option<i64> {
        let at_ms = at.as_millisecond();
        let today = self.time_zone.to_datetime(at).date();
        // Walk the open intervals in order, joining those that touch (a range to 24:00 and the
        // next day's from 00:00), and stop at the first boundary after `at_ms`. The day before
        // is included because its last interval may still be open at `at_ms`.
        let mut date = today.yesterday().unwrap_or(today);
        let mut open: Option<(i64, i64)> = None;
        let mut intervals = Vec::new();
        let mut out_of_dates = false;
        for _ in 0..SEARCH_HORIZON_DAYS + 2 {
            self.intervals_on(date, &mut intervals);
            for &(start_ms, end_ms) in &intervals {
                open = match open {
                    Some((open_start_ms, open_end_ms)) if start_ms <= open_end_ms => {
                        Some((open_start_ms, open_end_ms.max(end_ms)))
                    }
                    Some((open_start_ms, _)) if open_start_ms > at_ms => {
                        return Some(open_start_ms);
                    }
                    Some((_, open_end_ms)) if open_end_ms > at_ms => {
                        return Some(open_end_ms);
                    }
                    _ => Some((start_ms, end_ms)),
                };
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => {
                    out_of_dates = true;
                    break;
                }
            }
        }
        // `date` is now the first day not looked at. The last interval found may still open
        // after `at_ms`, or close before that day begins; if it runs up to that day, whether it
        // closes then is not known.
        let horizon_end_ms = if out_of_dates {
            None
        } else {
            self.boundary_in_range_ms(date, 0)
        };
        match open {
            Some((open_start_ms, _)) if open_start_ms > at_ms => Some(open_start_ms),
            Some((_, open_end_ms))
                if open_end_ms > at_ms
                    && horizon_end_ms
                        .is_some_and(|horizon_end_ms| open_end_ms < horizon_end_ms) =>
            {
                Some(open_end_ms)
            }
            _ => None,
        }
    }

    /// `at_ms` if the center is open then, else the next instant it opens within
    /// [`SEARCH_HORIZON_DAYS`] days; `None` if it does not open within them.
    pub fn next_open(&self, at_ms: u64) -> Option<u64> {
        if self.is_open(at_ms) {
            Some(at_ms)
        } else {
            self.next_change(at_ms)
        }
    }

    /// The hours kept on a local date: a workday's own, none on a holiday, else the weekly ones.
    fn hours_on(&self, date: Date) -> &[OpenRange] {
        if let Some(hours) = self.workdays.get(&date) {
            return hours;
        }
        let after = self.holidays.partition_point(|&(first, _)| first <= date);
        if after > 0 && date <= self.holidays[after - 1].1 {
            return &[];
        }
        &self.weekly[usize::from(date.weekday().to_monday_zero_offset().unsigned_abs())]
    }

    /// Replaces `intervals` with the open intervals of a local date as instants, each
    /// `(start_ms, end_ms)` with the end excluded, in order and without the empty ones (a range
    /// wholly inside an hour the clock skipped).
    fn intervals_on(&self, date: Date, intervals: &mut Vec<(i64, i64)>) {
        intervals.clear();
        for range in self.hours_on(date) {
            let start_ms = self.boundary_ms(date, range.start_minute);
            let end_ms = self.boundary_ms(date, range.end_minute);
            if start_ms < end_ms {
                intervals.push((start_ms, end_ms));
            }
        }
        debug_assert!(intervals.windows(2).all(|w| w[0].1 <= w[1].0));
    }

    /// The first instant at which the local wall clock reads `minute_of_day` on `date`, or
    /// later (see the crate documentation on clock changes). A boundary past the end of jiff's
    /// range is put just after [`LATEST_INSTANT_MS`], so that a range open then stays open to
    /// the end.
    fn boundary_ms(&self, date: Date, minute_of_day: u16) -> i64 {
        const PAST_THE_END_MS: i64 = LATEST_INSTANT_MS as i64 + 1;
        self.boundary_in_range_ms(date, minute_of_day)
            .unwrap_or(PAST_THE_END_MS)
    }

    /// [`Calendar::boundary_ms`] within jiff's range; `None` past its end.
    fn boundary_in_range_ms(&self, date: Date, minute_of_day: u16) -> Option<i64> {
        let (date, minute_of_day) = if minute_of_day == MINUTES_PER_DAY {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, minute_of_day)
        };
        // Below 24 * 60, so both parts fit.
        let local: DateTime = date.at((minute_of_day / 60) as i8, (minute_of_day % 60) as i8, 0, 0);
        let instant = match self.time_zone.to_ambiguous_timestamp(local).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok()?,
            // The clock went back and reads `local` twice: the first time.
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok()?,
            // The clock jumps forward over `local`: the instant of the jump, which lies after
            // the instant read as `local` on the new offset and no later than the one read as
            // `local` on the old.
            AmbiguousOffset::Gap { before, after } => {
                let before_jump = after.to_timestamp(local).ok()?;
                let after_jump = before.to_timestamp(local).ok()?;
                self.time_zone
                    .following(before_jump)
                    .next()
                    .map(|transition| transition.timestamp())
                    .filter(|&jump| before_jump < jump && jump <= after_jump)
                    .unwrap_or(after_jump)
            }
        };
        Some(instant.as_millisecond())
    }
}

/// `at_ms` as a timestamp, the instants after [`LATEST_INSTANT_MS`] read as that one.
fn clamped_timestamp(at_ms: u64) -> Timestamp {
    // LATEST_INSTANT_MS fits an i64 and is within jiff's range (a test checks it).
    let at_ms = at_ms.min(LATEST_INSTANT_MS) as i64;
    Timestamp::from_millisecond(at_ms).unwrap_or(Timestamp::MAX)
}
