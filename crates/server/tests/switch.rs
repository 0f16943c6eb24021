//! The switch on a virtual clock: scripted phones (callers on a trunk, agents that register
//! with digest) exchange real SIP with it over a seeded in-memory network.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use hotline_routing::{AgentId, AgentState, QueueId};
use hotline_server::phone::{Answer, Phone, PhoneConfig, PhoneEvent};
use hotline_server::switch::{
    CallEvent, CallerLookup, CallerProfile, IpNet, MediaCommand, MediaSettings, Menu, MenuAction,
    NumberRoute, Party, Record, SipAgent, Survey, Switch, SwitchConfig, Target, Trunk,
};
use hotline_sip::netsim::{LossyNetwork, NetConfig};
use hotline_sip::{Credentials, Millis, Peer, TransactionConfig, Transport};

const ROUTING: &str = r#"
[routing]
[routing.offers]
offer_timeout = 8
[[routing.queues]]
name = "general"
[[routing.agents]]
name = "ann"
queues = ["general"]
[[routing.agents]]
name = "bob"
queues = ["general"]
"#;

fn udp(addr: SocketAddr) -> Peer {
    Peer {
        addr,
        transport: Transport::Udp,
    }
}

const SWITCH: &str = "127.0.0.1:5060";
const TRUNK: &str = "127.0.0.2:5060";

struct World {
    now: Millis,
    switch: Switch,
    phones: BTreeMap<SocketAddr, Phone>,
    network: LossyNetwork,
    events: Vec<(Millis, SocketAddr, PhoneEvent)>,
    records: Vec<Record>,
    /// Media commands the switch gave (sockets are opened at once on ports from 30000).
    media: Vec<(Millis, MediaCommand)>,
    next_port: u16,
}

impl World {
    fn new(net: NetConfig, seed: u64) -> World {
        World::with_media(net, seed, MediaSettings::default())
    }

    fn with_media(net: NetConfig, seed: u64, media: MediaSettings) -> World {
        let routing = hotline_config::parse_routing("test.toml", ROUTING).unwrap();
        let mut config = world_config(seed);
        config.default_target = None;
        config.media = media;
        World {
            now: 1_000,
            switch: Switch::new(config, routing).unwrap(),
            phones: BTreeMap::new(),
            network: LossyNetwork::new(net, seed),
            events: Vec::new(),
            records: Vec::new(),
            media: Vec::new(),
            next_port: 30_000,
        }
    }

    fn add_phone(&mut self, user: &str, addr: &str, answer: Answer, password: &str) -> SocketAddr {
        let local: SocketAddr = addr.parse().unwrap();
        let phone = Phone::new(PhoneConfig {
            user: user.into(),
            password: password.into(),
            domain: "hotline.test".into(),
            local,
            server: udp(SWITCH.parse().unwrap()),
            answer,
            rtp_port: 40_000,
            seed: local.port() as u64 * 31 + u64::from(local.ip().to_string().len() as u32),
        });
        self.phones.insert(local, phone);
        local
    }

    fn agent(&mut self, user: &str, addr: &str, answer: Answer) -> SocketAddr {
        let local = self.add_phone(user, addr, answer, &format!("{user}-secret"));
        self.phones
            .get_mut(&local)
            .unwrap()
            .register(self.now, 3600);
        local
    }

    fn caller(&mut self) -> SocketAddr {
        let addr: SocketAddr = TRUNK.parse().unwrap();
        if !self.phones.contains_key(&addr) {
            self.add_phone("13800138000", TRUNK, Answer::Never, "");
        }
        addr
    }

    fn phone(&mut self, addr: SocketAddr) -> &mut Phone {
        self.phones.get_mut(&addr).unwrap()
    }

    /// Moves every output into the network.
    fn flush(&mut self) {
        while let Some(command) = self.switch.poll_media() {
            if let MediaCommand::Open { contact, leg } = command {
                let port = self.next_port;
                self.next_port += 2;
                self.switch.media_opened(self.now, contact, leg, port);
            }
            self.media.push((self.now, command));
        }
        let switch_addr: SocketAddr = SWITCH.parse().unwrap();
        while let Some(t) = self.switch.poll_transmit() {
            self.network.send(self.now, switch_addr, t.to.addr, t.bytes);
        }
        for (addr, phone) in self.phones.iter_mut() {
            while let Some(t) = phone.poll_transmit() {
                self.network.send(self.now, *addr, t.to.addr, t.bytes);
            }
            while let Some(event) = phone.poll_event() {
                self.events.push((self.now, *addr, event));
            }
        }
        while let Some(record) = self.switch.poll_record() {
            self.records.push(record);
        }
    }

    /// Runs until `end` (virtual milliseconds from now).
    fn run_for(&mut self, duration: Millis) {
        let end = self.now + duration;
        loop {
            self.flush();
            let next = [self.switch.poll_timeout(), self.network.next_arrival()]
                .into_iter()
                .chain(self.phones.values().map(|p| p.poll_timeout()))
                .flatten()
                .min();
            let Some(at) = next.filter(|&at| at <= end) else {
                self.now = end;
                self.switch.handle_timeout(end);
                self.flush();
                return;
            };
            self.now = at.max(self.now);
            let switch_addr: SocketAddr = SWITCH.parse().unwrap();
            while let Some(d) = self.network.poll_arrival(self.now) {
                if d.to == switch_addr {
                    self.switch.handle_datagram(self.now, udp(d.from), &d.bytes);
                } else if let Some(phone) = self.phones.get_mut(&d.to) {
                    phone.handle_datagram(self.now, udp(d.from), &d.bytes);
                }
            }
            self.switch.handle_timeout(self.now);
            for phone in self.phones.values_mut() {
                phone.handle_timeout(self.now);
            }
            self.switch.check_invariants();
        }
    }

    fn events_of(&self, addr: SocketAddr) -> Vec<PhoneEvent> {
        self.events
            .iter()
            .filter(|(_, a, _)| *a == addr)
            .map(|(_, _, e)| e.clone())
            .collect()
    }

    fn call_events(&self) -> Vec<CallEvent> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Call(_, e) => Some(e.clone()),
                Record::Routing(..) => None,
            })
            .collect()
    }

    fn state(&self, agent: u32) -> Option<AgentState> {
        self.switch.router().agent_state(AgentId(agent))
    }
}

fn registered(world: &World, addr: SocketAddr) -> bool {
    world
        .events_of(addr)
        .iter()
        .any(|e| matches!(e, PhoneEvent::Registered { .. }))
}

#[test]
fn an_agent_registers_with_digest_and_becomes_ready() {
    let mut world = World::new(NetConfig::perfect(2), 1);
    let ann = world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 1_000,
            talk_ms: None,
        },
    );
    world.run_for(1_000);
    assert!(registered(&world, ann), "{:?}", world.events_of(ann));
    assert!(world.switch.is_registered(AgentId(0)));
    assert_eq!(world.state(0), Some(AgentState::Ready));
}

#[test]
fn a_wrong_password_is_refused_and_the_agent_stays_logged_out() {
    let mut world = World::new(NetConfig::perfect(2), 2);
    let ann = world.add_phone("ann", "127.0.0.10:5060", Answer::Never, "guess");
    let now = world.now;
    world.phone(ann).register(now, 3600);
    world.run_for(1_000);
    assert_eq!(
        world.events_of(ann),
        vec![PhoneEvent::RegisterFailed { status: 403 }]
    );
    assert_eq!(world.state(0), Some(AgentState::LoggedOut));
    assert!(world
        .call_events()
        .iter()
        .any(|e| matches!(e, CallEvent::AuthFailed { .. })));
}

#[test]
fn password_guessing_from_one_address_is_refused_unchecked_for_a_while() {
    let mut world = World::new(NetConfig::perfect(2), 12);
    let guesser = world.add_phone("ann", "127.0.0.50:5060", Answer::Never, "guess");
    for _ in 0..12 {
        let now = world.now;
        world.phone(guesser).register(now, 3600);
        world.run_for(1_000);
    }
    assert_eq!(
        world.switch.stats().auth_blocked,
        2,
        "after 10 failures the rest are refused unchecked"
    );
    // The real phone at another address still registers.
    let ann = world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 1_000,
            talk_ms: None,
        },
    );
    world.run_for(1_000);
    assert!(registered(&world, ann));
    // A minute later the guesser's address is checked again (and fails again).
    world.run_for(60_000);
    let now = world.now;
    world.phone(guesser).register(now, 3600);
    world.run_for(1_000);
    assert_eq!(world.switch.stats().auth_blocked, 2);
}

