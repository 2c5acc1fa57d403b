//! Import of exposition text into a [`Db`] through the serving process (the facade side of
//! `POST /api/v1/import/prometheus`, named after VictoriaMetrics' endpoint): parse a body of
//! Prometheus text (or OpenMetrics) samples, add extra labels, store it atomically, with the
//! body's HELP/TYPE/UNIT lines as metric metadata.
//!
//! **Atomic and durable.** The whole body is parsed and validated first; a parse error or a
//! rejected sample stores nothing. Samples the head accepts are committed as one WAL frame and
//! the WAL is fsynced; samples older than the head accepts are backfilled into new blocks
//! (fsynced and renamed into place). When [`Db::import_text`] returns `Ok`, everything is on
//! disk.

use promlite_expfmt::{Entry, Format, MetadataTracker, Parser};
use promlite_model::{Labels, Timestamp};

use crate::{Db, Error, Result};

/// What [`Db::import_text`] stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Sample lines read.
    pub samples: u64,
    /// Samples committed to the head (and its WAL).
    pub appended: u64,
    /// Samples older than the head accepts, written into new blocks.
    pub backfilled: u64,
    /// Bit-identical repeats of stored samples, ignored.
    pub duplicates: u64,
}

/// Settings of one import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Labels set on every imported series, replacing a label of the same name (like
    /// VictoriaMetrics' `extra_label=name=value`).
    pub extra_labels: Vec<(String, String)>,
    /// Timestamp (ms) of samples written without one.
    pub default_timestamp: Timestamp,
    /// The body is OpenMetrics text (requires `# EOF`) instead of Prometheus text.
    pub open_metrics: bool,
}

impl Db {
    /// Parses `text` and stores its samples (see the module documentation of `import.rs`).
    /// Errors: [`Error::Replay`] with the line and column of the first malformed line;
    /// [`Error::Storage`] for a sample storage rejects (out of order within the head's range,
    /// a conflicting duplicate) or a failed write. On error nothing is stored.
    pub fn import_text(&self, text: &[u8], options: &ImportOptions) -> Result<ImportStats> {
        let format = if options.open_metrics {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        };
        let mut parser = Parser::from_bytes(text, format).map_err(promlite_expfmt::Error::from)?;
        let mut samples: Vec<(Labels, Timestamp, f64)> = Vec::new();
        let mut metadata = MetadataTracker::new();
        while let Some(entry) = parser.next_entry().map_err(promlite_expfmt::Error::from)? {
            let Entry::Sample(sample) = entry else {
                metadata.observe(&entry);
                continue;
            };
            let labels = sample.to_labels().map_err(promlite_expfmt::Error::from)?;
            let labels = with_extra_labels(labels, &options.extra_labels);
            let t = sample.timestamp_ms.unwrap_or(options.default_timestamp);
            samples.push((labels, t, sample.value));
        }
        let storage = self.storage();
        let boundary = storage.backfill_boundary();
        let mut stats = ImportStats {
            samples: samples.len() as u64,
            ..ImportStats::default()
        };
        let mut appender = storage.appender();
        // HELP/TYPE/UNIT go with the head's commit (the same transaction as its samples).
        for (name, family) in metadata.families() {
            appender.set_metadata(name, crate::metadata::to_storage(family));
        }
        let mut backfill = storage.backfiller();
        for (labels, t, v) in &samples {
            if *t < boundary {
                backfill.append(labels, *t, *v)?;
                continue;
            }
            appender.append(labels, *t, *v)?;
        }
        // Validation passed for every sample: store. The backfill goes first, so a failed block
        // write leaves the head untouched.
        let backfilled = backfill.commit()?;
        let committed = appender.commit()?;
        if committed.dropped() > 0 {
            // A compaction or a concurrent writer raced this import between validation and
            // commit; say so rather than acknowledge samples that were not stored.
            return Err(Error::InvalidArgument(format!(
                "{} samples were dropped at commit (a concurrent write or compaction overtook \
                 them); the rest are stored",
                committed.dropped()
            )));
        }
        storage.sync()?;
        stats.appended = committed.appended;
        stats.backfilled = backfilled.samples;
        stats.duplicates = stats
            .samples
            .saturating_sub(stats.appended + stats.backfilled);
        Ok(stats)
    }
}

/// `labels` with every extra label set (an empty value removes the label, as in Prometheus).
fn with_extra_labels(labels: Labels, extra: &[(String, String)]) -> Labels {
    if extra.is_empty() {
        return labels;
    }
    let kept = labels
        .iter()
        .filter(|l| !extra.iter().any(|(name, _)| name == l.name))
        .map(|l| (l.name, l.value));
    let extra = extra
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(n, v)| (n.as_str(), v.as_str()));
    Labels::from_pairs(kept.chain(extra))
}
