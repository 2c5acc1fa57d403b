//! The `kube_pod_workload` extension equals kubernetes-mixin's pod-owner rules evaluated by the
//! generic path.
//!
//! Random owner data (`promlite_testkit::workload_data::owner_case`: pods moving between
//! ReplicaSets, ReplicaSets changing Deployment, Jobs with and without a CronJob, series that
//! vanish and return with and without staleness markers, two kube-state-metrics replicas with
//! different phases, a `cluster` label in some cases, conflicting owners that make the rules
//! fail in others) is loaded into a `MemStore`. Each query on the extension (fast path on and
//! off) is compared with the explicit union of `testdata/rules/workload/pod_owner.rules.yml`
//! (built by `workload_data::pod_owner_union`, independent of the extension's own expansion)
//! evaluated with the extension off and no fast path, with the selector's matchers, modifiers
//! and aggregations applied on the explicit side by the test: values bit for bit, label sets
//! (the extension's `__name__` aside), warnings and infos, or the same error message. Range
//! queries on and off the scrape grid, with steps equal to and smaller than the scrape
//! interval, and instant queries.

use promlite_eval::{Engine, EngineOptions, Extension, Value};
use promlite_model::{Labels, MemStore, Sample};
use promlite_testkit::join_data::JoinCase;
use promlite_testkit::workload_data::{owner_case, pod_owner_union, OwnerCaseOptions};

const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/rules/workload/pod_owner.rules.yml"
);

fn union() -> String {
    let text = std::fs::read_to_string(RULES).unwrap_or_else(|e| panic!("{RULES}: {e}"));
    pod_owner_union(&text).expect("the rule file has the expected layout")
}

