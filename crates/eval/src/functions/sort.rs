//! Sorting functions: `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`.

use promlite_promql::ast::Call;

use crate::annotations::Kind;
use crate::error::Result;
use crate::evaluator::Evaluator;
use crate::go_compat::go_sort;
use crate::series::{Grid, Series, Val};

use super::{arg, string_arg};

/// Evaluates a [`promlite_promql::FunctionKind::Sort`] call.
pub(super) fn sort_call(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers() {
        assert!(natural_less("a2", "a10"));
        assert!(!natural_less("a10", "a2"));
        assert!(natural_less("a", "b"));
    }
}
