//! Storage engine: head block with write-ahead log, roaring-bitmap label index, immutable
//! memory-mapped blocks, and a querier across them that implements the model's
//! [`promlite_model::Queryable`] seam.
#![warn(missing_docs)]

pub mod bytes;
mod error;
pub mod reader;

pub use error::{Error, Result};
