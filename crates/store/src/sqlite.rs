//! The event log on SQLite: one file, WAL mode, durable on commit.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, QueryBuilder, Row, Sqlite};
use tokio::sync::Mutex;

use crate::error::StoreError;
use crate::event::{
    AppendReceipt, NewEvent, RangeQuery, StoredEvent, MAX_EVENTS_PER_APPEND, MAX_READ_LIMIT,
};
use crate::log::EventLog;

/// How long a connection waits for another one's lock (another process on the same file,
/// a checkpoint) before the operation fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The most connections that read at the same time. Writes go through one connection of their
/// own.
pub const MAX_READ_CONNECTIONS: u32 = 4;

/// The largest number of bound parameters in one statement (`SQLITE_MAX_VARIABLE_NUMBER` of
/// SQLite 3.32 and later; the bundled SQLite is newer).
pub const SQLITE_MAX_BOUND_PARAMETERS: usize = 32_766;

/// The columns an insert binds per event.
const PARAMETERS_PER_EVENT: usize = 6;

/// The most rows one INSERT statement carries. An append of up to this many events is a single
/// statement, and so a single round trip to the connection's thread; a larger one is split into
/// statements of this many rows inside one transaction.
pub const ROWS_PER_INSERT: usize = 1_024;

const _: () = assert!(ROWS_PER_INSERT * PARAMETERS_PER_EVENT <= SQLITE_MAX_BOUND_PARAMETERS);

/// The largest INSERT that the write connection keeps compiled. Each append size is its own SQL
/// text; group commit makes small sizes frequent, and keeping them all costs at most a few
/// megabytes (about 800 bytes per row of a compiled statement). Larger statements, up to most
/// of a megabyte each, are compiled for each use, which costs about 0.3 µs per row, a fraction
/// of the insert itself.
const CACHED_INSERT_ROWS_MAX: usize = 128;

/// The prepared statements the write connection keeps: one INSERT per size up to
/// [`CACHED_INSERT_ROWS_MAX`], and a few reads for an in-memory database.
const WRITE_STATEMENT_CACHE_CAPACITY: usize = CACHED_INSERT_ROWS_MAX + 16;

/// The error message of the append-only triggers.
pub const APPEND_ONLY_MESSAGE: &str = "events are append-only";

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/events");

const SELECT_COLUMNS: &str = "SELECT seq, at_ms, kind, contact_id, agent, queue, data FROM events";

/// The [`EventLog`] on SQLite.
///
/// One database file in WAL mode with `synchronous = FULL`, so an append is on disk when it
/// returns. Appends go through one dedicated write connection held outside any pool: SQLite
/// has one writer at a time anyway, and taking a connection from a pool and giving it back
/// costs more than a small append (about 150 µs against 5 µs per statement on a 2-core VM).
/// Reads use a small pool of their own and never wait for a write. Cloning is cheap and shares
/// the connections.
#[derive(Debug, Clone)]
pub struct SqliteEventLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    writer: Mutex<WriteConnection>,
    /// `None` for an in-memory database, which exists only inside the write connection.
    read_pool: Option<SqlitePool>,
}

#[derive(Debug)]
struct WriteConnection {
    /// `None` after [`SqliteEventLog::close`], or after the connection broke.
    connection: Option<SqliteConnection>,
    /// How to open a fresh connection after the last one broke; `None` for an in-memory
    /// database, which a new connection would find empty.
    reconnect: Option<SqliteConnectOptions>,
}

/// Creates the directory a database file goes in.
pub(crate) fn create_parent(path: &Path) -> Result<(), StoreError> {
    if let Some(directory) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // A blocking call, but a short one that happens once at start-up.
        std::fs::create_dir_all(directory).map_err(|source| StoreError::CreateDir {
            path: directory.to_path_buf(),
            source: Arc::new(source),
        })?;
    }
    Ok(())
}

/// The connection options of a database file, for reads and for the one writer, after
/// creating the file's directory. Durable on commit (`synchronous = FULL`), foreign keys on.
pub(crate) fn file_options(
    path: &Path,
) -> Result<(SqliteConnectOptions, SqliteConnectOptions), StoreError> {
    create_parent(path)?;
    let options = SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Full);
    // Only the write connection sets the journal mode: WAL is a property of the file, and
    // switching to it takes a lock that the busy timeout does not wait for.
    let write_options = options
        .clone()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    Ok((options, write_options))
}

