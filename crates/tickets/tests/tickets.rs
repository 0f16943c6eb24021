//! Tickets driven through the public API: a Shanghai office calendar around National Day 2026,
//! the tickets section of `fixtures/tickets.toml`, and clocks moved by status changes.
//! Instants are written as Shanghai wall-clock time, so that each case reads as the clock it
//! tests.

use hotline_calendar::{Calendar, CalendarSpec};
use hotline_tickets::{
    add_business_ms, business_ms_between, status_changed, Priority, SlaClock, SlaPolicy, SlaReport,
    SlaState, TicketRules, TicketStatus, TicketsSpec, ROUTES_MAX,
};

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;

/// The office of `fixtures/shanghai.toml`: weekdays 09:00-18:00, closed 2026-10-01 to
/// 2026-10-08, open on the make-up days Sunday 2026-09-27 and Saturday 2026-10-10.
fn office() -> Calendar {
    let spec: CalendarSpec = toml::from_str(include_str!("fixtures/shanghai.toml")).unwrap();
    Calendar::from_spec(&spec).unwrap()
}

/// The rules of `fixtures/tickets.toml` on the office calendar.
fn rules() -> TicketRules {
    rules_from(include_str!("fixtures/tickets.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Reads and builds a tickets section whose only calendar is the office.
fn rules_from(toml_text: &str) -> Result<TicketRules, String> {
    let spec: TicketsSpec = toml::from_str(toml_text).map_err(|e| e.to_string())?;
    let office = office();
    TicketRules::from_spec(&spec, |name| (name == "office").then(|| office.clone()))
        .map_err(|e| e.to_string())
}

/// `"2026-09-30 17:00"` in Shanghai (UTC+8, no clock changes since 1991), in milliseconds
/// since the epoch.
fn sh(text: &str) -> u64 {
    let number = |range: std::ops::Range<usize>| -> i64 { text[range].parse().unwrap() };
    assert_eq!(text.len(), 16, "{text}");
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute) = (number(11..13), number(14..16));
    // Days from 1970-01-01 to the civil date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let local_ms = ((days * 24 + hour) * 60 + minute) * 60_000;
    u64::try_from(local_ms - 8 * HOUR_MS as i64).unwrap()
}

fn policy(first_response: u64, resolution: u64) -> SlaPolicy {
    SlaPolicy {
        name: "test".to_owned(),
        first_response_ms: first_response,
        resolution_ms: resolution,
        warn_at_percent: 80,
    }
}

/// Evaluates and checks `next_check_at_ms` against the reports around it: nothing changes
/// before it, and the state changes at it.
fn evaluate(clock: &SlaClock, policy: &SlaPolicy, calendar: &Calendar, now_ms: u64) -> SlaReport {
    let states = |report: &SlaReport| (report.first_response.state, report.resolution.state);
    let report = clock.evaluate(policy, calendar, now_ms);
    if let Some(check_ms) = report.next_check_at_ms {
        assert!(check_ms > now_ms);
        let before = clock.evaluate(policy, calendar, check_ms - 1);
        assert_eq!(states(&before), states(&report), "just before {check_ms}");
        let at = clock.evaluate(policy, calendar, check_ms);
        assert_ne!(states(&at), states(&report), "at {check_ms}");
    }
    report
}

/// Moves a ticket, failing the test if the move is refused.
fn move_ticket(
    clock: &mut SlaClock,
    calendar: &Calendar,
    from: TicketStatus,
    to: TicketStatus,
    at: &str,
) {
    status_changed(clock, calendar, from, to, sh(at)).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_time_helper_agrees_with_known_instants() {
    assert_eq!(sh("2026-09-30 17:00"), 1_790_758_800_000);
    assert_eq!(sh("1970-01-01 08:00"), 0);
    assert_eq!(sh("2024-02-29 08:00"), 1_709_164_800_000);
}

#[test]
fn national_day_holiday_pushes_an_eight_hour_target_to_the_ninth() {
    let office = office();
    // Wednesday 30 September 17:00: one hour left that day, then Golden Week (1-8 October)
    // closes the office; Friday 9 October supplies the other seven hours.
    let created_ms = sh("2026-09-30 17:00");
    let due_ms = add_business_ms(&office, created_ms, 8 * HOUR_MS);
    assert_eq!(due_ms, Some(1_791_532_800_000));
    assert_eq!(due_ms, Some(sh("2026-10-09 16:00")));
    assert_eq!(
        business_ms_between(&office, created_ms, sh("2026-10-09 16:00")),
        8 * HOUR_MS
    );
    assert_eq!(
        business_ms_between(&office, created_ms, sh("2026-10-09 09:00")),
        HOUR_MS
    );

    let policy = policy(4 * HOUR_MS, 8 * HOUR_MS);
    let clock = SlaClock::start(created_ms);
    let report = evaluate(&clock, &policy, &office, created_ms);
    assert_eq!(report.resolution.state, SlaState::Running);
    assert_eq!(report.resolution.due_at_ms, Some(sh("2026-10-09 16:00")));
    // First response: 1h on the 30th, 3h on the 9th.
    assert_eq!(
        report.first_response.due_at_ms,
        Some(sh("2026-10-09 12:00"))
    );
    // Its warning at 80 % (3h12m) comes first: 1h on the 30th, 2h12m on the 9th.
    assert_eq!(report.next_check_at_ms, Some(sh("2026-10-09 11:12")));

    // During the holiday nothing moves.
    let report = evaluate(&clock, &policy, &office, sh("2026-10-05 12:00"));
    assert_eq!(report.resolution.elapsed_business_ms, HOUR_MS);
    assert_eq!(report.resolution.state, SlaState::Running);

    // The resolution warning at 80 % (6h24m) is Friday 14:24, then the breach at 16:00.
    let clock = SlaClock {
        responded_at_ms: Some(sh("2026-09-30 17:10")),
        ..clock
    };
    let report = evaluate(&clock, &policy, &office, sh("2026-10-09 09:00"));
    assert_eq!(report.first_response.state, SlaState::Met);
    assert_eq!(report.next_check_at_ms, Some(1_791_527_040_000));
    assert_eq!(report.next_check_at_ms, Some(sh("2026-10-09 14:24")));
    let report = evaluate(&clock, &policy, &office, sh("2026-10-09 14:24"));
    assert_eq!(report.resolution.state, SlaState::Warning);
    assert_eq!(report.next_check_at_ms, Some(sh("2026-10-09 16:00")));
    let report = evaluate(&clock, &policy, &office, sh("2026-10-09 16:00"));
    assert_eq!(report.resolution.state, SlaState::Breached);
    assert_eq!(report.resolution.due_at_ms, Some(sh("2026-10-09 16:00")));
    assert_eq!(report.next_check_at_ms, None);
}

#[test]
fn make_up_working_days_count() {
    let office = office();
    // Friday 25 September 17:00 + 4h: 1h on Friday, none on Saturday, 3h on the make-up
    // Sunday 27 September.
    assert_eq!(
        add_business_ms(&office, sh("2026-09-25 17:00"), 4 * HOUR_MS),
        Some(sh("2026-09-27 12:00"))
    );
    // Friday 9 October 17:00 + 4h: the make-up Saturday 10 October.
    assert_eq!(
        add_business_ms(&office, sh("2026-10-09 17:00"), 4 * HOUR_MS),
        Some(sh("2026-10-10 12:00"))
    );
    // An ordinary weekend: Friday 16 October 17:00 + 4h is Monday 19 October 12:00.
    assert_eq!(
        add_business_ms(&office, sh("2026-10-16 17:00"), 4 * HOUR_MS),
        Some(sh("2026-10-19 12:00"))
    );
    // Running out exactly at closing time is due at closing time.
    assert_eq!(
        add_business_ms(&office, sh("2026-09-30 17:30"), 30 * MINUTE_MS),
        Some(sh("2026-09-30 18:00"))
    );
    // The week of 27 September to 3 October, make-up Sunday in, holidays out: Sunday and
    // Monday to Wednesday, four days of nine hours.
    assert_eq!(
        business_ms_between(&office, sh("2026-09-27 00:00"), sh("2026-10-04 00:00")),
        4 * 9 * HOUR_MS
    );
}

#[test]
fn waiting_on_the_customer_pauses_resolution_only() {
    let office = office();
    let policy = policy(4 * HOUR_MS, 8 * HOUR_MS);
    let mut clock = SlaClock::start(sh("2026-09-30 10:00"));
    move_ticket(
        &mut clock,
        &office,
        TicketStatus::New,
        TicketStatus::Assigned,
        "2026-09-30 10:00",
    );
    // Two hours in, the agent asks for the invoice: that is the first response.
    move_ticket(
        &mut clock,
        &office,
        TicketStatus::Assigned,
        TicketStatus::WaitingOnCustomer,
        "2026-09-30 12:00",
    );
    assert_eq!(clock.responded_at_ms, Some(sh("2026-09-30 12:00")));
    assert_eq!(clock.paused_since_ms, Some(sh("2026-09-30 12:00")));

    // Paused over the rest of Wednesday and the holiday.
    let report = evaluate(&clock, &policy, &office, sh("2026-10-09 09:30"));
    assert_eq!(report.first_response.state, SlaState::Met);
    assert_eq!(report.first_response.elapsed_business_ms, 2 * HOUR_MS);
    assert_eq!(report.resolution.state, SlaState::Paused);
    assert_eq!(report.resolution.due_at_ms, None);
    assert_eq!(report.resolution.elapsed_business_ms, 2 * HOUR_MS);
    assert_eq!(report.next_check_at_ms, None);

    // The customer answers on Friday 9 October at 10:00: six hours left, due 16:00.
    move_ticket(
        &mut clock,
        &office,
        TicketStatus::WaitingOnCustomer,
        TicketStatus::InProgress,
        "2026-10-09 10:00",
    );
    let report = evaluate(&clock, &policy, &office, sh("2026-10-09 10:00"));
    assert_eq!(report.resolution.state, SlaState::Running);
    assert_eq!(report.resolution.due_at_ms, Some(sh("2026-10-09 16:00")));
    // 80 % of 8h is 6h24m: 4h24m after the resume.
    assert_eq!(report.next_check_at_ms, Some(sh("2026-10-09 14:24")));

    // Resolved in the warning band: met.
    move_ticket(
        &mut clock,
        &office,
        TicketStatus::InProgress,
        TicketStatus::Resolved,
        "2026-10-09 15:00",
    );
    let report = evaluate(&clock, &policy, &office, sh("2026-10-20 12:00"));
    assert_eq!(report.resolution.state, SlaState::Met);
    assert_eq!(report.resolution.elapsed_business_ms, 7 * HOUR_MS);
    assert_eq!(report.next_check_at_ms, None);
}

#[test]
fn a_reopened_ticket_keeps_the_time_it_used() {
    let office = office();
    let policy = policy(HOUR_MS, 8 * HOUR_MS);
    let mut clock = SlaClock::start(sh("2026-10-12 09:00"));
    move_ticket(
        &mut clock,
        &office,
        TicketStatus::New,
        TicketStatus::InProgress,
        "2026-10-12 09:00",
    );
    clock.respond(sh("2026-10-12 09:20"));
    move_ticket(
        &mut clock,
        &office,
        TicketStatus::InProgress,
        TicketStatus::Resolved,
        "2026-10-12 15:00",
    );
    let report = evaluate(&clock, &policy, &office, sh("2026-10-12 17:00"));
    assert_eq!(report.resolution.state, SlaState::Met);
    assert_eq!(report.resolution.elapsed_business_ms, 6 * HOUR_MS);

    // The customer says it is not fixed: reopened on Tuesday at 09:00 with 2h left.
    move_ticket(
        &mut clock,
        &office,
        TicketStatus::Resolved,
        TicketStatus::InProgress,
        "2026-10-13 09:00",
    );
    assert_eq!(clock.resolved_at_ms, None);
    assert_eq!(clock.responded_at_ms, Some(sh("2026-10-12 09:20")));
    let report = evaluate(&clock, &policy, &office, sh("2026-10-13 09:00"));
    assert_eq!(report.first_response.state, SlaState::Met);
    assert_eq!(report.resolution.state, SlaState::Running);
    assert_eq!(report.resolution.due_at_ms, Some(sh("2026-10-13 11:00")));
    assert_eq!(report.next_check_at_ms, Some(sh("2026-10-13 09:24")));
    let report = evaluate(&clock, &policy, &office, sh("2026-10-13 11:00"));
    assert_eq!(report.resolution.state, SlaState::Breached);

    // Resolved late, then closed: breached for good, and nothing more to wake for.
    move_ticket(
        &mut clock,
        &office,
        TicketStatus::InProgress,
        TicketStatus::Resolved,
        "2026-10-13 12:00",
    );
    move_ticket(
        &mut clock,
        &office,
        TicketStatus::Resolved,
        TicketStatus::Closed,
        "2026-10-16 12:00",
    );
    let report = evaluate(&clock, &policy, &office, sh("2026-10-20 12:00"));
    assert_eq!(report.resolution.state, SlaState::Breached);
    assert_eq!(report.resolution.elapsed_business_ms, 9 * HOUR_MS);
    assert_eq!(report.next_check_at_ms, None);
    // Closed is final.
    let error = status_changed(
        &mut clock,
        &office,
        TicketStatus::Closed,
        TicketStatus::InProgress,
        sh("2026-10-21 12:00"),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot move a ticket from closed to in_progress; closed is final"
    );
}

#[test]
fn rules_pick_policies_departments_and_follow_ups() {
    let rules = rules();
    assert_eq!(rules.calendar().name(), "office");
    assert_eq!(rules.escalate_to(), Some("supervisors"));

    let policy_name = |priority, category| rules.policy_for(priority, category).name.clone();
    assert_eq!(policy_name(Priority::Urgent, "complaint/billing"), "urgent");
    assert_eq!(
        policy_name(Priority::High, "complaint/billing"),
        "complaints"
    );
    assert_eq!(policy_name(Priority::Low, "complaint"), "complaints");
    assert_eq!(policy_name(Priority::Normal, "billing"), "standard");
    // Nothing matches a low-priority billing ticket: the built-in default.
    assert_eq!(
        rules.policy_for(Priority::Low, "billing"),
        &SlaPolicy::default()
    );
    let complaints = rules.policy_for(Priority::High, "complaint/x");
    assert_eq!(
        (
            complaints.first_response_ms,
            complaints.resolution_ms,
            complaints.warn_at_percent
        ),
        (HOUR_MS, 8 * HOUR_MS, 75)
    );

    assert_eq!(rules.department_for("billing/refund"), Some("refunds"));
    assert_eq!(
        rules.department_for("billing/refund/partial"),
        Some("finance")
    );
    assert_eq!(rules.department_for("billing"), Some("finance"));
    assert_eq!(
        rules.department_for("repair/air_conditioner"),
        Some("field_service")
    );
    assert_eq!(rules.department_for("repairs"), Some("service_desk"));
    assert_eq!(rules.department_for(""), Some("service_desk"));

    // A repair resolved on Wednesday 30 September: three days later is Saturday 3 October,
    // inside Golden Week, so the call waits for the office to open on Friday 9 October.
    assert_eq!(
        rules.follow_up_due("repair/washing_machine", sh("2026-09-30 15:00")),
        Some(sh("2026-10-09 09:00"))
    );
    // A complaint resolved on Friday 16 October at 11:00: a day later is Saturday, closed.
    assert_eq!(
        rules.follow_up_due("complaint/staff", sh("2026-10-16 11:00")),
        Some(sh("2026-10-19 09:00"))
    );
    // On Monday, a day later is Tuesday at the same hour, open.
    assert_eq!(
        rules.follow_up_due("complaint/staff", sh("2026-10-12 11:00")),
        Some(sh("2026-10-13 11:00"))
    );
    assert_eq!(rules.follow_up_due("billing", sh("2026-10-12 11:00")), None);

    // The complaints policy on the rules' calendar: warning at 75 % (6h) of 8h.
    let created_ms = sh("2026-09-30 17:00");
    let mut clock = SlaClock::start(created_ms);
    clock.respond(created_ms + 10 * MINUTE_MS);
    let report = rules.evaluate(
        &clock,
        Priority::High,
        "complaint/staff",
        created_ms + HOUR_MS,
    );
    assert_eq!(report.resolution.due_at_ms, Some(sh("2026-10-09 16:00")));
    assert_eq!(report.next_check_at_ms, Some(sh("2026-10-09 14:00")));
}

#[test]
fn a_section_left_out_is_always_open_with_the_default_policy() {
    let rules = TicketRules::from_spec(&TicketsSpec::default(), |_| None).unwrap();
    assert_eq!(rules.calendar().name(), "always_open");
    assert_eq!(
        rules.policy_for(Priority::Urgent, "anything"),
        &SlaPolicy::default()
    );
    assert_eq!(rules.department_for("anything"), None);
    assert_eq!(rules.follow_up_due("anything", 0), None);
    assert_eq!(rules.escalate_to(), None);
    let report = rules.evaluate(&SlaClock::start(0), Priority::Normal, "x", 0);
    assert_eq!(report.resolution.due_at_ms, Some(40 * HOUR_MS));
    assert_eq!(
        TicketRules::default().policy_for(Priority::Low, "x"),
        &SlaPolicy::default()
    );
}

/// Checks that a section is refused with exactly `expected`.
fn check_refused(toml_text: &str, expected: &str) {
    match rules_from(toml_text) {
        Ok(_) => panic!("accepted, expected {expected:?}:\n{toml_text}"),
        Err(message) => assert_eq!(message, expected, "in:\n{toml_text}"),
    }
}

#[test]
fn spec_errors_name_the_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"calendar = "night_shift""#,
            r#"calendar: no calendar named "night_shift"; leave calendar out for always open"#,
        ),
        (
            r#"
            [[policies]]
            name = "vip"
            first_response = "30m"
            resolution = "4h"
            [[policies]]
            name = "standard"
            priority = "normal"
            first_response = "4h"
            resolution = "4x"
            "#,
            r#"policies[1].resolution: invalid duration "4x"; expected forms like "4h", "90m", "1h30m""#,
        ),
        (
            r#"
            [[policies]]
            name = "standard"
            first_response = "1d"
            resolution = "40h"
            "#,
            r#"policies[0].first_response: invalid duration "1d"; expected forms like "4h", "90m", "1h30m""#,
        ),
        (
            r#"
            [[policies]]
            name = "standard"
            first_response = "0m"
            resolution = "40h"
            "#,
            r#"policies[0].first_response: duration "0m" is zero; it must be longer"#,
        ),
        (
            r#"
            [[policies]]
            name = "standard"
            first_response = "8h"
            resolution = "1001h"
            "#,
            r#"policies[0].resolution: duration "1001h" is too long; at most 1000h"#,
        ),
        (
            r#"
            [[policies]]
            name = "standard"
            first_response = "8h"
            resolution = "4h30m"
            "#,
            "policies[0].first_response: 8h is longer than the resolution target 4h30m; a \
             ticket is answered before it is resolved",
        ),
        (
            r#"
            [[policies]]
            name = "hot"
            priority = "hi"
            first_response = "1h"
            resolution = "4h"
            "#,
            r#"policies[0].priority: unknown priority "hi"; expected one of "urgent", "high", "normal", "low""#,
        ),
        (
            r#"
            [[policies]]
            name = "standard"
            first_response = "1h"
            resolution = "4h"
            warn_at_percent = 0
            "#,
            "policies[0].warn_at_percent: 0 is out of range; expected 1 to 100 (100: no \
             warning before the breach)",
        ),
        (
            r#"
            [[policies]]
            name = "standard"
            first_response = "1h"
            resolution = "4h"
            warn_at_percent = 300
            "#,
            "policies[0].warn_at_percent: 300 is out of range; expected 1 to 100 (100: no \
             warning before the breach)",
        ),
        (
            r#"
            [[policies]]
            name = "vip"
            priority = "urgent"
            first_response = "1h"
            resolution = "4h"
            [[policies]]
            name = "vip"
            priority = "high"
            first_response = "1h"
            resolution = "4h"
            "#,
            r#"policies[1].name: "vip" is also the name of policies[0]; names must differ"#,
        ),
        (
            r#"
            [[policies]]
            name = ""
            first_response = "1h"
            resolution = "4h"
            "#,
            "policies[0].name: the name is empty",
        ),
        (
            r#"
            [[policies]]
            name = "billing"
            category = "billing/*"
            first_response = "2h"
            resolution = "8h"
            [[policies]]
            name = "refunds"
            priority = "urgent"
            category = "billing/refund"
            first_response = "1h"
            resolution = "4h"
            "#,
            r#"policies[1]: policy "refunds" is never used: policies[0] ("billing") comes first and matches every ticket it would; put the more specific policy first"#,
        ),
        (
            r#"
            [[policies]]
            name = "billing"
            category = "billing//refund"
            first_response = "2h"
            resolution = "8h"
            "#,
            r#"policies[0].category: invalid category "billing//refund"; expected a category such as "billing/refund", a category and all below it such as "billing/*", or "*" for all"#,
        ),
        (
            r#"
            [[routes]]
            category = "billing/*"
            department = "finance"
            [[routes]]
            category = "billing/**"
            department = "finance"
            "#,
            r#"routes[1].category: invalid category "billing/**"; expected a category such as "billing/refund", a category and all below it such as "billing/*", or "*" for all"#,
        ),
        (
            r#"
            [[routes]]
            category = "*"
            department = "service_desk"
            [[routes]]
            category = "billing/*"
            department = "finance"
            "#,
            r#"routes[1].category: this route is never used: routes[0] ("*") comes first and matches every category "billing/*" does; put the more specific entry first"#,
        ),
        (
            r#"
            [[routes]]
            category = "billing"
            department = " finance"
            "#,
            r#"routes[0].department: " finance" begins or ends with spaces"#,
        ),
        (
            r#"
            [[follow_ups]]
            category = "repair/*"
            after = "3 days"
            "#,
            r#"follow_ups[0].after: invalid duration "3 days"; expected forms like "3d", "72h", "1d12h", "90m""#,
        ),
        (
            r#"
            [[follow_ups]]
            category = "repair/*"
            after = "367d"
            "#,
            r#"follow_ups[0].after: duration "367d" is too long; at most 366d"#,
        ),
        (
            r#"
            [[follow_ups]]
            category = "repair/*"
            after = "3d"
            [[follow_ups]]
            category = "repair/washer"
            after = "1d"
            "#,
            r#"follow_ups[1].category: this follow-up is never used: follow_ups[0] ("repair/*") comes first and matches every category "repair/washer" does; put the more specific entry first"#,
        ),
        (r#"escalate_to = """#, "escalate_to: the name is empty"),
    ];
    for (toml_text, expected) in cases {
        check_refused(toml_text, expected);
    }
}

#[test]
fn too_many_routes_are_refused() {
    let one = "[[routes]]\ncategory = \"a\"\ndepartment = \"d\"\n";
    check_refused(
        &one.repeat(ROUTES_MAX + 1),
        &format!("routes: {} entries; at most {ROUTES_MAX}", ROUTES_MAX + 1),
    );
}

#[test]
fn unknown_fields_are_refused() {
    let error = rules_from(
        r#"
        [[policies]]
        name = "standard"
        first_response = "1h"
        resolutoin = "4h"
        "#,
    )
    .unwrap_err();
    assert!(error.contains("resolutoin"), "{error}");
    let error = rules_from(r#"calender = "office""#).unwrap_err();
    assert!(error.contains("calender"), "{error}");
}
