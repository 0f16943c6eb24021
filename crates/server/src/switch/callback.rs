//! Callbacks dialled out: the caller who chose a callback (or whose queue's maximum wait made
//! it one) keeps its place in the routing core; when its turn comes the agent's phone rings
//! first ("回拨 callback 138…"), and once the agent answers hotline dials the customer through
//! a trunk and bridges the two. The agent hears a short prompt, then silence, never the
//! customer's ringing.
//!
//! The routing core drives it: [`RoutingEvent::OfferCreated`] of a callback →
//! [`Switch::start_callback`] (a new call: both sockets, then the agent rings); the agent
//! answers → `Accept` → [`RoutingEvent::CallbackDialRequested`] → [`Switch::dial_customer`]
//! (INVITE with our offer to the trunk's address) → the customer's final response is the
//! dial's [`DialOutcome`] ([`Input::CallbackResult`]): answered, busy (486/600), rejected
//! (603), no answer (408/480/487, or [`SwitchConfig::dial_timeout_ms`] of ringing), failed
//! (anything else, no response at all, an answer without usable audio). A failed dial takes
//! the agent's phone down first, then tells the routing core, which retries by its policy.
//!
//! Callbacks need anchored media and a trunk with an address; without them the offer is
//! taken without ringing anyone and the dial is reported failed with the reason
//! ([`CallEvent::CallbackNotDialled`]), so no agent is blamed as unreachable.
//!
//! [`RoutingEvent::OfferCreated`]: hotline_routing::Event::OfferCreated
//! [`RoutingEvent::CallbackDialRequested`]: hotline_routing::Event::CallbackDialRequested
//! [`SwitchConfig::dial_timeout_ms`]: super::SwitchConfig::dial_timeout_ms

use std::net::SocketAddr;

use hotline_media::announce::Language;
use hotline_media::call::LegId;
use hotline_media::sdp::{build_offer, LocalMedia, NegotiatedAudio};
use hotline_routing::{AgentId, ContactId, DialOutcome, Input, QueueId};
use hotline_sip::{client_authorization, DigestParams, Scheme, TransactionId, Transport, Uri};
use hotline_sip::{Dialog, Headers, Message, Method, Millis, Params, Peer, Request, Response};

use super::media::{agent_audio, policy, setup_of, MediaCall, MediaCommand, Phase};
use super::{AgentLegState, Call, CallEvent, Side, Switch, Target};

/// The most callbacks whose number the switch keeps (the routing core bounds them too).
pub const MAX_CALLBACK_TARGETS: usize = 1_000_000;

/// Whom a callback dials, taken from the call that asked for it.
#[derive(Clone, Debug)]
pub(super) struct CallbackTarget {
    /// The customer's number (the caller's From user).
    pub(super) number: String,
    /// The number the customer called, shown as ours on the callback.
    pub(super) shown: String,
    /// The trunk the call came in on.
    pub(super) trunk: usize,
    /// The caller's language (from the menu it chose).
    pub(super) language: Language,
}

/// A callback call in progress.
pub(super) struct CallbackDial {
    /// The reserved agent.
    agent: AgentId,
    /// The customer's number.
    pub(super) number: String,
    /// 1 for the first dial; 0 until dialled.
    attempt: u32,
    /// The customer's INVITE waits for its final response.
    inviting: bool,
    /// hotline gave up ringing (the CANCEL's 487 is a no-answer).
    gave_up: bool,
    /// The routing core has this dial's result.
    reported: bool,
}

impl CallbackDial {
    /// The customer's INVITE is still out: the call must stay to see its end.
    pub(super) fn is_busy(&self) -> bool {
        self.inviting
    }
}

/// What a final response to the customer's INVITE means for the routing core.
pub(super) fn outcome_of(status: u16, gave_up: bool) -> DialOutcome {
    match status {
        _ if gave_up => DialOutcome::NoAnswer,
        486 | 600 => DialOutcome::Busy,
        603 => DialOutcome::Rejected,
        408 | 480 | 487 => DialOutcome::NoAnswer,
        _ => DialOutcome::Failed,
    }
}

impl Switch {
    /// Whether queued callers are offered the callback key.
    pub(super) fn offers_callbacks(&self) -> bool {
        self.config.media.enabled
            && self.config.media.callback_digit.is_some()
            && self.config.trunks.iter().any(|t| t.address.is_some())
    }

    /// The trunk a call placed for a contact goes out through: the one it came in on if that
    /// one dials out, else the first that does.
    pub(super) fn dialling_trunk(&self, preferred: usize) -> Option<usize> {
        let own = self
            .config
            .trunks
            .get(preferred)
            .filter(|t| t.address.is_some())
            .map(|_| preferred);
        own.or_else(|| self.config.trunks.iter().position(|t| t.address.is_some()))
    }

