//! Arithmetic functions: per-sample math on an instant vector (`abs`, `sqrt`, `clamp`,
//! `round`, ...) and on scalars (`pi`, `min_of`, `max_of`).

use promlite_promql::ast::Call;

use crate::error::Result;
use crate::evaluator::Evaluator;
use crate::go_compat::{go_max, go_min};
use crate::series::{Grid, Val};

use super::{arg, unknown_function};

/// Evaluates a [`promlite_promql::FunctionKind::Math`] call.
pub(super) fn eval_math(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let name = c.name();
    let n = grid.len();
    match name {
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
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
