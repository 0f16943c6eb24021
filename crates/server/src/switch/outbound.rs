//! Calls the outbound dialler places ([`crate::outbound`]): each attempt of a callback task
//! becomes a callback contact of the routing core, agent first. The routing core reserves a
//! suitable agent (the outbound queue's skills, the customer's dedicated agent, VIPs first),
//! the agent's phone rings and shows the card, and once the agent answers the customer is
//! dialled through a trunk and bridged, by the same flow as a queued caller's callback
//! ([`super::callback`]). The agent hears a short prompt, never the customer's ringing.
//!
//! The dialler keeps the retry policy, so each contact gets one dial
//! ([`ContactSpec::max_dials`]). When the contact's routing ends, the switch says how the
//! attempt went ([`CallEvent::OutboundEnded`], exactly once per [`OutboundCall`] taken), and
//! the run loop hands it to the dialler.
//!
//! The dialler paces itself by [`Switch::outbound_capacity`]: the agents of the outbound
//! queue who are ready and free. An attempt that arrives when none is free waits in the
//! queue for the next one, like a caller.

use hotline_media::announce::Language;
use hotline_media::call::LegId;
use hotline_media::sdp::{build_offer, LocalMedia};
use hotline_routing::{
    AgentState, ContactId, ContactKind, DialOutcome, Input, PreferredAgent, QueueId, Time,
};
use hotline_sip::{Dialog, Message, Millis, Peer, Response, Transport};

use super::callback::{outcome_of, CallbackTarget};
use super::media::{agent_audio, policy, MediaCall, MediaCommand, Menu, MenuAction, Phase};
use super::{Call, CallEvent, CallerProfile, ProfileState, Side, Switch, Target};

/// The most outbound attempts the switch holds at once (queued, ringing an agent, dialling,
/// or connected and not yet reported); further ones are reported not placed.
pub const MAX_OUTBOUND_ATTEMPTS: usize = 10_000;

/// How an attempt is placed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutboundMode {
    /// Reserve an agent, ring them, then dial the customer (the agent hears no ringing).
    #[default]
    AgentFirst,
    /// Dial the customer at once; once they answer they hear that this is the callback they
    /// asked for and choose: 1 to talk to an agent now (they join the outbound queue), 2 to
    /// be called again later (in 1 h, 3 h or tomorrow, by key).
    Automatic,
    /// Agents see the due tasks and press dial on one: placed agent first, to that agent.
    Preview,
    /// A predictive campaign's call: dialled before an agent is free (the dialler's pacer
    /// decides how many); once the customer answers they join the campaign's queue at the
    /// front, and if no agent is bridged within [`ABANDON_AFTER_MS`] they hear a short
    /// apology and the call ends, counted abandoned ([`OutboundResult::Abandoned`]).
    Predictive,
}

impl OutboundMode {
    /// Every mode, as named in the configuration and the API.
    pub const ALL: [OutboundMode; 4] = [
        OutboundMode::AgentFirst,
        OutboundMode::Automatic,
        OutboundMode::Preview,
        OutboundMode::Predictive,
    ];

    /// Its name: `agent_first`, `automatic`, `preview` or `predictive`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundMode::AgentFirst => "agent_first",
            OutboundMode::Automatic => "automatic",
            OutboundMode::Preview => "preview",
            OutboundMode::Predictive => "predictive",
        }
    }

    /// The mode of a name.
    pub fn parse(name: &str) -> Option<OutboundMode> {
        OutboundMode::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// An answered predictive call with no agent bridged within this long is abandoned: the
/// customer hears a short message and the call ends (the regulators' 2 seconds).
pub const ABANDON_AFTER_MS: Millis = hotline_dialer::pacing::ABANDON_AFTER_MS;

/// The most connected predictive calls whose talk and wrap-up times the switch follows for
/// the pacer at once; beyond it a call's times are not reported (the pacer keeps its
/// estimates).
pub const MAX_PACED_CONVERSATIONS: usize = 10_000;

/// The urgency a predictive call gets in its queue: ahead of callers who chose to wait.
const PREDICTIVE_URGENCY: u8 = u8::MAX;

/// A predictive call's progress after the dial, for the pacer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacingStep {
    /// The customer answered; an agent must be bridged within [`ABANDON_AFTER_MS`].
    Answered,
    /// The conversation with the agent ended after this long (milliseconds).
    TalkEnded(u64),
    /// The agent's wrap-up after it took this long (milliseconds).
    WrapEnded(u64),
}

