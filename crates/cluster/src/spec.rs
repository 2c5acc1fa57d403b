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
