//! Evaluator benchmarks: rate/sum-by and the container-to-workload join (seed 000) over an
//! in-memory store, with and without rayon.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use promlite_eval::{Engine, EngineOptions};
use std::sync::Arc;

use promlite_model::{
    Labels, Matcher, Querier, Queryable, Sample, SelectHints, Series, Timestamp, VecSampleIter,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PODS: usize = 2_000;
const CONTAINERS_PER_POD: usize = 2;
const SCRAPE_MS: i64 = 15_000;
const HOURS: i64 = 1;

/// A read-only store that hands out shared sample slices without copying, so the benchmark
/// measures the evaluator rather than the test store's snapshotting.
struct ArcStore {
    series: Vec<(Labels, Arc<[Sample]>)>,
}

impl Querier for ArcStore {
    fn select(
        &self,
        _hints: &SelectHints,
        matchers: &[Matcher],
    ) -> promlite_model::Result<Vec<Series>> {
        Ok(self
            .series
            .iter()
            .filter(|(l, _)| {
                matchers
                    .iter()
                    .all(|m| m.matches(l.get(&m.name).unwrap_or("")))
            })
            .map(|(l, s)| Series {
                labels: l.clone(),
                samples: Box::new(VecSampleIter::new(s.clone())),
            })
            .collect())
    }
    fn label_names(&self, _: &[Matcher]) -> promlite_model::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn label_values(&self, _: &str, _: &[Matcher]) -> promlite_model::Result<Vec<String>> {
        Ok(Vec::new())
    }
}

struct Shared(Arc<ArcStore>);

impl Querier for Shared {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> promlite_model::Result<Vec<Series>> {
        self.0.select(hints, matchers)
    }
    fn label_names(&self, m: &[Matcher]) -> promlite_model::Result<Vec<String>> {
        self.0.label_names(m)
    }
    fn label_values(&self, n: &str, m: &[Matcher]) -> promlite_model::Result<Vec<String>> {
        self.0.label_values(n, m)
    }
}

struct Db(Arc<ArcStore>);

impl Queryable for Db {
    fn querier(
        &self,
        _mint: Timestamp,
        _maxt: Timestamp,
    ) -> promlite_model::Result<Box<dyn Querier>> {
        Ok(Box::new(Shared(self.0.clone())))
    }
}

/// 4,000 cAdvisor CPU counters (15s scrape, 1h) and 2,000 `kube_pod_owner` info series.
fn dataset() -> Db {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut store = ArcStore { series: Vec::new() };
    let n_samples = HOURS * 3_600_000 / SCRAPE_MS;
    for p in 0..PODS {
        let ns = format!("ns-{}", p % 20);
        let pod = format!("pod-{p}");
        let owner = format!("rs-{}", p / 10);
        let owner_labels = Labels::from_pairs([
            ("__name__", "kube_pod_owner".to_string()),
            ("namespace", ns.clone()),
            ("pod", pod.clone()),
            ("owner_kind", "ReplicaSet".to_string()),
            ("owner_name", owner),
        ]);
        let owner_samples: Vec<Sample> = (0..=n_samples)
            .map(|k| Sample::new(k * SCRAPE_MS, 1.0))
            .collect();
        store.series.push((owner_labels, owner_samples.into()));
        for c in 0..CONTAINERS_PER_POD {
            let labels = Labels::from_pairs([
                ("__name__", "container_cpu_usage_seconds_total".to_string()),
                ("namespace", ns.clone()),
                ("pod_name", pod.clone()),
                ("container_name", format!("c{c}")),
                ("kubernetes_io_hostname", format!("node-{}", p % 50)),
            ]);
            let mut v = 0.0;
            let samples: Vec<Sample> = (0..=n_samples)
                .map(|k| {
                    v += rng.gen_range(0.0..15.0);
                    Sample::new(k * SCRAPE_MS, v)
                })
                .collect();
            store.series.push((labels, samples.into()));
        }
    }
    store.series.sort_by(|a, b| a.0.cmp(&b.0));
    Db(Arc::new(store))
}

const RATE_SUM: &str = "sum by (namespace) (rate(container_cpu_usage_seconds_total[5m]))";
const JOIN: &str = r#"max(kube_pod_owner) by (owner_name, owner_kind, pod, namespace)
  * on (pod, namespace) group_right(owner_name, owner_kind)
  label_replace(sum(rate(container_cpu_usage_seconds_total[1m])) by (namespace, pod_name), "pod", "$1", "pod_name", "(.+)")"#;

fn bench_eval(c: &mut Criterion) {
    let store = dataset();
    let end = HOURS * 3_600_000;
    let mut group = c.benchmark_group("eval");
    group.sample_size(10);
    for parallel in [false, true] {
        let engine = Engine::new(EngineOptions {
            parallel,
            ..EngineOptions::default()
        });
        let mode = if parallel { "rayon" } else { "sequential" };
        for (name, q, range) in [
            ("rate_sum", RATE_SUM, false),
            ("rate_sum", RATE_SUM, true),
            ("join", JOIN, false),
            ("join", JOIN, true),
        ] {
            let out = if range {
                engine.range_query(&store, q, 0, end, 60_000)
            } else {
                engine.instant_query(&store, q, end)
            };
            if let Ok(out) = out {
                let s = out.stats;
                eprintln!(
                    "{mode} {name} range={range}: prepare {:?} eval {:?} total {:?} loaded {} peak {}",
                    s.prepare, s.eval, s.total, s.samples_loaded, s.peak_samples
                );
            }
        }
        group.bench_with_input(
            BenchmarkId::new("instant_rate_sum", mode),
            &engine,
            |b, e| b.iter(|| e.instant_query(&store, RATE_SUM, end).map(|o| o.value)),
        );
        group.bench_with_input(
            BenchmarkId::new("range_rate_sum_1h_step60s", mode),
            &engine,
            |b, e| {
                b.iter(|| {
                    e.range_query(&store, RATE_SUM, 0, end, 60_000)
                        .map(|o| o.value)
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("instant_join", mode), &engine, |b, e| {
            b.iter(|| e.instant_query(&store, JOIN, end).map(|o| o.value))
        });
        group.bench_with_input(
            BenchmarkId::new("range_join_1h_step60s", mode),
            &engine,
            |b, e| b.iter(|| e.range_query(&store, JOIN, 0, end, 60_000).map(|o| o.value)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_eval);
criterion_main!(benches);
