//! The types a driver hands the [`Dialer`](crate::Dialer) and gets back from it.

use std::fmt;
use std::sync::Arc;

use hotline_calendar::Calendar;
use serde::{Deserialize, Serialize};

use crate::{Blocked, E164Number};

/// A task's id, given by [`Dialer::add`](crate::Dialer::add): increasing, never reused by one
/// dialer (see [`Dialer::with_next_id`](crate::Dialer::with_next_id) across restarts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.0)
    }
}

/// Who is to be called back: the customer's id in the records (or, for a caller without a
/// record, any stable number the driver derives, such as the blind index of the number).
/// With the reason it is the key of deduplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerKey(pub u64);

/// When the customer asked to be called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestedWindow {
    /// As soon as allowed, within [`DialerRules::asap_horizon_ms`] of the request.
    ///
    /// [`DialerRules::asap_horizon_ms`]: crate::DialerRules::asap_horizon_ms
    Asap,
    /// From `start_ms` up to, not including, `end_ms` (Unix milliseconds).
    Between {
        /// The first instant the customer may be called.
        start_ms: u64,
        /// The end of the window; after it the task fails.
        end_ms: u64,
    },
}

/// A callback request, as [`Dialer::add`](crate::Dialer::add) takes it.
#[derive(Clone, Debug)]
pub struct NewTask {
    /// Who asked.
    pub customer: CustomerKey,
    /// Why, such as `"after_sales"` or `"ticket:4711"`: 1 to
    /// [`REASON_BYTES_MAX`](crate::REASON_BYTES_MAX) bytes without spaces around. A customer
    /// has at most one active task per reason.
    pub reason: String,
    /// The number to dial, in E.164 form (`"+8613812345678"`); its prefix chooses the legal
    /// hours.
    pub number: String,
    /// The priority class: higher goes first when capacity is short (0 normal, 1 VIP, …).
    pub priority_class: u8,
    /// Within a class, a higher value score goes first (the customer's value to the business).
    pub value_score: u32,
    /// When the customer asked to be called.
    pub window: RequestedWindow,
    /// The customer's contact-time windows in their own time zone ("weekday evenings
    /// 19:00-21:00"), or `None` for any time. Shared: tasks of customers with the same
    /// preference should share one calendar.
    pub contact_hours: Option<Arc<Calendar>>,
}

/// What [`Dialer::add`](crate::Dialer::add) answers for an accepted task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The new task's id.
    pub id: TaskId,
    /// The first instant the task may be dialled (the request's instant when everything is
    /// open then).
    pub due_ms: u64,
    /// The instant promised to the customer: `due_ms` plus
    /// [`DialerRules::asap_promise_ms`](crate::DialerRules::asap_promise_ms).
    pub promised_ms: u64,
}

/// One dial to place, handed out by [`Dialer::poll_due`](crate::Dialer::poll_due). The attempt
/// is claimed: persist the task's [`snapshot`](crate::Dialer::snapshot) before dialling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DialOrder {
    /// The task.
    pub task: TaskId,
    /// The attempt's number, from 1; [`Dialer::outcome`](crate::Dialer::outcome) names it.
    pub attempt: u32,
    /// The number to dial.
    pub number: E164Number,
    /// Who is called, to re-check do-not-call and consent in the records before dialling.
    pub customer: CustomerKey,
}

/// How an attempt ended, as the driver reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The customer answered: the task is done.
    Connected,
    /// The line was busy: retried after `retry.busy`.
    Busy,
    /// It rang unanswered: retried after `retry.no_answer`.
    NoAnswer,
    /// The customer declined: retried after `retry.rejected`.
    Rejected,
    /// The network failed the call: retried after `retry.network_failure`.
    NetworkFailure,
    /// The number does not exist: the task fails for good at once.
    InvalidNumber,
    /// The result was never learnt (an attempt still dialling when the driver restarted):
    /// it counts as an attempt and is retried like a network failure.
    Unknown,
}

/// What happens to a task after an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The task is done (connected) and no longer active.
    Done,
    /// The next attempt may start at this instant.
    RetryAt(u64),
    /// The task failed for good and is no longer active.
    Failed(FailReason),
}

/// What [`Dialer::restore`](crate::Dialer::restore) did with a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restored {
    /// The task is active again and falls due at this instant.
    DueAt(u64),
    /// The task could not go on and failed for good ([`Event::TaskFailed`] was queued).
    Failed(FailReason),
}

