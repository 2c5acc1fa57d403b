//! Resolves label matchers to postings (sets of series refs) over a block index.
//!
//! Semantics (as Prometheus's `PostingsForMatchers`): a series has the empty value for every
//! label it lacks. A matcher that does not match `""` selects the union of the postings of the
//! values it matches, and the results of such matchers are intersected. A matcher that matches
//! `""` also selects series without the label, so it is applied by *subtracting* the postings of
//! the values it rejects. With no intersecting matcher the start set is every series.

use std::collections::BTreeSet;
use std::ops::Deref;
use std::sync::Arc;

use promlite_model::{MatchOp, Matcher};
use roaring::{MultiOps, RoaringBitmap};

use super::reader::{IndexReader, ValueEntry};
use crate::reader::SeriesRef;
use crate::Result;

/// Below this many selected series, label names and values are collected from the series
/// entries; above it, from the label table's postings.
const SCAN_SERIES_BELOW: u64 = 4096;

/// Refs of the series that match every matcher.
pub fn postings_for_matchers(ix: &IndexReader, matchers: &[Matcher]) -> Result<RoaringBitmap> {
    let mut sets: Vec<Postings> = Vec::new();
    for m in matchers.iter().filter(|m| !m.matches_empty()) {
        let p = union_where(ix, m, true)?;
        if p.is_empty() {
            return Ok(RoaringBitmap::new());
        }
        sets.push(p);
    }
    // Smallest first: every intersection is then at most as large as the smallest list.
    sets.sort_by_key(|p| p.len());
    let mut result: Option<Postings> = None;
    for p in sets {
        let next = match result {
            None => p,
            Some(r) => Postings::Owned(intersect(&r, &p)),
        };
        if next.is_empty() {
            return Ok(RoaringBitmap::new());
        }
        result = Some(next);
    }
    let mut result = match result {
        None => all_series(ix),
        Some(Postings::Owned(r)) => r,
        Some(Postings::Shared(r)) => RoaringBitmap::clone(&r),
    };
    for m in matchers.iter().filter(|m| m.matches_empty()) {
        if result.is_empty() {
            break;
        }
        result -= &*union_where(ix, m, false)?;
    }
    Ok(result)
}

/// `small ∩ large`, with `small` the shorter list, by the cheapest of three methods:
/// - either list is one contiguous run of refs (a metric name's series: a block numbers its
///   series in label order, `__name__` first): the other list's refs inside that run, found by
///   binary search, with no per-element test;
/// - `small` is much shorter: each of its refs looked up in `large`;
/// - otherwise roaring's merge, which walks both lists.
///
/// A selector like `m{namespace="x"}` thus costs about the size of the answer rather than the
/// size of the namespace's postings.
fn intersect(small: &RoaringBitmap, large: &RoaringBitmap) -> RoaringBitmap {
    /// Below `large.len() / PROBE_RATIO` elements, lookups beat the merge walk.
    const PROBE_RATIO: u64 = 16;
    let (Some(lo), Some(hi)) = (large.min(), large.max()) else {
        return RoaringBitmap::new();
    };
    let (Some(small_lo), Some(small_hi)) = (small.min(), small.max()) else {
        return RoaringBitmap::new();
    };
    let found = if u64::from(hi - lo) + 1 == large.len() {
        RoaringBitmap::from_sorted_iter(small.range(lo..=hi))
    } else if u64::from(small_hi - small_lo) + 1 == small.len() {
        RoaringBitmap::from_sorted_iter(large.range(small_lo..=small_hi))
    } else if small.len().saturating_mul(PROBE_RATIO) < large.len() {
        RoaringBitmap::from_sorted_iter(small.iter().filter(|r| large.contains(*r)))
    } else {
        return small & large;
    };
    // Both iterators ascend, so `from_sorted_iter` cannot fail; the merge is the fallback anyway.
    found.unwrap_or_else(|_| small & large)
}

/// A postings set: one cached list, borrowed, or a computed union/intersection.
enum Postings {
    Shared(Arc<RoaringBitmap>),
    Owned(RoaringBitmap),
}

impl Deref for Postings {
    type Target = RoaringBitmap;

    fn deref(&self) -> &RoaringBitmap {
        match self {
            Postings::Shared(b) => b,
            Postings::Owned(b) => b,
        }
    }
}

/// Every series of the block.
pub fn all_series(ix: &IndexReader) -> RoaringBitmap {
    let mut all = RoaringBitmap::new();
    all.insert_range(0..ix.n_series());
    all
}