impl PacingStep {
    /// Its name in the event log (`call.outbound_<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            PacingStep::Answered => "answered",
            PacingStep::TalkEnded(_) => "talk_ended",
            PacingStep::WrapEnded(_) => "wrap_ended",
        }
    }
}

/// The agents of a queue as a predictive pacer needs them, with the instants (switch clock,
/// Unix milliseconds) at which each entered its state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueAgents {
    /// When this was taken.
    pub at_ms: u64,
    /// Agents of the queue ready and free for a voice contact.
    pub idle: u32,
    /// For each agent of the queue ringing for or on a contact: since when.
    pub talking_since_ms: Vec<u64>,
    /// For each agent of the queue in wrap-up: since when.
    pub wrapping_since_ms: Vec<u64>,
}

/// The delays a customer may choose on an automatic call's "later" menu, by key.
pub const LATER_CHOICES: [(char, u64); 3] = [
    ('1', 3_600_000),
    ('2', 3 * 3_600_000),
    ('3', 24 * 3_600_000),
];

/// How long the outbound menus wait for a key after their prompt.
pub const OUTBOUND_MENU_TIMEOUT_MS: Millis = 8_000;

/// The built-in menus of automatic calls, added to the configured ones by [`Switch::new`]:
/// for each language, the first menu ("press 1 for an agent, 2 for later") and the later
/// one; `queue` takes those who press 1. Answers the menus to append, with the index of each
/// language's first menu given the number of menus before them.
pub(super) fn outbound_menus(queue: QueueId, before: usize) -> (Vec<Menu>, [usize; 2]) {
    let mut menus = Vec::new();
    let mut first = [0; 2];
    for (i, language) in [Language::ZhCn, Language::En].into_iter().enumerate() {
        let prefix = language.prefix();
        let later = before + menus.len();
        menus.push(Menu {
            name: format!("outbound_later_{prefix}"),
            language,
            prompts: vec![format!("{prefix}/auto_later")],
            options: LATER_CHOICES
                .iter()
                .map(|&(key, ms)| (key, MenuAction::Later(ms)))
                .collect(),
            timeout_ms: OUTBOUND_MENU_TIMEOUT_MS,
            repeats: 1,
            default: MenuAction::HangUp,
        });
        first[i] = before + menus.len();
        menus.push(Menu {
            name: format!("outbound_auto_{prefix}"),
            language,
            prompts: vec![format!("{prefix}/auto_callback")],
            options: vec![
                ('1', MenuAction::Queue(queue)),
                ('2', MenuAction::Menu(later)),
            ],
            timeout_ms: OUTBOUND_MENU_TIMEOUT_MS,
            repeats: 1,
            default: MenuAction::HangUp,
        });
    }
    (menus, first)
}

/// An automatic call's dial to the customer.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct AutomaticDial {
    /// The INVITE waits for its final response.
    inviting: bool,
    /// hotline gave up ringing.
    gave_up: bool,
}

/// One attempt of a callback task, for the switch to place.
#[derive(Clone, Debug)]
pub struct OutboundCall {
    /// The dialler's task.
    pub task: u64,
    /// The attempt's number (from 1).
    pub attempt: u32,
    /// The number to dial, as the trunk takes it (E.164).
    pub number: String,
    /// The customer in the records, for the screen pop.
    pub customer: Option<i64>,
    /// The language of what the customer hears; `None` for the media's default.
    pub language: Option<Language>,
    /// The customer's level, value and dedicated agent, for routing.
    pub profile: Option<CallerProfile>,
    /// Agent first, automatic, preview or predictive.
    pub mode: OutboundMode,
    /// The queue that takes it, by name (a campaign's); `None` or a name the routing
    /// configuration does not know: the outbound queue.
    pub queue: Option<String>,
    /// Only this agent takes it (preview: the agent who pressed dial); a name the routing
    /// configuration does not know leaves it to any agent of the queue.
    pub agent: Option<String>,
}

