//! The simulated cluster's objects: nodes, workloads, ReplicaSets and pods with their lifetimes.
//!
//! Lifetimes are spans of scrape indices. Everything is drawn from one ChaCha8 stream seeded by
//! [`ClusterSpec::seed`] in a fixed order, so a spec always yields the same topology.

use std::collections::HashSet;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::spec::{ClusterSpec, LabelStyle, Shape};

/// A half-open span `[start, end)` of scrape indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// First scrape index included.
    pub start: u32,
    /// First scrape index excluded (`start < end`).
    pub end: u32,
}

impl Span {
    /// True if scrape `k` lies in the span.
    #[inline]
    pub fn contains(&self, k: u32) -> bool {
        self.start <= k && k < self.end
    }

    /// Number of scrapes in the span.
    #[inline]
    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// True if the span holds no scrape.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One node: a cAdvisor target.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Host name; also the cAdvisor `instance` and `kubernetes_io_hostname`.
    pub name: String,
    /// Node IP (`host_ip` in `kube_pod_info`).
    pub host_ip: String,
    /// Runs the static control-plane pods.
    pub control_plane: bool,
    /// Carries the `beta_kubernetes_io_fluentd_ds_ready="true"` node label (as in seed 000).
    pub fluentd_ready: bool,
}

/// The kind of a pod's controlling owner, as kube-state-metrics spells it in `owner_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerKind {
    /// Owned by a ReplicaSet (itself owned by a Deployment).
    ReplicaSet,
    /// Owned by a DaemonSet.
    DaemonSet,
    /// Owned by a StatefulSet.
    StatefulSet,
    /// Owned by a Job.
    Job,
    /// No owner: bare and static pods (`owner_kind="<none>"`).
    None,
}

impl OwnerKind {
    /// The `owner_kind` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::ReplicaSet => "ReplicaSet",
            OwnerKind::DaemonSet => "DaemonSet",
            OwnerKind::StatefulSet => "StatefulSet",
            OwnerKind::Job => "Job",
            OwnerKind::None => "<none>",
        }
    }
}

/// One container of a pod (the pause container `POD` included).
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// Container name (`POD` for the pause container).
    pub name: String,
    /// Image reference.
    pub image: String,
    /// 64 hex digits of the runtime's container id (used in the cgroup `id` label).
    pub runtime_id: String,
    /// Mean CPU usage in cores.
    pub cpu_cores: f64,
    /// Typical working set in bytes.
    pub memory_bytes: f64,
    /// Scrape index at which the container restarts (its counter resets), if it does.
    pub restart_at: Option<u32>,
}

/// One pod and its lifetimes.
#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    /// Namespace.
    pub namespace: String,
    /// Pod name, unique in its namespace at any time.
    pub name: String,
    /// Pod UID (UUID text).
    pub uid: String,
    /// Index into [`Topology::nodes`].
    pub node: usize,
    /// Pod IP (the node IP for host-network pods).
    pub pod_ip: String,
    /// Owner kind (`<none>` for bare and static pods).
    pub owner_kind: OwnerKind,
    /// Owner name (`<none>` when there is no owner).
    pub owner_name: String,
    /// Containers: the pause container first in the classic shape; the churn shape has none
    /// (its cAdvisor reports a pod-level cgroup instead).
    pub containers: Vec<Container>,
    /// Scrapes during which the pod object exists (kube-state-metrics series).
    pub object: Span,
    /// Scrapes during which its containers run (cAdvisor series); inside `object`.
    pub running: Span,
    /// How long the pod had been running at the first scrape of the range, in seconds (0 for
    /// pods created inside the range). Sets the starting value of its CPU counters.
    pub uptime_s: f64,
    /// Scrape from which kube-state-metrics reports the owner; before it the pod is an orphan
    /// (`owner_kind="<none>"`) that its owner adopts there. `None`: owned all along.
    pub adopted_at: Option<u32>,
}

/// A ReplicaSet and the Deployment owning it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSet {
    /// Namespace.
    pub namespace: String,
    /// ReplicaSet name (`<deployment>-<pod-template-hash>`).
    pub name: String,
    /// Owning Deployment.
    pub deployment: String,
    /// Scrapes during which the ReplicaSet object exists.
    pub object: Span,
}

