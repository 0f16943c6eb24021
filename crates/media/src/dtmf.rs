//! DTMF over RTP as RFC 4733 telephone events: the 4-byte payload ([`TelephoneEvent`]), a
//! receiver that turns the redundant packet stream into exactly one [`Digit`] per key press
//! ([`DtmfReceiver`]), and a sender that yields the packets for one digit ([`send_digit`]).
//!
//! A press arrives as several packets with the same RTP timestamp and a growing duration,
//! the last three with the E (end) bit. The receiver reports the digit when it sees the first
//! end packet; when every end packet is lost it reports it when a packet of a newer event
//! arrives or when the event has been silent for [`END_TIMEOUT_MS`] (the driver calls
//! [`DtmfReceiver::handle_timeout`] at [`DtmfReceiver::poll_timeout`]). Duplicates and
//! reordered packets of an event already reported are recognised by its timestamp.

use std::collections::VecDeque;
use std::fmt;

/// The event code of hook flash; not a digit, so never reported.
pub const EVENT_FLASH: u8 = 16;
/// How long an event may go without a packet before it is taken as ended. Senders refresh
/// every 50 ms at most (RFC 4733 §2.5.1.2 recommends 50 ms, most send every 20 ms), so
/// 250 ms is several lost packets in a row, and short enough that a caller does not notice.
pub const END_TIMEOUT_MS: u64 = 250;
/// For how long after the last accepted packet a packet of an unknown, older event counts as
/// late and is dropped. Beyond it an older timestamp is taken as a new press: the sender
/// may have restarted its RTP timestamps (a re-INVITE, a transfer), and a receiver that kept
/// waiting for the old timeline would ignore every key for a long while.
pub const LATE_WINDOW_MS: u64 = 1000;
/// How many finished events are remembered to drop their late retransmissions.
pub const RECENT_EVENTS: usize = 8;
/// The most digits held for the driver; it drains them after every input, so this is a
/// guard, not a buffer.
pub const MAX_PENDING_DIGITS: usize = 16;
/// A segment at least this long (in 8 kHz units, about 7.7 s) that is followed by a
/// contiguous segment of the same event is a long press split at the 16-bit duration limit
/// (RFC 4733 §2.5.1.3), not two presses.
pub const LONG_EVENT_SEGMENT_MIN: u16 = 0xF000;
/// The interval between the packets we send, in milliseconds: one audio frame.
pub const PACKET_INTERVAL_MS: u32 = 20;
/// How many times we send the end packet (RFC 4733 §2.5.1.4 recommends three).
pub const END_PACKET_COPIES: u32 = 3;
/// The volume we send, in −dBm0: a normal DTMF level.
pub const DEFAULT_VOLUME: u8 = 10;
/// The shortest digit we send: ITU-T Q.24's minimum tone length.
pub const MIN_DIGIT_MS: u32 = 40;
/// The longest digit we send, so that the duration fits one 16-bit segment at 8 kHz.
pub const MAX_DIGIT_MS: u32 = 8000;

const SAMPLES_PER_MS: u32 = 8;

/// Why a payload or a request cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DtmfError {
    /// The payload is shorter than 4 bytes.
    TooShort,
    /// Not a DTMF digit (0-9, *, #, A-D).
    NotADigit,
    /// A duration outside [`MIN_DIGIT_MS`]..=[`MAX_DIGIT_MS`].
    BadDuration,
}

impl fmt::Display for DtmfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtmfError::TooShort => write!(f, "telephone-event payload shorter than 4 bytes"),
            DtmfError::NotADigit => write!(f, "not a DTMF digit"),
            DtmfError::BadDuration => write!(f, "digit duration out of range"),
        }
    }
}

impl std::error::Error for DtmfError {}

/// One RFC 4733 telephone-event payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// The event code: 0-9, 10 `*`, 11 `#`, 12-15 A-D, 16 flash.
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// The power level, 0 to 63, in −dBm0.
    pub volume: u8,
    /// The duration so far, in RTP clock units from the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event of a payload (the reserved bit is ignored, as §2.3 says).
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, DtmfError> {
        if payload.len() < 4 {
            return Err(DtmfError::TooShort);
        }
        Ok(TelephoneEvent {
            event: payload[0],
            end: payload[1] & 0x80 != 0,
            volume: payload[1] & 0x3F,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }

    /// The payload bytes.
    pub fn to_bytes(self) -> [u8; 4] {
        let duration = self.duration.to_be_bytes();
        [
            self.event,
            (self.end as u8) << 7 | (self.volume & 0x3F),
            duration[0],
            duration[1],
        ]
    }
}

/// The digit an event code stands for, if it is one.
pub fn event_to_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some((b'0' + event) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + event - 12) as char),
        _ => None,
    }
}

