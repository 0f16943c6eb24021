//! The records on SQLite (the embedded default: `records.db` beside the event log, WAL mode,
//! durable on commit) or on PostgreSQL (several hotline nodes sharing one database). The same
//! statements run on both, through sqlx's `Any` driver: numbered placeholders (`$1`), integer
//! columns for flags, `RETURNING` for new ids, and `ON CONFLICT` instead of `OR IGNORE`.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use hotline_phone::PhoneNumber;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row};

use crate::crypto::Keyring;
use crate::error::StoreError;
use crate::records::{
    ApiKey, AuditEntry, Customer, CustomerCard, CustomerFields, CustomerId, FieldError,
    IdempotentAnswer, Interaction, InteractionKind, NewInteraction, Phone, Preferences,
    ResealReport, Role, ScreenPop, MAX_CUSTOMERS_PAGE, MAX_INTERACTIONS_READ, POP_MAX_MATCHES,
    POP_RECENT_INTERACTIONS,
};
use crate::sqlite::{BUSY_TIMEOUT, MAX_READ_CONNECTIONS};

pub(crate) mod builder;
mod callbacks;
mod campaigns;
mod kb;
mod surveys;
mod tickets;
mod users;
mod webhooks;

use builder::Sql;

pub use callbacks::MAX_ACTIVE_CALLBACKS_READ;
pub use campaigns::{CAMPAIGN_STOPPED, MAX_ABANDON_MINUTES_READ};
pub use tickets::SLA_CHECK_BATCH;
pub use users::{
    LoginRefused, User, LOCKOUT_MS, MAX_FAILED_LOGINS, MIN_PASSWORD_CHARS, SESSION_LIFETIME_MS,
    SESSION_PREFIX,
};
pub use webhooks::{Delivery, DueDelivery, Webhook, MAX_WEBHOOKS};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/records");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/records_pg");

/// The sealed fields' names, bound into their ciphertexts.
pub(crate) const NAME_FIELD: &str = "customer.name";
pub(crate) const PHONE_FIELD: &str = "customer.phone";
pub(crate) const SUMMARY_FIELD: &str = "interaction.summary";
/// The blind index's field name for phone numbers.
pub(crate) const PHONE_INDEX: &str = "phone";

/// The length of an API key's secret, in random bytes (base64url: 43 characters).
const API_KEY_SECRET_BYTES: usize = 32;
/// What every secret starts with, so that a leaked one is recognisable.
pub const API_KEY_PREFIX: &str = "hl_";
/// The characters of a secret kept in the clear to tell keys apart.
const API_KEY_SHOWN_CHARS: usize = 8;
/// The most API keys (revoked ones included).
pub const MAX_API_KEYS: i64 = 10_000;
/// The longest API key name.
pub const MAX_API_KEY_NAME_CHARS: usize = 64;
/// The longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// The rows one re-seal transaction changes.
const RESEAL_BATCH: i64 = 1_000;
/// Interactions redacted per transaction by retention.
pub const RETENTION_BATCH: i64 = 5_000;
/// The writer connection's page cache, in KiB (SQLite).
pub const WRITER_CACHE_KIB: u32 = 64 * 1024;
/// The most audit rows one read returns.
pub const MAX_AUDIT_READ: u32 = 1_000;
/// The connections one process opens to PostgreSQL.
pub const MAX_POSTGRES_CONNECTIONS: u32 = 16;
/// How long a request waits for a free PostgreSQL connection before it fails.
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// The advisory lock every PostgreSQL write transaction takes first (see [`Records`]).
const POSTGRES_WRITE_LOCK: i64 = 0x0068_6f74_6c69_6e65; // "hotline" in ASCII

/// Which database the records live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file (or memory, for tests): the embedded default.
    Sqlite,
    /// A PostgreSQL server, shared by every node.
    Postgres,
}

/// The customers, interactions, tickets, knowledge base, users and other records, on SQLite or
/// PostgreSQL ([`Backend`]).
///
/// Every write is one transaction that holds the only write lock from its first statement:
/// `BEGIN IMMEDIATE` on SQLite (which has one writer anyway); on PostgreSQL one transaction-
/// scoped advisory lock taken right after `BEGIN`, shared by every node. So a read-then-write
/// (an If-Match check, an idempotency key, a count against a limit) sees no other write between
/// its two halves on either database, and no write fails half-way for a conflict. Reads never
/// take the lock. Cloning is cheap and shares the connections and the keyring.
#[derive(Debug, Clone)]
pub struct Records {
    write: AnyPool,
    read: AnyPool,
    keyring: Arc<Keyring>,
    backend: Backend,
}

const CUSTOMER_COLUMNS: &str = "id, external_id, name_sealed, level, value_score, tags, \
                                preferences, consent, do_not_call, created_ms, updated_ms, version";
const INTERACTION_COLUMNS: &str = "id, customer_id, at_ms, kind, channel, agent, queue, \
                                   contact_id, event_seq, disposition, duration_ms, \
                                   summary_sealed, redacted";

/// Registers sqlx's SQLite and PostgreSQL drivers with its `Any` driver, once per process.
pub(crate) fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

/// A path as an SQLite URL (`?`, `#` and `%` escaped), with its query parameters.
fn sqlite_url(path: &Path, params: &str) -> String {
    let mut url = String::from("sqlite://");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => url.push_str("%25"),
            '?' => url.push_str("%3F"),
            '#' => url.push_str("%23"),
            c => url.push(c),
        }
    }
    url.push('?');
    url.push_str(params);
    url
}

/// The settings every SQLite connection starts with: durable on commit, foreign keys on, and
/// a busy timeout (a reader may meet a checkpoint).
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;";