/// How an attempt ended, for the dialler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboundResult {
    /// The customer answered and talks to the agent.
    Connected,
    /// Busy (486, 600).
    Busy,
    /// It rang unanswered (408, 480, 487, or the dial time-out).
    NoAnswer,
    /// The customer declined (603).
    Rejected,
    /// The number does not exist (404, 410, 484, 604).
    InvalidNumber,
    /// The carrier or the network failed the call (the final status; 408 when nothing
    /// answered, 488 for an answer without usable audio).
    Failed(u16),
    /// The call was never placed (no trunk dials out, media is off, a limit, the routing core
    /// refused it, or the dialler withdrew it before the dial).
    NotPlaced,
    /// After an automatic call was answered (reported [`OutboundResult::Connected`]): the
    /// customer chose to be called again this many milliseconds later.
    Later(u64),
    /// A predictive call was answered and no agent was bridged within [`ABANDON_AFTER_MS`]:
    /// the customer heard the apology.
    Abandoned,
    /// A predictive call was answered and the customer hung up before an agent came (within
    /// [`ABANDON_AFTER_MS`]).
    HungUp,
    /// Not an end: a predictive call's progress ([`CallEvent::OutboundPacing`]), for the
    /// dialler's pacer.
    Pacing(PacingStep),
}

impl OutboundResult {
    /// Its name in the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundResult::Connected => "connected",
            OutboundResult::Busy => "busy",
            OutboundResult::NoAnswer => "no_answer",
            OutboundResult::Rejected => "rejected",
            OutboundResult::InvalidNumber => "invalid_number",
            OutboundResult::Failed(_) => "failed",
            OutboundResult::NotPlaced => "not_placed",
            OutboundResult::Later(_) => "later",
            OutboundResult::Abandoned => "abandoned",
            OutboundResult::HungUp => "hung_up",
            OutboundResult::Pacing(step) => step.as_str(),
        }
    }
}

/// What the dialler needs to pace itself, published by the run loop after each turn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboundCapacity {
    /// Agents of the outbound queue ready and free for a call.
    pub free_agents: u32,
    /// [`OutboundCall`]s the switch has taken so far: the dialler subtracts the ones it sent
    /// that are not counted yet.
    pub calls_taken: u64,
    /// Attempts held now.
    pub attempts_held: u32,
}

/// An attempt the switch holds.
#[derive(Clone, Debug)]
pub(super) struct OutboundAttempt {
    task: u64,
    attempt: u32,
    /// The customer's INVITE went out.
    dialled: bool,
    /// The dial's outcome as reported to the routing core, and the final status.
    outcome: Option<(DialOutcome, u16)>,
    /// An automatic call (its end is reported by the call, not by the routing core).
    automatic: bool,
    /// A predictive call: when the customer answered, once they have.
    predictive: Option<Option<Millis>>,
    /// Its end was reported.
    reported: bool,
}

impl OutboundAttempt {
    fn new(call: &OutboundCall, automatic: bool) -> OutboundAttempt {
        OutboundAttempt {
            task: call.task,
            attempt: call.attempt,
            dialled: false,
            outcome: None,
            automatic,
            predictive: (call.mode == OutboundMode::Predictive).then_some(None),
            reported: false,
        }
    }
}

/// What a failed dial means for the dialler.
fn result_of(outcome: Option<(DialOutcome, u16)>, dialled: bool) -> OutboundResult {
    match outcome {
        None => OutboundResult::NotPlaced,
        Some((DialOutcome::Connected, _)) => OutboundResult::Connected,
        Some((_, 404 | 410 | 484 | 604)) => OutboundResult::InvalidNumber,
        Some((DialOutcome::Busy, _)) => OutboundResult::Busy,
        Some((DialOutcome::NoAnswer, _)) => OutboundResult::NoAnswer,
        Some((DialOutcome::Rejected, _)) => OutboundResult::Rejected,
        Some((DialOutcome::Failed, status)) if dialled => OutboundResult::Failed(status),
        Some((DialOutcome::Failed, _)) => OutboundResult::NotPlaced,
    }
}

