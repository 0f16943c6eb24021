//! The store of hotline: the event log (the append-only record of every state change of the
//! contact center, from which metrics, the live wall, CDRs and reports are projected) and the
//! records (customers, interactions, the screen pop, the audit log, API keys), with personal
//! data sealed at rest.
//!
//! The principal types of the records:
//! - [`Records`], customers and their interactions, the [`ScreenPop`] for a caller's
//!   number, the audit log, API keys and idempotency keys, in one SQLite file (`records.db`).
//! - [`Keyring`], the AES-256-GCM keys personal data is sealed with and the blind-index key
//!   its phone numbers are found by ([`crypto`] says how), and that large files such as call
//!   recordings are sealed with in chunks ([`Keyring::seal_stream`], [`SealedWriter`],
//!   [`Keyring::open_stream`]; [`crypto_stream`] gives the format).
//! - [`CustomerFields`] and [`NewInteraction`], what a write takes, each with a named limit on
//!   every field ([`records`]) and a [`FieldError`] naming the field at fault.
//!
//! The principal types of the event log:
//! - [`EventLog`], the trait every database implements (SQLite now, PostgreSQL later):
//!   atomic, durable appends that return contiguous seqs, and bounded reads by seq or by time.
//! - [`SqliteEventLog`], the log in one SQLite file (WAL, `synchronous = FULL`), or in memory
//!   for tests.
//! - [`EventWriter`], the front that many concurrent producers share: it gathers their events
//!   into one transaction per disk flush (group commit) and answers each with its seq after the
//!   commit. Its channel is bounded; [`EventWriter::try_append`] answers [`StoreError::Full`]
//!   instead of waiting.
//! - [`NewEvent`] and [`StoredEvent`], the generic rows, limited by [`MAX_KIND_LEN`],
//!   [`MAX_NAME_LEN`] and [`MAX_DATA_BYTES`].
//! - [`routing_log`], the codec between the routing core's events and rows: metrics are
//!   projected from the rows read back ([`routing_log::decode`] then
//!   `hotline_routing::metrics::Projection`).
//!
//! ```
//! use hotline_store::{EventLog, EventWriter, NewEvent, SqliteEventLog, WriterConfig};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let log = SqliteEventLog::open_in_memory().await?;
//! let writer = EventWriter::spawn(log.clone(), WriterConfig::default())?;
//! let event = NewEvent::new(1_767_225_600_000, "contact.queued")
//!     .with_contact(42)
//!     .with_queue("support")
//!     .with_data(serde_json::json!({ "caller": "+8613800138000" }));
//! let seq = writer.append(event).await?;
//! writer.shutdown().await;
//! let events = log.read_from(0, 100).await?;
//! assert_eq!(events[0].seq, seq);
//! # Ok::<(), hotline_store::StoreError>(())
//! # }).unwrap();
//! ```
//!
//! SQL is spoken here and nowhere else in hotline.

#![warn(missing_docs)]

mod bench;
pub mod callback_records;
pub mod campaign_records;
pub mod crypto;
pub mod crypto_stream;
mod error;
mod event;
pub mod kb_records;
mod log;
pub mod records;
mod records_bench;
mod records_db;
pub mod routing_log;
mod sqlite;
pub mod survey_records;
pub mod testing;
pub mod ticket_records;
mod writer;

pub use bench::{bench_append, bench_append_with, BenchConfig, BenchReport, BENCH_PRODUCERS};
pub use callback_records::{CallbackFilter, CallbackState, CallbackTask, NewCallbackTask};
pub use campaign_records::{
    Campaign, CampaignCounts, CampaignState, NewCampaign, MAX_CAMPAIGNS, MAX_CAMPAIGN_BATCH,
};
pub use crypto::{CryptoError, Keyring};
pub use crypto_stream::{
    stream_key_id, SealedWriter, StreamReport, MAX_STREAM_CHUNKS, STREAM_CHUNK_BYTES,
};
pub use error::StoreError;
pub use event::{
    AppendReceipt, EventRejection, NewEvent, RangeCursor, RangeQuery, StoredEvent, MAX_DATA_BYTES,
    MAX_EVENTS_PER_APPEND, MAX_KIND_LEN, MAX_NAME_LEN, MAX_READ_LIMIT,
};
pub use kb_records::{Article, ArticleFields};
pub use log::EventLog;
pub use records::{
    ApiKey, AuditEntry, Customer, CustomerCard, CustomerFields, CustomerId, FieldError,
    IdempotentAnswer, Interaction, InteractionKind, NewInteraction, Phone, Preferences,
    ResealReport, Role, ScreenPop,
};
pub use records_bench::{bench_screen_pop, PopBenchConfig, PopBenchReport, MAX_BENCH_CUSTOMERS};
pub use records_db::{
    Backend, Delivery, DueDelivery, LoginRefused, Records, User, Webhook, API_KEY_PREFIX,
    CAMPAIGN_STOPPED, LOCKOUT_MS, MAX_ABANDON_MINUTES_READ, MAX_ACTIVE_CALLBACKS_READ,
    MAX_API_KEYS, MAX_AUDIT_READ, MAX_FAILED_LOGINS, MAX_WEBHOOKS, MIN_PASSWORD_CHARS,
    RETENTION_BATCH, SESSION_LIFETIME_MS, SESSION_PREFIX, SLA_CHECK_BATCH,
};
pub use sqlite::{
    SqliteEventLog, APPEND_ONLY_MESSAGE, BUSY_TIMEOUT, MAX_READ_CONNECTIONS, ROWS_PER_INSERT,
    SQLITE_MAX_BOUND_PARAMETERS,
};
pub use survey_records::{CsatGroup, CsatRow, NewSurveyAnswer, SurveyAnswer};
pub use ticket_records::{
    FollowUp, NewTicket, SlaChange, Ticket, TicketChange, TicketFilter, TicketHistoryEntry,
    TicketId, TicketLink,
};
pub use writer::{EventWriter, WriterConfig, WriterStats, MAX_CHANNEL_CAPACITY};