#[test]
fn a_call_is_queued_rung_answered_and_both_legs_end_on_bye() {
    let mut world = World::new(NetConfig::perfect(2), 3);
    let ann = world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 2_000,
            talk_ms: None,
        },
    );
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    let call = world.phone(caller).call(now, "95588", Some(30_000), None);
    world.run_for(60_000);
    let caller_events = world.events_of(caller);
    assert_eq!(
        caller_events,
        vec![
            PhoneEvent::Answered { call: call.clone() },
            PhoneEvent::Ended {
                call,
                status: 200,
                by_remote: false
            }
        ]
    );
    let ann_events = world.events_of(ann);
    assert!(matches!(&ann_events[1], PhoneEvent::Incoming { from, .. } if from == "13800138000"));
    assert!(matches!(&ann_events[2], PhoneEvent::Picked { .. }));
    assert!(matches!(
        &ann_events[3],
        PhoneEvent::Ended {
            status: 200,
            by_remote: true,
            ..
        }
    ));
    assert!(world.call_events().contains(&CallEvent::Ended {
        contact: hotline_routing::ContactId(1),
        by: Party::Caller
    }));
    assert_eq!(world.switch.calls(), 0, "the call is forgotten");
    world.run_for(120_000);
    assert_eq!(world.switch.transactions(), 0, "no transaction leaks");
    assert_eq!(world.state(0), Some(AgentState::Ready), "wrap-up over");
}

#[test]
fn an_agent_who_does_not_answer_loses_the_call_to_the_next_agent() {
    let mut world = World::new(NetConfig::perfect(2), 4);
    let ann = world.agent("ann", "127.0.0.10:5060", Answer::Never);
    world.run_for(500);
    let bob = world.agent(
        "bob",
        "127.0.0.11:5060",
        Answer::After {
            ring_ms: 1_000,
            talk_ms: Some(10_000),
        },
    );
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    let call = world.phone(caller).call(now, "95588", None, None);
    world.run_for(60_000);
    // Ann rang first (longest idle), did not answer within the offer timeout, and her
    // ringing was cancelled; Bob answered and hung up after 10 s.
    let ann_events = world.events_of(ann);
    assert!(
        ann_events.iter().any(|e| matches!(
            e,
            PhoneEvent::Ended {
                status: 487,
                by_remote: true,
                ..
            }
        )),
        "{ann_events:?}"
    );
    assert!(world
        .events_of(caller)
        .contains(&PhoneEvent::Answered { call }));
    assert!(world
        .events_of(bob)
        .iter()
        .any(|e| matches!(e, PhoneEvent::Incoming { .. })));
    assert_eq!(world.switch.calls(), 0);
}

#[test]
fn an_agent_who_rejects_passes_the_call_on() {
    let mut world = World::new(NetConfig::perfect(2), 5);
    world.agent("ann", "127.0.0.10:5060", Answer::Reject { status: 486 });
    world.run_for(500);
    let bob = world.agent(
        "bob",
        "127.0.0.11:5060",
        Answer::After {
            ring_ms: 500,
            talk_ms: Some(5_000),
        },
    );
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    let call = world.phone(caller).call(now, "95588", None, None);
    world.run_for(30_000);
    assert!(world
        .events_of(caller)
        .contains(&PhoneEvent::Answered { call }));
    assert!(world
        .call_events()
        .iter()
        .any(|e| matches!(e, CallEvent::AgentLegFailed { status: 486, .. })));
    assert!(world
        .events_of(bob)
        .iter()
        .any(|e| matches!(e, PhoneEvent::Incoming { .. })));
}

#[test]
fn a_caller_who_hangs_up_while_the_agent_rings_leaves_no_zombie_leg() {
    let mut world = World::new(NetConfig::perfect(2), 6);
    let ann = world.agent("ann", "127.0.0.10:5060", Answer::Never);
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    let call = world.phone(caller).call(now, "95588", None, Some(3_000));
    world.run_for(60_000);
    assert_eq!(
        world.events_of(caller),
        vec![PhoneEvent::Ended {
            call,
            status: 487,
            by_remote: true
        }]
    );
    assert!(world.events_of(ann).iter().any(|e| matches!(
        e,
        PhoneEvent::Ended {
            status: 487,
            by_remote: true,
            ..
        }
    )));
    assert_eq!(world.phone(ann).active_calls(), 0);
    assert_eq!(world.switch.calls(), 0);
    assert_eq!(world.state(0), Some(AgentState::Ready));
}

#[test]
fn a_caller_who_hangs_up_in_the_queue_is_abandoned() {
    let mut world = World::new(NetConfig::perfect(2), 7);
    let caller = world.caller();
    let now = world.now;
    let call = world.phone(caller).call(now, "95588", None, Some(5_000));
    world.run_for(60_000);
    assert_eq!(
        world.events_of(caller),
        vec![PhoneEvent::Ended {
            call,
            status: 487,
            by_remote: true
        }]
    );
    assert!(world.records.iter().any(|r| matches!(
        r,
        Record::Routing(
            _,
            hotline_routing::Event::ContactEnded {
                outcome: hotline_routing::Outcome::Abandoned,
                ..
            }
        )
    )));
    assert_eq!(world.switch.calls(), 0);
}

#[test]
fn calls_from_outside_the_trunks_and_to_unknown_numbers_are_refused() {
    let mut world = World::new(NetConfig::perfect(2), 8);
    let stranger = world.add_phone("eve", "127.0.0.99:5060", Answer::Never, "");
    let now = world.now;
    world.phone(stranger).call(now, "95588", None, None);
    let caller = world.caller();
    world.phone(caller).call(now, "10086", None, None);
    world.run_for(40_000);
    assert!(matches!(
        &world.events_of(stranger)[..],
        [PhoneEvent::Ended { status: 403, .. }]
    ));
    assert!(matches!(
        &world.events_of(caller)[..],
        [PhoneEvent::Ended { status: 404, .. }]
    ));
    assert_eq!(world.switch.stats().refused, 2);
}

#[test]
fn a_hundred_calls_over_a_lossy_network_all_connect_and_nothing_leaks() {
    let net = NetConfig {
        drop: 0.05,
        duplicate: 0.05,
        delay_min_ms: 1,
        delay_max_ms: 40,
    };
    let mut world = World::new(net, 9);
    for (name, addr) in [("ann", "127.0.0.10:5060"), ("bob", "127.0.0.11:5060")] {
        world.agent(
            name,
            addr,
            Answer::After {
                ring_ms: 300,
                talk_ms: Some(2_000),
            },
        );
    }
    world.run_for(5_000);
    let caller = world.caller();
    let mut calls = Vec::new();
    for _ in 0..100 {
        let now = world.now;
        calls.push(world.phone(caller).call(now, "95588", Some(1_000), None));
        world.run_for(2_000);
    }
    world.run_for(300_000);
    let events = world.events_of(caller);
    for call in &calls {
        assert!(
            events.contains(&PhoneEvent::Answered { call: call.clone() }),
            "{call} was not answered"
        );
    }
    assert_eq!(world.switch.stats().connected, 100);
    assert_eq!(world.switch.calls(), 0, "calls leaked");
    assert_eq!(world.switch.transactions(), 0, "transactions leaked");
    assert!(world.network.dropped > 0);
}

// Anchored media: hotline answers the caller, plays menus and announcements, and bridges.

const CALLER_CONTACT: hotline_routing::ContactId = hotline_routing::ContactId(1);
/// Where the carrier delivers the calls hotline places (callbacks).
const CUSTOMER: &str = "127.0.0.2:5080";

fn media_settings() -> MediaSettings {
    MediaSettings {
        enabled: true,
        address: "127.0.0.1".parse().unwrap(),
        announce_every_ms: 20_000,
        callback_digit: Some('1'),
        menus: vec![Menu {
            name: "main".into(),
            language: hotline_media::announce::Language::ZhCn,
            prompts: vec!["zh/welcome_menu".into()],
            options: vec![
                ('1', MenuAction::Queue(QueueId(0))),
                ('3', MenuAction::Play(vec!["zh/opening_hours".into()])),
            ],
            timeout_ms: 5_000,
            repeats: 1,
            default: MenuAction::HangUp,
        }],
        ..MediaSettings::default()
    }
}

fn media_world(seed: u64) -> World {
    let mut world = World::with_media(NetConfig::perfect(2), seed, media_settings());
    // 95588 answers with the menu; other numbers go to the queue.
    let routing = hotline_config::parse_routing("test.toml", ROUTING).unwrap();
    let mut config = world_config(seed);
    config.numbers[0].target = Target::Menu(0);
    config.media = media_settings();
    // Callbacks go out through the carrier to the customer's phone at CUSTOMER.
    config.trunks[0].address = Some(CUSTOMER.parse().unwrap());
    world.switch = Switch::new(config, routing).unwrap();
    world
}

