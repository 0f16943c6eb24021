//! Reloading the configuration while a caller waits (`POST /api/v1/admin/reload`, the
//! `Reloader` as `hotline serve` holds it): a real switch with sipp as the caller and as the
//! agent's phone; the file is rewritten to give the agent the caller's queue, and the waiting
//! call rings that agent without anything dropped. Files that would orphan a queue, or break
//! the configuration's rules, are refused and change nothing. The same through the admin page
//! in headless Chromium.

mod browser_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hotline_server::api::{self, ApiState};
use hotline_server::{config, runtime};
use hotline_store::{Keyring, Records, Role};
use http_body_util::BodyExt;
use serde_json::Value;
use support::*;
use tower::ServiceExt;

/// bob serves `vip` only; callers of 95588 wait in `general`. BOB_QUEUES and REALM are
/// replaced per version of the file.
const CONFIG: &str = r#"
[sip]
listen = "127.0.0.1:0"
realm = "REALM"
digest = ["MD5"]
default_queue = "general"
[[sip.accounts]]
agent = "bob"
password = "bob-secret"
[[sip.numbers]]
number = "95588"
queue = "general"
[[sip.trunks]]
name = "loopback"
allow = ["127.0.0.0/8"]
[media]
enabled = false

[routing]
[routing.offers]
offer_timeout = 20
[[routing.queues]]
name = "general"
[[routing.queues]]
name = "vip"
[[routing.agents]]
name = "ann"
queues = ["general"]
[[routing.agents]]
name = "bob"
queues = BOB_QUEUES
"#;

fn version(bob_queues: &str, realm: &str) -> String {
    CONFIG
        .replace("BOB_QUEUES", bob_queues)
        .replace("REALM", realm)
}

/// A sipp caller of `number` playing `scenario_name`, in the background.
fn sipp_caller(
    switch: std::net::SocketAddr,
    scenario_name: &'static str,
    number: &'static str,
) -> tokio::task::JoinHandle<std::process::Output> {
    tokio::task::spawn_blocking(move || {
        sipp()
            .arg("-sf")
            .arg(scenario(scenario_name))
            .args(["-s", number, "-m", "1"])
            .args(["-p", &free_port().to_string()])
            .arg(switch.to_string())
            .output()
            .unwrap()
    })
}

