//! Server-side HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616 and
//! RFC 8760's SHA-256), sans-IO.
//!
//! The principal type is [`Authenticator`]: give it a request, a way to look a user's
//! [`Credentials`] up, the time and a few random bytes, and [`Authenticator::check`] says
//! whether the request is [`AuthOutcome::Authorized`], needs a [`AuthOutcome::Challenge`]
//! (a ready 401 or 407), or must be refused.
//!
//! Nonces are stateless: a nonce carries the time it was issued, random bytes the driver
//! passed in, and an HMAC-SHA256 over both under a server secret (see [`NONCE_HEX_LEN`]), so
//! any server holding the secret can check a nonce without having stored it, and a restart
//! loses nothing. The only state is the highest nonce count seen per nonce, for replay
//! detection, bounded by [`MAX_TRACKED_NONCES`].
//!
//! What is not supported, and answered clearly rather than half done: `qop=auth-int`
//! (a 400 that says so), `userhash` (RFC 7616 §3.4.4), the `username*` form for non-ASCII
//! user names, SHA-512-256.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::message::{Request, Response};
use crate::values::Uri;

/// The longest `Digest` header value read; a longer one is refused before any work is done
/// on it, so a hostile header costs nothing.
pub const MAX_DIGEST_HEADER_BYTES: usize = 4096;
/// The most parameters in one `Digest` header value (RFC 7616 defines thirteen).
pub const MAX_DIGEST_PARAMS: usize = 32;
/// The most Authorization (or Proxy-Authorization) headers looked at in one request; a
/// request may carry credentials for several realms, but not for hundreds.
pub const MAX_AUTHORIZATION_HEADERS: usize = 8;
/// How many random bytes each nonce carries (128 bits, so two nonces issued in the same
/// millisecond still differ).
pub const NONCE_RANDOM_BYTES: usize = 16;
/// How many bytes of the HMAC-SHA256 tag a nonce keeps (128 bits, enough against forgery).
pub const NONCE_TAG_BYTES: usize = 16;
/// The length of a nonce: hex of the issue time (8 bytes), the random bytes and the tag.
pub const NONCE_HEX_LEN: usize = 2 * (8 + NONCE_RANDOM_BYTES + NONCE_TAG_BYTES);
/// The length of the server secret that signs nonces.
pub const NONCE_SECRET_BYTES: usize = 32;
/// How long a nonce is good for unless configured otherwise: long enough for a phone to
/// answer the challenge and reuse the nonce for a few requests, short enough that a captured
/// request cannot be replayed for long.
pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// The most nonces whose highest nonce count is remembered (for replay detection). When full,
/// the oldest is forgotten and every nonce issued up to it is treated as stale from then on,
/// so forgetting never lets a replay through; it only costs clients one more challenge.
pub const MAX_TRACKED_NONCES: usize = 16_384;

/// A digest algorithm (RFC 7616 §3.3 and §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, what every SIP device speaks (and what applies when none is named).
    Md5,
    /// `MD5-sess`: HA1 is rehashed with the nonce and cnonce.
    Md5Sess,
    /// `SHA-256` (RFC 8760), offered first.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The algorithm for a token, compared case-insensitively as RFC 7616 says; `None` for
    /// an algorithm hotline does not implement.
    pub fn from_token(token: &str) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(token))
    }

    /// The token as written in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether this is a `-sess` variant, whose HA1 depends on the nonce and cnonce.
    pub fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// The hash function, in lower-case hex, as every digest computation uses it.
    fn hash_hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }

    /// The number of hex digits of this algorithm's hashes, to check a stored HA1 and a
    /// response's length before comparing.
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 32,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 64,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a `Digest` header value could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestError(pub String);

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DigestError {}

/// The parameters of a `Digest` challenge (WWW-Authenticate, Proxy-Authenticate) or of
/// credentials (Authorization, Proxy-Authorization), as written: values unquoted, escapes
/// resolved. Fields a header did not carry are `None`; which are required depends on the
/// header, so the reader of the struct decides (see [`Authenticator::check`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DigestParams {
    /// `username`.
    pub username: Option<String>,
    /// `realm`.
    pub realm: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `uri` (the digest-uri), kept as written because the response hashes it as written.
    pub uri: Option<String>,
    /// `response`, the hex digest.
    pub response: Option<String>,
    /// `algorithm` as written; absent means MD5 (RFC 2617 §3.2.1). Kept as a string so an
    /// algorithm hotline does not implement can be named in the refusal.
    pub algorithm: Option<String>,
    /// `qop`: in credentials one token (`auth`), in a challenge a comma-separated list.
    pub qop: Option<String>,
    /// `nc`, the nonce count, kept as written (eight hex digits) because the response hashes
    /// it as written; [`DigestParams::nonce_count`] reads it.
    pub nc: Option<String>,
    /// `cnonce`.
    pub cnonce: Option<String>,
    /// `opaque`.
    pub opaque: Option<String>,
    /// `stale=true` (case-insensitive) in a challenge.
    pub stale: bool,
    /// `userhash=true` (RFC 7616 §3.4.4), which hotline does not support.
    pub userhash: bool,
    /// Any other parameter, names lower-cased, in order (`domain`, `charset`, extensions).
    pub other: Vec<(String, String)>,
}

