//! `hotline bench wall`: what one open wall costs with a large center live. A synthetic
//! center of `agents` agents over `queues` queues runs for `seconds` of its own time: callers
//! arrive so that agents are about 85 % busy, wait, are offered, talk (log-normal-ish, mean
//! 3 min) and wrap up (30 s), and every agent state change and queue change is a routing event
//! fed to the wall's projection in time order. Every [`WALL_PUSH_EVERY`] of that time the
//! wall is reported and compared with the previous report, as the stream does: the bytes of
//! the `changes` events per second are the figure (target ≤ 50 KB/s per open wall), with the
//! time each report and comparison takes (it bounds the lag with the 250 ms tail and the
//! 500 ms push: target ≤ 1 s).
//!
//! Then the pages' first load over loopback: the wall page, its stylesheet and scripts, and
//! the stream's first `wall` event, fetched by an HTTP client from the real router; target
//! ≤ 300 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_routing::{
    AgentId, AgentState, ContactId, ContactKind, Event, Outcome, QueueId, RoutingConfig, Time,
};
use hotline_store::StoredEvent;

use crate::api::callbacks::WALL_PUSH_EVERY;
use crate::log_tail::Projected;
use crate::wall::{Wall, WallMetrics};

/// The most agents and queues the benchmark builds.
pub const MAX_BENCH_AGENTS: u32 = 5_000;

/// What the benchmark measured.
#[derive(Debug)]
pub struct WallBenchReport {
    /// Agents and queues of the synthetic center.
    pub agents: u32,
    /// Queues.
    pub queues: u32,
    /// Simulated seconds.
    pub seconds: u64,
    /// Routing events fed.
    pub events: u64,
    /// The first `wall` event's size in bytes.
    pub first_bytes: usize,
    /// `changes` bytes per second of center time, on average and in the busiest second.
    pub bytes_per_second: f64,
    /// The busiest second's bytes.
    pub busiest_second_bytes: usize,
    /// Time to report and compare once: median and worst.
    pub push_p50: Duration,
    /// Worst.
    pub push_max: Duration,
    /// The charts' answer (8 hours of the whole center): its size in bytes, and the time to
    /// make it (the page asks at most every 5 s, and every 15 s when nothing moves).
    pub history_bytes: usize,
    /// Time to make it.
    pub history_time: Duration,
    /// The first load of the wall (page, assets, first event), median and worst of the
    /// tries.
    pub load_p50: Duration,
    /// Worst.
    pub load_max: Duration,
}

/// A small generator (seeded), so the figures repeat.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An exponential draw of mean `mean_ms`.
    fn exp(&mut self, mean_ms: f64) -> u64 {
        (-(1.0 - self.unit()).ln() * mean_ms) as u64
    }
}

fn routing(agents: u32, queues: u32) -> RoutingConfig {
    let mut text = String::from("[routing]\n");
    for q in 0..queues {
        text.push_str(&format!("[[routing.queues]]\nname = \"queue-{q:02}\"\n"));
    }
    for a in 0..agents {
        let first = a % queues;
        let second = (a + 1) % queues;
        text.push_str(&format!(
            "[[routing.agents]]\nname = \"agent-{a:04}\"\nqueues = [\"queue-{first:02}\", \"queue-{second:02}\"]\n"
        ));
    }
    hotline_config::parse_routing("bench.toml", &text).expect("the bench's routing is valid")
}

/// The synthetic center's events in time order: (at_ms, event).
fn center_events(agents: u32, queues: u32, seconds: u64, seed: u64) -> Vec<(u64, Event)> {
    const TALK_MS: f64 = 180_000.0;
    const WRAP_MS: u64 = 30_000;
    let mut rng = Rng(seed);
    let mut events = Vec::new();
    let state = |agent: u32, state| Event::AgentStateChanged {
        agent: AgentId(agent),
        state,
    };
    for a in 0..agents {
        events.push((0, state(a, AgentState::Ready)));
    }
    // Each agent in turn: a caller of one of its queues waits a little, is offered, talks,
    // wraps up; the next follows after an idle gap that keeps the agent about 85 % busy.
    let mut contact = 1u64;
    for a in 0..agents {
        let mut t = rng.exp(20_000.0);
        while t < seconds * 1_000 {
            let queue = QueueId((a + (contact as u32 & 1)) % queues);
            let id = ContactId(contact);
            contact += 1;
            let arrive = t.saturating_sub(rng.exp(8_000.0));
            events.push((
                arrive,
                Event::ContactQueued {
                    contact: id,
                    queue,
                    kind: ContactKind::Call,
                    enqueued_at: Time::from_millis(arrive),
                },
            ));
            events.push((t, state(a, AgentState::Reserved)));
            let answer = t + 3_000;
            events.push((answer, state(a, AgentState::OnContact)));
            events.push((
                answer,
                Event::ContactEnded {
                    contact: id,
                    queue,
                    kind: ContactKind::Call,
                    outcome: Outcome::Answered,
                    waited: Duration::from_millis(answer - arrive),
                    agent: Some(AgentId(a)),
                },
            ));
            let hang_up = answer + rng.exp(TALK_MS).max(10_000);
            events.push((hang_up, state(a, AgentState::WrapUp)));
            let ready = hang_up + WRAP_MS;
            events.push((ready, state(a, AgentState::Ready)));
            t = ready + rng.exp(40_000.0);
        }
    }
    events.sort_by_key(|(at, _)| *at);
    events
}