fn world_config(seed: u64) -> SwitchConfig {
    SwitchConfig {
        local: SWITCH.parse().unwrap(),
        realm: "hotline.test".into(),
        secret: [7; 32],
        digest_algorithms: Vec::new(),
        agents: ["ann", "bob"]
            .iter()
            .map(|name| SipAgent {
                name: name.to_string(),
                credentials: Credentials::Password(format!("{name}-secret")),
            })
            .collect(),
        numbers: vec![NumberRoute {
            number: "95588".into(),
            target: Target::Queue(QueueId(0)),
            hours: None,
        }],
        default_target: Some(Target::Queue(QueueId(0))),
        calendars: Vec::new(),
        media: MediaSettings::default(),
        trunks: vec![Trunk {
            name: "carrier".into(),
            allow: vec![IpNet::parse("127.0.0.2").unwrap()],
            address: None,
            auth: None,
        }],
        seed,
        transactions: TransactionConfig::default(),
        max_calls: 100,
        dial_timeout_ms: 30_000,
        first_contact_id: 1,
        caller_lookup: None,
        outbound: Default::default(),
    }
}

impl World {
    fn plays(&self) -> Vec<Vec<String>> {
        self.media
            .iter()
            .filter_map(|(_, c)| match c {
                MediaCommand::Play { prompts, .. } => Some(prompts.clone()),
                _ => None,
            })
            .collect()
    }

    fn media_event(&mut self, event: hotline_media::call::MediaEvent) {
        let now = self.now;
        self.switch.media_event(now, CALLER_CONTACT, event);
    }

    fn press(&mut self, digit: char) {
        self.media_event(hotline_media::call::MediaEvent::Digit {
            leg: hotline_media::call::LegId::Caller,
            digit,
        });
    }

    fn prompts_finished(&mut self) {
        self.media_event(hotline_media::call::MediaEvent::PromptsFinished {
            leg: hotline_media::call::LegId::Caller,
        });
    }
}

#[test]
fn with_media_the_caller_is_answered_picks_from_the_menu_and_is_bridged_to_the_agent() {
    let mut world = media_world(21);
    let ann = world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 1_000,
            talk_ms: None,
        },
    );
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    let call = world.phone(caller).call(now, "95588", Some(30_000), None);
    world.run_for(200);
    // hotline answered at once, on a socket of its own, and speaks the menu.
    assert_eq!(
        world.events_of(caller),
        vec![PhoneEvent::Answered { call: call.clone() }]
    );
    assert!(matches!(
        world.media[0].1,
        MediaCommand::Open {
            leg: hotline_media::call::LegId::Caller,
            ..
        }
    ));
    assert_eq!(world.plays(), vec![vec!["zh/welcome_menu".to_string()]]);
    assert!(
        world.events_of(ann).len() == 1,
        "no agent rings before a choice"
    );
    world.prompts_finished();
    world.run_for(1_000);
    world.press('1');
    world.run_for(5_000);
    let events = world.call_events();
    assert!(events.contains(&CallEvent::MenuChoice {
        contact: CALLER_CONTACT,
        menu: "main".into(),
        digit: '1'
    }));
    assert!(events.contains(&CallEvent::Queued {
        contact: CALLER_CONTACT,
        queue: QueueId(0)
    }));
    assert!(events.contains(&CallEvent::Connected {
        contact: CALLER_CONTACT,
        agent: AgentId(0)
    }));
    // The agent leg got a socket of its own, and the legs were bridged.
    let opened_agent = world.media.iter().any(|(_, c)| {
        matches!(
            c,
            MediaCommand::Open {
                leg: hotline_media::call::LegId::Agent,
                ..
            }
        )
    });
    assert!(opened_agent);
    assert!(world
        .media
        .iter()
        .any(|(_, c)| matches!(c, MediaCommand::Bridge { .. })));
    world.run_for(60_000);
    assert!(matches!(
        world.events_of(ann).last(),
        Some(PhoneEvent::Ended {
            by_remote: true,
            ..
        })
    ));
    assert!(
        matches!(world.media.last(), Some((_, MediaCommand::Close { .. }))),
        "the media closes with the call"
    );
    assert_eq!(world.switch.calls(), 0);
    world.run_for(120_000);
    assert_eq!(world.switch.transactions(), 0);
    assert_eq!(world.state(0), Some(AgentState::Ready));
}

#[test]
fn with_media_no_key_replays_the_menu_then_takes_its_default() {
    let mut world = media_world(22);
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call(now, "95588", Some(600_000), None);
    world.run_for(200);
    world.prompts_finished();
    world.run_for(5_500);
    assert_eq!(
        world.plays()[1],
        vec!["zh/invalid_choice".to_string(), "zh/welcome_menu".into()],
        "after the time-out the menu is offered again"
    );
    world.prompts_finished();
    world.run_for(5_500);
    // The repeats ran out: the default (hang up).
    assert!(matches!(
        world.events_of(caller).last(),
        Some(PhoneEvent::Ended {
            by_remote: true,
            ..
        })
    ));
    assert_eq!(world.switch.calls(), 0);
}

#[test]
fn with_media_a_queued_caller_hears_position_and_wait_and_can_choose_a_callback() {
    let mut world = media_world(23);
    let ann = world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 500,
            talk_ms: None,
        },
    );
    world.run_for(500);
    // A first caller (queue number 10000, the default) keeps ann busy.
    let first = world.add_phone("13900139000", "127.0.0.2:5070", Answer::Never, "");
    let now = world.now;
    world.phone(first).call(now, "10000", Some(600_000), None);
    world.run_for(5_000);
    assert_eq!(world.switch.stats().connected, 1);
    // The second waits: it hears where it stands, is offered a callback, then music.
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call(now, "10000", Some(600_000), None);
    world.run_for(1_000);
    let second = hotline_routing::ContactId(2);
    let announced = world.call_events().into_iter().find_map(|e| match e {
        CallEvent::Announced {
            contact,
            position,
            wait_seconds,
        } if contact == second => Some((position, wait_seconds)),
        _ => None,
    });
    let (position, _) = announced.expect("an announcement");
    assert_eq!(position, 1);
    let last = world
        .media
        .iter()
        .rev()
        .find_map(|(_, c)| match c {
            MediaCommand::Play { prompts, moh, .. } => Some((prompts.clone(), *moh)),
            _ => None,
        })
        .unwrap();
    assert_eq!(last.0.first().map(String::as_str), Some("zh/you_are_next"));
    assert_eq!(last.0.last().map(String::as_str), Some("zh/callback_offer"));
    assert!(last.1, "music on hold after the announcement");
    // 20 s later it hears it again.
    let plays_before = world.plays().len();
    world.run_for(20_000);
    assert_eq!(world.plays().len(), plays_before + 1);
    // It presses 1: the callback keeps its place, and hotline says goodbye and hangs up.
    let now = world.now;
    world.switch.media_event(
        now,
        second,
        hotline_media::call::MediaEvent::Digit {
            leg: hotline_media::call::LegId::Caller,
            digit: '1',
        },
    );
    world.run_for(100);
    assert!(world
        .call_events()
        .contains(&CallEvent::CallbackAccepted { contact: second }));
    assert_eq!(
        world.plays().last().unwrap(),
        &vec!["zh/callback_confirmed".to_string()]
    );
    let now = world.now;
    world.switch.media_event(
        now,
        second,
        hotline_media::call::MediaEvent::PromptsFinished {
            leg: hotline_media::call::LegId::Caller,
        },
    );
    world.run_for(1_000);
    assert!(matches!(
        world.events_of(caller).last(),
        Some(PhoneEvent::Ended {
            by_remote: true,
            ..
        })
    ));
    assert!(
        world.switch.estimate(second).is_some(),
        "the callback is still in the queue"
    );
    // When ann frees up the callback is hers: her phone rings first, showing whom she will
    // call; once she answers hotline dials the customer through the carrier and bridges.
    let customer = world.add_phone(
        "13800138000",
        CUSTOMER,
        Answer::After {
            ring_ms: 3_000,
            talk_ms: Some(20_000),
        },
        "",
    );
    let now = world.now;
    let first_call = world
        .events
        .iter()
        .find_map(|(_, a, e)| match e {
            PhoneEvent::Answered { call } if *a == first => Some(call.clone()),
            _ => None,
        })
        .unwrap();
    world.phone(first).hang_up(now, &first_call);
    world.run_for(300);
    let ann_rings = world
        .events_of(ann)
        .into_iter()
        .filter_map(|e| match e {
            PhoneEvent::Incoming { from, .. } => Some(from),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(ann_rings.len(), 2, "ann's phone rang for the callback");
    assert_eq!(ann_rings[1], "回拨 callback 13800138000");
    assert!(
        world.events_of(customer).is_empty(),
        "the customer is not dialled before the agent answers"
    );
    world.run_for(2_700);
    assert!(world.call_events().contains(&CallEvent::CallbackDialling {
        contact: second,
        agent: AgentId(0),
        attempt: 1,
        number: "13800138000".into(),
        trunk: "carrier".into(),
    }));
    let to_ann = world
        .media
        .iter()
        .rev()
        .find_map(|(_, c)| match c {
            MediaCommand::Play {
                contact,
                leg: hotline_media::call::LegId::Agent,
                prompts,
                ..
            } if *contact == second => Some(prompts.clone()),
            _ => None,
        })
        .expect("ann hears a prompt while the customer is dialled");
    assert_eq!(to_ann, vec!["zh/callback_dialling".to_string()]);
    assert!(matches!(
        world.events_of(customer).first(),
        Some(PhoneEvent::Incoming { from, .. }) if from == "10000"
    ));
    world.run_for(4_000);
    assert!(world.call_events().contains(&CallEvent::Connected {
        contact: second,
        agent: AgentId(0)
    }));
    assert!(world
        .media
        .iter()
        .any(|(_, c)| matches!(c, MediaCommand::Bridge { contact, .. } if *contact == second)));
    // The customer hangs up after 20 s: ann's leg ends too, the call is forgotten.
    world.run_for(25_000);
    assert!(matches!(
        world.events_of(ann).last(),
        Some(PhoneEvent::Ended {
            by_remote: true,
            ..
        })
    ));
    assert_eq!(world.switch.calls(), 0);
    let answered = world.records.iter().any(|r| {
        matches!(
            r,
            Record::Routing(
                _,
                hotline_routing::Event::ContactEnded {
                    contact,
                    outcome: hotline_routing::Outcome::Answered,
                    ..
                }
            ) if *contact == second
        )
    });
    assert!(answered, "the callback counts as answered");
    world.run_for(120_000);
    assert_eq!(world.switch.transactions(), 0);
    assert_eq!(world.state(0), Some(AgentState::Ready));
}

/// A caller in queue 10000 who presses 1 while `ann` talks to someone else, and is still
/// hearing that it will be called back. Returns the callback's contact and the first call's
/// phone, still talking.
fn callback_chosen(
    world: &mut World,
    customer: Answer,
) -> (hotline_routing::ContactId, SocketAddr) {
    world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 500,
            talk_ms: None,
        },
    );
    world.add_phone("13800138000", CUSTOMER, customer, "");
    world.run_for(500);
    let first = world.add_phone("13900139000", "127.0.0.2:5070", Answer::Never, "");
    let now = world.now;
    world.phone(first).call(now, "10000", Some(600_000), None);
    world.run_for(5_000);
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call(now, "10000", Some(600_000), None);
    world.run_for(1_000);
    let second = hotline_routing::ContactId(2);
    let now = world.now;
    world.switch.media_event(
        now,
        second,
        hotline_media::call::MediaEvent::Digit {
            leg: hotline_media::call::LegId::Caller,
            digit: '1',
        },
    );
    (second, first)
}

