//! Replaying the WAL into the head when a data directory is opened: the newest checkpoint, then
//! every later segment in order. A torn tail is truncated and reported; corruption anywhere else
//! is an error (or, with repair, truncated at the bad frame and reported).

use std::path::{Path, PathBuf};

use super::bounds::{read_bounds, WalBounds, BOUNDS_FILE};
use super::log::{
    checkpoint_name, list_checkpoints, list_segments, read_frames, segment_name, FrameCorruption,
    SegmentEnd, SEGMENT_HEADER_LEN,
};
use super::record::{decode_records, Record};
use crate::head::{ApplyStats, HeadData};
use crate::io::FileSystem;
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
    /// Segments after the torn tail that held no frame and were truncated too (left by a
    /// writer that started new segments after a failed write, as builds before `wal/bounds`
    /// did).
    pub later_torn: Vec<TornTail>,
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
    /// Where the WAL starts.
    pub bounds: WalBounds,
    /// False if `wal/bounds` did not exist: the caller records [`Self::bounds`] once the
    /// writer's first segment exists.
    pub bounds_recorded: bool,
}

fn corruption(path: &Path, offset: u64, detail: impl Into<String>) -> Error {
    Error::Corruption {
        path: path.to_path_buf(),
        offset,
        detail: detail.into(),
        checksum: None,
    }
}

fn with_checksum(err: Error, checksum: Option<crate::ChecksumMismatch>) -> Error {
    match checksum {
        Some(c) => err.with_checksum(c.expected, c.actual),
        None => err,
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
            Record::Metadata(map) => head.apply_metadata(&map),
        }
    }
    report.frames += 1;
    Ok(())
}

