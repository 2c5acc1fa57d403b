//! Replay of exposition files and scrape directories into a [`Db`].
//!
//! Two paths give the same stored samples:
//!
//! * **Bulk** (a single timestamped file replayed with [`ReplayOptions::flush`], into a
//!   database whose head holds no samples: what `promlite replay FILE` does): the samples go
//!   straight into level-1 blocks through [`promlite_storage::BulkWriter`], without the head
//!   and the WAL, in any order and over any time span (per series and aligned block range
//!   they must be in time order, as the head and `promtool tsdb create-blocks-from` require).
//!   Memory is bounded by the writer's budget
//!   ([`promlite_storage::BulkWriter::DEFAULT_BUDGET_BYTES`]) plus the reader's series cache.
//! * **Head** (directories of scrapes, replays without a flush, or a head that already holds
//!   samples): the expfmt replayer feeds a storage appender (WAL, head), samples older than the
//!   head accepts are backfilled into blocks, and a flush at the end makes everything durable
//!   in block form.
//!
//! Both keep the prefix before a bad line (strict mode commits it durably, then fails with the
//! positioned error), count lenient skips and storage refusals the same way, and store the
//! metric metadata of the HELP/TYPE/UNIT lines.

use std::cell::Cell;
use std::path::Path;

use promlite_expfmt::replay::{ReplaySeries, SampleSink};
pub use promlite_expfmt::replay::{
    ReplayStats as InputStats, ReplayTarget, ScrapeTimes, SkippedLine, TARGET_FILE_NAME,
};
use promlite_expfmt::FamilyMetadata;
use promlite_model::Timestamp;
use promlite_storage::SeriesRef;

use crate::{Db, Result};

/// Parse threads of the bulk path at most (beside the thread feeding the writer).
const MAX_PARSE_WORKERS: usize = 4;

/// What to replay.
#[derive(Debug, Clone, Copy)]
pub enum ReplaySource<'a> {
    /// One file whose samples all carry timestamps (OpenMetrics or Prometheus text).
    File(&'a Path),
    /// A directory with one scrape per file; staleness markers are added for series that
    /// disappear, as a scraper would.
    Dir(&'a Path, ScrapeTimes),
}

/// Progress of a running replay, passed to [`ReplayOptions::progress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayProgress {
    /// Input bytes read so far.
    pub bytes: u64,
    /// Samples (including staleness markers) appended so far.
    pub samples: u64,
}

/// Replay settings.
pub struct ReplayOptions<'p> {
    /// Skip malformed lines (and samples storage rejects as out of order) instead of stopping.
    pub lenient: bool,
    /// Compact everything into blocks when done (see [`Db::flush`]). Turn off to replay several
    /// inputs and flush once at the end (older inputs replayed after a flush are backfilled
    /// into blocks of their own, then merged by compaction).
    pub flush: bool,
    /// Called as input is read.
    pub progress: Option<Box<dyn FnMut(ReplayProgress) + 'p>>,
    /// Attribute the samples to a scrape target: its labels on every series (`honor_labels`
    /// rules) and, for directories, the synthetic `up`/`scrape_*` series.
    pub target: Option<ReplayTarget>,
}

impl Default for ReplayOptions<'_> {
    fn default() -> Self {
        ReplayOptions {
            lenient: false,
            flush: true,
            progress: None,
            target: None,
        }
    }
}

impl std::fmt::Debug for ReplayOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayOptions")
            .field("lenient", &self.lenient)
            .field("flush", &self.flush)
            .field("progress", &self.progress.is_some())
            .field("target", &self.target)
            .finish()
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// The reader's counts: files, lines, bytes, samples, staleness markers, series,
    /// duplicates, skipped lines.
    pub input: InputStats,
    /// Samples storage refused (out of order, conflicting duplicate, older than the stored
    /// blocks), skipped in lenient mode; not counted as stored.
    pub rejected_samples: u64,
    /// `rejected_samples` by reason: `out of order`, `duplicate timestamp with another value`,
    /// `out of bounds`.
    pub rejected_by_reason: std::collections::BTreeMap<String, u64>,
    /// Staleness markers storage refused (counted apart from `rejected_samples`, as the
    /// reader counts markers apart from samples).
    pub rejected_stale_markers: u64,
    /// Blocks written by the final flush.
    pub blocks_written: usize,
    /// Samples older than the head accepts (an older range replayed after a newer one) that
    /// were written into new blocks instead (see `promlite_storage::backfill`).
    pub backfilled_samples: u64,
}

