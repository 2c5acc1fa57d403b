//! Rule files in Prometheus's YAML format (`groups:` of recording and alerting rules): the
//! reader and its validation, with errors positioned and worded like `promtool check rules`.
//!
//! Positions: serde gives positions only for YAML syntax and type errors, so the line and
//! column of a rule's `record`/`alert`/`expr` value are found by `locate`, a scan of the
//! source text for block-style YAML (the style rule files are written in): it follows the
//! indentation of `groups:` items, their `rules:` items and the rule keys, and records where
//! each value starts (the first character after `key:`, or the next non-blank line when the
//! value starts there). Rules written in flow style (`{record: x, expr: y}`) get no position;
//! their errors name group, rule index and rule name only, which is still unambiguous.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

use crate::duration;
use crate::template::Template;
use crate::{Error, Result};

/// One rule file: its groups in file order.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// The path the file was read from (used in group keys and messages).
    pub path: String,
    /// The groups.
    pub groups: Vec<GroupSpec>,
}

/// A rule group as written.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// The group name (unique within its file).
    pub name: String,
    /// `interval`, in milliseconds; `None` uses the global evaluation interval.
    pub interval_ms: Option<i64>,
    /// `query_offset`, in milliseconds (Prometheus 3.x); `None` uses the global one.
    pub query_offset_ms: Option<i64>,
    /// `limit`: the most series a recording rule or alerts an alerting rule may produce; 0 is
    /// no limit.
    pub limit: usize,
    /// The rules, in evaluation order.
    pub rules: Vec<RuleSpec>,
}

/// What kind of rule, with the kind's own fields.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// A recording rule: its results are stored under `record` as metric name.
    Recording {
        /// The recorded metric name.
        record: String,
    },
    /// An alerting rule.
    Alerting {
        /// The alert name.
        alert: String,
        /// `for`: how long a condition must hold before the alert fires (ms).
        for_ms: i64,
        /// `keep_firing_for`: how long a firing alert keeps firing after its condition is
        /// gone (ms).
        keep_firing_for_ms: i64,
        /// Annotations (sorted by name) with their parsed templates.
        annotations: Vec<(String, String, Template)>,
        /// Label templates (sorted by name), parsed.
        label_templates: Vec<Template>,
    },
}

/// One rule as written.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// Recording or alerting, with the kind's fields.
    pub kind: RuleKind,
    /// The PromQL expression, as written.
    pub expr: String,
    /// Extra labels (sorted by name); for alerting rules the values are templates.
    pub labels: Vec<(String, String)>,
}

impl RuleSpec {
    /// The rule's name: the recorded metric or the alert name.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording { record } => record,
            RuleKind::Alerting { alert, .. } => alert,
        }
    }
}

/// One validation problem, displayed as Prometheus does:
/// `5:11: group "g", rule 1, "name": could not parse expression: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Line and column (1-based) of the YAML value at fault, when known.
    pub position: Option<(usize, usize)>,
    /// A second position (`record` and `alert` both set).
    pub position_alt: Option<(usize, usize)>,
    /// The group's name.
    pub group: String,
    /// 1-based index of the rule in its group; 0 for group-level problems.
    pub rule: usize,
    /// The rule's name.
    pub rule_name: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rule == 0 {
            if let Some((line, col)) = self.position {
                write!(f, "{line}:{col}: ")?;
            }
            return f.write_str(&self.message);
        }
        if let Some((line, col)) = self.position {
            write!(f, "{line}:{col}: ")?;
        }
        if let Some((line, col)) = self.position_alt {
            write!(f, "{line}:{col}: ")?;
        }
        write!(
            f,
            "group {:?}, rule {}, {:?}: {}",
            self.group, self.rule, self.rule_name, self.message
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    name: String,
    #[serde(default)]
    interval: Option<Scalar>,
    #[serde(default)]
    query_offset: Option<Scalar>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    record: Option<Scalar>,
    #[serde(default)]
    alert: Option<Scalar>,
    #[serde(default)]
    expr: Option<Scalar>,
    #[serde(default, rename = "for")]
    for_: Option<Scalar>,
    #[serde(default)]
    keep_firing_for: Option<Scalar>,
    #[serde(default)]
    labels: Option<BTreeMap<Scalar, Scalar>>,
    #[serde(default)]
    annotations: Option<BTreeMap<Scalar, Scalar>>,
}

