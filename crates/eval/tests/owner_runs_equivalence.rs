//! Instant selectors answered from value runs (the owner index) must give exactly the generic
//! evaluator's answers and errors.
//!
//! Random small clusters are loaded into a `MemStore` whose run index covers the
//! kube-state-metrics owner and info metrics. Owner series get value changes, scrape gaps longer
//! than the lookback, staleness markers (or none, when a pod just stops being scraped), owner
//! changes over time (a pod re-parented, a ReplicaSet adopted by another Deployment) and
//! duplicate rows. Every query in `testdata/workload/{legacy,modern}/*.promql` (plus selectors
//! with `offset` and `@`) runs as an instant and a range query with the fast path on and off,
//! with lookback deltas shorter and longer than the run split gap (so both the run path and its
//! fallback are taken). Values must be bitwise identical, errors and annotations equal.

use promlite_eval::outcome_text::outcome_text;
use std::path::Path;

use promlite_eval::{Engine, EngineOptions, Value};
use promlite_model::{Labels, MemStore, Sample, STALE_NAN};
use proptest::prelude::*;

const STEP_MS: i64 = 15_000;
const SCRAPES: usize = 60;
const NAMESPACES: [&str; 2] = ["kube-system", "payments"];
const INDEXED: [&str; 3] = ["kube_pod_owner", "kube_replicaset_owner", "kube_pod_info"];

/// One stretch of an owner row's life: scrape indexes, value, and whether a staleness marker
/// follows it.
#[derive(Debug, Clone)]
struct Segment {
    start: usize,
    len: usize,
    /// Scrapes skipped inside the segment: every `skip_every`-th scrape is missing (0: none).
    skip_every: usize,
    value: f64,
    stale_after: bool,
}

#[derive(Debug, Clone)]
struct Row {
    /// Owner kind and name (pods) or Deployment name (ReplicaSets).
    kind: &'static str,
    name: &'static str,
    instance: &'static str,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
struct Pod {
    namespace: usize,
    name: String,
    rows: Vec<Row>,
    node: usize,
    /// Scrapes during which the containers run.
    alive: std::ops::Range<usize>,
}

#[derive(Debug, Clone)]
struct ReplicaSet {
    namespace: usize,
    name: &'static str,
    rows: Vec<Row>,
}

#[derive(Debug, Clone)]
struct Cluster {
    pods: Vec<Pod>,
    replicasets: Vec<ReplicaSet>,
}

const POD_OWNERS: [(&str, &str); 7] = [
    ("DaemonSet", "calico-node"),
    ("ReplicaSet", "coredns-5d78c9869d"),
    ("ReplicaSet", "coredns-6f4b7d8c5"),
    ("StatefulSet", "postgres"),
    ("Job", "backup-28311"),
    ("ReplicaSet", "api-7c9f8"),
    ("<none>", "<none>"),
];
const RS_NAMES: [&str; 3] = ["coredns-5d78c9869d", "coredns-6f4b7d8c5", "api-7c9f8"];
const DEPLOYMENTS: [&str; 3] = ["coredns", "api", "coredns-v2"];

fn segment() -> impl Strategy<Value = Segment> {
    (
        0usize..SCRAPES,
        1usize..SCRAPES,
        prop_oneof![4 => Just(0usize), 1 => 2usize..5, 1 => Just(31usize)],
        prop_oneof![6 => Just(1.0f64), 1 => Just(2.0), 1 => Just(f64::NAN)],
        any::<bool>(),
    )
        .prop_map(|(start, len, skip_every, value, stale_after)| Segment {
            start,
            len,
            skip_every,
            value,
            stale_after,
        })
}

fn rows(
    names: &'static [(&'static str, &'static str)],
    max_rows: usize,
) -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec(
        (
            0..names.len(),
            any::<bool>(),
            prop::collection::vec(segment(), 1..4),
        ),
        0..max_rows,
    )
    .prop_map(move |picks| {
        picks
            .into_iter()
            .map(|(i, second, segments)| {
                let (kind, name) = names[i];
                Row {
                    kind,
                    name,
                    instance: if second { "ksm-b" } else { "ksm-a" },
                    segments,
                }
            })
            .collect()
    })
}

const RS_OWNERS: [(&str, &str); 3] = [
    ("Deployment", DEPLOYMENTS[0]),
    ("Deployment", DEPLOYMENTS[1]),
    ("Deployment", DEPLOYMENTS[2]),
];

