//! Behaviour of the routing core, one rule per test, driven by a virtual clock.

mod common;

use std::time::Duration;

use common::Builder;
use hotline_routing::*;

fn one_queue(agents: &[&str]) -> common::Center {
    let mut b = Builder::new(&["general"]).queue("general", &[("general", 1)]);
    for a in agents {
        b = b.agent(a, &[("general", 3)], &[("general", 1, 0)]);
    }
    b.build()
}

#[test]
fn longest_idle_agent_gets_the_call() {
    let mut c = one_queue(&["a", "b", "c"]);
    c.at(0.0).ready("b");
    c.at(1.0).ready("a");
    c.at(2.0).ready("c");
    c.take();
    c.arrive(1, "general");
    assert_eq!(c.offers(), vec![(1, "b".to_string())]);
    c.arrive(2, "general");
    assert_eq!(c.offers(), vec![(2, "a".to_string())]);
}

#[test]
fn best_proficiency_then_idle_time() {
    let mut c = Builder::new(&["tech"])
        .queue("tech", &[("tech", 1)])
        .edit_queue("tech", |q, _| q.selection = AgentSelection::BestProficiency)
        .agent("novice", &[("tech", 2)], &[("tech", 1, 0)])
        .agent("expert1", &[("tech", 5)], &[("tech", 1, 0)])
        .agent("expert2", &[("tech", 5)], &[("tech", 1, 0)])
        .build();
    c.at(0.0).ready("novice");
    c.at(1.0).ready("expert2");
    c.at(2.0).ready("expert1");
    c.take();
    c.arrive(1, "tech").arrive(2, "tech").arrive(3, "tech");
    let offered: Vec<String> = c.offers().into_iter().map(|(_, a)| a).collect();
    assert_eq!(offered, ["expert2", "expert1", "novice"]);
}

#[test]
fn least_occupied_agent_first() {
    let mut c = one_queue(&["busy", "fresh"]);
    c.router = {
        let mut config = c.router.config().clone();
        config.queues[0].selection = AgentSelection::LeastOccupied;
        Router::new(config).unwrap()
    };
    c.at(0.0).ready("busy").ready("fresh");
    c.take();
    // "busy" is idle longer, so it takes the first call and works 100 s.
    c.arrive(1, "general");
    assert_eq!(c.offers(), vec![(1, "busy".to_string())]);
    c.accept("busy", 1).at(100.0).complete("busy", 1);
    // Now "fresh" has been idle longer... but "busy" also just freed up: least occupied wins.
    c.arrive(2, "general");
    assert_eq!(c.offers(), vec![(2, "fresh".to_string())]);
    c.accept("fresh", 2).at(110.0).complete("fresh", 2);
    c.arrive(3, "general");
    assert_eq!(
        c.offers(),
        vec![(3, "fresh".to_string())],
        "10 s handled beats 100 s"
    );
}

#[test]
fn round_robin_rotates() {
    let mut c = one_queue(&["a", "b", "c"]);
    c.router = {
        let mut config = c.router.config().clone();
        config.queues[0].selection = AgentSelection::RoundRobin;
        Router::new(config).unwrap()
    };
    c.at(0.0).ready("a").ready("b").ready("c");
    c.take();
    let mut order = Vec::new();
    for id in 1..=6 {
        c.arrive(id, "general");
        let (contact, agent) = c.offers().pop().unwrap();
        c.accept(&agent, contact).complete(&agent, contact);
        order.push(agent);
    }
    assert_eq!(order, ["a", "b", "c", "a", "b", "c"]);
}

#[test]
fn priority_class_then_score_then_fifo() {
    let mut b = Builder::new(&["general"]).queue("general", &[("general", 1)]);
    b = b.agent("a", &[("general", 3)], &[("general", 1, 0)]);
    b.config.priority.tiers = vec![
        TierPriority {
            name: "standard".into(),
            class: 0,
            bonus: Duration::ZERO,
        },
        TierPriority {
            name: "gold".into(),
            class: 0,
            bonus: Duration::from_secs(60),
        },
        TierPriority {
            name: "vip".into(),
            class: 1,
            bonus: Duration::ZERO,
        },
    ];
    let mut c = b.build();
    c.at(0.0).arrive(1, "general"); // standard, waited longest
    c.at(10.0).arrive(2, "general"); // standard
    c.at(20.0)
        .arrive_with(3, "general", |s| s.attributes.tier = 1); // gold: +60 s beats both
    c.at(30.0)
        .arrive_with(4, "general", |s| s.attributes.tier = 2); // vip: class 1 beats all
    c.at(31.0).arrive(5, "general"); // standard, equal to 2 but later
    c.take();
    c.ready("a");
    let mut order = Vec::new();
    for _ in 0..5 {
        let (contact, agent) = c.offers().pop().unwrap();
        c.accept(&agent, contact).complete(&agent, contact);
        order.push(contact);
    }
    assert_eq!(order, [4, 3, 1, 2, 5]);
}

