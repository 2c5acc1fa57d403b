//! The series a cluster exports: label sets, lifetimes and the seeded value model of each.
//!
//! Every series draws its values from its own ChaCha8 stream, seeded from the cluster seed and
//! the series' creation index, one draw sequence per scrape in time order. Values therefore do
//! not depend on the order in which series are written (series-major OpenMetrics, time-major
//! scrape files and the in-process streams agree bit for bit).

use promlite_model::{Labels, METRIC_NAME};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::spec::{ClusterSpec, LabelStyle, Shape};
use crate::topology::{Node, OwnerKind, Span, Topology};

/// The metric families a cluster exports, in OpenMetrics output order (sorted by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// cAdvisor `container_cpu_usage_seconds_total` (counter).
    ContainerCpu,
    /// cAdvisor `container_memory_working_set_bytes` (gauge).
    ContainerMemory,
    /// kube-state-metrics `kube_pod_info` (gauge, always 1).
    KubePodInfo,
    /// kube-state-metrics `kube_pod_owner` (gauge, always 1).
    KubePodOwner,
    /// kube-state-metrics `kube_replicaset_owner` (gauge, always 1).
    KubeReplicasetOwner,
}

impl Family {
    /// Every family in output order.
    pub const ALL: [Family; 5] = [
        Family::ContainerCpu,
        Family::ContainerMemory,
        Family::KubePodInfo,
        Family::KubePodOwner,
        Family::KubeReplicasetOwner,
    ];

    /// The sample (series) name.
    pub fn metric_name(self) -> &'static str {
        match self {
            Family::ContainerCpu => "container_cpu_usage_seconds_total",
            Family::ContainerMemory => "container_memory_working_set_bytes",
            Family::KubePodInfo => "kube_pod_info",
            Family::KubePodOwner => "kube_pod_owner",
            Family::KubeReplicasetOwner => "kube_replicaset_owner",
        }
    }

    /// The OpenMetrics family name (counters drop the `_total` suffix there).
    pub fn openmetrics_name(self) -> &'static str {
        match self {
            Family::ContainerCpu => "container_cpu_usage_seconds",
            other => other.metric_name(),
        }
    }

    /// `counter` or `gauge`.
    pub fn type_name(self) -> &'static str {
        match self {
            Family::ContainerCpu => "counter",
            _ => "gauge",
        }
    }

    /// The HELP text.
    pub fn help(self) -> &'static str {
        match self {
            Family::ContainerCpu => "Cumulative cpu time consumed in seconds.",
            Family::ContainerMemory => "Current working set in bytes.",
            Family::KubePodInfo => "Information about pod.",
            Family::KubePodOwner => "Information about the Pod's owner.",
            Family::KubeReplicasetOwner => "Information about the ReplicaSet's owner.",
        }
    }
}

/// How a series' values evolve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueModel {
    /// A CPU-seconds counter growing by about `cores` per second; `initial` is its value at the
    /// first scrape when the container was already running then.
    Counter {
        /// Mean growth per second.
        cores: f64,
        /// Value at scrape 0 for containers running since before the range (0 otherwise).
        initial: f64,
    },
    /// A byte gauge wandering around `base` (integer values).
    Gauge {
        /// Typical value.
        base: f64,
    },
    /// A constant (kube-state-metrics info series: 1).
    Constant(f64),
}

/// One exported series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDef {
    /// Full label set, `__name__` included.
    pub labels: Labels,
    /// Its metric family.
    pub family: Family,
    /// Scrapes at which it is exported: sorted, disjoint, non-adjacent spans.
    pub spans: Vec<Span>,
    /// Scrape indices at which a counter resets (container restarts), sorted.
    pub resets: Vec<u32>,
    /// The value model.
    pub model: ValueModel,
    /// Seed of this series' value stream.
    pub(crate) seed: u64,
}

impl SeriesDef {
    /// True if the series has a sample at scrape `k`.
    pub fn alive(&self, k: u32) -> bool {
        self.spans.iter().any(|s| s.contains(k))
    }

    /// Number of samples the series has over the range.
    pub fn n_samples(&self) -> u64 {
        self.spans.iter().map(|s| u64::from(s.len())).sum()
    }

