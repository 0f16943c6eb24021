//! Threshold alerts on the wall: a queue's service level under its goal, a caller waiting
//! longer than the limit, callbacks whose promise is about to be missed. They show on the
//! supervisors' wall (computed with each wall report) and go to the event log as
//! `alert.raised` / `alert.cleared` (a watch task compares each second), which webhooks
//! subscribed to `alert.` deliver to the company's pager or chat.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hotline_calendar::Calendar;
use hotline_store::{EventWriter, NewEvent};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::outbound_metrics::OutboundMetrics;
use crate::wall::{WallMetrics, WallReport};

/// `[wall] longest_wait_alert` when left out: a minute.
pub const DEFAULT_LONGEST_WAIT_ALERT_MS: i64 = 60_000;
/// `[wall] promise_alert` when left out: two minutes.
pub const DEFAULT_PROMISE_ALERT_MS: i64 = 120_000;
/// The longest limit either may set: a day.
pub const MAX_ALERT_LIMIT_MS: i64 = 86_400_000;
/// Contacts a queue needs today (answered or abandoned) before its service level can raise an
/// alert: two early misses are not a trend.
pub const SERVICE_LEVEL_MIN_CONTACTS: u64 = 10;
/// How often the watch task compares.
pub const ALERT_WATCH_EVERY: Duration = Duration::from_secs(1);

/// The limits (`[wall]`).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRules {
    /// A caller waiting longer than this raises `longest_wait`.
    pub longest_wait_ms: i64,
    /// A callback not dialled whose promise falls within this raises `callback_promise`.
    pub promise_within_ms: i64,
}

impl Default for AlertRules {
    fn default() -> AlertRules {
        AlertRules {
            longest_wait_ms: DEFAULT_LONGEST_WAIT_ALERT_MS,
            promise_within_ms: DEFAULT_PROMISE_ALERT_MS,
        }
    }
}

/// An alert on the wall.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Alert {
    /// `service_level`, `longest_wait` or `callback_promise`.
    pub kind: String,
    /// The queue (none: the whole center).
    pub queue: Option<String>,
    /// The figure now: the service level (fraction), the longest wait (ms), the callbacks
    /// about to be late (count).
    pub value: f64,
    /// The limit it crossed: the goal, the longest wait allowed (ms), how long before the
    /// promise (ms).
    pub limit: f64,
}

impl Alert {
    fn key(&self) -> (String, Option<String>) {
        (self.kind.clone(), self.queue.clone())
    }
}

/// The alerts of a wall report, with `promises_due` callbacks not dialled whose promise falls
/// within the limit.
pub fn alerts_of(report: &WallReport, promises_due: u64, rules: &AlertRules) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for queue in &report.queues {
        let f = &queue.figures;
        let goal = queue.service_level_goal;
        if let Some(level) = f.service_level {
            if f.answered + f.abandoned >= SERVICE_LEVEL_MIN_CONTACTS && level < goal {
                alerts.push(Alert {
                    kind: "service_level".into(),
                    queue: Some(queue.name.clone()),
                    value: level,
                    limit: goal,
                });
            }
        }
        if let Some(wait) = f.longest_wait_ms {
            if wait > rules.longest_wait_ms {
                alerts.push(Alert {
                    kind: "longest_wait".into(),
                    queue: Some(queue.name.clone()),
                    value: wait as f64,
                    limit: rules.longest_wait_ms as f64,
                });
            }
        }
    }
    if promises_due > 0 {
        alerts.push(Alert {
            kind: "callback_promise".into(),
            queue: None,
            value: promises_due as f64,
            limit: rules.promise_within_ms as f64,
        });
    }
    alerts
}

/// The alerts now, from the live projections.
pub fn current(
    wall: &WallMetrics,
    calendar: &Calendar,
    outbound: Option<&OutboundMetrics>,
    rules: &AlertRules,
    now_ms: i64,
) -> (WallReport, Vec<Alert>) {
    let report = wall.report(now_ms, calendar);
    let due = outbound.map_or(0, |o| o.promises_due(now_ms, rules.promise_within_ms));
    let alerts = alerts_of(&report, due, rules);
    (report, alerts)
}

