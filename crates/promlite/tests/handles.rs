//! Handles are shared across threads: concurrent appenders and queries on clones of one `Db`.

use std::time::Duration;

use promlite::{Db, Labels, Value};

#[test]
fn clones_share_data_across_threads() {
    let db = Db::in_memory();
    let writers: Vec<_> = (0..4)
        .map(|worker| {
            let db = db.clone();
            std::thread::spawn(move || {
                let labels = Labels::from_pairs([
                    ("__name__", "work_done"),
                    ("worker", &*worker.to_string()),
                ]);
                let mut app = db.appender();
                for i in 0..100 {
                    app.append(&labels, i * 1000, i as f64).unwrap();
                    if i % 10 == 9 {
                        app.commit().unwrap();
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || db.query("sum(work_done)", 99_000).unwrap().value)
        })
        .collect();
    for r in readers {
        assert_eq!(
            r.join().unwrap(),
            Value::Vector(vec![promlite::InstantSample {
                labels: Labels::empty(),
                t: 99_000,
                v: 4.0 * 99.0
            }])
        );
    }
    let out = db
        .query_range("count(work_done)", 0, 99_000, Duration::from_secs(33))
        .unwrap();
    let Value::Matrix(m) = out.value else {
        panic!("matrix expected")
    };
    assert_eq!(
        m[0].samples.iter().map(|s| s.v).collect::<Vec<_>>(),
        [4.0; 4]
    );
}

#[test]
fn appender_rejects_out_of_order_and_rollback_discards() {
    let db = Db::in_memory();
    let labels = Labels::from_pairs([("__name__", "x")]);
    let mut app = db.appender();
    let series = app.append(&labels, 10_000, 1.0).unwrap();
    app.commit().unwrap();
    let err = app.append_ref(series, 5_000, 2.0).unwrap_err();
    assert!(matches!(err, promlite::Error::Storage(_)), "{err:?}");
    app.append_ref(series, 20_000, 3.0).unwrap();
    assert_eq!(app.pending(), 1);
    app.rollback();
    assert_eq!(app.pending(), 0);
    let out = db.query("x", 25_000).unwrap();
    assert!(
        matches!(&out.value, Value::Vector(v) if v.len() == 1 && v[0].v == 1.0),
        "{:?}",
        out.value
    );
}
