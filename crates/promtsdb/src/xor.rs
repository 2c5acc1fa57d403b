//! Prometheus's XOR chunk encoding (`chunkenc.EncXOR`, encoding byte 1), bit for bit.
//!
//! promlite's own chunk format (`promlite-chunk`) is *not* this: it has a version byte, a
//! little-endian count and a decimal mode. This module writes exactly what Prometheus's
//! appender writes, so a chunk we encode from the same samples is byte-identical to
//! Prometheus's (the test `encoder_matches_promtool_bytes` checks it against a block written by
//! promtool). Layout (docs/format/prometheus-blocks.md):
//!
//! ```text
//! num_samples <be16> | t0 <varint> | v0 <64 bits> | t1-t0 <uvarint> | xor(v1) | dod(t2) xor(v2) ...
//! ```
//!
//! Timestamp delta-of-deltas use the buckets `0` (0), `10` + 14 bits, `110` + 17 bits,
//! `1110` + 20 bits and `1111` + 64 bits; a bucket of width `n` holds
//! `-(2^(n-1) - 1) ..= 2^(n-1)`. Values are Gorilla XORs: `0` for an equal value, `10` + the
//! meaningful bits inside the previous window, or `11` + 5 bits of leading zeros (capped at 31)
//! + 6 bits of length (64 written as 0) + the bits.

use promlite_chunk::bits::{BitReader, BitWriter};

use crate::error::Corruption;

/// Encoding byte of XOR chunks in chunk segment files.
pub const ENCODING_XOR: u8 = 1;

/// Samples Prometheus aims for per chunk; our writer cuts chunks at this count.
pub const SAMPLES_PER_CHUNK: usize = 120;

/// "No window yet" marker of the leading-zero count (Prometheus uses the same value).
const NO_WINDOW: u8 = 0xff;

/// Appends samples to one XOR chunk.
#[derive(Debug, Clone)]
pub struct XorChunkEncoder {
    bits: BitWriter,
    n: u16,
    t: i64,
    t_delta: i64,
    v_bits: u64,
    leading: u8,
    trailing: u8,
    /// True if the last write was whole bytes (Go's `bstream.writeByte`): Prometheus's bit
    /// stream then holds one more, empty byte when it ends on a byte boundary, and that byte
    /// is part of the chunk on disk.
    last_write_was_bytes: bool,
}

impl Default for XorChunkEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl XorChunkEncoder {
    /// An empty chunk.
    pub fn new() -> Self {
        Self {
            bits: BitWriter::with_prefix(vec![0, 0]),
            n: 0,
            t: 0,
            t_delta: 0,
            v_bits: 0,
            leading: NO_WINDOW,
            trailing: 0,
            last_write_was_bytes: false,
        }
    }

    /// Writes the low `n` bits of `value` as Go's `bstream.writeBits` does: whole bytes first,
    /// then single bits, so the last write is bytes exactly when `n` is a multiple of 8.
    fn put_bits(&mut self, value: u64, n: u32) {
        self.bits.write_bits(value, n);
        self.last_write_was_bytes = n >= 8 && n.is_multiple_of(8);
    }

    fn put_uvarint(&mut self, value: u64) {
        self.bits.write_uvarint(value);
        self.last_write_was_bytes = true;
    }

    fn put_varint(&mut self, value: i64) {
        self.bits.write_varint(value);
        self.last_write_was_bytes = true;
    }

    /// Number of samples appended.
    pub fn num_samples(&self) -> usize {
        usize::from(self.n)
    }

