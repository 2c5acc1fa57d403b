//! The `kube_pod_workload` extension (off by default): a selector on the name
//! `kube_pod_workload` answered with the pod → workload resolution of kubernetes-mixin's
//! `namespace_workload_pod:kube_pod_owner:relabel` recording rules (docs/extensions/kube_pod_workload.md).
//!
//! The selector is evaluated as an internal expansion into the PromQL those rules compute: each
//! rule's expression with its `workload_type` label, in the rules' order, joined by `or` (the
//! first rule wins a label set two rules produce, as the rule manager's first append wins a
//! timestamp), so every step equals what Prometheus records, and the owner series are read
//! through the same paths any query uses (the value-run index, join-key pushdown inside the
//! expansion). The selector's own modifiers (`offset`, `@`) move onto every selector of the
//! expansion, which holds only instant selectors, so the expansion is evaluated at exactly the
//! shifted or pinned time. The selector's matchers, `__name__="kube_pod_workload"` included,
//! are applied to the expansion's result, which then carries that name.
//!
//! Rule: the matchers are **not** pushed into the expansion's selectors, although every output
//! series' `namespace` and `pod` come from a `kube_pod_owner` series with the same values. The
//! expansion can fail (a Job or ReplicaSet with two non-standard owners at once makes a
//! `group_left` one side hold duplicates; a `kube_pod_owner` series that already carries a
//! label the rules write can collide), and such an error comes from the series of one
//! namespace: a `namespace` or `pod` filter applied first would hide the errors of the series
//! it removes, so it could change the error. Filtering the result cannot.
//!
//! Range selectors on the name (`kube_pod_workload[5m]`) are refused with a positioned error
//! before evaluation ([`check_no_range_selector`]): the series exists at every step of an
//! evaluation, not as stored samples, so a range of raw samples has no meaning. A subquery
//! (`kube_pod_workload[5m:1m]`) evaluates the selector on its own steps and works.

use std::sync::OnceLock;

use promlite_model::{MatchOp, Sample};
use promlite_promql::ast::{Expr, Span, VectorSelector};

use crate::error::{Error, Result};
use crate::evaluator::Evaluator;
use crate::series::{Grid, Series, Val};

/// The extension's metric name.
pub const KUBE_POD_WORKLOAD: &str = "kube_pod_workload";

