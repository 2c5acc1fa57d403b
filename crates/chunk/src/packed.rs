//! The packed chunk encoder and decoder (format version 2, see `docs/format/chunk.md`).
//!
//! Packed chunks are written once, by block compaction, which sees every sample up front; the
//! head keeps appendable XOR (version 1) chunks. Timestamps are either *regular* (one delta for
//! the whole chunk: zero bits per sample and O(1) index of a timestamp) or a bit-packed section
//! of deltas. Values are either *decimal* (every value is `i / 10^k` for one scale `k`, and the
//! integers are delta-coded of order 0, 1 or 2 into a bit-packed section with an exception list
//! for counter resets) or fall back to a Gorilla XOR float stream, which holds any bit pattern.
//!
//! Decoding works in batches of [`BATCH`] samples on the stack: unpack the timestamp deltas and
//! value residuals with fixed-width reads, integrate them with prefix sums, then hand the samples
//! in `[mint, maxt]` to the caller. Nothing is allocated.

mod section;

use crate::bits::{BitReader, BitWriter};
use crate::error::{EncodeError, Error, Result};
use crate::xor::{as_decimal, decimal_value, smallest_scale, Fail, FloatXor, MAX_SCALE};
use section::{encode_section, put_uvarint, put_varint, ByteReader, Section, SectionCursor};

/// The format version byte of packed chunks.
pub const PACKED_FORMAT_VERSION: u8 = 2;

/// Timestamp modes.
const TS_REGULAR: u8 = 0;
const TS_PACKED: u8 = 1;

/// Value modes.
const VALUES_DECIMAL: u8 = 0;
const VALUES_FLOAT: u8 = 1;

/// Highest delta order of decimal mode.
const MAX_ORDER: u8 = 2;

/// Samples decoded per batch (stack buffers of `BATCH` timestamps and values).
const BATCH: usize = 128;

/// Encodes `samples` as one packed (version 2) chunk, choosing the smallest of the layouts it
/// can use. Timestamps must strictly increase; 1 to 65 535 samples. Every `f64` bit pattern
/// and every `i64` timestamp round-trips.
///
/// ```
/// use promlite_chunk::{decode_range, encode_packed};
///
/// let samples: Vec<(i64, f64)> = (0..480).map(|i| (i * 15_000, 0.5 * i as f64)).collect();
/// let bytes = encode_packed(&samples).unwrap();
/// assert!(bytes.len() < 20); // regular timestamps, constant increments: no bits per sample
/// let mut out = Vec::new();
/// decode_range(&bytes, 15_000, 45_000, |t, v| out.push((t, v))).unwrap();
/// assert_eq!(out, vec![(15_000, 0.5), (30_000, 1.0), (45_000, 1.5)]);
/// ```
pub fn encode_packed(samples: &[(i64, f64)]) -> Result<Vec<u8>, EncodeError> {
    let n = samples.len();
    if n == 0 {
        return Err(EncodeError::Empty);
    }
    let count = u16::try_from(n).map_err(|_| EncodeError::TooMany { n })?;
    for (index, pair) in samples.windows(2).enumerate() {
        if let [(prev, _), (t, _)] = pair {
            if t <= prev {
                return Err(EncodeError::OutOfOrder {
                    index: index + 1,
                    prev: *prev,
                    t: *t,
                });
            }
        }
    }
    let [lo, hi] = count.to_le_bytes();
    let mut out = vec![PACKED_FORMAT_VERSION, lo, hi];
    encode_timestamps(samples, &mut out);
    encode_values(samples, &mut out);
    Ok(out)
}

