//! Metrics as projections of the event log.
