//! What Prometheus wraps around its API, checked on the wire: gzip on request, CORS headers and
//! the `OPTIONS` answer, 400s for label names and queries that are not UTF-8, `format_query`,
//! the status endpoints' shapes and `/metrics` in the text format.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use common::{cluster_db, enc, get, start};
use promlite_http::ApiOptions;

/// A raw response: status, headers (lower-cased names) and body bytes.
struct RawReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn raw(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> RawReply {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
    let body = bytes[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawReply {
        status,
        headers,
        body,
    }
}

#[test]
fn gzip_when_asked_and_the_same_document() {
    let (db, _) = cluster_db();
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    let target = format!("/api/v1/series?match[]={}", enc("kube_pod_owner"));
    let plain = raw(addr, "GET", &target, &[]);
    let zipped = raw(addr, "GET", &target, &[("Accept-Encoding", "gzip")]);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert!(
        zipped.body.len() * 4 < plain.body.len(),
        "{} vs {}",
        zipped.body.len(),
        plain.body.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.body);
    eprintln!(
        "series reply: {} bytes plain, {} bytes gzip",
        plain.body.len(),
        zipped.body.len()
    );
    server.shutdown();
}

#[test]
fn cors_and_options_as_prometheus() {
    let (db, _) = cluster_db();
    let server = start(
        db,
        ApiOptions {
            cors_origin: r"https?://grafana\.example".to_string(),
            ..ApiOptions::default()
        },
    );
    let addr = server.local_addr();
    let allowed = raw(
        addr,
        "GET",
        "/api/v1/labels",
        &[("Origin", "http://grafana.example")],
    );
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://grafana.example")
    );
    assert_eq!(
        allowed.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    assert_eq!(allowed.header("vary"), Some("Origin"));
    let other = raw(
        addr,
        "GET",
        "/api/v1/labels",
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(other.header("access-control-allow-origin"), None);
    assert_eq!(other.header("access-control-expose-headers"), Some("Date"));
    let none = raw(addr, "GET", "/api/v1/labels", &[]);
    assert_eq!(none.header("vary"), None);
    let options = raw(
        addr,
        "OPTIONS",
        "/api/v1/query",
        &[("Origin", "http://grafana.example")],
    );
    assert_eq!(options.status, 204);
    assert!(options.body.is_empty());
    assert_eq!(
        options.header("access-control-allow-headers"),
        Some("Accept, Authorization, Content-Type, Origin")
    );
    server.shutdown();
}

#[test]
fn non_utf8_label_names_and_queries_are_400() {
    let (db, _) = cluster_db();
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    let message = get(addr, "/api/v1/label/%ff/values").assert_error(400, "bad_data");
    assert_eq!(message, r#"invalid label name: "\xff""#);
    let message =
        get(addr, "/api/v1/query?query=up%7Bj%3D%22%ff%22%7D").assert_error(400, "bad_data");
    assert_eq!(
        message,
        r#"invalid parameter "query": 1:6: parse error: invalid UTF-8 rune"#
    );
    let message =
        get(addr, "/api/v1/series?match[]=up%7Bj%3D%22%ff%22%7D").assert_error(400, "bad_data");
    assert_eq!(
        message,
        r#"invalid parameter "match[]": 1:6: parse error: invalid UTF-8 rune"#
    );
    // A valid UTF-8 name still works.
    assert_eq!(get(addr, "/api/v1/label/namespace/values").status, 200);
    server.shutdown();
}

#[test]
fn format_query_and_status_shapes() {
    let (db, _) = cluster_db();
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    let reply = get(
        addr,
        &format!("/api/v1/format_query?query={}", enc("sum(up)by(job)")),
    );
    assert_eq!(reply.json()["data"], "sum by (job) (up)");
    let message = get(addr, &format!("/api/v1/format_query?query={}", enc("sum(")))
        .assert_error(400, "bad_data");
    assert_eq!(
        message,
        r#"invalid parameter "query": 1:5: parse error: unclosed left parenthesis"#
    );

    let tsdb = get(addr, "/api/v1/status/tsdb").json();
    let head = &tsdb["data"]["headStats"];
    assert!(head["numSeries"].as_u64().unwrap() > 100, "{tsdb}");
    let by_metric = tsdb["data"]["seriesCountByMetricName"].as_array().unwrap();
    // The tiny cluster has five metrics (fewer than the top-10 limit): together they hold
    // every series.
    assert_eq!(by_metric.len(), 5, "{tsdb}");
    let counts: Vec<u64> = by_metric
        .iter()
        .map(|e| e["value"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert_eq!(
        counts.iter().sum::<u64>(),
        head["numSeries"].as_u64().unwrap()
    );
    for key in [
        "labelValueCountByLabelName",
        "memoryInBytesByLabelName",
        "seriesCountByLabelValuePair",
    ] {
        assert!(
            tsdb["data"][key].as_array().is_some_and(|a| !a.is_empty()),
            "{key}"
        );
    }
    let config = get(addr, "/api/v1/status/config").json();
    assert!(config["data"]["yaml"]
        .as_str()
        .unwrap()
        .starts_with("global:\n"));
    let runtime = get(addr, "/api/v1/status/runtimeinfo").json();
    assert_eq!(runtime["data"]["reloadConfigSuccess"], true);
    let wal = get(addr, "/api/v1/status/walreplay").json();
    assert_eq!(wal["data"]["current"], wal["data"]["max"]);
    let flags = get(addr, "/api/v1/status/flags").json();
    assert!(flags["data"].is_object());

    let metrics = get(addr, "/metrics");
    assert_eq!(
        metrics.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(metrics
        .body
        .contains("# TYPE prometheus_engine_queries gauge\nprometheus_engine_queries 0\n"));
    assert!(
        metrics.body.contains(
            "prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/status/tsdb\"} 1\n"
        ),
        "{}",
        metrics.body
    );
    server.shutdown();
}
