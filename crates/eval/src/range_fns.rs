//! Functions over range vectors (`rate`, `*_over_time`, `deriv`, ...), each computing one value
//! from the samples of one series in one window `(end - range, end]`.

use promlite_model::Sample;

use crate::aggregate::{kahan_inc, quantile};
use crate::error::{Error, Result};

/// What a window function needs besides the samples.
pub(crate) struct WinCtx<'a> {
    /// The evaluation (step) time.
    pub t: i64,
    /// The right end of the window (inclusive).
    pub end: i64,
    /// The window length.
    pub range: i64,
    /// The scalar arguments at this step, in argument order.
    pub scalars: &'a [f64],
}

/// Computes `name` over the non-empty window `w`. `None` means no output at this step.
pub(crate) fn window_value(name: &str, w: &[Sample], ctx: &WinCtx<'_>) -> Result<Option<f64>> {
    let first = match w.first() {
        Some(s) => *s,
        None => return Ok(None),
    };
    let last = match w.last() {
        Some(s) => *s,
        None => return Ok(None),
    };
    let scalar = |i: usize| ctx.scalars.get(i).copied().unwrap_or(f64::NAN);
    Ok(match name {
        "rate" => extrapolated_rate(w, ctx, true, true),
        "increase" => extrapolated_rate(w, ctx, true, false),
        "delta" => extrapolated_rate(w, ctx, false, false),
        "irate" => instant_value(w, true),
        "idelta" => instant_value(w, false),
        "avg_over_time" => Some(avg(w)),
        "min_over_time" => Some(compare_over_time(w, |cur, m| cur < m || m.is_nan()).1),
        "max_over_time" => Some(compare_over_time(w, |cur, m| cur > m || m.is_nan()).1),
        "ts_of_min_over_time" => {
            Some(compare_over_time(w, |cur, m| cur <= m || m.is_nan()).0 as f64 / 1000.0)
        }
        "ts_of_max_over_time" => {
            Some(compare_over_time(w, |cur, m| cur >= m || m.is_nan()).0 as f64 / 1000.0)
        }
        "sum_over_time" => {
            let (mut sum, mut c) = (0.0, 0.0);
            for s in w {
                (sum, c) = kahan_inc(s.v, sum, c);
            }
            Some(if sum.is_infinite() { sum } else { sum + c })
        }
        "count_over_time" => Some(w.len() as f64),
        "last_over_time" => Some(last.v),
        "first_over_time" => Some(first.v),
        "ts_of_first_over_time" => Some(first.t as f64 / 1000.0),
        "ts_of_last_over_time" => Some(last.t as f64 / 1000.0),
        "present_over_time" | "absent_over_time" => Some(1.0),
        "quantile_over_time" => {
            let mut values: Vec<f64> = w.iter().map(|s| s.v).collect();
            Some(quantile(scalar(0), &mut values))
        }
        "stddev_over_time" => Some(variance(w).sqrt()),
        "stdvar_over_time" => Some(variance(w)),
        "mad_over_time" => {
            if w.iter().any(|s| s.v.is_nan()) {
                Some(f64::NAN)
            } else {
                let mut values: Vec<f64> = w.iter().map(|s| s.v).collect();
                let median = quantile(0.5, &mut values);
                for v in values.iter_mut() {
                    *v = (*v - median).abs();
                }
                Some(quantile(0.5, &mut values))
            }
        }
        "resets" => Some(w.windows(2).filter(|p| p[1].v < p[0].v).count() as f64),
        "changes" => Some(
            w.windows(2)
                .filter(|p| p[1].v != p[0].v && !(p[1].v.is_nan() && p[0].v.is_nan()))
                .count() as f64,
        ),
        "deriv" => {
            if w.len() < 2 {
                None
            } else {
                Some(linear_regression(w, first.t).0)
            }
        }
        "predict_linear" => {
            if w.len() < 2 {
                None
            } else {
                let (slope, intercept) = linear_regression(w, ctx.t);
                Some(slope * scalar(0) + intercept)
            }
        }
        "double_exponential_smoothing" => double_exponential_smoothing(w, scalar(0), scalar(1))?,
        _ => None,
    })
}

