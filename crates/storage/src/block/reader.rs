//! Opens a block directory (validating meta, index and segment headers) and serves it through
//! [`BlockReader`].

use std::path::{Path, PathBuf};

use promlite_model::{Labels, Matcher, Timestamp};
use roaring::RoaringBitmap;

use super::{
    block_size_in, segment_name, BlockMeta, BLOCK_VERSION, CHUNKS_DIR, INDEX_FILE, META_FILE,
    SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SEGMENT_VERSION,
};
use crate::bytes::SharedBytes;
use crate::index::{postings, IndexReader, SeriesEntry};
use crate::io::{FileSystem, RealFs};
use crate::reader::{BlockReader, ChunkMeta, SeriesRef};
use crate::{Error, Result};

/// An open, validated, memory-mapped block. Cheap to share behind an `Arc`; all reads are `&self`.
#[derive(Debug, Clone)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    /// Segment `n` (1-based) is at index `n - 1`.
    segments: Vec<(PathBuf, SharedBytes)>,
    size_bytes: u64,
    /// The `metadata` file's entries (empty without one).
    metadata: std::sync::Arc<crate::metadata::MetadataMap>,
}

impl Block {
    /// Opens the block in `dir`: parses `meta.json`, validates the index (magic, version, every
    /// section's CRC32, every table offset), cross-checks the metadata against the index's table
    /// of contents, and maps the chunk segments after checking their headers. Chunk runs are
    /// checksummed when they are read.
    pub fn open(dir: &Path) -> Result<Block> {
        Self::open_in(&RealFs, dir)
    }

    /// [`Block::open`] through the file system `fs`.
    pub fn open_in(fs: &dyn FileSystem, dir: &Path) -> Result<Block> {
        let map_file = |path: &Path| fs.map(path).map_err(|e| Error::io(path, e));
        let meta_path = dir.join(META_FILE);
        let json = fs.read(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
        let meta_corrupt = |detail: String| Error::Corruption {
            path: meta_path.clone(),
            offset: 0,
            detail,
            checksum: None,
        };
        let meta: BlockMeta = serde_json::from_slice(&json).map_err(|e| {
            let offset = line_col_offset(&json, e.line(), e.column());
            Error::Corruption {
                path: meta_path.clone(),
                offset,
                detail: format!("invalid block metadata: {e}"),
                checksum: None,
            }
        })?;
        if meta.version != BLOCK_VERSION {
            return Err(meta_corrupt(format!(
                "unsupported block version {}, this build reads {BLOCK_VERSION}",
                meta.version
            )));
        }

        let index_path = dir.join(INDEX_FILE);
        let index = IndexReader::open(&index_path, map_file(&index_path)?)?;
        let s = index.summary();
        let checks = [
            ("id", meta.ulid.0 == s.id),
            ("minTime", meta.min_time == s.min_time),
            ("maxTime", meta.max_time == s.max_time),
            ("numSeries", meta.stats.num_series == s.n_series),
            ("numChunks", meta.stats.num_chunks == s.n_chunks),
            ("numSamples", meta.stats.num_samples == s.n_samples),
            ("level", meta.compaction.level == s.level),
        ];
        if let Some((field, _)) = checks.iter().find(|(_, ok)| !ok) {
            return Err(meta_corrupt(format!(
                "{field} in {META_FILE} disagrees with the index"
            )));
        }

        // Not preallocated: the count comes from disk; a bogus one fails at the first missing file.
        let mut segments = Vec::new();
        for n in 1..=s.n_segments {
            let path = dir.join(CHUNKS_DIR).join(segment_name(n));
            let bytes = map_file(&path)?;
            let header = bytes.as_slice().get(..SEGMENT_HEADER_LEN);
            let ok = header.is_some_and(|h| {
                h.get(..4) == Some(&SEGMENT_MAGIC[..])
                    && h.get(4) == Some(&SEGMENT_VERSION)
                    && h.get(5..) == Some(&[0, 0, 0][..])
            });
            if !ok {
                return Err(Error::Corruption {
                    path,
                    offset: 0,
                    detail: format!(
                        "bad chunk segment header (expected magic PLCK, version {SEGMENT_VERSION})"
                    ),
                    checksum: None,
                });
            }
            segments.push((path, bytes));
        }
        let metadata = std::sync::Arc::new(crate::metadata::read_block_metadata(fs, dir)?);
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            segments,
            size_bytes: block_size_in(fs, dir),
            metadata,
        })
    }

    /// The block's metadata.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk (meta, index and segments), measured at open.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// The metric metadata stored with the block (its `metadata` file; empty without one).
    pub fn metadata(&self) -> &std::sync::Arc<crate::metadata::MetadataMap> {
        &self.metadata
    }

    /// The block's index.
    pub fn index(&self) -> &IndexReader {
        &self.index
    }
}

