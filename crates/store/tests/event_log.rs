//! The `EventLog` contract on `SqliteEventLog`, against real database files.

mod common;

use common::{count_rows, event, identity, open_temp, raw_connection, temp_db, T0_MS};
use hotline_store::{
    EventLog, EventRejection, NewEvent, RangeQuery, SqliteEventLog, StoreError,
    APPEND_ONLY_MESSAGE, MAX_DATA_BYTES, MAX_EVENTS_PER_APPEND, MAX_KIND_LEN, MAX_NAME_LEN,
    MAX_READ_LIMIT, ROWS_PER_INSERT,
};
use serde_json::json;

#[tokio::test]
async fn appended_events_read_back_in_order_with_their_seqs() {
    let (_directory, _path, log) = open_temp().await;
    assert_eq!(log.last_seq().await.unwrap(), 0);

    let first: Vec<NewEvent> = (0..3).map(|i| event(0, i)).collect();
    let receipt = log.append(&first).await.unwrap();
    assert_eq!((receipt.first_seq, receipt.last_seq), (1, 3));
    assert_eq!(receipt.len(), 3);

    let second = vec![NewEvent::new(T0_MS, "agent.ready").with_agent("agent-0007")];
    let receipt = log.append(&second).await.unwrap();
    assert_eq!((receipt.first_seq, receipt.last_seq), (4, 4));
    assert_eq!(log.last_seq().await.unwrap(), 4);

    let stored = log.read_from(0, 100).await.unwrap();
    let expected: Vec<NewEvent> = first.into_iter().chain(second).collect();
    assert_eq!(stored.len(), expected.len());
    for (position, (stored, expected)) in stored.iter().zip(&expected).enumerate() {
        assert_eq!(stored.seq, position as i64 + 1);
        assert_eq!(stored.at_ms, expected.at_ms);
        assert_eq!(stored.kind, expected.kind);
        assert_eq!(stored.contact_id, expected.contact_id);
        assert_eq!(stored.agent, expected.agent);
        assert_eq!(stored.queue, expected.queue);
        assert_eq!(stored.data, expected.data);
    }
}

#[tokio::test]
async fn read_from_pages_through_the_whole_log() {
    let (_directory, _path, log) = open_temp().await;
    let events: Vec<NewEvent> = (0..250).map(|i| event(1, i)).collect();
    log.append(&events).await.unwrap();

    let mut after_seq = 0;
    let mut pages = 0;
    let mut seen = Vec::new();
    loop {
        let page = log.read_from(after_seq, 64).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 64);
        pages += 1;
        after_seq = page.last().unwrap().seq;
        seen.extend(page);
    }
    assert_eq!(pages, 4);
    let seqs: Vec<i64> = seen.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=250).collect::<Vec<i64>>());
    let identities: Vec<(u64, u64)> = seen.iter().map(|e| identity(&e.data)).collect();
    assert_eq!(identities, (0..250).map(|i| (1, i)).collect::<Vec<_>>());
}

#[tokio::test]
async fn read_limits_are_bounded() {
    let (_directory, _path, log) = open_temp().await;
    for limit in [0, MAX_READ_LIMIT + 1] {
        assert!(matches!(
            log.read_from(0, limit).await,
            Err(StoreError::InvalidLimit { .. })
        ));
        assert!(matches!(
            log.read_range(&RangeQuery::new(0..i64::MAX, limit)).await,
            Err(StoreError::InvalidLimit { .. })
        ));
    }
    assert!(log.read_from(0, MAX_READ_LIMIT).await.unwrap().is_empty());
}

