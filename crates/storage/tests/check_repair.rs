//! `check_dir` and `repair_dir` (behind `promlite check` / `promlite repair`), one test per
//! corruption class: a byte flip in a chunk file, in the index, in a WAL frame in the middle of
//! the log and at its tail, a torn tail, a missing `meta.json`, a missing first WAL segment and
//! a missing chunk file. Each checks that `check_dir` names the file and byte offset (with the
//! expected and actual checksum where one is involved) and changes nothing, that `repair_dir`
//! reports what it drops, and that the repaired directory opens with every intact commit.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use promlite_storage::check::{check_dir, repair_dir, CheckReport, Problem};
use promlite_storage::{Db, Options, WalSync};

const SERIES: usize = 3;

fn value(k: i64, s: usize) -> f64 {
    (k * 10 + s as i64) as f64
}

fn opts() -> Options {
    Options {
        block_range: 1000,
        auto_compact: false,
        wal_sync: WalSync::Never,
        ..Options::default()
    }
}

/// Commit `k`: one sample per series at `t = 100 k`.
fn commit(db: &Db, k: i64) {
    let mut app = db.appender();
    for s in 0..SERIES {
        app.append(&common::series(s), k * 100, value(k, s))
            .unwrap();
    }
    app.commit().unwrap();
}

/// The commits present, requiring every series to agree and every value to be right.
fn commits(dir: &Path) -> Vec<i64> {
    let db =
        Db::open(dir, opts()).unwrap_or_else(|e| panic!("repaired directory does not open: {e}"));
    let data = common::dump(&db);
    let mut out: Option<Vec<i64>> = None;
    for s in 0..SERIES {
        let ks: Vec<i64> = data
            .get(&common::series(s))
            .map(|v| {
                v.iter()
                    .map(|&(t, bits)| {
                        let k = t / 100;
                        assert_eq!(f64::from_bits(bits), value(k, s), "invented value at {t}");
                        k
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(prev) = &out {
            assert_eq!(prev, &ks, "series disagree: a commit is not atomic");
        }
        out = Some(ks);
    }
    out.unwrap_or_default()
}

/// Every file under `dir` with its contents: `check_dir` must leave this unchanged.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                out.insert(p.clone(), b"<dir>".to_vec());
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Runs `check_dir`, requiring it to leave the tree byte for byte as it was.
fn check(dir: &Path) -> CheckReport {
    let before = tree(dir);
    let report = check_dir(dir).unwrap();
    assert_eq!(tree(dir), before, "check changed the directory");
    report
}

fn only_problem(report: &CheckReport) -> &Problem {
    assert_eq!(report.problems.len(), 1, "{report:#?}");
    &report.problems[0]
}

fn flip(file: &Path, offset: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset] ^= 0x20;
    std::fs::write(file, bytes).unwrap();
}

/// A directory with blocks for commits 0..=29 (t up to 2900: ranges [0,1000), [1000,2000),
/// [2000,3000); the first two are merged into one) and nothing else in the WAL.
fn with_blocks() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    for k in 0..30 {
        commit(&db, k);
    }
    db.compact_all().unwrap();
    let blocks: Vec<PathBuf> = db.blocks().into_iter().map(|b| b.0).collect();
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    drop(db);
    assert_eq!(commits(dir.path()), (0..30).collect::<Vec<_>>());
    (dir, blocks)
}

/// A directory whose WAL holds commits 1..=4, one per segment (each open starts a segment).
fn with_wal() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    for k in 1..=4 {
        let db = Db::open(dir.path(), opts()).unwrap();
        commit(&db, k);
    }
    let wal = dir.path().join("wal");
    let segs: Vec<PathBuf> = (1..=4).map(|i| wal.join(format!("{i:08}"))).collect();
    for s in &segs {
        assert!(s.exists(), "{}", s.display());
    }
    // Drop the empty segments later opens left after segment 4.
    for e in std::fs::read_dir(&wal).unwrap() {
        let p = e.unwrap().path();
        if !segs.contains(&p) && p.file_name().unwrap().to_str().unwrap().starts_with('0') {
            std::fs::remove_file(&p).unwrap();
        }
    }
    assert_eq!(commits(dir.path()), vec![1, 2, 3, 4]);
    // That open started segment 5; remove it again so segment 4 is the tail.
    let s5 = wal.join("00000005");
    if s5.exists() {
        std::fs::remove_file(s5).unwrap();
    }
    let clean = check(dir.path());
    assert!(clean.is_ok(), "{clean:#?}");
    assert_eq!(clean.segments, 4);
    (dir, segs)
}

fn meta(block: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(block.join("meta.json")).unwrap()).unwrap()
}

fn block_range(block: &Path) -> (i64, i64) {
    let meta = meta(block);
    (
        meta["minTime"].as_i64().unwrap(),
        meta["maxTime"].as_i64().unwrap(),
    )
}

