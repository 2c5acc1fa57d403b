//! Shared support of the integration tests: real engines on loopback (Prometheus,
//! VictoriaMetrics, node exporter) started from the test and killed by PID, a promlite server
//! with the remote endpoints, cluster data, and Prometheus JSON helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite::Db;
use promlite_http::{Api, ApiOptions, Server, ServerOptions};
use promlite_testkit::{free_port, oracle_binary, wait_http_ok, ChildGuard};

/// A running external engine: the child (killed on drop), its address and its temp dir.
pub struct Engine {
    pub child: ChildGuard,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
}

impl Engine {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The engine's log, for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn spawn(
    binary: &Path,
    args: &[String],
    dir: tempfile::TempDir,
    addr: SocketAddr,
    ready: &str,
) -> Engine {
    let log = dir.path().join("engine.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new(binary)
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::from(log_file.try_clone().unwrap()))
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let engine = Engine {
        child: ChildGuard::new(child),
        addr,
        dir,
        log,
    };
    assert!(
        wait_http_ok(addr, ready, Duration::from_secs(60)),
        "{} did not become ready on {addr}:\n{}",
        binary.display(),
        engine.log_text()
    );
    engine
}

/// Starts Prometheus 2.42 with `config` (YAML) and extra flags, or `None` (skipped loudly).
pub fn start_prometheus(test: &str, config: &str, extra: &[&str]) -> Option<Engine> {
    let binary = oracle_binary("prometheus", test)?;
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut args = vec![
        format!("--config.file={}", config_path.display()),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address={addr}"),
        "--storage.tsdb.retention.time=100y".to_string(),
        "--log.level=warn".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Some(spawn(&binary, &args, dir, addr, "/-/ready"))
}

/// Starts VictoriaMetrics (single node), or `None` (skipped loudly).
pub fn start_victoria(test: &str) -> Option<Engine> {
    let binary = oracle_binary("victoria-metrics", test)?;
    let dir = tempfile::tempdir().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let args = vec![
        format!("-storageDataPath={}", dir.path().join("data").display()),
        format!("-httpListenAddr={addr}"),
        "-retentionPeriod=100y".to_string(),
        "-search.disableCache".to_string(),
        "-search.latencyOffset=0s".to_string(),
        "-loggerLevel=WARN".to_string(),
    ];
    Some(spawn(&binary, &args, dir, addr, "/health"))
}

/// Starts Debian's node exporter with a few collectors, or `None` (skipped loudly).
pub fn start_node_exporter(test: &str) -> Option<Engine> {
    let binary = oracle_binary("prometheus-node-exporter", test)?;
    let dir = tempfile::tempdir().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let args = vec![
        format!("--web.listen-address={addr}"),
        "--collector.disable-defaults".to_string(),
        "--collector.cpu".to_string(),
        "--collector.meminfo".to_string(),
        "--collector.loadavg".to_string(),
        "--collector.stat".to_string(),
        "--collector.time".to_string(),
    ];
    Some(spawn(&binary, &args, dir, addr, "/metrics"))
}

/// A promlite server over `db` with the remote write/read and federation endpoints.
pub fn start_promlite(db: &Db) -> Server {
    let options = ServerOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        workers: 4,
        ..ServerOptions::default()
    };
    let api = Api::new(db.clone(), ApiOptions::default())
        .mount(Arc::new(promlite_http::remote::RemoteEndpoints::default()))
        .mount(Arc::new(promlite_http::federate::FederateEndpoints));
    Server::start_api(api, options).unwrap()
}

/// The small generated cluster (legacy labels, seed 1), replayed into a fresh data directory.
pub fn cluster_db(size: promlite_cluster::Size, dir: &Path) -> Db {
    let spec = promlite_cluster::ClusterSpec::preset(size);
    let file = dir.join("cluster.om");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    promlite_cluster::write_openmetrics(&spec, &mut out).unwrap();
    std::io::Write::flush(&mut out).unwrap();
    drop(out);
    let db = Db::open(dir.join("data"), promlite::Options::default()).unwrap();
    db.replay_file(&file).unwrap();
    db
}

/// An HTTP agent that returns non-2xx statuses instead of failing.
pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build(),
    )
}

/// `GET base+path_and_query`: status and body.
pub fn get(base: &str, path_and_query: &str) -> (u16, String) {
    let mut response = agent()
        .get(&format!("{base}{path_and_query}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {base}{path_and_query}: {e}"));
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .unwrap();
    (status, body)
}

