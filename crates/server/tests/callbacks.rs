//! `/api/v1/callbacks` with the outbound task and real records (SQLite, and PostgreSQL in
//! the test command's second pass): a request is answered with its promise only once it is
//! stored, duplicates and bad input are refused by field, and a restart restores the tasks.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hotline_server::api::{self, ApiState};
use hotline_store::{CustomerFields, Keyring, Phone, Preferences, Records, Role};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const ALL_DAY: &str = "00:00-24:00";

/// The dialer's rules: legal hours all day (the test runs at any hour), or as given.
fn rules(weekly_hours: &str) -> hotline_dialer::DialerRules {
    let days: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!(weekly_hours)))
        .collect();
    let config: hotline_dialer::DialerConfig = serde_json::from_value(json!({
        "legal_hours": { "name": "legal", "time_zone": "Asia/Shanghai", "weekly": days },
    }))
    .unwrap();
    hotline_dialer::DialerRules::from_config(&config).unwrap()
}

struct Center {
    router: axum::Router,
    key: String,
    outbound: hotline_server::outbound::Outbound,
    task: tokio::task::JoinHandle<hotline_server::outbound::OutboundStats>,
}

async fn center(records: Records, rules: hotline_dialer::DialerRules) -> Center {
    // A key of its own for each start (the name must be new).
    let name = format!("web-form-{}", records.api_keys().await.unwrap().len());
    let key = records
        .create_api_key(&name, Role::Agent, 0, "t")
        .await
        .unwrap()
        .1;
    let display = rules.default_legal_hours().clone();
    let (outbound, task) = hotline_server::outbound::spawn(
        records.clone(),
        rules,
        display,
        std::time::Duration::from_millis(50),
        None,
    )
    .await
    .unwrap();
    let router = api::router(ApiState {
        outbound: Some(outbound.clone()),
        ..ApiState::new(records.clone())
    });
    Center {
        router,
        key,
        outbound,
        task,
    }
}

impl Center {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.key));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/api/v1/callbacks", Some(body), None)
            .await
    }

    async fn stop(self) -> hotline_server::outbound::OutboundStats {
        drop(self.router);
        drop(self.outbound);
        self.task.await.unwrap()
    }
}

fn wang(contact_hours: Option<&str>, do_not_call: bool) -> CustomerFields {
    let number =
        hotline_phone::normalize("13800138000", &hotline_phone::NumberContext::default()).unwrap();
    CustomerFields {
        external_id: Some(format!("CRM-{}", u8::from(do_not_call))),
        name: Some("王芳".into()),
        phones: vec![Phone {
            number,
            label: None,
        }],
        level: "vip".into(),
        value_score: 900,
        do_not_call,
        preferences: Preferences {
            contact_hours: contact_hours
                .map(|hours| serde_json::from_value(json!({ "mon": hours })).unwrap()),
            ..Preferences::default()
        },
        ..CustomerFields::default()
    }
}

