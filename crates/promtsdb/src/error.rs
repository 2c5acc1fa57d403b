//! The crate's error type: every failure names the file and, for bad bytes, the byte offset.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong reading or writing Prometheus blocks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation on `path` failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The bytes of `path` at `offset` do not follow the format.
    #[error("{path}: corrupt at byte {offset}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset in the file where the problem was found.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A checksum over the section starting at `offset` of `path` does not match.
    #[error("{path}: checksum mismatch in the section at byte {offset}: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Offset of the checksummed section.
        offset: u64,
        /// The checksum in the file.
        stored: u32,
        /// The checksum of the bytes.
        computed: u32,
    },
    /// A valid block feature promlite does not read (native histogram chunks, index v1).
    #[error("{path}: at byte {offset}: unsupported: {message}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Byte offset of the unsupported item.
        offset: u64,
        /// What it is.
        message: String,
    },
    /// `meta.json` is not a block meta file.
    #[error("{path}: invalid block meta: {message}")]
    Meta {
        /// The meta file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A caller broke a writer's precondition (series out of order, samples not increasing).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The promlite database refused an operation (opening, appending, querying, flushing).
    #[error("promlite: {0}")]
    Db(Box<promlite::Error>),
    /// Reading a series from the promlite database failed.
    #[error("promlite storage: {0}")]
    Storage(#[from] promlite_model::Error),
    /// Appending an imported sample failed.
    #[error("{block}: series {labels} at t={t}: {source}")]
    Append {
        /// The block directory the sample came from.
        block: PathBuf,
        /// The series.
        labels: String,
        /// The sample's timestamp.
        t: i64,
        /// Why promlite refused it.
        source: Box<promlite::Error>,
    },
}

impl From<promlite::Error> for Error {
    fn from(e: promlite::Error) -> Self {
        Error::Db(Box::new(e))
    }
}

/// A decoding problem in a byte slice, before it is attributed to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// Offset in the slice's file (the slice's base offset is added by the reader).
    pub offset: u64,
    /// What is wrong.
    pub message: String,
    /// True if the problem is an unsupported but valid feature.
    pub unsupported: bool,
}

impl Corruption {
    /// A corruption at `offset`.
    pub fn new(offset: u64, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
            unsupported: false,
        }
    }

    /// An unsupported feature at `offset`.
    pub fn unsupported(offset: u64, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
            unsupported: true,
        }
    }

    /// The error for `path`.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Error {
        let path = path.into();
        if self.unsupported {
            Error::Unsupported {
                path,
                offset: self.offset,
                message: self.message,
            }
        } else {
            Error::Corrupt {
                path,
                offset: self.offset,
                message: self.message,
            }
        }
    }
}

/// A closure mapping an I/O error on `path` to [`Error::Io`].
pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
