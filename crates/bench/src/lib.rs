//! Benchmark harness: runs the workload queries on promlite, Prometheus and VictoriaMetrics,
//! checks every answer against Prometheus's, and prints a table of medians and ratios.
//!
//! [`run`] generates a synthetic cluster (crates/cluster) once per spec into a work directory,
//! ingests it into each engine (Prometheus through `promtool tsdb create-blocks-from
//! openmetrics`, VictoriaMetrics through `/api/v1/import/prometheus`, promlite through its
//! appender), then runs the instant and range version of every workload query on each engine in
//! turn: warm-up runs, then timed runs whose median is reported. Prometheus is the oracle:
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
pub mod process;
pub mod prometheus;
pub mod promjson;
#[cfg(feature = "promlite")]
pub mod promlite_engine;
pub mod report;
pub mod victoria;
pub mod workload;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use error::{Error, Result};
pub use report::{BenchReport, Check, IngestLine, Measurement, QueryKind, Row, Setup};

use answer::{compare, QueryResult, Verdict};
use engine::Engine;
use prometheus::{Prometheus, PrometheusConfig};
use victoria::{Victoria, VictoriaConfig};
use workload::WorkloadQuery;

/// Which engines to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineSet {
    /// promlite, in process.
    pub promlite: bool,
    /// Prometheus (the oracle for answer checks).
    pub prometheus: bool,
    /// VictoriaMetrics single-node.
    pub victoria: bool,
}

