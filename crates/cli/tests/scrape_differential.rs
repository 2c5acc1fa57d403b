//! Differential test of live scraping against the real Prometheus 2.42: Debian's
//! `prometheus-node-exporter`, Prometheus and `promlite scrape` run side by side on loopback
//! with one configuration (1 s interval); then the stored series sets (every label, `up` and
//! the `scrape_*` series included) must be identical, per-series sample counts over a common
//! 10 s window within one scrape, the staleness markers after the exporter stops where
//! Prometheus writes them, and the targets' relabelled labels equal to Prometheus's
//! `/api/v1/targets` (discoveredLabels → labels, dropped targets).
//!
//! `promlite scrape` also captures its responses (`--capture`); replaying the node job's
//! capture directory must give the live scrape's scraped series, samples and staleness
//! markers exactly.
//!
//! Skips loudly without the binaries (`promlite-testkit`); CI requires them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlite_testkit::{free_port, oracle_binary, spawn_prometheus, wait_http_ok, ChildGuard};
use serde_json::Value as Json;

const TEST: &str = "scrape differential against Prometheus 2.42";

fn config(exporter: u16, closed: u16) -> String {
    format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:{exporter}"]
        labels: {{env: test}}
  - job_name: node-relabelled
    honor_labels: false
    static_configs:
      - targets: ["127.0.0.1:{exporter}"]
        labels: {{collector: static}}
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: "node_(load|memory_Mem|scrape_collector).*|go_goroutines"
        action: keep
      - source_labels: [__name__, exported_collector]
        separator: "@"
        regex: "node_scrape_collector_success@(.*)"
        target_label: which
        replacement: "c_$1"
      - regex: "exported_(.*)"
        action: labelmap
        replacement: "was_$1"
  - job_name: node-limited
    sample_limit: 10
    static_configs:
      - targets: ["127.0.0.1:{exporter}"]
  - job_name: relabel-replace
    static_configs:
      - targets: ["127.0.0.1:{closed}", "localhost"]
        labels: {{team: Platform, __tmp_zone: eu-1}}
    relabel_configs:
      - source_labels: [__address__]
        regex: "([^:]+):(\\d+)"
        target_label: host
        replacement: "${{1}}"
      - source_labels: [__address__]
        regex: "([^:]+):(\\d+)"
        target_label: "port_$2"
        replacement: "yes"
      - regex: "__tmp_(.*)"
        action: labelmap
        replacement: "tmp_$1"
      - source_labels: [team]
        target_label: team_lower
        action: lowercase
      - source_labels: [team]
        target_label: team_upper
        action: uppercase
      - source_labels: [host]
        regex: "local(.*)"
        target_label: instance
        replacement: "renamed$1"
  - job_name: relabel-hash
    static_configs:
      - targets: ["127.0.0.1:{closed}", "127.0.0.2:{closed}", "127.0.0.3:{closed}", "127.0.0.4:{closed}", "127.0.0.5:{closed}"]
    relabel_configs:
      - source_labels: [__address__]
        modulus: 3
        target_label: __tmp_shard
        action: hashmod
      - source_labels: [__tmp_shard]
        target_label: shard
      - source_labels: [__tmp_shard]
        regex: "0|1"
        action: keep
  - job_name: relabel-keep-drop
    static_configs:
      - targets: ["127.0.0.1:{closed}"]
        labels: {{a: x, b: x, c: y, drop_me: "1", __meta_thing: z}}
      - targets: ["127.0.0.2:{closed}"]
        labels: {{a: x, b: y}}
    relabel_configs:
      - source_labels: [a]
        target_label: b
        action: keepequal
      - source_labels: [c]
        target_label: a
        action: dropequal
      - regex: "drop_.*"
        action: labeldrop
      - regex: "__.*|a|b|c|job"
        action: labelkeep
      - source_labels: [__meta_thing]
        target_label: meta_copy
"#
    )
}

