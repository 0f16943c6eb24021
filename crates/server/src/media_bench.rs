//! `hotline bench media`'s load: concurrent anchored G.711 calls with RTP flowing both ways
//! through a running switch, measuring packet loss, transit time and the jitter the relay
//! adds.
//!
//! Agents (one [`Phone`] and one UDP SIP socket each) register and answer at once; callers
//! dial the queue at a set rate. hotline answers each caller on a socket of its own and rings
//! an agent with an offer on another, so every call has two anchored legs. Once every agent
//! has picked up, each phone's RTP socket sends a 20 ms A-law packet every 20 ms to the leg
//! address hotline's SDP gave it (both directions, so 100 packets/s per call into hotline and
//! 100 out), spread evenly over the 20 ms so the load is smooth. Payloads carry a marker, the
//! stream, a sequence number and the send time; hotline relays them unchanged (both legs
//! negotiate PCMA), so the receiving socket knows each packet's transit time through hotline
//! and how much the gap between consecutive packets changed on the way (RFC 3550's D, the
//! added jitter). Packets without the marker (prompts, music before the bridge) are ignored.
//!
//! The figures include the generator's own scheduling: it shares the machine with hotline.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_sip::{splitmix64, Peer, Transport};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::demo::forward_datagrams;
use crate::phone::{Answer, Phone, PhoneConfig, PhoneEvent};
use crate::runtime::Clock;

/// The most calls one run places.
pub const MAX_BENCH_CALLS: usize = 5_000;
/// The most datagrams waiting for the phones' loop.
const MAX_SIP_QUEUE: usize = 16_384;
/// How long registration and call setup may take before the run gives up.
const SETUP_LIMIT: Duration = Duration::from_secs(120);
/// Marks the generator's payloads.
const MAGIC: &[u8; 4] = b"HLBM";
/// RTP header plus 20 ms of 8 kHz G.711.
const PACKET_BYTES: usize = 12 + 160;
/// The packet interval.
const PTIME: Duration = Duration::from_millis(20);

/// What to run.
#[derive(Clone, Debug)]
pub struct MediaBenchConfig {
    /// The switch.
    pub switch: SocketAddr,
    /// Agents' accounts (user, password); one call per agent.
    pub agents: Vec<(String, String)>,
    /// The number callers dial (a queue, not a menu).
    pub number: String,
    /// Calls placed per second while setting up.
    pub setup_rate: u32,
    /// How long RTP flows once every call is up.
    pub media: Duration,
    /// Read one receiving socket in this many (1: all). The others are never read and the
    /// kernel drops what they get once their buffer is full, which costs hotline nothing
    /// extra: on a small machine this keeps the generator's own load off the figures.
    pub read_every: usize,
    /// Seeds identifiers.
    pub seed: u64,
}

/// Where a run is, for a caller that samples the switch's process at those moments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Agents registered, no call placed yet.
    Registered,
    /// Every call is up and RTP starts flowing.
    MediaStarted,
    /// The media period is over (calls still up).
    MediaDone,
}

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct MediaBenchReport {
    /// Calls placed.
    pub placed: usize,
    /// Calls an agent picked up.
    pub established: usize,
    /// Seconds from the first call placed to the last agent picking up.
    pub setup_seconds: f64,
    /// Packets sent to the receiving sockets read, during the media period.
    pub sent: u64,
    /// Sends the generator's own sockets refused (its buffers full): not hotline's loss.
    pub send_failures: u64,
    /// Marked packets received back through hotline.
    pub received: u64,
    /// Received more than once or out of order.
    pub reordered: u64,
    /// Transit times through hotline (send to receive), microseconds, sorted.
    pub transit_us: Vec<u32>,
    /// |D|: how much the spacing of consecutive packets of a stream changed in transit,
    /// microseconds, sorted.
    pub added_jitter_us: Vec<u32>,
    /// The latest the generator sent a packet after its due time, microseconds.
    pub max_send_lag_us: u64,
    /// Seconds of media.
    pub media_seconds: f64,
}

