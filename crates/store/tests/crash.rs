//! Nothing acknowledged is lost when the process is killed with SIGKILL.
//!
//! The parent test runs this same test binary again as a child, with `CHILD_ENV` naming a
//! database file; in the child, `crash_child` appends through an `EventWriter` from several
//! producers and prints every acknowledged seq, forever. The parent kills it in the middle of
//! that, reopens the file and checks that every acknowledged event is there.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{event, identity, raw_connection, temp_db};
use hotline_store::{EventLog, EventWriter, SqliteEventLog, WriterConfig};

/// Names the database file of the child; absent in a normal test run.
const CHILD_ENV: &str = "HOTLINE_STORE_CRASH_CHILD";
/// Events the child has acknowledged before the parent starts waiting to kill it.
const ACKNOWLEDGED_BEFORE_KILL: usize = 2_000;
/// Further acknowledgements the parent reads before the kill, so that it lands mid-stream.
const READ_BEFORE_KILL: usize = 300;
const CHILD_PRODUCERS: u64 = 8;

/// The child's side: does nothing in a normal test run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let log = SqliteEventLog::open(&path)
        .await
        .expect("child opens the log");
    let writer = EventWriter::spawn(
        log,
        WriterConfig {
            channel_capacity: 64,
            max_batch_events: 64,
        },
    )
    .expect("child spawns the writer");
    let mut producers = tokio::task::JoinSet::new();
    for producer in 0..CHILD_PRODUCERS {
        let writer = writer.clone();
        producers.spawn(async move {
            for i in 0.. {
                let seq = writer.append(event(producer, i)).await.expect("append");
                // Printed only after the acknowledgement: whatever the parent reads was durable.
                println!("ack {seq} {producer} {i}");
            }
        });
    }
    // Never returns: the parent kills this process.
    while producers.join_next().await.is_some() {}
}

/// Kills the child when the test ends, whatever happened.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn acknowledged_events_survive_sigkill() {
    let (_directory, path) = temp_db();
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().expect("test binary"))
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the child"),
    );
    let stdout = child.0.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();

    let mut acknowledged: HashMap<i64, (u64, u64)> = HashMap::new();
    let mut read_acknowledgement = |acknowledged: &mut HashMap<i64, (u64, u64)>| -> bool {
        loop {
            let Some(line) = lines.next() else {
                return false;
            };
            let line = line.expect("read child stdout");
            let fields: Vec<&str> = line.split_whitespace().collect();
            // The test harness prints its own lines too.
            if let ["ack", seq, producer, i] = fields[..] {
                let seq: i64 = seq.parse().expect("seq");
                let who = (producer.parse().expect("producer"), i.parse().expect("i"));
                assert!(acknowledged.insert(seq, who).is_none(), "seq {seq} twice");
                return true;
            }
        }
    };
    while acknowledged.len() < ACKNOWLEDGED_BEFORE_KILL + READ_BEFORE_KILL {
        assert!(
            read_acknowledgement(&mut acknowledged),
            "the child stopped before it was killed"
        );
    }
    // SIGKILL while the producers keep appending.
    child.0.kill().expect("kill the child");
    let status = child.0.wait().expect("wait for the child");
    assert!(!status.success());
    // Acknowledgements that were already in the pipe count too.
    while read_acknowledgement(&mut acknowledged) {}
    let last_acknowledged = *acknowledged.keys().max().expect("acknowledgements");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let log = SqliteEventLog::open(&path)
            .await
            .expect("reopen after the kill");
        let last_seq = log.last_seq().await.unwrap();
        assert!(
            last_seq >= last_acknowledged,
            "last seq {last_seq} < last acknowledged {last_acknowledged}"
        );
        let mut found = 0;
        let mut after_seq = 0;
        loop {
            let page = log.read_from(after_seq, 1_000).await.unwrap();
            let Some(last) = page.last() else { break };
            after_seq = last.seq;
            for stored in page {
                // No holes: a transaction that did not commit left no seq behind.
                assert_eq!(stored.seq, found + 1);
                found += 1;
                if let Some(who) = acknowledged.get(&stored.seq) {
                    assert_eq!(identity(&stored.data), *who, "seq {}", stored.seq);
                }
            }
        }
        assert_eq!(found, last_seq);
        assert!(acknowledged.keys().all(|&seq| seq <= found));

        let mut connection = raw_connection(&path).await;
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(integrity, "ok");
        eprintln!(
            "{} events acknowledged before SIGKILL, {} in the log after reopening",
            acknowledged.len(),
            found
        );
    });
}
