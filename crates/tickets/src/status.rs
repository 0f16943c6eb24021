//! [`TicketStatus`] and its workflow ([`check_transition`]), and [`Priority`].

use std::fmt;
use std::str::FromStr;

/// Where a ticket stands in its workflow. Written in snake case (`"waiting_on_customer"`) in
/// the store, the API and the configuration; see [`TicketStatus::as_str`].
///
/// The moves allowed between them are listed by [`TicketStatus::allowed_next`] and checked by
/// [`check_transition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TicketStatus {
    /// Created, not yet given to anyone (新建).
    New,
    /// Given to an agent or a department, work not yet started (已分派).
    Assigned,
    /// Someone is working on it (处理中).
    InProgress,
    /// Waiting for the customer to answer or to do something (等待客户); the resolution clock
    /// is paused.
    WaitingOnCustomer,
    /// Solved; the customer may still object, which reopens it (已解决).
    Resolved,
    /// Done for good (已关闭): nothing moves a closed ticket.
    Closed,
}

impl TicketStatus {
    /// Every status, in workflow order.
    pub const ALL: [TicketStatus; 6] = [
        TicketStatus::New,
        TicketStatus::Assigned,
        TicketStatus::InProgress,
        TicketStatus::WaitingOnCustomer,
        TicketStatus::Resolved,
        TicketStatus::Closed,
    ];

    /// The status as written: `"new"`, `"assigned"`, `"in_progress"`,
    /// `"waiting_on_customer"`, `"resolved"` or `"closed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::Assigned => "assigned",
            TicketStatus::InProgress => "in_progress",
            TicketStatus::WaitingOnCustomer => "waiting_on_customer",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }

    /// The statuses a ticket in this status may move to next:
    ///
    /// | from | to |
    /// |---|---|
    /// | `new` | `assigned`, `in_progress`, `resolved`, `closed` (a duplicate, spam) |
    /// | `assigned` | `assigned` (reassigned), `in_progress`, `waiting_on_customer`, `resolved` |
    /// | `in_progress` | `assigned` (handed on), `waiting_on_customer`, `resolved` |
    /// | `waiting_on_customer` | `in_progress` (the customer answered), `resolved`, `closed` (no answer) |
    /// | `resolved` | `in_progress` (reopened), `closed` |
    /// | `closed` | nothing: closed is final |
    ///
    /// Staying in the same status is not a move, except `assigned` to `assigned`, which
    /// gives the ticket to someone else.
    pub fn allowed_next(self) -> &'static [TicketStatus] {
        use TicketStatus::*;
        match self {
            New => &[Assigned, InProgress, Resolved, Closed],
            Assigned => &[Assigned, InProgress, WaitingOnCustomer, Resolved],
            InProgress => &[Assigned, WaitingOnCustomer, Resolved],
            WaitingOnCustomer => &[InProgress, Resolved, Closed],
            Resolved => &[InProgress, Closed],
            Closed => &[],
        }
    }

    /// Whether a ticket may move from this status to `to`; see
    /// [`TicketStatus::allowed_next`].
    pub fn can_move_to(self, to: TicketStatus) -> bool {
        self.allowed_next().contains(&to)
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketStatus {
    type Err = ParseNameError;

    /// Reads the form [`TicketStatus::as_str`] writes, exactly (no other case, no spaces).
    fn from_str(text: &str) -> Result<TicketStatus, ParseNameError> {
        TicketStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| ParseNameError::new("ticket status", text, &STATUS_NAMES))
    }
}

/// The names of [`TicketStatus::ALL`], for messages.
const STATUS_NAMES: [&str; 6] = [
    "new",
    "assigned",
    "in_progress",
    "waiting_on_customer",
    "resolved",
    "closed",
];

/// Checks that a ticket may move from `from` to `to` (see [`TicketStatus::allowed_next`]).
///
/// ```
/// use hotline_tickets::{check_transition, TicketStatus};
///
/// assert!(check_transition(TicketStatus::Resolved, TicketStatus::InProgress).is_ok());
/// let refused = check_transition(TicketStatus::New, TicketStatus::WaitingOnCustomer).unwrap_err();
/// assert_eq!(
///     refused.to_string(),
///     "cannot move a ticket from new to waiting_on_customer; from new it may move to \
///      assigned, in_progress, resolved or closed"
/// );
/// ```
pub fn check_transition(from: TicketStatus, to: TicketStatus) -> Result<(), TransitionError> {
    if from.can_move_to(to) {
        Ok(())
    } else {
        Err(TransitionError { from, to })
    }
}

/// A move between two statuses that the workflow does not allow. Displays as a sentence naming
/// both statuses and the ones allowed instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransitionError {
    from: TicketStatus,
    to: TicketStatus,
}

impl TransitionError {
    /// The status the ticket is in.
    pub fn from(&self) -> TicketStatus {
        self.from
    }

