//! The dialer driven through its public API on a virtual clock, under the rules of
//! `fixtures/dialer.toml` (or the defaults where a case says so). Instants are written as
//! wall-clock time (Shanghai unless named), so that each case reads as the clock it tests.
//! Monday 2026-09-28 is the usual day; National Day (1-7 October) is a legal holiday.

mod common;

use std::sync::Arc;

use common::*;
use hotline_dialer::{
    AddError, Blocked, CancelError, CancelReason, ClaimError, CustomerKey, Dialer, DialerConfig,
    DialerRules, Event, FailReason, Next, Outcome, OutcomeError, RequestedWindow, RestoreError,
    Restored, TaskId, TaskSnapshot, TaskState, EVENTS_MAX,
};

/// Hands out exactly one order at `now_ms` and returns it.
fn poll_one(dialer: &mut Dialer, now_ms: u64) -> hotline_dialer::DialOrder {
    let orders = dialer.poll_due(now_ms, 10);
    assert_eq!(orders.len(), 1, "at {now_ms}: {orders:?}");
    orders[0]
}

#[test]
fn the_time_helpers_agree_with_known_instants() {
    // The calendar crate's example: Monday 2026-09-28 07:59:59.999 in Shanghai.
    assert_eq!(sh("2026-09-28 08:00") - 1, 1_790_553_599_999);
    assert_eq!(utc("1970-01-01 00:00:01"), 1_000);
    assert_eq!(ny_summer("2026-09-28 08:00"), sh("2026-09-28 20:00"));
}

#[test]
fn asap_is_due_at_once_with_the_promise() {
    // The default rules: 08:00-21:00 in Shanghai, a promise 30 s after the first instant.
    let mut dialer = Dialer::new(DialerRules::default());
    let now = sh("2026-09-28 10:00");
    let accepted = dialer.add(now, task(1, "web_form")).unwrap();
    assert_eq!(accepted.due_ms, now);
    assert_eq!(accepted.promised_ms, now + 30 * SECOND_MS);
    assert_eq!(
        dialer.state(accepted.id),
        Some(TaskState::Waiting { due_ms: now })
    );
    assert_eq!(dialer.next_wakeup(), Some(now));

    let order = poll_one(&mut dialer, now);
    assert_eq!(order.task, accepted.id);
    assert_eq!(order.attempt, 1);
    assert_eq!(order.number.as_str(), MAINLAND);
    assert_eq!(order.customer, CustomerKey(1));
    assert_eq!(
        dialer.state(accepted.id),
        Some(TaskState::Dialling {
            attempt: 1,
            started_ms: now
        })
    );
    assert_eq!(
        drain(&mut dialer),
        [Event::AttemptStarted {
            task: accepted.id,
            attempt: 1,
            at_ms: now
        }]
    );
    // Claimed: not handed out again while dialling.
    assert!(dialer.poll_due(now + MINUTE_MS, 10).is_empty());
    assert_eq!(dialer.next_wakeup(), None);
    dialer.check_invariants().unwrap();
}

#[test]
fn a_request_outside_the_contact_hours_waits_until_they_open() {
    let mut dialer = dialer();
    // "Weekday evenings 19:00-21:00 only".
    let evenings = calendar(
        r#"
        name = "evenings"
        weekly = { mon = "19:00-21:00", tue = "19:00-21:00", wed = "19:00-21:00", thu = "19:00-21:00", fri = "19:00-21:00" }
        "#,
    );
    let now = sh("2026-09-28 10:00");
    let mut request = task(1, "wechat");
    request.contact_hours = Some(Arc::clone(&evenings));
    let accepted = dialer.add(now, request).unwrap();
    assert_eq!(accepted.due_ms, sh("2026-09-28 19:00"));
    assert_eq!(
        accepted.promised_ms,
        sh("2026-09-28 19:00") + 30 * SECOND_MS
    );
    assert!(dialer.poll_due(sh("2026-09-28 18:59"), 10).is_empty());
    assert_eq!(dialer.next_wakeup(), Some(sh("2026-09-28 19:00")));
    assert_eq!(
        poll_one(&mut dialer, sh("2026-09-28 19:00")).task,
        accepted.id
    );
}

