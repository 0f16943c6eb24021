//! Business hours and holidays: when a contact center is open.
//!
//! The principal type is [`Calendar`], built from its TOML section [`CalendarSpec`] by
//! [`Calendar::from_spec`] (or [`Calendar::always_open`] where none is configured). It answers
//! three questions about an instant, given as milliseconds since the Unix epoch:
//!
//! - [`Calendar::is_open`]: is the center open now? (the switch: "we are closed, our hours
//!   are…"; a dialer: may it call now?)
//! - [`Calendar::next_change`]: when does that answer change? (the timer to arm)
//! - [`Calendar::next_open`]: now, or when it next opens.
//!
//! The crate is sans-IO: it never reads a clock and never reads a file. The time zone database
//! is compiled in (jiff's bundled copy of the IANA database), so the answers are the same on
//! every machine, with or without `/usr/share/zoneinfo`.
//!
//! # The model
//!
//! Hours are local wall-clock times in one time zone, by default [`DEFAULT_TIME_ZONE`]. Each
//! local date has a list of open ranges, taken from the first of these that applies:
//!
//! 1. a `workdays` entry for the date (a make-up working day, 调休): that entry's hours, even
//!    on a weekend;
//! 2. a `holidays` entry covering the date: closed all day;
//! 3. the `weekly` hours for the day of the week; a day left out is closed.
//!
//! A date may not be both a holiday and a workday, and no date may be listed twice.
//!
//! A range `"08:00-22:00"` is open from 08:00:00.000 up to, not including, 22:00:00.000. Ranges
//! stay within their day (`"00:00"` to `"24:00"`; `"24:00"` only as an end), so hours past
//! midnight are written as `"22:00-24:00"` on one day and `"00:00-06:00"` on the next; the two
//! join, and nothing changes at midnight. Several ranges are separated by commas
//! (`"08:00-12:00,13:30-18:00"`, a lunch break); they may not overlap, and ranges that touch
//! are one range.
//!
//! ## Clock changes
//!
//! A range opens the first time the wall clock reaches its start and closes the first time it
//! reaches its end. So where daylight saving time begins and the clock jumps forward (New York,
//! 02:00 to 03:00), a boundary inside the skipped hour happens at the jump: `"02:30-04:00"`
//! opens at 03:00, and a range wholly inside the skipped hour does not open. Where the clock
//! goes back (New York, 02:00 summer time to 01:00 winter time) the repeated hour repeats no
//! boundary: `"00:00-01:30"` closes at the first 01:30 and stays closed, `"01:30-05:00"` opens
//! at the first 01:30 and stays open. China has not changed its clocks since 1991.
//!
//! # The TOML form
//!
//! ```toml
//! name = "service"
//! time_zone = "Asia/Shanghai"     # optional; Asia/Shanghai when left out
//! # A day left out (here Sunday) or written "closed" is closed; "00:00-24:00" is all day.
//! weekly = { mon = "08:00-22:00", tue = "08:00-22:00", wed = "08:00-22:00", thu = "08:00-22:00", fri = "08:00-22:00", sat = "09:00-12:00,13:30-18:00" }
//! # Closed all day: single dates, or inclusive ranges of at most 366 days.
//! holidays = ["2026-10-01..2026-10-07", "2027-01-01"]
//! # Make-up working days: open these hours instead of the weekly ones.
//! workdays = [{ date = "2026-09-27", hours = "08:00-22:00" }, { date = "2026-10-10", hours = "08:00-22:00" }]
//! ```
//!
//! A flaw is reported as a [`CalendarError`] naming the field, such as
//! `weekly.mon: invalid time "25:00" in range "08:00-25:00"; expected "HH:MM" from 00:00 to 24:00`.
//!
//! # Example
//!
//! ```
//! use hotline_calendar::{Calendar, CalendarSpec, WeeklySpec};
//!
//! let spec = CalendarSpec {
//!     name: "service".to_owned(),
//!     time_zone: None,
//!     weekly: WeeklySpec {
//!         mon: Some("08:00-22:00".to_owned()),
//!         ..WeeklySpec::default()
//!     },
//!     holidays: vec!["2026-10-01..2026-10-07".to_owned()],
//!     workdays: Vec::new(),
//! };
//! let calendar = Calendar::from_spec(&spec)?;
//!
//! // Monday 2026-09-28 07:59:59.999 in Shanghai (23:59:59.999 UTC the day before).
//! let before_opening_ms = 1_790_553_599_999;
//! assert!(!calendar.is_open(before_opening_ms));
//! assert_eq!(calendar.next_change(before_opening_ms), Some(before_opening_ms + 1));
//! # Ok::<(), hotline_calendar::CalendarError>(())
//! ```

mod calendar;
pub mod duration;
mod error;
mod parse;
mod spec;

pub use calendar::{Calendar, LocalTime, Weekday};
pub use error::CalendarError;
pub use spec::{CalendarSpec, WeeklySpec, WorkdaySpec};

/// The time zone of a calendar that names none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// The most ranges one day's hours may have.
pub const RANGES_PER_DAY_MAX: usize = 8;

/// The most entries `holidays` may have (a range counts once).
pub const HOLIDAYS_MAX: usize = 512;

/// The most entries `workdays` may have.
pub const WORKDAYS_MAX: usize = 512;

/// The most days one holiday range may cover: a year, in a leap year.
pub const HOLIDAY_SPAN_DAYS_MAX: i64 = 366;

/// The most bytes a calendar's name may have.
pub const NAME_BYTES_MAX: usize = 64;

/// How many local days after the date of the instant asked about
/// [`Calendar::next_change`] and [`Calendar::next_open`] look: a year and then some, so that
/// a calendar closed for a whole year of holidays still finds its next opening.
pub const SEARCH_HORIZON_DAYS: u32 = 400;

/// The last instant a calendar can place, 9999-12-30T22:00:00.999Z (the end of jiff's range),
/// in milliseconds since the Unix epoch. Later instants are answered as this one.
pub const LATEST_INSTANT_MS: u64 = 253_402_207_200_999;
