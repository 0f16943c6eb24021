//! Runs the knowledge-base search benchmark and prints its report.
//!
//! ```text
//! cargo run --release -p hotline-kb --example bench_search -- [ARTICLES] [QUERIES] [SEED]
//! ```
//!
//! Defaults: 100,000 articles, 10,000 searches, seed 1.

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
    let parsed = (|| Ok::<_, String>((number(0, 100_000)?, number(1, 10_000)?, number(2, 1)?)))();
    let (articles, queries, seed) = match parsed {
        Ok(values) => values,
        Err(message) => {
            eprintln!("{message}\nusage: bench_search [ARTICLES] [QUERIES] [SEED]");
            return ExitCode::from(2);
        }
    };
    match hotline_kb::bench::bench_search(articles as usize, queries as usize, seed) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}