impl DigestParams {
    /// Reads a `Digest …` header value. Tolerant of what devices do (scheme and parameter
    /// names in any case, spaces around `=` and `,`, empty list elements, tokens where quotes
    /// were expected); strict where a misreading would matter (a parameter given twice, an
    /// unterminated quote, another scheme, more than [`MAX_DIGEST_PARAMS`] parameters, more
    /// than [`MAX_DIGEST_HEADER_BYTES`] bytes).
    pub fn parse(value: &str) -> Result<DigestParams, DigestError> {
        let err = |m: String| Err(DigestError(m));
        if value.len() > MAX_DIGEST_HEADER_BYTES {
            return err(format!(
                "{} bytes of Digest parameters; at most {MAX_DIGEST_HEADER_BYTES}",
                value.len()
            ));
        }
        let value = value.trim();
        let scheme_end = value
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(value.len());
        if !value[..scheme_end].eq_ignore_ascii_case("Digest") {
            return err(format!(
                "the scheme is {:?}, not Digest",
                &value[..scheme_end]
            ));
        }
        let mut out = DigestParams::default();
        let mut seen: Vec<String> = Vec::new();
        for (name, param) in auth_params(&value[scheme_end..])? {
            if seen.len() >= MAX_DIGEST_PARAMS {
                return err(format!("more than {MAX_DIGEST_PARAMS} Digest parameters"));
            }
            if seen.contains(&name) {
                // Two values for one name: which one a peer believed is anybody's guess.
                return err(format!("the Digest parameter {name:?} is given twice"));
            }
            seen.push(name.clone());
            let flag = || param.eq_ignore_ascii_case("true");
            match name.as_str() {
                "username" => out.username = Some(param),
                "realm" => out.realm = Some(param),
                "nonce" => out.nonce = Some(param),
                "uri" => out.uri = Some(param),
                "response" => out.response = Some(param),
                "algorithm" => out.algorithm = Some(param),
                "qop" => out.qop = Some(param),
                "nc" => out.nc = Some(param),
                "cnonce" => out.cnonce = Some(param),
                "opaque" => out.opaque = Some(param),
                "stale" => out.stale = flag(),
                "userhash" => out.userhash = flag(),
                _ => out.other.push((name, param)),
            }
        }
        Ok(out)
    }

    /// The nonce count as a number, if `nc` is eight hex digits as RFC 2617 requires.
    pub fn nonce_count(&self) -> Option<u32> {
        let nc = self.nc.as_deref()?;
        if nc.len() != 8 {
            return None;
        }
        u32::from_str_radix(nc, 16).ok()
    }
}

/// Prints credentials (an Authorization value), quoting what RFC 7616 §3.4 quotes and leaving
/// `algorithm`, `qop`, `nc` and the flags as tokens, which is what strict servers expect.
impl fmt::Display for DigestParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = [
            ("username", &self.username),
            ("realm", &self.realm),
            ("nonce", &self.nonce),
            ("uri", &self.uri),
            ("response", &self.response),
        ];
        let tokens = [("algorithm", &self.algorithm)];
        let after = [("cnonce", &self.cnonce), ("opaque", &self.opaque)];
        let mut parts: Vec<String> = Vec::new();
        for (name, value) in quoted {
            if let Some(v) = value {
                parts.push(format!("{name}={}", quote(v)));
            }
        }
        for (name, value) in tokens {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        }
        for (name, value) in after {
            if let Some(v) = value {
                parts.push(format!("{name}={}", quote(v)));
            }
        }
        if let Some(qop) = &self.qop {
            parts.push(format!("qop={qop}"));
        }
        if let Some(nc) = &self.nc {
            parts.push(format!("nc={nc}"));
        }
        if self.stale {
            parts.push("stale=true".into());
        }
        if self.userhash {
            parts.push("userhash=true".into());
        }
        for (name, value) in &self.other {
            parts.push(format!("{name}={}", quote(value)));
        }
        write!(f, "Digest {}", parts.join(", "))
    }
}

/// Splits `name=value, name="quoted, value"` into lower-cased names and unquoted values.
fn auth_params(text: &str) -> Result<Vec<(String, String)>, DigestError> {
    let err = |m: String| Err(DigestError(m));
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let skip_space = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        // Empty list elements (`a=1,,b=2`) are allowed by the list rule (RFC 7230 §7).
        loop {
            skip_space(&mut i);
            if i < bytes.len() && bytes[i] == b',' {
                i += 1;
            } else {
                break;
            }
        }
        if i >= bytes.len() {
            return Ok(out);
        }
        if out.len() >= MAX_DIGEST_PARAMS {
            return err(format!("more than {MAX_DIGEST_PARAMS} Digest parameters"));
        }
        let start = i;
        while i < bytes.len() && crate::values::is_token_char(bytes[i] as char) {
            i += 1;
        }
        let name = &text[start..i];
        if name.is_empty() {
            let at: String = text[start..].chars().take(20).collect();
            return err(format!("expected a parameter name at {at:?}"));
        }
        skip_space(&mut i);
        if i >= bytes.len() || bytes[i] != b'=' {
            return err(format!("the Digest parameter {name:?} has no value"));
        }
        i += 1;
        skip_space(&mut i);
        let value = if i < bytes.len() && bytes[i] == b'"' {
            i += 1;
            let mut value = String::new();
            let mut closed = false;
            let mut chars = text[i..].char_indices();
            while let Some((offset, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => break,
                    },
                    '"' => {
                        i += offset + 1;
                        closed = true;
                        break;
                    }
                    _ => value.push(c),
                }
            }
            if !closed {
                return err(format!("the quoted value of {name:?} is not closed"));
            }
            value
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b',' && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            text[start..i].to_string()
        };
        out.push((name.to_ascii_lowercase(), value));
        skip_space(&mut i);
        if i < bytes.len() && bytes[i] != b',' {
            return err(format!(
                "expected a comma after the Digest parameter {name:?}"
            ));
        }
    }
}

