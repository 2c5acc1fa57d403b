//! One target's scrape: fetch, parse, label, limit, append, mark stale, report, following
//! Prometheus 2.42's `scrapeLoop` (`scrape/scrape.go`).
//!
//! Per scrape at time `t` (the scheduled scrape time in milliseconds):
//! * GET the target URL with Prometheus's `Accept` header (OpenMetrics 1.0.0, then 0.0.1,
//!   then text 0.0.4, then anything), its `X-Prometheus-Scrape-Timeout-Seconds` header and
//!   the scrape timeout. A non-200 status, a timeout, a body that does not parse, more than
//!   `sample_limit` samples or a sample with more than `label_limit` labels (both counted
//!   after metric relabelling) fail the scrape.
//! * A sample's labels are the scraped ones with the target's attached
//!   ([`promlite_expfmt::target::merge_target_labels`], `honor_labels`), then metric
//!   relabelling; a dropped sample is not counted in `scrape_samples_post_metric_relabeling`.
//! * A sample's timestamp is its own if it has one and `honor_timestamps` is set, else `t`.
//!   Samples with their own timestamp are exempt from staleness tracking (as in Prometheus).
//!   A series repeated within one scrape keeps its first sample.
//! * A successful scrape appends its samples, then a staleness marker at `t` for every
//!   series the previous successful scrape had and this one lacks. A failed scrape appends
//!   no scraped samples and a staleness marker at `t` for every series of the previous
//!   successful scrape (Prometheus treats a failed scrape as an empty one).
//! * Every scrape, failed or not, appends the synthetic series at `t` with the target's
//!   labels: `up` (1 or 0), `scrape_duration_seconds`, `scrape_samples_scraped`,
//!   `scrape_samples_post_metric_relabeling`, `scrape_series_added` (series not in the
//!   previous successful scrape).
//! * Samples storage rejects (out of order, duplicate timestamp, older than the blocks) are
//!   skipped and counted, as Prometheus counts them without failing the scrape.
//!
//! Capture ([`ScrapeLoop::capture_to`]): every response body is also written, byte for byte,
//! to `<dir>/<t>.prom` (or `.om` for OpenMetrics) beside a `target.yml` with the target's
//! labels, so `promlite replay <dir>` reads the same bytes back under the same labels. A
//! failed scrape is captured as an empty file: replaying it writes the same staleness markers
//! (the synthetic series of a replay cannot know the scrape failed).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite::{Db, Labels, Timestamp, STALE_NAN};
use promlite_expfmt::target::{merge_target_labels, report_labels};
use promlite_expfmt::{Entry, Format, Parser};

use crate::relabel::{process_labels, RelabelConfig};
use crate::target::Target;

/// The `Accept` header Prometheus 2.42 sends.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Largest response body accepted.
const MAX_BODY_BYTES: u64 = 1 << 30;

/// How a target's samples are treated (from its job's configuration).
#[derive(Debug, Clone)]
pub struct ScrapeRules {
    /// Scraped labels win over target labels.
    pub honor_labels: bool,
    /// Keep exposed timestamps.
    pub honor_timestamps: bool,
    /// Per-sample relabelling.
    pub metric_relabel_configs: Arc<Vec<RelabelConfig>>,
    /// 0 = none.
    pub sample_limit: u64,
    /// 0 = none.
    pub label_limit: u64,
    /// Follow HTTP redirects (at most 10, as Go's client), Prometheus's `follow_redirects`.
    pub follow_redirects: bool,
}

/// The result of one scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeReport {
    /// The scrape time (ms).
    pub timestamp: Timestamp,
    /// How long the scrape took (fetch, parse, append).
    pub duration: Duration,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Samples in the response.
    pub samples_scraped: u64,
    /// Samples left after metric relabelling.
    pub samples_post_relabel: u64,
    /// Series new since the previous successful scrape.
    pub series_added: u64,
    /// Staleness markers written.
    pub stale_markers: u64,
    /// Samples storage refused.
    pub rejected_samples: u64,
}

/// What a successful fetch and parse produced.
struct Parsed {
    /// Final labels, timestamp, value, tracked for staleness.
    samples: Vec<(Labels, Timestamp, f64, bool)>,
    scraped: u64,
    /// The HELP/TYPE/UNIT lines of the scrape, per family.
    metadata: promlite::MetadataTracker,
}

/// A target's scrape state across scrapes.
#[derive(Debug)]
pub struct ScrapeLoop {
    target: Target,
    rules: ScrapeRules,
    agent: ureq::Agent,
    /// Series (without own timestamps) of the previous successful scrape.
    previous: HashSet<Labels>,
    /// The labels of the synthetic series.
    report_series: [Labels; 5],
    /// Where response bodies are captured.
    capture: Option<PathBuf>,
}

