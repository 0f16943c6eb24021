//! The scheduling core of outbound callbacks (回拨): customers asked to be called back (from a
//! web form, WeChat, an app, an after-sales form, a ticket's follow-up visit), and this crate
//! decides *when* each task may be dialled and *which* task goes next.
//!
//! The principal type is [`Dialer`], built from the `[dialer]` TOML section [`DialerConfig`]
//! through [`DialerRules::from_config`]. The crate is sans-IO: it never reads a clock (every
//! instant comes in as `now_ms`, milliseconds since the Unix epoch, as
//! [`hotline_calendar`] takes them), draws no random numbers, and knows no SQL, JSON or SIP.
//! The driver (the server) persists the tasks, checks do-not-call lists and consent, dials,
//! and sends the customer messages.
//!
//! # When a task may be dialled
//!
//! At an instant at which all of these are open:
//!
//! - the **legal calling hours** of the number's region: the region whose prefix is the
//!   longest that the E.164 number begins with (`"+852"`: Hong Kong), else the default
//!   (08:00-21:00 every day in Asia/Shanghai). Its holidays allow no call at all;
//! - the customer's **contact hours** (`NewTask::contact_hours`, a shared calendar in the
//!   customer's time zone; none: any time);
//! - the task's **window**: ASAP (from the request until
//!   [`asap_horizon`](DialerConfig::asap_horizon) later) or the requested `[start, end)`;
//!
//! and the task has attempts left in all ([`max_attempts`](DialerConfig::max_attempts)) and on
//! that local date of its legal hours ([`max_attempts_per_day`](DialerConfig::max_attempts_per_day)),
//! and the delay after its last outcome ([`retry`](DialerConfig::retry)) has passed.
//!
//! The next allowed instant is found by asking each calendar in turn for its next opening
//! until a round moves none ([`WINDOW_ROUNDS_MAX`] rounds at most). If there is none within
//! [`SCHEDULE_HORIZON_MS`] (366 days) or before the window ends, the task cannot be scheduled:
//! [`Dialer::add`] refuses it ([`AddError::WindowNeverOpens`]); later, the task fails for good
//! ([`FailReason::NoTimeLeft`]).
//!
//! # Which task goes next
//!
//! Among the due tasks, [`Dialer::poll_due`] hands out the higher priority class first, then
//! the higher value score, then the earlier due instant, then the lower id; as many as the
//! driver has free lines. Tasks wait in a timer keyed by their due instant and move to the
//! ready set as time passes; each hand-out costs a few tree operations, however many tasks
//! wait.
//!
//! # The protocol
//!
//! ```text
//! add(now, NewTask)            → Accepted { id, due_ms, promised_ms } | AddError (Duplicate → 409)
//! poll_due(now, free_lines)    → [DialOrder { task, attempt, number, customer }]   (claimed)
//!     driver: persist snapshot(task); re-check do-not-call and consent → cancel(now, task, reason)
//!     driver: dial
//! outcome(now, task, attempt, Outcome) → Done | RetryAt(ms) | Failed(reason) | OutcomeError (stale)
//! poll_event()                 → AttemptStarted, AttemptEnded, TaskDone, TaskFailed,
//!                                TaskCancelled, PromiseMissed
//! next_wakeup()                → sleep until then, or until the next input
//! ```
//!
//! - **Never dialled twice for one attempt.** `poll_due` claims the attempt (the task becomes
//!   [`TaskState::Dialling`]); the driver persists the [`TaskSnapshot`] before dialling. After a
//!   restart [`Dialer::restore`] rebuilds each task; one still dialling is taken to have ended
//!   that attempt with an unknown result ([`Outcome::Unknown`]: it counts, and is retried like
//!   a network failure), so its attempt number is never handed out again.
//! - **One active task per customer and reason.** A second [`Dialer::add`] is refused with the
//!   first task's id until that one is done, failed or cancelled.
//! - **Promises.** An accepted task is promised at its first allowed instant plus
//!   [`asap_promise`](DialerConfig::asap_promise) (30 s). A first dial that starts more than
//!   [`apology_after`](DialerConfig::apology_after) (5 min) after the promise raises
//!   [`Event::PromiseMissed`] (the driver sends the apology); a task that fails for good raises
//!   [`Event::TaskFailed`] (the driver sends the online-chat link and a link to book another
//!   callback).
//! - An input that is refused changes nothing.
//!
//! # Decisions
//!
//! - Instants are `u64` Unix milliseconds, as the calendar crate takes them.
//! - Tasks that end (done, failed, cancelled) leave the dialer at once; their last state is in
//!   the answer and the events. Outcomes for them are refused as for an unknown task.
//! - A task's contact-hours calendar is not in its snapshot: it is configuration, passed again
//!   to [`Dialer::restore`] (the snapshot names it).
//! - The legal hours are chosen from the number when a task is added or restored; a region
//!   added to the configuration applies to the tasks restored under it.
//! - A due task waiting for capacity is checked again when it reaches the front: if its hours
//!   closed meanwhile it goes back to the timer; if its window ended it fails then, not
//!   before.
//!
//! # Example
//!
//! ```
//! use hotline_dialer::{CustomerKey, Dialer, DialerRules, NewTask, Next, Outcome, RequestedWindow};
//!
//! let mut dialer = Dialer::new(DialerRules::default());
//! // Monday 2026-09-28 10:00 in Shanghai: within the default legal hours (08:00-21:00).
//! let now_ms = 1_790_560_800_000;
//! let accepted = dialer.add(now_ms, NewTask {
//!     customer: CustomerKey(42),
//!     reason: "after_sales".to_owned(),
//!     number: "+8613812345678".to_owned(),
//!     priority_class: 0,
//!     value_score: 0,
//!     window: RequestedWindow::Asap,
//!     contact_hours: None,
//! })?;
//! assert_eq!(accepted.promised_ms, now_ms + 30_000);
//!
//! let orders = dialer.poll_due(now_ms, 10);
//! assert_eq!(orders.len(), 1);
//! let order = orders[0];
//! // The line is busy: the next attempt after five minutes.
//! let next = dialer.outcome(now_ms + 20_000, order.task, order.attempt, Outcome::Busy)?;
//! assert_eq!(next, Next::RetryAt(now_ms + 20_000 + 300_000));
//! assert_eq!(dialer.next_wakeup(), Some(now_ms + 320_000));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bench;
mod config;
mod dialer;
mod duration;
mod error;
mod number;
pub mod pacing;
mod schedule;
mod task;

