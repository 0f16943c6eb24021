//! What the sipp end-to-end tests share: sipp itself, free ports, the scenario files, agents'
//! phones registered with digest, and the event log read back.

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

pub fn sipp() -> Command {
    let found = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "sipp is not installed: run scripts/test (it installs Debian's sip-tester)"
    );
    let mut command = Command::new("sipp");
    command
        .args([
            "-nostdin",
            "-i",
            "127.0.0.1",
            "-timeout",
            "60s",
            "-timeout_error",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

pub async fn log_events(path: &std::path::Path) -> Vec<hotline_store::StoredEvent> {
    use hotline_store::EventLog;
    let log = hotline_store::SqliteEventLog::open(path).await.unwrap();
    log.read_from(0, 1_000).await.unwrap()
}

pub fn assert_in_order(kinds: &[String], expected: &[&str]) {
    let mut position = 0;
    for kind in expected {
        match kinds[position..].iter().position(|k| k == kind) {
            Some(i) => position += i + 1,
            None => panic!("{kind} missing (in order) from {kinds:?}"),
        }
    }
}

/// A sipp instance answering as `agent`'s phone, registered with the switch (password
/// `<agent>-secret`).
pub fn agent_phone(switch: SocketAddr, agent: &str, scenario_name: &str, calls: u32) -> Child {
    agent_phone_with(
        switch,
        agent,
        &format!("{agent}-secret"),
        scenario_name,
        calls,
    )
}

/// [`agent_phone`] with the account's password.
pub fn agent_phone_with(
    switch: SocketAddr,
    agent: &str,
    password: &str,
    scenario_name: &str,
    calls: u32,
) -> Child {
    let port = free_port();
    let phone = sipp()
        .arg("-sf")
        .arg(scenario(scenario_name))
        .args(["-p", &port.to_string(), "-m", &calls.to_string()])
        .args(["-mp", &free_port().to_string()])
        .arg(switch.to_string())
        .spawn()
        .unwrap();
    check("registration", &register(switch, agent, password, port));
    phone
}

/// One REGISTER as `agent` with `password` for a phone on `agent_port`, answering the
/// digest challenge; sipp's exit status says whether it got 200.
pub fn register(switch: SocketAddr, agent: &str, password: &str, agent_port: u16) -> Output {
    // sipp does not expand keywords inside [authentication …]: write the account in.
    let template = std::fs::read_to_string(scenario("register.xml")).unwrap();
    let file = std::env::temp_dir().join(format!("hotline-register-{agent}-{agent_port}.xml"));
    std::fs::write(
        &file,
        template
            .replace("[agent]", agent)
            .replace("[password]", password),
    )
    .unwrap();
    let registration = sipp()
        .arg("-sf")
        .arg(&file)
        .args(["-key", "agent_port", &agent_port.to_string()])
        .args(["-p", &free_port().to_string(), "-m", "1"])
        .args(["-timeout", "10s"])
        .arg(switch.to_string())
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    registration
}

pub fn check(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what}: sipp exited with {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        tail(&output.stdout),
        tail(&output.stderr)
    );
}

pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
