//! The records on real SQLite files: customers, phone lookup through the blind index, sealed
//! personal data, the screen pop, interactions, audit, API keys, re-sealing after a rotation.

use hotline_phone::{normalize, NumberContext, PhoneNumber};
use hotline_store::records::{
    MAX_PHONES, MAX_SUMMARY_CHARS, POP_MAX_MATCHES, POP_RECENT_INTERACTIONS,
};
use hotline_store::{
    CustomerFields, InteractionKind, Keyring, NewInteraction, Phone, Preferences, Records, Role,
    StoreError,
};

const T0: i64 = 1_767_225_600_000;

fn number(text: &str) -> PhoneNumber {
    normalize(text, &NumberContext::default()).expect(text)
}

fn customer(name: &str, numbers: &[&str]) -> CustomerFields {
    CustomerFields {
        name: Some(name.into()),
        phones: numbers
            .iter()
            .map(|n| Phone {
                number: number(n),
                label: None,
            })
            .collect(),
        ..CustomerFields::default()
    }
}

async fn open_file() -> (tempfile::TempDir, std::path::PathBuf, Keyring, Records) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("records.db");
    let keyring = Keyring::generate().unwrap();
    let records = Records::open(&path, keyring.clone()).await.unwrap();
    (dir, path, keyring, records)
}

