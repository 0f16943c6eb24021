//! The screen-pop benchmark (`hotline bench screenpop`): a records database with many
//! customers and interactions, then screen pops for random callers, timed one by one.

use std::path::Path;
use std::time::Instant;

use hotline_phone::{normalize, NumberContext};

use crate::crypto::Keyring;
use crate::error::StoreError;
use crate::records_db::builder::Sql;
use crate::records_db::{Records, NAME_FIELD, PHONE_FIELD, PHONE_INDEX, SUMMARY_FIELD};

/// What the benchmark builds and measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PopBenchConfig {
    /// Customers loaded (each with one mobile number, one in four with a second).
    pub customers: u64,
    /// Interactions loaded, spread over the customers at random (one in five with a sealed
    /// summary).
    pub interactions: u64,
    /// Screen pops timed; one in ten is for an unknown number.
    pub lookups: u64,
    /// The seed of the random choices.
    pub seed: u64,
}

/// What the benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct PopBenchReport {
    /// Seconds to load the customers and interactions (sealing included).
    pub load_seconds: f64,
    /// The database's size on disk, in bytes.
    pub file_bytes: u64,
    /// Screen pops timed.
    pub lookups: u64,
    /// Of those, how many found a customer.
    pub matched: u64,
    /// Interactions shown, over all pops.
    pub interactions_shown: u64,
    /// Microseconds per screen pop: median, 99th percentile, largest.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

/// The rows one INSERT statement carries while loading.
const LOAD_ROWS_PER_STATEMENT: usize = 500;
/// The rows one load transaction carries.
const LOAD_ROWS_PER_TRANSACTION: u64 = 50_000;
/// The largest database the benchmark builds.
pub const MAX_BENCH_CUSTOMERS: u64 = 100_000_000;

/// A small, fast, seeded generator (SplitMix64): the benchmark's only randomness.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The mobile number of customer `i` (and a second one for `second`).
fn mobile(i: u64, second: bool) -> String {
    let prefix = if second { 15 } else { 13 };
    format!("+86{prefix}{i:09}")
}

