//! The segmented write-ahead log: numbered segment files of checksummed, snappy-compressed
//! frames. What the frames contain is [`super::record`]'s business.
//!
//! Layout (see `docs/format/wal.md`): `wal/00000001`, `wal/00000002`, ... each start with an
//! 8-byte header (`"PLWL"`, version, 3 reserved bytes) followed by frames
//! `len: u32 LE | crc32: u32 LE | payload` where `payload` is the snappy (raw format) compression
//! of the records and the CRC-32 (IEEE) covers the payload bytes. A commit is exactly one frame,
//! so a commit is replayed whole or not at all.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::io::{FileSystem, SharedFs, WritableFile};
use crate::{ChecksumMismatch, Error, Result};

/// Segment file magic.
pub const SEGMENT_MAGIC: [u8; 4] = *b"PLWL";
/// Format version written in each segment header.
pub const FORMAT_VERSION: u8 = 1;
/// Bytes in a segment header.
pub const SEGMENT_HEADER_LEN: usize = 8;
/// Bytes in a frame header (length + CRC).
pub const FRAME_HEADER_LEN: usize = 8;
/// Largest compressed frame payload accepted (larger lengths are treated as corruption).
pub const MAX_FRAME_LEN: usize = 512 << 20;
/// Default segment size: a new segment is started when a frame would overflow this.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;

/// When the WAL calls `fsync`. Every policy writes each commit to the operating system (one
/// `write(2)`) before `commit()` returns, so an acknowledged commit survives the process being
/// killed; the policy only decides what survives a power loss or kernel crash.
///
/// **The default is `Interval(1 s)`** ([`DEFAULT_WAL_SYNC`]), both for `WalSync::default()` and
/// for `Options::default().wal_sync`: a power loss loses at most about one second of commits,
/// at the cost of one `fsync` per second, not one per commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalSync {
    /// `fsync` before every commit returns: an acknowledged commit survives power loss.
    EveryCommit,
    /// `fsync` at most this long after a commit: during a commit when the last sync is older
    /// than the interval, and from a background thread of the database for commits an idle
    /// writer left unsynced; also when a segment is closed and on close. Power loss loses at most
    /// the commits of the last interval.
    Interval(Duration),
    /// Never `fsync` the log (the operating system writes it back when it likes); segments and
    /// checkpoints are still synced when closed.
    Never,
}

/// The default sync policy: `Interval(1 s)`.
pub const DEFAULT_WAL_SYNC: WalSync = WalSync::Interval(Duration::from_secs(1));

impl Default for WalSync {
    fn default() -> Self {
        DEFAULT_WAL_SYNC
    }
}

/// Name of segment `index` inside the WAL directory.
pub fn segment_name(index: u32) -> String {
    format!("{index:08}")
}

/// Name of the checkpoint that covers segments up to and including `index`.
pub fn checkpoint_name(index: u32) -> String {
    format!("checkpoint.{index:08}")
}

fn parse_index(s: &str) -> Option<u32> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Segments in `dir`, sorted by index. Other files are ignored.
pub fn list_segments(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    list(fs, dir, parse_index)
}

/// Finished checkpoints in `dir` (not their temporary files), sorted by index.
pub fn list_checkpoints(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    list(fs, dir, |name| {
        name.strip_prefix("checkpoint.").and_then(parse_index)
    })
}

fn list(
    fs: &dyn FileSystem,
    dir: &Path,
    parse: impl Fn(&str) -> Option<u32>,
) -> Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs.read_dir(dir).map_err(|e| Error::io(dir, e))? {
        if let Some(index) = entry.name.to_str().and_then(&parse) {
            out.push((index, entry.path));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out)
}

/// Fsyncs a directory so that file creations, renames and deletions in it are durable.
pub fn sync_dir(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    fs.sync_dir(dir).map_err(|e| Error::io(dir, e))
}

/// The segment header bytes.
pub fn segment_header() -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..4].copy_from_slice(&SEGMENT_MAGIC);
    h[4] = FORMAT_VERSION;
    h
}

