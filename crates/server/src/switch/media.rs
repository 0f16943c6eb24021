//! The switch's anchored-media call flow: the caller is answered by hotline itself, hears an
//! IVR menu and picks by DTMF, waits in a queue hearing its position and expected wait between
//! music on hold, may press a key for a callback, and is bridged to the agent's phone through
//! hotline's RTP relay.
//!
//! The switch stays sans-IO: it asks the driver for media through [`MediaCommand`]s
//! ([`Switch::poll_media`]) and hears back through [`Switch::media_opened`],
//! [`Switch::media_failed`] and [`Switch::media_event`]. The driver runs one
//! [`hotline_media::call::CallMedia`] per call; tests answer the commands by hand.

use std::net::{IpAddr, SocketAddr};

use hotline_media::announce::{Announcement, Language};
use hotline_media::call::{LegId, LegSetup, MediaEvent};
use hotline_media::sdp::{
    accept_answer, build_answer, build_offer, LocalMedia, MediaPolicy, NegotiatedAudio,
    SessionDescription,
};
use hotline_routing::{ContactId, Input, QueueId, Time};
use hotline_sip::{Dialog, Method, Millis, Request};

use super::{CallEvent, Party, Side, Switch};

/// The most prompts in one menu, option or playlist.
pub const MAX_PROMPTS: usize = 32;
/// The most times a menu is offered again after no or a wrong key.
pub const MAX_MENU_REPEATS: u32 = 5;
/// The most menus.
pub const MAX_MENUS: usize = 256;
/// Media commands waiting for the driver; beyond this the switch refuses new calls (503).
pub const MAX_PENDING_MEDIA: usize = 100_000;
/// The prompt id of the music on hold.
pub const MOH: &str = "moh";

/// How conversations are recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordMode {
    /// Both legs mixed into one channel.
    Mono,
    /// Caller on the left channel, agent on the right.
    Stereo,
}

/// What a key (or a menu's time-out) leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuAction {
    /// Queue the caller.
    Queue(QueueId),
    /// Another menu (an index into [`MediaSettings::menus`]).
    Menu(usize),
    /// Play prompts (self-service information), then offer the same menu again.
    Play(Vec<String>),
    /// Say goodbye: hang up.
    HangUp,
    /// Transfer the caller to an outside number through a trunk that dials out
    /// ([`super::valid_transfer_number`]); on failure the caller hears so and the menu again.
    Transfer(String),
    /// On an automatic outbound call: the customer wants to be called again this many
    /// milliseconds from now; they hear the confirmation and the call ends.
    Later(u64),
}

/// The post-call satisfaction survey (满意度调查): when the agent hangs up first, the caller
/// stays on the line and hears `<lang>/survey_question` ("press 1 to 5"); a key from 1 to 5 is
/// the answer ([`super::CallEvent::SurveyAnswered`]), thanked by `<lang>/survey_thanks`, and
/// hotline hangs up. No key within `timeout_ms` after the question, or the caller hanging up,
/// ends it without an answer. A caller who hangs up first is not surveyed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Survey {
    /// How long to wait for the key after the question.
    pub timeout_ms: Millis,
}

/// The default wait for a survey key.
pub const DEFAULT_SURVEY_TIMEOUT_MS: Millis = 8_000;
/// The lowest and highest survey scores.
pub const SURVEY_SCORES: std::ops::RangeInclusive<u8> = 1..=5;

/// An IVR menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Menu {
    /// Its name, in the log.
    pub name: String,
    /// The language the caller is spoken to in from here on (announcements too).
    pub language: Language,
    /// What it says (prompt ids).
    pub prompts: Vec<String>,
    /// Keys and what they do.
    pub options: Vec<(char, MenuAction)>,
    /// How long to wait for a key after the prompts.
    pub timeout_ms: Millis,
    /// How many times to offer the menu again after no key or a wrong one.
    pub repeats: u32,
    /// What happens when the repeats run out.
    pub default: MenuAction,
}

/// Where a dialled number leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Straight into a queue.
    Queue(QueueId),
    /// An IVR menu (an index into [`MediaSettings::menus`]); needs anchored media.
    Menu(usize),
}

