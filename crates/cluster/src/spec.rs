//! What cluster to generate: [`ClusterSpec`], its size presets and the label-name style.

use crate::{Error, Result};

/// Which label names cAdvisor uses for the pod and container of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabelStyle {
    /// Kubernetes ≤ 1.15 names, as in seed 000: `pod_name` and `container_name`.
    Legacy2018,
    /// Today's names: `pod` and `container`.
    Modern,
}

impl LabelStyle {
    /// The cAdvisor label holding the pod name.
    pub fn pod_label(self) -> &'static str {
        match self {
            LabelStyle::Legacy2018 => "pod_name",
            LabelStyle::Modern => "pod",
        }
    }

    /// The cAdvisor label holding the container name.
    pub fn container_label(self) -> &'static str {
        match self {
            LabelStyle::Legacy2018 => "container_name",
            LabelStyle::Modern => "container",
        }
    }

    /// Parses `legacy`/`2018` or `modern`.
    pub fn parse(text: &str) -> Option<LabelStyle> {
        match text {
            "legacy" | "legacy2018" | "2018" => Some(LabelStyle::Legacy2018),
            "modern" => Some(LabelStyle::Modern),
            _ => None,
        }
    }
}

/// The character of a generated cluster, independent of its [`Size`]: which label names and
/// target labels its series carry, how often it is scraped, how its pods come and go.
/// [`ClusterSpec::shaped`] combines a shape with a size preset; the shape keeps the size's
/// scale (nodes, roughly the pod count) and changes everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Shape {
    /// The presets as they always were (seed 000's cluster): the label style chosen by the
    /// spec, 15 s scrapes, two kube-state-metrics replicas that agree, the pause container
    /// `POD` as a container, pods replaced only by the occasional rollout. Its output bytes are
    /// frozen (`tests/preset_bytes.rs`).
    #[default]
    Classic,
    /// A kube-prometheus-style cluster the workload-join fast path was not written for: today's
    /// label names (`pod`, `container`), 30 s scrapes, kubelet/cAdvisor and kube-state-metrics
    /// target labels (`endpoint`, `service`, `metrics_path`, `node`, `instance` as
    /// `<ip>:<port>`, no `beta_kubernetes_io_*`), a pod-level cgroup series per pod (no
    /// `container`, no `image`) instead of the pause container, three kube-state-metrics
    /// replicas of which one sees deletions a scrape late, other namespaces and a workload mix
    /// with more StatefulSets, CronJob runs every 10 minutes, and churn: most Deployments roll
    /// out, pods are evicted and replaced under new names, scaled down and up, and a few start
    /// orphaned and are adopted by their ReplicaSet (their owner changes).
    Churn,
}

impl Shape {
    /// Parses `classic` or `churn`.
    pub fn parse(text: &str) -> Option<Shape> {
        match text {
            "classic" => Some(Shape::Classic),
            "churn" => Some(Shape::Churn),
            _ => None,
        }
    }

    /// The name [`Shape::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Classic => "classic",
            Shape::Churn => "churn",
        }
    }
}

/// Named cluster sizes. Series and sample counts are measured in the crate's tests and listed in
/// the crate docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    /// Two nodes, about fifteen pods, ten minutes: unit tests.
    Tiny,
    /// Three nodes, a few dozen pods, one hour: golden answers from Prometheus.
    Small,
    /// Twenty nodes, about a thousand pods, one hour.
    Medium,
    /// The benchmark acceptance size: about 5,800 pods, 71k series, 30M samples over 2 h at 15 s.
    Large,
    /// About 12,000 pods over 2 h: the "10k+ pods" stress size.
    Huge,
}

impl Size {
    /// Every preset, smallest first.
    pub const ALL: [Size; 5] = [
        Size::Tiny,
        Size::Small,
        Size::Medium,
        Size::Large,
        Size::Huge,
    ];

    /// Parses a preset name (`tiny`, `small`, `medium`, `large`, `huge`).
    pub fn parse(text: &str) -> Option<Size> {
        match text {
            "tiny" => Some(Size::Tiny),
            "small" => Some(Size::Small),
            "medium" => Some(Size::Medium),
            "large" => Some(Size::Large),
            "huge" => Some(Size::Huge),
            _ => None,
        }
    }
}

/// 2023-11-14T22:13:20Z. Deliberately not a multiple of 15 s or 60 s, so that the scrape grid is
/// off every absolute step grid (subquery steps, aligned range-query steps): no evaluation on an
/// aligned grid ever lands exactly on a sample or on a range's left edge.
pub const DEFAULT_START_MS: i64 = 1_700_000_000_000;

