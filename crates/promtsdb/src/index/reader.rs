//! Reads an index file (format v2) held in memory: every offset is bounds-checked and every
//! section's CRC verified before its contents are used.

use std::path::{Path, PathBuf};

use promlite_model::Labels;

use crate::encoding::{be32_section, crc32c, Decbuf};
use crate::error::{io_err, Corruption, Result};

use super::{ChunkMeta, IndexSeries, INDEX_MAGIC, INDEX_VERSION, TOC_LEN};

/// The six section offsets of the table of contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Toc {
    symbols: u64,
    series: u64,
    label_indices: u64,
    label_offsets: u64,
    postings: u64,
    postings_offsets: u64,
}

/// An opened index file.
#[derive(Debug)]
pub struct IndexReader {
    path: PathBuf,
    bytes: Vec<u8>,
    symbols: Vec<String>,
    /// `(name, value, offset of the postings list)`, in file order (sorted).
    postings_offsets: Vec<(String, String, u64)>,
}

impl IndexReader {
    /// Reads and checks the index file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        Self::from_bytes(path, bytes)
    }

    /// Checks an index file's bytes; `path` names it in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        let path = path.to_path_buf();
        let mut d = Decbuf::new(&bytes, 0);
        let magic = d.be32("index magic").map_err(|c| c.in_file(&path))?;
        if magic != INDEX_MAGIC {
            return Err(Corruption::new(0, format!("bad index magic {magic:#010x}")).in_file(&path));
        }
        let version = d.byte("index version").map_err(|c| c.in_file(&path))?;
        if version != INDEX_VERSION {
            return Err(Corruption::unsupported(
                4,
                format!("index format version {version} (only version {INDEX_VERSION} is read)"),
            )
            .in_file(&path));
        }
        let toc = read_toc(&bytes).map_err(|e| e.in_file(&path))?;
        let symbols = read_symbols(&bytes, toc.symbols).map_err(|e| e.in_file(&path))?;
        let postings_offsets =
            read_postings_offsets(&bytes, toc.postings_offsets).map_err(|e| e.in_file(&path))?;
        verify_label_indices(&bytes, toc.label_offsets).map_err(|e| e.in_file(&path))?;
        let _ = (toc.series, toc.label_indices, toc.postings);
        let reader = Self {
            path,
            bytes,
            symbols,
            postings_offsets,
        };
        // Every postings list is checked once here, so corruption anywhere in the file's
        // sections is reported at open rather than by whichever query first reads it.
        for (name, value, _) in &reader.postings_offsets {
            reader.postings(name, value)?;
        }
        Ok(reader)
    }

    /// The symbol table.
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    /// The label pairs that have postings, sorted (the all-series key `("", "")` included).
    pub fn label_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.postings_offsets
            .iter()
            .map(|(n, v, _)| (n.as_str(), v.as_str()))
    }

    /// The series references that have label `name="value"`, ascending; `("", "")` lists every
    /// series. Empty if the pair has no postings.
    pub fn postings(&self, name: &str, value: &str) -> Result<Vec<u32>> {
        let found = self
            .postings_offsets
            .binary_search_by(|(n, v, _)| (n.as_str(), v.as_str()).cmp(&(name, value)));
        let Ok(idx) = found else {
            return Ok(Vec::new());
        };
        let offset = self.postings_offsets.get(idx).map_or(0, |(_, _, o)| *o);
        let (body, body_offset) =
            be32_section(&self.bytes, offset, "postings").map_err(|e| e.in_file(&self.path))?;
        let mut d = Decbuf::new(body, body_offset);
        let n = d
            .be32("postings count")
            .map_err(|c| c.in_file(&self.path))? as usize;
        if n.checked_mul(4) != Some(d.remaining()) {
            return Err(Corruption::new(
                body_offset,
                format!("postings list of {n} entries in {} bytes", d.remaining()),
            )
            .in_file(&self.path));
        }
        let mut out = Vec::with_capacity(n);
        let mut prev: Option<u32> = None;
        for _ in 0..n {
            let at = d.offset();
            let r = d
                .be32("postings entry")
                .map_err(|c| c.in_file(&self.path))?;
            if prev.is_some_and(|p| r <= p) {
                return Err(Corruption::new(at, "postings list not strictly increasing")
                    .in_file(&self.path));
            }
            prev = Some(r);
            out.push(r);
        }
        Ok(out)
    }

    /// Every series reference (the all-series postings list).
    pub fn all_series(&self) -> Result<Vec<u32>> {
        self.postings("", "")
    }

    fn symbol(&self, r: u32, at: u64) -> Result<&str, Corruption> {
        self.symbols
            .get(r as usize)
            .map(String::as_str)
            .ok_or_else(|| {
                Corruption::new(
                    at,
                    format!(
                        "symbol reference {r} past the table's {}",
                        self.symbols.len()
                    ),
                )
            })
    }

    /// The labels and chunk metas of the series with reference `series_ref`.
    pub fn series(&self, series_ref: u32) -> Result<IndexSeries> {
        self.read_series(series_ref)
            .map_err(|c| c.in_file(&self.path))
    }

    fn read_series(&self, series_ref: u32) -> Result<IndexSeries, crate::encoding::SectionError> {
        let offset = u64::from(series_ref) * 16;
        let start = usize::try_from(offset)
            .ok()
            .filter(|s| *s < self.bytes.len())
            .ok_or_else(|| Corruption::new(offset, "series reference past the end of the index"))?;
        let mut d = Decbuf::new(self.bytes.get(start..).unwrap_or_default(), offset);
        let len = d.uvarint("series length")?;
        let len = usize::try_from(len).map_err(|_| Corruption::new(offset, "series too long"))?;
        let body_offset = d.offset();
        let body = d.bytes(len, "series entry")?;
        let stored = d.be32("series checksum")?;
        let computed = crc32c(body);
        if stored != computed {
            return Err(crate::encoding::SectionError::Checksum {
                offset,
                stored,
                computed,
            });
        }
        let mut d = Decbuf::new(body, body_offset);
        let n_labels = d.uvarint("label count")?;
        let mut labels: Vec<(&str, &str)> = Vec::with_capacity((n_labels as usize).min(body.len()));
        for _ in 0..n_labels {
            let at = d.offset();
            let name = self.symbol(d.uvarint32("label name ref")?, at)?;
            let at = d.offset();
            let value = self.symbol(d.uvarint32("label value ref")?, at)?;
            if let Some(prev) = labels.last() {
                if prev.0 >= name {
                    return Err(Corruption::new(at, "series labels not sorted by name").into());
                }
            }
            if value.is_empty() {
                return Err(Corruption::new(at, format!("label {name} has an empty value")).into());
            }
            labels.push((name, value));
        }
        let n_chunks = d.uvarint("chunk count")?;
        let mut chunks: Vec<ChunkMeta> = Vec::with_capacity((n_chunks as usize).min(body.len()));
        for i in 0..n_chunks {
            let at = d.offset();
            let meta = if i == 0 {
                let min_time = d.varint("chunk min time")?;
                let span = d.uvarint("chunk time span")?;
                let chunk_ref = d.uvarint("chunk reference")?;
                ChunkMeta {
                    min_time,
                    max_time: min_time.wrapping_add(span as i64),
                    chunk_ref,
                }
            } else {
                let prev = chunks.last().copied().unwrap_or(ChunkMeta {
                    min_time: 0,
                    max_time: 0,
                    chunk_ref: 0,
                });
                let gap = d.uvarint("chunk min time delta")?;
                let span = d.uvarint("chunk time span")?;
                let ref_delta = d.varint("chunk reference delta")?;
                let min_time = prev.max_time.wrapping_add(gap as i64);
                ChunkMeta {
                    min_time,
                    max_time: min_time.wrapping_add(span as i64),
                    chunk_ref: prev.chunk_ref.wrapping_add(ref_delta as u64),
                }
            };
            if meta.max_time < meta.min_time {
                return Err(Corruption::new(at, "chunk time range overflows").into());
            }
            chunks.push(meta);
        }
        if d.remaining() != 0 {
            return Err(Corruption::new(d.offset(), "bytes left after the series' chunks").into());
        }
        Ok(IndexSeries {
            labels: Labels::from_sorted_pairs(labels),
            chunks,
        })
    }

    /// The index file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_toc(bytes: &[u8]) -> Result<Toc, crate::encoding::SectionError> {
    let start = bytes
        .len()
        .checked_sub(TOC_LEN)
        .filter(|s| *s >= 5)
        .ok_or_else(|| {
            Corruption::new(
                0,
                format!("index of {} bytes has no room for a TOC", bytes.len()),
            )
        })?;
    let toc_bytes = bytes.get(start..).unwrap_or_default();
    let mut d = Decbuf::new(toc_bytes, start as u64);
    let mut offsets = [0u64; 6];
    for o in &mut offsets {
        *o = d.be64("TOC entry")?;
        if *o > start as u64 {
            return Err(
                Corruption::new(d.offset() - 8, format!("TOC offset {o} past the TOC")).into(),
            );
        }
    }
    let stored = d.be32("TOC checksum")?;
    let computed = crc32c(toc_bytes.get(..48).unwrap_or_default());
    if stored != computed {
        return Err(crate::encoding::SectionError::Checksum {
            offset: start as u64,
            stored,
            computed,
        });
    }
    let [symbols, series, label_indices, label_offsets, postings, postings_offsets] = offsets;
    Ok(Toc {
        symbols,
        series,
        label_indices,
        label_offsets,
        postings,
        postings_offsets,
    })
}

