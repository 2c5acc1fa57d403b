//! Validating reader of a block index over memory-mapped bytes.
//!
//! Opening checks the header, the table of contents and every section's CRC32, then loads the
//! symbol table and the label table into memory. Series entries and postings are decoded on
//! demand from the mapped bytes, with every offset bounds-checked.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use promlite_model::{Labels, Timestamp};
use roaring::RoaringBitmap;

use super::writer::IndexSummary;
use super::{
    Cursor, DecodeError, Section, HEADER_LEN, INDEX_MAGIC, INDEX_VERSION, POSTINGS_DELTA,
    POSTINGS_ROARING, SYMBOLS_RAW, SYMBOLS_SNAPPY, TOC_LEN,
};
use crate::bytes::SharedBytes;
use crate::reader::SeriesRef;
use crate::{Error, Result};

/// Where one chunk of a series lives, relative to the series' chunk run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// Timestamp of the first sample.
    pub min_time: Timestamp,
    /// Timestamp of the last sample.
    pub max_time: Timestamp,
    /// Encoded length in bytes.
    pub len: u32,
}

/// A decoded series entry.
#[derive(Debug, Clone)]
pub struct SeriesEntry {
    /// The series' labels.
    pub labels: Labels,
    /// Chunk segment number (1-based).
    pub segment: u32,
    /// Offset of the chunk run in the segment.
    pub offset: u64,
    /// The chunks in time order; their bytes follow each other in the run.
    pub chunks: Vec<ChunkRef>,
}

/// One value of a label name: its symbol and where its postings bitmap is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueEntry {
    pub(crate) value: u32,
    /// Index of this value among all values of the table (its postings-cache slot).
    pub(crate) slot: u32,
    /// Absolute file offset of the serialized bitmap.
    pub(crate) start: u64,
    pub(crate) len: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct NameEntry {
    pub(crate) name: u32,
    /// Sorted by value (symbol order is string order).
    pub(crate) values: Vec<ValueEntry>,
}

/// A validated block index.
#[derive(Debug, Clone)]
pub struct IndexReader {
    path: PathBuf,
    bytes: SharedBytes,
    summary: IndexSummary,
    symbols: Vec<Arc<str>>,
    /// Absolute (offset, len) of the series section payload.
    series: (u64, u64),
    /// Absolute offset of the series-offsets payload (`n_series` u32s).
    series_offsets: u64,
    pub(crate) names: Vec<NameEntry>,
    /// Payload lengths of the sections, in [`Section::ALL`] order.
    section_lens: [u64; super::N_SECTIONS],
    /// Series entries decoded so far, by series ref. The block is immutable, so an entry is
    /// parsed (and its label strings reference-counted) once; later selections borrow it and
    /// clone one `Arc` for the labels. Costs a slot per series plus the entries queries touched.
    entry_cache: Arc<[OnceLock<SeriesEntry>]>,
    /// Postings decoded so far, by [`ValueEntry::slot`]. Decoding a delta-coded list costs a
    /// varint and a bitmap push per series, which dominated small queries over large blocks;
    /// the block never changes, so each list is decoded once. Bounded by the postings of the
    /// whole block in roaring form (about 2 bytes per label of every series).
    postings_cache: Arc<[OnceLock<Arc<RoaringBitmap>>]>,
}

