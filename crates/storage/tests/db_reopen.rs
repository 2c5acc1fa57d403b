//! Reopening a data directory replays the WAL; compaction moves data into blocks and truncates
//! the WAL; the lock file stops a second writer.

mod common;

use common::{dump, series};
use promlite_model::{Matcher, Queryable, SelectHints, STALE_NAN};
use promlite_storage::{Db, Error, Options, WalSync};

fn opts() -> Options {
    Options {
        block_range: 1000,
        wal_sync: WalSync::Never,
        auto_compact: false,
        ..Options::default()
    }
}

#[test]
fn wal_replay_restores_committed_samples_only() {
    let dir = tempfile::tempdir().unwrap();
    let want = {
        let db = Db::open(dir.path(), opts()).unwrap();
        let mut app = db.appender();
        for i in 0..50 {
            let r = app
                .append(&series(i % 7), i as i64 * 10, i as f64 * 0.5)
                .unwrap();
            if i == 49 {
                app.append_ref(r, 10_000, STALE_NAN).unwrap();
            }
        }
        app.commit().unwrap();
        // Uncommitted samples are not persisted.
        app.append(&series(100), 5, 1.0).unwrap();
        let want = dump(&db);
        drop(app);
        want
    };
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
    let report = db.replay_report();
    assert_eq!(report.samples.appended, 51);
    assert_eq!(report.torn_tail, None);
    // The staleness marker kept its exact bits.
    let last = want
        .values()
        .flat_map(|v| v.iter())
        .find(|(t, _)| *t == 10_000)
        .unwrap();
    assert_eq!(last.1, STALE_NAN.to_bits());
}

#[test]
fn second_writer_is_refused_naming_the_lock_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let err = Db::open(dir.path(), opts()).unwrap_err();
    match &err {
        Error::Locked { path } => assert_eq!(path, &dir.path().join("lock")),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(err.to_string().contains("lock"), "{err}");
    drop(db);
    Db::open(dir.path(), opts()).unwrap();
}

#[test]
fn compaction_persists_blocks_truncates_wal_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let want = {
        let db = Db::open(dir.path(), opts()).unwrap();
        let mut app = db.appender();
        for t in 0..5000i64 {
            app.append(&series((t % 3) as usize), t, (t * 7) as f64)
                .unwrap();
            if t % 500 == 0 {
                app.commit().unwrap();
            }
        }
        app.commit().unwrap();
        // The head spans 0..=4999 in ranges of 1000 ms. A range is due while the head reaches
        // half a range past its end: [0,1000) .. [3000,4000) are; [4000,5000) is not.
        let n = db.compact().unwrap();
        assert_eq!(n, 4);
        // Leveled compaction merged the three ranges of the first 3000 ms window; the newest
        // block stays out of leveled merges.
        let ranges: Vec<(i64, i64)> = db.blocks().iter().map(|b| (b.1, b.2)).collect();
        assert_eq!(ranges, vec![(0, 2999), (3000, 3999)]);
        assert_eq!(db.head_stats().min_valid_time, 4000);
        // Older samples are now out of bounds.
        let err = app.append(&series(0), 3500, 1.0).unwrap_err();
        assert!(
            matches!(
                err,
                Error::OutOfBounds {
                    min_valid: 4000,
                    ..
                }
            ),
            "{err}"
        );
        let want = dump(&db);
        assert_eq!(want.values().map(Vec::len).sum::<usize>(), 5000);
        want
    };
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
    assert_eq!(db.blocks().len(), 2);
    // Replay skipped the samples that are in blocks instead of loading them twice.
    assert_eq!(db.head_stats().min_t, 4000);

    // Flushing persists the rest; afterwards the WAL holds no raw samples.
    assert_eq!(db.compact_all().unwrap(), 1);
    assert_eq!(db.head_stats().n_series, 0);
    let wal_bytes: u64 = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        wal_bytes < 200,
        "WAL still holds {wal_bytes} bytes after a full flush"
    );
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
    // Appending continues after the flushed data.
    let mut app = db.appender();
    app.append(&series(0), 5000, 1.0).unwrap();
    app.commit().unwrap();
}

#[test]
fn retention_by_time_and_size_deletes_oldest_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts();
    o.retention_time = Some(std::time::Duration::from_millis(2500));
    let db = Db::open(dir.path(), o).unwrap();
    let mut app = db.appender();
    for t in 0..6000i64 {
        app.append(&series(0), t, 1.0).unwrap();
    }
    app.commit().unwrap();
    db.compact_all().unwrap();
    // Newest sample 5999; blocks ending before 3499 are gone.
    let blocks = db.blocks();
    assert!(
        blocks.iter().all(|(_, _, max_t)| *max_t >= 3499),
        "{blocks:?}"
    );
    assert_eq!(blocks.len(), 3);
    let got = dump(&db);
    assert_eq!(got.values().next().unwrap().first().unwrap().0, 3000);
    drop(app);
    drop(db);

    let mut o = opts();
    let one_block = {
        let db = Db::open(dir.path(), opts()).unwrap();
        let b = db.blocks();
        drop(db);
        let p = &b[0].0;
        std::fs::read_dir(p.join("chunks"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum::<u64>()
            + std::fs::metadata(p.join("index")).unwrap().len()
    };
    o.retention_size = Some(one_block * 2);
    let db = Db::open(dir.path(), o).unwrap();
    assert!(db.blocks().len() <= 2, "{:?}", db.blocks());
}

#[test]
fn label_queries_span_blocks_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    app.append(&series(1), 10, 1.0).unwrap();
    app.commit().unwrap();
    db.compact_all().unwrap();
    app.append(&series(2), 2000, 1.0).unwrap();
    app.commit().unwrap();
    let q = db.querier(0, 3000).unwrap();
    assert_eq!(q.label_values("id", &[]).unwrap(), vec!["1", "2"]);
    assert_eq!(
        q.label_names(&[Matcher::equal("id", "1")]).unwrap(),
        vec!["__name__", "id"]
    );
    let sel = q
        .select(&SelectHints::default(), &[Matcher::equal("__name__", "m")])
        .unwrap();
    assert_eq!(sel.len(), 2);
    // A narrower querier sees only the block.
    let q = db.querier(0, 100).unwrap();
    assert_eq!(
        q.select(&SelectHints::default(), &[Matcher::equal("__name__", "m")])
            .unwrap()
            .len(),
        1
    );
}
