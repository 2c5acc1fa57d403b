//! `promlite demo`: generate a small cluster, replay it, run the seed's workload join and print
//! average CPU per workload, with the time each step took.

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use promlite::{Db, Value};

use super::gen_cluster;
use crate::args::{DemoArgs, LabelStyleArg};
use crate::output;

/// Pod → owning workload, as in seed 000: `kube_pod_owner`, with ReplicaSet owners resolved to
/// their Deployment through `kube_replicaset_owner`. Pods owned by anything else (DaemonSet,
/// StatefulSet, Job, none) keep their direct owner. `max by` collapses the duplicate series the
/// two kube-state-metrics replicas export.
pub const POD_OWNERS: &str = r#"max by (owner_name, owner_kind, pod, namespace) (
    max by (namespace, owner_name, owner_kind, replicaset) (kube_replicaset_owner)
  * on (replicaset, namespace) group_right (owner_name, owner_kind)
    label_replace(
      max by (owner_name, pod, namespace) (kube_pod_owner{owner_kind="ReplicaSet"}),
      "replicaset", "$1", "owner_name", "(.+)"
    )
  or
    kube_pod_owner{owner_kind!="ReplicaSet"}
)"#;

/// Per-pod CPU (cores) with the cAdvisor `pod_name` copied to `pod` so it can join.
pub const POD_CPU: &str = r#"label_replace(
    sum by (namespace, pod_name, kubernetes_io_hostname) (rate(container_cpu_usage_seconds_total[1m])),
    "pod", "$1", "pod_name", "(.+)"
  )"#;

/// The seed's join: per-pod CPU labelled with its workload.
pub fn workload_join() -> String {
    format!("{POD_OWNERS}\n* on (pod, namespace) group_right (owner_kind, owner_name)\n{POD_CPU}")
}

/// Average CPU per workload (the seed's query B over every namespace).
pub fn workload_avg() -> String {
    format!(
        "avg by (namespace, owner_kind, owner_name) (\n{}\n)",
        indent(&workload_join())
    )
}

/// Indents every line by two spaces (for printing nested queries).
fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Pods per workload, over the same join.
pub fn workload_pods() -> String {
    format!(
        "count by (namespace, owner_kind, owner_name) (\n{}\n)",
        indent(&workload_join())
    )
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let temp;
    let root: &Path = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path()
        }
    };
    // The seed's queries use the 2018 cAdvisor label names (`pod_name`).
    let spec = gen_cluster::spec(args.size, args.seed, LabelStyleArg::Legacy2018);
    let input = root.join("cluster.om.txt");

    let started = Instant::now();
    let file =
        std::fs::File::create(&input).with_context(|| format!("creating {}", input.display()))?;
    let mut out = BufWriter::new(file);
    let stats = promlite_cluster::write_openmetrics(&spec, &mut out)?;
    std::io::Write::flush(&mut out).with_context(|| format!("writing {}", input.display()))?;
    drop(out);
    let generate_time = started.elapsed();
    let input_bytes = std::fs::metadata(&input).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated  {} nodes, {} pods, {} series, {} samples ({:.1} MiB of OpenMetrics) in {:.2?}",
        stats.nodes,
        stats.pods,
        stats.series,
        stats.samples,
        input_bytes as f64 / (1024.0 * 1024.0),
        generate_time
    );

    let data_dir = root.join("data");
    let started = Instant::now();
    let db = Db::open(&data_dir, promlite::Options::default())
        .with_context(|| format!("opening {}", data_dir.display()))?;
    let replayed = db
        .replay_file(&input)
        .with_context(|| format!("replaying {}", input.display()))?;
    let replay_time = started.elapsed();
    println!(
        "replayed   {} samples into {} in {:.2?} ({:.0} samples/s, compacted to blocks)",
        replayed.input.samples,
        data_dir.display(),
        replay_time,
        replayed.input.samples as f64 / replay_time.as_secs_f64().max(1e-9)
    );

    let (_, max_t) = db.time_range().context("the replayed database is empty")?;
    let started = Instant::now();
    let averages = db
        .query(&workload_avg(), max_t)
        .context("running the workload average query")?;
    let avg_time = started.elapsed();
    let started = Instant::now();
    let pods = db
        .query(&workload_pods(), max_t)
        .context("running the pod count query")?;
    let count_time = started.elapsed();
    println!("queried    average CPU per workload in {avg_time:.2?}, pods per workload in {count_time:.2?}");
    println!();

    let rows = workload_rows(&averages.value, &pods.value);
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(key, (avg, n_pods))| {
            vec![
                key.0.clone(),
                key.1.clone(),
                key.2.clone(),
                format!("{avg:.4}"),
                n_pods.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &["NAMESPACE", "KIND", "OWNER", "AVG CPU (cores)", "PODS"],
            &table_rows
        )
    );
    println!(
        "\n{} workloads at {}",
        rows.len(),
        promlite_http::params::format_rfc3339(max_t)
    );
    println!(
        "\nThe query (seed 000's workload join, averaged per workload):\n{}",
        workload_avg()
    );
    Ok(())
}

type WorkloadKey = (String, String, String);

/// Joins the average and count results on (namespace, kind, owner), sorted.
fn workload_rows(averages: &Value, pods: &Value) -> BTreeMap<WorkloadKey, (f64, u64)> {
    let key = |labels: &promlite::Labels| -> WorkloadKey {
        let get = |name: &str| labels.get(name).unwrap_or("").to_string();
        (get("namespace"), get("owner_kind"), get("owner_name"))
    };
    let mut rows = BTreeMap::new();
    if let Value::Vector(samples) = averages {
        for sample in samples {
            rows.insert(key(&sample.labels), (sample.v, 0));
        }
    }
    if let Value::Vector(samples) = pods {
        for sample in samples {
            if let Some(row) = rows.get_mut(&key(&sample.labels)) {
                // Counts are small non-negative integers, exact in an f64.
                row.1 = sample.v as u64;
            }
        }
    }
    rows
}
