//! Head unit tests: series registry, ordering rules, chunk cutting, postings, truncation.

use promlite_model::{Labels, MatchOp, Matcher, STALE_NAN};

use super::*;
use crate::db::{Db, Options};
use crate::reader::BlockReader;
use crate::wal::record::WalSample;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn mem_db() -> Db {
    Db::open_in_memory(Options {
        block_range: 1000,
        ..Options::default()
    })
}

#[test]
fn get_or_create_is_idempotent_and_interns_strings() {
    let head = Head::new(1000, false);
    let mut h = head.write();
    let a = labels(&[("__name__", "m"), ("pod", "p1")]);
    let b = labels(&[("__name__", "m"), ("pod", "p2")]);
    let (ra, created) = h.get_or_create(&a).unwrap();
    assert!(created);
    let (rb, _) = h.get_or_create(&b).unwrap();
    assert_ne!(ra, rb);
    assert_eq!(h.get_or_create(&a).unwrap(), (ra, false));
    // The metric name string is interned once for both series' postings.
    assert_eq!(h.symbols.iter().filter(|s| &***s == "m").count(), 1);
    assert_eq!(
        h.symbols.get("m").map(Arc::strong_count),
        Some(2),
        "symbols + postings key"
    );
    assert_eq!(h.series(ra).unwrap().labels, a);
    assert!(matches!(
        h.get_or_create(&Labels::empty()),
        Err(Error::EmptyLabels)
    ));
}

#[test]
fn hash_collisions_are_resolved_by_comparing_labels() {
    let head = Head::new(1000, false);
    let mut h = head.write();
    let a = labels(&[("a", "1")]);
    let b = labels(&[("b", "2")]);
    // Force both series under one hash, as a collision would.
    h.create_with_ref(0, &a, 42);
    h.create_with_ref(1, &b, 42);
    assert_eq!(h.lookup(&a, 42), Some(0));
    assert_eq!(h.lookup(&b, 42), Some(1));
    assert_eq!(h.lookup(&labels(&[("c", "3")]), 42), None);
    h.remove_series(0);
    assert_eq!(h.lookup(&b, 42), Some(1));
    assert_eq!(h.lookup(&a, 42), None);
}

#[test]
fn ordering_rules() {
    let db = mem_db();
    let s = labels(&[("__name__", "m")]);
    let mut app = db.appender();
    let r = app.append(&s, 100, 1.0).unwrap();
    app.commit().unwrap();
    // Older than the newest: rejected, naming the series and both timestamps.
    let err = app.append_ref(r, 99, 1.0).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            Error::OutOfOrder {
                t: 99,
                newest: 100,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("__name__=\"m\"") && msg.contains("99") && msg.contains("100"),
        "{msg}"
    );
    // Same timestamp, different value: error. Same bits: ignored.
    assert!(matches!(
        app.append_ref(r, 100, 2.0),
        Err(Error::DuplicateTimestamp { t: 100, .. })
    ));
    app.append_ref(r, 100, 1.0).unwrap();
    assert_eq!(app.pending(), 0);
    // Within one batch, order is checked against pending samples too.
    app.append_ref(r, 200, STALE_NAN).unwrap();
    assert!(matches!(
        app.append_ref(r, 150, 1.0),
        Err(Error::OutOfOrder { newest: 200, .. })
    ));
    app.append_ref(r, 200, STALE_NAN).unwrap();
    assert_eq!(app.pending(), 1);
    let stats = app.commit().unwrap();
    assert_eq!(stats.appended, 1);
    assert!(matches!(
        app.append_ref(12345, 1, 1.0),
        Err(Error::UnknownSeriesRef(12345))
    ));
}

#[test]
fn rollback_discards_pending_samples() {
    let db = mem_db();
    let s = labels(&[("__name__", "m")]);
    let mut app = db.appender();
    app.append(&s, 1, 1.0).unwrap();
    app.rollback();
    app.append(&s, 2, 2.0).unwrap();
    drop(app); // dropping rolls back too
    assert_eq!(db.head_stats().n_chunks, 0);
    assert_eq!(db.head_stats().n_series, 1);
}

