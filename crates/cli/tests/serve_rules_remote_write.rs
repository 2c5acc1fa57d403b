//! `serve --rules` on a data directory written through the remote-write receiver (issue 15's
//! acceptance): an alert goes pending → firing after `for` and resolves, at the evaluations
//! the group's alignment rule predicts; `ALERTS` and `ALERTS_FOR_STATE` are queryable; SIGHUP
//! reloads the rule file and keeps the state of unchanged alerts.
//!
//! Nothing here asserts on elapsed time. A pusher thread writes a gauge on a 250 ms grid,
//! each sample `lead` ahead of the wall clock, so every sample an evaluation at slot `T` can
//! see is stored before the wall clock reaches `T`; a run in which a push arrived late (a
//! stalled machine) is inconclusive and repeated with a longer lead. The expected transitions
//! are derived from the slots the group actually evaluated (a recording rule in the same group
//! writes one sample per evaluation), so a slot skipped under load changes the expectation,
//! not the verdict.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use promlite::{Labels, Sample};
use promlite_remote::codec::{encode_write_request, SeriesSamples};
use promlite_testkit::{free_port, wait_http_ok, ChildGuard};
use serde_json::Value as Json;

const GROUP: &str = "live";
const INTERVAL_MS: i64 = 1000;
const FOR_MS: i64 = 4000;
const GRID_MS: i64 = 250;
const HIGH: f64 = 20.0;
const LOW: f64 = 1.0;

fn rule_file(with_reload_rule: bool) -> String {
    let mut text = format!(
        r#"groups:
- name: {GROUP}
  interval: 1s
  rules:
  - record: live:evaluations
    expr: vector(1)
  - alert: GaugeHigh
    expr: rw_gauge{{job="pusher"}} > 10
    for: 4s
    labels:
      severity: page
    annotations:
      summary: "gauge is {{{{ $value }}}}"
"#
    );
    if with_reload_rule {
        text.push_str("  - record: live:reloaded\n    expr: vector(2)\n");
    }
    text
}

/// Prometheus's evaluation offset of a group (`rules/group.go` `EvalTimestamp`): the xxhash64
/// of the label set `{file=<path>, name=<group>}` (`name 0xff value 0xff` per label, in name
/// order) modulo the interval in nanoseconds, truncated to milliseconds as stored samples are.
/// Written out here from Prometheus's definition rather than taken from `promlite_rules`; the
/// same offsets are checked against promtool's own alignment in `rules_prometheus_mixin.rs`.
fn eval_offset_ms(file: &str, group: &str, interval_ms: i64) -> i64 {
    let mut bytes = Vec::new();
    for (k, v) in [("file", file), ("name", group)] {
        bytes.extend_from_slice(k.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(v.as_bytes());
        bytes.push(0xff);
    }
    let interval_ns = u64::try_from(interval_ms).unwrap() * 1_000_000;
    i64::try_from(xxhash_rust::xxh64::xxh64(&bytes, 0) % interval_ns / 1_000_000).unwrap()
}

fn wall_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn get_json(addr: SocketAddr, path_and_query: &str) -> Json {
    let url = format!("http://{addr}{path_and_query}");
    let mut response = ureq::get(&url)
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let body = response.body_mut().read_to_string().expect("body");
    let json: Json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"));
    assert_eq!(json["status"], "success", "{url}: {body}");
    json
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn secs(t_ms: i64) -> String {
    format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000))
}

/// `(alertstate, activeAt ms, value)` of the GaugeHigh alert in `/api/v1/alerts`, if listed.
fn gauge_alert(addr: SocketAddr) -> Option<(String, i64, String)> {
    let json = get_json(addr, "/api/v1/alerts");
    let alerts = json["data"]["alerts"].as_array().expect("alerts array");
    let alert = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "GaugeHigh")?;
    assert_eq!(alert["labels"]["severity"], "page", "{alert}");
    assert_eq!(alert["labels"]["job"], "pusher", "{alert}");
    let active_at = promlite_http::params::parse_time(alert["activeAt"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("activeAt of {alert}: {e}"));
    Some((
        alert["state"].as_str().unwrap().to_string(),
        active_at,
        alert["value"].as_str().unwrap().to_string(),
    ))
}

