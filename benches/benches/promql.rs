//! Criterion benches for the PromQL parser and printer on dashboard-sized queries.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// The seed post's headline query (Grafana variables substituted): container CPU joined to the
/// owning workload through kube_pod_owner and kube_replicaset_owner.
const WORKLOAD_QUERY: &str = r#"avg(
  max(
    max(
      kube_replicaset_owner{namespace="kube-system",owner_kind="ReplicaSet",owner_name="calico-node"}
    ) by (namespace, owner_name, owner_kind, replicaset)
    *
    on(replicaset, namespace)
    group_right(owner_name, owner_kind)
    label_replace(
      max(
        kube_pod_owner{namespace="kube-system",owner_kind="ReplicaSet"}
      ) by (owner_name, pod, namespace)
      , "replicaset", "$1", "owner_name", "(.+)"
    )
    or
    kube_pod_owner{namespace="kube-system",owner_kind="ReplicaSet",owner_name="calico-node"}
  ) by (owner_name, owner_kind, pod, namespace)
  *
  on(pod, namespace)
  group_right(owner_kind, owner_name)
  label_replace(
    sum by(pod_name, namespace, kubernetes_io_hostname) (
      rate(container_cpu_usage_seconds_total{namespace="kube-system"}[1m])
    ), "pod", "$1", "pod_name", "(.+)"
  )
) by (owner_name, owner_kind, namespace)"#;

const SMALL_QUERY: &str =
    r#"sum by (job) (rate(http_requests_total{job=~"api.*", code!="200"}[5m]))"#;

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("promql");
    for (name, query) in [
        ("parse_workload_join", WORKLOAD_QUERY),
        ("parse_small", SMALL_QUERY),
    ] {
        group.throughput(Throughput::Bytes(query.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| promlite_promql::parse(black_box(query)).expect("benchmark query parses"))
        });
    }
    let expr = promlite_promql::parse(WORKLOAD_QUERY).expect("benchmark query parses");
    group.bench_function("print_workload_join", |b| {
        b.iter(|| black_box(&expr).to_string())
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
