//! The seam between the event log and its databases.

use std::future::Future;

use crate::error::StoreError;
use crate::event::{AppendReceipt, NewEvent, RangeQuery, StoredEvent};

/// An append-only log of events, the single source of truth of the contact center.
///
/// Every implementation (SQLite now, PostgreSQL later) keeps the same promises:
/// - `append` writes all its events or none, in one transaction, and when it returns `Ok` they
///   survive a crash of the process and of the machine;
/// - seqs are positive, never reused, and increase in append order; the events of one append get
///   contiguous seqs, in the order of the slice;
/// - a stored event is never changed or removed;
/// - every argument and every result is bounded: appends by
///   [`MAX_EVENTS_PER_APPEND`](crate::MAX_EVENTS_PER_APPEND) and the row limits of
///   [`NewEvent::validate`], reads by [`MAX_READ_LIMIT`](crate::MAX_READ_LIMIT).
///
/// The futures are `Send` so that a log can be driven from a spawned task such as the
/// [`EventWriter`](crate::EventWriter)'s.
pub trait EventLog: Send + Sync {
    /// Appends `events` in one transaction and returns their seqs once they are durable.
    ///
    /// Refuses the whole append, writing nothing, when it is empty, longer than
    /// [`MAX_EVENTS_PER_APPEND`](crate::MAX_EVENTS_PER_APPEND), or when one event fails
    /// [`NewEvent::validate`].
    fn append(
        &self,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<AppendReceipt, StoreError>> + Send;

    /// Reads up to `limit` events with a seq greater than `after_seq`, in seq order. Start with
    /// `after_seq = 0`; continue with the seq of the last event read.
    fn read_from(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Reads the events of a time window, optionally of one queue, in `(at_ms, seq)` order.
    ///
    /// `at_ms` is the caller's clock, so this order can differ from seq order.
    fn read_range(
        &self,
        query: &RangeQuery,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// The seq of the newest event, or 0 when the log is empty.
    fn last_seq(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
}