/// [`callback_chosen`], then the goodbye ends and hotline hangs up on the caller.
fn callback_waiting(
    world: &mut World,
    customer: Answer,
) -> (hotline_routing::ContactId, SocketAddr) {
    let (second, first) = callback_chosen(world, customer);
    world.run_for(100);
    let now = world.now;
    world.switch.media_event(
        now,
        second,
        hotline_media::call::MediaEvent::PromptsFinished {
            leg: hotline_media::call::LegId::Caller,
        },
    );
    world.run_for(1_000);
    (second, first)
}

fn hang_up_first(world: &mut World, first: SocketAddr) {
    let call = world
        .events
        .iter()
        .find_map(|(_, a, e)| match e {
            PhoneEvent::Answered { call } if *a == first => Some(call.clone()),
            _ => None,
        })
        .unwrap();
    let now = world.now;
    world.phone(first).hang_up(now, &call);
}

#[test]
fn with_media_a_busy_customer_frees_the_agent_and_the_callback_is_retried_later() {
    let mut world = media_world(25);
    let (second, first) = callback_waiting(&mut world, Answer::Reject { status: 486 });
    hang_up_first(&mut world, first);
    world.run_for(5_000);
    assert!(world
        .call_events()
        .contains(&CallEvent::CallbackDialFailed {
            contact: second,
            attempt: 1,
            status: 486
        }));
    let ann: SocketAddr = "127.0.0.10:5060".parse().unwrap();
    assert!(
        matches!(
            world.events_of(ann).last(),
            Some(PhoneEvent::Ended {
                by_remote: true,
                ..
            })
        ),
        "ann's phone is hung up"
    );
    assert_eq!(world.switch.calls(), 0);
    assert_eq!(world.state(0), Some(AgentState::Ready), "ann is not blamed");
    // The routing core retries after its busy delay (300 s by default).
    world.run_for(300_000);
    assert!(world
        .call_events()
        .contains(&CallEvent::CallbackDialFailed {
            contact: second,
            attempt: 2,
            status: 486
        }));
    world.run_for(120_000);
    assert_eq!(world.switch.transactions(), 0);
}

#[test]
fn with_media_a_customer_who_never_answers_is_cancelled_after_the_dial_timeout() {
    let mut world = media_world(26);
    let (second, first) = callback_waiting(&mut world, Answer::Never);
    hang_up_first(&mut world, first);
    world.run_for(3_000);
    let customer: SocketAddr = CUSTOMER.parse().unwrap();
    assert!(matches!(
        world.events_of(customer).first(),
        Some(PhoneEvent::Incoming { .. })
    ));
    world.run_for(30_000);
    assert!(world
        .call_events()
        .contains(&CallEvent::CallbackDialFailed {
            contact: second,
            attempt: 1,
            status: 487
        }));
    let no_answer = world.records.iter().any(|r| {
        matches!(
            r,
            Record::Routing(
                _,
                hotline_routing::Event::CallbackAttemptFailed {
                    outcome: hotline_routing::DialOutcome::NoAnswer,
                    ..
                }
            )
        )
    });
    assert!(no_answer);
    assert!(matches!(
        world.events_of(customer).last(),
        Some(PhoneEvent::Ended { status: 487, .. })
    ));
    assert_eq!(world.switch.calls(), 0);
    assert_eq!(world.state(0), Some(AgentState::Ready));
}

#[test]
fn with_media_an_agent_who_hangs_up_while_the_customer_rings_cancels_the_dial() {
    let mut world = media_world(27);
    let (second, first) = callback_waiting(&mut world, Answer::Never);
    hang_up_first(&mut world, first);
    world.run_for(3_000);
    let ann: SocketAddr = "127.0.0.10:5060".parse().unwrap();
    let callback = world
        .events_of(ann)
        .into_iter()
        .rev()
        .find_map(|e| match e {
            PhoneEvent::Picked { call } => Some(call),
            _ => None,
        })
        .unwrap();
    let now = world.now;
    world.phone(ann).hang_up(now, &callback);
    world.run_for(2_000);
    let customer: SocketAddr = CUSTOMER.parse().unwrap();
    assert!(matches!(
        world.events_of(customer).last(),
        Some(PhoneEvent::Ended { status: 487, .. })
    ));
    let failed = world.records.iter().any(|r| {
        matches!(
            r,
            Record::Routing(
                _,
                hotline_routing::Event::CallbackAttemptFailed { contact, outcome: hotline_routing::DialOutcome::Failed, .. }
            ) if *contact == second
        )
    });
    assert!(failed, "the dial is reported failed once");
    assert_eq!(world.switch.stats().routing_refusals, 0);
    assert_eq!(world.switch.calls(), 0);
}

#[test]
fn with_media_a_callback_offered_while_the_caller_hears_goodbye_starts_after_the_hang_up() {
    let mut world = media_world(29);
    let (second, first) = callback_chosen(
        &mut world,
        Answer::After {
            ring_ms: 1_000,
            talk_ms: Some(5_000),
        },
    );
    let customer: SocketAddr = CUSTOMER.parse().unwrap();
    let caller = world.caller();
    // ann frees up while the caller still hears "we will call you back".
    hang_up_first(&mut world, first);
    world.run_for(3_000);
    assert!(
        world.events_of(customer).is_empty(),
        "nothing is dialled while the caller is on the line"
    );
    let now = world.now;
    world.switch.media_event(
        now,
        second,
        hotline_media::call::MediaEvent::PromptsFinished {
            leg: hotline_media::call::LegId::Caller,
        },
    );
    world.run_for(5_000);
    assert!(matches!(
        world.events_of(caller).last(),
        Some(PhoneEvent::Ended {
            by_remote: true,
            ..
        })
    ));
    assert!(world.call_events().contains(&CallEvent::Connected {
        contact: second,
        agent: AgentId(0)
    }));
    world.run_for(10_000);
    assert_eq!(world.switch.calls(), 0);
}

