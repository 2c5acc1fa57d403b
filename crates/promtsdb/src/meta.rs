//! A block's `meta.json`: its ULID, time range (`maxTime` exclusive), statistics and
//! compaction history, format version 1.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{io_err, Error, Result};

/// The file name of a block's meta file.
pub const META_FILE: &str = "meta.json";

/// The contents of `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMeta {
    /// The block's ULID, also its directory name.
    pub ulid: String,
    /// Earliest sample timestamp (inclusive, ms).
    #[serde(rename = "minTime")]
    pub min_time: i64,
    /// One past the latest sample timestamp (exclusive, ms).
    #[serde(rename = "maxTime")]
    pub max_time: i64,
    /// Counts.
    #[serde(default)]
    pub stats: BlockStats,
    /// Compaction history.
    pub compaction: Compaction,
    /// Meta format version (1).
    pub version: u32,
}

/// `stats` of `meta.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStats {
    /// Samples in the block.
    #[serde(rename = "numSamples", default)]
    pub num_samples: u64,
    /// Series in the block.
    #[serde(rename = "numSeries", default)]
    pub num_series: u64,
    /// Chunks in the block.
    #[serde(rename = "numChunks", default)]
    pub num_chunks: u64,
    /// Tombstones, when Prometheus records them.
    #[serde(rename = "numTombstones", default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `compaction` of `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compaction {
    /// 1 for a block cut from the head (or written by us); higher after compactions.
    pub level: u32,
    /// ULIDs of the level-1 blocks this block contains.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Reads and checks `dir/meta.json`.
pub fn read_meta(dir: &Path) -> Result<BlockMeta> {
    let path = dir.join(META_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    let meta: BlockMeta = serde_json::from_str(&text).map_err(|e| Error::Meta {
        path: path.clone(),
        message: format!("line {} column {}: {e}", e.line(), e.column()),
    })?;
    if meta.version != 1 {
        return Err(Error::Meta {
            path,
            message: format!("meta version {} (only 1 is read)", meta.version),
        });
    }
    if meta.max_time < meta.min_time {
        return Err(Error::Meta {
            path,
            message: format!("maxTime {} before minTime {}", meta.max_time, meta.min_time),
        });
    }
    Ok(meta)
}
