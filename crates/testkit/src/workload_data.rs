//! Random kube-state-metrics owner data and the kubernetes-mixin pod → workload rules as one
//! PromQL expression, for the tests of the `kube_pod_workload` extension.
//!
//! [`owner_case`] builds `kube_pod_owner`, `kube_replicaset_owner` and `kube_job_owner` series
//! over time: pods owned by ReplicaSets (moving from one to another), DaemonSets,
//! StatefulSets, Jobs, nodes (static pods), nothing (bare pods) and kinds the mixin calls
//! non-standard; ReplicaSets owned by Deployments (changing Deployment), by nothing, or by a
//! non-standard kind; Jobs with and without a CronJob. Two kube-state-metrics replicas scrape
//! with different phases; series vanish (with or without a staleness marker) and return.
//! [`OwnerCaseOptions::conflicts`] allows what makes the mixin's expressions fail or tie
//! (replicas disagreeing, owners of one object overlapping inside the lookback, equal
//! `topk` candidates); without it every query answers and no `topk` sees a tie, so two
//! engines that order ties differently (Prometheus: hash-map order) still agree bit for bit.
//!
//! [`pod_owner_union`] reads a rule file in the layout of
//! `testdata/rules/workload/pod_owner.rules.yml` and returns the union its rules record:
//! each rule's expression with its `workload_type` label set by `label_replace`, in file
//! order, joined by `or`.

use crate::join_data::{GenSeries, JoinCase, Rng, STALE_BITS};

/// Milliseconds between two scrapes of one replica.
pub const OWNER_SCRAPE_MS: i64 = 15_000;

/// Scrapes per dataset (40 minutes: owner changes separated by more than a 5-minute lookback
/// fit several times).
pub const OWNER_SCRAPES: usize = 160;

/// The first scrape's time (a whole 2-hour block boundary plus an odd phase).
pub const OWNER_START_MS: i64 = 1_700_006_400_000 + 1_000;

/// Offset of the second kube-state-metrics replica's scrapes.
const REPLICA_B_OFFSET_MS: i64 = 7_300;

/// Scrapes in a 5-minute lookback (an owner change with a gap longer than this never has the
/// old and the new owner visible at once).
const LOOKBACK_SCRAPES: usize = 20;

/// What a dataset may contain.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnerCaseOptions {
    /// Staleness markers after some vanishing series (OpenMetrics files cannot carry them).
    pub stale_markers: bool,
    /// Data on which the mixin's expressions fail or `topk` sees ties (see the module docs).
    pub conflicts: bool,
    /// A `cluster` label on every series, with namespace names repeated across clusters.
    pub cluster: bool,
}

/// One object's owner over time: stretches of scrapes, each with `(owner_kind, owner_name)`.
type Timeline = Vec<(std::ops::Range<usize>, String, String)>;

fn owner_timeline(
    rng: &mut Rng,
    options: OwnerCaseOptions,
    mut pick: impl FnMut(&mut Rng) -> (String, String),
    may_change: impl Fn(&str) -> bool,
) -> Timeline {
    let start = if rng.chance(70) {
        0
    } else {
        rng.below(OWNER_SCRAPES / 3)
    };
    let first_len = 10 + rng.below(OWNER_SCRAPES);
    let first_end = (start + first_len).min(OWNER_SCRAPES);
    let (kind, name) = pick(rng);
    let mut out = vec![(start..first_end, kind.clone(), name.clone())];
    if first_end < OWNER_SCRAPES && rng.chance(70) {
        let (next_kind, next_name) = if rng.chance(40) {
            // Vanishes and returns with the same owner.
            (kind.clone(), name.clone())
        } else {
            pick(rng)
        };
        let changed = (next_kind.as_str(), next_name.as_str()) != (kind.as_str(), name.as_str());
        // Without conflicts an owner change of a kind whose join side must stay unique (or
        // whose `topk` must not tie) waits out the lookback.
        let min_gap =
            if changed && !options.conflicts && (may_change(&kind) || may_change(&next_kind)) {
                LOOKBACK_SCRAPES + 2
            } else {
                0
            };
        let again = first_end + min_gap + rng.below(30);
        if again < OWNER_SCRAPES {
            out.push((again..OWNER_SCRAPES, next_kind, next_name));
        }
    }
    out
}

