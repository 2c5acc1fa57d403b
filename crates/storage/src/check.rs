//! Offline verification and explicit repair of a data directory, behind `promlite check` and
//! `promlite repair`.
//!
//! [`check_dir`] reads everything and changes nothing: the WAL's bounds file, every frame
//! checksum and record of its checkpoint and segments, the sequence of segments, and every
//! block (metadata, every index section's checksum, segment headers, every chunk run's
//! checksum). Each problem names the file and byte offset.
//!
//! [`repair_dir`] makes a damaged directory openable again and reports exactly what it drops:
//! blocks that fail verification are moved aside to `<id>.corrupt` (kept for inspection, no
//! longer part of the database), a WAL whose recorded first segment or checkpoint is missing is
//! restarted at what is present, and the WAL is truncated at its first bad frame (later segments
//! deleted), as [`crate::Options::wal_repair`] does.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use crate::block::{Block, BlockId, BlockMeta, META_FILE, TMP_SUFFIX};
use crate::io::{FileSystem, RealFs};
use crate::reader::BlockReader;
use crate::wal::bounds::{read_bounds, write_bounds, WalBounds, BOUNDS_FILE};
use crate::wal::log::{list_checkpoints, list_segments, read_frames, SegmentEnd};
use crate::wal::record::{decode_records, Record};
use crate::{ChecksumMismatch, Db, Error, Options, Result};

/// One problem [`check_dir`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file (or directory).
    pub path: PathBuf,
    /// Byte offset of the bad data, when it has one.
    pub offset: Option<u64>,
    /// What is wrong.
    pub detail: String,
    /// For a checksum mismatch, the stored (expected) and computed (actual) checksums.
    pub checksum: Option<ChecksumMismatch>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(o) => write!(
                f,
                "{} at byte offset {o}: {}",
                self.path.display(),
                self.detail
            ),
            None => write!(f, "{}: {}", self.path.display(), self.detail),
        }
    }
}

/// What [`check_dir`] verified and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Blocks verified (including failed ones).
    pub blocks: usize,
    /// Chunk runs whose checksum was verified.
    pub chunk_runs: u64,
    /// WAL segments read.
    pub segments: usize,
    /// WAL checkpoints read.
    pub checkpoints: usize,
    /// WAL frames whose checksum and records were verified.
    pub frames: u64,
    /// Things that are expected after a crash and repaired by the next open (a torn write at
    /// the end of the WAL, leftover temporary directories). Not problems.
    pub notes: Vec<String>,
    /// Damage: the directory does not open, or opening it would drop data.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// True if no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn problem_from(err: Error) -> Problem {
    match err {
        Error::Corruption {
            path,
            offset,
            detail,
            checksum,
        } => Problem {
            path,
            offset: Some(offset),
            detail,
            checksum,
        },
        Error::Io { path, source } => Problem {
            path,
            offset: None,
            detail: source.to_string(),
            checksum: None,
        },
        other => Problem {
            path: PathBuf::new(),
            offset: None,
            detail: other.to_string(),
            checksum: None,
        },
    }
}

/// Verifies every checksum in the data directory `dir` without changing anything.
pub fn check_dir(dir: &Path) -> Result<CheckReport> {
    let fs = RealFs;
    let mut report = CheckReport::default();
    for entry in fs.read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let Some(name) = entry.name.to_str() else {
            continue;
        };
        if !entry.is_dir {
            continue;
        }
        if name
            .strip_suffix(TMP_SUFFIX)
            .is_some_and(|s| BlockId::parse(s).is_some())
        {
            report.notes.push(format!(
                "{}: unfinished block write or deletion, removed at the next open",
                entry.path.display()
            ));
            continue;
        }
        if BlockId::parse(name).is_none() {
            continue;
        }
        report.blocks += 1;
        if let Err(e) = check_block(&fs, &entry.path, &mut report.chunk_runs) {
            report.problems.push(problem_from(e));
        }
    }
    let wal = dir.join("wal");
    if fs.is_dir(&wal) {
        check_wal(&fs, &wal, &mut report)?;
    }
    Ok(report)
}

