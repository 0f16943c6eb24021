//! Group commit: many producers, one task that writes their events in shared transactions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::error::StoreError;
use crate::event::{AppendReceipt, NewEvent, MAX_EVENTS_PER_APPEND};
use crate::log::EventLog;

/// The largest `channel_capacity` of a [`WriterConfig`].
pub const MAX_CHANNEL_CAPACITY: usize = 65_536;

/// The bounds of an [`EventWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// The most requests (single events or batches) waiting for the writer; 1 to
    /// [`MAX_CHANNEL_CAPACITY`]. When they are all taken, `append` waits and `try_append`
    /// answers [`StoreError::Full`].
    pub channel_capacity: usize,
    /// The most events written in one transaction; 1 to
    /// [`MAX_EVENTS_PER_APPEND`](crate::MAX_EVENTS_PER_APPEND). Also the largest batch that
    /// [`EventWriter::append_batch`] accepts.
    pub max_batch_events: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            channel_capacity: 4_096,
            max_batch_events: 1_024,
        }
    }
}

/// What an [`EventWriter`] has done since it was spawned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Events written and acknowledged.
    pub events_written: u64,
    /// Transactions committed.
    pub batches_written: u64,
    /// Transactions that failed; their producers got the error.
    pub batches_failed: u64,
}

/// The batching front of an [`EventLog`] for many concurrent producers (group commit).
///
/// A task spawned by [`EventWriter::spawn`] owns the appends. Producers send their events
/// through a bounded channel; the task takes whatever is waiting (up to
/// [`WriterConfig::max_batch_events`]), writes it in one transaction, and answers each producer
/// with its seq only after the commit, so one disk flush serves every producer of the batch.
///
/// The handle is cheap to clone; every clone feeds the same task. The task ends after
/// [`EventWriter::shutdown`], or when every handle is dropped, once it has written everything
/// that was sent.
///
/// A producer whose `append` future is dropped after sending still has its event written; it
/// just never hears the seq.
#[derive(Debug, Clone)]
pub struct EventWriter {
    requests: mpsc::Sender<Request>,
    /// Never sent on; its sender is dropped when the task ends.
    stopped: watch::Receiver<()>,
    counters: Arc<Counters>,
    max_batch_events: usize,
}

#[derive(Debug)]
enum Request {
    One {
        event: NewEvent,
        ack: oneshot::Sender<Result<i64, StoreError>>,
    },
    Batch {
        events: Vec<NewEvent>,
        ack: oneshot::Sender<Result<AppendReceipt, StoreError>>,
    },
    Shutdown,
}

/// A producer waiting for the commit of the batch that holds its events.
enum Waiting {
    One(oneshot::Sender<Result<i64, StoreError>>),
    Batch(oneshot::Sender<Result<AppendReceipt, StoreError>>, usize),
}

#[derive(Debug, Default)]
struct Counters {
    events_written: AtomicU64,
    batches_written: AtomicU64,
    batches_failed: AtomicU64,
}

impl EventWriter {
    /// Starts the writer task on the current tokio runtime (so this must be called inside
    /// one) and returns the first handle to it.
    pub fn spawn<L>(log: L, config: WriterConfig) -> Result<EventWriter, StoreError>
    where
        L: EventLog + 'static,
    {
        if config.channel_capacity == 0 || config.channel_capacity > MAX_CHANNEL_CAPACITY {
            return Err(StoreError::InvalidConfig(
                "channel_capacity must be 1 to MAX_CHANNEL_CAPACITY",
            ));
        }
        if config.max_batch_events == 0 || config.max_batch_events > MAX_EVENTS_PER_APPEND {
            return Err(StoreError::InvalidConfig(
                "max_batch_events must be 1 to MAX_EVENTS_PER_APPEND",
            ));
        }
        let (requests, receiver) = mpsc::channel(config.channel_capacity);
        let (stopped_sender, stopped) = watch::channel(());
        let counters = Arc::new(Counters::default());
        let task = WriterTask {
            log,
            requests: receiver,
            max_batch_events: config.max_batch_events,
            counters: Arc::clone(&counters),
            _stopped: stopped_sender,
        };
        tokio::spawn(task.run());
        Ok(EventWriter {
            requests,
            stopped,
            counters,
            max_batch_events: config.max_batch_events,
        })
    }

