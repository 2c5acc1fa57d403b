//! Function calls: instant-vector functions, scalar functions, label functions, and the driver
//! that runs range functions over sliding windows.

use std::collections::HashMap;
use std::sync::Arc;

use std::time::Instant;

use promlite_model::{is_stale_nan, Labels, MatchOp, Sample, METRIC_NAME};
use promlite_promql::ast::{Call, Expr, MatrixSelector};
use promlite_promql::FunctionKind;
use rayon::prelude::*;

use crate::aggregate::{fmt_g, go_sort};
use crate::annotations::Kind;
use crate::error::{Error, Result};
use crate::evaluator::{
    drop_names_and_merge, expr_pos, merge_same_labels, unparen, Deadline, Evaluator, RangeInput,
};
use crate::range_fns::{extrapolated_rate, window_value, WinCtx};
use crate::series::{Grid, Series, StepCursor, Val};

pub(crate) fn eval_call(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let name = c.name();
    if c.func.kind == FunctionKind::Range {
        return range_call(ev, c, grid, NameRemoval::Now);
    }
    let n = grid.len();
    match name {
        "info" => crate::info::eval_info(ev, c, grid),
        "time" => Ok(Val::Scalar(
            grid.times().map(|t| t as f64 / 1000.0).collect(),
        )),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
        "start" | "end" | "step" | "range" => {
            let (start, end, step) = ev.query_bounds();
            let v = match name {
                "start" => start as f64 / 1000.0,
                "end" => end as f64 / 1000.0,
                "step" => step as f64 / 1000.0,
                _ => (end - start) as f64 / 1000.0,
            };
            Ok(Val::Scalar(vec![v; n]))
        }
        "min_of" | "max_of" => {
            let mut acc: Option<Vec<f64>> = None;
            for a in &c.args {
                let vals = ev.eval_scalar(a, grid)?;
                acc = Some(match acc {
                    None => vals,
                    Some(prev) => prev
                        .iter()
                        .zip(vals.iter())
                        .map(|(&x, &y)| {
                            if name == "min_of" {
                                go_min(x, y)
                            } else {
                                go_max(x, y)
                            }
                        })
                        .collect(),
                });
            }
            Ok(Val::Scalar(acc.unwrap_or_else(|| vec![f64::NAN; n])))
        }
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
        "timestamp" => {
            let a = unparen(arg(c, 0)?);
            let mut series = match a {
                Expr::VectorSelector(vs) => ev.vector_selector(vs, grid, true)?,
                other => {
                    let mut s = ev.eval_vector(other, grid)?;
                    for series in &mut s {
                        for p in &mut series.points {
                            p.v = p.t as f64 / 1000.0;
                        }
                    }
                    s
                }
            };
            for s in &mut series {
                s.drop_name = true;
            }
            Ok(Val::Vector(series))
        }
        "label_replace" => label_replace(ev, c, grid),
        "label_join" => label_join(ev, c, grid),
        "absent" => {
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
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => sort_call(ev, c, grid),
        "histogram_quantile" => histogram_quantile(ev, c, grid),
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => {
            if c.args.is_empty() {
                let points = grid
                    .times()
                    .map(|t| Sample::new(t, date_part(name, t.div_euclid(1000))))
                    .collect();
                return Ok(Val::Vector(vec![Series {
                    labels: Labels::empty(),
                    drop_name: false,
                    points,
                }]));
            }
            let mut series = ev.eval_vector(arg(c, 0)?, grid)?;
            for s in &mut series {
                s.drop_name = true;
                for p in &mut s.points {
                    p.v = date_part(name, p.v as i64);
                }
            }
            Ok(Val::Vector(series))
        }
        "clamp" | "clamp_min" | "clamp_max" | "round" => {
            let series = ev.eval_vector(arg(c, 0)?, grid)?;
            let p1 = match c.args.get(1) {
                Some(a) => Some(ev.eval_scalar(a, grid)?),
                None => None,
            };
            let p2 = match c.args.get(2) {
                Some(a) => Some(ev.eval_scalar(a, grid)?),
                None => None,
            };
            let at = |p: &Option<Vec<f64>>, k: usize, default: f64| {
                p.as_ref()
                    .and_then(|v| v.get(k))
                    .copied()
                    .unwrap_or(default)
            };
            let mut out = Vec::with_capacity(series.len());
            for mut s in series {
                s.drop_name = true;
                s.points.retain_mut(|p| {
                    let k = grid.index(p.t);
                    match name {
                        "round" => {
                            let inv = 1.0 / at(&p1, k, 1.0);
                            p.v = (p.v * inv + 0.5).floor() / inv;
                            true
                        }
                        _ => {
                            let (lo, hi) = match name {
                                "clamp" => (at(&p1, k, f64::NAN), at(&p2, k, f64::NAN)),
                                "clamp_min" => (at(&p1, k, f64::NAN), f64::INFINITY),
                                _ => (f64::NEG_INFINITY, at(&p1, k, f64::NAN)),
                            };
                            if hi < lo {
                                return false;
                            }
                            p.v = go_max(lo, go_min(hi, p.v));
                            true
                        }
                    }
                });
                if !s.points.is_empty() {
                    out.push(s);
                }
            }
            Ok(Val::Vector(out))
        }
        _ => {
            let Some(f) = math_fn(name) else {
                return Err(unknown_function(name));
            };
            let mut series = ev.eval_vector(arg(c, 0)?, grid)?;
            for s in &mut series {
                s.drop_name = true;
                for p in &mut s.points {
                    p.v = f(p.v);
                }
            }
            Ok(Val::Vector(series))
        }
    }
}

/// The error for a function the parser accepts but the evaluator does not implement.
fn unknown_function(name: &str) -> Error {
    Error::BadQuery(format!("unknown function with name {name:?}"))
}

fn arg(c: &Call, i: usize) -> Result<&Expr> {
    c.args.get(i).ok_or_else(|| {
        Error::BadQuery(format!(
            "missing argument {} in call to {}",
            i + 1,
            c.name()
        ))
    })
}

/// The value of string argument `i`, as bytes (PromQL strings may hold invalid UTF-8).
fn string_arg_bytes(c: &Call, i: usize) -> Result<&[u8]> {
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
fn string_arg(c: &Call, i: usize) -> Result<String> {
    Ok(String::from_utf8_lossy(string_arg_bytes(c, i)?).into_owned())
}

/// String argument `i` as a label name, or `Err(what Prometheus prints)` when it is not one
/// (Prometheus 3 validates names with its UTF-8 scheme: non-empty and valid UTF-8). The error
/// side is the argument formatted as Prometheus's `%s` shows it, lossily for invalid bytes.
fn label_name_arg(c: &Call, i: usize) -> Result<Result<String, String>> {
    let bytes = string_arg_bytes(c, i)?;
    Ok(match std::str::from_utf8(bytes) {
        Ok(name) if valid_label_name(name) => Ok(name.to_string()),
        _ => Err(String::from_utf8_lossy(bytes).into_owned()),
    })
}

/// Go's `math.Max`: NaN wins, +0 beats -0.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: NaN wins, -0 beats +0.
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "sgn" => |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        _ => return None,
    })
}

