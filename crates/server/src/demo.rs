//! `hotline demo`: the demo center with simulated callers and agents that place and answer
//! real SIP calls on loopback, each a [`Phone`] with a UDP socket of its own, so a newcomer
//! sees calls flow through the switch at once.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hotline_sip::{splitmix64, Millis, Peer, Transport};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::phone::{Answer, Phone, PhoneConfig, PhoneEvent};
use crate::runtime::Clock;

/// How the simulated people behave.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// The switch.
    pub switch: SocketAddr,
    /// Agents' accounts (user, password), as the demo configuration printed them.
    pub agents: Vec<(String, String)>,
    /// Calls placed per minute on average (Poisson arrivals).
    pub calls_per_minute: f64,
    /// How long agents talk before hanging up, at least and at most (uniform, one length
    /// per agent).
    pub talk_ms: (Millis, Millis),
    /// How long callers are willing to wait before hanging up, at least and at most.
    pub patience_ms: (Millis, Millis),
    /// How long agents' phones ring before they answer.
    pub ring_ms: Millis,
    /// How long to run.
    pub duration: Duration,
    /// Seeds arrivals, durations and identifiers.
    pub seed: u64,
}

/// What the simulated callers saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DemoTotals {
    /// Calls placed.
    pub placed: u64,
    /// Calls an agent picked up.
    pub connected: u64,
    /// Calls the caller gave up on while waiting.
    pub abandoned: u64,
    /// Calls refused or failed.
    pub failed: u64,
}

/// The number the simulated callers dial: not a menu (they press no keys), so the queue.
pub const DEMO_CALLED: &str = "10000";

/// The most datagrams waiting for the phones' task.
const MAX_DEMO_QUEUE: usize = 4_096;

/// Reads a phone's SIP socket into the phones' loop, tagged with the phone's index, until the
/// loop goes away; abort the task to stop it sooner.
pub(crate) fn forward_datagrams(
    index: usize,
    socket: Arc<UdpSocket>,
    sender: mpsc::Sender<(usize, SocketAddr, Vec<u8>)>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buffer = vec![0u8; hotline_sip::MAX_MESSAGE_BYTES];
        while let Ok((n, from)) = socket.recv_from(&mut buffer).await {
            if sender
                .send((index, from, buffer[..n].to_vec()))
                .await
                .is_err()
            {
                break;
            }
        }
    })
}

/// Runs the simulated agents and callers against `config.switch`, printing a line every
/// few seconds when `report` is set; returns what the callers saw.
pub async fn run(config: DemoConfig, report: bool) -> io::Result<DemoTotals> {
    let clock = Clock::new();
    let mut rng = config.seed ^ 0x2545_f491_4f6c_dd1d;
    let server = Peer {
        addr: config.switch,
        transport: Transport::Udp,
    };
    let (inbound_tx, mut inbound) = mpsc::channel::<(usize, SocketAddr, Vec<u8>)>(MAX_DEMO_QUEUE);
    let mut phones = Vec::new();
    let mut sockets = Vec::new();
    let mut readers = Vec::new();
    let people = config
        .agents
        .iter()
        .map(|(user, password)| (user.clone(), password.clone(), true))
        .chain(std::iter::once((
            "13800138000".to_string(),
            String::new(),
            false,
        )));
    let uniform = |rng: &mut u64, (low, high): (Millis, Millis)| {
        low + splitmix64(rng) % (high.saturating_sub(low) + 1)
    };
    for (index, (user, password, agent)) in people.enumerate() {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let local = socket.local_addr()?;
        // hotline answers callers itself (announcements, music), so agents end the calls.
        let answer = if agent {
            Answer::After {
                ring_ms: config.ring_ms,
                talk_ms: Some(uniform(&mut rng, config.talk_ms)),
            }
        } else {
            Answer::Never
        };
        let mut phone = Phone::new(PhoneConfig {
            user,
            password,
            domain: "hotline".into(),
            local,
            server,
            answer,
            // Nothing listens there: the simulated people send and hear no audio.
            rtp_port: 9,
            seed: splitmix64(&mut rng),
        });
        if agent {
            phone.register(clock.now(), 3600);
        }
        phones.push(phone);
        readers.push(forward_datagrams(index, socket.clone(), inbound_tx.clone()));
        sockets.push(socket);
    }
    let caller = phones.len() - 1;
    let start = clock.now();
    let end = start + config.duration.as_millis() as Millis;
    let mut next_call = start + 2_000;
    let mut next_report = start + 5_000;
    let mut totals = DemoTotals::default();
    loop {
        let now = clock.now();
        if now >= end {
            break;
        }
        if now >= next_call {
            // The caller is answered by hotline at once and hangs up after its patience
            // plus the longest talk, unless the agent ended the call first.
            let patience = uniform(&mut rng, config.patience_ms);
            phones[caller].call(
                now,
                DEMO_CALLED,
                Some(patience + config.talk_ms.1),
                Some(patience),
            );
            totals.placed += 1;
            // Exponential gaps: Poisson arrivals at the configured rate.
            let u = (splitmix64(&mut rng) >> 11) as f64 / (1u64 << 53) as f64;
            let mean_ms = 60_000.0 / config.calls_per_minute.max(0.01);
            next_call = now + (-(1.0 - u).ln() * mean_ms) as Millis + 1;
        }
        if report && now >= next_report {
            let busy = phones[..caller]
                .iter()
                .filter(|p| p.active_calls() > 0)
                .count();
            println!(
                "demo: {:>4} calls placed, {:>4} connected, {:>3} abandoned, {:>3} failed; {busy} of {} agents busy",
                totals.placed, totals.connected, totals.abandoned, totals.failed, caller
            );
            next_report = now + 5_000;
        }
        for phone in phones.iter_mut() {
            phone.handle_timeout(now);
        }
        for (index, phone) in phones.iter_mut().enumerate() {
            while let Some(t) = phone.poll_transmit() {
                let _ = sockets[index].send_to(&t.bytes, t.to.addr).await;
            }
            while let Some(event) = phone.poll_event() {
                match event {
                    PhoneEvent::Picked { .. } if index != caller => totals.connected += 1,
                    PhoneEvent::Ended {
                        status: 200,
                        by_remote: false,
                        ..
                    } if index == caller => totals.abandoned += 1,
                    PhoneEvent::Ended { status: 487, .. } if index == caller => {
                        totals.abandoned += 1
                    }
                    PhoneEvent::Ended { status, .. } if index == caller && status >= 300 => {
                        totals.failed += 1
                    }
                    _ => {}
                }
            }
        }
        let wake = phones
            .iter()
            .filter_map(Phone::poll_timeout)
            .chain([next_call, next_report, end])
            .min()
            .unwrap_or(end)
            .max(now + 1);
        let sleep = Duration::from_millis(wake - now);
        tokio::select! {
            Some((index, from, bytes)) = inbound.recv() => {
                let peer = Peer { addr: from, transport: Transport::Udp };
                phones[index].handle_datagram(clock.now(), peer, &bytes);
            }
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    for reader in readers {
        reader.abort();
    }
    Ok(totals)
}
