//! The XOR chunk encoder and decoder (format version 1, see `docs/format/chunk.md`).
//!
//! Timestamps use delta-of-delta with prefix-coded buckets, as in the Gorilla paper. Values start
//! in *decimal mode* when they are short decimals (which is what nearly every scraped value is):
//! the value is kept as an integer `i` with a scale `k` such that `v == i / 10^k` bit for bit, and
//! the delta-of-delta of `i` is bucket-coded. A value that has no such form switches the rest of
//! the chunk to Gorilla's XOR float encoding, which round-trips any bit pattern.

use crate::bits::{sign_extend, BitReader, BitWriter, EndOfStream};
use crate::error::{AppendError, Error, Result};

/// The format version byte written at offset 0 of every chunk.
pub const FORMAT_VERSION: u8 = 1;

/// Bytes before the bit stream: version (1) and sample count (u16 little-endian).
pub const HEADER_LEN: usize = 3;

/// Default sample limit of a chunk (as Prometheus: 120 samples is 30 minutes at 15 s).
pub const DEFAULT_MAX_SAMPLES: u16 = 120;

/// Default byte limit of a chunk.
pub const DEFAULT_MAX_BYTES: usize = 1024;

/// Largest decimal scale `k` (values `i / 10^k`); `10^15` is exact in an `f64`.
pub(crate) const MAX_SCALE: u32 = 15;

/// Integers in decimal mode stay within ±2^53, where every integer is exact in an `f64`.
pub(crate) const MAX_EXACT: i64 = 1 << 53;

const POW10: [f64; (MAX_SCALE + 1) as usize] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

const POW10_INT: [i64; (MAX_SCALE + 1) as usize] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
];

/// Timestamp delta-of-delta buckets: after `n` one-bits (a zero ends shorter codes), a signed
/// field of `TS_BITS[n]` bits.
const TS_BITS: [u32; 5] = [0, 7, 14, 20, 64];
const TS_MAX_ONES: u32 = 4;

/// Decimal-mode delta-of-delta buckets, indexed like [`TS_BITS`]; six one-bits is the escape.
const INT_BITS: [u32; 6] = [0, 6, 13, 20, 32, 64];
const INT_ESCAPE: u32 = 6;

/// "No XOR window yet" marker for the leading-zero count.
const NO_WINDOW: u8 = 0xff;

/// The decoded value of decimal-mode integer `i` at scale `k`. Encoder and decoder share this
/// function, so a value qualifies for decimal mode exactly when it reproduces bit for bit.
#[inline]
pub(crate) fn decimal_value(i: i64, scale: u32) -> f64 {
    if scale == 0 {
        i as f64
    } else {
        // Division is correctly rounded in IEEE 754, so this is deterministic everywhere.
        (i as f64) / pow10(scale)
    }
}

/// `10^scale`; scales are checked against [`MAX_SCALE`] where they are read.
#[inline]
pub(crate) fn pow10(scale: u32) -> f64 {
    POW10.get(scale as usize).copied().unwrap_or(f64::INFINITY)
}

/// `Some(i)` if `v == decimal_value(i, scale)` bit for bit with `|i| <= 2^53`.
#[inline]
pub(crate) fn as_decimal(v: f64, scale: u32) -> Option<i64> {
    let x = v * pow10(scale);
    if x.is_nan() || x.abs() > MAX_EXACT as f64 {
        return None; // also rejects NaN and infinities
    }
    let i = x.round() as i64;
    (decimal_value(i, scale).to_bits() == v.to_bits()).then_some(i)
}

/// The smallest scale at which `v` is a decimal, at least `from`.
pub(crate) fn smallest_scale(v: f64, from: u32) -> Option<(u32, i64)> {
    (from..=MAX_SCALE).find_map(|k| as_decimal(v, k).map(|i| (k, i)))
}

/// How values are currently encoded.
#[derive(Debug, Clone, Copy)]
enum ValueState {
    /// Decimal mode: previous integer, its delta, and the scale.
    Decimal { scale: u32, prev: i64, delta: i64 },
    /// XOR float mode.
    Float(FloatXor),
}

/// Gorilla XOR float coder state: the previous value's bits and the current
/// leading/trailing-zero window. Shared by v1 float mode and the v2 (packed) float fallback, so
/// both write exactly the same codes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FloatXor {
    prev: u64,
    leading: u8,
    trailing: u8,
}

