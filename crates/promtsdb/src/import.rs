//! Import: Prometheus blocks (a block directory, or a directory of blocks such as a Prometheus
//! data directory, read-only) into a promlite database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use promlite_model::{Labels, Sample};

use crate::block::{block_dirs, Block};
use crate::error::{Error, Result};
use crate::meta::META_FILE;

/// Samples buffered per commit.
const COMMIT_EVERY: usize = 100_000;

/// What an import read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Blocks read.
    pub blocks: usize,
    /// Series read, summed over blocks.
    pub series: u64,
    /// Samples appended (an exact duplicate of a stored sample counts, and is stored once).
    pub samples: u64,
}

/// The blocks under `dir`: `dir` itself if it is a block, else its block subdirectories.
pub fn find_blocks(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(META_FILE).is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    block_dirs(dir)
}

/// Appends every sample of the blocks under `dir` to `db`, then flushes `db` into its own
/// blocks. Blocks go in time order; blocks whose time ranges overlap are merged series by
/// series (a timestamp present in several keeps the first block's sample, blocks ordered by
/// start time then ULID). Nothing under `dir` is modified. `on_block` is called per block read.
pub fn import_blocks(
    db: &promlite::Db,
    dir: &Path,
    on_block: &mut dyn FnMut(&Path, u64),
) -> Result<ImportSummary> {
    // Only the meta files are read up front; a block's index and chunks are loaded when its
    // turn comes and dropped after it, so memory holds one block (or one overlapping group).
    let mut metas = Vec::new();
    for path in find_blocks(dir)? {
        let meta = crate::meta::read_meta(&path)?;
        metas.push((path, meta));
    }
    metas.sort_by(|(_, a), (_, b)| (a.min_time, &a.ulid).cmp(&(b.min_time, &b.ulid)));
    let mut summary = ImportSummary::default();
    let mut appender = db.appender();
    let mut idx = 0;
    while idx < metas.len() {
        // The run of blocks overlapping each other (by [minTime, maxTime) ranges).
        let mut end = idx + 1;
        let mut group_max = metas.get(idx).map_or(i64::MIN, |(_, m)| m.max_time);
        while let Some((_, next)) = metas.get(end) {
            if next.min_time >= group_max {
                break;
            }
            group_max = group_max.max(next.max_time);
            end += 1;
        }
        let mut group = Vec::with_capacity(end - idx);
        for (path, _) in metas.get(idx..end).unwrap_or_default() {
            group.push(Block::open(path)?);
        }
        let group = group.as_slice();
        if let [block] = group {
            for series_ref in block.series_refs()? {
                let (labels, samples) = block.read_series(series_ref)?;
                append_series(&mut appender, block.dir(), &labels, &samples)?;
                summary.series += 1;
                summary.samples += samples.len() as u64;
                if appender.pending() >= COMMIT_EVERY {
                    appender.commit()?;
                }
            }
            on_block(block.dir(), block.meta().stats.num_samples);
        } else {
            let mut merged: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
            for block in group {
                for series_ref in block.series_refs()? {
                    let (labels, samples) = block.read_series(series_ref)?;
                    summary.series += 1;
                    let slot = merged.entry(labels).or_default();
                    slot.extend(samples);
                }
            }
            let first_dir = group.first().map(|b| b.dir()).unwrap_or(dir);
            for (labels, mut samples) in merged {
                // Stable sort keeps the earlier block's sample first among equal timestamps.
                samples.sort_by_key(|s| s.t);
                samples.dedup_by_key(|s| s.t);
                append_series(&mut appender, first_dir, &labels, &samples)?;
                summary.samples += samples.len() as u64;
                if appender.pending() >= COMMIT_EVERY {
                    appender.commit()?;
                }
            }
            for block in group {
                on_block(block.dir(), block.meta().stats.num_samples);
            }
        }
        summary.blocks += group.len();
        appender.commit()?;
        idx = end;
    }
    appender.commit()?;
    db.flush()?;
    Ok(summary)
}

fn append_series(
    appender: &mut promlite::Appender,
    block: &Path,
    labels: &Labels,
    samples: &[Sample],
) -> Result<()> {
    let wrap = |t: i64, source: promlite::Error| Error::Append {
        block: block.to_path_buf(),
        labels: labels.to_string(),
        t,
        source: Box::new(source),
    };
    let Some((first, rest)) = samples.split_first() else {
        return Ok(());
    };
    let series = appender
        .append(labels, first.t, first.v)
        .map_err(|e| wrap(first.t, e))?;
    for s in rest {
        appender
            .append_ref(series, s.t, s.v)
            .map_err(|e| wrap(s.t, e))?;
    }
    Ok(())
}
