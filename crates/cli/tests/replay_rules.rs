//! `promlite replay --rules`: recording while replaying writes the same series, sample for
//! sample, as `rules backfill` over the same data and range.

mod common;

use common::{path, promlite_ok, secs};
use promlite::{Labels, Value};

const RULES: &str = "testdata/rules/workload/cluster.rules.yml";
const RECORDED: &str = r#"{__name__=~"namespace_workload_pod:kube_pod_owner:relabel|node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m|namespace_workload:container_cpu_usage_seconds_total:sum_rate5m"}"#;

/// Every recorded sample (staleness markers are not returned by range selectors, their effect
/// is: a series that goes stale ends) over `[start - 1h, end]`, by series.
fn recorded(data: &std::path::Path, end: i64) -> Vec<(Labels, Vec<(i64, u64)>)> {
    let db = promlite::Db::open_read_only(data, promlite::Options::default()).unwrap();
    let out = db.query(&format!("{RECORDED}[2h]"), end).unwrap();
    let Value::Matrix(m) = out.value else {
        panic!("not a matrix")
    };
    let mut series: Vec<(Labels, Vec<(i64, u64)>)> = m
        .into_iter()
        .map(|s| {
            (
                s.labels,
                s.samples.iter().map(|p| (p.t, p.v.to_bits())).collect(),
            )
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    series
}

#[test]
fn replay_with_rules_records_what_backfill_records() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.om");
    promlite_ok(&[
        "gen-cluster",
        "--size",
        "tiny",
        "--seed",
        "11",
        "--out",
        path(&file),
    ]);
    let rules = promlite_testkit::workspace_root().join(RULES);

    // Replay, then backfill over the directory's range.
    let plain = dir.path().join("plain");
    promlite_ok(&["replay", "--data-dir", path(&plain), path(&file)]);
    let (start, end) = promlite::Db::open_read_only(&plain, promlite::Options::default())
        .unwrap()
        .time_range()
        .unwrap();
    promlite_ok(&[
        "rules",
        "backfill",
        "--data-dir",
        path(&plain),
        "--start",
        &secs(start),
        "--end",
        &secs(end),
        path(&rules),
    ]);

    // Replay with --rules.
    let live = dir.path().join("live");
    let out = promlite_ok(&[
        "replay",
        "--data-dir",
        path(&live),
        "--rules",
        path(&rules),
        path(&file),
    ]);
    assert!(out.contains(" group evaluations from "), "{out}");

    let want = recorded(&plain, end);
    let got = recorded(&live, end);
    let n_samples: usize = want.iter().map(|s| s.1.len()).sum();
    let names: std::collections::BTreeSet<&str> =
        want.iter().filter_map(|s| s.0.metric_name()).collect();
    assert_eq!(names.len(), 3, "every rule recorded something: {names:?}");
    assert!(n_samples > 100, "{n_samples} samples recorded");
    assert_eq!(got.len(), want.len(), "number of recorded series");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
}

#[test]
fn replay_rejects_a_bad_rule_file_before_replaying() {
    let dir = tempfile::tempdir().unwrap();
    let bad = promlite_testkit::workspace_root().join("testdata/rules/rules/bad_expr.yml");
    let data = dir.path().join("data");
    let input = promlite_testkit::workspace_root().join("testdata/exposition/edge_values.prom");
    let out = common::promlite(&[
        "replay",
        "--data-dir",
        path(&data),
        "--rules",
        path(&bad),
        path(&input),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("5:11: group \"bad\", rule 1"), "{err}");
    assert!(
        !data.exists(),
        "nothing replayed before the rules were checked"
    );
}