/// `text` as a quoted string, with `\` and `"` escaped.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A challenge to print into WWW-Authenticate or Proxy-Authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The realm the credentials belong to.
    pub realm: String,
    /// The nonce the client must hash.
    pub nonce: String,
    /// The algorithm this challenge asks for (one challenge per algorithm, RFC 8760 §2.4).
    pub algorithm: Algorithm,
    /// `stale=true`: the nonce the client used was good but old, so it can answer again
    /// without asking its user for the password.
    pub stale: bool,
}

/// `Digest realm="…", nonce="…", algorithm=…, qop="auth"[, stale=true]`. The qop list is
/// quoted in a challenge (RFC 7616 §3.3), unlike in credentials.
impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm={}, nonce={}, algorithm={}, qop=\"auth\"",
            quote(&self.realm),
            quote(&self.nonce),
            self.algorithm
        )?;
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

/// What a server stores for a user, so that a configuration may hold hashes instead of
/// passwords. An HA1 is `H(username:realm:password)` in lower- or upper-case hex; it only
/// works for the realm it was made with, and only answers challenges of its own hash
/// (MD5 and MD5-sess, or SHA-256 and SHA-256-sess). [`ha1`] computes one.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The password itself: answers every algorithm.
    Password(String),
    /// HA1 for MD5, 32 hex digits.
    Ha1Md5(String),
    /// HA1 for SHA-256, 64 hex digits.
    Ha1Sha256(String),
}

/// Never prints the secret, so credentials can sit in structs that are logged.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Credentials::Password(_) => "Password",
            Credentials::Ha1Md5(_) => "Ha1Md5",
            Credentials::Ha1Sha256(_) => "Ha1Sha256",
        };
        write!(f, "{kind}(…)")
    }
}

impl Credentials {
    /// HA1 for `algorithm` (before any `-sess` rehash), or `None` when these credentials
    /// cannot answer it (an MD5 hash for a SHA-256 challenge) or the stored hash is not hex
    /// of the right length.
    fn ha1(&self, algorithm: Algorithm, username: &str, realm: &str) -> Option<String> {
        let stored = match (self, algorithm) {
            (Credentials::Password(p), _) => return Some(ha1(algorithm, username, realm, p)),
            (Credentials::Ha1Md5(h), Algorithm::Md5 | Algorithm::Md5Sess) => h,
            (Credentials::Ha1Sha256(h), Algorithm::Sha256 | Algorithm::Sha256Sess) => h,
            _ => return None,
        };
        (stored.len() == algorithm.hex_len() && stored.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| stored.to_ascii_lowercase())
    }

    /// Whether these credentials can answer a challenge of `algorithm`.
    pub fn supports(&self, algorithm: Algorithm) -> bool {
        self.ha1(algorithm, "", "").is_some()
    }
}

/// `H(username:realm:password)` in lower-case hex: the HA1 to store instead of a password
/// (for a `-sess` algorithm, the same as for its base algorithm).
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(&format!("{username}:{realm}:{password}"))
}

/// The `qop=auth` inputs of a response: the nonce count as written and the client nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QopAuth<'a> {
    /// `nc`, eight hex digits as written.
    pub nc: &'a str,
    /// `cnonce`.
    pub cnonce: &'a str,
}

/// The response a client must send, in lower-case hex (RFC 7616 §3.4.1): with `qop=auth`,
/// `H(HA1:nonce:nc:cnonce:auth:HA2)`; without qop (RFC 2069, which RFC 3261 §22.4 still asks
/// servers to accept), `H(HA1:nonce:HA2)`; `HA2 = H(method:digest-uri)`. For a `-sess`
/// algorithm HA1 is first rehashed as `H(HA1:nonce:cnonce)`, which needs `qop`; without it
/// the HA1 is used as given.
pub fn digest_response(
    algorithm: Algorithm,
    ha1_hex: &str,
    nonce: &str,
    qop: Option<QopAuth<'_>>,
    method: &str,
    digest_uri: &str,
) -> String {
    let ha1 = match (algorithm.is_session(), qop) {
        (true, Some(q)) => algorithm.hash_hex(&format!("{ha1_hex}:{nonce}:{}", q.cnonce)),
        _ => ha1_hex.to_string(),
    };
    let ha2 = algorithm.hash_hex(&format!("{method}:{digest_uri}"));
    match qop {
        Some(q) => algorithm.hash_hex(&format!("{ha1}:{nonce}:{}:{}:auth:{ha2}", q.nc, q.cnonce)),
        None => algorithm.hash_hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// What a client answers a digest challenge with: the value of an `Authorization` header
/// (for a 401's `WWW-Authenticate`) or a `Proxy-Authorization` header (for a 407's
/// `Proxy-Authenticate`). Uses the challenge's algorithm (MD5 when it names none; `None` for
/// one hotline does not implement), `qop=auth` with nonce count 1 when the challenge offers
/// it and the RFC 2069 form when it offers no qop, and echoes `opaque`.
pub fn client_authorization(
    challenge: &DigestParams,
    username: &str,
    password: &str,
    method: &str,
    digest_uri: &str,
    cnonce: &str,
) -> Option<String> {
    let algorithm = match challenge.algorithm.as_deref() {
        Some(token) => Algorithm::from_token(token)?,
        None => Algorithm::Md5,
    };
    let realm = challenge.realm.as_deref().unwrap_or_default();
    let nonce = challenge.nonce.as_deref()?;
    let with_qop = challenge.qop.as_deref().is_some_and(|list| {
        list.split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("auth"))
    });
    let ha1 = ha1(algorithm, username, realm, password);
    let qop = with_qop.then_some(QopAuth {
        nc: "00000001",
        cnonce,
    });
    let response = digest_response(algorithm, &ha1, nonce, qop, method, digest_uri);
    let credentials = DigestParams {
        username: Some(username.to_string()),
        realm: Some(realm.to_string()),
        nonce: Some(nonce.to_string()),
        uri: Some(digest_uri.to_string()),
        response: Some(response),
        algorithm: Some(algorithm.to_string()),
        qop: with_qop.then(|| "auth".to_string()),
        nc: with_qop.then(|| "00000001".to_string()),
        cnonce: with_qop.then(|| cnonce.to_string()),
        opaque: challenge.opaque.clone(),
        ..DigestParams::default()
    };
    Some(credentials.to_string())
}

/// Compares two byte strings in time that depends on their length only, so a client cannot
/// learn the expected response a byte at a time from how fast it is refused.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(difference) == 0
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Which pair of headers authentication uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// A user agent or registrar: 401, WWW-Authenticate, Authorization.
    Origin,
    /// A proxy: 407, Proxy-Authenticate, Proxy-Authorization.
    Proxy,
}

