//! Scrape targets from static configs, as Prometheus 2.42's `scrape/target.go` makes them:
//! the discovered label set (`__address__`, the group's labels, `job`, `__scheme__`,
//! `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__`, `__param_<name>`), target
//! relabelling, the default `:80` port, `instance` defaulting to the address, `__meta_*`
//! labels removed, the scrape URL, and the target's scrape offset within its interval.
//!
//! The offset follows Prometheus's formula exactly: `fnv64a(format("%016d", labels_hash) +
//! url) ^ seed`, modulo the interval in nanoseconds, where `labels_hash` is Prometheus's
//! `labels.Hash()` (xxhash64 of `name 0xff value 0xff ...` over the full label set, internal
//! labels included) and the seed is `fnv64a(hostname + external_labels)`. A target scrapes
//! at that offset past every multiple of its interval since the Unix epoch, so scrape times
//! are stable across restarts and spread across the interval.

use std::collections::BTreeMap;
use std::hash::Hasher as _;
use std::time::Duration;

use promlite_model::Labels;

use crate::config::{Config, ScrapeConfig};
use crate::duration::{format_duration, parse_duration};
use crate::relabel::{self, LabelMap};

/// `__address__`.
pub const ADDRESS_LABEL: &str = "__address__";
/// `__scheme__`.
pub const SCHEME_LABEL: &str = "__scheme__";
/// `__metrics_path__`.
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
/// `__scrape_interval__`.
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
/// `__scrape_timeout__`.
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
/// Prefix of URL parameter labels.
pub const PARAM_LABEL_PREFIX: &str = "__param_";
/// Prefix of service-discovery labels, removed after relabelling.
pub const META_LABEL_PREFIX: &str = "__meta_";
/// Prefix of internal labels, never stored.
pub const RESERVED_LABEL_PREFIX: &str = "__";

/// One target to scrape.
#[derive(Debug, Clone)]
pub struct Target {
    /// The job (scrape pool) it belongs to.
    pub job: String,
    /// The label set before relabelling.
    pub discovered_labels: Labels,
    /// The label set after relabelling, internal `__` labels included.
    pub all_labels: Labels,
    /// The labels attached to its samples (no `__` labels).
    pub labels: Labels,
    /// The scrape URL.
    pub url: String,
    /// Interval between scrapes (from `__scrape_interval__`).
    pub interval: Duration,
    /// Scrape timeout (from `__scrape_timeout__`).
    pub timeout: Duration,
}

/// A target that relabelling dropped (`/api/v1/targets` lists it as dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedTarget {
    /// The job.
    pub job: String,
    /// Its label set before relabelling.
    pub discovered_labels: Labels,
}

/// The targets of a configuration.
#[derive(Debug, Clone, Default)]
pub struct TargetSet {
    /// Targets to scrape, in configuration order, duplicates (same labels and URL) removed.
    pub active: Vec<Target>,
    /// Targets relabelling dropped.
    pub dropped: Vec<DroppedTarget>,
    /// Targets whose labels are invalid after relabelling: (job, address, error).
    pub invalid: Vec<(String, String, String)>,
}

/// Builds every job's targets.
pub fn targets(config: &Config) -> TargetSet {
    let mut set = TargetSet::default();
    for job in &config.scrape_configs {
        let mut seen: Vec<(Labels, String)> = Vec::new();
        for group in &job.static_configs {
            for address in &group.targets {
                let mut discovered: LabelMap = group.labels.clone();
                discovered.insert(ADDRESS_LABEL.into(), address.clone());
                match populate_labels(discovered, job) {
                    Ok(Populated::Active(target)) => {
                        let key = (target.all_labels.clone(), target.url.clone());
                        if !seen.contains(&key) {
                            seen.push(key);
                            set.active.push(target);
                        }
                    }
                    Ok(Populated::Dropped(discovered_labels)) => set.dropped.push(DroppedTarget {
                        job: job.job_name.clone(),
                        discovered_labels,
                    }),
                    Err(error) => set
                        .invalid
                        .push((job.job_name.clone(), address.clone(), error)),
                }
            }
        }
    }
    set
}

/// The outcome of [`populate_labels`].
#[derive(Debug, Clone)]
pub enum Populated {
    /// A target to scrape.
    Active(Target),
    /// Relabelling dropped it; its discovered labels.
    Dropped(Labels),
}

