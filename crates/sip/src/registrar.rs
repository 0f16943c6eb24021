//! The registrar (RFC 3261 §10), sans-IO: who is reachable where.
//!
//! The principal type is [`Registrar`]. The driver authenticates a REGISTER first (see
//! [`crate::Authenticator`]), then hands it to [`Registrar::handle_register`] with the address
//! it came from, the time and the authenticated user, and sends the [`Response`] it returns.
//! To reach a user it calls [`Registrar::lookup`]; it sleeps until [`Registrar::next_expiry`]
//! and then calls [`Registrar::expire`], which says which bindings lapsed.
//!
//! **Addresses of record.** hotline serves one domain, so an address-of-record
//! `sip:user@domain` is keyed by its user part alone, as written after `%` escapes are
//! resolved and compared case-sensitively (RFC 3261 §19.1.4 compares user parts that way).
//! The host part of the To URI and of the Request-URI is not checked: phones are set up with
//! the server's name, its IP address or a DNS alias, and all of them mean this server.
//!
//! **Limits.** Each user has at most [`RegistrarConfig::max_contacts_per_aor`] bindings (a
//! REGISTER that would add more gets 403: it is a policy, retrying will not help), and at most
//! [`RegistrarConfig::max_aors`] users have bindings at once (more gets 503 with
//! Retry-After: it is capacity).
//!
//! **Bindings.** A binding is identified by its contact URI (compared as [`contact_key`]
//! says). A new contact with the same `+sip.instance` as a live binding replaces that binding,
//! so a phone whose NAT mapping changed does not leave its old address behind (RFC 5626 §6,
//! without outbound's reg-id flows, which hotline does not support). Nothing is supported in
//! `Require`: a REGISTER that requires an extension gets 420.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::message::{Contact, Request, Response};
use crate::values::{Method, NameAddr, Scheme, Uri};

/// How long a binding lasts when the REGISTER names no expiry (RFC 3261 §10.2.1.1 suggests
/// an hour).
pub const DEFAULT_EXPIRES: Duration = Duration::from_secs(3600);
/// The shortest registration accepted; shorter ones get 423 with this as Min-Expires. A
/// minute keeps refresh traffic bounded however a phone is configured.
pub const DEFAULT_MIN_EXPIRES: Duration = Duration::from_secs(60);
/// The longest registration granted; longer requests are shortened to this, so a phone that
/// disappears is forgotten within two hours.
pub const DEFAULT_MAX_EXPIRES: Duration = Duration::from_secs(7200);
/// The most bindings one user may have (desk phone, softphone, mobile, with room to spare).
pub const DEFAULT_MAX_CONTACTS_PER_AOR: usize = 10;
/// The most users with bindings at once.
pub const DEFAULT_MAX_AORS: usize = 100_000;
/// The Retry-After, in seconds, on a 503 for a full registrar.
pub const FULL_RETRY_AFTER_SECONDS: u32 = 60;
/// The most Contact values read from one REGISTER; more is a 400 before any work is done.
pub const MAX_CONTACTS_PER_REQUEST: usize = 32;

/// How a [`Registrar`] behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// The user parts that may register; any other gets 404.
    pub known_users: BTreeSet<String>,
    /// The expiry used when the REGISTER names none.
    pub default_expires: Duration,
    /// The shortest expiry accepted (423 below, with Min-Expires).
    pub min_expires: Duration,
    /// The longest expiry granted (longer ones are shortened).
    pub max_expires: Duration,
    /// The most bindings per user (403 beyond).
    pub max_contacts_per_aor: usize,
    /// The most users with bindings (503 beyond).
    pub max_aors: usize,
}

impl RegistrarConfig {
    /// The defaults ([`DEFAULT_EXPIRES`] and the other `DEFAULT_` consts) for these users.
    pub fn new<I, S>(known_users: I) -> RegistrarConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RegistrarConfig {
            known_users: known_users.into_iter().map(Into::into).collect(),
            default_expires: DEFAULT_EXPIRES,
            min_expires: DEFAULT_MIN_EXPIRES,
            max_expires: DEFAULT_MAX_EXPIRES,
            max_contacts_per_aor: DEFAULT_MAX_CONTACTS_PER_AOR,
            max_aors: DEFAULT_MAX_AORS,
        }
    }
}