impl FloatXor {
    /// State after a value whose bits were written raw (no window yet).
    pub(crate) fn after(prev: u64) -> Self {
        Self {
            prev,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// The previous value's bits.
    #[inline]
    pub(crate) fn prev(&self) -> u64 {
        self.prev
    }

    /// Writes `v` XOR-coded against the previous value:
    /// `0` (same bits), `10` + bits in the current window, or `11` + 5-bit leading zeros +
    /// 6-bit width (64 written as 0) + the meaningful bits.
    pub(crate) fn write(&mut self, w: &mut BitWriter, v: f64) {
        let bits = v.to_bits();
        let xor = bits ^ self.prev;
        self.prev = bits;
        if xor == 0 {
            w.write_bit(false);
            return;
        }
        let lead = xor.leading_zeros().min(31);
        let trail = xor.trailing_zeros();
        if self.leading != NO_WINDOW
            && lead >= u32::from(self.leading)
            && trail >= u32::from(self.trailing)
        {
            // Reuse the window: '10' + the bits between the previous leading/trailing zeros.
            w.write_bits(0b10, 2);
            let width = 64 - u32::from(self.leading) - u32::from(self.trailing);
            w.write_bits(xor >> self.trailing, width);
        } else {
            // New window: '11' + 5 bits leading + 6 bits width (64 written as 0) + bits.
            let width = 64 - lead - trail;
            w.write_bits(0b11, 2);
            w.write_bits(u64::from(lead), 5);
            w.write_bits(u64::from(width & 63), 6);
            w.write_bits(xor >> trail, width);
            // lead <= 31 and trail <= 63 fit a u8.
            self.leading = lead as u8;
            self.trailing = trail as u8;
        }
    }

    /// Reads a value written by [`write`](Self::write) and returns its bits.
    #[inline]
    pub(crate) fn read(&mut self, r: &mut BitReader<'_>) -> Result<u64, Fail> {
        if !r.read_bit()? {
            return Ok(self.prev);
        }
        let (leading, trailing) = if !r.read_bit()? {
            if self.leading == NO_WINDOW {
                return Err(Fail::Bad("XOR window reused before one was set"));
            }
            (u32::from(self.leading), u32::from(self.trailing))
        } else {
            let lead = r.read_bits_short(5)? as u32;
            let width = match r.read_bits_short(6)? as u32 {
                0 => 64,
                w => w,
            };
            let trail = 64u32
                .checked_sub(lead + width)
                .ok_or(Fail::Bad("XOR window wider than 64 bits"))?;
            (lead, trail)
        };
        let width = 64 - leading - trailing;
        let bits = r.read_bits(width)?;
        let value = self.prev ^ (bits << trailing);
        // leading <= 31 and trailing <= 63 fit a u8.
        self.prev = value;
        self.leading = leading as u8;
        self.trailing = trailing as u8;
        Ok(value)
    }
}

/// Encodes samples into one chunk. Timestamps must strictly increase.
///
/// ```
/// use promlite_chunk::{XorDecoder, XorEncoder};
///
/// let mut enc = XorEncoder::new();
/// for i in 0..100 {
///     enc.append(1_700_000_000_000 + i * 15_000, i as f64).unwrap();
/// }
/// let bytes = enc.finish();
/// let samples: Vec<(i64, f64)> = XorDecoder::new(&bytes).unwrap().collect::<Result<_, _>>().unwrap();
/// assert_eq!(samples.len(), 100);
/// assert_eq!(samples[99], (1_700_000_000_000 + 99 * 15_000, 99.0));
/// ```
#[derive(Debug, Clone)]
pub struct XorEncoder {
    w: BitWriter,
    n: u16,
    max_samples: u16,
    max_bytes: usize,
    t: i64,
    t_delta: i64,
    value: ValueState,
    float_only: bool,
}

impl Default for XorEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl XorEncoder {
    /// An empty chunk with the default limits (120 samples, 1024 bytes).
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MAX_SAMPLES, DEFAULT_MAX_BYTES)
    }

    /// An empty chunk that reports full at `max_samples` samples (at least 1) or once its
    /// encoding reaches `max_bytes` bytes. A chunk may pass `max_bytes` by one sample's encoding
    /// (at most 23 bytes): fullness is checked before each append.
    pub fn with_limits(max_samples: u16, max_bytes: usize) -> Self {
        let w = BitWriter::with_prefix(vec![FORMAT_VERSION, 0, 0]);
        Self {
            w,
            n: 0,
            max_samples: max_samples.max(1),
            max_bytes,
            t: 0,
            t_delta: 0,
            value: ValueState::Float(FloatXor::after(0)),
            float_only: false,
        }
    }