#[test]
fn chunks_are_cut_at_aligned_ranges_and_when_full() {
    let head = Head::new(1000, false);
    let mut h = head.write();
    let (r, _) = h.get_or_create(&labels(&[("a", "b")])).unwrap();
    let samples: Vec<WalSample> = (0..300)
        .map(|i| WalSample {
            series_ref: r,
            t: i * 5,
            v: i as f64,
        })
        .collect();
    let mut stats = ApplyStats::default();
    h.apply(&samples, &mut stats);
    assert_eq!(stats.appended, 300);
    let mut chunks = Vec::new();
    h.series_chunks(r, i64::MIN, i64::MAX, &mut chunks).unwrap();
    // t = 0..1495 in steps of 5: 200 samples in [0, 1000), 100 in [1000, 1500).
    // 200 = 120 + 80 (full cut), then a range cut at 1000.
    let counts: Vec<u16> = chunks
        .iter()
        .map(|c| promlite_chunk::num_samples(c.data.as_slice()).unwrap())
        .collect();
    assert_eq!(counts, vec![120, 80, 100]);
    assert!(chunks.windows(2).all(|w| w[0].max_time < w[1].min_time));
    assert_eq!(chunks[1].max_time, 995);
    assert_eq!(chunks[2].min_time, 1000);
    assert_eq!(h.time_range(), (0, 1495));
}

#[test]
fn truncate_drops_old_chunks_and_collects_empty_series() {
    let head = Head::new(1000, false);
    let mut h = head.write();
    let (old, _) = h
        .get_or_create(&labels(&[("job", "old"), ("x", "only-old")]))
        .unwrap();
    let (live, _) = h.get_or_create(&labels(&[("job", "live")])).unwrap();
    let mut stats = ApplyStats::default();
    h.apply(
        &[
            WalSample {
                series_ref: old,
                t: 10,
                v: 1.0,
            },
            WalSample {
                series_ref: live,
                t: 20,
                v: 1.0,
            },
            WalSample {
                series_ref: live,
                t: 1500,
                v: 2.0,
            },
        ],
        &mut stats,
    );
    assert_eq!(h.truncate(1000, true), 1);
    assert!(h.series(old).is_none());
    assert_eq!(h.time_range(), (1500, 1500));
    assert_eq!(h.min_valid_time(), 1000);
    assert_eq!(h.label_values("job", &[]).unwrap(), vec!["live"]);
    assert_eq!(h.label_names(&[]).unwrap(), vec!["job"]);
    // The interned string only the removed series used is gone.
    assert!(!h.symbols.contains("only-old"));
    // Samples before the bound are now out of bounds.
    let mut stats = ApplyStats::default();
    h.apply(
        &[WalSample {
            series_ref: live,
            t: 999,
            v: 0.0,
        }],
        &mut stats,
    );
    assert_eq!(stats.out_of_bounds, 1);
}

#[test]
fn postings_and_label_queries_under_matchers() {
    let db = mem_db();
    let mut app = db.appender();
    for (ns, pod) in [("a", "p1"), ("a", "p2"), ("b", "p3")] {
        app.append(
            &labels(&[("__name__", "cpu"), ("ns", ns), ("pod", pod)]),
            1,
            1.0,
        )
        .unwrap();
    }
    app.append(&labels(&[("__name__", "mem"), ("ns", "a")]), 1, 1.0)
        .unwrap();
    app.commit().unwrap();
    let h = db.head().read();
    let ns_a = [Matcher::equal("ns", "a")];
    assert_eq!(h.label_values("pod", &ns_a).unwrap(), vec!["p1", "p2"]);
    assert_eq!(
        h.label_names(&[Matcher::equal("__name__", "mem")]).unwrap(),
        vec!["__name__", "ns"]
    );
    let no_pod = [Matcher::equal("pod", "")];
    let refs = h.sorted_postings(&h.postings(&no_pod).unwrap()).unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(h.series_labels(refs[0]).unwrap().metric_name(), Some("mem"));
    let re = [Matcher::new(MatchOp::Regex, "pod", "p[12]").unwrap()];
    let sorted: Vec<String> = h
        .sorted_postings(&h.postings(&re).unwrap())
        .unwrap()
        .into_iter()
        .map(|r| h.series_labels(r).unwrap().get("pod").unwrap().to_string())
        .collect();
    assert_eq!(sorted, vec!["p1", "p2"]);
}
