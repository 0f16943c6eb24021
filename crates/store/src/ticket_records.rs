//! Tickets as the store keeps them: [`NewTicket`], [`Ticket`], [`TicketChange`], the history
//! ([`TicketHistoryEntry`]), lists ([`TicketFilter`]) and tracking links ([`TicketLink`]).
//! The rules and state machines are `hotline_tickets`'; the store applies them inside its
//! transactions so that a ticket's status, clock and history never disagree.

use hotline_tickets::{Priority, SlaClock, TicketStatus, CATEGORY_BYTES_MAX};

use crate::records::{CustomerId, FieldError};

/// The longest title, in characters.
pub const MAX_TICKET_TITLE_CHARS: usize = 200;
/// The longest description or note, in characters.
pub const MAX_TICKET_TEXT_CHARS: usize = 10_000;
/// The longest assignee or department name, in characters.
pub const MAX_TICKET_NAME_CHARS: usize = 64;
/// The most tickets one list returns.
pub const MAX_TICKETS_PAGE: u32 = 500;
/// The most history entries one read returns.
pub const MAX_TICKET_HISTORY: u32 = 1_000;
/// The longest a tracking link may live.
pub const MAX_TICKET_LINK_LIFETIME_MS: i64 = 90 * 24 * 3_600_000;
/// The most live links per ticket.
pub const MAX_TICKET_LINKS: i64 = 20;

/// A ticket's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketId(pub i64);

/// A ticket to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTicket {
    /// What it is about, shown to the customer on the tracking page: no personal data.
    pub title: String,
    /// The details (personal data allowed: sealed at rest).
    pub description: Option<String>,
    /// The category (`"billing/refund"`): picks the SLA policy, the department and the
    /// follow-up.
    pub category: String,
    /// The priority.
    pub priority: Priority,
    /// The customer, if known.
    pub customer: Option<CustomerId>,
    /// The interaction (call) it came from, if any.
    pub interaction: Option<i64>,
    /// Who works on it; `None` leaves it to the department.
    pub assignee: Option<String>,
    /// The department, when not the one the category routes to.
    pub department: Option<String>,
}

impl NewTicket {
    /// Checks lengths and emptiness, naming the field at fault.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_text("title", &self.title, 1, MAX_TICKET_TITLE_CHARS)?;
        if let Some(description) = &self.description {
            check_text("description", description, 0, MAX_TICKET_TEXT_CHARS)?;
        }
        if self.category.trim().is_empty() || self.category.len() > CATEGORY_BYTES_MAX {
            return Err(FieldError::new(
                "category",
                format!("must be 1 to {CATEGORY_BYTES_MAX} bytes"),
            ));
        }
        if let Some(assignee) = &self.assignee {
            check_text("assignee", assignee, 1, MAX_TICKET_NAME_CHARS)?;
        }
        if let Some(department) = &self.department {
            check_text("department", department, 1, MAX_TICKET_NAME_CHARS)?;
        }
        Ok(())
    }
}

/// A change to a ticket; fields left `None` stay as they are. Each change is one transaction
/// and one or more history entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketChange {
    /// A new status (checked against the workflow).
    pub status: Option<TicketStatus>,
    /// A new assignee (`Some(None)` unassigns).
    pub assignee: Option<Option<String>>,
    /// A new priority (the SLA policy is chosen again).
    pub priority: Option<Priority>,
    /// A note for the history (sealed at rest).
    pub note: Option<String>,
    /// The note (or the change) answered the customer: records the first response.
    pub answered_customer: bool,
}

impl TicketChange {
    /// Checks lengths, naming the field at fault; an empty change is refused.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.status.is_none()
            && self.assignee.is_none()
            && self.priority.is_none()
            && self.note.is_none()
            && !self.answered_customer
        {
            return Err(FieldError::new("", "the change changes nothing"));
        }
        if let Some(Some(assignee)) = &self.assignee {
            check_text("assignee", assignee, 1, MAX_TICKET_NAME_CHARS)?;
        }
        if let Some(note) = &self.note {
            check_text("note", note, 1, MAX_TICKET_TEXT_CHARS)?;
        }
        Ok(())
    }
}

/// The follow-up visit (回访) after a ticket is resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUp {
    /// When the customer should be called.
    pub due_ms: i64,
    /// `scheduled`; `queued` once handed to the dialer as a callback; `done` once its outcome
    /// is recorded; `cancelled` when the ticket was reopened.
    pub state: String,
    /// How it went (`satisfied`, `unsatisfied`, `unreachable` …).
    pub outcome: Option<String>,
}

/// A stored ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// Its id.
    pub id: TicketId,
    /// The fields it was created with (assignee and department as they are now).
    pub fields: NewTicket,
    /// Where it is in the workflow.
    pub status: TicketStatus,
    /// When it was created and last changed (Unix milliseconds).
    pub created_ms: i64,
    /// See `created_ms`.
    pub updated_ms: i64,
    /// 1 at creation, one more per change (If-Match).
    pub version: i64,
    /// The name of the SLA policy it is held to.
    pub sla_policy: String,
    /// Its SLA clock.
    pub clock: SlaClock,
    /// What the last check said of the first response and of the resolution.
    pub sla_states: (String, String),
    /// When the SLA check should look at it next.
    pub next_check_ms: Option<i64>,
    /// Escalated to the supervisors after a breach.
    pub escalated: bool,
    /// Its follow-up, once resolved (where the category has one).
    pub follow_up: Option<FollowUp>,
}

/// One entry of a ticket's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketHistoryEntry {
    /// When.
    pub at_ms: i64,
    /// Who (an API key or user name, or `system` for SLA checks).
    pub actor: String,
    /// What: `created`, `status`, `assignee`, `priority`, `note`, `answered`, `sla_warning`,
    /// `sla_breached`, `escalated`, `follow_up_scheduled`, `follow_up_queued`, `follow_up_done`, `link_created`,
    /// `link_revoked`.
    pub action: String,
    /// The value before, where the action changes one.
    pub from: Option<String>,
    /// The value after.
    pub to: Option<String>,
    /// The note (personal data allowed).
    pub note: Option<String>,
}

/// Which tickets to list, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketFilter {
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Only this assignee.
    pub assignee: Option<String>,
    /// Only this department.
    pub department: Option<String>,
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Only those with a breached target.
    pub breached: bool,
    /// Only ids below this one (the next page).
    pub before_id: Option<i64>,
    /// The most to return.
    pub limit: u32,
}

impl Default for TicketFilter {
    fn default() -> Self {
        TicketFilter {
            status: None,
            assignee: None,
            department: None,
            customer: None,
            breached: false,
            before_id: None,
            limit: 50,
        }
    }
}

/// What an SLA check found and recorded for one ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaChange {
    /// The ticket.
    pub ticket: TicketId,
    /// `first_response` or `resolution`.
    pub target: &'static str,
    /// `warning` or `breached`.
    pub state: String,
    /// Escalated with it (a resolution breach), to this group.
    pub escalated_to: Option<String>,
}

/// A customer's tracking link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketLink {
    /// The link's id (the revocation handle).
    pub id: String,
    /// The ticket.
    pub ticket: TicketId,
    /// The signed token to put in the URL.
    pub token: String,
    /// When it stops working.
    pub expires_ms: i64,
}

fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let chars = value.chars().count();
    if (min > 0 && value.trim().is_empty()) || chars < min || chars > max {
        return Err(FieldError::new(
            field,
            format!("must be {min} to {max} characters (it has {chars})"),
        ));
    }
    Ok(())
}
