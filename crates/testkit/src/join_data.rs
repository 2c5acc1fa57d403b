//! Random small Kubernetes-like datasets and join queries for fast-path equivalence tests.
//!
//! The data is built to reach the corners where a join rewrite can change an answer or an
//! error (issue 12): many-side series that collide once `rate` drops their names (two metric
//! names with one label set) or once `label_replace` overwrites `pod` (two series sharing
//! `pod_name`), series with empty or missing join labels, owner values other than 1, two
//! kube-state-metrics replicas with different values and timestamps, owners that change over
//! time, series that vanish (with or without a staleness marker) and return, counter resets,
//! non-counter names under `rate`, and info series (`kube_pod_info`, `node_uname_info`) that
//! stay constant for long runs. Evaluation times are on and off the scrape grid; range steps
//! are equal to, smaller than and larger than the scrape interval.
//!
//! Plain data only (label pairs and `(t, v)` samples), so any crate's tests can load it into
//! their own store. Deterministic per seed.

/// The bit pattern of Prometheus's staleness marker.
pub const STALE_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Milliseconds between two scrapes.
pub const SCRAPE_MS: i64 = 15_000;

/// Scrapes per dataset.
pub const SCRAPES: usize = 48;

/// One series: label pairs (with `__name__`) and samples in time order.
#[derive(Debug, Clone)]
pub struct GenSeries {
    /// Label pairs, names unique, values non-empty.
    pub labels: Vec<(String, String)>,
    /// `(t, v)` in strictly increasing `t`; a staleness marker is `f64::from_bits(STALE_BITS)`.
    pub samples: Vec<(i64, f64)>,
}

/// A dataset and where to evaluate queries over it.
#[derive(Debug, Clone)]
pub struct JoinCase {
    /// The series.
    pub series: Vec<GenSeries>,
    /// Instant query times (ms), on and off the scrape grid.
    pub instant_times: Vec<i64>,
    /// Range queries as `(start, end, step)` in ms.
    pub ranges: Vec<(i64, i64, i64)>,
}

/// SplitMix64: small, fast, and good enough to spread test cases.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `percent / 100`.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Scrape indexes a series is present at: one or two stretches (vanish and return), and
/// whether a staleness marker follows each stretch.
fn presence(rng: &mut Rng) -> Vec<(std::ops::Range<usize>, bool)> {
    let start = if rng.chance(60) {
        0
    } else {
        rng.below(SCRAPES / 2)
    };
    let len = 4 + rng.below(SCRAPES);
    let first = start..(start + len).min(SCRAPES);
    let mut out = vec![(first.clone(), rng.chance(50))];
    if first.end < SCRAPES && rng.chance(50) {
        // Returns after a gap that may be shorter or longer than a 5-minute lookback.
        let gap = 1 + rng.below(30);
        let again = first.end + gap;
        if again < SCRAPES {
            out.push((again..SCRAPES, false));
        }
    }
    out
}

/// Samples of one series over `stretches`, at `offset_ms` past each scrape, with values from
/// `value(k, previous)`.
fn sampled(
    stretches: &[(std::ops::Range<usize>, bool)],
    offset_ms: i64,
    mut value: impl FnMut(usize, f64) -> f64,
) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    let mut previous = 0.0;
    for (range, marker) in stretches {
        for k in range.clone() {
            previous = value(k, previous);
            out.push((k as i64 * SCRAPE_MS + offset_ms, previous));
        }
        if *marker && range.end < SCRAPES {
            out.push((
                range.end as i64 * SCRAPE_MS + offset_ms,
                f64::from_bits(STALE_BITS),
            ));
        }
    }
    // A marker may land on the next stretch's first scrape: keep the sample.
    out.dedup_by(|later, earlier| later.0 == earlier.0);
    out
}

const NAMESPACES: [&str; 2] = ["ns0", "ns1"];
const KINDS: [&str; 5] = ["ReplicaSet", "DaemonSet", "StatefulSet", "Job", "<none>"];