/// The event code for a digit (`a`-`d` are accepted as `A`-`D`).
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// One key press, reported once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Digit {
    /// The key.
    pub digit: char,
    /// The RTP timestamp the event began at.
    pub start_timestamp: u32,
    /// How long it lasted, in RTP clock units: the end packet's duration, or the longest seen
    /// when the end was lost.
    pub duration: u32,
}

#[derive(Clone, Copy, Debug)]
struct Current {
    event: u8,
    start_timestamp: u32,
    segment_timestamp: u32,
    /// The durations of earlier segments of a long press.
    segment_offset: u32,
    duration: u16,
    last_packet_ms: u64,
}

/// Whether RTP timestamp `a` is after `b`, in serial-number arithmetic.
fn is_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Turns the telephone-event packets of one RTP stream into digits. Feed it every packet of
/// the negotiated telephone-event payload type, drain [`DtmfReceiver::poll_digit`] after each
/// call, and call [`DtmfReceiver::handle_timeout`] when [`DtmfReceiver::poll_timeout`] says.
#[derive(Clone, Debug)]
pub struct DtmfReceiver {
    current: Option<Current>,
    /// Segment timestamps of finished events, to drop their retransmissions.
    recent: [Option<u32>; RECENT_EVENTS],
    recent_next: usize,
    /// The newest segment timestamp seen; packets older than it of unknown events are late
    /// for [`LATE_WINDOW_MS`] after `last_accepted_ms`.
    newest: Option<u32>,
    last_accepted_ms: u64,
    pending: VecDeque<Digit>,
    late_packets: u64,
    dropped_digits: u64,
}

impl Default for DtmfReceiver {
    fn default() -> DtmfReceiver {
        DtmfReceiver::new()
    }
}

impl DtmfReceiver {
    /// A receiver that has heard nothing.
    pub fn new() -> DtmfReceiver {
        DtmfReceiver {
            current: None,
            recent: [None; RECENT_EVENTS],
            recent_next: 0,
            newest: None,
            last_accepted_ms: 0,
            pending: VecDeque::with_capacity(MAX_PENDING_DIGITS),
            late_packets: 0,
            dropped_digits: 0,
        }
    }

    /// Takes one telephone-event packet: the time it arrived (the driver's clock, in
    /// milliseconds), its RTP timestamp and its payload. The marker bit is not needed: the
    /// timestamp identifies the event, and the first packet may well be lost.
    pub fn handle_packet(
        &mut self,
        now_ms: u64,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), DtmfError> {
        let event = TelephoneEvent::parse(payload)?;
        if self.recent.contains(&Some(timestamp)) {
            return Ok(()); // a retransmission of a finished event
        }
        if let Some(mut current) = self.current {
            if timestamp == current.segment_timestamp {
                if event.event != current.event {
                    return Ok(()); // a confused sender; keep the event we know
                }
                current.duration = current.duration.max(event.duration);
                current.last_packet_ms = now_ms;
                self.last_accepted_ms = now_ms;
                self.current = Some(current);
                if event.end {
                    self.finish();
                }
                return Ok(());
            }
            if !is_after(timestamp, current.segment_timestamp) {
                self.late_packets += 1;
                return Ok(());
            }
            let contiguous = timestamp.wrapping_sub(current.segment_timestamp)
                == current.duration as u32
                && current.duration >= LONG_EVENT_SEGMENT_MIN
                && event.event == current.event;
            if contiguous {
                // The next segment of a long press: same digit, one report.
                self.remember(current.segment_timestamp);
                current.segment_offset += current.duration as u32;
                current.segment_timestamp = timestamp;
                current.duration = event.duration;
                current.last_packet_ms = now_ms;
                self.current = Some(current);
                self.newest = Some(timestamp);
                self.last_accepted_ms = now_ms;
                if event.end {
                    self.finish();
                }
                return Ok(());
            }
            // A newer event began while this one's end packets were lost.
            self.finish();
        } else if self
            .newest
            .is_some_and(|newest| !is_after(timestamp, newest))
            && now_ms < self.last_accepted_ms.saturating_add(LATE_WINDOW_MS)
        {
            self.late_packets += 1;
            return Ok(());
        }
        self.current = Some(Current {
            event: event.event,
            start_timestamp: timestamp,
            segment_timestamp: timestamp,
            segment_offset: 0,
            duration: event.duration,
            last_packet_ms: now_ms,
        });
        self.newest = Some(timestamp);
        self.last_accepted_ms = now_ms;
        if event.end {
            self.finish();
        }
        Ok(())
    }

