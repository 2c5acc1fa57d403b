//! Engine API behaviour: limits, timeouts, error classification, range-query validation,
//! `@`-pinned (step-invariant) expressions, subquery alignment, hand-built ASTs.

use std::time::Duration;

use promlite_eval::{Engine, EngineOptions, Error, Value};
use promlite_model::storage::MemStore;
use promlite_model::{Labels, Matcher, Sample};
use promlite_promql::ast::{
    Aggregate, AggregateOp, Call, Expr, MatrixSelector, Span, VectorSelector,
};

/// `m{i="0".."n"}` with one sample every 15s for `minutes` minutes, value = t in seconds * (i+1).
fn store(n: usize, minutes: i64) -> MemStore {
    let s = MemStore::new();
    for i in 0..n {
        let labels =
            Labels::from_pairs([("__name__", "m_total".to_string()), ("i", i.to_string())]);
        for k in 0..=(minutes * 4) {
            let t = k * 15_000;
            s.add(
                labels.clone(),
                Sample::new(t, (t / 1000) as f64 * (i + 1) as f64),
            );
        }
    }
    s
}

fn vector(out: &Value) -> Vec<(String, f64)> {
    match out {
        Value::Vector(v) => v.iter().map(|s| (s.labels.to_string(), s.v)).collect(),
        other => panic!("expected vector, got {other:?}"),
    }
}