/// The anchored-media settings.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaSettings {
    /// Anchor the media: answer callers, play prompts, relay RTP. Off: signalling only, the
    /// caller hears ringing until an agent answers and the media flows phone to phone.
    pub enabled: bool,
    /// The address our SDP gives for RTP.
    pub address: IpAddr,
    /// The language of announcements until a menu says otherwise.
    pub language: Language,
    /// How often a queued caller hears its position and expected wait (0: once, on entry).
    pub announce_every_ms: Millis,
    /// The key a queued caller presses to be called back, keeping its place (`1` by
    /// default). Offered only when a trunk can dial out ([`super::Trunk::address`]).
    pub callback_digit: Option<char>,
    /// Record conversations.
    pub record: Option<RecordMode>,
    /// The ports RTP sockets take (first, last): RTP on an even port, its RTCP on the next.
    /// `None`: pairs the system picks. For the media driver; the switch does not use it.
    pub rtp_ports: Option<(u16, u16)>,
    /// IVR menus.
    pub menus: Vec<Menu>,
    /// The post-call survey, if the caller is asked.
    pub survey: Option<Survey>,
}

impl Default for MediaSettings {
    fn default() -> MediaSettings {
        MediaSettings {
            enabled: false,
            address: IpAddr::from([127, 0, 0, 1]),
            language: Language::ZhCn,
            announce_every_ms: 30_000,
            callback_digit: Some('1'),
            record: None,
            rtp_ports: None,
            menus: Vec::new(),
            survey: None,
        }
    }
}

/// What the switch asks of the media driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaCommand {
    /// Open an RTP socket for a leg; answer with [`Switch::media_opened`] or
    /// [`Switch::media_failed`].
    Open {
        /// The call.
        contact: ContactId,
        /// The leg.
        leg: LegId,
    },
    /// A leg's far end as negotiated (again, after a re-INVITE).
    SetLeg {
        /// The call.
        contact: ContactId,
        /// The leg.
        leg: LegId,
        /// Codec, payload types, address.
        setup: LegSetup,
    },
    /// Play prompts to a leg, then music on hold (`moh`) or silence.
    Play {
        /// The call.
        contact: ContactId,
        /// The leg.
        leg: LegId,
        /// Prompt ids.
        prompts: Vec<String>,
        /// Loop the music on hold afterwards.
        moh: bool,
    },
    /// Connect the legs, recording the conversation if asked.
    Bridge {
        /// The call.
        contact: ContactId,
        /// Record it.
        record: Option<RecordMode>,
    },
    /// A leg's phone hung up while the other stays (the post-call survey): stop relaying
    /// and recording, close the leg's socket.
    RemoveLeg {
        /// The call.
        contact: ContactId,
        /// The leg.
        leg: LegId,
    },
    /// The call is over: close its sockets, finish its recording.
    Close {
        /// The call.
        contact: ContactId,
    },
}

/// Where a call with anchored media is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the caller leg's socket.
    Opening,
    /// Offering a menu; `tries` counts offers after the first.
    Menu { menu: usize, tries: u32 },
    /// Playing a menu's information prompts; the menu comes back after.
    Info { menu: usize },
    /// In the queue, hearing announcements and music.
    Queued,
    /// Saying goodbye; hang up when the prompts end.
    Leaving,
    /// A callback: the agent answered and the customer's phone rings.
    Dialling,
    /// A menu transfer: the outside number rings; the caller hears music.
    Transferring,
    /// Talking to an agent.
    Connected,
    /// The agent hung up; the caller is asked the survey question.
    Survey,
    /// The caller answered the survey; hang up when the thanks end.
    SurveyThanks,
}

/// A call's media state in the switch.
pub(super) struct MediaCall {
    pub(super) phase: Phase,
    pub(super) language: Language,
    /// The caller's SDP offer; `None` on a callback, where hotline makes the offer.
    caller_offer: Option<SessionDescription>,
    pub(super) caller_port: Option<u16>,
    pub(super) agent_port: Option<u16>,
    /// The agent leg is waiting for its socket before ringing.
    pub(super) agent_waiting: Option<hotline_routing::AgentId>,
    /// The contact is in the routing core (queued, offered, or talking).
    pub(super) routed: bool,
    /// Menu time-out or next announcement; mirrored in `Switch::timers`.
    pub(super) deadline: Option<Millis>,
    pub(super) session_id: u64,
    /// Our SDP's version, raised with every re-INVITE answered.
    version: u64,
    /// The side that put the connected call on hold.
    held_by: Option<Side>,
    /// We made the offer on this side (in a 200) and wait for the answer in its ACK; `true`
    /// when the call flow starts then (a late offer on arrival).
    pending_answer: Option<(Side, bool)>,
}

