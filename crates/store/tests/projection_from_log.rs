//! Metrics are projections of the event log: a simulated payday, written to SQLite and read
//! back, gives exactly the metrics the simulator computed live, interval by interval and
//! queue by queue; and every routing event survives the round trip unchanged.

use std::path::Path;

use hotline_routing::metrics::{MetricsConfig, Projection};
use hotline_routing::{QueueId, Time};
use hotline_store::routing_log::{decode, encode};
use hotline_store::{EventLog, SqliteEventLog, MAX_EVENTS_PER_APPEND, MAX_READ_LIMIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_from_the_log_equal_the_live_metrics() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bank-payday-vip.toml");
    let scenario = hotline_config::load_scenario(&path).expect("example scenario");
    let mut events = Vec::new();
    let report = hotline_sim::simulate_with_events(&scenario, 3, &mut |_| {}, &mut |at, e| {
        events.push((at, e.clone()))
    })
    .expect("runs");
    assert!(events.len() > 50_000, "a real day: {} events", events.len());

    let dir = tempfile::tempdir().unwrap();
    let log = SqliteEventLog::open(dir.path().join("events.db"))
        .await
        .unwrap();
    let rows: Vec<_> = events
        .iter()
        .map(|(at, e)| encode(&scenario.routing, *at, e))
        .collect();
    for chunk in rows.chunks(MAX_EVENTS_PER_APPEND) {
        log.append(chunk).await.unwrap();
    }

    let mut projection = Projection::new(
        &scenario.routing,
        MetricsConfig {
            origin: Time::ZERO,
            interval: scenario.interval,
            ..MetricsConfig::default()
        },
    );
    let mut after = 0;
    let mut read = 0;
    loop {
        let page = log.read_from(after, MAX_READ_LIMIT).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            let (at, event) = decode(&scenario.routing, row)
                .unwrap()
                .expect("a routing event");
            assert_eq!(
                (at, &event),
                (events[read].0, &events[read].1),
                "row {}",
                row.seq
            );
            projection.observe(at, &event);
            read += 1;
        }
    }
    assert_eq!(read, events.len());
    projection.finish(report.finished_at);

    let live = &report.metrics;
    assert_eq!(projection.interval_count(), live.interval_count());
    for i in 0..live.interval_count() {
        assert_eq!(projection.center(i), live.center(i), "interval {i}");
        for q in 0..scenario.routing.queues.len() {
            let q = QueueId(q as u32);
            assert_eq!(
                projection.queue(i, q),
                live.queue(i, q),
                "interval {i}, queue {q:?}"
            );
        }
    }
    let total = projection.center_total();
    assert!(total.answered > 5_000 && total.callbacks_requested > 100);
    log.close().await;
}
