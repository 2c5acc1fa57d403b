//! Helpers of the CLI tests: run the `promlite` binary, build a data directory from a
//! generated cluster.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `promlite args...`.
pub fn promlite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_promlite"))
        .args(args)
        .output()
        .expect("run the promlite binary")
}

/// Runs `promlite args...` and returns stdout, failing the test with stderr if it failed.
pub fn promlite_ok(args: &[&str]) -> String {
    let out = promlite(args);
    assert!(
        out.status.success(),
        "promlite {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// A temp dir with the tiny cluster generated (`cluster.om`) and replayed (`data/`).
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    /// The last scrape's time, milliseconds.
    pub last_t: i64,
}

impl Fixture {
    pub fn data_str(&self) -> &str {
        self.data.to_str().expect("UTF-8 temp path")
    }
}

/// Generates the tiny cluster with the CLI and replays it with the CLI.
pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.om");
    let data = dir.path().join("data");
    promlite_ok(&[
        "gen-cluster",
        "--size",
        "tiny",
        "--seed",
        "7",
        "--out",
        path(&file),
    ]);
    promlite_ok(&["replay", "--data-dir", path(&data), path(&file)]);
    let spec = promlite_cluster::ClusterSpec {
        seed: 7,
        ..promlite_cluster::ClusterSpec::preset(promlite_cluster::Size::Tiny)
    };
    let last_t = spec.scrape_time(spec.n_scrapes() - 1);
    Fixture { dir, data, last_t }
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Milliseconds as Unix seconds with a fraction.
pub fn secs(t_ms: i64) -> String {
    format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000))
}

/// The seed's workload join, as the demo runs it.
pub const WORKLOAD_JOIN: &str = r#"max by (owner_name, owner_kind, pod, namespace) (kube_pod_owner)
* on (pod, namespace) group_right (owner_name, owner_kind)
label_replace(
  sum by (namespace, pod_name, kubernetes_io_hostname) (rate(container_cpu_usage_seconds_total[1m])),
  "pod", "$1", "pod_name", "(.+)"
)"#;
