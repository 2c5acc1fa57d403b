//! Regression test for the retention finding of issue 13's model test: retention deleting the
//! only block while its samples are still in a WAL segment that could not be truncated (the
//! segment also holds newer samples) let a reopen, or a read-only open, replay the deleted
//! samples again. Retention now records the bound a reopen uses in `wal/bounds` first.

mod common;

use std::time::Duration;

use promlite_model::Labels;
use promlite_storage::{Db, Options, WalSync};

fn opts() -> Options {
    Options {
        block_range: 1000,
        auto_compact: false,
        wal_sync: WalSync::Never,
        // One segment holds everything until compaction cuts it.
        wal_segment_size: 1 << 20,
        retention_time: Some(Duration::from_millis(1000)),
        ..Options::default()
    }
}

fn append(db: &Db, ts: impl IntoIterator<Item = i64>) {
    let mut app = db.appender();
    for t in ts {
        app.append(&common::series(0), t, t as f64).unwrap();
    }
    app.commit().unwrap();
}

fn expected(ts: &[i64]) -> std::collections::BTreeMap<Labels, Vec<(i64, u64)>> {
    [(
        common::series(0),
        ts.iter().map(|&t| (t, (t as f64).to_bits())).collect(),
    )]
    .into_iter()
    .collect()
}

#[test]
fn retention_never_revives_deleted_samples_from_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    // Range [0, 1000) plus one sample in the next range, all in WAL segment 1.
    append(&db, (0..10).map(|i| i * 100));
    append(&db, [1600]);
    // Compacts [0, 1000) into a block; segment 1 also holds t = 1600, so it stays.
    assert_eq!(db.compact().unwrap(), 1);
    assert_eq!(db.blocks().len(), 1);
    append(&db, [5000]);
    // Newest sample 5000, cutoff 4000: the block (newest sample 900) goes.
    assert_eq!(db.apply_retention().unwrap(), 1);
    assert!(db.blocks().is_empty());
    let want = expected(&[1600, 5000]);
    assert_eq!(common::dump(&db), want);

    let reader = Db::open_read_only(dir.path(), opts()).unwrap();
    assert_eq!(
        common::dump(&reader),
        want,
        "read-only open revived deleted samples"
    );
    drop(reader);
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(common::dump(&db), want, "reopen revived deleted samples");
    // And the bound survives a second reopen (it is recorded, not re-derived from blocks).
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(common::dump(&db), want);
}