fn encode_timestamps(samples: &[(i64, f64)], out: &mut Vec<u8>) {
    let Some(&(t0, _)) = samples.first() else {
        return;
    };
    put_varint(out, t0);
    if samples.len() < 2 {
        return;
    }
    // Timestamps strictly increase, so every difference is positive and fits a u64.
    let deltas: Vec<u64> = samples
        .windows(2)
        .map(|w| match w {
            [(a, _), (b, _)] => b.wrapping_sub(*a) as u64,
            _ => 0,
        })
        .collect();
    match deltas.first() {
        Some(&first) if deltas.iter().all(|&d| d == first) => {
            out.push(TS_REGULAR);
            put_uvarint(out, first);
        }
        _ => {
            out.push(TS_PACKED);
            encode_section(&deltas, false, out);
        }
    }
}

fn encode_values(samples: &[(i64, f64)], out: &mut Vec<u8>) {
    let float = encode_float_values(samples);
    if let Some(decimal) = encode_decimal_values(samples) {
        if decimal.len() <= float.len() {
            out.extend_from_slice(&decimal);
            return;
        }
    }
    out.extend_from_slice(&float);
}

/// The mode byte and Gorilla XOR stream: the first value's 64 bits, then XOR codes.
fn encode_float_values(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut w = BitWriter::with_prefix(vec![VALUES_FLOAT]);
    let mut values = samples.iter().map(|s| s.1);
    if let Some(first) = values.next() {
        w.write_bits(first.to_bits(), 64);
        let mut state = FloatXor::after(first.to_bits());
        for v in values {
            state.write(&mut w, v);
        }
    }
    w.into_bytes()
}

/// The integers `i` and the one scale `k` with `v == i / 10^k` bit for bit for every value, if
/// there is such a scale.
fn decimal_ints(samples: &[(i64, f64)]) -> Option<(u32, Vec<i64>)> {
    // The largest of the values' smallest scales is the first candidate; a value that is a
    // decimal at scale k is usually, but not always, one at larger scales too, so check all.
    let mut scale = 0;
    for &(_, v) in samples {
        scale = smallest_scale(v, scale)?.0;
    }
    (scale..=MAX_SCALE).find_map(|k| {
        let ints: Option<Vec<i64>> = samples.iter().map(|&(_, v)| as_decimal(v, k)).collect();
        ints.map(|ints| (k, ints))
    })
}

/// The mode byte and decimal layout of the smallest order, if every value is a decimal.
fn encode_decimal_values(samples: &[(i64, f64)]) -> Option<Vec<u8>> {
    let (scale, ints) = decimal_ints(samples)?;
    let mut best: Option<Vec<u8>> = None;
    // |i| <= 2^53, so first differences fit 55 bits and second differences 56: no overflow.
    let differences = |xs: &[i64]| -> Vec<i64> {
        xs.windows(2)
            .map(|w| match w {
                [a, b] => b - a,
                _ => 0,
            })
            .collect()
    };
    let first = differences(&ints);
    let second = differences(&first);
    for order in 0..=MAX_ORDER {
        let residuals: &[i64] = match order {
            0 => &ints,
            1 => &first,
            _ => &second,
        };
        if residuals.is_empty() {
            continue; // the order must leave at least one residual
        }
        let mut out = vec![VALUES_DECIMAL, (order << 4) | scale as u8];
        if order >= 1 {
            put_varint(&mut out, ints.first().copied().unwrap_or(0));
        }
        if order >= 2 {
            put_varint(&mut out, first.first().copied().unwrap_or(0));
        }
        let raw: Vec<u64> = residuals.iter().map(|&r| r as u64).collect();
        encode_section(&raw, true, &mut out);
        if best.as_ref().is_none_or(|b| out.len() < b.len()) {
            best = Some(out);
        }
    }
    best
}

/// How a parsed chunk stores its timestamps.
#[derive(Debug, Clone, Copy)]
enum Times<'a> {
    /// `t_j = t0 + j * delta`; checked on parse not to overflow for `j < n`.
    Regular { delta: u64 },
    /// Deltas in a section.
    Packed { section: Section<'a>, offset: usize },
}

/// How a parsed chunk stores its values.
#[derive(Debug, Clone, Copy)]
enum Values<'a> {
    Decimal {
        scale: u32,
        order: u8,
        /// `i_0`, and for order 2 the first difference `i_1 - i_0`.
        head: [i64; 2],
        section: Section<'a>,
    },
    Float {
        stream: &'a [u8],
        offset: usize,
    },
}

