//! `hotline serve`: the SIP switch with its event log, from a configuration file or, with
//! none, as a demo center on loopback.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use hotline_server::config;

/// Arguments of `hotline serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Configuration file (TOML with the sip and routing tables); without one a demo center runs:
    /// one queue, agents 1001-1004 (passwords printed), calls accepted from loopback.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The data directory: the event log is DATA/events.db, the records (customers,
    /// interactions, API keys) DATA/records.db, their encryption keys DATA/keys.txt (made on
    /// first start; or set $HOTLINE_KEYS).
    #[arg(long, default_value = "hotline-data")]
    pub data: PathBuf,
    /// Where the REST API listens (`off` for none).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: String,
    /// Where the demo listens (a configuration file names its own with sip.listen).
    #[arg(long, default_value = "127.0.0.1:5060")]
    pub listen: SocketAddr,
    /// Stop after this many seconds (for scripted runs); otherwise run until Ctrl-C.
    #[arg(long)]
    pub seconds: Option<u64>,
}

/// Random bytes from the operating system, for the nonce key and the identifier seed.
pub fn os_random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes)
}

pub fn run(args: &ServeArgs) -> Result<()> {
    let secret: [u8; 32] = os_random()?;
    let seed = u64::from_le_bytes(os_random()?);
    let (config, file) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let config = config::parse(&path.display().to_string(), &text, seed, secret)
                .map_err(|d| anyhow!("{d}"))?;
            (config, Some((path.clone(), text)))
        }
        None => (config::demo(args.listen, seed, secret), None),
    };
    let demo_passwords = config.demo_passwords.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        // Before anything else, so that a SIGHUP while the center starts never ends it.
        let hangups = crate::center::hangups()?;
        let center = crate::center::start(config, file, &args.data, &args.http).await?;
        center.reload_on(hangups);
        if !demo_passwords.is_empty() {
            let local = center.running.local;
            println!("hotline: demo center, one queue \"general\"; agents register as:");
            for (user, password) in &demo_passwords {
                println!("  sip:{user}@{local}  password {password}");
            }
            println!(
                "hotline: call sip:95588@{local} for the IVR menu (中文; 9 for English), any other \
                 number for the queue, from this machine"
            );
        }
        let shutdown = center.running.shutdown_handle();
        let seconds = args.seconds;
        tokio::spawn(async move {
            match seconds {
                Some(s) => tokio::time::sleep(std::time::Duration::from_secs(s)).await,
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            let _ = shutdown.send(true);
        });
        let stats = center.wait().await?;
        println!(
            "hotline: stopped; {} calls in, {} connected, {} refused, {} messages in, {} out",
            stats.switch.calls_in,
            stats.switch.connected,
            stats.switch.refused,
            stats.received,
            stats.sent
        );
        Ok(())
    })
}
