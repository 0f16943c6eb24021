//! Properties of the dialer over random sequences of inputs on a virtual clock, under the
//! rules of `fixtures/dialer.toml`, with restarts from snapshots in between:
//!
//! - an attempt number is never handed out twice for a task, and each is one more than the
//!   last;
//! - every dial starts when the number's legal hours and the customer's contact hours are
//!   open, inside the task's window, within the attempt limits in all and per local date;
//! - the indexes agree with the tasks after every input ([`Dialer::check_invariants`]);
//! - a due task is not left behind: after a poll with spare capacity, nothing is due at
//!   `now`.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use hotline_calendar::Calendar;
use hotline_dialer::{
    CancelReason, CustomerKey, Dialer, NewTask, Outcome, RequestedWindow, TaskId,
};
use proptest::prelude::*;

/// Monday 2026-09-28 00:00 in Shanghai, where the clock starts; National Day follows.
const START_MS: u64 = 1_790_524_800_000;

#[derive(Clone, Debug)]
enum Input {
    Add {
        customer: u64,
        reason: u8,
        number: u8,
        class: u8,
        score: u32,
        window: Option<(u64, u64)>,
        evenings: bool,
    },
    Advance(u64),
    Poll(usize),
    Outcome(usize, u8),
    Cancel(usize),
    Restart,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (0..12u64, 0..3u8, 0..4u8, 0..3u8, 0..4u32, proptest::option::of((0..3 * DAY_MS, 1..2 * DAY_MS)), any::<bool>())
            .prop_map(|(customer, reason, number, class, score, window, evenings)| Input::Add {
                customer, reason, number, class, score, window, evenings,
            }),
        4 => (0..6 * HOUR_MS).prop_map(Input::Advance),
        4 => (0..4usize).prop_map(Input::Poll),
        5 => (0..8usize, 0..7u8).prop_map(|(pick, outcome)| Input::Outcome(pick, outcome)),
        1 => (0..8usize).prop_map(Input::Cancel),
        1 => Just(Input::Restart),
    ]
}

const NUMBERS: [&str; 4] = [
    "+8613812345678",
    "+85291234567",
    "+12125550123",
    "+18085550123",
];
const OUTCOMES: [Outcome; 7] = [
    Outcome::Connected,
    Outcome::Busy,
    Outcome::NoAnswer,
    Outcome::Rejected,
    Outcome::NetworkFailure,
    Outcome::InvalidNumber,
    Outcome::Unknown,
];

