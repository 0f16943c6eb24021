//! Minimal RTCP (RFC 3550 §6): Sender Report, Receiver Report with report blocks, Source
//! Description (CNAME only, which every compound packet must carry) and BYE, parsed from and
//! printed to compound packets. Other packet types (APP, XR, feedback) are kept as opaque
//! bodies so a compound packet that carries them still parses and prints back.
//!
//! RTCP is sent every few seconds, so this module allocates freely; the bounds are the
//! protocol's own (31 report blocks, 31 sources) and [`MAX_COMPOUND_PACKETS`].

use std::fmt;

use super::{read_u16, read_u32, RTP_VERSION};

/// Packet type of a Sender Report.
pub const PT_SR: u8 = 200;
/// Packet type of a Receiver Report.
pub const PT_RR: u8 = 201;
/// Packet type of a Source Description.
pub const PT_SDES: u8 = 202;
/// Packet type of a BYE.
pub const PT_BYE: u8 = 203;
/// The most packets taken from one compound datagram; a real one holds two or three.
pub const MAX_COMPOUND_PACKETS: usize = 16;
/// The most report blocks, sources or chunks in one packet (the count field has five bits).
pub const MAX_COUNT: usize = 31;
/// The smallest cumulative loss a report block can carry (24-bit signed).
pub const CUMULATIVE_LOST_MIN: i64 = -(1 << 23);
/// The largest cumulative loss a report block can carry (24-bit signed).
pub const CUMULATIVE_LOST_MAX: i64 = (1 << 23) - 1;

const SDES_CNAME: u8 = 1;
const REPORT_BLOCK_BYTES: usize = 24;

/// Why a datagram is not a usable RTCP compound packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RtcpError {
    /// No bytes, or fewer than a packet header needs.
    TooShort,
    /// The version field is not 2.
    WrongVersion(u8),
    /// A packet's length field runs past the end of the datagram.
    LengthOverrun,
    /// The padding count is zero, too large, or padding appears before the last packet.
    BadPadding,
    /// A packet's count (report blocks, sources) does not fit its length.
    CountOverrun,
    /// More than [`MAX_COMPOUND_PACKETS`] packets in one datagram.
    TooManyPackets,
    /// Printing: more than [`MAX_COUNT`] items, or a text over 255 bytes.
    TooManyItems,
}

impl fmt::Display for RtcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtcpError::TooShort => write!(f, "shorter than an RTCP header"),
            RtcpError::WrongVersion(v) => write!(f, "RTCP version {v}, expected 2"),
            RtcpError::LengthOverrun => write!(f, "packet length runs past the datagram"),
            RtcpError::BadPadding => write!(f, "bad padding"),
            RtcpError::CountOverrun => write!(f, "item count does not fit the packet length"),
            RtcpError::TooManyPackets => write!(f, "too many packets in one compound"),
            RtcpError::TooManyItems => write!(f, "too many items or text too long to print"),
        }
    }
}

impl std::error::Error for RtcpError {}

/// A report block: what one receiver says about one source (RFC 3550 §6.4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReportBlock {
    /// The source reported on.
    pub ssrc: u32,
    /// Packets lost since the previous report, as a fraction of 256.
    pub fraction_lost: u8,
    /// Packets lost since reception began (24-bit signed on the wire).
    pub cumulative_lost: i32,
    /// The extended highest sequence number received.
    pub extended_highest_sequence: u32,
    /// The interarrival jitter in RTP units.
    pub jitter: u32,
    /// The middle 32 bits of the last sender report's NTP timestamp (0: none yet).
    pub last_sender_report: u32,
    /// The delay since that sender report, in 1/65536 seconds.
    pub delay_since_last_sender_report: u32,
}

