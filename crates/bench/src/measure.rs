//! Measuring: runs every job on the prepared engines in one of three orders, and keeps each
//! engine's timings and first answer per job:
//! - grouped (the default): all engines up at once; per query, each engine does its warm-ups
//!   and timed runs back to back, the engine that goes first rotating from query to query;
//! - interleaved: all engines up at once; each timed run executes once on every engine, the
//!   first engine rotating from run to run;
//! - sequential: one engine at a time, each running every query.
//!
//! The machine's speed drifts over minutes, so an engine measured alone during a slow stretch
//! looks slower than it is: the grouped and interleaved orders put the engines' runs of one
//! query within seconds of each other. Interleaving single runs has a cost of its own: every run
//! starts with caches the other engines just evicted, which inflates sub-millisecond queries
//! (measured on the tiny cluster: 0.1-0.2 ms became 0.3-0.5 ms for promlite while the servers'
//! HTTP round trips hid it). Grouping keeps each engine's runs warm, as a real user's repeated
//! dashboard queries are, while keeping the engines close in time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use crate::answer::QueryResult;
use crate::engine::Engine;
use crate::error::Result;
use crate::quiet::{Settle, SettleStats};
use crate::report::{self, Measurement, QueryKind};
use crate::workload::WorkloadQuery;
use crate::Times;

/// The order in which the engines are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Every engine is started first and they all stay up. For each query, every engine does its
    /// warm-up runs, then each timed run executes once on every engine, the engine that goes
    /// first rotating from run to run (see [`rotation`]).
    Interleaved,
    /// Every engine is started first and they all stay up. For each query, each engine does its
    /// warm-up runs and its timed runs back to back; the engine that goes first rotates from
    /// query to query (see [`rotation`]).
    #[default]
    Grouped,
    /// One engine at a time: it is started, runs every query (warm-ups, then timed runs) and is
    /// stopped before the next engine starts.
    Sequential,
}

impl Order {
    /// `interleaved` or `sequential`.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Interleaved => "interleaved",
            Order::Grouped => "grouped",
            Order::Sequential => "sequential",
        }
    }
}

/// The engines' positions in round `round` of a job, first to last: a cyclic shift of
/// `0..n_engines` by `round`. Over any `n_engines` consecutive rounds every engine goes first
/// once and stands at every position once.
pub fn rotation(n_engines: usize, round: usize) -> impl Iterator<Item = usize> {
    // The range is empty when there are no engines, so the modulo never sees zero.
    (0..n_engines).map(move |k| (round % n_engines + k) % n_engines)
}

/// The engines the harness knows, in the order they are prepared and listed. Prometheus comes
/// first: its answers are the reference for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Prometheus,
    Victoria,
    Promlite,
    /// After `Promlite`, whose ingest it serves.
    PromliteHttp,
}

impl Role {
    /// Every role, in preparation order.
    pub(crate) const ALL: [Role; 4] = [
        Role::Prometheus,
        Role::Victoria,
        Role::Promlite,
        Role::PromliteHttp,
    ];
}

/// One query version to run.
#[derive(Debug, Clone)]
pub(crate) struct Job<'a> {
    pub(crate) query: &'a WorkloadQuery,
    pub(crate) kind: QueryKind,
}

/// What one engine did with one job: its timings and its first run's answer.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) measurement: Measurement,
    pub(crate) answer: QueryResult,
}

/// A prepared engine: something to query, and to stop once measuring is over.
pub(crate) trait Running {
    /// Which engine this is.
    fn role(&self) -> Role;
    /// The engine to query.
    fn engine(&mut self) -> &mut dyn Engine;
    /// Stops it (servers by PID); dropping it without calling this stops it too.
    fn stop(self) -> Result<()>;
}

/// How many runs each job gets on each engine, and how long to wait for a quiet machine before
/// an engine's runs ([`crate::quiet`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Runs {
    /// Untimed runs first.
    pub(crate) warmup: usize,
    /// Timed runs after them.
    pub(crate) timed: usize,
    /// The longest wait for a quiet machine (zero: none).
    pub(crate) settle: Duration,
}

/// Prometheus's instant answers at range steps: job index, then step time, then the answer.
pub(crate) type InstantAnswers = BTreeMap<usize, BTreeMap<i64, QueryResult>>;

/// `(job index, step time)` pairs whose instant answer the oracle is asked for after measuring.
pub(crate) type WantedSteps = BTreeSet<(usize, i64)>;