/// Checks the label offset table and the label index sections it points to (Prometheus no
/// longer reads them, but a flipped byte there is still a corrupt file).
fn verify_label_indices(bytes: &[u8], offset: u64) -> Result<(), crate::encoding::SectionError> {
    if offset == 0 {
        return Ok(());
    }
    let (body, body_offset) = be32_section(bytes, offset, "label offset table")?;
    let mut d = Decbuf::new(body, body_offset);
    let n = d.be32("label offset count")?;
    for _ in 0..n {
        let at = d.offset();
        let keys = d.byte("label offset key count")?;
        if keys != 1 {
            return Err(Corruption::new(at, format!("label offset entry with {keys} keys")).into());
        }
        d.uvarint_str("label name")?;
        let target = d.uvarint("label index offset")?;
        let (index, index_offset) = be32_section(bytes, target, "label index")?;
        let mut li = Decbuf::new(index, index_offset);
        let names = li.be32("label index name count")?;
        let entries = li.be32("label index entry count")? as usize;
        if names != 1 || entries.checked_mul(4) != Some(li.remaining()) {
            return Err(Corruption::new(
                index_offset,
                format!(
                    "label index of {names} names and {entries} entries in {} bytes",
                    index.len()
                ),
            )
            .into());
        }
    }
    if d.remaining() != 0 {
        return Err(Corruption::new(d.offset(), "bytes left after the label offsets").into());
    }
    Ok(())
}