/// "<n> samples" as the block's meta counts them (and as repair must report them).
fn samples_text(block: &Path) -> String {
    format!(
        "{} samples",
        meta(block)["stats"]["numSamples"].as_u64().unwrap()
    )
}

/// Commits 0..=29 minus those in `block`.
fn without_block(block: &Path) -> Vec<i64> {
    let (min_t, max_t) = block_range(block);
    (0..30)
        .filter(|k| k * 100 < min_t || k * 100 > max_t)
        .collect()
}

fn assert_checksums(p: &Problem) {
    let c = p
        .checksum
        .unwrap_or_else(|| panic!("no expected/actual checksum in {p}"));
    assert_ne!(c.expected, c.actual, "{p}");
    let text = p.to_string();
    assert!(text.contains(&format!("{:#010x}", c.expected)), "{text}");
    assert!(text.contains(&format!("{:#010x}", c.actual)), "{text}");
}

#[test]
fn byte_flip_in_a_chunk_file() {
    let (dir, blocks) = with_blocks();
    let victim = &blocks[1];
    let chunks = victim.join("chunks").join("000001");
    let len = std::fs::metadata(&chunks).unwrap().len() as usize;
    flip(&chunks, len / 2);
    let report = check(dir.path());
    let p = only_problem(&report);
    assert_eq!(p.path, chunks, "{p}");
    assert!(
        p.offset.is_some_and(|o| o >= 8 && (o as usize) <= len / 2),
        "{p}"
    );
    assert_checksums(p);

    let want = without_block(victim);
    let samples = samples_text(victim);
    let repaired = repair_dir(dir.path()).unwrap();
    let text = repaired.actions.join("\n");
    let id = victim.file_name().unwrap().to_str().unwrap();
    assert!(
        text.contains(id) && text.contains(&samples) && text.contains("3 series"),
        "{text}"
    );
    assert!(check(dir.path()).is_ok());
    assert_eq!(commits(dir.path()), want);
}

#[test]
fn byte_flip_in_the_index() {
    let (dir, blocks) = with_blocks();
    let victim = &blocks[0];
    let index = victim.join("index");
    let len = std::fs::metadata(&index).unwrap().len() as usize;
    flip(&index, len / 2);
    let report = check(dir.path());
    let p = only_problem(&report);
    assert_eq!(p.path, index, "{p}");
    assert!(p.offset.is_some(), "{p}");
    assert_checksums(p);

    let want = without_block(victim);
    let repaired = repair_dir(dir.path()).unwrap();
    let text = repaired.actions.join("\n");
    assert!(
        text.contains(victim.file_name().unwrap().to_str().unwrap()),
        "{text}"
    );
    assert!(check(dir.path()).is_ok());
    assert_eq!(commits(dir.path()), want);
}

#[test]
fn missing_meta_json() {
    let (dir, blocks) = with_blocks();
    let victim = &blocks[1];
    std::fs::remove_file(victim.join("meta.json")).unwrap();
    let report = check(dir.path());
    let p = only_problem(&report);
    assert_eq!(p.path, victim.join("meta.json"), "{p}");
    assert!(p.detail.contains("no meta.json"), "{p}");

    let repaired = repair_dir(dir.path()).unwrap();
    let text = repaired.actions.join("\n");
    assert!(
        text.contains(victim.file_name().unwrap().to_str().unwrap()),
        "{text}"
    );
    assert!(check(dir.path()).is_ok());
    // Commits 20..=29 were only in that block.
    assert_eq!(commits(dir.path()), (0..20).collect::<Vec<_>>());
}

#[test]
fn missing_chunk_file() {
    let (dir, blocks) = with_blocks();
    let victim = &blocks[0];
    let chunks = victim.join("chunks").join("000001");
    let range = block_range(victim);
    let samples = samples_text(victim);
    let want = without_block(victim);
    std::fs::remove_file(&chunks).unwrap();
    let report = check(dir.path());
    let p = only_problem(&report);
    assert!(p.path.starts_with(victim), "{p}");
    assert!(p.to_string().contains("000001"), "{p}");

    let repaired = repair_dir(dir.path()).unwrap();
    let text = repaired.actions.join("\n");
    // The meta is intact, so the report says what the block held.
    assert!(
        text.contains(&samples) && text.contains(&format!("[{}, {}]", range.0, range.1)),
        "{text}"
    );
    assert!(check(dir.path()).is_ok());
    assert_eq!(commits(dir.path()), want);
}

