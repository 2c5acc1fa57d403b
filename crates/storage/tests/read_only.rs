//! Issue 13, finding 4: readers beside the writer. `Db::open_read_only` takes no lock, writes
//! nothing, sees everything durable (blocks and the WAL) and survives a writer that compacts,
//! checkpoints and deletes blocks underneath it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use common::{dump, series};
use promlite_storage::{Db, Error, Options, WalSync};

fn opts() -> Options {
    Options {
        wal_sync: WalSync::Never,
        // Small segments, so compaction checkpoints and deletes segments often.
        wal_segment_size: 4096,
        block_range: 10_000,
        ..Options::default()
    }
}

/// Every file under `dir` with its bytes (directories as empty entries).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.insert(path.clone(), None);
                stack.push(path);
            } else {
                out.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn write_samples(db: &Db, from: i64, to: i64, step: i64) {
    let mut app = db.appender();
    for t in (from..to).step_by(step as usize) {
        for id in 0..3 {
            app.append(&series(id), t, t as f64).unwrap();
        }
    }
    app.commit().unwrap();
}

fn total_samples(db: &Db) -> usize {
    dump(db).values().map(Vec::len).sum()
}

#[test]
fn regression_issue13_finding4_twenty_reads_leave_the_directory_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        write_samples(&db, 0, 25_000, 1_000); // two blocks plus a head part in the WAL
        db.close().unwrap();
    }
    let before = snapshot(dir.path());
    let expected = {
        let reader = Db::open_read_only(dir.path(), opts()).unwrap();
        dump(&reader)
    };
    assert_eq!(expected.values().map(Vec::len).sum::<usize>(), 75);
    for _ in 0..20 {
        let reader = Db::open_read_only(dir.path(), opts()).unwrap();
        assert!(reader.is_read_only());
        assert_eq!(dump(&reader), expected);
        assert!(!reader.refresh().unwrap(), "nothing changed");
    }
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a read-only open changed the directory"
    );
}

#[test]
fn reader_opens_beside_a_writer_and_sees_uncompacted_wal_data() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Db::open(dir.path(), opts()).unwrap();
    write_samples(&writer, 0, 5_000, 1_000);
    assert!(matches!(
        Db::open(dir.path(), opts()),
        Err(Error::Locked { .. })
    ));
    let reader = Db::open_read_only(dir.path(), opts()).unwrap();
    let second = Db::open_read_only(dir.path(), opts()).unwrap();
    assert_eq!(total_samples(&reader), 15);
    assert_eq!(dump(&reader), dump(&writer));
    assert_eq!(dump(&second), dump(&writer));

    // Writes are refused, and leave nothing behind.
    let mut app = reader.appender();
    assert!(matches!(
        app.append(&series(0), 10_000, 1.0),
        Err(Error::ReadOnly { .. })
    ));
    assert!(matches!(reader.compact_all(), Err(Error::ReadOnly { .. })));
    assert!(matches!(
        reader.apply_retention(),
        Err(Error::ReadOnly { .. })
    ));

    // The writer adds data and compacts; the reader's refresh picks both up.
    write_samples(&writer, 5_000, 40_000, 1_000);
    writer.compact_all().unwrap();
    assert!(reader.refresh().unwrap());
    assert_eq!(dump(&reader), dump(&writer));
    assert_eq!(total_samples(&reader), 120);
    assert!(!reader.refresh().unwrap());
}

#[test]
fn reader_keeps_consistent_views_while_the_writer_compacts_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Db::open(
        dir.path(),
        Options {
            // Retention deletes blocks while the reader loads.
            retention_time: Some(std::time::Duration::from_millis(60_000)),
            ..opts()
        },
    )
    .unwrap();
    write_samples(&writer, 0, 1_000, 1_000);
    let committed_until = Arc::new(AtomicU64::new(1_000));
    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let writer = writer.clone();
        let committed_until = committed_until.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut t = 1_000;
            while !stop.load(Ordering::SeqCst) && t < 400_000 {
                write_samples(&writer, t, t + 2_000, 1_000);
                t += 2_000;
                committed_until.store(t as u64, Ordering::SeqCst);
                if t % 20_000 == 0 {
                    writer.compact_all().unwrap();
                }
            }
        })
    };
    let reader = Db::open_read_only(dir.path(), opts()).unwrap();
    let mut refreshes = 0;
    for _ in 0..60 {
        let floor = committed_until.load(Ordering::SeqCst) as i64;
        reader.refresh().unwrap();
        refreshes += 1;
        let data = dump(&reader);
        // Every series holds one contiguous run of whole seconds, up to at least what was
        // committed before the refresh began: nothing lost, nothing duplicated or invented.
        for id in 0..3 {
            let samples = data.get(&series(id)).expect("series present");
            let (first, last) = (samples[0].0, samples[samples.len() - 1].0);
            assert!(
                last >= floor - 1_000,
                "refresh missed committed data: {last} < {floor}"
            );
            for (i, (t, v)) in samples.iter().enumerate() {
                assert_eq!(
                    *t,
                    first + 1_000 * i as i64,
                    "gap or duplicate in series {id}"
                );
                assert_eq!(f64::from_bits(*v), *t as f64);
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    handle.join().unwrap();
    assert_eq!(refreshes, 60);
    reader.refresh().unwrap();
    assert_eq!(dump(&reader), dump(&writer));
}
