//! The head block: the in-memory, appendable part of the database. It holds every series
//! registered since the last compaction, its recent samples in Gorilla chunks, and an inverted
//! label index. Appending is in [`append`], reading (the [`crate::reader::BlockReader`] impl) in
//! [`read`].
//!
//! **Invariants.** A series ref is handed out once per data directory and never reused (the WAL
//! refers to series by ref). A series' chunks are time-ordered and never overlap; each chunk lies
//! inside one aligned block range (`[k * chunk_range, (k + 1) * chunk_range)`), so compaction can
//! hand whole chunks to the block writer. A series' labels are one packed buffer; the postings'
//! key strings are interned, so equal strings across series share one allocation.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod append;
pub mod postings;
pub mod read;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use promlite_chunk::{AppendError, XorEncoder};
use promlite_model::{Labels, RunBuilder, Timestamp};

use crate::bytes::SharedBytes;
use crate::reader::SeriesRef;
use crate::{Error, Result};

pub use append::{Appender, ApplyStats, RefHashMap};
pub use postings::MemPostings;

/// Series slots per page of the series table.
const PAGE_SIZE: usize = 1024;

/// One closed, immutable chunk of a head series.
#[derive(Debug, Clone)]
pub struct HeadChunk {
    /// First sample's timestamp.
    pub min_t: Timestamp,
    /// Last sample's timestamp.
    pub max_t: Timestamp,
    /// The encoded chunk.
    pub data: SharedBytes,
}

/// The chunk currently being appended to.
#[derive(Debug)]
struct OpenChunk {
    enc: XorEncoder,
    min_t: Timestamp,
    /// Exclusive end of the aligned range this chunk may cover.
    range_end: Timestamp,
}

/// One series in the head.
#[derive(Debug)]
pub struct MemSeries {
    /// The labels, built from interned strings.
    pub labels: Labels,
    /// `labels.stable_hash()`, kept to find the series in the hash map when it is removed.
    hash: u64,
    /// Closed chunks, time-ordered.
    chunks: Vec<HeadChunk>,
    open: Option<OpenChunk>,
    /// Newest timestamp and value bits; meaningful only when `has_samples`.
    last_t: Timestamp,
    last_v: u64,
    has_samples: bool,
    /// The owner index's value runs of this series' samples in memory; `Some` iff the series'
    /// metric was indexed when it was created (see [`crate::owner`]).
    runs: Option<Box<RunBuilder>>,
    /// Samples pushed into `runs`, for detection; `None` for a configured (always indexed) or
    /// unindexed series.
    detected_samples: Option<usize>,
}

impl MemSeries {
    fn new(labels: Labels, hash: u64, indexing: crate::owner::Indexing) -> Self {
        use crate::owner::Indexing;
        Self {
            labels,
            hash,
            chunks: Vec::new(),
            open: None,
            last_t: Timestamp::MIN,
            last_v: 0,
            has_samples: false,
            runs: (indexing != Indexing::Off).then(Box::default),
            detected_samples: (indexing == Indexing::Detected).then_some(0),
        }
    }

    /// The value runs of the samples held, if this series is in the owner index.
    pub fn runs(&self) -> Option<&RunBuilder> {
        self.runs.as_deref()
    }

    /// The newest sample as `(t, value bits)`, if any.
    pub fn last(&self) -> Option<(Timestamp, u64)> {
        self.has_samples.then_some((self.last_t, self.last_v))
    }

    /// Earliest timestamp held in memory.
    pub fn min_time(&self) -> Option<Timestamp> {
        self.chunks
            .first()
            .map(|c| c.min_t)
            .or(self.open.as_ref().map(|o| o.min_t))
    }

