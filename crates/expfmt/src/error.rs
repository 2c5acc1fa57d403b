//! The expfmt crate's error types: [`ParseError`] for one bad line, [`Error`] for everything.

use std::path::PathBuf;

/// A syntax error at a 1-based line and column (columns count Unicode characters, not bytes).
///
/// Displays as `line 12, column 33: expected '=' after label name "job"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
    /// What was expected or found, e.g. `expected '=' after label name "job"`.
    pub message: String,
}

/// A boxed error from a [`crate::replay::SampleSink`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A syntax error in in-memory input.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A syntax error in a file; displays as `file:line:column: message`.
    #[error("{}:{}:{}: {}", path.display(), error.line, error.column, error.message)]
    File {
        /// The file being read.
        path: PathBuf,
        /// The position and message.
        error: ParseError,
    },
    /// Reading a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file cannot be replayed as asked, e.g. its name is not a unix-millisecond timestamp.
    #[error("{}: {message}", path.display())]
    Input {
        /// The offending file or directory.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The sample sink refused a sample or a commit.
    #[error("sample sink failed: {0}")]
    Sink(#[source] BoxError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
