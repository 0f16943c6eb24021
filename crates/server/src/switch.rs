//! The switch: hotline's call control, a back-to-back user agent (B2BUA) over the SIP
//! transaction layer and the routing core, sans-IO.
//!
//! [`Switch`] takes datagrams and time in ([`Switch::handle_datagram`],
//! [`Switch::handle_timeout`]) and gives datagrams ([`Switch::poll_transmit`]), log records
//! ([`Switch::poll_record`]) and its next deadline ([`Switch::poll_timeout`]) out. It never
//! reads a clock or touches a socket, so tests run whole call centres on a virtual clock and a
//! lossy in-memory network ([`hotline_sip::netsim`]), and the runtime only moves bytes.
//!
//! Media is **anchored** by default ([`MediaSettings::enabled`], module `media`): hotline
//! answers the caller itself on an RTP socket of its own, so it can speak to the caller, and
//! later relays between the caller's socket and the agent leg's.
//!
//! 1. A trunk (an address on a trunk's allow-list) sends INVITE with an SDP offer. An offer
//!    without PCMU or PCMA is refused 488. The driver opens the caller leg's socket
//!    ([`MediaCommand::Open`], [`Switch::media_opened`]) and the caller is answered (200 with
//!    our SDP).
//! 2. The dialled number leads to a queue or an IVR menu ([`Target`]). A menu is played; a
//!    key ([`Switch::media_event`], RFC 4733 or in-band) picks a queue, another menu, or
//!    information to hear; no key or a wrong one offers the menu again, then its default.
//! 3. In the queue the caller hears its position and expected wait (from the routing core's
//!    estimate; nothing is promised when no agent could take the call), the callback offer,
//!    then music on hold, again every [`MediaSettings::announce_every_ms`]. The callback key
//!    keeps the caller's place as a callback ([`hotline_routing::Input::AcceptCallback`]);
//!    hotline says so and hangs up. When its turn comes the agent's phone rings, and once the
//!    agent answers hotline dials the customer through a trunk ([`Trunk::address`]) and
//!    bridges them (module `callback`). The key is offered only when a trunk dials out.
//! 4. The routing core offers the contact to an agent: the switch opens the agent leg's
//!    socket and INVITEs every contact the agent registered (at most [`MAX_FORKS`]: desk
//!    phone, softphone) with our SDP, from the caller's number, so the phone shows who is
//!    calling. The first phone to answer takes the call and the others are cancelled; the
//!    offer fails only when every phone has failed (rejected if any declined).
//! 5. The agent answers (2xx with usable SDP): the offer is accepted, the legs are bridged
//!    (and recorded, if configured). Either side's BYE ends both legs and starts wrap-up.
//! 6. The agent rejects (486/603/4xx-6xx) or does not answer before the offer times out: the
//!    contact keeps its place (and its music) and goes to the next agent; the ringing leg is
//!    cancelled. The caller hangs up while queued or while an agent rings: the agent leg is
//!    cancelled and the contact abandoned. No leg outlives its call.
//!
//! With media off, the switch is signalling only: the caller hears ringing (180) until an
//! agent answers, is answered with the agent's SDP, and the media flows phone to phone; a
//! caller's CANCEL while queued or ringing gets 487. No menus or announcements then.
//!
//! Agents are SIP users: registering (with digest authentication) logs the agent in and makes
//! it ready; the last binding lapsing or being removed logs it out.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

mod agents;
mod callback;
mod media;
mod outbound;
mod transfer;

pub use agents::{AgentChange, AgentChangeError, AgentStatus};
use callback::{CallbackDial, CallbackTarget};
use media::MediaCall;
pub use media::{
    MediaCommand, MediaSettings, Menu, MenuAction, RecordMode, Survey, Target,
    DEFAULT_SURVEY_TIMEOUT_MS, MAX_MENUS, MAX_MENU_REPEATS, MAX_PENDING_MEDIA, MAX_PROMPTS, MOH,
    SURVEY_SCORES,
};
use outbound::OutboundAttempt;
pub use outbound::{
    OutboundCall, OutboundCapacity, OutboundMode, OutboundResult, PacingStep, QueueAgents,
    ABANDON_AFTER_MS, MAX_OUTBOUND_ATTEMPTS, MAX_PACED_CONVERSATIONS,
};
use transfer::TransferDial;
pub use transfer::{valid_transfer_number, MAX_TRANSFER_NUMBER};

use hotline_routing::{
    AgentId, ContactId, ContactKind, ContactSpec, DialOutcome, Event as RoutingEvent, Input,
    OfferEndReason, Outcome, PreferredAgent, QueueId, Router, RoutingConfig, Time,
};
use hotline_sip::{
    new_branch, Algorithm, AuthConfig, AuthOutcome, Authenticator, Credentials, Dialog, DialogId,
    Message, Method, Millis, Peer, Registrar, RegistrarConfig, Request, Response,
    TransactionConfig, TransactionEvent, TransactionId, Transactions, Transmit, Transport, Uri,
};

/// How long a customer's phone rings on a callback by default.
pub const DEFAULT_DIAL_TIMEOUT_MS: Millis = 30_000;
/// The most phones of one agent rung at once for an offer.
pub const MAX_FORKS: usize = 4;
/// The default most calls at once; beyond it new INVITEs get 503.
pub const DEFAULT_MAX_CALLS: usize = 10_000;
/// The most log records waiting for the runtime; the runtime drains after every input.
pub const MAX_PENDING_RECORDS: usize = 100_000;
/// Failed authentications from one address within [`AUTH_FAILURE_WINDOW_MS`] before that
/// address is refused without its credentials being checked (password guessing).
pub const MAX_AUTH_FAILURES: u32 = 10;
/// The window over which failures are counted, and how long an address stays refused.
pub const AUTH_FAILURE_WINDOW_MS: Millis = 60_000;
/// The most addresses whose failures are tracked; beyond it the oldest windows are forgotten.
pub const MAX_TRACKED_AUTH_SOURCES: usize = 10_000;

/// A SIP account for a routing agent: the agent's name is its SIP user name.
#[derive(Clone, Debug)]
pub struct SipAgent {
    /// The routing agent's name, also its SIP user.
    pub name: String,
    /// Its password or HA1.
    pub credentials: Credentials,
}

/// An IPv4 or IPv6 network (`10.0.0.0/8`, `::1/128`, or a plain address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    /// The network's address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl IpNet {
    /// Reads `ADDR` or `ADDR/PREFIX`.
    pub fn parse(text: &str) -> Option<IpNet> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    /// Whether `ip` lies in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A carrier or PBX that may send calls in.
#[derive(Clone, Debug)]
pub struct Trunk {
    /// Its name, in the log.
    pub name: String,
    /// The addresses its INVITEs may come from.
    pub allow: Vec<IpNet>,
    /// Where hotline sends the calls it places through this trunk (callbacks, transfers),
    /// over UDP; `None`: calls in only.
    pub address: Option<SocketAddr>,
    /// Credentials for the carrier's digest challenges to those calls.
    pub auth: Option<TrunkAuth>,
}

/// hotline's account with a carrier: a call it places that gets 401 or 407 is sent once
/// more with digest credentials.
#[derive(Clone)]
pub struct TrunkAuth {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for TrunkAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password, not even in a debug print.
        f.debug_struct("TrunkAuth")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Where a dialled number (the Request-URI's user part) goes.
#[derive(Clone, Debug)]
pub struct NumberRoute {
    /// The number as dialled.
    pub number: String,
    /// A queue, or an IVR menu.
    pub target: Target,
    /// Opening hours: outside them the call goes elsewhere.
    pub hours: Option<Hours>,
}

/// A number's opening hours.
#[derive(Clone, Debug)]
pub struct Hours {
    /// An index into [`SwitchConfig::calendars`].
    pub calendar: usize,
    /// Where calls go while the calendar says closed (a menu that says the hours, a queue
    /// of the night shift).
    pub closed: Target,
}

/// What a reload changes in a running switch ([`Switch::reconfigure`]); the rest of
/// [`SwitchConfig`] needs a restart.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// The routing configuration.
    pub routing: RoutingConfig,
    /// The business-hours calendars: the same ones by name and order.
    pub calendars: Vec<hotline_calendar::Calendar>,
    /// The agents' SIP accounts.
    pub accounts: Vec<SipAgent>,
    /// The dialled numbers and where unlisted numbers go; `None` keeps those that run.
    pub numbers: Option<(Vec<NumberRoute>, Option<Target>)>,
}

/// The switch's settings (the routing core's are separate: [`RoutingConfig`]).
#[derive(Clone, Debug)]
pub struct SwitchConfig {
    /// The address in our Via and Contact headers.
    pub local: SocketAddr,
    /// The digest realm, and the host of agents' addresses.
    pub realm: String,
    /// The key that signs nonces; random at start unless configured.
    pub secret: [u8; 32],
    /// The digest algorithms offered, one challenge each, in this order (SHA-256 then MD5 by
    /// default; phones that only know MD5 and read only the first challenge need MD5 alone).
    pub digest_algorithms: Vec<Algorithm>,
    /// SIP accounts of the agents.
    pub agents: Vec<SipAgent>,
    /// Dialled numbers to queues and menus.
    pub numbers: Vec<NumberRoute>,
    /// Where numbers not listed go; `None` answers them 404.
    pub default_target: Option<Target>,
    /// Business-hours calendars that numbers name ([`Hours`]); the switch's `now` is
    /// milliseconds since the Unix epoch.
    pub calendars: Vec<hotline_calendar::Calendar>,
    /// Anchored media: answering, IVR, announcements, relay, recording.
    pub media: MediaSettings,
    /// Who may send calls in.
    pub trunks: Vec<Trunk>,
    /// Seeds tags, Call-IDs, branches and nonces.
    pub seed: u64,
    /// The transaction layer's settings.
    pub transactions: TransactionConfig,
    /// The most calls at once.
    pub max_calls: usize,
    /// How long a customer's phone rings when hotline calls back before the dial counts as
    /// not answered.
    pub dial_timeout_ms: Millis,
    /// The first contact id; ids must be unique for the life of the event log.
    pub first_contact_id: u64,
    /// Ask the records about each caller before queuing the call; `None` queues at once with
    /// default attributes.
    pub caller_lookup: Option<CallerLookup>,
    /// Calls the outbound dialler places ([`Switch::place_outbound`]).
    pub outbound: OutboundSettings,
}

/// Where the outbound dialler's calls go (`[outbound]`).
#[derive(Clone, Debug, Default)]
pub struct OutboundSettings {
    /// The queue whose agents take them; `None` for the first queue.
    pub queue: Option<QueueId>,
    /// The number shown to the customer (the From user); empty shows `hotline`.
    pub caller_id: String,
}

/// How long a call of a customer with a dedicated agent waits for that agent when the
/// switch does not look callers up itself (outbound calls carry their profile).
pub const DEFAULT_DEDICATED_AGENT_WAIT_MS: Millis = 30_000;

/// How the switch waits for the records' answer about a caller ([`Switch::caller_profile`]).
///
/// The [`CallEvent::Arrived`] record is the question: the driver looks the caller's number
/// up and hands the answer in. The call rings (or hears its menu) meanwhile; it joins its
/// queue when the answer comes or `wait_ms` has passed, whichever is first, so a slow or
/// broken store delays a call by at most `wait_ms` and never loses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallerLookup {
    /// The longest a call waits for its caller's profile before it queues with defaults.
    pub wait_ms: Millis,
    /// How long a call waits for the customer's dedicated agent before any agent may take
    /// it.
    pub dedicated_agent_wait_ms: Millis,
}

