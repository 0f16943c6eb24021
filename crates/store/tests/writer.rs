//! The `EventWriter` (group commit) in front of a real SQLite file.
//!
//! Several tests run on tokio's current-thread runtime on purpose: there the writer task only
//! runs once every producer of a `join!` has sent its request and is waiting, so the test knows
//! exactly which requests share a batch, without sleeps.

mod common;

use std::collections::HashSet;

use common::{count_rows, event, identity, open_temp, raw_connection};
use hotline_store::{
    EventLog, EventWriter, NewEvent, StoreError, WriterConfig, MAX_CHANNEL_CAPACITY,
    MAX_EVENTS_PER_APPEND,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_producers_get_distinct_increasing_seqs_and_every_event_is_stored_once() {
    const PRODUCERS: u64 = 64;
    const EVENTS_PER_PRODUCER: u64 = 100;
    let (_directory, path, log) = open_temp().await;
    let writer = EventWriter::spawn(
        log.clone(),
        WriterConfig {
            channel_capacity: 32,
            max_batch_events: 50,
        },
    )
    .unwrap();

    let mut producers = tokio::task::JoinSet::new();
    for producer in 0..PRODUCERS {
        let writer = writer.clone();
        producers.spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..EVENTS_PER_PRODUCER {
                seqs.push(writer.append(event(producer, i)).await.unwrap());
            }
            (producer, seqs)
        });
    }
    let mut acknowledged = std::collections::HashMap::new();
    while let Some(joined) = producers.join_next().await {
        let (producer, seqs) = joined.unwrap();
        // One producer waits for each seq before it sends the next event, so its seqs increase.
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{producer}: {seqs:?}");
        for (i, seq) in seqs.into_iter().enumerate() {
            assert!(
                acknowledged.insert(seq, (producer, i as u64)).is_none(),
                "seq {seq} given twice"
            );
        }
    }
    let total = PRODUCERS * EVENTS_PER_PRODUCER;
    assert_eq!(acknowledged.len() as u64, total);
    assert_eq!(count_rows(&path).await, total as i64);

    // Every row is the event that was acknowledged with its seq.
    let mut after_seq = 0;
    let mut seen = HashSet::new();
    loop {
        let page = log.read_from(after_seq, 1_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after_seq = last.seq;
        for stored in page {
            let who = identity(&stored.data);
            assert_eq!(acknowledged.get(&stored.seq), Some(&who));
            assert!(seen.insert(who), "{who:?} stored twice");
        }
    }
    assert_eq!(seen.len() as u64, total);

    let stats = writer.stats();
    assert_eq!(stats.events_written, total);
    assert_eq!(stats.batches_failed, 0);
    // Group commit: 64 producers waiting at once share transactions.
    assert!(stats.batches_written < total / 4, "{stats:?}");
    writer.shutdown().await;
}

#[tokio::test]
async fn try_append_answers_full_when_the_channel_is_full() {
    let (_directory, path, log) = open_temp().await;
    let writer = EventWriter::spawn(
        log,
        WriterConfig {
            channel_capacity: 2,
            max_batch_events: 16,
        },
    )
    .unwrap();
    // The writer task cannot run before all three have tried to send: two fill the channel.
    let (first, second, third) = tokio::join!(
        writer.try_append(event(0, 0)),
        writer.try_append(event(0, 1)),
        writer.try_append(event(0, 2)),
    );
    assert_eq!(first.unwrap(), 1);
    assert_eq!(second.unwrap(), 2);
    assert!(matches!(third, Err(StoreError::Full)), "{third:?}");
    assert_eq!(count_rows(&path).await, 2);
    // Room again once the writer has drained the channel.
    assert_eq!(writer.try_append(event(0, 3)).await.unwrap(), 3);
}

#[tokio::test]
async fn a_failed_write_reaches_every_producer_of_the_batch_and_writes_nothing() {
    let (_directory, path, log) = open_temp().await;
    // A trigger outside the store makes any batch holding a poisoned event fail in the
    // database, after it passed every check of the store.
    let mut connection = raw_connection(&path).await;
    sqlx::query(
        "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.kind = 'test.poison' \
         BEGIN SELECT RAISE(ABORT, 'poisoned event'); END",
    )
    .execute(&mut connection)
    .await
    .unwrap();

    let writer = EventWriter::spawn(log, WriterConfig::default()).unwrap();
    let (good, poisoned, other_good, batch) = tokio::join!(
        writer.append(event(0, 0)),
        writer.append(NewEvent::new(0, "test.poison")),
        writer.append(event(0, 1)),
        writer.append_batch(vec![event(1, 0), event(1, 1)]),
    );
    for result in [good, poisoned, other_good] {
        let error = result.unwrap_err();
        assert!(matches!(error, StoreError::Database(_)), "{error:?}");
        assert!(error.to_string().contains("poisoned event"), "{error}");
    }
    assert!(matches!(batch, Err(StoreError::Database(_))), "{batch:?}");
    assert_eq!(count_rows(&path).await, 0);
    assert_eq!(writer.stats().batches_failed, 1);

    // The writer goes on with the next batch.
    assert_eq!(writer.append(event(0, 2)).await.unwrap(), 1);
}

