//! Evaluation time and calendar functions: `time()`, `timestamp()`, and the UTC calendar
//! fields of sample values or of the evaluation time (`hour`, `day_of_week`, `year`, ...).

use promlite_model::{Labels, Sample};
use promlite_promql::ast::{Call, Expr};

use crate::error::Result;
use crate::evaluator::{unparen, Evaluator};
use crate::series::{Grid, Series, Val};

use super::{arg, unknown_function};

/// Evaluates a [`promlite_promql::FunctionKind::Time`] call.
pub(super) fn eval_time(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let name = c.name();
    match name {
        "time" => Ok(Val::Scalar(
            grid.times().map(|t| t as f64 / 1000.0).collect(),
        )),
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
        _ => Err(unknown_function(name)),
    }
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
}