impl AuthKind {
    fn status(self) -> (u16, &'static str) {
        match self {
            AuthKind::Origin => (401, "Unauthorized"),
            AuthKind::Proxy => (407, "Proxy Authentication Required"),
        }
    }

    fn challenge_header(self) -> &'static str {
        match self {
            AuthKind::Origin => "WWW-Authenticate",
            AuthKind::Proxy => "Proxy-Authenticate",
        }
    }

    fn credentials_header(self) -> &'static str {
        match self {
            AuthKind::Origin => "Authorization",
            AuthKind::Proxy => "Proxy-Authorization",
        }
    }
}

/// How an [`Authenticator`] challenges and checks.
#[derive(Clone)]
pub struct AuthConfig {
    /// The realm in every challenge; credentials for other realms are ignored.
    pub realm: String,
    /// The key that signs nonces. Every server that must accept another's nonces shares it;
    /// changing it makes every outstanding nonce fail (clients are challenged again).
    pub secret: [u8; NONCE_SECRET_BYTES],
    /// How old a nonce may be before the client is told `stale=true` and must answer a new
    /// one.
    pub nonce_lifetime: Duration,
    /// The algorithms offered, one challenge each, in this order (clients take the first they
    /// support, RFC 8760 §2.4, so SHA-256 comes first). Only these are accepted.
    pub algorithms: Vec<Algorithm>,
    /// 401 and WWW-Authenticate, or 407 and Proxy-Authenticate.
    pub kind: AuthKind,
}

/// Never prints the secret.
impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.realm)
            .field("secret", &"…")
            .field("nonce_lifetime", &self.nonce_lifetime)
            .field("algorithms", &self.algorithms)
            .field("kind", &self.kind)
            .finish()
    }
}

impl AuthConfig {
    /// The defaults for a realm and a secret: nonces good for [`DEFAULT_NONCE_LIFETIME`],
    /// SHA-256 then MD5 offered, 401 and WWW-Authenticate.
    pub fn new(realm: impl Into<String>, secret: [u8; NONCE_SECRET_BYTES]) -> AuthConfig {
        AuthConfig {
            realm: realm.into(),
            secret,
            nonce_lifetime: DEFAULT_NONCE_LIFETIME,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            kind: AuthKind::Origin,
        }
    }
}

/// A configuration that cannot work, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Why credentials were refused with 403. The reason phrase is the same for an unknown user
/// and a wrong password, so a caller cannot probe which user names exist; the variant (and
/// `Display`) tell the log which it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials are stored for this user name.
    UnknownUser {
        /// The user name the client sent.
        username: String,
    },
    /// The response does not match: a wrong password, or a client hashing something else.
    WrongResponse {
        /// The user name the client sent.
        username: String,
    },
}

impl Refusal {
    /// The reason phrase for the 403, identical for every variant.
    pub fn reason_phrase(&self) -> &'static str {
        "Forbidden (bad credentials)"
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownUser { username } => write!(f, "unknown user {username:?}"),
            Refusal::WrongResponse { username } => {
                write!(f, "wrong digest response for user {username:?}")
            }
        }
    }
}

/// What [`Authenticator::check`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The credentials are good: the request comes from `user`.
    Authorized {
        /// The authenticated user name.
        user: String,
    },
    /// Send this 401 (or 407) with its challenges: there were no credentials for our realm,
    /// the nonce was not ours (forged, or signed with an old secret), or it was ours but old
    /// or replayed (then `stale=true`, so the client answers without asking its user). The
    /// caller adds a To tag (RFC 3261 §8.2.6.2).
    Challenge(Response),
    /// Send 403 with [`Refusal::reason_phrase`]: the credentials are wrong. Challenging again
    /// would only make the client send the same wrong credentials again (RFC 3261 §22.2).
    Forbidden(Refusal),
    /// Send 400 with this reason phrase: the credentials for our realm cannot be used as
    /// written (a field missing, a qop or algorithm not offered, a digest-uri that is not the
    /// Request-URI).
    BadRequest(String),
}

