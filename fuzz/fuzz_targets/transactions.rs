//! The transaction layer driven by any bytes: a sequence of datagrams from a few peers, with
//! time passing between them, and a transaction user that answers what it is told. It never
//! panics, keeps its invariants after every step, writes only messages a peer can parse (the
//! 400 it writes for a request it could not parse aside: those copy the broken headers), and,
//! left alone long enough, forgets every transaction.
//!
//! Input: datagrams separated by the two bytes `00 FE` followed by a control byte for the
//! next datagram (the first datagram has control 0, so a bare fixture is one datagram from
//! peer 0). Control bits:
//! - 0–1: the peer it comes from (UDP IPv4, another UDP IPv4, TCP, UDP IPv6);
//! - 2–4: how much time passes before it (timers due by then fire first);
//! - 5–6: how the user answers a new request it brings: not at all, 180, 200 or 486;
//! - 7: the bytes are sent by the user instead: a request that parses starts a client
//!   transaction (ACK goes out stateless); anything else cancels every client INVITE.
#![no_main]

use std::net::SocketAddr;

use hotline_sip::{
    parse_message, Message, Method, Millis, Peer, TransactionConfig, TransactionEvent,
    TransactionId, Transactions, Transport,
};
use libfuzzer_sys::fuzz_target;

const SEPARATOR: [u8; 2] = [0x00, 0xFE];
const STEPS: [Millis; 8] = [0, 1, 100, 500, 4_000, 32_000, 32_001, 3_600_001];

fn peer(index: u8) -> Peer {
    let (addr, transport): (SocketAddr, Transport) = match index & 3 {
        0 => (([192, 0, 2, 1], 5060).into(), Transport::Udp),
        1 => (([192, 0, 2, 2], 5070).into(), Transport::Udp),
        2 => (([198, 51, 100, 7], 5061).into(), Transport::Tcp),
        _ => (
            "[2001:db8::1]:5060".parse().expect("an address"),
            Transport::Udp,
        ),
    };
    Peer { addr, transport }
}

/// Splits the input into (control, datagram) pairs.
fn datagrams(data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let (mut control, mut rest) = (0u8, data);
    loop {
        match rest.windows(2).position(|w| w == SEPARATOR) {
            Some(i) => {
                out.push((control, &rest[..i]));
                control = rest.get(i + 2).copied().unwrap_or(0);
                rest = rest.get(i + 3..).unwrap_or(&[]);
            }
            None => {
                out.push((control, rest));
                return out;
            }
        }
    }
}

struct Harness {
    layer: Transactions,
    now: Millis,
    clients: Vec<TransactionId>,
}

impl Harness {
    /// Drains what the layer wrote and said, answering new requests as `answer` says, and
    /// checks it.
    fn drain(&mut self, answer: u8) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = self.layer.poll_transmit() {
                progressed = true;
                let bad_request = transmit.bytes.starts_with(b"SIP/2.0 400 Bad Request (");
                if let Err(e) = parse_message(&transmit.bytes) {
                    assert!(
                        bad_request,
                        "the layer wrote a message that does not parse: {e}\n{:?}",
                        String::from_utf8_lossy(&transmit.bytes)
                    );
                }
            }
            while let Some(event) = self.layer.poll_event() {
                progressed = true;
                if let TransactionEvent::Request { id, request, .. } = event {
                    let status = match answer & 3 {
                        0 => continue,
                        1 => 180,
                        2 => 200,
                        _ => 486,
                    };
                    let mut response = request.response(status, "Fuzz");
                    response.add_to_tag(&format!("fz{}", id.0));
                    let _ = self.layer.send_response(self.now, id, response);
                }
            }
            self.layer.check_invariants();
            if !progressed {
                return;
            }
        }
    }

    fn advance(&mut self, to: Millis) {
        while let Some(at) = self.layer.poll_timeout() {
            if at > to {
                break;
            }
            self.now = self.now.max(at);
            self.layer.handle_timeout(self.now);
            self.drain(0);
        }
        self.now = self.now.max(to);
    }
}

fuzz_target!(|data: &[u8]| {
    let config = TransactionConfig {
        max_transactions: 4,
        server_name: "hotline-fuzz".into(),
        ..TransactionConfig::default()
    };
    let mut h = Harness {
        layer: Transactions::new(config),
        now: 0,
        clients: Vec::new(),
    };
    for (control, bytes) in datagrams(data) {
        let target = h.now + STEPS[usize::from((control >> 2) & 7)];
        h.advance(target);
        let from = peer(control);
        if control & 0x80 == 0 {
            h.layer.handle_datagram(h.now, from, bytes);
        } else {
            match parse_message(bytes) {
                Ok(Message::Request(request)) if request.method == Method::Ack => {
                    h.layer.send_stateless(&Message::Request(request), from)
                }
                Ok(Message::Request(request)) => {
                    if let Ok(id) = h.layer.send_request(h.now, request, from) {
                        h.clients.push(id);
                    }
                }
                _ => {
                    for &id in &h.clients {
                        let _ = h.layer.cancel(h.now, id);
                    }
                }
            }
        }
        h.drain(control >> 5);
    }
    // Left alone, every transaction ends: step from timer to timer.
    let mut steps = 0u32;
    while let Some(at) = h.layer.poll_timeout() {
        steps += 1;
        assert!(steps < 100_000, "timers never run out");
        h.advance(at);
    }
    assert!(
        h.layer.is_empty(),
        "{} transactions with no timer left",
        h.layer.len()
    );
});
