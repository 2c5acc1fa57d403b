//! Chunk codecs for one series' samples; no I/O.
//!
//! Two formats, told apart by the version byte at offset 0 (layouts in `docs/format/chunk.md`):
//!
//! - **Version 1, XOR** ([`XorEncoder`], [`XorDecoder`]): Gorilla-style delta-of-delta
//!   timestamps and XOR floats with a decimal mode for short-decimal values. Appendable, so the
//!   head uses it; a head chunk holds up to [`DEFAULT_MAX_SAMPLES`] samples (or
//!   [`DEFAULT_MAX_BYTES`] bytes). Any `i64` timestamp is accepted as long as consecutive
//!   timestamps are less than `i64::MAX` apart.
//! - **Version 2, packed** ([`encode_packed`]): written once from all samples, by block
//!   compaction. Regular timestamps cost nothing per sample; decimal values are delta-coded and
//!   bit-packed at a fixed width, which decodes several times faster than XOR.
//!
//! [`decode_range`] and [`num_samples`] read both. Every `f64` bit pattern round-trips in both
//! (NaN payloads, the staleness marker, ±Inf, -0.0, subnormals).
//!
//! ```
//! use promlite_chunk::{AppendError, XorDecoder, XorEncoder};
//!
//! let mut enc = XorEncoder::new();
//! enc.append(1_000, 1.5).unwrap();
//! enc.append(16_000, 2.5).unwrap();
//! assert_eq!(enc.append(16_000, 3.0), Err(AppendError::OutOfOrder { prev: 16_000, t: 16_000 }));
//!
//! let mut dec = XorDecoder::new(enc.bytes()).unwrap();
//! assert_eq!(dec.seek(2_000).unwrap(), Some((16_000, 2.5)));
//! assert_eq!(dec.next_sample().unwrap(), None);
//! ```
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::indexing_slicing)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod bits;
mod decode;
mod error;
mod packed;
mod xor;

pub use bits::{BitReader, BitWriter};
pub use decode::{
    decode_batches, decode_range, decode_range_into, num_samples, LATEST_FORMAT_VERSION,
};
pub use error::{AppendError, EncodeError, Error, Result};
pub use packed::{encode_packed, PACKED_FORMAT_VERSION};
pub use xor::{
    XorDecoder, XorEncoder, DEFAULT_MAX_BYTES, DEFAULT_MAX_SAMPLES, FORMAT_VERSION, HEADER_LEN,
};
