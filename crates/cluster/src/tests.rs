//! Behaviour tests of the generator: determinism, output agreement, counters, owners, label
//! styles, rollouts and staleness, preset sizes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use promlite_model::{is_stale_nan, Labels};

use crate::{Cluster, ClusterSpec, Error, Family, LabelStyle, OwnerKind, Size};

fn tiny(style: LabelStyle) -> ClusterSpec {
    ClusterSpec {
        label_style: style,
        ..ClusterSpec::preset(Size::Tiny)
    }
}

fn build(spec: &ClusterSpec) -> Cluster {
    match Cluster::build(spec) {
        Ok(c) => c,
        Err(e) => panic!("preset must build: {e}"),
    }
}

fn openmetrics(spec: &ClusterSpec) -> Vec<u8> {
    let mut out = Vec::new();
    let cluster = build(spec);
    assert!(cluster.write_openmetrics(&mut out).is_ok());
    out
}

/// Sample lines of an exposition text as `(series text, timestamp text or "", value text)`.
fn sample_lines(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let close = l.rfind('}').unwrap_or(0);
            let (series, rest) = l.split_at(close + 1);
            let mut parts = rest.split_whitespace();
            let value = parts.next().unwrap_or("").to_string();
            let ts = parts.next().unwrap_or("").to_string();
            (series.to_string(), ts, value)
        })
        .collect()
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seed_differs() {
    for style in [LabelStyle::Legacy2018, LabelStyle::Modern] {
        let a = openmetrics(&tiny(style));
        let b = openmetrics(&tiny(style));
        assert!(!a.is_empty());
        assert_eq!(a, b, "same spec must give the same bytes ({style:?})");
        let c = openmetrics(&ClusterSpec {
            seed: 2,
            ..tiny(style)
        });
        assert_ne!(a, c, "another seed must give other data");
    }
}

#[test]
fn openmetrics_groups_families_orders_samples_and_ends_with_eof() {
    let spec = tiny(LabelStyle::Legacy2018);
    let cluster = build(&spec);
    let mut out = Vec::new();
    let written = cluster.write_openmetrics(&mut out).unwrap_or(0);
    let text = String::from_utf8(out).unwrap_or_default();
    assert!(text.ends_with("\n# EOF\n"));
    assert_eq!(text.matches("# EOF").count(), 1);
    let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    assert_eq!(
        types,
        [
            "# TYPE container_cpu_usage_seconds counter",
            "# TYPE container_memory_working_set_bytes gauge",
            "# TYPE kube_pod_info gauge",
            "# TYPE kube_pod_owner gauge",
            "# TYPE kube_replicaset_owner gauge",
        ]
    );
    let samples = sample_lines(&text);
    assert_eq!(samples.len() as u64, written);
    assert_eq!(written, cluster.stats().samples);
    // Each series' samples are contiguous and strictly increasing in time.
    let mut seen_done: BTreeSet<&str> = BTreeSet::new();
    let mut prev: Option<(&str, f64)> = None;
    for (series, ts, _) in &samples {
        let t: f64 = ts.parse().unwrap_or(f64::NAN);
        assert!(t.is_finite(), "timestamp {ts:?}");
        match prev {
            Some((p, pt)) if p == series.as_str() => assert!(t > pt, "{series} not increasing"),
            Some((p, _)) => {
                assert!(seen_done.insert(p), "{p} not contiguous");
                assert!(
                    !seen_done.contains(series.as_str()),
                    "{series} not contiguous"
                );
            }
            None => {}
        }
        prev = Some((series.as_str(), t));
    }
}

#[test]
fn scrape_dir_holds_the_same_samples_as_openmetrics() {
    let spec = tiny(LabelStyle::Modern);
    let cluster = build(&spec);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let written = cluster.write_scrape_dir(dir.path()).unwrap_or(0);
    assert_eq!(written, cluster.stats().samples);
    let mut from_dir: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path())
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().to_string();
        let ms: i64 = name
            .strip_suffix(".prom")
            .and_then(|s| s.parse().ok())
            .unwrap_or(-1);
        assert!(
            ms >= spec.start_ms && (ms - spec.start_ms) % spec.interval_ms == 0,
            "{name}"
        );
        files += 1;
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        assert!(text.contains("# TYPE container_cpu_usage_seconds_total counter"));
        for (series, ts, value) in sample_lines(&text) {
            assert_eq!(ts, "", "scrape files carry no timestamps");
            from_dir.insert((series, (ms / 1000).to_string(), value));
        }
    }
    assert_eq!(files, spec.n_scrapes());
    let om = String::from_utf8(openmetrics(&spec)).unwrap_or_default();
    let from_om: BTreeSet<(String, String, String)> = sample_lines(&om).into_iter().collect();
    assert_eq!(from_dir.len() as u64, written);
    assert_eq!(from_dir, from_om);
}

