//! `promlite rules backfill` with the Kubernetes-mixin-style workload rules
//! (`testdata/rules/workload/mixin.rules.yml`) over the generated small cluster records the
//! same series, sample for sample and bit for bit, as Prometheus 2.42's own rule evaluation:
//! `promtool tsdb create-blocks-from rules` querying a Prometheus that serves the same data.
//!
//! Both sides read identical data: `promtool tsdb create-blocks-from openmetrics` turns the
//! generated OpenMetrics file into the blocks Prometheus serves, and `promlite import
//! prometheus-blocks` reads those blocks into promlite's directory. Prometheus's blocks are
//! read back with promlite's block reader.
//!
//! Where 2.42 and 3.x semantics (promlite follows 3.x) give a point different values, the
//! point is recomputed from the raw samples with both definitions; promtool must match the
//! 2.42 one and promlite the 3.x one, bit for bit. The differences that can arise:
//! - `rate` extrapolation towards the start of a window: 2.42 limits the start to the
//!   counter's zero point before comparing with the extrapolation threshold, 3.x after;
//! - windows and lookback closed on the left in 2.42, open in 3.x: ruled out by the
//!   preconditions below (no evaluation slot is congruent to a scrape time modulo 15 s).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{path, promlite_ok, secs};
use promlite::{Labels, Value};
use promlite_testkit::{oracle_binary, spawn_prometheus, wait_http_ok};

const RULES: &str = "testdata/rules/workload/mixin.rules.yml";
const RULE_FILE_NAME: &str = "mixin.rules.yml";
const OWNER: &str = "namespace_workload_pod:kube_pod_owner:relabel";
const CPU: &str = "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m";
const SCRAPE_MS: i64 = 15_000;
const INTERVAL_MS: i64 = 60_000;
const RATE_RANGE_MS: i64 = 300_000;

