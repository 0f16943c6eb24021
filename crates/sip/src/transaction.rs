//! The transaction layer (RFC 3261 §17, with RFC 6026's Accepted states), sans-IO.
//!
//! [`Transactions`] owns every client and server transaction of one endpoint. The driver
//! feeds it what arrives ([`Transactions::handle_datagram`], or [`Transactions::handle_message`]
//! for a message it has already parsed) and the time ([`Transactions::handle_timeout`]); the
//! transaction user (the user-agent core above) sends requests and responses through it. After
//! every input the driver drains [`Transactions::poll_transmit`] (bytes to send) and
//! [`Transactions::poll_event`] (what the transaction user must hear), then asks
//! [`Transactions::poll_timeout`] when to call again. Nothing here reads a clock: `now` is
//! milliseconds on any monotonic scale the driver chooses.
//!
//! What the layer does on its own, so that the transaction user never has to:
//! - retransmits requests over UDP (timers A and E) and final responses (timer G), and 2xx
//!   responses to INVITE until their ACK arrives (RFC 3261 §13.3.1.4, done here rather than in
//!   each user);
//! - absorbs retransmitted requests and answers them with the last response;
//! - answers an INVITE with `100 Trying` at once, which stops the caller's retransmissions;
//! - sends the ACK for a non-2xx final response to an INVITE (§17.1.1.3);
//! - gives up after 64·T1 (timers B, F, H, and L when a 2xx is never acknowledged) and says so;
//! - answers a request it cannot parse with 400 when enough of it can be read to address a
//!   response, and refuses new transactions beyond [`TransactionConfig::max_transactions`] with
//!   503 and Retry-After.
//!
//! Responses to a request go back to the address the request came from (as `rport`, RFC 3581,
//! asks), and the top Via of a received request gets `received` and `rport` filled in, so
//! callers behind NAT are answered where they are.
//!
//! Requests from RFC 2543 devices (a branch without the `z9hG4bK` cookie, or none) are matched
//! by their branch as written, or by Call-ID, CSeq and From tag when there is no branch; the
//! full RFC 2543 matching rules are not implemented.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;

use crate::message::{Headers, Message, Request, Response};
use crate::parse::{parse_message, ParseError};
use crate::values::{split_outside_quotes, CSeq, Method, Via};

/// Milliseconds on the driver's monotonic clock.
pub type Millis = u64;

/// The branch prefix that marks RFC 3261 branches (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// How messages travel: over a datagram transport the layer retransmits, over a stream it
/// does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, retransmissions by the transaction layer.
    Udp,
    /// TCP: reliable and ordered.
    Tcp,
}

impl Transport {
    /// Whether the transport delivers reliably (no retransmissions needed).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The token written in a Via (`UDP`, `TCP`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// The other end of a message: its address and the transport it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Address and port.
    pub addr: SocketAddr,
    /// Transport.
    pub transport: Transport,
}

/// RFC 3261's timer values. The defaults are the RFC's: T1 500 ms (the round-trip estimate),
/// T2 4 s (the cap on non-INVITE retransmission intervals), T4 5 s (how long a message may
/// live in the network), and timer D 32 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// T1, the round-trip time estimate.
    pub t1_ms: Millis,
    /// T2, the longest interval between retransmissions of non-INVITE requests and of
    /// responses.
    pub t2_ms: Millis,
    /// T4, the longest a message stays in the network.
    pub t4_ms: Millis,
    /// Timer D, how long a client INVITE transaction absorbs retransmitted final responses
    /// over UDP (at least 32 s).
    pub timer_d_ms: Millis,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1_ms: 500,
            t2_ms: 4_000,
            t4_ms: 5_000,
            timer_d_ms: 32_000,
        }
    }
}

impl TimerConfig {
    /// 64·T1: how long a transaction waits for an answer before giving up (timers B, F, H,
    /// J, L, M).
    pub fn transaction_timeout(&self) -> Millis {
        64 * self.t1_ms
    }
}

/// The default most transactions one endpoint keeps at once.
pub const DEFAULT_MAX_TRANSACTIONS: usize = 100_000;
/// The most outputs (datagrams or events) waiting for the driver; a driver that drains after
/// every input never comes near it.
pub const MAX_PENDING_OUTPUTS: usize = 100_000;

/// The transaction layer's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionConfig {
    /// Timer values.
    pub timers: TimerConfig,
    /// The most transactions kept at once; a new request beyond it is refused with 503.
    pub max_transactions: usize,
    /// The Retry-After (seconds) on that 503.
    pub retry_after_s: u32,
    /// The Server header on responses the layer writes itself (100, 400, 408, 503); none if
    /// empty.
    pub server_name: String,
    /// How long an INVITE may go without a final response before the layer ends it: a
    /// received one is answered 408 (the user forgot it), a sent one that rings this long
    /// without being cancelled is given up. RFC 3261 sets no such limit; it is the guard that
    /// keeps a forgotten call from living forever.
    pub unanswered_invite_ms: Millis,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            timers: TimerConfig::default(),
            max_transactions: DEFAULT_MAX_TRANSACTIONS,
            retry_after_s: 5,
            server_name: String::new(),
            unanswered_invite_ms: 3_600_000,
        }
    }
}