impl MediaBenchReport {
    /// Lost packets as a share of those sent.
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        self.sent.saturating_sub(self.received) as f64 / self.sent as f64
    }
}

/// The value at quantile `q` of sorted `values` (0 when empty).
pub fn quantile(values: &[u32], q: f64) -> u32 {
    if values.is_empty() {
        return 0;
    }
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index.min(values.len() - 1)]
}

/// One phone with its sockets.
struct Party {
    phone: Phone,
    sip: Arc<UdpSocket>,
    rtp: std::net::UdpSocket,
    call: Option<String>,
}

/// Runs the load against `config.switch`; `observe` is called at each [`Stage`].
pub async fn run(
    config: MediaBenchConfig,
    mut observe: impl FnMut(Stage),
) -> io::Result<MediaBenchReport> {
    let calls = config.agents.len();
    if calls == 0 || calls > MAX_BENCH_CALLS {
        return Err(io::Error::other(format!(
            "between 1 and {MAX_BENCH_CALLS} calls, not {calls}"
        )));
    }
    let clock = Clock::new();
    let mut rng = config.seed ^ 0x6a09_e667_f3bc_c908;
    let server = Peer {
        addr: config.switch,
        transport: Transport::Udp,
    };
    let (inbound_tx, mut inbound) = mpsc::channel::<(usize, SocketAddr, Vec<u8>)>(MAX_SIP_QUEUE);
    let mut parties = Vec::with_capacity(2 * calls);
    let mut readers = Vec::new();
    let people = config
        .agents
        .iter()
        .map(|(user, password)| (user.clone(), password.clone(), true))
        .chain((0..calls).map(|i| (format!("1380000{i:04}"), String::new(), false)));
    for (index, (user, password, agent)) in people.enumerate() {
        let sip = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let rtp = std::net::UdpSocket::bind("127.0.0.1:0")?;
        rtp.set_nonblocking(true)?;
        let local = sip.local_addr()?;
        let phone = Phone::new(PhoneConfig {
            user,
            password,
            domain: "hotline".into(),
            local,
            server,
            answer: if agent {
                Answer::After {
                    ring_ms: 0,
                    talk_ms: None,
                }
            } else {
                Answer::Never
            },
            rtp_port: rtp.local_addr()?.port(),
            seed: splitmix64(&mut rng),
        });
        readers.push(forward_datagrams(index, sip.clone(), inbound_tx.clone()));
        parties.push(Party {
            phone,
            sip,
            rtp,
            call: None,
        });
    }
    let now = clock.now();
    for party in &mut parties[..calls] {
        party.phone.register(now, 3600);
    }
    let mut report = MediaBenchReport::default();
    let mut registered = 0;
    let mut picked = 0;
    let start = Instant::now();
    let mut first_call_at = None;
    let mut next_caller = calls;
    let mut stage = None::<Stage>;
    let mut media: Option<MediaRun> = None;
    loop {
        let now = clock.now();
        let elapsed = start.elapsed();
        if stage.is_none() && registered == calls {
            stage = Some(Stage::Registered);
            observe(Stage::Registered);
            first_call_at = Some(Instant::now());
        }
        if stage == Some(Stage::Registered) {
            // Place calls at the set rate.
            let due = first_call_at.map_or(0, |t| {
                (t.elapsed().as_secs_f64() * f64::from(config.setup_rate)) as usize + 1
            });
            while next_caller < parties.len() && next_caller - calls < due {
                let call = parties[next_caller]
                    .phone
                    .call(now, &config.number, None, None);
                parties[next_caller].call = Some(call);
                report.placed += 1;
                next_caller += 1;
            }
            if picked == calls {
                report.setup_seconds = first_call_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
                // Let the bridges settle before measuring.
                tokio::time::sleep(Duration::from_millis(500)).await;
                stage = Some(Stage::MediaStarted);
                observe(Stage::MediaStarted);
                media = Some(MediaRun::start(&parties, config.media, config.read_every)?);
            }
        }
        if stage != Some(Stage::MediaStarted) && elapsed > SETUP_LIMIT {
            report.established = picked;
            for reader in readers {
                reader.abort();
            }
            return Err(io::Error::other(format!(
                "set-up did not finish in {} s: {registered} of {calls} agents registered, \
                 {picked} of {} calls picked up",
                SETUP_LIMIT.as_secs(),
                report.placed
            )));
        }
        if let Some(run) = &media {
            if run.is_done() {
                break;
            }
        }
        for party in parties.iter_mut() {
            party.phone.handle_timeout(now);
        }
        for (index, party) in parties.iter_mut().enumerate() {
            while let Some(t) = party.phone.poll_transmit() {
                let _ = party.sip.send_to(&t.bytes, t.to.addr).await;
            }
            while let Some(event) = party.phone.poll_event() {
                match event {
                    PhoneEvent::Registered { .. } if index < calls => registered += 1,
                    PhoneEvent::Picked { call } if index < calls => {
                        picked += 1;
                        party.call = Some(call);
                    }
                    _ => {}
                }
            }
        }
        let wake = parties
            .iter()
            .filter_map(|p| p.phone.poll_timeout())
            .min()
            .unwrap_or(now + 50)
            .clamp(now + 1, now + 50);
        tokio::select! {
            Some((index, from, bytes)) = inbound.recv() => {
                let peer = Peer { addr: from, transport: Transport::Udp };
                parties[index].phone.handle_datagram(clock.now(), peer, &bytes);
            }
            _ = tokio::time::sleep(Duration::from_millis(wake - now)) => {}
        }
    }
    observe(Stage::MediaDone);
    report.established = picked;
    if let Some(run) = media {
        run.finish(&mut report).await;
    }
    for reader in readers {
        reader.abort();
    }
    Ok(report)
}

