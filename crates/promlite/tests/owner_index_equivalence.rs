//! End to end through the storage engine: the owner index (value runs kept at ingest in the head,
//! built lazily for blocks) must make the fast path give exactly the generic evaluator's answers
//! and errors for every workload query, with data in blocks, in the head, in both, and after
//! reopening (blocks from disk, the head rebuilt by WAL replay).
//!
//! Owner series get random value changes, gaps longer than the lookback and staleness markers;
//! ingest is scrape by scrape (one commit each) with automatic compaction into 5-minute blocks.

use promlite_eval::outcome_text::outcome_text;
use std::path::Path;

use promlite::{Db, Labels, Options, StorageOptions, WalSync, STALE_NAN};
use promlite_eval::{Engine, EngineOptions};
use proptest::prelude::*;

const STEP_MS: i64 = 15_000;
const SCRAPES: usize = 60;
const NAMESPACES: [&str; 2] = ["kube-system", "payments"];
const POD_OWNERS: [(&str, &str); 6] = [
    ("DaemonSet", "calico-node"),
    ("ReplicaSet", "coredns-5d78c9869d"),
    ("ReplicaSet", "coredns-6f4b7d8c5"),
    ("StatefulSet", "postgres"),
    ("Job", "backup-28311"),
    ("<none>", "<none>"),
];
const RS_NAMES: [&str; 2] = ["coredns-5d78c9869d", "coredns-6f4b7d8c5"];
const DEPLOYMENTS: [&str; 2] = ["coredns", "coredns-v2"];

/// One owner row: which owner, and its samples as (scrape index, value kind) where kind 0 is a
/// staleness marker, 1 the value 2, otherwise 1.
#[derive(Debug, Clone)]
struct Row {
    namespace: usize,
    /// Pod (or ReplicaSet) index.
    subject: usize,
    owner: usize,
    samples: Vec<(usize, u8)>,
}

#[derive(Debug, Clone)]
struct Cluster {
    pod_rows: Vec<Row>,
    rs_rows: Vec<Row>,
    /// Per pod: scrapes during which its container runs.
    alive: Vec<std::ops::Range<usize>>,
}

/// Scrape indexes with gaps: mostly consecutive, sometimes a jump past the lookback.
fn row() -> impl Strategy<Value = Row> {
    (
        0..NAMESPACES.len(),
        0usize..4,
        0usize..6,
        0usize..10,
        prop::collection::vec(
            (prop_oneof![9 => Just(1usize), 1 => 2..30usize], 0..12u8),
            1..60,
        ),
    )
        .prop_map(|(namespace, subject, owner, start, steps)| {
            let mut k = start;
            let samples = steps
                .into_iter()
                .map(|(gap, kind)| {
                    let s = (k, kind);
                    k += gap;
                    s
                })
                .take_while(|(k, _)| *k < SCRAPES)
                .collect();
            Row {
                namespace,
                subject,
                owner,
                samples,
            }
        })
}

fn cluster() -> impl Strategy<Value = Cluster> {
    (
        prop::collection::vec(row(), 1..8),
        prop::collection::vec(row(), 0..4),
        prop::collection::vec((0..SCRAPES, 1..SCRAPES), 4),
    )
        .prop_map(|(pod_rows, rs_rows, alive)| Cluster {
            pod_rows,
            rs_rows,
            alive: alive.into_iter().map(|(s, l)| s..s + l).collect(),
        })
}

/// Every sample of the cluster as (scrape index, labels, timestamp, value).
fn samples(cluster: &Cluster) -> Vec<(usize, Labels, i64, f64)> {
    let mut out = Vec::new();
    let value = |kind: u8| match kind {
        0 => STALE_NAN,
        1 => 2.0,
        _ => 1.0,
    };
    for r in &cluster.pod_rows {
        let (kind, name) = POD_OWNERS[r.owner % POD_OWNERS.len()];
        let labels = Labels::from_pairs([
            ("__name__", "kube_pod_owner".to_string()),
            ("job", "kube-state-metrics".to_string()),
            ("namespace", NAMESPACES[r.namespace].to_string()),
            ("pod", format!("pod-{}", r.subject)),
            ("owner_kind", kind.to_string()),
            ("owner_name", name.to_string()),
        ]);
        for &(k, v) in &r.samples {
            out.push((k, labels.clone(), k as i64 * STEP_MS + 2_000, value(v)));
        }
    }
    for r in &cluster.rs_rows {
        let labels = Labels::from_pairs([
            ("__name__", "kube_replicaset_owner"),
            ("job", "kube-state-metrics"),
            ("namespace", NAMESPACES[r.namespace]),
            ("replicaset", RS_NAMES[r.subject % RS_NAMES.len()]),
            ("owner_kind", "Deployment"),
            ("owner_name", DEPLOYMENTS[r.owner % DEPLOYMENTS.len()]),
        ]);
        for &(k, v) in &r.samples {
            out.push((k, labels.clone(), k as i64 * STEP_MS + 2_000, value(v)));
        }
    }
    for (pod, alive) in cluster.alive.iter().enumerate() {
        for ns in NAMESPACES {
            let labels = Labels::from_pairs([
                ("__name__", "container_cpu_usage_seconds_total".to_string()),
                ("job", "kubernetes-nodes-cadvisor".to_string()),
                ("namespace", ns.to_string()),
                ("pod", format!("pod-{pod}")),
                ("pod_name", format!("pod-{pod}")),
                ("container", "app".to_string()),
                ("container_name", "app".to_string()),
                ("image", "app:1".to_string()),
                ("kubernetes_io_hostname", "node-0".to_string()),
            ]);
            for k in alive.clone().take_while(|&k| k < SCRAPES) {
                out.push((
                    k,
                    labels.clone(),
                    k as i64 * STEP_MS + 1_000,
                    k as f64 * 0.5,
                ));
            }
        }
        let info = Labels::from_pairs([
            ("__name__", "kube_pod_info".to_string()),
            ("job", "kube-state-metrics".to_string()),
            ("namespace", NAMESPACES[pod % 2].to_string()),
            ("pod", format!("pod-{pod}")),
            ("node", "node-0".to_string()),
        ]);
        for k in alive.clone().take_while(|&k| k < SCRAPES) {
            out.push((k, info.clone(), k as i64 * STEP_MS + 2_000, 1.0));
        }
    }
    // Two generated rows may be the same series: keep one sample per series and timestamp.
    let mut seen = std::collections::HashSet::new();
    out.retain(|(_, labels, t, _)| seen.insert((labels.clone(), *t)));
    out.sort_by_key(|(k, _, t, _)| (*k, *t));
    out
}

