//! hotline's simulator and staffing math.
//!
//! The principal types are [`Scenario`] (a day of the center: the routing configuration the
//! server runs plus the workload) and [`simulate`], a discrete-event simulation that drives the
//! real routing core ([`hotline_routing::Router`]) with a virtual clock and a seeded random
//! number generator, so a day replays exactly from its seed. [`erlang`] holds Erlang C and
//! Erlang A, the queueing formulas the simulator is validated against.
//!
//! No IO: scenario files are read by `hotline-config`, reports are printed by the CLI.

#![warn(missing_docs)]

mod engine;
pub mod erlang;
pub mod predictive;
mod scenario;

pub use engine::*;

pub use scenario::*;
