//! A benchmark of durable appends through the [`EventWriter`], run by
//! `cargo run --release -p hotline-store --example bench_append`.

use std::path::Path;
use std::time::Instant;

use serde_json::json;

use crate::error::StoreError;
use crate::event::NewEvent;
use crate::log::EventLog;
use crate::sqlite::SqliteEventLog;
use crate::writer::{EventWriter, WriterConfig};

/// The concurrent producers of [`bench_append`].
pub const BENCH_PRODUCERS: usize = 64;

/// What a benchmark run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchConfig {
    /// Events appended in all.
    pub total_events: u64,
    /// Concurrent producer tasks; each appends one event at a time and waits for its seq, like
    /// a call flow does. So at most this many events wait for one commit.
    pub producers: usize,
    /// [`WriterConfig::max_batch_events`]: the most events in one transaction.
    pub max_batch_events: usize,
}

/// What a benchmark run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchReport {
    /// Events appended and acknowledged.
    pub events: u64,
    /// Seconds from the first append to the last acknowledgement.
    pub seconds: f64,
    /// `events / seconds`.
    pub events_per_second: f64,
    /// Transactions committed (each one flushed to disk).
    pub commits: u64,
}

/// Appends `total_events` realistic events to a new log at `path` (which should not exist yet)
/// from [`BENCH_PRODUCERS`] concurrent producers through an [`EventWriter`] with
/// `max_batch_events = batch_size`, durable on commit, and reports the rate.
pub async fn bench_append(
    path: impl AsRef<Path>,
    total_events: u64,
    batch_size: usize,
) -> Result<BenchReport, StoreError> {
    bench_append_with(
        path,
        BenchConfig {
            total_events,
            producers: BENCH_PRODUCERS,
            max_batch_events: batch_size,
        },
    )
    .await
}

/// [`bench_append`] with every knob.
pub async fn bench_append_with(
    path: impl AsRef<Path>,
    config: BenchConfig,
) -> Result<BenchReport, StoreError> {
    if config.producers == 0 {
        return Err(StoreError::InvalidConfig("producers must be at least 1"));
    }
    let log = SqliteEventLog::open(path).await?;
    let writer = EventWriter::spawn(
        log.clone(),
        WriterConfig {
            channel_capacity: config.producers.max(config.max_batch_events),
            max_batch_events: config.max_batch_events,
        },
    )?;
    let producers = config.producers as u64;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for producer in 0..producers {
        // Spread the remainder over the first producers.
        let count =
            config.total_events / producers + u64::from(producer < config.total_events % producers);
        let writer = writer.clone();
        tasks.spawn(async move {
            for i in 0..count {
                writer.append(sample_event(producer, i)).await?;
            }
            Ok::<u64, StoreError>(count)
        });
    }
    let mut events = 0;
    while let Some(joined) = tasks.join_next().await {
        events += joined
            .map_err(|error| StoreError::Invariant(format!("bench producer died: {error}")))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    writer.shutdown().await;
    let stats = writer.stats();
    let stored = log.last_seq().await?;
    log.close().await;
    if stored != events as i64 || stats.events_written != events {
        return Err(StoreError::Invariant(format!(
            "bench acknowledged {events} events, the writer counted {} and the log holds {stored}",
            stats.events_written
        )));
    }
    Ok(BenchReport {
        events,
        seconds,
        events_per_second: events as f64 / seconds,
        commits: stats.batches_written,
    })
}

/// A plausible event of a call's life: about 80 bytes of data.
fn sample_event(producer: u64, i: u64) -> NewEvent {
    const KINDS: [&str; 4] = [
        "contact.queued",
        "contact.offered",
        "contact.answered",
        "contact.ended",
    ];
    const QUEUES: [&str; 3] = ["sales", "support", "billing"];
    // Contact ids are handed out in arrival order, so the calls in progress at one time have
    // neighbouring ids (ids a million apart would scatter every commit over the index).
    let contact_id = ((i / 4) * 1_000 + producer) as i64;
    NewEvent::new(
        1_767_225_600_000 + (i * 250) as i64,
        KINDS[(i % 4) as usize],
    )
    .with_contact(contact_id)
    .with_agent(format!("agent-{:04}", producer))
    .with_queue(QUEUES[(producer % 3) as usize])
    .with_data(json!({
        "caller": "+8613800138000",
        "priority": 2,
        "skill": "billing",
        "wait_ms": 12_345 + i,
        "trunk": "gw1",
    }))
}
