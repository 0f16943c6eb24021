//! Business-time arithmetic: time counted only while a [`Calendar`] is open.
//!
//! Both functions walk from one calendar change to the next ([`Calendar::next_change`]), an
//! opening or a closing at a time, never minute by minute: a step per open range, however long
//! the ranges are. Holidays and make-up working days (调休) are the calendar's own business; a
//! make-up Saturday counts like any weekday.

use hotline_calendar::{Calendar, LATEST_INSTANT_MS, SEARCH_HORIZON_DAYS};

use crate::BUSINESS_SEARCH_HORIZON_DAYS;

/// Milliseconds in a day of 24 hours.
pub(crate) const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// How far past an instant the calendar's answer is known to stay the same when
/// [`Calendar::next_change`] finds no change: it looks [`SEARCH_HORIZON_DAYS`] local days past
/// the date of the instant; two days less, in 24-hour days, stays inside that whatever the
/// time of day and whatever clock change falls in between.
const UNCHANGED_SPAN_MS: u64 = (SEARCH_HORIZON_DAYS as u64 - 2) * DAY_MS;

/// The instant at which `business_ms` of open time has passed since `start_ms`: the first
/// instant `t` with `business_ms_between(calendar, start_ms, t) == business_ms`.
///
/// Where the time runs out exactly as the calendar closes, the answer is the closing instant
/// (18:00, not the next morning's 09:00). Adding nothing gives `start_ms` back, open or not.
///
/// `None` when that much open time does not pass within [`BUSINESS_SEARCH_HORIZON_DAYS`] days
/// (of 24 hours) after `start_ms`, for example a calendar with no hours at all, or an instant
/// past [`LATEST_INSTANT_MS`].
///
/// ```
/// use hotline_calendar::Calendar;
/// use hotline_tickets::add_business_ms;
///
/// let always = Calendar::always_open();
/// assert_eq!(add_business_ms(&always, 1_000, 4 * 3_600_000), Some(1_000 + 4 * 3_600_000));
/// ```
pub fn add_business_ms(calendar: &Calendar, start_ms: u64, business_ms: u64) -> Option<u64> {
    let horizon_ms = start_ms.checked_add(BUSINESS_SEARCH_HORIZON_DAYS * DAY_MS)?;
    let mut at_ms = start_ms;
    let mut remaining_ms = business_ms;
    // Each pass moves `at_ms` to a later calendar change (or by a span without one), so the
    // loop ends at the horizon at the latest.
    loop {
        if remaining_ms == 0 {
            return Some(at_ms);
        }
        if at_ms >= horizon_ms || at_ms > LATEST_INSTANT_MS {
            return None;
        }
        let open = calendar.is_open(at_ms);
        // Without a change in sight the answer holds for at least `UNCHANGED_SPAN_MS`. Nothing
        // past the horizon counts.
        let (stretch_end_ms, exact) = match calendar.next_change(at_ms) {
            Some(change_ms) => (change_ms.min(horizon_ms), true),
            None => (
                at_ms.saturating_add(UNCHANGED_SPAN_MS).min(horizon_ms),
                false,
            ),
        };
        debug_assert!(stretch_end_ms > at_ms);
        if open {
            let stretch_ms = stretch_end_ms - at_ms;
            if remaining_ms <= stretch_ms {
                let due_ms = at_ms.checked_add(remaining_ms)?;
                // Past the end of the calendar's range there is no instant to name.
                return (due_ms <= LATEST_INSTANT_MS || exact).then_some(due_ms);
            }
            remaining_ms -= stretch_ms;
        }
        at_ms = stretch_end_ms;
    }
}

