//! The HTTP transport: a small HTTP/1.1 server on `std::net` that runs [`Api::handle_cancellable`]
//! on one thread per connection, and cancels a running query when its client goes away.
//!
//! Why not a library server: the previous transport (`tiny_http`) parses connections on its
//! own threads and never exposes the socket, so nothing could notice a client hanging up while
//! its query ran. Prometheus (Go's `net/http`) cancels a request's context when a background
//! read on the connection sees EOF; this transport does the same: once a query has run for a
//! few milliseconds, the connection's watcher thread (one per connection, reused by its queries)
//! peeks the socket (`TcpStream::peek`, which consumes nothing). `Ok(0)` means the peer
//! closed its side, so the query's [`CancelToken`] is cancelled and the engine stops at its next
//! deadline check. Bytes arriving instead (a pipelined request) end the watch without cancelling.
//! The async servers that expose this (hyper) would bring a runtime and ~60 crates to a 2-core
//! build for CPU-bound queries that gain nothing from async.
//!
//! What is implemented: request line and headers (at most [`MAX_HEAD_BYTES`]), bodies by
//! `Content-Length` or `Transfer-Encoding: chunked` (at most `max_body_bytes`, else 413),
//! `Expect: 100-continue`, keep-alive (HTTP/1.1 default, `Connection: close`, HTTP/1.0), `HEAD`.
//! Malformed requests get 400 and the connection is closed.
//!
//! Invariant: every socket has a receive timeout of [`POLL_INTERVAL`]; every blocking read
//! retries on that timeout, checking the server's stopping flag and the idle limit, so a
//! connection thread never blocks for longer than one interval without looking at them.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use promlite::{CancelToken, Db};

use crate::api::{Api, ApiOptions, Request, Response};
use crate::{json, Error, Result};

/// Largest request line plus headers accepted (Go's `DefaultMaxHeaderBytes`).
pub const MAX_HEAD_BYTES: usize = 1 << 20;

/// How often blocked reads wake to look at the stopping flag, and how often a running query's
/// watcher looks at its connection.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How long a query runs before its connection is watched for a hang-up (see
/// `watch_for_hangups`).
const WATCH_DELAY: Duration = Duration::from_millis(5);

/// A keep-alive connection idle this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Settings of [`Server::start`].
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address to listen on. Default `127.0.0.1:9091` (loopback only).
    pub listen: SocketAddr,
    /// Connections served at once, each on its own thread (default 512); further connections
    /// wait in the listen backlog. Concurrent *queries* are limited separately, by
    /// [`ApiOptions::max_concurrency`], as Prometheus's `--query.max-concurrency`.
    pub workers: usize,
    /// Largest request body accepted (form-encoded POSTs); larger ones get 413.
    pub max_body_bytes: usize,
    /// API settings (timeouts, limits).
    pub api: ApiOptions,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 9091)),
            workers: 512,
            max_body_bytes: 8 << 20,
            api: ApiOptions::default(),
        }
    }
}

/// Connections being served, with a condition variable signalled when one ends.
#[derive(Default)]
struct Active {
    count: Mutex<usize>,
    changed: Condvar,
}

impl Active {
    fn lock(&self) -> std::sync::MutexGuard<'_, usize> {
        // A poisoned counter is still a valid count (only `+= 1`/`-= 1` happen under it).
        lock_unpoisoned(&self.count)
    }
}

/// Locks `mutex`, taking the data of a poisoned one as it is: for state that every writer
/// leaves consistent at each step, so a panic elsewhere cannot have torn it.
fn lock_unpoisoned<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Decrements the active count when a connection thread ends, however it ends.
struct ActiveGuard(Arc<Active>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let mut count = self.0.lock();
        *count = count.saturating_sub(1);
        self.0.changed.notify_all();
    }
}

