//! Model-based property test: random appends (by labels and by ref, including out-of-order,
//! duplicate and conflicting samples), commits, rollbacks, compactions, full flushes and reopens,
//! checked against an in-memory `BTreeMap` model after every step that changes visible state.

mod common;

use std::collections::BTreeMap;

use common::{dump, series};
use promlite_model::{Labels, STALE_NAN};
use promlite_storage::{Db, Error, Options, SeriesRef, WalSync};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Append to series `series` at `last + dt` (dt may be negative or zero).
    Append {
        series: usize,
        dt: i64,
        value: u8,
        by_ref: bool,
    },
    Commit,
    Rollback,
    Compact,
    CompactAll,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..6usize, -3..400i64, 0..4u8, any::<bool>())
            .prop_map(|(series, dt, value, by_ref)| Op::Append { series, dt, value, by_ref }),
        4 => Just(Op::Commit),
        1 => Just(Op::Rollback),
        1 => Just(Op::Compact),
        1 => Just(Op::CompactAll),
        1 => Just(Op::Reopen),
    ]
}

fn value(kind: u8, t: i64) -> f64 {
    match kind {
        0 => t as f64,
        1 => 1.0,
        2 => STALE_NAN,
        _ => f64::NAN,
    }
}

#[derive(Default)]
struct Model {
    committed: BTreeMap<Labels, Vec<(i64, u64)>>,
    pending: Vec<(Labels, i64, u64)>,
    /// Pending samples a compaction made out of bounds; the commit drops them.
    doomed: u64,
}

impl Model {
    fn last(&self, l: &Labels) -> Option<(i64, u64)> {
        let pending = self
            .pending
            .iter()
            .rev()
            .find(|(x, _, _)| x == l)
            .map(|(_, t, v)| (*t, *v));
        pending.or_else(|| self.committed.get(l).and_then(|v| v.last().copied()))
    }

    fn commit(&mut self) -> u64 {
        let n = self.pending.len() as u64;
        for (l, t, v) in self.pending.drain(..) {
            self.committed.entry(l).or_default().push((t, v));
        }
        n
    }
}

fn opts() -> Options {
    Options {
        block_range: 1000,
        wal_sync: WalSync::Never,
        auto_compact: false,
        wal_segment_size: 4096,
        ..Options::default()
    }
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    let mut model = Model::default();
    let mut refs: BTreeMap<usize, SeriesRef> = BTreeMap::new();
    let mut clock: i64 = 0;
    for op in ops {
        match op {
            Op::Append {
                series: s,
                dt,
                value: kind,
                by_ref,
            } => {
                let labels = series(s);
                let min_valid = db.head_stats().min_valid_time;
                let base = model.last(&labels).map_or(clock, |(t, _)| t);
                let t = base + dt;
                clock = clock.max(t);
                let v = value(kind, t);
                let result = match (by_ref, refs.get(&s)) {
                    (true, Some(&r)) => match app.append_ref(r, t, v) {
                        Err(Error::UnknownSeriesRef(_)) => {
                            // Only a series with nothing left in the head may be collected.
                            let last = model
                                .committed
                                .get(&labels)
                                .and_then(|v| v.last())
                                .map(|x| x.0);
                            assert!(
                                last.is_none_or(|lt| lt < min_valid),
                                "live series {labels} collected"
                            );
                            app.append(&labels, t, v).map(|r2| {
                                refs.insert(s, r2);
                            })
                        }
                        other => other,
                    },
                    _ => app.append(&labels, t, v).map(|r| {
                        refs.insert(s, r);
                    }),
                };
                let expected_last = model.last(&labels);
                match result {
                    Ok(()) => {
                        assert!(t >= min_valid, "accepted t={t} below bound {min_valid}");
                        match expected_last {
                            Some((lt, lv)) if t == lt => {
                                assert_eq!(lv, v.to_bits(), "conflicting duplicate accepted")
                            }
                            Some((lt, _)) => {
                                assert!(t > lt, "out-of-order accepted");
                                model.pending.push((labels, t, v.to_bits()));
                            }
                            None => model.pending.push((labels, t, v.to_bits())),
                        }
                    }
                    Err(Error::OutOfBounds {
                        t: et,
                        min_valid: mv,
                        ..
                    }) => {
                        assert_eq!((et, mv), (t, min_valid));
                        assert!(t < min_valid);
                    }
                    Err(Error::OutOfOrder { t: et, newest, .. }) => {
                        assert_eq!(Some(newest), expected_last.map(|x| x.0));
                        assert!(et < newest);
                    }
                    Err(Error::DuplicateTimestamp { t: et, .. }) => {
                        let (lt, lv) = expected_last.unwrap();
                        assert_eq!(et, lt);
                        assert_ne!(lv, v.to_bits());
                    }
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            Op::Commit => {
                let stats = app.commit().unwrap();
                assert_eq!(stats.appended, model.commit());
                assert_eq!(stats.out_of_bounds, std::mem::take(&mut model.doomed));
                assert_eq!(stats.dropped(), stats.out_of_bounds);
                assert_eq!(dump(&db), model.committed);
            }
            Op::Rollback => {
                app.rollback();
                model.pending.clear();
                model.doomed = 0;
            }
            Op::Compact | Op::CompactAll => {
                if matches!(op, Op::Compact) {
                    db.compact().unwrap();
                } else {
                    db.compact_all().unwrap();
                }
                let min_valid = db.head_stats().min_valid_time;
                let before = model.pending.len();
                model.pending.retain(|(_, t, _)| *t >= min_valid);
                model.doomed += (before - model.pending.len()) as u64;
                assert_eq!(dump(&db), model.committed);
            }
            Op::Reopen => {
                drop(app);
                drop(db);
                model.pending.clear();
                model.doomed = 0;
                db = Db::open(dir.path(), opts()).unwrap();
                app = db.appender();
                refs.clear();
                assert_eq!(dump(&db), model.committed);
            }
        }
    }
    app.commit().unwrap();
    model.commit();
    assert_eq!(dump(&db), model.committed);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn storage_matches_model(ops in proptest::collection::vec(op(), 1..120)) {
        run(ops);
    }
}

/// Regression: flush, then append to a series whose ref was collected, then reopen.
#[test]
fn flush_then_collected_ref_then_reopen() {
    run(vec![
        Op::Append {
            series: 0,
            dt: 10,
            value: 0,
            by_ref: false,
        },
        Op::Commit,
        Op::CompactAll,
        Op::Append {
            series: 0,
            dt: 5,
            value: 1,
            by_ref: true,
        },
        Op::Commit,
        Op::Reopen,
        Op::Append {
            series: 0,
            dt: 1,
            value: 2,
            by_ref: false,
        },
        Op::Commit,
    ]);
}

/// Regression (found by the proptest): a pending sample made out of bounds by a compaction,
/// then a commit and a reopen.
#[test]
fn compaction_with_pending_out_of_bounds_sample_then_reopen() {
    let ap = |series, dt, value, by_ref| Op::Append {
        series,
        dt,
        value,
        by_ref,
    };
    run(vec![
        ap(4, 210, 0, false),
        ap(4, 98, 0, false),
        ap(0, 329, 2, true),
        ap(2, 365, 0, false),
        Op::Commit,
        ap(3, 377, 2, true),
        ap(5, 121, 0, true),
        ap(4, 158, 1, true),
        Op::Commit,
        ap(4, 189, 3, true),
        Op::Compact,
        Op::Commit,
        Op::Reopen,
    ]);
}
