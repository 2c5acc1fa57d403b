//! Benchmark harness: runs the workload queries on promlite, Prometheus and VictoriaMetrics,
//! checks every answer against Prometheus's, and prints a table of medians and ratios.
//!
//! [`run`] generates a synthetic cluster (crates/cluster) once per spec into a work directory,
//! ingests it into each engine (Prometheus through `promtool tsdb create-blocks-from
//! openmetrics`, VictoriaMetrics through `/api/v1/import/prometheus`, promlite through its
//! appender), then runs the instant and range version of every workload query on each engine:
//! warm-up runs, then timed runs whose median is reported. By default the engines are all up at
//! once and measured grouped (per query, each engine's runs back to back, the first engine
//! rotating from query to query), so a drift in the machine's speed affects them alike;
//! [`Order::Interleaved`] alternates engines run by run, [`Order::Sequential`] measures one
//! engine after the other. Prometheus is the oracle:
//! promlite must give its answers (relative tolerance 1e-9) or [`run`] fails after printing the
//! report; VictoriaMetrics' differences are reported only. Engines whose binaries are missing are
//! skipped with a note. Servers listen on 127.0.0.1 only and are stopped by PID, also on error.
//!
//! ```no_run
//! let options = promlite_bench::BenchOptions { size: "tiny".into(), ..Default::default() };
//! let report = promlite_bench::run(&options, &mut std::io::stdout())?;
//! println!("{} rows", report.rows.len());
//! # Ok::<(), promlite_bench::Error>(())
//! ```
#![warn(missing_docs)]

pub mod answer;
pub mod convert;
pub mod dataset;
pub mod engine;
mod error;
pub mod http;
pub mod measure;
mod prepare;
pub mod process;
pub mod prometheus;
pub mod promjson;
#[cfg(feature = "promlite")]
pub mod promlite_engine;
pub mod promlite_http;
pub mod quiet;
pub mod report;
pub mod victoria;
pub mod workload;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{Error, Result};
pub use measure::Order;
pub use report::{BenchReport, Check, IngestLine, Measurement, QueryKind, Row, Setup};

use answer::{compare, recheck_steps, QueryResult, StepRecheck, Verdict};
use measure::{InstantAnswers, Job, Outcome, Role, Runs, WantedSteps};
use prepare::SetupLog;
use prometheus::PrometheusConfig;
use promlite_http::PromliteHttpConfig;
use victoria::VictoriaConfig;

/// Which engines to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineSet {
    /// promlite, in process.
    pub promlite: bool,
    /// promlite over HTTP: `promlite serve --read-only` on loopback over the same data.
    pub promlite_http: bool,
    /// Prometheus (the oracle for answer checks).
    pub prometheus: bool,
    /// VictoriaMetrics single-node.
    pub victoria: bool,
}

impl Default for EngineSet {
    fn default() -> Self {
        Self {
            promlite: true,
            promlite_http: true,
            prometheus: true,
            victoria: true,
        }
    }
}