impl Switch {
    /// The queue outbound attempts join: the configured one, else the first.
    fn outbound_queue(&self) -> Option<QueueId> {
        self.config
            .outbound
            .queue
            .or_else(|| (!self.router.config().queues.is_empty()).then_some(QueueId(0)))
    }

    /// What the dialler needs to pace itself.
    pub fn outbound_capacity(&self) -> OutboundCapacity {
        OutboundCapacity {
            free_agents: self
                .outbound_queue()
                .map_or(0, |q| self.router.ready_voice_agents(q)),
            calls_taken: self.outbound_taken,
            attempts_held: self.outbound.len() as u32,
        }
    }

    /// Takes an attempt from the dialler: it joins the outbound queue as a callback, and the
    /// first suitable agent gets it. Its end is reported once, as
    /// [`CallEvent::OutboundEnded`], also when it cannot be placed at all.
    pub fn place_outbound(&mut self, now: Millis, call: OutboundCall) {
        self.outbound_taken += 1;
        let contact = ContactId(self.next_contact);
        self.next_contact += 1;
        self.call_event(
            now,
            CallEvent::OutboundQueued {
                contact,
                task: call.task,
                attempt: call.attempt,
                number: call.number.clone(),
                customer: call.customer,
            },
        );
        let refusal = if !self.config.media.enabled {
            Some("outbound calls need anchored media ([media] enabled)")
        } else if self.dialling_trunk(0).is_none() {
            Some("no trunk dials out (give a trunk an address)")
        } else if self.outbound.len() >= MAX_OUTBOUND_ATTEMPTS {
            Some("the switch holds its most outbound attempts")
        } else if self.calls.len() >= self.config.max_calls {
            Some("the call limit is reached")
        } else {
            None
        };
        let queue = call
            .queue
            .as_deref()
            .and_then(|name| self.router.config().queue_id(name))
            .or_else(|| self.outbound_queue());
        let (Some(queue), None) = (queue, refusal) else {
            let why = refusal.unwrap_or("no queue for outbound calls");
            self.outbound_not_placed(now, contact, &call, why);
            return;
        };
        let trunk = self.dialling_trunk(0).unwrap_or(0);
        if matches!(
            call.mode,
            OutboundMode::Automatic | OutboundMode::Predictive
        ) {
            self.place_automatic(now, contact, &call, queue, trunk);
            return;
        }
        self.callback_targets.insert(
            contact,
            CallbackTarget {
                number: call.number.clone(),
                shown: self.config.outbound.caller_id.clone(),
                trunk,
                language: call.language.unwrap_or(self.config.media.language),
            },
        );
        self.outbound
            .insert(contact, OutboundAttempt::new(&call, false));
        let mut spec = self.spec_for(contact, queue, call.profile.as_ref());
        spec.kind = ContactKind::Callback;
        spec.max_dials = Some(1);
        if let Some(agent) = call
            .agent
            .as_deref()
            .and_then(|name| self.router.config().agent_id(name))
        {
            spec.preferred_agent = Some(PreferredAgent {
                agent,
                wait: std::time::Duration::MAX,
            });
        }
        if let Err(error) = self
            .router
            .handle(Time::from_millis(now), Input::Arrive(spec))
        {
            self.stats.routing_refusals += 1;
            self.callback_targets.remove(&contact);
            self.outbound.remove(&contact);
            self.outbound_not_placed(now, contact, &call, &error.to_string());
            return;
        }
        self.drain_routing(now);
    }

    /// Withdraws the attempt of `task` if its customer has not been dialled yet (the task was
    /// cancelled, or the number went on the do-not-call list): the agent's phone stops
    /// ringing and the attempt ends not placed. Answers whether it was withdrawn.
    pub fn withdraw_outbound(&mut self, now: Millis, task: u64) -> bool {
        let Some((&contact, _)) = self
            .outbound
            .iter()
            .find(|(_, a)| a.task == task && !a.dialled)
        else {
            return false;
        };
        self.route(now, Input::Abandon { contact });
        true
    }

