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
//! reads them): the keys leave about `share * n_many` many-side series. Over a grid of many
//! steps a side's per-series work is spread over all `cores` rayon threads once it has
//! `parallel_min_series` series (`EngineOptions::parallel_min_series`: range functions and
//! aggregations split by series, joins by steps), so a side of `n` series takes `n / cores`
//! then; otherwise, and always in an instant query (whose `label_replace`, joins and
//! aggregations run on one thread per side), it takes `n`. Pushdown runs the one side, then what its keys leave of the many side, one
//! after the other. Both sides at once take at least the work of both spread over the cores,
//! and at least the longer side, plus one handoff: waking a rayon worker for the second side and
//! joining it again, priced as `concurrent_min_series` series of work
//! (`EngineOptions::concurrent_min_series`; by default the size from which the evaluator splits
//! a node's per-series work over threads at all). Concurrency is chosen when that is the
//! cheaper:
//!
//! ```text
//! pushdown   = time(n_one) + time(share * n_many)
//! concurrent = max((n_one + n_many) / cores, time(n_one), time(n_many)) + handoff
//! ```
//!
//! Without the handoff term two sides of ten series each ran on two threads, and the wake-up
//! (tens of microseconds on a 2-core VM) was most of a 60 µs query.
//!
//! No constant is fitted to a dataset: the threshold on `share` follows from the sides' sizes
//! and the evaluator's own parallelism. When both sides spread over every core on their own
//! (large sides, many steps), running them side by side gains nothing and pushdown wins
//! whenever its keys remove anything; otherwise concurrency wins where a side would leave a
//! core idle. For two sides that do not spread (an instant query), the break-even share is
//! `1 - n_one / n_many` (for `n_one <= n_many`): a fixed "the one side selects at least half"
//! holds only for a many side twice the one side's size.

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
    /// True if evaluating both sides at once is estimated cheaper than pushing the keys, on
    /// `cores` threads that a side of at least `spread_min_series` series spreads its work over
    /// (`None`: no side spreads, as in an instant query), where handing a side to another
    /// thread costs as much as `handoff_series` series of work (see the module doc for the
    /// model).
    pub(crate) fn concurrent_is_cheaper(
        &self,
        cores: usize,
        spread_min_series: Option<usize>,
        handoff_series: usize,
    ) -> bool {
        if cores < 2 {
            return false;
        }
        let cores = cores as f64;
        let time = |n_series: f64| {
            if spread_min_series.is_some_and(|min| n_series >= min as f64) {
                n_series / cores
            } else {
                n_series
            }
        };
        let n_one = self.n_one as f64;
        let n_many = self.n_many as f64;
        let pushdown = time(n_one) + time(self.share * n_many);
        let concurrent = ((n_one + n_many) / cores)
            .max(time(n_one))
            .max(time(n_many))
            + handoff_series as f64;
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
    fn concurrency_only_where_a_side_would_leave_cores_idle() {
        let cheaper = |e: JoinEstimate| e.concurrent_is_cheaper(2, Some(256), 0);
        // Both sides large enough to use both cores: any filtering makes pushdown cheaper.
        assert!(!cheaper(estimate(13_558, 11_026, 0.99)));
        assert!(!cheaper(estimate(13_558, 11_026, 1.0)));
        // An instant query: no side spreads, so the break-even share is `1 - n_one / n_many`
        // (and a one side at least as large as the many side always runs beside it).
        let instant = |e: JoinEstimate| e.concurrent_is_cheaper(2, None, 0);
        assert!(instant(estimate(13_558, 11_026, 0.99)));
        assert!(instant(estimate(3_000, 10_000, 0.8)));
        assert!(!instant(estimate(3_000, 10_000, 0.6)));
        assert!(!instant(estimate(16, 534, 0.02)));
        // Two small sides: break-even at `1 - n_one / n_many`.
        assert!(cheaper(estimate(50, 100, 0.6)));
        assert!(!cheaper(estimate(50, 100, 0.4)));
        assert!(cheaper(estimate(10, 100, 0.95)));
        assert!(!cheaper(estimate(10, 100, 0.5)));
        // A small one side before a large many side it barely filters: the one side would run
        // on one core while the other idles.
        assert!(cheaper(estimate(200, 10_000, 0.99)));
        assert!(!cheaper(estimate(200, 10_000, 0.5)));
        // A selective one side keeps the pushdown.
        assert!(!cheaper(estimate(16, 534, 0.02)));
        // A one side larger than a small many side: the many side hides behind it.
        assert!(cheaper(estimate(200, 100, 0.05)));
        // Nothing selected: pushdown empties the many side.
        assert!(!cheaper(estimate(0, 300, 0.0)));
        assert!(!cheaper(estimate(0, 0, 0.0)));
        // One core: nothing runs at the same time.
        assert!(!estimate(100, 100, 1.0).concurrent_is_cheaper(1, Some(256), 0));
        assert!(!estimate(100, 100, 1.0).concurrent_is_cheaper(1, None, 0));
    }

    #[test]
    fn a_handoff_must_pay_for_itself() {
        let instant = |e: JoinEstimate| e.concurrent_is_cheaper(2, None, 256);
        // Two tiny sides (the seed's dashboard variable `on`): sequential.
        assert!(!instant(estimate(10, 10, 1.0)));
        assert!(!instant(estimate(200, 100, 0.05)));
        // Concurrency saves less than a handoff: pushdown 200 + 9,900, concurrent 10,000 + 256.
        assert!(!instant(estimate(200, 10_000, 0.99)));
        // Large sides still run at once: pushdown 3,000 + 8,000 against 10,000 + 256.
        assert!(instant(estimate(3_000, 10_000, 0.8)));
        assert!(instant(estimate(13_558, 11_026, 0.99)));
        // The handoff is what tips it: 600 + 540 against 600 + 256 and 600 + 600.
        assert!(instant(estimate(600, 600, 0.9)));
        assert!(!estimate(600, 600, 0.9).concurrent_is_cheaper(2, None, 600));
    }
}