/// What one receiving socket saw.
#[derive(Default)]
struct Received {
    /// The stream heard (its sender's party index).
    source: Option<u32>,
    packets: u64,
    reordered: u64,
    transit_us: Vec<u32>,
    jitter_us: Vec<u32>,
}

/// The media period: one sender task for every stream, one receiver task per socket.
struct MediaRun {
    stop: Arc<AtomicBool>,
    started: Instant,
    ends_at: Instant,
    sender: tokio::task::JoinHandle<io::Result<Sent>>,
    receivers: Vec<tokio::task::JoinHandle<Received>>,
}

impl MediaRun {
    fn start(parties: &[Party], length: Duration, read_every: usize) -> io::Result<MediaRun> {
        let epoch = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let mut streams = Vec::new();
        let mut receivers = Vec::new();
        for (id, party) in parties.iter().enumerate() {
            let Some(target) = party
                .call
                .as_deref()
                .and_then(|call| party.phone.remote_media(call))
            else {
                continue;
            };
            let socket = party.rtp.try_clone()?;
            streams.push((id as u32, socket, target));
            if id % read_every.max(1) == 0 {
                let receiver = UdpSocket::from_std(party.rtp.try_clone()?)?;
                let stop = stop.clone();
                receivers.push(tokio::spawn(receive(receiver, epoch, stop)));
            }
        }
        let ends_at = epoch + length;
        let sender = tokio::spawn(send(streams, epoch, ends_at));
        Ok(MediaRun {
            stop,
            started: epoch,
            ends_at,
            sender,
            receivers,
        })
    }

    fn is_done(&self) -> bool {
        Instant::now() >= self.ends_at
    }

    async fn finish(self, report: &mut MediaBenchReport) {
        let sent = match self.sender.await {
            Ok(Ok(sent)) => sent,
            _ => Sent::default(),
        };
        let most = sent.per_stream.iter().copied().max().unwrap_or(0);
        // The last packets are still on their way.
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.stop.store(true, Ordering::Relaxed);
        report.send_failures = sent.failed;
        report.max_send_lag_us = sent.max_lag_us;
        report.media_seconds = self.ends_at.duration_since(self.started).as_secs_f64();
        for receiver in self.receivers {
            if let Ok(r) = receiver.await {
                // What its peer sent it (all of a stream it never heard from is lost).
                report.sent += r
                    .source
                    .and_then(|id| sent.per_stream.get(id as usize).copied())
                    .unwrap_or(most);
                report.received += r.packets;
                report.reordered += r.reordered;
                report.transit_us.extend(r.transit_us);
                report.added_jitter_us.extend(r.jitter_us);
            }
        }
        report.transit_us.sort_unstable();
        report.added_jitter_us.sort_unstable();
    }
}

