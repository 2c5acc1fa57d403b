//! `promlite bench` with the `promlite-http` engine: the binary serves the in-process engine's
//! data over loopback (ports 18600-18699) and its answers are checked against Prometheus like
//! every other engine's, on both cluster shapes.

mod common;

use common::{path, promlite_ok};

/// Runs the tiny benchmark with `extra` flags; returns the JSON report.
fn bench(extra: &[&str], queries: &[&str]) -> serde_json::Value {
    let work = tempfile::tempdir().unwrap();
    let report = work.path().join("report.json");
    let workload = promlite_testkit::workspace_root().join("testdata/workload");
    let mut args = vec![
        "bench",
        "--size",
        "tiny",
        "--engine",
        "prometheus,promlite,promlite-http",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--work-dir",
        path(work.path()),
        "--workload-dir",
        path(&workload),
        "--json-out",
        path(&report),
    ];
    for q in queries {
        args.extend_from_slice(&["--query", q]);
    }
    args.extend_from_slice(extra);
    let table = promlite_ok(&args);
    assert!(table.contains("pl-http ms"), "{table}");
    serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap()
}

/// Checks every row: promlite's and promlite-http's answers equal Prometheus's when the bench
/// ran Prometheus, and are marked as unchecked when it did not. Whether it ran is read off the
/// report, not guessed from `PATH`: the bench looks for Debian's `/usr/bin/prometheus`, so a
/// `PATH` without it does not mean the bench ran without an oracle.
fn check_rows(report: &serde_json::Value) {
    let rows = report["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let prometheus = !row["prometheus"].is_null();
        assert!(
            row["promlite_http"]["median_ms"].as_f64().is_some(),
            "{row}"
        );
        let want = if prometheus { "same" } else { "no_oracle" };
        assert_eq!(row["promlite_http_check"]["status"], want, "{row}");
        assert_eq!(row["promlite_check"]["status"], want, "{row}");
    }
}

#[test]
fn promlite_http_answers_like_prometheus_on_both_shapes() {
    // Under PROMLITE_REQUIRE_ORACLES this fails unless Prometheus is installed; without it the
    // rows must say that nothing was compared.
    let required = promlite_testkit::oracle_binary(
        "prometheus",
        "bench promlite-http answers against Prometheus",
    )
    .is_some();
    let classic = bench(&[], &["owner_join", "pod_cpu"]);
    assert_eq!(classic["setup"]["shape"], "classic");
    if required {
        assert!(
            classic["rows"][0]["prometheus"].is_object(),
            "Prometheus is installed but the bench did not run it: {classic}"
        );
    }
    check_rows(&classic);
    let churn = bench(
        &["--shape", "churn"],
        &["owner_join_modern", "workload_pod_all"],
    );
    assert_eq!(churn["setup"]["shape"], "churn");
    assert_eq!(churn["setup"]["style"], "modern");
    check_rows(&churn);
}

#[test]
fn churn_refuses_legacy_labels() {
    let out = common::promlite(&[
        "gen-cluster",
        "--size",
        "tiny",
        "--shape",
        "churn",
        "--label-style",
        "2018",
        "--out",
        "/nonexistent/x.om",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("modern"));
}