/// The longest [`CallerLookup::wait_ms`] a configuration may set.
pub const MAX_CALLER_LOOKUP_WAIT_MS: Millis = 2_000;

/// What the records know of a caller that routing uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallerProfile {
    /// The membership level: the routing tier of that name (an unknown name is tier 0).
    pub level: Option<String>,
    /// The value score, compared with the routing policy's high-value threshold.
    pub value_score: u32,
    /// Prefers a human (elderly callers): the policy's bonus.
    pub prefer_human: bool,
    /// The agent who looks after this customer, by name; the call waits for that agent
    /// first ([`CallerLookup::dedicated_agent_wait_ms`]).
    pub dedicated_agent: Option<String>,
}

/// Where a call stands with its caller's profile.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ProfileState {
    /// Asked; the call waits for the answer until `until` before it joins `queue` (once it
    /// wants to join one).
    Pending {
        until: Millis,
        queue: Option<QueueId>,
    },
    /// Answered (`None`: unknown caller, no lookup, or no answer in time).
    Known(Option<CallerProfile>),
}

/// Who ended a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The caller.
    Caller,
    /// The agent.
    Agent,
    /// hotline (queue rules, limits, failures).
    System,
    /// The outside number a menu transferred the caller to.
    Outside,
}

/// A call-level fact for the event log (the routing core's events come separately).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEvent {
    /// A call came in from a trunk.
    Arrived {
        /// The contact.
        contact: ContactId,
        /// The trunk.
        trunk: String,
        /// The caller's number (From user).
        from: String,
        /// The dialled number.
        to: String,
    },
    /// The dialled number's calendar says closed: the call goes to its closed target.
    OutOfHours {
        /// The contact.
        contact: ContactId,
        /// The calendar's name.
        calendar: String,
    },
    /// The caller pressed a key in a menu.
    MenuChoice {
        /// The contact.
        contact: ContactId,
        /// The menu's name.
        menu: String,
        /// The key.
        digit: char,
    },
    /// The call joined a queue.
    Queued {
        /// The contact.
        contact: ContactId,
        /// The queue.
        queue: QueueId,
    },
    /// The caller heard its position and expected wait.
    Announced {
        /// The contact.
        contact: ContactId,
        /// 1 for the next to be served.
        position: u32,
        /// The expected wait announced, before rounding for speech.
        wait_seconds: u64,
    },
    /// The caller answered the post-call survey ([`Survey`]) with a key from 1 to 5.
    SurveyAnswered {
        /// The contact.
        contact: ContactId,
        /// The score, 1 (very dissatisfied) to 5 (very satisfied).
        score: u8,
    },
    /// The caller chose to be called back; it keeps its place and its call ends.
    CallbackAccepted {
        /// The contact.
        contact: ContactId,
    },
    /// A callback's turn came but the customer could not be dialled (no trunk dials out,
    /// media is off, the number is unknown). Reported to the routing core as a failed dial.
    CallbackNotDialled {
        /// The contact.
        contact: ContactId,
        /// Which dial.
        attempt: u32,
        /// Why.
        why: String,
    },
    /// The agent took a callback and hotline dials the customer through a trunk.
    CallbackDialling {
        /// The contact.
        contact: ContactId,
        /// The agent, who waits on the line.
        agent: AgentId,
        /// 1 for the first dial.
        attempt: u32,
        /// The customer's number.
        number: String,
        /// The trunk.
        trunk: String,
    },
    /// A callback dial did not reach the customer: the final status (408 when nothing
    /// answered, 487 after hotline gave up ringing).
    CallbackDialFailed {
        /// The contact.
        contact: ContactId,
        /// Which dial.
        attempt: u32,
        /// The status.
        status: u16,
    },
    /// A menu transfers the caller to an outside number, dialled through a trunk.
    TransferDialling {
        /// The contact.
        contact: ContactId,
        /// The outside number.
        number: String,
        /// The trunk.
        trunk: String,
    },
    /// The outside number answered: the caller is connected to it.
    TransferConnected {
        /// The contact.
        contact: ContactId,
        /// The outside number.
        number: String,
    },
    /// The transfer did not connect (the final status; 408 for no response, 487 after
    /// hotline gave up ringing, 503 when it could not be dialled); the caller hears the menu
    /// again.
    TransferFailed {
        /// The contact.
        contact: ContactId,
        /// The outside number.
        number: String,
        /// The status.
        status: u16,
    },
    /// A call was refused before queueing.
    Refused {
        /// The status sent.
        status: u16,
        /// Why.
        reason: String,
        /// Where it came from.
        source: SocketAddr,
    },
    /// The outbound dialler's attempt joined the outbound queue: the first suitable agent
    /// takes it, and then the customer is dialled.
    OutboundQueued {
        /// The contact (one per attempt).
        contact: ContactId,
        /// The dialler's task.
        task: u64,
        /// The attempt.
        attempt: u32,
        /// The number to dial.
        number: String,
        /// The customer in the records.
        customer: Option<i64>,
    },
    /// An automatic outbound call dials the customer (no agent yet).
    OutboundDialling {
        /// The contact.
        contact: ContactId,
        /// The dialler's task.
        task: u64,
        /// The attempt.
        attempt: u32,
        /// The number.
        number: String,
    },
    /// The customer of an automatic outbound call chose to be called again later.
    OutboundLater {
        /// The contact.
        contact: ContactId,
        /// The dialler's task.
        task: u64,
        /// In how long.
        after_ms: u64,
    },
    /// A predictive call's progress, for the dialler's pacer: answered, then (once bridged to
    /// an agent) its talk and the agent's wrap-up times.
    OutboundPacing {
        /// The contact.
        contact: ContactId,
        /// The dialler's task.
        task: u64,
        /// The attempt.
        attempt: u32,
        /// What happened.
        step: PacingStep,
    },
    /// How the outbound dialler's attempt ended; once per [`OutboundCall`].
    OutboundEnded {
        /// The contact.
        contact: ContactId,
        /// The dialler's task.
        task: u64,
        /// The attempt.
        attempt: u32,
        /// How.
        result: OutboundResult,
    },
    /// An agent's phone is being rung.
    AgentRinging {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
    },
    /// An agent's leg failed before answering (status, or 408 for no response).
    AgentLegFailed {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
        /// The status.
        status: u16,
    },
    /// Caller and agent are connected.
    Connected {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
    },
    /// The call is over.
    Ended {
        /// The contact.
        contact: ContactId,
        /// Who ended it.
        by: Party,
    },
    /// A side of a connected call put it on hold (the other hears music on hold).
    Held {
        /// The contact.
        contact: ContactId,
        /// Who.
        by: Party,
    },
    /// The side that held the call took it off hold.
    Resumed {
        /// The contact.
        contact: ContactId,
        /// Who.
        by: Party,
    },
    /// An agent's phone registered (or refreshed) a contact.
    Registered {
        /// The agent.
        agent: AgentId,
        /// The contact URI.
        contact: String,
    },
    /// An agent's last binding went away.
    Unregistered {
        /// The agent.
        agent: AgentId,
    },
    /// Credentials were refused.
    AuthFailed {
        /// Where from.
        source: SocketAddr,
        /// What the log should know (never the password).
        reason: String,
    },
}

/// One output record for the event log.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// From the routing core.
    Routing(Time, RoutingEvent),
    /// From the switch.
    Call(Millis, CallEvent),
}

/// Counters for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwitchStats {
    /// Calls taken in.
    pub calls_in: u64,
    /// Calls connected to an agent.
    pub connected: u64,
    /// Calls a menu transferred to an outside number that answered.
    pub transferred: u64,
    /// Calls refused (limits, unknown numbers, not a trunk).
    pub refused: u64,
    /// Routing inputs the core refused (races, normal in small numbers).
    pub routing_refusals: u64,
    /// Calls that queued with default attributes because the records did not answer in
    /// time.
    pub lookups_timed_out: u64,
    /// REGISTERs refused unchecked because their address failed too often.
    pub auth_blocked: u64,
}

/// An agent leg in `Call::agent` rings or is connected; one being cancelled has moved to
/// `Call::leftover`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgentLegState {
    Ringing,
    Connected,
}

struct AgentLeg {
    /// The agent; `None` for an outside number a menu transfers to.
    agent: Option<AgentId>,
    txn: TransactionId,
    invite: Request,
    peer: Peer,
    state: AgentLegState,
    dialog: Option<Dialog>,
}

