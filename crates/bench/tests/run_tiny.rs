//! End to end: `run` on the tiny cluster with every installed engine; promlite must agree with
//! Prometheus on every answer (when Prometheus is installed), and a missing engine is a note.

use promlite_bench::{run, BenchOptions, Check, EngineSet, Order, QueryKind};

#[test]
fn tiny_cluster_on_every_installed_engine() {
    let work = tempfile::tempdir().unwrap();
    let opts = BenchOptions {
        size: "tiny".into(),
        work_dir: work.path().to_path_buf(),
        workload_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/workload").into(),
        queries: vec![
            "pod_cpu".into(),
            "owner_join".into(),
            "query_b_unfiltered".into(),
        ],
        runs: 1,
        warmup: 0,
        json_out: Some(work.path().join("report.json")),
        markdown_out: Some(work.path().join("report.md")),
        ..BenchOptions::default()
    };
    let mut out = Vec::new();
    let report =
        run(&opts, &mut out).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&out)));
    let text = String::from_utf8(out).unwrap();

    // pod_cpu, pod_cpu_pod_label, owner_join, owner_join_modern is modern-only, query_b_unfiltered.
    let names: Vec<(&str, QueryKind)> = report
        .rows
        .iter()
        .map(|r| (r.query.as_str(), r.kind))
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(
        names.contains(&("query_b_unfiltered", QueryKind::Range)),
        "{names:?}"
    );
    assert!(
        report.rows.iter().all(|r| r.promlite.is_some()),
        "promlite did not run everywhere"
    );

    let prometheus_installed = opts.prometheus.missing().is_none();
    if !prometheus_installed {
        // Says SKIPPED for the oracle checks below, or fails when oracles are required (CI).
        promlite_testkit::skip(
            "tiny cluster on every installed engine: answers checked against Prometheus",
            "`prometheus`/`promtool` (not on PATH)",
        );
    }
    for row in &report.rows {
        if prometheus_installed {
            assert_eq!(
                row.promlite_check,
                Check::Same,
                "{} {:?}",
                row.query,
                row.kind
            );
            assert!(row
                .prometheus
                .as_ref()
                .is_some_and(|m| m.runs_ms.len() == 1));
        } else {
            assert_eq!(row.promlite_check, Check::NoOracle);
        }
    }
    if prometheus_installed {
        // The unfiltered query B is rejected by Prometheus (many-to-many); promlite agreed above.
        let b = report
            .rows
            .iter()
            .find(|r| r.query == "query_b_unfiltered")
            .unwrap();
        assert!(b.error, "Prometheus accepted query_b_unfiltered");
        let pod_cpu = report
            .rows
            .iter()
            .find(|r| r.query == "pod_cpu" && r.kind == QueryKind::Instant)
            .unwrap();
        assert!(pod_cpu.series.is_some_and(|n| n > 0));
        assert!(pod_cpu
            .prometheus
            .as_ref()
            .is_some_and(|m| m.server_eval_median_ms.is_some()));
    } else {
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.starts_with("prometheus skipped")),
            "{:?}",
            report.notes
        );
    }
    assert!(
        text.contains("query ") && text.contains("promlite ms"),
        "{text}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(8));
    assert_eq!(json["setup"]["order"], "grouped");
    assert!(std::fs::read_to_string(work.path().join("report.md"))
        .unwrap()
        .starts_with("| query |"));

    // A second run, in the sequential order, reuses the generated data and every engine's
    // ingested copy, and gets the same answers.
    let again = run(
        &BenchOptions {
            engines: EngineSet {
                victoria: false,
                ..EngineSet::default()
            },
            order: Order::Sequential,
            ..opts
        },
        &mut Vec::new(),
    )
    .unwrap();
    assert!(again
        .ingest
        .iter()
        .filter(|l| l.engine == "generate" || l.engine == "promlite")
        .all(|l| l.reused));
    assert_eq!(again.setup.order, Order::Sequential);
    assert_eq!(again.rows.len(), report.rows.len());
    for (first, second) in report.rows.iter().zip(&again.rows) {
        assert_eq!(
            (first.series, first.error, &first.promlite_check),
            (second.series, second.error, &second.promlite_check),
            "{} {:?}",
            first.query,
            first.kind
        );
    }
}
