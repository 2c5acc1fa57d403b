//! Metric metadata (`# HELP`, `# TYPE`, `# UNIT`) kept beside the samples: the encoding shared by
//! the WAL's metadata record and a block's `metadata` file, and that file's writer/reader pair.
//!
//! One entry per metric family name, the latest wins: an ingest path that sees new metadata for
//! a name replaces the entry, the head's entries win over every block's, and among blocks the
//! later one in time order (`(min_time, max_time)`) wins; see [`merge_into`]. Prometheus keeps one
//! entry per metric and scrape target; promlite stores no target, so two targets describing
//! one metric differently leave the most recently ingested description.
//!
//! Layouts (`docs/format/wal.md`, record type 4; `docs/format/block.md`, `metadata`):
//!
//! ```text
//! entries: count: uvarint, then per entry metric | type | help | unit,
//!          each a string (len: uvarint, UTF-8 bytes); metrics strictly increasing
//! file:    magic "PLMD" | version u8 = 1 | 3 zero bytes | body_len u32 | entries | crc32 u32
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use crate::io::FileSystem;
use crate::{Error, Result};

/// The metadata file in a block directory.
pub const METADATA_FILE: &str = "metadata";
/// Magic at the start of a metadata file.
pub const METADATA_MAGIC: [u8; 4] = *b"PLMD";
/// Version byte of the metadata file.
pub const METADATA_VERSION: u8 = 1;
/// Header bytes before the entries: magic, version, reserved, body length.
const HEADER_LEN: usize = 12;

/// What one metric family's metadata lines said. Strings are stored as ingested.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricMetadata {
    /// `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`, `stateset` or
    /// `unknown` (Prometheus's names; `unknown` when only HELP or UNIT was given).
    pub metric_type: String,
    /// The HELP text, unescaped (empty if none was given).
    pub help: String,
    /// The UNIT (OpenMetrics only; empty if none was given).
    pub unit: String,
}

/// Metadata by metric family name.
pub type MetadataMap = BTreeMap<String, MetricMetadata>;

/// Overlays `newer` on `into`: every entry of `newer` replaces the one of the same name (the
/// "latest wins" rule; callers apply sources oldest first).
pub fn merge_into(into: &mut MetadataMap, newer: &MetadataMap) {
    for (name, meta) in newer {
        if into.get(name) != Some(meta) {
            into.insert(name.clone(), meta.clone());
        }
    }
}

/// Why metadata bytes do not decode: the offset inside the decoded bytes and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset of the problem, relative to the start of the entries.
    pub offset: usize,
    /// What is wrong.
    pub detail: String,
    /// For a checksum mismatch: the stored (expected) and computed (actual) CRC32.
    pub checksum: Option<(u32, u32)>,
}

fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Appends the entries encoding of `entries` (names in increasing order, as a map iterates).
pub fn encode_entries<'a>(
    out: &mut Vec<u8>,
    entries: impl ExactSizeIterator<Item = (&'a str, &'a MetricMetadata)>,
) {
    put_uvarint(out, entries.len() as u64);
    for (name, meta) in entries {
        put_str(out, name);
        put_str(out, &meta.metric_type);
        put_str(out, &meta.help);
        put_str(out, &meta.unit);
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError {
            offset: self.pos,
            detail: detail.into(),
            checksum: None,
        }
    }

    fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut x: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = *self
                .data
                .get(self.pos)
                .ok_or_else(|| self.err("unexpected end of metadata"))?;
            if shift == 63 && b > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
            self.pos += 1;
            x |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(x);
            }
            shift += 7;
            if shift > 63 {
                return Err(self.err("varint longer than 10 bytes"));
            }
        }
    }

    fn str(&mut self, what: &str) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let len = self.uvarint()?;
        let len = usize::try_from(len).map_err(|_| self.err("string length overflow"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| self.err(format!("{what} of {len} bytes runs past the end")))?;
        let bytes = self.data.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        std::str::from_utf8(bytes).map_err(|_| DecodeError {
            offset: at,
            detail: format!("{what} is not UTF-8"),
            checksum: None,
        })
    }
}

/// Decodes an entries encoding that must fill `data` exactly. Names must be strictly
/// increasing and non-empty.
pub fn decode_entries(data: &[u8]) -> Result<MetadataMap, DecodeError> {
    let mut r = Reader { data, pos: 0 };
    let n = r.uvarint()?;
    // Each entry takes at least 5 bytes (a non-empty name plus four lengths).
    if n.saturating_mul(5) > (data.len() - r.pos) as u64 {
        return Err(r.err(format!("count {n} exceeds the remaining bytes")));
    }
    let mut out = MetadataMap::new();
    let mut previous: Option<&str> = None;
    for _ in 0..n {
        let at = r.pos;
        let name = r.str("metric name")?;
        if name.is_empty() || previous.is_some_and(|p| p >= name) {
            return Err(DecodeError {
                offset: at,
                detail: format!("metric name {name:?} is empty or out of order"),
                checksum: None,
            });
        }
        previous = Some(name);
        let metric_type = r.str("type")?.to_string();
        let help = r.str("help")?.to_string();
        let unit = r.str("unit")?.to_string();
        out.insert(
            name.to_string(),
            MetricMetadata {
                metric_type,
                help,
                unit,
            },
        );
    }
    if r.pos != data.len() {
        return Err(r.err("trailing bytes after the metadata entries"));
    }
    Ok(out)
}

/// The bytes of a metadata file holding `map`.
pub fn encode_file(map: &MetadataMap) -> Vec<u8> {
    let mut body = Vec::new();
    encode_entries(&mut body, map.iter().map(|(k, v)| (k.as_str(), v)));
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + 4);
    out.extend_from_slice(&METADATA_MAGIC);
    out.push(METADATA_VERSION);
    out.extend_from_slice(&[0, 0, 0]);
    // A body over 4 GiB cannot be described; metadata is a few bytes per metric family.
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out
}

