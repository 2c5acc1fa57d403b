//! `promlite replay`: exposition files and scrape directories into a data directory, with a
//! progress bar; the data is compacted into blocks before exiting 0.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use promlite::{ReplayOptions, ReplaySource, ScrapeTimes};
use promlite_http::params::{parse_duration, parse_time};

use crate::args::ReplayArgs;
use crate::progress::ReplayProgress;

/// Total size of the files a replay will read (directories: their regular files).
fn input_bytes(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    } else {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }
}

fn scrape_times(args: &ReplayArgs) -> anyhow::Result<ScrapeTimes> {
    match (&args.start, &args.interval) {
        (Some(start), Some(interval)) => {
            let start_ms = parse_time(start).with_context(|| format!("--start {start:?}"))?;
            let interval_ms =
                parse_duration(interval).with_context(|| format!("--interval {interval:?}"))?;
            anyhow::ensure!(interval_ms > 0, "--interval must be positive");
            Ok(ScrapeTimes::StartInterval {
                start_ms,
                interval_ms,
            })
        }
        _ => Ok(ScrapeTimes::FileNames),
    }
}

/// Replays every input, then flushes once (a flush makes older samples out of bounds, so
/// inputs may overlap in time only before it).
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let times = scrape_times(args)?;
    for input in &args.inputs {
        anyhow::ensure!(input.exists(), "input {} does not exist", input.display());
    }
    let options = super::apply_run_index(&args.runs, super::retention::options(&args.retention)?)?;
    let db = promlite::Db::open(&args.data.data_dir, options)
        .with_context(|| format!("opening data directory {}", args.data.data_dir.display()))?;
    let total_bytes: u64 = args.inputs.iter().map(|p| input_bytes(p)).sum();
    let bar = ReplayProgress::new(total_bytes);
    let started = Instant::now();
    let (mut done_bytes, mut done_samples) = (0u64, 0u64);
    let (mut n_samples, mut n_stale, mut n_series, mut n_skipped, mut n_rejected) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    for input in &args.inputs {
        let source = if input.is_dir() {
            ReplaySource::Dir(input, times)
        } else {
            ReplaySource::File(input)
        };
        let (base_bytes, base_samples) = (done_bytes, done_samples);
        let bar_ref = &bar;
        let target = args.target.target_for(input)?;
        let options = ReplayOptions {
            lenient: args.lenient,
            flush: false,
            progress: Some(Box::new(move |p: promlite::ReplayProgress| {
                bar_ref.update(base_bytes + p.bytes, base_samples + p.samples)
            })),
            target,
        };
        let stats = db
            .replay(source, options)
            .with_context(|| format!("replaying {}", input.display()));
        let stats = match stats {
            Ok(stats) => stats,
            Err(err) => {
                bar.finish();
                return Err(err);
            }
        };
        done_bytes += input_bytes(input);
        done_samples += (stats.input.samples + stats.input.stale_markers)
            .saturating_sub(stats.rejected_samples);
        n_samples += stats.input.samples;
        n_stale += stats.input.stale_markers;
        n_series += stats.input.series;
        n_skipped += stats.input.skipped_lines;
        n_rejected += stats.rejected_samples;
        for skipped in &stats.input.errors {
            bar.suspend(|| eprintln!("skipped: {skipped}"));
        }
    }
    bar.update(done_bytes, done_samples);
    let blocks = db
        .flush()
        .context("compacting the replayed data into blocks")?;
    db.sync().context("syncing the write-ahead log")?;
    bar.finish();
    let elapsed = started.elapsed();
    eprintln!(
        "replayed {} inputs ({} bytes): {n_samples} samples, {n_stale} staleness markers, {n_series} series \
         in {elapsed:.2?} ({:.0} samples/s); {blocks} blocks written to {}",
        args.inputs.len(),
        total_bytes,
        n_samples as f64 / elapsed.as_secs_f64().max(1e-9),
        args.data.data_dir.display()
    );
    if n_skipped > 0 || n_rejected > 0 {
        eprintln!("lenient: skipped {n_skipped} malformed lines and {n_rejected} rejected samples");
    }
    Ok(())
}
