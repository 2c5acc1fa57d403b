//! The head's inverted index: label name → label value → roaring bitmap of series refs, and the
//! matcher resolution shared by every index (intersect positive matchers, subtract the
//! complement of matchers that accept the empty string).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use promlite_model::{Labels, Matcher};
use roaring::RoaringBitmap;

use crate::Result;

/// Where matcher resolution gets its bitmaps from: the head's in-memory index or a block's
/// on-disk index.
pub trait PostingsSource {
    /// Every series ref.
    fn all_postings(&self) -> Result<RoaringBitmap>;

    /// Union of the postings of every value of label `m.name` that `m` accepts. Values are never
    /// empty, so the empty string is never looked up.
    fn union_matching(&self, m: &Matcher) -> Result<RoaringBitmap>;
}

/// Resolves `matchers` to the refs of the series that satisfy all of them.
///
/// A matcher that rejects the empty string selects only series that have the label, so its
/// postings are intersected. A matcher that accepts the empty string also selects series without
/// the label; it is applied by subtracting the series whose value it rejects (the postings of
/// its inverse). With no intersecting matcher the start set is every series.
pub fn resolve<S: PostingsSource + ?Sized>(src: &S, matchers: &[Matcher]) -> Result<RoaringBitmap> {
    let (positive, negative): (Vec<&Matcher>, Vec<&Matcher>) =
        matchers.iter().partition(|m| !m.matches_empty());
    let mut acc: Option<RoaringBitmap> = None;
    for m in positive {
        let p = src.union_matching(m)?;
        acc = Some(match acc {
            None => p,
            Some(mut a) => {
                a &= p;
                a
            }
        });
        if acc.as_ref().is_some_and(RoaringBitmap::is_empty) {
            return Ok(RoaringBitmap::new());
        }
    }
    let mut acc = match acc {
        Some(a) => a,
        None => src.all_postings()?,
    };
    for m in negative {
        // `=~".*"` and friends accept every value: nothing to subtract.
        if matches!(m.op, promlite_model::MatchOp::Regex) && m.value == ".*" {
            continue;
        }
        let inverse = m.inverse();
        acc -= src.union_matching(&inverse)?;
        if acc.is_empty() {
            break;
        }
    }
    Ok(acc)
}

/// Selects the values of one label that `m` accepts from a sorted map, using the matcher's fast
/// paths: listed values are looked up directly, a literal prefix scans only its range.
pub fn for_each_matching_value<'a, V>(
    values: &'a BTreeMap<Arc<str>, V>,
    m: &Matcher,
    mut f: impl FnMut(&'a str, &'a V),
) {
    if let Some(set) = m.set_matches() {
        for v in set {
            if v.is_empty() {
                continue;
            }
            if let Some((k, x)) = values.get_key_value(v) {
                f(k, x);
            }
        }
        return;
    }
    if let (promlite_model::MatchOp::Regex, Some(prefix)) = (m.op, m.prefix()) {
        for (k, x) in values.range::<str, _>((
            std::ops::Bound::Included(prefix),
            std::ops::Bound::Unbounded,
        )) {
            if !k.starts_with(prefix) {
                break;
            }
            if m.matches(k) {
                f(k, x);
            }
        }
        return;
    }
    for (k, x) in values {
        if m.matches(k) {
            f(k, x);
        }
    }
}

/// The refs of the series carrying one label value. Most values of high-cardinality labels
/// (pod names, instances) belong to a single series; those are stored inline, without the
/// bitmap's allocations, which keeps head memory per series low.
#[derive(Debug, Clone)]
pub enum PostingList {
    /// Exactly one series.
    One(u32),
    /// Several series.
    Many(RoaringBitmap),
}

impl PostingList {
    fn insert(&mut self, r: u32) {
        match self {
            PostingList::One(x) if *x == r => {}
            PostingList::One(x) => {
                let mut bm = RoaringBitmap::new();
                bm.insert(*x);
                bm.insert(r);
                *self = PostingList::Many(bm);
            }
            PostingList::Many(bm) => {
                bm.insert(r);
            }
        }
    }

