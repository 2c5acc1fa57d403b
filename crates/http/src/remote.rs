//! `POST /api/v1/write` (remote write 1.0 receiver) and `POST /api/v1/read` (remote read,
//! `SAMPLES` responses), mounted as an [`Endpoints`] set.
//!
//! Status codes follow Prometheus 2.42's handlers: 204 for a stored write; 400 with a
//! plain-text reason for a body that is not snappy, not a `WriteRequest`, carries an invalid
//! label set, or holds a sample storage refuses for its timestamp (the whole request is then
//! rolled back, so the sender drops it instead of retrying); 500 for a storage failure (the
//! sender retries); 405 for other methods; 413 (from the server) for bodies over its limit.
//! Nothing is acknowledged before its WAL commit (see `promlite_remote::receiver`).

use promlite_remote::codec::{
    decode_read_request, decode_write_request, encode_read_response, DEFAULT_MAX_DECOMPRESSED_BYTES,
};
use promlite_remote::receiver::{answer_read, apply_write};

use crate::api::{Api, Endpoints, Request, Response};

/// Default for [`RemoteEndpoints::read_sample_limit`]: Prometheus's
/// `--storage.remote.read-sample-limit` default.
pub const DEFAULT_READ_SAMPLE_LIMIT: usize = 50_000_000;

/// The remote write receiver and the remote read endpoint.
#[derive(Debug, Clone)]
pub struct RemoteEndpoints {
    /// Largest decompressed body accepted (the snappy header is checked before decoding).
    pub max_decompressed_bytes: usize,
    /// Most samples one remote read response may hold.
    pub read_sample_limit: usize,
}

impl Default for RemoteEndpoints {
    fn default() -> Self {
        RemoteEndpoints {
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            read_sample_limit: DEFAULT_READ_SAMPLE_LIMIT,
        }
    }
}

/// A plain-text error as Go's `http.Error` writes it (message plus newline).
fn text_error(status: u16, message: &str) -> Response {
    Response::text(status, &format!("{message}\n"))
}

fn only_post(req: &Request<'_>) -> Option<Response> {
    (req.method != "POST").then(|| {
        text_error(405, &format!("method {} not allowed; use POST", req.method))
            .with_header("Allow", "POST")
    })
}

/// Prometheus accepts a missing `Content-Encoding`, and refuses another one than snappy.
fn check_encoding(req: &Request<'_>) -> Option<Response> {
    match req.header("Content-Encoding") {
        None => None,
        Some(enc) if enc.trim().eq_ignore_ascii_case("snappy") => None,
        Some(enc) => Some(text_error(
            415,
            &format!(
                "unsupported Content-Encoding {enc:?}: remote write and read bodies are snappy"
            ),
        )),
    }
}

impl RemoteEndpoints {
    fn write(&self, api: &Api, req: &Request<'_>) -> Response {
        if let Some(refusal) = only_post(req).or_else(|| check_encoding(req)) {
            return refusal;
        }
        let batch = match decode_write_request(req.body, self.max_decompressed_bytes) {
            Ok(batch) => batch,
            Err(err) => return text_error(400, &err.to_string()),
        };
        match apply_write(api.db(), &batch) {
            Ok(_) => Response::bytes(204, "text/plain; charset=utf-8", Vec::new()),
            Err(refusal) => text_error(refusal.status(), &refusal.to_string()),
        }
    }

    fn read(&self, api: &Api, req: &Request<'_>) -> Response {
        if let Some(refusal) = only_post(req).or_else(|| check_encoding(req)) {
            return refusal;
        }
        let request = match decode_read_request(req.body, self.max_decompressed_bytes) {
            Ok(request) => request,
            Err(err) => return text_error(400, &err.to_string()),
        };
        match answer_read(api.db(), &request, self.read_sample_limit) {
            Ok(results) => Response::bytes(
                200,
                "application/x-protobuf",
                encode_read_response(&results),
            )
            .with_header("Content-Encoding", "snappy"),
            Err(err @ promlite_remote::Error::Db(_)) => text_error(500, &err.to_string()),
            Err(err) => text_error(400, &err.to_string()),
        }
    }
}

impl Endpoints for RemoteEndpoints {
    fn handle(&self, api: &Api, req: &Request<'_>) -> Option<Response> {
        match req.path {
            "/api/v1/write" => Some(self.write(api, req)),
            "/api/v1/read" => Some(self.read(api, req)),
            _ => None,
        }
    }
}
