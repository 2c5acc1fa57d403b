//! Deterministic synthetic Kubernetes cluster generator (cAdvisor and kube-state-metrics).
//!
//! A [`ClusterSpec`] (seed, sizes, time range, label style) determines a simulated cluster:
//! nodes; DaemonSets on every node (`calico-node`, `kube-proxy`, `node-exporter`); Deployments
//! owning ReplicaSets owning pods, some rolled out mid-range (a new ReplicaSet whose pods replace
//! the old ones: the old pods' series stop, new series start); StatefulSets (one recreates its
//! pods under the same names); Jobs whose pods complete; bare and static pods without owner.
//! It exports, as seed 000 describes them:
//!
//! - cAdvisor `container_cpu_usage_seconds_total` (counter, resets on container restarts) and
//!   `container_memory_working_set_bytes` (gauge) per container, pause container `POD`
//!   included, with `pod_name`/`container_name` ([`LabelStyle::Legacy2018`]) or `pod`/`container`
//!   ([`LabelStyle::Modern`]), plus per-node cgroup series;
//! - kube-state-metrics `kube_pod_owner`, `kube_pod_info` and `kube_replicaset_owner` from every
//!   kube-state-metrics replica (two by default, different `instance`), so `max by`
//!   deduplication matters. Pods without owner get `owner_kind="<none>"`, `owner_name="<none>"`.
//!
//! Outputs stream: [`Cluster::write_openmetrics`] (one timestamped file for `promtool tsdb
//! create-blocks-from openmetrics`), [`Cluster::write_scrape_dir`] (one `<unix_ms>.prom` per
//! scrape), and [`Cluster::for_each_sample`] / [`Cluster::for_each_series`] for in-process
//! ingestion. Equal specs give identical bytes.
//!
//! Presets ([`Size`], legacy labels, seed 1; measured with `gen --stats`; file sizes of the
//! OpenMetrics output; Medium measured with modern labels, Huge extrapolated):
//!
//! | preset   | nodes | pods   | series  | samples    | range      | OpenMetrics |
//! |----------|-------|--------|---------|------------|------------|-------------|
//! | `Tiny`   | 2     | 21     | 224     | 8,312      | 10 m, 15 s | 3.9 MB      |
//! | `Small`  | 3     | 37     | 396     | 78,428     | 1 h, 15 s  | 37.5 MB     |
//! | `Medium` | 20    | 1,087  | 12,246  | 2,534,290  | 1 h, 15 s  | 1.3 GB      |
//! | `Large`  | 100   | 5,727  | 71,450  | 28,922,286 | 2 h, 15 s  | 15.3 GB     |
//! | `Huge`   | 200   | 11,534 | 134,290 | 53,658,724 | 2 h, 15 s  | ~28 GB est. |
//!
//! "pods" counts every pod that exists at some scrape, replaced ones included.
//!
//! A [`Shape`] sets the cluster's character independently of its size:
//! [`ClusterSpec::shaped`]`(size, Shape::Churn)` is a kube-prometheus-style cluster with modern
//! labels, 30 s scrapes, extra target labels, pod-level cgroups, three kube-state-metrics
//! replicas (one lagging at deletions) and pod churn (evictions, scale-downs and -ups,
//! adoptions that change a pod's owner, CronJob runs). `Large` in that shape: 100 nodes, 5,783
//! pods, 90,667 series, 12,289,407 samples over 2 h at 30 s. The classic presets' bytes are
//! pinned by `tests/preset_bytes.rs`.
//!
//! ```
//! use promlite_cluster::{Cluster, ClusterSpec, LabelStyle, Size};
//!
//! let spec = ClusterSpec { label_style: LabelStyle::Modern, ..ClusterSpec::preset(Size::Tiny) };
//! let cluster = Cluster::build(&spec)?;
//! let mut text = Vec::new();
//! let written = cluster.write_openmetrics(&mut text)?;
//! assert_eq!(written, cluster.stats().samples);
//! assert!(text.ends_with(b"# EOF\n"));
//!
//! let mut owners = 0;
//! cluster.for_each_sample(|labels, _t, _v| owners += usize::from(labels.metric_name() == Some("kube_pod_owner")));
//! assert!(owners > 0);
//! # Ok::<(), promlite_cluster::Error>(())
//! ```
#![warn(missing_docs)]

