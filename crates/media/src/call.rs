//! One call's media, sans-IO: the anchored RTP of a caller leg and an agent leg.
//!
//! [`CallMedia`] sits between two RTP sockets the driver owns (one per leg). It
//!
//! - **latches** (symmetric RTP): a leg set up with `latch` sends to the source address of
//!   the first valid RTP packet that arrives on it, not to the address its SDP wrote (callers
//!   behind NAT write an address nobody can reach). Until then it sends to the SDP address.
//!   After latching, packets from any other source are dropped and counted (no RTP bleed).
//! - **plays** prompts to a leg (announcements, IVR menus), then music on hold (looped) or
//!   silence, in 20 ms frames paced by [`CallMedia::handle_timeout`];
//! - **hears digits**: RFC 4733 telephone events on the negotiated payload type, and, when a
//!   leg negotiated none and `in_band_dtmf` is set, tones in the audio (Goertzel) while the
//!   leg is not bridged; each key press is one [`MediaEvent::Digit`];
//! - **relays** between the legs once [`CallMedia::bridge`] is called: on each packet, at
//!   once (no jitter buffer, so nothing is added to the delay or jitter), with the payload
//!   untouched when both legs use the same codec and transcoded sample by sample (G.711 µ-law
//!   ⇄ A-law) when not. Telephone events are relayed with the other leg's event payload type
//!   (dropped if it negotiated none). Each outgoing stream keeps one SSRC of ours, a sequence
//!   number that never jumps, and a timestamp that continues across the switch from prompts
//!   to relayed audio (marker bit set on the first packet after a switch), so phones see one
//!   continuous stream for the whole call.
//! - **records** both legs while bridged, if asked: every tick takes one 20 ms frame per leg
//!   (decoded audio that arrived since the last tick, up to [`RECORDING_BACKLOG_FRAMES`];
//!   silence for a leg that sent nothing) and hands them out by
//!   [`CallMedia::poll_recording`], mixed into one channel or as two channels (caller left,
//!   agent right).
//! - **reports** (RTCP, RFC 3550 §6): every set-up leg sends a compound packet about every
//!   [`RTCP_INTERVAL_MS`] (randomised, from the seed) to its RTCP destination — a Sender
//!   Report while we send RTP on it, a Receiver Report otherwise (on hold too), with a report
//!   block on the far end's stream and an SDES CNAME — as a [`Transmit`] with `rtcp` set, for
//!   the leg's RTCP socket (RTP port + 1). RTCP that arrives ([`CallMedia::handle_rtcp`], or
//!   multiplexed on the RTP socket, RFC 5761) tells what the far end says about our stream
//!   (loss, jitter) and the round-trip time, in [`CallMedia::stats`], and latches the RTCP
//!   destination onto its source.
//!
//! Nothing here reads a clock or a socket: times come in as milliseconds on the driver's
//! clock, datagrams come in as bytes with their source address, and datagrams to send come
//! out of [`CallMedia::poll_transmit`]. Bounded everywhere: datagrams over
//! [`MAX_DATAGRAM_BYTES`] are dropped, at most [`MAX_PENDING_TRANSMITS`] datagrams and
//! [`MAX_PENDING_EVENTS`] events wait to be polled (the oldest are dropped and counted
//! beyond that).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use crate::dtmf::DtmfReceiver;
use crate::g711::Codec;
use crate::goertzel::DtmfDetector;
use crate::playout::{mix_into, Frame, PromptPlayer, FRAME_SAMPLES};
use crate::rtp::rtcp::{self, ReportBlock, RtcpPacket, SdesChunk};
use crate::rtp::{is_rtcp, PacketStatus, ReceiverStats, RtpPacket};

/// The pacing of prompts and recordings: one 20 ms frame per tick.
pub const TICK_MS: u64 = 20;
/// Larger datagrams are dropped (G.711 at 20 ms is 172 bytes).
pub const MAX_DATAGRAM_BYTES: usize = 1500;
/// Datagrams waiting for [`CallMedia::poll_transmit`]; beyond this the oldest is dropped.
pub const MAX_PENDING_TRANSMITS: usize = 64;
/// Events waiting for [`CallMedia::poll_event`]; beyond this the oldest is dropped.
pub const MAX_PENDING_EVENTS: usize = 32;
/// Frames of received audio kept per leg for the recorder between ticks (200 ms).
pub const RECORDING_BACKLOG_FRAMES: usize = 10;
/// Recorded frames waiting for [`CallMedia::poll_recording`] (1 s); beyond this the oldest
/// is dropped and counted in [`CallMedia::overflows`].
pub const MAX_PENDING_RECORDING_FRAMES: usize = 50;
/// The mean time between two RTCP reports of a leg: RFC 3550's recommended minimum (§6.2).
/// Each interval is drawn from 0.5 to 1.5 times this (§6.3.1), so legs and calls do not
/// report in step.
pub const RTCP_INTERVAL_MS: u64 = 5000;
/// The mean delay of a leg's first report after it is set up: half the interval, as RFC 3550
/// §6.2 allows for the first report, randomised in the same way (so 1.25 s to 3.75 s).
pub const RTCP_INITIAL_INTERVAL_MS: u64 = RTCP_INTERVAL_MS / 2;
/// How many of a leg's own Sender Reports are remembered to match the LSR of the far end's
/// reports against (for the round-trip time); at [`RTCP_INTERVAL_MS`] that covers about 20 s.
pub const SENDER_REPORTS_KEPT: usize = 4;
/// A round-trip time that comes out negative by up to this much (the far end rounded its
/// DLSR up, on a fast link) counts as 0 ms; more negative than this, the report is taken as
/// wrong and no round-trip time is computed from it.
pub const RTT_NEGATIVE_TOLERANCE_MS: u64 = 5;

/// A call's two legs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LegId {
    /// The customer.
    Caller,
    /// The agent's phone.
    Agent,
}

impl LegId {
    /// The other leg.
    pub fn other(self) -> LegId {
        match self {
            LegId::Caller => LegId::Agent,
            LegId::Agent => LegId::Caller,
        }
    }
}

/// What signalling negotiated for one leg (from [`crate::sdp::NegotiatedAudio`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegSetup {
    /// The audio codec.
    pub codec: Codec,
    /// Its payload type on this leg.
    pub payload_type: u8,
    /// The telephone-event payload type, if negotiated.
    pub telephone_event: Option<u8>,
    /// Where the SDP says to send; `None` (or port 0) sends nothing until latched.
    pub remote: Option<SocketAddr>,
    /// Symmetric RTP: send to where the leg's packets come from.
    pub latch: bool,
    /// Whether we may send on this leg (false while the far end holds the call).
    pub send: bool,
}

