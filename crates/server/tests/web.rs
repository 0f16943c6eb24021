//! The web pages end to end in a real headless Chromium (`browser_support`), against a center
//! on loopback: the switch with sipp as the caller and as the agent's phone, the records, the
//! API with the pages, the wall's live figures. Screenshots go to
//! `target/browser-artifacts/<test>/`. `scripts/test` installs sipp, chromium and
//! chromium-driver.

mod browser_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use browser_support::Browser;
use hotline_server::api::{self, ApiState};
use hotline_server::customer_link::PopHub;
use hotline_server::{config, runtime};
use hotline_store::{CustomerFields, Keyring, Phone, Records, Role};
use support::*;

const CONFIG: &str = r#"
[sip]
listen = "127.0.0.1:0"
realm = "hotline"
digest = ["MD5"]
default_queue = "general"
[[sip.accounts]]
agent = "ann"
password = "ann-secret"
[[sip.numbers]]
number = "95588"
queue = "general"
[[sip.trunks]]
name = "loopback"
allow = ["127.0.0.0/8"]
[media]
enabled = false

[routing]
reasons = ["break", "training"]
[routing.offers]
offer_timeout = 20
[[routing.queues]]
name = "general"
[[routing.agents]]
name = "ann"
queues = ["general"]

[wall]
longest_wait_alert = 1
"#;

/// How long the wall's charts may take to redraw (they refresh every 15 s at most).
const CHARTS_WITHIN: Duration = Duration::from_secs(20);

/// How long a page may take to show what the test waits for (a pushed pop, a wall update,
/// the state after a click). The targets are 1 s; this leaves room for a loaded machine.
const SHOWN_WITHIN: Duration = Duration::from_secs(8);

struct Center {
    http: std::net::SocketAddr,
    switch: std::net::SocketAddr,
    records: Records,
    running: runtime::Running,
    stop_api: tokio::sync::oneshot::Sender<()>,
}