impl SqliteEventLog {
    /// Opens the database file at `path`, creating it and its directory if needed, and brings
    /// its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let (options, write_options) = file_options(path.as_ref())?;
        let write_options = write_options.statement_cache_capacity(WRITE_STATEMENT_CACHE_CAPACITY);
        let mut connection = write_options.connect().await?;
        MIGRATOR.run(&mut connection).await?;
        let read_pool = SqlitePoolOptions::new()
            .max_connections(MAX_READ_CONNECTIONS)
            .connect_with(options)
            .await?;
        Ok(SqliteEventLog {
            inner: Arc::new(Inner {
                writer: Mutex::new(WriteConnection {
                    connection: Some(connection),
                    reconnect: Some(write_options),
                }),
                read_pool: Some(read_pool),
            }),
        })
    }

    /// Opens a new, empty database that lives in memory, for tests: it is gone when the log and
    /// its clones are dropped. Reads and writes share its single connection.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        // Every connection to `:memory:` is a database of its own, hence the single connection.
        let mut connection = SqliteConnectOptions::from_str("sqlite::memory:")?
            .foreign_keys(true)
            .statement_cache_capacity(WRITE_STATEMENT_CACHE_CAPACITY)
            .connect()
            .await?;
        MIGRATOR.run(&mut connection).await?;
        Ok(SqliteEventLog {
            inner: Arc::new(Inner {
                writer: Mutex::new(WriteConnection {
                    connection: Some(connection),
                    reconnect: None,
                }),
                read_pool: None,
            }),
        })
    }

    /// Closes every connection, waiting for the ones in use; later calls answer
    /// [`StoreError::Closed`].
    pub async fn close(&self) {
        let connection = self.inner.writer.lock().await.take_for_close();
        if let Some(connection) = connection {
            // Closing checkpoints the WAL into the database file; an error here loses nothing,
            // the next open recovers from the WAL.
            let _ = connection.close().await;
        }
        if let Some(read_pool) = &self.inner.read_pool {
            read_pool.close().await;
        }
    }

    /// The largest contact id in the log (0 for none). A switch that starts on this log
    /// numbers its contacts after it, so that an id names one contact for the log's life.
    pub async fn max_contact_id(&self) -> Result<i64, StoreError> {
        let rows = self
            .fetch_all(sqlx::query(
                "SELECT COALESCE(MAX(contact_id), 0) AS max_id FROM events",
            ))
            .await?;
        Ok(rows.first().map_or(0, |row| row.get::<i64, _>("max_id")))
    }

    /// Runs a read on the read pool, or on the write connection of an in-memory database.
    async fn fetch_all<'q>(
        &self,
        query: Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> Result<Vec<SqliteRow>, StoreError> {
        match &self.inner.read_pool {
            Some(read_pool) => {
                if read_pool.is_closed() {
                    return Err(StoreError::Closed);
                }
                Ok(query.fetch_all(read_pool).await?)
            }
            None => {
                let mut writer = self.inner.writer.lock().await;
                let connection = writer.connection().await?;
                Ok(query.fetch_all(connection).await?)
            }
        }
    }
}

impl WriteConnection {
    /// The open connection, reopened first if the last one broke.
    async fn connection(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        if self.connection.is_none() {
            let Some(options) = &self.reconnect else {
                return Err(StoreError::Closed);
            };
            self.connection = Some(options.connect().await?);
        }
        self.connection.as_mut().ok_or(StoreError::Closed)
    }

    /// Forgets the connection after an error that means it can no longer be used, so that the
    /// next call opens a fresh one.
    fn forget_if_broken(&mut self, error: &StoreError) {
        if let StoreError::Database(error) = error {
            if matches!(**error, sqlx::Error::WorkerCrashed | sqlx::Error::Io(_)) {
                self.connection = None;
            }
        }
    }

    fn take_for_close(&mut self) -> Option<SqliteConnection> {
        self.reconnect = None;
        self.connection.take()
    }
}

impl EventLog for SqliteEventLog {
    async fn append(&self, events: &[NewEvent]) -> Result<AppendReceipt, StoreError> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        if events.len() > MAX_EVENTS_PER_APPEND {
            return Err(StoreError::TooManyEvents {
                count: events.len(),
                max: MAX_EVENTS_PER_APPEND,
            });
        }
        let mut encoded_data = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            event
                .validate()
                .map_err(|reason| StoreError::InvalidEvent { index, reason })?;
            // Encoding a `Value` into a `String` cannot fail: its map keys are strings.
            let data = serde_json::to_string(&event.data)
                .map_err(|error| StoreError::Invariant(format!("encode event data: {error}")))?;
            encoded_data.push(data);
        }
        let mut writer = self.inner.writer.lock().await;
        let connection = writer.connection().await?;
        let result = insert_events(connection, events, &encoded_data).await;
        if let Err(error) = &result {
            writer.forget_if_broken(error);
        }
        result
    }

    async fn read_from(&self, after_seq: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        check_limit(limit)?;
        let query = sqlx::query(
            "SELECT seq, at_ms, kind, contact_id, agent, queue, data FROM events \
             WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after_seq)
        .bind(i64::from(limit));
        let rows = self.fetch_all(query).await?;
        rows.iter().map(decode_row).collect()
    }

    async fn read_range(&self, query: &RangeQuery) -> Result<Vec<StoredEvent>, StoreError> {
        check_limit(query.limit)?;
        let mut select = QueryBuilder::<Sqlite>::new(SELECT_COLUMNS);
        select
            .push(" WHERE at_ms >= ")
            .push_bind(query.at_ms.start)
            .push(" AND at_ms < ")
            .push_bind(query.at_ms.end);
        if let Some(queue) = &query.queue {
            select.push(" AND queue = ").push_bind(queue.as_str());
        }
        if let Some(cursor) = query.after {
            // A row-value comparison, which SQLite answers from the (…, at_ms, seq) index.
            select
                .push(" AND (at_ms, seq) > (")
                .push_bind(cursor.at_ms)
                .push(", ")
                .push_bind(cursor.seq)
                .push(")");
        }
        select
            .push(" ORDER BY at_ms, seq LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows = self.fetch_all(select.build()).await?;
        rows.iter().map(decode_row).collect()
    }

    async fn last_seq(&self) -> Result<i64, StoreError> {
        let query = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM events");
        let rows = self.fetch_all(query).await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Invariant("MAX(seq) returned no row".into()))?;
        Ok(row.try_get("seq")?)
    }
}

