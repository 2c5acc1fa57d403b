//! The facade's errors carry Prometheus's error classification and useful context.

use promlite::{Db, Error, Labels, Options, QueryOptions};

#[test]
fn query_errors_are_classified_like_prometheus() {
    let db = Db::in_memory();
    let mut app = db.appender();
    for i in 0..50 {
        app.append(
            &Labels::from_pairs([("__name__", "m"), ("i", &*i.to_string())]),
            1_000,
            1.0,
        )
        .unwrap();
    }
    app.commit().unwrap();

    assert_eq!(db.query("m{", 1_000).unwrap_err().error_type(), "bad_data");
    let tight = QueryOptions {
        max_samples: Some(10),
        ..QueryOptions::default()
    };
    let err = db.query_with("m", 1_000, &tight).unwrap_err();
    assert_eq!(err.error_type(), "execution", "{err}");
    let instant = QueryOptions {
        timeout: Some(std::time::Duration::ZERO),
        ..QueryOptions::default()
    };
    let err = db.query_with("sum(m)", 1_000, &instant).unwrap_err();
    assert_eq!(err.error_type(), "timeout", "{err}");
    let err = db
        .query_range("m", 10, 0, std::time::Duration::from_secs(1))
        .unwrap_err();
    assert_eq!(err.error_type(), "bad_data", "{err}");
    let err = db
        .query_range("m", 0, 10, std::time::Duration::ZERO)
        .unwrap_err();
    assert_eq!(err.error_type(), "bad_data", "{err}");
}

#[test]
fn selector_errors_name_the_selector() {
    let db = Db::in_memory();
    let err = db.series(&["up{job="], 0, 1).unwrap_err();
    assert!(
        matches!(&err, Error::Selector { selector, .. } if selector == "up{job="),
        "{err:?}"
    );
    assert_eq!(err.error_type(), "bad_data");
    let err = db.label_names(&["rate(up[5m])"], 0, 1).unwrap_err();
    assert!(matches!(&err, Error::NotASelector { .. }), "{err:?}");
}

#[test]
fn a_locked_or_missing_input_is_a_storage_or_replay_error() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Db::open(dir.path(), Options::default()).unwrap();
    let err = Db::open(dir.path(), Options::default()).unwrap_err();
    assert!(matches!(err, Error::Storage(_)), "{err:?}");
    assert_eq!(err.error_type(), "internal");

    let db = Db::in_memory();
    let missing = dir.path().join("nope.om");
    let err = db.replay_file(&missing).unwrap_err();
    assert!(matches!(err, Error::Replay(_)), "{err:?}");
    assert!(err.to_string().contains("nope.om"), "{err}");

    let bad = dir.path().join("bad.prom");
    std::fs::write(&bad, "ok_metric 1 1000\nbroken{ 2 2000\n").unwrap();
    let err = db.replay_file(&bad).unwrap_err();
    assert!(err.to_string().contains("bad.prom:2:"), "{err}");
    // Lenient replay skips the line and keeps the rest.
    let options = promlite::ReplayOptions {
        lenient: true,
        ..promlite::ReplayOptions::default()
    };
    let db = Db::in_memory();
    let stats = db
        .replay(promlite::ReplaySource::File(&bad), options)
        .unwrap();
    assert_eq!((stats.input.samples, stats.input.skipped_lines), (1, 1));
}
