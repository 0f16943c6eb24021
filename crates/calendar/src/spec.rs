//! [`CalendarSpec`], the calendar as written in a TOML file. Its fields hold the text as written;
//! [`Calendar::from_spec`](crate::Calendar::from_spec) checks it and names the field at fault.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// One calendar as written in the configuration.
///
/// ```toml
/// name = "service"
/// time_zone = "Asia/Shanghai"
/// weekly = { mon = "08:00-22:00", sat = "09:00-12:00,13:30-18:00" }
/// holidays = ["2026-10-01..2026-10-07", "2027-01-01"]
/// workdays = [{ date = "2026-09-27", hours = "08:00-22:00" }]
/// ```
///
/// Dates may also be written as bare TOML dates (`2027-01-01`, without quotes).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// The name other sections use to refer to this calendar.
    pub name: String,
    /// An IANA time zone name such as `"Asia/Shanghai"`; `None` means
    /// [`DEFAULT_TIME_ZONE`](crate::DEFAULT_TIME_ZONE). All hours and dates are read in it.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The hours of each day of the week. Required, so that a forgotten schedule is an error
    /// rather than a calendar that is never open; `weekly = {}` writes that on purpose.
    pub weekly: WeeklySpec,
    /// Dates the center is closed all day: `"2027-01-01"`, or an inclusive range
    /// `"2026-10-01..2026-10-07"`.
    #[serde(default, deserialize_with = "date_texts")]
    pub holidays: Vec<String>,
    /// Make-up working days (调休): on each date the center keeps the given hours instead of its
    /// weekly ones.
    #[serde(default)]
    pub workdays: Vec<WorkdaySpec>,
}

/// The hours of each day of the week, as `"08:00-12:00,13:30-18:00"`. A day left out, or
/// written `"closed"`, is closed; `"00:00-24:00"` is open all day.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WeeklySpec {
    /// Monday's hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mon: Option<String>,
    /// Tuesday's hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tue: Option<String>,
    /// Wednesday's hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wed: Option<String>,
    /// Thursday's hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thu: Option<String>,
    /// Friday's hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fri: Option<String>,
    /// Saturday's hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sat: Option<String>,
    /// Sunday's hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sun: Option<String>,
}

impl WeeklySpec {
    /// Each day's key and hours, Monday first.
    pub(crate) fn days(&self) -> [(&'static str, Option<&str>); 7] {
        [
            ("mon", self.mon.as_deref()),
            ("tue", self.tue.as_deref()),
            ("wed", self.wed.as_deref()),
            ("thu", self.thu.as_deref()),
            ("fri", self.fri.as_deref()),
            ("sat", self.sat.as_deref()),
            ("sun", self.sun.as_deref()),
        ]
    }
}

/// A make-up working day: `{ date = "2026-09-27", hours = "08:00-22:00" }`.
///
/// The hours replace the weekly hours of that date, whatever day of the week it is; they are
/// written out rather than borrowed from another weekday so that the file says what happens.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WorkdaySpec {
    /// The date, `"YYYY-MM-DD"`.
    #[serde(deserialize_with = "date_text")]
    pub date: String,
    /// The hours kept that day, in the same form as the weekly hours (`"closed"` is not allowed:
    /// a closed day is a holiday).
    pub hours: String,
}

/// The key under which the `toml` crate hands over a bare date (`2027-01-01` without quotes).
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// A date as text, quoted or written as a bare TOML date.
struct DateText(String);

struct DateTextVisitor;

impl<'de> Visitor<'de> for DateTextVisitor {
    type Value = DateText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a date "YYYY-MM-DD" or a range "YYYY-MM-DD..YYYY-MM-DD""#)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<DateText, E> {
        Ok(DateText(text.to_owned()))
    }

    /// A bare TOML date arrives as the `toml` crate's private datetime table.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DateText, A::Error> {
        let key: Option<String> = map.next_key()?;
        match key.as_deref() {
            Some(TOML_DATETIME_KEY) => Ok(DateText(map.next_value()?)),
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

impl<'de> Deserialize<'de> for DateText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DateText, D::Error> {
        deserializer.deserialize_any(DateTextVisitor)
    }
}

fn date_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    DateText::deserialize(deserializer).map(|date| date.0)
}

fn date_texts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let dates: Vec<DateText> = Vec::deserialize(deserializer)?;
    Ok(dates.into_iter().map(|date| date.0).collect())
}