    /// True if the series holds no chunk.
    fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.open.is_none()
    }

    /// Appends a sample that already passed validation (`t` after the newest sample).
    /// `split_gap` is the owner index's run split gap (used only by indexed series).
    fn push(&mut self, t: Timestamp, v: f64, chunk_range: i64, split_gap: i64) {
        if let Some(runs) = self.runs.as_deref_mut() {
            // Cannot refuse: `t` is after the newest sample, which the builder saw last.
            runs.push(t, v, split_gap);
            if let Some(n) = self.detected_samples.as_mut() {
                *n += 1;
                if !crate::owner::info_like(runs.runs().len(), *n) {
                    // Not info-like: stop indexing for good (a selector on this metric then
                    // decodes, as a series without runs makes `select_runs` decline).
                    self.runs = None;
                    self.detected_samples = None;
                }
            }
        }
        if let Some(open) = &self.open {
            if t >= open.range_end || open.enc.is_full() {
                self.close_open_chunk();
            }
        }
        let open = self.open.get_or_insert_with(|| OpenChunk {
            enc: XorEncoder::new(),
            min_t: t,
            range_end: aligned_range_end(t, chunk_range),
        });
        match open.enc.append(t, v) {
            Ok(()) => {}
            Err(AppendError::Full | AppendError::DeltaOverflow { .. }) | Err(_) => {
                // Full cannot happen (checked above); a delta that overflows `i64` needs a fresh
                // chunk, whose first timestamp is stored absolutely.
                self.close_open_chunk();
                let mut enc = XorEncoder::new();
                // A fresh chunk accepts any first sample.
                let _ = enc.append(t, v);
                self.open = Some(OpenChunk {
                    enc,
                    min_t: t,
                    range_end: aligned_range_end(t, chunk_range),
                });
            }
        }
        self.last_t = t;
        self.last_v = v.to_bits();
        self.has_samples = true;
    }

    fn close_open_chunk(&mut self) {
        if let Some(open) = self.open.take() {
            if open.enc.num_samples() == 0 {
                return;
            }
            let max_t = open.enc.last_timestamp().unwrap_or(open.min_t);
            let mut bytes = open.enc.finish();
            bytes.shrink_to_fit();
            self.chunks.push(HeadChunk {
                min_t: open.min_t,
                max_t,
                data: SharedBytes::from_vec(bytes),
            });
        }
    }

    /// Calls `f` with every chunk overlapping `[mint, maxt]`, in time order; the open chunk is
    /// snapshotted (copied), so the caller may keep it after the head changes.
    pub fn for_each_chunk(&self, mint: Timestamp, maxt: Timestamp, mut f: impl FnMut(HeadChunk)) {
        for c in &self.chunks {
            if c.max_t >= mint && c.min_t <= maxt {
                f(c.clone());
            }
        }
        if let Some(open) = &self.open {
            let max_t = open.enc.last_timestamp().unwrap_or(open.min_t);
            if open.enc.num_samples() > 0 && max_t >= mint && open.min_t <= maxt {
                f(HeadChunk {
                    min_t: open.min_t,
                    max_t,
                    data: SharedBytes::from_vec(open.enc.bytes().to_vec()),
                });
            }
        }
    }

    /// Closed chunks entirely before `before` plus, if it ends before `before`, the open chunk;
    /// used by compaction. The open chunk is closed first so the block gets final bytes.
    fn chunks_before(&mut self, before: Timestamp, out: &mut Vec<HeadChunk>) {
        if self.open_ends_before(before) {
            self.close_open_chunk();
        }
        out.extend(self.chunks.iter().filter(|c| c.max_t < before).cloned());
    }

    /// Drops chunks that end before `before`. Returns the number of chunks dropped.
    fn truncate_before(&mut self, before: Timestamp) -> usize {
        if self.open_ends_before(before) {
            self.close_open_chunk();
        }
        let n = self.chunks.len();
        self.chunks.retain(|c| c.max_t >= before);
        let dropped = n - self.chunks.len();
        if dropped > 0 {
            let first_kept = self.min_time();
            if let Some(runs) = self.runs.as_deref_mut() {
                runs.truncate_before(first_kept);
            }
        }
        dropped
    }

    /// True if the open chunk can take no more samples before `before`: its range ended, or
    /// its newest sample is older and the head no longer accepts samples before `before`.
    fn open_ends_before(&self, before: Timestamp) -> bool {
        self.open.as_ref().is_some_and(|o| {
            o.range_end <= before || o.enc.last_timestamp().is_none_or(|t| t < before)
        })
    }

    /// Bytes of encoded chunk data this series holds.
    fn chunk_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.data.len()).sum::<usize>()
            + self.open.as_ref().map_or(0, |o| o.enc.bytes().len())
    }
}

