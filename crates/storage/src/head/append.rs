//! Appending to the head: the [`Appender`] (buffered, validated samples; one WAL frame and one
//! apply pass per commit) and the apply step shared by commits and WAL replay.
//!
//! **Ordering rule.** Out-of-order samples are not supported, as in Prometheus without an
//! out-of-order window: a sample must be newer than its series' newest sample. A sample at the
//! newest timestamp with bit-identical value is an ignored duplicate; with a different value it
//! is an error. Samples older than the head's lower bound (the end of the newest compacted block)
//! are out of bounds. Staleness markers are ordinary values here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use promlite_model::{Labels, Timestamp};

use super::HeadData;
use crate::db::Shared;
use crate::reader::SeriesRef;
use crate::wal::record::WalSample;
use crate::{Error, Result};

/// Samples applied per head write-lock acquisition, so readers wait for at most one slice of a
/// long commit.
const APPLY_SLICE: usize = 8192;

/// A hasher for series refs: one multiplication (Fibonacci hashing). Refs are small dense
/// integers, for which SipHash's flooding resistance buys nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct RefHasher(u64);

impl Hasher for RefHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.0 = (u64::from(i) ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A hash map keyed by series ref.
pub type RefHashMap<V> = HashMap<SeriesRef, V, BuildHasherDefault<RefHasher>>;

/// What a commit (or a replayed WAL frame) did with its samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Samples stored.
    pub appended: u64,
    /// Exact duplicates of a series' newest sample, ignored.
    pub duplicates: u64,
    /// Samples that became out of order because another appender committed newer samples for
    /// the same series first (or, in replay, out-of-order samples in the log). Dropped.
    pub out_of_order: u64,
    /// Samples at an existing timestamp with a different value (concurrent appenders). Dropped.
    pub conflicting: u64,
    /// Samples older than the head's lower bound: a compaction raised the bound between their
    /// append and the commit (the range they fall in was persisted meanwhile). Dropped.
    pub out_of_bounds: u64,
    /// Samples whose series is unknown. Dropped.
    pub unknown_series: u64,
}

impl ApplyStats {
    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &ApplyStats) {
        self.appended += other.appended;
        self.duplicates += other.duplicates;
        self.out_of_order += other.out_of_order;
        self.conflicting += other.conflicting;
        self.out_of_bounds += other.out_of_bounds;
        self.unknown_series += other.unknown_series;
    }

    /// Samples dropped for any reason other than being exact duplicates.
    pub fn dropped(&self) -> u64 {
        self.out_of_order + self.conflicting + self.out_of_bounds + self.unknown_series
    }
}

impl HeadData {
    /// Stores `samples`, re-validating each against the series' newest sample and the lower
    /// bound. Validation already happened in the appender; this catches races between
    /// appenders and makes replay apply exactly what the live head applied.
    pub fn apply(&mut self, samples: &[WalSample], stats: &mut ApplyStats) {
        let chunk_range = self.chunk_range;
        let split_gap = self.owner_index_split_gap();
        let min_valid = self.min_valid_time;
        let mut min_t = self.min_t;
        let mut max_t = self.max_t;
        for s in samples {
            // Bounds first: samples of garbage-collected series that are already in blocks are
            // out of bounds, not unknown.
            if s.t < min_valid {
                stats.out_of_bounds += 1;
                continue;
            }
            let Some(series) = self.series.get_mut(s.series_ref) else {
                stats.unknown_series += 1;
                continue;
            };
            if let Some((lt, lv)) = series.last() {
                if s.t < lt {
                    stats.out_of_order += 1;
                    continue;
                }
                if s.t == lt {
                    if lv == s.v.to_bits() {
                        stats.duplicates += 1;
                    } else {
                        stats.conflicting += 1;
                    }
                    continue;
                }
            }
            series.push(s.t, s.v, chunk_range, split_gap);
            stats.appended += 1;
            min_t = min_t.min(s.t);
            max_t = max_t.max(s.t);
        }
        self.min_t = min_t;
        self.max_t = max_t;
    }
}

/// Largest number of series an appender caches before it starts over.
const MAX_CACHED_SERIES: usize = 1 << 22;