/// The open time of `calendar` between `from_ms` (included) and `to_ms` (excluded), in
/// milliseconds; 0 when `to_ms <= from_ms`.
///
/// The walk takes a step per calendar change in between (at most twice the number of open
/// ranges), so its cost grows with the span asked about; the SLA clock only asks about spans
/// a ticket has actually lived through.
///
/// ```
/// use hotline_calendar::Calendar;
/// use hotline_tickets::business_ms_between;
///
/// assert_eq!(business_ms_between(&Calendar::always_open(), 1_000, 61_000), 60_000);
/// assert_eq!(business_ms_between(&Calendar::always_open(), 61_000, 1_000), 0);
/// ```
pub fn business_ms_between(calendar: &Calendar, from_ms: u64, to_ms: u64) -> u64 {
    let mut at_ms = from_ms;
    let mut open_ms: u64 = 0;
    while at_ms < to_ms {
        let open = calendar.is_open(at_ms);
        let stretch_end_ms = if at_ms >= LATEST_INSTANT_MS {
            // The calendar answers every later instant as it answers this one.
            to_ms
        } else {
            calendar
                .next_change(at_ms)
                .unwrap_or_else(|| at_ms.saturating_add(UNCHANGED_SPAN_MS))
                .min(to_ms)
        };
        debug_assert!(stretch_end_ms > at_ms);
        if open {
            open_ms += stretch_end_ms - at_ms;
        }
        at_ms = stretch_end_ms;
    }
    open_ms
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_calendar::{CalendarSpec, WeeklySpec};

    const HOUR_MS: u64 = 3_600_000;

    /// Monday 2026-09-28 00:00 in Shanghai.
    const MONDAY_MS: u64 = 1_790_524_800_000;

    fn weekdays_nine_to_six() -> Calendar {
        let hours = || Some("09:00-18:00".to_owned());
        Calendar::from_spec(&CalendarSpec {
            name: "office".to_owned(),
            time_zone: None,
            weekly: WeeklySpec {
                mon: hours(),
                tue: hours(),
                wed: hours(),
                thu: hours(),
                fri: hours(),
                ..WeeklySpec::default()
            },
            holidays: Vec::new(),
            workdays: Vec::new(),
        })
        .unwrap()
    }

    fn never_open() -> Calendar {
        Calendar::from_spec(&CalendarSpec {
            name: "never".to_owned(),
            time_zone: None,
            weekly: WeeklySpec::default(),
            holidays: Vec::new(),
            workdays: Vec::new(),
        })
        .unwrap()
    }

    #[test]
    fn adding_within_a_day_and_across_the_night() {
        let office = weekdays_nine_to_six();
        let nine = MONDAY_MS + 9 * HOUR_MS;
        assert_eq!(
            add_business_ms(&office, nine, 4 * HOUR_MS),
            Some(nine + 4 * HOUR_MS)
        );
        // Running out exactly at closing time is due at closing time.
        assert_eq!(
            add_business_ms(&office, nine, 9 * HOUR_MS),
            Some(nine + 9 * HOUR_MS)
        );
        // One millisecond more is the next morning's first millisecond.
        assert_eq!(
            add_business_ms(&office, nine, 9 * HOUR_MS + 1),
            Some(nine + 24 * HOUR_MS + 1)
        );
        // Starting before opening counts from the opening.
        assert_eq!(
            add_business_ms(&office, MONDAY_MS, HOUR_MS),
            Some(nine + HOUR_MS)
        );
        // Friday 17:00 plus 2h is Monday 10:00.
        let friday_five = MONDAY_MS + 4 * 24 * HOUR_MS + 17 * HOUR_MS;
        assert_eq!(
            add_business_ms(&office, friday_five, 2 * HOUR_MS),
            Some(MONDAY_MS + 7 * 24 * HOUR_MS + 10 * HOUR_MS)
        );
        assert_eq!(
            add_business_ms(&office, friday_five + 3 * HOUR_MS, 0),
            Some(friday_five + 3 * HOUR_MS)
        );
    }

    #[test]
    fn between_counts_only_open_time() {
        let office = weekdays_nine_to_six();
        let week_ms = 7 * 24 * HOUR_MS;
        assert_eq!(
            business_ms_between(&office, MONDAY_MS, MONDAY_MS + week_ms),
            45 * HOUR_MS
        );
        assert_eq!(
            business_ms_between(&office, MONDAY_MS + 17 * HOUR_MS, MONDAY_MS + 35 * HOUR_MS),
            3 * HOUR_MS
        );
        assert_eq!(business_ms_between(&office, MONDAY_MS, MONDAY_MS), 0);
    }

    #[test]
    fn a_calendar_that_never_opens_never_falls_due() {
        let never = never_open();
        assert_eq!(add_business_ms(&never, MONDAY_MS, 1), None);
        assert_eq!(add_business_ms(&never, MONDAY_MS, 0), Some(MONDAY_MS));
        assert_eq!(
            business_ms_between(&never, MONDAY_MS, MONDAY_MS + 1000 * DAY_MS),
            0
        );
    }

    #[test]
    fn always_open_counts_wall_time_over_long_spans() {
        let always = Calendar::always_open();
        // Longer than the calendar's own look-ahead, so the walk steps over spans without a
        // change.
        let span_ms = 1000 * DAY_MS;
        assert_eq!(
            business_ms_between(&always, MONDAY_MS, MONDAY_MS + span_ms),
            span_ms
        );
        assert_eq!(
            add_business_ms(&always, MONDAY_MS, 700 * DAY_MS),
            Some(MONDAY_MS + 700 * DAY_MS)
        );
        // Beyond the horizon it gives up; up to it, it answers.
        let horizon_ms = BUSINESS_SEARCH_HORIZON_DAYS * DAY_MS;
        assert_eq!(
            add_business_ms(&always, MONDAY_MS, horizon_ms),
            Some(MONDAY_MS + horizon_ms)
        );
        assert_eq!(add_business_ms(&always, MONDAY_MS, horizon_ms + 1), None);
        assert_eq!(
            add_business_ms(
                &always,
                MONDAY_MS,
                (BUSINESS_SEARCH_HORIZON_DAYS + 1) * DAY_MS
            ),
            None
        );
        // At the end of time there is nothing left to count.
        assert_eq!(add_business_ms(&always, LATEST_INSTANT_MS - 10, 100), None);
        assert_eq!(add_business_ms(&always, u64::MAX - 10, 100), None);
        assert_eq!(
            business_ms_between(&always, LATEST_INSTANT_MS + 5, u64::MAX),
            u64::MAX - LATEST_INSTANT_MS - 5
        );
    }
}
