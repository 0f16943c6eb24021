//! The dialer benchmark: a million tasks (or any number) loaded from a seed, then the time to
//! choose the next task to dial and to report its outcome.
//!
//! [`bench_dialer`] is for `hotline bench dialer`; `cargo run --release -p hotline-dialer
//! --example bench_dialer -- 1000000` runs it alone. The tasks are drawn from a seeded
//! SplitMix64: 10 % VIP (class 1) and 1 % class 2, value scores 0 to 9,999, 80 % ASAP and 20 %
//! with a window starting up to two days later and lasting 14 to 22 hours; about 5 % (6 % of
//! the ASAP ones) with contact hours (one calendar shared by all of them: weekdays
//! 09:00-12:00 and 14:00-18:00); 3 % Hong Kong numbers under a region of their own (09:00-20:00,
//! closed on Sundays). Every task drawn can be scheduled. The clock starts on Monday 2026-09-28
//! at 10:00 in Shanghai and moves 10 ms per poll, so tasks whose windows open meanwhile move
//! from the timer to the ready set during the run. A second pass adds the same tasks
//! overnight (Sunday 22:00) and times the first poll at 08:00, when most of them fall due at
//! once: the worst single poll of a day.
//!
//! Memory is reported two ways: the growth of the process's resident set while the tasks are
//! loaded, read from `/proc/self/statm` (Linux only; this module is the one place in the
//! crate that reads a file, and only to measure), and [`Dialer::estimated_bytes`], computed
//! from the sizes of the structures.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_calendar::{Calendar, CalendarSpec, WeeklySpec};

use crate::{
    CustomerKey, Dialer, DialerConfig, DialerRules, NewTask, Outcome, RegionSpec, RequestedWindow,
    MAX_TASKS,
};

/// The most polls [`bench_dialer`] times.
pub const BENCH_MAX_POLLS: usize = 10_000_000;

/// Monday 2026-09-28 10:00 in Shanghai, where the benchmark's clock starts.
pub const BENCH_START_MS: u64 = 1_790_560_800_000;

/// Sunday 2026-09-27 22:00 in Shanghai, when the overnight requests of the morning burst
/// come in.
const BENCH_NIGHT_MS: u64 = BENCH_START_MS - 12 * 3_600_000;

/// Monday 2026-09-28 08:00 in Shanghai, when the legal hours open on the overnight requests.
const BENCH_MORNING_MS: u64 = BENCH_START_MS - 2 * 3_600_000;

/// How far the benchmark's clock moves between polls.
const POLL_STEP_MS: u64 = 10;

/// The size of a page of memory assumed when reading `/proc/self/statm`.
const PAGE_BYTES: u64 = 4096;

/// What [`bench_dialer`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Tasks accepted.
    pub tasks: usize,
    /// Time to add them all.
    pub load: Duration,
    /// Polls timed (each `poll_due(now, 1)` and, when it handed a task out, its
    /// `outcome(.., Connected)`).
    pub polls: usize,
    /// Polls that handed a task out.
    pub dials: usize,
    /// `poll_due(now, 1)` alone: median, 99th percentile and slowest, nanoseconds.
    pub poll_ns: [u64; 3],
    /// `poll_due(now, 1)` plus `outcome(.., Connected)` plus draining the events: median,
    /// 99th percentile and slowest, nanoseconds.
    pub cycle_ns: [u64; 3],
    /// The morning burst: the same tasks added overnight, the first `poll_due(08:00, 1)`,
    /// which moves all the tasks due at the opening from the timer to the ready set.
    pub morning_first_poll: Duration,
    /// Growth of the resident set while loading, per task accepted, in bytes; `None` where
    /// `/proc/self/statm` cannot be read.
    pub resident_bytes_per_task: Option<u64>,
    /// [`Dialer::estimated_bytes`] per task after loading.
    pub estimated_bytes_per_task: u64,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = |ns: u64| ns as f64 / 1e3;
        writeln!(
            f,
            "dialer: {} tasks, {} polls, {} dials",
            self.tasks, self.polls, self.dials
        )?;
        writeln!(
            f,
            "  load             {:.2} s ({:.2} µs per add)",
            self.load.as_secs_f64(),
            self.load.as_secs_f64() * 1e6 / self.tasks.max(1) as f64
        )?;
        writeln!(
            f,
            "  next task        p50 {:.2} µs, p99 {:.2} µs, max {:.1} µs",
            us(self.poll_ns[0]),
            us(self.poll_ns[1]),
            us(self.poll_ns[2])
        )?;
        writeln!(
            f,
            "  poll + outcome   p50 {:.2} µs, p99 {:.2} µs, max {:.1} µs",
            us(self.cycle_ns[0]),
            us(self.cycle_ns[1]),
            us(self.cycle_ns[2])
        )?;
        writeln!(
            f,
            "  morning burst    first poll at 08:00 {:.1} ms (all overnight tasks fall due)",
            self.morning_first_poll.as_secs_f64() * 1e3
        )?;
        match self.resident_bytes_per_task {
            Some(bytes) => writeln!(f, "  resident growth  {bytes} bytes per task")?,
            None => writeln!(f, "  resident growth  not available")?,
        }
        write!(
            f,
            "  estimated        {} bytes per task",
            self.estimated_bytes_per_task
        )
    }
}

