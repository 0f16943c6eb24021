//! `hotline bench`: the speed figures recorded in BENCHMARKS.md. Run with `--release`.
//!
//! - `routing`: routing decisions with 10,000 agents, 200 skills and 50,000 waiting contacts;
//! - `sim`: a simulated day of a 1,000-agent center (wall time and peak memory);
//! - `eventlog`: events appended to SQLite per second, durable on commit;
//! - `sip`: SIP messages parsed and printed per second;
//! - `outbound`: trigger → first dial of callback requests under load;
//! - `media`: concurrent anchored calls with RTP flowing through a `hotline serve` child
//!   process (loss, transit, added jitter, memory and CPU per call).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use hotline_routing::*;

/// Arguments of `hotline bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: Which,
}

/// Which benchmark.
#[derive(clap::Subcommand, Debug)]
pub enum Which {
    /// Routing decisions in a large center.
    Routing {
        /// Agents (at least 10 per queue, so every queue is served).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
        agents: u32,
        /// Skills.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..=4_095))]
        skills: u16,
        /// Queues.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        queues: u32,
        /// Contacts kept waiting during the measurement.
        #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
        waiting: u32,
        /// Measured decisions of each kind.
        #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u32).range(1..))]
        decisions: u32,
    },
    /// A simulated day from a scenario file.
    Sim {
        /// The scenario.
        #[arg(default_value = "examples/center-1000-agents.toml")]
        scenario: PathBuf,
    },
    /// Parses and prints SIP messages (an INVITE with SDP, and a message with many oddities).
    Sip {
        /// Messages parsed per sample message.
        #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u32).range(1..))]
        messages: u32,
    },
    /// Concurrent anchored G.711 calls with RTP both ways through `hotline serve` (a child
    /// process, so its memory and CPU are its own).
    Media {
        /// Calls held at once (one agent each).
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=5_000))]
        calls: u32,
        /// Seconds of RTP once every call is up.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
        seconds: u64,
        /// Calls placed per second while setting up.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=2_000))]
        rate: u32,
        /// Read one receiving RTP socket in this many (1: all); see BENCHMARKS.md.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000))]
        read_every: u32,
    },
    /// Screen pops (who is calling) in a records database of many customers and
    /// interactions, built first in a temporary directory (sealing included).
    Screenpop {
        /// Customers.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=hotline_store::MAX_BENCH_CUSTOMERS))]
        customers: u64,
        /// Interactions, spread over the customers.
        #[arg(long, default_value_t = 10_000_000)]
        interactions: u64,
        /// Screen pops timed.
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        lookups: u64,
        /// Where to build the database (a temporary directory when left out; removed after).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Callback scheduling: tasks held by the dialer's core, and the time to choose the next
    /// one to dial (hand-out, outcome, events), one by one.
    Dialer {
        /// Tasks loaded.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=2_000_000))]
        tasks: u64,
        /// Hand-outs timed.
        #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        polls: u64,
        /// Seeds the tasks.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Predictive pacing in the simulator: progressive, the VICIdial-style baseline and the
    /// model-based pacer on the same 50-agent, 30 %-answer campaign (8 hours, 3 % cap).
    Pacing {
        /// Seeds run (1 to N).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
        seeds: u64,
    },
    /// Trigger → first dial of callback requests: the outbound task on SQLite as in `serve`,
    /// with tasks waiting and requests arriving at a steady rate.
    Outbound {
        /// Tasks waiting (for tomorrow) during the measurement.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(0..=hotline_server::outbound_bench::MAX_BENCH_REQUESTS))]
        pending: u64,
        /// Requests per second to call back at once.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        rate: u32,
        /// Seconds of arrivals.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3_600))]
        seconds: u64,
    },
    /// One open wall with a large center live: the stream's bytes per second, the time to
    /// report and compare, and the page's first load over loopback.
    Wall {
        /// Agents.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=hotline_server::wall_bench::MAX_BENCH_AGENTS as i64))]
        agents: u32,
        /// Queues.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1_000))]
        queues: u32,
        /// Seconds of the center's time.
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        seconds: u64,
        /// First loads of the page timed.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1_000))]
        loads: u32,
    },
    /// Knowledge-base searches over synthetic articles in Chinese and English (index built
    /// first, in a temporary directory).
    Kb {
        /// Articles.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        articles: u64,
        /// Searches timed.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        queries: u64,
        /// Seeds the articles and the queries.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Appends to the SQLite event log.
    Eventlog {
        /// Events to append.
        #[arg(long, default_value_t = 500_000)]
        events: u64,
        /// Largest batch (group commit) size.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
        /// Concurrent producers, each waiting for its event to be durable before the next
        /// (like call flows do).
        #[arg(long, default_value_t = 1_000)]
        producers: usize,
    },
}

/// Runs `hotline bench`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: a debug build; run `cargo run --release -- bench ...` for real figures"
        );
    }
    match &args.which {
        Which::Routing {
            agents,
            skills,
            queues,
            waiting,
            decisions,
        } => bench_routing(*agents, *skills, *queues, *waiting, *decisions),
        Which::Sim { scenario } => bench_sim(scenario),
        Which::Sip { messages } => bench_sip(*messages),
        Which::Media {
            calls,
            seconds,
            rate,
            read_every,
        } => bench_media(*calls as usize, *seconds, *rate, *read_every as usize),
        Which::Eventlog {
            events,
            batch,
            producers,
        } => bench_eventlog(*events, *batch, *producers),
        Which::Screenpop {
            customers,
            interactions,
            lookups,
            dir,
        } => bench_screenpop(*customers, *interactions, *lookups, dir.as_deref()),
        Which::Dialer { tasks, polls, seed } => {
            let report =
                hotline_dialer::bench::bench_dialer(*tasks as usize, *polls as usize, *seed);
            println!("dialer: {report}");
            Ok(())
        }
        Which::Pacing { seeds } => bench_pacing(*seeds),
        Which::Outbound {
            pending,
            rate,
            seconds,
        } => {
            let dir =
                std::env::temp_dir().join(format!("hotline-bench-outbound-{}", std::process::id()));
            std::fs::create_dir_all(&dir).context("a temporary directory")?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let report = runtime
                .block_on(hotline_server::outbound_bench::run(
                    &dir, *pending, *rate, *seconds,
                ))
                .map_err(|e| anyhow::anyhow!("{e}"));
            let _ = std::fs::remove_dir_all(&dir);
            let report = report?;
            println!("outbound: {report}");
            Ok(())
        }
        Which::Wall {
            agents,
            queues,
            seconds,
            loads,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let r = runtime.block_on(hotline_server::wall_bench::run(
                *agents, *queues, *seconds, *loads,
            ));
            println!(
                "wall: {} agents, {} queues, {} s of center time ({} events): first report {} bytes; \
                 changes {:.1} KB/s on average, {:.1} KB in the busiest second; report and \
                 compare p50 {:?}, max {:?}; charts (8 h, center) {} bytes in {:?}; first load \
                 (page, 3 files, first event) p50 {:?}, max {:?}",
                r.agents,
                r.queues,
                r.seconds,
                r.events,
                r.first_bytes,
                r.bytes_per_second / 1_000.0,
                r.busiest_second_bytes as f64 / 1_000.0,
                r.push_p50,
                r.push_max,
                r.history_bytes,
                r.history_time,
                r.load_p50,
                r.load_max
            );
            Ok(())
        }
        Which::Kb {
            articles,
            queries,
            seed,
        } => {
            let report =
                hotline_kb::bench::bench_search(*articles as usize, *queries as usize, *seed)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("kb: {report}");
            Ok(())
        }
    }
}

