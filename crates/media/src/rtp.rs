//! RTP (RFC 3550): the packet ([`RtpPacket`], parsed in place from the datagram and printed
//! back), the per-source receiver statistics ([`ReceiverStats`]: extended sequence numbers,
//! loss, duplicates, interarrival jitter) and, in [`rtcp`], the few RTCP packets a telephony
//! endpoint needs.
//!
//! Parsing borrows the payload from the datagram and allocates nothing; printing writes into a
//! caller's buffer. Arrival times come in as arguments, in RTP clock units, so the statistics
//! are a pure function of what the caller tells them.

pub mod rtcp;

use std::fmt;

/// The RTP version this crate speaks; RFC 3550 defines no other.
pub const RTP_VERSION: u8 = 2;
/// The fixed header's size in bytes.
pub const FIXED_HEADER_BYTES: usize = 12;
/// The most contributing sources a header can list (the CC field has four bits).
pub const MAX_CSRCS: usize = 15;

/// Why a datagram is not a usable RTP packet. Each is a reason to drop it, never to fail the
/// call: peers and the network do send garbage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RtpError {
    /// Shorter than the fixed 12-byte header.
    TooShort,
    /// The version field is not 2.
    WrongVersion(u8),
    /// The P bit is set but the padding count is zero or larger than what follows the header.
    BadPadding,
    /// The CSRC list runs past the end of the packet.
    CsrcOverrun,
    /// The header extension runs past the end of the packet.
    ExtensionOverrun,
    /// Printing: the buffer is too small for the packet.
    BufferTooSmall,
    /// Printing: a field cannot be written (payload type over 127, extension data not a whole
    /// number of 32-bit words, or padding but a zero count).
    InvalidField,
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtpError::TooShort => write!(f, "shorter than the 12-byte RTP header"),
            RtpError::WrongVersion(v) => write!(f, "RTP version {v}, expected 2"),
            RtpError::BadPadding => write!(f, "padding count is zero or exceeds the packet"),
            RtpError::CsrcOverrun => write!(f, "CSRC list runs past the end of the packet"),
            RtpError::ExtensionOverrun => {
                write!(f, "header extension runs past the end of the packet")
            }
            RtpError::BufferTooSmall => write!(f, "buffer too small for the packet"),
            RtpError::InvalidField => write!(f, "a header field cannot be printed"),
        }
    }
}

impl std::error::Error for RtpError {}

/// The contributing sources of a packet, held inline so a parse never allocates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Csrcs {
    len: u8,
    ids: [u32; MAX_CSRCS],
}

impl Csrcs {
    /// An empty list.
    pub const fn new() -> Csrcs {
        Csrcs {
            len: 0,
            ids: [0; MAX_CSRCS],
        }
    }

    /// Adds a source; `false` (and no change) when the list already holds [`MAX_CSRCS`].
    pub fn push(&mut self, csrc: u32) -> bool {
        if self.len as usize == MAX_CSRCS {
            return false;
        }
        self.ids[self.len as usize] = csrc;
        self.len += 1;
        true
    }

    /// The sources in header order.
    pub fn as_slice(&self) -> &[u32] {
        &self.ids[..self.len as usize]
    }

    /// How many sources there are.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are none (the usual case for a two-party call).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A header extension (RFC 3550 §5.3.1). We use none, but keep it so a packet prints back
/// with the same length and so a relay could forward it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Extension<'a> {
    /// The profile-defined 16 bits (0xBEDE for RFC 8285 one-byte headers).
    pub profile: u16,
    /// The extension body, a whole number of 32-bit words.
    pub data: &'a [u8],
}

/// One RTP packet, borrowing its payload (and extension) from the datagram it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RtpPacket<'a> {
    /// The marker bit: the first packet of a talkspurt, or of a telephone event.
    pub marker: bool,
    /// The payload type, 0 to 127.
    pub payload_type: u8,
    /// The sequence number, which wraps at 65536.
    pub sequence: u16,
    /// The sampling instant of the first payload octet, in the payload's clock.
    pub timestamp: u32,
    /// The synchronisation source.
    pub ssrc: u32,
    /// The contributing sources (a mixer's inputs).
    pub csrcs: Csrcs,
    /// The header extension, if the X bit is set.
    pub extension: Option<Extension<'a>>,
    /// The payload, without padding.
    pub payload: &'a [u8],
    /// The padding octets after the payload, including the count octet; 0 when the P bit is
    /// clear. Kept so a packet prints back byte for byte.
    pub padding: u8,
}

