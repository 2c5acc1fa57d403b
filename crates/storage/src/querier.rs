//! The querier across blocks and the head: [`promlite_model::Queryable`] for [`Db`].
//!
//! A selection reads every block overlapping the time range and the head through the one
//! [`BlockReader`] interface, merges series with equal labels (their chunks concatenated in time
//! order) and returns them sorted by labels. Chunks are decoded lazily, one at a time, by the
//! returned [`SampleIter`]s.
//!
//! **Consistency:** the block list is read-locked while the head is read, and compaction adds a
//! block before it truncates the head, so a selection never misses data that moves from the head
//! into a block; data seen in both is deduplicated by timestamp.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::indexing_slicing))]

use std::sync::Arc;

use promlite_model::{
    Labels, Matcher, Querier, Queryable, Sample, SampleIter, SelectHints, Series, Timestamp,
};

use crate::db::{Db, Shared};
use rayon::prelude::*;

use crate::reader::{BlockReader, ChunkMeta, SeriesRef};
use crate::{Error, Result};

impl Queryable for Db {
    fn querier(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
    ) -> promlite_model::Result<Box<dyn Querier>> {
        Ok(Box::new(DbQuerier {
            shared: self.shared.clone(),
            mint,
            maxt,
        }))
    }
}

/// A read view of a [`Db`] over `[mint, maxt]`. Each call sees the database as it is then.
pub struct DbQuerier {
    shared: Arc<Shared>,
    mint: Timestamp,
    maxt: Timestamp,
}

impl std::fmt::Debug for DbQuerier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbQuerier")
            .field("mint", &self.mint)
            .field("maxt", &self.maxt)
            .finish_non_exhaustive()
    }
}

/// Appends the series of `reader` matching `matchers` with their chunks overlapping
/// `[mint, maxt]` (series without such chunks are skipped).
fn select_from(
    reader: &dyn BlockReader,
    matchers: &[Matcher],
    mint: Timestamp,
    maxt: Timestamp,
    out: &mut Vec<(Labels, Vec<ChunkMeta>)>,
) -> Result<()> {
    let postings = reader.postings(matchers)?;
    if postings.is_empty() {
        return Ok(());
    }
    let refs = reader.sorted_postings(&postings)?;
    let select_part = |part: &[SeriesRef]| -> Result<Vec<(Labels, Vec<ChunkMeta>)>> {
        let mut found = Vec::with_capacity(part.len());
        let mut chunks = Vec::new();
        for &series_ref in part {
            if let Some(labels) = reader.series_with_chunks(series_ref, mint, maxt, &mut chunks)? {
                found.push((labels, std::mem::take(&mut chunks)));
            }
        }
        Ok(found)
    };
    if refs.len() < PARALLEL_SELECT_MIN {
        out.extend(select_part(&refs)?);
        return Ok(());
    }
    // Large selections read their series entries on all cores, in label-ordered parts.
    let parts: Vec<Vec<(Labels, Vec<ChunkMeta>)>> = refs
        .par_chunks(PARALLEL_SELECT_MIN / 2)
        .map(select_part)
        .collect::<Result<_>>()?;
    out.reserve(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend(part);
    }
    Ok(())
}

/// Selections of at least this many series look up their entries in parallel.
const PARALLEL_SELECT_MIN: usize = 2048;

/// Merges two lists sorted by labels into one; equal label sets become one entry whose chunks
/// are `a`'s followed by `b`'s (sources are merged in time order, so that is time order).
/// Linear in the total length: sorting the concatenation would compare label sets
/// `O(n log n)` times, which dominated selections spanning two blocks.
fn merge_sorted(
    a: Vec<(Labels, Vec<ChunkMeta>)>,
    b: Vec<(Labels, Vec<ChunkMeta>)>,
) -> Vec<(Labels, Vec<ChunkMeta>)> {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    loop {
        let order = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.0.cmp(&y.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => break,
        };
        match order {
            std::cmp::Ordering::Less => out.extend(a.next()),
            std::cmp::Ordering::Greater => out.extend(b.next()),
            std::cmp::Ordering::Equal => {
                if let (Some((labels, mut chunks)), Some((_, more))) = (a.next(), b.next()) {
                    chunks.extend(more);
                    out.push((labels, chunks));
                }
            }
        }
    }
    out
}