#[test]
fn priority_change_and_explicit_position_move_a_waiting_contact() {
    let mut c = one_queue(&["a"]);
    let mut config = c.router.config().clone();
    config.priority.urgency_bonus = Duration::from_secs(100);
    c.router = Router::new(config).unwrap();
    for id in 1..=4 {
        c.at(id as f64).arrive(id, "general");
    }
    // Contact 4 becomes urgent: 100 s bonus puts it ahead of everyone.
    c.ok(Input::SetAttributes {
        contact: ContactId(4),
        attributes: ContactAttributes {
            urgency: 1,
            ..Default::default()
        },
    });
    // A supervisor puts contact 3 at the very front.
    c.ok(Input::Reposition {
        contact: ContactId(3),
        placement: Placement::Position(0),
    });
    // And contact 1 at position 2 (after 3 and 4).
    c.ok(Input::Reposition {
        contact: ContactId(1),
        placement: Placement::Position(2),
    });
    assert_eq!(c.router.estimate(ContactId(3)).unwrap().position, 1);
    assert_eq!(c.router.estimate(ContactId(4)).unwrap().position, 2);
    assert_eq!(c.router.estimate(ContactId(1)).unwrap().position, 3);
    assert_eq!(c.router.estimate(ContactId(2)).unwrap().position, 4);
    c.take();
    c.ready("a");
    let mut order = Vec::new();
    for _ in 0..4 {
        let (contact, agent) = c.offers().pop().unwrap();
        c.accept(&agent, contact).complete(&agent, contact);
        order.push(contact);
    }
    assert_eq!(order, [3, 4, 1, 2]);
}

#[test]
fn profile_priority_and_delay() {
    let mut c = Builder::new(&["s"])
        .queue("sales", &[("s", 1)])
        .queue("support", &[("s", 1)])
        // Prefers sales; takes support only after a contact waited 30 s.
        .agent("a", &[("s", 3)], &[("sales", 1, 0), ("support", 2, 30)])
        .build();
    c.at(0.0).arrive(1, "support");
    c.at(1.0).arrive(2, "sales");
    c.take();
    c.at(5.0).ready("a");
    assert_eq!(
        c.offers(),
        vec![(2, "a".to_string())],
        "sales first, though support waited longer"
    );
    c.accept("a", 2).at(10.0).complete("a", 2);
    assert!(
        c.offers().is_empty(),
        "support contact has waited 10 s < 30 s delay"
    );
    c.at(30.0);
    assert_eq!(
        c.offers(),
        vec![(1, "a".to_string())],
        "offered once the delay passes"
    );
}

#[test]
fn step_relaxes_proficiency_and_widens_to_another_group() {
    let mut c = Builder::new(&["loans", "general"])
        .queue("loans", &[("loans", 4)])
        .queue("overflow", &[("general", 1)])
        .edit_queue("loans", |q, cfg| {
            let overflow = cfg.queue_id("overflow").unwrap();
            q.steps = vec![
                Step {
                    after: Duration::from_secs(20),
                    relax_proficiency: 2,
                    ..Step::default()
                },
                Step {
                    after: Duration::from_secs(60),
                    drop_skills: vec![cfg.skill_id("loans").unwrap()],
                    widen_to: vec![overflow],
                    offer_callback: true,
                    ..Step::default()
                },
            ];
        })
        .agent("expert", &[("loans", 5)], &[("loans", 1, 0)])
        .agent("junior", &[("loans", 2)], &[("loans", 1, 0)])
        .agent("temp", &[("general", 3)], &[("overflow", 1, 0)])
        .build();
    c.at(0.0).ready("expert").ready("junior").ready("temp");
    c.arrive(1, "loans").accept("expert", 1);
    c.take();
    c.arrive(2, "loans");
    let o = c.offers();
    assert!(
        o.is_empty(),
        "expert is busy and junior lacks proficiency 4: {o:?}"
    );
    c.at(20.0);
    assert_eq!(
        c.offers(),
        vec![(2, "junior".to_string())],
        "after 20 s proficiency 2 will do"
    );
    c.accept("junior", 2).arrive(3, "loans");
    let o = c.offers();
    assert!(o.is_empty(), "{o:?}");
    c.at(79.0);
    assert!(c.offers().is_empty());
    c.at(80.0);
    let events = c.take();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::CallbackOffered {
            contact: ContactId(3),
            ..
        }
    )));
    assert!(events.iter().any(
        |e| matches!(e, Event::OfferCreated { contact: ContactId(3), agent, .. } if *agent == c.agent("temp"))
    ));
}

