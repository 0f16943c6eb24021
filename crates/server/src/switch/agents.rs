//! Agents' states as the desktop sets them: ready, not ready with a reason, and the end of
//! wrap-up before its timer. The routing core keeps the state; the switch adds what the
//! desktop needs (whether a phone is registered, the reason's name, when wrap-up ends).
//!
//! An agent with no phone registered cannot be made ready: the routing core would offer it
//! contacts its phone cannot ring for. Registering the first phone makes the agent ready by
//! itself, as before; the desktop then changes it at will, and phone refreshes leave it.

use hotline_routing::{AgentState, Input, ReasonCode, Time};
use hotline_sip::Millis;

use super::Switch;

/// A change an agent asks for from the desktop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentChange {
    /// Ready for contacts.
    Ready,
    /// No new contacts, for a reason (a name of `[routing] reasons`; `None` for plain "not
    /// ready", the built-in `logged_in`).
    NotReady(Option<String>),
    /// End the wrap-up now (all contacts in wrap-up).
    EndWrapUp,
}

/// An agent's state for the desktop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentStatus {
    /// The routing core's state: `logged_out`, `not_ready`, `ready`, `reserved` (ringing),
    /// `on_contact` or `wrap_up`.
    pub state: &'static str,
    /// The not-ready reason's name, when not ready (also while on a contact).
    pub reason: Option<String>,
    /// When wrap-up ends by itself (switch clock, Unix ms), while wrapping up.
    pub wrap_up_until_ms: Option<u64>,
    /// A phone is registered for the agent.
    pub registered: bool,
    /// The reasons the agent may choose (`[routing] reasons`).
    pub reasons: Vec<String>,
}

/// Why a change was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentChangeError {
    /// No agent of that name.
    UnknownAgent,
    /// No such reason in `[routing] reasons`.
    UnknownReason(String),
    /// The change does not fit the agent's state (the message says why).
    WrongState(&'static str),
}

impl std::fmt::Display for AgentChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentChangeError::UnknownAgent => f.write_str("no such agent"),
            AgentChangeError::UnknownReason(reason) => write!(f, "no not-ready reason {reason:?}"),
            AgentChangeError::WrongState(why) => f.write_str(why),
        }
    }
}

/// The routing core's state by name.
fn state_name(state: AgentState) -> &'static str {
    match state {
        AgentState::LoggedOut => "logged_out",
        AgentState::NotReady(_) => "not_ready",
        AgentState::Ready => "ready",
        AgentState::Reserved => "reserved",
        AgentState::OnContact => "on_contact",
        AgentState::WrapUp => "wrap_up",
    }
}

impl Switch {
    /// An agent's state, by name; `None` for an unknown agent.
    pub fn agent_status(&self, name: &str) -> Option<AgentStatus> {
        let routing = self.router.config();
        let agent = routing.agent_id(name)?;
        let state = self.router.agent_state(agent)?;
        let reason = self.router.not_ready_reason(agent).map(|code| {
            ReasonCode::BUILT_IN
                .iter()
                .map(|s| s.to_string())
                .chain(routing.extra_reasons.iter().cloned())
                .nth(code.index())
                .unwrap_or_default()
        });
        Some(AgentStatus {
            state: state_name(state),
            reason,
            wrap_up_until_ms: self
                .router
                .wrap_ups(agent)
                .iter()
                .map(|(_, until)| until.as_millis())
                .max(),
            registered: self.registered.get(&agent).copied().unwrap_or(false),
            reasons: routing.extra_reasons.clone(),
        })
    }

    /// Applies an agent's change from the desktop; answers the new state.
    pub fn change_agent(
        &mut self,
        now: Millis,
        name: &str,
        change: AgentChange,
    ) -> Result<AgentStatus, AgentChangeError> {
        let agent = self
            .router
            .config()
            .agent_id(name)
            .ok_or(AgentChangeError::UnknownAgent)?;
        let registered = self.registered.get(&agent).copied().unwrap_or(false);
        match change {
            AgentChange::Ready => {
                if !registered {
                    return Err(AgentChangeError::WrongState(
                        "no phone is registered for this agent: register the phone first",
                    ));
                }
                self.apply(now, Input::Ready { agent })?;
            }
            AgentChange::NotReady(reason) => {
                let code = match reason {
                    None => ReasonCode::LOGGED_IN,
                    Some(name) => self.reason_code(&name)?,
                };
                self.apply(
                    now,
                    Input::NotReady {
                        agent,
                        reason: code,
                    },
                )?;
            }
            AgentChange::EndWrapUp => {
                let wrap_ups = self.router.wrap_ups(agent);
                if wrap_ups.is_empty() {
                    return Err(AgentChangeError::WrongState("the agent is not wrapping up"));
                }
                for (contact, _) in wrap_ups {
                    self.apply(now, Input::EndWrapUp { agent, contact })?;
                }
            }
        }
        self.drain_routing(now);
        self.agent_status(name)
            .ok_or(AgentChangeError::UnknownAgent)
    }

    fn reason_code(&self, name: &str) -> Result<ReasonCode, AgentChangeError> {
        let routing = self.router.config();
        routing
            .extra_reasons
            .iter()
            .position(|r| r == name)
            .and_then(|i| u16::try_from(ReasonCode::BUILT_IN.len() + i).ok())
            .map(ReasonCode)
            .ok_or_else(|| AgentChangeError::UnknownReason(name.to_string()))
    }

    fn apply(&mut self, now: Millis, input: Input) -> Result<(), AgentChangeError> {
        self.router
            .handle(Time::from_millis(now), input)
            .map_err(|e| match e {
                hotline_routing::InputError::WrongState(why) => AgentChangeError::WrongState(why),
                _ => AgentChangeError::WrongState("the routing core refused the change"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_name() {
        assert_eq!(state_name(AgentState::WrapUp), "wrap_up");
        assert_eq!(
            state_name(AgentState::NotReady(ReasonCode::LOGGED_IN)),
            "not_ready"
        );
    }
}
