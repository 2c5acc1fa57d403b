//! `promlite test rules` and `promlite check rules`: rule unit tests and rule file checks
//! with promtool's output and exit codes (0 success, 1 failure).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use promlite_rules::file::{duplicate_rules, read_rule_file};
use promlite_rules::Error as RulesError;

/// `promlite test ...`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// What to test.
    #[command(subcommand)]
    pub what: TestCommand,
}

/// The `test` subcommands.
#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Unit-test rule files (`promtool test rules` file format and verdicts).
    Rules {
        /// Test files.
        #[arg(value_name = "TEST_FILE", required = true)]
        files: Vec<PathBuf>,
    },
}

/// `promlite check ...`: `check rules FILE...`, or `check --data-dir DIR` (every checksum of a
/// data directory, `crate::commands::data_check`).
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_required = false,
    arg_required_else_help = true
)]
pub struct CheckArgs {
    /// What to check.
    #[command(subcommand)]
    pub what: Option<CheckCommand>,
    /// Verify every checksum in this data directory (WAL frames and bounds, block meta, index
    /// and chunks) without changing it; exits 1 on any problem, naming file and byte offset.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The `check` subcommands.
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check rule files for syntax and validity (`promtool check rules`).
    Rules {
        /// Rule files.
        #[arg(value_name = "RULE_FILE", required = true)]
        files: Vec<PathBuf>,
    },
}

/// The process exit code a command asks for without an error message of its own (the
/// command already printed its report).
#[derive(Debug)]
pub struct ExitCode(pub u8);

impl std::fmt::Display for ExitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for ExitCode {}

/// Runs `promlite test ...`.
pub fn test(args: &TestArgs) -> anyhow::Result<()> {
    match &args.what {
        TestCommand::Rules { files } => {
            let code = promlite_rules::unittest::run_files(
                files,
                &promlite::EngineOptions::default(),
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            );
            exit_with(code)
        }
    }
}

fn exit_with(code: i32) -> anyhow::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(ExitCode(u8::try_from(code).unwrap_or(1)).into())
    }
}

/// Runs `promlite check ...`.
pub fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let what = match (&args.what, &args.data_dir) {
        (_, Some(dir)) => return crate::commands::data_check::check(dir),
        (Some(what), None) => what,
        (None, None) => {
            anyhow::bail!("promlite check: give a subcommand (rules) or --data-dir DIR")
        }
    };
    match what {
        CheckCommand::Rules { files } => {
            let mut failed = false;
            for path in files {
                println!("Checking {}", path.display());
                match read_rule_file(path) {
                    Ok(file) => {
                        let n_rules: usize = file.groups.iter().map(|g| g.rules.len()).sum();
                        let duplicates = duplicate_rules(&file);
                        if duplicates.is_empty() {
                            println!("  SUCCESS: {n_rules} rules found");
                        } else {
                            // promtool's default lint: reported as a failure, exit code 0.
                            let mut message = format!(
                                "lint error {} duplicate rule(s) found.\n",
                                duplicates.len()
                            );
                            for d in &duplicates {
                                message.push_str(&format!("Metric: {}\nLabel(s):\n", d.name));
                                for (k, v) in &d.labels {
                                    message.push_str(&format!("\t{k}: {v}\n"));
                                }
                            }
                            message
                                .push_str("Might cause inconsistency while recording expressions");
                            eprintln!("  FAILED:\n{message}");
                        }
                    }
                    Err(RulesError::InvalidRules { path, errors }) => {
                        eprintln!("  FAILED:");
                        for e in &errors {
                            eprintln!("{path}: {e}");
                        }
                        failed = true;
                    }
                    Err(other) => {
                        eprintln!("  FAILED:");
                        eprintln!("{other}");
                        failed = true;
                    }
                }
                println!();
            }
            exit_with(i32::from(failed))
        }
    }
}

/// `promlite rules ...`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// What to do.
    #[command(subcommand)]
    pub what: RulesCommand,
}

