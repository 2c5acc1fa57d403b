//! The data-dependent half of a join's strategy: when the plan says "push the one side's keys
//! into the many side" (`JoinPlan::Pushdown`), a storage estimate taken before either side is
//! evaluated decides whether the keys would filter enough to pay for evaluating the sides one
//! after the other, or whether both sides should run at once on two threads instead
//! (`Evaluator::eval_pair`).
//!
//! **Rule:** only speed depends on this choice. Pushdown gives the generic path's outcome (see
//! `crate::pushdown`) and `eval_pair` gives the sequential outcome (the left side's error first,
//! annotations left then right), so the answer, the error and the annotations are the same
//! whichever branch the estimate picks; a failed or missing estimate keeps the pushdown.
//!
//! The cost model counts series, the unit the estimate has (index postings, no sample read).
//! Let `n_one` and `n_many` be the series the two sides' selectors match and `share` the
//! fraction of their metrics' series the one side's selectors select (within the restrictions
//! every many-side selector already carries, as [`crate::pushdown::sides_worth_concurrency`]
//! reads them). Pushdown evaluates the one side, then the share of the many side its keys
//! leave: about `n_one + share * n_many`. Both sides at once take as long as the larger one:
//! `max(n_one, n_many)`. Concurrency is chosen when it is the cheaper, which for a many side
//! larger than the one side means `share > 1 - n_one / n_many`: the threshold follows from the
//! two sides' sizes instead of being a constant fitted to one dataset. A selective one side
//! (`owner_name="coredns"`, a few percent of its metric) keeps the pushdown unless it is
//! nearly as large as the many side; a one side that covers nearly every pod (the four-branch
//! workload union) runs beside the many side.

use promlite_model::{Matcher, METRIC_NAME};
use promlite_promql::ast::{Binary, BinaryOp, Expr, ValueType};

use crate::evaluator::{unparen, Evaluator};
use crate::pushdown;

/// What storage estimates about a pushdown join's two sides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JoinEstimate {
    /// Series the one side's selectors match.
    pub(crate) n_one: u64,
    /// Series the many side's selectors match, before any key is pushed.
    pub(crate) n_many: u64,
    /// The fraction (0 to 1) of its metrics' series the one side selects: about the fraction
    /// of the many side its keys would leave.
    pub(crate) share: f64,
}

impl JoinEstimate {
    /// True if evaluating both sides at once is estimated cheaper than pushing the keys (see
    /// the module doc for the model).
    pub(crate) fn concurrent_is_cheaper(&self) -> bool {
        let n_one = self.n_one as f64;
        let n_many = self.n_many as f64;
        let pushdown = n_one + self.share * n_many;
        let concurrent = n_one.max(n_many);
        concurrent < pushdown
    }

    /// The estimate as `--explain` prints it.
    pub(crate) fn describe(&self) -> String {
        format!(
            "the one side selects ~{:.0}% of its metrics' series; {} one-side series, {} many-side",
            self.share * 100.0,
            self.n_one,
            self.n_many
        )
    }
}

/// One side's estimate: the series it selects and the fraction of its metrics' series they are.
#[derive(Debug, Clone, Copy)]
struct SideEstimate {
    n_series: u64,
    share: f64,
}

/// Estimates the pushdown join `b` from storage, before either side is evaluated. `None` when
/// the shape is not a pushdown join or some selector cannot be estimated.
pub(crate) fn estimate_join(ev: &Evaluator<'_>, b: &Binary) -> Option<JoinEstimate> {
    let (_, one, many) = pushdown::join_sides(b)?;
    let mut shared: Option<Vec<Matcher>> = None;
    pushdown::common_restrictions(many, &mut shared);
    let one = estimate_one_side(ev, one, shared.as_deref().unwrap_or(&[]))?;
    let n_many = count_selected(ev, many)?;
    Some(JoinEstimate {
        n_one: one.n_series,
        n_many,
        share: one.share,
    })
}

/// The series every selector under `expr` matches, summed (an aggregation's parameter
/// included: it is evaluated too).
fn count_selected(ev: &Evaluator<'_>, expr: &Expr) -> Option<u64> {
    let mut total = Some(0u64);
    expr.walk(&mut |e| {
        let matchers = match e {
            Expr::VectorSelector(vs) => &vs.matchers,
            Expr::MatrixSelector(ms) => &ms.selector.matchers,
            _ => return true,
        };
        total = total
            .zip(ev.estimate_series(matchers))
            .map(|(sum, n)| sum.saturating_add(n));
        false
    });
    total
}

