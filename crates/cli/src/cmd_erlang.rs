//! `hotline erlang`: how many agents a queue needs, from Erlang C or Erlang A.
//!
//! ```text
//! hotline erlang --rate 200/h --aht 180 --sl 80/20 [--patience 120] [--agents N] [--json]
//! ```
//!
//! The arithmetic lives in [`hotline_sim::erlang`]; this module only parses the command line
//! and prints the figures, as an aligned table or as one JSON object.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use hotline_sim::erlang::{self, QueueFigures, ServiceLevelTarget, Staffing, Traffic};

/// How many agents a queue needs to meet a service level: Erlang C, or Erlang A when callers'
/// patience is given.
#[derive(clap::Args, Debug)]
pub struct ErlangArgs {
    /// Calls offered per unit of time: `200/h`, `3.3/min`, `0.05/s`, or a bare number of calls
    /// per hour.
    #[arg(long = "rate", value_name = "RATE", value_parser = parse_arrivals_per_hour)]
    pub arrivals_per_hour: f64,

    /// Average handle time (talk plus wrap-up): seconds, or with a unit: `180`, `180s`, `3m`.
    #[arg(long = "aht", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub average_handle_time: Duration,

    /// Service-level target as PERCENT/SECONDS: `80/20` means 80% of calls answered within
    /// 20 seconds.
    #[arg(long = "sl", value_name = "PERCENT/SECONDS", value_parser = parse_service_level_target)]
    pub service_level_target: ServiceLevelTarget,

    /// Mean caller patience (seconds, or with a unit). Given, the Erlang A model is used, in
    /// which callers hang up after waiting this long on average; left out, Erlang C, in which
    /// nobody hangs up.
    #[arg(long = "patience", value_name = "DURATION", value_parser = parse_positive_duration)]
    pub patience: Option<Duration>,

    /// Evaluate exactly this many agents instead of searching for the smallest number that
    /// meets the target.
    #[arg(long = "agents", value_name = "N", value_parser = parse_agents)]
    pub agents: Option<u32>,

    /// Print one JSON object instead of a table.
    #[arg(long = "json")]
    pub json: bool,
}

