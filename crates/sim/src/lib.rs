//! hotline-sim
