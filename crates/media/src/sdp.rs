//! SDP (RFC 4566) as telephony uses it, and RFC 3264 offer/answer for one audio stream.
//!
//! The model is [`SessionDescription`] with its [`MediaDescription`]s; lines this crate does
//! not interpret (`i=`, `b=`, `k=`, unknown attributes, unknown type letters) are kept and
//! printed back in the order RFC 4566 §5 prescribes, so a description survives a round trip.
//! The parser accepts LF-only line ends and trailing whitespace, because real devices send
//! both, but refuses what it cannot read safely (a line without `x=`, a bad `m=`, `o=` or
//! `c=`) and anything over the limits ([`MAX_SDP_BYTES`], [`MAX_LINES`], [`MAX_MEDIA`],
//! [`MAX_FORMATS`]).
//!
//! Offer/answer: [`build_offer`] writes our offer, [`build_answer`] answers a remote offer,
//! [`accept_answer`] reads the answer to our offer; each returns a [`NegotiatedAudio`] that
//! says what to send where. The codec rule is in [`CodecOrder`].

use std::fmt;

use crate::g711::Codec;

/// The largest description accepted, in bytes. A telephony offer is a few hundred bytes; an
/// offer with video, ICE and crypto stays under 4 KiB.
pub const MAX_SDP_BYTES: usize = 16 * 1024;
/// The most lines in one description.
pub const MAX_LINES: usize = 512;
/// The most media lines in one description.
pub const MAX_MEDIA: usize = 8;
/// The most formats on one media line.
pub const MAX_FORMATS: usize = 32;
/// The payload type we offer telephone-event with; any dynamic one would do, and 101 is the
/// number most peers use, which makes traces easier to read.
pub const DEFAULT_TELEPHONE_EVENT_PT: u8 = 101;
/// The events we offer (RFC 4733 §3.2: DTMF 0-9, *, #, A-D and flash).
pub const TELEPHONE_EVENT_FMTP: &str = "0-16";
/// The packetisation time we ask for.
pub const DEFAULT_PTIME_MS: u32 = 20;

/// What is wrong with a description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdpErrorKind {
    /// Larger than [`MAX_SDP_BYTES`].
    TooLarge,
    /// More than [`MAX_LINES`] lines.
    TooManyLines,
    /// More than [`MAX_MEDIA`] media lines.
    TooManyMedia,
    /// More than [`MAX_FORMATS`] formats on a media line.
    TooManyFormats,
    /// The bytes are not UTF-8.
    NotUtf8,
    /// A line is not of the form `x=value`.
    Malformed,
    /// The first line is not `v=0`.
    Version,
    /// `o=` is absent or cannot be read.
    Origin,
    /// A `c=` line cannot be read.
    Connection,
    /// A `t=` line cannot be read.
    Timing,
    /// An `m=` line cannot be read.
    Media,
}

/// A description that cannot be used, with the (1-based) line at fault, 0 when it is about
/// the whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SdpError {
    /// What is wrong.
    pub kind: SdpErrorKind,
    /// The line number, 1-based, or 0.
    pub line: usize,
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SDP {:?} at line {}", self.kind, self.line)
    }
}

impl std::error::Error for SdpError {}

fn fail<T>(kind: SdpErrorKind, line: usize) -> Result<T, SdpError> {
    Err(SdpError { kind, line })
}

/// The `o=` line: who made the description and which version of it this is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The user name, `-` when there is none.
    pub username: String,
    /// The session id, fixed for the session's life.
    pub session_id: u64,
    /// The version, increased by every new offer or answer that changes the session.
    pub session_version: u64,
    /// The network type, `IN`.
    pub net_type: String,
    /// The address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// The address of the machine that made the description.
    pub address: String,
}

/// A `c=` line: where media goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The network type, `IN`.
    pub net_type: String,
    /// The address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// The address (with `/ttl` for multicast, kept as written).
    pub address: String,
}

impl Connection {
    /// A connection for an IPv4 or IPv6 address (the type follows from a `:` in it).
    pub fn new(address: &str) -> Connection {
        Connection {
            net_type: "IN".into(),
            addr_type: addr_type(address).into(),
            address: address.into(),
        }
    }

    /// Whether this is the RFC 2543 hold address (`0.0.0.0`), which old devices still send.
    pub fn is_hold(&self) -> bool {
        self.address == "0.0.0.0" || self.address == "::"
    }
}

fn addr_type(address: &str) -> &'static str {
    if address.contains(':') {
        "IP6"
    } else {
        "IP4"
    }
}

/// An `a=` line: a name and, after a colon, an optional value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The name (before the colon).
    pub name: String,
    /// The value (after the colon), if any.
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute (`a=sendrecv`).
    pub fn flag(name: &str) -> Attribute {
        Attribute {
            name: name.into(),
            value: None,
        }
    }

    /// A value attribute (`a=ptime:20`).
    pub fn value(name: &str, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

/// The media direction attributes of RFC 3264 §5.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Both ways (the default when none is given).
    SendRecv,
    /// Only from the writer of the description.
    SendOnly,
    /// Only to the writer of the description.
    RecvOnly,
    /// Neither way.
    Inactive,
}

