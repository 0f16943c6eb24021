//! Projections of the event log kept current in memory: a [`Projected`] state fed every
//! event once, in log order, shared behind a lock. [`Tailed::catch_up`] reads what is new;
//! [`Tailed::spawn`] does so every [`TAIL_POLL`] until shutdown. The outbound figures and the
//! wall's figures are such projections (metrics are projections of events, never a second
//! source).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hotline_store::{EventLog, SqliteEventLog, StoreError, StoredEvent};
use tokio::sync::watch;

/// Events read from the log at once.
pub const EVENTS_PER_READ: u32 = 5_000;
/// How often the log is read for new events.
pub const TAIL_POLL: Duration = Duration::from_millis(250);

/// A state built from the event log.
pub trait Projected: Send + 'static {
    /// Applies one event; events come once each, in seq order.
    fn apply(&mut self, event: &StoredEvent);
}

/// A projection and the seq of the last event it applied.
#[derive(Debug, Default)]
pub struct Fed<P> {
    /// The projection.
    pub state: P,
    /// The last seq applied.
    pub last_seq: i64,
}

/// A projection shared with readers (the API) and its tailer.
#[derive(Debug)]
pub struct Tailed<P> {
    inner: Arc<Mutex<Fed<P>>>,
}

impl<P> Clone for Tailed<P> {
    fn clone(&self) -> Self {
        Tailed {
            inner: self.inner.clone(),
        }
    }
}

impl<P: Default> Default for Tailed<P> {
    fn default() -> Self {
        Tailed::new(P::default())
    }
}

impl<P> Tailed<P> {
    /// Shares `state`, which has applied no event yet.
    pub fn new(state: P) -> Tailed<P> {
        Tailed {
            inner: Arc::new(Mutex::new(Fed { state, last_seq: 0 })),
        }
    }

    /// The projection, locked. Hold it briefly: the tailer waits meanwhile.
    pub fn lock(&self) -> MutexGuard<'_, Fed<P>> {
        // A panic while applying one event leaves a usable projection.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The seq of the last event applied.
    pub fn last_seq(&self) -> i64 {
        self.lock().last_seq
    }
}

/// Something fed from the log: several are caught up in one pass with [`catch_up_all`].
pub trait Feed: Sync {
    /// The seq of the last event applied.
    fn fed_to(&self) -> i64;
    /// Applies the events after the last applied one; answers how many.
    fn feed(&self, events: &[StoredEvent]) -> u64;
}

impl<P: Projected> Feed for Tailed<P> {
    fn fed_to(&self) -> i64 {
        self.last_seq()
    }

    fn feed(&self, events: &[StoredEvent]) -> u64 {
        let mut fed = self.lock();
        let mut applied = 0;
        for event in events {
            if event.seq > fed.last_seq {
                fed.state.apply(event);
                fed.last_seq = event.seq;
                applied += 1;
            }
        }
        applied
    }
}

/// Catches every projection of `feeds` up with the log in one read of it (from the least
/// advanced), [`EVENTS_PER_READ`] events at a time; answers how many events were read.
pub async fn catch_up_all(log: &SqliteEventLog, feeds: &[&dyn Feed]) -> Result<u64, StoreError> {
    let Some(mut after) = feeds.iter().map(|f| f.fed_to()).min() else {
        return Ok(0);
    };
    let mut read = 0;
    loop {
        let events = log.read_from(after, EVENTS_PER_READ).await?;
        let Some(last) = events.last() else {
            return Ok(read);
        };
        after = last.seq;
        read += events.len() as u64;
        for feed in feeds {
            feed.feed(&events);
        }
    }
}

impl<P: Projected> Tailed<P> {
    /// Reads the log's events after the last applied one, [`EVENTS_PER_READ`] at a time,
    /// until none is left; answers how many were applied. Concurrent calls apply each event
    /// once (an event at or before the last applied seq is skipped).
    pub async fn catch_up(&self, log: &SqliteEventLog) -> Result<u64, StoreError> {
        let mut applied = 0;
        loop {
            let events = log.read_from(self.last_seq(), EVENTS_PER_READ).await?;
            if events.is_empty() {
                return Ok(applied);
            }
            applied += self.feed(&events);
        }
    }

    /// Keeps the projection current with `log` until `shutdown` turns true.
    pub fn spawn(
        &self,
        log: SqliteEventLog,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let tailed = self.clone();
        tokio::spawn(async move {
            loop {
                // A failed read is tried again at the next poll.
                let _ = tailed.catch_up(&log).await;
                tokio::select! {
                    _ = tokio::time::sleep(TAIL_POLL) => {}
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            return;
                        }
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_store::NewEvent;

    #[derive(Default)]
    struct Count(Vec<i64>);

    impl Projected for Count {
        fn apply(&mut self, event: &StoredEvent) {
            self.0.push(event.seq);
        }
    }

    #[tokio::test]
    async fn one_pass_catches_every_projection_up_and_applies_each_event_once() {
        let dir = tempfile::tempdir().unwrap();
        let log = SqliteEventLog::open(dir.path().join("events.db"))
            .await
            .unwrap();
        let rows: Vec<NewEvent> = (0..12)
            .map(|i| NewEvent {
                at_ms: i,
                kind: "test.event".into(),
                contact_id: None,
                agent: None,
                queue: None,
                data: serde_json::json!({}),
            })
            .collect();
        log.append(&rows).await.unwrap();
        let ahead = Tailed::<Count>::default();
        let behind = Tailed::<Count>::default();
        // One projection has seen the first five already.
        let first = log.read_from(0, 5).await.unwrap();
        assert_eq!(ahead.feed(&first), 5);
        assert_eq!(catch_up_all(&log, &[&ahead, &behind]).await.unwrap(), 12);
        let all: Vec<i64> = (1..=12).collect();
        assert_eq!(ahead.lock().state.0, all);
        assert_eq!(behind.lock().state.0, all);
        // Nothing new: nothing read, nothing applied twice.
        assert_eq!(catch_up_all(&log, &[&ahead, &behind]).await.unwrap(), 0);
        assert_eq!(behind.catch_up(&log).await.unwrap(), 0);
        assert_eq!(behind.lock().state.0.len(), 12);
    }
}