/// The settings of a call's media.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallMediaConfig {
    /// Seeds the SSRCs and initial sequence numbers and timestamps of our streams.
    pub seed: u64,
    /// Listen for DTMF tones in the audio of a leg that negotiated no telephone events.
    pub in_band_dtmf: bool,
}

/// Something the call flow should know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaEvent {
    /// A key was pressed on a leg.
    Digit {
        /// The leg.
        leg: LegId,
        /// The key: `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
    },
    /// The prompts given to [`CallMedia::play`] have all been sent (the loop that follows,
    /// if any, has begun).
    PromptsFinished {
        /// The leg.
        leg: LegId,
    },
    /// A leg latched onto the address its packets come from.
    Latched {
        /// The leg.
        leg: LegId,
        /// The address.
        remote: SocketAddr,
    },
}

/// A datagram to send from a leg's socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The leg whose socket sends it.
    pub leg: LegId,
    /// Where to.
    pub destination: SocketAddr,
    /// The RTP packet, or with `rtcp` the RTCP compound packet.
    pub bytes: Vec<u8>,
    /// An RTCP datagram, to go out of the leg's RTCP socket (its RTP port + 1) rather than its
    /// RTP socket.
    pub rtcp: bool,
}

/// Counters of one leg.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegStats {
    /// RTP packets taken in (valid, from the right source).
    pub packets_in: u64,
    /// RTP packets sent.
    pub packets_out: u64,
    /// Datagrams dropped: not RTP, too large, an unknown payload type, or from a source
    /// other than the latched one. RTCP multiplexed on the RTP socket is not counted here
    /// but in the `rtcp_*` counters.
    pub dropped: u64,
    /// Packets lost by the far end's stream (from the sequence numbers), RFC 3550 style.
    pub lost: i64,
    /// Interarrival jitter of the far end's stream, in RTP clock units (1/8 ms).
    pub jitter: u32,
    /// RTCP datagrams taken in (they parsed), on the RTCP socket or multiplexed.
    pub rtcp_in: u64,
    /// RTCP datagrams sent.
    pub rtcp_out: u64,
    /// RTCP datagrams dropped: malformed, too large, or for a leg not set up. They are not
    /// counted in `dropped`.
    pub rtcp_dropped: u64,
    /// The fraction of our packets the far end lost, in 256ths, over the interval its last
    /// report covered; `None` until a report about our stream arrives.
    pub remote_fraction_lost: Option<u8>,
    /// Our packets the far end lost since it began receiving, as it reported it (negative
    /// when it received duplicates); `None` until a report about our stream arrives.
    pub remote_lost: Option<i64>,
    /// The interarrival jitter of our stream as the far end measures it, in RTP clock units
    /// (1/8 ms); `None` until a report about our stream arrives.
    pub remote_jitter: Option<u32>,
    /// The round-trip time to the far end, from the last report that echoed one of our
    /// Sender Reports (RFC 3550 §6.4.1: arrival − LSR − DLSR), in milliseconds; `None` until
    /// one does.
    pub rtt_ms: Option<u32>,
}

/// The most prompt frames one [`CallMedia::handle_timeout`] sends to a leg when ticks were
/// late; the rest of the backlog is skipped (a burst would overflow the far jitter buffer).
const MAX_CATCH_UP_FRAMES: u64 = 5;
/// RTP clock units per millisecond (8 kHz).
const UNITS_PER_MS: u64 = 8;
/// The received samples kept per leg for the recorder.
const RECORDING_BACKLOG_SAMPLES: usize = RECORDING_BACKLOG_FRAMES * FRAME_SAMPLES;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECONDS: u64 = 2_208_988_800;
/// Mixed into the seed for the RTCP draws (report times, CNAME), so that they leave the
/// draws of SSRCs, sequence numbers and timestamps as they were.
const RTCP_SEED_SALT: u64 = 0x5254_4350_5254_4350;

/// The 64-bit NTP timestamp of `now_ms`, milliseconds since the Unix epoch. The seconds wrap
/// in 2036 as NTP's era 0 does.
fn ntp_timestamp(now_ms: u64) -> u64 {
    let seconds = now_ms / 1000 + NTP_UNIX_OFFSET_SECONDS;
    let fraction = ((now_ms % 1000) << 32) / 1000;
    (seconds << 32) | fraction
}

/// A report interval drawn from 0.5 to 1.5 times `mean_ms` (RFC 3550 §6.3.1).
fn rtcp_interval(rng: &mut SplitMix64, mean_ms: u64) -> u64 {
    mean_ms / 2 + rng.next() % (mean_ms + 1)
}

/// The round-trip time of a report block that echoes our Sender Report sent at `sent_ms`,
/// arriving at `now_ms` with `dlsr` (1/65536 s) spent at the far end: RFC 3550 §6.4.1's
/// A − LSR − DLSR. `None` for a time that cannot be (the far end claims to have held the
/// report longer than it was away, beyond [`RTT_NEGATIVE_TOLERANCE_MS`]).
fn round_trip_ms(now_ms: u64, sent_ms: u64, dlsr: u32) -> Option<u32> {
    let elapsed_ms = now_ms.checked_sub(sent_ms)?;
    let held_ms = (dlsr as u64 * 1000 + 32768) / 65536;
    if held_ms > elapsed_ms + RTT_NEGATIVE_TOLERANCE_MS {
        return None;
    }
    Some(elapsed_ms.saturating_sub(held_ms).min(u32::MAX as u64) as u32)
}

fn index(leg: LegId) -> usize {
    match leg {
        LegId::Caller => 0,
        LegId::Agent => 1,
    }
}

fn leg_id(index: usize) -> LegId {
    if index == 0 {
        LegId::Caller
    } else {
        LegId::Agent
    }
}

/// Whether RTP timestamp `a` is after `b`, in serial-number arithmetic.
fn is_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// An address one can send to: not port 0, not the unspecified address (old-style hold).
fn usable(address: SocketAddr) -> bool {
    address.port() != 0 && !address.ip().is_unspecified()
}

/// The per-byte G.711 transcoding table from one law to the other (decode, then encode).
fn transcoding_table(from: Codec) -> &'static [u8; 256] {
    static TABLES: OnceLock<[[u8; 256]; 2]> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        let mut to_alaw = [0u8; 256];
        let mut to_ulaw = [0u8; 256];
        for (code, (a, u)) in (0..=255u8).zip(to_alaw.iter_mut().zip(&mut to_ulaw)) {
            *a = Codec::Pcma.encode_sample(Codec::Pcmu.decode_sample(code));
            *u = Codec::Pcmu.encode_sample(Codec::Pcma.decode_sample(code));
        }
        [to_alaw, to_ulaw]
    });
    match from {
        Codec::Pcmu => &tables[0],
        Codec::Pcma => &tables[1],
    }
}

