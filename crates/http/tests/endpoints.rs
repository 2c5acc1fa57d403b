//! Successful responses: bodies, form POSTs, stats, listings, build info, health, concurrency.

mod common;

use std::time::Duration;

use common::{cluster_db, enc, get, request, start};
use promlite::Db;
use promlite_http::{json, ApiOptions};

#[test]
fn get_and_post_queries_return_the_library_result_as_prometheus_json() {
    let (db, t) = cluster_db();
    let query = "max by (namespace, owner_kind) (kube_pod_owner)";
    let expected = json::query_success(&db.query(query, t).unwrap().value, None, &[], &[]);
    assert!(expected.contains("\"owner_kind\""), "{expected}");
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    let time = common::secs(t);
    let got = get(
        addr,
        &format!("/api/v1/query?query={}&time={time}", enc(query)),
    );
    assert_eq!(
        (got.status, got.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(got.body, expected);
    let posted = request(
        addr,
        "POST",
        "/api/v1/query",
        Some(&format!("query={}&time={time}", enc(query))),
    );
    assert_eq!(posted.status, 200);
    assert_eq!(posted.body, expected);
    server.shutdown();
}

#[test]
fn range_query_body_matches_library_matrix() {
    let (db, t) = cluster_db();
    let query = "sum(rate(container_cpu_usage_seconds_total[1m]))";
    let start_ms = t - 120_000;
    let result = db
        .query_range(query, start_ms, t, Duration::from_secs(30))
        .unwrap();
    let expected = json::query_success(&result.value, None, &[], &[]);
    assert!(expected.starts_with(
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["#
    ));
    let server = start(db, ApiOptions::default());
    let form = format!(
        "query={}&start={}&end={}&step=30s",
        enc(query),
        common::secs(start_ms),
        common::secs(t)
    );
    let got = request(
        server.local_addr(),
        "POST",
        "/api/v1/query_range",
        Some(&form),
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body, expected);
    server.shutdown();
}

#[test]
fn stats_param_adds_prometheus_timings_and_samples() {
    let (db, t) = cluster_db();
    let server = start(db, ApiOptions::default());
    let target = format!(
        "/api/v1/query?query={}&time={}&stats=all",
        enc("sum(container_cpu_usage_seconds_total)"),
        common::secs(t)
    );
    let reply = get(server.local_addr(), &target);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let stats = &body["data"]["stats"];
    for key in [
        "evalTotalTime",
        "resultSortTime",
        "queryPreparationTime",
        "innerEvalTime",
        "execQueueTime",
        "execTotalTime",
    ] {
        let v = stats["timings"][key]
            .as_f64()
            .unwrap_or_else(|| panic!("timings.{key} missing: {}", reply.body));
        assert!(v >= 0.0);
    }
    let samples = stats["samples"]["totalQueryableSamples"]
        .as_u64()
        .unwrap_or_else(|| panic!("{}", reply.body));
    assert!(samples > 0, "{}", reply.body);
    assert!(
        stats["samples"]["peakSamples"].as_u64().is_some(),
        "{}",
        reply.body
    );
    let plain = get(server.local_addr(), &target.replace("&stats=all", ""));
    assert!(
        plain.json()["data"].get("stats").is_none(),
        "{}",
        plain.body
    );
    server.shutdown();
}

#[test]
fn listings_buildinfo_and_health() {
    let (db, _) = cluster_db();
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    let labels = get(addr, "/api/v1/labels").json();
    let names: Vec<&str> = labels["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        names.contains(&"__name__") && names.contains(&"owner_kind"),
        "{names:?}"
    );
    let metrics = get(addr, "/api/v1/label/__name__/values").json();
    let metrics: Vec<&str> = metrics["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        metrics.contains(&"kube_pod_owner")
            && metrics.contains(&"container_cpu_usage_seconds_total")
    );
    let limited = get(addr, "/api/v1/label/__name__/values?limit=1").json();
    assert_eq!(limited["data"].as_array().unwrap().len(), 1);
    assert_eq!(limited["warnings"][0], "results truncated due to limit");
    let series = get(
        addr,
        &format!(
            "/api/v1/series?match[]={}",
            enc(r#"kube_pod_owner{owner_kind="DaemonSet"}"#)
        ),
    )
    .json();
    let series = series["data"].as_array().unwrap();
    assert!(!series.is_empty());
    assert!(series
        .iter()
        .all(|s| s["owner_kind"] == "DaemonSet" && s["__name__"] == "kube_pod_owner"));
    let info = get(addr, "/api/v1/status/buildinfo").json();
    assert_eq!(info["status"], "success");
    assert_eq!(info["data"]["version"], env!("CARGO_PKG_VERSION"));
    // Samples appended without metadata, and no exemplars: both answer successfully and empty.
    assert_eq!(
        get(addr, "/api/v1/metadata").body,
        r#"{"status":"success","data":{}}"#
    );
    assert_eq!(
        get(addr, "/api/v1/query_exemplars?query=up").body,
        r#"{"status":"success","data":[]}"#
    );
    let ready = get(addr, "/-/ready");
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (200, "Prometheus Server is Ready.\n")
    );
    assert_eq!(get(addr, "/-/healthy").status, 200);
    server.shutdown();
}

#[test]
fn concurrent_queries_all_succeed_with_the_same_answer() {
    let (db, t) = cluster_db();
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    let target = format!(
        "/api/v1/query?query={}&time={}",
        enc(common::WORKLOAD_JOIN),
        common::secs(t)
    );
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let target = target.clone();
            std::thread::spawn(move || get(addr, &target))
        })
        .collect();
    let replies: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(replies.windows(2).all(|w| w[0].body == w[1].body));
    assert!(replies[0].body.contains("owner_name"));
    server.shutdown();
}

#[test]
fn metadata_answers_what_was_ingested_with_its_parameters() {
    let db = Db::in_memory();
    let mut app = db.appender();
    for (name, kind, help, unit) in [
        ("a_total", "counter", "A \"quoted\"\nhelp.", ""),
        ("b_bytes", "gauge", "B.", "bytes"),
        ("c", "unknown", "", ""),
    ] {
        app.set_metadata(
            name,
            promlite::MetricMetadata {
                metric_type: kind.into(),
                help: help.into(),
                unit: unit.into(),
            },
        );
    }
    app.commit().unwrap();
    let server = start(db, ApiOptions::default());
    let addr = server.local_addr();
    assert_eq!(
        get(addr, "/api/v1/metadata?metric=b_bytes").body,
        r#"{"status":"success","data":{"b_bytes":[{"type":"gauge","help":"B.","unit":"bytes"}]}}"#
    );
    let all = get(addr, "/api/v1/metadata").json();
    let names: Vec<&String> = all["data"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["a_total", "b_bytes", "c"]);
    assert_eq!(all["data"]["a_total"][0]["help"], "A \"quoted\"\nhelp.");
    assert_eq!(
        get(addr, "/api/v1/metadata?limit=2").json()["data"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        get(addr, "/api/v1/metadata?limit=0").body,
        r#"{"status":"success","data":{}}"#
    );
    assert_eq!(
        get(addr, "/api/v1/metadata?metric=nope").body,
        r#"{"status":"success","data":{}}"#
    );
    get(addr, "/api/v1/metadata?limit=x").assert_error(400, "bad_data");
    server.shutdown();
}