/// Opens a block (meta, index checksums, segment headers) and reads every chunk run.
fn check_block(fs: &dyn FileSystem, dir: &Path, runs: &mut u64) -> Result<()> {
    let meta = dir.join(META_FILE);
    if fs
        .file_len(&meta)
        .map_err(|e| Error::io(&meta, e))?
        .is_none()
    {
        return Err(Error::Corruption {
            path: meta,
            offset: 0,
            detail: "block directory has no meta.json".into(),
            checksum: None,
        });
    }
    let block = Block::open_in(fs, dir)?;
    let refs = block.sorted_postings(&block.postings(&[])?)?;
    let mut chunks = Vec::new();
    for r in refs {
        chunks.clear();
        block.series_chunks(r, i64::MIN, i64::MAX, &mut chunks)?;
        *runs += 1;
    }
    Ok(())
}

fn check_wal(fs: &dyn FileSystem, wal: &Path, report: &mut CheckReport) -> Result<()> {
    let bounds = match read_bounds(fs, wal) {
        Ok(b) => b,
        Err(e) => {
            report.problems.push(problem_from(e));
            None
        }
    };
    let checkpoints = list_checkpoints(fs, wal)?;
    let segments = list_segments(fs, wal)?;
    let bounds = bounds.unwrap_or_else(|| {
        if !segments.is_empty() || !checkpoints.is_empty() {
            report.notes.push(format!(
                "{}: no {BOUNDS_FILE} file (written by an older build); recorded at the next open",
                wal.display()
            ));
        }
        let checkpoint = checkpoints.last().map(|(i, _)| *i);
        WalBounds {
            first_segment: checkpoint.map_or(1, |c| c.saturating_add(1)),
            checkpoint,
            ..WalBounds::default()
        }
    });
    let verify = |path: &Path, tail: bool, report: &mut CheckReport| -> Result<()> {
        let bytes = fs.read(path).map_err(|e| Error::io(path, e))?;
        if bytes.is_empty() && tail {
            return Ok(());
        }
        let mut frames = 0u64;
        let end = read_frames(&bytes, tail, |_, payload| {
            decode_records(payload, |_| Ok(()))
                .map_err(|e| format!("record at payload offset {}: {}", e.offset, e.detail))?;
            frames += 1;
            Ok(())
        });
        report.frames += frames;
        match end {
            Ok(SegmentEnd::Clean) => {}
            // A complete last frame that fails its checksum may be an acknowledged commit
            // damaged on disk: a problem, unlike an incomplete frame (a write a crash cut short).
            Ok(SegmentEnd::Torn {
                offset,
                reason,
                checksum: Some(checksum),
            }) => report.problems.push(Problem {
                path: path.to_path_buf(),
                offset: Some(offset),
                detail: format!(
                    "the last frame of the WAL fails its checksum ({reason}): a torn write or \
                     a damaged commit; the next open cuts it off ({} bytes)",
                    (bytes.len() as u64).saturating_sub(offset)
                ),
                checksum: Some(checksum),
            }),
            Ok(SegmentEnd::Torn { offset, reason, .. }) => report.notes.push(format!(
                "{} at byte offset {offset}: torn write at the end of the WAL ({reason}); cut off \
                 at the next open",
                path.display()
            )),
            Err(c) => report.problems.push(Problem {
                path: path.to_path_buf(),
                offset: Some(c.offset),
                detail: c.detail,
                checksum: c.checksum,
            }),
        }
        Ok(())
    };
    if let Some(c) = bounds.checkpoint {
        match checkpoints.iter().find(|(i, _)| *i == c) {
            Some((_, path)) => {
                report.checkpoints += 1;
                verify(path, false, report)?;
            }
            None => report.problems.push(Problem {
                path: wal.join(crate::wal::log::checkpoint_name(c)),
                offset: None,
                detail: "WAL checkpoint missing (the WAL starts from it)".into(),
                checksum: None,
            }),
        }
    }
    let live: Vec<&(u32, PathBuf)> = segments
        .iter()
        .filter(|(i, _)| *i >= bounds.first_segment)
        .collect();
    let mut expect = bounds.first_segment;
    for (pos, (index, path)) in live.iter().enumerate() {
        if *index != expect {
            report.problems.push(Problem {
                path: wal.join(crate::wal::log::segment_name(expect)),
                offset: None,
                detail: if expect == bounds.first_segment {
                    "first WAL segment missing".into()
                } else {
                    "WAL segment missing from the sequence".into()
                },
                checksum: None,
            });
        }
        expect = index.saturating_add(1);
        report.segments += 1;
        verify(path, pos + 1 == live.len(), report)?;
    }
    if live.is_empty() && (bounds.checkpoint.is_some() || bounds.first_segment > 1) {
        report.problems.push(Problem {
            path: wal.join(crate::wal::log::segment_name(bounds.first_segment)),
            offset: None,
            detail: "first WAL segment missing".into(),
            checksum: None,
        });
    }
    Ok(())
}

