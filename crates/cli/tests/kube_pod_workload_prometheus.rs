//! Oracle test of the `kube_pod_workload` extension: `promlite query-range --enable-extension
//! kube-pod-workload 'kube_pod_workload'` equals, bit for bit (`__name__` aside), Prometheus
//! 2.42's `query_range` of kubernetes-mixin's pod-owner rules
//! (`testdata/rules/workload/pod_owner.rules.yml`, the union its rules record: each rule with
//! its `workload_type`, in file order, joined by `or`) on the same data.
//!
//! The data is random kube-state-metrics owner series (`promlite_testkit::workload_data`:
//! several seeds, each in its own namespaces, one with a `cluster` label), written as
//! OpenMetrics; `promtool tsdb create-blocks-from openmetrics` makes the blocks Prometheus
//! serves and `promlite import prometheus-blocks` reads those blocks into promlite's directory.
//! The data holds no conflicting owners (which make the rules fail) and no `topk` ties
//! (Prometheus breaks them in hash-map order); `crates/eval/tests/kube_pod_workload.rs` covers
//! both against promlite's own generic path.
//!
//! Evaluation times are off both replicas' scrape grids by a fraction of a second: Prometheus
//! 2.42's lookback window is closed on the left and 3.x's (promlite's) open, so a step exactly
//! 5 minutes after a series' last sample is the one place the two definitions differ. Steps are
//! equal to and smaller than the 15 s scrape interval; instant queries run inside the data, at
//! its end and past it inside the lookback; `serve --enable-extension` answers a range too.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{path, promlite_ok, secs};
use promlite_testkit::join_data::GenSeries;
use promlite_testkit::workload_data::{
    owner_case, pod_owner_union, write_openmetrics, OwnerCaseOptions, OWNER_SCRAPES,
    OWNER_SCRAPE_MS, OWNER_START_MS,
};
use promlite_testkit::{oracle_binary, spawn_prometheus, wait_http_ok, ChildGuard};
use serde_json::Value as Json;

const RULES: &str = "testdata/rules/workload/pod_owner.rules.yml";

/// Series keyed by their label pairs (`__name__` removed), each with `(t ms, value bits)`.
type Answer = BTreeMap<Vec<(String, String)>, Vec<(i64, u64)>>;

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Several seeds' owner data, each seed in namespaces of its own.
fn dataset() -> Vec<GenSeries> {
    let mut all = Vec::new();
    for seed in 0..6u64 {
        let options = OwnerCaseOptions {
            stale_markers: false,
            conflicts: false,
            cluster: seed == 4,
        };
        for mut s in owner_case(seed, options).series {
            for (name, value) in &mut s.labels {
                if name == "namespace" {
                    *value = format!("s{seed}-{value}");
                }
            }
            all.push(s);
        }
    }
    all
}

/// A Prometheus API matrix (`data.result`) as an [`Answer`].
fn answer_of(body: &Json, what: &str) -> Answer {
    assert_eq!(body["status"], "success", "{what}: {body}");
    let vector = body["data"]["resultType"] == "vector";
    assert!(vector || body["data"]["resultType"] == "matrix", "{what}");
    let mut out = Answer::new();
    for s in body["data"]["result"].as_array().expect("result list") {
        let labels: Vec<(String, String)> = s["metric"]
            .as_object()
            .expect("metric")
            .iter()
            .filter(|(k, _)| *k != "__name__")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let one = [s["value"].clone()];
        let points = if vector {
            &one[..]
        } else {
            s["values"].as_array().expect("values")
        }
        .iter()
        .map(|p| {
            let t = p[0].as_f64().expect("time");
            let v: f64 = p[1].as_str().expect("value").parse().expect("a float");
            ((t * 1000.0).round() as i64, v.to_bits())
        })
        .collect();
        assert!(
            out.insert(labels.clone(), points).is_none(),
            "{what}: {labels:?} twice"
        );
    }
    out
}

