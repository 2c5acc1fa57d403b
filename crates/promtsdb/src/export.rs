//! Export: promlite's stored series into Prometheus blocks, one per 2 h aligned window.

use std::collections::BTreeMap;
use std::path::Path;

use promlite_model::{Labels, Queryable, Sample, SelectHints};

use crate::block::BlockWriter;
use crate::error::{io_err, Result};
use crate::meta::BlockMeta;
use crate::ulid::new_ulid;

/// Prometheus's default block range: 2 h, blocks aligned to multiples of it.
pub const DEFAULT_BLOCK_RANGE_MS: i64 = 2 * 3600 * 1000;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// First timestamp to export (inclusive); `None` = the database's first sample.
    pub start: Option<i64>,
    /// Last timestamp to export (inclusive); `None` = the database's last sample.
    pub end: Option<i64>,
    /// Series selectors (`up{job="api"}`); a series matching any is exported. Empty = all.
    pub selectors: Vec<String>,
    /// Width of each block's window (ms), and its alignment.
    pub block_range: i64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            start: None,
            end: None,
            selectors: Vec::new(),
            block_range: DEFAULT_BLOCK_RANGE_MS,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// The blocks, in time order.
    pub blocks: Vec<BlockMeta>,
    /// Series summed over blocks (a series in two blocks counts twice, as in meta.json).
    pub series: u64,
    /// Samples written.
    pub samples: u64,
}

/// Writes the selected data of `db` as Prometheus blocks into `out_dir` (created if missing;
/// existing blocks there are left alone). `on_block` is called after each block is in place.
pub fn export_blocks(
    db: &promlite::Db,
    out_dir: &Path,
    options: &ExportOptions,
    on_block: &mut dyn FnMut(&BlockMeta),
) -> Result<ExportSummary> {
    if options.block_range <= 0 {
        return Err(crate::Error::InvalidInput(format!(
            "block range must be positive, got {}",
            options.block_range
        )));
    }
    std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    let mut summary = ExportSummary::default();
    let Some((db_min, db_max)) = db.time_range() else {
        return Ok(summary);
    };
    let lo = options.start.map_or(db_min, |s| s.max(db_min));
    let hi = options.end.map_or(db_max, |e| e.min(db_max));
    if lo > hi {
        return Ok(summary);
    }
    let selectors: Vec<&str> = if options.selectors.is_empty() {
        vec![r#"{__name__=~".+"}"#]
    } else {
        options.selectors.iter().map(String::as_str).collect()
    };
    let matcher_sets = promlite::parse_selectors(&selectors)?;
    let range = options.block_range;
    let mut window = lo.div_euclid(range) * range;
    while window <= hi {
        let w_lo = window.max(lo);
        let w_hi = window.saturating_add(range - 1).min(hi);
        let series = select_window(db, &matcher_sets, w_lo, w_hi)?;
        if !series.is_empty() {
            let mut writer = BlockWriter::create(out_dir, &new_ulid())?;
            for (labels, samples) in &series {
                writer.add_series(labels, samples)?;
            }
            if let Some(meta) = writer.finish()? {
                summary.series += meta.stats.num_series;
                summary.samples += meta.stats.num_samples;
                on_block(&meta);
                summary.blocks.push(meta);
            }
        }
        window = match window.checked_add(range) {
            Some(w) => w,
            None => break,
        };
    }
    Ok(summary)
}

/// The samples in `lo..=hi` of every series matching any matcher set, sorted by labels.
fn select_window(
    db: &promlite::Db,
    matcher_sets: &[Vec<promlite_model::Matcher>],
    lo: i64,
    hi: i64,
) -> Result<BTreeMap<Labels, Vec<Sample>>> {
    let querier = db.storage().querier(lo, hi)?;
    let hints = SelectHints {
        start: lo,
        end: hi,
        func: Some("series".to_string()),
        ..SelectHints::default()
    };
    let mut out: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    for matchers in matcher_sets {
        for mut series in querier.select(&hints, matchers)? {
            if out.contains_key(&series.labels) {
                continue;
            }
            let mut samples = Vec::new();
            series.samples.collect_range(lo, hi, &mut samples)?;
            // collect_range may hand back samples outside the window on some paths.
            samples.retain(|s| s.t >= lo && s.t <= hi);
            if !samples.is_empty() {
                out.insert(series.labels, samples);
            }
        }
    }
    Ok(out)
}
