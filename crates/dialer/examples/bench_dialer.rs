//! Runs the dialer benchmark and prints its report.
//!
//! ```text
//! cargo run --release -p hotline-dialer --example bench_dialer -- [TASKS] [POLLS] [SEED]
//! ```
//!
//! Defaults: 1,000,000 tasks, 200,000 polls, seed 1.

use std::process::ExitCode;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize, default: u64| -> Result<u64, String> {
        arguments.get(index).map_or(Ok(default), |text| {
            text.replace('_', "")
                .parse()
                .map_err(|_| format!("not a number: {text}"))
        })
    };
    let parsed =
        (|| Ok::<_, String>((number(0, 1_000_000)?, number(1, 200_000)?, number(2, 1)?)))();
    let (tasks, polls, seed) = match parsed {
        Ok(values) => values,
        Err(message) => {
            eprintln!("{message}\nusage: bench_dialer [TASKS] [POLLS] [SEED]");
            return ExitCode::from(2);
        }
    };
    let report = hotline_dialer::bench::bench_dialer(tasks as usize, polls as usize, seed);
    println!("{report}");
    ExitCode::SUCCESS
}
