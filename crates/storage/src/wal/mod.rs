//! The write-ahead log: record encoding ([`record`]), the segmented checksummed log ([`log`]),
//! replay into the head ([`replay`]) and checkpoints ([`checkpoint`]). Format:
//! `docs/format/wal.md`.

pub mod checkpoint;
pub mod log;
pub mod record;
pub mod replay;

pub use log::{WalSync, WalWriter};
pub use record::RecordEncoder;
pub use replay::{RepairedCorruption, ReplayReport, TornTail};
