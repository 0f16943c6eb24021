//! Outbound webhooks and their delivery log on SQLite.

use base64::Engine as _;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{audit, check_limit, to_json, Records};
use crate::error::StoreError;
use crate::records::FieldError;

const SECRET_FIELD: &str = "webhook.secret";
/// The most webhooks.
pub const MAX_WEBHOOKS: i64 = 100;
/// The longest webhook URL.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2_000;
/// The most deliveries one read returns.
pub const MAX_DELIVERIES_READ: u32 = 1_000;

/// A webhook (never its secret, except to the dispatcher).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Where events are POSTed.
    pub url: String,
    /// Event kinds or prefixes ending in `.`; empty: every event.
    pub kinds: Vec<String>,
    /// The last event-log seq turned into deliveries.
    pub cursor_seq: i64,
    /// Whether it is delivered to; a paused webhook keeps its cursor and catches up when it
    /// is resumed.
    pub active: bool,
}

impl Webhook {
    /// Whether an event of `kind` goes to this webhook.
    pub fn wants(&self, kind: &str) -> bool {
        self.kinds.is_empty()
            || self
                .kinds
                .iter()
                .any(|k| k == kind || (k.ends_with('.') && kind.starts_with(k.as_str())))
    }
}

/// A delivery due, with what the dispatcher needs to make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    /// The delivery's id.
    pub id: i64,
    /// The webhook's URL.
    pub url: String,
    /// The webhook's signing secret.
    pub secret: String,
    /// The event's kind.
    pub kind: String,
    /// The JSON body.
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// One line of the delivery log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// The event-log seq it carries.
    pub event_seq: i64,
    /// The event's kind.
    pub kind: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last HTTP status, if a response came.
    pub last_status: Option<i64>,
    /// The last error (no response, or the status's reason).
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_ms: Option<i64>,
}

fn decode_webhook(row: &AnyRow) -> Result<Webhook, StoreError> {
    let kinds: String = row.try_get("kinds")?;
    Ok(Webhook {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        kinds: serde_json::from_str(&kinds)
            .map_err(|e| StoreError::Invariant(format!("stored webhook kinds: {e}")))?,
        cursor_seq: row.try_get("cursor_seq")?,
        active: super::flag(row, "active")?,
    })
}