/// A q value (RFC 3261 §20.10) in thousandths, 0 to 1000, so it orders and compares exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QValue(u16);

impl QValue {
    /// The highest preference, which a contact without `q` is treated as having.
    pub const MAX: QValue = QValue(1000);

    /// Reads `0`, `0.5`, `1.000` and the like: a 0 or 1 with at most three decimals, at most 1.
    pub fn parse(text: &str) -> Option<QValue> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if !matches!(whole, "0" | "1")
            || fraction.len() > 3
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
        let value = if whole == "1" { 1000 } else { 0 } + thousandths;
        (value <= 1000).then_some(QValue(value))
    }

    /// The value in thousandths.
    pub fn thousandths(self) -> u16 {
        self.0
    }
}

impl std::fmt::Display for QValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            0 => f.write_str("0"),
            1000 => f.write_str("1"),
            v => write!(f, "0.{}", format!("{v:03}").trim_end_matches('0')),
        }
    }
}

/// One contact where a user can be reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The contact URI, as the phone wrote it.
    pub contact: Uri,
    /// When the binding lapses, on the driver's `now_ms` scale.
    pub expires_at_ms: u64,
    /// The preference among the user's contacts, if the phone gave one.
    pub q: Option<QValue>,
    /// The Call-ID of the REGISTER that last wrote it (RFC 3261 §10.3 step 7).
    pub call_id: String,
    /// The CSeq number of that REGISTER; a later one with the same Call-ID must be higher.
    pub cseq: u32,
    /// Where that REGISTER came from: where to send requests when the contact is a private
    /// address behind NAT.
    pub source: SocketAddr,
    /// The `+sip.instance` parameter (RFC 5626), the device's stable identity.
    pub instance: Option<String>,
    /// When the binding was last written, to order equal q values by recency.
    pub updated_at_ms: u64,
}

impl Binding {
    /// Whole seconds left at `now_ms`, rounded up so a live binding never shows 0.
    pub fn remaining_seconds(&self, now_ms: u64) -> u64 {
        self.expires_at_ms.saturating_sub(now_ms).div_ceil(1000)
    }

    fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at_ms > now_ms
    }

    /// The Contact value a 200 OK lists: the URI with `expires`, `q` and `+sip.instance`.
    fn contact_value(&self, now_ms: u64) -> String {
        let mut value = format!(
            "<{}>;expires={}",
            self.contact,
            self.remaining_seconds(now_ms)
        );
        if let Some(q) = self.q {
            value.push_str(&format!(";q={q}"));
        }
        if let Some(instance) = &self.instance {
            value.push_str(&format!(
                ";+sip.instance=\"{}\"",
                instance.replace('\\', "\\\\").replace('"', "\\\"")
            ));
        }
        value
    }
}

/// A binding that lapsed, as [`Registrar::expire`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiredBinding {
    /// The user (address-of-record key) it belonged to.
    pub user: String,
    /// The binding as it was.
    pub binding: Binding,
}

/// The identity of a contact URI within one address-of-record: scheme, user, host in lower
/// case, port, and the URI parameters with lower-cased names, sorted (a simplification of
/// RFC 3261 §19.1.4 that treats an absent port or parameter as different from a default one,
/// which at worst keeps two bindings where one would do until the older one expires).
pub fn contact_key(uri: &Uri) -> String {
    let mut params: Vec<String> = uri
        .params
        .0
        .iter()
        .map(|(n, v)| match v {
            Some(v) => format!("{}={}", n.to_ascii_lowercase(), v.to_ascii_lowercase()),
            None => n.to_ascii_lowercase(),
        })
        .collect();
    params.sort();
    let scheme = match uri.scheme {
        Scheme::Sip => "sip",
        Scheme::Sips => "sips",
        Scheme::Tel => "tel",
    };
    format!(
        "{scheme}:{}@{}:{};{}",
        uri.user.as_deref().unwrap_or(""),
        uri.host.to_ascii_lowercase(),
        uri.port.map_or(String::new(), |p| p.to_string()),
        params.join(";")
    )
}

