//! Intermediate values of the evaluator: the step grid, series of points on it, and the helpers
//! that build outputs and join signatures.
//!
//! Every expression is evaluated over a whole [`Grid`] at once (an instant query is a grid of one
//! step). An instant-vector result is a list of [`Series`] whose points lie on the grid; a scalar
//! is one value per step.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use promlite_model::{Labels, Sample, METRIC_NAME};

use crate::error::{Error, Result};

/// Evaluation timestamps `start, start + step, ..., end` (milliseconds).
///
/// **Invariant:** `step > 0`, `end >= start` and `end - start` is a multiple of `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Grid {
    /// A grid, with `end` moved down onto the last step at or before it. `step <= 0` becomes 1.
    pub(crate) fn new(start: i64, end: i64, step: i64) -> Self {
        let step = step.max(1);
        let end = if end < start {
            start
        } else {
            start.saturating_add((end.saturating_sub(start) / step) * step)
        };
        Grid { start, end, step }
    }

    /// A single-step grid at `t`.
    pub(crate) fn instant(t: i64) -> Self {
        Grid {
            start: t,
            end: t,
            step: 1,
        }
    }

    /// Number of steps (at least 1).
    pub(crate) fn len(&self) -> usize {
        usize::try_from(self.end.saturating_sub(self.start) / self.step)
            .unwrap_or(0)
            .saturating_add(1)
    }

    /// True for a one-step grid.
    pub(crate) fn is_instant(&self) -> bool {
        self.start == self.end
    }

    /// Timestamp of step `k`.
    pub(crate) fn t(&self, k: usize) -> i64 {
        self.start
            .saturating_add((k as i64).saturating_mul(self.step))
    }

    /// Step index of timestamp `t`, which must lie on the grid.
    pub(crate) fn index(&self, t: i64) -> usize {
        usize::try_from(t.saturating_sub(self.start) / self.step).unwrap_or(0)
    }

    /// Iterates over the step timestamps.
    pub(crate) fn times(&self) -> impl Iterator<Item = i64> {
        let g = *self;
        (0..g.len()).map(move |k| g.t(k))
    }
}

/// One series of an intermediate result.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub labels: Labels,
    /// Delayed `__name__` removal: the name is still in `labels` but goes at the end of the query.
    pub drop_name: bool,
    /// Points in increasing time order. For instant-vector values they lie on the grid.
    pub points: Vec<Sample>,
}

impl Series {
    pub(crate) fn new(labels: Labels, drop_name: bool) -> Self {
        Series {
            labels,
            drop_name,
            points: Vec::new(),
        }
    }
}

/// The value of an expression over a grid.
#[derive(Debug)]
pub(crate) enum Val {
    /// One value per grid step.
    Scalar(Vec<f64>),
    String(String),
    /// An instant vector over the grid.
    Vector(Vec<Series>),
    /// A range vector (only at the top of an instant query): raw samples per series.
    Matrix(Vec<Series>),
}

impl Val {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::String(_) => "string",
            Val::Vector(_) => "vector",
            Val::Matrix(_) => "matrix",
        }
    }
}

/// Walks series step by step: `at(i, t)` returns series `i`'s value at step `t` if it has one.
/// Steps must be visited in increasing order.
pub(crate) struct StepCursor {
    pos: Vec<usize>,
}

impl StepCursor {
    pub(crate) fn new(n: usize) -> Self {
        StepCursor { pos: vec![0; n] }
    }

    #[inline]
    pub(crate) fn at(&mut self, series: &[Series], i: usize, t: i64) -> Option<f64> {
        let s = series.get(i)?;
        let p = self.pos.get_mut(i)?;
        while let Some(pt) = s.points.get(*p) {
            if pt.t < t {
                *p += 1;
                continue;
            }
            if pt.t == t {
                *p += 1;
                return Some(pt.v);
            }
            return None;
        }
        None
    }
}

/// A hasher for keys that already are good 64-bit hashes (xxh3 signatures).
#[derive(Default)]
pub(crate) struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed through this hasher; fold anything else for completeness.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// `HashMap` keyed by a precomputed 64-bit hash.
pub(crate) type PrehashedMap<V> = HashMap<u64, V, BuildHasherDefault<PrehashedHasher>>;

/// Finds equal label sets through their hash (`Labels::table_hash`), comparing labels only on
/// hash equality.
/// Entries with equal hashes are chained, so there is no allocation per entry beyond its slot.
#[derive(Default)]
pub(crate) struct LabelIndex {
    /// Hash → newest entry with that hash.
    heads: PrehashedMap<u32>,
    /// (labels, stored value, previous entry with the same hash).
    entries: Vec<(Labels, usize, Option<u32>)>,
}

impl LabelIndex {
    /// Stores `value` for `labels` unless present; returns the stored index and whether it is new.
    pub(crate) fn get_or_insert(&mut self, labels: &Labels, value: usize) -> (usize, bool) {
        let h = labels.table_hash();
        let head = self.heads.get(&h).copied();
        let mut at = head;
        while let Some(i) = at {
            let Some((l, v, next)) = self.entries.get(i as usize) else {
                break;
            };
            if l == labels {
                return (*v, false);
            }
            at = *next;
        }
        // Entry indices fit u32: no vector holds 4 billion series.
        self.heads.insert(h, self.entries.len() as u32);
        self.entries.push((labels.clone(), value, head));
        (value, true)
    }
}

