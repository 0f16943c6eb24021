//! The written definitions of the metrics (crates/routing/src/metrics.rs), one per test, on
//! small hand-made days.

mod common;

use std::time::Duration;

use common::Builder;
use hotline_routing::metrics::{MetricsConfig, Projection};
use hotline_routing::*;

fn center() -> common::Center {
    let mut b = Builder::new(&["s"])
        .queue("main", &[("s", 1)])
        .queue("backup", &[("s", 1)])
        .agent("a", &[("s", 3)], &[("main", 1, 0), ("backup", 1, 0)]);
    b.config.queues[0].service_level_threshold = Duration::from_secs(20);
    b.config.queues[0].short_abandon = Duration::from_secs(5);
    b.config.queues[0].max_wait = Some(MaxWait {
        after: Duration::from_secs(300),
        action: MaxWaitAction::Overflow(QueueId(1)),
    });
    b.build()
}

/// Projects every event the center produced, with 15-minute intervals.
fn project(c: &common::Center, until: f64) -> Projection {
    let mut p = Projection::new(
        c.router.config(),
        MetricsConfig {
            origin: Time::ZERO,
            interval: Duration::from_secs(900),
            callback_promise: Duration::from_secs(600),
        },
    );
    for (at, e) in &c.events {
        p.observe(*at, e);
    }
    p.finish(Time::from_millis((until * 1000.0) as u64));
    p
}

#[test]
fn service_level_counts_answers_within_the_threshold_over_answered_and_abandoned() {
    let mut c = center();
    c.at(0.0).ready("a");
    c.arrive(1, "main").at(2.0).accept("a", 1); // answered in 2 s: on time
    c.arrive(2, "main"); // waits
    c.arrive(3, "main"); // hangs up after 3 s: a short abandon, not counted
    c.arrive(4, "main"); // hangs up after 60 s: abandoned
    c.at(5.0).ok(Input::Abandon {
        contact: ContactId(3),
    });
    c.at(62.0).ok(Input::Abandon {
        contact: ContactId(4),
    });
    c.at(100.0).complete("a", 1).accept("a", 2); // answered after 98 s: late
    c.at(200.0).complete("a", 2);
    let total = project(&c, 300.0).center_total();
    assert_eq!(total.offered, 4);
    assert_eq!(
        (total.answered, total.abandoned, total.short_abandoned),
        (2, 1, 1)
    );
    assert_eq!(total.answered_in_threshold, 1);
    assert_eq!(total.service_level(), Some(1.0 / 3.0));
    assert_eq!(total.abandonment_rate(), Some(1.0 / 3.0));
    // ASA: (2 + 98) / 2 s.
    assert_eq!(total.asa(), Some(Duration::from_secs(50)));
    assert_eq!(total.longest_wait_ms, 98_000);
    // Handled: talk 98 s + 100 s, no wrap-up.
    assert_eq!(total.handled, 2);
    assert_eq!(total.aht(), Some(Duration::from_secs(99)));
    assert_eq!(total.connect_rate(), Some(0.5));
}

#[test]
fn an_overflowed_contact_counts_in_both_queues_and_once_in_the_center() {
    let mut c = center();
    c.at(0.0).arrive(1, "main");
    c.at(300.0); // overflows to backup
    c.at(400.0).ready("a").accept("a", 1);
    let p = project(&c, 500.0);
    let (main, backup, center) = (
        p.queue_total(QueueId(0)),
        p.queue_total(QueueId(1)),
        p.center_total(),
    );
    assert_eq!((main.offered, main.overflowed, main.answered), (1, 1, 0));
    assert_eq!((backup.offered, backup.answered), (1, 1));
    assert_eq!(
        (center.offered, center.answered, center.overflowed),
        (1, 1, 0)
    );
    // The center sees the whole wait; the backup queue the time since it joined.
    assert_eq!(center.answered_wait_ms, 400_000);
    assert_eq!(
        backup.answered_wait_ms, 400_000,
        "waits are from first arrival (the caller's view)"
    );
}

#[test]
fn callback_timeliness_counts_first_dials_within_the_promise() {
    let mut c = center();
    let mut config = c.router.config().clone();
    config.callbacks.max_attempts = 1;
    c.router = Router::new(config).unwrap();
    // Three callbacks requested at 0 s; the promise is 10 minutes.
    for id in 1..=3 {
        c.arrive_with(id, "main", |s| s.kind = ContactKind::Callback);
    }
    c.at(60.0).ready("a").accept("a", 1); // dialled after 1 minute: on time
    c.ok(Input::CallbackResult {
        contact: ContactId(1),
        outcome: DialOutcome::Connected,
    });
    c.at(120.0).complete("a", 1).accept("a", 2);
    c.ok(Input::CallbackResult {
        contact: ContactId(2),
        outcome: DialOutcome::NoAnswer,
    }); // fails: last attempt
    let agent = c.agent("a");
    c.ok(Input::NotReady {
        agent,
        reason: ReasonCode::LOGGED_IN,
    });
    // Contact 3 is not dialled before its promise falls due at 600 s: late.
    let p = project(&c, 900.0);
    let total = p.center_total();
    assert_eq!(total.offered, 0, "callbacks are not calls offered");
    assert_eq!(total.callbacks_requested, 3);
    assert_eq!((total.callbacks_on_time, total.callbacks_late), (2, 1));
    assert_eq!(total.callback_timeliness(), Some(2.0 / 3.0));
    assert_eq!((total.callbacks_connected, total.callbacks_failed), (1, 1));
    assert_eq!(total.callback_dials, 2);
}

