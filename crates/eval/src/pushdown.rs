//! Workload-join fast path: join keys pushed across a vector match.
//!
//! For `one * on(pod, namespace) group_right(...) many`, only the series of `many` whose `pod`
//! and `namespace` occur on the `one` side can contribute to the result. The fast path
//! evaluates the cheap "one" side (kube-state-metrics metadata) first, collects the values of
//! each `on(...)` label, and rewrites the expensive "many" side so that its selectors carry
//! `label=~"v1|v2|..."` set matchers. Storage answers those from the postings index before any
//! sample is decoded.
//!
//! **Rule (ARCHITECTURE.md): a rewrite may only skip work whose result cannot change the answer
//! or the error.** The keys remove many-side series before they are evaluated, so two things must
//! hold for every construct the filter passes through:
//!
//! 1. *The answer.* The rewrite selects a superset of the many-side series that can match and
//!    keeps whole groups: a filter on label `L` passes through an aggregation only if `L` is one
//!    of its grouping labels, through a function only if the function keeps all labels but
//!    `__name__`, and through `label_replace` only where the destination label is an exact copy
//!    of its source. So every many-side row that matches a one-side row is computed from exactly
//!    the same inputs, and the join's own errors (which Prometheus raises only for matched
//!    series) are the same.
//! 2. *The error and the annotations.* Nothing the filter removes could have raised an error or
//!    an annotation: the construct must be *quiet* on the series it drops. Two removed series can
//!    collide (`vector cannot contain metrics with the same labelset`) once a function drops
//!    their metric names or `label_replace` overwrites the label that told them apart; they
//!    agree on every output label then, join keys included, so the filter removes both and the
//!    error with them (issue 12, finding 1). Hence a name-dropping function is passed only over
//!    an argument whose series provably share one metric name (or have none, see
//!    [`one_metric_name`]), `label_replace` only when its input provably lacks the destination
//!    label ([`may_have_label`]), `rate`/`increase` only over a literal counter name (their
//!    "might not be a counter" info names the series' metric), `quantile_over_time` only with a
//!    literal quantile in `[0, 1]`, and aggregations only without a parameter. (Declining the
//!    parameterised ones is conservative, not required: as in Prometheus 3.x, `quantile`'s and
//!    `limit_ratio`'s range warnings and the NaN/overflow errors of `topk`-like parameters are
//!    raised from the parameter alone, whatever the groups hold, so a filter could not remove
//!    them; the rewrite is kept to the aggregations that have no parameter to reason about.)
//!
//! The one side is evaluated in full. Its duplicate-signature error is raised by Prometheus only
//! at steps where the many side is not empty, which depends on the removed series: pushdown
//! stands aside when the one side has two series with one signature at any step
//! ([`has_duplicate_signatures`]). Set operators other than `and` are never rewritten. When the
//! one side is the right operand it is evaluated first here, so its errors wait for the left
//! side's and its annotations are moved after the left side's, as sequential evaluation orders
//! them.
//!
//! Resource limits (`max_samples`, the timeout) and storage read errors are outside the rule:
//! they concern the work actually done, and the fast path does less (as Prometheus's own
//! selection does relative to a full scan).

use std::collections::BTreeSet;

use promlite_model::{MatchOp, Matcher, METRIC_NAME};
use promlite_promql::ast::{
    Aggregate, AggregateOp, Binary, BinaryOp, Call, Cardinality, Expr, ValueType,
};

use crate::error::Result;
use crate::evaluator::{unparen, Evaluator};
use crate::series::{Grid, Series, SigTable, Val};

