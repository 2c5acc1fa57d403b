//! The benchmark data: a generated cluster written once as OpenMetrics into a work directory
//! keyed by its spec, and reused by later runs (generation and ingest take minutes at the
//! acceptance size).
//!
//! Layout of `<work_dir>/<size>-<style>-<spec hash>/` (`<size>-<shape>-<style>-<spec hash>/` for
//! a shape other than classic): `data.om` (the OpenMetrics text),
//! `dataset.json` (written last: its presence means `data.om` is complete), and one directory
//! per engine (`prometheus/`, `victoria-metrics/`, `promlite/`) with that engine's ingested copy.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use promlite_cluster::{Cluster, ClusterSpec, LabelStyle, Shape, Size};
use serde::{Deserialize, Serialize};

use crate::error::{io_err, Error, Result};

/// Counts describing the generated data (saved next to it so reuse need not rebuild).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetStats {
    /// Nodes.
    pub nodes: usize,
    /// Pods existing at some scrape.
    pub pods: usize,
    /// Distinct series.
    pub series: usize,
    /// Samples.
    pub samples: u64,
    /// Bytes of OpenMetrics text.
    pub bytes: u64,
    /// The spec, as text, for the record.
    pub spec: String,
}

/// A prepared data set.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Its directory.
    pub dir: PathBuf,
    /// The OpenMetrics file.
    pub openmetrics: PathBuf,
    /// The spec it was generated from.
    pub spec: ClusterSpec,
    /// Its counts.
    pub stats: DatasetStats,
    /// Time spent generating it now (zero when reused).
    pub generate_time: Duration,
}

impl Dataset {
    /// The directory for one engine's ingested copy.
    pub fn engine_dir(&self, engine: &str) -> PathBuf {
        self.dir.join(engine)
    }
}

/// The spec for a preset name and label style (`legacy`/`modern`) in the classic shape.
pub fn spec_for(size: &str, style: &str, seed: Option<u64>) -> Result<ClusterSpec> {
    shaped_spec_for(size, "classic", style, seed)
}

/// The spec for a preset name in a shape (`classic`/`churn`, see `promlite_cluster::Shape`)
/// and label style (`legacy`/`modern`; the churn shape takes `modern` only).
pub fn shaped_spec_for(
    size: &str,
    shape: &str,
    style: &str,
    seed: Option<u64>,
) -> Result<ClusterSpec> {
    let shape = Shape::parse(shape).ok_or_else(|| {
        Error::Options(format!(
            "unknown shape {shape:?} (expected classic or churn)"
        ))
    })?;
    let preset = Size::parse(size).ok_or_else(|| {
        Error::Options(format!(
            "unknown size {size:?} (expected tiny, small, medium, large or huge)"
        ))
    })?;
    let label_style = match style {
        "legacy" => LabelStyle::Legacy2018,
        "modern" => LabelStyle::Modern,
        other => {
            return Err(Error::Options(format!(
                "unknown label style {other:?} (expected legacy or modern)"
            )))
        }
    };
    if shape == Shape::Churn && label_style != LabelStyle::Modern {
        return Err(Error::Options(
            "the churn shape uses modern label names (style modern)".into(),
        ));
    }
    let mut spec = ClusterSpec {
        label_style,
        ..ClusterSpec::shaped(preset, shape)
    };
    if let Some(seed) = seed {
        spec.seed = seed;
    }
    Ok(spec)
}

/// The directory name for a spec: readable prefix plus a hash of every field and of the
/// generator's version, so changing any field (or the generator's defaults or value model)
/// gets a fresh directory.
pub fn dir_name(size: &str, style: &str, spec: &ClusterSpec) -> String {
    let shape = match spec.shape {
        Shape::Classic => String::new(),
        other => format!("{}-", other.as_str()),
    };
    format!(
        "{size}-{shape}{style}-{:016x}",
        fnv1a(format!("{spec:?} v{}", promlite_cluster::GENERATOR_VERSION).as_bytes())
    )
}