/// The exclusive end of the aligned range of width `range` that contains `t`.
pub fn aligned_range_end(t: Timestamp, range: i64) -> Timestamp {
    let range = range.max(1);
    t.div_euclid(range).saturating_add(1).saturating_mul(range)
}

/// The start of the aligned range of width `range` that contains `t`.
pub fn aligned_range_start(t: Timestamp, range: i64) -> Timestamp {
    let range = range.max(1);
    t.div_euclid(range).saturating_mul(range)
}

/// One page of the series table: `PAGE_SIZE` slots.
type Page = Box<[Option<Box<MemSeries>>]>;

/// A paged table from series ref to series: refs may be sparse (series are garbage-collected and
/// refs are never reused), so pages that hold no live series are freed.
#[derive(Debug, Default)]
struct SeriesTable {
    pages: Vec<Option<Page>>,
    live_per_page: Vec<u32>,
}

impl SeriesTable {
    #[inline]
    fn get(&self, r: SeriesRef) -> Option<&MemSeries> {
        let r = r as usize;
        self.pages
            .get(r / PAGE_SIZE)?
            .as_ref()?
            .get(r % PAGE_SIZE)?
            .as_deref()
    }

    #[inline]
    fn get_mut(&mut self, r: SeriesRef) -> Option<&mut MemSeries> {
        let r = r as usize;
        self.pages
            .get_mut(r / PAGE_SIZE)?
            .as_mut()?
            .get_mut(r % PAGE_SIZE)?
            .as_deref_mut()
    }

    fn insert(&mut self, r: SeriesRef, s: MemSeries) {
        let r = r as usize;
        let page_idx = r / PAGE_SIZE;
        if self.pages.len() <= page_idx {
            self.pages.resize_with(page_idx + 1, || None);
            self.live_per_page.resize(page_idx + 1, 0);
        }
        let Some(page_slot) = self.pages.get_mut(page_idx) else {
            return;
        };
        let page = page_slot.get_or_insert_with(|| (0..PAGE_SIZE).map(|_| None).collect());
        if let Some(slot) = page.get_mut(r % PAGE_SIZE) {
            if slot.is_none() {
                if let Some(live) = self.live_per_page.get_mut(page_idx) {
                    *live += 1;
                }
            }
            *slot = Some(Box::new(s));
        }
    }

    fn remove(&mut self, r: SeriesRef) -> Option<Box<MemSeries>> {
        let r = r as usize;
        let page_idx = r / PAGE_SIZE;
        let page = self.pages.get_mut(page_idx)?.as_mut()?;
        let removed = page.get_mut(r % PAGE_SIZE)?.take()?;
        if let Some(live) = self.live_per_page.get_mut(page_idx) {
            *live -= 1;
            if *live == 0 {
                if let Some(p) = self.pages.get_mut(page_idx) {
                    *p = None;
                }
            }
        }
        Some(removed)
    }

    fn iter(&self) -> impl Iterator<Item = (SeriesRef, &MemSeries)> + '_ {
        self.pages
            .iter()
            .enumerate()
            .filter_map(|(pi, p)| p.as_ref().map(|p| (pi, p)))
            .flat_map(|(pi, p)| {
                p.iter().enumerate().filter_map(move |(i, s)| {
                    s.as_deref().map(|s| ((pi * PAGE_SIZE + i) as SeriesRef, s))
                })
            })
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (SeriesRef, &mut MemSeries)> + '_ {
        self.pages
            .iter_mut()
            .enumerate()
            .filter_map(|(pi, p)| p.as_mut().map(|p| (pi, p)))
            .flat_map(|(pi, p)| {
                p.iter_mut().enumerate().filter_map(move |(i, s)| {
                    s.as_deref_mut()
                        .map(|s| ((pi * PAGE_SIZE + i) as SeriesRef, s))
                })
            })
    }

    fn heap_bytes(&self) -> usize {
        self.pages.len() * 8 + self.pages.iter().flatten().count() * PAGE_SIZE * 8
    }
}

