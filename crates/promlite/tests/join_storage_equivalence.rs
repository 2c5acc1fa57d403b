//! The collision-prone join datasets of `promlite_testkit::join_data` over real storage: the
//! fast path (pushdown, concurrent sides, and the value-run index answering owner and info
//! selectors) must give the generic path's answers, errors and annotations bitwise, with the
//! data in the head only, split between blocks and head, and all in blocks.
//!
//! The run index covers every owner and info metric of the datasets (`kube_pod_owner`,
//! `kube_replicaset_owner`, `kube_pod_info`, `node_uname_info`); lookbacks shorter than some
//! gaps make the index fall back for some selectors, as designed.

use promlite::{Db, Labels, Options, StorageOptions, WalSync};
use promlite_eval::outcome_text::outcome_text;
use promlite_eval::{Engine, EngineOptions};
use promlite_testkit::join_data::{join_case, join_queries, JoinCase, SCRAPES, SCRAPE_MS};

/// Datasets per run (each runs at three storage stages).
const CASES: u64 = 6;

/// Storage options: `detect` indexes by detection only (no configured metric), else the
/// datasets' owner and info metrics are configured.
fn options(block_range: i64, detect: bool) -> Options {
    let configured: &[&str] = if detect {
        &[]
    } else {
        &[
            "kube_pod_owner",
            "kube_replicaset_owner",
            "kube_pod_info",
            "node_uname_info",
        ]
    };
    Options {
        storage: StorageOptions {
            block_range,
            wal_sync: WalSync::Never,
            owner_index_metrics: configured.iter().map(|m| m.to_string()).collect(),
            owner_index_detect: detect,
            ..StorageOptions::default()
        },
        ..Options::default()
    }
}

/// Ingests the case scrape by scrape (one commit per scrape), as a scraper would.
fn ingest(db: &Db, case: &JoinCase) {
    let mut all: Vec<(i64, usize, f64)> = Vec::new();
    let labels: Vec<Labels> = case
        .series
        .iter()
        .map(|s| Labels::from_pairs(s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))))
        .collect();
    for (i, s) in case.series.iter().enumerate() {
        all.extend(s.samples.iter().map(|&(t, v)| (t, i, v)));
    }
    all.sort_by_key(|&(t, i, _)| (t, i));
    let mut app = db.appender();
    let mut scrape = 0;
    for (t, i, v) in all {
        if t / SCRAPE_MS > scrape {
            app.commit().expect("commit");
            scrape = t / SCRAPE_MS;
        }
        app.append(&labels[i], t, v).expect("in-order sample");
    }
    app.commit().expect("commit");
}

/// How often storage's series estimate (postings counts) chose each strategy for a join the
/// plan would push keys across (read off `--explain`'s decisions).
#[derive(Debug, Default)]
struct EstimatedChoices {
    concurrent: usize,
    pushed: usize,
}

