//! WAL record encoding: what the bytes inside one frame mean (series definitions, samples,
//! checkpoint bounds and metric metadata).
//! Framing (length, checksum, compression, segments) lives in [`super::log`].
//!
//! A frame's decompressed payload is a sequence of records, each
//! `type: u8 | body_len: uvarint | body`. See `docs/format/wal.md` for the byte layouts.

use promlite_model::{Labels, Timestamp};

/// Record type: series definitions (`ref`, labels).
pub const RECORD_SERIES: u8 = 1;
/// Record type: samples (`ref`, `t`, `v`), delta-encoded.
pub const RECORD_SAMPLES: u8 = 2;
/// Record type: checkpoint metadata (the next unused series ref and the head's lower bound).
pub const RECORD_CHECKPOINT_META: u8 = 3;
/// Record type: metric metadata (HELP/TYPE/UNIT per metric family), encoded as
/// [`crate::metadata::encode_entries`].
pub const RECORD_METADATA: u8 = 4;

/// One decoded series definition, borrowing its strings from the decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRecord<'a> {
    /// The series reference used by later sample records.
    pub series_ref: u32,
    /// `(name, value)` pairs in the order they were written (sorted by name).
    pub labels: Vec<(&'a str, &'a str)>,
}

impl SeriesRecord<'_> {
    /// The label set. Pairs are re-normalised, so a corrupt unsorted record cannot break the
    /// `Labels` invariant.
    pub fn to_labels(&self) -> Labels {
        Labels::from_pairs(self.labels.iter().copied())
    }
}

/// One WAL sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalSample {
    /// Series reference.
    pub series_ref: u32,
    /// Timestamp in milliseconds.
    pub t: Timestamp,
    /// Value bits are preserved exactly (NaN payloads, staleness markers).
    pub v: f64,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// Series definitions.
    Series(Vec<SeriesRecord<'a>>),
    /// Samples.
    Samples(Vec<WalSample>),
    /// Checkpoint metadata.
    CheckpointMeta {
        /// The smallest series ref the head may hand out next.
        next_ref: u32,
        /// The head's lower time bound when the checkpoint was written.
        min_valid_time: Timestamp,
    },
    /// Metric metadata that replaces the head's entries of the same names.
    Metadata(crate::metadata::MetadataMap),
}

/// Why a payload does not decode. The caller adds the file and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset inside the decompressed payload.
    pub offset: usize,
    /// What is wrong.
    pub detail: String,
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// Appends `x` as an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Appends `x` zigzag-encoded as a varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, x: i64) {
    put_uvarint(out, ((x << 1) ^ (x >> 63)) as u64);
}

/// Builds the records of one frame into a reusable buffer without allocating per sample.
#[derive(Debug, Default)]
pub struct RecordEncoder {
    buf: Vec<u8>,
    body: Vec<u8>,
}