impl DbQuerier {
    fn select_chunks(&self, matchers: &[Matcher]) -> Result<Vec<(Labels, Vec<ChunkMeta>)>> {
        // Each source yields its series in label order; merging keeps source order (blocks by
        // time, then the head) for the chunks of equal label sets.
        let mut all: Vec<(Labels, Vec<ChunkMeta>)> = Vec::new();
        let blocks = self.shared.read_blocks();
        for b in blocks
            .iter()
            .filter(|b| b.max_t >= self.mint && b.min_t <= self.maxt)
        {
            let mut one = Vec::new();
            select_from(&*b.reader, matchers, self.mint, self.maxt, &mut one)?;
            all = merge_sorted(all, one);
        }
        let head = self.shared.head.read();
        let (hmin, hmax) = head.time_range();
        if hmax >= self.mint && hmin <= self.maxt {
            let mut one = Vec::new();
            select_from(&*head, matchers, self.mint, self.maxt, &mut one)?;
            all = merge_sorted(all, one);
        }
        Ok(all)
    }

    /// The postings cardinalities of `matchers` summed over the blocks overlapping the window
    /// and the head: no series entry is read, no chunk touched. A series spanning several
    /// blocks counts once per block, and series without samples in the window count too, which
    /// an estimate used for planning may do (both sides of a comparison are counted alike).
    fn count_postings(&self, matchers: &[Matcher]) -> Result<u64> {
        let mut n_series = 0u64;
        let blocks = self.shared.read_blocks();
        for b in blocks
            .iter()
            .filter(|b| b.max_t >= self.mint && b.min_t <= self.maxt)
        {
            n_series = n_series.saturating_add(b.reader.postings(matchers)?.len());
        }
        let head = self.shared.head.read();
        let (hmin, hmax) = head.time_range();
        if hmax >= self.mint && hmin <= self.maxt {
            n_series = n_series.saturating_add(head.postings(matchers)?.len());
        }
        Ok(n_series)
    }