/// Functions whose output series keep every input label except `__name__`, with the index of
/// the argument that carries the series.
const LABEL_PRESERVING: &[(&str, usize)] = &[
    ("rate", 0),
    ("irate", 0),
    ("increase", 0),
    ("delta", 0),
    ("idelta", 0),
    ("deriv", 0),
    ("resets", 0),
    ("changes", 0),
    ("predict_linear", 0),
    ("avg_over_time", 0),
    ("min_over_time", 0),
    ("max_over_time", 0),
    ("sum_over_time", 0),
    ("count_over_time", 0),
    ("last_over_time", 0),
    ("present_over_time", 0),
    ("stddev_over_time", 0),
    ("stdvar_over_time", 0),
    ("mad_over_time", 0),
    ("quantile_over_time", 1),
    ("abs", 0),
    ("ceil", 0),
    ("floor", 0),
    ("exp", 0),
    ("ln", 0),
    ("log2", 0),
    ("log10", 0),
    ("sqrt", 0),
    ("sgn", 0),
    ("round", 0),
    ("clamp", 0),
    ("clamp_min", 0),
    ("clamp_max", 0),
];

/// The index of the argument carrying the series of a function that keeps every input label
/// but `__name__`, if `name` is one.
pub(crate) fn label_preserving_arg(name: &str) -> Option<usize> {
    LABEL_PRESERVING
        .iter()
        .find(|(f, _)| *f == name)
        .map(|(_, idx)| *idx)
}

/// The two shapes of `label_replace` that copy one label into another without changing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyKind {
    /// Regex `(.*)`: always matches; an empty source deletes the destination.
    Any,
    /// Regex `(.+)`: matches only a non-empty source; otherwise the series is unchanged.
    NonEmpty,
}

/// Recognises `label_replace(_, dst, "$1", src, "(.*)" | "(.+)")`, the rename/copy form the
/// workload queries use. Returns `None` for every other replacement or regex.
pub(crate) fn copy_kind(replacement: &str, regex: &str) -> Option<CopyKind> {
    if replacement != "$1" && replacement != "${1}" {
        return None;
    }
    match regex {
        "(.*)" => Some(CopyKind::Any),
        "(.+)" => Some(CopyKind::NonEmpty),
        _ => None,
    }
}

fn string_arg(c: &Call, i: usize) -> Option<&str> {
    match c.args.get(i).map(unparen) {
        Some(Expr::String(s)) => Some(s),
        _ => None,
    }
}

/// Conservative: can series produced by `expr` carry label `label`? `false` only when it is
/// certain they cannot (an aggregation `by` a list without it, or an operator that builds its
/// output labels from such an aggregation).
fn may_have_label(expr: &Expr, label: &str) -> bool {
    match expr {
        Expr::Paren(e) => may_have_label(e, label),
        Expr::Aggregate(a) if !a.without && !a.op.selects_series() => {
            a.grouping.iter().any(|g| g == label)
                || (a.op == AggregateOp::CountValues
                    && a.param
                        .as_deref()
                        .is_some_and(|p| matches!(unparen(p), Expr::String(s) if s == label)))
        }
        Expr::Call(c) => {
            if c.name() == "label_replace" && string_arg(c, 1) == Some(label) {
                return true;
            }
            if c.name() == "label_replace" {
                return c.args.first().is_none_or(|a| may_have_label(a, label));
            }
            match LABEL_PRESERVING.iter().find(|(f, _)| *f == c.name()) {
                Some((_, i)) => c.args.get(*i).is_none_or(|a| may_have_label(a, label)),
                None => true,
            }
        }
        _ => true,
    }
}

