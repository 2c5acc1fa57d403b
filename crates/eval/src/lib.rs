//! PromQL evaluator with Prometheus 3.x semantics over the model's Querier seam.
//!
//! **Architecture invariant:** this crate does no I/O and never depends on `promlite-storage`;
//! it reads data only through [`promlite_model::Queryable`].
//!
//! Every expression is evaluated over the whole step grid of the query at once: each selector
//! is selected and decoded once for the window all steps need, and steps are walked with
//! forward-only indices. Sub-expressions pinned with `@` (and literals) are evaluated once and
//! broadcast. Per-series work (selection, decoding, range functions) runs on rayon when a node
//! has many series.
//!
//! A call dispatches on the kind the parser resolved it to (`promlite_promql::FunctionKind`,
//! one module per kind under `functions/`). Before evaluation one planning pass (`plan.rs`)
//! decides every strategy that follows from the query and the options alone (step invariance,
//! join strategy, fused range functions, name handling, `label_replace`'s copy form); the
//! evaluator reads it and decides only what depends on the data while it runs.
//!
//! ```
//! use promlite_eval::{Engine, EngineOptions, Value};
//! use promlite_model::storage::MemStore;
//! use promlite_model::{Labels, Sample};
//!
//! let db = MemStore::new();
//! let series = Labels::from_pairs([("__name__", "requests_total"), ("job", "api")]);
//! for k in 0..=20 {
//!     db.add(series.clone(), Sample::new(k * 15_000, k as f64 * 30.0)); // 2 per second
//! }
//! let engine = Engine::new(EngineOptions::default());
//! let out = engine.instant_query(&db, "sum by (job) (rate(requests_total[1m]))", 300_000).unwrap();
//! let Value::Vector(samples) = out.value else { unreachable!() };
//! assert_eq!(samples[0].labels.to_string(), r#"{job="api"}"#);
//! assert!((samples[0].v - 2.0).abs() < 1e-9);
//!
//! let err = engine.instant_query(&db, "sum(", 0).unwrap_err();
//! assert_eq!(err.error_type(), "bad_data");
//! ```
#![warn(missing_docs)]

mod aggregate;
mod annotations;
mod binary;
mod engine;
mod error;
mod evaluator;
mod explain;
mod functions;
mod go_compat;
mod info;
mod join_cost;
pub mod outcome_text;
mod plan;
pub mod promqltest;
mod pushdown;
mod range_fns;
mod runs;
mod series;
pub mod value;
mod workload;

pub use engine::{CancelToken, Engine, EngineOptions, Extension, QueryOutput, QueryStats};
pub use error::{Error, Result};
pub use explain::{render_explain, ExplainNode};
pub use value::{InstantSample, RangeSeries, Value};
pub use workload::{kube_pod_workload_expansion, KUBE_POD_WORKLOAD};

/// Relative float comparison shared with the test-script interpreter.
pub(crate) fn functions_almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    functions::almost_equal(a, b, epsilon)
}