/// One call: an inbound caller and the agent leg, or a callback (the agent leg first, then
/// the customer dialled out in the caller's place).
struct Call {
    target: Target,
    /// The trunk it came in on, or goes out through (an index into the trunks).
    trunk: usize,
    /// Anchored media, when on.
    media: Option<MediaCall>,
    /// A callback: the caller leg is the customer, dialled by hotline.
    callback: Option<CallbackDial>,
    /// A menu transfer: the agent leg is an outside number, dialled by hotline.
    transfer: Option<TransferDial>,
    /// An automatic outbound call: the caller leg is the customer, dialled by hotline, who
    /// hears the outbound menu once they answer.
    automatic: Option<outbound::AutomaticDial>,
    /// The caller's INVITE (server transaction), or the customer's on a callback (client);
    /// `None` until a callback dials.
    caller_txn: Option<TransactionId>,
    caller_invite: Request,
    caller_peer: Peer,
    caller_tag: String,
    caller_dialog: Option<Dialog>,
    agent: Option<AgentLeg>,
    /// The agent's other phones ringing for the same offer (forking); the first to answer
    /// becomes `agent` and the rest are cancelled.
    forks: Vec<AgentLeg>,
    /// One of the agent's phones declined (486/600/603) this offer.
    fork_rejected: bool,
    /// Agent legs cancelled or being torn down after the call moved on; kept until they end.
    leftover: Vec<AgentLeg>,
    /// The caller's profile from the records, for its routing attributes.
    profile: ProfileState,
}

/// Which leg a dialog belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Caller,
    Agent,
}

/// The switch. See the module documentation.
pub struct Switch {
    config: SwitchConfig,
    transactions: Transactions,
    router: Router,
    registrar: Registrar,
    auth: Authenticator,
    rng: u64,
    next_contact: u64,
    calls: HashMap<ContactId, Call>,
    by_caller_txn: HashMap<TransactionId, ContactId>,
    by_agent_txn: HashMap<TransactionId, ContactId>,
    by_dialog: HashMap<DialogId, (ContactId, Side)>,
    /// Agents logged in because their phone registered.
    registered: HashMap<AgentId, bool>,
    /// Failed authentications per source address: (window start, failures).
    auth_failures: HashMap<IpAddr, (Millis, u32)>,
    records: VecDeque<Record>,
    stats: SwitchStats,
    media_commands: VecDeque<MediaCommand>,
    /// Media deadlines (menu time-outs, announcements), checked against the call's own.
    timers: BTreeSet<(Millis, ContactId)>,
    /// Whom to dial for callbacks waiting in the routing core.
    callback_targets: HashMap<ContactId, CallbackTarget>,
    /// Callback offers waiting for the contact's first call to end (the caller still hears
    /// the goodbye): the agent they reserve.
    deferred_callbacks: HashMap<ContactId, (AgentId, QueueId)>,
    /// Calls waiting for their caller's profile: when each stops waiting.
    lookup_timers: BTreeSet<(Millis, ContactId)>,
    /// The outbound dialler's attempts, until their routing ends.
    outbound: HashMap<ContactId, OutboundAttempt>,
    /// Attempts taken from the dialler so far.
    outbound_taken: u64,
    /// The first outbound menu of each language (zh-CN, en) in the media's menus.
    outbound_menus: [usize; 2],
    /// Connected predictive calls followed for the pacer until their wrap-up ends: the task
    /// and attempt (at most [`MAX_PACED_CONVERSATIONS`]).
    paced: HashMap<ContactId, (u64, u32)>,
    /// When each agent (by index) entered its routing state.
    agent_since: Vec<Millis>,
}

/// Why the switch could not start.
#[derive(Debug)]
pub struct SwitchError(pub String);

impl std::fmt::Display for SwitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SwitchError {}

impl Switch {
    /// A switch for these settings and this routing configuration.
    pub fn new(config: SwitchConfig, routing: RoutingConfig) -> Result<Switch, SwitchError> {
        check_media(&config, &routing)?;
        check_accounts(&config.agents, &routing)?;
        let agent_count = routing.agents.len();
        let router = Router::new(routing).map_err(|errors| {
            SwitchError(
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let registrar = Registrar::new(RegistrarConfig::new(
            config.agents.iter().map(|a| a.name.clone()),
        ))
        .map_err(|e| SwitchError(e.to_string()))?;
        let mut auth_config = AuthConfig::new(config.realm.clone(), config.secret);
        if !config.digest_algorithms.is_empty() {
            auth_config.algorithms = config.digest_algorithms.clone();
        }
        let auth = Authenticator::new(auth_config).map_err(|e| SwitchError(e.to_string()))?;
        // The automatic outbound calls' menus, after the configured ones.
        let mut config = config;
        let outbound_queue = config
            .outbound
            .queue
            .or_else(|| (!router.config().queues.is_empty()).then_some(QueueId(0)));
        let mut outbound_menus = [usize::MAX; 2];
        if let (true, Some(queue)) = (config.media.enabled, outbound_queue) {
            let (menus, first) = outbound::outbound_menus(queue, config.media.menus.len());
            config.media.menus.extend(menus);
            outbound_menus = first;
        }
        Ok(Switch {
            transactions: Transactions::new(config.transactions.clone()),
            router,
            registrar,
            auth,
            rng: config.seed ^ 0x5851_f42d_4c95_7f2d,
            next_contact: config.first_contact_id,
            calls: HashMap::new(),
            by_caller_txn: HashMap::new(),
            by_agent_txn: HashMap::new(),
            by_dialog: HashMap::new(),
            registered: HashMap::new(),
            auth_failures: HashMap::new(),
            records: VecDeque::new(),
            stats: SwitchStats::default(),
            media_commands: VecDeque::new(),
            timers: BTreeSet::new(),
            callback_targets: HashMap::new(),
            deferred_callbacks: HashMap::new(),
            lookup_timers: BTreeSet::new(),
            outbound: HashMap::new(),
            outbound_taken: 0,
            outbound_menus,
            paced: HashMap::new(),
            agent_since: vec![0; agent_count],
            config,
        })
    }

    /// The routing core, for estimates and state queries.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Runs what a reload changes ([`LiveConfig`]) from `now` on, without dropping a call:
    ///
    /// - the routing ([`Router::reconfigure`]: queues, agents, skills and reasons may be added
    ///   at the end and their properties changed, not removed or renamed);
    /// - the business-hours calendars, the same ones by name and order (numbers name them by
    ///   place); their hours and holidays apply to the next call that arrives;
    /// - the agents' SIP accounts: a new one may register at once; an agent whose account is
    ///   gone, or whose password changed, loses their registrations at once, so is logged out
    ///   (a call in hand goes on) until a phone registers with the new password;
    /// - the dialled numbers and where unlisted numbers go, when given: the next call meets
    ///   them.
    ///
    /// An error changes nothing.
    pub fn reconfigure(&mut self, now: Millis, live: LiveConfig) -> Result<(), SwitchError> {
        let LiveConfig {
            routing,
            calendars,
            accounts,
            numbers,
        } = live;
        let names = |c: &[hotline_calendar::Calendar]| {
            c.iter().map(|c| c.name().to_owned()).collect::<Vec<_>>()
        };
        if names(&calendars) != names(&self.config.calendars) {
            return Err(SwitchError(format!(
                "the calendars are {:?}, were {:?}: numbers name them by place, so adding, \
                 removing or renaming one needs a restart",
                names(&calendars),
                names(&self.config.calendars)
            )));
        }
        check_accounts(&accounts, &routing)?;
        // Checked in place, as `Switch::new` checks them; put back if anything is refused.
        let (numbers, default_target) = match numbers {
            Some(given) => given,
            None => (
                self.config.numbers.clone(),
                self.config.default_target.clone(),
            ),
        };
        let previous = (
            std::mem::replace(&mut self.config.calendars, calendars),
            std::mem::replace(&mut self.config.numbers, numbers),
            std::mem::replace(&mut self.config.default_target, default_target),
        );
        let mut result = check_media(&self.config, &routing);
        if result.is_ok() {
            result = self
                .router
                .reconfigure(Time::from_millis(now), routing)
                .map_err(|e| SwitchError(e.to_string()));
        }
        if let Err(error) = result {
            (
                self.config.calendars,
                self.config.numbers,
                self.config.default_target,
            ) = previous;
            return Err(error);
        }
        let agents = self.router.config().agents.len();
        self.agent_since.resize(agents, now);
        let mut gone = self
            .registrar
            .set_known_users(accounts.iter().map(|a| a.name.clone()));
        // A new password locks out what the old one registered (a lost or shared phone).
        let before: HashMap<&str, &Credentials> = self
            .config
            .agents
            .iter()
            .map(|a| (a.name.as_str(), &a.credentials))
            .collect();
        let changed: Vec<String> = accounts
            .iter()
            .filter(|a| {
                before
                    .get(a.name.as_str())
                    .is_some_and(|&c| *c != a.credentials)
            })
            .map(|a| a.name.clone())
            .collect();
        for user in changed {
            if self.registrar.unbind(&user) {
                gone.push(user);
            }
        }
        self.config.agents = accounts;
        for user in gone {
            self.after_binding_change(now, &user);
        }
        self.drain_routing(now);
        Ok(())
    }

    /// Where a waiting contact stands and how long it may wait.
    pub fn estimate(&mut self, contact: ContactId) -> Option<hotline_routing::WaitEstimate> {
        self.router.estimate(contact)
    }

    /// Counters.
    pub fn stats(&self) -> SwitchStats {
        self.stats
    }

    /// The transaction layer's counters.
    pub fn transaction_stats(&self) -> hotline_sip::TransactionStats {
        self.transactions.stats()
    }

    /// Calls in progress.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Transactions alive (for leak checks).
    pub fn transactions(&self) -> usize {
        self.transactions.len()
    }

    /// Takes in a datagram or a framed stream message.
    pub fn handle_datagram(&mut self, now: Millis, source: Peer, bytes: &[u8]) {
        self.router.handle_timeout(Time::from_millis(now));
        self.drain_routing(now);
        self.transactions.handle_datagram(now, source, bytes);
        self.drain(now);
    }

    /// Fires everything due at `now`.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.transactions.handle_timeout(now);
        self.drain(now);
        self.router.handle_timeout(Time::from_millis(now));
        self.drain_routing(now);
        self.media_timeouts(now);
        self.lookup_timeouts(now);
        if self.registrar.next_expiry().is_some_and(|at| at <= now) {
            for expired in self.registrar.expire(now) {
                self.after_binding_change(now, &expired.user);
            }
        }
        self.drain(now);
    }

    /// When to call [`Switch::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        [
            self.transactions.poll_timeout(),
            self.router.poll_timeout().map(Time::as_millis),
            self.registrar.next_expiry(),
            self.timers.first().map(|&(at, _)| at),
            self.lookup_timers.first().map(|&(at, _)| at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transactions.poll_transmit()
    }

    /// The next record for the event log.
    pub fn poll_record(&mut self) -> Option<Record> {
        self.records.pop_front()
    }

    fn record(&mut self, record: Record) {
        if self.records.len() < MAX_PENDING_RECORDS {
            self.records.push_back(record);
        }
    }

    fn call_event(&mut self, now: Millis, event: CallEvent) {
        self.record(Record::Call(now, event));
    }

    fn random(&mut self) -> u64 {
        hotline_sip::splitmix64(&mut self.rng)
    }

    fn random_bytes(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.random().to_le_bytes());
        out[8..].copy_from_slice(&self.random().to_le_bytes());
        out
    }

    fn tag(&mut self) -> String {
        format!("hl{:012x}", self.random() >> 16)
    }

    fn via(&mut self, transport: Transport) -> String {
        let branch = new_branch(self.random());
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            transport.via_token(),
            self.config.local
        )
    }

