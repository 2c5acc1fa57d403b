//! Metric metadata (HELP/TYPE/UNIT) is kept through every place data lives: the WAL (reopen),
//! checkpoints and blocks (compaction), merged blocks (latest wins), read-only opens; and the
//! frozen `testdata/format/metadata_v1/metadata` file stays readable.
//!
//! Regenerate the fixture (only for a new format version, under a new name) with
//! `PROMLITE_BLESS=1 cargo test -p promlite-storage --test metadata`.

use std::path::{Path, PathBuf};

use promlite_model::Labels;
use promlite_storage::block::Block;
use promlite_storage::metadata::{decode_file, encode_file, METADATA_FILE};
use promlite_storage::{Db, MetadataMap, MetricMetadata, Options};

const HOUR: i64 = 3_600_000;

fn meta(t: &str, h: &str, u: &str) -> MetricMetadata {
    MetricMetadata {
        metric_type: t.into(),
        help: h.into(),
        unit: u.into(),
    }
}

fn append_hours(db: &Db, metric: &str, from_h: i64, to_h: i64) {
    let mut app = db.appender();
    let labels = Labels::from_pairs([("__name__", metric), ("job", "j")]);
    let mut t = from_h * HOUR;
    while t < to_h * HOUR {
        app.append(&labels, t, t as f64).unwrap();
        t += 60_000;
    }
    app.commit().unwrap();
}

fn block_metadata(db: &Db) -> Vec<MetadataMap> {
    db.blocks()
        .iter()
        .map(|(dir, _, _)| Block::open(dir).unwrap().metadata().as_ref().clone())
        .collect()
}

#[test]
fn metadata_survives_reopen_compaction_and_merges_latest_wins() {
    let dir = tempfile::tempdir().unwrap();
    let a_old = meta("counter", "A, first wording.", "");
    let a_new = meta("counter", "A, second wording.", "");
    let b = meta(
        "gauge",
        "B with \\ and \"quotes\"\nand a newline.",
        "seconds",
    );
    {
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let mut app = db.appender();
        app.set_metadata("a_total", a_old.clone());
        app.set_metadata("b_seconds", b.clone());
        // A commit of metadata alone is logged too.
        app.commit().unwrap();
        assert_eq!(db.metadata().get("a_total"), Some(&a_old));
    }
    // Reopen: from the WAL.
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let got = db.metadata();
    assert_eq!(got.get("a_total"), Some(&a_old));
    assert_eq!(got.get("b_seconds"), Some(&b));
    assert_eq!(got.len(), 2);

    // Block 1 [0, 2h): cut from the head, carries the head's metadata.
    append_hours(&db, "a_total", 0, 2);
    assert!(db.compact_all().unwrap() >= 1);
    // Block 2 [2h, 4h) after the help text changed.
    let mut app = db.appender();
    app.set_metadata("a_total", a_new.clone());
    app.commit().unwrap();
    drop(app);
    append_hours(&db, "a_total", 2, 4);
    db.compact_all().unwrap();
    let blocks = block_metadata(&db);
    assert!(blocks.len() >= 2, "{blocks:?}");
    assert_eq!(blocks[0].get("a_total"), Some(&a_old));
    assert_eq!(blocks.last().unwrap().get("a_total"), Some(&a_new));
    assert_eq!(db.metadata().get("a_total"), Some(&a_new));
    // Block 3 [4h, 6h): the first two now fill less than their 6 h window and end before the
    // newest starts, so they are merged; the merged block keeps the later block's entry.
    append_hours(&db, "a_total", 4, 6);
    db.compact_all().unwrap();
    drop(db);

    // Reopen: the WAL was checkpointed, the metadata comes from the checkpoint and blocks.
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let got = db.metadata();
    assert_eq!(got.get("a_total"), Some(&a_new));
    assert_eq!(got.get("b_seconds"), Some(&b));
    let blocks = db.blocks();
    let merged: Vec<_> = blocks
        .iter()
        .map(|(d, _, _)| Block::open(d).unwrap())
        .filter(|b| b.meta().compaction.level > 1)
        .collect();
    assert_eq!(merged.len(), 1, "expected one merged block in {blocks:?}");
    assert_eq!(merged[0].metadata().get("a_total"), Some(&a_new));
    assert_eq!(merged[0].metadata().get("b_seconds"), Some(&b));
    for (d, _, _) in &blocks {
        assert!(
            d.join(METADATA_FILE).is_file(),
            "{} has no metadata",
            d.display()
        );
    }
    drop(db);

    // Read-only beside nothing: the same answer.
    let ro = Db::open_read_only(dir.path(), Options::default()).unwrap();
    assert_eq!(ro.metadata().get("a_total"), Some(&a_new));
    assert_eq!(ro.metadata().get("b_seconds"), Some(&b));
}

#[test]
fn blocks_alone_still_describe_their_metrics() {
    // With the WAL gone (a directory holding only blocks), the blocks' files answer.
    let dir = tempfile::tempdir().unwrap();
    let g = meta("gauge", "G.", "");
    {
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let mut app = db.appender();
        app.set_metadata("g", g.clone());
        app.commit().unwrap();
        drop(app);
        append_hours(&db, "g", 0, 2);
        db.compact_all().unwrap();
    }
    std::fs::remove_dir_all(dir.path().join("wal")).unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.metadata().get("g"), Some(&g));
}

#[test]
fn a_damaged_block_metadata_file_names_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let mut app = db.appender();
        app.set_metadata("g", meta("gauge", "G.", ""));
        app.commit().unwrap();
        drop(app);
        append_hours(&db, "g", 0, 2);
        db.compact_all().unwrap();
        let (block_dir, _, _) = db.blocks()[0].clone();
        let path = block_dir.join(METADATA_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 6;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
    }
    let err = Db::open(dir.path(), Options::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(METADATA_FILE) && text.contains("checksum mismatch"),
        "{text}"
    );
}

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/format/metadata_v1/metadata")
}

fn fixture_map() -> MetadataMap {
    let mut map = MetadataMap::new();
    map.insert(
        "http_requests".into(),
        meta("counter", "Requests served.", ""),
    );
    map.insert(
        "node_memory_MemAvailable_bytes".into(),
        meta(
            "gauge",
            "Memory information field MemAvailable_bytes.",
            "bytes",
        ),
    );
    map.insert(
        "rpc_duration_seconds".into(),
        meta(
            "summary",
            "Latency with a \\ backslash,\na newline and ü.",
            "seconds",
        ),
    );
    map.insert("x".into(), meta("unknown", "", ""));
    map
}

#[test]
fn frozen_metadata_file_stays_readable() {
    let path = fixture_path();
    if std::env::var_os("PROMLITE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, encode_file(&fixture_map())).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(decode_file(&bytes).unwrap(), fixture_map());
    // The writer still produces exactly these bytes.
    assert_eq!(encode_file(&fixture_map()), bytes);
}