/// What [`repair_dir`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Each action taken, with what it dropped.
    pub actions: Vec<String>,
}

/// Repairs the data directory `dir` so it opens, reporting exactly what was dropped (see the
/// module docs). A directory without problems is left as it is (apart from what any open does:
/// cutting a torn WAL tail). Errors: [`Error::Locked`] while another process has it open.
pub fn repair_dir(dir: &Path) -> Result<RepairReport> {
    let fs = RealFs;
    let mut report = RepairReport::default();
    let lock_path = dir.join(crate::db::LOCK_FILE);
    let lock = fs.lock(&lock_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked {
                path: lock_path.clone(),
            }
        } else {
            Error::io(&lock_path, e)
        }
    })?;
    for entry in fs.read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let Some(name) = entry.name.to_str() else {
            continue;
        };
        if !entry.is_dir || BlockId::parse(name).is_none() {
            continue;
        }
        let mut runs = 0;
        if let Err(e) = check_block(&fs, &entry.path, &mut runs) {
            let meta_path = entry.path.join(META_FILE);
            let what = match fs
                .read(&meta_path)
                .ok()
                .and_then(|b| serde_json::from_slice::<BlockMeta>(&b).ok())
            {
                Some(m) => format!(
                    "{} series, {} samples, time range [{}, {}]",
                    m.stats.num_series, m.stats.num_samples, m.min_time, m.max_time
                ),
                None => "contents unknown: its meta.json is missing or unreadable".into(),
            };
            let aside = dir.join(format!("{name}.corrupt"));
            fs.rename(&entry.path, &aside)
                .map_err(|e| Error::io(&entry.path, e))?;
            fs.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
            report.actions.push(format!(
                "dropped block {name} ({what}): {}; moved to {}",
                problem_from(e),
                aside.display()
            ));
        }
    }
    let wal = dir.join("wal");
    let mut damage = None;
    if fs.is_dir(&wal) {
        repair_wal_bounds(&fs, &wal, &mut report)?;
        damage = wal_damage(&fs, &wal)?;
    }
    drop(lock);
    let db = Db::open(
        dir,
        Options {
            wal_repair: true,
            auto_compact: false,
            retention_time: None,
            retention_size: None,
            ..Options::default()
        },
    )?;
    let replay = db.replay_report();
    let restarted = report
        .actions
        .iter()
        .any(|a| a.starts_with("restarted the WAL"));
    if restarted && replay.samples.unknown_series > 0 {
        report.actions.push(format!(
            "dropped {} samples of series whose series records were in the lost WAL segments",
            replay.samples.unknown_series
        ));
    }
    let later = |d: &Option<WalDamage>, path: &Path, offset: u64| match d {
        Some(d) if d.path == path && d.offset == offset => format!(
            "; with it {} later commits ({} samples) that were intact but follow it",
            d.later_commits, d.later_samples
        ),
        _ => String::new(),
    };
    if let Some(r) = &replay.repaired {
        report.actions.push(format!(
            "truncated the WAL at the bad frame: dropped {} bytes [{}, {}) ({}), and {} later \
             segments{}{}",
            r.path.display(),
            r.offset,
            r.offset.saturating_add(r.dropped_bytes),
            r.detail,
            r.deleted_segments.len(),
            if r.deleted_segments.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    r.deleted_segments
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            later(&damage, &r.path, r.offset)
        ));
    }
    for t in replay.torn_tail.iter().chain(&replay.later_torn) {
        let damaged = damage
            .as_ref()
            .is_some_and(|d| d.damaged_tail && d.path == t.path && d.offset == t.offset);
        report.actions.push(format!(
            "cut the end of the WAL off: dropped {} bytes [{}, {}) ({}; {})",
            t.path.display(),
            t.offset,
            t.offset.saturating_add(t.dropped_bytes),
            t.reason,
            if damaged {
                "a complete frame failing its checksum: one commit, contents unreadable"
            } else {
                "an incomplete write, never acknowledged"
            }
        ));
    }
    db.close()?;
    Ok(report)
}

