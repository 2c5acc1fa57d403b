//! The building blocks of packed (version 2) chunks: byte-aligned LEB128 varints, and the
//! *residual section*, a list of 64-bit residuals stored as `base + (packed << shift)` with
//! fixed-width little-endian bit packing plus an exception list for outliers.
//!
//! A section encodes `count` residuals, each a `u64` read either as unsigned (timestamp
//! deltas) or as an `i64` in two's complement (value residuals, `signed`). Layout (see
//! `docs/format/chunk.md`):
//!
//! ```text
//! base      varint (zigzag if signed, plain if unsigned)
//! shift     u8, 0..=63
//! width     u8, 0..=64
//! n_exc     uvarint, <= count
//! n_exc x   (index gap uvarint, residual varint (zigzag if signed))
//! packed    ceil((count - n_exc) * width / 8) bytes
//! ```
//!
//! Exception `k` sits at residual index `prev + 1 + gap` (`gap` for the first). Every other
//! residual, in index order, is `base + (field << shift)` (wrapping), where field `j` occupies bits
//! `[j * width, (j + 1) * width)` of the packed bytes read as one little-endian integer.

use crate::bits::{unzigzag, zigzag};
use crate::error::{Error, Result};

/// Maps a residual to a key whose unsigned order is the residual's order in its domain.
#[inline]
fn order_key(x: u64, signed: bool) -> u64 {
    if signed {
        x ^ (1 << 63)
    } else {
        x
    }
}

/// Appends `value` as an unsigned LEB128 varint.
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let group = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(group);
            return;
        }
        out.push(group | 0x80);
    }
}

/// Appends `value` zigzag-encoded as a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, value: i64) {
    put_uvarint(out, zigzag(value));
}

/// Bytes that [`put_uvarint`] writes for `value`.
fn uvarint_len(value: u64) -> u64 {
    u64::from((64 - value.leading_zeros()).max(1).div_ceil(7))
}

/// Appends `value` as a varint of the section's domain.
fn put_residual(out: &mut Vec<u8>, value: u64, signed: bool) {
    if signed {
        put_varint(out, value as i64);
    } else {
        put_uvarint(out, value);
    }
}

fn residual_len(value: u64, signed: bool) -> u64 {
    uvarint_len(if signed { zigzag(value as i64) } else { value })
}

