//! The remote crate's error type: decoding failures name the layer (snappy, protobuf, model)
//! and the position (byte offset, field path, series and query index); sending failures name
//! the URL and the status.

use std::path::PathBuf;

/// Errors from encoding, decoding, sending and serving remote write / remote read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is not a valid snappy block (the format Prometheus uses: `snappy.Encode`, not
    /// the framed stream format).
    #[error("{detail}")]
    Snappy {
        /// The decoder's message, starting `snappy:` (it names the offset where it has one).
        detail: String,
    },
    /// The snappy header announces more bytes than the receiver accepts.
    #[error("snappy: decompressed size {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Announced decompressed length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The decompressed bytes are not a valid protobuf message of the expected type.
    #[error("protobuf: {message}: {detail}")]
    Protobuf {
        /// The message type expected (`WriteRequest`, `ReadRequest`, `ReadResponse`).
        message: &'static str,
        /// prost's description, naming the field path (`TimeSeries.samples: ...`).
        detail: String,
    },
    /// A series of a write request has an unusable label set.
    #[error("timeseries[{series_index}]: {detail}")]
    InvalidSeries {
        /// Index of the series in the request.
        series_index: usize,
        /// What is wrong (empty label set, duplicate label name, empty label name).
        detail: String,
    },
    /// A series carries native histogram samples, which promlite does not store.
    #[error("timeseries[{series_index}]: native histograms are not supported ({count} histogram samples)")]
    HistogramsUnsupported {
        /// Index of the series in the request.
        series_index: usize,
        /// Number of histogram samples it carries.
        count: usize,
    },
    /// A query of a read request has an unusable matcher.
    #[error("queries[{query_index}].matchers[{matcher_index}]: {detail}")]
    InvalidMatcher {
        /// Index of the query.
        query_index: usize,
        /// Index of the matcher in the query.
        matcher_index: usize,
        /// What is wrong (unknown type, bad regex).
        detail: String,
    },
    /// A read request asks only for response types promlite does not serve.
    #[error("unsupported remote read response types {0:?}: promlite serves SAMPLES only")]
    UnsupportedResponseType(Vec<i32>),
    /// A read request's query has no matchers.
    #[error("queries[{0}]: a query needs at least one matcher")]
    NoMatchers(usize),
    /// An HTTP request could not be made (connection refused, timeout, ...).
    #[error("POST {url}: {detail}")]
    Http {
        /// The URL.
        url: String,
        /// The client's description.
        detail: String,
    },
    /// The receiver answered with a non-retryable status, or kept answering a retryable one
    /// after every retry.
    #[error("POST {url}: HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// Reading or writing the checkpoint file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The checkpoint file exists but does not belong to this push or does not parse.
    #[error("checkpoint {}: {detail}", path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// An argument is out of range (zero batch size, end before start, ...).
    #[error("{0}")]
    InvalidArgument(String),
    /// The database failed (reading the series to send, appending received samples).
    #[error(transparent)]
    Db(#[from] promlite::Error),
}

/// `Result` with the remote crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
