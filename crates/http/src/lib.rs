//! Prometheus-compatible `/api/v1` HTTP server over the promlite facade.
//!
//! Endpoints: `/api/v1/query`, `/api/v1/query_range` (GET and form POST), `/api/v1/series`,
//! `/api/v1/labels`, `/api/v1/label/<name>/values`, `/api/v1/status/buildinfo`, `/-/ready`,
//! `/-/healthy`, `/api/v1/metadata` (the HELP/TYPE/UNIT kept at ingest) and an empty
//! `/api/v1/query_exemplars` (promlite stores no exemplars), with Prometheus's parameter names, JSON shapes, status codes and `errorType`
//! values, so promtool and Grafana can use it as a Prometheus data source. Mountable sets add
//! remote write and read ([`remote::RemoteEndpoints`]: `/api/v1/write`, `/api/v1/read`) and
//! federation ([`federate::FederateEndpoints`]: `/federate`).
//!
//! ```
//! use promlite::{Db, Labels};
//! use promlite_http::{Server, ServerOptions};
//!
//! let db = Db::in_memory();
//! let mut app = db.appender();
//! app.append(&Labels::from_pairs([("__name__", "up"), ("job", "api")]), 1_000, 1.0)?;
//! app.commit()?;
//!
//! let options = ServerOptions { listen: "127.0.0.1:0".parse()?, ..ServerOptions::default() };
//! let server = Server::start(db, options)?;
//! println!("listening on http://{}", server.local_addr());
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod api;
mod error;
pub mod federate;
pub mod gate;
pub mod import;
pub mod json;
pub mod middleware;
pub mod params;
pub mod remote;
pub mod rules;
mod server;
mod status;
pub mod targets;
pub mod web;

pub use api::{Api, ApiOptions, Endpoints, Request, Response};
pub use error::{Error, Result};
pub use import::ImportEndpoints;
pub use server::{Server, ServerOptions};