#[test]
fn rate_of_a_linear_counter_is_its_slope() {
    let db = store(2, 10);
    let out = Engine::default()
        .instant_query(&db, "rate(m_total[5m])", 600_000)
        .unwrap();
    let got = vector(&out.value);
    assert_eq!(got.len(), 2);
    assert!((got[0].1 - 1.0).abs() < 1e-9, "{got:?}");
    assert!((got[1].1 - 2.0).abs() < 1e-9, "{got:?}");
    // Name dropped by rate, as Prometheus does.
    assert_eq!(got[0].0, r#"{i="0"}"#);
}

#[test]
fn too_many_samples_is_an_execution_error() {
    let db = store(10, 10);
    let engine = Engine::new(EngineOptions {
        max_samples: 100,
        ..EngineOptions::default()
    });
    let err = engine
        .range_query(&db, "sum(m_total)", 0, 600_000, 15_000)
        .unwrap_err();
    assert!(
        matches!(err, Error::TooManySamples { limit: 100, .. }),
        "{err}"
    );
    assert_eq!(err.error_type(), "execution");
}

#[test]
fn timeout_ends_the_query() {
    let db = store(1, 1);
    let engine = Engine::new(EngineOptions {
        timeout: Duration::ZERO,
        ..EngineOptions::default()
    });
    let err = engine.instant_query(&db, "m_total", 0).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert_eq!(err.error_type(), "timeout");
}

#[test]
fn errors_are_classified_like_prometheus() {
    let db = MemStore::new();
    let engine = Engine::default();
    let parse = engine.instant_query(&db, "sum(", 0).unwrap_err();
    assert_eq!(parse.error_type(), "bad_data");
    let bad_step = engine.range_query(&db, "1", 0, 10, 0).unwrap_err();
    assert_eq!(bad_step.error_type(), "bad_data");
    let matrix = engine
        .range_query(&db, "m_total[5m]", 0, 10, 1)
        .unwrap_err();
    assert_eq!(matrix.error_type(), "bad_data");
    assert!(matrix.to_string().contains("range vector"), "{matrix}");

    let dup = MemStore::new();
    for (n, l) in [("a", "x"), ("b", "x"), ("b", "y")] {
        dup.add(
            Labels::from_pairs([("__name__", n), ("l", l), ("k", "1")]),
            Sample::new(0, 1.0),
        );
    }
    let err = engine.instant_query(&dup, "a + on(k) b", 0).unwrap_err();
    assert_eq!(err.error_type(), "execution");
    assert!(
        err.to_string().starts_with(
            "found duplicate series for the match group {k=\"1\"} on the right hand-side"
        ),
        "{err}"
    );
}

#[test]
fn at_pinned_selector_is_constant_across_steps() {
    let db = store(1, 10);
    let out = Engine::default()
        .range_query(&db, "m_total @ 120", 0, 300_000, 60_000)
        .unwrap();
    let Value::Matrix(series) = out.value else {
        panic!("matrix expected")
    };
    assert_eq!(series.len(), 1);
    let values: Vec<f64> = series[0].samples.iter().map(|s| s.v).collect();
    assert_eq!(values, vec![120.0; 6]);
}

#[test]
fn subquery_steps_are_aligned_to_absolute_time() {
    let db = store(1, 10);
    // Steps of 60s inside (t-5m, t] at t = 330s: 60, 120, ..., 300 (five points, not 30, 90, ...).
    let out = Engine::default()
        .instant_query(&db, "count_over_time(m_total[5m:1m])", 330_000)
        .unwrap();
    assert_eq!(vector(&out.value), vec![(r#"{i="0"}"#.to_string(), 5.0)]);
    let raw = Engine::default()
        .instant_query(&db, "m_total[5m:1m]", 330_000)
        .unwrap();
    let Value::Matrix(series) = raw.value else {
        panic!("matrix expected")
    };
    let ts: Vec<i64> = series[0].samples.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![60_000, 120_000, 180_000, 240_000, 300_000]);
}

#[test]
fn hand_built_ast_evaluates() {
    let db = store(3, 5);
    let selector = VectorSelector {
        name: Some("m_total".into()),
        matchers: vec![Matcher::equal("__name__", "m_total")],
        offset: 0,
        at: None,
        span: Span::default(),
    };
    let rate = Expr::Call(Call {
        func: promlite_promql::function("rate").expect("rate is a function"),
        args: vec![Expr::MatrixSelector(MatrixSelector {
            selector,
            range: 120_000,
        })],
        span: Span::default(),
    });
    let expr = Expr::Aggregate(Aggregate {
        op: AggregateOp::Sum,
        expr: Box::new(rate),
        param: None,
        grouping: vec![],
        without: false,
    });
    let out = Engine::default()
        .instant_query_expr(&db, &expr, 300_000)
        .unwrap();
    let got = vector(&out.value);
    assert_eq!(got.len(), 1);
    assert!((got[0].1 - 6.0).abs() < 1e-9, "{got:?}");
    assert!(out.stats.samples_loaded > 0);
}

#[test]
fn staleness_marker_ends_a_series() {
    let db = MemStore::new();
    let l = Labels::from_pairs([("__name__", "g")]);
    db.add(l.clone(), Sample::new(0, 1.0));
    db.add(l.clone(), Sample::new(60_000, promlite_model::STALE_NAN));
    let engine = Engine::default();
    assert_eq!(
        vector(&engine.instant_query(&db, "g", 30_000).unwrap().value).len(),
        1
    );
    assert!(vector(&engine.instant_query(&db, "g", 90_000).unwrap().value).is_empty());
    // Stale markers never show up in range vectors.
    let out = engine
        .instant_query(&db, "count_over_time(g[5m])", 90_000)
        .unwrap();
    assert_eq!(vector(&out.value)[0].1, 1.0);
}

#[test]
fn parallel_and_sequential_evaluation_agree() {
    let db = store(300, 20);
    let seq = Engine::new(EngineOptions {
        parallel: false,
        ..EngineOptions::default()
    });
    let par = Engine::new(EngineOptions {
        parallel: true,
        parallel_min_series: 1,
        ..EngineOptions::default()
    });
    let q = "sum by (i) (rate(m_total[2m])) / on(i) group_left max by (i) (m_total)";
    let a = seq.range_query(&db, q, 0, 1_200_000, 30_000).unwrap();
    let b = par.range_query(&db, q, 0, 1_200_000, 30_000).unwrap();
    assert_eq!(a.value, b.value);
}

#[test]
fn cancelled_query_stops_with_canceled_error() {
    let db = store(1, 1);
    let token = promlite_eval::CancelToken::new();
    token.cancel();
    let err = Engine::default()
        .instant_query_with_cancel(&db, "m_total", 0, &token)
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled(_)), "{err}");
    assert_eq!(err.error_type(), "canceled");
}

#[test]
fn name_removal_is_immediate_by_default_and_delayed_on_request() {
    let db = store(2, 10);
    let q = r#"label_replace(rate(m_total[5m]), "was", "$1", "__name__", "(.+)")"#;
    let immediate = Engine::default().instant_query(&db, q, 600_000).unwrap();
    assert!(
        vector(&immediate.value)
            .iter()
            .all(|(l, _)| !l.contains("was")),
        "{:?}",
        immediate.value
    );
    let delayed = Engine::new(EngineOptions {
        delayed_name_removal: true,
        ..EngineOptions::default()
    });
    let out = delayed.instant_query(&db, q, 600_000).unwrap();
    assert!(vector(&out.value)
        .iter()
        .all(|(l, _)| l.contains(r#"was="m_total""#) && !l.contains("__name__")));
    // Immediate removal makes series equal right away: `-x` of two names collides at once.
    let db2 = MemStore::new();
    db2.add(
        Labels::from_pairs([("__name__", "a"), ("j", "1")]),
        Sample::new(0, 1.0),
    );
    db2.add(
        Labels::from_pairs([("__name__", "b"), ("j", "1")]),
        Sample::new(0, 2.0),
    );
    let err = Engine::default()
        .instant_query(&db2, "-{j=\"1\"}", 0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
}

/// A range join split across threads reports the error of the earliest step, as a sequential
/// walk does: here `k="2"` has a duplicate on the one side early in the range and `k="1"` late.
#[test]
fn split_range_join_reports_the_earliest_error() {
    let db = MemStore::new();
    let series =
        |name: &str, k: &str, l: &str| Labels::from_pairs([("__name__", name), ("k", k), ("l", l)]);
    for t in (0..=1_200_000).step_by(15_000) {
        for k in ["1", "2"] {
            db.add(series("a", k, "m"), Sample::new(t, 1.0));
            db.add(series("b", k, "x"), Sample::new(t, 2.0));
        }
        if t >= 1_000_000 {
            db.add(series("b", "1", "y"), Sample::new(t, 3.0));
        }
        if (100_000..=200_000).contains(&t) {
            db.add(series("b", "2", "y"), Sample::new(t, 3.0));
        }
    }
    let q = "a * on(k) group_left b";
    for parallel in [false, true] {
        let engine = Engine::new(EngineOptions {
            parallel,
            parallel_min_series: 1,
            ..EngineOptions::default()
        });
        let err = engine
            .range_query(&db, q, 0, 1_200_000, 30_000)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("found duplicate series for the match group {k=\"2\"}"),
            "parallel={parallel}: {err}"
        );
        // Without the early duplicate the late one is reported.
        let late = engine
            .range_query(&db, q, 600_000, 1_200_000, 30_000)
            .unwrap_err();
        assert!(
            late.to_string()
                .starts_with("found duplicate series for the match group {k=\"1\"}"),
            "parallel={parallel}: {late}"
        );
    }
}

/// Set operations under the default matching compare every label but `__name__`; series whose
/// label counts differ cannot match (and skip the signature), equal ones must still match.
#[test]
fn set_operations_match_on_all_labels_whatever_the_counts() {
    let s = MemStore::new();
    let add = |pairs: &[(&str, &str)]| {
        s.add(
            Labels::from_pairs(pairs.iter().copied()),
            Sample::new(0, 1.0),
        );
    };
    add(&[("__name__", "a"), ("pod", "p1")]);
    add(&[("__name__", "a"), ("pod", "p2"), ("ns", "n")]);
    add(&[("__name__", "b"), ("pod", "p1")]);
    add(&[("__name__", "b"), ("pod", "p2")]);
    add(&[("__name__", "b"), ("pod", "p2"), ("ns", "n")]);
    add(&[("__name__", "b"), ("pod", "p3"), ("ns", "n"), ("x", "y")]);
    let engine = Engine::default();
    let names = |q: &str| -> Vec<String> {
        let out = engine.instant_query(&s, q, 1_000).unwrap();
        let mut got: Vec<String> = vector(&out.value).into_iter().map(|(l, _)| l).collect();
        got.sort();
        got
    };
    assert_eq!(
        names("a or b"),
        [
            r#"{__name__="a", ns="n", pod="p2"}"#,
            r#"{__name__="a", pod="p1"}"#,
            r#"{__name__="b", ns="n", pod="p3", x="y"}"#,
            r#"{__name__="b", pod="p2"}"#,
        ]
    );
    assert_eq!(
        names("b and a"),
        [
            r#"{__name__="b", ns="n", pod="p2"}"#,
            r#"{__name__="b", pod="p1"}"#
        ]
    );
    assert_eq!(
        names("b unless a"),
        [
            r#"{__name__="b", ns="n", pod="p3", x="y"}"#,
            r#"{__name__="b", pod="p2"}"#
        ]
    );
    // With `on`, counts do not matter.
    assert_eq!(names("b and on(pod) a").len(), 3);
}