fn store(case: &JoinCase) -> MemStore {
    let db = MemStore::new();
    for s in &case.series {
        let labels = Labels::from_pairs(s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        for &(t, v) in &s.samples {
            db.add(labels.clone(), Sample::new(t, v));
        }
    }
    db
}

fn engine(extension: bool, fast_path: bool) -> Engine {
    let mut opts = EngineOptions {
        fast_path,
        ..EngineOptions::default()
    };
    if extension {
        opts.enable(Extension::KubePodWorkload);
    }
    Engine::new(opts)
}

/// One answer in comparable form: `(labels, [(t, value bits)])` sorted, plus annotations.
type Rows = Vec<(String, Vec<(i64, u64)>)>;

#[derive(Debug, PartialEq)]
enum Answer {
    Ok {
        rows: Rows,
        warnings: Vec<String>,
        infos: Vec<String>,
    },
    Err(String),
}

/// Which label sets of the explicit side a query keeps and how it shows them.
type Filter = fn(&Labels) -> bool;

fn rows_of(value: Value, strip_name: bool, keep: Filter) -> Rows {
    let label_text = |l: &Labels| {
        if strip_name {
            l.without_metric_name().to_string()
        } else {
            l.to_string()
        }
    };
    let mut rows: Rows = match value {
        Value::Matrix(m) => m
            .into_iter()
            .filter(|s| keep(&s.labels))
            .map(|s| {
                (
                    label_text(&s.labels),
                    s.samples.iter().map(|p| (p.t, p.v.to_bits())).collect(),
                )
            })
            .collect(),
        Value::Vector(v) => v
            .into_iter()
            .filter(|s| keep(&s.labels))
            .map(|s| (label_text(&s.labels), vec![(s.t, s.v.to_bits())]))
            .collect(),
        other => panic!("unexpected value {other:?}"),
    };
    rows.sort();
    rows
}

#[derive(Debug, Clone, Copy)]
enum When {
    Range(i64, i64, i64),
    Instant(i64),
}

fn run(
    engine: &Engine,
    db: &MemStore,
    query: &str,
    when: When,
    strip: bool,
    keep: Filter,
) -> Answer {
    let out = match when {
        When::Range(s, e, step) => engine.range_query(db, query, s, e, step),
        When::Instant(t) => engine.instant_query(db, query, t),
    };
    match out {
        Ok(out) => Answer::Ok {
            rows: rows_of(out.value, strip, keep),
            warnings: out.warnings,
            infos: out.infos,
        },
        Err(e) => Answer::Err(e.to_string()),
    }
}

fn all(_: &Labels) -> bool {
    true
}
fn ns1(l: &Labels) -> bool {
    l.get("namespace") == Some("ns1")
}
fn deployment_or_job(l: &Labels) -> bool {
    matches!(l.get("workload_type"), Some("deployment" | "job"))
}
fn cronjob_pod(l: &Labels) -> bool {
    l.get("workload_type") == Some("CronJob") && l.get("pod").is_some_and(|p| p != "pod-0")
}

/// `(extension query, explicit query, filter of the explicit side, strip the extension's
/// name)`; `U` in the explicit query stands for the union.
const CASES: &[(&str, &str, Filter, bool)] = &[
    ("kube_pod_workload", "U", all, true),
    (r#"kube_pod_workload{namespace="ns1"}"#, "U", ns1, true),
    (
        r#"kube_pod_workload{workload_type=~"deployment|job"}"#,
        "U",
        deployment_or_job,
        true,
    ),
    (
        r#"{__name__="kube_pod_workload", workload_type="CronJob", pod!="pod-0"}"#,
        "U",
        cronjob_pod,
        true,
    ),
    (
        "count by (workload_type, workload) (kube_pod_workload)",
        "count by (workload_type, workload) (U)",
        all,
        false,
    ),
    (
        "max by (namespace, pod) (kube_pod_owner) * on (namespace, pod) group_left (workload) kube_pod_workload",
        // Named like the extension's series: a pod with two workloads at once is an error
        // whose message prints the one side's label sets.
        "max by (namespace, pod) (kube_pod_owner) * on (namespace, pod) group_left (workload) label_replace(U, \"__name__\", \"kube_pod_workload\", \"\", \"\")",
        all,
        false,
    ),
    (
        "max by (namespace, pod) (kube_pod_owner) * on (namespace, pod) group_left (workload) topk by (namespace, pod) (1, kube_pod_workload)",
        "max by (namespace, pod) (kube_pod_owner) * on (namespace, pod) group_left (workload) topk by (namespace, pod) (1, label_replace(U, \"__name__\", \"kube_pod_workload\", \"\", \"\"))",
        all,
        false,
    ),
    // The time the resolution was evaluated at, as for any computed vector.
    ("timestamp(kube_pod_workload)", "timestamp(U)", all, false),
    (
        "max_over_time(kube_pod_workload[4m:30s])",
        "max_over_time((U)[4m:30s])",
        all,
        false,
    ),
];

fn compare_case(seed: u64, options: OwnerCaseOptions, failures: &mut Vec<String>) -> usize {
    let case = owner_case(seed, options);
    let db = store(&case);
    let union = union();
    let explicit = engine(false, false);
    let mut n = 0;
    let mut whens: Vec<When> = case
        .ranges
        .iter()
        .map(|&(s, e, step)| When::Range(s, e, step))
        .collect();
    whens.extend(case.instant_times.iter().map(|&t| When::Instant(t)));
    for (ext_query, explicit_query, keep, strip) in CASES {
        let explicit_query = explicit_query.replace('U', &union);
        for when in &whens {
            let want = run(&explicit, &db, &explicit_query, *when, false, *keep);
            for fast_path in [true, false] {
                let got = run(&engine(true, fast_path), &db, ext_query, *when, *strip, all);
                n += 1;
                if got != want {
                    failures.push(format!(
                        "seed {seed} {options:?} fast_path={fast_path} {ext_query} at {when:?}:\n  extension: {}\n  explicit:  {}",
                        brief(&got),
                        brief(&want)
                    ));
                }
            }
        }
    }
    n
}

fn brief(a: &Answer) -> String {
    let text = format!("{a:?}");
    if text.len() > 600 {
        format!("{}…", &text[..600])
    } else {
        text
    }
}

#[test]
fn extension_equals_the_rules_union_on_random_owner_data() {
    let mut failures = Vec::new();
    let mut n = 0;
    let mut n_errors = 0;
    let mut n_rows = 0;
    let mut types = std::collections::BTreeSet::new();
    for seed in 0..24u64 {
        let options = OwnerCaseOptions {
            stale_markers: seed % 2 == 0,
            conflicts: seed % 3 == 0,
            cluster: seed % 4 == 1,
        };
        n += compare_case(seed, options, &mut failures);
        // The explicit side fails on some conflicting data: count it, so the suite is known
        // to exercise errors as well as answers.
        let case = owner_case(seed, options);
        let db = store(&case);
        if let Some(&(s, e, step)) = case.ranges.first() {
            match engine(false, false).range_query(&db, &union(), s, e, step) {
                Err(_) => n_errors += 1,
                Ok(out) => {
                    if let Value::Matrix(m) = out.value {
                        n_rows += m.len();
                        for s in &m {
                            if let Some(t) = s.labels.get("workload_type") {
                                types.insert(t.to_string());
                            }
                        }
                    }
                }
            }
        }
    }
    eprintln!("kube_pod_workload equivalence: {n} comparisons, {n_errors} of 24 cases fail on the rules, {n_rows} result rows");
    assert!(
        failures.is_empty(),
        "{} of {n} comparisons differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every resolution path of the rules produced rows somewhere.
    let want_types = [
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
        "staticpod",
    ];
    assert_eq!(
        types.iter().map(String::as_str).collect::<Vec<_>>(),
        want_types
    );
    assert!(
        n_errors > 0,
        "no case made the rules fail: conflicts are not exercised"
    );
    assert!(n_errors < 24, "every case fails: answers are not exercised");
}

#[test]
fn modifiers_move_onto_the_resolution() {
    let case = owner_case(5, OwnerCaseOptions::default());
    let db = store(&case);
    let union = union();
    let Some(&(start, end, step)) = case.ranges.first() else {
        panic!("no range")
    };
    // `offset 2m` at t is the resolution at t - 2m.
    let got = run(
        &engine(true, true),
        &db,
        "kube_pod_workload offset 2m",
        When::Range(start, end, step),
        true,
        all,
    );
    let shifted = engine(false, false)
        .range_query(&db, &union, start - 120_000, end - 120_000, step)
        .expect("the union answers");
    let Value::Matrix(m) = shifted.value else {
        panic!("not a matrix")
    };
    let mut want: Rows = m
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples
                    .iter()
                    .map(|p| (p.t + 120_000, p.v.to_bits()))
                    .collect(),
            )
        })
        .collect();
    want.sort();
    let Answer::Ok { rows, .. } = got else {
        panic!("the extension failed: {got:?}")
    };
    assert!(!rows.is_empty());
    assert_eq!(rows, want);

    // `@ t` is the resolution at t at every step.
    let pinned = start + 200_000;
    let got = run(
        &engine(true, true),
        &db,
        &format!("kube_pod_workload @ {}", pinned as f64 / 1000.0),
        When::Range(start, end, step),
        true,
        all,
    );
    let at = run(
        &engine(false, false),
        &db,
        &union,
        When::Instant(pinned),
        false,
        all,
    );
    let (Answer::Ok { rows, .. }, Answer::Ok { rows: at_rows, .. }) = (got, at) else {
        panic!("a side failed")
    };
    let n_steps = ((end - start) / step + 1) as usize;
    assert_eq!(rows.len(), at_rows.len());
    for ((labels, points), (at_labels, at_points)) in rows.iter().zip(&at_rows) {
        assert_eq!(labels, at_labels);
        assert_eq!(points.len(), n_steps);
        assert!(points.iter().all(|p| p.1 == at_points[0].1));
    }
}

