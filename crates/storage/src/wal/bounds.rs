//! `wal/bounds`: the WAL's own record of where it starts, so that a missing first segment or a
//! missing checkpoint is an error naming the missing file rather than silently lost data, and of
//! the lowest timestamp replay may restore, so that samples retention deleted never come back
//! from a segment that could not be truncated yet. Format (`docs/format/wal.md`, little-endian):
//!
//! ```text
//! version 2 (28 bytes): magic "PLWB" | version u8 = 2 | 3 zero bytes | first_segment u32
//!                       | checkpoint u32 | min_valid_time i64 | crc32 u32
//! version 1 (20 bytes): magic "PLWB" | version u8 = 1 | 3 zero bytes | first_segment u32
//!                       | checkpoint u32 | crc32 u32
//! ```
//!
//! `checkpoint` is the index of the checkpoint replay starts from (`checkpoint.<index>`), or 0
//! for none; `first_segment` is the first segment replay reads after it; `min_valid_time` is the
//! head's lower bound when the file was written (`i64::MIN`: none; version 1 files have none):
//! replay skips WAL samples before it. The CRC-32 (IEEE) covers every byte before it. The file
//! is replaced atomically (temporary name, fsync, rename, directory fsync) by [`write_bounds`],
//! always as version 2; [`read_bounds`] and [`decode_bounds`] read both versions.
//!
//! **Invariant:** once the file exists, segment `first_segment` exists (the writer creates the
//! segment before recording it), and so does the checkpoint when `checkpoint` is not 0 (a
//! truncation writes the checkpoint, then this file, and only then deletes what the checkpoint
//! replaces). Every sample before `min_valid_time` is in a block or was deleted by retention
//! (retention records the bound here before it deletes a block).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use promlite_model::Timestamp;

use crate::io::{write_atomic, FileSystem};
use crate::{ChecksumMismatch, Error, Result};

/// File name inside the WAL directory.
pub const BOUNDS_FILE: &str = "bounds";
/// Magic bytes.
pub const BOUNDS_MAGIC: [u8; 4] = *b"PLWB";
/// Format version written.
pub const BOUNDS_VERSION: u8 = 2;
/// Encoded length (version 2).
pub const BOUNDS_LEN: usize = 28;
/// Encoded length of a version 1 file (still read).
pub const BOUNDS_V1_LEN: usize = 20;

/// Where replay starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalBounds {
    /// The first segment replay reads (after the checkpoint, if any).
    pub first_segment: u32,
    /// The checkpoint replay starts from: `checkpoint.<index>`.
    pub checkpoint: Option<u32>,
    /// Replay skips WAL samples before this (`Timestamp::MIN`: no bound).
    pub min_valid_time: Timestamp,
}

impl Default for WalBounds {
    /// A new WAL: segment 1, no checkpoint.
    fn default() -> Self {
        Self {
            first_segment: 1,
            checkpoint: None,
            min_valid_time: Timestamp::MIN,
        }
    }
}

/// Why bytes are not a bounds file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundsCorruption {
    /// Byte offset of the problem.
    pub offset: u64,
    /// What is wrong, with expected and actual values.
    pub detail: String,
    /// For a checksum mismatch, the stored (expected) and computed (actual) checksums.
    pub checksum: Option<ChecksumMismatch>,
}