#[test]
fn with_media_no_callback_is_offered_when_no_trunk_dials_out() {
    let mut world = media_world(28);
    let routing = hotline_config::parse_routing("test.toml", ROUTING).unwrap();
    let mut config = world_config(28);
    config.media = media_settings();
    world.switch = Switch::new(config, routing).unwrap();
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call(now, "10000", Some(600_000), None);
    world.run_for(1_000);
    assert!(
        world
            .plays()
            .iter()
            .all(|p| !p.iter().any(|id| id.ends_with("callback_offer"))),
        "no promise hotline cannot keep"
    );
    world.press('1');
    world.run_for(1_000);
    assert!(!world.call_events().contains(&CallEvent::CallbackAccepted {
        contact: CALLER_CONTACT
    }));
}

#[test]
fn with_media_a_caller_who_hangs_up_in_the_queue_is_an_abandon() {
    let mut world = media_world(24);
    let caller = world.caller();
    let now = world.now;
    // No agent: the caller waits, then hangs up after 10 s.
    world.phone(caller).call(now, "10000", Some(10_000), None);
    world.run_for(15_000);
    let abandoned = world.records.iter().any(|r| {
        matches!(
            r,
            Record::Routing(
                _,
                hotline_routing::Event::ContactEnded {
                    outcome: hotline_routing::Outcome::Abandoned,
                    ..
                }
            )
        )
    });
    assert!(abandoned);
    assert_eq!(world.switch.calls(), 0);
}

#[test]
fn with_media_an_offer_without_g711_is_refused_488() {
    let mut world = media_world(25);
    let trunk: SocketAddr = TRUNK.parse().unwrap();
    let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                m=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n";
    let invite = format!(
        "INVITE sip:95588@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKopus1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:138@carrier>;tag=a\r\nTo: <sip:95588@hotline>\r\n\
         Call-ID: opus-only@test\r\nCSeq: 1 INVITE\r\nContact: <sip:138@127.0.0.2:5060>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let now = world.now;
    world
        .switch
        .handle_datagram(now, udp(trunk), invite.as_bytes());
    let mut statuses = Vec::new();
    while let Some(t) = world.switch.poll_transmit() {
        let text = String::from_utf8_lossy(&t.bytes).to_string();
        statuses.push(text.lines().next().unwrap_or_default().to_string());
    }
    assert!(
        statuses.iter().any(|l| l.starts_with("SIP/2.0 488")),
        "{statuses:?}"
    );
    assert_eq!(world.switch.calls(), 0);
    assert!(world.switch.poll_media().is_none(), "no socket for it");
}

#[test]
fn with_media_a_call_outside_the_numbers_hours_goes_to_its_closed_target() {
    let mut world = media_world(30);
    let routing = hotline_config::parse_routing("test.toml", ROUTING).unwrap();
    let mut config = world_config(30);
    config.media = media_settings();
    // 95588: the queue from 09:00 to 18:00 on weekdays (Asia/Shanghai), the menu otherwise.
    let calendar = hotline_calendar::Calendar::from_spec(&hotline_calendar::CalendarSpec {
        name: "office".into(),
        time_zone: None,
        weekly: hotline_calendar::WeeklySpec {
            mon: Some("09:00-18:00".into()),
            tue: Some("09:00-18:00".into()),
            wed: Some("09:00-18:00".into()),
            thu: Some("09:00-18:00".into()),
            fri: Some("09:00-18:00".into()),
            ..Default::default()
        },
        holidays: Vec::new(),
        workdays: Vec::new(),
    })
    .unwrap();
    config.calendars = vec![calendar];
    config.numbers[0].hours = Some(hotline_server::switch::Hours {
        calendar: 0,
        closed: Target::Menu(0),
    });
    world.switch = Switch::new(config, routing).unwrap();
    // The world starts at 1970-01-01 08:00:01 Shanghai, a Thursday: closed.
    let caller = world.caller();
    let now = world.now;
    let call = world.phone(caller).call(now, "95588", Some(1_000), None);
    world.run_for(3_000);
    assert!(world.call_events().contains(&CallEvent::OutOfHours {
        contact: CALLER_CONTACT,
        calendar: "office".into()
    }));
    assert_eq!(world.plays()[0], vec!["zh/welcome_menu".to_string()]);
    assert!(world
        .events_of(caller)
        .contains(&PhoneEvent::Answered { call }));
    // At 09:00 it opens: the next call goes straight to the queue.
    world.run_for(3_600_000 - 4_000);
    let before = world.plays().len();
    let now = world.now;
    world.phone(caller).call(now, "95588", Some(1_000), None);
    world.run_for(3_000);
    let second = hotline_routing::ContactId(2);
    assert!(!world
        .call_events()
        .iter()
        .any(|e| matches!(e, CallEvent::OutOfHours { contact, .. } if *contact == second)));
    assert!(world.call_events().contains(&CallEvent::Queued {
        contact: second,
        queue: QueueId(0)
    }));
    assert!(world.plays()[before..]
        .iter()
        .all(|p| !p.contains(&"zh/welcome_menu".to_string())));
}

#[test]
fn with_media_a_key_sent_by_sip_info_picks_from_the_menu() {
    let mut world = media_world(31);
    world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 500,
            talk_ms: None,
        },
    );
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    let call = world.phone(caller).call(now, "95588", Some(30_000), None);
    world.run_for(200);
    world.prompts_finished();
    let now = world.now;
    world.phone(caller).send_info_digit(now, &call, '1');
    world.run_for(3_000);
    let events = world.call_events();
    assert!(events.contains(&CallEvent::MenuChoice {
        contact: CALLER_CONTACT,
        menu: "main".into(),
        digit: '1'
    }));
    assert!(events.contains(&CallEvent::Connected {
        contact: CALLER_CONTACT,
        agent: AgentId(0)
    }));
}

#[test]
fn with_media_an_agent_who_holds_gives_the_caller_music_until_resuming() {
    let mut world = media_world(32);
    let ann = world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 500,
            talk_ms: None,
        },
    );
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call(now, "10000", Some(60_000), None);
    world.run_for(3_000);
    assert_eq!(world.switch.stats().connected, 1);
    let picked = world
        .events_of(ann)
        .into_iter()
        .find_map(|e| match e {
            PhoneEvent::Picked { call } => Some(call),
            _ => None,
        })
        .unwrap();
    let bridges = |world: &World| {
        world
            .media
            .iter()
            .filter(|(_, c)| matches!(c, MediaCommand::Bridge { .. }))
            .count()
    };
    assert_eq!(bridges(&world), 1);
    let now = world.now;
    world.phone(ann).hold(now, &picked, true);
    world.run_for(1_000);
    assert!(world.call_events().contains(&CallEvent::Held {
        contact: CALLER_CONTACT,
        by: Party::Agent
    }));
    let music = world.media.iter().rev().find_map(|(_, c)| match c {
        MediaCommand::Play {
            leg, prompts, moh, ..
        } => Some((*leg, prompts.is_empty(), *moh)),
        _ => None,
    });
    assert_eq!(
        music,
        Some((hotline_media::call::LegId::Caller, true, true))
    );
    // A second hold (a refresh) changes nothing; resuming bridges again.
    let now = world.now;
    world.phone(ann).hold(now, &picked, true);
    world.run_for(1_000);
    let holds = world
        .call_events()
        .iter()
        .filter(|e| matches!(e, CallEvent::Held { .. }))
        .count();
    assert_eq!(holds, 1);
    let now = world.now;
    world.phone(ann).hold(now, &picked, false);
    world.run_for(1_000);
    assert!(world.call_events().contains(&CallEvent::Resumed {
        contact: CALLER_CONTACT,
        by: Party::Agent
    }));
    assert_eq!(bridges(&world), 2);
    world.run_for(120_000);
    assert_eq!(world.switch.calls(), 0);
    assert_eq!(world.switch.transactions(), 0);
}

