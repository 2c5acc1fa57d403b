//! Out-of-order backfill: samples older than everything the head holds or may still accept
//! (replaying an older range after a newer one, importing history) are written straight into
//! new level-1 blocks, which may overlap or precede existing blocks. Queries merge overlapping
//! blocks sample by sample (one sample per timestamp), and compaction merges them vertically
//! (`crate::compact`).
//!
//! **The boundary rule (architecture invariant).** A backfilled sample must be older than the
//! head's boundary `B = min(head lower bound, oldest head sample)`. When a backfill block is
//! committed, the head's lower bound is raised to just past the block's newest sample (under
//! the WAL lock, so no commit can log a sample below it afterwards). Hence no sample the head
//! holds or will accept is older than a backfilled block's end, and reopening (which drops WAL
//! samples before the newest block's end) can never lose a head sample because of a backfill.
//!
//! **Memory** is bounded: samples are buffered per aligned block range, one block per range is
//! written at [`Backfiller::commit`], and earlier whenever the buffer holds
//! [`Backfiller::MAX_BUFFERED_SAMPLES`] samples.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::indexing_slicing))]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use promlite_model::{Labels, Timestamp};

use crate::block::{encode_chunks, Block, BlockWriter, CompactOptions, WriteOptions};
use crate::db::{Db, Shared};
use crate::head::aligned_range_start;
use crate::{Error, Result};

/// What a [`Backfiller::commit`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackfillStats {
    /// Blocks written.
    pub blocks: usize,
    /// Samples written (after dropping exact duplicates within this backfill).
    pub samples: u64,
}

/// Buffers old samples and writes them as new blocks. Obtained from [`Db::backfiller`].
/// Dropping it discards samples not yet written.
#[derive(Debug)]
pub struct Backfiller {
    shared: Arc<Shared>,
    /// Per aligned range start: per series, samples in append order.
    ranges: BTreeMap<Timestamp, HashMap<Labels, Vec<(Timestamp, f64)>>>,
    buffered: usize,
    written: BackfillStats,
}

impl Db {
    /// A [`Backfiller`] for samples older than what the head accepts (see
    /// [`Db::backfill_boundary`]).
    pub fn backfiller(&self) -> Backfiller {
        Backfiller {
            shared: self.shared.clone(),
            ranges: BTreeMap::new(),
            buffered: 0,
            written: BackfillStats::default(),
        }
    }

    /// Samples older than this can be backfilled: the smaller of the head's lower bound and
    /// its oldest sample (`Timestamp::MIN` for an empty head that accepts everything, where
    /// nothing needs backfilling).
    pub fn backfill_boundary(&self) -> Timestamp {
        boundary(&self.shared)
    }
}

fn boundary(shared: &Shared) -> Timestamp {
    let head = shared.head.read();
    let (min_t, max_t) = head.time_range();
    let lower = head.min_valid_time();
    if min_t > max_t {
        lower
    } else {
        lower.min(min_t)
    }
}

impl Backfiller {
    /// Samples buffered before every buffered range is written out (about 40 bytes each).
    pub const MAX_BUFFERED_SAMPLES: usize = 2 << 20;

    /// Buffers a sample. Fails with [`Error::OutOfOrder`] when `t` is not older than the
    /// backfill boundary (the head's range: append there instead), with [`Error::ReadOnly`]
    /// on a read-only database, and with a write error when a completed range is written.
    pub fn append(&mut self, labels: &Labels, t: Timestamp, v: f64) -> Result<()> {
        self.shared.check_writable()?;
        if labels.is_empty() {
            return Err(Error::EmptyLabels);
        }
        let limit = boundary(&self.shared);
        if t >= limit {
            return Err(Error::OutOfOrder {
                series: labels.to_string(),
                t,
                newest: limit,
            });
        }
        let range = self.shared.opts.block_range;
        let start = aligned_range_start(t, range);
        self.ranges
            .entry(start)
            .or_default()
            .entry(labels.clone())
            .or_default()
            .push((t, v));
        self.buffered += 1;
        // Inputs are not necessarily in time order (an OpenMetrics file lists each series'
        // samples in turn), so a range is never known to be complete before the commit; a full
        // buffer is written out whole (the extra blocks overlap and are merged later).
        if self.buffered >= Self::MAX_BUFFERED_SAMPLES {
            while !self.ranges.is_empty() {
                self.write_oldest()?;
            }
        }
        Ok(())
    }

