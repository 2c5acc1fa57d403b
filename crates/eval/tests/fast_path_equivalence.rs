//! The workload-join fast path must give exactly the generic evaluator's answers and errors.
//!
//! Random small clusters (pod churn, pods without owners, duplicate and conflicting owner rows,
//! kube-state-metrics replicas, 2018 and current label names) are loaded into a `MemStore`; every
//! workload query shape from seed 000 runs as an instant and as a range query with the fast path
//! on and off. Values must be bitwise identical and errors must have the same message.

use promlite_eval::outcome_text::outcome_text;
use promlite_eval::{Engine, EngineOptions, Value};
use promlite_model::{Labels, MemStore, Sample};
use proptest::prelude::*;

const STEP_MS: i64 = 15_000;

/// One pod of a generated cluster.
#[derive(Debug, Clone)]
struct Pod {
    namespace: usize,
    name: String,
    /// Index into the owners list, or `None` for a bare pod.
    owners: Vec<(String, String)>,
    /// Scrape indexes during which the pod's containers exist.
    alive: std::ops::Range<usize>,
    containers: usize,
    /// Per-scrape CPU increments; a zero increment at index 5 simulates a counter reset.
    cpu_rate: f64,
    host: usize,
}

#[derive(Debug, Clone)]
struct Cluster {
    pods: Vec<Pod>,
    /// ReplicaSet → (owner kind, owner name) rows, possibly duplicated.
    replicasets: Vec<(usize, String, String, String)>,
    legacy_names: bool,
    ksm_replicas: usize,
    scrapes: usize,
}

fn pod_strategy() -> impl Strategy<Value = Pod> {
    (
        0usize..3,
        0usize..6,
        prop::collection::vec((0usize..4, 0usize..3), 0..3),
        0usize..20,
        1usize..20,
        1usize..3,
        0.1f64..5.0,
        0usize..2,
    )
        .prop_map(
            |(namespace, id, owner_picks, start, len, containers, cpu_rate, host)| {
                let kinds = ["ReplicaSet", "DaemonSet", "StatefulSet", "<none>"];
                let owners = owner_picks
                    .into_iter()
                    .map(|(k, o)| {
                        let kind = kinds[k].to_string();
                        let name = if kind == "<none>" {
                            "<none>".to_string()
                        } else {
                            format!("w{o}-rs{}", o % 2)
                        };
                        (kind, name)
                    })
                    .collect();
                Pod {
                    namespace,
                    name: format!("pod-{id}"),
                    owners,
                    alive: start..start + len,
                    containers,
                    cpu_rate,
                    host,
                }
            },
        )
}

fn cluster_strategy() -> impl Strategy<Value = Cluster> {
    (
        prop::collection::vec(pod_strategy(), 1..8),
        prop::collection::vec((0usize..3, 0usize..4, 0usize..3), 0..5),
        any::<bool>(),
        1usize..3,
    )
        .prop_map(|(pods, rs, legacy_names, ksm_replicas)| {
            let replicasets = rs
                .into_iter()
                .map(|(ns, o, d)| {
                    (
                        ns,
                        format!("w{o}-rs{}", o % 2),
                        "Deployment".to_string(),
                        format!("dep{d}"),
                    )
                })
                .collect();
            Cluster {
                pods,
                replicasets,
                legacy_names,
                ksm_replicas,
                scrapes: 40,
            }
        })
}