    fn outbound_not_placed(
        &mut self,
        now: Millis,
        contact: ContactId,
        call: &OutboundCall,
        why: &str,
    ) {
        self.call_event(
            now,
            CallEvent::CallbackNotDialled {
                contact,
                attempt: call.attempt,
                why: why.to_string(),
            },
        );
        self.call_event(
            now,
            CallEvent::OutboundEnded {
                contact,
                task: call.task,
                attempt: call.attempt,
                result: OutboundResult::NotPlaced,
            },
        );
    }

    /// The customer's INVITE of an outbound attempt went out.
    pub(super) fn outbound_dialled(&mut self, contact: ContactId) {
        if let Some(attempt) = self.outbound.get_mut(&contact) {
            attempt.dialled = true;
        }
    }

    /// The dial's outcome as told to the routing core, with the final status.
    pub(super) fn outbound_outcome(
        &mut self,
        contact: ContactId,
        outcome: DialOutcome,
        status: u16,
    ) {
        if let Some(attempt) = self.outbound.get_mut(&contact) {
            attempt.outcome.get_or_insert((outcome, status));
        }
    }

    /// The routing core ended a contact: if it was an agent-first outbound attempt, say how
    /// it went.
    pub(super) fn outbound_contact_ended(&mut self, now: Millis, contact: ContactId) {
        if self.outbound.get(&contact).is_none_or(|a| a.automatic) {
            return;
        }
        if let Some(attempt) = self.outbound.remove(&contact) {
            let result = result_of(attempt.outcome, attempt.dialled);
            self.report_outbound(now, contact, &attempt, result);
        }
    }

    fn report_outbound(
        &mut self,
        now: Millis,
        contact: ContactId,
        attempt: &OutboundAttempt,
        result: OutboundResult,
    ) {
        if attempt.reported {
            return;
        }
        self.call_event(
            now,
            CallEvent::OutboundEnded {
                contact,
                task: attempt.task,
                attempt: attempt.attempt,
                result,
            },
        );
    }

    /// Reports an automatic call's end now (the customer answered, or the dial failed).
    fn report_automatic(&mut self, now: Millis, contact: ContactId, result: OutboundResult) {
        let Some(attempt) = self.outbound.get(&contact).cloned() else {
            return;
        };
        self.report_outbound(now, contact, &attempt, result);
        if let Some(attempt) = self.outbound.get_mut(&contact) {
            attempt.reported = true;
        }
    }

    /// An automatic call is over: its attempt is forgotten (and reported, if that never
    /// happened).
    pub(super) fn automatic_finished(&mut self, now: Millis, contact: ContactId) {
        if !self.outbound.get(&contact).is_some_and(|a| a.automatic) {
            return;
        }
        if let Some(attempt) = self.outbound.remove(&contact) {
            let result = match attempt.predictive {
                // Answered, and gone before an agent came or the apology ended.
                Some(Some(_)) => OutboundResult::HungUp,
                _ => result_of(attempt.outcome, attempt.dialled),
            };
            self.report_outbound(now, contact, &attempt, result);
        }
    }

    /// Whether the call is an automatic outbound call.
    pub(super) fn is_automatic(&self, contact: ContactId) -> bool {
        self.calls
            .get(&contact)
            .is_some_and(|c| c.automatic.is_some())
    }

