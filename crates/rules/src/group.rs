//! Rule group evaluation with the semantics of Prometheus's rule manager (`rules/group.go`,
//! `rules/recording.go`, `rules/alerting.go`, Prometheus 3.x):
//!
//! - rules run in file order, each one's output committed before the next runs, so later
//!   rules see earlier rules' results of the same evaluation;
//! - a recording rule renames its result to `record`, applies its labels, and fails on two
//!   identical output label sets or more series than the group `limit`;
//! - an alerting rule keeps per-label-set alert state: new results are pending, pending ones
//!   fire after `for`, firing ones that vanish keep firing for `keep_firing_for` and are then
//!   resolved (kept 15 minutes for notification, as Prometheus keeps them); it writes `ALERTS`
//!   and `ALERTS_FOR_STATE` series for every pending or firing alert;
//! - a series a rule produced in its previous evaluation but not in this one gets a staleness
//!   marker at this evaluation's timestamp;
//! - each rule records health, last error, last evaluation time and duration;
//! - evaluation timestamps are aligned as Prometheus aligns them: `interval` slots shifted by
//!   the group's hash ([`Group::eval_timestamp`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use promlite_eval::{Engine, Value};
use promlite_model::{Labels, Timestamp, STALE_NAN};

use crate::file::{GroupSpec, RuleKind, RuleSpec};
use crate::storage::{AppendError, RuleStorage};
use crate::template::{AlertData, Environment, QuerySample};

