//! Callback tasks in the records (SQLite, and PostgreSQL in the test command's second pass):
//! stored before they are acknowledged, one active task per customer and reason, the
//! dialer's snapshot kept, and the active ones read back whole for a restart.

use hotline_phone::{normalize, NumberContext};
use hotline_store::{
    CallbackFilter, CallbackState, CustomerFields, CustomerId, Keyring, NewCallbackTask, StoreError,
};

fn request(customer: Option<CustomerId>, reason: &str) -> NewCallbackTask {
    NewCallbackTask {
        customer,
        number: normalize("138 0013 8000", &NumberContext::default()).unwrap(),
        channel: "web_form".into(),
        reason: reason.into(),
        need_tags: vec!["洗衣机".into(), "漏水".into()],
        payload: Some(serde_json::json!({ "order": "JD-2026-0042", "收货人": "王芳" })),
        priority: "high".into(),
        value_score: 800,
        window_start_ms: 1_000,
        window_end_ms: 1_000 + 3 * 86_400_000,
        promised_ms: 31_000,
        dedupe_key: format!("{}:{reason}", customer.map_or(0, |c| c.0)),
        ticket: None,
        created_ms: 1_000,
        campaign: None,
        mode: None,
        requested_by: Some("web-form".into()),
    }
}

#[tokio::test]
async fn a_request_is_stored_once_per_customer_and_reason_and_its_dialer_state_kept() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let customer = records
        .create_customer(
            &CustomerFields {
                name: Some("王芳".into()),
                ..CustomerFields::default()
            },
            1,
            "t",
        )
        .await
        .unwrap()
        .id;
    let task = records
        .create_callback_task(None, &request(Some(customer), "repair"), "api:web")
        .await
        .unwrap();
    assert_eq!(task.state, CallbackState::Pending);
    assert_eq!(
        task.fields.payload.as_ref().unwrap()["收货人"],
        "王芳",
        "sealed and opened"
    );
    assert_eq!(task.fields.number.e164(), "+8613800138000");
    // The same customer and reason again: refused, naming the waiting one.
    let again = records
        .create_callback_task(None, &request(Some(customer), "repair"), "api:web")
        .await;
    match again {
        Err(StoreError::Conflict(message)) => {
            assert!(message.contains(&task.id.to_string()), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Another reason is another task.
    let other = records
        .create_callback_task(None, &request(Some(customer), "billing"), "api:web")
        .await
        .unwrap();
    // A dial claimed, then ended: state, attempts and the snapshot are kept.
    assert!(records
        .update_callback_task(
            task.id,
            CallbackState::Dialling,
            1,
            None,
            Some("{\"a\":1}"),
            2_000
        )
        .await
        .unwrap());
    let active = records.active_callback_tasks().await.unwrap();
    assert_eq!(
        active.iter().map(|t| (t.id, t.state)).collect::<Vec<_>>(),
        [
            (task.id, CallbackState::Dialling),
            (other.id, CallbackState::Pending)
        ]
    );
    assert_eq!(active[0].snapshot.as_deref(), Some("{\"a\":1}"));
    assert!(records
        .update_callback_task(
            task.id,
            CallbackState::Done,
            1,
            Some("connected"),
            None,
            3_000
        )
        .await
        .unwrap());
    let done = records.callback_task(task.id).await.unwrap().unwrap();
    assert_eq!((done.state, done.attempts), (CallbackState::Done, 1));
    assert_eq!(
        done.snapshot.as_deref(),
        Some("{\"a\":1}"),
        "kept when none is given"
    );
    // A finished task is not changed by a late report, and frees its key.
    assert!(!records
        .update_callback_task(task.id, CallbackState::Pending, 2, None, None, 4_000)
        .await
        .unwrap());
    records
        .create_callback_task(None, &request(Some(customer), "repair"), "api:web")
        .await
        .unwrap();
    // Cancelling, lists and bad input.
    assert!(records
        .cancel_callback_task(other.id, "do_not_call", 5_000, "dialer")
        .await
        .unwrap());
    assert!(!records
        .cancel_callback_task(other.id, "again", 5_000, "dialer")
        .await
        .unwrap());
    let cancelled = records
        .callback_tasks(&CallbackFilter {
            state: Some(CallbackState::Cancelled),
            ..CallbackFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].outcome.as_deref(), Some("do_not_call"));
    // Who asked is kept, and lists their own.
    assert_eq!(
        cancelled[0].fields.requested_by.as_deref(),
        Some("web-form")
    );
    let mine = |who: &str| {
        let records = records.clone();
        let who = who.to_owned();
        async move {
            records
                .callback_tasks(&CallbackFilter {
                    requested_by: Some(who),
                    ..CallbackFilter::default()
                })
                .await
                .unwrap()
                .len()
        }
    };
    assert!(mine("web-form").await >= 2);
    assert_eq!(mine("ann").await, 0);
    let unknown = records
        .create_callback_task(None, &request(Some(CustomerId(999)), "x"), "api")
        .await;
    assert!(
        matches!(&unknown, Err(StoreError::Invalid(e)) if e.field == "customer_id"),
        "{unknown:?}"
    );
    let mut bad = request(None, "x");
    bad.channel = "fax".into();
    let refused = records.create_callback_task(None, &bad, "api").await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(e)) if e.field == "channel"),
        "{refused:?}"
    );
    // A dialling mode is kept; an unknown one, or predictive outside a campaign, is refused.
    let mut preview = request(None, "preview");
    preview.mode = Some("preview".into());
    let stored = records
        .create_callback_task(None, &preview, "api")
        .await
        .unwrap();
    assert_eq!(
        records
            .callback_task(stored.id)
            .await
            .unwrap()
            .unwrap()
            .fields,
        preview
    );
    for mode in ["robocall", "predictive"] {
        let mut bad = request(None, mode);
        bad.mode = Some(mode.into());
        let refused = records.create_callback_task(None, &bad, "api").await;
        assert!(
            matches!(&refused, Err(StoreError::Invalid(e)) if e.field == "mode"),
            "{refused:?}"
        );
    }
}
