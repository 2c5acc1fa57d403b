//! The seam between storage and query evaluation.
//!
//! **Architecture invariant:** the evaluator sees data only through [`Queryable`] and
//! [`Querier`]. `promlite-storage` implements them; tests and embedders can implement them over
//! anything else ([`MemStore`] is the reference implementation).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::{Labels, Matcher, Result, Sample, Timestamp};

/// What the evaluator will do with a selection; storage may use it to skip work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectHints {
    /// Earliest timestamp that can be read (inclusive), lookback and range already applied.
    pub start: Timestamp,
    /// Latest timestamp that can be read (inclusive).
    pub end: Timestamp,
    /// Query step in milliseconds (0 for instant queries).
    pub step: i64,
    /// Range of a range selector in milliseconds (0 for instant vector selectors).
    pub range: i64,
    /// The function the selection feeds, if any (`rate`, `max_over_time`, ...).
    pub func: Option<String>,
}

/// Iterates one series' samples in increasing timestamp order.
///
/// Cursor semantics (as Prometheus's chunk iterators): the iterator has a *current* sample once
/// `seek` or `next` returned one. `seek(t)` keeps the current sample if its timestamp is already
/// `>= t`, otherwise moves forward to the first sample with timestamp `>= t`; it never moves
/// backwards. `next()` moves to the sample after the current one (the first one on a fresh
/// iterator). Errors (a corrupt chunk found while decoding, say) are returned, never panicked.
pub trait SampleIter: Send {
    /// Moves to the first sample with `t >= target` (see the cursor rules) and returns it;
    /// `None` when the series has no such sample.
    fn seek(&mut self, target: Timestamp) -> Result<Option<Sample>>;

    /// Moves to the next sample and returns it, `None` at the end.
    fn next(&mut self) -> Result<Option<Sample>>;

    /// Appends every sample with `mint <= t <= maxt` at or after the cursor to `out`, leaving the
    /// cursor on the last sample appended or on the first one past `maxt`. Implementations
    /// override this with a bulk decode; the default uses `seek`/`next`.
    fn collect_range(
        &mut self,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<Sample>,
    ) -> Result<()> {
        let mut cur = self.seek(mint)?;
        while let Some(s) = cur {
            if s.t > maxt {
                break;
            }
            out.push(s);
            cur = self.next()?;
        }
        Ok(())
    }
}

/// A selected series: its labels and an iterator over its samples.
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// Its samples in the selected time range (it may also yield samples outside the range).
    pub samples: Box<dyn SampleIter>,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

/// A read view of storage over a time range.
pub trait Querier: Send + Sync {
    /// Series matching all `matchers`, sorted by labels. At least one matcher is expected to
    /// select something (as in PromQL, where `{}` alone is rejected before it gets here).
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>>;

    /// Label names present on series that match `matchers` (all series if empty), sorted.
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>>;

    /// Values of label `name` on series that match `matchers` (all series if empty), sorted.
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>>;
}

/// Something that can hand out [`Querier`]s: a database, a block, an in-memory store.
pub trait Queryable: Send + Sync {
    /// A querier that sees at least the samples with `mint <= t <= maxt`.
    fn querier(&self, mint: Timestamp, maxt: Timestamp) -> Result<Box<dyn Querier>>;
}

/// A [`SampleIter`] over shared, sorted, in-memory samples.
#[derive(Debug, Clone)]
pub struct VecSampleIter {
    samples: Arc<[Sample]>,
    /// Index of the current sample; `None` before the first `seek`/`next`.
    cur: Option<usize>,
}

impl VecSampleIter {
    /// Iterates `samples`, which must be sorted by timestamp.
    pub fn new(samples: Arc<[Sample]>) -> Self {
        Self { samples, cur: None }
    }
}

impl SampleIter for VecSampleIter {
    fn seek(&mut self, target: Timestamp) -> Result<Option<Sample>> {
        let from = self.cur.unwrap_or(0);
        let rest = self.samples.get(from..).unwrap_or(&[]);
        let idx = from + rest.partition_point(|s| s.t < target);
        self.cur = Some(idx);
        Ok(self.samples.get(idx).copied())
    }

    fn next(&mut self) -> Result<Option<Sample>> {
        let idx = self.cur.map_or(0, |c| (c + 1).min(self.samples.len()));
        self.cur = Some(idx);
        Ok(self.samples.get(idx).copied())
    }

    fn collect_range(
        &mut self,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<Sample>,
    ) -> Result<()> {
        let from = self.cur.unwrap_or(0);
        let rest = self.samples.get(from..).unwrap_or(&[]);
        let lo = rest.partition_point(|s| s.t < mint);
        let hi = rest.partition_point(|s| s.t <= maxt);
        if let Some(slice) = rest.get(lo..hi) {
            out.extend_from_slice(slice);
        }
        // Leave the cursor on the last appended sample, or on the first one past the range.
        self.cur = Some(from + if hi > lo { hi - 1 } else { hi });
        Ok(())
    }
}

