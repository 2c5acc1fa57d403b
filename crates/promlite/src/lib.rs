//! promlite: an embedded time-series database with PromQL. This facade crate is what library
//! users link: [`Db`] wires the storage engine (`promlite-storage`) to the PromQL evaluator
//! (`promlite-eval`) and the exposition-format replayer (`promlite-expfmt`), and re-exports the
//! model types. It holds no logic of its own beyond that wiring.
//!
//! A [`Db`] is `Send + Sync` and cheap to clone (an `Arc`): share it between threads.
//!
//! # In memory: append and query
//!
//! ```
//! use promlite::{Db, Labels, Value};
//!
//! let db = Db::in_memory();
//! let mut app = db.appender();
//! let series = Labels::from_pairs([("__name__", "http_requests_total"), ("job", "api")]);
//! for i in 0..10 {
//!     // One sample every 15 s, counting up by 30 requests.
//!     app.append(&series, i * 15_000, (i * 30) as f64)?;
//! }
//! app.commit()?;
//!
//! // Instant query at t = 135 s.
//! let out = db.query("rate(http_requests_total[1m])", 135_000)?;
//! let Value::Vector(samples) = out.value else { unreachable!("rate() returns a vector") };
//! assert_eq!(samples.len(), 1);
//! assert!((samples[0].v - 2.0).abs() < 1e-9); // 30 requests per 15 s
//! assert_eq!(samples[0].labels.get("job"), Some("api"));
//! # Ok::<(), promlite::Error>(())
//! ```
//!
//! # Range queries
//!
//! ```
//! use std::time::Duration;
//! use promlite::{Db, Labels, Value};
//!
//! let db = Db::in_memory();
//! let mut app = db.appender();
//! let temp = Labels::from_pairs([("__name__", "temperature"), ("room", "lab")]);
//! for i in 0..5 {
//!     app.append(&temp, i * 60_000, 20.0 + i as f64)?;
//! }
//! app.commit()?;
//!
//! let out = db.query_range("temperature * 2", 0, 240_000, Duration::from_secs(60))?;
//! let Value::Matrix(series) = out.value else { unreachable!("range queries return matrices") };
//! let values: Vec<f64> = series[0].samples.iter().map(|s| s.v).collect();
//! assert_eq!(values, [40.0, 42.0, 44.0, 46.0, 48.0]);
//! # Ok::<(), promlite::Error>(())
//! ```
//!
//! # Series and label listings
//!
//! ```
//! use promlite::{Db, Labels};
//!
//! let db = Db::in_memory();
//! let mut app = db.appender();
//! for (pod, ns) in [("api-1", "shop"), ("api-2", "shop"), ("dns-1", "kube-system")] {
//!     let labels = Labels::from_pairs([("__name__", "kube_pod_info"), ("pod", pod), ("namespace", ns)]);
//!     app.append(&labels, 1_000, 1.0)?;
//! }
//! app.commit()?;
//!
//! let shop = db.series(&[r#"kube_pod_info{namespace="shop"}"#], 0, 10_000)?;
//! assert_eq!(shop.len(), 2);
//! assert_eq!(db.label_names(&[], 0, 10_000)?, ["__name__", "namespace", "pod"]);
//! assert_eq!(db.label_values("namespace", &[], 0, 10_000)?, ["kube-system", "shop"]);
//! assert_eq!(db.label_values("pod", &[r#"{namespace="kube-system"}"#], 0, 10_000)?, ["dns-1"]);
//! # Ok::<(), promlite::Error>(())
//! ```
//!
//! # On disk: replay exposition files, reopen, query
//!
//! [`Db::replay_file`] reads a timestamped exposition file (OpenMetrics or Prometheus text);
//! [`Db::replay_dir`] reads a directory of scrapes (one file per scrape, named by its Unix
//! millisecond time or placed on a `start + i * interval` grid), adding staleness markers like a
//! scraper. Both compact the data into blocks before returning, so it is durable.
//!
//! ```
//! use promlite::{Db, Options, ScrapeTimes, Value};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let file = dir.path().join("metrics.om");
//! std::fs::write(&file, "# TYPE up gauge\nup{job=\"node\"} 1 1700000000\nup{job=\"node\"} 0 1700000015\n# EOF\n").unwrap();
//!
//! let data = dir.path().join("data");
//! let db = Db::open(&data, Options::default())?;
//! let stats = db.replay_file(&file)?;
//! assert_eq!(stats.input.samples, 2);
//! drop(db);
//!
//! // A scrape directory: files named by scrape time; `up` disappears in the second scrape.
//! let scrapes = dir.path().join("scrapes");
//! std::fs::create_dir(&scrapes).unwrap();
//! std::fs::write(scrapes.join("1700000030000.prom"), "up{job=\"api\"} 1\n").unwrap();
//! std::fs::write(scrapes.join("1700000045000.prom"), "other 1\n").unwrap();
//!
//! let db = Db::open(&data, Options::default())?; // reopens the blocks written above
//! let stats = db.replay_dir(&scrapes, ScrapeTimes::FileNames)?;
//! assert_eq!((stats.input.samples, stats.input.stale_markers), (2, 1));
//!
//! let out = db.query("up", 1_700_000_020_000)?;
//! let Value::Vector(v) = out.value else { unreachable!() };
//! assert_eq!((v.len(), v[0].v), (1, 0.0));
//! // The staleness marker ends `up{job="api"}` at 1700000045.
//! let out = db.query(r#"up{job="api"}"#, 1_700_000_050_000)?;
//! assert!(matches!(out.value, Value::Vector(v) if v.is_empty()));
//! # Ok::<(), promlite::Error>(())
//! ```
//!
//! # Errors
//!
//! Every fallible call returns [`Error`], which wraps the storage, query and replay errors and
//! classifies them the way Prometheus's HTTP API does ([`Error::error_type`]):
//!
//! ```
//! let db = promlite::Db::in_memory();
//! let err = db.query("sum(rate(x[5m])", 0).unwrap_err();
//! assert_eq!(err.error_type(), "bad_data");
//! assert!(err.to_string().starts_with("1:"), "{err}"); // line:column of the problem
//! ```
#![warn(missing_docs)]

mod db;
mod error;
mod import;
pub mod metadata;
mod replay;

pub use db::{
    format_query, parse_selector, parse_selectors, Appender, Db, Options, QueryOptions,
    DEFAULT_REFRESH_INTERVAL,
};
pub use error::{Error, Result};
pub use import::{ImportOptions, ImportStats};
pub use metadata::{MetadataMap, MetricMetadata};
pub use promlite_eval::value::{InstantSample, RangeSeries, Value};
pub use promlite_eval::{
    kube_pod_workload_expansion, render_explain, CancelToken, EngineOptions, Error as QueryError,
    ExplainNode, Extension, QueryOutput, QueryStats, KUBE_POD_WORKLOAD,
};
pub use promlite_expfmt::{FamilyMetadata, MetadataTracker};
pub use promlite_model::{
    is_stale_nan, Label, Labels, MatchOp, Matcher, Sample, Timestamp, STALE_NAN,
};
pub use promlite_storage::check as storage_check;
pub use promlite_storage::{Error as StorageError, Options as StorageOptions, SeriesRef, WalSync};
pub use replay::{
    InputStats, ReplayOptions, ReplayProgress, ReplaySource, ReplayStats, ReplayTarget,
    ScrapeTimes, SkippedLine, TARGET_FILE_NAME,
};

/// Compile-time proof that the handles can be shared across threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Db>();
    const fn assert_send<T: Send>() {}
    assert_send::<Appender>();
};
