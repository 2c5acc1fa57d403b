//! The harness's error type.

use std::path::PathBuf;

/// Everything that can stop a benchmark run. Query errors returned by an engine (for example
/// Prometheus's many-to-many matching error) are *answers*, not harness errors; they are recorded
/// as [`crate::answer::QueryResult::Error`] and compared like any other result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An external program could not be started or failed.
    #[error("{program}: {message}")]
    Program {
        /// The program's path.
        program: PathBuf,
        /// What went wrong, including the tail of its output when there is one.
        message: String,
    },
    /// An HTTP request to an engine failed below the HTTP level (connect, read, write).
    #[error("HTTP request to {url} failed: {message}")]
    Http {
        /// The URL requested.
        url: String,
        /// The transport error.
        message: String,
    },
    /// An engine answered with something that is not a well-formed Prometheus API response.
    #[error("malformed response from {engine} at byte {offset}: {message}")]
    Response {
        /// The engine's name.
        engine: String,
        /// Byte offset in the response body where the problem was found (0 if unknown).
        offset: usize,
        /// What was wrong.
        message: String,
    },
    /// An engine did not become ready in time.
    #[error("{engine} did not become ready within {waited_secs} s; log tail:\n{log_tail}")]
    NotReady {
        /// The engine's name.
        engine: String,
        /// How long the harness waited.
        waited_secs: u64,
        /// The last lines of the engine's log.
        log_tail: String,
    },
    /// A line of the exposition data could not be converted for import.
    #[error("{path}:{line}: {message}")]
    Data {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        message: String,
    },
    /// A workload file is malformed.
    #[error("{path}:{line}: {message}")]
    Workload {
        /// The workload file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// Invalid options.
    #[error("invalid option: {0}")]
    Options(String),
    /// The in-process promlite engine failed to open, ingest or query.
    #[error("promlite: {0}")]
    Promlite(String),
    /// The cluster generator failed.
    #[error("cluster generator: {0}")]
    Cluster(String),
    /// promlite's answers disagreed with Prometheus's for these queries (the report was still
    /// written in full before this error is returned).
    #[error("promlite disagrees with Prometheus on {} quer{}: {}", .queries.len(), if .queries.len() == 1 { "y" } else { "ies" }, .queries.join(", "))]
    Mismatch {
        /// `name (instant|range)` of every mismatching query.
        queries: Vec<String>,
    },
    /// Writing the report failed.
    #[error("writing the report: {0}")]
    Output(#[from] std::io::Error),
}

/// The harness's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
