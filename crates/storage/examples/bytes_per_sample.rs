//! Writes synthetic scrape data (counters and gauges, 15 s interval) through the WAL, flushes
//! it into blocks with `compact_all`, and prints the data directory's bytes per sample.
//! Run: `cargo run --release -p promlite-storage --example bytes_per_sample [series] [hours]`.

use promlite_model::Labels;
use promlite_storage::{Db, Options, SeriesRef, WalSync};

fn dir_size(p: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(p) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                dir_size(&path)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}

fn main() {
    let n_series: usize = std::env::args()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(2000);
    let hours: i64 = std::env::args()
        .nth(2)
        .and_then(|x| x.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(
        dir.path(),
        Options {
            wal_sync: WalSync::Never,
            ..Options::default()
        },
    )
    .expect("open");
    let mut app = db.appender();
    let refs: Vec<SeriesRef> = (0..n_series)
        .map(|i| {
            let l = Labels::from_pairs([
                (
                    "__name__",
                    if i % 2 == 0 {
                        "container_cpu_usage_seconds_total"
                    } else {
                        "container_memory_working_set_bytes"
                    }
                    .to_string(),
                ),
                ("namespace", format!("ns-{}", i % 10)),
                ("pod", format!("pod-{}", i / 4)),
                ("container", format!("c{}", i % 4)),
            ]);
            app.append(&l, 0, 0.0).expect("append")
        })
        .collect();
    app.commit().expect("commit");
    let steps = hours * 3600 / 15;
    let mut n_samples = n_series as u64;
    for k in 1..steps {
        let t = k * 15_000;
        for (i, &r) in refs.iter().enumerate() {
            let v = if i % 2 == 0 {
                // A CPU counter with millisecond resolution.
                ((k * (i as i64 % 7 + 1) * 123) as f64) / 1000.0
            } else {
                // A memory gauge that changes in 4 KiB steps now and then.
                (100_000_000 + ((k / 20) % 50) * 4096 + i as i64 * 8192) as f64
            };
            app.append_ref(r, t, v).expect("append_ref");
        }
        app.commit().expect("commit");
        n_samples += n_series as u64;
    }
    db.compact_all().expect("compact_all");
    let size = dir_size(dir.path());
    println!(
        "{n_series} series x {hours} h @15s: {n_samples} samples, {} blocks, {size} bytes on disk, {:.3} bytes/sample",
        db.blocks().len(),
        size as f64 / n_samples as f64
    );
}