/// SplitMix64: enough to draw SSRCs and initial sequence numbers and timestamps from a seed.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// When the next 20 ms frame is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Due {
    /// Nothing paced.
    Idle,
    /// At the next [`CallMedia::handle_timeout`], whatever its time (set by calls that have
    /// no time argument); the frames after it follow every [`TICK_MS`] from there.
    Now,
    /// At this time on the driver's clock.
    At(u64),
}

impl Due {
    fn when(self, last_now: u64) -> Option<u64> {
        match self {
            Due::Idle => None,
            Due::Now => Some(last_now),
            Due::At(t) => Some(t),
        }
    }

    /// The slots due at `now`: the time of the first and how many, and the next due time.
    fn take(&mut self, now: u64) -> (u64, u64) {
        match *self {
            Due::Idle => (now, 0),
            Due::Now => {
                *self = Due::At(now + TICK_MS);
                (now, 1)
            }
            Due::At(t) if t <= now => {
                let count = (now - t) / TICK_MS + 1;
                *self = Due::At(t + count * TICK_MS);
                (t, count)
            }
            Due::At(_) => (now, 0),
        }
    }
}

/// What the packets of an outgoing stream are made of now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// Nothing sent since the source last changed.
    Idle,
    /// Prompt frames, paced by ticks.
    Prompt,
    /// The other leg's packets, their timestamps shifted by `offset`.
    Relay { offset: u32 },
}

/// Our outgoing RTP stream on one leg: one SSRC, a sequence number that never jumps and a
/// timestamp that follows the driver's clock across changes of source.
#[derive(Clone, Debug)]
struct OutStream {
    ssrc: u32,
    sequence: u16,
    /// The timestamp right after the last packet sent (its timestamp plus its duration).
    next_timestamp: u32,
    /// When the last packet was sent (for a prompt frame, its slot), on the driver's clock.
    last_sent_ms: Option<u64>,
    run: Run,
    /// The timestamp of the packet that last advanced the stream and when it was sent: what
    /// a Sender Report projects the stream's timestamp from.
    anchor: Option<(u32, u64)>,
    /// RTP packets sent on this stream, for Sender Reports.
    packets_sent: u64,
    /// Payload octets sent on this stream, for Sender Reports.
    octets_sent: u64,
}

impl OutStream {
    /// The timestamp for a packet sent at `now_ms` that does not follow from the previous
    /// one (a new run, or frames after a gap), and whether it skips ahead of the previous
    /// packet's end: time that passed beyond one frame shows as a gap in the timestamps.
    fn continue_at(&self, now_ms: u64) -> (u32, bool) {
        match self.last_sent_ms {
            None => (self.next_timestamp, false),
            Some(last) => {
                let gap_ms = now_ms.saturating_sub(last).saturating_sub(TICK_MS);
                let advance = gap_ms.wrapping_mul(UNITS_PER_MS) as u32;
                (self.next_timestamp.wrapping_add(advance), gap_ms > 0)
            }
        }
    }

    fn take_sequence(&mut self) -> u16 {
        let sequence = self.sequence;
        self.sequence = sequence.wrapping_add(1);
        sequence
    }

    /// Notes a packet of `payload_bytes` sent at `now_ms` covering `duration` units from
    /// `timestamp`.
    fn note_sent(&mut self, now_ms: u64, timestamp: u32, duration: u32, payload_bytes: usize) {
        let end = timestamp.wrapping_add(duration);
        if self.last_sent_ms.is_none() || is_after(end, self.next_timestamp) {
            self.next_timestamp = end;
            self.anchor = Some((timestamp, now_ms));
        }
        self.last_sent_ms = Some(now_ms);
        self.packets_sent += 1;
        self.octets_sent += payload_bytes as u64;
    }

    /// The stream's timestamp at `now_ms`: the last packet's, advanced by the time since.
    fn timestamp_at(&self, now_ms: u64) -> u32 {
        match self.anchor {
            Some((timestamp, at_ms)) => {
                let elapsed = now_ms.saturating_sub(at_ms).wrapping_mul(UNITS_PER_MS);
                timestamp.wrapping_add(elapsed as u32)
            }
            None => self.next_timestamp,
        }
    }
}

/// What a leg hears.
#[derive(Debug)]
enum Hearing {
    /// Nothing: no packets.
    Silence,
    /// The other leg, while bridged.
    Relay,
    /// Prompts, then `then` looped.
    Prompts {
        player: PromptPlayer<Arc<[i16]>>,
        then: Vec<Arc<[i16]>>,
    },
    /// Music on hold, looped.
    Loop(PromptPlayer<Arc<[i16]>>),
}

impl Hearing {
    fn after_prompts(then: Vec<Arc<[i16]>>) -> Hearing {
        if then.is_empty() {
            Hearing::Silence
        } else {
            Hearing::Loop(PromptPlayer::new(then, true))
        }
    }

    fn is_playing(&self) -> bool {
        matches!(self, Hearing::Prompts { .. } | Hearing::Loop(_))
    }
}

/// Counters of a leg slot; they outlive [`CallMedia::remove_leg`].
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    packets_in: u64,
    packets_out: u64,
    dropped: u64,
    rtcp_in: u64,
    rtcp_out: u64,
    rtcp_dropped: u64,
}

/// The far end's last Sender Report: what our report blocks echo as LSR and DLSR.
#[derive(Clone, Copy, Debug)]
struct FarSenderReport {
    ssrc: u32,
    ntp_middle: u32,
    arrived_ms: u64,
}

/// What the far end last reported about our stream.
#[derive(Clone, Copy, Debug, Default)]
struct RemoteReport {
    fraction_lost: Option<u8>,
    lost: Option<i64>,
    jitter: Option<u32>,
    rtt_ms: Option<u32>,
}

/// One leg's RTCP.
#[derive(Clone, Debug, Default)]
struct LegRtcp {
    /// When the next report is due; `None` right after the leg is set up, until an input
    /// carries a time to schedule the first report from.
    due_ms: Option<u64>,
    /// The source of the last valid RTCP from the leg: where our reports go.
    source: Option<SocketAddr>,
    far_sender_report: Option<FarSenderReport>,
    /// Our last Sender Reports, the middle 32 bits of their NTP timestamps and when they were
    /// sent, in a ring: the next goes at `sent_next`.
    sent: [Option<(u32, u64)>; SENDER_REPORTS_KEPT],
    sent_next: usize,
    /// Our stream's packet count at the last report: a report with more sent since is an SR.
    packets_at_last_report: u64,
    remote: RemoteReport,
}

