//! The public query API: [`Engine`], its options, and the output of a query.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite_model::{Labels, Queryable, Sample};
use promlite_promql::ast::{Expr, ValueType};

use crate::error::{Error, Result};
use crate::evaluator::{Deadline, Evaluator};
use crate::series::{Grid, Series, Val};
use crate::value::{InstantSample, RangeSeries, Value};

/// Engine-wide settings. `Default` gives Prometheus's defaults.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback_delta_ms: i64,
    /// Maximum samples a query may load or hold at once.
    pub max_samples: usize,
    /// Wall-clock limit for one query.
    pub timeout: Duration,
    /// Resolution of subqueries written without a step (`x[1h:]`).
    pub default_subquery_step_ms: i64,
    /// Use rayon for per-series work when a node has at least `parallel_min_series` series.
    pub parallel: bool,
    /// Threshold for `parallel`.
    pub parallel_min_series: usize,
    /// With `parallel`, a join's two sides run on two threads at once only if that is
    /// estimated to save at least this many series' worth of work: the price of handing a side
    /// to another thread and joining it again (`join_cost`). Sides smaller than this run one
    /// after the other.
    pub concurrent_min_series: usize,
    /// The workload-join fast path (join keys pushed across `on(...)` matches, regex-free
    /// `label_replace` copies). Gives the same answers as the generic path; off is for
    /// equivalence tests and benchmarks.
    pub fast_path: bool,
    /// Prometheus's `promql-delayed-name-removal` feature: keep `__name__` on intermediate
    /// results (so `label_replace` and `by (__name__)` still see it) and drop it at the end.
    /// Off by default, as in Prometheus; the conformance suite runs with it on.
    pub delayed_name_removal: bool,
    /// Record the evaluator's decisions per node in [`QueryOutput::explain`] (`--explain`).
    /// Off by default; recording never changes what is evaluated.
    pub explain: bool,
    /// The `kube_pod_workload` extension ([`Extension::KubePodWorkload`]): a selector on that
    /// name is answered with kubernetes-mixin's pod → workload resolution
    /// (docs/extensions/kube_pod_workload.md). Off by default, so every answer stays
    /// Prometheus's: with it off, `kube_pod_workload` is an ordinary selector.
    pub kube_pod_workload: bool,
}

/// Extensions beyond Prometheus's PromQL, each off by default and turned on by name
/// ([`EngineOptions::enable`]; the CLI's `--enable-extension`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Extension {
    /// `kube_pod_workload{namespace, pod, workload, workload_type}`: each pod's workload,
    /// resolved as kubernetes-mixin's `namespace_workload_pod:kube_pod_owner:relabel` rules
    /// resolve it (ReplicaSet → Deployment, DaemonSet, StatefulSet, Job → CronJob, bare pods,
    /// static pods), at every evaluation step.
    KubePodWorkload,
}

impl Extension {
    /// Every extension.
    pub const ALL: &'static [Extension] = &[Extension::KubePodWorkload];

    /// The extension's name as flags spell it (`kube-pod-workload`).
    pub fn name(self) -> &'static str {
        match self {
            Extension::KubePodWorkload => "kube-pod-workload",
        }
    }

    /// The extension named `name` ([`Extension::name`]).
    pub fn from_name(name: &str) -> Option<Extension> {
        Extension::ALL.iter().copied().find(|e| e.name() == name)
    }
}

impl EngineOptions {
    /// Turns `extension` on.
    pub fn enable(&mut self, extension: Extension) {
        match extension {
            Extension::KubePodWorkload => self.kube_pod_workload = true,
        }
    }

    /// True if `extension` is on.
    pub fn is_enabled(&self, extension: Extension) -> bool {
        match extension {
            Extension::KubePodWorkload => self.kube_pod_workload,
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 300_000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step_ms: 60_000,
            parallel: true,
            parallel_min_series: 256,
            concurrent_min_series: 256,
            fast_path: true,
            delayed_name_removal: false,
            explain: false,
            kube_pod_workload: false,
        }
    }
}