    /// Encodes every value with XOR floats, skipping decimal mode. Decimal mode is chosen by the
    /// first value and usually wins, but XOR is smaller for some series (values that move by
    /// multiples of a power of two, whose XORs have long trailing zero runs). An encoder that
    /// sees all samples up front (block compaction) can encode both ways and keep the smaller.
    /// Call before the first append.
    pub fn float_only(mut self) -> Self {
        self.float_only = true;
        self
    }

    /// Number of samples appended.
    pub fn num_samples(&self) -> u16 {
        self.n
    }

    /// True if the next [`append`](Self::append) will return [`AppendError::Full`].
    pub fn is_full(&self) -> bool {
        self.n >= self.max_samples || self.w.as_bytes().len() >= self.max_bytes
    }

    /// Timestamp of the last sample, if any.
    pub fn last_timestamp(&self) -> Option<i64> {
        (self.n > 0).then_some(self.t)
    }

    /// The encoded chunk so far: a complete, decodable chunk after every append.
    pub fn bytes(&self) -> &[u8] {
        self.w.as_bytes()
    }

    /// The encoded chunk, consuming the encoder.
    pub fn finish(self) -> Vec<u8> {
        self.w.into_bytes()
    }

    /// Appends a sample. On error nothing is written, so the caller may cut a new chunk and
    /// append the same sample there.
    pub fn append(&mut self, t: i64, v: f64) -> Result<(), AppendError> {
        if self.is_full() {
            return Err(AppendError::Full);
        }
        match self.n {
            0 => {
                self.w.write_varint(t);
                self.write_first_value(v);
            }
            1 => {
                if t <= self.t {
                    return Err(AppendError::OutOfOrder { prev: self.t, t });
                }
                let delta = t
                    .checked_sub(self.t)
                    .ok_or(AppendError::DeltaOverflow { prev: self.t, t })?;
                // `delta > 0`, so the cast is lossless.
                self.w.write_uvarint(delta as u64);
                self.t_delta = delta;
                self.write_value(v);
            }
            _ => {
                if t <= self.t {
                    return Err(AppendError::OutOfOrder { prev: self.t, t });
                }
                let delta = t
                    .checked_sub(self.t)
                    .ok_or(AppendError::DeltaOverflow { prev: self.t, t })?;
                // Both deltas are positive, so their difference cannot overflow.
                let dod = delta - self.t_delta;
                write_bucket(&mut self.w, dod, &TS_BITS, TS_MAX_ONES);
                self.t_delta = delta;
                self.write_value(v);
            }
        }
        self.t = t;
        self.n += 1;
        let [lo, hi] = self.n.to_le_bytes();
        if let Some(count) = self.w.bytes_mut().get_mut(1..3) {
            count.copy_from_slice(&[lo, hi]);
        }
        Ok(())
    }

    fn write_first_value(&mut self, v: f64) {
        let decimal = if self.float_only {
            None
        } else {
            smallest_scale(v, 0)
        };
        match decimal {
            Some((scale, i)) => {
                self.w.write_bit(true);
                self.w.write_bits(u64::from(scale), 4);
                self.w.write_varint(i);
                self.value = ValueState::Decimal {
                    scale,
                    prev: i,
                    delta: 0,
                };
            }
            None => {
                self.w.write_bit(false);
                self.w.write_bits(v.to_bits(), 64);
                self.value = ValueState::Float(FloatXor::after(v.to_bits()));
            }
        }
    }