#[test]
fn max_wait_overflow_keeps_arrival_time_and_leave_ends_the_contact() {
    let mut c = Builder::new(&["s"])
        .queue("main", &[("s", 1)])
        .queue("backup", &[("s", 1)])
        .queue("night", &[("s", 1)])
        .edit_queue("main", |q, cfg| {
            q.max_wait = Some(MaxWait {
                after: Duration::from_secs(60),
                action: MaxWaitAction::Overflow(cfg.queue_id("backup").unwrap()),
            })
        })
        .edit_queue("night", |q, _| {
            q.max_wait = Some(MaxWait {
                after: Duration::from_secs(30),
                action: MaxWaitAction::Leave("voicemail".into()),
            })
        })
        .agent(
            "a",
            &[("s", 3)],
            &[("main", 1, 0), ("backup", 1, 0), ("night", 1, 0)],
        )
        .build();
    c.at(0.0).arrive(1, "main");
    c.at(10.0).arrive(2, "backup");
    c.at(61.0);
    let events = c.take();
    assert!(events.contains(&Event::ContactOverflowed {
        contact: ContactId(1),
        from: c.queue("main"),
        to: Some(c.queue("backup")),
    }));
    assert_eq!(
        c.router.estimate(ContactId(1)).unwrap().position,
        1,
        "keeps its arrival time"
    );
    c.arrive(3, "night");
    c.at(91.0);
    assert!(c.ended().contains(&(3, Outcome::Overflowed)));
    assert_eq!(c.router.held(c.queue("night")), 0);
}

#[test]
fn max_wait_callback_turns_the_call_into_a_callback() {
    let mut c = one_queue(&["a"]);
    let mut config = c.router.config().clone();
    config.queues[0].max_wait = Some(MaxWait {
        after: Duration::from_secs(30),
        action: MaxWaitAction::Callback,
    });
    c.router = Router::new(config).unwrap();
    c.at(0.0).arrive(1, "general");
    c.at(30.0);
    assert!(c.take().contains(&Event::CallbackPromised {
        contact: ContactId(1),
        queue: c.queue("general"),
        chosen: false
    }));
    c.ready("a");
    assert_eq!(c.offers(), vec![(1, "a".to_string())]);
    c.accept("a", 1);
    assert!(c
        .take()
        .iter()
        .any(|e| matches!(e, Event::CallbackDialRequested { attempt: 1, .. })));
}

#[test]
fn dedicated_agent_first_then_fallback() {
    let mut c = one_queue(&["vipdesk", "other"]);
    c.at(0.0).ready("other");
    let vip = c.agent("vipdesk");
    c.ok(Input::Login { agent: vip });
    c.take();
    c.arrive_with(1, "general", |s| {
        s.preferred_agent = Some(PreferredAgent {
            agent: vip,
            wait: Duration::from_secs(45),
        })
    });
    assert!(
        c.offers().is_empty(),
        "waits for its dedicated agent though another is ready"
    );
    c.at(10.0).ok(Input::Ready { agent: vip });
    assert_eq!(c.offers(), vec![(1, "vipdesk".to_string())]);
    c.accept("vipdesk", 1);
    // A second VIP whose agent stays busy falls back after 45 s.
    c.at(20.0).arrive_with(2, "general", |s| {
        s.preferred_agent = Some(PreferredAgent {
            agent: vip,
            wait: Duration::from_secs(45),
        })
    });
    c.take();
    c.at(64.0);
    assert!(c.offers().is_empty());
    c.at(65.0);
    assert_eq!(c.offers(), vec![(2, "other".to_string())]);
}

#[test]
fn dedicated_agent_logged_out_means_no_wait() {
    let mut c = one_queue(&["vipdesk", "other"]);
    c.at(0.0).ready("other");
    let vip = c.agent("vipdesk");
    c.take();
    c.arrive_with(1, "general", |s| {
        s.preferred_agent = Some(PreferredAgent {
            agent: vip,
            wait: Duration::MAX,
        })
    });
    assert_eq!(c.offers(), vec![(1, "other".to_string())]);
}

#[test]
fn reject_keeps_the_place_and_goes_to_the_next_agent() {
    let mut c = one_queue(&["a", "b"]);
    c.at(0.0).ready("a");
    c.at(1.0).ready("b");
    c.arrive(1, "general");
    c.arrive(2, "general");
    c.take();
    c.arrive(3, "general"); // waits
    c.reject("a", 1);
    // Contact 1 keeps its place: the rejecting agent takes 3? No: 1 is ahead of 3 but declined
    // by a, so a takes 3 and 1 waits for b.
    let offers = c.offers();
    assert_eq!(offers, vec![(3, "a".to_string())]);
    assert_eq!(c.router.estimate(ContactId(1)).unwrap().position, 1);
    c.accept("b", 2).complete("b", 2);
    assert_eq!(c.offers(), vec![(1, "b".to_string())]);
}