/// Rewrites `expr` so that it selects only series whose output label `label` takes a value in
/// `values` (plus possibly others: the filter may widen, never narrow). `""` in `values` stands
/// for "label absent". Returns `None` when the filter cannot be pushed through `expr`.
pub(crate) fn push_filter(expr: &Expr, label: &str, values: &BTreeSet<String>) -> Option<Expr> {
    if label == METRIC_NAME {
        // Name handling (dropping, delayed removal) makes `__name__` filters unsafe to move.
        return None;
    }
    match expr {
        Expr::Paren(e) => Some(Expr::Paren(Box::new(push_filter(e, label, values)?))),
        Expr::VectorSelector(vs) => {
            let mut vs = vs.clone();
            vs.matchers
                .push(Matcher::regex_set(label, values.iter().cloned()));
            Some(Expr::VectorSelector(vs))
        }
        Expr::MatrixSelector(ms) => {
            let mut ms = ms.clone();
            ms.selector
                .matchers
                .push(Matcher::regex_set(label, values.iter().cloned()));
            Some(Expr::MatrixSelector(ms))
        }
        Expr::Call(c) if c.name() == "label_replace" => {
            push_through_label_replace(c, label, values)
        }
        Expr::Call(c) => {
            let (_, idx) = LABEL_PRESERVING.iter().find(|(f, _)| *f == c.name())?;
            // Rule part 2: the function drops `__name__`, so the series it would see must not be
            // able to collide without it, nor owe an annotation the filter could remove.
            if !call_is_quiet(c, *idx) {
                return None;
            }
            let mut c = c.clone();
            let arg = c.args.get_mut(*idx)?;
            *arg = push_filter(arg, label, values)?;
            Some(Expr::Call(c))
        }
        Expr::Aggregate(a) => push_through_aggregate(a, label, values),
        Expr::Binary(b) if b.op == BinaryOp::And => {
            // `x and y` returns series of `x` unchanged: filtering `x` filters the result.
            let mut b = b.clone();
            b.lhs = Box::new(push_filter(&b.lhs, label, values)?);
            Some(Expr::Binary(b))
        }
        _ => None,
    }
}

/// Aggregations that take a parameter (`topk(k, ...)`, `quantile(q, ...)`, ...).
fn aggregate_has_param(op: AggregateOp) -> bool {
    matches!(
        op,
        AggregateOp::Topk
            | AggregateOp::Bottomk
            | AggregateOp::Quantile
            | AggregateOp::CountValues
            | AggregateOp::Limitk
            | AggregateOp::LimitRatio
    )
}

/// Suffixes that spare `rate` and `increase` their "might not be a counter" info.
const COUNTER_SUFFIXES: [&str; 4] = ["_total", "_sum", "_count", "_bucket"];

/// True if the label-preserving call `c` (series argument at `idx`) raises no error and no
/// annotation on any series of its argument, whatever data they hold: its argument's series
/// share one metric name or have none (dropping it keeps them distinct), `rate`/`increase` read
/// a literal counter name, and `quantile_over_time`'s quantile is a literal in `[0, 1]`.
fn call_is_quiet(c: &Call, idx: usize) -> bool {
    let Some(series_arg) = c.args.get(idx) else {
        return false;
    };
    if !one_metric_name(series_arg) {
        return false;
    }
    match c.name() {
        "rate" | "increase" => literal_metric_name(series_arg)
            .is_some_and(|n| COUNTER_SUFFIXES.iter().any(|s| n.ends_with(s))),
        "quantile_over_time" => c
            .args
            .first()
            .map(unparen)
            .is_some_and(|q| matches!(q, Expr::Number(q) if (0.0..=1.0).contains(q))),
        _ => true,
    }
}

/// The metric name a selector (vector or range) fixes with `__name__="..."`, if any.
fn literal_metric_name(expr: &Expr) -> Option<&str> {
    let matchers = match unparen(expr) {
        Expr::VectorSelector(vs) => &vs.matchers,
        Expr::MatrixSelector(ms) => &ms.selector.matchers,
        _ => return None,
    };
    matchers
        .iter()
        .find(|m| m.name == METRIC_NAME && m.op == MatchOp::Equal && !m.value.is_empty())
        .map(|m| m.value.as_str())
}