impl Direction {
    /// The direction for an attribute name, if it is one.
    pub fn from_name(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction from whether the writer sends and receives.
    pub fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether the writer sends.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the writer receives.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other side: sendonly becomes recvonly and back.
    pub fn reversed(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }
}

/// An `a=rtpmap` value: what a payload type number stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpMap {
    /// The payload type.
    pub payload_type: u8,
    /// The encoding name as written (`PCMU`, `telephone-event`).
    pub encoding: String,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// The channels, when given.
    pub channels: Option<u32>,
}

impl RtpMap {
    /// Reads an `a=rtpmap` value (`0 PCMU/8000`).
    pub fn parse(value: &str) -> Option<RtpMap> {
        let (pt, rest) = value.trim().split_once(char::is_whitespace)?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next()?.to_string();
        let clock_rate = parts.next()?.trim().parse().ok()?;
        let channels = match parts.next() {
            Some(c) => Some(c.trim().parse().ok()?),
            None => None,
        };
        Some(RtpMap {
            payload_type: pt.parse().ok()?,
            encoding,
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(channels) = self.channels {
            write!(f, "/{channels}")?;
        }
        Ok(())
    }
}

/// One `m=` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaDescription {
    /// The media type (`audio`, `video`, …).
    pub media: String,
    /// The transport port; 0 means the stream is rejected or disabled.
    pub port: u16,
    /// The number of ports, when written (`49170/2`).
    pub port_count: Option<u16>,
    /// The transport protocol (`RTP/AVP`).
    pub protocol: String,
    /// The formats: payload type numbers for RTP.
    pub formats: Vec<String>,
    /// The media-level `c=`, which overrides the session's.
    pub connection: Option<Connection>,
    /// The `a=` lines in order.
    pub attributes: Vec<Attribute>,
    /// Other lines (`i=`, `b=`, `k=`, unknown letters), kept in order to print back.
    pub other: Vec<(char, String)>,
}

impl MediaDescription {
    /// The value of the first attribute of this name (`None` also for a flag without value).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.value.as_deref())
    }

    /// The direction attribute given at media level, if any.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes
            .iter()
            .rev()
            .find_map(|a| Direction::from_name(&a.name))
    }

    /// The `a=rtpmap` for a payload type, if given.
    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap> {
        self.attributes
            .iter()
            .filter(|a| a.name == "rtpmap")
            .filter_map(|a| RtpMap::parse(a.value.as_deref()?))
            .find(|m| m.payload_type == payload_type)
    }

    /// The `a=fmtp` parameters for a payload type, if given.
    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.attributes
            .iter()
            .filter(|a| a.name == "fmtp")
            .filter_map(|a| a.value.as_deref())
            .find_map(|v| {
                let (pt, params) = v.split_once(char::is_whitespace)?;
                (pt.parse() == Ok(payload_type)).then(|| params.trim())
            })
    }

    /// The `a=ptime` in milliseconds, if given and readable.
    pub fn ptime_ms(&self) -> Option<u32> {
        self.attribute("ptime")?.trim().parse().ok()
    }

    /// The RTP payload types among the formats (non-numeric formats are skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }

    /// Which of our G.711 codecs a payload type stands for here: the `a=rtpmap` decides when
    /// present (case-insensitive name, 8000 Hz, mono), else the static table of RFC 3551.
    pub fn codec_of(&self, payload_type: u8) -> Option<Codec> {
        match self.rtpmap(payload_type) {
            Some(map) => {
                let mono = map.channels.is_none_or(|c| c == 1);
                if map.clock_rate == 8000 && mono {
                    Codec::from_encoding_name(&map.encoding)
                } else {
                    None
                }
            }
            None => Codec::from_payload_type(payload_type),
        }
    }

    /// The payload type of telephone-event at 8000 Hz, if offered.
    pub fn telephone_event(&self) -> Option<u8> {
        self.payload_types().find(|&pt| {
            self.rtpmap(pt).is_some_and(|m| {
                m.encoding.eq_ignore_ascii_case("telephone-event") && m.clock_rate == 8000
            })
        })
    }
}

/// A session description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` line.
    pub origin: Origin,
    /// The `s=` line (`-` when the writer had nothing to say, or left it out).
    pub session_name: String,
    /// The session-level `c=`.
    pub connection: Option<Connection>,
    /// The first `t=` line: start and stop times, `0 0` for a phone call.
    pub timing: (u64, u64),
    /// The session-level `a=` lines.
    pub attributes: Vec<Attribute>,
    /// The media sections in order.
    pub media: Vec<MediaDescription>,
    /// Other session-level lines (`i=`, `u=`, `e=`, `p=`, `b=`, `r=`, `z=`, `k=`, further
    /// `t=`, unknown letters), kept in order to print back.
    pub other: Vec<(char, String)>,
}

