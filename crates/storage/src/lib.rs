//! Storage engine: head block with write-ahead log, roaring-bitmap label index, immutable
//! memory-mapped blocks, and a querier across them that implements the model's
//! [`promlite_model::Queryable`] seam.
//!
//! ```
//! use promlite_model::{Labels, Matcher, Queryable, SelectHints};
//! use promlite_storage::{Db, Options};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let db = Db::open(dir.path(), Options::default()).unwrap();
//! let mut app = db.appender();
//! let up = Labels::from_pairs([("__name__", "up"), ("job", "api")]);
//! let series = app.append(&up, 1_000, 1.0).unwrap();
//! app.append_ref(series, 16_000, 1.0).unwrap();
//! app.commit().unwrap();
//! // The directory stays locked while any handle, appender or querier is alive.
//! drop(app);
//! drop(db);
//!
//! // Reopening replays the WAL.
//! let db = Db::open(dir.path(), Options::default()).unwrap();
//! let q = db.querier(0, 20_000).unwrap();
//! let mut sel = q.select(&SelectHints::default(), &[Matcher::equal("__name__", "up")]).unwrap();
//! let mut out = Vec::new();
//! sel[0].samples.collect_range(0, 20_000, &mut out).unwrap();
//! assert_eq!(out.len(), 2);
//! ```
#![warn(missing_docs)]

pub mod backfill;
pub mod block;
pub mod bulk;
pub mod bytes;
pub mod check;
pub mod compact;
pub mod db;
mod error;
pub mod head;
pub mod index;
pub mod io;
pub mod metadata;
pub mod owner;
pub mod querier;
pub mod reader;
pub mod readonly;
pub mod wal;

pub use backfill::{BackfillStats, Backfiller};
pub use bulk::{BulkStats, BulkWriter};
pub use db::{Db, Options, DEFAULT_BLOCK_RANGE};
pub use error::{ChecksumMismatch, Error, Result};
pub use head::append::{Appender, ApplyStats};
pub use head::{Head, HeadStats};
pub use metadata::{MetadataMap, MetricMetadata};
pub use querier::DbQuerier;
pub use reader::SeriesRef;
pub use wal::{ReplayReport, WalSync};
