//! `hotline demo`: the demo center, everything `hotline serve` runs (records, API, dialler,
//! live figures), with simulated callers and agents placing and answering real SIP calls on
//! loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use hotline_server::{config, demo};

/// Arguments of `hotline demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Calls per minute from the simulated callers (Poisson arrivals).
    #[arg(long, default_value_t = 12.0)]
    pub rate: f64,
    /// Where the switch listens (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The data directory, as for `hotline serve`: the event log DATA/events.db, the records
    /// DATA/records.db and their keys.
    #[arg(long, default_value = "hotline-data")]
    pub data: PathBuf,
    /// Where the REST API listens (port 0: any free port; `off` for none).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub http: String,
    /// Seeds the callers' arrivals and durations (and the demo's passwords).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The demo's web password of its `i`-th person: from the seed, so a run prints the same ones
/// (the demo's data is not a real center's).
fn demo_password(seed: u64, i: usize) -> String {
    let mut x = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(i as u64 + 1);
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 29;
    format!("demo-{:08x}", x as u32)
}

/// Adds a person to the records, or sets the password of one a previous demo added.
async fn demo_user(
    records: &hotline_store::Records,
    name: &str,
    role: hotline_store::Role,
    password: &str,
) -> Result<()> {
    let now = hotline_server::api::now_ms();
    match records
        .create_user(name, None, role, password, now, "demo")
        .await
    {
        Ok(_) => Ok(()),
        Err(hotline_store::StoreError::Conflict(_)) => records
            .change_user(name, Some(role), Some(password), Some(false), now, "demo")
            .await
            .map(|_| ())
            .with_context(|| format!("resetting the demo's user {name}")),
        Err(e) => Err(e).with_context(|| format!("adding the demo's user {name}")),
    }
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let config = config::demo(args.listen, args.seed, crate::cmd_serve::os_random()?);
    // The demo's configuration as a file in its data directory, so that the admin page can
    // change it (written afresh each run, like the demo's passwords).
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating {}", args.data.display()))?;
    let file = args.data.join("demo.toml");
    let (text, _) = config::demo_text(args.seed);
    let text = format!(
        "# hotline demo's configuration, written by `hotline demo` at each start: the admin page\n\
         # (/admin) changes it while the demo runs. `hotline serve --config` takes files like it.\n{text}"
    );
    // Readable by its owner only: it holds the demo phones' passwords.
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(&file);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    let agents = config.demo_passwords.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        // SIGHUP reloads demo.toml, as in `hotline serve`; listened for before the start.
        let hangups = crate::center::hangups()?;
        // The whole center, as `hotline serve` runs it, with simulated people on its phones.
        let center =
            crate::center::start(config, Some((file, text)), &args.data, &args.http).await?;
        center.reload_on(hangups);
        let local = center.running.local;
        println!(
            "hotline demo: {} agents, about {} calls a minute, for {} s",
            agents.len(),
            args.rate,
            args.seconds
        );
        if let Some(api) = center.api_local {
            // People to log in as: the supervisor for the wall, each simulated agent for a
            // desktop that pops as the demo's calls reach that agent.
            let mut people = vec![("supervisor".to_string(), hotline_store::Role::Supervisor)];
            people.extend(
                agents
                    .iter()
                    .map(|(name, _)| (name.clone(), hotline_store::Role::Agent)),
            );
            let mut logins = Vec::new();
            for (i, (name, role)) in people.iter().enumerate() {
                let password = demo_password(args.seed, i);
                demo_user(&center.records, name, *role, &password).await?;
                logins.push(format!("{name} / {password}"));
            }
            println!(
                "hotline demo: open http://{api}/ in a browser: the live wall as {} (and \
                 http://{api}/admin to change queues, agents and hours while it runs); an \
                 agent's desktop as {}",
                logins[0],
                logins[1..].join(", ")
            );
            println!(
                "hotline demo: the wall's figures as JSON: curl -H \"Authorization: Bearer \
                 $KEY\" http://{api}/api/v1/metrics/wall  (KEY: the admin key above)"
            );
        }
        let totals = demo::run(
            demo::DemoConfig {
                switch: local,
                agents,
                calls_per_minute: args.rate,
                talk_ms: (8_000, 30_000),
                patience_ms: (15_000, 60_000),
                ring_ms: 2_000,
                duration: Duration::from_secs(args.seconds),
                seed: args.seed,
            },
            true,
        )
        .await
        .context("the simulated phones")?;
        let _ = center.running.shutdown_handle().send(true);
        let stats = center.wait().await.context("the switch")?;
        println!(
            "hotline demo: {} calls placed, {} connected, {} abandoned, {} failed; the switch took {} calls in and connected {}",
            totals.placed,
            totals.connected,
            totals.abandoned,
            totals.failed,
            stats.switch.calls_in,
            stats.switch.connected
        );
        Ok(())
    })
}