    /// Ends an event whose end packets never came, once [`END_TIMEOUT_MS`] has passed since
    /// its last packet.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if let Some(current) = self.current {
            if now_ms >= current.last_packet_ms + END_TIMEOUT_MS {
                self.finish();
            }
        }
    }

    /// When the receiver next wants [`DtmfReceiver::handle_timeout`], if an event is open.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.current.map(|c| c.last_packet_ms + END_TIMEOUT_MS)
    }

    /// Forgets the event timeline, for a new RTP source (the SSRC changed): an open event is
    /// dropped unreported, digits not yet polled are kept.
    pub fn reset(&mut self) {
        self.current = None;
        self.recent = [None; RECENT_EVENTS];
        self.newest = None;
    }

    /// The next digit, oldest first.
    pub fn poll_digit(&mut self) -> Option<Digit> {
        self.pending.pop_front()
    }

    /// The key held down now, if any: for barge-in, which should stop a prompt at the press
    /// rather than at its end.
    pub fn pressed(&self) -> Option<char> {
        self.current.and_then(|c| event_to_digit(c.event))
    }

    /// Packets dropped because they belonged to an event older than one already begun.
    pub fn late_packets(&self) -> u64 {
        self.late_packets
    }

    /// Digits dropped because the driver did not drain [`MAX_PENDING_DIGITS`].
    pub fn dropped_digits(&self) -> u64 {
        self.dropped_digits
    }

    fn remember(&mut self, segment_timestamp: u32) {
        self.recent[self.recent_next] = Some(segment_timestamp);
        self.recent_next = (self.recent_next + 1) % RECENT_EVENTS;
    }

    fn finish(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        self.remember(current.segment_timestamp);
        if let Some(digit) = event_to_digit(current.event) {
            if self.pending.len() == MAX_PENDING_DIGITS {
                self.pending.pop_front();
                self.dropped_digits += 1;
            }
            self.pending.push_back(Digit {
                digit,
                start_timestamp: current.start_timestamp,
                duration: current.segment_offset + current.duration as u32,
            });
        }
    }
}

/// One packet to send for a digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DtmfPacket {
    /// When to send it, on the clock the caller gave.
    pub send_at_ms: u64,
    /// The RTP marker bit (set on the first packet of the event only).
    pub marker: bool,
    /// The RTP timestamp: the event's start for every packet.
    pub timestamp: u32,
    /// The event, for logs and tests.
    pub event: TelephoneEvent,
    /// The payload bytes.
    pub payload: [u8; 4],
}

/// The packets for one digit, in sending order; see [`send_digit`].
#[derive(Clone, Debug)]
pub struct DigitPackets {
    event: u8,
    volume: u8,
    start_timestamp: u32,
    start_ms: u64,
    total: u16,
    /// Packets carrying the growing duration, the first end packet included.
    frames: u32,
    index: u32,
}

impl DigitPackets {
    /// The first RTP timestamp audio may use after the digit.
    pub fn next_audio_timestamp(&self) -> u32 {
        self.start_timestamp.wrapping_add(self.total as u32)
    }

    /// How many packets there are in all.
    pub fn packet_count(&self) -> u32 {
        self.frames + END_PACKET_COPIES - 1
    }
}

impl Iterator for DigitPackets {
    type Item = DtmfPacket;

    fn next(&mut self) -> Option<DtmfPacket> {
        if self.index >= self.packet_count() {
            return None;
        }
        let k = self.index;
        self.index += 1;
        let per_frame = PACKET_INTERVAL_MS * SAMPLES_PER_MS;
        let duration = ((k + 1) * per_frame).min(self.total as u32) as u16;
        let event = TelephoneEvent {
            event: self.event,
            end: k + 1 >= self.frames,
            volume: self.volume,
            duration,
        };
        Some(DtmfPacket {
            send_at_ms: self.start_ms + (k * PACKET_INTERVAL_MS) as u64,
            marker: k == 0,
            timestamp: self.start_timestamp,
            event,
            payload: event.to_bytes(),
        })
    }
}