/// Labels `absent()` reports: the equality matchers of a selector argument, except the name.
fn absent_labels(arg: &Expr) -> Labels {
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

/// A label name Prometheus accepts (UTF-8 names: any non-empty string).
fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

fn label_replace(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let dst = label_name_arg(c, 1)?;
    let repl = string_arg(c, 2)?;
    let src = string_arg(c, 3)?;
    // Go's regexp compiler rejects invalid UTF-8 (the regex is checked first, as there).
    let re_bytes = string_arg_bytes(c, 4)?;
    let re_src = std::str::from_utf8(re_bytes).map_err(|_| {
        Error::Execution(format!(
            "invalid regular expression in label_replace(): {}",
            String::from_utf8_lossy(re_bytes)
        ))
    })?;
    // Fast path: `"$1"` with `(.*)`/`(.+)` copies the source value unchanged, so the regex
    // engine (and a String per series) is not needed; the shared label string is reused. Those
    // two regexes are valid, so nothing is compiled at all: compiling one costs more than the
    // rest of a small query.
    let copy = if ev.opts.fast_path {
        crate::pushdown::copy_kind(&repl, re_src)
    } else {
        None
    };
    if copy.is_some() {
        ev.decide(|| "label_replace copy form: source value reused, no regex compiled".into());
    }
    let re = match copy {
        Some(_) => None,
        None => Some(regex::Regex::new(&format!("^(?s:{re_src})$")).map_err(|_| {
            Error::Execution(format!(
                "invalid regular expression in label_replace(): {re_src}"
            ))
        })?),
    };
    let dst = dst.map_err(|dst| {
        Error::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        ))
    })?;
    let mut series = ev.eval_vector(arg(c, 0)?, grid)?;
    // The output has distinct label sets without checking when no input series has `dst`:
    // inputs are distinct (every vector the evaluator produces is), and each output is either
    // its input unchanged or its input plus `dst`, so two outputs can only be equal if their
    // inputs were. `__name__` is excluded: its removal is deferred by a flag.
    let mut dst_anywhere = dst == METRIC_NAME;
    for s in &mut series {
        dst_anywhere = dst_anywhere || s.labels.has(&dst);
        if let Some(kind) = copy {
            let src_value = s
                .labels
                .iter()
                .find(|l| *l.name == *src)
                .map(|l| Arc::clone(&l.value));
            let matched = match (&src_value, kind) {
                (Some(_), _) => true,
                (None, crate::pushdown::CopyKind::Any) => true,
                (None, crate::pushdown::CopyKind::NonEmpty) => false,
            };
            if matched {
                match src_value {
                    // An overwrite of a set nobody else holds: one string swapped in place.
                    Some(value) if s.labels.replace_value(&dst, &value) => {}
                    Some(value) => {
                        let mut lb = s.labels.builder();
                        lb.set_label(promlite_model::Label {
                            name: dst.as_str().into(),
                            value,
                        });
                        s.labels = lb.build();
                    }
                    None => {
                        let mut lb = s.labels.builder();
                        lb.del(&dst);
                        s.labels = lb.build();
                    }
                }
                if dst == METRIC_NAME {
                    s.drop_name = false;
                }
            }
            continue;
        }
        let Some(re) = &re else {
            continue;
        };
        let src_val = s.labels.get(&src).unwrap_or("");
        if let Some(caps) = re.captures(src_val) {
            let mut value = String::new();
            caps.expand(&repl, &mut value);
            let mut lb = s.labels.builder();
            lb.set(dst.as_str(), value);
            s.labels = lb.build();
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
    }
    if !dst_anywhere {
        return Ok(Val::Vector(series));
    }
    Ok(Val::Vector(merge_same_labels(series)?))
}