#[test]
fn contact_hours_in_the_customers_time_zone_meet_the_legal_hours() {
    let mut dialer = dialer();
    // A customer in London, 09:00-17:00 their time (BST, UTC+1): 16:00-24:00 in Shanghai,
    // where the legal hours end at 21:00. The window is 16:00-21:00 Shanghai time.
    let london = calendar(
        r#"
        name = "london_office"
        time_zone = "Europe/London"
        weekly = { mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" }
        "#,
    );
    let mut request = task(1, "app");
    request.contact_hours = Some(london);
    let accepted = dialer.add(sh("2026-09-28 10:00"), request).unwrap();
    assert_eq!(accepted.due_ms, sh("2026-09-28 16:00"));
    // Busy at 20:58: five minutes later the legal hours are closed (21:00 Shanghai), and at
    // 08:00 the next morning London is not open yet (01:00 there): 16:00 on Tuesday.
    let order = poll_one(&mut dialer, sh("2026-09-28 20:58"));
    let next = dialer
        .outcome(
            sh("2026-09-28 20:58"),
            order.task,
            order.attempt,
            Outcome::Busy,
        )
        .unwrap();
    assert_eq!(next, Next::RetryAt(sh("2026-09-29 16:00")));
}

#[test]
fn the_legal_hours_hold_a_late_request_until_eight() {
    let mut dialer = dialer();
    let accepted = dialer
        .add(sh("2026-09-28 22:00"), task(1, "web_form"))
        .unwrap();
    assert_eq!(accepted.due_ms, sh("2026-09-29 08:00"));
    assert_eq!(
        accepted.promised_ms,
        sh("2026-09-29 08:00") + 30 * SECOND_MS
    );
    assert!(dialer.poll_due(sh("2026-09-29 07:59"), 10).is_empty());
    assert_eq!(
        poll_one(&mut dialer, sh("2026-09-29 08:00")).task,
        accepted.id
    );
}

#[test]
fn no_calls_on_a_legal_holiday() {
    let mut dialer = dialer();
    // Wednesday 30 September 22:00, before National Day: the next legal instant is Thursday
    // 8 October 08:00.
    let now = sh("2026-09-30 22:00");
    let mut request = task(1, "after_sales");
    request.window = RequestedWindow::Between {
        start_ms: now,
        end_ms: sh("2026-10-10 00:00"),
    };
    let accepted = dialer.add(now, request).unwrap();
    assert_eq!(accepted.due_ms, sh("2026-10-08 08:00"));
    assert!(dialer.poll_due(sh("2026-10-03 12:00"), 10).is_empty());

    // ASAP requests are valid for three days: none of them is a legal day.
    assert_eq!(
        dialer.add(now, task(2, "after_sales")),
        Err(AddError::WindowNeverOpens {
            blocked: Blocked::WindowEnded
        })
    );
}

#[test]
fn a_region_override_uses_its_own_hours() {
    let mut dialer = dialer();
    let mut hong_kong = task(1, "web_form");
    hong_kong.number = "+85291234567".to_owned();
    // Sunday: Hong Kong's legal hours are closed all day (the mainland's are open).
    let accepted = dialer
        .add(sh("2026-09-27 10:00"), hong_kong.clone())
        .unwrap();
    assert_eq!(accepted.due_ms, sh("2026-09-28 09:00"));
    dialer
        .cancel(
            sh("2026-09-27 10:00"),
            accepted.id,
            CancelReason::ByCustomer,
        )
        .unwrap();
    // Monday 08:30: the mainland is open, Hong Kong opens at 09:00.
    let accepted = dialer.add(sh("2026-09-28 08:30"), hong_kong).unwrap();
    assert_eq!(accepted.due_ms, sh("2026-09-28 09:00"));

    // New York: Monday 10:00 in Shanghai is Sunday 22:00 there; 08:00 on Monday in New York
    // is 20:00 in Shanghai.
    let mut new_york = task(2, "web_form");
    new_york.number = "+12125550123".to_owned();
    let accepted = dialer.add(sh("2026-09-28 10:00"), new_york).unwrap();
    assert_eq!(accepted.due_ms, ny_summer("2026-09-28 08:00"));
    assert_eq!(accepted.due_ms, sh("2026-09-28 20:00"));

    // Honolulu's prefix +1808 is longer than +1: Sunday 16:00 there, open now.
    let mut honolulu = task(3, "web_form");
    honolulu.number = "+18085550123".to_owned();
    let accepted = dialer.add(sh("2026-09-28 10:00"), honolulu).unwrap();
    assert_eq!(accepted.due_ms, sh("2026-09-28 10:00"));
    assert_eq!(
        dialer
            .rules()
            .legal_hours_for(&hotline_dialer::E164Number::parse("+18085550123").unwrap())
            .name(),
        "hawaii"
    );
}

#[test]
fn attempts_per_day_move_the_next_try_to_tomorrow() {
    // Two attempts a day in the fixture.
    let mut dialer = dialer();
    let id = dialer
        .add(sh("2026-09-28 10:00"), task(1, "web_form"))
        .unwrap()
        .id;
    let first = poll_one(&mut dialer, sh("2026-09-28 10:00"));
    assert_eq!(
        dialer.outcome(sh("2026-09-28 10:01"), id, first.attempt, Outcome::NoAnswer),
        Ok(Next::RetryAt(sh("2026-09-28 10:21")))
    );
    let second = poll_one(&mut dialer, sh("2026-09-28 10:21"));
    assert_eq!(second.attempt, 2);
    assert_eq!(
        dialer.outcome(sh("2026-09-28 10:22"), id, 2, Outcome::NoAnswer),
        Ok(Next::RetryAt(sh("2026-09-29 08:00")))
    );
    let snapshot = dialer.snapshot(id).unwrap();
    assert_eq!(
        (
            snapshot.attempts,
            snapshot.attempts_day,
            snapshot.attempts_on_day
        ),
        (2, 20260928, 2)
    );
    assert!(dialer.poll_due(sh("2026-09-28 20:00"), 10).is_empty());
    let third = poll_one(&mut dialer, sh("2026-09-29 08:00"));
    assert_eq!(third.attempt, 3);
    let snapshot = dialer.snapshot(id).unwrap();
    assert_eq!(
        (snapshot.attempts_day, snapshot.attempts_on_day),
        (20260929, 1)
    );
}

#[test]
fn attempts_in_total_run_out_and_the_task_fails() {
    // Four attempts in all, two a day, in the fixture.
    let mut dialer = dialer();
    let id = dialer
        .add(sh("2026-09-28 10:00"), task(1, "web_form"))
        .unwrap()
        .id;
    let mut now = sh("2026-09-28 10:00");
    for attempt in 1..=3 {
        let order = poll_one(&mut dialer, now);
        assert_eq!(order.attempt, attempt);
        match dialer.outcome(now, id, attempt, Outcome::Busy).unwrap() {
            Next::RetryAt(at_ms) => now = at_ms,
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    // Attempts 1 and 2 on Monday, 3 and 4 on Tuesday.
    assert_eq!(now, sh("2026-09-29 08:05"));
    let order = poll_one(&mut dialer, now);
    assert_eq!(order.attempt, 4);
    drain(&mut dialer);
    let failed = FailReason::AttemptsExhausted { attempts: 4 };
    assert_eq!(
        dialer.outcome(now, id, 4, Outcome::Busy),
        Ok(Next::Failed(failed))
    );
    assert_eq!(
        drain(&mut dialer),
        [
            Event::AttemptEnded {
                task: id,
                attempt: 4,
                outcome: Outcome::Busy,
                at_ms: now
            },
            Event::TaskFailed {
                task: id,
                reason: failed,
                at_ms: now
            }
        ]
    );
    assert_eq!(dialer.state(id), None);
    assert!(dialer.is_empty());
    assert_eq!(
        dialer.outcome(now, id, 4, Outcome::Connected),
        Err(OutcomeError::UnknownTask { task: id })
    );
}

#[test]
fn each_outcome_retries_after_its_own_delay() {
    for (outcome, delay_ms) in [
        (Outcome::Busy, 5 * MINUTE_MS),
        (Outcome::NoAnswer, 20 * MINUTE_MS),
        (Outcome::Rejected, HOUR_MS),
        (Outcome::NetworkFailure, 2 * MINUTE_MS),
        (Outcome::Unknown, 2 * MINUTE_MS),
    ] {
        let mut dialer = dialer();
        let id = dialer
            .add(sh("2026-09-28 10:00"), task(1, "web_form"))
            .unwrap()
            .id;
        poll_one(&mut dialer, sh("2026-09-28 10:00"));
        let ended = sh("2026-09-28 10:01");
        assert_eq!(
            dialer.outcome(ended, id, 1, outcome),
            Ok(Next::RetryAt(ended + delay_ms)),
            "{outcome:?}"
        );
        assert_eq!(dialer.next_wakeup(), Some(ended + delay_ms), "{outcome:?}");
        assert!(
            dialer.poll_due(ended + delay_ms - 1, 10).is_empty(),
            "{outcome:?}"
        );
        assert_eq!(
            poll_one(&mut dialer, ended + delay_ms).attempt,
            2,
            "{outcome:?}"
        );
    }
}

#[test]
fn an_invalid_number_fails_at_once() {
    let mut dialer = dialer();
    let id = dialer
        .add(sh("2026-09-28 10:00"), task(1, "web_form"))
        .unwrap()
        .id;
    poll_one(&mut dialer, sh("2026-09-28 10:00"));
    drain(&mut dialer);
    let now = sh("2026-09-28 10:00") + 5 * SECOND_MS;
    assert_eq!(
        dialer.outcome(now, id, 1, Outcome::InvalidNumber),
        Ok(Next::Failed(FailReason::InvalidNumber))
    );
    assert!(drain(&mut dialer).contains(&Event::TaskFailed {
        task: id,
        reason: FailReason::InvalidNumber,
        at_ms: now
    }));
    assert_eq!(dialer.state(id), None);

    // A number not in E.164 form is refused at the door, naming the field.
    let mut request = task(2, "web_form");
    request.number = "138 1234 5678".to_owned();
    let error = dialer.add(now, request).unwrap_err();
    assert!(matches!(error, AddError::InvalidNumber { .. }), "{error}");
    assert_eq!(error.field(), Some("number"));
}

#[test]
fn duplicates_are_refused_until_the_first_task_ends() {
    let mut dialer = dialer();
    let now = sh("2026-09-28 10:00");
    let first = dialer.add(now, task(1, "after_sales")).unwrap().id;
    assert_eq!(
        dialer.add(now, task(1, "after_sales")),
        Err(AddError::Duplicate { existing: first })
    );
    // Another reason, or another customer, is another task.
    let other_reason = dialer.add(now, task(1, "ticket:4711")).unwrap().id;
    dialer.add(now, task(2, "after_sales")).unwrap();

    let orders = dialer.poll_due(now, 10);
    let order = orders.iter().find(|order| order.task == first).unwrap();
    assert_eq!(
        dialer.outcome(now, first, order.attempt, Outcome::Connected),
        Ok(Next::Done)
    );
    let again = dialer
        .add(now + MINUTE_MS, task(1, "after_sales"))
        .unwrap()
        .id;
    assert!(again > first);

    // A cancelled task frees its key too.
    dialer
        .cancel(now, other_reason, CancelReason::ByStaff)
        .unwrap();
    dialer.add(now, task(1, "ticket:4711")).unwrap();
    dialer.check_invariants().unwrap();
}

#[test]
fn when_capacity_is_short_vip_goes_first_then_value_then_due_time_then_id() {
    let mut dialer = dialer();
    let add = |dialer: &mut Dialer, now: &str, customer: u64, class: u8, score: u32| {
        let mut request = task(customer, "web_form");
        request.priority_class = class;
        request.value_score = score;
        dialer.add(sh(now), request).unwrap().id
    };
    let plain_early = add(&mut dialer, "2026-09-28 09:50", 1, 0, 900);
    let plain_late = add(&mut dialer, "2026-09-28 10:00", 2, 0, 900);
    let plain_late_twin = add(&mut dialer, "2026-09-28 10:00", 3, 0, 900);
    let low_value = add(&mut dialer, "2026-09-28 09:00", 4, 0, 100);
    let vip = add(&mut dialer, "2026-09-28 10:00", 5, 1, 10);

    let now = sh("2026-09-28 10:00");
    let tasks = |orders: Vec<hotline_dialer::DialOrder>| -> Vec<TaskId> {
        orders.iter().map(|order| order.task).collect()
    };
    assert_eq!(tasks(dialer.poll_due(now, 2)), [vip, plain_early]);
    assert_eq!(
        tasks(dialer.poll_due(now, 2)),
        [plain_late, plain_late_twin]
    );
    assert_eq!(tasks(dialer.poll_due(now, 2)), [low_value]);
    dialer.check_invariants().unwrap();
}

#[test]
fn a_claimed_attempt_is_not_handed_out_again_after_a_restart() {
    let mut dialer = dialer();
    let now = sh("2026-09-28 10:00");
    let id = dialer.add(now, task(1, "web_form")).unwrap().id;
    let order = poll_one(&mut dialer, now);
    assert_eq!(order.attempt, 1);
    // The driver persists the claim before dialling, then the process dies mid-call.
    let stored = serde_json::to_string(&dialer.snapshot(id).unwrap()).unwrap();
    drop(dialer);

    let snapshot: TaskSnapshot = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        snapshot.state,
        TaskState::Dialling {
            attempt: 1,
            started_ms: now
        }
    );
    let mut restarted = Dialer::new(rules());
    let back = now + 3 * MINUTE_MS;
    // Treated as a network failure: retried two minutes after the restart.
    assert_eq!(
        restarted.restore(back, &snapshot, None),
        Ok(Restored::DueAt(back + 2 * MINUTE_MS))
    );
    assert_eq!(
        drain(&mut restarted),
        [Event::AttemptEnded {
            task: id,
            attempt: 1,
            outcome: Outcome::Unknown,
            at_ms: back
        }]
    );
    // The old attempt's outcome, arriving late, is refused.
    assert_eq!(
        restarted.outcome(back, id, 1, Outcome::Connected),
        Err(OutcomeError::StaleAttempt {
            task: id,
            attempt: 1,
            dialling: None
        })
    );
    assert!(restarted.poll_due(back + 2 * MINUTE_MS - 1, 10).is_empty());
    let order = poll_one(&mut restarted, back + 2 * MINUTE_MS);
    assert_eq!((order.task, order.attempt), (id, 2));
    // Ids continue after the restored one, and the same task is not restored twice.
    assert!(restarted.add(back, task(2, "web_form")).unwrap().id > id);
    assert_eq!(
        restarted.restore(back, &snapshot, None),
        Err(RestoreError::AlreadyPresent { task: id })
    );
    restarted.check_invariants().unwrap();
}

#[test]
fn a_waiting_task_is_restored_at_its_due_time_with_its_promise() {
    let mut dialer = dialer();
    let evenings = calendar(
        r#"
        name = "evenings"
        weekly = { mon = "19:00-21:00" }
        "#,
    );
    let mut request = task(1, "wechat");
    request.contact_hours = Some(Arc::clone(&evenings));
    let accepted = dialer.add(sh("2026-09-28 10:00"), request).unwrap();
    let snapshot = dialer.snapshot(accepted.id).unwrap();
    assert_eq!(snapshot.contact_hours.as_deref(), Some("evenings"));

    let mut restarted = Dialer::new(rules());
    assert_eq!(
        restarted.restore(sh("2026-09-28 11:00"), &snapshot, Some(evenings)),
        Ok(Restored::DueAt(sh("2026-09-28 19:00")))
    );
    assert_eq!(restarted.snapshot(accepted.id), Some(snapshot.clone()));

    // A snapshot dialling its last attempt cannot go on: it fails on restore.
    let mut last = snapshot;
    last.id = TaskId(99);
    last.customer = CustomerKey(2);
    last.attempts = 4;
    last.state = TaskState::Dialling {
        attempt: 4,
        started_ms: sh("2026-09-28 19:00"),
    };
    let failed = FailReason::AttemptsExhausted { attempts: 4 };
    assert_eq!(
        restarted.restore(sh("2026-09-28 19:10"), &last, None),
        Ok(Restored::Failed(failed))
    );
    assert!(drain(&mut restarted).contains(&Event::TaskFailed {
        task: TaskId(99),
        reason: failed,
        at_ms: sh("2026-09-28 19:10")
    }));
    // A snapshot whose dialling attempt is not its last is refused, naming the field.
    last.state = TaskState::Dialling {
        attempt: 3,
        started_ms: 0,
    };
    assert!(matches!(
        restarted.restore(0, &last, None),
        Err(RestoreError::Invalid {
            field: "state.attempt",
            ..
        })
    ));
    restarted.check_invariants().unwrap();
}

#[test]
fn a_window_that_never_opens_is_refused_at_add() {
    let mut dialer = dialer();
    let now = sh("2026-09-28 10:00");
    // The customer can only be reached at night, when calling is never legal.
    let mut request = task(1, "web_form");
    request.contact_hours = Some(calendar(
        r#"
        name = "night_shift_worker"
        weekly = { mon = "02:00-06:00", tue = "02:00-06:00", wed = "02:00-06:00", thu = "02:00-06:00", fri = "02:00-06:00" }
        "#,
    ));
    let error = dialer.add(now, request).unwrap_err();
    assert_eq!(
        error,
        AddError::WindowNeverOpens {
            blocked: Blocked::NoOpening
        }
    );
    assert_eq!(error.field(), Some("window"));

    // A window already over, and one that ends before the legal hours open.
    for (start, end) in [
        ("2026-09-27 10:00", "2026-09-27 12:00"),
        ("2026-09-28 21:30", "2026-09-28 23:00"),
    ] {
        let mut request = task(1, "web_form");
        request.window = RequestedWindow::Between {
            start_ms: sh(start),
            end_ms: sh(end),
        };
        assert_eq!(
            dialer.add(now, request),
            Err(AddError::WindowNeverOpens {
                blocked: Blocked::WindowEnded
            }),
            "{start}"
        );
    }
    // An empty window is a malformed request.
    let mut request = task(1, "web_form");
    request.window = RequestedWindow::Between {
        start_ms: now,
        end_ms: now,
    };
    assert!(matches!(
        dialer.add(now, request),
        Err(AddError::InvalidWindow { .. })
    ));
    assert!(dialer.is_empty());
}

#[test]
fn a_late_first_dial_raises_promise_missed() {
    let mut dialer = dialer();
    let now = sh("2026-09-28 10:00");
    let on_time = dialer.add(now, task(1, "web_form")).unwrap();
    let late = dialer.add(now, task(2, "web_form")).unwrap();
    assert_eq!(on_time.promised_ms, now + 30 * SECOND_MS);
    drain(&mut dialer);

    // One line free. Exactly five minutes after the promise: no apology yet.
    let orders = dialer.poll_due(on_time.promised_ms + 5 * MINUTE_MS, 1);
    assert_eq!(orders[0].task, on_time.id);
    assert!(!drain(&mut dialer)
        .iter()
        .any(|event| matches!(event, Event::PromiseMissed { .. })));

    let started = late.promised_ms + 5 * MINUTE_MS + SECOND_MS;
    let order = poll_one(&mut dialer, started);
    assert_eq!(order.task, late.id);
    assert_eq!(
        drain(&mut dialer),
        [
            Event::AttemptStarted {
                task: late.id,
                attempt: 1,
                at_ms: started
            },
            Event::PromiseMissed {
                task: late.id,
                promised_ms: late.promised_ms,
                late_ms: 5 * MINUTE_MS + SECOND_MS
            }
        ]
    );
    // Only the first dial is measured against the promise.
    let retry = match dialer
        .outcome(started, late.id, 1, Outcome::Rejected)
        .unwrap()
    {
        Next::RetryAt(at_ms) => at_ms,
        other => panic!("{other:?}"),
    };
    poll_one(&mut dialer, retry + HOUR_MS);
    assert!(!drain(&mut dialer)
        .iter()
        .any(|event| matches!(event, Event::PromiseMissed { .. })));
}

#[test]
fn stale_and_unknown_outcomes_are_refused_and_change_nothing() {
    let mut dialer = dialer();
    let now = sh("2026-09-28 10:00");
    let id = dialer.add(now, task(1, "web_form")).unwrap().id;
    // Not dialling yet.
    assert_eq!(
        dialer.outcome(now, id, 1, Outcome::Connected),
        Err(OutcomeError::StaleAttempt {
            task: id,
            attempt: 1,
            dialling: None
        })
    );
    poll_one(&mut dialer, now);
    let before = dialer.snapshot(id);
    drain(&mut dialer);
    assert_eq!(
        dialer.outcome(now, id, 2, Outcome::Connected),
        Err(OutcomeError::StaleAttempt {
            task: id,
            attempt: 2,
            dialling: Some(1)
        })
    );
    assert_eq!(
        dialer.outcome(now, TaskId(777), 1, Outcome::Connected),
        Err(OutcomeError::UnknownTask { task: TaskId(777) })
    );
    assert_eq!(dialer.snapshot(id), before);
    assert!(drain(&mut dialer).is_empty());

    // The real outcome, then the same outcome again (a duplicate report).
    dialer.outcome(now, id, 1, Outcome::Busy).unwrap();
    let after = dialer.snapshot(id);
    assert!(matches!(
        dialer.outcome(now, id, 1, Outcome::Busy),
        Err(OutcomeError::StaleAttempt { .. })
    ));
    assert_eq!(dialer.snapshot(id), after);
}

#[test]
fn a_task_whose_hours_closed_while_it_waited_is_moved_not_dialled() {
    let mut dialer = dialer();
    // Due at 20:59, but the driver has no free line until 21:00.
    let id = dialer
        .add(sh("2026-09-28 20:59"), task(1, "web_form"))
        .unwrap()
        .id;
    assert!(dialer.poll_due(sh("2026-09-28 21:00"), 10).is_empty());
    assert_eq!(
        dialer.state(id),
        Some(TaskState::Waiting {
            due_ms: sh("2026-09-29 08:00")
        })
    );
    assert_eq!(dialer.next_wakeup(), Some(sh("2026-09-29 08:00")));

    // A requested window that ended while the task waited fails it.
    let mut request = task(2, "web_form");
    request.window = RequestedWindow::Between {
        start_ms: sh("2026-09-28 10:00"),
        end_ms: sh("2026-09-28 11:00"),
    };
    let id = dialer.add(sh("2026-09-28 10:00"), request).unwrap().id;
    drain(&mut dialer);
    assert!(dialer.poll_due(sh("2026-09-28 11:00"), 10).is_empty());
    assert_eq!(
        drain(&mut dialer),
        [Event::TaskFailed {
            task: id,
            reason: FailReason::NoTimeLeft(Blocked::WindowEnded),
            at_ms: sh("2026-09-28 11:00")
        }]
    );
    dialer.check_invariants().unwrap();
}

#[test]
fn a_cancelled_task_is_gone_and_its_late_outcome_refused() {
    let mut dialer = dialer();
    let now = sh("2026-09-28 10:00");
    let id = dialer.add(now, task(1, "web_form")).unwrap().id;
    poll_one(&mut dialer, now);
    drain(&mut dialer);
    // The driver finds the number on the do-not-call list before dialling.
    dialer.cancel(now, id, CancelReason::DoNotCall).unwrap();
    assert_eq!(
        drain(&mut dialer),
        [Event::TaskCancelled {
            task: id,
            reason: CancelReason::DoNotCall,
            at_ms: now
        }]
    );
    assert_eq!(
        dialer.outcome(now, id, 1, Outcome::Connected),
        Err(OutcomeError::UnknownTask { task: id })
    );
    assert_eq!(
        dialer.cancel(now, id, CancelReason::DoNotCall),
        Err(CancelError::UnknownTask { task: id })
    );
    assert!(dialer.is_empty());
}

#[test]
fn a_full_dialer_refuses_more_tasks() {
    let config = DialerConfig {
        max_tasks: 2,
        ..DialerConfig::default()
    };
    let mut dialer = Dialer::new(DialerRules::from_config(&config).unwrap());
    let now = sh("2026-09-28 10:00");
    dialer.add(now, task(1, "web_form")).unwrap();
    dialer.add(now, task(2, "web_form")).unwrap();
    assert_eq!(
        dialer.add(now, task(3, "web_form")),
        Err(AddError::Full { max: 2 })
    );
    // A duplicate is still answered as a duplicate, with the id the API needs.
    assert!(matches!(
        dialer.add(now, task(1, "web_form")),
        Err(AddError::Duplicate { .. })
    ));
}

#[test]
fn malformed_reasons_are_refused() {
    let mut dialer = dialer();
    let now = sh("2026-09-28 10:00");
    for reason in ["", " web_form", &"x".repeat(65), "a\nb"] {
        let error = dialer.add(now, task(1, reason)).unwrap_err();
        assert!(
            matches!(error, AddError::InvalidReason { .. }),
            "{reason:?}: {error}"
        );
        assert_eq!(error.field(), Some("reason"));
    }
}

#[test]
fn the_event_queue_is_bounded_and_counts_what_it_drops() {
    let mut dialer = Dialer::new(DialerRules::default());
    let now = sh("2026-09-28 10:00");
    let tasks = EVENTS_MAX + 100;
    for customer in 0..tasks {
        dialer.add(now, task(customer as u64, "web_form")).unwrap();
    }
    let mut handed_out = 0;
    loop {
        let orders = dialer.poll_due(now, 10_000);
        if orders.is_empty() {
            break;
        }
        handed_out += orders.len();
    }
    assert_eq!(handed_out, tasks);
    assert_eq!(dialer.events_dropped(), 100);
    assert_eq!(drain(&mut dialer).len(), EVENTS_MAX);
}

#[test]
fn a_morning_burst_keeps_the_priority_order() {
    // Three hundred requests overnight all fall due at 08:00, more than are moved to the
    // ready set one by one; the hand-out order is still class, value, due time, id.
    let mut dialer = dialer();
    let mut expected = Vec::new();
    for customer in 0..300u64 {
        let mut request = task(customer, "web_form");
        request.priority_class = u8::from(customer % 7 == 0);
        request.value_score = (customer % 50) as u32;
        let night = sh("2026-09-27 22:00") + customer * SECOND_MS;
        let id = dialer.add(night, request).unwrap().id;
        expected.push((
            std::cmp::Reverse(u8::from(customer % 7 == 0)),
            std::cmp::Reverse((customer % 50) as u32),
            id,
        ));
    }
    expected.sort();
    assert!(dialer.poll_due(sh("2026-09-28 07:59"), 10).is_empty());
    let mut handed_out = Vec::new();
    loop {
        let orders = dialer.poll_due(sh("2026-09-28 08:00"), 40);
        if orders.is_empty() {
            break;
        }
        handed_out.extend(orders.iter().map(|order| order.task));
        dialer.check_invariants().unwrap();
    }
    let expected: Vec<TaskId> = expected.into_iter().map(|(_, _, id)| id).collect();
    assert_eq!(handed_out, expected);
}

#[test]
fn preview_shows_the_due_tasks_best_first_and_an_agent_dials_the_one_they_choose() {
    let mut dialer = Dialer::new(DialerRules::default());
    let now = sh("2026-09-28 10:00");
    let first = dialer.add(now, task(1, "web_form")).unwrap().id;
    let mut vip = task(2, "web_form");
    vip.priority_class = 1;
    let vip = dialer.add(now, vip).unwrap().id;
    let mut tonight = task(3, "web_form");
    tonight.window = RequestedWindow::Between {
        start_ms: sh("2026-09-28 19:00"),
        end_ms: sh("2026-09-28 20:00"),
    };
    let tonight = dialer.add(now, tonight).unwrap().id;
    drain(&mut dialer);
    // Seeing the cards claims nothing.
    assert_eq!(dialer.peek_due(now, 10), [vip, first]);
    assert_eq!(dialer.peek_due(now, 10), [vip, first]);
    assert!(drain(&mut dialer).is_empty());
    // The agent dials the second card, not the best.
    let order = dialer.claim_task(now + SECOND_MS, first).unwrap();
    assert_eq!((order.task, order.attempt), (first, 1));
    assert_eq!(
        drain(&mut dialer),
        [Event::AttemptStarted {
            task: first,
            attempt: 1,
            at_ms: now + SECOND_MS
        }]
    );
    assert_eq!(dialer.peek_due(now, 10), [vip]);
    assert_eq!(
        dialer.claim_task(now, first),
        Err(ClaimError::Dialling { task: first })
    );
    assert_eq!(
        dialer.claim_task(now, tonight),
        Err(ClaimError::NotDue {
            task: tonight,
            due_ms: sh("2026-09-28 19:00")
        })
    );
    assert_eq!(
        dialer.claim_task(now, TaskId(99)),
        Err(ClaimError::UnknownTask { task: TaskId(99) })
    );
    // The legal hours close at 21:00: a card left on screen is not dialled at 21:30; the
    // task moves to tomorrow's opening.
    assert_eq!(
        dialer.claim_task(sh("2026-09-28 21:30"), vip),
        Err(ClaimError::NotDue {
            task: vip,
            due_ms: sh("2026-09-29 08:00")
        })
    );
    dialer.check_invariants().unwrap();
}
