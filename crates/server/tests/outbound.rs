//! The outbound dialler end to end: callback requests placed through the switch agent first,
//! with sipp as the agent's phone and as the customer's phone behind the carrier, over real
//! SIP on loopback, and the records and the event log read back. `scripts/test` installs sipp.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::Duration;

use hotline_phone::NumberContext;
use hotline_server::config;
use hotline_server::customer_link::PopHub;
use hotline_server::notify::WebhookProvider;
use hotline_server::outbound::{self, CallbackRequest, Dialling, Outbound, OutboundStats};
use hotline_server::runtime::{self, Running};
use hotline_store::{
    CallbackState, CallbackTask, Customer, CustomerFields, Keyring, Phone, Records, StoredEvent,
};
use support::*;

/// One agent, ann, in one queue; the carrier at `CARRIER` takes the calls hotline places;
/// legal hours all day (the tests run at any hour); retries after 2 s.
const CONFIG: &str = r#"
[sip]
listen = "127.0.0.1:0"
realm = "hotline"
digest = ["MD5"]
dial_timeout = 2
[[sip.accounts]]
agent = "ann"
password = "ann-secret"
[[sip.trunks]]
name = "carrier"
allow = ["127.0.0.0/8"]
address = "CARRIER"

[routing]
[routing.offers]
offer_timeout = 20
[[routing.queues]]
name = "general"
[[routing.agents]]
name = "ann"
queues = ["general"]