/// Number of bits needed for `x` (0 for 0).
#[inline]
fn bit_width(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Trim candidates: how many of the smallest and of the largest residuals become exceptions.
/// One counter reset makes one (order 1) or two (order 2) outliers; a missed scrape one large
/// timestamp delta. More than a few outliers rarely pay for themselves.
const TRIMS: [usize; 6] = [0, 1, 2, 3, 4, 8];

/// The chosen shape of a section, before it is written.
struct Plan {
    lo: usize,
    hi: usize,
    base: u64,
    shift: u32,
    width: u32,
    bytes: u64,
}

/// Appends the section for `residuals` (at least one), choosing the exception trim that makes
/// it smallest.
pub(crate) fn encode_section(residuals: &[u64], signed: bool, out: &mut Vec<u8>) {
    let count = residuals.len();
    // Residual indices sorted by value: the candidates for exceptions are at both ends.
    // Sorting (key, index) pairs compares plain integers.
    let mut pairs: Vec<(u64, u32)> = residuals
        .iter()
        .enumerate()
        .map(|(j, &r)| (order_key(r, signed), j as u32))
        .collect();
    pairs.sort_unstable();
    let by_value: Vec<u32> = pairs.iter().map(|&(_, j)| j).collect();
    let sorted: Vec<u64> = pairs
        .iter()
        .map(|&(key, _)| order_key(key, signed))
        .collect();
    // Trailing zeros of the differences of neighbours in value order (64 for equal ones). All
    // kept residuals are congruent modulo 2^s exactly when every neighbouring difference among
    // them is, so a trim's shift is the minimum of this over its kept range, whatever the base.
    let neighbour_zeros: Vec<u8> = sorted
        .windows(2)
        .map(|w| match w {
            [a, b] => b.wrapping_sub(*a).trailing_zeros() as u8,
            _ => 64,
        })
        .collect();
    let mut best: Option<Plan> = None;
    let mut exception_idx: Vec<u32> = Vec::with_capacity(2 * TRIMS.len());
    for &lo in &TRIMS {
        for &hi in &TRIMS {
            if lo + hi >= count {
                continue; // keep at least one packed residual
            }
            let kept_end = count - hi;
            let base = sorted.get(lo).copied().unwrap_or(0);
            let zeros = neighbour_zeros
                .get(lo..kept_end - 1)
                .unwrap_or(&[])
                .iter()
                .copied()
                .min()
                .unwrap_or(64);
            // All kept residuals equal: no bits at all.
            let shift = if zeros >= 64 { 0 } else { u32::from(zeros) };
            let max_field = sorted
                .get(kept_end - 1)
                .copied()
                .unwrap_or(0)
                .wrapping_sub(base)
                >> shift;
            let width = bit_width(max_field);
            let mut bytes = residual_len(base, signed) + 2 + uvarint_len((lo + hi) as u64);
            exception_idx.clear();
            exception_idx.extend(by_value.get(..lo).unwrap_or(&[]));
            exception_idx.extend(by_value.get(kept_end..).unwrap_or(&[]));
            exception_idx.sort_unstable();
            let mut next = 0u64;
            for &j in &exception_idx {
                let r = residuals.get(j as usize).copied().unwrap_or(0);
                bytes += uvarint_len(u64::from(j) - next) + residual_len(r, signed);
                next = u64::from(j) + 1;
            }
            bytes += ((kept_end - lo) as u64 * u64::from(width)).div_ceil(8);
            if best.as_ref().is_none_or(|b| bytes < b.bytes) {
                best = Some(Plan {
                    lo,
                    hi,
                    base,
                    shift,
                    width,
                    bytes,
                });
            }
        }
    }
    // `TRIMS` starts with (0, 0), which is always a candidate since `count >= 1`.
    let Some(plan) = best else { return };
    let mut is_exception = vec![false; count];
    for rank in (0..plan.lo).chain(count - plan.hi..count) {
        if let Some(&j) = by_value.get(rank) {
            if let Some(e) = is_exception.get_mut(j as usize) {
                *e = true;
            }
        }
    }
    put_residual(out, plan.base, signed);
    out.push(plan.shift as u8);
    out.push(plan.width as u8);
    put_uvarint(out, (plan.lo + plan.hi) as u64);
    let mut next = 0u64;
    for (j, (&e, &r)) in is_exception.iter().zip(residuals).enumerate() {
        if e {
            put_uvarint(out, j as u64 - next);
            put_residual(out, r, signed);
            next = j as u64 + 1;
        }
    }
    let mut packer = BitPacker::new(out);
    for (&e, &r) in is_exception.iter().zip(residuals) {
        if !e {
            packer.push(r.wrapping_sub(plan.base) >> plan.shift, plan.width);
        }
    }
    packer.finish();
}

/// Little-endian bit packer: field `j` occupies the bits after field `j - 1`, least significant
/// first; the last byte is zero-padded.
struct BitPacker<'a> {
    out: &'a mut Vec<u8>,
    acc: u128,
    nbits: u32,
}

impl<'a> BitPacker<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            acc: 0,
            nbits: 0,
        }
    }

    /// Appends the low `width` bits of `value` (`width <= 64`).
    #[inline]
    fn push(&mut self, value: u64, width: u32) {
        if width == 0 {
            return;
        }
        let masked = value & (u64::MAX >> (64 - width.min(64)));
        // `nbits < 8` between pushes, so `nbits + width <= 71` fits the u128 accumulator.
        self.acc |= u128::from(masked) << self.nbits;
        self.nbits += width;
        while self.nbits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.nbits -= 8;
        }
    }

    fn finish(self) {
        if self.nbits > 0 {
            self.out.push(self.acc as u8);
        }
    }
}

/// Reads byte-aligned fields of a chunk, reporting errors at chunk byte offsets.
#[derive(Debug, Clone)]
pub(crate) struct ByteReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    /// A reader over the whole chunk, at byte `pos`.
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self { data, pos }
    }

    /// Byte offset of the next unread byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The unread bytes.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    pub(crate) fn corrupt(&self, detail: &'static str) -> Error {
        Error::Corrupt {
            offset: self.pos,
            detail,
        }
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        let byte = self.data.get(self.pos).copied().ok_or(self.corrupt(what))?;
        self.pos += 1;
        Ok(byte)
    }

    pub(crate) fn uvarint(&mut self, what: &'static str) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..10u32 {
            let group = self.u8(what)?;
            let payload = u64::from(group & 0x7f);
            if i == 9 && payload > 1 {
                return Err(self.corrupt("varint longer than 64 bits"));
            }
            value |= payload << (7 * i);
            if group & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.corrupt("varint longer than 64 bits"))
    }

    pub(crate) fn varint(&mut self, what: &'static str) -> Result<i64> {
        Ok(unzigzag(self.uvarint(what)?))
    }

    fn residual(&mut self, signed: bool, what: &'static str) -> Result<u64> {
        if signed {
            Ok(self.varint(what)? as u64)
        } else {
            self.uvarint(what)
        }
    }

    pub(crate) fn take(&mut self, len: u64, what: &'static str) -> Result<&'a [u8]> {
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.pos.checked_add(len))
            .ok_or(self.corrupt(what))?;
        let bytes = self.data.get(self.pos..end).ok_or(self.corrupt(what))?;
        self.pos = end;
        Ok(bytes)
    }
}

