//! The Go text/template subset rule files use in alert labels and annotations, with
//! Prometheus's data (`.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`) and the variables
//! Prometheus defines before every template (`$labels`, `$externalLabels`, `$externalURL`,
//! `$value`).
//!
//! Supported: text and actions with `{{-`/`-}}` trimming and comments; pipelines with `|`;
//! parentheses; variables (`:=`, `=`, block-scoped); field chains on maps, the root data and
//! query samples; `if`/`else if`/`else`, `range` (over label maps, `args` maps, query results
//! and ints, with one or two variables), `with`; the functions listed in [`funcs`]. Rejected
//! with a parse error: `define`, `template`, `block`, `break`, `continue`, method calls with
//! arguments, unknown functions and undefined variables (as Go rejects the last two).

mod exec;
pub mod funcs;
mod gofmt;
mod parse;
mod value;

use std::collections::BTreeMap;

pub use funcs::Environment;
pub use gofmt::{format_g, go_quote, sprintf};
pub use value::{QuerySample, Value};

/// What Prometheus prepends to every alert template, so `$labels` and friends exist.
const ALERT_DEFS: &str =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// A template that failed to parse or to execute, worded as Go's errors are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The text does not parse (reported by `check rules` and at load).
    #[error("template: {name}:{line}: {message}")]
    Parse {
        /// The template's name (`__alert_<alertname>`).
        name: String,
        /// 1-based line in the template text.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Execution failed (Prometheus then uses `<error expanding template: ...>` as the value).
    #[error("template: {name}:{line}:{column}: executing \"{name}\" at <{at}>: {message}")]
    Exec {
        /// The template's name.
        name: String,
        /// 1-based line.
        line: usize,
        /// 0-based byte column in the line (Go's convention).
        column: usize,
        /// The command that failed.
        at: String,
        /// What went wrong.
        message: String,
    },
}

/// The data an alert template sees.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertData {
    /// The alert's labels (the series' labels without `__name__`... as Prometheus gives them:
    /// the result sample's labels).
    pub labels: BTreeMap<String, String>,
    /// The configured external labels.
    pub external_labels: BTreeMap<String, String>,
    /// The configured external URL.
    pub external_url: String,
    /// The sample value.
    pub value: f64,
}

/// A parsed alert template, ready to expand many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    name: String,
    text: String,
    tree: parse::Tree,
}

impl Template {
    /// Parses an alert label or annotation template of the rule `alert_name`, with
    /// Prometheus's variable definitions in front (so error line numbers match Prometheus's).
    pub fn parse_alert(alert_name: &str, text: &str) -> Result<Template, TemplateError> {
        let name = format!("__alert_{alert_name}");
        let full = format!("{ALERT_DEFS}{text}");
        let tree = parse::parse(&name, &full)?;
        Ok(Template {
            name,
            text: full,
            tree,
        })
    }

    /// Parses `text` as a plain template named `name` (no predefined variables).
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let tree = parse::parse(name, text)?;
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            tree,
        })
    }

    /// Expands the template with `data`; `env` answers `query` and `externalURL`.
    pub fn expand(&self, data: &AlertData, env: &dyn Environment) -> Result<String, TemplateError> {
        let mut root = BTreeMap::new();
        root.insert("Labels".to_string(), Value::Map(data.labels.clone()));
        root.insert(
            "ExternalLabels".to_string(),
            Value::Map(data.external_labels.clone()),
        );
        root.insert(
            "ExternalURL".to_string(),
            Value::Str(data.external_url.clone()),
        );
        root.insert("Value".to_string(), Value::Float(data.value));
        exec::execute(&self.name, &self.text, &self.tree, &root, env)
    }

    /// Expands as Prometheus's rule manager does: a failure becomes the text
    /// `<error expanding template: ...>`.
    pub fn expand_or_error_text(&self, data: &AlertData, env: &dyn Environment) -> String {
        self.expand(data, env)
            .unwrap_or_else(|err| format!("<error expanding template: {err}>"))
    }
}

#[cfg(test)]
mod tests;