/// The first bad frame of the WAL that repair will drop, and what follows it.
struct WalDamage {
    path: PathBuf,
    offset: u64,
    /// Intact commits after the bad frame (in its segment and in later segments).
    later_commits: u64,
    /// Samples in those commits.
    later_samples: u64,
    /// The bad frame is the complete last frame failing its checksum (replay cuts it off as a
    /// torn tail, but it may have been an acknowledged commit).
    damaged_tail: bool,
}

/// Counts the commits and samples in `bytes`, frames without a segment header.
fn count_frames(frames: &[u8]) -> (u64, u64) {
    let mut bytes = crate::wal::log::segment_header().to_vec();
    bytes.extend_from_slice(frames);
    let (mut commits, mut samples) = (0u64, 0u64);
    let _ = read_frames(&bytes, true, |_, payload| {
        commits += 1;
        decode_records(payload, |r| {
            if let Record::Samples(s) = r {
                samples += s.len() as u64;
            }
            Ok(())
        })
        .map_err(|e| e.detail)
    });
    (commits, samples)
}

/// Finds the first frame of the live WAL that replay would reject or cut off as a damaged
/// tail (a complete frame failing its checksum), and counts the intact commits after it.
fn wal_damage(fs: &dyn FileSystem, wal: &Path) -> Result<Option<WalDamage>> {
    let first = read_bounds(fs, wal)
        .ok()
        .flatten()
        .map_or(1, |b| b.first_segment);
    let live: Vec<(u32, PathBuf)> = list_segments(fs, wal)?
        .into_iter()
        .filter(|(i, _)| *i >= first)
        .collect();
    for (pos, (_, path)) in live.iter().enumerate() {
        let is_last = pos + 1 == live.len();
        let bytes = fs.read(path).map_err(|e| Error::io(path, e))?;
        if bytes.is_empty() {
            continue;
        }
        let (offset, damaged_tail) = match read_frames(&bytes, is_last, |_, _| Ok(())) {
            Ok(SegmentEnd::Torn {
                offset,
                checksum: Some(_),
                ..
            }) => (offset, true),
            Err(c) => (c.offset, false),
            Ok(_) => continue,
        };
        // Skip the bad frame by its length field, if it is plausible.
        let at = usize::try_from(offset).unwrap_or(usize::MAX);
        let after = bytes
            .get(at..at.saturating_add(4))
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .and_then(|len| {
                at.checked_add(crate::wal::log::FRAME_HEADER_LEN)?
                    .checked_add(len as usize)
            })
            .and_then(|end| bytes.get(end..))
            .unwrap_or_default();
        let (mut commits, mut samples) = count_frames(after);
        for (_, later) in live.iter().skip(pos + 1) {
            let b = fs.read(later).map_err(|e| Error::io(later, e))?;
            let (c, s) = count_frames(
                b.get(crate::wal::log::SEGMENT_HEADER_LEN..)
                    .unwrap_or_default(),
            );
            commits += c;
            samples += s;
        }
        return Ok(Some(WalDamage {
            path: path.clone(),
            offset,
            later_commits: commits,
            later_samples: samples,
            damaged_tail,
        }));
    }
    Ok(None)
}