/// Loads `tasks` tasks (at most [`MAX_TASKS`]) drawn from `seed`, then runs `polls` polls (at
/// most [`BENCH_MAX_POLLS`]) of one task each, answering each dial with `Connected`, and
/// reports the latencies and the memory per task.
pub fn bench_dialer(tasks: usize, polls: usize, seed: u64) -> BenchReport {
    let tasks = tasks.min(MAX_TASKS);
    let polls = polls.min(BENCH_MAX_POLLS);
    let mut random = SplitMix64(seed);
    let rules = bench_rules();
    let contact_hours = Arc::new(contact_hours());

    let resident_before = resident_bytes();
    let mut dialer = Dialer::new(rules);
    let started = Instant::now();
    for index in 0..tasks {
        let task = random_task(&mut random, index as u64, &contact_hours);
        // Every task drawn can be scheduled; one that could not would only be left out.
        let _ = dialer.add(BENCH_START_MS, task);
    }
    let load = started.elapsed();
    let resident_after = resident_bytes();
    let accepted = dialer.len();
    while dialer.poll_event().is_some() {}
    let per_task = |bytes: u64| bytes / accepted.max(1) as u64;
    let resident_bytes_per_task = match (resident_before, resident_after) {
        (Some(before), Some(after)) => Some(per_task(after.saturating_sub(before))),
        _ => None,
    };
    let estimated_bytes_per_task = per_task(dialer.estimated_bytes() as u64);

    let mut poll_ns = Vec::with_capacity(polls);
    let mut cycle_ns = Vec::with_capacity(polls);
    let mut dials = 0;
    for step in 0..polls as u64 {
        let now_ms = BENCH_START_MS + step * POLL_STEP_MS;
        let started = Instant::now();
        let orders = dialer.poll_due(now_ms, 1);
        let polled = started.elapsed();
        for order in orders {
            dials += 1;
            // The order was just handed out, so the outcome is accepted.
            let _ = dialer.outcome(now_ms, order.task, order.attempt, Outcome::Connected);
        }
        while dialer.poll_event().is_some() {}
        let cycled = started.elapsed();
        poll_ns.push(nanos(polled));
        cycle_ns.push(nanos(cycled));
    }
    drop(dialer);

    // The same tasks requested overnight, all due when the legal hours open at 08:00: the
    // first poll then moves every one of them from the timer to the ready set.
    let mut random = SplitMix64(seed);
    let mut dialer = Dialer::new(bench_rules());
    for index in 0..tasks {
        let task = random_task(&mut random, index as u64, &contact_hours);
        let _ = dialer.add(BENCH_NIGHT_MS, task);
    }
    let started = Instant::now();
    let orders = dialer.poll_due(BENCH_MORNING_MS, 1);
    let morning_first_poll = started.elapsed();
    debug_assert!(orders.len() <= 1);

    BenchReport {
        tasks: accepted,
        morning_first_poll,
        load,
        polls,
        dials,
        poll_ns: percentiles(poll_ns),
        cycle_ns: percentiles(cycle_ns),
        resident_bytes_per_task,
        estimated_bytes_per_task,
    }
}

