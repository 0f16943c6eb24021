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