[dialer]
legal_hours = { name = "all_day", weekly = { mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" } }
max_attempts = MAX_ATTEMPTS
max_attempts_per_day = MAX_ATTEMPTS
asap_promise = "30s"
apology_after = "5m"
[dialer.retry]
busy = "2s"
no_answer = "2s"
rejected = "2s"
network_failure = "2s"

[outbound]
caller_id = "4008123123"
chat_url = "https://kf.example.cn/chat"
booking_url = "https://kf.example.cn/book"
apology_coupon = "SORRY10"
apology_tag = "回电延误 late callback"
"#;

struct Center {
    running: Running,
    outbound: Outbound,
    dialler: tokio::task::JoinHandle<OutboundStats>,
    records: Records,
}

impl Center {
    /// Stops the switch and the dialler, as at shutdown.
    async fn stop(self) -> OutboundStats {
        self.running.stop().await.unwrap();
        drop(self.outbound);
        self.dialler.await.unwrap()
    }
}

/// The key the records of `data` are sealed with, the same across restarts.
fn keyring(data: &Path) -> Keyring {
    Keyring::load_or_create(&data.join("keys")).unwrap()
}

/// A center on `data` (records and event log there) dialling out through `carrier`.
async fn center(data: &Path, carrier: SocketAddr, max_attempts: u32) -> Center {
    center_with(data, carrier, max_attempts, CONFIG).await
}

/// [`center`] with a configuration of its own.
async fn center_with(data: &Path, carrier: SocketAddr, max_attempts: u32, text: &str) -> Center {
    let text = text
        .replace("CARRIER", &carrier.to_string())
        .replace("MAX_ATTEMPTS", &max_attempts.to_string());
    let config = config::parse("outbound.toml", &text, 42, [9; 32]).unwrap();
    let records = Records::open(data.join("records.db"), keyring(data))
        .await
        .unwrap();
    let (switch_side, dialler_side) = outbound::link();
    let link = runtime::LinkSetup {
        records: records.clone(),
        hub: PopHub::new(),
        knowledge: Arc::new(hotline_server::knowledge::Knowledge::empty().unwrap()),
        number_context: NumberContext::default(),
        lookup: None,
        outbound: Some(switch_side),
    };
    let rules = config.dialer.clone();
    let max_in_flight = config.outbound_in_flight;
    let settings = config.notices.clone();
    let mode = config.outbound_mode;
    let agents: Vec<String> = config
        .routing
        .agents
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let running = runtime::start_with(config, Some(&data.join("events.db")), Some(link))
        .await
        .unwrap();
    let (outbound, dialler) = outbound::spawn(
        records.clone(),
        rules.clone(),
        rules.default_legal_hours().clone(),
        Duration::from_secs(3_600),
        Some(Dialling {
            side: dialler_side,
            events: running.events.clone(),
            max_in_flight,
            notices: Some((
                Arc::new(WebhookProvider {
                    events: running.events.clone().unwrap(),
                }),
                settings,
            )),
            mode,
            agents,
            queues: Vec::new(),
        }),
    )
    .await
    .unwrap();
    Center {
        running,
        outbound,
        dialler,
        records,
    }
}

fn carrier() -> (u16, SocketAddr) {
    let port = free_port();
    (port, format!("127.0.0.1:{port}").parse().unwrap())
}

/// 王芳, whose mobile 13800138000 is behind the carrier.
async fn wang(records: &Records) -> Customer {
    let number = hotline_phone::normalize("13800138000", &NumberContext::default()).unwrap();
    let fields = CustomerFields {
        name: Some("王芳".into()),
        phones: vec![Phone {
            number,
            label: None,
        }],
        level: "vip".into(),
        value_score: 900,
        ..CustomerFields::default()
    };
    records.create_customer(&fields, 1, "test").await.unwrap()
}

/// Asks for a callback of `customer`, as soon as possible or in `window`.
async fn request(center: &Center, customer: &Customer, window: Option<(i64, i64)>) -> CallbackTask {
    let now = now_ms();
    let mut request =
        CallbackRequest::for_customer(customer, "web_form", "退货 return", None, now).unwrap();
    request.task.payload = Some(serde_json::json!({ "order": "JD-20261206-0042" }));
    request.window = window;
    center.outbound.submit(request).await.unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Waits (at most 30 s) until the task is in `state`, and returns it.
async fn wait_for_state(records: &Records, id: i64, state: CallbackState) -> CallbackTask {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let task = records.callback_task(id).await.unwrap().unwrap();
        if task.state == state {
            return task;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task {id} still {:?} (outcome {:?}), waited for {state:?}",
            task.state,
            task.outcome
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A sipp customer's phone on the carrier's port, playing `scenario_name` for one call.
fn customer_phone(port: u16, switch: SocketAddr, scenario_name: &str) -> std::process::Child {
    sipp()
        .arg("-sf")
        .arg(scenario(scenario_name))
        .args(["-p", &port.to_string(), "-m", "1"])
        .args(["-mp", &free_port().to_string()])
        .arg(switch.to_string())
        .spawn()
        .unwrap()
}

/// Ann's phone answering one call, and the customer's phone on the carrier's port playing
/// `customer`.
async fn phones(switch: SocketAddr, port: u16, customer: &'static str) -> (Child, Child) {
    tokio::task::spawn_blocking(move || {
        let customer = customer_phone(port, switch, customer);
        (agent_phone(switch, "ann", "agent_answers.xml", 1), customer)
    })
    .await
    .unwrap()
}

/// Waits for both phones of [`phones`] and checks that their sipp runs passed.
async fn both_done((agent, customer): (Child, Child)) {
    let (agent, customer) = tokio::task::spawn_blocking(move || {
        (
            agent.wait_with_output().unwrap(),
            customer.wait_with_output().unwrap(),
        )
    })
    .await
    .unwrap();
    check("agent phone", &agent);
    check("customer phone", &customer);
}

fn events_of<'a>(events: &'a [StoredEvent], kind: &str) -> Vec<&'a StoredEvent> {
    events.iter().filter(|e| e.kind == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asap_request_rings_the_agent_first_then_dials_the_customer_and_connects() {
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let center = center(data.path(), address, 3).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    let phones = phones(switch, port, "customer_answers_and_hangs_up.xml").await;
    let task = request(&center, &customer, None).await;
    assert_eq!(task.state, CallbackState::Pending);
    both_done(phones).await;
    let done = wait_for_state(&center.records, task.id, CallbackState::Done).await;
    assert_eq!(done.attempts, 1);
    assert_eq!(done.outcome.as_deref(), Some("connected"));
    let stats = center.stop().await;
    assert_eq!(stats.attempts_placed, 1);
    assert_eq!(stats.attempts_ended, 1);

    let events = log_events(&data.path().join("events.db")).await;
    let kinds: Vec<String> = events.iter().map(|e| e.kind.clone()).collect();
    // The switch's side, in its order: the agent rings before the customer is dialled.
    assert_in_order(
        &kinds,
        &[
            "call.outbound_queued",
            "offer.created",
            "call.agent_ringing",
            "call.callback_dialling",
            "call.connected",
            "call.outbound_ended",
        ],
    );
    // The dialler's side, in its order.
    assert_in_order(
        &kinds,
        &[
            "callback.attempt_started",
            "callback.attempt_ended",
            "callback.done",
        ],
    );
    let queued = events_of(&events, "call.outbound_queued");
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].data["task"], task.id);
    assert_eq!(queued[0].data["customer_id"], customer.id.0);
    let dialling = events_of(&events, "call.callback_dialling");
    assert_eq!(dialling[0].data["number"], "+8613800138000");
    assert_eq!(dialling[0].agent.as_deref(), Some("ann"));
    let ended = events_of(&events, "call.outbound_ended");
    assert_eq!(ended[0].data["result"], "connected");
    // The figures, projected from the same log.
    let metrics = hotline_server::outbound_metrics::OutboundMetrics::default();
    let log = hotline_store::SqliteEventLog::open(data.path().join("events.db"))
        .await
        .unwrap();
    metrics.catch_up(&log).await.unwrap();
    let report = metrics.report(0, now_ms() + 1);
    // The wall, from the same log: the callback connected, ann took it.
    let routing = config::parse(
        "outbound.toml",
        &CONFIG
            .replace("CARRIER", &address.to_string())
            .replace("MAX_ATTEMPTS", "3"),
        42,
        [9; 32],
    )
    .unwrap()
    .routing;
    let wall = hotline_server::wall::WallMetrics::new(hotline_server::wall::Wall::new(
        Arc::new(routing),
        now_ms(),
    ));
    wall.catch_up(&log).await.unwrap();
    let today = wall.report(now_ms(), &hotline_calendar::Calendar::always_open());
    assert_eq!(today.queues[0].figures.connect_rate, Some(1.0), "{today:?}");
    assert_eq!(today.queues[0].figures.callbacks_pending, 0);
    assert_eq!(today.agents[0].name, "ann");
    let web = &report.by_channel["web_form"];
    assert_eq!(
        (web.requested, web.connected, web.dialled, web.answered),
        (1, 1, 1, 1)
    );
    assert_eq!(web.connect_rate, Some(1.0));
    assert_eq!(web.timeliness, Some(1.0), "dialled within its 30 s promise");
    assert_eq!(web.trigger_to_first_dial_ms.count, 1);
    assert!(web.trigger_to_connected_ms.p50.unwrap() >= web.trigger_to_first_dial_ms.p50.unwrap());
    let started = events_of(&events, "callback.attempt_started");
    assert!(
        started[0].at_ms - task.fields.created_ms < 1_000,
        "an ASAP request with a free agent is dialled at once: {} ms",
        started[0].at_ms - task.fields.created_ms
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_customer_is_called_again_after_the_busy_delay() {
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let center = center(data.path(), address, 3).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    let (phone, busy) = tokio::task::spawn_blocking(move || {
        let busy = customer_phone(port, switch, "customer_busy.xml");
        (agent_phone(switch, "ann", "agent_answers.xml", 2), busy)
    })
    .await
    .unwrap();
    let task = request(&center, &customer, None).await;
    let (phone, busy, answered) = tokio::task::spawn_blocking(move || {
        let busy = busy.wait_with_output().unwrap();
        // The second attempt comes 2 s later: this phone answers it.
        let answered = customer_phone(port, switch, "customer_answers_and_hangs_up.xml");
        (
            phone.wait_with_output().unwrap(),
            busy,
            answered.wait_with_output().unwrap(),
        )
    })
    .await
    .unwrap();
    check("busy customer", &busy);
    check("answering customer", &answered);
    check("agent phone", &phone);
    let done = wait_for_state(&center.records, task.id, CallbackState::Done).await;
    assert_eq!(done.attempts, 2);
    center.stop().await;

    let events = log_events(&data.path().join("events.db")).await;
    let ended = events_of(&events, "callback.attempt_ended");
    assert_eq!(ended.len(), 2, "{ended:?}");
    assert_eq!(ended[0].data["outcome"], "busy");
    assert_eq!(ended[1].data["outcome"], "connected");
    let started = events_of(&events, "callback.attempt_started");
    assert_eq!(started[1].data["attempt"], 2);
    let waited = started[1].at_ms - ended[0].at_ms;
    assert!(
        waited >= 2_000,
        "the busy delay is 2 s; the second attempt started {waited} ms after the first ended"
    );
    let results: Vec<_> = events_of(&events, "call.outbound_ended")
        .iter()
        .map(|e| e.data["result"].clone())
        .collect();
    assert_eq!(results, ["busy", "connected"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_then_a_failing_carrier_use_up_the_attempts_and_the_task_fails() {
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let center = center(data.path(), address, 2).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    let (phone, ringing) = tokio::task::spawn_blocking(move || {
        let ringing = customer_phone(port, switch, "customer_never_answers.xml");
        (agent_phone(switch, "ann", "agent_answers.xml", 2), ringing)
    })
    .await
    .unwrap();
    let task = request(&center, &customer, None).await;
    let (phone, ringing, failing) = tokio::task::spawn_blocking(move || {
        let ringing = ringing.wait_with_output().unwrap();
        let failing = customer_phone(port, switch, "carrier_unavailable.xml");
        (
            phone.wait_with_output().unwrap(),
            ringing,
            failing.wait_with_output().unwrap(),
        )
    })
    .await
    .unwrap();
    check("customer who never answers", &ringing);
    check("carrier answering 503", &failing);
    check("agent phone", &phone);
    let failed = wait_for_state(&center.records, task.id, CallbackState::Failed).await;
    assert_eq!(failed.attempts, 2);
    let outcome = failed.outcome.unwrap();
    assert!(outcome.contains("failed"), "{outcome}");
    center.stop().await;

    let events = log_events(&data.path().join("events.db")).await;
    let ended: Vec<_> = events_of(&events, "callback.attempt_ended")
        .iter()
        .map(|e| e.data["outcome"].clone())
        .collect();
    assert_eq!(ended, ["no_answer", "network_failure"]);
    let carrier_failure = events_of(&events, "call.outbound_ended")[1];
    assert_eq!(carrier_failure.data["status"], 503);
    let failed = events_of(&events, "callback.failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].data["task"], task.id);
    // The customer is told, in Chinese (no language preference), with both links.
    let notices = events_of(&events, "notify.callback_failed");
    assert_eq!(notices.len(), 1, "one message per failed task");
    let notice = &notices[0].data;
    assert_eq!(notice["task"], task.id);
    assert_eq!(notice["to"], "+8613800138000");
    assert_eq!(notice["language"], "zh-CN");
    let text = notice["text"].as_str().unwrap();
    assert!(
        text.contains("在线客服：https://kf.example.cn/chat"),
        "{text}"
    );
    assert!(
        text.contains("预约回电：https://kf.example.cn/book"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_dial_later_than_promised_sends_an_apology_with_the_coupon_and_flags_the_customer()
{
    let data = tempfile::tempdir().unwrap();
    let (_, address) = carrier();
    // Promised 1 s after the request; an apology is owed past 1 s more.
    let text = CONFIG
        .replace("asap_promise = \"30s\"", "asap_promise = \"1s\"")
        .replace("apology_after = \"5m\"", "apology_after = \"1s\"");
    let center = center_with(data.path(), address, 3, &text).await;
    let switch = center.running.local;
    let mut customer = wang(&center.records).await;
    customer.fields.preferences.language = Some("en".into());
    let customer = center
        .records
        .update_customer(customer.id, &customer.fields, None, 2, "test")
        .await
        .unwrap();
    // No agent for 3 s: the first dial comes about 2 s after its promise.
    let task = request(&center, &customer, None).await;
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    // The agent's phone never answers: what matters is when the attempt was handed out.
    let mut phone = tokio::task::spawn_blocking(move || {
        agent_phone(switch, "ann", "agent_never_answers.xml", 1)
    })
    .await
    .unwrap();
    wait_for_state(&center.records, task.id, CallbackState::Dialling).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let flagged = loop {
        let now = center.records.customer(customer.id).await.unwrap().unwrap();
        if !now.fields.tags.is_empty() || tokio::time::Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(flagged.fields.tags, ["回电延误 late callback"]);
    let _ = phone.kill();
    let _ = phone.wait();
    center.stop().await;
    let events = log_events(&data.path().join("events.db")).await;
    let missed = events_of(&events, "callback.promise_missed");
    assert_eq!(missed.len(), 1);
    assert!(missed[0].data["late_ms"].as_u64().unwrap() >= 1_000);
    let apology = events_of(&events, "notify.callback_late");
    assert_eq!(apology.len(), 1);
    assert_eq!(apology[0].data["language"], "en");
    assert_eq!(apology[0].data["coupon"], "SORRY10");
    let text = apology[0].data["text"].as_str().unwrap();
    assert!(
        text.contains("Please accept this coupon: SORRY10"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_a_later_window_waits_for_it() {
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let center = center(data.path(), address, 3).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    let phones = phones(switch, port, "customer_answers_and_hangs_up.xml").await;
    let start = now_ms() + 3_000;
    let task = request(&center, &customer, Some((start, start + 3_600_000))).await;
    assert_eq!(task.fields.window_start_ms, start);
    // The agent is free, but the window has not opened.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let waiting = center
        .records
        .callback_task(task.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waiting.state, CallbackState::Pending);
    assert_eq!(waiting.attempts, 0);
    both_done(phones).await;
    wait_for_state(&center.records, task.id, CallbackState::Done).await;
    center.stop().await;
    let events = log_events(&data.path().join("events.db")).await;
    let started = events_of(&events, "callback.attempt_started");
    assert!(
        started[0].at_ms >= start,
        "dialled {} ms before the window opened",
        start - started[0].at_ms
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do_not_call_set_after_the_request_stops_the_dial() {
    let data = tempfile::tempdir().unwrap();
    let (_, address) = carrier();
    let center = center(data.path(), address, 3).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    // No agent yet: the request waits for one.
    let task = request(&center, &customer, None).await;
    let mut fields = customer.fields.clone();
    fields.do_not_call = true;
    center
        .records
        .update_customer(customer.id, &fields, None, 2, "test")
        .await
        .unwrap();
    // An agent comes: the dialler would dial now, and checks the records first.
    let mut phone =
        tokio::task::spawn_blocking(move || agent_phone(switch, "ann", "agent_answers.xml", 1))
            .await
            .unwrap();
    let cancelled = wait_for_state(&center.records, task.id, CallbackState::Cancelled).await;
    assert_eq!(cancelled.outcome.as_deref(), Some("do_not_call"));
    assert_eq!(cancelled.attempts, 0);
    let _ = phone.kill();
    let _ = phone.wait();
    let stats = center.stop().await;
    assert_eq!(stats.cancelled_before_dial, 1);
    assert_eq!(stats.attempts_placed, 0);
    let events = log_events(&data.path().join("events.db")).await;
    assert!(events_of(&events, "call.outbound_queued").is_empty());
    let cancelled = events_of(&events, "callback.cancelled");
    assert_eq!(cancelled[0].data["reason"], "do_not_call");
}

/// Fixture (CI, stop 17): the switch shut the event writer down as it stopped, so an
/// event the dialler wrote after that (its last `callback.*`, while it stopped after the
/// switch) was lost. The log now stays open for every handle still held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dialler_still_writes_to_the_log_after_the_switch_stops() {
    let data = tempfile::tempdir().unwrap();
    let (_, address) = carrier();
    let center = center(data.path(), address, 3).await;
    let dialler_handle = center.running.events.clone().unwrap();
    center.running.stop().await.unwrap();
    let written = dialler_handle
        .try_append(hotline_store::NewEvent {
            at_ms: 1,
            kind: "callback.cancelled".into(),
            contact_id: None,
            agent: None,
            queue: None,
            data: serde_json::json!({ "task": 7, "reason": "do_not_call" }),
        })
        .await;
    assert!(written.is_ok(), "after the switch stopped: {written:?}");
    drop(dialler_handle);
    drop(center.outbound);
    center.dialler.await.unwrap();
    let events = log_events(&data.path().join("events.db")).await;
    assert_eq!(events_of(&events, "callback.cancelled")[0].data["task"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_the_agent_rings_loses_no_task_and_dials_nothing_twice() {
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let first = center(data.path(), address, 3).await;
    let switch = first.running.local;
    let customer = wang(&first.records).await;
    // Ann's phone rings and nobody picks up: the attempt is claimed, the customer not dialled.
    let mut ringing = tokio::task::spawn_blocking(move || {
        agent_phone(switch, "ann", "agent_never_answers.xml", 1)
    })
    .await
    .unwrap();
    let task = request(&first, &customer, None).await;
    let claimed = wait_for_state(&first.records, task.id, CallbackState::Dialling).await;
    assert_eq!(claimed.attempts, 1);
    // The process dies: the dialler without a goodbye, the switch with its calls.
    first.dialler.abort();
    first.running.stop().await.unwrap();
    drop(first.outbound);
    let _ = ringing.kill();
    let _ = ringing.wait();

    let second = center(data.path(), address, 3).await;
    let switch = second.running.local;
    let phones = phones(switch, port, "customer_answers_and_hangs_up.xml").await;
    both_done(phones).await;
    let done = wait_for_state(&second.records, task.id, CallbackState::Done).await;
    assert_eq!(done.attempts, 2, "attempt 1 ended unknown in the restart");
    let stats = second.stop().await;
    assert_eq!(stats.restored, 1);

    let events = log_events(&data.path().join("events.db")).await;
    let started: Vec<_> = events_of(&events, "callback.attempt_started")
        .iter()
        .map(|e| e.data["attempt"].clone())
        .collect();
    assert_eq!(started, [1, 2], "each attempt is handed out once");
    let ended: Vec<_> = events_of(&events, "callback.attempt_ended")
        .iter()
        .map(|e| (e.data["attempt"].clone(), e.data["outcome"].clone()))
        .collect();
    assert_eq!(
        ended,
        [
            (serde_json::json!(1), serde_json::json!("unknown")),
            (serde_json::json!(2), serde_json::json!("connected"))
        ]
    );
    assert_eq!(
        events_of(&events, "call.callback_dialling").len(),
        1,
        "the customer was dialled once"
    );
}

/// [`CONFIG`] placing callbacks automatically.
fn automatic() -> String {
    CONFIG.replace(
        "caller_id = \"4008123123\"",
        "caller_id = \"4008123123\"\nmode = \"automatic\"",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automatic_callback_dials_at_once_and_the_customer_presses_1_for_an_agent() {
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let center = center_with(data.path(), address, 3, &automatic()).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    let phones = phones(switch, port, "customer_presses_1_for_an_agent.xml").await;
    let task = request(&center, &customer, None).await;
    both_done(phones).await;
    let done = wait_for_state(&center.records, task.id, CallbackState::Done).await;
    assert_eq!(done.outcome.as_deref(), Some("connected"));
    center.stop().await;
    let events = log_events(&data.path().join("events.db")).await;
    let kinds: Vec<String> = events.iter().map(|e| e.kind.clone()).collect();
    // The customer first, then (on their key) the queue and the agent.
    assert_in_order(
        &kinds,
        &[
            "call.outbound_dialling",
            "call.outbound_ended",
            "call.menu_choice",
            "call.queued",
            "offer.created",
            "call.agent_ringing",
            "call.connected",
            "call.ended",
        ],
    );
    let choice = events_of(&events, "call.menu_choice");
    assert_eq!(choice[0].data["menu"], "outbound_auto_zh");
    assert_eq!(choice[0].data["digit"], "1");
    assert_eq!(
        events_of(&events, "call.outbound_ended")[0].data["result"],
        "connected"
    );
    assert!(
        events_of(&events, "call.callback_dialling").is_empty(),
        "no agent first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_an_automatic_callback_the_customer_chooses_a_later_time_by_key() {
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let center = center_with(data.path(), address, 3, &automatic()).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    // No agent at all: an automatic call needs none to start.
    let customer_phone = tokio::task::spawn_blocking(move || {
        customer_phone(port, switch, "customer_chooses_later.xml")
    })
    .await
    .unwrap();
    let task = request(&center, &customer, None).await;
    let customer_phone =
        tokio::task::spawn_blocking(move || customer_phone.wait_with_output().unwrap())
            .await
            .unwrap();
    check("customer phone", &customer_phone);
    wait_for_state(&center.records, task.id, CallbackState::Done).await;
    // A new task for an hour from now, same customer and reason.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let later = loop {
        let pending = center
            .records
            .callback_tasks(&hotline_store::CallbackFilter {
                state: Some(CallbackState::Pending),
                ..Default::default()
            })
            .await
            .unwrap();
        if let Some(task) = pending.into_iter().next() {
            break task;
        }
        if tokio::time::Instant::now() > deadline {
            let events = log_events(&data.path().join("events.db")).await;
            let seen: Vec<_> = events.iter().map(|e| (&e.kind, &e.data)).collect();
            panic!("no later task; the log: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(later.id, task.id);
    assert_eq!(later.fields.customer, Some(customer.id));
    assert_eq!(later.fields.reason, task.fields.reason);
    let in_ms = later.fields.window_start_ms - now_ms();
    assert!(
        (3_500_000..=3_600_000).contains(&in_ms),
        "the customer pressed 1: in one hour; the window starts in {in_ms} ms"
    );
    let stats = center.stop().await;
    assert_eq!(stats.moved_later, 1);
    let events = log_events(&data.path().join("events.db")).await;
    let later_events = events_of(&events, "call.outbound_later");
    assert_eq!(later_events[0].data["after_ms"], 3_600_000);
    let menus: Vec<_> = events_of(&events, "call.menu_choice")
        .iter()
        .map(|e| (e.data["menu"].clone(), e.data["digit"].clone()))
        .collect();
    assert_eq!(
        menus,
        [
            (
                serde_json::json!("outbound_auto_zh"),
                serde_json::json!("2")
            ),
            (
                serde_json::json!("outbound_later_zh"),
                serde_json::json!("1")
            )
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_preview_nothing_is_dialled_until_an_agent_presses_dial() {
    use hotline_server::outbound::DialError;
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let text = CONFIG.replace(
        "caller_id = \"4008123123\"",
        "caller_id = \"4008123123\"\nmode = \"preview\"",
    );
    let center = center_with(data.path(), address, 3, &text).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    let phones = phones(switch, port, "customer_answers_and_hangs_up.xml").await;
    let task = request(&center, &customer, None).await;
    // Ann is free and the task is due, but in preview she chooses.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let waiting = center
        .records
        .callback_task(task.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (waiting.state, waiting.attempts),
        (CallbackState::Pending, 0)
    );
    let cards = center.outbound.preview(10).await.unwrap();
    assert_eq!(cards.iter().map(|t| t.id).collect::<Vec<_>>(), [task.id]);
    assert!(matches!(
        center.outbound.dial(task.id, "zoe").await,
        Err(DialError::UnknownAgent(_))
    ));
    let dialling = center.outbound.dial(task.id, "ann").await.unwrap();
    assert_eq!(dialling.state, CallbackState::Dialling);
    assert!(matches!(
        center.outbound.dial(task.id, "ann").await,
        Err(DialError::Claim(
            hotline_dialer::ClaimError::Dialling { .. }
        ))
    ));
    assert!(center.outbound.preview(10).await.unwrap().is_empty());
    both_done(phones).await;
    let done = wait_for_state(&center.records, task.id, CallbackState::Done).await;
    assert_eq!(done.attempts, 1);
    center.stop().await;
    let events = log_events(&data.path().join("events.db")).await;
    let dialling = events_of(&events, "call.callback_dialling");
    assert_eq!(dialling[0].agent.as_deref(), Some("ann"));
}

/// A predictive campaign for the queue `general`, paced progressively (one call per idle
/// agent: with one agent, one customer at a time, as the single sipp customer needs).
async fn campaign(center: &Center) -> hotline_store::Campaign {
    center
        .outbound
        .create_campaign(
            hotline_store::NewCampaign {
                name: "续保 renewals".into(),
                queue: "general".into(),
                pacer: "progressive".into(),
                abandon_cap: 0.03,
            },
            "supervisor",
        )
        .await
        .unwrap()
}

/// Adds 王芳's number to the campaign; answers her task.
async fn add_wang(center: &Center, campaign: i64, customer: &Customer) -> CallbackTask {
    let request =
        CallbackRequest::for_customer(customer, "campaign", "续保 renewals", None, now_ms())
            .unwrap();
    let added = center
        .outbound
        .add_numbers(campaign, vec![request], "supervisor")
        .await
        .unwrap();
    assert_eq!((added.accepted, added.skipped.len()), (1, 0));
    let tasks = center
        .records
        .callback_tasks(&hotline_store::CallbackFilter {
            customer: Some(customer.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    tasks.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_dials_before_the_agent_rings_and_bridges_the_answered_customer() {
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let center = center(data.path(), address, 3).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    let campaign = campaign(&center).await;
    let phones = phones(switch, port, "customer_answers_and_hangs_up.xml").await;
    let task = add_wang(&center, campaign.id, &customer).await;
    assert_eq!(task.fields.campaign, Some(campaign.id));
    assert_eq!(task.fields.mode.as_deref(), Some("predictive"));
    both_done(phones).await;
    let done = wait_for_state(&center.records, task.id, CallbackState::Done).await;
    assert_eq!(done.outcome.as_deref(), Some("connected"));
    let live = center.outbound.campaigns().await.unwrap();
    assert_eq!(live.len(), 1);
    let counters = live[0].since_start;
    assert_eq!(
        (
            counters.placed,
            counters.answered,
            counters.connected,
            counters.abandoned
        ),
        (1, 1, 1, 0)
    );
    assert_eq!((live[0].answered_24h, live[0].abandoned_24h), (1, 0));
    let stats = center.stop().await;
    assert_eq!(stats.campaign_calls_placed, 1);
    let events = log_events(&data.path().join("events.db")).await;
    let kinds: Vec<String> = events.iter().map(|e| e.kind.clone()).collect();
    // The customer first; on their answer the queue, then the agent.
    assert_in_order(
        &kinds,
        &[
            "call.outbound_dialling",
            "call.outbound_answered",
            "call.queued",
            "offer.created",
            "call.agent_ringing",
            "call.connected",
            "call.outbound_ended",
        ],
    );
    assert!(events_of(&events, "call.callback_dialling").is_empty());
    let requested = events_of(&events, "callback.requested");
    assert_eq!(requested[0].data["campaign"], campaign.id);
    assert_eq!(requested[0].data["channel"], "campaign");
    // The answer is stored for the rolling windows.
    let minutes = center_records(data.path())
        .await
        .campaign_abandons_since(campaign.id, 0)
        .await
        .unwrap();
    let answered: u64 = minutes.iter().map(|m| m.1).sum();
    let abandoned: u64 = minutes.iter().map(|m| m.2).sum();
    assert_eq!((answered, abandoned), (1, 0));
}

/// The records of `data`, opened again.
async fn center_records(data: &Path) -> Records {
    Records::open(data.join("records.db"), keyring(data))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_call_no_agent_takes_within_2_s_is_abandoned_with_the_apology_and_stays_counted_after_a_restart(
) {
    let data = tempfile::tempdir().unwrap();
    let (port, address) = carrier();
    let center = center(data.path(), address, 1).await;
    let switch = center.running.local;
    let customer = wang(&center.records).await;
    let campaign = campaign(&center).await;
    // Ann is ready, so the pacer dials; her phone then rings unanswered.
    let phones = tokio::task::spawn_blocking(move || {
        let customer = customer_phone(port, switch, "customer_answers_and_waits.xml");
        (
            agent_phone(switch, "ann", "agent_never_answers.xml", 1),
            customer,
        )
    })
    .await
    .unwrap();
    let task = add_wang(&center, campaign.id, &customer).await;
    both_done(phones).await;
    let failed = wait_for_state(&center.records, task.id, CallbackState::Failed).await;
    assert!(
        failed
            .outcome
            .as_deref()
            .unwrap_or("")
            .contains("abandoned"),
        "{:?}",
        failed.outcome
    );
    center.stop().await;
    let events = log_events(&data.path().join("events.db")).await;
    let answered = events_of(&events, "call.outbound_answered");
    let ended = events_of(&events, "call.outbound_ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].data["result"], "abandoned");
    // Dropped 2 s after the answer (the switch's clock, give or take a timer's turn).
    let waited = ended[0].at_ms - answered[0].at_ms;
    assert!(
        (2_000..2_500).contains(&waited),
        "abandoned after {waited} ms"
    );
    // The agent's phone stopped ringing, and the customer heard the apology.
    assert_eq!(events_of(&events, "call.connected").len(), 0);

    // After a restart the campaign still counts the abandon over 24 h and 30 days.
    let (_, address) = carrier();
    let center = center_with(data.path(), address, 1, CONFIG).await;
    let live = center.outbound.campaigns().await.unwrap();
    assert_eq!((live[0].answered_24h, live[0].abandoned_24h), (1, 1));
    assert_eq!((live[0].answered_30d, live[0].abandoned_30d), (1, 1));
    assert_eq!(live[0].abandonment_24h, Some(1.0));
    center.stop().await;
}
