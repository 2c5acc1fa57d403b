//! Prometheus remote write 1.0 and remote read for promlite.
//!
//! - [`codec`]: encoder/decoder pairs for the snappy-compressed protobuf bodies
//!   (`WriteRequest`, `ReadRequest`, `ReadResponse`), converted to promlite's model types.
//! - [`sender`]: ships stored series to a receiver, as Prometheus's queue manager does
//!   (shards, batches, retries with backoff, a checkpoint to resume).
//! - [`receiver`]: applies a write request to a [`promlite::Db`] as one transaction and
//!   answers read requests; `promlite-http` serves them as `/api/v1/write` and `/api/v1/read`.
//!
//! The wire format, headers and status codes are described in `docs/format/remote-write.md`.
//!
//! ```
//! use promlite::{Db, Labels, Sample};
//! use promlite_remote::codec::{decode_write_request, encode_write_request, SeriesSamples};
//! use promlite_remote::receiver::apply_write;
//!
//! let series = SeriesSamples {
//!     labels: Labels::from_pairs([("__name__", "up"), ("job", "api")]),
//!     samples: vec![Sample { t: 1_000, v: 1.0 }, Sample { t: 16_000, v: 0.0 }],
//! };
//! let body = encode_write_request(&[series.clone()]);
//! let batch = decode_write_request(&body, 1 << 20)?;
//! assert_eq!(batch.series, vec![series]);
//!
//! let db = Db::in_memory();
//! let outcome = apply_write(&db, &batch)?;
//! assert_eq!(outcome.samples_appended, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod codec;
mod error;
pub mod proto;
pub mod receiver;
pub mod sender;

pub use error::{Error, Result};