/// The one side's estimate. A selector's share is the series it matches over those its
/// `__name__` matchers (and the `allowed` restrictions it carries) match. Label-preserving
/// functions, `label_replace` and aggregations that keep every group pass their argument's
/// share; `or` adds its arms' (capped at 1: its arms usually select disjoint owner kinds);
/// the other vector/vector operators keep at most the smaller share; a vector/scalar operator
/// keeps its vector's. Anything else has no estimate.
fn estimate_one_side(ev: &Evaluator<'_>, expr: &Expr, allowed: &[Matcher]) -> Option<SideEstimate> {
    match expr {
        Expr::Paren(e) => estimate_one_side(ev, e, allowed),
        Expr::VectorSelector(vs) => estimate_selector(ev, &vs.matchers, allowed),
        Expr::MatrixSelector(ms) => estimate_selector(ev, &ms.selector.matchers, allowed),
        Expr::Call(c) if c.name() == "label_replace" => {
            estimate_one_side(ev, c.args.first()?, allowed)
        }
        Expr::Call(c) => {
            let idx = pushdown::label_preserving_arg(c.name())?;
            estimate_one_side(ev, c.args.get(idx)?, allowed)
        }
        Expr::Aggregate(a) if !a.op.selects_series() => estimate_one_side(ev, &a.expr, allowed),
        // `topk`-like aggregations with a literal `k >= 1` keep a series of every group.
        Expr::Aggregate(a) => {
            let k = a.param.as_deref().map(unparen)?;
            match k {
                Expr::Number(k) if *k >= 1.0 => estimate_one_side(ev, &a.expr, allowed),
                _ => None,
            }
        }
        Expr::Binary(b) => estimate_binary(ev, b, allowed),
        _ => None,
    }
}

fn estimate_binary(ev: &Evaluator<'_>, b: &Binary, allowed: &[Matcher]) -> Option<SideEstimate> {
    let is_vector = |e: &Expr| e.value_type() == ValueType::Vector;
    match (is_vector(&b.lhs), is_vector(&b.rhs)) {
        (true, true) => {
            let l = estimate_one_side(ev, &b.lhs, allowed)?;
            let r = estimate_one_side(ev, &b.rhs, allowed)?;
            let share = match b.op {
                BinaryOp::Or => (l.share + r.share).min(1.0),
                BinaryOp::Unless => l.share,
                _ => l.share.min(r.share),
            };
            Some(SideEstimate {
                n_series: l.n_series.saturating_add(r.n_series),
                share,
            })
        }
        (true, false) => estimate_one_side(ev, &b.lhs, allowed),
        (false, true) => estimate_one_side(ev, &b.rhs, allowed),
        (false, false) => None,
    }
}

fn estimate_selector(
    ev: &Evaluator<'_>,
    matchers: &[Matcher],
    allowed: &[Matcher],
) -> Option<SideEstimate> {
    // The metric's series: its name matchers plus the restrictions the many side shares.
    let metric: Vec<Matcher> = matchers
        .iter()
        .filter(|m| m.name == METRIC_NAME || allowed.contains(m))
        .cloned()
        .collect();
    if !metric.iter().any(|m| m.name == METRIC_NAME) {
        return None;
    }
    let n_series = ev.estimate_series(matchers)?;
    let n_metric = ev.estimate_series(&metric)?;
    let share = if n_metric == 0 {
        0.0
    } else {
        (n_series as f64 / n_metric as f64).min(1.0)
    };
    Some(SideEstimate { n_series, share })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(n_one: u64, n_many: u64, share: f64) -> JoinEstimate {
        JoinEstimate {
            n_one,
            n_many,
            share,
        }
    }

    #[test]
    fn concurrency_when_the_keys_would_leave_more_than_the_one_side_costs() {
        // The many side 3x the one side: concurrency pays once the keys leave over 2/3 of it.
        assert!(estimate(10_000, 30_000, 0.9).concurrent_is_cheaper());
        assert!(!estimate(10_000, 30_000, 0.5).concurrent_is_cheaper());
        // A selective one side keeps the pushdown even when it is sizeable.
        assert!(!estimate(100, 300, 0.05).concurrent_is_cheaper());
        // A one side larger than the many side: the many side hides behind it.
        assert!(estimate(500, 300, 0.05).concurrent_is_cheaper());
        // Nothing selected: pushdown empties the many side.
        assert!(!estimate(0, 300, 0.0).concurrent_is_cheaper());
        assert!(!estimate(0, 0, 0.0).concurrent_is_cheaper());
    }
}
