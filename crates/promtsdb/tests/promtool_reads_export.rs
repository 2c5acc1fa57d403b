//! `promtool tsdb analyze` and `promtool tsdb dump` (Prometheus 2.42) read the blocks we
//! export, and dump's samples equal the database's, including values that stress the XOR
//! encoding and a data set spanning several 2 h blocks.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use promlite_model::{Labels, STALE_NAN};
use promlite_promtsdb::{export_blocks, ExportOptions};

/// Go's `%q`-style label rendering used by `promtool tsdb dump`: `{a="x", b="y"}`.
fn go_labels(labels: &Labels) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|l| {
            let mut v = String::new();
            for c in l.value.chars() {
                match c {
                    '"' => v.push_str("\\\""),
                    '\\' => v.push_str("\\\\"),
                    '\n' => v.push_str("\\n"),
                    c => v.push(c),
                }
            }
            format!("{}=\"{v}\"", l.name)
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Parses dump's `LABELS VALUE TIMESTAMP` lines.
fn parse_dump(text: &str) -> BTreeMap<String, Vec<(i64, u64)>> {
    let mut out: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for line in text.lines() {
        let close = line
            .rfind('}')
            .unwrap_or_else(|| panic!("no labels in {line:?}"));
        let (labels, rest) = line.split_at(close + 1);
        let mut fields = rest.split_whitespace();
        let value: f64 = fields.next().unwrap().parse().unwrap();
        let t: i64 = fields.next().unwrap().parse().unwrap();
        out.entry(labels.to_string())
            .or_default()
            .push((t, value.to_bits()));
    }
    out
}

#[test]
fn promtool_analyzes_and_dumps_exported_blocks() {
    let Some(promtool) =
        promlite_testkit::oracle_binary("promtool", "promtool_analyzes_and_dumps_exported_blocks")
    else {
        return;
    };
    let tmp = common::scratch();
    let db = promlite::Db::open(tmp.path().join("db"), promlite::Options::default()).unwrap();
    // Extra series before the cluster: irregular timestamps (every delta-of-delta bucket) over
    // about 3.5 h, so three 2 h blocks, and every kind of float.
    let mut app = db.appender();
    let odd = Labels::from_pairs([("__name__", "odd_values"), ("quote", "a \"b\" \\c")]);
    let values = [
        0.0,
        -0.0,
        1.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        STALE_NAN,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        -123456.789,
        1e300,
    ];
    let start = 1_700_000_000_000i64 - 4 * 3600 * 1000;
    let mut t = start;
    for i in 0..380usize {
        t += [15_000, 15_001, 1, 30_000, 14_999, 100_000, 15_000][i % 7];
        if i % 100 == 99 {
            t += 700_000;
        }
        app.append(&odd, t, values[i % values.len()]).unwrap();
    }
    app.commit().unwrap();
    common::ingest_cluster(&db, &common::spec("tiny", "legacy"));

    let out = tmp.path().join("blocks");
    let summary = export_blocks(&db, &out, &ExportOptions::default(), &mut |_| {}).unwrap();
    assert!(summary.blocks.len() >= 3, "{} blocks", summary.blocks.len());

    let analyze = Command::new(&promtool)
        .args(["tsdb", "analyze"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&analyze.stdout);
    assert!(
        analyze.status.success(),
        "analyze failed: {}",
        String::from_utf8_lossy(&analyze.stderr)
    );
    // analyze looks at the newest block by default; check each one explicitly.
    for meta in &summary.blocks {
        let one = Command::new(&promtool)
            .args(["tsdb", "analyze"])
            .arg(&out)
            .arg(&meta.ulid)
            .output()
            .unwrap();
        let one_text = String::from_utf8_lossy(&one.stdout);
        assert!(
            one.status.success(),
            "analyze {}: {}",
            meta.ulid,
            String::from_utf8_lossy(&one.stderr)
        );
        assert!(
            one_text.contains(&format!("Block ID: {}", meta.ulid)),
            "{one_text}"
        );
        assert!(
            one_text.contains(&format!("Series: {}", meta.stats.num_series)),
            "{one_text}"
        );
    }
    assert!(text.contains("Block ID:"), "{text}");

    // dump opens the directory as a read-only DB, which needs a WAL directory.
    std::fs::create_dir_all(out.join("wal")).unwrap();
    let dump = Command::new(&promtool)
        .args([
            "tsdb",
            "dump",
            "--min-time=-9223372036854775808",
            "--max-time=9223372036854775807",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "dump failed: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dumped = parse_dump(&String::from_utf8_lossy(&dump.stdout));

    let ours = common::db_samples(&db);
    let ours: BTreeMap<String, Vec<(i64, u64)>> = ours
        .iter()
        .map(|(l, s)| (go_labels(l), s.clone()))
        .collect();
    assert_eq!(dumped.len(), ours.len(), "series count");
    let n_samples: usize = ours.values().map(Vec::len).sum();
    assert_eq!(n_samples as u64, summary.samples);
    for (labels, want) in &ours {
        let got = dumped
            .get(labels)
            .unwrap_or_else(|| panic!("dump lacks {labels}"));
        assert_eq!(got.len(), want.len(), "{labels}");
        for (x, y) in want.iter().zip(got) {
            // dump prints every NaN (the staleness marker too) as "NaN".
            let both_nan = f64::from_bits(x.1).is_nan() && f64::from_bits(y.1).is_nan();
            assert!(
                x.0 == y.0 && (x.1 == y.1 || both_nan),
                "{labels}: ours {x:?}, dump {y:?}"
            );
        }
    }
}
