//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus's JSON shapes, over a live
//! [`promlite_rules::manager::Manager`] shared with the evaluation loop.

use std::fmt::Write as _;
use std::sync::{Arc, RwLock};

use promlite_rules::file::RuleKind;
use promlite_rules::group::{Alert, AlertState, RuleState};
use promlite_rules::manager::Manager;

use crate::api::{Api, Endpoints, Request, Response};
use crate::json::{success, write_string};
use crate::params::format_rfc3339;

/// The rules and alerts endpoints.
#[derive(Debug, Clone)]
pub struct RulesEndpoints {
    manager: Arc<RwLock<Manager>>,
}

impl RulesEndpoints {
    /// Endpoints reading `manager`.
    pub fn new(manager: Arc<RwLock<Manager>>) -> RulesEndpoints {
        RulesEndpoints { manager }
    }
}

fn write_pairs<'a>(out: &mut String, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    out.push('{');
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        write_string(out, v);
    }
    out.push('}');
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`, as Prometheus prints alert values.
fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!(
        "{mantissa}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

fn write_alert(out: &mut String, alert: &Alert) {
    out.push_str("{\"labels\":");
    write_pairs(out, alert.labels.iter().map(|l| (l.name, l.value)));
    out.push_str(",\"annotations\":");
    write_pairs(
        out,
        alert
            .annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let _ = write!(
        out,
        ",\"state\":\"{}\",\"activeAt\":\"{}\",\"value\":\"{}\"}}",
        alert.state.as_str(),
        format_rfc3339(alert.active_at),
        format_value(alert.value)
    );
}

fn write_rule(out: &mut String, rule: &RuleState) {
    out.push('{');
    match &rule.spec.kind {
        RuleKind::Alerting {
            alert,
            for_ms,
            keep_firing_for_ms,
            annotations,
            ..
        } => {
            let alerts = rule.active_alerts();
            let state = alerts
                .iter()
                .map(|a| a.state)
                .max_by_key(|s| match s {
                    AlertState::Inactive => 0,
                    AlertState::Pending => 1,
                    AlertState::Firing => 2,
                })
                .unwrap_or(AlertState::Inactive);
            let _ = write!(out, "\"state\":\"{}\",\"name\":", state.as_str());
            write_string(out, alert);
            out.push_str(",\"query\":");
            write_string(out, &rule.spec.expr);
            let _ = write!(
                out,
                ",\"duration\":{},\"keepFiringFor\":{},\"labels\":",
                for_ms / 1000,
                keep_firing_for_ms / 1000
            );
            write_pairs(
                out,
                rule.spec
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            out.push_str(",\"annotations\":");
            write_pairs(
                out,
                annotations.iter().map(|(k, v, _)| (k.as_str(), v.as_str())),
            );
            out.push_str(",\"alerts\":[");
            for (i, a) in alerts.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_alert(out, a);
            }
            out.push(']');
        }
        RuleKind::Recording { record } => {
            out.push_str("\"name\":");
            write_string(out, record);
            out.push_str(",\"query\":");
            write_string(out, &rule.spec.expr);
            out.push_str(",\"labels\":");
            write_pairs(
                out,
                rule.spec
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
    }
    let _ = write!(out, ",\"health\":\"{}\"", rule.health.as_str());
    if let Some(err) = &rule.last_error {
        out.push_str(",\"lastError\":");
        write_string(out, err);
    }
    let _ = write!(
        out,
        ",\"evaluationTime\":{},\"lastEvaluation\":\"{}\",\"type\":\"{}\"}}",
        rule.eval_duration.as_secs_f64(),
        rule.last_eval
            .map_or_else(|| "0001-01-01T00:00:00Z".to_string(), format_rfc3339),
        match rule.spec.kind {
            RuleKind::Alerting { .. } => "alerting",
            RuleKind::Recording { .. } => "recording",
        }
    );
}

fn rules_data(manager: &Manager, want: Option<&str>) -> String {
    let mut out = String::from("{\"groups\":[");
    for (gi, group) in manager.groups().iter().enumerate() {
        if gi > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        write_string(&mut out, &group.name);
        out.push_str(",\"file\":");
        write_string(&mut out, &group.file);
        out.push_str(",\"rules\":[");
        let mut first = true;
        for rule in &group.rules {
            let kind = match rule.spec.kind {
                RuleKind::Alerting { .. } => "alert",
                RuleKind::Recording { .. } => "record",
            };
            if want.is_some_and(|w| w != kind) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            write_rule(&mut out, rule);
        }
        let _ = write!(
            out,
            "],\"interval\":{},\"limit\":{},\"evaluationTime\":{},\"lastEvaluation\":\"{}\"}}",
            group.interval_ms as f64 / 1000.0,
            group.limit,
            group.eval_duration.as_secs_f64(),
            group
                .last_eval
                .map_or_else(|| "0001-01-01T00:00:00Z".to_string(), format_rfc3339)
        );
    }
    out.push_str("]}");
    out
}

fn alerts_data(manager: &Manager) -> String {
    let mut out = String::from("{\"alerts\":[");
    let mut first = true;
    for group in manager.groups() {
        for rule in &group.rules {
            for alert in rule.active_alerts() {
                if !first {
                    out.push(',');
                }
                first = false;
                write_alert(&mut out, alert);
            }
        }
    }
    out.push_str("]}");
    out
}

impl Endpoints for RulesEndpoints {
    fn handle(&self, _api: &Api, req: &Request<'_>) -> Option<Response> {
        let path = req.path;
        if path != "/api/v1/rules" && path != "/api/v1/alerts" {
            return None;
        }
        if req.method != "GET" && req.method != "POST" {
            return Some(Response::json(
                405,
                crate::json::error("bad_data", "method not allowed"),
            ));
        }
        let manager = self.manager.read().unwrap_or_else(|e| e.into_inner());
        let data = if path == "/api/v1/alerts" {
            alerts_data(&manager)
        } else {
            let want = req
                .query
                .split('&')
                .find_map(|kv| kv.strip_prefix("type="))
                .filter(|v| !v.is_empty());
            match want {
                Some("alert" | "record") | None => rules_data(&manager, want),
                Some(other) => {
                    return Some(Response::json(
                        400,
                        crate::json::error("bad_data", &format!("unsupported type {other:?}")),
                    ))
                }
            }
        };
        Some(Response::json(200, success(&data, &[], &[])))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_print_as_go_e_format() {
        assert_eq!(super::format_value(1.0), "1e+00");
        assert_eq!(super::format_value(0.25), "2.5e-01");
        assert_eq!(super::format_value(1234.5), "1.2345e+03");
    }
}
