//! The facade's error type: one enum wrapping the storage, query and replay errors, with
//! Prometheus's HTTP `errorType` classification.

/// Errors from the promlite facade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage engine failed (I/O, corruption, locked directory, out-of-order sample, ...).
    #[error(transparent)]
    Storage(#[from] promlite_storage::Error),
    /// A query failed to parse or to evaluate (bad syntax, timeout, too many samples, ...).
    #[error(transparent)]
    Query(#[from] promlite_eval::Error),
    /// A series selector (`match[]`) does not parse.
    #[error("{source}")]
    Selector {
        /// The selector as given.
        selector: String,
        /// The parser's error, with its position in `selector`.
        source: promlite_promql::ParseError,
    },
    /// A series selector parses but is not a plain vector selector (`up + 1`, `rate(x[1m])`).
    #[error("{selector:?} is not a series selector")]
    NotASelector {
        /// The expression as given.
        selector: String,
    },
    /// Replaying exposition files failed (unreadable file, parse error with file and line, ...).
    #[error(transparent)]
    Replay(#[from] promlite_expfmt::Error),
    /// An argument is out of range (a zero step, end before start, ...).
    #[error("{0}")]
    InvalidArgument(String),
}

impl Error {
    /// Prometheus's HTTP API `errorType` for this error: `bad_data` for malformed input,
    /// `execution` for queries that fail while running, `timeout`, `canceled`, and `internal`
    /// for storage failures.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::Query(e) => e.error_type(),
            Error::Selector { .. } | Error::NotASelector { .. } | Error::InvalidArgument(_) => {
                "bad_data"
            }
            Error::Storage(_) | Error::Replay(_) => "internal",
        }
    }

    /// True when storage refused one sample because of its place in time: out of order, a
    /// duplicate timestamp with another value, or older than the head accepts (Prometheus's
    /// `ErrOutOfOrderSample`, `ErrDuplicateSampleForTimestamp`, `ErrOutOfBounds`). The remote
    /// write receiver answers these with 400 so that senders do not retry them.
    pub fn is_sample_rejection(&self) -> bool {
        matches!(
            self,
            Error::Storage(
                promlite_storage::Error::OutOfOrder { .. }
                    | promlite_storage::Error::DuplicateTimestamp { .. }
                    | promlite_storage::Error::OutOfBounds { .. }
            )
        )
    }
}

/// `Result` with the facade's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
