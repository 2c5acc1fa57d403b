//! Timeouts, cancellation and the concurrency limit over HTTP: the issue's pathological query
//! with `timeout=1s` answers Prometheus's timeout error; a query whose client hangs up stops
//! (the running-queries gauge on `/metrics` drops to zero and the cancellation counter moves);
//! a full concurrency gate times a queued query out in the queue.
//!
//! Elapsed times are printed for the report. The only time assertion is a generous 10 s bound
//! (the queries here would run for minutes without the checks, so the bound is what lets the
//! tests fail; the issue's "within 2 s" is measured and reported, not asserted).

mod common;

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{enc, get, start};
use promlite::{Db, Labels};
use promlite_http::ApiOptions;

const GENEROUS_BOUND: Duration = Duration::from_secs(10);
const PATHOLOGICAL: &str = r#"count_over_time({__name__=~".+"}[1y:1s])"#;

/// 200 series, one sample every 15 s for an hour: enough that the pathological query needs
/// 6.3 billion inner steps.
fn busy_db() -> Db {
    let db = Db::in_memory();
    let mut app = db.appender();
    for i in 0..200 {
        let labels =
            Labels::from_pairs([("__name__", "m_total".to_string()), ("i", i.to_string())]);
        for k in 0..=240 {
            app.append(&labels, k * 15_000, k as f64).unwrap();
        }
    }
    app.commit().unwrap();
    db
}

fn metric_value(addr: SocketAddr, name: &str) -> Option<f64> {
    let body = get(addr, "/metrics").body;
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Polls `/metrics` until `name` has `value`, for at most the generous bound.
fn wait_for_metric(addr: SocketAddr, name: &str, value: f64) -> bool {
    let started = Instant::now();
    while started.elapsed() < GENEROUS_BOUND {
        if metric_value(addr, name) == Some(value) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Sends a query and returns the open connection without reading the answer.
fn send_and_hold(addr: SocketAddr, target: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

#[test]
fn pathological_query_with_timeout_1s_answers_prometheus_timeout_error() {
    let server = start(busy_db(), ApiOptions::default());
    let target = format!(
        "/api/v1/query?query={}&time=3600&timeout=1s",
        enc(PATHOLOGICAL)
    );
    let started = Instant::now();
    let reply = get(server.local_addr(), &target);
    let elapsed = started.elapsed();
    eprintln!("HTTP timeout answer after {elapsed:?}");
    let message = reply.assert_error(503, "timeout");
    assert_eq!(message, "query timed out in expression evaluation");
    assert!(elapsed < GENEROUS_BOUND, "{elapsed:?}");
    assert_eq!(
        metric_value(server.local_addr(), "promlite_queries_timed_out_total"),
        Some(1.0)
    );
    server.shutdown();
}

#[test]
fn server_query_timeout_holds_without_a_timeout_parameter() {
    let server = start(
        busy_db(),
        ApiOptions {
            query_timeout: Duration::from_millis(500),
            ..ApiOptions::default()
        },
    );
    let target = format!(
        "/api/v1/query_range?query={}&start=0&end=3600&step=60",
        enc(r#"count_over_time({__name__=~".+"}[1y:1s])"#)
    );
    let started = Instant::now();
    let reply = get(server.local_addr(), &target);
    eprintln!("--query-timeout answer after {:?}", started.elapsed());
    let message = reply.assert_error(503, "timeout");
    assert_eq!(message, "query timed out in expression evaluation");
    server.shutdown();
}

#[test]
fn a_closed_connection_stops_the_query() {
    let server = start(busy_db(), ApiOptions::default());
    let addr = server.local_addr();
    // Two minutes of allowed run time: only the hang-up can stop it within the bound.
    let target = format!(
        "/api/v1/query?query={}&time=3600&timeout=120s",
        enc(PATHOLOGICAL)
    );
    let stream = send_and_hold(addr, &target);
    assert!(
        wait_for_metric(addr, "prometheus_engine_queries", 1.0),
        "the query never started"
    );
    let hung_up = Instant::now();
    drop(stream);
    assert!(
        wait_for_metric(addr, "prometheus_engine_queries", 0.0),
        "the query kept running after its client hung up"
    );
    eprintln!("query stopped {:?} after the hang-up", hung_up.elapsed());
    assert_eq!(
        metric_value(addr, "promlite_queries_canceled_total"),
        Some(1.0)
    );
    server.shutdown();
}

/// Reads one answer with a `Content-Length` body off a kept-alive connection; its status line.
fn read_answer(reader: &mut std::io::BufReader<TcpStream>) -> String {
    use std::io::{BufRead as _, Read as _};
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = vec![0u8; length.expect("a Content-Length answer")];
    reader.read_exact(&mut body).unwrap();
    status.trim_end().to_string()
}

#[test]
fn a_hang_up_stops_a_later_query_of_a_kept_alive_connection() {
    // A connection's hang-up watcher serves each of its queries in turn: after answered
    // queries on the same connection, the hang-up still cancels the one running.
    let server = start(busy_db(), ApiOptions::default());
    let addr = server.local_addr();
    let stream = TcpStream::connect(addr).unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    for _ in 0..3 {
        let head = format!(
            "GET /api/v1/query?query={}&time=3600 HTTP/1.1\r\nHost: {addr}\r\n\r\n",
            enc("count(m_total)")
        );
        writer.write_all(head.as_bytes()).unwrap();
        assert_eq!(read_answer(&mut reader), "HTTP/1.1 200 OK");
    }
    let head = format!(
        "GET /api/v1/query?query={}&time=3600&timeout=120s HTTP/1.1\r\nHost: {addr}\r\n\r\n",
        enc(PATHOLOGICAL)
    );
    writer.write_all(head.as_bytes()).unwrap();
    assert!(
        wait_for_metric(addr, "prometheus_engine_queries", 1.0),
        "the query never started"
    );
    drop(writer);
    drop(reader);
    assert!(
        wait_for_metric(addr, "prometheus_engine_queries", 0.0),
        "the query kept running after its client hung up"
    );
    assert_eq!(
        metric_value(addr, "promlite_queries_canceled_total"),
        Some(1.0)
    );
    server.shutdown();
}

#[test]
fn a_full_gate_times_queued_queries_out_in_the_queue() {
    let server = start(
        busy_db(),
        ApiOptions {
            max_concurrency: 1,
            ..ApiOptions::default()
        },
    );
    let addr = server.local_addr();
    let long = format!(
        "/api/v1/query?query={}&time=3600&timeout=120s",
        enc(PATHOLOGICAL)
    );
    let holder = send_and_hold(addr, &long);
    assert!(wait_for_metric(addr, "prometheus_engine_queries", 1.0));
    let queued = get(addr, "/api/v1/query?query=m_total&time=3600&timeout=300ms");
    let message = queued.assert_error(503, "timeout");
    assert_eq!(message, "query timed out in query queue");
    drop(holder);
    assert!(wait_for_metric(addr, "prometheus_engine_queries", 0.0));
    // The slot is free again.
    let reply = get(addr, "/api/v1/query?query=count(m_total)&time=3600");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["data"]["result"][0]["value"][1], "200");
    server.shutdown();
}