/// The whole simulated cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    /// Nodes, control-plane nodes first.
    pub nodes: Vec<Node>,
    /// Every pod that exists at some scrape of the range.
    pub pods: Vec<Pod>,
    /// Every ReplicaSet that exists at some scrape of the range (old revisions included).
    pub replica_sets: Vec<ReplicaSet>,
    /// The kube-state-metrics replicas' `instance` labels (`<pod ip>:8080`).
    pub ksm_instances: Vec<String>,
}

/// Alphabet Kubernetes uses for generated name suffixes (no vowels, no confusable digits).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const APP_NAMESPACES: &[&str] = &[
    "payments",
    "checkout",
    "search",
    "catalog",
    "identity",
    "analytics",
    "ingest",
    "media",
    "ads",
    "billing",
    "shipping",
    "support",
    "frontend",
    "data",
    "ml",
    "notifications",
];
/// The churn shape's namespaces: environments and platform teams rather than product areas.
const CHURN_NAMESPACES: &[&str] = &[
    "prod-web",
    "prod-api",
    "prod-batch",
    "staging-web",
    "staging-api",
    "platform",
    "observability",
    "data-pipeline",
    "ml-serving",
    "edge",
    "internal-tools",
    "security",
];
/// CronJobs of the churn shape (one per namespace, a run every [`CRON_EVERY_MS`]).
const CRONJOBS: &[&str] = &["sync-catalog", "rotate-keys", "compact", "scrape-feeds"];
/// Interval between a churn CronJob's runs.
const CRON_EVERY_MS: i64 = 10 * 60_000;
/// Churn: probability that a Deployment pod is evicted and replaced under a new name.
const EVICT_PROBABILITY: f64 = 0.12;
/// Churn: probability that a Deployment pod is deleted without replacement (scale-down).
const SCALE_DOWN_PROBABILITY: f64 = 0.05;
/// Churn: probability that a pod starts orphaned and is adopted by its ReplicaSet later.
const ADOPT_PROBABILITY: f64 = 0.02;
/// Churn: probability that a Deployment scales up mid-range (one to three more pods).
const SCALE_UP_PROBABILITY: f64 = 0.2;
const COMPONENTS: &[&str] = &[
    "billing",
    "cart",
    "catalog",
    "inventory",
    "auth",
    "user",
    "order",
    "pricing",
    "review",
    "recommend",
    "email",
    "report",
    "session",
    "image",
    "video",
    "geo",
    "ledger",
    "quote",
    "fraud",
    "promo",
];
const ROLES: &[&str] = &[
    "api",
    "web",
    "worker",
    "consumer",
    "cache",
    "gateway",
    "scheduler",
    "sync",
];
const SIDECARS: &[(&str, &str)] = &[
    ("istio-proxy", "docker.io/istio/proxyv2:1.19.3"),
    ("log-shipper", "docker.io/fluent/fluent-bit:2.1.10"),
    (
        "config-reloader",
        "quay.io/prometheus-operator/prometheus-config-reloader:v0.68.0",
    ),
    ("vault-agent", "docker.io/hashicorp/vault:1.15.1"),
    ("oauth-proxy", "quay.io/oauth2-proxy/oauth2-proxy:v7.5.1"),
    (
        "metrics-exporter",
        "quay.io/prometheus/statsd-exporter:v0.24.0",
    ),
];
const STATEFULSETS: &[&str] = &[
    "postgres",
    "redis",
    "kafka",
    "zookeeper",
    "elasticsearch",
    "rabbitmq",
    "mongodb",
    "minio",
];
const JOBS: &[&str] = &[
    "db-migrate",
    "nightly-report",
    "backup",
    "reindex",
    "cleanup",
    "export",
];

/// Builds the topology for a validated spec.
pub(crate) fn build(spec: &ClusterSpec) -> Topology {
    let mut b = Builder {
        spec,
        n: spec.n_scrapes(),
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        nodes: Vec::new(),
        pods: Vec::new(),
        replica_sets: Vec::new(),
        ip_counters: Vec::new(),
        names: HashSet::new(),
    };
    b.nodes();
    b.system_workloads();
    b.app_workloads();
    b.bare_pods();
    if spec.shape == Shape::Churn {
        b.churn();
    }
    let ksm_instances = b
        .pods
        .iter()
        .filter(|p| p.namespace == "kube-system" && p.owner_name.starts_with("kube-state-metrics-"))
        .map(|p| format!("{}:8080", p.pod_ip))
        .collect();
    Topology {
        nodes: b.nodes,
        pods: b.pods,
        replica_sets: b.replica_sets,
        ksm_instances,
    }
}

