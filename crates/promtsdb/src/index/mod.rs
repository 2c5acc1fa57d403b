//! The block `index` file, format version 2: symbol table, series (16-byte aligned, referenced
//! by `offset / 16`), label indices, postings, label offset table, postings offset table and
//! the table of contents, every integer big-endian and every section CRC-32C checked.
//! Layout: docs/format/prometheus-blocks.md.

mod reader;
mod writer;

pub use reader::IndexReader;
pub use writer::write_index;

/// Magic number at offset 0 of an index file.
pub const INDEX_MAGIC: u32 = 0xBAAA_D700;

/// The index format version we write and read.
pub const INDEX_VERSION: u8 = 2;

/// Bytes of the table of contents (six offsets and a CRC).
pub const TOC_LEN: usize = 6 * 8 + 4;

/// A chunk's time range and reference, as the index records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Timestamp of the chunk's first sample.
    pub min_time: i64,
    /// Timestamp of the chunk's last sample.
    pub max_time: i64,
    /// Where the chunk is: segment index << 32 | offset.
    pub chunk_ref: u64,
}

/// A series as the index records it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSeries {
    /// Its labels.
    pub labels: promlite_model::Labels,
    /// Its chunks in time order, non-overlapping.
    pub chunks: Vec<ChunkMeta>,
}

#[cfg(test)]
mod tests;
