//! The transaction layer: exact timer behaviour on a perfect network, and whole calls over a
//! seeded lossy network (drops, duplicates, reordering) with a virtual clock.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use hotline_sip::netsim::{LossyNetwork, NetConfig};
use hotline_sip::{
    new_branch, parse_message, Message, Method, Millis, Peer, Request, Response, Timeout,
    TransactionConfig, TransactionEvent, TransactionId, Transactions, Transport,
};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn udp(port: u16) -> Peer {
    Peer {
        addr: addr(port),
        transport: Transport::Udp,
    }
}

fn tcp(port: u16) -> Peer {
    Peer {
        addr: addr(port),
        transport: Transport::Tcp,
    }
}

fn build(method: &str, branch: &str, call_id: &str, cseq: u32) -> Request {
    let text = format!(
        "{method} sip:agent@127.0.0.1:5070 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5060;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:caller@127.0.0.1>;tag=caller-{call_id}\r\n\
         To: <sip:agent@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:caller@127.0.0.1:5060>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match parse_message(text.as_bytes()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

fn answer(request: &Request, status: u16, tag: &str) -> Response {
    let mut response = request.response(status, "Reason");
    if status > 100 {
        let to = response
            .headers
            .0
            .iter_mut()
            .find(|h| h.name == "To")
            .unwrap();
        to.value = format!("{};tag={tag}", to.value);
    }
    response
}

/// Every transmit, as (time, to, parsed message).
fn drain(layer: &mut Transactions) -> Vec<(Peer, Message)> {
    std::iter::from_fn(|| layer.poll_transmit())
        .map(|t| (t.to, parse_message(&t.bytes).unwrap()))
        .collect()
}

fn events(layer: &mut Transactions) -> Vec<TransactionEvent> {
    std::iter::from_fn(|| layer.poll_event()).collect()
}

/// Runs the layer's timers alone until `end`, returning when each transmit happened.
fn run_timers(layer: &mut Transactions, end: Millis) -> Vec<(Millis, Message)> {
    let mut sent = Vec::new();
    while let Some(at) = layer.poll_timeout().filter(|&at| at <= end) {
        layer.handle_timeout(at);
        layer.check_invariants();
        for (_, message) in drain(layer) {
            sent.push((at, message));
        }
    }
    sent
}

#[test]
fn client_invite_retransmits_with_timer_a_and_gives_up_at_timer_b() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let id = layer
        .send_request(0, build("INVITE", "z9hG4bKa", "c1", 1), udp(5070))
        .unwrap();
    assert_eq!(drain(&mut layer).len(), 1);
    let sent = run_timers(&mut layer, 100_000);
    let times: Vec<Millis> = sent.iter().map(|(at, _)| *at).collect();
    // T1 = 500 ms, doubling without a cap, until 64·T1 = 32 s.
    assert_eq!(times, vec![500, 1_500, 3_500, 7_500, 15_500, 31_500]);
    let events = events(&mut layer);
    assert_eq!(
        events,
        vec![
            TransactionEvent::Timeout {
                id,
                timeout: Timeout::NoResponse
            },
            TransactionEvent::Terminated { id },
        ]
    );
    assert!(layer.is_empty());
    assert_eq!(layer.stats().retransmissions_sent, 6);
}

#[test]
fn client_non_invite_caps_timer_e_at_t2_and_times_out_at_timer_f() {
    let mut layer = Transactions::new(TransactionConfig::default());
    layer
        .send_request(0, build("OPTIONS", "z9hG4bKo", "c2", 1), udp(5070))
        .unwrap();
    drain(&mut layer);
    let times: Vec<Millis> = run_timers(&mut layer, 100_000)
        .iter()
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(
        times,
        vec![500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    assert!(layer.is_empty());
}

#[test]
fn no_retransmissions_over_tcp() {
    let mut layer = Transactions::new(TransactionConfig::default());
    layer
        .send_request(0, build("INVITE", "z9hG4bKt", "c3", 1), tcp(5070))
        .unwrap();
    drain(&mut layer);
    assert!(run_timers(&mut layer, 100_000).is_empty());
    assert!(matches!(
        events(&mut layer)[0],
        TransactionEvent::Timeout {
            timeout: Timeout::NoResponse,
            ..
        }
    ));
}

#[test]
fn a_provisional_response_stops_invite_retransmissions() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let invite = build("INVITE", "z9hG4bKp", "c4", 1);
    let id = layer.send_request(0, invite.clone(), udp(5070)).unwrap();
    drain(&mut layer);
    layer.handle_message(100, udp(5070), Message::Response(answer(&invite, 180, "a")));
    assert!(matches!(
        &events(&mut layer)[..],
        [TransactionEvent::Response { id: got, response }] if *got == id && response.status == 180
    ));
    // Ringing for ten minutes: no retransmission, no timeout; the user decides.
    assert!(run_timers(&mut layer, 600_000).is_empty());
    assert_eq!(layer.len(), 1);
}

#[test]
fn a_failure_response_is_acknowledged_by_the_layer_and_its_retransmissions_too() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let invite = build("INVITE", "z9hG4bKf", "c5", 7);
    let id = layer.send_request(0, invite.clone(), udp(5070)).unwrap();
    drain(&mut layer);
    let busy = answer(&invite, 486, "callee");
    layer.handle_message(50, udp(5070), Message::Response(busy.clone()));
    let sent = drain(&mut layer);
    assert_eq!(sent.len(), 1);
    let Message::Request(ack) = &sent[0].1 else {
        panic!("an ACK")
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, invite.uri);
    assert_eq!(ack.headers.cseq().unwrap().seq, 7);
    assert_eq!(ack.headers.to().unwrap().tag(), Some("callee"));
    assert_eq!(
        ack.headers.vias().unwrap()[0].branch(),
        Some("z9hG4bKf"),
        "same branch as the INVITE"
    );
    // The callee did not hear the ACK and sends 486 again: ACK again, tell the user nothing.
    let first = events(&mut layer);
    assert_eq!(first.len(), 1);
    layer.handle_message(1_000, udp(5070), Message::Response(busy));
    assert_eq!(drain(&mut layer).len(), 1);
    assert!(events(&mut layer).is_empty());
    // Timer D (32 s) ends it.
    run_timers(&mut layer, 40_000);
    assert_eq!(
        events(&mut layer),
        vec![TransactionEvent::Terminated { id }]
    );
}

#[test]
fn every_2xx_to_an_invite_reaches_the_user_until_timer_m() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let invite = build("INVITE", "z9hG4bKm", "c6", 1);
    let id = layer.send_request(0, invite.clone(), udp(5070)).unwrap();
    drain(&mut layer);
    let ok = answer(&invite, 200, "callee");
    for at in [10, 510, 1_510] {
        layer.handle_message(at, udp(5070), Message::Response(ok.clone()));
    }
    let got = events(&mut layer);
    assert_eq!(got.len(), 3, "each 2xx must be acknowledged by the user");
    assert!(drain(&mut layer).is_empty(), "the layer never ACKs a 2xx");
    run_timers(&mut layer, 40_000);
    assert_eq!(
        events(&mut layer),
        vec![TransactionEvent::Terminated { id }]
    );
}

