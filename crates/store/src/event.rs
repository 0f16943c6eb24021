//! The generic rows of the event log and the limits that every row must respect.

use std::io;
use std::ops::Range;

/// The longest `kind` accepted, in bytes.
pub const MAX_KIND_LEN: usize = 64;
/// The longest `agent` or `queue` name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// The largest `data` accepted, in bytes of compact JSON.
pub const MAX_DATA_BYTES: usize = 8 * 1024;
/// The most events that one `append` may carry (one transaction).
pub const MAX_EVENTS_PER_APPEND: usize = 16_384;
/// The most events that one read returns.
pub const MAX_READ_LIMIT: u32 = 10_000;

/// An event to append: one state change of the contact center.
///
/// The row is generic on purpose: the store knows no domain crate, and the meaning of `kind` and
/// `data` belongs to whoever writes and projects the event.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// When the event happened, in unix milliseconds, as given by the caller's clock.
    pub at_ms: i64,
    /// What happened, for example `"contact.queued"`: lowercase ASCII letters, digits, `.`, `_`
    /// and `-`, at most [`MAX_KIND_LEN`] bytes.
    pub kind: String,
    /// The contact (call, callback, chat) the event is about, if any.
    pub contact_id: Option<i64>,
    /// The agent the event is about, if any; at most [`MAX_NAME_LEN`] bytes.
    pub agent: Option<String>,
    /// The queue the event is about, if any; at most [`MAX_NAME_LEN`] bytes.
    pub queue: Option<String>,
    /// Everything else about the event; at most [`MAX_DATA_BYTES`] bytes once encoded.
    pub data: serde_json::Value,
}

/// An event as stored in the log, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The position of the event in the log: positive, unique and increasing in append order.
    pub seq: i64,
    /// When the event happened, in unix milliseconds, as given by the caller that appended it.
    pub at_ms: i64,
    /// What happened, for example `"contact.queued"`.
    pub kind: String,
    /// The contact the event is about, if any.
    pub contact_id: Option<i64>,
    /// The agent the event is about, if any.
    pub agent: Option<String>,
    /// The queue the event is about, if any.
    pub queue: Option<String>,
    /// Everything else about the event.
    pub data: serde_json::Value,
}

/// What an `append` wrote: the seqs of its first and last event, which are contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    /// The seq of the first event of the append.
    pub first_seq: i64,
    /// The seq of the last event of the append.
    pub last_seq: i64,
}

/// A read of the events whose `at_ms` lies in a window, ordered by `(at_ms, seq)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeQuery {
    /// The window in unix milliseconds: `start` included, `end` excluded.
    pub at_ms: Range<i64>,
    /// Only the events of this queue, when given.
    pub queue: Option<String>,
    /// Only the events after this position, to page through a window; see
    /// [`StoredEvent::range_cursor`].
    pub after: Option<RangeCursor>,
    /// The most events to return: 1 to [`MAX_READ_LIMIT`].
    pub limit: u32,
}

/// A position in the `(at_ms, seq)` order of a [`RangeQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeCursor {
    /// The `at_ms` of the last event already read.
    pub at_ms: i64,
    /// The `seq` of the last event already read.
    pub seq: i64,
}

/// Why one event was refused before anything was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventRejection {
    /// `at_ms` was before the unix epoch, which no clock of ours produces.
    #[error("at_ms {at_ms} is negative")]
    NegativeTime {
        /// The refused time.
        at_ms: i64,
    },
    /// `kind` was empty.
    #[error("kind is empty")]
    EmptyKind,
    /// `kind` was longer than [`MAX_KIND_LEN`].
    #[error("kind is {len} bytes, more than {MAX_KIND_LEN}")]
    KindTooLong {
        /// The length of the refused kind in bytes.
        len: usize,
    },
    /// `kind` held a character other than `a-z`, `0-9`, `.`, `_` and `-`.
    #[error("kind {kind:?} has a character other than a-z, 0-9, '.', '_' and '-'")]
    KindCharacters {
        /// The refused kind.
        kind: String,
    },
    /// `agent` was longer than [`MAX_NAME_LEN`].
    #[error("agent is {len} bytes, more than {MAX_NAME_LEN}")]
    AgentTooLong {
        /// The length of the refused name in bytes.
        len: usize,
    },
    /// `queue` was longer than [`MAX_NAME_LEN`].
    #[error("queue is {len} bytes, more than {MAX_NAME_LEN}")]
    QueueTooLong {
        /// The length of the refused name in bytes.
        len: usize,
    },
    /// `data` encoded to more than [`MAX_DATA_BYTES`] bytes of JSON.
    #[error("data is more than {MAX_DATA_BYTES} bytes of JSON")]
    DataTooLarge,
}

