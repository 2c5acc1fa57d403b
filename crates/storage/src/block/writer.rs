//! Writes a block directory: chunk runs into segment files as series arrive, then the index and
//! `meta.json`, then the fsync-and-rename dance that makes the block appear atomically.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use promlite_model::{Labels, Timestamp};

use super::{
    segment_name, BlockId, BlockMeta, BlockStats, CompactionMeta, BLOCK_VERSION, CHUNKS_DIR,
    DEFAULT_SEGMENT_SIZE, INDEX_FILE, META_FILE, SEGMENT_HEADER_LEN, SEGMENT_MAGIC,
    SEGMENT_VERSION, TMP_SUFFIX,
};
use crate::index::{write_index, ChunkRef, IndexSeries, IndexSummary};
use crate::io::{FileSystem, FileWriter, SharedFs};
use crate::reader::ChunkMeta;
use crate::{Error, Result};

/// Options for writing a block.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// The block id; a fresh one if `None`.
    pub id: Option<BlockId>,
    /// Compaction level recorded in the metadata (1 for blocks cut from the head).
    pub level: u32,
    /// Ids of the blocks the new block replaces.
    pub sources: Vec<BlockId>,
    /// Size at which a new chunk segment file is started.
    pub segment_size: u64,
    /// The file system the block is written through.
    pub fs: SharedFs,
    /// Metric metadata written to the block's `metadata` file (none is written when empty).
    pub metadata: std::sync::Arc<crate::metadata::MetadataMap>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            id: None,
            level: 1,
            sources: Vec::new(),
            segment_size: DEFAULT_SEGMENT_SIZE,
            fs: crate::io::real(),
            metadata: std::sync::Arc::default(),
        }
    }
}

/// One series held until the index is written.
struct PendingSeries {
    labels: Labels,
    segment: u32,
    offset: u64,
    chunks: Vec<ChunkRef>,
}

