//! The link task against real records (SQLite in memory): pops, interactions, and an agent
//! saying who an unknown caller was, before or after the call ends.

use std::sync::Arc;

use hotline_routing::ContactId;
use hotline_server::customer_link::{spawn, LinkEvent, LinkParts, PopHub, Pushed};
use hotline_server::knowledge::Knowledge;
use hotline_store::{CustomerFields, InteractionKind, Keyring, Phone, Records};

async fn records_with_wang() -> (Records, hotline_store::CustomerId) {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let number =
        hotline_phone::normalize("13800138000", &hotline_phone::NumberContext::default()).unwrap();
    let fields = CustomerFields {
        name: Some("王小明".into()),
        phones: vec![Phone {
            number,
            label: None,
        }],
        ..CustomerFields::default()
    };
    let id = records.create_customer(&fields, 1, "t").await.unwrap().id;
    (records, id)
}

fn call(contact: u64, from: &str, at_ms: u64) -> [LinkEvent; 3] {
    [
        LinkEvent::Arrived {
            contact: ContactId(contact),
            from: from.into(),
            at_ms,
        },
        LinkEvent::Offered {
            contact: ContactId(contact),
            agent: "ann".into(),
            queue: "general".into(),
            callback: false,
            at_ms: at_ms + 1_000,
        },
        LinkEvent::Connected {
            contact: ContactId(contact),
            agent: "ann".into(),
            at_ms: at_ms + 3_000,
        },
    ]
}

#[tokio::test]
async fn an_unknown_caller_named_by_the_agent_during_or_after_the_call_gets_the_interaction() {
    let (records, wang) = records_with_wang().await;
    let hub = PopHub::new();
    let mut ann = hub.subscribe("ann");
    let (events, task) = spawn(LinkParts {
        records: records.clone(),
        number_context: hotline_phone::NumberContext::default(),
        hub: hub.clone(),
        knowledge: Arc::new(Knowledge::empty().unwrap()),
        profiles: None,
        events: None,
    });
    // Contact 1: an unknown number; the agent picks the customer while talking.
    for event in call(1, "13912345678", 10_000) {
        events.send(event).await.unwrap();
    }
    match ann.next().await {
        Pushed::Push(push) => {
            assert_eq!(push.event, "offer");
            assert_eq!(push.data["pop"]["matched"], "none", "{}", push.data);
        }
        other => panic!("{other:?}"),
    }
    events
        .send(LinkEvent::Identified {
            contact: ContactId(1),
            customer: wang,
            add_number: false,
        })
        .await
        .unwrap();
    events
        .send(LinkEvent::Ended {
            contact: ContactId(1),
            at_ms: 40_000,
        })
        .await
        .unwrap();
    // Contact 2: unknown too, named only after it ended.
    for event in call(2, "13912345678", 50_000) {
        events.send(event).await.unwrap();
    }
    events
        .send(LinkEvent::Ended {
            contact: ContactId(2),
            at_ms: 60_000,
        })
        .await
        .unwrap();
    events
        .send(LinkEvent::Identified {
            contact: ContactId(2),
            customer: wang,
            add_number: true,
        })
        .await
        .unwrap();
    // Contact 3: the customer's own number, linked by itself.
    for event in call(3, "+86 138 0013 8000", 70_000) {
        events.send(event).await.unwrap();
    }
    events
        .send(LinkEvent::Ended {
            contact: ContactId(3),
            at_ms: 75_000,
        })
        .await
        .unwrap();
    drop(events);
    let stats = task.await.unwrap();
    assert_eq!(
        (stats.pops, stats.interactions, stats.store_errors),
        (3, 3, 0)
    );
    let history = records.interactions(wang, None, 10).await.unwrap();
    let contacts: Vec<Option<i64>> = history.iter().map(|i| i.record.contact_id).collect();
    assert_eq!(contacts, [Some(3), Some(2), Some(1)], "newest first");
    let first = &history[2].record;
    assert_eq!(first.kind, InteractionKind::InboundCall);
    assert_eq!(
        first.duration_ms,
        Some(27_000),
        "talk time: connected at 13 s, ended at 40 s"
    );
    assert_eq!(first.disposition.as_deref(), Some("answered"));
    // Contact 2 was named after it ended, with its number added: the customer has it now,
    // once (contact 1, the same number, was named without adding it).
    let numbers: Vec<String> = records
        .customer(wang)
        .await
        .unwrap()
        .unwrap()
        .fields
        .phones
        .iter()
        .map(|p| p.number.e164().to_owned())
        .collect();
    assert_eq!(numbers, ["+8613800138000", "+8613912345678"]);
}

#[tokio::test]
async fn an_ivr_survey_answer_is_stored_against_the_call_and_logged_as_an_event() {
    let (records, _wang) = records_with_wang().await;
    let log = hotline_store::SqliteEventLog::open_in_memory()
        .await
        .unwrap();
    let writer =
        hotline_store::EventWriter::spawn(log.clone(), hotline_store::WriterConfig::default())
            .unwrap();
    let (events, task) = spawn(LinkParts {
        records: records.clone(),
        number_context: hotline_phone::NumberContext::default(),
        hub: PopHub::new(),
        knowledge: Arc::new(Knowledge::empty().unwrap()),
        profiles: None,
        events: Some(writer.clone()),
    });
    for event in call(7, "138 0013 8000", 10_000) {
        events.send(event).await.unwrap();
    }
    events
        .send(LinkEvent::Ended {
            contact: ContactId(7),
            at_ms: 60_000,
        })
        .await
        .unwrap();
    events
        .send(LinkEvent::SurveyAnswered {
            contact: ContactId(7),
            score: 2,
            at_ms: 75_000,
        })
        .await
        .unwrap();
    drop(events);
    let stats = task.await.unwrap();
    assert_eq!((stats.surveys, stats.store_errors), (1, 0));
    // The answer took the call's agent, queue and customer from its interaction.
    let rows = records
        .csat(hotline_store::CsatGroup::Agent, 0, 100_000, 480, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].key.as_str(), rows[0].answers), ("ann", 1));
    assert_eq!(rows[0].satisfied_percent, 0.0, "2 is not satisfied");
    writer.shutdown().await;
    use hotline_store::EventLog;
    let logged = log.read_from(0, 100).await.unwrap();
    let answered = logged
        .iter()
        .find(|e| e.kind == "survey.answered")
        .expect("a survey.answered event");
    assert_eq!(answered.contact_id, Some(7));
    assert_eq!(answered.agent.as_deref(), Some("ann"));
    assert_eq!(answered.data["channel"], "ivr");
    assert_eq!(answered.data["score"], 2);
}
