//! PromQL evaluator with Prometheus 3.x semantics over the model's Querier seam.
//!
//! **Architecture invariant:** this crate does no I/O and never depends on `promlite-storage`;
//! it reads data only through [`promlite_model::Queryable`].
#![warn(missing_docs)]

mod aggregate;
mod annotations;
mod binary;
mod engine;
mod error;
mod evaluator;
mod functions;
pub mod promqltest;
mod pushdown;
mod range_fns;
mod series;
pub mod value;

pub use engine::{Engine, EngineOptions, QueryOutput, QueryStats};
pub use error::{Error, Result};
pub use value::{InstantSample, RangeSeries, Value};

/// Relative float comparison shared with the test-script interpreter.
pub(crate) fn functions_almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    functions::almost_equal(a, b, epsilon)
}