impl LegRtcp {
    fn note_sender_report(&mut self, ntp_middle: u32, now_ms: u64) {
        self.sent[self.sent_next] = Some((ntp_middle, now_ms));
        self.sent_next = (self.sent_next + 1) % SENDER_REPORTS_KEPT;
    }

    /// When we sent the Sender Report whose NTP timestamp had these middle 32 bits.
    fn sender_report_sent_ms(&self, ntp_middle: u32) -> Option<u64> {
        self.sent
            .iter()
            .flatten()
            .filter(|(middle, _)| *middle == ntp_middle)
            .map(|(_, sent_ms)| *sent_ms)
            .max()
    }
}

/// One leg's state.
#[derive(Debug)]
struct Leg {
    setup: LegSetup,
    latched: Option<SocketAddr>,
    out: OutStream,
    /// The far end's SSRC and the statistics of its stream.
    receiver: Option<ReceiverStats>,
    dtmf: DtmfReceiver,
    /// Made when in-band detection first runs.
    detector: Option<DtmfDetector>,
    hearing: Hearing,
    frame_due: Due,
    /// Received audio waiting for the recorder.
    recorded: VecDeque<i16>,
    rtcp: LegRtcp,
}

impl Leg {
    /// Where our packets go now, if anywhere.
    fn destination(&self) -> Option<SocketAddr> {
        if !self.setup.send {
            return None;
        }
        if self.setup.latch {
            if let Some(latched) = self.latched {
                return Some(latched);
            }
        }
        self.setup.remote.filter(|&remote| usable(remote))
    }

    /// Where our RTCP goes, on hold too: to the source of the far end's RTCP, else to the
    /// port after the one our RTP goes (or would go) to.
    fn rtcp_destination(&self) -> Option<SocketAddr> {
        if let Some(source) = self.rtcp.source {
            return Some(source);
        }
        let rtp = match self.latched.filter(|_| self.setup.latch) {
            Some(latched) => latched,
            None => self.setup.remote.filter(|&remote| usable(remote))?,
        };
        let port = rtp.port().checked_add(1)?;
        Some(SocketAddr::new(rtp.ip(), port))
    }

    /// Takes the far end's report blocks: those about our stream say how it arrives.
    fn take_report_blocks(&mut self, blocks: &[ReportBlock], now_ms: u64) {
        for block in blocks.iter().filter(|block| block.ssrc == self.out.ssrc) {
            let remote = &mut self.rtcp.remote;
            remote.fraction_lost = Some(block.fraction_lost);
            remote.lost = Some(block.cumulative_lost as i64);
            remote.jitter = Some(block.jitter);
            // LSR 0: the far end has had no Sender Report of ours yet.
            if block.last_sender_report == 0 {
                continue;
            }
            let rtt = self
                .rtcp
                .sender_report_sent_ms(block.last_sender_report)
                .and_then(|sent_ms| {
                    round_trip_ms(now_ms, sent_ms, block.delay_since_last_sender_report)
                });
            if let Some(rtt) = rtt {
                self.rtcp.remote.rtt_ms = Some(rtt);
            }
        }
    }

    /// Whether a packet of this payload type is the leg's audio (`Some(false)`), a telephone
    /// event (`Some(true)`) or neither.
    fn is_event(&self, payload_type: u8) -> Option<bool> {
        if payload_type == self.setup.payload_type
            || payload_type == self.setup.codec.payload_type()
        {
            Some(false)
        } else if Some(payload_type) == self.setup.telephone_event {
            Some(true)
        } else {
            None
        }
    }

    fn set_hearing(&mut self, hearing: Hearing) {
        self.frame_due = if hearing.is_playing() {
            Due::Now
        } else {
            Due::Idle
        };
        self.hearing = hearing;
        self.out.run = Run::Idle;
    }

    /// The next frame of what the leg hears from the players, moving from the prompts to the
    /// loop (and announcing it) as they end.
    fn next_frame(&mut self, leg: LegId, outbox: &mut Outbox) -> Option<Frame> {
        loop {
            match &mut self.hearing {
                Hearing::Prompts { player, then } => {
                    let frame = player.next_frame();
                    if frame.is_none() || player.is_finished() {
                        let then = std::mem::take(then);
                        self.hearing = Hearing::after_prompts(then);
                        outbox.event(MediaEvent::PromptsFinished { leg });
                    }
                    if frame.is_some() {
                        return frame;
                    }
                }
                Hearing::Loop(player) => {
                    let frame = player.next_frame();
                    if frame.is_none() {
                        self.hearing = Hearing::Silence;
                    }
                    return frame;
                }
                Hearing::Silence | Hearing::Relay => return None,
            }
        }
    }
}

/// What waits to be polled.
#[derive(Debug)]
struct Outbox {
    transmits: VecDeque<Transmit>,
    events: VecDeque<MediaEvent>,
    overflows: u64,
}

impl Outbox {
    fn transmit(&mut self, transmit: Transmit) {
        if self.transmits.len() >= MAX_PENDING_TRANSMITS {
            self.transmits.pop_front();
            self.overflows += 1;
        }
        self.transmits.push_back(transmit);
    }

    fn event(&mut self, event: MediaEvent) {
        if self.events.len() >= MAX_PENDING_EVENTS {
            self.events.pop_front();
            self.overflows += 1;
        }
        self.events.push_back(event);
    }
}

/// The recorder's state.
#[derive(Debug)]
struct Recording {
    stereo: bool,
    due: Due,
    /// Recorded samples waiting for [`CallMedia::poll_recording`].
    pending: VecDeque<i16>,
}

impl Recording {
    fn channels(&self) -> usize {
        if self.stereo {
            2
        } else {
            1
        }
    }
}

/// Sends a prompt frame on a leg, in the slot at `slot_ms`.
fn send_frame(
    leg: LegId,
    state: &mut Leg,
    slot_ms: u64,
    frame: &Frame,
    outbox: &mut Outbox,
    counters: &mut Counters,
) {
    let Some(destination) = state.destination() else {
        return;
    };
    let (timestamp, gap) = state.out.continue_at(slot_ms);
    let marker = state.out.run != Run::Prompt || gap;
    state.out.run = Run::Prompt;
    let mut payload = [0u8; FRAME_SAMPLES];
    state.setup.codec.encode(frame, &mut payload);
    let sequence = state.out.take_sequence();
    let mut packet = RtpPacket::new(
        state.setup.payload_type,
        sequence,
        timestamp,
        state.out.ssrc,
        &payload,
    );
    packet.marker = marker;
    state
        .out
        .note_sent(slot_ms, timestamp, FRAME_SAMPLES as u32, payload.len());
    push_packet(leg, destination, &packet, outbox, counters);
}

