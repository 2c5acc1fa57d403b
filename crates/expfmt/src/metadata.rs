//! Metric family metadata as exposition text declares it (`# HELP`, `# TYPE`, `# UNIT`), tracked
//! across the lines and scrapes of one ingest so every ingest path (replay, scrape, import)
//! derives the same description from the same text.
//!
//! The rules follow Prometheus's scrape cache: an entry is keyed by the family name exactly as
//! the metadata line writes it (`http_requests_total` in the text format, `http_requests` for an
//! OpenMetrics counter); each line sets one field and leaves the others as they were, so a
//! family with only a HELP line has type `unknown`, and a later scrape without a HELP line keeps
//! the earlier text.

use std::collections::HashMap;

use crate::parse::{Entry, MetricType};

/// What the metadata lines of one family said so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FamilyMetadata {
    /// The `# TYPE` (`unknown` until one is seen; the text format's `untyped` is `unknown`).
    pub metric_type: MetricType,
    /// The `# HELP` text, unescaped.
    pub help: String,
    /// The `# UNIT` (OpenMetrics).
    pub unit: String,
}

/// Tracks [`FamilyMetadata`] per family name over a stream of [`Entry`] values.
#[derive(Debug, Clone, Default)]
pub struct MetadataTracker {
    families: HashMap<String, FamilyMetadata>,
}

impl MetadataTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `entry` if it is a metadata line and returns the family's name and its
    /// description after the line when that changed it; `None` for other entries and for a
    /// line that repeats what was known.
    pub fn observe(&mut self, entry: &Entry<'_, '_>) -> Option<(&str, &FamilyMetadata)> {
        let name: &str = match entry {
            Entry::Help { name, .. } | Entry::Unit { name, .. } | Entry::Type { name, .. } => name,
            _ => return None,
        };
        let fresh = !self.families.contains_key(name);
        let slot = self.families.entry(name.to_string()).or_default();
        let changed = match entry {
            Entry::Help { help, .. } => set(&mut slot.help, help),
            Entry::Unit { unit, .. } => set(&mut slot.unit, unit),
            Entry::Type { metric_type, .. } => {
                let changed = slot.metric_type != *metric_type;
                slot.metric_type = *metric_type;
                changed
            }
            _ => false,
        } || fresh;
        if !changed {
            return None;
        }
        self.families
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Every family seen so far.
    pub fn families(&self) -> impl Iterator<Item = (&str, &FamilyMetadata)> {
        self.families.iter().map(|(k, v)| (k.as_str(), v))
    }
}

fn set(field: &mut String, value: &str) -> bool {
    if field == value {
        return false;
    }
    field.clear();
    field.push_str(value);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Format, Parser};

    fn track(text: &str, format: Format) -> Vec<(String, FamilyMetadata)> {
        let mut tracker = MetadataTracker::new();
        let mut parser = Parser::new(text, format);
        let mut changes = Vec::new();
        while let Some(entry) = parser.next_entry().unwrap() {
            if let Some((name, meta)) = tracker.observe(&entry) {
                changes.push((name.to_string(), meta.clone()));
            }
        }
        changes
    }

    #[test]
    fn each_line_sets_one_field_and_repeats_are_quiet() {
        let text = "# HELP a_total Counts \\\\ things.\n# TYPE a_total counter\na_total 1\n\
                    # HELP a_total Counts \\\\ things.\n# HELP b Only help.\nb 2\n";
        let changes = track(text, Format::Prometheus);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert_eq!(changes[1].0, "a_total");
        assert_eq!(changes[1].1.metric_type, MetricType::Counter);
        assert_eq!(changes[1].1.help, "Counts \\ things.");
        assert_eq!(changes[2].0, "b");
        assert_eq!(changes[2].1.metric_type, MetricType::Unknown);
    }

    #[test]
    fn open_metrics_units_and_family_names() {
        let text = "# TYPE req_seconds counter\n# UNIT req_seconds seconds\n\
                    # HELP req_seconds R.\nreq_seconds_total 1\n# EOF\n";
        let changes = track(text, Format::OpenMetrics);
        let last = &changes.last().unwrap().1;
        assert_eq!(changes.last().unwrap().0, "req_seconds");
        assert_eq!(last.unit, "seconds");
        assert_eq!(last.help, "R.");
        assert_eq!(last.metric_type.as_str(), "counter");
    }
}
