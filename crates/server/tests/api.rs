//! The REST API driven through its router without a socket: authentication and roles,
//! masking and the audit of unmasked reads, validation errors that name the field, body
//! limits, idempotency, paging, and the OpenAPI document matching the routes.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hotline_server::api::{self, ApiState};
use hotline_store::{Keyring, Records, Role};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Api {
    router: axum::Router,
    records: Records,
    dispositions: hotline_server::wrap_up::Dispositions,
    agent: String,
    supervisor: String,
    admin: String,
}

async fn api() -> Api {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let mut secrets = Vec::new();
    for (name, role) in [
        ("agent-1001", Role::Agent),
        ("supervisor-li", Role::Supervisor),
        ("admin", Role::Admin),
    ] {
        secrets.push(
            records
                .create_api_key(name, role, 0, "test")
                .await
                .unwrap()
                .1,
        );
    }
    let dispositions = hotline_server::wrap_up::Dispositions::default();
    Api {
        router: api::router(ApiState {
            dispositions: dispositions.clone(),
            ..ApiState::new(records.clone())
        }),
        records,
        dispositions,
        agent: secrets[0].clone(),
        supervisor: secrets[1].clone(),
        admin: secrets[2].clone(),
    }
}

impl Api {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let (status, bytes) = self.send(request.body(body).unwrap()).await;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("{uri}: not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        (status, value)
    }

    /// Sends a request through the router: the status and the body's bytes.
    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::body::Bytes) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, bytes)
    }

    async fn get(&self, uri: &str, key: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, Some(key), None, &[]).await
    }

    async fn post(&self, uri: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, uri, Some(key), Some(body), &[])
            .await
    }
}

fn wang() -> Value {
    json!({
        "external_id": "CRM-001",
        "name": "王小明",
        "phones": [{"number": "138 0013 8000", "label": "手机"}, {"number": "010-6552 9988转8001"}],
        "level": "vip",
        "value_score": 900,
        "tags": ["billing", "投诉"],
        "preferences": {"language": "zh-CN", "prefer_human": true,
                         "contact_hours": {"mon": "19:00-21:00", "sat": "10:00-12:00"}},
        "consent": true
    })
}

#[tokio::test]
async fn an_agent_creates_a_customer_and_sees_it_in_the_screen_pop_with_numbers_masked() {
    let api = api().await;
    let (status, created) = api.post("/api/v1/customers", &api.agent, wang()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["phones"][0]["number"], "138****8000");
    assert_eq!(created["phones"][0]["masked"], true);
    assert_eq!(created["phones"][1]["extension"], "8001");
    assert_eq!(
        created["preferences"]["contact_hours"]["mon"],
        "19:00-21:00"
    );
    let id = created["id"].as_i64().unwrap();

    let (status, note) = api
        .post(
            &format!("/api/v1/customers/{id}/interactions"),
            &api.agent,
            json!({"kind": "note", "summary": "要求周一晚上回电"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(note["agent"], "agent-1001");

    let (status, pop) = api
        .get("/api/v1/screen-pop?number=%2B8613800138000", &api.agent)
        .await;
    assert_eq!(status, StatusCode::OK, "{pop}");
    assert_eq!(pop["matched"], "one");
    assert_eq!(pop["number"], "138****8000");
    assert_eq!(pop["cards"][0]["customer"]["name"], "王小明");
    assert_eq!(pop["cards"][0]["recent"][0]["summary"], "要求周一晚上回电");
    assert!(!pop.to_string().contains("13800138000"));

    let (status, unknown) = api
        .get("/api/v1/screen-pop?number=13900001111", &api.agent)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unknown["matched"], "none");
}

#[tokio::test]
async fn full_numbers_need_the_supervisor_role_and_every_such_read_is_audited() {
    let api = api().await;
    let (_, created) = api.post("/api/v1/customers", &api.agent, wang()).await;
    let id = created["id"].as_i64().unwrap();
    let (status, refused) = api
        .get(&format!("/api/v1/customers/{id}?reveal=true"), &api.agent)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "forbidden");

    let (status, revealed) = api
        .get(
            &format!("/api/v1/customers/{id}?reveal=true"),
            &api.supervisor,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revealed["phones"][0]["number"], "+8613800138000");
    let (_, pop) = api
        .get(
            "/api/v1/screen-pop?number=13800138000&reveal=true",
            &api.supervisor,
        )
        .await;
    assert_eq!(pop["cards"][0]["customer"]["phones"][0]["masked"], false);
    let audit = api
        .records
        .audit_log(Some(&format!("customer:{id}")), 0, 100)
        .await
        .unwrap();
    let unmasked: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "customer.read_unmasked")
        .map(|e| e.actor.as_str())
        .collect();
    assert_eq!(unmasked, ["supervisor-li", "supervisor-li"]);
}