    /// An automatic call: the customer's leg gets its socket, then is dialled.
    fn place_automatic(
        &mut self,
        now: Millis,
        contact: ContactId,
        call: &OutboundCall,
        queue: QueueId,
        trunk: usize,
    ) {
        let Some(address) = self.config.trunks[trunk].address else {
            self.outbound_not_placed(now, contact, call, "the trunk has no address");
            return;
        };
        let shown = if self.config.outbound.caller_id.is_empty() {
            "hotline".to_string()
        } else {
            self.config.outbound.caller_id.clone()
        };
        let tag = self.tag();
        let invite = self.dial_out_invite(contact, &call.number, &shown, address, &tag);
        let session_id = self.random() >> 1;
        let language = call.language.unwrap_or(self.config.media.language);
        self.calls.insert(
            contact,
            Call {
                target: Target::Queue(queue),
                trunk,
                media: Some(MediaCall::for_automatic(language, session_id)),
                callback: None,
                transfer: None,
                automatic: Some(AutomaticDial::default()),
                caller_txn: None,
                caller_invite: invite,
                caller_peer: Peer {
                    addr: address,
                    transport: Transport::Udp,
                },
                caller_tag: tag,
                caller_dialog: None,
                agent: None,
                forks: Vec::new(),
                fork_rejected: false,
                leftover: Vec::new(),
                profile: ProfileState::Known(call.profile.clone()),
            },
        );
        self.outbound
            .insert(contact, OutboundAttempt::new(call, true));
        // Dialled once the socket is open (`media_opened`).
        self.media(MediaCommand::Open {
            contact,
            leg: LegId::Caller,
        });
        let _ = now;
    }

    /// The customer's leg has its socket: INVITE the customer through the trunk.
    pub(super) fn dial_automatic(&mut self, now: Millis, contact: ContactId) {
        let address = self.config.media.address.to_string();
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some((port, session_id)) = call
            .media
            .as_ref()
            .and_then(|m| Some((m.caller_port?, m.session_id)))
        else {
            return;
        };
        let local = LocalMedia {
            address,
            port,
            session_id,
            session_version: 1,
        };
        call.caller_invite.body = build_offer(&local, &policy()).to_bytes();
        let (invite, peer) = (call.caller_invite.clone(), call.caller_peer);
        let number = invite.uri.user.clone().unwrap_or_default();
        match self.transactions.send_request(now, invite, peer) {
            Ok(txn) => {
                self.by_caller_txn.insert(txn, contact);
                if let Some(call) = self.calls.get_mut(&contact) {
                    call.caller_txn = Some(txn);
                    if let Some(auto) = call.automatic.as_mut() {
                        auto.inviting = true;
                    }
                }
                self.outbound_dialled(contact);
                self.set_phase(contact, Phase::Dialling);
                self.set_deadline(contact, Some(now + self.config.dial_timeout_ms));
                if let Some(attempt) = self.outbound.get(&contact).cloned() {
                    self.call_event(
                        now,
                        CallEvent::OutboundDialling {
                            contact,
                            task: attempt.task,
                            attempt: attempt.attempt,
                            number,
                        },
                    );
                }
            }
            Err(_) => {
                self.outbound_outcome(contact, DialOutcome::Failed, 503);
                self.finish_if_done(now, contact);
            }
        }
    }

    /// No response at all to an automatic call's INVITE (or its 2xx never acknowledged): the
    /// carrier failed the call.
    pub(super) fn automatic_unreachable(&mut self, now: Millis, contact: ContactId) {
        let inviting = self
            .calls
            .get_mut(&contact)
            .and_then(|c| c.automatic.as_mut())
            .map(|auto| std::mem::replace(&mut auto.inviting, false));
        if inviting != Some(true) {
            self.hang_up(now, contact, Side::Caller);
            return;
        }
        self.set_deadline(contact, None);
        self.outbound_outcome(contact, DialOutcome::Failed, 408);
        self.call_event(
            now,
            CallEvent::CallbackDialFailed {
                contact,
                attempt: self.outbound.get(&contact).map_or(0, |a| a.attempt),
                status: 408,
            },
        );
        self.finish_if_done(now, contact);
    }

    /// The customer's phone rang for the whole dial time-out: stop ringing it.
    pub(super) fn automatic_ring_timeout(&mut self, now: Millis, contact: ContactId) {
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some(auto) = call.automatic.as_mut() else {
            return;
        };
        if !auto.inviting {
            return;
        }
        auto.gave_up = true;
        if let Some(txn) = call.caller_txn {
            let _ = self.transactions.cancel(now, txn);
        }
    }