#[test]
fn off_by_default_the_name_is_an_ordinary_selector() {
    let case = owner_case(1, OwnerCaseOptions::default());
    let db = store(&case);
    let stored = Labels::from_pairs([
        ("__name__", "kube_pod_workload"),
        ("namespace", "stored"),
        ("pod", "p"),
    ]);
    db.add(
        stored.clone(),
        Sample::new(case.instant_times[0] - 1_000, 7.0),
    );
    let t = case.instant_times[0];
    let off = Engine::new(EngineOptions::default());
    assert!(!off.options().is_enabled(Extension::KubePodWorkload));
    let out = off
        .instant_query(&db, "kube_pod_workload", t)
        .expect("answers");
    let Value::Vector(v) = out.value else {
        panic!("not a vector")
    };
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].labels, stored);
    assert_eq!(v[0].v, 7.0);
    // A range selector is an ordinary range selector too.
    assert!(off.instant_query(&db, "kube_pod_workload[5m]", t).is_ok());

    // On, the stored series is hidden behind the resolution, and a range selector is refused.
    let on = engine(true, true);
    let out = on
        .instant_query(&db, "kube_pod_workload", t)
        .expect("answers");
    let Value::Vector(v) = out.value else {
        panic!("not a vector")
    };
    assert!(!v.is_empty());
    assert!(v
        .iter()
        .all(|s| s.labels.get("namespace") != Some("stored")));
    let err = on
        .instant_query(&db, "rate(kube_pod_workload[5m])", t)
        .unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
    assert!(
        err.to_string()
            .starts_with("1:6: range selector on kube_pod_workload"),
        "{err}"
    );
}

#[test]
fn explain_names_the_extension() {
    let case = owner_case(2, OwnerCaseOptions::default());
    let db = store(&case);
    let mut opts = EngineOptions {
        explain: true,
        ..EngineOptions::default()
    };
    opts.enable(Extension::KubePodWorkload);
    let out = Engine::new(opts)
        .instant_query(
            &db,
            r#"kube_pod_workload{namespace="ns0"}"#,
            case.instant_times[0],
        )
        .expect("answers");
    let text = promlite_eval::render_explain(&out.explain);
    assert!(
        text.contains(
            "plan: kube_pod_workload extension: evaluated as the kubernetes-mixin pod-owner resolution"
        ),
        "{text}"
    );
    assert!(text.contains("series resolved,"), "{text}");
    // The value-run plan line is for the owner selectors inside, not the extension's node.
    let first_lines: Vec<&str> = text.lines().take(3).collect();
    assert!(
        !first_lines.iter().any(|l| l.contains("value runs")),
        "{text}"
    );
    // The owner selectors inside the expansion are evaluated as nested nodes.
    assert!(text.contains("kube_replicaset_owner"), "{text}");
}
