//! Parse-throughput benchmark of the exposition parser on a seeded cAdvisor-shaped file and on a
//! real node_exporter capture.
//!
//! Run: `cargo bench -p promlite-benches --bench expfmt`. Criterion reports bytes/s; the
//! `lines` group reports the same runs as elements (lines)/s.

use std::hint::black_box;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promlite_expfmt::replay::{replay_dir, ReplayOptions, ReplaySeries, SampleSink, ScrapeTimes};
use promlite_expfmt::{Entry, Format, Parser};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// cAdvisor families with the seed post's label shape (2018 label names).
const FAMILIES: &[(&str, &str)] = &[
    ("container_cpu_usage_seconds_total", "counter"),
    ("container_cpu_system_seconds_total", "counter"),
    ("container_cpu_user_seconds_total", "counter"),
    ("container_memory_usage_bytes", "gauge"),
    ("container_memory_working_set_bytes", "gauge"),
    ("container_memory_rss", "gauge"),
    ("container_network_receive_bytes_total", "counter"),
    ("container_network_transmit_bytes_total", "counter"),
    ("container_fs_reads_bytes_total", "counter"),
    ("container_fs_writes_bytes_total", "counter"),
    ("container_spec_cpu_shares", "gauge"),
    ("container_last_seen", "gauge"),
];

fn hex(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
        .collect()
}

/// A deterministic cAdvisor-shaped exposition of at least `min_bytes` bytes: per family a HELP
/// and TYPE line, then one sample per container with the seed post's 13 labels (about 530
/// bytes per line: the seed's own lines are 430 to 590 bytes).
fn cadvisor_text(min_bytes: usize) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(0x000_1cc5_71ff);
    // Containers: (namespace, pod, container, image, id, name).
    let mut containers = Vec::new();
    let namespaces = [
        "kube-system",
        "rook-ceph",
        "monitoring",
        "default",
        "ingress-nginx",
    ];
    let workloads = [
        "calico-node",
        "csi-rbdplugin",
        "rook-ceph-mgr-a",
        "prometheus-server",
        "nginx-ingress",
    ];
    for pod_idx in 0..400 {
        let ns = namespaces[pod_idx % namespaces.len()];
        let workload = workloads[rng.gen_range(0..workloads.len())];
        let pod = format!("{workload}-{}", hex(&mut rng, 5));
        let uid = format!(
            "{}-{}-11e8-9756-fa163eae1e89",
            hex(&mut rng, 8),
            hex(&mut rng, 4)
        );
        for (c_idx, container) in ["POD", workload, "install-cni"].iter().enumerate() {
            let image = if c_idx == 0 {
                "k8s.gcr.io/pause-amd64:3.1".to_string()
            } else {
                // Half the images are pinned by digest, half by tag.
                if rng.gen_bool(0.5) {
                    format!("quay.io/calico/{container}@sha256:{}", hex(&mut rng, 64))
                } else {
                    format!("quay.io/calico/{container}:v3.2.{}", rng.gen_range(0..10))
                }
            };
            let id = format!("/system.slice/docker-{}.scope", hex(&mut rng, 64));
            let name = format!("k8s_{container}_{pod}_{ns}_{uid}_0");
            containers.push((ns, pod.clone(), container.to_string(), image, id, name));
        }
    }
    let mut out = String::with_capacity(min_bytes + 4096);
    let mut node = 0;
    while out.len() < min_bytes {
        let host = format!("kubernetes-node-{node:03}");
        node += 1;
        for (family, kind) in FAMILIES {
            if out.len() >= min_bytes {
                break;
            }
            out.push_str(&format!("# HELP {family} Cumulative {family} as seen by cAdvisor.\n# TYPE {family} {kind}\n"));
            for (ns, pod, container, image, id, name) in &containers {
                let value: f64 = rng.gen_range(0.0..100_000.0);
                out.push_str(&format!(
                    "{family}{{beta_kubernetes_io_arch=\"amd64\",beta_kubernetes_io_fluentd_ds_ready=\"true\",\
                     beta_kubernetes_io_os=\"linux\",container_name=\"{container}\",cpu=\"total\",id=\"{id}\",\
                     image=\"{image}\",instance=\"{host}\",job=\"kubernetes-nodes-cadvisor\",\
                     kubernetes_io_hostname=\"{host}\",name=\"{name}\",namespace=\"{ns}\",pod_name=\"{pod}\"}} {value:.9}\n"
                ));
            }
        }
    }
    out
}

