//! When a task may be dialled: the instants at which every calendar that applies to it is
//! open and its window has not ended, and the local dates its attempts are counted on.

use std::fmt;

use hotline_calendar::Calendar;

use crate::WINDOW_ROUNDS_MAX;

/// Why no instant is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Blocked {
    /// The task's window (the requested one, or an ASAP request's
    /// [`asap_horizon`](crate::DialerConfig::asap_horizon)) ends before the calendars are
    /// open together.
    WindowEnded,
    /// The calendars are not open together within
    /// [`SCHEDULE_HORIZON_MS`](crate::SCHEDULE_HORIZON_MS) (or within
    /// [`WINDOW_ROUNDS_MAX`] rounds of looking): the customer's contact hours and the legal
    /// hours never meet.
    NoOpening,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Blocked::WindowEnded => {
                "the requested window ends before the customer's hours and the legal calling \
                 hours are open together"
            }
            Blocked::NoOpening => {
                "the customer's hours and the legal calling hours are not open together within \
                 the scheduling horizon"
            }
        })
    }
}

/// An allowed instant and how long it lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Allowed {
    /// The first allowed instant at or after the one asked about.
    pub(crate) at_ms: u64,
    /// The first instant after `at_ms` at which one of the calendars closes or the window ends
    /// (`u64::MAX`: never); every instant from `at_ms` up to it is allowed.
    pub(crate) until_ms: u64,
}

/// The first instant at or after `from_ms`, before `window_end_ms` and before
/// `horizon_end_ms`, at which every calendar of `calendars` is open.
///
/// Each round asks each calendar for its next opening at or after the candidate and moves the
/// candidate there; a round in which no calendar moves it ends the search. Rounds are bounded
/// by [`WINDOW_ROUNDS_MAX`]; a search that runs out of rounds answers [`Blocked::NoOpening`].
pub(crate) fn next_allowed(
    calendars: &[Option<&Calendar>],
    from_ms: u64,
    window_end_ms: u64,
    horizon_end_ms: u64,
) -> Result<Allowed, Blocked> {
    let mut at_ms = from_ms;
    for _ in 0..WINDOW_ROUNDS_MAX {
        if at_ms >= window_end_ms {
            return Err(Blocked::WindowEnded);
        }
        if at_ms >= horizon_end_ms {
            return Err(Blocked::NoOpening);
        }
        let mut moved = false;
        for calendar in calendars.iter().flatten() {
            let open_ms = calendar.next_open(at_ms).ok_or(Blocked::NoOpening)?;
            if open_ms > at_ms {
                at_ms = open_ms;
                moved = true;
            }
        }
        if !moved {
            let until_ms = calendars
                .iter()
                .flatten()
                .filter_map(|calendar| calendar.next_change(at_ms))
                .fold(window_end_ms, u64::min);
            return Ok(Allowed { at_ms, until_ms });
        }
    }
    Err(Blocked::NoOpening)
}

/// The local date of `at_ms` in `calendar`'s time zone as a number `YYYYMMDD` (such as
/// `20260928`): the day attempts are counted on.
pub(crate) fn day_key(calendar: &Calendar, at_ms: u64) -> u32 {
    let local = calendar.local_time(at_ms);
    let year = u32::try_from(local.year).unwrap_or(0);
    year * 10_000 + u32::from(local.month) * 100 + u32::from(local.day)
}

/// The longest a local date lasts after any instant of it, with room to spare: a day of 24
/// hours plus the largest clock change (Lord Howe's is half an hour, most are an hour; a
/// few historical ones were two).
const DAY_SPAN_MAX_MS: u64 = 27 * 60 * 60 * 1000;

/// The first instant after `at_ms` whose local date in `calendar` is not that of `at_ms`:
/// the next local midnight, found by bisection over the day that follows.
pub(crate) fn next_day_start(calendar: &Calendar, at_ms: u64) -> u64 {
    let today = day_key(calendar, at_ms);
    let mut same_ms = at_ms;
    let mut other_ms = at_ms.saturating_add(DAY_SPAN_MAX_MS);
    if day_key(calendar, other_ms) == today {
        // The end of the calendar's range: no later date to move to.
        return other_ms;
    }
    while other_ms - same_ms > 1 {
        let middle_ms = same_ms + (other_ms - same_ms) / 2;
        if day_key(calendar, middle_ms) == today {
            same_ms = middle_ms;
        } else {
            other_ms = middle_ms;
        }
    }
    other_ms
}