impl RecordEncoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Clears the buffer, keeping its capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The encoded records.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// True if nothing was encoded since the last clear.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn finish_record(&mut self, kind: u8) {
        self.buf.push(kind);
        put_uvarint(&mut self.buf, self.body.len() as u64);
        self.buf.extend_from_slice(&self.body);
        self.body.clear();
    }

    /// Appends a series record holding `series`.
    pub fn series<'a>(&mut self, series: impl ExactSizeIterator<Item = (u32, &'a Labels)>) {
        if series.len() == 0 {
            return;
        }
        self.body.clear();
        put_uvarint(&mut self.body, series.len() as u64);
        for (series_ref, labels) in series {
            put_uvarint(&mut self.body, u64::from(series_ref));
            put_uvarint(&mut self.body, labels.len() as u64);
            for l in labels.iter() {
                put_uvarint(&mut self.body, l.name.len() as u64);
                self.body.extend_from_slice(l.name.as_bytes());
                put_uvarint(&mut self.body, l.value.len() as u64);
                self.body.extend_from_slice(l.value.as_bytes());
            }
        }
        self.finish_record(RECORD_SERIES);
    }

    /// Appends a samples record. Refs and timestamps are delta-encoded against the previous
    /// sample of the record (zigzag varints); values are the raw 8 little-endian bytes, which
    /// keeps encoding branch-free and bit-exact.
    pub fn samples(&mut self, samples: &[WalSample]) {
        if samples.is_empty() {
            return;
        }
        self.body.clear();
        // Worst case per sample: 5 + 10 + 8 bytes.
        self.body.reserve(samples.len() * 23 + 10);
        put_uvarint(&mut self.body, samples.len() as u64);
        let mut prev_ref: i64 = 0;
        let mut prev_t: i64 = 0;
        for s in samples {
            let r = i64::from(s.series_ref);
            put_varint(&mut self.body, r - prev_ref);
            put_varint(&mut self.body, s.t.wrapping_sub(prev_t));
            self.body.extend_from_slice(&s.v.to_bits().to_le_bytes());
            prev_ref = r;
            prev_t = s.t;
        }
        self.finish_record(RECORD_SAMPLES);
    }

    /// Appends a checkpoint metadata record.
    pub fn checkpoint_meta(&mut self, next_ref: u32, min_valid_time: Timestamp) {
        self.body.clear();
        put_uvarint(&mut self.body, u64::from(next_ref));
        put_varint(&mut self.body, min_valid_time);
        self.finish_record(RECORD_CHECKPOINT_META);
    }

    /// Appends a metadata record holding `entries` (names strictly increasing, as a map
    /// iterates); nothing for no entries.
    pub fn metadata<'a>(
        &mut self,
        entries: impl ExactSizeIterator<Item = (&'a str, &'a crate::metadata::MetricMetadata)>,
    ) {
        if entries.len() == 0 {
            return;
        }
        self.body.clear();
        crate::metadata::encode_entries(&mut self.body, entries);
        self.finish_record(RECORD_METADATA);
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// A bounds-checked reader over a byte slice; every read returns an error instead of panicking.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// Added to `pos` in error offsets (the body's position inside the payload).
    base: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError {
            offset: self.base + self.pos,
            detail: detail.into(),
        }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| self.err("unexpected end of record"))?;
        self.pos += 1;
        Ok(b)
    }

    fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut x: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
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

    fn varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn u32_varint(&mut self, what: &str) -> Result<u32, DecodeError> {
        let x = self.uvarint()?;
        u32::try_from(x).map_err(|_| self.err(format!("{what} {x} does not fit in 32 bits")))
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.err("length overflow"))?;
        let s = self
            .data
            .get(self.pos..end)
            .ok_or_else(|| self.err(format!("{n} bytes past the end of the record")))?;
        self.pos = end;
        Ok(s)
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.uvarint()?;
        let len = usize::try_from(len).map_err(|_| self.err("string length overflow"))?;
        let at = self.pos;
        let b = self.bytes(len)?;
        std::str::from_utf8(b).map_err(|_| DecodeError {
            offset: self.base + at,
            detail: "label is not UTF-8".into(),
        })
    }
}

/// Upper bound on element counts, checked against the remaining bytes so a corrupt count cannot
/// make us reserve gigabytes.
fn checked_count(c: &Cursor<'_>, n: u64, min_bytes_each: usize) -> Result<usize, DecodeError> {
    let remaining = c.data.len().saturating_sub(c.pos);
    let n_usize = usize::try_from(n).map_err(|_| c.err("count overflow"))?;
    if n_usize.saturating_mul(min_bytes_each) > remaining {
        return Err(c.err(format!(
            "count {n} exceeds the record's {remaining} remaining bytes"
        )));
    }
    Ok(n_usize)
}

