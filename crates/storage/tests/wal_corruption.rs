//! WAL corruption: flipped bytes, truncated files, garbage and missing segments end in a clear
//! error naming the file and byte offset (never a panic); a torn tail is truncated and reported;
//! the repair option keeps exactly the commits before the bad frame.

mod common;

use std::path::{Path, PathBuf};

use promlite_storage::{Db, Error, Options, WalSync};

const N_COMMITS: i64 = 40;

fn opts() -> Options {
    Options {
        block_range: 1 << 40,
        auto_compact: false,
        wal_segment_size: 256,
        wal_sync: WalSync::Never,
        ..Options::default()
    }
}

/// Writes `N_COMMITS` commits (commit `k`: series 0..3 at `t = k`) and returns the segments.
fn build(dir: &Path) -> Vec<PathBuf> {
    let db = Db::open(dir, opts()).unwrap();
    let mut app = db.appender();
    for k in 0..N_COMMITS {
        for s in 0..3 {
            // Values vary so frames do not compress to nothing.
            app.append(&common::series(s), k, (k * 7919 + s as i64) as f64 / 3.0)
                .unwrap();
        }
        app.commit().unwrap();
    }
    drop(app);
    drop(db);
    segments(dir)
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .collect();
    segs.sort();
    segs
}

/// Byte offsets of the frames in a segment (walking the documented layout: 8-byte segment
/// header, then `len: u32 LE | crc: u32 LE | payload`).
fn frame_offsets(path: &Path) -> Vec<usize> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut pos = 8;
    while pos + 8 <= bytes.len() {
        out.push(pos);
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
    }
    out
}

/// Number of commits fully present (every series has `t = 0..n`).
fn commits_present(db: &Db) -> i64 {
    let data = common::dump(db);
    let lens: Vec<usize> = (0..3)
        .map(|s| data.get(&common::series(s)).map_or(0, Vec::len))
        .collect();
    assert!(
        lens.iter().all(|&l| l == lens[0]),
        "commit not atomic: {lens:?}"
    );
    lens[0] as i64
}

/// Commits stored in the segments before `path` plus the frames before `offset` in it.
fn commits_before(segs: &[PathBuf], path: &Path, offset: usize) -> i64 {
    let mut n = 0;
    for s in segs {
        if s == path {
            return n + frame_offsets(s).iter().filter(|&&o| o < offset).count() as i64;
        }
        n += frame_offsets(s).len() as i64;
    }
    panic!("segment not found");
}

#[test]
fn flipped_byte_in_an_older_segment_is_corruption_with_path_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path());
    assert!(segs.len() >= 4, "{segs:?}");
    let victim = &segs[1];
    let frame = frame_offsets(victim)[1];
    let mut bytes = std::fs::read(victim).unwrap();
    bytes[frame + 8 + 3] ^= 0x10;
    std::fs::write(victim, &bytes).unwrap();

    let err = Db::open(dir.path(), opts()).unwrap_err();
    match &err {
        Error::Corruption {
            path,
            offset,
            detail,
            ..
        } => {
            assert_eq!(path, victim);
            assert_eq!(*offset, frame as u64);
            assert!(detail.contains("checksum"), "{detail}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&victim.display().to_string()) && msg.contains(&frame.to_string()),
        "{msg}"
    );
    // Opening failed without changing anything.
    assert_eq!(std::fs::read(victim).unwrap(), bytes);

    // The repair option keeps exactly the commits before the bad frame.
    let db = Db::open(
        dir.path(),
        Options {
            wal_repair: true,
            ..opts()
        },
    )
    .unwrap();
    let repaired = db
        .replay_report()
        .repaired
        .clone()
        .expect("repair reported");
    assert_eq!(repaired.path, *victim);
    assert_eq!(repaired.offset, frame as u64);
    assert_eq!(repaired.deleted_segments.len(), segs.len() - 2);
    assert_eq!(commits_present(&db), commits_before(&segs, victim, frame));
}

#[test]
fn flipped_byte_mid_newest_segment_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path());
    // The newest segment that holds at least two frames.
    let victim = segs
        .iter()
        .rev()
        .find(|s| frame_offsets(s).len() >= 2)
        .unwrap()
        .clone();
    let frame = frame_offsets(&victim)[0];
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[frame + 8] ^= 0xff;
    std::fs::write(&victim, &bytes).unwrap();
    let err = Db::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { path, offset, .. } if *path == victim && *offset == frame as u64),
        "{err}"
    );
}

#[test]
fn every_truncation_of_the_newest_segment_is_a_reported_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path());
    let newest = segs.last().unwrap().clone();
    let original = std::fs::read(&newest).unwrap();
    let frames = frame_offsets(&newest);
    let total = commits_before(&segs, &newest, usize::MAX);
    for cut in (1..original.len()).step_by(3) {
        let work = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), work.path());
        let seg = work.path().join("wal").join(newest.file_name().unwrap());
        std::fs::write(&seg, &original[..cut]).unwrap();
        let db = Db::open(work.path(), opts()).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let complete = frames
            .iter()
            .filter(|&&o| o < cut && frame_end(&original, o) <= cut)
            .count() as i64;
        let expected = total - frames.len() as i64 + complete;
        assert_eq!(commits_present(&db), expected, "cut {cut}");
        let torn = db.replay_report().torn_tail.clone();
        let clean_cut = cut == 8 || frames.iter().any(|&o| frame_end(&original, o) == cut);
        assert_eq!(torn.is_none(), clean_cut, "cut {cut}: {torn:?}");
    }
}

fn frame_end(bytes: &[u8], offset: usize) -> usize {
    offset + 8 + u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize
}

#[test]
fn truncated_older_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path());
    let victim = &segs[0];
    let len = std::fs::metadata(victim).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(victim)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let err = Db::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { path, .. } if path == victim),
        "{err}"
    );
}

#[test]
fn garbage_and_missing_segments_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path());
    std::fs::write(&segs[2], b"this is not a WAL segment at all").unwrap();
    let err = Db::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { path, offset: 0, detail, .. } if *path == segs[2] && detail.contains("magic")),
        "{err}"
    );
    std::fs::remove_file(&segs[2]).unwrap();
    let err = Db::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { path, detail, .. } if *path == segs[2] && detail.contains("missing")),
        "{err}"
    );
}

#[test]
fn corrupt_checkpoint_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(
            dir.path(),
            Options {
                block_range: 10,
                ..opts()
            },
        )
        .unwrap();
        let mut app = db.appender();
        for k in 0..100 {
            app.append(&common::series(0), k, 1.0).unwrap();
            app.commit().unwrap();
        }
        db.compact().unwrap();
    }
    let cp = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("checkpoint.")
        })
        .expect("compaction wrote a checkpoint");
    let mut bytes = std::fs::read(&cp).unwrap();
    let n = bytes.len();
    bytes[n - 2] ^= 1;
    std::fs::write(&cp, &bytes).unwrap();
    let err = Db::open(
        dir.path(),
        Options {
            block_range: 10,
            ..opts()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { path, .. } if *path == cp),
        "{err}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "lock" {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