/// How long a resolved alert is kept (Prometheus's `resolvedRetention`).
const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// Settings shared by every group of a manager.
#[derive(Debug, Clone, Default)]
pub struct EvalContext {
    /// Labels available to templates as `$externalLabels`.
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL` and the `externalURL` function.
    pub external_url: String,
    /// The default query offset (ms) for groups that set none.
    pub query_offset_ms: i64,
}

/// A rule's health after its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not evaluated yet.
    Unknown,
    /// The last evaluation succeeded.
    Good,
    /// The last evaluation failed (see the last error).
    Bad,
}

impl Health {
    /// Prometheus's API spelling: `unknown`, `ok`, `err`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Good => "ok",
            Health::Bad => "err",
        }
    }
}

/// The state of one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// Resolved (kept a while after it stopped firing).
    Inactive,
    /// Condition true, waiting for `for`.
    Pending,
    /// Firing.
    Firing,
}

impl AlertState {
    /// Prometheus's spelling: `inactive`, `pending`, `firing`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of an alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Identifying labels: the result's labels without `__name__`, the rule's labels
    /// (expanded) and `alertname`.
    pub labels: Labels,
    /// Expanded annotations, sorted by name.
    pub annotations: Vec<(String, String)>,
    /// Current state.
    pub state: AlertState,
    /// The expression's value at the last evaluation that returned this alert.
    pub value: f64,
    /// When the condition first became true (ms).
    pub active_at: Timestamp,
    /// When it started firing (ms).
    pub fired_at: Option<Timestamp>,
    /// When it was resolved (ms).
    pub resolved_at: Option<Timestamp>,
    /// Since when it is firing only because of `keep_firing_for` (ms).
    pub keep_firing_since: Option<Timestamp>,
}

/// A rule with its evaluation state.
#[derive(Debug, Clone)]
pub struct RuleState {
    /// The rule as written.
    pub spec: RuleSpec,
    /// Health after the last evaluation.
    pub health: Health,
    /// The last evaluation's error.
    pub last_error: Option<String>,
    /// When it was last evaluated (ms).
    pub last_eval: Option<Timestamp>,
    /// How long the last evaluation took.
    pub eval_duration: std::time::Duration,
    /// Alerting rules: alerts by identifying label set.
    active: HashMap<Labels, Alert>,
    /// Series written by the previous evaluation (for staleness markers).
    previous_series: HashSet<Labels>,
    /// Alerting rules write `ALERTS` series only once restored (always true here: state
    /// restoration from `ALERTS_FOR_STATE` is not implemented, so alerts start fresh).
    restored: bool,
}

impl RuleState {
    fn new(spec: RuleSpec) -> Self {
        RuleState {
            spec,
            health: Health::Unknown,
            last_error: None,
            last_eval: None,
            eval_duration: std::time::Duration::ZERO,
            active: HashMap::new(),
            previous_series: HashSet::new(),
            restored: true,
        }
    }

    /// The rule's current alerts (pending, firing, and resolved ones still retained), sorted
    /// by labels.
    pub fn alerts(&self) -> Vec<&Alert> {
        let mut alerts: Vec<&Alert> = self.active.values().collect();
        alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
        alerts
    }

    /// Pending and firing alerts (Prometheus's `ActiveAlerts`), sorted by labels.
    pub fn active_alerts(&self) -> Vec<&Alert> {
        let mut alerts: Vec<&Alert> = self
            .active
            .values()
            .filter(|a| a.state != AlertState::Inactive)
            .collect();
        alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
        alerts
    }
}

/// A rule group with its rules' state.
#[derive(Debug, Clone)]
pub struct Group {
    /// The file the group came from.
    pub file: String,
    /// The group's name.
    pub name: String,
    /// The evaluation interval (ms): the group's own or the default.
    pub interval_ms: i64,
    /// The query offset (ms), if the group sets one.
    pub query_offset_ms: Option<i64>,
    /// The series/alert limit (0: none).
    pub limit: usize,
    /// The rules with their state.
    pub rules: Vec<RuleState>,
    /// When the group was last evaluated (ms).
    pub last_eval: Option<Timestamp>,
    /// How long the last evaluation took.
    pub eval_duration: std::time::Duration,
}

struct TemplateEnv<'a> {
    engine: &'a Engine,
    storage: &'a dyn RuleStorage,
    t: Timestamp,
    external_url: &'a str,
}

impl Environment for TemplateEnv<'_> {
    fn query(&self, expr: &str) -> Result<Vec<QuerySample>, String> {
        let out = self
            .engine
            .instant_query(self.storage.queryable(), expr, self.t)
            .map_err(|e| e.to_string())?;
        let to_map = |labels: &Labels| -> BTreeMap<String, String> {
            labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect()
        };
        match out.value {
            Value::Vector(v) => Ok(v
                .iter()
                .map(|s| QuerySample {
                    labels: to_map(&s.labels),
                    value: s.v,
                })
                .collect()),
            Value::Scalar { v, .. } => Ok(vec![QuerySample {
                labels: BTreeMap::new(),
                value: v,
            }]),
            _ => Err("rule result is not a vector or scalar".into()),
        }
    }

    fn external_url(&self) -> &str {
        self.external_url
    }
}

/// Runs a rule's expression as Prometheus's `EngineQueryFunc` does: a scalar becomes a
/// one-element vector without labels; other non-vector results are errors.
fn query_vector(
    engine: &Engine,
    storage: &dyn RuleStorage,
    expr: &str,
    t: Timestamp,
) -> Result<Vec<(Labels, f64)>, String> {
    let out = engine
        .instant_query(storage.queryable(), expr, t)
        .map_err(|e| e.to_string())?;
    match out.value {
        Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
        Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), v)]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

/// Prometheus's `labels.Labels.Hash` of `{file=..., name=...}`: xxhash64 over
/// `name 0xff value 0xff` for each label in name order.
fn group_hash(file: &str, name: &str) -> u64 {
    let mut bytes = Vec::with_capacity(file.len() + name.len() + 12);
    for (k, v) in [("file", file), ("name", name)] {
        bytes.extend_from_slice(k.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(v.as_bytes());
        bytes.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&bytes, 0)
}

impl Group {
    /// A group from its spec; `default_interval_ms` applies when the group sets none.
    pub fn new(file: &str, spec: GroupSpec, default_interval_ms: i64) -> Group {
        Group {
            file: file.to_string(),
            name: spec.name,
            interval_ms: spec.interval_ms.unwrap_or(default_interval_ms).max(1),
            query_offset_ms: spec.query_offset_ms,
            limit: spec.limit,
            rules: spec.rules.into_iter().map(RuleState::new).collect(),
            last_eval: None,
            eval_duration: std::time::Duration::ZERO,
        }
    }

    /// The evaluation slot at or before `now_ms`: Prometheus's `EvalTimestamp`, slots of
    /// `interval` shifted by `hash(file, name) mod interval`. Prometheus computes the offset in
    /// nanoseconds and stores samples at the slot truncated to milliseconds, so the offset is
    /// truncated to milliseconds here (the stored timestamps are then the same).
    pub fn eval_timestamp(&self, now_ms: Timestamp) -> Timestamp {
        let interval_ns = u64::try_from(self.interval_ms)
            .unwrap_or(1)
            .saturating_mul(1_000_000)
            .max(1);
        let offset_ms = i64::try_from(group_hash(&self.file, &self.name) % interval_ns / 1_000_000)
            .unwrap_or(0);
        let adjusted = now_ms - offset_ms;
        adjusted - adjusted.rem_euclid(self.interval_ms) + offset_ms
    }

    /// All alerts of all alerting rules, pending, firing and recently resolved, in rule order.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.rules.iter().flat_map(|r| r.alerts())
    }

    /// Evaluates every rule at `ts` (ms) and writes the results into `storage`.
    pub fn eval(
        &mut self,
        engine: &Engine,
        storage: &dyn RuleStorage,
        ts: Timestamp,
        ctx: &EvalContext,
    ) {
        let started = Instant::now();
        let query_offset = self.query_offset_ms.unwrap_or(ctx.query_offset_ms);
        let limit = self.limit;
        for rule in &mut self.rules {
            let rule_started = Instant::now();
            rule.last_eval = Some(ts);
            let result = match &rule.spec.kind {
                RuleKind::Recording { .. } => {
                    eval_recording(rule, engine, storage, ts - query_offset, limit)
                }
                RuleKind::Alerting { .. } => {
                    eval_alerting(rule, engine, storage, ts, query_offset, limit, ctx)
                }
            };
            rule.eval_duration = rule_started.elapsed();
            let samples = match result {
                Ok(samples) => samples,
                Err(message) => {
                    rule.health = Health::Bad;
                    rule.last_error = Some(message);
                    continue;
                }
            };
            rule.health = Health::Good;
            rule.last_error = None;
            write_output(rule, storage, samples, ts - query_offset);
        }
        self.last_eval = Some(ts);
        self.eval_duration = started.elapsed();
    }
}

/// Appends a rule's output and staleness markers for its vanished series; append errors make
/// the rule unhealthy, as in Prometheus.
fn write_output(
    rule: &mut RuleState,
    storage: &dyn RuleStorage,
    samples: Vec<(Labels, Timestamp, f64)>,
    stale_ts: Timestamp,
) {
    let outcomes = match storage.append_batch(&samples) {
        Ok(o) => o,
        Err(err) => {
            rule.health = Health::Bad;
            rule.last_error = Some(err.to_string());
            return;
        }
    };
    let mut returned = HashSet::with_capacity(samples.len());
    for ((labels, _, _), outcome) in samples.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => {
                returned.insert(labels);
            }
            Err(err) => {
                rule.health = Health::Bad;
                rule.last_error = Some(err.to_string());
            }
        }
    }
    let stale: Vec<(Labels, Timestamp, f64)> = rule
        .previous_series
        .iter()
        .filter(|l| !returned.contains(*l))
        .map(|l| (l.clone(), stale_ts, STALE_NAN))
        .collect();
    if !stale.is_empty() {
        // Out-of-order and duplicate errors are expected here when another rule writes the
        // same series; Prometheus ignores them, and so do we.
        let _ = storage.append_batch(&stale).map(|outcomes| {
            outcomes
                .into_iter()
                .filter(|o| {
                    !matches!(
                        o,
                        Ok(()) | Err(AppendError::OutOfOrder | AppendError::Duplicate)
                    )
                })
                .count()
        });
    }
    rule.previous_series = returned;
}

fn eval_recording(
    rule: &RuleState,
    engine: &Engine,
    storage: &dyn RuleStorage,
    t: Timestamp,
    limit: usize,
) -> Result<Vec<(Labels, Timestamp, f64)>, String> {
    let RuleKind::Recording { record } = &rule.spec.kind else {
        return Err("not a recording rule".into());
    };
    let vector = query_vector(engine, storage, &rule.spec.expr, t)?;
    let mut out = Vec::with_capacity(vector.len());
    let mut seen = HashSet::with_capacity(vector.len());
    for (labels, v) in vector {
        let mut b = labels.builder();
        b.set("__name__", record.as_str());
        for (name, value) in &rule.spec.labels {
            b.set(name.as_str(), value.as_str());
        }
        let labels = b.build();
        if !seen.insert(labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels".into(),
            );
        }
        out.push((labels, t, v));
    }
    if limit > 0 && out.len() > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            out.len()
        ));
    }
    Ok(out)
}

fn eval_alerting(
    rule: &mut RuleState,
    engine: &Engine,
    storage: &dyn RuleStorage,
    ts: Timestamp,
    query_offset: i64,
    limit: usize,
    ctx: &EvalContext,
) -> Result<Vec<(Labels, Timestamp, f64)>, String> {
    let RuleKind::Alerting {
        alert: alert_name,
        for_ms,
        keep_firing_for_ms,
        annotations,
        label_templates,
    } = &rule.spec.kind
    else {
        return Err("not an alerting rule".into());
    };
    let query_t = ts - query_offset;
    let vector = query_vector(engine, storage, &rule.spec.expr, query_t)?;
    let env = TemplateEnv {
        engine,
        storage,
        t: query_t,
        external_url: &ctx.external_url,
    };
    let mut current: HashMap<Labels, Alert> = HashMap::with_capacity(vector.len());
    for (labels, v) in vector {
        let data = AlertData {
            labels: labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect(),
            external_labels: ctx.external_labels.clone(),
            external_url: ctx.external_url.clone(),
            value: v,
        };
        let mut b = labels.builder();
        b.del("__name__");
        for ((name, _), template) in rule.spec.labels.iter().zip(label_templates) {
            let value = template.expand_or_error_text(&data, &env);
            b.set(name.as_str(), value.as_str());
        }
        b.set("alertname", alert_name.as_str());
        let alert_labels = b.build();
        let expanded: Vec<(String, String)> = annotations
            .iter()
            .map(|(name, _, template)| (name.clone(), template.expand_or_error_text(&data, &env)))
            .collect();
        if current.contains_key(&alert_labels) {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels".into(),
            );
        }
        current.insert(
            alert_labels.clone(),
            Alert {
                labels: alert_labels,
                annotations: expanded,
                state: AlertState::Pending,
                value: v,
                active_at: ts,
                fired_at: None,
                resolved_at: None,
                keep_firing_since: None,
            },
        );
    }
    let result_keys: HashSet<Labels> = current.keys().cloned().collect();
    for (labels, new_alert) in current {
        match rule.active.get_mut(&labels) {
            Some(existing) if existing.state != AlertState::Inactive => {
                existing.value = new_alert.value;
                existing.annotations = new_alert.annotations;
            }
            _ => {
                rule.active.insert(labels, new_alert);
            }
        }
    }
    let mut out = Vec::new();
    let mut n_active = 0;
    let mut to_delete = Vec::new();
    let mut keys: Vec<Labels> = rule.active.keys().cloned().collect();
    keys.sort();
    for key in keys {
        let Some(a) = rule.active.get_mut(&key) else {
            continue;
        };
        if !result_keys.contains(&key) {
            let mut keep_firing = false;
            if a.state == AlertState::Firing && *keep_firing_for_ms > 0 {
                let since = *a.keep_firing_since.get_or_insert(ts);
                if ts - since < *keep_firing_for_ms {
                    keep_firing = true;
                }
            }
            // A pending alert that vanished is dropped; a resolved one after the retention.
            if a.state == AlertState::Pending
                || a.resolved_at
                    .is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
            {
                to_delete.push(key.clone());
            }
            if a.state != AlertState::Inactive && !keep_firing {
                a.state = AlertState::Inactive;
                a.resolved_at = Some(ts);
            }
            if !keep_firing {
                continue;
            }
        } else {
            a.keep_firing_since = None;
        }
        n_active += 1;
        if a.state == AlertState::Pending && ts - a.active_at >= *for_ms {
            a.state = AlertState::Firing;
            a.fired_at = Some(ts);
        }
        if rule.restored {
            let mut alerts = a.labels.builder();
            alerts.set("__name__", "ALERTS");
            alerts.set("alertstate", a.state.as_str());
            out.push((alerts.build(), query_t, 1.0));
            let mut for_state = a.labels.builder();
            for_state.set("__name__", "ALERTS_FOR_STATE");
            out.push((
                for_state.build(),
                query_t,
                a.active_at.div_euclid(1000) as f64,
            ));
        }
    }
    for key in to_delete {
        rule.active.remove(&key);
    }
    if limit > 0 && n_active > limit {
        rule.active.clear();
        return Err(format!("exceeded limit of {limit} with {n_active} alerts"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
