//! The runtime: real sockets and real time around the [`Switch`].
//!
//! One task owns the switch. It waits for whichever comes first: a UDP datagram, a message
//! framed from a TCP connection, or the switch's next deadline; hands it in; then sends what
//! the switch wants sent and passes its records to the event-log task. Each TCP connection
//! has a reader task (framing with [`hotline_sip::frame`]) and a writer task fed by a bounded
//! channel. Nothing in here decides anything about calls.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hotline_sip::{frame, Millis, Peer, Transport, MAX_MESSAGE_BYTES};
use hotline_store::{EventWriter, NewEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};

use crate::customer_link::LinkEvent;
use crate::media_runtime::{CallQuality, MediaReport};
use crate::media_runtime::{MediaDriver, MediaStats};
use crate::outbound::{OutboundReport, SwitchSide};
use crate::switch::{
    AgentChange, AgentChangeError, AgentStatus, CallEvent, CallerLookup, CallerProfile,
    OutboundResult, PacingStep, Party, Record, Switch, SwitchStats,
};

/// The most UDP datagrams taken in at one wake-up before the switch's output is sent.
pub const MAX_UDP_BURST: usize = 32;
/// The most framed TCP messages waiting for the switch task.
pub const MAX_INBOUND_QUEUE: usize = 4_096;
/// The most messages waiting to be written to one TCP connection; beyond it the connection
/// is too slow to keep and is closed.
pub const MAX_OUTBOUND_PER_CONNECTION: usize = 256;
/// The most TCP connections at once; more are refused (closed at once).
pub const MAX_TCP_CONNECTIONS: usize = 10_000;
/// The most log records waiting for the event-log task; beyond it records are counted and
/// dropped rather than stalling calls.
pub const MAX_LOG_QUEUE: usize = 65_536;
/// At shutdown, how long the media tasks of calls still up get to report their quality.
pub const SHUTDOWN_MEDIA_DRAIN: Duration = Duration::from_secs(1);
/// A TCP connection that sends nothing for this long is closed.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(3_600);

/// The switch's clock: Unix-epoch milliseconds at start plus monotonic time since.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
    start_unix_ms: u64,
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Clock {
        let start_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Clock {
            start: Instant::now(),
            start_unix_ms,
        }
    }

    /// Now, in milliseconds.
    pub fn now(&self) -> Millis {
        self.start_unix_ms + self.start.elapsed().as_millis() as u64
    }

    /// The instant of a time on this clock.
    pub fn instant_at(&self, at: Millis) -> tokio::time::Instant {
        let offset = at.saturating_sub(self.start_unix_ms);
        tokio::time::Instant::from_std(self.start + Duration::from_millis(offset))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// What the runtime counted, for the end-of-run summary and metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct RuntimeStats {
    /// The switch's counters.
    pub switch: SwitchStats,
    /// The transaction layer's counters (malformed messages, retransmissions, refusals).
    pub transactions: hotline_sip::TransactionStats,
    /// Datagrams and framed messages taken in.
    pub received: u64,
    /// Messages sent.
    pub sent: u64,
    /// Messages that could not be sent (socket errors, full or closed connections).
    pub send_failures: u64,
    /// Log records dropped because the event-log task fell behind.
    pub records_dropped: u64,
    /// The media side's counters.
    pub media: MediaStats,
    /// Call facts dropped because the link task fell behind.
    pub link_dropped: u64,
    /// The link task's counters.
    pub link: crate::customer_link::LinkStats,
    /// Outbound attempts' ends not handed to the dialler (its channel was full or gone).
    pub outbound_reports_dropped: u64,
}