    fn contact(&self) -> String {
        format!("<sip:hotline@{}>", self.config.local)
    }

    /// Drains the transaction layer's events, acting on each.
    fn drain(&mut self, now: Millis) {
        while let Some(event) = self.transactions.poll_event() {
            match event {
                TransactionEvent::Request {
                    id,
                    request,
                    source,
                } => self.on_request(now, id, request, source),
                TransactionEvent::Response { id, response } => self.on_response(now, id, response),
                TransactionEvent::Timeout { id, .. } => self.on_timeout(now, id),
                TransactionEvent::Ack { request, .. } => self.on_ack(now, request),
                TransactionEvent::StrayResponse { response, source } => {
                    self.on_stray(response, source)
                }
                TransactionEvent::Terminated { id } => {
                    self.by_caller_txn.remove(&id);
                    self.by_agent_txn.remove(&id);
                }
            }
        }
    }

    /// An ACK for a 2xx of ours: it may carry the answer to an offer we made.
    fn on_ack(&mut self, now: Millis, request: Request) {
        let Some(&(contact, side)) = DialogId::of_received(&request)
            .as_ref()
            .and_then(|id| self.by_dialog.get(id))
        else {
            return;
        };
        self.media_ack(now, contact, side, &request.body);
    }

    fn respond(&mut self, now: Millis, id: TransactionId, mut response: Response, tag: &str) {
        if response.status > 100 {
            response.add_to_tag(tag);
        }
        // Refused only when the transaction already ended: nothing is waiting any more.
        let _ = self.transactions.send_response(now, id, response);
    }

    fn reply(
        &mut self,
        now: Millis,
        id: TransactionId,
        request: &Request,
        status: u16,
        reason: &str,
    ) {
        let tag = self.tag();
        let response = request.response(status, reason);
        self.respond(now, id, response, &tag);
    }

    fn on_request(&mut self, now: Millis, id: TransactionId, request: Request, source: Peer) {
        if let Some(dialog) = DialogId::of_received(&request) {
            self.in_dialog(now, id, request, dialog);
            return;
        }
        match request.method {
            Method::Invite => self.on_invite(now, id, request, source),
            Method::Register => self.on_register(now, id, request, source),
            Method::Cancel => self.on_cancel(now, id, request),
            Method::Options => {
                let tag = self.tag();
                let mut response = request.response(200, "OK");
                response
                    .headers
                    .push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO");
                response.headers.push("Accept", "application/sdp");
                self.respond(now, id, response, &tag);
            }
            Method::Bye | Method::Info => {
                self.reply(now, id, &request, 481, "Call/Transaction Does Not Exist")
            }
            _ => {
                let tag = self.tag();
                let mut response = request.response(405, "Method Not Allowed");
                response
                    .headers
                    .push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO");
                self.respond(now, id, response, &tag);
            }
        }
    }

    /// Whether `ip` has failed authentication too often lately.
    fn auth_blocked(&self, now: Millis, ip: IpAddr) -> bool {
        self.auth_failures
            .get(&ip)
            .is_some_and(|&(start, failures)| {
                failures >= MAX_AUTH_FAILURES && now < start + AUTH_FAILURE_WINDOW_MS
            })
    }

