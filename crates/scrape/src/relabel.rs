//! Relabelling as Prometheus 2.42 does it (`model/relabel/relabel.go`): the actions
//! `replace`, `keep`, `drop`, `keepequal`, `dropequal`, `hashmod`, `labelmap`, `labeldrop`,
//! `labelkeep`, `lowercase` and `uppercase`, with Prometheus's defaults (separator `;`, regex
//! `(.*)` fully anchored as `^(?:regex)$`, replacement `$1`, action `replace`) and its
//! configuration checks.
//!
//! Semantics worth knowing (all as Prometheus):
//! * The source value is the source labels' values (empty for absent ones) joined by the
//!   separator.
//! * `replace`: if the regex does not match, nothing changes. Otherwise the target label name
//!   and the replacement are expanded with the match's groups (`$1`, `${1}`, `$name`; `$1x`
//!   names the group `1x`, which does not exist, so it expands to nothing). An expanded target
//!   that is not a valid label name leaves the set unchanged; an empty replacement deletes the
//!   target label.
//! * `hashmod`: the md5 of the source value, its last 8 bytes read big-endian, modulo
//!   `modulus`, in decimal.
//! * `labelmap` renames by copying: every label whose name matches is copied to the expanded
//!   replacement (the original stays; `labeldrop` removes it if wanted).
//! * Setting a label to the empty string deletes it (an empty value means "absent").

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use promlite_model::Labels;
use regex::Regex;
use serde::Deserialize;

/// A mutable label set while relabelling: name → non-empty value, sorted by name.
pub type LabelMap = BTreeMap<String, String>;

/// A relabelling action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Writes the expanded replacement to the target label when the regex matches.
    Replace,
    /// Drops the label set unless the regex matches the source value.
    Keep,
    /// Drops the label set if the regex matches the source value.
    Drop,
    /// Drops the label set unless the target label's value equals the source value.
    KeepEqual,
    /// Drops the label set if the target label's value equals the source value.
    DropEqual,
    /// Writes md5(source value) mod modulus to the target label.
    HashMod,
    /// Copies every label whose name matches to the expanded replacement name.
    LabelMap,
    /// Removes every label whose name matches.
    LabelDrop,
    /// Removes every label whose name does not match.
    LabelKeep,
    /// Writes the lower-cased source value to the target label.
    Lowercase,
    /// Writes the upper-cased source value to the target label.
    Uppercase,
}

impl Action {
    /// Parses an action name (case-insensitive, as Prometheus).
    pub fn parse(name: &str) -> Option<Action> {
        Some(match name.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return None,
        })
    }

    /// The action's name as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

/// Prometheus's default separator.
pub const DEFAULT_SEPARATOR: &str = ";";
/// Prometheus's default regex (before anchoring).
pub const DEFAULT_REGEX: &str = "(.*)";
/// Prometheus's default replacement.
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// One validated relabelling step.
#[derive(Debug, Clone)]
pub struct RelabelConfig {
    /// Labels whose values are joined into the source value.
    pub source_labels: Vec<String>,
    /// Joins the source values.
    pub separator: String,
    /// The regex as written (unanchored).
    pub regex_source: String,
    /// The anchored regex `^(?:regex_source)$`.
    pub regex: Regex,
    /// `hashmod`'s modulus.
    pub modulus: u64,
    /// The label written by replace, hashmod, lowercase, uppercase (compared by the *equal
    /// actions).
    pub target_label: String,
    /// The replacement template.
    pub replacement: String,
    /// What to do.
    pub action: Action,
}

/// The YAML form of a relabel config (every field optional, unknown fields rejected).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRelabelConfig {
    #[serde(default)]
    source_labels: Option<Vec<String>>,
    #[serde(default)]
    separator: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    modulus: Option<u64>,
    #[serde(default)]
    target_label: Option<String>,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

impl<'de> Deserialize<'de> for RelabelConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawRelabelConfig::deserialize(deserializer)?;
        RelabelConfig::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

/// True for a legacy Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Compiles `source` anchored as Prometheus does.
pub fn anchored_regex(source: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{source})$")).map_err(|e| format!("invalid regex {source:?}: {e}"))
}

