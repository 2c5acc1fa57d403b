//! `GET /api/v1/targets` in Prometheus's JSON shape, over a running scraper
//! ([`promlite_scrape::TargetsSource`]); mounted by `serve --scrape-config`.
//!
//! `activeTargets` entries carry `discoveredLabels`, `labels`, `scrapePool`, `scrapeUrl`,
//! `globalUrl`, `lastError`, `lastScrape` (RFC 3339 with nanoseconds, UTC; Go's zero time
//! before the first scrape), `lastScrapeDuration` (seconds), `health` (`up`, `down`,
//! `unknown`), `scrapeInterval` and `scrapeTimeout`; `droppedTargets` entries carry
//! `discoveredLabels`. The `state` parameter (`active`, `dropped`, `any`) and `scrapePool`
//! filter as in Prometheus. `globalUrl` is the scrape URL as another machine would reach it:
//! a loopback host (`127.0.0.1`, `localhost`, `[::1]`) is replaced by this machine's host name,
//! as Prometheus 2.42 does when no `--web.external-url` is set.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use promlite_scrape::duration::format_duration;
use promlite_scrape::TargetsSource;

use crate::api::{Api, Endpoints, Request, Response};
use crate::json::{self, write_labels, write_string};
use crate::params;

/// The targets endpoint.
pub struct TargetsEndpoint {
    source: Arc<dyn TargetsSource>,
}

impl std::fmt::Debug for TargetsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetsEndpoint").finish_non_exhaustive()
    }
}

impl TargetsEndpoint {
    /// Serves the targets of `source`.
    pub fn new(source: Arc<dyn TargetsSource>) -> TargetsEndpoint {
        TargetsEndpoint { source }
    }
}

impl Endpoints for TargetsEndpoint {
    fn handle(&self, _api: &Api, req: &Request<'_>) -> Option<Response> {
        if req.path != "/api/v1/targets" {
            return None;
        }
        if req.method != "GET" {
            return Some(Response::json(
                405,
                json::error("bad_data", "method not allowed"),
            ));
        }
        let query = params::parse_form(req.query);
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let state = get("state").unwrap_or("any").to_ascii_lowercase();
        let pool = get("scrapePool").filter(|p| !p.is_empty());
        let (show_active, show_dropped) = match state.as_str() {
            "active" => (true, false),
            "dropped" => (false, true),
            _ => (true, true),
        };
        let snapshot = self.source.targets();
        let mut out = String::from("{\"activeTargets\":[");
        if show_active {
            let mut first = true;
            for status in snapshot
                .active
                .iter()
                .filter(|s| pool.is_none_or(|p| p == s.target.job))
            {
                if !first {
                    out.push(',');
                }
                first = false;
                let t = &status.target;
                out.push_str("{\"discoveredLabels\":");
                write_labels(&mut out, &t.discovered_labels);
                out.push_str(",\"labels\":");
                write_labels(&mut out, &t.labels);
                out.push_str(",\"scrapePool\":");
                write_string(&mut out, &t.job);
                out.push_str(",\"scrapeUrl\":");
                write_string(&mut out, &t.url);
                out.push_str(",\"globalUrl\":");
                write_string(&mut out, &global_url(&t.url));
                out.push_str(",\"lastError\":");
                write_string(&mut out, &status.last_error);
                out.push_str(",\"lastScrape\":");
                write_string(&mut out, &rfc3339_nanos(status.last_scrape));
                out.push_str(",\"lastScrapeDuration\":");
                json::write_json_number(&mut out, status.last_scrape_duration.as_secs_f64());
                out.push_str(",\"health\":");
                write_string(&mut out, status.health.as_str());
                out.push_str(",\"scrapeInterval\":");
                write_string(&mut out, &format_duration(t.interval));
                out.push_str(",\"scrapeTimeout\":");
                write_string(&mut out, &format_duration(t.timeout));
                out.push('}');
            }
        }
        out.push_str("],\"droppedTargets\":[");
        if show_dropped {
            let mut first = true;
            for dropped in snapshot
                .dropped
                .iter()
                .filter(|d| pool.is_none_or(|p| p == d.job))
            {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str("{\"discoveredLabels\":");
                write_labels(&mut out, &dropped.discovered_labels);
                out.push('}');
            }
        }
        out.push_str("]}");
        Some(Response::json(200, json::success(&out, &[], &[])))
    }
}

/// `t` as Go marshals a `time.Time` in UTC (RFC 3339, nanoseconds without trailing zeros);
/// `None` is Go's zero time.
pub fn rfc3339_nanos(t: Option<SystemTime>) -> String {
    let Some(since) = t.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let secs = since.as_secs();
    let nanos = since.subsec_nanos();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_times_like_go() {
        assert_eq!(rfc3339_nanos(None), "0001-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        assert_eq!(rfc3339_nanos(Some(t)), "2023-11-14T22:13:20.12Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_nanos(Some(t)), "2000-02-29T00:00:00Z");
    }
}

/// The machine's host name (Linux: `/proc/sys/kernel/hostname`), `localhost` if unknown.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Prometheus's `getGlobalURL` without an external URL: a loopback host becomes the host name.
fn global_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((user, hp)) => (Some(user), hp),
        None => (None, authority),
    };
    let (host, port) = if let Some(stripped) = host_port.strip_prefix('[') {
        match stripped.split_once(']') {
            Some((h, p)) => (h, p),
            None => return url.to_string(),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (host_port, ""),
        }
    };
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return url.to_string();
    }
    let port = if port.is_empty() || port.starts_with(':') {
        port.to_string()
    } else {
        format!(":{port}")
    };
    let user = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{user}{}{port}{tail}", host_name())
}

#[cfg(test)]
mod global_url_tests {
    use super::global_url;

    #[test]
    fn loopback_hosts_become_the_host_name() {
        let name = super::host_name();
        assert_eq!(
            global_url("http://127.0.0.1:9100/metrics"),
            format!("http://{name}:9100/metrics")
        );
        assert_eq!(
            global_url("http://[::1]:9100/m?x=1"),
            format!("http://{name}:9100/m?x=1")
        );
        assert_eq!(
            global_url("https://example.org:443/metrics"),
            "https://example.org:443/metrics"
        );
    }
}