    /// Scrape indices at which the series disappears before the range ends: where a scraper
    /// would write a staleness marker.
    pub fn stale_points(&self, n_scrapes: u32) -> impl Iterator<Item = u32> + '_ {
        self.spans
            .iter()
            .map(|s| s.end)
            .filter(move |end| *end < n_scrapes)
    }

    pub(crate) fn values(&self, interval_ms: i64) -> ValueGen {
        ValueGen {
            rng: ChaCha8Rng::seed_from_u64(self.seed),
            value: 0.0,
            prev: None,
            interval_s: interval_ms as f64 / 1000.0,
        }
    }
}

/// The running state of one series' value stream. Call [`ValueGen::value_at`] for the series'
/// live scrapes in increasing order.
pub(crate) struct ValueGen {
    rng: ChaCha8Rng,
    value: f64,
    /// Previous scrape index asked for; a gap means a new span starts.
    prev: Option<u32>,
    interval_s: f64,
}

impl ValueGen {
    pub(crate) fn value_at(&mut self, def: &SeriesDef, k: u32) -> f64 {
        let fresh = self.prev.is_none_or(|p| p.checked_add(1) != Some(k));
        self.prev = Some(k);
        let dt = self.interval_s;
        self.value = match def.model {
            ValueModel::Constant(c) => c,
            ValueModel::Counter { cores, initial } => round_to_nanoseconds(if fresh {
                if k == 0 && initial > 0.0 {
                    initial + cores * dt * self.rng.gen_range(0.0..1.0)
                } else {
                    // A container started inside the range: its first value is below
                    // 0.15 of a mean increment, so the counter's extrapolated zero point
                    // lies less than half an interval before the first sample. There
                    // Prometheus 2.42 (zero cut-off first) and 3.x (half-interval limit
                    // first) extrapolate `rate` alike, so the differential check against
                    // 2.42 stays valid (increments are at least 0.3 of the mean).
                    cores * dt * self.rng.gen_range(0.01..0.15)
                }
            } else if def.resets.binary_search(&k).is_ok() {
                cores * dt * self.rng.gen_range(0.1..1.0)
            } else {
                self.value + cores * dt * self.rng.gen_range(0.3..1.7)
            }),
            ValueModel::Gauge { base } => round_to_pages(if fresh {
                base * self.rng.gen_range(0.8..1.2)
            } else if def.resets.binary_search(&k).is_ok() {
                base * self.rng.gen_range(0.3..0.6)
            } else {
                (self.value * self.rng.gen_range(0.97..1.03)).clamp(base * 0.3, base * 3.0)
            }),
        };
        self.value
    }
}

/// cAdvisor reads CPU time as integer nanoseconds and exports `ns / 1e9`, so a real counter has
/// at most nine decimals; the generator's values have the same precision.
fn round_to_nanoseconds(seconds: f64) -> f64 {
    (seconds * 1e9).round() / 1e9
}

/// The kernel accounts memory in pages, so cAdvisor's working-set bytes are multiples of 4096.
fn round_to_pages(bytes: f64) -> f64 {
    ((bytes / 4096.0).round() * 4096.0).max(4096.0)
}

/// SplitMix64 finaliser: spreads the creation index into an independent seed.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

struct SeriesBuilder<'a> {
    spec: &'a ClusterSpec,
    out: Vec<SeriesDef>,
}

impl SeriesBuilder<'_> {
    fn push(
        &mut self,
        family: Family,
        pairs: &[(&str, &str)],
        spans: Vec<Span>,
        resets: Vec<u32>,
        model: ValueModel,
    ) {
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(pairs.len() + 1);
        all.push((METRIC_NAME, family.metric_name()));
        all.extend_from_slice(pairs);
        let labels = Labels::from_pairs(all);
        let seed = mix(self.spec.seed ^ mix(self.out.len() as u64));
        self.out.push(SeriesDef {
            labels,
            family,
            spans,
            resets,
            model,
            seed,
        });
    }
}