#[test]
fn sample_stream_and_series_stream_agree_bit_for_bit() {
    let spec = ClusterSpec {
        stale_markers: true,
        ..tiny(LabelStyle::Legacy2018)
    };
    let cluster = build(&spec);
    let mut by_time: BTreeMap<(Labels, i64), u64> = BTreeMap::new();
    let mut last_t = i64::MIN;
    cluster.for_each_sample(|labels, t, v| {
        assert!(t >= last_t, "for_each_sample must go in scrape order");
        last_t = t;
        assert!(by_time.insert((labels.clone(), t), v.to_bits()).is_none());
    });
    let mut by_series: BTreeMap<(Labels, i64), u64> = BTreeMap::new();
    cluster.for_each_series(|def, samples| {
        for s in samples {
            by_series.insert((def.labels.clone(), s.t), s.v.to_bits());
        }
    });
    assert_eq!(by_time, by_series);
    let stale = by_time
        .values()
        .filter(|bits| is_stale_nan(f64::from_bits(**bits)))
        .count() as u64;
    assert!(stale > 0, "the coredns rollout must end some series");
    assert_eq!(by_time.len() as u64, cluster.stats().samples + stale);
}

#[test]
fn counters_are_monotone_except_at_declared_resets() {
    for size in [Size::Tiny, Size::Small] {
        let cluster = build(&ClusterSpec::preset(size));
        let interval = cluster.spec().interval_ms;
        let start = cluster.spec().start_ms;
        let mut resets_seen = 0;
        cluster.for_each_series(|def, samples| {
            if def.family != Family::ContainerCpu {
                return;
            }
            assert!(samples.iter().all(|s| s.v.is_finite() && s.v >= 0.0));
            for pair in samples.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let k = u32::try_from((b.t - start) / interval).unwrap_or(u32::MAX);
                if def.resets.contains(&k) {
                    assert!(b.v < a.v, "declared reset at {k} must drop the counter");
                    resets_seen += 1;
                } else {
                    assert!(
                        b.v >= a.v,
                        "{} decreased at {} without a declared reset",
                        def.labels,
                        b.t
                    );
                }
            }
        });
        assert!(
            resets_seen > 0,
            "{size:?} must contain at least one counter reset"
        );
    }
}

#[test]
fn cadvisor_values_have_the_precision_of_the_kernel_counters() {
    let cluster = build(&ClusterSpec::preset(Size::Tiny));
    let (mut cpu, mut memory) = (0, 0);
    cluster.for_each_series(|def, samples| {
        for s in samples {
            match def.family {
                Family::ContainerCpu => {
                    // Whole nanoseconds: v == round(v * 1e9) / 1e9 bit for bit.
                    let ns = (s.v * 1e9).round();
                    assert_eq!((ns / 1e9).to_bits(), s.v.to_bits(), "{}", def.labels);
                    cpu += 1;
                }
                Family::ContainerMemory => {
                    assert!(
                        s.v >= 4096.0 && s.v % 4096.0 == 0.0,
                        "{} = {}",
                        def.labels,
                        s.v
                    );
                    memory += 1;
                }
                _ => {}
            }
        }
    });
    assert!(cpu > 0 && memory > 0);
}

/// `(namespace, name)` of KSM label sets, per family, alive at scrape `k`, with the instance.
fn ksm_rows(cluster: &Cluster, family: Family, k: u32) -> Vec<&Labels> {
    cluster
        .series()
        .iter()
        .filter(|d| d.family == family && d.alive(k))
        .map(|d| &d.labels)
        .collect()
}

