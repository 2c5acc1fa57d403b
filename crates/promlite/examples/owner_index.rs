//! Measures the owner index: the seed's owner-side range queries (`pod_owner`,
//! `deployment_owner`, `owner_join` from testdata/workload/legacy) on a generated cluster, with
//! the fast path off, on without the owner index, and on with it. Prints milliseconds (best of
//! N) and `samples_loaded`.
//!
//! ```text
//! cargo run --release -p promlite --example owner_index -- [tiny|small|medium] [mem|disk] [runs] [extra queries...]
//! ```
//!
//! `mem` keeps everything in the head; `disk` flushes it into blocks first (the first fast query
//! then builds the blocks' runs once; its time is printed separately).

use std::path::Path;
use std::time::{Duration, Instant};

use promlite::{Db, Options, StorageOptions};
use promlite_cluster::{ClusterSpec, Size};
use promlite_eval::{Engine, EngineOptions, QueryOutput};

fn load(spec: &ClusterSpec, indexed: bool, dir: Option<&Path>) -> Db {
    let mut storage = StorageOptions::default();
    if !indexed {
        storage.owner_index_metrics.clear();
    }
    let options = Options {
        storage,
        ..Options::default()
    };
    let db = match dir {
        Some(d) => Db::open(d, options).expect("open"),
        None => Db::in_memory_with(options),
    };
    let mut app = db.appender();
    let mut pending = 0usize;
    promlite_cluster::for_each_sample(spec, |labels, t, v| {
        app.append(labels, t, v).expect("append");
        pending += 1;
        if pending >= 100_000 {
            app.commit().expect("commit");
            pending = 0;
        }
    })
    .expect("cluster");
    app.commit().expect("commit");
    if dir.is_some() {
        db.flush().expect("flush");
    }
    db
}

fn run(
    engine: &Engine,
    db: &Db,
    q: &str,
    spec: &ClusterSpec,
    step: i64,
) -> (Duration, QueryOutput) {
    let start = spec.start_ms + 300_000;
    let end = spec.start_ms + spec.duration_ms;
    let t0 = Instant::now();
    let out = engine
        .range_query(db.storage(), q, start, end, step)
        .expect("query");
    (t0.elapsed(), out)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = match args.get(1).map(String::as_str) {
        Some("tiny") => Size::Tiny,
        Some("small") => Size::Small,
        _ => Size::Medium,
    };
    let disk = args.get(2).is_some_and(|m| m == "disk");
    let runs: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(5);
    let spec = ClusterSpec::preset(size);
    let tmp = tempfile::tempdir().expect("temp dir");
    let (dir_a, dir_b) = (tmp.path().join("indexed"), tmp.path().join("plain"));
    let t0 = Instant::now();
    let indexed = load(&spec, true, disk.then_some(dir_a.as_path()));
    let plain = load(&spec, false, disk.then_some(dir_b.as_path()));
    eprintln!(
        "loaded {:?} twice ({}) in {:.1?}; blocks: {}",
        size,
        if disk { "disk, flushed" } else { "memory" },
        t0.elapsed(),
        indexed.storage().blocks().len()
    );
    let engine = |fast_path| {
        Engine::new(EngineOptions {
            fast_path,
            ..EngineOptions::default()
        })
    };
    let (fast, generic) = (engine(true), engine(false));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/workload/legacy");
    println!("| query | step | generic ms | fast, no index ms | fast + index ms | samples_loaded generic / no index / index |");
    println!("|---|---|---|---|---|---|");
    // OWNER_INDEX_ONLY=1 repeats only the indexed fast path (for profiling).
    let only = std::env::var_os("OWNER_INDEX_ONLY").is_some();
    let mut queries: Vec<(String, String)> = ["pod_owner", "deployment_owner", "owner_join"]
        .iter()
        .map(|name| {
            let path = root.join(format!("{name}.promql"));
            let q = std::fs::read_to_string(path).expect("query file");
            (name.to_string(), q)
        })
        .collect();
    // Extra query texts from the command line, measured the same way.
    queries.extend(args.iter().skip(4).map(|q| (format!("`{q}`"), q.clone())));
    for (name, q) in queries {
        for step in [15_000, 60_000] {
            let (first, _) = run(&fast, &indexed, &q, &spec, step);
            let best = |engine: &Engine, db: &Db, runs: usize| {
                let mut best = Duration::MAX;
                let mut last = None;
                let runs = if only && !std::ptr::eq(db, &indexed) {
                    1
                } else {
                    runs
                };
                for _ in 0..runs {
                    let (d, out) = run(engine, db, &q, &spec, step);
                    best = best.min(d);
                    last = Some(out);
                }
                (best, last.expect("at least one run"))
            };
            let (g, g_out) = best(&generic, &plain, if only { 1 } else { runs });
            let (p, p_out) = best(&fast, &plain, if only { 1 } else { runs });
            let (f, f_out) = best(&fast, &indexed, runs);
            assert_eq!(
                format!("{:?}", g_out.value),
                format!("{:?}", f_out.value),
                "{name}: answers differ"
            );
            println!(
                "| {name} | {}s | {:.1} | {:.1} | {:.1} (first {:.1}, select {:.1}) | {} / {} / {} |",
                step / 1000,
                g.as_secs_f64() * 1e3,
                p.as_secs_f64() * 1e3,
                f.as_secs_f64() * 1e3,
                first.as_secs_f64() * 1e3,
                f_out.stats.prepare.as_secs_f64() * 1e3,
                g_out.stats.samples_loaded,
                p_out.stats.samples_loaded,
                f_out.stats.samples_loaded,
            );
        }
    }
}