    /// Appends `(t, v)`. Timestamps must increase strictly and the chunk holds at most 65535
    /// samples; either violation is an error that leaves the chunk unchanged.
    pub fn append(&mut self, t: i64, v: f64) -> Result<(), crate::Error> {
        if self.n == u16::MAX {
            return Err(crate::Error::InvalidInput(
                "an XOR chunk holds at most 65535 samples".into(),
            ));
        }
        if self.n > 0 && t <= self.t {
            return Err(crate::Error::InvalidInput(format!(
                "sample timestamps must increase: {t} after {}",
                self.t
            )));
        }
        let v_bits = v.to_bits();
        match self.n {
            0 => {
                self.put_varint(t);
                self.put_bits(v_bits, 64);
            }
            1 => {
                let delta = t.wrapping_sub(self.t);
                self.put_uvarint(delta as u64);
                self.write_value(v_bits);
                self.t_delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(self.t);
                let dod = delta.wrapping_sub(self.t_delta);
                self.write_dod(dod);
                self.write_value(v_bits);
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v_bits = v_bits;
        self.n += 1;
        let count = self.n.to_be_bytes();
        // The writer was created with the 2-byte count as its prefix.
        if let Some(header) = self.bits.bytes_mut().get_mut(..2) {
            header.copy_from_slice(&count);
        }
        Ok(())
    }

    fn write_dod(&mut self, dod: i64) {
        if dod == 0 {
            self.put_bits(0, 1);
        } else if in_bucket(dod, 14) {
            self.put_bits(0b10, 2);
            self.put_bits(dod as u64, 14);
        } else if in_bucket(dod, 17) {
            self.put_bits(0b110, 3);
            self.put_bits(dod as u64, 17);
        } else if in_bucket(dod, 20) {
            self.put_bits(0b1110, 4);
            self.put_bits(dod as u64, 20);
        } else {
            self.put_bits(0b1111, 4);
            self.put_bits(dod as u64, 64);
        }
    }

    fn write_value(&mut self, v_bits: u64) {
        let delta = v_bits ^ self.v_bits;
        if delta == 0 {
            self.put_bits(0, 1);
            return;
        }
        self.put_bits(1, 1);
        let mut leading = delta.leading_zeros() as u8;
        let trailing = delta.trailing_zeros() as u8;
        // Five bits hold the leading-zero count.
        if leading >= 32 {
            leading = 31;
        }
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            self.put_bits(0, 1);
            let width = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.put_bits(delta >> self.trailing, width);
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        self.put_bits(1, 1);
        self.put_bits(u64::from(leading), 5);
        let width = 64 - u32::from(leading) - u32::from(trailing);
        // A width of 64 does not fit 6 bits; it is written as 0 (never a real width).
        self.put_bits(u64::from(width) & 0x3f, 6);
        self.put_bits(delta >> trailing, width);
    }

    /// True if Prometheus's stream would end with an extra empty byte (see
    /// `last_write_was_bytes`).
    fn has_empty_tail(&self) -> bool {
        self.last_write_was_bytes && self.bits.bit_len().is_multiple_of(8)
    }

    /// The chunk's bytes (what follows the encoding byte in a segment file), exactly as
    /// Prometheus would write them.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = self.bits.as_bytes().to_vec();
        if self.has_empty_tail() {
            out.push(0);
        }
        out
    }

    /// The chunk's bytes, consuming the encoder.
    pub fn into_bytes(self) -> Vec<u8> {
        let tail = self.has_empty_tail();
        let mut out = self.bits.into_bytes();
        if tail {
            out.push(0);
        }
        out
    }
}

/// True if `x` fits a delta-of-delta bucket of `nbits` bits (Prometheus's `bitRange`).
fn in_bucket(x: i64, nbits: u32) -> bool {
    let half = 1i64 << (nbits - 1);
    -(half - 1) <= x && x <= half
}

/// Decodes the samples of one XOR chunk.
#[derive(Debug, Clone)]
pub struct XorChunkDecoder<'a> {
    bits: BitReader<'a>,
    /// File offset of the chunk's first byte, for error positions.
    base: u64,
    total: u16,
    read: u16,
    t: i64,
    t_delta: i64,
    v_bits: u64,
    leading: u8,
    trailing: u8,
}