mod error;
pub mod series;
pub mod spec;
pub mod topology;
mod write;

#[cfg(test)]
mod tests;

pub use error::{Error, Result};

/// Version of the generated data: bumped whenever the same [`ClusterSpec`] starts producing
/// different samples, so caches keyed by the spec (the benchmark harness's data directories)
/// are rebuilt. 2: CPU counters in whole nanoseconds, memory in 4 KiB pages.
pub const GENERATOR_VERSION: u32 = 2;
pub use series::{Family, SeriesDef, ValueModel};
pub use spec::{ClusterSpec, LabelStyle, Shape, Size, DEFAULT_START_MS};
pub use topology::{Container, Node, OwnerKind, Pod, ReplicaSet, Span, Topology};

/// A built cluster: its topology and the sorted list of series it exports.
#[derive(Debug, Clone)]
pub struct Cluster {
    spec: ClusterSpec,
    topology: Topology,
    series: Vec<SeriesDef>,
}

/// Counts describing a built cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Nodes.
    pub nodes: usize,
    /// Pods that exist at some scrape (replaced pods and their replacements both count).
    pub pods: usize,
    /// Distinct series.
    pub series: usize,
    /// Samples over the whole range (staleness markers not counted).
    pub samples: u64,
    /// Scrapes in the range.
    pub scrapes: u32,
}

impl Cluster {
    /// Validates `spec` and builds the cluster (topology and series definitions; values are
    /// drawn lazily while writing).
    pub fn build(spec: &ClusterSpec) -> Result<Cluster> {
        spec.validate()?;
        let topology = topology::build(spec);
        let series = series::build(spec, &topology);
        Ok(Cluster {
            spec: spec.clone(),
            topology,
            series,
        })
    }

    /// The spec this cluster was built from.
    pub fn spec(&self) -> &ClusterSpec {
        &self.spec
    }

    /// Nodes, pods and ReplicaSets.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Every series, sorted by labels (hence grouped by family).
    pub fn series(&self) -> &[SeriesDef] {
        &self.series
    }

    /// Node, pod, series and sample counts.
    pub fn stats(&self) -> Stats {
        Stats {
            nodes: self.topology.nodes.len(),
            pods: self.topology.pods.len(),
            series: self.series.len(),
            samples: self.series.iter().map(SeriesDef::n_samples).sum(),
            scrapes: self.spec.n_scrapes(),
        }
    }
}

/// Builds the cluster for `spec` and writes it as one timestamped OpenMetrics text
/// (see [`Cluster::write_openmetrics`]). Returns the counts.
pub fn write_openmetrics(spec: &ClusterSpec, out: impl std::io::Write) -> Result<Stats> {
    let cluster = Cluster::build(spec)?;
    cluster.write_openmetrics(out)?;
    Ok(cluster.stats())
}

/// Builds the cluster for `spec` and writes one scrape file per scrape into `dir`
/// (see [`Cluster::write_scrape_dir`]). Returns the counts.
pub fn write_scrape_dir(spec: &ClusterSpec, dir: &std::path::Path) -> Result<Stats> {
    let cluster = Cluster::build(spec)?;
    cluster.write_scrape_dir(dir)?;
    Ok(cluster.stats())
}

/// Builds the cluster for `spec` and streams every sample in scrape order
/// (see [`Cluster::for_each_sample`]).
pub fn for_each_sample(
    spec: &ClusterSpec,
    f: impl FnMut(&promlite_model::Labels, promlite_model::Timestamp, f64),
) -> Result<()> {
    Cluster::build(spec)?.for_each_sample(f);
    Ok(())
}

/// Builds the cluster for `spec` and streams every series with all its samples
/// (see [`Cluster::for_each_series`]).
pub fn for_each_series(
    spec: &ClusterSpec,
    f: impl FnMut(&SeriesDef, &[promlite_model::Sample]),
) -> Result<()> {
    Cluster::build(spec)?.for_each_series(f);
    Ok(())
}