    fn write_value(&mut self, v: f64) {
        match self.value {
            ValueState::Decimal { scale, prev, delta } => {
                if let Some(i) = as_decimal(v, scale) {
                    // |i|, |prev| <= 2^53 so the delta fits in 55 bits and the dod in 56.
                    let d = i - prev;
                    write_bucket(&mut self.w, d - delta, &INT_BITS, INT_ESCAPE);
                    self.value = ValueState::Decimal {
                        scale,
                        prev: i,
                        delta: d,
                    };
                    return;
                }
                if let Some((new_scale, i)) = smallest_scale(v, scale + 1) {
                    let factor = POW10_INT
                        .get((new_scale - scale) as usize)
                        .copied()
                        .unwrap_or(i64::MAX);
                    let rescaled = prev
                        .checked_mul(factor)
                        .filter(|p| p.unsigned_abs() <= MAX_EXACT as u64);
                    let rescaled_delta = delta
                        .checked_mul(factor)
                        .filter(|d| d.unsigned_abs() <= 2 * MAX_EXACT as u64);
                    if let (Some(prev), Some(delta)) = (rescaled, rescaled_delta) {
                        // Escape, 0: rescale.
                        write_ones(&mut self.w, INT_ESCAPE);
                        self.w.write_bit(false);
                        self.w.write_bits(u64::from(new_scale), 4);
                        let d = i - prev;
                        write_bucket(&mut self.w, d - delta, &INT_BITS, INT_ESCAPE);
                        self.value = ValueState::Decimal {
                            scale: new_scale,
                            prev: i,
                            delta: d,
                        };
                        return;
                    }
                }
                // Escape, 1: the rest of the chunk is XOR floats, continuing from the previous value.
                write_ones(&mut self.w, INT_ESCAPE);
                self.w.write_bit(true);
                self.value =
                    ValueState::Float(FloatXor::after(decimal_value(prev, scale).to_bits()));
                self.write_value(v);
            }
            ValueState::Float(mut float) => {
                float.write(&mut self.w, v);
                self.value = ValueState::Float(float);
            }
        }
    }
}

#[inline]
fn write_ones(w: &mut BitWriter, n: u32) {
    w.write_bits((1u64 << n) - 1, n);
}

/// Writes `value` in the first bucket of `widths` that holds it: `idx` one-bits, a zero unless
/// `idx == max_ones` (the longest code needs no terminator), then the field. Bucket 0 is the
/// value zero with no field. Decimal mode passes `max_ones` one past its last bucket: that code
/// is the escape.
#[inline]
fn write_bucket(w: &mut BitWriter, value: i64, widths: &[u32], max_ones: u32) {
    if value == 0 {
        w.write_bit(false);
        return;
    }
    let last = max_ones as usize;
    for (idx, &bits) in widths.iter().enumerate().skip(1) {
        let fits = bits >= 64 || {
            let half = 1i64 << (bits - 1);
            (-half..half).contains(&value)
        };
        if fits {
            if idx == last {
                write_ones(w, idx as u32);
            } else {
                // idx ones followed by a zero.
                w.write_bits(((1u64 << idx) - 1) << 1, idx as u32 + 1);
            }
            w.write_bits(value as u64, bits);
            return;
        }
    }
}

/// Number of samples in a version 1 chunk, from its header; checks the version byte. The public
/// [`crate::num_samples`] accepts every version.
pub(crate) fn num_samples_v1(chunk: &[u8]) -> Result<u16> {
    match chunk {
        [version, lo, hi, ..] => {
            if *version != FORMAT_VERSION {
                return Err(Error::UnsupportedVersion {
                    version: *version,
                    supported: FORMAT_VERSION,
                });
            }
            Ok(u16::from_le_bytes([*lo, *hi]))
        }
        _ => Err(Error::TooShort {
            len: chunk.len(),
            needed: HEADER_LEN,
        }),
    }
}

/// Decodes a chunk. An iterator over `Result<(t, v)>` that also seeks, and bulk-decodes with
/// [`decode_into`](Self::decode_into) / [`for_each_sample`](Self::for_each_sample).
///
/// Cursor rule (as the storage `SampleIter`): after a sample has been returned it is *current*;
/// [`seek`](Self::seek) returns the current sample again if it is already at or after the target.
/// Any malformed input yields an [`Error`], never a panic; after an error the decoder is done.
#[derive(Debug, Clone)]
pub struct XorDecoder<'a> {
    r: BitReader<'a>,
    n: u16,
    read: u16,
    t: i64,
    t_delta: i64,
    value: ValueState,
    cur: Option<(i64, f64)>,
    failed: bool,
}

impl<'a> XorDecoder<'a> {
    /// Checks the header and prepares to decode.
    pub fn new(chunk: &'a [u8]) -> Result<Self> {
        let n = num_samples_v1(chunk)?;
        Ok(Self {
            r: BitReader::new(chunk.get(HEADER_LEN..).unwrap_or(&[])),
            n,
            read: 0,
            t: 0,
            t_delta: 0,
            value: ValueState::Float(FloatXor::after(0)),
            cur: None,
            failed: false,
        })
    }

    /// Number of samples the header announces.
    pub fn num_samples(&self) -> u16 {
        self.n
    }

    /// The current sample (the last one returned), if any.
    pub fn current(&self) -> Option<(i64, f64)> {
        self.cur
    }