/// The packets for one digit pressed for `duration_ms`, starting at RTP timestamp
/// `start_timestamp` (8 kHz clock) and wall time `start_ms`. One packet every
/// [`PACKET_INTERVAL_MS`], each standing for the frame it replaces, so packet k (sent at
/// `start_ms + 20k`) carries duration `160(k+1)`; the packet whose duration reaches the total
/// is the end packet and is sent [`END_PACKET_COPIES`] times, 20 ms apart. The caller numbers
/// them in its RTP sequence, sends no audio meanwhile, and resumes audio at
/// [`DigitPackets::next_audio_timestamp`].
pub fn send_digit(
    digit: char,
    duration_ms: u32,
    start_timestamp: u32,
    start_ms: u64,
) -> Result<DigitPackets, DtmfError> {
    let event = digit_to_event(digit).ok_or(DtmfError::NotADigit)?;
    if !(MIN_DIGIT_MS..=MAX_DIGIT_MS).contains(&duration_ms) {
        return Err(DtmfError::BadDuration);
    }
    Ok(DigitPackets {
        event,
        volume: DEFAULT_VOLUME,
        start_timestamp,
        start_ms,
        total: (duration_ms * SAMPLES_PER_MS) as u16,
        frames: duration_ms.div_ceil(PACKET_INTERVAL_MS),
        index: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    fn drain(receiver: &mut DtmfReceiver) -> Vec<Digit> {
        std::iter::from_fn(|| receiver.poll_digit()).collect()
    }

    #[test]
    fn payload_round_trip_and_layout() {
        let event = TelephoneEvent {
            event: 11,
            end: true,
            volume: 7,
            duration: 800,
        };
        let bytes = event.to_bytes();
        assert_eq!(bytes, [11, 0x87, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&bytes), Ok(event));
        // The reserved bit is ignored.
        assert_eq!(TelephoneEvent::parse(&[11, 0xC7, 0x03, 0x20]), Ok(event));
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(DtmfError::TooShort));
    }

    #[test]
    fn digit_names() {
        let all = "0123456789*#ABCD";
        for (code, digit) in all.chars().enumerate() {
            assert_eq!(event_to_digit(code as u8), Some(digit));
            assert_eq!(digit_to_event(digit), Some(code as u8));
        }
        assert_eq!(digit_to_event('b'), Some(13));
        assert_eq!(event_to_digit(EVENT_FLASH), None);
        assert_eq!(digit_to_event('x'), None);
    }

    #[test]
    fn sender_yields_the_rfc_sequence() {
        let packets: Vec<DtmfPacket> = send_digit('5', 100, 1000, 0).unwrap().collect();
        // 100 ms: durations 160, 320, 480, 640, then 800 three times.
        let durations: Vec<u16> = packets.iter().map(|p| p.event.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = packets.iter().map(|p| p.event.end).collect();
        assert_eq!(ends, [false, false, false, false, true, true, true]);
        let times: Vec<u64> = packets.iter().map(|p| p.send_at_ms).collect();
        assert_eq!(times, [0, 20, 40, 60, 80, 100, 120]);
        assert!(packets[0].marker && packets[1..].iter().all(|p| !p.marker));
        assert!(packets
            .iter()
            .all(|p| p.timestamp == 1000 && p.event.event == 5));
        assert_eq!(
            send_digit('5', 100, 1000, 0)
                .unwrap()
                .next_audio_timestamp(),
            1800
        );
        assert_eq!(
            send_digit('x', 100, 0, 0).unwrap_err(),
            DtmfError::NotADigit
        );
        assert_eq!(
            send_digit('1', 10, 0, 0).unwrap_err(),
            DtmfError::BadDuration
        );
        assert_eq!(
            send_digit('1', 9000, 0, 0).unwrap_err(),
            DtmfError::BadDuration
        );
        // A length that is not a whole number of frames ends on the exact duration.
        let last = send_digit('1', 50, 0, 0).unwrap().last().unwrap();
        assert_eq!((last.event.duration, last.event.end), (400, true));
    }

    #[test]
    fn receiver_reports_once_per_press() {
        let mut receiver = DtmfReceiver::new();
        for packet in send_digit('7', 120, 5000, 1000).unwrap() {
            receiver
                .handle_packet(packet.send_at_ms, packet.timestamp, &packet.payload)
                .unwrap();
        }
        assert_eq!(
            drain(&mut receiver),
            [Digit {
                digit: '7',
                start_timestamp: 5000,
                duration: 960
            }]
        );
        assert_eq!(receiver.poll_timeout(), None);
    }

    #[test]
    fn lost_end_packets_finish_on_timeout() {
        let mut receiver = DtmfReceiver::new();
        receiver
            .handle_packet(0, 100, &payload(1, false, 160))
            .unwrap();
        assert_eq!(receiver.pressed(), Some('1'));
        receiver
            .handle_packet(20, 100, &payload(1, false, 320))
            .unwrap();
        assert_eq!(receiver.poll_timeout(), Some(20 + END_TIMEOUT_MS));
        receiver.handle_timeout(100);
        assert_eq!(receiver.poll_digit(), None);
        receiver.handle_timeout(20 + END_TIMEOUT_MS);
        assert_eq!(
            drain(&mut receiver),
            [Digit {
                digit: '1',
                start_timestamp: 100,
                duration: 320
            }]
        );
        // A late end packet of the same event reports nothing more.
        receiver
            .handle_packet(400, 100, &payload(1, true, 480))
            .unwrap();
        assert_eq!(receiver.poll_digit(), None);
    }

    #[test]
    fn lost_end_packets_finish_on_the_next_event() {
        let mut receiver = DtmfReceiver::new();
        receiver
            .handle_packet(0, 100, &payload(2, false, 160))
            .unwrap();
        receiver
            .handle_packet(200, 2000, &payload(2, false, 160))
            .unwrap();
        receiver
            .handle_packet(220, 2000, &payload(2, true, 320))
            .unwrap();
        let digits = drain(&mut receiver);
        assert_eq!(digits.len(), 2);
        assert_eq!((digits[0].start_timestamp, digits[0].duration), (100, 160));
        assert_eq!((digits[1].start_timestamp, digits[1].duration), (2000, 320));
    }

    #[test]
    fn reordered_and_duplicated_packets() {
        let packets: Vec<DtmfPacket> = send_digit('#', 80, 9000, 0).unwrap().collect();
        let order = [1, 0, 0, 2, 4, 3, 5, 5, 4, 1];
        let mut receiver = DtmfReceiver::new();
        for &i in &order {
            let p = packets[i];
            receiver
                .handle_packet(i as u64 * 20, p.timestamp, &p.payload)
                .unwrap();
        }
        receiver.handle_timeout(10_000);
        assert_eq!(
            drain(&mut receiver),
            [Digit {
                digit: '#',
                start_timestamp: 9000,
                duration: 640
            }]
        );
        // A packet of an older event arriving after a newer one began is dropped.
        receiver
            .handle_packet(0, 8000, &payload(3, true, 160))
            .unwrap();
        assert_eq!(receiver.poll_digit(), None);
        assert_eq!(receiver.late_packets(), 1);
    }

    #[test]
    fn a_long_press_split_into_segments_is_one_digit() {
        let mut receiver = DtmfReceiver::new();
        receiver
            .handle_packet(0, 0, &payload(9, false, 0xFFFF))
            .unwrap();
        receiver
            .handle_packet(20, 0xFFFF, &payload(9, false, 160))
            .unwrap();
        receiver
            .handle_packet(40, 0xFFFF, &payload(9, true, 320))
            .unwrap();
        assert_eq!(
            drain(&mut receiver),
            [Digit {
                digit: '9',
                start_timestamp: 0,
                duration: 0xFFFF + 320
            }]
        );
    }

    #[test]
    fn timestamps_wrap() {
        let mut receiver = DtmfReceiver::new();
        for ts in [u32::MAX - 100, 500] {
            for packet in send_digit('4', 60, ts, 0).unwrap() {
                receiver
                    .handle_packet(packet.send_at_ms, packet.timestamp, &packet.payload)
                    .unwrap();
            }
        }
        assert_eq!(drain(&mut receiver).len(), 2);
    }

    #[test]
    fn a_restarted_timeline_is_heard_after_the_late_window() {
        let mut receiver = DtmfReceiver::new();
        receiver
            .handle_packet(0, 50_000, &payload(1, true, 800))
            .unwrap();
        // Soon after, an older timestamp is a late packet; later, a new timeline.
        receiver
            .handle_packet(500, 10_000, &payload(2, true, 800))
            .unwrap();
        receiver
            .handle_packet(LATE_WINDOW_MS, 10_000, &payload(3, true, 800))
            .unwrap();
        let digits: String = drain(&mut receiver).iter().map(|d| d.digit).collect();
        assert_eq!(digits, "13");
        // After a reset the timeline starts again at once.
        receiver.reset();
        receiver
            .handle_packet(LATE_WINDOW_MS + 10, 5_000, &payload(4, true, 800))
            .unwrap();
        assert_eq!(receiver.poll_digit().map(|d| d.digit), Some('4'));
    }

    #[test]
    fn flash_is_not_a_digit() {
        let mut receiver = DtmfReceiver::new();
        receiver
            .handle_packet(0, 10, &payload(EVENT_FLASH, true, 800))
            .unwrap();
        assert_eq!(receiver.poll_digit(), None);
        assert_eq!(receiver.pressed(), None);
    }
}
