//! The execution plan: every choice of *how* to evaluate a node that follows from the query and
//! the engine options alone, made in one pass over the tree before evaluation starts.
//!
//! The plan decides: which nodes are step invariant (evaluated once and broadcast on a grid of
//! more than one step), each join's strategy (both sides at once on two threads, join keys
//! pushed into the "many" side, or plain), which set operations may skip signatures by label
//! count, which range functions are fused with their selection, which may leave `__name__` to
//! a consumer that never reads it or drop it in place, which `label_replace` calls take the
//! copy form without a regex, and which selectors may be answered from value runs. What
//! depends on the data stays with the evaluator and is reported as it happens (a pushdown
//! traded for concurrent sides on storage's estimate, `crate::join_cost`; the key values
//! pushed or a pushdown declined, the runs found, a name kept or dropped because the series
//! share one name, `info()`'s fallback). Each decision is one function below; a node the plan
//! has not seen (a subtree the evaluator builds while running, such as pushdown's rewritten
//! side) is decided by the same function when it is reached, so the two cannot disagree.
//!
//! `--explain` prints each evaluated node's planned decisions (`plan: ...`) before what
//! happened at run time. Why each shortcut keeps the answer is stated where it is taken
//! (`Rule:` comments in the evaluator, `crate::pushdown`).

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;

use promlite_model::METRIC_NAME;
use promlite_promql::ast::{Aggregate, AggregateOp, Binary, Call, Expr, VectorSelector};
use promlite_promql::FunctionKind;

use crate::engine::EngineOptions;
use crate::evaluator::unparen;
use crate::pushdown::{self, CopyKind};

/// How a binary operation evaluates its operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinPlan {
    /// Left, then right.
    Sequential,
    /// Both at once on two threads, with the sequential outcome (`Evaluator::eval_pair`).
    Concurrent,
    /// The "one" side first, its join keys pushed into the "many" side where they fit
    /// (`pushdown::eval_binary_pushdown`, which may still decline on the data).
    Pushdown,
}

/// The options the decisions read.
#[derive(Debug, Clone, Copy)]
struct Flags {
    fast_path: bool,
    parallel: bool,
    delayed_name_removal: bool,
    /// The `kube_pod_workload` extension is on (`crate::workload`).
    kube_pod_workload: bool,
}

/// The decisions for one query tree, by node address. `'e` ties the plan to the tree it was
/// made for: the tree stays borrowed, so no node moves and no other node takes an address.
#[derive(Debug)]
pub(crate) struct Plan<'e> {
    flags: Flags,
    /// Step-invariant nodes (`&Expr`).
    step_invariant: HashSet<usize>,
    /// Joins not evaluated sequentially (`&Binary`).
    joins: HashMap<usize, JoinPlan>,
    /// Set operations that give no signature to series whose label count the other side
    /// lacks (`&Binary`).
    set_op_counts: HashSet<usize>,
    /// Vector/vector arithmetic and comparisons that may join series by series over a grid
    /// of several steps (`&Binary`, `crate::binary`).
    series_major: HashSet<usize>,
    /// Range calls fused with their selection (`&Call`).
    fused: HashSet<usize>,
    /// Range calls whose output may keep `__name__` for a consumer that never reads it
    /// (`&Call`).
    names_to_consumer: HashSet<usize>,
    /// Range calls that may drop `__name__` in place when every series has the same one
    /// (`&Call`).
    drop_name_in_place: HashSet<usize>,
    /// `label_replace` calls in the copy form (`&Call`).
    label_copy: HashMap<usize, CopyKind>,
    /// Aggregations `by (...)` whose argument is a copy-form `label_replace` they read through
    /// (`&Aggregate`).
    grouping_reads_copy: HashSet<usize>,
    /// Whether value runs may answer instant selectors.
    value_runs: bool,
    /// Tests only: answer from the tables alone, never deciding afresh.
    tables_only: bool,
    tree: PhantomData<&'e Expr>,
}

