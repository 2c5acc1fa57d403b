//! Regression tests for issue 12, finding 1: join-key pushdown hid errors the many side owes.
//!
//! The "one" side `max(kube_pod_owner{owner_kind="ReplicaSet"}) by (...)` keeps only pod `a`, so
//! pushing its keys into the many side removes pod `c`, whose two series become equal once
//! `rate` drops their metric names (or once `label_replace` overwrites the `pod` that told them
//! apart). Prometheus evaluates the whole many side and fails; so must promlite, on both paths.
//!
//! The expected error is Prometheus 2.42's, obtained by running `promtool test rules` (2.42.0)
//! on [`PROMTOOL_TEST`] — the same series, 15 s apart — with `eval_time` 5m7s (off the scrape
//! grid) and 5m (on it): promtool prints `err: vector cannot contain metrics with the same
//! labelset` for all four expressions. [`promtool_reports_the_recorded_error`] re-runs that
//! oracle when promtool is installed (CI requires it).

use promlite_eval::{Engine, EngineOptions, Error, QueryOutput};
use promlite_model::{Labels, MemStore, Sample};

/// Prometheus 2.42's message for a vector with two equal label sets (see the module doc).
const PROMETHEUS_DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// Finding 1 as reported: the filtered owner side with `rate` over two metric names.
const RATE_OVER_TWO_NAMES: &str = r#"max(kube_pod_owner{owner_kind="ReplicaSet"}) by (pod,namespace,owner_name) * on(pod,namespace) group_right(owner_name) rate({__name__=~"cpu_a_total|cpu_b_total"}[1m])"#;
/// The same join without the `owner_kind` filter (failed on both paths before the fix too).
const RATE_UNFILTERED: &str = r#"max(kube_pod_owner) by (pod,namespace,owner_name) * on(pod,namespace) group_right(owner_name) rate({__name__=~"cpu_a_total|cpu_b_total"}[1m])"#;
/// Finding 1's second case: two series share `pod_name` but differ in `pod`.
const LABEL_REPLACE_COLLISION: &str = r#"max(kube_pod_owner{owner_kind="ReplicaSet"}) by (pod,namespace,owner_name) * on(pod,namespace) group_right(owner_name) label_replace(rate(cpu_c_total[1m]), "pod", "$1", "pod_name", "(.+)")"#;

/// The oracle run: these series and the four evaluations above (promtool fails each with the
/// error it hit, which is what the test below looks for).
const PROMTOOL_TEST: &str = r#"evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'kube_pod_owner{namespace="ns",pod="a",owner_kind="ReplicaSet",owner_name="rs1"}'
        values: '1x40'
      - series: 'kube_pod_owner{namespace="ns",pod="b",owner_kind="DaemonSet",owner_name="ds1"}'
        values: '1x40'
      - series: 'cpu_a_total{namespace="ns",pod="a"}'
        values: '0+1x40'
      - series: 'cpu_a_total{namespace="ns",pod="c"}'
        values: '0+2x40'
      - series: 'cpu_b_total{namespace="ns",pod="c"}'
        values: '0+3x40'
      - series: 'cpu_c_total{namespace="ns",pod_name="x",pod="p1"}'
        values: '0+3x40'
      - series: 'cpu_c_total{namespace="ns",pod_name="x",pod="p2"}'
        values: '0+4x40'
      - series: 'cpu_c_total{namespace="ns",pod_name="a"}'
        values: '0+5x40'
    promql_expr_test:
"#;

/// The times promtool evaluated at, in milliseconds, as `eval_time` strings.
const TIMES: [(i64, &str); 2] = [(307_000, "5m7s"), (300_000, "5m")];

/// The series of [`PROMTOOL_TEST`] (`a+bxN` = N+1 samples from 0, 15 s apart).
fn store() -> MemStore {
    let db = MemStore::new();
    let add = |pairs: &[(&str, &str)], step_value: f64, constant: bool| {
        let labels = Labels::from_pairs(pairs.iter().copied());
        for k in 0..=40i64 {
            let v = if constant { 1.0 } else { k as f64 * step_value };
            db.add(labels.clone(), Sample::new(k * 15_000, v));
        }
    };
    let owner = |pod: &'static str, kind: &'static str, name: &'static str| {
        [
            ("__name__", "kube_pod_owner"),
            ("namespace", "ns"),
            ("pod", pod),
            ("owner_kind", kind),
            ("owner_name", name),
        ]
    };
    add(&owner("a", "ReplicaSet", "rs1"), 0.0, true);
    add(&owner("b", "DaemonSet", "ds1"), 0.0, true);
    add(
        &[
            ("__name__", "cpu_a_total"),
            ("namespace", "ns"),
            ("pod", "a"),
        ],
        1.0,
        false,
    );
    add(
        &[
            ("__name__", "cpu_a_total"),
            ("namespace", "ns"),
            ("pod", "c"),
        ],
        2.0,
        false,
    );
    add(
        &[
            ("__name__", "cpu_b_total"),
            ("namespace", "ns"),
            ("pod", "c"),
        ],
        3.0,
        false,
    );
    for (pod, slope) in [("p1", 3.0), ("p2", 4.0)] {
        add(
            &[
                ("__name__", "cpu_c_total"),
                ("namespace", "ns"),
                ("pod_name", "x"),
                ("pod", pod),
            ],
            slope,
            false,
        );
    }
    add(
        &[
            ("__name__", "cpu_c_total"),
            ("namespace", "ns"),
            ("pod_name", "a"),
        ],
        5.0,
        false,
    );
    db
}

