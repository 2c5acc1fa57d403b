//! The HTTP transport: a `tiny_http` listener and a fixed pool of worker threads that run
//! [`Api::handle`]. Each worker handles one request at a time, so the pool size bounds the
//! number of concurrent queries (Prometheus's `--query.max-concurrency`, default 20 there).

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use promlite::Db;

use crate::api::{Api, ApiOptions, Request, Response};
use crate::{json, Error, Result};

/// Settings of [`Server::start`].
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address to listen on. Default `127.0.0.1:9091` (loopback only).
    pub listen: SocketAddr,
    /// Worker threads, i.e. requests served concurrently. Default: twice the CPU count, at
    /// least 4.
    pub workers: usize,
    /// Largest request body accepted (form-encoded POSTs); larger ones get 413.
    pub max_body_bytes: usize,
    /// API settings (timeouts, limits).
    pub api: ApiOptions,
}

impl Default for ServerOptions {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        ServerOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 9091)),
            workers: (cpus * 2).max(4),
            max_body_bytes: 8 << 20,
            api: ApiOptions::default(),
        }
    }
}

/// A running server. Dropping it without [`shutdown`](Self::shutdown) leaves the workers
/// running until the process exits.
pub struct Server {
    http: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl Server {
    /// Binds `options.listen` and starts serving `db` on `options.workers` threads. Port 0
    /// picks a free port; see [`local_addr`](Self::local_addr).
    pub fn start(db: Db, options: ServerOptions) -> Result<Server> {
        let api = Api::new(db, options.api.clone());
        Server::start_api(api, options)
    }

    /// Like [`start`](Self::start), serving an [`Api`] built by the caller (with mounted
    /// [`Endpoints`](crate::api::Endpoints)); `options.api` is ignored in favour of the API's own.
    pub fn start_api(api: Api, options: ServerOptions) -> Result<Server> {
        let http = tiny_http::Server::http(options.listen).map_err(|source| Error::Bind {
            addr: options.listen,
            message: source.to_string(),
        })?;
        let addr = http.server_addr().to_ip().ok_or(Error::Bind {
            addr: options.listen,
            message: "listener has no IP address".to_string(),
        })?;
        let http = Arc::new(http);
        let api = Arc::new(api);
        let stopping = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::with_capacity(options.workers.max(1));
        for worker_idx in 0..options.workers.max(1) {
            let http = http.clone();
            let api = api.clone();
            let stopping = stopping.clone();
            let max_body = options.max_body_bytes;
            let handle = std::thread::Builder::new()
                .name(format!("promlite-http-{worker_idx}"))
                .spawn(move || worker(&http, &api, &stopping, max_body))
                .map_err(|source| Error::Spawn { source })?;
            workers.push(handle);
        }
        Ok(Server {
            http,
            workers,
            stopping,
            addr,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server stops (it only stops through [`shutdown`](Self::shutdown) from
    /// another handle, so in practice: forever).
    pub fn wait(self) {
        for handle in self.workers {
            let _ = handle.join();
        }
    }

    /// Stops accepting requests, lets in-flight requests finish and joins the workers.
    pub fn shutdown(self) {
        self.stopping.store(true, Ordering::SeqCst);
        // `unblock` wakes exactly one blocked `recv`, so send one per worker.
        for _ in &self.workers {
            self.http.unblock();
        }
        for handle in self.workers {
            let _ = handle.join();
        }
    }
}

fn worker(http: &tiny_http::Server, api: &Api, stopping: &AtomicBool, max_body: usize) {
    loop {
        let request = match http.recv() {
            Ok(request) => request,
            // Either we were unblocked for shutdown, or accepting a connection failed (the
            // client went away); the latter must not stop the worker.
            Err(_) if stopping.load(Ordering::SeqCst) => return,
            Err(_) => continue,
        };
        serve_one(api, request, max_body);
    }
}

fn serve_one(api: &Api, mut request: tiny_http::Request, max_body: usize) {
    let received = Instant::now();
    let method = request.method().as_str().to_string();
    let url = request.url().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_string(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let content_type = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Content-Type"))
        .map(|(_, value)| value.clone());
    let mut body = Vec::new();
    let limit = u64::try_from(max_body)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let response = match request.as_reader().take(limit).read_to_end(&mut body) {
        Err(err) => error_response(
            400,
            "bad_data",
            &format!("error reading request body: {err}"),
        ),
        Ok(_) if body.len() > max_body => error_response(
            413,
            "bad_data",
            &format!("request body larger than {max_body} bytes"),
        ),
        Ok(_) => {
            let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
            api.handle(&Request {
                method: &method,
                path,
                query,
                content_type: content_type.as_deref(),
                body: &body,
                received,
                headers: &headers,
            })
        }
    };
    // The client may have hung up; nothing useful can be done about a failed write.
    let _ = request.respond(to_tiny(response));
}

fn error_response(status: u16, error_type: &'static str, message: &str) -> Response {
    Response::json(status, json::error(error_type, message))
}

fn to_tiny(response: Response) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let mut out = tiny_http::Response::from_data(response.body).with_status_code(response.status);
    if let Ok(header) =
        tiny_http::Header::from_bytes(&b"Content-Type"[..], response.content_type.as_bytes())
    {
        out = out.with_header(header);
    }
    for (name, value) in &response.headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            out = out.with_header(header);
        }
    }
    out
}
