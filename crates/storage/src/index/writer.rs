//! Serialises a block index from series sorted by labels (format in `docs/format/index.md`).

use std::collections::BTreeMap;

use promlite_model::{Labels, Timestamp};
use roaring::RoaringBitmap;

use super::reader::ChunkRef;
use super::{
    put_uvarint, Section, HEADER_LEN, INDEX_MAGIC, INDEX_VERSION, N_SECTIONS, POSTINGS_DELTA,
    POSTINGS_ROARING, SYMBOLS_RAW, SYMBOLS_SNAPPY, TOC_LEN,
};

/// One series as the index writer sees it: labels and where its chunk run lives.
#[derive(Debug, Clone)]
pub struct IndexSeries<'a> {
    /// The series' labels; the slice given to [`write_index`] is strictly sorted by them.
    pub labels: &'a Labels,
    /// Chunk segment number (1-based, the file `chunks/NNNNNN`).
    pub segment: u32,
    /// Byte offset of the series' chunk run in that segment.
    pub offset: u64,
    /// The chunks, in time order, non-overlapping; at least one.
    pub chunks: &'a [ChunkRef],
}

/// Block-wide facts recorded in the index's table of contents (and cross-checked against
/// `meta.json` when a block is opened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSummary {
    /// The block id as a 128-bit number.
    pub id: u128,
    /// Inclusive time range of the samples.
    pub min_time: Timestamp,
    /// Inclusive time range of the samples.
    pub max_time: Timestamp,
    /// Number of series.
    pub n_series: u64,
    /// Number of chunks.
    pub n_chunks: u64,
    /// Number of samples.
    pub n_samples: u64,
    /// Number of chunk segment files.
    pub n_segments: u32,
    /// Compaction level (1 for blocks cut from the head).
    pub level: u32,
}

/// Symbol tables smaller than this are stored raw: snappy's framing does not pay for itself.
const SNAPPY_MIN_LEN: usize = 4096;

/// The series section outgrew the 4 GiB its u32 entry offsets can address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexTooLarge;

