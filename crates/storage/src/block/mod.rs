//! Immutable on-disk blocks: a directory holding a label index, chunk segment files and
//! `meta.json`, written once and then read through memory maps. Layout in `docs/format/block.md`.
//!
//! ```text
//! <data dir>/<block id>/
//!     meta.json          id, time range, counts, compaction level (human-readable)
//!     index              symbols, series, label table, roaring postings (index/*)
//!     chunks/000001      chunk runs, one per series, each followed by its CRC32
//! ```
//!
//! **Architecture invariant:** a block directory is immutable once it has its final name. It is
//! written as `<id>.tmp`, every file and the directory are fsynced, then it is renamed into place
//! and the parent directory is fsynced. A directory whose name is not a block id (such as a
//! leftover `.tmp`) is never opened as a block.
//!
//! Entry points: [`write_block`] / [`BlockWriter`] to persist series, [`Block::open`] to read one
//! (it implements [`crate::reader::BlockReader`]), [`compact`] to merge blocks or any other
//! `BlockReader`s into one block, optionally dropping samples outside a time range.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod merge;
mod mmap;
mod reader;
mod writer;

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use promlite_model::Timestamp;
use serde::{Deserialize, Serialize};

pub(crate) use merge::{encode_chunks, seal_chunk};
pub(crate) use mmap::map_file;

pub use merge::{compact, CompactOptions};
pub use reader::Block;
pub use writer::{write_block, BlockWriter, WriteOptions};

use crate::io::{FileSystem, RealFs};
use crate::{Error, Result};

/// Version of the block layout recorded in `meta.json`.
pub const BLOCK_VERSION: u32 = 1;

/// File name of the metadata file.
pub const META_FILE: &str = "meta.json";
/// File name of the index.
pub const INDEX_FILE: &str = "index";
/// Directory of the chunk segments.
pub const CHUNKS_DIR: &str = "chunks";

/// Magic number at the start of every chunk segment file: `PLCK`.
pub const SEGMENT_MAGIC: [u8; 4] = *b"PLCK";
/// Chunk segment format version.
pub const SEGMENT_VERSION: u8 = 1;
/// Bytes of a segment header: magic, version, three zero bytes.
pub const SEGMENT_HEADER_LEN: usize = 8;
/// A new segment is started before a run would take a segment past this size (a run larger
/// than this gets a segment of its own).
pub const DEFAULT_SEGMENT_SIZE: u64 = 512 << 20;

/// Suffix of a block directory being written.
pub const TMP_SUFFIX: &str = ".tmp";

/// A block id: 128 bits, written as 26 characters of Crockford base32 like a ULID. The top 48
/// bits are the creation time in milliseconds, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlockId(pub u128);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl BlockId {
    /// A fresh id: the current time and 80 bits from a randomly keyed hasher.
    pub fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let ms = (now.as_millis() as u64) & ((1 << 48) - 1);
        // RandomState is seeded from the OS per process; the counter and clock separate calls.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(now.as_nanos());
        h.write_u32(std::process::id());
        let r1 = h.finish();
        h.write_u64(r1);
        let r2 = h.finish() & 0xffff;
        Self((u128::from(ms) << 80) | (u128::from(r1) << 16) | u128::from(r2))
    }

    /// Parses the 26-character form. Only the canonical upper-case spelling is accepted, so a
    /// flipped case bit in `meta.json` is caught as corruption.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 26 {
            return None;
        }
        let mut v: u128 = 0;
        for (i, c) in s.bytes().enumerate() {
            let d = CROCKFORD.iter().position(|&x| x == c)? as u128;
            // The first character carries only the top 3 bits.
            if i == 0 && d > 7 {
                return None;
            }
            v = (v << 5) | d;
        }
        Some(Self(v))
    }
}

impl Default for BlockId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 26];
        for (i, slot) in buf.iter_mut().enumerate() {
            let shift = 5 * (25 - i);
            *slot = CROCKFORD
                .get(((self.0 >> shift) & 31) as usize)
                .copied()
                .unwrap_or(b'0');
        }
        f.write_str(std::str::from_utf8(&buf).unwrap_or("?"))
    }
}

impl From<BlockId> for String {
    fn from(id: BlockId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for BlockId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        BlockId::parse(&s).ok_or_else(|| format!("invalid block id {s:?}"))
    }
}

/// Counts recorded in a block's metadata.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BlockStats {
    /// Number of series.
    pub num_series: u64,
    /// Number of chunks.
    pub num_chunks: u64,
    /// Number of samples.
    pub num_samples: u64,
}

/// Compaction history of a block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CompactionMeta {
    /// 1 for a block written from the head, 1 + the highest source level for a compacted block.
    pub level: u32,
    /// Ids of the blocks this one replaces (empty for a level-1 block).
    pub sources: Vec<BlockId>,
}

/// The contents of `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BlockMeta {
    /// Block id; also the directory name.
    pub ulid: BlockId,
    /// Timestamp of the oldest sample (inclusive). `i64::MAX` for an empty block.
    pub min_time: Timestamp,
    /// Timestamp of the newest sample (inclusive). `i64::MIN` for an empty block.
    pub max_time: Timestamp,
    /// Counts.
    pub stats: BlockStats,
    /// Compaction history.
    pub compaction: CompactionMeta,
    /// Block layout version ([`BLOCK_VERSION`]).
    pub version: u32,
}