/// A running server. Dropping it without [`shutdown`](Self::shutdown) leaves it running until
/// the process exits.
pub struct Server {
    acceptor: JoinHandle<()>,
    stopping: Arc<AtomicBool>,
    active: Arc<Active>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Binds `options.listen` and starts serving `db`. Port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr).
    pub fn start(db: Db, options: ServerOptions) -> Result<Server> {
        let api = Api::new(db, options.api.clone());
        Server::start_api(api, options)
    }

    /// Like [`start`](Self::start), serving an [`Api`] built by the caller (with mounted
    /// [`Endpoints`](crate::api::Endpoints)); `options.api` is ignored in favour of the API's own.
    pub fn start_api(api: Api, options: ServerOptions) -> Result<Server> {
        let listener = TcpListener::bind(options.listen).map_err(|source| Error::Bind {
            addr: options.listen,
            message: source.to_string(),
        })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: options.listen,
            message: source.to_string(),
        })?;
        let api = Arc::new(api);
        let stopping = Arc::new(AtomicBool::new(false));
        let active = Arc::new(Active::default());
        let acceptor = {
            let stopping = stopping.clone();
            let active = active.clone();
            let limits = Limits {
                max_connections: options.workers.max(1),
                max_body: options.max_body_bytes,
            };
            std::thread::Builder::new()
                .name("promlite-http-accept".to_string())
                .spawn(move || accept_loop(&listener, &api, &stopping, &active, limits))
                .map_err(|source| Error::Spawn { source })?
        };
        Ok(Server {
            acceptor,
            stopping,
            active,
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
        let _ = self.acceptor.join();
    }

    /// Stops accepting connections, lets in-flight requests finish, closes idle connections
    /// and waits for every connection thread.
    pub fn shutdown(self) {
        self.stopping.store(true, Ordering::SeqCst);
        // `accept` has no timeout: a connection of our own wakes it to see the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let _ = self.acceptor.join();
        let mut count = self.active.lock();
        while *count > 0 {
            count = self
                .active
                .changed
                .wait(count)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    max_connections: usize,
    max_body: usize,
}

fn accept_loop(
    listener: &TcpListener,
    api: &Arc<Api>,
    stopping: &Arc<AtomicBool>,
    active: &Arc<Active>,
    limits: Limits,
) {
    loop {
        {
            let mut count = active.lock();
            while *count >= limits.max_connections {
                count = active
                    .changed
                    .wait(count)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
        let stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            // A client that went away between SYN and accept, or a transient resource limit;
            // neither may stop the server.
            Err(_) if !stopping.load(Ordering::SeqCst) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(_) => return,
        };
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        *active.lock() += 1;
        let guard = ActiveGuard(active.clone());
        let api = api.clone();
        let stopping = stopping.clone();
        let spawned = std::thread::Builder::new()
            .name("promlite-http-conn".to_string())
            .spawn(move || {
                serve_connection(stream, &api, &stopping, limits.max_body);
                // The API (and the `Db` it holds, with the data directory's lock) is released
                // before the guard tells `shutdown` this connection is done: a caller may
                // reopen the directory as soon as `shutdown` returns. (Captured values would
                // otherwise drop after the closure's body, i.e. after the guard.)
                drop(api);
                drop(guard);
            });
        // Without a thread the connection is dropped (closed); the guard went with the closure.
        drop(spawned);
    }
}

/// Why reading a request stopped.
#[derive(Debug)]
enum ReadError {
    /// The peer closed the connection (cleanly, between requests), it idled too long, or the
    /// server is stopping: close without answering.
    Closed,
    /// The bytes are not an HTTP/1.x request: answer 400 and close.
    Malformed(String),
    /// The body exceeds the limit: answer 413 and close.
    TooLarge(usize),
    /// The socket failed (reset, timed out writing `100 Continue`, ...): close.
    Io,
}

impl From<io::Error> for ReadError {
    fn from(err: io::Error) -> Self {
        if err.kind() == io::ErrorKind::UnexpectedEof {
            ReadError::Closed
        } else {
            // The error itself adds nothing: the connection is closed either way.
            ReadError::Io
        }
    }
}

/// A socket reader whose reads retry on the socket's receive timeout (see the module's
/// invariant) until data arrives, the connection idles out, or the server stops.
struct PatientReader<'a> {
    stream: TcpStream,
    stopping: &'a AtomicBool,
    /// When the current wait for data began (reset by every successful read).
    waiting_since: Instant,
}

impl Read for PatientReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.stream.read(buf) {
                Ok(n) => {
                    self.waiting_since = Instant::now();
                    return Ok(n);
                }
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.stopping.load(Ordering::SeqCst)
                        || self.waiting_since.elapsed() > IDLE_TIMEOUT
                    {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closing"));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
}

/// One parsed request, owning its bytes.
struct OwnedRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    keep_alive: bool,
}

impl OwnedRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn serve_connection(stream: TcpStream, api: &Api, stopping: &AtomicBool, max_body: usize) {
    let _ = stream.set_nodelay(true);
    // A client that stops reading its answer must not hold the thread forever.
    let _ = stream.set_write_timeout(Some(IDLE_TIMEOUT));
    if stream.set_read_timeout(Some(POLL_INTERVAL)).is_err() {
        return;
    }
    let (Ok(read_half), Ok(watch_half)) = (stream.try_clone(), stream.try_clone()) else {
        return;
    };
    let watch_half = Arc::new(watch_half);
    let mut watcher = Watcher::default();
    let mut writer = stream;
    let mut reader = BufReader::new(PatientReader {
        stream: read_half,
        stopping,
        waiting_since: Instant::now(),
    });
    loop {
        reader.get_mut().waiting_since = Instant::now();
        let request = match read_request(&mut reader, &mut writer, max_body) {
            Ok(request) => request,
            Err(ReadError::Closed | ReadError::Io) => return,
            Err(ReadError::Malformed(message)) => {
                let response = error_response(400, "bad_data", &message);
                let _ = write_response(&mut writer, response, false, false);
                return;
            }
            Err(ReadError::TooLarge(limit)) => {
                let response = error_response(
                    413,
                    "bad_data",
                    &format!("request body larger than {limit} bytes"),
                );
                let _ = write_response(&mut writer, response, false, false);
                // Read (and drop) what the client is still sending, for a bounded time and
                // amount, before closing: closing a socket with unread input sends a reset,
                // and the client would see "connection reset" instead of the 413.
                let deadline = Instant::now() + Duration::from_secs(5);
                let mut budget = limit.saturating_mul(4);
                let mut scratch = [0u8; 64 * 1024];
                while budget > 0 && Instant::now() < deadline {
                    match std::io::Read::read(reader.get_mut(), &mut scratch) {
                        Ok(0) => break,
                        Ok(n) => budget = budget.saturating_sub(n),
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) =>
                        {
                            continue
                        }
                        Err(_) => break,
                    }
                }
                return;
            }
        };
        let received = Instant::now();
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((request.target.as_str(), ""));
        let cancel = CancelToken::new();
        // Watch for a hang-up only while a query runs, and only when no pipelined bytes are
        // already buffered (those would make every peek return data).
        let watched = is_query_path(path)
            && reader.buffer().is_empty()
            && watcher.start(&watch_half, &cancel);
        let response = api.handle_cancellable(
            &Request {
                method: &request.method,
                path,
                query,
                content_type: request.header("Content-Type"),
                body: &request.body,
                received,
                headers: &request.headers,
            },
            &cancel,
        );
        if watched {
            watcher.finish();
        }
        if cancel.is_cancelled() {
            // Nobody is listening; Prometheus writes nothing either.
            return;
        }
        let head_only = request.method == "HEAD";
        if write_response(&mut writer, response, request.keep_alive, head_only).is_err()
            || !request.keep_alive
        {
            return;
        }
    }
}

/// True for the endpoints whose work a hang-up should cancel.
fn is_query_path(path: &str) -> bool {
    matches!(path, "/api/v1/query" | "/api/v1/query_range")
}

/// A connection's hang-up watch: one thread, started at the connection's first query and
/// reused for the later ones (a thread started per query cost ~60 µs, most of a small query's
/// time over loopback). Dropping it (when the connection ends) lets the thread exit.
#[derive(Default)]
struct Watcher {
    shared: Option<Arc<WatchShared>>,
}

struct WatchShared {
    state: Mutex<WatchState>,
    wake: Condvar,
}

#[derive(Default)]
struct WatchState {
    /// The running query's token, while one runs.
    query: Option<CancelToken>,
    /// Counts the queries started, so that what a peek saw is applied to its own query only.
    generation: u64,
    /// The connection is finished: the thread exits.
    closed: bool,
}

impl WatchShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        // The state stays consistent whatever panicked while holding the lock (each field is
        // written whole).
        lock_unpoisoned(&self.state)
    }
}

