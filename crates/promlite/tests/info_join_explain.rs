//! Decode-free joins for info-like series (issue 12, item 4), shown by `explain`: the info side
//! of `node_load1 * on(instance) group_left(nodename) node_uname_info` and of a `kube_pod_info`
//! join is answered from value runs (no sample decoded), in the head and in blocks, by the
//! default `*_info` pattern and by detection alone; answers equal the generic path's bitwise.

use promlite::{Db, ExplainNode, Labels, Options, QueryOptions, StorageOptions, WalSync};
use promlite_eval::outcome_text::output_text;
use promlite_eval::{Engine, EngineOptions};

const SCRAPE_MS: i64 = 15_000;
const SCRAPES: i64 = 80;

fn ingest(db: &Db) {
    let mut app = db.appender();
    let load = |i: i64| {
        Labels::from_pairs([
            ("__name__", "node_load1"),
            ("instance", &*format!("n{i}:9100")),
        ])
    };
    let uname = |i: i64| {
        Labels::from_pairs([
            ("__name__", "node_uname_info"),
            ("instance", &*format!("n{i}:9100")),
            ("nodename", &*format!("node-{i}")),
            ("release", "6.1.0"),
        ])
    };
    let pod_info = |p: i64| {
        Labels::from_pairs([
            ("__name__", "kube_pod_info"),
            ("namespace", "ns"),
            ("pod", &*format!("p{p}")),
            ("node", &*format!("node-{}", p % 3)),
        ])
    };
    let build = |p: i64| {
        Labels::from_pairs([
            ("__name__", "app_build_metadata"),
            ("namespace", "ns"),
            ("pod", &*format!("p{p}")),
            ("version", "1.2.3"),
        ])
    };
    let cpu = |p: i64| {
        Labels::from_pairs([
            ("__name__", "container_cpu_usage_seconds_total"),
            ("namespace", "ns"),
            ("pod", &*format!("p{p}")),
            ("container", "app"),
        ])
    };
    for k in 0..SCRAPES {
        let t = k * SCRAPE_MS;
        for i in 0..3 {
            app.append(&load(i), t + 100, (k % 7) as f64 * 0.25 + i as f64)
                .expect("append");
            app.append(&uname(i), t + 200, 1.0).expect("append");
        }
        for p in 0..5 {
            app.append(&pod_info(p), t + 300, 1.0).expect("append");
            app.append(&build(p), t + 300, 1.0).expect("append");
            app.append(&cpu(p), t + 400, k as f64 * (p + 1) as f64)
                .expect("append");
        }
        app.commit().expect("commit");
    }
}

fn options(detect_only: bool) -> Options {
    let mut storage = StorageOptions {
        block_range: 600_000,
        wal_sync: WalSync::Never,
        ..StorageOptions::default()
    };
    if detect_only {
        storage.owner_index_metrics = Vec::new();
        storage.owner_index_detect = true;
    }
    Options {
        storage,
        ..Options::default()
    }
}

/// The explain node of selector `text`.
fn node<'a>(explain: &'a [ExplainNode], text: &str) -> &'a ExplainNode {
    explain
        .iter()
        .find(|n| n.node == text)
        .unwrap_or_else(|| panic!("no node {text} in {}", promlite::render_explain(explain)))
}

/// Runs `query` (instant and range) with explain; the info selector must decode nothing and
/// the data selector must decode samples; answers must equal the generic path's.
fn check(db: &Db, query: &str, info_selector: &str, data_selector: &str, stage: &str) {
    let explain = QueryOptions {
        explain: true,
        ..QueryOptions::default()
    };
    let generic = Engine::new(EngineOptions {
        fast_path: false,
        ..EngineOptions::default()
    });
    let t = (SCRAPES - 10) * SCRAPE_MS;
    let step = std::time::Duration::from_secs(15);
    let outputs = [
        (
            db.query_with(query, t, &explain).expect("query"),
            generic
                .instant_query(db.storage(), query, t)
                .expect("generic"),
        ),
        (
            db.query_range_with(query, 60_000, t, step, &explain)
                .expect("range query"),
            generic
                .range_query(db.storage(), query, 60_000, t, 15_000)
                .expect("generic"),
        ),
    ];
    for (fast, plain) in outputs {
        let text = promlite::render_explain(&fast.explain);
        assert_eq!(
            output_text(&fast),
            output_text(&plain),
            "{stage}: {query}\n{text}"
        );
        assert!(
            !output_text(&plain).starts_with("warnings"),
            "{stage}: empty answer"
        );
        let info = node(&fast.explain, info_selector);
        assert_eq!(info.samples_loaded, 0, "{stage}: {text}");
        assert!(info.series_selected > 0, "{stage}: {text}");
        assert!(
            info.decisions.iter().any(|d| d.starts_with("value runs")),
            "{stage}: {text}"
        );
        let data = node(&fast.explain, data_selector);
        assert!(data.samples_loaded > 0, "{stage}: {text}");
    }
}

fn check_all(detect_only: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), options(detect_only)).expect("open");
    ingest(&db);
    let node_join = "node_load1 * on(instance) group_left(nodename) node_uname_info";
    let pod_join = "sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[1m])) * on(namespace, pod) group_left(node) kube_pod_info";
    for stage in ["head and blocks", "blocks"] {
        assert!(!db.storage().blocks().is_empty());
        check(&db, node_join, "node_uname_info", "node_load1", stage);
        check(
            &db,
            pod_join,
            "kube_pod_info",
            "rate(container_cpu_usage_seconds_total[1m])",
            stage,
        );
        if detect_only {
            // Not an `*_info` name: only detection finds it constant.
            check(
                &db,
                "node_load1 * on(instance) group_left(nodename) node_uname_info * on() group_left(version) max(app_build_metadata) by (version)",
                "app_build_metadata",
                "node_load1",
                stage,
            );
        }
        db.flush().expect("flush");
    }
}

#[test]
fn info_joins_decode_no_info_samples_by_pattern() {
    check_all(false);
}

#[test]
fn info_joins_decode_no_info_samples_by_detection() {
    check_all(true);
}
