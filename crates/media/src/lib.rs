//! hotline's media core, sans-IO: everything a call's audio needs between the socket and the
//! call flow, as pure functions and small state machines.
//!
//! - [`g711`]: PCMU and PCMA ([`g711::Codec`]), bit-exact with ITU-T G.711.
//! - [`rtp`]: the RTP packet ([`rtp::RtpPacket`]), receiver statistics
//!   ([`rtp::ReceiverStats`]) and RTCP SR/RR/SDES/BYE ([`rtp::rtcp`]).
//! - [`sdp`]: SDP ([`sdp::SessionDescription`]) and RFC 3264 offer/answer for audio
//!   ([`sdp::build_offer`], [`sdp::build_answer`], [`sdp::accept_answer`]).
//! - [`dtmf`]: RFC 4733 telephone events ([`dtmf::DtmfReceiver`], [`dtmf::send_digit`]).
//! - [`goertzel`]: in-band DTMF detection ([`goertzel::DtmfDetector`]).
//! - [`wav`]: reading prompts ([`wav::read_wav`]) and writing recordings
//!   ([`wav::WavWriter`], [`wav::header`]).
//! - [`playout`]: prompt playback in 20 ms frames ([`playout::PromptPlayer`]) and mixing.
//! - [`call`]: one call's anchored RTP: latching, prompts, digits, relay, recording and
//!   RTCP reports sent and received ([`call::CallMedia`]).
//! - [`announce`]: queue position and wait announcements in Mandarin and English
//!   ([`announce::Announcement`]).
//!
//! Nothing here opens a socket or a file, reads a clock, spawns a thread or draws a random
//! number: bytes and times come in as arguments (milliseconds on the driver's clock, or RTP
//! timestamps), and what to send comes back as values. The per-packet paths (G.711, RTP
//! parse and print, telephone-event parsing, DTMF detection, frame playout) do not allocate.
//!
//! ```
//! use hotline_media::{g711::Codec, rtp::RtpPacket};
//! let samples = [0i16; 160];
//! let mut payload = [0u8; 160];
//! Codec::Pcma.encode(&samples, &mut payload);
//! let packet = RtpPacket::new(Codec::Pcma.payload_type(), 1, 160, 0x1234, &payload);
//! let mut datagram = [0u8; 172];
//! let len = packet.write(&mut datagram).unwrap();
//! assert_eq!(RtpPacket::parse(&datagram[..len]).unwrap().payload[0], 0xD5);
//! ```

#![warn(missing_docs)]

pub mod announce;
pub mod call;
pub mod dtmf;
pub mod g711;
pub mod goertzel;
pub mod playout;
pub mod rtp;
pub mod sdp;
pub mod wav;
