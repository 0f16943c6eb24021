//! Tickets in the records database: workflow, SLA clock, history, follow-ups and tracking
//! links, each change one transaction.

use hotline_calendar::{Calendar, CalendarSpec};
use hotline_store::{
    Keyring, NewTicket, Records, StoreError, TicketChange, TicketFilter, TicketId,
};
use hotline_tickets::{Priority, TicketRules, TicketStatus, TicketsSpec};
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;
/// Monday 2026-09-28 09:00 in Shanghai.
const MONDAY_9AM: i64 = 1_790_557_200_000;

fn rules() -> TicketRules {
    let calendar: CalendarSpec = serde_json::from_value(json!({
        "name": "office",
        "weekly": { "mon": "09:00-18:00", "tue": "09:00-18:00", "wed": "09:00-18:00",
                    "thu": "09:00-18:00", "fri": "09:00-18:00" },
        "holidays": ["2026-10-01..2026-10-08"]
    }))
    .unwrap();
    let calendar = Calendar::from_spec(&calendar).unwrap();
    let spec: TicketsSpec = serde_json::from_value(json!({
        "calendar": "office",
        "escalate_to": "shift-leads",
        "policies": [
            { "name": "complaints", "category": "complaint/*", "first_response": "1h", "resolution": "4h" },
            { "name": "standard", "first_response": "4h", "resolution": "16h" }
        ],
        "routes": [
            { "category": "complaint/*", "department": "customer-care" },
            { "category": "*", "department": "service" }
        ],
        "follow_ups": [ { "category": "complaint/*", "after": "3d" } ]
    }))
    .unwrap();
    TicketRules::from_spec(&spec, |name| (name == "office").then(|| calendar.clone())).unwrap()
}

async fn records() -> Records {
    hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap()
}

fn complaint() -> NewTicket {
    NewTicket {
        title: "退款未到账".into(),
        description: Some("客户 138 0013 8000 说三天前申请的退款还没到".into()),
        category: "complaint/refund".into(),
        priority: Priority::High,
        customer: None,
        interaction: None,
        assignee: None,
        department: None,
    }
}

