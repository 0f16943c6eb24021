//! Webhooks through real sockets: a receiver on loopback that fails the first POST and takes
//! the retry; the signature checks out with the webhook's secret; the delivery log says so.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::post;
use hotline_server::api::{self, ApiState};
use hotline_server::webhooks::{signature, spawn, DispatchConfig};
use hotline_store::{EventLog, Keyring, NewEvent, Role, SqliteEventLog};
use serde_json::{json, Value};
use tower::ServiceExt;

type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

async fn receiver() -> (std::net::SocketAddr, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let store = store.clone();
            async move {
                let mut all = store.lock().unwrap();
                all.push((headers, body));
                // The first attempt fails: the dispatcher must retry.
                if all.len() == 1 {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, received)
}

async fn call(
    router: &axum::Router,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> Value {
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {key}"));
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            axum::body::Body::from(body.to_string())
        }
        None => axum::body::Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_retried_signed_and_logged_and_unwanted_kinds_are_not_sent() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let log = SqliteEventLog::open_in_memory().await.unwrap();
    log.append(&[NewEvent::new(1, "ticket.created")])
        .await
        .unwrap();
    let (_, admin) = records
        .create_api_key("admin", Role::Admin, 0, "t")
        .await
        .unwrap();
    let router = api::router(ApiState {
        log: Some(log.clone()),
        ..ApiState::new(records.clone())
    });
    let (address, received) = receiver().await;
    let webhook = call(
        &router,
        "POST",
        "/api/v1/webhooks",
        &admin,
        Some(json!({"url": format!("http://{address}/hook"), "kinds": ["ticket."]})),
    )
    .await;
    let secret = webhook["secret"]
        .as_str()
        .expect("the secret, once")
        .to_string();
    let id = webhook["id"].as_i64().unwrap();
    // After the webhook: one wanted event, one not.
    log.append(&[
        NewEvent::new(2, "call.arrived"),
        NewEvent::new(3, "ticket.overdue").with_data(json!({"ticket_id": 7})),
    ])
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = spawn(
        records.clone(),
        log,
        DispatchConfig {
            poll: Duration::from_millis(20),
            backoff: Duration::from_millis(50),
            max_attempts: hotline_server::webhooks::MAX_ATTEMPTS,
        },
        stopped,
    );
    let uri = format!("/api/v1/webhooks/{id}/deliveries");
    let mut deliveries = Value::Null;
    for _ in 0..500 {
        deliveries = call(&router, "GET", &uri, &admin, None).await;
        if deliveries[0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    let stats = dispatcher.await.unwrap();
    assert_eq!(deliveries.as_array().unwrap().len(), 1, "{deliveries}");
    let delivery = &deliveries[0];
    assert_eq!(delivery["state"], "delivered", "{deliveries}");
    assert_eq!(delivery["kind"], "ticket.overdue");
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["last_status"], 204);
    assert_eq!((stats.delivered, stats.failed_attempts), (1, 1));
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 2, "the failure and the retry, nothing else");
    for (headers, body) in received.iter() {
        let header = |name: &str| headers[name].to_str().unwrap().to_string();
        assert_eq!(header("x-hotline-event"), "ticket.overdue");
        assert_eq!(
            header("x-hotline-delivery"),
            delivery["id"].to_string(),
            "the same id on a retry"
        );
        let timestamp: i64 = header("x-hotline-timestamp").parse().unwrap();
        assert_eq!(
            header("x-hotline-signature"),
            signature(&secret, timestamp, body)
        );
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["kind"], "ticket.overdue");
        assert_eq!(event["data"]["ticket_id"], 7);
    }
    assert_ne!(
        signature("another secret", 1, &received[0].1),
        signature(&secret, 1, &received[0].1)
    );
}

