//! The SLA clock: [`SlaPolicy`] (the targets), [`SlaClock`] (a ticket's clock, as the store
//! keeps it), [`SlaClock::evaluate`] (where the ticket stands, as an [`SlaReport`]) and
//! [`status_changed`] (what a status move does to the clock).
//!
//! # What counts
//!
//! Both targets are business time on the rules' calendar, counted from the ticket's creation.
//!
//! - **First response** runs until someone first answers the customer ([`SlaClock::respond`]).
//!   It is never paused: a ticket can only wait on a customer who has been asked something, and
//!   asking is a response, so [`status_changed`] records one on the way into
//!   `waiting_on_customer`. Resolving or closing a ticket also counts as its response.
//! - **Resolution** runs until the ticket is resolved, and stands still while the ticket waits
//!   on the customer. Reopening a resolved ticket starts it again where it stopped: the time
//!   used before the resolution still counts, so a reopened ticket is not given a fresh target.
//!
//! A target is met when it is reached before its due instant; at the due instant itself it is
//! breached. Breaching does not stop the clock: the report keeps counting the time used.

use hotline_calendar::Calendar;

use crate::business::{add_business_ms, business_ms_between};
use crate::status::{check_transition, TicketStatus, TransitionError};
use crate::{
    DEFAULT_FIRST_RESPONSE_MS, DEFAULT_POLICY_NAME, DEFAULT_RESOLUTION_MS, DEFAULT_WARN_AT_PERCENT,
};

/// The targets a ticket is held to, in business time (time the calendar is open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaPolicy {
    /// The policy's name, for reports ("vip", "complaints").
    pub name: String,
    /// Business time from creation to the first response, in milliseconds.
    pub first_response_ms: u64,
    /// Business time from creation to resolution, pauses left out, in milliseconds.
    pub resolution_ms: u64,
    /// The share of a target, in percent, after which it is in [`SlaState::Warning`]; 100
    /// means no warning before the breach. Values above 100 count as 100.
    pub warn_at_percent: u8,
}

impl Default for SlaPolicy {
    /// The policy of a ticket no configured policy matches: [`DEFAULT_POLICY_NAME`], first
    /// response within [`DEFAULT_FIRST_RESPONSE_MS`] (8 business hours, a working day),
    /// resolution within [`DEFAULT_RESOLUTION_MS`] (40 business hours, a working week),
    /// warning at [`DEFAULT_WARN_AT_PERCENT`].
    fn default() -> SlaPolicy {
        SlaPolicy {
            name: DEFAULT_POLICY_NAME.to_owned(),
            first_response_ms: DEFAULT_FIRST_RESPONSE_MS,
            resolution_ms: DEFAULT_RESOLUTION_MS,
            warn_at_percent: DEFAULT_WARN_AT_PERCENT,
        }
    }
}

/// One ticket's SLA clock: plain instants and a count, so that the store keeps it as columns
/// and builds it back field by field. All instants are milliseconds since the Unix epoch.
///
/// The resolution clock is in one of three states, told apart by the optional fields:
///
/// - running: `paused_since_ms` and `resolved_at_ms` are `None`; it has used
///   `business_ms_used_before_pause` plus the open time since `running_since_ms`;
/// - paused: `paused_since_ms` is `Some`, `resolved_at_ms` is `None`; it has used
///   `business_ms_used_before_pause`;
/// - stopped: `resolved_at_ms` is `Some` (and `paused_since_ms` is `None`); it used
///   `business_ms_used_before_pause`.
///
/// The methods take each event at most once and ignore one that does not apply (pausing a
/// paused clock, resolving a resolved one), so a retried request changes nothing.
/// [`status_changed`] calls the right ones for a status move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaClock {
    /// When the ticket was created: both targets count from here.
    pub started_at_ms: u64,
    /// When the resolution clock last started running: the creation, or the last resume or
    /// reopening. Only meaningful while it runs.
    pub running_since_ms: u64,
    /// Business time the resolution clock used before `running_since_ms` (while running), or
    /// in all (while paused or stopped), in milliseconds.
    pub business_ms_used_before_pause: u64,
    /// Since when the resolution clock is paused (waiting on the customer), if it is.
    pub paused_since_ms: Option<u64>,
    /// When the customer first got an answer, if they have.
    pub responded_at_ms: Option<u64>,
    /// When the ticket was resolved, if it is (and not reopened since).
    pub resolved_at_ms: Option<u64>,
}