/// Relays a packet that arrived on the other leg (of `from` codec) to leg `to`.
#[allow(clippy::too_many_arguments)]
fn relay(
    now_ms: u64,
    from: Codec,
    packet: &RtpPacket<'_>,
    event: bool,
    to: LegId,
    state: &mut Leg,
    outbox: &mut Outbox,
    counters: &mut Counters,
) {
    if !matches!(state.hearing, Hearing::Relay) {
        return;
    }
    let Some(destination) = state.destination() else {
        return;
    };
    let payload_type = if event {
        match state.setup.telephone_event {
            Some(payload_type) => payload_type,
            None => return,
        }
    } else {
        state.setup.payload_type
    };
    let (timestamp, marker) = match state.out.run {
        Run::Relay { offset } => (packet.timestamp.wrapping_add(offset), packet.marker),
        Run::Idle | Run::Prompt => {
            let (timestamp, _) = state.out.continue_at(now_ms);
            state.out.run = Run::Relay {
                offset: timestamp.wrapping_sub(packet.timestamp),
            };
            (timestamp, true)
        }
    };
    let duration = if event {
        u16::from_be_bytes([packet.payload[2], packet.payload[3]]) as u32
    } else {
        packet.payload.len() as u32
    };
    let mut transcoded = [0u8; MAX_DATAGRAM_BYTES];
    let payload = if event || from == state.setup.codec {
        packet.payload
    } else {
        let table = transcoding_table(from);
        let out = &mut transcoded[..packet.payload.len()];
        for (o, &code) in out.iter_mut().zip(packet.payload) {
            *o = table[code as usize];
        }
        &*out
    };
    let sequence = state.out.take_sequence();
    let mut out = RtpPacket::new(payload_type, sequence, timestamp, state.out.ssrc, payload);
    out.marker = marker;
    state
        .out
        .note_sent(now_ms, timestamp, duration, payload.len());
    push_packet(to, destination, &out, outbox, counters);
}

fn push_packet(
    leg: LegId,
    destination: SocketAddr,
    packet: &RtpPacket<'_>,
    outbox: &mut Outbox,
    counters: &mut Counters,
) {
    // Our packets have no CSRCs or extension and a payload under MAX_DATAGRAM_BYTES, so
    // printing cannot fail; a failure would only lose this packet.
    if let Ok(bytes) = packet.to_vec() {
        counters.packets_out += 1;
        outbox.transmit(Transmit {
            leg,
            destination,
            bytes,
            rtcp: false,
        });
    }
}

/// Sends a leg's RTCP report at `now_ms`: an SR if it sent RTP since its last report, else an
/// RR, with a report block on the far end's stream if there is one, and our CNAME. Nothing
/// (and no new reporting interval for the block) when the leg has no RTCP destination.
fn send_report(
    leg: LegId,
    state: &mut Leg,
    now_ms: u64,
    cname: &str,
    outbox: &mut Outbox,
    counters: &mut Counters,
) {
    let Some(destination) = state.rtcp_destination() else {
        return;
    };
    let mut reports = Vec::with_capacity(1);
    if let Some(receiver) = state.receiver.as_mut() {
        if let Some(sr) = state.rtcp.far_sender_report {
            if sr.ssrc == receiver.ssrc() {
                receiver.handle_sender_report(sr.ntp_middle, sr.arrived_ms);
            }
        }
        reports.push(receiver.report_block(now_ms));
    }
    let ssrc = state.out.ssrc;
    let sending = state.out.packets_sent > state.rtcp.packets_at_last_report;
    state.rtcp.packets_at_last_report = state.out.packets_sent;
    let ntp = ntp_timestamp(now_ms);
    let report = if sending {
        // The counts wrap at 32 bits, as RFC 3550 §6.4.1 has them.
        RtcpPacket::SenderReport(rtcp::SenderReport {
            ssrc,
            ntp_timestamp: ntp,
            rtp_timestamp: state.out.timestamp_at(now_ms),
            packet_count: state.out.packets_sent as u32,
            octet_count: state.out.octets_sent as u32,
            reports,
        })
    } else {
        RtcpPacket::ReceiverReport(rtcp::ReceiverReport { ssrc, reports })
    };
    let description = RtcpPacket::SourceDescription(vec![SdesChunk {
        ssrc,
        cname: Some(cname.to_owned()),
    }]);
    // One report block and a short CNAME: printing cannot fail; a failure would only lose
    // this report.
    if let Ok(bytes) = rtcp::write_compound(&[report, description]) {
        if sending {
            state.rtcp.note_sender_report(rtcp::ntp_middle(ntp), now_ms);
        }
        counters.rtcp_out += 1;
        outbox.transmit(Transmit {
            leg,
            destination,
            bytes,
            rtcp: true,
        });
    }
}

/// Pops one frame of a leg's received audio, padded with silence.
fn pop_frame(recorded: Option<&mut VecDeque<i16>>) -> Frame {
    let mut frame = [0i16; FRAME_SAMPLES];
    if let Some(recorded) = recorded {
        let n = recorded.len().min(FRAME_SAMPLES);
        for (slot, sample) in frame.iter_mut().zip(recorded.drain(..n)) {
            *slot = sample;
        }
    }
    frame
}

/// One call's media. See the module documentation.
#[derive(Debug)]
pub struct CallMedia {
    config: CallMediaConfig,
    rng: SplitMix64,
    /// Draws the report intervals.
    rtcp_rng: SplitMix64,
    /// Our RTCP CNAME, the same on both legs for the whole call.
    cname: String,
    legs: [Option<Leg>; 2],
    counters: [Counters; 2],
    bridged: bool,
    recording: Option<Recording>,
    outbox: Outbox,
    /// The latest time any input carried.
    last_now: u64,
}

impl CallMedia {
    /// Media for a call with no legs yet.
    pub fn new(config: CallMediaConfig) -> CallMedia {
        let mut rtcp_rng = SplitMix64(config.seed ^ RTCP_SEED_SALT);
        let cname = format!("hotline-{:016x}", rtcp_rng.next());
        CallMedia {
            rng: SplitMix64(config.seed),
            rtcp_rng,
            cname,
            config,
            legs: [None, None],
            counters: [Counters::default(); 2],
            bridged: false,
            recording: None,
            outbox: Outbox {
                transmits: VecDeque::with_capacity(MAX_PENDING_TRANSMITS),
                events: VecDeque::with_capacity(MAX_PENDING_EVENTS),
                overflows: 0,
            },
            last_now: 0,
        }
    }

