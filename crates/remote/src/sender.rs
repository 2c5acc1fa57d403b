//! The remote write sender: ships stored series in `[start, end]` that match selectors to a
//! remote write 1.0 receiver (Prometheus, VictoriaMetrics, Mimir, ...).
//!
//! How it mirrors Prometheus's queue manager (`storage/remote/queue_manager.go`):
//! - **Shards.** Series are spread over `concurrency` shards; each shard sends its batches one
//!   after another, so a series' samples always arrive in time order (receivers reject
//!   out-of-order samples), while the shards run in parallel (bounded concurrency).
//! - **Batches by size.** A batch closes at `max_samples_per_send` samples.
//! - **Retries.** 5xx, 429 and transport errors are retried with exponential backoff from
//!   `min_backoff` to `max_backoff`, honouring a `Retry-After` header in seconds; other 4xx
//!   answers are not retried: the batch is counted as rejected and the push goes on, as
//!   Prometheus drops such a batch. After `max_retries` retries the push stops with an error.
//!
//! **Time order across series.** The range is sent window by window (`window_ms`, 15 min by
//! default): every shard finishes window *k* before any starts *k + 1*. A Prometheus receiver
//! refuses samples more than an hour older than the newest it holds (out of bounds), so pushing
//! one series' whole history before the next series would lose data there.
//!
//! **Resuming.** With a checkpoint file, progress is recorded after every answered batch (the
//! file is replaced atomically: temporary file, rename; fsynced at each window's end): per
//! shard, how many batches of the current window the receiver answered. Batches are cut
//! deterministically (same parameters and stored data give the same series order, shards and
//! cuts), so a rerun with the same parameters skips the windows and batches already answered
//! and resends at most the one batch per shard that was in flight. That is safe because remote
//! write receivers apply a request as a whole (Prometheus and promlite roll the request back on
//! the first refused sample): the in-flight batch was either stored entirely, and a resend is
//! refused as out of order (Prometheus, promlite; counted as `samples_resent_refused`, not as
//! rejected) or stored again (VictoriaMetrics without `-dedup.minScrapeInterval` keeps the
//! duplicate samples of that one batch), or not stored at all, and the resend stores it.
//!
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use promlite::{Db, Labels, Matcher, Sample, Timestamp};
use promlite_model::SelectHints;

use crate::codec::{encode_write_request, SeriesSamples};
use crate::{Error, Result};

/// Settings of one push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The receiver's remote write URL, e.g. `http://127.0.0.1:8428/api/v1/write`.
    pub url: String,
    /// Inclusive start, milliseconds.
    pub start: Timestamp,
    /// Inclusive end, milliseconds.
    pub end: Timestamp,
    /// Series selectors (`up{job="api"}`); empty means every series.
    pub selectors: Vec<String>,
    /// Samples per request (Prometheus's `max_samples_per_send`; 2000 as in Prometheus 3).
    pub max_samples_per_send: usize,
    /// Shards sending at once.
    pub concurrency: usize,
    /// Width of the time windows sent in order (see the module docs).
    pub window_ms: i64,
    /// First retry delay.
    pub min_backoff: Duration,
    /// Largest retry delay (also caps `Retry-After`).
    pub max_backoff: Duration,
    /// Retries of one batch before the push fails.
    pub max_retries: u32,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// Where to record progress for resuming; `None` keeps none.
    pub checkpoint: Option<PathBuf>,
}

impl PushOptions {
    /// Options with Prometheus's queue defaults for `url` over `[start, end]`.
    pub fn new(url: impl Into<String>, start: Timestamp, end: Timestamp) -> PushOptions {
        PushOptions {
            url: url.into(),
            start,
            end,
            selectors: Vec::new(),
            max_samples_per_send: 2000,
            concurrency: 4,
            window_ms: 15 * 60 * 1000,
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            max_retries: 10,
            timeout: Duration::from_secs(30),
            checkpoint: None,
        }
    }
}

/// Totals of a push.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushStats {
    /// Series selected.
    pub series: u64,
    /// Samples the receiver accepted (2xx).
    pub samples_sent: u64,
    /// Samples in batches the receiver refused with a non-retryable 4xx.
    pub samples_rejected: u64,
    /// Requests answered 2xx.
    pub requests: u64,
    /// Retried requests.
    pub retries: u64,
    /// Compressed bytes sent in accepted requests.
    pub bytes_sent: u64,
    /// Samples of the first batch a resumed push resent per shard that the receiver refused:
    /// that batch may have been delivered before the interruption (Prometheus then refuses
    /// it as out of order), so it is not counted as rejected.
    pub samples_resent_refused: u64,
    /// Windows skipped because the checkpoint recorded them as done.
    pub windows_resumed: u64,
    /// Windows in the range.
    pub windows_total: u64,
}

