//! Replay tests: directory scrapes with staleness, scrape times from names or start+interval,
//! single timestamped files, strict stops that keep the prefix, and lenient counting.

use std::path::Path;

use promlite_expfmt::replay::{
    replay_dir, replay_file, CollectSink, ReplayOptions, ReplaySeries, SampleSink, ScrapeTimes,
};
use promlite_expfmt::Error;
use promlite_model::{is_stale_nan, Labels};

fn write(dir: &Path, name: &str, text: &[u8]) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Renders collected samples as `series@t=value` strings (`STALE` for markers).
fn show(sink: &CollectSink) -> Vec<String> {
    sink.samples
        .iter()
        .map(|(labels, t, v)| {
            let v = if is_stale_nan(*v) {
                "STALE".to_string()
            } else {
                v.to_string()
            };
            format!("{labels}@{t}={v}")
        })
        .collect()
}

#[test]
fn directory_replay_uses_file_name_times_and_marks_stale_series() {
    let dir = tempfile::tempdir().unwrap();
    // 10000 sorts before 2000 as text; replay must order numerically.
    write(dir.path(), "1000.prom", b"a 1\nb 2\n");
    write(dir.path(), "2000.prom", b"a 3\nc{x=\"1\"} 4\n");
    write(dir.path(), "3000.prom", b"a 5\nc{x=\"1\"} 6\nd 7 9999\n");
    write(dir.path(), "10000.prom", b"# TYPE a gauge\na 8\n");
    write(dir.path(), ".hidden", b"not a scrape");
    let mut sink = CollectSink::default();
    let stats = replay_dir(
        dir.path(),
        ScrapeTimes::FileNames,
        &mut ReplayOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!(
        show(&sink),
        [
            "{__name__=\"a\"}@1000=1",
            "{__name__=\"b\"}@1000=2",
            "{__name__=\"a\"}@2000=3",
            "{__name__=\"c\", x=\"1\"}@2000=4",
            "{__name__=\"b\"}@2000=STALE",
            "{__name__=\"a\"}@3000=5",
            "{__name__=\"c\", x=\"1\"}@3000=6",
            // Explicit timestamps are kept and never get staleness markers.
            "{__name__=\"d\"}@9999=7",
            "{__name__=\"a\"}@10000=8",
            "{__name__=\"c\", x=\"1\"}@10000=STALE",
        ]
    );
    assert_eq!(sink.commits, 4, "one commit per scrape");
    assert_eq!(
        (
            stats.files,
            stats.lines,
            stats.samples,
            stats.stale_markers,
            stats.series,
            stats.skipped_lines
        ),
        (4, 9, 8, 2, 4, 0)
    );
}

#[test]
fn directory_replay_with_start_and_interval_orders_by_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "scrape-b.prom", b"up 2\n");
    write(dir.path(), "scrape-a.prom", b"up 1\ndown 0\n");
    write(dir.path(), "scrape-c.om", b"up 3\n# EOF\n");
    let mut sink = CollectSink::default();
    let times = ScrapeTimes::StartInterval {
        start_ms: 1_700_000_000_000,
        interval_ms: 15_000,
    };
    let stats = replay_dir(dir.path(), times, &mut ReplayOptions::default(), &mut sink).unwrap();
    assert_eq!(
        show(&sink),
        [
            "{__name__=\"up\"}@1700000000000=1",
            "{__name__=\"down\"}@1700000000000=0",
            "{__name__=\"up\"}@1700000015000=2",
            "{__name__=\"down\"}@1700000015000=STALE",
            "{__name__=\"up\"}@1700000030000=3",
        ]
    );
    assert_eq!(stats.stale_markers, 1);
}

