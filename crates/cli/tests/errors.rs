//! Failures exit non-zero; with `--format json` stdout carries Prometheus's error body.

mod common;

use common::{fixture, promlite};

fn json_error(out: &std::process::Output) -> serde_json::Value {
    assert!(
        !out.status.success(),
        "expected failure, got success: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn json_errors_have_prometheus_shape() {
    let fx = fixture();
    let data = fx.data_str();
    let body = json_error(&promlite(&[
        "query",
        "--data-dir",
        data,
        "--format",
        "json",
        "sum(rate(x[5m])",
    ]));
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "bad_data");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid parameter \"query\": 1:"),
        "{body}"
    );

    let body = json_error(&promlite(&[
        "query",
        "--data-dir",
        data,
        "--format",
        "json",
        "--time",
        "noon",
        "up",
    ]));
    assert_eq!(body["errorType"], "bad_data");
    assert_eq!(
        body["error"],
        r#"invalid parameter "time": cannot parse "noon" to a valid timestamp"#
    );

    let body = json_error(&promlite(&[
        "query-range",
        "--data-dir",
        data,
        "--format",
        "json",
        "--start",
        "10",
        "--end",
        "20",
        "--step",
        "0",
        "up",
    ]));
    assert_eq!(body["errorType"], "bad_data");

    let body = json_error(&promlite(&[
        "series",
        "--data-dir",
        data,
        "--format",
        "json",
        "up{",
    ]));
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid parameter \"match[]\": "),
        "{body}"
    );
}

#[test]
fn table_errors_go_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let out = promlite(&["query", "--data-dir", missing.to_str().unwrap(), "up"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");

    let bad = dir.path().join("bad.prom");
    std::fs::write(&bad, "fine 1 1000\nbroken{ 2 2000\n").unwrap();
    let data = dir.path().join("data");
    let out = promlite(&[
        "replay",
        "--data-dir",
        data.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.prom:2:"), "{stderr}");
}