/// Samples of one replica over the stretches where `(kind, name)` holds.
fn replica_samples(
    stretches: &[std::ops::Range<usize>],
    offset_ms: i64,
    value: f64,
    rng: &mut Rng,
    options: OwnerCaseOptions,
) -> Vec<(i64, f64)> {
    // Keyed by time: stretches may overlap (a lagging replica), and a sample wins over a
    // marker at the same time.
    let mut points: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
    for range in stretches {
        if options.stale_markers && range.end < OWNER_SCRAPES && rng.chance(50) {
            let t = OWNER_START_MS + range.end as i64 * OWNER_SCRAPE_MS + offset_ms;
            points.entry(t).or_insert(f64::from_bits(STALE_BITS));
        }
    }
    for range in stretches {
        for k in range.clone() {
            points.insert(
                OWNER_START_MS + k as i64 * OWNER_SCRAPE_MS + offset_ms,
                value,
            );
        }
    }
    points.into_iter().collect()
}

/// Adds the series of one owner metric for one object: one per distinct owner of its
/// timeline and per replica.
#[expect(clippy::too_many_arguments, reason = "test data builder")]
fn push_owner_series(
    out: &mut Vec<GenSeries>,
    rng: &mut Rng,
    options: OwnerCaseOptions,
    metric: &str,
    base: &[(&str, &str)],
    timeline: &Timeline,
    value: f64,
    replica_lag: bool,
) {
    let mut owners: Vec<(String, String)> = Vec::new();
    for (_, kind, name) in timeline {
        if !owners.contains(&(kind.clone(), name.clone())) {
            owners.push((kind.clone(), name.clone()));
        }
    }
    for (kind, name) in owners {
        let stretches: Vec<std::ops::Range<usize>> = timeline
            .iter()
            .filter(|(_, k, n)| *k == kind && *n == name)
            .map(|(r, _, _)| r.clone())
            .collect();
        for (instance, offset) in [("ksm-a:8080", 0), ("ksm-b:8080", REPLICA_B_OFFSET_MS)] {
            if instance == "ksm-b:8080" && rng.chance(20) {
                continue; // The second replica does not always run.
            }
            // With conflicts the second replica lags: it reports an old owner a few scrapes
            // longer than the first.
            let stretches: Vec<std::ops::Range<usize>> = if replica_lag && instance == "ksm-b:8080"
            {
                stretches
                    .iter()
                    .map(|r| r.start..(r.end + 3).min(OWNER_SCRAPES))
                    .collect()
            } else {
                stretches.clone()
            };
            let mut labels: Vec<(String, String)> = vec![
                ("__name__".into(), metric.into()),
                ("instance".into(), instance.into()),
                ("job".into(), "kube-state-metrics".into()),
            ];
            for (n, v) in base {
                if !v.is_empty() {
                    labels.push(((*n).into(), (*v).into()));
                }
            }
            if !kind.is_empty() {
                labels.push(("owner_kind".into(), kind.clone()));
                labels.push(("owner_is_controller".into(), "true".into()));
            }
            if !name.is_empty() {
                labels.push(("owner_name".into(), name.clone()));
            }
            labels.sort();
            let samples = replica_samples(&stretches, offset, value, rng, options);
            if !samples.is_empty() {
                out.push(GenSeries { labels, samples });
            }
        }
    }
}