impl SlaClock {
    /// The clock of a ticket created at `now_ms`: both targets running.
    pub fn start(now_ms: u64) -> SlaClock {
        SlaClock {
            started_at_ms: now_ms,
            running_since_ms: now_ms,
            business_ms_used_before_pause: 0,
            paused_since_ms: None,
            responded_at_ms: None,
            resolved_at_ms: None,
        }
    }

    /// Whether the resolution clock is running (neither paused nor stopped).
    pub fn is_running(&self) -> bool {
        self.paused_since_ms.is_none() && self.resolved_at_ms.is_none()
    }

    /// Pauses the resolution clock at `now_ms`, banking the business time of the stretch that
    /// ends (hence the calendar). Does nothing unless it is running.
    pub fn pause(&mut self, calendar: &Calendar, now_ms: u64) {
        if !self.is_running() {
            return;
        }
        self.bank_running_stretch(calendar, now_ms);
        self.paused_since_ms = Some(now_ms);
    }

    /// Starts a paused resolution clock again at `now_ms`. Does nothing unless it is paused.
    pub fn resume(&mut self, now_ms: u64) {
        if let Some(paused_since_ms) = self.paused_since_ms.take() {
            // A resume stamped before its pause (clocks of two machines) counts from the pause.
            self.running_since_ms = now_ms.max(paused_since_ms);
        }
    }

    /// Records the first response at `now_ms`. Later responses change nothing.
    pub fn respond(&mut self, now_ms: u64) {
        self.responded_at_ms.get_or_insert(now_ms);
    }

    /// Stops the resolution clock at `now_ms`, running or paused, and records the first
    /// response if there was none (a resolution answers the customer). Does nothing if the
    /// ticket is already resolved.
    pub fn resolve(&mut self, calendar: &Calendar, now_ms: u64) {
        if self.resolved_at_ms.is_some() {
            return;
        }
        if self.is_running() {
            self.bank_running_stretch(calendar, now_ms);
        }
        self.paused_since_ms = None;
        self.resolved_at_ms = Some(now_ms);
        self.respond(now_ms);
    }

    /// Starts the resolution clock of a resolved ticket again at `now_ms`, keeping the time
    /// it had used. Does nothing unless the ticket is resolved.
    pub fn reopen(&mut self, now_ms: u64) {
        if let Some(resolved_at_ms) = self.resolved_at_ms.take() {
            self.running_since_ms = now_ms.max(resolved_at_ms);
        }
    }

    /// Adds the open time from `running_since_ms` to `now_ms` to the banked time.
    fn bank_running_stretch(&mut self, calendar: &Calendar, now_ms: u64) {
        let stretch_ms = business_ms_between(calendar, self.running_since_ms, now_ms);
        self.business_ms_used_before_pause = self
            .business_ms_used_before_pause
            .saturating_add(stretch_ms);
    }

    /// The business time the resolution clock has used up to `now_ms`.
    pub fn resolution_business_ms_used(&self, calendar: &Calendar, now_ms: u64) -> u64 {
        let running_ms = if self.is_running() {
            business_ms_between(calendar, self.running_since_ms, now_ms)
        } else {
            0
        };
        self.business_ms_used_before_pause
            .saturating_add(running_ms)
    }

    /// Where the ticket stands against `policy` at `now_ms`, on `calendar` (the one the
    /// rules name; the same one the clock's pauses were banked on).
    pub fn evaluate(&self, policy: &SlaPolicy, calendar: &Calendar, now_ms: u64) -> SlaReport {
        let first_response = self.evaluate_first_response(policy, calendar, now_ms);
        let resolution = self.evaluate_resolution(policy, calendar, now_ms);
        let next_check_at_ms = [first_response.next_check_at_ms, resolution.next_check_at_ms]
            .into_iter()
            .flatten()
            .min();
        SlaReport {
            first_response,
            resolution,
            next_check_at_ms,
        }
    }

