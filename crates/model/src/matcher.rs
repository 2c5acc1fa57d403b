//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's fully anchored regex semantics.
//!
//! A regex matcher matches the whole value: `re` is compiled as `^(?s:re)$`, so `.` also matches
//! a newline. Common regex shapes are answered without the regex engine (see `FastPath`); the
//! storage index asks [`Matcher::set_matches`] to turn `a|b|c` into direct postings look-ups.

use std::fmt;

use crate::labels::write_quoted;
use crate::{Error, Result};

/// The four matcher operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }

    /// True for `!=` and `!~`.
    pub fn is_negative(self) -> bool {
        matches!(self, MatchOp::NotEqual | MatchOp::NotRegex)
    }
}

/// How a regex matcher is evaluated. Chosen once, at construction.
#[derive(Clone)]
enum FastPath {
    /// `.*`: every value, including empty.
    Any,
    /// `.+`: every non-empty value.
    NonEmpty,
    /// A literal or an alternation of literals, sorted and deduplicated (`a|b|c`).
    Set(Vec<String>),
    /// `lit.*`
    Prefix(String),
    /// `.*lit`
    Suffix(String),
    /// `.*lit.*`
    Contains(String),
    /// Anything else: the anchored regex.
    Regex(regex::Regex),
}

/// A compiled label matcher.
#[derive(Clone)]
pub struct Matcher {
    /// The operator.
    pub op: MatchOp,
    /// The label name.
    pub name: String,
    /// The value or regex, as written.
    pub value: String,
    fast: Option<FastPath>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.op == other.op && self.name == other.name && self.value == other.value
    }
}

impl Eq for Matcher {}

impl std::hash::Hash for Matcher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.op.hash(state);
        self.name.hash(state);
        self.value.hash(state);
    }
}

impl Matcher {
    /// Compiles a matcher. Fails only for an invalid regex.
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let value = value.into();
        let fast = match op {
            MatchOp::Equal | MatchOp::NotEqual => None,
            MatchOp::Regex | MatchOp::NotRegex => Some(compile_regex(&name, &value)?),
        };
        Ok(Self {
            op,
            name,
            value,
            fast,
        })
    }

    /// `name="value"`; never fails.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            op: MatchOp::Equal,
            name: name.into(),
            value: value.into(),
            fast: None,
        }
    }

    /// `name=~"v1|v2|..."` for an exact set of values, built without the regex engine. The
    /// written form escapes regex metacharacters, so printing and re-parsing it gives the same
    /// set. Used to push join keys down into selectors; sets of thousands of values are fine.
    pub fn regex_set(
        name: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let mut set: Vec<String> = values.into_iter().map(Into::into).collect();
        set.sort();
        set.dedup();
        let value = if set.is_empty() {
            // `=~""` would match the empty string; this class matches no character at all.
            r"[^\x00-\x{10FFFF}]".to_string()
        } else {
            set.iter()
                .map(|v| regex_syntax::escape(v))
                .collect::<Vec<_>>()
                .join("|")
        };
        Self {
            op: MatchOp::Regex,
            name: name.into(),
            value,
            fast: Some(FastPath::Set(set)),
        }
    }

    /// True if the label value `v` satisfies the matcher. An absent label is the empty string.
    #[inline]
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.regex_matches(v),
            MatchOp::NotRegex => !self.regex_matches(v),
        }
    }

    #[inline]
    fn regex_matches(&self, v: &str) -> bool {
        match &self.fast {
            Some(FastPath::Any) => true,
            Some(FastPath::NonEmpty) => !v.is_empty(),
            Some(FastPath::Set(set)) => {
                if set.len() <= 8 {
                    set.iter().any(|s| s == v)
                } else {
                    set.binary_search_by(|s| s.as_str().cmp(v)).is_ok()
                }
            }
            Some(FastPath::Prefix(p)) => v.starts_with(p.as_str()),
            Some(FastPath::Suffix(s)) => v.ends_with(s.as_str()),
            Some(FastPath::Contains(s)) => v.contains(s.as_str()),
            Some(FastPath::Regex(re)) => re.is_match(v),
            None => false,
        }
    }

    /// True if the matcher accepts the empty string, i.e. it also selects series *without* the
    /// label. The index must then subtract instead of intersect.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=` and for `=~` whose regex is a literal alternation: the exact values it accepts
    /// (sorted). The index looks these up directly instead of scanning every value.
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        match (self.op, &self.fast) {
            (MatchOp::Equal, _) => Some(vec![self.value.as_str()]),
            (MatchOp::Regex, Some(FastPath::Set(set))) => {
                Some(set.iter().map(String::as_str).collect())
            }
            _ => None,
        }
    }

    /// For `=~` and `!~`: the literal prefix every accepted value starts with, if known.
    pub fn prefix(&self) -> Option<&str> {
        match &self.fast {
            Some(FastPath::Prefix(p)) => Some(p),
            _ => None,
        }
    }

    /// The inverse matcher (`=` ↔ `!=`, `=~` ↔ `!~`).
    pub fn inverse(&self) -> Matcher {
        let op = match self.op {
            MatchOp::Equal => MatchOp::NotEqual,
            MatchOp::NotEqual => MatchOp::Equal,
            MatchOp::Regex => MatchOp::NotRegex,
            MatchOp::NotRegex => MatchOp::Regex,
        };
        Matcher { op, ..self.clone() }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if crate::labels::is_legacy_name(&self.name) {
            f.write_str(&self.name)?;
        } else {
            write_quoted(f, &self.name)?;
        }
        f.write_str(self.op.as_str())?;
        write_quoted(f, &self.value)
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Characters with a meaning in regex syntax. A pattern without any of them (other than `|`) is a
/// literal alternation.
fn is_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
    )
}