fn stored(seq: i64, routing: &RoutingConfig, at_ms: u64, event: &Event) -> StoredEvent {
    let new = hotline_store::routing_log::encode(routing, Time::from_millis(at_ms), event);
    StoredEvent {
        seq,
        at_ms: new.at_ms,
        kind: new.kind,
        contact_id: new.contact_id,
        agent: new.agent,
        queue: new.queue,
        data: new.data,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Runs the benchmark (see the module's documentation).
pub async fn run(agents: u32, queues: u32, seconds: u64, loads: u32) -> WallBenchReport {
    let agents = agents.clamp(1, MAX_BENCH_AGENTS);
    let queues = queues.clamp(1, agents);
    let routing = Arc::new(routing(agents, queues));
    // The center's clock starts at a midnight so "today" covers the run.
    let origin: u64 = 1_796_486_400_000;
    let events = center_events(agents, queues, seconds, 7);
    let mut wall = Wall::new(routing.clone(), origin as i64);
    let step = WALL_PUSH_EVERY.as_millis() as u64;
    let mut next = 0usize;
    let mut previous = wall.report(origin as i64, origin as i64);
    let first_bytes = serde_json::to_string(&previous).unwrap_or_default().len();
    let mut per_second = vec![0usize; seconds as usize + 1];
    let mut timings = Vec::new();
    let mut t = step;
    while t <= seconds * 1_000 {
        while next < events.len() && events[next].0 <= t {
            let (at, event) = &events[next];
            wall.apply(&stored(next as i64 + 1, &routing, origin + at, event));
            next += 1;
        }
        let started = Instant::now();
        let now = wall.report((origin + t) as i64, origin as i64);
        let changes = crate::wall::changes(&previous, &now);
        let bytes = changes.map_or(0, |c| {
            c.to_string().len() + "event: changes\ndata: \n\n".len()
        });
        timings.push(started.elapsed());
        per_second[(t / 1_000) as usize] += bytes;
        previous = now;
        t += step;
    }
    timings.sort();
    let total: usize = per_second.iter().sum();
    let now_ms = (origin + seconds * 1_000) as i64;
    let started = Instant::now();
    let history = wall.history(now_ms, now_ms - 8 * 3_600_000 + 1, None);
    let history_time = started.elapsed();
    let history_bytes = serde_json::to_string(&history).unwrap_or_default().len();
    let (load_p50, load_max) = first_loads(wall, loads).await;
    WallBenchReport {
        agents,
        queues,
        seconds,
        events: events.len() as u64,
        first_bytes,
        bytes_per_second: total as f64 / seconds.max(1) as f64,
        busiest_second_bytes: per_second.iter().copied().max().unwrap_or(0),
        push_p50: percentile(&timings, 0.5),
        push_max: timings.last().copied().unwrap_or_default(),
        history_bytes,
        history_time,
        load_p50,
        load_max,
    }
}

/// The wall's first load, `loads` times: the page, its three files, and the stream's first
/// event, through the real router on loopback with a supervisor's key.
async fn first_loads(wall: Wall, loads: u32) -> (Duration, Duration) {
    let records =
        hotline_store::testing::records(hotline_store::Keyring::generate().expect("a keyring"))
            .await
            .expect("records in memory");
    let (_, key) = records
        .create_api_key("bench", hotline_store::Role::Supervisor, 0, "bench")
        .await
        .expect("a key");
    let state = crate::api::ApiState {
        wall: Some((
            WallMetrics::new(wall),
            Arc::new(hotline_calendar::Calendar::always_open()),
        )),
        ..crate::api::ApiState::new(records)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("its address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::api::serve(
        listener,
        crate::api::router(state),
        async move {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for _ in 0..loads.max(1) {
        let started = Instant::now();
        for path in [
            "/wall",
            "/assets/hotline.css",
            "/assets/common.js",
            "/assets/wall.js",
        ] {
            let body = client
                .get(format!("http://{address}{path}"))
                .send()
                .await
                .and_then(|r| r.error_for_status());
            let _ = body.expect("the page loads").bytes().await;
        }
        let mut stream = client
            .get(format!("http://{address}/api/v1/metrics/wall/stream"))
            .bearer_auth(&key)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("the stream opens");
        let mut seen = Vec::new();
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.extend_from_slice(&chunk);
            if seen.windows(2).any(|w| w == b"\n\n") {
                break;
            }
        }
        times.push(started.elapsed());
    }
    let _ = stop.send(());
    let _ = server.await;
    times.sort();
    (
        percentile(&times, 0.5),
        times.last().copied().unwrap_or_default(),
    )
}