/// A parsed, validated section: header fields checked, every exception index in range and
/// strictly increasing, and the packed bytes present.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Section<'a> {
    count: usize,
    base: u64,
    shift: u32,
    width: u32,
    signed: bool,
    n_exc: usize,
    /// The exception list's bytes (validated).
    exceptions: &'a [u8],
    packed: &'a [u8],
}

impl<'a> Section<'a> {
    /// Parses a section of `count` residuals at the reader's position.
    pub(crate) fn parse(r: &mut ByteReader<'a>, count: usize, signed: bool) -> Result<Self> {
        let base = r.residual(signed, "truncated section base")?;
        let shift = u32::from(r.u8("truncated section shift")?);
        if shift > 63 {
            return Err(r.corrupt("section shift above 63"));
        }
        let width = u32::from(r.u8("truncated section width")?);
        if width > 64 {
            return Err(r.corrupt("section width above 64"));
        }
        let n_exc = r.uvarint("truncated exception count")?;
        let n_exc = usize::try_from(n_exc)
            .ok()
            .filter(|&e| e <= count)
            .ok_or(r.corrupt("more exceptions than residuals"))?;
        let exc_start = r.pos();
        let mut next = 0usize;
        for _ in 0..n_exc {
            let gap = r.uvarint("truncated exception index")?;
            let idx = usize::try_from(gap)
                .ok()
                .and_then(|g| next.checked_add(g))
                .filter(|&i| i < count)
                .ok_or(r.corrupt("exception index out of range"))?;
            r.residual(signed, "truncated exception value")?;
            next = idx + 1;
        }
        let exceptions = r.data.get(exc_start..r.pos()).unwrap_or(&[]);
        // count <= 65535 and width <= 64, so the product cannot overflow.
        let packed_bits = (count - n_exc) as u64 * u64::from(width);
        let packed = r.take(packed_bits.div_ceil(8), "packed residuals truncated")?;
        Ok(Self {
            count,
            base,
            shift,
            width,
            signed,
            n_exc,
            exceptions,
            packed,
        })
    }

    /// A cursor at the first residual.
    pub(crate) fn cursor(&self) -> SectionCursor<'a> {
        let mut c = SectionCursor {
            sec: *self,
            idx: 0,
            bitpos: 0,
            exc: ByteReader::new(self.exceptions, 0),
            exc_left: self.n_exc,
            next_exc: usize::MAX,
            next_exc_value: 0,
            next_exc_base: 0,
        };
        c.load_exception();
        c
    }
}

/// Sequential reader of a [`Section`]'s residuals.
#[derive(Debug, Clone)]
pub(crate) struct SectionCursor<'a> {
    sec: Section<'a>,
    /// Index of the next residual.
    idx: usize,
    /// Bit position of the next packed field.
    bitpos: usize,
    exc: ByteReader<'a>,
    exc_left: usize,
    /// Index of the next exception, `usize::MAX` when none is left.
    next_exc: usize,
    next_exc_value: u64,
    /// Index right after the previous exception (the origin of the next gap).
    next_exc_base: usize,
}

impl SectionCursor<'_> {
    fn load_exception(&mut self) {
        self.next_exc = usize::MAX;
        if self.exc_left == 0 {
            return;
        }
        self.exc_left -= 1;
        // The list was validated by `Section::parse`; a failure here cannot happen, and would
        // only end the exceptions early.
        let (Ok(gap), Ok(value)) = (self.exc.uvarint(""), self.exc.residual(self.sec.signed, ""))
        else {
            return;
        };
        let Some(idx) = usize::try_from(gap)
            .ok()
            .and_then(|g| self.next_exc_base.checked_add(g))
        else {
            return;
        };
        self.next_exc = idx;
        self.next_exc_value = value;
        self.next_exc_base = idx.saturating_add(1);
    }

    /// Residuals not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.sec.count.saturating_sub(self.idx)
    }

    /// Fills `out` with the next `out.len()` residuals. Callers keep `out.len() <=
    /// remaining()`; slots past the last residual are left as they are.
    #[inline]
    pub(crate) fn fill(&mut self, out: &mut [u64]) {
        let len = out.len().min(self.remaining());
        let Some(out) = out.get_mut(..len) else {
            return;
        };
        let mut done = 0usize;
        while done < out.len() {
            if self.next_exc < self.idx {
                // Unreachable for a validated list (indices increase); stop using exceptions
                // rather than loop forever.
                self.next_exc = usize::MAX;
            }
            if self.idx == self.next_exc {
                if let Some(slot) = out.get_mut(done) {
                    *slot = self.next_exc_value;
                }
                done += 1;
                self.idx += 1;
                self.load_exception();
                continue;
            }
            let run = (out.len() - done).min(self.next_exc - self.idx);
            let Some(dst) = out.get_mut(done..done + run) else {
                return;
            };
            self.bitpos = unpack(
                self.sec.packed,
                self.bitpos,
                self.sec.width,
                self.sec.shift,
                self.sec.base,
                dst,
            );
            done += run;
            self.idx += run;
        }
    }
}

