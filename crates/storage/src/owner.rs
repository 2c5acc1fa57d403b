//! The owner index: value runs of Kubernetes metadata series (`kube_pod_owner`,
//! `kube_replicaset_owner`, `kube_pod_info`, ...), kept up to date at ingest, so that the
//! evaluator answers instant-vector selectors on them without decoding a sample
//! ([`promlite_model::Querier::select_runs`]).
//!
//! Metadata series are constant 1s scraped every 15 s: a pod's owner row is one series whose
//! samples form a single run from the pod's creation to its deletion (ended by a staleness
//! marker). The seed's joins read them at every step of a range query, which for a large cluster
//! means decoding millions of samples per query just to learn "present with value 1 from `first`
//! to `last`". Storing that fact directly keeps the time dimension (an owner change is a new
//! series, hence a new run; a value change or a staleness marker ends a run), so
//! pod → ReplicaSet → Deployment resolution over time stays exact.
//!
//! **Where runs live.**
//! - Head: every series whose `__name__` is in [`crate::Options::owner_index_metrics`] when it is
//!   created gets a [`RunBuilder`], fed on the apply path of commits (and so of WAL replay, which
//!   rebuilds the index on open). Other series pay one `Option` check per sample. When the head
//!   drops chunks the builder is cut at the oldest sample still stored.
//! - Blocks: runs are built lazily, the first time a selection needs them, by decoding the indexed
//!   series' chunks of that block once, and cached in the loaded block (a `OnceLock`). Not
//!   persisting them keeps the block format (and its frozen fixtures) unchanged; the one-time
//!   cost equals one generic selection of those series over the block.
//!
//! **When the answer is `None` (use `select`):** the matchers are not restricted by `__name__`
//! equality to an indexed metric; the sources (blocks and head) overlap in time (a compaction in
//! progress, overlapping blocks); a block's chunks fail to decode or are out of order (the
//! generic path then reports or tolerates it exactly as it always does); a matching series has no
//! runs (created before the index was configured); merged runs are not strictly ordered.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::indexing_slicing))]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use promlite_model::{
    concat_runs, Labels, MatchOp, Matcher, RunBuilder, SelectHints, SeriesRuns, Timestamp,
    ValueRun, METRIC_NAME,
};

use crate::db::{LoadedBlock, Shared};
use crate::reader::{BlockReader, SeriesRef};
use crate::Result;

/// The metrics indexed by default: kube-state-metrics' owner and info series, constant 1s that
/// the workload joins read at every step.
pub const DEFAULT_OWNER_INDEX_METRICS: &[&str] = &[
    "kube_pod_owner",
    "kube_replicaset_owner",
    "kube_job_owner",
    "kube_pod_info",
    "kube_pod_container_info",
    "kube_node_info",
    "kube_job_info",
    "kube_cronjob_info",
    // Info series by convention (`node_uname_info`, `target_info`, `kube_*_info`, ...):
    // constant 1s whose labels carry the metadata joins pick up.
    "*_info",
];

/// With detection on, a series that is not configured keeps its runs only while it has at most
/// this many runs, or at least [`DETECT_MIN_SAMPLES_PER_RUN`] samples per run on average.
const DETECT_GRACE_RUNS: usize = 4;

/// The average run length (in samples) below which a detected series stops being indexed: its
/// runs would cost about as much as its samples.
const DETECT_MIN_SAMPLES_PER_RUN: usize = 8;

/// True if `n_runs` runs over `n_samples` samples are worth keeping for a detected series.
pub(crate) fn info_like(n_runs: usize, n_samples: usize) -> bool {
    n_runs <= DETECT_GRACE_RUNS || n_runs.saturating_mul(DETECT_MIN_SAMPLES_PER_RUN) <= n_samples
}

/// True if metric `name` matches `pattern`: an exact name, or a glob with one `*` (`*_info`,
/// `kube_*`, `kube_*_owner`).
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, suffix)) => {
            name.len() >= prefix.len() + suffix.len()
                && name.starts_with(prefix)
                && name.ends_with(suffix)
        }
    }
}

/// Whether a new head series gets value runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Indexing {
    /// No runs.
    Off,
    /// Its metric is configured: runs for the series' whole life.
    Configured,
    /// Detection: runs while the series stays [`info_like`].
    Detected,
}