/// Where the time of a query went, and how many samples it touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Parsing the query text (zero for the `*_expr` entry points).
    pub parse: Duration,
    /// Selecting series and decoding their samples.
    pub prepare: Duration,
    /// Evaluating the expression (excluding `prepare`).
    pub eval: Duration,
    /// Everything.
    pub total: Duration,
    /// Samples decoded from storage.
    pub samples_loaded: usize,
    /// The largest number of samples held by one intermediate result or one selection.
    pub peak_samples: usize,
    /// Series returned by storage selects.
    pub series_selected: usize,
}

/// The result of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    /// The value.
    pub value: Value,
    /// Warning annotations (`PromQL warning: ...`).
    pub warnings: Vec<String>,
    /// Info annotations (`PromQL info: ...`).
    pub infos: Vec<String>,
    /// Timings and counters.
    pub stats: QueryStats,
    /// The evaluator's decisions per node, in evaluation order (empty unless
    /// [`EngineOptions::explain`] is on); [`crate::render_explain`] prints them.
    pub explain: Vec<crate::ExplainNode>,
}

/// Cancels a running query from another thread (e.g. when an HTTP client disconnects). Clones
/// share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every query holding this token to stop with [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A PromQL engine. Cheap to share; holds only options.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    /// An engine with `opts`.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `t_ms`.
    pub fn instant_query(&self, db: &dyn Queryable, query: &str, t_ms: i64) -> Result<QueryOutput> {
        let started = Instant::now();
        let expr = parse(query)?;
        let parse_time = started.elapsed();
        let mut out = self.run(db, &expr, query, Grid::instant(t_ms), false, started, None)?;
        out.stats.parse = parse_time;
        Ok(out)
    }

    /// [`Engine::instant_query`] that stops with [`Error::Cancelled`] once `cancel` is cancelled.
    pub fn instant_query_with_cancel(
        &self,
        db: &dyn Queryable,
        query: &str,
        t_ms: i64,
        cancel: &CancelToken,
    ) -> Result<QueryOutput> {
        let started = Instant::now();
        let expr = parse(query)?;
        let parse_time = started.elapsed();
        let mut out = self.run(
            db,
            &expr,
            query,
            Grid::instant(t_ms),
            false,
            started,
            Some(cancel.clone()),
        )?;
        out.stats.parse = parse_time;
        Ok(out)
    }

    /// [`Engine::range_query`] that stops with [`Error::Cancelled`] once `cancel` is cancelled.
    pub fn range_query_with_cancel(
        &self,
        db: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        cancel: &CancelToken,
    ) -> Result<QueryOutput> {
        let started = Instant::now();
        let expr = parse(query)?;
        let parse_time = started.elapsed();
        let grid = range_grid(start_ms, end_ms, step_ms)?;
        let mut out = self.run(db, &expr, query, grid, true, started, Some(cancel.clone()))?;
        out.stats.parse = parse_time;
        Ok(out)
    }

    /// Evaluates `query` at every step from `start_ms` to `end_ms`.
    pub fn range_query(
        &self,
        db: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryOutput> {
        let started = Instant::now();
        let expr = parse(query)?;
        let parse_time = started.elapsed();
        let grid = range_grid(start_ms, end_ms, step_ms)?;
        let mut out = self.run(db, &expr, query, grid, true, started, None)?;
        out.stats.parse = parse_time;
        Ok(out)
    }

    /// Evaluates an already parsed expression at `t_ms`. Annotation positions refer to `query`
    /// if given (pass the text the expression was parsed from), else are byte offsets on line 1.
    pub fn instant_query_expr(
        &self,
        db: &dyn Queryable,
        expr: &Expr,
        t_ms: i64,
    ) -> Result<QueryOutput> {
        self.run(
            db,
            expr,
            "",
            Grid::instant(t_ms),
            false,
            Instant::now(),
            None,
        )
    }

    /// Evaluates an already parsed expression as a range query.
    pub fn range_query_expr(
        &self,
        db: &dyn Queryable,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryOutput> {
        let grid = range_grid(start_ms, end_ms, step_ms)?;
        self.run(db, expr, "", grid, true, Instant::now(), None)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "private helper behind the public entry points"
    )]
    fn run(
        &self,
        db: &dyn Queryable,
        expr: &Expr,
        query: &str,
        grid: Grid,
        is_range: bool,
        started: Instant,
        cancel: Option<CancelToken>,
    ) -> Result<QueryOutput> {
        let ty = expr.value_type();
        if is_range && !matches!(ty, ValueType::Scalar | ValueType::Vector) {
            let name = match ty {
                ValueType::Matrix => "range vector",
                ValueType::String => "string",
                ValueType::Scalar => "scalar",
                ValueType::Vector => "instant vector",
            };
            return Err(Error::BadQuery(format!(
                "invalid expression type \"{name}\" for range query, must be Scalar or instant Vector"
            )));
        }
        if self.opts.kube_pod_workload {
            crate::workload::check_no_range_selector(expr, query)?;
        }
        let mut ev = Evaluator::new(&self.opts, db, expr, query, grid, started, cancel)?;
        let val = ev.eval_top(expr)?;
        let (value, annotations) = ev.finish(val, is_range)?;
        let (warnings, infos) = annotations.into_strings();
        let mut stats = ev.stats();
        stats.total = started.elapsed();
        let explain = ev.explain.take().map(|log| log.nodes).unwrap_or_default();
        Ok(QueryOutput {
            value,
            warnings,
            infos,
            stats,
            explain,
        })
    }
}