/// Conservative: do all series `expr` produces carry the same `__name__`, or none? Then dropping
/// the name cannot make two of them equal. `false` whenever unsure.
fn one_metric_name(expr: &Expr) -> bool {
    match expr {
        Expr::Paren(e) => one_metric_name(e),
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) => literal_metric_name(expr).is_some(),
        // `by (...)` without `__name__` and every `without (...)` drop the name; topk-like
        // aggregations pass their input's series through.
        Expr::Aggregate(a) if a.op.selects_series() => one_metric_name(&a.expr),
        Expr::Aggregate(a) => a.without || !a.grouping.iter().any(|g| g == METRIC_NAME),
        Expr::Call(c) if c.name() == "label_replace" => {
            string_arg(c, 1) != Some(METRIC_NAME) && c.args.first().is_some_and(one_metric_name)
        }
        Expr::Call(c) if c.name() == "last_over_time" || c.name() == "first_over_time" => {
            c.args.first().is_some_and(one_metric_name)
        }
        // These drop the name from every output series.
        Expr::Call(c) => LABEL_PRESERVING.iter().any(|(f, _)| *f == c.name()),
        Expr::Binary(b) if b.op == BinaryOp::And => one_metric_name(&b.lhs),
        _ => false,
    }
}

fn push_through_aggregate(a: &Aggregate, label: &str, values: &BTreeSet<String>) -> Option<Expr> {
    // Rule part 2, kept conservative: a parameter's warnings (quantile, limit_ratio) and errors
    // (a NaN or out-of-range k or ratio) come from the parameter alone (`eval_aggregate`,
    // `aggregate_k`), so the filter could not change them, but only the parameterless
    // aggregations are passed; count_values adds its own label.
    if a.param.is_some() || aggregate_has_param(a.op) {
        return None;
    }
    // The filter keeps whole groups only if every series of a group shares the label's value.
    let in_grouping = a.grouping.iter().any(|g| g == label);
    let groups_by_label = if a.without { !in_grouping } else { in_grouping };
    if !groups_by_label {
        return None;
    }
    let mut a = a.clone();
    a.expr = Box::new(push_filter(&a.expr, label, values)?);
    Some(Expr::Aggregate(a))
}

fn push_through_label_replace(c: &Call, label: &str, values: &BTreeSet<String>) -> Option<Expr> {
    let dst = string_arg(c, 1)?;
    let inner = c.args.first()?;
    // Rule part 2: when some input series may already carry `dst`, overwriting it can make two
    // series equal (an error the generic path raises even for series the filter removes). When
    // none can, each output is its input plus `dst`, so outputs are distinct like the inputs.
    if dst == METRIC_NAME || may_have_label(inner, dst) {
        return None;
    }
    let rewritten_inner = if dst != label {
        push_filter(inner, label, values)?
    } else {
        // `(.*)` and `(.+)` copy the source unchanged (an empty source leaves `dst` absent
        // either way, as the input has none), so a filter on `dst` is a filter on `src`.
        copy_kind(string_arg(c, 2)?, string_arg(c, 4)?)?;
        let src = string_arg(c, 3)?;
        if src == dst {
            return None;
        }
        push_filter(inner, src, values)?
    };
    let mut c = c.clone();
    if let Some(first) = c.args.first_mut() {
        *first = rewritten_inner;
    }
    Some(Expr::Call(c))
}

/// For a join keys can be pushed across (two vector operands, see [`one_side_is_lhs`]): whether
/// the "one" side is the left, the "one" side and the "many" side.
pub(crate) fn join_sides(b: &Binary) -> Option<(bool, &Expr, &Expr)> {
    let one_is_lhs = one_side_is_lhs(b)?;
    if b.lhs.value_type() != ValueType::Vector || b.rhs.value_type() != ValueType::Vector {
        return None;
    }
    Some(if one_is_lhs {
        (true, &*b.lhs, &*b.rhs)
    } else {
        (false, &*b.rhs, &*b.lhs)
    })
}

/// True if `b` has the shape join keys can be pushed across (the data may still make the
/// fast path stand aside, see [`eval_binary_pushdown`]).
pub(crate) fn keys_can_be_pushed(b: &Binary) -> bool {
    join_sides(b).is_some() && b.matching.labels.is_some()
}