const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

impl ScrapeLoop {
    /// A loop for `target`.
    pub fn new(target: Target, rules: ScrapeRules) -> ScrapeLoop {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(if rules.follow_redirects { 10 } else { 0 })
            .timeout_global(Some(target.timeout))
            .user_agent(format!("promlite/{}", env!("CARGO_PKG_VERSION")))
            .build();
        let report_series = REPORT_NAMES.map(|name| report_labels(name, &target.labels));
        ScrapeLoop {
            agent: ureq::Agent::new_with_config(config),
            target,
            rules,
            previous: HashSet::new(),
            report_series,
            capture: None,
        }
    }

    /// Also writes every response to `dir` (created, with a `target.yml`), see the module
    /// docs.
    pub fn capture_to(&mut self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let target = promlite::ReplayTarget {
            labels: self.target.labels.clone(),
            honor_labels: self.rules.honor_labels,
            honor_timestamps: self.rules.honor_timestamps,
            scrape_series: false,
        };
        write_atomically(
            &dir.join(promlite::TARGET_FILE_NAME),
            crate::target_file::render_target_file(&target).as_bytes(),
        )?;
        self.capture = Some(dir.to_path_buf());
        Ok(())
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Scrapes once at scrape time `t` (ms) and stores the outcome in `db`. Storage failures
    /// other than rejected samples are returned (the scrape's samples are then not stored).
    pub fn scrape(&mut self, db: &Db, t: Timestamp) -> Result<ScrapeReport, promlite::Error> {
        let started = Instant::now();
        let fetched = self.fetch();
        if let Some(dir) = &self.capture {
            let (bytes, ext): (&[u8], &str) = match &fetched {
                Ok((body, Format::OpenMetrics)) => (body, "om"),
                Ok((body, Format::Prometheus)) => (body, "prom"),
                Err(_) => (&[], "prom"),
            };
            if let Err(e) = write_atomically(&dir.join(format!("{t}.{ext}")), bytes) {
                return Err(promlite::Error::InvalidArgument(format!(
                    "capturing the scrape to {}: {e}",
                    dir.display()
                )));
            }
        }
        let outcome = fetched.and_then(|(body, format)| self.parse(&body, format, t));
        let mut report = ScrapeReport {
            timestamp: t,
            duration: Duration::ZERO,
            error: None,
            samples_scraped: 0,
            samples_post_relabel: 0,
            series_added: 0,
            stale_markers: 0,
            rejected_samples: 0,
        };
        let mut app = db.appender();
        let mut current: HashSet<Labels> = HashSet::new();
        match outcome {
            Ok(parsed) => {
                report.samples_scraped = parsed.scraped;
                report.samples_post_relabel = parsed.samples.len() as u64;
                // Metadata as the target describes its families (latest scrape wins).
                for (name, family) in parsed.metadata.families() {
                    app.set_metadata(name, promlite::metadata::to_storage(family));
                }
                for (labels, ts, v, tracked) in parsed.samples {
                    if tracked {
                        if !self.previous.contains(&labels) {
                            report.series_added += 1;
                        }
                        current.insert(labels.clone());
                    }
                    report.rejected_samples += append(&mut app, &labels, ts, v)?;
                }
            }
            Err(Failure {
                error,
                scraped,
                post_relabel,
            }) => {
                report.error = Some(error);
                report.samples_scraped = scraped;
                report.samples_post_relabel = post_relabel;
            }
        }
        for gone in self.previous.difference(&current) {
            report.rejected_samples += append(&mut app, gone, t, STALE_NAN)?;
            report.stale_markers += 1;
        }
        report.duration = started.elapsed();
        let up = if report.error.is_none() { 1.0 } else { 0.0 };
        let values = [
            up,
            report.duration.as_secs_f64(),
            report.samples_scraped as f64,
            report.samples_post_relabel as f64,
            report.series_added as f64,
        ];
        for (labels, v) in self.report_series.iter().zip(values) {
            report.rejected_samples += append(&mut app, labels, t, v)?;
        }
        app.commit()?;
        self.previous = current;
        Ok(report)
    }

    /// Writes staleness markers at `t` for every series of the last successful scrape and
    /// for the synthetic series (the end-of-run markers Prometheus writes when a target goes
    /// away), then forgets them.
    pub fn mark_all_stale(&mut self, db: &Db, t: Timestamp) -> Result<u64, promlite::Error> {
        let mut app = db.appender();
        let mut n = 0;
        for labels in self.previous.iter().chain(self.report_series.iter()) {
            append(&mut app, labels, t, STALE_NAN)?;
            n += 1;
        }
        app.commit()?;
        self.previous.clear();
        Ok(n)
    }

    /// GETs the target; the body and the format its `Content-Type` names.
    fn fetch(&self) -> Result<(Vec<u8>, Format), Failure> {
        let timeout = self.target.timeout.as_secs_f64();
        let response = self
            .agent
            .get(&self.target.url)
            .header("Accept", ACCEPT_HEADER)
            .header("X-Prometheus-Scrape-Timeout-Seconds", format!("{timeout}"))
            .call();
        let mut response =
            response.map_err(|e| Failure::new(format!("Get {:?}: {e}", self.target.url)))?;
        let status = response.status();
        if status.as_u16() != 200 {
            return Err(Failure::new(format!(
                "server returned HTTP status {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )));
        }
        let format = match response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
        {
            Some(ct) if ct.trim_start().starts_with("application/openmetrics-text") => {
                Format::OpenMetrics
            }
            _ => Format::Prometheus,
        };
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| {
                Failure::new(format!("reading the response of {}: {e}", self.target.url))
            })?;
        Ok((body, format))
    }

    /// Parses a response into final samples, enforcing the limits.
    fn parse(&self, body: &[u8], format: Format, t: Timestamp) -> Result<Parsed, Failure> {
        let mut parser =
            Parser::from_bytes(body, format).map_err(|e| Failure::new(e.to_string()))?;
        let mut samples = Vec::new();
        let mut seen: HashSet<Labels> = HashSet::new();
        let mut scraped = 0u64;
        let mut metadata = promlite::MetadataTracker::new();
        loop {
            let entry = match parser.next_entry() {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(e) => {
                    return Err(Failure {
                        error: e.to_string(),
                        scraped,
                        post_relabel: samples.len() as u64,
                    })
                }
            };
            let Entry::Sample(sample) = entry else {
                metadata.observe(&entry);
                continue;
            };
            scraped += 1;
            let fail = |error: String, post: usize| Failure {
                error,
                scraped,
                post_relabel: post as u64,
            };
            let scraped_labels = sample
                .to_labels()
                .map_err(|e| fail(e.to_string(), samples.len()))?;
            let merged = merge_target_labels(
                &scraped_labels,
                &self.target.labels,
                self.rules.honor_labels,
            );
            let Some(labels) = process_labels(&merged, &self.rules.metric_relabel_configs) else {
                continue;
            };
            if labels.is_empty() {
                continue;
            }
            if self.rules.label_limit > 0 && labels.len() as u64 > self.rules.label_limit {
                return Err(fail(
                    format!(
                        "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
                        labels.metric_name().unwrap_or(""),
                        labels.len(),
                        self.rules.label_limit
                    ),
                    samples.len(),
                ));
            }
            let (ts, tracked) = match sample.timestamp_ms {
                Some(own) if self.rules.honor_timestamps => (own, false),
                _ => (t, true),
            };
            if !seen.insert(labels.clone()) {
                // Duplicate series in one scrape: Prometheus rejects the second sample.
                continue;
            }
            samples.push((labels, ts, sample.value, tracked));
            if self.rules.sample_limit > 0 && samples.len() as u64 > self.rules.sample_limit {
                // Keep counting so scrape_samples_scraped reports the whole response.
                let post = samples.len();
                let rest = count_samples(&mut parser);
                return Err(Failure {
                    error: "sample limit exceeded".into(),
                    scraped: scraped + rest,
                    post_relabel: post as u64,
                });
            }
        }
        Ok(Parsed {
            samples,
            scraped,
            metadata,
        })
    }
}

/// Writes `bytes` to `path` through a hidden temporary file and a rename, so a reader (replay
/// ignores hidden files) never sees a partial capture.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("capture");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Counts the remaining sample lines (errors end the count).
fn count_samples(parser: &mut Parser<'_>) -> u64 {
    let mut n = 0;
    while let Ok(Some(entry)) = parser.next_entry() {
        if matches!(entry, Entry::Sample(_)) {
            n += 1;
        }
    }
    n
}

/// Why a scrape failed, with the counts it reached.
struct Failure {
    error: String,
    scraped: u64,
    post_relabel: u64,
}

impl Failure {
    fn new(error: String) -> Failure {
        Failure {
            error,
            scraped: 0,
            post_relabel: 0,
        }
    }
}

/// Appends one sample; 1 if storage refused it as out of order/duplicate/out of bounds.
fn append(
    app: &mut promlite::Appender,
    labels: &Labels,
    t: Timestamp,
    v: f64,
) -> Result<u64, promlite::Error> {
    match app.append(labels, t, v) {
        Ok(_) => Ok(0),
        Err(promlite::Error::Storage(
            promlite::StorageError::OutOfOrder { .. }
            | promlite::StorageError::DuplicateTimestamp { .. }
            | promlite::StorageError::OutOfBounds { .. },
        )) => Ok(1),
        Err(e) => Err(e),
    }
}