/// POSTs a form to `base+path`, returning the parsed JSON body (asserting 200).
pub fn post_form(base: &str, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
    let mut response = agent()
        .post(&format!("{base}{path}"))
        .send_form(form.iter().copied())
        .unwrap();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .unwrap();
    assert_eq!(status, 200, "POST {base}{path} {form:?}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// POSTs raw bytes with remote-write headers: status and body text.
pub fn post_bytes(url: &str, body: &[u8], encoding: Option<&str>) -> (u16, String) {
    let mut request = agent()
        .post(url)
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0");
    if let Some(encoding) = encoding {
        request = request.header("Content-Encoding", encoding);
    }
    let mut response = request.send(body).unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, text)
}

/// An instant query's result, normalised: `(metric labels as JSON text, value text)` sorted.
pub fn instant(base: &str, query: &str, time_ms: i64) -> Vec<(String, String)> {
    let time = format!("{:.3}", time_ms as f64 / 1000.0);
    let json = post_form(base, "/api/v1/query", &[("query", query), ("time", &time)]);
    normalise(&json, query)
}

/// A range query's result, normalised: `(metric, [(t, value)...])` as text, sorted.
pub fn range(
    base: &str,
    query: &str,
    start_ms: i64,
    end_ms: i64,
    step_s: i64,
) -> Vec<(String, String)> {
    let start = format!("{:.3}", start_ms as f64 / 1000.0);
    let end = format!("{:.3}", end_ms as f64 / 1000.0);
    let step = step_s.to_string();
    let json = post_form(
        base,
        "/api/v1/query_range",
        &[
            ("query", query),
            ("start", &start),
            ("end", &end),
            ("step", &step),
        ],
    );
    normalise(&json, query)
}

fn normalise(json: &serde_json::Value, query: &str) -> Vec<(String, String)> {
    assert_eq!(json["status"], "success", "{query}: {json}");
    let result = json["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = result
        .iter()
        .map(|series| {
            let metric = serde_json::to_string(&series["metric"]).unwrap();
            let values = if series.get("values").is_some() {
                serde_json::to_string(&series["values"]).unwrap()
            } else {
                serde_json::to_string(&series["value"]).unwrap()
            };
            (metric, values)
        })
        .collect();
    out.sort();
    out
}

/// Waits until `check` returns true, polling every 200 ms, up to `timeout`.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every stored sample of `db` in `[start, end]` for series matching `selector`, as
/// `(labels text, [(t, value bits)])` sorted.
pub fn stored(db: &Db, selector: &str, start: i64, end: i64) -> Vec<(String, Vec<(i64, u64)>)> {
    let matchers = promlite::parse_selector(selector).unwrap();
    let series = promlite_remote::receiver::read_series(db, start, end, &matchers).unwrap();
    let mut out: Vec<_> = series
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Compares two normalised query results: the same series, the same timestamps, values equal
/// to a relative 1e-9 (absolute 1e-12 near zero; NaN equals NaN). Prometheus 2.42 sums in
/// hash-map order, so aggregated values may differ in the last bits (as in the facade's
/// workload golden test).
pub fn assert_same(mine: &[(String, String)], theirs: &[(String, String)], context: &str) {
    if let Err(why) = compare(mine, theirs) {
        panic!("{context}: {why}");
    }
}

/// [`assert_same`] as a check: `Err` says what differs first.
pub fn compare(mine: &[(String, String)], theirs: &[(String, String)]) -> Result<(), String> {
    let metrics = |r: &[(String, String)]| r.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>();
    if metrics(mine) != metrics(theirs) {
        return Err(format!(
            "series differ: {} vs {} series; first of ours {:?}, of theirs {:?}",
            mine.len(),
            theirs.len(),
            mine.first().map(|m| &m.0),
            theirs.first().map(|m| &m.0)
        ));
    }
    for ((metric, a), (_, b)) in mine.iter().zip(theirs) {
        let points = |text: &str| -> Vec<(f64, f64)> {
            let json: serde_json::Value = serde_json::from_str(text).unwrap();
            let list = if json[0].is_array() {
                json.as_array().unwrap().clone()
            } else {
                vec![json]
            };
            list.iter()
                .map(|p| {
                    let v = p[1].as_str().unwrap();
                    let v = match v {
                        "+Inf" => f64::INFINITY,
                        "-Inf" => f64::NEG_INFINITY,
                        other => other.parse().unwrap(),
                    };
                    (p[0].as_f64().unwrap(), v)
                })
                .collect()
        };
        let (pa, pb) = (points(a), points(b));
        if pa.len() != pb.len() {
            return Err(format!("{metric}: {} vs {} points", pa.len(), pb.len()));
        }
        for (x, y) in pa.iter().zip(&pb) {
            let same = x.1 == y.1
                || (x.1.is_nan() && y.1.is_nan())
                || (x.1 - y.1).abs() <= 1e-12
                || (x.1 - y.1).abs() <= 1e-9 * y.1.abs();
            if x.0 != y.0 || !same {
                return Err(format!(
                    "{metric}: ({}, {}) vs ({}, {})",
                    x.0, x.1, y.0, y.1
                ));
            }
        }
    }
    Ok(())
}

/// The legacy-style workload queries of `testdata/workload/workload.json`: `(name, query)`.
pub fn workload_queries() -> Vec<(String, String)> {
    let root = promlite_testkit::workspace_root().join("testdata/workload");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("workload.json")).unwrap())
            .unwrap();
    manifest["queries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["style"] == "legacy" && q["expect"] != "error")
        .map(|q| {
            let text = std::fs::read_to_string(root.join(q["file"].as_str().unwrap())).unwrap();
            let query: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect();
            (
                q["name"].as_str().unwrap().to_string(),
                query.join("\n").trim().to_string(),
            )
        })
        .filter(|(_, q)| !q.is_empty())
        .collect()
}