    fn corrupt(&mut self, detail: &'static str) -> Error {
        self.failed = true;
        Error::Corrupt {
            offset: HEADER_LEN + self.r.byte_offset(),
            detail,
        }
    }

    /// Decodes the next sample; `Ok(None)` after the last one.
    #[inline]
    pub fn next_sample(&mut self) -> Result<Option<(i64, f64)>> {
        if self.read >= self.n || self.failed {
            return Ok(None);
        }
        match self.decode_one() {
            Ok(sample) => {
                self.read += 1;
                self.cur = Some(sample);
                Ok(Some(sample))
            }
            Err(Fail::End) => {
                Err(self.corrupt("bit stream ends before the announced sample count"))
            }
            Err(Fail::Bad(detail)) => Err(self.corrupt(detail)),
        }
    }

    /// Moves to the first sample with timestamp `>= target` and returns it (see the cursor rule);
    /// `Ok(None)` if there is none.
    pub fn seek(&mut self, target: i64) -> Result<Option<(i64, f64)>> {
        if let Some(cur) = self.cur {
            if cur.0 >= target {
                return Ok(Some(cur));
            }
        }
        while let Some(sample) = self.next_sample()? {
            if sample.0 >= target {
                return Ok(Some(sample));
            }
        }
        Ok(None)
    }

    /// Calls `f` for every remaining sample, in order. The fast path for bulk reads.
    #[inline]
    pub fn for_each_sample(&mut self, mut f: impl FnMut(i64, f64)) -> Result<()> {
        self.for_each_while(|t, v| {
            f(t, v);
            true
        })
    }

    /// Calls `f` for the remaining samples in order until it returns false (that sample is then
    /// current and already consumed).
    #[inline]
    pub(crate) fn for_each_while(&mut self, mut f: impl FnMut(i64, f64) -> bool) -> Result<()> {
        while self.read < self.n && !self.failed {
            // Fast path for the most common sample after the second: the timestamp delta and the
            // value (decimal delta, or XOR float) both repeat, coded as two zero bits.
            if self.read >= 2 && self.r.take_two_zero_bits() {
                let Some(t) = self.t.checked_add(self.t_delta) else {
                    return Err(self.corrupt("timestamp overflows"));
                };
                let v = match self.value {
                    ValueState::Decimal { scale, prev, delta } => {
                        let i = prev
                            .checked_add(delta)
                            .filter(|i| i.unsigned_abs() <= MAX_EXACT as u64);
                        let Some(i) = i else {
                            return Err(self.corrupt("decimal value out of range"));
                        };
                        self.value = ValueState::Decimal {
                            scale,
                            prev: i,
                            delta,
                        };
                        decimal_value(i, scale)
                    }
                    ValueState::Float(float) => f64::from_bits(float.prev()),
                };
                self.t = t;
                self.read += 1;
                self.cur = Some((t, v));
                if !f(t, v) {
                    break;
                }
                continue;
            }
            match self.next_sample()? {
                Some((t, v)) => {
                    if !f(t, v) {
                        break;
                    }
                }
                None => break,
            }
        }
        Ok(())
    }

    /// Appends every remaining sample to `out`.
    pub fn decode_into(&mut self, out: &mut Vec<(i64, f64)>) -> Result<()> {
        out.reserve(usize::from(self.n.saturating_sub(self.read)));
        self.for_each_sample(|t, v| out.push((t, v)))
    }

    #[inline]
    fn decode_one(&mut self) -> Result<(i64, f64), Fail> {
        match self.read {
            0 => {
                self.t = self
                    .r
                    .read_varint()?
                    .ok_or(Fail::Bad("malformed first timestamp"))?;
                let v = self.read_first_value()?;
                Ok((self.t, v))
            }
            1 => {
                let delta = self
                    .r
                    .read_uvarint()?
                    .ok_or(Fail::Bad("malformed timestamp delta"))?;
                let delta =
                    i64::try_from(delta).map_err(|_| Fail::Bad("timestamp delta overflows"))?;
                self.advance_time(delta)?;
                let v = self.read_value()?;
                Ok((self.t, v))
            }
            _ => {
                let dod = read_bucket(&mut self.r, &TS_BITS, TS_MAX_ONES)?;
                let delta = self
                    .t_delta
                    .checked_add(dod)
                    .ok_or(Fail::Bad("timestamp delta overflows"))?;
                self.advance_time(delta)?;
                let v = self.read_value()?;
                Ok((self.t, v))
            }
        }
    }

