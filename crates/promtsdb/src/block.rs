//! A whole block directory: [`BlockWriter`] writes `<ulid>/{meta.json, index, chunks/,
//! tombstones}` atomically (under a temporary name, fsynced, then renamed), [`Block`] opens one
//! and yields each series' samples with its tombstones applied.

use std::path::{Path, PathBuf};

use promlite_model::{Labels, Sample};

use crate::chunks::{ChunkReader, ChunkWriter};
use crate::error::{io_err, Error, Result};
use crate::index::{write_index, ChunkMeta, IndexReader, IndexSeries};
use crate::meta::{read_meta, BlockMeta, BlockStats, Compaction, META_FILE};
use crate::tombstones::{encode_tombstones, read_tombstones, Tombstone};
use crate::xor::{decode_xor, XorChunkEncoder, ENCODING_XOR, SAMPLES_PER_CHUNK};

/// Suffix of a block directory being written (Prometheus deletes such leftovers on start).
pub const TMP_SUFFIX: &str = ".tmp-for-creation";

/// Writes one block. Series must be added in label-set order, each with its samples in
/// strictly increasing time order.
#[derive(Debug)]
pub struct BlockWriter {
    parent: PathBuf,
    ulid: String,
    tmp_dir: PathBuf,
    chunks: Option<ChunkWriter>,
    series: Vec<IndexSeries>,
    stats: BlockStats,
    min_time: i64,
    max_time: i64,
}

impl BlockWriter {
    /// Starts a block named `ulid` under `parent`.
    pub fn create(parent: &Path, ulid: &str) -> Result<Self> {
        let tmp_dir = parent.join(format!("{ulid}{TMP_SUFFIX}"));
        if tmp_dir.exists() {
            std::fs::remove_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
        }
        std::fs::create_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
        let chunks = ChunkWriter::create(&tmp_dir.join("chunks"))?;
        Ok(Self {
            parent: parent.to_path_buf(),
            ulid: ulid.to_string(),
            tmp_dir,
            chunks: Some(chunks),
            series: Vec::new(),
            stats: BlockStats::default(),
            min_time: i64::MAX,
            max_time: i64::MIN,
        })
    }

    /// Adds a series. An empty `samples` is skipped (a block lists only series with data).
    pub fn add_series(&mut self, labels: &Labels, samples: &[Sample]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        if let Some(prev) = self.series.last() {
            if prev.labels >= *labels {
                return Err(Error::InvalidInput(format!(
                    "series must be added in label order without duplicates: {labels} after {}",
                    prev.labels
                )));
            }
        }
        let Some(writer) = self.chunks.as_mut() else {
            return Err(Error::InvalidInput("block writer already finished".into()));
        };
        let mut metas = Vec::with_capacity(samples.len().div_ceil(SAMPLES_PER_CHUNK));
        for run in samples.chunks(SAMPLES_PER_CHUNK) {
            let mut enc = XorChunkEncoder::new();
            for s in run {
                enc.append(s.t, s.v).map_err(|e| match e {
                    Error::InvalidInput(m) => Error::InvalidInput(format!("{labels}: {m}")),
                    other => other,
                })?;
            }
            let (Some(first), Some(last)) = (run.first(), run.last()) else {
                continue;
            };
            let chunk_ref = writer.write_chunk(ENCODING_XOR, &enc.into_bytes())?;
            metas.push(ChunkMeta {
                min_time: first.t,
                max_time: last.t,
                chunk_ref,
            });
        }
        if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
            self.min_time = self.min_time.min(first.t);
            self.max_time = self.max_time.max(last.t);
        }
        self.stats.num_samples += samples.len() as u64;
        self.stats.num_series += 1;
        self.stats.num_chunks += metas.len() as u64;
        self.series.push(IndexSeries {
            labels: labels.clone(),
            chunks: metas,
        });
        Ok(())
    }

    /// Number of series added.
    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Writes the index, tombstones and meta file, fsyncs and renames the block into place.
    /// Returns `None` (removing the temporary directory) when no series had samples.
    pub fn finish(mut self) -> Result<Option<BlockMeta>> {
        let chunk_writer = self.chunks.take();
        if self.series.is_empty() {
            drop(chunk_writer);
            std::fs::remove_dir_all(&self.tmp_dir).map_err(io_err(&self.tmp_dir))?;
            return Ok(None);
        }
        if let Some(w) = chunk_writer {
            w.finish()?;
        }
        let index = write_index(&self.series)?;
        write_synced(&self.tmp_dir.join("index"), &index)?;
        write_synced(&self.tmp_dir.join("tombstones"), &encode_tombstones(&[]))?;
        let meta = BlockMeta {
            ulid: self.ulid.clone(),
            min_time: self.min_time,
            // maxTime is exclusive.
            max_time: self.max_time.saturating_add(1),
            stats: self.stats.clone(),
            compaction: Compaction {
                level: 1,
                sources: vec![self.ulid.clone()],
            },
            version: 1,
        };
        let json = serde_json::to_string_pretty(&meta)
            .map_err(|e| Error::InvalidInput(format!("meta.json: {e}")))?;
        write_synced(&self.tmp_dir.join(META_FILE), json.as_bytes())?;
        sync_dir(&self.tmp_dir.join("chunks"))?;
        sync_dir(&self.tmp_dir)?;
        let final_dir = self.parent.join(&self.ulid);
        std::fs::rename(&self.tmp_dir, &final_dir).map_err(io_err(&final_dir))?;
        sync_dir(&self.parent)?;
        Ok(Some(meta))
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(dir))
}