impl Watcher {
    /// Watches `stream` for a hang-up while the query of `cancel` runs. False if no watcher
    /// thread could be started; the query then runs unwatched.
    fn start(&mut self, stream: &Arc<TcpStream>, cancel: &CancelToken) -> bool {
        if self.shared.is_none() {
            let shared = Arc::new(WatchShared {
                state: Mutex::new(WatchState::default()),
                wake: Condvar::new(),
            });
            let (thread_shared, stream) = (shared.clone(), stream.clone());
            let spawned = std::thread::Builder::new()
                .name("promlite-http-watch".to_string())
                .spawn(move || watch_for_hangups(&stream, &thread_shared));
            if spawned.is_err() {
                return false;
            }
            self.shared = Some(shared);
        }
        let Some(shared) = &self.shared else {
            return false;
        };
        let mut state = shared.lock();
        state.query = Some(cancel.clone());
        state.generation += 1;
        drop(state);
        shared.wake.notify_one();
        true
    }

    /// The query ended; the thread stops watching at its next wake-up (it is not waited for,
    /// so a fast query does not wait for it).
    fn finish(&self) {
        if let Some(shared) = &self.shared {
            shared.lock().query = None;
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            let mut state = shared.lock();
            state.query = None;
            state.closed = true;
            drop(state);
            shared.wake.notify_one();
        }
    }
}

