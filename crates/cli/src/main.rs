//! `hotline`: the contact-center platform's command line.
//!
//! Subcommands: `erlang` (staffing math), `sim` (a simulated day that drives the real routing
//! core), `bench` (speed figures for BENCHMARKS.md), `serve` (the SIP switch and the REST
//! API), `demo` (the switch with simulated callers and agents), `apikey` (keys of the REST
//! API) and `keys` (the keys personal data is sealed with).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod center;
mod cmd_bench;
mod cmd_demo;
mod cmd_erlang;
mod cmd_import;
mod cmd_records;
mod cmd_serve;
mod cmd_sim;

/// hotline: an open-source contact center.
#[derive(Parser, Debug)]
#[command(name = "hotline", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate a day of the center from a scenario file, driving the real routing core.
    Sim(cmd_sim::SimArgs),
    /// Erlang C (or Erlang A with --patience): agents needed for a service-level target.
    Erlang(cmd_erlang::ErlangArgs),
    /// Speed benchmarks (routing decisions, a simulated day, the event log).
    Bench(cmd_bench::BenchArgs),
    /// Run the SIP switch: queue trunk calls and connect them to registered agents.
    Serve(cmd_serve::ServeArgs),
    /// The demo center with simulated callers and agents making real SIP calls on loopback.
    Demo(cmd_demo::DemoArgs),
    /// API keys of the REST API: create, list, revoke.
    Apikey(cmd_records::ApiKeyArgs),
    /// The keys personal data is sealed with: rotate.
    Keys(cmd_records::KeysArgs),
    /// People who log in (agents, supervisors, admins): create, list, disable.
    User(cmd_records::UserArgs),
    /// Import customers from the CRM's CSV file (upserts by external_id).
    Import(cmd_import::ImportArgs),
    /// Export customers as CSV (full numbers: personal data; audited).
    Export(cmd_import::ExportArgs),
    /// Call recordings (sealed on disk): open one as a WAV file (audited).
    Recording(cmd_records::RecordingArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Sim(args) => cmd_sim::run(args),
        Command::Erlang(args) => cmd_erlang::run(args),
        Command::Bench(args) => cmd_bench::run(args),
        Command::Serve(args) => cmd_serve::run(args),
        Command::Demo(args) => cmd_demo::run(args),
        Command::Apikey(args) => cmd_records::run_apikey(args),
        Command::Keys(args) => cmd_records::run_keys(args),
        Command::User(args) => cmd_records::run_user(args),
        Command::Import(args) => cmd_import::run_import(args),
        Command::Export(args) => cmd_import::run_export(args),
        Command::Recording(args) => cmd_records::run_recording(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line (with its causes), never a panic or a backtrace.
            eprintln!("hotline: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