/// Union of the postings of the values `v` of `m.name` with `m.matches(v) == want`.
fn union_where(ix: &IndexReader, m: &Matcher, want: bool) -> Result<Postings> {
    let Some(entry) = ix.name_entry(&m.name) else {
        return Ok(Postings::Owned(RoaringBitmap::new()));
    };
    let values = entry.values.as_slice();
    // The matcher whose accepted values we collect.
    let inverse;
    let positive = if want {
        m
    } else {
        inverse = m.inverse();
        &inverse
    };
    if let Some(set) = positive.set_matches() {
        // `=` and literal alternations: binary-search each listed value.
        if let [value] = set.as_slice() {
            // One value (`=`): its cached list as it is, without a copy.
            let found = values.binary_search_by(|v| ix.value_str(v).cmp(value));
            return match found.ok().and_then(|i| values.get(i)) {
                Some(v) => Ok(Postings::Shared(ix.read_postings(v)?)),
                None => Ok(Postings::Owned(RoaringBitmap::new())),
            };
        }
        // One multi-way union: folding `|=` value by value rebuilds the growing result each
        // time, quadratic for the thousands of values a pushed-down join key can carry.
        let mut lists = Vec::with_capacity(set.len());
        for value in set {
            if let Ok(i) = values.binary_search_by(|v| ix.value_str(v).cmp(value)) {
                if let Some(v) = values.get(i) {
                    lists.push(ix.read_postings(v)?);
                }
            }
        }
        return Ok(Postings::Owned(lists.iter().map(|l| &**l).union()));
    }
    let candidates: &[ValueEntry] = match (positive.op, positive.prefix()) {
        (MatchOp::Regex, Some(prefix)) => {
            // Values are sorted, so the ones with the prefix are contiguous.
            let lo = values.partition_point(|v| ix.value_str(v) < prefix);
            let rest = values.get(lo..).unwrap_or(&[]);
            let n = rest.partition_point(|v| ix.value_str(v).starts_with(prefix));
            rest.get(..n).unwrap_or(&[])
        }
        _ => values,
    };
    let mut lists = Vec::new();
    for v in candidates {
        if positive.matches(ix.value_str(v)) {
            lists.push(ix.read_postings(v)?);
        }
    }
    Ok(Postings::Owned(lists.iter().map(|l| &**l).union()))
}

/// Sorted label names of the series matching `matchers` (all names if `matchers` is empty).
pub fn label_names(ix: &IndexReader, matchers: &[Matcher]) -> Result<Vec<String>> {
    label_names_with(ix, matchers, SCAN_SERIES_BELOW)
}

pub(crate) fn label_names_with(
    ix: &IndexReader,
    matchers: &[Matcher],
    scan_below: u64,
) -> Result<Vec<String>> {
    if matchers.is_empty() {
        return Ok(ix.label_names());
    }
    let selected = postings_for_matchers(ix, matchers)?;
    if selected.is_empty() {
        return Ok(Vec::new());
    }
    if selected.len() < scan_below {
        let mut names = BTreeSet::new();
        for series in &selected {
            for l in ix.series_labels(series as SeriesRef)?.iter() {
                names.insert(l.name.to_string());
            }
        }
        return Ok(names.into_iter().collect());
    }
    let mut out = Vec::new();
    for entry in &ix.names {
        for v in &entry.values {
            if !ix.read_postings(v)?.is_disjoint(&selected) {
                if let Some(name) = ix.symbol(entry.name) {
                    out.push(name.to_string());
                }
                break;
            }
        }
    }
    Ok(out)
}

/// Sorted values of label `name` on the series matching `matchers` (all values if empty).
pub fn label_values(ix: &IndexReader, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
    label_values_with(ix, name, matchers, SCAN_SERIES_BELOW)
}

pub(crate) fn label_values_with(
    ix: &IndexReader,
    name: &str,
    matchers: &[Matcher],
    scan_below: u64,
) -> Result<Vec<String>> {
    if matchers.is_empty() {
        return Ok(ix.label_values(name));
    }
    let Some(entry) = ix.name_entry(name) else {
        return Ok(Vec::new());
    };
    let selected = postings_for_matchers(ix, matchers)?;
    if selected.is_empty() {
        return Ok(Vec::new());
    }
    if selected.len() < scan_below {
        let mut values = BTreeSet::new();
        for series in &selected {
            if let Some(v) = ix.series_labels(series as SeriesRef)?.get(name) {
                values.insert(v.to_string());
            }
        }
        return Ok(values.into_iter().collect());
    }
    let mut out = Vec::new();
    for v in &entry.values {
        if !ix.read_postings(v)?.is_disjoint(&selected) {
            out.push(ix.value_str(v).to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A list of refs below 200_000 (so lists span several roaring containers): either a
    /// contiguous run or scattered refs.
    fn refs() -> impl Strategy<Value = RoaringBitmap> {
        prop_oneof![
            (0u32..150_000, 0u32..70_000).prop_map(|(lo, n)| {
                let mut b = RoaringBitmap::new();
                b.insert_range(lo..lo + n);
                b
            }),
            proptest::collection::vec(0u32..200_000, 0..3000)
                .prop_map(|v| v.into_iter().collect::<RoaringBitmap>()),
            // Dense and clustered, so bitmap containers and skewed sizes both occur.
            (
                0u32..100_000,
                proptest::collection::vec(0u32..8192, 0..9000)
            )
                .prop_map(|(base, v)| v.into_iter().map(|x| base + x).collect::<RoaringBitmap>()),
        ]
    }

    proptest! {
        #[test]
        fn intersect_equals_the_merge(a in refs(), b in refs()) {
            let (small, large) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
            prop_assert_eq!(intersect(small, large), &a & &b);
        }
    }

    #[test]
    fn intersect_agrees_on_each_shape() {
        let run: RoaringBitmap = (1000..5000).collect();
        let scattered: RoaringBitmap = (0..20_000).step_by(7).collect();
        let few: RoaringBitmap = [3, 1001, 4999, 5000, 19_999].into_iter().collect();
        // large contiguous
        assert_eq!(intersect(&few, &run), &few & &run);
        // small contiguous
        assert_eq!(intersect(&run, &scattered), &run & &scattered);
        // probing a much longer list
        assert_eq!(intersect(&few, &scattered), &few & &scattered);
        assert_eq!(intersect(&RoaringBitmap::new(), &run), RoaringBitmap::new());
    }
}