/// Starts the watch: every [`ALERT_WATCH_EVERY`], the alerts are compared with the previous
/// ones; each new one is appended as `alert.raised`, each gone as `alert.cleared`. Stops when
/// `shutdown` turns true.
pub fn spawn(
    wall: WallMetrics,
    calendar: Arc<Calendar>,
    outbound: Option<OutboundMetrics>,
    rules: Arc<AlertRules>,
    events: EventWriter,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut raised: BTreeMap<(String, Option<String>), Alert> = BTreeMap::new();
        let mut written = 0;
        let mut ticks = tokio::time::interval(ALERT_WATCH_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return written;
                    }
                }
            }
            let now = crate::api::now_ms();
            let (_, alerts) = current(&wall, &calendar, outbound.as_ref(), &rules, now);
            let mut now_raised = BTreeMap::new();
            for alert in alerts {
                now_raised.insert(alert.key(), alert);
            }
            let mut rows = Vec::new();
            for (key, alert) in &now_raised {
                if !raised.contains_key(key) {
                    rows.push(alert_event("alert.raised", now, alert));
                }
            }
            for (key, alert) in &raised {
                if !now_raised.contains_key(key) {
                    rows.push(alert_event("alert.cleared", now, alert));
                }
            }
            for row in rows {
                // A full log drops the row; the next comparison does not raise it again
                // (what is raised now is remembered either way).
                if events.try_append(row).await.is_ok() {
                    written += 1;
                }
            }
            raised = now_raised;
        }
    })
}

fn alert_event(kind: &str, at_ms: i64, alert: &Alert) -> NewEvent {
    NewEvent {
        at_ms,
        kind: kind.to_string(),
        contact_id: None,
        agent: None,
        queue: alert.queue.clone(),
        data: serde_json::json!({
            "kind": alert.kind,
            "queue": alert.queue,
            "value": alert.value,
            "limit": alert.limit,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wall::{QueueFigures, QueueRow};

    fn figures(
        answered: u64,
        abandoned: u64,
        level: Option<f64>,
        wait: Option<i64>,
    ) -> QueueFigures {
        QueueFigures {
            waiting: u64::from(wait.is_some()),
            longest_wait_ms: wait,
            callbacks_pending: 0,
            offered: answered + abandoned,
            answered,
            abandoned,
            service_level: level,
            asa_ms: None,
            abandonment_rate: None,
            connect_rate: None,
            callback_timeliness: None,
        }
    }

    fn report(queues: Vec<(&str, QueueFigures)>) -> WallReport {
        WallReport {
            at_ms: 0,
            today_from_ms: 0,
            center: figures(0, 0, None, None),
            queues: queues
                .into_iter()
                .map(|(name, figures)| QueueRow {
                    name: name.into(),
                    service_level_goal: if name == "vip" { 0.9 } else { 0.8 },
                    figures,
                })
                .collect(),
            agents: Vec::new(),
            alerts: Vec::new(),
            outbound: None,
        }
    }

    #[test]
    fn a_low_service_level_counts_only_after_enough_contacts_and_a_long_wait_at_once() {
        let rules = AlertRules::default();
        let wall = report(vec![
            // 85 % under a 90 % goal, with 20 contacts: raised.
            ("vip", figures(17, 3, Some(0.85), None)),
            // 50 % but only 4 contacts: not yet.
            ("general", figures(2, 2, Some(0.5), Some(61_000))),
        ]);
        let alerts = alerts_of(&wall, 2, &rules);
        let kinds: Vec<(&str, Option<&str>)> = alerts
            .iter()
            .map(|a| (a.kind.as_str(), a.queue.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("service_level", Some("vip")),
                ("longest_wait", Some("general")),
                ("callback_promise", None),
            ]
        );
        assert_eq!(alerts[0].limit, 0.9);
        assert_eq!(alerts[2].value, 2.0);
        // Under every limit: nothing.
        let calm = report(vec![("general", figures(30, 0, Some(1.0), Some(5_000)))]);
        assert!(alerts_of(&calm, 0, &AlertRules::default()).is_empty());
    }
}
