//! A real Prometheus 2.42 with `remote_read` pointing at promlite's `/api/v1/read` answers
//! queries over a range it never scraped (the small generated cluster, November 2023) with
//! promlite's data: raw selections and the workload queries equal promlite's own answers.

mod common;

#[test]
fn prometheus_answers_from_promlite_through_remote_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::cluster_db(promlite_cluster::Size::Small, dir.path());
    let (start, _) = db.time_range().unwrap();
    let server = common::start_promlite(&db);
    let ours = format!("http://{}", server.local_addr());
    let config =
        format!("global: {{}}\nremote_read:\n  - url: {ours}/api/v1/read\n    read_recent: true\n");
    let Some(prom) = common::start_prometheus("Prometheus remote_read from promlite", &config, &[])
    else {
        return;
    };
    let queries = [
        "kube_pod_owner",
        "rate(container_cpu_usage_seconds_total[1m])",
        r#"max(kube_pod_owner) by (owner_name, owner_kind, pod, namespace) * on(pod, namespace) group_right(owner_name, owner_kind) label_replace(sum(rate(container_cpu_usage_seconds_total[1m])) by (namespace, pod_name), "pod", "$1", "pod_name", "(.+)")"#,
        "count by (namespace) (kube_pod_info)",
    ];
    let mut compared = 0;
    for query in queries {
        for offset in [607_500, 1_822_500, 3_007_500] {
            let theirs = common::instant(&prom.base(), query, start + offset);
            let mine = common::instant(&ours, query, start + offset);
            common::assert_same(&mine, &theirs, &format!("{query} at +{offset}"));
            compared += theirs.len();
        }
        let theirs = common::range(
            &prom.base(),
            query,
            start + 1_507_500,
            start + 2_407_500,
            60,
        );
        let mine = common::range(&ours, query, start + 1_507_500, start + 2_407_500, 60);
        common::assert_same(&mine, &theirs, &format!("{query} range"));
        compared += theirs.len();
    }
    assert!(
        compared > 100,
        "only {compared} series compared:\n{}",
        prom.log_text()
    );
    // A raw range selection: every sample, as stored. The evaluation time is off the 15 s
    // scrape grid, so no sample sits on the range's left edge (Prometheus 2.42 includes that
    // edge, Prometheus 3 and promlite do not).
    let t = start + 1_207_500;
    let theirs = common::instant(&prom.base(), "kube_pod_owner[10m]", t);
    let mine = common::instant(&ours, "kube_pod_owner[10m]", t);
    assert!(!theirs.is_empty());
    assert_eq!(mine.len(), theirs.len());
    for (a, b) in mine.iter().zip(&theirs) {
        assert!(a == b, "raw samples differ:\n{a:?}\n{b:?}");
    }
    drop(prom);
    server.shutdown();
}
