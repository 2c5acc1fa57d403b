//! `promlite import prometheus-blocks DIR --data-dir D`: Prometheus blocks into promlite.

use std::time::Instant;

use anyhow::Context as _;
use promlite_promtsdb::import_blocks;

use crate::args::{ImportArgs, ImportFormat};

/// Runs the command.
pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    let ImportFormat::PrometheusBlocks = args.format;
    if !args.input.is_dir() {
        anyhow::bail!("{} is not a directory", args.input.display());
    }
    let dir = &args.data.data_dir;
    let db = promlite::Db::open(dir, promlite::Options::default())
        .with_context(|| format!("opening data directory {}", dir.display()))?;
    let started = Instant::now();
    let summary = import_blocks(&db, &args.input, &mut |block, samples| {
        eprintln!("block {}  {} samples", block.display(), samples);
    })
    .with_context(|| format!("importing {}", args.input.display()))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "imported {} blocks, {} series, {} samples into {} in {:.2}s ({:.0} samples/s)",
        summary.blocks,
        summary.series,
        summary.samples,
        dir.display(),
        secs,
        summary.samples as f64 / secs.max(1e-9)
    );
    Ok(())
}