/// A packed chunk with its headers parsed and validated.
#[derive(Debug, Clone, Copy)]
struct Parsed<'a> {
    n: usize,
    t0: i64,
    times: Times<'a>,
    values: Values<'a>,
}

/// Number of samples in a packed chunk's header (at least 1).
pub(crate) fn num_samples_v2(chunk: &[u8]) -> Result<u16> {
    match chunk {
        [PACKED_FORMAT_VERSION, lo, hi, ..] => {
            let n = u16::from_le_bytes([*lo, *hi]);
            if n == 0 {
                return Err(Error::Corrupt {
                    offset: 1,
                    detail: "packed chunk announces no samples",
                });
            }
            Ok(n)
        }
        [version, _, _, ..] => Err(Error::UnsupportedVersion {
            version: *version,
            supported: PACKED_FORMAT_VERSION,
        }),
        _ => Err(Error::TooShort {
            len: chunk.len(),
            needed: crate::HEADER_LEN,
        }),
    }
}

fn parse(chunk: &[u8]) -> Result<Parsed<'_>> {
    let n = usize::from(num_samples_v2(chunk)?);
    let mut r = ByteReader::new(chunk, crate::HEADER_LEN);
    let t0 = r.varint("truncated first timestamp")?;
    let times = if n < 2 {
        Times::Regular { delta: 1 }
    } else {
        match r.u8("truncated timestamp mode")? {
            TS_REGULAR => {
                let delta = r.uvarint("truncated timestamp delta")?;
                // The last timestamp t0 + (n - 1) * delta must fit an i64.
                let last = i128::from(t0) + (n as i128 - 1) * i128::from(delta);
                if delta == 0 || last > i128::from(i64::MAX) {
                    return Err(r.corrupt("regular timestamp delta zero or overflowing"));
                }
                Times::Regular { delta }
            }
            TS_PACKED => {
                let offset = r.pos();
                let section = Section::parse(&mut r, n - 1, false)?;
                Times::Packed { section, offset }
            }
            _ => return Err(r.corrupt("unknown timestamp mode")),
        }
    };
    let values = match r.u8("truncated value mode")? {
        VALUES_DECIMAL => {
            let byte = r.u8("truncated decimal header")?;
            let scale = u32::from(byte & 0x0f);
            let order = byte >> 4;
            if order > MAX_ORDER || usize::from(order) >= n {
                return Err(r.corrupt("decimal delta order out of range"));
            }
            let mut head = [0i64; 2];
            for slot in head.iter_mut().take(usize::from(order)) {
                *slot = r.varint("truncated decimal start value")?;
            }
            let section = Section::parse(&mut r, n - usize::from(order), true)?;
            if !r.rest().is_empty() {
                return Err(r.corrupt("bytes after the end of the chunk"));
            }
            Values::Decimal {
                scale,
                order,
                head,
                section,
            }
        }
        VALUES_FLOAT => Values::Float {
            stream: r.rest(),
            offset: r.pos(),
        },
        _ => return Err(r.corrupt("unknown value mode")),
    };
    Ok(Parsed {
        n,
        t0,
        times,
        values,
    })
}

/// Produces raw values in order: decimal integers (as `i64` bits) or `f64` bits.
enum ValueCursor<'a> {
    Decimal {
        order: u8,
        head: [i64; 2],
        section: SectionCursor<'a>,
        /// Index of the next value.
        idx: usize,
        acc: i64,
        delta: i64,
    },
    Float {
        r: BitReader<'a>,
        state: FloatXor,
        idx: usize,
        offset: usize,
    },
}