    fn note_auth_failure(&mut self, now: Millis, ip: IpAddr) {
        if self.auth_failures.len() >= MAX_TRACKED_AUTH_SOURCES
            && !self.auth_failures.contains_key(&ip)
        {
            self.auth_failures
                .retain(|_, (start, _)| now < *start + AUTH_FAILURE_WINDOW_MS);
            if self.auth_failures.len() >= MAX_TRACKED_AUTH_SOURCES {
                return;
            }
        }
        let entry = self.auth_failures.entry(ip).or_insert((now, 0));
        if now >= entry.0 + AUTH_FAILURE_WINDOW_MS {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    fn on_register(&mut self, now: Millis, id: TransactionId, request: Request, source: Peer) {
        if self.auth_blocked(now, source.addr.ip()) {
            self.stats.auth_blocked += 1;
            let tag = self.tag();
            let mut response = request.response(403, "Forbidden (too many failed attempts)");
            response
                .headers
                .push("Retry-After", (AUTH_FAILURE_WINDOW_MS / 1000).to_string());
            self.respond(now, id, response, &tag);
            return;
        }
        let random = self.random_bytes();
        let agents = &self.config.agents;
        let outcome = self.auth.check(
            &request,
            |user| {
                agents
                    .iter()
                    .find(|a| a.name == user)
                    .map(|a| a.credentials.clone())
            },
            now,
            random,
        );
        match outcome {
            AuthOutcome::Authorized { user } => {
                let response = self
                    .registrar
                    .handle_register(&request, source.addr, now, &user);
                let ok = response.status == 200;
                let _ = self.transactions.send_response(now, id, response);
                if ok {
                    if let Some(agent) = self.router.config().agent_id(&user) {
                        for binding in self.registrar.lookup(&user, now) {
                            self.call_event(
                                now,
                                CallEvent::Registered {
                                    agent,
                                    contact: binding.contact.to_string(),
                                },
                            );
                        }
                    }
                    self.after_binding_change(now, &user);
                }
            }
            AuthOutcome::Challenge(response) => {
                let tag = self.tag();
                self.respond(now, id, response, &tag);
            }
            AuthOutcome::Forbidden(refusal) => {
                self.note_auth_failure(now, source.addr.ip());
                self.call_event(
                    now,
                    CallEvent::AuthFailed {
                        source: source.addr,
                        reason: refusal.to_string(),
                    },
                );
                self.reply(now, id, &request, 403, refusal.reason_phrase());
            }
            AuthOutcome::BadRequest(reason) => {
                self.reply(now, id, &request, 400, &reason);
            }
        }
    }

    /// Logs an agent in (and makes it ready) when its first binding appears, out when its
    /// last one goes.
    fn after_binding_change(&mut self, now: Millis, user: &str) {
        let Some(agent) = self.router.config().agent_id(user) else {
            return;
        };
        let live = !self.registrar.lookup(user, now).is_empty();
        let was = self.registered.get(&agent).copied().unwrap_or(false);
        if live && !was {
            self.registered.insert(agent, true);
            self.route(now, Input::Login { agent });
            self.route(now, Input::Ready { agent });
        } else if !live && was {
            self.registered.insert(agent, false);
            self.route(now, Input::Logout { agent });
            self.call_event(now, CallEvent::Unregistered { agent });
        }
    }

    fn trunk_for(&self, ip: IpAddr) -> Option<usize> {
        self.config
            .trunks
            .iter()
            .position(|t| t.allow.iter().any(|net| net.contains(ip)))
    }

    fn refuse(
        &mut self,
        now: Millis,
        id: TransactionId,
        request: &Request,
        source: Peer,
        status: u16,
        reason: &str,
    ) {
        self.stats.refused += 1;
        self.call_event(
            now,
            CallEvent::Refused {
                status,
                reason: reason.to_string(),
                source: source.addr,
            },
        );
        self.reply(now, id, request, status, reason);
    }

    fn on_invite(&mut self, now: Millis, id: TransactionId, request: Request, source: Peer) {
        let Some(trunk_index) = self.trunk_for(source.addr.ip()) else {
            self.refuse(now, id, &request, source, 403, "Forbidden (not a trunk)");
            return;
        };
        if self.calls.len() >= self.config.max_calls {
            let tag = self.tag();
            let mut response = request.response(503, "Service Unavailable (call limit)");
            response.headers.push(
                "Retry-After",
                self.config.transactions.retry_after_s.to_string(),
            );
            self.stats.refused += 1;
            self.respond(now, id, response, &tag);
            return;
        }
        let trunk = self.config.trunks[trunk_index].name.clone();
        let dialled = request.uri.user.clone().unwrap_or_default();
        let route = self.config.numbers.iter().find(|n| n.number == dialled);
        // Outside the number's hours: its closed target, and the calendar's name to log.
        let closed = route.and_then(|n| n.hours.as_ref()).and_then(|hours| {
            let calendar = self.config.calendars.get(hours.calendar)?;
            (!calendar.is_open(now)).then(|| (hours.closed.clone(), calendar.name().to_string()))
        });
        let target = match &closed {
            Some((target, _)) => Some(target.clone()),
            None => route
                .map(|n| n.target.clone())
                .or_else(|| self.config.default_target.clone()),
        };
        let Some(target) = target else {
            self.refuse(
                now,
                id,
                &request,
                source,
                404,
                "Not Found (nothing for this number)",
            );
            return;
        };
        if self.media_commands.len() >= MAX_PENDING_MEDIA {
            self.refuse(
                now,
                id,
                &request,
                source,
                503,
                "Service Unavailable (media busy)",
            );
            return;
        }
        let contact = ContactId(self.next_contact);
        let media = if self.config.media.enabled {
            match self.media_admit(contact, &request) {
                Ok(media) => Some(media),
                Err(reason) => {
                    self.refuse(now, id, &request, source, 488, reason);
                    return;
                }
            }
        } else {
            None
        };
        self.next_contact += 1;
        let caller_tag = self.tag();
        let from = request
            .headers
            .from()
            .and_then(|f| f.uri.user.clone())
            .unwrap_or_default();
        self.stats.calls_in += 1;
        let signalling_only = media.is_none();
        let profile = match self.config.caller_lookup {
            Some(lookup) => {
                let until = now.saturating_add(lookup.wait_ms);
                self.lookup_timers.insert((until, contact));
                ProfileState::Pending { until, queue: None }
            }
            None => ProfileState::Known(None),
        };
        self.calls.insert(
            contact,
            Call {
                target: target.clone(),
                trunk: trunk_index,
                media,
                callback: None,
                transfer: None,
                automatic: None,
                caller_txn: Some(id),
                caller_invite: request.clone(),
                caller_peer: source,
                caller_tag: caller_tag.clone(),
                caller_dialog: None,
                agent: None,
                forks: Vec::new(),
                fork_rejected: false,
                leftover: Vec::new(),
                profile,
            },
        );
        self.by_caller_txn.insert(id, contact);
        self.call_event(
            now,
            CallEvent::Arrived {
                contact,
                trunk,
                from,
                to: dialled,
            },
        );
        if let Some((_, calendar)) = closed {
            self.call_event(now, CallEvent::OutOfHours { contact, calendar });
        }
        if !signalling_only {
            // Answered once the driver has opened the caller leg's socket.
            return;
        }
        let Target::Queue(queue) = target else {
            // Menus need media; `Switch::new` refuses such a configuration.
            self.fail_caller(
                now,
                contact,
                500,
                "Server Internal Error (menu without media)",
            );
            return;
        };
        let mut ringing = request.response(180, "Ringing");
        ringing.headers.push("Contact", self.contact());
        self.respond(now, id, ringing, &caller_tag);
        self.join_queue(now, contact, queue);
    }

    /// Puts a call in its queue, once its caller's profile is known (or no longer awaited).
    fn join_queue(&mut self, now: Millis, contact: ContactId, queue: QueueId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if let ProfileState::Pending { queue: waiting, .. } = &mut call.profile {
            *waiting = Some(queue);
            return;
        }
        if call.media.is_some() {
            self.enqueue(now, contact, queue);
            return;
        }
        self.call_event(now, CallEvent::Queued { contact, queue });
        let spec = self.contact_spec(contact, queue);
        if let Err(error) = self
            .router
            .handle(Time::from_millis(now), Input::Arrive(spec))
        {
            self.stats.routing_refusals += 1;
            let reason = format!("Service Unavailable ({error:?})");
            self.fail_caller(now, contact, 503, &reason);
            return;
        }
        self.drain_routing(now);
    }

    /// The routing core's view of a call: its queue, and its caller's level, value,
    /// preference and dedicated agent from the records.
    fn contact_spec(&self, contact: ContactId, queue: QueueId) -> ContactSpec {
        let profile = match self.calls.get(&contact).map(|c| &c.profile) {
            Some(ProfileState::Known(Some(profile))) => Some(profile),
            _ => None,
        };
        self.spec_for(contact, queue, profile)
    }

    /// A call for the routing core in `queue`, with a customer's profile when known.
    fn spec_for(
        &self,
        contact: ContactId,
        queue: QueueId,
        profile: Option<&CallerProfile>,
    ) -> ContactSpec {
        let mut spec = ContactSpec::call(contact, queue);
        let Some(profile) = profile else {
            return spec;
        };
        let routing = self.router.config();
        spec.attributes.tier = profile
            .level
            .as_deref()
            .and_then(|level| routing.priority.tiers.iter().position(|t| t.name == level))
            .and_then(|tier| u8::try_from(tier).ok())
            .unwrap_or(0);
        spec.attributes.value_score = profile.value_score;
        spec.attributes.prefer_human = profile.prefer_human;
        if let Some(name) = &profile.dedicated_agent {
            let wait_ms = self
                .config
                .caller_lookup
                .map_or(DEFAULT_DEDICATED_AGENT_WAIT_MS, |l| {
                    l.dedicated_agent_wait_ms
                });
            spec.preferred_agent = routing.agent_id(name).map(|agent| PreferredAgent {
                agent,
                wait: std::time::Duration::from_millis(wait_ms),
            });
        }
        spec
    }

    /// The records' answer about a call's caller ([`CallerLookup`]): `None` for an unknown
    /// caller. A call still waiting for it joins its queue now; an answer that comes too
    /// late, or for a call that has ended, changes nothing.
    pub fn caller_profile(
        &mut self,
        now: Millis,
        contact: ContactId,
        profile: Option<CallerProfile>,
    ) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let ProfileState::Pending { until, queue } = call.profile else {
            return;
        };
        call.profile = ProfileState::Known(profile);
        self.lookup_timers.remove(&(until, contact));
        if let Some(queue) = queue {
            self.join_queue(now, contact, queue);
        }
        self.drain(now);
    }

    /// Calls whose profile did not come in time stop waiting for it.
    fn lookup_timeouts(&mut self, now: Millis) {
        while let Some(&(at, contact)) = self.lookup_timers.first() {
            if at > now {
                break;
            }
            self.lookup_timers.remove(&(at, contact));
            let Some(call) = self.calls.get_mut(&contact) else {
                continue;
            };
            let ProfileState::Pending { queue, .. } = call.profile else {
                continue;
            };
            call.profile = ProfileState::Known(None);
            self.stats.lookups_timed_out += 1;
            if let Some(queue) = queue {
                self.join_queue(now, contact, queue);
            }
        }
    }

    fn on_cancel(&mut self, now: Millis, id: TransactionId, request: Request) {
        let Some(invite_txn) = self.transactions.invite_for_cancel(&request) else {
            self.reply(now, id, &request, 481, "Call/Transaction Does Not Exist");
            return;
        };
        self.reply(now, id, &request, 200, "OK");
        let Some(&contact) = self.by_caller_txn.get(&invite_txn) else {
            return;
        };
        if !self.transactions.is_pending_invite(invite_txn) {
            return;
        }
        self.fail_caller(now, contact, 487, "Request Terminated");
        self.call_event(
            now,
            CallEvent::Ended {
                contact,
                by: Party::Caller,
            },
        );
        self.route(now, Input::Abandon { contact });
        self.finish_if_done(now, contact);
    }

    /// Answers the caller's INVITE with a failure and takes down any agent leg. The routing
    /// core is told by the caller of this function.
    fn fail_caller(&mut self, now: Millis, contact: ContactId, status: u16, reason: &str) {
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        if call.callback.is_some() {
            self.cancel_customer(now, contact);
        } else if let Some(txn) = call.caller_txn {
            let (invite, tag) = (call.caller_invite.clone(), call.caller_tag.clone());
            let response = invite.response(status, reason);
            self.respond(now, txn, response, &tag);
        }
        self.drop_agent_leg(now, contact);
        if let Some(call) = self.calls.get_mut(&contact) {
            call.caller_dialog = None;
        }
    }

    /// Ends a call hotline never answered, with a failure status.
    fn end_unanswered(&mut self, now: Millis, contact: ContactId, status: u16, reason: &str) {
        self.fail_caller(now, contact, status, reason);
        self.call_event(
            now,
            CallEvent::Ended {
                contact,
                by: Party::System,
            },
        );
        self.finish_if_done(now, contact);
    }

    /// Cancels a ringing agent leg or hangs up a connected one.
    fn drop_agent_leg(&mut self, now: Millis, contact: ContactId) {
        self.cancel_forks(now, contact);
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some(mut leg) = call.agent.take() else {
            return;
        };
        match leg.state {
            AgentLegState::Ringing => {
                // Kept in `leftover` until its 487 (or a 2xx that crossed the CANCEL).
                let _ = self.transactions.cancel(now, leg.txn);
                if let Some(call) = self.calls.get_mut(&contact) {
                    call.leftover.push(leg);
                }
            }
            AgentLegState::Connected => {
                if let Some(dialog) = leg.dialog.as_mut() {
                    let via = self.via(leg.peer.transport);
                    let bye = dialog.request(Method::Bye, &via, "");
                    self.by_dialog.remove(&dialog.id);
                    let _ = self.transactions.send_request(now, bye, leg.peer);
                }
            }
        }
    }

    /// Cancels the agent's other ringing phones (kept in `leftover` until they end).
    fn cancel_forks(&mut self, now: Millis, contact: ContactId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let forks = std::mem::take(&mut call.forks);
        for leg in &forks {
            let _ = self.transactions.cancel(now, leg.txn);
        }
        if let Some(call) = self.calls.get_mut(&contact) {
            call.leftover.extend(forks);
        }
    }

    fn route(&mut self, now: Millis, input: Input) {
        if self.router.handle(Time::from_millis(now), input).is_err() {
            self.stats.routing_refusals += 1;
        }
        self.drain_routing(now);
    }

    fn drain_routing(&mut self, now: Millis) {
        while let Some((at, event)) = self.router.poll_event() {
            self.record(Record::Routing(at, event.clone()));
            match event {
                RoutingEvent::OfferCreated {
                    contact,
                    agent,
                    queue,
                    kind: ContactKind::Callback,
                } => self.start_callback(now, contact, agent, queue),
                RoutingEvent::CallbackPromised {
                    contact, chosen, ..
                } => self.callback_promised(now, contact, chosen),
                RoutingEvent::CallbackDialRequested {
                    contact, attempt, ..
                } => self.dial_customer(now, contact, attempt),
                RoutingEvent::OfferCreated { contact, agent, .. } => {
                    self.ring_agent(now, contact, agent)
                }
                RoutingEvent::AgentStateChanged { agent, .. } => {
                    if let Some(since) = self.agent_since.get_mut(agent.index()) {
                        *since = now;
                    }
                }
                RoutingEvent::ContactCompleted { contact, talk, .. } => {
                    let talk = u64::try_from(talk.as_millis()).unwrap_or(u64::MAX);
                    self.paced_step(now, contact, PacingStep::TalkEnded(talk));
                }
                RoutingEvent::WrapUpEnded {
                    contact, wrap_up, ..
                } => {
                    let wrap = u64::try_from(wrap_up.as_millis()).unwrap_or(u64::MAX);
                    self.paced_step(now, contact, PacingStep::WrapEnded(wrap));
                }
                RoutingEvent::OfferEnded {
                    contact, reason, ..
                } => {
                    if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut())
                    {
                        media.agent_waiting = None;
                    }
                    if matches!(
                        reason,
                        OfferEndReason::TimedOut
                            | OfferEndReason::ContactGone
                            | OfferEndReason::AgentUnavailable
                    ) {
                        let ringing = self.calls.get(&contact).is_some_and(|c| {
                            c.agent
                                .as_ref()
                                .is_some_and(|l| l.state == AgentLegState::Ringing)
                        });
                        if ringing {
                            self.drop_agent_leg(now, contact);
                        }
                    }
                    self.deferred_callbacks.remove(&contact);
                    if self
                        .calls
                        .get(&contact)
                        .is_some_and(|c| c.callback.is_some())
                    {
                        // A callback whose agent did not take it: its sockets go.
                        self.finish_if_done(now, contact);
                    }
                }
                RoutingEvent::ContactEnded {
                    contact, outcome, ..
                } => {
                    self.callback_targets.remove(&contact);
                    self.outbound_contact_ended(now, contact);
                    let with_media = self.calls.get(&contact).is_some_and(|c| c.media.is_some());
                    if with_media {
                        if outcome != Outcome::Answered && outcome != Outcome::Abandoned {
                            self.media_unavailable(contact);
                        }
                        continue;
                    }
                    let unanswered = self
                        .calls
                        .get(&contact)
                        .is_some_and(|c| c.caller_dialog.is_none());
                    if unanswered && outcome != Outcome::Answered && outcome != Outcome::Abandoned {
                        // The queue gave up on the caller (max wait with nowhere to go, or
                        // refused): say so and end the call.
                        self.end_unanswered(now, contact, 480, "Temporarily Unavailable");
                    }
                }
                _ => {}
            }
        }
    }

