//! `hotline sim`: run one or more scenario files and print the day, interval by interval.
//!
//! With two or more scenarios (for example a baseline and a change), a side-by-side comparison
//! of the totals follows the reports, so the effect of the change is one table.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use hotline_routing::metrics::Counters;
use hotline_routing::QueueId;
use hotline_sim::{simulate_with_events, Report};
use serde_json::json;

/// Arguments of `hotline sim`.
#[derive(clap::Args, Debug)]
pub struct SimArgs {
    /// Scenario files (TOML). Two or more are compared side by side.
    #[arg(required = true, value_name = "SCENARIO.toml")]
    pub scenarios: Vec<PathBuf>,
    /// Random seed (overrides the scenario's `seed`); the same seed replays the same day.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also write the report(s) as JSON to this file ("-" for standard output instead of the
    /// tables).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a chart of waiting contacts and service level across the day (SVG).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Leave out the per-interval table.
    #[arg(long)]
    pub totals_only: bool,
    /// Write every routing event of the day to this SQLite event log (one scenario only).
    #[arg(long, value_name = "FILE.db")]
    pub event_log: Option<PathBuf>,
}

/// Runs `hotline sim`.
pub fn run(args: &SimArgs) -> anyhow::Result<()> {
    let mut scenarios = Vec::new();
    for path in &args.scenarios {
        // Every problem in every file, each on its own line with file, line and field.
        match hotline_config::load_scenario(path) {
            Ok(s) => scenarios.push(s),
            Err(diagnostics) => bail!(
                "{path}: invalid scenario\n{diagnostics}",
                path = path.display()
            ),
        }
    }
    if args.event_log.is_some() && scenarios.len() != 1 {
        bail!(
            "--event-log takes one scenario; {} were given",
            scenarios.len()
        );
    }
    let mut event_log = match &args.event_log {
        Some(path) => Some(EventLogSink::open(path)?),
        None => None,
    };
    let mut reports = Vec::new();
    let show_progress = std::io::stderr().is_terminal();
    for scenario in &scenarios {
        let seed = args.seed.unwrap_or(scenario.seed);
        let total = scenario.duration;
        let name = scenario.name.clone();
        let mut progress = |reached: Duration| {
            if show_progress {
                eprint!(
                    "\rsimulating {name}: {} of {} ",
                    clock(reached),
                    clock(total)
                );
            }
        };
        let routing = &scenario.routing;
        let mut on_event = |at: hotline_routing::Time, event: &hotline_routing::Event| {
            if let Some(sink) = event_log.as_mut() {
                sink.push(hotline_store::routing_log::encode(routing, at, event));
            }
        };
        let report = simulate_with_events(scenario, seed, &mut progress, &mut on_event).map_err(
            |errors| {
                let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                anyhow::anyhow!("scenario {name:?} cannot run:\n{}", lines.join("\n"))
            },
        )?;
        if let Some(sink) = event_log.take() {
            let (path, written) = sink.finish()?;
            eprintln!("wrote {written} events to {}", path.display());
        }
        if show_progress {
            eprint!("\r{:60}\r", "");
        }
        reports.push(report);
    }
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if !json_to_stdout {
        let mut out = String::new();
        for report in &reports {
            out.push_str(&render_report(report, !args.totals_only));
            out.push('\n');
        }
        if reports.len() > 1 {
            out.push_str(&render_comparison(&reports));
        }
        std::io::stdout().write_all(out.as_bytes())?;
    }
    if let Some(path) = &args.json {
        let value = if reports.len() == 1 {
            report_json(&reports[0])
        } else {
            serde_json::Value::Array(reports.iter().map(report_json).collect())
        };
        let text = serde_json::to_string_pretty(&value)? + "\n";
        if json_to_stdout {
            std::io::stdout().write_all(text.as_bytes())?;
        } else {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, render_svg(&reports))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Streams events into a SQLite event log in large transactions while the day runs.
struct EventLogSink {
    path: PathBuf,
    runtime: tokio::runtime::Runtime,
    log: hotline_store::SqliteEventLog,
    buffer: Vec<hotline_store::NewEvent>,
    written: u64,
    error: Option<anyhow::Error>,
}

impl EventLogSink {
    fn open(path: &std::path::Path) -> anyhow::Result<EventLogSink> {
        if path.exists() {
            bail!(
                "{} exists already; the event log is never overwritten",
                path.display()
            );
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let log = runtime
            .block_on(hotline_store::SqliteEventLog::open(path))
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(EventLogSink {
            path: path.to_path_buf(),
            runtime,
            log,
            buffer: Vec::with_capacity(hotline_store::MAX_EVENTS_PER_APPEND),
            written: 0,
            error: None,
        })
    }

    fn push(&mut self, row: hotline_store::NewEvent) {
        self.buffer.push(row);
        if self.buffer.len() >= hotline_store::MAX_EVENTS_PER_APPEND {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.buffer.is_empty() || self.error.is_some() {
            self.buffer.clear();
            return;
        }
        match self
            .runtime
            .block_on(hotline_store::EventLog::append(&self.log, &self.buffer))
        {
            Ok(_) => self.written += self.buffer.len() as u64,
            Err(e) => self.error = Some(anyhow::Error::new(e).context("writing the event log")),
        }
        self.buffer.clear();
    }

    fn finish(mut self) -> anyhow::Result<(PathBuf, u64)> {
        self.flush();
        self.runtime.block_on(self.log.close());
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok((self.path.clone(), self.written)),
        }
    }
}

/// `HH:MM` for an offset into the day.
fn clock(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A duration for people: `7.8 s`, `2m 05s`, `1h 02m`.
fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{}m {:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{}h {:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

fn percent(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn opt_human(d: Option<Duration>) -> String {
    d.map_or("-".into(), human)
}

/// Columns a text takes in a terminal: a Chinese character takes two.
fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// A plain text table: the first column left-aligned, the others right-aligned.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - width(cell);
            if i == 0 {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str("  ");
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn interval_row(label: String, c: &Counters, span: Duration) -> Vec<String> {
    vec![
        label,
        c.offered.to_string(),
        c.answered.to_string(),
        c.abandoned.to_string(),
        percent(c.service_level()),
        opt_human(c.asa()),
        human(Duration::from_millis(c.longest_wait_ms)),
        format!("{:.1}", c.average_held(span)),
        format!("{:.0}", c.average_staffed(span)),
        percent(c.occupancy()),
    ]
}

fn render_report(report: &Report, intervals: bool) -> String {
    let m = &report.metrics;
    let interval = m.interval();
    let mut out = format!(
        "== {} (seed {}, {} day, {}-minute intervals)\n\n",
        report.scenario,
        report.seed,
        human(report.duration),
        interval.as_secs() / 60
    );
    let header = [
        "interval",
        "offered",
        "answered",
        "abandoned",
        "SL",
        "ASA",
        "longest",
        "waiting",
        "agents",
        "occupancy",
    ];
    let mut rows = Vec::new();
    if intervals {
        for i in 0..m.interval_count() {
            let c = m.center(i);
            if c == Counters::default() {
                continue;
            }
            rows.push(interval_row(clock(interval * i as u32), &c, interval));
        }
    }
    let total = m.center_total();
    let day = interval * m.interval_count().max(1) as u32;
    rows.push(interval_row("total".into(), &total, day));
    out.push_str(&table(&header, &rows));
    out.push('\n');

    let mut rows = Vec::new();
    for (qi, name) in report.queue_names.iter().enumerate() {
        let c = m.queue_total(QueueId(qi as u32));
        rows.push(vec![
            name.clone(),
            c.offered.to_string(),
            c.answered.to_string(),
            c.abandoned.to_string(),
            c.overflowed.to_string(),
            c.refused.to_string(),
            percent(c.service_level()),
            opt_human(c.asa()),
            human(Duration::from_millis(c.longest_wait_ms)),
            opt_human(c.aht()),
        ]);
    }
    out.push_str(&table(
        &[
            "queue",
            "offered",
            "answered",
            "abandoned",
            "overflowed",
            "refused",
            "SL",
            "ASA",
            "longest",
            "AHT",
        ],
        &rows,
    ));
    out.push('\n');

    let rows: Vec<Vec<String>> = report
        .segments
        .iter()
        .map(|s| {
            vec![
                format!("{}/{}", s.call_type, s.segment),
                s.offered.to_string(),
                s.answered.to_string(),
                s.abandoned.to_string(),
                percent((s.offered > 0).then(|| s.abandoned as f64 / s.offered as f64)),
                s.callbacks.to_string(),
                opt_human(s.average_wait()),
                human(Duration::from_millis(s.longest_answered_wait_ms)),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "segment",
            "offered",
            "answered",
            "abandoned",
            "abandon%",
            "callbacks",
            "avg wait",
            "longest",
        ],
        &rows,
    ));
    if total.callbacks_requested > 0 {
        out.push_str(&format!(
            "\ncallbacks: {} requested, {} connected, {} failed, {} cancelled; {} dials; timeliness {}\n",
            total.callbacks_requested,
            total.callbacks_connected,
            total.callbacks_failed,
            total.callbacks_cancelled,
            total.callback_dials,
            percent(total.callback_timeliness())
        ));
    }
    let e = &report.estimates;
    out.push_str(&format!(
        "\nwait estimate at arrival, over {} answered calls that queued:\n  routing core    mean absolute error {:.1} s (bias {:+.1} s)\n  Asterisk's mean mean absolute error {:.1} s (bias {:+.1} s)\n",
        e.samples, e.ours_mae_seconds, e.ours_bias_seconds, e.asterisk_mae_seconds, e.asterisk_bias_seconds
    ));
    let logged_in = (total.agent_on_contact_ms
        + total.agent_wrap_up_ms
        + total.agent_available_ms
        + total.agent_not_ready_ms)
        .max(1) as f64;
    let share = |ms: u64| format!("{:.1}%", ms as f64 / logged_in * 100.0);
    out.push_str(&format!(
        "agent time: {} on contacts, {} wrap-up, {} ready or ringing, {} not ready\n",
        share(total.agent_on_contact_ms),
        share(total.agent_wrap_up_ms),
        share(total.agent_available_ms),
        share(total.agent_not_ready_ms)
    ));
    out.push_str(&format!(
        "connect rate {}, {} arrivals, {} routing events\n",
        percent(total.connect_rate()),
        report.arrivals,
        report.router_events
    ));
    out
}

fn render_comparison(reports: &[Report]) -> String {
    let mut header = vec!["comparison".to_string()];
    header.extend(reports.iter().map(|r| r.scenario.clone()));
    let totals: Vec<Counters> = reports.iter().map(|r| r.metrics.center_total()).collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut r = vec!["callers".to_string()];
    r.extend(reports.iter().map(|x| x.arrivals.to_string()));
    rows.push(r);
    let mut row = |label: &str, f: &dyn Fn(&Counters) -> String| {
        let mut r = vec![label.to_string()];
        r.extend(totals.iter().map(f));
        rows.push(r);
    };
    row("callbacks requested", &|c| {
        c.callbacks_requested.to_string()
    });
    row("average wait (ASA)", &|c| opt_human(c.asa()));
    row("service level", &|c| percent(c.service_level()));
    row("abandonment", &|c| percent(c.abandonment_rate()));
    row("longest wait", &|c| {
        human(Duration::from_millis(c.longest_wait_ms))
    });
    row("occupancy", &|c| percent(c.occupancy()));
    row("connect rate", &|c| percent(c.connect_rate()));
    // Segments present in every report, by name.
    if let Some(first) = reports.first() {
        for s in &first.segments {
            let label = format!("{}/{} avg wait", s.call_type, s.segment);
            let mut r = vec![label];
            for report in reports {
                let found = report
                    .segments
                    .iter()
                    .find(|o| o.call_type == s.call_type && o.segment == s.segment);
                r.push(found.map_or("-".into(), |o| opt_human(o.average_wait())));
            }
            rows.push(r);
        }
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    table(&header, &rows)
}

fn counters_json(c: &Counters, span: Duration) -> serde_json::Value {
    json!({
        "offered": c.offered,
        "answered": c.answered,
        "answered_in_threshold": c.answered_in_threshold,
        "abandoned": c.abandoned,
        "short_abandoned": c.short_abandoned,
        "overflowed": c.overflowed,
        "refused": c.refused,
        "service_level": c.service_level(),
        "asa_seconds": c.asa().map(|d| d.as_secs_f64()),
        "abandonment_rate": c.abandonment_rate(),
        "connect_rate": c.connect_rate(),
        "aht_seconds": c.aht().map(|d| d.as_secs_f64()),
        "occupancy": c.occupancy(),
        "longest_wait_seconds": c.longest_wait_ms as f64 / 1000.0,
        "average_waiting": c.average_held(span),
        "peak_waiting": c.held_peak,
        "agents_staffed": c.average_staffed(span),
        "agent_on_contact_seconds": c.agent_on_contact_ms as f64 / 1000.0,
        "agent_wrap_up_seconds": c.agent_wrap_up_ms as f64 / 1000.0,
        "agent_available_seconds": c.agent_available_ms as f64 / 1000.0,
        "agent_not_ready_seconds": c.agent_not_ready_ms as f64 / 1000.0,
        "callbacks_requested": c.callbacks_requested,
        "callbacks_connected": c.callbacks_connected,
        "callbacks_failed": c.callbacks_failed,
        "callback_dials": c.callback_dials,
        "callback_timeliness": c.callback_timeliness(),
    })
}

fn report_json(report: &Report) -> serde_json::Value {
    let m = &report.metrics;
    let interval = m.interval();
    let day = interval * m.interval_count().max(1) as u32;
    let intervals: Vec<serde_json::Value> = (0..m.interval_count())
        .map(|i| {
            let mut v = counters_json(&m.center(i), interval);
            v["start"] = json!(clock(interval * i as u32));
            v
        })
        .collect();
    let queues: Vec<serde_json::Value> = report
        .queue_names
        .iter()
        .enumerate()
        .map(|(qi, name)| {
            let mut v = counters_json(&m.queue_total(QueueId(qi as u32)), day);
            v["name"] = json!(name);
            v
        })
        .collect();
    let segments: Vec<serde_json::Value> = report
        .segments
        .iter()
        .map(|s| {
            json!({
                "call_type": s.call_type,
                "segment": s.segment,
                "offered": s.offered,
                "answered": s.answered,
                "abandoned": s.abandoned,
                "callbacks": s.callbacks,
                "callbacks_connected": s.callbacks_connected,
                "average_wait_seconds": s.average_wait().map(|d| d.as_secs_f64()),
                "longest_answered_wait_seconds": s.longest_answered_wait_ms as f64 / 1000.0,
            })
        })
        .collect();
    let e = &report.estimates;
    json!({
        "scenario": report.scenario,
        "seed": report.seed,
        "duration_seconds": report.duration.as_secs_f64(),
        "interval_seconds": interval.as_secs_f64(),
        "arrivals": report.arrivals,
        "router_events": report.router_events,
        "total": counters_json(&m.center_total(), day),
        "intervals": intervals,
        "queues": queues,
        "segments": segments,
        "wait_estimates": {
            "samples": e.samples,
            "routing_core_mae_seconds": e.ours_mae_seconds,
            "routing_core_bias_seconds": e.ours_bias_seconds,
            "asterisk_mae_seconds": e.asterisk_mae_seconds,
            "asterisk_bias_seconds": e.asterisk_bias_seconds,
        },
    })
}

const COLOURS: [&str; 4] = ["#1f6feb", "#d9480f", "#2b8a3e", "#862e9c"];

/// Two stacked panels over the day: average contacts waiting, and service level.
fn render_svg(reports: &[Report]) -> String {
    let (width, panel, left, top, gap) = (960.0, 220.0, 60.0, 40.0, 50.0);
    let plot_w = width - left - 20.0;
    let height = top + 2.0 * panel + gap + 60.0;
    let day = reports
        .iter()
        .map(|r| r.duration.as_secs_f64())
        .fold(1.0, f64::max);
    let x = |seconds: f64| left + plot_w * seconds / day;
    let mut max_waiting: f64 = 1.0;
    for r in reports {
        let m = &r.metrics;
        for i in 0..m.interval_count() {
            max_waiting = max_waiting.max(m.center(i).average_held(m.interval()));
        }
    }
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="20" font-size="14" font-weight="bold">Contacts waiting (average per interval)</text>
<text x="{left}" y="{}" font-size="14" font-weight="bold">Service level</text>
"##,
        top + panel + gap - 10.0
    );
    // Axes and grid.
    for (panel_top, labels) in [
        (
            top,
            [0.0, max_waiting / 2.0, max_waiting].map(|v| format!("{v:.0}")),
        ),
        (
            top + panel + gap,
            ["0%".into(), "50%".into(), "100%".into()],
        ),
    ] {
        for (k, label) in labels.iter().enumerate() {
            let y = panel_top + panel - panel * k as f64 / 2.0;
            s.push_str(&format!(
                r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{label}</text>
"##,
                left + plot_w,
                left - 6.0,
                y + 4.0
            ));
        }
        let hours = (day / 3600.0).ceil() as u64;
        let step = if hours > 24 { 12 } else { 3 };
        for h in (0..=hours).step_by(step as usize) {
            let xh = x(h as f64 * 3600.0);
            s.push_str(&format!(
                r##"<line x1="{xh}" y1="{panel_top}" x2="{xh}" y2="{}" stroke="#eee"/><text x="{xh}" y="{}" text-anchor="middle">{:02}:00</text>
"##,
                panel_top + panel,
                panel_top + panel + 16.0,
                h % 24
            ));
        }
    }
    for (ri, r) in reports.iter().enumerate() {
        let colour = COLOURS[ri % COLOURS.len()];
        let m = &r.metrics;
        let iv = m.interval().as_secs_f64();
        let mut waiting = Vec::new();
        let mut service = Vec::new();
        for i in 0..m.interval_count() {
            let c = m.center(i);
            let mid = (i as f64 + 0.5) * iv;
            if mid > day {
                break;
            }
            waiting.push(format!(
                "{:.1},{:.1}",
                x(mid),
                top + panel - panel * c.average_held(m.interval()) / max_waiting
            ));
            if let Some(sl) = c.service_level() {
                service.push(format!(
                    "{:.1},{:.1}",
                    x(mid),
                    top + panel + gap + panel - panel * sl
                ));
            }
        }
        s.push_str(&format!(
            r##"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>
<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>
<rect x="{}" y="{}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}">{}</text>
"##,
            waiting.join(" "),
            service.join(" "),
            left + 220.0 * ri as f64,
            height - 24.0,
            left + 220.0 * ri as f64 + 18.0,
            height - 14.0,
            escape(&r.scenario)
        ));
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(7_800)), "7.8 s");
        assert_eq!(human(Duration::from_secs(125)), "2m 05s");
        assert_eq!(human(Duration::from_secs(3720)), "1h 02m");
        assert_eq!(clock(Duration::from_secs(9 * 3600 + 30 * 60)), "09:30");
    }

    #[test]
    fn tables_align() {
        let t = table(&["a", "bb"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "a    bb\nxyz   1\n");
    }

    #[test]
    fn chinese_names_keep_the_columns_aligned() {
        let t = table(
            &["segment", "n"],
            &[
                vec!["售前/会员".into(), "12".into()],
                vec!["ab".into(), "3".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        // Every line ends at the same terminal column.
        let ends: Vec<usize> = lines.iter().map(|l| width(l)).collect();
        assert!(ends.windows(2).all(|w| w[0] == w[1]), "{t}");
    }

    #[test]
    fn svg_escapes_names() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
