//! The churn shape ([`Shape::Churn`]): the properties that make it a different data shape from
//! the presets the workload-join fast path was written against.

use std::collections::{BTreeMap, BTreeSet};

use promlite_cluster::{Cluster, ClusterSpec, Error, Family, LabelStyle, Shape, Size};

fn build(size: Size) -> Cluster {
    Cluster::build(&ClusterSpec::shaped(size, Shape::Churn)).expect("churn shape builds")
}

fn label<'a>(def: &'a promlite_cluster::SeriesDef, name: &str) -> Option<&'a str> {
    def.labels.get(name)
}

#[test]
fn churn_uses_modern_labels_30s_scrapes_and_target_labels() {
    let cluster = build(Size::Small);
    let spec = cluster.spec();
    assert_eq!(spec.interval_ms, 30_000);
    assert_eq!(spec.label_style, LabelStyle::Modern);
    assert_eq!(spec.ksm_replicas, 3);
    for def in cluster.series() {
        for legacy in ["pod_name", "container_name", "beta_kubernetes_io_arch"] {
            assert!(label(def, legacy).is_none(), "{}", def.labels);
        }
        assert!(label(def, "service").is_some(), "{}", def.labels);
        assert!(label(def, "endpoint").is_some(), "{}", def.labels);
        if matches!(def.family, Family::ContainerCpu | Family::ContainerMemory) {
            assert_eq!(label(def, "metrics_path"), Some("/metrics/cadvisor"));
            assert!(label(def, "node").is_some(), "{}", def.labels);
            assert_ne!(label(def, "container"), Some("POD"), "{}", def.labels);
        }
    }
    // One pod-level cgroup per pod: a pod label, no container, no image.
    let pod_cgroups: BTreeSet<(&str, &str)> = cluster
        .series()
        .iter()
        .filter(|d| d.family == Family::ContainerCpu)
        .filter(|d| label(d, "pod").is_some() && label(d, "container").is_none())
        .map(|d| {
            (
                label(d, "namespace").unwrap_or(""),
                label(d, "pod").unwrap_or(""),
            )
        })
        .collect();
    let pods: BTreeSet<(&str, &str)> = cluster
        .topology()
        .pods
        .iter()
        .map(|p| (p.namespace.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(pod_cgroups, pods);
}

#[test]
fn every_ksm_series_has_three_replicas_and_one_lags_at_deletions() {
    let cluster = build(Size::Small);
    let n = cluster.spec().n_scrapes();
    let mut copies: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
    for def in cluster.series() {
        if !matches!(
            def.family,
            Family::KubePodInfo | Family::KubePodOwner | Family::KubeReplicasetOwner
        ) {
            continue;
        }
        let instance = label(def, "instance").unwrap_or("").to_string();
        let key: Vec<String> = def
            .labels
            .iter()
            .filter(|l| l.name != "instance")
            .map(|l| format!("{}={}", l.name, l.value))
            .collect();
        let key = key.join(",");
        let end = def.spans.last().map_or(0, |s| s.end);
        copies.entry(key).or_default().push((instance, end));
    }
    assert!(!copies.is_empty());
    let mut lagging = 0;
    for (key, replicas) in &copies {
        let instances: BTreeSet<&String> = replicas.iter().map(|(i, _)| i).collect();
        assert_eq!(instances.len(), 3, "{key}: {replicas:?}");
        let ends: BTreeSet<u32> = replicas.iter().map(|(_, e)| *e).collect();
        if ends.len() > 1 {
            lagging += 1;
            let (lo, hi) = (ends.first().copied(), ends.last().copied());
            assert_eq!(
                hi.zip(lo).map(|(h, l)| h - l),
                Some(1),
                "{key}: {replicas:?}"
            );
            assert!(hi <= Some(n));
        }
    }
    assert!(lagging > 0, "no replica saw a deletion late");
}

#[test]
fn pods_churn_owners_change_and_series_vanish() {
    let cluster = build(Size::Medium);
    let n = cluster.spec().n_scrapes();
    // Owners change: some pod reports two owners over time (orphan, then adopted).
    let mut owners: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for def in cluster.series() {
        if def.family == Family::KubePodOwner {
            owners
                .entry((
                    label(def, "namespace").unwrap_or("").into(),
                    label(def, "pod").unwrap_or("").into(),
                ))
                .or_default()
                .insert(label(def, "owner_kind").unwrap_or("").into());
        }
    }
    assert!(owners.values().any(|kinds| kinds.len() == 2));
    // Series vanish before the end and others appear after the start.
    let cpu: Vec<_> = cluster
        .series()
        .iter()
        .filter(|d| d.family == Family::ContainerCpu && label(d, "pod").is_some())
        .collect();
    let vanish = cpu
        .iter()
        .filter(|d| d.spans.iter().any(|s| s.end < n))
        .count();
    let appear = cpu
        .iter()
        .filter(|d| d.spans.iter().any(|s| s.start > 0))
        .count();
    assert!(vanish * 10 > cpu.len(), "{vanish} of {}", cpu.len());
    assert!(appear * 10 > cpu.len(), "{appear} of {}", cpu.len());
    // CronJob runs: many Jobs, each with one pod.
    let jobs: BTreeSet<&str> = cluster
        .topology()
        .pods
        .iter()
        .filter(|p| p.owner_kind == promlite_cluster::OwnerKind::Job)
        .map(|p| p.owner_name.as_str())
        .collect();
    assert!(jobs.len() > 40, "{} jobs", jobs.len());
    // Containers per pod differ between pods.
    let containers: BTreeSet<usize> = cluster
        .topology()
        .pods
        .iter()
        .map(|p| p.containers.len())
        .collect();
    assert!(containers.len() >= 5, "{containers:?}");
}

#[test]
fn large_churn_is_about_five_thousand_pods() {
    let stats = build(Size::Large).stats();
    assert_eq!(stats.scrapes, 240, "2 h at 30 s");
    assert!((5_000..=6_500).contains(&stats.pods), "{stats:?}");
}

#[test]
fn churn_is_deterministic_and_rejects_legacy_labels() {
    let spec = ClusterSpec::shaped(Size::Tiny, Shape::Churn);
    let text = |spec: &ClusterSpec| {
        let mut out = Vec::new();
        Cluster::build(spec)
            .expect("builds")
            .write_openmetrics(&mut out)
            .expect("writes");
        out
    };
    assert_eq!(text(&spec), text(&spec.clone()));
    assert_ne!(text(&spec), text(&ClusterSpec::preset(Size::Tiny)));
    let legacy = ClusterSpec {
        label_style: LabelStyle::Legacy2018,
        ..spec
    };
    assert!(matches!(
        Cluster::build(&legacy),
        Err(Error::InvalidSpec(_))
    ));
    assert_eq!(
        ClusterSpec::shaped(Size::Large, Shape::Classic),
        ClusterSpec::preset(Size::Large)
    );
    assert_eq!(Shape::parse("churn"), Some(Shape::Churn));
    assert_eq!(Shape::parse(Shape::Classic.as_str()), Some(Shape::Classic));
}
