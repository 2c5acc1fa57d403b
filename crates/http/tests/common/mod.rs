//! Shared helpers of the HTTP integration tests: a server over a generated cluster, a raw
//! HTTP/1.1 client, and a promtool runner.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use promlite::Db;
use promlite_cluster::{ClusterSpec, Size};
use promlite_http::{ApiOptions, Server, ServerOptions};

/// An in-memory database holding the tiny preset cluster (2018 label names), and the time of
/// its last scrape.
pub fn cluster_db() -> (Db, i64) {
    let spec = ClusterSpec::preset(Size::Tiny);
    let db = Db::in_memory();
    let mut app = db.appender();
    let mut last_t = 0;
    promlite_cluster::for_each_sample(&spec, |labels, t, v| {
        app.append(labels, t, v)
            .expect("generated samples are in order");
        last_t = last_t.max(t);
    })
    .expect("tiny preset is valid");
    app.commit().expect("in-memory commit");
    (db, last_t)
}

/// Starts a server on a free loopback port.
pub fn start(db: Db, api: ApiOptions) -> Server {
    let options = ServerOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        workers: 4,
        api,
        ..ServerOptions::default()
    };
    Server::start(db, options).expect("bind a loopback port")
}

/// A response read off the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// Asserts Prometheus's error shape with this status and error type; returns the message.
    pub fn assert_error(&self, status: u16, error_type: &str) -> String {
        assert_eq!(self.status, status, "status of {}", self.body);
        assert_eq!(self.content_type, "application/json");
        let body = self.json();
        assert_eq!(body["status"], "error", "{}", self.body);
        assert_eq!(body["errorType"], error_type, "{}", self.body);
        let message = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.body));
        assert!(!message.is_empty());
        message.to_string()
    }
}

/// Sends one request with `Connection: close` and reads the whole response.
pub fn request(addr: SocketAddr, method: &str, target: &str, form_body: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(body) = form_body {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    if let Some(body) = form_body {
        stream.write_all(body.as_bytes()).unwrap();
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {text}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line: {head}"));
    let content_type = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: body.to_string(),
    }
}

/// `GET target`.
pub fn get(addr: SocketAddr, target: &str) -> Reply {
    request(addr, "GET", target, None)
}

/// Milliseconds as the API's float seconds (`1700000000.250`).
pub fn secs(t_ms: i64) -> String {
    format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000))
}

/// Percent-encodes a query parameter value.
pub fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Debian's promtool for `test`, or `None` after a `SKIPPED:` line (a failure when
/// `PROMLITE_REQUIRE_ORACLES` is set; `.ci/run` sets it and installs the `prometheus` package).
pub fn promtool_binary(test: &str) -> Option<std::path::PathBuf> {
    promlite_testkit::oracle_binary("promtool", test)
}

/// Runs `promtool` (from [`promtool_binary`]) with `args` and returns its stdout.
pub fn promtool(promtool: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(promtool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e})", promtool.display()));
    assert!(
        output.status.success(),
        "promtool {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).expect("UTF-8 promtool output")
}

/// The seed's workload join (per-pod CPU labelled with its owner), as in the demo.
pub const WORKLOAD_JOIN: &str = r#"max by (owner_name, owner_kind, pod, namespace) (kube_pod_owner)
* on (pod, namespace) group_right (owner_name, owner_kind)
label_replace(
  sum by (namespace, pod_name, kubernetes_io_hostname) (rate(container_cpu_usage_seconds_total[1m])),
  "pod", "$1", "pod_name", "(.+)"
)"#;