/// Decodes every record in a decompressed frame payload, calling `f` for each.
pub fn decode_records<'a>(
    payload: &'a [u8],
    mut f: impl FnMut(Record<'a>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut outer = Cursor {
        data: payload,
        pos: 0,
        base: 0,
    };
    while !outer.is_empty() {
        let kind = outer.u8()?;
        let len = outer.uvarint()?;
        let len = usize::try_from(len).map_err(|_| outer.err("record length overflow"))?;
        let body_start = outer.pos;
        let body = outer.bytes(len)?;
        let mut c = Cursor {
            data: body,
            pos: 0,
            base: body_start,
        };
        let rec = match kind {
            RECORD_SERIES => Record::Series(decode_series(&mut c)?),
            RECORD_SAMPLES => Record::Samples(decode_samples(&mut c)?),
            RECORD_CHECKPOINT_META => {
                let next_ref = c.u32_varint("next series ref")?;
                let min_valid_time = c.varint()?;
                Record::CheckpointMeta {
                    next_ref,
                    min_valid_time,
                }
            }
            RECORD_METADATA => {
                let map = crate::metadata::decode_entries(body).map_err(|e| DecodeError {
                    offset: body_start + e.offset,
                    detail: format!("metadata record: {}", e.detail),
                })?;
                c.pos = body.len();
                Record::Metadata(map)
            }
            other => {
                return Err(DecodeError {
                    offset: body_start,
                    detail: format!("unknown record type {other}"),
                })
            }
        };
        if !c.is_empty() {
            return Err(c.err("trailing bytes after record"));
        }
        f(rec)?;
    }
    Ok(())
}

fn decode_series<'a>(c: &mut Cursor<'a>) -> Result<Vec<SeriesRecord<'a>>, DecodeError> {
    let n = c.uvarint()?;
    let n = checked_count(c, n, 2)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let series_ref = c.u32_varint("series ref")?;
        let n_labels = c.uvarint()?;
        let n_labels = checked_count(c, n_labels, 2)?;
        let mut labels = Vec::with_capacity(n_labels);
        for _ in 0..n_labels {
            let name = c.str()?;
            let value = c.str()?;
            labels.push((name, value));
        }
        out.push(SeriesRecord { series_ref, labels });
    }
    Ok(out)
}