/// On-CPU time of the current thread (from /proc/thread-self/schedstat, nanoseconds).
///
/// The bench machine is shared (load average far above its core count), so wall-clock time
/// mostly measures waiting for a core. On-CPU time is the "one core" figure; it can lag by up
/// to one scheduler tick per reading, which is small against criterion's ~100 ms samples.
fn on_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Criterion measurement of on-CPU nanoseconds.
struct OnCpu;

impl Measurement for OnCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        on_cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        on_cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &OnCpuFormatter
    }
}

/// Formats on-CPU nanoseconds and the throughputs derived from them.
struct OnCpuFormatter;

impl ValueFormatter for OnCpuFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical_ns < 1e3 {
            (1.0, "ns cpu")
        } else if typical_ns < 1e6 {
            (1e-3, "µs cpu")
        } else if typical_ns < 1e9 {
            (1e-6, "ms cpu")
        } else {
            (1e-9, "s cpu")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (per_iter, divisor, unit) = match *throughput {
            Throughput::Bytes(n) => (n as f64, 1024.0 * 1024.0, "MiB/s on-CPU"),
            Throughput::BytesDecimal(n) => (n as f64, 1e6, "MB/s on-CPU"),
            Throughput::Elements(n) => (n as f64, 1e6, "Melem/s on-CPU"),
        };
        values
            .iter_mut()
            .for_each(|v| *v = per_iter / (*v * 1e-9) / divisor);
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// Parses everything and returns a checksum so the work cannot be optimised away.
fn parse_all(text: &str, format: Format) -> (usize, f64) {
    let mut parser = Parser::new(text, format);
    let mut n = 0;
    let mut sum = 0.0;
    loop {
        match parser.next_entry() {
            Ok(Some(Entry::Sample(s))) => {
                n += s.labels.len();
                sum += s.value;
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => panic!("benchmark input must parse: {e}"),
        }
    }
    (n, sum)
}

fn bench_parse(c: &mut Criterion) {
    let cadvisor = cadvisor_text(10 << 20);
    // EXPFMT_DUMP=path writes the generated file, for profiling with a standalone driver.
    if let Some(path) = std::env::var_os("EXPFMT_DUMP") {
        std::fs::write(path, &cadvisor).expect("EXPFMT_DUMP path writable");
    }
    let node = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/exposition/node_exporter_1.prom"
    ))
    .expect("node_exporter capture present in testdata");
    let inputs = [
        ("cadvisor", cadvisor.as_str()),
        ("node_exporter", node.as_str()),
    ];
    for (name, text) in inputs {
        let n_lines = text.lines().count() as u64;
        let avg = text.len() as u64 / n_lines.max(1);
        eprintln!(
            "{name}: {} bytes, {n_lines} lines, {avg} bytes/line",
            text.len()
        );
        let mut group = c.benchmark_group("expfmt_parse_bytes");
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| parse_all(black_box(text), Format::Prometheus))
        });
        group.finish();
        let mut group = c.benchmark_group("expfmt_parse_lines");
        group.throughput(Throughput::Elements(n_lines));
        group.bench_function(name, |b| {
            b.iter(|| parse_all(black_box(text), Format::Prometheus))
        });
        group.finish();
    }
    let mut group = c.benchmark_group("expfmt_to_labels");
    let sample_lines: String = cadvisor
        .lines()
        .filter(|l| !l.starts_with('#'))
        .take(10_000)
        .map(|l| format!("{l}\n"))
        .collect();
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("cadvisor_10k", |b| {
        b.iter(|| {
            let mut parser = Parser::new(black_box(&sample_lines), Format::Prometheus);
            let mut n = 0;
            while let Ok(Some(entry)) = parser.next_entry() {
                if let Entry::Sample(s) = entry {
                    n += s.to_labels().map_or(0, |l| l.len());
                }
            }
            n
        })
    });
    group.finish();
}