/// A transaction's handle, unique for the life of a [`Transactions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub u64);

/// Bytes for the driver to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub to: Peer,
    /// The message on the wire.
    pub bytes: Vec<u8>,
}

/// Why a transaction gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// No final response to a request within 64·T1 (timer B or F): treat as 408.
    NoResponse,
    /// No ACK for a final response within 64·T1 (timer H, or L for a 2xx): the dialog a 2xx
    /// created must be ended with BYE.
    NoAck,
    /// A received request got no final response from the user in time (64·T1 for
    /// non-INVITE, [`TransactionConfig::unanswered_invite_ms`] for INVITE, which the layer
    /// then answers 408).
    Unanswered,
}

/// What the transaction user must hear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionEvent {
    /// A new request (never ACK) and the server transaction that will carry the answer.
    /// For INVITE the layer has already answered 100 Trying.
    Request {
        /// The server transaction.
        id: TransactionId,
        /// The request, its top Via with `received`/`rport` filled in.
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// An ACK outside any transaction: the ACK for a 2xx. `invite` is the server INVITE
    /// transaction whose 2xx it acknowledges, if the layer still keeps it (it then stops
    /// retransmitting that 2xx).
    Ack {
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: Peer,
        /// The INVITE transaction it acknowledges.
        invite: Option<TransactionId>,
    },
    /// A response on a client transaction: provisional or final, and for INVITE every 2xx
    /// (retransmissions too, each of which the user must ACK again).
    Response {
        /// The client transaction.
        id: TransactionId,
        /// The response.
        response: Response,
    },
    /// A response that matches no transaction (for example a 2xx retransmitted after its
    /// client transaction ended).
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        source: Peer,
    },
    /// A transaction gave up.
    Timeout {
        /// The transaction.
        id: TransactionId,
        /// Why.
        timeout: Timeout,
    },
    /// A transaction ended and was forgotten; its id will never appear again.
    Terminated {
        /// The transaction.
        id: TransactionId,
    },
}

/// Why the layer refused to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The request has no top Via with a branch (the user-agent core must write one).
    NoBranch,
    /// ACK is not sent in a transaction: use [`Transactions::send_stateless`].
    AckInTransaction,
    /// A client transaction with this branch and method exists already.
    DuplicateBranch,
    /// Too many transactions.
    Full,
    /// No such transaction (it ended), or it is not a server transaction.
    UnknownTransaction,
    /// The response does not fit the transaction's state (a provisional after a final, a
    /// second non-2xx final, status outside 100–699).
    WrongState,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SendError::NoBranch => "the request has no top Via branch",
            SendError::AckInTransaction => "ACK is sent outside transactions",
            SendError::DuplicateBranch => "a transaction with this branch exists",
            SendError::Full => "too many transactions",
            SendError::UnknownTransaction => "no such server transaction",
            SendError::WrongState => "the response does not fit the transaction's state",
        })
    }
}

impl std::error::Error for SendError {}

/// Counters of what the layer absorbed or refused, for the server's metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransactionStats {
    /// Messages that could not be parsed.
    pub malformed: u64,
    /// 400 responses sent for them.
    pub bad_request_responses: u64,
    /// New requests refused with 503 because the layer was full.
    pub refused_full: u64,
    /// Retransmitted requests absorbed (answered with the last response or ignored).
    pub retransmissions_absorbed: u64,
    /// Retransmissions sent by timers A, E and G.
    pub retransmissions_sent: u64,
    /// Responses matching no transaction.
    pub stray_responses: u64,
    /// Transactions that timed out.
    pub timeouts: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // the RFC's four machines, named as it names them
enum Kind {
    ClientInvite,
    ClientNonInvite,
    ServerInvite,
    ServerNonInvite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Client INVITE before any response; client non-INVITE: Trying.
    Calling,
    /// A provisional response was sent or received.
    Proceeding,
    /// A 2xx to INVITE was sent or received (RFC 6026).
    Accepted,
    /// A final response (non-2xx for INVITE) was sent or received.
    Completed,
    /// Server INVITE: the ACK for a non-2xx arrived.
    Confirmed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    /// Timers A, E, G, and the 2xx retransmission.
    Retransmit,
    /// Timers B, D, F, H, I, J, K, L, M.
    Lifetime,
}

/// Matches messages to transactions (§17.1.3, §17.2.3): the branch, the method (ACK as
/// INVITE) and, for server transactions, the sent-by of the top Via.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    server: bool,
    branch: String,
    sent_by: String,
    method: Method,
}