#[test]
fn unanswered_offers_make_the_agent_not_ready() {
    let mut c = one_queue(&["sleepy", "awake"]);
    c.at(0.0).ready("sleepy");
    c.arrive(1, "general");
    c.take();
    c.at(20.0); // timeout 1: contact 1 cannot go back to sleepy for 30 s
    c.arrive(2, "general");
    assert_eq!(c.offers(), vec![(2, "sleepy".to_string())]);
    c.at(40.0); // timeout 2
    assert_eq!(
        c.state("sleepy"),
        AgentState::NotReady(ReasonCode::MISSED_OFFERS)
    );
    c.ready("awake");
    let offers = c.offers();
    assert_eq!(
        offers,
        vec![(1, "awake".to_string())],
        "oldest contact first"
    );
}

#[test]
fn caller_hangs_up_while_ringing_leaves_no_zombie_offer() {
    let mut c = one_queue(&["a"]);
    c.at(0.0).ready("a").arrive(1, "general");
    c.take();
    c.ok(Input::Abandon {
        contact: ContactId(1),
    });
    let events = c.take();
    assert!(events.contains(&Event::OfferEnded {
        contact: ContactId(1),
        agent: c.agent("a"),
        reason: OfferEndReason::ContactGone
    }));
    assert_eq!(c.state("a"), AgentState::Ready);
    assert_eq!(
        c.input(Input::Accept {
            agent: c.agent("a"),
            contact: ContactId(1)
        }),
        Err(InputError::WrongState(
            "no such offer is ringing for this agent"
        ))
    );
    c.arrive(2, "general");
    assert_eq!(c.offers(), vec![(2, "a".to_string())]);
    assert_eq!(c.ended(), vec![(1, Outcome::Abandoned)]);
}

#[test]
fn callback_in_queue_keeps_the_place_and_dials_agent_first() {
    let mut c = one_queue(&["a"]);
    c.at(0.0).arrive(1, "general");
    c.at(5.0).arrive(2, "general");
    c.at(10.0).ok(Input::AcceptCallback {
        contact: ContactId(1),
    });
    c.at(50.0).ready("a");
    assert_eq!(
        c.offers(),
        vec![(1, "a".to_string())],
        "callback kept its place ahead of 2"
    );
    c.accept("a", 1);
    let events = c.take();
    assert!(events.contains(&Event::CallbackDialRequested {
        contact: ContactId(1),
        agent: c.agent("a"),
        attempt: 1
    }));
    assert_eq!(
        c.state("a"),
        AgentState::OnContact,
        "agent reserved while the customer is dialled"
    );
    // No answer: retried after the policy's delay, never dialled twice meanwhile.
    c.ok(Input::CallbackResult {
        contact: ContactId(1),
        outcome: DialOutcome::NoAnswer,
    });
    assert_eq!(
        c.offers(),
        vec![(2, "a".to_string())],
        "agent goes on with the next caller"
    );
    assert_eq!(
        c.input(Input::CallbackResult {
            contact: ContactId(1),
            outcome: DialOutcome::Connected
        }),
        Err(InputError::WrongState("the callback is not being dialled"))
    );
    c.accept("a", 2).complete("a", 2);
    c.at(649.0);
    assert!(c.offers().is_empty());
    c.at(650.0);
    assert_eq!(c.offers(), vec![(1, "a".to_string())]);
    c.accept("a", 1);
    c.ok(Input::CallbackResult {
        contact: ContactId(1),
        outcome: DialOutcome::Connected,
    });
    let ended = c.events.iter().rev().find_map(|(_, e)| match e {
        Event::ContactEnded {
            contact: ContactId(1),
            outcome,
            waited,
            kind,
            ..
        } => Some((*outcome, *waited, *kind)),
        _ => None,
    });
    assert_eq!(
        ended,
        Some((
            Outcome::Answered,
            Duration::from_secs(650),
            ContactKind::Callback
        ))
    );
}

#[test]
fn callback_fails_after_the_last_attempt() {
    let mut c = one_queue(&["a"]);
    let mut config = c.router.config().clone();
    config.callbacks.max_attempts = 2;
    c.router = Router::new(config).unwrap();
    c.at(0.0).ready("a");
    c.arrive_with(1, "general", |s| s.kind = ContactKind::Callback);
    c.accept("a", 1).ok(Input::CallbackResult {
        contact: ContactId(1),
        outcome: DialOutcome::Busy,
    });
    c.at(300.0).accept("a", 1);
    c.ok(Input::CallbackResult {
        contact: ContactId(1),
        outcome: DialOutcome::Busy,
    });
    assert_eq!(c.ended(), vec![(1, Outcome::CallbackFailed)]);
    let dials = c
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::CallbackDialRequested { .. }))
        .count();
    assert_eq!(dials, 2);
}

