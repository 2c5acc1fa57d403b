//! Prometheus TSDB blocks both ways.
//!
//! A writer/reader pair for each file of a Prometheus block directory (layouts in
//! `docs/format/prometheus-blocks.md`, following Prometheus's `tsdb/docs/format/*.md`):
//!
//! - [`meta`]: `meta.json` (ULID, `minTime`/`maxTime` with `maxTime` exclusive, stats,
//!   compaction level and sources, version 1);
//! - [`index`]: the `index` file, format v2 (symbols, series, label indices, postings,
//!   offset tables, TOC; big-endian, CRC-32C per section);
//! - [`chunks`]: `chunks/000001...` segment files;
//! - [`xor`]: Prometheus's XOR chunk encoding, bit-compatible with `chunkenc`;
//! - [`tombstones`]: deleted ranges;
//! - [`block`]: a whole block ([`BlockWriter`], [`Block`]);
//!
//! and the bridges to a promlite database: [`export_blocks`] (2 h aligned blocks that
//! Prometheus, promtool, Thanos or Mimir open as their own) and [`import_blocks`].
//!
//! ```
//! use promlite_model::{Labels, Sample};
//! use promlite_promtsdb::{Block, BlockWriter};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let mut writer = BlockWriter::create(dir.path(), "01HZZZZZZZZZZZZZZZZZZZZZZZ").unwrap();
//! let up = Labels::from_pairs([("__name__", "up"), ("job", "api")]);
//! writer.add_series(&up, &[Sample::new(1_000, 1.0), Sample::new(16_000, 0.0)]).unwrap();
//! let meta = writer.finish().unwrap().unwrap();
//! assert_eq!((meta.min_time, meta.max_time), (1_000, 16_001));
//!
//! let block = Block::open(&dir.path().join(&meta.ulid)).unwrap();
//! let refs = block.series_refs().unwrap();
//! let (labels, samples) = block.read_series(refs[0]).unwrap();
//! assert_eq!(labels, up);
//! assert_eq!(samples, vec![Sample::new(1_000, 1.0), Sample::new(16_000, 0.0)]);
//! ```
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::indexing_slicing)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod block;
pub mod chunks;
pub mod encoding;
mod error;
pub mod export;
pub mod import;
pub mod index;
pub mod meta;
pub mod tombstones;
pub mod ulid;
pub mod xor;

pub use block::{block_dirs, Block, BlockWriter};
pub use error::{Corruption, Error, Result};
pub use export::{export_blocks, ExportOptions, ExportSummary, DEFAULT_BLOCK_RANGE_MS};
pub use import::{find_blocks, import_blocks, ImportSummary};
pub use meta::{read_meta, BlockMeta};
