//! The parser: bytes in, a [`Message`] or a classified [`ParseError`] out.
//!
//! Strict where safety needs it (the start line, the headers every transaction depends on,
//! Content-Length, sizes); tolerant where real devices deviate (compact and oddly cased header
//! names, folded lines, bare LF line ends, whitespace around colons, leading CRLF keep-alives,
//! a missing reason phrase, a missing Content-Length on a datagram).

use crate::message::{canonical_name, Header, Headers, Message, Request, Response};
use crate::values::{is_token, Method, Uri};

/// The largest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The most header lines in one message.
pub const MAX_HEADER_LINES: usize = 512;

/// What kind of problem a message has; a server answers 400 (or drops a bad response).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request or status line is malformed.
    StartLine,
    /// The version is not SIP/2.0.
    Version,
    /// The status code is not 100 to 699.
    Status,
    /// A header line is malformed, or a header every message needs cannot be read.
    Header,
    /// A header every message needs (Via, From, To, Call-ID, CSeq) is absent.
    Missing,
    /// The CSeq method is not the request's method.
    CSeqMethod,
    /// Content-Length says more than there is.
    Length,
    /// The message is larger than [`MAX_MESSAGE_BYTES`] or has too many header lines.
    TooLarge,
    /// The Request-URI cannot be read.
    Uri,
}

impl ErrorKind {
    /// A short name (`start_line`, `version`, …), as the test fixtures write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::StartLine => "start_line",
            ErrorKind::Version => "version",
            ErrorKind::Status => "status",
            ErrorKind::Header => "header",
            ErrorKind::Missing => "missing",
            ErrorKind::CSeqMethod => "cseq_method",
            ErrorKind::Length => "length",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Uri => "uri",
        }
    }
}

/// A message that cannot be used, with what is wrong in words (for a 400's reason phrase or
/// a log line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The kind.
    pub kind: ErrorKind,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for ParseError {}

fn fail<T>(kind: ErrorKind, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        kind,
        message: message.into(),
    })
}

/// Skips CRLF keep-alives before a message.
fn skip_keepalives(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len())
}

/// Where the header section ends and the body starts (after `\r\n\r\n`, or `\n\n`).
fn header_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    let lf = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Reads one message from a datagram (or from a frame cut by [`frame`]). Bytes after
/// Content-Length are ignored, as RFC 3261 §18.3 says for datagrams.
pub fn parse_message(bytes: &[u8]) -> Result<Message, ParseError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return fail(
            ErrorKind::TooLarge,
            format!("{} bytes; at most {MAX_MESSAGE_BYTES}", bytes.len()),
        );
    }
    let bytes = &bytes[skip_keepalives(bytes)..];
    if bytes.is_empty() {
        return fail(ErrorKind::StartLine, "empty message");
    }
    let (head_end, body_start) = header_end(bytes).ok_or_else(|| ParseError {
        kind: ErrorKind::Header,
        message: "no blank line after the headers".into(),
    })?;
    let first_line_end = bytes[..head_end]
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(head_end);
    if std::str::from_utf8(&bytes[..first_line_end]).is_err() {
        return fail(ErrorKind::StartLine, "the start line is not text (UTF-8)");
    }
    let head = std::str::from_utf8(&bytes[..head_end]).map_err(|_| ParseError {
        kind: ErrorKind::Header,
        message: "the headers are not UTF-8".into(),
    })?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().unwrap_or("");
    let headers = parse_headers(lines)?;
    let available = &bytes[body_start..];
    let lengths = headers.get_all("Content-Length");
    if lengths.len() > 1 && lengths.iter().any(|l| l.trim() != lengths[0].trim()) {
        // Two framings of one message: which one a peer believes decides where the next
        // message starts (request smuggling). Refuse.
        return fail(
            ErrorKind::Header,
            format!("Content-Length given twice: {lengths:?}"),
        );
    }
    let body = match headers.get("Content-Length") {
        Some(v) => {
            let len: usize = v.trim().parse().map_err(|_| ParseError {
                kind: ErrorKind::Header,
                message: format!("Content-Length {v:?} is not a number of bytes"),
            })?;
            if len > available.len() {
                return fail(
                    ErrorKind::Length,
                    format!("Content-Length {len} but {} bytes follow", available.len()),
                );
            }
            available[..len].to_vec()
        }
        None => available.to_vec(),
    };
    let message = if start.starts_with("SIP/") || start.starts_with("sip/") {
        let (status, reason) = parse_status_line(start)?;
        Message::Response(Response {
            status,
            reason,
            headers,
            body,
        })
    } else {
        let (method, uri) = parse_request_line(start)?;
        Message::Request(Request {
            method,
            uri,
            headers,
            body,
        })
    };
    check_mandatory(&message)?;
    Ok(message)
}

fn parse_request_line(line: &str) -> Result<(Method, Uri), ParseError> {
    // METHOD SP Request-URI SP SIP-Version, each SP exactly one: the method ends at the first
    // space, the version starts after the last; a space inside the URI is the URI's fault.
    let shape = || {
        fail(
            ErrorKind::StartLine,
            format!("a request line is METHOD SP Request-URI SP SIP/2.0, not {line:?}"),
        )
    };
    let (Some((method, rest)), Some((_, version))) = (line.split_once(' '), line.rsplit_once(' '))
    else {
        return shape();
    };
    let Some(uri) = rest.strip_suffix(version).and_then(|r| r.strip_suffix(' ')) else {
        return shape();
    };
    if uri.is_empty() || uri.starts_with(' ') || uri.ends_with(' ') || version.is_empty() {
        return shape();
    }
    if !is_token(method) {
        return fail(ErrorKind::StartLine, format!("{method:?} is not a method"));
    }
    check_version(version)?;
    let uri = Uri::parse(uri).map_err(|e| ParseError {
        kind: ErrorKind::Uri,
        message: e.0,
    })?;
    Ok((Method::from_token(method), uri))
}

