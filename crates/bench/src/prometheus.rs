//! The Prometheus driver: backfills TSDB blocks with `promtool`, runs `prometheus` on loopback
//! with no scrape jobs, and queries its HTTP API with `stats=all`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::engine::{api_time, Engine, Timed};
use crate::error::{io_err, Error, Result};
use crate::http::{free_port, HttpClient};
use crate::process::ServerProcess;
use crate::promjson::parse_response;

/// Marker written into a block directory once `promtool` has finished, so an interrupted backfill
/// is redone rather than reused.
const BLOCKS_DONE: &str = "promlite-bench-blocks.done";

/// Where the Prometheus binaries are and how the server is limited.
#[derive(Debug, Clone)]
pub struct PrometheusConfig {
    /// The `prometheus` binary.
    pub prometheus: PathBuf,
    /// The `promtool` binary.
    pub promtool: PathBuf,
    /// `--query.timeout`, and the HTTP client's timeout (plus a margin).
    pub query_timeout: Duration,
    /// `--query.max-samples`: the default 50M is too low for whole-range queries at scale.
    pub max_samples: u64,
    /// How long to wait for `/-/ready`.
    pub ready_timeout: Duration,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            prometheus: "/usr/bin/prometheus".into(),
            promtool: "/usr/bin/promtool".into(),
            query_timeout: Duration::from_secs(300),
            max_samples: 2_000_000_000,
            ready_timeout: Duration::from_secs(600),
        }
    }
}

impl PrometheusConfig {
    /// Why this engine cannot run here, if it cannot (a binary is missing).
    pub fn missing(&self) -> Option<String> {
        [&self.prometheus, &self.promtool]
            .into_iter()
            .find(|p| !p.is_file())
            .map(|p| format!("{} not found", p.display()))
    }
}

/// Builds TSDB blocks from `openmetrics` into `blocks_dir` with `promtool tsdb
/// create-blocks-from openmetrics`, unless a finished backfill is already there. Returns the time
/// taken (zero when reused).
pub fn build_blocks(
    config: &PrometheusConfig,
    openmetrics: &Path,
    blocks_dir: &Path,
) -> Result<Duration> {
    let marker = blocks_dir.join(BLOCKS_DONE);
    if marker.is_file() {
        return Ok(Duration::ZERO);
    }
    if blocks_dir.exists() {
        std::fs::remove_dir_all(blocks_dir).map_err(io_err(blocks_dir))?;
    }
    std::fs::create_dir_all(blocks_dir).map_err(io_err(blocks_dir))?;
    let started = Instant::now();
    let output = Command::new(&config.promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(openmetrics)
        .arg(blocks_dir)
        .output()
        .map_err(|e| Error::Program {
            program: config.promtool.clone(),
            message: format!("cannot start: {e}"),
        })?;
    if !output.status.success() {
        return Err(Error::Program {
            program: config.promtool.clone(),
            message: format!(
                "create-blocks-from failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    let elapsed = started.elapsed();
    std::fs::write(&marker, format!("{}\n", elapsed.as_secs_f64())).map_err(io_err(&marker))?;
    Ok(elapsed)
}

/// The `prometheus` command line for a server over `data_dir` listening on `port`.
pub fn server_args(
    config: &PrometheusConfig,
    data_dir: &Path,
    config_file: &Path,
    port: u16,
) -> Vec<String> {
    vec![
        format!("--config.file={}", config_file.display()),
        format!("--storage.tsdb.path={}", data_dir.display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--storage.tsdb.retention.time=100y".into(),
        // The backfilled 2 h blocks stay as they are: no background compaction while measuring.
        "--storage.tsdb.min-block-duration=2h".into(),
        "--storage.tsdb.max-block-duration=2h".into(),
        format!("--query.max-samples={}", config.max_samples),
        format!("--query.timeout={}s", config.query_timeout.as_secs().max(1)),
        "--log.level=warn".into(),
    ]
}

/// A running Prometheus server.
pub struct Prometheus {
    process: ServerProcess,
    client: HttpClient,
}

impl Prometheus {
    /// Starts Prometheus over the blocks in `data_dir` and waits until it is ready. `work_dir`
    /// receives the config file and the log. Returns the server and its start-up time.
    pub fn start(
        config: &PrometheusConfig,
        data_dir: &Path,
        work_dir: &Path,
    ) -> Result<(Self, Duration)> {
        let config_file = work_dir.join("prometheus.yml");
        // No scrape jobs: the server only serves the backfilled blocks.
        std::fs::write(
            &config_file,
            "global:\n  evaluation_interval: 1h\nscrape_configs: []\n",
        )
        .map_err(io_err(&config_file))?;
        let port = free_port()?;
        let args = server_args(config, data_dir, &config_file, port);
        let mut process = ServerProcess::spawn(
            "prometheus",
            &config.prometheus,
            &args,
            &work_dir.join("prometheus.log"),
        )?;
        let client = HttpClient::new(
            format!("http://127.0.0.1:{port}"),
            config.query_timeout + Duration::from_secs(30),
        );
        let ready = process.wait_ready(&client, "/-/ready", config.ready_timeout)?;
        Ok((Self { process, client }, ready))
    }

    /// Stops the server (SIGTERM, then SIGKILL).
    pub fn stop(self) -> Result<()> {
        self.process.stop()
    }

    fn query(&self, path: &str, form: &[(&str, &str)]) -> Result<Timed> {
        let started = Instant::now();
        let (_status, body) = self.client.post_form(path, form)?;
        let wall = started.elapsed();
        let response = parse_response("prometheus", &body)?;
        Ok(Timed {
            result: response.result,
            wall,
            server: response.timings,
        })
    }
}

impl Engine for Prometheus {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    fn instant_query(&mut self, query: &str, t_ms: i64) -> Result<Timed> {
        let time = api_time(t_ms);
        self.query(
            "/api/v1/query",
            &[("query", query), ("time", &time), ("stats", "all")],
        )
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
                ("stats", "all"),
            ],
        )
    }
}
