//! Histogram functions: `histogram_quantile` over classic `le` buckets (native histograms
//! are not implemented: the other `histogram_*` functions fail as unknown).

use std::collections::HashMap;

use promlite_model::{Labels, Sample};
use promlite_promql::ast::Call;

use crate::annotations::Kind;
use crate::error::Result;
use crate::evaluator::{expr_pos, Evaluator};
use crate::go_compat::{fmt_g, parse_float};
use crate::series::{Grid, Series, StepCursor, Val};

use super::{arg, unknown_function};

/// Evaluates a [`promlite_promql::FunctionKind::Histogram`] call.
pub(super) fn eval_histogram(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    match c.name() {
        "histogram_quantile" => histogram_quantile(ev, c, grid),
        name => Err(unknown_function(name)),
    }
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
        match parse_float(le) {
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
    fn bucket_quantile_interpolates_and_fixes_monotonicity() {
        let mut b = vec![(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)];
        assert_eq!(bucket_quantile(0.5, &mut b), (1.0, false));
        let mut b = vec![(1.0, 10.0), (2.0, 5.0), (f64::INFINITY, 20.0)];
        let (_, forced) = bucket_quantile(0.5, &mut b);
        assert!(forced);
        let mut b = vec![(1.0, 10.0)];
        assert!(bucket_quantile(0.5, &mut b).0.is_nan());
    }
}