#[test]
fn every_registered_phone_of_the_agent_rings_and_the_first_to_answer_takes_the_call() {
    let mut world = World::new(NetConfig::perfect(2), 33);
    // ann's desk phone declines, her softphone answers after two seconds; a third rings on.
    let desk = world.add_phone(
        "ann",
        "127.0.0.10:5060",
        Answer::Reject { status: 486 },
        "ann-secret",
    );
    let soft = world.add_phone(
        "ann",
        "127.0.0.11:5060",
        Answer::After {
            ring_ms: 2_000,
            talk_ms: Some(5_000),
        },
        "ann-secret",
    );
    let mobile = world.add_phone("ann", "127.0.0.12:5060", Answer::Never, "ann-secret");
    for phone in [desk, soft, mobile] {
        let now = world.now;
        world.phone(phone).register(now, 3600);
    }
    world.run_for(1_000);
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call(now, "95588", Some(60_000), None);
    world.run_for(1_000);
    for phone in [desk, soft, mobile] {
        assert!(
            world
                .events_of(phone)
                .iter()
                .any(|e| matches!(e, PhoneEvent::Incoming { .. })),
            "{phone} rang"
        );
    }
    world.run_for(3_000);
    assert!(world.call_events().contains(&CallEvent::Connected {
        contact: hotline_routing::ContactId(1),
        agent: AgentId(0)
    }));
    assert!(world
        .events_of(soft)
        .iter()
        .any(|e| matches!(e, PhoneEvent::Picked { .. })));
    assert!(
        matches!(
            world.events_of(mobile).last(),
            Some(PhoneEvent::Ended { status: 487, .. })
        ),
        "the phone still ringing is cancelled"
    );
    // The desk phone's refusal alone did not count against ann.
    assert_eq!(world.switch.stats().routing_refusals, 0);
    world.run_for(120_000);
    assert_eq!(world.switch.calls(), 0);
    assert_eq!(world.switch.transactions(), 0);
    assert_eq!(world.state(0), Some(AgentState::Ready));
}

#[test]
fn when_every_phone_of_the_agent_declines_the_offer_counts_as_rejected() {
    let mut world = World::new(NetConfig::perfect(2), 34);
    for addr in ["127.0.0.10:5060", "127.0.0.11:5060"] {
        let phone = world.add_phone("ann", addr, Answer::Reject { status: 486 }, "ann-secret");
        let now = world.now;
        world.phone(phone).register(now, 3600);
    }
    world.run_for(1_000);
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call(now, "95588", Some(60_000), None);
    world.run_for(2_000);
    let rejected = world.records.iter().any(|r| {
        matches!(
            r,
            Record::Routing(
                _,
                hotline_routing::Event::OfferEnded {
                    reason: hotline_routing::OfferEndReason::Rejected,
                    ..
                }
            )
        )
    });
    assert!(rejected, "a rejection, not unreachable");
    assert_eq!(
        world
            .call_events()
            .iter()
            .filter(|e| matches!(e, CallEvent::AgentLegFailed { .. }))
            .count(),
        1,
        "one failure for the offer, not one per phone"
    );
}

#[test]
fn with_media_a_late_offer_is_answered_with_ours_and_the_ack_sets_the_caller_up() {
    let mut world = media_world(35);
    world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 500,
            talk_ms: Some(2_000),
        },
    );
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call_late_offer(now, "10000", None);
    world.run_for(3_000);
    let set_caller = world.media.iter().position(|(_, c)| {
        matches!(
            c,
            MediaCommand::SetLeg {
                leg: hotline_media::call::LegId::Caller,
                setup,
                ..
            } if setup.remote.is_some_and(|a| a.port() == 40_000)
        )
    });
    assert!(
        set_caller.is_some(),
        "the ACK's answer set the caller's leg up"
    );
    let events = world.call_events();
    assert!(events.contains(&CallEvent::Queued {
        contact: CALLER_CONTACT,
        queue: QueueId(0)
    }));
    assert!(events.contains(&CallEvent::Connected {
        contact: CALLER_CONTACT,
        agent: AgentId(0)
    }));
    world.run_for(60_000);
    assert_eq!(world.switch.calls(), 0);
}

/// The outside number menu key 4 transfers to.
const OUTSIDE_NUMBER: &str = "4008123123";

/// [`media_world`] whose menu transfers to [`OUTSIDE_NUMBER`] on 4; the outside party's phone
/// sits behind the carrier at [`CUSTOMER`] and answers as `outside` says. The caller has
/// called 95588 and heard the menu.
fn transfer_world(seed: u64, outside: Answer) -> (World, SocketAddr, String) {
    let mut world = media_world(seed);
    let routing = hotline_config::parse_routing("test.toml", ROUTING).unwrap();
    let mut config = world_config(seed);
    config.numbers[0].target = Target::Menu(0);
    config.media = media_settings();
    config.media.menus[0]
        .options
        .push(('4', MenuAction::Transfer(OUTSIDE_NUMBER.into())));
    config.trunks[0].address = Some(CUSTOMER.parse().unwrap());
    world.switch = Switch::new(config, routing).unwrap();
    world.add_phone(OUTSIDE_NUMBER, CUSTOMER, outside, "");
    let caller = world.caller();
    let now = world.now;
    let call = world.phone(caller).call(now, "95588", Some(600_000), None);
    world.run_for(200);
    world.prompts_finished();
    world.run_for(500);
    (world, caller, call)
}

#[test]
fn with_media_a_menu_key_transfers_the_caller_to_an_outside_number() {
    let (mut world, caller, call) = transfer_world(
        41,
        Answer::After {
            ring_ms: 2_000,
            talk_ms: Some(20_000),
        },
    );
    let outside: SocketAddr = CUSTOMER.parse().unwrap();
    world.press('4');
    world.run_for(500);
    assert!(world.call_events().contains(&CallEvent::TransferDialling {
        contact: CALLER_CONTACT,
        number: OUTSIDE_NUMBER.into(),
        trunk: "carrier".into(),
    }));
    assert_eq!(
        world.plays().last(),
        Some(&vec!["zh/transferring".to_string()]),
        "the caller hears that it is being transferred (then music)"
    );
    // The outside phone rings with the caller's number, on the agent leg's own socket.
    assert!(matches!(
        world.events_of(outside).first(),
        Some(PhoneEvent::Incoming { from, .. }) if from == "13800138000"
    ));
    world.run_for(3_000);
    assert!(world.call_events().contains(&CallEvent::TransferConnected {
        contact: CALLER_CONTACT,
        number: OUTSIDE_NUMBER.into(),
    }));
    assert!(world
        .media
        .iter()
        .any(|(_, c)| matches!(c, MediaCommand::Bridge { .. })));
    assert_eq!(world.switch.stats().transferred, 1);
    assert_eq!(world.switch.stats().connected, 0, "no agent took it");
    // The outside party hangs up: the caller's leg ends too.
    world.run_for(25_000);
    assert!(world.events_of(caller).contains(&PhoneEvent::Ended {
        call,
        status: 200,
        by_remote: true,
    }));
    assert!(world.call_events().contains(&CallEvent::Ended {
        contact: CALLER_CONTACT,
        by: Party::Outside,
    }));
    // The routing core never saw the call.
    assert!(world
        .records
        .iter()
        .all(|r| !matches!(r, Record::Routing(..))));
    assert_eq!(world.switch.calls(), 0);
    world.run_for(120_000);
    assert_eq!(world.switch.transactions(), 0);
}

#[test]
fn with_media_a_failed_transfer_says_so_and_offers_the_menu_again() {
    let (mut world, caller, _) = transfer_world(42, Answer::Reject { status: 486 });
    world.press('4');
    world.run_for(1_000);
    assert!(world.call_events().contains(&CallEvent::TransferFailed {
        contact: CALLER_CONTACT,
        number: OUTSIDE_NUMBER.into(),
        status: 486,
    }));
    assert_eq!(
        world.plays().last(),
        Some(&vec!["zh/transfer_failed".to_string()])
    );
    world.prompts_finished();
    world.run_for(100);
    assert_eq!(
        world.plays().last(),
        Some(&vec!["zh/welcome_menu".to_string()]),
        "the menu is offered again"
    );
    // The caller is still on the line and can pick something else.
    assert!(!world
        .events_of(caller)
        .iter()
        .any(|e| matches!(e, PhoneEvent::Ended { .. })));
    world.press('1');
    world.run_for(500);
    assert!(world.call_events().contains(&CallEvent::Queued {
        contact: CALLER_CONTACT,
        queue: QueueId(0)
    }));
}

#[test]
fn with_media_a_transfer_nobody_answers_is_cancelled_after_the_dial_timeout() {
    let (mut world, _, _) = transfer_world(43, Answer::Never);
    let outside: SocketAddr = CUSTOMER.parse().unwrap();
    world.press('4');
    world.run_for(29_000);
    assert!(!world
        .call_events()
        .iter()
        .any(|e| matches!(e, CallEvent::TransferFailed { .. })));
    world.run_for(2_000);
    assert!(world.call_events().contains(&CallEvent::TransferFailed {
        contact: CALLER_CONTACT,
        number: OUTSIDE_NUMBER.into(),
        status: 487,
    }));
    assert!(matches!(
        world.events_of(outside).last(),
        Some(PhoneEvent::Ended { status: 487, .. })
    ));
    assert_eq!(world.switch.calls(), 1, "the caller is still on the line");
}

