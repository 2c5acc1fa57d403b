//! The storage crate's error type. Variants carry the context a user needs to find the problem:
//! the file, the segment, the byte offset.

use std::path::PathBuf;

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
    },
    /// A model-level error (bad matcher regex, ...).
    #[error(transparent)]
    Model(#[from] promlite_model::Error),
}

/// `Result` with the storage [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for promlite_model::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Model(m) => m,
            other => promlite_model::Error::Storage(Box::new(other)),
        }
    }
}
