//! The evaluator core: selection, the per-node dispatch, subqueries, step invariance, limits and
//! the final `__name__` cleanup.
//!
//! Each selector is selected once per evaluation over the whole window its steps need, decoded
//! into a `Vec<Sample>` per series, and then walked with indices that only move forward as the
//! steps advance (no re-seeking per step).

use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite_model::{is_stale_nan, Labels, Matcher, Querier, Queryable, Sample, SelectHints};
use promlite_promql::ast::{At, Expr, MatrixSelector, Subquery, UnaryOp, VectorSelector};
use rayon::prelude::*;

use crate::annotations::{Annotations, Kind};
use crate::engine::{to_public, CancelToken, EngineOptions, QueryStats};
use crate::error::{Error, Result};
use crate::explain::ExplainLog;
use crate::plan::Plan;
use crate::series::{dup_labelset, Grid, LabelIndex, Series, Val};
use crate::value::Value;
use crate::{aggregate, binary, functions};

/// The series a range function works on, with the window parameters.
pub(crate) struct RangeInput {
    pub series: Vec<Series>,
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
}

impl RangeInput {
    /// The right end of the window for step time `t` (windows are `(end - range, end]`).
    #[inline]
    pub(crate) fn window_end(&self, t: i64) -> i64 {
        self.at.unwrap_or(t).saturating_sub(self.offset)
    }
}

/// A query's deadline and cancellation token, shareable with worker threads.
#[derive(Debug, Clone)]
pub(crate) struct Deadline {
    cancel: Option<CancelToken>,
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// Fails with [`Error::Cancelled`] or [`Error::Timeout`] once the query must stop.
    #[inline]
    pub(crate) fn check(&self, stage: &'static str) -> Result<()> {
        check_deadline(self.cancel.as_ref(), self.at, self.limit, stage)
    }

    /// [`Deadline::check`] every [`STEPS_PER_CHECK`] iterations of a per-step loop (at
    /// `step_idx` 0, 1024, ...): reading the clock costs ~20 ns, a step a few, so checking
    /// every step would cost more than the work it guards.
    #[inline]
    pub(crate) fn check_every(&self, step_idx: usize, stage: &'static str) -> Result<()> {
        if step_idx.is_multiple_of(STEPS_PER_CHECK) {
            self.check(stage)
        } else {
            Ok(())
        }
    }

    /// True once the query must stop (for loops that cannot return an error, such as a sort's
    /// comparator).
    #[inline]
    pub(crate) fn expired(&self) -> bool {
        self.check("").is_err()
    }
}

/// How many iterations of a per-step or per-sample loop run between two deadline checks.
pub(crate) const STEPS_PER_CHECK: usize = 1024;

#[inline]
fn check_deadline(
    cancel: Option<&CancelToken>,
    at: Instant,
    limit: Duration,
    stage: &'static str,
) -> Result<()> {
    if cancel.is_some_and(CancelToken::is_cancelled) {
        return Err(Error::Cancelled(stage.to_string()));
    }
    if Instant::now() > at {
        return Err(Error::Timeout { stage, limit });
    }
    Ok(())
}

