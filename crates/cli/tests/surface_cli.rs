//! The CLI's rough edges from issue 17: `--timeout` holds with Prometheus's timeout error,
//! `now` and relative times, a caret under a parse error's position, errors printed once, and
//! `series` saying so when nothing matches.

mod common;

use std::time::Instant;

use common::{fixture, promlite, promlite_ok};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn query_timeout_gives_prometheus_timeout_error() {
    let fx = fixture();
    let time = (fx.last_t / 1000).to_string();
    let query = r#"count_over_time({__name__=~".+"}[1y:1s])"#;
    let started = Instant::now();
    let out = promlite(&[
        "query",
        "--data-dir",
        fx.data_str(),
        "--time",
        &time,
        "--timeout",
        "1s",
        query,
    ]);
    eprintln!("CLI timeout after {:?}", started.elapsed());
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "error: query timed out in expression evaluation"
    );

    let out = promlite(&[
        "query",
        "--data-dir",
        fx.data_str(),
        "--time",
        &time,
        "--timeout",
        "1s",
        "--format",
        "json",
        query,
    ]);
    assert!(!out.status.success());
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["errorType"], "timeout");
    assert_eq!(body["error"], "query timed out in expression evaluation");
}

#[test]
fn now_and_relative_times() {
    let fx = fixture();
    let out = promlite_ok(&[
        "query",
        "--data-dir",
        fx.data_str(),
        "--time",
        "now",
        "--format",
        "json",
        "time()",
    ]);
    let body: serde_json::Value = serde_json::from_str(&out).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let t = body["data"]["result"][0].as_f64().unwrap();
    assert!((now - t).abs() < 600.0, "{t} vs {now}");

    let out = promlite_ok(&[
        "query",
        "--data-dir",
        fx.data_str(),
        "--time",
        "-1h",
        "--format",
        "json",
        "time()",
    ]);
    let body: serde_json::Value = serde_json::from_str(&out).unwrap();
    let t = body["data"]["result"][0].as_f64().unwrap();
    assert!((now - 3600.0 - t).abs() < 600.0, "{t} vs {now}");

    let out = promlite_ok(&[
        "query-range",
        "--data-dir",
        fx.data_str(),
        "--start",
        "now-10m",
        "--end",
        "now",
        "--step",
        "5m",
        "--format",
        "json",
        "vector(1)",
    ]);
    let body: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        body["data"]["result"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // A bare negative number is still Unix seconds, as in the API.
    let out = promlite_ok(&[
        "query",
        "--data-dir",
        fx.data_str(),
        "--time",
        "-300",
        "--format",
        "json",
        "time()",
    ]);
    let body: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["data"]["result"][0], -300.0);
}

#[test]
fn parse_errors_show_a_caret_and_print_once() {
    let fx = fixture();
    let out = promlite(&[
        "query",
        "--data-dir",
        fx.data_str(),
        "--time",
        "0",
        "sum(rate(x[5m]) by",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert_eq!(lines[0], "  sum(rate(x[5m]) by");
    let message = lines[2];
    let column: usize = message
        .split("1:")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no position in {message}"));
    assert_eq!(lines[1].find('^'), Some(2 + column - 1), "{err}");

    // A selector error carries its parse error as source: printed once, not `X: X`.
    let out = promlite(&["series", "--data-dir", fx.data_str(), "up{"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let message = err.trim().strip_prefix("error: ").unwrap();
    let half = message.len() / 2;
    assert!(
        !(message.len() > 4
            && message[..half].trim_end_matches(": ") == message[half..].trim_start_matches(": ")),
        "printed twice: {err}"
    );
    assert_eq!(err.matches("parse error").count(), 1, "{err}");
}

#[test]
fn series_says_so_for_zero_matches() {
    let fx = fixture();
    let out = promlite(&["series", "--data-dir", fx.data_str(), "no_such_metric"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out).trim(), "no series match no_such_metric");
}