    /// The status it was asked to move to.
    pub fn to(&self) -> TicketStatus {
        self.to
    }
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (from, to) = (self.from, self.to);
        write!(f, "cannot move a ticket from {from} to {to}; ")?;
        match from.allowed_next() {
            [] => write!(f, "{from} is final"),
            allowed => {
                write!(f, "from {from} it may move to ")?;
                for (index, status) in allowed.iter().enumerate() {
                    if index > 0 {
                        f.write_str(if index + 1 == allowed.len() {
                            " or "
                        } else {
                            ", "
                        })?;
                    }
                    f.write_str(status.as_str())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for TransitionError {}

/// How urgent a ticket is. Ordered most urgent first, so sorting puts `Urgent` at the top.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Drop everything (紧急).
    Urgent,
    /// Before the ordinary ones (高).
    High,
    /// The ordinary case (普通).
    Normal,
    /// When there is time (低).
    Low,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [
        Priority::Urgent,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    /// The priority as written: `"urgent"`, `"high"`, `"normal"` or `"low"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = ParseNameError;

    /// Reads the form [`Priority::as_str`] writes, exactly (no other case, no spaces).
    fn from_str(text: &str) -> Result<Priority, ParseNameError> {
        Priority::ALL
            .into_iter()
            .find(|priority| priority.as_str() == text)
            .ok_or_else(|| ParseNameError::new("priority", text, &PRIORITY_NAMES))
    }
}

/// The names of [`Priority::ALL`], for messages.
const PRIORITY_NAMES: [&str; 4] = ["urgent", "high", "normal", "low"];

/// A text that names no [`TicketStatus`] or [`Priority`]. Displays as
/// `unknown priority "hi"; expected one of "urgent", "high", "normal", "low"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseNameError {
    kind: &'static str,
    text: String,
    expected: &'static [&'static str],
}

impl ParseNameError {
    fn new(kind: &'static str, text: &str, expected: &'static [&'static str]) -> ParseNameError {
        ParseNameError {
            kind,
            text: text.to_owned(),
            expected,
        }
    }

    /// The text that was read.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ParseNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}; expected one of ", self.kind, self.text)?;
        for (index, name) in self.expected.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseNameError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in TicketStatus::ALL {
            assert_eq!(status.as_str().parse::<TicketStatus>(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
        }
        for priority in Priority::ALL {
            assert_eq!(priority.as_str().parse::<Priority>(), Ok(priority));
        }
        assert_eq!(STATUS_NAMES, TicketStatus::ALL.map(TicketStatus::as_str));
        assert_eq!(PRIORITY_NAMES, Priority::ALL.map(Priority::as_str));
    }

    #[test]
    fn unknown_names_are_refused_with_the_choices() {
        let error = "In_Progress".parse::<TicketStatus>().unwrap_err();
        assert_eq!(error.text(), "In_Progress");
        assert_eq!(
            error.to_string(),
            r#"unknown ticket status "In_Progress"; expected one of "new", "assigned", "in_progress", "waiting_on_customer", "resolved", "closed""#
        );
        assert_eq!(
            " high".parse::<Priority>().unwrap_err().to_string(),
            r#"unknown priority " high"; expected one of "urgent", "high", "normal", "low""#
        );
    }

    #[test]
    fn the_transition_table() {
        use TicketStatus::*;
        // Every pair, written out: a change to the table has to change this test on purpose.
        let allowed = [
            (New, Assigned),
            (New, InProgress),
            (New, Resolved),
            (New, Closed),
            (Assigned, Assigned),
            (Assigned, InProgress),
            (Assigned, WaitingOnCustomer),
            (Assigned, Resolved),
            (InProgress, Assigned),
            (InProgress, WaitingOnCustomer),
            (InProgress, Resolved),
            (WaitingOnCustomer, InProgress),
            (WaitingOnCustomer, Resolved),
            (WaitingOnCustomer, Closed),
            (Resolved, InProgress),
            (Resolved, Closed),
        ];
        for from in TicketStatus::ALL {
            for to in TicketStatus::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(
                    check_transition(from, to).is_ok(),
                    expected,
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn transition_errors_name_both_states_and_the_choices() {
        use TicketStatus::*;
        let error = check_transition(Closed, InProgress).unwrap_err();
        assert_eq!((error.from(), error.to()), (Closed, InProgress));
        assert_eq!(
            error.to_string(),
            "cannot move a ticket from closed to in_progress; closed is final"
        );
        assert_eq!(
            check_transition(Resolved, Assigned)
                .unwrap_err()
                .to_string(),
            "cannot move a ticket from resolved to assigned; from resolved it may move to \
             in_progress or closed"
        );
        assert_eq!(
            check_transition(InProgress, InProgress)
                .unwrap_err()
                .to_string(),
            "cannot move a ticket from in_progress to in_progress; from in_progress it may move \
             to assigned, waiting_on_customer or resolved"
        );
    }
}
