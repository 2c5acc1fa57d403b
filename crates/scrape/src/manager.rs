//! The scraper: one thread per target, each scraping on its own schedule into a shared
//! [`promlite::Db`], with a status snapshot for `/api/v1/targets` and a clean shutdown.
//!
//! Schedule (Prometheus's `scrapeLoop.run` with `Target.offset`): target `i` scrapes at
//! `k * interval + offset_i` (nanoseconds since the epoch) for every `k` after start, where
//! the offset comes from a hash of the target (see [`crate::target`]). The sample timestamp
//! of a scrape is its scheduled time when the scrape started within
//! [`TIMESTAMP_TOLERANCE`] of it (Prometheus's timestamp alignment, which keeps intervals
//! exactly regular and chunks compact), otherwise the actual start time. A scrape that
//! overruns its slot skips the missed ticks, as Go's ticker does.
//!
//! Shutdown: [`Scraper::shutdown`] wakes every loop at once, waits for scrapes in flight,
//! and then (only if [`ScraperOptions::stale_on_shutdown`] is set) writes end-of-run
//! staleness markers. Prometheus writes none when it shuts down (its scrape loops return on
//! the cancelled parent context), so the default is not to.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlite::{Db, Timestamp};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::scrape_loop::{ScrapeLoop, ScrapeReport, ScrapeRules};
use crate::target::{self, DroppedTarget, Target};

/// A scrape that starts within this much of its scheduled time gets the scheduled time as
/// its timestamp.
pub const TIMESTAMP_TOLERANCE: Duration = Duration::from_millis(2);

/// Scraper settings.
#[derive(Debug, Clone, Default)]
pub struct ScraperOptions {
    /// Write staleness markers for every target's series at shutdown (Prometheus does not).
    pub stale_on_shutdown: bool,
    /// Host name for the offset seed; `None` reads this machine's.
    pub hostname: Option<String>,
    /// Capture every response under `<dir>/<job>/<instance>/` (see
    /// [`ScrapeLoop::capture_to`]; `/` in the instance becomes `_`).
    pub capture_dir: Option<std::path::PathBuf>,
}

/// Health of a target, as `/api/v1/targets` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not scraped yet.
    Unknown,
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
}