/// Prometheus's `PopulateLabels` for one discovered label set of `job`.
pub fn populate_labels(mut lset: LabelMap, job: &ScrapeConfig) -> Result<Populated, String> {
    let defaults = [
        ("job", job.job_name.clone()),
        (SCRAPE_INTERVAL_LABEL, format_duration(job.scrape_interval)),
        (SCRAPE_TIMEOUT_LABEL, format_duration(job.scrape_timeout)),
        (METRICS_PATH_LABEL, job.metrics_path.clone()),
        (SCHEME_LABEL, job.scheme.clone()),
    ];
    for (name, value) in defaults {
        if lset.get(name).is_none_or(|v| v.is_empty()) && !value.is_empty() {
            lset.insert(name.to_string(), value);
        }
    }
    for (name, values) in &job.params {
        if let Some(first) = values.first().filter(|v| !v.is_empty()) {
            lset.insert(format!("{PARAM_LABEL_PREFIX}{name}"), first.clone());
        }
    }
    let discovered = relabel::from_map(&lset);
    if !relabel::process(&mut lset, &job.relabel_configs) {
        return Ok(Populated::Dropped(discovered));
    }
    let Some(mut address) = lset.get(ADDRESS_LABEL).cloned().filter(|a| !a.is_empty()) else {
        return Err("no address".into());
    };
    // An address without a port gets the scheme's default port (2.x behaviour).
    if needs_default_port(&address) {
        address.push_str(":80");
        lset.insert(ADDRESS_LABEL.into(), address.clone());
    }
    if address.contains('/') || address.contains('@') {
        return Err(format!("{address:?} is not a valid hostname"));
    }
    let interval_text = lset.get(SCRAPE_INTERVAL_LABEL).cloned().unwrap_or_default();
    let interval = parse_duration(&interval_text)
        .map_err(|e| format!("error parsing scrape interval: {e}"))?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".into());
    }
    let timeout_text = lset.get(SCRAPE_TIMEOUT_LABEL).cloned().unwrap_or_default();
    let timeout =
        parse_duration(&timeout_text).map_err(|e| format!("error parsing scrape timeout: {e}"))?;
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".into());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({timeout_text:?} > {interval_text:?})"
        ));
    }
    lset.retain(|name, _| !name.starts_with(META_LABEL_PREFIX));
    if lset.get("instance").is_none_or(|v| v.is_empty()) {
        lset.insert("instance".into(), address.clone());
    }
    let all_labels = relabel::from_map(&lset);
    let labels = Labels::from_pairs(
        lset.iter()
            .filter(|(name, _)| !name.starts_with(RESERVED_LABEL_PREFIX))
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    let url = target_url(&lset, &job.params);
    Ok(Populated::Active(Target {
        job: job.job_name.clone(),
        discovered_labels: discovered,
        all_labels,
        labels,
        url,
        interval,
        timeout,
    }))
}

/// True when `address` has no port and adding one makes a valid `host:port`.
fn needs_default_port(address: &str) -> bool {
    if let Some(rest) = address.strip_prefix('[') {
        // "[v6]" without a port; "[v6]:port" has one.
        return rest.ends_with(']');
    }
    !address.contains(':')
}

/// The scrape URL: `scheme://address/path?params`, parameters sorted by name and encoded as
/// Go's `url.Values.Encode`; `__param_<name>` labels override a parameter's first value.
pub fn target_url(lset: &LabelMap, params: &BTreeMap<String, Vec<String>>) -> String {
    let mut all: BTreeMap<String, Vec<String>> = params.clone();
    for (name, value) in lset {
        if let Some(key) = name.strip_prefix(PARAM_LABEL_PREFIX) {
            let values = all.entry(key.to_string()).or_default();
            match values.first_mut() {
                Some(first) => *first = value.clone(),
                None => values.push(value.clone()),
            }
        }
    }
    let get = |name: &str| lset.get(name).map_or("", String::as_str);
    let mut url = format!(
        "{}://{}{}",
        get(SCHEME_LABEL),
        get(ADDRESS_LABEL),
        get(METRICS_PATH_LABEL)
    );
    let query: Vec<String> = all
        .iter()
        .flat_map(|(k, vs)| {
            vs.iter()
                .map(move |v| format!("{}={}", query_escape(k), query_escape(v)))
        })
        .collect();
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    url
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// FNV-1a, 64 bit (Go's `hash/fnv.New64a`).
#[derive(Debug)]
struct Fnv64a(u64);

impl Fnv64a {
    fn new() -> Self {
        Fnv64a(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv64a {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Prometheus's `labels.Hash()`: xxhash64 of `name 0xff value 0xff` for every label.
pub fn prometheus_labels_hash(labels: &Labels) -> u64 {
    let mut bytes = Vec::new();
    for label in labels {
        bytes.extend_from_slice(label.name.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(label.value.as_bytes());
        bytes.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&bytes, 0)
}

impl Target {
    /// Prometheus's `Target.hash()`.
    pub fn hash(&self) -> u64 {
        let mut h = Fnv64a::new();
        h.write(format!("{:016}", prometheus_labels_hash(&self.all_labels)).as_bytes());
        h.write(self.url.as_bytes());
        h.finish()
    }

    /// Offset of this target's scrapes past each multiple of its interval (nanoseconds since
    /// the epoch), in `[0, interval)`.
    pub fn offset(&self, seed: u64) -> Duration {
        let interval_ns = u64::try_from(self.interval.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        Duration::from_nanos((self.hash() ^ seed) % interval_ns)
    }
}

/// The offset seed: `fnv64a(hostname + external_labels)` as Prometheus's scrape manager.
pub fn offset_seed(hostname: &str, external_labels: &BTreeMap<String, String>) -> u64 {
    let mut h = Fnv64a::new();
    h.write(hostname.as_bytes());
    let body: Vec<String> = external_labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    h.write(format!("{{{}}}", body.join(", ")).as_bytes());
    h.finish()
}

/// This machine's host name (as the offset seed uses it).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv64a_matches_the_reference_vectors() {
        // FNV-1a 64 test vectors from the reference implementation.
        let hash = |s: &str| {
            let mut h = Fnv64a::new();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0xcbf29ce484222325);
        assert_eq!(hash("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(hash("foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn xxh64_is_the_reference_hash() {
        // xxHash64 of the empty input with seed 0 (the reference value).
        assert_eq!(xxhash_rust::xxh64::xxh64(b"", 0), 0xef46db3751d8e999);
    }

    #[test]
    fn query_escape_is_gos() {
        assert_eq!(query_escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