fn load(cluster: &Cluster) -> MemStore {
    let store = MemStore::new();
    let (pod_label, container_label) = if cluster.legacy_names {
        ("pod_name", "container_name")
    } else {
        ("pod", "container")
    };
    for pod in &cluster.pods {
        let ns = format!("ns{}", pod.namespace);
        for c in 0..pod.containers {
            let container = if c == 0 {
                "POD".to_string()
            } else {
                format!("c{c}")
            };
            let labels = Labels::from_pairs([
                ("__name__", "container_cpu_usage_seconds_total".to_string()),
                ("namespace", ns.clone()),
                (pod_label, pod.name.clone()),
                (container_label, container),
                ("kubernetes_io_hostname", format!("node{}", pod.host)),
                ("cpu", "total".to_string()),
            ]);
            let mut value = 0.0;
            for k in pod.alive.clone().take_while(|&k| k < cluster.scrapes) {
                // A counter reset five scrapes in, to exercise rate's reset handling.
                value = if k == pod.alive.start + 5 {
                    0.5
                } else {
                    value + pod.cpu_rate * (c + 1) as f64
                };
                store.add(
                    labels.clone(),
                    Sample::new(k as i64 * STEP_MS + 1_000, value),
                );
            }
            let end = pod.alive.end;
            if end < cluster.scrapes {
                store.add(
                    labels.clone(),
                    Sample::new(end as i64 * STEP_MS + 1_000, promlite_model::STALE_NAN),
                );
            }
        }
        for replica in 0..cluster.ksm_replicas {
            for (kind, owner) in &pod.owners {
                let labels = Labels::from_pairs([
                    ("__name__", "kube_pod_owner"),
                    ("namespace", ns.as_str()),
                    ("pod", pod.name.as_str()),
                    ("owner_kind", kind.as_str()),
                    ("owner_name", owner.as_str()),
                    ("owner_is_controller", "true"),
                    ("instance", if replica == 0 { "ksm-a" } else { "ksm-b" }),
                ]);
                for k in pod.alive.clone().take_while(|&k| k < cluster.scrapes) {
                    store.add(labels.clone(), Sample::new(k as i64 * STEP_MS + 2_000, 1.0));
                }
            }
        }
    }
    for replica in 0..cluster.ksm_replicas {
        for (ns, rs, kind, owner) in &cluster.replicasets {
            let labels = Labels::from_pairs([
                ("__name__", "kube_replicaset_owner".to_string()),
                ("namespace", format!("ns{ns}")),
                ("replicaset", rs.clone()),
                ("owner_kind", kind.clone()),
                ("owner_name", owner.clone()),
                (
                    "instance",
                    if replica == 0 { "ksm-a" } else { "ksm-b" }.to_string(),
                ),
            ]);
            for k in 0..cluster.scrapes {
                store.add(labels.clone(), Sample::new(k as i64 * STEP_MS + 2_000, 1.0));
            }
        }
    }
    store
}

/// The workload's query shapes, written for the cluster's label style.
fn queries(legacy: bool) -> Vec<String> {
    let pod_cpu = if legacy {
        r#"label_replace(sum(rate(container_cpu_usage_seconds_total[1m])) by (namespace, pod_name, kubernetes_io_hostname), "pod", "$1", "pod_name", "(.+)")"#
    } else {
        r#"sum(rate(container_cpu_usage_seconds_total[1m])) by (namespace, pod, kubernetes_io_hostname)"#
    };
    let owners = "max(kube_pod_owner) by (owner_name, owner_kind, pod, namespace)";
    let join =
        format!("{owners} * on(pod, namespace) group_right(owner_name, owner_kind) {pod_cpu}");
    let deployment = r#"max(label_replace(label_replace(label_replace(label_replace(label_replace(max(kube_replicaset_owner) by (namespace, owner_name, owner_kind, replicaset), "new_kind", "$1", "owner_kind", "(.+)"), "new_name", "$1", "owner_name", "(.+)"), "owner_name", "$1", "replicaset", "(.+)") * on(owner_name, namespace) group_right(new_name, new_kind) max(kube_pod_owner) by (owner_name, owner_kind, pod, namespace), "owner_kind", "$1", "new_kind", "(.+)"), "owner_name", "$1", "new_name", "(.+)")) by (owner_name, owner_kind, pod, namespace)"#;
    let meta_filtered = |ns: &str| {
        format!(
            r#"max(max(kube_replicaset_owner{{namespace="{ns}"}}) by (namespace, owner_name, owner_kind, replicaset) * on(replicaset, namespace) group_right(owner_name, owner_kind) label_replace(max(kube_pod_owner{{namespace="{ns}",owner_kind="ReplicaSet"}}) by (owner_name, pod, namespace), "replicaset", "$1", "owner_name", "(.+)") or kube_pod_owner{{namespace="{ns}"}}) by (owner_name, owner_kind, pod, namespace)"#
        )
    };
    let query_a = format!(
        "{} * on(pod, namespace) group_right(owner_kind, owner_name) {pod_cpu}",
        meta_filtered("ns1")
    );
    vec![
        pod_cpu.to_string(),
        owners.to_string(),
        join.clone(),
        format!("avg({join}) by (namespace, owner_kind, owner_name)"),
        deployment.to_string(),
        format!("{deployment} * on(pod, namespace) group_right(owner_kind, owner_name) {pod_cpu}"),
        query_a.clone(),
        format!("avg({query_a}) by (owner_name, owner_kind, namespace)"),
        format!("{pod_cpu} * on(pod, namespace) group_left(owner_name, owner_kind) {owners}"),
        format!("{pod_cpu} and on(pod, namespace) kube_pod_owner{{owner_kind=\"DaemonSet\"}}"),
        format!("{owners} * on(pod) group_right(owner_kind) {pod_cpu}"),
        format!("{owners} * on(pod, namespace) {pod_cpu}"),
    ]
}

