//! The one error type of the store.

use std::path::PathBuf;
use std::sync::Arc;

use crate::event::EventRejection;

/// Everything that can go wrong in the store.
///
/// The error is `Clone` (the underlying errors sit behind an `Arc`) because the
/// [`EventWriter`](crate::EventWriter) hands one write error to every producer of the batch.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// One event broke a limit; nothing of the append was written.
    #[error("event {index} of the append was refused: {reason}")]
    InvalidEvent {
        /// The position of the refused event in the append.
        index: usize,
        /// What was wrong with it.
        reason: EventRejection,
    },
    /// An append carried no event.
    #[error("an append needs at least one event")]
    EmptyAppend,
    /// An append carried more events than one transaction may write; nothing was written.
    #[error("{count} events in one append, more than the maximum {max}")]
    TooManyEvents {
        /// The number of events in the refused append.
        count: usize,
        /// The most events one append may carry.
        max: usize,
    },
    /// A read asked for no event or for more than [`MAX_READ_LIMIT`](crate::MAX_READ_LIMIT).
    #[error("read limit {limit} is outside 1..={max}")]
    InvalidLimit {
        /// The refused limit.
        limit: u32,
        /// The largest limit accepted.
        max: u32,
    },
    /// A configuration value was out of its bounds.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// The [`EventWriter`](crate::EventWriter)'s queue was full: the caller should refuse the
    /// work that produced the event (SIP 503, HTTP 429) rather than wait.
    #[error("the event writer's queue is full")]
    Full,
    /// The [`EventWriter`](crate::EventWriter) was shut down (or stopped before it acknowledged
    /// the event), or the log was closed. An event that was sent but not acknowledged may or
    /// may not have been written.
    #[error("the event log or its writer is closed")]
    Closed,
    /// A stored row could not be decoded.
    #[error("stored event {seq} is unreadable: {reason}")]
    Corrupt {
        /// The seq of the unreadable row.
        seq: i64,
        /// Why it could not be decoded.
        reason: String,
    },
    /// The database broke a guarantee the store relies on (for example, an insert reported
    /// other seqs than it must have). Whether the append was written is unknown.
    #[error("store invariant broken: {0}")]
    Invariant(String),
    /// The directory of the database file could not be created.
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why it could not be created.
        source: Arc<std::io::Error>,
    },
    /// The database refused or failed an operation.
    #[error("database error: {0}")]
    Database(#[source] Arc<sqlx::Error>),
    /// A record broke a rule; nothing was written.
    #[error("{0}")]
    Invalid(crate::records::FieldError),
    /// The record asked for does not exist.
    #[error("no {what} {id}")]
    NotFound {
        /// What kind of record.
        what: &'static str,
        /// Its id as given.
        id: String,
    },
    /// The write conflicts with the stored state (a unique value taken, a stale version).
    #[error("{0}")]
    Conflict(String),
    /// Sealing or opening personal data failed.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migrate(#[source] Arc<sqlx::migrate::MigrateError>),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(Arc::new(error))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(Arc::new(error))
    }
}

impl From<crate::records::FieldError> for StoreError {
    fn from(error: crate::records::FieldError) -> Self {
        StoreError::Invalid(error)
    }
}
