//! Changing the routing configuration while contacts wait and agents work
//! (`Router::reconfigure`): nothing in progress is dropped, what the new configuration allows
//! happens at once, and a configuration that would orphan an id is refused whole.

mod common;

use std::time::Duration;

use common::Builder;
use hotline_routing::*;

/// Two queues; ann takes billing only, bob tech only.
fn center() -> common::Center {
    Builder::new(&["billing", "tech"])
        .queue("billing", &[("billing", 2)])
        .queue("tech", &[("tech", 2)])
        .edit_queue("tech", |q, _| q.wrap_up = Duration::from_secs(30))
        .agent("ann", &[("billing", 3)], &[("billing", 1, 0)])
        .agent("bob", &[("tech", 3)], &[("tech", 1, 0)])
        .build()
}

#[test]
fn an_agent_given_a_queue_takes_its_waiting_caller_at_once_and_calls_in_hand_go_on() {
    let mut c = center();
    c.ready("ann").ready("bob");
    // bob talks to a tech caller; a billing caller waits behind ann's call.
    c.arrive(1, "tech").accept("bob", 1);
    c.arrive(2, "billing").accept("ann", 2);
    c.arrive(3, "billing");
    c.take();
    c.at(10.0);
    assert_eq!(c.state("bob"), AgentState::OnContact);

    // bob finishes; nothing for him in tech. Then the supervisor gives him billing too.
    c.complete("bob", 1);
    c.at(12.0);
    let mut config = c.router.config().clone();
    let billing = c.queue("billing");
    let bob = c.agent("bob");
    config.agents[bob.index()].skills.push((SkillId(0), 2));
    config.agents[bob.index()].profile.push(ProfileEntry {
        queue: billing,
        priority: 2,
        delay: Duration::ZERO,
    });
    // bob is still wrapping up: nothing yet.
    c.router
        .reconfigure(Time::from_secs(12), config)
        .expect("a valid change");
    c.at(12.0);
    assert_eq!(c.offers(), vec![]);
    assert_eq!(c.state("ann"), AgentState::OnContact, "ann's call goes on");
    // His wrap-up ends (its length was set when it began): the waiting caller is his.
    c.ok(Input::EndWrapUp {
        agent: bob,
        contact: ContactId(1),
    });
    assert_eq!(c.offers(), vec![(3, "bob".to_string())]);
    // ann's call ends normally: talk time counted from before the change.
    c.complete("ann", 2);
    let completed = c.take().into_iter().find_map(|e| match e {
        Event::ContactCompleted {
            contact: ContactId(2),
            talk,
            ..
        } => Some(talk),
        _ => None,
    });
    assert_eq!(completed, Some(Duration::from_secs(12)));
    // Nothing went missing: 1 and 2 were answered (routing ended for them once each), 3 is
    // still routed, offered to bob.
    assert_eq!(c.router.contact_count(), 1);
    let answered: Vec<u64> = c.ended().into_iter().map(|(id, _)| id).collect();
    assert_eq!(answered, [1, 2]);
}

#[test]
fn a_queue_whose_requirements_drop_lets_a_ready_agent_take_its_waiting_callers() {
    let mut c = center();
    let tech = c.queue("tech");
    c.ready("ann");
    c.arrive(1, "tech").arrive(2, "tech");
    c.at(30.0);
    assert_eq!(c.offers(), vec![]);
    assert_eq!(c.router.held(tech), 2);
    // Tech callers may now go to the billing agents too, from the start.
    let mut config = c.router.config().clone();
    config.queues[tech.index()].skills.clear();
    let ann = c.agent("ann");
    config.agents[ann.index()].profile.push(ProfileEntry {
        queue: tech,
        priority: 1,
        delay: Duration::ZERO,
    });
    c.router.reconfigure(Time::from_secs(30), config).unwrap();
    c.at(30.0);
    // The first to arrive is served first; its wait runs from its arrival.
    assert_eq!(c.offers(), vec![(1, "ann".to_string())]);
    c.accept("ann", 1);
    let waited = c.take().into_iter().find_map(|e| match e {
        Event::ContactEnded {
            contact: ContactId(1),
            waited,
            ..
        } => Some(waited),
        _ => None,
    });
    assert_eq!(waited, Some(Duration::from_secs(30)));
    assert_eq!(
        c.router.held(tech),
        1,
        "2 still waits; 1 left the queue for ann"
    );
}

