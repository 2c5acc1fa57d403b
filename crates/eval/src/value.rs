//! Query results: the four PromQL value types as the evaluator returns them.

use promlite_model::{Labels, Sample, Timestamp};

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    /// The series' labels (after any name dropping or relabelling).
    pub labels: Labels,
    /// Evaluation timestamp in milliseconds.
    pub t: Timestamp,
    /// The value.
    pub v: f64,
}

/// One series of a range vector or of a range query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Samples in increasing timestamp order.
    pub samples: Vec<Sample>,
}

/// A query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar at a time.
    Scalar {
        /// Evaluation timestamp in milliseconds.
        t: Timestamp,
        /// The value.
        v: f64,
    },
    /// A string at a time.
    String {
        /// Evaluation timestamp in milliseconds.
        t: Timestamp,
        /// The string.
        v: String,
    },
    /// An instant vector (instant queries).
    Vector(Vec<InstantSample>),
    /// A range vector, or the result of a range query (one series per output series).
    Matrix(Vec<RangeSeries>),
}

impl Value {
    /// The `resultType` Prometheus's HTTP API uses: `scalar`, `string`, `vector`, `matrix`.
    pub fn result_type(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}