#[tokio::test]
async fn read_range_filters_by_time_and_queue_and_pages_by_cursor() {
    let (_directory, _path, log) = open_temp().await;
    // Appended out of time order, with several events at the same millisecond, so that the
    // (at_ms, seq) order differs from the seq order.
    let mut events = Vec::new();
    for at_s in [5_i64, 1, 3, 3, 3, 2, 4, 0, 3] {
        for queue in ["sales", "support"] {
            events.push(NewEvent::new(T0_MS + at_s * 1_000, "contact.queued").with_queue(queue));
        }
    }
    events.push(NewEvent::new(T0_MS + 3_000, "agent.ready").with_agent("agent-0001"));
    log.append(&events).await.unwrap();

    let window = T0_MS + 1_000..T0_MS + 4_000;
    let all = log
        .read_range(&RangeQuery::new(window.clone(), 1_000))
        .await
        .unwrap();
    // Seconds 1, 2 and 3 of both queues, plus the queue-less event.
    assert_eq!(all.len(), 2 * 6 + 1);
    assert!(all.iter().all(|e| window.contains(&e.at_ms)));
    assert!(all
        .windows(2)
        .all(|w| (w[0].at_ms, w[0].seq) < (w[1].at_ms, w[1].seq)));

    let sales = log
        .read_range(&RangeQuery::new(window.clone(), 1_000).in_queue("sales"))
        .await
        .unwrap();
    assert_eq!(sales.len(), 6);
    assert!(sales.iter().all(|e| e.queue.as_deref() == Some("sales")));

    // Paging two at a time through the ties at second 3 gives the same events as one read.
    let mut paged = Vec::new();
    let mut query = RangeQuery::new(window, 2).in_queue("sales");
    loop {
        let page = log.read_range(&query).await.unwrap();
        let Some(last) = page.last() else { break };
        query = query.after(last.range_cursor());
        paged.extend(page);
    }
    assert_eq!(paged, sales);
}

#[tokio::test]
async fn the_table_refuses_update_and_delete() {
    let (_directory, path, log) = open_temp().await;
    log.append(&[event(0, 0), event(0, 1)]).await.unwrap();

    let mut connection = raw_connection(&path).await;
    for statement in [
        "UPDATE events SET kind = 'tampered' WHERE seq = 1",
        "DELETE FROM events WHERE seq = 2",
        "DELETE FROM events",
    ] {
        let error = sqlx::query(statement)
            .execute(&mut connection)
            .await
            .expect_err(statement);
        assert!(
            error.to_string().contains(APPEND_ONLY_MESSAGE),
            "{statement}: {error}"
        );
    }
    let stored = log.read_from(0, 10).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].kind, "contact.queued");
}

