//! `/api/v1/metadata` against Prometheus 2.42 on the same targets: Prometheus and
//! `promlite serve --scrape-config` scrape one `prometheus-node-exporter` and a static file
//! server on loopback (text format with invalid escapes in a HELP text and a label value, and
//! an OpenMetrics body with `# UNIT`); the sets of (metric, type, help, unit) must be equal, and
//! so must the `metric`, `limit` and `limit_per_metric` answers and the stored label value with
//! the invalid escape (how Prometheus's text parser stores `\q`). After a restart of promlite
//! (WAL replay) the metadata answer is unchanged.
//!
//! The same pair also runs one rule file (`serve --rules`, Prometheus's `rule_files`), so
//! `/api/v1/targets`, `/api/v1/rules` and `/api/v1/alerts` are compared too: their shapes (every
//! key) and the values that do not depend on timing (labels, URLs, health, queries, states,
//! alert labels, annotations and values).
//!
//! Skips loudly without the binaries (`promlite-testkit`); CI requires them.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promlite_testkit::{free_port, oracle_binary, spawn_prometheus, wait_http_ok, ChildGuard};
use serde_json::Value as Json;

const TEST: &str = "metadata differential against Prometheus 2.42";

/// Text format: an invalid escape in a HELP text and in a label value, a family with HELP only,
/// one with TYPE only, an untyped one, a histogram.
const TEXT_BODY: &str =
    "# HELP esc_help_total Help with a bad \\q escape, a good \\\\ one and \\n a newline.\n\
# TYPE esc_help_total counter\n\
esc_help_total{path=\"a\\qb\"} 3\n\
# HELP only_help Only a help text.\n\
only_help 1\n\
# TYPE only_type gauge\n\
only_type 2\n\
# TYPE plain_untyped untyped\n\
plain_untyped 4\n\
# HELP lat_seconds Latency \"quoted\".\n\
# TYPE lat_seconds histogram\n\
lat_seconds_bucket{le=\"1\"} 1\n\
lat_seconds_bucket{le=\"+Inf\"} 2\n\
lat_seconds_sum 1.5\n\
lat_seconds_count 2\n";

/// OpenMetrics: units, an OpenMetrics counter family name, info and stateset.
const OM_BODY: &str = "# TYPE om_req_seconds counter\n\
# UNIT om_req_seconds seconds\n\
# HELP om_req_seconds Requests \\\"served\\\".\n\
om_req_seconds_total 5\n\
# TYPE om_build info\n\
# HELP om_build Build facts.\n\
om_build_info{version=\"1\"} 1\n\
# TYPE om_temp_celsius gauge\n\
# UNIT om_temp_celsius celsius\n\
om_temp_celsius 21.5\n\
# EOF\n";

/// Serves `/metrics` (text format) and `/om` (OpenMetrics) until the process ends.
fn serve_static(listener: TcpListener) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            continue;
        }
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header) {
                Ok(0) | Err(_) => break,
                Ok(_) if header == "\r\n" || header == "\n" => break,
                Ok(_) => {}
            }
        }
        let (content_type, body) = if request_line.contains(" /om ") {
            (
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                OM_BODY,
            )
        } else {
            ("text/plain; version=0.0.4; charset=utf-8", TEXT_BODY)
        };
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}

const RULES: &str = r#"groups:
  - name: surface
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          kind: recorded
      - alert: TextTargetUp
        expr: up{job="text"} == 1
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.job }} on {{ $labels.instance }} is up ({{ $value }})"
      - alert: OmTargetUpForAWhile
        expr: up{job="om"} == 1
        for: 10m
        annotations:
          summary: pending for ten minutes
      - alert: NeverFires
        expr: up{job="node"} == 7
"#;

