//! The evaluator's error type and Prometheus's HTTP `errorType` classification.

use std::time::Duration;

/// Errors a query can end with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query text does not parse (or fails the parser's type checks).
    #[error("{0}")]
    Parse(#[from] promlite_promql::ParseError),
    /// The query parsed but cannot be run as asked (wrong result type for a range query, bad step,
    /// ...). Prometheus reports these as `bad_data`.
    #[error("{0}")]
    BadQuery(String),
    /// A runtime error found while evaluating (many-to-many matching, duplicate label sets, invalid
    /// function arguments, ...). The message is Prometheus's wording.
    #[error("{0}")]
    Execution(String),
    /// The query ran longer than the engine's timeout. The message is Prometheus's
    /// (`query timed out in expression evaluation`); the limit is kept for callers that want
    /// to say more.
    #[error("query timed out in {stage}")]
    Timeout {
        /// Where the deadline was noticed.
        stage: &'static str,
        /// The configured timeout.
        limit: Duration,
    },
    /// The query would hold more samples in memory than allowed.
    #[error("query processing would load too many samples into memory in {stage} (limit {limit})")]
    TooManySamples {
        /// Where the limit was hit.
        stage: &'static str,
        /// The configured maximum.
        limit: usize,
    },
    /// The caller cancelled the query.
    #[error("query was canceled in {0}")]
    Cancelled(String),
    /// The storage behind the `Queryable` failed.
    #[error("storage error: {0}")]
    Storage(#[source] promlite_model::Error),
}

impl Error {
    /// Prometheus's HTTP API `errorType` for this error: `bad_data` for parse and type errors,
    /// `execution` for runtime errors, `timeout`, `canceled`, `internal`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::Parse(_) | Error::BadQuery(_) => "bad_data",
            Error::Execution(_) | Error::TooManySamples { .. } => "execution",
            Error::Timeout { .. } => "timeout",
            Error::Cancelled(_) => "canceled",
            Error::Storage(_) => "internal",
        }
    }
}

impl From<promlite_model::Error> for Error {
    fn from(err: promlite_model::Error) -> Self {
        match err {
            promlite_model::Error::Cancelled(msg) => Error::Cancelled(msg),
            other => Error::Storage(other),
        }
    }
}

/// `Result` with the evaluator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
