//! Benchmark harness: runs the workload queries on promlite, Prometheus and VictoriaMetrics,
//! checks every answer against Prometheus's, and prints a table of medians and ratios.
#![warn(missing_docs)]

pub mod answer;
pub mod convert;
pub mod engine;
mod error;
pub mod http;
pub mod process;
pub mod prometheus;
pub mod promjson;
pub mod victoria;

pub use error::{Error, Result};