fn config(exporter: u16, files: u16) -> String {
    format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:{exporter}"]
  - job_name: text
    static_configs:
      - targets: ["127.0.0.1:{files}"]
  - job_name: om
    metrics_path: /om
    static_configs:
      - targets: ["127.0.0.1:{files}"]
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

/// The (metric, type, help, unit) set of a metadata answer.
fn entries(answer: &Json) -> BTreeSet<(String, String, String, String)> {
    assert_eq!(answer["status"], "success", "{answer}");
    let mut out = BTreeSet::new();
    for (metric, list) in answer["data"].as_object().expect("data is an object") {
        for m in list.as_array().expect("a list per metric") {
            let field = |k: &str| {
                m[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {m}"))
                    .to_string()
            };
            out.insert((metric.clone(), field("type"), field("help"), field("unit")));
        }
    }
    out
}

fn start_lite(
    config_path: &std::path::Path,
    rules_path: &std::path::Path,
    data_dir: &std::path::Path,
    port: u16,
) -> ChildGuard {
    ChildGuard::new(
        Command::new(env!("CARGO_BIN_EXE_promlite"))
            .arg("serve")
            .arg("--scrape-config")
            .arg(config_path)
            .arg("--rules")
            .arg(rules_path)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start promlite serve"),
    )
}

/// Waits until `addr` lists metadata for the three jobs' marker metrics.
fn wait_metadata(addr: SocketAddr, who: &str) -> Json {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = get_json(addr, "/api/v1/metadata");
        let data = &answer["data"];
        if ["esc_help_total", "om_req_seconds", "node_load1"]
            .iter()
            .all(|m| data.get(m).is_some())
        {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{who} never served metadata: {answer}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn metadata_matches_prometheus() {
    let Some(prometheus) = oracle_binary("prometheus", TEST) else {
        return;
    };
    let Some(exporter_bin) = oracle_binary("prometheus-node-exporter", TEST) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exporter_port = free_port();
    let exporter_addr: SocketAddr = format!("127.0.0.1:{exporter_port}").parse().unwrap();
    let _exporter = ChildGuard::new(
        Command::new(exporter_bin)
            .args([
                format!("--web.listen-address=127.0.0.1:{exporter_port}"),
                "--collector.disable-defaults".into(),
                "--collector.loadavg".into(),
                "--collector.meminfo".into(),
                "--collector.uname".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node exporter"),
    );
    let files = TcpListener::bind("127.0.0.1:0").unwrap();
    let files_port = files.local_addr().unwrap().port();
    std::thread::spawn(move || serve_static(files));
    assert!(
        wait_http_ok(exporter_addr, "/metrics", Duration::from_secs(20)),
        "node exporter did not come up"
    );
    let config_path = dir.path().join("scrape.yml");
    std::fs::write(&config_path, config(exporter_port, files_port)).unwrap();
    let rules_path = dir.path().join("rules.yml");
    std::fs::write(&rules_path, RULES).unwrap();
    let prom_config = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "rule_files: [{:?}]\n{}",
            rules_path.display().to_string(),
            config(exporter_port, files_port)
        ),
    )
    .unwrap();

    let prometheus = spawn_prometheus(&prometheus, &prom_config, &dir.path().join("prom"), &[]);
    let prom_addr = prometheus.addr;
    let lite_port = free_port();
    let lite_addr: SocketAddr = format!("127.0.0.1:{lite_port}").parse().unwrap();
    let data_dir = dir.path().join("lite");
    let lite = start_lite(&config_path, &rules_path, &data_dir, lite_port);
    assert!(
        wait_http_ok(prom_addr, "/-/ready", Duration::from_secs(30)),
        "prometheus did not become ready"
    );
    assert!(
        wait_http_ok(lite_addr, "/-/ready", Duration::from_secs(30)),
        "promlite did not become ready"
    );
    let prom = wait_metadata(prom_addr, "Prometheus");
    let ours = wait_metadata(lite_addr, "promlite");
    let prom_set = entries(&prom);
    let lite_set = entries(&ours);
    assert_eq!(
        lite_set.difference(&prom_set).collect::<Vec<_>>(),
        Vec::<&(String, String, String, String)>::new(),
        "entries promlite has and Prometheus does not"
    );
    assert_eq!(
        prom_set.difference(&lite_set).collect::<Vec<_>>(),
        Vec::<&(String, String, String, String)>::new(),
        "entries Prometheus has and promlite does not"
    );
    assert!(
        prom_set.len() > 20,
        "too few entries to mean much: {prom_set:?}"
    );

    // One metric, a limit, limit_per_metric, and an unknown metric: same answers (a limited
    // answer's choice of metrics is Go map order in Prometheus, so only its size is compared).
    for query in [
        "/api/v1/metadata?metric=esc_help_total",
        "/api/v1/metadata?metric=om_req_seconds",
        "/api/v1/metadata?metric=no_such_metric",
        "/api/v1/metadata?metric=node_load1&limit_per_metric=1",
        "/api/v1/metadata?limit_per_metric=0",
        "/api/v1/metadata?limit_per_metric=x",
    ] {
        assert_eq!(
            entries(&get_json(lite_addr, query)),
            entries(&get_json(prom_addr, query)),
            "{query}"
        );
    }
    for query in [
        "/api/v1/metadata?limit=2",
        "/api/v1/metadata?limit=0",
        "/api/v1/metadata?limit=-1",
    ] {
        let p = get_json(prom_addr, query);
        let l = get_json(lite_addr, query);
        assert_eq!(
            l["data"].as_object().map(|o| o.len()),
            p["data"].as_object().map(|o| o.len()),
            "{query}: {l} vs {p}"
        );
    }
    for query in ["/api/v1/metadata?limit=x", "/api/v1/metadata?limit=1.5"] {
        let p = ureq::get(&format!("http://{prom_addr}{query}")).call();
        let l = ureq::get(&format!("http://{lite_addr}{query}")).call();
        let status = |r: &Result<ureq::http::Response<ureq::Body>, ureq::Error>| match r {
            Ok(r) => r.status().as_u16(),
            Err(ureq::Error::StatusCode(code)) => *code,
            Err(e) => panic!("{query}: {e}"),
        };
        assert_eq!(status(&l), status(&p), "{query}");
    }

    // The label value with `\q` is stored as Prometheus stores it.
    let series_query = "/api/v1/series?match[]=esc_help_total";
    let label_value = |addr| {
        get_json(addr, series_query)["data"][0]["path"]
            .as_str()
            .unwrap_or_else(|| panic!("no esc_help_total series on {addr}"))
            .to_string()
    };
    assert_eq!(label_value(lite_addr), label_value(prom_addr));
    assert_eq!(label_value(prom_addr), "a\\qb");

    compare_targets_rules_alerts(prom_addr, lite_addr);

    // After a restart (WAL replay, no scrape yet counted on) the answer is the same.
    drop(lite);
    let config_none = dir.path().join("none.yml");
    std::fs::write(&config_none, "scrape_configs: []\n").unwrap();
    let restarted_port = free_port();
    let restarted_addr: SocketAddr = format!("127.0.0.1:{restarted_port}").parse().unwrap();
    let _restarted = ChildGuard::new(
        Command::new(env!("CARGO_BIN_EXE_promlite"))
            .arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{restarted_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("restart promlite serve"),
    );
    assert!(
        wait_http_ok(restarted_addr, "/-/ready", Duration::from_secs(30)),
        "restarted promlite did not become ready"
    );
    assert_eq!(
        entries(&get_json(restarted_addr, "/api/v1/metadata")),
        lite_set,
        "metadata after a restart"
    );
}

/// The keys of every object in `v`, recursively, as paths (`data.activeTargets[].labels`); the
/// members of label maps are data, not shape, and are left out.
fn shape(v: &Json, at: &str, out: &mut BTreeSet<String>) {
    match v {
        Json::Object(map) => {
            for (k, child) in map {
                let path = format!("{at}.{k}");
                out.insert(path.clone());
                let is_label_map =
                    matches!(k.as_str(), "labels" | "discoveredLabels" | "annotations");
                if !is_label_map {
                    shape(child, &path, out);
                }
            }
        }
        Json::Array(items) => {
            for item in items {
                shape(item, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

fn shape_of(v: &Json) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    shape(v, "", &mut out);
    out
}

/// Polls both servers until `ready` holds for both answers of `path`, then returns them.
fn both_when(
    prom: SocketAddr,
    lite: SocketAddr,
    path: &str,
    ready: impl Fn(&Json) -> bool,
) -> (Json, Json) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (p, l) = (get_json(prom, path), get_json(lite, path));
        if ready(&p) && ready(&l) {
            return (p, l);
        }
        assert!(Instant::now() < deadline, "{path} never settled:\n{p}\n{l}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn compare_targets_rules_alerts(prom: SocketAddr, lite: SocketAddr) {
    // Targets: every target up on both sides.
    let (p, l) = both_when(prom, lite, "/api/v1/targets", |t| {
        t["data"]["activeTargets"]
            .as_array()
            .is_some_and(|a| a.len() == 3 && a.iter().all(|t| t["health"] == "up"))
    });
    assert_eq!(shape_of(&l), shape_of(&p), "/api/v1/targets shape");
    let stable = |t: &Json| -> Vec<String> {
        t["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                [
                    "scrapePool",
                    "scrapeUrl",
                    "globalUrl",
                    "health",
                    "labels",
                    "discoveredLabels",
                    "lastError",
                    "scrapeInterval",
                    "scrapeTimeout",
                ]
                .iter()
                .map(|k| format!("{k}={}", t[*k]))
                .collect::<Vec<_>>()
                .join(" ")
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    assert_eq!(stable(&l), stable(&p), "/api/v1/targets values");

    // Rules: evaluated at least once, the alert firing.
    let firing = |a: &Json| {
        a["data"]["groups"][0]["rules"]
            .as_array()
            .is_some_and(|rules| {
                rules
                    .iter()
                    .any(|r| r["name"] == "TextTargetUp" && r["state"] == "firing")
                    && rules
                        .iter()
                        .any(|r| r["name"] == "OmTargetUpForAWhile" && r["state"] == "pending")
                    && rules.iter().all(|r| r["health"] == "ok")
            })
    };
    let (p, l) = both_when(prom, lite, "/api/v1/rules", firing);
    assert_eq!(shape_of(&l), shape_of(&p), "/api/v1/rules shape");
    let rules = |v: &Json| -> Vec<String> {
        let group = &v["data"]["groups"][0];
        let mut out = vec![format!(
            "group name={} file={} interval={}",
            group["name"], group["file"], group["interval"]
        )];
        for r in group["rules"].as_array().unwrap() {
            let alerts: BTreeSet<String> = r["alerts"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|a| {
                            format!(
                                "{} {} {} {}",
                                a["labels"], a["annotations"], a["state"], a["value"]
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(format!(
                "{} {} query={} labels={} annotations={} duration={} health={} state={} alerts={alerts:?}",
                r["type"], r["name"], r["query"], r["labels"], r["annotations"], r["duration"],
                r["health"], r["state"]
            ));
        }
        out
    };
    assert_eq!(rules(&l), rules(&p), "/api/v1/rules values");

    // Alerts: the firing and the pending one, with labels, annotations, state and value.
    let (p, l) = both_when(prom, lite, "/api/v1/alerts", |a| {
        a["data"]["alerts"].as_array().is_some_and(|a| a.len() == 2)
    });
    assert_eq!(shape_of(&l), shape_of(&p), "/api/v1/alerts shape");
    let alerts = |v: &Json| -> BTreeSet<String> {
        v["data"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{} {} {} {}",
                    a["labels"], a["annotations"], a["state"], a["value"]
                )
            })
            .collect()
    };
    assert_eq!(alerts(&l), alerts(&p), "/api/v1/alerts values");
}