impl<'a> RtpPacket<'a> {
    /// A packet with no CSRCs, extension or padding: what we send.
    pub fn new(
        payload_type: u8,
        sequence: u16,
        timestamp: u32,
        ssrc: u32,
        payload: &'a [u8],
    ) -> RtpPacket<'a> {
        RtpPacket {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: Csrcs::new(),
            extension: None,
            payload,
            padding: 0,
        }
    }

    /// Parses a datagram. The payload is borrowed, nothing is allocated.
    pub fn parse(bytes: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        if bytes.len() < FIXED_HEADER_BYTES {
            return Err(RtpError::TooShort);
        }
        let version = bytes[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::WrongVersion(version));
        }
        let has_padding = bytes[0] & 0x20 != 0;
        let has_extension = bytes[0] & 0x10 != 0;
        let csrc_count = (bytes[0] & 0x0F) as usize;
        let mut offset = FIXED_HEADER_BYTES;
        let csrc_end = offset + 4 * csrc_count;
        if csrc_end > bytes.len() {
            return Err(RtpError::CsrcOverrun);
        }
        let mut csrcs = Csrcs::new();
        while offset < csrc_end {
            csrcs.push(read_u32(bytes, offset));
            offset += 4;
        }
        let mut extension = None;
        if has_extension {
            if offset + 4 > bytes.len() {
                return Err(RtpError::ExtensionOverrun);
            }
            let profile = read_u16(bytes, offset);
            let words = read_u16(bytes, offset + 2) as usize;
            let start = offset + 4;
            let end = start + 4 * words;
            if end > bytes.len() {
                return Err(RtpError::ExtensionOverrun);
            }
            extension = Some(Extension {
                profile,
                data: &bytes[start..end],
            });
            offset = end;
        }
        let mut end = bytes.len();
        let mut padding = 0;
        if has_padding {
            // The last octet counts the padding, itself included (RFC 3550 §5.1).
            padding = bytes[end - 1];
            if padding == 0 || padding as usize > end - offset {
                return Err(RtpError::BadPadding);
            }
            end -= padding as usize;
        }
        Ok(RtpPacket {
            marker: bytes[1] & 0x80 != 0,
            payload_type: bytes[1] & 0x7F,
            sequence: read_u16(bytes, 2),
            timestamp: read_u32(bytes, 4),
            ssrc: read_u32(bytes, 8),
            csrcs,
            extension,
            payload: &bytes[offset..end],
            padding,
        })
    }

    /// The size of the packet on the wire.
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_BYTES
            + 4 * self.csrcs.len()
            + self.extension.map_or(0, |e| 4 + e.data.len())
            + self.payload.len()
            + self.padding as usize
    }

    /// Prints the packet into `out`, returning how many bytes it wrote. Padding octets
    /// before the count are written as zeros, as RFC 3550 suggests.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, RtpError> {
        if self.payload_type > 127 {
            return Err(RtpError::InvalidField);
        }
        if let Some(extension) = self.extension {
            if extension.data.len() % 4 != 0 || extension.data.len() / 4 > u16::MAX as usize {
                return Err(RtpError::InvalidField);
            }
        }
        let len = self.encoded_len();
        if out.len() < len {
            return Err(RtpError::BufferTooSmall);
        }
        out[0] = (RTP_VERSION << 6)
            | if self.padding > 0 { 0x20 } else { 0 }
            | if self.extension.is_some() { 0x10 } else { 0 }
            | self.csrcs.len() as u8;
        out[1] = (self.marker as u8) << 7 | self.payload_type;
        out[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        out[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut offset = FIXED_HEADER_BYTES;
        for csrc in self.csrcs.as_slice() {
            out[offset..offset + 4].copy_from_slice(&csrc.to_be_bytes());
            offset += 4;
        }
        if let Some(extension) = self.extension {
            out[offset..offset + 2].copy_from_slice(&extension.profile.to_be_bytes());
            let words = (extension.data.len() / 4) as u16;
            out[offset + 2..offset + 4].copy_from_slice(&words.to_be_bytes());
            offset += 4;
            out[offset..offset + extension.data.len()].copy_from_slice(extension.data);
            offset += extension.data.len();
        }
        out[offset..offset + self.payload.len()].copy_from_slice(self.payload);
        offset += self.payload.len();
        if self.padding > 0 {
            let pad = self.padding as usize;
            out[offset..offset + pad - 1].fill(0);
            out[offset + pad - 1] = self.padding;
            offset += pad;
        }
        Ok(offset)
    }

    /// Prints the packet into a new vector, for tests and for paths that are not per packet.
    pub fn to_vec(&self) -> Result<Vec<u8>, RtpError> {
        let mut out = vec![0; self.encoded_len()];
        self.write(&mut out)?;
        Ok(out)
    }
}