/// Runs the three pacers on the default campaign for seeds 1..=`seeds` and prints each run
/// and the means.
fn bench_pacing(seeds: u64) -> anyhow::Result<()> {
    let scenario = hotline_sim::predictive::CampaignScenario::default();
    let mut totals: Vec<(&'static str, f64, f64, f64)> = Vec::new();
    for seed in 1..=seeds {
        let runs = hotline_sim::predictive::compare_pacers(&scenario, seed)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for (name, report) in runs {
            println!("pacing: {report}");
            match totals.iter_mut().find(|t| t.0 == name) {
                Some(t) => {
                    t.1 += report.occupancy();
                    t.2 += report.abandonment_rate();
                    t.3 += report.calls_per_agent_hour();
                }
                None => totals.push((
                    name,
                    report.occupancy(),
                    report.abandonment_rate(),
                    report.calls_per_agent_hour(),
                )),
            }
        }
    }
    for (name, occupancy, abandonment, calls) in totals {
        let n = seeds as f64;
        println!(
            "pacing mean of {seeds} seeds, {name}: occupancy {:.1} %, abandonment {:.2} %, {:.1} calls per agent-hour",
            occupancy / n * 100.0,
            abandonment / n * 100.0,
            calls / n
        );
    }
    Ok(())
}

fn bench_screenpop(
    customers: u64,
    interactions: u64,
    lookups: u64,
    dir: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let dir = dir.map(std::path::Path::to_path_buf).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("hotline-bench-pop-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("records.db");
    if path.exists() {
        anyhow::bail!(
            "{} exists; the benchmark builds a new database",
            path.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(hotline_store::bench_screen_pop(
        &path,
        hotline_store::Keyring::generate()?,
        hotline_store::PopBenchConfig {
            customers,
            interactions,
            lookups,
            seed: 1,
        },
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    println!(
        "screenpop: {customers} customers and {interactions} interactions loaded in {:.1} s ({:.0} MB); \
         {} pops ({} matched, {:.1} interactions shown each): p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        report.load_seconds,
        report.file_bytes as f64 / 1e6,
        report.lookups,
        report.matched,
        report.interactions_shown as f64 / report.matched.max(1) as f64,
        report.p50_us,
        report.p99_us,
        report.max_us
    );
    Ok(())
}

/// A small, seeded generator; the benchmark must not depend on a random crate's versions.
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
        self.next() % n
    }
}

/// A large center: each queue needs its own primary skill at proficiency 2; every agent has
/// four skills and serves up to three queues it qualifies for, at priorities 1 to 3.
fn large_center(agents: u32, skills: u16, queues: u32, rng: &mut SplitMix) -> RoutingConfig {
    let mut config = RoutingConfig {
        skills: (0..skills).map(|s| format!("skill-{s}")).collect(),
        ..RoutingConfig::default()
    };
    // A language no agent speaks, for contacts that nobody ready can take.
    config.skills.push("rare-language".into());
    config.priority.tiers.push(TierPriority {
        name: "vip".into(),
        class: 1,
        bonus: Duration::ZERO,
    });
    for q in 0..queues {
        let mut queue = QueueConfig::new(
            format!("queue-{q}"),
            vec![SkillRequirement {
                skill: SkillId((q % u32::from(skills)) as u16),
                min_proficiency: 2,
            }],
        );
        queue.max_waiting = 1_000_000;
        config.queues.push(queue);
    }
    for a in 0..agents {
        let mut agent_skills: Vec<(SkillId, u8)> = Vec::new();
        let mut profile = Vec::new();
        while profile.len() < 3.min(queues as usize) {
            // The first queue goes round, so every queue has agents.
            let q = if profile.is_empty() {
                a % queues
            } else {
                rng.below(u64::from(queues)) as u32
            };
            if profile.iter().any(|p: &ProfileEntry| p.queue.0 == q) {
                continue;
            }
            let skill = SkillId((q % u32::from(skills)) as u16);
            let level = 2 + rng.below(4) as u8;
            match agent_skills.iter_mut().find(|(s, _)| *s == skill) {
                Some(existing) => existing.1 = existing.1.max(level),
                None => agent_skills.push((skill, level)),
            }
            profile.push(ProfileEntry {
                queue: QueueId(q),
                priority: profile.len() as u8 + 1,
                delay: Duration::ZERO,
            });
        }
        while agent_skills.len() < 4.min(usize::from(skills)) {
            let skill = SkillId(rng.below(u64::from(skills)) as u16);
            if !agent_skills.iter().any(|(s, _)| *s == skill) {
                agent_skills.push((skill, 1 + rng.below(5) as u8));
            }
        }
        config.agents.push(AgentConfig {
            name: format!("agent-{a}"),
            skills: agent_skills,
            profile,
            chat_capacity: 0,
        });
    }
    config
}

struct Latencies(Vec<u64>);

impl Latencies {
    fn summary(&mut self) -> (Duration, Duration, Duration) {
        self.0.sort_unstable();
        let at = |q: f64| {
            let i = ((self.0.len() as f64 * q) as usize).min(self.0.len() - 1);
            Duration::from_nanos(self.0[i])
        };
        (at(0.5), at(0.99), at(1.0))
    }
}

fn bench_routing(
    agents: u32,
    skills: u16,
    queues: u32,
    waiting: u32,
    decisions: u32,
) -> anyhow::Result<()> {
    if agents < queues * 10 {
        anyhow::bail!(
            "--agents must be at least 10 per queue ({} for {queues} queues)",
            queues * 10
        );
    }
    let mut rng = SplitMix(7);
    let config = large_center(agents, skills, queues, &mut rng);
    let mut router = Router::new(config).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        anyhow::anyhow!("the generated center is not valid:\n{}", lines.join("\n"))
    })?;
    let mut now = Time::from_secs(1);
    let mut next_contact = 0u64;
    // Who talks to whom, to free agents later.
    let mut talking: Vec<Option<ContactId>> = vec![None; agents as usize];
    let mut busy: Vec<AgentId> = Vec::new();
    let mut events = 0u64;
    let drain = |router: &mut Router,
                 now: Time,
                 talking: &mut Vec<Option<ContactId>>,
                 busy: &mut Vec<AgentId>,
                 events: &mut u64| {
        let mut offers = Vec::new();
        while let Some((_, e)) = router.poll_event() {
            *events += 1;
            if let Event::OfferCreated { contact, agent, .. } = e {
                offers.push((agent, contact));
            }
        }
        for (agent, contact) in offers {
            router
                .handle(now, Input::Accept { agent, contact })
                .expect("accept");
            while router.poll_event().is_some() {
                *events += 1;
            }
            talking[agent.index()] = Some(contact);
            busy.push(agent);
        }
    };
    let setup = Instant::now();
    for a in 0..agents {
        router.handle(now, Input::Login { agent: AgentId(a) })?;
        router.handle(now, Input::Ready { agent: AgentId(a) })?;
    }
    drain(&mut router, now, &mut talking, &mut busy, &mut events);
    let spec = |id: u64, rng: &mut SplitMix| {
        let mut s = ContactSpec::call(ContactId(id), QueueId(rng.below(u64::from(queues)) as u32));
        s.attributes.tier = (rng.below(10) == 0) as u8;
        s
    };
    // Fill: every agent busy, then `waiting` contacts queued.
    while (router.contact_count() as u32) < waiting {
        now = now + Duration::from_millis(10);
        next_contact += 1;
        router.handle(now, Input::Arrive(spec(next_contact, &mut rng)))?;
        drain(&mut router, now, &mut talking, &mut busy, &mut events);
    }
    eprintln!(
        "setup: {} agents, {} skills, {} queues, {} waiting, {} agents busy, in {:.1} s",
        agents,
        skills,
        queues,
        router.contact_count(),
        busy.len(),
        setup.elapsed().as_secs_f64()
    );
    let mut frees = Latencies(Vec::with_capacity(decisions as usize));
    let mut arrivals = Latencies(Vec::with_capacity(decisions as usize));
    let mut inputs = 0u64;
    events = 0;
    let started = Instant::now();
    let mut cursor = 0usize;
    for _ in 0..decisions {
        now = now + Duration::from_millis(5);
        // An agent frees up: the router picks its next contact.
        cursor = (cursor + 1 + rng.below(7) as usize) % busy.len();
        let agent = busy.swap_remove(cursor);
        let contact = talking[agent.index()].take().expect("busy agents talk");
        let t = Instant::now();
        router.handle(now, Input::Complete { agent, contact })?;
        let mut offer = None;
        while let Some((_, e)) = router.poll_event() {
            events += 1;
            if let Event::OfferCreated { contact, agent, .. } = e {
                offer = Some((agent, contact));
            }
        }
        frees.0.push(t.elapsed().as_nanos() as u64);
        inputs += 1;
        if let Some((agent, contact)) = offer {
            router.handle(now, Input::Accept { agent, contact })?;
            while router.poll_event().is_some() {
                events += 1;
            }
            inputs += 1;
            talking[agent.index()] = Some(contact);
            busy.push(agent);
        } else {
            // No contact for this agent: it stays ready; keep the center busy.
            busy.push(agent);
            router.handle(
                now,
                Input::NotReady {
                    agent,
                    reason: ReasonCode::LOGGED_IN,
                },
            )?;
            router.handle(now, Input::Ready { agent })?;
            while router.poll_event().is_some() {}
            busy.pop();
        }
        // A contact arrives: no agent is free, so it is queued in its place.
        next_contact += 1;
        let s = spec(next_contact, &mut rng);
        let t = Instant::now();
        router.handle(now, Input::Arrive(s))?;
        let mut offer = None;
        while let Some((_, e)) = router.poll_event() {
            events += 1;
            if let Event::OfferCreated { contact, agent, .. } = e {
                offer = Some((agent, contact));
            }
        }
        arrivals.0.push(t.elapsed().as_nanos() as u64);
        inputs += 1;
        if let Some((agent, contact)) = offer {
            router.handle(now, Input::Accept { agent, contact })?;
            while router.poll_event().is_some() {}
            talking[agent.index()] = Some(contact);
            busy.push(agent);
        }
    }
    let elapsed = started.elapsed();
    // A live reconfiguration (a reload, an admin's edit) of a center this full: the switch
    // handles nothing else meanwhile. The configuration is made beforehand, as the reloader
    // parses the file outside the switch.
    let mut pauses = Latencies(Vec::with_capacity(RECONFIGURE_ROUNDS));
    for round in 0..RECONFIGURE_ROUNDS {
        let mut next = router.config().clone();
        let queue = round % next.queues.len();
        next.queues[queue].service_level_goal = if round % 2 == 0 { 0.9 } else { 0.8 };
        let t = Instant::now();
        router
            .reconfigure(now, next)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        while router.poll_event().is_some() {}
        pauses.0.push(t.elapsed().as_nanos() as u64);
    }
    let rare = bench_rare_arrivals(agents, skills, queues, decisions.min(20_000))?;
    let (f50, f99, fmax) = frees.summary();
    let (a50, a99, amax) = arrivals.summary();
    println!("routing: {agents} agents, {skills} skills, {queues} queues, {} contacts waiting at the end", router.contact_count());
    println!("  agent frees up, picks next contact: median {f50:?}  p99 {f99:?}  max {fmax:?}");
    println!("  contact arrives, queued:            median {a50:?}  p99 {a99:?}  max {amax:?}");
    println!(
        "  throughput: {:.0} inputs/s ({:.0} events/s) on one core, accepts included",
        inputs as f64 / elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
    let (r50, _, rmax) = pauses.summary();
    println!(
        "  live reconfiguration with {} contacts waiting: median {r50:?}  max {rmax:?} ({RECONFIGURE_ROUNDS} rounds)",
        router.contact_count()
    );
    println!("{rare}");
    Ok(())
}

/// How many live reconfigurations `hotline bench routing` times.
const RECONFIGURE_ROUNDS: usize = 7;

/// Every agent ready and idle, and contacts arrive that need a language no agent speaks: the
/// worst case for a contact's search for an agent.
fn bench_rare_arrivals(
    agents: u32,
    skills: u16,
    queues: u32,
    arrivals: u32,
) -> anyhow::Result<String> {
    let mut rng = SplitMix(11);
    let config = large_center(agents, skills, queues, &mut rng);
    let rare = SkillRequirement {
        skill: SkillId(skills),
        min_proficiency: 1,
    };
    let mut router = Router::new(config).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let now = Time::from_secs(1);
    for a in 0..agents {
        router.handle(now, Input::Login { agent: AgentId(a) })?;
        router.handle(now, Input::Ready { agent: AgentId(a) })?;
    }
    while router.poll_event().is_some() {}
    let mut latencies = Latencies(Vec::with_capacity(arrivals as usize));
    for id in 0..u64::from(arrivals) {
        let mut spec =
            ContactSpec::call(ContactId(id), QueueId(rng.below(u64::from(queues)) as u32));
        spec.skills.push(rare);
        let t = Instant::now();
        router.handle(now, Input::Arrive(spec))?;
        while router.poll_event().is_some() {}
        latencies.0.push(t.elapsed().as_nanos() as u64);
    }
    let (p50, p99, max) = latencies.summary();
    Ok(format!(
        "  contact no ready agent can take, {agents} agents ready: median {p50:?}  p99 {p99:?}  max {max:?}"
    ))
}

fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn bench_sim(path: &std::path::Path) -> anyhow::Result<()> {
    let scenario = hotline_config::load_scenario(path)
        .map_err(|d| anyhow::anyhow!("{}: invalid scenario\n{d}", path.display()))?;
    let started = Instant::now();
    let report =
        hotline_sim::simulate(&scenario, scenario.seed, &mut |_| {}).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("{}: cannot run:\n{}", path.display(), lines.join("\n"))
        })?;
    let elapsed = started.elapsed();
    println!(
        "sim: {} ({} agents): {} arrivals, {} routing events in {:.2} s ({:.0} calls/s); peak memory {}",
        scenario.name,
        scenario.routing.agents.len(),
        report.arrivals,
        report.router_events,
        elapsed.as_secs_f64(),
        report.arrivals as f64 / elapsed.as_secs_f64(),
        peak_memory_mib().map_or("unknown".into(), |m| format!("{m:.0} MiB")),
    );
    Ok(())
}

fn bench_sip(messages: u32) -> anyhow::Result<()> {
    let samples: [(&str, &[u8]); 2] = [
        (
            "INVITE with SDP",
            include_bytes!("../../sip/tests/fixtures/valid/invite-sdp.sip"),
        ),
        (
            "kitchen-sink request",
            include_bytes!("../../sip/tests/fixtures/valid/kitchen-sink-request.sip"),
        ),
    ];
    for (name, bytes) in samples {
        let message = hotline_sip::parse_message(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        let started = Instant::now();
        let mut checksum = 0usize;
        for _ in 0..messages {
            let m = hotline_sip::parse_message(std::hint::black_box(bytes)).expect("parses");
            checksum += m.headers().0.len();
        }
        let parse = started.elapsed() / messages;
        let started = Instant::now();
        for _ in 0..messages {
            checksum += std::hint::black_box(&message).to_bytes().len();
        }
        let print = started.elapsed() / messages;
        std::hint::black_box(checksum);
        println!(
            "sip: {name} ({} bytes): parse {parse:?} ({:.0} messages/s), print {print:?}",
            bytes.len(),
            1.0 / parse.as_secs_f64()
        );
    }
    Ok(())
}

fn bench_eventlog(events: u64, batch: usize, producers: usize) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("hotline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("events.db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(hotline_store::bench_append_with(
        &path,
        hotline_store::BenchConfig {
            total_events: events,
            producers,
            max_batch_events: batch,
        },
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    println!(
        "eventlog: {} events in {:.2} s: {:.0} events/s appended to SQLite (WAL, synchronous=FULL), {producers} producers, batches up to {batch}, {} commits",
        report.events, report.seconds, report.events_per_second, report.commits
    );
    Ok(())
}

/// Memory and CPU of a process, from /proc.
#[derive(Clone, Copy, Debug, Default)]
struct ProcSample {
    rss_kib: u64,
    hwm_kib: u64,
    /// User plus system time, in clock ticks (USER_HZ, 100 per second on Linux).
    cpu_ticks: u64,
    at: Option<Instant>,
}

fn proc_sample(pid: u32) -> ProcSample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces, so split after its ')').
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    ProcSample {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
        cpu_ticks: tick(11) + tick(12),
        at: Some(Instant::now()),
    }
}

fn bench_media(calls: usize, seconds: u64, rate: u32, read_every: usize) -> anyhow::Result<()> {
    use hotline_server::media_bench::{self, quantile, MediaBenchConfig, Stage};
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("hotline-bench-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let port = std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let agents: Vec<(String, String)> = (0..calls)
        .map(|i| (format!("a{i}"), format!("pw-{i}")))
        .collect();
    let mut config = format!(
        "[sip]\nlisten = \"127.0.0.1:{port}\"\nrealm = \"hotline\"\ndefault_queue = \"general\"\n\
         [[sip.trunks]]\nname = \"loopback\"\nallow = [\"127.0.0.0/8\"]\n"
    );
    for (user, password) in &agents {
        config.push_str(&format!(
            "[[sip.accounts]]\nagent = \"{user}\"\npassword = \"{password}\"\n"
        ));
    }
    // One announcement on entry, no recording: the relay is what is measured.
    config.push_str(
        "[media]\nannounce_every = 0\n[routing]\n[routing.offers]\noffer_timeout = 60\n\
         [[routing.queues]]\nname = \"general\"\n",
    );
    for (user, _) in &agents {
        config.push_str(&format!(
            "[[routing.agents]]\nname = \"{user}\"\nqueues = [\"general\"]\n"
        ));
    }
    let config_path = dir.join("bench.toml");
    std::fs::write(&config_path, config)?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .arg("--data")
        .arg(dir.join("data"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .context("starting hotline serve")?;
    let pid = child.id();
    let stdout = child.stdout.take().context("the child's output")?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("SIP on") {
                let _ = ready_tx.send(());
            }
        }
    });
    let result = (|| -> anyhow::Result<_> {
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .context("hotline serve did not start in 30 s")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut samples = Vec::new();
        let report = runtime.block_on(media_bench::run(
            MediaBenchConfig {
                switch: format!("127.0.0.1:{port}").parse()?,
                agents,
                number: "10000".into(),
                setup_rate: rate,
                media: Duration::from_secs(seconds),
                read_every,
                seed: 7,
            },
            |stage| samples.push((stage, proc_sample(pid))),
        ))?;
        Ok((report, samples))
    })();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let (report, samples) = result?;
    let at = |stage: Stage| {
        samples
            .iter()
            .find(|(s, _)| *s == stage)
            .map(|(_, p)| *p)
            .unwrap_or_default()
    };
    let (registered, started, done) = (
        at(Stage::Registered),
        at(Stage::MediaStarted),
        at(Stage::MediaDone),
    );
    let established = report.established.max(1) as f64;
    let per_call_kib = done.rss_kib.saturating_sub(registered.rss_kib) as f64 / established;
    let peak_per_call_kib = done.hwm_kib.saturating_sub(registered.rss_kib) as f64 / established;
    let media_wall = match (started.at, done.at) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let cpu = done.cpu_ticks.saturating_sub(started.cpu_ticks) as f64 / 100.0;
    let hotline_pps = 200.0 * report.established as f64;
    println!(
        "calls: {} placed, {} established in {:.1} s ({} calls/s asked)",
        report.placed, report.established, report.setup_seconds, rate
    );
    println!(
        "media: {:.0} s; sockets read: 1 in {read_every}: {} packets sent to them, {} received, {} lost ({:.4} %), {} reordered, {} refused by the generator's sockets",
        report.media_seconds,
        report.sent,
        report.received,
        report.sent.saturating_sub(report.received),
        report.loss() * 100.0,
        report.reordered,
        report.send_failures
    );
    println!(
        "transit through hotline: p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs",
        quantile(&report.transit_us, 0.5),
        quantile(&report.transit_us, 0.99),
        quantile(&report.transit_us, 0.999),
        report.transit_us.last().copied().unwrap_or(0)
    );
    println!(
        "added jitter |D|: p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs (generator send lag max {} µs)",
        quantile(&report.added_jitter_us, 0.5),
        quantile(&report.added_jitter_us, 0.99),
        quantile(&report.added_jitter_us, 0.999),
        report.added_jitter_us.last().copied().unwrap_or(0),
        report.max_send_lag_us
    );
    println!(
        "hotline process: {:.1} KiB per established call ({} KiB → {} KiB RSS; peak {:.1} KiB per call), CPU {:.0} % of one core over {:.0} s ({:.0} packets/s in and out)",
        per_call_kib,
        registered.rss_kib,
        done.rss_kib,
        peak_per_call_kib,
        100.0 * cpu / media_wall.max(0.001),
        media_wall,
        hotline_pps
    );
    Ok(())
}
