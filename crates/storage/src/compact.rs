//! Compaction of the head into blocks, WAL truncation behind it, and retention.
//!
//! **Order of operations (the durability rule):** for an aligned range `[start, end)`:
//! 1. raise the head's lower bound to `end`, so no new sample can enter the range;
//! 2. write the range's chunks as a block (temporary directory, fsync, rename, fsync: the block
//!    writer's contract) and add it to the block list;
//! 3. only then drop the chunks from the head and truncate the WAL: segments whose samples all
//!    precede `end` are replaced by a checkpoint of the live series.
//!
//! A crash between 2 and 3 leaves the data in both the block and the WAL; replay skips WAL
//! samples before the newest block's end, so nothing is duplicated or lost.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::indexing_slicing))]

use std::path::Path;
use std::sync::Arc;

use promlite_model::{Labels, Matcher, Timestamp};
use roaring::RoaringBitmap;

use crate::block::{self, list_blocks_in, Block, CompactOptions};
use crate::db::{LoadedBlock, Shared};
use crate::head::{aligned_range_start, HeadChunk};
use crate::io::{FileSystem, Phase};
use crate::reader::{BlockReader, ChunkMeta, SeriesRef};
use crate::wal::bounds::{write_bounds, WalBounds};
use crate::wal::checkpoint::write_checkpoint;
use crate::wal::log::{list_checkpoints, list_segments};
use crate::{Error, Result};

/// True if the head spans more than 1.5 block ranges, so its oldest range can be compacted.
pub(crate) fn compaction_due(shared: &Shared) -> bool {
    let (min_t, max_t) = shared.head.read().time_range();
    if min_t > max_t {
        return false;
    }
    let range = shared.opts.block_range;
    let end = aligned_range_start(min_t, range).saturating_add(range);
    max_t >= end.saturating_add(range / 2)
}

/// Compacts due ranges (or, with `all`, everything) into blocks. Returns blocks written.
pub(crate) fn compact(shared: &Arc<Shared>, all: bool) -> Result<usize> {
    let Some(dir) = shared.dir.clone() else {
        return Ok(0);
    };
    let _guard = shared
        .compact_lock
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let range = shared.opts.block_range;
    let mut written = 0;
    loop {
        let (min_t, max_t) = shared.head.read().time_range();
        if min_t > max_t {
            break;
        }
        if !all && !compaction_due(shared) {
            break;
        }
        let start = aligned_range_start(min_t, range);
        // The last, partial range of a full flush ends just after the newest sample, so the
        // head keeps accepting newer samples of the same range.
        let end = start.saturating_add(range).min(if all {
            max_t.saturating_add(1)
        } else {
            Timestamp::MAX
        });
        let series = {
            // Raise the bound under the WAL lock: a commit checks it under the same lock, so no
            // sample below it can be logged afterwards (see `Appender::commit`).
            let _wal = shared.lock_wal();
            let mut head = shared.head.write();
            head.raise_min_valid_time(end);
            head.chunks_for_compaction(end)
        };
        shared.opts.fs.phase(Phase::HeadCompaction);
        if let Some(block) = persist_block(shared, &dir, start, end, series)? {
            let mut blocks = shared.blocks.write().unwrap_or_else(|e| e.into_inner());
            blocks.push(block);
            blocks.sort_by_key(|b| (b.min_t, b.max_t));
            written += 1;
        }
        shared.head.truncate(end);
        truncate_wal(shared, &dir.join("wal"), end)?;
    }
    drop(_guard);
    if written > 0 {
        compact_blocks(shared)?;
        apply_retention(shared)?;
    }
    Ok(written)
}

/// Thirty-one days in milliseconds: Prometheus's cap on the largest compacted block.
pub const MAX_BLOCK_DURATION_CAP: i64 = 31 * 24 * 60 * 60 * 1000;