/// `rate`, `increase` and `delta`: the increase between the first and last samples (corrected
/// for counter resets), extrapolated towards the window's edges when the samples come close
/// enough to them (within 1.1 average sample intervals), and never below zero for counters.
pub(crate) fn extrapolated_rate(
    w: &[Sample],
    ctx: &WinCtx<'_>,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (first, last) = (w.first()?, w.last()?);
    let range_start = ctx.end - ctx.range;
    let mut result = last.v - first.v;
    if is_counter {
        for pair in w.windows(2) {
            if let [prev, cur] = pair {
                if cur.v < prev.v {
                    result += prev.v;
                }
            }
        }
    }
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let mut to_end = (ctx.end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_interval = sampled / (w.len() - 1) as f64;
    let threshold = avg_interval * 1.1;
    if to_start >= threshold {
        to_start = avg_interval / 2.0;
    }
    if is_counter {
        // A counter cannot go below zero: do not extrapolate past the point where it would
        // have been zero.
        let mut to_zero = to_start;
        if result > 0.0 && first.v >= 0.0 {
            to_zero = sampled * (first.v / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_interval / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + to_start + to_end) / sampled
    } else {
        1.0
    };
    if is_rate {
        factor /= ctx.range as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` and `idelta`: from the last two samples.
fn instant_value(w: &[Sample], is_rate: bool) -> Option<f64> {
    let n = w.len();
    if n < 2 {
        return None;
    }
    let (prev, last) = (w.get(n - 2)?, w.get(n - 1)?);
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    // For irate, a counter reset (last < prev) makes the last value the increase.
    let mut v = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

fn avg(w: &[Sample]) -> f64 {
    let mut iter = w.iter();
    let Some(first) = iter.next() else {
        return f64::NAN;
    };
    let (mut sum, mut count, mut mean, mut c) = (first.v, 1.0f64, 0.0f64, 0.0f64);
    let mut incremental = false;
    for s in iter {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(s.v, sum, c);
            if !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(s.v / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// Returns (timestamp, value) of the sample `better` prefers, starting from the first.
fn compare_over_time(w: &[Sample], better: impl Fn(f64, f64) -> bool) -> (i64, f64) {
    let Some(first) = w.first() else {
        return (0, f64::NAN);
    };
    let (mut t, mut m) = (first.t, first.v);
    for s in w {
        if better(s.v, m) {
            m = s.v;
            t = s.t;
        }
    }
    (t, m)
}

fn variance(w: &[Sample]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for s in w {
        count += 1.0;
        let delta = s.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (s.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// Least-squares fit of the samples; x is seconds relative to `intercept_time`.
fn linear_regression(w: &[Sample], intercept_time: i64) -> (f64, f64) {
    let Some(first) = w.first() else {
        return (f64::NAN, f64::NAN);
    };
    let init_y = first.v;
    let mut const_y = true;
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (i, s) in w.iter().enumerate() {
        if const_y && i > 0 && s.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (s.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(s.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * s.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

fn double_exponential_smoothing(w: &[Sample], sf: f64, tf: f64) -> Result<Option<f64>> {
    if sf <= 0.0 || sf >= 1.0 || sf.is_nan() {
        return Err(Error::Execution(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
        )));
    }
    if tf <= 0.0 || tf >= 1.0 || tf.is_nan() {
        return Err(Error::Execution(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
        )));
    }
    let (Some(a), Some(b)) = (w.first(), w.get(1)) else {
        return Ok(None);
    };
    let (mut s0, mut s1, mut trend) = (0.0f64, a.v, b.v - a.v);
    for (i, s) in w.iter().enumerate().skip(1) {
        let x = sf * s.v;
        trend = if i - 1 == 0 {
            trend
        } else {
            tf * (s1 - s0) + (1.0 - tf) * trend
        };
        let y = (1.0 - sf) * (s1 + trend);
        s0 = s1;
        s1 = x + y;
    }
    Ok(Some(s1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(points: &[(i64, f64)]) -> Vec<Sample> {
        points.iter().map(|&(t, v)| Sample::new(t, v)).collect()
    }

    fn ctx(end: i64, range: i64) -> WinCtx<'static> {
        WinCtx {
            t: end,
            end,
            range,
            scalars: &[],
        }
    }

    #[test]
    fn rate_extrapolates_to_window_edges() {
        // Samples every 10s from 10s to 50s, value rising by 1 per 10s; window (0s, 60s].
        let w = win(&[
            (10_000, 1.0),
            (20_000, 2.0),
            (30_000, 3.0),
            (40_000, 4.0),
            (50_000, 5.0),
        ]);
        let r = window_value("rate", &w, &ctx(60_000, 60_000))
            .unwrap()
            .unwrap();
        // Increase 4 over 40s, extrapolated by 10s on both sides but clamped at the zero point
        // (10s before the first sample, where the counter would reach 0): 6 over 60s.
        assert!((r - 0.1).abs() < 1e-12, "{r}");
    }

    #[test]
    fn rate_handles_counter_reset() {
        // 10 -> 2 is a reset: the raw increase is 2 + 2 = 4 over 20s of samples. The window
        // (-10s, 20s] starts 10s before the first sample (under the 11s threshold), so the
        // increase is extrapolated by 10s on the left: 4 * 30 / 20 = 6.
        let w = win(&[(0, 10.0), (10_000, 2.0), (20_000, 4.0)]);
        let inc = window_value("increase", &w, &ctx(20_000, 30_000))
            .unwrap()
            .unwrap();
        assert!((inc - 6.0).abs() < 1e-9, "{inc}");
    }

    #[test]
    fn irate_uses_last_two_samples() {
        let w = win(&[(0, 1.0), (10_000, 5.0), (20_000, 2.0)]);
        assert_eq!(
            window_value("irate", &w, &ctx(20_000, 60_000)).unwrap(),
            Some(0.2)
        );
        assert_eq!(
            window_value("idelta", &w, &ctx(20_000, 60_000)).unwrap(),
            Some(-3.0)
        );
    }

    #[test]
    fn deriv_of_a_line_is_its_slope() {
        let w = win(&[(0, 1.0), (1000, 3.0), (2000, 5.0)]);
        assert_eq!(
            window_value("deriv", &w, &ctx(2000, 5000)).unwrap(),
            Some(2.0)
        );
    }

    #[test]
    fn smoothing_factor_is_validated() {
        let w = win(&[(0, 1.0), (1000, 3.0)]);
        let c = WinCtx {
            t: 0,
            end: 0,
            range: 1,
            scalars: &[1.5, 0.5],
        };
        assert!(window_value("double_exponential_smoothing", &w, &c).is_err());
    }
}
