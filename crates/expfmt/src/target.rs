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

use std::borrow::Cow;

use promlite_model::Labels;

/// The prefix a scraped label gets when a target label has its name.
pub const EXPORTED_LABEL_PREFIX: &str = "exported_";

/// `scraped` with the target's labels attached under `honor_labels` semantics (see the module
/// docs). Empty values never occur in a [`Labels`], so "has" means "has a non-empty value",
/// as in Prometheus.
pub fn merge_target_labels(scraped: &Labels, target: &Labels, honor_labels: bool) -> Labels {
    if target.is_empty() {
        return scraped.clone();
    }
    // Borrowed pieces (only renamed names are owned), encoded once at the end.
    let mut out: Vec<(Cow<'_, str>, &str)> = scraped
        .iter()
        .map(|l| (Cow::Borrowed(l.name), l.value))
        .collect();
    if honor_labels {
        for label in target {
            if !scraped.has(label.name) {
                out.push((Cow::Borrowed(label.name), label.value));
            }
        }
        return Labels::from_pairs(out);
    }
    // Scraped labels that a target label overrides, renamed below.
    let mut conflicting: Vec<(Cow<'_, str>, &str)> = Vec::new();
    for label in target {
        if let Some(existing) = scraped.get(label.name) {
            conflicting.push((Cow::Borrowed(label.name), existing));
        }
    }
    out.retain(|l| !target.has(&l.0));
    out.extend(target.iter().map(|l| (Cow::Borrowed(l.name), l.value)));
    if !conflicting.is_empty() {
        // Stable sort by name length, as Prometheus's resolveConflictingExposedLabels.
        conflicting.sort_by_key(|l| l.0.len());
        for i in 0..conflicting.len() {
            let mut new_name = conflicting
                .get(i)
                .map(|l| l.0.to_string())
                .unwrap_or_default();
            loop {
                new_name = format!("{EXPORTED_LABEL_PREFIX}{new_name}");
                let taken_earlier = conflicting
                    .get(..i)
                    .is_some_and(|earlier| earlier.iter().any(|l| *l.0 == *new_name));
                if !scraped.has(&new_name) && !target.has(&new_name) && !taken_earlier {
                    break;
                }
            }
            if let Some(slot) = conflicting.get_mut(i) {
                slot.0 = Cow::Owned(new_name);
            }
        }
        // Renamed names are free by construction, so setting them cannot clobber anything.
        out.extend(conflicting);
    }
    Labels::from_pairs(out)
}

/// The label set of a synthetic series (`up`, `scrape_duration_seconds`, ...) of a target:
/// `__name__` plus every target label.
pub fn report_labels(metric_name: &str, target: &Labels) -> Labels {
    target.with_pair("__name__", metric_name)
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
