//! Callback tasks in the records: written before a request is acknowledged, the dialer's
//! snapshot written before each dial, and read back whole at start.

use std::str::FromStr;

use hotline_phone::PhoneNumber;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{audit, check_limit, seal_opt, to_json, Records, PHONE_FIELD, PHONE_INDEX};
use crate::callback_records::{
    CallbackFilter, CallbackState, CallbackTask, NewCallbackTask, MAX_CALLBACKS_PAGE,
    MAX_CALLBACK_SNAPSHOT_BYTES,
};
use crate::campaign_records::MAX_CAMPAIGN_BATCH;
use crate::error::StoreError;
use crate::records::{CustomerId, FieldError};
use crate::ticket_records::TicketId;

const PAYLOAD_FIELD: &str = "callback.payload";
const COLUMNS: &str = "id, customer_id, number_sealed, channel, reason, need_tags, \
    payload_sealed, priority, value_score, window_start_ms, window_end_ms, promised_ms, state, \
    dedupe_key, ticket_id, attempts, outcome, snapshot, created_ms, updated_ms, campaign_id, mode, requested_by";
/// The most active tasks read back at start in one go.
pub const MAX_ACTIVE_CALLBACKS_READ: u32 = 2_000_000;

impl Records {
    /// Stores a callback request (pending), in one transaction with its audit row, under `id`
    /// (the dialer's task id) or a new one. A second active task with the same dedupe key is
    /// a conflict naming the first.
    pub async fn create_callback_task(
        &self,
        id: Option<i64>,
        task: &NewCallbackTask,
        actor: &str,
    ) -> Result<CallbackTask, StoreError> {
        task.validate()?;
        let sealed = self.seal_callback(task)?;
        let mut tx = self.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM callback_tasks WHERE dedupe_key = $1 \
             AND state IN ('pending', 'dialling')",
        )
        .bind(&task.dedupe_key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(existing) = existing {
            return Err(StoreError::Conflict(format!(
                "callback {existing} is already waiting for this customer and reason"
            )));
        }
        if let Some(campaign) = task.campaign {
            check_campaign(&mut tx, campaign).await?;
        }
        let id = insert_callback_task(&mut tx, id, task, &sealed).await?;
        audit(
            &mut tx,
            task.created_ms,
            actor,
            "callback.create",
            &format!("callback:{id}"),
            &task.channel,
        )
        .await?;
        tx.commit().await?;
        self.callback_task(id)
            .await?
            .ok_or_else(|| StoreError::Invariant("a stored callback is gone".into()))
    }

    /// Stores a batch of callback tasks (pending; a campaign's numbers) under their ids, all
    /// or none, in one transaction with one audit row. Every task is checked first; an error
    /// names the task's place in the batch (`numbers[3].channel`). More than
    /// [`MAX_CAMPAIGN_BATCH`] tasks are refused whole.
    pub async fn create_callback_tasks(
        &self,
        tasks: &[(i64, NewCallbackTask)],
        actor: &str,
    ) -> Result<(), StoreError> {
        if tasks.len() > MAX_CAMPAIGN_BATCH {
            return Err(FieldError::new(
                "numbers",
                format!("at most {MAX_CAMPAIGN_BATCH} in one batch"),
            )
            .into());
        }
        let (Some((first, head)), Some((last, _))) = (tasks.first(), tasks.last()) else {
            return Ok(());
        };
        let mut sealed = Vec::with_capacity(tasks.len());
        for (i, (_, task)) in tasks.iter().enumerate() {
            task.validate()
                .map_err(|e| FieldError::new(format!("numbers[{i}].{}", e.field), e.problem))?;
            sealed.push(self.seal_callback(task)?);
        }
        let mut tx = self.begin().await?;
        let mut campaigns: Vec<i64> = tasks.iter().filter_map(|(_, t)| t.campaign).collect();
        campaigns.sort_unstable();
        campaigns.dedup();
        for campaign in &campaigns {
            check_campaign(&mut tx, *campaign).await?;
        }
        for (i, ((id, task), sealed)) in tasks.iter().zip(&sealed).enumerate() {
            insert_callback_task(&mut tx, Some(*id), task, sealed)
                .await
                .map_err(|e| match e {
                    StoreError::Invalid(e) => {
                        FieldError::new(format!("numbers[{i}].{}", e.field), e.problem).into()
                    }
                    StoreError::Conflict(message) => {
                        StoreError::Conflict(format!("numbers[{i}] (callback {id}): {message}"))
                    }
                    e => e,
                })?;
        }
        let subject = match campaigns.as_slice() {
            [campaign] if tasks.iter().all(|(_, t)| t.campaign.is_some()) => {
                format!("campaign:{campaign}")
            }
            _ => "callbacks".into(),
        };
        audit(
            &mut tx,
            head.created_ms,
            actor,
            "callback.create_batch",
            &subject,
            &format!("{} tasks, callbacks {first} to {last}", tasks.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A task's number, blind index and payload, sealed (before the write lock is taken).
    fn seal_callback(&self, task: &NewCallbackTask) -> Result<SealedCallback, StoreError> {
        let payload = match &task.payload {
            Some(payload) => seal_opt(&self.keyring, PAYLOAD_FIELD, Some(&payload.to_string()))?,
            None => None,
        };
        Ok(SealedCallback {
            number: self
                .keyring
                .seal_str(PHONE_FIELD, &task.number.to_string())?,
            index: self
                .keyring
                .blind_index(PHONE_INDEX, task.number.e164())
                .to_vec(),
            payload,
        })
    }

    /// The highest callback id ever stored (0 for none): the dialer's ids go on after it.
    pub async fn max_callback_id(&self) -> Result<i64, StoreError> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM callback_tasks")
            .fetch_one(&self.read)
            .await?;
        Ok(max.unwrap_or(0))
    }

    /// A callback task by id.
    pub async fn callback_task(&self, id: i64) -> Result<Option<CallbackTask>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM callback_tasks WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| self.decode_callback(&row)).transpose()
    }