async fn center(data: &std::path::Path) -> Center {
    let records = Records::open(data.join("records.db"), Keyring::generate().unwrap())
        .await
        .unwrap();
    let config = config::parse("web-test.toml", CONFIG, 42, [9; 32]).unwrap();
    let routing = Arc::new(config.routing.clone());
    let alert_rules = Arc::new(config.alert_rules.clone());
    let pops = PopHub::new();
    let link = runtime::LinkSetup {
        records: records.clone(),
        hub: pops.clone(),
        knowledge: Arc::new(hotline_server::knowledge::Knowledge::empty().unwrap()),
        number_context: hotline_phone::NumberContext::default(),
        lookup: Some(runtime::DEFAULT_CALLER_LOOKUP),
        outbound: None,
    };
    let log_path = data.join("events.db");
    let running = runtime::start_with(config, Some(&log_path), Some(link))
        .await
        .unwrap();
    let log = hotline_store::SqliteEventLog::open(&log_path)
        .await
        .unwrap();
    let wall = hotline_server::wall::WallMetrics::new(hotline_server::wall::Wall::new(
        routing,
        api::now_ms(),
    ));
    wall.spawn(log.clone(), running.shutdown_handle().subscribe());
    let outbound_metrics = hotline_server::outbound_metrics::OutboundMetrics::default();
    outbound_metrics.spawn(log.clone(), running.shutdown_handle().subscribe());
    let calendar = Arc::new(hotline_calendar::Calendar::always_open());
    hotline_server::alerts::spawn(
        wall.clone(),
        calendar.clone(),
        None,
        alert_rules.clone(),
        running.events.clone().unwrap(),
        running.shutdown_handle().subscribe(),
    );
    // Callbacks kept (not dialled: this center has no trunk that dials out).
    let rules = hotline_dialer::DialerRules::default();
    let (outbound, _) = hotline_server::outbound::spawn(
        records.clone(),
        rules.clone(),
        rules.default_legal_hours().clone(),
        hotline_server::outbound::FOLLOW_UP_POLL,
        None,
    )
    .await
    .unwrap();
    let state = ApiState {
        outbound: Some(outbound),
        pops,
        events: running.events.clone(),
        link: running.link.clone(),
        log: Some(log),
        wall: Some((wall, calendar)),
        outbound_metrics: Some(outbound_metrics),
        alert_rules,
        switch: Some(running.control.clone()),
        ..ApiState::new(records.clone())
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let (stop_api, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(api::serve(listener, api::router(state), async move {
        let _ = stopped.await;
    }));
    Center {
        http,
        switch: running.local,
        records,
        running,
        stop_api,
    }
}

async fn log_in(browser: &Browser, http: std::net::SocketAddr, name: &str, password: &str) {
    browser.goto(&format!("http://{http}/")).await;
    browser.fill("#name", name).await;
    browser.fill("#password", password).await;
    browser.click("#submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_takes_a_known_customers_call_from_the_desktop_while_the_wall_follows() {
    let data = tempfile::tempdir().unwrap();
    let center = center(data.path()).await;
    let number =
        hotline_phone::normalize("13800138000", &hotline_phone::NumberContext::default()).unwrap();
    let customer = center
        .records
        .create_customer(
            &CustomerFields {
                name: Some("王芳".into()),
                phones: vec![Phone {
                    number,
                    label: None,
                }],
                level: "vip".into(),
                tags: vec!["洗衣机".into()],
                ..CustomerFields::default()
            },
            1,
            "test",
        )
        .await
        .unwrap();
    center
        .records
        .create_user(
            "ann",
            Some("安娜"),
            Role::Agent,
            "ann-password-1",
            1,
            "test",
        )
        .await
        .unwrap();
    center
        .records
        .create_user("sam", None, Role::Supervisor, "sam-password-1", 1, "test")
        .await
        .unwrap();

    center
        .records
        .create_campaign(
            &hotline_store::NewCampaign {
                name: "以旧换新".into(),
                queue: "general".into(),
                pacer: "progressive".into(),
                abandon_cap: 0.03,
            },
            1,
            "test",
        )
        .await
        .unwrap();

    // The supervisor's wall, in English.
    let wall = Browser::start("en").await;
    log_in(&wall, center.http, "sam", "sam-password-1").await;
    wall.wait_for_text("h1", "Live wall", SHOWN_WITHIN).await;
    wall.wait_for_text("#agents tbody", "ann", SHOWN_WITHIN)
        .await;
    // This center keeps callbacks: their figures show (none yet), and the campaign.
    wall.wait_for_text("#outbound [data-tile=requested] .value", "0", SHOWN_WITHIN)
        .await;
    wall.wait_for_text(
        "#campaigns tr[data-campaign=以旧换新]",
        "Running",
        SHOWN_WITHIN,
    )
    .await;
    wall.screenshot("1-wall-at-start").await;

    // The agent's desktop, in Chinese; her phone registers, which makes her ready.
    let desk = Browser::start("zh-CN").await;
    log_in(&desk, center.http, "ann", "ann-password-1").await;
    desk.wait_for_text("h1", "坐席工作台", SHOWN_WITHIN).await;
    let switch = center.switch;
    let phone =
        tokio::task::spawn_blocking(move || agent_phone(switch, "ann", "agent_answers.xml", 1))
            .await
            .unwrap();
    desk.wait_for_text("#state", "就绪", SHOWN_WITHIN).await;
    // Not ready for a break: the call that comes waits in the queue.
    desk.wait_for("#reason option[value=break]", SHOWN_WITHIN)
        .await;
    desk.client()
        .find(fantoccini::Locator::Css("#reason"))
        .await
        .unwrap()
        .select_by_value("break")
        .await
        .unwrap();
    desk.click("#not-ready").await;
    desk.wait_for_text("#state", "未就绪", SHOWN_WITHIN).await;
    desk.screenshot("2-desktop-not-ready").await;
    wall.wait_for_text("#agents tbody", "break", SHOWN_WITHIN)
        .await;

    let caller = tokio::task::spawn_blocking(move || {
        sipp()
            .arg("-sf")
            .arg(scenario("caller_talks.xml"))
            .args(["-s", "95588", "-m", "1"])
            .args(["-p", &free_port().to_string()])
            .arg(switch.to_string())
            .output()
            .unwrap()
    });
    wall.wait_for_text(
        "#queues tr[data-queue=general] td[data-cell=waiting]",
        "1",
        SHOWN_WITHIN,
    )
    .await;
    // Waiting over the limit (1 s here): the wall says so.
    wall.wait_for_text(
        "#alerts li[data-alert=longest_wait]",
        "A caller waits too long",
        SHOWN_WITHIN,
    )
    .await;
    wall.screenshot("3-wall-one-waiting").await;
    // The watch samples each second: the raise is in the log before the caller is taken.
    let deadline = std::time::Instant::now() + SHOWN_WITHIN;
    while !log_events(&data.path().join("events.db"))
        .await
        .iter()
        .any(|e| e.kind == "alert.raised")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no alert.raised in the log"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Ready: the call is offered, the pop shows the customer, the phone answers.
    desk.click("#ready").await;
    let started = std::time::Instant::now();
    desk.wait_for_text("#pop .customer-name", "王芳", SHOWN_WITHIN)
        .await;
    let popped_after = started.elapsed();
    desk.screenshot("4-desktop-pop").await;
    assert!(desk.text("#pop").await.contains("vip"));
    assert!(desk.text("#pop").await.contains("洗衣机"));
    wall.wait_for_text(
        "#queues tr[data-queue=general] td[data-cell=waiting]",
        "0",
        SHOWN_WITHIN,
    )
    .await;
    wall.screenshot("5-wall-none-waiting").await;
    let deadline = std::time::Instant::now() + SHOWN_WITHIN;
    while !wall.text("#alerts").await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the alert stays");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A ticket from the call: the pop filled in who; the agent adds what.
    let title = desk
        .client()
        .find(fantoccini::Locator::Css("#ticket-subject"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        title.contains("王芳"),
        "the title names the caller: {title:?}"
    );
    desk.fill("#ticket-description", "洗衣机漏水，需上门维修")
        .await;
    desk.fill("#ticket-category", "after_sales/repair").await;
    desk.click("#ticket-save").await;
    let saved = desk
        .wait_for_text("#ticket-notice", "#", SHOWN_WITHIN)
        .await;
    desk.screenshot("6-ticket-saved").await;
    let id: i64 = saved.rsplit('#').next().unwrap().trim().parse().unwrap();
    let ticket = center
        .records
        .ticket(hotline_store::TicketId(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.fields.customer, Some(customer.id));
    assert_eq!(ticket.fields.category, "after_sales/repair");
    // The pop lists it among her open tickets; the agent updates it from the call: what she
    // told the customer, and the next status.
    let update = format!("#pop [data-ticket=\"{id}\"] button[data-update]");
    desk.wait_for(&update, SHOWN_WITHIN).await;
    desk.click(&update).await;
    desk.fill(
        &format!("#pop [data-ticket=\"{id}\"] textarea[name=note]"),
        "已安排师傅明天上午上门",
    )
    .await;
    desk.client()
        .find(fantoccini::Locator::Css(&format!(
            "#pop [data-ticket=\"{id}\"] select[name=status]"
        )))
        .await
        .unwrap()
        .select_by_value("in_progress")
        .await
        .unwrap();
    desk.click(&format!("#pop [data-ticket=\"{id}\"] button[type=submit]"))
        .await;
    desk.wait_for_text("#ticket-notice", "工单已更新", SHOWN_WITHIN)
        .await;
    let ticket = center
        .records
        .ticket(hotline_store::TicketId(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.status.as_str(), "in_progress");
    assert!(
        ticket.clock.responded_at_ms.is_some(),
        "the note told the customer: the first response is recorded"
    );
    let history = center
        .records
        .ticket_history(hotline_store::TicketId(id), 50)
        .await
        .unwrap();
    assert!(history
        .iter()
        .any(|h| h.note.as_deref() == Some("已安排师傅明天上午上门")));

    check("caller", &caller.await.unwrap());
    // The call over, the agent's own day counts it.
    desk.wait_for_text("#today [data-tile=handled] .value", "1", SHOWN_WITHIN)
        .await;
    desk.screenshot("7-my-day").await;
    // The wall's charts: the caller who waited shows in this interval's bar, and the
    // answer in time in its service level (the charts refresh at most every 15 s).
    wall.wait_for("#chart-waiting svg rect.bar", CHARTS_WITHIN)
        .await;
    wall.wait_for("#chart-sl svg circle.dot", CHARTS_WITHIN)
        .await;
    let label = wall
        .wait_for("#chart-sl svg", SHOWN_WITHIN)
        .await
        .attr("aria-label")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(label.starts_with("Service level"), "{label}");
    assert!(label.ends_with("100.0%"), "{label}");
    wall.screenshot("8-wall-charts").await;
    let phone = tokio::task::spawn_blocking(move || phone.wait_with_output().unwrap())
        .await
        .unwrap();
    check("agent phone", &phone);
    assert_eq!(desk.console_errors().await, Vec::<String>::new());
    assert_eq!(wall.console_errors().await, Vec::<String>::new());
    desk.close().await;
    wall.close().await;
    let _ = center.stop_api.send(());
    center.running.stop().await.unwrap();
    // The alert went to the log (for the webhooks) raised, then cleared.
    let events = log_events(&data.path().join("events.db")).await;
    let kinds: Vec<String> = events
        .iter()
        .filter(|e| e.kind.starts_with("alert."))
        .map(|e| format!("{} {}", e.kind, e.data["kind"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        kinds,
        ["alert.raised longest_wait", "alert.cleared longest_wait"]
    );
    eprintln!("the pop showed {popped_after:?} after the agent went ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_session_returns_to_the_login_page_and_the_draft_ticket_survives() {
    let data = tempfile::tempdir().unwrap();
    let center = center(data.path()).await;
    center
        .records
        .create_user("ann", None, Role::Agent, "ann-password-1", 1, "test")
        .await
        .unwrap();
    let desk = Browser::start("en").await;
    // The login page in English, reachable by keyboard: name, password, then the button.
    desk.goto(&format!("http://{}/login", center.http)).await;
    desk.wait_for_text("#submit", "Log in", SHOWN_WITHIN).await;
    desk.click("#name").await;
    desk.press_tab().await;
    desk.press_tab().await;
    assert_eq!(desk.active_element_text().await, "Log in");
    // A wrong password is said next to the form, not thrown away silently.
    log_in(&desk, center.http, "ann", "wrong-password").await;
    desk.wait_for_text("#general", "Wrong name or password", SHOWN_WITHIN)
        .await;
    assert_eq!(
        desk.console_errors().await.len(),
        1,
        "only the 401 of the failed login"
    );
    log_in(&desk, center.http, "ann", "ann-password-1").await;
    desk.wait_for_text("h1", "Agent desktop", SHOWN_WITHIN)
        .await;
    desk.fill("#ticket-subject", "Refund for order JD-42").await;
    desk.fill("#ticket-description", "The customer wants the money back")
        .await;
    // A bad field is shown next to it, by the server's word.
    desk.fill("#ticket-category", "").await;
    desk.click("#ticket-save").await;
    desk.wait_for_text(
        ".field-error[data-field=category]",
        "must be 1 to",
        SHOWN_WITHIN,
    )
    .await;
    desk.fill("#ticket-category", "complaint/refund").await;
    // The session ends (expired, or logged out elsewhere); saving goes back to the login
    // page, and after logging in the draft is there again.
    desk.client()
        .delete_cookie("hotline_session")
        .await
        .unwrap();
    desk.click("#ticket-save").await;
    desk.wait_for_text("#submit", "Log in", SHOWN_WITHIN).await;
    assert!(desk
        .client()
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("next=%2Fdesktop"));
    log_in(&desk, center.http, "ann", "ann-password-1").await;
    desk.wait_for_text("#ticket-notice", "draft was restored", SHOWN_WITHIN)
        .await;
    let title = desk
        .client()
        .find(fantoccini::Locator::Css("#ticket-subject"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(title, "Refund for order JD-42");
    desk.screenshot("draft-restored").await;
    desk.click("#ticket-save").await;
    desk.wait_for_text("#ticket-notice", "Ticket created", SHOWN_WITHIN)
        .await;
    // The switch's state for an agent with no phone: not ready, and Ready refused.
    desk.wait_for_text("#state", "No phone registered", SHOWN_WITHIN)
        .await;
    desk.close().await;
    let _ = center.stop_api.send(());
    center.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_caller_is_made_a_customer_from_the_pop_and_the_wrap_up_schedules_a_callback() {
    let data = tempfile::tempdir().unwrap();
    let center = center(data.path()).await;
    center
        .records
        .create_user("ann", None, Role::Agent, "ann-password-1", 1, "test")
        .await
        .unwrap();
    let desk = Browser::start("en").await;
    log_in(&desk, center.http, "ann", "ann-password-1").await;
    desk.wait_for_text("h1", "Agent desktop", SHOWN_WITHIN)
        .await;
    let switch = center.switch;
    let phone =
        tokio::task::spawn_blocking(move || agent_phone(switch, "ann", "agent_answers.xml", 1))
            .await
            .unwrap();
    desk.wait_for_text("#state", "Ready", SHOWN_WITHIN).await;
    // A number no customer has.
    let caller = tokio::task::spawn_blocking(move || {
        sipp()
            .arg("-sf")
            .arg(scenario("caller_talks.xml"))
            .args(["-s", "95588", "-m", "1"])
            .args(["-p", &free_port().to_string()])
            .arg(switch.to_string())
            .output()
            .unwrap()
    });
    desk.wait_for_text("#pop", "Unknown number", SHOWN_WITHIN)
        .await;
    // The agent sees the number masked; the server adds the real one to the new customer.
    // A name too long is refused by the server, next to its field.
    assert!(desk.text(".who").await.contains("138****8000"));
    desk.client()
        .execute(
            "document.getElementById('who-name').removeAttribute('maxlength')",
            vec![],
        )
        .await
        .unwrap();
    desk.fill("#who-name", &"李".repeat(101)).await;
    desk.click("#who-create").await;
    desk.wait_for_text(
        "#who-new .field-error[data-field=name]",
        "100",
        SHOWN_WITHIN,
    )
    .await;
    desk.fill("#who-name", "李雷").await;
    desk.click("#who-create").await;
    desk.wait_for_text("#pop [data-linked]", "李雷", SHOWN_WITHIN)
        .await;
    desk.screenshot("1-caller-linked").await;

    // The wrap-up: a callback window that ends before it starts is refused by its field.
    desk.client()
        .find(fantoccini::Locator::Css("#wrap-disposition"))
        .await
        .unwrap()
        .select_by_value("callback")
        .await
        .unwrap();
    desk.fill("#wrap-notes", "想换新款洗衣机，明天回电报价")
        .await;
    desk.click("#wrap-callback").await;
    desk.client()
        .execute(
            "document.getElementById('wrap-to').value = document.getElementById('wrap-from').value",
            vec![],
        )
        .await
        .unwrap();
    desk.click("#wrap-save").await;
    desk.wait_for_text(
        "#wrap .field-error[data-field='window.end_ms']",
        "must come after",
        SHOWN_WITHIN,
    )
    .await;
    // Tomorrow 10:00 to 12:00 in Shanghai, inside the legal calling hours, whatever the
    // browser's own time zone.
    let day = 86_400_000;
    let shanghai = 8 * 3_600_000;
    let from_ms = ((api::now_ms() + shanghai) / day + 1) * day - shanghai + 10 * 3_600_000;
    desk.client()
        .execute(
            "document.getElementById('wrap-from').value = localInput(arguments[0]); \
             document.getElementById('wrap-to').value = localInput(arguments[0] + 7200000);",
            vec![serde_json::json!(from_ms)],
        )
        .await
        .unwrap();
    desk.click("#wrap-save").await;
    desk.wait_for_text("#wrap-notice", "Callback scheduled", SHOWN_WITHIN)
        .await;
    // The agent's own callbacks list it, waiting for its window.
    desk.wait_for_text(
        "#my-callbacks li[data-state=pending]",
        "想换新款洗衣机",
        SHOWN_WITHIN,
    )
    .await;
    desk.screenshot("2-wrap-up-saved").await;
    check("caller", &caller.await.unwrap());
    let phone = tokio::task::spawn_blocking(move || phone.wait_with_output().unwrap())
        .await
        .unwrap();
    check("agent phone", &phone);
    assert_eq!(desk.console_errors().await.len(), 2, "the two 422s only");

    // In the records: the new customer with the caller's number, the call and the wrap-up
    // theirs, and the callback in its window.
    let customers = center.records.customers(None, 10).await.unwrap();
    assert_eq!(customers.len(), 1);
    let customer = &customers[0];
    assert_eq!(customer.fields.name.as_deref(), Some("李雷"));
    assert_eq!(customer.fields.phones[0].number.e164(), "+8613800138000");
    let deadline = std::time::Instant::now() + SHOWN_WITHIN;
    let interactions = loop {
        let found = center
            .records
            .interactions(customer.id, None, 10)
            .await
            .unwrap();
        if found.len() >= 2 || std::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let kinds: Vec<&str> = interactions
        .iter()
        .map(|i| i.record.kind.as_str())
        .collect();
    assert!(kinds.contains(&"inbound_call"), "{kinds:?}");
    let wrap = interactions
        .iter()
        .find(|i| i.record.kind.as_str() == "disposition")
        .expect("the wrap-up is the customer's");
    assert_eq!(wrap.record.disposition.as_deref(), Some("callback"));
    assert_eq!(
        wrap.record.summary.as_deref(),
        Some("想换新款洗衣机，明天回电报价")
    );
    assert_eq!(wrap.record.agent.as_deref(), Some("ann"));
    let tasks = center
        .records
        .callback_tasks(&hotline_store::CallbackFilter {
            customer: Some(customer.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0].fields;
    assert_eq!(task.channel, "agent");
    assert_eq!(task.requested_by.as_deref(), Some("ann"));
    assert_eq!(
        (task.window_start_ms, task.window_end_ms),
        (from_ms, from_ms + 2 * 3_600_000)
    );
    desk.close().await;
    let _ = center.stop_api.send(());
    center.running.stop().await.unwrap();
}
