//! `info()` over real storage: the fast path, whose info side is answered from value runs
//! (no info sample decoded), must give the generic path's answers, errors and annotations
//! bitwise, in the head, in blocks and head, and all in blocks, with a lookback longer and
//! shorter than the info series' gaps.
//!
//! The data has the corners where runs alone could be wrong: `target_info` whose labels
//! change (a new series after a staleness marker, or just replaced), one that vanishes and
//! returns, two same-signature series overlapping (the newer sample wins, which runs cannot
//! tell: the fast path must fall back), two overlapping at the same timestamps (the
//! duplicate-series error), and two info metrics giving one label different values (the
//! conflicting-label error).

use promlite::{Db, Labels, Options, QueryOptions, StorageOptions, WalSync};
use promlite_eval::outcome_text::outcome_text;
use promlite_eval::{Engine, EngineOptions};

const SCRAPE_MS: i64 = 15_000;
const SCRAPES: i64 = 60;
const STALE: u64 = 0x7ff0_0000_0000_0002;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// Every series as (labels, samples), samples in time order.
fn dataset() -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut out = Vec::new();
    let stale = f64::from_bits(STALE);
    for i in 0..5i64 {
        let instance = format!("host{i}:9100");
        let job = if i % 2 == 0 { "node" } else { "app" };
        let id = [("instance", instance.as_str()), ("job", job)];
        let with = |extra: &[(&str, &str)]| {
            let mut v: Vec<(&str, &str)> = id.to_vec();
            v.extend_from_slice(extra);
            labels(&v)
        };
        let grid = |offset: i64, from: i64, to: i64, v: &dyn Fn(i64) -> f64| {
            (from..to)
                .map(|k| (k * SCRAPE_MS + offset, v(k)))
                .collect::<Vec<_>>()
        };
        out.push((
            with(&[("__name__", "node_load1")]),
            grid(100 + i * 7, 0, SCRAPES, &|k| {
                ((k * (i + 3)) % 11) as f64 * 0.5
            }),
        ));
        for code in ["200", "500"] {
            out.push((
                with(&[("__name__", "http_requests_total"), ("code", code)]),
                grid(200, 0, SCRAPES, &|k| (k * (i + 1)) as f64),
            ));
        }
        out.push((
            with(&[("__name__", "build_info"), ("build", &format!("b{i}"))]),
            grid(300, 0, SCRAPES, &|_| 1.0),
        ));
        let info = |version: &str, region: &str| {
            with(&[
                ("__name__", "target_info"),
                ("version", version),
                ("region", region),
            ])
        };
        match i {
            // Version changes at scrape 30: the old series ends with a staleness marker.
            0 => {
                let mut old = grid(400, 0, 30, &|_| 1.0);
                old.push((30 * SCRAPE_MS + 400, stale));
                out.push((info("v1", "eu"), old));
                out.push((info("v2", "eu"), grid(400, 30, SCRAPES, &|_| 1.0)));
            }
            // Vanishes for 8 scrapes (two minutes, no marker) and returns.
            1 => {
                let mut s = grid(400, 0, 20, &|_| 1.0);
                s.extend(grid(400, 28, SCRAPES, &|_| 1.0));
                out.push((info("v1", "us"), s));
            }
            // Two same-signature series overlap for ten scrapes, the newer one 50 ms later.
            2 => {
                out.push((info("v1", "eu"), grid(400, 0, 35, &|_| 1.0)));
                out.push((info("v2", "eu"), grid(450, 25, SCRAPES, &|_| 1.0)));
            }
            // Two same-signature series at the same timestamps for three scrapes: an error
            // wherever a base sample meets them.
            3 => {
                out.push((info("v1", "ap"), grid(400, 0, 45, &|_| 1.0)));
                out.push((info("v2", "ap"), grid(400, 42, SCRAPES, &|_| 1.0)));
            }
            // A second info metric disagreeing on `region` from scrape 50 on.
            _ => {
                out.push((info("v1", "eu"), grid(400, 0, SCRAPES, &|_| 1.0)));
                out.push((
                    with(&[("__name__", "cloud_info"), ("region", "eu-west")]),
                    grid(400, 50, SCRAPES, &|_| 1.0),
                ));
            }
        }
    }
    out
}

fn ingest(db: &Db) {
    let mut all: Vec<(i64, usize, f64)> = Vec::new();
    let data = dataset();
    for (i, (_, samples)) in data.iter().enumerate() {
        all.extend(samples.iter().map(|&(t, v)| (t, i, v)));
    }
    all.sort_by_key(|&(t, i, _)| (t, i));
    let mut app = db.appender();
    let mut scrape = 0;
    for (t, i, v) in all {
        if t / SCRAPE_MS > scrape {
            app.commit().expect("commit");
            scrape = t / SCRAPE_MS;
        }
        app.append(&data[i].0, t, v).expect("in-order sample");
    }
    app.commit().expect("commit");
}