    /// A final response to an automatic call's INVITE: answered, the customer hears the
    /// outbound menu; anything else ends the attempt with its outcome.
    pub(super) fn automatic_response(
        &mut self,
        now: Millis,
        contact: ContactId,
        response: Response,
    ) {
        let status = response.status;
        if status < 200 {
            return;
        }
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let Some(auto) = call.automatic else {
            return;
        };
        let (invite, peer) = (call.caller_invite.clone(), call.caller_peer);
        let answered = call.caller_dialog.clone();
        if !auto.gave_up && self.retry_customer_with_credentials(now, contact, &response) {
            return;
        }
        if let Some(dialog) = answered {
            // A retransmitted 2xx: ACK it again.
            if (200..300).contains(&status) {
                let via = self.via(peer.transport);
                self.transactions
                    .send_stateless(&Message::Request(dialog.ack(&via)), peer);
            }
            return;
        }
        if let Some(auto) = self
            .calls
            .get_mut(&contact)
            .and_then(|c| c.automatic.as_mut())
        {
            auto.inviting = false;
        }
        self.set_deadline(contact, None);
        if !(200..300).contains(&status) {
            let outcome = outcome_of(status, auto.gave_up);
            self.outbound_outcome(contact, outcome, status);
            self.call_event(
                now,
                CallEvent::CallbackDialFailed {
                    contact,
                    attempt: self.outbound.get(&contact).map_or(0, |a| a.attempt),
                    status,
                },
            );
            self.finish_if_done(now, contact);
            return;
        }
        let audio = agent_audio(&response.body);
        let dialog = Dialog::as_uac(&invite, &response).ok();
        let (Some(audio), Some(dialog)) = (audio, dialog) else {
            self.ack_and_bye(now, &invite, peer, &response);
            self.outbound_outcome(contact, DialOutcome::Failed, 488);
            self.finish_if_done(now, contact);
            return;
        };
        self.customer_answered(contact, dialog, peer, &audio);
        self.outbound_outcome(contact, DialOutcome::Connected, status);
        if self
            .outbound
            .get(&contact)
            .is_some_and(|a| a.predictive.is_some())
        {
            self.predictive_answered(now, contact);
            return;
        }
        // The customer is reached: the attempt is done, whatever they choose.
        self.report_automatic(now, contact, OutboundResult::Connected);
        let language = self
            .calls
            .get(&contact)
            .and_then(|c| c.media.as_ref())
            .map_or(self.config.media.language, |m| m.language);
        let menu = self.outbound_menus[usize::from(language == Language::En)];
        self.offer_menu(contact, menu, 0);
    }

