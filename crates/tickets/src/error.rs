//! [`SpecError`]: what is wrong with a [`TicketsSpec`](crate::TicketsSpec), and where.

use std::fmt;

/// A flaw in a [`TicketsSpec`](crate::TicketsSpec): the field at fault, as a path such as
/// `calendar`, `policies[1].resolution` or `routes[0].category`, and a sentence saying what is
/// wrong.
///
/// Displays as `field: message`, such as
/// `policies[1].resolution: invalid duration "4x"; expected forms like "4h", "90m", "1h30m"`;
/// the caller adds where the section came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    field: String,
    message: String,
}

impl SpecError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> SpecError {
        SpecError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The path of the field at fault within the section, such as `policies[1].resolution`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong, in plain words, without the field.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for SpecError {}
