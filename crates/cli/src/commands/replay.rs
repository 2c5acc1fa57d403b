//! `promlite replay`: exposition files and scrape directories into a data directory, with a
//! progress bar; the data is compacted into blocks before exiting 0.

use std::collections::BTreeMap;
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

/// Replays every input, then flushes once. A file is flushed right after its replay (while
/// the head is empty that is the bulk path, which writes blocks directly); samples older than
/// the head accepts after a flush are backfilled into blocks of their own.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let times = scrape_times(args)?;
    for input in &args.inputs {
        anyhow::ensure!(input.exists(), "input {} does not exist", input.display());
    }
    // Rule files are checked before anything is replayed.
    let rules = if args.rules.is_empty() {
        None
    } else {
        let interval = parse_duration(&args.rule_eval_interval)
            .with_context(|| format!("--rule-eval-interval {:?}", args.rule_eval_interval))?;
        anyhow::ensure!(interval > 0, "--rule-eval-interval must be positive");
        Some((super::rules::load_rule_files(&args.rules)?, interval))
    };
    let options = super::apply_run_index(&args.runs, super::retention::options(&args.retention)?)?;
    let db = promlite::Db::open(&args.data.data_dir, options)
        .with_context(|| format!("opening data directory {}", args.data.data_dir.display()))?;
    let total_bytes: u64 = args.inputs.iter().map(|p| input_bytes(p)).sum();
    let bar = ReplayProgress::new(total_bytes);
    let started = Instant::now();
    let (mut done_bytes, mut done_samples) = (0u64, 0u64);
    let (mut n_samples, mut n_stale, mut n_series) = (0u64, 0u64, 0u64);
    let mut summary = Summary::default();
    let mut blocks = 0usize;
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
            // A file replayed into an empty head is written straight into durable blocks (the
            // bulk path); otherwise this flush compacts the head, as the final one would.
            flush: !input.is_dir(),
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
        let stored_samples = stats.input.samples.saturating_sub(stats.rejected_samples);
        let stored_stale = stats
            .input
            .stale_markers
            .saturating_sub(stats.rejected_stale_markers);
        done_samples += stored_samples + stored_stale;
        n_samples += stored_samples;
        n_stale += stored_stale;
        n_series += stats.input.series;
        blocks += stats.blocks_written;
        summary.add(&stats);
    }
    bar.update(done_bytes, done_samples);
    blocks += db
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
    summary.print();
    if let Some((rule_files, interval)) = rules {
        let Some((start, end)) = db.time_range() else {
            eprintln!("--rules: the data directory holds no samples, nothing to evaluate");
            return Ok(());
        };
        // The writer is closed first: the rules read the directory read-only and their
        // result blocks are moved into it, as `rules backfill` does.
        drop(db);
        let reader = super::open_existing(&args.data.data_dir)?;
        let outcome = super::rules::backfill_dir(
            &args.data.data_dir,
            reader,
            &rule_files,
            start,
            end,
            interval,
        )
        .context("recording rules over the replayed data")?;
        outcome.report();
    }
    Ok(())
}

/// How many positioned examples the summary shows.
const EXAMPLES: usize = 5;

/// What a replay skipped, rejected and warned about, over all inputs: printed once at the end
/// instead of a line per skipped line.
#[derive(Default)]
struct Summary {
    skipped: u64,
    skipped_by_reason: BTreeMap<String, u64>,
    examples: Vec<String>,
    rejected: u64,
    rejected_stale: u64,
    rejected_by_reason: BTreeMap<String, u64>,
    escape_warnings: u64,
    warnings: Vec<String>,
}

impl Summary {
    fn add(&mut self, stats: &promlite::ReplayStats) {
        self.skipped += stats.input.skipped_lines;
        for (reason, n) in &stats.input.skipped_by_reason {
            *self.skipped_by_reason.entry(reason.clone()).or_insert(0) += n;
        }
        for e in &stats.input.errors {
            if self.examples.len() < EXAMPLES {
                self.examples.push(e.to_string());
            }
        }
        self.rejected += stats.rejected_samples;
        self.rejected_stale += stats.rejected_stale_markers;
        for (reason, n) in &stats.rejected_by_reason {
            *self.rejected_by_reason.entry(reason.clone()).or_insert(0) += n;
        }
        self.escape_warnings += stats.input.escape_warnings;
        for w in &stats.input.warnings {
            if self.warnings.len() < EXAMPLES {
                self.warnings.push(w.to_string());
            }
        }
    }

    fn print(&self) {
        for w in &self.warnings {
            eprintln!("warning: {w}");
        }
        if self.escape_warnings > self.warnings.len() as u64 {
            eprintln!(
                "warning: {} more invalid escapes kept verbatim",
                self.escape_warnings - self.warnings.len() as u64
            );
        }
        if self.skipped > 0 {
            eprintln!("lenient: skipped {} malformed lines:", self.skipped);
            for (reason, n) in &self.skipped_by_reason {
                eprintln!("  {n:>8}  {reason}");
            }
            eprintln!("  first skipped lines:");
            for e in &self.examples {
                eprintln!("    {e}");
            }
        }
        if self.rejected > 0 || self.rejected_stale > 0 {
            eprintln!("lenient: rejected {} samples (not stored):", self.rejected);
            for (reason, n) in &self.rejected_by_reason {
                eprintln!("  {n:>8}  {reason}");
            }
            if self.rejected_stale > 0 {
                eprintln!("  {:>8}  staleness markers", self.rejected_stale);
            }
        }
    }
}
