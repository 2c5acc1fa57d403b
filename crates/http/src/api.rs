//! The Prometheus `/api/v1` endpoints over a [`promlite::Db`], independent of the transport.
//!
//! [`Api::handle`] takes a parsed [`Request`] and returns a [`Response`]; the server module
//! only moves bytes. Parameter names, defaults, error messages, `errorType` values and HTTP
//! status codes follow Prometheus's `web/api/v1` package.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promlite::{CancelToken, Db, QueryOptions, QueryOutput, Timestamp};

use crate::gate::{GateCounts, QueryGate};
use crate::json;
use crate::middleware::{accepts_gzip, gzip, CorsOrigin};
use crate::params::{self, parse_duration, parse_time, MAX_TIME, MIN_TIME};

/// Prometheus refuses range queries with more points than this per series.
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// Settings of the API (the server's command-line flags).
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Upper bound for every query's run time (`--query.timeout`, default 2m). A request's
    /// `timeout` parameter can only shorten it.
    pub query_timeout: Duration,
    /// Maximum samples one query may hold in memory (`--query.max-samples`, default 50M).
    pub max_samples: usize,
    /// Version reported by `/api/v1/status/buildinfo`.
    pub version: String,
    /// Queries evaluated at once (`--query.max-concurrency`, default 20). Others wait in a
    /// queue; the wait counts against their timeout (`query timed out in query queue`).
    pub max_concurrency: usize,
    /// Origins answered with CORS headers (`--web.cors.origin`, a fully anchored regex,
    /// default `.*`). Check it with [`crate::middleware::CorsOrigin::new`]; an invalid
    /// pattern turns CORS off.
    pub cors_origin: String,
    /// The flags `status/flags` reports, as (name without dashes, value).
    pub flags: Vec<(String, String)>,
    /// The YAML `status/config` reports.
    pub config_yaml: String,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            query_timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            version: env!("CARGO_PKG_VERSION").to_string(),
            max_concurrency: 20,
            cors_origin: ".*".to_string(),
            flags: Vec::new(),
            config_yaml: crate::status::DEFAULT_CONFIG_YAML.to_string(),
        }
    }
}

/// A request as the API needs it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path without the query string, still percent-encoded.
    pub path: &'a str,
    /// The raw query string (after `?`), possibly empty.
    pub query: &'a str,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The request body.
    pub body: &'a [u8],
    /// When the request was received (for `execQueueTime`).
    pub received: Instant,
    /// Every request header as `(name, value)`, in arrival order (names as sent; compare
    /// them case-insensitively, see [`Request::header`]).
    pub headers: &'a [(String, String)],
}

impl Request<'_> {
    /// The first value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A set of endpoints mounted beside the built-in ones (remote write and read, rules, scrape
/// targets, the web page, ...). [`Api::handle`] asks each mounted set in order before it
/// answers 404, so a set only sees paths the built-in API does not serve.
pub trait Endpoints: Send + Sync {
    /// Answers `req` if this set serves `req.path`, else `None`.
    fn handle(&self, api: &Api, req: &Request<'_>) -> Option<Response>;
}

/// A response: status, content type, extra headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Headers besides `Content-Type` (e.g. `Content-Encoding`), as `(name, value)`.
    pub headers: Vec<(&'static str, String)>,
    /// The body (JSON and text are UTF-8; protobuf and images are not).
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a JSON body.
    pub fn json(status: u16, body: String) -> Response {
        Response::bytes(status, "application/json", body.into_bytes())
    }

    /// A response with a plain-text body.
    pub fn text(status: u16, body: &str) -> Response {
        Response::bytes(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
        )
    }

    /// A response with an arbitrary body.
    pub fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body,
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// The body as text (lossy for non-UTF-8 bodies); for tests and logs.
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// An API error: Prometheus's `errorType` and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// `bad_data`, `execution`, `timeout`, `canceled`, `internal`, `not_found`, ...
    pub error_type: &'static str,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// A `bad_data` error with `message`.
    pub fn bad_data(message: impl Into<String>) -> ApiError {
        ApiError {
            error_type: "bad_data",
            message: message.into(),
        }
    }

    /// Prometheus's `invalid parameter "name": message` (`bad_data`).
    pub fn invalid_param(name: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError::bad_data(format!("invalid parameter {name:?}: {message}"))
    }

    /// The HTTP status Prometheus uses for this error type.
    pub fn status(&self) -> u16 {
        status_for(self.error_type)
    }

    /// The JSON error body.
    pub fn body(&self) -> String {
        json::error(self.error_type, &self.message)
    }

    /// The error as an HTTP response (status by error type, JSON body).
    pub fn into_response(self) -> Response {
        Response::json(self.status(), json::error(self.error_type, &self.message))
    }
}

/// Prometheus's mapping from `errorType` to HTTP status.
pub fn status_for(error_type: &str) -> u16 {
    match error_type {
        "bad_data" => 400,
        "execution" => 422,
        "canceled" => 499,
        "timeout" | "unavailable" => 503,
        "not_found" => 404,
        "not_acceptable" => 406,
        "method_not_allowed" => 405,
        _ => 500,
    }
}

/// Converts a facade error into Prometheus's error shape. Query parse errors get the
/// `invalid parameter "query": ` prefix, selector errors `invalid parameter "match[]": `.
pub fn api_error(err: &promlite::Error, param: &str) -> ApiError {
    let error_type = err.error_type();
    let message = match err {
        promlite::Error::Query(promlite::QueryError::Parse(_))
        | promlite::Error::Selector { .. }
        | promlite::Error::NotASelector { .. } => format!("invalid parameter {param:?}: {err}"),
        _ => err.to_string(),
    };
    ApiError {
        error_type,
        message,
    }
}

/// Query outcomes counted for `/metrics`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct QueryCounters {
    pub started: u64,
    pub timed_out: u64,
    pub cancelled: u64,
}