/// The default rules with a Hong Kong region.
fn bench_rules() -> DialerRules {
    let hours = || Some("09:00-20:00".to_owned());
    let config = DialerConfig {
        regions: vec![RegionSpec {
            prefix: "+852".to_owned(),
            legal_hours: CalendarSpec {
                name: "hong_kong".to_owned(),
                time_zone: Some("Asia/Hong_Kong".to_owned()),
                weekly: WeeklySpec {
                    mon: hours(),
                    tue: hours(),
                    wed: hours(),
                    thu: hours(),
                    fri: hours(),
                    sat: hours(),
                    sun: None,
                },
                holidays: Vec::new(),
                workdays: Vec::new(),
            },
        }],
        ..DialerConfig::default()
    };
    // The configuration above is valid; were it not, the defaults still measure the core.
    DialerRules::from_config(&config).unwrap_or_default()
}

/// The contact hours the benchmark's customers with a preference share.
fn contact_hours() -> Calendar {
    let hours = || Some("09:00-12:00,14:00-18:00".to_owned());
    let spec = CalendarSpec {
        name: "office_hours".to_owned(),
        time_zone: None,
        weekly: WeeklySpec {
            mon: hours(),
            tue: hours(),
            wed: hours(),
            thu: hours(),
            fri: hours(),
            sat: None,
            sun: None,
        },
        holidays: Vec::new(),
        workdays: Vec::new(),
    };
    Calendar::from_spec(&spec).unwrap_or_else(|_| Calendar::always_open())
}

/// The reasons the benchmark's tasks are for.
const REASONS: [&str; 4] = ["web_form", "wechat", "after_sales", "follow_up"];

fn random_task(random: &mut SplitMix64, index: u64, contact_hours: &Arc<Calendar>) -> NewTask {
    let class_draw = random.below(100);
    let priority_class = match class_draw {
        0 => 2,
        1..=10 => 1,
        _ => 0,
    };
    let number = if random.below(100) < 3 {
        format!("+8529{:07}", random.below(10_000_000))
    } else {
        format!("+861{:010}", 3_000_000_000 + random.below(6_000_000_000))
    };
    let (window, contact_hours) = if random.below(100) < 80 {
        let contact_hours = (random.below(100) < 6).then(|| Arc::clone(contact_hours));
        (RequestedWindow::Asap, contact_hours)
    } else {
        // At least 14 hours long, so that it meets the legal hours (closed 11 or 13 hours a day).
        let start_ms = BENCH_START_MS + random.below(48 * 3_600_000);
        let end_ms = start_ms + 3_600_000 * (14 + random.below(9));
        (RequestedWindow::Between { start_ms, end_ms }, None)
    };
    NewTask {
        customer: CustomerKey(index),
        reason: REASONS[(random.below(REASONS.len() as u64)) as usize].to_owned(),
        number,
        priority_class,
        value_score: random.below(10_000) as u32,
        window,
        contact_hours,
    }
}

/// The resident set of this process in bytes, from `/proc/self/statm`; `None` where it cannot
/// be read.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * PAGE_BYTES)
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Median, 99th percentile and largest of `samples`.
fn percentiles(mut samples: Vec<u64>) -> [u64; 3] {
    samples.sort_unstable();
    let at = |share: f64| -> u64 {
        if samples.is_empty() {
            return 0;
        }
        let index = ((samples.len() - 1) as f64 * share).round() as usize;
        samples[index.min(samples.len() - 1)]
    };
    [at(0.50), at(0.99), samples.last().copied().unwrap_or(0)]
}

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny seeded generator, good enough to draw a
/// workload.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (above zero); the tiny bias of the modulo does not matter here.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_dials_what_it_loads() {
        let report = bench_dialer(2_000, 3_000, 7);
        assert_eq!(report.tasks, 2_000);
        assert_eq!(report.polls, 3_000);
        // 80 % of the tasks are ASAP and due at once; the rest open later.
        assert!(report.dials >= 1_500, "{report}");
        assert!(report.estimated_bytes_per_task > 100, "{report}");
        assert!(report.poll_ns[0] <= report.poll_ns[1]);
    }
}