/// Everything that determines a generated cluster. Two equal specs produce identical bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    /// Seed of every random choice (ChaCha8).
    pub seed: u64,
    /// Number of nodes (at least one).
    pub nodes: u32,
    /// How many of the nodes are control-plane nodes running the static pods (etcd, apiserver,
    /// controller-manager, scheduler). Clamped to `nodes`.
    pub control_plane_nodes: u32,
    /// Application namespaces besides `kube-system`, `monitoring` and `default`.
    pub app_namespaces: u32,
    /// Deployments per application namespace.
    pub deployments_per_namespace: u32,
    /// Smallest replica count of an application Deployment.
    pub replicas_min: u32,
    /// Largest replica count of an application Deployment.
    pub replicas_max: u32,
    /// StatefulSets per application namespace.
    pub statefulsets_per_namespace: u32,
    /// Jobs per application namespace (each runs one pod for a while, then completes).
    pub jobs_per_namespace: u32,
    /// Bare pods (no owner) in the `default` namespace.
    pub bare_pods: u32,
    /// Largest number of application containers in one pod (each pod also has the pause
    /// container `POD`).
    pub max_containers_per_pod: u32,
    /// Fraction of application Deployments rolled out mid-range (new ReplicaSet, pods replaced).
    /// The `coredns` Deployment is always rolled out at the middle of the range.
    pub rollout_fraction: f64,
    /// Probability that an application container restarts (counter reset) during the range.
    pub restart_probability: f64,
    /// Number of kube-state-metrics replicas; each exports every KSM series with its own
    /// `instance` label, so `max by` deduplication matters.
    pub ksm_replicas: u32,
    /// First scrape, milliseconds since the epoch.
    pub start_ms: i64,
    /// Length of the range; scrapes happen at `start_ms + k * interval_ms` for
    /// `0 <= k < duration_ms / interval_ms`.
    pub duration_ms: i64,
    /// Scrape interval in milliseconds.
    pub interval_ms: i64,
    /// The cAdvisor pod/container label names.
    pub label_style: LabelStyle,
    /// When true, the in-process streams ([`crate::for_each_sample`], [`crate::for_each_series`])
    /// emit a staleness marker at the first scrape after a series disappears, as a scraping
    /// Prometheus would. Text outputs never carry markers (OpenMetrics cannot express them and
    /// `promtool` backfills without them), so leave this off to match a backfilled Prometheus.
    pub stale_markers: bool,
    /// The cluster's character (target labels, churn, cgroups); [`Shape::Classic`] for the
    /// presets. Set it through [`ClusterSpec::shaped`], which also sets the fields the shape
    /// implies (label style, interval, replicas, counts).
    pub shape: Shape,
}

impl ClusterSpec {
    /// A preset size with the legacy label style, seed 1 and [`DEFAULT_START_MS`].
    pub fn preset(size: Size) -> ClusterSpec {
        let base = ClusterSpec {
            seed: 1,
            nodes: 2,
            control_plane_nodes: 1,
            app_namespaces: 1,
            deployments_per_namespace: 1,
            replicas_min: 1,
            replicas_max: 2,
            statefulsets_per_namespace: 0,
            jobs_per_namespace: 0,
            bare_pods: 1,
            max_containers_per_pod: 2,
            rollout_fraction: 0.0,
            restart_probability: 0.0,
            ksm_replicas: 2,
            start_ms: DEFAULT_START_MS,
            duration_ms: 10 * 60_000,
            interval_ms: 15_000,
            label_style: LabelStyle::Legacy2018,
            stale_markers: false,
            shape: Shape::Classic,
        };
        match size {
            Size::Tiny => base,
            Size::Small => ClusterSpec {
                nodes: 3,
                app_namespaces: 2,
                deployments_per_namespace: 2,
                replicas_max: 3,
                statefulsets_per_namespace: 1,
                jobs_per_namespace: 1,
                max_containers_per_pod: 3,
                rollout_fraction: 0.5,
                restart_probability: 0.1,
                duration_ms: 3_600_000,
                ..base
            },
            Size::Medium => ClusterSpec {
                nodes: 20,
                control_plane_nodes: 3,
                app_namespaces: 12,
                deployments_per_namespace: 12,
                replicas_min: 1,
                replicas_max: 9,
                statefulsets_per_namespace: 2,
                jobs_per_namespace: 2,
                bare_pods: 3,
                max_containers_per_pod: 4,
                rollout_fraction: 0.2,
                restart_probability: 0.05,
                duration_ms: 3_600_000,
                ..base
            },
            Size::Large => ClusterSpec {
                nodes: 100,
                control_plane_nodes: 3,
                app_namespaces: 39,
                deployments_per_namespace: 20,
                replicas_min: 1,
                replicas_max: 10,
                statefulsets_per_namespace: 2,
                jobs_per_namespace: 3,
                bare_pods: 10,
                max_containers_per_pod: 5,
                rollout_fraction: 0.2,
                restart_probability: 0.05,
                duration_ms: 7_200_000,
                ..base
            },
            Size::Huge => ClusterSpec {
                nodes: 200,
                control_plane_nodes: 5,
                app_namespaces: 80,
                deployments_per_namespace: 19,
                replicas_min: 1,
                replicas_max: 10,
                statefulsets_per_namespace: 2,
                jobs_per_namespace: 3,
                bare_pods: 20,
                max_containers_per_pod: 4,
                rollout_fraction: 0.2,
                restart_probability: 0.05,
                duration_ms: 7_200_000,
                ..base
            },
        }
    }