/// Everything the head holds, behind the head's lock.
#[derive(Debug)]
pub struct HeadData {
    series: SeriesTable,
    n_series: usize,
    /// `stable_hash` → the first series with that hash; further series with an equal hash (a
    /// collision) are in `collisions`.
    by_hash: HashMap<u64, SeriesRef>,
    collisions: HashMap<u64, Vec<SeriesRef>>,
    postings: MemPostings,
    symbols: HashSet<Arc<str>>,
    next_ref: SeriesRef,
    /// Series created since the last commit wrote series records to the WAL.
    unlogged: Vec<SeriesRef>,
    track_unlogged: bool,
    /// Inclusive time range of the samples in memory (`(MAX, MIN)` when empty).
    min_t: Timestamp,
    max_t: Timestamp,
    /// Samples before this are rejected: their range is already in blocks.
    min_valid_time: Timestamp,
    /// A copy of `min_valid_time` that appenders read without taking the lock.
    min_valid_shared: Arc<AtomicI64>,
    /// Width of the aligned ranges chunks are cut at (the block range).
    chunk_range: i64,
    /// Which new series get value runs (the owner index).
    owner_index: crate::owner::OwnerIndexConfig,
    /// Metric metadata (HELP/TYPE/UNIT) by family name, the latest ingested per name. Kept for
    /// the life of the data directory (checkpoints carry it), not truncated with chunks.
    metadata: crate::metadata::MetadataMap,
}

/// The head block. Cheap to share (`Arc<Head>`); one lock guards its data, held by writers only
/// while a slice of a commit is applied.
#[derive(Debug)]
pub struct Head {
    data: RwLock<HeadData>,
    /// Appenders holding uncommitted samples. Series are garbage-collected only while this is
    /// zero, so a pending sample's series cannot disappear before its commit.
    pub(crate) pending_appenders: AtomicUsize,
    /// Bumped before every garbage collection; appenders drop their series caches when it moved.
    gc_epoch: AtomicU64,
    /// The head's lower bound for new samples, readable without the lock.
    min_valid: Arc<AtomicI64>,
}

/// Head statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadStats {
    /// Live series.
    pub n_series: usize,
    /// Closed chunks plus open chunks.
    pub n_chunks: usize,
    /// Bytes of encoded chunk data.
    pub chunk_bytes: usize,
    /// Inclusive sample time range (`(i64::MAX, i64::MIN)` when empty).
    pub min_t: Timestamp,
    /// See `min_t`.
    pub max_t: Timestamp,
    /// Samples older than this are rejected.
    pub min_valid_time: Timestamp,
}

impl Head {
    /// An empty head whose chunks are cut at multiples of `chunk_range` milliseconds.
    /// `track_unlogged` records created series for the WAL's next commit.
    pub fn new(chunk_range: i64, track_unlogged: bool) -> Self {
        let min_valid = Arc::new(AtomicI64::new(Timestamp::MIN));
        Self {
            pending_appenders: AtomicUsize::new(0),
            gc_epoch: AtomicU64::new(0),
            min_valid: min_valid.clone(),
            data: RwLock::new(HeadData {
                series: SeriesTable::default(),
                n_series: 0,
                by_hash: HashMap::new(),
                collisions: HashMap::new(),
                postings: MemPostings::new(),
                symbols: HashSet::new(),
                next_ref: 0,
                unlogged: Vec::new(),
                track_unlogged,
                min_t: Timestamp::MAX,
                max_t: Timestamp::MIN,
                min_valid_time: Timestamp::MIN,
                min_valid_shared: min_valid,
                chunk_range: chunk_range.max(1),
                owner_index: crate::owner::OwnerIndexConfig::default(),
                metadata: crate::metadata::MetadataMap::new(),
            }),
        }
    }