/// Prometheus's group offset in nanoseconds (`rules/group.go`): xxhash64 of the label set
/// `{file, name}` modulo the interval.
fn offset_ns(file: &str, group: &str) -> u64 {
    let mut bytes = Vec::new();
    for (k, v) in [("file", file), ("name", group)] {
        bytes.extend_from_slice(k.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(v.as_bytes());
        bytes.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&bytes, 0) % (INTERVAL_MS as u64 * 1_000_000)
}

/// Conditions under which promtool's output is Prometheus's rule evaluation at exactly the
/// slots promlite evaluates, so that the comparison can stay exact:
/// - promtool sends each range query's start as float seconds, which Prometheus rounds to the
///   millisecond, while the rule manager truncates: the sub-millisecond part of the offset must
///   be well under half a millisecond;
/// - promtool's per-block range queries end at the block's last whole second, dropping a slot
///   in a block's last second: the offset must stay at or below 59 s;
/// - no slot may be congruent to a scrape time modulo the scrape interval (left-closed 2.42
///   windows would then see one more sample than 3.x's left-open ones).
fn check_preconditions(group: &str, scrape_phase_ms: i64) {
    let ns = offset_ns(RULE_FILE_NAME, group);
    let ms = i64::try_from(ns / 1_000_000).unwrap();
    let sub_ms = ns % 1_000_000;
    assert!(
        sub_ms < 499_000,
        "group {group}: offset {ns} ns rounds differently; rename the group"
    );
    assert!(
        ms <= 59_000,
        "group {group}: offset {ms} ms; rename the group"
    );
    assert_ne!(
        ms.rem_euclid(SCRAPE_MS),
        scrape_phase_ms,
        "group {group}: slots coincide with scrapes; rename the group"
    );
}

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

type Series = BTreeMap<Labels, Vec<(i64, f64)>>;

/// Every sample of the recorded series in `data` (staleness markers are not returned by
/// range selectors; promtool writes none).
fn recorded(data: &Path, end: i64) -> Series {
    let db = promlite::Db::open_read_only(data, promlite::Options::default()).unwrap();
    let out = db
        .query(&format!(r#"{{__name__=~"{OWNER}|{CPU}"}}[3h]"#), end)
        .unwrap();
    let Value::Matrix(m) = out.value else {
        panic!("not a matrix")
    };
    m.into_iter()
        .map(|s| (s.labels, s.samples.iter().map(|p| (p.t, p.v)).collect()))
        .collect()
}

/// `rate` over one window of raw samples, by 2.42's definition (`legacy`) or 3.x's.
fn rate(samples: &[(i64, f64)], t: i64, legacy: bool) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (first, last) = (samples[0], samples[samples.len() - 1]);
    let mut result = last.1 - first.1;
    for w in samples.windows(2) {
        if w[1].1 < w[0].1 {
            result += w[0].1;
        }
    }
    let mut to_start = (first.0 - (t - RATE_RANGE_MS)) as f64 / 1000.0;
    let to_end = (t - last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let avg = sampled / (samples.len() - 1) as f64;
    let threshold = avg * 1.1;
    let to_zero = (result > 0.0 && first.1 >= 0.0).then(|| sampled * (first.1 / result));
    let mut interval = sampled;
    if legacy {
        if let Some(z) = to_zero {
            to_start = to_start.min(z);
        }
        interval += if to_start < threshold {
            to_start
        } else {
            avg / 2.0
        };
    } else {
        if to_start >= threshold {
            to_start = avg / 2.0;
        }
        if let Some(z) = to_zero {
            to_start = to_start.min(z);
        }
        interval += to_start;
    }
    interval += if to_end < threshold {
        to_end
    } else {
        avg / 2.0
    };
    Some(result * (interval / sampled) / (RATE_RANGE_MS as f64 / 1000.0))
}

/// The CPU rule's value at `t` for `labels`, recomputed from the raw counter samples: the
/// rate of the one matching container series (times kube_pod_info's 1).
fn cpu_point(db: &promlite::Db, labels: &Labels, t: i64, legacy: bool) -> f64 {
    let selector = format!(
        r#"container_cpu_usage_seconds_total{{job="kubernetes-nodes-cadvisor",image!="",container_name!="POD",namespace="{}",pod_name="{}",container_name="{}"}}[5m]"#,
        labels.get("namespace").unwrap(),
        labels.get("pod").unwrap(),
        labels.get("container").unwrap()
    );
    let Value::Matrix(m) = db.query(&selector, t).unwrap().value else {
        panic!("not a matrix")
    };
    assert_eq!(m.len(), 1, "one input series for {labels} at {t}");
    let samples: Vec<(i64, f64)> = m[0].samples.iter().map(|s| (s.t, s.v)).collect();
    assert!(
        samples.iter().all(|s| s.0 > t - RATE_RANGE_MS),
        "a sample on the window's left edge: the preconditions do not hold"
    );
    rate(&samples, t, legacy).expect("two samples") * 1.0
}

#[test]
fn backfill_equals_prometheus_rule_evaluation() {
    let test = "rules backfill equals Prometheus 2.42's rule evaluation";
    let Some(promtool) = oracle_binary("promtool", test) else {
        return;
    };
    let Some(prometheus) = oracle_binary("prometheus", test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    std::fs::copy(
        promlite_testkit::workspace_root().join(RULES),
        work.join(RULE_FILE_NAME),
    )
    .unwrap();
    let spec = promlite_cluster::ClusterSpec::preset(promlite_cluster::Size::Small);
    let file = promlite_rules::file::read_rule_file(&work.join(RULE_FILE_NAME)).unwrap();
    for g in &file.groups {
        assert_eq!(g.interval_ms, Some(INTERVAL_MS));
        check_preconditions(&g.name, spec.start_ms.rem_euclid(SCRAPE_MS));
    }

    // The same data on both sides.
    let om = work.join("small.om");
    promlite_ok(&["gen-cluster", "--size", "small", "--out", path(&om)]);
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
    let first_t = spec.scrape_time(0);
    let last_t = spec.scrape_time(spec.n_scrapes() - 1);
    // Whole seconds (promtool's --start/--end resolution), leaving 5 m of history for rate.
    let start = (first_t + RATE_RANGE_MS).div_euclid(1000) * 1000;
    let end = last_t.div_euclid(1000) * 1000;

    let config = work.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1h\n").unwrap();
    let prometheus = spawn_prometheus(&prometheus, &config, &prom_data, &[]);
    let addr = prometheus.addr;
    assert!(
        wait_http_ok(addr, "/-/ready", Duration::from_secs(120)),
        "prometheus did not become ready"
    );

    // Prometheus's evaluation (run in the work directory so both tools hash the same file
    // name into the groups' offsets).
    let prom_rules = work.join("prom-rules");
    run(
        Command::new(&promtool)
            .current_dir(work)
            .args(["tsdb", "create-blocks-from", "rules"])
            .arg(format!("--start={}", start / 1000))
            .arg(format!("--end={}", end / 1000))
            .arg(format!("--url=http://{addr}"))
            .arg(format!("--output-dir={}", prom_rules.display()))
            .arg(RULE_FILE_NAME),
        "promtool tsdb create-blocks-from rules",
    );
    let oracle = work.join("oracle");
    promlite_ok(&[
        "import",
        "prometheus-blocks",
        path(&prom_rules),
        "--data-dir",
        path(&oracle),
    ]);

    // promlite's.
    let out = Command::new(env!("CARGO_BIN_EXE_promlite"))
        .current_dir(work)
        .args(["rules", "backfill", "--data-dir", "lite"])
        .args(["--start", &secs(start), "--end", &secs(end), RULE_FILE_NAME])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning: rule"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let want = recorded(&oracle, end + 1);
    let got = recorded(&lite, end + 1);
    let names = |s: &Series, name: &str| s.keys().filter(|l| l.metric_name() == Some(name)).count();
    let kinds: std::collections::BTreeSet<&str> =
        want.keys().filter_map(|l| l.get("workload_type")).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["daemonset", "deployment", "job", "statefulset"],
        "every workload kind recorded by Prometheus"
    );
    assert!(names(&want, CPU) > 20, "{} CPU series", names(&want, CPU));
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "recorded series"
    );

    let lite_db = promlite::Db::open_read_only(&lite, promlite::Options::default()).unwrap();
    let (mut n_equal, mut n_recomputed) = (0usize, 0usize);
    for (labels, want_points) in &want {
        let got_points = &got[labels];
        let times = |p: &[(i64, f64)]| p.iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(
            times(got_points),
            times(want_points),
            "timestamps of {labels}"
        );
        for (w, g) in want_points.iter().zip(got_points) {
            if w.1.to_bits() == g.1.to_bits() {
                n_equal += 1;
                continue;
            }
            assert_eq!(
                labels.metric_name(),
                Some(CPU),
                "{labels} at {}: promlite {} vs Prometheus {}",
                w.0,
                g.1,
                w.1
            );
            let legacy = cpu_point(&lite_db, labels, w.0, true);
            let current = cpu_point(&lite_db, labels, w.0, false);
            assert_eq!(
                (w.1.to_bits(), g.1.to_bits()),
                (legacy.to_bits(), current.to_bits()),
                "{labels} at {}: Prometheus {} and promlite {} vs recomputed 2.42 {legacy} and 3.x {current}",
                w.0,
                w.1,
                g.1
            );
            n_recomputed += 1;
        }
    }
    eprintln!(
        "{} series: {n_equal} samples bit-identical, {n_recomputed} differing as 2.42 and 3.x define rate",
        want.len()
    );
    assert!(n_equal > 1000, "{n_equal} samples compared");
}