/// Which operand is the "one" side whose keys filter the other, for a binary expression the
/// fast path can rewrite. `None` when the shape does not qualify.
fn one_side_is_lhs(b: &Binary) -> Option<bool> {
    let labels = b.matching.labels.as_ref()?;
    if !labels.on || labels.names.is_empty() {
        // `ignoring(...)` and default matching compare nearly all labels: no small key set.
        return None;
    }
    if b.op == BinaryOp::And {
        return Some(false);
    }
    if b.op.is_set() {
        return None;
    }
    match b.cardinality() {
        Cardinality::OneToMany => Some(true),
        Cardinality::ManyToOne | Cardinality::OneToOne => Some(false),
        Cardinality::ManyToMany => None,
    }
}

/// True if `b` is a join the fast path would push keys across, but whose keys would filter
/// little: its "one" side selects every series of its metrics, or every series within the
/// restrictions every selector of the "many" side already carries (`namespace="x"` on both
/// sides). Evaluating the two sides at the same time, on two threads, then beats evaluating them
/// one after the other. Only speed depends on this estimate: the answers are the generic path's
/// either way.
pub(crate) fn sides_worth_concurrency(b: &Binary) -> bool {
    let Some((_, one, many)) = join_sides(b) else {
        return false;
    };
    let mut shared: Option<Vec<Matcher>> = None;
    common_restrictions(many, &mut shared);
    selects_everything(one, shared.as_deref().unwrap_or(&[]))
}

/// Narrows `acc` to the label matchers (other than on `__name__`) that every selector under
/// `expr` carries; `None` until the first selector is seen.
pub(crate) fn common_restrictions(expr: &Expr, acc: &mut Option<Vec<Matcher>>) {
    expr.walk(&mut |e| match e {
        Expr::VectorSelector(vs) => {
            narrow_restrictions(acc, &vs.matchers);
            false
        }
        Expr::MatrixSelector(ms) => {
            narrow_restrictions(acc, &ms.selector.matchers);
            false
        }
        // An aggregation's parameter produces none of the series.
        Expr::Aggregate(a) => {
            common_restrictions(&a.expr, acc);
            false
        }
        _ => true,
    });
}

/// Keeps in `acc` only the matchers `matchers` also has (all but `__name__`'s at the first).
fn narrow_restrictions(acc: &mut Option<Vec<Matcher>>, matchers: &[Matcher]) {
    match acc {
        None => {
            *acc = Some(
                matchers
                    .iter()
                    .filter(|m| m.name != METRIC_NAME)
                    .cloned()
                    .collect(),
            )
        }
        Some(kept) => kept.retain(|k| matchers.contains(k)),
    }
}

/// True if `expr` passes on every series its metrics have within `allowed`: its selectors match
/// on `__name__` and `allowed` matchers only, and between them and the result there are only
/// aggregations that keep every group, label-preserving functions, `label_replace`, and `or`
/// with one such arm. A static, conservative estimate (false whenever unsure).
fn selects_everything(expr: &Expr, allowed: &[Matcher]) -> bool {
    let unrestricted = |ms: &[Matcher]| {
        ms.iter()
            .all(|m| m.name == METRIC_NAME || allowed.contains(m))
    };
    match expr {
        Expr::Paren(e) => selects_everything(e, allowed),
        Expr::VectorSelector(vs) => unrestricted(&vs.matchers),
        Expr::Aggregate(a) => !a.op.selects_series() && selects_everything(&a.expr, allowed),
        Expr::Call(c) if c.name() == "label_replace" => c
            .args
            .first()
            .is_some_and(|a| selects_everything(a, allowed)),
        Expr::Call(c) => LABEL_PRESERVING
            .iter()
            .find(|(f, _)| *f == c.name())
            .and_then(|(_, i)| c.args.get(*i))
            .is_some_and(|arg| match arg {
                Expr::MatrixSelector(ms) => unrestricted(&ms.selector.matchers),
                other => selects_everything(other, allowed),
            }),
        Expr::Binary(b) if b.op == BinaryOp::Or => {
            selects_everything(&b.lhs, allowed) || selects_everything(&b.rhs, allowed)
        }
        _ => false,
    }
}