#[tokio::test]
async fn each_route_checks_the_key_and_its_role() {
    let api = api().await;
    let (status, body) = api
        .call(Method::GET, "/api/v1/customers", None, None, &[])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Bearer"));
    let (status, _) = api.get("/api/v1/customers", "hl_not-a-key").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Upserts are for integrations (supervisor and above); deletes for admins.
    let (status, _) = api
        .call(
            Method::PUT,
            "/api/v1/customers/by-external-id/CRM-9",
            Some(&api.agent),
            Some(json!({"name": "x"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = api
        .call(
            Method::PUT,
            "/api/v1/customers/by-external-id/CRM-9",
            Some(&api.supervisor),
            Some(json!({"name": "孙九"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, again) = api
        .call(
            Method::PUT,
            "/api/v1/customers/by-external-id/CRM-9",
            Some(&api.supervisor),
            Some(json!({"name": "孙九", "level": "gold"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (again["id"].clone(), again["version"].clone()),
        (created["id"].clone(), json!(2))
    );
    let id = created["id"].as_i64().unwrap();
    let uri = format!("/api/v1/customers/{id}");
    for key in [&api.agent, &api.supervisor] {
        let (status, _) = api.call(Method::DELETE, &uri, Some(key), None, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = api
        .call(Method::DELETE, &uri, Some(&api.admin), None, &[])
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = api.get(&uri, &api.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(gone["error"]["code"], "not_found");
}

#[tokio::test]
async fn bad_requests_get_a_4xx_that_names_the_field_and_write_nothing() {
    let api = api().await;
    let cases = [
        (
            json!({"name": "x", "phones": [{"number": "1380013800"}]}),
            "phones[0].number",
        ),
        (json!({"name": "x", "value_score": "high"}), "value_score"),
        (json!({"name": "x", "nmae": "typo"}), "nmae"),
        (
            json!({"name": "x", "preferences": {"language": "fr"}}),
            "preferences.language",
        ),
        (
            json!({"name": "x", "preferences": {"contact_hours": {"mon": "19:00-25:00"}}}),
            "preferences.contact_hours.mon",
        ),
        (
            json!({"name": "x", "preferences": {"contact_hours": {"someday": "09:00-10:00"}}}),
            "preferences.contact_hours.someday",
        ),
        (json!({"name": ""}), "name"),
    ];
    for (body, field) in cases {
        let (status, answer) = api
            .post("/api/v1/customers", &api.agent, body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    // Unknown fields are named in the message.
    let (_, typo) = api
        .post("/api/v1/customers", &api.agent, json!({"nmae": "x"}))
        .await;
    assert!(typo["error"]["message"].as_str().unwrap().contains("nmae"));
    // Not JSON at all.
    let (status, answer) = api
        .call(
            Method::POST,
            "/api/v1/customers",
            Some(&api.agent),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // Too large.
    let (status, answer) = api
        .post(
            "/api/v1/customers",
            &api.agent,
            json!({"name": "x".repeat(hotline_server::api::auth::MAX_BODY_BYTES)}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    // Paging limits and unknown routes.
    let (status, answer) = api.get("/api/v1/customers?limit=1000", &api.agent).await;
    assert_eq!(
        (status, answer["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("limit"))
    );
    let (status, _) = api.get("/api/v1/nothing", &api.agent).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, answer) = api.get("/api/v1/screen-pop?number=abc", &api.agent).await;
    assert_eq!(
        (status, answer["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("number"))
    );
    assert!(api.records.customers(None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_post_create_once() {
    let api = api().await;
    let headers = [("idempotency-key", "form-7781")];
    let first = api
        .call(
            Method::POST,
            "/api/v1/customers",
            Some(&api.agent),
            Some(wang()),
            &headers,
        )
        .await;
    let retry = api
        .call(
            Method::POST,
            "/api/v1/customers",
            Some(&api.agent),
            Some(wang()),
            &headers,
        )
        .await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert_eq!(first, retry);
    assert_eq!(api.records.customers(None, 10).await.unwrap().len(), 1);
    let mut other = wang();
    other["name"] = json!("别人");
    let (status, _) = api
        .call(
            Method::POST,
            "/api/v1/customers",
            Some(&api.agent),
            Some(other),
            &headers,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn lists_are_paged_and_updates_check_the_version() {
    let api = api().await;
    for i in 0..5 {
        let (status, _) = api
            .post(
                "/api/v1/customers",
                &api.agent,
                json!({"name": format!("客户{i}"), "phones": [{"number": format!("1380000000{i}")}]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, page) = api.get("/api/v1/customers?limit=2", &api.agent).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let after = page["next_after"].as_i64().unwrap();
    let (_, rest) = api
        .get(
            &format!("/api/v1/customers?limit=10&after={after}"),
            &api.agent,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    assert!(rest.get("next_after").is_none());

    let id = page["items"][0]["id"].as_i64().unwrap();
    let uri = format!("/api/v1/customers/{id}");
    let body = json!({"name": "改名"});
    let (status, updated) = api
        .call(
            Method::PUT,
            &uri,
            Some(&api.agent),
            Some(body.clone()),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(
        (status, updated["version"].clone()),
        (StatusCode::OK, json!(2))
    );
    let (status, stale) = api
        .call(
            Method::PUT,
            &uri,
            Some(&api.agent),
            Some(body),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_that_answer() {
    let api = api().await;
    let (status, doc) = api
        .call(Method::GET, "/api/openapi.json", None, None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    documented.sort();
    let expected = [
        ("DELETE", "/api/v1/admin/agents/{name}/phone"),
        ("DELETE", "/api/v1/admin/numbers/{number}"),
        ("DELETE", "/api/v1/callbacks/{id}"),
        ("DELETE", "/api/v1/customers/{id}"),
        ("DELETE", "/api/v1/tickets/{id}/links/{link_id}"),
        ("DELETE", "/api/v1/webhooks/{id}"),
        ("GET", "/api/v1/admin/config"),
        ("GET", "/api/v1/agents/{name}/pops"),
        ("GET", "/api/v1/agents/{name}/state"),
        ("GET", "/api/v1/agents/{name}/today"),
        ("GET", "/api/v1/callbacks"),
        ("GET", "/api/v1/callbacks/preview"),
        ("GET", "/api/v1/callbacks/{id}"),
        ("GET", "/api/v1/campaigns"),
        ("GET", "/api/v1/campaigns/{id}"),
        ("GET", "/api/v1/customers"),
        ("GET", "/api/v1/customers/{id}"),
        ("GET", "/api/v1/customers/{id}/interactions"),
        ("GET", "/api/v1/dispositions"),
        ("GET", "/api/v1/follow-ups"),
        ("GET", "/api/v1/kb/articles/{id}"),
        ("GET", "/api/v1/kb/articles/{id}/versions"),
        ("GET", "/api/v1/kb/quick-replies"),
        ("GET", "/api/v1/kb/search"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/metrics/outbound"),
        ("GET", "/api/v1/metrics/wall"),
        ("GET", "/api/v1/metrics/wall/history"),
        ("GET", "/api/v1/metrics/wall/stream"),
        ("GET", "/api/v1/recordings/{contact_id}"),
        ("GET", "/api/v1/screen-pop"),
        ("GET", "/api/v1/surveys/csat"),
        ("GET", "/api/v1/tickets"),
        ("GET", "/api/v1/tickets/{id}"),
        ("GET", "/api/v1/track/{token}"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/webhooks"),
        ("GET", "/api/v1/webhooks/{id}/deliveries"),
        ("PATCH", "/api/v1/campaigns/{id}"),
        ("PATCH", "/api/v1/tickets/{id}"),
        ("PATCH", "/api/v1/users/{name}"),
        ("PATCH", "/api/v1/webhooks/{id}"),
        ("POST", "/api/v1/admin/agents"),
        ("POST", "/api/v1/admin/queues"),
        ("POST", "/api/v1/admin/reload"),
        ("POST", "/api/v1/admin/skills"),
        ("POST", "/api/v1/agents/{name}/state"),
        ("POST", "/api/v1/callbacks"),
        ("POST", "/api/v1/callbacks/{id}/dial"),
        ("POST", "/api/v1/campaigns"),
        ("POST", "/api/v1/campaigns/{id}/numbers"),
        ("POST", "/api/v1/contacts/{contact_id}/customer"),
        ("POST", "/api/v1/contacts/{contact_id}/survey-link"),
        ("POST", "/api/v1/contacts/{contact_id}/wrap-up"),
        ("POST", "/api/v1/customers"),
        ("POST", "/api/v1/customers/{id}/interactions"),
        ("POST", "/api/v1/kb/articles"),
        ("POST", "/api/v1/login"),
        ("POST", "/api/v1/logout"),
        ("POST", "/api/v1/surveys"),
        ("POST", "/api/v1/tickets"),
        ("POST", "/api/v1/tickets/{id}/follow-up"),
        ("POST", "/api/v1/tickets/{id}/links"),
        ("POST", "/api/v1/users"),
        ("POST", "/api/v1/webhooks"),
        (
            "POST",
            "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
        ),
        ("POST", "/api/v1/webhooks/{id}/retry-failed"),
        ("PUT", "/api/v1/admin/agents/{name}"),
        ("PUT", "/api/v1/admin/agents/{name}/phone"),
        ("PUT", "/api/v1/admin/calendars/{name}"),
        ("PUT", "/api/v1/admin/numbers/{number}"),
        ("PUT", "/api/v1/admin/queues/{name}"),
        ("PUT", "/api/v1/customers/by-external-id/{external_id}"),
        ("PUT", "/api/v1/customers/{id}"),
        ("PUT", "/api/v1/kb/articles/{id}"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, expected);
    // Every documented route answers (401 without a key), never 404 or 405.
    for (method, path) in &documented {
        let uri = path
            .replace("{id}", "1")
            .replace("{external_id}", "CRM-1")
            .replace("{name}", "ann")
            .replace("{link_id}", "x")
            .replace("{delivery_id}", "1")
            .replace("{contact_id}", "5")
            .replace("{token}", "x");
        let (status, _) = api
            .call(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &uri,
                None,
                None,
                &[],
            )
            .await;
        // The tracking page needs no key: its token is the permission.
        let expected = if path.starts_with("/api/v1/track/") {
            StatusCode::NOT_FOUND
        } else if path == "/api/v1/login" {
            // No key needed; no body is a bad request.
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expected, "{method} {uri}");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    assert!(doc["components"]["schemas"]["CustomerInput"].is_object());
}

#[tokio::test]
async fn an_agent_key_follows_only_its_own_pops_and_a_supervisor_any() {
    let api = api().await;
    let (status, body) = api.get("/api/v1/agents/agent-2002/pops", &api.agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("agent-2002"));
    // The stream itself stays open: look at the head only.
    for (path, key) in [
        ("/api/v1/agents/agent-1001/pops", &api.agent),
        ("/api/v1/agents/agent-2002/pops", &api.supervisor),
    ] {
        let request = Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let response = api.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_agent_sets_only_its_own_state_and_bad_changes_name_the_field() {
    let api = api().await;
    let (status, body) = api
        .post(
            "/api/v1/agents/agent-2002/state",
            &api.agent,
            json!({"state": "ready"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for (change, field) in [
        (json!({"state": "asleep"}), "state"),
        (json!({"state": "ready", "reason": "break"}), "reason"),
        (json!({"state": "end_wrap_up", "reason": "x"}), "reason"),
    ] {
        let (status, body) = api
            .post("/api/v1/agents/agent-1001/state", &api.agent, change)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    // This API runs with no switch: said, not faked.
    let (status, body) = api
        .post(
            "/api/v1/agents/agent-1001/state",
            &api.agent,
            json!({"state": "not_ready"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, _) = api.get("/api/v1/agents/agent-1001/state", &api.agent).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn the_pages_are_served_with_a_strict_content_policy_and_revalidated() {
    let api = api().await;
    for path in [
        "/login",
        "/desktop",
        "/wall",
        "/assets/common.js",
        "/assets/hotline.css",
    ] {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        let response = api.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{path}");
        let etag = response.headers()["etag"].clone();
        // The same file again with its tag: 304, no body.
        let request = Request::builder()
            .uri(path)
            .header("if-none-match", etag)
            .body(Body::empty())
            .unwrap();
        let response = api.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let request = Request::builder().uri("/").body(Body::empty()).unwrap();
    let response = api.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.headers()["location"], "/login");
}

#[tokio::test]
async fn a_ticket_moves_through_its_workflow_and_the_customer_follows_it_by_link() {
    let api = api().await;
    let (status, ticket) = api
        .post(
            "/api/v1/tickets",
            &api.agent,
            json!({"title": "退款未到账", "description": "客户说三天前申请的退款还没到",
                   "category": "billing/refund", "priority": "high"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["sla"]["policy"], "default");
    assert_eq!(ticket["sla"]["resolution"]["state"], "running");
    let id = ticket["id"].as_i64().unwrap();
    let uri = format!("/api/v1/tickets/{id}");
    // A move the workflow forbids names the field.
    let (status, body) = api
        .call(
            Method::PATCH,
            &uri,
            Some(&api.agent),
            Some(json!({"status": "closed_forever"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "status");
    let (status, body) = api
        .call(
            Method::PATCH,
            &uri,
            Some(&api.agent),
            Some(json!({"status": "waiting_on_customer"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("from new"),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::PATCH,
            &uri,
            Some(&api.agent),
            Some(json!({"assignee": "agent-1001", "note": "已联系财务"})),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "assigned");
    let (status, _) = api
        .call(
            Method::PATCH,
            &uri,
            Some(&api.agent),
            Some(json!({"note": "again"})),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, detail) = api.get(&uri, &api.agent).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "assignee", "status", "note"]);
    // The customer's link: no key, no notes, no description.
    let (status, link) = api
        .post(
            &format!("{uri}/links"),
            &api.agent,
            json!({"lifetime_hours": 48}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let api_path = link["api_path"].as_str().unwrap().to_string();
    let (status, tracking) = api.call(Method::GET, &api_path, None, None, &[]).await;
    assert_eq!(status, StatusCode::OK, "{tracking}");
    assert_eq!(tracking["status"], "assigned");
    let text = tracking.to_string();
    assert!(
        !text.contains("已联系财务") && !text.contains("三天前"),
        "{text}"
    );
    assert_eq!(tracking["steps"].as_array().unwrap().len(), 2);
    let page = api
        .router
        .clone()
        .oneshot(
            Request::builder()
                .uri(link["path"].as_str().unwrap())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.into_body().collect().await.unwrap().to_bytes();
    let html = String::from_utf8_lossy(&html);
    assert!(
        html.contains("已分派 Assigned") && html.contains("退款未到账"),
        "{html}"
    );
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("{uri}/links/{}", link["id"].as_str().unwrap()),
            Some(&api.agent),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.call(Method::GET, &api_path, None, None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked");
    // Resolving with no follow-up configured for the category schedules none.
    let (status, body) = api
        .call(
            Method::PATCH,
            &uri,
            Some(&api.agent),
            Some(json!({"status": "resolved"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("follow_up").is_none());
    let (status, body) = api
        .post(
            &format!("{uri}/follow-up"),
            &api.agent,
            json!({"outcome": "satisfied"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn editors_write_articles_agents_find_them_in_either_language_and_the_pop_suggests_them() {
    let api = api().await;
    let card_loss = json!({
        "title": "信用卡丢失或被盗如何挂失",
        "body": "发现信用卡丢失后，请立即拨打客服热线办理挂失，挂失后原卡立即停用。",
        "category": "银行卡", "tags": ["信用卡", "挂失"], "published": true
    });
    let (status, body) = api
        .post("/api/v1/kb/articles", &api.agent, card_loss.clone())
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "agents do not write articles: {body}"
    );
    let (status, article) = api
        .post("/api/v1/kb/articles", &api.supervisor, card_loss)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{article}");
    let id = article["id"].as_i64().unwrap();
    let (status, draft) = api
        .post(
            "/api/v1/kb/articles",
            &api.supervisor,
            json!({"title": "Refund policy", "body": "Items can be returned within 30 days for a full refund.",
                   "category": "refunds", "tags": ["refund"], "language": "en", "quick_reply": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let draft_id = draft["id"].as_i64().unwrap();
    let search = |q: &str| format!("/api/v1/kb/search?q={}", urlencode(q));
    let (status, hits) = api.get(&search("信用卡丢了怎么办"), &api.agent).await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(hits[0]["id"], id, "{hits}");
    // A draft is for editors only.
    let (_, hits) = api.get(&search("refunded"), &api.agent).await;
    assert_eq!(hits.as_array().unwrap().len(), 0, "{hits}");
    let (status, _) = api
        .get(&format!("/api/v1/kb/articles/{draft_id}"), &api.agent)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .get(&format!("{}&drafts=true", search("refunded")), &api.agent)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Publishing is a new version; a stale one is refused.
    let publish = json!({"title": "Refund policy", "body": "Items can be returned within 30 days for a full refund.",
                         "category": "refunds", "tags": ["refund"], "language": "en", "quick_reply": true,
                         "published": true});
    let uri = format!("/api/v1/kb/articles/{draft_id}");
    let (status, saved) = api
        .call(
            Method::PUT,
            &uri,
            Some(&api.supervisor),
            Some(publish.clone()),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 2);
    let (status, _) = api
        .call(
            Method::PUT,
            &uri,
            Some(&api.supervisor),
            Some(publish),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, hits) = api.get(&search("refunded"), &api.agent).await;
    assert_eq!(hits[0]["id"], draft_id, "{hits}");
    let (_, hits) = api
        .get(&format!("{}&language=zh", search("refunded")), &api.agent)
        .await;
    assert_eq!(hits.as_array().unwrap().len(), 0, "language filter: {hits}");
    let (status, body) = api
        .get(&format!("{}&language=fr", search("x")), &api.agent)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "language");
    let (_, versions) = api.get(&format!("{uri}/versions"), &api.supervisor).await;
    let versions: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);
    let (_, replies) = api.get("/api/v1/kb/quick-replies", &api.agent).await;
    assert_eq!(replies.as_array().unwrap().len(), 1);
    assert_eq!(replies[0]["id"], draft_id);
    // A caller whose need tags match an article sees it suggested on the screen pop.
    let (status, customer) = api
        .post(
            "/api/v1/customers",
            &api.agent,
            json!({"name": "李四", "phones": [{"number": "13900139000"}], "tags": ["信用卡"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{customer}");
    let (status, pop) = api
        .get("/api/v1/screen-pop?number=13900139000", &api.agent)
        .await;
    assert_eq!(status, StatusCode::OK, "{pop}");
    assert_eq!(pop["suggestions"][0]["id"], id, "{pop}");
    // Bad input names the field.
    let (status, body) = api
        .post(
            "/api/v1/kb/articles",
            &api.supervisor,
            json!({"title": "", "body": "x", "category": "c"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "title");
}

/// Percent-encodes a query value.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn survey_answers_take_their_call_from_the_contact_aggregate_to_csat_and_are_events() {
    use hotline_store::{EventLog, EventWriter, SqliteEventLog, WriterConfig};
    let mut api = api().await;
    let log = SqliteEventLog::open_in_memory().await.unwrap();
    let writer = EventWriter::spawn(log.clone(), WriterConfig::default()).unwrap();
    api.router = api::router(ApiState {
        events: Some(writer),
        ..ApiState::new(api.records.clone())
    });
    let (_, customer) = api.post("/api/v1/customers", &api.agent, wang()).await;
    let id = customer["id"].as_i64().unwrap();
    // The call as the link task writes it: contact 77, answered by agent-1001 in general.
    let (status, _) = api
        .post(
            &format!("/api/v1/customers/{id}/interactions"),
            &api.agent,
            json!({"kind": "inbound_call", "queue": "general", "contact_id": 77, "disposition": "answered"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for (body, field) in [
        (json!({"score": 6, "channel": "ivr"}), "score"),
        (json!({"score": 5, "channel": "fax"}), "channel"),
    ] {
        let (status, answer) = api.post("/api/v1/surveys", &api.agent, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["error"]["field"], field);
    }
    let (status, answer) = api
        .post(
            "/api/v1/surveys",
            &api.agent,
            json!({"score": 5, "channel": "ivr", "contact_id": 77}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["agent"], "agent-1001", "taken from the call");
    assert_eq!(answer["queue"], "general");
    assert_eq!(answer["customer_id"], id);
    let (status, _) = api
        .post(
            "/api/v1/surveys",
            &api.agent,
            json!({"score": 1, "channel": "link", "contact_id": 77}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "one answer per call");
    let (status, _) = api
        .post(
            "/api/v1/surveys",
            &api.agent,
            json!({"score": 2, "channel": "link", "agent": "agent-1001"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = api.get("/api/v1/surveys/csat?by=agent", &api.agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, csat) = api
        .get("/api/v1/surveys/csat?by=agent", &api.supervisor)
        .await;
    assert_eq!(status, StatusCode::OK, "{csat}");
    assert_eq!(csat[0]["key"], "agent-1001", "{csat}");
    assert_eq!(csat[0]["answers"], 2);
    assert_eq!(csat[0]["average"], 3.5);
    assert_eq!(csat[0]["satisfied_percent"], 50.0);
    let (_, by_day) = api
        .get("/api/v1/surveys/csat?by=day", &api.supervisor)
        .await;
    assert_eq!(by_day.as_array().unwrap().len(), 1, "{by_day}");
    let (status, _) = api
        .get("/api/v1/surveys/csat?by=week", &api.supervisor)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Answers and tickets are events in the log, for the wall and the webhooks.
    let (status, _) = api
        .post(
            "/api/v1/tickets",
            &api.agent,
            json!({"title": "发票抬头写错", "category": "invoice"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let kinds: Vec<String> = log
        .read_from(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["survey.answered", "survey.answered", "ticket.created"]
    );
}

#[tokio::test]
async fn people_log_in_for_a_session_wrong_passwords_lock_and_disabling_ends_sessions() {
    let api = api().await;
    let (status, body) = api
        .post(
            "/api/v1/users",
            &api.supervisor,
            json!({"name": "ann", "role": "agent", "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins add people: {body}");
    let (status, body) = api
        .post(
            "/api/v1/users",
            &api.admin,
            json!({"name": "ann", "role": "agent", "password": "short"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "password");
    let (status, body) = api
        .post(
            "/api/v1/users",
            &api.admin,
            json!({"name": "ann", "display_name": "安娜", "role": "agent", "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let login = |password: &str| {
        api.call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"name": "ann", "password": password})),
            &[],
        )
    };
    let (status, body) = login("wrong horse!").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, session) = login("correct horse").await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["role"], "agent");
    let token = session["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("hs_"));
    let (status, me) = api.get("/api/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str()),
        (Some("ann"), Some("agent"))
    );
    // An agent's session is an agent: no supervisor routes, no other agent's pops.
    let (status, _) = api.get("/api/v1/surveys/csat?by=agent", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.get("/api/v1/agents/bob/pops", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Logging out ends the session.
    let (status, _) = api
        .call(Method::POST, "/api/v1/logout", Some(&token), None, &[])
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.get("/api/v1/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Five wrong passwords lock the account: even the right one is refused for a while.
    for _ in 0..5 {
        assert_eq!(login("wrong horse!").await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login("correct horse").await.0,
        StatusCode::UNAUTHORIZED,
        "locked"
    );
    // An admin's new password unlocks it; disabling ends the session at once.
    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/v1/users/ann",
            Some(&api.admin),
            Some(json!({"password": "another horse"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, session) = login("another horse").await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap().to_string();
    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/v1/users/ann",
            Some(&api.admin),
            Some(json!({"disabled": true})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disabled"], true);
    let (status, _) = api.get("/api/v1/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, users) = api.get("/api/v1/users", &api.admin).await;
    assert_eq!(users[0]["display_name"], "安娜");
    let kinds: Vec<String> = api
        .records
        .audit_log(Some("user:ann"), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(
        kinds.iter().filter(|k| *k == "user.login_failed").count() >= 7,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"user.login".to_string()), "{kinds:?}");
}

#[tokio::test]
async fn naming_a_callers_customer_needs_a_customer_that_exists() {
    let api = api().await;
    let (status, body) = api
        .post(
            "/api/v1/contacts/5/customer",
            &api.agent,
            json!({"customer_id": 999}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, customer) = api.post("/api/v1/customers", &api.agent, wang()).await;
    let (status, body) = api
        .post(
            "/api/v1/contacts/5/customer",
            &api.agent,
            json!({"customer_id": customer["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test]
async fn a_wrap_up_keeps_the_disposition_and_notes_and_follows_the_caller_once_named() {
    let api = api().await;
    for (body, field) in [
        (json!({"disposition": "happy"}), "disposition"),
        (
            json!({"disposition": "resolved", "customer_id": 999}),
            "customer_id",
        ),
        (
            json!({"disposition": "resolved", "notes": "长".repeat(4_001)}),
            "summary",
        ),
    ] {
        let (status, error) = api
            .post("/api/v1/contacts/6/wrap-up", &api.agent, body)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    // The caller is not known yet: the note waits without a customer.
    let (status, note) = api
        .post(
            "/api/v1/contacts/6/wrap-up",
            &api.agent,
            json!({"disposition": "callback", "notes": "  明天上午回电确认安装时间 "}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(note["kind"], "disposition");
    assert_eq!(note["disposition"], "callback");
    assert_eq!(note["summary"], "明天上午回电确认安装时间");
    assert_eq!(note["contact_id"], 6);
    assert_eq!(note["customer_id"], Value::Null);
    // Once the agent names the caller, the note is theirs.
    let (_, customer) = api.post("/api/v1/customers", &api.agent, wang()).await;
    let (status, _) = api
        .post(
            "/api/v1/contacts/6/customer",
            &api.agent,
            json!({"customer_id": customer["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, interactions) = api
        .get(
            &format!("/api/v1/customers/{}/interactions", customer["id"]),
            &api.agent,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{interactions}");
    assert_eq!(interactions[0]["disposition"], "callback", "{interactions}");
    assert_eq!(interactions[0]["agent"], note["agent"]);

    // The outcomes are the center's own: listed with their labels, and only those accepted.
    let (status, list) = api.get("/api/v1/dispositions", &api.agent).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 8);
    assert_eq!(
        list[3],
        json!({"code": "callback", "zh": "需回拨", "en": "Call back"})
    );
    api.dispositions
        .set(vec![hotline_server::wrap_up::Disposition {
            code: "refund".into(),
            zh: "退款".into(),
            en: "Refund".into(),
        }]);
    let (_, list) = api.get("/api/v1/dispositions", &api.agent).await;
    assert_eq!(list[0]["code"], "refund");
    let (status, error) = api
        .post(
            "/api/v1/contacts/7/wrap-up",
            &api.agent,
            json!({"disposition": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("is not one of refund"),
        "{error}"
    );
    let (status, _) = api
        .post(
            "/api/v1/contacts/7/wrap-up",
            &api.agent,
            json!({"disposition": "refund"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_browser_session_is_an_httponly_cookie_and_its_changes_need_the_csrf_header() {
    let api = api().await;
    let (status, _) = api
        .post(
            "/api/v1/users",
            &api.admin,
            json!({"name": "ann", "role": "agent", "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let login = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"name": "ann", "password": "correct horse"}).to_string(),
        ))
        .unwrap();
    let response = api.router.clone().oneshot(login).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set_cookie.starts_with("hotline_session=hs_"),
        "{set_cookie}"
    );
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let send = |method: Method, uri: &str, body: Option<Value>, csrf: bool| {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("cookie", format!("theme=dark; {cookie}"));
        if csrf {
            request = request.header("x-hotline-csrf", "1");
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        api.router.clone().oneshot(request.body(body).unwrap())
    };
    let me = send(Method::GET, "/api/v1/me", None, false).await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "reading needs no extra header");
    let ticket = json!({"title": "发票抬头写错", "category": "invoice"});
    let forged = send(Method::POST, "/api/v1/tickets", Some(ticket.clone()), false)
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "a change without the CSRF header"
    );
    let own = send(Method::POST, "/api/v1/tickets", Some(ticket), true)
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::CREATED);
    let out = send(Method::POST, "/api/v1/logout", None, true)
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let me = send(Method::GET, "/api/v1/me", None, false).await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "the session ended");
}

#[tokio::test]
async fn webhooks_are_for_admins_and_their_url_is_checked() {
    let api = api().await;
    let (status, _) = api
        .post(
            "/api/v1/webhooks",
            &api.supervisor,
            json!({"url": "https://crm.example/hook"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api
        .post(
            "/api/v1/webhooks",
            &api.admin,
            json!({"url": "ftp://crm.example/hook"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "url");
    let (status, made) = api
        .post(
            "/api/v1/webhooks",
            &api.admin,
            json!({"url": "https://crm.example/hook", "kinds": ["ticket."]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    let (_, list) = api.get("/api/v1/webhooks", &api.admin).await;
    assert!(
        list[0].get("secret").is_none(),
        "the secret is shown once: {list}"
    );
    let uri = format!("/api/v1/webhooks/{}", made["id"]);
    let (status, _) = api
        .call(Method::DELETE, &uri, Some(&api.admin), None, &[])
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .call(Method::DELETE, &uri, Some(&api.admin), None, &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_supervisor_downloads_a_sealed_recording_opened_and_audited_and_an_agent_may_not() {
    use std::io::Write;
    let base = api().await;
    let dir = tempfile::tempdir().unwrap();
    // A recording as the media runtime writes it: a WAV stream sealed with the records' keys.
    let recordings = hotline_server::recordings::Recordings {
        dir: dir.path().to_path_buf(),
        keys: Some(std::sync::Arc::new(base.records.keyring().clone())),
    };
    let path = recordings.path(hotline_routing::ContactId(42));
    assert!(path.to_string_lossy().ends_with("42.wav.sealed"));
    let mut wav = hotline_media::wav::streaming_header(1).unwrap().to_vec();
    let samples: Vec<i16> = (0..80_000)
        .map(|i| ((i % 200) * 100 - 10_000) as i16)
        .collect();
    hotline_media::wav::encode_pcm16(&samples, &mut wav);
    let keys = base.records.keyring().clone();
    let mut sealed = keys
        .seal_stream(
            hotline_server::recordings::RECORDING_FIELD,
            std::fs::File::create(&path).unwrap(),
        )
        .unwrap();
    sealed.write_all(&wav).unwrap();
    sealed.finish().unwrap();
    let on_disk = std::fs::read(&path).unwrap();
    assert!(on_disk.starts_with(b"HLSTREAM"), "sealed at rest");
    assert!(
        !on_disk.windows(4).any(|w| w == b"RIFF"),
        "no WAV header in the clear"
    );

    let state = ApiState {
        recordings: Some(dir.path().to_path_buf()),
        ..ApiState::new(base.records.clone())
    };
    let router = api::router(state);
    let get = |key: String, uri: &'static str| {
        let router = router.clone();
        async move {
            let response = router
                .oneshot(
                    Request::builder()
                        .uri(uri)
                        .header("authorization", format!("Bearer {key}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = response.status();
            let kind = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string());
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, kind, bytes)
        }
    };
    let (status, _, body) = get(base.agent.clone(), "/api/v1/recordings/42").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, _) = get(base.supervisor.clone(), "/api/v1/recordings/43").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, kind, body) = get(base.supervisor.clone(), "/api/v1/recordings/42").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind.as_deref(), Some("audio/wav"));
    assert_eq!(&body[..], &wav[..], "the WAV, opened");
    let heard = hotline_media::wav::read_wav(&body).unwrap();
    assert_eq!(heard.channel(0), samples);
    let audit = base
        .records
        .audit_log(Some("contact:42"), 0, 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].action.as_str()),
        ("supervisor-li", "recording.read")
    );
}

/// A page request through the router: status and body text.
async fn page(api: &Api, method: Method, uri: &str, form: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    let body = match form {
        Some(form) => {
            request = request.header("content-type", "application/x-www-form-urlencoded");
            Body::from(form.to_string())
        }
        None => Body::empty(),
    };
    let (status, bytes) = api.send(request.body(body).unwrap()).await;
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn a_customer_rates_a_call_on_the_signed_survey_page_once() {
    let api = api().await;
    api.records
        .add_interaction(&hotline_store::NewInteraction {
            customer: None,
            at_ms: 1_000,
            kind: hotline_store::InteractionKind::InboundCall,
            channel: Some("phone".into()),
            agent: Some("agent-1001".into()),
            queue: Some("售后".into()),
            contact_id: Some(77),
            event_seq: None,
            disposition: Some("answered".into()),
            duration_ms: Some(60_000),
            summary: None,
        })
        .await
        .unwrap();
    let (status, body) = api
        .post("/api/v1/contacts/78/survey-link", &api.agent, json!(null))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no such call: {body}");
    let (status, link) = api
        .call(
            Method::POST,
            "/api/v1/contacts/77/survey-link",
            Some(&api.agent),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let path = link["path"].as_str().unwrap().to_string();
    assert!(path.starts_with("/survey/77."), "{path}");
    let (status, html) = page(&api, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("非常满意") && html.contains("Very satisfied"),
        "{html}"
    );
    // A forged or altered token shows nothing.
    let forged = path.replace("/survey/77.", "/survey/78.");
    assert_eq!(
        page(&api, Method::GET, &forged, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = page(&api, Method::POST, &forged, Some("score=1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, html) = page(&api, Method::POST, &path, Some("score=9")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let (status, html) = page(
        &api,
        Method::POST,
        &path,
        Some("score=4&comment=%E5%BE%88%E5%A5%BD"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("感谢"), "{html}");
    let (status, html) = page(&api, Method::POST, &path, Some("score=1")).await;
    assert_eq!(status, StatusCode::CONFLICT, "one answer per call: {html}");
    // The answer counts for the call's agent and queue.
    let rows = api
        .records
        .csat(hotline_store::CsatGroup::Queue, 0, i64::MAX, 480, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].key.as_str(), rows[0].answers), ("售后", 1));
    assert_eq!(rows[0].average, 4.0);
}