fn addr<T>(node: &T) -> usize {
    std::ptr::from_ref(node) as usize
}

impl<'e> Plan<'e> {
    /// Plans every node of `expr`.
    pub(crate) fn new(expr: &'e Expr, opts: &EngineOptions) -> Plan<'e> {
        let flags = Flags {
            fast_path: opts.fast_path,
            parallel: opts.parallel,
            delayed_name_removal: opts.delayed_name_removal,
            kube_pod_workload: opts.kube_pod_workload,
        };
        let mut plan = Plan {
            flags,
            step_invariant: HashSet::new(),
            joins: HashMap::new(),
            set_op_counts: HashSet::new(),
            series_major: HashSet::new(),
            fused: HashSet::new(),
            names_to_consumer: HashSet::new(),
            drop_name_in_place: HashSet::new(),
            label_copy: HashMap::new(),
            grouping_reads_copy: HashSet::new(),
            value_runs: flags.fast_path,
            tables_only: false,
            tree: PhantomData,
        };
        expr.walk(&mut |node| {
            if decide_step_invariant(node) {
                plan.step_invariant.insert(addr(node));
            }
            match node {
                Expr::Binary(b) => {
                    let join = decide_join(b, flags);
                    if join != JoinPlan::Sequential {
                        plan.joins.insert(addr(b), join);
                    }
                    if decide_set_op_counts(b, flags) {
                        plan.set_op_counts.insert(addr(b));
                    }
                    if decide_series_major(b, flags) {
                        plan.series_major.insert(addr(b));
                    }
                }
                Expr::Aggregate(a) if decide_grouping_reads_copy(a, flags) => {
                    plan.grouping_reads_copy.insert(addr(a));
                }
                Expr::Call(c) => {
                    if decide_fused(c) {
                        plan.fused.insert(addr(c));
                    }
                    if decide_names_to_consumer(c, flags) {
                        plan.names_to_consumer.insert(addr(c));
                    }
                    if decide_drop_name_in_place(c, flags) {
                        plan.drop_name_in_place.insert(addr(c));
                    }
                    if let Some(kind) = decide_label_copy(c, flags) {
                        plan.label_copy.insert(addr(c), kind);
                    }
                }
                _ => {}
            }
            true
        });
        plan
    }

    /// Whether a node missing from the tables (one built during evaluation) is decided now.
    fn fresh(&self) -> bool {
        !self.tables_only
    }

    /// Is `expr` the same at every step?
    pub(crate) fn step_invariant(&self, expr: &Expr) -> bool {
        self.step_invariant.contains(&addr(expr)) || (self.fresh() && decide_step_invariant(expr))
    }

    /// The strategy of the binary operation `b`.
    pub(crate) fn join(&self, b: &Binary) -> JoinPlan {
        match self.joins.get(&addr(b)) {
            Some(join) => *join,
            None if self.fresh() => decide_join(b, self.flags),
            None => JoinPlan::Sequential,
        }
    }

    /// May the set operation `b` skip signatures by label count?
    pub(crate) fn set_op_counts(&self, b: &Binary) -> bool {
        self.set_op_counts.contains(&addr(b))
            || (self.fresh() && decide_set_op_counts(b, self.flags))
    }

    /// May the vector/vector operation `b` join series by series (`crate::binary`)?
    pub(crate) fn series_major(&self, b: &Binary) -> bool {
        self.series_major.contains(&addr(b)) || (self.fresh() && decide_series_major(b, self.flags))
    }

    /// Is the range call `c` fused with its selection?
    pub(crate) fn fused(&self, c: &Call) -> bool {
        self.fused.contains(&addr(c)) || (self.fresh() && decide_fused(c))
    }

    /// May the range call `c` leave `__name__` to a consumer that never reads it?
    pub(crate) fn names_to_consumer(&self, c: &Call) -> bool {
        self.names_to_consumer.contains(&addr(c))
            || (self.fresh() && decide_names_to_consumer(c, self.flags))
    }

    /// May the range call `c` drop `__name__` in place (when its series share one name)?
    pub(crate) fn drop_name_in_place(&self, c: &Call) -> bool {
        self.drop_name_in_place.contains(&addr(c))
            || (self.fresh() && decide_drop_name_in_place(c, self.flags))
    }

    /// The copy form of the `label_replace` call `c`, if it takes it.
    pub(crate) fn label_copy(&self, c: &Call) -> Option<CopyKind> {
        match self.label_copy.get(&addr(c)) {
            Some(kind) => Some(*kind),
            None if self.fresh() => decide_label_copy(c, self.flags),
            None => None,
        }
    }

    /// Does the aggregation `a` group its copy-form `label_replace` argument's input through
    /// the copy instead of building the copied label sets (`crate::aggregate`)?
    pub(crate) fn grouping_reads_copy(&self, a: &Aggregate) -> bool {
        self.grouping_reads_copy.contains(&addr(a))
            || (self.fresh() && decide_grouping_reads_copy(a, self.flags))
    }

    /// May value runs answer the instant selector `vs`?
    pub(crate) fn value_runs(&self, vs: &VectorSelector) -> bool {
        self.value_runs && !self.kube_pod_workload(vs)
    }

    /// True if `vs` is answered by the `kube_pod_workload` extension (`crate::workload`): the
    /// extension is on and the selector names it.
    pub(crate) fn kube_pod_workload(&self, vs: &VectorSelector) -> bool {
        self.flags.kube_pod_workload && crate::workload::is_workload_selector(vs)
    }

    /// The planned decisions on `expr`, as `--explain` prints them.
    pub(crate) fn describe(&self, expr: &Expr) -> Vec<String> {
        let mut out = Vec::new();
        if self.step_invariant(expr) {
            out.push("plan: step invariant (evaluated once on a grid of several steps)".into());
        }
        match expr {
            Expr::Binary(b) => {
                match self.join(b) {
                    JoinPlan::Sequential => {}
                    JoinPlan::Concurrent => out.push(
                        "plan: join sides evaluated concurrently (the one side's keys would filter little)"
                            .into(),
                    ),
                    JoinPlan::Pushdown => out.push(
                        "plan: join keys pushed from the one side into the many side where the data allows"
                            .into(),
                    ),
                }
                if self.set_op_counts(b) {
                    out.push(
                        "plan: set operation: series whose label count the other side lacks get no signature"
                            .into(),
                    );
                }
                if self.series_major(b) {
                    out.push(
                        "plan: vector matching walks series by series over several steps if no match can fail"
                            .into(),
                    );
                }
            }
            Expr::Call(c) => {
                if self.fused(c) {
                    out.push(format!(
                        "plan: {} fused with its selection (no matrix materialised)",
                        c.name()
                    ));
                }
                if self.names_to_consumer(c) {
                    out.push(
                        "plan: __name__ may be left to a consuming aggregation that never reads it"
                            .into(),
                    );
                }
                if self.drop_name_in_place(c) {
                    out.push("plan: __name__ dropped in place if every series has the same".into());
                }
                if self.label_copy(c).is_some() {
                    out.push(
                        "plan: label_replace copy form: source value reused, no regex compiled"
                            .into(),
                    );
                }
            }
            Expr::Aggregate(a) if self.grouping_reads_copy(a) => out.push(
                "plan: groups read through the label_replace copy (its label sets not built) if no series has its destination"
                    .into(),
            ),
            Expr::VectorSelector(vs) if self.kube_pod_workload(vs) => out.push(
                "plan: kube_pod_workload extension: evaluated as the kubernetes-mixin pod-owner resolution, matchers applied to its result"
                    .into(),
            ),
            Expr::VectorSelector(vs) if self.value_runs(vs) => {
                out.push("plan: value runs answer this selector if storage has them".into());
            }
            _ => {}
        }
        out
    }
}

/// Node kinds Prometheus wraps in a step-invariant node when their value cannot change between
/// steps (literals need no wrapping, range arguments are never wrapped).
fn wraps_step_invariant(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::VectorSelector(_)
            | Expr::Call(_)
            | Expr::Binary(_)
            | Expr::Aggregate(_)
            | Expr::Unary(..)
            | Expr::Paren(_)
    )
}

