//! Bulk loading: samples of one input (a replayed file) written straight into level-1 blocks,
//! without the head and the WAL. Used by replay when the replay ends in a flush anyway, so
//! writing every sample to the WAL and then again into a block would be wasted work.
//!
//! **Input order.** Samples may arrive in any order across series and across aligned block
//! ranges (a file grouped by metric family, one family years before the next). Within one
//! series *and one aligned range* they follow the head's append-only rule: a sample older than
//! the series' newest in that range is [`Error::OutOfOrder`], the same timestamp with another
//! value is [`Error::DuplicateTimestamp`], a bitwise duplicate is ignored. That is
//! `promtool tsdb create-blocks-from openmetrics`'s rule too (it appends each block range to a
//! head of its own), and for input whose series are each in time order it is exactly the
//! head's: replaying such input through the head gives the same samples.
//!
//! **Memory** is bounded by [`BulkWriter::DEFAULT_BUDGET_BYTES`] (or the budget given to
//! [`Db::bulk_writer_with_budget`]), whatever the input's size: per (series, range) the
//! writer keeps one open appendable XOR chunk and [`BULK_BUFFER_OVERHEAD`] bytes of
//! bookkeeping; a chunk is sealed (encoded as the block will hold it) when it fills, and
//! sealed chunks wait in a scratch *spool* file in the data directory (`.bulk-<id>.spool`,
//! removed when the writer is done), memory holding only their positions. At the budget the
//! writer seals the open chunks of idle series, then all open chunks, and only then writes
//! every range out as a block (a *spill*); blocks of later spills overlap earlier ones in time
//! and are merged vertically by compaction, exactly as overlapping backfill blocks are.
//! Besides the budget, the writer keeps one [`Labels`] handle per series.
//!
//! **Blocks** are encoded as the head's flush encodes them (chunks cut as `encode_chunks` cuts
//! them with [`CompactOptions`]' limits, each the smallest of XOR, XOR-float and packed),
//! carry the metric metadata given so far, and are durable (files and directories fsynced,
//! renamed into place) when [`BulkWriter::finish`] returns. Like backfill blocks, writing one
//! raises the head's lower bound past its newest sample under the WAL lock, so a later head
//! sample can never be older than a block end and be dropped by a reopen; the head must hold
//! no sample inside the bulk data's time span ([`Error::OutOfOrder`] otherwise).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::indexing_slicing))]

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use promlite_chunk::{XorDecoder, XorEncoder};
use promlite_model::{Labels, Timestamp};
use rayon::prelude::*;

use crate::block::{seal_chunk, Block, BlockId, BlockWriter, CompactOptions, WriteOptions};
use crate::bytes::SharedBytes;
use crate::db::{Db, Shared};
use crate::head::aligned_range_start;
use crate::metadata::{MetadataMap, MetricMetadata};
use crate::reader::ChunkMeta;
use crate::{Error, Result};

/// Bytes counted per (series, range) buffer on top of its encoded samples: the encoder, its
/// vector and the bookkeeping around it.
pub const BULK_BUFFER_OVERHEAD: usize = 160;

/// What [`BulkWriter::finish`] (and the spills before it) wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkStats {
    /// Level-1 blocks written (before compaction merged any).
    pub blocks: usize,
    /// Samples written (bitwise duplicates not counted).
    pub samples: u64,
    /// Times the buffer reached its budget and every range was written out as a block early.
    pub spills: usize,
    /// Chunks sealed before they were full to relieve the buffer.
    pub early_seals: u64,
    /// The largest number of bytes buffered at once.
    pub peak_buffered_bytes: usize,
}

/// A sealed chunk in the spool file.
#[derive(Debug, Clone, Copy)]
struct Spooled {
    offset: u64,
    len: u32,
    min_t: Timestamp,
    max_t: Timestamp,
}

/// Bytes counted per sealed chunk (its reference in memory; the bytes are in the spool).
const CHUNK_OVERHEAD: usize = std::mem::size_of::<Spooled>();

/// The scratch file sealed chunks wait in until their block is written: memory holds only
/// their positions. Not a durable structure (a crash leaves a file the next bulk writer on
/// the directory removes); written and read through `std::fs` directly.
#[derive(Debug)]
struct Spool {
    path: PathBuf,
    writer: BufWriter<File>,
    len: u64,
}

