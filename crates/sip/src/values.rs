//! Typed header values: methods, URIs, Via, name-addr (From, To, Contact), CSeq.

use std::fmt;

/// A SIP method. Unknown methods are kept by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// OPTIONS
    Options,
    /// REGISTER
    Register,
    /// INFO
    Info,
    /// UPDATE
    Update,
    /// PRACK
    Prack,
    /// SUBSCRIBE
    Subscribe,
    /// NOTIFY
    Notify,
    /// REFER
    Refer,
    /// MESSAGE
    Message,
    /// Any other token.
    Other(String),
}

impl Method {
    /// The method for a token (case-sensitive, as RFC 3261 says).
    pub fn from_token(token: &str) -> Method {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            other => Method::Other(other.to_string()),
        }
    }

    /// The method's token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Other(token) => token,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 3261 `token` characters.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// `;name=value` parameters, in order; names compared case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    /// The value of a parameter: `Some(None)` for a flag such as `;rport` or `;lr`.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// Sets a parameter, replacing its value if present (names compared case-insensitively),
    /// appending it otherwise.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_string);
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    fn parse(text: &str) -> Params {
        Params(
            split_outside_quotes(text, ';')
                .into_iter()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((n, v)) => (n.trim().to_string(), Some(unquote(v.trim()))),
                    None => (p.to_string(), None),
                })
                .collect(),
        )
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.0 {
            match value {
                Some(v)
                    if v.chars()
                        .all(|c| is_token_char(c) || c == ':' || c == '[' || c == ']') =>
                {
                    write!(f, ";{name}={v}")?
                }
                Some(v) => write!(f, ";{name}={}", quote(v))?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

/// A URI scheme hotline speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:` (TLS)
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
}

/// A SIP, SIPS or TEL URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// The user part with `%` escapes resolved (for `tel:`, the number).
    pub user: Option<String>,
    /// The host (an IPv6 reference keeps its brackets); empty for `tel:`.
    pub host: String,
    /// The port, if written.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp`, `;user=phone`).
    pub params: Params,
    /// URI headers (`?subject=hello`), escapes resolved.
    pub headers: Vec<(String, String)>,
}

/// Why a URI could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriError(pub String);

impl Uri {
    /// Reads a URI. Strict: no whitespace, a known scheme, a host for SIP/SIPS, a valid port
    /// and valid `%` escapes.
    pub fn parse(text: &str) -> Result<Uri, UriError> {
        let err = |m: &str| UriError(format!("{m}: {text:?}"));
        if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("a URI has no spaces or control characters"));
        }
        let (scheme, rest) = text.split_once(':').ok_or_else(|| err("no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "sip" => Scheme::Sip,
            "sips" => Scheme::Sips,
            "tel" => Scheme::Tel,
            _ => return Err(err("the scheme must be sip, sips or tel")),
        };
        let (rest, headers) = match rest.split_once('?') {
            Some((r, h)) => (r, h),
            None => (rest, ""),
        };
        let (main, params) = match rest.split_once(';') {
            Some((m, p)) => (m, Params::parse(p)),
            None => (rest, Params::default()),
        };
        // The printer writes parameter names as they are, so a quote or an angle bracket in
        // one would change where the printed URI's parameters split (values it quotes);
        // RFC 3261 allows none of them unescaped in a URI.
        if params
            .0
            .iter()
            .any(|(name, _)| name.contains(['"', '<', '>']))
        {
            return Err(err("a quote or angle bracket in a parameter name"));
        }
        let headers = headers
            .split('&')
            .filter(|h| !h.is_empty())
            .map(|h| {
                let (n, v) = h.split_once('=').unwrap_or((h, ""));
                Ok((
                    unescape(n).ok_or_else(|| err("bad % escape"))?,
                    unescape(v).ok_or_else(|| err("bad % escape"))?,
                ))
            })
            .collect::<Result<Vec<_>, UriError>>()?;
        if scheme == Scheme::Tel {
            if main.is_empty() {
                return Err(err("a tel URI needs a number"));
            }
            return Ok(Uri {
                scheme,
                user: Some(main.to_string()),
                host: String::new(),
                port: None,
                params,
                headers,
            });
        }
        let (user, hostport) = match main.rsplit_once('@') {
            Some((u, h)) => (
                Some(unescape(u).ok_or_else(|| err("bad % escape in the user part"))?),
                h,
            ),
            None => (None, main),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| err("bad host or port"))?;
        if host.is_empty() {
            return Err(err("a SIP URI needs a host"));
        }
        Ok(Uri {
            scheme,
            user,
            host,
            port,
            params,
            headers,
        })
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Scheme::Tel => write!(f, "tel:{}", self.user.as_deref().unwrap_or(""))?,
            scheme => {
                f.write_str(if scheme == Scheme::Sips {
                    "sips:"
                } else {
                    "sip:"
                })?;
                if let Some(user) = &self.user {
                    write!(f, "{}@", escape_user(user, ";?"))?;
                }
                f.write_str(&self.host)?;
                if let Some(port) = self.port {
                    write!(f, ":{port}")?;
                }
            }
        }
        write!(f, "{}", self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(
                f,
                "{}{}={}",
                if i == 0 { '?' } else { '&' },
                escape_user(n, "&="),
                escape_user(v, "&=")
            )?;
        }
        Ok(())
    }
}

