//! Issue 16: every OpenMetrics file that `promtool tsdb create-blocks-from openmetrics` accepts
//! replays, whatever its time span and ordering. A file grouped by metric family spanning
//! years, the second family going back in time, was refused with "out of bounds: the head
//! accepts t >= ...". Oracle: promtool (Prometheus 2.42) builds blocks from the same file and
//! `promtool tsdb dump` lists its samples; promlite's replayed samples must be exactly those,
//! and a few queries over both spans must answer as the dump implies.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use common::{path, promlite_ok};
use promlite_model::{MatchOp, Matcher, Queryable, SelectHints};

const TEST: &str = "regression_issue16_replay_span";

/// 2023-01-01T00:00:00Z in seconds.
const T0: i64 = 1_672_531_200;
const YEAR: i64 = 365 * 24 * 3600;

/// Two families: `app_requests_total` (a counter) in 2026 with a series whose samples span
/// from 2023 to 2026 and one going back from 2026 to 2024, then `node_temp_celsius` (a gauge) back in 2023 and 2024, plus a series
/// with a single sample 3 years before the first family's.
fn openmetrics_file() -> String {
    let mut out = String::new();
    out.push_str("# HELP app_requests Requests served.\n# TYPE app_requests counter\n");
    for series in 0..3 {
        for k in 0..40i64 {
            let t = T0 + 3 * YEAR + k * 15;
            let v = (series * 100 + k * 3) as f64;
            writeln!(out, "app_requests_total{{pod=\"p{series}\"}} {v} {t}").unwrap();
        }
    }
    // One series spanning the three years itself.
    for k in 0..4i64 {
        let t = T0 + k * YEAR + 7;
        writeln!(out, "app_requests_total{{pod=\"long\"}} {} {t}", k * 10).unwrap();
    }
    // One going back in time a year at a time (in order within each block range, which is
    // what promtool requires; the head path refused it as out of order).
    for k in 0..3i64 {
        let t = T0 + (3 - k) * YEAR;
        writeln!(out, "app_requests_total{{pod=\"back\"}} {} {t}", 5 - k).unwrap();
    }
    out.push_str("# HELP node_temp_celsius Temperature.\n# TYPE node_temp_celsius gauge\n");
    out.push_str("# UNIT node_temp_celsius celsius\n");
    for series in 0..2 {
        for k in 0..30i64 {
            let t = T0 + k * 60 + series;
            writeln!(
                out,
                "node_temp_celsius{{node=\"n{series}\"}} {}.5 {t}",
                20 + k
            )
            .unwrap();
        }
        for k in 0..5i64 {
            let t = T0 + YEAR + k * 3600;
            writeln!(out, "node_temp_celsius{{node=\"n{series}\"}} {k} {t}").unwrap();
        }
    }
    writeln!(
        out,
        "node_temp_celsius{{node=\"old\"}} -1 {}",
        T0 - 3 * YEAR
    )
    .unwrap();
    out.push_str("# EOF\n");
    out
}

/// (labels as promtool prints them, timestamp ms) → value bits.
type Samples = BTreeMap<(String, i64), u64>;

/// Parses `promtool tsdb dump` lines: `{a="x", b="y"} VALUE TIMESTAMP`.
fn parse_dump(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let close = line.rfind('}').expect("labels in a dump line");
        let (labels, rest) = line.split_at(close + 1);
        let mut fields = rest.split_whitespace();
        let value: f64 = fields.next().unwrap().parse().unwrap();
        let t: i64 = fields.next().unwrap().parse().unwrap();
        out.insert((labels.to_string(), t), value.to_bits());
    }
    out
}

/// Every sample of the promlite data directory `dir`, labels formatted as promtool's dump.
fn promlite_samples(dir: &Path) -> Samples {
    let db = promlite::Db::open_read_only(dir, promlite::Options::default()).unwrap();
    let q = db
        .storage()
        .querier(i64::MIN / 2, i64::MAX / 2)
        .expect("querier");
    let series = q
        .select(
            &SelectHints::default(),
            &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
        )
        .unwrap();
    let mut out = Samples::new();
    for mut s in series {
        let labels: Vec<String> = s
            .labels
            .iter()
            .map(|l| format!("{}=\"{}\"", l.name, l.value))
            .collect();
        let labels = format!("{{{}}}", labels.join(", "));
        let mut samples = Vec::new();
        s.samples
            .collect_range(i64::MIN / 2, i64::MAX / 2, &mut samples)
            .unwrap();
        for sample in samples {
            out.insert((labels.clone(), sample.t), sample.v.to_bits());
        }
    }
    out
}

#[test]
fn a_file_spanning_years_going_back_in_time_replays_as_promtool_reads_it() {
    let Some(promtool) = promlite_testkit::oracle_binary("promtool", TEST) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("span.om");
    std::fs::write(&file, openmetrics_file()).unwrap();

    let prom_dir = tmp.path().join("promtool");
    let status = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(&prom_dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "promtool accepts the file: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    // `tsdb dump` opens the directory as a database, which needs a WAL directory.
    std::fs::create_dir_all(prom_dir.join("wal")).unwrap();
    let dump = Command::new(&promtool)
        .args(["tsdb", "dump"])
        .arg(&prom_dir)
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let expected = parse_dump(&String::from_utf8(dump.stdout).unwrap());
    assert_eq!(
        expected.len(),
        3 * 40 + 4 + 3 + 2 * 35 + 1,
        "promtool kept every sample"
    );

    let lite = tmp.path().join("lite");
    promlite_ok(&["replay", "--data-dir", path(&lite), path(&file)]);
    let got = promlite_samples(&lite);
    assert_eq!(got, expected, "promlite stores exactly promtool's samples");

    // A few queries over both spans, answered from the dump.
    let db = promlite::Db::open_read_only(&lite, promlite::Options::default()).unwrap();
    let instant = |expr: &str, t_ms: i64| -> Vec<(String, f64)> {
        let out = db.query(expr, t_ms).unwrap();
        let promlite::Value::Vector(v) = out.value else {
            panic!("{expr}: not a vector");
        };
        let mut rows: Vec<(String, f64)> = v.iter().map(|s| (s.labels.to_string(), s.v)).collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    };
    // The newest node_temp sample of each node in 2024 (the last of the hourly five).
    let t_2024 = (T0 + YEAR + 4 * 3600) * 1000 + 1000;
    let rows = instant("node_temp_celsius", t_2024);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|(_, v)| *v == 4.0), "{rows:?}");
    // The sum of the three pods' counters at their last scrape in 2026.
    let t_2026 = (T0 + 3 * YEAR + 39 * 15) * 1000;
    let sum = instant("sum(app_requests_total{pod=~\"p.\"})", t_2026);
    assert_eq!(sum.len(), 1);
    assert_eq!(sum[0].1, (39 * 3 * 3 + 300) as f64);
    // The lone sample three years before anything else.
    let old = instant("node_temp_celsius{node=\"old\"}", (T0 - 3 * YEAR) * 1000);
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].1, -1.0);
    // Metadata of both families was kept.
    let meta = db.metadata().unwrap();
    assert_eq!(meta["node_temp_celsius"].unit, "celsius");
    assert_eq!(meta["app_requests"].metric_type, "counter");
}