    /// A size preset in the given shape. [`Shape::Classic`] is [`ClusterSpec::preset`]. For
    /// [`Shape::Churn`] the preset's node count and time range stay; the label style becomes
    /// [`LabelStyle::Modern`], scrapes every 30 s, three kube-state-metrics replicas, and the
    /// namespace and workload counts change (fewer namespaces holding more Deployments and
    /// StatefulSets, up to six containers per pod) so that, churn included, the pod count stays
    /// near the preset's (about 5,000 for [`Size::Large`]).
    pub fn shaped(size: Size, shape: Shape) -> ClusterSpec {
        let preset = ClusterSpec::preset(size);
        match shape {
            Shape::Classic => preset,
            Shape::Churn => ClusterSpec {
                app_namespaces: (preset.app_namespaces * 2).div_ceil(3),
                deployments_per_namespace: preset.deployments_per_namespace + 2,
                replicas_min: 1,
                replicas_max: preset.replicas_max.min(8),
                statefulsets_per_namespace: preset.statefulsets_per_namespace + 1,
                jobs_per_namespace: preset.jobs_per_namespace.min(1),
                max_containers_per_pod: 6,
                rollout_fraction: if preset.rollout_fraction > 0.0 {
                    0.6
                } else {
                    0.0
                },
                restart_probability: preset.restart_probability * 2.0,
                ksm_replicas: 3,
                interval_ms: 30_000,
                label_style: LabelStyle::Modern,
                shape: Shape::Churn,
                ..preset
            },
        }
    }

    /// Number of scrapes in the range.
    pub fn n_scrapes(&self) -> u32 {
        u32::try_from(self.duration_ms.checked_div(self.interval_ms).unwrap_or(0))
            .unwrap_or(u32::MAX)
    }

    /// Timestamp of scrape `k` (ms).
    pub fn scrape_time(&self, k: u32) -> i64 {
        self.start_ms
            .saturating_add(i64::from(k).saturating_mul(self.interval_ms))
    }

    /// Checks the spec describes a cluster this generator can build.
    pub fn validate(&self) -> Result<()> {
        let fail = |msg: &str| Err(Error::InvalidSpec(msg.to_string()));
        if self.nodes == 0 {
            return fail("nodes must be at least 1");
        }
        if self.nodes > 5_000 {
            return fail(
                "nodes must be at most 5000 (node and pod IPs are derived from the node index)",
            );
        }
        if self.interval_ms <= 0 {
            return fail("interval_ms must be positive");
        }
        if self.start_ms < 0 {
            return fail("start_ms must not be negative");
        }
        if self.duration_ms < self.interval_ms {
            return fail("duration_ms must cover at least one scrape interval");
        }
        if self.n_scrapes() >= 10_000_000 {
            return fail("too many scrapes (duration_ms / interval_ms must be below 10 million)");
        }
        if self.replicas_min == 0 || self.replicas_min > self.replicas_max {
            return fail("need 1 <= replicas_min <= replicas_max");
        }
        if self.replicas_max > 1000 {
            return fail("replicas_max must be at most 1000");
        }
        if self.shape == Shape::Churn && self.label_style != LabelStyle::Modern {
            return fail("the churn shape uses modern label names (pod, container)");
        }
        if self.ksm_replicas == 0 {
            return fail("ksm_replicas must be at least 1");
        }
        if self.max_containers_per_pod == 0 || self.max_containers_per_pod > 50 {
            return fail("max_containers_per_pod must be in 1..=50");
        }
        if !(0.0..=1.0).contains(&self.rollout_fraction)
            || !(0.0..=1.0).contains(&self.restart_probability)
        {
            return fail("rollout_fraction and restart_probability must be in [0, 1]");
        }
        let per_ns = u64::from(self.deployments_per_namespace) * u64::from(self.replicas_max)
            + u64::from(self.statefulsets_per_namespace) * 3
            + u64::from(self.jobs_per_namespace);
        if u64::from(self.app_namespaces) * per_ns > 5_000_000 {
            return fail("cluster too large (more than 5 million pods)");
        }
        Ok(())
    }
}
