//! Replaying a generated cluster into an on-disk `Db` (file and scrape directory) answers the
//! seed's queries exactly as the same samples in the model's reference `MemStore` do.

use promlite::{Db, Options, ScrapeTimes, Value};
use promlite_cluster::{ClusterSpec, Size};
use promlite_eval::{Engine, EngineOptions};
use promlite_model::{MemStore, Sample};

const QUERIES: &[&str] = &[
    "sum by (namespace, pod_name, kubernetes_io_hostname) (rate(container_cpu_usage_seconds_total[1m]))",
    r#"max by (owner_name, owner_kind, pod, namespace) (kube_pod_owner)
       * on (pod, namespace) group_right (owner_name, owner_kind)
       label_replace(sum by (namespace, pod_name, kubernetes_io_hostname) (rate(container_cpu_usage_seconds_total[1m])),
                     "pod", "$1", "pod_name", "(.+)")"#,
    "count(kube_replicaset_owner)",
];

fn reference(spec: &ClusterSpec) -> MemStore {
    let store = MemStore::new();
    promlite_cluster::for_each_sample(spec, |labels, t, v| {
        store.add(labels.clone(), Sample::new(t, v))
    })
    .unwrap();
    store
}

fn assert_same_answers(db: &Db, store: &MemStore, spec: &ClusterSpec) {
    let engine = Engine::new(EngineOptions::default());
    let last = spec.scrape_time(spec.n_scrapes() - 1);
    for query in QUERIES {
        for t in [last, last - 120_000] {
            let got = db.query(query, t).unwrap().value;
            let want = engine.instant_query(store, query, t).unwrap().value;
            assert!(
                matches!(&want, Value::Vector(v) if !v.is_empty()),
                "reference answer is empty for {query}"
            );
            assert_eq!(got, want, "{query} at {t}");
        }
    }
}

#[test]
fn replayed_openmetrics_file_answers_like_the_reference() {
    let spec = ClusterSpec::preset(Size::Tiny);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.om");
    let cluster_stats =
        promlite_cluster::write_openmetrics(&spec, std::fs::File::create(&file).unwrap()).unwrap();

    let db = Db::open(dir.path().join("data"), Options::default()).unwrap();
    let stats = db.replay_file(&file).unwrap();
    assert_eq!(stats.input.samples, cluster_stats.samples);
    assert!(
        stats.blocks_written > 0,
        "replay must leave the data compacted into blocks"
    );
    assert_same_answers(&db, &reference(&spec), &spec);

    // Durable: a fresh handle on the directory sees the same data from the blocks alone.
    drop(db);
    let db = Db::open(dir.path().join("data"), Options::default()).unwrap();
    assert!(!db.storage().blocks().is_empty());
    assert_same_answers(&db, &reference(&spec), &spec);
}

#[test]
fn replayed_scrape_directory_answers_like_the_reference() {
    let spec = ClusterSpec::preset(Size::Tiny);
    let dir = tempfile::tempdir().unwrap();
    let scrapes = dir.path().join("scrapes");
    std::fs::create_dir(&scrapes).unwrap();
    promlite_cluster::write_scrape_dir(&spec, &scrapes).unwrap();

    let db = Db::open(dir.path().join("data"), Options::default()).unwrap();
    let stats = db.replay_dir(&scrapes, ScrapeTimes::FileNames).unwrap();
    assert_eq!(stats.input.files, u64::from(spec.n_scrapes()));
    // Directory replay adds staleness markers like a scraper; the reference gets them too.
    let store = MemStore::new();
    let spec_with_markers = ClusterSpec {
        stale_markers: true,
        ..spec.clone()
    };
    promlite_cluster::for_each_sample(&spec_with_markers, |l, t, v| {
        store.add(l.clone(), Sample::new(t, v))
    })
    .unwrap();
    assert_same_answers(&db, &store, &spec);
}