async fn receive(socket: UdpSocket, epoch: Instant, stop: Arc<AtomicBool>) -> Received {
    let mut seen = Received::default();
    let mut buffer = [0u8; 2048];
    // (sequence, send time, receive time) of the previous packet.
    let mut last: Option<(u32, u64, u64)> = None;
    loop {
        let received = tokio::time::timeout(Duration::from_millis(50), socket.recv(&mut buffer));
        let n = match received.await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) => break,
            Err(_) => {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                continue;
            }
        };
        let at = epoch.elapsed().as_nanos() as u64;
        if n < PACKET_BYTES || &buffer[12..16] != MAGIC {
            continue;
        }
        let source = u32::from_be_bytes(buffer[16..20].try_into().unwrap_or_default());
        seen.source.get_or_insert(source);
        let sequence = u32::from_be_bytes(buffer[20..24].try_into().unwrap_or_default());
        let sent = u64::from_be_bytes(buffer[24..32].try_into().unwrap_or_default());
        seen.packets += 1;
        seen.transit_us
            .push((at.saturating_sub(sent) / 1_000).min(u64::from(u32::MAX)) as u32);
        if let Some((last_sequence, last_sent, last_at)) = last {
            if sequence <= last_sequence {
                seen.reordered += 1;
                continue;
            }
            let d = (at as i128 - last_at as i128) - (sent as i128 - last_sent as i128);
            seen.jitter_us
                .push((d.unsigned_abs() / 1_000).min(u128::from(u32::MAX)) as u32);
        }
        last = Some((sequence, sent, at));
    }
    seen
}

/// Sends every stream's packets every 20 ms, the streams spread evenly over the interval.
async fn send(
    streams: Vec<(u32, std::net::UdpSocket, SocketAddr)>,
    epoch: Instant,
    ends_at: Instant,
) -> io::Result<Sent> {
    let count = streams.len().max(1) as u32;
    let mut packet = [0xd5u8; PACKET_BYTES];
    packet[0] = 0x80;
    packet[1] = 8;
    packet[12..16].copy_from_slice(MAGIC);
    let mut sent = Sent {
        per_stream: vec![0; streams.iter().map(|s| s.0 as usize + 1).max().unwrap_or(0)],
        ..Sent::default()
    };
    let mut round = 0u32;
    'rounds: loop {
        for (slot, (id, socket, target)) in streams.iter().enumerate() {
            let due = epoch + PTIME * round + PTIME * slot as u32 / count;
            if due >= ends_at {
                break 'rounds;
            }
            let now = Instant::now();
            if due > now {
                tokio::time::sleep_until(due.into()).await;
            }
            let lag = Instant::now().saturating_duration_since(due).as_micros() as u64;
            sent.max_lag_us = sent.max_lag_us.max(lag);
            packet[2..4].copy_from_slice(&(round as u16).to_be_bytes());
            packet[4..8].copy_from_slice(&(round.wrapping_mul(160)).to_be_bytes());
            packet[8..12].copy_from_slice(&id.to_be_bytes());
            packet[16..20].copy_from_slice(&id.to_be_bytes());
            packet[20..24].copy_from_slice(&round.to_be_bytes());
            let at = epoch.elapsed().as_nanos() as u64;
            packet[24..32].copy_from_slice(&at.to_be_bytes());
            match socket.send_to(&packet, target) {
                Ok(_) => sent.per_stream[*id as usize] += 1,
                Err(_) => sent.failed += 1,
            }
        }
        round += 1;
    }
    Ok(sent)
}

/// What the sender did.
#[derive(Default)]
struct Sent {
    /// Packets sent, by stream (party index).
    per_stream: Vec<u64>,
    /// Sends the generator's own sockets refused.
    failed: u64,
    /// The latest a packet went out after its due time, microseconds.
    max_lag_us: u64,
}
