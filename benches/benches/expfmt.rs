//! Parse-throughput benchmark of the exposition parser on a seeded cAdvisor-shaped file and on a
//! real node_exporter capture.
//!
//! Run: `cargo bench -p promlite-benches --bench expfmt`. Criterion reports bytes/s; the
//! `lines` group reports the same runs as elements (lines)/s.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
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
/// and TYPE line, then one sample per container (13 labels, ~350 bytes per line).
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
                format!("quay.io/calico/{container}@sha256:{}", hex(&mut rng, 64))
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_parse
}
criterion_main!(benches);