/// Default for [`crate::Options::owner_index_split_gap`]: Prometheus's default lookback delta,
/// five minutes. A gap larger than this between two samples of a series starts a new run.
pub const DEFAULT_OWNER_INDEX_SPLIT_GAP: i64 = 300_000;

/// What the head indexes: metric names and one-`*` globs (a linear scan at series creation is
/// cheaper than hashing for the handful of entries involved), and whether every other series is
/// indexed while its values stay constant for long runs (detection).
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnerIndexConfig {
    metrics: Vec<Box<str>>,
    pub(crate) split_gap: i64,
    detect: bool,
}

impl OwnerIndexConfig {
    pub(crate) fn new(metrics: &[String], split_gap: i64, detect: bool) -> Self {
        Self {
            metrics: metrics.iter().map(|m| m.as_str().into()).collect(),
            split_gap,
            detect,
        }
    }

    /// True if metric `name` is configured (by name or pattern).
    fn configured(&self, name: &str) -> bool {
        self.metrics.iter().any(|m| name_matches(m, name))
    }

    /// Whether a new series with these labels gets runs.
    pub(crate) fn indexing(&self, labels: &Labels) -> Indexing {
        match labels.get(METRIC_NAME) {
            Some(name) if self.configured(name) => Indexing::Configured,
            Some(_) if self.detect => Indexing::Detected,
            _ => Indexing::Off,
        }
    }

    /// The metric `matchers` restrict the selection to (by `__name__` equality), if it may
    /// have runs: configured, or any metric with detection on.
    fn covers<'m>(&self, matchers: &'m [Matcher]) -> Option<&'m str> {
        matchers
            .iter()
            .find(|m| {
                m.op == MatchOp::Equal
                    && m.name == METRIC_NAME
                    && !m.value.is_empty()
                    && (self.detect || self.configured(&m.value))
            })
            .map(|m| m.value.as_str())
    }
}

/// The runs of one block's indexed series, in series ref order (which in a block is label
/// order), with their labels: a selection walks its postings and these lists in step, reading
/// neither a hash table nor the block's index per series.
#[derive(Debug, Default)]
pub(crate) struct BlockRuns {
    /// Strictly increasing.
    refs: Vec<SeriesRef>,
    /// `series[i]` belongs to `refs[i]`.
    series: Vec<BlockSeriesRuns>,
}

/// One block series' labels and runs.
#[derive(Debug)]
struct BlockSeriesRuns {
    labels: Labels,
    runs: Box<[ValueRun]>,
    leading_stale: Option<Timestamp>,
}

impl BlockRuns {
    /// Looks the strictly increasing `wanted` refs up in one forward pass, calling `found` with
    /// each one's entry, or returning false at the first ref that has none.
    ///
    /// Each look-up gallops from where the previous one ended (1, 2, 4, ... entries ahead, then
    /// a binary search in the last step), so a dense selection reads the lists sequentially and
    /// a sparse one costs `O(log gap)` per ref.
    fn for_each_of(
        &self,
        wanted: impl IntoIterator<Item = SeriesRef>,
        mut found: impl FnMut(&BlockSeriesRuns),
    ) -> bool {
        let mut pos = 0usize;
        for r in wanted {
            let rest = self.refs.get(pos..).unwrap_or_default();
            // Smallest `end` with `rest[end - 1] >= r` among 1, 2, 4, ... (or all of `rest`).
            let mut end = 1usize;
            while end < rest.len() && rest.get(end - 1).is_some_and(|&x| x < r) {
                end = end.saturating_mul(2);
            }
            let window = rest.get(end / 2..end.min(rest.len())).unwrap_or_default();
            let at = pos + end / 2 + window.partition_point(|&x| x < r);
            match (self.refs.get(at), self.series.get(at)) {
                (Some(&x), Some(entry)) if x == r => found(entry),
                _ => return false,
            }
            pos = at + 1;
        }
        true
    }
}

/// A loaded block's lazily built runs, per metric name; `None` records that building failed or
/// (detection) that the metric is not info-like, so the block is answered by the generic path.
pub(crate) type BlockRunsCell = Mutex<HashMap<Box<str>, Option<Arc<BlockRuns>>>>;

/// A new, empty cache for a loaded block.
pub(crate) fn new_block_cell() -> Arc<BlockRunsCell> {
    Arc::new(Mutex::new(HashMap::new()))
}