fn cluster() -> impl Strategy<Value = Cluster> {
    let pod = (
        0..NAMESPACES.len(),
        0usize..5,
        rows(&POD_OWNERS, 3),
        0usize..2,
        0usize..SCRAPES,
        1usize..SCRAPES,
    )
        .prop_map(|(namespace, id, rows, node, start, len)| Pod {
            namespace,
            name: format!("pod-{id}"),
            rows,
            node,
            alive: start..start + len,
        });
    let rs = (0..NAMESPACES.len(), 0..RS_NAMES.len(), rows(&RS_OWNERS, 3)).prop_map(
        |(namespace, i, rows)| ReplicaSet {
            namespace,
            name: RS_NAMES[i],
            rows,
        },
    );
    (
        prop::collection::vec(pod, 1..7),
        prop::collection::vec(rs, 0..4),
    )
        .prop_map(|(pods, replicasets)| Cluster { pods, replicasets })
}

/// Adds a row's samples: its segments in order, later segments starting after earlier ones end.
fn add_row(store: &MemStore, labels: &Labels, row: &Row) {
    let mut next_free = 0usize;
    for seg in &row.segments {
        let start = seg.start.max(next_free);
        let end = (start + seg.len).min(SCRAPES);
        for k in start..end {
            if seg.skip_every > 0 && k > start && (k - start) % seg.skip_every == 0 {
                continue;
            }
            store.add(
                labels.clone(),
                Sample::new(k as i64 * STEP_MS + 2_000, seg.value),
            );
        }
        next_free = end;
        if seg.stale_after && end < SCRAPES {
            store.add(
                labels.clone(),
                Sample::new(end as i64 * STEP_MS + 2_000, STALE_NAN),
            );
            next_free = end + 1;
        }
    }
}

fn load(cluster: &Cluster, split_gap: i64) -> MemStore {
    let store = MemStore::new();
    store.index_runs(INDEXED, split_gap);
    for pod in &cluster.pods {
        let ns = NAMESPACES[pod.namespace];
        for (c, container) in ["POD", "app"].into_iter().enumerate() {
            for metric in [
                "container_cpu_usage_seconds_total",
                "container_memory_working_set_bytes",
            ] {
                let labels = Labels::from_pairs([
                    ("__name__", metric.to_string()),
                    ("job", "kubernetes-nodes-cadvisor".to_string()),
                    ("namespace", ns.to_string()),
                    ("pod", pod.name.clone()),
                    ("pod_name", pod.name.clone()),
                    ("container", container.to_string()),
                    ("container_name", container.to_string()),
                    ("image", if c == 0 { "" } else { "app:1" }.to_string()),
                    ("kubernetes_io_hostname", format!("node-{}", pod.node)),
                    ("cpu", "total".to_string()),
                ]);
                let mut value = 0.0;
                for k in pod.alive.clone().take_while(|&k| k < SCRAPES) {
                    value += 0.25 * (c + 1) as f64;
                    store.add(
                        labels.clone(),
                        Sample::new(k as i64 * STEP_MS + 1_000, value),
                    );
                }
            }
        }
        let info = Labels::from_pairs([
            ("__name__", "kube_pod_info"),
            ("job", "kube-state-metrics"),
            ("namespace", ns),
            ("pod", pod.name.as_str()),
            ("node", if pod.node == 0 { "node-0" } else { "node-1" }),
        ]);
        for k in pod.alive.clone().take_while(|&k| k < SCRAPES) {
            store.add(info.clone(), Sample::new(k as i64 * STEP_MS + 2_000, 1.0));
        }
        for row in &pod.rows {
            let labels = Labels::from_pairs([
                ("__name__", "kube_pod_owner"),
                ("job", "kube-state-metrics"),
                ("instance", row.instance),
                ("namespace", ns),
                ("pod", pod.name.as_str()),
                ("owner_kind", row.kind),
                ("owner_name", row.name),
                ("owner_is_controller", "true"),
            ]);
            add_row(&store, &labels, row);
        }
    }
    for rs in &cluster.replicasets {
        for row in &rs.rows {
            let labels = Labels::from_pairs([
                ("__name__", "kube_replicaset_owner"),
                ("job", "kube-state-metrics"),
                ("instance", row.instance),
                ("namespace", NAMESPACES[rs.namespace]),
                ("replicaset", rs.name),
                ("owner_kind", row.kind),
                ("owner_name", row.name),
            ]);
            add_row(&store, &labels, row);
        }
    }
    store
}

/// The workload's query files plus selectors with `offset` and `@`.
fn queries() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/workload");
    let mut out = Vec::new();
    for style in ["legacy", "modern"] {
        let dir = root.join(style);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "promql"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("query file is readable");
            out.push((format!("{style}/{}", f.display()), text));
        }
    }
    assert!(
        out.len() >= 30,
        "expected the workload's query files, found {}",
        out.len()
    );
    for extra in [
        "kube_pod_owner",
        "kube_pod_owner offset 2m",
        "kube_pod_owner offset -1m",
        "kube_replicaset_owner @ 300",
        "max by (namespace, pod, node) (kube_pod_info{node!=\"\"} offset 30s)",
        "count(kube_pod_owner{owner_kind=\"ReplicaSet\"}) by (namespace)",
        "timestamp(kube_pod_owner)",
    ] {
        out.push((extra.to_string(), extra.to_string()));
    }
    out
}