fn is_plain_literal(s: &str) -> bool {
    !s.chars().any(is_meta)
}

fn compile_regex(name: &str, re: &str) -> Result<FastPath> {
    // Always compile once so that invalid regexes are rejected even when a fast path would apply.
    let anchored = format!("^(?s:{re})$");
    let compiled = regex::Regex::new(&anchored).map_err(|e| Error::InvalidRegex {
        label: name.to_string(),
        regex: re.to_string(),
        message: e.to_string(),
    })?;
    if re == ".*" {
        return Ok(FastPath::Any);
    }
    if re == ".+" {
        return Ok(FastPath::NonEmpty);
    }
    if re.split('|').all(is_plain_literal) {
        let mut set: Vec<String> = re.split('|').map(str::to_string).collect();
        set.sort();
        set.dedup();
        return Ok(FastPath::Set(set));
    }
    if let Some(inner) = re.strip_prefix(".*").and_then(|r| r.strip_suffix(".*")) {
        if !inner.is_empty() && is_plain_literal(inner) {
            return Ok(FastPath::Contains(inner.to_string()));
        }
    }
    if let Some(prefix) = re.strip_suffix(".*") {
        if is_plain_literal(prefix) {
            return Ok(FastPath::Prefix(prefix.to_string()));
        }
    }
    if let Some(suffix) = re.strip_prefix(".*") {
        if is_plain_literal(suffix) {
            return Ok(FastPath::Suffix(suffix.to_string()));
        }
    }
    Ok(FastPath::Regex(compiled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(op: MatchOp, v: &str) -> Matcher {
        Matcher::new(op, "l", v).unwrap()
    }

    #[test]
    fn regex_is_fully_anchored() {
        let x = m(MatchOp::Regex, "fo+");
        assert!(x.matches("foo"));
        assert!(!x.matches("xfoo"));
        assert!(!x.matches("foox"));
    }

    #[test]
    fn dot_matches_newline() {
        assert!(m(MatchOp::Regex, "a.b").matches("a\nb"));
        assert!(m(MatchOp::Regex, ".*").matches("a\nb"));
    }

    #[test]
    fn fast_paths_report_sets_and_prefixes() {
        let set = m(MatchOp::Regex, "b|a|c|a");
        assert_eq!(set.set_matches(), Some(vec!["a", "b", "c"]));
        assert!(set.matches("b"));
        assert!(!set.matches("ab"));
        assert_eq!(m(MatchOp::Regex, "foo.*").prefix(), Some("foo"));
        assert!(m(MatchOp::Regex, "a|").matches_empty());
        assert!(!m(MatchOp::Regex, ".+").matches_empty());
        assert!(m(MatchOp::NotRegex, ".+").matches_empty());
    }

    #[test]
    fn regex_set_escapes_and_matches_exactly() {
        let x = Matcher::regex_set("pod", ["a.b", "c", "a.b"]);
        assert_eq!(x.set_matches(), Some(vec!["a.b", "c"]));
        assert!(x.matches("a.b"));
        assert!(!x.matches("axb"));
        let reparsed = Matcher::new(MatchOp::Regex, "pod", x.value.clone()).unwrap();
        for v in ["a.b", "axb", "c", ""] {
            assert_eq!(reparsed.matches(v), x.matches(v), "{v}");
        }
        let empty = Matcher::regex_set("pod", Vec::<String>::new());
        let reparsed = Matcher::new(MatchOp::Regex, "pod", empty.value.clone()).unwrap();
        for v in ["x", ""] {
            assert!(!empty.matches(v));
            assert!(!reparsed.matches(v));
        }
    }

    #[test]
    fn invalid_regex_is_an_error_not_a_panic() {
        let err = Matcher::new(MatchOp::Regex, "job", "a(").unwrap_err();
        assert!(err.to_string().contains("job"), "{err}");
    }

    #[test]
    fn display_round_trips_quotes() {
        let x = Matcher::new(MatchOp::NotRegex, "a", "x\"y").unwrap();
        assert_eq!(x.to_string(), r#"a!~"x\"y""#);
    }

    proptest! {
        /// Every fast path agrees with the anchored regex engine.
        #[test]
        fn fast_path_agrees_with_regex(
            pattern in prop_oneof![
                Just(".*".to_string()), Just(".+".to_string()),
                "[a-c]{0,3}(\\|[a-c]{0,3}){0,3}",
                "[a-c]{1,3}\\.\\*", "\\.\\*[a-c]{1,3}", "\\.\\*[a-c]{1,2}\\.\\*",
                "[a-c.*+|]{0,6}",
            ],
            value in "[a-c\n]{0,5}",
        ) {
            if let Ok(x) = Matcher::new(MatchOp::Regex, "l", pattern.clone()) {
                let re = regex::Regex::new(&format!("^(?s:{pattern})$")).unwrap();
                prop_assert_eq!(x.matches(&value), re.is_match(&value), "pattern {:?} value {:?}", pattern, value);
                prop_assert_eq!(x.inverse().matches(&value), !re.is_match(&value));
            }
        }
    }
}
