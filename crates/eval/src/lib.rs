//! PromQL evaluator with Prometheus 3.x semantics over the model's Querier seam.
//!
//! **Architecture invariant:** this crate does no I/O and never depends on `promlite-storage`;
//! it reads data only through [`promlite_model::Queryable`].
#![warn(missing_docs)]

pub mod value;

pub use value::{InstantSample, RangeSeries, Value};