/// Decodes the series of metric `name` in `reader` once and builds their runs. `None` on any
/// decode error or out-of-order sample, and for a metric that is only detected (not configured)
/// whose runs are not [`info_like`].
fn build_block_runs(
    reader: &dyn BlockReader,
    cfg: &OwnerIndexConfig,
    name: &str,
) -> Option<BlockRuns> {
    let mut runs = BlockRuns::default();
    let mut chunks = Vec::new();
    let (mut n_runs, mut n_samples) = (0usize, 0usize);
    let postings = reader.postings(&[Matcher::equal(METRIC_NAME, name)]).ok()?;
    for series_ref in postings.iter() {
        chunks.clear();
        let labels = reader
            .series_with_chunks(series_ref, Timestamp::MIN, Timestamp::MAX, &mut chunks)
            .ok()?;
        let labels = match labels {
            Some(labels) => labels,
            None => reader.series_labels(series_ref).ok()?,
        };
        let mut builder = RunBuilder::new();
        let mut in_order = true;
        for chunk in &chunks {
            promlite_chunk::decode_range(
                chunk.data.as_slice(),
                Timestamp::MIN,
                Timestamp::MAX,
                |t, v| {
                    n_samples += 1;
                    in_order &= builder.push(t, v, cfg.split_gap);
                },
            )
            .ok()?;
        }
        if !in_order {
            return None;
        }
        n_runs += builder.runs().len();
        // Roaring iterates in increasing order, so `refs` stays strictly increasing.
        runs.refs.push(series_ref);
        runs.series.push(BlockSeriesRuns {
            labels,
            runs: builder.runs().into(),
            leading_stale: builder.leading_stale(),
        });
    }
    if !cfg.configured(name) && !info_like(n_runs, n_samples) {
        return None;
    }
    Some(runs)
}

/// The runs of metric `name` in `block`, built on first use.
fn block_runs(block: &LoadedBlock, cfg: &OwnerIndexConfig, name: &str) -> Option<Arc<BlockRuns>> {
    // A poisoned lock only means another query panicked while building: build again.
    let mut cache = block.runs.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(name.into())
        .or_insert_with(|| build_block_runs(&*block.reader, cfg, name).map(Arc::new))
        .clone()
}

/// One source's contribution for one series.
struct Part {
    labels: Labels,
    runs: Vec<ValueRun>,
    leading_stale: Option<Timestamp>,
}

/// [`promlite_model::Querier::select_runs`] for a database querier over `[mint, maxt]`.
pub(crate) fn select_runs(
    shared: &Shared,
    mint: Timestamp,
    maxt: Timestamp,
    hints: &SelectHints,
    matchers: &[Matcher],
) -> Result<Option<Vec<SeriesRuns>>> {
    let cfg = OwnerIndexConfig::new(
        &shared.opts.owner_index_metrics,
        shared.opts.owner_index_split_gap,
        shared.opts.owner_index_detect,
    );
    let Some(metric) = cfg.covers(matchers) else {
        return Ok(None);
    };
    // The samples the generic path would read: the querier's range intersected with the hints.
    let lo = hints.start.max(mint);
    let hi = hints.end.min(maxt);
    if lo > hi {
        return Ok(Some(Vec::new()));
    }
    let overlaps = |b: &LoadedBlock| b.max_t >= lo && b.min_t <= hi;
    // Build missing block caches without holding the block list lock (blocks are immutable).
    let to_warm: Vec<LoadedBlock> = shared
        .read_blocks()
        .iter()
        .filter(|b| overlaps(b))
        .cloned()
        .collect();
    for b in &to_warm {
        block_runs(b, &cfg, metric);
    }
    drop(to_warm);

    // One list per source (blocks by time, then the head), each of distinct series in label
    // order.
    let mut sources: Vec<Vec<Part>> = Vec::new();
    // Time ranges of the sources read, in the order read (blocks by time, then the head).
    let mut ranges: Vec<(Timestamp, Timestamp)> = Vec::new();
    {
        // The same lock order as `select`: blocks, then the head, so data moving from the head
        // into a block is seen exactly once (or in both, which the overlap check refuses).
        let blocks = shared.read_blocks();
        for b in blocks.iter().filter(|b| overlaps(b)) {
            ranges.push((b.min_t, b.max_t));
            let Some(runs) = block_runs(b, &cfg, metric) else {
                return Ok(None);
            };
            let postings = b.reader.postings(matchers)?;
            let mut parts = Vec::with_capacity(postings.len() as usize);
            // Label order, as `merge` needs; in a block that is ref order, as the walk needs
            // (a reader whose refs were not would find no entry, and the generic path answers).
            let all_found = runs.for_each_of(b.reader.sorted_postings(&postings)?, |entry| {
                parts.push(Part {
                    labels: entry.labels.clone(),
                    runs: entry.runs.to_vec(),
                    leading_stale: entry.leading_stale,
                })
            });
            if !all_found {
                return Ok(None);
            }
            sources.push(parts);
        }
        let head = shared.head.read();
        let (hmin, hmax) = head.time_range();
        if hmax >= lo && hmin <= hi {
            ranges.push((hmin, hmax));
            let postings = head.postings(matchers)?;
            let mut parts = Vec::new();
            for series_ref in head.sorted_postings(&postings)? {
                let Some(series) = head.series(series_ref) else {
                    continue;
                };
                let Some(builder) = series.runs() else {
                    return Ok(None);
                };
                if builder.runs().is_empty() && builder.leading_stale().is_none() {
                    continue;
                }
                parts.push(Part {
                    labels: series.labels.clone(),
                    runs: builder.runs().to_vec(),
                    leading_stale: builder.leading_stale(),
                });
            }
            sources.push(parts);
        }
    }
    if ranges.windows(2).any(|w| matches!(w, [a, b] if b.0 <= a.1)) {
        return Ok(None);
    }
    Ok(merge(sources, lo, hi))
}