/// Where [`Registrar::next_expiry`] looks: every binding by (expiry, user, contact key).
type ExpiryIndex = BTreeSet<(u64, String, String)>;

/// The bindings of every user, with an index by expiry time.
#[derive(Debug)]
pub struct Registrar {
    config: RegistrarConfig,
    /// Per user, the bindings: live ones (at most `max_contacts_per_aor`), and lapsed ones
    /// [`Registrar::expire`] has not yet reported. No two share a [`contact_key`]; no user
    /// has an empty list.
    aors: BTreeMap<String, Vec<Binding>>,
    expiries: ExpiryIndex,
}

/// A REGISTER refused before anything changed: the status, the reason phrase and any header
/// the response needs (Min-Expires, Retry-After, Unsupported).
struct Refused {
    status: u16,
    reason: String,
    header: Option<(&'static str, String)>,
}

fn refuse(status: u16, reason: impl Into<String>) -> Refused {
    Refused {
        status,
        reason: reason.into(),
        header: None,
    }
}

/// One Contact of a REGISTER, read and checked.
struct Requested {
    contact: Uri,
    key: String,
    expires_seconds: u64,
    q: Option<QValue>,
    instance: Option<String>,
}

impl Registrar {
    /// A registrar with no bindings; refuses a configuration whose expiry bounds contradict
    /// each other or whose limits are zero.
    pub fn new(config: RegistrarConfig) -> Result<Registrar, crate::auth::ConfigError> {
        let err = |m: &str| Err(crate::auth::ConfigError(m.to_string()));
        if config.min_expires > config.max_expires {
            return err("min_expires is longer than max_expires");
        }
        if config.default_expires < config.min_expires
            || config.default_expires > config.max_expires
        {
            return err("default_expires is outside min_expires..=max_expires");
        }
        if config.min_expires.is_zero() {
            return err("min_expires must be at least a second");
        }
        if config.max_contacts_per_aor == 0 || config.max_aors == 0 {
            return err("max_contacts_per_aor and max_aors must be at least 1");
        }
        Ok(Registrar {
            config,
            aors: BTreeMap::new(),
            expiries: BTreeSet::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// Answers a REGISTER (RFC 3261 §10.3) that `authorised_user` sent from `source` at
    /// `now_ms`, changing the bindings only if the whole request is acceptable:
    ///
    /// - 400 when it is not a REGISTER, or To, Call-ID, CSeq, Contact, Expires, a contact's
    ///   `expires` or `q` cannot be read, or `Contact: *` comes with anything but `Expires: 0`
    ///   and no other contact;
    /// - 420 when it requires an extension (none is supported);
    /// - 403 when the To user is not `authorised_user`, or the user would have more than
    ///   `max_contacts_per_aor` bindings;
    /// - 404 when the To user is not a known user;
    /// - 423 with Min-Expires when a non-zero expiry is shorter than `min_expires`;
    /// - 500 when a binding was last written by a REGISTER with the same Call-ID and a CSeq
    ///   that is not lower (a retransmission or a reordered request, §10.3 step 7);
    /// - 503 with Retry-After when `max_aors` users already have bindings;
    /// - otherwise 200 with every live binding of the user and its remaining `expires`.
    ///
    /// A contact's `expires` parameter wins over the Expires header, which wins over
    /// `default_expires`; longer than `max_expires` is shortened; 0 removes the binding. The
    /// response copies Via, From, To, Call-ID and CSeq, and adds a To tag (kept from the
    /// request if it has one, otherwise derived from Call-ID, From tag and CSeq, so a
    /// retransmission gets the same tag).
    pub fn handle_register(
        &mut self,
        request: &Request,
        source: SocketAddr,
        now_ms: u64,
        authorised_user: &str,
    ) -> Response {
        let (status, reason, header, user) =
            match self.try_register(request, source, now_ms, authorised_user) {
                Ok(user) => (200, "OK".to_string(), None, Some(user)),
                Err(r) => (r.status, r.reason, r.header, None),
            };
        let mut response = request.response(status, &sanitise_reason(&reason));
        // Kept as it is if the request's To has a tag already.
        response.add_to_tag(&derived_to_tag(request));
        if let Some((name, value)) = header {
            response.headers.push(name, value);
        }
        if let Some(user) = user {
            for binding in self.live_sorted(&user, now_ms) {
                response
                    .headers
                    .push("Contact", binding.contact_value(now_ms));
            }
        }
        response
    }

    fn try_register(
        &mut self,
        request: &Request,
        source: SocketAddr,
        now_ms: u64,
        authorised_user: &str,
    ) -> Result<String, Refused> {
        if request.method != Method::Register {
            return Err(refuse(
                400,
                format!("Not a REGISTER but {}", request.method),
            ));
        }
        if let Some(require) = request.headers.get("Require") {
            return Err(Refused {
                status: 420,
                reason: "Bad Extension".into(),
                header: Some(("Unsupported", require.to_string())),
            });
        }
        let to = request
            .headers
            .to()
            .ok_or_else(|| refuse(400, "To cannot be read"))?;
        let user = aor_user(&to)?;
        if user != authorised_user {
            return Err(refuse(
                403,
                "Forbidden (the To user is not the authenticated user)",
            ));
        }
        if !self.config.known_users.contains(&user) {
            return Err(refuse(404, "Not Found (no such user)"));
        }
        let call_id = request
            .headers
            .call_id()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| refuse(400, "No Call-ID"))?
            .to_string();
        let cseq = request
            .headers
            .cseq()
            .ok_or_else(|| refuse(400, "CSeq cannot be read"))?
            .seq;
        let header_expires = match request.headers.get("Expires") {
            None => None,
            Some(v) => Some(
                parse_seconds(v)
                    .ok_or_else(|| refuse(400, "Expires is not a number of seconds"))?,
            ),
        };
        let contact_count = request.headers.get_all("Contact").len();
        if contact_count > MAX_CONTACTS_PER_REQUEST {
            return Err(refuse(
                400,
                format!("More than {MAX_CONTACTS_PER_REQUEST} Contact values"),
            ));
        }
        let contacts = request
            .headers
            .contacts()
            .ok_or_else(|| refuse(400, "A Contact cannot be read"))?;
        if contacts.contains(&Contact::Star) {
            if contacts.len() != 1 || header_expires != Some(0) {
                return Err(refuse(
                    400,
                    "Contact: * needs Expires: 0 and no other Contact",
                ));
            }
            self.remove_all(&user, &call_id, cseq, now_ms)?;
            return Ok(user);
        }
        let requested = self.read_contacts(&contacts, header_expires)?;
        self.apply(&user, requested, &call_id, cseq, source, now_ms)?;
        Ok(user)
    }

    /// Reads each Contact's URI, expiry (clamped) and q; 423 if any non-zero expiry is too
    /// short.
    fn read_contacts(
        &self,
        contacts: &[Contact],
        header_expires: Option<u64>,
    ) -> Result<Vec<Requested>, Refused> {
        let min = self.config.min_expires.as_secs();
        let max = self.config.max_expires.as_secs();
        let mut out = Vec::new();
        for contact in contacts {
            let Contact::Address(address) = contact else {
                unreachable!("Contact: * was handled before");
            };
            let param_expires = match address.params.get("expires") {
                None => None,
                Some(v) => Some(v.and_then(parse_seconds).ok_or_else(|| {
                    refuse(400, "A contact's expires is not a number of seconds")
                })?),
            };
            let expires = param_expires
                .or(header_expires)
                .unwrap_or(self.config.default_expires.as_secs());
            if expires != 0 && expires < min {
                return Err(Refused {
                    status: 423,
                    reason: "Interval Too Brief".into(),
                    header: Some(("Min-Expires", min.to_string())),
                });
            }
            let q = match address.params.get("q") {
                None => None,
                Some(v) => Some(
                    v.and_then(QValue::parse)
                        .ok_or_else(|| refuse(400, "A contact's q is not 0 to 1"))?,
                ),
            };
            let instance = address
                .params
                .get("+sip.instance")
                .flatten()
                .map(str::to_string);
            out.push(Requested {
                key: contact_key(&address.uri),
                contact: address.uri.clone(),
                expires_seconds: expires.min(max),
                q,
                instance,
            });
        }
        Ok(out)
    }

    /// Applies the requested contacts to a copy of the user's live bindings and stores the
    /// copy only if every step was acceptable.
    fn apply(
        &mut self,
        user: &str,
        requested: Vec<Requested>,
        call_id: &str,
        cseq: u32,
        source: SocketAddr,
        now_ms: u64,
    ) -> Result<(), Refused> {
        let existing = self.aors.get(user).cloned().unwrap_or_default();
        let mut bindings: Vec<Binding> = existing
            .iter()
            .filter(|b| b.is_live(now_ms))
            .cloned()
            .collect();
        // Contacts this request wrote: a second mention of one in the same request is not
        // out of order, it just replaces the first.
        let mut written: Vec<String> = Vec::new();
        for r in requested {
            let same_contact = bindings
                .iter()
                .position(|b| contact_key(&b.contact) == r.key);
            let same_instance = r
                .instance
                .as_ref()
                .and_then(|i| bindings.iter().position(|b| b.instance.as_ref() == Some(i)));
            let earlier = |i: usize| !written.contains(&contact_key(&bindings[i].contact));
            if let Some(i) = same_contact.filter(|&i| earlier(i)) {
                check_order(&bindings[i], call_id, cseq)?;
            }
            if let Some(i) = same_instance.filter(|&i| earlier(i)) {
                check_order(&bindings[i], call_id, cseq)?;
            }
            written.push(r.key.clone());
            if r.expires_seconds == 0 {
                // Removes that contact; an instance id alone removes nothing.
                if let Some(i) = same_contact {
                    bindings.remove(i);
                }
                continue;
            }
            let binding = Binding {
                contact: r.contact,
                expires_at_ms: now_ms.saturating_add(r.expires_seconds.saturating_mul(1000)),
                q: r.q,
                call_id: call_id.to_string(),
                cseq,
                source,
                instance: r.instance,
                updated_at_ms: now_ms,
            };
            match same_contact.or(same_instance) {
                Some(i) => {
                    bindings[i] = binding;
                    // A contact matching one binding and an instance matching another: keep
                    // one binding for the device.
                    if let (Some(c), Some(n)) = (same_contact, same_instance) {
                        if c != n {
                            bindings.remove(n);
                        }
                    }
                }
                None => bindings.push(binding),
            }
        }
        if bindings.len() > self.config.max_contacts_per_aor {
            return Err(refuse(
                403,
                format!(
                    "Forbidden (at most {} contacts per user)",
                    self.config.max_contacts_per_aor
                ),
            ));
        }
        let new_user = !self.aors.contains_key(user);
        if new_user && !bindings.is_empty() && self.aors.len() >= self.config.max_aors {
            return Err(Refused {
                status: 503,
                reason: "Service Unavailable (registrar full)".into(),
                header: Some(("Retry-After", FULL_RETRY_AFTER_SECONDS.to_string())),
            });
        }
        // Lapsed bindings stay until `expire` reports them, unless this request re-created
        // their contact.
        let lapsed = existing.into_iter().filter(|b| {
            !b.is_live(now_ms)
                && !bindings
                    .iter()
                    .any(|n| contact_key(&n.contact) == contact_key(&b.contact))
        });
        let stored: Vec<Binding> = bindings.iter().cloned().chain(lapsed).collect();
        self.store(user, stored);
        Ok(())
    }

    /// `Contact: *`: removes every live binding, if none was written by a later or the same
    /// request of this Call-ID.
    fn remove_all(
        &mut self,
        user: &str,
        call_id: &str,
        cseq: u32,
        now_ms: u64,
    ) -> Result<(), Refused> {
        let existing = self.aors.get(user).cloned().unwrap_or_default();
        for binding in existing.iter().filter(|b| b.is_live(now_ms)) {
            check_order(binding, call_id, cseq)?;
        }
        let lapsed = existing
            .into_iter()
            .filter(|b| !b.is_live(now_ms))
            .collect();
        self.store(user, lapsed);
        Ok(())
    }

    /// Replaces a user's bindings, keeping the expiry index in step.
    fn store(&mut self, user: &str, bindings: Vec<Binding>) {
        if let Some(old) = self.aors.remove(user) {
            for b in old {
                let removed = self.expiries.remove(&(
                    b.expires_at_ms,
                    user.to_string(),
                    contact_key(&b.contact),
                ));
                debug_assert!(removed, "every binding is in the expiry index");
            }
        }
        if bindings.is_empty() {
            return;
        }
        for b in &bindings {
            let inserted =
                self.expiries
                    .insert((b.expires_at_ms, user.to_string(), contact_key(&b.contact)));
            debug_assert!(inserted, "no two bindings of a user share a contact");
        }
        self.aors.insert(user.to_string(), bindings);
    }

    fn live_sorted(&self, user: &str, now_ms: u64) -> Vec<Binding> {
        let mut live: Vec<Binding> = self
            .aors
            .get(user)
            .into_iter()
            .flatten()
            .filter(|b| b.is_live(now_ms))
            .cloned()
            .collect();
        live.sort_by(|a, b| {
            let q = |x: &Binding| x.q.unwrap_or(QValue::MAX);
            q(b).cmp(&q(a))
                .then(b.updated_at_ms.cmp(&a.updated_at_ms))
                .then_with(|| contact_key(&a.contact).cmp(&contact_key(&b.contact)))
        });
        live
    }

    /// Where `user` can be reached at `now_ms`: its live bindings, highest q first (no q
    /// counts as 1), then the most recently written, then by contact so the order is always
    /// the same. Lapsed bindings are never returned, even before [`Registrar::expire`].
    pub fn lookup(&self, user: &str, now_ms: u64) -> Vec<Binding> {
        self.live_sorted(user, now_ms)
    }

    /// Removes every binding lapsed by `now_ms` and says which, earliest first, so the
    /// server can log them and stop routing to those contacts.
    pub fn expire(&mut self, now_ms: u64) -> Vec<ExpiredBinding> {
        let mut out = Vec::new();
        while let Some((expires_at_ms, user, key)) = self.expiries.first().cloned() {
            if expires_at_ms > now_ms {
                break;
            }
            self.expiries.pop_first();
            let bindings = self
                .aors
                .get_mut(&user)
                .expect("the expiry index names only users with bindings");
            let i = bindings
                .iter()
                .position(|b| contact_key(&b.contact) == key)
                .expect("the expiry index names only stored bindings");
            let binding = bindings.remove(i);
            debug_assert_eq!(binding.expires_at_ms, expires_at_ms);
            if bindings.is_empty() {
                self.aors.remove(&user);
            }
            out.push(ExpiredBinding { user, binding });
        }
        out
    }

    /// Changes who may register (an account added or removed while the server runs). A
    /// user no longer known loses every binding at once, lapsed or not: they are returned,
    /// in name order, so the server can stop routing to them. Their phone is told nothing;
    /// its next REGISTER gets 404.
    pub fn set_known_users<I, S>(&mut self, users: I) -> Vec<String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.known_users = users.into_iter().map(Into::into).collect();
        let gone: Vec<String> = self
            .aors
            .keys()
            .filter(|user| !self.config.known_users.contains(*user))
            .cloned()
            .collect();
        for user in &gone {
            self.store(user, Vec::new());
        }
        gone
    }

    /// Drops every binding of `user` at once (their credentials changed: what the old ones
    /// registered no longer counts). Says whether there were any.
    pub fn unbind(&mut self, user: &str) -> bool {
        let had = self.aors.contains_key(user);
        self.store(user, Vec::new());
        had
    }

    /// When the next binding lapses: the time to call [`Registrar::expire`] at.
    pub fn next_expiry(&self) -> Option<u64> {
        self.expiries.first().map(|(t, _, _)| *t)
    }

    /// How many users have bindings (lapsed ones included until expired).
    pub fn aor_count(&self) -> usize {
        self.aors.len()
    }
}

/// The user part of the To URI, the key of the address-of-record.
fn aor_user(to: &NameAddr) -> Result<String, Refused> {
    if to.uri.scheme == Scheme::Tel {
        return Err(refuse(400, "To is not a sip: or sips: URI"));
    }
    match &to.uri.user {
        Some(user) if !user.is_empty() => Ok(user.clone()),
        _ => Err(refuse(400, "To has no user part")),
    }
}

/// RFC 3261 §10.3 step 7: a binding written by this Call-ID may only be changed by a higher
/// CSeq.
fn check_order(binding: &Binding, call_id: &str, cseq: u32) -> Result<(), Refused> {
    if binding.call_id == call_id && cseq <= binding.cseq {
        return Err(refuse(
            500,
            "Server Internal Error (REGISTER out of order: CSeq not higher than before)",
        ));
    }
    Ok(())
}

/// delta-seconds: digits only; values past 2³²−1 are read as 2³²−1 (RFC 3261 §20.19 allows
/// it, and the maximum expiry shortens them anyway).
fn parse_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        text.parse::<u64>()
            .unwrap_or(u64::MAX)
            .min(u64::from(u32::MAX)),
    )
}

