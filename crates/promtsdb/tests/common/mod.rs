//! Shared pieces of the integration tests: cluster data sets, Prometheus on loopback, and the
//! workload compared between two engines.
#![allow(dead_code)] // each test file uses a subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use promlite_bench::answer::{compare, QueryResult, Verdict};
use promlite_bench::engine::Engine;
use promlite_bench::prometheus::{Prometheus, PrometheusConfig};
use promlite_bench::workload::{self, WorkloadQuery};
use promlite_cluster::ClusterSpec;
use promlite_model::{Labels, Queryable, Sample, SelectHints};

/// The cluster spec of a preset and style (`legacy` or `modern`).
pub fn spec(size: &str, style: &str) -> ClusterSpec {
    promlite_bench::dataset::spec_for(size, style, Some(1)).unwrap()
}

/// A promlite database on disk holding the cluster, flushed into blocks.
pub fn promlite_with(dir: &Path, spec: &ClusterSpec) -> promlite::Db {
    let db = promlite::Db::open(dir, promlite::Options::default()).unwrap();
    ingest_cluster(&db, spec);
    db
}

/// Appends the cluster to `db` and flushes it into blocks.
pub fn ingest_cluster(db: &promlite::Db, spec: &ClusterSpec) {
    let cluster = promlite_cluster::Cluster::build(spec).unwrap();
    promlite_bench::promlite_engine::ingest(db, &cluster).unwrap();
    db.flush().unwrap();
}

/// The Prometheus binaries, or `None` after a loud skip (a panic under
/// `PROMLITE_REQUIRE_ORACLES=1`).
pub fn prometheus_config(test: &str) -> Option<PrometheusConfig> {
    let prometheus = promlite_testkit::oracle_binary("prometheus", test)?;
    let promtool = promlite_testkit::oracle_binary("promtool", test)?;
    Some(PrometheusConfig {
        prometheus,
        promtool,
        ready_timeout: std::time::Duration::from_secs(120),
        ..PrometheusConfig::default()
    })
}

/// Starts Prometheus 2.42 on `data_dir` (127.0.0.1, a free port); it is stopped by PID when
/// dropped.
pub fn start_prometheus(config: &PrometheusConfig, data_dir: &Path, work_dir: &Path) -> Prometheus {
    std::fs::create_dir_all(work_dir).unwrap();
    Prometheus::start(config, data_dir, work_dir).unwrap().0
}

/// The workload queries of `style`.
pub fn workload(style: &str) -> Vec<WorkloadQuery> {
    let dir = promlite_testkit::workspace_root().join("testdata/workload");
    workload::select(workload::load(&dir).unwrap(), style, &[])
}

/// Runs every query as an instant query at four times and as a range query on both engines;
/// returns the mismatches and the number of non-empty answers compared.
pub fn compare_workload(
    spec: &ClusterSpec,
    queries: &[WorkloadQuery],
    expected: &mut dyn Engine,
    actual: &mut dyn Engine,
) -> (Vec<String>, usize) {
    let times = promlite_bench::times(spec, 60_000).unwrap();
    let instants = [
        times.start + 60_000,
        (times.start + times.instant) / 2,
        times.instant - 120_000,
        times.instant,
    ];
    let mut mismatches = Vec::new();
    let mut non_empty = 0;
    let mut check = |name: String, a: QueryResult, b: QueryResult| {
        let (a, b) = (a.normalise(), b.normalise());
        if a.n_points() > 0 {
            non_empty += 1;
        }
        if let Verdict::Differs(why) = compare(&a, &b, 1e-9) {
            mismatches.push(format!("{name}: {why}"));
        }
    };
    for q in queries {
        for t in instants {
            let a = expected.instant_query(&q.query, t).unwrap().result;
            let b = actual.instant_query(&q.query, t).unwrap().result;
            check(format!("{} @ {t}", q.name), a, b);
        }
        let a = expected
            .range_query(&q.query, times.start, times.end, times.step)
            .unwrap()
            .result;
        let b = actual
            .range_query(&q.query, times.start, times.end, times.step)
            .unwrap()
            .result;
        check(format!("{} range", q.name), a, b);
    }
    (mismatches, non_empty)
}

/// Every series of `db` with its samples as `(t, bits)`.
pub fn db_samples(db: &promlite::Db) -> BTreeMap<Labels, Vec<(i64, u64)>> {
    let Some((lo, hi)) = db.time_range() else {
        return BTreeMap::new();
    };
    let querier = db.storage().querier(lo, hi).unwrap();
    let hints = SelectHints {
        start: lo,
        end: hi,
        ..Default::default()
    };
    let matchers = promlite::parse_selector(r#"{__name__=~".+"}"#).unwrap();
    let mut out = BTreeMap::new();
    for mut s in querier.select(&hints, &matchers).unwrap() {
        let mut v: Vec<Sample> = Vec::new();
        s.samples.collect_range(lo, hi, &mut v).unwrap();
        out.insert(s.labels, v.iter().map(|s| (s.t, s.v.to_bits())).collect());
    }
    out
}

/// True if two sample values are the same to PromQL: equal bits, or both NaN but neither the
/// staleness marker (Go parses `NaN` to another payload than Rust does).
pub fn same_value(a: u64, b: u64) -> bool {
    let ordinary_nan =
        |bits: u64| f64::from_bits(bits).is_nan() && bits != promlite_model::STALE_NAN_BITS;
    a == b || (ordinary_nan(a) && ordinary_nan(b))
}

/// Asserts two sample maps are equal (NaN-aware).
pub fn assert_same_samples(
    expected: &BTreeMap<Labels, Vec<(i64, u64)>>,
    actual: &BTreeMap<Labels, Vec<(i64, u64)>>,
) {
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "series differ"
    );
    for (labels, want) in expected {
        let got = &actual[labels];
        assert_eq!(got.len(), want.len(), "{labels}: sample count");
        for (x, y) in want.iter().zip(got) {
            assert!(
                x.0 == y.0 && same_value(x.1, y.1),
                "{labels}: {x:?} vs {y:?}"
            );
        }
    }
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// `path/name`, created.
pub fn subdir(path: &Path, name: &str) -> PathBuf {
    let p = path.join(name);
    std::fs::create_dir_all(&p).unwrap();
    p
}