fn decode_samples(c: &mut Cursor<'_>) -> Result<Vec<WalSample>, DecodeError> {
    let n = c.uvarint()?;
    let n = checked_count(c, n, 10)?;
    let mut out = Vec::with_capacity(n);
    let mut prev_ref: i64 = 0;
    let mut prev_t: i64 = 0;
    for _ in 0..n {
        let r = prev_ref
            .checked_add(c.varint()?)
            .ok_or_else(|| c.err("series ref overflow"))?;
        let series_ref =
            u32::try_from(r).map_err(|_| c.err(format!("series ref {r} out of range")))?;
        let t = prev_t.wrapping_add(c.varint()?);
        let vb = c.bytes(8)?;
        let mut arr = [0u8; 8];
        arr.copy_from_slice(vb);
        out.push(WalSample {
            series_ref,
            t,
            v: f64::from_bits(u64::from_le_bytes(arr)),
        });
        prev_ref = r;
        prev_t = t;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(payload: &[u8]) -> Result<Vec<Record<'_>>, DecodeError> {
        let mut out = Vec::new();
        decode_records(payload, |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn metadata_record_round_trips_beside_samples() {
        use crate::metadata::{MetadataMap, MetricMetadata};
        let mut map = MetadataMap::new();
        map.insert(
            "http_requests_total".into(),
            MetricMetadata {
                metric_type: "counter".into(),
                help: "Requests.".into(),
                unit: String::new(),
            },
        );
        let mut enc = RecordEncoder::new();
        enc.metadata(map.iter().map(|(k, v)| (k.as_str(), v)));
        enc.metadata(std::iter::empty());
        enc.samples(&[WalSample {
            series_ref: 1,
            t: 5,
            v: 2.0,
        }]);
        let recs = decode_all(enc.as_bytes()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0], Record::Metadata(map));
        let mut bad = enc.as_bytes().to_vec();
        bad[2] = 9; // the entry count now exceeds the record
        assert!(decode_all(&bad).is_err());
    }

    #[test]
    fn series_and_samples_round_trip() {
        let a = Labels::from_pairs([("__name__", "up"), ("job", "node")]);
        let b = Labels::from_pairs([("x", "ü")]);
        let mut enc = RecordEncoder::new();
        enc.series([(7u32, &a), (9, &b)].into_iter());
        let samples = [
            WalSample {
                series_ref: 9,
                t: 1000,
                v: 1.5,
            },
            WalSample {
                series_ref: 7,
                t: -5,
                v: promlite_model::STALE_NAN,
            },
            WalSample {
                series_ref: u32::MAX,
                t: i64::MAX,
                v: -0.0,
            },
            WalSample {
                series_ref: 0,
                t: i64::MIN,
                v: f64::NAN,
            },
        ];
        enc.samples(&samples);
        enc.checkpoint_meta(42, -7);
        let recs = decode_all(enc.as_bytes()).unwrap();
        assert_eq!(recs.len(), 3);
        match &recs[0] {
            Record::Series(s) => {
                assert_eq!(s.len(), 2);
                assert_eq!(s[0].series_ref, 7);
                assert_eq!(s[0].to_labels(), a);
                assert_eq!(s[1].to_labels(), b);
            }
            other => panic!("expected series, got {other:?}"),
        }
        match &recs[1] {
            Record::Samples(got) => {
                assert_eq!(got.len(), samples.len());
                for (g, w) in got.iter().zip(samples.iter()) {
                    assert_eq!(
                        (g.series_ref, g.t, g.v.to_bits()),
                        (w.series_ref, w.t, w.v.to_bits())
                    );
                }
            }
            other => panic!("expected samples, got {other:?}"),
        }
        assert_eq!(
            recs[2],
            Record::CheckpointMeta {
                next_ref: 42,
                min_valid_time: -7
            }
        );
    }

    #[test]
    fn truncated_and_garbage_payloads_are_errors() {
        let mut enc = RecordEncoder::new();
        enc.samples(&[WalSample {
            series_ref: 1,
            t: 2,
            v: 3.0,
        }]);
        let bytes = enc.as_bytes().to_vec();
        for cut in 1..bytes.len() {
            assert!(decode_all(&bytes[..cut]).is_err(), "cut at {cut} decoded");
        }
        let err = decode_all(&[99, 0]).unwrap_err();
        assert!(err.detail.contains("unknown record type 99"), "{err:?}");
        // A huge count must be rejected before allocating.
        let err = decode_all(&[RECORD_SAMPLES, 5, 0xff, 0xff, 0xff, 0xff, 0x0f]).unwrap_err();
        assert!(err.detail.contains("exceeds"), "{err:?}");
    }

    proptest! {
        #[test]
        fn samples_round_trip_any_bits(raw in proptest::collection::vec((any::<u32>(), any::<i64>(), any::<u64>()), 0..50)) {
            let samples: Vec<WalSample> =
                raw.iter().map(|&(r, t, v)| WalSample { series_ref: r, t, v: f64::from_bits(v) }).collect();
            let mut enc = RecordEncoder::new();
            enc.samples(&samples);
            let recs = decode_all(enc.as_bytes()).unwrap();
            let got: Vec<WalSample> = recs.into_iter().flat_map(|r| match r { Record::Samples(s) => s, _ => vec![] }).collect();
            prop_assert_eq!(got.len(), samples.len());
            for (g, w) in got.iter().zip(samples.iter()) {
                prop_assert_eq!((g.series_ref, g.t, g.v.to_bits()), (w.series_ref, w.t, w.v.to_bits()));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_all(&bytes);
        }
    }
}
