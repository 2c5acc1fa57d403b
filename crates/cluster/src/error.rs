//! The cluster generator's error type.

use std::path::PathBuf;

/// Errors from building or writing a synthetic cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The [`crate::ClusterSpec`] cannot describe a cluster (zero interval, no nodes, ...).
    #[error("invalid cluster spec: {0}")]
    InvalidSpec(String),
    /// Writing output failed. `path` is the file being written, when there is one.
    #[error("writing {}: {source}", path.as_ref().map_or_else(|| "output".to_string(), |p| p.display().to_string()))]
    Io {
        /// The file being written, if the output is a file.
        path: Option<PathBuf>,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: Option<&std::path::Path>) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: path.map(|p| p.to_path_buf()),
            source,
        }
    }
}

/// `Result` with the cluster crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