impl Records {
    /// Opens (creating if needed) the records database at `path` (SQLite) with `keyring` for
    /// personal data, and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>, keyring: Keyring) -> Result<Self, StoreError> {
        install_drivers();
        let path = path.as_ref();
        crate::sqlite::create_parent(path)?;
        let busy = format!("PRAGMA busy_timeout = {};", BUSY_TIMEOUT.as_millis());
        let write_setup = format!(
            "{SQLITE_PRAGMAS} {busy} PRAGMA journal_mode = WAL; PRAGMA cache_size = -{WRITER_CACHE_KIB};"
        );
        // A bigger page cache for the one writer: bulk imports and the blind index's random
        // inserts touch pages all over a large file (SQLite's default is 2 MiB). Only the
        // writer sets the journal mode: WAL is a property of the file.
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(move |connection, _| {
                let setup = write_setup.clone();
                Box::pin(async move {
                    connection.execute(setup.as_str()).await?;
                    Ok(())
                })
            })
            .connect(&sqlite_url(path, "mode=rwc"))
            .await?;
        SQLITE_MIGRATOR.run(&write).await?;
        let read_setup = format!("{SQLITE_PRAGMAS} {busy}");
        let read = AnyPoolOptions::new()
            .max_connections(MAX_READ_CONNECTIONS)
            .after_connect(move |connection, _| {
                let setup = read_setup.clone();
                Box::pin(async move {
                    connection.execute(setup.as_str()).await?;
                    Ok(())
                })
            })
            .connect(&sqlite_url(path, "mode=ro"))
            .await?;
        Ok(Records {
            write,
            read,
            keyring: Arc::new(keyring),
            backend: Backend::Sqlite,
        })
    }

    /// A new, empty SQLite database in memory, for tests.
    pub async fn open_in_memory(keyring: Keyring) -> Result<Self, StoreError> {
        install_drivers();
        // One connection: every connection to `:memory:` is a database of its own.
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    connection.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            })
            .connect("sqlite::memory:")
            .await?;
        SQLITE_MIGRATOR.run(&pool).await?;
        Ok(Records {
            write: pool.clone(),
            read: pool,
            keyring: Arc::new(keyring),
            backend: Backend::Sqlite,
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db`, with
    /// sqlx's parameters such as `sslmode`) and brings its schema up to date.
    pub async fn connect_postgres(url: &str, keyring: Keyring) -> Result<Self, StoreError> {
        install_drivers();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::InvalidConfig(
                "a PostgreSQL URL starts with postgres:// or postgresql://",
            ));
        }
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_POSTGRES_CONNECTIONS)
            .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        POSTGRES_MIGRATOR.run(&pool).await?;
        Ok(Records {
            write: pool.clone(),
            read: pool,
            keyring: Arc::new(keyring),
            backend: Backend::Postgres,
        })
    }

    /// Opens `location`: a `postgres://` URL, or else an SQLite file path (`sqlite://` may
    /// stand before it).
    pub async fn open_location(location: &str, keyring: Keyring) -> Result<Self, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Self::connect_postgres(location, keyring).await
        } else {
            let path = location.strip_prefix("sqlite://").unwrap_or(location);
            Self::open(path, keyring).await
        }
    }

    /// Which database these records are in.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool writes go through (the benchmark's bulk loader).
    pub(crate) fn write_pool(&self) -> &AnyPool {
        &self.write
    }

    /// The keyring personal data is sealed with.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Starts a write transaction holding the write lock (see [`Records`]).
    async fn begin(&self) -> Result<sqlx::Transaction<'static, Any>, StoreError> {
        match self.backend {
            // IMMEDIATE takes the write lock now, so the transaction cannot fail half-way for
            // a lock.
            Backend::Sqlite => Ok(self.write.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.write.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(POSTGRES_WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    // ---- customers ----

    /// Creates a customer; `actor` is written to the audit log.
    pub async fn create_customer(
        &self,
        fields: &CustomerFields,
        now_ms: i64,
        actor: &str,
    ) -> Result<Customer, StoreError> {
        fields.validate()?;
        let mut tx = self.begin().await?;
        let id = self.insert_customer(&mut tx, fields, now_ms).await?;
        audit(&mut tx, now_ms, actor, "customer.create", &subject(id), "").await?;
        let customer = read_customer(&mut tx, &self.keyring, id)
            .await?
            .ok_or_else(|| StoreError::Invariant("a created customer is gone".into()))?;
        tx.commit().await?;
        Ok(customer)
    }

    async fn insert_customer(
        &self,
        tx: &mut AnyConnection,
        fields: &CustomerFields,
        now_ms: i64,
    ) -> Result<CustomerId, StoreError> {
        let name = seal_opt(&self.keyring, NAME_FIELD, fields.name.as_deref())?;
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO customers (external_id, name_sealed, level, value_score, tags, \
             preferences, consent, do_not_call, created_ms, updated_ms, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1) RETURNING id",
        )
        .bind(fields.external_id.as_deref())
        .bind(name)
        .bind(&fields.level)
        .bind(i64::from(fields.value_score))
        .bind(to_json(&fields.tags)?)
        .bind(to_json(&fields.preferences)?)
        .bind(i64::from(fields.consent))
        .bind(i64::from(fields.do_not_call))
        .bind(now_ms)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict_on_external_id(e, fields))?;
        let id = CustomerId(result);
        self.insert_phones(tx, id, &fields.phones).await?;
        Ok(id)
    }

    async fn insert_phones(
        &self,
        tx: &mut AnyConnection,
        id: CustomerId,
        phones: &[Phone],
    ) -> Result<(), StoreError> {
        self.insert_phone_rows(tx, &[(id, phones)]).await
    }

    /// Replaces a customer's fields. With `expected_version`, refuses with
    /// [`StoreError::Conflict`] when the customer changed since that version was read.
    pub async fn update_customer(
        &self,
        id: CustomerId,
        fields: &CustomerFields,
        expected_version: Option<i64>,
        now_ms: i64,
        actor: &str,
    ) -> Result<Customer, StoreError> {
        fields.validate()?;
        let mut tx = self.begin().await?;
        self.update_in(&mut tx, id, fields, expected_version, now_ms)
            .await?;
        audit(&mut tx, now_ms, actor, "customer.update", &subject(id), "").await?;
        let customer =
            read_customer(&mut tx, &self.keyring, id)
                .await?
                .ok_or(StoreError::NotFound {
                    what: "customer",
                    id: id.0.to_string(),
                })?;
        tx.commit().await?;
        Ok(customer)
    }

    async fn update_in(
        &self,
        tx: &mut AnyConnection,
        id: CustomerId,
        fields: &CustomerFields,
        expected_version: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM customers WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(version) = version else {
            return Err(StoreError::NotFound {
                what: "customer",
                id: id.0.to_string(),
            });
        };
        if let Some(expected) = expected_version {
            if expected != version {
                return Err(StoreError::Conflict(format!(
                    "customer {} is at version {version}, not {expected}: read it again",
                    id.0
                )));
            }
        }
        let name = seal_opt(&self.keyring, NAME_FIELD, fields.name.as_deref())?;
        sqlx::query(
            "UPDATE customers SET external_id = $1, name_sealed = $2, level = $3, value_score = $4, \
             tags = $5, preferences = $6, consent = $7, do_not_call = $8, updated_ms = $9, \
             version = version + 1 WHERE id = $10",
        )
        .bind(fields.external_id.as_deref())
        .bind(name)
        .bind(&fields.level)
        .bind(i64::from(fields.value_score))
        .bind(to_json(&fields.tags)?)
        .bind(to_json(&fields.preferences)?)
        .bind(i64::from(fields.consent))
        .bind(i64::from(fields.do_not_call))
        .bind(now_ms)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_external_id(e, fields))?;
        sqlx::query("DELETE FROM customer_phones WHERE customer_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        self.insert_phones(tx, id, &fields.phones).await
    }

    /// Creates the customer with `fields.external_id`, or replaces the fields of the one that
    /// has it; answers the customer and whether it was created. The CRM's upsert.
    pub async fn upsert_customer(
        &self,
        fields: &CustomerFields,
        now_ms: i64,
        actor: &str,
    ) -> Result<(Customer, bool), StoreError> {
        fields.validate()?;
        let Some(external_id) = fields.external_id.as_deref() else {
            return Err(FieldError::new("external_id", "an upsert needs an external id").into());
        };
        let mut tx = self.begin().await?;
        let (id, created) = self.upsert_in(&mut tx, external_id, fields, now_ms).await?;
        let action = if created {
            "customer.create"
        } else {
            "customer.update"
        };
        audit(&mut tx, now_ms, actor, action, &subject(id), "").await?;
        let customer = read_customer(&mut tx, &self.keyring, id)
            .await?
            .ok_or_else(|| StoreError::Invariant("an upserted customer is gone".into()))?;
        tx.commit().await?;
        Ok((customer, created))
    }

    async fn upsert_in(
        &self,
        tx: &mut AnyConnection,
        external_id: &str,
        fields: &CustomerFields,
        now_ms: i64,
    ) -> Result<(CustomerId, bool), StoreError> {
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM customers WHERE external_id = $1")
                .bind(external_id)
                .fetch_optional(&mut *tx)
                .await?;
        match existing {
            Some(id) => {
                self.update_in(tx, CustomerId(id), fields, None, now_ms)
                    .await?;
                Ok((CustomerId(id), false))
            }
            None => Ok((self.insert_customer(tx, fields, now_ms).await?, true)),
        }
    }

    /// Upserts many customers by external id in one transaction (the CSV import's batches):
    /// all or none. Answers how many were created and how many updated.
    pub async fn import_customers(
        &self,
        batch: &[CustomerFields],
        now_ms: i64,
        actor: &str,
    ) -> Result<(u64, u64), StoreError> {
        for (i, fields) in batch.iter().enumerate() {
            fields.validate().map_err(|e| {
                StoreError::Invalid(FieldError::new(format!("[{i}].{}", e.field), e.problem))
            })?;
            if fields.external_id.is_none() {
                return Err(FieldError::new(
                    format!("[{i}].external_id"),
                    "an import needs an external id",
                )
                .into());
            }
        }
        let mut tx = self.begin().await?;
        let (mut created, mut updated) = (0, 0);
        // The new customers of the batch go in with multi-row statements (a statement costs
        // more than a row); the rest, and any batch naming one external id twice, row by row.
        let existing = existing_external_ids(&mut tx, batch).await?;
        let mut seen = std::collections::HashSet::with_capacity(batch.len());
        let distinct = batch
            .iter()
            .all(|f| seen.insert(f.external_id.as_deref().unwrap_or_default()));
        let (fresh, known): (Vec<&CustomerFields>, Vec<&CustomerFields>) = if distinct {
            batch
                .iter()
                .partition(|f| !existing.contains_key(f.external_id.as_deref().unwrap_or_default()))
        } else {
            (Vec::new(), batch.iter().collect())
        };
        for chunk in fresh.chunks(IMPORT_ROWS_PER_INSERT) {
            self.insert_customers(&mut tx, chunk, now_ms).await?;
            created += chunk.len() as u64;
        }
        let (known, repeated): (Vec<&CustomerFields>, Vec<&CustomerFields>) = if distinct {
            (known, Vec::new())
        } else {
            (Vec::new(), known)
        };
        let updates: Vec<(CustomerId, &CustomerFields)> = known
            .iter()
            .filter_map(|f| {
                let id = existing.get(f.external_id.as_deref().unwrap_or_default())?;
                Some((CustomerId(*id), *f))
            })
            .collect();
        for chunk in updates.chunks(IMPORT_ROWS_PER_INSERT) {
            self.update_customers(&mut tx, chunk, now_ms).await?;
            updated += chunk.len() as u64;
        }
        for fields in repeated {
            let external_id = fields.external_id.as_deref().unwrap_or_default();
            if self
                .upsert_in(&mut tx, external_id, fields, now_ms)
                .await?
                .1
            {
                created += 1;
            } else {
                updated += 1;
            }
        }
        audit(
            &mut tx,
            now_ms,
            actor,
            "customer.import",
            "customers",
            &format!("{created} created, {updated} updated"),
        )
        .await?;
        tx.commit().await?;
        Ok((created, updated))
    }

    /// Inserts customers whose external ids are new, with their phones, in multi-row
    /// statements.
    async fn insert_customers(
        &self,
        tx: &mut AnyConnection,
        batch: &[&CustomerFields],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(batch.len());
        for fields in batch {
            let name = seal_opt(&self.keyring, NAME_FIELD, fields.name.as_deref())?;
            rows.push((
                *fields,
                name,
                to_json(&fields.tags)?,
                to_json(&fields.preferences)?,
            ));
        }
        let mut insert = Sql::new(
            self.backend,
            "INSERT INTO customers (external_id, name_sealed, level, value_score, tags, \
             preferences, consent, do_not_call, created_ms, updated_ms, version) ",
        );
        insert.push_values(rows, |row, (fields, name, tags, preferences)| {
            row.push_bind(fields.external_id.clone())
                .push_bind(name)
                .push_bind(fields.level.clone())
                .push_bind(i64::from(fields.value_score))
                .push_bind(tags)
                .push_bind(preferences)
                .push_bind(i64::from(fields.consent))
                .push_bind(i64::from(fields.do_not_call))
                .push_bind(now_ms)
                .push_bind(now_ms)
                .push_bind(1i64);
        });
        insert.push(" RETURNING id, external_id");
        let returned = insert.build()?.fetch_all(&mut *tx).await?;
        let mut ids = std::collections::HashMap::with_capacity(returned.len());
        for row in &returned {
            let external_id: String = row.try_get("external_id")?;
            ids.insert(external_id, CustomerId(row.try_get("id")?));
        }
        let mut owners = Vec::with_capacity(batch.len());
        for fields in batch {
            let external_id = fields.external_id.as_deref().unwrap_or_default();
            let id = *ids.get(external_id).ok_or_else(|| {
                StoreError::Invariant(format!("imported customer {external_id:?} has no id"))
            })?;
            owners.push((id, fields.phones.as_slice()));
        }
        self.insert_phone_rows(tx, &owners).await
    }

    /// Replaces existing customers' fields and phones (an import's updates), a statement per
    /// customer and multi-row statements for the phones.
    async fn update_customers(
        &self,
        tx: &mut AnyConnection,
        batch: &[(CustomerId, &CustomerFields)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(batch.len());
        for (id, fields) in batch {
            let name = seal_opt(&self.keyring, NAME_FIELD, fields.name.as_deref())?;
            rows.push((
                *id,
                *fields,
                name,
                to_json(&fields.tags)?,
                to_json(&fields.preferences)?,
            ));
        }
        // One statement for the chunk: UPDATE … FROM a VALUES list (SQLite 3.33 and later).
        let mut update = Sql::new(
            self.backend,
            "WITH v (id, name_sealed, level, value_score, tags, preferences, consent, \
             do_not_call) AS (",
        );
        update.push_values(rows, |row, (id, fields, name, tags, preferences)| {
            row.push_bind(id.0)
                .push_bind(name)
                .push_bind(fields.level.clone())
                .push_bind(i64::from(fields.value_score))
                .push_bind(tags)
                .push_bind(preferences)
                .push_bind(i64::from(fields.consent))
                .push_bind(i64::from(fields.do_not_call));
        });
        update.push(
            ") UPDATE customers SET name_sealed = v.name_sealed, level = v.level, \
             value_score = v.value_score, tags = v.tags, preferences = v.preferences, \
             consent = v.consent, do_not_call = v.do_not_call, updated_ms = ",
        );
        update.push_bind(now_ms);
        update.push(", version = customers.version + 1 FROM v WHERE customers.id = v.id");
        update.build()?.execute(&mut *tx).await?;
        for chunk in batch.chunks(IMPORT_LOOKUPS_PER_SELECT) {
            let mut delete = Sql::new(
                self.backend,
                "DELETE FROM customer_phones WHERE customer_id IN ",
            );
            delete.push_list(chunk.iter().map(|(id, _)| id.0));
            delete.build()?.execute(&mut *tx).await?;
        }
        let owners: Vec<(CustomerId, &[Phone])> = batch
            .iter()
            .map(|(id, fields)| (*id, fields.phones.as_slice()))
            .collect();
        self.insert_phone_rows(tx, &owners).await
    }

    /// Inserts the phones of one or several customers (sealed, with their blind index) in
    /// multi-row statements.
    async fn insert_phone_rows(
        &self,
        tx: &mut AnyConnection,
        owners: &[(CustomerId, &[Phone])],
    ) -> Result<(), StoreError> {
        let mut phones = Vec::new();
        for &(id, numbers) in owners {
            for (position, phone) in numbers.iter().enumerate() {
                let sealed = self
                    .keyring
                    .seal_str(PHONE_FIELD, &phone.number.to_string())?;
                let index = self.keyring.blind_index(PHONE_INDEX, phone.number.e164());
                phones.push((id, position as i64, sealed, index, phone.label.clone()));
            }
        }
        for chunk in phones.chunks(IMPORT_ROWS_PER_INSERT * 2) {
            let mut insert = Sql::new(
                self.backend,
                "INSERT INTO customer_phones (customer_id, position, number_sealed, \
                 number_index, label) ",
            );
            insert.push_values(chunk, |row, (id, position, sealed, index, label)| {
                row.push_bind(id.0)
                    .push_bind(*position)
                    .push_bind(sealed.clone())
                    .push_bind(index.to_vec())
                    .push_bind(label.clone());
            });
            insert.build()?.execute(&mut *tx).await?;
        }
        Ok(())
    }

    /// Deletes a customer with its phone numbers and interactions (a request to be
    /// forgotten); the audit log keeps that it happened. Answers whether it existed.
    pub async fn delete_customer(
        &self,
        id: CustomerId,
        now_ms: i64,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM customers WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if deleted {
            audit(&mut tx, now_ms, actor, "customer.delete", &subject(id), "").await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// The customer with this id.
    pub async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        let mut connection = self.read.acquire().await?;
        read_customer(&mut connection, &self.keyring, id).await
    }

    /// The customer with this external (CRM) id.
    pub async fn customer_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<Customer>, StoreError> {
        let mut connection = self.read.acquire().await?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE external_id = $1")
            .bind(external_id)
            .fetch_optional(&mut *connection)
            .await?;
        match id {
            Some(id) => read_customer(&mut connection, &self.keyring, CustomerId(id)).await,
            None => Ok(None),
        }
    }

    /// Up to `limit` customers with an id above `after`, in id order (a page; the next page
    /// starts after the last id).
    pub async fn customers(
        &self,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>, StoreError> {
        check_limit(limit, MAX_CUSTOMERS_PAGE)?;
        let mut connection = self.read.acquire().await?;
        let rows = sqlx::query(&format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.map_or(0, |id| id.0))
        .bind(i64::from(limit))
        .fetch_all(&mut *connection)
        .await?;
        decode_customers(&mut connection, &self.keyring, &rows).await
    }

    /// The ids of the customers with this number (whatever its extension), lowest first, at
    /// most `limit`.
    pub async fn customers_with_number(
        &self,
        number: &PhoneNumber,
        limit: u32,
    ) -> Result<Vec<CustomerId>, StoreError> {
        check_limit(limit, MAX_CUSTOMERS_PAGE)?;
        let mut connection = self.read.acquire().await?;
        self.ids_with_number(&mut connection, number, limit).await
    }

    async fn ids_with_number(
        &self,
        connection: &mut AnyConnection,
        number: &PhoneNumber,
        limit: u32,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let index = self.keyring.blind_index(PHONE_INDEX, number.e164());
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT customer_id FROM customer_phones WHERE number_index = $1 \
             ORDER BY customer_id LIMIT $2",
        )
        .bind(&index[..])
        .bind(i64::from(limit))
        .fetch_all(&mut *connection)
        .await?;
        Ok(ids.into_iter().map(CustomerId).collect())
    }

    // ---- interactions ----

    /// Records an interaction.
    pub async fn add_interaction(
        &self,
        interaction: &NewInteraction,
    ) -> Result<Interaction, StoreError> {
        interaction.validate()?;
        let summary = seal_opt(&self.keyring, SUMMARY_FIELD, interaction.summary.as_deref())?;
        let mut tx = self.begin().await?;
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO interactions (customer_id, at_ms, kind, channel, agent, queue, \
             contact_id, event_seq, disposition, duration_ms, summary_sealed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(interaction.customer.map(|c| c.0))
        .bind(interaction.at_ms)
        .bind(interaction.kind.as_str())
        .bind(interaction.channel.as_deref())
        .bind(interaction.agent.as_deref())
        .bind(interaction.queue.as_deref())
        .bind(interaction.contact_id)
        .bind(interaction.event_seq)
        .bind(interaction.disposition.as_deref())
        .bind(interaction.duration_ms)
        .bind(summary)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::Invalid(FieldError::new("customer_id", "no such customer"))
            }
            _ => StoreError::from(e),
        })?;
        tx.commit().await?;
        Ok(Interaction {
            id: result,
            record: interaction.clone(),
            redacted: false,
        })
    }

    /// A customer's interactions, newest first: up to `limit` older than `before` (an
    /// interaction's `(at_ms, id)`, for the next page), or the newest.
    pub async fn interactions(
        &self,
        customer: CustomerId,
        before: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<Interaction>, StoreError> {
        check_limit(limit, MAX_INTERACTIONS_READ)?;
        let mut connection = self.read.acquire().await?;
        read_interactions(&mut connection, &self.keyring, customer, before, limit).await
    }

    /// Gives the interactions of a contact that have no customer to `customer` (an agent said
    /// who called); answers how many. A customer that does not exist is `NotFound`.
    pub async fn assign_contact_customer(
        &self,
        contact_id: i64,
        customer: CustomerId,
        now_ms: i64,
        actor: &str,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1")
            .bind(customer.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound {
                what: "customer",
                id: customer.0.to_string(),
            });
        }
        let changed = sqlx::query(
            "UPDATE interactions SET customer_id = $1 WHERE contact_id = $2 AND customer_id IS NULL",
        )
        .bind(customer.0)
        .bind(contact_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        audit(
            &mut tx,
            now_ms,
            actor,
            "interaction.link",
            &subject(customer),
            &format!("contact {contact_id}: {changed} interactions"),
        )
        .await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Removes the personal data of interactions older than `before_ms` (their summaries) and
    /// of survey answers (their comments); answers how many interactions were redacted. The
    /// records stay for the statistics. Works in transactions of [`RETENTION_BATCH`] rows, so
    /// that a first sweep over years of calls never holds the writer for long.
    pub async fn redact_interactions_before(
        &self,
        before_ms: i64,
        now_ms: i64,
        actor: &str,
    ) -> Result<u64, StoreError> {
        let mut redacted = 0;
        loop {
            let mut tx = self.begin().await?;
            let batch = sqlx::query(
                "UPDATE interactions SET summary_sealed = NULL, redacted = 1 WHERE id IN \
                 (SELECT id FROM interactions WHERE at_ms < $1 AND redacted = 0 LIMIT $2)",
            )
            .bind(before_ms)
            .bind(RETENTION_BATCH)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            redacted += batch;
            if batch < RETENTION_BATCH as u64 {
                break;
            }
        }
        let mut tx = self.begin().await?;
        let comments = sqlx::query(
            "UPDATE survey_answers SET comment_sealed = NULL WHERE at_ms < $1 \
             AND comment_sealed IS NOT NULL",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        audit(
            &mut tx,
            now_ms,
            actor,
            "retention.redact",
            "interactions",
            &format!("{redacted} interactions and {comments} survey comments before {before_ms}"),
        )
        .await?;
        tx.commit().await?;
        Ok(redacted)
    }

    // ---- screen pop ----

    /// The screen pop for a caller's number: the customers who have it, each with their
    /// latest interactions. All reads on one connection.
    pub async fn screen_pop(&self, number: &PhoneNumber) -> Result<ScreenPop, StoreError> {
        let mut connection = self.read.acquire().await?;
        let ids = self
            .ids_with_number(&mut connection, number, POP_MAX_MATCHES as u32 + 1)
            .await?;
        let more_matches = ids.len() > POP_MAX_MATCHES;
        let mut cards = Vec::with_capacity(ids.len().min(POP_MAX_MATCHES));
        for id in ids.into_iter().take(POP_MAX_MATCHES) {
            let Some(customer) = read_customer(&mut connection, &self.keyring, id).await? else {
                continue;
            };
            let recent = read_interactions(
                &mut connection,
                &self.keyring,
                id,
                None,
                POP_RECENT_INTERACTIONS,
            )
            .await?;
            cards.push(CustomerCard { customer, recent });
        }
        Ok(ScreenPop {
            number: number.clone(),
            cards,
            more_matches,
        })
    }

    // ---- audit ----

    /// Appends a row to the audit log (reads of unmasked data are audited by the reader).
    pub async fn audit(
        &self,
        now_ms: i64,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.audit_many(now_ms, actor, action, &[subject.to_string()], detail)
            .await
    }

    /// Appends one row per subject to the audit log, in one transaction.
    pub async fn audit_many(
        &self,
        now_ms: i64,
        actor: &str,
        action: &str,
        subjects: &[String],
        detail: &str,
    ) -> Result<(), StoreError> {
        if subjects.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for subject in subjects {
            audit(&mut tx, now_ms, actor, action, subject, detail).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The audit rows of a subject (`customer:42`), or of everything when `None`, oldest
    /// first, after the row `after`.
    pub async fn audit_log(
        &self,
        subject: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        check_limit(limit, MAX_AUDIT_READ)?;
        let mut select = Sql::new(
            self.backend,
            "SELECT id, at_ms, actor, action, subject, detail FROM audit_log WHERE id > ",
        );
        select.push_bind(after);
        if let Some(subject) = subject {
            select.push(" AND subject = ").push_bind(subject);
        }
        select
            .push(" ORDER BY id LIMIT ")
            .push_bind(i64::from(limit));
        let rows = select.build()?.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at_ms: row.try_get("at_ms")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    subject: row.try_get("subject")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    // ---- keys ----

    /// Re-seals every personal value that is not under the active key, in batches of
    /// 1,000 rows per transaction (a crash in the middle leaves every value
    /// readable; running it again finishes the work).
    pub async fn reseal_all(&self, now_ms: i64, actor: &str) -> Result<ResealReport, StoreError> {
        let mut report = ResealReport::default();
        // Each table is walked in the order of its primary key, a batch at a time.
        for (table, keys, column, field) in [
            ("customers", &["id"][..], "name_sealed", NAME_FIELD),
            (
                "customer_phones",
                &["customer_id", "position"][..],
                "number_sealed",
                PHONE_FIELD,
            ),
            ("interactions", &["id"][..], "summary_sealed", SUMMARY_FIELD),
        ] {
            let key_list = keys.join(", ");
            let placeholders = (1..=keys.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut after = vec![i64::MIN; keys.len()];
            loop {
                let mut tx = self.begin().await?;
                let select = format!(
                    "SELECT {key_list}, {column} AS v FROM {table} \
                     WHERE ({key_list}) > ({placeholders}) AND {column} IS NOT NULL \
                     ORDER BY {key_list} LIMIT ${}",
                    keys.len() + 1
                );
                let mut query = sqlx::query(&select);
                for value in &after {
                    query = query.bind(*value);
                }
                let rows = query.bind(RESEAL_BATCH).fetch_all(&mut *tx).await?;
                if rows.is_empty() {
                    break;
                }
                let update = format!(
                    "UPDATE {table} SET {column} = ${} WHERE ({key_list}) = ({placeholders})",
                    keys.len() + 1
                );
                for row in &rows {
                    let key = keys
                        .iter()
                        .map(|k| row.try_get::<i64, _>(*k))
                        .collect::<Result<Vec<_>, _>>()?;
                    let sealed: Vec<u8> = row.try_get("v")?;
                    after.clone_from(&key);
                    if Keyring::sealed_key_id(&sealed) == Some(self.keyring.active_key()) {
                        report.current += 1;
                        continue;
                    }
                    let plain = self.keyring.open(field, &sealed)?;
                    let resealed = self.keyring.seal(field, &plain)?;
                    let mut query = sqlx::query(&update);
                    for value in &key {
                        query = query.bind(*value);
                    }
                    query.bind(resealed).execute(&mut *tx).await?;
                    report.resealed += 1;
                }
                tx.commit().await?;
            }
        }
        self.audit(
            now_ms,
            actor,
            "keys.reseal",
            "records",
            &format!(
                "{} values resealed under {}, {} already were",
                report.resealed,
                self.keyring.active_key(),
                report.current
            ),
        )
        .await?;
        Ok(report)
    }

    // ---- API keys ----

    /// Makes an API key and answers it with its secret, which is shown this once: only its
    /// hash is kept.
    pub async fn create_api_key(
        &self,
        name: &str,
        role: Role,
        now_ms: i64,
        actor: &str,
    ) -> Result<(ApiKey, String), StoreError> {
        if name.is_empty()
            || name.chars().count() > MAX_API_KEY_NAME_CHARS
            || name.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(FieldError::new(
                "name",
                format!("1 to {MAX_API_KEY_NAME_CHARS} characters without spaces"),
            )
            .into());
        }
        let mut random = [0u8; API_KEY_SECRET_BYTES];
        getrandom::fill(&mut random)
            .map_err(|e| StoreError::Invariant(format!("no random numbers: {e}")))?;
        use base64::Engine;
        let secret = format!(
            "{API_KEY_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
        );
        let prefix: String = secret.chars().take(API_KEY_SHOWN_CHARS).collect();
        let mut tx = self.begin().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
            .fetch_one(&mut *tx)
            .await?;
        if count >= MAX_API_KEYS {
            return Err(StoreError::Conflict(format!(
                "there are already {MAX_API_KEYS} API keys"
            )));
        }
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO api_keys (name, role, prefix, secret_hash, created_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(&prefix)
        .bind(&secret_hash(&secret)[..])
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("an API key named {name:?} exists"))
            }
            _ => StoreError::from(e),
        })?;
        audit(
            &mut tx,
            now_ms,
            actor,
            "api_key.create",
            &format!("api_key:{name}"),
            role.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok((
            ApiKey {
                id: result,
                name: name.into(),
                role,
                prefix,
                created_ms: now_ms,
                revoked_ms: None,
            },
            secret,
        ))
    }

    /// The key a secret belongs to, if it is one and not revoked.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>, StoreError> {
        if !secret.starts_with(API_KEY_PREFIX) || secret.len() > 128 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT id, name, role, prefix, created_ms, revoked_ms FROM api_keys \
             WHERE secret_hash = $1 AND revoked_ms IS NULL",
        )
        .bind(&secret_hash(secret)[..])
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(decode_api_key).transpose()
    }

    /// Every API key, oldest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, role, prefix, created_ms, revoked_ms FROM api_keys ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(decode_api_key).collect()
    }

    /// Revokes the key of this name; answers whether one was live.
    pub async fn revoke_api_key(
        &self,
        name: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_keys SET revoked_ms = $1 WHERE name = $2 AND revoked_ms IS NULL",
        )
        .bind(now_ms)
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if revoked {
            audit(
                &mut tx,
                now_ms,
                actor,
                "api_key.revoke",
                &format!("api_key:{name}"),
                "",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }

    // ---- idempotency ----

    /// The answer stored for `(actor, key)`, if any.
    pub async fn idempotent_answer(
        &self,
        actor: &str,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError> {
        let row = sqlx::query(
            "SELECT request_hash, status, body FROM idempotency_keys WHERE actor = $1 AND key = $2",
        )
        .bind(actor)
        .bind(key)
        .fetch_optional(&self.write)
        .await?;
        row.map(|row| {
            Ok(IdempotentAnswer {
                request_hash: row.try_get("request_hash")?,
                status: row.try_get::<i64, _>("status")? as u16,
                body: row.try_get("body")?,
            })
        })
        .transpose()
    }

    /// Stores the answer for `(actor, key)`; the first answer stored wins.
    pub async fn store_idempotent_answer(
        &self,
        actor: &str,
        key: &str,
        answer: &IdempotentAnswer,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
            return Err(FieldError::new(
                "Idempotency-Key",
                format!("1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"),
            )
            .into());
        }
        sqlx::query(
            "INSERT INTO idempotency_keys (actor, key, request_hash, status, body, \
             created_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT DO NOTHING",
        )
        .bind(actor)
        .bind(key)
        .bind(&answer.request_hash)
        .bind(i64::from(answer.status))
        .bind(&answer.body)
        .bind(now_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn decode_api_key(row: &AnyRow) -> Result<ApiKey, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            seq: row.try_get("id").unwrap_or_default(),
            reason: format!("API key role {role:?}"),
        })?,
        prefix: row.try_get("prefix")?,
        created_ms: row.try_get("created_ms")?,
        revoked_ms: row.try_get("revoked_ms")?,
    })
}