    /// Callback tasks, newest first.
    pub async fn callback_tasks(
        &self,
        filter: &CallbackFilter,
    ) -> Result<Vec<CallbackTask>, StoreError> {
        check_limit(filter.limit, MAX_CALLBACKS_PAGE)?;
        let mut query = super::builder::Sql::new(
            self.backend,
            &format!("SELECT {COLUMNS} FROM callback_tasks WHERE 1 = 1"),
        );
        if let Some(state) = filter.state {
            query.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(customer) = filter.customer {
            query.push(" AND customer_id = ").push_bind(customer.0);
        }
        if let Some(requested_by) = &filter.requested_by {
            query
                .push(" AND requested_by = ")
                .push_bind(requested_by.clone());
        }
        if let Some(before) = filter.before_id {
            query.push(" AND id < ").push_bind(before);
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows = query.build()?.fetch_all(&self.read).await?;
        rows.iter().map(|row| self.decode_callback(row)).collect()
    }

    /// Every active (pending or dialling) task, oldest first: the dialer's state at start.
    pub async fn active_callback_tasks(&self) -> Result<Vec<CallbackTask>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM callback_tasks WHERE state IN ('pending', 'dialling') \
             ORDER BY id LIMIT $1"
        ))
        .bind(i64::from(MAX_ACTIVE_CALLBACKS_READ))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| self.decode_callback(row)).collect()
    }

    /// Records where a task is: its state, attempts, last outcome and the dialer's snapshot.
    /// Written before a dial starts (the claim of an attempt) and after it ends. A task that
    /// is no longer active is not changed (a late report after a cancel); answers whether it
    /// was.
    pub async fn update_callback_task(
        &self,
        id: i64,
        state: CallbackState,
        attempts: u32,
        outcome: Option<&str>,
        snapshot: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        if snapshot.is_some_and(|s| s.len() > MAX_CALLBACK_SNAPSHOT_BYTES) {
            return Err(StoreError::Invariant(format!(
                "a dialer snapshot over {MAX_CALLBACK_SNAPSHOT_BYTES} bytes"
            )));
        }
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE callback_tasks SET state = $1, attempts = $2, outcome = $3, \
             snapshot = COALESCE($4, snapshot), updated_ms = $5 \
             WHERE id = $6 AND state IN ('pending', 'dialling')",
        )
        .bind(state.as_str())
        .bind(i64::from(attempts))
        .bind(outcome)
        .bind(snapshot)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(changed)
    }

    /// Cancels an active task; answers whether it was active.
    pub async fn cancel_callback_task(
        &self,
        id: i64,
        reason: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let cancelled = sqlx::query(
            "UPDATE callback_tasks SET state = 'cancelled', outcome = $1, updated_ms = $2 \
             WHERE id = $3 AND state IN ('pending', 'dialling')",
        )
        .bind(reason)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if cancelled {
            audit(
                &mut tx,
                now_ms,
                actor,
                "callback.cancel",
                &format!("callback:{id}"),
                reason,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(cancelled)
    }

    fn decode_callback(&self, row: &AnyRow) -> Result<CallbackTask, StoreError> {
        let number = self
            .keyring
            .open_string(PHONE_FIELD, &row.try_get::<Vec<u8>, _>("number_sealed")?)?;
        let number = PhoneNumber::from_str(&number)
            .map_err(|e| StoreError::Invariant(format!("a stored callback number: {e}")))?;
        let payload = row
            .try_get::<Option<Vec<u8>>, _>("payload_sealed")?
            .map(|sealed| self.keyring.open_string(PAYLOAD_FIELD, &sealed))
            .transpose()?
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Invariant(format!("a stored payload: {e}")))
            })
            .transpose()?;
        let tags: String = row.try_get("need_tags")?;
        let state: String = row.try_get("state")?;
        Ok(CallbackTask {
            id: row.try_get("id")?,
            fields: NewCallbackTask {
                customer: row
                    .try_get::<Option<i64>, _>("customer_id")?
                    .map(CustomerId),
                number,
                channel: row.try_get("channel")?,
                reason: row.try_get("reason")?,
                need_tags: serde_json::from_str(&tags)
                    .map_err(|e| StoreError::Invariant(format!("stored need tags: {e}")))?,
                payload,
                priority: row.try_get("priority")?,
                value_score: u32::try_from(row.try_get::<i64, _>("value_score")?).unwrap_or(0),
                window_start_ms: row.try_get("window_start_ms")?,
                window_end_ms: row.try_get("window_end_ms")?,
                promised_ms: row.try_get("promised_ms")?,
                dedupe_key: row.try_get("dedupe_key")?,
                ticket: row.try_get::<Option<i64>, _>("ticket_id")?.map(TicketId),
                created_ms: row.try_get("created_ms")?,
                campaign: row.try_get("campaign_id")?,
                mode: row.try_get("mode")?,
                requested_by: row.try_get("requested_by")?,
            },
            state: CallbackState::parse(&state)
                .ok_or_else(|| StoreError::Invariant(format!("callback state {state:?}")))?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
            outcome: row.try_get("outcome")?,
            snapshot: row.try_get("snapshot")?,
            updated_ms: row.try_get("updated_ms")?,
        })
    }
}