#[test]
fn server_invite_answers_100_at_once_and_repeats_the_last_response_to_retransmissions() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let invite = build("INVITE", "z9hG4bKs", "c7", 1);
    layer.handle_message(0, udp(5060), Message::Request(invite.clone()));
    let sent = drain(&mut layer);
    assert!(matches!(&sent[..], [(_, Message::Response(r))] if r.status == 100));
    let [TransactionEvent::Request { id, request, .. }] = &events(&mut layer)[..] else {
        panic!("one request event")
    };
    let id = *id;
    // `rport` is filled in, as RFC 3581 asks.
    assert_eq!(
        request.headers.vias().unwrap()[0].params.get("rport"),
        Some(Some("5060"))
    );
    layer
        .send_response(5, id, answer(request, 180, "me"))
        .unwrap();
    drain(&mut layer);
    layer.handle_message(500, udp(5060), Message::Request(invite.clone()));
    let sent = drain(&mut layer);
    assert!(matches!(&sent[..], [(_, Message::Response(r))] if r.status == 180));
    assert!(
        events(&mut layer).is_empty(),
        "a retransmission is no new request"
    );
    assert_eq!(layer.stats().retransmissions_absorbed, 1);
}

#[test]
fn server_invite_failure_is_retransmitted_until_the_ack_then_confirmed() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let invite = build("INVITE", "z9hG4bKg", "c8", 1);
    layer.handle_message(0, udp(5060), Message::Request(invite.clone()));
    drain(&mut layer);
    let [TransactionEvent::Request { id, request, .. }] = &events(&mut layer)[..] else {
        panic!()
    };
    let id = *id;
    layer
        .send_response(0, id, answer(request, 486, "me"))
        .unwrap();
    drain(&mut layer);
    // Timer G: 500, 1500, 3500 (then capped at T2 = 4 s).
    let sent = run_timers(&mut layer, 4_000);
    assert_eq!(
        sent.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
        vec![500, 1_500, 3_500]
    );
    let mut ack = request.clone();
    ack.method = Method::Ack;
    ack.headers.remove("CSeq");
    ack.headers.push("CSeq", "1 ACK");
    layer.handle_message(4_000, udp(5060), Message::Request(ack.clone()));
    assert!(
        events(&mut layer).is_empty(),
        "this ACK belongs to the layer"
    );
    assert!(run_timers(&mut layer, 8_000).is_empty());
    // Timer I (T4 = 5 s) ends the transaction.
    run_timers(&mut layer, 10_000);
    assert_eq!(
        events(&mut layer),
        vec![TransactionEvent::Terminated { id }]
    );
}