    fn label_query(
        &self,
        f: impl Fn(&dyn BlockReader) -> Result<Vec<String>>,
    ) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        {
            let blocks = self.shared.read_blocks();
            for b in blocks
                .iter()
                .filter(|b| b.max_t >= self.mint && b.min_t <= self.maxt)
            {
                out.extend(f(&*b.reader)?);
            }
            let head = self.shared.head.read();
            out.extend(f(&*head)?);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

impl Querier for DbQuerier {
    fn select(
        &self,
        _hints: &SelectHints,
        matchers: &[Matcher],
    ) -> promlite_model::Result<Vec<Series>> {
        let series = self.select_chunks(matchers)?;
        Ok(series
            .into_iter()
            .map(|(labels, chunks)| Series {
                labels,
                samples: Box::new(ChunkSampleIter::new(chunks)),
            })
            .collect())
    }

    fn estimate_series(&self, matchers: &[Matcher]) -> promlite_model::Result<Option<u64>> {
        Ok(Some(self.count_postings(matchers)?))
    }

    fn label_names(&self, matchers: &[Matcher]) -> promlite_model::Result<Vec<String>> {
        Ok(self.label_query(|r| r.label_names(matchers))?)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
    ) -> promlite_model::Result<Vec<String>> {
        Ok(self.label_query(|r| r.label_values(name, matchers))?)
    }

    fn select_runs(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> promlite_model::Result<Option<Vec<promlite_model::SeriesRuns>>> {
        // The owner index (value runs of metadata series): see `crate::owner`.
        Ok(crate::owner::select_runs(
            &self.shared,
            self.mint,
            self.maxt,
            hints,
            matchers,
        )?)
    }
}

/// Appends every sample of `chunk` (any chunk format version) to `out`.
fn decode_chunk(chunk: &ChunkMeta, out: &mut Vec<Sample>) -> Result<()> {
    let bytes = chunk.data.as_slice();
    out.reserve(usize::from(
        promlite_chunk::num_samples(bytes).map_err(Error::Chunk)?,
    ));
    promlite_chunk::decode_batches(bytes, Timestamp::MIN, Timestamp::MAX, |ts, vs| {
        out.extend(ts.iter().zip(vs).map(|(&t, &v)| Sample { t, v }))
    })
    .map_err(Error::Chunk)
}

/// Iterates the samples of a series' chunks, decoding one chunk at a time. Chunks that overlap
/// in time (the same range in a block and in the head during a compaction) are merged on
/// construction, keeping one sample per timestamp.
pub struct ChunkSampleIter {
    chunks: Vec<ChunkMeta>,
    /// Index of the next chunk to decode.
    next_chunk: usize,
    /// The decoded current chunk.
    buf: Vec<Sample>,
    /// Index of the current sample in `buf`; `None` before the first `seek`/`next`.
    cur: Option<usize>,
    /// An error found while merging overlapping chunks, reported on first use.
    deferred: Option<Error>,
    /// Set by a windowed read straight from the chunks (see `collect_range`): the cursor is
    /// logically on the first sample at or after this time, to be materialised on the next call.
    resume_at: Option<Timestamp>,
}

impl ChunkSampleIter {
    /// Iterates `chunks`, which must be sorted by `min_time`.
    pub fn new(chunks: Vec<ChunkMeta>) -> Self {
        let overlapping = chunks
            .windows(2)
            .any(|w| matches!(w, [a, b] if b.min_time <= a.max_time));
        if !overlapping {
            return Self {
                chunks,
                next_chunk: 0,
                buf: Vec::new(),
                cur: None,
                deferred: None,
                resume_at: None,
            };
        }
        let mut all = Vec::new();
        let mut deferred = None;
        for c in &chunks {
            if let Err(e) = decode_chunk(c, &mut all) {
                deferred = Some(e);
                break;
            }
        }
        // Stable sort keeps the later source's sample last among equal timestamps; keep it.
        all.sort_by_key(|s| s.t);
        let mut merged: Vec<Sample> = Vec::with_capacity(all.len());
        for s in all {
            match merged.last_mut() {
                Some(last) if last.t == s.t => *last = s,
                _ => merged.push(s),
            }
        }
        Self {
            chunks: Vec::new(),
            next_chunk: 0,
            buf: merged,
            cur: None,
            deferred,
            resume_at: None,
        }
    }

    /// Reports a deferred merge error, and materialises a cursor left by a windowed read.
    fn settle_cursor(&mut self) -> Result<()> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        if let Some(t) = self.resume_at.take() {
            self.seek_from_cursor(t)?;
        }
        Ok(())
    }

    /// True before the first `seek`/`next`/`collect_range` on chunks that do not overlap.
    fn is_fresh(&self) -> bool {
        self.cur.is_none()
            && self.next_chunk == 0
            && self.buf.is_empty()
            && self.deferred.is_none()
            && self.resume_at.is_none()
    }

    /// The first read of a fresh iterator, the usual one-window read of a query: decodes only the
    /// samples in `[mint, maxt]`, straight from the chunks into `out` (packed chunks skip to
    /// `mint` arithmetically), instead of decoding whole chunks into the buffer and copying. The
    /// cursor ends on the first sample past `maxt`, materialised lazily (`resume_at`).
    fn collect_window(
        &mut self,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<Sample>,
    ) -> Result<()> {
        for chunk in &self.chunks {
            if chunk.max_time < mint {
                continue;
            }
            if chunk.min_time > maxt {
                break;
            }
            promlite_chunk::decode_batches(chunk.data.as_slice(), mint, maxt, |ts, vs| {
                out.extend(ts.iter().zip(vs).map(|(&t, &v)| Sample { t, v }))
            })
            .map_err(Error::Chunk)?;
        }
        match maxt.checked_add(1) {
            Some(after) => self.resume_at = Some(after.max(mint)),
            None => {
                // Every sample was in range: the cursor is past the end.
                self.next_chunk = self.chunks.len();
                self.cur = Some(0);
            }
        }
        Ok(())
    }

    /// `seek` without the deferred checks.
    fn seek_from_cursor(&mut self, target: Timestamp) -> Result<Option<Sample>> {
        let mut from = self.cur.unwrap_or(0);
        loop {
            let rest = self.buf.get(from..).unwrap_or(&[]);
            let idx = from + rest.partition_point(|s| s.t < target);
            if let Some(s) = self.buf.get(idx) {
                self.cur = Some(idx);
                return Ok(Some(*s));
            }
            if !self.load_next(target)? {
                self.cur = Some(self.buf.len());
                return Ok(None);
            }
            from = 0;
        }
    }

    /// Decodes the next chunk with `max_time >= min_t` into `buf`. False when none is left.
    fn load_next(&mut self, min_t: Timestamp) -> Result<bool> {
        while let Some(chunk) = self.chunks.get(self.next_chunk) {
            self.next_chunk += 1;
            if chunk.max_time < min_t {
                continue;
            }
            self.buf.clear();
            decode_chunk(chunk, &mut self.buf)?;
            if !self.buf.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl SampleIter for ChunkSampleIter {
    fn seek(&mut self, target: Timestamp) -> promlite_model::Result<Option<Sample>> {
        self.settle_cursor()?;
        Ok(self.seek_from_cursor(target)?)
    }

    fn next(&mut self) -> promlite_model::Result<Option<Sample>> {
        self.settle_cursor()?;
        let idx = self
            .cur
            .map_or(0, |c| c.saturating_add(1).min(self.buf.len()));
        if let Some(s) = self.buf.get(idx) {
            self.cur = Some(idx);
            return Ok(Some(*s));
        }
        if self.load_next(Timestamp::MIN)? {
            self.cur = Some(0);
            return Ok(self.buf.first().copied());
        }
        self.cur = Some(self.buf.len());
        Ok(None)
    }

    fn collect_range(
        &mut self,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<Sample>,
    ) -> promlite_model::Result<()> {
        if self.is_fresh() {
            return Ok(self.collect_window(mint, maxt, out)?);
        }
        if self.seek(mint)?.is_none() {
            return Ok(());
        }
        // Reserve once for the current chunk's rest and every later chunk that starts in the
        // range, instead of growing `out` chunk by chunk.
        let later: usize = self
            .chunks
            .get(self.next_chunk..)
            .unwrap_or(&[])
            .iter()
            .take_while(|c| c.min_time <= maxt)
            .map(|c| promlite_chunk::num_samples(c.data.as_slice()).map_or(0, usize::from))
            .sum();
        out.reserve(self.buf.len().saturating_sub(self.cur.unwrap_or(0)) + later);
        loop {
            let from = self.cur.unwrap_or(0);
            let rest = self.buf.get(from..).unwrap_or(&[]);
            let n = rest.partition_point(|s| s.t <= maxt);
            out.extend_from_slice(rest.get(..n).unwrap_or(&[]));
            if n < rest.len() {
                // Stop on the first sample past the range.
                self.cur = Some(from + n);
                return Ok(());
            }
            // The chunk is used up: continue with the next one unless it starts past the range.
            let next_starts_after = self
                .chunks
                .get(self.next_chunk)
                .is_none_or(|c| c.min_time > maxt);
            if next_starts_after {
                self.cur = Some((from + n).saturating_sub(1));
                return Ok(());
            }
            if !self.load_next(Timestamp::MIN)? {
                self.cur = Some(self.buf.len());
                return Ok(());
            }
            self.cur = Some(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::SharedBytes;
    use promlite_chunk::XorEncoder;
    use promlite_model::VecSampleIter;
    use proptest::prelude::*;

    /// Encodes `samples` into chunks of at most `per_chunk` samples.
    fn chunks(samples: &[Sample], per_chunk: usize) -> Vec<ChunkMeta> {
        samples
            .chunks(per_chunk.max(1))
            .map(|group| {
                let mut enc = XorEncoder::with_limits(u16::MAX, usize::MAX);
                for s in group {
                    enc.append(s.t, s.v).unwrap();
                }
                ChunkMeta {
                    min_time: group[0].t,
                    max_time: group[group.len() - 1].t,
                    data: SharedBytes::from_vec(enc.finish()),
                }
            })
            .collect()
    }

    #[derive(Debug, Clone)]
    enum IterOp {
        Seek(i64),
        Next,
        Collect(i64, i64),
    }

    proptest! {
        /// The chunk iterator behaves exactly like the reference in-memory iterator under any
        /// sequence of seek/next/collect_range, across chunk boundaries.
        #[test]
        fn chunk_iter_matches_reference(
            gaps in proptest::collection::vec(1..50i64, 0..300),
            per_chunk in 1..130usize,
            ops in proptest::collection::vec(prop_oneof![
                (0..8000i64).prop_map(IterOp::Seek),
                Just(IterOp::Next),
                (0..8000i64, 0..3000i64).prop_map(|(a, w)| IterOp::Collect(a, a + w)),
            ], 1..20),
        ) {
            let mut t = 0;
            let samples: Vec<Sample> = gaps.iter().map(|g| { t += g; Sample::new(t, t as f64 * 0.5) }).collect();
            let mut got = ChunkSampleIter::new(chunks(&samples, per_chunk));
            let mut want = VecSampleIter::new(samples.clone().into());
            for op in ops {
                match op {
                    IterOp::Seek(x) => prop_assert_eq!(got.seek(x).unwrap(), want.seek(x).unwrap()),
                    IterOp::Next => prop_assert_eq!(got.next().unwrap(), want.next().unwrap()),
                    IterOp::Collect(a, b) => {
                        let (mut g, mut w) = (Vec::new(), Vec::new());
                        got.collect_range(a, b, &mut g).unwrap();
                        want.collect_range(a, b, &mut w).unwrap();
                        prop_assert_eq!(g, w);
                        // The cursors agree afterwards only up to "last appended or first past";
                        // re-seek both to a common point.
                        prop_assert_eq!(got.seek(b + 1).unwrap(), want.seek(b + 1).unwrap());
                    }
                }
            }
        }
    }

    #[test]
    fn merge_sorted_interleaves_and_joins_equal_label_sets_in_source_order() {
        let l = |v: &str| Labels::from_pairs([("__name__", "m"), ("k", v)]);
        let meta = |t: i64| ChunkMeta {
            min_time: t,
            max_time: t,
            data: SharedBytes::from_vec(vec![t as u8]),
        };
        let a = vec![(l("a"), vec![meta(1)]), (l("c"), vec![meta(2)])];
        let b = vec![
            (l("b"), vec![meta(3)]),
            (l("c"), vec![meta(4)]),
            (l("d"), vec![meta(5)]),
        ];
        let merged = merge_sorted(a, b);
        let got: Vec<(String, Vec<i64>)> = merged
            .iter()
            .map(|(l, c)| {
                (
                    l.get("k").unwrap_or("").to_string(),
                    c.iter().map(|m| m.min_time).collect(),
                )
            })
            .collect();
        let want: Vec<(String, Vec<i64>)> = vec![
            ("a".into(), vec![1]),
            ("b".into(), vec![3]),
            ("c".into(), vec![2, 4]),
            ("d".into(), vec![5]),
        ];
        assert_eq!(got, want);
        assert_eq!(merge_sorted(Vec::new(), merged.clone()).len(), 4);
    }

    #[test]
    fn overlapping_chunks_are_merged_keeping_one_sample_per_timestamp() {
        let a: Vec<Sample> = (0..10).map(|t| Sample::new(t * 10, 1.0)).collect();
        let b: Vec<Sample> = (5..15).map(|t| Sample::new(t * 10, 2.0)).collect();
        let mut all = chunks(&a, 100);
        all.extend(chunks(&b, 100));
        let mut it = ChunkSampleIter::new(all);
        let mut out = Vec::new();
        it.collect_range(i64::MIN, i64::MAX, &mut out).unwrap();
        assert_eq!(out.len(), 15);
        assert!(out.windows(2).all(|w| w[0].t < w[1].t));
        // The later source wins on equal timestamps.
        assert_eq!(out[7], Sample::new(70, 2.0));
        assert_eq!(out[2], Sample::new(20, 1.0));
    }

    #[test]
    fn corrupt_chunk_is_an_error_not_a_panic() {
        let mut bad = chunks(&[Sample::new(1, 1.0), Sample::new(2, 2.0)], 10);
        bad[0].data = SharedBytes::from_vec(vec![1, 200, 0, 7]);
        let mut it = ChunkSampleIter::new(bad);
        assert!(it.next().is_err());
    }
}