/// Merges the parts of equal series (in source order), keeps the runs with a sample possibly in
/// `[lo, hi]`, and checks the result is strictly ordered (`None` if not).
///
/// Each source lists distinct series in label order, so the lists are merged, not sorted: the
/// smallest head label set is taken next, and every source whose head has the same labels
/// adds its runs in source order. That is the order, and the concatenation, a stable sort of
/// all parts by labels gives, with one to `sources.len() - 1` comparisons per part instead of
/// `log2` of the part count (a range over two blocks and the head sorted ~17,000 parts).
fn merge(sources: Vec<Vec<Part>>, lo: Timestamp, hi: Timestamp) -> Option<Vec<SeriesRuns>> {
    let mut out: Vec<SeriesRuns> =
        Vec::with_capacity(sources.iter().map(Vec::len).max().unwrap_or(0));
    let flush = |mut series: SeriesRuns, out: &mut Vec<SeriesRuns>| -> bool {
        if !is_ordered(&series.runs) {
            return false;
        }
        series.runs.retain(|r| r.last >= lo && r.first <= hi);
        if !series.runs.is_empty() {
            out.push(series);
        }
        true
    };
    let mut sources: Vec<Vec<Part>> = sources.into_iter().filter(|s| !s.is_empty()).collect();
    if sources.len() == 1 {
        // One source: distinct series already, nothing to join.
        for part in sources.pop().into_iter().flatten() {
            let series = SeriesRuns {
                labels: part.labels,
                runs: part.runs,
            };
            if !flush(series, &mut out) {
                return None;
            }
        }
        return Some(out);
    }
    let mut lists: Vec<std::vec::IntoIter<Part>> =
        sources.into_iter().map(Vec::into_iter).collect();
    let mut heads: Vec<Option<Part>> = lists.iter_mut().map(Iterator::next).collect();
    loop {
        // The source holding the smallest head; the earliest such source on ties.
        let mut min: Option<(usize, &Labels)> = None;
        for (i, head) in heads.iter().enumerate() {
            let Some(p) = head else { continue };
            if min.is_none_or(|(_, m)| p.labels < *m) {
                min = Some((i, &p.labels));
            }
        }
        let Some((first, labels)) = min else { break };
        let labels = labels.clone();
        let mut series: Option<SeriesRuns> = None;
        for (head, list) in heads.iter_mut().zip(lists.iter_mut()).skip(first) {
            if head.as_ref().is_none_or(|p| p.labels != labels) {
                continue;
            }
            let Some(part) = std::mem::replace(head, list.next()) else {
                continue;
            };
            match &mut series {
                Some(cur) => concat_runs(&mut cur.runs, &part.runs, part.leading_stale),
                None => {
                    series = Some(SeriesRuns {
                        labels: part.labels,
                        runs: part.runs,
                    })
                }
            }
        }
        if let Some(done) = series {
            if !flush(done, &mut out) {
                return None;
            }
        }
    }
    Some(out)
}

