//! The scrape configuration: the subset of Prometheus's configuration file that promlite
//! scrapes by (`global` and `scrape_configs` with static targets), parsed from YAML with
//! unknown keys rejected and every error positioned (`file:line:column: message`).
//!
//! Defaults and checks are Prometheus 2.42's (`config/config.go`): global `scrape_interval`
//! 1m and `scrape_timeout` 10s (or the interval if shorter); a job inherits both; a job's
//! timeout may not exceed its interval; `metrics_path` `/metrics`; `scheme` `http` (the only
//! one supported); `honor_timestamps` true; `honor_labels` false; job names unique.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::relabel::{is_valid_label_name, RelabelConfig};

/// A whole configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `global` section with defaults filled in.
    pub global: GlobalConfig,
    /// One entry per job.
    pub scrape_configs: Vec<ScrapeConfig>,
}

/// The `global` section.
#[derive(Debug, Clone)]
pub struct GlobalConfig {
    /// Default interval between scrapes.
    pub scrape_interval: Duration,
    /// Default scrape timeout.
    pub scrape_timeout: Duration,
    /// Rule evaluation interval (kept so the configuration reads back as written; promlite's
    /// rules take their interval from the rule file's groups).
    pub evaluation_interval: Duration,
    /// Labels of this scraper (they seed the scrape offsets, as in Prometheus; promlite does
    /// not attach them to stored samples, as Prometheus does not either).
    pub external_labels: BTreeMap<String, String>,
}

/// One `scrape_configs` entry (a job).
#[derive(Debug, Clone)]
pub struct ScrapeConfig {
    /// The job name, the default `job` label.
    pub job_name: String,
    /// Interval between scrapes.
    pub scrape_interval: Duration,
    /// Time a scrape may take.
    pub scrape_timeout: Duration,
    /// The HTTP path of the metrics.
    pub metrics_path: String,
    /// Query parameters of the scrape URL.
    pub params: BTreeMap<String, Vec<String>>,
    /// Always `http`.
    pub scheme: String,
    /// Scraped labels win over target labels.
    pub honor_labels: bool,
    /// Keep the timestamps a target exposes.
    pub honor_timestamps: bool,
    /// Static target groups.
    pub static_configs: Vec<StaticConfig>,
    /// Relabelling of the target label sets.
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabelling of every scraped sample.
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// More samples than this (after metric relabelling) fail the scrape; 0 = no limit.
    pub sample_limit: u64,
    /// More labels than this on one sample (after metric relabelling) fail the scrape; 0 = no
    /// limit.
    pub label_limit: u64,
    /// Follow HTTP redirects (default true, as Prometheus).
    pub follow_redirects: bool,
}

/// One static target group.
#[derive(Debug, Clone, Default)]
pub struct StaticConfig {
    /// `host:port` addresses.
    pub targets: Vec<String>,
    /// Labels of every target of the group.
    pub labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: Option<RawGlobal>,
    #[serde(default)]
    scrape_configs: Option<Vec<RawScrapeConfig>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    #[serde(default)]
    scrape_interval: Option<ConfigDuration>,
    #[serde(default)]
    scrape_timeout: Option<ConfigDuration>,
    #[serde(default)]
    evaluation_interval: Option<ConfigDuration>,
    #[serde(default)]
    external_labels: Option<BTreeMap<LabelName, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScrapeConfig {
    job_name: String,
    #[serde(default)]
    scrape_interval: Option<ConfigDuration>,
    #[serde(default)]
    scrape_timeout: Option<ConfigDuration>,
    #[serde(default)]
    metrics_path: Option<String>,
    #[serde(default)]
    params: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    scheme: Option<Scheme>,
    #[serde(default)]
    honor_labels: Option<bool>,
    #[serde(default)]
    honor_timestamps: Option<bool>,
    #[serde(default)]
    static_configs: Option<Vec<RawStaticConfig>>,
    #[serde(default)]
    relabel_configs: Option<Vec<RelabelConfig>>,
    #[serde(default)]
    metric_relabel_configs: Option<Vec<RelabelConfig>>,
    #[serde(default)]
    sample_limit: Option<u64>,
    #[serde(default)]
    label_limit: Option<u64>,
    #[serde(default)]
    follow_redirects: Option<bool>,
    /// Accepted so that Prometheus's own rendering reads back; promlite's scraper speaks
    /// HTTP/1.1 whatever it says.
    #[serde(default)]
    #[allow(dead_code, reason = "accepted and ignored: the scraper has no HTTP/2")]
    enable_http2: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaticConfig {
    #[serde(default)]
    targets: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<BTreeMap<LabelName, String>>,
}

/// A duration value, checked where it is written (so its error carries the position).
struct ConfigDuration(Duration);

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(ConfigDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// A label name, checked where it is written.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct LabelName(String);

impl<'de> Deserialize<'de> for LabelName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        if is_valid_label_name(&name) {
            Ok(LabelName(name))
        } else {
            Err(serde::de::Error::custom(format!(
                "{name:?} is not a valid label name"
            )))
        }
    }
}

/// The scheme; only `http` is supported.
struct Scheme;

impl<'de> Deserialize<'de> for Scheme {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let scheme = String::deserialize(deserializer)?;
        match scheme.as_str() {
            "http" => Ok(Scheme),
            "https" => Err(serde::de::Error::custom(
                "scheme \"https\" is not supported (promlite scrapes over plain http)",
            )),
            other => Err(serde::de::Error::custom(format!(
                "unsupported scheme {other:?} (only \"http\")"
            ))),
        }
    }
}