#[test]
fn byte_flip_in_a_wal_frame_mid_log() {
    let (dir, segs) = with_wal();
    // Segment 2's only frame starts after the 8-byte header; flip a payload byte.
    flip(&segs[1], 8 + 8 + 2);
    let report = check(dir.path());
    let p = only_problem(&report);
    assert_eq!(
        (p.path.as_path(), p.offset),
        (segs[1].as_path(), Some(8)),
        "{p}"
    );
    assert_checksums(p);

    let repaired = repair_dir(dir.path()).unwrap();
    let text = repaired.actions.join("\n");
    let seg2_len = std::fs::metadata(&segs[1]).map(|m| m.len()).unwrap_or(0);
    assert_eq!(seg2_len, 8, "segment 2 cut at its bad frame");
    // It names the range dropped and counts the intact later commits it had to drop.
    assert!(text.contains("00000002") && text.contains("[8, "), "{text}");
    assert!(
        text.contains("2 later commits") && text.contains("6 samples"),
        "{text}"
    );
    assert!(check(dir.path()).is_ok());
    assert_eq!(commits(dir.path()), vec![1]);
}

#[test]
fn byte_flip_in_the_last_wal_frame() {
    let (dir, segs) = with_wal();
    let len = std::fs::metadata(&segs[3]).unwrap().len() as usize;
    flip(&segs[3], len - 1);
    let report = check(dir.path());
    let p = only_problem(&report);
    assert_eq!(
        (p.path.as_path(), p.offset),
        (segs[3].as_path(), Some(8)),
        "{p}"
    );
    assert_checksums(p);

    let repaired = repair_dir(dir.path()).unwrap();
    let text = repaired.actions.join("\n");
    assert!(
        text.contains("00000004") && text.contains(&format!("[8, {len})")),
        "{text}"
    );
    assert!(check(dir.path()).is_ok());
    assert_eq!(commits(dir.path()), vec![1, 2, 3]);
}

#[test]
fn torn_tail() {
    let (dir, segs) = with_wal();
    let len = std::fs::metadata(&segs[3]).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&segs[3])
        .unwrap();
    f.set_len(len - 3).unwrap();
    drop(f);
    // A write cut short by a crash: expected, cut off by the next open; not a problem.
    let report = check(dir.path());
    assert!(report.is_ok(), "{report:#?}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("00000004") && n.contains("torn")),
        "{report:#?}"
    );
    let repaired = repair_dir(dir.path()).unwrap();
    let text = repaired.actions.join("\n");
    assert!(
        text.contains("00000004") && text.contains(&format!("[8, {})", len - 3)),
        "{text}"
    );
    assert_eq!(commits(dir.path()), vec![1, 2, 3]);
}

/// The WAL's segment files, oldest first.
fn wal_segments(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
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
    out.sort();
    out
}

#[test]
fn missing_first_wal_segment() {
    // Commits 0..=9 in a block (the WAL truncated behind it: a checkpoint with the series
    // records), commit 10 in the first live segment, 11 and 12 in the next two.
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        for k in 0..10 {
            commit(&db, k);
        }
        db.compact_all().unwrap();
        commit(&db, 10);
    }
    for k in 11..=12 {
        let db = Db::open(dir.path(), opts()).unwrap();
        commit(&db, k);
    }
    assert_eq!(commits(dir.path()), (0..=12).collect::<Vec<_>>());
    let first = wal_segments(dir.path())[0].clone();
    std::fs::remove_file(&first).unwrap();
    let report = check(dir.path());
    let p = only_problem(&report);
    assert_eq!(p.path, first, "{p}");
    assert!(p.detail.contains("first WAL segment missing"), "{p}");
    // Opening refuses rather than losing commit 10 silently (finding 2).
    assert!(Db::open(dir.path(), opts()).is_err());

    let repaired = repair_dir(dir.path()).unwrap();
    let text = repaired.actions.join("\n");
    let name = first.file_name().unwrap().to_str().unwrap();
    assert!(text.contains(name) && text.contains("lost"), "{text}");
    // Compaction garbage-collected the series (empty after it), so commit 10 re-created them:
    // their series records were in the lost segment, and the samples of commits 11 and 12
    // cannot be resolved either. Repair says so, with the count.
    assert!(text.contains("6 samples of series"), "{text}");
    assert!(check(dir.path()).is_ok());
    assert_eq!(commits(dir.path()), (0..10).collect::<Vec<_>>());
}

#[test]
fn a_clean_directory_checks_ok_and_repair_changes_nothing_it_reports() {
    let (dir, _blocks) = with_blocks();
    let report = check(dir.path());
    assert!(report.is_ok(), "{report:#?}");
    assert_eq!(report.blocks, 2);
    assert!(report.chunk_runs >= 3);
    let repaired = repair_dir(dir.path()).unwrap();
    assert!(repaired.actions.is_empty(), "{repaired:#?}");
    assert_eq!(commits(dir.path()), (0..30).collect::<Vec<_>>());
}