/// The fast path with keys always pushed (sequential evaluation), and the generic path.
fn engines() -> (Engine, Engine) {
    let fast = Engine::new(EngineOptions {
        fast_path: true,
        parallel: false,
        ..EngineOptions::default()
    });
    let generic = Engine::new(EngineOptions {
        fast_path: false,
        parallel: false,
        ..EngineOptions::default()
    });
    (fast, generic)
}

/// The fast path as a default engine runs it: joins whose one side selects everything evaluate
/// both sides concurrently instead of pushing keys, and per-series work is spread from the first
/// series on.
fn concurrent_engine() -> Engine {
    Engine::new(EngineOptions {
        fast_path: true,
        parallel: true,
        parallel_min_series: 1,
        ..EngineOptions::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn fast_and_generic_paths_agree(cluster in cluster_strategy(), t_idx in 4usize..38, step_s in 1i64..4) {
        let store = load(&cluster);
        let (fast, generic) = engines();
        let concurrent = concurrent_engine();
        // Off the scrape grid: samples sit at +1s/+2s, evaluation at +7.5s.
        let t = t_idx as i64 * STEP_MS + 7_500;
        for q in queries(cluster.legacy_names) {
            let a = outcome_text(&fast.instant_query(&store, &q, t));
            let b = outcome_text(&generic.instant_query(&store, &q, t));
            let c = outcome_text(&concurrent.instant_query(&store, &q, t));
            prop_assert_eq!(&a, &b, "instant query at {} differs: {}", t, q);
            prop_assert_eq!(&c, &b, "concurrent instant query at {} differs: {}", t, q);
            let (start, end) = (7_500, 39 * STEP_MS + 7_500);
            let a = outcome_text(&fast.range_query(&store, &q, start, end, step_s * 20_000));
            let b = outcome_text(&generic.range_query(&store, &q, start, end, step_s * 20_000));
            let c = outcome_text(&concurrent.range_query(&store, &q, start, end, step_s * 20_000));
            prop_assert_eq!(&a, &b, "range query differs: {}", q);
            prop_assert_eq!(&c, &b, "concurrent range query differs: {}", q);
        }
    }
}

/// A pod alive for the whole test range with steady CPU, for the hand-built clusters below.
fn steady_pod(namespace: usize, name: &str, owners: &[(&str, &str)], containers: usize) -> Pod {
    Pod {
        namespace,
        name: name.to_string(),
        owners: owners
            .iter()
            .map(|(k, o)| (k.to_string(), o.to_string()))
            .collect(),
        alive: 0..40,
        containers,
        cpu_rate: 1.0,
        host: 0,
    }
}

/// A fixed cluster where the join has real matches, so the equivalence above is not vacuous:
/// the fast path must return non-empty, correctly joined rows.
#[test]
fn fast_path_join_returns_owner_labels() {
    let pod = |name: &str, kind: &str, owner: &str| steady_pod(1, name, &[(kind, owner)], 2);
    let cluster = Cluster {
        pods: vec![
            pod("pod-1", "DaemonSet", "ds"),
            pod("pod-2", "ReplicaSet", "w1-rs1"),
        ],
        replicasets: vec![(1, "w1-rs1".into(), "Deployment".into(), "dep1".into())],
        legacy_names: true,
        ksm_replicas: 2,
        scrapes: 40,
    };
    let store = load(&cluster);
    let (fast, generic) = engines();
    let q = &queries(true)[2];
    let t = 20 * STEP_MS + 7_500;
    let out = fast.instant_query(&store, q, t).expect("query runs");
    let Value::Vector(rows) = &out.value else {
        panic!("expected a vector, got {:?}", out.value)
    };
    assert_eq!(rows.len(), 2, "{rows:?}");
    let owners: Vec<_> = rows
        .iter()
        .map(|r| r.labels.get("owner_name").unwrap_or(""))
        .collect();
    assert!(
        owners.contains(&"ds") && owners.contains(&"w1-rs1"),
        "{owners:?}"
    );
    assert_eq!(
        outcome_text(&Ok(out)),
        outcome_text(&generic.instant_query(&store, q, t))
    );
}

/// Duplicate owner rows (two different owners for one pod) make Prometheus refuse the join with
/// a many-to-many error; the fast path must refuse it identically.
#[test]
fn fast_path_keeps_many_to_many_errors() {
    let cluster = Cluster {
        pods: vec![steady_pod(
            0,
            "pod-1",
            &[("ReplicaSet", "w1-rs1"), ("DaemonSet", "w2-rs0")],
            1,
        )],
        replicasets: vec![],
        legacy_names: true,
        ksm_replicas: 1,
        scrapes: 40,
    };
    let store = load(&cluster);
    let (fast, generic) = engines();
    let q = &queries(true)[2];
    let t = 20 * STEP_MS + 7_500;
    let a = fast
        .instant_query(&store, q, t)
        .expect_err("many-to-many must fail");
    let b = generic
        .instant_query(&store, q, t)
        .expect_err("many-to-many must fail");
    let c = concurrent_engine()
        .instant_query(&store, q, t)
        .expect_err("many-to-many must fail");
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(c.to_string(), b.to_string());
    assert!(
        a.to_string().contains("many-to-many matching not allowed"),
        "{a}"
    );
}

/// The fast path does less work: pods without an owner row never reach the rate computation,
/// because the join keys are pushed into the cAdvisor selector.
#[test]
fn fast_path_selects_only_joinable_series() {
    let mut pods = vec![steady_pod(0, "pod-0", &[("DaemonSet", "ds")], 2)];
    pods.extend((1..6).map(|i| steady_pod(0, &format!("pod-{i}"), &[], 2)));
    let cluster = Cluster {
        pods,
        replicasets: vec![],
        legacy_names: true,
        ksm_replicas: 1,
        scrapes: 40,
    };
    let store = load(&cluster);
    let (fast, generic) = engines();
    let q = &queries(true)[2];
    let t = 20 * STEP_MS + 7_500;
    let a = fast.instant_query(&store, q, t).expect("query runs");
    let b = generic.instant_query(&store, q, t).expect("query runs");
    assert_eq!(outcome_text(&Ok(a.clone())), outcome_text(&Ok(b.clone())));
    // Generic: 1 owner series + 6 pods x 2 containers. Fast: 1 owner series + 2 containers.
    assert_eq!(b.stats.series_selected, 13, "{:?}", b.stats);
    assert_eq!(a.stats.series_selected, 3, "{:?}", a.stats);
    // With threads, `max(kube_pod_owner)` (every owner row) counts as unselective: both sides
    // run at once, unfiltered, with the generic answer and the generic selection.
    let c = concurrent_engine()
        .instant_query(&store, q, t)
        .expect("query runs");
    assert_eq!(outcome_text(&Ok(c.clone())), outcome_text(&Ok(b.clone())));
    assert_eq!(c.stats.series_selected, 13, "{:?}", c.stats);
}
