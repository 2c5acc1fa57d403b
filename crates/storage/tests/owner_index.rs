//! The owner index's value runs, built at ingest, equal the runs computed from the decoded
//! samples: in the head, after compaction into blocks, across blocks and head, and after
//! reopening (WAL replay rebuilds the head's runs; blocks build theirs on first use).

use std::collections::BTreeMap;

use promlite_model::{
    is_stale_nan, Labels, MatchOp, Matcher, Queryable, Sample, SelectHints, ValueRun, STALE_NAN,
};
use promlite_storage::{Db, Options, WalSync};
use proptest::prelude::*;

const SPLIT_GAP: i64 = 100;

fn opts() -> Options {
    Options {
        block_range: 1000,
        wal_sync: WalSync::Never,
        auto_compact: false,
        owner_index_metrics: vec!["kube_pod_owner".into(), "kube_replicaset_owner".into()],
        owner_index_split_gap: SPLIT_GAP,
        ..Options::default()
    }
}

fn owner(pod: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "kube_pod_owner".to_string()),
        ("namespace", "ns".to_string()),
        ("pod", format!("pod-{pod}")),
    ])
}

/// The runs of `samples`, computed independently of the storage code: maximal groups of
/// consecutive non-stale samples with equal bits and gaps of at most `SPLIT_GAP`.
fn naive_runs(samples: &[Sample]) -> Vec<ValueRun> {
    let mut out: Vec<ValueRun> = Vec::new();
    let mut prev: Option<Sample> = None;
    for &s in samples {
        let extends = prev.is_some_and(|p| {
            !is_stale_nan(p.v)
                && p.v.to_bits() == s.v.to_bits()
                && s.t - p.t <= SPLIT_GAP
                && out.last().is_some_and(|r| r.last == p.t)
        });
        if is_stale_nan(s.v) {
            if let (Some(p), Some(r)) = (prev, out.last_mut()) {
                if r.last == p.t && !is_stale_nan(p.v) {
                    r.stale_at = Some(s.t);
                }
            }
        } else if extends {
            let r = out.last_mut().unwrap();
            r.max_gap = r.max_gap.max(s.t - r.last);
            r.last = s.t;
        } else {
            out.push(ValueRun {
                first: s.t,
                last: s.t,
                max_gap: 0,
                value: s.v,
                stale_at: None,
            });
        }
        prev = Some(s);
    }
    out
}

/// Joins runs that storage split at block boundaries back into maximal runs (consecutive runs
/// with equal values, no marker between and a gap within the split gap).
fn normalize(runs: &[ValueRun]) -> Vec<ValueRun> {
    let mut out: Vec<ValueRun> = Vec::new();
    for &r in runs {
        match out.last_mut() {
            Some(p)
                if p.stale_at.is_none()
                    && p.value.to_bits() == r.value.to_bits()
                    && r.first - p.last <= SPLIT_GAP =>
            {
                p.max_gap = p.max_gap.max(r.max_gap).max(r.first - p.last);
                p.last = r.last;
                p.stale_at = r.stale_at;
            }
            _ => out.push(r),
        }
    }
    out
}

/// Compares runs; storage's `max_gap` may be an upper bound (after the head dropped chunks).
fn same_runs(got: &[ValueRun], want: &[ValueRun]) -> Result<(), String> {
    let key = |r: &ValueRun| (r.first, r.last, r.value.to_bits(), r.stale_at);
    let ok = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| key(g) == key(w) && g.max_gap >= w.max_gap && g.max_gap <= SPLIT_GAP);
    if ok {
        Ok(())
    } else {
        Err(format!("got {got:?}\nwant {want:?}"))
    }
}

fn select_runs(db: &Db, lo: i64, hi: i64) -> BTreeMap<Labels, Vec<ValueRun>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let hints = SelectHints {
        start: lo,
        end: hi,
        ..SelectHints::default()
    };
    let got = q
        .select_runs(&hints, &[Matcher::equal("__name__", "kube_pod_owner")])
        .unwrap()
        .expect("kube_pod_owner is indexed");
    assert!(got.windows(2).all(|w| w[0].labels < w[1].labels));
    got.into_iter().map(|s| (s.labels, s.runs)).collect()
}

/// Checks every series' runs over the whole time range against its samples.
fn check_all(db: &Db, data: &BTreeMap<Labels, Vec<Sample>>) -> Result<(), TestCaseError> {
    let got = select_runs(db, i64::MIN, i64::MAX);
    for (labels, samples) in data {
        let want = naive_runs(samples);
        let runs = got.get(labels).cloned().unwrap_or_default();
        same_runs(&normalize(&runs), &want)
            .map_err(|e| TestCaseError::fail(format!("{labels}: {e}")))?;
    }
    prop_assert!(got.keys().all(|l| data.contains_key(l)));
    Ok(())
}

/// Samples for a few owner series: random gaps (some longer than the split gap), value changes
/// and staleness markers.
fn cluster() -> impl Strategy<Value = Vec<Vec<(i64, u8)>>> {
    prop::collection::vec(
        prop::collection::vec((prop_oneof![8 => 1..40i64, 1 => 90..400i64], 0..8u8), 0..80),
        1..5,
    )
}