#[test]
fn malformed_line_stops_replay_and_keeps_what_was_accepted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1000.prom", b"a 1\n");
    write(dir.path(), "2000.prom", b"a 2\nb 3\nc{x=1} 4\nd 5\n");
    write(dir.path(), "3000.prom", b"a 6\n");
    let mut sink = CollectSink::default();
    let err = replay_dir(
        dir.path(),
        ScrapeTimes::FileNames,
        &mut ReplayOptions::default(),
        &mut sink,
    )
    .unwrap_err();
    let path = dir.path().join("2000.prom");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:5: expected '\"' to start the value of label \"x\"",
            path.display()
        )
    );
    match err {
        Error::File { path: p, error } => assert_eq!((p, error.line, error.column), (path, 3, 5)),
        other => panic!("expected a file error, got {other:?}"),
    }
    assert_eq!(
        show(&sink),
        [
            "{__name__=\"a\"}@1000=1",
            "{__name__=\"a\"}@2000=2",
            "{__name__=\"b\"}@2000=3"
        ]
    );
    assert_eq!(
        sink.commits, 2,
        "the partial scrape is committed before the error returns"
    );
}

#[test]
fn lenient_mode_counts_and_reports_skipped_lines() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1000.prom", b"a 1\nbad{ 1\nb 2\n");
    write(
        dir.path(),
        "2000.prom",
        b"a 3\nx y z\nb 4\n\xff\xfe 5\nc 6\n",
    );
    let mut sink = CollectSink::default();
    let mut opts = ReplayOptions {
        lenient: true,
        max_reported_errors: 2,
        ..ReplayOptions::default()
    };
    let stats = replay_dir(dir.path(), ScrapeTimes::FileNames, &mut opts, &mut sink).unwrap();
    assert_eq!(stats.skipped_lines, 3);
    let errors: Vec<String> = stats.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        [
            format!(
                "{}:2:6: expected label name or '}}'",
                dir.path().join("1000.prom").display()
            ),
            format!(
                "{}:2:3: expected sample value (a float, NaN, +Inf or -Inf), found \"y\"",
                dir.path().join("2000.prom").display()
            ),
        ]
    );
    assert_eq!(stats.samples, 5);
    assert_eq!(stats.lines, 8);
    assert_eq!(
        show(&sink).last().map(String::as_str),
        Some("{__name__=\"c\"}@2000=6")
    );
}

#[test]
fn lenient_mode_reports_invalid_utf8_position() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "data.prom",
        b"a 1 1000\nb{v=\"\xff\"} 2 1000\nc 3 1000\n",
    );
    let mut sink = CollectSink::default();
    let mut opts = ReplayOptions {
        lenient: true,
        ..ReplayOptions::default()
    };
    let stats = replay_file(&dir.path().join("data.prom"), &mut opts, &mut sink).unwrap();
    assert_eq!(stats.skipped_lines, 1);
    let e = &stats.errors[0].error;
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (2, 6, "invalid UTF-8")
    );
    assert_eq!(
        show(&sink),
        ["{__name__=\"a\"}@1000=1", "{__name__=\"c\"}@1000=3"]
    );
}

#[test]
fn single_file_replay_requires_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.prom");
    write(dir.path(), "data.prom", b"a 1 1000\na 2 2000\nb 3\n");
    let mut sink = CollectSink::default();
    let err = replay_file(&path, &mut ReplayOptions::default(), &mut sink).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:3:1: sample has no timestamp", path.display())),
        "{err}"
    );
    assert_eq!(
        show(&sink),
        ["{__name__=\"a\"}@1000=1", "{__name__=\"a\"}@2000=2"]
    );
}

#[test]
fn single_file_openmetrics_is_detected_by_trailing_eof() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.txt");
    write(
        dir.path(),
        "data.txt",
        b"# TYPE a gauge\na 1 1.5\na 2 2.25\n# EOF\n",
    );
    let mut sink = CollectSink::default();
    replay_file(&path, &mut ReplayOptions::default(), &mut sink).unwrap();
    assert_eq!(
        show(&sink),
        ["{__name__=\"a\"}@1500=1", "{__name__=\"a\"}@2250=2"]
    );
}

#[test]
fn openmetrics_file_without_eof_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.om");
    write(dir.path(), "data.om", b"a 1 1.5\n");
    let mut sink = CollectSink::default();
    let err = replay_file(&path, &mut ReplayOptions::default(), &mut sink).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2:1: expected \"# EOF\" at the end of OpenMetrics input",
            path.display()
        )
    );
    assert_eq!(sink.samples.len(), 1);
}

