//! `bench`: runs the benchmark harness without the CLI (the `promlite bench` subcommand is the
//! supported entry point; this example exists for measuring while the CLI is elsewhere).
//!
//! Usage: `cargo run --release -p promlite-bench --example bench -- [--size large] [--style legacy]
//! [--work-dir DIR] [--workload-dir DIR] [--runs 5] [--warmup 1] [--step-ms 60000] [--query NAME]...
//! [--no-promlite] [--no-prometheus] [--no-victoria] [--no-fast-path] [--instant-only]
//! [--range-only] [--json FILE] [--markdown FILE]`

use std::process::ExitCode;

use promlite_bench::{run, BenchOptions};

fn main() -> ExitCode {
    let mut opts = BenchOptions::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let parsed = (|| -> Result<(), String> {
            match flag.as_str() {
                "--size" => opts.size = value()?,
                "--style" => opts.style = value()?,
                "--seed" => opts.seed = Some(value()?.parse().map_err(|e| format!("--seed: {e}"))?),
                "--work-dir" => opts.work_dir = value()?.into(),
                "--workload-dir" => opts.workload_dir = value()?.into(),
                "--runs" => opts.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
                "--warmup" => {
                    opts.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?
                }
                "--step-ms" => {
                    opts.step_ms = value()?.parse().map_err(|e| format!("--step-ms: {e}"))?
                }
                "--query" => opts.queries.push(value()?),
                "--no-promlite" => opts.engines.promlite = false,
                "--no-prometheus" => opts.engines.prometheus = false,
                "--no-victoria" => opts.engines.victoria = false,
                "--no-fast-path" => opts.fast_path = false,
                "--instant-only" => opts.range = false,
                "--range-only" => opts.instant = false,
                "--json" => opts.json_out = Some(value()?.into()),
                "--markdown" => opts.markdown_out = Some(value()?.into()),
                other => return Err(format!("unknown flag {other}")),
            }
            Ok(())
        })();
        if let Err(msg) = parsed {
            eprintln!("bench: {msg}");
            return ExitCode::from(2);
        }
    }
    match run(&opts, &mut std::io::stdout()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