#[tokio::test]
async fn a_request_is_promised_stored_and_restored_and_bad_ones_are_refused_by_field() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let customer = records
        .create_customer(&wang(None, false), 1, "t")
        .await
        .unwrap()
        .id;
    let blocked = records
        .create_customer(&wang(None, true), 1, "t")
        .await
        .unwrap()
        .id;
    let center = center(records.clone(), rules(ALL_DAY)).await;
    let before = hotline_server::api::now_ms();
    let request = json!({
        "channel": "web_form",
        "customer_id": customer.0,
        "reason": "洗衣机漏水",
        "need_tags": ["洗衣机"],
        "payload": { "order": "JD-42" },
    });
    let (status, accepted) = center
        .call(
            Method::POST,
            "/api/v1/callbacks",
            Some(request.clone()),
            Some("form-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!(accepted["state"], "accepted");
    let promised = accepted["promised_ms"].as_i64().unwrap();
    assert!(
        (before..=before + 31_000 + 5_000).contains(&promised),
        "ASAP within the 30 s promise: {accepted}"
    );
    assert_eq!(accepted["number"], "138****8000", "masked");
    let id = accepted["id"].as_i64().unwrap();
    // Stored before the answer, with the dialer's snapshot.
    let stored = records.callback_task(id).await.unwrap().unwrap();
    assert_eq!(stored.fields.promised_ms, promised);
    assert!(stored.snapshot.is_some());
    // The form posted twice with its key: the same answer, one task.
    let (status, again) = center
        .call(
            Method::POST,
            "/api/v1/callbacks",
            Some(request.clone()),
            Some("form-1"),
        )
        .await;
    assert_eq!(
        (status, again["id"].as_i64()),
        (StatusCode::CREATED, Some(id))
    );
    // Without the key, the same customer and reason is a duplicate naming the first.
    let (status, duplicate) = center.post(request.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{duplicate}");
    assert!(
        duplicate["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&id.to_string()),
        "{duplicate}"
    );
    // Bad requests name their field.
    for (body, field) in [
        (
            json!({ "channel": "fax", "number": "13912345678", "reason": "x" }),
            "channel",
        ),
        (json!({ "channel": "app", "reason": "x" }), "number"),
        (
            json!({ "channel": "app", "number": "12", "reason": "x" }),
            "number",
        ),
        (
            json!({ "channel": "app", "customer_id": 999, "reason": "x" }),
            "customer_id",
        ),
        (
            json!({ "channel": "app", "customer_id": blocked.0, "reason": "x" }),
            "customer_id",
        ),
        (
            json!({ "channel": "app", "number": "13912345678", "reason": "x",
                    "window": { "start_ms": 10, "end_ms": 5 } }),
            "window.end_ms",
        ),
        (
            json!({ "channel": "app", "number": "13912345678", "reason": "x",
                    "window": { "start_ms": 1_000, "end_ms": 2_000 } }),
            "window",
        ),
    ] {
        let (status, error) = center.post(body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {error}");
        assert_eq!(error["error"]["field"], field, "{body} → {error}");
    }
    let (status, listed) = center
        .call(Method::GET, "/api/v1/callbacks?state=pending", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let stats = center.stop().await;
    assert_eq!(stats.accepted, 1);

    // A restart: the task comes back from the records, still a duplicate for the dialer.
    let center = self::center(records.clone(), rules(ALL_DAY)).await;
    let (status, _) = center.post(request.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = center
        .call(
            Method::DELETE,
            &format!("/api/v1/callbacks/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = center
        .call(
            Method::DELETE,
            &format!("/api/v1/callbacks/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "no longer waiting");
    // Cancelled, the customer may ask again.
    let (status, _) = center.post(request).await;
    assert_eq!(status, StatusCode::CREATED);
    let stats = center.stop().await;
    assert_eq!(stats.restored, 1);
}

#[tokio::test]
async fn a_request_outside_the_customers_hours_is_promised_when_they_open_or_refused_if_never() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    // Mondays 19:00-21:00 only, and legal hours 09:00-18:00: they never meet.
    let evenings = records
        .create_customer(&wang(Some("19:00-21:00"), false), 1, "t")
        .await
        .unwrap()
        .id;
    let center = center(records.clone(), rules("09:00-18:00")).await;
    let (status, error) = center
        .post(json!({ "channel": "wechat", "customer_id": evenings.0, "reason": "账单" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "window", "{error}");
    center.stop().await;
    // With legal hours all day, the promise is the next Monday 19:00 in Shanghai (or now,
    // when the test runs inside that window).
    let center = self::center(records, rules(ALL_DAY)).await;
    let (status, accepted) = center
        .post(json!({ "channel": "wechat", "customer_id": evenings.0, "reason": "账单" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let local = accepted["promised_local"].as_str().unwrap();
    let hour: u32 = local[11..13].parse().unwrap();
    assert!((19..21).contains(&hour), "promised {local}");
    center.stop().await;
}

#[tokio::test]
async fn without_the_dialer_requests_are_refused_as_unavailable() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let (_, key) = records
        .create_api_key("web-form", Role::Agent, 0, "t")
        .await
        .unwrap();
    let router = api::router(ApiState::new(records));
    let response = router
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/callbacks")
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({ "channel": "app", "number": "13912345678", "reason": "x" }).to_string(),
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_resolved_tickets_follow_up_visit_becomes_one_callback_task_and_a_do_not_call_one_is_not_called(
) {
    use hotline_store::{NewTicket, TicketChange};
    use hotline_tickets::{Priority, TicketRules, TicketStatus, TicketsSpec};
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let mut consenting = wang(None, false);
    consenting.consent = true;
    let customer = records
        .create_customer(&consenting, 1, "t")
        .await
        .unwrap()
        .id;
    let mut refusing = wang(None, true);
    refusing.consent = true;
    let blocked = records.create_customer(&refusing, 1, "t").await.unwrap().id;
    let spec: TicketsSpec =
        serde_json::from_value(json!({ "follow_ups": [{ "category": "*", "after": "1d" }] }))
            .unwrap();
    let rules = TicketRules::from_spec(&spec, |_| None).unwrap();
    // Both tickets were resolved two days ago: their follow-ups fell due yesterday.
    let two_days_ago = hotline_server::api::now_ms() - 2 * 86_400_000;
    let mut tickets = Vec::new();
    for who in [customer, blocked] {
        let ticket = records
            .create_ticket(
                &NewTicket {
                    title: "洗衣机漏水".into(),
                    description: None,
                    category: "repair".into(),
                    priority: Priority::Normal,
                    customer: Some(who),
                    interaction: None,
                    assignee: None,
                    department: None,
                },
                &rules,
                two_days_ago - 60_000,
                "agent",
            )
            .await
            .unwrap();
        let resolve = TicketChange {
            status: Some(TicketStatus::Resolved),
            ..TicketChange::default()
        };
        records
            .change_ticket(ticket.id, &resolve, None, &rules, two_days_ago, "agent")
            .await
            .unwrap();
        tickets.push(ticket.id);
    }
    let center = center(records.clone(), rules_all_day()).await;
    let mut queued = Vec::new();
    for _ in 0..200 {
        queued = records
            .callback_tasks(&hotline_store::CallbackFilter::default())
            .await
            .unwrap();
        let done = records
            .ticket(tickets[1])
            .await
            .unwrap()
            .unwrap()
            .follow_up
            .is_some_and(|f| f.state == "done");
        if !queued.is_empty() && done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        queued.len(),
        1,
        "one task, for the customer who may be called"
    );
    let task = &queued[0];
    assert_eq!(task.fields.channel, "follow_up");
    assert_eq!(task.fields.customer, Some(customer));
    assert_eq!(task.fields.ticket, Some(tickets[0]));
    let first = records.ticket(tickets[0]).await.unwrap().unwrap();
    assert_eq!(first.follow_up.unwrap().state, "queued");
    let second = records.ticket(tickets[1]).await.unwrap().unwrap();
    let follow_up = second.follow_up.unwrap();
    assert_eq!(
        (follow_up.state.as_str(), follow_up.outcome.as_deref()),
        ("done", Some("not_called"))
    );
    // Staff cancel the visit's call (settled another way): the visit is done, not called,
    // rather than queued for ever.
    let (status, body) = center
        .call(
            Method::DELETE,
            &format!("/api/v1/callbacks/{}", task.id),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let mut closed = None;
    for _ in 0..200 {
        let follow_up = records.ticket(tickets[0]).await.unwrap().unwrap().follow_up;
        if follow_up.as_ref().is_some_and(|f| f.state == "done") {
            closed = follow_up;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let closed = closed.expect("the visit is closed when its call is cancelled");
    assert_eq!(closed.outcome.as_deref(), Some("not_called"));
    let stats = center.stop().await;
    assert_eq!(
        (stats.follow_ups_queued, stats.follow_ups_not_called),
        (1, 1)
    );
    assert_eq!(stats.follow_ups_closed, 1);
}

fn rules_all_day() -> hotline_dialer::DialerRules {
    rules(ALL_DAY)
}

#[tokio::test]
async fn the_outbound_figures_are_for_supervisors_and_projected_from_the_log() {
    use hotline_store::{EventLog, NewEvent};
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let log = hotline_store::SqliteEventLog::open(data.path().join("events.db"))
        .await
        .unwrap();
    let row = |at_ms: i64, kind: &str, contact: Option<i64>, data: Value| NewEvent {
        at_ms,
        kind: kind.into(),
        contact_id: contact,
        agent: None,
        queue: None,
        data,
    };
    log.append(&[
        row(
            1_000,
            "callback.requested",
            None,
            json!({"task": 1, "channel": "app", "promised_ms": 31_000}),
        ),
        row(
            1_100,
            "callback.attempt_started",
            None,
            json!({"task": 1, "attempt": 1}),
        ),
        row(
            1_200,
            "call.outbound_queued",
            Some(9),
            json!({"task": 1, "attempt": 1}),
        ),
        row(
            3_000,
            "call.callback_dialling",
            Some(9),
            json!({"attempt": 1}),
        ),
        row(
            8_000,
            "call.outbound_ended",
            Some(9),
            json!({"task": 1, "attempt": 1, "result": "connected"}),
        ),
        row(8_000, "callback.done", None, json!({"task": 1})),
    ])
    .await
    .unwrap();
    let supervisor = records
        .create_api_key("wall", Role::Supervisor, 0, "t")
        .await
        .unwrap()
        .1;
    let agent = records
        .create_api_key("desk", Role::Agent, 0, "t")
        .await
        .unwrap()
        .1;
    let router = api::router(ApiState {
        log: Some(log),
        outbound_metrics: Some(hotline_server::outbound_metrics::OutboundMetrics::default()),
        ..ApiState::new(records)
    });
    let get = |uri: &str, key: &str| {
        let request = Request::builder()
            .uri(uri)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let uri = "/api/v1/metrics/outbound?from_ms=0&to_ms=100000";
    let (status, _) = get(uri, &agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = get(uri, &supervisor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app = &body["by_channel"]["app"];
    assert_eq!(app["requested"], 1);
    assert_eq!(app["connect_rate"], 1.0);
    assert_eq!(app["trigger_to_first_dial_ms"]["p50"], 2_000);
    assert_eq!(app["trigger_to_connected_ms"]["max"], 7_000);
    assert_eq!(body["total"]["timeliness"], 1.0);
    // No wall kept by this server.
    let (status, _) = get("/api/v1/metrics/wall", &agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get("/api/v1/metrics/wall", &supervisor).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, body) = get("/api/v1/metrics/outbound?from_ms=5&to_ms=5", &supervisor).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "from_ms", "{body}");
}

#[tokio::test]
async fn preview_lists_the_due_callbacks_and_dialling_needs_a_center_that_places_calls() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let customer = records
        .create_customer(&wang(None, false), 1, "t")
        .await
        .unwrap()
        .id;
    let center = center(records.clone(), rules(ALL_DAY)).await;
    let (status, accepted) = center
        .post(json!({"channel": "app", "customer_id": customer.0, "reason": "安装预约"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let (status, cards) = center
        .call(Method::GET, "/api/v1/callbacks/preview", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{cards}");
    assert_eq!(cards[0]["id"], accepted["id"]);
    assert_eq!(cards.as_array().unwrap().len(), 1);
    let (status, body) = center
        .call(Method::GET, "/api/v1/callbacks/preview?limit=0", None, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "limit");
    // This center keeps callbacks but places no calls.
    let uri = format!("/api/v1/callbacks/{}/dial", accepted["id"]);
    let (status, body) = center
        .call(Method::POST, &uri, Some(json!({"agent": "ann"})), None)
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, body) = center
        .call(Method::POST, &uri, Some(json!({"agnet": "ann"})), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    center.stop().await;
}

#[tokio::test]
async fn campaigns_are_for_supervisors_and_their_numbers_are_checked_one_by_one() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    // 王芳 asked not to be called: her number is refused wherever it comes from.
    let dnc = records
        .create_customer(&wang(None, true), 1, "t")
        .await
        .unwrap()
        .id;
    let mut center = center(records.clone(), rules(ALL_DAY)).await;
    let create = json!({"name": "续保 renewals", "queue": "general"});
    let (status, _) = center
        .call(
            Method::POST,
            "/api/v1/campaigns",
            Some(create.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents do not run campaigns");
    center.key = records
        .create_api_key("supervisor", Role::Supervisor, 0, "t")
        .await
        .unwrap()
        .1;
    for (body, field) in [
        (
            json!({"name": "x", "queue": "general", "pacer": "fast"}),
            "pacer",
        ),
        (
            json!({"name": "x", "queue": "general", "abandon_cap": 0.9}),
            "abandon_cap",
        ),
        (json!({"name": " ", "queue": "general"}), "name"),
    ] {
        let (status, answer) = center
            .call(Method::POST, "/api/v1/campaigns", Some(body), None)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (status, campaign) = center
        .call(
            Method::POST,
            "/api/v1/campaigns",
            Some(create.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    assert_eq!(campaign["state"], "running");
    assert_eq!(campaign["pacer"], "model");
    assert_eq!(campaign["abandon_cap"], 0.03);
    assert_eq!(campaign["live"]["ringing"], 0);
    let (status, answer) = center
        .call(Method::POST, "/api/v1/campaigns", Some(create), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the same name: {answer}");
    let (status, answer) = center
        .call(
            Method::POST,
            "/api/v1/campaigns",
            Some(json!({"name": "another", "queue": "general"})),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "one per queue: {answer}");

    let id = campaign["id"].as_i64().unwrap();
    let numbers = format!("/api/v1/campaigns/{id}/numbers");
    let (status, answer) = center
        .call(Method::POST, &numbers, Some(json!({"numbers": []})), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["field"], "numbers");
    let list = json!({"numbers": [
        {"number": "13900139000", "payload": {"policy": "P-1"}},
        {"number": "not a number"},
        {"number": "138 0013 8000"},
        {"customer_id": dnc.0},
        {"number": "+86 139 0013 9000"},
    ]});
    let (status, added) = center.call(Method::POST, &numbers, Some(list), None).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["accepted"], 1, "{added}");
    let skipped: Vec<(i64, String)> = added["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["index"].as_i64().unwrap(),
                s["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            (1, "numbers[1].number".to_string()),
            (2, "numbers[2].customer_id".to_string()),
            (3, "numbers[3].customer_id".to_string()),
            (4, "numbers[4]".to_string()),
        ],
        "{added}"
    );
    let (status, list) = center
        .call(Method::GET, "/api/v1/campaigns", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["numbers"]["pending"], 1, "{list}");
    assert_eq!(list[0]["live"]["active"], 1, "{list}");
    // The task is a callback like any, of the campaign, placed predictively.
    let (_, tasks) = center
        .call(Method::GET, "/api/v1/callbacks", None, None)
        .await;
    assert_eq!(tasks[0]["campaign_id"], id);
    assert_eq!(tasks[0]["mode"], "predictive");
    assert_eq!(tasks[0]["channel"], "campaign");

    let this = format!("/api/v1/campaigns/{id}");
    let (status, answer) = center
        .call(Method::PATCH, &this, Some(json!({"state": "asleep"})), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["field"], "state");
    let (status, paused) = center
        .call(Method::PATCH, &this, Some(json!({"state": "paused"})), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["state"], "paused");
    let (status, stopped) = center
        .call(
            Method::PATCH,
            &this,
            Some(json!({"state": "stopped"})),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["numbers"]["cancelled"], 1, "{stopped}");
    assert_eq!(stopped["live"], Value::Null);
    let (status, _) = center
        .call(
            Method::PATCH,
            &this,
            Some(json!({"state": "running"})),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a stopped campaign stays stopped"
    );
    let (status, _) = center
        .call(
            Method::POST,
            &numbers,
            Some(json!({"numbers": [{"number": "13700137000"}]})),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = center
        .call(Method::GET, "/api/v1/campaigns/999", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A stopped campaign frees its queue.
    let (status, answer) = center
        .call(
            Method::POST,
            "/api/v1/campaigns",
            Some(json!({"name": "another", "queue": "general", "pacer": "vicidial"})),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    // A callback request may name its mode; predictive is for campaigns.
    let (status, answer) = center
        .post(
            json!({"channel": "app", "number": "13600136000", "reason": "r", "mode": "predictive"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["field"], "mode");
    let (status, answer) = center
        .post(
            json!({"channel": "app", "number": "13600136000", "reason": "r", "mode": "automatic"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    center.stop().await;
}

#[tokio::test]
async fn the_wall_charts_are_for_supervisors_and_check_the_hours_and_the_queue() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let routing = hotline_config::parse_routing(
        "charts.toml",
        "[routing]\n[[routing.queues]]\nname = \"general\"\nservice_level = \"90/30\"\n[[routing.agents]]\nname = \"ann\"\nqueues = [\"general\"]\n",
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let wall = hotline_server::wall::WallMetrics::new(hotline_server::wall::Wall::new(
        std::sync::Arc::new(routing),
        now,
    ));
    let supervisor = records
        .create_api_key("wall", Role::Supervisor, 0, "t")
        .await
        .unwrap()
        .1;
    let agent = records
        .create_api_key("desk", Role::Agent, 0, "t")
        .await
        .unwrap()
        .1;
    let router = api::router(ApiState {
        wall: Some((
            wall,
            std::sync::Arc::new(hotline_calendar::Calendar::always_open()),
        )),
        ..ApiState::new(records)
    });
    let get = |uri: &str, key: &str| {
        let request = Request::builder()
            .uri(uri)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let (status, _) = get("/api/v1/metrics/wall/history", &agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = get("/api/v1/metrics/wall/history", &supervisor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["queue"], Value::Null);
    assert_eq!(body["interval_ms"], 900_000);
    let points = body["points"].as_array().unwrap();
    // Eight hours of 15-minute intervals, the one under way included.
    assert!((32..=33).contains(&points.len()), "{}", points.len());
    assert!(points.iter().all(|p| p["offered"] == 0));
    let (status, body) = get(
        "/api/v1/metrics/wall/history?hours=1&queue=general",
        &supervisor,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["queue"], "general");
    assert_eq!(body["service_level_goal"], 0.9);
    assert!(body["points"].as_array().unwrap().len() <= 5);
    for (uri, field) in [
        ("/api/v1/metrics/wall/history?hours=0", "hours"),
        ("/api/v1/metrics/wall/history?hours=25", "hours"),
        ("/api/v1/metrics/wall/history?queue=nowhere", "queue"),
    ] {
        let (status, body) = get(uri, &supervisor).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {body}");
        assert_eq!(body["error"]["field"], field, "{uri}: {body}");
    }
}