/// The dataset for `seed`.
pub fn join_case(seed: u64) -> JoinCase {
    let mut rng = Rng::new(seed);
    let mut series = Vec::new();
    let n_pods = 2 + rng.below(5);
    let replicas = 1 + rng.below(2);
    for p in 0..n_pods {
        let pod = format!("p{p}");
        let ns = NAMESPACES[rng.below(2)];
        // Owners over time: one, or a change at a random scrape (the old row ends, maybe with
        // a marker, the new one starts).
        let change = rng.chance(40).then(|| 1 + rng.below(SCRAPES - 2));
        let mut owners = vec![];
        let n_owners = if rng.chance(15) { 0 } else { 1 };
        for _ in 0..n_owners {
            let kind = KINDS[rng.below(KINDS.len())];
            let name = if kind == "<none>" {
                "<none>".to_string()
            } else {
                format!("w{}-rs{}", rng.below(3), rng.below(2))
            };
            owners.push((kind, name, 0..change.unwrap_or(SCRAPES)));
        }
        if let Some(at) = change {
            let kind = KINDS[rng.below(2)];
            owners.push((
                kind,
                format!("w{}-rs{}", rng.below(3), rng.below(2)),
                at..SCRAPES,
            ));
        }
        // Rarely a second, conflicting owner row for the same pod at the same time.
        if rng.chance(8) {
            owners.push(("DaemonSet", "ds-extra".to_string(), 0..SCRAPES));
        }
        let owner_ns = if rng.chance(7) { "" } else { ns };
        for (kind, name, range) in &owners {
            let marker = rng.chance(50);
            let value = match rng.below(10) {
                0 => 0.0,
                1 => 2.0,
                2 => 0.5,
                _ => 1.0,
            };
            for r in 0..replicas {
                // The second replica scrapes at another offset and may disagree on the value.
                let v = if r == 1 && rng.chance(30) {
                    value + 1.0
                } else {
                    value
                };
                let instance = if r == 0 { "ksm-a" } else { "ksm-b" };
                series.push(GenSeries {
                    labels: pairs(&[
                        ("__name__", "kube_pod_owner"),
                        ("namespace", owner_ns),
                        ("pod", &pod),
                        ("owner_kind", kind),
                        ("owner_name", name),
                        ("instance", instance),
                    ]),
                    samples: sampled(
                        &[(range.clone(), marker)],
                        2_000 + 2_000 * r as i64,
                        |_, _| v,
                    ),
                });
            }
        }
        let node = format!("node{}", rng.below(2));
        let mut info_presence = presence(&mut rng);
        if p == 0 {
            // A gap without a marker, shorter than the run index's split gap (five minutes)
            // and longer than a one-minute lookback: one run whose gap a selector with the
            // short lookback must not read through (the run-index gap check).
            let gap = 5 + rng.below(14);
            info_presence = vec![(0..20, false), (20 + gap..SCRAPES, false)];
        }
        series.push(GenSeries {
            labels: pairs(&[
                ("__name__", "kube_pod_info"),
                ("namespace", ns),
                ("pod", &pod),
                ("node", &node),
                ("instance", "ksm-a"),
            ]),
            samples: sampled(&info_presence, 2_000, |_, _| 1.0),
        });
        // cAdvisor: container series, legacy labels sometimes, gaps, resets.
        let legacy = rng.chance(40);
        let n_containers = 1 + rng.below(2);
        for c in 0..n_containers {
            let container = format!("c{c}");
            let stretches = presence(&mut rng);
            let slope = 0.5 + rng.below(8) as f64 * 0.25;
            let reset_at = rng.chance(30).then(|| rng.below(SCRAPES));
            // Without `namespace` sometimes, and often when the owner row lacks it too (so
            // that rows with an empty join label do match).
            let ns_label = if rng.chance(if owner_ns.is_empty() { 60 } else { 6 }) {
                ""
            } else {
                ns
            };
            let pod_label = if rng.chance(6) { "" } else { pod.as_str() };
            let mut labels = vec![
                ("__name__", "container_cpu_usage_seconds_total"),
                ("namespace", ns_label),
                ("pod", pod_label),
                ("container", container.as_str()),
            ];
            if legacy {
                labels.push(("pod_name", pod.as_str()));
            }
            let counter = |k: usize, prev: f64| {
                if Some(k) == reset_at {
                    0.25
                } else {
                    prev + slope
                }
            };
            series.push(GenSeries {
                labels: pairs(&labels),
                samples: sampled(&stretches, 1_000, counter),
            });
            // A second metric name with the same label set: `rate` makes the two collide.
            if rng.chance(20) {
                labels[0] = ("__name__", "container_cpu_system_seconds_total");
                series.push(GenSeries {
                    labels: pairs(&labels),
                    samples: sampled(&stretches, 1_000, |_, prev| prev + 0.125),
                });
            }
            // A gauge whose name `rate` warns about, and `quantile_over_time` reads.
            labels[0] = ("__name__", "container_memory_working_set_bytes");
            let mem = 1.0e6 + rng.below(1000) as f64;
            series.push(GenSeries {
                labels: pairs(&labels),
                samples: sampled(&stretches, 1_000, |k, _| mem + (k % 7) as f64),
            });
        }
        // Two series that share `pod_name` but differ in `pod`: `label_replace` into `pod`
        // makes them equal.
        if rng.chance(15) {
            for other in ["x1", "x2"] {
                series.push(GenSeries {
                    labels: pairs(&[
                        ("__name__", "container_cpu_usage_seconds_total"),
                        ("namespace", ns),
                        ("pod", other),
                        ("pod_name", &pod),
                        ("container", "side"),
                    ]),
                    samples: sampled(&[(0..SCRAPES, false)], 1_000, |_, prev| prev + 1.0),
                });
            }
        }
    }
    // ReplicaSet → Deployment rows, which can change over time.
    for w in 0..3 {
        for r in 0..2 {
            if rng.chance(40) {
                continue;
            }
            let ns = NAMESPACES[rng.below(2)];
            let change = rng.chance(30).then(|| 1 + rng.below(SCRAPES - 2));
            let end = change.unwrap_or(SCRAPES);
            let rs = format!("w{w}-rs{r}");
            let mut rows = vec![(format!("dep{w}"), 0..end)];
            if let Some(at) = change {
                rows.push((format!("dep{}", w + 1), at..SCRAPES));
            }
            for (dep, range) in rows {
                series.push(GenSeries {
                    labels: pairs(&[
                        ("__name__", "kube_replicaset_owner"),
                        ("namespace", ns),
                        ("replicaset", &rs),
                        ("owner_kind", "Deployment"),
                        ("owner_name", &dep),
                    ]),
                    samples: sampled(&[(range, rng.chance(50))], 2_000, |_, _| 1.0),
                });
            }
        }
    }
    // Node exporter: a gauge per instance and its uname info, whose nodename may change.
    for n in 0..2 {
        let instance = format!("10.0.0.{n}:9100");
        let stretches = presence(&mut rng);
        series.push(GenSeries {
            labels: pairs(&[("__name__", "node_load1"), ("instance", &instance)]),
            samples: sampled(&stretches, 3_000, |k, _| (k % 5) as f64 * 0.5),
        });
        let change = rng.chance(30).then(|| 1 + rng.below(SCRAPES - 2));
        let end = change.unwrap_or(SCRAPES);
        let mut rows = vec![(format!("node{n}"), 0..end)];
        if let Some(at) = change {
            rows.push((format!("node{n}-renamed"), at..SCRAPES));
        }
        for (nodename, range) in rows {
            series.push(GenSeries {
                labels: pairs(&[
                    ("__name__", "node_uname_info"),
                    ("instance", &instance),
                    ("nodename", &nodename),
                ]),
                samples: sampled(&[(range, rng.chance(50))], 3_000, |_, _| 1.0),
            });
        }
    }
    let series = merge_equal_series(series);
    let on_grid = (8 + rng.below(SCRAPES - 8)) as i64 * SCRAPE_MS + 1_000;
    let off_grid = (8 + rng.below(SCRAPES - 8)) as i64 * SCRAPE_MS + 7_500;
    let end = SCRAPES as i64 * SCRAPE_MS + 60_000;
    JoinCase {
        series,
        instant_times: vec![on_grid, off_grid],
        ranges: vec![
            (1_000, end, SCRAPE_MS),
            (7_500, end, 5_000 + 5_000 * rng.below(2) as i64),
            (0, end, 60_000),
        ],
    }
}