/// Per-nonce replay state: the highest nonce count accepted.
#[derive(Clone, Debug)]
struct TrackedNonce {
    issued_at_ms: u64,
    highest_nc: u32,
}

/// A nonce that verified, with what it says.
struct NonceInfo {
    issued_at_ms: u64,
}

/// Checks digest credentials on requests and writes challenges. Owns no clock: every call
/// takes `now_ms` (milliseconds on the same scale as every other `now_ms` the driver gives)
/// and the random bytes a new nonce needs.
#[derive(Debug)]
pub struct Authenticator {
    config: AuthConfig,
    /// Highest nonce count per nonce still within its lifetime, for replay detection.
    tracked: BTreeMap<String, TrackedNonce>,
    /// The same nonces ordered by issue time, to forget the oldest first.
    tracked_by_age: BTreeSet<(u64, String)>,
    /// Nonces issued at or before this time are stale: their counts were forgotten.
    forgotten_up_to_ms: Option<u64>,
}

impl Authenticator {
    /// An authenticator for `config`; refuses a configuration with no algorithm, or with a
    /// realm that could not be written in a quoted string.
    pub fn new(config: AuthConfig) -> Result<Authenticator, ConfigError> {
        if config.algorithms.is_empty() {
            return Err(ConfigError("offer at least one digest algorithm".into()));
        }
        if config.realm.chars().any(char::is_control) {
            return Err(ConfigError(format!(
                "the realm {:?} contains control characters",
                config.realm
            )));
        }
        Ok(Authenticator {
            config,
            tracked: BTreeMap::new(),
            tracked_by_age: BTreeSet::new(),
            forgotten_up_to_ms: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// A new nonce issued at `now_ms`: hex of the issue time (big-endian), the random bytes
    /// and the first [`NONCE_TAG_BYTES`] of HMAC-SHA256 over the realm, the time and the
    /// random bytes.
    pub fn nonce(&self, now_ms: u64, random: [u8; NONCE_RANDOM_BYTES]) -> String {
        let tag = self.nonce_tag(now_ms, &random);
        format!(
            "{}{}{}",
            hex(&now_ms.to_be_bytes()),
            hex(&random),
            hex(&tag[..NONCE_TAG_BYTES])
        )
    }

    fn nonce_mac(&self, issued_at_ms: u64, random: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.config.secret)
            .expect("HMAC takes a key of any length");
        // The realm is length-prefixed so no two (realm, time) pairs feed the same bytes.
        mac.update(b"hotline digest nonce v1\0");
        mac.update(&(self.config.realm.len() as u64).to_be_bytes());
        mac.update(self.config.realm.as_bytes());
        mac.update(&issued_at_ms.to_be_bytes());
        mac.update(random);
        mac
    }

    fn nonce_tag(&self, issued_at_ms: u64, random: &[u8]) -> Vec<u8> {
        self.nonce_mac(issued_at_ms, random)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Reads a nonce and checks its tag (in constant time); `None` if we did not issue it.
    fn verify_nonce(&self, nonce: &str) -> Option<NonceInfo> {
        if nonce.len() != NONCE_HEX_LEN {
            return None;
        }
        let bytes = unhex(nonce)?;
        let (time, rest) = bytes.split_at(8);
        let (random, tag) = rest.split_at(NONCE_RANDOM_BYTES);
        let issued_at_ms = u64::from_be_bytes(time.try_into().expect("eight bytes"));
        self.nonce_mac(issued_at_ms, random)
            .verify_truncated_left(tag)
            .ok()?;
        Some(NonceInfo { issued_at_ms })
    }

    /// The 401 (or 407) for `request`: one challenge per configured algorithm, all with the
    /// same new nonce. `stale` tells the client its credentials were right but the nonce old.
    pub fn challenge(
        &self,
        request: &Request,
        now_ms: u64,
        random: [u8; NONCE_RANDOM_BYTES],
        stale: bool,
    ) -> Response {
        self.challenge_with(request, now_ms, random, stale, &self.config.algorithms)
    }

    fn challenge_with(
        &self,
        request: &Request,
        now_ms: u64,
        random: [u8; NONCE_RANDOM_BYTES],
        stale: bool,
        algorithms: &[Algorithm],
    ) -> Response {
        let (status, reason) = self.config.kind.status();
        let mut response = request.response(status, reason);
        let nonce = self.nonce(now_ms, random);
        for &algorithm in algorithms {
            let challenge = Challenge {
                realm: self.config.realm.clone(),
                nonce: nonce.clone(),
                algorithm,
                stale,
            };
            response
                .headers
                .push(self.config.kind.challenge_header(), challenge.to_string());
        }
        response
    }

    /// Decides what to do with `request`: looks for credentials for our realm, checks the
    /// nonce, looks the user up with `lookup` (called at most once, only for a nonce we
    /// issued), compares the response in constant time, and checks the nonce's age and count.
    /// `random` is used only if a challenge is written.
    ///
    /// In order: no credentials for our realm, or a nonce we did not issue → a fresh
    /// challenge; credentials that cannot be used as written → 400; an unknown user or a
    /// wrong response → 403; credentials whose stored form cannot answer the algorithm the
    /// client chose (an MD5 HA1 for a SHA-256 answer) → a challenge offering only the
    /// algorithms it can answer; a good response on an old or replayed nonce → a challenge
    /// with `stale=true`; otherwise authorized.
    pub fn check<F>(
        &mut self,
        request: &Request,
        lookup: F,
        now_ms: u64,
        random: [u8; NONCE_RANDOM_BYTES],
    ) -> AuthOutcome
    where
        F: FnOnce(&str) -> Option<Credentials>,
    {
        self.forget_expired(now_ms);
        let fresh = |this: &Self, stale: bool| {
            AuthOutcome::Challenge(this.challenge(request, now_ms, random, stale))
        };
        // Credentials for our realm; others (another proxy's) are not ours to judge.
        let mut ours = None;
        for value in request
            .headers
            .get_all(self.config.kind.credentials_header())
            .into_iter()
            .take(MAX_AUTHORIZATION_HEADERS)
        {
            let scheme_is_digest = value
                .trim_start()
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("Digest"));
            if !scheme_is_digest {
                continue;
            }
            match DigestParams::parse(value) {
                Ok(p) if p.realm.as_deref() == Some(self.config.realm.as_str()) => {
                    ours = Some(p);
                    break;
                }
                Ok(_) => {}
                Err(e) => return bad_request(&format!("Bad credentials: {e}")),
            }
        }
        let Some(params) = ours else {
            return fresh(self, false);
        };
        let checked = match self.usable(request, &params) {
            Ok(c) => c,
            Err(reason) => return bad_request(&reason),
        };
        let Some(nonce) = self.verify_nonce(&checked.nonce) else {
            // Not ours: forged, mangled, or signed with a secret since changed.
            return fresh(self, false);
        };
        let username = checked.username;
        let Some(credentials) = lookup(&username) else {
            return AuthOutcome::Forbidden(Refusal::UnknownUser { username });
        };
        let Some(ha1) = credentials.ha1(checked.algorithm, &username, &self.config.realm) else {
            // The stored hash cannot answer this algorithm: offer only those it can.
            let usable: Vec<Algorithm> = self
                .config
                .algorithms
                .iter()
                .copied()
                .filter(|&a| credentials.supports(a))
                .collect();
            if usable.is_empty() {
                return AuthOutcome::Forbidden(Refusal::WrongResponse { username });
            }
            return AuthOutcome::Challenge(
                self.challenge_with(request, now_ms, random, false, &usable),
            );
        };
        let qop = checked.qop.as_ref().map(|(nc, cnonce)| QopAuth {
            nc: nc.as_str(),
            cnonce: cnonce.as_str(),
        });
        let expected = digest_response(
            checked.algorithm,
            &ha1,
            &checked.nonce,
            qop,
            request.method.as_str(),
            &checked.digest_uri,
        );
        let given = checked.response.to_ascii_lowercase();
        if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
            return AuthOutcome::Forbidden(Refusal::WrongResponse { username });
        }
        let lifetime_ms = u64::try_from(self.config.nonce_lifetime.as_millis()).unwrap_or(u64::MAX);
        let old = now_ms.saturating_sub(nonce.issued_at_ms) > lifetime_ms
            || self
                .forgotten_up_to_ms
                .is_some_and(|t| nonce.issued_at_ms <= t);
        if old {
            return fresh(self, true);
        }
        if let Some(nc) = checked.nonce_count {
            if !self.record_nonce_count(&checked.nonce, nonce.issued_at_ms, nc) {
                // The same count again: a replay, or a reordered retransmission. A new nonce
                // costs a legitimate client one round trip and an attacker everything.
                return fresh(self, true);
            }
        }
        AuthOutcome::Authorized { user: username }
    }

    /// The fields a response needs, present and consistent with what we offered.
    fn usable(&self, request: &Request, p: &DigestParams) -> Result<Usable, String> {
        let need = |value: &Option<String>, name: &str| {
            value
                .clone()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("Bad credentials: no {name}"))
        };
        let username = need(&p.username, "username")?;
        let nonce = need(&p.nonce, "nonce")?;
        let digest_uri = need(&p.uri, "uri")?;
        let response = need(&p.response, "response")?;
        if p.userhash {
            return Err("Bad credentials: userhash is not supported".into());
        }
        let algorithm = match &p.algorithm {
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_token(a)
                .filter(|a| self.config.algorithms.contains(a))
                .ok_or_else(|| format!("Bad credentials: algorithm {a} is not offered"))?,
        };
        if p.algorithm.is_none() && !self.config.algorithms.contains(&Algorithm::Md5) {
            return Err("Bad credentials: no algorithm, and MD5 is not offered".into());
        }
        let (qop, nonce_count) = match p.qop.as_deref() {
            None => (None, None),
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let nc = need(&p.nc, "nc (with qop)")?;
                let cnonce = need(&p.cnonce, "cnonce (with qop)")?;
                let count = p
                    .nonce_count()
                    .ok_or_else(|| "Bad credentials: nc is not eight hex digits".to_string())?;
                (Some((nc, cnonce)), Some(count))
            }
            Some(q) if q.eq_ignore_ascii_case("auth-int") => {
                return Err("Bad credentials: qop=auth-int is not offered, use qop=auth".into())
            }
            Some(_) => return Err("Bad credentials: unknown qop".into()),
        };
        if algorithm.is_session() && qop.is_none() {
            return Err("Bad credentials: a -sess algorithm needs qop=auth".into());
        }
        if !same_target(&digest_uri, &request.uri) {
            return Err("Bad credentials: the digest uri is not the Request-URI".into());
        }
        Ok(Usable {
            username,
            nonce,
            digest_uri,
            response,
            algorithm,
            qop,
            nonce_count,
        })
    }

    /// Records `nc` for `nonce`; false if it is not higher than the highest seen.
    fn record_nonce_count(&mut self, nonce: &str, issued_at_ms: u64, nc: u32) -> bool {
        if let Some(t) = self.tracked.get_mut(nonce) {
            if nc <= t.highest_nc {
                return false;
            }
            t.highest_nc = nc;
            return true;
        }
        while self.tracked.len() >= MAX_TRACKED_NONCES {
            let oldest = self
                .tracked_by_age
                .pop_first()
                .expect("the age index holds every tracked nonce");
            self.tracked.remove(&oldest.1);
            self.forgotten_up_to_ms = Some(self.forgotten_up_to_ms.unwrap_or(0).max(oldest.0));
            if issued_at_ms <= oldest.0 {
                // This nonce is now among the forgotten: it is stale from here on.
                return false;
            }
        }
        self.tracked.insert(
            nonce.to_string(),
            TrackedNonce {
                issued_at_ms,
                highest_nc: nc,
            },
        );
        self.tracked_by_age
            .insert((issued_at_ms, nonce.to_string()));
        debug_assert_eq!(self.tracked.len(), self.tracked_by_age.len());
        true
    }

    /// Drops the counts of nonces past their lifetime: such a nonce is answered with
    /// `stale=true` whatever its count, so remembering it protects nothing.
    fn forget_expired(&mut self, now_ms: u64) {
        let lifetime_ms = u64::try_from(self.config.nonce_lifetime.as_millis()).unwrap_or(u64::MAX);
        while let Some(issued_at_ms) = self.tracked_by_age.first().map(|(t, _)| *t) {
            if now_ms.saturating_sub(issued_at_ms) <= lifetime_ms {
                break;
            }
            let (_, nonce) = self.tracked_by_age.pop_first().expect("just looked");
            let removed = self.tracked.remove(&nonce);
            debug_assert!(removed.is_some_and(|t| t.issued_at_ms == issued_at_ms));
        }
    }

    /// How many nonces have their counts remembered (at most [`MAX_TRACKED_NONCES`]).
    pub fn tracked_nonces(&self) -> usize {
        self.tracked.len()
    }
}