#[test]
fn owner_relationships_are_consistent_at_every_scrape() {
    for style in [LabelStyle::Legacy2018, LabelStyle::Modern] {
        let cluster = build(&ClusterSpec {
            label_style: style,
            ..ClusterSpec::preset(Size::Small)
        });
        let instances = &cluster.topology().ksm_instances;
        assert_eq!(instances.len(), 2);
        assert_ne!(instances[0], instances[1]);
        let pod_label = style.pod_label();
        for k in 0..cluster.spec().n_scrapes() {
            let rs_rows: BTreeSet<(String, String, String)> =
                ksm_rows(&cluster, Family::KubeReplicasetOwner, k)
                    .into_iter()
                    .map(|l| {
                        assert_eq!(l.get("owner_kind"), Some("Deployment"));
                        let get = |n: &str| l.get(n).unwrap_or("").to_string();
                        (get("instance"), get("namespace"), get("replicaset"))
                    })
                    .collect();
            let mut owner_rows: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
            for l in ksm_rows(&cluster, Family::KubePodOwner, k) {
                let get = |n: &str| l.get(n).unwrap_or("").to_string();
                let (kind, name) = (get("owner_kind"), get("owner_name"));
                assert_eq!(kind == "<none>", name == "<none>", "{l}");
                if kind == "ReplicaSet" {
                    let key = (get("instance"), get("namespace"), name.clone());
                    assert!(
                        rs_rows.contains(&key),
                        "no kube_replicaset_owner for {l} at scrape {k}"
                    );
                    assert!(name.len() > 11 && get("pod").starts_with(&format!("{name}-")));
                }
                owner_rows
                    .entry((get("namespace"), get("pod")))
                    .or_default()
                    .insert(get("instance"));
            }
            // Every pod is reported by every kube-state-metrics replica.
            for ((ns, pod), seen) in &owner_rows {
                assert_eq!(seen.len(), instances.len(), "{ns}/{pod} at scrape {k}");
            }
            // Every running container belongs to a pod kube-state-metrics knows about.
            for def in cluster
                .series()
                .iter()
                .filter(|d| d.family == Family::ContainerCpu && d.alive(k))
            {
                if let (Some(ns), Some(pod)) =
                    (def.labels.get("namespace"), def.labels.get(pod_label))
                {
                    assert!(
                        owner_rows.contains_key(&(ns.to_string(), pod.to_string())),
                        "{}",
                        def.labels
                    );
                }
            }
        }
        let topo = cluster.topology();
        let kinds: BTreeSet<&str> = topo.pods.iter().map(|p| p.owner_kind.as_str()).collect();
        assert_eq!(
            kinds,
            BTreeSet::from(["<none>", "DaemonSet", "Job", "ReplicaSet", "StatefulSet"])
        );
        assert!(topo
            .pods
            .iter()
            .any(|p| p.owner_kind == OwnerKind::None && p.name.starts_with("kube-apiserver-")));
        let calico = topo
            .pods
            .iter()
            .filter(|p| p.owner_name == "calico-node")
            .count();
        assert_eq!(calico, topo.nodes.len(), "one DaemonSet pod per node");
    }
}

#[test]
fn label_style_switches_pod_and_container_names() {
    for (style, present, absent) in [
        (
            LabelStyle::Legacy2018,
            ["pod_name", "container_name"],
            ["pod", "container"],
        ),
        (
            LabelStyle::Modern,
            ["pod", "container"],
            ["pod_name", "container_name"],
        ),
    ] {
        let cluster = build(&tiny(style));
        let containers: Vec<&Labels> = cluster
            .series()
            .iter()
            .filter(|d| d.family <= Family::ContainerMemory && d.labels.has("namespace"))
            .map(|d| &d.labels)
            .collect();
        assert!(!containers.is_empty());
        for l in &containers {
            assert!(present.iter().all(|n| l.has(n)), "{style:?}: {l}");
            assert!(absent.iter().all(|n| !l.has(n)), "{style:?}: {l}");
            let name = l.get("name").unwrap_or("");
            let expected = format!(
                "k8s_{}_{}_",
                l.get(present[1]).unwrap_or("?"),
                l.get(present[0]).unwrap_or("?")
            );
            assert!(name.starts_with(&expected), "{name} vs {expected}");
            assert_eq!(l.get("job"), Some("kubernetes-nodes-cadvisor"));
        }
        assert!(
            containers.iter().any(|l| l.get(present[1]) == Some("POD")),
            "pause containers included"
        );
        let cpu = cluster
            .series()
            .iter()
            .filter(|d| d.family == Family::ContainerCpu);
        assert!(cpu.clone().all(|d| d.labels.get("cpu") == Some("total")));
    }
}

#[test]
fn rollout_replaces_pods_and_old_series_go_stale() {
    let spec = ClusterSpec {
        stale_markers: true,
        ..tiny(LabelStyle::Legacy2018)
    };
    let n = spec.n_scrapes();
    let cluster = build(&spec);
    let topo = cluster.topology();
    let coredns: Vec<_> = topo
        .replica_sets
        .iter()
        .filter(|rs| rs.deployment == "coredns")
        .collect();
    assert_eq!(coredns.len(), 3, "history, current and rolled-out revision");
    let new_rs = coredns
        .iter()
        .find(|rs| rs.object.start > 0)
        .map(|rs| rs.name.clone())
        .unwrap_or_default();
    let old_pods: Vec<_> = topo
        .pods
        .iter()
        .filter(|p| p.namespace == "kube-system" && p.owner_kind == OwnerKind::ReplicaSet)
        .filter(|p| p.name.starts_with("coredns-") && p.owner_name != new_rs)
        .collect();
    let new_pods: Vec<_> = topo
        .pods
        .iter()
        .filter(|p| p.owner_name == new_rs)
        .collect();
    assert_eq!(old_pods.len(), 2);
    assert_eq!(new_pods.len(), 2);
    assert!(old_pods
        .iter()
        .all(|p| p.object.start == 0 && p.object.end < n));
    assert!(new_pods
        .iter()
        .all(|p| p.object.start > 0 && p.object.end == n));
    let old_names: BTreeSet<&str> = old_pods.iter().map(|p| p.name.as_str()).collect();
    let mut checked = 0;
    cluster.for_each_series(|def, samples| {
        let pod = def
            .labels
            .get("pod_name")
            .or_else(|| def.labels.get("pod"))
            .unwrap_or("");
        if !old_names.contains(pod) {
            return;
        }
        let end = def.spans.last().map_or(0, |s| s.end);
        let stale_t = spec.scrape_time(end);
        let (last, before) = samples
            .split_last()
            .unwrap_or_else(|| panic!("{} has samples", def.labels));
        assert!(
            is_stale_nan(last.v),
            "{}: a stale marker ends the series",
            def.labels
        );
        assert_eq!(last.t, stale_t);
        assert!(before.iter().all(|s| !s.v.is_nan() && s.t < stale_t));
        checked += 1;
    });
    // Per old pod: containers x 2 metrics, plus owner and info rows from both KSM replicas.
    assert!(checked >= 2 * (2 * 2 + 4), "checked {checked}");
}

