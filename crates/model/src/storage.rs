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

/// A stretch of consecutive samples of one series whose values are bit-identical and not
/// staleness markers: the unit of the run index that storage keeps for metadata series
/// (`kube_pod_owner`, `kube_replicaset_owner`, ...), which are constant 1s scraped regularly.
///
/// **Invariants** (kept by [`RunBuilder`]): `first <= last`; every sample of the series with a
/// timestamp in `[first, last]` belongs to the run (has value `value`); `max_gap` is at least the
/// largest distance between two consecutive samples of the run (0 for a single sample);
/// `stale_at`, if set, is the timestamp of a staleness marker that is the very next sample of the
/// series after `last`. Storage may split a maximal stretch into several runs (at block
/// boundaries, or where the gap exceeds a limit): a split never changes what an instant selector
/// sees, since between two runs the newest sample is the earlier run's `last`.
#[derive(Debug, Clone, Copy)]
pub struct ValueRun {
    /// Timestamp of the run's first sample.
    pub first: Timestamp,
    /// Timestamp of the run's last sample.
    pub last: Timestamp,
    /// An upper bound of the distance between consecutive samples inside the run.
    pub max_gap: i64,
    /// The value of every sample of the run (compare with `to_bits`).
    pub value: f64,
    /// A staleness marker that immediately follows `last`, if any.
    pub stale_at: Option<Timestamp>,
}

impl PartialEq for ValueRun {
    /// Bitwise on the value, so that runs of NaN compare equal.
    fn eq(&self, other: &Self) -> bool {
        self.first == other.first
            && self.last == other.last
            && self.max_gap == other.max_gap
            && self.value.to_bits() == other.value.to_bits()
            && self.stale_at == other.stale_at
    }
}

/// A series' labels and its value runs, in time order (see [`Querier::select_runs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRuns {
    /// The series' labels.
    pub labels: Labels,
    /// Its runs, sorted by time, non-overlapping.
    pub runs: Vec<ValueRun>,
}

/// Builds the [`ValueRun`]s of one series from its samples, pushed in increasing time order.
/// Used by storage at ingest (one `push` per appended sample) and when it indexes a block.
///
/// Staleness markers end a run (recording `stale_at` if the marker directly follows it) and are
/// otherwise dropped: a marker after another marker, or before any value, changes nothing an
/// instant selector can see, except a marker that is the first sample of this builder, which is
/// kept as [`RunBuilder::leading_stale`] so that a caller concatenating runs of consecutive time
/// ranges (blocks, then the head) can attach it to the previous range's last run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunBuilder {
    runs: Vec<ValueRun>,
    leading_stale: Option<Timestamp>,
    /// Timestamp of the newest sample pushed (marker or value).
    last_t: Option<Timestamp>,
}