#[tokio::test]
async fn an_invalid_event_is_refused_to_its_producer_alone() {
    let (_directory, path, log) = open_temp().await;
    let writer = EventWriter::spawn(log, WriterConfig::default()).unwrap();
    let (good, bad, batch_with_bad) = tokio::join!(
        writer.append(event(0, 0)),
        writer.append(NewEvent::new(0, "Not A Kind")),
        writer.append_batch(vec![event(1, 0), NewEvent::new(-5, "contact.queued")]),
    );
    assert_eq!(good.unwrap(), 1);
    assert!(matches!(
        bad,
        Err(StoreError::InvalidEvent { index: 0, .. })
    ));
    assert!(matches!(
        batch_with_bad,
        Err(StoreError::InvalidEvent { index: 1, .. })
    ));
    assert_eq!(count_rows(&path).await, 1);
}

#[tokio::test]
async fn a_batch_gets_contiguous_seqs_and_is_never_split() {
    let (_directory, path, log) = open_temp().await;
    let writer = EventWriter::spawn(
        log,
        WriterConfig {
            channel_capacity: 8,
            max_batch_events: 4,
        },
    )
    .unwrap();
    let three: Vec<NewEvent> = (0..3).map(|i| event(1, i)).collect();
    let four: Vec<NewEvent> = (0..4).map(|i| event(2, i)).collect();
    let (single, first_batch, second_batch) = tokio::join!(
        writer.append(event(0, 0)),
        writer.append_batch(three),
        writer.append_batch(four),
    );
    assert_eq!(single.unwrap(), 1);
    let first_batch = first_batch.unwrap();
    assert_eq!((first_batch.first_seq, first_batch.last_seq), (2, 4));
    let second_batch = second_batch.unwrap();
    assert_eq!((second_batch.first_seq, second_batch.last_seq), (5, 8));
    // 1 + 3 filled the first transaction; the batch of 4 waited for the next one whole.
    assert_eq!(writer.stats().batches_written, 2);
    assert_eq!(count_rows(&path).await, 8);

    let too_big: Vec<NewEvent> = (0..5).map(|i| event(3, i)).collect();
    assert!(matches!(
        writer.append_batch(too_big).await,
        Err(StoreError::TooManyEvents { count: 5, max: 4 })
    ));
    assert!(matches!(
        writer.append_batch(Vec::new()).await,
        Err(StoreError::EmptyAppend)
    ));
}

#[tokio::test]
async fn shutdown_writes_everything_sent_before_it_and_refuses_what_comes_after() {
    let (_directory, path, log) = open_temp().await;
    let writer = EventWriter::spawn(log.clone(), WriterConfig::default()).unwrap();
    let other_handle = writer.clone();
    let (first, second, batch, ()) = tokio::join!(
        writer.append(event(0, 0)),
        other_handle.append(event(0, 1)),
        writer.append_batch(vec![event(1, 0), event(1, 1)]),
        writer.shutdown(),
    );
    assert_eq!(first.unwrap(), 1);
    assert_eq!(second.unwrap(), 2);
    assert_eq!(batch.unwrap().last_seq, 4);
    assert_eq!(count_rows(&path).await, 4);

    assert!(matches!(
        other_handle.append(event(0, 2)).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        writer.try_append(event(0, 3)).await,
        Err(StoreError::Closed)
    ));
    // A second shutdown returns at once.
    other_handle.shutdown().await;
    // The log itself is still usable.
    assert_eq!(log.last_seq().await.unwrap(), 4);
}

#[tokio::test]
async fn the_writer_config_is_bounded() {
    let log = hotline_store::SqliteEventLog::open_in_memory()
        .await
        .unwrap();
    for config in [
        WriterConfig {
            channel_capacity: 0,
            ..WriterConfig::default()
        },
        WriterConfig {
            channel_capacity: MAX_CHANNEL_CAPACITY + 1,
            ..WriterConfig::default()
        },
        WriterConfig {
            max_batch_events: 0,
            ..WriterConfig::default()
        },
        WriterConfig {
            max_batch_events: MAX_EVENTS_PER_APPEND + 1,
            ..WriterConfig::default()
        },
    ] {
        assert!(matches!(
            EventWriter::spawn(log.clone(), config),
            Err(StoreError::InvalidConfig(_))
        ));
    }
    let writer = EventWriter::spawn(log.clone(), WriterConfig::default()).unwrap();
    assert_eq!(writer.append(event(0, 0)).await.unwrap(), 1);
    writer.shutdown().await;
    assert_eq!(log.last_seq().await.unwrap(), 1);
}