/// The block ranges of leveled compaction, as Prometheus's `ExponentialBlockRanges(block_range,
/// 10, 3)`: `block_range`, ×3, ×9, ... up to the largest block duration, which is 10 % of the
/// retention time (when set) capped at 31 days.
pub fn compaction_ranges(opts: &crate::Options) -> Vec<i64> {
    let cap = match opts.retention_time {
        Some(ret) => {
            let ret_ms = i64::try_from(ret.as_millis()).unwrap_or(i64::MAX);
            (ret_ms / 10).min(MAX_BLOCK_DURATION_CAP)
        }
        None => MAX_BLOCK_DURATION_CAP,
    };
    let mut ranges = vec![opts.block_range];
    let mut next = opts.block_range;
    for _ in 1..10 {
        next = next.saturating_mul(3);
        if next > cap {
            break;
        }
        ranges.push(next);
    }
    ranges
}

/// The time range a block covers, as the planner sees it: `[min_t, max_t + 1)`.
fn span(b: &LoadedBlock) -> (Timestamp, Timestamp) {
    (b.min_t, b.max_t.saturating_add(1))
}

/// Which blocks to merge next, as indices into `blocks` (sorted by `(min_t, max_t)`), following
/// Prometheus's leveled planner (`tsdb/compact.go`):
/// 1. the first group of blocks that overlap in time (vertical compaction), else
/// 2. leaving out the newest block (by start), the first group of at least two blocks that
///    fall inside one aligned window of a larger range (`ranges[1..]`, smallest first) and
///    either fill the window or end before the newest block starts.
pub(crate) fn plan(blocks: &[LoadedBlock], ranges: &[i64]) -> Option<Vec<usize>> {
    // 1. Overlaps: consecutive blocks (by start) whose start is before the running end.
    let mut group: Vec<usize> = Vec::new();
    let mut group_end = Timestamp::MIN;
    for (i, b) in blocks.iter().enumerate() {
        let (start, end) = span(b);
        if !group.is_empty() && start < group_end {
            group.push(i);
            group_end = group_end.max(end);
            continue;
        }
        if group.len() > 1 {
            return Some(group);
        }
        group = vec![i];
        group_end = end;
    }
    if group.len() > 1 {
        return Some(group);
    }
    // 2. Leveled: the newest block stays out, so a block just cut from the head is not merged
    // before the next one exists.
    let newest_start = blocks.iter().map(|b| b.min_t).max()?;
    let candidates: Vec<usize> = {
        let newest = blocks.iter().rposition(|b| b.min_t == newest_start)?;
        (0..blocks.len()).filter(|&i| i != newest).collect()
    };
    for &window in ranges.iter().skip(1) {
        let mut current: Vec<usize> = Vec::new();
        let mut current_window = None;
        let flush = |part: &Vec<usize>| -> Option<Vec<usize>> {
            if part.len() < 2 {
                return None;
            }
            let first = blocks.get(*part.first()?)?;
            let last = blocks.get(*part.last()?)?;
            let (mint, _) = span(first);
            let (_, maxt) = span(last);
            (maxt - mint >= window || maxt <= newest_start).then(|| part.clone())
        };
        for &i in &candidates {
            let Some(b) = blocks.get(i) else { continue };
            let (start, end) = span(b);
            let w0 = aligned_range_start(start, window);
            // A block that crosses its window's end belongs to no window of this size.
            if end > w0.saturating_add(window) {
                if let Some(found) = flush(&current) {
                    return Some(found);
                }
                current.clear();
                current_window = None;
                continue;
            }
            if current_window != Some(w0) {
                if let Some(found) = flush(&current) {
                    return Some(found);
                }
                current.clear();
                current_window = Some(w0);
            }
            current.push(i);
        }
        if let Some(found) = flush(&current) {
            return Some(found);
        }
    }
    None
}

