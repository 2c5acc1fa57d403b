//! `promlite export --format prometheus-blocks OUT_DIR`: stored series as Prometheus blocks.

use std::time::Instant;

use anyhow::Context as _;
use promlite_http::params::parse_time;
use promlite_promtsdb::{export_blocks, ExportOptions};

use super::open_existing;
use crate::args::{ExportArgs, ExportFormat};

fn time_arg(name: &str, text: Option<&String>) -> anyhow::Result<Option<i64>> {
    text.map(|t| parse_time(t).map_err(|e| anyhow::anyhow!("--{name} {t:?}: {e}")))
        .transpose()
}

/// Runs the command.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let ExportFormat::PrometheusBlocks = args.format;
    let db = open_existing(&args.data.data_dir)?;
    let options = ExportOptions {
        start: time_arg("start", args.start.as_ref())?,
        end: time_arg("end", args.end.as_ref())?,
        selectors: args.matchers.clone(),
        ..ExportOptions::default()
    };
    let started = Instant::now();
    let summary = export_blocks(&db, &args.out, &options, &mut |meta| {
        eprintln!(
            "block {}  {}..{}  {} series  {} samples  {} chunks",
            meta.ulid,
            meta.min_time,
            meta.max_time,
            meta.stats.num_series,
            meta.stats.num_samples,
            meta.stats.num_chunks
        );
    })
    .with_context(|| format!("exporting to {}", args.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "exported {} blocks, {} series, {} samples to {} in {:.2}s ({:.0} samples/s)",
        summary.blocks.len(),
        summary.series,
        summary.samples,
        args.out.display(),
        secs,
        summary.samples as f64 / secs.max(1e-9)
    );
    Ok(())
}