impl Health {
    /// `unknown`, `up` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// A target's state for status pages.
#[derive(Debug, Clone)]
pub struct TargetStatus {
    /// The target.
    pub target: Target,
    /// Health after the last scrape.
    pub health: Health,
    /// The last scrape's error (empty if none).
    pub last_error: String,
    /// When the last scrape started.
    pub last_scrape: Option<SystemTime>,
    /// How long the last scrape took.
    pub last_scrape_duration: Duration,
    /// The last scrape's report.
    pub last_report: Option<ScrapeReport>,
    /// Scrapes done.
    pub scrapes: u64,
}

/// Everything the scraper knows about its targets.
#[derive(Debug, Clone, Default)]
pub struct TargetsSnapshot {
    /// Targets being scraped.
    pub active: Vec<TargetStatus>,
    /// Targets relabelling dropped.
    pub dropped: Vec<DroppedTarget>,
}

/// A running scraper. Drop or [`Scraper::shutdown`] stops it.
#[derive(Debug)]
pub struct Scraper {
    statuses: Vec<Arc<Mutex<TargetStatus>>>,
    dropped: Vec<DroppedTarget>,
    stops: Vec<mpsc::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

/// Milliseconds since the epoch of `t`.
fn unix_ms(t: SystemTime) -> Timestamp {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn unix_ns(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// The first scrape time at or after `now` on the grid `k * interval + offset`.
pub fn next_scrape_time(now: SystemTime, interval: Duration, offset: Duration) -> SystemTime {
    let interval_ns = interval.as_nanos().max(1);
    let now_ns = unix_ns(now);
    let offset_ns = offset.as_nanos() % interval_ns;
    let base = now_ns - now_ns % interval_ns + offset_ns;
    let next = if base < now_ns {
        base + interval_ns
    } else {
        base
    };
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(next).unwrap_or(u64::MAX))
}

impl Scraper {
    /// Builds the targets of `config` and starts scraping them into `db`. Targets whose
    /// labels are invalid after relabelling are an error (naming the job and address).
    pub fn start(db: Db, config: &Config, options: ScraperOptions) -> Result<Scraper> {
        let set = target::targets(config);
        if let Some((job, address, error)) = set.invalid.first() {
            return Err(Error::Config {
                path: Default::default(),
                line: 0,
                column: 0,
                message: format!("job {job:?}, target {address:?}: {error}"),
            });
        }
        let hostname = options.hostname.clone().unwrap_or_else(target::hostname);
        let seed = target::offset_seed(&hostname, &config.global.external_labels);
        let mut scraper = Scraper {
            statuses: Vec::new(),
            dropped: set.dropped,
            stops: Vec::new(),
            threads: Vec::new(),
        };
        for t in set.active {
            let job = config
                .scrape_configs
                .iter()
                .find(|c| c.job_name == t.job)
                .ok_or_else(|| Error::Config {
                    path: Default::default(),
                    line: 0,
                    column: 0,
                    message: format!("internal error: no job {:?}", t.job),
                })?;
            let rules = ScrapeRules {
                honor_labels: job.honor_labels,
                honor_timestamps: job.honor_timestamps,
                metric_relabel_configs: Arc::new(job.metric_relabel_configs.clone()),
                sample_limit: job.sample_limit,
                label_limit: job.label_limit,
                follow_redirects: job.follow_redirects,
            };
            let status = Arc::new(Mutex::new(TargetStatus {
                target: t.clone(),
                health: Health::Unknown,
                last_error: String::new(),
                last_scrape: None,
                last_scrape_duration: Duration::ZERO,
                last_report: None,
                scrapes: 0,
            }));
            let (stop_tx, stop_rx) = mpsc::channel::<()>();
            let offset = t.offset(seed);
            let loop_status = Arc::clone(&status);
            let loop_db = db.clone();
            let stale_on_shutdown = options.stale_on_shutdown;
            let mut scrape_loop = ScrapeLoop::new(t.clone(), rules);
            if let Some(root) = &options.capture_dir {
                let instance = t
                    .labels
                    .get("instance")
                    .unwrap_or("target")
                    .replace('/', "_");
                let dir = root.join(&t.job).join(instance);
                scrape_loop.capture_to(&dir).map_err(|source| Error::Io {
                    path: dir.clone(),
                    source,
                })?;
            }
            let thread = std::thread::Builder::new()
                .name(format!("scrape-{}", t.job))
                .spawn(move || {
                    run_loop(
                        scrape_loop,
                        &loop_db,
                        offset,
                        &stop_rx,
                        &loop_status,
                        stale_on_shutdown,
                    )
                })
                .map_err(Error::Thread)?;
            scraper.statuses.push(status);
            scraper.stops.push(stop_tx);
            scraper.threads.push(thread);
        }
        Ok(scraper)
    }

    /// The targets' current state.
    pub fn targets(&self) -> TargetsSnapshot {
        TargetsSnapshot {
            active: self
                .statuses
                .iter()
                .map(|s| {
                    s.lock()
                        .map(|g| g.clone())
                        .unwrap_or_else(|p| p.into_inner().clone())
                })
                .collect(),
            dropped: self.dropped.clone(),
        }
    }

    /// Stops every loop and waits for them (a scrape in flight finishes first).
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// A shareable view of a scraper's targets (for the HTTP endpoint), valid while the scraper
/// runs and after (it then shows the final state).
pub trait TargetsSource: Send + Sync {
    /// The targets' current state.
    fn targets(&self) -> TargetsSnapshot;
}

impl TargetsSource for Scraper {
    fn targets(&self) -> TargetsSnapshot {
        Scraper::targets(self)
    }
}

impl TargetsSource for Mutex<Option<Scraper>> {
    fn targets(&self) -> TargetsSnapshot {
        match self.lock() {
            Ok(guard) => guard.as_ref().map(Scraper::targets).unwrap_or_default(),
            Err(poisoned) => poisoned
                .into_inner()
                .as_ref()
                .map(Scraper::targets)
                .unwrap_or_default(),
        }
    }
}

fn run_loop(
    mut scrape_loop: ScrapeLoop,
    db: &Db,
    offset: Duration,
    stop: &mpsc::Receiver<()>,
    status: &Mutex<TargetStatus>,
    stale_on_shutdown: bool,
) {
    let interval = scrape_loop.target().interval;
    let mut next = next_scrape_time(SystemTime::now(), interval, offset);
    let mut last_t: Option<Timestamp> = None;
    loop {
        let wait = next
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
        let started = SystemTime::now();
        let late = started.duration_since(next).unwrap_or(Duration::ZERO);
        let t = if late <= TIMESTAMP_TOLERANCE {
            unix_ms(next)
        } else {
            unix_ms(started)
        };
        // Timestamps must grow even if the clock steps back.
        let t = last_t.map_or(t, |last| t.max(last + 1));
        last_t = Some(t);
        let outcome = scrape_loop.scrape(db, t);
        if let Ok(mut s) = status.lock() {
            s.scrapes += 1;
            s.last_scrape = Some(started);
            match outcome {
                Ok(report) => {
                    s.health = if report.error.is_none() {
                        Health::Up
                    } else {
                        Health::Down
                    };
                    s.last_error = report.error.clone().unwrap_or_default();
                    s.last_scrape_duration = report.duration;
                    s.last_report = Some(report);
                }
                Err(e) => {
                    s.health = Health::Down;
                    s.last_error = format!("storing the scrape failed: {e}");
                }
            }
        }
        // The next slot after now (missed ticks are skipped, as Go's ticker drops them).
        next = next_scrape_time(SystemTime::now(), interval, offset);
        if next <= started {
            next += interval;
        }
    }
    if stale_on_shutdown {
        if let Some(last) = last_t {
            let t = unix_ms(SystemTime::now()).max(last + 1);
            if let Err(e) = scrape_loop.mark_all_stale(db, t) {
                if let Ok(mut s) = status.lock() {
                    s.last_error = format!("writing end-of-run staleness markers failed: {e}");
                }
            }
        }
    }
}
