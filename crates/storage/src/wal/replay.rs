//! Replaying the WAL into the head when a data directory is opened: the newest checkpoint, then
//! every later segment in order. A torn tail is truncated and reported; corruption anywhere else
//! is an error (or, with repair, truncated at the bad frame and reported).

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use super::log::{
    list_checkpoints, list_segments, read_frames, segment_name, FrameCorruption, SegmentEnd,
};
use super::record::{decode_records, Record};
use crate::head::{ApplyStats, HeadData};
use crate::{Error, Result};

/// A torn tail that replay truncated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment.
    pub path: PathBuf,
    /// Where the segment was cut.
    pub offset: u64,
    /// Bytes removed.
    pub dropped_bytes: u64,
    /// Why the tail was judged torn.
    pub reason: String,
}

/// Corruption that replay repaired (only with the repair option) by dropping everything from
/// the bad frame on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairedCorruption {
    /// The segment holding the bad frame.
    pub path: PathBuf,
    /// Offset of the bad frame; the segment was truncated here.
    pub offset: u64,
    /// What was wrong.
    pub detail: String,
    /// Bytes dropped from this segment.
    pub dropped_bytes: u64,
    /// Later segments deleted.
    pub deleted_segments: Vec<PathBuf>,
}

/// What opening a data directory found in its WAL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// The checkpoint replayed first, if any.
    pub checkpoint: Option<PathBuf>,
    /// Segments replayed.
    pub segments: usize,
    /// Frames (commits) replayed.
    pub frames: u64,
    /// Series records replayed.
    pub series: u64,
    /// What happened to the replayed samples. `out_of_bounds` counts samples already persisted
    /// in blocks (expected after a compaction); `unknown_series` counts samples of series that
    /// were garbage-collected.
    pub samples: ApplyStats,
    /// A truncated torn tail (the expected result of a crash during a write).
    pub torn_tail: Option<TornTail>,
    /// Corruption dropped by the repair option.
    pub repaired: Option<RepairedCorruption>,
}

/// The state the WAL writer continues from after replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayOutcome {
    /// What was found.
    pub report: ReplayReport,
    /// The index for the next segment.
    pub next_segment: u32,
    /// Per existing segment, the largest sample timestamp in it.
    pub segment_max_t: Vec<(u32, i64)>,
}

fn corruption(path: &Path, offset: u64, detail: impl Into<String>) -> Error {
    Error::Corruption {
        path: path.to_path_buf(),
        offset,
        detail: detail.into(),
    }
}

/// Applies every record of one decompressed frame. Records are decoded first and applied only if
/// the whole frame decodes, so a frame (a commit) is applied whole or not at all.
pub(super) fn apply_frame(
    head: &mut HeadData,
    payload: &[u8],
    report: &mut ReplayReport,
    max_t: &mut i64,
) -> Result<(), String> {
    let mut records = Vec::new();
    decode_records(payload, |r| {
        records.push(r);
        Ok(())
    })
    .map_err(|e| format!("record at payload offset {}: {}", e.offset, e.detail))?;
    for rec in records {
        match rec {
            Record::Series(series) => {
                for s in series {
                    head.create_from_wal(s.series_ref, &s.to_labels())
                        .map_err(|e| format!("series record for ref {}: {e}", s.series_ref))?;
                    report.series += 1;
                }
            }
            Record::Samples(samples) => {
                for s in &samples {
                    *max_t = (*max_t).max(s.t);
                }
                head.apply(&samples, &mut report.samples);
            }
            Record::CheckpointMeta {
                next_ref,
                min_valid_time,
            } => {
                head.bump_next_ref(next_ref);
                head.raise_min_valid_time(min_valid_time);
            }
        }
    }
    report.frames += 1;
    Ok(())
}