#[test]
fn new_queues_and_agents_are_added_at_the_end_and_work_at_once() {
    let mut c = center();
    c.arrive(1, "billing");
    let mut config = c.router.config().clone();
    config.skills.push("zh".into());
    config.queues.push(QueueConfig::new(
        "vip",
        vec![SkillRequirement {
            skill: SkillId(2),
            min_proficiency: 1,
        }],
    ));
    config.agents.push(AgentConfig {
        name: "cai".into(),
        skills: vec![(SkillId(2), 5), (SkillId(0), 5)],
        profile: vec![
            ProfileEntry {
                queue: QueueId(2),
                priority: 1,
                delay: Duration::ZERO,
            },
            ProfileEntry {
                queue: QueueId(0),
                priority: 2,
                delay: Duration::ZERO,
            },
        ],
        chat_capacity: 0,
    });
    c.router.reconfigure(Time::ZERO, config).unwrap();
    c.at(1.0);
    c.arrive(2, "vip");
    c.ready("cai");
    // The vip queue comes first in cai's profile.
    assert_eq!(c.offers(), vec![(2, "cai".to_string())]);
}

#[test]
fn a_configuration_that_drops_or_renames_an_id_or_is_invalid_is_refused_and_changes_nothing() {
    let mut c = center();
    c.ready("ann");
    c.arrive(1, "tech");
    let before = c.router.config().clone();
    type Change = Box<dyn Fn(&mut RoutingConfig)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "queue 1 was \"tech\"",
            Box::new(|c| c.queues[1].name = "support".into()),
        ),
        (
            "queue \"tech\" is gone",
            Box::new(|c| {
                c.queues.pop();
                c.agents[1].profile.clear();
            }),
        ),
        (
            "agent \"bob\" is gone",
            Box::new(|c| {
                c.agents.pop();
            }),
        ),
        ("skill 0 was \"billing\"", Box::new(|c| c.skills.swap(0, 1))),
        (
            "priority tier 0 was \"standard\"",
            Box::new(|c| c.priority.tiers[0].name = "gold".into()),
        ),
        ("not valid", Box::new(|c| c.queues[0].max_waiting = 0)),
    ];
    for (said, change) in cases {
        let mut config = before.clone();
        change(&mut config);
        let refused = c
            .router
            .reconfigure(Time::from_secs(1), config)
            .expect_err(said);
        assert!(refused.to_string().contains(said), "{said}: {refused}");
        assert_eq!(c.router.config().queues[1].name, "tech");
        c.router.check_invariants().unwrap();
    }
    // Still working: the tech caller waits, ann takes billing.
    c.arrive(2, "billing");
    assert_eq!(c.offers(), vec![(2, "ann".to_string())]);
}

#[test]
fn a_waiting_contacts_timers_follow_the_new_steps_and_maximum_wait() {
    let mut c = center();
    let billing = c.queue("billing");
    c.arrive(1, "billing");
    c.at(10.0);
    // After 20 s in the queue, billing callers leave with a callback offer... as a maximum
    // wait to the tech queue.
    let mut config = c.router.config().clone();
    config.queues[billing.index()].max_wait = Some(MaxWait {
        after: Duration::from_secs(20),
        action: MaxWaitAction::Overflow(QueueId(1)),
    });
    c.router.reconfigure(Time::from_secs(10), config).unwrap();
    c.at(19.0);
    assert!(!c
        .take()
        .iter()
        .any(|e| matches!(e, Event::ContactOverflowed { .. })));
    c.at(20.5);
    let moved = c.take().into_iter().any(|e| {
        matches!(e, Event::ContactOverflowed { contact, to: Some(to), .. }
            if contact == ContactId(1) && to == QueueId(1))
    });
    assert!(moved, "overflowed at 20 s of waiting");
    c.ready("bob");
    assert_eq!(c.offers(), vec![(1, "bob".to_string())]);
}

#[test]
fn agents_given_a_queue_at_once_are_chosen_by_its_selection_rule_not_their_order() {
    // Three tech agents, ready one after the other (ann first: longest idle); billing
    // callers wait. Billing is given to all three in one change.
    let mut c = Builder::new(&["billing", "tech"])
        .queue("billing", &[])
        .queue("tech", &[("tech", 1)])
        .agent("ann", &[("tech", 3)], &[("tech", 1, 0)])
        .agent("bob", &[("tech", 3)], &[("tech", 1, 0)])
        .agent("cai", &[("tech", 3)], &[("tech", 1, 0)])
        .agent("dan", &[("billing", 3)], &[("billing", 1, 0)])
        .build();
    c.at(1.0).ready("cai");
    c.at(2.0).ready("bob");
    c.at(3.0).ready("ann");
    c.at(4.0).arrive(1, "billing").arrive(2, "billing");
    assert_eq!(c.offers(), vec![]);
    let mut config = c.router.config().clone();
    let billing = c.queue("billing");
    for agent in &mut config.agents[..3] {
        agent.profile.push(ProfileEntry {
            queue: billing,
            priority: 2,
            delay: Duration::ZERO,
        });
    }
    c.router.reconfigure(Time::from_secs(5), config).unwrap();
    c.at(5.0);
    // Longest idle first: cai (ready at 1 s) gets the first caller, bob the second.
    assert_eq!(
        c.offers(),
        vec![(1, "cai".to_string()), (2, "bob".to_string())]
    );
}