    /// Removes `r`; returns true if the list is now empty.
    fn remove(&mut self, r: u32) -> bool {
        match self {
            PostingList::One(x) => *x == r,
            PostingList::Many(bm) => {
                bm.remove(r);
                match bm.len() {
                    0 => true,
                    1 => {
                        if let Some(only) = bm.min() {
                            *self = PostingList::One(only);
                        }
                        false
                    }
                    _ => false,
                }
            }
        }
    }

    /// True if the list shares a series with `other`.
    pub fn intersects(&self, other: &RoaringBitmap) -> bool {
        match self {
            PostingList::One(x) => other.contains(*x),
            PostingList::Many(bm) => !bm.is_disjoint(other),
        }
    }

    /// Adds the list's refs to `out`.
    pub fn union_into(&self, out: &mut RoaringBitmap) {
        match self {
            PostingList::One(x) => {
                out.insert(*x);
            }
            PostingList::Many(bm) => *out |= bm,
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            PostingList::One(_) => 0,
            PostingList::Many(bm) => 64 + bm.serialized_size(),
        }
    }
}

/// The head's inverted index. Keys are the head's interned strings.
#[derive(Debug, Default)]
pub struct MemPostings {
    by_name: HashMap<Arc<str>, BTreeMap<Arc<str>, PostingList>>,
    all: RoaringBitmap,
}

impl MemPostings {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes series `series_ref` under each of its labels, given as interned strings (the
    /// index keeps them as keys).
    pub fn add(&mut self, series_ref: u32, labels: &[(Arc<str>, Arc<str>)]) {
        for (name, value) in labels {
            let values = match self.by_name.get_mut(&**name) {
                Some(values) => values,
                None => self.by_name.entry(name.clone()).or_default(),
            };
            match values.get_mut(&**value) {
                Some(list) => list.insert(series_ref),
                None => {
                    values.insert(value.clone(), PostingList::One(series_ref));
                }
            }
        }
        self.all.insert(series_ref);
    }

    /// Removes series `series_ref`, dropping values and names left without series.
    pub fn remove(&mut self, series_ref: u32, labels: &Labels) {
        for l in labels.iter() {
            let Some(values) = self.by_name.get_mut(l.name) else {
                continue;
            };
            if let Some(list) = values.get_mut(l.value) {
                if list.remove(series_ref) {
                    values.remove(l.value);
                }
            }
            if values.is_empty() {
                self.by_name.remove(l.name);
            }
        }
        self.all.remove(series_ref);
    }

    /// Every indexed series.
    pub fn all(&self) -> &RoaringBitmap {
        &self.all
    }

    /// Number of indexed series.
    pub fn len(&self) -> u64 {
        self.all.len()
    }

    /// True if no series is indexed.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Sorted label names; with `within`, only names carried by at least one series in it.
    pub fn label_names(&self, within: Option<&RoaringBitmap>) -> Vec<String> {
        let mut names: Vec<String> = self
            .by_name
            .iter()
            .filter(|(_, values)| match within {
                None => true,
                Some(w) => values.values().any(|list| list.intersects(w)),
            })
            .map(|(n, _)| n.to_string())
            .collect();
        names.sort_unstable();
        names
    }

    /// Sorted values of label `name`; with `within`, only values of series in it.
    pub fn label_values(&self, name: &str, within: Option<&RoaringBitmap>) -> Vec<String> {
        let Some(values) = self.by_name.get(name) else {
            return Vec::new();
        };
        values
            .iter()
            .filter(|(_, list)| within.is_none_or(|w| list.intersects(w)))
            .map(|(v, _)| v.to_string())
            .collect()
    }

    /// Approximate heap bytes used by the index.
    pub fn heap_bytes(&self) -> usize {
        let mut total = self.all.serialized_size();
        for (name, values) in &self.by_name {
            total += name.len() + 64;
            for list in values.values() {
                // A B-tree entry (key, value, node share) plus the list's own allocations.
                total += 16 + std::mem::size_of::<PostingList>() + 16 + list.heap_bytes();
            }
        }
        total
    }
}

impl PostingsSource for MemPostings {
    fn all_postings(&self) -> Result<RoaringBitmap> {
        Ok(self.all.clone())
    }

