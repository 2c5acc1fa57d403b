//! Prometheus-compatible /api/v1 HTTP server over the promlite facade.
#![warn(missing_docs)]

pub mod json;
pub mod params;