/// Compresses `records` into a complete frame (header + payload) in `frame`, reusing its
/// capacity.
pub fn encode_frame(
    encoder: &mut snap::raw::Encoder,
    records: &[u8],
    frame: &mut Vec<u8>,
) -> Result<()> {
    frame.clear();
    frame.resize(
        FRAME_HEADER_LEN + snap::raw::max_compress_len(records.len()),
        0,
    );
    let payload = frame.get_mut(FRAME_HEADER_LEN..).unwrap_or_default();
    let n = encoder.compress(records, payload).map_err(|e| {
        Error::InvalidOption(format!(
            "WAL frame of {} bytes cannot be compressed: {e}",
            records.len()
        ))
    })?;
    frame.truncate(FRAME_HEADER_LEN + n);
    if n > MAX_FRAME_LEN {
        return Err(Error::InvalidOption(format!(
            "one commit compresses to {n} bytes, more than the WAL's frame limit of {MAX_FRAME_LEN}; commit smaller batches"
        )));
    }
    let crc = crc32fast::hash(frame.get(FRAME_HEADER_LEN..).unwrap_or_default());
    let mut header = [0u8; FRAME_HEADER_LEN];
    let (len_bytes, crc_bytes) = header.split_at_mut(4);
    len_bytes.copy_from_slice(&(n as u32).to_le_bytes());
    crc_bytes.copy_from_slice(&crc.to_le_bytes());
    if let Some(dst) = frame.get_mut(..FRAME_HEADER_LEN) {
        dst.copy_from_slice(&header);
    }
    Ok(())
}

/// Appends frames to the newest segment, cutting new segments as they fill.
///
/// **Invariant (clean tail):** the current segment's file ends exactly at `segment_len`, the end
/// of its last complete frame, except while `unfinished_frame` is set. A frame whose write (or
/// whose `fsync`) failed is cut off again with `set_len` before the error is returned, so the
/// failed commit never reappears at replay; if even that fails, `unfinished_frame` stays set,
/// and every later write, cut and sync first retries the cut and fails while it cannot be
/// made. A new segment is therefore only ever started behind a clean one, and a torn frame can
/// only be the very end of the log.
#[derive(Debug)]
pub struct WalWriter {
    fs: SharedFs,
    dir: PathBuf,
    segment_size: u64,
    sync: WalSync,
    file: Box<dyn WritableFile>,
    /// Bytes past `segment_len` may be in the file (a failed write that could not be undone).
    unfinished_frame: bool,
    /// Frames were written since the last successful sync.
    unsynced: bool,
    segment: u32,
    segment_len: u64,
    last_sync: Instant,
    /// Per segment: the largest sample timestamp written to it (`i64::MIN` if none). Used to
    /// decide which segments only hold data that is already in blocks.
    segment_max_t: Vec<(u32, i64)>,
    frame: Vec<u8>,
    encoder: snap::raw::Encoder,
}

impl WalWriter {
    /// Starts a new, empty segment `segment` in `dir` and writes to it. `known_max_t` carries the
    /// per-segment maximum timestamps learnt during replay for older segments.
    pub fn create(
        fs: SharedFs,
        dir: &Path,
        segment: u32,
        segment_size: u64,
        sync: WalSync,
        known_max_t: Vec<(u32, i64)>,
    ) -> Result<Self> {
        let file = create_segment(&*fs, dir, segment)?;
        let mut segment_max_t = known_max_t;
        segment_max_t.push((segment, i64::MIN));
        Ok(Self {
            fs,
            dir: dir.to_path_buf(),
            segment_size,
            sync,
            file,
            unfinished_frame: false,
            unsynced: false,
            segment,
            segment_len: SEGMENT_HEADER_LEN as u64,
            last_sync: Instant::now(),
            segment_max_t,
            frame: Vec::new(),
            encoder: snap::raw::Encoder::new(),
        })
    }