impl SessionDescription {
    /// Parses a description from a SIP body.
    pub fn parse_bytes(bytes: &[u8]) -> Result<SessionDescription, SdpError> {
        if bytes.len() > MAX_SDP_BYTES {
            return fail(SdpErrorKind::TooLarge, 0);
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => SessionDescription::parse(text),
            Err(_) => fail(SdpErrorKind::NotUtf8, 0),
        }
    }

    /// Parses a description.
    pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
        use SdpErrorKind as K;
        if text.len() > MAX_SDP_BYTES {
            return fail(K::TooLarge, 0);
        }
        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut timing = None;
        let mut attributes = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();
        let mut other = Vec::new();
        let mut seen_version = false;
        let mut count = 0;
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let line = raw.trim_end();
            if line.is_empty() {
                continue;
            }
            count += 1;
            if count > MAX_LINES {
                return fail(K::TooManyLines, number);
            }
            let bytes = line.as_bytes();
            if bytes.len() < 2 || !bytes[0].is_ascii_alphabetic() || bytes[1] != b'=' {
                return fail(K::Malformed, number);
            }
            let letter = bytes[0] as char;
            let value = &line[2..];
            if !seen_version {
                if letter != 'v' || value.trim() != "0" {
                    return fail(K::Version, number);
                }
                seen_version = true;
                continue;
            }
            if letter == 'm' {
                if media.len() == MAX_MEDIA {
                    return fail(K::TooManyMedia, number);
                }
                media.push(parse_media(value, number)?);
                continue;
            }
            if let Some(current) = media.last_mut() {
                match letter {
                    'c' if current.connection.is_none() => {
                        current.connection = Some(parse_connection(value, number)?);
                    }
                    'a' => current.attributes.push(parse_attribute(value)),
                    _ => current.other.push((letter, value.to_string())),
                }
                continue;
            }
            match letter {
                'o' if origin.is_none() => origin = Some(parse_origin(value, number)?),
                's' if session_name.is_none() => session_name = Some(value.to_string()),
                'c' if connection.is_none() => {
                    connection = Some(parse_connection(value, number)?);
                }
                't' if timing.is_none() => {
                    let mut parts = value.split_whitespace().map(str::parse::<u64>);
                    match (parts.next(), parts.next()) {
                        (Some(Ok(start)), Some(Ok(stop))) => timing = Some((start, stop)),
                        _ => return fail(K::Timing, number),
                    }
                }
                'a' => attributes.push(parse_attribute(value)),
                _ => other.push((letter, value.to_string())),
            }
        }
        if !seen_version {
            return fail(K::Version, 0);
        }
        let Some(origin) = origin else {
            return fail(K::Origin, 0);
        };
        Ok(SessionDescription {
            origin,
            session_name: session_name.unwrap_or_else(|| "-".into()),
            connection,
            timing: timing.unwrap_or((0, 0)),
            attributes,
            media,
            other,
        })
    }

    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes
            .iter()
            .rev()
            .find_map(|a| Direction::from_name(&a.name))
    }

    /// The direction in force for a media section: its own attribute, else the session's,
    /// else sendrecv (RFC 3264 §5.1).
    pub fn direction_of(&self, media: &MediaDescription) -> Direction {
        media
            .direction()
            .or(self.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection in force for a media section: its own, else the session's.
    pub fn connection_of<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// Prints the description with CRLF line ends.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

fn parse_origin(value: &str, line: usize) -> Result<Origin, SdpError> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if parts.len() != 6 {
        return fail(SdpErrorKind::Origin, line);
    }
    let (Ok(session_id), Ok(session_version)) = (parts[1].parse(), parts[2].parse()) else {
        return fail(SdpErrorKind::Origin, line);
    };
    Ok(Origin {
        username: parts[0].into(),
        session_id,
        session_version,
        net_type: parts[3].into(),
        addr_type: parts[4].into(),
        address: parts[5].into(),
    })
}

fn parse_connection(value: &str, line: usize) -> Result<Connection, SdpError> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if parts.len() != 3 {
        return fail(SdpErrorKind::Connection, line);
    }
    Ok(Connection {
        net_type: parts[0].into(),
        addr_type: parts[1].into(),
        address: parts[2].into(),
    })
}

fn parse_attribute(value: &str) -> Attribute {
    match value.split_once(':') {
        Some((name, value)) => Attribute::value(name, value),
        None => Attribute::flag(value),
    }
}

fn parse_media(value: &str, line: usize) -> Result<MediaDescription, SdpError> {
    let mut parts = value.split_whitespace();
    let (Some(media), Some(port), Some(protocol)) = (parts.next(), parts.next(), parts.next())
    else {
        return fail(SdpErrorKind::Media, line);
    };
    let (port, port_count) = match port.split_once('/') {
        Some((port, count)) => (port, Some(count)),
        None => (port, None),
    };
    let Ok(port) = port.parse() else {
        return fail(SdpErrorKind::Media, line);
    };
    let port_count = match port_count.map(str::parse) {
        None => None,
        Some(Ok(count)) => Some(count),
        Some(Err(_)) => return fail(SdpErrorKind::Media, line),
    };
    let mut formats = Vec::new();
    for format in parts {
        if formats.len() == MAX_FORMATS {
            return fail(SdpErrorKind::TooManyFormats, line);
        }
        formats.push(format.to_string());
    }
    Ok(MediaDescription {
        media: media.into(),
        port,
        port_count,
        protocol: protocol.into(),
        formats,
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    })
}

