//! Predictive campaigns in the records (SQLite, and PostgreSQL in the test command's second
//! pass): campaigns and their states, their numbers stored in batches all or none, the tasks
//! counted by state, and the answered and abandoned calls per minute kept for a restart.

use hotline_phone::{normalize, NumberContext};
use hotline_store::campaign_records::MAX_CAMPAIGN_BATCH;
use hotline_store::{
    CallbackFilter, CallbackState, CampaignCounts, CampaignState, Keyring, NewCallbackTask,
    NewCampaign, Records, StoreError,
};

const MINUTE_MS: i64 = 60_000;

async fn records() -> Records {
    hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap()
}

fn campaign(name: &str) -> NewCampaign {
    NewCampaign {
        name: name.into(),
        queue: "sales".into(),
        pacer: "model".into(),
        abandon_cap: 0.03,
    }
}

fn number(campaign: i64, i: u32) -> NewCallbackTask {
    NewCallbackTask {
        customer: None,
        number: normalize(&format!("138 0013 {i:04}"), &NumberContext::default()).unwrap(),
        channel: "campaign".into(),
        reason: "续保提醒".into(),
        need_tags: Vec::new(),
        payload: Some(serde_json::json!({ "row": i })),
        priority: "normal".into(),
        value_score: 0,
        window_start_ms: 1_000,
        window_end_ms: 1_000 + 86_400_000,
        promised_ms: 1_000,
        dedupe_key: format!("campaign:{campaign}:{i}"),
        ticket: None,
        created_ms: 1_000,
        campaign: Some(campaign),
        mode: Some("predictive".into()),
        requested_by: None,
    }
}

fn field_of(result: &Result<impl std::fmt::Debug, StoreError>) -> &str {
    match result {
        Err(StoreError::Invalid(e)) => &e.field,
        other => panic!("not a field error: {other:?}"),
    }
}

