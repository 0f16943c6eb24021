//! `hotline serve`: the SIP switch with its event log, from a configuration file or, with
//! none, as a demo center on loopback.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use hotline_phone::NumberContext;
use hotline_server::api::ApiState;
use hotline_server::customer_link::PopHub;
use hotline_server::knowledge::Knowledge;
use hotline_server::{config, runtime};

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
    let config = match &args.config {
        Some(path) => config::load(path, seed, secret).map_err(|d| anyhow!("{d}"))?,
        None => config::demo(args.listen, seed, secret),
    };
    let demo_passwords = config.demo_passwords.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let log_path = args.data.join("events.db");
        let records = crate::cmd_records::open_records(&args.data).await?;
        let pops = PopHub::new();
        let hub = pops.clone();
        let started = std::time::Instant::now();
        let knowledge = Knowledge::load(&records)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        println!(
            "hotline: knowledge base, {} articles indexed in {} ms",
            knowledge.len(),
            started.elapsed().as_millis()
        );
        let (switch_side, dialler_side) = hotline_server::outbound::link();
        let link = runtime::LinkSetup {
            records: records.clone(),
            hub: pops.clone(),
            knowledge: knowledge.clone(),
            number_context: NumberContext::default(),
            lookup: Some(runtime::DEFAULT_CALLER_LOOKUP),
            outbound: Some(switch_side),
        };
        let tickets = Arc::new(config.tickets.clone());
        let dialer_rules = config.dialer.clone();
        let routing = Arc::new(config.routing.clone());
        let max_in_flight = config.outbound_in_flight;
        let notice_settings = config.notices.clone();
        let outbound_mode = config.outbound_mode;
        let agents: Vec<String> = config
            .routing
            .agents
            .iter()
            .map(|a| a.name.clone())
            .collect();
        let retention_days = config.retention_days;
        let running = runtime::start_with(config, Some(&log_path), Some(link))
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let (outbound, outbound_task) = hotline_server::outbound::spawn(
            records.clone(),
            dialer_rules.clone(),
            dialer_rules.default_legal_hours().clone(),
            hotline_server::outbound::FOLLOW_UP_POLL,
            Some(hotline_server::outbound::Dialling {
                side: dialler_side,
                events: running.events.clone(),
                max_in_flight,
                notices: running.events.clone().map(|events| {
                    let provider: Arc<dyn hotline_server::notify::Provider> =
                        Arc::new(hotline_server::notify::WebhookProvider { events });
                    (provider, notice_settings)
                }),
                mode: outbound_mode,
                agents,
            }),
        )
        .await
        .context("starting the dialer")?;
        // A second handle on the event log, for reading: webhooks tail it.
        let log = hotline_store::SqliteEventLog::open(&log_path)
            .await
            .with_context(|| format!("opening {} for reading", log_path.display()))?;
        // The outbound figures: the whole log replayed, then tailed.
        let outbound_metrics = hotline_server::outbound_metrics::OutboundMetrics::default();
        outbound_metrics
            .catch_up(&log)
            .await
            .context("replaying the event log for the outbound figures")?;
        let metrics_task =
            outbound_metrics.spawn(log.clone(), running.shutdown_handle().subscribe());
        // The wall: the same, from the routing events.
        let wall = hotline_server::wall::WallMetrics::new(hotline_server::wall::Wall::new(
            routing.clone(),
            hotline_server::api::now_ms(),
        ));
        wall.catch_up(&log)
            .await
            .context("replaying the event log for the wall")?;
        let wall_task = wall.spawn(log.clone(), running.shutdown_handle().subscribe());
        println!("hotline: SIP on {} (UDP and TCP)", running.local);
        println!("hotline: event log {}", log_path.display());
        let api = if args.http == "off" {
            None
        } else {
            let listen: SocketAddr = args
                .http
                .parse()
                .map_err(|_| anyhow!("--http {:?}: expected IP:PORT or off", args.http))?;
            let state = ApiState {
                pops,
                tickets: tickets.clone(),
                knowledge,
                events: running.events.clone(),
                link: running.link.clone(),
                log: Some(log.clone()),
                recordings: Some(args.data.join("recordings")),
                outbound: Some(outbound.clone()),
                outbound_metrics: Some(outbound_metrics.clone()),
                wall: Some((
                    wall.clone(),
                    Arc::new(dialer_rules.default_legal_hours().clone()),
                )),
                ..ApiState::new(records.clone())
            };
            let api = crate::cmd_records::start_api(state, listen).await?;
            println!(
                "hotline: REST API on http://{}/api/v1 (document: /api/openapi.json); records {}",
                api.local,
                crate::cmd_records::records_description(&args.data)
            );
            if let Some(secret) = &api.new_admin_secret {
                println!(
                    "hotline: API key \"admin\" (shown this once; make others with `hotline \
                     apikey create`): {secret}"
                );
            }
            Some(api)
        };
        if !demo_passwords.is_empty() {
            println!("hotline: demo center, one queue \"general\"; agents register as:");
            for (user, password) in &demo_passwords {
                println!("  sip:{user}@{}  password {password}", running.local);
            }
            println!(
                "hotline: call sip:95588@{} for the IVR menu (中文; 9 for English), any other \
                 number for the queue, from this machine",
                running.local
            );
        }
        let shutdown = running.shutdown_handle();
        let retention = retention_days.map(|days| {
            hotline_server::retention::spawn(
                records.clone(),
                Some(args.data.join("recordings")),
                days,
                shutdown.subscribe(),
            )
        });
        let sla_watch = hotline_server::sla_watch::spawn(
            records.clone(),
            tickets,
            running.events.clone(),
            shutdown.subscribe(),
        );
        let dispatcher = hotline_server::webhooks::spawn(
            records,
            log,
            hotline_server::webhooks::DispatchConfig::default(),
            shutdown.subscribe(),
        );
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
        let stats = running.wait().await.context("the switch stopped")?;
        let _ = sla_watch.await;
        let _ = metrics_task.await;
        let _ = wall_task.await;
        let _ = dispatcher.await;
        if let Some(task) = retention {
            let _ = task.await;
        }
        if let Some(api) = api {
            hub.close();
            let _ = api.shutdown.send(());
            let _ = api.task.await;
        }
        // The API's handles are gone with it: the outbound task ends with the last one.
        drop(outbound);
        let _ = outbound_task.await;
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