#[tokio::test]
async fn a_customer_is_found_by_any_form_of_its_number_and_nothing_personal_is_stored_in_clear() {
    let (_dir, path, keyring, records) = open_file().await;
    let created = records
        .create_customer(
            &customer("王小明", &["+86 138-0013-8000", "010-6552 9988转8001"]),
            T0,
            "test",
        )
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    for form in [
        "13800138000",
        "+8613800138000",
        "0086 138 0013 8000",
        "sip:+8613800138000@carrier",
    ] {
        let ids = records
            .customers_with_number(&number(form), 10)
            .await
            .unwrap();
        assert_eq!(ids, vec![created.id], "{form}");
    }
    // A landline is found without its extension, as a caller's number arrives.
    let ids = records
        .customers_with_number(&number("+86 10 6552 9988"), 10)
        .await
        .unwrap();
    assert_eq!(ids, vec![created.id]);
    let back = records.customer(created.id).await.unwrap().unwrap();
    assert_eq!(back.fields.name.as_deref(), Some("王小明"));
    assert_eq!(back.fields.phones[1].number.extension(), Some("8001"));
    records.close().await;

    // The file holds neither the name nor any form of the numbers.
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    for secret in ["王小明", "13800138000", "65529988"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the database file"
        );
    }
    // And they come back after a restart with the same keys, not with others.
    let reopened = Records::open(&path, keyring).await.unwrap();
    assert_eq!(
        reopened
            .customer(created.id)
            .await
            .unwrap()
            .unwrap()
            .fields
            .name
            .as_deref(),
        Some("王小明")
    );
    let stranger = Records::open(&path, Keyring::generate().unwrap())
        .await
        .unwrap();
    assert!(matches!(
        stranger.customer(created.id).await,
        Err(StoreError::Crypto(_))
    ));
    assert!(stranger
        .customers_with_number(&number("13800138000"), 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_screen_pop_shows_no_match_one_card_or_several_with_the_latest_interactions() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let unknown = records.screen_pop(&number("13900000000")).await.unwrap();
    assert!(unknown.cards.is_empty() && !unknown.more_matches);

    let li = records
        .create_customer(&customer("李雷", &["13911112222"]), T0, "test")
        .await
        .unwrap();
    for i in 0..15 {
        let mut interaction = NewInteraction::new(T0 + i * 60_000, InteractionKind::InboundCall);
        interaction.customer = Some(li.id);
        interaction.summary = Some(format!("第{i}次来电"));
        interaction.queue = Some("售后服务".into());
        records.add_interaction(&interaction).await.unwrap();
    }
    let pop = records.screen_pop(&number("139 1111 2222")).await.unwrap();
    assert_eq!(pop.cards.len(), 1);
    let card = &pop.cards[0];
    assert_eq!(card.customer.fields.name.as_deref(), Some("李雷"));
    assert_eq!(card.recent.len(), POP_RECENT_INTERACTIONS as usize);
    assert_eq!(card.recent[0].record.summary.as_deref(), Some("第14次来电"));
    assert!(card
        .recent
        .windows(2)
        .all(|w| w[0].record.at_ms > w[1].record.at_ms));

    // A family number shared by many: the pop shows the first few and says there are more.
    for i in 0..=POP_MAX_MATCHES {
        records
            .create_customer(&customer(&format!("家人{i}"), &["0755-8888 6666"]), T0, "t")
            .await
            .unwrap();
    }
    let shared = records.screen_pop(&number("075588886666")).await.unwrap();
    assert_eq!(shared.cards.len(), POP_MAX_MATCHES);
    assert!(shared.more_matches);
}

#[tokio::test]
async fn bad_fields_are_refused_by_name_and_nothing_is_written() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let invalid = |fields: CustomerFields| {
        let records = records.clone();
        async move {
            match records.create_customer(&fields, T0, "t").await {
                Err(StoreError::Invalid(e)) => e.field,
                other => panic!("expected a field error, got {other:?}"),
            }
        }
    };
    let mut too_many = customer("x", &[]);
    too_many.phones = (0..=MAX_PHONES)
        .map(|i| Phone {
            number: number(&format!("1380000000{i}")),
            label: None,
        })
        .collect();
    assert_eq!(invalid(too_many).await, "phones");
    assert_eq!(
        invalid(customer("x", &["13800000000", "+86 138 0000 0000"])).await,
        "phones[1].number"
    );
    let mut language = customer("x", &[]);
    language.preferences.language = Some("fr".into());
    assert_eq!(invalid(language).await, "preferences.language");
    let mut hours = customer("x", &[]);
    hours.preferences = Preferences {
        contact_hours: Some(hotline_calendar::WeeklySpec {
            mon: Some("19:00-25:00".into()),
            ..Default::default()
        }),
        ..Preferences::default()
    };
    assert_eq!(invalid(hours).await, "preferences.contact_hours.mon");
    assert_eq!(invalid(customer("", &[])).await, "name");
    assert!(records.customers(None, 10).await.unwrap().is_empty());

    let mut note = NewInteraction::new(T0, InteractionKind::Note);
    note.summary = Some("x".repeat(MAX_SUMMARY_CHARS + 1));
    assert!(matches!(
        records.add_interaction(&note).await,
        Err(StoreError::Invalid(e)) if e.field == "summary"
    ));
    let mut orphan = NewInteraction::new(T0, InteractionKind::Note);
    orphan.customer = Some(hotline_store::CustomerId(999));
    assert!(matches!(
        records.add_interaction(&orphan).await,
        Err(StoreError::Invalid(e)) if e.field == "customer_id"
    ));
}

#[tokio::test]
async fn upserts_by_external_id_versions_and_conflicts() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let mut fields = customer("赵六", &["13700001111"]);
    fields.external_id = Some("CRM-1".into());
    let (first, created) = records.upsert_customer(&fields, T0, "crm").await.unwrap();
    assert!(created);
    fields.level = "vip".into();
    fields.phones = vec![Phone {
        number: number("13700002222"),
        label: Some("新号".into()),
    }];
    let (second, created) = records
        .upsert_customer(&fields, T0 + 1, "crm")
        .await
        .unwrap();
    assert!(!created);
    assert_eq!((second.id, second.version), (first.id, 2));
    assert_eq!(second.fields.level, "vip");
    // The old number no longer finds the customer; the new one does.
    assert!(records
        .customers_with_number(&number("13700001111"), 5)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        records
            .customers_with_number(&number("13700002222"), 5)
            .await
            .unwrap(),
        vec![first.id]
    );
    // A stale version is a conflict, and so is a second customer with the same external id.
    assert!(matches!(
        records
            .update_customer(first.id, &fields, Some(1), T0 + 2, "crm")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        records.create_customer(&fields, T0 + 3, "crm").await,
        Err(StoreError::Conflict(_))
    ));
    let log = records
        .audit_log(Some(&format!("customer:{}", first.id.0)), 0, 100)
        .await
        .unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["customer.create", "customer.update"]);
}

