//! What the records acknowledged survives SIGKILL: tickets created and moved by a child
//! process that is killed mid-stream are all there, with their history, when the database is
//! reopened.
//!
//! As in `crash.rs`, the parent runs this test binary again as a child with `CHILD_ENV`
//! naming the database; the child writes and prints each acknowledged write, forever.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use hotline_store::{Keyring, NewTicket, Records, TicketChange, TicketId};
use hotline_tickets::{Priority, TicketRules, TicketStatus};

const CHILD_ENV: &str = "HOTLINE_RECORDS_CRASH_CHILD";
const KEYS_ENV: &str = "HOTLINE_RECORDS_CRASH_KEYS";
/// Acknowledgements read before the kill.
const ACKNOWLEDGED_BEFORE_KILL: usize = 400;

fn ticket(i: u64) -> NewTicket {
    NewTicket {
        title: format!("第 {i} 号工单"),
        description: Some(format!("客户 {i} 的电话 138{i:08}")),
        category: "billing".into(),
        priority: Priority::Normal,
        customer: None,
        interaction: None,
        assignee: None,
        department: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let keys = Keyring::parse(&std::env::var(KEYS_ENV).expect("keys")).expect("keys parse");
    let records = Records::open(&path, keys).await.expect("child opens");
    let rules = TicketRules::default();
    let mut producers = tokio::task::JoinSet::new();
    for producer in 0..4u64 {
        let records = records.clone();
        let rules = rules.clone();
        producers.spawn(async move {
            for i in 0.. {
                let n = i * 4 + producer;
                let created = records
                    .create_ticket(&ticket(n), &rules, 1_000 + n as i64, "child")
                    .await
                    .expect("create");
                println!("created {}", created.id.0);
                let change = TicketChange {
                    status: Some(TicketStatus::InProgress),
                    note: Some("处理中".into()),
                    ..TicketChange::default()
                };
                records
                    .change_ticket(
                        created.id,
                        &change,
                        Some(1),
                        &rules,
                        2_000 + n as i64,
                        "child",
                    )
                    .await
                    .expect("change");
                println!("moved {}", created.id.0);
            }
        });
    }
    while producers.join_next().await.is_some() {}
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn acknowledged_tickets_and_their_changes_survive_sigkill() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("records.db");
    let keys = Keyring::generate().unwrap();
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "records_crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .env(KEYS_ENV, keys.to_text())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the child"),
    );
    let stdout = child.0.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut created, mut moved) = (HashSet::new(), HashSet::new());
    let mut read = |created: &mut HashSet<i64>, moved: &mut HashSet<i64>| -> bool {
        for line in lines.by_ref() {
            let line = line.expect("read child stdout");
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["created", id] => created.insert(id.parse().unwrap()),
                ["moved", id] => moved.insert(id.parse().unwrap()),
                _ => continue,
            };
            return true;
        }
        false
    };
    while created.len() + moved.len() < ACKNOWLEDGED_BEFORE_KILL {
        assert!(
            read(&mut created, &mut moved),
            "the child stopped before it was killed"
        );
    }
    child.0.kill().expect("kill the child");
    assert!(!child.0.wait().expect("wait").success());
    while read(&mut created, &mut moved) {}

    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let records = Records::open(&path, keys)
            .await
            .expect("reopen after the kill");
        for id in &created {
            let ticket = records
                .ticket(TicketId(*id))
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged ticket {id} is gone"));
            assert!(
                ticket.fields.description.unwrap().starts_with("客户 "),
                "sealed and opened"
            );
            let history = records.ticket_history(TicketId(*id), 100).await.unwrap();
            let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
            if moved.contains(id) {
                assert_eq!(ticket.status, TicketStatus::InProgress, "ticket {id}");
                assert_eq!(actions, ["created", "status", "note"], "ticket {id}");
            } else {
                // Not acknowledged as moved: either move happened whole, or not at all.
                match ticket.status {
                    TicketStatus::New => assert_eq!(actions, ["created"], "ticket {id}"),
                    TicketStatus::InProgress => {
                        assert_eq!(actions, ["created", "status", "note"], "ticket {id}")
                    }
                    other => panic!("ticket {id} is {other:?}"),
                }
            }
        }
    });
}
