//! Test support for promlite's integration tests.
//!
//! Tests that need an external oracle (Debian's `promtool`, `prometheus`, `victoria-metrics`,
//! `prometheus-node-exporter`, or Prometheus's own test files in `../shared`) ask for it here.
//! On a developer's machine without it the test prints a `SKIPPED:` line naming what is missing
//! and returns early; when the environment variable [`REQUIRE_ORACLES_VAR`] is set (CI's
//! `.ci/run` sets it) a missing oracle fails the test instead, so CI can never skip silently.
//!
//! ```
//! if let Some(promtool) = promlite_testkit::oracle_binary("promtool", "check rules differential") {
//!     // run it
//!     let _ = promtool;
//! }
//! ```

pub mod join_data;
pub mod workload_data;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// Set (to anything but `0` or empty) to make every missing oracle a test failure.
pub const REQUIRE_ORACLES_VAR: &str = "PROMLITE_REQUIRE_ORACLES";

/// True when missing oracles must fail tests (CI).
pub fn oracles_required() -> bool {
    std::env::var(REQUIRE_ORACLES_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Reports a missing oracle: panics when oracles are required, else prints a `SKIPPED:` line.
pub fn skip(test: &str, missing: &str) {
    if oracles_required() {
        panic!("{test}: {missing} is missing and {REQUIRE_ORACLES_VAR} is set");
    }
    // Written to the process's stderr itself, not through `eprintln!`: the test harness
    // captures the macro's output of a passing test, and a skip must be seen in
    // `cargo test`'s output.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test}: {missing} is missing (set {REQUIRE_ORACLES_VAR}=1 to require it)"
    );
}

/// Finds `name` on `PATH` (or in `/usr/bin` and `/usr/sbin`, where Debian puts its packages'
/// binaries, when `PATH` is unset). Only `PATH` is searched when it is set, so a run with a
/// `PATH` lacking an oracle skips it, as on a machine without it.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let dirs: Vec<PathBuf> = match std::env::var_os("PATH") {
        Some(path) => std::env::split_paths(&path).collect(),
        None => vec![PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")],
    };
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The path of oracle binary `name`, or `None` after [`skip`] says why `test` does not run.
pub fn oracle_binary(name: &str, test: &str) -> Option<PathBuf> {
    let found = find_binary(name);
    if found.is_none() {
        skip(test, &format!("`{name}` (not on PATH)"));
    }
    found
}

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // This crate lives at `<root>/crates/testkit`.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `../shared/<relative>` beside the workspace, or `None` after [`skip`] says why `test` does
/// not run.
pub fn shared_path(relative: &str, test: &str) -> Option<PathBuf> {
    let path = workspace_root().join("..").join("shared").join(relative);
    if path.exists() {
        Some(path)
    } else {
        skip(
            test,
            &format!("{} (../shared beside the checkout)", path.display()),
        );
        None
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; another process could take it, so bind
/// servers to port 0 where the server allows it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_or(0, |addr| addr.port())
}

/// A child process that is killed (by its PID) and reaped when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    /// Takes ownership of `child`.
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard { child }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child, e.g. to send it a signal or wait for it.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Prometheus server started by [`spawn_prometheus`] on a free loopback port; killed (by its
/// PID) when dropped.
#[derive(Debug)]
pub struct PrometheusServer {
    /// Where it listens.
    pub addr: SocketAddr,
    _child: ChildGuard,
}

impl PrometheusServer {
    /// Waits until `/-/ready` answers 200; false if `timeout` passes first.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        wait_http_ok(self.addr, "/-/ready", timeout)
    }
}

/// Starts the Prometheus binary `bin` with `config` and TSDB directory `storage`, listening on
/// a free loopback port, with `extra_args` (e.g. `--storage.tsdb.retention.time=100y`) after
/// the usual three. Its output is discarded. The server may not be ready yet when this
/// returns: call [`PrometheusServer::wait_ready`], after starting whatever else the test runs
/// beside it.
///
/// # Panics
/// If the process cannot be started (tests only).
pub fn spawn_prometheus(
    bin: &Path,
    config: &Path,
    storage: &Path,
    extra_args: &[&str],
) -> PrometheusServer {
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let child = std::process::Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", storage.display()))
        .arg(format!("--web.listen-address={addr}"))
        .args(extra_args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    PrometheusServer {
        addr,
        _child: ChildGuard::new(child),
    }
}

/// Polls `GET path` on `addr` until it answers 200 or `timeout` passes; true if it did.
pub fn wait_http_ok(addr: SocketAddr, path: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if http_get_status(addr, path) == Some(200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn http_get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn a_missing_binary_is_not_found() {
        assert!(find_binary("promlite-testkit-no-such-binary").is_none());
        assert!(find_binary("sh").is_some());
    }
}
