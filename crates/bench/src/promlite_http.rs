//! The `promlite-http` driver: runs `promlite serve --read-only` on loopback over the data
//! directory the in-process engine ingested, and times its HTTP API exactly as the other
//! servers are timed (the same client, form-encoded POSTs, the same JSON parsing and answer
//! comparison). The table then shows what the evaluator costs in process and what a dashboard
//! talking HTTP sees: JSON encoding, transfer and decoding of the body included.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::engine::{api_time, Engine, Timed};
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::process::ServerProcess;
use crate::promjson::parse_response;

/// The loopback ports this engine may listen on (the range assigned to the benchmark's own
/// server, away from Prometheus's and VictoriaMetrics' OS-chosen ports).
pub const PORTS: std::ops::Range<u16> = 18_600..18_700;

/// How `promlite serve` is started.
#[derive(Debug, Clone)]
pub struct PromliteHttpConfig {
    /// The `promlite` binary (the CLI passes its own executable).
    pub binary: Option<PathBuf>,
    /// `--query-timeout`, and the HTTP client's timeout (plus a margin).
    pub query_timeout: Duration,
    /// `--query-max-samples`, as high as Prometheus's in the harness.
    pub max_samples: u64,
    /// How long to wait for `/-/ready`.
    pub ready_timeout: Duration,
}

impl Default for PromliteHttpConfig {
    fn default() -> Self {
        Self {
            binary: None,
            query_timeout: Duration::from_secs(300),
            max_samples: 2_000_000_000,
            ready_timeout: Duration::from_secs(600),
        }
    }
}

impl PromliteHttpConfig {
    /// Why this engine cannot run here, if it cannot.
    pub fn missing(&self) -> Option<String> {
        match &self.binary {
            None => Some("no promlite binary given (run it through `promlite bench`)".into()),
            Some(path) if !path.is_file() => Some(format!("{} not found", path.display())),
            Some(_) => None,
        }
    }
}

/// The first port of [`PORTS`] that 127.0.0.1 can bind now.
pub fn free_port_in_range() -> Result<u16> {
    PORTS
        .clone()
        .find(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, *port)).is_ok())
        .ok_or_else(|| Error::Options(format!("no free port in {PORTS:?} on 127.0.0.1")))
}

/// The `promlite serve` command line over `data_dir` on `port`.
pub fn server_args(
    config: &PromliteHttpConfig,
    data_dir: &Path,
    port: u16,
    fast_path: bool,
) -> Vec<String> {
    let mut args = vec![
        "serve".to_string(),
        "--read-only".into(),
        format!("--data-dir={}", data_dir.display()),
        format!("--listen=127.0.0.1:{port}"),
        format!("--query-timeout={}s", config.query_timeout.as_secs().max(1)),
        format!("--query-max-samples={}", config.max_samples),
    ];
    if !fast_path {
        args.push("--no-fast-path".into());
    }
    args
}

/// A running `promlite serve`.
pub struct PromliteHttp {
    process: ServerProcess,
    client: HttpClient,
}

impl PromliteHttp {
    /// Starts the server over `data_dir` (already ingested) and waits until it is ready;
    /// `work_dir` receives its log. Returns the server and its start-up time.
    pub fn start(
        config: &PromliteHttpConfig,
        data_dir: &Path,
        work_dir: &Path,
        fast_path: bool,
    ) -> Result<(Self, Duration)> {
        let binary = config
            .binary
            .clone()
            .ok_or_else(|| Error::Options("no promlite binary given".into()))?;
        let port = free_port_in_range()?;
        let args = server_args(config, data_dir, port, fast_path);
        let mut process = ServerProcess::spawn(
            "promlite-http",
            &binary,
            &args,
            &work_dir.join("promlite-http.log"),
        )?;
        let client = HttpClient::new(
            format!("http://127.0.0.1:{port}"),
            config.query_timeout + Duration::from_secs(30),
        );
        let ready = process.wait_ready(&client, "/-/ready", config.ready_timeout)?;
        Ok((Self { process, client }, ready))
    }

    /// Stops the server (SIGTERM by PID, then SIGKILL).
    pub fn stop(self) -> Result<()> {
        self.process.stop()
    }

    fn query(&self, path: &str, form: &[(&str, &str)]) -> Result<Timed> {
        let started = Instant::now();
        let (_status, body) = self.client.post_form(path, form)?;
        let wall = started.elapsed();
        let response = parse_response("promlite-http", &body)?;
        Ok(Timed {
            result: response.result,
            wall,
            server: response.timings,
        })
    }
}

impl Engine for PromliteHttp {
    fn name(&self) -> &'static str {
        "promlite-http"
    }

    // No `stats=all`: a dashboard does not ask for it, and the figure is the plain request.
    fn instant_query(&mut self, query: &str, t_ms: i64) -> Result<Timed> {
        let time = api_time(t_ms);
        self.query("/api/v1/query", &[("query", query), ("time", &time)])
    }

    fn range_query(
        &mut self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Timed> {
        let (start, end, step) = (api_time(start_ms), api_time(end_ms), api_time(step_ms));
        self.query(
            "/api/v1/query_range",
            &[
                ("query", query),
                ("start", &start),
                ("end", &end),
                ("step", &step),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_stay_in_the_assigned_range() {
        let port = free_port_in_range().unwrap();
        assert!(PORTS.contains(&port), "{port}");
        let args = server_args(&PromliteHttpConfig::default(), Path::new("/d"), port, false);
        assert!(
            args.contains(&format!("--listen=127.0.0.1:{port}")),
            "{args:?}"
        );
        assert!(args.contains(&"--read-only".to_string()));
        assert!(args.contains(&"--no-fast-path".to_string()));
        assert!(
            !server_args(&PromliteHttpConfig::default(), Path::new("/d"), port, true)
                .contains(&"--no-fast-path".to_string())
        );
    }

    #[test]
    fn a_missing_binary_is_named() {
        assert!(PromliteHttpConfig::default().missing().is_some());
        let config = PromliteHttpConfig {
            binary: Some("/nonexistent/promlite".into()),
            ..PromliteHttpConfig::default()
        };
        assert!(config.missing().unwrap().contains("/nonexistent/promlite"));
    }
}