impl Default for EngineSet {
    fn default() -> Self {
        Self {
            promlite: true,
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
    /// Prometheus binaries and limits.
    pub prometheus: PrometheusConfig,
    /// VictoriaMetrics binary and limits.
    pub victoria: VictoriaConfig,
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
            prometheus: PrometheusConfig::default(),
            victoria: VictoriaConfig::default(),
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

/// One query version to run.
#[derive(Debug, Clone)]
struct Job<'a> {
    query: &'a WorkloadQuery,
    kind: QueryKind,
}

/// What one engine did with one job: timings and (for the oracle) the answer.
struct Outcome {
    measurement: Measurement,
    answer: QueryResult,
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
    let spec = dataset::spec_for(&opts.size, &opts.style, opts.seed)?;
    let times = times(&spec, opts.step_ms)?;
    std::fs::create_dir_all(&opts.work_dir).map_err(error::io_err(&opts.work_dir))?;

    writeln!(
        out,
        "# generating {} cluster ({} labels) under {}",
        opts.size,
        opts.style,
        opts.work_dir.display()
    )?;
    let data = dataset::prepare(&opts.work_dir, &opts.size, &opts.style, &spec)?;
    let mut ingest = vec![IngestLine {
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

    let mut notes = Vec::new();
    let key = |job: &Job<'_>| (job.query.name.clone(), job.kind);
    let mut oracle: HashMap<(String, QueryKind), Outcome> = HashMap::new();
    let mut prometheus_ran = false;

    // Prometheus first: its answers are the reference for the others.
    if opts.engines.prometheus {
        match opts.prometheus.missing() {
            Some(why) => notes.push(format!("prometheus skipped: {why}")),
            None => {
                let blocks = data.engine_dir("prometheus");
                writeln!(out, "# prometheus: building blocks with promtool")?;
                let built = prometheus::build_blocks(&opts.prometheus, &data.openmetrics, &blocks)?;
                ingest.push(IngestLine {
                    engine: "prometheus".into(),
                    step: "promtool tsdb create-blocks-from openmetrics".into(),
                    seconds: built.as_secs_f64(),
                    reused: built.is_zero(),
                });
                let (mut server, ready) = Prometheus::start(&opts.prometheus, &blocks, &data.dir)?;
                ingest.push(IngestLine {
                    engine: "prometheus".into(),
                    step: "start-up until /-/ready".into(),
                    seconds: ready.as_secs_f64(),
                    reused: false,
                });
                for job in &jobs {
                    let outcome = run_job(&mut server, job, &times, opts, out)?;
                    oracle.insert(key(job), outcome);
                }
                server.stop()?;
                prometheus_ran = true;
            }
        }
    }

    let mut victoria: HashMap<(String, QueryKind), (Measurement, Check, usize, bool)> =
        HashMap::new();
    if opts.engines.victoria {
        match opts.victoria.missing() {
            Some(why) => notes.push(format!("victoria-metrics skipped: {why}")),
            None => {
                let dir = data.engine_dir("victoria-metrics");
                let (server, ready) = Victoria::start(&opts.victoria, &dir, &data.dir)?;
                let mut server = if server.has_import() {
                    ingest.push(IngestLine {
                        engine: "victoria-metrics".into(),
                        step: "start-up until /health".into(),
                        seconds: ready.as_secs_f64(),
                        reused: false,
                    });
                    server
                } else {
                    writeln!(out, "# victoria-metrics: importing")?;
                    let imported = server.import(&data.openmetrics)?;
                    ingest.push(IngestLine {
                        engine: "victoria-metrics".into(),
                        step: format!(
                            "/api/v1/import/prometheus ({} samples) + force_flush",
                            imported.samples
                        ),
                        seconds: imported.elapsed.as_secs_f64(),
                        reused: false,
                    });
                    // Restart so background merges of the fresh parts do not run during timing.
                    server.stop()?;
                    Victoria::start(&opts.victoria, &dir, &data.dir)?.0
                };
                for job in &jobs {
                    let outcome = run_job(&mut server, job, &times, opts, out)?;
                    let check =
                        check_against(oracle.get(&key(job)), &outcome.answer, opts.rel_tolerance);
                    let is_error = matches!(outcome.answer, QueryResult::Error(_));
                    let n_series = outcome.answer.n_series();
                    victoria.insert(key(job), (outcome.measurement, check, n_series, is_error));
                }
                server.stop()?;
            }
        }
    }

    let mut promlite: HashMap<(String, QueryKind), (Measurement, Check, usize, bool)> =
        HashMap::new();
    #[cfg(not(feature = "promlite"))]
    if opts.engines.promlite {
        notes.push("promlite skipped: built without the `promlite` feature".into());
    }
    #[cfg(feature = "promlite")]
    if opts.engines.promlite {
        writeln!(out, "# promlite: opening (ingesting on first use)")?;
        let (mut engine, stats) = promlite_engine::Promlite::open_or_ingest(
            &data.engine_dir("promlite"),
            &data.spec,
            opts.fast_path,
        )?;
        // promlite ingests from the generator's stream, the others from data.om: the counts must
        // agree, or the generator changed since data.om was written (delete the work directory).
        if stats.samples != 0 && stats.samples != data.stats.samples {
            return Err(Error::Promlite(format!(
                "ingested {} samples but {} holds {}; the generator changed, delete {}",
                stats.samples,
                data.openmetrics.display(),
                data.stats.samples,
                data.dir.display()
            )));
        }
        ingest.push(IngestLine {
            engine: "promlite".into(),
            step: format!("appender ({} samples) + flush into blocks", stats.samples),
            seconds: stats.elapsed.as_secs_f64(),
            reused: stats.elapsed.is_zero(),
        });
        for job in &jobs {
            let outcome = run_job(&mut engine, job, &times, opts, out)?;
            let check = check_against(oracle.get(&key(job)), &outcome.answer, opts.rel_tolerance);
            let is_error = matches!(outcome.answer, QueryResult::Error(_));
            promlite.insert(
                key(job),
                (
                    outcome.measurement,
                    check,
                    outcome.answer.n_series(),
                    is_error,
                ),
            );
        }
    }

    let mut rows = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let k = key(job);
        let reference = oracle.get(&k);
        let pl = promlite.remove(&k);
        let vm = victoria.remove(&k);
        // The reference answer's shape: Prometheus's, else promlite's, else VictoriaMetrics'.
        let (series, error) = match (reference, &pl, &vm) {
            (Some(o), _, _) => (
                Some(o.answer.n_series()),
                matches!(o.answer, QueryResult::Error(_)),
            ),
            (None, Some((_, _, n, is_error)), _) | (None, None, Some((_, _, n, is_error))) => {
                (Some(*n), *is_error)
            }
            (None, None, None) => (None, false),
        };
        rows.push(Row {
            query: job.query.name.clone(),
            kind: job.kind,
            series: series.filter(|_| !error),
            error,
            prometheus: reference.map(|o| o.measurement.clone()),
            promlite_check: pl.as_ref().map_or(Check::NotRun, |p| p.1.clone()),
            promlite: pl.map(|p| p.0),
            victoria_check: vm.as_ref().map_or(Check::NotRun, |v| v.1.clone()),
            victoria: vm.map(|v| v.0),
        });
    }
    if !prometheus_ran {
        notes.push("no Prometheus answers: nothing was checked".into());
    }

    let report = BenchReport {
        setup: Setup {
            size: opts.size.clone(),
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

/// Compares an answer with the oracle's, if there is one.
fn check_against(oracle: Option<&Outcome>, answer: &QueryResult, rel_tol: f64) -> Check {
    match oracle {
        None => Check::NoOracle,
        Some(o) => match compare(&o.answer, answer, rel_tol) {
            Verdict::Same => Check::Same,
            Verdict::Differs(why) => Check::Differs(why),
        },
    }
}

/// Runs one job on one engine: warm-up runs, then the timed runs. The answer kept is the first
/// run's. Prints one progress line.
fn run_job(
    engine: &mut dyn Engine,
    job: &Job<'_>,
    times: &Times,
    opts: &BenchOptions,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let mut answer: Option<QueryResult> = None;
    let mut wall = Vec::with_capacity(opts.runs);
    let mut eval = Vec::with_capacity(opts.runs);
    let mut exec = Vec::with_capacity(opts.runs);
    for run_idx in 0..opts.warmup + opts.runs {
        let timed = match job.kind {
            QueryKind::Instant => engine.instant_query(&job.query.query, times.instant)?,
            QueryKind::Range => {
                engine.range_query(&job.query.query, times.start, times.end, times.step)?
            }
        };
        if run_idx >= opts.warmup {
            wall.push(timed.wall);
            eval.extend(timed.server.eval_total);
            exec.extend(timed.server.exec_total);
        }
        if answer.is_none() {
            answer = Some(timed.result);
        }
    }
    let measurement = Measurement::new(&wall, &eval, &exec);
    let answer = answer.unwrap_or(QueryResult::Error("not run".into()));
    let shape = match &answer {
        QueryResult::Error(e) => format!(
            "error: {}",
            e.lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(80)
                .collect::<String>()
        ),
        other => format!("{} series", other.n_series()),
    };
    writeln!(
        out,
        "{:<17} {:<32} {:<7} median {:>9} ms  ({shape})",
        engine.name(),
        job.query.name,
        job.kind.as_str(),
        report::fmt_ms(measurement.median_ms)
    )?;
    Ok(Outcome {
        measurement,
        answer,
    })
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
            check_against(None, &QueryResult::Vector(vec![]), 1e-9),
            Check::NoOracle
        );
        let oracle = Outcome {
            measurement: Measurement::new(&[], &[], &[]),
            answer: QueryResult::Vector(vec![]),
        };
        assert_eq!(
            check_against(Some(&oracle), &QueryResult::Vector(vec![]), 1e-9),
            Check::Same
        );
        assert!(matches!(
            check_against(Some(&oracle), &QueryResult::Error("x".into()), 1e-9),
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
}
