//! Anchored media on real sockets: one tokio task per call runs a sans-IO
//! [`CallMedia`] over the call's two RTP sockets, and [`MediaDriver`] turns the switch's
//! [`MediaCommand`]s into sockets, prompts and tasks.
//!
//! Each call task waits for whichever comes first: a datagram on the caller leg's socket, one
//! on the agent leg's, RTCP on either leg's RTCP socket (RTP port + 1), a command, or the
//! media's next deadline (the next 20 ms frame while prompts play or a recording runs, each
//! leg's next RTCP report every few seconds). Relaying is done on arrival, so a bridged call
//! costs one receive and one send per packet, and one timer (moved only when the deadline
//! moves) for its RTCP reports. Events (digits, prompts finished) go back to the switch task
//! over one bounded channel.

use std::collections::HashMap;
use std::io::{self, Seek, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hotline_media::call::{CallMedia, CallMediaConfig, LegId, LegSetup, LegStats, MediaEvent};
use hotline_media::wav;
use hotline_routing::ContactId;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::recordings::{RecordingFile, Recordings};
use crate::runtime::Clock;
use crate::switch::{MediaCommand, RecordMode, Switch, MOH};

include!(concat!(env!("OUT_DIR"), "/prompts.rs"));

/// Commands waiting for one call's task; a call whose task falls this far behind loses
/// commands (counted), never the switch's time.
pub const MAX_CALL_COMMANDS: usize = 64;
/// What a call's media task tells the switch's task.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaReport {
    /// For the switch (digits, prompts finished).
    Event(MediaEvent),
    /// The call's media is over: its quality, for the event log (`call.media_quality`).
    Ended(CallQuality),
}

/// A call's media counters when it ended, per leg.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallQuality {
    /// The caller's leg (the customer's, on a callback).
    pub caller: LegStats,
    /// The agent's leg (the outside number's, on a menu transfer).
    pub agent: LegStats,
}

/// Media reports waiting for the switch task, from all calls.
pub const MAX_MEDIA_EVENTS: usize = 16_384;
/// The largest prompt file read.
pub const MAX_PROMPT_BYTES: u64 = 16 * 1024 * 1024;
/// The most prompts kept.
pub const MAX_PROMPTS_LOADED: usize = 10_000;
/// Port pairs tried for a leg's RTP and RTCP sockets before the leg fails.
pub const MAX_PORT_PAIR_ATTEMPTS: u32 = 256;

/// Prompts by id, decoded to 8 kHz samples.
#[derive(Clone, Debug, Default)]
pub struct Prompts {
    map: HashMap<String, Arc<[i16]>>,
}

impl Prompts {
    /// The prompts built into the binary (from `prompts/` at build time).
    pub fn builtin() -> Prompts {
        let mut prompts = Prompts::default();
        for (id, bytes) in BUILTIN_PROMPTS {
            let wav = wav::read_wav(bytes).expect("built-in prompts are valid WAV files");
            prompts.map.insert(id.to_string(), wav.to_mono().into());
        }
        prompts
    }

    /// Reads `<dir>/<id>.wav` files (8 kHz mono or stereo, PCM16, A-law or µ-law) over the
    /// built-in ones. Returns how many were read.
    pub fn load_dir(&mut self, dir: &Path) -> io::Result<usize> {
        let files = crate::prompt_files::wav_files(dir)?;
        let count = files.len();
        for (id, path) in files {
            if self.map.len() >= MAX_PROMPTS_LOADED {
                return Err(io::Error::other(format!(
                    "more than {MAX_PROMPTS_LOADED} prompts in {}",
                    dir.display()
                )));
            }
            if std::fs::metadata(&path)?.len() > MAX_PROMPT_BYTES {
                return Err(io::Error::other(format!(
                    "{} is larger than {MAX_PROMPT_BYTES} bytes",
                    path.display()
                )));
            }
            let bytes = std::fs::read(&path)?;
            let wav = wav::read_wav(&bytes)
                .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
            self.map.insert(id, wav.to_mono().into());
        }
        Ok(count)
    }

