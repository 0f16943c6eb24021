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

impl<P: Projected> Tailed<P> {
    /// Reads the log's events after the last applied one, [`EVENTS_PER_READ`] at a time,
    /// until none is left; answers how many were applied. Concurrent calls apply each event
    /// once (an event at or before the last applied seq is skipped).
    pub async fn catch_up(&self, log: &SqliteEventLog) -> Result<u64, StoreError> {
        let mut applied = 0;
        loop {
            let after = self.last_seq();
            let events = log.read_from(after, EVENTS_PER_READ).await?;
            if events.is_empty() {
                return Ok(applied);
            }
            let mut fed = self.lock();
            for event in &events {
                if event.seq > fed.last_seq {
                    fed.state.apply(event);
                    fed.last_seq = event.seq;
                    applied += 1;
                }
            }
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