fn subject(id: CustomerId) -> String {
    format!("customer:{}", id.0)
}

async fn audit(
    connection: &mut AnyConnection,
    now_ms: i64,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at_ms, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now_ms)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .execute(connection)
    .await?;
    Ok(())
}

/// Rows per multi-row INSERT in an import (11 values each: well under SQLite's limit of
/// bound values).
const IMPORT_ROWS_PER_INSERT: usize = 200;
/// External ids looked up per statement in an import.
const IMPORT_LOOKUPS_PER_SELECT: usize = 500;

/// The customers among `batch`'s external ids that exist already: external id to id.
async fn existing_external_ids(
    tx: &mut AnyConnection,
    batch: &[CustomerFields],
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let mut existing = std::collections::HashMap::new();
    let ids: Vec<&str> = batch
        .iter()
        .filter_map(|f| f.external_id.as_deref())
        .collect();
    for chunk in ids.chunks(IMPORT_LOOKUPS_PER_SELECT) {
        let mut select = Sql::new(
            backend_of(tx),
            "SELECT id, external_id FROM customers WHERE external_id IN ",
        );
        select.push_list(chunk.iter().copied());
        for row in select.build()?.fetch_all(&mut *tx).await? {
            existing.insert(row.try_get("external_id")?, row.try_get("id")?);
        }
    }
    Ok(existing)
}

