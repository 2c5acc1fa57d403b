//! `POST /api/v1/import/prometheus`: adds exposition text to the served database through the
//! serving process, like VictoriaMetrics' endpoint of that name. The body is Prometheus text
//! (OpenMetrics with `Content-Type: application/openmetrics-text`); each `extra_label=name=value`
//! query parameter sets a label on every imported series; samples without a timestamp get the
//! `timestamp` parameter (milliseconds) or the time the request arrived.
//!
//! Answers `204 No Content` once every sample is durable on disk (WAL written and fsynced,
//! backfilled blocks renamed into place; see `promlite::Db::import_text`); `400` with
//! Prometheus's JSON error body naming the line and column of a malformed line or the rejected
//! sample, in which case nothing was stored.

use std::time::{SystemTime, UNIX_EPOCH};

use promlite::{ImportOptions, Timestamp};

use crate::api::{Api, ApiError, Endpoints, Request, Response};
use crate::params;

/// The path this endpoint set serves.
pub const IMPORT_PROMETHEUS_PATH: &str = "/api/v1/import/prometheus";

/// The import endpoint, mounted with `Api::mount(Arc::new(ImportEndpoints))`. Not for a
/// read-only database (its imports would fail with a read-only error).
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportEndpoints;

impl Endpoints for ImportEndpoints {
    fn handle(&self, api: &Api, req: &Request<'_>) -> Option<Response> {
        if req.path != IMPORT_PROMETHEUS_PATH {
            return None;
        }
        if req.method != "POST" && req.method != "PUT" {
            return Some(
                ApiError {
                    error_type: "method_not_allowed",
                    message: format!("{} needs POST, got {}", req.path, req.method),
                }
                .into_response(),
            );
        }
        Some(match import(api, req) {
            Ok(()) => Response::bytes(204, "text/plain; charset=utf-8", Vec::new()),
            Err(e) => e.into_response(),
        })
    }
}

fn now_ms() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Parses the parameters and imports the body.
fn import(api: &Api, req: &Request<'_>) -> Result<(), ApiError> {
    let mut options = ImportOptions {
        default_timestamp: now_ms(),
        open_metrics: req
            .content_type
            .is_some_and(|ct| ct.trim().starts_with("application/openmetrics-text")),
        ..ImportOptions::default()
    };
    for (name, value) in params::parse_form(req.query) {
        match name.as_str() {
            "extra_label" => {
                let Some((label, label_value)) = value.split_once('=') else {
                    return Err(ApiError::invalid_param(
                        "extra_label",
                        format!("{value:?} is not name=value"),
                    ));
                };
                if label.is_empty() {
                    return Err(ApiError::invalid_param(
                        "extra_label",
                        format!("{value:?} has an empty label name"),
                    ));
                }
                options
                    .extra_labels
                    .push((label.to_string(), label_value.to_string()));
            }
            "timestamp" => {
                options.default_timestamp = value.parse().map_err(|_| {
                    ApiError::invalid_param("timestamp", format!("{value:?} is not milliseconds"))
                })?;
            }
            _ => {}
        }
    }
    match api.db().import_text(req.body, &options) {
        Ok(_) => Ok(()),
        Err(e) => {
            let message = e.to_string();
            // Malformed text and rejected samples are the client's; write failures are ours.
            let error_type = match &e {
                promlite::Error::Replay(_) | promlite::Error::InvalidArgument(_) => "bad_data",
                promlite::Error::Storage(s) if is_rejected_sample(s) => "bad_data",
                _ => "internal",
            };
            Err(ApiError {
                error_type,
                message,
            })
        }
    }
}

/// Storage errors that reject a sample (the client's input), not a failed write.
fn is_rejected_sample(e: &promlite::StorageError) -> bool {
    matches!(
        e,
        promlite::StorageError::OutOfOrder { .. }
            | promlite::StorageError::DuplicateTimestamp { .. }
            | promlite::StorageError::OutOfBounds { .. }
            | promlite::StorageError::EmptyLabels
    )
}
