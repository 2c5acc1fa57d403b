//! Head memory per active series, beyond its chunk bytes, must stay under 1 KiB. Measured as the
//! growth of this process's resident set while 50k Kubernetes-like series (7 labels, unique pod
//! and instance values) are created, in a test binary of its own so nothing else allocates
//! meanwhile. Also checks the head's own estimate against the same bound.

use promlite_model::Labels;
use promlite_storage::{Db, Options};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn head_memory_per_series_is_under_one_kib() {
    let n = 50_000usize;
    // Build the label sets first so their own memory is not counted.
    let all: Vec<Labels> = (0..n)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", "container_cpu_usage_seconds_total".to_string()),
                ("namespace", format!("ns-{}", i % 20)),
                ("pod", format!("workload-{}-7d9f8c6b5-{:05}", i % 300, i)),
                ("container", format!("c{}", i % 4)),
                ("node", format!("node-{}", i % 100)),
                ("job", "kubelet".to_string()),
                ("instance", format!("10.1.{}.{}:10250", i / 250, i % 250)),
            ])
        })
        .collect();
    let before = rss_bytes();
    let db = Db::open_in_memory(Options::default());
    let mut app = db.appender();
    for (i, l) in all.iter().enumerate() {
        app.append(l, 1_700_000_000_000, i as f64).unwrap();
    }
    app.commit().unwrap();
    drop(all);
    let after = rss_bytes();
    let stats = db.head_stats();
    assert_eq!(stats.n_series, n);
    let growth = after.saturating_sub(before);
    let per_series = growth.saturating_sub(stats.chunk_bytes as u64) / n as u64;
    let estimate = db.head().read().index_heap_bytes() / n;
    eprintln!(
        "RSS growth {per_series} B/series beyond chunk bytes; head estimate {estimate} B/series"
    );
    assert!(
        per_series <= 1024,
        "head uses {per_series} bytes per series beyond chunk bytes"
    );
    assert!(
        estimate <= 1024,
        "head estimates {estimate} bytes per series"
    );
}