/// Collects per-step outputs into series keyed by label set.
///
/// In range mode a second sample for the same label set at the same step is Prometheus's
/// "vector cannot contain metrics with the same labelset" error. In instant mode (one step) the
/// check is left to the final name cleanup, as Prometheus does with delayed name removal, so two
/// outputs with equal labels stay separate series.
pub(crate) struct OutBuilder {
    instant: bool,
    pub series: Vec<Series>,
    by_labels: LabelIndex,
}

impl OutBuilder {
    pub(crate) fn new(grid: &Grid) -> Self {
        OutBuilder {
            instant: grid.is_instant(),
            series: Vec::new(),
            by_labels: LabelIndex::default(),
        }
    }

    /// The output slot for `labels`, created with `drop_name` if new.
    pub(crate) fn slot(&mut self, labels: Labels, drop_name: bool) -> usize {
        if self.instant {
            self.series.push(Series::new(labels, drop_name));
            return self.series.len() - 1;
        }
        let (i, new) = self.by_labels.get_or_insert(&labels, self.series.len());
        if new {
            self.series.push(Series::new(labels, drop_name));
        }
        i
    }

    /// Appends a point to slot `i`.
    pub(crate) fn push(&mut self, i: usize, t: i64, v: f64) -> Result<()> {
        if let Some(s) = self.series.get_mut(i) {
            if s.points.last().is_some_and(|p| p.t == t) {
                return Err(dup_labelset());
            }
            s.points.push(Sample::new(t, v));
        }
        Ok(())
    }