/// An in-memory [`Queryable`]: a map from labels to sorted samples. The reference
/// implementation of the seam, used by tests, the conformance runner and property tests.
#[derive(Debug, Default, Clone)]
pub struct MemStore {
    inner: Arc<RwLock<BTreeMap<Labels, Vec<Sample>>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample; keeps each series sorted by timestamp (a sample at an existing timestamp
    /// replaces it).
    pub fn add(&self, labels: Labels, sample: Sample) {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let v = map.entry(labels).or_default();
        match v.last() {
            Some(last) if last.t < sample.t => v.push(sample),
            None => v.push(sample),
            _ => match v.binary_search_by(|s| s.t.cmp(&sample.t)) {
                Ok(i) => v[i] = sample,
                Err(i) => v.insert(i, sample),
            },
        }
    }

    /// Removes every series.
    pub fn clear(&self) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True if there are no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn series_matches(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

struct MemQuerier {
    snapshot: Vec<(Labels, Arc<[Sample]>)>,
}

impl Querier for MemQuerier {
    fn select(&self, _hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>> {
        Ok(self
            .snapshot
            .iter()
            .filter(|(l, _)| series_matches(l, matchers))
            .map(|(l, s)| Series {
                labels: l.clone(),
                samples: Box::new(VecSampleIter::new(s.clone())),
            })
            .collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .snapshot
            .iter()
            .filter(|(l, _)| series_matches(l, matchers))
            .flat_map(|(l, _)| l.iter().map(|x| x.name.to_string()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut values: Vec<String> = self
            .snapshot
            .iter()
            .filter(|(l, _)| series_matches(l, matchers))
            .filter_map(|(l, _)| l.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}

impl Queryable for MemStore {
    fn querier(&self, mint: Timestamp, maxt: Timestamp) -> Result<Box<dyn Querier>> {
        let map = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let snapshot = map
            .iter()
            .filter_map(|(l, s)| {
                let lo = s.partition_point(|x| x.t < mint);
                let hi = s.partition_point(|x| x.t <= maxt);
                (lo < hi).then(|| (l.clone(), Arc::from(&s[lo..hi])))
            })
            .collect();
        Ok(Box::new(MemQuerier { snapshot }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MatchOp, Matcher};

    fn samples(ts: &[i64]) -> Arc<[Sample]> {
        ts.iter().map(|&t| Sample::new(t, t as f64)).collect()
    }

    #[test]
    fn vec_iter_seek_and_next() {
        let mut it = VecSampleIter::new(samples(&[10, 20, 30]));
        assert_eq!(it.seek(15).unwrap().map(|s| s.t), Some(20));
        // Seeking to a target the current sample already satisfies stays put.
        assert_eq!(it.seek(5).unwrap().map(|s| s.t), Some(20));
        assert_eq!(it.next().unwrap().map(|s| s.t), Some(30));
        assert_eq!(it.next().unwrap(), None);
        assert_eq!(it.next().unwrap(), None);
        assert_eq!(it.seek(0).unwrap(), None);
        let mut fresh = VecSampleIter::new(samples(&[10, 20]));
        assert_eq!(fresh.next().unwrap().map(|s| s.t), Some(10));
    }

    #[test]
    fn default_collect_range_matches_override() {
        struct Plain(VecSampleIter);
        impl SampleIter for Plain {
            fn seek(&mut self, t: Timestamp) -> Result<Option<Sample>> {
                self.0.seek(t)
            }
            fn next(&mut self) -> Result<Option<Sample>> {
                self.0.next()
            }
        }
        let data = samples(&[1, 5, 9, 13, 17]);
        let mut a = Vec::new();
        let mut b = Vec::new();
        Plain(VecSampleIter::new(data.clone()))
            .collect_range(5, 13, &mut a)
            .unwrap();
        VecSampleIter::new(data)
            .collect_range(5, 13, &mut b)
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.iter().map(|s| s.t).collect::<Vec<_>>(), vec![5, 9, 13]);
    }

    #[test]
    fn mem_store_selects_by_matchers_and_time() {
        let store = MemStore::new();
        let a = Labels::from_pairs([("__name__", "m"), ("job", "a")]);
        let b = Labels::from_pairs([("__name__", "m"), ("job", "b")]);
        store.add(a.clone(), Sample::new(10, 1.0));
        store.add(b.clone(), Sample::new(100, 2.0));
        let q = store.querier(0, 50).unwrap();
        let got = q
            .select(&SelectHints::default(), &[Matcher::equal("__name__", "m")])
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].labels, a);
        let q = store.querier(0, 200).unwrap();
        let re = Matcher::new(MatchOp::Regex, "job", "b|c").unwrap();
        assert_eq!(
            q.select(&SelectHints::default(), &[re]).unwrap()[0].labels,
            b
        );
        assert_eq!(q.label_values("job", &[]).unwrap(), vec!["a", "b"]);
    }
}