impl ValueCursor<'_> {
    /// Fills `out` with the next `out.len()` raw values.
    #[inline]
    fn fill(&mut self, out: &mut [u64]) -> Result<()> {
        match self {
            ValueCursor::Decimal {
                order,
                head,
                section,
                idx,
                acc,
                delta,
            } => {
                // The first `order` values come from the header.
                let from_head = usize::from(*order).saturating_sub(*idx).min(out.len());
                let (head_out, rest) = out.split_at_mut(from_head);
                for slot in head_out {
                    if *idx == 0 {
                        *acc = head[0];
                        *delta = head[1];
                    } else {
                        *acc = acc.wrapping_add(*delta);
                    }
                    *slot = *acc as u64;
                    *idx += 1;
                }
                section.fill(rest);
                *idx += rest.len();
                // Prefix sums; wrapping, since a corrupt chunk may overflow (a valid one
                // stays within ±2^53).
                match order {
                    0 => {}
                    1 => {
                        let mut a = *acc;
                        for x in rest.iter_mut() {
                            a = a.wrapping_add(*x as i64);
                            *x = a as u64;
                        }
                        *acc = a;
                    }
                    _ => {
                        let (mut a, mut d) = (*acc, *delta);
                        for x in rest.iter_mut() {
                            d = d.wrapping_add(*x as i64);
                            a = a.wrapping_add(d);
                            *x = a as u64;
                        }
                        *acc = a;
                        *delta = d;
                    }
                }
                Ok(())
            }
            ValueCursor::Float {
                r,
                state,
                idx,
                offset,
            } => {
                for slot in out.iter_mut() {
                    let bits = if *idx == 0 {
                        r.read_bits(64)
                            .map_err(Fail::from)
                            .inspect(|&bits| *state = FloatXor::after(bits))
                    } else {
                        state.read(r)
                    };
                    *slot = bits.map_err(|fail| Error::Corrupt {
                        offset: *offset + r.byte_offset(),
                        detail: match fail {
                            Fail::End => "float stream ends before the announced sample count",
                            Fail::Bad(detail) => detail,
                        },
                    })?;
                    *idx += 1;
                }
                Ok(())
            }
        }
    }
}

/// Decodes the samples of a packed chunk with `mint <= t <= maxt` into `sink`, in order, in
/// batches of at most [`BATCH`] samples (timestamps and values of equal length).
pub(crate) fn decode_batches(
    chunk: &[u8],
    mint: i64,
    maxt: i64,
    sink: impl FnMut(&[i64], &[f64]),
) -> Result<()> {
    let p = parse(chunk)?;
    if mint > maxt {
        return Ok(());
    }
    let mut values = match p.values {
        Values::Decimal {
            order,
            head,
            section,
            ..
        } => ValueCursor::Decimal {
            order,
            head,
            section: section.cursor(),
            idx: 0,
            acc: 0,
            delta: 0,
        },
        Values::Float { stream, offset } => ValueCursor::Float {
            r: BitReader::new(stream),
            state: FloatXor::after(0),
            idx: 0,
            offset,
        },
    };
    match p.values {
        Values::Decimal { scale: 0, .. } => {
            run(&p, &mut values, mint, maxt, sink, |raw| raw as i64 as f64)
        }
        Values::Decimal { scale, .. } => {
            // Exactly `decimal_value`, with the power of ten looked up once.
            let divisor = crate::xor::pow10(scale);
            debug_assert_eq!(decimal_value(7, scale), 7.0 / divisor);
            run(&p, &mut values, mint, maxt, sink, move |raw| {
                (raw as i64 as f64) / divisor
            })
        }
        Values::Float { .. } => run(&p, &mut values, mint, maxt, sink, f64::from_bits),
    }
}

/// Converts raw values to `f64` in a separate tight loop (independent divisions pipeline).
#[inline(always)]
fn convert_all(raw: &[u64], out: &mut [f64], convert: &impl Fn(u64) -> f64) {
    for (o, &r) in out.iter_mut().zip(raw) {
        *o = convert(r);
    }
}