impl<'a> XorChunkDecoder<'a> {
    /// A decoder over chunk bytes whose first byte is at file offset `base`.
    pub fn new(data: &'a [u8], base: u64) -> Result<Self, Corruption> {
        let (count, rest) = match data {
            [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
            _ => {
                return Err(Corruption::new(
                    base,
                    "XOR chunk shorter than its 2-byte header",
                ))
            }
        };
        Ok(Self {
            bits: BitReader::new(rest),
            base: base + 2,
            total: count,
            read: 0,
            t: 0,
            t_delta: 0,
            v_bits: 0,
            leading: NO_WINDOW,
            trailing: 0,
        })
    }

    /// The sample count in the header.
    pub fn num_samples(&self) -> usize {
        usize::from(self.total)
    }

    fn err(&self, message: &str) -> Corruption {
        Corruption::new(
            self.base + self.bits.byte_offset() as u64,
            format!("XOR chunk sample {}: {message}", self.read),
        )
    }

    /// The next sample, `None` after the last one.
    #[allow(clippy::should_implement_trait)] // fallible: returns Result, unlike Iterator::next
    pub fn next(&mut self) -> Result<Option<(i64, f64)>, Corruption> {
        if self.read >= self.total {
            return Ok(None);
        }
        let eos = |s: &Self| s.err("chunk ends early");
        match self.read {
            0 => {
                let t = self
                    .bits
                    .read_varint()
                    .map_err(|_| eos(self))?
                    .ok_or_else(|| self.err("bad timestamp varint"))?;
                self.v_bits = self.bits.read_bits(64).map_err(|_| eos(self))?;
                self.t = t;
            }
            1 => {
                let delta = self
                    .bits
                    .read_uvarint()
                    .map_err(|_| eos(self))?
                    .ok_or_else(|| self.err("bad timestamp delta varint"))?;
                self.t_delta = delta as i64;
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
            _ => {
                let ones = self.bits.read_prefix(4).map_err(|_| eos(self))?;
                let width = match ones {
                    0 => 0,
                    1 => 14,
                    2 => 17,
                    3 => 20,
                    _ => 64,
                };
                let dod = if width == 0 {
                    0
                } else {
                    let raw = self.bits.read_bits(width).map_err(|_| eos(self))?;
                    if width == 64 {
                        raw as i64
                    } else if raw > (1u64 << (width - 1)) {
                        // Prometheus's sign rule: values above 2^(n-1) are negative.
                        (raw as i64) - (1i64 << width)
                    } else {
                        raw as i64
                    }
                };
                self.t_delta = self.t_delta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
        }
        self.read += 1;
        Ok(Some((self.t, f64::from_bits(self.v_bits))))
    }

    fn read_value(&mut self) -> Result<(), Corruption> {
        let eos = |s: &Self| s.err("chunk ends early");
        if !self.bits.read_bit().map_err(|_| eos(self))? {
            return Ok(());
        }
        if self.bits.read_bit().map_err(|_| eos(self))? {
            let leading = self.bits.read_bits(5).map_err(|_| eos(self))? as u8;
            let mut width = self.bits.read_bits(6).map_err(|_| eos(self))? as u8;
            if width == 0 {
                width = 64;
            }
            if u32::from(leading) + u32::from(width) > 64 {
                return Err(self.err("XOR window longer than 64 bits"));
            }
            self.leading = leading;
            self.trailing = 64 - leading - width;
        } else if self.leading == NO_WINDOW {
            return Err(self.err("XOR value reuses a window before any was set"));
        }
        let width = 64 - u32::from(self.leading) - u32::from(self.trailing);
        let meaningful = self.bits.read_bits(width).map_err(|_| eos(self))?;
        // width >= 1, so trailing <= 63 and the shift is in range.
        self.v_bits ^= meaningful << self.trailing;
        Ok(())
    }
}

/// Decodes every sample of an XOR chunk at file offset `base`.
pub fn decode_xor(data: &[u8], base: u64) -> Result<Vec<(i64, f64)>, Corruption> {
    let mut dec = XorChunkDecoder::new(data, base)?;
    let mut out = Vec::with_capacity(dec.num_samples().min(data.len() * 8));
    while let Some(s) = dec.next()? {
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
        let mut e = XorChunkEncoder::new();
        for (t, v) in samples {
            e.append(*t, *v).unwrap();
        }
        e.into_bytes()
    }

    #[test]
    fn bucket_edges_round_trip() {
        // Delta-of-deltas right at and past each bucket's edges, including the asymmetric
        // negative edge (-(2^(n-1)) needs the next bucket).
        let mut t = 1_000_000_000i64;
        let mut samples = vec![(t, 0.0)];
        let mut delta = 1_000_000i64;
        t += delta;
        samples.push((t, 1.0));
        for dod in [
            0,
            1,
            -1,
            8191,
            8192,
            -8191,
            -8192,
            65536,
            -65536,
            65537,
            524288,
            -524288,
            524289,
            -524289,
            1 << 40,
        ] {
            delta += dod;
            t += delta;
            samples.push((t, dod as f64));
        }
        let bytes = encode(&samples);
        let back = decode_xor(&bytes, 0).unwrap();
        let want: Vec<(i64, u64)> = samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
        let got: Vec<(i64, u64)> = back.iter().map(|(t, v)| (*t, v.to_bits())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn non_increasing_timestamps_are_refused() {
        let mut e = XorChunkEncoder::new();
        e.append(10, 1.0).unwrap();
        assert!(e.append(10, 2.0).is_err());
        assert_eq!(e.num_samples(), 1);
    }

    #[test]
    fn truncated_chunks_are_errors() {
        let bytes = encode(&[(1, 1.5), (2, 2.5), (4, f64::NAN)]);
        for cut in 0..bytes.len() {
            assert!(decode_xor(&bytes[..cut], 0).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn any_samples_round_trip_bit_for_bit(
            start in -1_000_000_000_000i64..2_000_000_000_000,
            deltas in proptest::collection::vec(1i64..10_000_000, 0..200),
            values in proptest::collection::vec(any::<u64>(), 201),
        ) {
            let mut t = start;
            let mut samples = vec![(t, f64::from_bits(values[0]))];
            for (i, d) in deltas.iter().enumerate() {
                t += d;
                samples.push((t, f64::from_bits(values[i + 1])));
            }
            let bytes = encode(&samples);
            let back = decode_xor(&bytes, 0).unwrap();
            prop_assert_eq!(back.len(), samples.len());
            for (a, b) in back.iter().zip(&samples) {
                prop_assert_eq!(a.0, b.0);
                prop_assert_eq!(a.1.to_bits(), b.1.to_bits());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_xor(&bytes, 0);
        }
    }
}