/// The expansion: kubernetes-mixin's `k8s.rules.pod_owner` group (rules/apps.libsonnet, as of
/// 2025-07, commit eb4aea6 "Make workload_type label values consistent"), with the default
/// lower-case `workload_type` values, the `cluster` label kept as the mixin keeps it (no-op
/// when absent) and an empty kube-state-metrics job selector (owner series of any job). Each
/// rule's `labels: {workload_type: ...}` is the outer `label_replace` (an empty regex always
/// matches the empty source, so it sets the label as the rule manager's override does); the
/// last rule sets `workload_type` itself. Written from the rules' definitions for this crate.
const EXPANSION: &str = r#"
label_replace(
  max by (cluster, namespace, workload, pod) (
    label_replace(
      label_replace(kube_pod_owner{owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)")
      * on (cluster, replicaset, namespace) group_left (owner_name)
      topk by (cluster, replicaset, namespace) (
        1, max by (cluster, replicaset, namespace, owner_name) (kube_replicaset_owner{owner_kind=""})
      ),
      "workload", "$1", "replicaset", "(.*)"
    )
  ),
  "workload_type", "replicaset", "", ""
)
or
label_replace(
  max by (cluster, namespace, workload, pod) (
    label_replace(
      label_replace(kube_pod_owner{owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)")
      * on (replicaset, namespace, cluster) group_left (owner_name)
      topk by (cluster, replicaset, namespace) (
        1, max by (cluster, replicaset, namespace, owner_name) (kube_replicaset_owner{owner_kind="Deployment"})
      ),
      "workload", "$1", "owner_name", "(.*)"
    )
  ),
  "workload_type", "deployment", "", ""
)
or
label_replace(
  max by (cluster, namespace, workload, pod) (
    label_replace(kube_pod_owner{owner_kind="DaemonSet"}, "workload", "$1", "owner_name", "(.*)")
  ),
  "workload_type", "daemonset", "", ""
)
or
label_replace(
  max by (cluster, namespace, workload, pod) (
    label_replace(kube_pod_owner{owner_kind="StatefulSet"}, "workload", "$1", "owner_name", "(.*)")
  ),
  "workload_type", "statefulset", "", ""
)
or
label_replace(
  group by (cluster, namespace, workload, pod) (
    label_join(
      group by (cluster, namespace, job_name, pod, owner_name) (
        label_join(kube_pod_owner{owner_kind="Job"}, "job_name", "", "owner_name")
      )
      * on (cluster, namespace, job_name) group_left ()
      group by (cluster, namespace, job_name) (kube_job_owner{owner_kind=~"Pod|"}),
      "workload", "", "owner_name"
    )
  ),
  "workload_type", "job", "", ""
)
or
label_replace(
  max by (cluster, namespace, workload, pod) (
    label_replace(kube_pod_owner{owner_kind="", owner_name=""}, "workload", "$1", "pod", "(.+)")
  ),
  "workload_type", "barepod", "", ""
)
or
label_replace(
  max by (cluster, namespace, workload, pod) (
    label_replace(kube_pod_owner{owner_kind="Node"}, "workload", "$1", "pod", "(.+)")
  ),
  "workload_type", "staticpod", "", ""
)
or
group by (cluster, namespace, workload, workload_type, pod) (
  label_join(
    label_join(
      group by (cluster, namespace, job_name, pod) (
        label_join(kube_pod_owner{owner_kind="Job"}, "job_name", "", "owner_name")
      )
      * on (cluster, namespace, job_name) group_left (owner_kind, owner_name)
      group by (cluster, namespace, job_name, owner_kind, owner_name) (
        kube_job_owner{owner_kind!="Pod", owner_kind!=""}
      ),
      "workload", "", "owner_name"
    ),
    "workload_type", "", "owner_kind"
  )
  or
  label_replace(
    label_replace(
      label_replace(kube_pod_owner{owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.+)")
      * on (cluster, namespace, replicaset) group_left (owner_kind, owner_name)
      group by (cluster, namespace, replicaset, owner_kind, owner_name) (
        kube_replicaset_owner{owner_kind!="Deployment", owner_kind!=""}
      ),
      "workload", "$1", "owner_name", "(.+)"
    )
    or
    label_replace(
      group by (cluster, namespace, pod, owner_name, owner_kind) (
        kube_pod_owner{owner_kind!="ReplicaSet", owner_kind!="DaemonSet", owner_kind!="StatefulSet", owner_kind!="Job", owner_kind!="Node", owner_kind!=""}
      ),
      "workload", "$1", "owner_name", "(.+)"
    ),
    "workload_type", "$1", "owner_kind", "(.+)"
  )
)
"#;

/// The expansion's text (for documentation and tests): the PromQL a `kube_pod_workload`
/// selector is evaluated as, before its modifiers and matchers are applied.
pub fn kube_pod_workload_expansion() -> &'static str {
    EXPANSION.trim()
}

/// True if `vs` selects the extension's name: a `__name__="kube_pod_workload"` matcher (as
/// `kube_pod_workload{...}` writes it). Other selectors that happen to match the name
/// (`{__name__=~"kube_pod_.*"}`) stay ordinary selectors.
pub(crate) fn is_workload_selector(vs: &VectorSelector) -> bool {
    vs.matchers
        .iter()
        .any(|m| m.op == MatchOp::Equal && m.name == "__name__" && m.value == KUBE_POD_WORKLOAD)
}

/// The parsed expansion, parsed once per process.
fn parsed_expansion() -> Result<&'static Expr> {
    static PARSED: OnceLock<std::result::Result<Expr, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| promlite_promql::parse(EXPANSION).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Execution(format!("kube_pod_workload expansion does not parse: {e}")))
}

/// The expansion for selector `vs`: its `offset` and `@` on every inner selector, and every
/// position set to the selector's own, so annotations point at it in the user's query.
fn expansion_for(vs: &VectorSelector) -> Result<Expr> {
    let mut expr = parsed_expansion()?.clone();
    retarget(&mut expr, vs);
    Ok(expr)
}

fn retarget(expr: &mut Expr, outer: &VectorSelector) {
    expr.walk_mut(&mut |node| {
        match node {
            Expr::VectorSelector(inner) => {
                inner.offset = outer.offset;
                inner.at = outer.at;
                inner.span = outer.span;
            }
            Expr::Call(c) => c.span = outer.span,
            // The expansion holds no range selectors or subqueries; other nodes have no
            // position of their own.
            _ => {}
        }
        true
    });
}