#[test]
fn chunked_reading_matches_whole_file_parse() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.prom");
    let mut text = String::new();
    for i in 0..3000 {
        // Vary line lengths so chunk boundaries fall everywhere; add a long line too.
        text.push_str(&format!(
            "m{{i=\"{i}\",pad=\"{}\"}} {i} {}\n",
            "x".repeat(i % 97),
            1000 + i
        ));
    }
    text.push_str(&format!("long{{v=\"{}\"}} 1 5\n", "y".repeat(20_000)));
    std::fs::write(&path, &text).unwrap();
    let mut progress = Vec::new();
    let mut sink = CollectSink::default();
    let stats = {
        let mut opts = ReplayOptions {
            chunk_size: 4096,
            progress: Some(Box::new(|bytes| progress.push(bytes))),
            ..ReplayOptions::default()
        };
        replay_file(&path, &mut opts, &mut sink).unwrap()
    };
    assert_eq!(stats.samples, 3001);
    assert_eq!(stats.lines, 3001);
    assert_eq!(stats.bytes, text.len() as u64);
    assert_eq!(progress.last().copied(), Some(text.len() as u64));
    assert!(progress.len() > 10, "progress is reported per chunk");
    for (i, (labels, t, v)) in sink.samples.iter().take(3000).enumerate() {
        assert_eq!(labels.get("i"), Some(i.to_string().as_str()));
        assert_eq!((*t, *v), (1000 + i as i64, i as f64));
    }
    assert!(sink.commits > 10, "single-file replay commits per chunk");
}

#[test]
fn duplicate_series_in_one_scrape_is_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    // Same series twice, once spelled differently (label order): one sample kept.
    write(
        dir.path(),
        "1000.prom",
        b"a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
    );
    let mut sink = CollectSink::default();
    let stats = replay_dir(
        dir.path(),
        ScrapeTimes::FileNames,
        &mut ReplayOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!((stats.samples, stats.duplicates, stats.series), (1, 1, 1));
    assert_eq!(show(&sink), ["{__name__=\"a\", x=\"1\", y=\"2\"}@1000=1"]);
}

#[test]
fn bad_scrape_file_name_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1000.prom", b"a 1\n");
    write(dir.path(), "later.prom", b"a 2\n");
    let err = replay_dir(
        dir.path(),
        ScrapeTimes::FileNames,
        &mut ReplayOptions::default(),
        &mut CollectSink::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Input { path, .. } if path.ends_with("later.prom")),
        "{err:?}"
    );
}

/// A sink that caches per-series state by the dense id, as a storage facade would.
#[derive(Default)]
struct CountingSink {
    per_series: Vec<u32>,
    labels: Vec<Labels>,
}

impl SampleSink for CountingSink {
    type Error = std::io::Error;

    fn append(&mut self, series: &ReplaySeries, _t: i64, _v: f64) -> Result<(), Self::Error> {
        let idx = series.id as usize;
        if idx == self.per_series.len() {
            self.per_series.push(0);
            self.labels.push(series.labels.clone());
        }
        assert_eq!(series.hash, series.labels.stable_hash());
        assert_eq!(
            self.labels[idx], series.labels,
            "ids are stable per label set"
        );
        self.per_series[idx] += 1;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn series_ids_are_dense_and_stable_across_scrapes() {
    let dir = tempfile::tempdir().unwrap();
    let node = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/exposition/node_exporter_1.prom"
    ))
    .unwrap();
    let node2 = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/exposition/node_exporter_2.prom"
    ))
    .unwrap();
    write(dir.path(), "1700000000000.prom", &node);
    write(dir.path(), "1700000015000.prom", &node2);
    let mut sink = CountingSink::default();
    let stats = replay_dir(
        dir.path(),
        ScrapeTimes::FileNames,
        &mut ReplayOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!(stats.files, 2);
    assert_eq!(stats.series as usize, sink.per_series.len());
    assert!(
        stats.series > 500,
        "node_exporter exposes hundreds of series"
    );
    // Every series present in both captures was appended twice; the rest got stale markers.
    let appended: u64 = sink.per_series.iter().map(|&n| u64::from(n)).sum();
    assert_eq!(appended, stats.samples + stats.stale_markers);
}