/// Raw sample timestamps and values of every series `selector` matches over the last hour
/// before `t`, by series (label set as JSON text).
fn raw_samples(addr: SocketAddr, selector: &str, t: i64) -> Vec<(String, Vec<(i64, f64)>)> {
    let query = format!("{selector}[1h]");
    let json = get_json(
        addr,
        &format!("/api/v1/query?query={}&time={}", encode(&query), secs(t)),
    );
    assert_eq!(json["data"]["resultType"], "matrix", "{json}");
    let mut out: Vec<(String, Vec<(i64, f64)>)> = json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|series| {
            let points = series["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                    let v: f64 = p[1].as_str().unwrap().parse().unwrap();
                    (t, v)
                })
                .collect();
            (series["metric"].to_string(), points)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn instant_len(addr: SocketAddr, selector: &str, t: i64) -> usize {
    let json = get_json(
        addr,
        &format!("/api/v1/query?query={}&time={}", encode(selector), secs(t)),
    );
    json["data"]["result"].as_array().unwrap().len()
}

/// The pusher's schedule: the next grid timestamp to push and when the gauge is high.
struct Schedule {
    next_ts: i64,
    rise_at: i64,
    fall_at: i64,
    /// Pushes whose answer arrived at or after their sample's timestamp.
    late: usize,
}

impl Schedule {
    fn value(&self, ts: i64) -> f64 {
        if ts >= self.rise_at && ts < self.fall_at {
            HIGH
        } else {
            LOW
        }
    }
}

fn push(addr: SocketAddr, ts: i64, v: f64) {
    let labels = Labels::from_pairs([("__name__", "rw_gauge"), ("job", "pusher")]);
    let body = encode_write_request(&[SeriesSamples {
        labels,
        samples: vec![Sample::new(ts, v)],
    }]);
    let url = format!("http://{addr}/api/v1/write");
    let response = ureq::post(&url)
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .send(&body[..])
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(response.status().as_u16(), 204, "remote write of {ts}");
}

fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One run of the scenario; `false` if a push arrived late (the run proves nothing).
fn scenario(dir: &Path, lead_ms: i64) -> bool {
    let data = dir.join("data");
    let rules = dir.join("live.rules.yml");
    std::fs::write(&rules, rule_file(false)).unwrap();
    let rules_arg = rules.to_str().unwrap().to_string();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_promlite"))
        .args([
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            &addr.to_string(),
            "--rules",
            &rules_arg,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start promlite serve");
    let server = ChildGuard::new(child);
    assert!(
        wait_http_ok(addr, "/-/ready", Duration::from_secs(60)),
        "promlite serve did not become ready"
    );

    let start = (wall_ms() / GRID_MS + 1) * GRID_MS + lead_ms;
    let schedule = Arc::new(Mutex::new(Schedule {
        next_ts: start,
        rise_at: start + 3000,
        fall_at: i64::MAX,
        late: 0,
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = {
        let (schedule, stop) = (schedule.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (ts, v) = {
                    let mut s = schedule.lock().unwrap();
                    if wall_ms() < s.next_ts - lead_ms {
                        None
                    } else {
                        let ts = s.next_ts;
                        s.next_ts += GRID_MS;
                        Some((ts, s.value(ts)))
                    }
                }
                .unzip();
                match (ts, v) {
                    (Some(ts), Some(v)) => {
                        push(addr, ts, v);
                        if wall_ms() >= ts {
                            schedule.lock().unwrap().late += 1;
                        }
                    }
                    _ => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })
    };

    // Pending, then firing, as /api/v1/alerts shows them.
    let mut states: Vec<(String, i64)> = Vec::new();
    let fired = poll("the alert to fire", Duration::from_secs(120), || {
        let alert = gauge_alert(addr)?;
        if states.last().map(|s| &s.0) != Some(&alert.0) {
            states.push((alert.0.clone(), alert.1));
        }
        (alert.0 == "firing").then_some(alert)
    });
    assert_eq!(fired.2, "2e+01", "the alert's value");

    // SIGHUP with a rule added: the new rule runs, the unchanged alert keeps its state.
    std::fs::write(&rules, rule_file(true)).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &server.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    poll("the reloaded rule to run", Duration::from_secs(120), || {
        let json = get_json(addr, "/api/v1/rules");
        let group = json["data"]["groups"]
            .as_array()?
            .iter()
            .find(|g| g["name"] == GROUP)?
            .clone();
        let rule = group["rules"]
            .as_array()?
            .iter()
            .find(|r| r["name"] == "live:reloaded")?
            .clone();
        (rule["health"] == "ok").then_some(())
    });
    let after_reload = gauge_alert(addr).expect("the alert survives the reload");
    assert_eq!(
        (after_reload.0.as_str(), after_reload.1),
        ("firing", fired.1),
        "state and activeAt kept across SIGHUP"
    );

    // Fall back below the threshold from the next unpushed grid point on.
    let fall_at = {
        let mut s = schedule.lock().unwrap();
        s.fall_at = s.next_ts;
        s.fall_at
    };
    poll(
        "the alert to resolve",
        Duration::from_secs(120),
        || match gauge_alert(addr) {
            None => Some(()),
            Some(alert) => {
                if states.last().map(|s| &s.0) != Some(&alert.0) {
                    states.push((alert.0.clone(), alert.1));
                }
                None
            }
        },
    );
    let json = get_json(addr, "/api/v1/rules?type=alert");
    let rule = &json["data"]["groups"][0]["rules"][0];
    assert_eq!(rule["name"], "GaugeHigh", "{json}");
    assert_eq!(rule["state"], "inactive", "{json}");
    assert_eq!(rule["health"], "ok", "{json}");

    // Let a few more evaluations pass, then stop writing.
    let resolved_seen = wall_ms();
    poll(
        "evaluations after the resolution",
        Duration::from_secs(120),
        || {
            (instant_len(addr, "live:evaluations", wall_ms()) == 1
                && raw_samples(addr, "live:evaluations", wall_ms())
                    .first()
                    .and_then(|s| s.1.last())
                    .is_some_and(|p| p.0 > resolved_seen + 2 * INTERVAL_MS))
            .then_some(())
        },
    );
    stop.store(true, Ordering::Relaxed);
    pusher.join().unwrap();
    let (rise_at, late) = {
        let s = schedule.lock().unwrap();
        (s.rise_at, s.late)
    };
    if late > 0 {
        eprintln!(
            "{late} pushes arrived after their sample's time with lead {lead_ms} ms; repeating"
        );
        return false;
    }

    let now = wall_ms();
    let evaluations = raw_samples(addr, "live:evaluations", now);
    assert_eq!(evaluations.len(), 1, "{evaluations:?}");
    let slots: Vec<i64> = evaluations[0].1.iter().map(|p| p.0).collect();
    let offset = eval_offset_ms(&rules_arg, GROUP, INTERVAL_MS);
    for t in &slots {
        assert_eq!(
            (t - offset).rem_euclid(INTERVAL_MS),
            0,
            "evaluation at {t} is not on the group's grid (offset {offset} ms)"
        );
    }
    let first_at_or_after = |t: i64| -> i64 {
        *slots
            .iter()
            .find(|s| **s >= t)
            .unwrap_or_else(|| panic!("no evaluation at or after {t}: {slots:?}"))
    };
    let pending_at = first_at_or_after(rise_at);
    let firing_at = first_at_or_after(pending_at + FOR_MS);
    let resolved_at = first_at_or_after(fall_at);
    let between = |from: i64, to: i64| -> Vec<i64> {
        slots
            .iter()
            .copied()
            .filter(|s| *s >= from && *s < to)
            .collect()
    };

    // What /api/v1/alerts showed: pending, then firing, both active since `pending_at`.
    assert_eq!(
        states,
        vec![
            ("pending".to_string(), pending_at),
            ("firing".to_string(), pending_at)
        ],
        "alert states seen by polling (expected evaluations: pending {pending_at}, firing {firing_at})"
    );

    let alerts = raw_samples(addr, r#"ALERTS{alertname="GaugeHigh"}"#, now);
    let by_state = |state: &str| -> Vec<(i64, f64)> {
        alerts
            .iter()
            .find(|(labels, _)| labels.contains(&format!("\"alertstate\":\"{state}\"")))
            .map(|(_, points)| points.clone())
            .unwrap_or_default()
    };
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let ones = |ts: Vec<i64>| -> Vec<(i64, f64)> { ts.into_iter().map(|t| (t, 1.0)).collect() };
    assert_eq!(by_state("pending"), ones(between(pending_at, firing_at)));
    assert_eq!(by_state("firing"), ones(between(firing_at, resolved_at)));
    let for_state = raw_samples(addr, r#"ALERTS_FOR_STATE{alertname="GaugeHigh"}"#, now);
    assert_eq!(for_state.len(), 1, "{for_state:?}");
    let active_secs = pending_at.div_euclid(1000) as f64;
    assert_eq!(
        for_state[0].1,
        between(pending_at, resolved_at)
            .into_iter()
            .map(|t| (t, active_secs))
            .collect::<Vec<_>>()
    );
    // The resolving evaluation wrote a staleness marker: the last firing sample is visible up
    // to the resolving evaluation and gone at it.
    let selector = r#"ALERTS{alertname="GaugeHigh",alertstate="firing"}"#;
    assert_eq!(instant_len(addr, selector, resolved_at - 1), 1);
    assert_eq!(instant_len(addr, selector, resolved_at), 0);
    // The reloaded rule's samples are on the same grid.
    let reloaded = raw_samples(addr, "live:reloaded", now);
    assert!(!reloaded.is_empty() && !reloaded[0].1.is_empty());
    for (t, _) in &reloaded[0].1 {
        assert!(
            slots.contains(t),
            "live:reloaded at {t} is not an evaluation slot"
        );
    }
    drop(server);
    true
}

#[test]
fn remote_written_gauge_fires_and_resolves_at_the_expected_evaluations() {
    for lead_ms in [3_000, 10_000, 30_000] {
        let dir = tempfile::tempdir().unwrap();
        if scenario(dir.path(), lead_ms) {
            return;
        }
    }
    panic!("every run had late pushes (the machine stalled for more than 30 s)");
}
