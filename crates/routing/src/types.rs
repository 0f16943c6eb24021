//! Small value types shared by the routing core's model: time, identifiers, channels and
//! priorities.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the routing core's clock: milliseconds from an origin the driver chooses.
///
/// The core never reads a clock. The server passes wall-clock milliseconds, the simulator its
/// virtual time; only differences between two `Time`s mean anything to the core.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(u64);

impl Time {
    /// The origin of the clock.
    pub const ZERO: Time = Time(0);
    /// A time that is never reached; used for "no deadline".
    pub const NEVER: Time = Time(u64::MAX);

    /// A time `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Time {
        Time(ms)
    }

    /// A time `s` seconds after the origin.
    pub const fn from_secs(s: u64) -> Time {
        Time(s * 1000)
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this time is; zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, rhs: Duration) -> Time {
        Time(self.0.saturating_add(duration_millis(rhs)))
    }
}

impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, rhs: Duration) -> Time {
        Time(self.0.saturating_sub(duration_millis(rhs)))
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Time::NEVER {
            return f.write_str("never");
        }
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// Milliseconds in a duration, saturating at `u64::MAX`.
pub(crate) fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub struct $name(pub $inner);

        impl $name {
            /// The identifier as an index into the configuration's list.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// A queue: its index in [`RoutingConfig::queues`](crate::RoutingConfig::queues).
    QueueId(u32)
);
id_type!(
    /// An agent: its index in [`RoutingConfig::agents`](crate::RoutingConfig::agents).
    AgentId(u32)
);
id_type!(
    /// A skill: its index in [`RoutingConfig::skills`](crate::RoutingConfig::skills).
    SkillId(u16)
);
id_type!(
    /// A not-ready reason: an index into [`ReasonCode::BUILT_IN`] followed by
    /// [`RoutingConfig::extra_reasons`](crate::RoutingConfig::extra_reasons).
    ReasonCode(u16)
);

impl ReasonCode {
    /// The agent has logged in and not yet made itself ready.
    pub const LOGGED_IN: ReasonCode = ReasonCode(0);
    /// The core made the agent not ready after too many unanswered offers.
    pub const MISSED_OFFERS: ReasonCode = ReasonCode(1);
    /// The driver could not reach the agent's device.
    pub const UNREACHABLE: ReasonCode = ReasonCode(2);
    /// Names of the built-in reasons, in code order.
    pub const BUILT_IN: [&'static str; 3] = ["logged_in", "missed_offers", "unreachable"];
}

/// A contact: chosen by the driver, unique for the life of the router.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ContactId(pub u64);

/// The media an agent's capacity is counted in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Channel {
    /// A phone call, inbound or a callback. Voice is exclusive: an agent on a voice contact
    /// takes nothing else, and takes voice only when it has no other contact.
    Voice = 0,
    /// A chat; an agent may hold several at once, up to its chat capacity.
    Chat = 1,
}

impl Channel {
    /// Every channel, in the order an agent that frees up looks for work.
    pub const ALL: [Channel; 2] = [Channel::Voice, Channel::Chat];
    /// Number of channels.
    pub const COUNT: usize = 2;
}

/// What kind of contact is waiting.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ContactKind {
    /// A caller on the line.
    Call,
    /// A customer to be called back when an agent is free (virtual hold or a request from a
    /// web form); the agent is reserved first, then the customer is dialled.
    Callback,
    /// A chat conversation.
    Chat,
}

impl ContactKind {
    /// The channel whose capacity this contact uses.
    pub fn channel(self) -> Channel {
        match self {
            ContactKind::Call | ContactKind::Callback => Channel::Voice,
            ContactKind::Chat => Channel::Chat,
        }
    }
}

/// A skill a contact needs and the least proficiency (1 to 5) an agent must have in it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SkillRequirement {
    /// The skill.
    pub skill: SkillId,
    /// The least proficiency that qualifies, 1 (novice) to 5 (expert).
    pub min_proficiency: u8,
}

/// Where a waiting contact stands in its queue's order.
///
/// Contacts are ordered by `class` (higher first), then by score = seconds waited + `bonus`
/// (higher first), then first come first served.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Priority {
    /// The priority class: every contact of a higher class goes before any of a lower one.
    pub class: u8,
    /// Extra waiting time credited to the contact within its class.
    pub bonus: Duration,
}

/// Facts about the customer that set a contact's priority; see
/// [`PriorityPolicy`](crate::PriorityPolicy).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct ContactAttributes {
    /// Index into [`PriorityPolicy::tiers`](crate::PriorityPolicy::tiers); 0 is the default tier.
    pub tier: u8,
    /// The customer's value score (for example, assets or spend), compared with the policy's
    /// high-value threshold.
    pub value_score: u32,
    /// Urgency from 0 (none) upwards, each level worth the policy's urgency bonus.
    pub urgency: u8,
    /// The customer prefers a human (for example, an elderly caller): worth the policy's bonus.
    pub prefer_human: bool,
}
