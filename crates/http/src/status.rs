//! The `/api/v1/status/*` endpoints, `/api/v1/format_query` and promlite's own `/metrics`, in
//! Prometheus 2.42's shapes.
//!
//! `status/tsdb` reports the head's cardinality as Prometheus's `Head.Stats` does (the head only,
//! top 10 of each list by count, descending): series per metric name, distinct values per label
//! name, bytes of the distinct values per label name, series per `name=value` pair.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use promlite_scrape::duration::format_duration;

use crate::api::{Api, ApiError};
use crate::json;
use crate::params::format_rfc3339;

/// How many entries each `status/tsdb` list keeps (Prometheus's default `limit`).
pub const TSDB_STATS_LIMIT: usize = 10;

/// The configuration Prometheus reports for a configuration file with no scrape jobs and its
/// default global section; promlite reads no configuration file, so these are its effective
/// settings (1m scrape and evaluation intervals, 10s scrape timeout, as Prometheus's defaults).
pub const DEFAULT_CONFIG_YAML: &str =
    "global:\n  scrape_interval: 1m\n  scrape_timeout: 10s\n  evaluation_interval: 1m\n";

/// `{"name":..,"value":..}` entries, largest first, ties by name, at most `limit`.
fn top(counts: BTreeMap<String, u64>, limit: usize) -> String {
    let mut entries: Vec<(String, u64)> = counts.into_iter().collect();
    entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    entries.truncate(limit);
    let mut out = String::from("[");
    for (i, (name, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json::write_string(&mut out, name);
        let _ = write!(out, ",\"value\":{value}}}");
    }
    out.push(']');
    out
}

impl Api {
    /// `status/config`: `{"yaml": ...}`.
    pub(crate) fn status_config(&self) -> String {
        let mut data = String::from("{\"yaml\":");
        json::write_string(&mut data, &self.options().config_yaml);
        data.push('}');
        json::success(&data, &[], &[])
    }

    /// `status/flags`: the server's flags as a string map: the query flags derived from the
    /// API's options under Prometheus's names and spellings, then the caller's
    /// [`ApiOptions::flags`](crate::ApiOptions::flags) (which win on a clash).
    pub(crate) fn status_flags(&self) -> String {
        let options = self.options();
        let derived = [
            ("query.timeout", format_duration(options.query_timeout)),
            ("query.max-samples", options.max_samples.to_string()),
            ("query.max-concurrency", options.max_concurrency.to_string()),
            (
                "query.lookback-delta",
                format_duration(std::time::Duration::from_millis(
                    u64::try_from(self.db().engine_options().lookback_delta_ms).unwrap_or(0),
                )),
            ),
            ("web.cors.origin", options.cors_origin.clone()),
        ];
        let mut flags: BTreeMap<&str, String> = derived.into_iter().collect();
        for (name, value) in &options.flags {
            flags.insert(name.as_str(), value.clone());
        }
        let mut data = String::from("{");
        for (i, (name, value)) in flags.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            json::write_string(&mut data, name);
            data.push(':');
            json::write_string(&mut data, value);
        }
        data.push('}');
        json::success(&data, &[], &[])
    }

    fn flag(&self, name: &str) -> Option<&str> {
        self.options()
            .flags
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `status/runtimeinfo`. Go-specific fields get their nearest meaning: `goroutineCount` is
    /// the process's thread count, `GOMAXPROCS` the available parallelism.
    pub(crate) fn status_runtimeinfo(&self) -> String {
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let threads = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Threads:"))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let started = self.started_ms();
        let retention = self
            .flag("storage.tsdb.retention.time")
            .unwrap_or("0s")
            .to_string();
        let mut data = String::from("{\"startTime\":");
        json::write_string(&mut data, &format_rfc3339(started));
        data.push_str(",\"CWD\":");
        json::write_string(&mut data, &cwd);
        data.push_str(",\"reloadConfigSuccess\":true,\"lastConfigTime\":");
        json::write_string(
            &mut data,
            &format_rfc3339(started - started.rem_euclid(1000)),
        );
        let _ = write!(
            data,
            ",\"corruptionCount\":0,\"goroutineCount\":{threads},\"GOMAXPROCS\":{cpus},\"GOGC\":\"\",\"GODEBUG\":\"\",\"storageRetention\":"
        );
        json::write_string(&mut data, &retention);
        data.push('}');
        json::success(&data, &[], &[])
    }

    /// `status/tsdb`: head statistics and cardinality.
    pub(crate) fn status_tsdb(&self) -> String {
        let storage = self.db().storage();
        let stats = storage.head_stats();
        let series = storage.head().read().all_series();
        let mut by_metric: BTreeMap<String, u64> = BTreeMap::new();
        // name -> value -> series count
        let mut pairs: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
        for (_, labels) in &series {
            if let Some(name) = labels.metric_name() {
                *by_metric.entry(name.to_string()).or_default() += 1;
            }
        }
        for (_, labels) in &series {
            for label in labels.iter() {
                *pairs
                    .entry(label.name)
                    .or_default()
                    .entry(label.value)
                    .or_default() += 1;
            }
        }
        let mut value_counts = BTreeMap::new();
        let mut memory = BTreeMap::new();
        let mut pair_counts = BTreeMap::new();
        let mut n_label_pairs = 0usize;
        for (name, values) in &pairs {
            value_counts.insert((*name).to_string(), values.len() as u64);
            n_label_pairs += values.len();
            let mut bytes = 0u64;
            // Prometheus's MemPostings.Stats: the bytes of each distinct value, once.
            for (value, n) in values {
                bytes += value.len() as u64;
                pair_counts.insert(format!("{name}={value}"), *n);
            }
            memory.insert((*name).to_string(), bytes);
        }
        let mut data = String::new();
        let _ = write!(
            data,
            "{{\"headStats\":{{\"numSeries\":{},\"numLabelPairs\":{},\"chunkCount\":{},\"minTime\":{},\"maxTime\":{}}}",
            stats.n_series, n_label_pairs, stats.n_chunks, stats.min_t, stats.max_t
        );
        let _ = write!(
            data,
            ",\"seriesCountByMetricName\":{},\"labelValueCountByLabelName\":{},\"memoryInBytesByLabelName\":{},\"seriesCountByLabelValuePair\":{}}}",
            top(by_metric, TSDB_STATS_LIMIT),
            top(value_counts, TSDB_STATS_LIMIT),
            top(memory, TSDB_STATS_LIMIT),
            top(pair_counts, TSDB_STATS_LIMIT),
        );
        json::success(&data, &[], &[])
    }

    /// `status/walreplay`: the WAL segments replayed at open (done by the time we serve).
    pub(crate) fn status_walreplay(&self) -> String {
        let segments = self.db().storage().replay_report().segments;
        let last = segments.saturating_sub(1);
        json::success(
            &format!("{{\"min\":0,\"max\":{last},\"current\":{last}}}"),
            &[],
            &[],
        )
    }

    /// `format_query`: the query printed back in canonical form.
    pub(crate) fn format_query(&self, query: &str) -> Result<String, ApiError> {
        let text = promlite::format_query(query).map_err(|e| crate::api::api_error(&e, "query"))?;
        let mut data = String::new();
        json::write_string(&mut data, &text);
        Ok(json::success(&data, &[], &[]))
    }

    /// promlite's own metrics in the Prometheus text format 0.0.4.
    pub(crate) fn metrics_text(&self) -> String {
        let counters = self.counters();
        let gate = self.gate_counts();
        let head = self.db().storage().head_stats();
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        metric(
            "prometheus_engine_queries",
            "gauge",
            "The current number of queries being executed or waiting.",
            (gate.running + gate.waiting).to_string(),
        );
        metric(
            "prometheus_engine_queries_concurrent_max",
            "gauge",
            "The max number of concurrent queries.",
            self.gate_max().to_string(),
        );
        metric(
            "promlite_queries_total",
            "counter",
            "Queries started (instant and range).",
            counters.started.to_string(),
        );
        metric(
            "promlite_queries_timed_out_total",
            "counter",
            "Queries that ended with a timeout.",
            counters.timed_out.to_string(),
        );
        metric(
            "promlite_queries_canceled_total",
            "counter",
            "Queries cancelled because their client went away.",
            counters.cancelled.to_string(),
        );
        metric(
            "prometheus_tsdb_head_series",
            "gauge",
            "Total number of series in the head block.",
            head.n_series.to_string(),
        );
        metric(
            "prometheus_tsdb_head_chunks",
            "gauge",
            "Total number of chunks in the head block.",
            head.n_chunks.to_string(),
        );
        metric(
            "prometheus_tsdb_blocks_loaded",
            "gauge",
            "Number of currently loaded data blocks.",
            self.db().storage().blocks().len().to_string(),
        );
        metric(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            json::format_float(self.started_ms() as f64 / 1000.0),
        );
        let _ = writeln!(
            out,
            "# HELP prometheus_http_requests_total Counter of HTTP requests.\n# TYPE prometheus_http_requests_total counter"
        );
        for ((handler, code), n) in self.request_counts() {
            out.push_str("prometheus_http_requests_total{code=\"");
            let _ = write!(out, "{code}\",handler=\"");
            out.push_str(&handler);
            let _ = writeln!(out, "\"}} {n}");
        }
        out
    }
}
