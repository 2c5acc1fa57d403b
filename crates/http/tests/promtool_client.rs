//! Debian's `promtool query instant|range|series|labels` against `promlite serve`'s API must
//! see the same answers as the library.

mod common;

use common::{cluster_db, promtool, secs, start, WORKLOAD_JOIN};
use promlite::Value;
use promlite_http::ApiOptions;
use serde_json::Value as Json;

/// A label set as a sorted list of pairs, from our `Labels` or from promtool's JSON object.
fn pairs_of(labels: &promlite::Labels) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

fn pairs_of_json(metric: &Json) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = metric
        .as_object()
        .unwrap_or_else(|| panic!("metric is not an object: {metric}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    out.sort();
    out
}

fn number(v: &Json) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a sample value: {v}"))
}

#[test]
fn promtool_instant_join_returns_the_library_answer() {
    let Some(promtool_path) =
        common::promtool_binary("promtool instant join returns the library answer")
    else {
        return;
    };
    let (db, t) = cluster_db();
    let expected = db.query(WORKLOAD_JOIN, t).unwrap();
    let Value::Vector(expected) = expected.value else {
        panic!("join is a vector")
    };
    assert!(
        expected.len() >= 5,
        "the tiny cluster has pods with owners: {expected:?}"
    );
    assert!(expected
        .iter()
        .all(|s| s.labels.has("owner_kind") && s.labels.has("pod")));

    let server = start(db, ApiOptions::default());
    let url = format!("http://{}", server.local_addr());
    let out = promtool(
        &promtool_path,
        &[
            "query",
            "instant",
            "-o",
            "json",
            "--time",
            &secs(t),
            &url,
            WORKLOAD_JOIN,
        ],
    );
    server.shutdown();

    let got: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let got = got
        .as_array()
        .unwrap_or_else(|| panic!("not a vector: {out}"));
    assert_eq!(got.len(), expected.len(), "{out}");
    let mut got: Vec<(Vec<(String, String)>, f64)> = got
        .iter()
        .map(|s| (pairs_of_json(&s["metric"]), number(&s["value"][1])))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(Vec<(String, String)>, f64)> = expected
        .iter()
        .map(|s| (pairs_of(&s.labels), s.v))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    for ((got_labels, got_v), (want_labels, want_v)) in got.iter().zip(&want) {
        assert_eq!(got_labels, want_labels);
        assert!(
            (got_v - want_v).abs() <= 1e-12 * want_v.abs().max(1.0),
            "{got_labels:?}: {got_v} vs {want_v}"
        );
    }
}

#[test]
fn promtool_range_query_returns_the_library_matrix() {
    let Some(promtool_path) =
        common::promtool_binary("promtool range query returns the library matrix")
    else {
        return;
    };
    let (db, t) = cluster_db();
    let query = "sum by (namespace) (rate(container_cpu_usage_seconds_total[1m]))";
    let start = t - 5 * 60_000;
    let expected = db
        .query_range(query, start, t, std::time::Duration::from_secs(60))
        .unwrap();
    let Value::Matrix(expected) = expected.value else {
        panic!("range queries return matrices")
    };
    assert!(!expected.is_empty());

    let server = start_server(db);
    let url = format!("http://{}", server.local_addr());
    let out = promtool(
        &promtool_path,
        &[
            "query",
            "range",
            "-o",
            "json",
            "--start",
            &secs(start),
            "--end",
            &secs(t),
            "--step",
            "1m",
            &url,
            query,
        ],
    );
    server.shutdown();

    let got: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let got = got
        .as_array()
        .unwrap_or_else(|| panic!("not a matrix: {out}"));
    assert_eq!(got.len(), expected.len(), "{out}");
    for (series, want) in got.iter().zip(&expected) {
        assert_eq!(pairs_of_json(&series["metric"]), pairs_of(&want.labels));
        let points = series["values"]
            .as_array()
            .unwrap_or_else(|| panic!("no values: {series}"));
        assert_eq!(points.len(), want.samples.len());
        for (point, sample) in points.iter().zip(&want.samples) {
            let t_secs = point[0]
                .as_f64()
                .unwrap_or_else(|| panic!("timestamp: {point}"));
            assert_eq!((t_secs * 1000.0).round() as i64, sample.t);
            assert!((number(&point[1]) - sample.v).abs() <= 1e-12 * sample.v.abs().max(1.0));
        }
    }
}

fn start_server(db: promlite::Db) -> promlite_http::Server {
    start(db, ApiOptions::default())
}

#[test]
fn promtool_series_and_label_values_match_the_library() {
    let Some(promtool_path) =
        common::promtool_binary("promtool series and label values match the library")
    else {
        return;
    };
    let (db, t) = cluster_db();
    let (start, end) = (secs(t - 3_600_000), secs(t + 60_000));
    let expected_series = db
        .series(&["kube_pod_owner"], t - 3_600_000, t + 60_000)
        .unwrap();
    assert!(!expected_series.is_empty());
    let expected_values = db
        .label_values("namespace", &[], t - 3_600_000, t + 60_000)
        .unwrap();
    assert!(
        expected_values.iter().any(|v| v == "kube-system"),
        "{expected_values:?}"
    );

    let server = start_server(db);
    let url = format!("http://{}", server.local_addr());
    let series_out = promtool(
        &promtool_path,
        &[
            "query",
            "series",
            "-o",
            "json",
            "--match",
            "kube_pod_owner",
            "--start",
            &start,
            "--end",
            &end,
            &url,
        ],
    );
    let values_out = promtool(
        &promtool_path,
        &[
            "query",
            "labels",
            "-o",
            "json",
            "--start",
            &start,
            "--end",
            &end,
            &url,
            "namespace",
        ],
    );
    server.shutdown();

    let series: Json =
        serde_json::from_str(&series_out).unwrap_or_else(|e| panic!("{e}: {series_out}"));
    let mut got: Vec<Vec<(String, String)>> = series
        .as_array()
        .unwrap_or_else(|| panic!("{series_out}"))
        .iter()
        .map(pairs_of_json)
        .collect();
    got.sort();
    let want: Vec<Vec<(String, String)>> = expected_series.iter().map(pairs_of).collect();
    assert_eq!(got, want);

    let values: Json =
        serde_json::from_str(&values_out).unwrap_or_else(|e| panic!("{e}: {values_out}"));
    let got: Vec<String> = values
        .as_array()
        .unwrap_or_else(|| panic!("{values_out}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(got, expected_values);
}