fn write_other(f: &mut fmt::Formatter<'_>, other: &[(char, String)], letters: &str) -> fmt::Result {
    for (letter, value) in other {
        if letters.contains(*letter) {
            write!(f, "{letter}={value}\r\n")?;
        }
    }
    Ok(())
}

fn write_other_rest(
    f: &mut fmt::Formatter<'_>,
    other: &[(char, String)],
    known: &str,
) -> fmt::Result {
    for (letter, value) in other {
        if !known.contains(*letter) {
            write!(f, "{letter}={value}\r\n")?;
        }
    }
    Ok(())
}

fn write_attributes(f: &mut fmt::Formatter<'_>, attributes: &[Attribute]) -> fmt::Result {
    for a in attributes {
        match &a.value {
            Some(value) => write!(f, "a={}:{}\r\n", a.name, value)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}

impl fmt::Display for SessionDescription {
    /// Lines in RFC 4566 §5 order: v o s i u e p c b t r z k a, then each m i c b k a.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        write_other(f, &self.other, "iuep")?;
        if let Some(c) = &self.connection {
            write!(f, "c={} {} {}\r\n", c.net_type, c.addr_type, c.address)?;
        }
        write_other(f, &self.other, "b")?;
        write!(f, "t={} {}\r\n", self.timing.0, self.timing.1)?;
        write_other(f, &self.other, "trz")?;
        write_other(f, &self.other, "k")?;
        write_other_rest(f, &self.other, "iuepbtrzk")?;
        write_attributes(f, &self.attributes)?;
        for m in &self.media {
            write!(f, "m={} {}", m.media, m.port)?;
            if let Some(count) = m.port_count {
                write!(f, "/{count}")?;
            }
            write!(f, " {}", m.protocol)?;
            for format in &m.formats {
                write!(f, " {format}")?;
            }
            write!(f, "\r\n")?;
            write_other(f, &m.other, "i")?;
            if let Some(c) = &m.connection {
                write!(f, "c={} {} {}\r\n", c.net_type, c.addr_type, c.address)?;
            }
            write_other(f, &m.other, "bk")?;
            write_other_rest(f, &m.other, "ibk")?;
            write_attributes(f, &m.attributes)?;
        }
        Ok(())
    }
}

/// Which side's codec preference wins when answering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CodecOrder {
    /// The first format in the offer that we support. This is the default because RFC 3264
    /// §6.1 recommends that the answerer keep the offerer's order, and because the offerer is
    /// usually the carrier's trunk, which lists first what its network carries without
    /// transcoding; PCMU and PCMA cost us the same.
    #[default]
    Offerer,
    /// The first of our codecs, in our order, that the offer contains: for a deployment that
    /// must record in one law whatever the trunk prefers.
    Ours,
}

/// Our side of a negotiation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaPolicy {
    /// The codecs we accept, most preferred first.
    pub codecs: Vec<Codec>,
    /// Whose order decides (see [`CodecOrder`]).
    pub codec_order: CodecOrder,
    /// Whether we offer and accept RFC 4733 telephone-event.
    pub telephone_event: bool,
    /// The payload type we use for telephone-event in our own offers.
    pub telephone_event_payload_type: u8,
    /// The packetisation we ask for, in milliseconds.
    pub ptime_ms: u32,
    /// The direction we want: sendrecv, or sendonly/inactive to hold the other side.
    pub direction: Direction,
}

impl Default for MediaPolicy {
    fn default() -> MediaPolicy {
        MediaPolicy {
            codecs: vec![Codec::Pcma, Codec::Pcmu],
            codec_order: CodecOrder::Offerer,
            telephone_event: true,
            telephone_event_payload_type: DEFAULT_TELEPHONE_EVENT_PT,
            ptime_ms: DEFAULT_PTIME_MS,
            direction: Direction::SendRecv,
        }
    }
}

/// Our media endpoint as the description should state it. The driver supplies the session
/// id and version (from its seeded generator and its own counter), so nothing here is random.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMedia {
    /// The address our RTP socket is reachable on.
    pub address: String,
    /// The RTP port (RTCP is on the next one).
    pub port: u16,
    /// The `o=` session id.
    pub session_id: u64,
    /// The `o=` session version.
    pub session_version: u64,
}

