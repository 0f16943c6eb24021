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
use hotline_routing::{ContactId, ContactKind, DialOutcome, Input, QueueId, Time};
use hotline_sip::Millis;

use super::callback::CallbackTarget;
use super::{CallEvent, CallerProfile, Switch};

/// The most outbound attempts the switch holds at once (queued, ringing an agent, dialling,
/// or connected and not yet reported); further ones are reported not placed.
pub const MAX_OUTBOUND_ATTEMPTS: usize = 10_000;

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
        let queue = self.outbound_queue();
        let (Some(queue), None) = (queue, refusal) else {
            let why = refusal.unwrap_or("no queue for outbound calls");
            self.outbound_not_placed(now, contact, &call, why);
            return;
        };
        let trunk = self.dialling_trunk(0).unwrap_or(0);
        self.callback_targets.insert(
            contact,
            CallbackTarget {
                number: call.number.clone(),
                shown: self.config.outbound.caller_id.clone(),
                trunk,
                language: call.language.unwrap_or(self.config.media.language),
            },
        );
        self.outbound.insert(
            contact,
            OutboundAttempt {
                task: call.task,
                attempt: call.attempt,
                dialled: false,
                outcome: None,
            },
        );
        let mut spec = self.spec_for(contact, queue, call.profile.as_ref());
        spec.kind = ContactKind::Callback;
        spec.max_dials = Some(1);
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

    /// The routing core ended a contact: if it was an outbound attempt, say how it went.
    pub(super) fn outbound_contact_ended(&mut self, now: Millis, contact: ContactId) {
        let Some(attempt) = self.outbound.remove(&contact) else {
            return;
        };
        let result = result_of(attempt.outcome, attempt.dialled);
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