    #[inline]
    fn advance_time(&mut self, delta: i64) -> Result<(), Fail> {
        if delta <= 0 {
            return Err(Fail::Bad("timestamps do not increase"));
        }
        self.t = self
            .t
            .checked_add(delta)
            .ok_or(Fail::Bad("timestamp overflows"))?;
        self.t_delta = delta;
        Ok(())
    }

    fn read_first_value(&mut self) -> Result<f64, Fail> {
        if self.r.read_bit()? {
            let scale = self.r.read_bits_short(4)? as u32;
            if scale > MAX_SCALE {
                return Err(Fail::Bad("decimal scale out of range"));
            }
            let i = self
                .r
                .read_varint()?
                .ok_or(Fail::Bad("malformed first value"))?;
            if i.unsigned_abs() > MAX_EXACT as u64 {
                return Err(Fail::Bad("decimal value out of range"));
            }
            self.value = ValueState::Decimal {
                scale,
                prev: i,
                delta: 0,
            };
            Ok(decimal_value(i, scale))
        } else {
            let bits = self.r.read_bits(64)?;
            self.value = ValueState::Float(FloatXor::after(bits));
            Ok(f64::from_bits(bits))
        }
    }

    #[inline]
    fn read_value(&mut self) -> Result<f64, Fail> {
        match self.value {
            ValueState::Decimal { scale, prev, delta } => {
                let ones = self.r.read_prefix(INT_ESCAPE)?;
                let (scale, prev, delta, dod) = if ones < INT_ESCAPE {
                    (
                        scale,
                        prev,
                        delta,
                        read_bucket_field(&mut self.r, ones, &INT_BITS)?,
                    )
                } else if !self.r.read_bit()? {
                    let new_scale = self.r.read_bits_short(4)? as u32;
                    if new_scale <= scale || new_scale > MAX_SCALE {
                        return Err(Fail::Bad("decimal rescale out of range"));
                    }
                    let factor = POW10_INT
                        .get((new_scale - scale) as usize)
                        .copied()
                        .ok_or(Fail::Bad("decimal rescale out of range"))?;
                    let prev = prev
                        .checked_mul(factor)
                        .ok_or(Fail::Bad("decimal value out of range"))?;
                    let delta = delta
                        .checked_mul(factor)
                        .ok_or(Fail::Bad("decimal delta out of range"))?;
                    (
                        new_scale,
                        prev,
                        delta,
                        read_bucket(&mut self.r, &INT_BITS, INT_ESCAPE)?,
                    )
                } else {
                    self.value =
                        ValueState::Float(FloatXor::after(decimal_value(prev, scale).to_bits()));
                    return self.read_value();
                };
                let delta = delta
                    .checked_add(dod)
                    .ok_or(Fail::Bad("decimal delta out of range"))?;
                let i = prev
                    .checked_add(delta)
                    .ok_or(Fail::Bad("decimal value out of range"))?;
                if i.unsigned_abs() > MAX_EXACT as u64 {
                    return Err(Fail::Bad("decimal value out of range"));
                }
                self.value = ValueState::Decimal {
                    scale,
                    prev: i,
                    delta,
                };
                Ok(decimal_value(i, scale))
            }
            ValueState::Float(mut float) => {
                let bits = float.read(&mut self.r)?;
                self.value = ValueState::Float(float);
                Ok(f64::from_bits(bits))
            }
        }
    }
}

impl Iterator for XorDecoder<'_> {
    type Item = Result<(i64, f64)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_sample().transpose()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::from(self.n.saturating_sub(self.read));
        (0, Some(left))
    }
}

/// Internal decode failure, turned into [`Error::Corrupt`] with an offset by the caller.
pub(crate) enum Fail {
    End,
    Bad(&'static str),
}

impl From<EndOfStream> for Fail {
    fn from(_: EndOfStream) -> Self {
        Fail::End
    }
}

/// Reads a value written by [`write_bucket`].
#[inline]
fn read_bucket(r: &mut BitReader<'_>, widths: &[u32], max_ones: u32) -> Result<i64, Fail> {
    let ones = r.read_prefix(max_ones)?;
    read_bucket_field(r, ones, widths)
}

#[inline]
fn read_bucket_field(r: &mut BitReader<'_>, ones: u32, widths: &[u32]) -> Result<i64, Fail> {
    match widths.get(ones as usize) {
        Some(0) => Ok(0),
        Some(&bits) => Ok(sign_extend(r.read_bits(bits)?, bits)),
        None => Err(Fail::Bad("bucket prefix out of range")),
    }
}

#[cfg(test)]
mod tests;