    fn ring_agent(&mut self, now: Millis, contact: ContactId, agent: AgentId) {
        let name = self.router.config().agents[agent.index()].name.clone();
        let mut bindings = self.registrar.lookup(&name, now);
        bindings.truncate(MAX_FORKS);
        let Some(call) = self.calls.get(&contact) else {
            self.route(now, Input::Unreachable { agent, contact });
            return;
        };
        if bindings.is_empty() {
            self.route(now, Input::Unreachable { agent, contact });
            return;
        }
        let mut offer = None;
        if call.media.is_some() {
            match self.agent_offer(contact) {
                Some(sdp) => offer = Some(sdp),
                None => {
                    // Ring once the agent leg's socket is open (`media_opened`).
                    let media = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut());
                    if let Some(media) = media {
                        let first = media.agent_waiting.is_none();
                        media.agent_waiting = Some(agent);
                        if first {
                            self.open_agent_leg(contact);
                        }
                    }
                    return;
                }
            }
        }
        if let Some(call) = self.calls.get_mut(&contact) {
            call.fork_rejected = false;
        }
        // Every registered phone of the agent rings (desk phone and softphone); the first to
        // answer takes the call and the others are cancelled.
        let mut rang = false;
        for binding in bindings {
            let Some(invite_and_peer) = self.agent_invite(contact, &name, &binding, offer.clone())
            else {
                continue;
            };
            let (invite, peer) = invite_and_peer;
            let Ok(txn) = self.transactions.send_request(now, invite.clone(), peer) else {
                continue;
            };
            self.by_agent_txn.insert(txn, contact);
            let leg = AgentLeg {
                agent: Some(agent),
                txn,
                invite,
                peer,
                state: AgentLegState::Ringing,
                dialog: None,
            };
            if let Some(call) = self.calls.get_mut(&contact) {
                match call.agent {
                    None => call.agent = Some(leg),
                    Some(_) => call.forks.push(leg),
                }
            }
            rang = true;
        }
        if rang {
            self.call_event(now, CallEvent::AgentRinging { contact, agent });
        } else {
            self.route(now, Input::Unreachable { agent, contact });
        }
    }

    /// The INVITE ringing one of an agent's phones, and where it goes.
    fn agent_invite(
        &mut self,
        contact: ContactId,
        name: &str,
        binding: &hotline_sip::Binding,
        offer: Option<Vec<u8>>,
    ) -> Option<(Request, Peer)> {
        let call = self.calls.get(&contact)?;
        let transport = match binding.contact.params.get("transport").flatten() {
            Some(t) if t.eq_ignore_ascii_case("tcp") => Transport::Tcp,
            _ => Transport::Udp,
        };
        let peer = Peer {
            addr: reach(&binding.contact, binding.source),
            transport,
        };
        let (caller_user, display) = match &call.callback {
            // The agent's phone shows whom it is about to call back.
            Some(callback) => (
                callback.number.clone(),
                format!("回拨 callback {}", callback.number),
            ),
            None => {
                let caller = call.caller_invite.headers.from();
                let user = caller
                    .as_ref()
                    .and_then(|f| f.uri.user.clone())
                    .unwrap_or_else(|| "anonymous".into());
                let display = caller
                    .as_ref()
                    .and_then(|f| f.display.clone())
                    .unwrap_or_else(|| user.clone());
                (user, display)
            }
        };
        let kind = if call.callback.is_some() {
            "callback"
        } else {
            "call"
        };
        let (body, content_type) = match offer {
            Some(sdp) => (sdp, Some("application/sdp".to_string())),
            None => (
                call.caller_invite.body.clone(),
                call.caller_invite
                    .headers
                    .get("Content-Type")
                    .map(str::to_string),
            ),
        };
        let tag = self.tag();
        let call_id = format!("{:016x}@hotline", self.random());
        let via = self.via(transport);
        let mut headers = hotline_sip::Headers::default();
        headers.push("Via", via);
        headers.push("Max-Forwards", "70");
        headers.push(
            "From",
            format!(
                "\"{}\" <sip:{}@{}>;tag={tag}",
                display.replace(['"', '\\'], ""),
                caller_user,
                self.config.realm
            ),
        );
        headers.push("To", format!("<sip:{}@{}>", name, self.config.realm));
        headers.push("Call-ID", call_id);
        headers.push("CSeq", "1 INVITE");
        headers.push("Contact", self.contact());
        headers.push("X-Hotline-Contact", contact.0.to_string());
        headers.push("X-Hotline-Kind", kind);
        if let Some(content_type) = content_type {
            headers.push("Content-Type", content_type);
        }
        let invite = Request {
            method: Method::Invite,
            uri: binding.contact.clone(),
            headers,
            body,
        };
        Some((invite, peer))
    }

    fn on_response(&mut self, now: Millis, txn: TransactionId, response: Response) {
        if let Some(&contact) = self.by_caller_txn.get(&txn) {
            // Only a callback's customer leg is a client INVITE on the caller's side (or an
            // automatic outbound call's).
            if self.is_automatic(contact) {
                self.automatic_response(now, contact, response);
            } else {
                self.customer_response(now, contact, response);
            }
            return;
        }
        let Some(&contact) = self.by_agent_txn.get(&txn) else {
            return;
        };
        let status = response.status;
        if status < 200 {
            return;
        }
        if self.is_transfer_leg(contact, txn) {
            self.transfer_response(now, contact, response);
            return;
        }
        // The current leg, or one being cancelled.
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let mut current = call.agent.as_ref().is_some_and(|l| l.txn == txn);
        if let Some(position) = call.forks.iter().position(|l| l.txn == txn) {
            if !(200..300).contains(&status) {
                // One of the agent's other phones declined or failed; the rest ring on.
                call.forks.remove(position);
                call.fork_rejected |= matches!(status, 486 | 600 | 603);
                return;
            }
            // Another of the agent's phones answered first: it takes the call.
            let ringing = call
                .agent
                .as_ref()
                .is_none_or(|l| l.state == AgentLegState::Ringing);
            if ringing {
                let answered = call.forks.remove(position);
                if let Some(first) = call.agent.replace(answered) {
                    call.forks.push(first);
                }
                current = true;
            }
        }
        if !current {
            // A cancelled leg answered anyway (the CANCEL crossed the 200): ACK and BYE it.
            let Some(position) = call.leftover.iter().position(|l| l.txn == txn) else {
                return;
            };
            let leg = call.leftover.remove(position);
            if (200..300).contains(&status) {
                self.ack_and_bye(now, &leg.invite, leg.peer, &response);
            }
            self.finish_if_done(now, contact);
            return;
        }
        let agent = call
            .agent
            .as_ref()
            .and_then(|l| l.agent)
            .unwrap_or(AgentId(0));
        if (200..300).contains(&status) {
            self.cancel_forks(now, contact);
            self.agent_answered(now, contact, response);
        } else {
            if let Some(call) = self.calls.get_mut(&contact) {
                call.fork_rejected |= matches!(status, 486 | 600 | 603);
                if !call.forks.is_empty() {
                    // Another of the agent's phones still rings.
                    call.agent = Some(call.forks.remove(0));
                    return;
                }
                call.agent = None;
            }
            let rejected = self.calls.get(&contact).is_some_and(|c| c.fork_rejected);
            self.call_event(
                now,
                CallEvent::AgentLegFailed {
                    contact,
                    agent,
                    status,
                },
            );
            let input = if rejected {
                Input::Reject { agent, contact }
            } else {
                Input::Unreachable { agent, contact }
            };
            self.route(now, input);
        }
    }

    /// Acknowledges a 2xx to an INVITE of ours that is no longer wanted, and hangs it up.
    fn ack_and_bye(&mut self, now: Millis, invite: &Request, peer: Peer, response: &Response) {
        let Ok(mut dialog) = Dialog::as_uac(invite, response) else {
            return;
        };
        let via = self.via(peer.transport);
        let ack = dialog.ack(&via);
        self.transactions
            .send_stateless(&Message::Request(ack), peer);
        let via = self.via(peer.transport);
        let bye = dialog.request(Method::Bye, &via, "");
        let _ = self.transactions.send_request(now, bye, peer);
    }

    fn agent_answered(&mut self, now: Millis, contact: ContactId, response: Response) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some(leg) = call.agent.as_mut() else {
            return;
        };
        if leg.state == AgentLegState::Connected {
            // A retransmitted 2xx: ACK it again.
            if let Some(dialog) = leg.dialog.clone() {
                let peer = leg.peer;
                let via = self.via(peer.transport);
                let ack = dialog.ack(&via);
                self.transactions
                    .send_stateless(&Message::Request(ack), peer);
            }
            return;
        }
        let Some(agent) = leg.agent else {
            // A transfer's leg is answered in `transfer_response`.
            return;
        };
        let with_media = call.media.is_some();
        let audio = if with_media {
            media::agent_audio(&response.body)
        } else {
            None
        };
        if with_media && audio.is_none() {
            // The phone answered with no audio we can relay: not reachable for this call.
            if let Some(leg) = self.calls.get_mut(&contact).and_then(|c| c.agent.take()) {
                self.ack_and_bye(now, &leg.invite, leg.peer, &response);
            }
            self.call_event(
                now,
                CallEvent::AgentLegFailed {
                    contact,
                    agent,
                    status: 488,
                },
            );
            self.route(now, Input::Unreachable { agent, contact });
            return;
        }
        let accepted = self
            .router
            .handle(Time::from_millis(now), Input::Accept { agent, contact })
            .is_ok();
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some(mut leg) = call.agent.take() else {
            return;
        };
        if !accepted {
            // The offer ended meanwhile (timed out): release the agent's phone.
            self.stats.routing_refusals += 1;
            self.ack_and_bye(now, &leg.invite, leg.peer, &response);
            self.drain_routing(now);
            return;
        }
        let Ok(dialog) = Dialog::as_uac(&leg.invite, &response) else {
            self.ack_and_bye(now, &leg.invite, leg.peer, &response);
            self.route(now, Input::Complete { agent, contact });
            return;
        };
        let via = self.via(leg.peer.transport);
        let ack = dialog.ack(&via);
        self.transactions
            .send_stateless(&Message::Request(ack), leg.peer);
        self.by_dialog
            .insert(dialog.id.clone(), (contact, Side::Agent));
        leg.dialog = Some(dialog);
        leg.state = AgentLegState::Connected;
        if let Some(audio) = audio {
            let callback = match self.calls.get_mut(&contact) {
                Some(call) => {
                    call.agent = Some(leg);
                    call.callback.is_some()
                }
                None => false,
            };
            if callback {
                // The agent waits on the line while the customer is dialled
                // (`CallbackDialRequested`, drained below).
                self.callback_agent_answered(contact, &audio);
                self.drain_routing(now);
                return;
            }
            self.media_connect(contact, &audio);
            self.stats.connected += 1;
            self.call_event(now, CallEvent::Connected { contact, agent });
            self.predictive_connected(now, contact);
            self.drain_routing(now);
            return;
        }
        // Answer the caller with the agent's media description.
        let contact_header = self.contact();
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        call.agent = Some(leg);
        let mut ok = call.caller_invite.response(200, "OK");
        ok.add_to_tag(&call.caller_tag);
        ok.headers.push("Contact", contact_header);
        if let Some(content_type) = response.headers.get("Content-Type") {
            ok.headers.push("Content-Type", content_type);
        }
        ok.body = response.body.clone();
        let caller_dialog = Dialog::as_uas(&call.caller_invite, &ok).ok();
        let txn = call.caller_txn;
        if let Some(dialog) = &caller_dialog {
            self.by_dialog
                .insert(dialog.id.clone(), (contact, Side::Caller));
        }
        call.caller_dialog = caller_dialog;
        if let Some(txn) = txn {
            let _ = self.transactions.send_response(now, txn, ok);
        }
        self.stats.connected += 1;
        self.call_event(now, CallEvent::Connected { contact, agent });
        self.drain_routing(now);
    }

    fn on_timeout(&mut self, now: Millis, txn: TransactionId) {
        let Some(&contact) = self.by_agent_txn.get(&txn) else {
            // A caller's 2xx never acknowledged, a BYE unanswered: the call is already over
            // or ends by its other leg.
            if let Some(&contact) = self.by_caller_txn.get(&txn) {
                if self.is_dialling_customer(contact) {
                    self.customer_unreachable(now, contact);
                } else if self.is_automatic(contact) {
                    self.automatic_unreachable(now, contact);
                } else {
                    self.hang_up(now, contact, Side::Caller);
                }
            }
            return;
        };
        if self.is_transfer_leg(contact, txn) {
            self.transfer_abort(now, contact, 408);
            return;
        }
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if let Some(position) = call.forks.iter().position(|l| l.txn == txn) {
            call.forks.remove(position);
            return;
        }
        if call.agent.as_ref().is_some_and(|l| l.txn == txn) {
            if !call.forks.is_empty() {
                call.agent = Some(call.forks.remove(0));
                return;
            }
            let leg = call.agent.take();
            if let Some(agent) = leg.and_then(|l| l.agent) {
                self.call_event(
                    now,
                    CallEvent::AgentLegFailed {
                        contact,
                        agent,
                        status: 408,
                    },
                );
                self.route(now, Input::Unreachable { agent, contact });
            }
        } else {
            call.leftover.retain(|l| l.txn != txn);
            self.finish_if_done(now, contact);
        }
    }

    fn on_stray(&mut self, response: Response, source: Peer) {
        // A 2xx to an agent INVITE retransmitted after its transaction ended: ACK it again
        // if the dialog is known, so the phone stops.
        if !(200..300).contains(&response.status) {
            return;
        }
        let Some(id) = (|| {
            Some(DialogId {
                call_id: response.headers.call_id()?.to_string(),
                local_tag: response.headers.from()?.tag()?.to_string(),
                remote_tag: response.headers.to()?.tag()?.to_string(),
            })
        })() else {
            return;
        };
        let Some(&(contact, side)) = self.by_dialog.get(&id) else {
            return;
        };
        // Our INVITEs: agent legs, and the customer leg of a callback.
        let Some(dialog) = self.calls.get(&contact).and_then(|c| match side {
            Side::Agent => c.agent.as_ref().and_then(|l| l.dialog.clone()),
            Side::Caller if c.callback.is_some() => c.caller_dialog.clone(),
            Side::Caller => None,
        }) else {
            return;
        };
        let via = self.via(source.transport);
        let ack = dialog.ack(&via);
        self.transactions
            .send_stateless(&Message::Request(ack), source);
    }

    fn in_dialog(&mut self, now: Millis, id: TransactionId, request: Request, dialog: DialogId) {
        let Some(&(contact, side)) = self.by_dialog.get(&dialog) else {
            self.reply(now, id, &request, 481, "Call/Transaction Does Not Exist");
            return;
        };
        let tag = dialog.local_tag.clone();
        let check = self.calls.get_mut(&contact).and_then(|call| {
            let dialog = match side {
                Side::Caller => call.caller_dialog.as_mut(),
                Side::Agent => call.agent.as_mut().and_then(|l| l.dialog.as_mut()),
            }?;
            Some(dialog.check_remote(&request))
        });
        if let Some(Err(error)) = check {
            let response = request.response(500, &format!("Server Internal Error ({error})"));
            self.respond(now, id, response, &tag);
            return;
        }
        match request.method {
            Method::Bye => {
                let response = request.response(200, "OK");
                self.respond(now, id, response, &tag);
                self.hang_up(now, contact, side);
            }
            Method::Invite if self.calls.get(&contact).is_some_and(|c| c.media.is_some()) => {
                // Hold, resume, a new address: our side of this leg changes; the other leg
                // hears music on hold while this one holds, and the relay carries on.
                let response = match self.media_reoffer(now, contact, side, &request.body) {
                    Some(body) => {
                        let mut ok = request.response(200, "OK");
                        ok.headers.push("Contact", self.contact());
                        ok.headers.push("Content-Type", "application/sdp");
                        ok.body = body;
                        ok
                    }
                    None => request.response(488, "Not Acceptable Here"),
                };
                self.respond(now, id, response, &tag);
            }
            Method::Invite => {
                // A re-INVITE (hold, resume, session refresh): relaying it to the other leg
                // is not done yet; answer with the description that leg gave, so the session
                // stays up unchanged.
                let body = self.calls.get(&contact).map(|call| match side {
                    Side::Caller => call
                        .agent
                        .as_ref()
                        .map(|_| call.caller_invite.body.clone())
                        .unwrap_or_default(),
                    Side::Agent => call.caller_invite.body.clone(),
                });
                let mut response = request.response(200, "OK");
                response.headers.push("Contact", self.contact());
                if let Some(body) = body.filter(|b| !b.is_empty()) {
                    response.headers.push("Content-Type", "application/sdp");
                    response.body = body;
                }
                self.respond(now, id, response, &tag);
            }
            Method::Info => {
                let digit = info_digit(&request);
                let response = request.response(200, "OK");
                self.respond(now, id, response, &tag);
                // A key by SIP INFO counts as one by RFC 4733 or in-band tone.
                if let (Some(digit), Side::Caller) = (digit, side) {
                    self.media_event(
                        now,
                        contact,
                        hotline_media::call::MediaEvent::Digit {
                            leg: hotline_media::call::LegId::Caller,
                            digit,
                        },
                    );
                }
            }
            _ => {
                let response = request.response(200, "OK");
                self.respond(now, id, response, &tag);
            }
        }
    }

    /// One side hung up a connected call: BYE the other side, end the contact's
    /// conversation in the routing core (wrap-up starts).
    fn hang_up(&mut self, now: Millis, contact: ContactId, side: Side) {
        if side == Side::Caller && self.in_survey(contact) {
            // The caller left during the survey: the conversation's end was reported already.
            if let Some(dialog) = self
                .calls
                .get_mut(&contact)
                .and_then(|c| c.caller_dialog.take())
            {
                self.by_dialog.remove(&dialog.id);
            }
            self.finish_if_done(now, contact);
            return;
        }
        let survey = side == Side::Agent && self.survey_follows(contact);
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        // The caller stays on for the survey; otherwise its leg ends too.
        let caller_dialog = if survey {
            None
        } else {
            call.caller_dialog.take()
        };
        let agent = call
            .agent
            .as_ref()
            .filter(|l| l.state == AgentLegState::Connected)
            .and_then(|l| l.agent);
        // Queued or ringing with anchored media: the caller gave up waiting.
        let abandoned = side == Side::Caller && call.media.as_ref().is_some_and(|m| m.routed);
        let caller_peer = call.caller_peer;
        if let Some(dialog) = &caller_dialog {
            self.by_dialog.remove(&dialog.id);
        }
        match side {
            Side::Caller => self.drop_agent_leg(now, contact),
            Side::Agent => {
                if let Some(leg) = self.calls.get_mut(&contact).and_then(|c| c.agent.take()) {
                    if let Some(d) = &leg.dialog {
                        self.by_dialog.remove(&d.id);
                    }
                }
                if let Some(mut dialog) = caller_dialog {
                    let via = self.via(caller_peer.transport);
                    let bye = dialog.request(Method::Bye, &via, "");
                    let _ = self.transactions.send_request(now, bye, caller_peer);
                }
            }
        }
        let transfer = self
            .calls
            .get(&contact)
            .is_some_and(|c| c.transfer.is_some());
        let by = match side {
            Side::Caller => Party::Caller,
            Side::Agent if transfer => Party::Outside,
            Side::Agent => Party::Agent,
        };
        self.call_event(now, CallEvent::Ended { contact, by });
        if self.callback_unreported(contact) {
            // The agent hung up before the customer answered: the dial failed.
            self.cancel_customer(now, contact);
            self.report_dial(now, contact, DialOutcome::Failed, 0);
        } else if let Some(agent) = agent {
            self.route(now, Input::Complete { agent, contact });
        } else if abandoned {
            self.route(now, Input::Abandon { contact });
        }
        if let Some(call) = self.calls.get_mut(&contact) {
            call.agent = None;
        }
        if survey {
            self.start_survey(contact);
        }
        self.finish_if_done(now, contact);
    }

    /// Forgets a call once nothing of it remains: no caller dialog, no agent leg, no leg
    /// being torn down.
    fn finish_if_done(&mut self, now: Millis, contact: ContactId) {
        let done = self.calls.get(&contact).is_some_and(|c| {
            c.caller_dialog.is_none()
                && c.leftover.is_empty()
                && c.agent.is_none()
                && c.forks.is_empty()
                && !c
                    .caller_txn
                    .is_some_and(|txn| self.transactions.is_pending_invite(txn))
                && !c.callback.as_ref().is_some_and(CallbackDial::is_busy)
                && !(c.callback.is_some()
                    && c.media.as_ref().is_some_and(|m| m.agent_waiting.is_some()))
        });
        if done
            && self
                .calls
                .remove(&contact)
                .is_some_and(|c| c.media.is_some())
        {
            self.media_closed(contact);
        }
        if done {
            self.automatic_finished(now, contact);
        }
        if done {
            // A callback offered while the caller still heard the goodbye starts now.
            if let Some((agent, queue)) = self.deferred_callbacks.remove(&contact) {
                self.start_callback(now, contact, agent, queue);
            }
        }
    }

    /// Checks the switch's bookkeeping: every dialog index points at a live call, no call
    /// outlives its legs for long. Panics with what is wrong. For tests.
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        self.transactions.check_invariants();
        for (id, (contact, _)) in &self.by_dialog {
            assert!(
                self.calls.contains_key(contact),
                "dialog {id:?} indexes ended call {contact:?}"
            );
        }
    }

    /// Whether an agent is logged in through a registration.
    pub fn is_registered(&self, agent: AgentId) -> bool {
        self.registered.get(&agent).copied().unwrap_or(false)
    }
}

