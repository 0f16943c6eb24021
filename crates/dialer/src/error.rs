//! The errors: [`ConfigError`] for the `[dialer]` section, and those of the [`Dialer`]'s
//! inputs ([`AddError`], [`OutcomeError`], [`CancelError`], [`RestoreError`]). An input that
//! is refused changed nothing.
//!
//! [`Dialer`]: crate::Dialer

use std::fmt;

use crate::{Blocked, TaskId};

/// A flaw in a [`DialerConfig`](crate::DialerConfig): the field at fault, as a path such as
/// `retry.busy`, `regions[1].prefix` or `legal_hours.weekly.mon`, and a sentence saying what
/// is wrong.
///
/// Displays as `field: message`, such as
/// `retry.busy: invalid duration "5x"; expected forms like "30s", "5m", "1h30m", "3d"`; the
/// caller adds where the section came from (`[dialer]` in which file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    field: String,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The path of the field at fault within the section, such as `regions[1].prefix`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong, in plain words, without the field.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Why [`Dialer::add`](crate::Dialer::add) refused a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddError {
    /// The reason is empty, has spaces around it or is longer than
    /// [`REASON_BYTES_MAX`](crate::REASON_BYTES_MAX).
    InvalidReason {
        /// What is wrong with it.
        message: String,
    },
    /// The number is not in E.164 form.
    InvalidNumber {
        /// What is wrong with it.
        message: String,
    },
    /// The requested window is empty (its end is not after its start).
    InvalidWindow {
        /// What is wrong with it.
        message: String,
    },
    /// The customer already has an active task for this reason (the API answers 409 with it).
    Duplicate {
        /// The active task.
        existing: TaskId,
    },
    /// The dialer holds as many tasks as it may ([`DialerRules::max_tasks`]).
    ///
    /// [`DialerRules::max_tasks`]: crate::DialerRules::max_tasks
    Full {
        /// The limit reached.
        max: usize,
    },
    /// There is no instant at which the task could be dialled: its window ends first, or the
    /// calendars that apply are never open together within
    /// [`SCHEDULE_HORIZON_MS`](crate::SCHEDULE_HORIZON_MS).
    WindowNeverOpens {
        /// Which of the two.
        blocked: Blocked,
    },
}

impl AddError {
    /// The field of [`NewTask`](crate::NewTask) at fault, where one is: `reason`, `number`,
    /// `window` (`Duplicate` names `reason`: the customer's reason is taken).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AddError::InvalidReason { .. } | AddError::Duplicate { .. } => Some("reason"),
            AddError::InvalidNumber { .. } => Some("number"),
            AddError::InvalidWindow { .. } | AddError::WindowNeverOpens { .. } => Some("window"),
            AddError::Full { .. } => None,
        }
    }
}

impl fmt::Display for AddError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddError::InvalidReason { message }
            | AddError::InvalidNumber { message }
            | AddError::InvalidWindow { message } => {
                write!(f, "{}: {message}", self.field().unwrap_or("task"))
            }
            AddError::Duplicate { existing } => write!(
                f,
                "reason: the customer already has an active callback for this reason ({existing})"
            ),
            AddError::Full { max } => write!(f, "the dialer holds {max} tasks, its limit"),
            AddError::WindowNeverOpens { blocked } => write!(f, "window: {blocked}"),
        }
    }
}

impl std::error::Error for AddError {}

/// Why [`Dialer::outcome`](crate::Dialer::outcome) refused an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeError {
    /// No such task is active (it never was, or it has ended).
    UnknownTask {
        /// The task named.
        task: TaskId,
    },
    /// The task is not dialling that attempt: the outcome is late or a repeat.
    StaleAttempt {
        /// The task named.
        task: TaskId,
        /// The attempt named.
        attempt: u32,
        /// The attempt being dialled now, if any.
        dialling: Option<u32>,
    },
}

impl fmt::Display for OutcomeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutcomeError::UnknownTask { task } => write!(f, "no active task {task}"),
            OutcomeError::StaleAttempt {
                task,
                attempt,
                dialling: Some(dialling),
            } => write!(
                f,
                "task {task} is dialling attempt {dialling}, not attempt {attempt}"
            ),
            OutcomeError::StaleAttempt {
                task,
                attempt,
                dialling: None,
            } => write!(
                f,
                "task {task} is not dialling (attempt {attempt} has ended or was never handed out)"
            ),
        }
    }
}

impl std::error::Error for OutcomeError {}

/// Why [`Dialer::cancel`](crate::Dialer::cancel) refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelError {
    /// No such task is active (it never was, or it has ended).
    UnknownTask {
        /// The task named.
        task: TaskId,
    },
}

impl fmt::Display for CancelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelError::UnknownTask { task } => write!(f, "no active task {task}"),
        }
    }
}

impl std::error::Error for CancelError {}

/// Why [`Dialer::claim_task`](crate::Dialer::claim_task) did not hand a task out. Nothing
/// changed, except that a task found closed was moved to its next allowed instant or failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimError {
    /// No such task is active.
    UnknownTask {
        /// The task named.
        task: TaskId,
    },
    /// An attempt of it is under way.
    Dialling {
        /// The task.
        task: TaskId,
    },
    /// It may not be dialled yet (legal hours, the customer's hours, its window, the day's
    /// attempts): the first instant it may.
    NotDue {
        /// The task.
        task: TaskId,
        /// When it falls due.
        due_ms: u64,
    },
    /// It was found with no instant left to be dialled and failed for good.
    Failed {
        /// The task.
        task: TaskId,
    },
}

impl fmt::Display for ClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimError::UnknownTask { task } => write!(f, "no active task {task}"),
            ClaimError::Dialling { task } => write!(f, "task {task} is being dialled"),
            ClaimError::NotDue { task, due_ms } => {
                write!(
                    f,
                    "task {task} may not be dialled before {due_ms} (Unix ms)"
                )
            }
            ClaimError::Failed { task } => {
                write!(f, "task {task} has no time left to be dialled and failed")
            }
        }
    }
}

impl std::error::Error for ClaimError {}

/// Why [`Dialer::restore`](crate::Dialer::restore) refused a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// A field of the snapshot is out of range or inconsistent with another.
    Invalid {
        /// The field of [`TaskSnapshot`](crate::TaskSnapshot) at fault, such as `number` or
        /// `state.attempt`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A task with this id is active already.
    AlreadyPresent {
        /// The task named.
        task: TaskId,
    },
    /// Another active task has the same customer and reason.
    Duplicate {
        /// The active task.
        existing: TaskId,
    },
    /// The dialer holds as many tasks as it may.
    Full {
        /// The limit reached.
        max: usize,
    },
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Invalid { field, message } => write!(f, "{field}: {message}"),
            RestoreError::AlreadyPresent { task } => write!(f, "task {task} is active already"),
            RestoreError::Duplicate { existing } => write!(
                f,
                "reason: the customer already has an active callback for this reason ({existing})"
            ),
            RestoreError::Full { max } => write!(f, "the dialer holds {max} tasks, its limit"),
        }
    }
}

impl std::error::Error for RestoreError {}