/// Waits (bounded) until `done` holds for the webhook's delivery log; answers the log.
async fn wait_for(
    router: &axum::Router,
    admin: &str,
    id: i64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let uri = format!("/api/v1/webhooks/{id}/deliveries");
    let mut deliveries = Value::Null;
    for _ in 0..500 {
        deliveries = call(router, "GET", &uri, admin, None).await;
        if done(&deliveries) {
            return deliveries;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not reached: {deliveries}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_webhook_waits_a_failed_delivery_is_retried_by_hand_and_a_slow_receiver_holds_up_no_other(
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let log = SqliteEventLog::open_in_memory().await.unwrap();
    let (_, admin) = records
        .create_api_key("admin", Role::Admin, 0, "t")
        .await
        .unwrap();
    let router = api::router(ApiState {
        log: Some(log.clone()),
        ..ApiState::new(records.clone())
    });
    // A receiver that fails until fixed, a slow one, and a fast one; what happens in order.
    let fixed = Arc::new(AtomicBool::new(false));
    let order: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let app = {
        let (fixed, slow_order, fast_order) = (fixed.clone(), order.clone(), order.clone());
        axum::Router::new()
            .route(
                "/broken",
                post(move || {
                    let fixed = fixed.clone();
                    async move {
                        if fixed.load(Ordering::SeqCst) {
                            axum::http::StatusCode::OK
                        } else {
                            axum::http::StatusCode::SERVICE_UNAVAILABLE
                        }
                    }
                }),
            )
            .route(
                "/slow",
                post(move || {
                    let order = slow_order.clone();
                    async move {
                        order.lock().unwrap().push("slow starts");
                        tokio::time::sleep(Duration::from_millis(1_500)).await;
                        order.lock().unwrap().push("slow ends");
                        axum::http::StatusCode::OK
                    }
                }),
            )
            .route(
                "/fast",
                post(move || {
                    let order = fast_order.clone();
                    async move {
                        order.lock().unwrap().push("fast");
                        axum::http::StatusCode::OK
                    }
                }),
            )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut ids = Vec::new();
    for path in ["broken", "slow", "fast"] {
        let webhook = call(
            &router,
            "POST",
            "/api/v1/webhooks",
            &admin,
            Some(json!({ "url": format!("http://{address}/{path}") })),
        )
        .await;
        ids.push(webhook["id"].as_i64().unwrap());
    }
    let (broken, slow, fast) = (ids[0], ids[1], ids[2]);
    // Paused, the broken webhook gets nothing; its events wait for it.
    let paused = call(
        &router,
        "PATCH",
        &format!("/api/v1/webhooks/{broken}"),
        &admin,
        Some(json!({ "active": false })),
    )
    .await;
    assert_eq!(paused["active"], false, "{paused}");
    log.append(&[NewEvent::new(1, "ticket.created")])
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = spawn(
        records.clone(),
        log,
        DispatchConfig {
            poll: Duration::from_millis(20),
            backoff: Duration::from_millis(20),
            max_attempts: 2,
        },
        stopped,
    );
    wait_for(&router, &admin, fast, |d| d[0]["state"] == "delivered").await;
    let order_seen = order.lock().unwrap().clone();
    assert!(
        order_seen.contains(&"fast") && !order_seen.contains(&"slow ends"),
        "the fast receiver was served while the slow one was still answering: {order_seen:?}"
    );
    wait_for(&router, &admin, slow, |d| d[0]["state"] == "delivered").await;
    let none = call(
        &router,
        "GET",
        &format!("/api/v1/webhooks/{broken}/deliveries"),
        &admin,
        None,
    )
    .await;
    assert_eq!(none, json!([]), "nothing for a paused webhook");
    let listed = call(&router, "GET", "/api/v1/webhooks", &admin, None).await;
    assert_eq!(listed[0]["active"], false, "{listed}");
    // Resumed, it catches up and fails for good after its attempts.
    call(
        &router,
        "PATCH",
        &format!("/api/v1/webhooks/{broken}"),
        &admin,
        Some(json!({ "active": true })),
    )
    .await;
    let failed = wait_for(&router, &admin, broken, |d| d[0]["state"] == "failed").await;
    assert_eq!(failed[0]["attempts"], 2);
    assert_eq!(failed[0]["last_status"], 503);
    let delivery = failed[0]["id"].as_i64().unwrap();
    // The receiver is fixed; an admin retries the delivery by hand.
    fixed.store(true, Ordering::SeqCst);
    let retried = call(
        &router,
        "POST",
        &format!("/api/v1/webhooks/{broken}/deliveries/{delivery}/retry"),
        &admin,
        None,
    )
    .await;
    assert_eq!(retried["retried"], 1, "{retried}");
    let done = wait_for(&router, &admin, broken, |d| d[0]["state"] == "delivered").await;
    assert_eq!(done[0]["attempts"], 1, "a fresh set of attempts: {done}");
    // A delivery that has not failed is not retried; retry-failed finds none left.
    let again = call(
        &router,
        "POST",
        &format!("/api/v1/webhooks/{broken}/deliveries/{delivery}/retry"),
        &admin,
        None,
    )
    .await;
    assert_eq!(again["error"]["status"], 404, "{again}");
    let all = call(
        &router,
        "POST",
        &format!("/api/v1/webhooks/{broken}/retry-failed"),
        &admin,
        None,
    )
    .await;
    assert_eq!(all["retried"], 0);
    let _ = stop.send(true);
    dispatcher.await.unwrap();
    let audit = records
        .audit_log(Some(&format!("webhook:{broken}")), 0, 20)
        .await
        .unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(
        actions.ends_with(&["webhook.pause", "webhook.resume", "webhook.retry"]),
        "{actions:?}"
    );
}