/// Writes `events` (already checked) atomically.
async fn insert_events(
    connection: &mut SqliteConnection,
    events: &[NewEvent],
    encoded_data: &[String],
) -> Result<AppendReceipt, StoreError> {
    if events.len() <= ROWS_PER_INSERT {
        // One statement is its own transaction: atomic, and durable when it returns. This saves
        // the BEGIN and COMMIT round trips to the connection's thread, which cost more than the
        // insert itself when the machine is busy.
        return insert_chunk(connection, "INSERT", events, encoded_data, None).await;
    }
    // IMMEDIATE takes the write lock now, so the transaction cannot fail half-way for a lock
    // held by another process.
    let mut transaction = connection.begin_with("BEGIN IMMEDIATE").await?;
    let mut receipt: Option<AppendReceipt> = None;
    for (chunk_events, chunk_data) in events
        .chunks(ROWS_PER_INSERT)
        .zip(encoded_data.chunks(ROWS_PER_INSERT))
    {
        // OR FAIL instead of the default ABORT: inside a transaction, an ABORT must undo a
        // half-done statement, so SQLite first copies every page that a multi-row statement
        // touches into a statement journal. Here any failure rolls back the whole transaction,
        // so that copy would be wasted work.
        let previous = receipt.map(|receipt| receipt.last_seq);
        let chunk = insert_chunk(
            &mut transaction,
            "INSERT OR FAIL",
            chunk_events,
            chunk_data,
            previous,
        )
        .await?;
        receipt = Some(match receipt {
            Some(receipt) => AppendReceipt {
                first_seq: receipt.first_seq,
                last_seq: chunk.last_seq,
            },
            None => chunk,
        });
    }
    transaction.commit().await?;
    receipt.ok_or_else(|| StoreError::Invariant("append wrote no statement".into()))
}

/// Inserts the rows of one statement and returns their seqs.
async fn insert_chunk(
    connection: &mut SqliteConnection,
    insert_verb: &'static str,
    events: &[NewEvent],
    encoded_data: &[String],
    previous_last_seq: Option<i64>,
) -> Result<AppendReceipt, StoreError> {
    let mut insert = QueryBuilder::<Sqlite>::new(insert_verb);
    insert.push(" INTO events (at_ms, kind, contact_id, agent, queue, data) ");
    insert.push_values(events.iter().zip(encoded_data), |mut row, (event, data)| {
        row.push_bind(event.at_ms)
            .push_bind(event.kind.as_str())
            .push_bind(event.contact_id)
            .push_bind(event.agent.as_deref())
            .push_bind(event.queue.as_deref())
            .push_bind(data.as_str());
    });
    let result = insert
        .build()
        .persistent(events.len() <= CACHED_INSERT_ROWS_MAX)
        .execute(connection)
        .await?;
    let rows = events.len();
    let last_seq = result.last_insert_rowid();
    let first_seq = last_seq - rows as i64 + 1;
    // The statement holds the only write lock and AUTOINCREMENT numbers its rows one after
    // another, continuing the previous statement of the same transaction.
    if result.rows_affected() != rows as u64
        || first_seq < 1
        || previous_last_seq.is_some_and(|previous| first_seq != previous + 1)
    {
        return Err(StoreError::Invariant(format!(
            "insert of {rows} rows after seq {previous_last_seq:?} reported {} rows ending at \
             seq {last_seq}",
            result.rows_affected()
        )));
    }
    Ok(AppendReceipt {
        first_seq,
        last_seq,
    })
}

fn check_limit(limit: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_READ_LIMIT {
        return Err(StoreError::InvalidLimit {
            limit,
            max: MAX_READ_LIMIT,
        });
    }
    Ok(())
}

fn decode_row(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let data: &str = row.try_get("data")?;
    let data = serde_json::from_str(data).map_err(|error| StoreError::Corrupt {
        seq,
        reason: format!("data is not JSON: {error}"),
    })?;
    Ok(StoredEvent {
        seq,
        at_ms: row.try_get("at_ms")?,
        kind: row.try_get("kind")?,
        contact_id: row.try_get("contact_id")?,
        agent: row.try_get("agent")?,
        queue: row.try_get("queue")?,
        data,
    })
}
