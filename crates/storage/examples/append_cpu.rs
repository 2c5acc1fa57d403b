//! Measures append throughput for known series with the WAL on, in samples per CPU-second of
//! this process (robust on a shared, overloaded machine, unlike wall time).
//! Run: `cargo run --release -p promlite-storage --example append_cpu [wal|mem] [batches]`.

use promlite_model::Labels;
use promlite_storage::{Db, Options, SeriesRef, WalSync};

fn cpu_seconds() -> f64 {
    // utime + stime in clock ticks (fields 14 and 15 of /proc/self/stat).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "wal".into());
    let batches: i64 = std::env::args()
        .nth(2)
        .and_then(|x| x.parse().ok())
        .unwrap_or(300);
    let n_series = 10_000usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = Options {
        wal_sync: WalSync::Never,
        auto_compact: false,
        block_range: 1 << 50,
        ..Options::default()
    };
    let db = if mode == "mem" {
        Db::open_in_memory(opts)
    } else {
        Db::open(dir.path(), opts).expect("open")
    };
    let mut app = db.appender();
    let refs: Vec<SeriesRef> = (0..n_series)
        .map(|i| {
            let l = Labels::from_pairs([("__name__", "m".to_string()), ("id", i.to_string())]);
            app.append(&l, 0, 0.0).expect("append")
        })
        .collect();
    app.commit().expect("commit");
    let cpu0 = cpu_seconds();
    let wall0 = std::time::Instant::now();
    for k in 1..=batches {
        let t = k * 15_000;
        for (i, &r) in refs.iter().enumerate() {
            app.append_ref(r, t, (k * 3 + i as i64) as f64)
                .expect("append_ref");
        }
        app.commit().expect("commit");
    }
    let cpu = cpu_seconds() - cpu0;
    let wall = wall0.elapsed().as_secs_f64();
    let n = batches as f64 * n_series as f64;
    println!(
        "{mode}: {n} samples, cpu {cpu:.2}s ({:.2} M samples/cpu-s), wall {wall:.2}s ({:.2} M samples/s)",
        n / cpu / 1e6,
        n / wall / 1e6
    );
}