impl Spool {
    fn create(dir: &Path) -> Result<Spool> {
        remove_leftover_spools(dir);
        let path = dir.join(format!("{SPOOL_PREFIX}{}{SPOOL_SUFFIX}", BlockId::new()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Spool {
            path,
            writer: BufWriter::with_capacity(1 << 20, file),
            len: 0,
        })
    }

    fn append(&mut self, chunk: &ChunkMeta) -> Result<Spooled> {
        let data = chunk.data.as_slice();
        let len = u32::try_from(data.len())
            .map_err(|_| Error::InvalidBlockInput("chunk larger than 4 GiB".into()))?;
        self.writer
            .write_all(data)
            .map_err(|e| Error::io(&self.path, e))?;
        let offset = self.len;
        self.len += u64::from(len);
        Ok(Spooled {
            offset,
            len,
            min_t: chunk.min_time,
            max_t: chunk.max_time,
        })
    }

    /// Makes everything appended readable.
    fn flush(&mut self) -> Result<()> {
        self.writer.flush().map_err(|e| Error::io(&self.path, e))
    }

    /// The chunks `refs` back (call [`Spool::flush`] first); contiguous ones in one read.
    fn read(&self, refs: &[Spooled]) -> Result<Vec<ChunkMeta>> {
        let file = self.writer.get_ref();
        let read = |offset: u64, len: u64| -> Result<Vec<u8>> {
            let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
            file.read_exact_at(&mut buf, offset)
                .map_err(|e| Error::io(&self.path, e))?;
            Ok(buf)
        };
        let (Some(first), Some(last)) = (refs.first(), refs.last()) else {
            return Ok(Vec::new());
        };
        let contiguous = refs
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.offset + u64::from(a.len) == b.offset));
        let mut out = Vec::with_capacity(refs.len());
        if contiguous {
            let all = read(
                first.offset,
                last.offset + u64::from(last.len) - first.offset,
            )?;
            let mut at = 0usize;
            for r in refs {
                let end = at + r.len as usize;
                let data = all.get(at..end).unwrap_or_default().to_vec();
                at = end;
                out.push(ChunkMeta {
                    min_time: r.min_t,
                    max_time: r.max_t,
                    data: SharedBytes::from_vec(data),
                });
            }
        } else {
            for r in refs {
                out.push(ChunkMeta {
                    min_time: r.min_t,
                    max_time: r.max_t,
                    data: SharedBytes::from_vec(read(r.offset, u64::from(r.len))?),
                });
            }
        }
        Ok(out)
    }

    /// Forgets everything (all its chunks were written into blocks).
    fn reset(&mut self) -> Result<()> {
        self.flush()?;
        self.writer
            .get_ref()
            .set_len(0)
            .map_err(|e| Error::io(&self.path, e))?;
        self.writer
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&self.path, e))?;
        self.len = 0;
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

const SPOOL_PREFIX: &str = ".bulk-";
const SPOOL_SUFFIX: &str = ".spool";