/// A node evaluated once and broadcast when its grid has several steps.
fn decide_step_invariant(expr: &Expr) -> bool {
    wraps_step_invariant(expr) && is_step_invariant(expr)
}

/// True if `expr` has the same value at every evaluation step (Prometheus's preprocessing rules:
/// every selector pinned with `@`, no time-dependent function).
pub(crate) fn is_step_invariant(expr: &Expr) -> bool {
    match expr {
        Expr::Number(_) | Expr::String(_) | Expr::ByteString(_) => true,
        Expr::VectorSelector(vs) => vs.at.is_some(),
        Expr::MatrixSelector(ms) => ms.selector.at.is_some(),
        Expr::Subquery(sq) => sq.at.is_some(),
        Expr::Paren(_) | Expr::Unary(..) | Expr::Binary(_) => {
            expr.children().all(is_step_invariant)
        }
        // As Prometheus's preprocessing: an aggregation's parameter is not looked at.
        Expr::Aggregate(a) => is_step_invariant(&a.expr),
        // Prometheus folds these into number literals before it looks for step-invariant
        // parts (`foldQueryContextFunctions`): their value is the query's, the same at every
        // step, though they are `@`-unsafe (an `@` does not change a query's bounds).
        Expr::Call(c) if c.func.kind == FunctionKind::QueryContext => true,
        Expr::Call(c) if !c.func.at_modifier_unsafe => c.args.iter().all(is_step_invariant),
        // `timestamp()` of `@`-pinned selectors reads fixed samples (Prometheus's special case).
        Expr::Call(c) => {
            c.name() == "timestamp"
                && !c.args.is_empty()
                && c.args
                    .iter()
                    .all(|a| matches!(unparen(a), Expr::VectorSelector(vs) if vs.at.is_some()))
        }
    }
}