/// Encodes `bounds` as version 2 (the writer half of [`decode_bounds`]).
pub fn encode_bounds(bounds: &WalBounds) -> [u8; BOUNDS_LEN] {
    let mut body = Vec::with_capacity(BOUNDS_LEN);
    body.extend_from_slice(&BOUNDS_MAGIC);
    body.extend_from_slice(&[BOUNDS_VERSION, 0, 0, 0]);
    body.extend_from_slice(&bounds.first_segment.to_le_bytes());
    body.extend_from_slice(&bounds.checkpoint.unwrap_or(0).to_le_bytes());
    body.extend_from_slice(&bounds.min_valid_time.to_le_bytes());
    let crc = crc32fast::hash(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    let mut out = [0u8; BOUNDS_LEN];
    for (dst, src) in out.iter_mut().zip(&body) {
        *dst = *src;
    }
    out
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at.saturating_add(4)) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

fn i64_at(bytes: &[u8], at: usize) -> i64 {
    match bytes.get(at..at.saturating_add(8)) {
        Some(&[a, b, c, d, e, f, g, h]) => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => 0,
    }
}

/// Decodes a bounds file, checking length, magic, version, reserved bytes and checksum.
pub fn decode_bounds(bytes: &[u8]) -> std::result::Result<WalBounds, BoundsCorruption> {
    let bad = |offset: u64, detail: String| BoundsCorruption {
        offset,
        detail,
        checksum: None,
    };
    if bytes.get(..4) != Some(&BOUNDS_MAGIC[..]) {
        return Err(bad(
            0,
            format!(
                "bad magic: expected {:02x?}, found {:02x?}",
                BOUNDS_MAGIC,
                bytes.get(..4)
            ),
        ));
    }
    let version = bytes.get(4).copied().unwrap_or(0);
    let len = match version {
        1 => BOUNDS_V1_LEN,
        2 => BOUNDS_LEN,
        _ => {
            return Err(bad(
                4,
                format!("unsupported version {version} (this build reads 1 and {BOUNDS_VERSION})"),
            ))
        }
    };
    if bytes.len() != len {
        return Err(bad(
            0,
            format!(
                "expected {len} bytes for version {version}, found {} (truncated or not a \
                 bounds file)",
                bytes.len()
            ),
        ));
    }
    if bytes.get(5..8) != Some(&[0, 0, 0][..]) {
        return Err(bad(5, "reserved bytes are not zero".into()));
    }
    let crc_at = len - 4;
    let stored = u32_at(bytes, crc_at);
    let actual = crc32fast::hash(bytes.get(..crc_at).unwrap_or_default());
    if stored != actual {
        return Err(BoundsCorruption {
            checksum: Some(ChecksumMismatch {
                expected: stored,
                actual,
            }),
            ..bad(
                crc_at as u64,
                format!("checksum mismatch: expected {stored:#010x}, computed {actual:#010x}"),
            )
        });
    }
    let min_valid_time = if version == 1 {
        Timestamp::MIN
    } else {
        i64_at(bytes, 16)
    };
    let first_segment = u32_at(bytes, 8);
    let checkpoint = u32_at(bytes, 12);
    if first_segment == 0 {
        return Err(bad(8, "first segment 0 (segments start at 1)".into()));
    }
    let checkpoint = (checkpoint != 0).then_some(checkpoint);
    if checkpoint.is_some_and(|c| c.checked_add(1) != Some(first_segment)) {
        return Err(bad(
            12,
            format!(
                "checkpoint {checkpoint:?} does not end right before first segment {first_segment}"
            ),
        ));
    }
    Ok(WalBounds {
        first_segment,
        checkpoint,
        min_valid_time,
    })
}

/// Reads `<dir>/bounds`; `None` if it does not exist (a new WAL, or one written before the file
/// was introduced).
pub fn read_bounds(fs: &dyn FileSystem, dir: &Path) -> Result<Option<WalBounds>> {
    let path = dir.join(BOUNDS_FILE);
    if fs
        .file_len(&path)
        .map_err(|e| Error::io(&path, e))?
        .is_none()
    {
        return Ok(None);
    }
    let bytes = fs.read(&path).map_err(|e| Error::io(&path, e))?;
    decode_bounds(&bytes)
        .map(Some)
        .map_err(|c| Error::Corruption {
            path,
            offset: c.offset,
            detail: c.detail,
            checksum: c.checksum,
        })
}

/// Atomically replaces `<dir>/bounds`.
pub fn write_bounds(fs: &dyn FileSystem, dir: &Path, bounds: &WalBounds) -> Result<()> {
    write_atomic(fs, &dir.join(BOUNDS_FILE), &encode_bounds(bounds))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests index fixed-size buffers"
)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_byte_flip_is_caught() {
        for b in [
            WalBounds::default(),
            WalBounds {
                first_segment: 43,
                checkpoint: Some(42),
                min_valid_time: -7_000,
            },
        ] {
            let bytes = encode_bounds(&b);
            assert_eq!(decode_bounds(&bytes), Ok(b));
            for i in 0..BOUNDS_LEN {
                let mut bad = bytes;
                bad[i] ^= 0x10;
                assert!(decode_bounds(&bad).is_err(), "flip at {i} not caught");
            }
            assert!(decode_bounds(&bytes[..BOUNDS_LEN - 1]).is_err());
            assert!(decode_bounds(&bytes[..BOUNDS_V1_LEN]).is_err());
        }
    }
}