/// A reason phrase without control characters, so nothing a caller put in one can end the
/// status line.
fn sanitise_reason(reason: &str) -> String {
    reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The To tag of a registrar's responses (RFC 3261 §8.2.6.2): derived from Call-ID, From
/// tag and CSeq, so no randomness is needed and a retransmission gets the same tag.
fn derived_to_tag(request: &Request) -> String {
    let mut hash = Sha256::new();
    for part in [
        request.headers.call_id().unwrap_or(""),
        request
            .headers
            .from()
            .as_ref()
            .and_then(|f| f.tag())
            .unwrap_or(""),
        request.headers.get("CSeq").unwrap_or(""),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_read_and_print() {
        for (text, thousandths, printed) in [
            ("0", 0, "0"),
            ("0.000", 0, "0"),
            ("0.5", 500, "0.5"),
            ("0.125", 125, "0.125"),
            ("1", 1000, "1"),
            ("1.000", 1000, "1"),
            ("0.05", 50, "0.05"),
        ] {
            let q = QValue::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(q.thousandths(), thousandths, "{text}");
            assert_eq!(q.to_string(), printed, "{text}");
        }
        for bad in ["1.001", "2", "0.1234", "", ".5", "0.x", "-0"] {
            assert_eq!(QValue::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn seconds_are_digits_and_saturate() {
        assert_eq!(parse_seconds(" 60 "), Some(60));
        assert_eq!(
            parse_seconds("99999999999999999999999"),
            Some(u64::from(u32::MAX))
        );
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("1h"), None);
        assert_eq!(parse_seconds(""), None);
    }

    #[test]
    fn contact_keys_ignore_host_case_and_parameter_order() {
        let a = Uri::parse("sip:alice@HOST.example.com:5060;transport=TCP;ob").unwrap();
        let b = Uri::parse("sip:alice@host.example.com:5060;ob;transport=tcp").unwrap();
        let c = Uri::parse("sip:alice@host.example.com:5062;ob;transport=tcp").unwrap();
        assert_eq!(contact_key(&a), contact_key(&b));
        assert_ne!(contact_key(&a), contact_key(&c));
    }

    #[test]
    fn config_contradictions_are_refused() {
        let base = RegistrarConfig::new(["alice"]);
        assert!(Registrar::new(base.clone()).is_ok());
        let mut c = base.clone();
        c.min_expires = Duration::from_secs(9000);
        assert!(Registrar::new(c).is_err());
        let mut c = base.clone();
        c.default_expires = Duration::from_secs(10);
        assert!(Registrar::new(c).is_err());
        let mut c = base.clone();
        c.max_aors = 0;
        assert!(Registrar::new(c).is_err());
        let mut c = base;
        c.min_expires = Duration::ZERO;
        c.default_expires = Duration::from_secs(60);
        assert!(Registrar::new(c).is_err());
    }

    #[test]
    fn reasons_lose_control_characters() {
        assert_eq!(sanitise_reason("a\r\nb"), "a  b");
    }
}
