use hotline_store::{EventLog, NewEvent, SqliteEventLog};
use std::time::Instant;
#[tokio::main]
async fn main() {
    let batch: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = SqliteEventLog::open(dir.path().join("e.db")).await.unwrap();
    let rounds = 2000u64;
    let all: Vec<Vec<NewEvent>> = (0..rounds).map(|r| (0..batch as u64).map(|j| {
        let i = r * batch as u64 + j;
        NewEvent::new(1_767_225_600_000 + i as i64 * 10, "contact.queued")
            .with_contact((i / 4) as i64).with_agent(format!("agent-{:04}", i % 64))
            .with_queue(["sales","support","billing"][(i % 3) as usize])
            .with_data(serde_json::json!({"caller": "+8613800138000","priority": 2,"skill": "billing","wait_ms": 12345 + i,"trunk": "gw1"}))
    }).collect()).collect();
    let t = Instant::now();
    for events in &all {
        log.append(events).await.unwrap();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "direct batch {batch}: {:.3} ms/commit, {:.0} ev/s",
        s * 1000.0 / rounds as f64,
        (rounds as usize * batch) as f64 / s
    );
}
