//! promlite: embedded time-series engine with PromQL. The facade crate library users link.
#![warn(missing_docs)]

pub use promlite_eval::value::{InstantSample, RangeSeries, Value};
pub use promlite_model::{is_stale_nan, Label, Labels, MatchOp, Matcher, Sample, Timestamp, STALE_NAN};