/// Checks the media settings against the routing configuration.
/// Every SIP account names a routing agent.
fn check_accounts(accounts: &[SipAgent], routing: &RoutingConfig) -> Result<(), SwitchError> {
    match accounts
        .iter()
        .find(|a| routing.agent_id(&a.name).is_none())
    {
        Some(account) => Err(SwitchError(format!(
            "SIP account {:?} names no routing agent",
            account.name
        ))),
        None => Ok(()),
    }
}

fn check_media(config: &SwitchConfig, routing: &RoutingConfig) -> Result<(), SwitchError> {
    let media = &config.media;
    let queues = routing.queues.len();
    let menus = media.menus.len();
    if menus > MAX_MENUS {
        return Err(SwitchError(format!("{menus} menus; at most {MAX_MENUS}")));
    }
    let target_ok = |t: &Target| match t {
        Target::Queue(q) => q.index() < queues,
        Target::Menu(m) => *m < menus && media.enabled,
    };
    for n in &config.numbers {
        let closed = n.hours.as_ref().map(|h| &h.closed);
        if !target_ok(&n.target) || closed.is_some_and(|t| !target_ok(t)) {
            return Err(SwitchError(format!(
                "number {:?} leads to a menu without media, or to nothing",
                n.number
            )));
        }
        if n.hours
            .as_ref()
            .is_some_and(|h| h.calendar >= config.calendars.len())
        {
            return Err(SwitchError(format!(
                "number {:?} names a calendar that is not there",
                n.number
            )));
        }
    }
    if config
        .default_target
        .as_ref()
        .is_some_and(|t| !target_ok(t))
    {
        return Err(SwitchError(
            "the default target is a menu without media, or nothing".into(),
        ));
    }
    for menu in &media.menus {
        if menu.repeats > MAX_MENU_REPEATS || menu.prompts.len() > MAX_PROMPTS {
            return Err(SwitchError(format!(
                "menu {:?}: at most {MAX_MENU_REPEATS} repeats and {MAX_PROMPTS} prompts",
                menu.name
            )));
        }
        let actions = menu.options.iter().map(|(_, a)| a).chain([&menu.default]);
        for action in actions {
            let ok = match action {
                MenuAction::Queue(q) => q.index() < queues,
                MenuAction::Menu(m) => *m < menus,
                MenuAction::Play(p) => p.len() <= MAX_PROMPTS,
                MenuAction::HangUp => true,
                MenuAction::Later(ms) => *ms <= 7 * 86_400_000,
                MenuAction::Transfer(number) => {
                    if !valid_transfer_number(number) {
                        return Err(SwitchError(format!(
                            "menu {:?} transfers to {number:?}, which is not a number \
                             (digits, * and #, an optional leading +, at most \
                             {MAX_TRANSFER_NUMBER})",
                            menu.name
                        )));
                    }
                    if !config.trunks.iter().any(|t| t.address.is_some()) {
                        return Err(SwitchError(format!(
                            "menu {:?} transfers to {number:?}, but no trunk dials out \
                             (give a trunk an address)",
                            menu.name
                        )));
                    }
                    true
                }
            };
            if !ok {
                return Err(SwitchError(format!(
                    "menu {:?} leads to a queue or menu that does not exist",
                    menu.name
                )));
            }
        }
    }
    Ok(())
}