/// What a workload's pods run: `(container name, image, kind of load)`.
type ContainerTemplate = Vec<(String, String, Load)>;

#[derive(Debug, Clone, Copy)]
enum Load {
    App,
    Sidecar,
    System,
}

struct Builder<'a> {
    spec: &'a ClusterSpec,
    /// Number of scrapes.
    n: u32,
    rng: ChaCha8Rng,
    nodes: Vec<Node>,
    pods: Vec<Pod>,
    replica_sets: Vec<ReplicaSet>,
    /// Pod IPs handed out per node.
    ip_counters: Vec<u32>,
    /// `namespace/name` of every pod and ReplicaSet created, to keep generated names unique.
    names: HashSet<String>,
}

impl Builder<'_> {
    fn full(&self) -> Span {
        Span {
            start: 0,
            end: self.n,
        }
    }

    fn suffix(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(*SAFE_ALPHABET.choose(&mut self.rng).unwrap_or(&b'x')))
            .collect()
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from_digit(self.rng.gen_range(0..16), 16).unwrap_or('0'))
            .collect()
    }

    fn uid(&mut self) -> String {
        format!(
            "{}-{}-4{}-{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(4),
            self.hex(12)
        )
    }

    /// A name `<prefix>-<suffix>` unused in `namespace`.
    fn unique_name(&mut self, namespace: &str, prefix: &str, suffix_len: usize) -> String {
        loop {
            let name = format!("{prefix}-{}", self.suffix(suffix_len));
            if self.names.insert(format!("{namespace}/{name}")) {
                return name;
            }
        }
    }

    /// A scrape index in the middle half of the range, for mid-range events.
    fn mid_range_step(&mut self) -> u32 {
        let lo = self.n / 4;
        let hi = (3 * self.n / 4).max(lo + 1);
        self.rng.gen_range(lo..hi)
    }

    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (self.rng.gen_range(lo.ln()..hi.ln())).exp()
    }

    fn worker_node(&mut self) -> usize {
        let cp = self.nodes.iter().filter(|n| n.control_plane).count();
        if cp < self.nodes.len() {
            self.rng.gen_range(cp..self.nodes.len())
        } else {
            self.rng.gen_range(0..self.nodes.len())
        }
    }

    fn nodes(&mut self) {
        let n_nodes = self.spec.nodes as usize;
        let n_cp = (self.spec.control_plane_nodes as usize).min(n_nodes);
        for i in 0..n_nodes {
            let control_plane = i < n_cp;
            let name = match self.spec.label_style {
                LabelStyle::Legacy2018 if control_plane => format!("k8s-master-{:02}", i + 1),
                LabelStyle::Legacy2018 => format!("k8s-node-{:03}", i - n_cp + 1),
                LabelStyle::Modern if control_plane => format!("cp-{}", i + 1),
                LabelStyle::Modern => format!("worker-{:03}", i - n_cp + 1),
            };
            let host_ip = format!("10.0.{}.{}", i / 250, i % 250 + 2);
            self.nodes.push(Node {
                name,
                host_ip,
                control_plane,
                fluentd_ready: i % 2 == 0,
            });
            self.ip_counters.push(0);
        }
    }

    fn pod_ip(&mut self, node: usize, host_network: bool) -> String {
        if host_network {
            return self
                .nodes
                .get(node)
                .map(|n| n.host_ip.clone())
                .unwrap_or_default();
        }
        let counter = self.ip_counters.get_mut(node).map_or(0, |c| {
            *c += 1;
            *c
        });
        format!(
            "10.{}.{}.{}",
            128 + node / 256,
            node % 256,
            counter.saturating_sub(1) % 254 + 1
        )
    }

    fn pause_image(&self) -> &'static str {
        match self.spec.label_style {
            LabelStyle::Legacy2018 => "k8s.gcr.io/pause-amd64:3.1",
            LabelStyle::Modern => "registry.k8s.io/pause:3.9",
        }
    }

    /// Adds one pod. `restart` forces a restart of the first non-pause container at that scrape.
    #[allow(clippy::too_many_arguments)]
    fn pod(
        &mut self,
        namespace: &str,
        name: String,
        node: usize,
        owner: (OwnerKind, &str),
        template: &ContainerTemplate,
        host_network: bool,
        object: Span,
        running: Span,
        restart: Option<u32>,
    ) {
        let uid = self.uid();
        let pod_ip = self.pod_ip(node, host_network);
        let uptime_s = if running.start == 0 {
            self.rng.gen_range(3600.0..30.0 * 86400.0)
        } else {
            0.0
        };
        let mut containers = Vec::with_capacity(template.len() + 1);
        if self.spec.shape == Shape::Classic {
            containers.push(Container {
                name: "POD".to_string(),
                image: self.pause_image().to_string(),
                runtime_id: self.hex(64),
                cpu_cores: self.log_uniform(1e-5, 1e-4),
                memory_bytes: self.log_uniform(3e5, 1.2e6),
                restart_at: None,
            });
        }
        for (idx, (cname, image, load)) in template.iter().enumerate() {
            let (cpu_cores, memory_bytes) = match load {
                Load::App => (self.log_uniform(0.002, 1.5), self.log_uniform(5e7, 2e9)),
                Load::Sidecar => (self.log_uniform(0.001, 0.1), self.log_uniform(2e7, 2e8)),
                Load::System => (self.log_uniform(0.005, 0.3), self.log_uniform(2e7, 5e8)),
            };
            let restart_at = if idx == 0 && restart.is_some() {
                restart
            } else if running.len() > 4 && self.rng.gen_bool(self.spec.restart_probability) {
                Some(self.rng.gen_range(running.start + 2..running.end))
            } else {
                None
            };
            let runtime_id = self.hex(64);
            containers.push(Container {
                name: cname.clone(),
                image: image.clone(),
                runtime_id,
                cpu_cores,
                memory_bytes,
                restart_at: restart_at.filter(|k| running.start < *k && *k < running.end),
            });
        }
        self.names.insert(format!("{namespace}/{name}"));
        self.pods.push(Pod {
            namespace: namespace.to_string(),
            name,
            uid,
            node,
            pod_ip,
            owner_kind: owner.0,
            owner_name: owner.1.to_string(),
            containers,
            object,
            running,
            uptime_s,
            adopted_at: None,
        });
    }

    fn daemonset(
        &mut self,
        namespace: &str,
        name: &str,
        template: &ContainerTemplate,
        restart_on_node0: Option<u32>,
    ) {
        for node in 0..self.nodes.len() {
            let pod_name = self.unique_name(namespace, name, 5);
            let full = self.full();
            let restart = if node == 0 { restart_on_node0 } else { None };
            self.pod(
                namespace,
                pod_name,
                node,
                (OwnerKind::DaemonSet, name),
                template,
                true,
                full,
                full,
                restart,
            );
        }
    }

    /// A Deployment with `replicas` pods; `rollout` replaces them with a new ReplicaSet's pods
    /// starting at that scrape (one pod per scrape, each old pod lingering two scrapes).
    fn deployment(
        &mut self,
        namespace: &str,
        name: &str,
        replicas: u32,
        template: &ContainerTemplate,
        rollout: Option<u32>,
        history: bool,
    ) {
        let full = self.full();
        if history {
            // An old revision kept by revisionHistoryLimit: a ReplicaSet with no pods.
            let rs = self.unique_name(namespace, name, 10);
            self.replica_sets.push(ReplicaSet {
                namespace: namespace.into(),
                name: rs,
                deployment: name.into(),
                object: full,
            });
        }
        let rs = self.unique_name(namespace, name, 10);
        self.replica_sets.push(ReplicaSet {
            namespace: namespace.into(),
            name: rs.clone(),
            deployment: name.into(),
            object: full,
        });
        let new_rs = rollout.map(|step| {
            let new_rs = self.unique_name(namespace, name, 10);
            self.replica_sets.push(ReplicaSet {
                namespace: namespace.into(),
                name: new_rs.clone(),
                deployment: name.into(),
                object: Span {
                    start: step,
                    end: self.n,
                },
            });
            (step, new_rs)
        });
        // The rolled-out revision runs a newer image of the main container.
        let mut new_template = template.clone();
        if let Some((_, image, _)) = new_template.first_mut() {
            image.push_str("-r2");
        }
        for i in 0..replicas {
            let node = self.worker_node();
            let pod_name = self.unique_name(namespace, &rs, 5);
            let mut span = full;
            if let Some((step, new_rs)) = &new_rs {
                let new_start = step + i;
                if new_start < self.n {
                    span.end = (new_start + 2).min(self.n);
                    let new_node = self.worker_node();
                    let new_pod = self.unique_name(namespace, new_rs, 5);
                    let new_span = Span {
                        start: new_start,
                        end: self.n,
                    };
                    self.pod(
                        namespace,
                        new_pod,
                        new_node,
                        (OwnerKind::ReplicaSet, new_rs),
                        &new_template,
                        false,
                        new_span,
                        new_span,
                        None,
                    );
                }
            }
            self.pod(
                namespace,
                pod_name,
                node,
                (OwnerKind::ReplicaSet, &rs),
                template,
                false,
                span,
                span,
                None,
            );
        }
    }

    /// A StatefulSet with pods `<name>-0..`; a rollout deletes and recreates each pod under the
    /// same name (new UID and containers) with one scrape in between.
    fn statefulset(
        &mut self,
        namespace: &str,
        name: &str,
        replicas: u32,
        template: &ContainerTemplate,
        rollout: Option<u32>,
    ) {
        let full = self.full();
        for i in 0..replicas {
            let pod_name = format!("{name}-{i}");
            let node = self.worker_node();
            let recreate = rollout
                .map(|step| step + 2 * i)
                .filter(|k| *k >= 1 && k + 1 < self.n);
            match recreate {
                Some(k) => {
                    let old = Span { start: 0, end: k };
                    self.pod(
                        namespace,
                        pod_name.clone(),
                        node,
                        (OwnerKind::StatefulSet, name),
                        template,
                        false,
                        old,
                        old,
                        None,
                    );
                    let new = Span {
                        start: k + 1,
                        end: self.n,
                    };
                    let new_node = self.worker_node();
                    self.pod(
                        namespace,
                        pod_name,
                        new_node,
                        (OwnerKind::StatefulSet, name),
                        template,
                        false,
                        new,
                        new,
                        None,
                    );
                }
                None => self.pod(
                    namespace,
                    pod_name,
                    node,
                    (OwnerKind::StatefulSet, name),
                    template,
                    false,
                    full,
                    full,
                    None,
                ),
            }
        }
    }

    fn system_workloads(&mut self) {
        let legacy = self.spec.label_style == LabelStyle::Legacy2018;
        let sys = |name: &str, image: &str| (name.to_string(), image.to_string(), Load::System);
        let calico = vec![
            sys("calico-node", "quay.io/calico/node:v3.2.1"),
            sys("install-cni", "quay.io/calico/cni:v3.2.1"),
        ];
        // Forced restart: calico-node on the first node restarts at a third of the range.
        let restart = Some(self.n / 3).filter(|k| *k > 0);
        self.daemonset("kube-system", "calico-node", &calico, restart);
        let proxy_image = if legacy {
            "k8s.gcr.io/kube-proxy-amd64:v1.11.3"
        } else {
            "registry.k8s.io/kube-proxy:v1.28.3"
        };
        self.daemonset(
            "kube-system",
            "kube-proxy",
            &vec![sys("kube-proxy", proxy_image)],
            None,
        );
        let exporter = vec![
            sys("node-exporter", "quay.io/prometheus/node-exporter:v1.6.1"),
            sys("kube-rbac-proxy", "quay.io/brancz/kube-rbac-proxy:v0.15.0"),
        ];
        self.daemonset("monitoring", "node-exporter", &exporter, None);

        // Static pods: no owner, host network, one per control-plane node.
        let full = self.full();
        for node in 0..self.nodes.len() {
            if !self.nodes.get(node).is_some_and(|n| n.control_plane) {
                continue;
            }
            let node_name = self
                .nodes
                .get(node)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            for (component, image) in [
                ("etcd", "k8s.gcr.io/etcd-amd64:3.2.18"),
                ("kube-apiserver", "k8s.gcr.io/kube-apiserver-amd64:v1.11.3"),
                (
                    "kube-controller-manager",
                    "k8s.gcr.io/kube-controller-manager-amd64:v1.11.3",
                ),
                ("kube-scheduler", "k8s.gcr.io/kube-scheduler-amd64:v1.11.3"),
            ] {
                let name = format!("{component}-{node_name}");
                let template = vec![sys(component, image)];
                self.pod(
                    "kube-system",
                    name,
                    node,
                    (OwnerKind::None, "<none>"),
                    &template,
                    true,
                    full,
                    full,
                    None,
                );
            }
        }

        // coredns is always rolled out at the middle of the range.
        let mid = Some(self.n / 2).filter(|k| *k > 0);
        let coredns_image = if legacy {
            "k8s.gcr.io/coredns:1.2.2"
        } else {
            "registry.k8s.io/coredns/coredns:v1.10.1"
        };
        self.deployment(
            "kube-system",
            "coredns",
            2,
            &vec![sys("coredns", coredns_image)],
            mid,
            true,
        );
        self.deployment(
            "kube-system",
            "calico-kube-controllers",
            1,
            &vec![sys(
                "calico-kube-controllers",
                "quay.io/calico/kube-controllers:v3.2.1",
            )],
            None,
            false,
        );
        let ksm_image = if legacy {
            "quay.io/coreos/kube-state-metrics:v1.4.0"
        } else {
            "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.10.0"
        };
        let ksm_replicas = self.spec.ksm_replicas;
        self.deployment(
            "kube-system",
            "kube-state-metrics",
            ksm_replicas,
            &vec![sys("kube-state-metrics", ksm_image)],
            None,
            false,
        );
        let prometheus = vec![
            sys("prometheus", "quay.io/prometheus/prometheus:v2.42.0"),
            sys(
                "config-reloader",
                "quay.io/prometheus-operator/prometheus-config-reloader:v0.68.0",
            ),
        ];
        let prom_replicas = if self.spec.nodes >= 10 { 2 } else { 1 };
        self.statefulset("monitoring", "prometheus", prom_replicas, &prometheus, None);
    }

    fn app_template(&mut self, namespace: &str, main: &str) -> ContainerTemplate {
        let version = format!(
            "v1.{}.{}",
            self.rng.gen_range(0..30),
            self.rng.gen_range(0..10)
        );
        let mut template = vec![(
            main.to_string(),
            format!("registry.example.com/{namespace}/{main}:{version}"),
            Load::App,
        )];
        let extra = self.rng.gen_range(1..=self.spec.max_containers_per_pod) - 1;
        let mut sidecars: Vec<&(&str, &str)> = SIDECARS.iter().collect();
        sidecars.shuffle(&mut self.rng);
        for (name, image) in sidecars.into_iter().take(extra as usize) {
            template.push((name.to_string(), image.to_string(), Load::Sidecar));
        }
        // More containers than named sidecars: numbered helpers.
        for j in SIDECARS.len()..extra as usize {
            template.push((
                format!("helper-{j}"),
                "docker.io/library/busybox:1.36".to_string(),
                Load::Sidecar,
            ));
        }
        template
    }

    fn app_workloads(&mut self) {
        let mut sts_rolled = false;
        let namespaces = match self.spec.shape {
            Shape::Classic => APP_NAMESPACES,
            Shape::Churn => CHURN_NAMESPACES,
        };
        for ns_idx in 0..self.spec.app_namespaces as usize {
            let base = namespaces
                .get(ns_idx % namespaces.len())
                .copied()
                .unwrap_or("app");
            let namespace = if ns_idx < namespaces.len() {
                base.to_string()
            } else {
                format!("{base}-{}", ns_idx / namespaces.len() + 1)
            };
            let mut used = HashSet::new();
            for d in 0..self.spec.deployments_per_namespace as usize {
                let name = loop {
                    let c = COMPONENTS.choose(&mut self.rng).copied().unwrap_or("app");
                    let r = ROLES.choose(&mut self.rng).copied().unwrap_or("api");
                    let candidate = if used.len() >= COMPONENTS.len() * ROLES.len() / 2 {
                        format!("{c}-{r}-{d}")
                    } else {
                        format!("{c}-{r}")
                    };
                    if used.insert(candidate.clone()) {
                        break candidate;
                    }
                };
                let replicas = self
                    .rng
                    .gen_range(self.spec.replicas_min..=self.spec.replicas_max);
                let template = self.app_template(&namespace, &name);
                let rollout = if self.rng.gen_bool(self.spec.rollout_fraction) {
                    Some(self.mid_range_step())
                } else {
                    None
                };
                let history = d % 3 == 0;
                self.deployment(&namespace, &name, replicas, &template, rollout, history);
            }
            for s in 0..self.spec.statefulsets_per_namespace as usize {
                let name = STATEFULSETS
                    .get(s % STATEFULSETS.len())
                    .copied()
                    .unwrap_or("db")
                    .to_string();
                let name = if s < STATEFULSETS.len() {
                    name
                } else {
                    format!("{name}-{}", s / STATEFULSETS.len())
                };
                let replicas = self.rng.gen_range(1..=3);
                let template = self.app_template(&namespace, &name);
                // The first StatefulSet of the cluster is rolled out (pods recreated by name).
                let rollout = if sts_rolled {
                    None
                } else {
                    Some(self.mid_range_step())
                };
                sts_rolled = true;
                self.statefulset(&namespace, &name, replicas, &template, rollout);
            }
            for j in 0..self.spec.jobs_per_namespace as usize {
                let base = JOBS.get(j % JOBS.len()).copied().unwrap_or("job");
                let job = format!("{base}-{}", 28_333_000 + self.rng.gen_range(0..1000));
                let pod_name = self.unique_name(&namespace, &job, 5);
                let template = self.app_template(&namespace, base);
                let start = self.rng.gen_range(0..self.n);
                let run_for = self.rng.gen_range(4..=40);
                let running = Span {
                    start,
                    end: (start + run_for).min(self.n),
                };
                // Completed pods stay (kube-state-metrics keeps reporting them); containers stop.
                let object = Span { start, end: self.n };
                let node = self.worker_node();
                self.pod(
                    &namespace,
                    pod_name,
                    node,
                    (OwnerKind::Job, &job),
                    &template,
                    false,
                    object,
                    running,
                    None,
                );
            }
            if self.spec.shape == Shape::Churn {
                self.cronjob(&namespace, ns_idx);
            }
        }
    }

    /// Churn: one CronJob in the namespace, a Job every [`CRON_EVERY_MS`] named
    /// `<cronjob>-<scheduled minute>`; each run's pod works for a few scrapes, and the finished
    /// Job and pod are deleted two runs later (`successfulJobsHistoryLimit: 2`).
    fn cronjob(&mut self, namespace: &str, ns_idx: usize) {
        let cron = CRONJOBS
            .get(ns_idx % CRONJOBS.len())
            .copied()
            .unwrap_or("cron");
        let template = self.app_template(namespace, cron);
        let every = u32::try_from(CRON_EVERY_MS / self.spec.interval_ms.max(1))
            .unwrap_or(u32::MAX)
            .max(1);
        let offset = self.rng.gen_range(0..every);
        let mut start = offset;
        while start < self.n {
            let scheduled_min = (self.spec.scrape_time(start) / 60_000).max(0);
            let job = format!("{cron}-{scheduled_min}");
            let pod_name = self.unique_name(namespace, &job, 5);
            let run_for = self.rng.gen_range(2..=8);
            let running = Span {
                start,
                end: (start + run_for).min(self.n),
            };
            let object = Span {
                start,
                end: start.saturating_add(2 * every).min(self.n),
            };
            let node = self.worker_node();
            self.pod(
                namespace,
                pod_name,
                node,
                (OwnerKind::Job, &job),
                &template,
                false,
                object,
                running,
                None,
            );
            start = start.saturating_add(every);
        }
    }

    /// Churn over the application Deployments' pods: evictions (the pod ends, a replacement
    /// under a new name starts on another node a scrape later), scale-downs (the pod ends),
    /// adoptions (the pod reports no owner until its ReplicaSet adopts it) and scale-ups (new
    /// pods of a live ReplicaSet from a mid-range scrape on).
    fn churn(&mut self) {
        let n_pods = self.pods.len();
        for idx in 0..n_pods {
            let Some(pod) = self.pods.get(idx) else {
                continue;
            };
            if pod.owner_kind != OwnerKind::ReplicaSet
                || pod.namespace == "kube-system"
                || pod.running.len() < 8
            {
                continue;
            }
            let (namespace, owner, span) =
                (pod.namespace.clone(), pod.owner_name.clone(), pod.running);
            let template: ContainerTemplate = pod
                .containers
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let load = if i == 0 { Load::App } else { Load::Sidecar };
                    (c.name.clone(), c.image.clone(), load)
                })
                .collect();
            let draw: f64 = self.rng.gen_range(0.0..1.0);
            if draw < EVICT_PROBABILITY + SCALE_DOWN_PROBABILITY {
                let end = self.rng.gen_range(span.start + 3..span.end - 2);
                if let Some(pod) = self.pods.get_mut(idx) {
                    pod.running.end = end;
                    pod.object.end = end;
                    for c in &mut pod.containers {
                        c.restart_at = c.restart_at.filter(|k| *k < end);
                    }
                }
                if draw < EVICT_PROBABILITY {
                    let node = self.worker_node();
                    let name = self.unique_name(&namespace, &owner, 5);
                    let replacement = Span {
                        start: end + 1,
                        end: span.end,
                    };
                    self.pod(
                        &namespace,
                        name,
                        node,
                        (OwnerKind::ReplicaSet, &owner),
                        &template,
                        false,
                        replacement,
                        replacement,
                        None,
                    );
                }
            } else if draw < EVICT_PROBABILITY + SCALE_DOWN_PROBABILITY + ADOPT_PROBABILITY {
                let at = self.rng.gen_range(span.start + 2..span.end - 2);
                if let Some(pod) = self.pods.get_mut(idx) {
                    pod.adopted_at = Some(at);
                }
            }
        }
        // Scale-ups: pick live ReplicaSets (existing to the end of the range) of app pods.
        let mut candidates: Vec<(String, String, usize)> = Vec::new();
        let mut seen = HashSet::new();
        for (idx, pod) in self.pods.iter().enumerate().take(n_pods) {
            if pod.owner_kind == OwnerKind::ReplicaSet
                && pod.namespace != "kube-system"
                && pod.running.end == self.n
                && seen.insert(format!("{}/{}", pod.namespace, pod.owner_name))
            {
                candidates.push((pod.namespace.clone(), pod.owner_name.clone(), idx));
            }
        }
        for (namespace, owner, idx) in candidates {
            if !self.rng.gen_bool(SCALE_UP_PROBABILITY) {
                continue;
            }
            let template: ContainerTemplate = self
                .pods
                .get(idx)
                .map(|p| {
                    p.containers
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let load = if i == 0 { Load::App } else { Load::Sidecar };
                            (c.name.clone(), c.image.clone(), load)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let extra = self.rng.gen_range(1..=3);
            let start = self.mid_range_step();
            for _ in 0..extra {
                let node = self.worker_node();
                let name = self.unique_name(&namespace, &owner, 5);
                let span = Span { start, end: self.n };
                self.pod(
                    &namespace,
                    name,
                    node,
                    (OwnerKind::ReplicaSet, &owner),
                    &template,
                    false,
                    span,
                    span,
                    None,
                );
            }
        }
    }

    fn bare_pods(&mut self) {
        let full = self.full();
        for i in 0..self.spec.bare_pods {
            let name = if i == 0 {
                "debug-shell".to_string()
            } else {
                self.unique_name("default", "netshoot", 5)
            };
            let template = vec![(
                if i == 0 {
                    "shell".to_string()
                } else {
                    "netshoot".to_string()
                },
                "docker.io/nicolaka/netshoot:v0.11".to_string(),
                Load::Sidecar,
            )];
            let node = self.worker_node();
            self.pod(
                "default",
                name,
                node,
                (OwnerKind::None, "<none>"),
                &template,
                false,
                full,
                full,
                None,
            );
        }
    }
}
