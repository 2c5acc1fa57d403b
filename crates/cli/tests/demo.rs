//! `promlite demo`: the whole pipeline prints a per-workload table and step timings.

mod common;

use common::promlite_ok;

#[test]
fn demo_prints_workloads_with_timings() {
    let out = promlite_ok(&["demo", "--size", "tiny"]);
    for step in ["generated", "replayed", "queried"] {
        assert!(
            out.lines().any(|l| l.starts_with(step)),
            "missing {step} line:\n{out}"
        );
    }
    let header = out
        .lines()
        .find(|l| l.starts_with("NAMESPACE"))
        .unwrap_or_else(|| panic!("no table:\n{out}"));
    for column in ["KIND", "OWNER", "AVG CPU", "PODS"] {
        assert!(header.contains(column), "{header}");
    }
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("NAMESPACE"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    // The tiny cluster runs DaemonSets on every node and Deployments resolved through their
    // ReplicaSets; the join must show both kinds with a positive pod count.
    let daemonset = rows
        .iter()
        .find(|r| r.contains("DaemonSet") && r.contains("calico-node"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(rows.iter().any(|r| r.contains("Deployment")), "{out}");
    assert!(
        !rows.iter().any(|r| r.contains("ReplicaSet")),
        "ReplicaSets must resolve to Deployments:\n{out}"
    );
    let pods: u64 = daemonset
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pods >= 1, "{daemonset}");
}