/// Options of a benchmark run (the `promlite bench` flags).
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Cluster preset: `tiny`, `small`, `medium`, `large` (the acceptance size: ~5,800 pods,
    /// ~71k series, ~30M samples over 2 h at 15 s) or `huge`. Default `large`.
    pub size: String,
    /// cAdvisor label style of the data and of the queries run: `legacy` (seed 000's
    /// `pod_name`/`container_name`, default) or `modern` (`pod`/`container`). Only the workload
    /// queries written for this style run.
    pub style: String,
    /// Cluster shape (`classic`, default, or `churn`: see `promlite_cluster::Shape`); `size`
    /// sets its scale. The churn shape takes `style` `modern` only.
    pub shape: String,
    /// Generator seed; `None` keeps the preset's.
    pub seed: Option<u64>,
    /// Where generated data and each engine's ingested copy live. Reused across runs: a data set
    /// is keyed by its spec, and each engine's copy is rebuilt only if incomplete. Default
    /// `target/promlite-bench`.
    pub work_dir: PathBuf,
    /// Directory holding `workload.json` and the query files. Default `testdata/workload`.
    pub workload_dir: PathBuf,
    /// Run only queries whose name contains one of these strings (all when empty).
    pub queries: Vec<String>,
    /// Run the instant versions.
    pub instant: bool,
    /// Run the range versions.
    pub range: bool,
    /// Timed runs per query per engine; the table shows their median. Default 5.
    pub runs: usize,
    /// Untimed runs before the timed ones (their first answer is the one checked). Default 1.
    pub warmup: usize,
    /// Range query step in milliseconds. Default 60,000. Range queries cover the whole data
    /// range; instant queries run 7.5 s before the last scrape (off the 15 s scrape grid).
    pub step_ms: i64,
    /// Engines to run.
    pub engines: EngineSet,
    /// How the engines' runs are ordered: grouped per query (default), interleaved run by run, or
    /// one engine after the other.
    pub order: Order,
    /// The longest wait for a quiet machine before an engine's runs ([`quiet`]); zero turns
    /// the waits off. Default 1 s.
    pub settle: Duration,
    /// Prometheus binaries and limits.
    pub prometheus: PrometheusConfig,
    /// VictoriaMetrics binary and limits.
    pub victoria: VictoriaConfig,
    /// The `promlite` binary that `promlite-http` serves with, and its limits.
    pub promlite_http: PromliteHttpConfig,
    /// promlite's workload-join fast path (on by default).
    pub fast_path: bool,
    /// Relative tolerance when comparing values with Prometheus's. Default 1e-9.
    pub rel_tolerance: f64,
    /// Also write the report as JSON here.
    pub json_out: Option<PathBuf>,
    /// Also write the report as Markdown (for BENCHMARKS.md) here.
    pub markdown_out: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            size: "large".into(),
            style: "legacy".into(),
            shape: "classic".into(),
            seed: None,
            work_dir: "target/promlite-bench".into(),
            workload_dir: "testdata/workload".into(),
            queries: Vec::new(),
            instant: true,
            range: true,
            runs: 5,
            warmup: 1,
            step_ms: 60_000,
            engines: EngineSet::default(),
            order: Order::default(),
            settle: Duration::from_secs(1),
            prometheus: PrometheusConfig::default(),
            victoria: VictoriaConfig::default(),
            promlite_http: PromliteHttpConfig::default(),
            fast_path: true,
            rel_tolerance: 1e-9,
            json_out: None,
            markdown_out: None,
        }
    }
}

/// Offset of every evaluation time from the 15 s scrape grid.
const OFF_GRID_MS: i64 = 7_500;

/// When the workload is evaluated, all times in milliseconds and off the scrape grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// Instant queries: 7.5 s before the last scrape.
    pub instant: i64,
    /// Range queries' first step: 7.5 s after the first scrape.
    pub start: i64,
    /// Range queries' last step: the last whole step inside the data range.
    pub end: i64,
    /// Range queries' step.
    pub step: i64,
}

/// The evaluation times for a data set of `spec` and a range step of `step_ms`.
pub fn times(spec: &promlite_cluster::ClusterSpec, step_ms: i64) -> Result<Times> {
    let n = spec.n_scrapes();
    if n == 0 || step_ms <= 0 {
        return Err(Error::Options(format!(
            "no scrapes in the data set or step {step_ms} ms is not positive"
        )));
    }
    let last = spec.scrape_time(n - 1);
    let start = spec.start_ms + OFF_GRID_MS;
    let steps = (spec.duration_ms / step_ms).max(1);
    Ok(Times {
        instant: last - OFF_GRID_MS,
        start,
        end: start + (steps - 1) * step_ms,
        step: step_ms,
    })
}