    /// Shared access. A poisoned lock (a panic while writing) is recovered: head updates keep
    /// the data consistent between samples.
    pub fn read(&self) -> RwLockReadGuard<'_, HeadData> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Exclusive access.
    pub fn write(&self) -> RwLockWriteGuard<'_, HeadData> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Statistics.
    pub fn stats(&self) -> HeadStats {
        self.read().stats()
    }

    /// The garbage-collection epoch.
    pub(crate) fn gc_epoch(&self) -> u64 {
        self.gc_epoch.load(Ordering::SeqCst)
    }

    /// Drops chunks before `before`, raises the lower bound, and garbage-collects empty series
    /// unless an appender holds uncommitted samples (then collection waits for a later call).
    /// Returns the number of series removed.
    pub fn truncate(&self, before: Timestamp) -> usize {
        let mut data = self.write();
        // Epoch first, then the count: pairs with `Appender::register` (count, then epoch).
        self.gc_epoch.fetch_add(1, Ordering::SeqCst);
        let collect = self.pending_appenders.load(Ordering::SeqCst) == 0;
        data.truncate(before, collect)
    }

    /// Takes the series not yet written to the WAL (a cheap check without the write lock when
    /// there are none, the common case).
    pub(crate) fn take_unlogged(&self) -> Vec<(SeriesRef, Labels)> {
        if self.read().unlogged.is_empty() {
            return Vec::new();
        }
        self.write().take_unlogged()
    }

    /// Replaces this head's data by `other`'s (a read-only database's refresh: a freshly
    /// replayed head takes the old one's place under the write lock, so every reader sees the
    /// old head or the new one, never a mix). The caller holds the block list's write lock.
    pub(crate) fn replace_with(&self, other: Head) {
        let mut data = self.write();
        let mut fresh = other.data.into_inner().unwrap_or_else(|e| e.into_inner());
        // The lock-free copy of the lower bound stays this head's.
        fresh.min_valid_shared = self.min_valid.clone();
        self.min_valid
            .store(fresh.min_valid_time, Ordering::Release);
        self.gc_epoch.fetch_add(1, Ordering::SeqCst);
        *data = fresh;
    }

    /// Samples before this are rejected (read without taking the lock).
    #[inline]
    pub fn min_valid_time(&self) -> Timestamp {
        self.min_valid.load(Ordering::Acquire)
    }
}

impl HeadData {
    /// The series with ref `r`.
    #[inline]
    pub fn series(&self, r: SeriesRef) -> Option<&MemSeries> {
        self.series.get(r)
    }

    /// The ref of the series with exactly these labels.
    pub fn lookup(&self, labels: &Labels, hash: u64) -> Option<SeriesRef> {
        let first = *self.by_hash.get(&hash)?;
        if self.series.get(first).is_some_and(|s| s.labels == *labels) {
            return Some(first);
        }
        self.collisions
            .get(&hash)?
            .iter()
            .copied()
            .find(|r| self.series.get(*r).is_some_and(|s| s.labels == *labels))
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(x) = self.symbols.get(s) {
            return x.clone();
        }
        let s: Arc<str> = Arc::from(s);
        self.symbols.insert(s.clone());
        s
    }

    /// Returns the series with these labels, creating it (with the next free ref) if needed.
    /// The bool is true if it was created.
    pub fn get_or_create(&mut self, labels: &Labels) -> Result<(SeriesRef, bool)> {
        if labels.is_empty() {
            return Err(Error::EmptyLabels);
        }
        let hash = labels.stable_hash();
        if let Some(r) = self.lookup(labels, hash) {
            return Ok((r, false));
        }
        let r = self.next_ref;
        self.next_ref = r.checked_add(1).ok_or(Error::SeriesRefsExhausted)?;
        self.create_with_ref(r, labels, hash);
        if self.track_unlogged {
            self.unlogged.push(r);
        }
        Ok((r, true))
    }