impl PushStats {
    fn add(&mut self, other: &PushStats) {
        self.samples_sent += other.samples_sent;
        self.samples_rejected += other.samples_rejected;
        self.samples_resent_refused += other.samples_resent_refused;
        self.requests += other.requests;
        self.retries += other.retries;
        self.bytes_sent += other.bytes_sent;
    }
}

/// The progress file's content. Batches are deterministic for the same parameters and the
/// same stored data (series order, shard assignment, batch cuts), so "shard *s* finished *b*
/// batches of window *w*" identifies exactly what was delivered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    url: String,
    start: Timestamp,
    end: Timestamp,
    selectors: Vec<String>,
    window_ms: i64,
    max_samples_per_send: usize,
    concurrency: usize,
    /// Windows every shard finished.
    windows_done: u64,
    /// Per shard: batches answered (accepted or rejected) in window `windows_done`.
    shard_batches_done: Vec<u64>,
    samples_sent: u64,
    samples_rejected: u64,
}

impl Checkpoint {
    /// The parameters only, to compare a saved checkpoint with this push.
    fn parameters(&self) -> Checkpoint {
        Checkpoint {
            windows_done: 0,
            shard_batches_done: Vec::new(),
            samples_sent: 0,
            samples_rejected: 0,
            ..self.clone()
        }
    }
}

fn read_checkpoint(path: &Path) -> Result<Option<Checkpoint>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Checkpoint {
                path: path.to_path_buf(),
                detail: format!("does not parse: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Replaces the checkpoint atomically (temporary file, rename). With `durable` the file is
/// fsynced first; per-batch updates skip that: losing one to a power cut only means resending
/// batches the receiver already holds, which it refuses as out of order or ignores as exact
/// duplicates (see the module docs).
fn write_checkpoint(path: &Path, checkpoint: &Checkpoint, durable: bool) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec_pretty(checkpoint).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        if durable {
            file.sync_all().map_err(io)?;
        }
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// The checkpoint shared by the shards, written after every batch.
struct Progress {
    path: Option<PathBuf>,
    checkpoint: std::sync::Mutex<Checkpoint>,
}

impl Progress {
    /// Records that shard `shard_idx` finished another batch with `delta` as its outcome.
    fn batch_done(&self, shard_idx: usize, delta: &PushStats) -> Result<()> {
        let mut checkpoint = self
            .checkpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(done) = checkpoint.shard_batches_done.get_mut(shard_idx) {
            *done += 1;
        }
        checkpoint.samples_sent += delta.samples_sent;
        checkpoint.samples_rejected += delta.samples_rejected;
        match &self.path {
            Some(path) => write_checkpoint(path, &checkpoint, false),
            None => Ok(()),
        }
    }

    /// Records that every shard finished window `window_idx`.
    fn window_done(&self, window_idx: u64) -> Result<()> {
        let mut checkpoint = self
            .checkpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        checkpoint.windows_done = window_idx + 1;
        checkpoint
            .shard_batches_done
            .iter_mut()
            .for_each(|b| *b = 0);
        match &self.path {
            Some(path) => write_checkpoint(path, &checkpoint, true),
            None => Ok(()),
        }
    }
}

/// What one POST ended in.
enum Delivery {
    Accepted,
    Rejected,
}

/// The HTTP side of a push: one agent shared by the shards.
struct Client {
    agent: ureq::Agent,
    options: PushOptions,
}

impl Client {
    fn new(options: &PushOptions) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            options: options.clone(),
        }
    }

    /// One attempt: the status and the `Retry-After` delay, or a transport error.
    fn post_once(&self, body: &[u8]) -> Result<(u16, Option<Duration>, String)> {
        let url = &self.options.url;
        let mut response = self
            .agent
            .post(url)
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header(
                "User-Agent",
                concat!("promlite/", env!("CARGO_PKG_VERSION")),
            )
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .send(body)
            .map_err(|e| Error::Http {
                url: url.clone(),
                detail: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 10)
            .read_to_string()
            .unwrap_or_default();
        Ok((status, retry_after, text.chars().take(512).collect()))
    }

    /// Sends one batch, retrying as the queue manager does.
    fn deliver(&self, body: &[u8], stats: &mut PushStats) -> Result<Delivery> {
        let mut backoff = self.options.min_backoff;
        let mut attempt = 0u32;
        loop {
            let outcome = self.post_once(body);
            let (retry_after, last_error) = match outcome {
                Ok((status, _, _)) if (200..300).contains(&status) => {
                    return Ok(Delivery::Accepted)
                }
                Ok((status, retry_after, text)) if status == 429 || status >= 500 => (
                    retry_after,
                    Error::Status {
                        url: self.options.url.clone(),
                        status,
                        body: text,
                    },
                ),
                // Any other status (4xx, or 1xx/3xx which a receiver should never send) means
                // the receiver will never take this batch: retrying would only repeat it.
                Ok(_) => return Ok(Delivery::Rejected),
                Err(e) => (None, e),
            };
            if attempt >= self.options.max_retries {
                return Err(last_error);
            }
            attempt += 1;
            stats.retries += 1;
            let delay = retry_after.unwrap_or(backoff).min(self.options.max_backoff);
            std::thread::sleep(delay);
            backoff = (backoff * 2).min(self.options.max_backoff);
        }
    }

    /// Encodes and sends `batch` and clears it; returns the outcome's counts. A batch the
    /// receiver refuses is counted as rejected, unless `maybe_delivered` (the first batch a
    /// resumed shard sends, which may have reached the receiver before the crash): refused
    /// then, it is counted in `samples_resent_refused`.
    fn flush(&self, batch: &mut Vec<SeriesSamples>, maybe_delivered: bool) -> Result<PushStats> {
        let mut stats = PushStats::default();
        let n_samples: u64 = batch.iter().map(|s| s.samples.len() as u64).sum();
        let body = encode_write_request(batch);
        batch.clear();
        match self.deliver(&body, &mut stats)? {
            Delivery::Accepted => {
                stats.samples_sent += n_samples;
                stats.requests += 1;
                stats.bytes_sent += body.len() as u64;
            }
            Delivery::Rejected if maybe_delivered => stats.samples_resent_refused += n_samples,
            Delivery::Rejected => stats.samples_rejected += n_samples,
        }
        Ok(stats)
    }
}

/// A selected series and its cursor, owned by one shard.
struct ShardSeries {
    labels: Labels,
    samples: Box<dyn promlite_model::SampleIter>,
}

/// One shard's part of one window.
struct ShardWindow<'a> {
    client: &'a Client,
    progress: &'a Progress,
    shard_idx: usize,
    /// Batches of this window the checkpoint records as answered: cut again, not sent.
    skip: u64,
    /// True for a resumed push: the first batch sent may already have been delivered.
    resumed: bool,
    cut: u64,
    stats: PushStats,
}