fn read_symbols(bytes: &[u8], offset: u64) -> Result<Vec<String>, crate::encoding::SectionError> {
    if offset == 0 {
        return Ok(Vec::new());
    }
    let (body, body_offset) = be32_section(bytes, offset, "symbol table")?;
    let mut d = Decbuf::new(body, body_offset);
    let n = d.be32("symbol count")? as usize;
    let mut out: Vec<String> = Vec::with_capacity(n.min(body.len()));
    for _ in 0..n {
        let at = d.offset();
        let s = d.uvarint_str("symbol")?;
        if out.last().is_some_and(|p| p.as_str() >= s) {
            return Err(Corruption::new(at, "symbols not sorted and distinct").into());
        }
        out.push(s.to_string());
    }
    if d.remaining() != 0 {
        return Err(Corruption::new(d.offset(), "bytes left after the symbols").into());
    }
    Ok(out)
}

fn read_postings_offsets(
    bytes: &[u8],
    offset: u64,
) -> Result<Vec<(String, String, u64)>, crate::encoding::SectionError> {
    if offset == 0 {
        return Ok(Vec::new());
    }
    let (body, body_offset) = be32_section(bytes, offset, "postings offset table")?;
    let mut d = Decbuf::new(body, body_offset);
    let n = d.be32("postings offset count")? as usize;
    let mut out: Vec<(String, String, u64)> = Vec::with_capacity(n.min(body.len()));
    for _ in 0..n {
        let at = d.offset();
        let keys = d.byte("postings offset key count")?;
        if keys != 2 {
            return Err(
                Corruption::new(at, format!("postings offset entry with {keys} keys")).into(),
            );
        }
        let name = d.uvarint_str("label name")?;
        let value = d.uvarint_str("label value")?;
        let target = d.uvarint("postings offset")?;
        if let Some((pn, pv, _)) = out.last() {
            if (pn.as_str(), pv.as_str()) >= (name, value) {
                return Err(Corruption::new(at, "postings offset table not sorted").into());
            }
        }
        out.push((name.to_string(), value.to_string(), target));
    }
    if d.remaining() != 0 {
        return Err(Corruption::new(d.offset(), "bytes left after the postings offsets").into());
    }
    Ok(out)
}
