//! Gorilla-style chunk codec: delta-of-delta timestamps and XOR floats, with a decimal mode for
//! short-decimal values; no I/O.
//!
//! A chunk holds up to [`DEFAULT_MAX_SAMPLES`] samples (or [`DEFAULT_MAX_BYTES`] bytes) of one
//! series with strictly increasing timestamps. The byte layout, format version 1, is in
//! `docs/format/chunk.md`. Every `f64` bit pattern round-trips (NaN payloads, the staleness
//! marker, ±Inf, -0.0, subnormals), and any `i64` timestamp is accepted as long as consecutive
//! timestamps are less than `i64::MAX` apart.
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
mod error;
mod xor;

pub use bits::{BitReader, BitWriter};
pub use error::{AppendError, Error, Result};
pub use xor::{
    num_samples, XorDecoder, XorEncoder, DEFAULT_MAX_BYTES, DEFAULT_MAX_SAMPLES, FORMAT_VERSION,
    HEADER_LEN,
};