    /// The index of the segment being written.
    pub fn current_segment(&self) -> u32 {
        self.segment
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn segment_path(&self) -> PathBuf {
        self.dir.join(segment_name(self.segment))
    }

    /// Writes `records` as one frame with a single `write(2)`, then fsyncs as the policy says.
    /// `max_t` is the largest sample timestamp in the records (`i64::MIN` if none).
    ///
    /// On error the frame is not in the log (see the clean-tail invariant on [`WalWriter`]): the
    /// commit failed as a whole, and the writer can be used again (a full disk: once space
    /// returns).
    pub fn log(&mut self, records: &[u8], max_t: i64) -> Result<()> {
        self.finish_unfinished_frame()?;
        encode_frame(&mut self.encoder, records, &mut self.frame)?;
        let frame_len = self.frame.len() as u64;
        if self.segment_len > SEGMENT_HEADER_LEN as u64
            && self.segment_len + frame_len > self.segment_size
        {
            self.cut()?;
        }
        if let Err(e) = self.file.write_all(&self.frame) {
            let err = Error::io(self.segment_path(), e);
            self.drop_unfinished_frame();
            return Err(err);
        }
        let synced = match self.sync {
            WalSync::EveryCommit => self.sync_file(),
            WalSync::Interval(d) if self.last_sync.elapsed() >= d => self.sync_file(),
            _ => {
                self.unsynced = true;
                Ok(())
            }
        };
        if let Err(e) = synced {
            // After a failed fsync the frame's fate is unknown; the commit is reported as
            // failed, so it must not come back at replay either.
            self.drop_unfinished_frame();
            return Err(e);
        }
        self.segment_len += frame_len;
        if let Some(last) = self.segment_max_t.last_mut() {
            last.1 = last.1.max(max_t);
        }
        Ok(())
    }

    /// Cuts the file back to the end of the last complete frame after a failed write; on
    /// failure remembers to retry before anything else is written.
    fn drop_unfinished_frame(&mut self) {
        self.unfinished_frame = self.file.set_len(self.segment_len).is_err();
    }

    /// Retries cutting off an unfinished frame; an error while it is still there.
    fn finish_unfinished_frame(&mut self) -> Result<()> {
        if self.unfinished_frame {
            let path = self.segment_path();
            self.file
                .set_len(self.segment_len)
                .map_err(|e| Error::io(&path, e))?;
            self.unfinished_frame = false;
        }
        Ok(())
    }

    fn sync_file(&mut self) -> Result<()> {
        self.file
            .sync()
            .map_err(|e| Error::io(self.segment_path(), e))?;
        self.last_sync = Instant::now();
        self.unsynced = false;
        Ok(())
    }

    /// Fsyncs the current segment.
    pub fn sync(&mut self) -> Result<()> {
        self.finish_unfinished_frame()?;
        self.sync_file()
    }

    /// Fsyncs if commits are unsynced and the last sync is at least `interval` old: the
    /// background half of [`WalSync::Interval`]. Returns whether it synced.
    pub fn sync_if_due(&mut self, interval: Duration) -> Result<bool> {
        if !self.unsynced || self.last_sync.elapsed() < interval {
            return Ok(false);
        }
        self.sync()?;
        Ok(true)
    }

    /// The sync policy.
    pub fn sync_policy(&self) -> WalSync {
        self.sync
    }

    /// Closes the current segment (fsynced) and starts the next one. Returns the index of the
    /// closed segment.
    pub fn cut(&mut self) -> Result<u32> {
        self.sync()?;
        let closed = self.segment;
        let next = closed
            .checked_add(1)
            .ok_or(Error::InvalidOption("WAL segment index overflow".into()))?;
        let file = create_segment(&*self.fs, &self.dir, next)?;
        self.file = file;
        self.segment = next;
        self.segment_len = SEGMENT_HEADER_LEN as u64;
        self.segment_max_t.push((next, i64::MIN));
        Ok(closed)
    }

    /// Closed segments (all but the current one) with the largest sample timestamp in each.
    pub fn closed_segments(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.segment_max_t
            .iter()
            .copied()
            .filter(move |(i, _)| *i < self.segment)
    }

    /// Forgets the bookkeeping of segments `<= upto` after they were deleted.
    pub fn forget_segments(&mut self, upto: u32) {
        self.segment_max_t.retain(|(i, _)| *i > upto);
    }
}

impl Drop for WalWriter {
    fn drop(&mut self) {
        if self.sync != WalSync::Never || self.unfinished_frame {
            let _ = self.sync();
        }
    }
}

fn create_segment(fs: &dyn FileSystem, dir: &Path, index: u32) -> Result<Box<dyn WritableFile>> {
    let path = dir.join(segment_name(index));
    let mut file = fs.create(&path).map_err(|e| Error::io(&path, e))?;
    file.write_all(&segment_header())
        .map_err(|e| Error::io(&path, e))?;
    // Make the new file's directory entry durable, so a synced commit in it is findable.
    file.sync().map_err(|e| Error::io(&path, e))?;
    sync_dir(fs, dir)?;
    Ok(file)
}

/// How a segment's frame sequence ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentEnd {
    /// Every byte belonged to a valid frame.
    Clean,
    /// The segment ends in an incomplete or unreadable frame that reaches the end of the file:
    /// the signature of a write cut short by a crash. Bytes from `offset` on are dropped.
    Torn {
        /// Where the torn frame starts.
        offset: u64,
        /// Why it is considered torn.
        reason: String,
        /// Set when the torn frame is complete (it ends exactly at the end of the file) but
        /// fails its checksum: a write cut short, or a damaged last commit.
        checksum: Option<ChecksumMismatch>,
    },
}