/// Byte offset of a 1-based line/column position (serde_json reports those).
fn line_col_offset(text: &[u8], line: usize, column: usize) -> u64 {
    let mut offset = 0usize;
    for (i, l) in text.split(|&b| b == b'\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)) as u64;
        }
        offset += l.len() + 1;
    }
    offset.min(text.len()) as u64
}

impl BlockReader for Block {
    fn time_range(&self) -> (Timestamp, Timestamp) {
        (self.meta.min_time, self.meta.max_time)
    }

    fn postings(&self, matchers: &[Matcher]) -> Result<RoaringBitmap> {
        postings::postings_for_matchers(&self.index, matchers)
    }

    fn sorted_postings(&self, postings: &RoaringBitmap) -> Result<Vec<SeriesRef>> {
        // Refs are assigned in label order, so bitmap order is label order.
        Ok(postings.iter().collect())
    }

    fn series_labels(&self, series: SeriesRef) -> Result<Labels> {
        self.index.series_labels(series)
    }

    fn series_chunks(
        &self,
        series: SeriesRef,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<ChunkMeta>,
    ) -> Result<()> {
        let entry = self.index.series_entry(series)?;
        self.entry_chunks(series, entry, mint, maxt, out)
    }

    fn series_with_chunks(
        &self,
        series: SeriesRef,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<ChunkMeta>,
    ) -> Result<Option<Labels>> {
        let entry = self.index.series_entry(series)?;
        let before = out.len();
        self.entry_chunks(series, entry, mint, maxt, out)?;
        Ok((out.len() > before).then(|| entry.labels.clone()))
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        postings::label_names(&self.index, matchers)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        postings::label_values(&self.index, name, matchers)
    }
}

impl Block {
    /// Appends the chunks of the parsed `entry` of `series` overlapping `[mint, maxt]`, after
    /// checking the checksum of the series' chunk run.
    fn entry_chunks(
        &self,
        series: SeriesRef,
        entry: &SeriesEntry,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<ChunkMeta>,
    ) -> Result<()> {
        if !entry
            .chunks
            .iter()
            .any(|c| c.max_time >= mint && c.min_time <= maxt)
        {
            return Ok(());
        }
        let Some((path, seg)) = self.segments.get((entry.segment as usize).wrapping_sub(1)) else {
            return Err(self.index.corrupt(
                0,
                format!(
                    "series {series} refers to missing segment {}",
                    entry.segment
                ),
            ));
        };
        let corrupt = |offset: u64, detail: String| Error::Corruption {
            path: path.clone(),
            offset,
            detail,
            checksum: None,
        };
        let run_len: u64 = entry.chunks.iter().map(|c| u64::from(c.len)).sum();
        let bounds = usize::try_from(entry.offset)
            .ok()
            .zip(usize::try_from(run_len).ok())
            .and_then(|(start, len)| {
                let end = start.checked_add(len)?;
                (start >= SEGMENT_HEADER_LEN && end.checked_add(4)? <= seg.len())
                    .then_some((start, end))
            });
        let Some((start, end)) = bounds else {
            return Err(corrupt(
                entry.offset,
                format!("chunk run of {run_len} bytes for series {series} is out of bounds"),
            ));
        };
        let data = seg.as_slice();
        let run = data.get(start..end).unwrap_or(&[]);
        let stored = data
            .get(end..end.saturating_add(4))
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes);
        let actual = crc32fast::hash(run);
        if stored != actual {
            return Err(corrupt(
                entry.offset,
                format!(
                    "chunk run checksum mismatch for series {series}: stored {stored:#010x}, computed {actual:#010x}"
                ),
            )
            .with_checksum(stored, actual));
        }
        let mut pos = start;
        for c in &entry.chunks {
            let len = c.len as usize;
            let chunk_start = pos;
            pos += len;
            if c.max_time < mint || c.min_time > maxt {
                continue;
            }
            let Some(bytes) = seg.slice(chunk_start..pos) else {
                return Err(corrupt(chunk_start as u64, "chunk out of bounds".into()));
            };
            if let Err(e) = promlite_chunk::num_samples(bytes.as_slice()) {
                return Err(corrupt(
                    chunk_start as u64,
                    format!("bad chunk header: {e}"),
                ));
            }
            out.push(ChunkMeta {
                min_time: c.min_time,
                max_time: c.max_time,
                data: bytes,
            });
        }
        Ok(())
    }
}