/// The outcome of a negotiation: what to send, where, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiatedAudio {
    /// The audio codec.
    pub codec: Codec,
    /// Its payload type on this call (normally the static one).
    pub payload_type: u8,
    /// The telephone-event payload type, if both sides use it.
    pub telephone_event: Option<u8>,
    /// Where to send RTP.
    pub remote_address: String,
    /// The remote RTP port.
    pub remote_port: u16,
    /// Our direction: whether we send and receive.
    pub direction: Direction,
    /// The packetisation the other side asked for, if it did.
    pub remote_ptime_ms: Option<u32>,
    /// Whether the other side put us on hold (sendonly, inactive or `c=0.0.0.0`).
    pub remote_hold: bool,
}

/// The answer to a remote offer: the description to send back and, if an audio stream was
/// accepted, what was agreed. `audio` is `None` when nothing was in common; every media line
/// of `description` then has port 0, and the call should be refused (488) or the re-INVITE
/// answered with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The answer to send.
    pub description: SessionDescription,
    /// What was agreed.
    pub audio: Option<NegotiatedAudio>,
}

fn base_description(local: &LocalMedia) -> SessionDescription {
    SessionDescription {
        origin: Origin {
            username: "hotline".into(),
            session_id: local.session_id,
            session_version: local.session_version,
            net_type: "IN".into(),
            addr_type: addr_type(&local.address).into(),
            address: local.address.clone(),
        },
        session_name: "-".into(),
        connection: Some(Connection::new(&local.address)),
        timing: (0, 0),
        attributes: Vec::new(),
        media: Vec::new(),
        other: Vec::new(),
    }
}

fn audio_media(port: u16, formats: &[(u8, RtpMap)], fmtp: Option<(u8, &str)>) -> MediaDescription {
    let mut attributes: Vec<Attribute> = formats
        .iter()
        .map(|(_, map)| Attribute::value("rtpmap", map.to_string()))
        .collect();
    if let Some((pt, params)) = fmtp {
        attributes.push(Attribute::value("fmtp", format!("{pt} {params}")));
    }
    MediaDescription {
        media: "audio".into(),
        port,
        port_count: None,
        protocol: "RTP/AVP".into(),
        formats: formats.iter().map(|(pt, _)| pt.to_string()).collect(),
        connection: None,
        attributes,
        other: Vec::new(),
    }
}

fn codec_map(codec: Codec, payload_type: u8) -> (u8, RtpMap) {
    (
        payload_type,
        RtpMap {
            payload_type,
            encoding: codec.encoding_name().into(),
            clock_rate: 8000,
            channels: None,
        },
    )
}

fn event_map(payload_type: u8) -> (u8, RtpMap) {
    (
        payload_type,
        RtpMap {
            payload_type,
            encoding: "telephone-event".into(),
            clock_rate: 8000,
            channels: None,
        },
    )
}

/// Our offer: one audio stream with our codecs in our order, telephone-event if enabled,
/// `a=ptime` and our direction.
pub fn build_offer(local: &LocalMedia, policy: &MediaPolicy) -> SessionDescription {
    let mut sdp = base_description(local);
    let mut formats: Vec<(u8, RtpMap)> = policy
        .codecs
        .iter()
        .map(|&c| codec_map(c, c.payload_type()))
        .collect();
    let mut fmtp = None;
    if policy.telephone_event {
        let pt = policy.telephone_event_payload_type;
        formats.push(event_map(pt));
        fmtp = Some((pt, TELEPHONE_EVENT_FMTP));
    }
    let mut media = audio_media(local.port, &formats, fmtp);
    media
        .attributes
        .push(Attribute::value("ptime", policy.ptime_ms.to_string()));
    media
        .attributes
        .push(Attribute::flag(policy.direction.as_str()));
    sdp.media.push(media);
    sdp
}

/// Whether a description puts its receiver on hold: its writer will not receive on its first
/// active audio stream (sendonly, typically with music, or inactive), or its connection address is `0.0.0.0` (RFC 3264 §8.4 and the older
/// RFC 2543 convention).
pub fn is_hold(sdp: &SessionDescription) -> bool {
    sdp.media
        .iter()
        .find(|m| m.media == "audio" && m.port != 0)
        .is_some_and(|m| {
            !sdp.direction_of(m).receives() || sdp.connection_of(m).is_some_and(Connection::is_hold)
        })
}

fn choose_codec(offer: &MediaDescription, policy: &MediaPolicy) -> Option<(Codec, u8)> {
    match policy.codec_order {
        CodecOrder::Offerer => offer.payload_types().find_map(|pt| {
            let codec = offer.codec_of(pt)?;
            policy.codecs.contains(&codec).then_some((codec, pt))
        }),
        CodecOrder::Ours => policy.codecs.iter().find_map(|&codec| {
            offer
                .payload_types()
                .find(|&pt| offer.codec_of(pt) == Some(codec))
                .map(|pt| (codec, pt))
        }),
    }
}

