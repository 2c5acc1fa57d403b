//! The block `tombstones` file: deleted time ranges per series.
//!
//! `magic 0x0130BA30 <be32> | version 1 <1 byte> | stones | crc32c(stones) <be32>`, each stone
//! `series_ref <uvarint> | mint <varint> | maxt <varint>` (an inclusive range). A block without
//! deletions has the 9-byte file with no stones.

use std::path::Path;

use crate::encoding::{crc32c, Decbuf, Encbuf};
use crate::error::{io_err, Corruption, Result};

/// Magic number of a tombstones file.
pub const TOMBSTONES_MAGIC: u32 = 0x0130_BA30;

/// Format version.
pub const TOMBSTONES_VERSION: u8 = 1;

/// One deleted range: samples of series `series_ref` with `min_time <= t <= max_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tombstone {
    /// The series reference in the block's index.
    pub series_ref: u64,
    /// First deleted timestamp.
    pub min_time: i64,
    /// Last deleted timestamp.
    pub max_time: i64,
}

/// The bytes of a tombstones file.
pub fn encode_tombstones(stones: &[Tombstone]) -> Vec<u8> {
    let mut body = Encbuf::new();
    for s in stones {
        body.put_uvarint(s.series_ref);
        body.put_varint(s.min_time);
        body.put_varint(s.max_time);
    }
    let mut out = Encbuf::new();
    out.put_be32(TOMBSTONES_MAGIC);
    out.put_byte(TOMBSTONES_VERSION);
    out.bytes.extend_from_slice(&body.bytes);
    out.put_be32(crc32c(&body.bytes));
    out.bytes
}

/// Parses a tombstones file's bytes.
pub fn decode_tombstones(bytes: &[u8]) -> Result<Vec<Tombstone>, crate::encoding::SectionError> {
    let mut d = Decbuf::new(bytes, 0);
    let magic = d.be32("tombstones magic")?;
    if magic != TOMBSTONES_MAGIC {
        return Err(Corruption::new(0, format!("bad tombstones magic {magic:#010x}")).into());
    }
    let version = d.byte("tombstones version")?;
    if version != TOMBSTONES_VERSION {
        return Err(Corruption::new(4, format!("unknown tombstones version {version}")).into());
    }
    let body_end = bytes
        .len()
        .checked_sub(4)
        .filter(|e| *e >= 5)
        .ok_or_else(|| Corruption::new(5, "tombstones file has no checksum"))?;
    let body = bytes.get(5..body_end).unwrap_or_default();
    let mut tail = Decbuf::new(bytes.get(body_end..).unwrap_or_default(), body_end as u64);
    let stored = tail.be32("tombstones checksum")?;
    let computed = crc32c(body);
    if stored != computed {
        return Err(crate::encoding::SectionError::Checksum {
            offset: 5,
            stored,
            computed,
        });
    }
    let mut d = Decbuf::new(body, 5);
    let mut out = Vec::new();
    while d.remaining() > 0 {
        let series_ref = d.uvarint("tombstone series")?;
        let min_time = d.varint("tombstone min time")?;
        let max_time = d.varint("tombstone max time")?;
        out.push(Tombstone {
            series_ref,
            min_time,
            max_time,
        });
    }
    Ok(out)
}

/// Reads the tombstones file at `path`; a missing file means no deletions.
pub fn read_tombstones(path: &Path) -> Result<Vec<Tombstone>> {
    match std::fs::read(path) {
        Ok(bytes) => decode_tombstones(&bytes).map_err(|e| e.in_file(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_err(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_nine_bytes_as_promtool_writes() {
        // promtool's empty tombstones file: magic, version 1, CRC of nothing (0).
        assert_eq!(
            encode_tombstones(&[]),
            vec![0x01, 0x30, 0xba, 0x30, 0x01, 0, 0, 0, 0]
        );
    }

    #[test]
    fn stones_round_trip_and_corruption_is_detected() {
        let stones = vec![
            Tombstone {
                series_ref: 4,
                min_time: -5,
                max_time: 1_700_000_000_000,
            },
            Tombstone {
                series_ref: 1 << 33,
                min_time: 0,
                max_time: 0,
            },
        ];
        let bytes = encode_tombstones(&stones);
        assert_eq!(decode_tombstones(&bytes).unwrap(), stones);
        for cut in 0..bytes.len() {
            assert!(decode_tombstones(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[6] ^= 0x40;
        assert!(matches!(
            decode_tombstones(&flipped),
            Err(crate::encoding::SectionError::Checksum { .. })
        ));
    }
}