fn get_json(addr: SocketAddr, path_and_query: &str) -> Json {
    let url = format!("http://{addr}{path_and_query}");
    let mut response = ureq::get(&url)
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let body = response.body_mut().read_to_string().expect("body");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn json_labels(v: &Json) -> BTreeMap<String, String> {
    v.as_object()
        .expect("label object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

fn promlite_labels(labels: &promlite::Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Prometheus's instant vector at `t` (seconds) as label set → value.
fn prom_instant(addr: SocketAddr, query: &str, t: f64) -> BTreeMap<BTreeMap<String, String>, f64> {
    let body = get_json(
        addr,
        &format!("/api/v1/query?query={}&time={t:.3}", encode(query)),
    );
    body["data"]["result"]
        .as_array()
        .expect("vector")
        .iter()
        .map(|s| {
            (
                json_labels(&s["metric"]),
                s["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
            )
        })
        .collect()
}

fn lite_instant(db: &promlite::Db, query: &str, t: f64) -> BTreeMap<BTreeMap<String, String>, f64> {
    let out = db
        .query(query, (t * 1000.0).round() as i64)
        .expect("promlite query");
    let promlite::Value::Vector(v) = out.value else {
        panic!("{query}: not a vector")
    };
    v.iter()
        .map(|s| (promlite_labels(&s.labels), s.v))
        .collect()
}

/// A range-vector instant query's series → sample timestamps (ms) from Prometheus.
fn prom_matrix(
    addr: SocketAddr,
    query: &str,
    t: f64,
) -> BTreeMap<BTreeMap<String, String>, Vec<i64>> {
    let body = get_json(
        addr,
        &format!("/api/v1/query?query={}&time={t:.3}", encode(query)),
    );
    body["data"]["result"]
        .as_array()
        .expect("matrix")
        .iter()
        .map(|s| {
            let times = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap() * 1000.0).round() as i64)
                .collect();
            (json_labels(&s["metric"]), times)
        })
        .collect()
}

fn lite_matrix(
    db: &promlite::Db,
    query: &str,
    t: f64,
) -> BTreeMap<BTreeMap<String, String>, Vec<i64>> {
    let out = db
        .query(query, (t * 1000.0).round() as i64)
        .expect("promlite query");
    let promlite::Value::Matrix(m) = out.value else {
        panic!("{query}: not a matrix")
    };
    m.iter()
        .map(|s| {
            (
                promlite_labels(&s.labels),
                s.samples.iter().map(|p| p.t).collect(),
            )
        })
        .collect()
}

/// Timestamps (ms) and values of `up{job="node"}` over the last `range`, from a range-vector
/// instant query.
fn prom_up_samples(addr: SocketAddr, t: f64) -> Vec<(i64, f64)> {
    let body = get_json(
        addr,
        &format!(
            "/api/v1/query?query={}&time={t:.3}",
            encode(r#"up{job="node"}[2m]"#)
        ),
    );
    body["data"]["result"][0]["values"]
        .as_array()
        .expect("matrix")
        .iter()
        .map(|p| {
            (
                (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                p[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn lite_up_samples(db: &promlite::Db, t: f64) -> Vec<(i64, f64)> {
    let out = db
        .query(r#"up{job="node"}[2m]"#, (t * 1000.0).round() as i64)
        .unwrap();
    let promlite::Value::Matrix(m) = out.value else {
        panic!("not a matrix")
    };
    m[0].samples.iter().map(|s| (s.t, s.v)).collect()
}

/// The first scrape after the exporter stopped: the first `up` == 0 sample.
fn first_failure(samples: &[(i64, f64)]) -> i64 {
    samples
        .iter()
        .find(|(_, v)| *v == 0.0)
        .map(|(t, _)| *t)
        .expect("a failed scrape after the exporter stopped")
}

#[test]
fn promlite_scrape_matches_prometheus() {
    let Some(prometheus) = oracle_binary("prometheus", TEST) else {
        return;
    };
    let Some(exporter_bin) = oracle_binary("prometheus-node-exporter", TEST) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exporter_port = free_port();
    let closed_port = free_port();
    let exporter_addr: SocketAddr = format!("127.0.0.1:{exporter_port}").parse().unwrap();
    // A few fast, unprivileged collectors; both scrapers see the same exporter.
    let mut exporter = ChildGuard::new(
        Command::new(exporter_bin)
            .args([
                format!("--web.listen-address=127.0.0.1:{exporter_port}"),
                "--collector.disable-defaults".into(),
                "--collector.loadavg".into(),
                "--collector.meminfo".into(),
                "--collector.cpu".into(),
                "--collector.stat".into(),
                "--collector.uname".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node exporter"),
    );
    assert!(
        wait_http_ok(exporter_addr, "/metrics", Duration::from_secs(20)),
        "node exporter did not come up"
    );
    let config_path = dir.path().join("scrape.yml");
    std::fs::write(&config_path, config(exporter_port, closed_port)).unwrap();

    let prometheus = spawn_prometheus(&prometheus, &config_path, &dir.path().join("prom"), &[]);
    let prom_addr = prometheus.addr;
    let data_dir = dir.path().join("lite");
    let mut lite = ChildGuard::new(
        Command::new(env!("CARGO_BIN_EXE_promlite"))
            .arg("scrape")
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--capture")
            .arg(dir.path().join("capture"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start promlite scrape"),
    );
    assert!(
        wait_http_ok(prom_addr, "/-/ready", Duration::from_secs(30)),
        "prometheus did not become ready"
    );
    // Prometheus's scrape manager applies its first target update ~5 s after start: wait
    // for its first scrape, then let both scrape for 12 s; the common window is the last
    // 10 s before the exporter stops.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while prom_instant(prom_addr, r#"up{job="node"}"#, now_s()).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus never scraped"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(12));
    let window_end = now_s() - 1.5;
    let exporter_pid = exporter.id();
    exporter.child_mut().kill().expect("stop the exporter");
    let _ = exporter.child_mut().wait();
    eprintln!("stopped node exporter (pid {exporter_pid})");
    std::thread::sleep(Duration::from_secs(5));

    // Relabelling: Prometheus's targets page against our targets from the same YAML.
    let targets = get_json(prom_addr, "/api/v1/targets");
    let config = promlite_scrape::Config::load(&config_path).unwrap();
    let ours = promlite_scrape::target::targets(&config);
    assert!(ours.invalid.is_empty(), "{:?}", ours.invalid);
    // Prometheus 2.42 relabels the discovered label slice in place (`relabel.Process` may
    // modify its input), so for a job whose rules delete or add labels its page shows the
    // discovered labels after part of the relabelling (here: `relabel-keep-drop` shows
    // `meta_copy` and lacks `drop_me`). Those discovered labels are compared without that
    // job; the resulting labels of every target are compared exactly.
    let mutated_job = "relabel-keep-drop";
    let comparable = |discovered: BTreeMap<String, String>| {
        if discovered.get("job").map(String::as_str) == Some(mutated_job) {
            BTreeMap::new()
        } else {
            discovered
        }
    };
    let prom_active: BTreeSet<(BTreeMap<String, String>, BTreeMap<String, String>)> = targets
        ["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                comparable(json_labels(&t["discoveredLabels"])),
                json_labels(&t["labels"]),
            )
        })
        .collect();
    let lite_active: BTreeSet<_> = ours
        .active
        .iter()
        .map(|t| {
            (
                comparable(promlite_labels(&t.discovered_labels)),
                promlite_labels(&t.labels),
            )
        })
        .collect();
    assert_eq!(lite_active, prom_active, "active targets differ");
    // Three exporter jobs, two relabel-replace targets, one keep-drop target, plus the
    // hashmod shards kept (which ones depends on the random port).
    assert!(prom_active.len() >= 6, "{prom_active:?}");
    let prom_dropped: BTreeSet<BTreeMap<String, String>> = targets["data"]["droppedTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json_labels(&t["discoveredLabels"]))
        .collect();
    let lite_dropped: BTreeSet<_> = ours
        .dropped
        .iter()
        .map(|t| promlite_labels(&t.discovered_labels))
        .collect();
    assert_eq!(lite_dropped, prom_dropped, "dropped targets differ");
    assert!(
        !prom_dropped.is_empty(),
        "the config should drop some targets"
    );

    // Stop promlite the way a user does; it must exit 0 with its data durable.
    let pid = lite.id();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = lite.child_mut().wait().unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = lite.child_mut().stderr.take() {
        use std::io::Read as _;
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(
        exit.success(),
        "promlite scrape exited with {exit}: {stderr}"
    );
    let end = now_s();
    let db = promlite::Db::open(&data_dir, promlite::Options::default()).unwrap();

    // 1. Series sets: every series with at least one sample during the run. (Prometheus's
    // /api/v1/series would also list the sample-less series its head created for the
    // `node-limited` job's rolled-back appends; they hold no data, so a query sees none.)
    let all_series = r#"{__name__=~".+"}[2m]"#;
    let prom_series: BTreeSet<BTreeMap<String, String>> = prom_matrix(prom_addr, all_series, end)
        .into_keys()
        .collect();
    let lite_series: BTreeSet<BTreeMap<String, String>> =
        lite_matrix(&db, all_series, end).into_keys().collect();
    let only_prom: Vec<_> = prom_series.difference(&lite_series).collect();
    let only_lite: Vec<_> = lite_series.difference(&prom_series).collect();
    assert!(
        only_prom.is_empty() && only_lite.is_empty(),
        "series only in Prometheus: {only_prom:#?}\nseries only in promlite: {only_lite:#?}"
    );
    assert!(prom_series.len() > 100, "only {} series", prom_series.len());
    for name in [
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        assert!(
            lite_series
                .iter()
                .any(|s| s.get("__name__").map(String::as_str) == Some(name)),
            "no {name}"
        );
    }
    assert!(
        lite_series.iter().any(|s| s.contains_key("was_collector")),
        "honor_labels: false should have renamed the exporter's collector label"
    );

    // 2. Samples per series over the common 10 s window: within one scrape.
    let window = r#"{__name__=~".+"}[10s]"#;
    let count = |m: BTreeMap<BTreeMap<String, String>, Vec<i64>>| -> BTreeMap<_, f64> {
        m.into_iter().map(|(k, v)| (k, v.len() as f64)).collect()
    };
    let prom_counts = count(prom_matrix(prom_addr, window, window_end));
    let lite_counts = count(lite_matrix(&db, window, window_end));
    assert_eq!(
        prom_counts.keys().collect::<Vec<_>>(),
        lite_counts.keys().collect::<Vec<_>>(),
        "series with samples in the window differ"
    );
    let prom_up = prom_up_samples(prom_addr, end);
    let lite_up = lite_up_samples(&db, end);
    eprintln!("window end {window_end:.3}\nPrometheus up: {prom_up:?}\npromlite up: {lite_up:?}");
    for (series, prom_n) in &prom_counts {
        let lite_n = lite_counts[series];
        assert!(
            (prom_n - lite_n).abs() <= 1.0,
            "{series:?}: Prometheus has {prom_n} samples in the window, promlite {lite_n}"
        );
    }
    // The limited job failed every scrape in both: up is 0 and none of its samples exist.
    for counts in [&prom_counts, &lite_counts] {
        let limited: Vec<_> = counts
            .keys()
            .filter(|s| s.get("job").map(String::as_str) == Some("node-limited"))
            .map(|s| s["__name__"].clone())
            .collect();
        assert_eq!(limited.len(), 5, "{limited:?}");
    }
    let up_limited = r#"up{job="node-limited"}"#;
    assert_eq!(
        prom_instant(prom_addr, up_limited, window_end)
            .values()
            .collect::<Vec<_>>(),
        [&0.0]
    );
    assert_eq!(
        lite_instant(&db, up_limited, window_end)
            .values()
            .collect::<Vec<_>>(),
        [&0.0]
    );

    // 3. Staleness: at each side's first failed scrape, only the five synthetic series of the
    // node job are left (every scraped series got a marker at exactly that time), and one
    // millisecond earlier all of them were still there.
    let prom_fail = first_failure(&prom_up_samples(prom_addr, end)) as f64 / 1000.0;
    let lite_fail = first_failure(&lite_up_samples(&db, end)) as f64 / 1000.0;
    let node = r#"count({job="node"})"#;
    let just_before = |t: f64| t - 0.001;
    let prom_before = prom_instant(prom_addr, node, just_before(prom_fail));
    let lite_before = lite_instant(&db, node, just_before(lite_fail));
    assert_eq!(
        prom_before, lite_before,
        "series of job node before the failure"
    );
    let prom_at = prom_instant(prom_addr, node, prom_fail);
    let lite_at = lite_instant(&db, node, lite_fail);
    assert_eq!(prom_at.values().collect::<Vec<_>>(), [&5.0]);
    assert_eq!(
        lite_at, prom_at,
        "series of job node at the first failed scrape"
    );

    // 4. Capture → replay: the node job's captured responses replay to the same scraped
    // series with the same samples and markers (target labels from the capture's target.yml).
    let capture = dir
        .path()
        .join("capture")
        .join("node")
        .join(format!("127.0.0.1:{exporter_port}"));
    assert!(capture.join("target.yml").is_file());
    let replayed_dir = dir.path().join("replayed");
    let status = Command::new(env!("CARGO_BIN_EXE_promlite"))
        .arg("replay")
        .arg("--data-dir")
        .arg(&replayed_dir)
        .arg(&capture)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "replay of the capture failed");
    let replayed = promlite::Db::open(&replayed_dir, promlite::Options::default()).unwrap();
    let scraped = r#"{job="node", __name__!~"up|scrape_.*"}"#;
    let samples = |db: &promlite::Db| {
        let out = db
            .query(&format!("{scraped}[2m]"), (end * 1000.0) as i64)
            .unwrap();
        let promlite::Value::Matrix(m) = out.value else {
            panic!("not a matrix")
        };
        m.iter()
            .map(|s| {
                let points: Vec<(i64, u64)> =
                    s.samples.iter().map(|p| (p.t, p.v.to_bits())).collect();
                (promlite_labels(&s.labels), points)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let live = samples(&db);
    assert!(!live.is_empty());
    assert_eq!(
        samples(&replayed),
        live,
        "replayed capture differs from the live scrape"
    );
    let count_scraped = format!("count({scraped})");
    for t in [just_before(lite_fail), lite_fail] {
        assert_eq!(
            lite_instant(&replayed, &count_scraped, t),
            lite_instant(&db, &count_scraped, t),
            "scraped series of job node at {t}"
        );
    }
}
