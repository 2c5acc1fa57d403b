//! Bit-level writer and reader. Bits are packed most-significant first within each byte, so a
//! stream reads left to right in a hex dump.

/// Appends bits to a byte vector, most significant bit first.
///
/// Invariant: `free` is the number of unused low bits in the last byte of `bytes` (0..=7); when
/// it is 0 the next bit starts a new byte. Unused bits are always zero.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    free: u32,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer that continues after `prefix` (a byte-aligned header).
    pub fn with_prefix(prefix: Vec<u8>) -> Self {
        Self {
            bytes: prefix,
            free: 0,
        }
    }

    /// Writes one bit.
    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Writes the lowest `n` bits of `value` (`n <= 64`), most significant first. Higher bits of
    /// `value` are ignored.
    #[inline]
    pub fn write_bits(&mut self, value: u64, n: u32) {
        debug_assert!(n <= 64);
        let mut left = n.min(64);
        while left > 0 {
            if self.free == 0 {
                self.bytes.push(0);
                self.free = 8;
            }
            let take = left.min(self.free);
            // `take` is 1..=8 and `left - take` is 0..=63, so both shifts are in range.
            let chunk = (value >> (left - take)) & ((1u64 << take) - 1);
            if let Some(last) = self.bytes.last_mut() {
                *last |= (chunk as u8) << (self.free - take);
            }
            self.free -= take;
            left -= take;
        }
    }

    /// Writes `value` as an unsigned LEB128 varint, in 8-bit groups on the bit stream.
    pub fn write_uvarint(&mut self, mut value: u64) {
        loop {
            let group = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.write_bits(u64::from(group), 8);
                return;
            }
            self.write_bits(u64::from(group | 0x80), 8);
        }
    }

    /// Writes `value` zigzag-encoded as a varint (small magnitudes take few bits).
    pub fn write_varint(&mut self, value: i64) {
        self.write_uvarint(zigzag(value));
    }

    /// Number of bits written (including any byte-aligned prefix).
    pub fn bit_len(&self) -> u64 {
        (self.bytes.len() as u64) * 8 - u64::from(self.free)
    }

    /// The bytes written so far; a partial last byte is zero-padded.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Mutable access to the bytes, for patching a byte-aligned header in place.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The bytes, consuming the writer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Signals that a [`BitReader`] ran out of bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndOfStream;

/// Reads bits from a byte slice, most significant bit first.
///
/// Invariant: the top `nbits` bits of `buf` are the next unread bits of the stream; `pos` is the
/// index of the first byte not yet loaded into `buf`. Bits of `buf` below the top `nbits` may hold
/// copies of the following stream bits (the fast refill loads whole words) and are never read
/// before being counted in `nbits`.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    nbits: u32,
}

