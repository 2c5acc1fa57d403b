//! The chunk crate's error types: [`Error`] for decoding, and the narrower [`AppendError`] for
//! the encoder, which converts into it.

/// Errors from decoding a chunk. Every variant carries the byte offset (within the chunk) where
/// the problem was found, so storage can report `file + chunk offset + offset`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The chunk is shorter than its fixed header.
    #[error("chunk too short: {len} bytes, the header alone needs {needed}")]
    TooShort {
        /// Length of the chunk.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// The format version byte is not one this decoder understands.
    #[error("unsupported chunk format version {version} (this decoder reads versions up to {supported})")]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
        /// The highest version the decoder that failed reads ([`crate::XorDecoder`] reads only
        /// 1; [`crate::decode_range`] reads 1 and 2).
        supported: u8,
    },
    /// The bit stream is structurally invalid: it ends before the sample count says it should,
    /// a field is out of range, or timestamps would not increase.
    #[error("corrupt chunk at byte offset {offset}: {detail}")]
    Corrupt {
        /// Byte offset within the chunk where decoding failed.
        offset: usize,
        /// What is wrong.
        detail: &'static str,
    },
    /// An append failed (see [`AppendError`]).
    #[error(transparent)]
    Append(#[from] AppendError),
    /// [`crate::encode_packed`] rejected its input (see [`EncodeError`]).
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Why [`crate::encode_packed`] rejected its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A packed chunk holds at least one sample.
    #[error("a packed chunk needs at least one sample")]
    Empty,
    /// More samples than the u16 sample count can announce.
    #[error("{n} samples do not fit one chunk (at most 65535)")]
    TooMany {
        /// Number of samples given.
        n: usize,
    },
    /// Timestamps must strictly increase.
    #[error("sample {index}: timestamp {t} is not after the previous sample's {prev}")]
    OutOfOrder {
        /// Index of the offending sample.
        index: usize,
        /// The previous sample's timestamp.
        prev: i64,
        /// The offending timestamp.
        t: i64,
    },
}

/// Why [`crate::XorEncoder::append`] rejected a sample. The encoder is unchanged after any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The chunk reached its sample or byte limit; start a new chunk for this sample.
    #[error("chunk is full")]
    Full,
    /// The timestamp is not greater than the previous sample's. A chunk holds strictly increasing
    /// timestamps.
    #[error("sample timestamp {t} is not after the previous sample's {prev}")]
    OutOfOrder {
        /// The previous sample's timestamp.
        prev: i64,
        /// The rejected timestamp.
        t: i64,
    },
    /// The gap from the previous timestamp does not fit in an `i64` (only possible across more
    /// than half of the `i64` range). Start a new chunk: its first timestamp may be any `i64`.
    #[error("timestamp gap from {prev} to {t} overflows i64; start a new chunk")]
    DeltaOverflow {
        /// The previous sample's timestamp.
        prev: i64,
        /// The rejected timestamp.
        t: i64,
    },
}

/// `Result` with the chunk [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