/// The batch loop, monomorphised per value conversion.
#[inline(always)]
fn run(
    p: &Parsed<'_>,
    values: &mut ValueCursor<'_>,
    mint: i64,
    maxt: i64,
    mut sink: impl FnMut(&[i64], &[f64]),
    convert: impl Fn(u64) -> f64,
) -> Result<()> {
    let mut raw = [0u64; BATCH];
    let mut times = [0i64; BATCH];
    let mut floats = [0f64; BATCH];
    match p.times {
        Times::Regular { delta } => {
            // Index range [start, end) of the samples in [mint, maxt], from the arithmetic
            // progression; i128 cannot overflow here.
            let (t0, delta_wide, n) = (i128::from(p.t0), i128::from(delta), p.n as i128);
            let start = if i128::from(mint) <= t0 {
                0
            } else {
                (i128::from(mint) - t0 + delta_wide - 1) / delta_wide
            }
            .min(n);
            let end = if i128::from(maxt) < t0 {
                0
            } else {
                ((i128::from(maxt) - t0) / delta_wide + 1).min(n)
            };
            // Both are within 0..=n <= 65535.
            let (start, end) = (start as usize, end as usize);
            if start >= end {
                return Ok(());
            }
            let mut idx = 0usize;
            while idx < end {
                let len = (end - idx).min(BATCH);
                let Some(batch) = raw.get_mut(..len) else {
                    break;
                };
                values.fill(batch)?;
                let first = start.saturating_sub(idx).min(len);
                idx += len;
                let (Some(ts), Some(vs), Some(rs)) = (
                    times.get_mut(first..len),
                    floats.get_mut(first..len),
                    batch.get(first..),
                ) else {
                    continue;
                };
                if ts.is_empty() {
                    continue; // the whole batch is before `mint`
                }
                // t_j = t0 + j * delta fits an i64 for j < n (checked on parse).
                let t_first =
                    p.t0.wrapping_add(((idx - len + first) as u64).wrapping_mul(delta) as i64);
                let mut t = t_first;
                for slot in ts.iter_mut() {
                    *slot = t;
                    t = t.wrapping_add(delta as i64);
                }
                convert_all(rs, vs, &convert);
                sink(ts, vs);
            }
            Ok(())
        }
        Times::Packed { section, offset } => {
            let mut cursor = section.cursor();
            let mut t = p.t0;
            let mut idx = 0usize;
            let overflow = Error::Corrupt {
                offset,
                detail: "timestamps overflow or do not increase",
            };
            while idx < p.n {
                let len = (p.n - idx).min(BATCH);
                let (Some(batch), Some(ts)) = (raw.get_mut(..len), times.get_mut(..len)) else {
                    break;
                };
                values.fill(batch)?;
                // The first sample's timestamp is t0; later ones add their delta.
                let from_deltas = if idx == 0 { len - 1 } else { len };
                let mut deltas = [0u64; BATCH];
                let Some(deltas) = deltas.get_mut(..from_deltas) else {
                    break;
                };
                cursor.fill(deltas);
                if idx == 0 {
                    if let Some(first) = ts.first_mut() {
                        *first = t;
                    }
                }
                let Some(delta_slots) = ts.get_mut(len - from_deltas..) else {
                    break;
                };
                for (slot, &delta) in delta_slots.iter_mut().zip(deltas.iter()) {
                    if delta == 0 {
                        return Err(overflow);
                    }
                    t = t.checked_add_unsigned(delta).ok_or(overflow.clone())?;
                    *slot = t;
                }
                idx += len;
                // Timestamps increase: the samples in range are one run of the batch.
                let lo = ts.partition_point(|&t| t < mint);
                let hi = ts.partition_point(|&t| t <= maxt);
                if lo < hi {
                    if let (Some(ts), Some(vs), Some(rs)) =
                        (ts.get(lo..hi), floats.get_mut(lo..hi), batch.get(lo..hi))
                    {
                        convert_all(rs, vs, &convert);
                        sink(ts, vs);
                    }
                }
                if hi < len {
                    break; // past `maxt`
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