/// Little-endian `u64` at `byte`, zero-filled past the end of `data`.
#[inline(always)]
fn load_u64(data: &[u8], byte: usize) -> u64 {
    match data.get(byte..).and_then(<[u8]>::first_chunk::<8>) {
        Some(word) => u64::from_le_bytes(*word),
        None => {
            let mut word = [0u8; 8];
            let tail = data.get(byte..).unwrap_or(&[]);
            for (w, b) in word.iter_mut().zip(tail) {
                *w = *b;
            }
            u64::from_le_bytes(word)
        }
    }
}

/// Unpacks `dst.len()` fields of `width` bits starting at bit `bitpos` into
/// `base + (field << shift)` (wrapping); returns the bit position after them.
#[inline]
fn unpack(
    packed: &[u8],
    bitpos: usize,
    width: u32,
    shift: u32,
    base: u64,
    dst: &mut [u64],
) -> usize {
    // shift <= 63 (checked by `Section::parse`).
    let shift = shift.min(63);
    macro_rules! by_width {
        ($($w:literal)*) => {
            match width {
                0 => {
                    dst.fill(base);
                    bitpos
                }
                $($w => unpack_fixed::<$w, { $w + 8 }>(packed, bitpos, shift, base, dst),)*
                _ => unpack_wide(packed, bitpos, width, shift, base, dst),
            }
        };
    }
    by_width!(
        1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28
        29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56
    )
}

/// One field of `W <= 56` bits at bit `pos`: it starts at bit 0..=7 of the little-endian word
/// loaded from byte `pos / 8`, so it fits.
#[inline(always)]
fn field<const W: usize>(packed: &[u8], pos: usize) -> u64 {
    let mask = u64::MAX >> (64 - W);
    (load_u64(packed, pos >> 3) >> (pos & 7)) & mask
}

/// [`unpack`] for a constant width `1 <= W <= 56` (`WIN = W + 8`). Eight fields of `W` bits are
/// exactly `W` bytes, so from a field index that is a multiple of eight, groups of eight fields
/// are read from one `WIN`-byte window at constant offsets: no bounds checks or variable shifts
/// inside a group.
#[inline(always)]
fn unpack_fixed<const W: usize, const WIN: usize>(
    packed: &[u8],
    bitpos: usize,
    shift: u32,
    base: u64,
    dst: &mut [u64],
) -> usize {
    let mut pos = bitpos;
    // Fields up to the next group boundary.
    let lead = ((8 - (pos / W) % 8) % 8).min(dst.len());
    let (head, rest) = dst.split_at_mut(lead);
    for slot in head {
        *slot = base.wrapping_add(field::<W>(packed, pos) << shift);
        pos += W;
    }
    let mut groups = rest.chunks_exact_mut(8);
    for group in &mut groups {
        match packed.get(pos >> 3..).and_then(<[u8]>::first_chunk::<WIN>) {
            Some(window) => {
                for (k, slot) in group.iter_mut().enumerate() {
                    // Constant after unrolling: byte (k * W) / 8 + 8 <= W + 8 = WIN.
                    let byte = (k * W) >> 3;
                    let word = window
                        .get(byte..)
                        .and_then(<[u8]>::first_chunk::<8>)
                        .map_or(0, |w| u64::from_le_bytes(*w));
                    let value = (word >> ((k * W) & 7)) & (u64::MAX >> (64 - W));
                    *slot = base.wrapping_add(value << shift);
                }
            }
            None => {
                // The last groups of the chunk: field by field.
                for (k, slot) in group.iter_mut().enumerate() {
                    *slot = base.wrapping_add(field::<W>(packed, pos + k * W) << shift);
                }
            }
        }
        pos += 8 * W;
    }
    for slot in groups.into_remainder() {
        *slot = base.wrapping_add(field::<W>(packed, pos) << shift);
        pos += W;
    }
    pos
}

