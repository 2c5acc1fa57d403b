//! The range-function driver: evaluates a [`promlite_promql::FunctionKind::Range`] call by
//! sliding each series' window over the steps and computing the window function of
//! `crate::range_fns` (fused with the selection for a range selector), and the `__name__`
//! handling of its output.

use std::time::Instant;

use promlite_model::{is_stale_nan, Sample};
use promlite_promql::ast::{Call, Expr, MatrixSelector};
use rayon::prelude::*;

use crate::annotations::Kind;
use crate::error::{Error, Result};
use crate::evaluator::{drop_names_and_merge, expr_pos, unparen, Deadline, Evaluator, RangeInput};
use crate::go_compat::fmt_g;
use crate::range_fns::{extrapolated_rate, window_value, WinCtx};
use crate::series::{Grid, Series, Val};

use super::{absent_labels, arg, unknown_function};

/// When a range function's output loses `__name__`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameRemoval {
    /// Before the result leaves the call (the generic rule).
    Now,
    /// Left to the consumer, which never looks at `__name__` (an aggregation grouping by other
    /// labels): the series keep their label sets, flagged `drop_name`, when that is safe (see
    /// [`same_metric_name`]), which spares rebuilding every label set.
    LeftToConsumer,
}

/// Evaluates the range-function call `c` for a consumer that ignores `__name__` (see
/// [`NameRemoval::LeftToConsumer`]). Returns the series and whether their names were left in
/// place (all flagged `drop_name`); otherwise they are exactly what [`Evaluator::eval`] gives.
pub(crate) fn range_call_for_grouping(
    ev: &mut Evaluator<'_>,
    c: &Call,
    grid: &Grid,
) -> Result<(Vec<Series>, bool)> {
    let Val::Vector(series) = range_call(ev, c, grid, NameRemoval::LeftToConsumer)? else {
        return Err(Error::BadQuery(format!(
            "expected instant vector from function {:?}",
            c.name()
        )));
    };
    if series.iter().all(|s| !s.drop_name) {
        return Ok((series, false));
    }
    if same_metric_name(&series) {
        return Ok((series, true));
    }
    Ok((drop_names_and_merge(series)?, false))
}

/// True if every series drops its name and all carry the same name: removing one identical label
/// from distinct label sets (one selection's) leaves them distinct, so no collision check is owed.
fn same_metric_name(series: &[Series]) -> bool {
    let Some(first) = series.first() else {
        return true;
    };
    let name = first.labels.metric_name();
    series
        .iter()
        .all(|s| s.drop_name && s.labels.metric_name() == name)
}