/// Answers a remote offer (RFC 3264 §6): one answer line per offered line, in order. The
/// first audio stream over RTP/AVP with a codec in common is accepted with exactly one codec
/// (chosen by [`MediaPolicy::codec_order`]) plus telephone-event under the offerer's payload
/// number; every other line is rejected with port 0. Our direction is the offer's reversed,
/// narrowed by [`MediaPolicy::direction`]; a `c=0.0.0.0` offer also stops us sending.
pub fn build_answer(
    offer: &SessionDescription,
    local: &LocalMedia,
    policy: &MediaPolicy,
) -> Answer {
    let mut sdp = base_description(local);
    let mut audio = None;
    for offered in &offer.media {
        let usable = audio.is_none()
            && offered.media == "audio"
            && offered.port != 0
            && offered.protocol.eq_ignore_ascii_case("RTP/AVP");
        let chosen = if usable {
            choose_codec(offered, policy)
        } else {
            None
        };
        let Some((codec, payload_type)) = chosen else {
            sdp.media.push(MediaDescription {
                media: offered.media.clone(),
                port: 0,
                port_count: None,
                protocol: offered.protocol.clone(),
                formats: offered.formats.clone(),
                connection: None,
                attributes: Vec::new(),
                other: Vec::new(),
            });
            continue;
        };
        let connection = offer.connection_of(offered);
        let held_by_address = connection.is_some_and(Connection::is_hold);
        let offered_direction = offer.direction_of(offered);
        let mine = offered_direction.reversed();
        let direction = Direction::from_flags(
            mine.sends() && policy.direction.sends() && !held_by_address,
            mine.receives() && policy.direction.receives(),
        );
        let telephone_event = if policy.telephone_event {
            offered.telephone_event()
        } else {
            None
        };
        let mut formats = vec![codec_map(codec, payload_type)];
        let mut fmtp = None;
        if let Some(pt) = telephone_event {
            formats.push(event_map(pt));
            fmtp = offered.fmtp(pt).map(|params| (pt, params));
        }
        let mut media = audio_media(local.port, &formats, fmtp);
        media
            .attributes
            .push(Attribute::value("ptime", policy.ptime_ms.to_string()));
        media.attributes.push(Attribute::flag(direction.as_str()));
        sdp.media.push(media);
        audio = Some(NegotiatedAudio {
            codec,
            payload_type,
            telephone_event,
            remote_address: connection.map(|c| c.address.clone()).unwrap_or_default(),
            remote_port: offered.port,
            direction,
            remote_ptime_ms: offered.ptime_ms(),
            remote_hold: !offered_direction.receives() || held_by_address,
        });
    }
    Answer {
        description: sdp,
        audio,
    }
}

