//! `promlite remote-write`: ships a data directory's series to a remote write receiver, with a
//! progress bar and a summary of the samples sent and rejected.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use promlite_http::params::{parse_duration, parse_time};
use promlite_remote::sender::{push, PushOptions};

use crate::args::DataDir;

/// `promlite remote-write`.
#[derive(Debug, Args)]
pub struct RemoteWriteArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// The receiver's remote write URL, e.g. `http://127.0.0.1:8428/api/v1/write`.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// Start of the range to send (RFC 3339 or Unix seconds). Default: the oldest sample.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// End of the range to send (RFC 3339 or Unix seconds). Default: the newest sample.
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// Only series matching this selector (repeatable; default: every series).
    #[arg(long = "match", value_name = "SELECTOR")]
    pub matchers: Vec<String>,
    /// Samples per request (Prometheus's `max_samples_per_send`).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub batch_samples: usize,
    /// Requests in flight at once (shards).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Width of the time windows sent in order (a Prometheus receiver refuses samples over an
    /// hour older than its newest; keep this well under 1h for it).
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub window: String,
    /// Retries of a batch answered 5xx/429 (or not answered) before giving up.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_retries: u32,
    /// Progress file: a rerun with the same flags resumes after the last completed window.
    /// Default: `<data-dir>/remote-write.checkpoint.json`; `--no-checkpoint` keeps none.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Keep no progress file (a rerun sends everything again).
    #[arg(long, conflicts_with = "checkpoint")]
    pub no_checkpoint: bool,
}

/// Runs the push and prints the summary.
pub fn run(args: &RemoteWriteArgs) -> anyhow::Result<()> {
    let db = super::open_existing(&args.data.data_dir)?;
    let Some((oldest, newest)) = db.time_range() else {
        eprintln!("the data directory holds no samples; nothing to send");
        return Ok(());
    };
    let start = match &args.start {
        Some(text) => parse_time(text).context("--start")?,
        None => oldest,
    };
    let end = match &args.end {
        Some(text) => parse_time(text).context("--end")?,
        None => newest,
    };
    let mut options = PushOptions::new(args.url.clone(), start, end);
    options.selectors = args.matchers.clone();
    options.max_samples_per_send = args.batch_samples;
    options.concurrency = args.concurrency;
    options.window_ms = parse_duration(&args.window).context("--window")?;
    options.max_retries = args.max_retries;
    options.checkpoint = if args.no_checkpoint {
        None
    } else {
        Some(
            args.checkpoint
                .clone()
                .unwrap_or_else(|| args.data.data_dir.join("remote-write.checkpoint.json")),
        )
    };
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{wide_bar}] window {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let result = push(&db, &options, |progress| {
        bar.set_length(progress.windows_total);
        bar.set_position(progress.windows_done);
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{} samples sent, {} rejected, {:.0} samples/s",
            progress.stats.samples_sent,
            progress.stats.samples_rejected,
            progress.stats.samples_sent as f64 / secs
        ));
    });
    bar.finish_and_clear();
    let stats = result.with_context(|| format!("pushing to {}", args.url))?;
    let elapsed = started.elapsed();
    println!(
        "sent {} samples of {} series in {} requests ({} bytes, {} retries) in {:.2?} ({:.0} samples/s); rejected {} samples",
        stats.samples_sent,
        stats.series,
        stats.requests,
        stats.bytes_sent,
        stats.retries,
        elapsed,
        stats.samples_sent as f64 / elapsed.max(Duration::from_millis(1)).as_secs_f64(),
        stats.samples_rejected,
    );
    if stats.windows_resumed > 0 {
        println!(
            "resumed after {} of {} windows recorded in the checkpoint (their samples are included above)",
            stats.windows_resumed, stats.windows_total
        );
    }
    if stats.samples_rejected > 0 {
        anyhow::bail!(
            "the receiver rejected {} samples (non-retryable 4xx answers)",
            stats.samples_rejected
        );
    }
    Ok(())
}