fn check_version(version: &str) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    // `get`, not `[..4]`: byte 4 may fall inside a multi-byte character (`SIP／2.0`).
    let looks_like_sip = version.len() > 4
        && version
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        && version[4..].chars().all(|c| c.is_ascii_digit() || c == '.');
    if looks_like_sip {
        fail(ErrorKind::Version, format!("{version} is not SIP/2.0"))
    } else {
        fail(
            ErrorKind::StartLine,
            format!("{version:?} is not a SIP version"),
        )
    }
}

fn parse_status_line(line: &str) -> Result<(u16, String), ParseError> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    check_version(version)?;
    let code = parts.next().unwrap_or("");
    let reason = parts.next().unwrap_or("").trim().to_string();
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_digit()) {
        return fail(
            ErrorKind::Status,
            format!("status code {code:?} is not three digits"),
        );
    }
    let status: u16 = code.parse().expect("three digits");
    if !(100..=699).contains(&status) {
        return fail(
            ErrorKind::Status,
            format!("status code {status} is not 100 to 699"),
        );
    }
    Ok((status, reason))
}

fn parse_headers<'a>(lines: impl Iterator<Item = &'a str>) -> Result<Headers, ParseError> {
    let mut headers: Vec<Header> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // A folded continuation line (obsolete, still sent by some devices).
            let Some(last) = headers.last_mut() else {
                return fail(ErrorKind::Header, "a continuation line before any header");
            };
            // The fold is one SP between the parts, and the value stays trimmed: a value that
            // starts on the continuation line, or a blank continuation line, adds no space.
            let more = line.trim();
            if !more.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(more);
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if headers.len() >= MAX_HEADER_LINES {
            return fail(
                ErrorKind::TooLarge,
                format!("more than {MAX_HEADER_LINES} header lines"),
            );
        }
        let Some((name, value)) = line.split_once(':') else {
            return fail(
                ErrorKind::Header,
                format!("header line without a colon: {line:?}"),
            );
        };
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            return fail(ErrorKind::Header, format!("{name:?} is not a header name"));
        }
        headers.push(Header {
            name: canonical_name(name),
            value: value.trim().to_string(),
        });
    }
    Ok(Headers(headers))
}

/// Every message needs Via, From, To, Call-ID and CSeq, readable; a request's CSeq names its
/// method; Max-Forwards, when present, is a number.
fn check_mandatory(message: &Message) -> Result<(), ParseError> {
    let h = message.headers();
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if h.get(name).is_none_or(|v| v.is_empty()) {
            return fail(ErrorKind::Missing, format!("no {name} header"));
        }
    }
    if h.vias().is_none() {
        return fail(ErrorKind::Header, "a Via cannot be read");
    }
    if h.from().is_none() {
        return fail(ErrorKind::Header, "From cannot be read");
    }
    if h.to().is_none() {
        return fail(ErrorKind::Header, "To cannot be read");
    }
    let Some(cseq) = h.cseq() else {
        return fail(
            ErrorKind::Header,
            format!("CSeq {:?} cannot be read", h.get("CSeq").unwrap_or("")),
        );
    };
    if let Some(v) = h.get("Max-Forwards") {
        if v.trim().parse::<u8>().is_err() {
            return fail(
                ErrorKind::Header,
                format!("Max-Forwards {v:?} is not 0 to 255"),
            );
        }
    }
    if let Message::Request(r) = message {
        if cseq.method != r.method {
            return fail(
                ErrorKind::CSeqMethod,
                format!("CSeq method {} on a {} request", cseq.method, r.method),
            );
        }
    }
    Ok(())
}

/// Cuts the next message out of a stream (TCP): `Ok(None)` while more bytes are needed,
/// `Ok(Some((skip, len)))` when `buffer[skip..skip + len]` is one whole message (`skip` are
/// CRLF keep-alives before it). On a stream Content-Length is required.
pub fn frame(buffer: &[u8]) -> Result<Option<(usize, usize)>, ParseError> {
    let skip = skip_keepalives(buffer);
    let rest = &buffer[skip..];
    let Some((head_end, body_start)) = header_end(rest) else {
        if rest.len() > MAX_MESSAGE_BYTES {
            return fail(
                ErrorKind::TooLarge,
                "no end of headers within the size limit",
            );
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&rest[..head_end]);
    let length = head
        .split('\n')
        .skip(1)
        // A folded continuation line belongs to the header above it, as the parser reads it,
        // even when it looks like `Content-Length: 0`.
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| canonical_name(name.trim()) == "Content-Length")
        .map(|(_, v)| v.trim().parse::<usize>());
    let length = match length {
        Some(Ok(n)) => n,
        Some(Err(_)) => return fail(ErrorKind::Header, "Content-Length is not a number of bytes"),
        None => return fail(ErrorKind::Missing, "no Content-Length on a stream"),
    };
    let total = body_start + length;
    if total > MAX_MESSAGE_BYTES {
        return fail(
            ErrorKind::TooLarge,
            format!("{total} bytes; at most {MAX_MESSAGE_BYTES}"),
        );
    }
    Ok((rest.len() >= total).then_some((skip, total)))
}