#[test]
fn with_media_a_caller_who_hangs_up_during_a_transfer_cancels_it() {
    let (mut world, caller, call) = transfer_world(44, Answer::Never);
    let outside: SocketAddr = CUSTOMER.parse().unwrap();
    world.press('4');
    world.run_for(1_000);
    let now = world.now;
    world.phone(caller).hang_up(now, &call);
    world.run_for(2_000);
    assert!(matches!(
        world.events_of(outside).last(),
        Some(PhoneEvent::Ended { status: 487, .. })
    ));
    assert!(world.call_events().contains(&CallEvent::Ended {
        contact: CALLER_CONTACT,
        by: Party::Caller,
    }));
    assert_eq!(world.switch.calls(), 0);
    // Nothing fires for the call after it is gone (its dial time-out included).
    let count = world.call_events().len();
    world.run_for(60_000);
    assert_eq!(world.call_events().len(), count);
    assert_eq!(world.switch.transactions(), 0);
}

#[test]
fn a_menu_transfer_needs_a_trunk_that_dials_out() {
    let routing = hotline_config::parse_routing("test.toml", ROUTING).unwrap();
    let mut config = world_config(45);
    config.media = media_settings();
    config.media.menus[0]
        .options
        .push(('4', MenuAction::Transfer(OUTSIDE_NUMBER.into())));
    let error = Switch::new(config.clone(), routing.clone()).err().unwrap();
    assert!(error.0.contains("no trunk dials out"), "{}", error.0);
    config.trunks[0].address = Some(CUSTOMER.parse().unwrap());
    config.media.menus[0].options[2].1 = MenuAction::Transfer("400-812".into());
    let error = Switch::new(config, routing).err().unwrap();
    assert!(error.0.contains("not a number"), "{}", error.0);
}

fn lookup_world(seed: u64) -> World {
    let mut world = World::new(NetConfig::perfect(2), seed);
    let routing = hotline_config::parse_routing("test.toml", ROUTING).unwrap();
    let mut config = world_config(seed);
    config.default_target = None;
    config.caller_lookup = Some(CallerLookup {
        wait_ms: 200,
        dedicated_agent_wait_ms: 30_000,
    });
    world.switch = Switch::new(config, routing).unwrap();
    world
}

fn rings(world: &World, agent: SocketAddr) -> bool {
    world
        .events_of(agent)
        .iter()
        .any(|e| matches!(e, PhoneEvent::Incoming { .. }))
}

#[test]
fn a_call_waits_for_its_callers_profile_and_goes_to_the_dedicated_agent() {
    let mut world = lookup_world(41);
    let ann = world.agent("ann", "127.0.0.10:5060", Answer::Never);
    let bob = world.agent("bob", "127.0.0.11:5060", Answer::Never);
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call(now, "95588", Some(30_000), None);
    world.run_for(50);
    // The Arrived record is the question; the call rings nobody until the answer.
    assert!(world.call_events().iter().any(|e| matches!(
        e,
        CallEvent::Arrived { from, .. } if from == "13800138000"
    )));
    assert!(!rings(&world, ann) && !rings(&world, bob));
    assert!(!world
        .call_events()
        .iter()
        .any(|e| matches!(e, CallEvent::Queued { .. })));
    let now = world.now;
    world.switch.caller_profile(
        now,
        CALLER_CONTACT,
        Some(CallerProfile {
            level: Some("gold".into()),
            value_score: 10,
            prefer_human: false,
            dedicated_agent: Some("bob".into()),
        }),
    );
    world.run_for(1_000);
    // Both agents are ready; the customer's own agent rings, the other does not.
    assert!(rings(&world, bob), "the dedicated agent rings");
    assert!(!rings(&world, ann), "no other agent rings");
    assert_eq!(world.switch.stats().lookups_timed_out, 0);
}

#[test]
fn without_an_answer_in_time_the_call_queues_with_defaults_and_a_late_answer_changes_nothing() {
    let mut world = lookup_world(42);
    let ann = world.agent("ann", "127.0.0.10:5060", Answer::Never);
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    world.phone(caller).call(now, "95588", Some(30_000), None);
    world.run_for(150);
    assert!(!rings(&world, ann), "still waiting for the records");
    world.run_for(300);
    assert!(rings(&world, ann), "queued after the wait, with defaults");
    assert_eq!(world.switch.stats().lookups_timed_out, 1);
    let queued = world
        .call_events()
        .iter()
        .filter(|e| matches!(e, CallEvent::Queued { .. }))
        .count();
    let now = world.now;
    world.switch.caller_profile(
        now,
        CALLER_CONTACT,
        Some(CallerProfile {
            dedicated_agent: Some("bob".into()),
            ..CallerProfile::default()
        }),
    );
    world.run_for(100);
    let queued_after = world
        .call_events()
        .iter()
        .filter(|e| matches!(e, CallEvent::Queued { .. }))
        .count();
    assert_eq!((queued, queued_after), (1, 1), "queued once");
}

fn survey_world(seed: u64) -> World {
    let settings = MediaSettings {
        survey: Some(Survey { timeout_ms: 8_000 }),
        ..media_settings()
    };
    let mut world = World::with_media(NetConfig::perfect(2), seed, settings.clone());
    let routing = hotline_config::parse_routing("test.toml", ROUTING).unwrap();
    let mut config = world_config(seed);
    config.media = settings;
    world.switch = Switch::new(config, routing).unwrap();
    world
}

/// A call to the queue answered by ann, who hangs up after `talk_ms` (`None`: the caller
/// hangs up first, after 10 s); answers the caller's address.
fn surveyed_call(world: &mut World, agent_talk_ms: Option<Millis>) -> SocketAddr {
    world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 1_000,
            talk_ms: agent_talk_ms,
        },
    );
    world.run_for(500);
    let caller = world.caller();
    let now = world.now;
    let caller_talk = agent_talk_ms.is_none().then_some(10_000);
    world.phone(caller).call(now, "95588", caller_talk, None);
    world.run_for(15_000);
    caller
}

fn ended_events(world: &World) -> usize {
    world
        .call_events()
        .iter()
        .filter(|e| matches!(e, CallEvent::Ended { .. }))
        .count()
}

fn caller_ended(world: &World, caller: SocketAddr) -> bool {
    world
        .events_of(caller)
        .iter()
        .any(|e| matches!(e, PhoneEvent::Ended { .. }))
}

#[test]
fn with_a_survey_the_caller_rates_the_call_after_the_agent_hangs_up_and_hears_thanks() {
    let mut world = survey_world(31);
    let caller = surveyed_call(&mut world, Some(5_000));
    // The agent hung up: the conversation ended, the agent leg is gone, the caller stays on
    // and hears the question.
    assert!(world.call_events().contains(&CallEvent::Ended {
        contact: CALLER_CONTACT,
        by: Party::Agent
    }));
    assert!(world.media.iter().any(|(_, c)| matches!(
        c,
        MediaCommand::RemoveLeg {
            leg: hotline_media::call::LegId::Agent,
            ..
        }
    )));
    assert_eq!(
        world.plays().last(),
        Some(&vec!["zh/survey_question".to_string()])
    );
    assert!(!caller_ended(&world, caller), "the caller is still on");
    world.prompts_finished();
    world.run_for(1_000);
    world.press('9');
    world.run_for(500);
    assert!(
        !world
            .call_events()
            .iter()
            .any(|e| matches!(e, CallEvent::SurveyAnswered { .. })),
        "9 is no score"
    );
    world.press('4');
    world.run_for(500);
    assert!(world.call_events().contains(&CallEvent::SurveyAnswered {
        contact: CALLER_CONTACT,
        score: 4
    }));
    assert_eq!(
        world.plays().last(),
        Some(&vec!["zh/survey_thanks".to_string()])
    );
    world.prompts_finished();
    world.run_for(2_000);
    assert!(
        matches!(
            world.events_of(caller).last(),
            Some(PhoneEvent::Ended {
                by_remote: true,
                ..
            })
        ),
        "hotline hangs up after the thanks"
    );
    assert_eq!(ended_events(&world), 1, "the conversation ends once");
    assert!(matches!(
        world.media.last(),
        Some((_, MediaCommand::Close { .. }))
    ));
    assert_eq!(world.switch.calls(), 0);
    world.run_for(120_000);
    assert_eq!(world.switch.transactions(), 0);
    assert_eq!(world.state(0), Some(AgentState::Ready));
    world.switch.check_invariants();
}