/// Block directories directly inside `dir`, sorted by id: every directory whose name is a
/// [`BlockId`]. Leftover `<id>.tmp` directories from interrupted writes or deletions are
/// removed (a block only gets its final name once complete, see the module docs).
///
/// Errors: [`Error::Corruption`] for a directory with a block id as its name but no
/// `meta.json`. Such a directory cannot come from a crash (the writer renames a block into place
/// only after its metadata is durable, and deletion renames it away first), so it is damage,
/// and skipping it would lose its data silently and reopen its time range to writes.
pub fn list_blocks(dir: &Path) -> Result<Vec<PathBuf>> {
    list_blocks_in(&RealFs, dir)
}

/// [`list_blocks`] through the file system `fs`.
pub fn list_blocks_in(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs.read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.path;
        let Some(name) = entry.name.to_str() else {
            continue;
        };
        if !entry.is_dir {
            continue;
        }
        if let Some(stem) = name.strip_suffix(TMP_SUFFIX) {
            if BlockId::parse(stem).is_some() {
                fs.remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            }
            continue;
        }
        if let Some(id) = BlockId::parse(name) {
            let meta = path.join(META_FILE);
            match fs.file_len(&meta).map_err(|e| Error::io(&meta, e))? {
                Some(_) => out.push((id, path)),
                None => {
                    return Err(Error::Corruption {
                        path: meta,
                        offset: 0,
                        detail: format!(
                            "block directory {name} has no {META_FILE}: the block is damaged \
                             (its data would be lost and its time range reopened to writes); \
                             restore the file or remove the directory with `promlite repair`"
                        ),
                        checksum: None,
                    })
                }
            }
        }
    }
    out.sort();
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

/// Block directories directly inside `dir` as [`list_blocks`] finds them (names that parse as a
/// [`BlockId`]), sorted by id, without removing anything: the listing of a read-only reader,
/// which must never change the directory. Leftover `<id>.tmp` directories (a block being
/// written or deleted by the writer) are skipped; a block directory without `meta.json` is
/// corruption, as for the writer (a block appears by one rename of a complete directory and
/// disappears by a rename to `.tmp`, so a reader never sees one half-made).
pub fn list_block_dirs_in(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<(BlockId, PathBuf)>> {
    let entries = fs.read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        if !entry.is_dir {
            continue;
        }
        let Some(id) = entry.name.to_str().and_then(BlockId::parse) else {
            continue;
        };
        let meta = entry.path.join(META_FILE);
        match fs.file_len(&meta).map_err(|e| Error::io(&meta, e))? {
            Some(_) => out.push((id, entry.path)),
            // Deleted (renamed to .tmp) between the listing and this check: not a block.
            None if !fs.is_dir(&entry.path) => {}
            None => {
                return Err(Error::Corruption {
                    path: meta,
                    offset: 0,
                    detail: format!("block directory {id} has no {META_FILE}"),
                    checksum: None,
                })
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Deletes a block directory: renames it to `<id>.tmp` first (so a crash midway never leaves a
/// half-deleted directory that looks like a block), then removes it. Open [`Block`]s keep their
/// mapped bytes readable until dropped.
pub fn delete_block(block_dir: &Path) -> Result<()> {
    delete_block_in(&RealFs, block_dir)
}

/// [`delete_block`] through the file system `fs`.
pub fn delete_block_in(fs: &dyn FileSystem, block_dir: &Path) -> Result<()> {
    let mut tmp = block_dir.as_os_str().to_owned();
    tmp.push(TMP_SUFFIX);
    let tmp = PathBuf::from(tmp);
    fs.rename(block_dir, &tmp)
        .map_err(|e| Error::io(block_dir, e))?;
    if let Some(parent) = block_dir.parent() {
        writer::fsync_dir(fs, parent)?;
    }
    fs.remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))
}

/// Total size in bytes of the files of a block directory (meta, index, segments).
pub fn block_size(block_dir: &Path) -> u64 {
    block_size_in(&RealFs, block_dir)
}

/// [`block_size`] through the file system `fs`.
pub fn block_size_in(fs: &dyn FileSystem, block_dir: &Path) -> u64 {
    let file_len = |p: PathBuf| fs.file_len(&p).ok().flatten().unwrap_or(0);
    let mut total = file_len(block_dir.join(META_FILE)) + file_len(block_dir.join(INDEX_FILE));
    if let Ok(entries) = fs.read_dir(&block_dir.join(CHUNKS_DIR)) {
        total += entries.into_iter().map(|e| file_len(e.path)).sum::<u64>();
    }
    total
}

/// File name of chunk segment `n` (1-based): six zero-padded digits.
pub(crate) fn segment_name(n: u32) -> String {
    format!("{n:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_time() {
        let a = BlockId::new();
        let text = a.to_string();
        assert_eq!(text.len(), 26);
        assert_eq!(BlockId::parse(&text), Some(a));
        assert_eq!(BlockId::parse("01arz3ndektsv4rrffq69g5fav"), None);
        assert!(BlockId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").is_some());
        assert_ne!(BlockId::new(), BlockId::new());
        assert_eq!(BlockId(0).to_string(), "00000000000000000000000000");
        assert_eq!(BlockId(u128::MAX).to_string(), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        assert_eq!(BlockId::parse("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"), None);
        assert_eq!(BlockId::parse("0000000000000000000000000U"), None);
        assert_eq!(BlockId::parse("short"), None);
        let early = BlockId((1u128 << 80) | 5);
        assert!(early < BlockId::new());
    }
}