    /// Sets up a leg, or changes it (a re-INVITE): a new remote address or codec. Latching
    /// starts over when the remote address changes.
    ///
    /// A changed leg keeps its outgoing stream (SSRC, sequence numbers, timestamps); the next
    /// packet sent on it carries the marker bit. A leg set after [`CallMedia::remove_leg`]
    /// starts a new stream.
    pub fn set_leg(&mut self, leg: LegId, setup: LegSetup) {
        let i = index(leg);
        if let Some(state) = self.legs[i].as_mut() {
            if setup.remote != state.setup.remote {
                state.rtcp.source = None;
            }
            if setup.remote != state.setup.remote || (setup.latch && !state.setup.latch) {
                state.latched = None;
            }
            if setup != state.setup {
                state.out.run = Run::Idle;
            }
            state.setup = setup;
            return;
        }
        let other_ssrc = self.legs[1 - i].as_ref().map(|other| other.out.ssrc);
        let ssrc = loop {
            let ssrc = self.rng.next() as u32;
            if Some(ssrc) != other_ssrc {
                break ssrc;
            }
        };
        let out = OutStream {
            ssrc,
            sequence: self.rng.next() as u16,
            next_timestamp: self.rng.next() as u32,
            last_sent_ms: None,
            run: Run::Idle,
            anchor: None,
            packets_sent: 0,
            octets_sent: 0,
        };
        self.legs[i] = Some(Leg {
            setup,
            latched: None,
            out,
            receiver: None,
            dtmf: DtmfReceiver::new(),
            detector: None,
            hearing: if self.bridged {
                Hearing::Relay
            } else {
                Hearing::Silence
            },
            frame_due: Due::Idle,
            recorded: VecDeque::with_capacity(RECORDING_BACKLOG_SAMPLES),
            rtcp: LegRtcp::default(),
        });
    }

    /// Forgets a leg (its phone hung up): nothing more is sent to it or relayed from it.
    ///
    /// The legs are no longer bridged: the other leg hears silence until the next
    /// [`CallMedia::play`] or [`CallMedia::bridge`], and recording pauses until the next
    /// bridge. The leg's counters in [`CallMedia::stats`] are kept.
    pub fn remove_leg(&mut self, leg: LegId) {
        let i = index(leg);
        self.legs[i] = None;
        if self.bridged {
            self.bridged = false;
            if let Some(other) = self.legs[1 - i].as_mut() {
                if matches!(other.hearing, Hearing::Relay) {
                    other.set_hearing(Hearing::Silence);
                }
                other.recorded.clear();
            }
            if let Some(recording) = self.recording.as_mut() {
                recording.due = Due::Idle;
            }
        }
    }

    /// Plays `prompts` to a leg back to back, then `then` in a loop (music on hold), or
    /// silence (no packets) when `then` is empty. Replaces whatever the leg was hearing,
    /// including the other leg's audio when bridged (the bridge resumes with
    /// [`CallMedia::bridge`]). [`MediaEvent::PromptsFinished`] follows the last prompt frame.
    ///
    /// The first frame goes out at the next [`CallMedia::handle_timeout`]. A leg not set up
    /// is ignored.
    pub fn play(&mut self, leg: LegId, prompts: Vec<Arc<[i16]>>, then: Vec<Arc<[i16]>>) {
        if let Some(state) = self.legs[index(leg)].as_mut() {
            state.set_hearing(Hearing::Prompts {
                player: PromptPlayer::new(prompts, false),
                then,
            });
        }
    }

    /// Stops what a leg is hearing (barge-in): silence until the next [`CallMedia::play`]
    /// or [`CallMedia::bridge`].
    pub fn stop(&mut self, leg: LegId) {
        if let Some(state) = self.legs[index(leg)].as_mut() {
            state.set_hearing(Hearing::Silence);
        }
    }

    /// Connects the legs: each hears the other from the next packet on. Playing stops.
    pub fn bridge(&mut self) {
        self.bridged = true;
        for state in self.legs.iter_mut().flatten() {
            if !matches!(state.hearing, Hearing::Relay) {
                state.set_hearing(Hearing::Relay);
            }
        }
        if let Some(recording) = self.recording.as_mut() {
            if recording.due == Due::Idle {
                recording.due = Due::Now;
            }
        }
    }

    /// Whether the legs are bridged.
    pub fn is_bridged(&self) -> bool {
        self.bridged
    }

    /// Starts recording the conversation (both legs, while bridged): `stereo` gives the
    /// caller the left channel and the agent the right one; otherwise both are mixed.
    pub fn start_recording(&mut self, stereo: bool) {
        let due = if self.bridged { Due::Now } else { Due::Idle };
        match self.recording.as_mut() {
            Some(recording) => {
                if recording.stereo != stereo {
                    // Samples of one layout are not to be read as the other.
                    recording.pending.clear();
                    recording.stereo = stereo;
                }
                if recording.due == Due::Idle {
                    recording.due = due;
                }
            }
            None => {
                let channels = if stereo { 2 } else { 1 };
                self.recording = Some(Recording {
                    stereo,
                    due,
                    pending: VecDeque::with_capacity(
                        MAX_PENDING_RECORDING_FRAMES * FRAME_SAMPLES * channels,
                    ),
                });
            }
        }
    }

    /// Notes the time an input carried, and schedules the first report of legs set up since
    /// the last one.
    fn advance(&mut self, now_ms: u64) {
        self.last_now = self.last_now.max(now_ms);
        for state in self.legs.iter_mut().flatten() {
            if state.rtcp.due_ms.is_none() {
                let delay = rtcp_interval(&mut self.rtcp_rng, RTCP_INITIAL_INTERVAL_MS);
                state.rtcp.due_ms = Some(self.last_now + delay);
            }
        }
    }