    /// Samples buffered and not yet written.
    pub fn pending(&self) -> usize {
        self.buffered
    }

    /// Writes every buffered range as a block: when this returns `Ok`, the samples are durable
    /// (fsynced and renamed into place). Returns the totals written by this backfiller so far,
    /// then applies compaction (merging the overlaps) and retention if automatic compaction is
    /// on.
    pub fn commit(&mut self) -> Result<BackfillStats> {
        let wrote = !self.ranges.is_empty();
        while !self.ranges.is_empty() {
            self.write_oldest()?;
        }
        if wrote && self.shared.opts.auto_compact {
            crate::compact::compact_blocks(&self.shared)?;
            crate::compact::apply_retention(&self.shared)?;
        }
        Ok(self.written)
    }

    /// Discards the buffered samples (written blocks stay).
    pub fn rollback(&mut self) {
        self.ranges.clear();
        self.buffered = 0;
    }

    fn write_oldest(&mut self) -> Result<()> {
        let Some((_, series)) = self.ranges.pop_first() else {
            return Ok(());
        };
        let n: usize = series.values().map(Vec::len).sum();
        self.buffered = self.buffered.saturating_sub(n);
        let (blocks, samples) = write_backfill_block(&self.shared, series)?;
        self.written.blocks += blocks;
        self.written.samples += samples;
        Ok(())
    }
}

/// Writes one level-1 block from `series` and adds it to the database. Returns (blocks written,
/// samples written).
fn write_backfill_block(
    shared: &Arc<Shared>,
    series: HashMap<Labels, Vec<(Timestamp, f64)>>,
) -> Result<(usize, u64)> {
    let Some(dir) = shared.dir.clone() else {
        return Err(Error::InvalidOption(
            "backfill needs a data directory (an in-memory database has no blocks)".into(),
        ));
    };
    let mut sorted: Vec<(Labels, Vec<(Timestamp, f64)>)> = series.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut max_t = Timestamp::MIN;
    for (_, samples) in &mut sorted {
        // Stable: among equal timestamps the last appended is kept.
        samples.sort_by_key(|s| s.0);
        let mut deduped: Vec<(Timestamp, f64)> = Vec::with_capacity(samples.len());
        for &s in samples.iter() {
            match deduped.last_mut() {
                Some(last) if last.0 == s.0 => *last = s,
                _ => deduped.push(s),
            }
        }
        *samples = deduped;
        if let Some(last) = samples.last() {
            max_t = max_t.max(last.0);
        }
    }
    let _compacting = shared
        .compact_lock
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    {
        // Seal the range for the head first, under the WAL lock (see the module docs). The
        // boundary is re-checked: a commit since `append` may have lowered the oldest head
        // sample.
        let _wal = shared.lock_wal();
        let limit = boundary(shared);
        if max_t >= limit {
            return Err(Error::OutOfOrder {
                series: "a backfilled series".into(),
                t: max_t,
                newest: limit,
            });
        }
        shared
            .head
            .write()
            .raise_min_valid_time(max_t.saturating_add(1));
    }
    let defaults = CompactOptions::default();
    let mut writer = BlockWriter::create(
        &dir,
        WriteOptions {
            fs: shared.opts.fs.clone(),
            ..WriteOptions::default()
        },
    )?;
    let mut n_samples = 0u64;
    for (labels, samples) in &sorted {
        let chunks = encode_chunks(
            samples,
            defaults.max_samples_per_chunk,
            defaults.max_bytes_per_chunk,
        );
        writer.add_series(labels, &chunks)?;
        n_samples += samples.len() as u64;
    }
    if n_samples == 0 {
        return Ok((0, 0));
    }
    let meta = writer.finish()?;
    let block = crate::compact::loaded(Block::open_in(
        &*shared.opts.fs,
        &dir.join(meta.ulid.to_string()),
    )?);
    let mut blocks = shared.blocks.write().unwrap_or_else(|e| e.into_inner());
    blocks.push(block);
    blocks.sort_by_key(|b| (b.min_t, b.max_t));
    Ok((1, n_samples))
}