/// Merges blocks as [`plan`] picks them until nothing is left to merge. Each merge streams
/// series by series through [`block::compact`] (one series' samples in memory at a time), so
/// memory does not grow with block size. The merged block is renamed into place before its
/// sources are deleted; its meta names them as sources, so a crash in between (or a reader
/// listing in between) skips them. Returns the number of merges.
pub(crate) fn compact_blocks(shared: &Arc<Shared>) -> Result<usize> {
    let Some(dir) = shared.dir.clone() else {
        return Ok(0);
    };
    if shared.read_only.is_some() {
        return Ok(0);
    }
    let _guard = shared
        .compact_lock
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let ranges = compaction_ranges(&shared.opts);
    let mut merges = 0;
    loop {
        let group: Vec<LoadedBlock> = {
            let blocks = shared.read_blocks();
            let Some(picked) = plan(&blocks, &ranges) else {
                break;
            };
            picked
                .iter()
                .filter_map(|&i| blocks.get(i).cloned())
                .collect()
        };
        shared.opts.fs.phase(Phase::Merge);
        let readers: Vec<&dyn BlockReader> = group.iter().map(|b| &*b.reader).collect();
        // The group is in block order, so the later block's entry wins (the metadata rule).
        let mut metadata = crate::metadata::MetadataMap::new();
        for b in &group {
            crate::metadata::merge_into(&mut metadata, &b.metadata);
        }
        let opts = CompactOptions {
            write: block::WriteOptions {
                level: group.iter().map(|b| b.level).max().unwrap_or(1) + 1,
                sources: group.iter().map(|b| b.id).collect(),
                fs: shared.opts.fs.clone(),
                metadata: Arc::new(metadata),
                ..block::WriteOptions::default()
            },
            ..CompactOptions::default()
        };
        let merged = match block::compact(&dir, &readers, &opts)? {
            Some(meta) => Some(loaded(Block::open_in(
                &*shared.opts.fs,
                &dir.join(meta.ulid.to_string()),
            )?)),
            None => None,
        };
        {
            let mut blocks = shared.blocks.write().unwrap_or_else(|e| e.into_inner());
            blocks.retain(|b| !group.iter().any(|g| g.dir == b.dir));
            blocks.extend(merged);
            blocks.sort_by_key(|b| (b.min_t, b.max_t));
        }
        for b in &group {
            // Readers holding the block keep its memory maps valid after the files are unlinked.
            block::delete_block_in(&*shared.opts.fs, &b.dir)?;
        }
        merges += 1;
    }
    Ok(merges)
}