/// The dataset for `seed`, with range queries `(start, end, step)` on and off the scrape grid
/// with steps equal to and smaller than the scrape interval, and instant times.
pub fn owner_case(seed: u64, options: OwnerCaseOptions) -> JoinCase {
    let mut rng = Rng::new(seed);
    let mut series = Vec::new();
    let clusters: &[&str] = if options.cluster {
        &["c0", "c1"]
    } else {
        &[""]
    };
    for cluster in clusters {
        for ns in ["ns0", "ns1"] {
            let n_rs = 2 + rng.below(4);
            let n_jobs = 1 + rng.below(3);
            let value = |rng: &mut Rng| {
                if options.conflicts && rng.chance(10) {
                    2.0
                } else if rng.chance(5) {
                    0.5
                } else {
                    1.0
                }
            };
            let mut used_rs: Vec<String> = Vec::new();
            let mut used_jobs: Vec<String> = Vec::new();
            for p in 0..(3 + rng.below(8)) {
                let pod = format!("pod-{p}");
                let timeline = owner_timeline(
                    &mut rng,
                    options,
                    |rng| {
                        let (kind, name) = match rng.below(10) {
                            0..=3 => ("ReplicaSet", format!("rs-{}", rng.below(n_rs))),
                            4 => ("DaemonSet", format!("ds-{}", rng.below(2))),
                            5 => ("StatefulSet", format!("sts-{}", rng.below(2))),
                            6 => ("Job", format!("job-{}", rng.below(n_jobs))),
                            7 => ("Node", format!("node-{}", rng.below(2))),
                            8 => ("", String::new()),
                            _ => ("CustomSet", format!("cs-{}", rng.below(2))),
                        };
                        (kind.to_string(), name)
                    },
                    // A pod's owners are join many sides: overlaps are harmless.
                    |_| false,
                );
                for (_, kind, name) in &timeline {
                    if kind == "ReplicaSet" && !used_rs.contains(name) {
                        used_rs.push(name.clone());
                    }
                    if kind == "Job" && !used_jobs.contains(name) {
                        used_jobs.push(name.clone());
                    }
                }
                let v = value(&mut rng);
                push_owner_series(
                    &mut series,
                    &mut rng,
                    options,
                    "kube_pod_owner",
                    &[("cluster", cluster), ("namespace", ns), ("pod", &pod)],
                    &timeline,
                    v,
                    options.conflicts,
                );
            }
            for rs in 0..n_rs {
                let rs_name = format!("rs-{rs}");
                if !used_rs.contains(&rs_name) && rng.chance(70) {
                    continue;
                }
                let timeline = owner_timeline(
                    &mut rng,
                    options,
                    |rng| match rng.below(10) {
                        0..=6 => ("Deployment".into(), format!("deploy-{}", rng.below(3))),
                        7 | 8 => (String::new(), String::new()),
                        _ => ("Rollout".into(), format!("rollout-{}", rng.below(2))),
                    },
                    // Deployment owners meet in a `topk` (ties), other kinds in a one side.
                    |_| true,
                );
                let v = value(&mut rng);
                push_owner_series(
                    &mut series,
                    &mut rng,
                    options,
                    "kube_replicaset_owner",
                    &[
                        ("cluster", cluster),
                        ("namespace", ns),
                        ("replicaset", &rs_name),
                    ],
                    &timeline,
                    v,
                    options.conflicts,
                );
            }
            if options.conflicts && rng.chance(35) {
                // A Job with two CronJob owners at once for a few minutes: the mixin's
                // non-standard-owner join fails while both are visible.
                let from = rng.below(OWNER_SCRAPES - 20);
                let timeline: Timeline = vec![(from..from + 12, "CronJob".into(), "cron-x".into())];
                let other: Timeline = vec![(from..from + 12, "CronJob".into(), "cron-y".into())];
                for t in [timeline, other] {
                    push_owner_series(
                        &mut series,
                        &mut rng,
                        options,
                        "kube_job_owner",
                        &[
                            ("cluster", cluster),
                            ("namespace", ns),
                            ("job_name", "job-0"),
                        ],
                        &t,
                        1.0,
                        false,
                    );
                }
            }
            for job in 0..n_jobs {
                let job_name = format!("job-{job}");
                if !used_jobs.contains(&job_name) && rng.chance(70) {
                    continue;
                }
                let timeline = owner_timeline(
                    &mut rng,
                    options,
                    |rng| match rng.below(10) {
                        0..=5 => ("CronJob".into(), format!("cron-{}", rng.below(2))),
                        6 | 7 => (String::new(), String::new()),
                        8 => ("Pod".into(), "parent-pod".into()),
                        _ => ("Workflow".into(), "wf-0".into()),
                    },
                    |kind| kind != "Pod" && !kind.is_empty(),
                );
                let v = value(&mut rng);
                push_owner_series(
                    &mut series,
                    &mut rng,
                    options,
                    "kube_job_owner",
                    &[
                        ("cluster", cluster),
                        ("namespace", ns),
                        ("job_name", &job_name),
                    ],
                    &timeline,
                    v,
                    options.conflicts,
                );
            }
        }
    }
    let end = OWNER_START_MS + (OWNER_SCRAPES as i64 - 1) * OWNER_SCRAPE_MS;
    // Off the grid of both replicas by a fraction of a second, and on replica A's grid.
    let off = OWNER_START_MS + 3_100;
    let ranges = vec![
        (off, end, OWNER_SCRAPE_MS),
        (off + 60_000, off + 600_000, 5_000),
        (OWNER_START_MS, end, OWNER_SCRAPE_MS),
        (OWNER_START_MS + 30_000, OWNER_START_MS + 330_000, 1_000),
        (off, end, 60_000),
    ];
    let instant_times = vec![off + 400_000, OWNER_START_MS + 900_000, end + 200_000];
    JoinCase {
        series,
        instant_times,
        ranges,
    }
}