    /// The trunk a callback goes out through, or why it cannot be dialled.
    fn callback_trunk(&self, contact: ContactId) -> Result<usize, &'static str> {
        if !self.config.media.enabled {
            return Err("callbacks need anchored media ([media] enabled)");
        }
        let target = self
            .callback_targets
            .get(&contact)
            .ok_or("no number to call back")?;
        let trunk = self
            .dialling_trunk(target.trunk)
            .ok_or("no trunk dials out (give a trunk an address)")?;
        if self.calls.len() >= self.config.max_calls {
            return Err("the call limit is reached");
        }
        Ok(trunk)
    }

    /// The routing core made a contact a callback: remember whom to dial. A caller the
    /// queue's maximum wait turned into a callback is told so and let go.
    pub(super) fn callback_promised(&mut self, now: Millis, contact: ContactId, chosen: bool) {
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        if call.callback.is_some() {
            return;
        }
        let number = call
            .caller_invite
            .headers
            .from()
            .and_then(|f| f.uri.user.clone())
            .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("anonymous"));
        let target = number.map(|number| CallbackTarget {
            number,
            shown: call.caller_invite.uri.user.clone().unwrap_or_default(),
            trunk: call.trunk,
            language: call
                .media
                .as_ref()
                .map_or(self.config.media.language, |m| m.language),
        });
        let with_media = call.media.is_some();
        if let Some(target) = target {
            if self.callback_targets.len() < MAX_CALLBACK_TARGETS {
                self.callback_targets.insert(contact, target);
            }
        }
        if chosen {
            return;
        }
        if with_media {
            if let Some(media) = self.calls.get_mut(&contact).and_then(|c| c.media.as_mut()) {
                media.routed = false;
            }
            if self.phase_of(contact) == Some(Phase::Queued) {
                self.say_goodbye(contact, "callback_confirmed");
            }
        } else {
            self.end_unanswered(
                now,
                contact,
                480,
                "Temporarily Unavailable (we will call you back)",
            );
        }
    }

    /// The routing core offers a callback to `agent`: a new call whose agent leg rings first.
    pub(super) fn start_callback(
        &mut self,
        now: Millis,
        contact: ContactId,
        agent: AgentId,
        queue: QueueId,
    ) {
        if self.calls.contains_key(&contact) {
            // The caller still hears the goodbye: begin when that call has ended.
            self.deferred_callbacks.insert(contact, (agent, queue));
            return;
        }
        let Ok(trunk) = self.callback_trunk(contact) else {
            // Take the offer without ringing anyone; `dial_customer` reports why it failed.
            self.route(now, Input::Accept { agent, contact });
            return;
        };
        let Some(target) = self.callback_targets.get(&contact).cloned() else {
            return;
        };
        let Some(address) = self.config.trunks[trunk].address else {
            return;
        };
        let peer = Peer {
            addr: address,
            transport: Transport::Udp,
        };
        let tag = self.tag();
        let invite = self.customer_invite(contact, &target, address, &tag);
        let session_id = self.random() >> 1;
        let language = target.language;
        self.calls.insert(
            contact,
            Call {
                target: Target::Queue(queue),
                trunk,
                media: Some(MediaCall::for_callback(language, agent, session_id)),
                automatic: None,
                callback: Some(CallbackDial {
                    agent,
                    number: target.number.clone(),
                    attempt: 0,
                    inviting: false,
                    gave_up: false,
                    reported: false,
                }),
                transfer: None,
                caller_txn: None,
                caller_invite: invite,
                caller_peer: peer,
                caller_tag: tag,
                caller_dialog: None,
                agent: None,
                forks: Vec::new(),
                fork_rejected: false,
                leftover: Vec::new(),
                profile: super::ProfileState::Known(None),
            },
        );
        // Both sockets; the agent rings once its own is open (`media_opened`).
        self.media(MediaCommand::Open {
            contact,
            leg: LegId::Caller,
        });
        self.open_agent_leg(contact);
    }

    /// The INVITE to the customer, without its SDP (added when dialled).
    fn customer_invite(
        &mut self,
        contact: ContactId,
        target: &CallbackTarget,
        address: SocketAddr,
        tag: &str,
    ) -> Request {
        let shown = if target.shown.is_empty() {
            "hotline".to_string()
        } else {
            target.shown.clone()
        };
        self.dial_out_invite(contact, &target.number, &shown, address, tag)
    }

    /// An INVITE to `number` through a trunk at `address`, from `from_user` at our realm, SDP
    /// to be added (callbacks and menu transfers).
    pub(super) fn dial_out_invite(
        &mut self,
        contact: ContactId,
        number: &str,
        from_user: &str,
        address: SocketAddr,
        tag: &str,
    ) -> Request {
        let uri = Uri {
            scheme: Scheme::Sip,
            user: Some(number.to_string()),
            host: match address {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            },
            port: Some(address.port()),
            params: Params::default(),
            headers: Vec::new(),
        };
        let from = Uri {
            user: Some(from_user.to_string()),
            host: self.config.realm.clone(),
            port: None,
            ..uri.clone()
        };
        let call_id = format!("{:016x}@hotline", self.random());
        let via = self.via(Transport::Udp);
        let mut headers = Headers::default();
        headers.push("Via", via);
        headers.push("Max-Forwards", "70");
        headers.push("From", format!("<{from}>;tag={tag}"));
        headers.push("To", format!("<{uri}>"));
        headers.push("Call-ID", call_id);
        headers.push("CSeq", "1 INVITE");
        headers.push("Contact", self.contact());
        headers.push("X-Hotline-Contact", contact.0.to_string());
        headers.push("Content-Type", "application/sdp");
        Request {
            method: Method::Invite,
            uri,
            headers,
            body: Vec::new(),
        }
    }

    /// A call placed through `trunk` got 401/407: sends the same INVITE once more (CSeq + 1,
    /// a new branch) with digest credentials for the challenge, and returns its transaction
    /// and the INVITE for the caller to keep. `None` when the trunk has no credentials, the
    /// challenge cannot be answered, this INVITE already carried them (a second challenge is
    /// a refusal), or the retry cannot be sent.
    pub(super) fn retry_with_credentials(
        &mut self,
        now: Millis,
        trunk: usize,
        invite: &Request,
        peer: Peer,
        response: &Response,
    ) -> Option<(TransactionId, Request)> {
        let (challenge_header, credentials_header) = match response.status {
            401 => ("WWW-Authenticate", "Authorization"),
            407 => ("Proxy-Authenticate", "Proxy-Authorization"),
            _ => return None,
        };
        let auth = self.config.trunks.get(trunk)?.auth.clone()?;
        if invite.headers.get("Authorization").is_some()
            || invite.headers.get("Proxy-Authorization").is_some()
        {
            return None;
        }
        let uri = invite.uri.to_string();
        let cnonce = format!("{:016x}", self.random());
        let value = response
            .headers
            .get_all(challenge_header)
            .into_iter()
            .filter_map(|v| DigestParams::parse(v).ok())
            .find_map(|challenge| {
                client_authorization(
                    &challenge,
                    &auth.username,
                    &auth.password,
                    "INVITE",
                    &uri,
                    &cnonce,
                )
            })?;
        let seq = invite.headers.cseq()?.seq.checked_add(1)?;
        let mut retry = invite.clone();
        retry.headers.remove("Via");
        retry.headers.remove("CSeq");
        let via = self.via(Transport::Udp);
        retry.headers.push("Via", via);
        retry.headers.push("CSeq", format!("{seq} INVITE"));
        retry.headers.push(credentials_header, value);
        let txn = self
            .transactions
            .send_request(now, retry.clone(), peer)
            .ok()?;
        Some((txn, retry))
    }

    /// The customer hotline dialled answered with usable audio: ACK, the dialog becomes the
    /// caller leg's, and its media is set up.
    pub(super) fn customer_answered(
        &mut self,
        contact: ContactId,
        dialog: Dialog,
        peer: Peer,
        audio: &NegotiatedAudio,
    ) {
        let via = self.via(peer.transport);
        self.transactions
            .send_stateless(&Message::Request(dialog.ack(&via)), peer);
        self.by_dialog
            .insert(dialog.id.clone(), (contact, Side::Caller));
        if let Some(call) = self.calls.get_mut(&contact) {
            call.caller_dialog = Some(dialog);
        }
        self.media(MediaCommand::SetLeg {
            contact,
            leg: LegId::Caller,
            setup: setup_of(audio),
        });
    }

    /// A 401/407 to the INVITE of a customer hotline dials: sends it again with the trunk's
    /// credentials ([`Switch::retry_with_credentials`]); answers whether it did (the call
    /// then waits for the new INVITE's response).
    pub(super) fn retry_customer_with_credentials(
        &mut self,
        now: Millis,
        contact: ContactId,
        response: &Response,
    ) -> bool {
        if !matches!(response.status, 401 | 407) {
            return false;
        }
        let Some(call) = self.calls.get(&contact) else {
            return false;
        };
        let (invite, trunk, peer) = (call.caller_invite.clone(), call.trunk, call.caller_peer);
        let Some((txn, retry)) = self.retry_with_credentials(now, trunk, &invite, peer, response)
        else {
            return false;
        };
        self.by_caller_txn.insert(txn, contact);
        if let Some(call) = self.calls.get_mut(&contact) {
            call.caller_txn = Some(txn);
            call.caller_invite = retry;
        }
        true
    }

    /// The agent of a callback answered: it hears that the customer is being dialled.
    pub(super) fn callback_agent_answered(&mut self, contact: ContactId, audio: &NegotiatedAudio) {
        self.media(MediaCommand::SetLeg {
            contact,
            leg: LegId::Agent,
            setup: setup_of(audio),
        });
        let language = self.config.media.language;
        self.media(MediaCommand::Play {
            contact,
            leg: LegId::Agent,
            prompts: vec![format!("{}/callback_dialling", language.prefix())],
            moh: false,
        });
    }

    /// The routing core asks for the dial: INVITE the customer through the trunk.
    pub(super) fn dial_customer(&mut self, now: Millis, contact: ContactId, attempt: u32) {
        let address = self.config.media.address.to_string();
        let ready = self.calls.get(&contact).and_then(|c| {
            let port = c.media.as_ref()?.caller_port?;
            let session_id = c.media.as_ref()?.session_id;
            let agent_on_line = c
                .agent
                .as_ref()
                .is_some_and(|l| l.state == AgentLegState::Connected);
            (c.callback.is_some() && agent_on_line).then_some((port, session_id))
        });
        let Some((port, session_id)) = ready else {
            let why = match self.callback_trunk(contact) {
                Err(why) => why,
                Ok(_) => "the agent's leg is gone",
            };
            self.not_dialled(now, contact, attempt, why);
            return;
        };
        let local = LocalMedia {
            address,
            port,
            session_id,
            session_version: 1,
        };
        let offer = build_offer(&local, &policy()).to_bytes();
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        call.caller_invite.body = offer;
        let (invite, peer, trunk) = (call.caller_invite.clone(), call.caller_peer, call.trunk);
        match self.transactions.send_request(now, invite, peer) {
            Ok(txn) => {
                self.by_caller_txn.insert(txn, contact);
                let Some(call) = self.calls.get_mut(&contact) else {
                    return;
                };
                call.caller_txn = Some(txn);
                let Some(callback) = call.callback.as_mut() else {
                    return;
                };
                callback.attempt = attempt;
                callback.inviting = true;
                let (agent, number) = (callback.agent, callback.number.clone());
                self.outbound_dialled(contact);
                self.set_phase(contact, Phase::Dialling);
                let deadline = now + self.config.dial_timeout_ms;
                self.set_deadline(contact, Some(deadline));
                self.call_event(
                    now,
                    CallEvent::CallbackDialling {
                        contact,
                        agent,
                        attempt,
                        number,
                        trunk: self.config.trunks[trunk].name.clone(),
                    },
                );
            }
            Err(_) => {
                self.drop_agent_leg(now, contact);
                self.not_dialled(now, contact, attempt, "too many transactions");
                self.finish_if_done(now, contact);
            }
        }
    }

    /// Reports a dial that never went out.
    fn not_dialled(&mut self, now: Millis, contact: ContactId, attempt: u32, why: &str) {
        self.call_event(
            now,
            CallEvent::CallbackNotDialled {
                contact,
                attempt,
                why: why.to_string(),
            },
        );
        if let Some(callback) = self
            .calls
            .get_mut(&contact)
            .and_then(|c| c.callback.as_mut())
        {
            callback.reported = true;
        }
        self.outbound_outcome(contact, DialOutcome::Failed, 503);
        self.route(
            now,
            Input::CallbackResult {
                contact,
                outcome: DialOutcome::Failed,
            },
        );
    }

    /// Tells the routing core how the dial ended (the final status: 0 when the agent hung up
    /// before the customer answered), once.
    pub(super) fn report_dial(
        &mut self,
        now: Millis,
        contact: ContactId,
        outcome: DialOutcome,
        status: u16,
    ) {
        let Some(callback) = self
            .calls
            .get_mut(&contact)
            .and_then(|c| c.callback.as_mut())
        else {
            return;
        };
        if callback.reported {
            return;
        }
        callback.reported = true;
        self.outbound_outcome(contact, outcome, status);
        self.route(now, Input::CallbackResult { contact, outcome });
    }

    /// The dial was made and its result is not reported yet.
    pub(super) fn callback_unreported(&self, contact: ContactId) -> bool {
        self.calls
            .get(&contact)
            .and_then(|c| c.callback.as_ref())
            .is_some_and(|cb| cb.attempt > 0 && !cb.reported)
    }

    /// The customer's INVITE is out and has no final response.
    pub(super) fn is_dialling_customer(&self, contact: ContactId) -> bool {
        self.calls
            .get(&contact)
            .and_then(|c| c.callback.as_ref())
            .is_some_and(|cb| cb.inviting)
    }

    /// Stops ringing the customer (the CANCEL's 487 ends the INVITE).
    pub(super) fn cancel_customer(&mut self, now: Millis, contact: ContactId) {
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        if !call.callback.as_ref().is_some_and(|cb| cb.inviting) {
            return;
        }
        if let Some(txn) = call.caller_txn {
            let _ = self.transactions.cancel(now, txn);
        }
    }

    /// The customer's phone rang for the whole dial time-out.
    pub(super) fn customer_ring_timeout(&mut self, now: Millis, contact: ContactId) {
        if self.is_automatic(contact) {
            self.automatic_ring_timeout(now, contact);
            return;
        }
        if let Some(callback) = self
            .calls
            .get_mut(&contact)
            .and_then(|c| c.callback.as_mut())
        {
            callback.gave_up = true;
        }
        self.cancel_customer(now, contact);
    }

    /// No response at all to the customer's INVITE.
    pub(super) fn customer_unreachable(&mut self, now: Millis, contact: ContactId) {
        self.customer_failed(now, contact, 408, DialOutcome::Failed);
    }

    /// The customer's leg ended without a conversation: the agent's phone is hung up first,
    /// then the routing core hears the outcome (so the agent is free only once its phone is).
    fn customer_failed(
        &mut self,
        now: Millis,
        contact: ContactId,
        status: u16,
        outcome: DialOutcome,
    ) {
        let Some(callback) = self
            .calls
            .get_mut(&contact)
            .and_then(|c| c.callback.as_mut())
        else {
            return;
        };
        callback.inviting = false;
        let (attempt, reported) = (callback.attempt, callback.reported);
        self.set_deadline(contact, None);
        self.call_event(
            now,
            CallEvent::CallbackDialFailed {
                contact,
                attempt,
                status,
            },
        );
        if !reported {
            self.drop_agent_leg(now, contact);
            self.report_dial(now, contact, outcome, status);
        }
        self.finish_if_done(now, contact);
    }

    /// A final response to the customer's INVITE.
    pub(super) fn customer_response(
        &mut self,
        now: Millis,
        contact: ContactId,
        response: Response,
    ) {
        let status = response.status;
        if status < 200 {
            return;
        }
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some(callback) = call.callback.as_ref() else {
            return;
        };
        if !callback.gave_up && self.retry_customer_with_credentials(now, contact, &response) {
            return;
        }
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some(callback) = call.callback.as_mut() else {
            return;
        };
        if !(200..300).contains(&status) {
            let outcome = outcome_of(status, callback.gave_up);
            self.customer_failed(now, contact, status, outcome);
            return;
        }
        if let Some(dialog) = call.caller_dialog.clone() {
            // A retransmitted 2xx: ACK it again.
            let peer = call.caller_peer;
            let via = self.via(peer.transport);
            self.transactions
                .send_stateless(&Message::Request(dialog.ack(&via)), peer);
            return;
        }
        callback.inviting = false;
        let wanted = !callback.reported
            && call
                .agent
                .as_ref()
                .is_some_and(|l| l.state == AgentLegState::Connected);
        let agent = callback.agent;
        let (invite, peer) = (call.caller_invite.clone(), call.caller_peer);
        let audio = if wanted {
            agent_audio(&response.body)
        } else {
            None
        };
        let dialog = Dialog::as_uac(&invite, &response).ok();
        let (Some(audio), Some(dialog)) = (audio, dialog) else {
            // Answered too late (the agent hung up, hotline gave up) or with no audio we can
            // relay: hang the customer up.
            self.ack_and_bye(now, &invite, peer, &response);
            if wanted {
                self.customer_failed(now, contact, 488, DialOutcome::Failed);
            } else {
                self.finish_if_done(now, contact);
            }
            return;
        };
        self.customer_answered(contact, dialog, peer, &audio);
        self.bridge(contact);
        self.stats.connected += 1;
        self.call_event(now, CallEvent::Connected { contact, agent });
        self.report_dial(now, contact, DialOutcome::Connected, 200);
    }
}