fn value(kind: u8) -> f64 {
    match kind {
        0 => STALE_NAN,
        1 => 2.0,
        _ => 1.0,
    }
}

fn samples_of(steps: &[(i64, u8)]) -> Vec<Sample> {
    let mut t = 0;
    steps
        .iter()
        .map(|&(gap, kind)| {
            t += gap;
            Sample::new(t, value(kind))
        })
        .collect()
}

fn append(db: &Db, data: &BTreeMap<Labels, Vec<Sample>>, from: i64, to: i64) {
    let mut app = db.appender();
    for (labels, samples) in data {
        for s in samples.iter().filter(|s| s.t >= from && s.t < to) {
            app.append(labels, s.t, s.v).unwrap();
        }
    }
    // A series that is not indexed is not returned.
    let up = Labels::from_pairs([("__name__", "up")]);
    app.append(&up, from.max(0) + 1, 1.0).unwrap_or_default();
    app.commit().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn runs_equal_runs_of_decoded_samples(cluster in cluster(), split in 0..4000i64, lo in 0..3000i64, width in 0..3000i64) {
        let data: BTreeMap<Labels, Vec<Sample>> = cluster
            .iter()
            .enumerate()
            .map(|(i, steps)| (owner(i), samples_of(steps)))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Db::open(dir.path(), opts()).unwrap();
            // Head only.
            append(&db, &data, i64::MIN, split);
            let head_part: BTreeMap<Labels, Vec<Sample>> = data
                .iter()
                .map(|(l, s)| (l.clone(), s.iter().copied().filter(|s| s.t < split).collect::<Vec<_>>()))
                .filter(|(_, s)| !s.is_empty())
                .collect();
            check_all(&db, &head_part)?;
            // A window: exactly the runs with a sample possibly inside it.
            let hi = lo + width;
            let got = select_runs(&db, lo, hi);
            for (labels, samples) in &head_part {
                let want: Vec<ValueRun> = naive_runs(samples)
                    .into_iter()
                    .filter(|r| r.last >= lo && r.first <= hi)
                    .collect();
                let runs = got.get(labels).cloned().unwrap_or_default();
                same_runs(&runs, &want).map_err(|e| TestCaseError::fail(format!("window {lo}..{hi} {labels}: {e}")))?;
            }
            // Everything into blocks, then the rest into the head: blocks and head together.
            db.compact_all().unwrap();
            check_all(&db, &head_part)?;
            append(&db, &data, split, i64::MAX);
            check_all(&db, &data)?;
        }
        // Reopen: blocks from disk, the head from the WAL.
        let db = Db::open(dir.path(), opts()).unwrap();
        check_all(&db, &data)?;
        // Compact again with data left in the head (the head drops chunks and cuts its runs).
        drop(db);
        let db = Db::open(dir.path(), Options { auto_compact: true, ..opts() }).unwrap();
        db.compact().unwrap();
        check_all(&db, &data)?;
    }
}

#[test]
fn marker_at_the_start_of_the_head_ends_the_last_block_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    for k in 0..10 {
        app.append(&owner(0), k * 15, 1.0).unwrap();
    }
    app.commit().unwrap();
    db.compact_all().unwrap();
    let mut app = db.appender();
    app.append(&owner(0), 150, STALE_NAN).unwrap();
    app.commit().unwrap();
    let got = select_runs(&db, 0, 1000);
    let runs = &got[&owner(0)];
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].first, runs[0].last, runs[0].stale_at),
        (0, 135, Some(150))
    );
}

#[test]
fn unindexed_selections_fall_back() {
    let db = Db::open_in_memory(opts());
    let mut app = db.appender();
    app.append(&owner(0), 0, 1.0).unwrap();
    let info = Labels::from_pairs([("__name__", "kube_pod_info"), ("pod", "pod-0")]);
    app.append(&info, 0, 1.0).unwrap();
    app.commit().unwrap();
    let q = db.querier(0, 10).unwrap();
    let hints = SelectHints {
        start: 0,
        end: 10,
        ..SelectHints::default()
    };
    // Not in this database's list.
    let info_sel = [Matcher::equal("__name__", "kube_pod_info")];
    assert_eq!(q.select_runs(&hints, &info_sel).unwrap(), None);
    // Not restricted by name equality.
    let re = [Matcher::new(MatchOp::Regex, "__name__", "kube_pod_owner|x").unwrap()];
    assert_eq!(q.select_runs(&hints, &re).unwrap(), None);
    let by_pod = [Matcher::equal("pod", "pod-0")];
    assert_eq!(q.select_runs(&hints, &by_pod).unwrap(), None);
    // Indexed, with an extra matcher.
    let sel = [
        Matcher::equal("__name__", "kube_pod_owner"),
        Matcher::equal("pod", "pod-0"),
    ];
    let got = q.select_runs(&hints, &sel).unwrap().expect("indexed");
    assert_eq!(got.len(), 1);
    // The default list indexes kube_pod_info.
    let db = Db::open_in_memory(Options::default());
    let mut app = db.appender();
    app.append(&info, 0, 1.0).unwrap();
    app.commit().unwrap();
    let q = db.querier(0, 10).unwrap();
    assert_eq!(
        q.select_runs(&hints, &info_sel).unwrap().map(|v| v.len()),
        Some(1)
    );
}