/// The watcher thread: waits for a query, then, once it has run for [`WATCH_DELAY`], peeks the
/// connection until the query ends.
/// EOF or a connection error cancels the running query and ends the thread (the connection is
/// gone); incoming bytes (a pipelined request) end that query's watch. A peek returns at
/// least every [`POLL_INTERVAL`] (the socket's receive timeout).
fn watch_for_hangups(stream: &TcpStream, shared: &WatchShared) {
    let mut byte = [0u8; 1];
    // The last query whose watch ended, so that it is not watched again.
    let mut done_with = 0;
    loop {
        let (cancel, generation) = {
            let mut state = shared.lock();
            loop {
                if state.closed {
                    return;
                }
                match &state.query {
                    Some(cancel) if state.generation != done_with => {
                        break (cancel.clone(), state.generation);
                    }
                    _ => {
                        state = shared
                            .wake
                            .wait(state)
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                    }
                }
            }
        };
        // A query that ends within the delay is never peeked for: a peek still blocked when
        // the next request arrives would wake this thread on the request's bytes, a cost to
        // every small query, for a hang-up that could cancel nearly nothing.
        let picked_up = Instant::now();
        let mut state = shared.lock();
        while state.query.is_some() && state.generation == generation && !state.closed {
            let Some(left) = WATCH_DELAY.checked_sub(picked_up.elapsed()) else {
                break;
            };
            state = shared
                .wake
                .wait_timeout(state, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        let still_running = state.query.is_some() && state.generation == generation;
        drop(state);
        if !still_running {
            done_with = generation;
            continue;
        }
        loop {
            let peeked = stream.peek(&mut byte);
            let state = shared.lock();
            let current = state.query.is_some() && state.generation == generation;
            match peeked {
                Ok(0) => {
                    if current {
                        cancel.cancel();
                    }
                    return;
                }
                Ok(_) => break,
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    if !current {
                        break;
                    }
                }
                Err(_) => {
                    if current {
                        cancel.cancel();
                    }
                    return;
                }
            }
        }
        done_with = generation;
    }
}

/// Reads one line of the head (without its `\r\n`), counting it against `budget`.
fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> Result<String, ReadError> {
    let mut line = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX).saturating_add(1);
    let n = reader.by_ref().take(limit).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(ReadError::Closed);
    }
    if n > *budget {
        return Err(ReadError::Malformed(format!(
            "request head larger than {MAX_HEAD_BYTES} bytes"
        )));
    }
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(ReadError::Closed);
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| ReadError::Malformed("request head is not UTF-8".into()))
}

