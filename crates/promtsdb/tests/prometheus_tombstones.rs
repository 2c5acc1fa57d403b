//! Tombstones written by Prometheus 2.42 itself: Prometheus serves our exported blocks with
//! the admin API on, deletes a series' time range (`/api/v1/admin/tsdb/delete_series`), and
//! the data directory it leaves (blocks with tombstones, plus its own `wal/` and
//! `chunks_head/`, which are not blocks) imports into promlite without the deleted samples:
//! the sample count equals Prometheus's own count after the deletion.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use promlite_bench::http::HttpClient;
use promlite_bench::promjson::parse_response;
use promlite_promtsdb::{export_blocks, import_blocks, ExportOptions};
use promlite_testkit::{free_port, wait_http_ok, ChildGuard};

fn count(client: &HttpClient, query: &str, t_ms: i64) -> f64 {
    let time = promlite_bench::engine::api_time(t_ms);
    let (status, body) = client
        .post_form("/api/v1/query", &[("query", query), ("time", &time)])
        .unwrap();
    assert_eq!(status, 200, "{body}");
    match parse_response("prometheus", &body).unwrap().result {
        promlite_bench::answer::QueryResult::Vector(v) => v.first().map_or(0.0, |s| s.points[0].1),
        other => panic!("{query}: {other:?}"),
    }
}

#[test]
fn prometheus_deletions_are_honoured_on_import() {
    let test = "prometheus_deletions_are_honoured_on_import";
    let Some(config) = common::prometheus_config(test) else {
        return;
    };
    let tmp = common::scratch();
    let spec = common::spec("tiny", "legacy");
    let db = common::promlite_with(&tmp.path().join("promlite"), &spec);
    let data = tmp.path().join("prometheus-data");
    export_blocks(&db, &data, &ExportOptions::default(), &mut |_| {}).unwrap();

    let port = free_port();
    let config_file = tmp.path().join("prometheus.yml");
    std::fs::write(&config_file, "scrape_configs: []\n").unwrap();
    let child = Command::new(&config.prometheus)
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-admin-api")
        .arg("--storage.tsdb.retention.time=100y")
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = ChildGuard::new(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(
        wait_http_ok(addr, "/-/ready", Duration::from_secs(60)),
        "Prometheus not ready"
    );
    let client = HttpClient::new(format!("http://{addr}"), Duration::from_secs(60));

    let end = spec.start_ms + spec.duration_ms + 3_600_000;
    let all = r#"sum(count_over_time({__name__=~".+"}[1d]))"#;
    let before = count(&client, all, end);
    assert_eq!(before, db_count(&db));
    // Delete the first 5 minutes of one metric.
    let deleted_metric = "kube_pod_owner";
    let (status, body) = client
        .post_form(
            "/api/v1/admin/tsdb/delete_series",
            &[
                ("match[]", deleted_metric),
                ("start", &promlite_bench::engine::api_time(spec.start_ms)),
                (
                    "end",
                    &promlite_bench::engine::api_time(spec.start_ms + 300_000),
                ),
            ],
        )
        .unwrap();
    assert_eq!(status, 204, "{body}");
    let after = count(&client, all, end);
    assert!(after < before, "nothing was deleted ({after} of {before})");
    drop(guard);

    let imported =
        promlite::Db::open(tmp.path().join("imported"), promlite::Options::default()).unwrap();
    let summary = import_blocks(&imported, &data, &mut |_, _| {}).unwrap();
    assert!(summary.blocks >= 1);
    assert_eq!(db_count(&imported), after);
    let samples = common::db_samples(&imported);
    for (labels, s) in &samples {
        if labels.metric_name() == Some(deleted_metric) {
            assert!(
                s.iter().all(|(t, _)| *t > spec.start_ms + 300_000),
                "{labels}"
            );
        }
    }
}

fn db_count(db: &promlite::Db) -> f64 {
    common::db_samples(db).values().map(Vec::len).sum::<usize>() as f64
}