    /// A predictive call's customer answered: they join the queue ahead of waiting callers,
    /// hear nothing (no announcement), and an agent must be bridged within
    /// [`ABANDON_AFTER_MS`].
    fn predictive_answered(&mut self, now: Millis, contact: ContactId) {
        let Some(attempt) = self.outbound.get_mut(&contact) else {
            return;
        };
        attempt.predictive = Some(Some(now));
        let (task, attempt) = (attempt.task, attempt.attempt);
        self.call_event(
            now,
            CallEvent::OutboundPacing {
                contact,
                task,
                attempt,
                step: PacingStep::Answered,
            },
        );
        let Some(&Target::Queue(queue)) = self.calls.get(&contact).map(|c| &c.target) else {
            return;
        };
        self.call_event(now, CallEvent::Queued { contact, queue });
        let mut spec = self.contact_spec(contact, queue);
        spec.attributes.urgency = PREDICTIVE_URGENCY;
        if self
            .router
            .handle(Time::from_millis(now), Input::Arrive(spec))
            .is_err()
        {
            self.stats.routing_refusals += 1;
            self.predictive_abandon(now, contact);
            return;
        }
        if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
            media.routed = true;
            media.phase = Phase::Queued;
        }
        self.set_deadline(contact, Some(now + ABANDON_AFTER_MS));
        self.drain_routing(now);
    }

    /// Whether the call is an answered predictive call still waiting for its agent.
    pub(super) fn predictive_waiting(&self, contact: ContactId) -> bool {
        self.outbound
            .get(&contact)
            .is_some_and(|a| matches!(a.predictive, Some(Some(_))) && !a.reported)
    }

    /// No agent was bridged to an answered predictive call within [`ABANDON_AFTER_MS`] (or
    /// the routing core refused it): it leaves the queue (an agent's phone ringing for it
    /// stops), the customer hears the apology and the call ends.
    pub(super) fn predictive_abandon(&mut self, now: Millis, contact: ContactId) {
        self.report_automatic(now, contact, OutboundResult::Abandoned);
        let routed = match self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
            Some(media) => std::mem::replace(&mut media.routed, false),
            None => false,
        };
        self.drop_agent_leg(now, contact);
        if routed {
            self.route(now, Input::Abandon { contact });
        }
        self.say_goodbye(contact, "campaign_sorry");
    }

    /// A predictive call's customer and agent are bridged: the attempt is connected, and the
    /// switch follows the conversation for the pacer (talk and wrap-up times).
    pub(super) fn predictive_connected(&mut self, now: Millis, contact: ContactId) {
        let Some(attempt) = self.outbound.get(&contact) else {
            return;
        };
        if attempt.predictive.is_none() || attempt.reported {
            return;
        }
        let (task, number) = (attempt.task, attempt.attempt);
        self.report_automatic(now, contact, OutboundResult::Connected);
        if let Some(attempt) = self.outbound.get_mut(&contact) {
            // Connected: its end is reported; what follows is the conversation's.
            attempt.predictive = Some(None);
        }
        if self.paced.len() < MAX_PACED_CONVERSATIONS {
            self.paced.insert(contact, (task, number));
        }
    }

    /// The routing core says a conversation (`talk`) or its wrap-up ended: a followed
    /// predictive call's times go to the pacer.
    pub(super) fn paced_step(&mut self, now: Millis, contact: ContactId, step: PacingStep) {
        let Some(&(task, attempt)) = self.paced.get(&contact) else {
            return;
        };
        if matches!(step, PacingStep::WrapEnded(_)) {
            self.paced.remove(&contact);
        }
        self.call_event(
            now,
            CallEvent::OutboundPacing {
                contact,
                task,
                attempt,
                step,
            },
        );
    }

    /// The agents of a queue (by name) for a predictive pacer; `None` for an unknown queue.
    pub fn queue_agents(&self, now: Millis, queue: &str) -> Option<QueueAgents> {
        let routing = self.router.config();
        let queue = routing.queue_id(queue)?;
        let mut agents = QueueAgents {
            at_ms: now,
            idle: self.router.ready_voice_agents(queue),
            ..QueueAgents::default()
        };
        for (index, agent) in routing.agents.iter().enumerate() {
            if !agent.profile.iter().any(|p| p.queue == queue) {
                continue;
            }
            let id = hotline_routing::AgentId(index as u32);
            let since = self.agent_since.get(index).copied().unwrap_or(now);
            match self.router.agent_state(id) {
                Some(AgentState::Reserved | AgentState::OnContact) => {
                    agents.talking_since_ms.push(since)
                }
                Some(AgentState::WrapUp) => agents.wrapping_since_ms.push(since),
                _ => {}
            }
        }
        Some(agents)
    }

    /// The customer of an automatic call chose a later time.
    pub(super) fn callback_later(&mut self, now: Millis, contact: ContactId, after_ms: u64) {
        if let Some(attempt) = self.outbound.get(&contact).cloned() {
            self.call_event(
                now,
                CallEvent::OutboundLater {
                    contact,
                    task: attempt.task,
                    after_ms,
                },
            );
        }
        self.say_goodbye(contact, "auto_later_confirmed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_dial_that_never_left_is_not_placed_and_a_missing_number_is_invalid() {
        assert_eq!(result_of(None, false), OutboundResult::NotPlaced);
        assert_eq!(
            result_of(Some((DialOutcome::Failed, 503)), false),
            OutboundResult::NotPlaced
        );
        assert_eq!(
            result_of(Some((DialOutcome::Failed, 503)), true),
            OutboundResult::Failed(503)
        );
        assert_eq!(
            result_of(Some((DialOutcome::Failed, 404)), true),
            OutboundResult::InvalidNumber
        );
        assert_eq!(
            result_of(Some((DialOutcome::Busy, 486)), true),
            OutboundResult::Busy
        );
        assert_eq!(
            result_of(Some((DialOutcome::Connected, 200)), true),
            OutboundResult::Connected
        );
    }
}