/// Reads the answer to our offer: the first accepted audio stream, its first format that we
/// support (the answerer's preference), its telephone-event number, and our direction as the
/// answer's reversed. `None` when the answer rejected audio or chose nothing we offered.
pub fn accept_answer(answer: &SessionDescription, policy: &MediaPolicy) -> Option<NegotiatedAudio> {
    let media = answer
        .media
        .iter()
        .find(|m| m.media == "audio" && m.port != 0)?;
    let (codec, payload_type) = media.payload_types().find_map(|pt| {
        let codec = media.codec_of(pt)?;
        policy.codecs.contains(&codec).then_some((codec, pt))
    })?;
    let connection = answer.connection_of(media);
    let held_by_address = connection.is_some_and(Connection::is_hold);
    let answered = answer.direction_of(media);
    let mine = answered.reversed();
    Some(NegotiatedAudio {
        codec,
        payload_type,
        telephone_event: if policy.telephone_event {
            media.telephone_event()
        } else {
            None
        },
        remote_address: connection.map(|c| c.address.clone()).unwrap_or_default(),
        remote_port: media.port,
        direction: Direction::from_flags(mine.sends() && !held_by_address, mine.receives()),
        remote_ptime_ms: media.ptime_ms(),
        remote_hold: !answered.receives() || held_by_address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\n\
o=carrier 123456 654321 IN IP4 203.0.113.5\r\n\
s=SIP Call\r\n\
c=IN IP4 203.0.113.5\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 18 0 8 96\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

    fn local() -> LocalMedia {
        LocalMedia {
            address: "192.0.2.10".into(),
            port: 30000,
            session_id: 42,
            session_version: 1,
        }
    }

    #[test]
    fn parses_a_carrier_offer() {
        let sdp = SessionDescription::parse(OFFER).unwrap();
        assert_eq!(sdp.origin.session_id, 123456);
        assert_eq!(sdp.session_name, "SIP Call");
        assert_eq!(sdp.connection.as_ref().unwrap().address, "203.0.113.5");
        let m = &sdp.media[0];
        assert_eq!(m.port, 40000);
        assert_eq!(m.formats, ["18", "0", "8", "96"]);
        assert_eq!(m.codec_of(0), Some(Codec::Pcmu));
        assert_eq!(m.codec_of(18), None);
        assert_eq!(m.telephone_event(), Some(96));
        assert_eq!(m.fmtp(96), Some("0-15"));
        assert_eq!(m.fmtp(18), Some("annexb=no"));
        assert_eq!(m.ptime_ms(), Some(20));
        assert_eq!(sdp.direction_of(m), Direction::SendRecv);
        assert_eq!(sdp.to_string(), OFFER);
    }

    #[test]
    fn tolerates_lf_only_and_keeps_unknown_lines_in_order() {
        let text = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\ni=info\nc=IN IP4 10.0.0.1\n\
b=AS:64\nt=0 0\nx=whatever\na=tool:phone\nm=audio 5004 RTP/AVP 0\nb=TIAS:64000\n\
a=custom:1\n\n";
        let sdp = SessionDescription::parse(text).unwrap();
        assert_eq!(sdp.other.len(), 3);
        assert_eq!(sdp.media[0].other, vec![('b', "TIAS:64000".to_string())]);
        // No rtpmap for 0: the static table says PCMU.
        assert_eq!(sdp.media[0].codec_of(0), Some(Codec::Pcmu));
        let printed = sdp.to_string();
        assert_eq!(
            printed.replace("\r\n", "\n"),
            text.trim_end().to_string() + "\n"
        );
        assert_eq!(SessionDescription::parse(&printed).unwrap(), sdp);
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        let kind = |text: &str| SessionDescription::parse(text).unwrap_err();
        assert_eq!(kind("o=- 1 1 IN IP4 x\n").kind, SdpErrorKind::Version);
        assert_eq!(kind("v=0\ns=-\n").kind, SdpErrorKind::Origin);
        assert_eq!(kind("v=0\no=- x 1 IN IP4 a\n").kind, SdpErrorKind::Origin);
        let e = kind("v=0\no=- 1 1 IN IP4 a\nbogus\n");
        assert_eq!((e.kind, e.line), (SdpErrorKind::Malformed, 3));
        assert_eq!(
            kind("v=0\no=- 1 1 IN IP4 a\nc=IN IP4\n").kind,
            SdpErrorKind::Connection
        );
        assert_eq!(
            kind("v=0\no=- 1 1 IN IP4 a\nm=audio x RTP/AVP 0\n").kind,
            SdpErrorKind::Media
        );
        let many = format!(
            "v=0\no=- 1 1 IN IP4 a\n{}",
            "m=audio 1 RTP/AVP 0\n".repeat(MAX_MEDIA + 1)
        );
        assert_eq!(kind(&many).kind, SdpErrorKind::TooManyMedia);
        let formats: Vec<String> = (0..=MAX_FORMATS).map(|i| i.to_string()).collect();
        let wide = format!(
            "v=0\no=- 1 1 IN IP4 a\nm=audio 1 RTP/AVP {}\n",
            formats.join(" ")
        );
        assert_eq!(kind(&wide).kind, SdpErrorKind::TooManyFormats);
        let huge = format!("v=0\n{}", "a=x\n".repeat(MAX_SDP_BYTES / 4));
        assert_eq!(kind(&huge).kind, SdpErrorKind::TooLarge);
        let long = format!("v=0\no=- 1 1 IN IP4 a\n{}", "a=x\n".repeat(MAX_LINES));
        assert_eq!(kind(&long).kind, SdpErrorKind::TooManyLines);
        assert_eq!(
            SessionDescription::parse_bytes(b"v=0\n\xff")
                .unwrap_err()
                .kind,
            SdpErrorKind::NotUtf8
        );
    }

    #[test]
    fn answer_takes_the_offerers_first_common_codec_and_echoes_its_event_number() {
        let offer = SessionDescription::parse(OFFER).unwrap();
        let answer = build_answer(&offer, &local(), &MediaPolicy::default());
        let audio = answer.audio.unwrap();
        // The offer lists PCMU before PCMA; our default policy prefers PCMA, but the
        // offerer's order wins.
        assert_eq!(audio.codec, Codec::Pcmu);
        assert_eq!(audio.payload_type, 0);
        assert_eq!(audio.telephone_event, Some(96));
        assert_eq!(audio.remote_address, "203.0.113.5");
        assert_eq!(audio.remote_port, 40000);
        assert_eq!(audio.direction, Direction::SendRecv);
        assert!(!audio.remote_hold);
        let text = answer.description.to_string();
        assert!(text.contains("m=audio 30000 RTP/AVP 0 96\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:96 telephone-event/8000\r\n"));
        assert!(text.contains("a=fmtp:96 0-15\r\n"));
        assert!(text.contains("c=IN IP4 192.0.2.10\r\n"));
        // The answer is itself a valid description.
        let reparsed = SessionDescription::parse(&text).unwrap();
        assert_eq!(reparsed, answer.description);

        let ours = MediaPolicy {
            codec_order: CodecOrder::Ours,
            ..MediaPolicy::default()
        };
        assert_eq!(
            build_answer(&offer, &local(), &ours).audio.unwrap().codec,
            Codec::Pcma
        );
    }

    #[test]
    fn answer_reverses_direction_and_sees_hold() {
        for (offered, answered) in [
            ("sendonly", Direction::RecvOnly),
            ("inactive", Direction::Inactive),
            ("recvonly", Direction::SendOnly),
            ("sendrecv", Direction::SendRecv),
        ] {
            let offer = OFFER.replace("a=sendrecv", &format!("a={offered}"));
            let offer = SessionDescription::parse(&offer).unwrap();
            let answer = build_answer(&offer, &local(), &MediaPolicy::default());
            let audio = answer.audio.unwrap();
            assert_eq!(audio.direction, answered, "{offered}");
            assert_eq!(
                audio.remote_hold,
                matches!(offered, "sendonly" | "inactive")
            );
            assert_eq!(is_hold(&offer), audio.remote_hold);
            assert_eq!(
                answer
                    .description
                    .direction_of(&answer.description.media[0]),
                answered
            );
        }
        let old_style = OFFER.replace("c=IN IP4 203.0.113.5", "c=IN IP4 0.0.0.0");
        let old_style = SessionDescription::parse(&old_style).unwrap();
        assert!(is_hold(&old_style));
        let audio = build_answer(&old_style, &local(), &MediaPolicy::default())
            .audio
            .unwrap();
        assert!(audio.remote_hold);
        assert_eq!(audio.direction, Direction::RecvOnly);
    }

    #[test]
    fn answer_rejects_with_port_zero_when_nothing_is_common() {
        let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 18 9\r\na=rtpmap:18 G729/8000\r\nm=video 4002 RTP/AVP 97\r\n";
        let offer = SessionDescription::parse(offer).unwrap();
        let answer = build_answer(&offer, &local(), &MediaPolicy::default());
        assert_eq!(answer.audio, None);
        assert_eq!(answer.description.media.len(), 2);
        assert!(answer.description.media.iter().all(|m| m.port == 0));
        assert_eq!(answer.description.media[0].formats, ["18", "9"]);
        assert!(answer
            .description
            .to_string()
            .contains("m=video 0 RTP/AVP 97\r\n"));
    }

    #[test]
    fn answer_accepts_one_audio_stream_and_rejects_the_rest() {
        let offer = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\
m=audio 4000 RTP/SAVP 0\nm=audio 4002 RTP/AVP 8\nm=audio 4004 RTP/AVP 0\n";
        let offer = SessionDescription::parse(offer).unwrap();
        let answer = build_answer(&offer, &local(), &MediaPolicy::default());
        let ports: Vec<u16> = answer.description.media.iter().map(|m| m.port).collect();
        assert_eq!(ports, [0, 30000, 0]);
        let audio = answer.audio.unwrap();
        assert_eq!((audio.codec, audio.remote_port), (Codec::Pcma, 4002));
        assert_eq!(audio.telephone_event, None);
    }

    #[test]
    fn offer_and_answer_meet() {
        let policy = MediaPolicy::default();
        let offer = build_offer(&local(), &policy);
        let text = offer.to_string();
        assert!(text.contains("m=audio 30000 RTP/AVP 8 0 101\r\n"), "{text}");
        assert!(text.contains("a=fmtp:101 0-16\r\n"));
        assert!(text.contains("a=ptime:20\r\n"));
        assert!(!is_hold(&offer));
        let remote = LocalMedia {
            address: "198.51.100.7".into(),
            port: 50000,
            session_id: 7,
            session_version: 7,
        };
        let answer = build_answer(&offer, &remote, &policy);
        let theirs = answer.audio.unwrap();
        let ours = accept_answer(&answer.description, &policy).unwrap();
        assert_eq!(theirs.codec, ours.codec);
        assert_eq!(ours.codec, Codec::Pcma);
        assert_eq!(ours.telephone_event, Some(101));
        assert_eq!(ours.remote_address, "198.51.100.7");
        assert_eq!(ours.remote_port, 50000);
        assert_eq!(ours.direction, Direction::SendRecv);

        // Putting the other side on hold: we offer sendonly, it answers recvonly.
        let hold = MediaPolicy {
            direction: Direction::SendOnly,
            ..MediaPolicy::default()
        };
        let offer = build_offer(&local(), &hold);
        assert!(is_hold(&offer));
        let answer = build_answer(&offer, &remote, &policy);
        assert_eq!(answer.audio.unwrap().direction, Direction::RecvOnly);
        let ours = accept_answer(&answer.description, &hold).unwrap();
        assert_eq!(ours.direction, Direction::SendOnly);
    }

    #[test]
    fn rtpmap_and_direction_helpers() {
        let map = RtpMap::parse("96 opus/48000/2").unwrap();
        assert_eq!((map.clock_rate, map.channels), (48000, Some(2)));
        assert_eq!(map.to_string(), "96 opus/48000/2");
        assert_eq!(RtpMap::parse("x PCMU/8000"), None);
        assert_eq!(RtpMap::parse("0 PCMU"), None);
        assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
        assert_eq!(Direction::Inactive.reversed(), Direction::Inactive);
        // Lowercase names and a dynamic number for PCMA still count.
        let text = "v=0\no=- 1 1 IN IP4 a\nm=audio 1 RTP/AVP 110\na=rtpmap:110 pcma/8000\n";
        let sdp = SessionDescription::parse(text).unwrap();
        assert_eq!(sdp.media[0].codec_of(110), Some(Codec::Pcma));
    }
}
