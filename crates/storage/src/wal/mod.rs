//! The write-ahead log: record encoding ([`record`]), the segmented checksummed log ([`log`]),
//! replay into the head ([`replay`]) and checkpoints ([`checkpoint`]). Format:
//! `docs/format/wal.md`.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod checkpoint;
pub mod log;
pub mod record;
pub mod replay;

pub use log::{WalSync, WalWriter};
pub use record::RecordEncoder;
pub use replay::{RepairedCorruption, ReplayReport, TornTail};