/// Runs a range function over every series and step, sliding two indices per series.
pub(super) fn range_call(
    ev: &mut Evaluator<'_>,
    c: &Call,
    grid: &Grid,
    names: NameRemoval,
) -> Result<Val> {
    let name = c.name();
    if name == "integral" {
        // The parser knows the experimental `integral`; the evaluator does not implement it.
        return Err(unknown_function(name));
    }
    let mat_idx = c
        .args
        .iter()
        .position(|a| matches!(unparen(a), Expr::MatrixSelector(_) | Expr::Subquery(_)))
        .ok_or_else(|| {
            Error::BadQuery(format!(
                "expected type range vector in call to function {name:?}"
            ))
        })?;
    let mut scalars: Vec<Vec<f64>> = Vec::new();
    for (i, a) in c.args.iter().enumerate() {
        if i != mat_idx {
            scalars.push(ev.eval_scalar(a, grid)?);
        }
    }
    let mat_arg = arg(c, mat_idx)?;
    let arg_pos = expr_pos(mat_arg);
    let keep_name = name == "last_over_time" || name == "first_over_time";
    let out: Vec<Series> = match unparen(mat_arg) {
        // The plan fuses every range selector argument but `quantile_over_time`'s.
        Expr::MatrixSelector(ms) if ev.plan.fused(c) => {
            fused_range_call(ev, name, ms, grid, &scalars, keep_name)?
        }
        _ => {
            let input = ev.range_input(mat_arg, grid)?;
            if name == "quantile_over_time" {
                let any_data = input.series.iter().any(|s| !s.points.is_empty());
                if any_data {
                    if let Some(qs) = scalars.first() {
                        let mut warned = Vec::new();
                        for &q in qs {
                            if (q.is_nan() || !(0.0..=1.0).contains(&q))
                                && !warned.iter().any(|w: &f64| w.to_bits() == q.to_bits())
                            {
                                warned.push(q);
                                ev.annotate(
                                    Kind::Warning,
                                    format!(
                                        "quantile value should be between 0 and 1, got {}",
                                        fmt_g(q)
                                    ),
                                    expr_pos(arg(c, 0)?),
                                );
                            }
                        }
                    }
                }
            }
            let g = *grid;
            let deadline = ev.deadline();
            let run = |s: &Series| -> Result<Option<Series>> {
                let points = window_points(name, &s.points, &g, &input, &scalars, &deadline)?;
                Ok((!points.is_empty()).then(|| Series {
                    labels: s.labels.clone(),
                    drop_name: !keep_name || s.drop_name,
                    points,
                }))
            };
            let results: Vec<Option<Series>> = if ev.parallel(input.series.len()) {
                input.series.par_iter().map(run).collect::<Result<_>>()?
            } else {
                input.series.iter().map(run).collect::<Result<_>>()?
            };
            results.into_iter().flatten().collect()
        }
    };

    if name == "rate" || name == "increase" {
        for s in &out {
            if let Some(metric) = s.labels.metric_name() {
                if !["_total", "_sum", "_count", "_bucket"]
                    .iter()
                    .any(|suffix| metric.ends_with(suffix))
                {
                    let text = format!(
                        "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {metric:?}"
                    );
                    ev.annotate(Kind::Info, text, arg_pos);
                }
            }
        }
    }

    if name == "absent_over_time" {
        return Ok(Val::Vector(absent_over_time(&out, grid, mat_arg)));
    }
    let mut out = out;
    if ev.plan.drop_name_in_place(c) && names == NameRemoval::Now && same_metric_name(&out) {
        // Dropped here, where it provably cannot make two series equal, sparing the caller's
        // merge of equal label sets (which hashes every series). Rule: that merge could
        // neither merge nor raise anything here, so skipping it changes no answer or error.
        ev.decide(|| "__name__ dropped in place (one metric name: no merge needed)".into());
        for s in out.iter_mut() {
            s.labels = s.labels.without_metric_name();
            s.drop_name = false;
        }
    }
    Ok(Val::Vector(out))
}

/// The value of range function `name` at every step of `grid` whose window over `pts` (sorted,
/// stale markers removed) is non-empty.
fn window_points(
    name: &str,
    pts: &[Sample],
    g: &Grid,
    windows: &RangeInput,
    scalars: &[Vec<f64>],
    deadline: &Deadline,
) -> Result<Vec<Sample>> {
    let (mut lo, mut hi) = (0usize, 0usize);
    // Steps whose windows can reach the samples: a capacity hint that avoids regrowing the
    // output without reserving the whole grid for short-lived series.
    let reach = match (pts.first(), pts.last()) {
        (Some(a), Some(b)) => {
            let span = b.t.saturating_sub(a.t).saturating_add(windows.range);
            usize::try_from(span / g.step.max(1)).map_or(usize::MAX, |n| n.saturating_add(1))
        }
        _ => 0,
    };
    let mut out = Vec::with_capacity(reach.min(g.len()));
    let mut step_scalars = vec![0.0; scalars.len()];
    // The workload's functions, resolved once instead of by name at every window.
    let counter_fn = match name {
        "rate" => Some((true, true)),
        "increase" => Some((true, false)),
        "delta" => Some((false, false)),
        _ => None,
    };
    for (k, t) in g.times().enumerate() {
        deadline.check_every(k, "expression evaluation")?;
        let end = windows.window_end(t);
        let start = end.saturating_sub(windows.range);
        while pts.get(hi).is_some_and(|p| p.t <= end) {
            hi += 1;
        }
        while lo < hi && pts.get(lo).is_some_and(|p| p.t <= start) {
            lo += 1;
        }
        if lo > hi {
            lo = hi;
        }
        let Some(w) = pts.get(lo..hi) else { continue };
        if w.is_empty() {
            continue;
        }
        for (dst, src) in step_scalars.iter_mut().zip(scalars.iter()) {
            *dst = src.get(k).copied().unwrap_or(f64::NAN);
        }
        let ctx = WinCtx {
            t,
            end,
            range: windows.range,
            scalars: &step_scalars,
        };
        let value = match counter_fn {
            Some((is_counter, is_rate)) => extrapolated_rate(w, &ctx, is_counter, is_rate),
            None => window_value(name, w, &ctx)?,
        };
        if let Some(v) = value {
            out.push(Sample::new(t, v));
        }
    }
    Ok(out)
}

