//! The HTTP API's JSON encoding of a range-query result: the writer's share of a range query's
//! wall time (a whole-cluster join answers tens of megabytes of `[t,"v"]` pairs).
//!
//! The matrix mixes the value shapes real answers have: rates (17 significant digits),
//! integer-valued counters and gauges, small fractions, and a few specials.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promlite::{Labels, RangeSeries, Sample, Value};
use rand::{Rng as _, SeedableRng as _};

fn matrix(n_series: usize, n_points: usize) -> Value {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let series = (0..n_series)
        .map(|idx| {
            let labels = Labels::from_pairs([
                ("namespace", format!("ns-{}", idx % 37)),
                ("owner_kind", "ReplicaSet".to_string()),
                ("owner_name", format!("workload-{idx}-7d9f8c6b5")),
                ("pod", format!("workload-{idx}-7d9f8c6b5-x{}", idx % 97)),
            ]);
            let samples = (0..n_points)
                .map(|j| {
                    let t = 1_700_000_000_000 + i64::try_from(j).unwrap() * 15_000;
                    let v = match idx % 4 {
                        0 => rng.gen::<f64>() * 4.0,
                        1 => f64::from(rng.gen_range(0..1_000_000u32)),
                        2 => rng.gen::<f64>() * 1e-3,
                        _ if j % 50 == 0 => f64::NAN,
                        _ => rng.gen::<f64>() * 1e9,
                    };
                    Sample { t, v }
                })
                .collect();
            RangeSeries { labels, samples }
        })
        .collect();
    Value::Matrix(series)
}

fn bench_matrix(c: &mut Criterion) {
    let value = matrix(2_000, 241);
    let mut body = String::new();
    promlite_http::json::write_query_data(&mut body, &value, "");
    let mut group = c.benchmark_group("http_json");
    group.throughput(Throughput::Bytes(u64::try_from(body.len()).unwrap()));
    group.bench_function("matrix_2000x241", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(body.len());
            promlite_http::json::write_query_data(&mut out, &value, "");
            out
        });
    });
    group.finish();
}

criterion_group!(benches, bench_matrix);
criterion_main!(benches);