/// Decodes a metadata file's bytes; errors name the byte offset in the file.
pub fn decode_file(bytes: &[u8]) -> Result<MetadataMap, DecodeError> {
    let at = |offset: usize, detail: String| DecodeError {
        offset,
        detail,
        checksum: None,
    };
    let header = bytes
        .get(..HEADER_LEN)
        .ok_or_else(|| at(0, format!("file of {} bytes has no header", bytes.len())))?;
    if header.get(..4) != Some(&METADATA_MAGIC[..]) {
        return Err(at(0, "bad magic (expected PLMD)".into()));
    }
    let version = header.get(4).copied().unwrap_or(0);
    if version != METADATA_VERSION {
        return Err(at(
            4,
            format!("unsupported metadata version {version} (this build reads {METADATA_VERSION})"),
        ));
    }
    if header.get(5..8) != Some(&[0, 0, 0][..]) {
        return Err(at(5, "reserved header bytes are not zero".into()));
    }
    let mut len_bytes = [0u8; 4];
    len_bytes.copy_from_slice(header.get(8..12).unwrap_or(&[0; 4]));
    let body_len = u32::from_le_bytes(len_bytes) as usize;
    let expected_len = HEADER_LEN
        .checked_add(body_len)
        .and_then(|n| n.checked_add(4))
        .unwrap_or(usize::MAX);
    if bytes.len() != expected_len {
        return Err(at(
            8,
            format!(
                "body length {body_len} needs a file of {expected_len} bytes, found {}",
                bytes.len()
            ),
        ));
    }
    let body = bytes
        .get(HEADER_LEN..HEADER_LEN + body_len)
        .unwrap_or_default();
    let mut crc_bytes = [0u8; 4];
    crc_bytes.copy_from_slice(bytes.get(HEADER_LEN + body_len..).unwrap_or(&[0; 4]));
    let stored = u32::from_le_bytes(crc_bytes);
    let actual = crc32fast::hash(body);
    if stored != actual {
        return Err(DecodeError {
            checksum: Some((stored, actual)),
            ..at(
                HEADER_LEN + body_len,
                format!("checksum mismatch: stored {stored:#010x}, computed {actual:#010x}"),
            )
        });
    }
    decode_entries(body).map_err(|e| at(HEADER_LEN + e.offset, e.detail))
}

/// Reads the metadata file of the block in `block_dir`; a block without one (written before
/// metadata was kept, or with none to keep) has no metadata. Bad bytes are
/// [`Error::Corruption`] naming the file and offset.
pub fn read_block_metadata(fs: &dyn FileSystem, block_dir: &Path) -> Result<MetadataMap> {
    let path = block_dir.join(METADATA_FILE);
    match fs.file_len(&path) {
        Ok(None) => return Ok(MetadataMap::new()),
        Ok(Some(_)) => {}
        Err(e) => return Err(Error::io(&path, e)),
    }
    let bytes = fs.read(&path).map_err(|e| Error::io(&path, e))?;
    decode_file(&bytes).map_err(|e| {
        let err = Error::Corruption {
            path: path.clone(),
            offset: e.offset as u64,
            detail: e.detail,
            checksum: None,
        };
        match e.checksum {
            Some((expected, actual)) => err.with_checksum(expected, actual),
            None => err,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(t: &str, h: &str, u: &str) -> MetricMetadata {
        MetricMetadata {
            metric_type: t.into(),
            help: h.into(),
            unit: u.into(),
        }
    }

    #[test]
    fn file_round_trips_and_rejects_damage() {
        let mut map = MetadataMap::new();
        map.insert("a_total".into(), meta("counter", "Counts a.\nMore.", ""));
        map.insert("b".into(), meta("gauge", "Ü", "seconds"));
        let bytes = encode_file(&map);
        assert_eq!(decode_file(&bytes).unwrap(), map);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode_file(&bad).is_err(), "flipped byte {i} accepted");
        }
        assert!(decode_file(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_file(&longer).is_err());
    }

    #[test]
    fn unsorted_names_are_rejected() {
        let mut body = Vec::new();
        let m = meta("gauge", "", "");
        encode_entries(&mut body, [("b", &m), ("a", &m)].into_iter());
        let err = decode_entries(&body).unwrap_err();
        assert!(err.detail.contains("out of order"), "{err:?}");
    }

    #[test]
    fn later_sources_win() {
        let mut older = MetadataMap::new();
        older.insert("x".into(), meta("gauge", "old", ""));
        older.insert("y".into(), meta("counter", "y", ""));
        let mut newer = MetadataMap::new();
        newer.insert("x".into(), meta("counter", "new", ""));
        merge_into(&mut older, &newer);
        assert_eq!(older["x"].help, "new");
        assert_eq!(older["y"].help, "y");
    }

    proptest! {
        #[test]
        fn entries_round_trip(map in proptest::collection::btree_map(
            "[a-z_:][a-z0-9_:]{0,12}",
            ("[a-z]{0,10}", "\\PC{0,20}", "[a-z]{0,6}"),
            0..20,
        )) {
            let map: MetadataMap = map
                .into_iter()
                .map(|(k, (t, h, u))| (k, meta(&t, &h, &u)))
                .collect();
            let mut body = Vec::new();
            encode_entries(&mut body, map.iter().map(|(k, v)| (k.as_str(), v)));
            prop_assert_eq!(decode_entries(&body).unwrap(), map.clone());
            prop_assert_eq!(decode_file(&encode_file(&map)).unwrap(), map);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_entries(&bytes);
            let _ = decode_file(&bytes);
        }
    }
}
