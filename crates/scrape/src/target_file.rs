//! `target.yml`: the description of the target a scrape directory was captured from, read by
//! `promlite replay` so replayed series get the target's labels.
//!
//! ```yaml
//! labels:            # attached to every series (honor_labels rules)
//!   job: node
//!   instance: host:9100
//! honor_labels: false      # default false
//! honor_timestamps: true   # default true
//! ```
//!
//! Unknown keys are rejected with their position.

use std::collections::BTreeMap;
use std::path::Path;

use promlite::{Labels, ReplayTarget};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::relabel::is_valid_label_name;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargetFile {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    honor_labels: bool,
    #[serde(default = "yes")]
    honor_timestamps: bool,
}

fn yes() -> bool {
    true
}

/// Reads `<dir>/target.yml` if it exists.
pub fn load_target_file(dir: &Path) -> Result<Option<ReplayTarget>> {
    let path = dir.join(promlite::TARGET_FILE_NAME);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    parse_target_file(&text, &path).map(Some)
}

/// Parses the text of a target file (`path` names it in errors).
pub fn parse_target_file(text: &str, path: &Path) -> Result<ReplayTarget> {
    let raw: RawTargetFile = serde_yaml_ng::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m)
            .to_string();
        Error::Config {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    })?;
    if let Some(bad) = raw
        .labels
        .keys()
        .find(|k| !is_valid_label_name(k) || k.starts_with("__"))
    {
        return Err(Error::Config {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("{bad:?} is not a valid target label name"),
        });
    }
    Ok(ReplayTarget {
        labels: Labels::from_pairs(raw.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        honor_labels: raw.honor_labels,
        honor_timestamps: raw.honor_timestamps,
        scrape_series: false,
    })
}

/// The text of a target file for `target` (what a capture writes beside its scrapes).
pub fn render_target_file(target: &ReplayTarget) -> String {
    let mut out = String::from("labels:\n");
    for label in &target.labels {
        out.push_str(&format!("  {}: {:?}\n", label.name, label.value));
    }
    out.push_str(&format!(
        "honor_labels: {}\nhonor_timestamps: {}\n",
        target.honor_labels, target.honor_timestamps
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown_keys() {
        let target = ReplayTarget {
            labels: Labels::from_pairs([("job", "node"), ("instance", "h:9100")]),
            honor_labels: true,
            honor_timestamps: false,
            scrape_series: false,
        };
        let text = render_target_file(&target);
        assert_eq!(
            parse_target_file(&text, Path::new("t.yml")).unwrap(),
            target
        );
        let err = parse_target_file("labels: {}\nhonour_labels: true\n", Path::new("t.yml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.yml:2:1: unknown field `honour_labels`"),
            "{err}"
        );
    }
}
