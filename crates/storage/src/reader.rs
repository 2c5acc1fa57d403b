//! The read interface shared by the in-memory head and the on-disk blocks.
//!
//! **Architecture invariant:** the querier never asks where data lives. The head and every
//! block implement [`BlockReader`]; the querier merges their answers.

use promlite_model::{Labels, Matcher, Timestamp};
use roaring::RoaringBitmap;

use crate::bytes::SharedBytes;
use crate::Result;

/// A reference to a series inside one [`BlockReader`]. In a block, refs are assigned in label
/// order, so iterating a postings bitmap yields series sorted by labels. In the head, refs are
/// assigned in creation order and the head sorts when asked.
pub type SeriesRef = u32;

/// One encoded chunk of a series: promlite-chunk's XOR format.
#[derive(Debug, Clone)]
pub struct ChunkMeta {
    /// Timestamp of the first sample.
    pub min_time: Timestamp,
    /// Timestamp of the last sample.
    pub max_time: Timestamp,
    /// The encoded chunk (a snapshot for the head's open chunk).
    pub data: SharedBytes,
}

/// Read access to one block of series data: the head or a persisted block.
pub trait BlockReader: Send + Sync {
    /// Inclusive time range of the samples this reader holds (`(i64::MAX, i64::MIN)` if empty).
    fn time_range(&self) -> (Timestamp, Timestamp);

    /// Refs of the series that match every matcher. Matchers that match the empty string select
    /// series *without* the label too (computed by subtraction).
    fn postings(&self, matchers: &[Matcher]) -> Result<RoaringBitmap>;

    /// Refs of `postings` in label order (blocks: identity; the head sorts).
    fn sorted_postings(&self, postings: &RoaringBitmap) -> Result<Vec<SeriesRef>>;

    /// The labels of a series.
    fn series_labels(&self, series: SeriesRef) -> Result<Labels>;

    /// Appends the chunks of `series` that overlap `[mint, maxt]` to `out`, in time order.
    fn series_chunks(
        &self,
        series: SeriesRef,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<ChunkMeta>,
    ) -> Result<()>;

    /// The labels of `series` if it has chunks overlapping `[mint, maxt]` (appended to `out`),
    /// `None` otherwise. One look-up instead of [`series_chunks`](Self::series_chunks) followed
    /// by [`series_labels`](Self::series_labels); readers that parse a series entry override it.
    fn series_with_chunks(
        &self,
        series: SeriesRef,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<ChunkMeta>,
    ) -> Result<Option<Labels>> {
        let before = out.len();
        self.series_chunks(series, mint, maxt, out)?;
        if out.len() == before {
            return Ok(None);
        }
        self.series_labels(series).map(Some)
    }

    /// Sorted label names of the series matching `matchers` (all series if empty).
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>>;

    /// Sorted values of label `name` on the series matching `matchers` (all series if empty).
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>>;
}
