//! hotline's routing core (ACD): queues, agents with skills and proficiency, routing profiles,
//! priorities, time steps, preferred agents, offers, callbacks in queue and wait estimates.
//!
//! The principal type is [`Router`], a sans-IO state machine: every input carries the current
//! [`Time`]; the router answers with [`Event`]s (decisions and state changes) and tells when it
//! next wants time ([`Router::poll_timeout`]). It never reads a clock, touches a socket or
//! draws a random number, so the server and the simulator drive the very same code, and a
//! simulated day replays exactly from its seed.
//!
//! The routing core knows nothing about SIP, tokio, SQL or any file format.

#![warn(missing_docs)]

mod config;
mod event;
pub mod metrics;
mod router;
mod types;

pub use config::*;
pub use event::*;
pub use router::*;
pub use types::*;