/// Streams series into a new block under `<parent>/<id>.tmp`; [`finish`](Self::finish) seals it
/// and renames it to `<parent>/<id>`. Dropping an unfinished writer removes the temporary
/// directory.
///
/// Memory: chunk bytes go straight to the segment files; labels and chunk positions are kept
/// until the index is written (a few dozen bytes per chunk plus shared label strings).
pub struct BlockWriter {
    parent: PathBuf,
    tmp: PathBuf,
    id: BlockId,
    opts: WriteOptions,
    segment: Option<(BufWriter<FileWriter>, PathBuf)>,
    n_segments: u32,
    segment_len: u64,
    series: Vec<PendingSeries>,
    min_time: Timestamp,
    max_time: Timestamp,
    n_chunks: u64,
    n_samples: u64,
    finished: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Fsyncs a directory so that renames and file creations inside it are durable.
pub(crate) fn fsync_dir(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    fs.sync_dir(dir).map_err(io(dir))
}

impl BlockWriter {
    /// Starts a block in `<parent>/<id>.tmp` (any leftover directory of that name is replaced).
    pub fn create(parent: &Path, opts: WriteOptions) -> Result<Self> {
        let id = opts.id.unwrap_or_default();
        let tmp = parent.join(format!("{id}{TMP_SUFFIX}"));
        if opts.fs.is_dir(&tmp) {
            opts.fs.remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        let chunks = tmp.join(CHUNKS_DIR);
        opts.fs.create_dir_all(&chunks).map_err(io(&chunks))?;
        Ok(Self {
            parent: parent.to_path_buf(),
            tmp,
            id,
            opts,
            segment: None,
            n_segments: 0,
            segment_len: 0,
            series: Vec::new(),
            min_time: Timestamp::MAX,
            max_time: Timestamp::MIN,
            n_chunks: 0,
            n_samples: 0,
            finished: false,
        })
    }

    /// The id of the block being written.
    pub fn id(&self) -> BlockId {
        self.id
    }

    /// Adds a series. Series must arrive in strictly increasing label order; chunks must be in
    /// time order, non-overlapping (`min_time` of each after `max_time` of the previous), with
    /// `min_time <= max_time`, and hold promlite-chunk encodings. Chunks with no samples are
    /// skipped, and so is a series left without chunks.
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<()> {
        if let Some(last) = self.series.last() {
            if *labels <= last.labels {
                return Err(Error::InvalidBlockInput(format!(
                    "series {labels} added after {}: series must be strictly sorted by labels",
                    last.labels
                )));
            }
        }
        let mut refs = Vec::with_capacity(chunks.len());
        let mut run_len = 0u64;
        let mut n_samples = 0u64;
        let mut prev_max: Option<Timestamp> = None;
        for c in chunks {
            let count = promlite_chunk::num_samples(c.data.as_slice()).map_err(|e| {
                Error::InvalidBlockInput(format!("series {labels}: chunk is not a chunk: {e}"))
            })?;
            if count == 0 {
                continue;
            }
            if c.min_time > c.max_time || prev_max.is_some_and(|p| c.min_time <= p) {
                return Err(Error::InvalidBlockInput(format!(
                    "series {labels}: chunk [{}, {}] is inverted or overlaps the previous chunk",
                    c.min_time, c.max_time
                )));
            }
            let len = u32::try_from(c.data.len()).map_err(|_| {
                Error::InvalidBlockInput(format!("series {labels}: chunk larger than 4 GiB"))
            })?;
            prev_max = Some(c.max_time);
            refs.push((
                ChunkRef {
                    min_time: c.min_time,
                    max_time: c.max_time,
                    len,
                },
                c,
            ));
            run_len += u64::from(len);
            n_samples += u64::from(count);
        }
        let (Some(first), Some(last)) = (refs.first(), refs.last()) else {
            return Ok(());
        };
        self.min_time = self.min_time.min(first.0.min_time);
        self.max_time = self.max_time.max(last.0.max_time);

        // Start a new segment if this run would overflow the current one (a run larger than a
        // whole segment gets a segment of its own).
        let run_total = run_len + 4;
        if self.segment.is_none()
            || (self.segment_len > SEGMENT_HEADER_LEN as u64
                && self.segment_len + run_total > self.opts.segment_size)
        {
            self.cut_segment()?;
        }
        let offset = self.segment_len;
        let Some((file, path)) = self.segment.as_mut() else {
            return Err(Error::InvalidBlockInput("no open chunk segment".into()));
        };
        let mut crc = crc32fast::Hasher::new();
        for (_, c) in &refs {
            crc.update(c.data.as_slice());
            file.write_all(c.data.as_slice()).map_err(io(path))?;
        }
        file.write_all(&crc.finalize().to_le_bytes())
            .map_err(io(path))?;
        self.segment_len += run_total;
        self.n_chunks += refs.len() as u64;
        self.n_samples += n_samples;
        self.series.push(PendingSeries {
            labels: labels.clone(),
            segment: self.n_segments,
            offset,
            chunks: refs.into_iter().map(|(r, _)| r).collect(),
        });
        Ok(())
    }

    /// Flushes and fsyncs the open segment, if any.
    fn close_segment(&mut self) -> Result<()> {
        if let Some((file, path)) = self.segment.take() {
            let mut file = file.into_inner().map_err(|e| Error::Io {
                path: path.clone(),
                source: e.into_error(),
            })?;
            file.0.sync().map_err(io(&path))?;
        }
        Ok(())
    }

    fn cut_segment(&mut self) -> Result<()> {
        self.close_segment()?;
        self.n_segments += 1;
        let path = self
            .tmp
            .join(CHUNKS_DIR)
            .join(segment_name(self.n_segments));
        let file = FileWriter(self.opts.fs.create(&path).map_err(io(&path))?);
        let mut file = BufWriter::with_capacity(1 << 16, file);
        let mut header = [0u8; SEGMENT_HEADER_LEN];
        header[..4].copy_from_slice(&SEGMENT_MAGIC);
        header[4] = SEGMENT_VERSION;
        file.write_all(&header).map_err(io(&path))?;
        self.segment = Some((file, path));
        self.segment_len = SEGMENT_HEADER_LEN as u64;
        Ok(())
    }

    /// Writes the index, the `metadata` file (if any) and `meta.json`, fsyncs everything, and renames the block into place.
    pub fn finish(mut self) -> Result<BlockMeta> {
        self.close_segment()?;
        let summary = IndexSummary {
            id: self.id.0,
            min_time: self.min_time,
            max_time: self.max_time,
            n_series: self.series.len() as u64,
            n_chunks: self.n_chunks,
            n_samples: self.n_samples,
            n_segments: self.n_segments,
            level: self.opts.level,
        };
        let entries: Vec<IndexSeries<'_>> = self
            .series
            .iter()
            .map(|s| IndexSeries {
                labels: &s.labels,
                segment: s.segment,
                offset: s.offset,
                chunks: &s.chunks,
            })
            .collect();
        let index = write_index(&entries, &summary)
            .map_err(|_| Error::InvalidBlockInput("index series section exceeds 4 GiB".into()))?;
        drop(entries);
        let fs = self.opts.fs.clone();
        write_synced(&*fs, &self.tmp.join(INDEX_FILE), &index)?;
        if !self.opts.metadata.is_empty() {
            let path = self.tmp.join(crate::metadata::METADATA_FILE);
            write_synced(
                &*fs,
                &path,
                &crate::metadata::encode_file(&self.opts.metadata),
            )?;
        }

        let meta = BlockMeta {
            ulid: self.id,
            min_time: self.min_time,
            max_time: self.max_time,
            stats: BlockStats {
                num_series: self.series.len() as u64,
                num_chunks: self.n_chunks,
                num_samples: self.n_samples,
            },
            compaction: CompactionMeta {
                level: self.opts.level,
                sources: self.opts.sources.clone(),
            },
            version: BLOCK_VERSION,
        };
        let json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| Error::InvalidBlockInput(format!("cannot serialise block meta: {e}")))?;
        write_synced(&*fs, &self.tmp.join(META_FILE), &json)?;
        fsync_dir(&*fs, &self.tmp.join(CHUNKS_DIR))?;
        fsync_dir(&*fs, &self.tmp)?;

        let dest = self.parent.join(self.id.to_string());
        fs.rename(&self.tmp, &dest).map_err(io(&dest))?;
        self.finished = true;
        fsync_dir(&*fs, &self.parent)?;
        Ok(meta)
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: a leftover `.tmp` directory is also removed by `list_blocks`.
            self.segment = None;
            let _ = self.opts.fs.remove_dir_all(&self.tmp);
        }
    }
}

/// Creates `path` with `bytes` and fsyncs it.
fn write_synced(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = fs.create(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync().map_err(io(path))
}

/// Writes a block from series sorted by labels (see [`BlockWriter::add_series`] for the
/// preconditions) and returns its metadata. The block lands in `<parent>/<id>`.
pub fn write_block(
    parent: &Path,
    series: impl IntoIterator<Item = (Labels, Vec<ChunkMeta>)>,
    opts: WriteOptions,
) -> Result<BlockMeta> {
    let mut writer = BlockWriter::create(parent, opts)?;
    for (labels, chunks) in series {
        writer.add_series(&labels, &chunks)?;
    }
    writer.finish()
}