fn options() -> Options {
    Options {
        storage: StorageOptions {
            block_range: 300_000,
            wal_sync: WalSync::Never,
            ..StorageOptions::default()
        },
        ..Options::default()
    }
}

/// Ingests scrapes `from..to`, one commit per scrape.
fn ingest(db: &Db, all: &[(usize, Labels, i64, f64)], from: usize, to: usize) {
    let mut app = db.appender();
    for k in from..to {
        for (_, labels, t, v) in all.iter().filter(|s| s.0 == k) {
            app.append(labels, *t, *v).expect("in-order sample");
        }
        app.commit().expect("commit");
    }
}

fn queries() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/workload");
    let mut out = Vec::new();
    for style in ["legacy", "modern"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(style))
            .expect("workload directory")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "promql"))
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            let text = std::fs::read_to_string(&f).expect("query file is readable");
            out.push((format!("{style}/{}", name.unwrap_or_default()), text));
        }
    }
    assert!(out.len() >= 30, "found only {} query files", out.len());
    out.push(("offset".into(), "kube_pod_owner offset 1m".into()));
    out
}

/// Runs every query with the fast path on and off against `db`'s storage.
fn check(db: &Db, lookback: i64, t: i64, stage: &str) -> Result<(), TestCaseError> {
    let engine = |fast_path| {
        Engine::new(EngineOptions {
            fast_path,
            lookback_delta_ms: lookback,
            ..EngineOptions::default()
        })
    };
    let (fast, generic) = (engine(true), engine(false));
    let store = db.storage();
    let (start, end) = (2_000, (SCRAPES as i64 + 25) * STEP_MS);
    for (name, q) in queries() {
        let a = outcome_text(&fast.instant_query(store, &q, t));
        let b = outcome_text(&generic.instant_query(store, &q, t));
        prop_assert_eq!(
            &a,
            &b,
            "{}: instant query at {} differs: {}",
            stage,
            t,
            name
        );
        let a = outcome_text(&fast.range_query(store, &q, start, end, 30_000));
        let b = outcome_text(&generic.range_query(store, &q, start, end, 30_000));
        prop_assert_eq!(&a, &b, "{}: range query differs: {}", stage, name);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_with_owner_index_agrees_with_generic(
        cluster in cluster(),
        split in 0..SCRAPES,
        t_idx in 0..SCRAPES + 20,
        lookback in prop_oneof![Just(300_000i64), Just(60_000), Just(30_000)],
    ) {
        let all = samples(&cluster);
        let dir = tempfile::tempdir().expect("temp dir");
        let t = t_idx as i64 * STEP_MS + 2_000;
        {
            let db = Db::open(dir.path(), options()).expect("open");
            ingest(&db, &all, 0, split);
            check(&db, lookback, t, "first part")?;
            ingest(&db, &all, split, SCRAPES);
            check(&db, lookback, t, "blocks and head")?;
        }
        let db = Db::open(dir.path(), options()).expect("reopen");
        check(&db, lookback, t, "reopened")?;
        db.flush().expect("flush");
        check(&db, lookback, t, "all in blocks")?;
    }
}

/// The storage engine's run index is really used: `kube_pod_owner` over 15 minutes loads one
/// "sample" per run instead of the decoded samples, with data in blocks and head.
#[test]
fn owner_index_replaces_decoding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), options()).expect("open");
    let cluster = Cluster {
        pod_rows: vec![Row {
            namespace: 0,
            subject: 0,
            owner: 0,
            samples: (0..SCRAPES).map(|k| (k, 7)).collect(),
        }],
        rs_rows: vec![],
        alive: std::iter::once(0..SCRAPES).collect(),
    };
    ingest(&db, &samples(&cluster), 0, SCRAPES);
    assert!(
        db.storage().blocks().len() >= 2,
        "{:?}",
        db.storage().blocks()
    );
    let q = "max(kube_pod_owner) by (owner_name, owner_kind, pod, namespace)";
    let end = SCRAPES as i64 * STEP_MS;
    let fast = db
        .query_range(q, 2_000, end, std::time::Duration::from_secs(15))
        .expect("query");
    let generic = Engine::new(EngineOptions {
        fast_path: false,
        ..EngineOptions::default()
    })
    .range_query(db.storage(), q, 2_000, end, 15_000)
    .expect("query");
    assert_eq!(
        outcome_text(&Ok(fast.clone())),
        outcome_text(&Ok(generic.clone()))
    );
    assert_eq!(generic.stats.samples_loaded, SCRAPES);
    // One run per source (each block, the head): far fewer than the samples.
    let sources = db.storage().blocks().len() + 1;
    assert!(
        fast.stats.samples_loaded <= sources,
        "{} runs for {sources} sources",
        fast.stats.samples_loaded
    );
    assert!(fast.stats.samples_loaded >= 1);
}
