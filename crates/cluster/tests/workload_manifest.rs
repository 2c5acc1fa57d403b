//! The committed workload (testdata/workload) still matches what the generator produces: the
//! golden answers were computed on `gen --preset small --seed 1`, so its counts, times and the
//! objects the dashboard queries name must not drift.

use promlite_cluster::{Cluster, ClusterSpec, LabelStyle, Size};
use serde_json::Value;

const WORKLOAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/workload");

fn manifest() -> Value {
    let text = std::fs::read_to_string(format!("{WORKLOAD}/workload.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[test]
fn small_preset_matches_the_manifest_counts() {
    let m = manifest();
    let data = &m["data"];
    assert_eq!(data["preset"], "small");
    for (style_name, style) in [
        ("legacy", LabelStyle::Legacy2018),
        ("modern", LabelStyle::Modern),
    ] {
        let spec = ClusterSpec {
            seed: data["seed"].as_u64().unwrap_or(u64::MAX),
            label_style: style,
            ..ClusterSpec::preset(Size::Small)
        };
        assert_eq!(Some(spec.start_ms), data["start_ms"].as_i64());
        assert_eq!(Some(spec.interval_ms), data["interval_ms"].as_i64());
        let stats = Cluster::build(&spec)
            .map(|c| c.stats())
            .map_err(|e| e.to_string());
        let stats = stats.unwrap_or_else(|e| panic!("{e}"));
        let counts = &data["counts"][style_name];
        assert_eq!(
            Some(stats.series as u64),
            counts["series"].as_u64(),
            "{style_name}"
        );
        assert_eq!(
            Some(stats.samples),
            counts["samples"].as_u64(),
            "{style_name}"
        );
    }
}

#[test]
fn evaluation_times_are_off_the_scrape_grid() {
    let m = manifest();
    let interval = m["data"]["interval_ms"].as_i64().unwrap_or(1);
    let mut offsets: Vec<i64> = m["instant_offsets_ms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect();
    offsets.push(m["range"]["start_offset_ms"].as_i64().unwrap_or(0));
    offsets.push(m["range"]["end_offset_ms"].as_i64().unwrap_or(0));
    assert!(offsets.len() >= 5);
    // Every range the workload uses (1m, 5m lookback) is a multiple of the interval, so an
    // off-grid evaluation time also has an off-grid left edge.
    assert!(offsets.iter().all(|o| o % interval != 0), "{offsets:?}");
    assert_eq!(
        m["range"]["step_ms"].as_i64().map(|s| s % interval),
        Some(0)
    );
}

#[test]
fn every_query_file_exists_and_named_objects_exist_in_the_small_cluster() {
    let m = manifest();
    let queries = m["queries"].as_array().cloned().unwrap_or_default();
    assert!(queries.len() >= 30);
    for q in &queries {
        let file = q["file"].as_str().unwrap_or("");
        let text = std::fs::read_to_string(format!("{WORKLOAD}/{file}")).unwrap_or_default();
        assert!(!text.trim().is_empty(), "{file}");
        assert!(
            !text.contains("$ns") && !text.contains("$__interval"),
            "{file}: unsubstituted variable"
        );
        let golden = format!(
            "{WORKLOAD}/golden/{}/{}.json",
            q["style"].as_str().unwrap_or(""),
            q["name"].as_str().unwrap_or("")
        );
        assert!(
            std::path::Path::new(&golden).exists(),
            "missing golden {golden}"
        );
    }
    let cluster =
        Cluster::build(&ClusterSpec::preset(Size::Small)).unwrap_or_else(|e| panic!("{e}"));
    let pods = &cluster.topology().pods;
    for (ns, owner) in [("kube-system", "calico-node"), ("payments", "postgres")] {
        assert!(
            pods.iter()
                .any(|p| p.namespace == ns && p.owner_name == owner),
            "{ns}/{owner}"
        );
    }
    let coredns = cluster
        .topology()
        .replica_sets
        .iter()
        .filter(|rs| rs.deployment == "coredns")
        .count();
    assert_eq!(coredns, 3);
}
