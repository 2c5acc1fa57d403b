//! `promlite remote-write`'s library API pushes the small generated cluster into a real
//! VictoriaMetrics: every series and sample arrives (VictoriaMetrics' own export compared
//! sample by sample with promlite's store), and queries answer the same in both.

mod common;

use std::collections::BTreeMap;

use promlite_remote::sender::{push, PushOptions};

/// VictoriaMetrics' `/api/v1/export` JSON lines as `labels text -> [(t, value)]`.
fn export(base: &str, start_ms: i64, end_ms: i64) -> BTreeMap<String, Vec<(i64, f64)>> {
    let (status, body) = common::get(
        base,
        &format!(
            "/api/v1/export?match[]=%7B__name__%3D~%22.%2B%22%7D&start={}&end={}",
            start_ms / 1000,
            end_ms / 1000 + 1
        ),
    );
    assert_eq!(status, 200, "{body}");
    let mut out = BTreeMap::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        let pairs: Vec<(String, String)> = json["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let labels = promlite::Labels::from_pairs(pairs).to_string();
        let timestamps = json["timestamps"].as_array().unwrap();
        let values = json["values"].as_array().unwrap();
        let samples: Vec<(i64, f64)> = timestamps
            .iter()
            .zip(values)
            .map(|(t, v)| (t.as_i64().unwrap(), v.as_f64().unwrap_or(f64::NAN)))
            .collect();
        out.entry(labels).or_insert_with(Vec::new).extend(samples);
    }
    for samples in out.values_mut() {
        samples.sort_by_key(|s| s.0);
    }
    out
}

#[test]
fn small_cluster_arrives_whole_in_victoriametrics() {
    let Some(vm) = common::start_victoria("push small cluster to VictoriaMetrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = common::cluster_db(promlite_cluster::Size::Small, dir.path());
    let (start, end) = db.time_range().unwrap();
    let mut options = PushOptions::new(format!("{}/api/v1/write", vm.base()), start, end);
    options.max_samples_per_send = 500;
    let stats = push(&db, &options, |_| {}).unwrap();
    let expected = common::stored(&db, r#"{__name__=~".+"}"#, start, end);
    let expected_samples: usize = expected.iter().map(|(_, s)| s.len()).sum();
    assert_eq!(stats.samples_sent as usize, expected_samples, "{stats:?}");
    assert_eq!(stats.samples_rejected, 0);
    assert_eq!(stats.series as usize, expected.len());

    let (status, _) = common::get(&vm.base(), "/internal/force_flush");
    assert_eq!(status, 200);
    // Flushed data becomes searchable within a second or two.
    let mut got = BTreeMap::new();
    let complete = common::wait_until(std::time::Duration::from_secs(30), || {
        got = export(&vm.base(), start, end);
        got.values().map(Vec::len).sum::<usize>() >= expected_samples
    });
    assert!(
        complete,
        "VictoriaMetrics holds {} of {expected_samples} samples",
        got.values().map(Vec::len).sum::<usize>()
    );

    // Sample by sample. VictoriaMetrics keeps staleness markers (exported as NaN) and stores
    // values as decimals of at most 12 significant digits (its documented lossy float
    // compression), so values compare to a relative 1e-11; timestamps and counts exactly.
    assert_eq!(got.len(), expected.len(), "series counts differ");
    for (labels, samples) in &expected {
        let theirs = got
            .get(labels)
            .unwrap_or_else(|| panic!("{labels} missing in VictoriaMetrics"));
        let ours: Vec<(i64, f64)> = samples
            .iter()
            .map(|&(t, bits)| (t, f64::from_bits(bits)))
            .collect();
        assert_eq!(theirs.len(), ours.len(), "{labels}: sample counts differ");
        for (a, b) in theirs.iter().zip(&ours) {
            assert_eq!(a.0, b.0, "{labels}: timestamps differ");
            let close = (a.1 - b.1).abs() <= 1e-11 * b.1.abs().max(1e-300);
            assert!(
                a.1 == b.1 || close || (a.1.is_nan() && b.1.is_nan()),
                "{labels} at {}: {} vs {}",
                a.0,
                a.1,
                b.1
            );
        }
    }

    // The workload queries in VictoriaMetrics' MetricsQL against promlite's PromQL answers.
    // MetricsQL's rate() neither extrapolates to the window edges nor ignores the sample
    // before the window (VictoriaMetrics documents this), so queries over rate() legitimately
    // differ; every other workload query must agree.
    let promlite_server = common::start_promlite(&db);
    let ours = format!("http://{}", promlite_server.local_addr());
    let mut agree = Vec::new();
    let mut differ = Vec::new();
    let mut must_agree = Vec::new();
    for (name, query) in common::workload_queries() {
        if !query.contains("rate(") {
            must_agree.push(name.clone());
        }
        let mut verdict = Ok(());
        for offset in [607_500, 1_822_500, 3_007_500] {
            let theirs = common::instant(&vm.base(), &query, start + offset);
            let mine = common::instant(&ours, &query, start + offset);
            verdict = verdict.and(common::compare(&mine, &theirs));
        }
        match verdict {
            Ok(()) => agree.push(name),
            Err(why) => differ.push(format!("{name}: {why}")),
        }
    }
    eprintln!(
        "agree: {agree:?}\ndiffer (rate semantics):\n{}",
        differ.join("\n")
    );
    assert!(must_agree.len() >= 5, "{must_agree:?}");
    for name in &must_agree {
        assert!(
            agree.contains(name),
            "{name} differs in VictoriaMetrics:\n{}",
            differ.join("\n")
        );
    }
    promlite_server.shutdown();
    drop(vm);
}