fn label_join(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let dst = label_name_arg(c, 1)?;
    let sep = string_arg(c, 2)?;
    let mut srcs = Vec::new();
    for i in 3..c.args.len() {
        let s = label_name_arg(c, i)?.map_err(|s| {
            Error::Execution(format!("invalid source label name in label_join(): {s}"))
        })?;
        srcs.push(s);
    }
    let dst = dst.map_err(|dst| {
        Error::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        ))
    })?;
    let mut series = ev.eval_vector(arg(c, 0)?, grid)?;
    for s in &mut series {
        let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
        let value = joined.join(&sep);
        let mut lb = s.labels.builder();
        lb.set(dst.as_str(), value);
        s.labels = lb.build();
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(Val::Vector(merge_same_labels(series)?))
}

fn sort_call(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let mut series = ev.eval_vector(arg(c, 0)?, grid)?;
    if !grid.is_instant() {
        ev.annotate(
            Kind::Warning,
            "sort is ineffective for range queries since results are always ordered by labels"
                .into(),
            c.span.start,
        );
        return Ok(Val::Vector(series));
    }
    let value = |s: &Series| s.points.first().map_or(f64::NAN, |p| p.v);
    match c.name() {
        "sort" => go_sort(&mut series, |a, b| value(b).is_nan() || value(b) > value(a)),
        "sort_desc" => go_sort(&mut series, |a, b| value(b).is_nan() || value(b) < value(a)),
        name => {
            let mut names = Vec::new();
            for i in 1..c.args.len() {
                names.push(string_arg(c, i)?);
            }
            let desc = name == "sort_by_label_desc";
            series.sort_by(|a, b| {
                for n in &names {
                    let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
                    if x == y {
                        continue;
                    }
                    let ord = if natural_less(x, y) {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Greater
                    };
                    return if desc { ord.reverse() } else { ord };
                }
                let ord = a.labels.cmp(&b.labels);
                if desc {
                    ord.reverse()
                } else {
                    ord
                }
            });
        }
    }
    Ok(Val::Vector(series))
}