/// An opened block.
#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    tombstones: Vec<Tombstone>,
}

impl Block {
    /// Opens the block directory `dir`, checking its meta file, index and segment headers.
    pub fn open(dir: &Path) -> Result<Self> {
        let meta = read_meta(dir)?;
        let index = IndexReader::open(&dir.join("index"))?;
        let chunks = ChunkReader::open(&dir.join("chunks"))?;
        let mut tombstones = read_tombstones(&dir.join("tombstones"))?;
        tombstones.sort_by_key(|t| (t.series_ref, t.min_time));
        Ok(Self {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones,
        })
    }

    /// The block's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its meta file.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// Its index.
    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// The series references in label order.
    pub fn series_refs(&self) -> Result<Vec<u32>> {
        self.index.all_series()
    }

    /// The labels and samples of series `series_ref`, tombstoned ranges removed. Every chunk
    /// must be XOR-encoded, hold samples in increasing time order inside its recorded range,
    /// and not overlap the previous chunk.
    pub fn read_series(&self, series_ref: u32) -> Result<(Labels, Vec<Sample>)> {
        let entry = self.index.series(series_ref)?;
        let mut samples: Vec<Sample> = Vec::new();
        for meta in &entry.chunks {
            let (raw, path) = self.chunks.chunk(meta.chunk_ref)?;
            if raw.encoding != ENCODING_XOR {
                return Err(Error::Unsupported {
                    path: path.to_path_buf(),
                    offset: meta.chunk_ref & 0xffff_ffff,
                    message: format!(
                        "chunk encoding {} (only XOR float chunks are read; native histograms are not)",
                        raw.encoding
                    ),
                });
            }
            let decoded = decode_xor(raw.data, raw.data_offset).map_err(|c| c.in_file(path))?;
            for (t, v) in decoded {
                if t < meta.min_time || t > meta.max_time {
                    return Err(Error::Corrupt {
                        path: path.to_path_buf(),
                        offset: raw.data_offset,
                        message: format!(
                            "sample at {t} outside its chunk's range {}..={} (series {})",
                            meta.min_time, meta.max_time, entry.labels
                        ),
                    });
                }
                if samples.last().is_some_and(|p| p.t >= t) {
                    return Err(Error::Corrupt {
                        path: path.to_path_buf(),
                        offset: raw.data_offset,
                        message: format!(
                            "sample at {t} not after the previous one (series {})",
                            entry.labels
                        ),
                    });
                }
                samples.push(Sample::new(t, v));
            }
        }
        let start = self
            .tombstones
            .partition_point(|s| s.series_ref < u64::from(series_ref));
        let stones: Vec<&Tombstone> = self
            .tombstones
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|s| s.series_ref == u64::from(series_ref))
            .collect();
        if !stones.is_empty() {
            samples.retain(|s| {
                !stones
                    .iter()
                    .any(|d| d.min_time <= s.t && s.t <= d.max_time)
            });
        }
        Ok((entry.labels, samples))
    }
}

/// The block directories under `dir` (subdirectories holding a `meta.json`; unfinished
/// `*.tmp*` directories, `wal/` and `chunks_head/` are not blocks), sorted by name.
pub fn block_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.contains(".tmp") || !path.is_dir() || !path.join(META_FILE).is_file() {
            continue;
        }
        out.push(path);
    }
    out.sort();
    Ok(out)
}