impl RunBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the sample `(t, v)`. A gap larger than `split_gap` after the previous sample starts
    /// a new run even if the value is unchanged (so that `max_gap <= split_gap` always holds).
    /// Returns false, changing nothing, if `t` is not after the previous sample.
    #[inline]
    pub fn push(&mut self, t: Timestamp, v: f64, split_gap: i64) -> bool {
        let prev = self.last_t;
        if prev.is_some_and(|p| t <= p) {
            return false;
        }
        self.last_t = Some(t);
        let bits = v.to_bits();
        // The last run is still open iff the previous sample was its last (no marker since).
        let open = match (self.runs.last_mut(), prev) {
            (Some(run), Some(p)) if run.stale_at.is_none() && run.last == p => Some(run),
            _ => None,
        };
        if bits == crate::STALE_NAN_BITS {
            match open {
                Some(run) => run.stale_at = Some(t),
                None if prev.is_none() => self.leading_stale = Some(t),
                None => {}
            }
            return true;
        }
        if let Some(run) = open {
            let gap = t.saturating_sub(run.last);
            if run.value.to_bits() == bits && gap <= split_gap {
                run.max_gap = run.max_gap.max(gap);
                run.last = t;
                return true;
            }
        }
        self.runs.push(ValueRun {
            first: t,
            last: t,
            max_gap: 0,
            value: v,
            stale_at: None,
        });
        true
    }

    /// The runs so far, in time order.
    pub fn runs(&self) -> &[ValueRun] {
        &self.runs
    }

    /// The timestamp of the first sample pushed, if it was a staleness marker.
    pub fn leading_stale(&self) -> Option<Timestamp> {
        self.leading_stale
    }

    /// Forgets every sample before `first_kept`, the timestamp of the oldest sample that is still
    /// stored (`None`: nothing is). A run that straddles it is clipped to start there (its
    /// `max_gap` stays an upper bound); if no run covers `first_kept`, the oldest stored sample
    /// is a staleness marker and becomes the leading one.
    pub fn truncate_before(&mut self, first_kept: Option<Timestamp>) {
        let Some(m) = first_kept else {
            *self = Self::default();
            return;
        };
        self.runs.retain(|r| r.last >= m);
        if let Some(first) = self.runs.first_mut() {
            first.first = first.first.max(m);
        }
        self.leading_stale = match self.runs.first() {
            Some(r) if r.first == m => None,
            _ => Some(m),
        };
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<ValueRun>()
    }
}