impl<'a> BitReader<'a> {
    /// A reader over `data`, starting at its first bit.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            buf: 0,
            nbits: 0,
        }
    }

    /// Byte offset of the next unread bit (for error messages).
    pub fn byte_offset(&self) -> usize {
        self.pos - (self.nbits as usize).div_ceil(8)
    }

    /// Loads as many whole bytes into `buf` as fit.
    #[inline]
    fn refill(&mut self) {
        if self.nbits > 56 {
            return;
        }
        if let Some(word) = self.data.get(self.pos..self.pos + 8) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(word);
            // `nbits <= 56`, so the shift is in range; the word's bits land right after the valid ones.
            self.buf |= u64::from_be_bytes(eight) >> self.nbits;
            let bytes = (64 - self.nbits) / 8;
            self.pos += bytes as usize;
            self.nbits += bytes * 8;
        } else {
            while self.nbits <= 56 {
                let Some(&byte) = self.data.get(self.pos) else {
                    break;
                };
                self.buf |= u64::from(byte) << (56 - self.nbits);
                self.pos += 1;
                self.nbits += 8;
            }
        }
    }

    /// Reads `n` bits (`1 <= n <= 56`) as the low bits of the result.
    #[inline]
    pub fn read_bits_short(&mut self, n: u32) -> Result<u64, EndOfStream> {
        debug_assert!((1..=56).contains(&n));
        if self.nbits < n {
            self.refill();
            if self.nbits < n {
                return Err(EndOfStream);
            }
        }
        // 1 <= n <= 56 keeps both shifts in range.
        let value = self.buf >> (64 - n);
        self.buf <<= n;
        self.nbits -= n;
        Ok(value)
    }

    /// Reads `n` bits (`0 <= n <= 64`) as the low bits of the result.
    #[inline]
    pub fn read_bits(&mut self, n: u32) -> Result<u64, EndOfStream> {
        match n {
            0 => Ok(0),
            1..=56 => self.read_bits_short(n),
            _ => {
                let high = self.read_bits_short(32)?;
                let low = self.read_bits_short(n.min(64) - 32)?;
                Ok((high << (n.min(64) - 32)) | low)
            }
        }
    }

    /// Consumes the next two bits if both are zero and returns true; otherwise consumes nothing.
    #[inline]
    pub fn take_two_zero_bits(&mut self) -> bool {
        if self.nbits < 2 {
            self.refill();
            if self.nbits < 2 {
                return false;
            }
        }
        if self.buf >> 62 != 0 {
            return false;
        }
        self.buf <<= 2;
        self.nbits -= 2;
        true
    }

    /// Reads one bit.
    #[inline]
    pub fn read_bit(&mut self) -> Result<bool, EndOfStream> {
        Ok(self.read_bits_short(1)? == 1)
    }

    /// Reads a prefix code of up to `max` one-bits terminated by a zero (the zero is consumed;
    /// after `max` ones no terminator is read). Returns the number of ones.
    #[inline]
    pub fn read_prefix(&mut self, max: u32) -> Result<u32, EndOfStream> {
        debug_assert!((1..=8).contains(&max));
        if self.nbits <= max {
            self.refill();
        }
        if self.nbits > max {
            let ones = self.buf.leading_ones().min(max);
            let used = if ones == max { max } else { ones + 1 };
            self.buf <<= used;
            self.nbits -= used;
            return Ok(ones);
        }
        // Near the end of the stream: fall back to bit by bit.
        let mut ones = 0;
        while ones < max {
            if !self.read_bit()? {
                break;
            }
            ones += 1;
        }
        Ok(ones)
    }

    /// Reads an unsigned LEB128 varint written by [`BitWriter::write_uvarint`].
    pub fn read_uvarint(&mut self) -> Result<Option<u64>, EndOfStream> {
        let mut value = 0u64;
        for i in 0..10u32 {
            let group = self.read_bits_short(8)?;
            let payload = group & 0x7f;
            if i == 9 && payload > 1 {
                return Ok(None); // more than 64 bits
            }
            value |= payload << (7 * i);
            if group & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// Reads a zigzag varint written by [`BitWriter::write_varint`]; `None` if malformed.
    pub fn read_varint(&mut self) -> Result<Option<i64>, EndOfStream> {
        Ok(self.read_uvarint()?.map(unzigzag))
    }
}

/// Maps signed to unsigned so that small magnitudes become small numbers.
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Sign-extends the low `bits` bits of `raw` (`1 <= bits <= 64`).
#[inline]
pub fn sign_extend(raw: u64, bits: u32) -> i64 {
    let shift = 64 - bits.clamp(1, 64);
    ((raw << shift) as i64) >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_across_byte_boundaries() {
        let mut w = BitWriter::new();
        let fields: Vec<(u64, u32)> = (1..=64u32)
            .map(|n| (0xDEAD_BEEF_F00D_CAFEu64.rotate_left(n), n))
            .collect();
        for &(v, n) in &fields {
            w.write_bits(v, n);
        }
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        for &(v, n) in &fields {
            let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            assert_eq!(r.read_bits(n).unwrap(), v & mask, "width {n}");
        }
    }

    #[test]
    fn msb_first_layout() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_bits(0b01, 2);
        w.write_bits(0x1f, 5);
        w.write_bit(true);
        assert_eq!(w.as_bytes(), &[0b1011_1111, 0b1000_0000]);
        assert_eq!(w.bit_len(), 9);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_bits(7), Ok(0x7f));
        assert_eq!(r.read_bits(2), Err(EndOfStream));
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_prefix(8), Ok(8));
        assert_eq!(r.read_prefix(4), Err(EndOfStream));
    }

    #[test]
    fn prefix_codes() {
        let mut w = BitWriter::new();
        for ones in [0u32, 1, 2, 3, 4, 4] {
            for _ in 0..ones {
                w.write_bit(true);
            }
            if ones < 4 {
                w.write_bit(false);
            }
        }
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        for ones in [0u32, 1, 2, 3, 4, 4] {
            assert_eq!(r.read_prefix(4), Ok(ones));
        }
    }

    #[test]
    fn varints_and_zigzag() {
        let values = [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX];
        let mut w = BitWriter::new();
        w.write_bit(true); // unaligned on purpose
        for v in values {
            w.write_varint(v);
        }
        w.write_uvarint(u64::MAX);
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        assert!(r.read_bit().unwrap());
        for v in values {
            assert_eq!(r.read_varint(), Ok(Some(v)));
        }
        assert_eq!(r.read_uvarint(), Ok(Some(u64::MAX)));
        assert_eq!(sign_extend(0b111, 3), -1);
        assert_eq!(sign_extend(0b011, 3), 3);
        assert_eq!(sign_extend(u64::MAX, 64), -1);
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let bytes = [0xffu8; 11];
        assert_eq!(BitReader::new(&bytes).read_uvarint(), Ok(None));
    }
}
