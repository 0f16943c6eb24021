//! What the routing core reports: every state change, and the commands the driver must carry
//! out (ring an agent, dial a customer, play a callback offer).

use std::time::Duration;

use crate::types::{AgentId, ContactId, ContactKind, QueueId, ReasonCode, Time};

/// One state change of the center, in the order it happened.
///
/// Events that ask the driver to act are marked "Driver:". The driver appends every event to
/// the event log; metrics are projections of that log.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A contact joined a queue.
    ContactQueued {
        /// The contact.
        contact: ContactId,
        /// The queue.
        queue: QueueId,
        /// Call, callback or chat.
        kind: ContactKind,
        /// When the contact first arrived (earlier than now for a callback request that keeps
        /// its original time).
        enqueued_at: Time,
    },
    /// A contact reached a time step of its queue.
    StepReached {
        /// The contact.
        contact: ContactId,
        /// Its queue.
        queue: QueueId,
        /// The step's index in the queue's configuration.
        step: u8,
    },
    /// Driver: tell the caller it may hang up and be called back, keeping its place.
    CallbackOffered {
        /// The contact.
        contact: ContactId,
        /// Its queue.
        queue: QueueId,
    },
    /// The contact became a callback: the caller may hang up and keeps its place.
    CallbackPromised {
        /// The contact.
        contact: ContactId,
        /// Its queue.
        queue: QueueId,
        /// Whether the caller chose it (`false`: the queue's maximum wait turned it into one).
        chosen: bool,
    },
    /// A contact moved from one queue to another after its maximum wait.
    ContactOverflowed {
        /// The contact.
        contact: ContactId,
        /// The queue it left.
        from: QueueId,
        /// The queue it joined, or `None` when it left the center (see
        /// [`Outcome::Overflowed`]).
        to: Option<QueueId>,
    },
    /// Driver: ring the agent. The offer ends with [`Event::ContactEnded`] (answered),
    /// [`Event::CallbackDialRequested`], or [`Event::OfferEnded`].
    OfferCreated {
        /// The contact.
        contact: ContactId,
        /// The agent offered it.
        agent: AgentId,
        /// The contact's queue.
        queue: QueueId,
        /// Call, callback or chat.
        kind: ContactKind,
    },
    /// Driver: stop ringing. The offer was withdrawn; the contact keeps its place.
    OfferEnded {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
        /// Why.
        reason: OfferEndReason,
    },
    /// Driver: dial the customer for the agent that accepted this callback.
    CallbackDialRequested {
        /// The contact.
        contact: ContactId,
        /// The reserved agent, who hears the customer and not the ringing.
        agent: AgentId,
        /// 1 for the first dial.
        attempt: u32,
    },
    /// A callback dial did not reach the customer.
    CallbackAttemptFailed {
        /// The contact.
        contact: ContactId,
        /// The agent that was reserved.
        agent: AgentId,
        /// Which dial.
        attempt: u32,
        /// What happened.
        outcome: DialOutcome,
        /// When the next dial becomes possible, or `None` when none is left.
        retry_at: Option<Time>,
    },
    /// The routing of a contact ended. Exactly one per contact.
    ContactEnded {
        /// The contact.
        contact: ContactId,
        /// Its queue at the end.
        queue: QueueId,
        /// Call, callback or chat.
        kind: ContactKind,
        /// How it ended.
        outcome: Outcome,
        /// Time from arrival to the end of its routing.
        waited: Duration,
        /// The agent that took it, for [`Outcome::Answered`].
        agent: Option<AgentId>,
    },
    /// The agent ended its conversation; wrap-up begins.
    ContactCompleted {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
        /// The contact's queue.
        queue: QueueId,
        /// Time from answer to the end of the conversation.
        talk: Duration,
    },
    /// The agent finished the after-call work of a contact: the contact is handled.
    WrapUpEnded {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
        /// The contact's queue.
        queue: QueueId,
        /// Time from answer to the end of the conversation (as in [`Event::ContactCompleted`]).
        talk: Duration,
        /// Time spent in wrap-up.
        wrap_up: Duration,
    },
    /// An agent's state changed.
    AgentStateChanged {
        /// The agent.
        agent: AgentId,
        /// Its new state.
        state: AgentState,
    },
}

/// An agent's state as supervisors see it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AgentState {
    /// Not logged in.
    LoggedOut,
    /// Logged in and not taking contacts, for a reason.
    NotReady(ReasonCode),
    /// Waiting for a contact.
    Ready,
    /// A contact is being offered (ringing).
    Reserved,
    /// Talking, chatting or dialling a callback.
    OnContact,
    /// After-call work.
    WrapUp,
}

/// Why an offer was withdrawn.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum OfferEndReason {
    /// The agent declined.
    Rejected,
    /// The agent did not answer in time.
    TimedOut,
    /// The driver could not reach the agent's device; the agent is made not ready.
    Unreachable,
    /// The agent became not ready or logged out while the offer rang.
    AgentUnavailable,
    /// The caller hung up or the callback was cancelled while the offer rang.
    ContactGone,
}

/// How a contact's routing ended.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Outcome {
    /// An agent took it (for a callback: the customer answered the dial).
    Answered,
    /// The caller hung up while waiting.
    Abandoned,
    /// It left the center for an outside destination after its maximum wait.
    Overflowed,
    /// Its queue (or the center) was full.
    Refused,
    /// Every dial of a callback failed.
    CallbackFailed,
    /// A callback was cancelled before it connected.
    Cancelled,
}

/// What became of a callback dial.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DialOutcome {
    /// The customer answered.
    Connected,
    /// No answer before the ring timeout.
    NoAnswer,
    /// The line was busy.
    Busy,
    /// The customer declined the call.
    Rejected,
    /// The network or trunk failed.
    Failed,
}