/// Problems found while reading a segment that are *not* a torn tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameCorruption {
    /// Byte offset of the bad frame (or header).
    pub offset: u64,
    /// What is wrong.
    pub detail: String,
    /// For a checksum mismatch, the stored (expected) and computed (actual) checksums.
    pub checksum: Option<ChecksumMismatch>,
}

/// Reads the frames of one segment (or checkpoint) held in `bytes`, calling `f(offset, payload)`
/// with each decompressed payload. `tail_may_tear` is true for the newest segment, where an
/// unreadable frame that extends to the end of the file is a torn write rather than corruption.
/// An error from `f` (a record that does not decode) stops the walk and is returned as
/// corruption at that frame's offset.
pub fn read_frames(
    bytes: &[u8],
    tail_may_tear: bool,
    mut f: impl FnMut(u64, &[u8]) -> std::result::Result<(), String>,
) -> std::result::Result<SegmentEnd, FrameCorruption> {
    let torn_or_corrupt =
        |offset: usize, detail: String| -> std::result::Result<SegmentEnd, FrameCorruption> {
            if tail_may_tear {
                Ok(SegmentEnd::Torn {
                    offset: offset as u64,
                    reason: detail,
                    checksum: None,
                })
            } else {
                Err(FrameCorruption {
                    offset: offset as u64,
                    detail,
                    checksum: None,
                })
            }
        };
    let Some(header) = bytes.get(..SEGMENT_HEADER_LEN) else {
        return torn_or_corrupt(
            0,
            format!(
                "segment header incomplete ({} of {SEGMENT_HEADER_LEN} bytes)",
                bytes.len()
            ),
        );
    };
    if header.get(..4) != Some(&SEGMENT_MAGIC[..]) {
        return Err(FrameCorruption {
            offset: 0,
            detail: format!("bad segment magic {:02x?}", header.get(..4)),
            checksum: None,
        });
    }
    let version = header.get(4).copied().unwrap_or(0);
    if version != FORMAT_VERSION {
        return Err(FrameCorruption {
            offset: 4,
            detail: format!(
                "unsupported WAL format version {version} (this build reads {FORMAT_VERSION})"
            ),
            checksum: None,
        });
    }
    let mut decoder = snap::raw::Decoder::new();
    let mut payload_buf: Vec<u8> = Vec::new();
    let mut pos = SEGMENT_HEADER_LEN;
    while pos < bytes.len() {
        let rest = bytes.get(pos..).unwrap_or_default();
        let Some(fh) = rest.get(..FRAME_HEADER_LEN) else {
            return torn_or_corrupt(
                pos,
                format!("frame header incomplete ({} bytes left)", rest.len()),
            );
        };
        let (len, crc) = match fh {
            [l0, l1, l2, l3, c0, c1, c2, c3] => (
                u32::from_le_bytes([*l0, *l1, *l2, *l3]) as usize,
                u32::from_le_bytes([*c0, *c1, *c2, *c3]),
            ),
            _ => {
                return Err(FrameCorruption {
                    offset: pos as u64,
                    detail: "frame header".into(),
                    checksum: None,
                })
            }
        };
        if len == 0 {
            if rest.iter().all(|&b| b == 0) {
                return torn_or_corrupt(pos, format!("{} zero bytes at the end", rest.len()));
            }
            return Err(FrameCorruption {
                offset: pos as u64,
                detail: "zero-length frame".into(),
                checksum: None,
            });
        }
        if len > MAX_FRAME_LEN {
            return frame_error(
                tail_may_tear,
                pos,
                rest.len(),
                format!("frame length {len} exceeds the limit"),
                None,
            );
        }
        let Some(payload) = rest.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len) else {
            return torn_or_corrupt(
                pos,
                format!(
                    "frame of {len} bytes but only {} bytes left",
                    rest.len() - FRAME_HEADER_LEN
                ),
            );
        };
        let frame_end = FRAME_HEADER_LEN + len;
        let actual = crc32fast::hash(payload);
        if actual != crc {
            return frame_error(
                tail_may_tear,
                pos,
                rest.len().saturating_sub(frame_end),
                format!("frame checksum mismatch: stored {crc:#010x}, computed {actual:#010x}"),
                Some(ChecksumMismatch {
                    expected: crc,
                    actual,
                }),
            );
        }
        // The checksum matched, so decode problems below are not torn writes.
        let corrupt = |detail: String| FrameCorruption {
            offset: pos as u64,
            detail,
            checksum: None,
        };
        let dlen = snap::raw::decompress_len(payload)
            .map_err(|e| corrupt(format!("bad snappy header: {e}")))?;
        // Snappy expands at most ~22x; anything beyond is corrupt and must not allocate.
        if dlen > len.saturating_mul(24).saturating_add(64) {
            return Err(corrupt(format!(
                "snappy length {dlen} impossible for {len} compressed bytes"
            )));
        }
        payload_buf.clear();
        payload_buf.resize(dlen, 0);
        let n = decoder
            .decompress(payload, &mut payload_buf)
            .map_err(|e| corrupt(format!("snappy decompression failed: {e}")))?;
        payload_buf.truncate(n);
        f(pos as u64, &payload_buf).map_err(corrupt)?;
        pos += frame_end;
    }
    Ok(SegmentEnd::Clean)
}