/// Serialises the index. `series` must be strictly sorted by labels (checked in debug builds);
/// `summary.n_series` is taken from `series.len()`.
pub fn write_index(
    series: &[IndexSeries<'_>],
    summary: &IndexSummary,
) -> Result<Vec<u8>, IndexTooLarge> {
    debug_assert!(
        series
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.labels < b.labels)),
        "series not sorted by labels"
    );

    // Symbols: every label name and value, sorted. A symbol's index orders like its string.
    let mut symbol_set: Vec<&str> = Vec::new();
    for s in series {
        for l in s.labels.iter() {
            symbol_set.push(l.name);
            symbol_set.push(l.value);
        }
    }
    symbol_set.sort_unstable();
    symbol_set.dedup();
    let sym = |s: &str| -> u64 { symbol_set.binary_search(&s).map_or(0, |i| i as u64) };

    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(&INDEX_MAGIC);
    out.push(INDEX_VERSION);
    out.extend_from_slice(&[0, 0, 0]);
    debug_assert_eq!(out.len(), HEADER_LEN);
    let mut sections = [(0u64, 0u64); N_SECTIONS];

    // Symbols.
    let mut raw = Vec::new();
    put_uvarint(&mut raw, symbol_set.len() as u64);
    for s in &symbol_set {
        put_uvarint(&mut raw, s.len() as u64);
        raw.extend_from_slice(s.as_bytes());
    }
    let mut payload = vec![SYMBOLS_RAW];
    let compressed = if raw.len() >= SNAPPY_MIN_LEN {
        snap::raw::Encoder::new().compress_vec(&raw).ok()
    } else {
        None
    };
    match compressed {
        Some(c) if c.len() + 8 < raw.len() => {
            if let Some(flag) = payload.first_mut() {
                *flag = SYMBOLS_SNAPPY;
            }
            payload.extend_from_slice(&c);
        }
        _ => payload.extend_from_slice(&raw),
    }
    put_section(&mut out, &mut sections, Section::Symbols, &payload);

    // Series and their offsets; postings are collected on the way (refs are label-order indices).
    let mut entries = Vec::new();
    let mut offsets = Vec::with_capacity(series.len() * 4);
    let mut postings: BTreeMap<u64, BTreeMap<u64, RoaringBitmap>> = BTreeMap::new();
    for (series_idx, s) in series.iter().enumerate() {
        let entry_offset = u32::try_from(entries.len()).map_err(|_| IndexTooLarge)?;
        offsets.extend_from_slice(&entry_offset.to_le_bytes());
        put_uvarint(&mut entries, s.labels.len() as u64);
        for l in s.labels.iter() {
            let (name, value) = (sym(l.name), sym(l.value));
            put_uvarint(&mut entries, name);
            put_uvarint(&mut entries, value);
            postings
                .entry(name)
                .or_default()
                .entry(value)
                .or_default()
                .push(series_idx as u32);
        }
        put_uvarint(&mut entries, s.chunks.len() as u64);
        put_uvarint(&mut entries, u64::from(s.segment));
        put_uvarint(&mut entries, s.offset);
        let mut prev_max = summary.min_time;
        for (i, c) in s.chunks.iter().enumerate() {
            // Differences are taken with wrapping arithmetic, so any i64 range encodes; the
            // reader undoes them the same way and validates the result.
            let start = (c.min_time as u64).wrapping_sub(prev_max as u64);
            put_uvarint(
                &mut entries,
                if i == 0 { start } else { start.wrapping_sub(1) },
            );
            put_uvarint(
                &mut entries,
                (c.max_time as u64).wrapping_sub(c.min_time as u64),
            );
            put_uvarint(&mut entries, u64::from(c.len));
            prev_max = c.max_time;
        }
    }
    put_section(&mut out, &mut sections, Section::Series, &entries);
    put_section(&mut out, &mut sections, Section::SeriesOffsets, &offsets);

    // Label table and postings.
    let mut table = Vec::new();
    let mut blobs = Vec::new();
    put_uvarint(&mut table, postings.len() as u64);
    for (name, values) in &postings {
        put_uvarint(&mut table, *name);
        put_uvarint(&mut table, values.len() as u64);
        for (value, bitmap) in values {
            let before = blobs.len();
            put_postings(&mut blobs, bitmap);
            put_uvarint(&mut table, *value);
            put_uvarint(&mut table, (blobs.len() - before) as u64);
        }
    }
    put_section(&mut out, &mut sections, Section::LabelTable, &table);
    put_section(&mut out, &mut sections, Section::Postings, &blobs);

    // Table of contents.
    let toc_start = out.len();
    for (offset, len) in sections {
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(&summary.id.to_le_bytes());
    out.extend_from_slice(&summary.min_time.to_le_bytes());
    out.extend_from_slice(&summary.max_time.to_le_bytes());
    out.extend_from_slice(&(series.len() as u64).to_le_bytes());
    out.extend_from_slice(&summary.n_chunks.to_le_bytes());
    out.extend_from_slice(&summary.n_samples.to_le_bytes());
    out.extend_from_slice(&summary.n_segments.to_le_bytes());
    out.extend_from_slice(&summary.level.to_le_bytes());
    let crc = crc32fast::hash(out.get(toc_start..).unwrap_or(&[]));
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&INDEX_MAGIC);
    debug_assert_eq!(out.len() - toc_start, TOC_LEN);
    Ok(out)
}

/// Appends one postings list in the smaller of its two encodings: a delta-varint list (small
/// lists, where roaring's container headers dominate) or a serialized roaring bitmap.
pub(crate) fn put_postings(out: &mut Vec<u8>, bitmap: &RoaringBitmap) {
    let mut list = vec![POSTINGS_DELTA];
    let mut prev = 0u32;
    for (i, series) in bitmap.iter().enumerate() {
        put_uvarint(
            &mut list,
            u64::from(if i == 0 { series } else { series - prev - 1 }),
        );
        prev = series;
    }
    if list.len() <= bitmap.serialized_size() + 1 {
        out.extend_from_slice(&list);
    } else {
        out.push(POSTINGS_ROARING);
        // Serialising into a Vec cannot fail.
        let _ = bitmap.serialize_into(&mut *out);
    }
}

/// Appends `payload` and its CRC32, recording the payload's offset and length.
fn put_section(
    out: &mut Vec<u8>,
    sections: &mut [(u64, u64); N_SECTIONS],
    which: Section,
    payload: &[u8],
) {
    if let Some(slot) = sections.get_mut(which as usize) {
        *slot = (out.len() as u64, payload.len() as u64);
    }
    out.extend_from_slice(payload);
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
}