    /// Creates series `r` (during WAL replay). A ref that already exists with the same labels is
    /// a no-op; with different labels the old series is replaced (a later definition wins).
    pub fn create_from_wal(&mut self, r: SeriesRef, labels: &Labels) -> Result<()> {
        if labels.is_empty() {
            return Err(Error::EmptyLabels);
        }
        if let Some(existing) = self.series.get(r) {
            if existing.labels == *labels {
                return Ok(());
            }
            self.remove_series(r);
        }
        let hash = labels.stable_hash();
        if let Some(old) = self.lookup(labels, hash) {
            // The same labels under an older ref: keep one series; the newer ref wins.
            self.remove_series(old);
        }
        self.create_with_ref(r, labels, hash);
        self.next_ref = self.next_ref.max(r.saturating_add(1));
        Ok(())
    }

    fn create_with_ref(&mut self, r: SeriesRef, labels: &Labels, hash: u64) {
        // The series shares the caller's packed label set (one buffer, immutable); only the
        // postings keep per-string keys, interned so equal strings are stored once.
        let interned: Vec<(Arc<str>, Arc<str>)> = labels
            .iter()
            .map(|l| (self.intern(l.name), self.intern(l.value)))
            .collect();
        self.postings.add(r, &interned);
        let labels = labels.clone();
        match self.by_hash.entry(hash) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(r);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collisions.entry(hash).or_default().push(r)
            }
        }
        let indexing = self.owner_index.indexing(&labels);
        self.series
            .insert(r, MemSeries::new(labels, hash, indexing));
        self.n_series += 1;
    }

    fn remove_series(&mut self, r: SeriesRef) {
        let Some(s) = self.series.remove(r) else {
            return;
        };
        self.n_series -= 1;
        self.postings.remove(r, &s.labels);
        if self.by_hash.get(&s.hash) == Some(&r) {
            self.by_hash.remove(&s.hash);
            if let Some(others) = self.collisions.get_mut(&s.hash) {
                if let Some(next) = others.pop() {
                    self.by_hash.insert(s.hash, next);
                }
                if others.is_empty() {
                    self.collisions.remove(&s.hash);
                }
            }
        } else if let Some(others) = self.collisions.get_mut(&s.hash) {
            others.retain(|x| *x != r);
            if others.is_empty() {
                self.collisions.remove(&s.hash);
            }
        }
    }

    /// The next ref the head will hand out.
    pub fn next_ref(&self) -> SeriesRef {
        self.next_ref
    }

    /// Raises the next ref (from a checkpoint).
    pub fn bump_next_ref(&mut self, next: SeriesRef) {
        self.next_ref = self.next_ref.max(next);
    }

    /// Samples before this are rejected.
    pub fn min_valid_time(&self) -> Timestamp {
        self.min_valid_time
    }

    /// Raises the lower bound for new samples.
    pub fn raise_min_valid_time(&mut self, t: Timestamp) {
        self.min_valid_time = self.min_valid_time.max(t);
        self.min_valid_shared
            .store(self.min_valid_time, Ordering::Release);
    }

    /// Sets which series created from now on get value runs (the owner index).
    pub(crate) fn set_owner_index(&mut self, config: crate::owner::OwnerIndexConfig) {
        self.owner_index = config;
    }

    /// The owner index's run split gap.
    pub(crate) fn owner_index_split_gap(&self) -> i64 {
        self.owner_index.split_gap
    }

    /// Width of the aligned chunk ranges.
    pub fn chunk_range(&self) -> i64 {
        self.chunk_range
    }

    /// Takes the refs and labels of series not yet written to the WAL.
    pub fn take_unlogged(&mut self) -> Vec<(SeriesRef, Labels)> {
        let refs = std::mem::take(&mut self.unlogged);
        refs.into_iter()
            .filter_map(|r| self.series.get(r).map(|s| (r, s.labels.clone())))
            .collect()
    }

    /// Puts back series whose WAL write failed.
    pub fn restore_unlogged(&mut self, refs: impl IntoIterator<Item = SeriesRef>) {
        self.unlogged.extend(refs);
    }

    /// The metric metadata ingested into this head (latest per family name).
    pub fn metadata(&self) -> &crate::metadata::MetadataMap {
        &self.metadata
    }

    /// Replaces the entries of the names in `newer` (a commit's or a WAL record's metadata).
    pub fn apply_metadata(&mut self, newer: &crate::metadata::MetadataMap) {
        crate::metadata::merge_into(&mut self.metadata, newer);
    }

    /// Live series refs with labels, for a checkpoint.
    pub fn all_series(&self) -> Vec<(SeriesRef, Labels)> {
        self.series
            .iter()
            .map(|(r, s)| (r, s.labels.clone()))
            .collect()
    }

    /// Statistics.
    pub fn stats(&self) -> HeadStats {
        let mut n_chunks = 0;
        let mut chunk_bytes = 0;
        for (_, s) in self.series.iter() {
            n_chunks += s.chunks.len() + usize::from(s.open.is_some());
            chunk_bytes += s.chunk_bytes();
        }
        HeadStats {
            n_series: self.n_series,
            n_chunks,
            chunk_bytes,
            min_t: self.min_t,
            max_t: self.max_t,
            min_valid_time: self.min_valid_time,
        }
    }

    /// An estimate of the head's heap bytes *excluding* encoded chunk data: series structs,
    /// label arrays, interned strings, hash maps and postings.
    pub fn index_heap_bytes(&self) -> usize {
        let mut total = self.series.heap_bytes();
        for (_, s) in self.series.iter() {
            total += std::mem::size_of::<MemSeries>() + 16; // the Box
            total += 16 + s.labels.encoded_len(); // the packed label buffer and its Arc header
            total += s.chunks.capacity() * std::mem::size_of::<HeadChunk>() + s.chunks.len() * 16;
            total += s
                .runs
                .as_deref()
                .map_or(0, |r| std::mem::size_of::<RunBuilder>() + r.heap_bytes());
        }
        for sym in &self.symbols {
            total += 16 + sym.len() + 16; // Arc header + bytes + set slot
        }
        total += self.by_hash.capacity() * 16;
        total += self.collisions.len() * 48;
        total + self.postings.heap_bytes()
    }

    /// Collects, for compaction, every series' chunks that end before `before` (closing open
    /// chunks whose range ended). Returns `(labels, chunks)` sorted by labels, skipping series
    /// without such chunks.
    pub fn chunks_for_compaction(&mut self, before: Timestamp) -> Vec<(Labels, Vec<HeadChunk>)> {
        let mut out = Vec::new();
        for (_, s) in self.series.iter_mut() {
            let mut chunks = Vec::new();
            s.chunks_before(before, &mut chunks);
            if !chunks.is_empty() {
                out.push((s.labels.clone(), chunks));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Drops every chunk that ends before `before` and raises the lower bound for new samples
    /// to `before`. With `collect`, also removes series left empty and interned strings no
    /// series uses. Returns the number of series removed. Use [`Head::truncate`], which decides
    /// whether collecting is safe.
    pub fn truncate(&mut self, before: Timestamp, collect: bool) -> usize {
        self.raise_min_valid_time(before);
        let mut empty = Vec::new();
        for (r, s) in self.series.iter_mut() {
            s.truncate_before(before);
            if collect && s.is_empty() {
                empty.push(r);
            }
        }
        for r in &empty {
            self.remove_series(*r);
        }
        self.symbols.retain(|s| Arc::strong_count(s) > 1);
        self.recompute_time_range();
        empty.len()
    }

    fn recompute_time_range(&mut self) {
        let mut min_t = Timestamp::MAX;
        let mut max_t = Timestamp::MIN;
        for (_, s) in self.series.iter() {
            if let Some(t) = s.min_time() {
                min_t = min_t.min(t);
                if let Some((lt, _)) = s.last() {
                    max_t = max_t.max(lt);
                }
            }
        }
        self.min_t = min_t;
        self.max_t = max_t;
    }

    /// Sample time range in memory.
    pub fn time_range(&self) -> (Timestamp, Timestamp) {
        (self.min_t, self.max_t)
    }
}

#[cfg(test)]
mod tests;
