//! `gen`: writes a synthetic cluster as OpenMetrics or a scrape directory (used by scripts/).
//!
//! Usage: `cargo run -p promlite-cluster --example gen -- [--preset tiny|small|medium|large|huge]
//! [--style legacy|modern] [--shape classic|churn] [--seed N] [--start-ms MS] [--duration-ms MS] [--interval-ms MS]
//! (--stats | --stream | --openmetrics FILE | --scrape-dir DIR)`. `-` as FILE writes to stdout.
//! Counts and timings go to stderr; `--stats` only builds the cluster and prints the counts;
//! `--stream` runs every sample through `Cluster::for_each_sample` and writes nothing.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use promlite_cluster::{Cluster, ClusterSpec, LabelStyle, Shape, Size};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("gen: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut spec = ClusterSpec::preset(Size::Small);
    let mut size = Size::Small;
    let mut openmetrics: Option<String> = None;
    let mut scrape_dir: Option<String> = None;
    let mut stats_only = false;
    let mut stream = false;
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let value = || {
            args.get(i + 1)
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |v: String| v.parse::<i64>().map_err(|e| format!("{flag}: {e}"));
        match flag {
            "--preset" => {
                let v = value()?;
                let keep = (spec.label_style, spec.seed);
                size = Size::parse(&v).ok_or_else(|| format!("unknown preset {v}"))?;
                spec = ClusterSpec::shaped(size, spec.shape);
                if spec.shape == Shape::Classic {
                    spec.label_style = keep.0;
                }
                spec.seed = keep.1;
            }
            "--shape" => {
                let v = value()?;
                let shape = Shape::parse(&v).ok_or_else(|| format!("unknown shape {v}"))?;
                let seed = spec.seed;
                spec = ClusterSpec::shaped(size, shape);
                spec.seed = seed;
            }
            "--style" => {
                let v = value()?;
                spec.label_style =
                    LabelStyle::parse(&v).ok_or_else(|| format!("unknown style {v}"))?;
            }
            "--seed" => spec.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--start-ms" => spec.start_ms = number(value()?)?,
            "--duration-ms" => spec.duration_ms = number(value()?)?,
            "--interval-ms" => spec.interval_ms = number(value()?)?,
            "--openmetrics" => openmetrics = Some(value()?),
            "--scrape-dir" => scrape_dir = Some(value()?),
            "--stats" => {
                stats_only = true;
                i += 1;
                continue;
            }
            "--stream" => {
                stream = true;
                i += 1;
                continue;
            }
            other => return Err(format!("unknown argument {other}")),
        }
        i += 2;
    }
    let started = Instant::now();
    let cluster = Cluster::build(&spec).map_err(|e| e.to_string())?;
    let stats = cluster.stats();
    eprintln!(
        "nodes={} pods={} series={} samples={} scrapes={} build={:.2}s",
        stats.nodes,
        stats.pods,
        stats.series,
        stats.samples,
        stats.scrapes,
        started.elapsed().as_secs_f64()
    );
    if stats_only {
        return Ok(());
    }
    if stream {
        // In-process throughput: every sample through `for_each_sample`, nothing written.
        let started = Instant::now();
        let (mut n, mut sum) = (0u64, 0.0f64);
        cluster.for_each_sample(|_labels, _t, v| {
            n += 1;
            sum += v;
        });
        eprintln!(
            "streamed {n} samples (sum {sum:.3e}) in {:.2}s",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let started = Instant::now();
    let written = match (openmetrics, scrape_dir) {
        (Some(path), None) if path == "-" => {
            let stdout = std::io::stdout();
            let n = cluster
                .write_openmetrics(stdout.lock())
                .map_err(|e| e.to_string())?;
            std::io::stdout().flush().map_err(|e| e.to_string())?;
            n
        }
        (Some(path), None) => {
            let file = std::fs::File::create(&path).map_err(|e| format!("{path}: {e}"))?;
            cluster.write_openmetrics(file).map_err(|e| e.to_string())?
        }
        (None, Some(dir)) => cluster
            .write_scrape_dir(std::path::Path::new(&dir))
            .map_err(|e| e.to_string())?,
        _ => {
            return Err(
                "give exactly one of --openmetrics FILE, --scrape-dir DIR, --stats or --stream"
                    .into(),
            )
        }
    };
    eprintln!(
        "wrote {written} samples in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