struct Transaction {
    kind: Kind,
    state: State,
    peer: Peer,
    key: Key,
    /// Client: the request (for retransmissions). Server: the last response sent.
    bytes: Vec<u8>,
    /// INVITE: the request, to build the ACK for a non-2xx (client), the CANCEL (client) or
    /// the 408 for an INVITE the user forgot (server).
    request: Option<Request>,
    /// Client INVITE: the user asked to cancel before any provisional response arrived; the
    /// CANCEL goes out with the first one (§9.1).
    cancel_pending: bool,
    /// Client INVITE: the ACK sent for a non-2xx final response.
    ack: Option<Vec<u8>>,
    interval: Millis,
    retransmit_at: Option<Millis>,
    lifetime_at: Option<Millis>,
    /// Server INVITE in Accepted: the key its 2xx's ACK is found by.
    ack_key: Option<AckKey>,
    acked: bool,
}

/// How an ACK for a 2xx finds its INVITE: Call-ID, From tag and CSeq number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct AckKey {
    call_id: String,
    from_tag: String,
    cseq: u32,
}

impl AckKey {
    fn of(headers: &Headers) -> Option<AckKey> {
        Some(AckKey {
            call_id: headers.call_id()?.to_string(),
            from_tag: headers.from()?.tag().unwrap_or("").to_string(),
            cseq: headers.cseq()?.seq,
        })
    }
}

/// Every transaction of one endpoint. See the module documentation.
pub struct Transactions {
    config: TransactionConfig,
    next_id: u64,
    transactions: HashMap<TransactionId, Transaction>,
    by_key: HashMap<Key, TransactionId>,
    accepted: HashMap<AckKey, TransactionId>,
    timers: BTreeSet<(Millis, TransactionId, Slot)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TransactionEvent>,
    stats: TransactionStats,
}