fn decide_join(b: &Binary, flags: Flags) -> JoinPlan {
    if !flags.fast_path {
        JoinPlan::Sequential
    } else if flags.parallel && pushdown::sides_worth_concurrency(b) {
        JoinPlan::Concurrent
    } else if pushdown::keys_can_be_pushed(b) {
        JoinPlan::Pushdown
    } else {
        JoinPlan::Sequential
    }
}

/// Under the default matching (or `ignoring()` with no labels) a set-operation series matches
/// only a series with as many labels besides `__name__`.
fn decide_set_op_counts(b: &Binary, flags: Flags) -> bool {
    let plain = match &b.matching.labels {
        Some(m) => !m.on && m.names.is_empty(),
        None => true,
    };
    flags.fast_path && b.op.is_set() && plain
}

/// Arithmetic and comparisons between two vectors (the set operators have their own walk).
/// Whether both sides are vectors and the grid has several steps is known only at run time.
fn decide_series_major(b: &Binary, flags: Flags) -> bool {
    flags.fast_path && !b.op.is_set()
}

/// The range-vector argument of a range call, parentheses removed.
fn range_arg(c: &Call) -> Option<&Expr> {
    if c.func.kind != FunctionKind::Range {
        return None;
    }
    c.args
        .iter()
        .map(unparen)
        .find(|a| matches!(a, Expr::MatrixSelector(_) | Expr::Subquery(_)))
}

/// A range function over a range selector. `quantile_over_time` warns about its parameter only
/// when there is data, which the fused path does not know up front.
fn decide_fused(c: &Call) -> bool {
    c.name() != "quantile_over_time" && matches!(range_arg(c), Some(Expr::MatrixSelector(_)))
}

fn decide_names_to_consumer(c: &Call, flags: Flags) -> bool {
    flags.fast_path
        && !flags.delayed_name_removal
        && c.func.kind == FunctionKind::Range
        && c.name() != "absent_over_time"
}