/// `query_range` against a Prometheus-compatible API at `addr` (Prometheus, or `promlite
/// serve`).
fn api_range(addr: SocketAddr, query: &str, start: i64, end: i64, step: i64) -> Answer {
    let url = format!("http://{addr}/api/v1/query_range");
    let mut response = ureq::post(&url)
        .send_form([
            ("query", query.to_string()),
            ("start", secs(start)),
            ("end", secs(end)),
            ("step", secs(step)),
        ])
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let body = response.body_mut().read_to_string().expect("body");
    let json: Json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    answer_of(&json, &url)
}

fn promlite_range(lite: &Path, query: &str, start: i64, end: i64, step: i64) -> Answer {
    let out = promlite_ok(&[
        "query-range",
        "--data-dir",
        path(lite),
        "--enable-extension",
        "kube-pod-workload",
        "--start",
        &secs(start),
        "--end",
        &secs(end),
        "--step",
        &format!("{}ms", step),
        "--format",
        "json",
        query,
    ]);
    let json: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    answer_of(&json, "promlite")
}

#[test]
fn kube_pod_workload_equals_prometheus_on_the_mixin_rules() {
    let test = "kube_pod_workload equals Prometheus 2.42 on the mixin rules";
    let Some(promtool) = oracle_binary("promtool", test) else {
        return;
    };
    let Some(prometheus) = oracle_binary("prometheus", test) else {
        return;
    };
    let rules = std::fs::read_to_string(promlite_testkit::workspace_root().join(RULES))
        .unwrap_or_else(|e| panic!("{RULES}: {e}"));
    let union = pod_owner_union(&rules).expect("the rule file has the expected layout");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();

    let om = work.join("owners.om");
    std::fs::write(&om, write_openmetrics(&dataset())).unwrap();
    let prom_data = work.join("prom");
    run(
        Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&om)
            .arg(&prom_data),
        "promtool tsdb create-blocks-from openmetrics",
    );
    let lite = work.join("lite");
    promlite_ok(&[
        "import",
        "prometheus-blocks",
        path(&prom_data),
        "--data-dir",
        path(&lite),
    ]);

    let config = work.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1h\n").unwrap();
    let prometheus = spawn_prometheus(&prometheus, &config, &prom_data, &[]);
    let addr = prometheus.addr;
    assert!(
        wait_http_ok(addr, "/-/ready", Duration::from_secs(120)),
        "prometheus did not become ready"
    );

    let last = OWNER_START_MS + (OWNER_SCRAPES as i64 - 1) * OWNER_SCRAPE_MS;
    let off = OWNER_START_MS + 3_100;
    // (start, end, step): the whole span at the scrape interval, stretches at 5 s and 1 s, and
    // past the last scrape into the lookback.
    let ranges = [
        (off, last + 400_000, OWNER_SCRAPE_MS),
        (off + 300_000, off + 1_500_000, 5_000),
        (off + 900_000, off + 1_320_000, 1_000),
        (off + 60_000, last, 60_000),
    ];
    let mut n_points = 0usize;
    let mut kinds = std::collections::BTreeSet::new();
    for &(start, end, step) in &ranges {
        let want = api_range(addr, &union, start, end, step);
        let got = promlite_range(&lite, "kube_pod_workload", start, end, step);
        let context = format!("range {}..{} step {step} ms", secs(start), secs(end));
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{context}: series"
        );
        for (labels, want_points) in &want {
            assert_eq!(&got[labels], want_points, "{context}: {labels:?}");
            n_points += want_points.len();
            if let Some((_, t)) = labels.iter().find(|(k, _)| k == "workload_type") {
                kinds.insert(t.clone());
            }
        }
        // Matchers select from the resolution as they would from a stored series.
        let got = promlite_range(
            &lite,
            r#"kube_pod_workload{workload_type=~"deployment|CronJob", namespace!="s0-ns0"}"#,
            start,
            end,
            step,
        );
        let filtered: Answer = want
            .into_iter()
            .filter(|(labels, _)| {
                let get = |name: &str| {
                    labels
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                };
                matches!(get("workload_type"), Some("deployment" | "CronJob"))
                    && get("namespace") != Some("s0-ns0")
            })
            .collect();
        assert!(!filtered.is_empty(), "{context}: nothing to filter");
        assert_eq!(got, filtered, "{context}: with matchers");
    }

    // Instant queries: inside the data, at its end, and past it inside the lookback.
    for t in [off + 777_000, last + 100, last + 299_100] {
        let url = format!("http://{addr}/api/v1/query");
        let mut response = ureq::post(&url)
            .send_form([("query", union.clone()), ("time", secs(t))])
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let body = response.body_mut().read_to_string().expect("body");
        let json: Json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        let want = answer_of(&json, &url);
        let out = promlite_ok(&[
            "query",
            "--data-dir",
            path(&lite),
            "--enable-extension",
            "kube-pod-workload",
            "--time",
            &secs(t),
            "--format",
            "json",
            "kube_pod_workload",
        ]);
        let json: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let got = answer_of(&json, "promlite query");
        assert!(!want.is_empty(), "instant {}: empty", secs(t));
        assert_eq!(got, want, "instant {}", secs(t));
        n_points += want.len();
    }

    // `serve` takes the flag too: its API answers as the CLI does.
    let lite_addr: SocketAddr = format!("127.0.0.1:{}", promlite_testkit::free_port())
        .parse()
        .unwrap();
    let _serve = ChildGuard::new(
        Command::new(env!("CARGO_BIN_EXE_promlite"))
            .args(["serve", "--read-only", "--data-dir", path(&lite)])
            .args(["--enable-extension", "kube-pod-workload"])
            .arg(format!("--listen={lite_addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start promlite serve"),
    );
    assert!(
        wait_http_ok(lite_addr, "/-/ready", Duration::from_secs(60)),
        "promlite serve did not become ready"
    );
    let (start, end, step) = ranges[1];
    assert_eq!(
        api_range(lite_addr, "kube_pod_workload", start, end, step),
        api_range(addr, &union, start, end, step),
        "serve --enable-extension kube-pod-workload"
    );
    assert_eq!(
        kinds.iter().map(String::as_str).collect::<Vec<_>>(),
        [
            "CronJob",
            "CustomSet",
            "Rollout",
            "Workflow",
            "barepod",
            "daemonset",
            "deployment",
            "job",
            "replicaset",
            "statefulset",
            "staticpod"
        ],
        "every resolution path answered"
    );
    eprintln!(
        "kube_pod_workload: {n_points} points over {} ranges and 3 instant queries equal to Prometheus 2.42's",
        ranges.len()
    );
    assert!(n_points > 10_000, "{n_points} points compared");
}