    /// Appends one event, waiting for room in the channel, and returns its seq once the
    /// transaction that holds it has committed.
    ///
    /// An invalid event is refused here, before it can spoil a batch.
    pub async fn append(&self, event: NewEvent) -> Result<i64, StoreError> {
        event
            .validate()
            .map_err(|reason| StoreError::InvalidEvent { index: 0, reason })?;
        let (ack, answer) = oneshot::channel();
        self.requests
            .send(Request::One { event, ack })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Like [`EventWriter::append`], but answers [`StoreError::Full`] at once instead of
    /// waiting when the channel is full. It still waits for the commit.
    pub async fn try_append(&self, event: NewEvent) -> Result<i64, StoreError> {
        event
            .validate()
            .map_err(|reason| StoreError::InvalidEvent { index: 0, reason })?;
        let (ack, answer) = oneshot::channel();
        self.requests
            .try_send(Request::One { event, ack })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => StoreError::Full,
                mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
            })?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Appends several events atomically (all in the same transaction, with contiguous seqs)
    /// and returns their seqs once committed. At most [`WriterConfig::max_batch_events`].
    pub async fn append_batch(&self, events: Vec<NewEvent>) -> Result<AppendReceipt, StoreError> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        if events.len() > self.max_batch_events {
            return Err(StoreError::TooManyEvents {
                count: events.len(),
                max: self.max_batch_events,
            });
        }
        for (index, event) in events.iter().enumerate() {
            event
                .validate()
                .map_err(|reason| StoreError::InvalidEvent { index, reason })?;
        }
        let (ack, answer) = oneshot::channel();
        self.requests
            .send(Request::Batch { events, ack })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops the writer: everything sent before (from any handle) is written and answered,
    /// everything sent after gets [`StoreError::Closed`]. Returns when the task has ended.
    pub async fn shutdown(&self) {
        // If the channel is already closed the task is ending anyway; wait for it below.
        let _ = self.requests.send(Request::Shutdown).await;
        let mut stopped = self.stopped.clone();
        while stopped.changed().await.is_ok() {}
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            events_written: self.counters.events_written.load(Ordering::Relaxed),
            batches_written: self.counters.batches_written.load(Ordering::Relaxed),
            batches_failed: self.counters.batches_failed.load(Ordering::Relaxed),
        }
    }
}

struct WriterTask<L> {
    log: L,
    requests: mpsc::Receiver<Request>,
    max_batch_events: usize,
    counters: Arc<Counters>,
    /// Dropped with the task, which tells `shutdown` that the task has ended.
    _stopped: watch::Sender<()>,
}

impl<L: EventLog> WriterTask<L> {
    async fn run(mut self) {
        let mut events: Vec<NewEvent> = Vec::with_capacity(self.max_batch_events);
        let mut waiting: Vec<Waiting> = Vec::with_capacity(self.max_batch_events);
        // A batch request that did not fit in the previous transaction opens the next one.
        let mut carried: Option<Request> = None;
        loop {
            let first = match carried.take() {
                Some(request) => request,
                None => match self.requests.recv().await {
                    Some(request) => request,
                    // Shut down (or every handle dropped) and everything sent is written.
                    None => break,
                },
            };
            // Let the producers that are already runnable (typically the ones just answered)
            // send before the batch is closed; without this, a commit often starts with the
            // first of them alone and the rest wait a whole commit more.
            tokio::task::yield_now().await;
            let mut next = Some(first);
            while let Some(request) = next.take() {
                match request {
                    Request::Shutdown => {
                        // Refuse new requests but keep receiving the ones already sent.
                        self.requests.close();
                    }
                    Request::One { event, ack } => {
                        events.push(event);
                        waiting.push(Waiting::One(ack));
                    }
                    Request::Batch { events: batch, ack } => {
                        if !events.is_empty() && events.len() + batch.len() > self.max_batch_events
                        {
                            carried = Some(Request::Batch { events: batch, ack });
                            break;
                        }
                        waiting.push(Waiting::Batch(ack, batch.len()));
                        events.extend(batch);
                    }
                }
                if events.len() >= self.max_batch_events {
                    break;
                }
                next = self.requests.try_recv().ok();
            }
            if events.is_empty() {
                continue;
            }
            let result = self.log.append(&events).await;
            self.answer(result, events.len(), &mut waiting);
            events.clear();
        }
    }

    /// Answers every producer of the batch that was just written (or not).
    fn answer(
        &self,
        result: Result<AppendReceipt, StoreError>,
        batch_len: usize,
        waiting: &mut Vec<Waiting>,
    ) {
        let result = result.and_then(|receipt| {
            if receipt.len() == batch_len {
                Ok(receipt)
            } else {
                Err(StoreError::Invariant(format!(
                    "append of {batch_len} events returned the receipt {receipt:?}"
                )))
            }
        });
        match result {
            Ok(receipt) => {
                self.counters
                    .events_written
                    .fetch_add(batch_len as u64, Ordering::Relaxed);
                self.counters
                    .batches_written
                    .fetch_add(1, Ordering::Relaxed);
                let mut seq = receipt.first_seq;
                for producer in waiting.drain(..) {
                    // A producer that stopped waiting does not need its answer.
                    match producer {
                        Waiting::One(ack) => {
                            let _ = ack.send(Ok(seq));
                            seq += 1;
                        }
                        Waiting::Batch(ack, len) => {
                            let last_seq = seq + len as i64 - 1;
                            let _ = ack.send(Ok(AppendReceipt {
                                first_seq: seq,
                                last_seq,
                            }));
                            seq = last_seq + 1;
                        }
                    }
                }
            }
            Err(error) => {
                self.counters.batches_failed.fetch_add(1, Ordering::Relaxed);
                for producer in waiting.drain(..) {
                    match producer {
                        Waiting::One(ack) => {
                            let _ = ack.send(Err(error.clone()));
                        }
                        Waiting::Batch(ack, _) => {
                            let _ = ack.send(Err(error.clone()));
                        }
                    }
                }
            }
        }
    }
}
