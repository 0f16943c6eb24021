//! Measures durable appends through the `EventWriter` on this machine.
//!
//! `cargo run --release -p hotline-store --example bench_append [-- TOTAL_EVENTS [BATCH_SIZE [PRODUCERS]]]`
//!
//! Writes a fresh database in a temporary directory (on the same disk as the system's temp
//! directory), so the figure includes a real flush per commit.

use hotline_store::{bench_append_with, BenchConfig, BENCH_PRODUCERS};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total_events: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let batch_size: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_024);
    let producers: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(BENCH_PRODUCERS);
    let directory = tempfile::tempdir()?;
    let config = BenchConfig {
        total_events,
        producers,
        max_batch_events: batch_size,
    };
    let report = bench_append_with(directory.path().join("events.db"), config).await?;
    println!(
        "{} events from {} producers, max_batch_events {}: {:.3} s, {:.0} events/s durable, \
         {} commits ({:.1} events per commit)",
        report.events,
        producers,
        batch_size,
        report.seconds,
        report.events_per_second,
        report.commits,
        report.events as f64 / report.commits as f64,
    );
    Ok(())
}