/// What the test knows of a task from outside.
struct Known {
    number: &'static str,
    evenings: bool,
    window_start_ms: u64,
    window_end_ms: u64,
    /// The attempts handed out, with the local date of each in the legal hours.
    attempts: Vec<u32>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_dialer_keeps_its_promises(inputs in proptest::collection::vec(input(), 1..80)) {
        let rules = rules();
        let evenings = calendar(
            r#"
            name = "evenings"
            weekly = { mon = "19:00-21:00", tue = "19:00-21:00", wed = "19:00-21:00", thu = "19:00-21:00", fri = "19:00-21:00" }
            "#,
        );
        let mut dialer = Dialer::new(rules.clone());
        let mut now = START_MS;
        let mut known: HashMap<TaskId, Known> = HashMap::new();
        let mut dialling: Vec<(TaskId, u32)> = Vec::new();

        for input in inputs {
            match input {
                Input::Add { customer, reason, number, class, score, window, evenings: wants_evenings } => {
                    let window = match window {
                        None => RequestedWindow::Asap,
                        Some((start, length)) => RequestedWindow::Between {
                            start_ms: now + start,
                            end_ms: now + start + length,
                        },
                    };
                    let task = NewTask {
                        customer: CustomerKey(customer),
                        reason: format!("reason{reason}"),
                        number: NUMBERS[usize::from(number)].to_owned(),
                        priority_class: class,
                        value_score: score,
                        window,
                        contact_hours: wants_evenings.then(|| Arc::clone(&evenings)),
                    };
                    if let Ok(accepted) = dialer.add(now, task) {
                        prop_assert!(accepted.due_ms >= now);
                        prop_assert_eq!(accepted.promised_ms, accepted.due_ms + 30_000);
                        let (window_start_ms, window_end_ms) = match window {
                            RequestedWindow::Asap => (now, now + 3 * DAY_MS),
                            RequestedWindow::Between { start_ms, end_ms } => (start_ms, end_ms),
                        };
                        known.insert(accepted.id, Known {
                            number: NUMBERS[usize::from(number)],
                            evenings: wants_evenings,
                            window_start_ms,
                            window_end_ms,
                            attempts: Vec::new(),
                        });
                    }
                }
                Input::Advance(ms) => now += ms,
                Input::Poll(max) => {
                    let orders = dialer.poll_due(now, max);
                    prop_assert!(orders.len() <= max);
                    for order in &orders {
                        let task = known.get_mut(&order.task).expect("a known task");
                        prop_assert_eq!(order.attempt as usize, task.attempts.len() + 1);
                        let legal = rules.legal_hours_for(&order.number);
                        prop_assert!(legal.is_open(now), "legal hours closed at {}", now);
                        if task.evenings {
                            prop_assert!(evenings.is_open(now));
                        }
                        prop_assert!(task.window_start_ms <= now && now < task.window_end_ms);
                        prop_assert_eq!(order.number.as_str(), task.number);
                        let day = local_day(legal, now);
                        task.attempts.push(day);
                        prop_assert!(task.attempts.len() as u32 <= rules.max_attempts());
                        let on_day = task.attempts.iter().filter(|&&d| d == day).count() as u32;
                        prop_assert!(on_day <= rules.max_attempts_per_day());
                        dialling.push((order.task, order.attempt));
                    }
                    if orders.len() < max {
                        // Capacity was left over: nothing due now may still wait.
                        prop_assert!(dialer.next_wakeup().is_none_or(|at| at > now));
                    }
                }
                Input::Outcome(pick, outcome) => {
                    if dialling.is_empty() {
                        continue;
                    }
                    let (task, attempt) = dialling.remove(pick % dialling.len());
                    let result = dialer.outcome(now, task, attempt, OUTCOMES[usize::from(outcome)]);
                    // Refused only when the task ended meanwhile (cancelled) or the attempt
                    // was given up in a restart.
                    if let Ok(hotline_dialer::Next::RetryAt(at)) = result {
                        prop_assert!(at > now);
                    }
                }
                Input::Cancel(pick) => {
                    let ids: Vec<TaskId> = {
                        let mut ids: Vec<TaskId> = known.keys().copied().collect();
                        ids.sort();
                        ids
                    };
                    if let Some(&id) = ids.get(pick % ids.len().max(1)) {
                        let _ = dialer.cancel(now, id, CancelReason::ByCustomer);
                    }
                }
                Input::Restart => {
                    let snapshots: Vec<String> = known
                        .keys()
                        .filter_map(|&id| dialer.snapshot(id))
                        .map(|snapshot| serde_json::to_string(&snapshot).unwrap())
                        .collect();
                    let next_id = dialer.next_task_id();
                    dialer = Dialer::with_next_id(rules.clone(), next_id);
                    for text in snapshots {
                        let snapshot: hotline_dialer::TaskSnapshot = serde_json::from_str(&text).unwrap();
                        let contact = known[&snapshot.id].evenings.then(|| Arc::clone(&evenings));
                        prop_assert!(dialer.restore(now, &snapshot, contact).is_ok());
                    }
                    // Attempts in flight were given up; their outcomes are refused.
                    for (task, attempt) in dialling.drain(..) {
                        prop_assert!(dialer.outcome(now, task, attempt, Outcome::Connected).is_err());
                    }
                }
            }
            while dialer.poll_event().is_some() {}
            dialer.check_invariants().map_err(TestCaseError::fail)?;
        }
    }
}

/// The local date of `at_ms` in `calendar`'s zone, as `YYYYMMDD`.
fn local_day(calendar: &Calendar, at_ms: u64) -> u32 {
    let local = calendar.local_time(at_ms);
    local.year as u32 * 10_000 + u32::from(local.month) * 100 + u32::from(local.day)
}
