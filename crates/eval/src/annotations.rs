//! Warnings and infos ("annotations") collected while a query runs, formatted as Prometheus does:
//! `PromQL warning: <text> (line:col)`.

/// Whether an annotation is a warning or an info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Warning,
    Info,
}

/// Deduplicated annotations in first-seen order.
#[derive(Debug, Default)]
pub(crate) struct Annotations {
    items: Vec<(Kind, String)>,
}

impl Annotations {
    /// Adds `text` (without the `PromQL warning: ` prefix) at byte offset `pos` of `query`.
    pub(crate) fn add(&mut self, kind: Kind, text: String, query: &str, pos: u32) {
        let prefix = match kind {
            Kind::Warning => "PromQL warning: ",
            Kind::Info => "PromQL info: ",
        };
        let msg = format!("{prefix}{text} ({})", position(query, pos));
        if !self.items.iter().any(|(_, m)| *m == msg) {
            self.items.push((kind, msg));
        }
    }

    /// Appends `other`'s annotations after these, skipping ones already here: the order a
    /// sequential evaluation would have produced when `other` was collected after `self`.
    pub(crate) fn extend(&mut self, other: Annotations) {
        for (kind, msg) in other.items {
            if !self.items.iter().any(|(_, m)| *m == msg) {
                self.items.push((kind, msg));
            }
        }
    }

    /// Splits into (warnings, infos).
    pub(crate) fn into_strings(self) -> (Vec<String>, Vec<String>) {
        let mut warnings = Vec::new();
        let mut infos = Vec::new();
        for (kind, msg) in self.items {
            match kind {
                Kind::Warning => warnings.push(msg),
                Kind::Info => infos.push(msg),
            }
        }
        (warnings, infos)
    }
}

/// `line:col` (both 1-based, col counted in bytes) of byte offset `pos` in `query`.
pub(crate) fn position(query: &str, pos: u32) -> String {
    let pos = (pos as usize).min(query.len());
    let before = query.get(..pos).unwrap_or("");
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let col = match before.rfind('\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{line}:{col}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        assert_eq!(position("rate(foo[5m])", 5), "1:6");
        assert_eq!(position("a\nbc", 3), "2:2");
        assert_eq!(position("", 9), "1:1");
    }

    #[test]
    fn duplicates_are_dropped() {
        let mut a = Annotations::default();
        a.add(Kind::Info, "x".into(), "q", 0);
        a.add(Kind::Info, "x".into(), "q", 0);
        a.add(Kind::Warning, "y".into(), "q", 0);
        let (w, i) = a.into_strings();
        assert_eq!(w, vec!["PromQL warning: y (1:1)".to_string()]);
        assert_eq!(i, vec!["PromQL info: x (1:1)".to_string()]);
    }
}