/// The cgroups cAdvisor reports per node besides containers (no pod or container labels).
fn node_cgroups(style: LabelStyle) -> [(&'static str, f64, f64); 7] {
    // (id, share of node cores, memory bytes)
    match style {
        LabelStyle::Legacy2018 => [
            ("/", 1.0, 2.4e10),
            ("/kubepods", 0.8, 1.8e10),
            ("/kubepods/besteffort", 0.05, 1.0e9),
            ("/kubepods/burstable", 0.75, 1.7e10),
            ("/system.slice", 0.15, 3.0e9),
            ("/system.slice/docker.service", 0.08, 1.5e9),
            ("/system.slice/kubelet.service", 0.05, 2.0e8),
        ],
        LabelStyle::Modern => [
            ("/", 1.0, 2.4e10),
            ("/kubepods.slice", 0.8, 1.8e10),
            ("/kubepods.slice/kubepods-besteffort.slice", 0.05, 1.0e9),
            ("/kubepods.slice/kubepods-burstable.slice", 0.75, 1.7e10),
            ("/system.slice", 0.15, 3.0e9),
            ("/system.slice/containerd.service", 0.08, 1.5e9),
            ("/system.slice/kubelet.service", 0.05, 2.0e8),
        ],
    }
}

/// The churn shape's kubelet/cAdvisor target labels of a node (kube-prometheus's ServiceMonitor).
fn kubelet_labels<'a>(node: &'a Node, instance: Option<&'a String>) -> Vec<(&'a str, &'a str)> {
    vec![
        ("endpoint", "https-metrics"),
        ("instance", instance.map_or("", String::as_str)),
        ("kubernetes_io_hostname", node.name.as_str()),
        ("metrics_path", "/metrics/cadvisor"),
        ("node", node.name.as_str()),
        ("service", "kubelet"),
    ]
}