/// The union of the recording rules in `rules_yaml` (the layout of
/// `testdata/rules/workload/pod_owner.rules.yml`: `- record:`, a block-literal `expr: |`, and
/// optionally `labels:` with one `workload_type:` line): each rule's expression, with
/// `label_replace(..., "workload_type", "<value>", "", "")` where the rule sets the label, in
/// file order, joined by `or`. `None` if the text does not have that layout.
pub fn pod_owner_union(rules_yaml: &str) -> Option<String> {
    struct Rule {
        expr: String,
        workload_type: Option<String>,
    }
    let mut rules: Vec<Rule> = Vec::new();
    let mut lines = rules_yaml.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("- record:") {
            rules.push(Rule {
                expr: String::new(),
                workload_type: None,
            });
        } else if trimmed == "expr: |" {
            let indent = line.len() - trimmed.len();
            let rule = rules.last_mut()?;
            while let Some(next) = lines.peek() {
                let next_indent = next.len() - next.trim_start().len();
                if !next.trim().is_empty() && next_indent <= indent {
                    break;
                }
                rule.expr.push_str(next.trim_end());
                rule.expr.push('\n');
                lines.next();
            }
        } else if let Some(value) = trimmed.strip_prefix("workload_type:") {
            rules.last_mut()?.workload_type = Some(value.trim().to_string());
        }
    }
    if rules.is_empty() || rules.iter().any(|r| r.expr.trim().is_empty()) {
        return None;
    }
    let parts: Vec<String> = rules
        .into_iter()
        .map(|r| match r.workload_type {
            Some(t) => format!(
                "label_replace(\n{}, \"workload_type\", \"{t}\", \"\", \"\")",
                r.expr.trim_end()
            ),
            None => format!("(\n{}\n)", r.expr.trim_end()),
        })
        .collect();
    Some(parts.join("\nor\n"))
}

/// Writes `series` as an OpenMetrics text (one family per metric name, gauges, timestamps in
/// seconds with milliseconds), for `promtool tsdb create-blocks-from openmetrics`. Staleness
/// markers cannot be written and are left out.
pub fn write_openmetrics(series: &[GenSeries]) -> String {
    use std::fmt::Write as _;
    let mut by_family: std::collections::BTreeMap<&str, Vec<&GenSeries>> =
        std::collections::BTreeMap::new();
    for s in series {
        let name = s
            .labels
            .iter()
            .find(|(n, _)| n == "__name__")
            .map_or("", |(_, v)| v.as_str());
        by_family.entry(name).or_default().push(s);
    }
    let mut out = String::new();
    for (family, members) in by_family {
        let _ = writeln!(out, "# TYPE {family} gauge");
        for s in members {
            let labels: Vec<String> = s
                .labels
                .iter()
                .filter(|(n, _)| n != "__name__")
                .map(|(n, v)| format!("{n}=\"{v}\""))
                .collect();
            for &(t, v) in &s.samples {
                if v.to_bits() == STALE_BITS {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "{family}{{{}}} {v} {}.{:03}",
                    labels.join(","),
                    t.div_euclid(1000),
                    t.rem_euclid(1000)
                );
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_union_has_one_part_per_rule() {
        let text = "groups:\n- name: g\n  rules:\n  - record: r\n    expr: |\n      max(a)\n    labels:\n      workload_type: x\n  - record: r\n    expr: |\n      b\n";
        let union = pod_owner_union(text).expect("parses");
        assert_eq!(
            union,
            "label_replace(\n      max(a), \"workload_type\", \"x\", \"\", \"\")\nor\n(\n      b\n)"
        );
        assert!(pod_owner_union("groups: []\n").is_none());
    }

    #[test]
    fn cases_hold_every_owner_metric_and_are_deterministic() {
        let a = owner_case(3, OwnerCaseOptions::default());
        let b = owner_case(3, OwnerCaseOptions::default());
        assert_eq!(a.series.len(), b.series.len());
        for metric in ["kube_pod_owner", "kube_replicaset_owner"] {
            assert!(
                a.series
                    .iter()
                    .any(|s| s.labels.iter().any(|(n, v)| n == "__name__" && v == metric)),
                "{metric}"
            );
        }
        let text = write_openmetrics(&a.series);
        assert!(text.ends_with("# EOF\n"));
    }
}