/// Builds a new records database at `path` (which should not exist) and times screen pops.
pub async fn bench_screen_pop(
    path: impl AsRef<Path>,
    keyring: Keyring,
    config: PopBenchConfig,
) -> Result<PopBenchReport, StoreError> {
    if config.customers == 0 || config.customers > MAX_BENCH_CUSTOMERS {
        return Err(StoreError::InvalidConfig(
            "customers must be 1 to MAX_BENCH_CUSTOMERS",
        ));
    }
    let path = path.as_ref();
    let records = Records::open(path, keyring).await?;
    let keyring = records.keyring().clone();
    let mut random = SplitMix(config.seed);
    let started = Instant::now();

    // Customers and their phones.
    let mut first = 0;
    while first < config.customers {
        let last = (first + LOAD_ROWS_PER_TRANSACTION).min(config.customers);
        let mut tx = records.write_pool().begin().await?;
        for chunk_start in (first..last).step_by(LOAD_ROWS_PER_STATEMENT) {
            let chunk_end = (chunk_start + LOAD_ROWS_PER_STATEMENT as u64).min(last);
            let mut insert = Sql::new(
                records.backend(),
                "INSERT INTO customers (id, external_id, name_sealed, level, value_score, tags, \
                 preferences, consent, do_not_call, created_ms, updated_ms, version) ",
            );
            let mut rows = Vec::new();
            for i in chunk_start..chunk_end {
                let name = keyring.seal_str(NAME_FIELD, &format!("客户{i}"))?;
                rows.push((i, name));
            }
            insert.push_values(&rows, |row, (i, name)| {
                row.push_bind(*i as i64 + 1)
                    .push_bind(format!("CRM-{i}"))
                    .push_bind(name.clone())
                    .push_bind(if i % 20 == 0 { "vip" } else { "standard" })
                    .push_bind((*i % 1000) as i64)
                    .push_bind(r#"["billing","repair"]"#)
                    .push_bind(r#"{"language":"zh-CN"}"#)
                    .push_bind(1i64)
                    .push_bind(0i64)
                    .push_bind(0i64)
                    .push_bind(0i64)
                    .push_bind(1i64);
            });
            insert.build()?.execute(&mut *tx).await?;
            let mut phones = Sql::new(
                records.backend(),
                "INSERT INTO customer_phones (customer_id, position, number_sealed, \
                 number_index, label) ",
            );
            let mut phone_rows = Vec::new();
            for i in chunk_start..chunk_end {
                for (position, second) in [(0, false), (1, true)] {
                    if second && i % 4 != 0 {
                        continue;
                    }
                    let number = mobile(i, second);
                    phone_rows.push((
                        i as i64 + 1,
                        position,
                        keyring.seal_str(PHONE_FIELD, &number)?,
                        keyring.blind_index(PHONE_INDEX, &number),
                    ));
                }
            }
            phones.push_values(&phone_rows, |row, (id, position, sealed, index)| {
                row.push_bind(*id)
                    .push_bind(*position as i64)
                    .push_bind(sealed.clone())
                    .push_bind(index.to_vec())
                    .push_bind(None::<String>);
            });
            phones.build()?.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        first = last;
    }

    // Interactions, at random customers, in time order.
    let mut first = 0;
    while first < config.interactions {
        let last = (first + LOAD_ROWS_PER_TRANSACTION).min(config.interactions);
        let mut tx = records.write_pool().begin().await?;
        for chunk_start in (first..last).step_by(LOAD_ROWS_PER_STATEMENT) {
            let chunk_end = (chunk_start + LOAD_ROWS_PER_STATEMENT as u64).min(last);
            let mut rows = Vec::new();
            for j in chunk_start..chunk_end {
                let customer = random.below(config.customers) as i64 + 1;
                let summary = if j % 5 == 0 {
                    Some(keyring.seal_str(SUMMARY_FIELD, "客户反映洗衣机漏水，已预约上门维修")?)
                } else {
                    None
                };
                rows.push((j as i64, customer, summary));
            }
            let mut insert = Sql::new(
                records.backend(),
                "INSERT INTO interactions (customer_id, at_ms, kind, channel, agent, queue, \
                 contact_id, disposition, duration_ms, summary_sealed) ",
            );
            insert.push_values(&rows, |row, (j, customer, summary)| {
                row.push_bind(*customer)
                    .push_bind(1_700_000_000_000 + j * 1_000)
                    .push_bind("inbound_call")
                    .push_bind("phone")
                    .push_bind(format!("agent-{}", j % 200))
                    .push_bind("售后服务")
                    .push_bind(*j)
                    .push_bind("resolved")
                    .push_bind(180_000i64)
                    .push_bind(summary.clone());
            });
            insert.build()?.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        first = last;
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(records.write_pool())
        .await?;
    let load_seconds = started.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);

    let context = NumberContext::default();
    let mut times = Vec::with_capacity(config.lookups as usize);
    let (mut matched, mut interactions_shown) = (0, 0);
    for k in 0..config.lookups {
        let text = if k % 10 == 9 {
            // Nobody has a 18x number here.
            format!("+8618{:09}", random.below(1_000_000_000))
        } else {
            mobile(random.below(config.customers), false)
        };
        let number = normalize(&text, &context)
            .map_err(|e| StoreError::Invariant(format!("benchmark number {text}: {e}")))?;
        let started = Instant::now();
        let pop = records.screen_pop(&number).await?;
        times.push(started.elapsed().as_secs_f64() * 1e6);
        if !pop.cards.is_empty() {
            matched += 1;
        }
        interactions_shown += pop.cards.iter().map(|c| c.recent.len() as u64).sum::<u64>();
    }
    records.close().await;
    times.sort_by(f64::total_cmp);
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Ok(PopBenchReport {
        load_seconds,
        file_bytes,
        lookups: config.lookups,
        matched,
        interactions_shown,
        p50_us: at(0.50),
        p99_us: at(0.99),
        max_us: times.last().copied().unwrap_or(0.0),
    })
}