#[tokio::test]
async fn campaigns_are_created_listed_and_change_state() {
    let records = records().await;
    let first = records
        .create_campaign(&campaign(" 车险续保 "), 10, "admin")
        .await
        .unwrap();
    assert_eq!(first.fields.name, "车险续保", "stored trimmed");
    assert_eq!(
        first.state,
        CampaignState::Running,
        "running, with no numbers yet"
    );
    assert_eq!((first.created_ms, first.updated_ms), (10, 10));
    assert_eq!(first.fields.abandon_cap, 0.03);
    let second = records
        .create_campaign(
            &NewCampaign {
                pacer: "vicidial".into(),
                ..campaign("回访")
            },
            11,
            "admin",
        )
        .await
        .unwrap();
    assert_eq!(
        records.campaign(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(records.campaign(999).await.unwrap(), None);
    assert_eq!(
        records.campaigns().await.unwrap(),
        [first.clone(), second.clone()]
    );
    // The same name again is a conflict.
    let again = records
        .create_campaign(&campaign("车险续保"), 12, "admin")
        .await;
    match again {
        Err(StoreError::Conflict(message)) => assert!(message.contains("车险续保"), "{message}"),
        other => panic!("{other:?}"),
    }
    // Bad fields are refused, naming the field.
    let bad = [
        (
            NewCampaign {
                name: "  ".into(),
                ..campaign("x")
            },
            "name",
        ),
        (campaign(&"长".repeat(65)), "name"),
        (campaign("a\u{7}b"), "name"),
        (
            NewCampaign {
                queue: String::new(),
                ..campaign("x")
            },
            "queue",
        ),
        (
            NewCampaign {
                pacer: "greedy".into(),
                ..campaign("x")
            },
            "pacer",
        ),
        (
            NewCampaign {
                abandon_cap: 0.0,
                ..campaign("x")
            },
            "abandon_cap",
        ),
        (
            NewCampaign {
                abandon_cap: 0.51,
                ..campaign("x")
            },
            "abandon_cap",
        ),
        (
            NewCampaign {
                abandon_cap: f64::NAN,
                ..campaign("x")
            },
            "abandon_cap",
        ),
    ];
    for (fields, field) in bad {
        let refused = records.create_campaign(&fields, 12, "admin").await;
        assert_eq!(field_of(&refused), field, "{fields:?}");
    }
    assert_eq!(records.campaigns().await.unwrap().len(), 2);
    // States change, audited; an unknown campaign is none.
    let paused = records
        .set_campaign_state(first.id, CampaignState::Paused, 20, "admin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (paused.state, paused.updated_ms),
        (CampaignState::Paused, 20)
    );
    assert_eq!(paused.created_ms, 10);
    let stopped = records
        .set_campaign_state(first.id, CampaignState::Stopped, 30, "admin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.state, CampaignState::Stopped);
    assert_eq!(
        records.campaign(first.id).await.unwrap(),
        Some(stopped.clone())
    );
    assert_eq!(
        records.campaigns().await.unwrap(),
        [stopped, second],
        "stopped ones listed too, oldest first"
    );
    assert_eq!(
        records
            .set_campaign_state(999, CampaignState::Paused, 40, "admin")
            .await
            .unwrap(),
        None
    );
    let audit = records
        .audit_log(Some(&format!("campaign:{}", first.id)), 0, 100)
        .await
        .unwrap();
    assert_eq!(
        audit.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        ["campaign.create", "campaign.state", "campaign.state"]
    );
    for state in [
        CampaignState::Running,
        CampaignState::Paused,
        CampaignState::Stopped,
    ] {
        assert_eq!(CampaignState::parse(state.as_str()), Some(state));
    }
}

#[tokio::test]
async fn a_campaign_s_numbers_are_stored_in_batches_all_or_none_and_counted() {
    let records = records().await;
    let id = records
        .create_campaign(&campaign("续保"), 10, "admin")
        .await
        .unwrap()
        .id;
    let batch: Vec<(i64, NewCallbackTask)> = (0..50)
        .map(|i| (100 + i64::from(i), number(id, i)))
        .collect();
    records
        .create_callback_tasks(&batch, "admin")
        .await
        .unwrap();
    let stored = records.callback_task(107).await.unwrap().unwrap();
    assert_eq!(stored.fields, batch[7].1, "campaign and mode read back");
    assert_eq!(stored.state, CallbackState::Pending);
    assert_eq!(records.max_callback_id().await.unwrap(), 149);
    assert_eq!(
        records
            .audit_log(Some(&format!("campaign:{id}")), 0, 100)
            .await
            .unwrap()
            .iter()
            .filter(|a| a.action == "callback.create_batch")
            .count(),
        1
    );
    // One bad row refuses the whole batch, naming its place.
    let mut bad: Vec<(i64, NewCallbackTask)> = (50..60)
        .map(|i| (100 + i64::from(i), number(id, i)))
        .collect();
    bad[3].1.mode = Some("robocall".into());
    let refused = records.create_callback_tasks(&bad, "admin").await;
    assert_eq!(field_of(&refused), "numbers[3].mode");
    bad[3].1.mode = None;
    bad[5].1.channel = "web_form".into();
    let refused = records.create_callback_tasks(&bad, "admin").await;
    assert_eq!(field_of(&refused), "numbers[5].channel");
    // A row the database refuses (an id taken) rolls back the rows before it.
    bad[5].1.channel = "campaign".into();
    bad[9].0 = 100;
    let refused = records.create_callback_tasks(&bad, "admin").await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("numbers[9]")),
        "{refused:?}"
    );
    assert_eq!(records.callback_task(150).await.unwrap(), None);
    // No such campaign, and too many numbers.
    let refused = records
        .create_callback_tasks(&[(500, number(id + 1, 500))], "admin")
        .await;
    assert_eq!(field_of(&refused), "campaign");
    let refused = records
        .create_callback_task(None, &number(id + 1, 501), "admin")
        .await;
    assert_eq!(field_of(&refused), "campaign");
    let too_many = vec![(1, number(id, 0)); MAX_CAMPAIGN_BATCH + 1];
    let refused = records.create_callback_tasks(&too_many, "admin").await;
    assert_eq!(field_of(&refused), "numbers");
    // Predictive only for a campaign's tasks; a campaign's task has channel "campaign".
    let mut loose = number(id, 600);
    loose.campaign = None;
    let refused = records.create_callback_task(None, &loose, "admin").await;
    assert_eq!(field_of(&refused), "campaign");
    loose.channel = "api".into();
    let refused = records.create_callback_task(None, &loose, "admin").await;
    assert_eq!(field_of(&refused), "mode");
    // Counted by state.
    let states = [
        (100, CallbackState::Dialling),
        (101, CallbackState::Done),
        (102, CallbackState::Done),
        (103, CallbackState::Failed),
    ];
    for (task, state) in states {
        assert!(records
            .update_callback_task(task, state, 1, None, None, 2_000)
            .await
            .unwrap());
    }
    assert!(records
        .cancel_callback_task(104, "do_not_call", 2_000, "dialer")
        .await
        .unwrap());
    assert_eq!(
        records.campaign_task_counts(id).await.unwrap(),
        CampaignCounts {
            pending: 45,
            dialling: 1,
            done: 2,
            failed: 1,
            cancelled: 1,
        }
    );
    assert_eq!(
        records.campaign_task_counts(id + 1).await.unwrap(),
        CampaignCounts::default()
    );
    let all = records
        .callback_tasks(&CallbackFilter {
            limit: 500,
            ..CallbackFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 50);
    // Stopping cancels the waiting tasks; the call under way finishes.
    assert_eq!(
        records
            .cancel_campaign_tasks(id, 3_000, "admin")
            .await
            .unwrap(),
        45
    );
    assert_eq!(
        records.campaign_task_counts(id).await.unwrap(),
        CampaignCounts {
            pending: 0,
            dialling: 1,
            done: 2,
            failed: 1,
            cancelled: 46,
        }
    );
    let cancelled = records.callback_task(149).await.unwrap().unwrap();
    assert_eq!(
        cancelled.outcome.as_deref(),
        Some(hotline_store::CAMPAIGN_STOPPED)
    );
    assert_eq!(
        records
            .cancel_campaign_tasks(id, 3_000, "admin")
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn answered_and_abandoned_calls_add_up_per_minute_and_are_pruned() {
    let records = records().await;
    let first = records
        .create_campaign(&campaign("一"), 10, "admin")
        .await
        .unwrap()
        .id;
    let second = records
        .create_campaign(&campaign("二"), 10, "admin")
        .await
        .unwrap()
        .id;
    let t0 = 1_767_225_600_000;
    records
        .add_campaign_abandons(first, t0, 10, 1)
        .await
        .unwrap();
    records
        .add_campaign_abandons(first, t0, 5, 0)
        .await
        .unwrap();
    records
        .add_campaign_abandons(first, t0 + MINUTE_MS, 7, 2)
        .await
        .unwrap();
    records
        .add_campaign_abandons(first, t0 + 2 * MINUTE_MS, 3, 0)
        .await
        .unwrap();
    records
        .add_campaign_abandons(second, t0, 1, 1)
        .await
        .unwrap();
    assert_eq!(
        records.campaign_abandons_since(first, t0).await.unwrap(),
        [
            (t0, 15, 1),
            (t0 + MINUTE_MS, 7, 2),
            (t0 + 2 * MINUTE_MS, 3, 0)
        ]
    );
    assert_eq!(
        records
            .campaign_abandons_since(first, t0 + MINUTE_MS)
            .await
            .unwrap(),
        [(t0 + MINUTE_MS, 7, 2), (t0 + 2 * MINUTE_MS, 3, 0)]
    );
    assert_eq!(
        records.campaign_abandons_since(second, 0).await.unwrap(),
        [(t0, 1, 1)]
    );
    // Not the start of a minute, or no such campaign.
    let refused = records.add_campaign_abandons(first, t0 + 1, 1, 0).await;
    assert_eq!(field_of(&refused), "minute_ms");
    let refused = records.add_campaign_abandons(second + 1, t0, 1, 0).await;
    assert_eq!(field_of(&refused), "campaign");
    // Pruned before a time, every campaign's.
    assert_eq!(
        records
            .prune_campaign_abandons(t0 + MINUTE_MS)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        records.campaign_abandons_since(first, 0).await.unwrap(),
        [(t0 + MINUTE_MS, 7, 2), (t0 + 2 * MINUTE_MS, 3, 0)]
    );
    assert!(records
        .campaign_abandons_since(second, 0)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(records.prune_campaign_abandons(t0).await.unwrap(), 0);
}
