//! promlite: embedded time-series engine with PromQL. The facade crate library users link.
#![warn(missing_docs)]

mod db;
mod error;
mod replay;

pub use db::{parse_selector, parse_selectors, Appender, Db, Options, QueryOptions};
pub use error::{Error, Result};
pub use promlite_eval::value::{InstantSample, RangeSeries, Value};
pub use promlite_eval::{EngineOptions, Error as QueryError, QueryOutput, QueryStats};
pub use promlite_model::{
    is_stale_nan, Label, Labels, MatchOp, Matcher, Sample, Timestamp, STALE_NAN,
};
pub use promlite_storage::{Options as StorageOptions, SeriesRef, WalSync};
pub use replay::{
    InputStats, ReplayOptions, ReplayProgress, ReplaySource, ReplayStats, ScrapeTimes, SkippedLine,
};