impl Transactions {
    /// An empty layer.
    pub fn new(config: TransactionConfig) -> Transactions {
        Transactions {
            config,
            next_id: 0,
            transactions: HashMap::new(),
            by_key: HashMap::new(),
            accepted: HashMap::new(),
            timers: BTreeSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: TransactionStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &TransactionConfig {
        &self.config
    }

    /// How many transactions are alive.
    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    /// Whether no transaction is alive.
    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    /// The counters.
    pub fn stats(&self) -> TransactionStats {
        self.stats
    }

    /// Whether a server transaction answering `id` is an INVITE transaction still waiting
    /// for a final response (the only state in which CANCEL has an effect).
    pub fn is_pending_invite(&self, id: TransactionId) -> bool {
        self.transactions
            .get(&id)
            .is_some_and(|t| t.kind == Kind::ServerInvite && t.state == State::Proceeding)
    }

    /// The server INVITE transaction a received CANCEL is for (same branch, sent-by and
    /// Call-ID, §9.2), if it is still kept.
    pub fn invite_for_cancel(&self, cancel: &Request) -> Option<TransactionId> {
        let mut key = server_key(&cancel.headers)?;
        key.method = Method::Invite;
        self.by_key.get(&key).copied()
    }

    /// Starts a client transaction for `request` (not ACK) to `to`. The request's top Via
    /// must carry a branch the caller made unique (see [`new_branch`]).
    pub fn send_request(
        &mut self,
        now: Millis,
        request: Request,
        to: Peer,
    ) -> Result<TransactionId, SendError> {
        if request.method == Method::Ack {
            return Err(SendError::AckInTransaction);
        }
        let branch = request
            .headers
            .vias()
            .and_then(|v| v.first().and_then(|v| v.branch().map(str::to_string)))
            .ok_or(SendError::NoBranch)?;
        if self.transactions.len() >= self.config.max_transactions {
            return Err(SendError::Full);
        }
        let key = Key {
            server: false,
            branch,
            sent_by: String::new(),
            method: request.method.clone(),
        };
        if self.by_key.contains_key(&key) {
            return Err(SendError::DuplicateBranch);
        }
        let invite = request.method == Method::Invite;
        let bytes = Message::Request(request.clone()).to_bytes();
        let id = self.insert(Transaction {
            kind: if invite {
                Kind::ClientInvite
            } else {
                Kind::ClientNonInvite
            },
            state: State::Calling,
            peer: to,
            key,
            bytes: bytes.clone(),
            request: invite.then_some(request),
            cancel_pending: false,
            ack: None,
            interval: self.config.timers.t1_ms,
            retransmit_at: None,
            lifetime_at: None,
            ack_key: None,
            acked: false,
        });
        self.transmit(to, bytes);
        if !to.transport.is_reliable() {
            self.arm(id, Slot::Retransmit, now + self.config.timers.t1_ms);
        }
        self.arm(
            id,
            Slot::Lifetime,
            now + self.config.timers.transaction_timeout(),
        );
        Ok(id)
    }

    /// Sends a response on server transaction `id`. For a 2xx to INVITE the layer
    /// retransmits it over UDP until the ACK arrives (see [`TransactionEvent::Ack`]) or
    /// 64·T1 passes ([`Timeout::NoAck`]).
    pub fn send_response(
        &mut self,
        now: Millis,
        id: TransactionId,
        response: Response,
    ) -> Result<(), SendError> {
        let timers = self.config.timers;
        let t = self
            .transactions
            .get_mut(&id)
            .ok_or(SendError::UnknownTransaction)?;
        let status = response.status;
        if !(100..=699).contains(&status) {
            return Err(SendError::WrongState);
        }
        let reliable = t.peer.transport.is_reliable();
        let mut arm: Vec<(Slot, Option<Millis>)> = Vec::new();
        match (t.kind, t.state) {
            (Kind::ServerInvite, State::Proceeding) => {
                if (200..300).contains(&status) {
                    t.state = State::Accepted;
                    t.ack_key = AckKey::of(&response.headers);
                    t.interval = timers.t1_ms;
                    arm.push((Slot::Retransmit, (!reliable).then_some(now + timers.t1_ms)));
                    arm.push((Slot::Lifetime, Some(now + timers.transaction_timeout())));
                } else if status >= 300 {
                    t.state = State::Completed;
                    t.interval = timers.t1_ms;
                    arm.push((Slot::Retransmit, (!reliable).then_some(now + timers.t1_ms)));
                    arm.push((Slot::Lifetime, Some(now + timers.transaction_timeout())));
                }
            }
            // Further 2xx (a re-sent answer) go out as they are.
            (Kind::ServerInvite, State::Accepted) if (200..300).contains(&status) => {}
            (Kind::ServerNonInvite, State::Calling | State::Proceeding) => {
                if status < 200 {
                    t.state = State::Proceeding;
                } else {
                    t.state = State::Completed;
                    let linger = if reliable {
                        0
                    } else {
                        timers.transaction_timeout()
                    };
                    arm.push((Slot::Lifetime, Some(now + linger)));
                }
            }
            _ => return Err(SendError::WrongState),
        }
        let bytes = Message::Response(response).to_bytes();
        t.bytes = bytes.clone();
        let peer = t.peer;
        if let Some(key) = t.ack_key.clone() {
            self.accepted.insert(key, id);
        }
        self.transmit(peer, bytes);
        for (slot, at) in arm {
            match at {
                Some(at) => self.arm(id, slot, at),
                None => self.disarm(id, slot),
            }
        }
        Ok(())
    }

    /// Cancels client INVITE transaction `id` (§9.1): builds the CANCEL from the INVITE and
    /// sends it in its own transaction, whose id comes back; `None` when no provisional
    /// response has arrived yet, in which case the CANCEL goes out with the first one. If the
    /// INVITE still gets no final response 64·T1 after the CANCEL, the layer gives it up
    /// ([`Timeout::NoResponse`]).
    pub fn cancel(
        &mut self,
        now: Millis,
        id: TransactionId,
    ) -> Result<Option<TransactionId>, SendError> {
        let t = self
            .transactions
            .get_mut(&id)
            .ok_or(SendError::UnknownTransaction)?;
        if t.kind != Kind::ClientInvite {
            return Err(SendError::UnknownTransaction);
        }
        match t.state {
            State::Calling => {
                t.cancel_pending = true;
                Ok(None)
            }
            State::Proceeding => {
                let Some(cancel) = t.request.as_ref().map(cancel_for) else {
                    return Err(SendError::WrongState);
                };
                let peer = t.peer;
                self.arm(
                    id,
                    Slot::Lifetime,
                    now + self.config.timers.transaction_timeout(),
                );
                self.send_request(now, cancel, peer).map(Some)
            }
            _ => Err(SendError::WrongState),
        }
    }

    /// Sends a message outside any transaction: the ACK for a 2xx, or a stateless response.
    pub fn send_stateless(&mut self, message: &Message, to: Peer) {
        self.transmit(to, message.to_bytes());
    }

    /// Takes in a datagram (or one framed stream message) from `source`. A message that
    /// cannot be parsed is counted and, if it is a request whose Via, From, To, Call-ID and
    /// CSeq can be read, answered with 400 and the reason.
    pub fn handle_datagram(&mut self, now: Millis, source: Peer, bytes: &[u8]) {
        match parse_message(bytes) {
            Ok(message) => self.handle_message(now, source, message),
            Err(error) => {
                self.stats.malformed += 1;
                if let Some(response) = bad_request(bytes, &error, &self.config.server_name) {
                    self.stats.bad_request_responses += 1;
                    self.transmit(source, Message::Response(response).to_bytes());
                }
            }
        }
    }

    /// Takes in a parsed message from `source`.
    pub fn handle_message(&mut self, now: Millis, source: Peer, message: Message) {
        match message {
            Message::Request(request) => self.handle_request(now, source, request),
            Message::Response(response) => self.handle_response(now, source, response),
        }
    }

    fn handle_request(&mut self, now: Millis, source: Peer, mut request: Request) {
        let Some(mut key) = server_key(&request.headers) else {
            // The parser guarantees a readable Via, From, Call-ID and CSeq; nothing to do.
            self.stats.malformed += 1;
            return;
        };
        note_received(&mut request.headers, source);
        let ack = request.method == Method::Ack;
        if ack {
            key.method = Method::Invite;
        }
        if let Some(&id) = self.by_key.get(&key) {
            self.absorb(now, id, source, request);
            return;
        }
        if ack {
            let invite = AckKey::of(&request.headers).and_then(|k| self.accepted.get(&k).copied());
            if let Some(id) = invite {
                self.acknowledge(id);
            }
            self.event(TransactionEvent::Ack {
                request,
                source,
                invite,
            });
            return;
        }
        if self.transactions.len() >= self.config.max_transactions {
            self.stats.refused_full += 1;
            let mut response = request.response(503, "Service Unavailable");
            response.add_to_tag("hl-full");
            response
                .headers
                .push("Retry-After", self.config.retry_after_s.to_string());
            self.stamp(&mut response);
            self.transmit(source, Message::Response(response).to_bytes());
            return;
        }
        let invite = request.method == Method::Invite;
        let id = self.insert(Transaction {
            kind: if invite {
                Kind::ServerInvite
            } else {
                Kind::ServerNonInvite
            },
            state: if invite {
                State::Proceeding
            } else {
                State::Calling
            },
            peer: source,
            key,
            bytes: Vec::new(),
            request: invite.then(|| request.clone()),
            cancel_pending: false,
            ack: None,
            interval: self.config.timers.t1_ms,
            retransmit_at: None,
            lifetime_at: None,
            ack_key: None,
            acked: false,
        });
        let limit = if invite {
            self.config.unanswered_invite_ms
        } else {
            self.config.timers.transaction_timeout()
        };
        self.arm(id, Slot::Lifetime, now + limit);
        if invite {
            let mut trying = request.response(100, "Trying");
            self.stamp(&mut trying);
            let bytes = Message::Response(trying).to_bytes();
            if let Some(t) = self.transactions.get_mut(&id) {
                t.bytes = bytes.clone();
            }
            self.transmit(source, bytes);
        }
        self.event(TransactionEvent::Request {
            id,
            request,
            source,
        });
    }

    /// A request matching a server transaction: a retransmission, or the ACK for a non-2xx.
    fn absorb(&mut self, now: Millis, id: TransactionId, source: Peer, request: Request) {
        let Some(t) = self.transactions.get_mut(&id) else {
            return;
        };
        if request.method == Method::Ack {
            match t.state {
                State::Completed => {
                    t.state = State::Confirmed;
                    let linger = if t.peer.transport.is_reliable() {
                        0
                    } else {
                        self.config.timers.t4_ms
                    };
                    self.disarm(id, Slot::Retransmit);
                    self.arm(id, Slot::Lifetime, now + linger);
                }
                State::Accepted => {
                    // A device that acknowledges a 2xx with the INVITE's branch: still the
                    // ACK the 2xx waits for (RFC 6026 §8.7).
                    self.acknowledge(id);
                    self.event(TransactionEvent::Ack {
                        request,
                        source,
                        invite: Some(id),
                    });
                }
                _ => self.stats.retransmissions_absorbed += 1,
            }
            return;
        }
        self.stats.retransmissions_absorbed += 1;
        // Server INVITE and non-INVITE alike: repeat the last response once there is one.
        let resend = matches!(t.state, State::Proceeding | State::Completed);
        if resend && !t.bytes.is_empty() {
            let (peer, bytes) = (t.peer, t.bytes.clone());
            self.transmit(peer, bytes);
        }
    }

    /// The ACK for the 2xx of server INVITE transaction `id` arrived: stop retransmitting
    /// and let the transaction end when timer L would have.
    fn acknowledge(&mut self, id: TransactionId) {
        if let Some(t) = self.transactions.get_mut(&id) {
            t.acked = true;
        }
        self.disarm(id, Slot::Retransmit);
    }

    fn handle_response(&mut self, now: Millis, source: Peer, response: Response) {
        let key = response.headers.vias().and_then(|vias| {
            Some(Key {
                server: false,
                branch: vias.first()?.branch()?.to_string(),
                sent_by: String::new(),
                method: response.headers.cseq()?.method,
            })
        });
        let Some(&id) = key.as_ref().and_then(|k| self.by_key.get(k)) else {
            self.stats.stray_responses += 1;
            self.event(TransactionEvent::StrayResponse { response, source });
            return;
        };
        let timers = self.config.timers;
        let Some(t) = self.transactions.get_mut(&id) else {
            return;
        };
        let status = response.status;
        let reliable = t.peer.transport.is_reliable();
        let provisional = status < 200;
        let success = (200..300).contains(&status);
        match (t.kind, t.state) {
            (Kind::ClientInvite, State::Calling | State::Proceeding) => {
                if provisional {
                    let first = t.state == State::Calling;
                    t.state = State::Proceeding;
                    let cancel = std::mem::take(&mut t.cancel_pending);
                    self.disarm(id, Slot::Retransmit);
                    if first {
                        // Timer B covers only Calling; once the callee rings, the user
                        // decides how long to wait (and cancels).
                        self.arm(id, Slot::Lifetime, now + self.config.unanswered_invite_ms);
                    }
                    if cancel {
                        let _ = self.cancel(now, id);
                    }
                } else if success {
                    t.state = State::Accepted;
                    self.disarm(id, Slot::Retransmit);
                    self.arm(id, Slot::Lifetime, now + timers.transaction_timeout());
                } else {
                    t.state = State::Completed;
                    let ack = t
                        .request
                        .as_ref()
                        .map(|r| Message::Request(ack_for_failure(r, &response)).to_bytes());
                    t.ack = ack.clone();
                    let peer = t.peer;
                    let linger = if reliable { 0 } else { timers.timer_d_ms };
                    self.disarm(id, Slot::Retransmit);
                    self.arm(id, Slot::Lifetime, now + linger);
                    if let Some(ack) = ack {
                        self.transmit(peer, ack);
                    }
                }
                self.event(TransactionEvent::Response { id, response });
            }
            (Kind::ClientInvite, State::Accepted) => {
                if success {
                    self.event(TransactionEvent::Response { id, response });
                } else {
                    self.stats.retransmissions_absorbed += 1;
                }
            }
            (Kind::ClientInvite, State::Completed) => {
                self.stats.retransmissions_absorbed += 1;
                if !provisional && !success {
                    if let Some(ack) = t.ack.clone() {
                        let peer = t.peer;
                        self.transmit(peer, ack);
                    }
                }
            }
            (Kind::ClientNonInvite, State::Calling | State::Proceeding) => {
                if provisional {
                    if t.state == State::Calling && !reliable {
                        t.interval = timers.t2_ms;
                    }
                    t.state = State::Proceeding;
                } else {
                    t.state = State::Completed;
                    let linger = if reliable { 0 } else { timers.t4_ms };
                    self.disarm(id, Slot::Retransmit);
                    self.arm(id, Slot::Lifetime, now + linger);
                }
                self.event(TransactionEvent::Response { id, response });
            }
            _ => self.stats.retransmissions_absorbed += 1,
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Millis) {
        while let Some(&(at, id, slot)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, id, slot));
            let Some(t) = self.transactions.get_mut(&id) else {
                continue;
            };
            match slot {
                Slot::Retransmit => {
                    t.retransmit_at = None;
                    self.retransmit(now, id);
                }
                Slot::Lifetime => {
                    t.lifetime_at = None;
                    self.expire(now, id);
                }
            }
        }
    }

    fn retransmit(&mut self, now: Millis, id: TransactionId) {
        let timers = self.config.timers;
        let Some(t) = self.transactions.get_mut(&id) else {
            return;
        };
        let next = match (t.kind, t.state) {
            // Timer A doubles without a cap (§17.1.1.2).
            (Kind::ClientInvite, State::Calling) => t.interval * 2,
            // Timer E: doubling up to T2 while Trying, T2 once Proceeding.
            (Kind::ClientNonInvite, State::Calling) => (t.interval * 2).min(timers.t2_ms),
            (Kind::ClientNonInvite, State::Proceeding) => timers.t2_ms,
            // Timer G, and the 2xx retransmission of §13.3.1.4: doubling up to T2.
            (Kind::ServerInvite, State::Completed) => (t.interval * 2).min(timers.t2_ms),
            (Kind::ServerInvite, State::Accepted) if !t.acked => (t.interval * 2).min(timers.t2_ms),
            _ => return,
        };
        t.interval = next;
        let (peer, bytes) = (t.peer, t.bytes.clone());
        self.stats.retransmissions_sent += 1;
        self.transmit(peer, bytes);
        self.arm(id, Slot::Retransmit, now + next);
    }

    fn expire(&mut self, now: Millis, id: TransactionId) {
        let Some(t) = self.transactions.get(&id) else {
            return;
        };
        let timeout = match (t.kind, t.state) {
            (Kind::ClientInvite | Kind::ClientNonInvite, State::Calling | State::Proceeding) => {
                Some(Timeout::NoResponse)
            }
            (Kind::ServerInvite, State::Completed) => Some(Timeout::NoAck),
            (Kind::ServerInvite, State::Accepted) if !t.acked => Some(Timeout::NoAck),
            (Kind::ServerInvite | Kind::ServerNonInvite, State::Calling | State::Proceeding) => {
                Some(Timeout::Unanswered)
            }
            _ => None,
        };
        let forgotten_invite = (t.kind == Kind::ServerInvite && t.state == State::Proceeding)
            .then(|| {
                t.request
                    .as_ref()
                    .map(|r| r.response(408, "Request Timeout"))
            })
            .flatten()
            .map(|mut response| {
                response.add_to_tag(&format!("hl{}", id.0));
                response
            });
        if let Some(timeout) = timeout {
            self.stats.timeouts += 1;
            self.event(TransactionEvent::Timeout { id, timeout });
        }
        match forgotten_invite {
            Some(mut response) => {
                // Answer the caller so the call ends cleanly; the transaction then waits for
                // the ACK like any other failure.
                self.stamp(&mut response);
                if self.send_response(now, id, response).is_err() {
                    self.remove(id);
                }
            }
            None => self.remove(id),
        }
    }

    /// When the layer next wants [`Transactions::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.timers.first().map(|&(at, _, _)| at)
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the transaction user.
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.events.pop_front()
    }

