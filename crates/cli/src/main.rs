//! `hotline`: the contact-center platform's command line.
//!
//! Subcommands: `erlang` (staffing math), `sim` (a simulated day that drives the real routing
//! core) and `bench` (speed figures for BENCHMARKS.md). Later: `serve` and `demo`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd_erlang;

/// hotline: an open-source contact center.
#[derive(Parser, Debug)]
#[command(name = "hotline", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Erlang C (or Erlang A with --patience): agents needed for a service-level target.
    Erlang(cmd_erlang::ErlangArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Erlang(args) => cmd_erlang::run(args),
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
