//! The on-disk label index of a block: symbol table, series (labels and chunk references),
//! label-value tables and roaring postings. Layout and version in `docs/format/index.md`.
//!
//! [`writer`] serialises an index from series sorted by labels; [`reader`] validates one (magic,
//! version, per-section CRC32, every offset) and answers look-ups; [`postings`] resolves label
//! matchers to series with bitmap algebra.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod postings;
pub mod reader;
pub mod writer;

pub use reader::{ChunkRef, IndexReader, SeriesEntry};
pub use writer::{write_index, IndexSeries, IndexSummary, IndexTooLarge};

/// Magic number at the start and the end of an index file: `PLIX`.
pub const INDEX_MAGIC: [u8; 4] = *b"PLIX";

/// Current index format version.
pub const INDEX_VERSION: u8 = 1;

/// Bytes of the file header: magic, version, three zero bytes.
pub const HEADER_LEN: usize = 8;

/// Number of sections listed in the table of contents.
pub const N_SECTIONS: usize = 5;

/// The sections, in file order and TOC order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Sorted, deduplicated strings (label names and values).
    Symbols = 0,
    /// Series entries, in label order.
    Series = 1,
    /// One u32 per series: offset of its entry within the series section.
    SeriesOffsets = 2,
    /// Label names, each with its sorted values and their postings lengths.
    LabelTable = 3,
    /// Serialized roaring bitmaps, in label-table order.
    Postings = 4,
}

impl Section {
    /// All sections in order.
    pub const ALL: [Section; N_SECTIONS] = [
        Section::Symbols,
        Section::Series,
        Section::SeriesOffsets,
        Section::LabelTable,
        Section::Postings,
    ];

    /// A name for error messages.
    pub fn name(self) -> &'static str {
        match self {
            Section::Symbols => "symbols",
            Section::Series => "series",
            Section::SeriesOffsets => "series offsets",
            Section::LabelTable => "label table",
            Section::Postings => "postings",
        }
    }
}

/// Bytes of the fixed-size table of contents at the end of the file (see `docs/format/index.md`).
pub const TOC_LEN: usize = N_SECTIONS * 16 + 16 + 16 + 24 + 8 + 4 + 4;

/// Symbol section encodings (first byte of the section).
pub(crate) const SYMBOLS_RAW: u8 = 0;
pub(crate) const SYMBOLS_SNAPPY: u8 = 1;

/// Postings encodings (first byte of each postings list).
pub(crate) const POSTINGS_DELTA: u8 = 0;
pub(crate) const POSTINGS_ROARING: u8 = 1;

/// A bounds-checked little-endian/varint cursor over bytes read from disk. Errors carry the
/// absolute file offset of the bad field.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// File offset of `data[0]`.
    base: u64,
}

/// A decoding failure: absolute file offset and what is wrong.
pub(crate) type DecodeError = (u64, String);

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], base: u64) -> Self {
        Self { data, pos: 0, base }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn err(&self, detail: impl Into<String>) -> DecodeError {
        (self.offset(), detail.into())
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| self.err("unexpected end of data"))?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.err("length overflows"))?;
        let s = self
            .data
            .get(self.pos..end)
            .ok_or_else(|| self.err(format!("{n} bytes needed, data ends")))?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u32_le(&mut self) -> Result<u32, DecodeError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.bytes(4)?);
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.bytes(8)?);
        Ok(u64::from_le_bytes(b))
    }

    pub(crate) fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let start = self.offset();
        let mut value = 0u64;
        for i in 0..10u32 {
            let b = self.u8()?;
            let payload = u64::from(b & 0x7f);
            if i == 9 && payload > 1 {
                return Err((start, "varint overflows 64 bits".into()));
            }
            value |= payload << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err((start, "varint longer than 10 bytes".into()))
    }

    /// A uvarint that must fit a u32.
    pub(crate) fn uvarint_u32(&mut self) -> Result<u32, DecodeError> {
        let start = self.offset();
        let v = self.uvarint()?;
        u32::try_from(v).map_err(|_| (start, format!("value {v} exceeds u32")))
    }

    /// A uvarint used as a length or offset.
    pub(crate) fn uvarint_usize(&mut self) -> Result<usize, DecodeError> {
        let start = self.offset();
        let v = self.uvarint()?;
        usize::try_from(v).map_err(|_| (start, format!("value {v} exceeds the address space")))
    }
}

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_varints_and_bounds() {
        let mut buf = Vec::new();
        for v in [0u64, 1, 127, 128, u64::from(u32::MAX), u64::MAX] {
            put_uvarint(&mut buf, v);
        }
        let mut c = Cursor::new(&buf, 100);
        for v in [0u64, 1, 127, 128, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(c.uvarint().unwrap(), v);
        }
        let (offset, _) = c.u8().unwrap_err();
        assert_eq!(offset, 100 + buf.len() as u64);
        let mut c = Cursor::new(&[0xff; 12], 0);
        assert!(c.uvarint().is_err());
        let mut c = Cursor::new(&[1, 2, 3], 0);
        assert!(c.u32_le().is_err());
        assert!(c.bytes(usize::MAX).is_err());
    }
}