/// The `rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Evaluate rules over a stored time range and write their results into the data
    /// directory as blocks (like `promtool tsdb create-blocks-from rules`).
    Backfill(BackfillArgs),
}

/// `promlite rules backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// The data directory to read and to add the result blocks to.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// First evaluation time (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    pub start: String,
    /// Last evaluation time, inclusive (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    pub end: String,
    /// Evaluation interval of groups that set none (Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub eval_interval: String,
    /// Rule files.
    #[arg(value_name = "RULE_FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `promlite rules ...`.
pub fn rules(args: &RulesArgs) -> anyhow::Result<()> {
    match &args.what {
        RulesCommand::Backfill(args) => backfill(args),
    }
}

/// Reads rule files, failing with every problem of the first invalid one.
pub fn load_rule_files(files: &[PathBuf]) -> anyhow::Result<Vec<promlite_rules::file::RuleFile>> {
    files
        .iter()
        .map(|path| {
            read_rule_file(path).map_err(|err| match err {
                RulesError::InvalidRules { path, errors } => anyhow::anyhow!(
                    "invalid rule file:\n{}",
                    errors
                        .iter()
                        .map(|e| format!("{path}: {e}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
                other => anyhow::Error::new(other),
            })
        })
        .collect()
}

fn backfill(args: &BackfillArgs) -> anyhow::Result<()> {
    use promlite_http::params::{parse_duration, parse_time};

    let start = parse_time(&args.start).map_err(|e| anyhow::anyhow!("--start: {e}"))?;
    let end = parse_time(&args.end).map_err(|e| anyhow::anyhow!("--end: {e}"))?;
    anyhow::ensure!(start <= end, "--start must not be after --end");
    let default_interval =
        parse_duration(&args.eval_interval).map_err(|e| anyhow::anyhow!("--eval-interval: {e}"))?;
    anyhow::ensure!(default_interval > 0, "--eval-interval must be positive");
    let rule_files = load_rule_files(&args.files)?;
    let db = super::open_existing(&args.data_dir)?;
    let outcome = backfill_dir(
        &args.data_dir,
        db,
        &rule_files,
        start,
        end,
        default_interval,
    )?;
    outcome.report();
    Ok(())
}

/// What [`backfill_dir`] did.
#[derive(Debug)]
pub struct BackfillOutcome {
    n_evaluations: usize,
    start: i64,
    end: i64,
    n_series: usize,
    n_samples: usize,
    n_blocks: usize,
    secs: f64,
    /// Per failing rule (`group/rule`): how many evaluations failed and the first error.
    failures: std::collections::BTreeMap<String, (usize, String)>,
}

impl BackfillOutcome {
    /// Prints the summary line (stdout) and one warning per failing rule (stderr).
    pub fn report(&self) {
        println!(
            "evaluated {} group evaluations from {} to {}: {} series, {} samples in {} blocks, {:.2} s ({:.0} samples/s)",
            self.n_evaluations,
            promlite_http::params::format_rfc3339(self.start),
            promlite_http::params::format_rfc3339(self.end),
            self.n_series,
            self.n_samples,
            self.n_blocks,
            self.secs,
            self.n_samples as f64 / self.secs.max(1e-9)
        );
        for (rule, (count, err)) in &self.failures {
            eprintln!("warning: rule {rule} failed {count} evaluation(s); first error: {err}");
        }
    }
}

/// The evaluation times of `group` in `[start, end]`: its aligned slots
/// ([`promlite_rules::group::Group::eval_timestamp`]), as Prometheus's rule manager evaluates
/// it and as `promtool tsdb create-blocks-from rules` aligns its range queries.
pub fn backfill_slots(group: &promlite_rules::group::Group, start: i64, end: i64) -> Vec<i64> {
    let mut t = group.eval_timestamp(start);
    if t < start {
        t += group.interval_ms;
    }
    let mut out = Vec::new();
    while t <= end {
        out.push(t);
        t += group.interval_ms;
    }
    out
}

/// Evaluates the groups of `rule_files` at their aligned slots in `[start, end]` against `db`
/// (which is dropped before anything is written) and adds the recorded series (with
/// staleness markers and `ALERTS`/`ALERTS_FOR_STATE`) to `data_dir` as new blocks. Used by
/// `rules backfill` and `replay --rules`.
pub fn backfill_dir(
    data_dir: &std::path::Path,
    db: promlite::Db,
    rule_files: &[promlite_rules::file::RuleFile],
    start: i64,
    end: i64,
    default_interval: i64,
) -> anyhow::Result<BackfillOutcome> {
    use anyhow::Context as _;
    use promlite_rules::group::{EvalContext, Group};
    use promlite_rules::storage::OverlayStorage;

    let started = std::time::Instant::now();
    let engine = promlite_rules::Engine::new(db.engine_options().clone());
    let overlay = OverlayStorage::new(db.storage());
    let mut groups: Vec<Group> = rule_files
        .iter()
        .flat_map(|f| {
            f.groups
                .iter()
                .map(move |g| Group::new(&f.path, g.clone(), default_interval))
        })
        .collect();
    // Every group runs on its own aligned grid; evaluations run in time order (groups in file
    // order at equal times), so a group reading another's results sees them up to now.
    let mut events: Vec<(i64, usize)> = Vec::new();
    for (idx, g) in groups.iter().enumerate() {
        events.extend(backfill_slots(g, start, end).into_iter().map(|t| (t, idx)));
    }
    events.sort();
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(events.len() as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{wide_bar}] {pos}/{len} evaluations ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let ctx = EvalContext::default();
    let mut failures: std::collections::BTreeMap<String, (usize, String)> = Default::default();
    for (t, idx) in &events {
        if let Some(group) = groups.get_mut(*idx) {
            group.eval(&engine, &overlay, *t, &ctx);
            for rule in &group.rules {
                if let Some(err) = &rule.last_error {
                    let entry = failures
                        .entry(format!("{}/{}", group.name, rule.spec.name()))
                        .or_insert((0, err.clone()));
                    entry.0 += 1;
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let recorded = overlay.recorded().series();
    drop(overlay);
    drop(db);

    // Write the results through a fresh database beside the data directory, in time order
    // across series (its head accepts any start time but, once it cuts a block, nothing
    // older), then move its blocks into the data directory.
    let parent = data_dir.parent().unwrap_or(std::path::Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".promlite-rules-backfill-")
        .tempdir_in(if parent.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            parent
        })
        .context("creating the temporary directory for result blocks")?;
    let n_series = recorded.len();
    let mut order: Vec<(i64, usize, usize)> = Vec::new();
    for (series_idx, (_, samples)) in recorded.iter().enumerate() {
        for (sample_idx, s) in samples.iter().enumerate() {
            order.push((s.t, series_idx, sample_idx));
        }
    }
    order.sort_unstable();
    let n_samples = order.len();
    let out_dir = tmp.path().join("data");
    {
        let out = promlite::Db::open(&out_dir, promlite::Options::default())
            .context("opening the temporary result database")?;
        let mut app = out.appender();
        for (i, (_, series_idx, sample_idx)) in order.iter().enumerate() {
            if let Some((labels, samples)) = recorded.get(*series_idx) {
                if let Some(s) = samples.get(*sample_idx) {
                    app.append(labels, s.t, s.v)?;
                }
            }
            if i % 100_000 == 99_999 {
                app.commit()?;
            }
        }
        app.commit()?;
        out.flush()?;
    }
    let mut n_blocks = 0;
    for entry in std::fs::read_dir(&out_dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.join("meta.json").is_file() {
            std::fs::rename(&path, data_dir.join(entry.file_name())).with_context(|| {
                format!("moving block {} into the data directory", path.display())
            })?;
            n_blocks += 1;
        }
    }
    Ok(BackfillOutcome {
        n_evaluations: events.len(),
        start,
        end,
        n_series,
        n_samples,
        n_blocks,
        secs: started.elapsed().as_secs_f64(),
        failures,
    })
}

/// [`promlite_rules::storage::RuleStorage`] over a database: rules query it and append their
/// results to it, one commit per rule evaluation.
pub struct DbRuleStorage {
    db: promlite::Db,
}

impl promlite_rules::storage::RuleStorage for DbRuleStorage {
    fn queryable(&self) -> &dyn promlite_rules::Queryable {
        self.db.storage()
    }

    fn append_batch(
        &self,
        samples: &[(promlite::Labels, promlite::Timestamp, f64)],
    ) -> Result<
        Vec<Result<(), promlite_rules::storage::AppendError>>,
        promlite_rules::storage::AppendError,
    > {
        use promlite_rules::storage::AppendError;
        let mut app = self.db.appender();
        let outcomes = samples
            .iter()
            .map(|(labels, t, v)| {
                app.append(labels, *t, *v).map(|_| ()).map_err(|err| {
                    // The facade does not expose storage's error kinds; its messages name them.
                    let text = err.to_string();
                    if text.starts_with("out-of-order sample") {
                        AppendError::OutOfOrder
                    } else if text.starts_with("duplicate timestamp") {
                        AppendError::Duplicate
                    } else {
                        AppendError::Other(text)
                    }
                })
            })
            .collect();
        app.commit()
            .map_err(|e| AppendError::Other(e.to_string()))?;
        Ok(outcomes)
    }
}

/// Continuous rule evaluation of `serve --rules`: a thread evaluating due groups against the
/// database and reloading the rule files on SIGHUP. Dropping it stops the thread.
pub struct LiveRules {
    manager: std::sync::Arc<std::sync::RwLock<promlite_rules::manager::Manager>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveRules {
    /// The manager the HTTP endpoints read.
    pub fn manager(&self) -> std::sync::Arc<std::sync::RwLock<promlite_rules::manager::Manager>> {
        self.manager.clone()
    }
}

impl Drop for LiveRules {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Loads `files` and starts evaluating them against `db`.
pub fn start_live_rules(
    db: &promlite::Db,
    files: &[PathBuf],
    default_interval: &str,
) -> anyhow::Result<LiveRules> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, RwLock};

    let interval = promlite_http::params::parse_duration(default_interval)
        .map_err(|e| anyhow::anyhow!("--rule-eval-interval: {e}"))?;
    anyhow::ensure!(interval > 0, "--rule-eval-interval must be positive");
    // Validate with every problem listed before starting.
    load_rule_files(files)?;
    let manager = promlite_rules::manager::Manager::load(
        files.to_vec(),
        interval,
        promlite_rules::group::EvalContext::default(),
    )?;
    let manager = Arc::new(RwLock::new(manager));
    let stop = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())?;
    let storage = DbRuleStorage { db: db.clone() };
    let engine = promlite_rules::Engine::new(db.engine_options().clone());
    let thread_manager = manager.clone();
    let thread_stop = stop.clone();
    let thread = std::thread::Builder::new()
        .name("promlite-rules".into())
        .spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                if hup.swap(false, Ordering::Relaxed) {
                    let mut m = thread_manager.write().unwrap_or_else(|e| e.into_inner());
                    match m.reload() {
                        Ok(()) => {
                            eprintln!("promlite: reloaded rules ({} groups)", m.groups().len())
                        }
                        Err(err) => {
                            eprintln!("promlite: rule reload failed, keeping the old rules: {err}")
                        }
                    }
                }
                let now = wall_ms();
                let wait = {
                    let mut m = thread_manager.write().unwrap_or_else(|e| e.into_inner());
                    m.evaluate_due(&engine, &storage, now);
                    m.until_next_due(wall_ms())
                };
                // Wake at least every 200 ms to notice SIGHUP and shutdown.
                std::thread::sleep(std::time::Duration::from_millis(
                    u64::try_from(wait.clamp(1, 200)).unwrap_or(200),
                ));
            }
        })?;
    Ok(LiveRules {
        manager,
        stop,
        thread: Some(thread),
    })
}