/// The bound sockets, before the loop starts (so a caller learns the real port of `:0`).
pub struct Sockets {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl Sockets {
    /// Binds UDP and TCP on `listen`; with port 0 both get the same free port.
    pub async fn bind(listen: SocketAddr) -> io::Result<Sockets> {
        let mut last = None;
        for _ in 0..16 {
            let udp = UdpSocket::bind(listen).await?;
            let local = udp.local_addr()?;
            match TcpListener::bind(local).await {
                Ok(tcp) => return Ok(Sockets { udp, tcp }),
                Err(e) if listen.port() == 0 => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free port")))
    }

    /// The address bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

enum Inbound {
    Message(Peer, Vec<u8>),
    Connected(SocketAddr, mpsc::Sender<Vec<u8>>),
    Closed(SocketAddr),
}

/// What [`run`] needs besides the switch and its sockets.
pub struct RunParts {
    /// The clock shared with the media tasks.
    pub clock: Clock,
    /// Where records go.
    pub log: Option<EventWriter>,
    /// For naming agents and queues in records.
    pub routing: Arc<hotline_routing::RoutingConfig>,
    /// Anchored media, and its events.
    pub media: (
        MediaDriver,
        mpsc::Receiver<(
            hotline_routing::ContactId,
            crate::media_runtime::MediaReport,
        )>,
    ),
    /// Stops the loop when it turns true.
    pub shutdown: watch::Receiver<bool>,
    /// The customer records' task, when the records are open.
    pub link: Option<LinkChannels>,
    /// The outbound dialler's channels, when it places calls.
    pub outbound: Option<SwitchSide>,
    /// Requests from the rest of the server (the agents' desktop).
    pub control: mpsc::Receiver<Control>,
}

/// Requests waiting for the switch's run loop; beyond it [`SwitchControl`] answers busy.
pub const MAX_CONTROL_QUEUE: usize = 256;

/// A request to the switch, answered in its run loop.
#[derive(Debug)]
pub enum Control {
    /// An agent's state, by name.
    AgentStatus {
        /// The agent.
        agent: String,
        /// `None` for an unknown agent.
        reply: oneshot::Sender<Option<AgentStatus>>,
    },
    /// An agent's change from the desktop.
    ChangeAgent {
        /// The agent.
        agent: String,
        /// The change.
        change: AgentChange,
        /// The new state, or why not.
        reply: oneshot::Sender<Result<AgentStatus, AgentChangeError>>,
    },
    /// A new routing configuration, calendars, SIP accounts and numbers, run without
    /// dropping a call ([`Switch::reconfigure`]).
    Reconfigure {
        /// What changes.
        live: Box<crate::switch::LiveConfig>,
        /// Done, or why not (nothing changed then).
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// The handle on the switch the API holds (cloning is cheap). Each method answers `None`
/// when the switch is stopped or its request queue is full.
#[derive(Clone, Debug)]
pub struct SwitchControl {
    sender: mpsc::Sender<Control>,
}

impl SwitchControl {
    /// A handle and the receiver for [`RunParts::control`].
    pub fn channel() -> (SwitchControl, mpsc::Receiver<Control>) {
        let (sender, receiver) = mpsc::channel(MAX_CONTROL_QUEUE);
        (SwitchControl { sender }, receiver)
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Control) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.sender.try_send(make(reply)).ok()?;
        answer.await.ok()
    }

    /// An agent's state; `Some(None)` for an unknown agent.
    pub async fn agent_status(&self, agent: &str) -> Option<Option<AgentStatus>> {
        let agent = agent.to_string();
        self.ask(|reply| Control::AgentStatus { agent, reply })
            .await
    }

    /// Applies an agent's change.
    pub async fn change_agent(
        &self,
        agent: &str,
        change: AgentChange,
    ) -> Option<Result<AgentStatus, AgentChangeError>> {
        let agent = agent.to_string();
        self.ask(|reply| Control::ChangeAgent {
            agent,
            change,
            reply,
        })
        .await
    }

    /// Runs a new routing configuration, calendars, accounts and numbers
    /// ([`Control::Reconfigure`]).
    pub async fn reconfigure(&self, live: crate::switch::LiveConfig) -> Option<Result<(), String>> {
        self.ask(|reply| Control::Reconfigure {
            live: Box::new(live),
            reply,
        })
        .await
    }
}

/// The run loop's ends of the link task's channels ([`crate::customer_link`]).
pub struct LinkChannels {
    /// Call facts to the task.
    pub events: mpsc::Sender<LinkEvent>,
    /// Callers' profiles from the task.
    pub profiles: mpsc::Receiver<(hotline_routing::ContactId, Option<CallerProfile>)>,
    /// The task, which ends once `events` is dropped.
    pub task: tokio::task::JoinHandle<crate::customer_link::LinkStats>,
}

/// Runs the switch on `sockets` until `shutdown` turns true; records go to `log` if given.
pub async fn run(
    mut switch: Switch,
    sockets: Sockets,
    parts: RunParts,
) -> io::Result<RuntimeStats> {
    let RunParts {
        clock,
        log,
        mut routing,
        media: (mut media, mut media_events),
        mut shutdown,
        link,
        outbound,
        mut control,
    } = parts;
    let (mut outbound_calls, outbound_reports, outbound_capacity, mut agent_queries) =
        match outbound {
            Some(side) => (
                Some(side.calls),
                Some(side.reports),
                Some(side.capacity),
                Some(side.agents),
            ),
            None => (None, None, None, None),
        };
    let (link_events, mut profiles, link_task) = match link {
        Some(link) => (Some(link.events), Some(link.profiles), Some(link.task)),
        None => (None, None, None),
    };
    let Sockets { udp, tcp } = sockets;
    let udp = Arc::new(udp);
    let (inbound_tx, mut inbound) = mpsc::channel::<Inbound>(MAX_INBOUND_QUEUE);
    let (log_tx, log_rx) = mpsc::channel::<NewEvent>(MAX_LOG_QUEUE);
    let log_task = log.map(|writer| tokio::spawn(write_log(writer, log_rx)));
    let logging = log_task.is_some();
    let accept_task = tokio::spawn(accept(tcp, inbound_tx.clone()));
    let mut connections: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut stats = RuntimeStats::default();
    let mut buffer = vec![0u8; MAX_MESSAGE_BYTES + 1];
    loop {
        let deadline = switch.poll_timeout().map(|at| clock.instant_at(at));
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            received = udp.recv_from(&mut buffer) => {
                match received {
                    Ok((n, from)) => {
                        stats.received += 1;
                        let now = clock.now();
                        let peer = Peer { addr: from, transport: Transport::Udp };
                        switch.handle_datagram(now, peer, &buffer[..n]);
                        // Take what else is already waiting before sending anything: one
                        // wake-up for a burst, not one per datagram.
                        for _ in 1..MAX_UDP_BURST {
                            let Ok((n, from)) = udp.try_recv_from(&mut buffer) else {
                                break;
                            };
                            stats.received += 1;
                            let peer = Peer { addr: from, transport: Transport::Udp };
                            switch.handle_datagram(now, peer, &buffer[..n]);
                        }
                    }
                    // ICMP port-unreachable and the like surface here on some systems; the
                    // transaction layer retransmits or times out on its own.
                    Err(_) => continue,
                }
            }
            Some(message) = inbound.recv() => {
                match message {
                    Inbound::Message(peer, bytes) => {
                        stats.received += 1;
                        switch.handle_datagram(clock.now(), peer, &bytes);
                    }
                    Inbound::Connected(addr, sender) => {
                        connections.insert(addr, sender);
                    }
                    Inbound::Closed(addr) => {
                        connections.remove(&addr);
                    }
                }
            }
            Some((contact, report)) = media_events.recv() => match report {
                MediaReport::Event(event) => switch.media_event(clock.now(), contact, event),
                MediaReport::Ended(quality) => {
                    // Straight to the log: the switch has no use for it.
                    let event = encode_quality(clock.now(), contact, &quality);
                    queue_row(&log_tx, logging, event, &mut stats);
                }
            },
            Some((contact, profile)) = recv_some(&mut profiles) => {
                switch.caller_profile(clock.now(), contact, profile);
            }
            Some(call) = recv_some(&mut outbound_calls) => {
                switch.place_outbound(clock.now(), call);
            }
            Some(request) = control.recv() => match request {
                Control::AgentStatus { agent, reply } => {
                    let _ = reply.send(switch.agent_status(&agent));
                }
                Control::ChangeAgent { agent, change, reply } => {
                    let _ = reply.send(switch.change_agent(clock.now(), &agent, change));
                }
                Control::Reconfigure { live, reply } => {
                    let result = switch.reconfigure(clock.now(), *live);
                    if result.is_ok() {
                        // The log and the link task name queues and agents by this one now.
                        routing = Arc::new(switch.router().config().clone());
                    }
                    let _ = reply.send(result.map_err(|e| e.to_string()));
                }
            },
            Some(query) = recv_some(&mut agent_queries) => {
                let _ = query.reply.send(switch.queue_agents(clock.now(), &query.queue));
            }
            _ = sleep_until(deadline) => {
                switch.handle_timeout(clock.now());
            }
        }
        // Media first: a socket opened here lets the switch answer in the same turn.
        media.apply(&mut switch);
        while let Some(transmit) = switch.poll_transmit() {
            let sent = match transmit.to.transport {
                Transport::Udp => match udp.try_send_to(&transmit.bytes, transmit.to.addr) {
                    Ok(_) => true,
                    // The socket buffer is full: wait for room rather than lose it.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        udp.send_to(&transmit.bytes, transmit.to.addr).await.is_ok()
                    }
                    Err(_) => false,
                },
                Transport::Tcp => match connections.get(&transmit.to.addr) {
                    Some(sender) => sender.try_send(transmit.bytes).is_ok(),
                    None => {
                        // No connection to that address: open one, as RFC 3261 §18.1.1 asks
                        // of a client (the phone's listening port).
                        let sender = connect(transmit.to.addr, inbound_tx.clone());
                        let ok = sender.try_send(transmit.bytes).is_ok();
                        connections.insert(transmit.to.addr, sender);
                        ok
                    }
                },
            };
            if sent {
                stats.sent += 1;
            } else {
                stats.send_failures += 1;
            }
        }
        while let Some(record) = switch.poll_record() {
            if let (Some(reports), Some(report)) = (&outbound_reports, outbound_report(&record)) {
                // Never full: the dialler holds at most as many attempts as the channel does.
                if reports.try_send(report).is_err() {
                    stats.outbound_reports_dropped += 1;
                }
            }
            if let Some(events) = &link_events {
                if let Some(event) = crate::customer_link::link_event(&routing, &record) {
                    if events.try_send(event).is_err() {
                        stats.link_dropped += 1;
                    }
                }
            }
            queue_row(&log_tx, logging, encode(&routing, record), &mut stats);
        }
        if let Some(capacity) = &outbound_capacity {
            let now = switch.outbound_capacity();
            capacity.send_if_modified(|published| {
                let changed = *published != now;
                *published = now;
                changed
            });
        }
    }
    accept_task.abort();
    // Calls still up lose their media now; their tasks end and report their quality.
    stats.media = media.stats();
    drop(media);
    let drain_until = tokio::time::Instant::now() + SHUTDOWN_MEDIA_DRAIN;
    while let Ok(Some((contact, report))) =
        tokio::time::timeout_at(drain_until, media_events.recv()).await
    {
        if let MediaReport::Ended(quality) = report {
            let event = encode_quality(clock.now(), contact, &quality);
            queue_row(&log_tx, logging, event, &mut stats);
        }
    }
    drop(log_tx);
    if let Some(task) = log_task {
        let _ = task.await;
    }
    drop(link_events);
    if let Some(task) = link_task {
        if let Ok(link) = task.await {
            stats.link = link;
        }
    }
    stats.switch = switch.stats();
    stats.transactions = switch.transaction_stats();
    Ok(stats)
}

/// What the outbound dialler hears of a record: an attempt's end, or the customer's choice
/// of a later time on an automatic call.
fn outbound_report(record: &Record) -> Option<OutboundReport> {
    let Record::Call(at, event) = record else {
        return None;
    };
    match *event {
        CallEvent::OutboundEnded {
            contact,
            task,
            attempt,
            result,
        } => Some(OutboundReport {
            task,
            attempt,
            contact,
            result,
            at_ms: *at,
        }),
        CallEvent::OutboundLater {
            contact,
            task,
            after_ms,
        } => Some(OutboundReport {
            task,
            attempt: 0,
            contact,
            result: OutboundResult::Later(after_ms),
            at_ms: *at,
        }),
        CallEvent::OutboundPacing {
            contact,
            task,
            attempt,
            step,
        } => Some(OutboundReport {
            task,
            attempt,
            contact,
            result: OutboundResult::Pacing(step),
            at_ms: *at,
        }),
        _ => None,
    }
}

/// Queues a row for the event-log task when there is one; a full queue drops it, counted.
fn queue_row(
    log_tx: &mpsc::Sender<NewEvent>,
    logging: bool,
    event: NewEvent,
    stats: &mut RuntimeStats,
) {
    if logging && log_tx.try_send(event).is_err() {
        stats.records_dropped += 1;
    }
}

/// The next message of an optional channel; without one, never (a `select!` branch that
/// never fires).
async fn recv_some<T>(receiver: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match receiver {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`, or forever without one (a `select!` branch that never fires).
pub(crate) async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn write_log(writer: EventWriter, mut records: mpsc::Receiver<NewEvent>) {
    let mut batch = Vec::new();
    while let Some(first) = records.recv().await {
        batch.push(first);
        while batch.len() < 1_024 {
            match records.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        // A failed write is the store's to report (it keeps its own error counters); the
        // switch keeps switching.
        let _ = writer.append_batch(std::mem::take(&mut batch)).await;
    }
    // Each batch above was committed before its append returned. The writer is not shut
    // down here: the dialler, the API and the webhooks hold handles too, and what they
    // write while they stop after the switch (the dialler's last `callback.*` events) must
    // still reach the log. The writer's task ends with the last handle.
    drop(writer);
}

async fn accept(listener: TcpListener, inbound: mpsc::Sender<Inbound>) {
    let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    loop {
        let Ok((stream, addr)) = listener.accept().await else {
            continue;
        };
        if open.load(std::sync::atomic::Ordering::Relaxed) >= MAX_TCP_CONNECTIONS {
            drop(stream);
            continue;
        }
        open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (sender, receiver) = mpsc::channel(MAX_OUTBOUND_PER_CONNECTION);
        if inbound
            .send(Inbound::Connected(addr, sender))
            .await
            .is_err()
        {
            return;
        }
        let inbound = inbound.clone();
        let open = open.clone();
        tokio::spawn(async move {
            serve_connection(stream, addr, inbound, receiver).await;
            open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
}

fn connect(addr: SocketAddr, inbound: mpsc::Sender<Inbound>) -> mpsc::Sender<Vec<u8>> {
    let (sender, receiver) = mpsc::channel(MAX_OUTBOUND_PER_CONNECTION);
    tokio::spawn(async move {
        match TcpStream::connect(addr).await {
            Ok(stream) => serve_connection(stream, addr, inbound, receiver).await,
            Err(_) => {
                let _ = inbound.send(Inbound::Closed(addr)).await;
            }
        }
    });
    sender
}

/// Reads framed messages from a connection and writes what the switch sends to it.
async fn serve_connection(
    stream: TcpStream,
    addr: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
    mut outbound: mpsc::Receiver<Vec<u8>>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        while let Some(bytes) = outbound.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let peer = Peer {
        addr,
        transport: Transport::Tcp,
    };
    let mut buffer: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    'read: loop {
        let read = tokio::time::timeout(TCP_IDLE_TIMEOUT, reader.read(&mut chunk)).await;
        let n = match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        loop {
            match frame(&buffer) {
                Ok(Some((skip, len))) => {
                    let message = buffer[skip..skip + len].to_vec();
                    buffer.drain(..skip + len);
                    if inbound.send(Inbound::Message(peer, message)).await.is_err() {
                        break 'read;
                    }
                }
                Ok(None) => break,
                // A stream that cannot be framed cannot be resynchronised: close it.
                Err(_) => break 'read,
            }
        }
    }
    writing.abort();
    let _ = inbound.send(Inbound::Closed(addr)).await;
}

/// A server started by [`start`].
pub struct Running {
    /// The address the switch listens on (UDP and TCP).
    pub local: SocketAddr,
    /// The event log's writer, for the other parts of the server (the API's ticket and
    /// survey events); closed when the switch stops.
    pub events: Option<EventWriter>,
    /// The link task's input, for the API to say who a caller is. Weak, so that the task
    /// still ends when the switch stops.
    pub link: Option<mpsc::WeakSender<LinkEvent>>,
    /// Requests to the switch (the agents' desktop).
    pub control: SwitchControl,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<io::Result<RuntimeStats>>,
}

impl Running {
    /// Stops the server (calls in progress are abandoned) and returns its counters.
    pub async fn stop(self) -> io::Result<RuntimeStats> {
        let _ = self.shutdown.send(true);
        self.task.await.map_err(io::Error::other)?
    }

    /// Waits until the server stops by itself (it does not, unless its sockets fail).
    pub async fn wait(self) -> io::Result<RuntimeStats> {
        self.task.await.map_err(io::Error::other)?
    }

    /// A handle that stops the server when sent `true`.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// The customer records a switch reads about its callers ([`crate::customer_link`]).
pub struct LinkSetup {
    /// The records.
    pub records: hotline_store::Records,
    /// Where screen pops go.
    pub hub: crate::customer_link::PopHub,
    /// Suggests articles on screen pops.
    pub knowledge: Arc<crate::knowledge::Knowledge>,
    /// How callers' numbers are read.
    pub number_context: hotline_phone::NumberContext,
    /// Wait this way for each caller's profile before queuing; `None`: queue at once (the
    /// pops and interactions still happen).
    pub lookup: Option<CallerLookup>,
    /// The outbound dialler's channels ([`crate::outbound::link`]), when it places calls.
    pub outbound: Option<SwitchSide>,
}

/// How long a call waits for its caller's profile by default: the records answer in about
/// a millisecond (BENCHMARKS.md, screen pop), so this is only reached when they are stuck.
pub const DEFAULT_CALLER_LOOKUP: CallerLookup = CallerLookup {
    wait_ms: 200,
    dedicated_agent_wait_ms: 30_000,
};

/// Binds the sockets, opens the event log (SQLite at `event_log`, if given) and starts the
/// switch on a task of its own.
pub async fn start(
    config: crate::config::ServerConfig,
    event_log: Option<&std::path::Path>,
) -> Result<Running, Box<dyn std::error::Error + Send + Sync>> {
    start_with(config, event_log, None).await
}

/// [`start`], with the customer records: callers' profiles for routing, screen pops, and
/// interactions for ended calls.
pub async fn start_with(
    mut config: crate::config::ServerConfig,
    event_log: Option<&std::path::Path>,
    link: Option<LinkSetup>,
) -> Result<Running, Box<dyn std::error::Error + Send + Sync>> {
    let log = match event_log {
        Some(path) => Some(hotline_store::SqliteEventLog::open(path).await?),
        None => None,
    };
    if let Some(log) = &log {
        // Contact ids name one contact for the life of the log: go on after the last one.
        let last = u64::try_from(log.max_contact_id().await?).unwrap_or(0);
        config.switch.first_contact_id = config.switch.first_contact_id.max(last + 1);
    }
    let writer = match log {
        Some(log) => Some(EventWriter::spawn(
            log,
            hotline_store::WriterConfig::default(),
        )?),
        None => None,
    };
    let recording_keys = link
        .as_ref()
        .map(|setup| Arc::new(setup.records.keyring().clone()));
    let mut outbound = None;
    let link = link.map(|mut setup| {
        outbound = setup.outbound.take();
        config.switch.caller_lookup = setup.lookup;
        let (profiles_tx, profiles) = mpsc::channel(crate::customer_link::MAX_LINK_QUEUE);
        let (events, task) = crate::customer_link::spawn(crate::customer_link::LinkParts {
            records: setup.records,
            number_context: setup.number_context,
            hub: setup.hub,
            knowledge: setup.knowledge,
            profiles: setup.lookup.map(|_| profiles_tx),
            events: writer.clone(),
        });
        LinkChannels {
            events,
            profiles,
            task,
        }
    });
    let sockets = Sockets::bind(config.listen).await?;
    let local = sockets.local_addr()?;
    // Our Via and Contact must name an address others can reach: the configured one, or
    // the bound one, or loopback when bound to every interface.
    if config.switch.local.port() == 0 || config.switch.local.ip().is_unspecified() {
        let ip = if local.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            local.ip()
        };
        let port = if config.switch.local.port() == 0 {
            local.port()
        } else {
            config.switch.local.port()
        };
        config.switch.local = SocketAddr::new(
            if config.switch.local.ip().is_unspecified() {
                ip
            } else {
                config.switch.local.ip()
            },
            port,
        );
    }
    let routing = Arc::new(config.routing.clone());
    let mut prompts = crate::media_runtime::Prompts::builtin();
    if let Some(dir) = &config.prompts {
        prompts
            .load_dir(dir)
            .map_err(|e| format!("prompts from {}: {e}", dir.display()))?;
    }
    check_prompts(&config.switch.media, &prompts)?;
    // Recordings go beside the event log, sealed with the records' keys when there are
    // records (every `hotline serve`).
    let recordings = event_log
        .and_then(|p| p.parent())
        .map(|dir| crate::recordings::Recordings {
            dir: dir.join("recordings"),
            keys: recording_keys.clone(),
        });
    let clock = Clock::new();
    let media_address = config.switch.media.address;
    let seed = config.switch.seed;
    let rtp_ports = config.switch.media.rtp_ports;
    let switch = Switch::new(config.switch, config.routing)?;
    let media = MediaDriver::new(
        Arc::new(prompts),
        media_address,
        rtp_ports,
        recordings,
        clock,
        seed,
    );
    let events = writer.clone();
    let link_sender = link.as_ref().map(|l| l.events.downgrade());
    let (shutdown, receiver) = watch::channel(false);
    let (control, control_rx) = SwitchControl::channel();
    let task = tokio::spawn(run(
        switch,
        sockets,
        RunParts {
            clock,
            log: writer,
            routing,
            media,
            shutdown: receiver,
            link,
            outbound,
            control: control_rx,
        },
    ));
    Ok(Running {
        local,
        events,
        link: link_sender,
        control,
        shutdown,
        task,
    })
}

/// Every prompt the menus name must exist: a missing one is a configuration error at start,
/// not silence in a caller's ear.
fn check_prompts(
    media: &crate::switch::MediaSettings,
    prompts: &crate::media_runtime::Prompts,
) -> Result<(), String> {
    if !media.enabled {
        return Ok(());
    }
    for menu in &media.menus {
        let played = menu.options.iter().map(|(_, a)| a).chain([&menu.default]);
        let ids = menu.prompts.iter().chain(played.flat_map(|a| match a {
            crate::switch::MenuAction::Play(ids) => ids.as_slice(),
            _ => &[],
        }));
        for id in ids {
            if !prompts.contains(id) {
                return Err(format!(
                    "menu {:?} names prompt {id:?}, which is neither built in nor in the \
                     prompts directory",
                    menu.name
                ));
            }
        }
    }
    Ok(())
}

/// A record as an event-log row.
pub fn encode(routing: &hotline_routing::RoutingConfig, record: Record) -> NewEvent {
    match record {
        Record::Routing(at, event) => hotline_store::routing_log::encode(routing, at, &event),
        Record::Call(at, event) => encode_call(routing, at, event),
    }
}

fn encode_call(routing: &hotline_routing::RoutingConfig, at: Millis, event: CallEvent) -> NewEvent {
    let agent_name =
        |agent: hotline_routing::AgentId| routing.agents.get(agent.index()).map(|a| a.name.clone());
    let queue_name =
        |queue: hotline_routing::QueueId| routing.queues.get(queue.index()).map(|q| q.name.clone());
    let (kind, contact, agent, queue, data) = match event {
        CallEvent::Arrived {
            contact,
            trunk,
            from,
            to,
        } => (
            "call.arrived",
            Some(contact),
            None,
            None,
            serde_json::json!({ "trunk": trunk, "from": from, "to": to }),
        ),
        CallEvent::MenuChoice {
            contact,
            menu,
            digit,
        } => (
            "call.menu_choice",
            Some(contact),
            None,
            None,
            serde_json::json!({ "menu": menu, "digit": digit.to_string() }),
        ),
        CallEvent::OutOfHours { contact, calendar } => (
            "call.out_of_hours",
            Some(contact),
            None,
            None,
            serde_json::json!({ "calendar": calendar }),
        ),
        CallEvent::Queued { contact, queue } => (
            "call.queued",
            Some(contact),
            None,
            queue_name(queue),
            serde_json::json!({}),
        ),
        CallEvent::Announced {
            contact,
            position,
            wait_seconds,
        } => (
            "call.announced",
            Some(contact),
            None,
            None,
            serde_json::json!({ "position": position, "wait_seconds": wait_seconds }),
        ),
        CallEvent::CallbackNotDialled {
            contact,
            attempt,
            why,
        } => (
            "call.callback_not_dialled",
            Some(contact),
            None,
            None,
            serde_json::json!({ "attempt": attempt, "why": why }),
        ),
        CallEvent::OutboundQueued {
            contact,
            task,
            attempt,
            number,
            customer,
        } => (
            "call.outbound_queued",
            Some(contact),
            None,
            None,
            serde_json::json!({
                "task": task, "attempt": attempt, "number": number, "customer_id": customer,
            }),
        ),
        CallEvent::OutboundDialling {
            contact,
            task,
            attempt,
            number,
        } => (
            "call.outbound_dialling",
            Some(contact),
            None,
            None,
            serde_json::json!({ "task": task, "attempt": attempt, "number": number }),
        ),
        CallEvent::OutboundLater {
            contact,
            task,
            after_ms,
        } => (
            "call.outbound_later",
            Some(contact),
            None,
            None,
            serde_json::json!({ "task": task, "after_ms": after_ms }),
        ),
        CallEvent::OutboundPacing {
            contact,
            task,
            attempt,
            step,
        } => (
            match step {
                PacingStep::Answered => "call.outbound_answered",
                PacingStep::TalkEnded(_) => "call.outbound_talk_ended",
                PacingStep::WrapEnded(_) => "call.outbound_wrap_ended",
            },
            Some(contact),
            None,
            None,
            match step {
                PacingStep::Answered => serde_json::json!({ "task": task, "attempt": attempt }),
                PacingStep::TalkEnded(ms) => {
                    serde_json::json!({ "task": task, "attempt": attempt, "talk_ms": ms })
                }
                PacingStep::WrapEnded(ms) => {
                    serde_json::json!({ "task": task, "attempt": attempt, "wrap_ms": ms })
                }
            },
        ),
        CallEvent::OutboundEnded {
            contact,
            task,
            attempt,
            result,
        } => (
            "call.outbound_ended",
            Some(contact),
            None,
            None,
            match result {
                OutboundResult::Failed(status) => serde_json::json!({
                    "task": task, "attempt": attempt, "result": result.as_str(),
                    "status": status,
                }),
                _ => serde_json::json!({
                    "task": task, "attempt": attempt, "result": result.as_str(),
                }),
            },
        ),
        CallEvent::CallbackDialling {
            contact,
            agent,
            attempt,
            number,
            trunk,
        } => (
            "call.callback_dialling",
            Some(contact),
            agent_name(agent),
            None,
            serde_json::json!({ "attempt": attempt, "number": number, "trunk": trunk }),
        ),
        CallEvent::CallbackDialFailed {
            contact,
            attempt,
            status,
        } => (
            "call.callback_dial_failed",
            Some(contact),
            None,
            None,
            serde_json::json!({ "attempt": attempt, "status": status }),
        ),
        CallEvent::TransferDialling {
            contact,
            number,
            trunk,
        } => (
            "call.transfer_dialling",
            Some(contact),
            None,
            None,
            serde_json::json!({ "number": number, "trunk": trunk }),
        ),
        CallEvent::TransferConnected { contact, number } => (
            "call.transfer_connected",
            Some(contact),
            None,
            None,
            serde_json::json!({ "number": number }),
        ),
        CallEvent::TransferFailed {
            contact,
            number,
            status,
        } => (
            "call.transfer_failed",
            Some(contact),
            None,
            None,
            serde_json::json!({ "number": number, "status": status }),
        ),
        CallEvent::SurveyAnswered { contact, score } => (
            "call.survey_answered",
            Some(contact),
            None,
            None,
            serde_json::json!({ "score": score }),
        ),
        CallEvent::CallbackAccepted { contact } => (
            "call.callback_accepted",
            Some(contact),
            None,
            None,
            serde_json::json!({}),
        ),
        CallEvent::Refused {
            status,
            reason,
            source,
        } => (
            "call.refused",
            None,
            None,
            None,
            serde_json::json!({ "status": status, "reason": reason, "source": source.to_string() }),
        ),
        CallEvent::AgentRinging { contact, agent } => (
            "call.agent_ringing",
            Some(contact),
            agent_name(agent),
            None,
            serde_json::json!({}),
        ),
        CallEvent::AgentLegFailed {
            contact,
            agent,
            status,
        } => (
            "call.agent_failed",
            Some(contact),
            agent_name(agent),
            None,
            serde_json::json!({ "status": status }),
        ),
        CallEvent::Connected { contact, agent } => (
            "call.connected",
            Some(contact),
            agent_name(agent),
            None,
            serde_json::json!({}),
        ),
        CallEvent::Held { contact, by } => (
            "call.held",
            Some(contact),
            None,
            None,
            serde_json::json!({ "by": party_name(by) }),
        ),
        CallEvent::Resumed { contact, by } => (
            "call.resumed",
            Some(contact),
            None,
            None,
            serde_json::json!({ "by": party_name(by) }),
        ),
        CallEvent::Ended { contact, by } => (
            "call.ended",
            Some(contact),
            None,
            None,
            serde_json::json!({ "by": party_name(by) }),
        ),
        CallEvent::Registered { agent, contact } => (
            "agent.registered",
            None,
            agent_name(agent),
            None,
            serde_json::json!({ "contact": contact }),
        ),
        CallEvent::Unregistered { agent } => (
            "agent.unregistered",
            None,
            agent_name(agent),
            None,
            serde_json::json!({}),
        ),
        CallEvent::AuthFailed { source, reason } => (
            "sip.auth_failed",
            None,
            None,
            None,
            serde_json::json!({ "source": source.to_string(), "reason": reason }),
        ),
    };
    NewEvent {
        at_ms: at as i64,
        kind: kind.to_string(),
        contact_id: contact.map(|c| c.0 as i64),
        agent,
        queue,
        data,
    }
}

/// A call's media quality as a `call.media_quality` row: per leg, RTP packets in and out,
/// datagrams dropped (not RTP, or from a source other than the latched one), packets the
/// far end's stream lost and its interarrival jitter as hotline received them, RTCP
/// datagrams in and out, and, from the far end's RTCP reports, the loss and jitter it saw on
/// our stream and the round-trip time (`null` without reports).
pub fn encode_quality(
    at: Millis,
    contact: hotline_routing::ContactId,
    quality: &CallQuality,
) -> NewEvent {
    let leg = |stats: &hotline_media::call::LegStats| {
        let expected = stats.packets_in as i64 + stats.lost.max(0);
        let loss_percent = if expected > 0 {
            stats.lost.max(0) as f64 * 100.0 / expected as f64
        } else {
            0.0
        };
        serde_json::json!({
            "packets_in": stats.packets_in,
            "packets_out": stats.packets_out,
            "dropped": stats.dropped,
            "lost": stats.lost,
            "loss_percent": (loss_percent * 100.0).round() / 100.0,
            "jitter_ms": f64::from(stats.jitter) / 8.0,
            "rtcp_in": stats.rtcp_in,
            "rtcp_out": stats.rtcp_out,
            // What the far end's RTCP said of our stream to it, if it sent any.
            "remote_lost": stats.remote_lost,
            "remote_jitter_ms": stats.remote_jitter.map(|j| f64::from(j) / 8.0),
            "rtt_ms": stats.rtt_ms,
        })
    };
    NewEvent {
        at_ms: at as i64,
        kind: "call.media_quality".to_string(),
        contact_id: Some(contact.0 as i64),
        agent: None,
        queue: None,
        data: serde_json::json!({ "caller": leg(&quality.caller), "agent": leg(&quality.agent) }),
    }
}

fn party_name(party: Party) -> &'static str {
    match party {
        Party::Caller => "caller",
        Party::Agent => "agent",
        Party::System => "system",
        Party::Outside => "outside",
    }
}
