//! Replay with a scrape target: target labels under honor_labels rules, honor_timestamps,
//! and the synthetic scrape series per scrape of a directory; `target.yml` is not a scrape.

use promlite::{Db, Labels, ReplayOptions, ReplaySource, ReplayTarget, ScrapeTimes, Value};

fn instant(db: &Db, query: &str, t: i64) -> Vec<(String, f64)> {
    let Value::Vector(v) = db.query(query, t).unwrap().value else {
        panic!("not a vector")
    };
    v.iter().map(|s| (s.labels.to_string(), s.v)).collect()
}

#[test]
fn directory_replay_attaches_target_labels_and_scrape_series() {
    let dir = tempfile::tempdir().unwrap();
    let scrapes = dir.path().join("scrapes");
    std::fs::create_dir(&scrapes).unwrap();
    std::fs::write(
        scrapes.join("1700000000000.prom"),
        "a{job=\"inner\"} 1\nb 2\n",
    )
    .unwrap();
    std::fs::write(scrapes.join("1700000015000.prom"), "a{job=\"inner\"} 3\n").unwrap();
    // A target file is skipped by the replayer (the CLI reads it).
    std::fs::write(
        scrapes.join(promlite::TARGET_FILE_NAME),
        "labels: {job: node}\n",
    )
    .unwrap();
    let db = Db::in_memory();
    let target = ReplayTarget {
        labels: Labels::from_pairs([("job", "node"), ("instance", "host:9100")]),
        scrape_series: true,
        ..ReplayTarget::default()
    };
    let stats = db
        .replay(
            ReplaySource::Dir(&scrapes, ScrapeTimes::FileNames),
            ReplayOptions {
                target: Some(target.clone()),
                ..ReplayOptions::default()
            },
        )
        .unwrap();
    assert_eq!(
        (
            stats.input.files,
            stats.input.samples,
            stats.input.stale_markers
        ),
        (2, 3, 1)
    );
    assert_eq!(stats.input.scrape_series_samples, 6);
    assert_eq!(
        instant(&db, "a", 1_700_000_015_000),
        [(
            "{__name__=\"a\", exported_job=\"inner\", instance=\"host:9100\", job=\"node\"}"
                .to_string(),
            3.0
        )]
    );
    assert_eq!(
        instant(&db, "sum by (instance) (up)", 1_700_000_015_000),
        [("{instance=\"host:9100\"}".to_string(), 1.0)]
    );
    assert_eq!(
        instant(&db, "scrape_samples_scraped", 1_700_000_000_000)[0].1,
        2.0
    );
    // b vanished in the second scrape: its marker carries the target labels too.
    assert!(instant(&db, "b", 1_700_000_015_000).is_empty());
    assert_eq!(instant(&db, "b{job=\"node\"}", 1_700_000_014_999).len(), 1);

    // honor_labels keeps the scraped job.
    let db = Db::in_memory();
    db.replay(
        ReplaySource::Dir(&scrapes, ScrapeTimes::FileNames),
        ReplayOptions {
            target: Some(ReplayTarget {
                honor_labels: true,
                ..target
            }),
            ..ReplayOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        instant(&db, "a", 1_700_000_015_000)[0].0,
        "{__name__=\"a\", instance=\"host:9100\", job=\"inner\"}"
    );
}
