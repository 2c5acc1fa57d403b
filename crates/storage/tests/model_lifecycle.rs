//! Model-based property test of the storage lifecycle: random appends anywhere in time (the
//! head takes what it accepts, older samples are backfilled into overlapping blocks),
//! commits, compactions, leveled and vertical merges, retention, reopens and read-only opens,
//! checked against an in-memory `BTreeMap` after every step.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{dump, series};
use promlite_model::Labels;
use promlite_storage::{Db, Error, Options, WalSync};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Append to `series` at `t` (any time: before, inside or after what is stored).
    Append {
        series: usize,
        t: i64,
    },
    Commit,
    CompactAll,
    Reopen,
    /// Open read-only beside the writer and compare.
    ReadOnly,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        14 => (0..4usize, 0..40_000i64).prop_map(|(series, t)| Op::Append { series, t }),
        4 => Just(Op::Commit),
        2 => Just(Op::CompactAll),
        1 => Just(Op::Reopen),
        1 => Just(Op::ReadOnly),
    ]
}

/// Values are a function of (series, t), so a sample written twice (head and backfill, or two
/// backfills) is always an identical duplicate.
fn value(series: usize, t: i64) -> f64 {
    (t * 10 + series as i64) as f64
}

type Samples = BTreeMap<Labels, Vec<(i64, u64)>>;

fn opts(retention: Option<Duration>) -> Options {
    Options {
        block_range: 1000,
        wal_sync: WalSync::Never,
        wal_segment_size: 4096,
        retention_time: retention,
        ..Options::default()
    }
}

/// The model after retention: blocks are deleted whole, so the model cannot predict which
/// samples a retention run keeps; it is applied by dropping, from the model, every sample the
/// database no longer has *and* that is older than the retention cutoff, and requiring the rest.
fn reconcile_retention(model: &mut Samples, got: &Samples, cutoff: Option<i64>) {
    let Some(cutoff) = cutoff else { return };
    for (labels, samples) in model.iter_mut() {
        let have = got.get(labels).cloned().unwrap_or_default();
        samples.retain(|s| s.0 >= cutoff || have.contains(s));
    }
    model.retain(|_, v| !v.is_empty());
}

fn run(ops: Vec<Op>, retention: Option<Duration>) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(dir.path(), opts(retention)).unwrap();
    let mut app = db.appender();
    let mut backfill = db.backfiller();
    let mut model: Samples = BTreeMap::new();
    // (labels, t, value bits, went to the head rather than the backfill)
    let mut pending: Vec<(Labels, i64, u64, bool)> = Vec::new();
    // Pending head samples a compaction made out of bounds: the commit drops and counts them.
    let mut doomed = 0u64;
    let check = |db: &Db, model: &mut Samples| {
        let got = dump(db);
        let newest = got.values().flat_map(|v| v.iter().map(|s| s.0)).max();
        let cutoff = retention.and_then(|r| newest.map(|n| n - r.as_millis() as i64));
        reconcile_retention(model, &got, cutoff);
        assert_eq!(&got, model);
    };
    for op in ops {
        match op {
            Op::Append { series: s, t } => {
                let labels = series(s);
                let v = value(s, t);
                let result = match app.append(&labels, t, v) {
                    Ok(_) => Ok(true),
                    Err(Error::OutOfOrder { .. } | Error::OutOfBounds { .. })
                        if t < db.backfill_boundary() =>
                    {
                        backfill.append(&labels, t, v).map(|()| false)
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(to_head) => pending.push((labels, t, v.to_bits(), to_head)),
                    // Inside the head's range and older than the series' newest sample.
                    Err(Error::OutOfOrder { .. }) => assert!(t >= db.backfill_boundary()),
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            Op::Commit => {
                backfill.commit().unwrap();
                let stats = app.commit().unwrap();
                assert_eq!(
                    stats.out_of_bounds,
                    std::mem::take(&mut doomed),
                    "{stats:?}"
                );
                assert_eq!(stats.dropped(), stats.out_of_bounds, "{stats:?}");
                for (l, t, v, _) in pending.drain(..) {
                    let samples = model.entry(l).or_default();
                    if let Err(pos) = samples.binary_search_by_key(&t, |s| s.0) {
                        samples.insert(pos, (t, v));
                    }
                }
                backfill = db.backfiller();
                check(&db, &mut model);
            }
            Op::CompactAll => {
                // Pending backfill samples stay valid (the commit writes the backfill first);
                // pending head samples below the raised bound are dropped by the commit, which
                // reports them (as in tests/model.rs).
                db.compact_all().unwrap();
                let min_valid = db.head_stats().min_valid_time;
                let before = pending.len();
                pending.retain(|(_, t, _, to_head)| !*to_head || *t >= min_valid);
                doomed += (before - pending.len()) as u64;
                check(&db, &mut model);
            }
            Op::Reopen => {
                drop(app);
                drop(backfill);
                drop(db);
                pending.clear();
                doomed = 0;
                db = Db::open(dir.path(), opts(retention)).unwrap();
                app = db.appender();
                backfill = db.backfiller();
                check(&db, &mut model);
            }
            Op::ReadOnly => {
                let reader = Db::open_read_only(dir.path(), opts(retention)).unwrap();
                assert_eq!(dump(&reader), dump(&db));
            }
        }
        // Overlaps never survive a merge pass: after any compaction the blocks are disjoint.
    }
    backfill.commit().unwrap();
    app.commit().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn lifecycle_matches_model(ops in proptest::collection::vec(op(), 1..100)) {
        run(ops, None);
    }

    // With retention: retention deleting a block whose samples are still in a WAL segment
    // that cannot be truncated yet used to let a reopen or read-only open replay them again
    // (tests/retention_replay.rs); `wal/bounds` now records the bound first.
    #[test]
    fn lifecycle_with_retention_matches_model(ops in proptest::collection::vec(op(), 1..100)) {
        run(ops, Some(Duration::from_millis(5000)));
    }
}
