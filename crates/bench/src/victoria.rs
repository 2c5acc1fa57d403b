//! The VictoriaMetrics (single-node) driver: runs `victoria-metrics` on loopback, imports the
//! OpenMetrics data through `/api/v1/import/prometheus` (streamed, millisecond timestamps),
//! forces a flush, and queries its Prometheus-compatible API.
//!
//! Its response cache is disabled (`-search.disableCache`, plus `nocache=1` per request) so
//! repeated runs measure real work rather than cache hits.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::convert::ConvertReader;
use crate::engine::{api_time, Engine, Timed};
use crate::error::{io_err, Error, Result};
use crate::http::{free_port, HttpClient};
use crate::process::ServerProcess;
use crate::promjson::parse_response;

/// Upper bound for streaming the whole data set into the server.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Marker written into the data directory after a complete import and flush.
const IMPORT_DONE: &str = "promlite-bench-import.done";

/// Where the binary is and how long to wait.
#[derive(Debug, Clone)]
pub struct VictoriaConfig {
    /// The `victoria-metrics` binary.
    pub binary: PathBuf,
    /// `-search.maxQueryDuration` and the HTTP client's timeout (plus a margin).
    pub query_timeout: Duration,
    /// How long to wait for `/health`.
    pub ready_timeout: Duration,
}

impl Default for VictoriaConfig {
    fn default() -> Self {
        Self {
            binary: "/usr/bin/victoria-metrics".into(),
            query_timeout: Duration::from_secs(300),
            ready_timeout: Duration::from_secs(300),
        }
    }
}

impl VictoriaConfig {
    /// Why this engine cannot run here, if it cannot (the binary is missing).
    pub fn missing(&self) -> Option<String> {
        (!self.binary.is_file()).then(|| format!("{} not found", self.binary.display()))
    }
}

/// The `victoria-metrics` command line for a server over `data_dir` listening on `port`.
pub fn server_args(config: &VictoriaConfig, data_dir: &Path, port: u16) -> Vec<String> {
    vec![
        format!("-storageDataPath={}", data_dir.display()),
        format!("-httpListenAddr=127.0.0.1:{port}"),
        "-retentionPeriod=100y".into(),
        // Measure evaluation, not the rollup result cache.
        "-search.disableCache".into(),
        // The data is historical; nothing is "too recent" to show.
        "-search.latencyOffset=0s".into(),
        format!(
            "-search.maxQueryDuration={}s",
            config.query_timeout.as_secs().max(1)
        ),
        // Whole-cluster queries touch every series; the defaults are sized for dashboards.
        "-search.maxUniqueTimeseries=10000000".into(),
        "-search.maxSamplesPerQuery=10000000000".into(),
        "-search.maxPointsPerTimeseries=1000000".into(),
        "-loggerLevel=WARN".into(),
    ]
}

/// A running VictoriaMetrics server.
pub struct Victoria {
    process: ServerProcess,
    client: HttpClient,
    data_dir: PathBuf,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportStats {
    /// Samples sent (0 when an earlier import was reused).
    pub samples: u64,
    /// Time for sending, flushing and the wait for the data to become searchable.
    pub elapsed: Duration,
}

impl Victoria {
    /// Starts VictoriaMetrics over `data_dir` (created if missing, emptied if it holds an
    /// unfinished import), logging into `work_dir`, and waits for `/health`. Returns the server and its start-up time.
    pub fn start(
        config: &VictoriaConfig,
        data_dir: &Path,
        work_dir: &Path,
    ) -> Result<(Self, Duration)> {
        // A data directory without the marker holds a partial import; importing again on top
        // would store samples twice, so start from scratch.
        if data_dir.exists() && !data_dir.join(IMPORT_DONE).is_file() {
            std::fs::remove_dir_all(data_dir).map_err(io_err(data_dir))?;
        }
        std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let port = free_port()?;
        let args = server_args(config, data_dir, port);
        let mut process = ServerProcess::spawn(
            "victoria-metrics",
            &config.binary,
            &args,
            &work_dir.join("victoria-metrics.log"),
        )?;
        let client = HttpClient::new(
            format!("http://127.0.0.1:{port}"),
            config.query_timeout + Duration::from_secs(30),
        );
        let ready = process.wait_ready(&client, "/health", config.ready_timeout)?;
        Ok((
            Self {
                process,
                client,
                data_dir: data_dir.to_path_buf(),
            },
            ready,
        ))
    }

    /// True if the data directory already holds a complete import.
    pub fn has_import(&self) -> bool {
        self.data_dir.join(IMPORT_DONE).is_file()
    }

    /// Streams `openmetrics` into the server, converted to Prometheus text with millisecond
    /// timestamps, then forces a flush so everything is searchable. Skipped when a complete
    /// import is already in the data directory.
    pub fn import(&self, openmetrics: &Path) -> Result<ImportStats> {
        if self.has_import() {
            return Ok(ImportStats {
                samples: 0,
                elapsed: Duration::ZERO,
            });
        }
        let started = Instant::now();
        let file = File::open(openmetrics).map_err(io_err(openmetrics))?;
        let mut reader = ConvertReader::new(BufReader::with_capacity(1 << 20, file), openmetrics);
        // The import streams gigabytes at the acceptance size: no query timeout applies to it.
        let import_client = HttpClient::new(self.client.base(), IMPORT_TIMEOUT);
        let sent = import_client.post_stream("/api/v1/import/prometheus", &mut reader);
        if let Some(conversion_error) = reader.take_error() {
            return Err(conversion_error);
        }
        let (status, body) = sent?;
        if !(200..300).contains(&status) {
            return Err(Error::Response {
                engine: "victoria-metrics".into(),
                offset: 0,
                message: format!("import answered {status}: {body}"),
            });
        }
        self.force_flush()?;
        let elapsed = started.elapsed();
        let marker = self.data_dir.join(IMPORT_DONE);
        std::fs::write(&marker, format!("{} samples\n", reader.samples()))
            .map_err(io_err(&marker))?;
        Ok(ImportStats {
            samples: reader.samples(),
            elapsed,
        })
    }

    /// Makes recently imported samples searchable (`/internal/force_flush`).
    pub fn force_flush(&self) -> Result<()> {
        let (status, body) = self.client.get("/internal/force_flush")?;
        if !(200..300).contains(&status) {
            return Err(Error::Response {
                engine: "victoria-metrics".into(),
                offset: 0,
                message: format!("force_flush answered {status}: {body}"),
            });
        }
        Ok(())
    }

    /// Stops the server (SIGTERM, then SIGKILL).
    pub fn stop(self) -> Result<()> {
        self.process.stop()
    }

    fn query(&self, path: &str, form: &[(&str, &str)]) -> Result<Timed> {
        let started = Instant::now();
        let (_status, body) = self.client.post_form(path, form)?;
        let wall = started.elapsed();
        let response = parse_response("victoria-metrics", &body)?;
        Ok(Timed {
            result: response.result,
            wall,
            server: response.timings,
        })
    }
}

impl Engine for Victoria {
    fn name(&self) -> &'static str {
        "victoria-metrics"
    }

    fn instant_query(&mut self, query: &str, t_ms: i64) -> Result<Timed> {
        let time = api_time(t_ms);
        self.query(
            "/api/v1/query",
            &[("query", query), ("time", &time), ("nocache", "1")],
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
                ("nocache", "1"),
            ],
        )
    }
}