/// True if the runs are well formed and strictly ordered in time, markers included.
fn is_ordered(runs: &[ValueRun]) -> bool {
    let well_formed =
        |r: &ValueRun| r.first <= r.last && r.max_gap >= 0 && r.stale_at.is_none_or(|s| s > r.last);
    runs.iter().all(well_formed)
        && runs.windows(2).all(|w| match w {
            [a, b] => a.stale_at.unwrap_or(a.last) < b.first,
            _ => true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(first: i64, last: i64, stale_at: Option<i64>) -> ValueRun {
        ValueRun {
            first,
            last,
            max_gap: 15,
            value: 1.0,
            stale_at,
        }
    }

    fn part(pod: &str, runs: Vec<ValueRun>, leading_stale: Option<i64>) -> Part {
        Part {
            labels: Labels::from_pairs([("__name__", "kube_pod_owner"), ("pod", pod)]),
            runs,
            leading_stale,
        }
    }

    #[test]
    fn merge_concatenates_sources_and_filters_the_window() {
        let sources = || {
            vec![
                vec![
                    part("a", vec![run(0, 30, None), run(60, 90, None)], None),
                    part("b", vec![run(0, 90, None)], None),
                ],
                // The head: pod a's first sample there is a marker right after the block's
                // last run.
                vec![part("a", vec![run(120, 150, None)], Some(105))],
            ]
        };
        let got = merge(sources(), 40, 200).expect("ordered");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].labels.get("pod"), Some("a"));
        assert_eq!(
            got[0].runs,
            vec![run(60, 90, Some(105)), run(120, 150, None)]
        );
        assert_eq!(got[1].runs, vec![run(0, 90, None)]);
        // Nothing of pod b in a window after its samples.
        let one = vec![vec![part("b", vec![run(0, 90, None)], None)]];
        assert!(merge(one, 91, 200).expect("ordered").is_empty());
    }

    proptest::proptest! {
        /// The merge of per-source label-ordered lists equals a stable sort of all parts by
        /// labels followed by joining equal neighbours in order (what `merge` did before).
        #[test]
        fn merge_equals_sorting_all_parts(
            pods in proptest::collection::vec(proptest::collection::btree_set(0u8..12, 0..8), 0..4),
            lo in 0i64..400,
            len in 0i64..400,
        ) {
            // Source k holds its pods' parts in label order, runs in its own time slot.
            let sources: Vec<Vec<Part>> = pods
                .iter()
                .enumerate()
                .map(|(k, set)| {
                    let base = 100 * k as i64;
                    set.iter()
                        .map(|p| part(&format!("p{p:02}"), vec![run(base, base + 50, None)], None))
                        .collect()
                })
                .collect();
            let mut flat: Vec<(Labels, Vec<ValueRun>)> = Vec::new();
            let mut all: Vec<&Part> = sources.iter().flatten().collect();
            all.sort_by(|a, b| a.labels.cmp(&b.labels));
            for p in all {
                match flat.last_mut() {
                    Some((l, runs)) if *l == p.labels => runs.extend_from_slice(&p.runs),
                    _ => flat.push((p.labels.clone(), p.runs.clone())),
                }
            }
            let (lo, hi) = (lo, lo + len);
            let want: Vec<(Labels, Vec<ValueRun>)> = flat
                .into_iter()
                .map(|(l, mut runs)| {
                    runs.retain(|r| r.last >= lo && r.first <= hi);
                    (l, runs)
                })
                .filter(|(_, runs)| !runs.is_empty())
                .collect();
            let got: Vec<(Labels, Vec<ValueRun>)> = merge(sources, lo, hi)
                .expect("ordered")
                .into_iter()
                .map(|s| (s.labels, s.runs))
                .collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    fn block_runs_of(refs: &[SeriesRef]) -> BlockRuns {
        BlockRuns {
            refs: refs.to_vec(),
            series: refs
                .iter()
                .map(|r| BlockSeriesRuns {
                    labels: Labels::from_pairs([("ref", r.to_string())]),
                    runs: vec![run(i64::from(*r), i64::from(*r), None)].into(),
                    leading_stale: None,
                })
                .collect(),
        }
    }

    proptest::proptest! {
        /// The galloping walk finds exactly what a look-up per ref finds, and refuses a
        /// selection with any ref the block did not index.
        #[test]
        fn walk_equals_lookup_per_ref(
            indexed in proptest::collection::btree_set(0u32..300, 0..120),
            wanted in proptest::collection::btree_set(0u32..300, 0..120),
            only_indexed: bool,
        ) {
            let refs: Vec<SeriesRef> = indexed.iter().copied().collect();
            let block = block_runs_of(&refs);
            let wanted: Vec<SeriesRef> = if only_indexed {
                wanted.intersection(&indexed).copied().collect()
            } else {
                wanted.iter().copied().collect()
            };
            let mut got = Vec::new();
            let all = block.for_each_of(wanted.iter().copied(), |e| got.push(e.labels.clone()));
            let missing = wanted.iter().any(|r| !indexed.contains(r));
            proptest::prop_assert_eq!(all, !missing);
            if !missing {
                let want: Vec<Labels> = wanted
                    .iter()
                    .map(|r| Labels::from_pairs([("ref", r.to_string())]))
                    .collect();
                proptest::prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn walk_gallops_over_sparse_and_dense_selections() {
        let refs: Vec<SeriesRef> = (0..1000).map(|r| 3 * r).collect();
        let block = block_runs_of(&refs);
        for wanted in [
            vec![0],
            vec![2997],
            vec![0, 3, 6, 9],
            vec![300, 2400, 2997],
            refs.clone(),
        ] {
            let mut n = 0;
            assert!(block.for_each_of(wanted.iter().copied(), |_| n += 1));
            assert_eq!(n, wanted.len());
        }
        assert!(!block.for_each_of([1], |_| ()));
        assert!(!block.for_each_of([2997, 3000], |_| ()));
        // Out of order: the walk only goes forward, so the earlier ref is not found.
        assert!(!block.for_each_of([6, 3], |_| ()));
    }

    #[test]
    fn merge_refuses_overlapping_runs() {
        let sources = vec![
            vec![part("a", vec![run(0, 30, None)], None)],
            vec![part("a", vec![run(30, 60, None)], None)],
        ];
        assert!(merge(sources, 0, 100).is_none());
        let one = vec![vec![part(
            "a",
            vec![run(0, 30, Some(45)), run(45, 60, None)],
            None,
        )]];
        assert!(merge(one, 0, 100).is_none());
    }

    #[test]
    fn config_matches_only_name_equality_on_indexed_metrics() {
        let cfg = OwnerIndexConfig::new(&["kube_pod_owner".to_string()], 300_000, false);
        assert_eq!(
            cfg.covers(&[
                Matcher::equal("namespace", "x"),
                Matcher::equal(METRIC_NAME, "kube_pod_owner"),
            ]),
            Some("kube_pod_owner")
        );
        assert!(cfg.covers(&[Matcher::equal(METRIC_NAME, "up")]).is_none());
        assert!(cfg
            .covers(&[Matcher::equal("pod", "kube_pod_owner")])
            .is_none());
        let re = Matcher::new(MatchOp::Regex, METRIC_NAME, "kube_pod_owner").expect("valid");
        assert!(cfg.covers(&[re]).is_none());
        assert_eq!(
            cfg.indexing(&Labels::from_pairs([(METRIC_NAME, "kube_pod_owner")])),
            Indexing::Configured
        );
        assert_eq!(
            cfg.indexing(&Labels::from_pairs([("pod", "kube_pod_owner")])),
            Indexing::Off
        );
    }

    #[test]
    fn patterns_and_detection_choose_what_is_indexed() {
        let cfg = OwnerIndexConfig::new(
            &["*_info".to_string(), "kube_*_owner".to_string()],
            300_000,
            false,
        );
        let name = |n: &str| Labels::from_pairs([(METRIC_NAME, n)]);
        assert_eq!(cfg.indexing(&name("node_uname_info")), Indexing::Configured);
        assert_eq!(cfg.indexing(&name("kube_job_owner")), Indexing::Configured);
        assert_eq!(cfg.indexing(&name("kube_owner")), Indexing::Off);
        assert_eq!(cfg.indexing(&name("info")), Indexing::Off);
        assert!(cfg.covers(&[Matcher::equal(METRIC_NAME, "up")]).is_none());
        let detect = OwnerIndexConfig::new(&[], 300_000, true);
        assert_eq!(detect.indexing(&name("up")), Indexing::Detected);
        assert_eq!(
            detect.covers(&[Matcher::equal(METRIC_NAME, "up")]),
            Some("up")
        );
        // A run per sample is rejected after the grace runs; long runs are kept.
        assert!(info_like(4, 4));
        assert!(!info_like(5, 5));
        assert!(info_like(10, 80));
        assert!(!info_like(10, 79));
    }
}