    fn insert(&mut self, transaction: Transaction) -> TransactionId {
        self.next_id += 1;
        let id = TransactionId(self.next_id);
        self.by_key.insert(transaction.key.clone(), id);
        self.transactions.insert(id, transaction);
        id
    }

    fn remove(&mut self, id: TransactionId) {
        let Some(t) = self.transactions.remove(&id) else {
            return;
        };
        self.by_key.remove(&t.key);
        if let Some(key) = t.ack_key {
            if self.accepted.get(&key) == Some(&id) {
                self.accepted.remove(&key);
            }
        }
        for (at, slot) in [
            (t.retransmit_at, Slot::Retransmit),
            (t.lifetime_at, Slot::Lifetime),
        ] {
            if let Some(at) = at {
                self.timers.remove(&(at, id, slot));
            }
        }
        self.event(TransactionEvent::Terminated { id });
    }

    fn arm(&mut self, id: TransactionId, slot: Slot, at: Millis) {
        self.disarm(id, slot);
        if let Some(t) = self.transactions.get_mut(&id) {
            match slot {
                Slot::Retransmit => t.retransmit_at = Some(at),
                Slot::Lifetime => t.lifetime_at = Some(at),
            }
            self.timers.insert((at, id, slot));
        }
    }

    fn disarm(&mut self, id: TransactionId, slot: Slot) {
        if let Some(t) = self.transactions.get_mut(&id) {
            let at = match slot {
                Slot::Retransmit => t.retransmit_at.take(),
                Slot::Lifetime => t.lifetime_at.take(),
            };
            if let Some(at) = at {
                self.timers.remove(&(at, id, slot));
            }
        }
    }