/// Buffers samples and writes them on [`commit`](Self::commit): one WAL frame (one `write(2)`,
/// one snappy compression) and one apply pass per commit. Samples are validated as they are
/// appended, so errors name the offending sample. Dropping an appender rolls it back.
///
/// Appenders are independent (`Send`, no lock held between calls); commits are serialised.
/// An appender caches the newest sample of each series it appended to, so appending to known
/// series by ref takes no lock. With several appenders writing *the same series*, a sample that
/// another appender's commit made out of order is detected at commit instead and reported in
/// [`ApplyStats`]. Keep one long-lived appender per writer thread for the best throughput.
#[derive(Debug)]
pub struct Appender {
    shared: Arc<Shared>,
    pending: Vec<WalSample>,
    /// Per series this appender touched: its newest sample (committed or pending), `None` for a
    /// series without samples. Valid while the head's GC epoch equals `gc_epoch`.
    cache: RefHashMap<Option<(Timestamp, u64)>>,
    gc_epoch: u64,
    /// True while this appender is counted in the head's pending-appender count.
    registered: bool,
    max_t: Timestamp,
    /// Metric metadata to store with the next commit.
    pending_metadata: crate::metadata::MetadataMap,
}

impl Appender {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let gc_epoch = shared.head.gc_epoch();
        Self {
            shared,
            pending: Vec::new(),
            cache: RefHashMap::default(),
            gc_epoch,
            registered: false,
            max_t: Timestamp::MIN,
            pending_metadata: crate::metadata::MetadataMap::new(),
        }
    }

    /// Records metric metadata (HELP/TYPE/UNIT of the family `metric`) to store with the next
    /// commit, replacing what the database holds for that name (latest wins). An entry equal to
    /// the stored one is not logged again.
    pub fn set_metadata(&mut self, metric: &str, metadata: crate::metadata::MetricMetadata) {
        self.pending_metadata.insert(metric.to_string(), metadata);
    }

    /// Appends a sample to the series with `labels`, creating the series if needed, and returns
    /// its ref for [`append_ref`](Self::append_ref). Fails for an empty label set and for the
    /// ordering errors of [`append_ref`](Self::append_ref).
    pub fn append(&mut self, labels: &Labels, t: Timestamp, v: f64) -> Result<SeriesRef> {
        self.shared.check_writable()?;
        self.register();
        let hash = labels.stable_hash();
        let found = self.shared.head.read().lookup(labels, hash);
        let series_ref = match found {
            Some(r) => r,
            None => self.shared.head.write().get_or_create(labels)?.0,
        };
        self.append_ref(series_ref, t, v)?;
        Ok(series_ref)
    }

    /// Counts this appender as holding pending samples, which keeps garbage collection from
    /// removing series under it, and drops the cache if a collection ran since it was filled.
    /// The order (count first, then read the epoch; the collector bumps the epoch first, then
    /// reads the count) guarantees that a collection either sees this appender or is seen by it.
    #[inline]
    fn register(&mut self) {
        if !self.registered {
            self.shared
                .head
                .pending_appenders
                .fetch_add(1, Ordering::SeqCst);
            self.registered = true;
            let epoch = self.shared.head.gc_epoch();
            if epoch != self.gc_epoch {
                self.cache.clear();
                self.gc_epoch = epoch;
            }
        }
    }

    /// Appends a sample to a series by ref (as returned by [`append`](Self::append)): the fast
    /// path, with no label hashing. Errors: [`Error::UnknownSeriesRef`] (the series was
    /// garbage-collected after compaction; append by labels again), [`Error::OutOfOrder`],
    /// [`Error::DuplicateTimestamp`], [`Error::OutOfBounds`]. An exact duplicate of the series'
    /// newest sample is accepted and ignored.
    #[inline]
    pub fn append_ref(&mut self, series_ref: SeriesRef, t: Timestamp, v: f64) -> Result<()> {
        self.register();
        let bits = v.to_bits();
        let entry = match self.cache.entry(series_ref) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let head = self.shared.head.read();
                let series = head
                    .series(series_ref)
                    .ok_or(Error::UnknownSeriesRef(series_ref))?;
                e.insert(series.last())
            }
        };
        let min_valid = self.shared.head.min_valid_time();
        if t < min_valid {
            return Err(Error::OutOfBounds {
                series: self.describe(series_ref),
                t,
                min_valid,
            });
        }
        if let Some((lt, lv)) = *entry {
            if t < lt {
                return Err(Error::OutOfOrder {
                    series: self.describe(series_ref),
                    t,
                    newest: lt,
                });
            }
            if t == lt {
                if lv == bits {
                    return Ok(());
                }
                return Err(Error::DuplicateTimestamp {
                    series: self.describe(series_ref),
                    t,
                    value: v,
                    stored: f64::from_bits(lv),
                });
            }
        }
        *entry = Some((t, bits));
        self.pending.push(WalSample { series_ref, t, v });
        if t > self.max_t {
            self.max_t = t;
        }
        Ok(())
    }

    fn describe(&self, series_ref: SeriesRef) -> String {
        self.shared
            .head
            .read()
            .series(series_ref)
            .map_or_else(|| format!("ref {series_ref}"), |s| s.labels.to_string())
    }

    /// Number of samples waiting for [`commit`](Self::commit).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Writes the pending samples to the WAL (one frame) and then to the head.
    ///
    /// **Durability:** when this returns `Ok`, the commit has been handed to the operating
    /// system with `write(2)`, so it survives the process being killed; whether it survives a
    /// power loss depends on [`crate::WalSync`]. A commit is atomic on replay: a torn frame is
    /// dropped whole. Concurrent readers may see a large commit partially while it is applied.
    ///
    /// The returned stats count samples dropped at commit: samples a compaction made out of
    /// bounds after they were appended, and samples that another appender's commit made out of
    /// order (see [`ApplyStats`]). On error nothing is applied and the appender is empty.
    pub fn commit(&mut self) -> Result<ApplyStats> {
        let mut stats = ApplyStats::default();
        if !self.pending_metadata.is_empty() {
            // Unchanged entries (the common case: every scrape repeats its metadata) cost no
            // WAL bytes; dropping them changes nothing a reader can see.
            let head = self.shared.head.read();
            self.pending_metadata
                .retain(|name, meta| head.metadata().get(name) != Some(meta));
        }
        if self.pending.is_empty() && self.pending_metadata.is_empty() {
            self.release();
            return Ok(stats);
        }
        let shared = self.shared.clone();
        if let Err(e) = shared.check_writable() {
            self.release();
            return Err(e);
        }
        let result = (|| {
            let mut wal = shared.lock_wal();
            // Compaction raises the lower bound only while holding the WAL lock, so this check
            // is exact: samples below it are dropped before they reach the log, and replay
            // (whose bound may be lower) can never resurrect them.
            let min_valid = shared.head.min_valid_time();
            if self.pending.iter().any(|s| s.t < min_valid) {
                let before = self.pending.len();
                self.pending.retain(|s| s.t >= min_valid);
                stats.out_of_bounds += (before - self.pending.len()) as u64;
            }
            if let Some(ws) = wal.as_mut() {
                let unlogged = shared.head.take_unlogged();
                ws.enc.clear();
                ws.enc.series(unlogged.iter().map(|(r, l)| (*r, l)));
                ws.enc.metadata(
                    self.pending_metadata
                        .iter()
                        .map(|(name, meta)| (name.as_str(), meta)),
                );
                ws.enc.samples(&self.pending);
                if let Err(e) = ws.writer.log(ws.enc.as_bytes(), self.max_t) {
                    shared
                        .head
                        .write()
                        .restore_unlogged(unlogged.into_iter().map(|(r, _)| r));
                    return Err(e);
                }
            }
            // Apply while still holding the WAL lock, so the head applies commits in log order
            // and replay reproduces exactly this state.
            if !self.pending_metadata.is_empty() {
                shared.head.write().apply_metadata(&self.pending_metadata);
            }
            for slice in self.pending.chunks(APPLY_SLICE) {
                shared.head.write().apply(slice, &mut stats);
            }
            drop(wal);
            Ok(())
        })();
        if result.is_err() || stats.dropped() > 0 || self.cache.len() > MAX_CACHED_SERIES {
            // The cache may now be ahead of the head; start over.
            self.cache.clear();
        }
        self.release();
        result?;
        shared.after_commit()?;
        Ok(stats)
    }

    /// Discards the pending samples. Series created by [`append`](Self::append) stay (empty)
    /// until garbage collection.
    pub fn rollback(&mut self) {
        if !self.pending.is_empty() {
            // The cache holds the discarded samples as newest; forget it.
            self.cache.clear();
        }
        self.release();
    }

    fn release(&mut self) {
        self.pending.clear();
        self.pending_metadata.clear();
        self.max_t = Timestamp::MIN;
        if self.registered {
            self.shared
                .head
                .pending_appenders
                .fetch_sub(1, Ordering::SeqCst);
            self.registered = false;
        }
    }
}

impl Drop for Appender {
    fn drop(&mut self) {
        self.release();
    }
}
