//! hotline-routing