/// A 400 outcome whose reason phrase is safe to print: the reasons quote what the client
/// sent, and a control character (a bare CR survives header parsing) must not end the status
/// line.
fn bad_request(reason: &str) -> AuthOutcome {
    AuthOutcome::BadRequest(
        reason
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    )
}

/// Credentials checked for presence and consistency.
struct Usable {
    username: String,
    nonce: String,
    digest_uri: String,
    response: String,
    algorithm: Algorithm,
    qop: Option<(String, String)>,
    nonce_count: Option<u32>,
}

/// Whether a digest-uri names the Request-URI (RFC 2617 §3.2.2.5), so credentials made for
/// one target are not accepted on another. Compared as SIP URIs (scheme, user, host without
/// case, port), not as strings, because devices print the same URI differently (parameter
/// order, escapes, case).
fn same_target(digest_uri: &str, request_uri: &Uri) -> bool {
    let Ok(uri) = Uri::parse(digest_uri.trim()) else {
        return false;
    };
    uri.scheme == request_uri.scheme
        && uri.user == request_uri.user
        && uri.host.eq_ignore_ascii_case(&request_uri.host)
        && uri.port == request_uri.port
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_params_reads_quotes_escapes_commas_and_spaces() {
        let p = DigestParams::parse(
            "digest  USERNAME = \"a\\\"b,c\" ,, realm=\"r\",nonce=n1 ,Stale=TRUE, x-ext=\"1, 2\"",
        )
        .unwrap();
        assert_eq!(p.username.as_deref(), Some("a\"b,c"));
        assert_eq!(p.realm.as_deref(), Some("r"));
        assert_eq!(p.nonce.as_deref(), Some("n1"));
        assert!(p.stale);
        assert_eq!(p.other, vec![("x-ext".to_string(), "1, 2".to_string())]);
    }

    #[test]
    fn auth_params_refuses_what_cannot_be_read() {
        for (value, wants) in [
            ("Basic dXNlcjpwYXNz", "not Digest"),
            ("Digest realm=\"open", "not closed"),
            ("Digest realm", "no value"),
            ("Digest realm=a realm=b", "comma"),
            ("Digest realm=a, REALM=b", "twice"),
            ("Digest =a", "parameter name"),
        ] {
            let e = DigestParams::parse(value).unwrap_err();
            assert!(e.0.contains(wants), "{value:?}: {e}");
        }
        let many: Vec<String> = (0..=MAX_DIGEST_PARAMS).map(|i| format!("p{i}=1")).collect();
        let e = DigestParams::parse(&format!("Digest {}", many.join(","))).unwrap_err();
        assert!(e.0.contains("more than"), "{e}");
        let long = format!("Digest realm=\"{}\"", "a".repeat(MAX_DIGEST_HEADER_BYTES));
        assert!(DigestParams::parse(&long).unwrap_err().0.contains("bytes"));
    }

    #[test]
    fn a_client_answer_carries_the_response_its_challenge_asks_for() {
        for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
            let server = Authenticator::new(AuthConfig::new("carrier.example", [3; 32])).unwrap();
            let nonce = server.nonce(1_000, [4; NONCE_RANDOM_BYTES]);
            let challenge = DigestParams {
                realm: Some("carrier.example".into()),
                nonce: Some(nonce),
                algorithm: Some(algorithm.to_string()),
                qop: Some("auth-int, auth".into()),
                opaque: Some("op\"aque".into()),
                ..Default::default()
            };
            let value = client_authorization(
                &challenge,
                "trunk01",
                "s3cret",
                "INVITE",
                "sip:4008123123@carrier.example",
                "c1",
            )
            .unwrap();
            let credentials = DigestParams::parse(&value).unwrap();
            assert_eq!(credentials.opaque.as_deref(), Some("op\"aque"));
            assert_eq!(credentials.qop.as_deref(), Some("auth"));
            let ha1 = ha1(algorithm, "trunk01", "carrier.example", "s3cret");
            let expected = digest_response(
                algorithm,
                &ha1,
                challenge.nonce.as_deref().unwrap(),
                Some(QopAuth {
                    nc: "00000001",
                    cnonce: "c1",
                }),
                "INVITE",
                "sip:4008123123@carrier.example",
            );
            assert_eq!(credentials.response.as_deref(), Some(expected.as_str()));
        }
        // No qop offered: the RFC 2069 form; an unknown algorithm: no answer.
        let plain = DigestParams {
            realm: Some("r".into()),
            nonce: Some("n".into()),
            ..Default::default()
        };
        let value = client_authorization(&plain, "u", "p", "INVITE", "sip:x", "c").unwrap();
        let credentials = DigestParams::parse(&value).unwrap();
        assert_eq!(credentials.qop, None);
        let expected = digest_response(
            Algorithm::Md5,
            &ha1(Algorithm::Md5, "u", "r", "p"),
            "n",
            None,
            "INVITE",
            "sip:x",
        );
        assert_eq!(credentials.response.as_deref(), Some(expected.as_str()));
        let odd = DigestParams {
            algorithm: Some("SHA-512-256".into()),
            ..plain
        };
        assert_eq!(
            client_authorization(&odd, "u", "p", "INVITE", "sip:x", "c"),
            None
        );
    }

    #[test]
    fn printed_credentials_read_back() {
        let p = DigestParams {
            username: Some("we\"ird\\".into()),
            realm: Some("r".into()),
            nonce: Some("n".into()),
            uri: Some("sip:x".into()),
            response: Some("ab".into()),
            algorithm: Some("SHA-256".into()),
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("c, d".into()),
            opaque: Some("o".into()),
            ..Default::default()
        };
        assert_eq!(DigestParams::parse(&p.to_string()).unwrap(), p);
    }

    #[test]
    fn nonce_count_needs_eight_hex_digits() {
        let with = |nc: &str| DigestParams {
            nc: Some(nc.into()),
            ..Default::default()
        };
        assert_eq!(with("0000000a").nonce_count(), Some(10));
        assert_eq!(with("1").nonce_count(), None);
        assert_eq!(with("0000000g").nonce_count(), None);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn nonces_verify_only_unaltered_and_with_the_same_secret_and_realm() {
        let a = Authenticator::new(AuthConfig::new("r", [7; 32])).unwrap();
        let nonce = a.nonce(123_456, [9; NONCE_RANDOM_BYTES]);
        assert_eq!(nonce.len(), NONCE_HEX_LEN);
        assert_eq!(a.verify_nonce(&nonce).unwrap().issued_at_ms, 123_456);
        // Any changed digit (time, random or tag) breaks it.
        for i in [0, 20, NONCE_HEX_LEN - 1] {
            let mut altered = nonce.clone().into_bytes();
            altered[i] = if altered[i] == b'0' { b'1' } else { b'0' };
            assert!(a
                .verify_nonce(std::str::from_utf8(&altered).unwrap())
                .is_none());
        }
        let other_secret = Authenticator::new(AuthConfig::new("r", [8; 32])).unwrap();
        assert!(other_secret.verify_nonce(&nonce).is_none());
        let other_realm = Authenticator::new(AuthConfig::new("s", [7; 32])).unwrap();
        assert!(other_realm.verify_nonce(&nonce).is_none());
        assert!(a.verify_nonce("zz").is_none());
    }

    #[test]
    fn stored_ha1_must_match_its_algorithm_and_be_hex() {
        let md5 = Credentials::Ha1Md5("A".repeat(32));
        assert_eq!(
            md5.ha1(Algorithm::Md5Sess, "u", "r").as_deref(),
            Some("a".repeat(32).as_str())
        );
        assert!(md5.ha1(Algorithm::Sha256, "u", "r").is_none());
        assert!(Credentials::Ha1Md5("xyz".into())
            .ha1(Algorithm::Md5, "u", "r")
            .is_none());
        assert!(Credentials::Password("p".into()).supports(Algorithm::Sha256Sess));
        assert_eq!(
            format!("{:?}", Credentials::Password("secret".into())),
            "Password(…)"
        );
    }

    #[test]
    fn config_without_algorithms_is_refused() {
        let mut config = AuthConfig::new("r", [0; 32]);
        config.algorithms.clear();
        assert!(Authenticator::new(config).is_err());
        let mut config = AuthConfig::new("r\r\n", [0; 32]);
        config.algorithms = vec![Algorithm::Md5];
        assert!(Authenticator::new(config).is_err());
    }
}