/// Line and column (1-based) of the `job_name:` key naming `job`, or (0, 0).
fn job_position(text: &str, job: &str) -> (usize, usize) {
    for (idx, line) in text.lines().enumerate() {
        if let Some(col) = line.find("job_name:") {
            let value = line
                .get(col + "job_name:".len()..)
                .unwrap_or_default()
                .trim();
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            if value == job {
                return (idx + 1, col + 1);
            }
        }
    }
    (0, 0)
}

const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(60);

impl Config {
    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse_named(&text, path)
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> Result<Config> {
        Config::parse_named(text, Path::new("<config>"))
    }

    fn parse_named(text: &str, path: &Path) -> Result<Config> {
        let config_err = |line: usize, column: usize, message: String| Error::Config {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig {
                global: None,
                scrape_configs: None,
            }
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| {
                let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                // The library appends " at line L column C"; the position is in the prefix.
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m)
                    .to_string();
                config_err(line, column, message)
            })?
        };
        let global = raw.global.unwrap_or(RawGlobal {
            scrape_interval: None,
            scrape_timeout: None,
            evaluation_interval: None,
            external_labels: None,
        });
        let interval = global
            .scrape_interval
            .map_or(DEFAULT_SCRAPE_INTERVAL, |d| d.0);
        if interval.is_zero() {
            return Err(config_err(
                0,
                0,
                "global scrape interval must be positive".into(),
            ));
        }
        let timeout = match global.scrape_timeout {
            Some(d) => d.0,
            None => DEFAULT_SCRAPE_TIMEOUT.min(interval),
        };
        if timeout > interval {
            return Err(config_err(
                0,
                0,
                "global scrape timeout greater than scrape interval".into(),
            ));
        }
        let global = GlobalConfig {
            scrape_interval: interval,
            scrape_timeout: timeout,
            evaluation_interval: global
                .evaluation_interval
                .map_or(DEFAULT_EVALUATION_INTERVAL, |d| d.0),
            external_labels: global
                .external_labels
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.0, v))
                .collect(),
        };
        let mut scrape_configs: Vec<ScrapeConfig> = Vec::new();
        for raw in raw.scrape_configs.unwrap_or_default() {
            let job = raw.job_name.clone();
            // Whole-job checks have no YAML node of their own: point at the job's name.
            let (line, column) = job_position(text, &job);
            let config_err =
                |_: usize, _: usize, message: String| config_err(line, column, message);
            if job.is_empty() {
                return Err(config_err(0, 0, "job_name is empty".into()));
            }
            if scrape_configs.iter().any(|c| c.job_name == job) {
                return Err(config_err(
                    0,
                    0,
                    format!("found multiple scrape configs with job name {job:?}"),
                ));
            }
            let scrape_interval = raw.scrape_interval.map_or(global.scrape_interval, |d| d.0);
            if scrape_interval.is_zero() {
                return Err(config_err(
                    0,
                    0,
                    format!("scrape interval of job {job:?} must be positive"),
                ));
            }
            let scrape_timeout = match raw.scrape_timeout {
                Some(d) => d.0,
                None => global.scrape_timeout.min(scrape_interval),
            };
            if scrape_timeout > scrape_interval {
                return Err(config_err(
                    0,
                    0,
                    format!(
                        "scrape timeout greater than scrape interval for scrape config with job name {job:?}"
                    ),
                ));
            }
            let metrics_path = raw.metrics_path.unwrap_or_else(|| "/metrics".into());
            if !metrics_path.starts_with('/') {
                return Err(config_err(
                    0,
                    0,
                    format!("metrics_path {metrics_path:?} of job {job:?} must start with '/'"),
                ));
            }
            scrape_configs.push(ScrapeConfig {
                job_name: job,
                scrape_interval,
                scrape_timeout,
                metrics_path,
                params: raw.params.unwrap_or_default(),
                scheme: raw.scheme.map_or("http", |Scheme| "http").into(),
                honor_labels: raw.honor_labels.unwrap_or(false),
                honor_timestamps: raw.honor_timestamps.unwrap_or(true),
                static_configs: raw
                    .static_configs
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| StaticConfig {
                        targets: s.targets.unwrap_or_default(),
                        labels: s
                            .labels
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k.0, v))
                            .collect(),
                    })
                    .collect(),
                relabel_configs: raw.relabel_configs.unwrap_or_default(),
                metric_relabel_configs: raw.metric_relabel_configs.unwrap_or_default(),
                sample_limit: raw.sample_limit.unwrap_or(0),
                label_limit: raw.label_limit.unwrap_or(0),
                follow_redirects: raw.follow_redirects.unwrap_or(true),
            });
        }
        Ok(Config {
            global,
            scrape_configs,
        })
    }
}