/// The database a connection is to.
fn backend_of(connection: &AnyConnection) -> Backend {
    if connection.backend_name().eq_ignore_ascii_case("postgresql") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// A flag column: an integer, 0 or 1, on both databases.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn check_limit(limit: u32, max: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > max {
        return Err(StoreError::InvalidLimit { limit, max });
    }
    Ok(())
}

fn seal_opt(
    keyring: &Keyring,
    field: &str,
    value: Option<&str>,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(value
        .map(|value| keyring.seal_str(field, value))
        .transpose()?)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invariant(format!("encode JSON: {e}")))
}

fn conflict_on_external_id(error: sqlx::Error, fields: &CustomerFields) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
            "another customer has external_id {:?}",
            fields.external_id.as_deref().unwrap_or_default()
        )),
        _ => StoreError::from(error),
    }
}

async fn read_customer(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    id: CustomerId,
) -> Result<Option<Customer>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_all(&mut *connection)
    .await?;
    Ok(decode_customers(connection, keyring, &rows).await?.pop())
}

/// Decodes customer rows and reads their phone numbers (one query for all of them).
async fn decode_customers(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    rows: &[AnyRow],
) -> Result<Vec<Customer>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut select = Sql::new(
        backend_of(connection),
        "SELECT customer_id, number_sealed, label FROM customer_phones WHERE customer_id IN ",
    );
    let ids = rows
        .iter()
        .map(|row| row.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    select.push_list(ids);
    select.push(" ORDER BY customer_id, position");
    let phone_rows = select.build()?.fetch_all(&mut *connection).await?;
    let mut customers = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let corrupt = |reason: String| StoreError::Corrupt { seq: id, reason };
        let mut phones = Vec::new();
        for phone in phone_rows
            .iter()
            .filter(|p| p.try_get::<i64, _>("customer_id").ok() == Some(id))
        {
            let sealed: Vec<u8> = phone.try_get("number_sealed")?;
            let text = keyring.open_string(PHONE_FIELD, &sealed)?;
            let number = PhoneNumber::from_str(&text)
                .map_err(|e| corrupt(format!("customer {id}: stored number: {e}")))?;
            phones.push(Phone {
                number,
                label: phone.try_get("label")?,
            });
        }
        let name: Option<Vec<u8>> = row.try_get("name_sealed")?;
        let tags: String = row.try_get("tags")?;
        let preferences: String = row.try_get("preferences")?;
        let value_score: i64 = row.try_get("value_score")?;
        customers.push(Customer {
            id: CustomerId(id),
            fields: CustomerFields {
                external_id: row.try_get("external_id")?,
                name: name
                    .map(|n| keyring.open_string(NAME_FIELD, &n))
                    .transpose()?,
                phones,
                level: row.try_get("level")?,
                value_score: u32::try_from(value_score).unwrap_or(u32::MAX),
                tags: serde_json::from_str(&tags)
                    .map_err(|e| corrupt(format!("customer {id}: tags: {e}")))?,
                preferences: serde_json::from_str::<Preferences>(&preferences)
                    .map_err(|e| corrupt(format!("customer {id}: preferences: {e}")))?,
                consent: flag(row, "consent")?,
                do_not_call: flag(row, "do_not_call")?,
            },
            created_ms: row.try_get("created_ms")?,
            updated_ms: row.try_get("updated_ms")?,
            version: row.try_get("version")?,
        });
    }
    Ok(customers)
}