    /// A prompt's samples.
    pub fn get(&self, id: &str) -> Option<Arc<[i16]>> {
        self.map.get(id).cloned()
    }

    /// Whether a prompt exists.
    pub fn contains(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    /// How many prompts there are.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

enum Command {
    /// A leg's RTP socket and its RTCP socket (the next port).
    Socket(LegId, UdpSocket, UdpSocket),
    SetLeg(LegId, LegSetup),
    Play(LegId, Vec<Arc<[i16]>>, Vec<Arc<[i16]>>),
    Bridge(Option<RecordMode>),
    /// A leg's phone hung up while the other stays: forget it, close its sockets.
    RemoveLeg(LegId),
}

/// Counters of the media side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// Sockets opened.
    pub sockets_opened: u64,
    /// Sockets that could not be opened.
    pub open_failures: u64,
    /// Prompt ids asked for that do not exist (skipped).
    pub missing_prompts: u64,
    /// Commands lost because a call's task fell behind.
    pub commands_dropped: u64,
}

/// Turns the switch's media commands into sockets and call tasks.
pub struct MediaDriver {
    calls: HashMap<ContactId, mpsc::Sender<Command>>,
    prompts: Arc<Prompts>,
    bind: IpAddr,
    events: mpsc::Sender<(ContactId, MediaReport)>,
    recordings: Option<Recordings>,
    /// Where RTP ports come from: (first, last), or the system's choice.
    rtp_ports: Option<(u16, u16)>,
    clock: Clock,
    seed: u64,
    /// Picks where in `rtp_ports` to look first.
    rng: u64,
    stats: MediaStats,
}

impl MediaDriver {
    /// A driver binding RTP sockets on the unspecified address of `address`'s family, in
    /// `rtp_ports` if given (RTP even, RTCP on the next port); recordings go to `recordings`
    /// (created if need be). Reports come out of the receiver.
    pub fn new(
        prompts: Arc<Prompts>,
        address: IpAddr,
        rtp_ports: Option<(u16, u16)>,
        recordings: Option<Recordings>,
        clock: Clock,
        seed: u64,
    ) -> (MediaDriver, mpsc::Receiver<(ContactId, MediaReport)>) {
        let (events, receiver) = mpsc::channel(MAX_MEDIA_EVENTS);
        let bind = match address {
            IpAddr::V4(_) => IpAddr::from([0, 0, 0, 0]),
            IpAddr::V6(_) => IpAddr::from([0u16; 8]),
        };
        let driver = MediaDriver {
            calls: HashMap::new(),
            prompts,
            bind,
            events,
            recordings,
            rtp_ports,
            clock,
            seed,
            rng: seed ^ 0x5250_5450_4f52_5453,
            stats: MediaStats::default(),
        };
        (driver, receiver)
    }

    /// Counters.
    pub fn stats(&self) -> MediaStats {
        self.stats
    }

    /// Calls with a media task.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Carries out every command the switch has, answering socket requests at once.
    pub fn apply(&mut self, switch: &mut Switch) {
        while let Some(command) = switch.poll_media() {
            match command {
                MediaCommand::Open { contact, leg } => match self.open(contact, leg) {
                    Ok(port) => switch.media_opened(self.clock.now(), contact, leg, port),
                    Err(_) => {
                        self.stats.open_failures += 1;
                        switch.media_failed(self.clock.now(), contact, leg);
                    }
                },
                MediaCommand::SetLeg {
                    contact,
                    leg,
                    setup,
                } => self.send(contact, Command::SetLeg(leg, setup)),
                MediaCommand::Play {
                    contact,
                    leg,
                    prompts,
                    moh,
                } => {
                    let samples = self.resolve(prompts.iter().map(String::as_str));
                    let then = if moh {
                        self.resolve([MOH].into_iter())
                    } else {
                        Vec::new()
                    };
                    self.send(contact, Command::Play(leg, samples, then));
                }
                MediaCommand::Bridge { contact, record } => {
                    self.send(contact, Command::Bridge(record))
                }
                MediaCommand::RemoveLeg { contact, leg } => {
                    self.send(contact, Command::RemoveLeg(leg))
                }
                MediaCommand::Close { contact } => {
                    // Dropping the sender ends the task, which finishes its recording.
                    self.calls.remove(&contact);
                }
            }
        }
    }