#[tokio::test]
async fn oversized_or_malformed_rows_are_refused_and_nothing_is_written() {
    let (_directory, path, log) = open_temp().await;
    let good = event(0, 0);
    let bad_rows = [
        (
            good.clone().with_data(json!("x".repeat(MAX_DATA_BYTES))),
            EventRejection::DataTooLarge,
        ),
        (
            NewEvent {
                kind: "k".repeat(MAX_KIND_LEN + 1),
                ..good.clone()
            },
            EventRejection::KindTooLong {
                len: MAX_KIND_LEN + 1,
            },
        ),
        (
            good.clone().with_agent("a".repeat(MAX_NAME_LEN + 1)),
            EventRejection::AgentTooLong {
                len: MAX_NAME_LEN + 1,
            },
        ),
        (
            good.clone().with_queue("q".repeat(MAX_NAME_LEN + 1)),
            EventRejection::QueueTooLong {
                len: MAX_NAME_LEN + 1,
            },
        ),
        (
            NewEvent {
                kind: String::new(),
                ..good.clone()
            },
            EventRejection::EmptyKind,
        ),
    ];
    for (bad, expected) in bad_rows {
        // The bad row comes last, after rows that are fine: none of them may be written.
        let batch = vec![good.clone(), good.clone(), bad];
        match log.append(&batch).await {
            Err(StoreError::InvalidEvent { index, reason }) => {
                assert_eq!(index, 2);
                assert_eq!(reason, expected);
            }
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
    assert!(matches!(
        log.append(&[]).await,
        Err(StoreError::EmptyAppend)
    ));
    let too_many = vec![good.clone(); MAX_EVENTS_PER_APPEND + 1];
    assert!(matches!(
        log.append(&too_many).await,
        Err(StoreError::TooManyEvents { .. })
    ));

    assert_eq!(count_rows(&path).await, 0);
    assert_eq!(log.last_seq().await.unwrap(), 0);
    // The log still works after the refusals.
    assert_eq!(log.append(&[good]).await.unwrap().first_seq, 1);
}

#[tokio::test]
async fn an_append_larger_than_one_statement_gets_contiguous_seqs() {
    let (_directory, path, log) = open_temp().await;
    log.append(&[event(9, 0)]).await.unwrap();
    // Several statements of ROWS_PER_INSERT rows and a shorter one, in one transaction.
    let count = ROWS_PER_INSERT * 3 + 7;
    let events: Vec<NewEvent> = (0..count as u64).map(|i| event(1, i)).collect();
    let receipt = log.append(&events).await.unwrap();
    assert_eq!(receipt.first_seq, 2);
    assert_eq!(receipt.len(), count);
    assert_eq!(count_rows(&path).await, count as i64 + 1);

    let mut after_seq = 1;
    let mut i = 0;
    while let Some(last) = {
        let page = log.read_from(after_seq, MAX_READ_LIMIT).await.unwrap();
        for stored in &page {
            assert_eq!(identity(&stored.data), (1, i));
            assert_eq!(stored.seq, receipt.first_seq + i as i64);
            i += 1;
        }
        page.last().map(|e| e.seq)
    } {
        after_seq = last;
    }
    assert_eq!(i as usize, count);
}

#[tokio::test]
async fn the_largest_append_fits_under_the_parameter_limit() {
    let (_directory, _path, log) = open_temp().await;
    let events = vec![event(0, 0); MAX_EVENTS_PER_APPEND];
    let receipt = log.append(&events).await.unwrap();
    assert_eq!(receipt.len(), MAX_EVENTS_PER_APPEND);
}

#[tokio::test]
async fn events_survive_dropping_the_log_and_reopening_the_file() {
    let (_directory, path) = temp_db();
    let events: Vec<NewEvent> = (0..100).map(|i| event(2, i)).collect();
    {
        let log = SqliteEventLog::open(&path).await.unwrap();
        log.append(&events[..60]).await.unwrap();
        log.append(&events[60..]).await.unwrap();
        // Dropped without `close`: no checkpoint, the events are still in the WAL.
    }
    let log = SqliteEventLog::open(&path).await.unwrap();
    let stored = log.read_from(0, 1_000).await.unwrap();
    assert_eq!(stored.len(), 100);
    for (i, stored) in stored.iter().enumerate() {
        assert_eq!(stored.seq, i as i64 + 1);
        assert_eq!(identity(&stored.data), (2, i as u64));
    }
    // Seqs continue after a reopen.
    assert_eq!(log.append(&[event(3, 0)]).await.unwrap().first_seq, 101);
    log.close().await;
    assert!(matches!(
        log.append(&[event(3, 1)]).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(log.last_seq().await, Err(StoreError::Closed)));

    // And once more after a clean close.
    let log = SqliteEventLog::open(&path).await.unwrap();
    assert_eq!(log.last_seq().await.unwrap(), 101);
}

#[tokio::test]
async fn the_database_is_in_wal_mode_with_full_sync() {
    let (_directory, path, log) = open_temp().await;
    log.append(&[event(0, 0)]).await.unwrap();
    let mut connection = raw_connection(&path).await;
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(journal_mode, "wal");
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
}

#[tokio::test]
async fn an_in_memory_log_keeps_its_events_while_open() {
    let log = SqliteEventLog::open_in_memory().await.unwrap();
    let events: Vec<NewEvent> = (0..10).map(|i| event(4, i)).collect();
    log.append(&events).await.unwrap();
    let clone = log.clone();
    assert_eq!(clone.last_seq().await.unwrap(), 10);
    let stored = clone
        .read_range(&RangeQuery::new(0..i64::MAX, 100).in_queue("sales"))
        .await
        .unwrap();
    assert_eq!(stored.len(), 4);
    // A second in-memory log is a database of its own.
    let other = SqliteEventLog::open_in_memory().await.unwrap();
    assert_eq!(other.last_seq().await.unwrap(), 0);
}

#[tokio::test]
async fn max_contact_id_is_the_largest_contact_in_the_log_so_a_restart_numbers_after_it() {
    let (_directory, path, log) = open_temp().await;
    assert_eq!(log.max_contact_id().await.unwrap(), 0, "an empty log");
    let events = vec![
        NewEvent::new(T0_MS, "call.arrived").with_contact(41),
        NewEvent::new(T0_MS, "agent.ready").with_agent("agent-0007"),
        NewEvent::new(T0_MS, "call.arrived").with_contact(7),
    ];
    log.append(&events).await.unwrap();
    log.close().await;
    let reopened = SqliteEventLog::open(&path).await.unwrap();
    assert_eq!(reopened.max_contact_id().await.unwrap(), 41);
}