/// Builds every series of the topology, sorted by labels (so by family), with series that share
/// a label set merged (a StatefulSet pod recreated under its name keeps its legacy
/// `kube_pod_owner` series).
pub(crate) fn build(spec: &ClusterSpec, topo: &Topology) -> Vec<SeriesDef> {
    let style = spec.label_style;
    let mut b = SeriesBuilder {
        spec,
        out: Vec::new(),
    };
    let n = spec.n_scrapes();
    let full = Span { start: 0, end: n };
    let job = "kubernetes-nodes-cadvisor";
    let churn = spec.shape == Shape::Churn;
    // The churn shape's kubelet target labels: `instance` is the kubelet's address.
    let kubelet_instances: Vec<String> = topo
        .nodes
        .iter()
        .map(|n| format!("{}:10250", n.host_ip))
        .collect();

    let mut node_cores = Vec::with_capacity(topo.nodes.len());
    for (idx, node) in topo.nodes.iter().enumerate() {
        let cores = 1.0 + (mix(spec.seed ^ 0x6e6f6465 ^ idx as u64) % 12) as f64;
        node_cores.push(cores);
        for (id, share, mem) in node_cgroups(style) {
            let mut base = if churn {
                kubelet_labels(node, kubelet_instances.get(idx))
            } else {
                vec![
                    ("beta_kubernetes_io_arch", "amd64"),
                    ("beta_kubernetes_io_os", "linux"),
                    ("instance", node.name.as_str()),
                    ("kubernetes_io_hostname", node.name.as_str()),
                ]
            };
            base.extend_from_slice(&[("id", id), ("job", job)]);
            if node.fluentd_ready && !churn {
                base.push(("beta_kubernetes_io_fluentd_ds_ready", "true"));
            }
            let mut cpu = base.clone();
            cpu.push(("cpu", "total"));
            let initial = cores * share * 0.4 * 86400.0 * 20.0;
            b.push(
                Family::ContainerCpu,
                &cpu,
                vec![full],
                vec![],
                ValueModel::Counter {
                    cores: cores * share * 0.4,
                    initial,
                },
            );
            b.push(
                Family::ContainerMemory,
                &base,
                vec![full],
                vec![],
                ValueModel::Gauge { base: mem },
            );
        }
    }

    for pod in &topo.pods {
        let Some(node) = topo.nodes.get(pod.node) else {
            continue;
        };
        if churn {
            // The pod-level cgroup: no container, no image; it outlives container restarts.
            let id = format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice",
                pod.uid.replace('-', "_")
            );
            let mut base = kubelet_labels(node, kubelet_instances.get(pod.node));
            base.extend_from_slice(&[
                ("id", id.as_str()),
                ("job", job),
                ("namespace", pod.namespace.as_str()),
                ("pod", pod.name.as_str()),
            ]);
            let cores: f64 = pod.containers.iter().map(|c| c.cpu_cores).sum::<f64>() * 1.02;
            let memory: f64 = pod.containers.iter().map(|c| c.memory_bytes).sum();
            let mut cpu = base.clone();
            cpu.push(("cpu", "total"));
            b.push(
                Family::ContainerCpu,
                &cpu,
                vec![pod.running],
                vec![],
                ValueModel::Counter {
                    cores,
                    initial: cores * pod.uptime_s,
                },
            );
            b.push(
                Family::ContainerMemory,
                &base,
                vec![pod.running],
                vec![],
                ValueModel::Gauge { base: memory },
            );
        }
        for c in &pod.containers {
            let name = format!(
                "k8s_{}_{}_{}_{}_0",
                c.name, pod.name, pod.namespace, pod.uid
            );
            let id = match style {
                LabelStyle::Legacy2018 => format!("/system.slice/docker-{}.scope", c.runtime_id),
                LabelStyle::Modern => format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{}.scope",
                    pod.uid.replace('-', "_"),
                    c.runtime_id
                ),
            };
            let mut base = if churn {
                kubelet_labels(node, kubelet_instances.get(pod.node))
            } else {
                vec![
                    ("beta_kubernetes_io_arch", "amd64"),
                    ("beta_kubernetes_io_os", "linux"),
                    ("instance", node.name.as_str()),
                    ("kubernetes_io_hostname", node.name.as_str()),
                ]
            };
            base.extend_from_slice(&[
                (style.container_label(), c.name.as_str()),
                ("id", id.as_str()),
                ("image", c.image.as_str()),
                ("job", job),
                ("name", name.as_str()),
                ("namespace", pod.namespace.as_str()),
                (style.pod_label(), pod.name.as_str()),
            ]);
            if node.fluentd_ready && !churn {
                base.push(("beta_kubernetes_io_fluentd_ds_ready", "true"));
            }
            let mut cpu = base.clone();
            cpu.push(("cpu", "total"));
            let resets: Vec<u32> = c.restart_at.into_iter().collect();
            let initial = c.cpu_cores * pod.uptime_s;
            b.push(
                Family::ContainerCpu,
                &cpu,
                vec![pod.running],
                resets.clone(),
                ValueModel::Counter {
                    cores: c.cpu_cores,
                    initial,
                },
            );
            b.push(
                Family::ContainerMemory,
                &base,
                vec![pod.running],
                resets,
                ValueModel::Gauge {
                    base: c.memory_bytes,
                },
            );
        }
    }

    for (replica, instance) in topo.ksm_instances.iter().enumerate() {
        // Churn: every second replica's watch lags, so it reports a deleted object one scrape
        // longer than the others (replicas disagree near deletions).
        let lag = u32::from(churn && replica % 2 == 1);
        let seen = |span: Span| Span {
            start: span.start,
            end: if span.end < n {
                (span.end + lag).min(n)
            } else {
                span.end
            },
        };
        let target: Vec<(&str, &str)> = match style {
            _ if churn => vec![
                ("container", "kube-state-metrics"),
                ("endpoint", "http"),
                ("instance", instance.as_str()),
                ("job", "kube-state-metrics"),
                ("service", "kube-state-metrics"),
            ],
            LabelStyle::Legacy2018 => vec![
                ("app", "prometheus"),
                ("chart", "prometheus-7.0.0"),
                ("component", "kube-state-metrics"),
                ("heritage", "Tiller"),
                ("instance", instance.as_str()),
                ("job", "kubernetes-service-endpoints"),
                ("kubernetes_name", "prometheus-kube-state-metrics"),
                ("kubernetes_namespace", "kube-system"),
                ("release", "prometheus"),
            ],
            LabelStyle::Modern => vec![
                ("instance", instance.as_str()),
                ("job", "kube-state-metrics"),
            ],
        };
        for pod in &topo.pods {
            let Some(node) = topo.nodes.get(pod.node) else {
                continue;
            };
            let has_owner = pod.owner_kind != OwnerKind::None;
            let mut owner = target.clone();
            owner.extend_from_slice(&[
                ("namespace", pod.namespace.as_str()),
                ("pod", pod.name.as_str()),
                ("owner_kind", pod.owner_kind.as_str()),
                ("owner_name", pod.owner_name.as_str()),
                (
                    "owner_is_controller",
                    if has_owner { "true" } else { "<none>" },
                ),
            ]);
            if style == LabelStyle::Modern {
                owner.push(("uid", pod.uid.as_str()));
            }
            let adopted = pod
                .adopted_at
                .filter(|k| pod.object.start < *k && *k < pod.object.end);
            let owned_span = match adopted {
                Some(k) => {
                    // Before the adoption the pod has no owner.
                    let mut orphan = target.clone();
                    orphan.extend_from_slice(&[
                        ("namespace", pod.namespace.as_str()),
                        ("pod", pod.name.as_str()),
                        ("owner_kind", "<none>"),
                        ("owner_name", "<none>"),
                        ("owner_is_controller", "<none>"),
                        ("uid", pod.uid.as_str()),
                    ]);
                    b.push(
                        Family::KubePodOwner,
                        &orphan,
                        vec![Span {
                            start: pod.object.start,
                            end: k,
                        }],
                        vec![],
                        ValueModel::Constant(1.0),
                    );
                    Span {
                        start: k,
                        end: pod.object.end,
                    }
                }
                None => pod.object,
            };
            b.push(
                Family::KubePodOwner,
                &owner,
                vec![seen(owned_span)],
                vec![],
                ValueModel::Constant(1.0),
            );
            let mut info = target.clone();
            info.extend_from_slice(&[
                ("namespace", pod.namespace.as_str()),
                ("pod", pod.name.as_str()),
                ("node", node.name.as_str()),
                ("host_ip", node.host_ip.as_str()),
                ("pod_ip", pod.pod_ip.as_str()),
                ("created_by_kind", pod.owner_kind.as_str()),
                ("created_by_name", pod.owner_name.as_str()),
                ("uid", pod.uid.as_str()),
            ]);
            if churn {
                let host_network = pod.pod_ip == node.host_ip;
                info.push(("host_network", if host_network { "true" } else { "false" }));
                if pod.owner_kind == OwnerKind::DaemonSet || pod.namespace == "kube-system" {
                    info.push(("priority_class", "system-node-critical"));
                }
            }
            b.push(
                Family::KubePodInfo,
                &info,
                vec![seen(pod.object)],
                vec![],
                ValueModel::Constant(1.0),
            );
        }
        for rs in &topo.replica_sets {
            let mut labels = target.clone();
            labels.extend_from_slice(&[
                ("namespace", rs.namespace.as_str()),
                ("replicaset", rs.name.as_str()),
                ("owner_kind", "Deployment"),
                ("owner_name", rs.deployment.as_str()),
                ("owner_is_controller", "true"),
            ]);
            b.push(
                Family::KubeReplicasetOwner,
                &labels,
                vec![seen(rs.object)],
                vec![],
                ValueModel::Constant(1.0),
            );
        }
    }

    let mut series = b.out;
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    merge_duplicates(series)
}

/// Merges adjacent series with equal labels: spans united, resets combined, the first one's
/// value model and seed kept.
fn merge_duplicates(series: Vec<SeriesDef>) -> Vec<SeriesDef> {
    let mut out: Vec<SeriesDef> = Vec::with_capacity(series.len());
    for s in series {
        match out.last_mut() {
            Some(last) if last.labels == s.labels => {
                last.spans.extend(s.spans);
                last.resets.extend(s.resets);
                last.spans.sort();
                last.resets.sort_unstable();
                last.resets.dedup();
                let mut merged: Vec<Span> = Vec::with_capacity(last.spans.len());
                for span in last.spans.drain(..) {
                    match merged.last_mut() {
                        Some(m) if span.start <= m.end => m.end = m.end.max(span.end),
                        _ => merged.push(span),
                    }
                }
                last.spans = merged;
            }
            _ => out.push(s),
        }
    }
    out
}