/// Natural ("human") order: runs of digits compare as numbers.
fn natural_less(a: &str, b: &str) -> bool {
    fn chunks(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            let boundary = i == bytes.len()
                || bytes.get(i).map(u8::is_ascii_digit) != bytes.get(i - 1).map(u8::is_ascii_digit);
            if boundary {
                if let Some(ch) = s.get(start..i) {
                    out.push(ch);
                }
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        if x == y {
            continue;
        }
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        if digits(x) && digits(y) {
            match (x.parse::<u128>(), y.parse::<u128>()) {
                (Ok(p), Ok(q)) if p != q => return p < q,
                (Ok(_), Ok(_)) => continue,
                _ => return x < y,
            }
        }
        return x < y;
    }
    ca.len() < cb.len()
}

/// Year, month, ... of Unix time `secs` (UTC).
fn date_part(name: &str, secs: i64) -> f64 {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match name {
        "hour" => (rem / 3600) as f64,
        "minute" => (rem % 3600 / 60) as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_month" => d as f64,
        "month" => m as f64,
        "year" => y as f64,
        "day_of_year" => {
            const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
            let before = CUM.get((m - 1) as usize).copied().unwrap_or(0) + i64::from(leap && m > 2);
            (before + d) as f64
        }
        _ => {
            const LEN: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            (LEN.get((m - 1) as usize).copied().unwrap_or(30) + i64::from(leap && m == 2)) as f64
        }
    }
}

/// Howard Hinnant's days-to-civil algorithm: (year, month 1..=12, day 1..=31).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

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
fn range_call(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid, names: NameRemoval) -> Result<Val> {
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
        // quantile_over_time warns about its parameter only when there is data, which the
        // fused path does not know up front.
        Expr::MatrixSelector(ms) if name != "quantile_over_time" => {
            ev.decide(|| format!("{name} fused with its selection (no matrix materialised)"));
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
    if ev.opts.fast_path
        && matches!(unparen(mat_arg), Expr::MatrixSelector(_))
        && !ev.opts.delayed_name_removal
        && names == NameRemoval::Now
        && same_metric_name(&out)
    {
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

/// `histogram_quantile` over classic `le` buckets.
fn histogram_quantile(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let qs = ev.eval_scalar(arg(c, 0)?, grid)?;
    let vec_arg = arg(c, 1)?;
    let series = ev.eval_vector(vec_arg, grid)?;
    let pos = expr_pos(vec_arg);
    let q_pos = expr_pos(arg(c, 0)?);
    // Group every series once by its labels without `le`; parse its bound once.
    let mut groups: Vec<Series> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut member: Vec<Option<(usize, f64)>> = Vec::with_capacity(series.len());
    for s in &series {
        let le = s.labels.get("le").unwrap_or("");
        match parse_bound(le) {
            Some(bound) => {
                let mut lb = s.labels.builder();
                lb.del("le");
                let key = lb.build();
                let g = *index.entry(key.clone()).or_insert_with(|| {
                    groups.push(Series::new(key, true));
                    groups.len() - 1
                });
                member.push(Some((g, bound)));
            }
            None => member.push(None),
        }
    }
    let mut cursor = StepCursor::new(series.len());
    let mut buckets: Vec<Vec<(f64, f64)>> = vec![Vec::new(); groups.len()];
    for (k, t) in grid.times().enumerate() {
        let q = qs.get(k).copied().unwrap_or(f64::NAN);
        buckets.iter_mut().for_each(Vec::clear);
        let mut any = false;
        for (i, s) in series.iter().enumerate() {
            let Some(v) = cursor.at(&series, i, t) else {
                continue;
            };
            any = true;
            match member.get(i).copied().flatten() {
                Some((g, bound)) => {
                    if let Some(b) = buckets.get_mut(g) {
                        b.push((bound, v));
                    }
                }
                None => {
                    let le = s.labels.get("le").unwrap_or("");
                    let mut text = format!(
                        "bucket label \"le\" is missing or has a malformed value of {le:?}"
                    );
                    if let Some(m) = s.labels.metric_name() {
                        text.push_str(&format!(" for metric name {m:?}"));
                    }
                    ev.annotate(Kind::Warning, text, pos);
                }
            }
        }
        if any && (q.is_nan() || !(0.0..=1.0).contains(&q)) {
            ev.annotate(
                Kind::Warning,
                format!("quantile value should be between 0 and 1, got {}", fmt_g(q)),
                q_pos,
            );
        }
        for (g, b) in buckets.iter_mut().enumerate() {
            if b.is_empty() {
                continue;
            }
            let (value, forced) = bucket_quantile(q, b);
            if forced {
                let mut text = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)".to_string();
                if let Some(m) = groups.get(g).and_then(|s| s.labels.metric_name()) {
                    text.push_str(&format!(" for metric name {m:?}"));
                }
                ev.annotate(Kind::Info, text, pos);
            }
            if let Some(out) = groups.get_mut(g) {
                out.points.push(Sample::new(t, value));
            }
        }
    }
    groups.retain(|s| !s.points.is_empty());
    Ok(Val::Vector(groups))
}

/// Parses a bucket bound as Go's `strconv.ParseFloat` would for the usual spellings.
fn parse_bound(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => return Some(f64::INFINITY),
        "-Inf" | "-inf" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    s.parse::<f64>().ok()
}

/// The quantile of classic buckets `(upper bound, cumulative count)`; the flag tells whether
/// counts had to be forced monotonic.
fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if !buckets.last().is_some_and(|b| b.0 == f64::INFINITY) {
        return (f64::NAN, false);
    }
    // Coalesce buckets with the same bound.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(ub, count) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == ub => last.1 += count,
            _ => merged.push((ub, count)),
        }
    }
    // Force monotonicity; numerically insignificant differences are ignored silently.
    let mut forced = false;
    if let Some(&(_, first)) = merged.first() {
        let mut prev = first;
        for b in merged.iter_mut().skip(1) {
            let curr = b.1;
            if curr == prev {
                continue;
            }
            if almost_equal(prev, curr, 1e-12) {
                b.1 = prev;
                continue;
            }
            if curr < prev {
                b.1 = prev;
                forced = true;
                continue;
            }
            prev = curr;
        }
    }
    if merged.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = merged.last().map_or(0.0, |b| b.1);
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let n = merged.len();
    let b = merged
        .get(..n - 1)
        .map_or(0, |head| head.partition_point(|x| x.1 < rank));
    let get = |i: usize| merged.get(i).copied().unwrap_or((f64::NAN, f64::NAN));
    let value = if b == n - 1 {
        get(n - 2).0
    } else if b == 0 && get(0).0 <= 0.0 {
        get(0).0
    } else {
        let (bucket_end, mut count) = get(b);
        let mut bucket_start = 0.0;
        if b > 0 {
            let prev = get(b - 1);
            bucket_start = prev.0;
            count -= prev.1;
            rank -= prev.1;
        }
        bucket_start + (bucket_end - bucket_start) * (rank / count)
    };
    (value, forced)
}

