//! A scripted SIP phone, sans-IO: the callers and agents of `hotline demo` and of the
//! switch's tests. It is a real user agent on hotline's own SIP core (transactions, dialogs,
//! digest), so what it exchanges with the switch is what a softphone would.
//!
//! A [`Phone`] registers (answering digest challenges), places calls ([`Phone::call`]) that
//! it may give up on (CANCEL) or hang up after a talk time, and answers incoming calls as its
//! [`Answer`] script says: after some ringing, with a busy or decline, or never. It reports
//! what happened as [`PhoneEvent`]s. Media is not sent: the SDP names
//! [`PhoneConfig::rtp_port`], where a driver may send and receive it ([`Phone::remote_media`]).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;

use hotline_sip::{
    new_branch, Algorithm, Dialog, DigestParams, Headers, Message, Method, Millis, Peer, Request,
    Response, TransactionConfig, TransactionEvent, TransactionId, Transactions, Transmit, Uri,
};

/// How a phone answers incoming calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Rings for `ring_ms`, answers, and hangs up after `talk_ms` (or waits for the other
    /// side when `None`).
    After {
        /// Ringing before answering.
        ring_ms: Millis,
        /// Talking before hanging up.
        talk_ms: Option<Millis>,
    },
    /// Answers at once with this failure (486 busy, 603 decline).
    Reject {
        /// The status.
        status: u16,
    },
    /// Rings until cancelled.
    Never,
}

/// A phone's settings.
#[derive(Clone, Debug)]
pub struct PhoneConfig {
    /// The SIP user.
    pub user: String,
    /// Its password (for digest).
    pub password: String,
    /// The domain of its address-of-record.
    pub domain: String,
    /// Its own address.
    pub local: SocketAddr,
    /// The switch.
    pub server: Peer,
    /// How it answers.
    pub answer: Answer,
    /// The RTP port its SDP names (on its SIP address); the phone itself sends no media.
    pub rtp_port: u16,
    /// Seeds its tags, Call-IDs and branches.
    pub seed: u64,
}

/// What happened at a phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhoneEvent {
    /// The registration was accepted for this many seconds.
    Registered {
        /// Granted expiry.
        expires: u32,
    },
    /// The registration was refused.
    RegisterFailed {
        /// The status.
        status: u16,
    },
    /// A call is ringing here.
    Incoming {
        /// The call's Call-ID.
        call: String,
        /// The caller as the From header shows it (display name or user).
        from: String,
    },
    /// This phone answered a call ringing here.
    Picked {
        /// The call.
        call: String,
    },
    /// A call this phone placed was answered.
    Answered {
        /// The call.
        call: String,
    },
    /// A call ended. `status` is the final failure status for a call never answered, 200
    /// for one that was.
    Ended {
        /// The call.
        call: String,
        /// The status.
        status: u16,
        /// Whether the other side ended it.
        by_remote: bool,
    },
}

/// The phone's SDP: G.711 (A-law first) and telephone-event on `port` of `ip`.
fn sdp(ip: std::net::IpAddr, port: u16) -> Vec<u8> {
    let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
    format!(
        "v=0\r\no=hotline 1 1 IN {family} {ip}\r\ns=-\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n"
    )
    .into_bytes()
}

/// The address the other side's SDP gives for audio.
fn media_address(body: &[u8]) -> Option<SocketAddr> {
    let description = hotline_media::sdp::SessionDescription::parse_bytes(body).ok()?;
    let audio = description.media.iter().find(|m| m.media == "audio")?;
    let ip = audio
        .connection
        .as_ref()
        .or(description.connection.as_ref())?
        .address
        .parse()
        .ok()?;
    Some(SocketAddr::new(ip, audio.port))
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Answer(String),
    Hangup(String),
    GiveUp(String),
    Reregister,
}

