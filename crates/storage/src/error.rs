//! The storage crate's error type. Variants carry the context a user needs to find the problem:
//! the file, the segment, the byte offset.

use std::path::PathBuf;

use promlite_model::Timestamp;

/// Errors from the storage engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Stored bytes do not match their checksum or are structurally invalid.
    #[error("corruption in {} at byte offset {offset}: {detail}", path.display())]
    Corruption {
        /// The file.
        path: PathBuf,
        /// Byte offset where the bad data starts.
        offset: u64,
        /// What is wrong (expected vs actual checksum, bad magic, out-of-range offset...).
        detail: String,
        /// For a checksum mismatch, the stored (expected) and computed (actual) checksums.
        checksum: Option<ChecksumMismatch>,
    },
    /// Series handed to the block writer break its preconditions (labels not strictly sorted,
    /// overlapping chunks, bytes that are not a chunk).
    #[error("invalid block input: {0}")]
    InvalidBlockInput(String),
    /// A model-level error (bad matcher regex, ...).
    #[error(transparent)]
    Model(#[from] promlite_model::Error),
    /// Another process (or another `Db` in this process) holds the data directory's lock file.
    #[error("data directory is locked by another writer (lock file {})", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A sample is older than the newest sample of its series. Out-of-order ingestion is not
    /// supported (as in Prometheus without an out-of-order window).
    #[error("out-of-order sample for series {series}: timestamp {t} is older than the series' newest {newest}")]
    OutOfOrder {
        /// The series' labels, formatted.
        series: String,
        /// The rejected sample's timestamp.
        t: Timestamp,
        /// The series' newest timestamp.
        newest: Timestamp,
    },
    /// A sample has the same timestamp as the series' newest sample but a different value.
    #[error("duplicate timestamp {t} for series {series} with a different value: {value} (stored {stored})")]
    DuplicateTimestamp {
        /// The series' labels, formatted.
        series: String,
        /// The timestamp.
        t: Timestamp,
        /// The rejected value.
        value: f64,
        /// The stored value.
        stored: f64,
    },
    /// A sample is older than the head's lower bound: its time range was already compacted into
    /// a block (or dropped by retention).
    #[error("sample for series {series} at timestamp {t} is out of bounds: the head accepts t >= {min_valid}")]
    OutOfBounds {
        /// The series' labels, formatted.
        series: String,
        /// The rejected sample's timestamp.
        t: Timestamp,
        /// The smallest timestamp the head accepts.
        min_valid: Timestamp,
    },
    /// A series reference is not (or no longer) known to the head. Series that have been
    /// compacted away and received no samples since are garbage-collected; append by labels.
    #[error("unknown series reference {0}")]
    UnknownSeriesRef(u32),
    /// A series with no labels cannot be stored.
    #[error("cannot append a series with an empty label set")]
    EmptyLabels,
    /// The head ran out of series references (2^32 series created in one data directory).
    #[error("series reference space exhausted")]
    SeriesRefsExhausted,
    /// A chunk does not decode.
    #[error("corrupt chunk: {0}")]
    Chunk(promlite_chunk::Error),
    /// Invalid options passed to `Db::open`.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A write (append, commit, compaction, retention) on a database opened with
    /// `Db::open_read_only`.
    #[error("data directory {} is open read-only", dir.display())]
    ReadOnly {
        /// The data directory.
        dir: PathBuf,
    },
    /// A read-only open could not take a consistent snapshot of the directory because the
    /// writer kept changing it (compacting, truncating the WAL, deleting blocks) on every
    /// attempt.
    #[error("data directory {} changed during each of {attempts} read-only load attempts (last: {last})", dir.display())]
    ConcurrentChange {
        /// The data directory.
        dir: PathBuf,
        /// Attempts made.
        attempts: u32,
        /// What changed on the last attempt.
        last: String,
    },
}

/// A checksum that does not match: `expected` is the one stored in the file, `actual` the one
/// computed over the bytes it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChecksumMismatch {
    /// The checksum stored in the file.
    pub expected: u32,
    /// The checksum of the bytes as they are.
    pub actual: u32,
}

/// `Result` with the storage [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// This error with the expected and actual checksums attached, if it is an
    /// [`Error::Corruption`].
    pub fn with_checksum(mut self, expected: u32, actual: u32) -> Self {
        if let Error::Corruption { checksum, .. } = &mut self {
            *checksum = Some(ChecksumMismatch { expected, actual });
        }
        self
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<Error> for promlite_model::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Model(m) => m,
            other => promlite_model::Error::Storage(Box::new(other)),
        }
    }
}