    fn transmit(&mut self, to: Peer, bytes: Vec<u8>) {
        if self.transmits.len() < MAX_PENDING_OUTPUTS {
            self.transmits.push_back(Transmit { to, bytes });
        }
    }

    fn event(&mut self, event: TransactionEvent) {
        // Terminated events are bookkeeping the user may ignore; others must never be
        // dropped, and a driver that drains after every input keeps the queue short.
        debug_assert!(
            self.events.len() < MAX_PENDING_OUTPUTS,
            "events not drained"
        );
        self.events.push_back(event);
    }

    fn stamp(&self, response: &mut Response) {
        if !self.config.server_name.is_empty() {
            response
                .headers
                .push("Server", self.config.server_name.clone());
        }
    }

    /// Checks the layer's internal consistency (every transaction indexed once, every armed
    /// timer scheduled, nothing scheduled for a forgotten transaction); panics with what is
    /// wrong. For tests.
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        assert_eq!(self.by_key.len(), self.transactions.len(), "key index");
        for (key, id) in &self.by_key {
            assert_eq!(&self.transactions[id].key, key, "key index for {id:?}");
        }
        let mut armed = 0;
        for (id, t) in &self.transactions {
            for (at, slot) in [
                (t.retransmit_at, Slot::Retransmit),
                (t.lifetime_at, Slot::Lifetime),
            ] {
                if let Some(at) = at {
                    armed += 1;
                    assert!(self.timers.contains(&(at, *id, slot)), "timer of {id:?}");
                }
            }
            assert!(t.lifetime_at.is_some(), "{id:?} has no lifetime timer");
        }
        assert_eq!(armed, self.timers.len(), "stale timers");
        for id in self.accepted.values() {
            assert!(self.transactions.contains_key(id), "accepted index");
        }
    }
}