impl ShardWindow<'_> {
    fn close_batch(&mut self, batch: &mut Vec<SeriesSamples>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.cut += 1;
        if self.cut <= self.skip {
            batch.clear();
            return Ok(());
        }
        let first_after_resume = self.resumed && self.cut == self.skip + 1;
        let delta = self.client.flush(batch, first_after_resume)?;
        self.stats.add(&delta);
        self.progress.batch_done(self.shard_idx, &delta)
    }
}

/// Sends window `[from, to]` of one shard's series.
fn send_window(
    mut state: ShardWindow<'_>,
    series: &mut [ShardSeries],
    from: Timestamp,
    to: Timestamp,
) -> Result<PushStats> {
    let limit = state.client.options.max_samples_per_send;
    let mut batch: Vec<SeriesSamples> = Vec::new();
    let mut in_batch = 0usize;
    let mut buffer: Vec<Sample> = Vec::new();
    for one in series.iter_mut() {
        buffer.clear();
        one.samples
            .collect_range(from, to, &mut buffer)
            .map_err(model_error)?;
        let mut rest = buffer.as_slice();
        while !rest.is_empty() {
            let room = limit - in_batch;
            let (head, tail) = rest.split_at(room.min(rest.len()));
            batch.push(SeriesSamples {
                labels: one.labels.clone(),
                samples: head.to_vec(),
            });
            in_batch += head.len();
            rest = tail;
            if in_batch >= limit {
                state.close_batch(&mut batch)?;
                in_batch = 0;
            }
        }
    }
    state.close_batch(&mut batch)?;
    Ok(state.stats)
}

/// Progress of a push, reported after every window.
#[derive(Debug, Clone, Copy)]
pub struct PushProgress {
    /// Windows done (including resumed ones).
    pub windows_done: u64,
    /// Windows in the range.
    pub windows_total: u64,
    /// Totals so far.
    pub stats: PushStats,
}