impl RelabelConfig {
    /// A config with Prometheus's defaults for `action` (tests and programmatic use).
    pub fn new(action: Action) -> RelabelConfig {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            regex_source: DEFAULT_REGEX.to_string(),
            regex: Regex::new("^(?:(.*))$").expect("the default relabel regex compiles"),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_string(),
            action,
        }
    }

    pub(crate) fn from_raw(raw: RawRelabelConfig) -> Result<RelabelConfig, String> {
        let action = match raw.action.as_deref() {
            None => Action::Replace,
            Some("") => return Err("relabel action cannot be empty".into()),
            Some(name) => {
                Action::parse(name).ok_or_else(|| format!("unknown relabel action {name:?}"))?
            }
        };
        let regex_source = raw
            .regex
            .clone()
            .unwrap_or_else(|| DEFAULT_REGEX.to_string());
        let config = RelabelConfig {
            source_labels: raw.source_labels.clone().unwrap_or_default(),
            separator: raw
                .separator
                .clone()
                .unwrap_or_else(|| DEFAULT_SEPARATOR.into()),
            regex: anchored_regex(&regex_source)?,
            regex_source,
            modulus: raw.modulus.unwrap_or(0),
            target_label: raw.target_label.clone().unwrap_or_default(),
            replacement: raw
                .replacement
                .clone()
                .unwrap_or_else(|| DEFAULT_REPLACEMENT.into()),
            action,
        };
        for name in &config.source_labels {
            if !is_valid_label_name(name) {
                return Err(format!("{name:?} is not a valid label name"));
            }
        }
        config.validate(&raw)?;
        Ok(config)
    }

    /// Prometheus's `relabel.Config.Validate` checks.
    fn validate(&self, raw: &RawRelabelConfig) -> Result<(), String> {
        use Action::*;
        let action = self.action.as_str();
        if self.action == HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            self.action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(format!(
                "relabel configuration for {action} action requires 'target_label' value"
            ));
        }
        let invalid_target = || {
            format!(
                "{:?} is invalid 'target_label' for {action} action",
                self.target_label
            )
        };
        if self.action == Replace {
            let ok = if self.target_label.contains('$') {
                is_template_label(&self.target_label)
            } else {
                is_valid_label_name(&self.target_label)
            };
            if !ok {
                return Err(invalid_target());
            }
        }
        if matches!(
            self.action,
            Lowercase | Uppercase | KeepEqual | DropEqual | HashMod
        ) && !is_valid_label_name(&self.target_label)
        {
            return Err(invalid_target());
        }
        if matches!(self.action, Lowercase | Uppercase | KeepEqual | DropEqual)
            && self.replacement != DEFAULT_REPLACEMENT
        {
            return Err(format!("'replacement' can not be set for {action} action"));
        }
        if self.action == LabelMap && !is_template_label(&self.replacement) {
            return Err(format!(
                "{:?} is invalid 'replacement' for {action} action",
                self.replacement
            ));
        }
        if matches!(self.action, KeepEqual | DropEqual)
            && (self.regex_source != DEFAULT_REGEX
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{action} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(self.action, LabelDrop | LabelKeep)
            && (raw.source_labels.is_some()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{action} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }
}

/// Prometheus's `relabelTarget` pattern: label-name characters and `$name`/`${name}`
/// references, starting with a letter, `_` or a reference.
fn is_template_label(s: &str) -> bool {
    static PATTERN: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    PATTERN
        .get_or_init(|| Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(s))
}

/// Sets `name` to `value`, deleting it when `value` is empty.
fn set(labels: &mut LabelMap, name: &str, value: String) {
    if value.is_empty() {
        labels.remove(name);
    } else {
        labels.insert(name.to_string(), value);
    }
}

/// Applies `configs` in order; false if a keep/drop step dropped the set (then `labels` is
/// left as it was at that step).
pub fn process(labels: &mut LabelMap, configs: &[RelabelConfig]) -> bool {
    configs.iter().all(|config| apply(labels, config))
}

/// Relabels a [`Labels`]: `None` if dropped.
pub fn process_labels(labels: &Labels, configs: &[RelabelConfig]) -> Option<Labels> {
    if configs.is_empty() {
        return Some(labels.clone());
    }
    let mut map = to_map(labels);
    process(&mut map, configs).then(|| from_map(&map))
}

/// A [`Labels`] as a mutable map.
pub fn to_map(labels: &Labels) -> LabelMap {
    labels
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

/// A map back as [`Labels`] (empty values cannot occur: `set` deletes them).
pub fn from_map(map: &LabelMap) -> Labels {
    Labels::from_pairs(map.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// One step; false if it drops the set.
fn apply(labels: &mut LabelMap, config: &RelabelConfig) -> bool {
    let value = config
        .source_labels
        .iter()
        .map(|name| labels.get(name).map_or("", String::as_str))
        .collect::<Vec<_>>()
        .join(&config.separator);
    match config.action {
        Action::Drop => return !config.regex.is_match(&value),
        Action::Keep => return config.regex.is_match(&value),
        Action::DropEqual => {
            return labels.get(&config.target_label).map_or("", String::as_str) != value
        }
        Action::KeepEqual => {
            return labels.get(&config.target_label).map_or("", String::as_str) == value
        }
        Action::Replace => {
            let Some(captures) = config.regex.captures(&value) else {
                return true;
            };
            let mut target = String::new();
            captures.expand(&config.target_label, &mut target);
            if !is_valid_label_name(&target) {
                return true;
            }
            let mut replaced = String::new();
            captures.expand(&config.replacement, &mut replaced);
            set(labels, &target, replaced);
        }
        Action::Lowercase => set(labels, &config.target_label, value.to_lowercase()),
        Action::Uppercase => set(labels, &config.target_label, value.to_uppercase()),
        Action::HashMod => {
            let digest = Md5::digest(value.as_bytes());
            let mut tail = [0u8; 8];
            tail.copy_from_slice(digest.get(8..16).unwrap_or(&[0; 8]));
            let modulus = config.modulus.max(1);
            set(
                labels,
                &config.target_label,
                (u64::from_be_bytes(tail) % modulus).to_string(),
            );
        }
        Action::LabelMap => {
            let snapshot: Vec<(String, String)> =
                labels.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
            for (name, label_value) in snapshot {
                if config.regex.is_match(&name) {
                    let new_name = config
                        .regex
                        .replace_all(&name, config.replacement.as_str())
                        .into_owned();
                    set(labels, &new_name, label_value);
                }
            }
        }
        Action::LabelDrop => labels.retain(|name, _| !config.regex.is_match(name)),
        Action::LabelKeep => labels.retain(|name, _| config.regex.is_match(name)),
    }
    true
}