/// Runs every join query on every path against `db`; returns how many runs the index answered
/// at least one selector of (a query loading fewer samples than the generic path). The
/// "estimated" engine runs per-series work in parallel only from 256 series, as the default
/// engine, so that the estimate picks pushdown or concurrent sides on the data; its choices
/// are counted in `estimated`.
fn check(
    db: &Db,
    case: &JoinCase,
    lookback: i64,
    stage: &str,
    estimated: &mut EstimatedChoices,
) -> usize {
    let engine = |fast_path, parallel, parallel_min_series, concurrent_min_series| {
        Engine::new(EngineOptions {
            fast_path,
            parallel,
            parallel_min_series,
            concurrent_min_series,
            lookback_delta_ms: lookback,
            explain: parallel_min_series > 1,
            ..EngineOptions::default()
        })
    };
    let generic = engine(false, false, 1, 0);
    // As in `crates/eval/tests/join_equivalence.rs`: "estimated" prices no thread handoff, so
    // that the estimate's two choices both occur on these small sides; "default" is the
    // default engine's fast path.
    let fast = [
        ("pushdown", engine(true, false, 1, 0)),
        ("concurrent", engine(true, true, 1, 0)),
        ("estimated", engine(true, true, 256, 0)),
        ("default", engine(true, true, 256, 256)),
    ];
    let store = db.storage();
    let mut runs: Vec<(i64, i64, i64)> = case.instant_times.iter().map(|&t| (t, t, 0)).collect();
    runs.extend(case.ranges.iter().copied());
    let mut fewer = 0;
    for q in join_queries() {
        for &(start, end, step) in &runs {
            let run = |e: &Engine| {
                if step == 0 {
                    e.instant_query(store, &q, start)
                } else {
                    e.range_query(store, &q, start, end, step)
                }
            };
            let reference = run(&generic);
            let expected = outcome_text(&reference);
            for (name, e) in &fast {
                let got = run(e);
                assert_eq!(
                    outcome_text(&got),
                    expected,
                    "{stage}, {name}, lookback {lookback}, {start}..{end} step {step}: {q}"
                );
                if let Ok(out) = &got {
                    for decision in out.explain.iter().flat_map(|n| &n.decisions) {
                        if decision.starts_with(
                            "join sides evaluated concurrently instead of pushing keys",
                        ) {
                            estimated.concurrent += 1;
                        } else if decision.starts_with("join keys pushed: the one side selects") {
                            estimated.pushed += 1;
                        }
                    }
                }
                if let (Ok(a), Ok(b)) = (&got, &reference) {
                    fewer += usize::from(a.stats.samples_loaded < b.stats.samples_loaded);
                }
            }
        }
    }
    fewer
}

/// Every dataset at the three storage stages; returns how many fast runs loaded fewer
/// samples than the generic path.
fn check_cases(seeds: std::ops::Range<u64>, detect: bool) -> usize {
    let mut fewer = 0;
    let mut estimated = EstimatedChoices::default();
    for seed in seeds {
        let case = join_case(1_000 + seed);
        // A lookback shorter than many gaps (runs spanning such a gap must not be used: the
        // run-index gap check) on every other dataset, the default on the rest.
        let lookback = if seed % 2 == 1 { 60_000 } else { 300_000 };
        // Everything in the head (block range far beyond the data).
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path(), options(24 * 3_600_000, detect)).expect("open");
        ingest(&db, &case);
        assert!(db.storage().blocks().is_empty());
        fewer += check(&db, &case, lookback, "head", &mut estimated);
        drop(db);
        // Five-minute blocks cut while ingesting: blocks and head.
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path(), options(300_000, detect)).expect("open");
        ingest(&db, &case);
        assert!(!db.storage().blocks().is_empty(), "no block was cut");
        fewer += check(&db, &case, lookback, "blocks and head", &mut estimated);
        db.flush().expect("flush");
        fewer += check(&db, &case, lookback, "all in blocks", &mut estimated);
    }
    // Both branches of the estimate's choice ran over real storage (with one thread nothing
    // runs at the same time, so the estimate always pushes).
    assert!(estimated.pushed > 50, "{estimated:?}");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads > 1 && std::env::var_os("RAYON_NUM_THREADS").is_none() {
        assert!(estimated.concurrent > 50, "{estimated:?}");
    }
    eprintln!("{estimated:?}");
    fewer
}

#[test]
fn fast_path_matches_generic_over_head_and_blocks() {
    let fewer = check_cases(0..CASES, false);
    // Not vacuous: the fast path did take shortcuts (index or pushdown) in many runs.
    assert!(fewer > 200, "only {fewer} runs loaded fewer samples");
    eprintln!("{fewer} fast runs loaded fewer samples than the generic path");
    let _ = SCRAPES;
}

/// The same with runs found by detection alone (no metric configured): owner and info series
/// stay constant for long runs, counters and gauges are rejected as they change.
#[test]
fn fast_path_matches_generic_with_detected_runs() {
    let fewer = check_cases(CASES..CASES + 4, true);
    assert!(fewer > 100, "only {fewer} runs loaded fewer samples");
}