impl Records {
    /// Adds a webhook for events after `after_seq` (the log's end: only new events) and
    /// answers it with its signing secret, shown this once.
    pub async fn create_webhook(
        &self,
        url: &str,
        kinds: &[String],
        after_seq: i64,
        now_ms: i64,
        actor: &str,
    ) -> Result<(Webhook, String), StoreError> {
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.chars().count() > MAX_WEBHOOK_URL_CHARS
        {
            return Err(FieldError::new(
                "url",
                format!("must be an http:// or https:// URL of at most {MAX_WEBHOOK_URL_CHARS} characters"),
            )
            .into());
        }
        if kinds.len() > 64 || kinds.iter().any(|k| k.is_empty() || k.len() > 64) {
            return Err(FieldError::new("kinds", "at most 64 kinds of 1 to 64 characters").into());
        }
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|e| StoreError::Invariant(format!("no random numbers: {e}")))?;
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
        );
        let sealed = self.keyring.seal_str(SECRET_FIELD, &secret)?;
        let mut tx = self.begin().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhooks")
            .fetch_one(&mut *tx)
            .await?;
        if count >= MAX_WEBHOOKS {
            return Err(StoreError::Conflict(format!(
                "there are {MAX_WEBHOOKS} webhooks already"
            )));
        }
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO webhooks (url, secret_sealed, kinds, active, created_ms, cursor_seq) \
             VALUES ($1, $2, $3, 1, $4, $5) RETURNING id",
        )
        .bind(url)
        .bind(sealed)
        .bind(to_json(&kinds)?)
        .bind(now_ms)
        .bind(after_seq)
        .fetch_one(&mut *tx)
        .await?;
        audit(
            &mut tx,
            now_ms,
            actor,
            "webhook.create",
            &format!("webhook:{id}"),
            url,
        )
        .await?;
        tx.commit().await?;
        Ok((
            Webhook {
                id,
                url: url.to_owned(),
                kinds: kinds.to_vec(),
                cursor_seq: after_seq,
                active: true,
            },
            secret,
        ))
    }

    /// The active webhooks (the dispatcher's).
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, url, kinds, cursor_seq, active FROM webhooks WHERE active = 1 \
             ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(decode_webhook).collect()
    }

    /// Every webhook, paused ones too.
    pub async fn all_webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let rows =
            sqlx::query("SELECT id, url, kinds, cursor_seq, active FROM webhooks ORDER BY id")
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(decode_webhook).collect()
    }

    /// Pauses (`active` false) or resumes a webhook; answers whether it exists. A paused
    /// webhook gets no new deliveries and its pending ones wait; its cursor stays, so the
    /// events of the pause are delivered after it.
    pub async fn set_webhook_active(
        &self,
        id: i64,
        active: bool,
        now_ms: i64,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("UPDATE webhooks SET active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if found {
            let action = if active {
                "webhook.resume"
            } else {
                "webhook.pause"
            };
            audit(&mut tx, now_ms, actor, action, &format!("webhook:{id}"), "").await?;
        }
        tx.commit().await?;
        Ok(found)
    }

    /// Makes failed deliveries of a webhook pending again, due now with a fresh set of
    /// attempts: one (`delivery`) or all of them. Answers how many; a delivery that is not
    /// failed (pending, delivered) or not the webhook's is not touched.
    pub async fn retry_deliveries(
        &self,
        webhook: i64,
        delivery: Option<i64>,
        now_ms: i64,
        actor: &str,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let retried = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_ms = $1 \
             WHERE webhook_id = $2 AND state = 'failed' AND ($3 IS NULL OR id = $3)",
        )
        .bind(now_ms)
        .bind(webhook)
        .bind(delivery)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if retried > 0 {
            audit(
                &mut tx,
                now_ms,
                actor,
                "webhook.retry",
                &format!("webhook:{webhook}"),
                &format!("{retried} deliveries"),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(retried)
    }

    /// Deletes a webhook and its delivery log; answers whether it existed.
    pub async fn delete_webhook(
        &self,
        id: i64,
        now_ms: i64,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if deleted {
            audit(
                &mut tx,
                now_ms,
                actor,
                "webhook.delete",
                &format!("webhook:{id}"),
                "",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Turns events into pending deliveries of a webhook and moves its cursor to `cursor_seq`,
    /// in one transaction (so an event becomes a delivery exactly once).
    pub async fn enqueue_deliveries(
        &self,
        webhook: i64,
        events: &[(i64, String, String)],
        cursor_seq: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (seq, kind, payload) in events {
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, event_seq, kind, payload, \
                 state, attempts, next_attempt_ms, created_ms) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(webhook)
            .bind(seq)
            .bind(kind)
            .bind(payload)
            .bind(now_ms)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE webhooks SET cursor_seq = $1 WHERE id = $2 AND cursor_seq < $3")
            .bind(cursor_seq)
            .bind(webhook)
            .bind(cursor_seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Pending deliveries due at `now_ms`, oldest first.
    pub async fn due_deliveries(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        check_limit(limit, MAX_DELIVERIES_READ)?;
        let rows = sqlx::query(
            "SELECT d.id, w.url, w.secret_sealed, d.kind, d.payload, d.attempts \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.state = 'pending' AND d.next_attempt_ms <= $1 AND w.active = 1 \
             ORDER BY d.next_attempt_ms, d.id LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let sealed: Vec<u8> = row.try_get("secret_sealed")?;
                Ok(DueDelivery {
                    id: row.try_get("id")?,
                    url: row.try_get("url")?,
                    secret: self.keyring.open_string(SECRET_FIELD, &sealed)?,
                    kind: row.try_get("kind")?,
                    payload: row.try_get("payload")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Records an attempt: delivered, or pending again at `retry_at_ms`, or failed for good
    /// when that is `None`.
    pub async fn record_delivery_attempt(
        &self,
        id: i64,
        delivered: bool,
        status: Option<u16>,
        error: Option<&str>,
        retry_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let state = if delivered {
            "delivered"
        } else if retry_at_ms.is_some() {
            "pending"
        } else {
            "failed"
        };
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, \
             next_attempt_ms = $2, last_status = $3, last_error = $4, delivered_ms = $5 WHERE id = $6",
        )
        .bind(state)
        .bind(retry_at_ms)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(delivered.then_some(now_ms))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A webhook's delivery log, newest first.
    pub async fn deliveries(&self, webhook: i64, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        check_limit(limit, MAX_DELIVERIES_READ)?;
        let rows = sqlx::query(
            "SELECT id, event_seq, kind, state, attempts, last_status, last_error, delivered_ms \
             FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(webhook)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Delivery {
                    id: row.try_get("id")?,
                    event_seq: row.try_get("event_seq")?,
                    kind: row.try_get("kind")?,
                    state: row.try_get("state")?,
                    attempts: row.try_get("attempts")?,
                    last_status: row.try_get("last_status")?,
                    last_error: row.try_get("last_error")?,
                    delivered_ms: row.try_get("delivered_ms")?,
                })
            })
            .collect()
    }
}