#[test]
fn a_call_that_becomes_a_callback_leaves_the_call_figures() {
    let mut c = center();
    c.at(0.0).arrive(1, "main");
    c.at(30.0).ok(Input::AcceptCallback {
        contact: ContactId(1),
    });
    let total = project(&c, 60.0).center_total();
    assert_eq!(
        (total.offered, total.abandoned, total.callbacks_requested),
        (0, 0, 1)
    );
}

#[test]
fn occupancy_is_busy_time_over_busy_and_available_time_split_by_interval() {
    let mut c = center();
    c.at(0.0).ready("a"); // ready from 0
    c.at(600.0).arrive(1, "main").accept("a", 1); // talking 600..1200, across the 900 s boundary
    c.at(1200.0).complete("a", 1);
    let agent = c.agent("a");
    c.ok(Input::NotReady {
        agent,
        reason: ReasonCode::LOGGED_IN,
    }); // not ready 1200..1800
    let p = project(&c, 1800.0);
    let first = p.center(0);
    assert_eq!(
        (first.agent_available_ms, first.agent_on_contact_ms),
        (600_000, 300_000)
    );
    let second = p.center(1);
    assert_eq!(
        (second.agent_on_contact_ms, second.agent_not_ready_ms),
        (300_000, 600_000)
    );
    assert_eq!(p.center_total().occupancy(), Some(0.5));
    assert_eq!(first.average_staffed(Duration::from_secs(900)), 1.0);
}

#[test]
fn refused_contacts_count_as_offered_and_refused() {
    let mut c = center();
    let mut config = c.router.config().clone();
    config.queues[0].max_waiting = 1;
    c.router = Router::new(config).unwrap();
    c.arrive(1, "main").arrive(2, "main");
    let total = project(&c, 10.0).center_total();
    assert_eq!((total.offered, total.refused), (2, 1));
    assert_eq!(total.held_peak, 1);
}

// ----- fixtures of fixed bugs (from the first review of the metrics) -----

#[test]
fn a_caller_sent_out_of_the_center_counts_once_as_overflowed() {
    let mut b = Builder::new(&["s"]).queue("night", &[("s", 1)]).agent(
        "a",
        &[("s", 3)],
        &[("night", 1, 0)],
    );
    b.config.queues[0].max_wait = Some(MaxWait {
        after: Duration::from_secs(30),
        action: MaxWaitAction::Leave("voicemail".into()),
    });
    let mut c = b.build();
    c.at(0.0).arrive(1, "night");
    c.at(30.0);
    let p = project(&c, 60.0);
    assert_eq!(
        p.queue_total(QueueId(0)).overflowed,
        1,
        "before: 2 in the queue"
    );
    assert_eq!(p.center_total().overflowed, 1);
    assert_eq!(p.center_total().longest_wait_ms, 30_000);
}

#[test]
fn a_call_that_overflows_then_becomes_a_callback_leaves_the_interval_it_arrived_in() {
    let mut c = center();
    c.at(800.0).arrive(1, "main"); // interval 0 (15-minute intervals)
    c.at(1100.0); // overflows to backup: interval 1
    c.at(1200.0).ok(Input::AcceptCallback {
        contact: ContactId(1),
    });
    let p = project(&c, 1300.0);
    assert_eq!(p.center(0).offered, 0, "before: still 1 here");
    assert_eq!(p.center(1).offered, 0);
    assert_eq!(p.center(0).callbacks_requested, 1);
}

#[test]
fn a_callback_dialled_exactly_at_its_promise_is_on_time() {
    let mut c = center();
    c.at(0.0)
        .arrive_with(1, "main", |s| s.kind = ContactKind::Callback);
    c.at(600.0).ready("a").accept("a", 1); // the promise is 600 s
    let total = project(&c, 700.0).center_total();
    assert_eq!((total.callbacks_on_time, total.callbacks_late), (1, 0));
}

#[test]
fn talk_and_wrap_up_count_in_the_interval_the_work_ends() {
    let mut c = center();
    let mut config = c.router.config().clone();
    config.queues[0].wrap_up = Duration::from_secs(100);
    c.router = Router::new(config).unwrap();
    c.at(0.0).ready("a").arrive(1, "main").accept("a", 1);
    c.at(850.0).complete("a", 1); // wrap-up ends at 950 s, in interval 1
    c.at(960.0);
    let p = project(&c, 1000.0);
    assert_eq!(
        (p.center(0).talk_ms, p.center(0).handled),
        (0, 0),
        "before: talk here, handled later"
    );
    assert_eq!(p.center(1).aht(), Some(Duration::from_secs(950)));
}

#[test]
fn events_of_unknown_queues_and_agents_are_passed_over() {
    let c = center();
    let mut p = Projection::new(c.router.config(), MetricsConfig::default());
    p.observe(
        Time::ZERO,
        &Event::ContactQueued {
            contact: ContactId(1),
            queue: QueueId(99),
            kind: ContactKind::Call,
            enqueued_at: Time::ZERO,
        },
    );
    p.observe(
        Time::ZERO,
        &Event::AgentStateChanged {
            agent: AgentId(99),
            state: AgentState::Ready,
        },
    );
    p.finish(Time::from_secs(10));
    assert_eq!(p.center_total().offered, 0);
}

#[test]
fn a_zero_interval_is_lengthened_instead_of_looping_forever() {
    let c = center();
    let mut p = Projection::new(
        c.router.config(),
        MetricsConfig {
            interval: Duration::ZERO,
            ..MetricsConfig::default()
        },
    );
    p.observe(
        Time::from_secs(5),
        &Event::AgentStateChanged {
            agent: AgentId(0),
            state: AgentState::Ready,
        },
    );
    p.finish(Time::from_secs(10));
    assert_eq!(p.interval(), Duration::from_secs(1));
    assert_eq!(p.center_total().agent_available_ms, 5_000);
}
