//! `replay` then `query`, `query-range`, `series`, `labels`, `label-values`: JSON output is
//! byte-for-byte Prometheus's API body for the library's answer; table output is aligned.

mod common;

use std::time::Duration;

use common::{fixture, promlite_ok, secs, WORKLOAD_JOIN};
use promlite_http::json;

#[test]
fn replay_is_durable_and_query_json_is_the_api_body() {
    let fx = fixture();
    let time = secs(fx.last_t);
    let out = promlite_ok(&[
        "query",
        "--data-dir",
        fx.data_str(),
        "--time",
        &time,
        "--format",
        "json",
        WORKLOAD_JOIN,
    ]);
    // The CLI has exited: the data must be in the directory, compacted into blocks.
    let db = promlite::Db::open(&fx.data, promlite::Options::default()).unwrap();
    assert!(
        !db.storage().blocks().is_empty(),
        "replay must leave blocks behind"
    );
    let expected = db.query(WORKLOAD_JOIN, fx.last_t).unwrap();
    assert!(matches!(&expected.value, promlite::Value::Vector(v) if v.len() >= 5));
    assert_eq!(
        out,
        json::query_success(&expected.value, None, &expected.warnings, &expected.infos) + "\n"
    );
}

#[test]
fn query_range_json_and_table() {
    let fx = fixture();
    let (start, end) = (fx.last_t - 300_000, fx.last_t);
    let query = "sum by (namespace) (rate(container_cpu_usage_seconds_total[1m]))";
    let args = ["--start", &secs(start), "--end", &secs(end), "--step", "1m"];
    let mut json_args = vec!["query-range", "--data-dir", fx.data_str()];
    json_args.extend(args);
    json_args.extend(["--format", "json", query]);
    let out = promlite_ok(&json_args);
    let db = promlite::Db::open(&fx.data, promlite::Options::default()).unwrap();
    let expected = db
        .query_range(query, start, end, Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        out,
        json::query_success(&expected.value, None, &[], &[]) + "\n"
    );
    drop(db);

    let mut table_args = vec!["query-range", "--data-dir", fx.data_str()];
    table_args.extend(args);
    table_args.push(query);
    let table = promlite_ok(&table_args);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("SERIES") && header.contains("TIME") && header.ends_with("VALUE"),
        "{table}"
    );
    assert!(table.contains(r#"{namespace="kube-system"}"#), "{table}");
    // Values start in the same column on every row.
    let value_col = header.find("VALUE").unwrap();
    for line in table.lines().skip(1).filter(|l| !l.starts_with('(')) {
        assert!(
            line.len() > value_col && line.as_bytes()[value_col - 1] == b' ',
            "misaligned: {line:?}\n{table}"
        );
    }
}

#[test]
fn listings_in_both_formats() {
    let fx = fixture();
    let data = fx.data_str();
    let series = promlite_ok(&[
        "series",
        "--data-dir",
        data,
        r#"kube_pod_owner{owner_kind="DaemonSet"}"#,
    ]);
    assert!(!series.is_empty());
    assert!(
        series
            .lines()
            .all(|l| l.contains(r#"owner_kind="DaemonSet""#)),
        "{series}"
    );
    let series_json = promlite_ok(&[
        "series",
        "--data-dir",
        data,
        "--format",
        "json",
        "kube_replicaset_owner",
    ]);
    let parsed: serde_json::Value = serde_json::from_str(&series_json).unwrap();
    assert_eq!(parsed["status"], "success");
    assert!(parsed["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["__name__"] == "kube_replicaset_owner"));

    let labels = promlite_ok(&["labels", "--data-dir", data]);
    assert!(
        labels.lines().any(|l| l == "owner_kind") && labels.lines().any(|l| l == "__name__"),
        "{labels}"
    );
    let values = promlite_ok(&[
        "label-values",
        "--data-dir",
        data,
        "--format",
        "json",
        "namespace",
    ]);
    let parsed: serde_json::Value = serde_json::from_str(&values).unwrap();
    let values: Vec<&str> = parsed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(values.contains(&"kube-system"), "{values:?}");
    assert!(values.windows(2).all(|w| w[0] < w[1]), "sorted: {values:?}");
}