    fn resolve<'a>(&mut self, ids: impl Iterator<Item = &'a str>) -> Vec<Arc<[i16]>> {
        let mut samples = Vec::new();
        for id in ids {
            match self.prompts.get(id) {
                Some(prompt) => samples.push(prompt),
                None => self.stats.missing_prompts += 1,
            }
        }
        samples
    }

    fn send(&mut self, contact: ContactId, command: Command) {
        if let Some(sender) = self.calls.get(&contact) {
            if sender.try_send(command).is_err() {
                self.stats.commands_dropped += 1;
            }
        }
    }

    /// Binds an RTP socket on an even port and its RTCP socket on the next.
    fn bind_pair(&mut self) -> io::Result<(std::net::UdpSocket, std::net::UdpSocket)> {
        let mut last_error = None;
        let (first, pairs) = match self.rtp_ports {
            Some((first, last)) => (first, (u32::from(last) + 1 - u32::from(first)) / 2),
            None => (0, 0),
        };
        // In a range: from a random pair on, in order (a busy range still finds its gaps).
        let start = if pairs > 0 {
            (hotline_sip::splitmix64(&mut self.rng) % u64::from(pairs)) as u32
        } else {
            0
        };
        let attempts = if pairs > 0 {
            pairs.min(MAX_PORT_PAIR_ATTEMPTS)
        } else {
            MAX_PORT_PAIR_ATTEMPTS
        };
        for attempt in 0..attempts {
            let port = if pairs > 0 {
                first + 2 * ((start + attempt) % pairs) as u16
            } else {
                0
            };
            let rtp = match std::net::UdpSocket::bind(SocketAddr::new(self.bind, port)) {
                Ok(socket) => socket,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            };
            let port = rtp.local_addr()?.port();
            if port % 2 == 1 {
                // The system's choice was odd: RTP goes on even ports.
                continue;
            }
            match std::net::UdpSocket::bind(SocketAddr::new(self.bind, port + 1)) {
                Ok(rtcp) => return Ok((rtp, rtcp)),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::AddrInUse, "no free RTP/RTCP port pair")
        }))
    }

    fn open(&mut self, contact: ContactId, leg: LegId) -> io::Result<u16> {
        let (socket, rtcp) = self.bind_pair()?;
        socket.set_nonblocking(true)?;
        rtcp.set_nonblocking(true)?;
        let port = socket.local_addr()?.port();
        let socket = UdpSocket::from_std(socket)?;
        let rtcp = UdpSocket::from_std(rtcp)?;
        self.stats.sockets_opened += 1;
        if !self.calls.contains_key(&contact) {
            let (sender, receiver) = mpsc::channel(MAX_CALL_COMMANDS);
            let config = CallMediaConfig {
                seed: self.seed ^ contact.0.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                in_band_dtmf: true,
            };
            tokio::spawn(call_task(
                contact,
                config,
                receiver,
                self.events.clone(),
                self.clock,
                self.recordings.clone(),
            ));
            self.calls.insert(contact, sender);
        }
        self.send(contact, Command::Socket(leg, socket, rtcp));
        Ok(port)
    }
}

fn index(leg: LegId) -> usize {
    match leg {
        LegId::Caller => 0,
        LegId::Agent => 1,
    }
}

