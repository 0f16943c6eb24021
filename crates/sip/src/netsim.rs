//! A seeded, lossy in-memory datagram network for tests of anything built on the transaction
//! layer: it drops, duplicates, delays and (through random delays) reorders datagrams, with
//! time as an input, so a test runs thousands of calls in milliseconds and any failure
//! replays from its seed.

use std::collections::BinaryHeap;
use std::net::SocketAddr;

use crate::transaction::Millis;

/// How badly the network behaves. Probabilities are per datagram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetConfig {
    /// Chance a datagram is lost.
    pub drop: f64,
    /// Chance a datagram arrives twice (each copy with its own delay).
    pub duplicate: f64,
    /// The shortest one-way delay.
    pub delay_min_ms: Millis,
    /// The longest one-way delay; a spread between the two reorders datagrams.
    pub delay_max_ms: Millis,
}

impl NetConfig {
    /// A perfect network with a fixed delay.
    pub fn perfect(delay_ms: Millis) -> NetConfig {
        NetConfig {
            drop: 0.0,
            duplicate: 0.0,
            delay_min_ms: delay_ms,
            delay_max_ms: delay_ms,
        }
    }
}

/// A datagram in flight or delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Sender.
    pub from: SocketAddr,
    /// Receiver.
    pub to: SocketAddr,
    /// Payload.
    pub bytes: Vec<u8>,
}

#[derive(PartialEq, Eq)]
struct InFlight {
    at: Millis,
    order: u64,
    datagram: Datagram,
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Earliest first on a max-heap; equal times in sending order.
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The most datagrams in flight; beyond it new ones are lost, as a full router queue would.
pub const MAX_IN_FLIGHT: usize = 1_000_000;

/// The network. See the module documentation.
pub struct LossyNetwork {
    config: NetConfig,
    state: u64,
    order: u64,
    in_flight: BinaryHeap<InFlight>,
    /// Datagrams sent, dropped and duplicated so far.
    pub sent: u64,
    /// Datagrams lost.
    pub dropped: u64,
    /// Datagrams delivered twice.
    pub duplicated: u64,
}

impl LossyNetwork {
    /// A network with its own random stream from `seed`.
    pub fn new(config: NetConfig, seed: u64) -> LossyNetwork {
        LossyNetwork {
            config,
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
            order: 0,
            in_flight: BinaryHeap::new(),
            sent: 0,
            dropped: 0,
            duplicated: 0,
        }
    }

    fn next_u64(&mut self) -> u64 {
        crate::transaction::splitmix64(&mut self.state)
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn delay(&mut self) -> Millis {
        let spread = self
            .config
            .delay_max_ms
            .saturating_sub(self.config.delay_min_ms);
        self.config.delay_min_ms + self.next_u64() % (spread + 1)
    }

    /// Sends a datagram at `now`.
    pub fn send(&mut self, now: Millis, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        self.sent += 1;
        if self.chance(self.config.drop) {
            self.dropped += 1;
            return;
        }
        let copies = if self.chance(self.config.duplicate) {
            self.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            if self.in_flight.len() >= MAX_IN_FLIGHT {
                self.dropped += 1;
                continue;
            }
            let at = now + self.delay();
            self.order += 1;
            self.in_flight.push(InFlight {
                at,
                order: self.order,
                datagram: Datagram {
                    from,
                    to,
                    bytes: bytes.clone(),
                },
            });
        }
    }

    /// When the next datagram arrives.
    pub fn next_arrival(&self) -> Option<Millis> {
        self.in_flight.peek().map(|f| f.at)
    }

    /// The next datagram due by `now`, if any.
    pub fn poll_arrival(&mut self, now: Millis) -> Option<Datagram> {
        if self.in_flight.peek()?.at > now {
            return None;
        }
        self.in_flight.pop().map(|f| f.datagram)
    }

    /// How many datagrams are in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}