#[test]
fn a_callback_with_its_own_dial_limit_fails_after_one_dial_and_frees_the_agent() {
    // An outbound dialler keeps its own retries: one dial per contact, whatever the policy.
    let mut c = one_queue(&["a"]);
    c.at(0.0).ready("a");
    assert_eq!(c.router.ready_voice_agents(QueueId(0)), 1);
    c.arrive_with(1, "general", |s| {
        s.kind = ContactKind::Callback;
        s.max_dials = Some(1);
    });
    c.accept("a", 1);
    assert_eq!(c.router.ready_voice_agents(QueueId(0)), 0);
    c.ok(Input::CallbackResult {
        contact: ContactId(1),
        outcome: DialOutcome::Busy,
    });
    assert_eq!(c.ended(), vec![(1, Outcome::CallbackFailed)]);
    assert!(c.events.iter().any(|(_, e)| matches!(
        e,
        Event::CallbackAttemptFailed {
            attempt: 1,
            retry_at: None,
            ..
        }
    )));
    assert_eq!(
        c.router.ready_voice_agents(QueueId(0)),
        1,
        "the agent is free again"
    );
}

#[test]
fn wrap_up_timer_then_ready_again() {
    let mut c = one_queue(&["a"]);
    let mut config = c.router.config().clone();
    config.queues[0].wrap_up = Duration::from_secs(15);
    c.router = Router::new(config).unwrap();
    c.at(0.0).ready("a").arrive(1, "general").accept("a", 1);
    c.at(100.0).complete("a", 1);
    c.take();
    assert_eq!(c.state("a"), AgentState::WrapUp);
    c.arrive(2, "general");
    let o = c.offers();
    assert!(o.is_empty(), "{o:?}");
    c.at(115.0);
    assert_eq!(c.offers(), vec![(2, "a".to_string())]);
    let wrap = c.events.iter().find_map(|(_, e)| match e {
        Event::WrapUpEnded { wrap_up, .. } => Some(*wrap_up),
        _ => None,
    });
    assert_eq!(wrap, Some(Duration::from_secs(15)));
}

#[test]
fn chat_capacity_and_exclusive_voice() {
    let mut b = Builder::new(&["s"]).queue("general", &[("s", 1)]);
    b = b.agent("a", &[("s", 3)], &[("general", 1, 0)]);
    b.config.agents[0].chat_capacity = 2;
    let mut c = b.build();
    c.at(0.0).ready("a");
    for id in 1..=3 {
        c.arrive_with(id, "general", |s| s.kind = ContactKind::Chat);
        if let Some((contact, agent)) = c.offers().pop() {
            c.accept(&agent, contact);
        }
    }
    assert_eq!(
        c.router.held(c.queue("general")),
        1,
        "third chat waits: capacity 2"
    );
    c.arrive(4, "general");
    assert!(c.offers().is_empty(), "no call while chatting");
    c.complete("a", 1);
    assert_eq!(
        c.offers(),
        vec![(3, "a".to_string())],
        "a chat slot frees: the waiting chat"
    );
    c.accept("a", 3).complete("a", 2).complete("a", 3);
    assert_eq!(
        c.offers(),
        vec![(4, "a".to_string())],
        "all chats done: the call"
    );
}

#[test]
fn estimates_use_position_agents_and_handle_time() {
    let mut c = one_queue(&["a", "b"]);
    c.at(0.0).ready("a").ready("b");
    c.arrive(1, "general").arrive(2, "general");
    c.accept("a", 1).accept("b", 2);
    for id in 3..=6 {
        c.arrive(id, "general");
    }
    let e = c.router.estimate(ContactId(5)).unwrap();
    assert_eq!(e.position, 3);
    assert_eq!(e.eligible_agents, 2);
    // Default handle time 180 s: (2 ahead + 1) × 180 / 2 agents.
    assert_eq!(e.expected_wait, Some(Duration::from_secs(270)));
    // Asterisk's baseline: a moving average of answered waits (both 0 so far).
    assert_eq!(
        c.router.asterisk_estimate(c.now, ContactId(5)),
        Some(Duration::ZERO)
    );
    c.at(100.0).complete("a", 1);
    c.accept("a", 3);
    // (3*0 + 100)/4 = 25 s, minus the 100 s waited so far by contact 4.
    assert_eq!(
        c.router.asterisk_estimate(c.now, ContactId(6)),
        Some(Duration::ZERO)
    );
    c.arrive(7, "general");
    assert_eq!(
        c.router.asterisk_estimate(c.now, ContactId(7)),
        Some(Duration::from_secs(25))
    );
}

