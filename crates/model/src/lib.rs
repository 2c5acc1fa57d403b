//! Core data model shared by every promlite crate: [`Labels`], [`Sample`], [`Matcher`], and the
//! [`Queryable`]/[`Querier`] traits that form the seam between storage and query evaluation.
//!
//! The evaluator (`promlite-eval`) sees storage only through the traits in [`storage`]; it never
//! depends on `promlite-storage`. Anything that can list series and iterate their samples can be
//! queried with PromQL.
//!
//! ```
//! use promlite_model::{Labels, Matcher, MatchOp};
//!
//! let labels = Labels::from_pairs([("__name__", "up"), ("job", "node"), ("instance", "a:9100")]);
//! assert_eq!(labels.metric_name(), Some("up"));
//! assert_eq!(labels.get("job"), Some("node"));
//!
//! let matcher = Matcher::new(MatchOp::Regex, "job", "node|api").unwrap();
//! assert!(matcher.matches(labels.get("job").unwrap_or("")));
//! ```
#![warn(missing_docs)]

mod error;
pub mod labels;
pub mod matcher;
pub mod sample;
pub mod storage;

pub use error::{BoxError, Error, Result};
pub use labels::{AsLabelRef, Label, LabelRef, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{MatchOp, Matcher};
pub use sample::{is_stale_nan, Sample, Timestamp, STALE_NAN, STALE_NAN_BITS};
pub use storage::{
    concat_runs, MemStore, Querier, Queryable, RunBuilder, SampleIter, SelectHints, Series,
    SeriesRuns, ValueRun, VecSampleIter,
};