/// Restarts a WAL whose recorded first segment or checkpoint is missing at what is present.
fn repair_wal_bounds(fs: &dyn FileSystem, wal: &Path, report: &mut RepairReport) -> Result<()> {
    let recorded = match read_bounds(fs, wal) {
        Ok(b) => b,
        Err(e) => {
            report.actions.push(format!(
                "rewrote the unreadable {BOUNDS_FILE} file ({})",
                problem_from(e)
            ));
            None
        }
    };
    let checkpoints = list_checkpoints(fs, wal)?;
    let segments = list_segments(fs, wal)?;
    // Keep the recorded lower bound: it stands for blocks retention deleted.
    let min_valid_time = recorded.map_or(i64::MIN, |b| b.min_valid_time);
    let derived = || {
        // Start at the newest checkpoint if it directly precedes the oldest segment after it,
        // else at the oldest segment.
        let cp = checkpoints.last().map(|(i, _)| *i);
        let first = segments
            .iter()
            .map(|(i, _)| *i)
            .find(|i| cp.is_none_or(|c| *i > c));
        match (cp, first) {
            (Some(c), Some(f)) if f == c.saturating_add(1) => WalBounds {
                first_segment: f,
                checkpoint: Some(c),
                min_valid_time,
            },
            (Some(c), None) => WalBounds {
                first_segment: c.saturating_add(1),
                checkpoint: Some(c),
                min_valid_time,
            },
            (_, Some(f)) => WalBounds {
                first_segment: f,
                checkpoint: None,
                min_valid_time,
            },
            (None, None) => WalBounds::default(),
        }
    };
    let Some(b) = recorded else {
        let b = derived();
        write_bounds(fs, wal, &b)?;
        return Ok(());
    };
    let cp_ok = b
        .checkpoint
        .is_none_or(|c| checkpoints.iter().any(|(i, _)| *i == c));
    let first_ok = segments.iter().any(|(i, _)| *i == b.first_segment);
    if cp_ok && first_ok {
        return Ok(());
    }
    let mut lost = Vec::new();
    if segments.is_empty() {
        // Nothing to start from: let the next open begin a fresh WAL after the checkpoint.
        let path = wal.join(BOUNDS_FILE);
        fs.remove_file(&path).map_err(|e| Error::io(&path, e))?;
        report.actions.push(format!(
            "removed {} (no WAL segment is left; segments from {:08} on are lost)",
            path.display(),
            b.first_segment
        ));
        return Ok(());
    }
    let new = derived();
    if !cp_ok {
        lost.push(format!(
            "checkpoint.{:08} is missing (its series records are lost; samples of those series \
             in later segments are dropped)",
            b.checkpoint.unwrap_or(0)
        ));
    }
    if !first_ok {
        let upto = new.first_segment.saturating_sub(1);
        lost.push(format!(
            "segments {:08} to {upto:08} are missing (their commits are lost)",
            b.first_segment
        ));
    }
    write_bounds(fs, wal, &new)?;
    report.actions.push(format!(
        "restarted the WAL at segment {:08}{}: {}",
        new.first_segment,
        new.checkpoint
            .map(|c| format!(" after checkpoint.{c:08}"))
            .unwrap_or_default(),
        lost.join("; ")
    ));
    Ok(())
}
