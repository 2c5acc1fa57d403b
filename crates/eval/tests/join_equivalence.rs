//! The fast path (join-key pushdown, concurrent join sides, `label_replace` copies, name
//! keeping) must give exactly the generic evaluator's answers, errors and annotations on data
//! built to reach the cases where a rewrite could differ (issue 12, finding 2): see
//! `promlite_testkit::join_data` for what the datasets contain.
//!
//! Every query runs as an instant query on and off the scrape grid and as range queries with
//! steps equal to, smaller and larger than the scrape interval; values are compared bitwise,
//! errors by message, annotations in order. The same datasets run over real storage (head,
//! blocks, both, with the value-run index) in `crates/promlite/tests/join_storage_equivalence.rs`.

use promlite_eval::outcome_text::outcome_text;
use promlite_eval::{Engine, EngineOptions, Value};
use promlite_model::{Labels, MemStore, Sample};
use promlite_testkit::join_data::{join_case, join_queries, JoinCase};

/// Datasets per run: enough that each mutation tried in issue 12 fails (see the report),
/// small enough for CI (a few seconds in a debug build).
const CASES: u64 = 24;

fn load(case: &JoinCase) -> MemStore {
    let db = MemStore::new();
    for s in &case.series {
        let labels = Labels::from_pairs(s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        for &(t, v) in &s.samples {
            db.add(labels.clone(), Sample::new(t, v));
        }
    }
    db
}

/// The generic path, the fast path with keys always pushed (sequential), the fast path with
/// concurrent join sides and per-series work in parallel from the first series, the fast path
/// with per-series work in parallel from 256 series and no price on a thread handoff, so that
/// the datasets' small sides leave a core idle and the storage estimate (`join_cost`) chooses
/// between pushdown and concurrent sides on the data, and the fast path as the default engine
/// runs it (a handoff priced at 256 series, so these small sides mostly run one after the
/// other). The last two explain their decisions so that the test can see every choice taken.
fn engines() -> [(&'static str, Engine); 5] {
    let engine = |fast_path, parallel, parallel_min_series, concurrent_min_series| {
        Engine::new(EngineOptions {
            fast_path,
            parallel,
            parallel_min_series,
            concurrent_min_series,
            explain: parallel_min_series > 1,
            ..EngineOptions::default()
        })
    };
    [
        ("generic", engine(false, false, 1, 0)),
        ("pushdown", engine(true, false, 1, 0)),
        ("concurrent", engine(true, true, 1, 0)),
        ("estimated", engine(true, true, 256, 0)),
        ("default", engine(true, true, 256, 256)),
    ]
}

#[test]
fn fast_path_matches_generic_on_collision_prone_joins() {
    let queries = join_queries();
    let engines = engines();
    let (mut errors, mut rows, mut annotated) = (0usize, 0usize, 0usize);
    let mut estimated = Decisions::default();
    for seed in 0..CASES {
        let case = join_case(seed);
        let db = load(&case);
        for q in &queries {
            let mut runs: Vec<(i64, i64, i64)> =
                case.instant_times.iter().map(|&t| (t, t, 0)).collect();
            runs.extend(case.ranges.iter().copied());
            for &(start, end, step) in &runs {
                let run = |e: &Engine| {
                    if step == 0 {
                        e.instant_query(&db, q, start)
                    } else {
                        e.range_query(&db, q, start, end, step)
                    }
                };
                let reference = run(&engines[0].1);
                let expected = outcome_text(&reference);
                match &reference {
                    Err(_) => errors += 1,
                    Ok(out) => {
                        rows += usize::from(
                            !matches!(&out.value, Value::Vector(v) if v.is_empty())
                                && !matches!(&out.value, Value::Matrix(m) if m.is_empty()),
                        );
                        annotated += usize::from(!out.warnings.is_empty() || !out.infos.is_empty());
                    }
                }
                for (name, engine) in &engines[1..] {
                    let result = run(engine);
                    if let Ok(out) = &result {
                        count_estimated_choices(&out.explain, &mut estimated);
                    }
                    let got = outcome_text(&result);
                    assert_eq!(
                        got, expected,
                        "seed {seed}, {name}, {start}..{end} step {step}: {q}"
                    );
                }
            }
        }
    }
    // The suite is not vacuous: it sees answers, errors and annotations.
    assert!(rows > 1000, "only {rows} non-empty answers");
    assert!(errors > 100, "only {errors} errors");
    assert!(annotated > 100, "only {annotated} annotated answers");
    // Both branches of the storage estimate's choice ran (`join_cost`; with one thread
    // nothing runs at the same time, so the estimate always pushes).
    assert!(estimated.pushed > 100, "{estimated:?}");
    if rayon::current_num_threads() > 1 {
        assert!(estimated.concurrent > 100, "{estimated:?}");
        assert!(estimated.too_small > 100, "{estimated:?}");
    }
    // Range joins walked series by series, and declined for each reason that leaves an
    // answer (a declined one-to-one walk mostly ends in the step walk's error).
    assert!(estimated.series_walked > 1000, "{estimated:?}");
    assert!(estimated.declined_one_side > 10, "{estimated:?}");
    assert!(estimated.declined_results > 100, "{estimated:?}");
    eprintln!(
        "checked: {rows} non-empty answers, {errors} errors, {annotated} annotated, {estimated:?}"
    );
}

/// How often the evaluator took each run-time join decision (read off `--explain`): the
/// storage estimate's strategy for a join the plan would push keys across, and the
/// series-by-series walk of a range join.
#[derive(Debug, Default)]
struct Decisions {
    concurrent: usize,
    pushed: usize,
    /// Joins planned concurrent whose sides were too small to pay for a thread handoff.
    too_small: usize,
    /// Range joins walked series by series (`Join::by_series`), and those that declined, by
    /// reason: two one-side series of a signature at one step, two equal result label sets, a one-to-one
    /// signature matched twice.
    series_walked: usize,
    declined_one_side: usize,
    declined_results: usize,
    declined_one_to_one: usize,
}

fn count_estimated_choices(explain: &[promlite_eval::ExplainNode], counts: &mut Decisions) {
    for decision in explain.iter().flat_map(|n| &n.decisions) {
        if decision.starts_with("join sides evaluated concurrently instead of pushing keys") {
            counts.concurrent += 1;
        } else if decision.starts_with("join keys pushed: the one side selects") {
            counts.pushed += 1;
        } else if decision.starts_with("join sides evaluated one after the other: too small") {
            counts.too_small += 1;
        } else if decision.starts_with("vector matching walked series by series") {
            counts.series_walked += 1;
        } else if let Some(why) = decision.strip_prefix("vector matching walked step by step: ") {
            match why {
                "two one-side series of a signature meet at a step" => {
                    counts.declined_one_side += 1
                }
                "two matched series have equal result labels" => counts.declined_results += 1,
                "two matched left-hand series share a signature" => counts.declined_one_to_one += 1,
                other => panic!("unknown reason: {other}"),
            }
        }
    }
}
