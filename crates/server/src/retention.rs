//! Retention: a task that removes the personal data of old interactions (their summaries),
//! survey answers (their comments) and call recordings (the files) once they are older than
//! the configured number of days (`[records] retention_days`). The interactions themselves
//! stay, for the statistics. It also prunes the campaigns' per-minute abandon counts older
//! than their 30-day window.

use std::time::Duration;

use hotline_store::Records;
use tokio::sync::watch;

/// How often the sweep runs (and once at start).
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(3_600);
/// How long the campaigns' per-minute abandon counts are kept: their longest rolling window
/// (30 days) and a day.
pub const CAMPAIGN_ABANDONS_KEPT_DAYS: u32 = 31;
/// The longest retention a configuration may set: ten years.
pub const MAX_RETENTION_DAYS: u32 = 3_650;

/// Starts the sweep over the records and the recordings in `recordings` (if any); it stops
/// when `shutdown` turns true. Answers how many interactions it redacted.
pub fn spawn(
    records: Records,
    recordings: Option<std::path::PathBuf>,
    retention_days: u32,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut redacted = 0;
        loop {
            let now = crate::api::now_ms();
            let before = now - i64::from(retention_days) * 86_400_000;
            // A failed sweep is tried again at the next interval; nothing is lost by waiting.
            if let Ok(count) = records
                .redact_interactions_before(before, now, "retention")
                .await
            {
                redacted += count;
            }
            if let Some(dir) = recordings.clone() {
                let cutoff = std::time::SystemTime::now()
                    .checked_sub(Duration::from_secs(u64::from(retention_days) * 86_400));
                if let Some(cutoff) = cutoff {
                    let removed = tokio::task::spawn_blocking(move || {
                        crate::recordings::remove_older_than(&dir, cutoff)
                    })
                    .await;
                    if let Ok(Ok(count)) = removed {
                        if count > 0 {
                            let _ = records
                                .audit(
                                    now,
                                    "retention",
                                    "recording.delete",
                                    "recordings",
                                    &format!("{count} recordings older than {retention_days} days"),
                                )
                                .await;
                        }
                    }
                }
            }
            // The campaigns' abandon counts outlive their 30-day window by a day, whatever the
            // retention (they hold no personal data).
            let _ = records
                .prune_campaign_abandons(now - i64::from(CAMPAIGN_ABANDONS_KEPT_DAYS) * 86_400_000)
                .await;
            tokio::select! {
                _ = tokio::time::sleep(RETENTION_INTERVAL) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return redacted;
                    }
                }
            }
        }
    })
}
