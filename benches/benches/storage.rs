//! Storage benches: append throughput with the WAL on (known series, batches of 10k samples),
//! head memory per series (printed: estimated index bytes and RSS growth per series), and select
//! latency per matcher kind over 10k series.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use promlite_model::{Labels, MatchOp, Matcher, Queryable, SelectHints};
use promlite_storage::{Db, Options, SeriesRef, WalSync};

const N_SERIES: usize = 10_000;
const SCRAPE_MS: i64 = 15_000;

/// Kubernetes-like labels: 10 namespaces, pods, containers.
fn labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "container_cpu_usage_seconds_total".to_string()),
        ("namespace", format!("ns-{}", i % 10)),
        ("pod", format!("pod-{}-{:05}", i % 10, i / 4)),
        ("container", format!("c{}", i % 4)),
        ("node", format!("node-{}", i % 50)),
        ("job", "kubelet".to_string()),
        ("instance", format!("10.0.{}.{}:10250", i % 50, i % 200)),
    ])
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn bench_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("storage_append");
    group.throughput(Throughput::Elements(N_SERIES as u64));
    group.sample_size(30);
    for (name, sync) in [
        ("wal_never_fsync", WalSync::Never),
        (
            "wal_fsync_1s",
            WalSync::Interval(std::time::Duration::from_secs(1)),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options {
            wal_sync: sync,
            auto_compact: false,
            block_range: 1 << 50,
            ..Options::default()
        };
        let db = Db::open(dir.path(), opts).unwrap();
        let mut app = db.appender();
        let refs: Vec<SeriesRef> = (0..N_SERIES)
            .map(|i| app.append(&labels(i), 0, 0.0).unwrap())
            .collect();
        app.commit().unwrap();
        let mut t = 0i64;
        group.bench_function(BenchmarkId::new("known_series_batch_10k", name), |b| {
            b.iter(|| {
                t += SCRAPE_MS;
                for (i, &r) in refs.iter().enumerate() {
                    // Counter-like values: mostly small increments.
                    app.append_ref(r, t, (t / 1000) as f64 + i as f64).unwrap();
                }
                black_box(app.commit().unwrap());
            })
        });
    }
    group.finish();
}

fn bench_head_memory(c: &mut Criterion) {
    // Not a timing: measured once and printed, then the creation cost is timed.
    let before = rss_bytes();
    let db = Db::open_in_memory(Options::default());
    let mut app = db.appender();
    let n = 100_000;
    for i in 0..n {
        app.append(&labels(i), 0, i as f64).unwrap();
    }
    app.commit().unwrap();
    let after = rss_bytes();
    let stats = db.head_stats();
    let est = db.head().read().index_heap_bytes();
    eprintln!(
        "head memory: {n} series, estimated {} B/series beyond chunk bytes ({} chunk bytes total); RSS growth {} B/series",
        est / n,
        stats.chunk_bytes,
        match (before, after) {
            (Some(b), Some(a)) => (a.saturating_sub(b) as usize / n).to_string(),
            _ => "n/a".into(),
        }
    );
    drop(app);
    drop(db);
    let mut group = c.benchmark_group("storage_head");
    group.throughput(Throughput::Elements(N_SERIES as u64));
    group.sample_size(10);
    group.bench_function("create_10k_series", |b| {
        b.iter(|| {
            let db = Db::open_in_memory(Options::default());
            let mut app = db.appender();
            for i in 0..N_SERIES {
                app.append(&labels(i), 0, 1.0).unwrap();
            }
            black_box(app.commit().unwrap());
        })
    });
    group.finish();
}

fn bench_select(c: &mut Criterion) {
    let db = Db::open_in_memory(Options::default());
    let mut app = db.appender();
    let refs: Vec<SeriesRef> = (0..N_SERIES)
        .map(|i| app.append(&labels(i), 0, 0.0).unwrap())
        .collect();
    for k in 1..120 {
        for (i, &r) in refs.iter().enumerate() {
            app.append_ref(r, k * SCRAPE_MS, (k + i as i64) as f64)
                .unwrap();
        }
        app.commit().unwrap();
    }
    let name = Matcher::equal("__name__", "container_cpu_usage_seconds_total");
    let cases: Vec<(&str, Vec<Matcher>)> = vec![
        (
            "equal_1pct",
            vec![name.clone(), Matcher::equal("node", "node-7")],
        ),
        (
            "regex_set_3",
            vec![
                name.clone(),
                Matcher::new(MatchOp::Regex, "pod", "pod-1-00001|pod-2-00002|pod-3-00003").unwrap(),
            ],
        ),
        (
            "regex_prefix_10pct",
            vec![
                name.clone(),
                Matcher::new(MatchOp::Regex, "namespace", "ns-3.*").unwrap(),
            ],
        ),
        (
            "not_equal_90pct",
            vec![
                name.clone(),
                Matcher::new(MatchOp::NotEqual, "namespace", "ns-3").unwrap(),
            ],
        ),
        (
            "regex_generic_10pct",
            vec![
                name.clone(),
                Matcher::new(MatchOp::Regex, "instance", "10\\.0\\.[0-4]\\.1.*").unwrap(),
            ],
        ),
    ];
    let mut group = c.benchmark_group("storage_select");
    for (case, matchers) in &cases {
        group.bench_function(BenchmarkId::new("select_decode_30m", case), |b| {
            b.iter(|| {
                let q = db.querier(0, 120 * SCRAPE_MS).unwrap();
                let series = q.select(&SelectHints::default(), matchers).unwrap();
                let mut buf = Vec::new();
                let mut n = 0;
                for mut s in series {
                    buf.clear();
                    s.samples
                        .collect_range(0, 120 * SCRAPE_MS, &mut buf)
                        .unwrap();
                    n += buf.len();
                }
                black_box(n)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_append, bench_head_memory, bench_select);
criterion_main!(benches);