/// A range function over a range selector, fused with the selection: each series' samples are
/// read into a per-thread buffer, turned into the function's points and dropped, instead of
/// materialising every selected sample first (the generic path's `matrix_input`). Same
/// answers: the same samples (stale markers removed) feed the same [`window_points`].
fn fused_range_call(
    ev: &mut Evaluator<'_>,
    name: &str,
    ms: &MatrixSelector,
    grid: &Grid,
    scalars: &[Vec<f64>],
    keep_name: bool,
) -> Result<Vec<Series>> {
    let started = Instant::now();
    let vs = &ms.selector;
    let (at, mint, maxt) = ev.matrix_bounds(ms, grid);
    let selected = ev.select_series(&vs.matchers, mint, maxt, grid.step, ms.range)?;
    let windows = RangeInput {
        series: Vec::new(),
        range: ms.range,
        offset: vs.offset,
        at,
    };
    let g = *grid;
    let deadline = ev.deadline();
    let run =
        |buf: &mut Vec<Sample>, s: promlite_model::Series| -> Result<(usize, Option<Series>)> {
            // Decoding is where a selection's time goes: check before every series.
            deadline.check("query preparation")?;
            buf.clear();
            let mut it = s.samples;
            it.collect_range(mint, maxt, buf)?;
            let loaded = buf.len();
            buf.retain(|p| !is_stale_nan(p.v));
            if buf.is_empty() {
                return Ok((loaded, None));
            }
            let points = window_points(name, buf, &g, &windows, scalars, &deadline)?;
            Ok((
                loaded,
                (!points.is_empty()).then_some(Series {
                    labels: s.labels,
                    drop_name: !keep_name,
                    points,
                }),
            ))
        };
    let results: Vec<(usize, Option<Series>)> = if ev.parallel(selected.len()) {
        selected
            .into_par_iter()
            .map_init(Vec::new, run)
            .collect::<Result<_>>()?
    } else {
        let mut buf = Vec::new();
        selected
            .into_iter()
            .map(|s| run(&mut buf, s))
            .collect::<Result<_>>()?
    };
    let total = results.iter().map(|r| r.0).sum();
    let peak = results.iter().map(|r| r.0).max().unwrap_or(0);
    ev.loaded(total, peak, started)?;
    Ok(results.into_iter().filter_map(|r| r.1).collect())
}

fn absent_over_time(out: &[Series], grid: &Grid, arg: &Expr) -> Vec<Series> {
    let mut present = vec![false; grid.len()];
    for s in out {
        for p in &s.points {
            if let Some(x) = present.get_mut(grid.index(p.t)) {
                *x = true;
            }
        }
    }
    let points: Vec<Sample> = grid
        .times()
        .zip(present)
        .filter(|(_, p)| !p)
        .map(|(t, _)| Sample::new(t, 1.0))
        .collect();
    if points.is_empty() {
        return Vec::new();
    }
    vec![Series {
        labels: absent_labels(arg),
        drop_name: true,
        points,
    }]
}
