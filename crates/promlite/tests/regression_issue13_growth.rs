//! Issue 13, finding 5: bounded growth. Replaying the same cluster day by day with the oldest
//! day LAST works (older days are backfilled into blocks of their own and merged), ends with a
//! bounded number of blocks and exactly the input's samples; retention removes exactly the
//! blocks it should.
//!
//! CI-sized: the tiny cluster, 24 "days" of 24 h scraped every 30 minutes (about 10,000 samples a
//! day); the report's larger run uses the same test with `PROMLITE_GROWTH_INTERVAL_MS`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use promlite::{Db, Options, ReplayOptions, ReplaySource, Value};
use promlite_cluster::{Cluster, ClusterSpec, Size};
use promlite_model::{is_stale_nan, Labels, MatchOp, Matcher, Queryable, SelectHints};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const DAYS: i64 = 24;

fn interval_ms() -> i64 {
    std::env::var("PROMLITE_GROWTH_INTERVAL_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_800_000)
}

fn day_spec(day: i64) -> ClusterSpec {
    ClusterSpec {
        seed: 13,
        start_ms: promlite_cluster::DEFAULT_START_MS + day * DAY_MS,
        duration_ms: DAY_MS,
        interval_ms: interval_ms(),
        // A timestamped file carries no staleness markers (only scrape directories get them).
        stale_markers: false,
        ..ClusterSpec::preset(Size::Tiny)
    }
}

/// Writes one OpenMetrics file per day; returns the files and every generated sample as
/// `(labels, t, is_stale)`, counted by the generator (not by storage).
fn generate(dir: &Path) -> (Vec<PathBuf>, Vec<(Labels, i64, bool)>) {
    let mut files = Vec::new();
    let mut samples = Vec::new();
    for day in 0..DAYS {
        let cluster = Cluster::build(&day_spec(day)).unwrap();
        let path = dir.join(format!("day{day:02}.om"));
        cluster
            .write_openmetrics(std::io::BufWriter::new(
                std::fs::File::create(&path).unwrap(),
            ))
            .unwrap();
        cluster.for_each_sample(|l, t, v| samples.push((l.clone(), t, is_stale_nan(v))));
        files.push(path);
    }
    (files, samples)
}

/// Replays `file` as a separate `promlite replay` run would: open, replay, flush, close.
fn replay_one(data: &Path, file: &Path, options: &Options) {
    let db = Db::open(data, options.clone()).unwrap();
    let stats = db
        .replay(ReplaySource::File(file), ReplayOptions::default())
        .unwrap_or_else(|e| panic!("replaying {}: {e}", file.display()));
    assert_eq!(stats.rejected_samples, 0);
}

/// Every stored sample (staleness markers included) as `(labels, t)`.
fn stored(db: &Db) -> Vec<(Labels, i64)> {
    let q = db.storage().querier(i64::MIN, i64::MAX).unwrap();
    let all = Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap();
    let mut out = Vec::new();
    for mut s in q.select(&SelectHints::default(), &[all]).unwrap() {
        let mut buf = Vec::new();
        s.samples
            .collect_range(i64::MIN, i64::MAX, &mut buf)
            .unwrap();
        out.extend(buf.iter().map(|x| (s.labels.clone(), x.t)));
    }
    out.sort();
    out
}

fn scalar_sum(db: &Db, expr: &str, at: i64) -> f64 {
    match db.query(expr, at).unwrap().value {
        Value::Vector(v) => v.iter().map(|s| s.v).sum(),
        other => panic!("{expr}: {other:?}"),
    }
}

#[test]
fn regression_issue13_finding5_day_by_day_oldest_last_is_bounded_and_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let (files, generated) = generate(tmp.path());
    let data = tmp.path().join("data");
    let options = Options::default();
    for file in files.iter().rev() {
        replay_one(&data, file, &options);
    }
    let db = Db::open(&data, options).unwrap();
    let blocks = db.storage().blocks();
    // Without merging: 12 two-hour blocks a day, 288 in all. Leveled compaction (2h, 6h, 18h,
    // 54h, 162h, 486h windows) leaves at most a handful per window size.
    assert!(
        blocks.len() <= 12,
        "{} blocks after 24 days: {:?}",
        blocks.len(),
        blocks.iter().map(|b| (b.1, b.2)).collect::<Vec<_>>()
    );
    for pair in blocks.windows(2) {
        assert!(pair[0].2 < pair[1].1, "blocks still overlap: {pair:?}");
    }

    let mut want: Vec<(Labels, i64)> = generated.iter().map(|(l, t, _)| (l.clone(), *t)).collect();
    want.sort();
    let got = stored(&db);
    assert_eq!(got.len(), want.len(), "stored sample count");
    assert!(got == want, "stored samples differ from the input");

    // The query engine agrees: count_over_time counts every non-stale sample once.
    let last_t = generated.iter().map(|s| s.1).max().unwrap();
    let non_stale = generated.iter().filter(|s| !s.2).count() as f64;
    let counted = scalar_sum(&db, "count_over_time({__name__=~\".+\"}[30d])", last_t);
    assert_eq!(counted, non_stale);
}

#[test]
fn retention_by_time_removes_exactly_the_expired_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let (files, generated) = generate(tmp.path());
    let data = tmp.path().join("data");
    let retention = Duration::from_secs(5 * 24 * 3600);
    let options = Options {
        storage: promlite::StorageOptions {
            retention_time: Some(retention),
            ..promlite::StorageOptions::default()
        },
        ..Options::default()
    };
    // Newest first, so the oldest days are backfilled after the newest is known and must be
    // dropped again by retention.
    for file in files.iter().rev() {
        replay_one(&data, file, &options);
    }
    let db = Db::open(&data, options).unwrap();
    let blocks = db.storage().blocks();
    let newest = generated.iter().map(|s| s.1).max().unwrap();
    let cutoff = newest - retention.as_millis() as i64;
    // Blocks are at most 10 % of the retention (12 h: windows of 2 h and 6 h only).
    for b in &blocks {
        assert!(b.2 >= cutoff, "expired block kept: {b:?} (cutoff {cutoff})");
        assert!(b.2 - b.1 < 6 * 3600 * 1000, "block larger than 6 h: {b:?}");
    }
    let oldest_kept = blocks.iter().map(|b| b.1).min().unwrap();
    // A block is deleted only whole, and only when all of it is older than the cutoff: the
    // oldest kept block starts at most one block length before the cutoff.
    assert!(
        oldest_kept > cutoff - 6 * 3600 * 1000,
        "{oldest_kept} vs {cutoff}"
    );
    let mut want: Vec<(Labels, i64)> = generated
        .iter()
        .filter(|s| s.1 >= oldest_kept)
        .map(|(l, t, _)| (l.clone(), *t))
        .collect();
    want.sort();
    let got = stored(&db);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "retention removed or kept the wrong samples");
}