#[test]
fn a_full_queue_refuses_clearly() {
    let mut c = one_queue(&["a"]);
    let mut config = c.router.config().clone();
    config.queues[0].max_waiting = 2;
    c.router = Router::new(config).unwrap();
    c.arrive(1, "general")
        .arrive(2, "general")
        .arrive(3, "general");
    assert_eq!(c.ended(), vec![(3, Outcome::Refused)]);
    assert_eq!(c.router.held(c.queue("general")), 2);
    c.ok(Input::Abandon {
        contact: ContactId(1),
    });
    c.arrive(4, "general");
    assert_eq!(c.router.held(c.queue("general")), 2);
}

#[test]
fn bad_inputs_are_refused_and_change_nothing() {
    let mut c = one_queue(&["a"]);
    c.arrive(1, "general");
    let before = c.router.contact_count();
    assert_eq!(
        c.input(Input::Arrive(ContactSpec::call(ContactId(1), QueueId(0)))),
        Err(InputError::DuplicateContact(ContactId(1)))
    );
    assert_eq!(
        c.input(Input::Arrive(ContactSpec::call(ContactId(2), QueueId(9)))),
        Err(InputError::UnknownQueue(QueueId(9)))
    );
    assert_eq!(
        c.input(Input::Abandon {
            contact: ContactId(99)
        }),
        Err(InputError::UnknownContact(ContactId(99)))
    );
    assert_eq!(
        c.input(Input::Ready { agent: AgentId(7) }),
        Err(InputError::UnknownAgent(AgentId(7)))
    );
    assert_eq!(
        c.input(Input::Ready { agent: AgentId(0) }),
        Err(InputError::WrongState("the agent is logged out"))
    );
    let mut spec = ContactSpec::call(ContactId(3), QueueId(0));
    spec.skills.push(SkillRequirement {
        skill: SkillId(0),
        min_proficiency: 9,
    });
    assert!(matches!(
        c.input(Input::Arrive(spec)),
        Err(InputError::BadRequirement(_))
    ));
    assert_eq!(c.router.contact_count(), before);
}

#[test]
fn impossible_configuration_is_reported_before_the_run() {
    let b = Builder::new(&["loans", "cards"])
        .queue("loans", &[("loans", 3)])
        .queue("cards", &[("cards", 1)])
        .agent("a", &[("cards", 3)], &[("loans", 1, 0), ("cards", 1, 0)]);
    let errors = Router::new(b.config).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "queues[0]");
    assert!(
        errors[0]
            .message
            .contains("no agent can serve queue \"loans\""),
        "{}",
        errors[0]
    );
}

#[test]
fn a_backup_team_serves_its_own_queue_before_widened_contacts() {
    let mut c = Builder::new(&["s"])
        .queue("accounts", &[("s", 1)])
        .queue("loans", &[("s", 1)])
        .edit_queue("accounts", |q, cfg| {
            q.steps = vec![Step {
                after: Duration::from_secs(30),
                widen_to: vec![cfg.queue_id("loans").unwrap()],
                ..Step::default()
            }]
        })
        .agent("acct", &[("s", 3)], &[("accounts", 1, 0)])
        .agent("loan", &[("s", 3)], &[("loans", 1, 0)])
        .build();
    c.at(0.0).ready("acct").ready("loan");
    c.arrive(1, "accounts").accept("acct", 1);
    c.arrive(2, "loans").accept("loan", 2);
    c.arrive(3, "accounts"); // waits; widens to the loans team at 30 s
    c.at(40.0).arrive(4, "loans");
    c.take();
    c.complete("loan", 2);
    assert_eq!(
        c.offers(),
        vec![(4, "loan".to_string())],
        "its own caller first, though 3 waited longer"
    );
    c.accept("loan", 4).complete("loan", 4);
    assert_eq!(
        c.offers(),
        vec![(3, "loan".to_string())],
        "then the widened caller"
    );
}