/// One series per label set: rows generated twice (an owner "changing" to itself) are merged,
/// in time order; at a shared timestamp a value wins over a staleness marker.
fn merge_equal_series(series: Vec<GenSeries>) -> Vec<GenSeries> {
    let mut out: Vec<GenSeries> = Vec::with_capacity(series.len());
    for s in series {
        match out.iter_mut().find(|o| o.labels == s.labels) {
            Some(existing) => existing.samples.extend(s.samples),
            None => out.push(s),
        }
    }
    for s in &mut out {
        s.samples.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then((a.1.to_bits() == STALE_BITS).cmp(&(b.1.to_bits() == STALE_BITS)))
        });
        s.samples.dedup_by(|later, earlier| later.0 == earlier.0);
    }
    out
}

/// The join queries checked over every dataset: one sides filtered and not, with and without
/// duplicate signatures; many sides that can collide after `rate` or `label_replace`, with
/// annotations, with aggregations; `group_left`, `group_right`, one-to-one and `and`; the
/// Deployment resolution; info joins.
pub fn join_queries() -> Vec<String> {
    let ones = [
        "max(kube_pod_owner) by (pod, namespace, owner_name, owner_kind)",
        r#"max(kube_pod_owner{owner_kind="ReplicaSet"}) by (pod, namespace, owner_name)"#,
        r#"kube_pod_owner{owner_kind="ReplicaSet",instance="ksm-a"}"#,
        r#"max(kube_pod_owner{namespace="ns1"}) by (pod, namespace, owner_name)"#,
        r#"max(kube_pod_owner{owner_kind="ReplicaSet"} > 0.75) by (pod, namespace, owner_name)"#,
    ];
    let manies = [
        "rate(container_cpu_usage_seconds_total[1m])",
        r#"rate({__name__=~"container_cpu_usage_seconds_total|container_cpu_system_seconds_total"}[1m])"#,
        r#"label_replace(rate(container_cpu_usage_seconds_total[1m]), "pod", "$1", "pod_name", "(.+)")"#,
        r#"label_replace(sum by (namespace, pod_name) (rate(container_cpu_usage_seconds_total[1m])), "pod", "$1", "pod_name", "(.+)")"#,
        "sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[1m]))",
        "rate(container_memory_working_set_bytes[1m])",
        "quantile_over_time(1.5, container_memory_working_set_bytes[1m])",
        "topk by (namespace, pod) (1, container_memory_working_set_bytes)",
        r#"abs(sum by (__name__, namespace, pod) ({__name__=~"container_cpu_.*_total"}))"#,
        "container_memory_working_set_bytes",
        // Drops `namespace`: joins only one-side rows without it, from sums over every
        // namespace (a filter on `namespace` must not reach inside).
        "sum by (pod) (rate(container_cpu_usage_seconds_total[1m]))",
        "quantile by (namespace, pod) (1.5, container_memory_working_set_bytes)",
    ];
    let mut out = Vec::new();
    for (i, one) in ones.iter().enumerate() {
        for (j, many) in manies.iter().enumerate() {
            out.push(format!(
                "{one} * on(pod, namespace) group_right(owner_name) {many}"
            ));
            // The other forms on a rotating subset, to keep the suite short.
            match (i + j) % 3 {
                0 => out.push(format!(
                    "{many} * on(pod, namespace) group_left(owner_name) {one}"
                )),
                1 => out.push(format!("{many} and on(pod, namespace) {one}")),
                _ => out.push(format!("{many} * on(pod, namespace) {one}")),
            }
        }
    }
    // Both sides annotate and the one side is the right operand: annotations must come in
    // left-then-right order.
    out.push(
        "rate(container_memory_working_set_bytes[1m]) * on(pod, namespace) group_left(owner_name) max by (pod, namespace, owner_name) (quantile_over_time(1.5, kube_pod_owner[1m]))"
            .to_string(),
    );
    out.push(
        r#"quantile_over_time(-1, container_memory_working_set_bytes[1m]) * on(pod, namespace) group_left(owner_name) max by (pod, namespace, owner_name) (quantile_over_time(1.5, kube_pod_owner{owner_kind="ReplicaSet"}[1m]))"#
            .to_string(),
    );
    let deployment = r#"max(label_replace(label_replace(label_replace(max(kube_replicaset_owner) by (namespace, owner_name, replicaset), "new_name", "$1", "owner_name", "(.+)"), "owner_name", "$1", "replicaset", "(.+)") * on(owner_name, namespace) group_right(new_name) max(kube_pod_owner{owner_kind="ReplicaSet"}) by (owner_name, pod, namespace), "workload", "$1", "new_name", "(.+)")) by (workload, pod, namespace)"#;
    out.push(deployment.to_string());
    out.push(format!(
        "{deployment} * on(pod, namespace) group_right(workload) sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[1m]))"
    ));
    // Parameterised aggregations on the many side (issue 12, item 4: loosening the pushdown's
    // aggregation-parameter check survived before). `count_values` writes its own label: with
    // `"pod"` the output's `pod` is a value, so a filter on the input's `pod` is not a filter
    // on the output's; a one side whose `pod` is a value ("1", the common owner value) joins
    // the generic path's rows and none of a pushed filter's. The others stand beside them with
    // one sides that keep few or no keys.
    let value_one =
        r#"label_replace(max by (namespace) (kube_pod_owner), "pod", "1", "namespace", ".*")"#;
    for many in [
        r#"count_values by (namespace, pod) ("pod", kube_pod_owner)"#,
        r#"count_values without (owner_kind, owner_name, instance) ("pod", kube_pod_owner)"#,
    ] {
        out.push(format!(
            "{value_one} * on(pod, namespace) group_right {many}"
        ));
        out.push(format!("{many} and on(pod, namespace) {value_one}"));
    }
    let narrow_ones = [
        r#"max(kube_pod_owner{owner_kind="NoSuchKind"}) by (pod, namespace, owner_name)"#,
        r#"max(kube_pod_owner{pod="p0"}) by (pod, namespace, owner_name)"#,
    ];
    let parameterised = [
        "quantile by (namespace, pod) (1.5, container_memory_working_set_bytes)",
        "limit_ratio by (namespace, pod) (1.5, container_memory_working_set_bytes)",
        "topk by (namespace, pod) (NaN, container_memory_working_set_bytes)",
    ];
    for one in narrow_ones {
        for many in parameterised {
            out.push(format!(
                "{one} * on(pod, namespace) group_right(owner_name) {many}"
            ));
        }
    }
    out.push("node_load1 * on(instance) group_left(nodename) node_uname_info".to_string());
    out.push(
        r#"sum by (nodename) (node_load1 * on(instance) group_left(nodename) node_uname_info{nodename=~"node0.*"})"#
            .to_string(),
    );
    out.push(
        "sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[1m])) * on(namespace, pod) group_left(node) kube_pod_info"
            .to_string(),
    );
    out.push(
        r#"kube_pod_info{node="node1"} * on(namespace, pod) group_right(node) rate(container_cpu_usage_seconds_total[1m])"#
            .to_string(),
    );
    // `label_replace` outcomes reused from the previous series' source value: the empty source
    // (the kubernetes-mixin's `workload_type`), a regex that does not match `""`, one whose
    // capture differs between values that share a prefix, replicas sharing values, a removal
    // that makes label sets collide (the error), and the mixin's `or` of such arms.
    for lr in [
        r#"label_replace(kube_pod_owner, "workload_type", "deployment", "", "")"#,
        r#"label_replace(kube_pod_owner, "workload_type", "x", "", "(.+)")"#,
        r#"label_replace(kube_pod_owner, "workload", "$1", "owner_name", "(.*)-[^-]+")"#,
        r#"label_replace(kube_pod_owner, "workload", "${1}x", "pod", "p(.)")"#,
        r#"label_replace(kube_pod_owner, "instance", "", "owner_kind", "Repl.*")"#,
        // The copy form from an absent source removes the destination (`(.*)` matches "").
        r#"label_replace(kube_pod_owner, "owner_kind", "$1", "no_such_label", "(.*)")"#,
        r#"label_replace(kube_pod_info, "node", "$1", "no_such_label", "(.+)")"#,
        r#"label_replace(max by (namespace, owner_name) (kube_pod_owner), "owner_name", "$1", "owner_name", "(w.).*")"#,
    ] {
        out.push(lr.to_string());
    }
    // Aggregations grouping through a `label_replace` copy: a fresh destination (read
    // through), one the input already has (the copy runs, and may collide), no grouping, a
    // parameter, a range function under the copy, and an `@`-pinned (step-invariant) argument.
    for agg in [
        r#"max by (namespace, workload, pod) (label_replace(kube_pod_owner, "workload", "$1", "owner_name", "(.*)"))"#,
        r#"sum by (workload) (label_replace(kube_pod_owner, "workload", "$1", "owner_name", "(.+)"))"#,
        r#"count by (workload, instance) (label_replace(kube_pod_owner, "workload", "$1", "nonexistent", "(.*)"))"#,
        r#"max by (namespace, pod) (label_replace(kube_pod_owner, "pod", "$1", "owner_name", "(.+)"))"#,
        r#"count by (owner_name) (label_replace(kube_pod_owner, "owner_name", "$1", "instance", "(.*)"))"#,
        r#"sum(label_replace(kube_pod_owner, "w", "$1", "pod", "(.*)"))"#,
        r#"max by (w, namespace, w) (label_replace(kube_pod_owner, "w", "$1", "owner_name", "(.*)"))"#,
        r#"quantile by (w) (0.5, label_replace(kube_pod_owner, "w", "$1", "owner_kind", "(.*)"))"#,
        r#"stddev by (namespace, w) (label_replace(rate(container_cpu_usage_seconds_total[1m]), "w", "$1", "pod", "(.*)"))"#,
        r#"max by (w) (label_replace(kube_pod_owner @ 300, "w", "$1", "pod", "(.+)"))"#,
    ] {
        out.push(agg.to_string());
    }
    // Consumers that read a join's series in order: `limitk` keeps the first ones of each
    // group, float sums and means depend on the addition order. Over a range grid the join's
    // output order is the order its series first match (series vanish and return in the
    // datasets, so that differs from the many side's order).
    for consumer in [
        "limitk(3, {join})",
        "limitk by (namespace) (1, {join})",
        "sum by (namespace) ({join})",
        "avg by (owner_name) ({join})",
    ] {
        for join in [
            "max(kube_pod_owner) by (pod, namespace, owner_name) * on(pod, namespace) group_right(owner_name) rate(container_cpu_usage_seconds_total[1m])",
            "rate(container_cpu_usage_seconds_total[1m]) * on(pod, namespace) group_left(owner_name) max(kube_pod_owner) by (pod, namespace, owner_name)",
            "sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[1m])) / on(namespace, pod) sum by (namespace, pod) (container_memory_working_set_bytes)",
            // Different many-side series (the top container changes) give one output series
            // at different steps: they share its place in the order.
            "topk by (namespace, pod) (1, container_memory_working_set_bytes) * on(pod, namespace) max(kube_pod_owner) by (pod, namespace)",
            // A comparison's first match may be filtered out; the output series still takes
            // its place in the order there.
            "container_memory_working_set_bytes > on(pod, namespace) group_left(owner_name) (1000000 * max(kube_pod_owner) by (pod, namespace, owner_name))",
            // The same with grouping: a one side whose signatures are unique overwrites the
            // label the many-side series differ by.
            r#"label_replace(max by (pod, namespace) (kube_pod_owner), "container", "top", "", "") * on(pod, namespace) group_right(container) topk by (namespace, pod) (1, container_memory_working_set_bytes)"#,
        ] {
            out.push(consumer.replace("{join}", join));
        }
    }
    // A one side with unique signatures and a many side whose names go: the two metrics'
    // series collide at the steps where both exist.
    out.push(
        r#"max by (pod, namespace) (kube_pod_owner) * on(pod, namespace) group_right rate({__name__=~"container_cpu_usage_seconds_total|container_cpu_system_seconds_total"}[1m])"#
            .to_string(),
    );
    out.push(
        r#"max by (pod, namespace) (kube_pod_owner) * on(pod, namespace) group_right {__name__=~"container_cpu_usage_seconds_total|container_cpu_system_seconds_total"}"#
            .to_string(),
    );
    // One-to-one comparisons keep `__name__`, so two left-hand series of one signature give
    // different result label sets, and still fail to match one-to-one.
    out.push(
        r#"{__name__=~"container_cpu_usage_seconds_total|container_cpu_system_seconds_total"} >= container_cpu_usage_seconds_total"#
            .to_string(),
    );
    out.push(
        r#"label_replace(max by (namespace, pod, owner_name) (kube_pod_owner{owner_kind="ReplicaSet"}), "workload_type", "deployment", "", "") or label_replace(max by (namespace, pod, owner_name) (kube_pod_owner{owner_kind="DaemonSet"}), "workload_type", "daemonset", "", "")"#
            .to_string(),
    );
    out
}