/// True if two series of `side` share a join signature at some step. The generic path may then
/// owe a many-to-many error that depends on the unfiltered other side, so pushdown stands aside.
fn has_duplicate_signatures(side: &[Series], names: &[String]) -> bool {
    let mut sigs = SigTable::new(true, names);
    sigs.reserve(side.len());
    let mut seen: Vec<(usize, i64)> = Vec::new();
    for s in side {
        let ord = sigs.ordinal(&s.labels);
        seen.extend(s.points.iter().map(|p| (ord, p.t)));
    }
    seen.sort_unstable();
    seen.windows(2).any(|w| w[0] == w[1])
}

/// Evaluates `b` with join-key pushdown if its shape qualifies. `Ok(None)` means "not
/// applicable": the caller evaluates generically.
pub(crate) fn eval_binary_pushdown(
    ev: &mut Evaluator<'_>,
    b: &Binary,
    grid: &Grid,
) -> Result<Option<(Val, Val)>> {
    let Some((one_is_lhs, one_expr, many_expr)) = join_sides(b) else {
        return Ok(None);
    };
    let Some(names) = b.matching.labels.as_ref().map(|m| m.names.clone()) else {
        return Ok(None);
    };
    // Sequential evaluation collects the left side's annotations first; when the one side is
    // the right operand its annotations are set aside and appended after the many side's.
    let before = (!one_is_lhs).then(|| std::mem::take(&mut ev.annos));
    let one = match ev.eval(one_expr, grid) {
        Ok(v) => v,
        Err(e) if !one_is_lhs => {
            // The generic path evaluates the left side first: report its error if it has one.
            if let Some(before) = before {
                ev.annos = before;
            }
            ev.eval(&b.lhs, grid)?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let one_annos = before.map(|before| std::mem::replace(&mut ev.annos, before));
    let Val::Vector(one_series) = one else {
        // Not a vector after all: the caller evaluates generically (both sides again).
        return Ok(None);
    };
    let mut rewritten: Option<Expr> = None;
    if has_duplicate_signatures(&one_series, &names) {
        ev.decide(|| {
            "pushdown declined: the one side has two series with one signature at a step".into()
        });
    } else {
        let mut current = many_expr.clone();
        let mut changed = false;
        for name in &names {
            let values: BTreeSet<String> = one_series
                .iter()
                .filter(|s| !s.points.is_empty())
                .map(|s| s.labels.get(name).unwrap_or("").to_string())
                .collect();
            if let Some(next) = push_filter(&current, name, &values) {
                ev.decide(|| {
                    format!(
                        "join key {name} pushed into the {} side ({} values)",
                        if one_is_lhs { "right" } else { "left" },
                        values.len()
                    )
                });
                current = next;
                changed = true;
            } else {
                ev.decide(|| {
                    format!("join key {name} not pushed: the many side cannot take the filter without possibly changing its answer, error or annotations")
                });
            }
        }
        if changed {
            rewritten = Some(current);
        }
    }
    let many = ev.eval(rewritten.as_ref().unwrap_or(many_expr), grid)?;
    if let Some(one_annos) = one_annos {
        ev.annos.extend(one_annos);
    }
    let one = Val::Vector(one_series);
    Ok(Some(if one_is_lhs { (one, many) } else { (many, one) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Expr {
        promlite_promql::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn set(vals: &[&str]) -> BTreeSet<String> {
        vals.iter().map(|s| s.to_string()).collect()
    }

    fn pushed(q: &str, label: &str, vals: &[&str]) -> Option<String> {
        push_filter(&parse(q), label, &set(vals)).map(|e| e.to_string())
    }

    fn concurrent(q: &str) -> bool {
        match parse(q) {
            Expr::Binary(b) => sides_worth_concurrency(&b),
            other => panic!("not a binary expression: {other:?}"),
        }
    }

    #[test]
    fn concurrency_only_where_keys_would_filter_little() {
        let cpu = r#"label_replace(sum by (pod_name, namespace) (rate(cpu{namespace="kube-system"}[1m])), "pod", "$1", "pod_name", "(.+)")"#;
        let join = |one: &str, many: &str| {
            format!("{one} * on(pod, namespace) group_right(owner_name) {many}")
        };
        // Every owner row: the keys cover every pod.
        assert!(concurrent(&join(
            "max(kube_pod_owner) by (pod, namespace, owner_name)",
            "x"
        )));
        // Restricted only as the many side already is.
        assert!(concurrent(&join(
            r#"max(kube_pod_owner{namespace="kube-system"}) by (pod, namespace, owner_name)"#,
            cpu
        )));
        // `or` with one unrestricted arm.
        assert!(concurrent(&join(
            r#"(kube_pod_owner{owner_kind="ReplicaSet"} or kube_pod_owner)"#,
            "x"
        )));
        // A restriction the many side lacks: the keys filter.
        assert!(!concurrent(&join(
            r#"max(kube_pod_owner{owner_name="calico-node"}) by (pod, namespace, owner_name)"#,
            cpu
        )));
        assert!(!concurrent(&join(
            r#"max(kube_pod_owner{namespace="kube-system"}) by (pod, namespace, owner_name)"#,
            "x"
        )));
        // topk drops series; set operators and ignoring() never push keys.
        assert!(!concurrent(&join("topk(1, kube_pod_owner)", "x")));
        assert!(!concurrent("kube_pod_owner or x"));
        assert!(!concurrent("kube_pod_owner * ignoring(a) x"));
    }

    #[test]
    fn pushes_through_the_seed_per_pod_cpu_expression() {
        let q = r#"label_replace(sum(rate(container_cpu_usage_seconds_total[1m])) by (namespace, pod_name, kubernetes_io_hostname), "pod", "$1", "pod_name", "(.+)")"#;
        let out = pushed(q, "pod", &["a", "b.c"]).expect("pushable");
        // The pod filter becomes a pod_name filter on the selector; `sum by` has no `pod`
        // label, so no widening to the empty value is needed.
        assert!(out.contains(r#"pod_name=~"a|b\\.c""#), "{out}");
        let out = pushed(q, "namespace", &["ns1"]).expect("pushable");
        assert!(out.contains(r#"namespace=~"ns1""#), "{out}");
    }

    #[test]
    fn copy_over_a_possible_destination_is_not_pushed() {
        // `rate(x)` may carry `pod`: overwriting it could make two series equal, an error the
        // generic path raises even for series a filter would remove (issue 12, finding 1).
        let q = r#"label_replace(rate(x_total[1m]), "pod", "$1", "pod_name", "(.+)")"#;
        assert_eq!(pushed(q, "pod", &["a"]), None);
        assert_eq!(pushed(q, "namespace", &["a"]), None);
        let q = r#"label_replace(sum by (pod_name) (rate(x_total[1m])), "pod", "$1", "pod_name", "(.*)")"#;
        let out = pushed(q, "pod", &["a"]).expect("pushable");
        assert!(out.contains(r#"pod_name=~"a""#), "{out}");
    }

    #[test]
    fn only_quiet_functions_are_passed() {
        // Two metric names collide once `rate` drops them.
        assert_eq!(
            pushed(r#"rate({__name__=~"a_total|b_total"}[1m])"#, "pod", &["a"]),
            None
        );
        assert_eq!(pushed(r#"abs({__name__=~"a|b"})"#, "pod", &["a"]), None);
        assert_eq!(pushed(r#"rate({pod!=""}[1m])"#, "pod", &["a"]), None);
        // One name: distinct series stay distinct.
        assert!(pushed("rate(a_total[1m])", "pod", &["a"]).is_some());
        assert!(pushed("abs(rate(a_total[1m]))", "pod", &["a"]).is_some());
        assert!(pushed("abs(a)", "pod", &["a"]).is_some());
        // `rate` of a non-counter name owes an info annotation per name.
        assert_eq!(pushed("rate(a[1m])", "pod", &["a"]), None);
        assert_eq!(pushed("increase(a_seconds[1m])", "pod", &["a"]), None);
        assert!(pushed("irate(a[1m])", "pod", &["a"]).is_some());
        // quantile_over_time warns about a quantile outside [0, 1] only when there is data.
        assert_eq!(pushed("quantile_over_time(2, a[1m])", "pod", &["a"]), None);
        assert_eq!(
            pushed("quantile_over_time(scalar(b), a[1m])", "pod", &["a"]),
            None
        );
        assert!(pushed("quantile_over_time(0.5, a[1m])", "pod", &["a"]).is_some());
        // Parameterised aggregations are declined (conservatively, see push_through_aggregate).
        assert_eq!(pushed("quantile by (pod) (2, a)", "pod", &["a"]), None);
        assert_eq!(pushed("topk by (pod) (1, a)", "pod", &["a"]), None);
        assert!(pushed("sum by (pod) (a)", "pod", &["a"]).is_some());
        // Grouping by the name keeps several names for the function above.
        assert_eq!(
            pushed(
                r#"abs(sum by (__name__, pod) ({__name__=~"a|b"}))"#,
                "pod",
                &["a"]
            ),
            None
        );
        assert!(pushed(r#"abs(sum by (pod) ({__name__=~"a|b"}))"#, "pod", &["a"]).is_some());
    }

    #[test]
    fn refuses_filters_that_would_split_groups() {
        assert_eq!(pushed("sum by (namespace) (x)", "pod", &["a"]), None);
        assert_eq!(pushed("sum without (pod) (x)", "pod", &["a"]), None);
        assert!(pushed("sum without (container) (x)", "pod", &["a"]).is_some());
        assert_eq!(pushed("count_values(\"pod\", x)", "pod", &["a"]), None);
        assert_eq!(
            pushed(
                r#"label_replace(x, "pod", "p-$1", "pod_name", "(.+)")"#,
                "pod",
                &["a"]
            ),
            None
        );
        assert_eq!(pushed("x or y", "pod", &["a"]), None);
        assert_eq!(pushed("x", "__name__", &["a"]), None);
        assert_eq!(pushed("x + y", "pod", &["a"]), None);
    }

    #[test]
    fn one_side_selection_follows_cardinality() {
        let get = |q: &str| match parse(q) {
            Expr::Binary(b) => one_side_is_lhs(&b),
            _ => None,
        };
        assert_eq!(get("a * on(pod) group_right(owner) b"), Some(true));
        assert_eq!(get("a * on(pod) group_left(owner) b"), Some(false));
        assert_eq!(get("a * on(pod) b"), Some(false));
        assert_eq!(get("a and on(pod) b"), Some(false));
        assert_eq!(get("a or on(pod) b"), None);
        assert_eq!(get("a * ignoring(pod) b"), None);
        assert_eq!(get("a * b"), None);
    }

    #[test]
    fn duplicate_signatures_are_detected_per_step() {
        use promlite_model::{Labels, Sample};
        let mk = |pod: &str, owner: &str, ts: &[i64]| Series {
            labels: Labels::from_pairs([("pod", pod), ("owner", owner)]),
            drop_name: false,
            points: ts.iter().map(|&t| Sample::new(t, 1.0)).collect(),
        };
        let names = vec!["pod".to_string()];
        assert!(!has_duplicate_signatures(
            &[mk("a", "x", &[1, 2]), mk("a", "y", &[3])],
            &names
        ));
        assert!(has_duplicate_signatures(
            &[mk("a", "x", &[1, 2]), mk("a", "y", &[2])],
            &names
        ));
    }
}
