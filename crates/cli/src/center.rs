//! The whole center as `hotline serve` runs it, for `serve` and `demo`: the records, the
//! knowledge base, the switch with its event log, the outbound dialler, the live figures
//! (outbound and the wall), the REST API, and the tasks beside them (SLA watch, webhooks,
//! retention).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use hotline_phone::NumberContext;
use hotline_server::api::ApiState;
use hotline_server::config::ServerConfig;
use hotline_server::customer_link::PopHub;
use hotline_server::knowledge::Knowledge;
use hotline_server::runtime::{self, Running, RuntimeStats};
use tokio::task::JoinHandle;

/// A started center.
pub struct Center {
    /// The switch.
    pub running: Running,
    /// The REST API's (and the web pages') address, when it listens.
    pub api_local: Option<SocketAddr>,
    /// The customer records.
    pub records: hotline_store::Records,
    /// Reloads the configuration file (`None` for the demo, which has none).
    pub reloader: Option<Arc<hotline_server::reload::Reloader>>,
    api: Option<crate::cmd_records::RunningApi>,
    hub: PopHub,
    outbound: hotline_server::outbound::Outbound,
    outbound_task: JoinHandle<hotline_server::outbound::OutboundStats>,
    /// The tasks that end when the switch's shutdown turns true.
    tasks: Vec<JoinHandle<()>>,
}

/// Starts every part of the center on `data` (the event log, records, keys, recordings),
/// with the API on `http` (`off` for none), printing where each is. `file` is the
/// configuration file and its text, for reloading (none for the demo).
pub async fn start(
    config: ServerConfig,
    file: Option<(std::path::PathBuf, String)>,
    data: &Path,
    http: &str,
) -> Result<Center> {
    let log_path = data.join("events.db");
    let records = crate::cmd_records::open_records(data).await?;
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
    let queues: Vec<String> = config
        .routing
        .queues
        .iter()
        .map(|q| q.name.clone())
        .collect();
    let retention_days = config.retention_days;
    let alert_rules = Arc::new(config.alert_rules.clone());
    let dispositions = hotline_server::wrap_up::Dispositions::new(config.dispositions.clone());
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
            queues,
        }),
    )
    .await
    .context("starting the dialer")?;
    // A second handle on the event log, for reading: webhooks tail it.
    let log = hotline_store::SqliteEventLog::open(&log_path)
        .await
        .with_context(|| format!("opening {} for reading", log_path.display()))?;
    // The live figures (outbound, the wall): the whole log replayed in one pass, then each
    // tailed.
    let outbound_metrics = hotline_server::outbound_metrics::OutboundMetrics::default();
    let wall = hotline_server::wall::WallMetrics::new(hotline_server::wall::Wall::new(
        routing.clone(),
        hotline_server::api::now_ms(),
    ));
    hotline_server::log_tail::catch_up_all(&log, &[&outbound_metrics, &wall])
        .await
        .context("replaying the event log for the live figures")?;
    let metrics_task = outbound_metrics.spawn(log.clone(), running.shutdown_handle().subscribe());
    let wall_task = wall.spawn(log.clone(), running.shutdown_handle().subscribe());
    let reloader = file.map(|(path, text)| {
        Arc::new(
            hotline_server::reload::Reloader::new(
                path,
                text,
                running.control.clone(),
                Some(wall.clone()),
                running.events.clone(),
            )
            .with_outbound(outbound.clone())
            .with_dispositions(dispositions.clone()),
        )
    });
    println!("hotline: SIP on {} (UDP and TCP)", running.local);
    println!("hotline: event log {}", log_path.display());
    let api = if http == "off" {
        None
    } else {
        let listen: SocketAddr = http
            .parse()
            .map_err(|_| anyhow!("--http {:?}: expected IP:PORT or off", http))?;
        let state = ApiState {
            pops,
            tickets: tickets.clone(),
            knowledge,
            events: running.events.clone(),
            link: running.link.clone(),
            log: Some(log.clone()),
            recordings: Some(data.join("recordings")),
            outbound: Some(outbound.clone()),
            outbound_metrics: Some(outbound_metrics.clone()),
            switch: Some(running.control.clone()),
            alert_rules: alert_rules.clone(),
            dispositions: dispositions.clone(),
            reload: reloader.clone(),
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
            crate::cmd_records::records_description(data)
        );
        if let Some(secret) = &api.new_admin_secret {
            println!(
                "hotline: API key \"admin\" (shown this once; make others with `hotline \
                     apikey create`): {secret}"
            );
        }
        Some(api)
    };
    let shutdown = running.shutdown_handle();
    let retention = retention_days.map(|days| {
        hotline_server::retention::spawn(
            records.clone(),
            Some(data.join("recordings")),
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
        records.clone(),
        log,
        hotline_server::webhooks::DispatchConfig::default(),
        shutdown.subscribe(),
    );
    let mut tasks = vec![metrics_task, wall_task];
    if let Some(events) = running.events.clone() {
        let alerts = hotline_server::alerts::spawn(
            wall.clone(),
            Arc::new(dialer_rules.default_legal_hours().clone()),
            Some(outbound_metrics.clone()),
            alert_rules,
            events,
            shutdown.subscribe(),
        );
        tasks.push(tokio::spawn(async move {
            let _ = alerts.await;
        }));
    }
    tasks.push(tokio::spawn(async move {
        let _ = sla_watch.await;
    }));
    tasks.push(tokio::spawn(async move {
        let _ = dispatcher.await;
    }));
    if let Some(task) = retention {
        tasks.push(tokio::spawn(async move {
            let _ = task.await;
        }));
    }
    Ok(Center {
        api_local: api.as_ref().map(|a| a.local),
        records,
        reloader,
        running,
        api,
        hub,
        outbound,
        outbound_task,
        tasks,
    })
}

/// Listens for SIGHUP from now on: a SIGHUP no longer ends the process, and one that comes
/// while the center starts waits for [`Center::reload_on`].
pub fn hangups() -> Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("listening for SIGHUP")
}