/// Removes spool files a crashed bulk load left in `dir` (best effort).
fn remove_leftover_spools(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(SPOOL_PREFIX) && name.ends_with(SPOOL_SUFFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// One series' samples in one aligned range: its sealed chunks (in the spool) and the open
/// one. Chunks are cut where `encode_chunks` cuts them (an encoder with the compactor's limits
/// reports full or refuses a sample), so the block holds exactly what a flush writes, unless
/// memory pressure seals an open chunk early (see [`BulkWriter::relieve`]).
#[derive(Debug)]
struct RangeBuf {
    start: Timestamp,
    sealed: Vec<Spooled>,
    open: Option<XorEncoder>,
    /// The newest sample (time, value bits), once there is one.
    last: Option<(Timestamp, u64)>,
    /// The writer's sweep count at the last append.
    touched: u32,
}

impl RangeBuf {
    /// Seals the open chunk, if any, into the spool; returns the change in buffered bytes.
    fn seal(&mut self, spool: &mut Spool) -> Result<isize> {
        let Some(enc) = self.open.take() else {
            return Ok(0);
        };
        let before = enc.bytes().len() as isize;
        let Some(chunk) = finish_open(enc)? else {
            return Ok(-before);
        };
        self.sealed.push(spool.append(&chunk)?);
        Ok(CHUNK_OVERHEAD as isize - before)
    }

    /// Appends a sample newer than `last`; returns the change in buffered bytes.
    fn push(
        &mut self,
        t: Timestamp,
        v: f64,
        limits: (u16, usize),
        spool: &mut Spool,
    ) -> Result<isize> {
        let mut delta = 0isize;
        if let Some(enc) = self.open.as_mut() {
            let before = enc.bytes().len();
            if enc.append(t, v).is_ok() {
                delta += enc.bytes().len() as isize - before as isize;
                if enc.is_full() {
                    delta += self.seal(spool)?;
                }
                return Ok(delta);
            }
            // Full or a gap it cannot hold: cut, as `encode_chunks` does.
            delta += self.seal(spool)?;
        }
        let mut enc = XorEncoder::with_limits(limits.0, limits.1);
        if enc.append(t, v).is_err() {
            // Limits too small for even one sample: a chunk of its own.
            enc = XorEncoder::with_limits(1, usize::MAX);
            if enc.append(t, v).is_err() {
                return Err(Error::InvalidOption(format!(
                    "sample at {t} cannot be encoded"
                )));
            }
        }
        delta += enc.bytes().len() as isize;
        let full = enc.is_full();
        self.open = Some(enc);
        if full {
            delta += self.seal(spool)?;
        }
        Ok(delta)
    }
}

/// The block chunk of an open encoder's samples (see `seal_chunk`).
fn finish_open(enc: XorEncoder) -> Result<Option<ChunkMeta>> {
    let mut group = Vec::with_capacity(usize::from(enc.num_samples()));
    XorDecoder::new(enc.bytes())
        .and_then(|mut d| d.decode_into(&mut group))
        .map_err(|e| Error::InvalidBlockInput(format!("bulk buffer: {e}")))?;
    Ok(seal_chunk(enc, &group))
}

/// Per series: its labels and its buffers, sorted by range start.
#[derive(Debug, Default)]
struct SeriesBuf {
    labels: Option<Labels>,
    ranges: Vec<RangeBuf>,
    /// Index into `ranges` of the last range appended to (the usual next target).
    last: usize,
}

/// Writes samples straight into blocks; obtained from [`Db::bulk_writer`]. Dropping it without
/// [`finish`](Self::finish) discards the buffered samples (spilled blocks stay).
#[derive(Debug)]
pub struct BulkWriter {
    shared: Arc<Shared>,
    budget: usize,
    series: Vec<SeriesBuf>,
    buffered_bytes: usize,
    /// Aligned range starts with at least one buffer, and how many series use them.
    ranges: BTreeMap<Timestamp, usize>,
    metadata: MetadataMap,
    stats: BulkStats,
    /// Chunk limits (samples, bytes): the compactor's.
    limits: (u16, usize),
    spool: Spool,
    /// How many times [`BulkWriter::relieve`] swept the open chunks.
    sweep: u32,
}

impl Db {
    /// A [`BulkWriter`] with the default memory budget.
    pub fn bulk_writer(&self) -> Result<BulkWriter> {
        self.bulk_writer_with_budget(BulkWriter::DEFAULT_BUDGET_BYTES)
    }

    /// A [`BulkWriter`] buffering at most about `budget` bytes before it writes blocks. Fails
    /// on a read-only or in-memory database.
    pub fn bulk_writer_with_budget(&self, budget: usize) -> Result<BulkWriter> {
        self.shared.check_writable()?;
        let Some(dir) = self.shared.dir.as_deref() else {
            return Err(Error::InvalidOption(
                "bulk loading needs a data directory (an in-memory database has no blocks)".into(),
            ));
        };
        let spool = Spool::create(dir)?;
        Ok(BulkWriter {
            spool,
            sweep: 0,
            shared: self.shared.clone(),
            budget: budget.max(1),
            series: Vec::new(),
            buffered_bytes: 0,
            ranges: BTreeMap::new(),
            metadata: MetadataMap::new(),
            stats: BulkStats::default(),
            limits: {
                let defaults = CompactOptions::default();
                (defaults.max_samples_per_chunk, defaults.max_bytes_per_chunk)
            },
        })
    }
}

impl BulkWriter {
    /// The default buffer budget: 64 MiB. The buffer holds the open chunks and, per sealed
    /// chunk, its place in the spool file; it is relieved at the budget (see `relieve`).
    pub const DEFAULT_BUDGET_BYTES: usize = 64 << 20;

    /// Buffers a sample of the series with the caller's dense id `series` (ids start at 0 and
    /// should be dense: the writer keeps a slot per id up to the largest). `labels` is used the
    /// first time the id is seen and must be the same label set on every call with that id.
    ///
    /// Errors: [`Error::EmptyLabels`]; [`Error::OutOfOrder`] or [`Error::DuplicateTimestamp`]
    /// by the rule in the module docs (nothing is buffered then, and the writer stays usable);
    /// a write error from a spill.
    pub fn append(&mut self, series: u32, labels: &Labels, t: Timestamp, v: f64) -> Result<()> {
        let idx = series as usize;
        if self.series.len() <= idx {
            if labels.is_empty() {
                return Err(Error::EmptyLabels);
            }
            self.series.resize_with(idx + 1, SeriesBuf::default);
        }
        let range = self.shared.opts.block_range;
        let start = aligned_range_start(t, range);
        let Some(entry) = self.series.get_mut(idx) else {
            return Err(Error::InvalidOption("series id out of range".into()));
        };
        if entry.labels.is_none() {
            if labels.is_empty() {
                return Err(Error::EmptyLabels);
            }
            entry.labels = Some(labels.clone());
        }
        let pos = match entry.ranges.get(entry.last) {
            Some(r) if r.start == start => entry.last,
            _ => match entry.ranges.binary_search_by_key(&start, |r| r.start) {
                Ok(pos) => pos,
                Err(pos) => {
                    entry.ranges.insert(
                        pos,
                        RangeBuf {
                            start,
                            sealed: Vec::new(),
                            open: None,
                            last: None,
                            touched: 0,
                        },
                    );
                    *self.ranges.entry(start).or_insert(0) += 1;
                    self.buffered_bytes += BULK_BUFFER_OVERHEAD;
                    pos
                }
            },
        };
        entry.last = pos;
        let Some(buf) = entry.ranges.get_mut(pos) else {
            return Err(Error::InvalidOption("range index out of bounds".into()));
        };
        if let Some((last_t, last_v)) = buf.last {
            if t < last_t {
                return Err(Error::OutOfOrder {
                    series: labels.to_string(),
                    t,
                    newest: last_t,
                });
            }
            if t == last_t {
                if v.to_bits() == last_v {
                    return Ok(());
                }
                return Err(Error::DuplicateTimestamp {
                    series: labels.to_string(),
                    t,
                    value: v,
                    stored: f64::from_bits(last_v),
                });
            }
        }
        let delta = buf.push(t, v, self.limits, &mut self.spool)?;
        buf.last = Some((t, v.to_bits()));
        buf.touched = self.sweep;
        self.buffered_bytes = self.buffered_bytes.saturating_add_signed(delta);
        self.note_buffered();
        self.spill_if_full()
    }

    /// Records `metadata` for the family `metric` (the latest call wins); every block written
    /// afterwards carries all metadata recorded so far.
    pub fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
        self.metadata.insert(metric.to_string(), metadata);
    }

    /// Bytes buffered now (see the module docs).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    /// Writes everything buffered as blocks, makes them durable, then compacts (merging the
    /// blocks of spills vertically) and applies retention if automatic compaction is on.
    /// Returns what this writer wrote over its life.
    pub fn finish(mut self) -> Result<BulkStats> {
        let wrote = self.write_all()? || self.stats.blocks > 0;
        if wrote && self.shared.opts.auto_compact {
            crate::compact::compact_blocks(&self.shared)?;
            crate::compact::apply_retention(&self.shared)?;
        }
        Ok(self.stats)
    }

    fn note_buffered(&mut self) {
        self.stats.peak_buffered_bytes = self.stats.peak_buffered_bytes.max(self.buffered_bytes);
    }

    fn spill_if_full(&mut self) -> Result<()> {
        if self.buffered_bytes >= self.budget {
            self.relieve()?;
        }
        Ok(())
    }

    /// Brings the buffer under half its budget, trying in turn: sealing the open chunks of
    /// series not appended to since the last sweep (a file grouped by series is done with
    /// them), sealing every open chunk, writing every range as a block. Sealing early cuts a
    /// chunk before it is full (a later sample of its series and range starts another), which
    /// changes the chunk layout but never a sample.
    fn relieve(&mut self) -> Result<()> {
        let target = self.budget / 2;
        for idle_only in [true, false] {
            let sweep = self.sweep;
            let mut delta = 0isize;
            for s in &mut self.series {
                for buf in &mut s.ranges {
                    if buf.open.is_some() && (!idle_only || buf.touched < sweep) {
                        delta += buf.seal(&mut self.spool)?;
                        self.stats.early_seals += 1;
                    }
                }
            }
            self.sweep = self.sweep.wrapping_add(1);
            self.buffered_bytes = self.buffered_bytes.saturating_add_signed(delta);
            if self.buffered_bytes < target {
                return Ok(());
            }
        }
        self.stats.spills += 1;
        self.write_all()?;
        Ok(())
    }

    /// Writes one block per buffered range and empties the buffers. True if a block was
    /// written.
    fn write_all(&mut self) -> Result<bool> {
        let mut wrote = false;
        let starts: Vec<Timestamp> = self.ranges.keys().copied().collect();
        for start in starts {
            wrote |= self.write_range(start)?;
        }
        self.ranges.clear();
        for s in &mut self.series {
            s.ranges.clear();
            s.last = 0;
        }
        self.buffered_bytes = 0;
        self.spool.reset()?;
        Ok(wrote)
    }

    /// Writes the buffers of range `start` as one block (series sorted by labels).
    fn write_range(&mut self, start: Timestamp) -> Result<bool> {
        let Some(dir) = self.shared.dir.clone() else {
            return Err(Error::InvalidOption(
                "bulk loading needs a data directory".into(),
            ));
        };
        // Take this range's buffers out of every series.
        let mut taken: Vec<(Labels, RangeBuf)> = Vec::new();
        for s in &mut self.series {
            let Ok(pos) = s.ranges.binary_search_by_key(&start, |r| r.start) else {
                continue;
            };
            let buf = s.ranges.remove(pos);
            s.last = 0;
            if let Some(labels) = &s.labels {
                taken.push((labels.clone(), buf));
            }
        }
        self.ranges.remove(&start);
        if taken.is_empty() {
            return Ok(false);
        }
        taken.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // Serialised with compaction and retention, as every block write is.
        let compact_lock = self.shared.clone();
        let _compacting = compact_lock
            .compact_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let max_t = taken
            .iter()
            .filter_map(|(_, b)| b.last.map(|(t, _)| t))
            .max()
            .unwrap_or(Timestamp::MIN);
        seal_head_below(&self.shared, max_t)?;

        let mut writer = BlockWriter::create(
            &dir,
            WriteOptions {
                fs: self.shared.opts.fs.clone(),
                metadata: Arc::new(self.metadata.clone()),
                ..WriteOptions::default()
            },
        )?;
        // Seal the open chunks in parallel batches, write in label order.
        self.spool.flush()?;
        const BATCH: usize = 4096;
        let mut n_samples = 0u64;
        let mut rest = taken;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(BATCH));
            let batch = std::mem::replace(&mut rest, tail);
            type Sealed = (Labels, Vec<Spooled>, Option<ChunkMeta>);
            let sealed: Vec<Result<Sealed>> = batch
                .into_par_iter()
                .map(|(labels, buf)| {
                    let open = buf.open.map(finish_open).transpose()?.flatten();
                    Ok((labels, buf.sealed, open))
                })
                .collect();
            for item in sealed {
                let (labels, refs, open) = item?;
                let mut chunks = self.spool.read(&refs)?;
                chunks.extend(open);
                for chunk in &chunks {
                    n_samples +=
                        u64::from(promlite_chunk::num_samples(chunk.data.as_slice()).unwrap_or(0));
                }
                writer.add_series(&labels, &chunks)?;
            }
        }
        if n_samples == 0 {
            return Ok(false);
        }
        let meta = writer.finish()?;
        let block = crate::compact::loaded(Block::open_in(
            &*self.shared.opts.fs,
            &dir.join(meta.ulid.to_string()),
        )?);
        {
            let mut blocks = self
                .shared
                .blocks
                .write()
                .unwrap_or_else(|e| e.into_inner());
            blocks.push(block);
            blocks.sort_by_key(|b| (b.min_t, b.max_t));
        }
        self.stats.blocks += 1;
        self.stats.samples += n_samples;
        Ok(true)
    }
}

/// Raises the head's lower bound past `max_t` under the WAL lock (see the module docs), after
/// checking the head holds nothing at or before it.
fn seal_head_below(shared: &Shared, max_t: Timestamp) -> Result<()> {
    let _wal = shared.lock_wal();
    let mut head = shared.head.write();
    let (min_t, head_max) = head.time_range();
    if min_t <= head_max && min_t <= max_t {
        return Err(Error::OutOfOrder {
            series: "a bulk-loaded series".into(),
            t: max_t,
            newest: min_t,
        });
    }
    head.raise_min_valid_time(max_t.saturating_add(1));
    Ok(())
}