    fn evaluate_first_response(
        &self,
        policy: &SlaPolicy,
        calendar: &Calendar,
        now_ms: u64,
    ) -> TargetReport {
        let target_ms = policy.first_response_ms;
        let due_at_ms = add_business_ms(calendar, self.started_at_ms, target_ms);
        let end_ms = self
            .responded_at_ms
            .map_or(now_ms, |at_ms| at_ms.min(now_ms));
        let used_ms = business_ms_between(calendar, self.started_at_ms, end_ms);
        if self.responded_at_ms.is_some_and(|at_ms| at_ms <= now_ms) {
            return TargetReport {
                state: if used_ms < target_ms {
                    SlaState::Met
                } else {
                    SlaState::Breached
                },
                due_at_ms,
                elapsed_business_ms: used_ms,
                target_business_ms: target_ms,
                next_check_at_ms: None,
            };
        }
        let warn_ms = warning_ms(target_ms, policy.warn_at_percent);
        running_report(
            calendar,
            self.started_at_ms,
            0,
            used_ms,
            warn_ms,
            target_ms,
            now_ms,
        )
    }

    fn evaluate_resolution(
        &self,
        policy: &SlaPolicy,
        calendar: &Calendar,
        now_ms: u64,
    ) -> TargetReport {
        let target_ms = policy.resolution_ms;
        let used_ms = self.resolution_business_ms_used(calendar, now_ms);
        let finished_state = || {
            if used_ms < target_ms {
                None
            } else {
                Some(SlaState::Breached)
            }
        };
        if self.resolved_at_ms.is_some() {
            return TargetReport {
                state: finished_state().unwrap_or(SlaState::Met),
                due_at_ms: None,
                elapsed_business_ms: used_ms,
                target_business_ms: target_ms,
                next_check_at_ms: None,
            };
        }
        if self.paused_since_ms.is_some() {
            return TargetReport {
                state: finished_state().unwrap_or(SlaState::Paused),
                due_at_ms: None,
                elapsed_business_ms: used_ms,
                target_business_ms: target_ms,
                next_check_at_ms: None,
            };
        }
        let warn_ms = warning_ms(target_ms, policy.warn_at_percent);
        running_report(
            calendar,
            self.running_since_ms,
            self.business_ms_used_before_pause,
            used_ms,
            warn_ms,
            target_ms,
            now_ms,
        )
    }
}

/// The business time after which a target of `target_ms` warns.
fn warning_ms(target_ms: u64, warn_at_percent: u8) -> u64 {
    let percent = u128::from(warn_at_percent.min(100));
    // At most `target_ms`, so it fits.
    (u128::from(target_ms) * percent / 100) as u64
}

/// The report of a target whose clock runs since `running_since_ms`, having used
/// `used_before_ms` before then and `used_ms` in all by `now_ms`.
fn running_report(
    calendar: &Calendar,
    running_since_ms: u64,
    used_before_ms: u64,
    used_ms: u64,
    warn_ms: u64,
    target_ms: u64,
    now_ms: u64,
) -> TargetReport {
    // The instant the clock reaches `mark_ms` of business time, if that lies in this stretch.
    let reaches = |mark_ms: u64| {
        mark_ms
            .checked_sub(used_before_ms)
            .and_then(|left_ms| add_business_ms(calendar, running_since_ms, left_ms))
    };
    let due_at_ms = reaches(target_ms);
    let (state, next_check_at_ms) = if used_ms >= target_ms {
        (SlaState::Breached, None)
    } else if used_ms >= warn_ms {
        (SlaState::Warning, due_at_ms)
    } else {
        // With a warning at 100 % the warning and the breach are one instant.
        (SlaState::Running, reaches(warn_ms).or(due_at_ms))
    };
    debug_assert!(next_check_at_ms.is_none_or(|at_ms| at_ms > now_ms));
    TargetReport {
        state,
        due_at_ms,
        elapsed_business_ms: used_ms,
        target_business_ms: target_ms,
        next_check_at_ms,
    }
}

/// Where one target stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlaState {
    /// Reached before it was due.
    Met,
    /// Counting, below the warning share.
    Running,
    /// Counting, past the warning share of the target: time to hurry.
    Warning,
    /// Due and not reached in time (reached late, or not yet reached).
    Breached,
    /// Standing still while the ticket waits on the customer (resolution only).
    Paused,
}

impl SlaState {
    /// The state as written: `"met"`, `"running"`, `"warning"`, `"breached"` or `"paused"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaState::Met => "met",
            SlaState::Running => "running",
            SlaState::Warning => "warning",
            SlaState::Breached => "breached",
            SlaState::Paused => "paused",
        }
    }
}