/// A Sender Report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderReport {
    /// The sender.
    pub ssrc: u32,
    /// The wallclock time of this report as a 64-bit NTP timestamp (the driver supplies it).
    pub ntp_timestamp: u64,
    /// The same instant in the RTP clock of the sender's media.
    pub rtp_timestamp: u32,
    /// RTP packets sent since the start.
    pub packet_count: u32,
    /// Payload octets sent since the start.
    pub octet_count: u32,
    /// Reports on the sources this sender receives.
    pub reports: Vec<ReportBlock>,
}

/// A Receiver Report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiverReport {
    /// The reporter.
    pub ssrc: u32,
    /// Reports on the sources it receives.
    pub reports: Vec<ReportBlock>,
}

/// One Source Description chunk; only the CNAME item is kept, the others are skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SdesChunk {
    /// The source described.
    pub ssrc: u32,
    /// Its canonical name, if the chunk had one.
    pub cname: Option<String>,
}

/// A BYE: these sources leave, with an optional reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bye {
    /// The sources that leave.
    pub sources: Vec<u32>,
    /// Why, as the sender wrote it (lossily decoded as UTF-8).
    pub reason: Option<String>,
}

/// One packet of a compound RTCP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpPacket {
    /// A Sender Report.
    SenderReport(SenderReport),
    /// A Receiver Report.
    ReceiverReport(ReceiverReport),
    /// A Source Description.
    SourceDescription(Vec<SdesChunk>),
    /// A BYE.
    Bye(Bye),
    /// Any other packet type, kept whole.
    Other {
        /// The packet type.
        packet_type: u8,
        /// The five-bit count/subtype field.
        count: u8,
        /// The body after the 4-byte header, padding removed.
        body: Vec<u8>,
    },
}

/// Parses a compound RTCP datagram into its packets. Every packet must be version 2 and fit
/// its length; only the last may be padded (RFC 3550 §6.4.1).
pub fn parse_compound(bytes: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    if bytes.len() < 4 {
        return Err(RtcpError::TooShort);
    }
    let mut packets = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        if packets.len() == MAX_COMPOUND_PACKETS {
            return Err(RtcpError::TooManyPackets);
        }
        if bytes.len() - offset < 4 {
            return Err(RtcpError::TooShort);
        }
        let first = bytes[offset];
        let version = first >> 6;
        if version != RTP_VERSION {
            return Err(RtcpError::WrongVersion(version));
        }
        let padded = first & 0x20 != 0;
        let count = first & 0x1F;
        let packet_type = bytes[offset + 1];
        let length = (read_u16(bytes, offset + 2) as usize + 1) * 4;
        let end = offset + length;
        if end > bytes.len() {
            return Err(RtcpError::LengthOverrun);
        }
        let mut body_end = end;
        if padded {
            if end != bytes.len() {
                return Err(RtcpError::BadPadding);
            }
            let pad = bytes[end - 1] as usize;
            if pad == 0 || pad > length - 4 {
                return Err(RtcpError::BadPadding);
            }
            body_end -= pad;
        }
        let body = &bytes[offset + 4..body_end];
        packets.push(parse_one(packet_type, count, body)?);
        offset = end;
    }
    Ok(packets)
}

fn parse_blocks(body: &[u8], count: u8) -> Result<Vec<ReportBlock>, RtcpError> {
    let count = count as usize;
    if body.len() < count * REPORT_BLOCK_BYTES {
        return Err(RtcpError::CountOverrun);
    }
    let mut reports = Vec::with_capacity(count);
    for i in 0..count {
        let b = &body[i * REPORT_BLOCK_BYTES..];
        // Sign-extend the 24-bit cumulative loss.
        let lost = ((read_u32(b, 4) << 8) as i32) >> 8;
        reports.push(ReportBlock {
            ssrc: read_u32(b, 0),
            fraction_lost: b[4],
            cumulative_lost: lost,
            extended_highest_sequence: read_u32(b, 8),
            jitter: read_u32(b, 12),
            last_sender_report: read_u32(b, 16),
            delay_since_last_sender_report: read_u32(b, 20),
        });
    }
    Ok(reports)
}