/// Runs the benchmark and writes progress, then the table, to `out`. Returns the report; fails
/// with [`Error::Mismatch`] (after writing everything) if promlite disagreed with Prometheus.
pub fn run(opts: &BenchOptions, out: &mut dyn Write) -> Result<BenchReport> {
    if opts.runs == 0 {
        return Err(Error::Options("runs must be at least 1".into()));
    }
    if !opts.instant && !opts.range {
        return Err(Error::Options(
            "neither instant nor range queries selected".into(),
        ));
    }
    let all = workload::load(&opts.workload_dir)?;
    let queries = workload::select(all, &opts.style, &opts.queries);
    if queries.is_empty() {
        return Err(Error::Options(format!(
            "no {} workload query matches {:?}",
            opts.style, opts.queries
        )));
    }
    let spec = dataset::shaped_spec_for(&opts.size, &opts.shape, &opts.style, opts.seed)?;
    let times = times(&spec, opts.step_ms)?;
    std::fs::create_dir_all(&opts.work_dir).map_err(error::io_err(&opts.work_dir))?;

    writeln!(
        out,
        "# generating {} {} cluster ({} labels) under {}",
        opts.size,
        opts.shape,
        opts.style,
        opts.work_dir.display()
    )?;
    let data = dataset::prepare(&opts.work_dir, &opts.size, &opts.style, &spec)?;
    let ingest = vec![IngestLine {
        engine: "generate".into(),
        step: format!("OpenMetrics text, {} MB", data.stats.bytes / 1_000_000),
        seconds: data.generate_time.as_secs_f64(),
        reused: data.generate_time.is_zero(),
    }];
    writeln!(
        out,
        "# data: {} pods, {} series, {} samples in {}",
        data.stats.pods,
        data.stats.series,
        data.stats.samples,
        data.openmetrics.display()
    )?;

    let mut jobs = Vec::new();
    for query in &queries {
        if opts.instant {
            jobs.push(Job {
                query,
                kind: QueryKind::Instant,
            });
        }
        if opts.range {
            jobs.push(Job {
                query,
                kind: QueryKind::Range,
            });
        }
    }

    let mut log = SetupLog {
        ingest,
        notes: Vec::new(),
    };
    let measured = measure::measure_all(
        opts.order,
        &Role::ALL,
        |role, out| prepare::prepare(role, opts, &data, &mut log, out),
        &jobs,
        &times,
        Runs {
            warmup: opts.warmup,
            timed: opts.runs,
            settle: opts.settle,
        },
        |outcomes| wanted_steps(&jobs, outcomes, opts.rel_tolerance),
        out,
    )?;
    let SetupLog { ingest, mut notes } = log;
    let waited = measured.settle;
    if waited.waits > 0 {
        notes.push(format!(
            "quiet machine: waited {} times before an engine's runs, {:.1} s in all, {} of them ended at the {} ms limit still busy",
            waited.waits,
            waited.waited_ms / 1e3,
            waited.timeouts,
            opts.settle.as_millis()
        ));
    }
    let rows = build_rows(
        &jobs,
        &measured.outcomes,
        &measured.instants,
        opts.rel_tolerance,
    );
    let prometheus_ran = measured
        .outcomes
        .iter()
        .any(|(role, _)| *role == Role::Prometheus);
    if !prometheus_ran {
        notes.push("no Prometheus answers: nothing was checked".into());
    }

    let report = BenchReport {
        setup: Setup {
            size: opts.size.clone(),
            shape: opts.shape.clone(),
            style: opts.style.clone(),
            nodes: data.stats.nodes,
            pods: data.stats.pods,
            series: data.stats.series,
            samples: data.stats.samples,
            data_range_ms: (
                spec.start_ms,
                spec.scrape_time(spec.n_scrapes().saturating_sub(1)),
            ),
            instant_ms: times.instant,
            range_ms: (times.start, times.end, times.step),
            runs: opts.runs,
            warmup: opts.warmup,
            fast_path: opts.fast_path,
            order: opts.order,
        },
        ingest,
        notes,
        rows,
    };
    writeln!(out)?;
    write!(out, "{}", report.to_table())?;
    if let Some(path) = &opts.json_out {
        write_file(path, &report.to_json())?;
    }
    if let Some(path) = &opts.markdown_out {
        write_file(path, &report.to_markdown())?;
    }
    let mismatches = report.promlite_mismatches();
    if !mismatches.is_empty() {
        return Err(Error::Mismatch {
            queries: mismatches,
        });
    }
    Ok(report)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(error::io_err(path))
}

/// At most this many differing steps of one range answer are re-checked against Prometheus's
/// instant answers; beyond it the answer differs (a bound on the extra instant queries, which a
/// 2 h range at the default 60 s step, 120 steps, never reaches).
pub const MAX_RECHECK_STEPS: usize = 200;

