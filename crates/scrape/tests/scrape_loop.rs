//! The scrape loop against a fake target on loopback: vanished series get a staleness
//! marker at the next scrape, a failed scrape marks every series stale and reports up=0,
//! sample_limit fails the scrape without storing samples, honor_labels/exported_ and
//! honor_timestamps, and the synthetic series' values.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use promlite::{Db, Value};
use promlite_scrape::target::{populate_labels, Populated};
use promlite_scrape::{Config, ScrapeLoop, ScrapeRules};

/// Serves whatever body is in `body` (status 200; an empty body answers 500).
fn fake_target(body: Arc<Mutex<String>>) -> (u16, std::thread::JoinHandle<()>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let handle = std::thread::spawn(move || {
        while let Ok(Some(request)) = server.recv_timeout(Duration::from_secs(10)) {
            let text = body.lock().unwrap().clone();
            let response = if text.is_empty() {
                tiny_http::Response::from_string("boom").with_status_code(500)
            } else {
                tiny_http::Response::from_string(text)
            };
            let _ = request.respond(response);
        }
    });
    (port, handle)
}

fn scrape_loop(port: u16, job_yaml: &str) -> ScrapeLoop {
    let config = Config::parse(&format!(
        "scrape_configs:\n  - job_name: fake\n    scrape_interval: 1s\n{job_yaml}    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n"
    ))
    .unwrap();
    let job = &config.scrape_configs[0];
    let mut discovered = std::collections::BTreeMap::new();
    discovered.insert("__address__".to_string(), format!("127.0.0.1:{port}"));
    let Ok(Populated::Active(target)) = populate_labels(discovered, job) else {
        panic!("target not active")
    };
    ScrapeLoop::new(
        target,
        ScrapeRules {
            honor_labels: job.honor_labels,
            honor_timestamps: job.honor_timestamps,
            metric_relabel_configs: Arc::new(job.metric_relabel_configs.clone()),
            sample_limit: job.sample_limit,
            label_limit: job.label_limit,
            follow_redirects: job.follow_redirects,
        },
    )
}

fn instant(db: &Db, query: &str, t: i64) -> Vec<(String, f64)> {
    let Value::Vector(v) = db.query(query, t).unwrap().value else {
        panic!("not a vector")
    };
    let mut out: Vec<_> = v.iter().map(|s| (s.labels.to_string(), s.v)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn vanished_series_and_failed_scrapes_get_staleness_markers() {
    let body = Arc::new(Mutex::new("a 1\nb 2\n".to_string()));
    let (port, _server) = fake_target(body.clone());
    let mut lp = scrape_loop(port, "");
    let db = Db::in_memory();
    let r1 = lp.scrape(&db, 10_000).unwrap();
    assert_eq!(
        (r1.error.clone(), r1.samples_scraped, r1.series_added),
        (None, 2, 2)
    );
    *body.lock().unwrap() = "a 3\n".into();
    let r2 = lp.scrape(&db, 11_000).unwrap();
    assert_eq!((r2.stale_markers, r2.series_added), (1, 0));
    // b ended at 11 s: gone at 11 s, present just before.
    assert_eq!(instant(&db, "b", 10_999).len(), 1);
    assert!(instant(&db, "b", 11_000).is_empty());
    assert_eq!(instant(&db, "a", 11_000)[0].1, 3.0);
    // The target fails: a gets its marker, up is 0, the report series stay.
    body.lock().unwrap().clear();
    let r3 = lp.scrape(&db, 12_000).unwrap();
    assert!(r3.error.as_deref().unwrap().contains("500"), "{r3:?}");
    assert_eq!(r3.stale_markers, 1);
    assert!(instant(&db, "a", 12_000).is_empty());
    let up = instant(&db, "up", 12_000);
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].1, 0.0);
    assert!(
        up[0].0.contains(&format!("instance=\"127.0.0.1:{port}\""))
            && up[0].0.contains("job=\"fake\"")
    );
    assert_eq!(instant(&db, "scrape_samples_scraped", 12_000)[0].1, 0.0);
    assert_eq!(instant(&db, "scrape_samples_scraped", 11_000)[0].1, 1.0);
    assert_eq!(instant(&db, "scrape_series_added", 10_000)[0].1, 2.0);
    // It comes back: a is new again.
    *body.lock().unwrap() = "a 4\n".into();
    let r4 = lp.scrape(&db, 13_000).unwrap();
    assert_eq!((r4.error, r4.series_added), (None, 1));
}

#[test]
fn sample_limit_fails_the_scrape_without_storing_samples() {
    let body = Arc::new(Mutex::new("a 1\nb 2\nc 3\n".to_string()));
    let (port, _server) = fake_target(body);
    let mut lp = scrape_loop(port, "    sample_limit: 2\n");
    let db = Db::in_memory();
    let report = lp.scrape(&db, 10_000).unwrap();
    assert_eq!(report.error.as_deref(), Some("sample limit exceeded"));
    assert_eq!(report.samples_scraped, 3);
    assert!(instant(&db, "a", 10_000).is_empty());
    assert_eq!(instant(&db, "up", 10_000)[0].1, 0.0);
}

#[test]
fn honor_labels_and_timestamps() {
    let body = Arc::new(Mutex::new(
        "x{job=\"pushed\",instance=\"i\"} 1\nt 5 9000\n".to_string(),
    ));
    let (port, _server) = fake_target(body.clone());
    let db = Db::in_memory();
    let mut lp = scrape_loop(port, "");
    lp.scrape(&db, 10_000).unwrap();
    let x = instant(&db, "x", 10_000);
    assert_eq!(
        x[0].0,
        format!("{{__name__=\"x\", exported_instance=\"i\", exported_job=\"pushed\", instance=\"127.0.0.1:{port}\", job=\"fake\"}}")
    );
    // The exposed timestamp is kept (9 s), and such samples are not staleness-tracked.
    assert_eq!(instant(&db, "t", 9_000)[0].1, 5.0);
    let db = Db::in_memory();
    let mut lp = scrape_loop(
        port,
        "    honor_labels: true\n    honor_timestamps: false\n",
    );
    lp.scrape(&db, 10_000).unwrap();
    let x = instant(&db, "x", 10_000);
    assert_eq!(x[0].0, "{__name__=\"x\", instance=\"i\", job=\"pushed\"}");
    assert!(instant(&db, "t", 9_999).is_empty());
    assert_eq!(instant(&db, "t", 10_000)[0].1, 5.0);
}