    /// Takes a datagram that arrived on a leg's (RTP) socket from `source` at `now_ms`. RTCP
    /// multiplexed on it (RFC 5761) goes to [`CallMedia::handle_rtcp`].
    pub fn handle_packet(&mut self, now_ms: u64, leg: LegId, source: SocketAddr, bytes: &[u8]) {
        if is_rtcp(bytes) {
            self.handle_rtcp(now_ms, leg, source, bytes);
            return;
        }
        self.advance(now_ms);
        let i = index(leg);
        let [first, second] = &mut self.legs;
        let (this, other) = if i == 0 {
            (first, second)
        } else {
            (second, first)
        };
        let Some(state) = this.as_mut() else {
            self.counters[i].dropped += 1;
            return;
        };
        if bytes.len() > MAX_DATAGRAM_BYTES {
            self.counters[i].dropped += 1;
            return;
        }
        let Ok(packet) = RtpPacket::parse(bytes) else {
            self.counters[i].dropped += 1;
            return;
        };
        let event = match state.is_event(packet.payload_type) {
            Some(true) if packet.payload.len() < 4 => None,
            known => known,
        };
        let Some(event) = event else {
            self.counters[i].dropped += 1;
            return;
        };
        if state.setup.latch {
            match state.latched {
                Some(latched) if latched != source => {
                    self.counters[i].dropped += 1;
                    return;
                }
                Some(_) => {}
                None => {
                    state.latched = Some(source);
                    self.outbox.event(MediaEvent::Latched {
                        leg,
                        remote: source,
                    });
                }
            }
        }
        self.counters[i].packets_in += 1;

        if state.receiver.as_ref().map(ReceiverStats::ssrc) != Some(packet.ssrc) {
            // A new stream: new statistics, a new DTMF timeline, and a new relay run so the
            // other leg's timestamps do not jump with it.
            state.receiver = Some(ReceiverStats::new(packet.ssrc));
            state.dtmf.reset();
            if let Some(detector) = state.detector.as_mut() {
                *detector = DtmfDetector::new();
            }
            if let Some(other) = other.as_mut() {
                if let Run::Relay { .. } = other.out.run {
                    other.out.run = Run::Idle;
                }
            }
        }
        let arrival = now_ms.wrapping_mul(UNITS_PER_MS) as u32;
        let status = match state.receiver.as_mut() {
            Some(receiver) => receiver.handle_packet(packet.sequence, packet.timestamp, arrival),
            None => PacketStatus::Probation,
        };
        if matches!(status, PacketStatus::Duplicate | PacketStatus::BadSequence) {
            return;
        }

        if event {
            // Checked above: at least 4 bytes, so this cannot fail.
            let _ = state
                .dtmf
                .handle_packet(now_ms, packet.timestamp, packet.payload);
            while let Some(digit) = state.dtmf.poll_digit() {
                self.outbox.event(MediaEvent::Digit {
                    leg,
                    digit: digit.digit,
                });
            }
        } else {
            let in_band =
                self.config.in_band_dtmf && state.setup.telephone_event.is_none() && !self.bridged;
            let record = self.bridged && self.recording.is_some();
            if in_band || record {
                let mut samples = [0i16; MAX_DATAGRAM_BYTES];
                let n = state.setup.codec.decode(packet.payload, &mut samples);
                let samples = &samples[..n];
                if in_band {
                    let detector = state.detector.get_or_insert_with(DtmfDetector::new);
                    detector.process(samples);
                    while let Some(digit) = detector.poll_digit() {
                        self.outbox.event(MediaEvent::Digit {
                            leg,
                            digit: digit.digit,
                        });
                    }
                }
                if record {
                    let recorded = &mut state.recorded;
                    let excess = (recorded.len() + n).saturating_sub(RECORDING_BACKLOG_SAMPLES);
                    recorded.drain(..excess.min(recorded.len()));
                    let keep = n.min(RECORDING_BACKLOG_SAMPLES);
                    recorded.extend(&samples[n - keep..]);
                }
            }
        }

        if self.bridged {
            if let Some(other_state) = other.as_mut() {
                let to = leg.other();
                relay(
                    now_ms,
                    state.setup.codec,
                    &packet,
                    event,
                    to,
                    other_state,
                    &mut self.outbox,
                    &mut self.counters[index(to)],
                );
            }
        }
    }

    /// Takes an RTCP compound packet that arrived on a leg's RTCP socket (or multiplexed on
    /// its RTP socket) from `source` at `now_ms`.
    ///
    /// A valid one (it parses) makes `source` the leg's RTCP destination. Its report blocks
    /// about our stream on the leg give the far end's view of it (loss, jitter) and, when
    /// they echo one of our last [`SENDER_REPORTS_KEPT`] Sender Reports, the round-trip time;
    /// a Sender Report is remembered for the LSR and DLSR of our next report. A malformed or
    /// oversized datagram, or one for a leg not set up, is counted in
    /// [`LegStats::rtcp_dropped`] and otherwise ignored.
    pub fn handle_rtcp(&mut self, now_ms: u64, leg: LegId, source: SocketAddr, bytes: &[u8]) {
        self.advance(now_ms);
        let i = index(leg);
        let counters = &mut self.counters[i];
        let Some(state) = self.legs[i].as_mut() else {
            counters.rtcp_dropped += 1;
            return;
        };
        if bytes.len() > MAX_DATAGRAM_BYTES {
            counters.rtcp_dropped += 1;
            return;
        }
        if state.latched.is_some_and(|rtp| rtp.ip() != source.ip()) {
            // Once RTP is latched, RTCP from another host is not the far end's: it must not
            // move our reports (nor fake its loss figures).
            counters.rtcp_dropped += 1;
            return;
        }
        let Ok(packets) = rtcp::parse_compound(bytes) else {
            counters.rtcp_dropped += 1;
            return;
        };
        counters.rtcp_in += 1;
        state.rtcp.source = Some(source);
        for packet in &packets {
            match packet {
                RtcpPacket::SenderReport(sr) => {
                    state.rtcp.far_sender_report = Some(FarSenderReport {
                        ssrc: sr.ssrc,
                        ntp_middle: rtcp::ntp_middle(sr.ntp_timestamp),
                        arrived_ms: now_ms,
                    });
                    state.take_report_blocks(&sr.reports, now_ms);
                }
                RtcpPacket::ReceiverReport(rr) => state.take_report_blocks(&rr.reports, now_ms),
                // SDES, BYE (the SIP BYE ends the call, not this) and the rest: nothing to do.
                _ => {}
            }
        }
    }

