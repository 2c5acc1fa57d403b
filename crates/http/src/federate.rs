//! `GET /federate?match[]=...`: the newest sample of every matching series in Prometheus's text
//! format 0.0.4, as Prometheus 2.42's `web/federate.go` serves it, so another Prometheus can
//! scrape promlite (usually with `honor_labels: true`, which keeps the labels written here).
//!
//! For each series matching any selector: the newest sample in `[now - lookback, now]`
//! (lookback: the engine's, 5 m by default), skipped if it is a staleness marker (the text
//! format cannot carry one; the scraping side's own staleness handles the disappearance).
//! Output is grouped by metric name (`# TYPE name untyped` before each group, names in byte
//! order, series sorted by labels inside a group), each line with its millisecond timestamp,
//! values formatted as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does. A series without an
//! `instance` label gets `instance=""` appended (Prometheus's implicit external label);
//! series without a metric name are left out. No `match[]` gives an empty body; a selector
//! that does not parse gives 400.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use promlite::{Labels, Sample, Timestamp};
use promlite_model::{Queryable as _, SelectHints};

use crate::api::{Api, Endpoints, Request, Response};
use crate::params;

/// The `/federate` endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct FederateEndpoints;

/// Content type of the text format Prometheus serves on `/federate`.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn now_ms() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Formats `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which Prometheus's text encoder
/// uses: the shortest digits that round trip, in exponent form (`1.5e+06`, at least two
/// exponent digits) when the decimal exponent is below -4 or at least 6 (Go's threshold for
/// shortest `%g`), plain decimal otherwise.
pub fn go_format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: `d.ddd` `e` exponent.
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{dot}{rest}e{exp_sign}{:02}",
            exp.unsigned_abs()
        );
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        let zeros = "0".repeat(point.unsigned_abs() as usize);
        format!("{sign}0.{zeros}{digits}")
    } else {
        let point = point as usize;
        if digits.len() <= point {
            format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point);
            format!("{sign}{int}.{frac}")
        }
    }
}

/// Writes one label value quoted with the text format's escapes (`\\`, `\"`, `\n`).
fn write_label_value(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Renders the federation body for `(labels, newest sample)` pairs sorted by labels.
pub fn render(samples: &[(Labels, Sample)]) -> String {
    // Group by metric name in byte order; inside a group keep the label order.
    let mut by_name: BTreeMap<&str, Vec<&(Labels, Sample)>> = BTreeMap::new();
    for entry in samples {
        // Prometheus skips (and logs) series without a metric name.
        if let Some(name) = entry.0.metric_name() {
            by_name.entry(name).or_default().push(entry);
        }
    }
    let mut out = String::new();
    for (name, group) in by_name {
        let _ = writeln!(out, "# TYPE {name} untyped");
        for (labels, sample) in group {
            out.push_str(name);
            let mut first = true;
            for label in labels.iter().filter(|l| l.name != "__name__") {
                out.push(if first { '{' } else { ',' });
                first = false;
                out.push_str(label.name);
                out.push('=');
                write_label_value(&mut out, label.value);
            }
            // Prometheus treats `instance=""` as an external label: appended after the
            // series' own labels when it has none, so that the federating server's scrape
            // does not attach its own `instance` (promlite has no other external labels).
            if !labels.has("instance") {
                out.push(if first { '{' } else { ',' });
                first = false;
                out.push_str("instance=\"\"");
            }
            if !first {
                out.push('}');
            }
            let _ = writeln!(out, " {} {}", go_format_float(sample.v), sample.t);
        }
    }
    out
}

impl FederateEndpoints {
    fn federate(&self, api: &Api, req: &Request<'_>) -> Response {
        let mut pairs = params::parse_form(req.query);
        let is_form = req.content_type.is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if req.method == "POST" && is_form {
            pairs.extend(params::parse_form(&String::from_utf8_lossy(req.body)));
        }
        let selectors: Vec<&str> = pairs
            .iter()
            .filter(|(name, _)| name == "match[]")
            .map(|(_, value)| value.as_str())
            .collect();
        let sets = match promlite::parse_selectors(&selectors) {
            Ok(sets) => sets,
            Err(err) => return Response::text(400, &format!("{err}\n")),
        };
        let maxt = now_ms();
        let mint = maxt.saturating_sub(api.db().engine_options().lookback_delta_ms);
        match newest_samples(api.db(), &sets, mint, maxt) {
            Ok(samples) => Response::bytes(200, TEXT_FORMAT, render(&samples).into_bytes()),
            Err(err) => Response::text(500, &format!("{err}\n")),
        }
    }
}

/// The newest non-stale sample in `[mint, maxt]` of each series matching any matcher set,
/// sorted by labels.
fn newest_samples(
    db: &promlite::Db,
    sets: &[Vec<promlite::Matcher>],
    mint: Timestamp,
    maxt: Timestamp,
) -> promlite_model::Result<Vec<(Labels, Sample)>> {
    let querier = db.storage().querier(mint, maxt)?;
    let hints = SelectHints {
        start: mint,
        end: maxt,
        func: Some("series".to_string()),
        ..SelectHints::default()
    };
    let mut newest: BTreeMap<Labels, Sample> = BTreeMap::new();
    let mut buffer = Vec::new();
    for matchers in sets {
        for mut series in querier.select(&hints, matchers)? {
            if newest.contains_key(&series.labels) {
                continue;
            }
            buffer.clear();
            series.samples.collect_range(mint, maxt, &mut buffer)?;
            if let Some(last) = buffer.last() {
                if !promlite::is_stale_nan(last.v) {
                    newest.insert(series.labels, *last);
                }
            }
        }
    }
    Ok(newest.into_iter().collect())
}

impl Endpoints for FederateEndpoints {
    fn handle(&self, api: &Api, req: &Request<'_>) -> Option<Response> {
        (req.path == "/federate").then(|| {
            if req.method == "GET" || req.method == "POST" {
                self.federate(api, req)
            } else {
                Response::text(405, "method not allowed; use GET or POST\n")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings are what Go prints for `strconv.FormatFloat(v, 'g', -1, 64)`.
    #[test]
    fn floats_format_as_go_does() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-1.0, "-1"),
            (0.0, "0"),
            (0.5, "0.5"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e6, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (-2.5e-300, "-2.5e-300"),
            (0.1, "0.1"),
            (100.25, "100.25"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for &(v, want) in cases {
            assert_eq!(go_format_float(v), want, "{v:e}");
        }
    }
}
