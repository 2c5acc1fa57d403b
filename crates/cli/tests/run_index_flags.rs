//! The value-run index flags (`--info-metrics`, `--detect-info-series`, `--no-value-runs`) on
//! `query`, `query-range`, `replay` and `serve` take effect: `--explain` (and `stats=all` on
//! the server) shows the info side of a join and of `info()` answered from value runs or not,
//! and the answer is the same either way.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{path, promlite, promlite_ok};

const SCRAPE_S: i64 = 15;
const SCRAPES: i64 = 40;

/// A small OpenMetrics file: gauges of three targets, their `target_info` and a
/// `host_metadata` series that stays constant but matches no default pattern.
fn write_input(file: &Path) {
    let mut text = String::new();
    text.push_str("# TYPE node_load1 gauge\n");
    for k in 0..SCRAPES {
        for i in 0..3 {
            text.push_str(&format!(
                "node_load1{{instance=\"h{i}:9100\",job=\"node\"}} {} {}\n",
                (k + i) % 5,
                k * SCRAPE_S
            ));
        }
    }
    text.push_str("# TYPE target_info gauge\n");
    for k in 0..SCRAPES {
        for i in 0..3 {
            text.push_str(&format!(
                "target_info{{instance=\"h{i}:9100\",job=\"node\",region=\"r{i}\"}} 1 {}\n",
                k * SCRAPE_S
            ));
        }
    }
    text.push_str("# TYPE host_metadata gauge\n");
    for k in 0..SCRAPES {
        for i in 0..3 {
            text.push_str(&format!(
                "host_metadata{{instance=\"h{i}:9100\",job=\"node\",rack=\"k{i}\"}} 1 {}\n",
                k * SCRAPE_S
            ));
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(file, text).expect("write input");
}

const INFO_QUERY: &str = "info(node_load1)";
const JOIN_QUERY: &str = "node_load1 * on(instance) group_left(rack) host_metadata";

/// Runs `query` with `--explain` and `flags`; returns (stdout, explain text).
fn query(data: &str, expr: &str, flags: &[&str], range: bool) -> (String, String) {
    let t = ((SCRAPES - 5) * SCRAPE_S).to_string();
    let mut args: Vec<&str> = if range {
        vec![
            "query-range",
            "--data-dir",
            data,
            "--start",
            "60",
            "--end",
            &t,
            "--step",
            "15s",
        ]
    } else {
        vec!["query", "--data-dir", data, "--time", &t]
    };
    args.extend(["--format", "json", "--explain"]);
    args.extend(flags);
    args.push(expr);
    let out = promlite(&args);
    assert!(
        out.status.success(),
        "promlite {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8(out.stderr).expect("UTF-8"),
    )
}

fn uses_runs(explain: &str) -> bool {
    explain.contains("value runs:")
}

#[test]
fn query_flags_switch_value_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("in.om");
    write_input(&file);
    let data = dir.path().join("data");
    promlite_ok(&["replay", "--data-dir", path(&data), path(&file)]);
    let data = path(&data);
    for range in [false, true] {
        // Default: `target_info` matches `*_info`; `host_metadata` matches nothing.
        let (plain_info, explain) = query(data, INFO_QUERY, &[], range);
        assert!(uses_runs(&explain), "{explain}");
        assert!(plain_info.contains("\"region\":\"r1\""), "{plain_info}");
        let (plain_join, explain) = query(data, JOIN_QUERY, &[], range);
        assert!(!uses_runs(&explain), "{explain}");
        // Off.
        let (out, explain) = query(data, INFO_QUERY, &["--no-value-runs"], range);
        assert!(!uses_runs(&explain), "{explain}");
        assert_eq!(out, plain_info);
        // A list without `target_info`: not indexed any more.
        let (out, explain) = query(data, INFO_QUERY, &["--info-metrics", "kube_*,x"], range);
        assert!(!uses_runs(&explain), "{explain}");
        assert_eq!(out, plain_info);
        // Named by a glob: the join's info side now comes from runs.
        let (out, explain) = query(data, JOIN_QUERY, &["--info-metrics", "host_*"], range);
        assert!(uses_runs(&explain), "{explain}");
        assert_eq!(out, plain_join);
        // Detection finds it without any name.
        let (out, explain) = query(
            data,
            JOIN_QUERY,
            &["--info-metrics", "nothing", "--detect-info-series"],
            range,
        );
        assert!(uses_runs(&explain), "{explain}");
        assert_eq!(out, plain_join);
    }
    // Bad patterns are refused with the flag named.
    let out = promlite(&[
        "query",
        "--data-dir",
        data,
        "--info-metrics",
        "a*b*",
        INFO_QUERY,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--info-metrics") && err.contains("a*b*"),
        "{err}"
    );
    let out = promlite(&[
        "query",
        "--data-dir",
        data,
        "--no-value-runs",
        "--info-metrics",
        "x",
        INFO_QUERY,
    ]);
    assert!(!out.status.success(), "conflicting flags accepted");
}

#[test]
fn replay_takes_the_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("in.om");
    write_input(&file);
    let data = dir.path().join("data");
    promlite_ok(&[
        "replay",
        "--data-dir",
        path(&data),
        "--no-value-runs",
        path(&file),
    ]);
    let (_, explain) = query(path(&data), INFO_QUERY, &[], false);
    assert!(uses_runs(&explain), "{explain}");
    let out = promlite(&[
        "replay",
        "--data-dir",
        path(&data),
        "--info-metrics",
        "a**",
        path(&file),
    ]);
    assert!(!out.status.success());
}

fn get(addr: SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("reply");
    reply
}

#[test]
fn serve_takes_the_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("in.om");
    write_input(&file);
    let data = dir.path().join("data");
    promlite_ok(&["replay", "--data-dir", path(&data), path(&file)]);
    let t = (SCRAPES - 5) * SCRAPE_S;
    let target = format!("/api/v1/query?query=info(node_load1)&time={t}&stats=all");
    let mut bodies = Vec::new();
    for flags in [&[][..], &["--no-value-runs"][..]] {
        let port = promlite_testkit::free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let child = Command::new(env!("CARGO_BIN_EXE_promlite"))
            .args([
                "serve",
                "--read-only",
                "--data-dir",
                path(&data),
                "--listen",
            ])
            .arg(addr.to_string())
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve");
        let _guard = promlite_testkit::ChildGuard::new(child);
        assert!(
            promlite_testkit::wait_http_ok(addr, "/-/ready", Duration::from_secs(30)),
            "serve did not become ready"
        );
        let reply = get(addr, &target);
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        bodies.push(reply);
    }
    assert!(bodies[0].contains("value runs:"), "{}", bodies[0]);
    assert!(!bodies[1].contains("value runs:"), "{}", bodies[1]);
    for body in &bodies {
        assert!(body.contains("\"region\":\"r2\""), "{body}");
    }
}