#[tokio::test]
async fn a_rotation_then_a_reseal_moves_every_value_to_the_new_key() {
    let (_dir, path, mut keyring, records) = open_file().await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let created = records
            .create_customer(
                &customer(&format!("客户{i}"), &[&format!("1360000{i:04}")]),
                T0,
                "t",
            )
            .await
            .unwrap();
        let mut note = NewInteraction::new(T0, InteractionKind::Note);
        note.customer = Some(created.id);
        note.summary = Some(format!("备注{i}"));
        records.add_interaction(&note).await.unwrap();
        ids.push(created.id);
    }
    records.close().await;
    keyring.rotate().unwrap();
    let rotated = Records::open(&path, keyring.clone()).await.unwrap();
    let report = rotated.reseal_all(T0, "admin").await.unwrap();
    assert_eq!(report.resealed, 90);
    assert_eq!(report.current, 0);
    let again = rotated.reseal_all(T0, "admin").await.unwrap();
    assert_eq!((again.resealed, again.current), (0, 90));
    rotated.close().await;
    // Only the new key is needed now.
    let only_new = Keyring::parse(
        &keyring
            .to_text()
            .lines()
            .filter(|l| !l.starts_with("k1 "))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let reopened = Records::open(&path, only_new).await.unwrap();
    for (i, id) in ids.iter().enumerate() {
        let pop = reopened
            .screen_pop(&number(&format!("1360000{i:04}")))
            .await
            .unwrap();
        assert_eq!(pop.cards[0].customer.id, *id);
        assert_eq!(
            pop.cards[0].recent[0].record.summary.as_deref(),
            Some(format!("备注{i}").as_str())
        );
    }
}