fn parse_one(packet_type: u8, count: u8, body: &[u8]) -> Result<RtcpPacket, RtcpError> {
    match packet_type {
        PT_SR => {
            if body.len() < 24 {
                return Err(RtcpError::CountOverrun);
            }
            Ok(RtcpPacket::SenderReport(SenderReport {
                ssrc: read_u32(body, 0),
                ntp_timestamp: (read_u32(body, 4) as u64) << 32 | read_u32(body, 8) as u64,
                rtp_timestamp: read_u32(body, 12),
                packet_count: read_u32(body, 16),
                octet_count: read_u32(body, 20),
                reports: parse_blocks(&body[24..], count)?,
            }))
        }
        PT_RR => {
            if body.len() < 4 {
                return Err(RtcpError::CountOverrun);
            }
            Ok(RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: read_u32(body, 0),
                reports: parse_blocks(&body[4..], count)?,
            }))
        }
        PT_SDES => {
            let mut chunks = Vec::with_capacity(count as usize);
            let mut offset = 0;
            for _ in 0..count {
                if offset + 4 > body.len() {
                    return Err(RtcpError::CountOverrun);
                }
                let ssrc = read_u32(body, offset);
                offset += 4;
                let mut cname = None;
                // Items until a zero type octet; the chunk then pads to a 32-bit boundary.
                loop {
                    if offset >= body.len() {
                        return Err(RtcpError::CountOverrun);
                    }
                    let item = body[offset];
                    if item == 0 {
                        offset = (offset + 4) & !3;
                        break;
                    }
                    if offset + 2 > body.len() {
                        return Err(RtcpError::CountOverrun);
                    }
                    let len = body[offset + 1] as usize;
                    let start = offset + 2;
                    if start + len > body.len() {
                        return Err(RtcpError::CountOverrun);
                    }
                    if item == SDES_CNAME {
                        cname = Some(String::from_utf8_lossy(&body[start..start + len]).into());
                    }
                    offset = start + len;
                }
                chunks.push(SdesChunk { ssrc, cname });
            }
            Ok(RtcpPacket::SourceDescription(chunks))
        }
        PT_BYE => {
            let count = count as usize;
            if body.len() < count * 4 {
                return Err(RtcpError::CountOverrun);
            }
            let sources = (0..count).map(|i| read_u32(body, i * 4)).collect();
            let rest = &body[count * 4..];
            let reason = match rest.first() {
                Some(&len) if len > 0 => {
                    let len = len as usize;
                    if 1 + len > rest.len() {
                        return Err(RtcpError::CountOverrun);
                    }
                    Some(String::from_utf8_lossy(&rest[1..1 + len]).into())
                }
                _ => None,
            };
            Ok(RtcpPacket::Bye(Bye { sources, reason }))
        }
        _ => Ok(RtcpPacket::Other {
            packet_type,
            count,
            body: body.to_vec(),
        }),
    }
}

fn write_header(out: &mut Vec<u8>, count: usize, packet_type: u8) -> Result<usize, RtcpError> {
    if count > MAX_COUNT {
        return Err(RtcpError::TooManyItems);
    }
    let start = out.len();
    out.push((RTP_VERSION << 6) | count as u8);
    out.push(packet_type);
    out.extend_from_slice(&[0, 0]);
    Ok(start)
}