/// Why a task failed for good. The driver tells the customer (the online-chat link and a link
/// to book another callback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// The number does not exist.
    InvalidNumber,
    /// Every attempt allowed was used.
    AttemptsExhausted {
        /// Attempts made.
        attempts: u32,
    },
    /// No instant was left at which it could be dialled.
    NoTimeLeft(Blocked),
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::InvalidNumber => f.write_str("the number does not exist"),
            FailReason::AttemptsExhausted { attempts } => {
                write!(f, "no answer after {attempts} attempts")
            }
            FailReason::NoTimeLeft(blocked) => write!(f, "{blocked}"),
        }
    }
}

/// Why the driver cancelled a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CancelReason {
    /// The number is on the do-not-call list.
    DoNotCall,
    /// The customer's consent to be called is missing or withdrawn.
    NoConsent,
    /// The customer withdrew the request.
    ByCustomer,
    /// Staff closed it (the matter was settled another way).
    ByStaff,
}

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting until it falls due (or for free capacity, once due).
    Waiting {
        /// When it falls due.
        due_ms: u64,
    },
    /// An attempt is claimed and its outcome not yet reported.
    Dialling {
        /// The attempt's number.
        attempt: u32,
        /// When it was handed out.
        started_ms: u64,
    },
}

/// A task's whole state, for the driver to persist after every change and to give back to
/// [`Dialer::restore`](crate::Dialer::restore) after a restart. The customer's contact hours
/// are not in it (a calendar is configuration, not state): `contact_hours` names them, and the
/// driver passes the calendar again on restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSnapshot {
    /// The task's id.
    pub id: TaskId,
    /// Who asked.
    pub customer: CustomerKey,
    /// Why.
    pub reason: String,
    /// The number, E.164.
    pub number: String,
    /// The priority class.
    pub priority_class: u8,
    /// The value score.
    pub value_score: u32,
    /// The window's first instant (the request's instant for ASAP).
    pub window_start_ms: u64,
    /// The window's end, excluded.
    pub window_end_ms: u64,
    /// The name of the customer's contact-hours calendar, if the task has one.
    pub contact_hours: Option<String>,
    /// The instant promised to the customer.
    pub promised_ms: u64,
    /// Attempts handed out so far (the one dialling included).
    pub attempts: u32,
    /// The local date of the latest attempt as `YYYYMMDD` in the legal hours' time zone;
    /// 0 before the first.
    pub attempts_day: u32,
    /// Attempts handed out on that date.
    pub attempts_on_day: u32,
    /// Waiting or dialling.
    pub state: TaskState,
}

/// What the dialer tells the driver, through [`Dialer::poll_event`](crate::Dialer::poll_event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// An attempt was handed out.
    AttemptStarted {
        /// The task.
        task: TaskId,
        /// The attempt.
        attempt: u32,
        /// When.
        at_ms: u64,
    },
    /// An attempt ended.
    AttemptEnded {
        /// The task.
        task: TaskId,
        /// The attempt.
        attempt: u32,
        /// How.
        outcome: Outcome,
        /// When it was reported (or the attempt given up after a restart).
        at_ms: u64,
    },
    /// The customer was reached; the task is no longer active.
    TaskDone {
        /// The task.
        task: TaskId,
        /// When.
        at_ms: u64,
    },
    /// The task failed for good; the task is no longer active. Driver: send the customer the
    /// online-chat link and a link to book another callback.
    TaskFailed {
        /// The task.
        task: TaskId,
        /// Why.
        reason: FailReason,
        /// When.
        at_ms: u64,
    },
    /// The driver cancelled the task; it is no longer active. No message to the customer.
    TaskCancelled {
        /// The task.
        task: TaskId,
        /// Why.
        reason: CancelReason,
        /// When.
        at_ms: u64,
    },
    /// The task's first dial started later than its promise by more than
    /// [`DialerRules::apology_after_ms`](crate::DialerRules::apology_after_ms). Driver: send
    /// the apology (with its benefit).
    PromiseMissed {
        /// The task.
        task: TaskId,
        /// The instant that was promised.
        promised_ms: u64,
        /// How late the first dial started.
        late_ms: u64,
    },
}
