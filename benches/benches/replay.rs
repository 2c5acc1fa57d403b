//! Replay pipeline stages on a seeded cluster file (the `small` preset's OpenMetrics text, its
//! series each contiguous as `gen-cluster` writes them): sequential parse into a counting
//! sink, parallel parse (2 workers) into the same sink, and the bulk block build (parse plus
//! `BulkWriter` into a fresh data directory, durable at the end).
//!
//! Run: `cargo bench -p promlite-benches --bench replay`. Criterion reports bytes/s.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promlite::{Db, Options, ReplayOptions as DbReplayOptions, ReplaySource};
use promlite_cluster::{ClusterSpec, Size};
use promlite_expfmt::replay::{
    replay_file, replay_file_parallel, ReplayOptions, ReplaySeries, SampleSink,
};

/// Counts samples; the cheapest sink, so the parse dominates.
#[derive(Default)]
struct Count(u64);

impl SampleSink for Count {
    type Error = std::convert::Infallible;

    fn append(&mut self, _: &ReplaySeries, _: i64, v: f64) -> Result<(), Self::Error> {
        self.0 += u64::from(v.is_finite());
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn parse(path: &Path, workers: usize) -> u64 {
    let mut sink = Count::default();
    let mut opts = ReplayOptions {
        workers,
        ..ReplayOptions::default()
    };
    let stats = if workers > 1 {
        replay_file_parallel(path, &mut opts, &mut sink)
    } else {
        replay_file(path, &mut opts, &mut sink)
    };
    stats.map(|s| s.samples).unwrap_or(0) + sink.0
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("small.om");
    let spec = ClusterSpec::preset(Size::Small);
    promlite_cluster::write_openmetrics(&spec, std::fs::File::create(&file).unwrap()).unwrap();
    let bytes = std::fs::metadata(&file).unwrap().len();

    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("parse_sequential", |b| {
        b.iter(|| black_box(parse(&file, 1)))
    });
    group.bench_function("parse_parallel_2", |b| {
        b.iter(|| black_box(parse(&file, 2)))
    });
    group.bench_function("bulk_blocks", |b| {
        b.iter(|| {
            let data = tempfile::tempdir().unwrap();
            let db = Db::open(data.path(), Options::default()).unwrap();
            let stats = db
                .replay(ReplaySource::File(&file), DbReplayOptions::default())
                .unwrap();
            black_box(stats.blocks_written)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
