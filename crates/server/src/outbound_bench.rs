//! `hotline bench outbound`: trigger → first dial under load. The outbound task runs as in
//! `hotline serve` (SQLite records and event log on disk, durable before each answer); a
//! stand-in for the switch's run loop takes its attempts (always free agents) and answers
//! each as connected. First `pending` requests for tomorrow are stored (they wait), then
//! requests to call back at once arrive at `rate` per second for `seconds`.
//!
//! Trigger → first dial is measured from the request being handed to the outbound task
//! (what the API does once the request is read) to its attempt reaching the switch: the
//! dialler's whole part (dedupe, promise, the stored request, the `callback.requested` event,
//! the claim stored before the dial). Agent first, the customer's phone rings once the
//! reserved agent answers (a person's time) and the switch's INVITE leaves in the same turn.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hotline_phone::{normalize, NumberContext};
use hotline_store::{Keyring, Records, SqliteEventLog, WriterConfig};

use crate::outbound::{self, CallbackRequest, Dialling, OutboundReport};
use crate::switch::{OutboundCapacity, OutboundResult};

/// The most requests the benchmark stores or sends.
pub const MAX_BENCH_REQUESTS: u64 = 1_000_000;
/// Requests stored at once while filling the pending ones.
const FILL_CONCURRENCY: usize = 64;

/// What `hotline bench outbound` measured.
#[derive(Clone, Debug)]
pub struct OutboundBenchReport {
    /// Tasks waiting (for tomorrow) during the measurement.
    pub pending: u64,
    /// Requests sent at once-callback during the measurement.
    pub arrivals: u64,
    /// The rate they were sent at, per second.
    pub rate: u32,
    /// Arrivals whose attempt reached the switch.
    pub dialled: u64,
    /// Tomorrow's tasks that reached the switch (none should).
    pub pending_dialled: u64,
    /// Seconds to store the pending tasks.
    pub fill_seconds: f64,
    /// Trigger → accepted (the answer to the request), ms: p50, p99, max.
    pub accepted_ms: [f64; 3],
    /// Trigger → first dial, ms: p50, p95, p99, max.
    pub first_dial_ms: [f64; 4],
}

impl std::fmt::Display for OutboundBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a50, a99, amax] = self.accepted_ms;
        let [d50, d95, d99, dmax] = self.first_dial_ms;
        write!(
            f,
            "{} pending (stored in {:.1} s); {} requests at {}/s, {} dialled; \
             trigger → accepted p50 {a50:.1} ms, p99 {a99:.1} ms, max {amax:.1} ms; \
             trigger → first dial p50 {d50:.1} ms, p95 {d95:.1} ms, p99 {d99:.1} ms, \
             max {dmax:.1} ms",
            self.pending, self.fill_seconds, self.arrivals, self.rate, self.dialled
        )
    }
}