/// Replays the WAL in `dir` into `head`. Leftover temporary files, checkpoints other than the
/// one the WAL starts from and segments that checkpoint covers are deleted.
///
/// Where the WAL starts comes from `wal/bounds` ([`super::bounds`]); a WAL without that file
/// (new, or written by an older build) starts at its newest checkpoint, or segment 1 without
/// one, and the caller records that with [`super::bounds::write_bounds`] once the writer's first
/// segment exists ([`ReplayOutcome::bounds_recorded`]).
///
/// A frame that is incomplete or fails its checksum and runs to the end of its segment is a
/// torn write and is truncated (reported in [`ReplayReport::torn_tail`]) if no later segment
/// holds a valid frame: that is the end of the log. Later segments without a frame (empty, or
/// torn themselves) are truncated too ([`ReplayReport::later_torn`]).
///
/// Errors: [`Error::Corruption`] naming the file and byte offset for a checksum mismatch or an
/// undecodable frame anywhere else, a torn frame followed by valid data, a missing first
/// segment, checkpoint or a gap in the sequence, or a corrupt checkpoint or bounds file. With
/// `repair`, corruption in a segment instead truncates the log at the bad frame (deleting later
/// segments) and is described in [`ReplayReport::repaired`].
pub fn replay(
    fs: &dyn FileSystem,
    dir: &Path,
    head: &mut HeadData,
    repair: bool,
) -> Result<ReplayOutcome> {
    let mut out = ReplayOutcome {
        next_segment: 1,
        ..Default::default()
    };
    // Remove temporary files of an interrupted checkpoint or bounds write.
    for entry in fs.read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let name = entry.name.to_string_lossy();
        if (name.starts_with("checkpoint.") && name.ends_with(".tmp"))
            || name == format!("{BOUNDS_FILE}.tmp")
        {
            fs.remove_file(&entry.path)
                .map_err(|e| Error::io(&entry.path, e))?;
        }
    }
    let recorded = read_bounds(fs, dir)?;
    let checkpoints = list_checkpoints(fs, dir)?;
    let bounds = recorded.unwrap_or_else(|| {
        let checkpoint = checkpoints.last().map(|(i, _)| *i);
        WalBounds {
            first_segment: checkpoint.map_or(1, |c| c.saturating_add(1)),
            checkpoint,
            ..WalBounds::default()
        }
    });
    // Samples before the recorded bound were in blocks retention has deleted since.
    head.raise_min_valid_time(bounds.min_valid_time);
    out.bounds = bounds;
    out.bounds_recorded = recorded.is_some();
    let first_segment = bounds.first_segment;
    out.next_segment = first_segment;
    // Checkpoints other than the WAL's own: older ones are leftovers of a finished truncation,
    // newer ones of one interrupted before it recorded its checkpoint (every segment that one
    // covers is still here, so nothing is lost by dropping it).
    for (index, path) in &checkpoints {
        if Some(*index) != bounds.checkpoint {
            fs.remove_file(path).map_err(|e| Error::io(path, e))?;
        }
    }
    if let Some(cp_index) = bounds.checkpoint {
        let cp_path = dir.join(checkpoint_name(cp_index));
        if !checkpoints.iter().any(|(i, _)| *i == cp_index) {
            return Err(corruption(
                &cp_path,
                0,
                format!(
                    "WAL checkpoint missing: {BOUNDS_FILE} records that the WAL starts from it \
                     (the series of segments up to {cp_index} are lost)"
                ),
            ));
        }
        let bytes = fs.read(&cp_path).map_err(|e| Error::io(&cp_path, e))?;
        let mut ignored_max = i64::MIN;
        let report = &mut out.report;
        match read_frames(&bytes, false, |_, payload| {
            apply_frame(head, payload, report, &mut ignored_max)
        }) {
            Ok(_) => {}
            Err(FrameCorruption {
                offset,
                detail,
                checksum,
            }) => {
                return Err(with_checksum(
                    corruption(&cp_path, offset, detail),
                    checksum,
                ))
            }
        }
        out.report.checkpoint = Some(cp_path);
    }
    let mut segments = list_segments(fs, dir)?;
    // Segments covered by the checkpoint are leftovers of an interrupted truncation.
    for (_, p) in segments.iter().filter(|(i, _)| *i < first_segment) {
        fs.remove_file(p).map_err(|e| Error::io(p, e))?;
    }
    segments.retain(|(i, _)| *i >= first_segment);
    match segments.first() {
        None if recorded.is_some() => {
            return Err(corruption(
                &dir.join(segment_name(first_segment)),
                0,
                format!(
                    "first WAL segment missing: {BOUNDS_FILE} records that the WAL starts here"
                ),
            ))
        }
        Some((first, _)) if *first != first_segment => {
            return Err(corruption(
                &dir.join(segment_name(first_segment)),
                0,
                format!(
                    "first WAL segment missing: the WAL starts at segment {first_segment} but the \
                     oldest present is {first}"
                ),
            ))
        }
        _ => {}
    }
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
    let mut pos = 0;
    while let Some((index, path)) = segments.get(pos).cloned() {
        pos += 1;
        let later = segments.get(pos..).unwrap_or_default();
        let bytes = fs.read(&path).map_err(|e| Error::io(&path, e))?;
        let mut max_t = i64::MIN;
        let report = &mut out.report;
        let end = if bytes.is_empty() {
            // A segment whose header never became durable: nothing was acknowledged in it.
            Ok(SegmentEnd::Clean)
        } else {
            read_frames(&bytes, true, |_, payload| {
                apply_frame(head, payload, report, &mut max_t)
            })
        };
        out.report.segments += 1;
        out.segment_max_t.push((index, max_t));
        out.next_segment = index.saturating_add(1);
        let corrupt = match end {
            Ok(SegmentEnd::Clean) => continue,
            Ok(SegmentEnd::Torn {
                offset,
                reason,
                checksum,
            }) => match first_with_frames(fs, later)? {
                None => {
                    // Not even the header made it: keep an empty file (the sequence stays
                    // gapless; the writer continues with the next index).
                    let keep = if offset < SEGMENT_HEADER_LEN as u64 {
                        0
                    } else {
                        offset
                    };
                    truncate_file(fs, &path, keep)?;
                    let torn = TornTail {
                        path,
                        offset: keep,
                        dropped_bytes: (bytes.len() as u64).saturating_sub(keep),
                        reason,
                    };
                    if out.report.torn_tail.is_none() {
                        out.report.torn_tail = Some(torn);
                    } else {
                        out.report.later_torn.push(torn);
                    }
                    continue;
                }
                Some(valid) => FrameCorruption {
                    offset,
                    detail: format!(
                        "{reason}, but {} after it holds valid frames, so this is not the end of \
                         the log",
                        valid.display()
                    ),
                    checksum,
                },
            },
            Err(c) => c,
        };
        let FrameCorruption {
            offset,
            detail,
            checksum,
        } = corrupt;
        if !repair {
            return Err(with_checksum(corruption(&path, offset, detail), checksum));
        }
        truncate_file(fs, &path, offset)?;
        let mut deleted = Vec::new();
        for (_, later) in later {
            fs.remove_file(later).map_err(|e| Error::io(later, e))?;
            deleted.push(later.clone());
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
    Ok(out)
}

/// The first of `segments` holding at least one valid frame (or anything that is not a torn
/// write), if any.
fn first_with_frames(fs: &dyn FileSystem, segments: &[(u32, PathBuf)]) -> Result<Option<PathBuf>> {
    for (_, path) in segments {
        let bytes = fs.read(path).map_err(|e| Error::io(path, e))?;
        if bytes.is_empty() {
            continue;
        }
        let mut frames = 0u64;
        let end = read_frames(&bytes, true, |_, _| {
            frames += 1;
            Ok(())
        });
        if frames > 0 || end.is_err() {
            return Ok(Some(path.clone()));
        }
    }
    Ok(None)
}

fn truncate_file(fs: &dyn FileSystem, path: &Path, len: u64) -> Result<()> {
    fs.truncate(path, len).map_err(|e| Error::io(path, e))
}
