//! One writer and many readers: while a writer commits and compactions move data from the head
//! into blocks, concurrent readers always see sorted series and never see the number of samples
//! go down (data moving into a block is never missed).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use promlite_storage::{Db, Options, WalSync};

#[test]
fn readers_see_monotonic_data_while_the_writer_commits_and_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        block_range: 200,
        wal_sync: WalSync::Never,
        auto_compact: true,
        ..Options::default()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let n_series = 50usize;
    let n_commits = 300i64;
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let db = db.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut last_total = 0usize;
                let mut reads = 0;
                while !done.load(Ordering::Acquire) {
                    // `dump` asserts the series are sorted by labels.
                    let data = common::dump(&db);
                    let total: usize = data.values().map(Vec::len).sum();
                    assert!(
                        total >= last_total,
                        "samples went from {last_total} to {total}"
                    );
                    for v in data.values() {
                        assert!(
                            v.windows(2).all(|w| w[0].0 < w[1].0),
                            "samples out of order"
                        );
                    }
                    last_total = total;
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut app = db.appender();
    for k in 0..n_commits {
        for s in 0..n_series {
            app.append(&common::series(s), k * 10, k as f64).unwrap();
        }
        app.commit().unwrap();
    }
    done.store(true, Ordering::Release);
    let reads: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 0);
    assert!(!db.blocks().is_empty(), "no compaction ran during the test");
    let data = common::dump(&db);
    assert_eq!(
        data.values().map(Vec::len).sum::<usize>(),
        n_series * n_commits as usize
    );
}
