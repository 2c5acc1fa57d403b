//! `promlite rules backfill`: the recorded series equal each rule's expression evaluated at
//! every step (labels renamed and extended as the rule says), over the tiny generated cluster
//! with the Kubernetes-mixin-style workload rules of `testdata/rules/workload`.

mod common;

use common::{fixture, path, promlite, promlite_ok, secs};
use promlite::{Labels, Value};

const RULES: &str = "testdata/rules/workload/cluster.rules.yml";

fn vector(db: &promlite::Db, expr: &str, t: i64) -> Vec<(Labels, f64)> {
    let out = db.query(expr, t).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let Value::Vector(v) = out.value else {
        panic!("{expr} is not a vector")
    };
    let mut v: Vec<(Labels, f64)> = v.into_iter().map(|s| (s.labels, s.v)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn recorded_series_equal_the_expressions_at_every_step() {
    let fx = fixture();
    let rules = promlite_testkit::workspace_root().join(RULES);
    let start = fx.last_t - 6 * 60_000;
    let end = fx.last_t;
    let out = promlite_ok(&[
        "rules",
        "backfill",
        "--data-dir",
        fx.data_str(),
        "--start",
        &secs(start),
        "--end",
        &secs(end),
        path(&rules),
    ]);
    assert!(out.contains(" samples in "), "{out}");

    let db = promlite::Db::open(&fx.data, promlite::Options::default()).unwrap();
    let file = promlite_rules::file::read_rule_file(&rules).unwrap();
    let group = &file.groups[0];
    // Evaluations happen at the group's aligned slots (Prometheus's offset within the
    // interval), not at --start itself.
    let aligned = promlite_rules::group::Group::new(&file.path, group.clone(), 60_000);
    let interval = aligned.interval_ms;
    let mut t = aligned.eval_timestamp(start);
    if t < start {
        t += interval;
    }
    assert!(t >= start && t < start + interval);
    let mut n_compared = 0;
    while t <= end {
        for rule in &group.rules {
            let mut expected: Vec<(Labels, f64)> = vector(&db, &rule.expr, t)
                .into_iter()
                .map(|(labels, v)| {
                    let mut b = labels.builder();
                    b.set("__name__", rule.name());
                    for (k, val) in &rule.labels {
                        b.set(k.as_str(), val.as_str());
                    }
                    (b.build(), v)
                })
                .collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            let recorded = vector(&db, rule.name(), t);
            assert_eq!(recorded.len(), expected.len(), "{} at {t}", rule.name());
            for (r, e) in recorded.iter().zip(&expected) {
                assert_eq!(r.0, e.0, "{} at {t}", rule.name());
                assert_eq!(
                    r.1.to_bits(),
                    e.1.to_bits(),
                    "{} {} at {t}",
                    rule.name(),
                    r.0
                );
                n_compared += 1;
            }
        }
        t += interval;
    }
    assert!(n_compared > 50, "{n_compared} samples compared");
}

#[test]
fn bad_rule_files_are_reported_with_positions() {
    let fx = fixture();
    let bad = promlite_testkit::workspace_root().join("testdata/rules/rules/bad_expr.yml");
    let out = promlite(&[
        "rules",
        "backfill",
        "--data-dir",
        fx.data_str(),
        "--start",
        "0",
        "--end",
        "60",
        path(&bad),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("5:11: group \"bad\", rule 1"), "{err}");
}