/// Replays the WAL in `dir` into `head`. Leftover temporary checkpoints, checkpoints older than
/// the newest and segments the newest checkpoint covers are deleted.
///
/// Errors: [`Error::Corruption`] naming the file and byte offset for a checksum mismatch or an
/// undecodable frame before the newest segment's tail, a missing segment in the sequence, or a
/// corrupt checkpoint. With `repair`, corruption in a segment instead truncates the log at the
/// bad frame (deleting later segments) and is described in [`ReplayReport::repaired`].
pub fn replay(dir: &Path, head: &mut HeadData, repair: bool) -> Result<ReplayOutcome> {
    let mut out = ReplayOutcome {
        next_segment: 1,
        ..Default::default()
    };
    // Remove temporary checkpoints of an interrupted checkpoint write.
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("checkpoint.") && name.ends_with(".tmp") {
            let p = entry.path();
            fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    let checkpoints = list_checkpoints(dir)?;
    let mut first_segment = 0u32;
    if let Some((cp_index, cp_path)) = checkpoints.last() {
        for (_, older) in checkpoints.iter().take(checkpoints.len() - 1) {
            fs::remove_file(older).map_err(|e| Error::io(older, e))?;
        }
        let bytes = fs::read(cp_path).map_err(|e| Error::io(cp_path, e))?;
        let mut ignored_max = i64::MIN;
        let report = &mut out.report;
        match read_frames(&bytes, false, |_, payload| {
            apply_frame(head, payload, report, &mut ignored_max)
        }) {
            Ok(_) => {}
            Err(FrameCorruption { offset, detail }) => {
                return Err(corruption(cp_path, offset, detail))
            }
        }
        out.report.checkpoint = Some(cp_path.clone());
        first_segment = cp_index.saturating_add(1);
        out.next_segment = first_segment;
    }
    let mut segments = list_segments(dir)?;
    // Segments covered by the checkpoint are leftovers of an interrupted truncation.
    for (_, p) in segments.iter().filter(|(i, _)| *i < first_segment) {
        fs::remove_file(p).map_err(|e| Error::io(p, e))?;
    }
    segments.retain(|(i, _)| *i >= first_segment);
    if let Some(((first, _), (last, _))) = segments.first().zip(segments.last()) {
        let expected = (*last - *first) as usize + 1;
        if expected != segments.len() {
            let missing = segments
                .windows(2)
                .find_map(|w| match w {
                    [(a, _), (b, _)] if *b != a + 1 => Some(a + 1),
                    _ => None,
                })
                .unwrap_or(*first);
            return Err(corruption(
                &dir.join(segment_name(missing)),
                0,
                "WAL segment missing from the sequence",
            ));
        }
    }
    let n_segments = segments.len();
    let mut seg_iter = segments.into_iter().enumerate();
    while let Some((pos, (index, path))) = seg_iter.next() {
        let is_last = pos + 1 == n_segments;
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let mut max_t = i64::MIN;
        let report = &mut out.report;
        let end = read_frames(&bytes, is_last, |_, payload| {
            apply_frame(head, payload, report, &mut max_t)
        });
        out.report.segments += 1;
        out.segment_max_t.push((index, max_t));
        out.next_segment = index.saturating_add(1);
        match end {
            Ok(SegmentEnd::Clean) => {}
            Ok(SegmentEnd::Torn { offset, reason }) => {
                if offset < super::log::SEGMENT_HEADER_LEN as u64 {
                    // Not even the header made it: drop the file and reuse its number.
                    fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                    out.segment_max_t.pop();
                    out.next_segment = index;
                } else {
                    truncate_file(&path, offset)?;
                }
                out.report.torn_tail = Some(TornTail {
                    path,
                    offset,
                    dropped_bytes: (bytes.len() as u64).saturating_sub(offset),
                    reason,
                });
            }
            Err(FrameCorruption { offset, detail }) => {
                if !repair {
                    return Err(corruption(&path, offset, detail));
                }
                truncate_file(&path, offset)?;
                let mut deleted = Vec::new();
                for (_, (_, later)) in seg_iter.by_ref() {
                    fs::remove_file(&later).map_err(|e| Error::io(&later, e))?;
                    deleted.push(later);
                }
                out.report.repaired = Some(RepairedCorruption {
                    path,
                    offset,
                    detail,
                    dropped_bytes: (bytes.len() as u64).saturating_sub(offset),
                    deleted_segments: deleted,
                });
                break;
            }
        }
    }
    Ok(out)
}

fn truncate_file(path: &Path, len: u64) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.set_len(len).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}