/// A request of a customer without a record, to call `number` back, ASAP or from `start_ms`.
fn bench_request(number: &str, window: Option<(i64, i64)>) -> CallbackRequest {
    let number = normalize(number, &NumberContext::default()).expect("a valid mobile number");
    let mut request =
        CallbackRequest::for_number(number, "web_form", "bench", crate::api::now_ms());
    request.window = window;
    request
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Runs the benchmark in `dir` (records and event log are made there).
pub async fn run(
    dir: &std::path::Path,
    pending: u64,
    rate: u32,
    seconds: u64,
) -> Result<OutboundBenchReport, Box<dyn std::error::Error + Send + Sync>> {
    let pending = pending.min(MAX_BENCH_REQUESTS);
    let arrivals = (u64::from(rate) * seconds).min(MAX_BENCH_REQUESTS);
    let records = Records::open(dir.join("records.db"), Keyring::generate()?).await?;
    let log = SqliteEventLog::open(dir.join("events.db")).await?;
    let events = hotline_store::EventWriter::spawn(log, WriterConfig::default())?;
    let rules = always_open_rules();
    let (switch_side, dialler_side) = outbound::link();
    let (outbound, task) = outbound::spawn(
        records.clone(),
        rules.clone(),
        rules.default_legal_hours().clone(),
        Duration::from_secs(3_600),
        Some(Dialling {
            side: dialler_side,
            events: Some(events.clone()),
            max_in_flight: crate::switch::MAX_OUTBOUND_ATTEMPTS as u32,
            notices: None,
            mode: crate::switch::OutboundMode::AgentFirst,
            agents: Vec::new(),
            queues: Vec::new(),
        }),
    )
    .await?;

    // The switch's stand-in: free agents always; every attempt connects at once.
    let received: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let crate::outbound::SwitchSide {
        mut calls,
        reports,
        capacity,
        ..
    } = switch_side;
    capacity.send_replace(OutboundCapacity {
        free_agents: 1_000_000,
        calls_taken: 0,
        attempts_held: 0,
    });
    let switch = {
        let received = received.clone();
        tokio::spawn(async move {
            let mut taken = 0u64;
            let mut contact = 0u64;
            while let Some(call) = calls.recv().await {
                let now = Instant::now();
                received
                    .lock()
                    .expect("not poisoned")
                    .insert(call.number.clone(), now);
                taken += 1;
                contact += 1;
                capacity.send_modify(|c| c.calls_taken = taken);
                let _ = reports
                    .send(OutboundReport {
                        task: call.task,
                        attempt: call.attempt,
                        contact: hotline_routing::ContactId(contact),
                        result: OutboundResult::Connected,
                        at_ms: crate::api::now_ms() as u64,
                    })
                    .await;
            }
        })
    };

    // Tomorrow's requests: they wait through the measurement.
    let fill_started = Instant::now();
    let tomorrow = crate::api::now_ms() + 86_400_000;
    let mut next = 0u64;
    while next < pending {
        let batch: Vec<_> = (next..(next + FILL_CONCURRENCY as u64).min(pending))
            .map(|i| {
                let outbound = outbound.clone();
                let number = format!("1390{:07}", i);
                tokio::spawn(async move {
                    outbound
                        .submit(bench_request(
                            &number,
                            Some((tomorrow, tomorrow + 3_600_000)),
                        ))
                        .await
                })
            })
            .collect();
        next += batch.len() as u64;
        for request in batch {
            request.await??;
        }
    }
    let fill_seconds = fill_started.elapsed().as_secs_f64();

    // Requests to call back at once, at `rate` per second.
    let triggers: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let accepted: Arc<Mutex<Vec<f64>>> = Arc::default();
    let started = tokio::time::Instant::now();
    let mut senders = Vec::with_capacity(arrivals as usize);
    for i in 0..arrivals {
        let at = started + Duration::from_secs_f64(i as f64 / f64::from(rate.max(1)));
        tokio::time::sleep_until(at).await;
        let number = format!("+861380{:07}", i);
        let outbound = outbound.clone();
        let triggers = triggers.clone();
        let accepted = accepted.clone();
        senders.push(tokio::spawn(async move {
            let trigger = Instant::now();
            triggers
                .lock()
                .expect("not poisoned")
                .insert(number.clone(), trigger);
            let answer = outbound.submit(bench_request(&number, None)).await;
            accepted
                .lock()
                .expect("not poisoned")
                .push(trigger.elapsed().as_secs_f64() * 1e3);
            answer
        }));
    }
    for sender in senders {
        sender.await??;
    }
    // Wait (at most 30 s) for the last attempts to reach the switch.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reached = {
            let received = received.lock().expect("not poisoned");
            let triggers = triggers.lock().expect("not poisoned");
            triggers
                .keys()
                .filter(|n| received.contains_key(*n))
                .count() as u64
        };
        if reached >= arrivals || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut first_dial: Vec<f64> = {
        let received = received.lock().expect("not poisoned");
        let triggers = triggers.lock().expect("not poisoned");
        triggers
            .iter()
            .filter_map(|(number, trigger)| {
                received
                    .get(number)
                    .map(|at| at.saturating_duration_since(*trigger).as_secs_f64() * 1e3)
            })
            .collect()
    };
    first_dial.sort_by(f64::total_cmp);
    let pending_dialled = {
        let received = received.lock().expect("not poisoned");
        received.keys().filter(|n| n.starts_with("+861390")).count() as u64
    };
    let mut accepted = std::mem::take(&mut *accepted.lock().expect("not poisoned"));
    accepted.sort_by(f64::total_cmp);
    drop(outbound);
    let _ = task.await;
    switch.abort();
    Ok(OutboundBenchReport {
        pending,
        arrivals,
        rate,
        dialled: first_dial.len() as u64,
        pending_dialled,
        fill_seconds,
        accepted_ms: [
            percentile(&accepted, 0.50),
            percentile(&accepted, 0.99),
            accepted.last().copied().unwrap_or(f64::NAN),
        ],
        first_dial_ms: [
            percentile(&first_dial, 0.50),
            percentile(&first_dial, 0.95),
            percentile(&first_dial, 0.99),
            first_dial.last().copied().unwrap_or(f64::NAN),
        ],
    })
}

/// The dialer's rules with legal hours all day (the benchmark runs at any hour).
fn always_open_rules() -> hotline_dialer::DialerRules {
    let all_day = hotline_calendar::WeeklySpec {
        mon: Some("00:00-24:00".into()),
        tue: Some("00:00-24:00".into()),
        wed: Some("00:00-24:00".into()),
        thu: Some("00:00-24:00".into()),
        fri: Some("00:00-24:00".into()),
        sat: Some("00:00-24:00".into()),
        sun: Some("00:00-24:00".into()),
    };
    let config = hotline_dialer::DialerConfig {
        legal_hours: hotline_calendar::CalendarSpec {
            name: "all_day".into(),
            time_zone: None,
            weekly: all_day,
            holidays: Vec::new(),
            workdays: Vec::new(),
        },
        ..hotline_dialer::DialerConfig::default()
    };
    hotline_dialer::DialerRules::from_config(&config).expect("valid rules")
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_run_dials_every_arrival_and_leaves_the_pending_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let report = super::run(dir.path(), 50, 50, 1).await.unwrap();
        assert_eq!(report.arrivals, 50);
        assert_eq!(report.dialled, 50, "{report}");
        assert_eq!(report.pending_dialled, 0, "tomorrow's tasks wait");
        assert!(report.first_dial_ms[3] >= report.first_dial_ms[0]);
    }
}