/// Refuses a task of a campaign that does not exist, naming the field (the database's
/// foreign-key error does not say which key failed on SQLite).
async fn check_campaign(connection: &mut AnyConnection, campaign: i64) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM campaigns WHERE id = $1")
        .bind(campaign)
        .fetch_optional(&mut *connection)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(FieldError::new("campaign", "no such campaign").into()),
    }
}

/// A task's sealed columns.
struct SealedCallback {
    number: Vec<u8>,
    index: Vec<u8>,
    payload: Option<Vec<u8>>,
}

/// Inserts one task (pending) under `id` or a new one, and answers its id. The dedupe key's
/// unique index refuses a second active task (a caller that wants the first one named looks
/// it up before).
async fn insert_callback_task(
    connection: &mut AnyConnection,
    id: Option<i64>,
    task: &NewCallbackTask,
    sealed: &SealedCallback,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO callback_tasks (id, customer_id, number_sealed, number_index, channel, \
         reason, need_tags, payload_sealed, priority, value_score, window_start_ms, \
         window_end_ms, promised_ms, state, dedupe_key, ticket_id, attempts, created_ms, \
         updated_ms, campaign_id, mode, requested_by) VALUES (COALESCE($1, (SELECT \
         COALESCE(MAX(id), 0) + 1 FROM callback_tasks)), $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, 'pending', $14, $15, 0, $16, $16, $17, $18, $19) RETURNING id",
    )
    .bind(id)
    .bind(task.customer.map(|c| c.0))
    .bind(&sealed.number)
    .bind(&sealed.index)
    .bind(&task.channel)
    .bind(task.reason.trim())
    .bind(to_json(&task.need_tags)?)
    .bind(&sealed.payload)
    .bind(&task.priority)
    .bind(i64::from(task.value_score))
    .bind(task.window_start_ms)
    .bind(task.window_end_ms)
    .bind(task.promised_ms)
    .bind(&task.dedupe_key)
    .bind(task.ticket.map(|t| t.0))
    .bind(task.created_ms)
    .bind(task.campaign)
    .bind(task.mode.as_deref())
    .bind(task.requested_by.as_deref())
    .fetch_one(&mut *connection)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db)
            if db.is_foreign_key_violation()
                && db.constraint().is_some_and(|c| c.contains("campaign")) =>
        {
            StoreError::Invalid(FieldError::new("campaign", "no such campaign"))
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Invalid(FieldError::new("customer_id", "no such customer"))
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(
            "a callback is already waiting for this customer and reason, or its id is taken".into(),
        ),
        _ => StoreError::from(e),
    })
}
