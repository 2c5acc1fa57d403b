//! The rules crate's error type.

use crate::file::RuleError;

/// Everything loading rules, evaluating them or running rule unit tests can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML or does not have the expected shape.
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: String,
        /// The YAML error, with line and column.
        message: String,
    },
    /// A rule file parsed but some rules are invalid; every problem is listed.
    #[error("{path}: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    InvalidRules {
        /// The file.
        path: String,
        /// The problems, in file order.
        errors: Vec<RuleError>,
    },
    /// A rule unit test file is invalid (not a failing test: the file cannot be run).
    #[error("{path}: {message}")]
    InvalidTest {
        /// The test file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