/// Evaluates selector `vs` (for which [`is_workload_selector`] holds) over `grid`. With
/// `sample_ts` (`timestamp(kube_pod_workload)`) each value is the time the resolution was
/// evaluated at, in seconds, as for any computed vector.
pub(crate) fn eval_selector(
    ev: &mut Evaluator<'_>,
    vs: &VectorSelector,
    grid: &Grid,
    sample_ts: bool,
) -> Result<Vec<Series>> {
    let expansion = expansion_for(vs)?;
    let at = ev.resolve_at(vs.at);
    let series = match ev.eval(&expansion, grid)? {
        Val::Vector(series) => series,
        other => {
            return Err(Error::Execution(format!(
                "kube_pod_workload expansion returned {}",
                other.type_name()
            )))
        }
    };
    let n_resolved = series.len();
    let out: Vec<Series> = series
        .into_iter()
        .filter_map(|s| {
            // The expansion ends in aggregations and `or`, whose outputs carry no name.
            let mut builder = s.labels.without_metric_name().builder();
            builder.set("__name__", KUBE_POD_WORKLOAD);
            let labels = builder.build();
            let keep = vs
                .matchers
                .iter()
                .all(|m| m.matches(labels.get(&m.name).unwrap_or("")));
            if !keep {
                return None;
            }
            let points = if sample_ts {
                s.points
                    .iter()
                    .map(|p| {
                        let evaluated = at.unwrap_or(p.t).saturating_sub(vs.offset);
                        Sample::new(p.t, evaluated as f64 / 1000.0)
                    })
                    .collect()
            } else {
                s.points
            };
            Some(Series {
                labels,
                drop_name: false,
                points,
            })
        })
        .collect();
    ev.decide(|| {
        format!(
            "kube_pod_workload extension: {n_resolved} series resolved, {} kept by the selector's {} matcher(s)",
            out.len(),
            vs.matchers.len()
        )
    });
    Ok(out)
}

/// Refuses a range selector on the extension's name anywhere in `expr`, with the position of
/// the first one in `query` (line 1, byte offsets when `query` is empty).
pub(crate) fn check_no_range_selector(expr: &Expr, query: &str) -> Result<()> {
    let Some(span) = first_range_selector(expr) else {
        return Ok(());
    };
    let position = if query.is_empty() {
        format!("1:{}", span.start.saturating_add(1))
    } else {
        promlite_promql::Position::at(query, span.start as usize).to_string()
    };
    Err(Error::BadQuery(format!(
        "{position}: range selector on {KUBE_POD_WORKLOAD} (the kube-pod-workload extension): \
         the series is computed at each evaluation step and has no stored samples to select a \
         range of; use a subquery such as {KUBE_POD_WORKLOAD}[5m:1m]"
    )))
}

fn first_range_selector(expr: &Expr) -> Option<Span> {
    let mut found = None;
    expr.walk(&mut |node| {
        if let Expr::MatrixSelector(ms) = node {
            if found.is_none() && is_workload_selector(&ms.selector) {
                found = Some(ms.selector.span);
            }
        }
        found.is_none()
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expansion_parses_and_is_an_instant_vector() {
        let expr = parsed_expansion().expect("the expansion parses");
        assert_eq!(expr.value_type(), promlite_promql::ast::ValueType::Vector);
        assert!(first_range_selector(expr).is_none());
    }

    #[test]
    fn only_an_equality_name_matcher_selects_the_extension() {
        let sel = |q: &str| match promlite_promql::parse(q).expect("parses") {
            Expr::VectorSelector(vs) => vs,
            other => panic!("not a selector: {other:?}"),
        };
        assert!(is_workload_selector(&sel("kube_pod_workload")));
        assert!(is_workload_selector(&sel(
            r#"{__name__="kube_pod_workload", pod="a"}"#
        )));
        assert!(!is_workload_selector(&sel(
            r#"{__name__=~"kube_pod_workload"}"#
        )));
        assert!(!is_workload_selector(&sel("kube_pod_owner")));
    }

    #[test]
    fn a_range_selector_is_refused_with_its_position() {
        let q = "sum(\n  count_over_time(kube_pod_workload{pod=\"a\"}[5m]))";
        let expr = promlite_promql::parse(q).expect("parses");
        let err = check_no_range_selector(&expr, q).unwrap_err();
        assert_eq!(err.error_type(), "bad_data");
        assert!(
            err.to_string()
                .starts_with("2:19: range selector on kube_pod_workload"),
            "{err}"
        );
        let sub =
            promlite_promql::parse("max_over_time(kube_pod_workload[5m:1m])").expect("parses");
        assert!(check_no_range_selector(&sub, "").is_ok());
    }
}