#[test]
fn statefulset_pod_recreated_under_the_same_name_keeps_its_legacy_owner_series() {
    let cluster = build(&ClusterSpec::preset(Size::Small));
    let recreated: Vec<_> = cluster
        .series()
        .iter()
        .filter(|d| {
            d.family == Family::KubePodOwner && d.labels.get("owner_kind") == Some("StatefulSet")
        })
        .filter(|d| d.spans.len() == 2)
        .collect();
    assert!(
        !recreated.is_empty(),
        "the rolled StatefulSet's pods have a one-scrape gap"
    );
    for d in recreated {
        let (a, b) = (d.spans[0], d.spans[1]);
        assert_eq!(a.end + 1, b.start, "{}", d.labels);
    }
}

#[test]
fn large_preset_is_the_benchmark_size() {
    let stats = build(&ClusterSpec::preset(Size::Large)).stats();
    assert_eq!(stats.scrapes, 480, "2 h at 15 s");
    assert!((5_500..=6_100).contains(&stats.pods), "{stats:?}");
    assert!((68_000..=74_000).contains(&stats.series), "{stats:?}");
    assert!(
        (27_000_000..=33_000_000).contains(&stats.samples),
        "{stats:?}"
    );
    let small = build(&ClusterSpec::preset(Size::Small)).stats();
    assert!((20..=60).contains(&small.pods), "{small:?}");
}

#[test]
fn invalid_specs_are_rejected() {
    let base = ClusterSpec::preset(Size::Tiny);
    for bad in [
        ClusterSpec {
            nodes: 0,
            ..base.clone()
        },
        ClusterSpec {
            interval_ms: 0,
            ..base.clone()
        },
        ClusterSpec {
            duration_ms: 1,
            ..base.clone()
        },
        ClusterSpec {
            replicas_min: 3,
            replicas_max: 2,
            ..base.clone()
        },
        ClusterSpec {
            ksm_replicas: 0,
            ..base.clone()
        },
        ClusterSpec {
            rollout_fraction: 1.5,
            ..base.clone()
        },
    ] {
        assert!(
            matches!(Cluster::build(&bad), Err(Error::InvalidSpec(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn new_counters_start_close_to_zero_so_rate_extrapolation_is_version_independent() {
    // Prometheus 2.42 and 3.x extrapolate `rate` alike when a counter's zero point lies less
    // than half an interval before its first sample: first value / increment < 0.5.
    let cluster = build(&ClusterSpec::preset(Size::Small));
    let dt = cluster.spec().interval_ms as f64 / 1000.0;
    let mut new_series = 0;
    cluster.for_each_series(|def, samples| {
        let crate::ValueModel::Counter { cores, .. } = def.model else {
            return;
        };
        let starts_inside = def.spans.first().is_some_and(|s| s.start > 0);
        let step = cores * dt;
        if starts_inside {
            new_series += 1;
            let first = samples.first().map_or(f64::NAN, |s| s.v);
            assert!(
                first > 0.0 && first < 0.15 * step,
                "{}: first {first}, step {step}",
                def.labels
            );
        }
        let start = cluster.spec().start_ms;
        for pair in samples.windows(2) {
            let k = u32::try_from((pair[1].t - start) / cluster.spec().interval_ms).unwrap_or(0);
            if !def.resets.contains(&k) {
                let inc = pair[1].v - pair[0].v;
                assert!(
                    inc >= 0.3 * step * (1.0 - 1e-9),
                    "{}: increment {inc} < 0.3 * {step}",
                    def.labels
                );
            }
        }
    });
    assert!(
        new_series > 0,
        "the small cluster has containers started inside the range"
    );
}