#[test]
fn with_a_survey_no_key_in_time_or_the_caller_hanging_up_ends_it_without_an_answer() {
    // No key: hotline hangs up when the wait runs out.
    let mut world = survey_world(32);
    let caller = surveyed_call(&mut world, Some(5_000));
    world.prompts_finished();
    world.run_for(7_000);
    assert!(!caller_ended(&world, caller), "still waiting for a key");
    world.run_for(2_000);
    assert!(caller_ended(&world, caller), "given up after 8 s");
    assert_eq!(world.switch.calls(), 0);
    // The caller hangs up during the question: no second end, nothing left.
    let mut world = survey_world(33);
    let caller = surveyed_call(&mut world, Some(5_000));
    let call = world
        .events
        .iter()
        .find_map(|(_, a, e)| match e {
            PhoneEvent::Answered { call } if *a == caller => Some(call.clone()),
            _ => None,
        })
        .unwrap();
    let now = world.now;
    world.phone(caller).hang_up(now, &call);
    world.run_for(2_000);
    assert_eq!(ended_events(&world), 1);
    assert_eq!(world.switch.calls(), 0);
    world.switch.check_invariants();
    assert!(!world
        .call_events()
        .iter()
        .any(|e| matches!(e, CallEvent::SurveyAnswered { .. })));
}

#[test]
fn with_a_survey_a_caller_who_hangs_up_first_is_not_asked() {
    let mut world = survey_world(34);
    let caller = surveyed_call(&mut world, None);
    assert!(caller_ended(&world, caller));
    assert!(world.call_events().contains(&CallEvent::Ended {
        contact: CALLER_CONTACT,
        by: Party::Caller
    }));
    assert!(!world.plays().iter().flatten().any(|p| p.contains("survey")));
    assert_eq!(world.switch.calls(), 0);
}

fn automatic_call(task: u64) -> hotline_server::switch::OutboundCall {
    hotline_server::switch::OutboundCall {
        task,
        attempt: 1,
        number: "+8613800138000".into(),
        customer: None,
        language: None,
        profile: None,
        mode: hotline_server::switch::OutboundMode::Automatic,
        agent: None,
        queue: None,
    }
}

fn predictive_call(task: u64) -> hotline_server::switch::OutboundCall {
    hotline_server::switch::OutboundCall {
        mode: hotline_server::switch::OutboundMode::Predictive,
        queue: Some("general".into()),
        ..automatic_call(task)
    }
}

fn pacing_steps(world: &World) -> Vec<hotline_server::switch::PacingStep> {
    world
        .call_events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::OutboundPacing { step, .. } => Some(step),
            _ => None,
        })
        .collect()
}

fn outbound_results(world: &World) -> Vec<hotline_server::switch::OutboundResult> {
    world
        .call_events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::OutboundEnded { result, .. } => Some(result),
            _ => None,
        })
        .collect()
}

#[test]
fn an_automatic_call_nobody_answers_is_cancelled_at_the_dial_timeout_and_reported_once() {
    use hotline_server::switch::OutboundResult;
    let mut world = media_world(41);
    world.add_phone("13800138000", CUSTOMER, Answer::Never, "");
    let now = world.now;
    world.switch.place_outbound(now, automatic_call(7));
    world.run_for(1_000);
    let customer: SocketAddr = CUSTOMER.parse().unwrap();
    assert!(matches!(
        world.events_of(customer).first(),
        Some(PhoneEvent::Incoming { .. })
    ));
    assert!(outbound_results(&world).is_empty(), "still ringing");
    world.run_for(31_000);
    assert_eq!(outbound_results(&world), [OutboundResult::NoAnswer]);
    assert_eq!(world.switch.calls(), 0);
    assert_eq!(world.switch.outbound_capacity().attempts_held, 0);
}

#[test]
fn an_automatic_call_to_a_carrier_that_never_responds_fails_408_and_is_reported_once() {
    use hotline_server::switch::OutboundResult;
    // No phone at the carrier's address: the INVITE goes unanswered until Timer B.
    let mut world = media_world(42);
    let now = world.now;
    world.switch.place_outbound(now, automatic_call(8));
    world.run_for(40_000);
    assert_eq!(outbound_results(&world), [OutboundResult::Failed(408)]);
    assert_eq!(world.switch.calls(), 0);
    assert_eq!(world.switch.outbound_capacity().attempts_held, 0);
    // The next attempt still goes out.
    world.add_phone("13800138000", CUSTOMER, Answer::Never, "");
    let now = world.now;
    world.switch.place_outbound(now, automatic_call(8));
    world.run_for(1_000);
    let customer: SocketAddr = CUSTOMER.parse().unwrap();
    assert!(matches!(
        world.events_of(customer).first(),
        Some(PhoneEvent::Incoming { .. })
    ));
}

#[test]
fn a_predictive_call_answered_while_an_agent_is_free_is_bridged_then_its_talk_and_wrap_up_reported()
{
    use hotline_server::switch::{OutboundResult, PacingStep};
    let mut world = media_world(43);
    world.agent(
        "ann",
        "127.0.0.10:5060",
        Answer::After {
            ring_ms: 200,
            talk_ms: Some(5_000),
        },
    );
    world.add_phone(
        "13800138000",
        CUSTOMER,
        Answer::After {
            ring_ms: 3_000,
            talk_ms: None,
        },
        "",
    );
    world.run_for(500);
    let now = world.now;
    world.switch.place_outbound(now, predictive_call(9));
    world.run_for(2_000);
    assert!(pacing_steps(&world).is_empty(), "still ringing");
    world.run_for(2_000);
    // Answered, queued ahead of anyone, offered to ann, who answered in 200 ms: bridged.
    assert_eq!(pacing_steps(&world), [PacingStep::Answered]);
    assert_eq!(outbound_results(&world), [OutboundResult::Connected]);
    assert!(
        !world
            .plays()
            .iter()
            .flatten()
            .any(|p| p.contains("campaign_sorry")),
        "no apology for a call an agent took"
    );
    // The agent hangs up after 5 s; wrap-up follows, then ann is ready again.
    world.run_for(120_000);
    let steps = pacing_steps(&world);
    assert!(
        matches!(
            steps[..],
            [PacingStep::Answered, PacingStep::TalkEnded(talk), PacingStep::WrapEnded(_)]
                if (4_500..=5_500).contains(&talk)
        ),
        "{steps:?}"
    );
    assert_eq!(outbound_results(&world), [OutboundResult::Connected]);
    assert_eq!(world.switch.outbound_capacity().attempts_held, 0);
}

#[test]
fn a_predictive_call_answered_with_no_agent_free_is_abandoned_at_2_s_with_the_apology() {
    use hotline_server::switch::{OutboundResult, PacingStep};
    let mut world = media_world(44);
    world.add_phone(
        "13800138000",
        CUSTOMER,
        Answer::After {
            ring_ms: 1_000,
            talk_ms: None,
        },
        "",
    );
    let now = world.now;
    world.switch.place_outbound(now, predictive_call(10));
    world.run_for(1_200);
    assert_eq!(pacing_steps(&world), [PacingStep::Answered]);
    let answered_at = world.now;
    world.run_for(1_500);
    assert!(outbound_results(&world).is_empty(), "within the 2 s");
    world.run_for(600);
    assert_eq!(outbound_results(&world), [OutboundResult::Abandoned]);
    assert!(world.now - answered_at <= 2_200);
    assert!(world
        .plays()
        .iter()
        .any(|p| p == &vec!["zh/campaign_sorry".to_string()]));
    // The apology ends: hotline hangs up; reported once.
    world.prompts_finished();
    world.run_for(2_000);
    assert_eq!(outbound_results(&world), [OutboundResult::Abandoned]);
    assert_eq!(world.switch.calls(), 0);
    assert_eq!(world.switch.outbound_capacity().attempts_held, 0);
    // An agent who comes later gets nothing of it.
    assert_eq!(world.switch.router().contact_count(), 0);
}

#[test]
fn the_switch_tells_a_pacer_how_the_queue_agents_are() {
    let mut world = media_world(45);
    world.agent("ann", "127.0.0.10:5060", Answer::Never);
    world.run_for(500);
    let now = world.now;
    let agents = world.switch.queue_agents(now, "general").unwrap();
    assert_eq!(agents.idle, 1, "ann registered and ready; bob is not");
    assert!(agents.talking_since_ms.is_empty());
    assert_eq!(world.switch.queue_agents(now, "nowhere"), None);
}