    fn union_matching(&self, m: &Matcher) -> Result<RoaringBitmap> {
        let Some(values) = self.by_name.get(m.name.as_str()) else {
            return Ok(RoaringBitmap::new());
        };
        let mut out = RoaringBitmap::new();
        for_each_matching_value(values, m, |_, list| list.union_into(&mut out));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::MatchOp;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
        Matcher::new(op, name, value).unwrap()
    }

    /// The postings' input for `labels` (the head interns the strings; fresh ones do here).
    fn strs(labels: &Labels) -> Vec<(Arc<str>, Arc<str>)> {
        labels
            .iter()
            .map(|l| (Arc::from(l.name), Arc::from(l.value)))
            .collect()
    }

    #[test]
    fn equal_regex_and_negative_matchers() {
        let mut p = MemPostings::new();
        p.add(1, &strs(&Labels::from_pairs([("job", "a"), ("pod", "x1")])));
        p.add(2, &strs(&Labels::from_pairs([("job", "b"), ("pod", "x2")])));
        p.add(3, &strs(&Labels::from_pairs([("job", "b")])));
        let ids = |ms: &[Matcher]| resolve(&p, ms).unwrap().iter().collect::<Vec<_>>();
        assert_eq!(ids(&[m(MatchOp::Equal, "job", "b")]), vec![2, 3]);
        assert_eq!(ids(&[m(MatchOp::Regex, "pod", "x.*")]), vec![1, 2]);
        assert_eq!(ids(&[m(MatchOp::NotEqual, "pod", "x1")]), vec![2, 3]);
        assert_eq!(ids(&[m(MatchOp::Equal, "pod", "")]), vec![3]);
        assert_eq!(
            ids(&[
                m(MatchOp::Regex, "job", "a|b"),
                m(MatchOp::NotRegex, "pod", "x2|")
            ]),
            vec![1]
        );
        assert_eq!(ids(&[m(MatchOp::Regex, "job", ".*")]), vec![1, 2, 3]);
        assert!(ids(&[m(MatchOp::Equal, "nope", "x")]).is_empty());
        p.remove(2, &Labels::from_pairs([("job", "b"), ("pod", "x2")]));
        assert_eq!(p.label_values("pod", None), vec!["x1"]);
        assert_eq!(p.label_names(None), vec!["job", "pod"]);
        let within: RoaringBitmap = [3u32].into_iter().collect();
        assert_eq!(p.label_names(Some(&within)), vec!["job"]);
    }

    proptest! {
        /// Postings resolution agrees with matching every series' labels directly.
        #[test]
        fn resolve_agrees_with_brute_force(
            series in proptest::collection::vec(proptest::collection::btree_map("[ab]", "[xyz]{1,2}", 0..3), 1..20),
            matchers in proptest::collection::vec(
                (0..4u8, "[ab]", prop_oneof![Just(String::new()), "[xyz]{1,2}", Just("x.*".to_string()), Just("y|zz|".to_string()), Just(".*".to_string()), Just(".+".to_string())]),
                1..3),
        ) {
            let mut p = MemPostings::new();
            let mut all = Vec::new();
            for (i, s) in series.iter().enumerate() {
                let l = Labels::from_pairs(s.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                p.add(i as u32, &strs(&l));
                all.push(l);
            }
            let ms: Vec<Matcher> = matchers.iter().map(|(op, n, v)| {
                let op = [MatchOp::Equal, MatchOp::NotEqual, MatchOp::Regex, MatchOp::NotRegex][*op as usize];
                m(op, n, v)
            }).collect();
            let check = |p: &MemPostings, live: &[bool]| -> Result<(), TestCaseError> {
                let got: BTreeSet<u32> = resolve(p, &ms).unwrap().iter().collect();
                let want: BTreeSet<u32> = all.iter().enumerate()
                    .filter(|(i, l)| live[*i] && ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
                    .map(|(i, _)| i as u32).collect();
                prop_assert_eq!(got, want);
                Ok(())
            };
            let mut live = vec![true; all.len()];
            check(&p, &live)?;
            // Remove every other series (lists shrink from many to one to none) and check again.
            for (i, l) in all.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
                p.remove(i as u32, l);
                live[i] = false;
            }
            check(&p, &live)?;
        }
    }
}