#[test]
fn a_failure_never_acknowledged_times_out_with_timer_h() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let invite = build("INVITE", "z9hG4bKh", "c9", 1);
    layer.handle_message(0, udp(5060), Message::Request(invite.clone()));
    drain(&mut layer);
    let [TransactionEvent::Request { id, request, .. }] = &events(&mut layer)[..] else {
        panic!()
    };
    let id = *id;
    layer
        .send_response(0, id, answer(request, 480, "me"))
        .unwrap();
    run_timers(&mut layer, 60_000);
    assert_eq!(
        events(&mut layer),
        vec![
            TransactionEvent::Timeout {
                id,
                timeout: Timeout::NoAck
            },
            TransactionEvent::Terminated { id }
        ]
    );
}

#[test]
fn a_2xx_is_retransmitted_until_its_ack_arrives_in_a_new_transaction() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let invite = build("INVITE", "z9hG4bK2", "c10", 3);
    layer.handle_message(0, udp(5060), Message::Request(invite.clone()));
    drain(&mut layer);
    let [TransactionEvent::Request { id, request, .. }] = &events(&mut layer)[..] else {
        panic!()
    };
    let id = *id;
    layer
        .send_response(0, id, answer(request, 200, "me"))
        .unwrap();
    drain(&mut layer);
    assert_eq!(run_timers(&mut layer, 2_000).len(), 2, "at 500 and 1500 ms");
    let ack = build("ACK", "z9hG4bKnew", "c10", 3);
    layer.handle_message(2_000, udp(5060), Message::Request(ack));
    assert!(matches!(
        &events(&mut layer)[..],
        [TransactionEvent::Ack { invite: Some(got), .. }] if *got == id
    ));
    // No more 2xx after the ACK; the transaction ends quietly at timer L.
    assert!(run_timers(&mut layer, 60_000).is_empty());
    assert_eq!(
        events(&mut layer),
        vec![TransactionEvent::Terminated { id }]
    );
}

#[test]
fn an_unacknowledged_2xx_times_out_so_the_user_can_send_bye() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let invite = build("INVITE", "z9hG4bK3", "c11", 1);
    layer.handle_message(0, udp(5060), Message::Request(invite));
    drain(&mut layer);
    let [TransactionEvent::Request { id, request, .. }] = &events(&mut layer)[..] else {
        panic!()
    };
    let id = *id;
    layer
        .send_response(0, id, answer(request, 200, "me"))
        .unwrap();
    run_timers(&mut layer, 60_000);
    assert_eq!(
        events(&mut layer)[0],
        TransactionEvent::Timeout {
            id,
            timeout: Timeout::NoAck
        }
    );
    assert!(layer.is_empty());
}