/// Whether a datagram on a shared RTP/RTCP port is RTCP (RFC 5761 §4): RTCP packet types
/// 192 to 223 fall where RTP's marker bit and payload types 64 to 95 would be, which no
/// dynamic or static audio mapping uses.
pub fn is_rtcp(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] >> 6 == RTP_VERSION && (192..=223).contains(&bytes[1])
}

pub(crate) fn read_u16(bytes: &[u8], offset: usize) -> u16 {
    u16::from_be_bytes([bytes[offset], bytes[offset + 1]])
}

pub(crate) fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

/// A jump forward in sequence numbers larger than this is not trusted until the next packet
/// confirms it (RFC 3550 A.1's `MAX_DROPOUT`).
pub const MAX_DROPOUT: u16 = 3000;
/// A packet at most this far behind the highest seen is a late or duplicate one, not a
/// restart (RFC 3550 A.1's `MAX_MISORDER`).
pub const MAX_MISORDER: u16 = 100;
/// How many packets in sequence a new source must send before it counts (A.1's
/// `MIN_SEQUENTIAL`); a stray packet from a dead stream then cannot reset the statistics.
pub const MIN_SEQUENTIAL: u32 = 2;
/// How far behind the highest sequence number duplicates are recognised. It covers
/// [`MAX_MISORDER`], so every packet the statistics accept as late is checked.
pub const DUPLICATE_WINDOW: u16 = 128;

const SEQ_MOD: u64 = 1 << 16;

/// What the statistics made of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketStatus {
    /// A packet with a new highest sequence number: play it.
    InOrder,
    /// An older packet not seen before: play it if the jitter buffer still can.
    Late,
    /// A packet already seen: drop it.
    Duplicate,
    /// The source is still on probation (fewer than [`MIN_SEQUENTIAL`] packets in sequence).
    Probation,
    /// A large jump in sequence numbers, not yet confirmed by a following packet: drop it.
    /// If the next packet follows it, the statistics restart from there.
    BadSequence,
}

impl PacketStatus {
    /// Whether the packet's media should go on to the decoder.
    pub fn is_playable(self) -> bool {
        matches!(self, PacketStatus::InOrder | PacketStatus::Late)
    }
}

/// Receiver statistics for one synchronisation source (RFC 3550 A.1, A.3 and A.8): the
/// extended highest sequence number, expected and lost counts, duplicates, interarrival
/// jitter, and what a report block needs.
///
/// Unlike A.1, duplicates within [`DUPLICATE_WINDOW`] are counted apart and not as
/// received, so `lost()` does not go negative because a network duplicated packets.
#[derive(Clone, Debug)]
pub struct ReceiverStats {
    ssrc: u32,
    started: bool,
    max_seq: u16,
    cycles: u64,
    base_seq: u64,
    bad_seq: u64,
    probation: u32,
    received: u64,
    duplicates: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Bit `i` set: extended sequence number `max - i` was received.
    seen: u128,
    transit: Option<u32>,
    /// Jitter in RTP units, scaled by 16 as A.8 keeps it.
    jitter_scaled: u32,
    last_sr: Option<(u32, u64)>,
}