#[tokio::test]
async fn a_ticket_is_routed_to_its_department_held_to_its_policy_and_its_history_kept() {
    let records = records().await;
    let rules = rules();
    let ticket = records
        .create_ticket(&complaint(), &rules, MONDAY_9AM, "agent-1001")
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::New);
    assert_eq!(ticket.fields.department.as_deref(), Some("customer-care"));
    assert_eq!(ticket.sla_policy, "complaints");
    // The first response is due at 10:00; the check comes at 80 % of it.
    assert_eq!(ticket.next_check_ms, Some(MONDAY_9AM + 48 * 60_000));
    assert_eq!(
        ticket.fields.description,
        complaint().description,
        "sealed and opened"
    );
    let change = TicketChange {
        assignee: Some(Some("li".into())),
        note: Some("已联系财务".into()),
        ..TicketChange::default()
    };
    let ticket = records
        .change_ticket(
            ticket.id,
            &change,
            Some(1),
            &rules,
            MONDAY_9AM + 60_000,
            "lead",
        )
        .await
        .unwrap();
    assert_eq!(
        ticket.status,
        TicketStatus::Assigned,
        "assigning a new ticket"
    );
    assert_eq!(ticket.version, 2);
    // A stale version is a conflict and changes nothing.
    let stale = records
        .change_ticket(ticket.id, &change, Some(1), &rules, MONDAY_9AM, "lead")
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    let history = records.ticket_history(ticket.id, 100).await.unwrap();
    let actions: Vec<_> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["created", "assignee", "status", "note"]);
    assert_eq!(history[3].note.as_deref(), Some("已联系财务"));
    assert_eq!(history[2].from.as_deref(), Some("new"));
    assert_eq!(history[2].to.as_deref(), Some("assigned"));
    // Lists filter by assignee and department.
    let filter = TicketFilter {
        assignee: Some("li".into()),
        ..TicketFilter::default()
    };
    assert_eq!(records.tickets(&filter).await.unwrap().len(), 1);
    let filter = TicketFilter {
        department: Some("service".into()),
        ..TicketFilter::default()
    };
    assert!(records.tickets(&filter).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_move_the_workflow_forbids_is_refused_naming_the_status_and_changes_nothing() {
    let records = records().await;
    let rules = rules();
    let ticket = records
        .create_ticket(&complaint(), &rules, MONDAY_9AM, "a")
        .await
        .unwrap();
    let change = TicketChange {
        status: Some(TicketStatus::WaitingOnCustomer),
        ..TicketChange::default()
    };
    let refused = records
        .change_ticket(ticket.id, &change, None, &rules, MONDAY_9AM, "a")
        .await;
    match refused {
        Err(StoreError::Invalid(error)) => {
            assert_eq!(error.field, "status");
            assert!(error.problem.contains("from new"), "{}", error.problem);
        }
        other => panic!("{other:?}"),
    }
    let unchanged = records.ticket(ticket.id).await.unwrap().unwrap();
    assert_eq!(unchanged, ticket);
    let empty = records
        .change_ticket(
            ticket.id,
            &TicketChange::default(),
            None,
            &rules,
            MONDAY_9AM,
            "a",
        )
        .await;
    assert!(matches!(empty, Err(StoreError::Invalid(_))));
    let missing = records
        .change_ticket(TicketId(999), &change, None, &rules, MONDAY_9AM, "a")
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
}

#[tokio::test]
async fn warnings_and_breaches_are_recorded_once_and_a_breach_escalates() {
    let records = records().await;
    let rules = rules();
    let ticket = records
        .create_ticket(&complaint(), &rules, MONDAY_9AM, "a")
        .await
        .unwrap();
    // Nothing is due before the first response's warning (09:48).
    let early = records
        .check_ticket_slas(&rules, MONDAY_9AM + 47 * 60_000)
        .await
        .unwrap();
    assert!(early.is_empty());
    assert_eq!(
        records.next_ticket_check().await.unwrap(),
        Some(MONDAY_9AM + 48 * 60_000)
    );
    let warned = records
        .check_ticket_slas(&rules, MONDAY_9AM + 48 * 60_000)
        .await
        .unwrap();
    assert_eq!(warned.len(), 1);
    assert_eq!(
        (warned[0].target, warned[0].state.as_str()),
        ("first_response", "warning")
    );
    let breached = records
        .check_ticket_slas(&rules, MONDAY_9AM + HOUR_MS)
        .await
        .unwrap();
    assert_eq!(breached.len(), 1);
    assert_eq!(breached[0].state, "breached");
    assert_eq!(breached[0].escalated_to.as_deref(), Some("shift-leads"));
    // Checked again at the same time: nothing new.
    let again = records
        .check_ticket_slas(&rules, MONDAY_9AM + HOUR_MS)
        .await
        .unwrap();
    assert!(again.is_empty());
    let stored = records.ticket(ticket.id).await.unwrap().unwrap();
    assert!(stored.escalated);
    assert_eq!(stored.sla_states.0, "breached");
    let filter = TicketFilter {
        breached: true,
        ..TicketFilter::default()
    };
    assert_eq!(records.tickets(&filter).await.unwrap().len(), 1);
    let actions: Vec<_> = records
        .ticket_history(ticket.id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(
        actions,
        ["created", "sla_warning", "sla_breached", "escalated"]
    );
}

#[tokio::test]
async fn waiting_on_the_customer_pauses_resolving_schedules_the_follow_up_and_its_outcome_is_kept()
{
    let records = records().await;
    let rules = rules();
    let ticket = records
        .create_ticket(&complaint(), &rules, MONDAY_9AM, "a")
        .await
        .unwrap();
    let to = |status| TicketChange {
        status: Some(status),
        ..TicketChange::default()
    };
    let id = ticket.id;
    records
        .change_ticket(
            id,
            &to(TicketStatus::InProgress),
            None,
            &rules,
            MONDAY_9AM + 10 * 60_000,
            "a",
        )
        .await
        .unwrap();
    let waiting = records
        .change_ticket(
            id,
            &to(TicketStatus::WaitingOnCustomer),
            None,
            &rules,
            MONDAY_9AM + 30 * 60_000,
            "a",
        )
        .await
        .unwrap();
    // Asking the customer answered them; the resolution clock stopped with 30 minutes used.
    assert_eq!(
        waiting.sla_states,
        ("met".to_string(), "paused".to_string())
    );
    assert_eq!(waiting.next_check_ms, None);
    assert_eq!(waiting.clock.business_ms_used_before_pause, 30 * 60_000);
    // Resolved on Wednesday 2026-09-30 at 15:00: the follow-up is three days later, but
    // 2026-10-03 is in the National Day holiday, so it moves to the next opening, 10-09 09:00.
    let wednesday_3pm = MONDAY_9AM + 2 * 24 * HOUR_MS + 6 * HOUR_MS;
    records
        .change_ticket(
            id,
            &to(TicketStatus::InProgress),
            None,
            &rules,
            wednesday_3pm - HOUR_MS,
            "a",
        )
        .await
        .unwrap();
    let resolved = records
        .change_ticket(
            id,
            &to(TicketStatus::Resolved),
            None,
            &rules,
            wednesday_3pm,
            "a",
        )
        .await
        .unwrap();
    let friday_9am = MONDAY_9AM + 11 * 24 * HOUR_MS;
    let follow_up = resolved.follow_up.clone().unwrap();
    assert_eq!(
        (follow_up.due_ms, follow_up.state.as_str()),
        (friday_9am, "scheduled")
    );
    assert!(records
        .follow_ups_due(friday_9am - 1, 10)
        .await
        .unwrap()
        .is_empty());
    let due = records.follow_ups_due(friday_9am, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let done = records
        .record_follow_up(
            id,
            "satisfied",
            Some("客户表示满意"),
            friday_9am + HOUR_MS,
            "agent-2",
        )
        .await
        .unwrap();
    assert_eq!(
        done.follow_up.unwrap().outcome.as_deref(),
        Some("satisfied")
    );
    let twice = records
        .record_follow_up(id, "satisfied", None, friday_9am + HOUR_MS, "agent-2")
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))));
    assert!(records
        .follow_ups_due(friday_9am, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_tracking_link_works_until_it_expires_or_is_revoked_and_a_forged_one_never() {
    let records = records().await;
    let rules = rules();
    let ticket = records
        .create_ticket(&complaint(), &rules, MONDAY_9AM, "a")
        .await
        .unwrap();
    let link = records
        .create_ticket_link(ticket.id, 24 * HOUR_MS, MONDAY_9AM, "a")
        .await
        .unwrap();
    let shown = records
        .ticket_by_token(&link.token, MONDAY_9AM + HOUR_MS)
        .await
        .unwrap();
    assert_eq!(shown.id, ticket.id);
    let refused =
        |result: Result<_, StoreError>| matches!(result, Err(StoreError::NotFound { .. }));
    // Expired.
    assert!(refused(
        records.ticket_by_token(&link.token, link.expires_ms).await
    ));
    // Another ticket's id in a genuine token's place, or a longer life: the signature fails.
    let forged = link.token.replacen(&format!("{}.", ticket.id.0), "2.", 1);
    assert!(refused(records.ticket_by_token(&forged, MONDAY_9AM).await));
    let parts: Vec<&str> = link.token.split('.').collect();
    let longer = format!(
        "{}.{}.{}.{}",
        parts[0],
        link.expires_ms + 1,
        parts[2],
        parts[3]
    );
    assert!(refused(records.ticket_by_token(&longer, MONDAY_9AM).await));
    assert!(refused(
        records.ticket_by_token("garbage", MONDAY_9AM).await
    ));
    // Revoked.
    records
        .revoke_ticket_link(ticket.id, &link.id, MONDAY_9AM + HOUR_MS, "a")
        .await
        .unwrap();
    assert!(refused(
        records
            .ticket_by_token(&link.token, MONDAY_9AM + HOUR_MS)
            .await
    ));
    let again = records
        .revoke_ticket_link(ticket.id, &link.id, MONDAY_9AM + HOUR_MS, "a")
        .await;
    assert!(matches!(again, Err(StoreError::NotFound { .. })));
    // Lifetimes are bounded.
    let forever = records
        .create_ticket_link(ticket.id, 1_000 * 24 * HOUR_MS, MONDAY_9AM, "a")
        .await;
    assert!(matches!(forever, Err(StoreError::Invalid(_))));
}

/// Two nodes sharing one database: two `Records` on one SQLite file, or (in the PostgreSQL
/// pass) two pools on one PostgreSQL database, as two hotline processes would be.
async fn two_nodes() -> (Option<tempfile::TempDir>, Records, Records) {
    let keyring = Keyring::generate().unwrap();
    if std::env::var(hotline_store::testing::RECORDS_VAR).as_deref() == Ok("postgres") {
        let server = std::env::var(hotline_store::testing::POSTGRES_URL_VAR)
            .expect("the PostgreSQL pass names its server");
        let url = hotline_store::testing::fresh_postgres_database(&server)
            .await
            .unwrap();
        let a = Records::connect_postgres(&url, keyring.clone())
            .await
            .unwrap();
        let b = Records::connect_postgres(&url, keyring).await.unwrap();
        assert_eq!(a.backend(), hotline_store::Backend::Postgres);
        (None, a, b)
    } else {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.db");
        let a = Records::open(&path, keyring.clone()).await.unwrap();
        let b = Records::open(&path, keyring).await.unwrap();
        (Some(dir), a, b)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_sharing_one_database_never_lose_an_update_nor_duplicate_a_customer() {
    let (_dir, a, b) = two_nodes().await;
    // The CRM pushes the same customer through both nodes at once: one customer, every
    // update counted in its version.
    const UPSERTS: i64 = 24;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..UPSERTS {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move {
            let fields = hotline_store::CustomerFields {
                external_id: Some("CRM-7".into()),
                name: Some(format!("王芳 {i}")),
                ..hotline_store::CustomerFields::default()
            };
            node.upsert_customer(&fields, MONDAY_9AM + i, "crm").await
        });
    }
    let mut created = 0;
    while let Some(result) = tasks.join_next().await {
        let (_, was_created) = result.unwrap().unwrap();
        created += i64::from(was_created);
    }
    assert_eq!(created, 1, "one node creates, the others update");
    let customer = b.customer_by_external_id("CRM-7").await.unwrap().unwrap();
    assert_eq!(customer.version, UPSERTS, "no update lost");
    assert_eq!(a.customers(None, 100).await.unwrap().len(), 1);

    // Supervisors on both nodes assign the same ticket from the version they saw: exactly
    // one wins, the rest are told of the conflict, and the history shows one assignment.
    let rules = rules();
    let ticket = a
        .create_ticket(&complaint(), &rules, MONDAY_9AM, "agent-1001")
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let rules = rules.clone();
        tasks.spawn(async move {
            let change = TicketChange {
                assignee: Some(Some(format!("lead-{i}"))),
                ..TicketChange::default()
            };
            node.change_ticket(ticket.id, &change, Some(1), &rules, MONDAY_9AM + 1, "lead")
                .await
        });
    }
    let (mut won, mut conflicts) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!((won, conflicts), (1, 15));
    let history = b.ticket_history(ticket.id, 100).await.unwrap();
    assert_eq!(
        history.iter().filter(|h| h.action == "assignee").count(),
        1,
        "{history:?}"
    );
}