struct PhoneCall {
    txn: TransactionId,
    invite: Request,
    outgoing: bool,
    dialog: Option<Dialog>,
    tag: String,
    talk_ms: Option<Millis>,
    ended: bool,
    /// We cancelled it while it rang; a 2xx that crossed the CANCEL is hung up at once.
    gave_up: bool,
    /// Where the other side wants our audio (from its offer or answer).
    remote_media: Option<SocketAddr>,
    /// A re-INVITE of ours (hold, resume) waiting for its answer.
    reinvite: Option<TransactionId>,
    /// We sent no offer: our answer goes in the ACK.
    late_offer: bool,
}

/// The phone. See the module documentation.
pub struct Phone {
    config: PhoneConfig,
    transactions: Transactions,
    rng: u64,
    register_txn: Option<TransactionId>,
    register_call_id: String,
    register_cseq: u32,
    register_attempts: u32,
    calls: HashMap<String, PhoneCall>,
    by_txn: HashMap<TransactionId, String>,
    timers: BTreeSet<(Millis, Action)>,
    events: VecDeque<PhoneEvent>,
}

/// How often a phone answers a challenge in a row before giving up.
const MAX_AUTH_ATTEMPTS: u32 = 2;

impl Phone {
    /// A phone that has not registered yet.
    pub fn new(config: PhoneConfig) -> Phone {
        let mut rng = config.seed ^ 0xa076_1d64_78bd_642f;
        let register_call_id =
            format!("{:016x}@{}", hotline_sip::splitmix64(&mut rng), config.user);
        Phone {
            transactions: Transactions::new(TransactionConfig::default()),
            rng,
            register_txn: None,
            register_call_id,
            register_cseq: 0,
            register_attempts: 0,
            calls: HashMap::new(),
            by_txn: HashMap::new(),
            timers: BTreeSet::new(),
            events: VecDeque::new(),
            config,
        }
    }

    /// Its address.
    pub fn local(&self) -> SocketAddr {
        self.config.local
    }

    /// Where the other side of `call` receives audio, once known (its SDP).
    pub fn remote_media(&self, call: &str) -> Option<SocketAddr> {
        self.calls.get(call).and_then(|c| c.remote_media)
    }

    fn sdp(&self) -> Vec<u8> {
        sdp(self.config.local.ip(), self.config.rtp_port)
    }

    /// Calls not yet ended.
    pub fn active_calls(&self) -> usize {
        self.calls.values().filter(|c| !c.ended).count()
    }

    fn random(&mut self) -> u64 {
        hotline_sip::splitmix64(&mut self.rng)
    }