pub use config::{DialerConfig, DialerRules, RegionSpec, RetryDelays, RetrySpec};
pub use dialer::Dialer;
pub use error::{AddError, CancelError, ClaimError, ConfigError, OutcomeError, RestoreError};
pub use number::E164Number;
pub use pacing::{CampaignState, ModelBased, Pacer, PacingEvent, Progressive, VicidialAdaptive};
pub use schedule::Blocked;
pub use task::{
    Accepted, CancelReason, CustomerKey, DialOrder, Event, FailReason, NewTask, Next, Outcome,
    RequestedWindow, Restored, TaskId, TaskSnapshot, TaskState,
};

const SECOND_MS: u64 = 1_000;
const MINUTE_MS: u64 = 60 * SECOND_MS;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

/// The most active tasks a dialer may hold (and the largest `max_tasks`); [`Dialer::add`]
/// answers [`AddError::Full`] beyond the configured limit.
pub const MAX_TASKS: usize = 2_000_000;

/// The largest `max_attempts` a configuration may set.
pub const ATTEMPTS_MAX: u32 = 20;

/// The largest `max_attempts_per_day` a configuration may set.
pub const ATTEMPTS_PER_DAY_MAX: u32 = 10;

/// `max_attempts` when left out.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;

/// `max_attempts_per_day` when left out.
pub const DEFAULT_MAX_ATTEMPTS_PER_DAY: u32 = 3;

/// `retry.busy` when left out: 5 minutes.
pub const DEFAULT_RETRY_BUSY_MS: u64 = 5 * MINUTE_MS;

/// `retry.no_answer` when left out: 20 minutes.
pub const DEFAULT_RETRY_NO_ANSWER_MS: u64 = 20 * MINUTE_MS;

/// `retry.rejected` when left out: an hour.
pub const DEFAULT_RETRY_REJECTED_MS: u64 = HOUR_MS;

/// `retry.network_failure` when left out: 2 minutes.
pub const DEFAULT_RETRY_NETWORK_FAILURE_MS: u64 = 2 * MINUTE_MS;

/// The longest retry delay: a week.
pub const RETRY_DELAY_MAX_MS: u64 = 7 * DAY_MS;

/// `asap_promise` when left out: 30 seconds.
pub const DEFAULT_ASAP_PROMISE_MS: u64 = 30 * SECOND_MS;

/// The longest `asap_promise`: a day.
pub const ASAP_PROMISE_MAX_MS: u64 = DAY_MS;

/// `apology_after` when left out: 5 minutes.
pub const DEFAULT_APOLOGY_AFTER_MS: u64 = 5 * MINUTE_MS;

/// The longest `apology_after`: a day.
pub const APOLOGY_AFTER_MAX_MS: u64 = DAY_MS;

/// `asap_horizon` when left out: 3 days.
pub const DEFAULT_ASAP_HORIZON_MS: u64 = 3 * DAY_MS;

/// The longest `asap_horizon`: 30 days.
pub const ASAP_HORIZON_MAX_MS: u64 = 30 * DAY_MS;

/// How far ahead of the instant asked the next allowed instant is looked for: 366 days. A
/// task with none within it cannot be scheduled.
pub const SCHEDULE_HORIZON_MS: u64 = 366 * DAY_MS;

/// The most rounds of the search for an instant at which every calendar is open (each round
/// asks each calendar for its next opening). Calendars that meet do so within a few rounds;
/// a round moves on by at least one opening, so this is enough to walk a year of daily hours
/// that never meet (two rounds a day) before giving up.
pub const WINDOW_ROUNDS_MAX: u32 = 1024;

/// The most entries `regions` may have.
pub const REGIONS_MAX: usize = 256;

/// The fewest digits of an E.164 number.
pub const E164_DIGITS_MIN: usize = 3;

/// The most digits of an E.164 number (and of a region prefix).
pub const E164_DIGITS_MAX: usize = 15;

/// The most bytes a task's reason may have.
pub const REASON_BYTES_MAX: usize = 64;

/// The most events waiting to be polled; more are dropped and counted
/// ([`Dialer::events_dropped`]).
pub const EVENTS_MAX: usize = 65_536;

/// The most dial orders one [`Dialer::poll_due`] hands out.
pub const DIAL_ORDERS_PER_POLL_MAX: usize = 10_000;

/// The name of the default legal hours.
pub const DEFAULT_LEGAL_HOURS_NAME: &str = "legal_hours";

/// The default legal hours, every day, in Asia/Shanghai.
pub const DEFAULT_LEGAL_HOURS: &str = "08:00-21:00";
