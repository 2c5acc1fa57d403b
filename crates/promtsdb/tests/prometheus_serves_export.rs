//! Prometheus 2.42 started on the blocks we export (`--storage.tsdb.path` = the export
//! directory, 127.0.0.1, a free port, stopped by PID) answers every workload query the same as
//! promlite does on its own data, for both cAdvisor label styles.

mod common;

use promlite_bench::promlite_engine::Promlite;
use promlite_promtsdb::{export_blocks, ExportOptions};

fn check_style(style: &str) {
    let test = format!("prometheus_answers_workload_on_exported_blocks_{style}");
    let Some(config) = common::prometheus_config(&test) else {
        return;
    };
    let tmp = common::scratch();
    let spec = common::spec("small", style);
    let db = common::promlite_with(&tmp.path().join("promlite"), &spec);
    let out = tmp.path().join("prometheus-data");
    let summary = export_blocks(&db, &out, &ExportOptions::default(), &mut |_| {}).unwrap();
    let stats = promlite_cluster::Cluster::build(&spec).unwrap().stats();
    assert_eq!(summary.samples, stats.samples);

    let mut prometheus = common::start_prometheus(&config, &out, &tmp.path().join("work"));
    let mut promlite = Promlite::from_db(db);
    // Independent of the workload: Prometheus counts every series and sample we exported.
    let end = spec.start_ms + spec.duration_ms + 3_600_000;
    use promlite_bench::engine::Engine as _;
    let count = prometheus
        .instant_query(
            "count({__name__=~\".+\"})",
            spec.scrape_time(spec.n_scrapes() - 1),
        )
        .unwrap()
        .result;
    let series_in_last_scrape = match count {
        promlite_bench::answer::QueryResult::Vector(v) => v.first().map(|s| s.points[0].1),
        other => panic!("count returned {other:?}"),
    };
    assert!(series_in_last_scrape.is_some_and(|n| n > 0.0));
    let samples = prometheus
        .instant_query("sum(count_over_time({__name__=~\".+\"}[1d]))", end)
        .unwrap()
        .result;
    match samples {
        promlite_bench::answer::QueryResult::Vector(v) => {
            assert_eq!(v.first().map(|s| s.points[0].1), Some(stats.samples as f64));
        }
        other => panic!("sum(count_over_time) returned {other:?}"),
    }

    let queries = common::workload(style);
    assert!(queries.len() >= 10, "{} {style} queries", queries.len());
    let (mismatches, non_empty) =
        common::compare_workload(&spec, &queries, &mut prometheus, &mut promlite);
    prometheus.stop().unwrap();
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        non_empty >= queries.len(),
        "only {non_empty} non-empty answers"
    );
}

#[test]
fn prometheus_answers_workload_on_exported_blocks_legacy() {
    check_style("legacy");
}

#[test]
fn prometheus_answers_workload_on_exported_blocks_modern() {
    check_style("modern");
}