    /// Advances the clock: sends the prompt frames due (one per leg every [`TICK_MS`],
    /// catching up if ticks were late, at most 5 frames at once), ends digits whose end packet
    /// was lost, takes a recording frame per [`TICK_MS`], and sends the RTCP reports due.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.advance(now_ms);
        for i in 0..2 {
            let leg = leg_id(i);
            let Some(state) = self.legs[i].as_mut() else {
                continue;
            };
            state.dtmf.handle_timeout(now_ms);
            while let Some(digit) = state.dtmf.poll_digit() {
                self.outbox.event(MediaEvent::Digit {
                    leg,
                    digit: digit.digit,
                });
            }
            if !state.hearing.is_playing() {
                state.frame_due = Due::Idle;
                continue;
            }
            let (first, count) = state.frame_due.take(now_ms);
            // Late ticks: send the latest few slots; the backlog before them is skipped (a
            // gap in the timestamps), not burst out.
            for k in count.saturating_sub(MAX_CATCH_UP_FRAMES)..count {
                let Some(frame) = state.next_frame(leg, &mut self.outbox) else {
                    break;
                };
                let slot = first + k * TICK_MS;
                send_frame(
                    leg,
                    state,
                    slot,
                    &frame,
                    &mut self.outbox,
                    &mut self.counters[i],
                );
            }
            if !state.hearing.is_playing() {
                state.frame_due = Due::Idle;
            }
        }
        self.record(now_ms);
        for i in 0..2 {
            let Some(state) = self.legs[i].as_mut() else {
                continue;
            };
            if state.rtcp.due_ms.is_some_and(|due| due <= now_ms) {
                send_report(
                    leg_id(i),
                    state,
                    now_ms,
                    &self.cname,
                    &mut self.outbox,
                    &mut self.counters[i],
                );
                // From now, not from when it was due: a late tick does not bring a burst.
                let interval = rtcp_interval(&mut self.rtcp_rng, RTCP_INTERVAL_MS);
                state.rtcp.due_ms = Some(now_ms + interval);
            }
        }
    }

    fn record(&mut self, now_ms: u64) {
        if !self.bridged {
            return;
        }
        let Some(recording) = self.recording.as_mut() else {
            return;
        };
        let (_, count) = recording.due.take(now_ms);
        // Frames beyond what may wait would only push out each other.
        let count = count as usize;
        let produce = count.min(MAX_PENDING_RECORDING_FRAMES);
        self.outbox.overflows += (count - produce) as u64;
        let frame_len = FRAME_SAMPLES * recording.channels();
        let capacity = MAX_PENDING_RECORDING_FRAMES * frame_len;
        let [caller, agent] = &mut self.legs;
        for _ in 0..produce {
            let left = pop_frame(caller.as_mut().map(|leg| &mut leg.recorded));
            let right = pop_frame(agent.as_mut().map(|leg| &mut leg.recorded));
            if recording.pending.len() + frame_len > capacity {
                recording.pending.drain(..frame_len);
                self.outbox.overflows += 1;
            }
            if recording.stereo {
                for (l, r) in left.iter().zip(&right) {
                    recording.pending.push_back(*l);
                    recording.pending.push_back(*r);
                }
            } else {
                let mut mixed = left;
                mix_into(&mut mixed, &right);
                recording.pending.extend(mixed);
            }
        }
    }

    /// When [`CallMedia::handle_timeout`] is next due: the next frame while a leg plays or
    /// the call records, a digit's end timeout, the next RTCP report of each leg set up
    /// (every few seconds); `None` when no leg is set up.
    ///
    /// Right after [`CallMedia::play`], [`CallMedia::bridge`] or
    /// [`CallMedia::start_recording`] (which take no time) this is the latest time any call
    /// carried: the first frame is due at once. So it is right after [`CallMedia::set_leg`]
    /// sets up a new leg, until an input with a time schedules the leg's first report (which
    /// [`CallMedia::handle_timeout`] then does without sending anything).
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut next: Option<u64> = None;
        let mut consider = |t: Option<u64>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        for state in self.legs.iter().flatten() {
            if state.hearing.is_playing() {
                consider(state.frame_due.when(self.last_now));
            }
            consider(state.dtmf.poll_timeout());
        }
        for leg in [LegId::Caller, LegId::Agent] {
            consider(self.rtcp_due_ms(leg));
        }
        if self.bridged {
            if let Some(recording) = self.recording.as_ref() {
                consider(recording.due.when(self.last_now));
            }
        }
        next
    }

    /// When a leg's next RTCP report is due: the part of [`CallMedia::poll_timeout`] that is
    /// RTCP. Right after [`CallMedia::set_leg`] sets the leg up this is the latest time any
    /// call carried, until an input with a time schedules the first report; `None` for a leg
    /// not set up.
    pub fn rtcp_due_ms(&self, leg: LegId) -> Option<u64> {
        self.legs[index(leg)]
            .as_ref()
            .map(|state| state.rtcp.due_ms.unwrap_or(self.last_now))
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.transmits.pop_front()
    }

    /// The next event for the call flow.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.outbox.events.pop_front()
    }

    /// Appends the recorded samples since the last call: interleaved left/right when stereo.
    pub fn poll_recording(&mut self, out: &mut Vec<i16>) {
        if let Some(recording) = self.recording.as_mut() {
            out.extend(recording.pending.drain(..));
        }
    }

    /// A leg's counters.
    ///
    /// The packet and datagram counts cover the whole call, across [`CallMedia::remove_leg`];
    /// `lost` and `jitter` are those of the far end's current stream (they start over when
    /// its SSRC changes) and zero for a leg not set up; the `remote_*` fields and `rtt_ms`
    /// are about our current stream on the leg (they start over with the stream a leg set
    /// after [`CallMedia::remove_leg`] begins) and `None` for a leg not set up.
    pub fn stats(&self, leg: LegId) -> LegStats {
        let i = index(leg);
        let counters = self.counters[i];
        let state = self.legs[i].as_ref();
        let receiver = state.and_then(|state| state.receiver.as_ref());
        let remote = state.map(|state| state.rtcp.remote).unwrap_or_default();
        LegStats {
            packets_in: counters.packets_in,
            packets_out: counters.packets_out,
            dropped: counters.dropped,
            lost: receiver.map_or(0, ReceiverStats::lost),
            jitter: receiver.map_or(0, ReceiverStats::jitter),
            rtcp_in: counters.rtcp_in,
            rtcp_out: counters.rtcp_out,
            rtcp_dropped: counters.rtcp_dropped,
            remote_fraction_lost: remote.fraction_lost,
            remote_lost: remote.lost,
            remote_jitter: remote.jitter,
            rtt_ms: remote.rtt_ms,
        }
    }

    /// How many datagrams, events and recording frames were dropped because they were not
    /// polled in time (beyond [`MAX_PENDING_TRANSMITS`], [`MAX_PENDING_EVENTS`] and
    /// [`MAX_PENDING_RECORDING_FRAMES`]).
    pub fn overflows(&self) -> u64 {
        self.outbox.overflows
    }
}