#[test]
fn cancel_waits_for_a_provisional_and_matches_the_invite_on_the_server() {
    let mut client = Transactions::new(TransactionConfig::default());
    let mut server = Transactions::new(TransactionConfig::default());
    let invite = build("INVITE", "z9hG4bKc", "c12", 1);
    let id = client.send_request(0, invite.clone(), udp(5070)).unwrap();
    assert_eq!(client.cancel(10, id).unwrap(), None, "no provisional yet");
    drain(&mut client);
    server.handle_message(20, udp(5060), Message::Request(invite.clone()));
    let trying = drain(&mut server);
    let [TransactionEvent::Request { id: sid, .. }] = &events(&mut server)[..] else {
        panic!()
    };
    let sid = *sid;
    client.handle_message(30, udp(5070), trying[0].1.clone());
    // The 100 releases the CANCEL.
    let sent = drain(&mut client);
    let [(_, Message::Request(cancel))] = &sent[..] else {
        panic!("the CANCEL: {sent:?}")
    };
    assert_eq!(cancel.method, Method::Cancel);
    server.handle_message(40, udp(5060), Message::Request(cancel.clone()));
    let [TransactionEvent::Request { request, .. }] = &events(&mut server)[..] else {
        panic!()
    };
    assert_eq!(request.method, Method::Cancel);
    assert_eq!(server.invite_for_cancel(request), Some(sid));
    assert!(server.is_pending_invite(sid));
}

#[test]
fn a_forgotten_invite_is_answered_408() {
    let config = TransactionConfig {
        unanswered_invite_ms: 60_000,
        ..TransactionConfig::default()
    };
    let mut layer = Transactions::new(config);
    layer.handle_message(
        0,
        udp(5060),
        Message::Request(build("INVITE", "z9hG4bKq", "c13", 1)),
    );
    drain(&mut layer);
    events(&mut layer);
    let sent = run_timers(&mut layer, 60_000);
    assert!(
        matches!(&sent[..], [(60_000, Message::Response(r))] if r.status == 408
        && r.headers.to().unwrap().tag().is_some())
    );
    assert!(matches!(
        events(&mut layer)[0],
        TransactionEvent::Timeout {
            timeout: Timeout::Unanswered,
            ..
        }
    ));
}

#[test]
fn malformed_requests_get_400_with_the_reason_and_garbage_is_dropped() {
    let mut layer = Transactions::new(TransactionConfig::default());
    let bad = b"INVITE sip:agent@127.0.0.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKbad\r\n\
        From: <sip:caller@127.0.0.1>;tag=1\r\n\
        To: <sip:agent@127.0.0.1>\r\n\
        Call-ID: bad1\r\n\
        CSeq: 1 INVITE\r\n\
        Content-Length: 900\r\n\r\nv=0\r\n";
    layer.handle_datagram(0, udp(5060), bad);
    let sent = drain(&mut layer);
    let [(to, Message::Response(r))] = &sent[..] else {
        panic!("a 400")
    };
    assert_eq!(*to, udp(5060));
    assert_eq!(r.status, 400);
    assert!(r.reason.contains("Content-Length"), "{}", r.reason);
    assert_eq!(r.headers.call_id(), Some("bad1"));
    for garbage in [&b"\x00\x01\x02garbage"[..], b"SIP/2.0 200 OK\r\n\r\n", b""] {
        layer.handle_datagram(1, udp(5060), garbage);
        assert!(drain(&mut layer).is_empty());
    }
    assert_eq!(layer.stats().malformed, 4);
    assert!(layer.is_empty(), "no transaction for a broken message");
}

#[test]
fn a_full_layer_refuses_new_requests_with_503_and_retry_after() {
    let config = TransactionConfig {
        max_transactions: 2,
        ..TransactionConfig::default()
    };
    let mut layer = Transactions::new(config);
    for (i, call) in ["a", "b", "c"].iter().enumerate() {
        let invite = build("INVITE", &format!("z9hG4bK{call}"), call, 1);
        layer.handle_message(i as Millis, udp(5060), Message::Request(invite));
    }
    let sent = drain(&mut layer);
    let statuses: Vec<u16> = sent
        .iter()
        .map(|(_, m)| m.as_response().unwrap().status)
        .collect();
    assert_eq!(statuses, vec![100, 100, 503]);
    assert_eq!(sent[2].1.headers().get("Retry-After"), Some("5"));
    assert_eq!(layer.stats().refused_full, 1);
}