async fn post_reload(router: &axum::Router, key: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/admin/reload")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_gives_an_agent_the_queue_where_a_caller_waits_and_the_call_rings_them() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("hotline.toml");
    let started = version(r#"["vip"]"#, "hotline");
    std::fs::write(&file, &started).unwrap();
    let config = config::parse("hotline.toml", &started, 42, [9; 32]).unwrap();
    let routing = Arc::new(config.routing.clone());
    let log_path = data.path().join("events.db");
    let running = runtime::start_with(config, Some(&log_path), None)
        .await
        .unwrap();
    let wall = hotline_server::wall::WallMetrics::new(hotline_server::wall::Wall::new(
        routing,
        api::now_ms(),
    ));
    let reloader = Arc::new(hotline_server::reload::Reloader::new(
        file.clone(),
        started.clone(),
        running.control.clone(),
        Some(wall.clone()),
        running.events.clone(),
    ));
    let records = Records::open(data.path().join("records.db"), Keyring::generate().unwrap())
        .await
        .unwrap();
    let admin = records
        .create_api_key("ops", Role::Admin, 0, "t")
        .await
        .unwrap()
        .1;
    let supervisor = records
        .create_api_key("sam", Role::Supervisor, 0, "t")
        .await
        .unwrap()
        .1;
    let router = api::router(ApiState {
        reload: Some(reloader),
        ..ApiState::new(records)
    });
    // Only administrators reload.
    assert_eq!(
        post_reload(&router, &supervisor).await.0,
        StatusCode::FORBIDDEN
    );

    // bob's phone registers (he becomes ready, for vip); a caller waits in general.
    let switch = running.local;
    let phone =
        tokio::task::spawn_blocking(move || agent_phone(switch, "bob", "agent_answers.xml", 1))
            .await
            .unwrap();
    let caller = sipp_caller(switch, "caller_talks.xml", "95588");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !log_events(&log_path)
        .await
        .iter()
        .any(|e| e.kind == "contact.queued")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the caller never queued"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !log_events(&log_path)
            .await
            .iter()
            .any(|e| e.kind == "offer.created"),
        "nobody may take general yet"
    );

    // Files that change nothing: a queue renamed (its place is in the call waiting), and one
    // that breaks a rule, said with its line.
    std::fs::write(
        &file,
        version(r#"["gold"]"#, "hotline").replace("name = \"vip\"", "name = \"gold\""),
    )
    .unwrap();
    let (status, body) = post_reload(&router, &admin).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("queue 1 was \"vip\""),
        "{body}"
    );
    let broken = version(r#"["vip", "nowhere"]"#, "hotline");
    let line = broken.lines().position(|l| l.contains("nowhere")).unwrap() + 1;
    std::fs::write(&file, &broken).unwrap();
    let (status, body) = post_reload(&router, &admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("routing.agents[1]"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!(":{line}:")),
        "the line is given: {body}"
    );

    // bob gets general too, whose goal rises to 90 % (and the realm changes, which waits for
    // a restart): the waiting call rings him at once.
    std::fs::write(
        &file,
        version(r#"["vip", "general"]"#, "elsewhere").replace(
            "name = \"general\"\n",
            "name = \"general\"\nservice_level = \"90/30\"\n",
        ),
    )
    .unwrap();
    let (status, report) = post_reload(&router, &admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["queues"], 2);
    assert_eq!(report["agents"], 2);
    assert_eq!(report["restart_needed"], serde_json::json!(["sip"]));
    check("caller", &caller.await.unwrap());
    let phone = tokio::task::spawn_blocking(move || phone.wait_with_output().unwrap())
        .await
        .unwrap();
    check("bob's phone", &phone);
    running.stop().await.unwrap();
    let events = log_events(&log_path).await;
    let offered: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "offer.created")
        .collect();
    assert_eq!(offered.len(), 1, "one offer, after the reload");
    assert_eq!(offered[0].agent.as_deref(), Some("bob"));
    assert_eq!(offered[0].queue.as_deref(), Some("general"));
    let reloaded: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "config.reloaded")
        .collect();
    assert_eq!(
        reloaded.len(),
        1,
        "only the accepted reload is logged as such"
    );
    // The refused ones are logged as refused: who tried, and why.
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "config.refused")
        .collect();
    assert_eq!(refused.len(), 2, "the rename and the broken file");
    assert_eq!(refused[0].data["by"], "ops");
    assert_eq!(refused[0].data["what"], "reload");
    assert!(
        refused[0].data["why"].as_str().unwrap().contains("\"vip\""),
        "{:?}",
        refused[0].data
    );
    assert!(refused[1].data["why"].as_str().unwrap().contains("nowhere"));
    assert_eq!(
        reloaded[0].data["restart_needed"],
        serde_json::json!(["sip"])
    );
    // The wall follows the new configuration: general's goal, which its alert compares with.
    let report = wall.report(api::now_ms(), &hotline_calendar::Calendar::always_open());
    assert_eq!(report.queues[0].name, "general");
    assert_eq!(report.queues[0].service_level_goal, 0.9);
    assert_eq!(report.queues[1].service_level_goal, 0.8);
}

#[tokio::test]
async fn business_hours_change_on_reload_and_a_calendar_renamed_waits_for_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("hotline.toml");
    let with_hours = |name: &str, hours: &str| {
        version(r#"["vip"]"#, "hotline")
            .replace(
                "number = \"95588\"\nqueue = \"general\"\n",
                &format!(
                    "number = \"95588\"\nqueue = \"general\"\nhours = \"{name}\"\n\
                     closed_queue = \"vip\"\n"
                ),
            )
            .replace(
                "[routing]\n",
                &format!(
                    "[[calendars]]\nname = \"{name}\"\nweekly = {{ mon = \"{hours}\", \
                     sat = \"{hours}\" }}\n\n[routing]\n"
                ),
            )
    };
    let started = with_hours("office", "09:00-18:00");
    std::fs::write(&file, &started).unwrap();
    let config = config::parse("hotline.toml", &started, 42, [9; 32]).unwrap();
    let running = runtime::start_with(config, None, None).await.unwrap();
    let reloader = Arc::new(hotline_server::reload::Reloader::new(
        file.clone(),
        started,
        running.control.clone(),
        None,
        None,
    ));
    // New hours: applied, nothing to restart for.
    std::fs::write(&file, with_hours("office", "08:00-20:00")).unwrap();
    let report = reloader.reload("test").await.unwrap();
    assert_eq!(report.restart_needed, Vec::<String>::new());
    // A calendar renamed: numbers name calendars by place, so it waits for a restart.
    std::fs::write(&file, with_hours("hq", "08:00-20:00")).unwrap();
    let refused = reloader.reload("test").await.unwrap_err().to_string();
    assert!(refused.contains("calendars"), "{refused}");
    // An unreadable file is said so.
    std::fs::remove_file(&file).unwrap();
    let refused = reloader.reload("test").await.unwrap_err().to_string();
    assert!(refused.contains("cannot read"), "{refused}");
    running.stop().await.unwrap();
}