/// Pads the packet begun at `start` to 32 bits with zeros and fills in its length field.
fn finish(out: &mut Vec<u8>, start: usize) {
    while !(out.len() - start).is_multiple_of(4) {
        out.push(0);
    }
    let words = ((out.len() - start) / 4 - 1) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

fn write_blocks(out: &mut Vec<u8>, reports: &[ReportBlock]) {
    for r in reports {
        out.extend_from_slice(&r.ssrc.to_be_bytes());
        let lost = (r.cumulative_lost as i64).clamp(CUMULATIVE_LOST_MIN, CUMULATIVE_LOST_MAX);
        let lost = (lost as u32) & 0x00FF_FFFF;
        out.extend_from_slice(&((r.fraction_lost as u32) << 24 | lost).to_be_bytes());
        out.extend_from_slice(&r.extended_highest_sequence.to_be_bytes());
        out.extend_from_slice(&r.jitter.to_be_bytes());
        out.extend_from_slice(&r.last_sender_report.to_be_bytes());
        out.extend_from_slice(&r.delay_since_last_sender_report.to_be_bytes());
    }
}

impl RtcpPacket {
    /// Appends this packet to `out`, length field filled in and padded to 32 bits with zero
    /// octets where the format allows it (SDES, BYE); no P bit is ever set.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        match self {
            RtcpPacket::SenderReport(sr) => {
                let start = write_header(out, sr.reports.len(), PT_SR)?;
                out.extend_from_slice(&sr.ssrc.to_be_bytes());
                out.extend_from_slice(&sr.ntp_timestamp.to_be_bytes());
                out.extend_from_slice(&sr.rtp_timestamp.to_be_bytes());
                out.extend_from_slice(&sr.packet_count.to_be_bytes());
                out.extend_from_slice(&sr.octet_count.to_be_bytes());
                write_blocks(out, &sr.reports);
                finish(out, start);
            }
            RtcpPacket::ReceiverReport(rr) => {
                let start = write_header(out, rr.reports.len(), PT_RR)?;
                out.extend_from_slice(&rr.ssrc.to_be_bytes());
                write_blocks(out, &rr.reports);
                finish(out, start);
            }
            RtcpPacket::SourceDescription(chunks) => {
                let start = write_header(out, chunks.len(), PT_SDES)?;
                for chunk in chunks {
                    let chunk_start = out.len();
                    out.extend_from_slice(&chunk.ssrc.to_be_bytes());
                    if let Some(cname) = &chunk.cname {
                        if cname.len() > 255 {
                            return Err(RtcpError::TooManyItems);
                        }
                        out.push(SDES_CNAME);
                        out.push(cname.len() as u8);
                        out.extend_from_slice(cname.as_bytes());
                    }
                    // The item list ends with at least one zero octet, then pads to 32 bits.
                    out.push(0);
                    while !(out.len() - chunk_start).is_multiple_of(4) {
                        out.push(0);
                    }
                }
                finish(out, start);
            }
            RtcpPacket::Bye(bye) => {
                let start = write_header(out, bye.sources.len(), PT_BYE)?;
                for ssrc in &bye.sources {
                    out.extend_from_slice(&ssrc.to_be_bytes());
                }
                if let Some(reason) = &bye.reason {
                    if reason.len() > 255 {
                        return Err(RtcpError::TooManyItems);
                    }
                    out.push(reason.len() as u8);
                    out.extend_from_slice(reason.as_bytes());
                }
                finish(out, start);
            }
            RtcpPacket::Other {
                packet_type,
                count,
                body,
            } => {
                let start = write_header(out, *count as usize, *packet_type)?;
                out.extend_from_slice(body);
                finish(out, start);
            }
        }
        Ok(())
    }
}

/// Prints packets as one compound datagram. RFC 3550 wants it to begin with an SR or RR and
/// to carry an SDES CNAME; the caller composes that, this only prints.
pub fn write_compound(packets: &[RtcpPacket]) -> Result<Vec<u8>, RtcpError> {
    let mut out = Vec::with_capacity(128);
    for packet in packets {
        packet.write(&mut out)?;
    }
    Ok(out)
}

