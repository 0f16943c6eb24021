//! [`CalendarError`]: what is wrong with a [`CalendarSpec`](crate::CalendarSpec), and where.

use std::fmt;

/// A flaw in a [`CalendarSpec`](crate::CalendarSpec): the field at fault, as a path such as
/// `weekly.mon`, `holidays[2]` or `workdays[0].hours`, and a sentence saying what is wrong.
///
/// Displays as `field: message`; the caller adds where the calendar itself came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarError {
    field: String,
    message: String,
}

impl CalendarError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> CalendarError {
        CalendarError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The path of the field at fault within the calendar, such as `holidays[2]`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong, in plain words, without the field.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for CalendarError {}