async fn call(
    router: &axum::Router,
    method: Method,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {key}"));
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = router
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

#[tokio::test]
async fn the_admin_edits_an_agent_a_queue_and_the_hours_in_the_file_and_a_bad_edit_leaves_it_alone()
{
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("hotline.toml");
    let started = format!(
        "# Written by the operations team; keep this comment.\n{}[[calendars]]\nname = \"office\"\n\
         weekly = {{ mon = \"09:00-18:00\" }}\n",
        version(r#"["vip"]"#, "hotline")
    );
    // The file holds passwords (owner only) and is reached through a link, as configuration
    // management lays files out: both stay so after an edit.
    use std::os::unix::fs::PermissionsExt;
    let real = data.path().join("real.toml");
    std::fs::write(&real, &started).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&real, &file).unwrap();
    let config = config::parse("hotline.toml", &started, 42, [9; 32]).unwrap();
    let running = runtime::start_with(config, None, None).await.unwrap();
    let records = Records::open(data.path().join("records.db"), Keyring::generate().unwrap())
        .await
        .unwrap();
    let supervisor = records
        .create_api_key("sam", Role::Supervisor, 0, "t")
        .await
        .unwrap()
        .1;
    let agent = records
        .create_api_key("ann", Role::Agent, 0, "t")
        .await
        .unwrap()
        .1;
    let router = api::router(ApiState {
        reload: Some(Arc::new(hotline_server::reload::Reloader::new(
            file.clone(),
            started.clone(),
            running.control.clone(),
            None,
            None,
        ))),
        ..ApiState::new(records)
    });
    let (status, _) = call(&router, Method::GET, "/api/v1/admin/config", &agent, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, view) = call(
        &router,
        Method::GET,
        "/api/v1/admin/config",
        &supervisor,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["agents"][1]["name"], "bob");
    assert_eq!(view["agents"][1]["queues"], serde_json::json!(["vip"]));
    assert_eq!(view["calendars"][0]["weekly"]["mon"], "09:00-18:00");

    // bob takes general too, first.
    let (status, report) = call(
        &router,
        Method::PUT,
        "/api/v1/admin/agents/bob",
        &supervisor,
        Some(serde_json::json!({"skills": [], "queues": ["general:1", "vip:2"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["restart_needed"], serde_json::json!([]));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("# Written by the operations team; keep this comment."));
    assert!(std::fs::symlink_metadata(&file).unwrap().is_symlink());
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        written.contains(r#"queues = ["general:1", "vip:2"]"#),
        "{written}"
    );

    // Edits the configuration refuses leave the file as it was.
    for (uri, body, field) in [
        // Nobody would serve vip.
        (
            "/api/v1/admin/agents/bob",
            serde_json::json!({"skills": [], "queues": ["general"]}),
            "routing.queues[1]",
        ),
        (
            "/api/v1/admin/agents/bob",
            serde_json::json!({"skills": [], "queues": ["nowhere"]}),
            "routing.agents[1].queues[0]",
        ),
        (
            "/api/v1/admin/queues/general",
            serde_json::json!({"service_level": "120/20"}),
            "routing.queues[0].service_level",
        ),
        (
            "/api/v1/admin/calendars/office",
            serde_json::json!({"weekly": {"mon": "18:00-09:00"}}),
            "calendars[0].weekly.mon",
        ),
        (
            "/api/v1/admin/calendars/office",
            serde_json::json!({"weekly": {"funday": "09:00-18:00"}}),
            "weekly.funday",
        ),
    ] {
        let (status, error) = call(&router, Method::PUT, uri, &supervisor, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {error}");
        assert!(
            error["error"]["field"].as_str().unwrap().starts_with(field),
            "{uri}: {error}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), written, "{uri}");
    }
    let (status, _) = call(
        &router,
        Method::PUT,
        "/api/v1/admin/agents/zed",
        &supervisor,
        Some(serde_json::json!({"skills": [], "queues": ["general"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An edit made on a page read before another save is refused, and writes nothing.
    let (_, fresh) = call(
        &router,
        Method::GET,
        "/api/v1/admin/config",
        &supervisor,
        None,
    )
    .await;
    let version = fresh["version"].as_str().unwrap().to_string();
    let put_with = |version: String, queues: Value| {
        let router = router.clone();
        let supervisor = supervisor.clone();
        async move {
            let request = Request::builder()
                .method(Method::PUT)
                .uri("/api/v1/admin/agents/ann")
                .header("authorization", format!("Bearer {supervisor}"))
                .header("content-type", "application/json")
                .header("if-match", format!("\"{version}\""))
                .body(Body::from(
                    serde_json::json!({"skills": [], "queues": queues}).to_string(),
                ))
                .unwrap();
            router.oneshot(request).await.unwrap().status()
        }
    };
    assert_eq!(
        put_with(version.clone(), serde_json::json!(["general", "vip"])).await,
        StatusCode::OK
    );
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        put_with(version, serde_json::json!(["general"])).await,
        StatusCode::CONFLICT
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), saved);

    // A queue's goal and the office hours.
    let (status, report) = call(
        &router,
        Method::PUT,
        "/api/v1/admin/queues/general",
        &supervisor,
        Some(serde_json::json!({"service_level": "90/15", "max_waiting": 40, "wrap_up": "45s"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (status, report) = call(
        &router,
        Method::PUT,
        "/api/v1/admin/calendars/office",
        &supervisor,
        Some(serde_json::json!({
            "weekly": {"mon": "08:00-20:00", "sat": "09:00-17:00"},
            "holidays": ["2026-10-01..2026-10-07"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (_, view) = call(
        &router,
        Method::GET,
        "/api/v1/admin/config",
        &supervisor,
        None,
    )
    .await;
    assert_eq!(view["queues"][0]["service_level"], "90/15");
    assert_eq!(view["queues"][0]["max_waiting"], 40);
    assert_eq!(view["calendars"][0]["weekly"]["sat"], "09:00-17:00");
    assert_eq!(
        view["calendars"][0]["holidays"],
        serde_json::json!(["2026-10-01..2026-10-07"])
    );
    // What was written starts the next center as it runs now.
    let written = std::fs::read_to_string(&file).unwrap();
    config::parse("hotline.toml", &written, 1, [0; 32]).unwrap();
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_admin_page_a_supervisor_gives_an_agent_the_queue_of_a_waiting_caller() {
    let data = tempfile::tempdir().unwrap();
    let center = admin_center(data.path(), &version(r#"["vip"]"#, "hotline")).await;
    let (http, stop_api) = center.serve("sam", Role::Supervisor).await;
    let (file, log_path, running) = (center.file, center.log, center.running);

    // bob is ready for vip; a caller waits in general.
    let switch = running.local;
    let phone =
        tokio::task::spawn_blocking(move || agent_phone(switch, "bob", "agent_answers.xml", 1))
            .await
            .unwrap();
    let caller = sipp_caller(switch, "caller_talks.xml", "95588");

    let page = browser_support::Browser::start("en").await;
    page.goto(&format!("http://{http}/login?next=%2Fadmin"))
        .await;
    page.fill("#name", "sam").await;
    page.fill("#password", "sam-password-1").await;
    page.click("#submit").await;
    let within = Duration::from_secs(8);
    page.wait_for_text("h1", "Admin", within).await;
    page.wait_for("#agents tr[data-agent=bob] input[name=queues]", within)
        .await;
    page.screenshot("1-admin").await;
    // A queue that does not exist: refused on the row, the file untouched.
    page.fill(
        "#agents tr[data-agent=bob] input[name=queues]",
        "vip, nowhere",
    )
    .await;
    page.click("#save-agent-bob").await;
    page.wait_for_text("#agents tr[data-agent=bob] .row-error", "nowhere", within)
        .await;
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains(r#"queues = ["vip"]"#));
    // general for bob: saved, running, and the waiting call rings his phone.
    page.fill(
        "#agents tr[data-agent=bob] input[name=queues]",
        "vip, general",
    )
    .await;
    page.click("#save-agent-bob").await;
    page.wait_for_text("#notice", "Saved and running", within)
        .await;
    page.screenshot("2-saved").await;
    check("caller", &caller.await.unwrap());
    let phone = tokio::task::spawn_blocking(move || phone.wait_with_output().unwrap())
        .await
        .unwrap();
    check("bob's phone", &phone);
    assert_eq!(
        page.console_errors().await.len(),
        1,
        "only the refused save's 422"
    );
    // By keyboard: from bob's queues, Tab reaches his row's save button.
    page.click("#agents tr[data-agent=bob] input[name=queues]")
        .await;
    page.press_tab().await;
    assert_eq!(page.active_element_text().await, "Save and run");
    // And in Chinese.
    page.click("#lang").await;
    page.wait_for_text("h1", "管理：队列、坐席、营业时间", within)
        .await;
    page.wait_for_text("#agents tr[data-agent=bob]", "保存并生效", within)
        .await;
    page.screenshot("3-zh").await;
    page.close().await;
    let _ = stop_api.send(());
    running.stop().await.unwrap();
    let offered: Vec<_> = log_events(&log_path)
        .await
        .into_iter()
        .filter(|e| e.kind == "offer.created")
        .collect();
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0].agent.as_deref(), Some("bob"));
}

/// A center run from `text` written to `hotline.toml` in `data`, with its event log, and the
/// API keys of an administrator and a supervisor.
struct Admin {
    running: runtime::Running,
    records: Records,
    router: axum::Router,
    admin: String,
    supervisor: String,
    file: std::path::PathBuf,
    log: std::path::PathBuf,
}

async fn admin_center(data: &std::path::Path, text: &str) -> Admin {
    let file = data.join("hotline.toml");
    std::fs::write(&file, text).unwrap();
    let config = config::parse("hotline.toml", text, 42, [9; 32]).unwrap();
    let log = data.join("events.db");
    let running = runtime::start_with(config, Some(&log), None).await.unwrap();
    let records = Records::open(data.join("records.db"), Keyring::generate().unwrap())
        .await
        .unwrap();
    let key = |name: &'static str, role| {
        let records = records.clone();
        async move { records.create_api_key(name, role, 0, "t").await.unwrap().1 }
    };
    let admin = key("ops", Role::Admin).await;
    let supervisor = key("sam", Role::Supervisor).await;
    let router = api::router(ApiState {
        reload: Some(Arc::new(hotline_server::reload::Reloader::new(
            file.clone(),
            text.to_owned(),
            running.control.clone(),
            None,
            running.events.clone(),
        ))),
        ..ApiState::new(records.clone())
    });
    Admin {
        running,
        records,
        router,
        admin,
        supervisor,
        file,
        log,
    }
}

impl Admin {
    /// Serves the API and the pages on a local port, with a user `name` of `role` who logs
    /// in with `<name>-password-1`; the sender stops it.
    async fn serve(
        &self,
        name: &str,
        role: Role,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let password = format!("{name}-password-1");
        self.records
            .create_user(name, None, role, &password, 1, "test")
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(api::serve(listener, self.router.clone(), async move {
            let _ = stopped.await;
        }));
        (http, stop)
    }
}

/// Waits until the log holds an event of `kind` (for `agent`, when given).
async fn wait_for_event(log: &std::path::Path, kind: &str, agent: Option<&str>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let events = log_events(log).await;
        if events
            .iter()
            .any(|e| e.kind == kind && (agent.is_none() || e.agent.as_deref() == agent))
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {kind} for {agent:?} in the log"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_added_by_the_admin_registers_at_once_and_a_removed_phone_is_logged_out() {
    let data = tempfile::tempdir().unwrap();
    let center = admin_center(data.path(), &version(r#"["vip"]"#, "hotline")).await;
    let (router, admin, supervisor) = (&center.router, &center.admin, &center.supervisor);
    let switch = center.running.local;

    // A caller waits in general, which only ann (who has no phone) serves.
    let caller = sipp_caller(switch, "caller_talks.xml", "95588");
    wait_for_event(&center.log, "contact.queued", None).await;

    // Adding an agent makes credentials: administrators only.
    let cara = serde_json::json!({"name": "cara", "skills": [], "queues": ["general"]});
    let (status, _) = call(
        router,
        Method::POST,
        "/api/v1/admin/agents",
        supervisor,
        Some(cara.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, added) = call(
        router,
        Method::POST,
        "/api/v1/admin/agents",
        admin,
        Some(cara.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["report"]["agents"], 3);
    assert_eq!(added["report"]["phones"], 2);
    assert_eq!(added["report"]["restart_needed"], serde_json::json!([]));
    let password = added["password"].as_str().unwrap().to_string();
    assert_eq!(password.len(), 16);
    let (status, again) = call(
        router,
        Method::POST,
        "/api/v1/admin/agents",
        admin,
        Some(cara),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // Her phone registers with the password made, without a restart, and takes the call.
    let secret = password.clone();
    let phone = tokio::task::spawn_blocking(move || {
        agent_phone_with(switch, "cara", &secret, "agent_answers.xml", 1)
    })
    .await
    .unwrap();
    check("caller", &caller.await.unwrap());
    let phone = tokio::task::spawn_blocking(move || phone.wait_with_output().unwrap())
        .await
        .unwrap();
    check("cara's phone", &phone);

    // A file the switch refuses (a queue renamed) that also drops her account changes
    // nothing: she stays registered.
    let good = std::fs::read_to_string(&center.file).unwrap();
    let without_cara = good
        .replace("name = \"vip\"", "name = \"gold\"")
        .replace("queues = [\"vip\"]", "queues = [\"gold\"]");
    let account = without_cara.find("agent = \"cara\"").unwrap();
    let start = without_cara[..account].rfind("[[sip.accounts]]").unwrap();
    let end = account + without_cara[account..].find("[[").unwrap();
    std::fs::write(
        &center.file,
        format!("{}{}", &without_cara[..start], &without_cara[end..]),
    )
    .unwrap();
    let (status, _) = post_reload(router, admin).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let status = center.running.control.agent_status("cara").await.unwrap();
    assert_eq!(status.map(|s| s.registered), Some(true));
    std::fs::write(&center.file, &good).unwrap();

    // Her account removed: logged out at once, and the password no longer registers.
    let (status, report) = call(
        router,
        Method::DELETE,
        "/api/v1/admin/agents/cara/phone",
        admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["phones"], 1);
    wait_for_event(&center.log, "agent.unregistered", Some("cara")).await;
    let status = center.running.control.agent_status("cara").await.unwrap();
    assert_eq!(
        status.map(|s| (s.state, s.registered)),
        Some(("logged_out", false))
    );
    let secret = password.clone();
    let refused = tokio::task::spawn_blocking(move || register(switch, "cara", &secret, 5))
        .await
        .unwrap();
    assert!(
        !refused.status.success(),
        "a removed account still registers"
    );
    let (status, _) = call(
        router,
        Method::DELETE,
        "/api/v1/admin/agents/cara/phone",
        admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A new skill, and a new queue served by bob that needs it; a queue nobody could serve
    // is refused and the file left alone.
    let before = std::fs::read_to_string(&center.file).unwrap();
    let (status, error) = call(
        router,
        Method::POST,
        "/api/v1/admin/queues",
        supervisor,
        Some(serde_json::json!({"name": "售后", "skills": ["售后"]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(std::fs::read_to_string(&center.file).unwrap(), before);
    let (status, _) = call(
        router,
        Method::POST,
        "/api/v1/admin/skills",
        supervisor,
        Some(serde_json::json!({"name": "售后"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, report) = call(
        router,
        Method::POST,
        "/api/v1/admin/queues",
        supervisor,
        Some(serde_json::json!({"name": "售后", "agents": ["bob"], "service_level": "90/30"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(report["queues"], 3);
    // bob's phone gets a new password (made): what his old one registered is logged out.
    let old = tokio::task::spawn_blocking(move || register(switch, "bob", "bob-secret", 5))
        .await
        .unwrap();
    check("bob registers with his old password", &old);
    let (status, phone) = call(
        router,
        Method::PUT,
        "/api/v1/admin/agents/bob/phone",
        admin,
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{phone}");
    let bob = phone["password"].as_str().unwrap().to_string();
    let (_, view) = call(
        router,
        Method::GET,
        "/api/v1/admin/config",
        supervisor,
        None,
    )
    .await;
    assert_eq!(view["skills"], serde_json::json!(["售后"]));
    assert_eq!(view["queues"][2]["name"], "售后");
    assert_eq!(
        view["agents"][1]["queues"],
        serde_json::json!(["vip", "售后"])
    );
    assert_eq!(view["agents"][1]["phone"], true);
    assert_eq!(view["agents"][2]["phone"], false, "cara's account is gone");
    let written = std::fs::read_to_string(&center.file).unwrap();
    assert!(
        written.contains(&format!("password = \"{bob}\"")),
        "{written}"
    );
    wait_for_event(&center.log, "agent.unregistered", Some("bob")).await;
    let refused = tokio::task::spawn_blocking(move || register(switch, "bob", "bob-secret", 5))
        .await
        .unwrap();
    assert!(
        !refused.status.success(),
        "the old password still registers"
    );
    let ok = tokio::task::spawn_blocking(move || register(switch, "bob", &bob, 5))
        .await
        .unwrap();
    check("bob registers with his new password", &ok);

    // Numbers from the admin: routed, listed, removed.
    let (status, report) = call(
        router,
        Method::PUT,
        "/api/v1/admin/numbers/4007",
        supervisor,
        Some(serde_json::json!({"queue": "售后"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (_, view) = call(
        router,
        Method::GET,
        "/api/v1/admin/config",
        supervisor,
        None,
    )
    .await;
    assert_eq!(
        view["numbers"][1],
        serde_json::json!({"number": "4007", "queue": "售后",
        "menu": null, "hours": null, "closed_queue": null, "closed_menu": null})
    );
    let (status, error) = call(
        router,
        Method::PUT,
        "/api/v1/admin/numbers/4007",
        supervisor,
        Some(serde_json::json!({"queue": "nowhere"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "sip.numbers[1].queue", "{error}");
    for expected in [StatusCode::OK, StatusCode::NOT_FOUND] {
        let (status, _) = call(
            router,
            Method::DELETE,
            "/api/v1/admin/numbers/4007",
            supervisor,
            None,
        )
        .await;
        assert_eq!(status, expected);
    }
    let written = std::fs::read_to_string(&center.file).unwrap();

    // A number for the new queue, written by hand and reloaded: the next call meets it.
    let numbered = written.replace(
        "[[sip.numbers]]\n",
        "[[sip.numbers]]\nnumber = \"4008\"\nqueue = \"售后\"\n[[sip.numbers]]\n",
    );
    std::fs::write(&center.file, &numbered).unwrap();
    let (status, report) = post_reload(router, admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["restart_needed"], serde_json::json!([]));
    let caller = sipp_caller(switch, "caller_hangs_up.xml", "4008")
        .await
        .unwrap();
    check("the caller of 4008", &caller);
    // With [media] changed too (its menus may have moved), a new number waits for the
    // restart with it: a call to 4009 still goes where unlisted numbers go.
    let later = numbered
        .replace("enabled = false", "enabled = false\nannounce_every = 20")
        .replace(
            "[[sip.numbers]]\n",
            "[[sip.numbers]]\nnumber = \"4009\"\nqueue = \"售后\"\n[[sip.numbers]]\n",
        );
    std::fs::write(&center.file, later).unwrap();
    let (status, report) = post_reload(router, admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["restart_needed"],
        serde_json::json!(["media", "sip.numbers (with the menus of [media])"])
    );
    let caller = sipp_caller(switch, "caller_hangs_up.xml", "4009")
        .await
        .unwrap();
    check("the caller of 4009", &caller);
    center.running.stop().await.unwrap();
    let events = log_events(&center.log).await;
    let queued: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "contact.queued")
        .map(|e| e.queue.as_deref())
        .collect();
    assert_eq!(queued, [Some("general"), Some("售后"), Some("general")]);
    let reloads = events
        .iter()
        .filter(|e| e.kind == "config.reloaded")
        .count();
    assert_eq!(reloads, 9, "each accepted change is logged");
    let refusals: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "config.refused")
        .map(|e| e.data["what"].as_str().unwrap())
        .collect();
    // cara added a second time, the rename, her phone removed a second time, the queue
    // nobody serves, a number to nowhere, a number removed a second time.
    assert_eq!(refusals, ["edit", "reload", "edit", "edit", "edit", "edit"]);
    let log = serde_json::to_string(&events.iter().map(|e| &e.data).collect::<Vec<_>>()).unwrap();
    assert!(
        !log.contains(&password),
        "a phone password in the event log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_admin_page_an_administrator_adds_a_skill_an_agent_whose_phone_registers_and_a_queue(
) {
    let data = tempfile::tempdir().unwrap();
    let center = admin_center(data.path(), &version(r#"["vip"]"#, "hotline")).await;
    let (http, stop_api) = center.serve("ops", Role::Admin).await;
    let (file, running) = (center.file, center.running);

    let page = browser_support::Browser::start("en").await;
    page.goto(&format!("http://{http}/login?next=%2Fadmin"))
        .await;
    page.fill("#name", "ops").await;
    page.fill("#password", "ops-password-1").await;
    page.click("#submit").await;
    let within = Duration::from_secs(8);
    page.wait_for("#agents tr[data-agent=bob]", within).await;
    page.wait_for_text("#agents tr[data-agent=bob]", "Set", within)
        .await;
    page.wait_for_text("#skills", "No skills yet", within).await;
    // A skill.
    page.fill("#new-skill input[name=name]", "售后").await;
    page.click("#new-skill button[type=submit]").await;
    page.wait_for_text("#skills", "售后", within).await;
    // A queue that needs it, which nobody has yet: refused under the form, file untouched.
    let before = std::fs::read_to_string(&file).unwrap();
    page.fill("#new-queue input[name=name]", "aftersales").await;
    page.fill("#new-queue input[name=skills]", "售后").await;
    page.click("#new-queue button[type=submit]").await;
    page.wait_for_text("#new-queue .row-error", "no agent can serve", within)
        .await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    // An agent with the skill; the password is made and shown once.
    page.fill("#new-agent input[name=name]", "cara").await;
    page.fill("#new-agent input[name=skills]", "售后:3").await;
    page.fill("#new-agent input[name=queues]", "general").await;
    page.click("#new-agent button[type=submit]").await;
    page.wait_for("#made-password", within).await;
    let password = page.text("#made-password").await;
    assert_eq!(password.len(), 16, "{password:?}");
    page.wait_for("#agents tr[data-agent=cara]", within).await;
    page.screenshot("4-agent-added").await;
    let switch = running.local;
    let secret = password.clone();
    let registered =
        tokio::task::spawn_blocking(move || register(switch, "cara", &secret, free_port()))
            .await
            .unwrap();
    check(
        "cara's phone registers with the password shown",
        &registered,
    );
    // Now the queue: cara takes it.
    page.fill("#new-queue input[name=name]", "aftersales").await;
    page.fill("#new-queue input[name=skills]", "售后").await;
    page.fill("#new-queue input[name=agents]", "cara").await;
    page.click("#new-queue button[type=submit]").await;
    page.wait_for("#queues tr[data-queue=aftersales]", within)
        .await;
    // A number for it, from the page.
    page.fill("#new-number input[name=number]", "4008").await;
    page.fill("#new-number input[name=queue]", "aftersales")
        .await;
    page.click("#new-number button[type=submit]").await;
    page.wait_for("#numbers tr[data-number='4008']", within)
        .await;
    // cara's phone removed, in two presses.
    page.click("#phone-remove-cara").await;
    page.wait_for_text("#phone-remove-cara", "Sure? Press again", within)
        .await;
    page.click("#phone-remove-cara").await;
    page.wait_for_text("#agents tr[data-agent=cara]", "None", within)
        .await;
    page.screenshot("5-phone-removed").await;
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(!written.contains(&password), "{written}");
    assert!(
        written.contains("queues = [\"general\", \"aftersales\"]"),
        "{written}"
    );
    assert!(
        written.contains("number = \"4008\"\nqueue = \"aftersales\""),
        "{written}"
    );
    assert_eq!(
        page.console_errors().await.len(),
        1,
        "only the refused queue's 422"
    );
    page.close().await;
    let _ = stop_api.send(());
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_reload_changes_the_wrap_up_outcomes_at_once() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("hotline.toml");
    let with = |list: &str| {
        format!(
            "{}[wrap_up]\ndispositions = {list}\n",
            version(r#"["vip"]"#, "hotline")
        )
    };
    let started = with(r#"["resolved", "other"]"#);
    std::fs::write(&file, &started).unwrap();
    let config = config::parse("hotline.toml", &started, 42, [9; 32]).unwrap();
    let dispositions = hotline_server::wrap_up::Dispositions::new(config.dispositions.clone());
    let running = runtime::start_with(config, None, None).await.unwrap();
    let reloader = Arc::new(
        hotline_server::reload::Reloader::new(
            file.clone(),
            started,
            running.control.clone(),
            None,
            None,
        )
        .with_dispositions(dispositions.clone()),
    );
    let codes = || -> Vec<String> { dispositions.get().iter().map(|d| d.code.clone()).collect() };
    assert_eq!(codes(), ["resolved", "other"]);
    std::fs::write(
        &file,
        with(r#"["resolved", { code = "refund", zh = "退款", en = "Refund" }, "other"]"#),
    )
    .unwrap();
    let report = reloader.reload("test").await.unwrap();
    assert!(report.restart_needed.is_empty(), "{report:?}");
    assert_eq!(codes(), ["resolved", "refund", "other"]);
    assert_eq!(dispositions.get()[1].zh, "退款");
    // A bad list changes nothing.
    std::fs::write(&file, with(r#"["resolved", "resolved"]"#)).unwrap();
    let refused = reloader.reload("test").await.unwrap_err().to_string();
    assert!(
        refused.contains("wrap_up.dispositions[1].code"),
        "{refused}"
    );
    assert_eq!(codes(), ["resolved", "refund", "other"]);
    running.stop().await.unwrap();
}