/// Appends `next` (the runs of a later, non-overlapping time range of the same series) to
/// `runs`, attaching `next_leading_stale` to the last run of `runs` when that run has no marker
/// yet (the marker is then the sample that directly follows it).
pub fn concat_runs(
    runs: &mut Vec<ValueRun>,
    next: &[ValueRun],
    next_leading_stale: Option<Timestamp>,
) {
    if let (Some(last), Some(s)) = (runs.last_mut(), next_leading_stale) {
        if last.stale_at.is_none() {
            last.stale_at = Some(s);
        }
    }
    runs.extend_from_slice(next);
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

    /// The value runs of the series matching `matchers`, sorted by labels like
    /// [`select`](Self::select), for an instant-vector selector reading samples in
    /// `[hints.start, hints.end]`: every run with a sample in that window, with runs and markers
    /// outside it optional. `None` means the selection is not indexed (or exactness cannot be
    /// guaranteed): use `select`. The default answers `None`.
    fn select_runs(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Option<Vec<SeriesRuns>>> {
        let _ = (hints, matchers);
        Ok(None)
    }

    /// A cheap estimate of how many series match `matchers`, for choosing how to evaluate a
    /// query (never for its answer): storage counts index postings (possibly counting a series
    /// once per block it spans, and series without samples in the querier's window). `None`
    /// means no cheap estimate is available; the default answers `None`.
    fn estimate_series(&self, matchers: &[Matcher]) -> Result<Option<u64>> {
        let _ = matchers;
        Ok(None)
    }
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
    run_index: Arc<RwLock<Option<MemRunIndex>>>,
}

/// Which metrics a [`MemStore`] answers [`Querier::select_runs`] for.
#[derive(Debug, Clone)]
struct MemRunIndex {
    metrics: std::collections::BTreeSet<String>,
    split_gap: i64,
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

    /// Answers [`Querier::select_runs`] for selections restricted by `__name__` equality to one
    /// of `metrics`, with runs split at gaps larger than `split_gap` milliseconds (computed from
    /// the stored samples on each call: the reference behaviour for storage's run index).
    /// An empty list turns it off (the default).
    pub fn index_runs<S: Into<String>>(
        &self,
        metrics: impl IntoIterator<Item = S>,
        split_gap: i64,
    ) {
        let metrics: std::collections::BTreeSet<String> =
            metrics.into_iter().map(Into::into).collect();
        let index = (!metrics.is_empty()).then_some(MemRunIndex { metrics, split_gap });
        *self.run_index.write().unwrap_or_else(|e| e.into_inner()) = index;
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
    run_index: Option<MemRunIndex>,
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

    fn select_runs(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Option<Vec<SeriesRuns>>> {
        let Some(index) = &self.run_index else {
            return Ok(None);
        };
        let indexed = matchers.iter().any(|m| {
            m.op == crate::MatchOp::Equal
                && m.name == crate::METRIC_NAME
                && index.metrics.contains(&m.value)
        });
        if !indexed {
            return Ok(None);
        }
        let mut out = Vec::new();
        for (labels, samples) in self
            .snapshot
            .iter()
            .filter(|(l, _)| series_matches(l, matchers))
        {
            let mut builder = RunBuilder::new();
            for s in samples.iter() {
                if !builder.push(s.t, s.v, index.split_gap) {
                    return Ok(None);
                }
            }
            let runs: Vec<ValueRun> = builder
                .runs()
                .iter()
                .filter(|r| r.last >= hints.start && r.first <= hints.end)
                .copied()
                .collect();
            if !runs.is_empty() {
                out.push(SeriesRuns {
                    labels: labels.clone(),
                    runs,
                });
            }
        }
        Ok(Some(out))
    }

    fn estimate_series(&self, matchers: &[Matcher]) -> Result<Option<u64>> {
        // The reference answer: the exact count in the snapshot.
        let n_series = self
            .snapshot
            .iter()
            .filter(|(l, _)| series_matches(l, matchers))
            .count();
        Ok(Some(u64::try_from(n_series).unwrap_or(u64::MAX)))
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
        let run_index = self
            .run_index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(Box::new(MemQuerier {
            snapshot,
            run_index,
        }))
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

    /// The runs of `samples`, computed the obvious way (group, then look at the next sample),
    /// independently of [`RunBuilder`].
    fn naive_runs(samples: &[Sample], split_gap: i64) -> Vec<ValueRun> {
        let mut out: Vec<ValueRun> = Vec::new();
        let mut i = 0;
        while i < samples.len() {
            let s = samples[i];
            if crate::is_stale_nan(s.v) {
                i += 1;
                continue;
            }
            let mut j = i;
            let mut max_gap = 0;
            while j + 1 < samples.len()
                && samples[j + 1].v.to_bits() == s.v.to_bits()
                && samples[j + 1].t - samples[j].t <= split_gap
            {
                max_gap = max_gap.max(samples[j + 1].t - samples[j].t);
                j += 1;
            }
            let stale_at = samples
                .get(j + 1)
                .filter(|n| crate::is_stale_nan(n.v))
                .map(|n| n.t);
            out.push(ValueRun {
                first: s.t,
                last: samples[j].t,
                max_gap,
                value: s.v,
                stale_at,
            });
            i = j + 1;
        }
        out
    }

    fn sample_seq() -> impl proptest::strategy::Strategy<Value = Vec<Sample>> {
        use proptest::prelude::*;
        proptest::collection::vec((1..40i64, 0..5u8), 0..60).prop_map(|steps| {
            let mut t = 0;
            steps
                .into_iter()
                .map(|(gap, v)| {
                    t += gap;
                    let v = match v {
                        0 => crate::STALE_NAN,
                        1 => f64::NAN,
                        2 => 2.0,
                        _ => 1.0,
                    };
                    Sample::new(t, v)
                })
                .collect()
        })
    }

    proptest::proptest! {
        #[test]
        fn run_builder_matches_naive_runs(samples in sample_seq(), split_gap in 1..50i64) {
            let mut b = RunBuilder::new();
            for s in &samples {
                proptest::prop_assert!(b.push(s.t, s.v, split_gap));
            }
            proptest::prop_assert_eq!(b.runs(), &naive_runs(&samples, split_gap)[..]);
            let leading = samples.first().filter(|s| crate::is_stale_nan(s.v)).map(|s| s.t);
            proptest::prop_assert_eq!(b.leading_stale(), leading);
            // Out-of-order and repeated timestamps are refused without changing anything.
            if let Some(last) = samples.last() {
                let before = b.clone();
                proptest::prop_assert!(!b.push(last.t, 5.0, split_gap));
                proptest::prop_assert_eq!(&b, &before);
            }
        }

        #[test]
        fn truncation_matches_building_from_the_kept_samples(
            samples in sample_seq(),
            cut in 0..2000usize,
        ) {
            let split_gap = 25;
            let mut b = RunBuilder::new();
            for s in &samples {
                b.push(s.t, s.v, split_gap);
            }
            let cut = cut % (samples.len() + 1);
            let kept = &samples[cut..];
            b.truncate_before(kept.first().map(|s| s.t));
            let want = naive_runs(kept, split_gap);
            proptest::prop_assert_eq!(b.runs().len(), want.len());
            for (got, want) in b.runs().iter().zip(&want) {
                proptest::prop_assert_eq!(
                    (got.first, got.last, got.value.to_bits(), got.stale_at),
                    (want.first, want.last, want.value.to_bits(), want.stale_at)
                );
                proptest::prop_assert!(got.max_gap >= want.max_gap);
            }
            let leading = kept.first().filter(|s| crate::is_stale_nan(s.v)).map(|s| s.t);
            proptest::prop_assert_eq!(b.leading_stale(), leading);
        }
    }

    #[test]
    fn concat_attaches_a_leading_marker_to_the_previous_run() {
        let run = |first, last, stale_at| ValueRun {
            first,
            last,
            max_gap: 1,
            value: 1.0,
            stale_at,
        };
        let mut runs = vec![run(0, 10, None)];
        concat_runs(&mut runs, &[run(30, 40, None)], Some(20));
        assert_eq!(runs, vec![run(0, 10, Some(20)), run(30, 40, None)]);
        // A run that already has its marker keeps it.
        concat_runs(&mut runs, &[], Some(50));
        assert_eq!(runs[1].stale_at, Some(50));
        concat_runs(&mut runs, &[], Some(60));
        assert_eq!(runs[1].stale_at, Some(50));
    }

    #[test]
    fn mem_store_answers_select_runs_only_for_indexed_names() {
        let store = MemStore::new();
        let owner = Labels::from_pairs([("__name__", "kube_pod_owner"), ("pod", "a")]);
        let other = Labels::from_pairs([("__name__", "up"), ("pod", "a")]);
        for k in 0..10 {
            store.add(
                owner.clone(),
                Sample::new(k * 15, if k < 5 { 1.0 } else { 2.0 }),
            );
            store.add(other.clone(), Sample::new(k * 15, 1.0));
        }
        store.add(owner.clone(), Sample::new(150, crate::STALE_NAN));
        let hints = SelectHints {
            start: 0,
            end: 1000,
            ..SelectHints::default()
        };
        let name = |n: &str| [Matcher::equal("__name__", n)];
        let q = store.querier(0, 1000).unwrap();
        assert_eq!(
            q.select_runs(&hints, &name("kube_pod_owner")).unwrap(),
            None
        );
        store.index_runs(["kube_pod_owner"], 100);
        let q = store.querier(0, 1000).unwrap();
        assert_eq!(q.select_runs(&hints, &name("up")).unwrap(), None);
        let pod_re = [Matcher::new(MatchOp::Regex, "__name__", "kube_pod_owner").unwrap()];
        assert_eq!(q.select_runs(&hints, &pod_re).unwrap(), None);
        let got = q
            .select_runs(&hints, &name("kube_pod_owner"))
            .unwrap()
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].labels, owner);
        let spans: Vec<_> = got[0]
            .runs
            .iter()
            .map(|r| (r.first, r.last, r.value, r.stale_at))
            .collect();
        assert_eq!(spans, vec![(0, 60, 1.0, None), (75, 135, 2.0, Some(150))]);
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
