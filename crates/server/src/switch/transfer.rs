//! Transfers from a menu to an outside number ("for the insurer's claims line, press 4"):
//! hotline keeps the caller, dials the number through a trunk ([`super::Trunk::address`]) on
//! the agent leg's socket, and bridges the two when it answers. The routing core never hears
//! of it: no queue, no agent, no wrap-up.
//!
//! While the number rings the caller hears "transferring" and music on hold. A final failure
//! (busy, declined, unreachable, no answer within [`super::SwitchConfig::dial_timeout_ms`])
//! tells the caller the transfer did not go through and offers the menu again. Once
//! connected the call is like any other: either side's BYE ends both, re-INVITEs (hold) are
//! handled per leg, the conversation is recorded if configured.

use hotline_media::call::LegId;
use hotline_routing::ContactId;
use hotline_sip::{Dialog, Message, Millis, Peer, Response, TransactionId, Transport};

use super::media::{agent_audio, MediaCommand, Phase};
use super::{AgentLeg, AgentLegState, CallEvent, Side, Switch};

/// The longest outside number a menu may transfer to.
pub const MAX_TRANSFER_NUMBER: usize = 32;

/// Whether `number` can be dialled: digits, `*` and `#`, with at most a leading `+`.
pub fn valid_transfer_number(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    !digits.is_empty()
        && number.len() <= MAX_TRANSFER_NUMBER
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

/// A transfer in progress.
pub(super) struct TransferDial {
    /// The outside number.
    number: String,
    /// The menu offered again if the transfer fails.
    menu: usize,
    /// The trunk it goes out through.
    trunk: usize,
}

impl Switch {
    /// A menu key transfers the caller to `number`.
    pub(super) fn start_transfer(
        &mut self,
        now: Millis,
        contact: ContactId,
        menu: usize,
        number: String,
    ) {
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let Some(trunk) = self.dialling_trunk(call.trunk) else {
            // The configuration check refuses transfers without a dialling trunk.
            self.transfer_failed(now, contact, &number, menu, 503);
            return;
        };
        let language = call
            .media
            .as_ref()
            .map_or(self.config.media.language, |m| m.language);
        let has_socket = call.media.as_ref().is_some_and(|m| m.agent_port.is_some());
        if let Some(call) = self.calls.get_mut(&contact) {
            call.transfer = Some(TransferDial {
                number: number.clone(),
                menu,
                trunk,
            });
        }
        self.call_event(
            now,
            CallEvent::TransferDialling {
                contact,
                number,
                trunk: self.config.trunks[trunk].name.clone(),
            },
        );
        self.set_phase(contact, Phase::Transferring);
        self.set_deadline(contact, Some(now + self.config.dial_timeout_ms));
        self.media(MediaCommand::Play {
            contact,
            leg: LegId::Caller,
            prompts: vec![format!("{}/transferring", language.prefix())],
            moh: true,
        });
        if has_socket {
            self.dial_transfer(now, contact);
        } else {
            // Dialled once the socket is open (`media_opened`).
            self.open_agent_leg(contact);
        }
    }

    /// A transfer waits for the agent leg's socket to dial.
    pub(super) fn transfer_waiting(&self, contact: ContactId) -> bool {
        self.calls
            .get(&contact)
            .is_some_and(|c| c.transfer.is_some() && c.agent.is_none())
            && self.phase_of(contact) == Some(Phase::Transferring)
    }

    /// INVITEs the outside number, from the caller's number.
    pub(super) fn dial_transfer(&mut self, now: Millis, contact: ContactId) {
        let Some(offer) = self.agent_offer(contact) else {
            return;
        };
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let Some(transfer) = call.transfer.as_ref() else {
            return;
        };
        let (number, menu) = (transfer.number.clone(), transfer.menu);
        let Some(address) = self.config.trunks[transfer.trunk].address else {
            return;
        };
        let caller = call
            .caller_invite
            .headers
            .from()
            .and_then(|f| f.uri.user.clone())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "anonymous".into());
        let tag = self.tag();
        let mut invite = self.dial_out_invite(contact, &number, &caller, address, &tag);
        invite.body = offer;
        let peer = Peer {
            addr: address,
            transport: Transport::Udp,
        };
        match self.transactions.send_request(now, invite.clone(), peer) {
            Ok(txn) => {
                self.by_agent_txn.insert(txn, contact);
                if let Some(call) = self.calls.get_mut(&contact) {
                    call.agent = Some(AgentLeg {
                        agent: None,
                        txn,
                        invite,
                        peer,
                        state: AgentLegState::Ringing,
                        dialog: None,
                    });
                }
            }
            Err(_) => self.transfer_failed(now, contact, &number, menu, 503),
        }
    }

    /// Whether `txn` is the INVITE of a transfer still waiting for its answer, or answered.
    pub(super) fn is_transfer_leg(&self, contact: ContactId, txn: TransactionId) -> bool {
        self.calls
            .get(&contact)
            .is_some_and(|c| c.transfer.is_some() && c.agent.as_ref().is_some_and(|l| l.txn == txn))
    }

    /// A final response to the transfer's INVITE.
    pub(super) fn transfer_response(
        &mut self,
        now: Millis,
        contact: ContactId,
        response: Response,
    ) {
        let status = response.status;
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        let Some(transfer) = call.transfer.as_ref() else {
            return;
        };
        let (number, menu, trunk) = (transfer.number.clone(), transfer.menu, transfer.trunk);
        if matches!(status, 401 | 407) {
            let Some(leg) = call.agent.as_ref() else {
                return;
            };
            let (invite, peer) = (leg.invite.clone(), leg.peer);
            if let Some((txn, retry)) =
                self.retry_with_credentials(now, trunk, &invite, peer, &response)
            {
                self.by_agent_txn.insert(txn, contact);
                if let Some(leg) = self.calls.get_mut(&contact).and_then(|c| c.agent.as_mut()) {
                    leg.txn = txn;
                    leg.invite = retry;
                }
                return;
            }
        }
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        if !(200..300).contains(&status) {
            call.agent = None;
            self.transfer_failed(now, contact, &number, menu, status);
            return;
        }
        let Some(leg) = call.agent.as_mut() else {
            return;
        };
        if let Some(dialog) = leg.dialog.clone() {
            // A retransmitted 2xx: ACK it again.
            let peer = leg.peer;
            let via = self.via(peer.transport);
            self.transactions
                .send_stateless(&Message::Request(dialog.ack(&via)), peer);
            return;
        }
        let audio = agent_audio(&response.body);
        let dialog = Dialog::as_uac(&leg.invite, &response).ok();
        let (Some(audio), Some(dialog)) = (audio, dialog) else {
            // Answered with no audio we can relay: hang it up, the transfer failed.
            if let Some(leg) = call.agent.take() {
                self.ack_and_bye(now, &leg.invite, leg.peer, &response);
            }
            self.transfer_failed(now, contact, &number, menu, 488);
            return;
        };
        let peer = leg.peer;
        let via = self.via(peer.transport);
        self.transactions
            .send_stateless(&Message::Request(dialog.ack(&via)), peer);
        self.by_dialog
            .insert(dialog.id.clone(), (contact, Side::Agent));
        if let Some(leg) = self.calls.get_mut(&contact).and_then(|c| c.agent.as_mut()) {
            leg.dialog = Some(dialog);
            leg.state = AgentLegState::Connected;
        }
        self.media_connect(contact, &audio);
        self.stats.transferred += 1;
        self.call_event(now, CallEvent::TransferConnected { contact, number });
    }

    /// The transfer cannot go on (no response at all: 408; no socket: 503); a leg still
    /// ringing is cancelled.
    pub(super) fn transfer_abort(&mut self, now: Millis, contact: ContactId, status: u16) {
        let Some(call) = self.calls.get(&contact) else {
            return;
        };
        let Some(transfer) = call.transfer.as_ref() else {
            return;
        };
        let (number, menu) = (transfer.number.clone(), transfer.menu);
        // A cancelled leg waits in `leftover` for its 487 (or a 2xx that crossed).
        self.drop_agent_leg(now, contact);
        self.transfer_failed(now, contact, &number, menu, status);
    }

    /// The outside number rang for the whole dial time-out: cancel it.
    pub(super) fn transfer_ring_timeout(&mut self, now: Millis, contact: ContactId) {
        let caller_here = self
            .calls
            .get(&contact)
            .is_some_and(|c| c.caller_dialog.is_some());
        if caller_here {
            self.transfer_abort(now, contact, 487);
        }
    }

    /// The transfer did not connect: the caller hears so, then the menu again.
    fn transfer_failed(
        &mut self,
        now: Millis,
        contact: ContactId,
        number: &str,
        menu: usize,
        status: u16,
    ) {
        self.call_event(
            now,
            CallEvent::TransferFailed {
                contact,
                number: number.to_string(),
                status,
            },
        );
        let Some(call) = self.calls.get_mut(&contact) else {
            return;
        };
        call.transfer = None;
        let language = call
            .media
            .as_ref()
            .map_or(self.config.media.language, |m| m.language);
        if call.caller_dialog.is_none() {
            return;
        }
        // `Info` offers the menu again when the prompt ends.
        self.set_phase(contact, Phase::Info { menu });
        self.set_deadline(contact, None);
        self.media(MediaCommand::Play {
            contact,
            leg: LegId::Caller,
            prompts: vec![format!("{}/transfer_failed", language.prefix())],
            moh: false,
        });
    }
}