fn decide_drop_name_in_place(c: &Call, flags: Flags) -> bool {
    flags.fast_path
        && !flags.delayed_name_removal
        && c.name() != "absent_over_time"
        && matches!(range_arg(c), Some(Expr::MatrixSelector(_)))
}

/// `op by (names) (label_replace(_, dst, "$1", src, "(.*)" | "(.+)"))` where `op`'s output
/// labels are its group's `names` (not `topk`-like, not `count_values`) and neither `names` nor
/// `dst` is `__name__`: the output depends on the copy's label sets only through the grouping
/// labels' values, which the copy gives directly (checked at run time: no input series has
/// `dst`, else the `label_replace` runs).
fn decide_grouping_reads_copy(a: &Aggregate, flags: Flags) -> bool {
    if !flags.fast_path
        || a.without
        || a.op.selects_series()
        || a.op == AggregateOp::CountValues
        || a.grouping.iter().any(|g| g == METRIC_NAME)
    {
        return false;
    }
    let Expr::Call(c) = &*a.expr else {
        return false;
    };
    let dst = c.args.get(1).map(unparen).and_then(Expr::string_bytes);
    decide_label_copy(c, flags).is_some() && dst != Some(METRIC_NAME.as_bytes())
}

/// `label_replace(_, dst, "$1", src, "(.*)" | "(.+)")` with literal arguments, read as
/// `label_replace` reads them (the replacement lossily, the regex as UTF-8).
fn decide_label_copy(c: &Call, flags: Flags) -> Option<CopyKind> {
    if !flags.fast_path || c.name() != "label_replace" {
        return None;
    }
    let literal = |i: usize| c.args.get(i).map(unparen).and_then(Expr::string_bytes);
    let replacement = String::from_utf8_lossy(literal(2)?);
    let regex = std::str::from_utf8(literal(4)?).ok()?;
    pushdown::copy_kind(&replacement, regex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(fast_path: bool) -> EngineOptions {
        EngineOptions {
            fast_path,
            parallel: true,
            delayed_name_removal: false,
            ..Default::default()
        }
    }

    /// Every node's planned decisions, in walk order, skipping nodes with none.
    fn planned(query: &str, fast_path: bool) -> Vec<String> {
        let expr = promlite_promql::parse(query).expect("parses");
        let options = opts(fast_path);
        let plan = Plan::new(&expr, &options);
        let mut out = Vec::new();
        expr.walk(&mut |node| {
            for d in plan.describe(node) {
                out.push(format!("{node} => {}", d.trim_start_matches("plan: ")));
            }
            true
        });
        out
    }

    #[test]
    fn decisions_follow_the_query_shape() {
        let p = planned(
            r#"label_replace(kube_pod_owner, "rs", "$1", "owner_name", "(.*)") * on(pod) group_left() rate(c_total{pod="p"}[1m])"#,
            true,
        );
        assert!(
            p.iter().any(|d| d.ends_with(
                "join keys pushed from the one side into the many side where the data allows"
            )),
            "{p:#?}"
        );
        assert!(
            p.iter()
                .any(|d| d.starts_with("label_replace(") && d.contains("copy form")),
            "{p:#?}"
        );
        assert!(
            p.iter()
                .any(|d| d.starts_with("rate(") && d.contains("fused")),
            "{p:#?}"
        );
        // A one side selecting everything of its metric: concurrent sides instead.
        let p = planned(
            "kube_pod_info * on(pod) group_left() rate(c_total[1m])",
            true,
        );
        assert!(p.iter().any(|d| d.contains("concurrently")), "{p:#?}");
        let p = planned("quantile_over_time(0.5, m[1m]) or m @ 10", true);
        assert!(!p.iter().any(|d| d.contains("fused")), "{p:#?}");
        assert!(
            p.iter()
                .any(|d| d.starts_with("m @ 10.000 => step invariant")),
            "{p:#?}"
        );
        assert!(p.iter().any(|d| d.contains("set operation")), "{p:#?}");
        // Grouping through a copy: only `by` aggregations with group-only output labels, not
        // `without`, `topk`, `count_values`, `__name__` in the grouping or as destination.
        let reads = |q: &str| {
            planned(q, true)
                .iter()
                .any(|d| d.contains("groups read through the label_replace copy"))
        };
        assert!(reads(
            r#"max by (w, pod) (label_replace(m, "w", "$1", "o", "(.*)"))"#
        ));
        assert!(reads(r#"sum(label_replace(m, "w", "$1", "o", "(.+)"))"#));
        assert!(!reads(
            r#"max without (w) (label_replace(m, "w", "$1", "o", "(.*)"))"#
        ));
        assert!(!reads(
            r#"topk by (w) (1, label_replace(m, "w", "$1", "o", "(.*)"))"#
        ));
        assert!(!reads(
            r#"count_values by (w) ("v", label_replace(m, "w", "$1", "o", "(.*)"))"#
        ));
        assert!(!reads(
            r#"max by (__name__) (label_replace(m, "w", "$1", "o", "(.*)"))"#
        ));
        assert!(!reads(
            r#"max by (w) (label_replace(m, "__name__", "$1", "o", "(.*)"))"#
        ));
        assert!(!reads(
            r#"max by (w) (label_replace(m, "w", "x$1", "o", "(.*)"))"#
        ));
        assert!(!reads(
            r#"max by (w) ((label_replace(m, "w", "$1", "o", "(.*)")))"#
        ));
        assert!(!planned(
            r#"max by (w) (label_replace(m, "w", "$1", "o", "(.*)"))"#,
            false
        )
        .iter()
        .any(|d| d.contains("groups read through")));
        // Off the fast path only the fused range functions and step invariance remain: they
        // are how the evaluator works, not shortcuts.
        let p = planned(
            r#"label_replace(a, "d", "$1", "s", "(.*)") * on(pod) group_left() rate(c_total[1m]) or b"#,
            false,
        );
        assert!(
            p.iter()
                .all(|d| d.contains("fused") || d.contains("step invariant")),
            "{p:#?}"
        );
    }

    /// The decisions made before evaluation equal those made on the fly for a node the plan has
    /// not seen (a subtree built while evaluating).
    #[test]
    fn planned_and_on_the_fly_decisions_agree() {
        let queries = [
            r#"sum by (ns) (rate(a_total[5m])) / on(ns) group_left() count by (ns) (b)"#,
            r#"label_replace(x, "d", "${1}", "s", "(.+)") and on(d) y"#,
            r#"max by (d) (label_replace(x, "d", "$1", "s", "(.*)"))"#,
            "max_over_time((m @ 100 + time())[10m:1m]) unless ignoring() n",
            "timestamp(m @ 5) + start() - vector(step())",
            r#"histogram_quantile(0.9, sum by (le) (rate(h_bucket[1m]))) or absent_over_time(z[1m])"#,
        ];
        for fast_path in [true, false] {
            let options = opts(fast_path);
            for q in queries {
                let expr = promlite_promql::parse(q).expect("parses");
                let copy = expr.clone();
                let mut plan = Plan::new(&expr, &options);
                // `copy`'s nodes are not in the plan: every answer comes from the decide_*
                // functions; `expr`'s come from the tables alone.
                let fresh: Vec<Vec<String>> = {
                    let mut out = Vec::new();
                    copy.walk(&mut |n| {
                        out.push(plan.describe(n));
                        true
                    });
                    out
                };
                plan.tables_only = true;
                let mut planned = Vec::new();
                expr.walk(&mut |n| {
                    planned.push(plan.describe(n));
                    true
                });
                assert_eq!(planned, fresh, "{q}");
                if fast_path {
                    assert!(
                        planned.iter().any(|d| !d.is_empty()),
                        "{q}: nothing planned"
                    );
                }
            }
        }
    }
}