/// Replaces the WAL segments whose samples all precede `before` by a checkpoint.
fn truncate_wal(shared: &Shared, wal_dir: &Path, before: Timestamp) -> Result<()> {
    let snapshot = {
        let mut wal = shared.lock_wal();
        let Some(ws) = wal.as_mut() else {
            return Ok(());
        };
        ws.writer.cut()?;
        let mut cutoff = None;
        for (index, max_t) in ws.writer.closed_segments() {
            if max_t >= before {
                break;
            }
            cutoff = Some(index);
        }
        let Some(cutoff) = cutoff else { return Ok(()) };
        let head = shared.head.read();
        (
            cutoff,
            head.all_series(),
            head.next_ref(),
            head.min_valid_time(),
            head.metadata().clone(),
        )
    };
    let (cutoff, series, next_ref, min_valid_time, metadata) = snapshot;
    let fs = &*shared.opts.fs;
    fs.phase(Phase::Checkpoint);
    write_checkpoint(
        fs,
        wal_dir,
        cutoff,
        &series,
        next_ref,
        min_valid_time,
        &metadata,
    )?;
    // Record the new start before deleting what the checkpoint replaces (see `wal::bounds`).
    {
        let mut wal = shared.lock_wal();
        if let Some(ws) = wal.as_mut() {
            let bounds = WalBounds {
                first_segment: cutoff.saturating_add(1),
                checkpoint: Some(cutoff),
                min_valid_time: ws.bounds.min_valid_time,
            };
            write_bounds(fs, wal_dir, &bounds)?;
            ws.bounds = bounds;
        }
    }
    for (index, path) in list_segments(fs, wal_dir)? {
        if index <= cutoff {
            fs.remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    for (index, path) in list_checkpoints(fs, wal_dir)? {
        if index < cutoff {
            fs.remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    if let Some(ws) = shared.lock_wal().as_mut() {
        ws.writer.forget_segments(cutoff);
    }
    Ok(())
}

/// Deletes blocks beyond the retention limits, oldest first. Returns the number deleted.
pub(crate) fn apply_retention(shared: &Shared) -> Result<usize> {
    let opts = &shared.opts;
    if opts.retention_time.is_none() && opts.retention_size.is_none() {
        return Ok(0);
    }
    let mut doomed: Vec<LoadedBlock> = Vec::new();
    let newest_block_end;
    {
        let mut blocks = shared.blocks.write().unwrap_or_else(|e| e.into_inner());
        newest_block_end = blocks
            .iter()
            .map(|b| b.max_t)
            .max()
            .unwrap_or(Timestamp::MIN);
        if let Some(ret) = opts.retention_time {
            let newest = blocks
                .iter()
                .map(|b| b.max_t)
                .chain([shared.head.read().time_range().1])
                .max();
            if let Some(newest) = newest {
                let ret_ms = i64::try_from(ret.as_millis()).unwrap_or(i64::MAX);
                let cutoff = newest.saturating_sub(ret_ms);
                let (old, keep): (Vec<_>, Vec<_>) =
                    blocks.drain(..).partition(|b| b.max_t < cutoff);
                *blocks = keep;
                doomed.extend(old);
            }
        }
        if let Some(limit) = opts.retention_size {
            let wal_bytes = shared
                .dir
                .as_ref()
                .map_or(0, |d| dir_size(&*opts.fs, &d.join("wal")));
            let mut total: u64 = blocks.iter().map(|b| b.size_bytes).sum::<u64>() + wal_bytes;
            while total > limit && !blocks.is_empty() {
                let b = blocks.remove(0);
                total = total.saturating_sub(b.size_bytes);
                doomed.push(b);
            }
        }
    }
    if doomed.is_empty() {
        return Ok(0);
    }
    opts.fs.phase(Phase::Retention);
    // Reopening skips WAL samples up to the newest block's end (they are in blocks). Deleting
    // blocks would lower that bound, or remove it with the last block, and let a replay revive
    // deleted samples from segments not yet truncated; so record the bound a reopen uses now
    // in `wal/bounds` first (issue 13, `retention_never_revives_deleted_samples_from_the_wal`).
    let before_end = newest_block_end.saturating_add(1);
    if let (Some(dir), Some(ws)) = (shared.dir.as_ref(), shared.lock_wal().as_mut()) {
        if before_end > ws.bounds.min_valid_time {
            let bounds = WalBounds {
                min_valid_time: before_end,
                ..ws.bounds
            };
            write_bounds(&*opts.fs, &dir.join("wal"), &bounds)?;
            ws.bounds = bounds;
        }
    }
    for b in &doomed {
        // Readers holding the block keep its memory maps valid after the files are unlinked.
        block::delete_block_in(&*opts.fs, &b.dir)?;
    }
    Ok(doomed.len())
}

/// Total size of the regular files directly inside `dir`.
pub(crate) fn dir_size(fs: &dyn FileSystem, dir: &Path) -> u64 {
    let Ok(entries) = fs.read_dir(dir) else {
        return 0;
    };
    entries
        .into_iter()
        .filter(|e| !e.is_dir)
        .filter_map(|e| fs.file_len(&e.path).ok().flatten())
        .sum()
}

/// Loads every block directory in `dir`, sorted by time. Blocks that a present block lists as
/// its compaction sources (a merge interrupted after its output was renamed into place) are
/// deleted: their data is in the merged block.
pub(crate) fn load_blocks(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<LoadedBlock>> {
    let mut out = Vec::new();
    for path in list_blocks_in(fs, dir)? {
        out.push(loaded(Block::open_in(fs, &path)?));
    }
    let superseded: std::collections::HashSet<block::BlockId> =
        out.iter().flat_map(|b| b.sources.iter().copied()).collect();
    let (stale, mut out): (Vec<_>, Vec<_>) =
        out.into_iter().partition(|b| superseded.contains(&b.id));
    for b in stale {
        let dir = b.dir.clone();
        drop(b);
        block::delete_block_in(fs, &dir)?;
    }
    out.sort_by_key(|b| (b.min_t, b.max_t));
    Ok(out)
}

pub(crate) fn loaded(block: Block) -> LoadedBlock {
    let meta = block.meta();
    LoadedBlock {
        id: meta.ulid,
        level: meta.compaction.level,
        sources: meta.compaction.sources.clone(),
        dir: block.dir().to_path_buf(),
        min_t: meta.min_time,
        max_t: meta.max_time,
        size_bytes: block.size_bytes(),
        runs: crate::owner::new_block_cell(),
        metadata: block.metadata().clone(),
        reader: Arc::new(block),
    }
}

/// Writes one block covering `[start, end)` from head chunks sorted by labels. Chunks are
/// re-encoded by the block merger into the block's larger chunk size.
fn persist_block(
    shared: &Shared,
    dir: &Path,
    start: Timestamp,
    end: Timestamp,
    series: Vec<(Labels, Vec<HeadChunk>)>,
) -> Result<Option<LoadedBlock>> {
    let snapshot = SnapshotReader { series };
    let mut opts = CompactOptions {
        time_range: Some((start, end.saturating_sub(1))),
        ..CompactOptions::default()
    };
    opts.write.fs = shared.opts.fs.clone();
    // Every block cut from the head carries the head's metadata as of the cut, so the block
    // describes its series even after the head forgets them.
    opts.write.metadata = Arc::new(shared.head.read().metadata().clone());
    let Some(meta) = block::compact(dir, &[&snapshot], &opts)? else {
        return Ok(None);
    };
    let block_dir = dir.join(meta.ulid.to_string());
    Ok(Some(loaded(Block::open_in(&*shared.opts.fs, &block_dir)?)))
}

/// Head chunks taken for compaction, sorted by labels, seen as a [`BlockReader`] whose refs are
/// positions in that order.
struct SnapshotReader {
    series: Vec<(Labels, Vec<HeadChunk>)>,
}

impl BlockReader for SnapshotReader {
    fn time_range(&self) -> (Timestamp, Timestamp) {
        let min = self
            .series
            .iter()
            .filter_map(|(_, c)| c.first().map(|c| c.min_t))
            .min();
        let max = self
            .series
            .iter()
            .filter_map(|(_, c)| c.last().map(|c| c.max_t))
            .max();
        (min.unwrap_or(Timestamp::MAX), max.unwrap_or(Timestamp::MIN))
    }

    fn postings(&self, matchers: &[Matcher]) -> Result<RoaringBitmap> {
        let mut out = RoaringBitmap::new();
        for (i, (labels, _)) in self.series.iter().enumerate() {
            if matchers
                .iter()
                .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
            {
                out.insert(i as SeriesRef);
            }
        }
        Ok(out)
    }

    fn sorted_postings(&self, postings: &RoaringBitmap) -> Result<Vec<SeriesRef>> {
        Ok(postings.iter().collect())
    }

    fn series_labels(&self, series: SeriesRef) -> Result<Labels> {
        self.series
            .get(series as usize)
            .map(|(l, _)| l.clone())
            .ok_or(Error::UnknownSeriesRef(series))
    }

    fn series_chunks(
        &self,
        series: SeriesRef,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<ChunkMeta>,
    ) -> Result<()> {
        let (_, chunks) = self
            .series
            .get(series as usize)
            .ok_or(Error::UnknownSeriesRef(series))?;
        out.extend(
            chunks
                .iter()
                .filter(|c| c.max_t >= mint && c.min_t <= maxt)
                .map(|c| ChunkMeta {
                    min_time: c.min_t,
                    max_time: c.max_t,
                    data: c.data.clone(),
                }),
        );
        Ok(())
    }

    fn label_names(&self, _matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .series
            .iter()
            .flat_map(|(l, _)| l.iter().map(|x| x.name.to_string()).collect::<Vec<_>>())
            .collect();
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, _matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut values: Vec<String> = self
            .series
            .iter()
            .filter_map(|(l, _)| l.get(name).map(str::to_string))
            .collect();
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }
}
