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
    /// The RTP packet.
    pub bytes: Vec<u8>,
}

/// Counters of one leg.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegStats {
    /// RTP packets taken in (valid, from the right source).
    pub packets_in: u64,
    /// RTP packets sent.
    pub packets_out: u64,
    /// Datagrams dropped: not RTP, too large, an unknown payload type, or from a source
    /// other than the latched one.
    pub dropped: u64,
    /// Packets lost by the far end's stream (from the sequence numbers), RFC 3550 style.
    pub lost: i64,
    /// Interarrival jitter of the far end's stream, in RTP clock units (1/8 ms).
    pub jitter: u32,
}

/// The most prompt frames one [`CallMedia::handle_timeout`] sends to a leg when ticks were
/// late; the rest of the backlog is skipped (a burst would overflow the far jitter buffer).
const MAX_CATCH_UP_FRAMES: u64 = 5;
/// RTP clock units per millisecond (8 kHz).
const UNITS_PER_MS: u64 = 8;
/// The received samples kept per leg for the recorder.
const RECORDING_BACKLOG_SAMPLES: usize = RECORDING_BACKLOG_FRAMES * FRAME_SAMPLES;

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

    /// Notes a packet sent at `now_ms` covering `duration` units from `timestamp`.
    fn note_sent(&mut self, now_ms: u64, timestamp: u32, duration: u32) {
        let end = timestamp.wrapping_add(duration);
        if self.last_sent_ms.is_none() || is_after(end, self.next_timestamp) {
            self.next_timestamp = end;
        }
        self.last_sent_ms = Some(now_ms);
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
        .note_sent(slot_ms, timestamp, FRAME_SAMPLES as u32);
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
    state.out.note_sent(now_ms, timestamp, duration);
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
        CallMedia {
            rng: SplitMix64(config.seed),
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

    /// Takes a datagram that arrived on a leg's socket from `source` at `now_ms`.
    pub fn handle_packet(&mut self, now_ms: u64, leg: LegId, source: SocketAddr, bytes: &[u8]) {
        self.last_now = self.last_now.max(now_ms);
        if is_rtcp(bytes) {
            return;
        }
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

    /// Advances the clock: sends the prompt frames due (one per leg every [`TICK_MS`],
    /// catching up if ticks were late, at most 5 frames at once), ends digits whose end packet
    /// was lost, and takes a recording frame per [`TICK_MS`].
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.last_now = self.last_now.max(now_ms);
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
    /// the call records, a digit's end timeout; `None` when only relaying.
    ///
    /// Right after [`CallMedia::play`], [`CallMedia::bridge`] or
    /// [`CallMedia::start_recording`] (which take no time) this is the latest time any call
    /// carried: the first frame is due at once.
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
        if self.bridged {
            if let Some(recording) = self.recording.as_ref() {
                consider(recording.due.when(self.last_now));
            }
        }
        next
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
    /// The packet counts cover the whole call, across [`CallMedia::remove_leg`]; `lost` and
    /// `jitter` are those of the far end's current stream (they start over when its SSRC
    /// changes) and zero for a leg not set up.
    pub fn stats(&self, leg: LegId) -> LegStats {
        let i = index(leg);
        let counters = self.counters[i];
        let receiver = self.legs[i]
            .as_ref()
            .and_then(|state| state.receiver.as_ref());
        LegStats {
            packets_in: counters.packets_in,
            packets_out: counters.packets_out,
            dropped: counters.dropped,
            lost: receiver.map_or(0, ReceiverStats::lost),
            jitter: receiver.map_or(0, ReceiverStats::jitter),
        }
    }

    /// How many datagrams, events and recording frames were dropped because they were not
    /// polled in time (beyond [`MAX_PENDING_TRANSMITS`], [`MAX_PENDING_EVENTS`] and
    /// [`MAX_PENDING_RECORDING_FRAMES`]).
    pub fn overflows(&self) -> u64 {
        self.outbox.overflows
    }
}
