//! HELP/TYPE/UNIT reach `Db::metadata` through replay (both formats, files and scrape
//! directories) and import, survive reopening, and follow the latest-wins rule per family.

use promlite::{
    Db, ImportOptions, MetricMetadata, Options, ReplayOptions, ReplaySource, ScrapeTimes,
};

fn meta(t: &str, h: &str, u: &str) -> MetricMetadata {
    MetricMetadata {
        metric_type: t.into(),
        help: h.into(),
        unit: u.into(),
    }
}

#[test]
fn replay_and_import_keep_metadata_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("a.prom");
    std::fs::write(
        &text,
        "# HELP req_total Requests \\\\ served.\n# TYPE req_total counter\n\
         req_total 1 1700000000000\n# TYPE gauge_only gauge\ngauge_only 2 1700000000000\n\
         # HELP untyped_one Just help.\nuntyped_one 3 1700000000000\n",
    )
    .unwrap();
    let om = dir.path().join("b.om");
    std::fs::write(
        &om,
        "# TYPE om_latency_seconds histogram\n# UNIT om_latency_seconds seconds\n# HELP om_latency_seconds Latency.\n\
         om_latency_seconds_bucket{le=\"+Inf\"} 1 1700000000\nom_latency_seconds_sum 0.5 1700000000\n\
         om_latency_seconds_count 1 1700000000\n# EOF\n",
    )
    .unwrap();
    // A scrape directory whose second scrape rewords a HELP text: the latest wins.
    let scrapes = dir.path().join("scrapes");
    std::fs::create_dir(&scrapes).unwrap();
    std::fs::write(
        scrapes.join("1700000100000.prom"),
        "# HELP dir_metric First.\n# TYPE dir_metric gauge\ndir_metric 1\n",
    )
    .unwrap();
    std::fs::write(
        scrapes.join("1700000160000.prom"),
        "# HELP dir_metric Second.\ndir_metric 2\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    {
        let db = Db::open(&data, Options::default()).unwrap();
        for source in [
            ReplaySource::File(&text),
            ReplaySource::File(&om),
            ReplaySource::Dir(&scrapes, ScrapeTimes::FileNames),
        ] {
            let options = ReplayOptions {
                flush: false,
                ..ReplayOptions::default()
            };
            let stats = db.replay(source, options).unwrap();
            assert!(stats.input.metadata_updates > 0);
        }
        let stats = db
            .import_text(
                b"# HELP imported_total Imported.\n# TYPE imported_total counter\nimported_total 1\n",
                &ImportOptions {
                    default_timestamp: 1_700_000_200_000,
                    ..ImportOptions::default()
                },
            )
            .unwrap();
        assert_eq!(stats.appended, 1);
        db.flush().unwrap();
    }
    let db = Db::open(&data, Options::default()).unwrap();
    let got = db.metadata().unwrap();
    let expected = [
        ("dir_metric", meta("gauge", "Second.", "")),
        ("gauge_only", meta("gauge", "", "")),
        ("imported_total", meta("counter", "Imported.", "")),
        (
            "om_latency_seconds",
            meta("histogram", "Latency.", "seconds"),
        ),
        ("req_total", meta("counter", "Requests \\ served.", "")),
        ("untyped_one", meta("unknown", "Just help.", "")),
    ];
    let got: Vec<(&str, MetricMetadata)> =
        got.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    assert_eq!(got, expected);
}