/// Feeds replayed samples into a storage appender, caching each series' ref by the replay's
/// dense series id so the hot path does no label hashing.
struct DbSink<'c> {
    appender: promlite_storage::Appender,
    backfill: promlite_storage::Backfiller,
    storage: &'c promlite_storage::Db,
    refs: Vec<Option<SeriesRef>>,
    lenient: bool,
    refusals: Refusals,
    appended: &'c Cell<u64>,
}

impl DbSink<'_> {
    fn append_inner(
        &mut self,
        series: &ReplaySeries,
        t: Timestamp,
        v: f64,
    ) -> promlite_storage::Result<()> {
        let idx = usize::try_from(series.id).unwrap_or(usize::MAX);
        if let Some(Some(series_ref)) = self.refs.get(idx) {
            match self.appender.append_ref(*series_ref, t, v) {
                // Garbage-collected after a compaction: append by labels again below.
                Err(promlite_storage::Error::UnknownSeriesRef(_)) => {}
                other => return other,
            }
        }
        let series_ref = self.appender.append(&series.labels, t, v)?;
        if self.refs.len() <= idx && idx < usize::MAX {
            self.refs.resize(idx + 1, None);
        }
        if let Some(slot) = self.refs.get_mut(idx) {
            *slot = Some(series_ref);
        }
        Ok(())
    }
}

impl SampleSink for DbSink<'_> {
    type Error = promlite_storage::Error;

    fn append(&mut self, series: &ReplaySeries, t: Timestamp, v: f64) -> Result<(), Self::Error> {
        let outcome = match self.append_inner(series, t, v) {
            // Older than anything the head holds or accepts: backfill it into a new block.
            Err(
                promlite_storage::Error::OutOfOrder { .. }
                | promlite_storage::Error::OutOfBounds { .. },
            ) if t < self.storage.backfill_boundary() => self.backfill.append(&series.labels, t, v),
            other => other,
        };
        match outcome {
            Ok(()) => {
                self.appended.set(self.appended.get() + 1);
                Ok(())
            }
            Err(err) => self.refusals.absorb(self.lenient, v, err),
        }
    }

    fn commit(&mut self) -> Result<(), Self::Error> {
        self.appender.commit().map(|_| ())
    }

    fn metadata(&mut self, name: &str, metadata: &FamilyMetadata) -> Result<(), Self::Error> {
        self.appender
            .set_metadata(name, crate::metadata::to_storage(metadata));
        Ok(())
    }
}

/// How a sink counts what storage refused in lenient mode.
#[derive(Default)]
struct Refusals {
    rejected: u64,
    rejected_by_reason: std::collections::BTreeMap<String, u64>,
    rejected_stale_markers: u64,
}

impl Refusals {
    /// Counts a refusal that lenient mode skips; other errors are returned.
    fn absorb(
        &mut self,
        lenient: bool,
        v: f64,
        err: promlite_storage::Error,
    ) -> Result<(), promlite_storage::Error> {
        let reason = match err {
            promlite_storage::Error::OutOfOrder { .. } if lenient => "out of order",
            promlite_storage::Error::DuplicateTimestamp { .. } if lenient => {
                "duplicate timestamp with another value"
            }
            promlite_storage::Error::OutOfBounds { .. } if lenient => "out of bounds",
            other => return Err(other),
        };
        if promlite_model::is_stale_nan(v) {
            self.rejected_stale_markers += 1;
            return Ok(());
        }
        *self
            .rejected_by_reason
            .entry(reason.to_string())
            .or_insert(0) += 1;
        self.rejected += 1;
        Ok(())
    }
}

/// Feeds replayed samples into a [`promlite_storage::BulkWriter`] (the bulk path).
struct BulkSink<'c> {
    writer: promlite_storage::BulkWriter,
    lenient: bool,
    refusals: Refusals,
    appended: &'c Cell<u64>,
}

impl SampleSink for BulkSink<'_> {
    type Error = promlite_storage::Error;

    fn append(&mut self, series: &ReplaySeries, t: Timestamp, v: f64) -> Result<(), Self::Error> {
        match self.writer.append(series.id, &series.labels, t, v) {
            Ok(()) => {
                self.appended.set(self.appended.get() + 1);
                Ok(())
            }
            Err(err) => self.refusals.absorb(self.lenient, v, err),
        }
    }

    /// Nothing to do per batch: the blocks are written (and made durable) when the replay
    /// ends, including when it ends with an error, so the prefix before a bad line is kept.
    fn commit(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    fn metadata(&mut self, name: &str, metadata: &FamilyMetadata) -> Result<(), Self::Error> {
        self.writer
            .set_metadata(name, crate::metadata::to_storage(metadata));
        Ok(())
    }
}

