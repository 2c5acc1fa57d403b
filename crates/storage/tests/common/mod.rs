//! Helpers shared by the storage integration tests: reading a whole database into a map.

#![allow(dead_code)]

use std::collections::BTreeMap;

use promlite_model::{Labels, MatchOp, Matcher, Queryable, SelectHints};
use promlite_storage::Db;

/// Every sample in `db` as `labels → [(t, value bits)]`.
pub fn dump(db: &Db) -> BTreeMap<Labels, Vec<(i64, u64)>> {
    dump_range(db, i64::MIN, i64::MAX)
}

/// Samples with `mint <= t <= maxt`.
pub fn dump_range(db: &Db, mint: i64, maxt: i64) -> BTreeMap<Labels, Vec<(i64, u64)>> {
    let q = db.querier(mint, maxt).unwrap();
    let all = Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap();
    let series = q
        .select(
            &SelectHints {
                start: mint,
                end: maxt,
                ..SelectHints::default()
            },
            &[all],
        )
        .unwrap();
    let mut out = BTreeMap::new();
    let mut prev: Option<Labels> = None;
    for mut s in series {
        if let Some(p) = &prev {
            assert!(*p < s.labels, "series not sorted: {p} then {}", s.labels);
        }
        prev = Some(s.labels.clone());
        let mut samples = Vec::new();
        s.samples.collect_range(mint, maxt, &mut samples).unwrap();
        let v: Vec<(i64, u64)> = samples.iter().map(|x| (x.t, x.v.to_bits())).collect();
        if !v.is_empty() {
            out.insert(s.labels, v);
        }
    }
    out
}

/// A series `{__name__="m", id="<id>"}`.
pub fn series(id: usize) -> Labels {
    Labels::from_pairs([("__name__", "m".to_string()), ("id", id.to_string())])
}