impl MediaCall {
    /// An automatic outbound call's media: hotline makes the offer; no agent yet.
    pub(super) fn for_automatic(language: Language, session_id: u64) -> MediaCall {
        MediaCall {
            phase: Phase::Opening,
            language,
            caller_offer: None,
            caller_port: None,
            agent_port: None,
            agent_waiting: None,
            routed: false,
            deadline: None,
            session_id,
            version: 1,
            held_by: None,
            pending_answer: None,
        }
    }

    /// A callback's media: both sockets to open, the agent to ring once its socket is open.
    pub(super) fn for_callback(
        language: Language,
        agent: hotline_routing::AgentId,
        session_id: u64,
    ) -> MediaCall {
        MediaCall {
            agent_waiting: Some(agent),
            ..MediaCall::for_automatic(language, session_id)
        }
    }
}

pub(super) fn policy() -> MediaPolicy {
    MediaPolicy::default()
}

pub(super) fn setup_of(audio: &NegotiatedAudio) -> LegSetup {
    let remote = audio
        .remote_address
        .parse::<IpAddr>()
        .ok()
        .filter(|_| audio.remote_port != 0)
        .map(|ip| SocketAddr::new(ip, audio.remote_port));
    LegSetup {
        codec: audio.codec,
        payload_type: audio.payload_type,
        telephone_event: audio.telephone_event,
        remote,
        latch: true,
        send: !audio.remote_hold,
    }
}

/// The audio an agent's answer negotiated, if we can relay it.
pub(super) fn agent_audio(body: &[u8]) -> Option<NegotiatedAudio> {
    SessionDescription::parse_bytes(body)
        .ok()
        .and_then(|answer| accept_answer(&answer, &policy()))
}

impl Switch {
    /// The next media command for the driver.
    pub fn poll_media(&mut self) -> Option<MediaCommand> {
        self.media_commands.pop_front()
    }

    pub(super) fn media(&mut self, command: MediaCommand) {
        self.media_commands.push_back(command);
    }

    /// Asks for the agent leg's socket.
    pub(super) fn open_agent_leg(&mut self, contact: ContactId) {
        self.media(MediaCommand::Open {
            contact,
            leg: LegId::Agent,
        });
    }

