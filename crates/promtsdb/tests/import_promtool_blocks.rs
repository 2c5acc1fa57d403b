//! Blocks made by `promtool tsdb create-blocks-from openmetrics` (Prometheus 2.42) from the
//! small cluster's OpenMetrics file, imported into promlite: promlite then holds exactly the
//! samples of its own replay of the file, and answers every workload query the same as
//! Prometheus 2.42 started on those blocks.

mod common;

use promlite_bench::promlite_engine::Promlite;
use promlite_promtsdb::{find_blocks, import_blocks};

fn check_style(style: &str) {
    let test = format!("imported_promtool_blocks_answer_as_prometheus_{style}");
    let Some(config) = common::prometheus_config(&test) else {
        return;
    };
    let tmp = common::scratch();
    let spec = common::spec("small", style);
    let om = tmp.path().join("data.om");
    let cluster = promlite_cluster::Cluster::build(&spec).unwrap();
    cluster
        .write_openmetrics(std::io::BufWriter::new(std::fs::File::create(&om).unwrap()))
        .unwrap();
    let blocks_dir = tmp.path().join("prometheus-data");
    promlite_bench::prometheus::build_blocks(&config, &om, &blocks_dir).unwrap();
    let n_blocks = find_blocks(&blocks_dir).unwrap().len();
    assert!(n_blocks >= 1);

    let imported =
        promlite::Db::open(tmp.path().join("imported"), promlite::Options::default()).unwrap();
    let summary = import_blocks(&imported, &blocks_dir, &mut |_, _| {}).unwrap();
    assert_eq!(summary.blocks, n_blocks);
    assert_eq!(summary.samples, cluster.stats().samples);

    // promlite's own replay of the same file holds the same samples.
    let replayed =
        promlite::Db::open(tmp.path().join("replayed"), promlite::Options::default()).unwrap();
    replayed.replay_file(&om).unwrap();
    common::assert_same_samples(
        &common::db_samples(&replayed),
        &common::db_samples(&imported),
    );

    let mut prometheus = common::start_prometheus(&config, &blocks_dir, &tmp.path().join("work"));
    let mut promlite = Promlite::from_db(imported);
    let queries = common::workload(style);
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
fn imported_promtool_blocks_answer_as_prometheus_legacy() {
    check_style("legacy");
}

#[test]
fn imported_promtool_blocks_answer_as_prometheus_modern() {
    check_style("modern");
}