/// A YAML scalar read as text, as Go's yaml decodes a scalar into a string (`1` is `"1"`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_yaml_ng::Value::deserialize(d)?;
        match value {
            serde_yaml_ng::Value::String(s) => Ok(Scalar(s)),
            serde_yaml_ng::Value::Number(n) => Ok(Scalar(n.to_string())),
            serde_yaml_ng::Value::Bool(b) => Ok(Scalar(b.to_string())),
            serde_yaml_ng::Value::Null => Ok(Scalar(String::new())),
            other => Err(D::Error::custom(format!(
                "cannot unmarshal {} into a string",
                match other {
                    serde_yaml_ng::Value::Sequence(_) => "!!seq",
                    serde_yaml_ng::Value::Mapping(_) => "!!map",
                    _ => "a tagged value",
                }
            ))),
        }
    }
}

/// Where a rule's values start in the source text.
#[derive(Debug, Clone, Default)]
struct RulePositions {
    /// Where the item's mapping starts (its first key).
    start: Option<(usize, usize)>,
    keys: HashMap<String, (usize, usize)>,
}

/// Finds the positions of group and rule values in block-style YAML (see the module docs).
/// Returns, per group in order, the group's own key positions and each rule's.
fn locate(source: &str) -> Vec<(RulePositions, Vec<RulePositions>)> {
    let lines: Vec<&str> = source.lines().collect();
    let mut groups: Vec<(RulePositions, Vec<RulePositions>)> = Vec::new();
    let mut group_dash: Option<usize> = None;
    let mut rule_dash: Option<usize> = None;
    let mut in_rules = false;
    let mut group_key_col = 0;
    let mut rule_key_col = 0;
    let mut seen_groups = false;
    let value_pos = |line_idx: usize, col: usize, line: &str| -> (usize, usize) {
        let rest = line.get(col..).unwrap_or("");
        let after_ws = rest.len() - rest.trim_start().len();
        if rest.trim().is_empty() || rest.trim_start().starts_with('#') {
            // The value starts on a following line.
            for (j, next) in lines.iter().enumerate().skip(line_idx + 1) {
                let t = next.trim_start();
                if !t.is_empty() && !t.starts_with('#') {
                    return (j + 1, next.len() - t.len() + 1);
                }
            }
            return (line_idx + 1, col + 1);
        }
        (line_idx + 1, col + after_ws + 1)
    };
    for (idx, raw) in lines.iter().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        if !seen_groups {
            if indent == 0 && trimmed.starts_with("groups:") {
                seen_groups = true;
            }
            continue;
        }
        let (is_item, key_col, body) = match trimmed.strip_prefix("- ") {
            Some(rest) => {
                let extra = rest.len() - rest.trim_start().len();
                (true, indent + 2 + extra, rest.trim_start())
            }
            None => (false, indent, trimmed),
        };
        let key = body
            .split_once(':')
            .map(|(k, _)| k.trim())
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let key_value_col = key.map(|k| key_col + k.len() + 1);
        // A new group item?
        if is_item
            && (group_dash.is_none() || group_dash == Some(indent))
            && !in_rules_item(indent, rule_dash, in_rules)
        {
            group_dash = Some(indent);
            groups.push((
                RulePositions {
                    start: Some((idx + 1, key_col + 1)),
                    keys: HashMap::new(),
                },
                Vec::new(),
            ));
            in_rules = false;
            rule_dash = None;
            group_key_col = key_col;
        }
        let Some((group_pos, rules)) = groups.last_mut() else {
            continue;
        };
        if in_rules && is_item && (rule_dash.is_none() || rule_dash == Some(indent)) {
            rule_dash = Some(indent);
            rules.push(RulePositions {
                start: Some((idx + 1, key_col + 1)),
                keys: HashMap::new(),
            });
            rule_key_col = key_col;
        }
        if let (Some(k), Some(vcol)) = (key, key_value_col) {
            if in_rules && rule_dash.is_some() && key_col == rule_key_col {
                if let Some(rule) = rules.last_mut() {
                    rule.keys
                        .entry(k.to_string())
                        .or_insert_with(|| value_pos(idx, vcol, raw));
                }
            } else if key_col == group_key_col {
                group_pos
                    .keys
                    .entry(k.to_string())
                    .or_insert_with(|| value_pos(idx, vcol, raw));
                if k == "rules" {
                    in_rules = true;
                    rule_dash = None;
                }
            }
        }
    }
    groups
}

fn in_rules_item(indent: usize, rule_dash: Option<usize>, in_rules: bool) -> bool {
    in_rules && rule_dash.is_some_and(|d| indent >= d)
}

fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A YAML error's text in Go's shape (`yaml: line 3: ...`), with serde's position.
fn yaml_message(err: &serde_yaml_ng::Error) -> String {
    let text = err.to_string();
    match err.location() {
        Some(loc) => {
            let core = text.split(" at line ").next().unwrap_or(&text).to_string();
            format!("yaml: line {}: column {}: {core}", loc.line(), loc.column())
        }
        None => format!("yaml: {text}"),
    }
}

/// Parses and validates rule file text. `path` names the file in messages.
///
/// On failure every problem found is returned ([`Error::InvalidRules`]), as `promtool check
/// rules` lists them all; a YAML error stops at the first ([`Error::Yaml`]).
pub fn parse_rule_file(path: &str, source: &str) -> Result<RuleFile> {
    let raw: RawFile = if source.trim().is_empty() {
        RawFile { groups: Vec::new() }
    } else {
        serde_yaml_ng::from_str(source).map_err(|err| Error::Yaml {
            path: path.to_string(),
            message: yaml_message(&err),
        })?
    };
    let positions = locate(source);
    let mut errors = Vec::new();
    let mut groups = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (group_idx, raw_group) in raw.groups.into_iter().enumerate() {
        let empty = (RulePositions::default(), Vec::new());
        let (group_pos, rule_pos) = positions.get(group_idx).unwrap_or(&empty);
        let group_at = group_pos.start;
        let group_error = |message: String| RuleError {
            position: group_at,
            position_alt: None,
            group: raw_group.name.clone(),
            rule: 0,
            rule_name: String::new(),
            message,
        };
        if raw_group.name.is_empty() {
            errors.push(group_error("Groupname must not be empty".into()));
        }
        if !names.insert(raw_group.name.clone()) {
            errors.push(group_error(format!(
                "groupname: \"{}\" is repeated in the same file",
                raw_group.name
            )));
        }
        let parse_dur =
            |field: &str, value: &Option<Scalar>, errors: &mut Vec<RuleError>| -> Option<i64> {
                let value = value.as_ref()?;
                match duration::parse(&value.0) {
                    Ok(ms) => Some(ms),
                    Err(message) => {
                        errors.push(RuleError {
                            position: group_pos.keys.get(field).copied(),
                            position_alt: None,
                            group: raw_group.name.clone(),
                            rule: 0,
                            rule_name: String::new(),
                            message: format!("{field}: {message}"),
                        });
                        None
                    }
                }
            };
        let interval_ms =
            parse_dur("interval", &raw_group.interval, &mut errors).filter(|&ms| ms != 0);
        let query_offset_ms = parse_dur("query_offset", &raw_group.query_offset, &mut errors);
        let limit = usize::try_from(raw_group.limit.unwrap_or(0)).unwrap_or(0);
        let mut rules = Vec::new();
        for (rule_idx, raw_rule) in raw_group.rules.into_iter().enumerate() {
            let empty_rule = RulePositions::default();
            let pos = rule_pos.get(rule_idx).unwrap_or(&empty_rule);
            // A key the rule does not have is Go's zero node: Prometheus prints it as 0:0.
            let located = pos.start.is_some();
            let at = |key: &str| {
                pos.keys
                    .get(key)
                    .copied()
                    .or(if located { Some((0, 0)) } else { None })
            };
            let record = raw_rule.record.map(|s| s.0).unwrap_or_default();
            let alert = raw_rule.alert.map(|s| s.0).unwrap_or_default();
            let expr = raw_rule.expr.map(|s| s.0).unwrap_or_default();
            let rule_name = if alert.is_empty() {
                record.clone()
            } else {
                alert.clone()
            };
            let mut push = |position: Option<(usize, usize)>,
                            position_alt: Option<(usize, usize)>,
                            message: String| {
                errors.push(RuleError {
                    position,
                    position_alt,
                    group: raw_group.name.clone(),
                    rule: rule_idx + 1,
                    rule_name: rule_name.clone(),
                    message,
                });
            };
            if !record.is_empty() && !alert.is_empty() {
                push(
                    at("record"),
                    at("alert"),
                    "only one of 'record' and 'alert' must be set".into(),
                );
            }
            if record.is_empty() && alert.is_empty() {
                push(
                    at("record"),
                    None,
                    "one of 'record' or 'alert' must be set".into(),
                );
            }
            if expr.is_empty() {
                push(at("expr"), None, "field 'expr' must be set in rule".into());
            } else if let Err(err) = promlite_promql::parse(&expr) {
                push(
                    at("expr"),
                    None,
                    format!("could not parse expression: {err}"),
                );
            }
            let mut for_ms = 0;
            let mut keep_firing_for_ms = 0;
            for (field, value, slot) in [
                ("for", &raw_rule.for_, &mut for_ms),
                (
                    "keep_firing_for",
                    &raw_rule.keep_firing_for,
                    &mut keep_firing_for_ms,
                ),
            ] {
                if let Some(v) = value {
                    match duration::parse(&v.0) {
                        Ok(ms) => *slot = ms,
                        Err(message) => push(at(field), None, format!("{field}: {message}")),
                    }
                }
            }
            let labels: Vec<(String, String)> = raw_rule
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.0, v.0))
                .collect();
            let annotations: Vec<(String, String)> = raw_rule
                .annotations
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.0, v.0))
                .collect();
            if !record.is_empty() {
                if !annotations.is_empty() {
                    push(
                        at("record"),
                        None,
                        "invalid field 'annotations' in recording rule".into(),
                    );
                }
                if for_ms != 0 {
                    push(
                        at("record"),
                        None,
                        "invalid field 'for' in recording rule".into(),
                    );
                }
                if keep_firing_for_ms != 0 {
                    push(
                        at("record"),
                        None,
                        "invalid field 'keep_firing_for' in recording rule".into(),
                    );
                }
                if !is_valid_metric_name(&record) {
                    push(
                        at("record"),
                        None,
                        format!("invalid recording rule name: {record}"),
                    );
                }
            }
            for (name, _) in &labels {
                if !is_valid_label_name(name) || name == "__name__" {
                    push(None, None, format!("invalid label name: {name}"));
                }
            }
            for (name, _) in &annotations {
                if !is_valid_label_name(name) {
                    push(None, None, format!("invalid annotation name: {name}"));
                }
            }
            let kind = if alert.is_empty() {
                RuleKind::Recording {
                    record: record.clone(),
                }
            } else {
                let mut label_templates = Vec::new();
                for (name, value) in &labels {
                    match Template::parse_alert(&alert, value) {
                        Ok(t) => label_templates.push(t),
                        Err(err) => push(None, None, format!("label {name:?}: {err}")),
                    }
                }
                let mut parsed_annotations = Vec::new();
                for (name, value) in &annotations {
                    match Template::parse_alert(&alert, value) {
                        Ok(t) => parsed_annotations.push((name.clone(), value.clone(), t)),
                        Err(err) => push(None, None, format!("annotation {name:?}: {err}")),
                    }
                }
                RuleKind::Alerting {
                    alert: alert.clone(),
                    for_ms,
                    keep_firing_for_ms,
                    annotations: parsed_annotations,
                    label_templates,
                }
            };
            rules.push(RuleSpec { kind, expr, labels });
        }
        groups.push(GroupSpec {
            name: raw_group.name,
            interval_ms,
            query_offset_ms,
            limit,
            rules,
        });
    }
    if !errors.is_empty() {
        return Err(Error::InvalidRules {
            path: path.to_string(),
            errors,
        });
    }
    Ok(RuleFile {
        path: path.to_string(),
        groups,
    })
}

/// Reads and parses a rule file from disk.
pub fn read_rule_file(path: &std::path::Path) -> Result<RuleFile> {
    let source = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_rule_file(&path.display().to_string(), &source)
}

/// A rule that appears twice in a file: same name and same labels (`promtool check rules`
/// warns about these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateRule {
    /// The metric or alert name.
    pub name: String,
    /// The rule's labels.
    pub labels: Vec<(String, String)>,
}

/// Finds rules with the same name and labels across all groups of `file`.
pub fn duplicate_rules(file: &RuleFile) -> Vec<DuplicateRule> {
    let mut seen: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut duplicates = Vec::new();
    for group in &file.groups {
        for rule in &group.rules {
            let key = (rule.name().to_string(), rule.labels.clone());
            if seen.contains(&key) {
                if !duplicates
                    .iter()
                    .any(|d: &DuplicateRule| d.name == key.0 && d.labels == key.1)
                {
                    duplicates.push(DuplicateRule {
                        name: key.0.clone(),
                        labels: key.1.clone(),
                    });
                }
            } else {
                seen.push(key);
            }
        }
    }
    duplicates
}

#[cfg(test)]
mod tests;