    /// Takes a trunk INVITE for anchored media: checks the caller's offer and asks for the
    /// caller leg's socket. The error is the reason for a 488 when the offer is unusable.
    pub(super) fn media_admit(
        &mut self,
        contact: ContactId,
        request: &Request,
    ) -> Result<MediaCall, &'static str> {
        // No body: a late offer; ours goes in the 200 and the answer comes in the ACK.
        let offer = if request.body.is_empty() {
            None
        } else {
            let offer = SessionDescription::parse_bytes(&request.body)
                .map_err(|_| "Not Acceptable Here (no usable SDP offer)")?;
            let probe = LocalMedia {
                address: self.config.media.address.to_string(),
                port: 9,
                session_id: 0,
                session_version: 0,
            };
            build_answer(&offer, &probe, &policy())
                .audio
                .ok_or("Not Acceptable Here (no PCMU or PCMA audio offered)")?;
            Some(offer)
        };
        let session_id = self.random() >> 1;
        self.media(MediaCommand::Open {
            contact,
            leg: LegId::Caller,
        });
        Ok(MediaCall {
            phase: Phase::Opening,
            language: self.config.media.language,
            caller_offer: offer,
            caller_port: None,
            agent_port: None,
            agent_waiting: None,
            routed: false,
            deadline: None,
            session_id,
            version: 1,
            held_by: None,
            pending_answer: None,
        })
    }

    /// The driver opened a leg's RTP socket on `port` (of [`MediaSettings::address`]).
    pub fn media_opened(&mut self, now: Millis, contact: ContactId, leg: LegId, port: u16) {
        let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) else {
            return;
        };
        match leg {
            LegId::Caller => {
                if media.caller_port.is_some() {
                    return;
                }
                media.caller_port = Some(port);
                let callback = self
                    .calls
                    .get(&contact)
                    .is_some_and(|c| c.callback.is_some());
                if self.is_automatic(contact) {
                    self.dial_automatic(now, contact);
                } else if !callback {
                    self.answer_caller(now, contact, port);
                }
            }
            LegId::Agent => {
                media.agent_port = Some(port);
                if let Some(agent) = media.agent_waiting.take() {
                    self.ring_agent(now, contact, agent);
                } else if self.transfer_waiting(contact) {
                    self.dial_transfer(now, contact);
                }
            }
        }
        self.drain_routing(now);
    }

    /// The driver could not open a leg's socket: the call cannot go on.
    pub fn media_failed(&mut self, now: Millis, contact: ContactId, leg: LegId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let answered = call.caller_dialog.is_some();
        let waiting = call.media.as_mut().and_then(|m| m.agent_waiting.take());
        if let (LegId::Agent, Some(agent)) = (leg, waiting) {
            self.route(now, Input::Unreachable { agent, contact });
            return;
        }
        if leg == LegId::Agent && self.transfer_waiting(contact) {
            self.transfer_abort(now, contact, 503);
            return;
        }
        if answered {
            self.hang_up_caller(now, contact, Party::System);
        } else {
            self.end_unanswered(now, contact, 503, "Service Unavailable (no media port)");
        }
    }

    fn answer_caller(&mut self, now: Millis, contact: ContactId, port: u16) {
        let contact_header = self.contact();
        let address = self.config.media.address.to_string();
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some(media) = call.media.as_mut() else {
            return;
        };
        let local = LocalMedia {
            address,
            port,
            session_id: media.session_id,
            session_version: 1,
        };
        let (body, audio) = match media.caller_offer.as_ref() {
            Some(offer) => {
                let answer = build_answer(offer, &local, &policy());
                let Some(audio) = answer.audio else {
                    return;
                };
                (answer.description.to_bytes(), Some(audio))
            }
            None => {
                // A late offer: the caller answers ours in its ACK (`media_ack`).
                media.pending_answer = Some((Side::Caller, true));
                (build_offer(&local, &policy()).to_bytes(), None)
            }
        };
        let mut ok = call.caller_invite.response(200, "OK");
        ok.add_to_tag(&call.caller_tag);
        ok.headers.push("Contact", contact_header);
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = body;
        let caller_dialog = Dialog::as_uas(&call.caller_invite, &ok).ok();
        let txn = call.caller_txn;
        if let Some(dialog) = &caller_dialog {
            self.by_dialog
                .insert(dialog.id.clone(), (contact, Side::Caller));
        }
        call.caller_dialog = caller_dialog;
        let target = call.target.clone();
        if let Some(txn) = txn {
            let _ = self.transactions.send_response(now, txn, ok);
        }
        if let Some(audio) = audio {
            self.media(MediaCommand::SetLeg {
                contact,
                leg: LegId::Caller,
                setup: setup_of(&audio),
            });
            self.start_flow(now, contact, target);
        }
    }

    /// The caller is answered and its media set up: its menu or queue.
    fn start_flow(&mut self, now: Millis, contact: ContactId, target: super::Target) {
        match target {
            super::Target::Queue(queue) => self.join_queue(now, contact, queue),
            super::Target::Menu(menu) => self.offer_menu(contact, menu, 0),
        }
    }

    /// An ACK on a leg whose answer hotline waits for (we offered in a 200: a late offer, or
    /// a re-INVITE without SDP): its SDP sets the leg up. A caller whose late answer is
    /// unusable is hung up; a re-INVITE's keeps the leg as it was.
    pub(super) fn media_ack(&mut self, now: Millis, contact: ContactId, side: Side, body: &[u8]) {
        let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) else {
            return;
        };
        let Some((waiting, start)) = media.pending_answer else {
            return;
        };
        if waiting != side {
            return;
        }
        media.pending_answer = None;
        let audio = SessionDescription::parse_bytes(body)
            .ok()
            .and_then(|answer| accept_answer(&answer, &policy()));
        let leg = match side {
            Side::Caller => LegId::Caller,
            Side::Agent => LegId::Agent,
        };
        match audio {
            Some(audio) => {
                self.media(MediaCommand::SetLeg {
                    contact,
                    leg,
                    setup: setup_of(&audio),
                });
                if start {
                    let target = self.calls.get(&contact).map(|c| c.target.clone());
                    if let Some(target) = target {
                        self.start_flow(now, contact, target);
                    }
                }
            }
            None if start => self.hang_up_caller(now, contact, Party::System),
            None => {}
        }
        self.drain_routing(now);
    }

    pub(super) fn set_deadline(&mut self, contact: ContactId, at: Option<Millis>) {
        if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
            media.deadline = at;
            if let Some(at) = at {
                self.timers.insert((at, contact));
            }
        }
    }

    pub(super) fn phase_of(&self, contact: ContactId) -> Option<Phase> {
        self.calls
            .get(&contact)
            .and_then(|c| c.media.as_ref())
            .map(|m| m.phase)
    }

    pub(super) fn set_phase(&mut self, contact: ContactId, phase: Phase) {
        if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
            media.phase = phase;
        }
    }

    fn play(&mut self, contact: ContactId, prompts: Vec<String>, moh: bool) {
        self.media(MediaCommand::Play {
            contact,
            leg: LegId::Caller,
            prompts,
            moh,
        });
    }

    pub(super) fn offer_menu(&mut self, contact: ContactId, menu: usize, tries: u32) {
        let Some(m) = self.config.media.menus.get(menu) else {
            return;
        };
        let mut prompts = Vec::new();
        if tries > 0 {
            prompts.push(format!("{}/invalid_choice", m.language.prefix()));
        }
        prompts.extend(m.prompts.iter().cloned());
        let language = m.language;
        if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
            media.language = language;
        }
        self.set_phase(contact, Phase::Menu { menu, tries });
        // The key time-out starts when the prompts end (PromptsFinished).
        self.set_deadline(contact, None);
        self.play(contact, prompts, false);
    }

    fn menu_action(&mut self, now: Millis, contact: ContactId, menu: usize, action: MenuAction) {
        match action {
            MenuAction::Queue(queue) => self.join_queue(now, contact, queue),
            MenuAction::Menu(next) => self.offer_menu(contact, next, 0),
            MenuAction::Play(prompts) => {
                self.set_phase(contact, Phase::Info { menu });
                self.set_deadline(contact, None);
                self.play(contact, prompts, false);
            }
            MenuAction::HangUp => self.hang_up_caller(now, contact, Party::System),
            MenuAction::Transfer(number) => self.start_transfer(now, contact, menu, number),
            MenuAction::Later(after_ms) => self.callback_later(now, contact, after_ms),
        }
    }

    /// Puts an answered call in its queue; through [`Switch::join_queue`], which waits for
    /// the caller's profile first.
    pub(super) fn enqueue(&mut self, now: Millis, contact: ContactId, queue: QueueId) {
        self.call_event(now, CallEvent::Queued { contact, queue });
        let spec = self.contact_spec(contact, queue);
        let result = self
            .router
            .handle(Time::from_millis(now), Input::Arrive(spec));
        if result.is_err() {
            self.stats.routing_refusals += 1;
            self.say_goodbye(contact, "unavailable_goodbye");
            return;
        }
        if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
            media.routed = true;
            media.phase = Phase::Queued;
        }
        // The routing core may offer it at once: announce only if it still waits.
        self.drain_routing(now);
        if self.phase_of(contact) == Some(Phase::Queued) && !self.is_ringing(contact) {
            self.announce(now, contact);
        }
    }

    fn is_ringing(&self, contact: ContactId) -> bool {
        self.calls.get(&contact).is_some_and(|c| {
            c.agent.is_some() || c.media.as_ref().is_some_and(|m| m.agent_waiting.is_some())
        })
    }

    /// Tells a queued caller its position and expected wait, offers the callback, then music.
    fn announce(&mut self, now: Millis, contact: ContactId) {
        let language = self
            .calls
            .get(&contact)
            .and_then(|c| c.media.as_ref())
            .map_or(self.config.media.language, |m| m.language);
        let mut prompts = Vec::new();
        if let Some(estimate) = self.router.estimate(contact) {
            // Without an estimate (no agent could take the call now) nothing is promised.
            if let Some(wait) = estimate.expected_wait {
                let announcement = Announcement {
                    callers_ahead: estimate.position.saturating_sub(1),
                    wait_seconds: wait.as_secs(),
                };
                prompts.extend(
                    announcement
                        .prompts(language)
                        .into_iter()
                        .map(str::to_string),
                );
                self.call_event(
                    now,
                    CallEvent::Announced {
                        contact,
                        position: estimate.position,
                        wait_seconds: announcement.wait_seconds,
                    },
                );
            }
        }
        if self.offers_callbacks() {
            prompts.push(format!("{}/callback_offer", language.prefix()));
        }
        self.play(contact, prompts, true);
        let every = self.config.media.announce_every_ms;
        self.set_deadline(contact, (every > 0).then_some(now + every));
    }

    pub(super) fn say_goodbye(&mut self, contact: ContactId, prompt: &str) {
        let language = self
            .calls
            .get(&contact)
            .and_then(|c| c.media.as_ref())
            .map_or(self.config.media.language, |m| m.language);
        self.set_phase(contact, Phase::Leaving);
        self.set_deadline(contact, None);
        self.play(
            contact,
            vec![format!("{}/{prompt}", language.prefix())],
            false,
        );
    }

    /// A media event from the driver.
    pub fn media_event(&mut self, now: Millis, contact: ContactId, event: MediaEvent) {
        let Some(phase) = self.phase_of(contact) else {
            return;
        };
        match event {
            MediaEvent::Digit {
                leg: LegId::Caller,
                digit,
            } => self.on_digit(now, contact, phase, digit),
            MediaEvent::PromptsFinished { leg: LegId::Caller } => match phase {
                Phase::Menu { menu, .. } => {
                    let timeout = self.config.media.menus[menu].timeout_ms;
                    self.set_deadline(contact, Some(now + timeout));
                }
                Phase::Info { menu } => self.offer_menu(contact, menu, 0),
                Phase::Leaving => self.hang_up_caller(now, contact, Party::System),
                Phase::Survey => {
                    let timeout = self
                        .config
                        .media
                        .survey
                        .map_or(DEFAULT_SURVEY_TIMEOUT_MS, |s| s.timeout_ms);
                    self.set_deadline(contact, Some(now + timeout));
                }
                Phase::SurveyThanks => self.end_survey(now, contact),
                _ => {}
            },
            _ => {}
        }
        self.drain_routing(now);
    }

    fn on_digit(&mut self, now: Millis, contact: ContactId, phase: Phase, digit: char) {
        match phase {
            Phase::Menu { menu, tries } => {
                self.call_event(
                    now,
                    CallEvent::MenuChoice {
                        contact,
                        menu: self.config.media.menus[menu].name.clone(),
                        digit,
                    },
                );
                let m = &self.config.media.menus[menu];
                let action = m
                    .options
                    .iter()
                    .find(|(key, _)| *key == digit)
                    .map(|(_, a)| a.clone());
                match action {
                    Some(action) => self.menu_action(now, contact, menu, action),
                    None => self.menu_retry(now, contact, menu, tries),
                }
            }
            Phase::Queued
                if Some(digit) == self.config.media.callback_digit && self.offers_callbacks() =>
            {
                if self
                    .router
                    .handle(Time::from_millis(now), Input::AcceptCallback { contact })
                    .is_err()
                {
                    self.stats.routing_refusals += 1;
                    return;
                }
                self.call_event(now, CallEvent::CallbackAccepted { contact });
                // The contact waits on in the routing core as a callback; the caller leg ends.
                if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
                    media.routed = false;
                }
                self.say_goodbye(contact, "callback_confirmed");
            }
            Phase::Survey => {
                let Some(score) = digit
                    .to_digit(10)
                    .and_then(|d| u8::try_from(d).ok())
                    .filter(|d| SURVEY_SCORES.contains(d))
                else {
                    // Not an answer: the question's time-out still runs.
                    return;
                };
                self.call_event(now, CallEvent::SurveyAnswered { contact, score });
                self.set_phase(contact, Phase::SurveyThanks);
                self.set_deadline(contact, None);
                let language = self.language_of(contact);
                self.play(
                    contact,
                    vec![format!("{}/survey_thanks", language.prefix())],
                    false,
                );
            }
            _ => {}
        }
    }

    fn language_of(&self, contact: ContactId) -> Language {
        self.calls
            .get(&contact)
            .and_then(|c| c.media.as_ref())
            .map_or(self.config.media.language, |m| m.language)
    }

    /// Whether hanging up the agent leg of `contact` starts the survey: one is configured,
    /// the call was a conversation with media anchored here, and the caller is still on.
    pub(super) fn survey_follows(&self, contact: ContactId) -> bool {
        self.config.media.survey.is_some()
            && self.calls.get(&contact).is_some_and(|c| {
                c.caller_dialog.is_some()
                    && c.transfer.is_none()
                    && c.media
                        .as_ref()
                        .is_some_and(|m| m.phase == Phase::Connected)
            })
    }

    /// The agent hung up: the caller hears the survey question (the agent leg is gone).
    pub(super) fn start_survey(&mut self, contact: ContactId) {
        self.media(MediaCommand::RemoveLeg {
            contact,
            leg: LegId::Agent,
        });
        self.set_phase(contact, Phase::Survey);
        // The key time-out starts when the question ends (PromptsFinished).
        self.set_deadline(contact, None);
        let language = self.language_of(contact);
        self.play(
            contact,
            vec![format!("{}/survey_question", language.prefix())],
            false,
        );
    }

    /// The survey is over (answered and thanked, no key in time): hotline hangs up. The
    /// conversation's end was reported when the agent hung up.
    pub(super) fn end_survey(&mut self, now: Millis, contact: ContactId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let peer = call.caller_peer;
        if let Some(mut dialog) = call.caller_dialog.take() {
            self.by_dialog.remove(&dialog.id);
            let via = self.via(peer.transport);
            let bye = dialog.request(Method::Bye, &via, "");
            let _ = self.transactions.send_request(now, bye, peer);
        }
        self.finish_if_done(now, contact);
    }

    /// Whether the caller of `contact` is in the survey (its hang-up ends only that).
    pub(super) fn in_survey(&self, contact: ContactId) -> bool {
        matches!(
            self.phase_of(contact),
            Some(Phase::Survey | Phase::SurveyThanks)
        )
    }

    fn menu_retry(&mut self, now: Millis, contact: ContactId, menu: usize, tries: u32) {
        let m = &self.config.media.menus[menu];
        if tries >= m.repeats {
            let action = m.default.clone();
            self.menu_action(now, contact, menu, action);
        } else {
            self.offer_menu(contact, menu, tries + 1);
        }
    }

    /// Fires the calls' media deadlines due at `now`.
    pub(super) fn media_timeouts(&mut self, now: Millis) {
        while let Some(&(at, contact)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let current = self
                .calls
                .get(&contact)
                .and_then(|c| c.media.as_ref())
                .is_some_and(|m| m.deadline == Some(at));
            if !current {
                continue;
            }
            self.set_deadline(contact, None);
            if self.predictive_waiting(contact) {
                self.predictive_abandon(now, contact);
                continue;
            }
            match self.phase_of(contact) {
                Some(Phase::Menu { menu, tries }) => self.menu_retry(now, contact, menu, tries),
                Some(Phase::Queued) if !self.is_ringing(contact) => self.announce(now, contact),
                Some(Phase::Queued) => {
                    let every = self.config.media.announce_every_ms;
                    self.set_deadline(contact, (every > 0).then_some(now + every));
                }
                Some(Phase::Dialling) => self.customer_ring_timeout(now, contact),
                Some(Phase::Transferring) => self.transfer_ring_timeout(now, contact),
                Some(Phase::Survey) => self.end_survey(now, contact),
                _ => {}
            }
        }
        self.drain_routing(now);
    }

    /// The agent leg's SDP: our offer on the agent leg's socket.
    pub(super) fn agent_offer(&mut self, contact: ContactId) -> Option<Vec<u8>> {
        let address = self.config.media.address.to_string();
        let media = self.calls.get(&contact)?.media.as_ref()?;
        let local = LocalMedia {
            address,
            port: media.agent_port?,
            session_id: media.session_id ^ 1,
            session_version: 1,
        };
        Some(build_offer(&local, &policy()).to_bytes())
    }

    /// The agent answered with `audio` ([`agent_audio`]): bridge.
    pub(super) fn media_connect(&mut self, contact: ContactId, audio: &NegotiatedAudio) {
        if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
            // From here the caller's hang-up completes the conversation.
            media.routed = false;
        }
        self.media(MediaCommand::SetLeg {
            contact,
            leg: LegId::Agent,
            setup: setup_of(audio),
        });
        self.bridge(contact);
    }

    /// Connects the legs (recording if configured).
    pub(super) fn bridge(&mut self, contact: ContactId) {
        self.set_phase(contact, Phase::Connected);
        self.set_deadline(contact, None);
        let record = self.config.media.record;
        self.media(MediaCommand::Bridge { contact, record });
    }

    /// The routing core gave up on a caller that hotline answered: say so and hang up.
    pub(super) fn media_unavailable(&mut self, contact: ContactId) {
        if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
            media.routed = false;
        }
        if self.phase_of(contact) == Some(Phase::Queued) {
            self.say_goodbye(contact, "unavailable_goodbye");
        }
    }

    /// Hotline hangs up an answered caller (goodbye played, menu says so, no media).
    pub(super) fn hang_up_caller(&mut self, now: Millis, contact: ContactId, by: Party) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let peer = call.caller_peer;
        let routed = call.media.as_ref().is_some_and(|m| m.routed);
        if let Some(mut dialog) = call.caller_dialog.take() {
            self.by_dialog.remove(&dialog.id);
            let via = self.via(peer.transport);
            let bye = dialog.request(Method::Bye, &via, "");
            let _ = self.transactions.send_request(now, bye, peer);
        }
        self.drop_agent_leg(now, contact);
        self.call_event(now, CallEvent::Ended { contact, by });
        if routed {
            self.route(now, Input::Abandon { contact });
        }
        self.finish_if_done(now, contact);
    }

    /// A re-INVITE on a leg: the answer on our side of it, and the leg's new setup for the
    /// driver. `None` when the offer has no usable audio (488). A re-INVITE without SDP gets
    /// our offer, and its ACK's answer sets the leg up ([`Switch::media_ack`]).
    pub(super) fn media_reoffer(
        &mut self,
        now: Millis,
        contact: ContactId,
        side: Side,
        body: &[u8],
    ) -> Option<Vec<u8>> {
        let address = self.config.media.address.to_string();
        let media = self.calls.get_mut(&contact)?.media.as_mut()?;
        let (leg, port, session_id) = match side {
            Side::Caller => (LegId::Caller, media.caller_port?, media.session_id),
            Side::Agent => (LegId::Agent, media.agent_port?, media.session_id ^ 1),
        };
        media.version += 1;
        let local = LocalMedia {
            address,
            port,
            session_id,
            session_version: media.version,
        };
        if body.is_empty() {
            media.pending_answer = Some((side, false));
            return Some(build_offer(&local, &policy()).to_bytes());
        }
        let offer = SessionDescription::parse_bytes(body).ok()?;
        let answer = build_answer(&offer, &local, &policy());
        let audio = answer.audio?;
        self.media(MediaCommand::SetLeg {
            contact,
            leg,
            setup: setup_of(&audio),
        });
        self.media_hold(now, contact, side, audio.remote_hold);
        Some(answer.description.to_bytes())
    }

    /// A connected leg put the call on hold (`hold`) or took it off: the other leg hears
    /// music on hold meanwhile, then the conversation again.
    fn media_hold(&mut self, now: Millis, contact: ContactId, side: Side, hold: bool) {
        let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) else {
            return;
        };
        if media.phase != Phase::Connected || media.held_by.is_some() == hold {
            // Not talking yet, or no change (a session refresh).
            return;
        }
        media.held_by = hold.then_some(side);
        let by = match side {
            Side::Caller => Party::Caller,
            Side::Agent => Party::Agent,
        };
        if hold {
            let other = match side {
                Side::Caller => LegId::Agent,
                Side::Agent => LegId::Caller,
            };
            self.media(MediaCommand::Play {
                contact,
                leg: other,
                prompts: Vec::new(),
                moh: true,
            });
            self.call_event(now, CallEvent::Held { contact, by });
        } else {
            let record = self.config.media.record;
            self.media(MediaCommand::Bridge { contact, record });
            self.call_event(now, CallEvent::Resumed { contact, by });
        }
    }

    /// A call with media is forgotten: its sockets close.
    pub(super) fn media_closed(&mut self, contact: ContactId) {
        self.media(MediaCommand::Close { contact });
    }
}