impl NewEvent {
    /// An event of `kind` at `at_ms` about nothing in particular, with `null` data; set the
    /// other fields with the `with_*` methods.
    pub fn new(at_ms: i64, kind: impl Into<String>) -> Self {
        NewEvent {
            at_ms,
            kind: kind.into(),
            contact_id: None,
            agent: None,
            queue: None,
            data: serde_json::Value::Null,
        }
    }

    /// The same event about `contact_id`.
    pub fn with_contact(mut self, contact_id: i64) -> Self {
        self.contact_id = Some(contact_id);
        self
    }

    /// The same event about `agent`.
    pub fn with_agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }

    /// The same event about `queue`.
    pub fn with_queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// The same event with `data`.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }

    /// Checks the event against the limits of the log; a log refuses exactly the events that
    /// this refuses. The data is measured as it would be encoded, without making a copy.
    pub fn validate(&self) -> Result<(), EventRejection> {
        if self.at_ms < 0 {
            return Err(EventRejection::NegativeTime { at_ms: self.at_ms });
        }
        if self.kind.is_empty() {
            return Err(EventRejection::EmptyKind);
        }
        if self.kind.len() > MAX_KIND_LEN {
            return Err(EventRejection::KindTooLong {
                len: self.kind.len(),
            });
        }
        let kind_character_ok =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-');
        if !self.kind.bytes().all(kind_character_ok) {
            return Err(EventRejection::KindCharacters {
                kind: self.kind.clone(),
            });
        }
        if let Some(agent) = &self.agent {
            if agent.len() > MAX_NAME_LEN {
                return Err(EventRejection::AgentTooLong { len: agent.len() });
            }
        }
        if let Some(queue) = &self.queue {
            if queue.len() > MAX_NAME_LEN {
                return Err(EventRejection::QueueTooLong { len: queue.len() });
            }
        }
        // Count the encoded bytes instead of encoding into a buffer: an oversized value is
        // refused as soon as it crosses the limit, without allocating a copy of it.
        let mut counter = ByteCounter {
            bytes: 0,
            max: MAX_DATA_BYTES,
        };
        serde_json::to_writer(&mut counter, &self.data)
            .map_err(|_| EventRejection::DataTooLarge)?;
        Ok(())
    }
}

impl StoredEvent {
    /// The cursor that continues a [`RangeQuery`] after this event.
    pub fn range_cursor(&self) -> RangeCursor {
        RangeCursor {
            at_ms: self.at_ms,
            seq: self.seq,
        }
    }
}

impl AppendReceipt {
    /// How many events the append wrote.
    pub fn len(&self) -> usize {
        // A receipt always covers at least one event, so the difference is never negative.
        usize::try_from(self.last_seq - self.first_seq + 1).unwrap_or(0)
    }

    /// Whether the receipt covers no event; never true for a receipt from a log.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RangeQuery {
    /// The first `limit` events of all queues in `at_ms`.
    pub fn new(at_ms: Range<i64>, limit: u32) -> Self {
        RangeQuery {
            at_ms,
            queue: None,
            after: None,
            limit,
        }
    }

    /// The same query restricted to `queue`.
    pub fn in_queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// The same query continuing after `cursor`.
    pub fn after(mut self, cursor: RangeCursor) -> Self {
        self.after = Some(cursor);
        self
    }
}

/// An `io::Write` that only counts, and fails once more than `max` bytes were written.
struct ByteCounter {
    bytes: usize,
    max: usize,
}

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len();
        if self.bytes > self.max {
            return Err(io::Error::other("limit reached"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_exactly_at_the_limit_is_accepted_and_one_byte_more_is_refused() {
        // A JSON string encodes as its content plus two quotes.
        let at_limit = "x".repeat(MAX_DATA_BYTES - 2);
        let event = NewEvent::new(1, "a.b").with_data(serde_json::Value::String(at_limit));
        assert_eq!(event.validate(), Ok(()));

        let over = "x".repeat(MAX_DATA_BYTES - 1);
        let event = NewEvent::new(1, "a.b").with_data(serde_json::Value::String(over));
        assert_eq!(event.validate(), Err(EventRejection::DataTooLarge));
    }

    #[test]
    fn kinds_are_checked_for_length_and_characters() {
        assert_eq!(NewEvent::new(0, "contact.queued").validate(), Ok(()));
        assert_eq!(
            NewEvent::new(0, "").validate(),
            Err(EventRejection::EmptyKind)
        );
        assert_eq!(
            NewEvent::new(0, "k".repeat(MAX_KIND_LEN)).validate(),
            Ok(())
        );
        assert_eq!(
            NewEvent::new(0, "k".repeat(MAX_KIND_LEN + 1)).validate(),
            Err(EventRejection::KindTooLong {
                len: MAX_KIND_LEN + 1
            })
        );
        assert!(matches!(
            NewEvent::new(0, "Contact Queued").validate(),
            Err(EventRejection::KindCharacters { .. })
        ));
        assert_eq!(
            NewEvent::new(-1, "a").validate(),
            Err(EventRejection::NegativeTime { at_ms: -1 })
        );
    }
}