const QUERIES: &[&str] = &[
    "info(node_load1)",
    // Without the two hosts whose same-signature info series overlap, the info side comes
    // from runs throughout (host1's gap, shorter than the split gap and longer than the short
    // lookback, is inside one run).
    r#"info(node_load1{instance!~"host[23].*"})"#,
    r#"info(node_load1{job="app"}, {region=~".+"})"#,
    "info(rate(http_requests_total[1m]))",
    r#"info(node_load1, {version=~".+"})"#,
    r#"info(node_load1, {version="v2"})"#,
    r#"info(node_load1, {region=~".*"})"#,
    r#"info(node_load1, {__name__="build_info"})"#,
    r#"info(node_load1, {__name__=~".+_info"})"#,
    r#"info(node_load1, {__name__!="target_info"})"#,
    "info(node_load1 offset 2m)",
    "info(node_load1 @ 300)",
    "info(last_over_time(node_load1[5m:1m] offset 1m))",
    "info(sum by (instance, job) (rate(http_requests_total[1m])))",
    "sum by (version) (info(node_load1))",
    r#"info({__name__=~"node_load1|target_info"})"#,
];

/// Counts of what the fast path did across the checked runs.
#[derive(Default, Debug)]
struct Seen {
    /// Runs whose info side was answered from value runs.
    from_runs: usize,
    /// Runs that fell back to samples because same-signature info series overlapped.
    fell_back: usize,
    /// Runs whose answer was an error (on both paths alike).
    errors: usize,
    /// Runs with a non-empty answer.
    answers: usize,
}

fn check(db: &Db, lookback: i64, stage: &str, seen: &mut Seen) {
    let engine = |fast_path, parallel| {
        Engine::new(EngineOptions {
            fast_path,
            parallel,
            parallel_min_series: 1,
            lookback_delta_ms: lookback,
            ..EngineOptions::default()
        })
    };
    let generic = engine(false, false);
    let fast = [engine(true, false), engine(true, true)];
    let store = db.storage();
    let end = SCRAPES * SCRAPE_MS;
    let mut runs: Vec<(i64, i64, i64)> = [
        0,
        7 * SCRAPE_MS,
        22 * SCRAPE_MS + 5_000,
        26 * SCRAPE_MS,
        31 * SCRAPE_MS,
        43 * SCRAPE_MS + 450,
        52 * SCRAPE_MS + 1,
        end,
    ]
    .iter()
    .map(|&t| (t, t, 0))
    .collect();
    runs.extend([
        (0, end, SCRAPE_MS),
        (60_000, end, 7_000),
        (30_000, 40 * SCRAPE_MS, 60_000),
        (10 * SCRAPE_MS, 41 * SCRAPE_MS, SCRAPE_MS),
    ]);
    for q in QUERIES {
        for &(start, stop, step) in &runs {
            let run = |e: &Engine| {
                if step == 0 {
                    e.instant_query(store, q, start)
                } else {
                    e.range_query(store, q, start, stop, step)
                }
            };
            let expected = outcome_text(&run(&generic));
            for e in &fast {
                let got = run(e);
                assert_eq!(
                    outcome_text(&got),
                    expected,
                    "{stage}, lookback {lookback}, {start}..{stop} step {step}: {q}"
                );
            }
            seen.errors += usize::from(expected.starts_with("error"));
            seen.answers +=
                usize::from(!expected.starts_with("error") && !expected.starts_with("warnings"));
            // What the fast path did, from its explain output (through the facade, which
            // runs the default engine: lookback five minutes).
            if lookback == 300_000 {
                let opts = QueryOptions {
                    explain: true,
                    ..QueryOptions::default()
                };
                let out = if step == 0 {
                    db.query_with(q, start, &opts)
                } else {
                    db.query_range_with(
                        q,
                        start,
                        stop,
                        std::time::Duration::from_millis(step as u64),
                        &opts,
                    )
                };
                if let Ok(out) = out {
                    let info_nodes = out.explain.iter().filter(|n| n.node.starts_with("info("));
                    for n in info_nodes {
                        if n.decisions
                            .iter()
                            .any(|d| d.starts_with("info(): same-signature"))
                        {
                            seen.fell_back += 1;
                        } else if n.decisions.iter().any(|d| d.starts_with("value runs")) {
                            assert_eq!(n.samples_loaded, 0, "{stage}: {q}");
                            seen.from_runs += 1;
                        }
                    }
                }
            }
        }
    }
}

fn options(block_range: i64) -> Options {
    Options {
        storage: StorageOptions {
            block_range,
            wal_sync: WalSync::Never,
            ..StorageOptions::default()
        },
        ..Options::default()
    }
}

#[test]
fn info_from_runs_matches_generic_over_head_and_blocks() {
    let mut seen = Seen::default();
    for lookback in [300_000, 60_000] {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path(), options(24 * 3_600_000)).expect("open");
        ingest(&db);
        assert!(db.storage().blocks().is_empty());
        check(&db, lookback, "head", &mut seen);
        drop(db);
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path(), options(300_000)).expect("open");
        ingest(&db);
        assert!(!db.storage().blocks().is_empty(), "no block was cut");
        check(&db, lookback, "blocks and head", &mut seen);
        db.flush().expect("flush");
        check(&db, lookback, "all in blocks", &mut seen);
    }
    eprintln!("{seen:?}");
    // Not vacuous: every kind of outcome happened, the run path was taken often, and the
    // overlap fallback was exercised.
    assert!(seen.from_runs > 50, "{seen:?}");
    assert!(seen.fell_back > 10, "{seen:?}");
    assert!(seen.errors > 10, "{seen:?}");
    assert!(seen.answers > 100, "{seen:?}");
}
