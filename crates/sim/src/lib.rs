//! hotline-sim
pub mod erlang;
