//! The routing core's events as event-log rows, and back.
//!
//! Rows name queues and agents by their configured names (ids are indexes into one
//! configuration and would not survive a change to it). Kinds are dotted names
//! (`contact.queued`, `offer.created`, `agent.state` …); the `data` column holds the rest of
//! the event as JSON. [`decode`] needs the configuration to turn names back into ids.

use std::time::Duration;

use hotline_routing::{
    AgentId, AgentState, ContactId, ContactKind, DialOutcome, Event, OfferEndReason, Outcome,
    QueueId, ReasonCode, RoutingConfig, Time,
};
use serde_json::{json, Value};

use crate::event::{NewEvent, StoredEvent};

/// A row that is not a routing event this configuration can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {seq} ({kind}): {message}")]
pub struct DecodeError {
    /// The row's sequence number.
    pub seq: i64,
    /// The row's kind.
    pub kind: String,
    /// What is wrong.
    pub message: String,
}

fn kind_name(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::Call => "call",
        ContactKind::Callback => "callback",
        ContactKind::Chat => "chat",
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Answered => "answered",
        Outcome::Abandoned => "abandoned",
        Outcome::Overflowed => "overflowed",
        Outcome::Refused => "refused",
        Outcome::CallbackFailed => "callback_failed",
        Outcome::Cancelled => "cancelled",
    }
}

fn offer_end_name(reason: OfferEndReason) -> &'static str {
    match reason {
        OfferEndReason::Rejected => "rejected",
        OfferEndReason::TimedOut => "timed_out",
        OfferEndReason::Unreachable => "unreachable",
        OfferEndReason::AgentUnavailable => "agent_unavailable",
        OfferEndReason::ContactGone => "contact_gone",
    }
}