/// One simulated call from the client's point of view.
#[derive(Debug, Default)]
struct CallRecord {
    finals: Vec<u16>,
    timed_out: bool,
    acks_received: u32,
    bye_done: bool,
}

/// A user-agent pair over a lossy network: the client places `calls` INVITEs; the server
/// rings, then answers 200 (even calls) or 486 (odd calls); the client ACKs every 2xx and
/// sends BYE after the first; the server answers BYE 200.
fn simulate(net: NetConfig, seed: u64, calls: u32) -> (BTreeMap<String, CallRecord>, Stats) {
    let (client_addr, server_addr) = (udp(5060), udp(5070));
    let mut client = Transactions::new(TransactionConfig::default());
    let mut server = Transactions::new(TransactionConfig::default());
    let mut network = LossyNetwork::new(net, seed);
    let mut records: BTreeMap<String, CallRecord> = BTreeMap::new();
    let mut invites: HashMap<TransactionId, String> = HashMap::new();
    let mut byes: HashMap<TransactionId, String> = HashMap::new();
    // Server-side answers due: (time, transaction, response).
    let mut due: Vec<(Millis, TransactionId, Response)> = Vec::new();
    let mut now: Millis = 0;
    let mut next_call = 0;
    let mut branch = 0u64;
    loop {
        // Place calls 20 ms apart.
        while next_call < calls && now >= Millis::from(next_call) * 20 {
            let call_id = format!("call{next_call}");
            branch += 1;
            let id = client
                .send_request(
                    now,
                    build("INVITE", &new_branch(branch), &call_id, 1),
                    server_addr,
                )
                .unwrap();
            invites.insert(id, call_id.clone());
            records.insert(call_id, CallRecord::default());
            next_call += 1;
        }
        due.sort_by_key(|d| d.0);
        while due.first().is_some_and(|d| d.0 <= now) {
            let (_, id, response) = due.remove(0);
            // The transaction may have ended (a CANCEL-free test: it never does early).
            server.send_response(now, id, response).unwrap();
        }
        for (layer, from) in [(&mut client, client_addr), (&mut server, server_addr)] {
            layer.handle_timeout(now);
            while let Some(t) = layer.poll_transmit() {
                network.send(now, from.addr, t.to.addr, t.bytes);
            }
        }
        while let Some(d) = network.poll_arrival(now) {
            let (layer, source) = if d.to == server_addr.addr {
                (&mut server, client_addr)
            } else {
                (&mut client, server_addr)
            };
            layer.handle_datagram(now, source, &d.bytes);
        }
        while let Some(event) = server.poll_event() {
            match event {
                TransactionEvent::Request { id, request, .. } => match request.method {
                    Method::Invite => {
                        let n: u32 = request.headers.call_id().unwrap()[4..].parse().unwrap();
                        due.push((now, id, answer(&request, 180, "s")));
                        let status = if n.is_multiple_of(2) { 200 } else { 486 };
                        due.push((now + 300, id, answer(&request, status, "s")));
                    }
                    Method::Bye => due.push((now, id, answer(&request, 200, "s"))),
                    other => panic!("unexpected {other}"),
                },
                TransactionEvent::Ack { request, .. } => {
                    let call = request.headers.call_id().unwrap().to_string();
                    records.get_mut(&call).unwrap().acks_received += 1;
                }
                TransactionEvent::Timeout { .. } | TransactionEvent::Terminated { .. } => {}
                other => panic!("server: unexpected {other:?}"),
            }
        }
        while let Some(event) = client.poll_event() {
            match event {
                TransactionEvent::Response { id, response } => {
                    if let Some(call) = invites.get(&id).cloned() {
                        if response.status < 200 {
                            continue;
                        }
                        let record = records.get_mut(&call).unwrap();
                        record.finals.push(response.status);
                        if response.status == 200 {
                            // ACK every 2xx, in a new transaction (new branch).
                            branch += 1;
                            let ack = build("ACK", &new_branch(branch), &call, 1);
                            client.send_stateless(&Message::Request(ack), server_addr);
                            if record.finals.len() == 1 {
                                branch += 1;
                                let bye = build("BYE", &new_branch(branch), &call, 2);
                                let bye_id = client.send_request(now, bye, server_addr).unwrap();
                                byes.insert(bye_id, call);
                            }
                        }
                    } else if let Some(call) = byes.get(&id) {
                        if response.status == 200 {
                            records.get_mut(call).unwrap().bye_done = true;
                        }
                    }
                }
                TransactionEvent::Timeout { id, .. } => {
                    if let Some(call) = invites.get(&id).or_else(|| byes.get(&id)) {
                        records.get_mut(call).unwrap().timed_out = true;
                    }
                }
                TransactionEvent::Terminated { .. } | TransactionEvent::StrayResponse { .. } => {}
                other => panic!("client: unexpected {other:?}"),
            }
        }
        while let Some(t) = client.poll_transmit() {
            network.send(now, client_addr.addr, t.to.addr, t.bytes);
        }
        while let Some(t) = server.poll_transmit() {
            network.send(now, server_addr.addr, t.to.addr, t.bytes);
        }
        client.check_invariants();
        server.check_invariants();
        let next = [
            client.poll_timeout(),
            server.poll_timeout(),
            network.next_arrival(),
            due.iter().map(|d| d.0).min(),
            (next_call < calls).then_some(Millis::from(next_call) * 20),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(at) => now = at.max(now),
            None => break,
        }
        assert!(now < 10_000_000, "the simulation must end");
    }
    assert!(client.is_empty(), "client transactions leaked");
    assert!(server.is_empty(), "server transactions leaked");
    let stats = Stats {
        dropped: network.dropped,
        retransmissions: client.stats().retransmissions_sent + server.stats().retransmissions_sent,
        absorbed: client.stats().retransmissions_absorbed + server.stats().retransmissions_absorbed,
    };
    (records, stats)
}

