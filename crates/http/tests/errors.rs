//! Every error path answers with Prometheus's error shape, status code and `errorType`.

mod common;

use common::{cluster_db, enc, get, request, start};
use promlite_http::ApiOptions;

#[test]
fn bad_query_is_bad_data_with_position() {
    let (db, t) = cluster_db();
    let server = start(db, ApiOptions::default());
    let reply = get(
        server.local_addr(),
        &format!(
            "/api/v1/query?query={}&time={}",
            enc("sum(up"),
            common::secs(t)
        ),
    );
    let message = reply.assert_error(400, "bad_data");
    assert!(
        message.starts_with("invalid parameter \"query\": 1:"),
        "{message}"
    );
    let reply = get(server.local_addr(), "/api/v1/query");
    reply.assert_error(400, "bad_data");
    server.shutdown();
}

#[test]
fn bad_times_and_steps_are_bad_data() {
    let (db, _) = cluster_db();
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    let message = get(addr, "/api/v1/query?query=up&time=yesterday").assert_error(400, "bad_data");
    assert_eq!(
        message,
        r#"invalid parameter "time": cannot parse "yesterday" to a valid timestamp"#
    );
    let message =
        get(addr, "/api/v1/query_range?query=up&start=10&end=20").assert_error(400, "bad_data");
    assert!(
        message.starts_with(r#"invalid parameter "step": "#),
        "{message}"
    );
    let message = get(addr, "/api/v1/query_range?query=up&start=10&end=20&step=0")
        .assert_error(400, "bad_data");
    assert!(
        message.contains("zero or negative query resolution step widths"),
        "{message}"
    );
    let message = get(addr, "/api/v1/query_range?query=up&start=20&end=10&step=1")
        .assert_error(400, "bad_data");
    assert_eq!(
        message,
        r#"invalid parameter "end": end timestamp must not be before start time"#
    );
    let message = get(
        addr,
        "/api/v1/query_range?query=up&start=0&end=100000&step=1",
    )
    .assert_error(400, "bad_data");
    assert!(
        message.starts_with("exceeded maximum resolution of 11,000 points"),
        "{message}"
    );
    // A span that overflows i64 milliseconds is refused, not a panic.
    let huge = "/api/v1/query_range?query=up&start=-9000000000000000&end=9000000000000000&step=1";
    let message = get(addr, huge).assert_error(400, "bad_data");
    assert!(
        message.starts_with("exceeded maximum resolution"),
        "{message}"
    );
    let message =
        get(addr, "/api/v1/query_range?query=up&end=10&step=1").assert_error(400, "bad_data");
    assert!(
        message.starts_with(r#"invalid parameter "start": "#),
        "{message}"
    );
    let message = get(addr, "/api/v1/query?query=up&timeout=soon").assert_error(400, "bad_data");
    assert!(
        message.starts_with(r#"invalid parameter "timeout": "#),
        "{message}"
    );
    server.shutdown();
}

#[test]
fn unknown_endpoint_is_not_found_and_wrong_method_is_405() {
    let (db, _) = cluster_db();
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    get(addr, "/api/v1/nope").assert_error(404, "not_found");
    get(addr, "/metrics/elsewhere").assert_error(404, "not_found");
    request(addr, "DELETE", "/api/v1/query?query=up", None).assert_error(405, "method_not_allowed");
    request(addr, "POST", "/api/v1/status/buildinfo", Some(""))
        .assert_error(405, "method_not_allowed");
    server.shutdown();
}

#[test]
fn timeout_is_503_timeout() {
    let (db, t) = cluster_db();
    let server = start(db, ApiOptions::default());
    let target = format!(
        "/api/v1/query?query={}&time={}&timeout=0",
        enc("sum(rate(container_cpu_usage_seconds_total[5m]))"),
        t / 1000
    );
    let message = get(server.local_addr(), &target).assert_error(503, "timeout");
    assert!(message.contains("timed out"), "{message}");
    server.shutdown();
}

#[test]
fn sample_limit_is_422_execution() {
    let (db, t) = cluster_db();
    let server = start(
        db,
        ApiOptions {
            max_samples: 10,
            ..ApiOptions::default()
        },
    );
    let target = format!(
        "/api/v1/query?query={}&time={}",
        enc("container_cpu_usage_seconds_total[5m]"),
        common::secs(t)
    );
    let message = get(server.local_addr(), &target).assert_error(422, "execution");
    assert!(message.contains("too many samples"), "{message}");
    server.shutdown();
}

#[test]
fn listing_parameter_errors_are_bad_data() {
    let (db, _) = cluster_db();
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    let message = get(addr, "/api/v1/series").assert_error(400, "bad_data");
    assert_eq!(message, "no match[] parameter provided");
    let message =
        get(addr, &format!("/api/v1/series?match[]={}", enc("up{"))).assert_error(400, "bad_data");
    assert!(
        message.starts_with(r#"invalid parameter "match[]": "#),
        "{message}"
    );
    let message = get(addr, &format!("/api/v1/series?match[]={}", enc("up + 1")))
        .assert_error(400, "bad_data");
    assert!(
        message.starts_with(r#"invalid parameter "match[]": "#),
        "{message}"
    );
    let message = get(addr, "/api/v1/labels?limit=-1").assert_error(400, "bad_data");
    assert_eq!(
        message,
        r#"invalid parameter "limit": limit must be non-negative"#
    );
    let message = get(addr, "/api/v1/label/job/values?start=abc").assert_error(400, "bad_data");
    assert!(
        message.starts_with(r#"invalid parameter "start": "#),
        "{message}"
    );
    server.shutdown();
}
