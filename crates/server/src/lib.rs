//! hotline's server: the runtime that drives the sans-IO cores with real sockets and time,
//! and the call control that joins them.
//!
//! - [`switch`]: the [`Switch`](switch::Switch), a back-to-back user agent over the SIP
//!   transaction layer, the registrar and the routing core; sans-IO like the cores, so tests
//!   drive whole calls on a virtual clock.
//! - [`media_runtime`]: one task per call running the media core on its RTP sockets; the
//!   built-in prompts.
//! - [`runtime`]: tokio sockets (UDP, TCP) and timers around the switch; [`runtime::start`].
//! - [`config`]: the configuration file and the demo configuration.
//! - [`demo`]: simulated callers and agents on loopback for `hotline demo`.
//! - [`media_bench`]: concurrent calls with RTP flowing, for `hotline bench media`.
//! - [`prompt_files`]: where prompt files are and what their ids are.
//! - [`phone`]: a scripted SIP phone on hotline's own SIP core, for tests and the demo.

#![warn(missing_docs)]

pub mod alerts;
pub mod api;
pub mod config;
pub mod config_edit;
pub mod customer_link;
pub mod demo;
pub mod knowledge;
pub mod log_tail;
pub mod media_bench;
pub mod media_runtime;
pub mod notify;
pub mod outbound;
pub mod outbound_bench;
pub mod outbound_metrics;
pub mod phone;
pub mod prompt_files;
pub mod recordings;
pub mod reload;
pub mod retention;
pub mod runtime;
pub mod sla_watch;
pub mod switch;
pub mod wall;
pub mod wall_bench;
pub mod web;
pub mod webhooks;
pub mod wrap_up;