/// Every way the engine can run a join: keys pushed (sequential), the generic path, and the
/// default parallel engine (which may evaluate the two sides concurrently instead).
fn engines() -> Vec<(&'static str, Engine)> {
    let opts = |fast_path: bool, parallel: bool| {
        Engine::new(EngineOptions {
            fast_path,
            parallel,
            parallel_min_series: 1,
            ..EngineOptions::default()
        })
    };
    vec![
        ("fast path", opts(true, false)),
        ("generic path", opts(false, false)),
        ("parallel fast path", opts(true, true)),
    ]
}

fn expect_duplicate_labelset(what: &str, result: Result<QueryOutput, Error>) {
    match result {
        Err(e) => assert_eq!(e.to_string(), PROMETHEUS_DUPLICATE_LABELSET, "{what}"),
        Ok(out) => panic!("{what}: expected Prometheus's error, got {:?}", out.value),
    }
}

fn check_all_paths(query: &str) {
    let db = store();
    for (name, engine) in engines() {
        for (t, label) in TIMES {
            expect_duplicate_labelset(
                &format!("{name}, instant at {label}: {query}"),
                engine.instant_query(&db, query, t),
            );
        }
        // The range form: both colliding series have points at every step.
        expect_duplicate_labelset(
            &format!("{name}, range: {query}"),
            engine.range_query(&db, query, 60_000, 600_000, 15_000),
        );
        expect_duplicate_labelset(
            &format!("{name}, range off-grid: {query}"),
            engine.range_query(&db, query, 67_000, 587_000, 10_000),
        );
    }
}

#[test]
fn filtered_owner_side_keeps_rate_duplicate_labelset_error() {
    check_all_paths(RATE_OVER_TWO_NAMES);
}

#[test]
fn unfiltered_owner_side_keeps_rate_duplicate_labelset_error() {
    check_all_paths(RATE_UNFILTERED);
}

#[test]
fn filtered_owner_side_keeps_label_replace_duplicate_labelset_error() {
    check_all_paths(LABEL_REPLACE_COLLISION);
}

/// The data is not degenerate: without the colliding series the same join answers one row
/// (pod `a`, cpu_a_total's rate of 1/15 per second), on both paths.
#[test]
fn without_the_collision_the_join_answers() {
    let db = store();
    let query = RATE_OVER_TWO_NAMES.replace("cpu_a_total|cpu_b_total", "cpu_a_total");
    for (name, engine) in engines() {
        let out = engine
            .instant_query(&db, &query, 307_000)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let promlite_eval::Value::Vector(rows) = out.value else {
            panic!("{name}: not a vector");
        };
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        assert_eq!(
            rows[0].labels.to_string(),
            r#"{namespace="ns", owner_name="rs1", pod="a"}"#
        );
        assert!(
            (rows[0].v - 1.0 / 15.0).abs() < 1e-12,
            "{name}: {}",
            rows[0].v
        );
    }
}

/// Re-runs the oracle the expectation was recorded from.
#[test]
fn promtool_reports_the_recorded_error() {
    let Some(promtool) = promlite_testkit::oracle_binary("promtool", "pushdown_errors oracle")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = PROMTOOL_TEST.to_string();
    let queries = [
        RATE_OVER_TWO_NAMES,
        RATE_UNFILTERED,
        LABEL_REPLACE_COLLISION,
    ];
    for q in queries {
        for (_, label) in TIMES {
            text.push_str(&format!(
                "      - expr: '{q}'\n        eval_time: {label}\n        exp_samples: []\n"
            ));
        }
    }
    let file = dir.path().join("pushdown_errors.yml");
    std::fs::write(&file, text).expect("write test file");
    let out = std::process::Command::new(promtool)
        .arg("test")
        .arg("rules")
        .arg(&file)
        .output()
        .expect("run promtool");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let errors = report
        .lines()
        .filter(|l| l.contains(&format!("err: {PROMETHEUS_DUPLICATE_LABELSET}")))
        .count();
    assert_eq!(errors, queries.len() * TIMES.len(), "{report}");
}