fn read_request(
    reader: &mut BufReader<PatientReader<'_>>,
    writer: &mut TcpStream,
    max_body: usize,
) -> Result<OwnedRequest, ReadError> {
    let mut budget = MAX_HEAD_BYTES;
    // Tolerate empty lines before a request line (RFC 9112 section 2.2).
    let mut line = read_line(reader, &mut budget)?;
    while line.is_empty() {
        line = read_line(reader, &mut budget)?;
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed(format!(
            "malformed request line {line:?}"
        )));
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => {
            return Err(ReadError::Malformed(format!(
                "unsupported version {version:?}"
            )))
        }
    };
    if method.is_empty() || !target.starts_with('/') {
        return Err(ReadError::Malformed(format!(
            "malformed request line {line:?}"
        )));
    }
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, &mut budget)?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Malformed(format!(
                "malformed header line {line:?}"
            )));
        };
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(ReadError::Malformed(format!(
                "malformed header name {name:?}"
            )));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut request = OwnedRequest {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body: Vec::new(),
        keep_alive: false,
    };
    let connection = request
        .header("Connection")
        .unwrap_or("")
        .to_ascii_lowercase();
    request.keep_alive = if http10 {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    let chunked = request
        .header("Transfer-Encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let length = match request.header("Content-Length") {
        Some(text) => Some(
            text.parse::<usize>()
                .map_err(|_| ReadError::Malformed(format!("invalid Content-Length {text:?}")))?,
        ),
        None => None,
    };
    let has_body = chunked || length.is_some_and(|n| n > 0);
    if has_body
        && request
            .header("Expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        if length.is_some_and(|n| n > max_body) {
            return Err(ReadError::TooLarge(max_body));
        }
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    if chunked {
        request.body = read_chunked(reader, max_body, &mut budget)?;
    } else if let Some(n) = length {
        if n > max_body {
            return Err(ReadError::TooLarge(max_body));
        }
        let mut body = vec![0u8; n];
        reader.read_exact(&mut body)?;
        request.body = body;
    }
    Ok(request)
}

fn read_chunked(
    reader: &mut impl BufRead,
    max_body: usize,
    budget: &mut usize,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader, budget)?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ReadError::Malformed(format!("invalid chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailer fields up to the empty line; ignored.
            while !read_line(reader, budget)?.is_empty() {}
            return Ok(body);
        }
        if body.len().saturating_add(size) > max_body {
            return Err(ReadError::TooLarge(max_body));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(body.get_mut(start..).unwrap_or_default())?;
        if !read_line(reader, budget)?.is_empty() {
            return Err(ReadError::Malformed("chunk not followed by CRLF".into()));
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        499 => "Client Closed Request",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_response(
    writer: &mut TcpStream,
    response: Response,
    keep_alive: bool,
    head_only: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    // A 204 has no body and no Content-Type (Go's net/http omits both).
    if response.status != 204 {
        head.push_str("Content-Type: ");
        head.push_str(response.content_type);
        head.push_str("\r\nContent-Length: ");
        head.push_str(&response.body.len().to_string());
        head.push_str("\r\n");
    }
    for (name, value) in &response.headers {
        // Header values come from our own code; a CR or LF would split the response.
        if value.contains(['\r', '\n']) {
            continue;
        }
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    if !head_only && response.status != 204 {
        writer.write_all(&response.body)?;
    }
    writer.flush()
}

fn error_response(status: u16, error_type: &'static str, message: &str) -> Response {
    Response::json(status, json::error(error_type, message))
}
