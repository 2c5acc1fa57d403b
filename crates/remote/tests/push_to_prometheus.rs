//! The sender pushes the small generated cluster into a real Prometheus 2.42
//! (`--web.enable-remote-write-receiver`): every series and sample arrives bit for bit
//! (read back through Prometheus's own remote read endpoint, staleness markers included), and
//! the workload queries (`testdata/workload`) answer exactly the same in Prometheus as in
//! promlite's HTTP API.

mod common;

use promlite_remote::codec::{decode_read_response, encode_read_request, ReadQuery};
use promlite_remote::sender::{push, PushOptions};

/// Every raw sample Prometheus holds in `[start, end]`, through its remote read endpoint.
fn prometheus_raw(base: &str, start: i64, end: i64) -> Vec<(String, Vec<(i64, u64)>)> {
    let body = encode_read_request(&[ReadQuery {
        start,
        end,
        matchers: promlite::parse_selector(r#"{__name__=~".+"}"#).unwrap(),
    }]);
    let mut response = common::agent()
        .post(&format!("{base}/api/v1/read"))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Read-Version", "0.1.0")
        .send(&body[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    let results = decode_read_response(&bytes, 1 << 30).unwrap();
    assert_eq!(results.len(), 1);
    let mut out: Vec<_> = results[0]
        .iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn small_cluster_arrives_whole_in_prometheus_and_queries_agree() {
    let Some(prom) = common::start_prometheus(
        "push small cluster to Prometheus",
        "global: {}\n",
        &["--web.enable-remote-write-receiver"],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = common::cluster_db(promlite_cluster::Size::Small, dir.path());
    let (start, end) = db.time_range().unwrap();
    let mut options = PushOptions::new(format!("{}/api/v1/write", prom.base()), start, end);
    options.max_samples_per_send = 500;
    options.checkpoint = Some(dir.path().join("checkpoint.json"));
    let stats = push(&db, &options, |_| {}).unwrap();
    assert_eq!(stats.samples_rejected, 0, "{stats:?}\n{}", prom.log_text());

    let expected = common::stored(&db, r#"{__name__=~".+"}"#, start, end);
    let expected_samples: usize = expected.iter().map(|(_, s)| s.len()).sum();
    assert_eq!(stats.samples_sent as usize, expected_samples);
    let got = prometheus_raw(&prom.base(), start, end);
    assert_eq!(got.len(), expected.len(), "series counts differ");
    assert_eq!(got, expected, "samples differ");

    // A rerun with the same checkpoint finds every window done and sends nothing new.
    let again = push(&db, &options, |_| {}).unwrap();
    assert_eq!(again.windows_resumed, again.windows_total);
    assert_eq!(again.requests, 0);

    let promlite_server = common::start_promlite(&db);
    let ours = format!("http://{}", promlite_server.local_addr());
    let queries = common::workload_queries();
    assert!(queries.len() >= 10, "{queries:?}");
    let mut compared = 0;
    for (name, query) in &queries {
        for offset in [607_500, 1_822_500, 3_007_500] {
            let t = start + offset;
            let theirs = common::instant(&prom.base(), query, t);
            let mine = common::instant(&ours, query, t);
            common::assert_same(&mine, &theirs, &format!("{name} at +{offset} ms"));
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
        common::assert_same(&mine, &theirs, &format!("{name} range"));
        compared += theirs.len();
    }
    assert!(compared > 100, "only {compared} series compared");
    promlite_server.shutdown();
}