/// Per-query evaluation state.
pub(crate) struct Evaluator<'a> {
    pub opts: &'a EngineOptions,
    /// Shared with the evaluators of concurrently evaluated sides (see [`Evaluator::eval_pair`]).
    querier: Option<Arc<dyn Querier>>,
    /// The query text, for annotation positions.
    pub query: &'a str,
    /// Query start and end, for `@ start()` / `@ end()`.
    query_start: i64,
    query_end: i64,
    deadline: Instant,
    pub annos: Annotations,
    samples_loaded: usize,
    peak_samples: usize,
    series_selected: usize,
    prepare: Duration,
    eval_started: Instant,
    grid: Grid,
    cancel: Option<CancelToken>,
    /// The decisions taken per node, when [`EngineOptions::explain`] asks for them.
    pub(crate) explain: Option<ExplainLog>,
    /// The evaluation strategies decided before evaluation (shared with forked evaluators).
    pub(crate) plan: Arc<Plan<'a>>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(
        opts: &'a EngineOptions,
        db: &dyn Queryable,
        expr: &'a Expr,
        query: &'a str,
        grid: Grid,
        started: Instant,
        cancel: Option<CancelToken>,
    ) -> Result<Self> {
        let mut window: Option<(i64, i64)> = None;
        data_window(
            expr,
            grid.start,
            grid.end,
            grid.start,
            grid.end,
            opts,
            &mut window,
        );
        let prep = Instant::now();
        let querier = match window {
            Some((mint, maxt)) => Some(Arc::from(db.querier(mint, maxt)?)),
            None => None,
        };
        let prepare = prep.elapsed();
        Ok(Evaluator {
            opts,
            querier,
            query,
            query_start: grid.start,
            query_end: grid.end,
            deadline: started.checked_add(opts.timeout).unwrap_or(started),
            annos: Annotations::default(),
            samples_loaded: 0,
            peak_samples: 0,
            series_selected: 0,
            prepare,
            eval_started: Instant::now(),
            grid,
            cancel,
            explain: opts.explain.then(ExplainLog::default),
            plan: Arc::new(Plan::new(expr, opts)),
        })
    }

    /// An evaluator for another part of the same query, to run on another thread: the same
    /// options, querier, deadline and cancellation, with its own annotations and statistics,
    /// which [`absorb`](Self::absorb) adds back.
    fn fork(&self) -> Evaluator<'a> {
        Evaluator {
            opts: self.opts,
            querier: self.querier.clone(),
            query: self.query,
            query_start: self.query_start,
            query_end: self.query_end,
            deadline: self.deadline,
            annos: Annotations::default(),
            samples_loaded: 0,
            peak_samples: 0,
            series_selected: 0,
            prepare: Duration::ZERO,
            eval_started: self.eval_started,
            grid: self.grid,
            cancel: self.cancel.clone(),
            explain: self.explain.as_ref().map(|_| ExplainLog::default()),
            plan: Arc::clone(&self.plan),
        }
    }

    /// Adds a forked evaluator's annotations (after this one's) and statistics.
    fn absorb(&mut self, child: Evaluator<'a>) {
        self.annos.extend(child.annos);
        self.samples_loaded += child.samples_loaded;
        self.peak_samples = self.peak_samples.max(child.peak_samples);
        self.series_selected += child.series_selected;
        self.prepare += child.prepare;
        if let (Some(mine), Some(theirs)) = (self.explain.as_mut(), child.explain) {
            mine.absorb(theirs);
        }
    }

    /// Records a decision on the node being evaluated, for `--explain` (the text is built only
    /// when explaining).
    #[inline]
    pub(crate) fn decide(&mut self, text: impl FnOnce() -> String) {
        if let Some(log) = self.explain.as_mut() {
            log.decide(text());
        }
    }

    /// Evaluates `lhs` here and `rhs` on another rayon thread at the same time. The outcome is
    /// the sequential one: `lhs`'s error if it fails, else `rhs`'s, else both values, with
    /// `rhs`'s annotations after `lhs`'s.
    pub(crate) fn eval_pair(&mut self, lhs: &Expr, rhs: &Expr, grid: &Grid) -> Result<(Val, Val)> {
        let mut child = self.fork();
        let (l, r) = rayon::join(|| self.eval(lhs, grid), || child.eval(rhs, grid));
        let l = l?;
        let r = r?;
        self.absorb(child);
        Ok((l, r))
    }

    /// Storage's estimate of the series `matchers` select (`Querier::estimate_series`), for
    /// choosing a strategy only. A failed estimate is no estimate: the selection that follows
    /// reports storage's errors, so the strategy never decides the error.
    pub(crate) fn estimate_series(&self, matchers: &[promlite_model::Matcher]) -> Option<u64> {
        self.querier
            .as_ref()
            .and_then(|q| q.estimate_series(matchers).ok().flatten())
    }

    /// Query start, end and step (0 for an instant query), for `start()`, `end()`, `step()`,
    /// `range()`.
    pub(crate) fn query_bounds(&self) -> (i64, i64, i64) {
        let step = if self.grid.is_instant() {
            0
        } else {
            self.grid.step
        };
        (self.query_start, self.query_end, step)
    }

    pub(crate) fn stats(&self) -> QueryStats {
        let total_eval = self.eval_started.elapsed();
        QueryStats {
            parse: Duration::ZERO,
            prepare: self.prepare,
            eval: total_eval.saturating_sub(self.prepare),
            total: Duration::ZERO,
            samples_loaded: self.samples_loaded,
            peak_samples: self.peak_samples,
            series_selected: self.series_selected,
        }
    }

    /// Evaluates the top-level expression over the query grid.
    pub(crate) fn eval_top(&mut self, expr: &Expr) -> Result<Val> {
        let grid = self.grid;
        self.eval(expr, &grid)
    }

    /// Removes `__name__` where delayed removal asked for it, checks for resulting duplicates,
    /// and converts to the public value.
    pub(crate) fn finish(&mut self, val: Val, is_range: bool) -> Result<(Value, Annotations)> {
        let val = match val {
            // Without a flagged name nothing can have become equal (see `drop_names_and_merge`).
            Val::Vector(series) if !series.iter().any(|s| s.drop_name) => Val::Vector(series),
            Val::Vector(series) => {
                let series = drop_names(series);
                if self.grid.is_instant() {
                    check_no_duplicates(&series)?;
                    Val::Vector(series)
                } else {
                    Val::Vector(merge_same_labels(series)?)
                }
            }
            Val::Matrix(series) => Val::Matrix(drop_names_and_merge(series)?),
            other => other,
        };
        self.check_deadline("expression evaluation")?;
        let value = to_public(val, &self.grid, is_range, &self.deadline())?;
        // The final sort is skipped once the deadline has passed (see `sorted_matrix`).
        self.check_deadline("result sorting")?;
        Ok((value, std::mem::take(&mut self.annos)))
    }

    /// Fails with a timeout once the deadline has passed.
    #[inline]
    pub(crate) fn check_deadline(&self, stage: &'static str) -> Result<()> {
        check_deadline(
            self.cancel.as_ref(),
            self.deadline,
            self.opts.timeout,
            stage,
        )
    }

    /// The query's deadline and cancellation, for work running on other threads.
    pub(crate) fn deadline(&self) -> Deadline {
        Deadline {
            cancel: self.cancel.clone(),
            at: self.deadline,
            limit: self.opts.timeout,
        }
    }

    /// Records an intermediate result of `n` samples against the limit.
    pub(crate) fn account(&mut self, n: usize) -> Result<()> {
        self.peak_samples = self.peak_samples.max(n);
        if n > self.opts.max_samples {
            return Err(Error::TooManySamples {
                stage: "query execution",
                limit: self.opts.max_samples,
            });
        }
        Ok(())
    }

    pub(crate) fn parallel(&self, n_series: usize) -> bool {
        self.opts.parallel && n_series >= self.opts.parallel_min_series
    }

    pub(crate) fn annotate(&mut self, kind: Kind, text: String, pos: u32) {
        self.annos.add(kind, text, self.query, pos);
    }

    /// The fixed evaluation time an `@` modifier pins, if any.
    pub(crate) fn resolve_at(&self, at: Option<At>) -> Option<i64> {
        at.map(|a| match a {
            At::Timestamp(t) => t,
            At::Start => self.query_start,
            At::End => self.query_end,
        })
    }

    /// The checks made before evaluating any node: the deadline, and a grid so long that even
    /// one series over it would exceed the sample limit (refused before allocating).
    fn enter_node(&self, grid: &Grid) -> Result<()> {
        self.check_deadline("expression evaluation")?;
        if grid.len() > self.opts.max_samples {
            return Err(Error::TooManySamples {
                stage: "query execution",
                limit: self.opts.max_samples,
            });
        }
        Ok(())
    }

    /// Evaluates `expr` over `grid`.
    pub(crate) fn eval(&mut self, expr: &Expr, grid: &Grid) -> Result<Val> {
        self.explained(expr, |ev| ev.eval_node(expr, grid))
    }

    /// Runs `f`, the evaluation of the node `expr`, inside that node's `--explain` entry (its
    /// text and planned decisions first, then whatever `f` decides). Every path that evaluates
    /// a node itself, instead of through [`eval`](Self::eval), goes through this.
    fn explained<T>(&mut self, expr: &Expr, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.explain.is_none() {
            return f(self);
        }
        if let Some(log) = self.explain.as_mut() {
            log.enter(expr.to_string());
            for decision in self.plan.describe(expr) {
                log.decide(decision);
            }
        }
        let out = f(self);
        if let Some(log) = self.explain.as_mut() {
            log.leave();
        }
        out
    }

    fn eval_node(&mut self, expr: &Expr, grid: &Grid) -> Result<Val> {
        self.enter_node(grid)?;
        if !grid.is_instant() && self.plan.step_invariant(expr) {
            // Rule: a step-invariant node has the same value at every step, so evaluating it
            // once and copying it cannot change the answer or the error.
            self.decide(|| "step-invariant: evaluated once and broadcast to every step".into());
            let once = self.eval_node(expr, &Grid::instant(grid.start))?;
            return Ok(broadcast(once, grid));
        }
        let val = match expr {
            Expr::Number(v) => Val::Scalar(vec![*v; grid.len()]),
            Expr::String(s) => Val::String(s.clone()),
            // A string result with invalid UTF-8: Prometheus's JSON encoder writes each invalid
            // byte as U+FFFD, which is what the lossy conversion keeps.
            Expr::ByteString(bytes) => Val::String(String::from_utf8_lossy(bytes).into_owned()),
            Expr::Paren(inner) => self.eval(inner, grid)?,
            Expr::VectorSelector(vs) => Val::Vector(self.vector_selector(vs, grid, false)?),
            Expr::MatrixSelector(ms) => {
                let input = self.matrix_input(ms, &Grid::instant(grid.start))?;
                Val::Matrix(raw_windows(input, grid.start))
            }
            Expr::Subquery(sq) => {
                let input = self.subquery_input(sq, &Grid::instant(grid.start))?;
                Val::Matrix(raw_windows(input, grid.start))
            }
            Expr::Unary(op, inner) => {
                let v = self.eval(inner, grid)?;
                match (op, v) {
                    (UnaryOp::Pos, v) => v,
                    (UnaryOp::Neg, Val::Scalar(vals)) => Val::Scalar(vals.into_iter().map(|v| -v).collect()),
                    (UnaryOp::Neg, Val::Vector(mut series)) => {
                        for s in &mut series {
                            s.drop_name = true;
                            for p in &mut s.points {
                                p.v = -p.v;
                            }
                        }
                        Val::Vector(series)
                    }
                    (UnaryOp::Neg, other) => {
                        return Err(Error::BadQuery(format!(
                            "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                            other.type_name()
                        )))
                    }
                }
            }
            Expr::Binary(b) => binary::eval_binary(self, b, grid)?,
            Expr::Call(c) => functions::eval_call(self, c, grid)?,
            Expr::Aggregate(a) => aggregate::eval_aggregate(self, a, grid)?,
        };
        let val = match val {
            // Without delayed removal the name goes as soon as an operation drops it; series
            // that become equal merge, and collide if they have a point at the same step.
            Val::Vector(series) if !self.opts.delayed_name_removal => {
                Val::Vector(drop_names_and_merge(series)?)
            }
            other => other,
        };
        if let Val::Vector(series) | Val::Matrix(series) = &val {
            let n: usize = series.iter().map(|s| s.points.len()).sum();
            self.account(n)?;
        }
        Ok(val)
    }

    /// The `label_replace` call `c` (the node `expr`) as far as a grouping that reads through
    /// its copy needs it (`crate::aggregate`): its arguments checked and its vector evaluated,
    /// with `eval`'s entry and exit checks on the node, but not applied. The caller applies it
    /// (`LabelReplace::apply`) unless `LabelReplace::fresh_copy` lets it read through.
    pub(crate) fn eval_label_replace_input(
        &mut self,
        expr: &Expr,
        c: &promlite_promql::ast::Call,
        grid: &Grid,
    ) -> Result<(Vec<Series>, functions::label::LabelReplace)> {
        self.explained(expr, |ev| ev.label_replace_input(c, grid))
    }

    fn label_replace_input(
        &mut self,
        c: &promlite_promql::ast::Call,
        grid: &Grid,
    ) -> Result<(Vec<Series>, functions::label::LabelReplace)> {
        self.enter_node(grid)?;
        let replace = functions::label::LabelReplace::prepare(self, c)?;
        let series = self.eval_vector(functions::label::LabelReplace::vector_arg(c)?, grid)?;
        // The node's exit: `label_replace` keeps every point, so the count is its output's.
        let n: usize = series.iter().map(|s| s.points.len()).sum();
        self.account(n)?;
        Ok((series, replace))
    }

    /// [`Evaluator::eval_vector`] for a consumer that never looks at `__name__` (an aggregation
    /// that groups by other labels). A range function over a selector may then leave its
    /// series' label sets as they are, flagged `drop_name` (see
    /// [`functions::NameRemoval::LeftToConsumer`]); the flag says so. Everything else is
    /// evaluated as by `eval_vector`, with the flag false.
    pub(crate) fn eval_vector_names_ignored(
        &mut self,
        expr: &Expr,
        grid: &Grid,
    ) -> Result<(Vec<Series>, bool)> {
        let call = match unparen(expr) {
            // Rule: the consumer never reads `__name__` and every series carries the same one
            // (checked in `range_call_for_grouping`), so leaving it in place cannot make two
            // groups differ or collide. Part of the fast path.
            Expr::Call(c)
                if self.plan.names_to_consumer(c)
                    // Not when it is evaluated once and broadcast instead.
                    && (grid.is_instant() || !self.plan.step_invariant(expr)) =>
            {
                c
            }
            _ => return Ok((self.eval_vector(expr, grid)?, false)),
        };
        self.explained(expr, |ev| ev.names_ignored_call(call, grid))
    }

    fn names_ignored_call(
        &mut self,
        call: &promlite_promql::ast::Call,
        grid: &Grid,
    ) -> Result<(Vec<Series>, bool)> {
        self.enter_node(grid)?;
        let (series, kept) = functions::range_call_for_grouping(self, call, grid)?;
        if kept {
            self.decide(|| {
                "__name__ left to the consuming aggregation (one metric name, never seen)".into()
            });
        }
        let n: usize = series.iter().map(|s| s.points.len()).sum();
        self.account(n)?;
        Ok((series, kept))
    }

    /// Evaluates `expr` and requires an instant vector.
    pub(crate) fn eval_vector(&mut self, expr: &Expr, grid: &Grid) -> Result<Vec<Series>> {
        match self.eval(expr, grid)? {
            Val::Vector(s) => Ok(s),
            other => Err(Error::BadQuery(format!(
                "expected instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates `expr` and requires a scalar (one value per step).
    pub(crate) fn eval_scalar(&mut self, expr: &Expr, grid: &Grid) -> Result<Vec<f64>> {
        match self.eval(expr, grid)? {
            Val::Scalar(v) => Ok(v),
            other => Err(Error::BadQuery(format!(
                "expected scalar, got {}",
                other.type_name()
            ))),
        }
    }

    /// The series matching `matchers`, with their sample iterators not yet read. Callers that
    /// read them report the samples they loaded with [`Self::loaded`].
    pub(crate) fn select_series(
        &mut self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        step: i64,
        range: i64,
    ) -> Result<Vec<promlite_model::Series>> {
        let Some(querier) = &self.querier else {
            return Ok(Vec::new());
        };
        let hints = SelectHints {
            start: mint,
            end: maxt,
            step,
            range,
            func: None,
        };
        let selected = querier.select(&hints, matchers)?;
        self.series_selected += selected.len();
        if let Some(log) = self.explain.as_mut() {
            log.selected(selected.len(), 0);
        }
        Ok(selected)
    }

    /// Accounts `n` samples read from storage by one selection (`peak` of them held at once)
    /// and enforces the sample limit and the deadline.
    pub(crate) fn loaded(&mut self, n: usize, peak: usize, started: Instant) -> Result<()> {
        self.samples_loaded += n;
        if let Some(log) = self.explain.as_mut() {
            log.selected(0, n);
        }
        self.prepare += started.elapsed();
        self.peak_samples = self.peak_samples.max(peak);
        if self.samples_loaded > self.opts.max_samples {
            return Err(Error::TooManySamples {
                stage: "query execution",
                limit: self.opts.max_samples,
            });
        }
        self.check_deadline("query preparation")
    }

    /// Selects series matching `matchers` and decodes their samples in `[mint, maxt]`.
    fn select(
        &mut self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        step: i64,
        range: i64,
    ) -> Result<Vec<(Labels, Vec<Sample>)>> {
        let started = Instant::now();
        let selected = self.select_series(matchers, mint, maxt, step, range)?;
        let deadline = self.deadline();
        let decode = |s: promlite_model::Series| -> Result<(Labels, Vec<Sample>)> {
            // Decoding is where a selection's time goes: check before every series.
            deadline.check("query preparation")?;
            let mut samples = Vec::new();
            let mut it = s.samples;
            it.collect_range(mint, maxt, &mut samples)?;
            Ok((s.labels, samples))
        };
        let decoded: Vec<(Labels, Vec<Sample>)> = if self.parallel(selected.len()) {
            selected
                .into_par_iter()
                .map(decode)
                .collect::<Result<_>>()?
        } else {
            selected.into_iter().map(decode).collect::<Result<_>>()?
        };
        let n: usize = decoded.iter().map(|(_, s)| s.len()).sum();
        self.loaded(n, n, started)?;
        Ok(decoded.into_iter().filter(|(_, s)| !s.is_empty()).collect())
    }

    /// An instant vector selector over `grid`: the newest non-stale sample in
    /// `(ref - lookback, ref]` at every step. With `sample_ts`, the value is the sample's
    /// timestamp in seconds (for `timestamp()`).
    pub(crate) fn vector_selector(
        &mut self,
        vs: &VectorSelector,
        grid: &Grid,
        sample_ts: bool,
    ) -> Result<Vec<Series>> {
        if self.plan.kube_pod_workload(vs) {
            return crate::workload::eval_selector(self, vs, grid, sample_ts);
        }
        let at = self.resolve_at(vs.at);
        let offset = vs.offset;
        let lookback = self.opts.lookback_delta_ms;
        let lo = at.unwrap_or(grid.start).saturating_sub(offset);
        let hi = at.unwrap_or(grid.end).saturating_sub(offset);
        if self.plan.value_runs(vs) && !sample_ts {
            // Metadata series from the owner index's value runs, nothing decoded (crate::runs).
            if let Some(querier) = &self.querier {
                let started = Instant::now();
                let hints = SelectHints {
                    start: lo.saturating_sub(lookback).saturating_add(1),
                    end: hi,
                    step: grid.step,
                    range: 0,
                    func: None,
                };
                if let Some(found) = crate::runs::select(&**querier, &vs.matchers, &hints, lookback)
                {
                    let n_runs = crate::runs::count_runs(&found);
                    self.series_selected += found.len();
                    if let Some(log) = self.explain.as_mut() {
                        log.selected(found.len(), 0);
                        log.decide(format!(
                            "value runs: {} series as {n_runs} runs, no sample decoded",
                            found.len()
                        ));
                    }
                    self.samples_loaded += n_runs;
                    self.peak_samples = self.peak_samples.max(n_runs);
                    self.prepare += started.elapsed();
                    if self.samples_loaded > self.opts.max_samples {
                        return Err(Error::TooManySamples {
                            stage: "query execution",
                            limit: self.opts.max_samples,
                        });
                    }
                    self.check_deadline("query preparation")?;
                    let parallel = self.parallel(found.len());
                    return Ok(crate::runs::series_on_grid(
                        found, grid, at, offset, lookback, parallel,
                    ));
                }
            }
        }
        let data = self.select(
            &vs.matchers,
            lo.saturating_sub(lookback).saturating_add(1),
            hi,
            grid.step,
            0,
        )?;
        let g = *grid;
        let deadline = self.deadline();
        let work = move |(labels, samples): (Labels, Vec<Sample>)| -> Result<Option<Series>> {
            let mut points = Vec::new();
            let mut idx = 0usize;
            for (step_idx, t) in g.times().enumerate() {
                deadline.check_every(step_idx, "expression evaluation")?;
                let r = at.unwrap_or(t).saturating_sub(offset);
                while samples.get(idx).is_some_and(|s| s.t <= r) {
                    idx += 1;
                }
                let Some(last) = idx.checked_sub(1).and_then(|i| samples.get(i)) else {
                    continue;
                };
                if last.t <= r.saturating_sub(lookback) || is_stale_nan(last.v) {
                    continue;
                }
                let v = if sample_ts {
                    last.t as f64 / 1000.0
                } else {
                    last.v
                };
                points.push(Sample::new(t, v));
            }
            Ok((!points.is_empty()).then_some(Series {
                labels,
                drop_name: false,
                points,
            }))
        };
        let out: Vec<Option<Series>> = if self.parallel(data.len()) {
            data.into_par_iter().map(work).collect::<Result<_>>()?
        } else {
            data.into_iter().map(work).collect::<Result<_>>()?
        };
        Ok(out.into_iter().flatten().collect())
    }

    /// The resolved `@` time of range selector `ms` and the inclusive sample range
    /// `[mint, maxt]` its windows read over `grid` (windows are left-open).
    pub(crate) fn matrix_bounds(
        &self,
        ms: &MatrixSelector,
        grid: &Grid,
    ) -> (Option<i64>, i64, i64) {
        let vs = &ms.selector;
        let at = self.resolve_at(vs.at);
        let lo = at.unwrap_or(grid.start).saturating_sub(vs.offset);
        let hi = at.unwrap_or(grid.end).saturating_sub(vs.offset);
        (at, lo.saturating_sub(ms.range).saturating_add(1), hi)
    }

    /// The raw samples a range selector feeds a function over `grid` (stale markers removed).
    pub(crate) fn matrix_input(&mut self, ms: &MatrixSelector, grid: &Grid) -> Result<RangeInput> {
        let vs = &ms.selector;
        let (at, mint, maxt) = self.matrix_bounds(ms, grid);
        let data = self.select(&vs.matchers, mint, maxt, grid.step, ms.range)?;
        let series = data
            .into_iter()
            .filter_map(|(labels, mut samples)| {
                samples.retain(|s| !is_stale_nan(s.v));
                (!samples.is_empty()).then_some(Series {
                    labels,
                    drop_name: false,
                    points: samples,
                })
            })
            .collect();
        Ok(RangeInput {
            series,
            range: ms.range,
            offset: vs.offset,
            at,
        })
    }

    /// Evaluates a subquery's inner expression on its own step grid (aligned to multiples of
    /// the step in absolute time) covering every window `grid` needs.
    pub(crate) fn subquery_input(&mut self, sq: &Subquery, grid: &Grid) -> Result<RangeInput> {
        let at = self.resolve_at(sq.at);
        let step = match sq.step {
            Some(s) if s > 0 => s,
            _ => self.opts.default_subquery_step_ms.max(1),
        };
        let lo = at.unwrap_or(grid.start).saturating_sub(sq.offset);
        let hi = at.unwrap_or(grid.end).saturating_sub(sq.offset);
        let lower = lo.saturating_sub(sq.range);
        let mut start = lower.div_euclid(step) * step;
        if start <= lower {
            start = start.saturating_add(step);
        }
        let series = if start > hi {
            Vec::new()
        } else {
            let inner = Grid::new(start, hi, step);
            self.eval_vector(&sq.expr, &inner)?
        };
        Ok(RangeInput {
            series,
            range: sq.range,
            offset: sq.offset,
            at,
        })
    }

    /// The range input of a range-function argument (a range selector or a subquery).
    pub(crate) fn range_input(&mut self, arg: &Expr, grid: &Grid) -> Result<RangeInput> {
        match unparen(arg) {
            Expr::MatrixSelector(ms) => self.matrix_input(ms, grid),
            Expr::Subquery(sq) => self.subquery_input(sq, grid),
            _ => Err(Error::BadQuery(
                "expected type range vector in call to function".into(),
            )),
        }
    }
}

/// Strips parentheses.
pub(crate) fn unparen(mut e: &Expr) -> &Expr {
    while let Expr::Paren(inner) = e {
        e = inner;
    }
    e
}

/// Byte offset where `expr` starts in the query, as far as the AST records positions.
pub(crate) fn expr_pos(expr: &Expr) -> u32 {
    match expr {
        Expr::VectorSelector(vs) => vs.span.start,
        Expr::MatrixSelector(ms) => ms.selector.span.start,
        Expr::Call(c) => c.span.start,
        Expr::Number(_) | Expr::String(_) | Expr::ByteString(_) => 0,
        // One byte before the operand: the opening parenthesis or the sign.
        Expr::Paren(_) | Expr::Unary(..) => expr
            .children()
            .next()
            .map_or(0, |inner| expr_pos(inner).saturating_sub(1)),
        // Where the first child starts: the inner expression, the left operand, the
        // aggregated expression.
        Expr::Subquery(_) | Expr::Binary(_) | Expr::Aggregate(_) => {
            expr.children().next().map_or(0, expr_pos)
        }
    }
}

/// Repeats a one-step value over every step of `grid`.
fn broadcast(val: Val, grid: &Grid) -> Val {
    match val {
        Val::Scalar(v) => Val::Scalar(vec![v.first().copied().unwrap_or(f64::NAN); grid.len()]),
        Val::Vector(series) => Val::Vector(
            series
                .into_iter()
                .filter_map(|s| {
                    let v = s.points.first()?.v;
                    Some(Series {
                        points: grid.times().map(|t| Sample::new(t, v)).collect(),
                        ..s
                    })
                })
                .collect(),
        ),
        other => other,
    }
}

/// The samples of each series in the window ending at step `t` (for a range vector returned
/// as a query result).
fn raw_windows(input: RangeInput, t: i64) -> Vec<Series> {
    let end = input.window_end(t);
    let start = end.saturating_sub(input.range);
    input
        .series
        .into_iter()
        .filter_map(|mut s| {
            s.points.retain(|p| p.t > start && p.t <= end);
            (!s.points.is_empty()).then_some(s)
        })
        .collect()
}

/// Removes `__name__` from the series flagged `drop_name`.
pub(crate) fn drop_names(mut series: Vec<Series>) -> Vec<Series> {
    for s in &mut series {
        if s.drop_name {
            s.labels = s.labels.without_metric_name();
            s.drop_name = false;
        }
    }
    series
}

/// Drops the flagged metric names and merges the series that became equal. Every vector the
/// evaluator produces has distinct label sets (selectors, aggregations, joins and relabelling
/// all guarantee it), so without a flagged series nothing can have become equal and the merge,
/// a hash of every label set, is skipped.
pub(crate) fn drop_names_and_merge(series: Vec<Series>) -> Result<Vec<Series>> {
    if !series.iter().any(|s| s.drop_name) {
        return Ok(series);
    }
    merge_same_labels(drop_names(series))
}

fn check_no_duplicates(series: &[Series]) -> Result<()> {
    let mut seen = LabelIndex::default();
    for (i, s) in series.iter().enumerate() {
        if !seen.get_or_insert(&s.labels, i).1 {
            return Err(dup_labelset());
        }
    }
    Ok(())
}

/// Merges series whose label sets became equal (after name removal or relabelling); two points
/// at the same timestamp are Prometheus's duplicate-labelset error.
pub(crate) fn merge_same_labels(series: Vec<Series>) -> Result<Vec<Series>> {
    let mut index = LabelIndex::default();
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    let mut merged_any = false;
    for s in series {
        let (i, new) = index.get_or_insert(&s.labels, out.len());
        if new {
            out.push(s);
        } else if let Some(base) = out.get_mut(i) {
            base.points.extend(s.points);
            merged_any = true;
        }
    }
    if merged_any {
        for s in &mut out {
            s.points.sort_by_key(|p| p.t);
            if s.points.windows(2).any(|w| w[0].t == w[1].t) {
                return Err(dup_labelset());
            }
        }
    }
    Ok(out)
}

/// Widens `acc` to the data window (inclusive) that selectors under `expr` may read when `expr`
/// is evaluated at times in `[lo, hi]`. Conservative: it is only used to open the querier.
fn data_window(
    expr: &Expr,
    lo: i64,
    hi: i64,
    qs: i64,
    qe: i64,
    opts: &EngineOptions,
    acc: &mut Option<(i64, i64)>,
) {
    let resolve = |at: Option<At>| {
        at.map(|a| match a {
            At::Timestamp(t) => t,
            At::Start => qs,
            At::End => qe,
        })
    };
    // The evaluation times `[lo, hi]` shifted by a node's `@` and offset.
    let shifted = |at: Option<At>, offset: i64| {
        let at = resolve(at);
        (
            at.unwrap_or(lo).saturating_sub(offset),
            at.unwrap_or(hi).saturating_sub(offset),
        )
    };
    expr.walk(&mut |e| {
        match e {
            Expr::VectorSelector(vs) => {
                let (l, h) = shifted(vs.at, vs.offset);
                widen(acc, l.saturating_sub(opts.lookback_delta_ms), h);
            }
            Expr::MatrixSelector(ms) => {
                let (l, h) = shifted(ms.selector.at, ms.selector.offset);
                let l = l
                    .saturating_sub(ms.range)
                    .saturating_sub(opts.lookback_delta_ms);
                widen(acc, l, h);
            }
            // The inner expression is evaluated at the subquery's own times.
            Expr::Subquery(sq) => {
                let (l, h) = shifted(sq.at, sq.offset);
                data_window(&sq.expr, l.saturating_sub(sq.range), h, qs, qe, opts, acc);
                return false;
            }
            _ => {}
        }
        true
    });
}

/// Widens `acc` to include `[a, b]`.
fn widen(acc: &mut Option<(i64, i64)>, a: i64, b: i64) {
    *acc = Some(match *acc {
        Some((x, y)) => (x.min(a), y.max(b)),
        None => (a, b),
    });
}
