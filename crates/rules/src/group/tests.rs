//! Group evaluation tests: Prometheus's slot alignment, rule chaining, staleness markers,
//! alert state transitions, limits and health.

use promlite_eval::{Engine, EngineOptions};
use promlite_model::{is_stale_nan, Labels, Sample};

use super::*;
use crate::file::parse_rule_file;
use crate::storage::CheckedMemStore;

fn group(yaml: &str) -> Group {
    let file = parse_rule_file("test.yml", yaml).expect("valid rules");
    let spec = file.groups.into_iter().next().expect("one group");
    Group::new("test.yml", spec, 60_000)
}

fn samples(store: &CheckedMemStore, name: &str) -> Vec<(Labels, Vec<Sample>)> {
    let q = store
        .queryable()
        .querier(-1_000_000_000, 1_000_000_000)
        .unwrap();
    let hints = promlite_model::SelectHints {
        start: -1_000_000_000,
        end: 1_000_000_000,
        ..Default::default()
    };
    let m = promlite_model::Matcher::equal("__name__", name);
    let mut out = Vec::new();
    for mut series in q.select(&hints, &[m]).unwrap() {
        let mut v = Vec::new();
        while let Some(s) = series.samples.next().unwrap() {
            v.push(s);
        }
        out.push((series.labels, v));
    }
    out
}

fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

fn add(store: &CheckedMemStore, pairs: &[(&str, &str)], t: i64, v: f64) {
    store
        .store()
        .add(Labels::from_pairs(pairs.iter().copied()), Sample::new(t, v));
}

/// Sample timestamps written by Prometheus 2.42 for these groups (file
/// `/tmp/rules/prom/rules.yml`), read back from its API: `g1` (10 s) at 7.635 s past each
/// 10 s slot, `another-group` (7 s) at `1796198977774 mod 7000` = 6774 ms.
#[test]
fn eval_timestamps_align_like_prometheus() {
    let spec = |name: &str, interval: i64| GroupSpec {
        name: name.into(),
        interval_ms: Some(interval),
        query_offset_ms: None,
        limit: 0,
        rules: Vec::new(),
    };
    let g1 = Group::new("/tmp/rules/prom/rules.yml", spec("g1", 10_000), 60_000);
    assert_eq!(g1.eval_timestamp(1_796_198_980_000), 1_796_198_977_635);
    assert_eq!(g1.eval_timestamp(1_796_198_987_635), 1_796_198_987_635);
    let g2 = Group::new(
        "/tmp/rules/prom/rules.yml",
        spec("another-group", 7_000),
        60_000,
    );
    assert_eq!(g2.eval_timestamp(1_796_198_980_000), 1_796_198_977_774);
}

#[test]
fn later_rules_see_earlier_results_of_the_same_evaluation() {
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: a:double\n    expr: x * 2\n  - record: a:quad\n    expr: a:double * 2\n",
    );
    let store = CheckedMemStore::new();
    add(&store, &[("__name__", "x")], 0, 3.0);
    g.eval(&engine(), &store, 0, &EvalContext::default());
    let quad = samples(&store, "a:quad");
    assert_eq!(quad.len(), 1);
    assert_eq!(quad[0].1, vec![Sample::new(0, 12.0)]);
    assert!(g.rules.iter().all(|r| r.health == Health::Good));
}

#[test]
fn vanished_series_get_a_staleness_marker() {
    let mut g = group("groups:\n- name: g\n  rules:\n  - record: r\n    expr: x\n");
    let store = CheckedMemStore::new();
    add(&store, &[("__name__", "x"), ("i", "1")], 0, 1.0);
    add(&store, &[("__name__", "x"), ("i", "2")], 0, 1.0);
    add(&store, &[("__name__", "x"), ("i", "1")], 60_000, 2.0);
    add(
        &store,
        &[("__name__", "x"), ("i", "2")],
        60_000,
        promlite_model::STALE_NAN,
    );
    g.eval(&engine(), &store, 0, &EvalContext::default());
    g.eval(&engine(), &store, 60_000, &EvalContext::default());
    let recorded = samples(&store, "r");
    assert_eq!(recorded.len(), 2);
    let two = &recorded[1].1;
    assert_eq!(two.len(), 2);
    assert!(is_stale_nan(two[1].v) && two[1].t == 60_000, "{two:?}");
    assert_eq!(recorded[0].1[1], Sample::new(60_000, 2.0));
}

#[test]
fn alert_goes_pending_firing_resolved_with_keep_firing_for() {
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x > 0\n    for: 2m\n    keep_firing_for: 1m\n",
    );
    let store = CheckedMemStore::new();
    // x > 0 from 0 to 3m, then 0.
    for (i, v) in [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0].iter().enumerate() {
        add(&store, &[("__name__", "x")], i as i64 * 60_000, *v);
    }
    let mut states = Vec::new();
    for i in 0..7 {
        g.eval(&engine(), &store, i * 60_000, &EvalContext::default());
        states.push(g.alerts().next().map(|a| a.state));
    }
    use AlertState::*;
    assert_eq!(
        states,
        [
            Some(Pending),
            Some(Pending),
            Some(Firing),
            Some(Firing),
            Some(Firing),
            Some(Inactive),
            Some(Inactive)
        ]
    );
    let alerts = samples(&store, "ALERTS");
    let states: Vec<&str> = alerts
        .iter()
        .map(|(l, _)| l.get("alertstate").unwrap())
        .collect();
    assert_eq!(states, ["firing", "pending"]);
    let for_state = samples(&store, "ALERTS_FOR_STATE");
    assert_eq!(for_state[0].1.first(), Some(&Sample::new(0, 0.0)));
}

#[test]
fn limit_and_duplicate_labelsets_make_the_rule_unhealthy() {
    let mut g = group("groups:\n- name: g\n  limit: 1\n  rules:\n  - record: r\n    expr: x\n  - record: s\n    expr: x\n    labels:\n      i: same\n");
    let store = CheckedMemStore::new();
    add(&store, &[("__name__", "x"), ("i", "1")], 0, 1.0);
    add(&store, &[("__name__", "x"), ("i", "2")], 0, 1.0);
    g.eval(&engine(), &store, 0, &EvalContext::default());
    assert_eq!(g.rules[0].health, Health::Bad);
    assert_eq!(
        g.rules[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 series")
    );
    assert_eq!(
        g.rules[1].last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying rule labels")
    );
    assert!(samples(&store, "r").is_empty());
}