/// The flag on `query`: off, the name is an ordinary (here empty) selector; on, the
/// resolution answers, `--explain` names the decision, and a range selector on the name is a
/// positioned error.
#[test]
fn enable_extension_flag_on_query() {
    let dir = tempfile::tempdir().unwrap();
    let om = dir.path().join("owners.om");
    let case = owner_case(11, OwnerCaseOptions::default());
    std::fs::write(&om, write_openmetrics(&case.series)).unwrap();
    let data = dir.path().join("data");
    promlite_ok(&["replay", "--data-dir", path(&data), path(&om)]);
    let time = secs(case.instant_times[0]);
    let query = |extra: &[&str], expr: &str| {
        let mut args = vec!["query", "--data-dir", path(&data), "--time", &time];
        args.extend_from_slice(extra);
        args.push(expr);
        common::promlite(&args)
    };
    let result_len = |out: &std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Json = serde_json::from_slice(&out.stdout).expect("JSON");
        json["data"]["result"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(
        result_len(&query(&["--format", "json"], "kube_pod_workload")),
        0
    );
    let on = [
        "--enable-extension",
        "kube-pod-workload",
        "--format",
        "json",
    ];
    assert!(result_len(&query(&on, "kube_pod_workload")) > 0);

    let mut explain = on.to_vec();
    explain.push("--explain");
    let out = query(&explain, r#"kube_pod_workload{namespace="ns0"}"#);
    assert!(result_len(&out) > 0);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("plan: kube_pod_workload extension: evaluated as"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = query(
        &["--enable-extension", "kube-pod-workload"],
        "count_over_time(kube_pod_workload[5m])",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1:17: range selector on kube_pod_workload"),
        "{stderr}"
    );
    // Without the flag the same query is an ordinary one.
    assert_eq!(
        result_len(&query(
            &["--format", "json"],
            "count_over_time(kube_pod_workload[5m])"
        )),
        0
    );
}