/// The engines whose range answers are re-checked step by step: those whose check fails the
/// run. VictoriaMetrics' differences are informational and mostly span every step (its `rate`
/// extrapolates differently), so re-checking them would only add instant queries.
const RECHECKED: [Role; 2] = [Role::Promlite, Role::PromliteHttp];

/// The `(job, step)` pairs at which Prometheus's instant answer is needed: for each range job,
/// every step where a [`RECHECKED`] engine's answer differs from Prometheus's range answer,
/// unless more than [`MAX_RECHECK_STEPS`] differ (that answer differs without asking).
fn wanted_steps(jobs: &[Job<'_>], measured: &[(Role, Vec<Outcome>)], rel_tol: f64) -> WantedSteps {
    let outcome = |role: Role, job_idx: usize| {
        measured
            .iter()
            .find(|(r, _)| *r == role)
            .and_then(|(_, outcomes)| outcomes.get(job_idx))
    };
    let mut wanted = WantedSteps::new();
    for (job_idx, job) in jobs.iter().enumerate() {
        if job.kind != QueryKind::Range {
            continue;
        }
        let Some(oracle) = outcome(Role::Prometheus, job_idx) else {
            continue;
        };
        for role in RECHECKED {
            let Some(engine) = outcome(role, job_idx) else {
                continue;
            };
            if let Some(steps) = answer::differing_steps(&oracle.answer, &engine.answer, rel_tol) {
                if steps.len() <= MAX_RECHECK_STEPS {
                    wanted.extend(steps.into_iter().map(|t_ms| (job_idx, t_ms)));
                }
            }
        }
    }
    wanted
}

/// Compares an answer with the oracle's, if there is one. A range answer that differs is
/// re-checked against the oracle's instant answers at its differing steps when `instants` is
/// given (see [`recheck_steps`]).
fn check_against(
    oracle: Option<&Outcome>,
    answer: &QueryResult,
    rel_tol: f64,
    instants: Option<&BTreeMap<i64, QueryResult>>,
) -> Check {
    let Some(oracle) = oracle else {
        return Check::NoOracle;
    };
    let why = match compare(&oracle.answer, answer, rel_tol) {
        Verdict::Same => return Check::Same,
        Verdict::Differs(why) => why,
    };
    let Some(instants) = instants else {
        return Check::Differs(why);
    };
    match recheck_steps(&oracle.answer, answer, rel_tol, MAX_RECHECK_STEPS, instants) {
        StepRecheck::SameAsInstant(steps) => {
            let shown: Vec<String> = steps.iter().take(5).map(i64::to_string).collect();
            let more = if steps.len() > shown.len() {
                ", ..."
            } else {
                ""
            };
            Check::SameAsInstant(format!(
                "equals Prometheus's instant answer at each of the {} steps where it differs from its range answer (t={}{more}); range answers: {why}",
                steps.len(),
                shown.join(", ")
            ))
        }
        StepRecheck::Differs(recheck) => {
            Check::Differs(format!("{why}; re-checked step by step: {recheck}"))
        }
    }
}

/// One table row per job from every measured engine's outcomes (`[job]` per engine). The
/// reference answer's shape is Prometheus's, else promlite's, else VictoriaMetrics'.
/// Range answers of the [`RECHECKED`] engines are re-checked against `instants`.
fn build_rows(
    jobs: &[Job<'_>],
    measured: &[(Role, Vec<Outcome>)],
    instants: &InstantAnswers,
    rel_tol: f64,
) -> Vec<Row> {
    let no_instants = BTreeMap::new();
    let outcome = |role: Role, job_idx: usize| {
        measured
            .iter()
            .find(|(r, _)| *r == role)
            .and_then(|(_, outcomes)| outcomes.get(job_idx))
    };
    let is_error = |o: &Outcome| matches!(o.answer, QueryResult::Error(_));
    jobs.iter()
        .enumerate()
        .map(|(job_idx, job)| {
            let reference = outcome(Role::Prometheus, job_idx);
            let pl = outcome(Role::Promlite, job_idx);
            let pl_http = outcome(Role::PromliteHttp, job_idx);
            let vm = outcome(Role::Victoria, job_idx);
            let (series, error) = match reference.or(pl).or(pl_http).or(vm) {
                Some(o) => (Some(o.answer.n_series()), is_error(o)),
                None => (None, false),
            };
            let job_instants = (job.kind == QueryKind::Range)
                .then(|| instants.get(&job_idx).unwrap_or(&no_instants));
            let check = |o: Option<&Outcome>, recheck: bool| {
                o.map_or(Check::NotRun, |o| {
                    check_against(
                        reference,
                        &o.answer,
                        rel_tol,
                        job_instants.filter(|_| recheck),
                    )
                })
            };
            Row {
                query: job.query.name.clone(),
                kind: job.kind,
                series: series.filter(|_| !error),
                error,
                prometheus: reference.map(|o| o.measurement.clone()),
                promlite_check: check(pl, RECHECKED.contains(&Role::Promlite)),
                promlite: pl.map(|o| o.measurement.clone()),
                promlite_http_check: check(pl_http, RECHECKED.contains(&Role::PromliteHttp)),
                promlite_http: pl_http.map(|o| o.measurement.clone()),
                victoria_check: check(vm, RECHECKED.contains(&Role::Victoria)),
                victoria: vm.map(|o| o.measurement.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluation_times_are_off_the_scrape_grid_and_cover_the_range() {
        let spec = dataset::spec_for("large", "legacy", None).unwrap();
        let t = times(&spec, 60_000).unwrap();
        for at in [t.instant, t.start, t.end] {
            assert_ne!(
                (at - spec.start_ms).rem_euclid(spec.interval_ms),
                0,
                "{at} is on the scrape grid"
            );
        }
        assert_eq!((t.end - t.start) / t.step + 1, spec.duration_ms / 60_000);
        assert!(t.end <= spec.start_ms + spec.duration_ms);
        assert!(t.instant > spec.start_ms + spec.duration_ms - 60_000);
        assert!(times(&spec, 0).is_err());
    }

    #[test]
    fn checks_without_an_oracle_are_marked() {
        assert_eq!(
            check_against(None, &QueryResult::Vector(vec![]), 1e-9, None),
            Check::NoOracle
        );
        let oracle = Outcome {
            measurement: Measurement::new(&[], &[], &[]),
            answer: QueryResult::Vector(vec![]),
        };
        assert_eq!(
            check_against(Some(&oracle), &QueryResult::Vector(vec![]), 1e-9, None),
            Check::Same
        );
        assert!(matches!(
            check_against(Some(&oracle), &QueryResult::Error("x".into()), 1e-9, None),
            Check::Differs(_)
        ));
    }

    #[test]
    fn bad_options_are_rejected_before_any_work() {
        let work = tempfile::tempdir().unwrap();
        let base = BenchOptions {
            work_dir: work.path().to_path_buf(),
            ..BenchOptions::default()
        };
        let err = run(
            &BenchOptions {
                runs: 0,
                ..base.clone()
            },
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Options(_)), "{err}");
        let err = run(
            &BenchOptions {
                instant: false,
                range: false,
                ..base.clone()
            },
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Options(_)), "{err}");
        let missing = BenchOptions {
            workload_dir: work.path().join("nope"),
            ..base
        };
        assert!(matches!(
            run(&missing, &mut Vec::new()),
            Err(Error::Io { .. })
        ));
        assert_eq!(
            std::fs::read_dir(work.path()).unwrap().count(),
            0,
            "work dir was written to"
        );
    }

    fn outcome(answer: QueryResult) -> Outcome {
        Outcome {
            measurement: Measurement::new(&[], &[], &[]),
            answer,
        }
    }

    /// A range answer with one series per `(node, points)`, labelled `pod="p"`.
    fn range(series: &[(&str, &[(i64, f64)])]) -> QueryResult {
        QueryResult::Matrix(
            series
                .iter()
                .map(|(node, points)| {
                    answer::Series::new(
                        vec![("node".into(), (*node).into()), ("pod".into(), "p".into())],
                        points.to_vec(),
                    )
                })
                .collect(),
        )
        .normalise()
    }

    fn report_of(rows: Vec<Row>) -> BenchReport {
        BenchReport {
            setup: Setup {
                size: "tiny".into(),
                shape: "churn".into(),
                style: "modern".into(),
                nodes: 1,
                pods: 1,
                series: 2,
                samples: 4,
                data_range_ms: (0, 120_000),
                instant_ms: 112_500,
                range_ms: (0, 120_000, 60_000),
                runs: 1,
                warmup: 0,
                fast_path: true,
                order: Order::Grouped,
            },
            ingest: Vec::new(),
            notes: Vec::new(),
            rows,
        }
    }

    /// Prometheus's range evaluation kept node `b` at t=60,000 where `a` and `b` tie; its instant
    /// evaluation there keeps `a`, as promlite does. promlite-http keeps both (a real
    /// difference); VictoriaMetrics answers as promlite but is not re-checked.
    #[test]
    fn a_range_tie_equal_to_the_instant_answer_passes_and_a_real_difference_still_fails() {
        let query = workload::WorkloadQuery {
            name: "container_memory_node".into(),
            style: "modern".into(),
            query: "topk by (pod) (1, x)".into(),
            expect: "success".into(),
        };
        let jobs = [
            Job {
                query: &query,
                kind: QueryKind::Range,
            },
            Job {
                query: &query,
                kind: QueryKind::Instant,
            },
        ];
        let prometheus = range(&[("a", &[(0, 1.0)]), ("b", &[(60_000, 1.0), (120_000, 1.0)])]);
        let promlite = range(&[("a", &[(0, 1.0), (60_000, 1.0)]), ("b", &[(120_000, 1.0)])]);
        let both = range(&[
            ("a", &[(0, 1.0), (60_000, 1.0)]),
            ("b", &[(60_000, 1.0), (120_000, 1.0)]),
        ]);
        let instant_vector = |node: &str| {
            QueryResult::Vector(vec![answer::Series::new(
                vec![("node".into(), node.into()), ("pod".into(), "p".into())],
                vec![(60_000, 1.0)],
            )])
        };
        let measured = vec![
            (
                Role::Prometheus,
                vec![outcome(prometheus), outcome(instant_vector("b"))],
            ),
            (
                Role::Victoria,
                vec![outcome(promlite.clone()), outcome(instant_vector("b"))],
            ),
            (
                Role::Promlite,
                vec![outcome(promlite), outcome(instant_vector("a"))],
            ),
            (
                Role::PromliteHttp,
                vec![outcome(both), outcome(instant_vector("b"))],
            ),
        ];
        // Both re-checked engines differ at t=60,000 only; the instant job is never re-checked.
        assert_eq!(
            wanted_steps(&jobs, &measured, 1e-9),
            WantedSteps::from([(0, 60_000)])
        );
        let instants = InstantAnswers::from([(0, BTreeMap::from([(60_000, instant_vector("a"))]))]);
        let rows = build_rows(&jobs, &measured, &instants, 1e-9);
        let Check::SameAsInstant(why) = &rows[0].promlite_check else {
            panic!("{:?}", rows[0].promlite_check)
        };
        assert!(
            why.contains("each of the 1 steps") && why.contains("(t=60000)"),
            "{why}"
        );
        let Check::Differs(why) = &rows[0].promlite_http_check else {
            panic!("{:?}", rows[0].promlite_http_check)
        };
        assert!(
            why.contains(
                "re-checked step by step: at t=60000 it differs from the instant answer too"
            ),
            "{why}"
        );
        assert!(matches!(rows[0].victoria_check, Check::Differs(_)));
        // Instant rows compare with Prometheus's instant answer only.
        assert!(matches!(rows[1].promlite_check, Check::Differs(_)));
        assert_eq!(rows[1].promlite_http_check, Check::Same);
        let report = report_of(rows.clone());
        assert_eq!(
            report.promlite_mismatches(),
            vec![
                "container_memory_node (range)".to_string(),
                "container_memory_node (instant)".to_string()
            ]
        );
        // Without the instant answers (Prometheus did not answer them) the tie is a mismatch.
        let rows = build_rows(&jobs[..1], &measured, &InstantAnswers::new(), 1e-9);
        assert!(matches!(rows[0].promlite_check, Check::Differs(_)));
        // With only the tie, nothing fails the run.
        let mut tie_only = build_rows(&jobs[..1], &measured, &instants, 1e-9);
        tie_only[0].promlite_http_check = Check::NotRun;
        assert!(report_of(tie_only).promlite_mismatches().is_empty());
    }
}
