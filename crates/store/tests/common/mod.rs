//! Helpers shared by the integration tests: real SQLite files in temporary directories.

#![allow(dead_code)] // Each test binary uses its own subset.

use std::path::{Path, PathBuf};

use hotline_store::{NewEvent, SqliteEventLog};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::ConnectOptions;
use tempfile::TempDir;

/// The unix time, in milliseconds, at which the test events start.
pub const T0_MS: i64 = 1_767_225_600_000;

/// A realistic event, different for every `(producer, i)`, that says which it is in its data.
pub fn event(producer: u64, i: u64) -> NewEvent {
    const QUEUES: [&str; 3] = ["sales", "support", "billing"];
    NewEvent::new(T0_MS + i as i64 * 1_000, "contact.queued")
        .with_contact((i * 64 + producer) as i64)
        .with_agent(format!("agent-{producer:04}"))
        .with_queue(QUEUES[(i % 3) as usize])
        .with_data(json!({ "producer": producer, "i": i, "caller": "+8613800138000" }))
}

/// The `(producer, i)` that [`event`] wrote into an event's data.
pub fn identity(data: &serde_json::Value) -> (u64, u64) {
    (
        data["producer"].as_u64().expect("producer in data"),
        data["i"].as_u64().expect("i in data"),
    )
}

/// A temporary directory and the path of a database file that does not exist yet, one
/// directory deeper so that opening also creates a directory.
pub fn temp_db() -> (TempDir, PathBuf) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("data").join("events.db");
    (directory, path)
}

/// A new log in a temporary directory.
pub async fn open_temp() -> (TempDir, PathBuf, SqliteEventLog) {
    let (directory, path) = temp_db();
    let log = SqliteEventLog::open(&path).await.expect("open the log");
    (directory, path, log)
}

/// A plain connection to the same file, outside the store, to look at it or tamper with it.
pub async fn raw_connection(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .expect("raw connection")
}

/// The number of rows in the events table, counted outside the store.
pub async fn count_rows(path: &Path) -> i64 {
    let mut connection = raw_connection(path).await;
    sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&mut connection)
        .await
        .expect("count rows")
}