/// State shared by every clone of one [`Api`]: the concurrency gate and the counters.
#[derive(Debug)]
struct Shared {
    gate: QueryGate,
    cors: Option<CorsOrigin>,
    started_ms: Timestamp,
    started: AtomicU64,
    timed_out: AtomicU64,
    cancelled: AtomicU64,
    /// Requests by (handler, status code).
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

/// The API over one database.
#[derive(Clone)]
pub struct Api {
    db: Db,
    options: ApiOptions,
    mounted: Vec<std::sync::Arc<dyn Endpoints>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("db", &self.db)
            .field("options", &self.options)
            .field("mounted", &self.mounted.len())
            .finish()
    }
}

/// Decoded request parameters: body values first, then URL values, as Go's `r.Form`.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(req: &Request<'_>) -> Form {
        let mut pairs = Vec::new();
        let is_form = req.content_type.is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if req.method == "POST" && is_form {
            pairs.extend(params::parse_form(&String::from_utf8_lossy(req.body)));
        }
        pairs.extend(params::parse_form(req.query));
        Form(pairs)
    }

    /// The first value of `name`, or `""` (Go's `FormValue`).
    fn value(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn values(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn time(&self, name: &str, default: Timestamp) -> Result<Timestamp, ApiError> {
        match self.value(name) {
            "" => Ok(default),
            text => parse_time(text).map_err(|e| ApiError::invalid_param(name, e)),
        }
    }

    /// A time parameter without default: absent is `cannot parse "" ...`, as in Prometheus.
    fn required_time(&self, name: &str) -> Result<Timestamp, ApiError> {
        parse_time(self.value(name)).map_err(|e| ApiError::invalid_param(name, e))
    }

    fn limit(&self) -> Result<usize, ApiError> {
        match self.value("limit") {
            "" => Ok(0),
            text => match text.parse::<i64>() {
                Ok(n) if n < 0 => Err(ApiError::invalid_param(
                    "limit",
                    "limit must be non-negative",
                )),
                Ok(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
                Err(_) => Err(ApiError::invalid_param(
                    "limit",
                    format!("strconv.Atoi: parsing {text:?}: invalid syntax"),
                )),
            },
        }
    }
}

fn now_ms() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl Api {
    /// An API serving `db`.
    pub fn new(db: Db, options: ApiOptions) -> Api {
        let shared = Arc::new(Shared {
            gate: QueryGate::new(options.max_concurrency),
            cors: CorsOrigin::new(&options.cors_origin).ok(),
            started_ms: now_ms(),
            started: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            requests: Mutex::new(BTreeMap::new()),
        });
        Api {
            db,
            options,
            mounted: Vec::new(),
            shared,
        }
    }

    /// When this API was created (milliseconds since the epoch).
    pub(crate) fn started_ms(&self) -> Timestamp {
        self.shared.started_ms
    }

    pub(crate) fn counters(&self) -> QueryCounters {
        QueryCounters {
            started: self.shared.started.load(Ordering::Relaxed),
            timed_out: self.shared.timed_out.load(Ordering::Relaxed),
            cancelled: self.shared.cancelled.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn gate_counts(&self) -> GateCounts {
        self.shared.gate.counts()
    }

    pub(crate) fn gate_max(&self) -> usize {
        self.shared.gate.max()
    }

    pub(crate) fn request_counts(&self) -> Vec<((String, u16), u64)> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Mounts a set of extra endpoints, asked after the built-in ones and before a 404.
    #[must_use]
    pub fn mount(mut self, endpoints: std::sync::Arc<dyn Endpoints>) -> Api {
        self.mounted.push(endpoints);
        self
    }

    /// The API's settings.
    pub fn options(&self) -> &ApiOptions {
        &self.options
    }

    /// The database served.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Answers one request.
    pub fn handle(&self, req: &Request<'_>) -> Response {
        self.handle_cancellable(req, &CancelToken::new())
    }

    /// Answers one request; a query stops with `canceled` once `cancel` is cancelled (the
    /// server cancels it when the client closes its connection). API and `/metrics` responses
    /// get Prometheus's CORS headers and gzip when the client asked for it.
    pub fn handle_cancellable(&self, req: &Request<'_>, cancel: &CancelToken) -> Response {
        let mut response = self.route(req, cancel);
        let is_api = req.path.starts_with("/api/");
        let handler = if is_api || req.path == "/metrics" || req.path.starts_with("/-/") {
            req.path
        } else {
            "other"
        };
        if let Ok(mut requests) = self.shared.requests.lock() {
            *requests
                .entry((handler.to_string(), response.status))
                .or_default() += 1;
        }
        if is_api {
            if let Some(cors) = &self.shared.cors {
                cors.apply(req.header("Origin"), &mut response);
            }
        }
        if (is_api || req.path == "/metrics") && accepts_gzip(req.header("Accept-Encoding")) {
            gzip(&mut response);
        }
        response
    }

    fn route(&self, req: &Request<'_>, cancel: &CancelToken) -> Response {
        let path = req.path;
        if req.method == "OPTIONS" && path.starts_with("/api/v1/") {
            // Prometheus answers every API path's OPTIONS with 204 and the CORS headers.
            return Response::bytes(204, "text/plain; charset=utf-8", Vec::new());
        }
        let allowed: &[&str] = match path {
            "/api/v1/query"
            | "/api/v1/query_range"
            | "/api/v1/series"
            | "/api/v1/labels"
            | "/api/v1/format_query" => &["GET", "POST"],
            "/api/v1/status/buildinfo"
            | "/api/v1/metadata"
            | "/api/v1/status/config"
            | "/api/v1/status/flags"
            | "/api/v1/status/runtimeinfo"
            | "/api/v1/status/tsdb"
            | "/api/v1/status/walreplay"
            | "/metrics" => &["GET"],
            "/api/v1/query_exemplars" => &["GET", "POST"],
            "/-/ready" | "/-/healthy" => &["GET", "HEAD"],
            _ if label_values_name(path).is_some() => &["GET"],
            _ => {
                if let Some(response) = self.mounted.iter().find_map(|set| set.handle(self, req)) {
                    return response;
                }
                return ApiError {
                    error_type: "not_found",
                    message: format!("unknown API endpoint {path:?}"),
                }
                .into_response();
            }
        };
        if !allowed.contains(&req.method) {
            return ApiError {
                error_type: "method_not_allowed",
                message: format!(
                    "method {} not allowed for {path}; allowed: {}",
                    req.method,
                    allowed.join(", ")
                ),
            }
            .into_response();
        }
        let form = Form::parse(req);
        let result = match path {
            "/api/v1/query" => self.query(&form, req.received, cancel),
            "/api/v1/query_range" => self.query_range(&form, req.received, cancel),
            "/api/v1/series" => self.series(&form),
            "/api/v1/labels" => self.labels(&form),
            "/api/v1/status/buildinfo" => Ok(self.buildinfo()),
            "/api/v1/status/config" => Ok(self.status_config()),
            "/api/v1/status/flags" => Ok(self.status_flags()),
            "/api/v1/status/runtimeinfo" => Ok(self.status_runtimeinfo()),
            "/api/v1/status/tsdb" => Ok(self.status_tsdb()),
            "/api/v1/status/walreplay" => Ok(self.status_walreplay()),
            "/api/v1/format_query" => self.format_query(form.value("query")),
            "/metrics" => {
                return Response::bytes(
                    200,
                    "text/plain; version=0.0.4; charset=utf-8",
                    self.metrics_text().into_bytes(),
                )
            }
            "/api/v1/metadata" => self.metadata(&form),
            // promlite stores no exemplars, so this answers truthfully empty; Grafana asks
            // when browsing metrics.
            "/api/v1/query_exemplars" => Ok(json::success("[]", &[], &[])),
            "/-/ready" => return Response::text(200, "Prometheus Server is Ready.\n"),
            "/-/healthy" => return Response::text(200, "Prometheus Server is Healthy.\n"),
            _ => match label_values_name(path) {
                Some(Err(bytes)) => Err(ApiError::bad_data(format!(
                    "invalid label name: {}",
                    params::go_quote_bytes(&bytes)
                ))),
                Some(Ok(name)) => self.label_values(&name, &form),
                None => Err(ApiError {
                    error_type: "not_found",
                    message: format!("unknown API endpoint {path:?}"),
                }),
            },
        };
        match result {
            Ok(body) => Response::json(200, body),
            Err(err) => err.into_response(),
        }
    }

    fn query_options(&self, form: &Form) -> Result<QueryOptions, ApiError> {
        let mut timeout = self.options.query_timeout;
        let text = form.value("timeout");
        if !text.is_empty() {
            let ms = parse_duration(text).map_err(|e| ApiError::invalid_param("timeout", e))?;
            let requested = Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            timeout = timeout.min(requested);
        }
        Ok(QueryOptions {
            timeout: Some(timeout),
            max_samples: Some(self.options.max_samples),
            // `stats=all` also reports the evaluator's decisions (`data.stats.explain`).
            explain: form.value("stats") == "all",
        })
    }

    /// Runs `run` under the concurrency limit with what is left of the query's timeout after
    /// queueing, counts the outcome, and encodes the answer (the encoder also stops at the
    /// deadline or on cancellation).
    fn run_query(
        &self,
        form: &Form,
        received: Instant,
        cancel: &CancelToken,
        run: impl FnOnce(&QueryOptions) -> promlite::Result<QueryOutput>,
    ) -> Result<String, ApiError> {
        let limit = form.limit()?;
        let mut options = self.query_options(form)?;
        let timeout = options.timeout.unwrap_or(self.options.query_timeout);
        let deadline = received.checked_add(timeout).unwrap_or(received);
        self.shared.started.fetch_add(1, Ordering::Relaxed);
        let outcome = (|| {
            let _permit = self.shared.gate.acquire(deadline, cancel)?;
            let started = Instant::now();
            options.timeout = Some(deadline.saturating_duration_since(started));
            let output = run(&options).map_err(|e| api_error(&e, "query"))?;
            query_body(
                output,
                form,
                limit,
                started.duration_since(received),
                &|| cancel.is_cancelled() || Instant::now() > deadline,
            )
            .ok_or_else(|| {
                if cancel.is_cancelled() {
                    ApiError {
                        error_type: "canceled",
                        message: "query was canceled in result encoding".to_string(),
                    }
                } else {
                    ApiError {
                        error_type: "timeout",
                        message: "query timed out in result encoding".to_string(),
                    }
                }
            })
        })();
        if let Err(err) = &outcome {
            match err.error_type {
                "timeout" => self.shared.timed_out.fetch_add(1, Ordering::Relaxed),
                "canceled" => self.shared.cancelled.fetch_add(1, Ordering::Relaxed),
                _ => 0,
            };
        }
        outcome
    }

    fn query(
        &self,
        form: &Form,
        received: Instant,
        cancel: &CancelToken,
    ) -> Result<String, ApiError> {
        let time = form.time("time", now_ms())?;
        self.run_query(form, received, cancel, |options| {
            self.db
                .query_cancellable(form.value("query"), time, options, cancel)
        })
    }

    fn query_range(
        &self,
        form: &Form,
        received: Instant,
        cancel: &CancelToken,
    ) -> Result<String, ApiError> {
        form.limit()?;
        let start = form.required_time("start")?;
        let end = form.required_time("end")?;
        let step =
            parse_duration(form.value("step")).map_err(|e| ApiError::invalid_param("step", e))?;
        check_range(start, end, step)?;
        let step = Duration::from_millis(u64::try_from(step).unwrap_or(1));
        self.run_query(form, received, cancel, |options| {
            self.db
                .query_range_cancellable(form.value("query"), start, end, step, options, cancel)
        })
    }

    fn series(&self, form: &Form) -> Result<String, ApiError> {
        let selectors = form.values("match[]");
        if selectors.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let start = form.time("start", MIN_TIME)?;
        let end = form.time("end", MAX_TIME)?;
        let limit = form.limit()?;
        let mut series = self
            .db
            .series(&selectors, start, end)
            .map_err(|e| api_error(&e, "match[]"))?;
        let warnings = truncate(&mut series, limit);
        Ok(json::success(&json::series_data(&series), &warnings, &[]))
    }

    /// `/api/v1/metadata` in Prometheus 2.42's shape: `{"<metric>": [{"type", "help", "unit"}]}`
    /// with names in order (Go marshals map keys sorted). `metric` selects one family;
    /// `limit` caps the number of metrics (negative: no cap; `0` answers `{}`, as 2.42).
    /// `limit_per_metric` (newer Prometheus: a positive cap on entries per metric) never changes
    /// the answer, because promlite keeps one entry per metric; like 2.42, which does not know
    /// the parameter, a value that is not a number is not an error.
    fn metadata(&self, form: &Form) -> Result<String, ApiError> {
        let number = |name: &str| -> Result<Option<i64>, ApiError> {
            match form.value(name) {
                "" => Ok(None),
                text => text
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| ApiError::bad_data(format!("{name} must be a number"))),
            }
        };
        let limit = number("limit")?.filter(|l| *l >= 0);
        let metric = Some(form.value("metric")).filter(|m| !m.is_empty());
        let all = self.db.metadata().map_err(|e| api_error(&e, "metric"))?;
        let mut out = String::from("{");
        let mut n = 0i64;
        for (name, meta) in &all {
            if metric.is_some_and(|m| m != name) {
                continue;
            }
            if limit.is_some_and(|l| n >= l) {
                break;
            }
            if n > 0 {
                out.push(',');
            }
            json::write_string(&mut out, name);
            out.push_str(":[{\"type\":");
            json::write_string(&mut out, &meta.metric_type);
            out.push_str(",\"help\":");
            json::write_string(&mut out, &meta.help);
            out.push_str(",\"unit\":");
            json::write_string(&mut out, &meta.unit);
            out.push_str("}]");
            n += 1;
        }
        out.push('}');
        Ok(json::success(&out, &[], &[]))
    }

    fn labels(&self, form: &Form) -> Result<String, ApiError> {
        let selectors = form.values("match[]");
        let start = form.time("start", MIN_TIME)?;
        let end = form.time("end", MAX_TIME)?;
        let limit = form.limit()?;
        let mut names = self
            .db
            .label_names(&selectors, start, end)
            .map_err(|e| api_error(&e, "match[]"))?;
        let warnings = truncate(&mut names, limit);
        Ok(json::success(&json::strings_data(&names), &warnings, &[]))
    }

    fn label_values(&self, name: &str, form: &Form) -> Result<String, ApiError> {
        // Prometheus 3 accepts any non-empty UTF-8 name; `U__`-escaped names are unescaped
        // by clients that need them, and arrive here already percent-decoded.
        if name.is_empty() {
            return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
        }
        let selectors = form.values("match[]");
        let start = form.time("start", MIN_TIME)?;
        let end = form.time("end", MAX_TIME)?;
        let limit = form.limit()?;
        let mut values = self
            .db
            .label_values(name, &selectors, start, end)
            .map_err(|e| api_error(&e, "match[]"))?;
        let warnings = truncate(&mut values, limit);
        Ok(json::success(&json::strings_data(&values), &warnings, &[]))
    }

    fn buildinfo(&self) -> String {
        let mut data = String::from("{\"version\":");
        json::write_string(&mut data, &self.options.version);
        data.push_str(
            ",\"revision\":\"unknown\",\"branch\":\"unknown\",\"buildUser\":\"promlite\",\"buildDate\":\"unknown\",\"goVersion\":\"n/a (promlite, Rust)\"}",
        );
        json::success(&data, &[], &[])
    }
}

/// Prometheus's checks on a range query's bounds, in its order: end not before start, a
/// positive step, at most [`MAX_POINTS_PER_SERIES`] points. The CLI applies them too.
pub fn check_range(start: Timestamp, end: Timestamp, step_ms: i64) -> Result<(), ApiError> {
    if end < start {
        return Err(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    if step_ms <= 0 {
        return Err(ApiError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    // Same guard as Prometheus: refuse queries that would return absurd numbers of points.
    // `end >= start`, so the difference only saturates when it overflows i64.
    if end.saturating_sub(start) / step_ms > MAX_POINTS_PER_SERIES {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    Ok(())
}

/// Truncates `items` to `limit` (0: no limit) and returns Prometheus's warning if it did.
fn truncate<T>(items: &mut Vec<T>, limit: usize) -> Vec<String> {
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        return vec!["results truncated due to limit".to_string()];
    }
    Vec::new()
}

/// The body of a successful query, with `data.stats` when the `stats` parameter is set;
/// `None` if `stop` said to stop while encoding.
fn query_body(
    mut output: QueryOutput,
    form: &Form,
    limit: usize,
    queued: Duration,
    stop: &dyn Fn() -> bool,
) -> Option<String> {
    let mut warnings = std::mem::take(&mut output.warnings);
    match &mut output.value {
        promlite::Value::Vector(v) => warnings.extend(truncate(v, limit)),
        promlite::Value::Matrix(m) => warnings.extend(truncate(m, limit)),
        _ => {}
    }
    let stats = (!form.value("stats").is_empty()).then(|| {
        let mut stats = stats_json(&output.stats, queued);
        if form.value("stats") == "all" {
            add_explain(&mut stats, &output.explain);
        }
        stats
    });
    json::query_success_until(
        &output.value,
        stats.as_deref(),
        &warnings,
        &output.infos,
        stop,
    )
}

/// Prometheus's `data.stats` object: timings in seconds and sample counters.
pub fn stats_json(stats: &promlite::QueryStats, queued: Duration) -> String {
    let eval_total = stats.prepare + stats.eval;
    let mut out = String::from("{\"timings\":{");
    let timings = [
        ("evalTotalTime", eval_total),
        ("resultSortTime", Duration::ZERO),
        ("queryPreparationTime", stats.prepare),
        ("innerEvalTime", stats.eval),
        ("execQueueTime", queued),
        ("execTotalTime", stats.total + queued),
    ];
    for (i, (name, value)) in timings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        json::write_json_number(&mut out, value.as_secs_f64());
    }
    out.push_str("},\"samples\":{\"totalQueryableSamples\":");
    out.push_str(&stats.samples_loaded.to_string());
    out.push_str(",\"peakSamples\":");
    out.push_str(&stats.peak_samples.to_string());
    out.push_str("}}");
    out
}

/// Adds `"explain":[{"depth":..,"node":..,"decisions":[..],"series":..,"samples":..},..]` to
/// the stats object `stats` (a promlite extension of `stats=all`; clients ignore unknown fields).
fn add_explain(stats: &mut String, nodes: &[promlite::ExplainNode]) {
    if stats.ends_with('}') {
        stats.pop();
    }
    stats.push_str(",\"explain\":[");
    for (i, n) in nodes.iter().enumerate() {
        if i > 0 {
            stats.push(',');
        }
        stats.push_str(&format!("{{\"depth\":{},\"node\":", n.depth));
        json::write_string(stats, &n.node);
        stats.push_str(",\"decisions\":[");
        for (j, d) in n.decisions.iter().enumerate() {
            if j > 0 {
                stats.push(',');
            }
            json::write_string(stats, d);
        }
        stats.push_str(&format!(
            "],\"series\":{},\"samples\":{}}}",
            n.series_selected, n.samples_loaded
        ));
    }
    stats.push_str("]}");
}

/// The decoded `<name>` of `/api/v1/label/<name>/values`; `Err` with the bytes if they are
/// not UTF-8 (Prometheus answers 400 `invalid label name`).
fn label_values_name(path: &str) -> Option<Result<String, Vec<u8>>> {
    let name = path
        .strip_prefix("/api/v1/label/")?
        .strip_suffix("/values")?;
    if name.contains('/') {
        return None;
    }
    let bytes = params::decode_path_segment_bytes(name);
    Some(String::from_utf8(bytes).map_err(std::string::FromUtf8Error::into_bytes))
}