fn engines(lookback_delta_ms: i64) -> (Engine, Engine) {
    let opts = |fast_path| {
        Engine::new(EngineOptions {
            fast_path,
            lookback_delta_ms,
            ..EngineOptions::default()
        })
    };
    (opts(true), opts(false))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn runs_and_samples_agree(
        cluster in cluster(),
        split_gap in prop_oneof![Just(60_000i64), Just(300_000), Just(i64::MAX)],
        lookback in prop_oneof![Just(60_000i64), Just(300_000), Just(45_000)],
        t_idx in 0usize..SCRAPES + 25,
        // On the owner samples' times (+2 s) half of the time, to hit the boundaries exactly:
        // a step at a marker's time, a step exactly one lookback after the last sample.
        offset_ms in prop_oneof![Just(2_000i64), 0i64..15_000],
        step_ms in prop_oneof![Just(15_000i64), Just(37_000), Just(60_000)],
    ) {
        let store = load(&cluster, split_gap);
        let (fast, generic) = engines(lookback);
        let t = t_idx as i64 * STEP_MS + offset_ms;
        let (start, end) = (offset_ms, (SCRAPES as i64 + 25) * STEP_MS + offset_ms);
        for (name, q) in queries() {
            let a = outcome_text(&fast.instant_query(&store, &q, t));
            let b = outcome_text(&generic.instant_query(&store, &q, t));
            prop_assert_eq!(&a, &b, "instant query at {} differs: {}", t, name);
            let a = outcome_text(&fast.range_query(&store, &q, start, end, step_ms));
            let b = outcome_text(&generic.range_query(&store, &q, start, end, step_ms));
            prop_assert_eq!(&a, &b, "range query differs: {}", name);
        }
    }
}

/// A fixed cluster where the run path is taken and returns rows, so the equivalence above is not
/// vacuous: `kube_pod_owner` is answered from one run per series (nothing decoded), and an owner
/// change (pod re-parented from one ReplicaSet to another mid-range) shows in the range result.
#[test]
fn runs_are_used_and_follow_owner_changes() {
    let seg = |start, len, stale_after| Segment {
        start,
        len,
        skip_every: 0,
        value: 1.0,
        stale_after,
    };
    let row = |name, segments| Row {
        kind: "ReplicaSet",
        name,
        instance: "ksm-a",
        segments,
    };
    let cluster = Cluster {
        pods: vec![Pod {
            namespace: 0,
            name: "coredns-1".into(),
            rows: vec![
                row("coredns-5d78c9869d", vec![seg(0, 30, true)]),
                row("coredns-6f4b7d8c5", vec![seg(31, 29, false)]),
            ],
            node: 0,
            alive: 0..SCRAPES,
        }],
        replicasets: vec![],
    };
    let store = load(&cluster, 300_000);
    let (fast, generic) = engines(300_000);
    let q = "max(kube_pod_owner) by (owner_name, owner_kind, pod, namespace)";
    let (start, end) = (7_500, SCRAPES as i64 * STEP_MS);
    let a = fast
        .range_query(&store, q, start, end, 60_000)
        .expect("query runs");
    let b = generic
        .range_query(&store, q, start, end, 60_000)
        .expect("query runs");
    assert_eq!(outcome_text(&Ok(a.clone())), outcome_text(&Ok(b.clone())));
    // Two owner series, one run each: two "samples" instead of the 57 decoded ones up to the
    // last step (847.5 s), the marker included.
    assert_eq!(a.stats.samples_loaded, 2, "{:?}", a.stats);
    assert_eq!(b.stats.samples_loaded, 57, "{:?}", b.stats);
    let Value::Matrix(m) = &a.value else {
        panic!("expected a matrix, got {:?}", a.value)
    };
    let owners: Vec<(&str, i64, i64)> = m
        .iter()
        .map(|s| {
            (
                s.labels.get("owner_name").unwrap_or(""),
                s.samples.first().map_or(-1, |p| p.t),
                s.samples.last().map_or(-1, |p| p.t),
            )
        })
        .collect();
    // The first ReplicaSet until its staleness marker at scrape 30 (452 s), the second from
    // its first sample at scrape 31 (467 s) on.
    assert_eq!(
        owners,
        vec![
            ("coredns-5d78c9869d", 7_500, 427_500),
            ("coredns-6f4b7d8c5", 487_500, 847_500),
        ]
    );
}