/// Runs `hotline erlang`: computes the figures and prints them to standard output.
pub fn run(args: &ErlangArgs) -> anyhow::Result<()> {
    let report = Report::compute(args)?;
    let text = if args.json {
        report.json()
    } else {
        report.table()
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    Ok(())
}

/// The figures to print: those of the evaluated staffing, and the search result beside them.
struct Report {
    traffic: Traffic,
    target: ServiceLevelTarget,
    figures: QueueFigures,
    /// Whether the agents were given on the command line rather than searched for.
    agents_given: bool,
    /// The smallest staffing that meets the target, or why there is none. Always `Ok` when
    /// the agents were searched for, since a failed search is the command's error.
    required: Result<Staffing, erlang::ErlangError>,
}

impl Report {
    fn compute(args: &ErlangArgs) -> anyhow::Result<Report> {
        let traffic = Traffic {
            arrivals_per_hour: args.arrivals_per_hour,
            average_handle_time: args.average_handle_time,
        };
        let target = args.service_level_target;
        let required = erlang::agents_required(&traffic, &target, args.patience);
        let figures = match args.agents {
            Some(agents) => erlang::evaluate(&traffic, agents, target.threshold, args.patience)?,
            // Without --agents the search is the whole answer, so its failure is the error.
            None => required.clone()?.figures,
        };
        Ok(Report {
            traffic,
            target,
            figures,
            agents_given: args.agents.is_some(),
            required,
        })
    }

    fn table(&self) -> String {
        let figures = &self.figures;
        let threshold = format_seconds(self.target.threshold);
        let mut rows: Vec<(&str, String)> = Vec::new();
        rows.push(("model", model_description(figures)));
        rows.push((
            "offered load",
            format!("{:.2} erlangs", figures.offered_load_erlangs),
        ));
        if self.agents_given {
            rows.push(("agents", figures.agents.to_string()));
        }
        rows.push((
            "agents required",
            match &self.required {
                Ok(staffing) => staffing.agents_required.to_string(),
                Err(error) => format!("none found: {error}"),
            },
        ));
        let verdict = if figures.service_level >= self.target.fraction {
            "met"
        } else {
            "not met"
        };
        rows.push((
            "service level",
            format!(
                "{} answered within {threshold} s (target {}: {verdict})",
                percent(figures.service_level),
                percent(self.target.fraction),
            ),
        ));
        rows.push((
            "average speed of answer",
            match figures.average_speed_of_answer {
                Some(asa) => format!("{:.1} s", asa.as_secs_f64()),
                None if !figures.is_stable => {
                    "unbounded: the load is at least the number of agents".to_owned()
                }
                None => "unbounded".to_owned(),
            },
        ));
        rows.push(("occupancy", percent(figures.occupancy)));
        rows.push((
            "probability of waiting",
            percent(figures.probability_of_waiting),
        ));
        if let Some(abandonment) = figures.abandonment {
            rows.push(("abandonment", percent(abandonment)));
        }

        let label_width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
        let mut table = String::new();
        for (index, (label, value)) in rows.iter().enumerate() {
            if index > 0 {
                table.push('\n');
            }
            // Writing to a String cannot fail.
            let _ = write!(table, "{label:<label_width$}  {value}");
        }
        table
    }

    fn json(&self) -> String {
        let figures = &self.figures;
        let mut object = serde_json::json!({
            "model": match figures.model {
                erlang::Model::ErlangC => "erlang_c",
                erlang::Model::ErlangA { .. } => "erlang_a",
            },
            "arrivals_per_hour": self.traffic.arrivals_per_hour,
            "average_handle_time_seconds": self.traffic.average_handle_time.as_secs_f64(),
            "offered_load_erlangs": figures.offered_load_erlangs,
            "agents": figures.agents,
            "agents_required": self.required.as_ref().ok().map(|staffing| staffing.agents_required),
            "service_level": figures.service_level,
            "service_level_target": self.target.fraction,
            "service_level_threshold_seconds": self.target.threshold.as_secs_f64(),
            "meets_target": figures.service_level >= self.target.fraction,
            "stable": figures.is_stable,
            "asa_seconds": figures.average_speed_of_answer.map(|asa| asa.as_secs_f64()),
            "occupancy": figures.occupancy,
            "probability_of_waiting": figures.probability_of_waiting,
            "expected_queue_length": figures.expected_queue_length,
        });
        if let erlang::Model::ErlangA { patience } = figures.model {
            object["patience_seconds"] = serde_json::json!(patience.as_secs_f64());
            object["abandonment"] = serde_json::json!(figures.abandonment);
        }
        object.to_string()
    }
}

fn model_description(figures: &QueueFigures) -> String {
    match figures.model {
        erlang::Model::ErlangC => "Erlang C (callers never hang up)".to_owned(),
        erlang::Model::ErlangA { patience } => {
            format!("Erlang A (mean patience {} s)", format_seconds(patience))
        }
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// Seconds without a trailing `.0` for whole numbers, as they were most likely typed.
fn format_seconds(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds.fract() == 0.0 {
        format!("{seconds:.0}")
    } else {
        format!("{seconds}")
    }
}

/// Parses `--rate`: a number, optionally followed by `/h`, `/min` or `/s` (and their longer
/// spellings); a bare number is calls per hour, the unit workforce plans are written in.
fn parse_arrivals_per_hour(text: &str) -> Result<f64, String> {
    const EXPECTED: &str =
        "expected a positive number of calls per hour or with a unit, such as 200/h, 3.3/min or 0.05/s";
    let (number, unit) = match text.split_once('/') {
        Some((number, unit)) => (number, Some(unit.trim())),
        None => (text, None),
    };
    let per_hour_factor = match unit {
        None | Some("h" | "hr" | "hour") => 1.0,
        Some("m" | "min" | "minute") => 60.0,
        Some("s" | "sec" | "second") => 3600.0,
        Some(_) => return Err(EXPECTED.to_owned()),
    };
    let calls: f64 = number.trim().parse().map_err(|_| EXPECTED.to_owned())?;
    let per_hour = calls * per_hour_factor;
    if per_hour.is_finite() && per_hour > 0.0 {
        Ok(per_hour)
    } else {
        Err(EXPECTED.to_owned())
    }
}

/// Parses a duration that may be zero: seconds as a bare number, or with a suffix `s`, `m`
/// (minutes) or `h`.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|character: char| character.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit {
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" | "hr" => 3600.0,
        _ => return None,
    };
    let number: f64 = number.trim().parse().ok()?;
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(number * seconds_per_unit).ok()
}

/// Parses `--aht` and `--patience`, which must be above zero.
fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Some(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(
            "expected a positive duration in seconds, or with a unit, such as 180, 180s or 3m"
                .to_owned(),
        ),
    }
}