impl IndexReader {
    /// Validates `bytes` (the contents of `path`) and loads the tables.
    pub fn open(path: &Path, bytes: SharedBytes) -> Result<Self> {
        let corrupt = |(offset, detail): DecodeError| Error::Corruption {
            path: path.to_path_buf(),
            offset,
            detail,
            checksum: None,
        };
        let data = bytes.as_slice();
        let file_len = data.len();
        if file_len < HEADER_LEN + TOC_LEN {
            return Err(corrupt((
                0,
                format!("index is {file_len} bytes, shorter than header and footer"),
            )));
        }
        let mut head = Cursor::new(data, 0);
        let magic = head.bytes(4).map_err(corrupt)?;
        if magic != INDEX_MAGIC {
            return Err(corrupt((
                0,
                format!("bad magic {magic:02x?}, expected {INDEX_MAGIC:02x?}"),
            )));
        }
        let version = head.u8().map_err(corrupt)?;
        if version != INDEX_VERSION {
            return Err(corrupt((
                4,
                format!("unsupported index version {version}, this build reads {INDEX_VERSION}"),
            )));
        }
        if head.bytes(3).map_err(corrupt)? != [0, 0, 0] {
            return Err(corrupt((5, "reserved header bytes are not zero".into())));
        }

        // Table of contents.
        let toc_start = file_len - TOC_LEN;
        let toc = data.get(toc_start..).unwrap_or(&[]);
        let body = toc.get(..TOC_LEN - 8).unwrap_or(&[]);
        let mut c = Cursor::new(toc, toc_start as u64);
        c.bytes(TOC_LEN - 8).map_err(corrupt)?;
        let stored_crc = c.u32_le().map_err(corrupt)?;
        let tail_magic = c.bytes(4).map_err(corrupt)?;
        if tail_magic != INDEX_MAGIC {
            return Err(corrupt((
                (file_len - 4) as u64,
                "bad trailing magic".into(),
            )));
        }
        let actual_crc = crc32fast::hash(body);
        if stored_crc != actual_crc {
            return Err(corrupt((
                toc_start as u64,
                format!(
                    "table of contents checksum mismatch: stored {stored_crc:#010x}, computed {actual_crc:#010x}"
                ),
            ))
            .with_checksum(stored_crc, actual_crc));
        }
        let mut c = Cursor::new(body, toc_start as u64);
        let mut sections = [(0u64, 0u64); super::N_SECTIONS];
        for (i, slot) in sections.iter_mut().enumerate() {
            let at = c.offset();
            let offset = c.u64_le().map_err(corrupt)?;
            let len = c.u64_le().map_err(corrupt)?;
            let name = Section::ALL.get(i).map_or("?", |s| s.name());
            let end = offset.checked_add(len).and_then(|e| e.checked_add(4));
            if offset < HEADER_LEN as u64 || end.is_none_or(|e| e > toc_start as u64) {
                return Err(corrupt((
                    at,
                    format!("{name} section [{offset}, +{len}) out of bounds"),
                )));
            }
            *slot = (offset, len);
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(c.bytes(16).map_err(corrupt)?);
        let min_time = c.u64_le().map_err(corrupt)? as i64;
        let max_time = c.u64_le().map_err(corrupt)? as i64;
        let n_series = c.u64_le().map_err(corrupt)?;
        let n_chunks = c.u64_le().map_err(corrupt)?;
        let n_samples = c.u64_le().map_err(corrupt)?;
        let n_segments = c.u32_le().map_err(corrupt)?;
        let level = c.u32_le().map_err(corrupt)?;
        let summary = IndexSummary {
            id: u128::from_le_bytes(id),
            min_time,
            max_time,
            n_series,
            n_chunks,
            n_samples,
            n_segments,
            level,
        };

        // Section checksums.
        for (i, &(offset, len)) in sections.iter().enumerate() {
            let name = Section::ALL.get(i).map_or("?", |s| s.name());
            let (payload, crc) = section_bytes(data, offset, len)
                .ok_or_else(|| corrupt((offset, "section out of bounds".into())))?;
            let actual = crc32fast::hash(payload);
            if actual != crc {
                return Err(corrupt((
                    offset,
                    format!(
                        "{name} section checksum mismatch: stored {crc:#010x}, computed {actual:#010x}"
                    ),
                ))
                .with_checksum(crc, actual));
            }
        }
        let payload = |s: Section| -> (&[u8], u64) {
            let (offset, len) = sections.get(s as usize).copied().unwrap_or((0, 0));
            (
                section_bytes(data, offset, len).map_or(&[][..], |(p, _)| p),
                offset,
            )
        };

        let (sym_bytes, sym_offset) = payload(Section::Symbols);
        let symbols = parse_symbols(sym_bytes, sym_offset).map_err(corrupt)?;

        let (offsets_bytes, offsets_offset) = payload(Section::SeriesOffsets);
        let (series_bytes, series_offset) = payload(Section::Series);
        if (offsets_bytes.len() as u64) != n_series.saturating_mul(4)
            || n_series > u64::from(u32::MAX)
        {
            return Err(corrupt((
                offsets_offset,
                format!(
                    "series offsets section has {} bytes for {n_series} series",
                    offsets_bytes.len()
                ),
            )));
        }
        let mut prev = None;
        let mut oc = Cursor::new(offsets_bytes, offsets_offset);
        while !oc.is_empty() {
            let at = oc.offset();
            let off = u64::from(oc.u32_le().map_err(corrupt)?);
            if off >= series_bytes.len() as u64 || prev.is_some_and(|p| off <= p) {
                return Err(corrupt((
                    at,
                    format!("series entry offset {off} out of order or out of bounds"),
                )));
            }
            prev = Some(off);
        }

        let (table_bytes, table_offset) = payload(Section::LabelTable);
        let (postings_bytes, postings_offset) = payload(Section::Postings);
        let names = parse_label_table(
            table_bytes,
            table_offset,
            &symbols,
            postings_offset,
            postings_bytes.len() as u64,
        )
        .map_err(corrupt)?;
        let n_values: usize = names.iter().map(|n| n.values.len()).sum();

        Ok(Self {
            path: path.to_path_buf(),
            bytes: bytes.clone(),
            summary,
            symbols,
            series: (series_offset, series_bytes.len() as u64),
            series_offsets: offsets_offset,
            names,
            section_lens: sections.map(|(_, len)| len),
            entry_cache: (0..n_series).map(|_| OnceLock::new()).collect(),
            postings_cache: (0..n_values).map(|_| OnceLock::new()).collect(),
        })
    }

    /// The table-of-contents facts.
    pub fn summary(&self) -> &IndexSummary {
        &self.summary
    }

    /// Payload bytes of each section (for size reports).
    pub fn section_sizes(&self) -> [(Section, u64); super::N_SECTIONS] {
        let mut out = [(Section::Symbols, 0); super::N_SECTIONS];
        for (slot, (section, len)) in out
            .iter_mut()
            .zip(Section::ALL.iter().zip(self.section_lens))
        {
            *slot = (*section, len);
        }
        out
    }

    /// The index file path (for error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of series.
    pub fn n_series(&self) -> u32 {
        // Checked against u32::MAX in `open`.
        self.summary.n_series as u32
    }

    pub(crate) fn corrupt(&self, offset: u64, detail: impl Into<String>) -> Error {
        Error::Corruption {
            path: self.path.clone(),
            offset,
            detail: detail.into(),
            checksum: None,
        }
    }

    pub(crate) fn symbol(&self, sym: u32) -> Option<&Arc<str>> {
        self.symbols.get(sym as usize)
    }

    /// The series entry of `series`.
    pub fn series(&self, series: SeriesRef) -> Result<SeriesEntry> {
        self.series_entry(series).cloned()
    }

    /// The series entry of `series`, parsed on first use and then kept.
    pub fn series_entry(&self, series: SeriesRef) -> Result<&SeriesEntry> {
        let slot = self.entry_cache.get(series as usize);
        if let Some(entry) = slot.and_then(OnceLock::get) {
            return Ok(entry);
        }
        let parsed = self.parse_entry(series)?;
        match slot {
            Some(slot) => Ok(slot.get_or_init(|| parsed)),
            None => Err(self.corrupt(0, format!("series ref {series} out of range"))),
        }
    }

    fn parse_entry(&self, series: SeriesRef) -> Result<SeriesEntry> {
        let data = self.bytes.as_slice();
        let (sec_offset, sec_len) = self.series;
        let off_at = self.series_offsets + u64::from(series) * 4;
        if series >= self.n_series() {
            return Err(self.corrupt(
                off_at,
                format!(
                    "series ref {series} out of range ({} series)",
                    self.n_series()
                ),
            ));
        }
        let read_off = |at: u64| -> Option<u64> {
            let start = usize::try_from(at).ok()?;
            let b: [u8; 4] = data.get(start..start.checked_add(4)?)?.try_into().ok()?;
            Some(u64::from(u32::from_le_bytes(b)))
        };
        let start =
            read_off(off_at).ok_or_else(|| self.corrupt(off_at, "series offset out of bounds"))?;
        let end = if series + 1 < self.n_series() {
            read_off(off_at + 4)
                .ok_or_else(|| self.corrupt(off_at + 4, "series offset out of bounds"))?
        } else {
            sec_len
        };
        let entry = usize::try_from(sec_offset + start)
            .ok()
            .zip(usize::try_from(sec_offset + end).ok())
            .and_then(|(s, e)| data.get(s..e))
            .ok_or_else(|| self.corrupt(sec_offset + start, "series entry out of bounds"))?;
        self.parse_series(entry, sec_offset + start)
            .map_err(|(o, d)| self.corrupt(o, d))
    }

    fn parse_series(&self, entry: &[u8], base: u64) -> Result<SeriesEntry, DecodeError> {
        let mut c = Cursor::new(entry, base);
        let n_labels = c.uvarint_usize()?;
        if n_labels > c.remaining() / 2 {
            return Err(c.err(format!("{n_labels} labels cannot fit in the entry")));
        }
        // Borrowed symbols, encoded once into the set's packed buffer.
        let mut labels: Vec<(&str, &str)> = Vec::with_capacity(n_labels);
        let mut prev_name: Option<u32> = None;
        for _ in 0..n_labels {
            let at = c.offset();
            let name = c.uvarint_u32()?;
            let value = c.uvarint_u32()?;
            if prev_name.is_some_and(|p| name <= p) {
                return Err((at, "label names not strictly sorted".into()));
            }
            prev_name = Some(name);
            let (Some(n), Some(v)) = (self.symbol(name), self.symbol(value)) else {
                return Err((
                    at,
                    format!("symbol ref out of range ({} symbols)", self.symbols.len()),
                ));
            };
            if v.is_empty() {
                return Err((at, "empty label value".into()));
            }
            labels.push((n, v));
        }
        let n_chunks = c.uvarint_usize()?;
        if n_chunks == 0 || n_chunks > c.remaining() / 3 {
            return Err(c.err(format!("implausible chunk count {n_chunks}")));
        }
        let segment = c.uvarint_u32()?;
        let offset = c.uvarint()?;
        if segment == 0 || segment > self.summary.n_segments {
            return Err(c.err(format!(
                "segment {segment} out of range (block has {})",
                self.summary.n_segments
            )));
        }
        let mut chunks = Vec::with_capacity(n_chunks);
        let mut prev_max = self.summary.min_time;
        for i in 0..n_chunks {
            let at = c.offset();
            let gap = c.uvarint()?;
            let span = c.uvarint()?;
            let len = c.uvarint_u32()?;
            let gap = if i == 0 { gap } else { gap.wrapping_add(1) };
            let min_time = (prev_max as u64).wrapping_add(gap) as i64;
            let max_time = (min_time as u64).wrapping_add(span) as i64;
            let ordered = if i == 0 {
                min_time >= prev_max
            } else {
                min_time > prev_max
            };
            if !ordered || max_time < min_time || max_time > self.summary.max_time {
                return Err((
                    at,
                    format!(
                        "chunk {i} time range [{min_time}, {max_time}] out of order or outside the block"
                    ),
                ));
            }
            if (len as usize) < promlite_chunk::HEADER_LEN {
                return Err((
                    at,
                    format!("chunk {i} length {len} is shorter than a chunk header"),
                ));
            }
            chunks.push(ChunkRef {
                min_time,
                max_time,
                len,
            });
            prev_max = max_time;
        }
        if !c.is_empty() {
            return Err(c.err("trailing bytes after series entry"));
        }
        Ok(SeriesEntry {
            labels: Labels::from_sorted_pairs(labels),
            segment,
            offset,
            chunks,
        })
    }

    /// The labels of `series`.
    pub fn series_labels(&self, series: SeriesRef) -> Result<Labels> {
        Ok(self.series_entry(series)?.labels.clone())
    }

    pub(crate) fn name_entry(&self, name: &str) -> Option<&NameEntry> {
        self.names
            .binary_search_by(|e| self.symbol(e.name).map_or("", |s| &**s).cmp(name))
            .ok()
            .and_then(|i| self.names.get(i))
    }

    /// Sorted label names of the block.
    pub fn label_names(&self) -> Vec<String> {
        self.names
            .iter()
            .filter_map(|e| self.symbol(e.name))
            .map(|s| s.to_string())
            .collect()
    }

    /// Sorted values of label `name`.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.name_entry(name)
            .map(|e| {
                e.values
                    .iter()
                    .filter_map(|v| self.symbol(v.value))
                    .map(|s| s.to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The string of a value entry.
    pub(crate) fn value_str(&self, v: &ValueEntry) -> &str {
        self.symbol(v.value).map_or("", |s| s)
    }

    /// Deserializes the postings bitmap of a value entry, checking it against the series count.
    /// The postings of `v`, decoded on first use and then kept (see `postings_cache`).
    pub(crate) fn read_postings(&self, v: &ValueEntry) -> Result<Arc<RoaringBitmap>> {
        let slot = self.postings_cache.get(v.slot as usize);
        if let Some(bitmap) = slot.and_then(OnceLock::get) {
            return Ok(bitmap.clone());
        }
        let decoded = Arc::new(self.decode_postings(v)?);
        match slot {
            Some(slot) => Ok(slot.get_or_init(|| decoded).clone()),
            None => Ok(decoded),
        }
    }

    fn decode_postings(&self, v: &ValueEntry) -> Result<RoaringBitmap> {
        let data = self.bytes.as_slice();
        let blob = usize::try_from(v.start)
            .ok()
            .and_then(|s| data.get(s..s.checked_add(v.len as usize)?))
            .ok_or_else(|| self.corrupt(v.start, "postings out of bounds"))?;
        let bitmap = match blob.split_first() {
            Some((&POSTINGS_DELTA, list)) => {
                let mut c = Cursor::new(list, v.start + 1);
                let mut bitmap = RoaringBitmap::new();
                let mut next = 0u64;
                while !c.is_empty() {
                    let delta = c.uvarint().map_err(|(o, d)| self.corrupt(o, d))?;
                    let series = next
                        .checked_add(delta)
                        .filter(|&s| s < u64::from(self.n_series()));
                    let Some(series) = series else {
                        return Err(self
                            .corrupt(c.offset(), "postings refer to a series outside the block"));
                    };
                    bitmap.push(series as u32);
                    next = series + 1;
                }
                bitmap
            }
            Some((&POSTINGS_ROARING, body)) => {
                let bitmap = RoaringBitmap::deserialize_from(body)
                    .map_err(|e| self.corrupt(v.start, format!("invalid postings bitmap: {e}")))?;
                if bitmap.serialized_size() != body.len() {
                    return Err(self.corrupt(
                        v.start,
                        "postings bitmap length does not match its table entry",
                    ));
                }
                bitmap
            }
            _ => return Err(self.corrupt(v.start, "unknown postings encoding")),
        };
        if bitmap.max().is_some_and(|m| m >= self.n_series()) || bitmap.is_empty() {
            return Err(self.corrupt(
                v.start,
                "postings bitmap refers to series outside the block",
            ));
        }
        Ok(bitmap)
    }

    /// Postings of `name="value"`; empty if the pair does not occur.
    pub fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap> {
        let Some(entry) = self.name_entry(name) else {
            return Ok(RoaringBitmap::new());
        };
        match entry
            .values
            .binary_search_by(|v| self.value_str(v).cmp(value))
        {
            Ok(i) => match entry.values.get(i) {
                Some(v) => Ok(RoaringBitmap::clone(&*self.read_postings(v)?)),
                None => Ok(RoaringBitmap::new()),
            },
            Err(_) => Ok(RoaringBitmap::new()),
        }
    }
}

/// The payload and stored CRC of a section, if in bounds.
fn section_bytes(data: &[u8], offset: u64, len: u64) -> Option<(&[u8], u32)> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    let payload = data.get(start..end)?;
    let crc: [u8; 4] = data.get(end..end.checked_add(4)?)?.try_into().ok()?;
    Some((payload, u32::from_le_bytes(crc)))
}

fn parse_symbols(payload: &[u8], offset: u64) -> Result<Vec<Arc<str>>, DecodeError> {
    let mut c = Cursor::new(payload, offset);
    let encoding = c.u8()?;
    let rest = c.bytes(c.remaining())?;
    let decompressed;
    let raw: &[u8] = match encoding {
        SYMBOLS_RAW => rest,
        SYMBOLS_SNAPPY => {
            // Bound the allocation before trusting the length header.
            let len = snap::raw::decompress_len(rest)
                .map_err(|e| (offset + 1, format!("bad snappy header: {e}")))?;
            if len > rest.len().saturating_mul(64).max(1 << 16) {
                return Err((
                    offset + 1,
                    format!("implausible decompressed symbol table size {len}"),
                ));
            }
            decompressed = snap::raw::Decoder::new()
                .decompress_vec(rest)
                .map_err(|e| (offset + 1, format!("symbol table does not decompress: {e}")))?;
            &decompressed
        }
        other => return Err((offset, format!("unknown symbol table encoding {other}"))),
    };
    // Offsets inside a compressed table are reported relative to the section start.
    let mut c = Cursor::new(raw, offset + 1);
    let n = c.uvarint_usize()?;
    if n > c.remaining() {
        return Err(c.err(format!("{n} symbols cannot fit")));
    }
    let mut out: Vec<Arc<str>> = Vec::with_capacity(n);
    for _ in 0..n {
        let at = c.offset();
        let len = c.uvarint_usize()?;
        let s = std::str::from_utf8(c.bytes(len)?)
            .map_err(|_| (at, "symbol is not UTF-8".to_string()))?;
        if out.last().is_some_and(|p| **p >= *s) {
            return Err((at, "symbols not strictly sorted".into()));
        }
        out.push(Arc::from(s));
    }
    if !c.is_empty() {
        return Err(c.err("trailing bytes after the symbol table"));
    }
    Ok(out)
}

fn parse_label_table(
    payload: &[u8],
    offset: u64,
    symbols: &[Arc<str>],
    postings_offset: u64,
    postings_len: u64,
) -> Result<Vec<NameEntry>, DecodeError> {
    let mut c = Cursor::new(payload, offset);
    let n_names = c.uvarint_usize()?;
    if n_names > c.remaining() {
        return Err(c.err(format!("{n_names} label names cannot fit")));
    }
    let mut names: Vec<NameEntry> = Vec::with_capacity(n_names);
    let mut pos = 0u64;
    let mut slot = 0u32;
    for _ in 0..n_names {
        let at = c.offset();
        let name = c.uvarint_u32()?;
        if name as usize >= symbols.len() || names.last().is_some_and(|p| p.name >= name) {
            return Err((at, "label name symbol out of range or out of order".into()));
        }
        let n_values = c.uvarint_usize()?;
        if n_values == 0 || n_values > c.remaining() / 2 {
            return Err((at, format!("implausible value count {n_values}")));
        }
        let mut values: Vec<ValueEntry> = Vec::with_capacity(n_values);
        for _ in 0..n_values {
            let at = c.offset();
            let value = c.uvarint_u32()?;
            let len = c.uvarint_u32()?;
            if value as usize >= symbols.len() || values.last().is_some_and(|p| p.value >= value) {
                return Err((at, "label value symbol out of range or out of order".into()));
            }
            if len == 0 || pos + u64::from(len) > postings_len {
                return Err((
                    at,
                    format!("postings length {len} overruns the postings section"),
                ));
            }
            values.push(ValueEntry {
                value,
                slot,
                start: postings_offset + pos,
                len,
            });
            slot = slot
                .checked_add(1)
                .ok_or_else(|| (at, "too many label values".to_string()))?;
            pos += u64::from(len);
        }
        names.push(NameEntry { name, values });
    }
    if !c.is_empty() {
        return Err(c.err("trailing bytes after the label table"));
    }
    if pos != postings_len {
        return Err((
            postings_offset + pos,
            "postings section has unreferenced bytes".into(),
        ));
    }
    Ok(names)
}
