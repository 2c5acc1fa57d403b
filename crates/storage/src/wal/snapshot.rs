//! Read-only WAL replay for a reader beside a live writer ([`crate::Db::open_read_only`]).
//!
//! Unlike [`super::replay`], nothing on disk is changed: leftover temporary checkpoints, older
//! checkpoints and segments a checkpoint covers are ignored instead of deleted, and a torn tail
//! of the newest segment (normally a frame the writer is writing right now) is skipped instead
//! of truncated.
//!
//! **Concurrency.** The writer may checkpoint and delete segments while this runs. Every file is
//! read whole with one `read`; a file that vanished after it was listed, or a gap in the segment
//! numbers after the checkpoint, means the writer truncated the log meanwhile, and the caller
//! retries the whole load ([`SnapshotError::Changed`]). Checksums still guard every frame, so a
//! change can never be read as data.

use std::io::ErrorKind;
use std::path::Path;

use super::log::{list_checkpoints, list_segments, read_frames, FrameCorruption, SegmentEnd};
use super::replay::{apply_frame, ReplayReport, TornTail};
use crate::head::HeadData;
use crate::io::FileSystem;
use crate::{Error, Result};

/// Why a read-only replay did not finish.
#[derive(Debug)]
pub enum SnapshotError {
    /// The writer changed the log during the replay (a file vanished, a segment gap appeared):
    /// retry with a fresh head.
    Changed(String),
    /// Corruption or an I/O error that a retry would not fix.
    Failed(Error),
}

impl From<Error> for SnapshotError {
    fn from(e: Error) -> Self {
        SnapshotError::Failed(e)
    }
}

/// Reads `path` whole; a missing file is [`SnapshotError::Changed`].
fn read_listed(fs: &dyn FileSystem, path: &Path) -> Result<Vec<u8>, SnapshotError> {
    fs.read(path).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            SnapshotError::Changed(format!("{} vanished while reading", path.display()))
        } else {
            SnapshotError::Failed(Error::io(path, e))
        }
    })
}

/// Replays the WAL in `dir` into `head` without changing any file: the newest checkpoint, then
/// the segments after it. A missing `dir` is an empty log. The report's `torn_tail` names a torn
/// tail of the newest segment that was skipped (not truncated).
pub fn replay_read_only(
    fs: &dyn FileSystem,
    dir: &Path,
    head: &mut HeadData,
) -> Result<ReplayReport, SnapshotError> {
    let mut report = ReplayReport::default();
    if !fs.is_dir(dir) {
        return Ok(report);
    }
    // The lower bound retention recorded (the file is replaced atomically, so this reads the
    // old or the new one; the caller's block-list check catches a retention run in between).
    if let Some(bounds) = super::bounds::read_bounds(fs, dir)? {
        head.raise_min_valid_time(bounds.min_valid_time);
    }
    let checkpoints = list_checkpoints(fs, dir)?;
    let mut first_segment = 0u32;
    if let Some((cp_index, cp_path)) = checkpoints.last() {
        let bytes = read_listed(fs, cp_path)?;
        let mut ignored_max = i64::MIN;
        read_frames(&bytes, false, |_, payload| {
            apply_frame(head, payload, &mut report, &mut ignored_max)
        })
        .map_err(
            |FrameCorruption {
                 offset,
                 detail,
                 checksum,
             }| {
                SnapshotError::Failed(Error::Corruption {
                    path: cp_path.clone(),
                    offset,
                    detail,
                    checksum,
                })
            },
        )?;
        report.checkpoint = Some(cp_path.clone());
        first_segment = cp_index.saturating_add(1);
    }
    let mut segments = list_segments(fs, dir)?;
    segments.retain(|(i, _)| *i >= first_segment);
    let consecutive = segments
        .windows(2)
        .all(|w| matches!(w, [(a, _), (b, _)] if *b == a.saturating_add(1)));
    if !consecutive {
        // The writer deletes covered segments oldest first after writing a new checkpoint; a
        // listing taken midway shows a gap.
        return Err(SnapshotError::Changed(format!(
            "WAL segments in {} are not consecutive",
            dir.display()
        )));
    }
    // Segments that start right after the checkpoint (or at any number without one) are the
    // whole log; the writer never leaves a gap between the checkpoint and the first segment.
    if let (Some((first, _)), true) = (segments.first(), report.checkpoint.is_some()) {
        if *first != first_segment {
            return Err(SnapshotError::Changed(format!(
                "WAL segment {first} does not follow checkpoint {}",
                first_segment.saturating_sub(1)
            )));
        }
    }
    let n_segments = segments.len();
    for (pos, (_, path)) in segments.into_iter().enumerate() {
        let is_last = pos + 1 == n_segments;
        let bytes = read_listed(fs, &path)?;
        let mut max_t = i64::MIN;
        let end = read_frames(&bytes, is_last, |_, payload| {
            apply_frame(head, payload, &mut report, &mut max_t)
        });
        report.segments += 1;
        match end {
            Ok(SegmentEnd::Clean) => {}
            Ok(SegmentEnd::Torn { offset, reason, .. }) => {
                report.torn_tail = Some(TornTail {
                    path,
                    offset,
                    dropped_bytes: (bytes.len() as u64).saturating_sub(offset),
                    reason,
                });
            }
            Err(FrameCorruption {
                offset,
                detail,
                checksum,
            }) => {
                return Err(SnapshotError::Failed(Error::Corruption {
                    path,
                    offset,
                    detail,
                    checksum,
                }));
            }
        }
    }
    Ok(report)
}
