//! End to end through real sockets with sipp (Debian's `sip-tester`) as an independent peer:
//! sipp registers an agent with digest authentication, sipp answers as the agent's phone, sipp
//! calls in from the trunk. `scripts/test` installs sipp when it is missing.

use std::net::{SocketAddr, UdpSocket};
use std::process::Output;

mod support;

use hotline_server::config;
use hotline_server::runtime::{self, Running};
use support::*;

const CONFIG: &str = r#"
[sip]
listen = "127.0.0.1:0"
realm = "hotline"
# sipp answers only MD5 challenges, and only the first one it reads.
digest = ["MD5"]
default_queue = "general"
[[sip.accounts]]
agent = "ann"
password = "ann-secret"
[[sip.accounts]]
agent = "bob"
password = "bob-secret"
[[sip.numbers]]
number = "95588"
queue = "general"
[[sip.trunks]]
name = "loopback"
allow = ["127.0.0.0/8"]
# These tests are signalling only: the caller hears ringing until an agent answers and the
# media flows phone to phone. tests/sipp_media.rs anchors the media.
[media]
enabled = false

[routing]
[routing.offers]
offer_timeout = 4
[[routing.queues]]
name = "general"
[[routing.agents]]
name = "ann"
queues = ["general"]
[[routing.agents]]
name = "bob"
queues = ["general"]
"#;

async fn server() -> Running {
    server_with_log(None).await
}

async fn server_with_log(log: Option<&std::path::Path>) -> Running {
    let config = config::parse("sipp-test.toml", CONFIG, 42, [9; 32]).unwrap();
    runtime::start(config, log).await.unwrap()
}

/// The same centre with anchored media: 95588 answers with a menu (1: the queue), calls are
/// recorded (one channel per leg).
async fn media_server(log: &std::path::Path) -> Running {
    media_server_dialling(log, None).await
}

/// [`media_server`] whose trunk takes the calls hotline places (callbacks) at `carrier`.
async fn media_server_dialling(log: &std::path::Path, carrier: Option<SocketAddr>) -> Running {
    let mut text = CONFIG.replace("[media]\nenabled = false\n", MEDIA).replace(
        "number = \"95588\"\nqueue = \"general\"",
        "number = \"95588\"\nmenu = \"main\"",
    );
    if let Some(carrier) = carrier {
        text = text.replace(
            "allow = [\"127.0.0.0/8\"]",
            &format!("allow = [\"127.0.0.0/8\"]\naddress = \"{carrier}\""),
        );
        assert!(text.contains("address ="));
    }
    assert!(text.contains("menu = \"main\""));
    let config = config::parse("sipp-media.toml", &text, 42, [9; 32]).unwrap();
    runtime::start(config, Some(log)).await.unwrap()
}

const MEDIA: &str = r#"[media]
record = "stereo"
[[media.menus]]
name = "main"
prompts = ["zh/welcome_menu"]
options = { "1" = "queue:general" }
default = "hangup"
"#;

/// Places one call with a scenario file of ours.
fn caller_scenario(switch: SocketAddr, name: &str) -> Output {
    sipp()
        .arg("-sf")
        .arg(scenario(name))
        .args(["-s", "95588", "-m", "1"])
        .args(["-p", &free_port().to_string()])
        .arg(switch.to_string())
        .output()
        .unwrap()
}

/// One call with media from a caller scenario to 95588, answered by ann's phone playing
/// `agent`; the caller's and the phone's sipp outputs.
async fn media_call(
    switch: SocketAddr,
    agent: &'static str,
    caller: &'static str,
) -> (Output, Output) {
    tokio::task::spawn_blocking(move || {
        let phone = agent_phone(switch, "ann", agent, 1);
        let call = sipp()
            .arg("-sf")
            .arg(scenario(caller))
            .args(["-s", "95588", "-m", "1"])
            .args(["-p", &free_port().to_string()])
            .args(["-mp", &free_port().to_string()])
            .arg(switch.to_string())
            .output()
            .unwrap();
        (call, phone.wait_with_output().unwrap())
    })
    .await
    .unwrap()
}

