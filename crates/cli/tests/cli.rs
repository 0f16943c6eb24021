//! The `hotline` binary end to end: the README's command, its JSON and SVG, the event log,
//! and clear one-line errors for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hotline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const BASELINE: &str = "examples/bank-payday-baseline.toml";
const VIP: &str = "examples/bank-payday-vip.toml";

#[test]
fn the_readme_command_compares_the_payday_scenarios() {
    let out = hotline(&["sim", BASELINE, VIP]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "== payday: baseline",
        "== payday: VIP",
        "interval",
        "09:30",
        "comparison",
        "average wait (ASA)",
        "wait estimate at arrival",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn vip_routing_cuts_waits_on_the_same_callers() {
    let out = hotline(&["sim", BASELINE, VIP, "--json", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let (base, vip) = (&reports[0], &reports[1]);
    assert_eq!(
        base["arrivals"], vip["arrivals"],
        "both days face the same callers"
    );
    let asa = |r: &serde_json::Value| r["total"]["asa_seconds"].as_f64().unwrap();
    let abandonment = |r: &serde_json::Value| r["total"]["abandonment_rate"].as_f64().unwrap();
    assert!(
        asa(vip) < 0.6 * asa(base),
        "ASA {} vs {}",
        asa(vip),
        asa(base)
    );
    assert!(abandonment(vip) < abandonment(base));
    for segment in vip["segments"].as_array().unwrap() {
        if segment["segment"] == "vip" {
            let wait = segment["average_wait_seconds"].as_f64().unwrap();
            assert!(
                wait < 60.0,
                "VIP callers answered within a minute on average: {segment}"
            );
        }
    }
}

#[test]
fn the_same_seed_prints_the_same_day() {
    let a = hotline(&["sim", VIP, "--seed", "5", "--json", "-"]);
    let b = hotline(&["sim", VIP, "--seed", "5", "--json", "-"]);
    let c = hotline(&["sim", VIP, "--seed", "6", "--json", "-"]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn svg_and_event_log_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("day.svg");
    let db = dir.path().join("day.db");
    let out = hotline(&[
        "sim",
        VIP,
        "--totals-only",
        "--svg",
        svg.to_str().unwrap(),
        "--event-log",
        db.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg") && picture.matches("<polyline").count() >= 2);
    assert!(stderr(&out).contains("events to"), "{}", stderr(&out));
    assert!(std::fs::metadata(&db).unwrap().len() > 100_000);
    // An existing log is never overwritten.
    let again = hotline(&["sim", VIP, "--event-log", db.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("exists already"));
}

#[test]
fn a_bad_scenario_names_file_line_and_field_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(repo().join(VIP)).unwrap().replace(
        "name = \"cards\"\nskills = [\"cards:3\"]",
        "name = \"cards\"\nskills = [\"cards:3\"]\nselection = \"fastest\"",
    );
    std::fs::write(&bad, text).unwrap();
    let out = hotline(&["sim", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(stdout(&out).is_empty(), "nothing ran");
    let line = err
        .lines()
        .find(|l| l.contains("selection"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("bad.toml:"), "{line}");
    assert!(line.contains("routing.queues[1].selection"), "{line}");
    assert!(
        line.contains("longest_idle"),
        "says what is expected: {line}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_command_line_values_get_one_line() {
    for args in [
        vec!["sim", VIP, "--seed", "abc"],
        vec!["erlang", "--rate", "fast", "--aht", "180", "--sl", "80/20"],
        vec!["bench", "routing", "--queues", "0"],
    ] {
        let out = hotline(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.starts_with("error: invalid value"), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
    let out = hotline(&["sim", "missing.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.toml") && !stderr(&out).contains("panicked"));
}

#[test]
fn erlang_json_gives_the_textbook_answer() {
    let out = hotline(&[
        "erlang", "--rate", "200/h", "--aht", "180", "--sl", "80/20", "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["agents_required"], 14);
    assert!((v["service_level"].as_f64().unwrap() - 0.888).abs() < 0.001);
    assert!((v["asa_seconds"].as_f64().unwrap() - 7.8).abs() < 0.05);
    assert!((v["occupancy"].as_f64().unwrap() - 10.0 / 14.0).abs() < 1e-9);
}

#[test]
fn chinese_names_run_and_print() {
    let out = hotline(&["sim", "examples/ecommerce-618-zh.toml", "--totals-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "== 618 购物节",
        "售前咨询",
        "售后/老年客户",
        "物流/英语客户",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn serve_runs_the_demo_center_and_stops_when_asked() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let out = hotline(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--seconds",
        "1",
        "--data",
        data_dir,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("SIP on 127.0.0.1:"), "{stdout}");
    assert!(
        stdout.contains("sip:1001@"),
        "the demo prints its accounts: {stdout}"
    );
    assert!(data.path().join("events.db").exists());
    assert!(stdout.contains("REST API on http://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("API key \"admin\""), "{stdout}");
    assert!(data.path().join("records.db").exists());
    assert!(data.path().join("keys.txt").exists());
}

#[test]
fn demo_callers_reach_demo_agents_through_the_switch() {
    let data = tempfile::tempdir().unwrap();
    let out = hotline(&[
        "demo",
        "--seconds",
        "8",
        "--rate",
        "120",
        "--data",
        data.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let summary = stdout.lines().last().unwrap_or("");
    let connected: u64 = summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" connected"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(connected >= 1, "no call connected: {stdout}");
    // The newcomer is told where to look and as whom to log in.
    assert!(
        stdout.contains("in a browser: the live wall as supervisor / demo-"),
        "{stdout}"
    );
    assert!(stdout.contains("1001 / demo-"), "{stdout}");
    // Its configuration is a file the admin page (/admin) edits while it runs.
    assert!(
        stdout.contains("/admin to change queues, agents and hours"),
        "{stdout}"
    );
    let file = std::fs::read_to_string(data.path().join("demo.toml")).unwrap();
    assert!(
        file.contains("[[routing.agents]]\nname = \"1001\""),
        "{file}"
    );
}

/// `hotline serve` with `args` on `data`, its output captured, once its event log exists and
/// a second has passed (the center runs).
fn serve_running(data: &std::path::Path, args: &[&str]) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("serve")
        .args(args)
        .args(["--http", "off", "--data", data.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !data.join("events.db").exists() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    child
}

/// Sends SIGHUP to `child` and gives it a moment.
fn hang_up(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(std::time::Duration::from_millis(700));
}

#[test]
fn serve_reloads_its_configuration_on_sighup_and_says_what_waits_for_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("center.toml");
    let file = |agents_queues: &str, realm: &str| {
        format!(
            "[sip]\nlisten = \"127.0.0.1:0\"\nrealm = \"{realm}\"\n[routing]\n\
             [[routing.queues]]\nname = \"general\"\n[[routing.queues]]\nname = \"vip\"\n\
             [[routing.agents]]\nname = \"ann\"\nqueues = {agents_queues}\n"
        )
    };
    std::fs::write(&path, file(r#"["general", "vip"]"#, "a")).unwrap();
    let config = path.to_str().unwrap();
    let child = serve_running(dir.path(), &["--config", config, "--seconds", "6"]);
    // Change the file and hang up on it twice: a good change (the realm waits for a restart),
    // then one that drops a queue.
    std::fs::write(&path, file(r#"["vip", "general"]"#, "b")).unwrap();
    hang_up(&child);
    std::fs::write(
        &path,
        file(r#"["general"]"#, "b").replace("[[routing.queues]]\nname = \"vip\"\n", ""),
    )
    .unwrap();
    hang_up(&child);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "configuration reloaded: 2 queues, 1 agents, 0 phones; a restart is needed for [sip]"
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains("reload refused, nothing changed") && stderr.contains("\"vip\" is gone"),
        "{stderr}"
    );
}

#[test]
fn a_sighup_to_a_center_without_a_file_is_answered_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let child = serve_running(dir.path(), &["--listen", "127.0.0.1:0", "--seconds", "4"]);
    hang_up(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the SIGHUP ended it: {stderr}");
    assert!(stderr.contains("nothing to reload"), "{stderr}");
}

#[test]
fn serve_refuses_a_configuration_with_an_unknown_queue_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[sip]\ndefault_queue = \"sales\"\n[routing]\n[[routing.queues]]\nname = \"general\"\n\
         [[routing.agents]]\nname = \"ann\"\nqueues = [\"general\"]\n",
    )
    .unwrap();
    let out = hotline(&["serve", "--config", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("sip.default_queue"), "{stderr}");
    assert!(stderr.contains("sales"), "{stderr}");
}

#[test]
fn a_crm_csv_imports_reports_bad_rows_by_line_updates_on_reimport_and_exports_back() {
    let data = tempfile::tempdir().unwrap();
    let csv = data.path().join("crm.csv");
    std::fs::write(
        &csv,
        "external_id,name,phones,level,value_score,tags,prefer_human,consent\n\
         CRM-1,王小明,138 0013 8000;010-6552 9988转8001,vip,900,billing;投诉,是,1\n\
         CRM-2,李四,+86 139 0013 9000,,5,,false,0\n\
         ,无编号,13700137000,,1,,,\n\
         CRM-3,赵六,13600136000,,abc,,,\n\
         CRM-4,钱七,not-a-number,,1,,,\n",
    )
    .unwrap();
    let dir = data.path().to_str().unwrap();
    let out = hotline(&[
        "import",
        "customers",
        csv.to_str().unwrap(),
        "--data",
        dir,
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 2 customers (2 created, 0 updated), 3 bad rows"),
        "{}",
        stdout(&out)
    );
    let errors = stderr(&out);
    assert!(
        errors.contains("line 4: external_id: must not be empty"),
        "{errors}"
    );
    assert!(
        errors.contains("line 5: value_score: \"abc\" is not a whole number"),
        "{errors}"
    );
    assert!(errors.contains("line 6: phones[0]"), "{errors}");
    // The same file again updates, and --on-error stop stops at the first bad row.
    let out = hotline(&[
        "import",
        "customers",
        csv.to_str().unwrap(),
        "--data",
        dir,
        "--quiet",
        "--on-error",
        "stop",
    ]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("(0 created, 2 updated), 1 bad rows"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("stopped at the first bad row"),
        "{}",
        stderr(&out)
    );
    // Export, and import the export elsewhere: the same customers.
    let exported = data.path().join("out.csv");
    let out = hotline(&[
        "export",
        "customers",
        exported.to_str().unwrap(),
        "--data",
        dir,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.starts_with("external_id,name,phones,"), "{text}");
    assert!(
        text.contains("CRM-1,王小明,+8613800138000;+861065529988转8001,vip,900,billing;投诉,,true"),
        "{text}"
    );
    let other = tempfile::tempdir().unwrap();
    let out = hotline(&[
        "import",
        "customers",
        exported.to_str().unwrap(),
        "--data",
        other.path().to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        stdout(&out).contains("imported 2 customers (2 created, 0 updated), 0 bad rows"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    // A header column nobody knows is refused before anything is written.
    std::fs::write(&csv, "external_id,nmae\nCRM-9,x\n").unwrap();
    let out = hotline(&[
        "import",
        "customers",
        csv.to_str().unwrap(),
        "--data",
        dir,
        "--quiet",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("header column 2 is \"nmae\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn people_are_made_with_a_password_shown_once_listed_and_disabled() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let out = hotline(&[
        "user",
        "create",
        "ann",
        "--role",
        "agent",
        "--display-name",
        "安娜",
        "--data",
        dir,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let password = stdout(&out).trim().to_string();
    assert!(password.len() >= 16, "{password}");
    let again = hotline(&["user", "create", "ann", "--data", dir]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("exists"), "{}", stderr(&again));
    let out = hotline(&["user", "disable", "ann", "--data", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&hotline(&["user", "list", "--data", dir]));
    assert!(
        list.contains("ann") && list.contains("安娜") && list.contains("disabled"),
        "{list}"
    );
    let bad = hotline(&["user", "create", "bob", "--role", "boss", "--data", dir]);
    assert!(stderr(&bad).contains("--role \"boss\""), "{}", stderr(&bad));
}

/// Runs `hotline` with the records on the PostgreSQL database at `url`.
fn hotline_on(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .env("HOTLINE_RECORDS_URL", url)
        .current_dir(repo())
        .output()
        .expect("runs")
}

/// The PostgreSQL pass of the README's test command runs this (it sets
/// `HOTLINE_TEST_RECORDS=postgres` and starts a server); the SQLite pass has nothing to run it
/// on and says so.
#[test]
fn records_on_postgresql_serve_every_command_and_leave_no_sqlite_file() {
    use hotline_store::testing::{fresh_postgres_database, POSTGRES_URL_VAR, RECORDS_VAR};
    if std::env::var(RECORDS_VAR).as_deref() != Ok("postgres") {
        eprintln!("not the PostgreSQL pass: {RECORDS_VAR} is not postgres");
        return;
    }
    let server = std::env::var(POSTGRES_URL_VAR).expect("the PostgreSQL pass names its server");
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(fresh_postgres_database(&server))
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let out = hotline_on(
        &url,
        &[
            "user",
            "create",
            "mei",
            "--role",
            "supervisor",
            "--data",
            dir,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = data.path().join("crm.csv");
    std::fs::write(
        &csv,
        "external_id,name,phones,level\nCRM-1,王小明,138 0013 8000,vip\nCRM-2,李四,+86 139 0013 9000,\n",
    )
    .unwrap();
    let out = hotline_on(
        &url,
        &[
            "import",
            "customers",
            csv.to_str().unwrap(),
            "--data",
            dir,
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 created"), "{}", stdout(&out));
    // A second process reads what the first wrote: the records are in the server, not here.
    let list = stdout(&hotline_on(&url, &["user", "list", "--data", dir]));
    assert!(
        list.contains("mei") && list.contains("supervisor"),
        "{list}"
    );
    let exported = data.path().join("out.csv");
    let out = hotline_on(
        &url,
        &[
            "export",
            "customers",
            exported.to_str().unwrap(),
            "--data",
            dir,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(
        text.contains("王小明") && text.contains("+8613900139000"),
        "{text}"
    );
    assert!(
        !data.path().join("records.db").exists(),
        "nothing went to SQLite"
    );
    // A URL that is not PostgreSQL's is refused in one line.
    let out = hotline_on(
        "postgres://nobody@127.0.0.1:1/none",
        &["user", "list", "--data", dir],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("HOTLINE_RECORDS_URL"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_sealed_recording_opens_to_a_wav_with_the_data_directorys_keys() {
    use std::io::Write;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    // The first command makes the key file; the switch would seal with those keys.
    let out = hotline(&["user", "list", "--data", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    let keys = hotline_store::Keyring::load_or_create(&data.path().join("keys.txt")).unwrap();
    std::fs::create_dir_all(data.path().join("recordings")).unwrap();
    let wav = b"RIFF\xff\xff\xff\xffWAVE and some audio".to_vec();
    let file = std::fs::File::create(data.path().join("recordings").join("7.wav.sealed")).unwrap();
    let mut sealed = keys
        .seal_stream(hotline_server::recordings::RECORDING_FIELD, file)
        .unwrap();
    sealed.write_all(&wav).unwrap();
    sealed.finish().unwrap();
    let target = data.path().join("7.wav");
    let out = hotline(&[
        "recording",
        "open",
        "7",
        "--out",
        target.to_str().unwrap(),
        "--data",
        dir,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&target).unwrap(), wav);
    let missing = hotline(&["recording", "open", "8", "--out", "x.wav", "--data", dir]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no recording of contact 8"),
        "{}",
        stderr(&missing)
    );
}