/// SplitMix64: a small, fast generator for the identifiers a user agent makes (tags,
/// Call-IDs, branches) from a seed, so runs replay exactly. Not for secrets.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh branch for a new client transaction, from 64 random bits the caller provides.
pub fn new_branch(random: u64) -> String {
    format!("{MAGIC_COOKIE}{random:016x}")
}

/// The key a request is matched to a server transaction by.
fn server_key(headers: &Headers) -> Option<Key> {
    let vias = headers.vias()?;
    let top = vias.first()?;
    let cseq = headers.cseq()?;
    let branch = match top.branch() {
        Some(b) if !b.is_empty() => b.to_string(),
        // RFC 2543 devices: no branch; Call-ID, CSeq number and From tag stand in.
        _ => format!(
            "rfc2543:{}:{}:{}",
            headers.call_id()?,
            cseq.seq,
            headers.from()?.tag().unwrap_or("")
        ),
    };
    Some(Key {
        server: true,
        branch,
        sent_by: top.sent_by().to_ascii_lowercase(),
        method: cseq.method,
    })
}

/// Adds `received` (when the sent-by host is not the source address) and fills `rport` (when
/// the sender asked for it) in the top Via, §18.2.1 and RFC 3581.
fn note_received(headers: &mut Headers, source: Peer) {
    let Some(index) = headers
        .0
        .iter()
        .position(|h| h.name.eq_ignore_ascii_case("Via"))
    else {
        return;
    };
    let value = headers.0[index].value.clone();
    let parts = split_outside_quotes(&value, ',');
    let Some(mut top) = parts.first().and_then(|p| Via::parse(p)) else {
        return;
    };
    let ip = source.addr.ip().to_string();
    let host = top.host.trim_start_matches('[').trim_end_matches(']');
    let mut changed = false;
    if host != ip {
        top.params.set("received", Some(&ip));
        changed = true;
    }
    if top.params.get("rport") == Some(None) {
        top.params
            .set("rport", Some(&source.addr.port().to_string()));
        changed = true;
    }
    if changed {
        let mut rebuilt = top.to_string();
        for rest in &parts[1..] {
            rebuilt.push(',');
            rebuilt.push_str(rest);
        }
        headers.0[index].value = rebuilt;
    }
}

