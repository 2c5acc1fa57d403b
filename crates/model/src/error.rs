//! The model crate's error type.

/// A boxed error from a storage implementation behind the [`crate::Querier`] seam.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors raised by model types and by storage implementations seen through the seam traits.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A regex in a label matcher does not compile.
    #[error("invalid regular expression {regex:?} in matcher for label {label:?}: {message}")]
    InvalidRegex {
        /// The label the matcher is for.
        label: String,
        /// The regex as written by the user.
        regex: String,
        /// The regex engine's message.
        message: String,
    },
    /// An error from the storage implementation (I/O, corruption, closed database, ...).
    #[error(transparent)]
    Storage(BoxError),
    /// The caller cancelled or a deadline passed while data was being read.
    #[error("query cancelled: {0}")]
    Cancelled(String),
}

/// `Result` with the model crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