fn dial_name(outcome: DialOutcome) -> &'static str {
    match outcome {
        DialOutcome::Connected => "connected",
        DialOutcome::NoAnswer => "no_answer",
        DialOutcome::Busy => "busy",
        DialOutcome::Rejected => "rejected",
        DialOutcome::Failed => "failed",
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The name of a not-ready reason: built-in ones first, then the configuration's.
pub fn reason_name(config: &RoutingConfig, reason: ReasonCode) -> String {
    ReasonCode::BUILT_IN
        .get(reason.index())
        .map(|s| s.to_string())
        .or_else(|| {
            config
                .extra_reasons
                .get(reason.index() - ReasonCode::BUILT_IN.len())
                .cloned()
        })
        .unwrap_or_else(|| format!("reason-{}", reason.0))
}

/// The log row for a routing event that happened at `at`.
pub fn encode(config: &RoutingConfig, at: Time, event: &Event) -> NewEvent {
    let queue_name = |q: QueueId| config.queues[q.index()].name.clone();
    let agent_name = |a: AgentId| config.agents[a.index()].name.clone();
    let at_ms = at.as_millis() as i64;
    let row = |kind: &str| NewEvent::new(at_ms, kind);
    match *event {
        Event::ContactQueued {
            contact,
            queue,
            kind,
            enqueued_at,
        } => row("contact.queued")
            .with_contact(contact.0 as i64)
            .with_queue(queue_name(queue))
            .with_data(json!({"kind": kind_name(kind), "enqueued_at_ms": enqueued_at.as_millis()})),
        Event::StepReached {
            contact,
            queue,
            step,
        } => row("contact.step")
            .with_contact(contact.0 as i64)
            .with_queue(queue_name(queue))
            .with_data(json!({"step": step})),
        Event::CallbackOffered { contact, queue } => row("callback.offered")
            .with_contact(contact.0 as i64)
            .with_queue(queue_name(queue)),
        Event::CallbackPromised {
            contact,
            queue,
            chosen,
        } => row("callback.promised")
            .with_contact(contact.0 as i64)
            .with_queue(queue_name(queue))
            .with_data(json!({"chosen": chosen})),
        Event::ContactOverflowed { contact, from, to } => row("contact.overflowed")
            .with_contact(contact.0 as i64)
            .with_queue(queue_name(from))
            .with_data(json!({"to": to.map(queue_name)})),
        Event::OfferCreated {
            contact,
            agent,
            queue,
            kind,
        } => row("offer.created")
            .with_contact(contact.0 as i64)
            .with_agent(agent_name(agent))
            .with_queue(queue_name(queue))
            .with_data(json!({"kind": kind_name(kind)})),
        Event::OfferEnded {
            contact,
            agent,
            reason,
        } => row("offer.ended")
            .with_contact(contact.0 as i64)
            .with_agent(agent_name(agent))
            .with_data(json!({"reason": offer_end_name(reason)})),
        Event::CallbackDialRequested {
            contact,
            agent,
            attempt,
        } => row("callback.dial_requested")
            .with_contact(contact.0 as i64)
            .with_agent(agent_name(agent))
            .with_data(json!({"attempt": attempt})),
        Event::CallbackAttemptFailed {
            contact,
            agent,
            attempt,
            outcome,
            retry_at,
        } => row("callback.attempt_failed")
            .with_contact(contact.0 as i64)
            .with_agent(agent_name(agent))
            .with_data(json!({
                "attempt": attempt,
                "outcome": dial_name(outcome),
                "retry_at_ms": retry_at.map(Time::as_millis),
            })),
        Event::ContactEnded {
            contact,
            queue,
            kind,
            outcome,
            waited,
            agent,
        } => {
            let mut r = row("contact.ended")
                .with_contact(contact.0 as i64)
                .with_queue(queue_name(queue))
                .with_data(json!({
                    "kind": kind_name(kind),
                    "outcome": outcome_name(outcome),
                    "waited_ms": ms(waited),
                }));
            if let Some(agent) = agent {
                r = r.with_agent(agent_name(agent));
            }
            r
        }
        Event::ContactCompleted {
            contact,
            agent,
            queue,
            talk,
        } => row("contact.completed")
            .with_contact(contact.0 as i64)
            .with_agent(agent_name(agent))
            .with_queue(queue_name(queue))
            .with_data(json!({"talk_ms": ms(talk)})),
        Event::WrapUpEnded {
            contact,
            agent,
            queue,
            talk,
            wrap_up,
        } => row("wrapup.ended")
            .with_contact(contact.0 as i64)
            .with_agent(agent_name(agent))
            .with_queue(queue_name(queue))
            .with_data(json!({"talk_ms": ms(talk), "wrap_up_ms": ms(wrap_up)})),
        Event::AgentStateChanged { agent, state } => {
            let (name, reason) = match state {
                AgentState::LoggedOut => ("logged_out", None),
                AgentState::NotReady(r) => ("not_ready", Some(reason_name(config, r))),
                AgentState::Ready => ("ready", None),
                AgentState::Reserved => ("reserved", None),
                AgentState::OnContact => ("on_contact", None),
                AgentState::WrapUp => ("wrap_up", None),
            };
            row("agent.state")
                .with_agent(agent_name(agent))
                .with_data(json!({"state": name, "reason": reason}))
        }
    }
}

/// Reads a routing event back from its row: `None` for rows of other kinds (later issues log
/// tickets, calls and so on in the same log).
pub fn decode(
    config: &RoutingConfig,
    row: &StoredEvent,
) -> Result<Option<(Time, Event)>, DecodeError> {
    let fail = |message: String| DecodeError {
        seq: row.seq,
        kind: row.kind.clone(),
        message,
    };
    let at = Time::from_millis(u64::try_from(row.at_ms).map_err(|_| fail("negative time".into()))?);
    let contact = || {
        row.contact_id
            .map(|c| ContactId(c as u64))
            .ok_or_else(|| fail("no contact".into()))
    };
    let queue_by = |name: &str| {
        config
            .queue_id(name)
            .ok_or_else(|| fail(format!("unknown queue {name:?}")))
    };
    let queue = || {
        queue_by(
            row.queue
                .as_deref()
                .ok_or_else(|| fail("no queue".into()))?,
        )
    };
    let agent = || {
        let name = row
            .agent
            .as_deref()
            .ok_or_else(|| fail("no agent".into()))?;
        config
            .agent_id(name)
            .ok_or_else(|| fail(format!("unknown agent {name:?}")))
    };
    let field = |name: &str| row.data.get(name).cloned().unwrap_or(Value::Null);
    let text = |name: &str| -> Result<String, DecodeError> {
        field(name)
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| fail(format!("no text field {name:?}")))
    };
    let number = |name: &str| -> Result<u64, DecodeError> {
        field(name)
            .as_u64()
            .ok_or_else(|| fail(format!("no number field {name:?}")))
    };
    let contact_kind = || -> Result<ContactKind, DecodeError> {
        Ok(match text("kind")?.as_str() {
            "call" => ContactKind::Call,
            "callback" => ContactKind::Callback,
            "chat" => ContactKind::Chat,
            other => return Err(fail(format!("unknown contact kind {other:?}"))),
        })
    };
    let event = match row.kind.as_str() {
        "contact.queued" => Event::ContactQueued {
            contact: contact()?,
            queue: queue()?,
            kind: contact_kind()?,
            enqueued_at: Time::from_millis(number("enqueued_at_ms")?),
        },
        "contact.step" => Event::StepReached {
            contact: contact()?,
            queue: queue()?,
            step: u8::try_from(number("step")?).map_err(|_| fail("step out of range".into()))?,
        },
        "callback.offered" => Event::CallbackOffered {
            contact: contact()?,
            queue: queue()?,
        },
        "callback.promised" => Event::CallbackPromised {
            contact: contact()?,
            queue: queue()?,
            chosen: field("chosen").as_bool().unwrap_or(false),
        },
        "contact.overflowed" => Event::ContactOverflowed {
            contact: contact()?,
            from: queue()?,
            to: match field("to").as_str() {
                Some(name) => Some(queue_by(name)?),
                None => None,
            },
        },
        "offer.created" => Event::OfferCreated {
            contact: contact()?,
            agent: agent()?,
            queue: queue()?,
            kind: contact_kind()?,
        },
        "offer.ended" => Event::OfferEnded {
            contact: contact()?,
            agent: agent()?,
            reason: match text("reason")?.as_str() {
                "rejected" => OfferEndReason::Rejected,
                "timed_out" => OfferEndReason::TimedOut,
                "unreachable" => OfferEndReason::Unreachable,
                "agent_unavailable" => OfferEndReason::AgentUnavailable,
                "contact_gone" => OfferEndReason::ContactGone,
                other => return Err(fail(format!("unknown offer end {other:?}"))),
            },
        },
        "callback.dial_requested" => Event::CallbackDialRequested {
            contact: contact()?,
            agent: agent()?,
            attempt: number("attempt")? as u32,
        },
        "callback.attempt_failed" => Event::CallbackAttemptFailed {
            contact: contact()?,
            agent: agent()?,
            attempt: number("attempt")? as u32,
            outcome: match text("outcome")?.as_str() {
                "connected" => DialOutcome::Connected,
                "no_answer" => DialOutcome::NoAnswer,
                "busy" => DialOutcome::Busy,
                "rejected" => DialOutcome::Rejected,
                "failed" => DialOutcome::Failed,
                other => return Err(fail(format!("unknown dial outcome {other:?}"))),
            },
            retry_at: field("retry_at_ms").as_u64().map(Time::from_millis),
        },
        "contact.ended" => Event::ContactEnded {
            contact: contact()?,
            queue: queue()?,
            kind: contact_kind()?,
            outcome: match text("outcome")?.as_str() {
                "answered" => Outcome::Answered,
                "abandoned" => Outcome::Abandoned,
                "overflowed" => Outcome::Overflowed,
                "refused" => Outcome::Refused,
                "callback_failed" => Outcome::CallbackFailed,
                "cancelled" => Outcome::Cancelled,
                other => return Err(fail(format!("unknown outcome {other:?}"))),
            },
            waited: Duration::from_millis(number("waited_ms")?),
            agent: match row.agent {
                Some(_) => Some(agent()?),
                None => None,
            },
        },
        "contact.completed" => Event::ContactCompleted {
            contact: contact()?,
            agent: agent()?,
            queue: queue()?,
            talk: Duration::from_millis(number("talk_ms")?),
        },
        "wrapup.ended" => Event::WrapUpEnded {
            contact: contact()?,
            agent: agent()?,
            queue: queue()?,
            talk: Duration::from_millis(number("talk_ms")?),
            wrap_up: Duration::from_millis(number("wrap_up_ms")?),
        },
        "agent.state" => Event::AgentStateChanged {
            agent: agent()?,
            state: match text("state")?.as_str() {
                "logged_out" => AgentState::LoggedOut,
                "ready" => AgentState::Ready,
                "reserved" => AgentState::Reserved,
                "on_contact" => AgentState::OnContact,
                "wrap_up" => AgentState::WrapUp,
                "not_ready" => {
                    let name = text("reason")?;
                    let code = ReasonCode::BUILT_IN
                        .iter()
                        .position(|r| *r == name)
                        .or_else(|| {
                            config
                                .extra_reasons
                                .iter()
                                .position(|r| *r == name)
                                .map(|i| i + ReasonCode::BUILT_IN.len())
                        })
                        .ok_or_else(|| fail(format!("unknown not-ready reason {name:?}")))?;
                    AgentState::NotReady(ReasonCode(code as u16))
                }
                other => return Err(fail(format!("unknown agent state {other:?}"))),
            },
        },
        _ => return Ok(None),
    };
    Ok(Some((at, event)))
}
