//! Prometheus recording and alerting rules for promlite: rule files ([`mod@file`]), the alert
//! template language ([`template`]), group evaluation with Prometheus's rule-manager semantics
//! ([`group`]) and `promtool test rules`-compatible unit tests ([`unittest`]).
//!
//! # Load a rule file and evaluate a group
//!
//! ```
//! use promlite_eval::{Engine, EngineOptions};
//! use promlite_model::{storage::MemStore, Labels, Sample};
//! use promlite_rules::{file::parse_rule_file, group::{Group, EvalContext}, storage::CheckedMemStore};
//!
//! let rules = parse_rule_file("rules.yml", r#"
//! groups:
//! - name: example
//!   rules:
//!   - record: job:up:sum
//!     expr: sum by (job) (up)
//!   - alert: JobDown
//!     expr: job:up:sum == 0
//!     annotations:
//!       summary: "{{ $labels.job }} is down"
//! "#)?;
//! let store = CheckedMemStore::new();
//! store.store().add(Labels::from_pairs([("__name__", "up"), ("job", "api")]), Sample::new(0, 0.0));
//!
//! let engine = Engine::new(EngineOptions::default());
//! let mut group = Group::new(&rules.path, rules.groups[0].clone(), 60_000);
//! group.eval(&engine, &store, 0, &EvalContext::default());
//! let alerts: Vec<_> = group.alerts().collect();
//! assert_eq!(alerts.len(), 1);
//! assert_eq!(alerts[0].annotations[0].1, "api is down");
//! # Ok::<(), promlite_rules::Error>(())
//! ```
#![warn(missing_docs)]

pub mod duration;
mod error;
pub mod file;
pub mod group;
pub mod manager;
pub mod storage;
pub mod template;
pub mod unittest;

pub use error::{Error, Result};
/// The PromQL engine rules are evaluated with (re-exported so callers need no direct dependency).
pub use promlite_eval::{Engine, EngineOptions};
/// The read seam rules query through (re-exported for storage adapters).
pub use promlite_model::Queryable;