/// `host[:port]`, with IPv6 references in brackets.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        if v6.is_empty()
            || !v6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return None;
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        return Some((format!("[{v6}]"), port));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (h, Some(p.parse::<u16>().ok()?)),
        None => (text, None),
    };
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return None;
    }
    Some((host.to_string(), port))
}

fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `text` with `%` escapes, also for `delimiters`: the characters [`Uri::parse`] splits that
/// part at (`;` and `?` in the user part, `&` and `=` in a header), so that the printed URI
/// reads back the same.
fn escape_user(text: &str, delimiters: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        let c = b as char;
        if (c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c)) && !delimiters.contains(c)
        {
            out.push(c);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The characters of `text` outside double-quoted strings (RFC 3261 `quoted-string`, with
/// `\` escapes), with their byte offsets; the quotes themselves are left out.
fn unquoted_chars(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut quoted, mut escaped) = (false, false);
    text.char_indices().filter(move |&(_, c)| {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            false
        } else if c == '"' {
            quoted = true;
            false
        } else {
            true
        }
    })
}

/// Splits on `sep` outside double quotes and angle brackets.
pub(crate) fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut angle, mut start) = (0u32, 0);
    for (i, c) in unquoted_chars(text) {
        match c {
            '<' => angle += 1,
            '>' => angle = angle.saturating_sub(1),
            c if c == sep && angle == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `text` as a quoted string, with `\` and `"` escaped.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Removes surrounding quotes and resolves `\x` escapes.
fn unquote(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => text.to_string(),
    }
}

/// One Via value: `SIP/2.0/UDP host:port;branch=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// `UDP`, `TCP`, `TLS`, `WS`, … (upper case).
    pub transport: String,
    /// The sent-by host (IPv6 in brackets).
    pub host: String,
    /// The sent-by port, if written.
    pub port: Option<u16>,
    /// Parameters.
    pub params: Params,
}

impl Via {
    /// Reads one Via value.
    pub fn parse(text: &str) -> Option<Via> {
        // The grammar allows whitespace around the slashes of `SIP / 2.0 / UDP`.
        let mut text = text.trim().to_string();
        while let Some(i) = text
            .find(" /")
            .or_else(|| text.find("/ "))
            .or_else(|| text.find("\t/"))
        {
            text.replace_range(i..i + 2, "/");
        }
        let (protocol, rest) = text.split_once(|c: char| c.is_whitespace())?;
        let mut parts = protocol.split('/').map(str::trim);
        let (name, version, transport) = (parts.next()?, parts.next()?, parts.next()?);
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" || !is_token(transport) {
            return None;
        }
        let rest = rest.trim();
        let (sent_by, params) = match rest.split_once(';') {
            Some((s, p)) => (s.trim(), Params::parse(p)),
            None => (rest, Params::default()),
        };
        let (host, port) = split_host_port(&sent_by.replace(' ', ""))?;
        if host.is_empty() {
            return None;
        }
        Some(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// `host` or `host:port` as written.
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SIP/2.0/{} {}{}",
            self.transport,
            self.sent_by(),
            self.params
        )
    }
}

/// A name-addr or addr-spec with header parameters: From, To, Contact, Route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, quotes removed and escapes resolved.
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`;tag=…`, `;expires=…`).
    pub params: Params,
}

impl NameAddr {
    /// Reads a name-addr (`"Name" <sip:…>;tag=…`) or an addr-spec (`sip:…;tag=…`, where the
    /// parameters belong to the header).
    pub fn parse(text: &str) -> Option<NameAddr> {
        let text = text.trim();
        if let Some(open) = find_outside_quotes(text, '<') {
            let display = text[..open].trim();
            let close = open + text[open..].find('>')?;
            let uri = Uri::parse(text[open + 1..close].trim()).ok()?;
            let rest = text[close + 1..].trim();
            let params = match rest.strip_prefix(';') {
                Some(p) => Params::parse(p),
                None if rest.is_empty() => Params::default(),
                None => return None,
            };
            let display = match display {
                "" => None,
                d if d.starts_with('"') => Some(unquote(d)),
                d => Some(d.to_string()),
            };
            return Some(NameAddr {
                display,
                uri,
                params,
            });
        }
        // addr-spec: parameters after the URI are the header's.
        let (uri, params) = match text.split_once(';') {
            Some((u, p)) => (u, Params::parse(p)),
            None => (text, Params::default()),
        };
        Some(NameAddr {
            display: None,
            uri: Uri::parse(uri.trim()).ok()?,
            params,
        })
    }

    /// The tag parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

fn find_outside_quotes(text: &str, wanted: char) -> Option<usize> {
    unquoted_chars(text)
        .find(|&(_, c)| c == wanted)
        .map(|(i, _)| i)
}

/// `CSeq: 314159 INVITE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number (at most 2³¹ − 1).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Reads a CSeq value.
    pub fn parse(text: &str) -> Option<CSeq> {
        let mut parts = text.split_whitespace();
        let seq: u32 = parts.next()?.parse().ok()?;
        let method = parts.next()?;
        if parts.next().is_some() || seq > i32::MAX as u32 || !is_token(method) {
            return None;
        }
        Some(CSeq {
            seq,
            method: Method::from_token(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}