fn parse(query: &str) -> Result<Expr> {
    Ok(promlite_promql::parse(query)?)
}

fn range_grid(start_ms: i64, end_ms: i64, step_ms: i64) -> Result<Grid> {
    if step_ms <= 0 {
        return Err(Error::BadQuery(
            "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
        ));
    }
    if end_ms < start_ms {
        return Err(Error::BadQuery(
            "end timestamp must not be before start time".into(),
        ));
    }
    Ok(Grid::new(start_ms, end_ms, step_ms))
}

/// Converts the top-level value into the public [`Value`], after the final `__name__` cleanup.
pub(crate) fn to_public(
    val: Val,
    grid: &Grid,
    is_range: bool,
    deadline: &Deadline,
) -> Result<Value> {
    Ok(match val {
        Val::String(s) => Value::String {
            t: grid.start,
            v: s,
        },
        Val::Scalar(vals) => {
            if is_range {
                let samples = grid
                    .times()
                    .zip(vals)
                    .map(|(t, v)| Sample::new(t, v))
                    .collect();
                Value::Matrix(vec![RangeSeries {
                    labels: Labels::empty(),
                    samples,
                }])
            } else {
                Value::Scalar {
                    t: grid.start,
                    v: vals.first().copied().unwrap_or(f64::NAN),
                }
            }
        }
        Val::Vector(series) => {
            if is_range {
                Value::Matrix(sorted_matrix(series, deadline))
            } else {
                Value::Vector(
                    series
                        .into_iter()
                        .filter_map(|s| {
                            let v = s.points.first()?.v;
                            Some(InstantSample {
                                labels: s.labels,
                                t: grid.start,
                                v,
                            })
                        })
                        .collect(),
                )
            }
        }
        Val::Matrix(series) => Value::Matrix(sorted_matrix(series, deadline)),
    })
}

/// The matrix sorted by labels; unsorted once the deadline has passed (the caller then
/// discards it with the timeout error).
fn sorted_matrix(series: Vec<Series>, deadline: &Deadline) -> Vec<RangeSeries> {
    let mut out: Vec<RangeSeries> = series
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .map(|s| RangeSeries {
            labels: s.labels,
            samples: s.points,
        })
        .collect();
    // The sort is checked before it starts; it is not interrupted because a comparator that
    // changed its answers midway would break the total order `sort_by` requires (the standard
    // library may panic on that). Sorting n series costs O(n log n) label comparisons, small
    // beside the per-step work that produced them.
    if deadline.expired() {
        return out;
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out
}