impl ReceiverStats {
    /// Statistics for a source not yet heard.
    pub fn new(ssrc: u32) -> ReceiverStats {
        ReceiverStats {
            ssrc,
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            duplicates: 0,
            expected_prior: 0,
            received_prior: 0,
            seen: 0,
            transit: None,
            jitter_scaled: 0,
            last_sr: None,
        }
    }

    /// The source these statistics are about.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq as u64;
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.duplicates = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.seen = 1;
    }

    /// Takes one packet of this source: its sequence number, its RTP timestamp and its arrival
    /// time in the same RTP clock (the driver converts its own clock; only differences matter,
    /// so any origin will do).
    pub fn handle_packet(&mut self, sequence: u16, timestamp: u32, arrival: u32) -> PacketStatus {
        if !self.started {
            self.started = true;
            self.init_seq(sequence);
            // A.1 starts a new source one behind, so its first packet begins the probation.
            self.max_seq = sequence.wrapping_sub(1);
        }
        let status = self.update_seq(sequence);
        if status.is_playable() {
            self.update_jitter(timestamp, arrival);
        }
        status
    }

    fn update_seq(&mut self, seq: u16) -> PacketStatus {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if udelta == 1 {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return PacketStatus::InOrder;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return PacketStatus::Probation;
        }
        if udelta == 0 {
            self.duplicates += 1;
            return PacketStatus::Duplicate;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
            self.seen = if udelta as u32 >= u128::BITS {
                1
            } else {
                (self.seen << udelta) | 1
            };
            self.received += 1;
            return PacketStatus::InOrder;
        }
        if udelta as u64 <= SEQ_MOD - MAX_MISORDER as u64 {
            // A large jump: believe it only if the next packet follows it.
            if seq as u64 == self.bad_seq {
                self.init_seq(seq);
                self.received += 1;
                return PacketStatus::InOrder;
            }
            self.bad_seq = (seq as u64 + 1) & (SEQ_MOD - 1);
            return PacketStatus::BadSequence;
        }
        // Behind the highest: a late packet or a duplicate.
        let behind = self.max_seq.wrapping_sub(seq);
        if behind < DUPLICATE_WINDOW {
            let bit = 1u128 << behind;
            if self.seen & bit != 0 {
                self.duplicates += 1;
                return PacketStatus::Duplicate;
            }
            self.seen |= bit;
        }
        self.received += 1;
        PacketStatus::Late
    }

    fn update_jitter(&mut self, timestamp: u32, arrival: u32) {
        // A.8, in wrapping arithmetic: only the difference of transits matters.
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(previous) = self.transit {
            let d = (transit.wrapping_sub(previous) as i32).unsigned_abs();
            let jitter = self.jitter_scaled as i64;
            let updated = jitter + d as i64 - ((jitter + 8) >> 4);
            self.jitter_scaled = updated.clamp(0, u32::MAX as i64) as u32;
        }
        self.transit = Some(transit);
    }

    /// The highest sequence number received, extended with the count of wraps.
    pub fn extended_max_sequence(&self) -> u64 {
        self.cycles + self.max_seq as u64
    }

    /// How many packets the sequence numbers say should have arrived.
    pub fn expected(&self) -> u64 {
        if self.received == 0 {
            return 0;
        }
        self.extended_max_sequence() - self.base_seq + 1
    }

    /// How many distinct packets arrived (duplicates are not counted).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Expected minus received. Late packets beyond [`DUPLICATE_WINDOW`] are not checked for
    /// duplication, so in a pathological stream this can still go below zero, as in A.3.
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// How many duplicates were recognised and dropped.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// The interarrival jitter estimate in RTP clock units (RFC 3550 §6.4.1).
    pub fn jitter(&self) -> u32 {
        self.jitter_scaled >> 4
    }

    /// Notes a sender report from this source: the middle 32 bits of its NTP timestamp and
    /// when it arrived (the driver's clock, milliseconds), for the report block's LSR and DLSR.
    pub fn handle_sender_report(&mut self, ntp_middle: u32, now_ms: u64) {
        self.last_sr = Some((ntp_middle, now_ms));
    }

    /// The report block for this source as of `now_ms`; it starts a new reporting interval
    /// (the fraction lost is since the previous call), as A.3 describes.
    pub fn report_block(&mut self, now_ms: u64) -> rtcp::ReportBlock {
        let expected = self.expected();
        let expected_interval = expected - self.expected_prior;
        self.expected_prior = expected;
        let received_interval = self.received - self.received_prior;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (lsr, dlsr) = match self.last_sr {
            Some((ntp_middle, at_ms)) => {
                // DLSR is in units of 1/65536 second.
                let delay_ms = now_ms.saturating_sub(at_ms);
                let dlsr = (delay_ms * 65536 / 1000).min(u32::MAX as u64) as u32;
                (ntp_middle, dlsr)
            }
            None => (0, 0),
        };
        rtcp::ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self
                .lost()
                .clamp(rtcp::CUMULATIVE_LOST_MIN, rtcp::CUMULATIVE_LOST_MAX)
                as i32,
            extended_highest_sequence: self.extended_max_sequence() as u32,
            jitter: self.jitter(),
            last_sender_report: lsr,
            delay_since_last_sender_report: dlsr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet_bytes() -> Vec<u8> {
        let mut bytes = vec![
            0x80, 0x08, 0x12, 0x34, // V=2, PT=8, seq 0x1234
            0x00, 0x00, 0x10, 0x00, // timestamp 4096
            0xDE, 0xAD, 0xBE, 0xEF, // SSRC
        ];
        bytes.extend_from_slice(&[0xD5; 160]);
        bytes
    }

    #[test]
    fn parses_a_plain_packet() {
        let bytes = packet_bytes();
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert!(!packet.marker);
        assert_eq!(packet.payload_type, 8);
        assert_eq!(packet.sequence, 0x1234);
        assert_eq!(packet.timestamp, 4096);
        assert_eq!(packet.ssrc, 0xDEADBEEF);
        assert!(packet.csrcs.is_empty());
        assert_eq!(packet.extension, None);
        assert_eq!(packet.payload.len(), 160);
        assert_eq!(packet.to_vec().unwrap(), bytes);
    }

    #[test]
    fn parses_csrcs_extension_padding_and_marker() {
        let mut bytes = vec![0xB2, 0xE5, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        bytes.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 11]); // two CSRCs
        bytes.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // one-word extension
        bytes.extend_from_slice(b"abc"); // payload
        bytes.extend_from_slice(&[0, 0, 3]); // three octets of padding
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert!(packet.marker);
        assert_eq!(packet.payload_type, 101);
        assert_eq!(packet.csrcs.as_slice(), &[10, 11]);
        let extension = packet.extension.unwrap();
        assert_eq!(extension.profile, 0xBEDE);
        assert_eq!(extension.data, &[1, 2, 3, 4]);
        assert_eq!(packet.payload, b"abc");
        assert_eq!(packet.padding, 3);
        assert_eq!(packet.encoded_len(), bytes.len());
        assert_eq!(packet.to_vec().unwrap(), bytes);
    }

    #[test]
    fn rejects_malformed_packets() {
        assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::TooShort));
        let mut bytes = packet_bytes();
        bytes[0] = 0x40;
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::WrongVersion(1)));
        let mut bytes = packet_bytes();
        bytes[0] = 0xA0;
        *bytes.last_mut().unwrap() = 0;
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::BadPadding));
        *bytes.last_mut().unwrap() = 200;
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::BadPadding));
        let mut bytes = packet_bytes()[..16].to_vec();
        bytes[0] = 0x82;
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::CsrcOverrun));
        let mut bytes = packet_bytes()[..20].to_vec();
        bytes[0] = 0x90;
        bytes[14] = 0;
        bytes[15] = 2; // two words announced, one present
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::ExtensionOverrun));
        let mut bytes = packet_bytes()[..14].to_vec();
        bytes[0] = 0x90;
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::ExtensionOverrun));
    }

    #[test]
    fn write_checks_its_buffer_and_fields() {
        let packet = RtpPacket::new(0, 1, 2, 3, &[1, 2, 3]);
        let mut small = [0u8; 14];
        assert_eq!(packet.write(&mut small), Err(RtpError::BufferTooSmall));
        let bad = RtpPacket {
            payload_type: 200,
            ..packet
        };
        assert_eq!(bad.to_vec(), Err(RtpError::InvalidField));
    }

    #[test]
    fn recognises_rtcp_on_a_shared_port() {
        assert!(is_rtcp(&[0x81, 200, 0, 6]));
        assert!(!is_rtcp(&packet_bytes()));
        assert!(!is_rtcp(&[0x80]));
    }

    fn accept(stats: &mut ReceiverStats, seq: u16) -> PacketStatus {
        let timestamp = (seq as u32).wrapping_mul(160);
        stats.handle_packet(seq, timestamp, timestamp)
    }

    #[test]
    fn probation_then_in_order_with_wrap() {
        let mut stats = ReceiverStats::new(7);
        assert_eq!(accept(&mut stats, 65530), PacketStatus::Probation);
        assert_eq!(accept(&mut stats, 65531), PacketStatus::InOrder);
        for seq in 65532..=65535 {
            assert_eq!(accept(&mut stats, seq), PacketStatus::InOrder);
        }
        for seq in 0..10 {
            assert_eq!(accept(&mut stats, seq), PacketStatus::InOrder);
        }
        assert_eq!(stats.extended_max_sequence(), 65536 + 9);
        assert_eq!(stats.expected(), 15);
        assert_eq!(stats.received(), 15);
        assert_eq!(stats.lost(), 0);
    }

    #[test]
    fn counts_loss_late_packets_and_duplicates() {
        let mut stats = ReceiverStats::new(7);
        for seq in [100, 101, 102, 104, 105, 103, 103, 105, 110] {
            accept(&mut stats, seq);
        }
        // 101..=110 expected (100 was the probation packet), 101..105 and 110 received.
        assert_eq!(stats.expected(), 10);
        assert_eq!(stats.received(), 6);
        assert_eq!(stats.duplicates(), 2);
        assert_eq!(stats.lost(), 4);
        let block = stats.report_block(0);
        assert_eq!(block.fraction_lost, (4 * 256 / 10) as u8);
        assert_eq!(block.cumulative_lost, 4);
        assert_eq!(block.extended_highest_sequence, 110);
        // The next interval has no traffic and so no loss.
        assert_eq!(stats.report_block(0).fraction_lost, 0);
    }

    #[test]
    fn a_confirmed_jump_restarts_the_sequence() {
        let mut stats = ReceiverStats::new(7);
        for seq in 0..5 {
            accept(&mut stats, seq);
        }
        assert_eq!(accept(&mut stats, 30000), PacketStatus::BadSequence);
        assert_eq!(accept(&mut stats, 30001), PacketStatus::InOrder);
        assert_eq!(accept(&mut stats, 30002), PacketStatus::InOrder);
        assert_eq!(stats.expected(), 2);
        assert_eq!(stats.lost(), 0);
    }

    #[test]
    fn jitter_follows_a8() {
        let mut stats = ReceiverStats::new(7);
        // Perfectly paced packets: no jitter.
        for seq in 0..50u16 {
            accept(&mut stats, seq);
        }
        assert_eq!(stats.jitter(), 0);
        // Alternate arrivals 80 units early and late: D is 160 each time, and J converges to
        // 160 (J += (|D| - J) / 16).
        for seq in 50..1050u16 {
            let timestamp = seq as u32 * 160;
            let arrival = if seq % 2 == 0 {
                timestamp + 80
            } else {
                timestamp - 80
            };
            stats.handle_packet(seq, timestamp, arrival);
        }
        assert!((150..=160).contains(&stats.jitter()), "{}", stats.jitter());
    }

    #[test]
    fn report_block_carries_lsr_and_dlsr() {
        let mut stats = ReceiverStats::new(9);
        stats.handle_sender_report(0x1234_5678, 1_000);
        let block = stats.report_block(1_500);
        assert_eq!(block.ssrc, 9);
        assert_eq!(block.last_sender_report, 0x1234_5678);
        assert_eq!(block.delay_since_last_sender_report, 32768);
    }
}
