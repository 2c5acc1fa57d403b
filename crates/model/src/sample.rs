//! Timestamps, samples and the staleness marker.

/// Milliseconds since the Unix epoch, as Prometheus stores time.
pub type Timestamp = i64;

/// The bit pattern Prometheus uses for a staleness marker: a NaN that no arithmetic produces.
///
/// Ordinary NaN values (`0x7ff8000000000001` from Go's `math.NaN()`, or Rust's `f64::NAN`) are
/// *values*; only this exact pattern means "the series ended here".
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as an `f64`. Compare with [`is_stale_nan`], never with `==`.
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// True if `v` is the staleness marker (compares bits; every other NaN is false).
#[inline]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Milliseconds since the epoch.
    pub t: Timestamp,
    /// The value; may be [`STALE_NAN`].
    pub v: f64,
}

impl Sample {
    /// A sample at `t` with value `v`.
    #[inline]
    pub const fn new(t: Timestamp, v: f64) -> Self {
        Self { t, v }
    }

    /// Bitwise equality of the value, so NaN == NaN and stale != NaN. Used for duplicate detection.
    #[inline]
    pub fn same_bits(&self, other: &Sample) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_nan_is_distinct_from_ordinary_nan() {
        assert!(is_stale_nan(STALE_NAN));
        assert!(STALE_NAN.is_nan());
        assert!(!is_stale_nan(f64::NAN));
        assert!(!is_stale_nan(f64::from_bits(0x7ff8_0000_0000_0001)));
        assert!(!is_stale_nan(1.0));
    }

    #[test]
    fn same_bits_treats_nans_by_pattern() {
        let a = Sample::new(1, f64::NAN);
        assert!(a.same_bits(&Sample::new(1, f64::NAN)));
        assert!(!a.same_bits(&Sample::new(1, STALE_NAN)));
        assert!(!a.same_bits(&Sample::new(2, f64::NAN)));
    }
}