#[test]
fn estimate_counts_callers_ahead_who_hang_up() {
    let mut c = one_queue(&["a"]);
    c.at(0.0).ready("a").arrive(1, "general").accept("a", 1);
    // Two callers wait 100 s each; one hangs up, one is answered: 1 hang-up per 200 s waited.
    c.arrive(2, "general").arrive(3, "general");
    c.at(100.0).ok(Input::Abandon {
        contact: ContactId(2),
    });
    c.complete("a", 1).accept("a", 3);
    for id in 4..=6 {
        c.arrive(id, "general");
    }
    // Contact 6 has 2 ahead; one agent; handle time still about 180 s (μ = 1/180 per s);
    // θ ≈ 1/200 per s (the moving averages are decayed, so allow a little slack).
    let e = c.router.estimate(ContactId(6)).unwrap();
    assert_eq!(e.position, 3);
    let mu = 1.0 / 180.0;
    let theta = 1.0 / 200.0;
    let expected: f64 = (0..=2).map(|i| 1.0 / (mu + i as f64 * theta)).sum();
    let got = e.expected_wait.unwrap().as_secs_f64();
    assert!(
        (got - expected).abs() < 0.05 * expected,
        "got {got:.1} s, expected about {expected:.1} s"
    );
    assert!(got < 3.0 * 180.0, "shorter than ignoring hang-ups");
}

#[test]
fn queue_estimates_list_every_waiting_contact_in_order_like_estimate() {
    let mut c = one_queue(&["a", "b"]);
    c.at(0.0).ready("a").ready("b");
    c.arrive(1, "general")
        .arrive(2, "general")
        .accept("a", 1)
        .accept("b", 2);
    for id in 3..=40 {
        c.at(id as f64).arrive(id, "general");
    }
    c.at(50.0).ok(Input::Abandon {
        contact: ContactId(10),
    });
    let queue = c.queue("general");
    let all = c.router.queue_estimates(queue);
    assert_eq!(all.len(), 37);
    for (i, (contact, estimate)) in all.iter().enumerate() {
        assert_eq!(estimate.position, i as u32 + 1);
        assert_eq!(Some(*estimate), c.router.estimate(*contact), "{contact:?}");
    }
    let waits: Vec<_> = all.iter().map(|(_, e)| e.expected_wait.unwrap()).collect();
    assert!(
        waits.windows(2).all(|w| w[0] < w[1]),
        "later callers wait longer"
    );
}

// ----- fixtures of fixed bugs (from the first review of the routing core) -----

#[test]
fn overflow_loops_and_zero_maximum_waits_are_refused_by_validation() {
    // Before: a→b→a with a zero maximum wait recursed until the stack overflowed.
    let mut b = Builder::new(&["s"])
        .queue("a", &[("s", 1)])
        .queue("b", &[("s", 1)])
        .agent("x", &[("s", 3)], &[("a", 1, 0), ("b", 1, 0)]);
    b.config.queues[0].max_wait = Some(MaxWait {
        after: Duration::ZERO,
        action: MaxWaitAction::Overflow(QueueId(1)),
    });
    b.config.queues[1].max_wait = Some(MaxWait {
        after: Duration::from_secs(60),
        action: MaxWaitAction::Overflow(QueueId(0)),
    });
    let errors = Router::new(b.config.clone()).unwrap_err();
    assert!(
        errors.iter().any(|e| e.path == "queues[0].max_wait.after"),
        "{errors:?}"
    );
    b.config.queues[0].max_wait.as_mut().unwrap().after = Duration::from_secs(60);
    let errors = Router::new(b.config).unwrap_err();
    assert!(
        errors.iter().any(|e| e.message.contains("a → b → a")),
        "{errors:?}"
    );
}

#[test]
fn logout_never_leaves_an_offer_ringing() {
    // Before: contacts re-routed during logout could be offered to the agent logging out.
    let mut c = one_queue(&["a"]);
    let a = c.agent("a");
    c.at(0.0).ready("a");
    c.arrive_with(1, "general", |s| {
        s.preferred_agent = Some(PreferredAgent {
            agent: a,
            wait: Duration::from_secs(60),
        })
    });
    c.reject("a", 1);
    c.take();
    // The driver is late with its timers: the decline expires at 30 s, logout comes at 31 s.
    c.now = Time::from_secs(31);
    c.ok(Input::Logout { agent: a });
    assert_eq!(c.state("a"), AgentState::LoggedOut);
    let events = c.take();
    let last_offer = events
        .iter()
        .rposition(|e| matches!(e, Event::OfferCreated { .. }));
    let last_end = events
        .iter()
        .rposition(|e| matches!(e, Event::OfferEnded { .. }));
    assert!(last_offer.is_none() || last_end > last_offer, "{events:?}");
}

#[test]
fn inputs_meet_the_state_after_the_timers_due_by_then() {
    let mut c = one_queue(&["a", "b"]);
    c.at(0.0).ready("a").arrive(1, "general");
    // 25 s later, without a timeout call, the agent accepts: its offer timed out at 20 s.
    c.now = Time::from_secs(25);
    let agent = c.agent("a");
    assert_eq!(
        c.input(Input::Accept {
            agent,
            contact: ContactId(1)
        }),
        Err(InputError::WrongState(
            "no such offer is ringing for this agent"
        ))
    );
    assert!(c.take().iter().any(|e| matches!(
        e,
        Event::OfferEnded {
            reason: OfferEndReason::TimedOut,
            ..
        }
    )));
}