    /// Appends the output of a later, disjoint range of steps: its series join the slots with
    /// equal labels (or become new slots, in its order) and its points follow.
    pub(crate) fn append(&mut self, later: OutBuilder) -> Result<()> {
        for s in later.series {
            let i = self.slot(s.labels, s.drop_name);
            for p in s.points {
                self.push(i, p.t, p.v)?;
            }
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Vec<Series> {
        self.series
            .into_iter()
            .filter(|s| !s.points.is_empty())
            .collect()
    }
}

pub(crate) fn dup_labelset() -> Error {
    Error::Execution("vector cannot contain metrics with the same labelset".into())
}

/// Assigns each distinct join or grouping signature a small ordinal, so per-step matching
/// indexes arrays instead of hashing.
///
/// A signature is the byte string `name 0xff value 0xff ...` of the relevant labels in name order
/// (`0xff` never occurs in UTF-8, so distinct signatures give distinct strings). It is built by
/// one merge walk over the sorted labels and the sorted names, hashed with xxh3, and compared
/// byte for byte on a hash match, so the ordinals are exact. The strings live in one arena.
pub(crate) struct SigTable {
    on: bool,
    /// Sorted and deduplicated.
    names: Vec<String>,
    /// Hash → index of the newest entry with that hash (older ones are chained by `next`).
    heads: PrehashedMap<u32>,
    /// Per ordinal: its signature's range in `arena` and the previous entry with the same hash.
    entries: Vec<SigEntry>,
    arena: Vec<u8>,
    buf: Vec<u8>,
    pub count: usize,
}

struct SigEntry {
    start: usize,
    end: usize,
    next: Option<u32>,
}

impl SigTable {
    /// `on == true`: signature over `names` only; otherwise over all labels except `names` and
    /// `__name__`.
    pub(crate) fn new(on: bool, names: &[String]) -> Self {
        let mut names = names.to_vec();
        names.sort_unstable();
        names.dedup();
        SigTable {
            on,
            names,
            heads: PrehashedMap::default(),
            entries: Vec::new(),
            arena: Vec::new(),
            buf: Vec::new(),
            count: 0,
        }
    }

    /// Makes room for `n` more signatures (typically the number of series about to be looked
    /// up), sparing the table's regrowth and rehashing.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.heads.reserve(n);
        self.entries.reserve(n);
    }

    pub(crate) fn ordinal(&mut self, labels: &Labels) -> usize {
        self.buf.clear();
        signature_bytes(labels, self.on, &self.names, &mut self.buf);
        self.intern()
    }

    /// The ordinal of the signature `write` appends to an empty buffer: for callers that see
    /// the labels through a view (`crate::aggregate`). Every call on one table must write its
    /// signatures the same way.
    pub(crate) fn ordinal_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> usize {
        self.buf.clear();
        write(&mut self.buf);
        self.intern()
    }

    /// The ordinal of the signature in `buf`, added if new.
    fn intern(&mut self) -> usize {
        use std::collections::hash_map::Entry;
        let h = xxhash_rust::xxh3::xxh3_64(&self.buf);
        // Ordinals are entry indices; u32 holds more series than any selection can have.
        let ord = self.entries.len() as u32;
        // One probe of the map for both the lookup and the insertion: the map is larger than
        // the caches for big inputs, and each probe was a miss.
        let next = match self.heads.entry(h) {
            Entry::Occupied(mut head) => {
                let mut at = Some(*head.get());
                while let Some(i) = at {
                    let Some(e) = self.entries.get(i as usize) else {
                        break;
                    };
                    if self.arena.get(e.start..e.end) == Some(self.buf.as_slice()) {
                        return i as usize;
                    }
                    at = e.next;
                }
                Some(std::mem::replace(head.get_mut(), ord))
            }
            Entry::Vacant(slot) => {
                slot.insert(ord);
                None
            }
        };
        let start = self.arena.len();
        self.arena.extend_from_slice(&self.buf);
        self.entries.push(SigEntry {
            start,
            end: self.arena.len(),
            next,
        });
        self.count = self.entries.len();
        ord as usize
    }
}

/// Appends the signature bytes of `labels` (see [`SigTable`]) to `buf`: a merge walk, since
/// both the labels and `names` are sorted.
fn signature_bytes(labels: &Labels, on: bool, names: &[String], buf: &mut Vec<u8>) {
    let mut ni = 0usize;
    for l in labels.iter() {
        let name: &str = l.name;
        let mut listed = false;
        while let Some(n) = names.get(ni) {
            match cmp_bytes(n.as_bytes(), name.as_bytes()) {
                std::cmp::Ordering::Less => ni += 1,
                std::cmp::Ordering::Equal => {
                    listed = true;
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        let relevant = if on {
            listed
        } else {
            !listed && name != METRIC_NAME
        };
        if relevant {
            buf.extend_from_slice(name.as_bytes());
            buf.push(0xff);
            buf.extend_from_slice(l.value.as_bytes());
            buf.push(0xff);
        }
        if on && ni >= names.len() {
            break;
        }
    }
}

/// Byte-wise order of two short strings, inlined: label names usually differ in their first
/// bytes, where a call into `memcmp` would cost more than the comparison.
#[inline]
fn cmp_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Labels kept by `on(names)` or, for `ignoring(names)`, all but `names` and `__name__`
/// (Prometheus's `MatchLabels`).
pub(crate) fn match_labels(labels: &Labels, on: bool, names: &[String]) -> Labels {
    if on {
        labels.keep(names)
    } else {
        labels.drop_names(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_aligns_end() {
        let g = Grid::new(0, 25, 10);
        assert_eq!((g.end, g.len()), (20, 3));
        assert_eq!(Grid::instant(5).len(), 1);
    }

    #[test]
    fn sig_table_groups_equal_signatures() {
        let a = Labels::from_pairs([("__name__", "x"), ("job", "a"), ("i", "1")]);
        let b = Labels::from_pairs([("__name__", "y"), ("job", "a"), ("i", "2")]);
        let mut on = SigTable::new(true, &["job".to_string()]);
        assert_eq!(on.ordinal(&a), on.ordinal(&b));
        let mut ign = SigTable::new(false, &["job".to_string()]);
        assert_ne!(ign.ordinal(&a), ign.ordinal(&b));
    }

    proptest::proptest! {
        /// Two label sets get the same ordinal exactly when their relevant labels are equal.
        #[test]
        fn sig_table_ordinals_are_exact(
            sets in proptest::collection::vec(
                proptest::collection::btree_map("__name__|[a-d]|dd", "[xy]{1,2}", 0..5),
                1..40,
            ),
            names in proptest::collection::vec("__name__|[a-e]|dd", 0..4),
            on in proptest::bool::ANY,
        ) {
            let labels: Vec<Labels> = sets.iter().map(|m| Labels::from_pairs(m.clone())).collect();
            let relevant = |l: &Labels| -> Vec<(String, String)> {
                l.iter()
                    .filter(|x| {
                        let listed = names.iter().any(|n| **n == *x.name);
                        if on { listed } else { !listed && x.name != METRIC_NAME }
                    })
                    .map(|x| (x.name.to_string(), x.value.to_string()))
                    .collect()
            };
            let mut table = SigTable::new(on, &names);
            let ords: Vec<usize> = labels.iter().map(|l| table.ordinal(l)).collect();
            for i in 0..labels.len() {
                for j in 0..labels.len() {
                    proptest::prop_assert_eq!(
                        ords[i] == ords[j],
                        relevant(&labels[i]) == relevant(&labels[j]),
                        "{} vs {}", labels[i], labels[j]
                    );
                }
            }
            proptest::prop_assert_eq!(table.count, ords.iter().max().map_or(0, |m| m + 1));
        }
    }

    #[test]
    fn out_builder_rejects_duplicate_in_range_mode() {
        let mut out = OutBuilder::new(&Grid::new(0, 10, 10));
        let l = Labels::from_pairs([("a", "1")]);
        let s = out.slot(l.clone(), false);
        out.push(s, 0, 1.0).unwrap();
        let s2 = out.slot(l, false);
        assert_eq!(s, s2);
        assert!(out.push(s2, 0, 2.0).is_err());
    }
}