#[tokio::test]
async fn api_keys_are_kept_as_hashes_and_revocation_is_immediate() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let (key, secret) = records
        .create_api_key("crm", Role::Supervisor, T0, "admin")
        .await
        .unwrap();
    assert!(secret.starts_with(hotline_store::API_KEY_PREFIX) && secret.len() > 40);
    assert_eq!(
        records.authenticate(&secret).await.unwrap().map(|k| k.role),
        Some(Role::Supervisor)
    );
    assert_eq!(records.authenticate("hl_nope").await.unwrap(), None);
    assert!(matches!(
        records
            .create_api_key("crm", Role::Agent, T0, "admin")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(records
        .revoke_api_key("crm", T0 + 1, "admin")
        .await
        .unwrap());
    assert_eq!(records.authenticate(&secret).await.unwrap(), None);
    assert_eq!(
        records.api_keys().await.unwrap()[0].revoked_ms,
        Some(T0 + 1)
    );
    assert_eq!(key.prefix.len(), 8);
}

#[tokio::test]
async fn retention_redacts_old_summaries_and_keeps_the_records() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let c = records
        .create_customer(&customer("x", &["13800000001"]), T0, "t")
        .await
        .unwrap();
    for at in [T0, T0 + 10, T0 + 20] {
        let mut note = NewInteraction::new(at, InteractionKind::Note);
        note.customer = Some(c.id);
        note.summary = Some("地址：北京市朝阳区".into());
        records.add_interaction(&note).await.unwrap();
    }
    assert_eq!(
        records
            .redact_interactions_before(T0 + 15, T0, "retention")
            .await
            .unwrap(),
        2
    );
    let all = records.interactions(c.id, None, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    let redacted: Vec<_> = all.iter().map(|i| i.redacted).collect();
    assert_eq!(redacted, [false, true, true]);
    assert!(all[1].record.summary.is_none());
    // Paging: the page after the newest starts below it.
    let page = records
        .interactions(c.id, Some((all[0].record.at_ms, all[0].id)), 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
}

#[tokio::test]
async fn an_import_batch_creates_new_customers_replaces_known_ones_and_keeps_numbers_findable() {
    let (_dir, _path, _keys, records) = open_file().await;
    let with_id = |id: &str, name: &str, numbers: &[&str]| CustomerFields {
        external_id: Some(id.into()),
        ..customer(name, numbers)
    };
    let first: Vec<CustomerFields> = (0..450)
        .map(|i| {
            with_id(
                &format!("CRM-{i}"),
                &format!("客户{i}"),
                &[&format!("138{i:08}")],
            )
        })
        .collect();
    assert_eq!(
        records.import_customers(&first, 1, "t").await.unwrap(),
        (450, 0)
    );
    // Half known (new numbers replace the old), half new, in one batch.
    let second: Vec<CustomerFields> = (225..675)
        .map(|i| {
            with_id(
                &format!("CRM-{i}"),
                &format!("新{i}"),
                &[&format!("139{i:08}")],
            )
        })
        .collect();
    assert_eq!(
        records.import_customers(&second, 2, "t").await.unwrap(),
        (225, 225)
    );
    let pop = records.screen_pop(&number("13900000300")).await.unwrap();
    assert_eq!(pop.cards.len(), 1);
    assert_eq!(pop.cards[0].customer.fields.name.as_deref(), Some("新300"));
    assert_eq!(pop.cards[0].customer.version, 2);
    assert!(
        records
            .screen_pop(&number("13800000300"))
            .await
            .unwrap()
            .cards
            .is_empty(),
        "the old number is gone"
    );
    assert_eq!(
        records
            .screen_pop(&number("13800000100"))
            .await
            .unwrap()
            .cards
            .len(),
        1,
        "untouched"
    );
    // One external id twice in a batch: the later row wins, counted as an update.
    let twice = vec![
        with_id("CRM-X", "甲", &["13700000001"]),
        with_id("CRM-X", "乙", &["13700000002"]),
    ];
    assert_eq!(
        records.import_customers(&twice, 3, "t").await.unwrap(),
        (1, 1)
    );
    let pop = records.screen_pop(&number("13700000002")).await.unwrap();
    assert_eq!(pop.cards[0].customer.fields.name.as_deref(), Some("乙"));
}

#[tokio::test]
async fn retention_sweeps_in_batches_and_removes_old_survey_comments_too() {
    let records = hotline_store::testing::records(Keyring::generate().unwrap())
        .await
        .unwrap();
    let c = records
        .create_customer(&customer("x", &["13800000001"]), T0, "t")
        .await
        .unwrap();
    let old = hotline_store::RETENTION_BATCH + 3;
    for i in 0..=old {
        let mut note = NewInteraction::new(
            if i < old { T0 + i } else { T0 + 1_000_000 },
            InteractionKind::Note,
        );
        note.customer = Some(c.id);
        note.summary = Some("家住朝阳区".into());
        records.add_interaction(&note).await.unwrap();
    }
    let answer = hotline_store::NewSurveyAnswer {
        at_ms: T0,
        score: 2,
        channel: "link".into(),
        comment: Some("我的手机号是13800000001".into()),
        ..Default::default()
    };
    records.add_survey_answer(&answer).await.unwrap();
    let redacted = records
        .redact_interactions_before(T0 + 500_000, T0 + 2_000_000, "retention")
        .await
        .unwrap();
    assert_eq!(
        redacted, old as u64,
        "every old one, over more than one batch"
    );
    let newest = records.interactions(c.id, None, 1).await.unwrap();
    assert_eq!(
        newest[0].record.summary.as_deref(),
        Some("家住朝阳区"),
        "the recent one stays"
    );
    let audit = records
        .audit_log(Some("interactions"), 0, 10)
        .await
        .unwrap();
    assert!(
        audit[0].detail.contains("and 1 survey comments"),
        "{:?}",
        audit[0]
    );
}
