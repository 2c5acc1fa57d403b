//! The HTTP crate's error type: failures to start the server. Request-level failures are
//! answered in Prometheus's JSON error shape instead (see [`crate::api::ApiError`]).

use std::net::SocketAddr;

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's message.
        message: String,
    },
    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {source}")]
    Spawn {
        /// The underlying error.
        source: std::io::Error,
    },
}

/// `Result` with the HTTP crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