/// The middle 32 bits of a 64-bit NTP timestamp: what a report block's LSR field echoes.
pub fn ntp_middle(ntp_timestamp: u64) -> u32 {
    (ntp_timestamp >> 16) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: -3,
            extended_highest_sequence: 70_000,
            jitter: 42,
            last_sender_report: 0xAABB_CCDD,
            delay_since_last_sender_report: 65536,
        }
    }

    #[test]
    fn compound_round_trip() {
        let packets = vec![
            RtcpPacket::SenderReport(SenderReport {
                ssrc: 1,
                ntp_timestamp: 0x0123_4567_89AB_CDEF,
                rtp_timestamp: 160_000,
                packet_count: 1000,
                octet_count: 160_000,
                reports: vec![block(2)],
            }),
            RtcpPacket::SourceDescription(vec![SdesChunk {
                ssrc: 1,
                cname: Some("hotline@192.0.2.1".into()),
            }]),
            RtcpPacket::Bye(Bye {
                sources: vec![1],
                reason: Some("call ended".into()),
            }),
        ];
        let bytes = write_compound(&packets).unwrap();
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(parse_compound(&bytes).unwrap(), packets);
        assert_eq!(ntp_middle(0x0123_4567_89AB_CDEF), 0x4567_89AB);
    }

    #[test]
    fn receiver_report_layout() {
        let rr = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 0x0102_0304,
            reports: vec![block(5), block(6)],
        });
        let bytes = write_compound(std::slice::from_ref(&rr)).unwrap();
        assert_eq!(bytes.len(), 8 + 2 * 24);
        assert_eq!(bytes[0], 0x82);
        assert_eq!(bytes[1], PT_RR);
        assert_eq!(read_u16(&bytes, 2) as usize, bytes.len() / 4 - 1);
        // Cumulative loss -3 as 24-bit two's complement after the fraction.
        assert_eq!(&bytes[12..16], &[25, 0xFF, 0xFF, 0xFD]);
        assert_eq!(parse_compound(&bytes).unwrap(), vec![rr]);
    }

    #[test]
    fn keeps_unknown_packets_and_trailing_padding() {
        // An APP packet (204) with a 4-byte body, padded in the last packet.
        let bytes = [0xA0 | 1, 204, 0, 2, 1, 2, 3, 4, 0, 0, 0, 4];
        let packets = parse_compound(&bytes).unwrap();
        assert_eq!(
            packets,
            vec![RtcpPacket::Other {
                packet_type: 204,
                count: 1,
                body: vec![1, 2, 3, 4],
            }]
        );
    }

    #[test]
    fn rejects_malformed_compounds() {
        assert_eq!(parse_compound(&[]), Err(RtcpError::TooShort));
        assert_eq!(
            parse_compound(&[0x40, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::WrongVersion(1))
        );
        assert_eq!(
            parse_compound(&[0x80, 201, 0, 5, 0, 0, 0, 0]),
            Err(RtcpError::LengthOverrun)
        );
        // One report block announced, none present.
        assert_eq!(
            parse_compound(&[0x81, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::CountOverrun)
        );
        // Padding on a packet that is not the last.
        let mut bytes = vec![0xA0, 201, 0, 1, 0, 0, 0, 4];
        bytes.extend_from_slice(&[0x80, 201, 0, 1, 0, 0, 0, 0]);
        assert_eq!(parse_compound(&bytes), Err(RtcpError::BadPadding));
        // A trailing fragment too short for a header.
        let mut bytes = vec![0x80, 201, 0, 1, 0, 0, 0, 0];
        bytes.extend_from_slice(&[0x80, 201]);
        assert_eq!(parse_compound(&bytes), Err(RtcpError::TooShort));
        let many: Vec<u8> = (0..MAX_COMPOUND_PACKETS + 1)
            .flat_map(|_| [0x80, 201, 0, 1, 0, 0, 0, 0])
            .collect();
        assert_eq!(parse_compound(&many), Err(RtcpError::TooManyPackets));
    }

    #[test]
    fn refuses_to_print_too_many_blocks() {
        let rr = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![block(1); 32],
        });
        assert_eq!(write_compound(&[rr]), Err(RtcpError::TooManyItems));
    }
}