/// [`unpack`] for widths 57..=64, which may span nine bytes.
fn unpack_wide(
    packed: &[u8],
    bitpos: usize,
    width: u32,
    shift: u32,
    base: u64,
    dst: &mut [u64],
) -> usize {
    let mut pos = bitpos;
    let width = width.clamp(1, 64);
    let mask = u64::MAX >> (64 - width);
    for slot in dst {
        let lo = load_u64(packed, pos >> 3);
        let hi = load_u64(packed, (pos >> 3) + 8);
        let wide = (u128::from(lo) | (u128::from(hi) << 64)) >> (pos & 7);
        *slot = base.wrapping_add(((wide as u64) & mask) << shift);
        pos += width as usize;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(residuals: &[u64], signed: bool) -> usize {
        let mut bytes = Vec::new();
        encode_section(residuals, signed, &mut bytes);
        let mut r = ByteReader::new(&bytes, 0);
        let sec = Section::parse(&mut r, residuals.len(), signed).unwrap();
        assert_eq!(r.pos(), bytes.len(), "section consumed exactly");
        let mut got = vec![0u64; residuals.len()];
        let mut c = sec.cursor();
        // Uneven batches exercise runs that straddle exceptions.
        let mut done = 0;
        for (k, step) in [1usize, 7, 64, 3].iter().cycle().enumerate() {
            if done >= got.len() || k > 100_000 {
                break;
            }
            let len = (*step).min(got.len() - done);
            c.fill(&mut got[done..done + len]);
            done += len;
        }
        assert_eq!(got, residuals);
        assert_eq!(c.remaining(), 0);
        bytes.len()
    }

    #[test]
    fn constant_residuals_take_no_packed_bits() {
        let bytes = round_trip(&[5; 480], true);
        // base (1) + shift + width + exception count.
        assert_eq!(bytes, 4);
    }

    #[test]
    fn page_multiples_are_shifted() {
        let residuals: Vec<u64> = (0..480i64)
            .map(|i| (((i * 7919) % 200 - 100) * 4096) as u64)
            .collect();
        let bytes = round_trip(&residuals, true);
        // 200 distinct page counts need 8 bits per residual after the 12-bit shift.
        assert!(bytes <= 480 + 8, "{bytes}");
    }

    #[test]
    fn one_outlier_becomes_an_exception() {
        let mut residuals: Vec<u64> = (0..480u64).map(|i| 1000 + i % 16).collect();
        residuals[200] = (-5_000_000_000i64) as u64;
        let bytes = round_trip(&residuals, true);
        // 4 bits per residual plus a few bytes for the exception.
        assert!(bytes <= 240 + 16, "{bytes}");
    }

    #[test]
    fn full_width_unsigned_values() {
        round_trip(&[1, u64::MAX, 0, 1 << 63, 12345, u64::MAX - 1], false);
        round_trip(&[i64::MIN as u64, i64::MAX as u64, 0, 1], true);
        let wide: Vec<u64> = (0..100u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        round_trip(&wide, false);
        round_trip(&wide, true);
    }

    #[test]
    fn every_width_round_trips_from_every_alignment() {
        for width in 1..=64u32 {
            let max = u64::MAX >> (64 - width);
            let residuals: Vec<u64> = (0..77u64)
                .map(|i| {
                    // Spread over [0, max] and include both ends.
                    match i % 3 {
                        0 => max,
                        1 => i.wrapping_mul(0x9e37_79b9_7f4a_7c15) & max,
                        _ => 0,
                    }
                })
                .collect();
            round_trip(&residuals, false);
        }
    }

    #[test]
    fn corrupt_headers_are_errors() {
        let parse = |bytes: &[u8], count| {
            Section::parse(&mut ByteReader::new(bytes, 0), count, false).map(|_| ())
        };
        assert!(parse(&[0, 64, 0, 0], 1).is_err(), "shift 64");
        assert!(parse(&[0, 0, 65, 0], 1).is_err(), "width 65");
        assert!(
            parse(&[0, 0, 0, 2, 0, 1, 0, 1], 1).is_err(),
            "two exceptions, one residual"
        );
        assert!(
            parse(&[0, 0, 0, 1, 1, 7], 1).is_err(),
            "exception index 1 of 1"
        );
        assert!(parse(&[0, 0, 8, 0], 2).is_err(), "packed bytes missing");
        assert!(parse(&[0, 0, 8, 0, 1, 2], 2).is_ok());
    }
}
