//! Reading the head: [`BlockReader`] for the locked head data (used by the querier under one
//! read lock, so a selection sees one consistent state) and for [`Head`] (locks per call).

use promlite_model::{Labels, Matcher, Timestamp};
use roaring::RoaringBitmap;

use super::postings::{resolve, PostingsSource};
use super::{Head, HeadData};
use crate::reader::{BlockReader, ChunkMeta, SeriesRef};
use crate::{Error, Result};

/// Above this many selected series, label names/values under matchers are computed from the
/// postings bitmaps instead of from each selected series' labels.
const SCAN_SERIES_LIMIT: u64 = 4096;

impl BlockReader for HeadData {
    fn time_range(&self) -> (Timestamp, Timestamp) {
        (self.min_t, self.max_t)
    }

    fn postings(&self, matchers: &[Matcher]) -> Result<RoaringBitmap> {
        resolve(&self.postings, matchers)
    }

    fn sorted_postings(&self, postings: &RoaringBitmap) -> Result<Vec<SeriesRef>> {
        let mut refs: Vec<(SeriesRef, &Labels)> = postings
            .iter()
            .filter_map(|r| self.series.get(r).map(|s| (r, &s.labels)))
            .collect();
        refs.sort_unstable_by(|a, b| a.1.cmp(b.1));
        Ok(refs.into_iter().map(|(r, _)| r).collect())
    }

    fn series_labels(&self, series: SeriesRef) -> Result<Labels> {
        self.series
            .get(series)
            .map(|s| s.labels.clone())
            .ok_or(Error::UnknownSeriesRef(series))
    }

    fn series_chunks(
        &self,
        series: SeriesRef,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<ChunkMeta>,
    ) -> Result<()> {
        let s = self
            .series
            .get(series)
            .ok_or(Error::UnknownSeriesRef(series))?;
        s.for_each_chunk(mint, maxt, |c| {
            out.push(ChunkMeta {
                min_time: c.min_t,
                max_time: c.max_t,
                data: c.data,
            })
        });
        Ok(())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return Ok(self.postings.label_names(None));
        }
        let selected = self.postings(matchers)?;
        if selected.len() <= SCAN_SERIES_LIMIT {
            let mut names: Vec<String> = selected
                .iter()
                .filter_map(|r| self.series.get(r))
                .flat_map(|s| s.labels.iter().map(|l| l.name.to_string()))
                .collect();
            names.sort_unstable();
            names.dedup();
            return Ok(names);
        }
        Ok(self.postings.label_names(Some(&selected)))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return Ok(self.postings.label_values(name, None));
        }
        let selected = self.postings(matchers)?;
        if selected.len() <= SCAN_SERIES_LIMIT {
            let mut values: Vec<String> = selected
                .iter()
                .filter_map(|r| self.series.get(r))
                .filter_map(|s| s.labels.get(name).map(str::to_string))
                .collect();
            values.sort_unstable();
            values.dedup();
            return Ok(values);
        }
        Ok(self.postings.label_values(name, Some(&selected)))
    }
}

impl PostingsSource for HeadData {
    fn all_postings(&self) -> Result<RoaringBitmap> {
        self.postings.all_postings()
    }

    fn union_matching(&self, m: &Matcher) -> Result<RoaringBitmap> {
        self.postings.union_matching(m)
    }
}

impl BlockReader for Head {
    fn time_range(&self) -> (Timestamp, Timestamp) {
        self.read().time_range()
    }

    fn postings(&self, matchers: &[Matcher]) -> Result<RoaringBitmap> {
        self.read().postings(matchers)
    }

    fn sorted_postings(&self, postings: &RoaringBitmap) -> Result<Vec<SeriesRef>> {
        self.read().sorted_postings(postings)
    }

    fn series_labels(&self, series: SeriesRef) -> Result<Labels> {
        self.read().series_labels(series)
    }

    fn series_chunks(
        &self,
        series: SeriesRef,
        mint: Timestamp,
        maxt: Timestamp,
        out: &mut Vec<ChunkMeta>,
    ) -> Result<()> {
        self.read().series_chunks(series, mint, maxt, out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        self.read().label_names(matchers)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        self.read().label_values(name, matchers)
    }
}