impl Db {
    /// Replays one timestamped exposition file (OpenMetrics or Prometheus text; every sample
    /// must carry a timestamp), then compacts everything into blocks: when this returns `Ok`
    /// the data is durable in the data directory.
    pub fn replay_file(&self, path: impl AsRef<Path>) -> Result<ReplayStats> {
        self.replay(ReplaySource::File(path.as_ref()), ReplayOptions::default())
    }

    /// Replays a directory of scrape files (see [`ScrapeTimes`] for where scrape times come
    /// from), then compacts everything into blocks.
    pub fn replay_dir(&self, path: impl AsRef<Path>, times: ScrapeTimes) -> Result<ReplayStats> {
        self.replay(
            ReplaySource::Dir(path.as_ref(), times),
            ReplayOptions::default(),
        )
    }

    /// Replays `source` with `options` (lenient parsing, progress reporting, flushing). A
    /// single file replayed with `flush` into a database whose head holds no samples takes the
    /// bulk path (see the module docs); everything else goes through the head.
    pub fn replay(
        &self,
        source: ReplaySource<'_>,
        mut options: ReplayOptions<'_>,
    ) -> Result<ReplayStats> {
        let appended = Cell::new(0u64);
        let storage = self.storage();
        let mut user_progress = options.progress.take();
        let mut reader_options = promlite_expfmt::replay::ReplayOptions {
            lenient: options.lenient,
            progress: user_progress.as_mut().map(|report| {
                let appended = &appended;
                Box::new(move |bytes: u64| {
                    report(ReplayProgress {
                        bytes,
                        samples: appended.get(),
                    })
                }) as Box<dyn FnMut(u64) + '_>
            }),
            target: options.target.take(),
            ..promlite_expfmt::replay::ReplayOptions::default()
        };
        if let ReplaySource::File(path) = source {
            if options.flush && self.bulk_applies() {
                // Two parse workers beside this thread, which feeds the bulk writer.
                reader_options.workers = std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .clamp(1, MAX_PARSE_WORKERS);
                let sink = BulkSink {
                    writer: storage.bulk_writer()?,
                    lenient: options.lenient,
                    refusals: Refusals::default(),
                    appended: &appended,
                };
                return replay_file_bulk(path, &mut reader_options, sink);
            }
        }
        let mut sink = DbSink {
            appender: self.appender_raw(),
            backfill: storage.backfiller(),
            storage,
            refs: Vec::new(),
            lenient: options.lenient,
            refusals: Refusals::default(),
            appended: &appended,
        };
        let input = match source {
            ReplaySource::File(path) => {
                promlite_expfmt::replay::replay_file(path, &mut reader_options, &mut sink)?
            }
            ReplaySource::Dir(path, times) => {
                promlite_expfmt::replay::replay_dir(path, times, &mut reader_options, &mut sink)?
            }
        };
        drop(reader_options);
        let refusals = std::mem::take(&mut sink.refusals);
        sink.appender.commit()?;
        let backfilled = sink.backfill.commit()?;
        drop(sink);
        let blocks_written = if options.flush { self.flush()? } else { 0 };
        Ok(ReplayStats {
            input,
            rejected_samples: refusals.rejected,
            rejected_by_reason: refusals.rejected_by_reason,
            rejected_stale_markers: refusals.rejected_stale_markers,
            blocks_written,
            backfilled_samples: backfilled.samples,
        })
    }

    /// True if a replay that ends in a flush may write blocks directly: a writable database
    /// with a data directory whose head holds no samples (so no head sample can fall inside
    /// the blocks' span; see `promlite_storage::bulk`).
    fn bulk_applies(&self) -> bool {
        let storage = self.storage();
        if self.is_read_only() || storage.dir().is_none() {
            return false;
        }
        let (min_t, max_t) = storage.head().read().time_range();
        min_t > max_t
    }
}

/// The bulk path of [`Db::replay`]: on an input error the blocks holding everything before it
/// are still written and made durable, then the error is returned.
fn replay_file_bulk(
    path: &Path,
    reader_options: &mut promlite_expfmt::replay::ReplayOptions<'_>,
    mut sink: BulkSink<'_>,
) -> Result<ReplayStats> {
    let input = promlite_expfmt::replay::replay_file_parallel(path, reader_options, &mut sink);
    let BulkSink {
        writer, refusals, ..
    } = sink;
    let written = writer.finish()?;
    let input = input?;
    Ok(ReplayStats {
        input,
        rejected_samples: refusals.rejected,
        rejected_by_reason: refusals.rejected_by_reason,
        rejected_stale_markers: refusals.rejected_stale_markers,
        blocks_written: written.blocks,
        backfilled_samples: 0,
    })
}