#[test]
fn a_full_overflow_queue_is_tried_again() {
    // Before: the contact gave up on overflowing for good, silently.
    let mut b = Builder::new(&["s"])
        .queue("main", &[("s", 1)])
        .queue("backup", &[("s", 1)])
        .agent("x", &[("s", 3)], &[("main", 1, 0)])
        .agent("y", &[("s", 3)], &[("backup", 1, 0)]);
    b.config.queues[0].max_wait = Some(MaxWait {
        after: Duration::from_secs(60),
        action: MaxWaitAction::Overflow(QueueId(1)),
    });
    b.config.queues[1].max_waiting = 1;
    let mut c = b.build();
    c.at(0.0).arrive(1, "backup"); // fills the backup queue
    c.arrive(2, "main");
    c.at(60.0);
    assert!(!c
        .take()
        .iter()
        .any(|e| matches!(e, Event::ContactOverflowed { .. })));
    c.ok(Input::Abandon {
        contact: ContactId(1),
    }); // room again
    c.at(75.0);
    assert!(c.take().iter().any(|e| matches!(
        e,
        Event::ContactOverflowed {
            contact: ContactId(2),
            ..
        }
    )));
}

#[test]
fn least_occupied_counts_handle_time_since_login() {
    let mut c = one_queue(&["veteran", "fresh"]);
    let mut config = c.router.config().clone();
    config.queues[0].selection = AgentSelection::LeastOccupied;
    c.router = Router::new(config).unwrap();
    c.at(0.0)
        .ready("veteran")
        .arrive(1, "general")
        .accept("veteran", 1);
    c.at(1000.0).complete("veteran", 1);
    let veteran = c.agent("veteran");
    c.ok(Input::Logout { agent: veteran });
    c.at(1100.0)
        .ready("fresh")
        .arrive(2, "general")
        .accept("fresh", 2);
    c.at(1110.0).complete("fresh", 2); // fresh: 10 s handled
    c.ready("veteran"); // logged in again: 0 s handled since
    c.take();
    c.arrive(3, "general");
    assert_eq!(c.offers(), vec![(3, "veteran".to_string())]);
}

#[test]
fn a_preferred_agent_that_declines_hands_the_customer_to_the_queue() {
    let mut c = one_queue(&["vipdesk", "other"]);
    let vip = c.agent("vipdesk");
    c.at(0.0).ready("vipdesk").ready("other");
    c.take();
    c.arrive_with(1, "general", |s| {
        s.preferred_agent = Some(PreferredAgent {
            agent: vip,
            wait: Duration::MAX,
        })
    });
    assert_eq!(c.offers(), vec![(1, "vipdesk".to_string())]);
    c.reject("vipdesk", 1);
    assert_eq!(
        c.offers(),
        vec![(1, "other".to_string())],
        "not kept waiting for the agent that declined"
    );
}

#[test]
fn huge_priority_bonuses_saturate_instead_of_panicking() {
    let policy = PriorityPolicy {
        urgency_bonus: Duration::from_secs(u64::MAX / 100),
        ..PriorityPolicy::default()
    };
    let attributes = ContactAttributes {
        urgency: 200,
        prefer_human: true,
        ..Default::default()
    };
    assert_eq!(policy.priority_for(&attributes).bonus, Duration::MAX);
    let mut b =
        Builder::new(&["s"])
            .queue("q", &[("s", 1)])
            .agent("a", &[("s", 3)], &[("q", 1, 0)]);
    b.config.priority.urgency_bonus = Duration::from_secs(u64::MAX / 100);
    let errors = Router::new(b.config).unwrap_err();
    assert_eq!(errors[0].path, "priority.urgency_bonus");
}

#[test]
fn requirement_sets_are_freed_with_their_last_contact() {
    // Before: every distinct set ever seen was kept, and past a million every arrival was
    // refused. `check_invariants` (run after every step by the harness) now counts them.
    let skills: Vec<String> = (0..40).map(|i| format!("tag{i}")).collect();
    let names: Vec<&str> = skills.iter().map(String::as_str).collect();
    let mut c = Builder::new(&names)
        .queue("q", &[])
        .agent("a", &[("tag0", 3)], &[("q", 1, 0)])
        .build();
    for id in 0..200u64 {
        let skill = c.skill(&format!("tag{}", id % 40), 1);
        c.arrive_with(id, "q", |s| s.skills.push(skill));
        c.ok(Input::Abandon {
            contact: ContactId(id),
        });
    }
    assert_eq!(c.router.contact_count(), 0);
}