/// A frame whose header looks wrong: torn if nothing valid can follow it (it runs to the end of
/// the newest segment), corruption otherwise.
fn frame_error(
    tail_may_tear: bool,
    pos: usize,
    bytes_after_frame: usize,
    detail: String,
    checksum: Option<ChecksumMismatch>,
) -> std::result::Result<SegmentEnd, FrameCorruption> {
    if tail_may_tear && bytes_after_frame == 0 {
        Ok(SegmentEnd::Torn {
            offset: pos as u64,
            reason: detail,
            checksum,
        })
    } else {
        Err(FrameCorruption {
            offset: pos as u64,
            detail,
            checksum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(
        bytes: &[u8],
        tail: bool,
    ) -> (
        Vec<Vec<u8>>,
        std::result::Result<SegmentEnd, FrameCorruption>,
    ) {
        let mut got = Vec::new();
        let end = read_frames(bytes, tail, |_, p| {
            got.push(p.to_vec());
            Ok(())
        });
        (got, end)
    }

    fn segment_with(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = segment_header().to_vec();
        let mut enc = snap::raw::Encoder::new();
        let mut frame = Vec::new();
        for p in payloads {
            encode_frame(&mut enc, p, &mut frame).unwrap();
            out.extend_from_slice(&frame);
        }
        out
    }

    #[test]
    fn frames_round_trip_and_tail_handling() {
        let seg = segment_with(&[b"hello", b"world world world"]);
        let (got, end) = frames(&seg, false);
        assert_eq!(got, vec![b"hello".to_vec(), b"world world world".to_vec()]);
        assert_eq!(end, Ok(SegmentEnd::Clean));
        // Every truncation inside the last frame is a torn tail on the newest segment and
        // corruption on an older one; the first frame is always kept.
        let first_end = segment_with(&[b"hello"]).len();
        for cut in first_end + 1..seg.len() {
            let (got, end) = frames(&seg[..cut], true);
            assert_eq!(got.len(), 1, "cut {cut}");
            assert!(
                matches!(end, Ok(SegmentEnd::Torn { offset, .. }) if offset == first_end as u64),
                "cut {cut}: {end:?}"
            );
            let (_, end) = frames(&seg[..cut], false);
            assert!(
                matches!(end, Err(FrameCorruption { offset, .. }) if offset == first_end as u64)
            );
        }
    }

    #[test]
    fn checksum_mismatch_in_the_middle_is_corruption_even_in_the_newest_segment() {
        let mut seg = segment_with(&[b"aaaa", b"bbbb", b"cccc"]);
        let second = segment_with(&[b"aaaa"]).len();
        seg[second + FRAME_HEADER_LEN] ^= 0x40;
        let (got, end) = frames(&seg, true);
        assert_eq!(got, vec![b"aaaa".to_vec()]);
        let err = end.unwrap_err();
        assert_eq!(err.offset, second as u64);
        assert!(err.detail.contains("checksum"), "{err:?}");
    }

    #[test]
    fn bad_magic_and_version_are_reported() {
        let mut seg = segment_with(&[b"x"]);
        seg[4] = 9;
        assert!(frames(&seg, true)
            .1
            .unwrap_err()
            .detail
            .contains("version 9"));
        seg[0] = b'X';
        assert!(frames(&seg, true).1.unwrap_err().detail.contains("magic"));
    }

    #[test]
    fn zero_filled_tail_is_torn() {
        let mut seg = segment_with(&[b"x"]);
        let n = seg.len();
        seg.extend_from_slice(&[0u8; 100]);
        let (got, end) = frames(&seg, true);
        assert_eq!(got.len(), 1);
        assert!(matches!(end, Ok(SegmentEnd::Torn { offset, .. }) if offset == n as u64));
    }

    #[test]
    fn writer_cuts_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::create(
            crate::io::real(),
            dir.path(),
            1,
            64,
            WalSync::EveryCommit,
            Vec::new(),
        )
        .unwrap();
        for i in 0..10u8 {
            // Distinct bytes so snappy cannot shrink the frame below the segment size.
            let payload: Vec<u8> = (0..40u8)
                .map(|b| b.wrapping_mul(37).wrapping_add(i))
                .collect();
            w.log(&payload, i64::from(i)).unwrap();
        }
        let segs = list_segments(&crate::io::RealFs, dir.path()).unwrap();
        assert!(segs.len() >= 5, "{segs:?}");
        let mut n = 0;
        for (idx, path) in &segs {
            let bytes = std::fs::read(path).unwrap();
            let (got, end) = frames(&bytes, *idx == w.current_segment());
            assert_eq!(end, Ok(SegmentEnd::Clean));
            n += got.len();
        }
        assert_eq!(n, 10);
        assert!(w.closed_segments().all(|(_, t)| t >= 0));
    }
}