    fn via(&mut self) -> String {
        let branch = new_branch(self.random());
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            self.config.server.transport.via_token(),
            self.config.local
        )
    }

    fn contact(&self) -> String {
        format!("<sip:{}@{}>", self.config.user, self.config.local)
    }

    fn aor(&self) -> String {
        format!("sip:{}@{}", self.config.user, self.config.domain)
    }

    /// Registers for `expires` seconds (and refreshes at half of what is granted).
    pub fn register(&mut self, now: Millis, expires: u32) {
        self.register_attempts = 0;
        self.send_register(now, expires, None);
    }

    fn send_register(&mut self, now: Millis, expires: u32, authorization: Option<String>) {
        self.register_cseq += 1;
        let via = self.via();
        let tag = format!("r{:08x}", self.random() as u32);
        let mut headers = Headers::default();
        headers.push("Via", via);
        headers.push("Max-Forwards", "70");
        headers.push("From", format!("<{}>;tag={tag}", self.aor()));
        headers.push("To", format!("<{}>", self.aor()));
        headers.push("Call-ID", self.register_call_id.clone());
        headers.push("CSeq", format!("{} REGISTER", self.register_cseq));
        headers.push("Contact", self.contact());
        headers.push("Expires", expires.to_string());
        if let Some(authorization) = authorization {
            headers.push("Authorization", authorization);
        }
        let uri = Uri::parse(&format!("sip:{}", self.config.domain)).expect("a domain URI");
        let request = Request {
            method: Method::Register,
            uri,
            headers,
            body: Vec::new(),
        };
        if let Ok(txn) = self
            .transactions
            .send_request(now, request, self.config.server)
        {
            self.register_txn = Some(txn);
        }
    }

    /// Places a call to `number`; hangs up `talk_ms` after it is answered, gives up
    /// (CANCEL) if it is not answered within `give_up_ms`. Returns its Call-ID.
    pub fn call(
        &mut self,
        now: Millis,
        number: &str,
        talk_ms: Option<Millis>,
        give_up_ms: Option<Millis>,
    ) -> String {
        self.place(now, number, talk_ms, give_up_ms, false)
    }

    /// [`Phone::call`] with a late offer: the INVITE has no SDP, the 200 brings the other
    /// side's offer and our answer goes in the ACK, as some carriers do.
    pub fn call_late_offer(
        &mut self,
        now: Millis,
        number: &str,
        talk_ms: Option<Millis>,
    ) -> String {
        self.place(now, number, talk_ms, None, true)
    }

    fn place(
        &mut self,
        now: Millis,
        number: &str,
        talk_ms: Option<Millis>,
        give_up_ms: Option<Millis>,
        late_offer: bool,
    ) -> String {
        let call_id = format!("{:016x}@{}", self.random(), self.config.local.ip());
        let tag = format!("c{:08x}", self.random() as u32);
        let via = self.via();
        let mut headers = Headers::default();
        headers.push("Via", via);
        headers.push("Max-Forwards", "70");
        headers.push(
            "From",
            format!(
                "\"{}\" <sip:{}@{}>;tag={tag}",
                self.config.user, self.config.user, self.config.domain
            ),
        );
        headers.push("To", format!("<sip:{number}@{}>", self.config.domain));
        headers.push("Call-ID", call_id.clone());
        headers.push("CSeq", "1 INVITE");
        headers.push("Contact", self.contact());
        if !late_offer {
            headers.push("Content-Type", "application/sdp");
        }
        let uri =
            Uri::parse(&format!("sip:{number}@{}", self.config.server.addr)).expect("a number URI");
        let invite = Request {
            method: Method::Invite,
            uri,
            headers,
            body: if late_offer { Vec::new() } else { self.sdp() },
        };
        match self
            .transactions
            .send_request(now, invite.clone(), self.config.server)
        {
            Ok(txn) => {
                self.by_txn.insert(txn, call_id.clone());
                self.calls.insert(
                    call_id.clone(),
                    PhoneCall {
                        txn,
                        invite,
                        outgoing: true,
                        dialog: None,
                        tag,
                        talk_ms,
                        ended: false,
                        gave_up: false,
                        remote_media: None,
                        reinvite: None,
                        late_offer,
                    },
                );
                if let Some(after) = give_up_ms {
                    self.timers
                        .insert((now + after, Action::GiveUp(call_id.clone())));
                }
            }
            Err(_) => self.events.push_back(PhoneEvent::Ended {
                call: call_id.clone(),
                status: 503,
                by_remote: false,
            }),
        }
        call_id
    }

    /// Sends a key in an answered call by SIP INFO (`application/dtmf-relay`), as phones that
    /// do not send RFC 4733 do.
    pub fn send_info_digit(&mut self, now: Millis, call: &str, digit: char) {
        let Some(mut dialog) = self.calls.get(call).and_then(|c| c.dialog.clone()) else {
            return;
        };
        let via = self.via();
        let contact = self.contact();
        let mut info = dialog.request(Method::Info, &via, &contact);
        info.headers.push("Content-Type", "application/dtmf-relay");
        info.body = format!("Signal={digit}\r\nDuration=160\r\n").into_bytes();
        let _ = self
            .transactions
            .send_request(now, info, self.config.server);
        if let Some(c) = self.calls.get_mut(call) {
            c.dialog = Some(dialog);
        }
    }

    /// Puts an answered call on hold (a re-INVITE with `a=sendonly`) or takes it off
    /// (`a=sendrecv`).
    pub fn hold(&mut self, now: Millis, call: &str, on: bool) {
        let Some(mut dialog) = self.calls.get(call).and_then(|c| c.dialog.clone()) else {
            return;
        };
        let via = self.via();
        let contact = self.contact();
        let mut invite = dialog.request(Method::Invite, &via, &contact);
        dialog.invite_seq = dialog.local_seq;
        let mut body = self.sdp();
        body.extend_from_slice(if on {
            b"a=sendonly\r\n"
        } else {
            b"a=sendrecv\r\n"
        });
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = body;
        let txn = self
            .transactions
            .send_request(now, invite, self.config.server)
            .ok();
        if let Some(txn) = txn {
            self.by_txn.insert(txn, call.to_string());
        }
        if let Some(c) = self.calls.get_mut(call) {
            c.dialog = Some(dialog);
            c.reinvite = txn;
        }
    }

    /// Hangs up a call now (BYE if answered, CANCEL if ringing out).
    pub fn hang_up(&mut self, now: Millis, call: &str) {
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        if c.ended {
            return;
        }
        if let Some(mut dialog) = c.dialog.clone() {
            c.ended = true;
            let via = self.via();
            let contact = self.contact();
            let bye = dialog.request(Method::Bye, &via, &contact);
            let _ = self.transactions.send_request(now, bye, self.config.server);
            if let Some(c) = self.calls.get_mut(call) {
                c.dialog = Some(dialog);
            }
            self.events.push_back(PhoneEvent::Ended {
                call: call.to_string(),
                status: 200,
                by_remote: false,
            });
        } else if c.outgoing {
            c.gave_up = true;
            let txn = c.txn;
            let _ = self.transactions.cancel(now, txn);
        }
    }

    /// Takes in a datagram from the switch.
    pub fn handle_datagram(&mut self, now: Millis, source: Peer, bytes: &[u8]) {
        self.transactions.handle_datagram(now, source, bytes);
        self.drain(now);
    }

    /// Fires what is due.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.transactions.handle_timeout(now);
        while let Some((at, action)) = self.timers.first().cloned() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, action.clone()));
            match action {
                Action::Answer(call) => self.answer(now, &call),
                Action::Hangup(call) | Action::GiveUp(call) => self.hang_up(now, &call),
                Action::Reregister => self.register(now, 3600),
            }
        }
        self.drain(now);
    }

    /// When to call [`Phone::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        [
            self.transactions.poll_timeout(),
            self.timers.first().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transactions.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PhoneEvent> {
        self.events.pop_front()
    }

    fn drain(&mut self, now: Millis) {
        while let Some(event) = self.transactions.poll_event() {
            match event {
                TransactionEvent::Request {
                    id,
                    request,
                    source: _,
                } => self.on_request(now, id, request),
                TransactionEvent::Response { id, response } => self.on_response(now, id, response),
                TransactionEvent::Timeout { id, .. } => {
                    if Some(id) == self.register_txn {
                        self.events
                            .push_back(PhoneEvent::RegisterFailed { status: 408 });
                    } else if let Some(call) = self.by_txn.get(&id).cloned() {
                        self.end(&call, 408, true);
                    }
                }
                TransactionEvent::StrayResponse { response, .. } => {
                    // A 2xx retransmitted after the INVITE transaction ended: ACK again.
                    let call = response.headers.call_id().unwrap_or("").to_string();
                    if let Some(dialog) = self.calls.get(&call).and_then(|c| c.dialog.clone()) {
                        if (200..300).contains(&response.status) {
                            let via = self.via();
                            let ack = dialog.ack(&via);
                            self.transactions
                                .send_stateless(&Message::Request(ack), self.config.server);
                        }
                    }
                }
                TransactionEvent::Ack { .. } | TransactionEvent::Terminated { .. } => {}
            }
        }
    }

    fn end(&mut self, call: &str, status: u16, by_remote: bool) {
        if let Some(c) = self.calls.get_mut(call) {
            if !c.ended {
                c.ended = true;
                self.events.push_back(PhoneEvent::Ended {
                    call: call.to_string(),
                    status,
                    by_remote,
                });
            }
        }
    }

    fn on_request(&mut self, now: Millis, id: TransactionId, request: Request) {
        let call_id = request.headers.call_id().unwrap_or("").to_string();
        match request.method {
            Method::Invite if !self.calls.contains_key(&call_id) => {
                let tag = format!("a{:08x}", self.random() as u32);
                let from = request
                    .headers
                    .from()
                    .map(|f| f.display.clone().or(f.uri.user.clone()).unwrap_or_default())
                    .unwrap_or_default();
                self.events.push_back(PhoneEvent::Incoming {
                    call: call_id.clone(),
                    from,
                });
                let talk_ms = match self.config.answer {
                    Answer::After { talk_ms, .. } => talk_ms,
                    _ => None,
                };
                self.calls.insert(
                    call_id.clone(),
                    PhoneCall {
                        txn: id,
                        invite: request.clone(),
                        outgoing: false,
                        dialog: None,
                        tag: tag.clone(),
                        talk_ms,
                        ended: false,
                        gave_up: false,
                        remote_media: media_address(&request.body),
                        reinvite: None,
                        late_offer: false,
                    },
                );
                match self.config.answer {
                    Answer::Reject { status } => {
                        let response = tagged(request.response(status, "Busy Here"), &tag);
                        let _ = self.transactions.send_response(now, id, response);
                        self.end(&call_id, status, false);
                    }
                    Answer::After { ring_ms, .. } => {
                        let ringing = tagged(request.response(180, "Ringing"), &tag);
                        let _ = self.transactions.send_response(now, id, ringing);
                        self.timers.insert((now + ring_ms, Action::Answer(call_id)));
                    }
                    Answer::Never => {
                        let ringing = tagged(request.response(180, "Ringing"), &tag);
                        let _ = self.transactions.send_response(now, id, ringing);
                    }
                }
            }
            Method::Cancel => {
                let ok = request.response(200, "OK");
                let _ = self.transactions.send_response(now, id, ok);
                if let Some(c) = self.calls.get(&call_id) {
                    if c.dialog.is_none() && !c.ended {
                        let response = tagged(c.invite.response(487, "Request Terminated"), &c.tag);
                        let txn = c.txn;
                        let _ = self.transactions.send_response(now, txn, response);
                        self.end(&call_id, 487, true);
                    }
                }
            }
            Method::Bye => {
                let ok = request.response(200, "OK");
                let _ = self.transactions.send_response(now, id, ok);
                self.end(&call_id, 200, true);
            }
            _ => {
                let ok = request.response(200, "OK");
                let _ = self.transactions.send_response(now, id, ok);
            }
        }
    }

    fn answer(&mut self, now: Millis, call: &str) {
        let contact = self.contact();
        let body = self.sdp();
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        if c.ended || c.dialog.is_some() {
            return;
        }
        let mut ok = tagged(c.invite.response(200, "OK"), &c.tag);
        ok.headers.push("Contact", contact);
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = body;
        c.dialog = Dialog::as_uas(&c.invite, &ok).ok();
        let (txn, talk) = (c.txn, c.talk_ms);
        let _ = self.transactions.send_response(now, txn, ok);
        self.events.push_back(PhoneEvent::Picked {
            call: call.to_string(),
        });
        if let Some(talk) = talk {
            self.timers
                .insert((now + talk, Action::Hangup(call.to_string())));
        }
    }

    fn on_response(&mut self, now: Millis, id: TransactionId, response: Response) {
        if Some(id) == self.register_txn {
            self.on_register_response(now, response);
            return;
        }
        let Some(call) = self.by_txn.get(&id).cloned() else {
            return;
        };
        let status = response.status;
        if status < 200 {
            return;
        }
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if c.reinvite == Some(id) {
            c.reinvite = None;
            if let (true, Some(dialog)) = ((200..300).contains(&status), c.dialog.clone()) {
                let via = self.via();
                let ack = dialog.ack(&via);
                self.transactions
                    .send_stateless(&Message::Request(ack), self.config.server);
            }
            return;
        }
        if !c.outgoing || c.txn != id {
            return;
        }
        if (200..300).contains(&status) {
            let first = c.dialog.is_none();
            if first {
                c.dialog = Dialog::as_uac(&c.invite, &response).ok();
                c.remote_media = media_address(&response.body);
            }
            let dialog = c.dialog.clone();
            let (gave_up, talk) = (c.gave_up, c.talk_ms);
            let late_offer = c.late_offer;
            if let Some(dialog) = dialog {
                let via = self.via();
                let mut ack = dialog.ack(&via);
                if late_offer {
                    ack.headers.push("Content-Type", "application/sdp");
                    ack.body = self.sdp();
                }
                self.transactions
                    .send_stateless(&Message::Request(ack), self.config.server);
            }
            if first {
                self.events
                    .push_back(PhoneEvent::Answered { call: call.clone() });
                if gave_up {
                    // Answered after we cancelled (the 2xx crossed the CANCEL): hang up.
                    self.hang_up(now, &call);
                } else if let Some(talk) = talk {
                    self.timers.insert((now + talk, Action::Hangup(call)));
                }
            }
        } else {
            self.end(&call, status, true);
        }
    }

    fn on_register_response(&mut self, now: Millis, response: Response) {
        match response.status {
            200..=299 => {
                self.register_attempts = 0;
                let expires = response
                    .headers
                    .get_all("Contact")
                    .iter()
                    .find_map(|c| {
                        c.split(';')
                            .find_map(|p| p.trim().strip_prefix("expires="))
                            .and_then(|v| v.parse::<u32>().ok())
                    })
                    .or_else(|| response.headers.get("Expires").and_then(|v| v.parse().ok()))
                    .unwrap_or(3600);
                self.events.push_back(PhoneEvent::Registered { expires });
                if expires > 0 {
                    self.timers
                        .insert((now + Millis::from(expires) * 500, Action::Reregister));
                }
            }
            401 | 407 if self.register_attempts < MAX_AUTH_ATTEMPTS => {
                self.register_attempts += 1;
                let header = if response.status == 401 {
                    "WWW-Authenticate"
                } else {
                    "Proxy-Authenticate"
                };
                let Some(challenge) = response
                    .headers
                    .get_all(header)
                    .into_iter()
                    .filter_map(|v| DigestParams::parse(v).ok())
                    .next()
                else {
                    self.events.push_back(PhoneEvent::RegisterFailed {
                        status: response.status,
                    });
                    return;
                };
                let authorization = self.authorization(&challenge, "REGISTER");
                self.send_register(now, 3600, Some(authorization));
            }
            status => self.events.push_back(PhoneEvent::RegisterFailed { status }),
        }
    }

    /// Credentials answering `challenge` ([`hotline_sip::client_authorization`]); an
    /// algorithm the phone does not know is answered as MD5, which the server refuses.
    fn authorization(&mut self, challenge: &DigestParams, method: &str) -> String {
        let uri = format!("sip:{}", self.config.domain);
        let cnonce = format!("{:016x}", self.random());
        let known = DigestParams {
            algorithm: challenge
                .algorithm
                .clone()
                .filter(|a| Algorithm::from_token(a).is_some()),
            ..challenge.clone()
        };
        hotline_sip::client_authorization(
            &known,
            &self.config.user,
            &self.config.password,
            method,
            &uri,
            &cnonce,
        )
        .unwrap_or_default()
    }
}

fn tagged(mut response: Response, tag: &str) -> Response {
    response.add_to_tag(tag);
    response
}