/// Parses `--sl PERCENT/SECONDS`, for example `80/20`; a `%` after the percentage and a unit
/// after the seconds are accepted.
fn parse_service_level_target(text: &str) -> Result<ServiceLevelTarget, String> {
    const EXPECTED: &str =
        "expected PERCENT/SECONDS with the percentage strictly between 0 and 100, \
                            such as 80/20 (80% of calls answered within 20 seconds)";
    let (percent, threshold) = text.split_once('/').ok_or_else(|| EXPECTED.to_owned())?;
    let percent = percent.trim();
    let percent: f64 = percent
        .strip_suffix('%')
        .unwrap_or(percent)
        .trim()
        .parse()
        .map_err(|_| EXPECTED.to_owned())?;
    if !(percent > 0.0 && percent < 100.0) {
        return Err(EXPECTED.to_owned());
    }
    let threshold = parse_duration(threshold).ok_or_else(|| EXPECTED.to_owned())?;
    Ok(ServiceLevelTarget {
        fraction: percent / 100.0,
        threshold,
    })
}

/// Parses `--agents`, bounded like the search so that one evaluation stays quick.
fn parse_agents(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(agents) if (1..=erlang::MAX_AGENTS).contains(&agents) => Ok(agents),
        _ => Err(format!(
            "expected a whole number of agents from 1 to {}",
            erlang::MAX_AGENTS
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Stands in for the `hotline` binary's subcommand so the arguments can be parsed here.
    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(flatten)]
        erlang: ErlangArgs,
    }

    fn parse(arguments: &[&str]) -> Result<ErlangArgs, clap::Error> {
        let mut command_line = vec!["hotline-erlang"];
        command_line.extend_from_slice(arguments);
        TestCli::try_parse_from(command_line).map(|cli| cli.erlang)
    }

    fn json_for(arguments: &[&str]) -> serde_json::Value {
        let args = parse(arguments).unwrap();
        let report = Report::compute(&args).unwrap();
        serde_json::from_str(&report.json()).unwrap()
    }

    #[test]
    fn rates_accept_every_unit_and_default_to_per_hour() {
        assert_eq!(parse_arrivals_per_hour("200/h"), Ok(200.0));
        assert_eq!(parse_arrivals_per_hour("200"), Ok(200.0));
        assert_eq!(parse_arrivals_per_hour("200 / hour"), Ok(200.0));
        assert_eq!(parse_arrivals_per_hour("0.05/s"), Ok(180.0));
        let per_minute = parse_arrivals_per_hour("3.3/min").unwrap();
        assert!((per_minute - 198.0).abs() < 1e-9);
        for bad in [
            "", "abc", "200/day", "-5/h", "0", "nan", "inf/h", "200/h/h", "/h",
        ] {
            assert!(parse_arrivals_per_hour(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_accept_seconds_and_minutes() {
        assert_eq!(parse_positive_duration("180"), Ok(Duration::from_secs(180)));
        assert_eq!(
            parse_positive_duration("180s"),
            Ok(Duration::from_secs(180))
        );
        assert_eq!(parse_positive_duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_positive_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_positive_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["", "0", "0s", "-3", "3x", "m", "1e400", "nan"] {
            assert!(parse_positive_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn service_level_targets_are_percent_over_seconds() {
        assert_eq!(
            parse_service_level_target("80/20"),
            Ok(ServiceLevelTarget {
                fraction: 0.8,
                threshold: Duration::from_secs(20)
            })
        );
        assert_eq!(
            parse_service_level_target("90%/30s"),
            Ok(ServiceLevelTarget {
                fraction: 0.9,
                threshold: Duration::from_secs(30)
            })
        );
        // A zero threshold is a legitimate question: how many calls are answered at once.
        assert_eq!(
            parse_service_level_target("50/0").map(|target| target.threshold),
            Ok(Duration::ZERO)
        );
        for bad in [
            "80", "0/20", "100/20", "120/20", "80/-1", "80/x", "/20", "0.8/20s/",
        ] {
            assert!(parse_service_level_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn agents_must_be_a_positive_bounded_whole_number() {
        assert_eq!(parse_agents("14"), Ok(14));
        for bad in ["0", "-1", "1.5", "x", "100001", "99999999999"] {
            assert!(parse_agents(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_values_name_the_flag_and_what_is_expected() {
        let error = parse(&["--rate", "lots", "--aht", "180", "--sl", "80/20"]).unwrap_err();
        let message = error.to_string();
        let first_line = message.lines().next().unwrap();
        assert!(first_line.contains("--rate"), "{message}");
        assert!(first_line.contains("200/h"), "{message}");

        let error = parse(&["--rate", "200", "--aht", "180", "--sl", "80"]).unwrap_err();
        assert!(error.to_string().contains("--sl"));
        assert!(error.to_string().contains("PERCENT/SECONDS"));
    }

    #[test]
    fn textbook_case_prints_a_table_with_fourteen_agents() {
        let args = parse(&["--rate", "200/h", "--aht", "180", "--sl", "80/20"]).unwrap();
        let table = Report::compute(&args).unwrap().table();
        assert!(table.contains("Erlang C"), "{table}");
        assert!(table.contains("10.00 erlangs"), "{table}");
        assert!(table.lines().any(|line| line.starts_with("agents required")
            && line.trim_end().ends_with(" 14")), "{table}");
        assert!(table.contains("88.8% answered within 20 s"), "{table}");
        assert!(table.contains("7.8 s"), "{table}");
        assert!(table.contains("71.4%"), "{table}");
        assert!(!table.contains("abandonment"), "{table}");
        // Every value starts in the same column, two spaces after the longest label.
        let column = "average speed of answer".len() + 2;
        for line in table.lines() {
            assert_eq!(&line[column - 2..column], "  ", "{table}");
            assert_ne!(line.as_bytes()[column], b' ', "{table}");
        }
        run(&args).unwrap();
    }

    #[test]
    fn json_carries_the_figures() {
        let object = json_for(&["--rate", "200/h", "--aht", "3m", "--sl", "80/20", "--json"]);
        assert_eq!(object["model"], "erlang_c");
        assert_eq!(object["agents_required"], 14);
        assert_eq!(object["agents"], 14);
        assert!((object["service_level"].as_f64().unwrap() - 0.888).abs() < 0.001);
        assert!((object["asa_seconds"].as_f64().unwrap() - 7.8).abs() < 0.05);
        assert!((object["offered_load_erlangs"].as_f64().unwrap() - 10.0).abs() < 1e-9);
        assert!(object["occupancy"].as_f64().is_some());
        assert!(object["probability_of_waiting"].as_f64().is_some());
        assert!(object.get("abandonment").is_none());
    }

    #[test]
    fn patience_switches_to_erlang_a_and_reports_abandonment() {
        let arguments = [
            "--rate",
            "200",
            "--aht",
            "180s",
            "--sl",
            "80/20",
            "--patience",
            "120",
        ];
        let object = json_for(&arguments);
        assert_eq!(object["model"], "erlang_a");
        assert_eq!(object["patience_seconds"], 120.0);
        let abandonment = object["abandonment"].as_f64().unwrap();
        assert!(abandonment > 0.0 && abandonment < 0.2);
        let table = Report::compute(&parse(&arguments).unwrap())
            .unwrap()
            .table();
        assert!(table.contains("Erlang A (mean patience 120 s)"), "{table}");
        assert!(table.contains("abandonment"), "{table}");
    }

    #[test]
    fn given_agents_are_evaluated_even_when_overloaded() {
        let arguments = [
            "--rate", "200/h", "--aht", "180", "--sl", "80/20", "--agents", "9", "--json",
        ];
        let object = json_for(&arguments);
        assert_eq!(object["agents"], 9);
        assert_eq!(object["agents_required"], 14);
        assert_eq!(object["stable"], false);
        assert_eq!(object["meets_target"], false);
        assert!(object["asa_seconds"].is_null());
        let table = Report::compute(&parse(&arguments).unwrap())
            .unwrap()
            .table();
        assert!(table.contains("unbounded"), "{table}");
        assert!(table.contains("not met"), "{table}");
    }

    #[test]
    fn an_unreachable_target_is_an_error_not_a_panic() {
        let args = parse(&["--rate", "1e9/h", "--aht", "180", "--sl", "80/20"]).unwrap();
        let error = Report::compute(&args).err().unwrap();
        assert!(error.to_string().contains("cannot be met"), "{error}");
    }
}
