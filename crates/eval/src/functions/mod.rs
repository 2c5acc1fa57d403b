//! Function calls: the dispatch on the registry's [`FunctionKind`], argument helpers, and the
//! functions too small for a module of their own (query context, `vector`, `scalar`, `absent`).
//!
//! One module per kind: [`math`] (per-sample arithmetic), [`time`] (evaluation time and calendar
//! fields), [`label`] (`label_replace`, `label_join`), [`sort`], [`histogram`] and [`range`]
//! (the driver running the window functions of `crate::range_fns` over sliding windows).
//! `info()` lives in `crate::info`.

mod histogram;
pub(crate) mod label;
mod math;
mod range;
mod sort;
mod time;

use promlite_model::{Labels, MatchOp, Sample, METRIC_NAME};
use promlite_promql::ast::{Call, Expr};
use promlite_promql::FunctionKind;

use crate::error::{Error, Result};
use crate::evaluator::{unparen, Evaluator};
use crate::series::{Grid, Series, StepCursor, Val};

pub(crate) use histogram::almost_equal;
pub(crate) use range::{range_call_for_grouping, NameRemoval};

/// Evaluates the call `c` over `grid`, by the kind of function the parser resolved it to.
pub(crate) fn eval_call(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    match c.func.kind {
        FunctionKind::Range => range::range_call(ev, c, grid, NameRemoval::Now),
        FunctionKind::Math => math::eval_math(ev, c, grid),
        FunctionKind::Time => time::eval_time(ev, c, grid),
        FunctionKind::QueryContext => query_context(ev, c, grid),
        FunctionKind::Label => label::eval_label(ev, c, grid),
        FunctionKind::Sort => sort::sort_call(ev, c, grid),
        FunctionKind::Histogram => histogram::eval_histogram(ev, c, grid),
        FunctionKind::Conversion => conversion(ev, c, grid),
        FunctionKind::Absent => absent(ev, c, grid),
        FunctionKind::Info => crate::info::eval_info(ev, c, grid),
    }
}

/// `start()`, `end()`, `step()`, `range()`: the query's own bounds, the same at every step.
fn query_context(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let (start, end, step) = ev.query_bounds();
    let v = match c.name() {
        "start" => start as f64 / 1000.0,
        "end" => end as f64 / 1000.0,
        "step" => step as f64 / 1000.0,
        "range" => (end - start) as f64 / 1000.0,
        name => return Err(unknown_function(name)),
    };
    Ok(Val::Scalar(vec![v; grid.len()]))
}

/// `vector(s)` and `scalar(v)`.
fn conversion(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let n = grid.len();
    match c.name() {
        "vector" => {
            let vals = ev.eval_scalar(arg(c, 0)?, grid)?;
            let points = grid
                .times()
                .zip(vals)
                .map(|(t, v)| Sample::new(t, v))
                .collect();
            Ok(Val::Vector(vec![Series {
                labels: Labels::empty(),
                drop_name: false,
                points,
            }]))
        }
        "scalar" => {
            let series = ev.eval_vector(arg(c, 0)?, grid)?;
            let mut cursor = StepCursor::new(series.len());
            let mut out = Vec::with_capacity(n);
            for t in grid.times() {
                let mut value = None;
                let mut count = 0;
                for i in 0..series.len() {
                    if let Some(v) = cursor.at(&series, i, t) {
                        count += 1;
                        value = Some(v);
                    }
                }
                out.push(if count == 1 {
                    value.unwrap_or(f64::NAN)
                } else {
                    f64::NAN
                });
            }
            Ok(Val::Scalar(out))
        }
        name => Err(unknown_function(name)),
    }
}

/// `absent(v)`: one series at the steps where `v` has none.
fn absent(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let n = grid.len();
    let a = arg(c, 0)?;
    let series = ev.eval_vector(a, grid)?;
    let mut present = vec![false; n];
    for s in &series {
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
        return Ok(Val::Vector(Vec::new()));
    }
    Ok(Val::Vector(vec![Series {
        labels: absent_labels(a),
        drop_name: false,
        points,
    }]))
}

/// The error for a function the parser accepts but the evaluator does not implement.
pub(super) fn unknown_function(name: &str) -> Error {
    Error::BadQuery(format!("unknown function with name {name:?}"))
}

pub(super) fn arg(c: &Call, i: usize) -> Result<&Expr> {
    c.args.get(i).ok_or_else(|| {
        Error::BadQuery(format!(
            "missing argument {} in call to {}",
            i + 1,
            c.name()
        ))
    })
}

/// The value of string argument `i`, as bytes (PromQL strings may hold invalid UTF-8).
pub(super) fn string_arg_bytes(c: &Call, i: usize) -> Result<&[u8]> {
    unparen(arg(c, i)?).string_bytes().ok_or_else(|| {
        Error::BadQuery(format!(
            "expected string literal as argument {} of {}",
            i + 1,
            c.name()
        ))
    })
}

/// The value of string argument `i` as text. Invalid UTF-8 (only `\x`/octal escapes make it)
/// becomes U+FFFD: where Prometheus would put such bytes into a label value, its JSON output
/// shows U+FFFD too. Label names go through [`label_name_arg`] instead.
pub(super) fn string_arg(c: &Call, i: usize) -> Result<String> {
    Ok(String::from_utf8_lossy(string_arg_bytes(c, i)?).into_owned())
}

/// String argument `i` as a label name, or `Err(what Prometheus prints)` when it is not one
/// (Prometheus 3 validates names with its UTF-8 scheme: non-empty and valid UTF-8). The error
/// side is the argument formatted as Prometheus's `%s` shows it, lossily for invalid bytes.
pub(super) fn label_name_arg(c: &Call, i: usize) -> Result<Result<String, String>> {
    let bytes = string_arg_bytes(c, i)?;
    Ok(match std::str::from_utf8(bytes) {
        Ok(name) if valid_label_name(name) => Ok(name.to_string()),
        _ => Err(String::from_utf8_lossy(bytes).into_owned()),
    })
}

/// A label name Prometheus accepts (UTF-8 names: any non-empty string).
fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// Labels `absent()` reports: the equality matchers of a selector argument, except the name.
pub(super) fn absent_labels(arg: &Expr) -> Labels {
    let matchers = match unparen(arg) {
        Expr::VectorSelector(vs) => &vs.matchers,
        Expr::MatrixSelector(ms) => &ms.selector.matchers,
        _ => return Labels::empty(),
    };
    let mut lb = Labels::empty().builder();
    let mut has: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !has.contains(&m.name.as_str()) {
            lb.set(m.name.as_str(), m.value.as_str());
            has.push(&m.name);
        } else {
            lb.del(&m.name);
        }
    }
    lb.build()
}