/// The same parse runs measured in on-CPU time (see [`OnCpu`]).
fn bench_parse_on_cpu(c: &mut Criterion<OnCpu>) {
    let cadvisor = cadvisor_text(10 << 20);
    let node = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/exposition/node_exporter_1.prom"
    ))
    .expect("node_exporter capture present in testdata");
    for (name, text) in [
        ("cadvisor", cadvisor.as_str()),
        ("node_exporter", node.as_str()),
    ] {
        let n_lines = text.lines().count() as u64;
        let mut group = c.benchmark_group("expfmt_parse_bytes_on_cpu");
        group.throughput(Throughput::BytesDecimal(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| parse_all(black_box(text), Format::Prometheus))
        });
        group.finish();
        let mut group = c.benchmark_group("expfmt_parse_lines_on_cpu");
        group.throughput(Throughput::Elements(n_lines));
        group.bench_function(name, |b| {
            b.iter(|| parse_all(black_box(text), Format::Prometheus))
        });
        group.finish();
    }
}

/// A sink that only counts, so the bench measures replay itself.
#[derive(Default)]
struct NullSink {
    appended: u64,
}

impl SampleSink for NullSink {
    type Error = std::convert::Infallible;

    fn append(&mut self, series: &ReplaySeries, _t: i64, v: f64) -> Result<(), Self::Error> {
        self.appended += u64::from(series.id) + u64::from(v.is_nan());
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Directory replay (series cache, staleness) versus building `Labels` for every sample.
fn bench_replay_on_cpu(c: &mut Criterion<OnCpu>) {
    // Eight scrapes: the first builds every series, the other seven hit the series cache.
    let scrape = cadvisor_text(1 << 20);
    let dir = std::env::temp_dir().join(format!("promlite-bench-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir writable");
    for i in 0..8 {
        std::fs::write(
            dir.join(format!("{}.prom", 1_700_000_000_000i64 + i * 15_000)),
            &scrape,
        )
        .expect("temp file writable");
    }
    let n_samples = 8 * scrape.lines().filter(|l| !l.starts_with('#')).count() as u64;
    let mut group = c.benchmark_group("expfmt_replay_on_cpu");
    group.throughput(Throughput::Elements(n_samples));
    group.bench_function("dir_8x1MB_cached_series", |b| {
        b.iter(|| {
            let mut sink = NullSink::default();
            replay_dir(
                &dir,
                ScrapeTimes::FileNames,
                &mut ReplayOptions::default(),
                &mut sink,
            )
            .expect("replay succeeds");
            sink.appended
        })
    });
    group.bench_function("parse_and_to_labels_every_sample", |b| {
        b.iter(|| {
            let mut n = 0;
            for _ in 0..8 {
                let mut parser = Parser::new(black_box(&scrape), Format::Prometheus);
                while let Ok(Some(entry)) = parser.next_entry() {
                    if let Entry::Sample(s) = entry {
                        n += s.to_labels().map_or(0, |l| l.stable_hash() & 1);
                    }
                }
            }
            n
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_parse
}
criterion_group! {
    name = benches_on_cpu;
    config = Criterion::default().with_measurement(OnCpu).sample_size(20);
    targets = bench_parse_on_cpu, bench_replay_on_cpu
}
criterion_main!(benches, benches_on_cpu);
