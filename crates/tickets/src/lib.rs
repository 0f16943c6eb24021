//! Tickets (工单): the work a call leaves behind, as rules and state machines without IO.
//!
//! The principal types:
//!
//! - [`TicketStatus`] and [`check_transition`]: the workflow, from `new` to `closed`;
//!   [`Priority`].
//! - [`SlaClock`]: one ticket's SLA clock, plain fields the store keeps as columns.
//!   [`status_changed`] applies a status move to it (waiting on the customer pauses the
//!   resolution clock, resolving stops it, reopening starts it again), and
//!   [`SlaClock::evaluate`] says where the ticket stands against its [`SlaPolicy`] as an
//!   [`SlaReport`]: for the first response and for the resolution, the due instant, the state
//!   (met, running, warning, breached, paused), and `next_check_at_ms`, the one timer to arm.
//! - [`TicketRules`], built from the TOML section [`TicketsSpec`] by
//!   [`TicketRules::from_spec`]: which policy a ticket is held to, which department it goes
//!   to, when to call the customer back after resolution (回访).
//! - [`add_business_ms`] and [`business_ms_between`]: time counted only while a
//!   [`Calendar`](hotline_calendar::Calendar) is open, holidays and make-up working days (调休)
//!   included.
//!
//! The crate is sans-IO: it never reads a clock (every instant comes in as `now_ms`,
//! milliseconds since the Unix epoch), draws no random numbers and knows no SQL or JSON. The
//! store persists tickets and their clocks; the server drives them and arms the timers.
//!
//! # Decisions
//!
//! - Targets are business time on the rules' calendar, written in hours and minutes
//!   (`"4h"`, `"90m"`, `"1h30m"`); a "day" of business time is ambiguous and not accepted.
//!   Follow-ups are calendar time (`"3d"` is 72 hours), moved to the next opening.
//! - The first response is never paused; the resolution is paused while the ticket waits on
//!   the customer. See [`SlaClock`] and [`status_changed`].
//! - A ticket no policy matches gets [`SlaPolicy::default`]: a first response within 8 business
//!   hours and a resolution within 40.
//! - Policies, routes and follow-ups apply the first entry that matches.
//!
//! # Example
//!
//! ```
//! use hotline_calendar::{Calendar, CalendarSpec};
//! use hotline_tickets::{status_changed, Priority, SlaClock, SlaState, TicketRules, TicketStatus, TicketsSpec};
//!
//! let calendar: CalendarSpec = toml::from_str(r#"
//!     name = "office"
//!     weekly = { mon = "09:00-18:00", tue = "09:00-18:00", wed = "09:00-18:00", thu = "09:00-18:00", fri = "09:00-18:00" }
//! "#)?;
//! let calendar = Calendar::from_spec(&calendar)?;
//! let spec: TicketsSpec = toml::from_str(r#"
//!     calendar = "office"
//!     [[policies]]
//!     name = "complaints"
//!     category = "complaint/*"
//!     first_response = "1h"
//!     resolution = "8h"
//! "#)?;
//! let rules = TicketRules::from_spec(&spec, |name| (name == "office").then(|| calendar.clone()))?;
//!
//! // Monday 2026-09-28 17:00 in Shanghai: a complaint comes in an hour before closing.
//! let created_ms = 1_790_586_000_000;
//! let mut clock = SlaClock::start(created_ms);
//! let report = rules.evaluate(&clock, Priority::Normal, "complaint/billing", created_ms);
//! assert_eq!(report.resolution.state, SlaState::Running);
//! // One hour on Monday, seven on Tuesday: due Tuesday 16:00.
//! let tuesday_four_pm_ms = created_ms + 23 * 3_600_000;
//! assert_eq!(report.resolution.due_at_ms, Some(tuesday_four_pm_ms));
//! // The one timer to arm: the first response's warning, at 80 % of its hour (17:48).
//! assert_eq!(report.next_check_at_ms, Some(created_ms + 48 * 60_000));
//!
//! // The agent asks the customer for a receipt: the resolution clock stops.
//! let asked_ms = created_ms + 30 * 60_000;
//! status_changed(&mut clock, rules.calendar(), TicketStatus::New, TicketStatus::Assigned, created_ms)?;
//! status_changed(&mut clock, rules.calendar(), TicketStatus::Assigned, TicketStatus::WaitingOnCustomer, asked_ms)?;
//! let report = rules.evaluate(&clock, Priority::Normal, "complaint/billing", asked_ms + 3_600_000);
//! assert_eq!(report.first_response.state, SlaState::Met);
//! assert_eq!(report.resolution.state, SlaState::Paused);
//! assert_eq!(report.next_check_at_ms, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod business;
mod duration;
mod error;
mod rules;
mod sla;
mod spec;
mod status;

pub use business::{add_business_ms, business_ms_between};
pub use error::SpecError;
pub use rules::TicketRules;
pub use sla::{status_changed, SlaClock, SlaPolicy, SlaReport, SlaState, TargetReport};
pub use spec::{FollowUpSpec, RouteSpec, SlaPolicySpec, TicketsSpec};
pub use status::{check_transition, ParseNameError, Priority, TicketStatus, TransitionError};

/// How many days (of 24 hours) after its start [`add_business_ms`] looks for the open time
/// it is asked to add before it answers `None`: two years, room for the longest target
/// ([`SLA_DURATION_MAX_MS`]) on a calendar open a few hours a week, and for a closure of more
/// than a year.
pub const BUSINESS_SEARCH_HORIZON_DAYS: u64 = 731;

/// The longest SLA target a policy may set: 1000 business hours (25 working weeks of 40
/// hours).
pub const SLA_DURATION_MAX_MS: u64 = 1000 * 60 * 60 * 1000;

/// The longest wait before a follow-up: a leap year.
pub const FOLLOW_UP_AFTER_MAX_MS: u64 = 366 * 24 * 60 * 60 * 1000;

/// The most entries `policies` may have.
pub const POLICIES_MAX: usize = 64;

/// The most entries `routes` may have.
pub const ROUTES_MAX: usize = 256;

/// The most entries `follow_ups` may have.
pub const FOLLOW_UPS_MAX: usize = 64;

/// The most bytes a category pattern may have.
pub const CATEGORY_BYTES_MAX: usize = 128;

/// The most bytes the name of a policy, a department or a group may have.
pub const NAME_BYTES_MAX: usize = 64;

/// The name of [`SlaPolicy::default`].
pub const DEFAULT_POLICY_NAME: &str = "default";

/// The first-response target of [`SlaPolicy::default`]: 8 business hours, a working day.
pub const DEFAULT_FIRST_RESPONSE_MS: u64 = 8 * 60 * 60 * 1000;

/// The resolution target of [`SlaPolicy::default`]: 40 business hours, a working week.
pub const DEFAULT_RESOLUTION_MS: u64 = 40 * 60 * 60 * 1000;

/// The warning share of a policy that names none, and of [`SlaPolicy::default`], in percent.
pub const DEFAULT_WARN_AT_PERCENT: u8 = 80;