/// The CANCEL for `invite` (§9.1): its Request-URI, top Via, Call-ID, From, To, CSeq number
/// and Route.
fn cancel_for(invite: &Request) -> Request {
    derived_request(invite, Method::Cancel, invite.headers.get("To"))
}

/// The ACK for a non-2xx final response to `invite` (§17.1.1.3): as CANCEL, but with the
/// response's To (which carries the callee's tag).
fn ack_for_failure(invite: &Request, response: &Response) -> Request {
    derived_request(invite, Method::Ack, response.headers.get("To"))
}

/// A request that belongs to `invite`'s transaction: the INVITE's Request-URI, top Via,
/// From, Call-ID, CSeq number and Route, with `method` and the given To.
fn derived_request(invite: &Request, method: Method, to: Option<&str>) -> Request {
    let mut headers = Headers::default();
    if let Some(via) = invite.headers.get_all("Via").first() {
        headers.push("Via", *via);
    }
    if let Some(from) = invite.headers.get("From") {
        headers.push("From", from);
    }
    if let Some(to) = to {
        headers.push("To", to);
    }
    if let Some(call_id) = invite.headers.call_id() {
        headers.push("Call-ID", call_id);
    }
    if let Some(cseq) = invite.headers.cseq() {
        let cseq = CSeq {
            seq: cseq.seq,
            method: method.clone(),
        };
        headers.push("CSeq", cseq.to_string());
    }
    for route in invite.headers.get_all("Route") {
        headers.push("Route", route);
    }
    headers.push("Max-Forwards", "70");
    Request {
        method,
        uri: invite.uri.clone(),
        headers,
        body: Vec::new(),
    }
}

/// A 400 for bytes that did not parse, if they look like a request (not ACK) whose Via,
/// From, To, Call-ID and CSeq lines are there to copy. The reason phrase says what is wrong.
fn bad_request(bytes: &[u8], error: &ParseError, server_name: &str) -> Option<Response> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches(['\r', '\n']);
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let start = lines.next()?;
    let method = start.split(' ').next()?;
    if start.starts_with("SIP/") || method == "ACK" || method.is_empty() {
        return None;
    }
    let mut headers = Headers::default();
    let mut seen = [false; 5];
    const COPIED: [&str; 5] = ["Via", "From", "To", "Call-ID", "CSeq"];
    for line in lines.take_while(|l| !l.is_empty()).take(200) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = crate::message::canonical_name(name.trim());
        if let Some(i) = COPIED.iter().position(|c| c.eq_ignore_ascii_case(&name)) {
            let value = value.trim();
            if value.is_empty() || value.len() > 1024 {
                continue;
            }
            seen[i] = true;
            headers.push(&name, value);
        }
    }
    if !seen.iter().all(|&s| s) {
        return None;
    }
    if !server_name.is_empty() {
        headers.push("Server", server_name);
    }
    let detail: String = error
        .message
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(120)
        .collect();
    Some(Response {
        status: 400,
        reason: format!("Bad Request ({detail})"),
        headers,
        body: Vec::new(),
    })
}