impl Center {
    /// Each SIGHUP reloads the configuration file, as `POST /api/v1/admin/reload` does, and
    /// says what it did; a center without a file says there is nothing to reload. The task
    /// ends with the center (its handle on the reloader keeps the dialler's open).
    pub fn reload_on(&self, mut hangups: tokio::signal::unix::Signal) {
        let reloader = self.reloader.clone();
        let mut stopping = self.running.shutdown_handle().subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    hangup = hangups.recv() => if hangup.is_none() { break },
                    _ = stopping.changed() => break,
                }
                let Some(reloader) = &reloader else {
                    eprintln!("hotline: SIGHUP: this center runs without a configuration file; nothing to reload");
                    continue;
                };
                match reloader.reload("SIGHUP").await {
                    Ok(report) if report.restart_needed.is_empty() => println!(
                        "hotline: configuration reloaded: {} queues, {} agents, {} phones",
                        report.queues, report.agents, report.phones
                    ),
                    Ok(report) => println!(
                        "hotline: configuration reloaded: {} queues, {} agents, {} phones; a \
                         restart is needed for [{}]",
                        report.queues,
                        report.agents,
                        report.phones,
                        report.restart_needed.join("], [")
                    ),
                    Err(error) => eprintln!("hotline: reload refused, nothing changed: {error}"),
                }
            }
        });
    }

    /// Waits until the switch stops (its shutdown handle turned true), then stops the rest
    /// in order: the tasks beside it, the API, the dialler.
    pub async fn wait(self) -> Result<RuntimeStats> {
        let stats = self.running.wait().await.context("the switch stopped")?;
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some(api) = self.api {
            self.hub.close();
            let _ = api.shutdown.send(());
            let _ = api.task.await;
        }
        // The API's handles are gone with it: the outbound task ends with the last one.
        // The reloader tells the dialler of reloads: it holds a handle too.
        drop(self.reloader);
        drop(self.outbound);
        let _ = self.outbound_task.await;
        Ok(stats)
    }
}