async fn read_interactions(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    customer: CustomerId,
    before: Option<(i64, i64)>,
    limit: u32,
) -> Result<Vec<Interaction>, StoreError> {
    let (before_at, before_id) = before.unwrap_or((i64::MAX, i64::MAX));
    // A row-value comparison, answered from the (customer_id, at_ms) index read backwards.
    let rows = sqlx::query(&format!(
        "SELECT {INTERACTION_COLUMNS} FROM interactions \
         WHERE customer_id = $1 AND (at_ms, id) < ($2, $3) \
         ORDER BY at_ms DESC, id DESC LIMIT $4"
    ))
    .bind(customer.0)
    .bind(before_at)
    .bind(before_id)
    .bind(i64::from(limit))
    .fetch_all(&mut *connection)
    .await?;
    rows.iter()
        .map(|row| decode_interaction(row, keyring))
        .collect()
}

fn decode_interaction(row: &AnyRow, keyring: &Keyring) -> Result<Interaction, StoreError> {
    let id: i64 = row.try_get("id")?;
    let kind: String = row.try_get("kind")?;
    let summary: Option<Vec<u8>> = row.try_get("summary_sealed")?;
    Ok(Interaction {
        id,
        record: NewInteraction {
            customer: row
                .try_get::<Option<i64>, _>("customer_id")?
                .map(CustomerId),
            at_ms: row.try_get("at_ms")?,
            kind: InteractionKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                seq: id,
                reason: format!("interaction kind {kind:?}"),
            })?,
            channel: row.try_get("channel")?,
            agent: row.try_get("agent")?,
            queue: row.try_get("queue")?,
            contact_id: row.try_get("contact_id")?,
            event_seq: row.try_get("event_seq")?,
            disposition: row.try_get("disposition")?,
            duration_ms: row.try_get("duration_ms")?,
            summary: summary
                .map(|s| keyring.open_string(SUMMARY_FIELD, &s))
                .transpose()?,
        },
        redacted: flag(row, "redacted")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_sqlite_connection_has_its_settings() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(dir.path().join("records.db"), Keyring::generate().unwrap())
            .await
            .unwrap();
        let pragma = |pool: &AnyPool, name: &str| {
            let pool = pool.clone();
            let sql = format!("PRAGMA {name}");
            async move {
                let row = sqlx::query(&sql).fetch_one(&pool).await.unwrap();
                match row.try_get::<i64, _>(0) {
                    Ok(n) => n.to_string(),
                    Err(_) => row.try_get::<String, _>(0).unwrap(),
                }
            }
        };
        assert_eq!(pragma(&records.write, "journal_mode").await, "wal");
        assert_eq!(pragma(&records.write, "synchronous").await, "2", "FULL");
        assert_eq!(pragma(&records.write, "foreign_keys").await, "1");
        assert_eq!(
            pragma(&records.write, "cache_size").await,
            format!("-{WRITER_CACHE_KIB}")
        );
        assert_eq!(pragma(&records.read, "foreign_keys").await, "1");
        assert_eq!(
            pragma(&records.read, "busy_timeout").await,
            BUSY_TIMEOUT.as_millis().to_string()
        );
    }
}
