//! The scrape crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The scrape configuration is invalid; `line`/`column` (1-based) point into the YAML when
    /// the problem has a position.
    #[error("{}{}: {message}", path.display(), position(*line, *column))]
    Config {
        /// The configuration file (empty for in-memory text).
        path: PathBuf,
        /// 1-based line of the problem, 0 if unknown.
        line: usize,
        /// 1-based column of the problem, 0 if unknown.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Storing scraped samples failed (the storage engine's error).
    #[error("storing scraped samples: {0}")]
    Storage(#[from] promlite::Error),
    /// A scraper thread could not be started.
    #[error("starting a scrape thread: {0}")]
    Thread(#[source] std::io::Error),
}

fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
