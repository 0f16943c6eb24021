//! The message model and the printer.

use crate::values::{split_outside_quotes, CSeq, Method, NameAddr, Uri, Via};

/// Compact forms (RFC 3261 §7.3.3 and common extensions) and the full names they stand for.
const COMPACT: [(&str, &str); 12] = [
    ("i", "Call-ID"),
    ("m", "Contact"),
    ("e", "Content-Encoding"),
    ("l", "Content-Length"),
    ("c", "Content-Type"),
    ("f", "From"),
    ("s", "Subject"),
    ("k", "Supported"),
    ("t", "To"),
    ("v", "Via"),
    ("o", "Event"),
    ("r", "Refer-To"),
];

/// Canonical spellings of common headers, so printed messages look as devices expect.
const CANONICAL: [&str; 28] = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Expires",
    "Route",
    "Record-Route",
    "Allow",
    "Supported",
    "Require",
    "User-Agent",
    "Server",
    "Subject",
    "Authorization",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Event",
    "Refer-To",
    "Accept",
    "Min-Expires",
    "Retry-After",
];

/// The full, canonical name of a header as written (compact forms expanded, known names in
/// their usual spelling, unknown ones as written).
pub fn canonical_name(name: &str) -> String {
    if name.len() == 1 {
        if let Some((_, full)) = COMPACT.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)) {
            return full.to_string();
        }
    }
    CANONICAL
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), |c| c.to_string())
}

/// Headers whose values may be comma-separated lists (RFC 3261 §7.3.1).
const LISTS: [&str; 9] = [
    "Via",
    "Contact",
    "Route",
    "Record-Route",
    "Allow",
    "Supported",
    "Require",
    "Accept",
    "Proxy-Require",
];

/// One header line (continuations joined).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The canonical name.
    pub name: String,
    /// The value, trimmed.
    pub value: String,
}

/// The headers of a message, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// The first value of a header (names compared case-insensitively, compact forms
    /// expanded).
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = canonical_name(name);
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(&name))
            .map(|h| h.value.as_str())
    }

    /// Every value of a header, list headers split at commas outside quotes and `<…>`.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        let name = canonical_name(name);
        let list = LISTS.iter().any(|l| l.eq_ignore_ascii_case(&name));
        self.0
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(&name))
            .flat_map(|h| {
                if list {
                    split_outside_quotes(&h.value, ',')
                        .into_iter()
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .collect()
                } else {
                    vec![h.value.as_str()]
                }
            })
            .collect()
    }

    /// Appends a header.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push(Header {
            name: canonical_name(name),
            value: value.into(),
        });
    }

    /// Removes every value of a header.
    pub fn remove(&mut self, name: &str) {
        let name = canonical_name(name);
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(&name));
    }

    /// Every Via, top first; `None` if one cannot be read.
    pub fn vias(&self) -> Option<Vec<Via>> {
        self.get_all("Via").into_iter().map(Via::parse).collect()
    }

    /// From.
    pub fn from(&self) -> Option<NameAddr> {
        self.get("From").and_then(NameAddr::parse)
    }

    /// To.
    pub fn to(&self) -> Option<NameAddr> {
        self.get("To").and_then(NameAddr::parse)
    }

    /// Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.get("Call-ID")
    }

    /// CSeq.
    pub fn cseq(&self) -> Option<CSeq> {
        self.get("CSeq").and_then(CSeq::parse)
    }

    /// Max-Forwards.
    pub fn max_forwards(&self) -> Option<u8> {
        self.get("Max-Forwards").and_then(|v| v.trim().parse().ok())
    }

    /// Contact values (`*` is one value, kept as written in `Contact::Star`).
    pub fn contacts(&self) -> Option<Vec<Contact>> {
        self.get_all("Contact")
            .into_iter()
            .map(|v| {
                if v == "*" {
                    Some(Contact::Star)
                } else {
                    NameAddr::parse(v).map(Contact::Address)
                }
            })
            .collect()
    }

    /// Content-Length, if present and valid.
    pub fn content_length(&self) -> Option<usize> {
        self.get("Content-Length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// The media type of Content-Type, lower case, without parameters.
    pub fn content_type(&self) -> Option<String> {
        self.get("Content-Type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// A Contact value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contact {
    /// `Contact: *` (remove all bindings, with `Expires: 0`).
    Star,
    /// An address.
    Address(NameAddr),
}

/// A request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// The headers.
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
}

/// The headers a response copies from its request (RFC 3261 §8.2.6.2), in the order they
/// are written.
const COPIED_TO_RESPONSE: [&str; 5] = ["Via", "From", "To", "Call-ID", "CSeq"];

impl Request {
    /// A response to this request as RFC 3261 §8.2.6.2 builds it: every Via in order, From,
    /// To, Call-ID and CSeq copied as written, no body. The To tag is left to the caller,
    /// because only the caller knows whether the response needs one (not on 100 Trying) and
    /// which tag a dialog or a retransmission must carry.
    pub fn response(&self, status: u16, reason: &str) -> Response {
        let copied = self
            .headers
            .0
            .iter()
            .filter(|h| {
                COPIED_TO_RESPONSE
                    .iter()
                    .any(|name| h.name.eq_ignore_ascii_case(name))
            })
            .cloned()
            .collect();
        Response {
            status,
            reason: reason.to_string(),
            headers: Headers(copied),
            body: Vec::new(),
        }
    }
}

/// A response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// 100 to 699.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// The headers.
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// Adds `;tag=TAG` to the To header unless it has a tag already: a UAS's responses
    /// other than 100 carry one (RFC 3261 §8.2.6.2), and a dialog is named by it.
    pub fn add_to_tag(&mut self, tag: &str) {
        if let Some(to) = self
            .headers
            .0
            .iter_mut()
            .find(|h| h.name.eq_ignore_ascii_case("To"))
        {
            let tagged = NameAddr::parse(&to.value).is_some_and(|n| n.tag().is_some());
            if !tagged {
                to.value.push_str(";tag=");
                to.value.push_str(tag);
            }
        }
    }
}

/// A SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// The request, if it is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    /// The response, if it is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }

    /// The message on the wire: the start line, the headers in order with their full names,
    /// a Content-Length that matches the body (replacing any written one), a blank line, the
    /// body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        match self {
            Message::Request(r) => out.push_str(&format!("{} {} SIP/2.0\r\n", r.method, r.uri)),
            Message::Response(r) => out.push_str(&format!("SIP/2.0 {} {}\r\n", r.status, r.reason)),
        }
        for h in &self.headers().0 {
            if h.name.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            out.push_str(&format!("{}: {}\r\n", h.name, h.value));
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", self.body().len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(self.body());
        bytes
    }
}