async fn recv_on(socket: &Option<UdpSocket>, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match socket {
        Some(socket) => socket.recv_from(buffer).await,
        None => std::future::pending().await,
    }
}

/// A datagram on either leg's RTCP socket (they carry a report every few seconds, so one
/// branch serves both).
async fn recv_either(
    sockets: &[Option<UdpSocket>; 2],
    buffer: &mut [u8],
) -> io::Result<(LegId, usize, SocketAddr)> {
    std::future::poll_fn(|cx| {
        for (i, socket) in sockets.iter().enumerate() {
            let Some(socket) = socket else {
                continue;
            };
            let mut read = tokio::io::ReadBuf::new(buffer);
            if let std::task::Poll::Ready(result) = socket.poll_recv_from(cx, &mut read) {
                let leg = if i == 0 { LegId::Caller } else { LegId::Agent };
                return std::task::Poll::Ready(result.map(|from| (leg, read.filled().len(), from)));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// A WAV recording written as the call goes ([`crate::recordings`]): sealed, or a plain file
/// whose header is completed when the call ends. Either way a file cut off by a crash still
/// reads to its end (streaming header).
struct Recorder {
    file: RecordingFile,
    channels: u16,
    data_bytes: u64,
    samples: Vec<i16>,
    bytes: Vec<u8>,
}

impl Recorder {
    fn create(
        recordings: &Recordings,
        contact: ContactId,
        mode: RecordMode,
    ) -> io::Result<Recorder> {
        let channels = match mode {
            RecordMode::Mono => 1,
            RecordMode::Stereo => 2,
        };
        let mut file = recordings.create(contact)?;
        file.write_all(&wav::streaming_header(channels).map_err(io::Error::other)?)?;
        Ok(Recorder {
            file,
            channels,
            data_bytes: 0,
            samples: Vec::new(),
            bytes: Vec::new(),
        })
    }

    fn drain(&mut self, media: &mut CallMedia) -> io::Result<()> {
        self.samples.clear();
        media.poll_recording(&mut self.samples);
        if self.samples.is_empty() {
            return Ok(());
        }
        self.bytes.clear();
        wav::encode_pcm16(&self.samples, &mut self.bytes);
        self.data_bytes += self.bytes.len() as u64;
        self.file.write_all(&self.bytes)
    }

    fn finish(self) -> io::Result<()> {
        match self.file {
            RecordingFile::Plain(mut file) => {
                let data_bytes = u32::try_from(self.data_bytes).unwrap_or(u32::MAX);
                let header = wav::header(self.channels, data_bytes).map_err(io::Error::other)?;
                file.flush()?;
                let mut file = file.into_inner().map_err(|e| e.into_error())?;
                file.seek(io::SeekFrom::Start(0))?;
                file.write_all(&header)?;
                file.sync_all()
            }
            // A sealed stream cannot be rewritten: it keeps its streaming header.
            RecordingFile::Sealed(stream) => {
                let file = (*stream).finish().map_err(io::Error::other)?;
                file.into_inner().map_err(|e| e.into_error())?.sync_all()
            }
        }
    }
}

async fn call_task(
    contact: ContactId,
    config: CallMediaConfig,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<(ContactId, MediaReport)>,
    clock: Clock,
    recordings: Option<Recordings>,
) {
    let mut media = CallMedia::new(config);
    let mut sockets: [Option<UdpSocket>; 2] = [None, None];
    let mut rtcp_sockets: [Option<UdpSocket>; 2] = [None, None];
    let mut caller_buffer = vec![0u8; 2048];
    let mut agent_buffer = vec![0u8; 2048];
    let mut rtcp_buffer = vec![0u8; 2048];
    let mut recorder: Option<Recorder> = None;
    // One timer for the task's life, moved only when the media's deadline moves: a bridged
    // call's deadline is its next RTCP report, and re-arming a timer per packet would cost
    // more than the relay.
    let timer = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(timer);
    let mut armed: Option<u64> = None;
    loop {
        let deadline = media.poll_timeout();
        if deadline != armed {
            if let Some(at) = deadline {
                timer.as_mut().reset(clock.instant_at(at));
            }
            armed = deadline;
        }
        tokio::select! {
            command = commands.recv() => match command {
                None => break,
                Some(Command::Socket(leg, socket, rtcp)) => {
                    sockets[index(leg)] = Some(socket);
                    rtcp_sockets[index(leg)] = Some(rtcp);
                }
                Some(Command::SetLeg(leg, setup)) => media.set_leg(leg, setup),
                Some(Command::Play(leg, prompts, then)) => media.play(leg, prompts, then),
                Some(Command::RemoveLeg(leg)) => {
                    media.remove_leg(leg);
                    sockets[index(leg)] = None;
                    rtcp_sockets[index(leg)] = None;
                }
                Some(Command::Bridge(record)) => {
                    media.bridge();
                    if let (Some(mode), Some(recordings)) = (record, &recordings) {
                        if recorder.is_none() {
                            recorder = Recorder::create(recordings, contact, mode).ok();
                            if recorder.is_some() {
                                media.start_recording(mode == RecordMode::Stereo);
                            }
                        }
                    }
                }
            },
            received = recv_on(&sockets[0], &mut caller_buffer) => {
                if let Ok((n, from)) = received {
                    media.handle_packet(clock.now(), LegId::Caller, from, &caller_buffer[..n]);
                }
            }
            received = recv_on(&sockets[1], &mut agent_buffer) => {
                if let Ok((n, from)) = received {
                    media.handle_packet(clock.now(), LegId::Agent, from, &agent_buffer[..n]);
                }
            }
            received = recv_either(&rtcp_sockets, &mut rtcp_buffer) => {
                if let Ok((leg, n, from)) = received {
                    media.handle_rtcp(clock.now(), leg, from, &rtcp_buffer[..n]);
                }
            }
            _ = &mut timer, if armed.is_some() => {
                // Fired: re-arm next turn even if the deadline reads the same.
                armed = None;
                media.handle_timeout(clock.now());
            }
        }
        while let Some(transmit) = media.poll_transmit() {
            let from = if transmit.rtcp {
                &rtcp_sockets
            } else {
                &sockets
            };
            if let Some(socket) = &from[index(transmit.leg)] {
                // UDP: a full socket buffer loses the packet, as the network would.
                let _ = socket.try_send_to(&transmit.bytes, transmit.destination);
            }
        }
        while let Some(event) = media.poll_event() {
            let _ = events.try_send((contact, MediaReport::Event(event)));
        }
        if let Some(r) = recorder.as_mut() {
            if r.drain(&mut media).is_err() {
                recorder = None;
            }
        }
    }
    if let Some(mut r) = recorder {
        let _ = r.drain(&mut media);
        let _ = r.finish();
    }
    let quality = CallQuality {
        caller: media.stats(LegId::Caller),
        agent: media.stats(LegId::Agent),
    };
    // The switch's task may be gone (shutting down): then there is no log to write to.
    let _ = events.send((contact, MediaReport::Ended(quality))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver(rtp_ports: Option<(u16, u16)>) -> MediaDriver {
        let (driver, _reports) = MediaDriver::new(
            Arc::new(Prompts::default()),
            IpAddr::from([127, 0, 0, 1]),
            rtp_ports,
            None,
            Clock::new(),
            5,
        );
        driver
    }

    #[test]
    fn rtp_goes_on_an_even_port_and_rtcp_on_the_next() {
        let mut driver = driver(None);
        for _ in 0..8 {
            let (rtp, rtcp) = driver.bind_pair().unwrap();
            let port = rtp.local_addr().unwrap().port();
            assert_eq!(port % 2, 0);
            assert_eq!(rtcp.local_addr().unwrap().port(), port + 1);
        }
    }

    #[test]
    fn a_configured_range_is_used_until_full_and_then_refused() {
        // Below the usual ephemeral range, so other tests' sockets stay out of it.
        let (first, last) = (21_000, 21_031);
        let mut driver = driver(Some((first, last)));
        let mut held = Vec::new();
        for _ in 0..16 {
            let (rtp, rtcp) = driver.bind_pair().unwrap();
            let port = rtp.local_addr().unwrap().port();
            assert!((first..=last).contains(&port) && port % 2 == 0, "{port}");
            assert_eq!(rtcp.local_addr().unwrap().port(), port + 1);
            held.push((rtp, rtcp));
        }
        let error = driver.bind_pair().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        held.pop();
        assert!(driver.bind_pair().is_ok(), "a freed pair is found again");
    }

    #[tokio::test]
    async fn a_call_task_sends_rtcp_from_the_port_after_its_rtp_and_reads_the_far_ends() {
        use hotline_media::rtp::rtcp::{
            parse_compound, write_compound, ReceiverReport, RtcpPacket,
        };
        let mut driver = driver(None);
        let (far_rtp, far_rtcp) = driver.bind_pair().unwrap();
        let far_rtcp = UdpSocket::from_std({
            far_rtcp.set_nonblocking(true).unwrap();
            far_rtcp
        })
        .unwrap();
        let (rtp, rtcp) = driver.bind_pair().unwrap();
        let our_rtcp = rtcp.local_addr().unwrap();
        for socket in [&rtp, &rtcp] {
            socket.set_nonblocking(true).unwrap();
        }
        let (commands, receiver) = mpsc::channel(MAX_CALL_COMMANDS);
        let (events, mut reports) = mpsc::channel(16);
        let config = CallMediaConfig {
            seed: 3,
            in_band_dtmf: false,
        };
        let task = tokio::spawn(call_task(
            ContactId(9),
            config,
            receiver,
            events,
            Clock::new(),
            None,
        ));
        let far = SocketAddr::new(
            IpAddr::from([127, 0, 0, 1]),
            far_rtp.local_addr().unwrap().port(),
        );
        let sockets = Command::Socket(
            LegId::Caller,
            UdpSocket::from_std(rtp).unwrap(),
            UdpSocket::from_std(rtcp).unwrap(),
        );
        assert!(commands.try_send(sockets).is_ok());
        let setup = LegSetup {
            codec: hotline_media::g711::Codec::Pcma,
            payload_type: 8,
            telephone_event: None,
            remote: Some(far),
            latch: true,
            send: true,
        };
        assert!(commands
            .try_send(Command::SetLeg(LegId::Caller, setup))
            .is_ok());
        // The first report comes within 3.75 s (half of 5 s, randomised), to RTP port + 1,
        // from ours.
        let mut buffer = [0u8; 1500];
        let (n, from) =
            tokio::time::timeout(Duration::from_secs(6), far_rtcp.recv_from(&mut buffer))
                .await
                .expect("an RTCP report within 6 s")
                .unwrap();
        assert_eq!(from.port(), our_rtcp.port());
        let packets = parse_compound(&buffer[..n]).unwrap();
        assert!(
            matches!(packets[0], RtcpPacket::ReceiverReport(_)),
            "{packets:?}"
        );
        // The far end's report reaches the call's RTCP socket.
        let rr = write_compound(&[RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 0xFA4,
            reports: Vec::new(),
        })])
        .unwrap();
        far_rtcp
            .send_to(
                &rr,
                SocketAddr::new(IpAddr::from([127, 0, 0, 1]), our_rtcp.port()),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(commands);
        task.await.unwrap();
        let Some((contact, MediaReport::Ended(quality))) = reports.recv().await else {
            panic!("no quality report");
        };
        assert_eq!(contact, ContactId(9));
        assert_eq!(quality.caller.rtcp_in, 1);
        assert!(quality.caller.rtcp_out >= 1);
    }
}
