//! The write-ahead log: record encoding ([`record`]), the segmented checksummed log ([`log`]),
//! replay into the head ([`replay`]), read-only replay beside a writer ([`snapshot`]) and checkpoints ([`checkpoint`]). Format:
//! `docs/format/wal.md`.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod bounds;
pub mod checkpoint;
pub mod log;
pub mod record;
pub mod replay;
pub mod snapshot;

pub use bounds::WalBounds;
pub use log::{WalSync, WalWriter, DEFAULT_WAL_SYNC};
pub use record::RecordEncoder;
pub use replay::{RepairedCorruption, ReplayReport, TornTail};