struct Stats {
    dropped: u64,
    retransmissions: u64,
    absorbed: u64,
}

#[test]
fn calls_over_a_perfect_network_complete_without_retransmissions() {
    let (records, stats) = simulate(NetConfig::perfect(5), 1, 50);
    assert_eq!(stats.retransmissions, 0);
    assert_eq!(stats.absorbed, 0);
    for (call, record) in &records {
        let n: u32 = call[4..].parse().unwrap();
        let expected = if n.is_multiple_of(2) { 200 } else { 486 };
        assert_eq!(record.finals, vec![expected], "{call}");
        assert!(!record.timed_out);
        assert_eq!(record.acks_received, u32::from(expected == 200));
        assert_eq!(record.bye_done, expected == 200);
    }
}

#[test]
fn calls_over_a_lossy_network_all_end_and_nothing_leaks() {
    let net = NetConfig {
        drop: 0.2,
        duplicate: 0.1,
        delay_min_ms: 1,
        delay_max_ms: 150,
    };
    let mut timed_out = 0;
    for seed in 0..20 {
        let (records, stats) = simulate(net, seed, 40);
        assert!(stats.dropped > 0, "the network must have lost something");
        assert!(stats.retransmissions > 0 && stats.absorbed > 0);
        for (call, record) in &records {
            let n: u32 = call[4..].parse().unwrap();
            let expected = if n.is_multiple_of(2) { 200 } else { 486 };
            if record.timed_out {
                timed_out += 1;
                continue;
            }
            // Retransmitted 2xx reach the user again (each one ACKed); failures never do.
            assert!(!record.finals.is_empty(), "seed {seed} {call}: no final");
            assert!(
                record.finals.iter().all(|&s| s == expected),
                "seed {seed} {call}: {:?}",
                record.finals
            );
            if expected == 200 {
                assert!(record.acks_received >= 1, "seed {seed} {call}: no ACK");
            } else {
                assert_eq!(record.finals.len(), 1, "seed {seed} {call}");
            }
        }
    }
    // With 20 % loss a transaction fails only after about 7 losses in a row.
    assert!(timed_out <= 2, "{timed_out} calls timed out");
    eprintln!("{timed_out} of 800 calls timed out");
}