/// What [`measure_all`] found.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    /// Each measured engine's outcomes, one per job in job order, in the order of the roles.
    pub(crate) outcomes: Vec<(Role, Vec<Outcome>)>,
    /// Prometheus's instant answers at the steps the `wanted` callback asked for.
    pub(crate) instants: InstantAnswers,
    /// How the waits for a quiet machine went.
    pub(crate) settle: SettleStats,
}

/// Prepares the engines of `roles` with `prepare` (which returns `None` for an engine that is
/// skipped) and runs every job on them in `order`. Then, if `wanted` names any steps given the
/// outcomes, asks Prometheus (while it is still up; in the sequential order, started again) for
/// its instant answer at each of them. Every prepared engine is stopped, also when measuring
/// fails (by dropping it).
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the arguments are the run's independent inputs"
)]
pub(crate) fn measure_all<R: Running>(
    order: Order,
    roles: &[Role],
    mut prepare: impl FnMut(Role, &mut dyn Write) -> Result<Option<R>>,
    jobs: &[Job<'_>],
    times: &Times,
    runs: Runs,
    wanted: impl Fn(&[(Role, Vec<Outcome>)]) -> WantedSteps,
    out: &mut dyn Write,
) -> Result<Measured> {
    let mut measured = Vec::with_capacity(roles.len());
    let mut instants = InstantAnswers::new();
    let mut settle = Settle::new(runs.settle);
    match order {
        Order::Sequential => {
            for role in roles {
                let Some(mut running) = prepare(*role, out)? else {
                    continue;
                };
                let mut outcomes = measure(
                    &mut [running.engine()],
                    jobs,
                    times,
                    runs,
                    order,
                    &mut settle,
                    out,
                )?;
                running.stop()?;
                measured.push((*role, outcomes.pop().unwrap_or_default()));
            }
            let steps = wanted(&measured);
            let oracle_ran = measured.iter().any(|(role, _)| *role == Role::Prometheus);
            if !steps.is_empty() && oracle_ran {
                if let Some(mut oracle) = prepare(Role::Prometheus, out)? {
                    instants = ask_instants(oracle.engine(), jobs, &steps, out)?;
                    oracle.stop()?;
                }
            }
        }
        Order::Interleaved | Order::Grouped => {
            let mut all = Vec::with_capacity(roles.len());
            for role in roles {
                if let Some(running) = prepare(*role, out)? {
                    all.push(running);
                }
            }
            let mut engines: Vec<&mut dyn Engine> = all.iter_mut().map(R::engine).collect();
            let outcomes = measure(&mut engines, jobs, times, runs, order, &mut settle, out)?;
            let roles_run: Vec<Role> = all.iter().map(R::role).collect();
            measured.extend(roles_run.into_iter().zip(outcomes));
            let steps = wanted(&measured);
            if !steps.is_empty() {
                if let Some(oracle) = all.iter_mut().find(|r| r.role() == Role::Prometheus) {
                    instants = ask_instants(oracle.engine(), jobs, &steps, out)?;
                }
            }
            stop_all(all)?;
        }
    }
    Ok(Measured {
        outcomes: measured,
        instants,
        settle: settle.stats(),
    })
}

/// Asks `oracle` for the instant answer of each wanted `(job, step)`, printing one line per job.
/// Untimed: these answers only check others.
fn ask_instants(
    oracle: &mut dyn Engine,
    jobs: &[Job<'_>],
    steps: &WantedSteps,
    out: &mut dyn Write,
) -> Result<InstantAnswers> {
    let mut instants = InstantAnswers::new();
    for &(job_idx, t_ms) in steps {
        let Some(job) = jobs.get(job_idx) else {
            continue;
        };
        let answer = oracle.instant_query(&job.query.query, t_ms)?.result;
        instants.entry(job_idx).or_default().insert(t_ms, answer);
    }
    for (job_idx, at_steps) in &instants {
        if let Some(job) = jobs.get(*job_idx) {
            writeln!(
                out,
                "{:<17} {:<32} re-check: instant answers at {} differing range steps",
                oracle.name(),
                job.query.name,
                at_steps.len()
            )?;
        }
    }
    Ok(instants)
}

/// Stops every engine, even after one fails to stop; returns the first failure.
fn stop_all<R: Running>(all: Vec<R>) -> Result<()> {
    let mut first = Ok(());
    for running in all {
        let stopped = running.stop();
        if first.is_ok() {
            first = stopped;
        }
    }
    first
}

/// Runs every job on every engine of `engines` in the schedule of `order` (see [`schedule`]),
/// waiting for a quiet machine with `settle` before each job's first run and whenever the
/// engine changes (before each engine's runs of a job when grouped, before most runs when
/// interleaved). With one engine every order is simply that engine's warm-ups and timed runs back
/// to back. Prints one progress line per engine per job. Returns `[engine][job]`.
pub(crate) fn measure(
    engines: &mut [&mut dyn Engine],
    jobs: &[Job<'_>],
    times: &Times,
    runs: Runs,
    order: Order,
    settle: &mut Settle,
    out: &mut dyn Write,
) -> Result<Vec<Vec<Outcome>>> {
    let mut outcomes: Vec<Vec<Outcome>> = engines
        .iter()
        .map(|_| Vec::with_capacity(jobs.len()))
        .collect();
    for (job_idx, job) in jobs.iter().enumerate() {
        let mut tallies: Vec<Tally> = engines.iter().map(|_| Tally::new(runs.timed)).collect();
        let mut previous = None;
        for (engine_idx, timed) in schedule(order, engines.len(), job_idx, runs) {
            if previous != Some(engine_idx) {
                settle.wait();
                previous = Some(engine_idx);
            }
            if let (Some(engine), Some(tally)) =
                (engines.get_mut(engine_idx), tallies.get_mut(engine_idx))
            {
                engine.want_answer(tally.answer.is_none());
                tally.record(execute(&mut **engine, job, times)?, timed);
            }
        }
        for ((engine, tally), kept) in engines.iter().zip(tallies).zip(outcomes.iter_mut()) {
            let outcome = tally.finish();
            progress(out, engine.name(), job, &outcome)?;
            kept.push(outcome);
        }
    }
    Ok(outcomes)
}

/// The executions of job number `job_idx` on `n_engines` engines, in order: `(engine, timed)`.
/// - Interleaved: the warm-up rounds, then the timed rounds; each round runs every engine once
///   in [`rotation`] order, rounds counted from 0 in each phase.
/// - Grouped (and sequential, which measures one engine at a time): each engine's warm-ups and
///   timed runs back to back, the engines in [`rotation`] order with the job as the round.
pub(crate) fn schedule(
    order: Order,
    n_engines: usize,
    job_idx: usize,
    runs: Runs,
) -> Vec<(usize, bool)> {
    let mut calls = Vec::with_capacity(n_engines * (runs.warmup + runs.timed));
    match order {
        Order::Interleaved => {
            for (round, timed) in (0..runs.warmup)
                .map(|round| (round, false))
                .chain((0..runs.timed).map(|round| (round, true)))
            {
                calls.extend(rotation(n_engines, round).map(|engine| (engine, timed)));
            }
        }
        Order::Grouped | Order::Sequential => {
            for engine in rotation(n_engines, job_idx) {
                calls.extend((0..runs.warmup + runs.timed).map(|run| (engine, run >= runs.warmup)));
            }
        }
    }
    calls
}

/// One execution of `job` on `engine`.
fn execute(engine: &mut dyn Engine, job: &Job<'_>, times: &Times) -> Result<crate::engine::Timed> {
    match job.kind {
        QueryKind::Instant => engine.instant_query(&job.query.query, times.instant),
        QueryKind::Range => {
            engine.range_query(&job.query.query, times.start, times.end, times.step)
        }
    }
}

/// One engine's runs of one job so far.
struct Tally {
    answer: Option<QueryResult>,
    wall: Vec<Duration>,
    eval: Vec<Duration>,
    exec: Vec<Duration>,
}

impl Tally {
    fn new(timed_runs: usize) -> Self {
        Self {
            answer: None,
            wall: Vec::with_capacity(timed_runs),
            eval: Vec::with_capacity(timed_runs),
            exec: Vec::with_capacity(timed_runs),
        }
    }

    /// Keeps the first run's answer, and the timings of timed runs.
    fn record(&mut self, run: crate::engine::Timed, timed: bool) {
        if timed {
            self.wall.push(run.wall);
            self.eval.extend(run.server.eval_total);
            self.exec.extend(run.server.exec_total);
        }
        if self.answer.is_none() {
            self.answer = Some(run.result);
        }
    }

    fn finish(self) -> Outcome {
        Outcome {
            measurement: Measurement::new(&self.wall, &self.eval, &self.exec),
            answer: self
                .answer
                .unwrap_or_else(|| QueryResult::Error("not run".into())),
        }
    }
}

/// The progress line of one engine on one job: its median and the answer's shape.
fn progress(out: &mut dyn Write, engine: &str, job: &Job<'_>, outcome: &Outcome) -> Result<()> {
    let shape = match &outcome.answer {
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
        engine,
        job.query.name,
        job.kind.as_str(),
        report::fmt_ms(outcome.measurement.median_ms)
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