/// Where to send a request for a registered contact. The Contact's own address, unless it
/// is a private address other than the one the REGISTER came from (the phone is behind NAT
/// and wrote its inside address) or a host name (no DNS here): then the source of the
/// REGISTER, through the NAT binding it opened.
/// The key an INFO carries: `application/dtmf-relay` (`Signal=5`, the de facto format) or
/// `application/dtmf` (the key alone). `10` and `11` are read as `*` and `#`, as some phones
/// send them.
fn info_digit(request: &Request) -> Option<char> {
    let content_type = request.headers.get("Content-Type")?;
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let body = std::str::from_utf8(&request.body).ok()?;
    let value = match media_type.as_str() {
        "application/dtmf-relay" => body.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("signal")
                .then(|| value.trim())
        })?,
        "application/dtmf" => body.trim(),
        _ => return None,
    };
    match value {
        "10" => Some('*'),
        "11" => Some('#'),
        _ => {
            let mut chars = value.chars();
            let digit = chars.next()?.to_ascii_uppercase();
            (chars.next().is_none() && matches!(digit, '0'..='9' | '*' | '#' | 'A'..='D'))
                .then_some(digit)
        }
    }
}

fn reach(contact: &Uri, source: SocketAddr) -> SocketAddr {
    let host = contact.host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = host.parse::<IpAddr>() else {
        return source;
    };
    let private = match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_link_local()
                || (v4.octets()[0] == 100 && v4.octets()[1] & 0xc0 == 64)
        }
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    if private && ip != source.ip() {
        return source;
    }
    SocketAddr::new(ip, contact.port.unwrap_or(5060))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        Uri::parse(text).unwrap()
    }

    fn info(content_type: &str, body: &str) -> Request {
        let mut headers = hotline_sip::Headers::default();
        headers.push("Content-Type", content_type);
        Request {
            method: Method::Info,
            uri: uri("sip:hotline@127.0.0.1"),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn keys_sent_by_info_are_read_in_both_usual_formats() {
        let relay = "application/dtmf-relay";
        assert_eq!(
            info_digit(&info(relay, "Signal=5\r\nDuration=160\r\n")),
            Some('5')
        );
        assert_eq!(info_digit(&info(relay, "signal = #\r\n")), Some('#'));
        assert_eq!(info_digit(&info(relay, "Signal=10\r\n")), Some('*'));
        assert_eq!(info_digit(&info(relay, "Signal=d\r\n")), Some('D'));
        assert_eq!(info_digit(&info("application/dtmf", "7")), Some('7'));
        assert_eq!(
            info_digit(&info("Application/DTMF; x=1", " 9\r\n")),
            Some('9')
        );
        // Not a key: nothing.
        assert_eq!(info_digit(&info(relay, "Signal=55\r\n")), None);
        assert_eq!(info_digit(&info(relay, "Duration=160\r\n")), None);
        assert_eq!(info_digit(&info(relay, "Signal=E\r\n")), None);
        assert_eq!(info_digit(&info("application/sdp", "Signal=5")), None);
    }

    #[test]
    fn a_contact_is_reached_at_its_address_unless_it_hides_behind_nat() {
        let source: SocketAddr = "203.0.113.7:40000".parse().unwrap();
        assert_eq!(
            reach(&uri("sip:ann@192.168.1.20:5060"), source),
            source,
            "private address behind NAT"
        );
        assert_eq!(
            reach(&uri("sip:ann@198.51.100.9:5070"), source),
            "198.51.100.9:5070".parse().unwrap()
        );
        let local: SocketAddr = "192.168.1.20:6000".parse().unwrap();
        assert_eq!(
            reach(&uri("sip:ann@192.168.1.20:5062"), local),
            "192.168.1.20:5062".parse().unwrap(),
            "same private address: no NAT between"
        );
        assert_eq!(reach(&uri("sip:ann@phone.example"), source), source);
        assert_eq!(
            reach(&uri("sip:ann@127.0.0.1"), "127.0.0.1:9".parse().unwrap()),
            "127.0.0.1:5060".parse().unwrap()
        );
    }
}