/// Places `calls` calls from the trunk with sipp's built-in caller (`uac`).
fn caller(switch: SocketAddr, calls: u32, rate: u32) -> Output {
    sipp()
        .args(["-sn", "uac", "-s", "95588", "-d", "500"])
        .args(["-m", &calls.to_string(), "-r", &rate.to_string()])
        .args(["-p", &free_port().to_string()])
        .arg(switch.to_string())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sipp_caller_reaches_a_sipp_agent_registered_with_digest() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("events.db");
    let server = server_with_log(Some(&log_path)).await;
    let switch = server.local;
    let result = tokio::task::spawn_blocking(move || {
        let phone = agent_phone(switch, "ann", "agent_answers.xml", 1);
        check("caller", &caller(switch, 1, 1));
        phone.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    check("agent phone", &result);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.calls_in, 1);
    assert_eq!(stats.switch.connected, 1);
    // Every step is in the event log, in order.
    use hotline_store::EventLog;
    let log = hotline_store::SqliteEventLog::open(&log_path)
        .await
        .unwrap();
    let kinds: Vec<String> = log
        .read_from(0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    let expected = [
        "agent.registered",
        "call.arrived",
        "contact.queued",
        "offer.created",
        "call.agent_ringing",
        "call.connected",
        "contact.ended",
        "call.ended",
        "contact.completed",
    ];
    let mut position = 0;
    for kind in expected {
        match kinds[position..].iter().position(|k| k == kind) {
            Some(i) => position += i + 1,
            None => panic!("{kind} missing (in order) from {kinds:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_while_the_agent_rings_cancels_the_agent_leg() {
    let server = server().await;
    let switch = server.local;
    let (call, phone) = tokio::task::spawn_blocking(move || {
        let phone = agent_phone(switch, "ann", "agent_never_answers.xml", 1);
        let call = caller_scenario(switch, "caller_hangs_up.xml");
        (call, phone.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    check("caller", &call);
    check("agent phone (must see the CANCEL)", &phone);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.connected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_who_does_not_answer_loses_the_call_to_the_next() {
    let server = server().await;
    let switch = server.local;
    let (call, ann, bob) = tokio::task::spawn_blocking(move || {
        let ann = agent_phone(switch, "ann", "agent_never_answers.xml", 1);
        let call = std::thread::spawn(move || caller(switch, 1, 1));
        // Bob registers while Ann's phone rings, so Ann is offered the call first.
        std::thread::sleep(std::time::Duration::from_millis(1_000));
        let bob = agent_phone(switch, "bob", "agent_answers.xml", 1);
        (
            call.join().unwrap(),
            ann.wait_with_output().unwrap(),
            bob.wait_with_output().unwrap(),
        )
    })
    .await
    .unwrap();
    check("caller", &call);
    check("ann's phone (rings, then cancelled)", &ann);
    check("bob's phone (answers)", &bob);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.connected, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_garbage_does_not_stop_a_call() {
    let server = server().await;
    let switch = server.local;
    let (call, phone) = tokio::task::spawn_blocking(move || {
        let phone = agent_phone(switch, "ann", "agent_answers.xml", 1);
        let flood = std::thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let broken = b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKf\r\n\
                From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: flood\r\nCSeq: x INVITE\r\n\r\n";
            let mut state = 1u64;
            for i in 0..5_000u32 {
                let bytes: Vec<u8> = if i % 2 == 0 {
                    (0..200).map(|_| (hotline_sip::splitmix64(&mut state) & 0xff) as u8).collect()
                } else {
                    broken.to_vec()
                };
                let _ = socket.send_to(&bytes, switch);
                if i % 100 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        });
        let call = caller(switch, 1, 1);
        flood.join().unwrap();
        (call, phone.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    check("caller during the flood", &call);
    check("agent phone during the flood", &phone);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.connected, 1);
    assert!(
        stats.transactions.malformed >= 4_000,
        "garbage is counted: {:?}",
        stats.transactions
    );
    assert!(
        stats.transactions.bad_request_responses > 0,
        "broken requests get 400"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_sipp_calls_in_a_row_all_connect() {
    let server = server().await;
    let switch = server.local;
    let result = tokio::task::spawn_blocking(move || {
        // Two agents, each answering 50 calls; calls arrive 10 a second, each lasting 0.5 s.
        let ann = agent_phone(switch, "ann", "agent_answers.xml", 50);
        let bob = agent_phone(switch, "bob", "agent_answers.xml", 50);
        let calls = caller(switch, 100, 10);
        (
            calls,
            ann.wait_with_output().unwrap(),
            bob.wait_with_output().unwrap(),
        )
    })
    .await
    .unwrap();
    check("caller", &result.0);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.calls_in, 100);
    assert_eq!(stats.switch.connected, 100, "{stats:?}");
    check("ann's phone", &result.1);
    check("bob's phone", &result.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_media_a_sipp_caller_presses_1_is_bridged_to_the_agent_and_recorded() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("events.db");
    let server = media_server(&log_path).await;
    let switch = server.local;
    let (call, phone) = media_call(switch, "agent_answers.xml", "caller_ivr.xml").await;
    check("caller", &call);
    check("agent phone", &phone);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.connected, 1);
    assert_eq!(stats.media.missing_prompts, 0);
    let events = log_events(&log_path).await;
    let kinds: Vec<String> = events.iter().map(|e| e.kind.clone()).collect();
    assert_in_order(
        &kinds,
        &[
            "call.arrived",
            "call.menu_choice",
            "call.queued",
            "offer.created",
            "call.agent_ringing",
            "call.connected",
            "call.ended",
        ],
    );
    let choice = events
        .iter()
        .find(|e| e.kind == "call.menu_choice")
        .unwrap();
    assert_eq!(
        choice.data["digit"], "1",
        "the RFC 4733 digit from the pcap"
    );
    // The recording: the caller's speech on the left, the (silent) agent on the right.
    let contact = choice.contact_id.unwrap();
    let path = data
        .path()
        .join("recordings")
        .join(format!("{contact}.wav"));
    let wav = hotline_media::wav::read_wav(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(wav.channels, 2);
    let peak = |channel: usize| {
        wav.channel(channel)
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0)
    };
    assert!(peak(0) > 1_000, "caller channel peak {}", peak(0));
    assert!(peak(1) < 100, "agent channel peak {}", peak(1));
    // The call's media quality is logged once its media is over.
    let quality = events
        .iter()
        .find(|e| e.kind == "call.media_quality" && e.contact_id == Some(contact))
        .unwrap_or_else(|| panic!("no call.media_quality in {kinds:?}"));
    let caller_in = quality.data["caller"]["packets_in"].as_u64().unwrap();
    let agent_out = quality.data["agent"]["packets_out"].as_u64().unwrap();
    assert!(caller_in > 50, "{:?}", quality.data);
    assert!(
        agent_out > 50,
        "the caller's speech relayed: {:?}",
        quality.data
    );
    assert!(quality.data["caller"]["jitter_ms"].is_number());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_media_a_caller_who_hangs_up_in_the_queue_is_an_abandon() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("events.db");
    let server = media_server(&log_path).await;
    let switch = server.local;
    let call = tokio::task::spawn_blocking(move || {
        sipp()
            .arg("-sf")
            .arg(scenario("caller_waits_and_hangs_up.xml"))
            .args(["-s", "10000", "-m", "1"])
            .args(["-p", &free_port().to_string()])
            .args(["-mp", &free_port().to_string()])
            .arg(switch.to_string())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    check("caller", &call);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.connected, 0);
    let events = log_events(&log_path).await;
    let ended = events
        .iter()
        .find(|e| e.kind == "contact.ended")
        .expect("the contact ended");
    assert_eq!(ended.data["outcome"], "abandoned", "{:?}", ended.data);
    assert!(
        events.iter().all(|e| e.kind != "call.announced"),
        "no agent is logged in, so no wait is promised"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_media_a_caller_presses_1_and_is_called_back_when_an_agent_is_free() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("events.db");
    let carrier_port = free_port();
    let carrier: SocketAddr = format!("127.0.0.1:{carrier_port}").parse().unwrap();
    let server = media_server_dialling(&log_path, Some(carrier)).await;
    let switch = server.local;
    let (call, customer, phone) = tokio::task::spawn_blocking(move || {
        // The customer's phone, behind the carrier.
        let customer = sipp()
            .arg("-sf")
            .arg(scenario("customer_answers_and_hangs_up.xml"))
            .args(["-p", &carrier_port.to_string(), "-m", "1"])
            .args(["-mp", &free_port().to_string()])
            .arg(switch.to_string())
            .spawn()
            .unwrap();
        // No agent is logged in: the caller waits, presses 1, hears the promise, is let go.
        let call = sipp()
            .arg("-sf")
            .arg(scenario("caller_presses_1.xml"))
            .args(["-s", "10000", "-m", "1"])
            .args(["-p", &free_port().to_string()])
            .args(["-mp", &free_port().to_string()])
            .arg(switch.to_string())
            .output()
            .unwrap();
        // An agent logs in: the callback is hers; she answers, the customer is dialled.
        let phone = agent_phone(switch, "ann", "agent_answers.xml", 1);
        (
            call,
            customer.wait_with_output().unwrap(),
            phone.wait_with_output().unwrap(),
        )
    })
    .await
    .unwrap();
    check("caller", &call);
    check("customer", &customer);
    check("agent phone", &phone);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.connected, 1);
    let events = log_events(&log_path).await;
    let kinds: Vec<String> = events.iter().map(|e| e.kind.clone()).collect();
    assert_in_order(
        &kinds,
        &[
            "call.arrived",
            "call.queued",
            "call.callback_accepted",
            "call.ended",
            "offer.created",
            "call.agent_ringing",
            "call.callback_dialling",
            "call.connected",
            "contact.ended",
            "call.ended",
        ],
    );
    let dialling = events
        .iter()
        .find(|e| e.kind == "call.callback_dialling")
        .unwrap();
    assert_eq!(dialling.data["number"], "13800138000");
    let ended = events.iter().find(|e| e.kind == "contact.ended").unwrap();
    assert_eq!(ended.data["outcome"], "answered", "{:?}", ended.data);
    // The conversation is recorded like any other.
    let contact = dialling.contact_id.unwrap();
    assert!(data
        .path()
        .join("recordings")
        .join(format!("{contact}.wav"))
        .exists());
}

/// The media centre whose menu key 1 transfers to 4008123123 through a carrier at
/// `carrier`, with `auth` lines added to the trunk.
async fn transfer_server(log: &std::path::Path, carrier: SocketAddr, auth: &str) -> Running {
    let text = CONFIG
        .replace(
            "[media]\nenabled = false\n",
            // A failed transfer comes back to the menu; with no key in 1 s it hangs up.
            &MEDIA
                .replace("\"queue:general\"", "\"transfer:4008123123\"")
                .replace(
                    "default = \"hangup\"",
                    "default = \"hangup\"\ntimeout = 1\nrepeats = 0",
                ),
        )
        .replace(
            "number = \"95588\"\nqueue = \"general\"",
            "number = \"95588\"\nmenu = \"main\"",
        )
        .replace(
            "allow = [\"127.0.0.0/8\"]",
            &format!("allow = [\"127.0.0.0/8\"]\naddress = \"{carrier}\"\n{auth}"),
        );
    assert!(text.contains("transfer:4008123123") && text.contains("address ="));
    let config = config::parse("sipp-transfer.toml", &text, 42, [9; 32]).unwrap();
    runtime::start(config, Some(log)).await.unwrap()
}

/// A sipp caller presses 1 (a transfer) while `callee_scenario` answers behind the carrier.
async fn transfer_call(
    server: &Running,
    carrier_port: u16,
    callee_scenario: &'static str,
) -> (Output, Output) {
    let switch = server.local;
    tokio::task::spawn_blocking(move || {
        let callee = sipp()
            .arg("-sf")
            .arg(scenario(callee_scenario))
            .args(["-p", &carrier_port.to_string(), "-m", "1"])
            .args(["-mp", &free_port().to_string()])
            .arg(switch.to_string())
            .spawn()
            .unwrap();
        // The caller hears the menu, presses 1 and stays until hotline hangs up on it.
        let call = sipp()
            .arg("-sf")
            .arg(scenario("caller_presses_1.xml"))
            .args(["-s", "95588", "-m", "1"])
            .args(["-p", &free_port().to_string()])
            .args(["-mp", &free_port().to_string()])
            .arg(switch.to_string())
            .output()
            .unwrap();
        (call, callee.wait_with_output().unwrap())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_media_a_menu_key_transfers_a_sipp_caller_to_an_outside_number() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("events.db");
    let carrier_port = free_port();
    let carrier: SocketAddr = format!("127.0.0.1:{carrier_port}").parse().unwrap();
    let server = transfer_server(&log_path, carrier, "").await;
    // The outside number's phone: answers, talks 2 s, hangs up.
    let (call, outside) =
        transfer_call(&server, carrier_port, "customer_answers_and_hangs_up.xml").await;
    check("caller", &call);
    check("outside phone", &outside);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.transferred, 1);
    assert_eq!(stats.switch.connected, 0);
    let events = log_events(&log_path).await;
    let kinds: Vec<String> = events.iter().map(|e| e.kind.clone()).collect();
    assert_in_order(
        &kinds,
        &[
            "call.arrived",
            "call.menu_choice",
            "call.transfer_dialling",
            "call.transfer_connected",
            "call.ended",
        ],
    );
    assert!(!kinds
        .iter()
        .any(|k| k.starts_with("contact.") || k == "call.queued"));
    let dialling = events
        .iter()
        .find(|e| e.kind == "call.transfer_dialling")
        .unwrap();
    assert_eq!(dialling.data["number"], "4008123123");
    let ended = events.iter().find(|e| e.kind == "call.ended").unwrap();
    assert_eq!(ended.data["by"], "outside", "{:?}", ended.data);
    // Recorded like any conversation.
    let contact = dialling.contact_id.unwrap();
    assert!(data
        .path()
        .join("recordings")
        .join(format!("{contact}.wav"))
        .exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_answers_the_carriers_digest_challenge_and_sipp_checks_it() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("events.db");
    let carrier_port = free_port();
    let carrier: SocketAddr = format!("127.0.0.1:{carrier_port}").parse().unwrap();
    let auth = "username = \"trunk01\"\npassword = \"s3cret\"";
    let server = transfer_server(&log_path, carrier, auth).await;
    let (call, carrier_out) =
        transfer_call(&server, carrier_port, "carrier_challenges_then_answers.xml").await;
    check("caller", &call);
    check("carrier (sipp verifies the credentials)", &carrier_out);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.transferred, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_that_refuses_the_credentials_fails_the_transfer_after_one_retry() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("events.db");
    let carrier_port = free_port();
    let carrier: SocketAddr = format!("127.0.0.1:{carrier_port}").parse().unwrap();
    let auth = "username = \"trunk01\"\npassword = \"wrong\"";
    let server = transfer_server(&log_path, carrier, auth).await;
    let (call, carrier_out) =
        transfer_call(&server, carrier_port, "carrier_always_challenges.xml").await;
    check("caller (back at the menu, then let go)", &call);
    check("carrier", &carrier_out);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.transferred, 0);
    let events = log_events(&log_path).await;
    let failed = events
        .iter()
        .find(|e| e.kind == "call.transfer_failed")
        .expect("call.transfer_failed");
    assert_eq!(failed.data["status"], 401, "{:?}", failed.data);
}

/// Reads a server-sent event stream until an event named `name`; its data as JSON.
async fn next_sse_event(
    stream: &mut tokio::net::TcpStream,
    seen: &mut String,
    name: &str,
) -> serde_json::Value {
    use tokio::io::AsyncReadExt;
    let marker = format!("event: {name}\ndata: ");
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(start) = seen.find(&marker) {
            let rest = &seen[start + marker.len()..];
            if let Some(end) = rest.find('\n') {
                let value = serde_json::from_str(&rest[..end]).unwrap();
                *seen = rest[end..].to_string();
                return value;
            }
        }
        let n = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read(&mut chunk))
            .await
            .expect("an event within 20 s")
            .unwrap();
        assert!(n > 0, "the stream closed; so far: {seen}");
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_caller_pops_on_the_offered_agents_desktop_and_the_call_becomes_an_interaction() {
    use hotline_server::api::{self, ApiState};
    use hotline_server::customer_link::PopHub;
    use hotline_store::{CustomerFields, Keyring, Phone, Records, Role};
    use tokio::io::AsyncWriteExt;

    let data = tempfile::tempdir().unwrap();
    let keys = Keyring::generate().unwrap();
    let records = Records::open(data.path().join("records.db"), keys)
        .await
        .unwrap();
    let context = hotline_phone::NumberContext::default();
    let number = hotline_phone::normalize("13800138000", &context).unwrap();
    let fields = CustomerFields {
        name: Some("张三".into()),
        phones: vec![Phone {
            number,
            label: None,
        }],
        tags: vec!["billing".into()],
        ..CustomerFields::default()
    };
    let customer = records.create_customer(&fields, 1, "test").await.unwrap();
    let (_, ann_key) = records
        .create_api_key("ann", Role::Agent, 1, "test")
        .await
        .unwrap();
    let pops = PopHub::new();
    let hub = pops.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let state = ApiState {
        pops: pops.clone(),
        ..ApiState::new(records.clone())
    };
    let (stop_api, stopped) = tokio::sync::oneshot::channel::<()>();
    let api = tokio::spawn(api::serve(listener, api::router(state), async move {
        let _ = stopped.await;
    }));
    let config = config::parse("sipp-test.toml", CONFIG, 42, [9; 32]).unwrap();
    let link = runtime::LinkSetup {
        records: records.clone(),
        hub: pops,
        knowledge: std::sync::Arc::new(hotline_server::knowledge::Knowledge::empty().unwrap()),
        number_context: context,
        lookup: Some(runtime::DEFAULT_CALLER_LOOKUP),
        outbound: None,
    };
    let server = runtime::start_with(config, Some(&data.path().join("events.db")), Some(link))
        .await
        .unwrap();
    // Ann's desktop follows her pops.
    let mut desktop = tokio::net::TcpStream::connect(http).await.unwrap();
    desktop
        .write_all(
            format!(
                "GET /api/v1/agents/ann/pops HTTP/1.1\r\nHost: hotline\r\nAuthorization: \
                 Bearer {ann_key}\r\nAccept: text/event-stream\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let switch = server.local;
    let call = tokio::task::spawn_blocking(move || {
        let phone = agent_phone(switch, "ann", "agent_answers.xml", 1);
        check("caller", &caller_scenario(switch, "caller_talks.xml"));
        phone.wait_with_output().unwrap()
    });
    let mut seen = String::new();
    let offer = next_sse_event(&mut desktop, &mut seen, "offer").await;
    assert!(seen.is_empty() || !seen.contains("event: offer"));
    assert_eq!(offer["queue"], "general");
    assert!(offer["contact_id"].as_u64().unwrap() >= 1);
    let pop = &offer["pop"];
    assert_eq!(pop["matched"], "one");
    assert_eq!(pop["number"], "138****8000", "masked on the desktop");
    assert_eq!(pop["cards"][0]["customer"]["name"], "张三");
    assert_eq!(pop["cards"][0]["customer"]["id"], customer.id.0);
    check("agent phone", &call.await.unwrap());
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.switch.connected, 1);
    assert_eq!(
        stats.switch.lookups_timed_out, 0,
        "the records answered in time"
    );
    assert_eq!(stats.link.pops, 1);
    assert_eq!(stats.link.interactions, 1);
    // The call is in the customer's history: answered by ann, with its talk time.
    let history = records.interactions(customer.id, None, 10).await.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    let call = &history[0].record;
    assert_eq!(call.kind, hotline_store::InteractionKind::InboundCall);
    assert_eq!(call.agent.as_deref(), Some("ann"));
    assert_eq!(call.queue.as_deref(), Some("general"));
    assert_eq!(call.disposition.as_deref(), Some("answered"));
    assert!(call.duration_ms.unwrap() >= 500, "{call:?}");
    // Closing the hub ends the desktop's stream, so the API stops gracefully.
    hub.close();
    let _ = stop_api.send(());
    tokio::time::timeout(std::time::Duration::from_secs(10), api)
        .await
        .expect("the API stops with a desktop connected")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_agent_hangs_up_a_sipp_caller_rates_the_call_and_the_answer_is_stored() {
    use hotline_store::{CsatGroup, Keyring, Records};

    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("events.db");
    let records = Records::open(data.path().join("records.db"), Keyring::generate().unwrap())
        .await
        .unwrap();
    let text = CONFIG.replace(
        "[media]\nenabled = false\n",
        "[media]\nsurvey = 8\nrecord = \"stereo\"\n",
    );
    assert!(text.contains("survey = 8"));
    let config = config::parse("sipp-survey.toml", &text, 42, [9; 32]).unwrap();
    let link = runtime::LinkSetup {
        records: records.clone(),
        hub: hotline_server::customer_link::PopHub::new(),
        knowledge: std::sync::Arc::new(hotline_server::knowledge::Knowledge::empty().unwrap()),
        number_context: hotline_phone::NumberContext::default(),
        lookup: None,
        outbound: None,
    };
    let server = runtime::start_with(config, Some(&log_path), Some(link))
        .await
        .unwrap();
    let switch = server.local;
    let (call, phone) = media_call(
        switch,
        "agent_answers_then_hangs_up.xml",
        "caller_rates_the_call.xml",
    )
    .await;
    check("agent phone", &phone);
    check("caller (hung up by hotline after the thanks)", &call);
    let stats = server.stop().await.unwrap();
    assert_eq!(stats.media.missing_prompts, 0);
    let events = log_events(&log_path).await;
    let kinds: Vec<String> = events.iter().map(|e| e.kind.clone()).collect();
    assert_in_order(
        &kinds,
        &[
            "call.connected",
            "call.ended",
            "call.survey_answered",
            "survey.answered",
        ],
    );
    let ended = events.iter().find(|e| e.kind == "call.ended").unwrap();
    assert_eq!(ended.data["by"], "agent", "{:?}", ended.data);
    let answered = events.iter().find(|e| e.kind == "survey.answered").unwrap();
    assert_eq!(
        answered.data["score"], 1,
        "the RFC 4733 digit from the pcap"
    );
    assert_eq!(answered.data["channel"], "ivr");
    assert_eq!(answered.agent.as_deref(), Some("ann"));
    // Stored against the call, for the CSAT figures.
    let rows = records
        .csat(CsatGroup::Agent, 0, i64::MAX, 480, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].key.as_str(), rows[0].answers), ("ann", 1));
    assert_eq!(rows[0].average, 1.0);
    // The conversation was recorded sealed: nothing of it in the clear, and it opens whole
    // with the records' keys.
    let contact = answered.contact_id.unwrap();
    let dir = data.path().join("recordings");
    let path = hotline_server::recordings::find(&dir, contact).expect("a recording");
    assert!(hotline_server::recordings::is_sealed(&path), "{path:?}");
    assert!(std::fs::read(&path).unwrap().starts_with(b"HLSTREAM"));
    let mut wav = Vec::new();
    let report = hotline_server::recordings::open_to(&path, records.keyring(), &mut wav).unwrap();
    assert!(report.complete, "finished when the call ended");
    let wav = hotline_media::wav::read_wav(&wav).unwrap();
    assert_eq!(wav.channels, 2);
    // About 1.5 s of conversation at 8 kHz (the survey after it is not recorded).
    let seconds = wav.channel(0).len() as f64 / 8_000.0;
    assert!((1.0..4.0).contains(&seconds), "{seconds} s recorded");
}
