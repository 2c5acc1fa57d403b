//! Target labels as a scraper attaches them to scraped samples, shared by live scraping
//! (`promlite-scrape`) and replay (directory replay with [`ReplayTarget`](crate::replay::ReplayTarget)).
//!
//! The rules are Prometheus 2.42's (`scrape/scrape.go`, `mutateSampleLabels` and
//! `mutateReportSampleLabels`):
//!
//! * `honor_labels: true`: a label the sample already has wins; target labels only fill in
//!   names the sample lacks.
//! * `honor_labels: false` (the default): every target label is set; a scraped label whose name
//!   collides with a target label is kept as `exported_<name>` (prefixed again, as often as
//!   needed, while that name is taken by a scraped label, a target label or an earlier renamed
//!   one; shorter names are renamed first).
//! * The synthetic series (`up`, `scrape_duration_seconds`, ...) get the target labels set
//!   unconditionally ([`report_labels`]).

use promlite_model::{Label, Labels};

/// The prefix a scraped label gets when a target label has its name.
pub const EXPORTED_LABEL_PREFIX: &str = "exported_";

/// `scraped` with the target's labels attached under `honor_labels` semantics (see the module
/// docs). Empty values never occur in a [`Labels`], so "has" means "has a non-empty value",
/// as in Prometheus.
pub fn merge_target_labels(scraped: &Labels, target: &Labels, honor_labels: bool) -> Labels {
    if target.is_empty() {
        return scraped.clone();
    }
    let mut out: Vec<Label> = scraped.iter().cloned().collect();
    if honor_labels {
        for label in target {
            if !scraped.has(&label.name) {
                out.push(label.clone());
            }
        }
        return Labels::from_vec(out);
    }
    // Scraped labels that a target label overrides, renamed below.
    let mut conflicting: Vec<Label> = Vec::new();
    for label in target {
        if let Some(existing) = scraped.get(&label.name) {
            conflicting.push(Label::new(label.name.clone(), existing));
        }
    }
    out.retain(|l| !target.has(&l.name));
    out.extend(target.iter().cloned());
    if !conflicting.is_empty() {
        // Stable sort by name length, as Prometheus's resolveConflictingExposedLabels.
        conflicting.sort_by_key(|l| l.name.len());
        for i in 0..conflicting.len() {
            let mut new_name = conflicting
                .get(i)
                .map(|l| l.name.to_string())
                .unwrap_or_default();
            loop {
                new_name = format!("{EXPORTED_LABEL_PREFIX}{new_name}");
                let taken_earlier = conflicting
                    .get(..i)
                    .is_some_and(|earlier| earlier.iter().any(|l| *l.name == *new_name));
                if !scraped.has(&new_name) && !target.has(&new_name) && !taken_earlier {
                    break;
                }
            }
            if let Some(slot) = conflicting.get_mut(i) {
                slot.name = new_name.into();
            }
        }
        // Renamed names are free by construction, so setting them cannot clobber anything.
        out.extend(conflicting);
    }
    Labels::from_vec(out)
}

/// The label set of a synthetic series (`up`, `scrape_duration_seconds`, ...) of a target:
/// `__name__` plus every target label.
pub fn report_labels(metric_name: &str, target: &Labels) -> Labels {
    let mut out: Vec<Label> = Vec::with_capacity(target.len() + 1);
    out.push(Label::new("__name__", metric_name));
    out.extend(target.iter().filter(|l| &*l.name != "__name__").cloned());
    Labels::from_vec(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn honor_labels_keeps_scraped_values() {
        let scraped = labels(&[("__name__", "x"), ("job", "pushed"), ("a", "1")]);
        let target = labels(&[("job", "node"), ("instance", "h:1")]);
        assert_eq!(
            merge_target_labels(&scraped, &target, true),
            labels(&[
                ("__name__", "x"),
                ("job", "pushed"),
                ("a", "1"),
                ("instance", "h:1")
            ])
        );
    }

    #[test]
    fn conflicts_become_exported_labels() {
        // Prometheus's TestScrapeLoopAppend-style cases: the scraped value moves to exported_*.
        let scraped = labels(&[("__name__", "x"), ("job", "pushed")]);
        let target = labels(&[("job", "node"), ("instance", "h:1")]);
        assert_eq!(
            merge_target_labels(&scraped, &target, false),
            labels(&[
                ("__name__", "x"),
                ("exported_job", "pushed"),
                ("job", "node"),
                ("instance", "h:1")
            ])
        );
    }

    #[test]
    fn exported_names_already_taken_are_prefixed_again() {
        // Same as Prometheus's TestScrapeLoopAppendWithConflictingExposedLabels cases.
        let scraped = labels(&[("__name__", "x"), ("foo", "a"), ("exported_foo", "b")]);
        let target = labels(&[("foo", "t")]);
        assert_eq!(
            merge_target_labels(&scraped, &target, false),
            labels(&[
                ("__name__", "x"),
                ("foo", "t"),
                ("exported_foo", "b"),
                ("exported_exported_foo", "a")
            ])
        );
        let scraped = labels(&[("__name__", "x"), ("foo", "a")]);
        let target = labels(&[("foo", "t"), ("exported_foo", "u")]);
        assert_eq!(
            merge_target_labels(&scraped, &target, false),
            labels(&[
                ("__name__", "x"),
                ("foo", "t"),
                ("exported_foo", "u"),
                ("exported_exported_foo", "a")
            ])
        );
    }

    #[test]
    fn report_series_carry_target_labels() {
        let target = labels(&[("job", "node"), ("instance", "h:1")]);
        assert_eq!(
            report_labels("up", &target),
            labels(&[("__name__", "up"), ("job", "node"), ("instance", "h:1")])
        );
    }
}