/// One target of an [`SlaReport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TargetReport {
    /// Where the target stands.
    pub state: SlaState,
    /// When the target falls (or fell) due if nothing pauses it. For the first response, from
    /// the creation: known unless the calendar does not open again in time. For the
    /// resolution, only while its clock runs: `None` while paused (it moves with every minute
    /// of waiting), after resolution, and when the target ran out before the last pause.
    pub due_at_ms: Option<u64>,
    /// Business time used so far (up to the response or resolution, for a reached target),
    /// in milliseconds.
    pub elapsed_business_ms: u64,
    /// The target, in business milliseconds.
    pub target_business_ms: u64,
    /// The next instant at which `state` changes by the passing of time alone (to
    /// `Warning`, then to `Breached`); `None` when only an event can change it.
    pub next_check_at_ms: Option<u64>,
}

/// Where a ticket stands against its policy at one instant: the result of
/// [`SlaClock::evaluate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlaReport {
    /// Time to the first response.
    pub first_response: TargetReport,
    /// Time to resolution.
    pub resolution: TargetReport,
    /// The earlier of the two targets' `next_check_at_ms`: the one timer the runtime arms
    /// for this ticket. Evaluating again at that instant gives a different report.
    pub next_check_at_ms: Option<u64>,
}

/// Applies a status move to the ticket's clock after checking it with [`check_transition`];
/// a refused move leaves the clock as it was.
///
/// | move | clock |
/// |---|---|
/// | into `waiting_on_customer` | records the first response; pauses the resolution clock |
/// | `waiting_on_customer` to `in_progress` | resumes it |
/// | into `resolved` | stops it (and records the first response if none) |
/// | into `closed` from anything but `resolved` | the same: closing stops every clock |
/// | `resolved` to `in_progress` | reopens it, keeping the time used |
/// | any other | nothing: the clocks keep running |
pub fn status_changed(
    clock: &mut SlaClock,
    calendar: &Calendar,
    from: TicketStatus,
    to: TicketStatus,
    now_ms: u64,
) -> Result<(), TransitionError> {
    check_transition(from, to)?;
    match (from, to) {
        (_, TicketStatus::WaitingOnCustomer) => {
            clock.respond(now_ms);
            clock.pause(calendar, now_ms);
        }
        (TicketStatus::WaitingOnCustomer, TicketStatus::InProgress) => clock.resume(now_ms),
        (TicketStatus::Resolved, TicketStatus::InProgress) => clock.reopen(now_ms),
        (_, TicketStatus::Resolved | TicketStatus::Closed) => clock.resolve(calendar, now_ms),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: u64 = 3_600_000;
    const T0: u64 = 1_790_524_800_000;

    fn policy(first_response_ms: u64, resolution_ms: u64) -> SlaPolicy {
        SlaPolicy {
            name: "test".to_owned(),
            first_response_ms,
            resolution_ms,
            warn_at_percent: 80,
        }
    }

    #[test]
    fn the_default_policy_is_a_day_and_a_week() {
        let default = SlaPolicy::default();
        assert_eq!(default.first_response_ms, 8 * HOUR_MS);
        assert_eq!(default.resolution_ms, 40 * HOUR_MS);
        assert_eq!(default.warn_at_percent, 80);
    }

    #[test]
    fn running_then_warning_then_breached_on_an_always_open_calendar() {
        let always = Calendar::always_open();
        let policy = policy(HOUR_MS, 10 * HOUR_MS);
        let clock = SlaClock::start(T0);
        let report = clock.evaluate(&policy, &always, T0);
        assert_eq!(report.first_response.state, SlaState::Running);
        assert_eq!(report.first_response.due_at_ms, Some(T0 + HOUR_MS));
        assert_eq!(
            report.first_response.next_check_at_ms,
            Some(T0 + 48 * 60_000)
        );
        assert_eq!(report.resolution.next_check_at_ms, Some(T0 + 8 * HOUR_MS));
        assert_eq!(report.next_check_at_ms, Some(T0 + 48 * 60_000));

        let report = clock.evaluate(&policy, &always, T0 + 48 * 60_000);
        assert_eq!(report.first_response.state, SlaState::Warning);
        assert_eq!(report.next_check_at_ms, Some(T0 + HOUR_MS));
        let report = clock.evaluate(&policy, &always, T0 + HOUR_MS);
        assert_eq!(report.first_response.state, SlaState::Breached);
        assert_eq!(report.first_response.next_check_at_ms, None);
        assert_eq!(report.next_check_at_ms, Some(T0 + 8 * HOUR_MS));
    }

    #[test]
    fn a_warning_at_100_percent_is_the_breach() {
        let always = Calendar::always_open();
        let policy = SlaPolicy {
            warn_at_percent: 100,
            ..policy(HOUR_MS, 2 * HOUR_MS)
        };
        let report = SlaClock::start(T0).evaluate(&policy, &always, T0 + HOUR_MS - 1);
        assert_eq!(report.first_response.state, SlaState::Running);
        assert_eq!(report.first_response.next_check_at_ms, Some(T0 + HOUR_MS));
    }

    #[test]
    fn methods_ignore_events_that_do_not_apply() {
        let always = Calendar::always_open();
        let mut clock = SlaClock::start(T0);
        clock.resume(T0 + 1);
        clock.reopen(T0 + 1);
        assert_eq!(clock, SlaClock::start(T0));
        clock.pause(&always, T0 + 10);
        clock.pause(&always, T0 + 20);
        assert_eq!(clock.paused_since_ms, Some(T0 + 10));
        assert_eq!(clock.business_ms_used_before_pause, 10);
        clock.respond(T0 + 30);
        clock.respond(T0 + 40);
        assert_eq!(clock.responded_at_ms, Some(T0 + 30));
        clock.resolve(&always, T0 + 50);
        clock.resolve(&always, T0 + 60);
        assert_eq!(clock.resolved_at_ms, Some(T0 + 50));
        assert_eq!(clock.paused_since_ms, None);
        // Resolved while paused: the paused time does not count.
        assert_eq!(clock.business_ms_used_before_pause, 10);
    }

    #[test]
    fn status_changed_refuses_a_bad_move_and_leaves_the_clock() {
        let always = Calendar::always_open();
        let mut clock = SlaClock::start(T0);
        let error = status_changed(
            &mut clock,
            &always,
            TicketStatus::New,
            TicketStatus::WaitingOnCustomer,
            T0 + 5,
        )
        .unwrap_err();
        assert_eq!(error.to(), TicketStatus::WaitingOnCustomer);
        assert_eq!(clock, SlaClock::start(T0));
    }

    #[test]
    fn closing_a_duplicate_stops_both_clocks() {
        let always = Calendar::always_open();
        let mut clock = SlaClock::start(T0);
        status_changed(
            &mut clock,
            &always,
            TicketStatus::New,
            TicketStatus::Closed,
            T0 + 60_000,
        )
        .unwrap();
        let report = clock.evaluate(&policy(HOUR_MS, 2 * HOUR_MS), &always, T0 + 100 * HOUR_MS);
        assert_eq!(report.first_response.state, SlaState::Met);
        assert_eq!(report.resolution.state, SlaState::Met);
        assert_eq!(report.resolution.elapsed_business_ms, 60_000);
        assert_eq!(report.next_check_at_ms, None);
    }

    #[test]
    fn a_breach_before_a_pause_stays_a_breach() {
        let always = Calendar::always_open();
        let policy = policy(HOUR_MS, 2 * HOUR_MS);
        let mut clock = SlaClock::start(T0);
        status_changed(
            &mut clock,
            &always,
            TicketStatus::New,
            TicketStatus::Assigned,
            T0,
        )
        .unwrap();
        status_changed(
            &mut clock,
            &always,
            TicketStatus::Assigned,
            TicketStatus::WaitingOnCustomer,
            T0 + 3 * HOUR_MS,
        )
        .unwrap();
        let report = clock.evaluate(&policy, &always, T0 + 4 * HOUR_MS);
        assert_eq!(report.resolution.state, SlaState::Breached);
        assert_eq!(report.resolution.due_at_ms, None);
        // The response came when the customer was asked, after the hour.
        assert_eq!(report.first_response.state, SlaState::Breached);
        assert_eq!(report.first_response.elapsed_business_ms, 3 * HOUR_MS);
        status_changed(
            &mut clock,
            &always,
            TicketStatus::WaitingOnCustomer,
            TicketStatus::InProgress,
            T0 + 5 * HOUR_MS,
        )
        .unwrap();
        let report = clock.evaluate(&policy, &always, T0 + 6 * HOUR_MS);
        assert_eq!(report.resolution.state, SlaState::Breached);
        assert_eq!(report.resolution.due_at_ms, None);
        assert_eq!(report.resolution.elapsed_business_ms, 4 * HOUR_MS);
        assert_eq!(report.next_check_at_ms, None);
    }
}
