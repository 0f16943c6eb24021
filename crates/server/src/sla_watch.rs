//! The tickets' SLA watch: a task that looks at each ticket when its SLA report is due to
//! change (`next_check_ms`, kept by the store), so that warnings, breaches and escalations
//! are recorded in the ticket's history when they happen, not when someone next opens it.

use std::sync::Arc;
use std::time::Duration;

use hotline_store::{EventWriter, NewEvent, Records, SLA_CHECK_BATCH};
use hotline_tickets::TicketRules;
use tokio::sync::watch;

/// The longest the watch sleeps: tickets created or changed meanwhile may be due sooner
/// than the earliest check it saw.
pub const SLA_WATCH_MAX_SLEEP: Duration = Duration::from_secs(15);

/// What the watch counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlaWatchStats {
    /// Warnings and breaches recorded.
    pub changes: u64,
    /// Checks that failed (tried again at the next wake-up).
    pub errors: u64,
}

/// Starts the watch; it stops when `shutdown` turns true.
///
/// Each warning is a `ticket.sla_warning` event in `events` (when given), each breach a
/// `ticket.overdue`, with the target and whom it escalated to.
pub fn spawn(
    records: Records,
    rules: Arc<TicketRules>,
    events: Option<EventWriter>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<SlaWatchStats> {
    tokio::spawn(async move {
        let mut stats = SlaWatchStats::default();
        loop {
            // Check everything due, a batch at a time.
            loop {
                match records
                    .check_ticket_slas(&rules, crate::api::now_ms())
                    .await
                {
                    Ok(changes) => {
                        stats.changes += changes.len() as u64;
                        if let Some(events) = &events {
                            for change in &changes {
                                let kind = if change.state == "breached" {
                                    "ticket.overdue"
                                } else {
                                    "ticket.sla_warning"
                                };
                                let event = NewEvent::new(crate::api::now_ms(), kind).with_data(
                                    serde_json::json!({
                                        "ticket_id": change.ticket.0,
                                        "target": change.target,
                                        "escalated_to": change.escalated_to,
                                    }),
                                );
                                // The history holds it already; the event only notifies.
                                let _ = events.append(event).await;
                            }
                        }
                        if changes.len() < SLA_CHECK_BATCH as usize {
                            break;
                        }
                    }
                    Err(_) => {
                        stats.errors += 1;
                        break;
                    }
                }
            }
            let sleep = match records.next_ticket_check().await {
                Ok(Some(next)) => {
                    let wait = next.saturating_sub(crate::api::now_ms()).max(0) as u64;
                    Duration::from_millis(wait).min(SLA_WATCH_MAX_SLEEP)
                }
                _ => SLA_WATCH_MAX_SLEEP,
            };
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return stats;
                    }
                }
            }
        }
    })
}