/// Ships the stored series of `db` selected by `options` to `options.url`.
///
/// Calls `progress` after each completed window. Returns the totals, or the first error that
/// stopped the push (a batch still failing after every retry, an unreadable checkpoint, a
/// storage error); with a checkpoint, a rerun resumes after the last completed window.
pub fn push(
    db: &Db,
    options: &PushOptions,
    mut progress: impl FnMut(&PushProgress),
) -> Result<PushStats> {
    if options.max_samples_per_send == 0 || options.concurrency == 0 || options.window_ms <= 0 {
        return Err(Error::InvalidArgument(
            "max_samples_per_send, concurrency and window must be positive".to_string(),
        ));
    }
    if options.end < options.start {
        return Err(Error::InvalidArgument(format!(
            "end {} is before start {}",
            options.end, options.start
        )));
    }
    let span = options.end.saturating_sub(options.start);
    let windows_total = u64::try_from(span / options.window_ms).unwrap_or(0) + 1;
    let fresh = Checkpoint {
        url: options.url.clone(),
        start: options.start,
        end: options.end,
        selectors: options.selectors.clone(),
        window_ms: options.window_ms,
        max_samples_per_send: options.max_samples_per_send,
        concurrency: options.concurrency,
        windows_done: 0,
        shard_batches_done: vec![0; options.concurrency],
        samples_sent: 0,
        samples_rejected: 0,
    };
    let mut totals = PushStats {
        windows_total,
        ..PushStats::default()
    };
    let mut checkpoint = fresh.clone();
    let mut resumed = false;
    if let Some(path) = &options.checkpoint {
        if let Some(saved) = read_checkpoint(path)? {
            if saved.parameters() != fresh.parameters()
                || saved.shard_batches_done.len() != options.concurrency
            {
                return Err(Error::Checkpoint {
                    path: path.clone(),
                    detail: "it records a push with other parameters (URL, range, selectors, \
                             window, batch size or concurrency); delete it to start over"
                        .to_string(),
                });
            }
            checkpoint = saved;
            resumed = true;
            totals.windows_resumed = checkpoint.windows_done.min(windows_total);
            totals.samples_sent = checkpoint.samples_sent;
            totals.samples_rejected = checkpoint.samples_rejected;
        }
    }
    let skips = checkpoint.shard_batches_done.clone();
    let progress_file = Progress {
        path: options.checkpoint.clone(),
        checkpoint: std::sync::Mutex::new(checkpoint),
    };

    let mut shards = select_shards(db, options, &mut totals)?;
    let client = Client::new(options);
    for window_idx in totals.windows_resumed..windows_total {
        let offset = i64::try_from(window_idx).unwrap_or(i64::MAX);
        let from = options
            .start
            .saturating_add(offset.saturating_mul(options.window_ms));
        let to = from.saturating_add(options.window_ms - 1).min(options.end);
        let first_window = window_idx == totals.windows_resumed;
        let results: Vec<Result<PushStats>> = std::thread::scope(|scope| {
            let handles: Vec<_> = shards
                .iter_mut()
                .enumerate()
                .map(|(shard_idx, shard)| {
                    let state = ShardWindow {
                        client: &client,
                        progress: &progress_file,
                        shard_idx,
                        skip: if first_window {
                            skips.get(shard_idx).copied().unwrap_or(0)
                        } else {
                            0
                        },
                        resumed: resumed && first_window,
                        cut: 0,
                        stats: PushStats::default(),
                    };
                    scope.spawn(move || send_window(state, shard, from, to))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::InvalidArgument(
                            "a sender shard panicked".to_string(),
                        ))
                    })
                })
                .collect()
        });
        // Count what did go out before reporting a failure, so the summary stays truthful.
        let mut first_error = None;
        for result in results {
            match result {
                Ok(stats) => totals.add(&stats),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        progress_file.window_done(window_idx)?;
        progress(&PushProgress {
            windows_done: window_idx + 1,
            windows_total,
            stats: totals,
        });
    }
    Ok(totals)
}

/// Selects the series (deduplicated over the selectors, sorted by labels) and deals them to
/// the shards round-robin.
fn select_shards(
    db: &Db,
    options: &PushOptions,
    totals: &mut PushStats,
) -> Result<Vec<Vec<ShardSeries>>> {
    let selector_sets: Vec<Vec<Matcher>> = if options.selectors.is_empty() {
        vec![vec![Matcher::new(
            promlite::MatchOp::Regex,
            "__name__",
            ".+",
        )
        .map_err(|e| Error::InvalidArgument(e.to_string()))?]]
    } else {
        let refs: Vec<&str> = options.selectors.iter().map(String::as_str).collect();
        promlite::parse_selectors(&refs)?
    };
    let querier = promlite_model::Queryable::querier(db.storage(), options.start, options.end)
        .map_err(model_error)?;
    let hints = SelectHints {
        start: options.start,
        end: options.end,
        ..SelectHints::default()
    };
    let mut selected = BTreeMap::new();
    for matchers in &selector_sets {
        for series in querier.select(&hints, matchers).map_err(model_error)? {
            selected.entry(series.labels).or_insert(series.samples);
        }
    }
    totals.series = selected.len() as u64;
    let mut shards: Vec<Vec<ShardSeries>> = (0..options.concurrency).map(|_| Vec::new()).collect();
    for (idx, (labels, samples)) in selected.into_iter().enumerate() {
        if let Some(shard) = shards.get_mut(idx % options.concurrency) {
            shard.push(ShardSeries { labels, samples });
        }
    }
    Ok(shards)
}

fn model_error(e: promlite_model::Error) -> Error {
    Error::Db(promlite::Error::Query(e.into()))
}
