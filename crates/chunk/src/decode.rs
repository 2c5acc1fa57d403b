//! The decoding entry points for every chunk format version: [`decode_range`] and
//! [`num_samples`] dispatch on the version byte, so readers need not know which encoder
//! wrote a chunk (the head writes version 1, block compaction version 1 or 2).

use crate::error::{Error, Result};
use crate::packed::{self, PACKED_FORMAT_VERSION};
use crate::xor::{self, XorDecoder, FORMAT_VERSION, HEADER_LEN};

/// The highest chunk format version this build reads.
pub const LATEST_FORMAT_VERSION: u8 = PACKED_FORMAT_VERSION;

/// Number of samples in a chunk of any supported version, from its header.
pub fn num_samples(chunk: &[u8]) -> Result<u16> {
    match chunk.first() {
        Some(&FORMAT_VERSION) => xor::num_samples_v1(chunk),
        Some(&PACKED_FORMAT_VERSION) => packed::num_samples_v2(chunk),
        _ if chunk.len() < HEADER_LEN => Err(Error::TooShort {
            len: chunk.len(),
            needed: HEADER_LEN,
        }),
        Some(&version) => Err(Error::UnsupportedVersion {
            version,
            supported: LATEST_FORMAT_VERSION,
        }),
        None => Err(Error::TooShort {
            len: 0,
            needed: HEADER_LEN,
        }),
    }
}

/// Passes the samples of `chunk` (any supported version) with `mint <= t <= maxt` to `sink`,
/// in timestamp order. Packed chunks skip straight to the first sample at or after `mint` when
/// their timestamps are regular, and decoding stops after `maxt`. [`decode_batches`] is the
/// faster form for bulk reads.
///
/// Malformed input is an [`Error`], never a panic. On error, the samples before the point of
/// failure may already have been passed to `sink`.
///
/// ```
/// use promlite_chunk::{decode_range, encode_packed, XorEncoder};
///
/// let samples = [(1_000, 1.0), (2_000, 2.5), (3_000, 4.0)];
/// let mut head = XorEncoder::new();
/// for &(t, v) in &samples {
///     head.append(t, v).unwrap();
/// }
/// let packed = encode_packed(&samples).unwrap();
/// for chunk in [head.bytes(), &packed[..]] {
///     let mut out = Vec::new();
///     decode_range(chunk, 1_500, i64::MAX, |t, v| out.push((t, v))).unwrap();
///     assert_eq!(out, vec![(2_000, 2.5), (3_000, 4.0)]);
/// }
/// ```
pub fn decode_range(
    chunk: &[u8],
    mint: i64,
    maxt: i64,
    mut sink: impl FnMut(i64, f64),
) -> Result<()> {
    decode_batches(chunk, mint, maxt, |ts, vs| {
        for (&t, &v) in ts.iter().zip(vs) {
            sink(t, v);
        }
    })
}

/// Like [`decode_range`], but passes the samples in batches: `sink(timestamps, values)` with
/// slices of equal length (at most 128), consecutive and in order. Lets the caller append a
/// whole batch at once (`Vec::extend` over the zipped slices reserves once and writes without
/// per-sample capacity checks).
///
/// ```
/// use promlite_chunk::{decode_batches, encode_packed};
///
/// let samples: Vec<(i64, f64)> = (0..1000).map(|i| (i * 10, i as f64)).collect();
/// let chunk = encode_packed(&samples).unwrap();
/// let mut out = Vec::new();
/// decode_batches(&chunk, 5, 99, |ts, vs| {
///     out.extend(ts.iter().zip(vs).map(|(&t, &v)| (t, v)));
/// })
/// .unwrap();
/// assert_eq!(out, samples[1..10]);
/// ```
pub fn decode_batches(
    chunk: &[u8],
    mint: i64,
    maxt: i64,
    mut sink: impl FnMut(&[i64], &[f64]),
) -> Result<()> {
    match chunk.first() {
        Some(&FORMAT_VERSION) => {
            let mut dec = XorDecoder::new(chunk)?;
            let mut ts = [0i64; XOR_BATCH];
            let mut vs = [0f64; XOR_BATCH];
            let mut len = 0usize;
            dec.for_each_while(|t, v| {
                if t > maxt {
                    return false;
                }
                if t >= mint {
                    if let (Some(ts_slot), Some(vs_slot)) = (ts.get_mut(len), vs.get_mut(len)) {
                        *ts_slot = t;
                        *vs_slot = v;
                        len += 1;
                    }
                    if len == XOR_BATCH {
                        sink(&ts, &vs);
                        len = 0;
                    }
                }
                true
            })?;
            if let (Some(ts), Some(vs)) = (ts.get(..len), vs.get(..len)) {
                if len > 0 {
                    sink(ts, vs);
                }
            }
            Ok(())
        }
        Some(&PACKED_FORMAT_VERSION) => packed::decode_batches(chunk, mint, maxt, sink),
        _ => num_samples(chunk).map(|_| ()),
    }
}

/// Batch size of version 1 chunks in [`decode_batches`].
const XOR_BATCH: usize = 128;

/// Appends the samples of `chunk` with `mint <= t <= maxt` to `out` (see [`decode_range`]).
pub fn decode_range_into(
    chunk: &[u8],
    mint: i64,
    maxt: i64,
    out: &mut Vec<(i64, f64)>,
) -> Result<()> {
    out.reserve(usize::from(num_samples(chunk)?));
    decode_batches(chunk, mint, maxt, |ts, vs| {
        out.extend(ts.iter().zip(vs).map(|(&t, &v)| (t, v)));
    })
}
