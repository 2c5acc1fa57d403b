//! A real Prometheus 2.42 scrapes Debian's node exporter every second and remote-writes to
//! promlite's `/api/v1/write`. After a short run, promlite holds exactly the series and samples
//! Prometheus's own TSDB holds (read through Prometheus's remote read endpoint, bit for bit,
//! staleness markers included) over `[first sample, T]`, where `T` is 5 s before the
//! comparison: the in-flight tail after `T` is excluded, and the test waits (up to 60 s) for
//! Prometheus's queue to deliver everything up to `T` before it compares.
//!
//! Prometheus also sends its targets' metric metadata (`WriteRequest.metadata`, every second
//! here): promlite's `/api/v1/metadata` then lists exactly the (metric, type, help, unit) set
//! Prometheus's own `/api/v1/metadata` lists.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlite_remote::codec::{decode_read_response, encode_read_request, ReadQuery};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn prometheus_raw(
    base: &str,
    selector: &str,
    start: i64,
    end: i64,
) -> Vec<(String, Vec<(i64, u64)>)> {
    let body = encode_read_request(&[ReadQuery {
        start,
        end,
        matchers: promlite::parse_selector(selector).unwrap(),
    }]);
    let mut response = common::agent()
        .post(&format!("{base}/api/v1/read"))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .send(&body[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    let mut out: Vec<_> = decode_read_response(&bytes, 1 << 30).unwrap()[0]
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
fn promlite_holds_what_prometheus_scraped() {
    let test = "Prometheus remote_write into promlite";
    let Some(exporter) = common::start_node_exporter(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = promlite::Db::open(dir.path(), promlite::Options::default()).unwrap();
    let server = common::start_promlite(&db);
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n\
         scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['{}']\n\
         remote_write:\n  - url: http://{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 30ms\n      max_backoff: 1s\n    metadata_config:\n      send_interval: 1s\n",
        exporter.addr,
        server.local_addr()
    );
    let Some(prom) = common::start_prometheus(test, &config, &[]) else {
        return;
    };
    std::thread::sleep(Duration::from_secs(30));

    let selector = r#"{job="node"}"#;
    let until = now_ms() - 5_000;
    let theirs = prometheus_raw(&prom.base(), selector, 0, until);
    let their_samples: usize = theirs.iter().map(|(_, s)| s.len()).sum();
    assert!(
        theirs.len() > 50,
        "Prometheus scraped only {} series:\n{}",
        theirs.len(),
        prom.log_text()
    );
    assert!(
        their_samples > 50 * 20,
        "Prometheus holds only {their_samples} samples"
    );
    let mut ours = Vec::new();
    let arrived = common::wait_until(Duration::from_secs(60), || {
        ours = common::stored(&db, selector, 0, until);
        ours.iter().map(|(_, s)| s.len()).sum::<usize>() >= their_samples
    });
    let our_samples: usize = ours.iter().map(|(_, s)| s.len()).sum();
    assert!(
        arrived,
        "promlite holds {our_samples} of {their_samples} samples up to T\n{}",
        prom.log_text()
    );
    assert_eq!(ours.len(), theirs.len(), "series counts differ");
    assert_eq!(ours, theirs, "samples differ");
    eprintln!(
        "{} series, {their_samples} samples up to T = now - 5 s agree bit for bit",
        theirs.len()
    );

    let metadata_set =
        |body: &str| -> std::collections::BTreeSet<(String, String, String, String)> {
            let json: serde_json::Value = serde_json::from_str(body).unwrap();
            let mut out = std::collections::BTreeSet::new();
            for (metric, list) in json["data"].as_object().unwrap() {
                for m in list.as_array().unwrap() {
                    let f = |k: &str| m[k].as_str().unwrap().to_string();
                    out.insert((metric.clone(), f("type"), f("help"), f("unit")));
                }
            }
            out
        };
    let (status, body) = common::get(&prom.base(), "/api/v1/metadata");
    assert_eq!(status, 200, "{body}");
    let their_metadata = metadata_set(&body);
    assert!(their_metadata.len() > 50, "{their_metadata:?}");
    let ours_url = format!("http://{}", server.local_addr());
    let mut our_metadata = Default::default();
    let arrived = common::wait_until(Duration::from_secs(30), || {
        our_metadata = metadata_set(&common::get(&ours_url, "/api/v1/metadata").1);
        our_metadata == their_metadata
    });
    assert!(
        arrived,
        "metadata differs; promlite only: {:?}; Prometheus only: {:?}",
        our_metadata.difference(&their_metadata).collect::<Vec<_>>(),
        their_metadata.difference(&our_metadata).collect::<Vec<_>>()
    );
    drop(prom);
    server.shutdown();
}
