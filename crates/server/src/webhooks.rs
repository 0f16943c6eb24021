//! Outbound webhooks: a task that turns the event log's new events into deliveries for each
//! webhook that wants them (its cursor and the deliveries move in one records transaction)
//! and POSTs the due ones, signed, retrying with exponential backoff. Delivery is at least
//! once: an event is delivered again if the process dies between the POST and its record.
//!
//! Each POST carries the event as JSON and the headers `X-Hotline-Event` (the kind),
//! `X-Hotline-Delivery` (the delivery id, the same on every retry: receivers deduplicate
//! by it), `X-Hotline-Timestamp` (Unix milliseconds) and `X-Hotline-Signature:
//! sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<body>` under the webhook's secret.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use hotline_store::{EventLog, Records, SqliteEventLog};
use tokio::sync::watch;

/// Events read from the log per webhook per round.
pub const EVENTS_PER_ROUND: u32 = 500;
/// Deliveries attempted per round.
pub const DELIVERIES_PER_ROUND: u32 = 100;
/// Deliveries in flight at once (a slow receiver holds up only its own).
pub const MAX_CONCURRENT_DELIVERIES: usize = 8;
/// Attempts before a delivery is marked failed.
pub const MAX_ATTEMPTS: i64 = 12;
/// The longest a receiver may take to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3_600);

/// How the dispatcher paces itself.
#[derive(Clone, Copy, Debug)]
pub struct DispatchConfig {
    /// Sleep between rounds when there is nothing to do.
    pub poll: Duration,
    /// The first retry's wait; each further one doubles it, up to [`MAX_BACKOFF`].
    pub backoff: Duration,
    /// Attempts before a delivery is marked failed ([`MAX_ATTEMPTS`]).
    pub max_attempts: i64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            poll: Duration::from_secs(1),
            backoff: Duration::from_secs(30),
            max_attempts: MAX_ATTEMPTS,
        }
    }
}

/// What the dispatcher counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchStats {
    /// Deliveries made (2xx).
    pub delivered: u64,
    /// Attempts that failed (to be retried or failed for good).
    pub failed_attempts: u64,
    /// Rounds whose store or log access failed.
    pub errors: u64,
}

/// The signature header's value for `body` sent at `timestamp_ms`.
pub fn signature(secret: &str, timestamp_ms: i64, body: &str) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}.{body}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The wait before attempt `attempts + 1`.
pub fn backoff(config: &DispatchConfig, attempts: i64) -> Duration {
    let factor = 1u32 << attempts.clamp(0, 20);
    config.backoff.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Starts the dispatcher over `log` (read from each webhook's cursor) and `records`; it stops
/// when `shutdown` turns true.
pub fn spawn(
    records: Records,
    log: SqliteEventLog,
    config: DispatchConfig,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<DispatchStats> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("an HTTP client with default TLS roots");
        let mut stats = DispatchStats::default();
        loop {
            let busy = match round(&records, &log, &client, &config, &mut stats).await {
                Ok(busy) => busy,
                Err(_) => {
                    stats.errors += 1;
                    false
                }
            };
            if *shutdown.borrow() {
                return stats;
            }
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(config.poll) => {}
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            return stats;
                        }
                    }
                }
            }
        }
    })
}

/// One round: new events into deliveries, then the due deliveries. Answers whether it found
/// work (the next round starts at once).
async fn round(
    records: &Records,
    log: &SqliteEventLog,
    client: &reqwest::Client,
    config: &DispatchConfig,
    stats: &mut DispatchStats,
) -> Result<bool, hotline_store::StoreError> {
    let mut busy = false;
    for webhook in records.webhooks().await? {
        let events = log.read_from(webhook.cursor_seq, EVENTS_PER_ROUND).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            continue;
        };
        busy |= events.len() as u32 == EVENTS_PER_ROUND;
        let wanted: Vec<(i64, String, String)> = events
            .iter()
            .filter(|e| webhook.wants(&e.kind))
            .map(|e| {
                let payload = serde_json::json!({
                    "seq": e.seq,
                    "kind": e.kind,
                    "at_ms": e.at_ms,
                    "contact_id": e.contact_id,
                    "agent": e.agent,
                    "queue": e.queue,
                    "data": e.data,
                });
                (e.seq, e.kind.clone(), payload.to_string())
            })
            .collect();
        records
            .enqueue_deliveries(webhook.id, &wanted, last, crate::api::now_ms())
            .await?;
    }
    let due = records
        .due_deliveries(crate::api::now_ms(), DELIVERIES_PER_ROUND)
        .await?;
    busy |= due.len() as u32 == DELIVERIES_PER_ROUND;
    // Up to MAX_CONCURRENT_DELIVERIES POSTs at once; each attempt is recorded as it ends.
    let mut due = due.into_iter();
    let mut sending = tokio::task::JoinSet::new();
    loop {
        while sending.len() < MAX_CONCURRENT_DELIVERIES {
            let Some(delivery) = due.next() else {
                break;
            };
            let client = client.clone();
            sending.spawn(async move {
                let outcome = send(&client, &delivery).await;
                (delivery, outcome)
            });
        }
        let Some(done) = sending.join_next().await else {
            break;
        };
        let Ok((delivery, (delivered, status, error))) = done else {
            // A send that panicked: its delivery stays pending and is tried next round.
            stats.errors += 1;
            continue;
        };
        let now = crate::api::now_ms();
        let retry_at = (!delivered && delivery.attempts + 1 < config.max_attempts)
            .then(|| now + backoff(config, delivery.attempts).as_millis() as i64);
        if delivered {
            stats.delivered += 1;
        } else {
            stats.failed_attempts += 1;
        }
        records
            .record_delivery_attempt(
                delivery.id,
                delivered,
                status,
                error.as_deref(),
                retry_at,
                now,
            )
            .await?;
    }
    Ok(busy)
}

/// POSTs one delivery: whether it was delivered (2xx), the status, and the error.
async fn send(
    client: &reqwest::Client,
    delivery: &hotline_store::DueDelivery,
) -> (bool, Option<u16>, Option<String>) {
    let timestamp = crate::api::now_ms();
    let answer = client
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("x-hotline-event", &delivery.kind)
        .header("x-hotline-delivery", delivery.id.to_string())
        .header("x-hotline-timestamp", timestamp.to_string())
        .header(
            "x-hotline-signature",
            signature(&delivery.secret, timestamp, &delivery.payload),
        )
        .body(delivery.payload.clone())
        .send()
        .await;
    match answer {
        Ok(response) if response.status().is_success() => {
            (true, Some(response.status().as_u16()), None)
        }
        Ok(response) => (
            false,
            Some(response.status().as_u16()),
            Some(format!("answered {}", response.status())),
        ),
        Err(e) => (false, None, Some(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body_and_backoff_doubles_to_a_cap() {
        // Computed independently: Python's hmac.new(b"key", b"1.{}", sha256).
        assert_eq!(
            signature("key", 1, "{}"),
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
        let config = DispatchConfig {
            poll: Duration::from_millis(1),
            backoff: Duration::from_secs(30),
            max_attempts: MAX_ATTEMPTS,
        };
        assert_eq!(backoff(&config, 0), Duration::from_secs(30));
        assert_eq!(backoff(&config, 1), Duration::from_secs(60));
        assert_eq!(backoff(&config, 30), MAX_BACKOFF);
    }
}
