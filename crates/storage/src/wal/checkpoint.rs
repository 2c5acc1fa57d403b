//! WAL checkpoints: once the head's old data is persisted in blocks, the segments holding only
//! that data are replaced by one checkpoint file with the series records still needed, so replay
//! time stays bounded. A checkpoint has the segment format (header + frames) and is named after
//! the last segment it covers: `checkpoint.00000042` replaces segments `..=42`.

use std::path::{Path, PathBuf};

use promlite_model::{Labels, Timestamp};

use super::log::{checkpoint_name, encode_frame, segment_header, sync_dir};
use super::record::RecordEncoder;
use crate::io::FileSystem;
use crate::metadata::MetadataMap;
use crate::reader::SeriesRef;
use crate::{Error, Result};

/// Series per frame in a checkpoint, to keep frames small.
const SERIES_PER_FRAME: usize = 10_000;

/// Writes `checkpoint.<index>` holding `series`, the head's `next_ref`/`min_valid_time` and
/// all its metric `metadata`: written to a temporary name, fsynced, renamed into place, and
/// the directory fsynced.
pub fn write_checkpoint(
    fs: &dyn FileSystem,
    dir: &Path,
    index: u32,
    series: &[(SeriesRef, Labels)],
    next_ref: SeriesRef,
    min_valid_time: Timestamp,
    metadata: &MetadataMap,
) -> Result<PathBuf> {
    let final_path = dir.join(checkpoint_name(index));
    let tmp_path = dir.join(format!("{}.tmp", checkpoint_name(index)));
    let mut file = fs.create(&tmp_path).map_err(|e| Error::io(&tmp_path, e))?;
    let mut buf = segment_header().to_vec();
    let mut enc = RecordEncoder::new();
    let mut snappy = snap::raw::Encoder::new();
    let mut frame = Vec::new();
    enc.checkpoint_meta(next_ref, min_valid_time);
    // The metadata travels in the first frame: the segments it came from are deleted next.
    enc.metadata(metadata.iter().map(|(k, v)| (k.as_str(), v)));
    encode_frame(&mut snappy, enc.as_bytes(), &mut frame)?;
    buf.extend_from_slice(&frame);
    for group in series.chunks(SERIES_PER_FRAME) {
        enc.clear();
        enc.series(group.iter().map(|(r, l)| (*r, l)));
        encode_frame(&mut snappy, enc.as_bytes(), &mut frame)?;
        buf.extend_from_slice(&frame);
        if buf.len() > 8 << 20 {
            file.write_all(&buf).map_err(|e| Error::io(&tmp_path, e))?;
            buf.clear();
        }
    }
    file.write_all(&buf).map_err(|e| Error::io(&tmp_path, e))?;
    file.sync().map_err(|e| Error::io(&tmp_path, e))?;
    drop(file);
    fs.rename(&tmp_path, &final_path)
        .map_err(|e| Error::io(&final_path, e))?;
    sync_dir(fs, dir)?;
    Ok(final_path)
}