/// Relative float comparison (Prometheus's `almost.Equal`).
pub(crate) fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_unix_seconds() {
        // 2020-02-29T13:45:00Z, a Saturday.
        let t = 1_582_983_900;
        assert_eq!(date_part("year", t), 2020.0);
        assert_eq!(date_part("month", t), 2.0);
        assert_eq!(date_part("day_of_month", t), 29.0);
        assert_eq!(date_part("day_of_week", t), 6.0);
        assert_eq!(date_part("day_of_year", t), 60.0);
        assert_eq!(date_part("days_in_month", t), 29.0);
        assert_eq!(date_part("hour", t), 13.0);
        assert_eq!(date_part("minute", t), 45.0);
    }

    #[test]
    fn natural_order_compares_numbers() {
        assert!(natural_less("a2", "a10"));
        assert!(!natural_less("a10", "a2"));
        assert!(natural_less("a", "b"));
    }

    #[test]
    fn bucket_quantile_interpolates_and_fixes_monotonicity() {
        let mut b = vec![(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)];
        assert_eq!(bucket_quantile(0.5, &mut b), (1.0, false));
        let mut b = vec![(1.0, 10.0), (2.0, 5.0), (f64::INFINITY, 20.0)];
        let (_, forced) = bucket_quantile(0.5, &mut b);
        assert!(forced);
        let mut b = vec![(1.0, 10.0)];
        assert!(bucket_quantile(0.5, &mut b).0.is_nan());
    }

    #[test]
    fn go_min_max_propagate_nan() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert_eq!(go_max(-0.0, 0.0).to_bits(), 0.0f64.to_bits());
    }
}