/// 64-bit FNV-1a: stable across runs and platforms (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Generates the data set under `work_dir` unless a complete one for the same spec is there.
pub fn prepare(work_dir: &Path, size: &str, style: &str, spec: &ClusterSpec) -> Result<Dataset> {
    let dir = work_dir.join(dir_name(size, style, spec));
    let openmetrics = dir.join("data.om");
    let stats_path = dir.join("dataset.json");
    if let Ok(text) = std::fs::read_to_string(&stats_path) {
        if let Ok(stats) = serde_json::from_str::<DatasetStats>(&text) {
            if openmetrics.is_file() {
                return Ok(Dataset {
                    dir,
                    openmetrics,
                    spec: spec.clone(),
                    stats,
                    generate_time: Duration::ZERO,
                });
            }
        }
    }
    // Anything here is from an interrupted run: start over.
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
    }
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let started = Instant::now();
    let cluster = Cluster::build(spec).map_err(|e| Error::Cluster(e.to_string()))?;
    let file = File::create(&openmetrics).map_err(io_err(&openmetrics))?;
    cluster
        .write_openmetrics(BufWriter::with_capacity(1 << 20, file))
        .map_err(|e| Error::Cluster(e.to_string()))?;
    let generate_time = started.elapsed();
    let counts = cluster.stats();
    let bytes = std::fs::metadata(&openmetrics)
        .map_err(io_err(&openmetrics))?
        .len();
    let stats = DatasetStats {
        nodes: counts.nodes,
        pods: counts.pods,
        series: counts.series,
        samples: counts.samples,
        bytes,
        spec: format!("{spec:?}"),
    };
    let json = serde_json::to_string_pretty(&stats).map_err(|e| Error::Cluster(e.to_string()))?;
    std::fs::write(&stats_path, json).map_err(io_err(&stats_path))?;
    Ok(Dataset {
        dir,
        openmetrics,
        spec: spec.clone(),
        stats,
        generate_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names_follow_every_spec_field() {
        let a = spec_for("tiny", "legacy", None).unwrap();
        let b = spec_for("tiny", "legacy", Some(2)).unwrap();
        assert_ne!(
            dir_name("tiny", "legacy", &a),
            dir_name("tiny", "legacy", &b)
        );
        assert_eq!(
            dir_name("tiny", "legacy", &a),
            dir_name("tiny", "legacy", &a.clone())
        );
        assert!(dir_name("tiny", "legacy", &a).starts_with("tiny-legacy-"));
    }

    #[test]
    fn unknown_sizes_and_styles_are_option_errors() {
        assert!(matches!(
            spec_for("gigantic", "legacy", None),
            Err(Error::Options(_))
        ));
        assert!(matches!(
            spec_for("tiny", "2018", None),
            Err(Error::Options(_))
        ));
        assert_eq!(
            spec_for("tiny", "modern", None).unwrap().label_style,
            LabelStyle::Modern
        );
        assert!(matches!(
            shaped_spec_for("tiny", "churn", "legacy", None),
            Err(Error::Options(_))
        ));
        assert!(matches!(
            shaped_spec_for("tiny", "round", "modern", None),
            Err(Error::Options(_))
        ));
        let churn = shaped_spec_for("large", "churn", "modern", Some(3)).unwrap();
        assert_eq!(
            (churn.shape, churn.seed, churn.interval_ms),
            (Shape::Churn, 3, 30_000)
        );
        assert!(dir_name("large", "modern", &churn).starts_with("large-churn-modern-"));
    }

    #[test]
    fn prepared_data_is_reused() {
        let work = tempfile::tempdir().unwrap();
        let spec = spec_for("tiny", "legacy", None).unwrap();
        let first = prepare(work.path(), "tiny", "legacy", &spec).unwrap();
        assert!(first.stats.samples > 0 && first.stats.bytes > 0);
        let text = std::fs::read_to_string(&first.openmetrics).unwrap();
        let sample_lines = text.lines().filter(|l| !l.starts_with('#')).count() as u64;
        assert_eq!(sample_lines, first.stats.samples);
        // Mark the file so a regeneration would be noticed.
        std::fs::write(&first.openmetrics, "reused").unwrap();
        let second = prepare(work.path(), "tiny", "legacy", &spec).unwrap();
        assert_eq!(second.stats, first.stats);
        assert_eq!(second.generate_time, Duration::ZERO);
        assert_eq!(
            std::fs::read_to_string(&second.openmetrics).unwrap(),
            "reused"
        );
    }

    #[test]
    fn an_incomplete_dataset_is_regenerated() {
        let work = tempfile::tempdir().unwrap();
        let spec = spec_for("tiny", "legacy", None).unwrap();
        let dir = work.path().join(dir_name("tiny", "legacy", &spec));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("data.om"), "partial").unwrap();
        let ds = prepare(work.path(), "tiny", "legacy", &spec).unwrap();
        assert_ne!(std::fs::read_to_string(&ds.openmetrics).unwrap(), "partial");
    }
}
