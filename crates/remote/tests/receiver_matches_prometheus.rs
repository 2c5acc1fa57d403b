//! The remote write receiver answers as Prometheus 2.42's does: the same requests (good ones,
//! ones with out-of-order, duplicate and conflicting samples, and malformed bodies: bad snappy,
//! truncated protobuf, unknown fields, invalid labels) are sent to a real Prometheus
//! (`--web.enable-remote-write-receiver`) and to promlite's `/api/v1/write`; status codes
//! agree, and both hold the same samples afterwards, read back through each one's
//! `/api/v1/read` (which exercises promlite's remote read endpoint against Prometheus's).

mod common;

use promlite::{Labels, Sample};
use promlite_remote::codec::{
    decode_read_response, encode_read_request, encode_write_request, ReadQuery, SeriesSamples,
};
use prost::Message as _;

fn series(job: &str, samples: &[(i64, f64)]) -> SeriesSamples {
    SeriesSamples {
        labels: Labels::from_pairs([("__name__", "rw_test"), ("job", job)]),
        samples: samples.iter().map(|&(t, v)| Sample { t, v }).collect(),
    }
}

fn read_all(base: &str) -> Vec<(String, Vec<(i64, u64)>)> {
    let body = encode_read_request(&[ReadQuery {
        start: 0,
        end: 10_000_000,
        matchers: promlite::parse_selector("rw_test").unwrap(),
    }]);
    let mut response = common::agent()
        .post(&format!("{base}/api/v1/read"))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .send(&body[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{base}");
    assert_eq!(
        response
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("snappy")
    );
    let bytes = response.body_mut().read_to_vec().unwrap();
    let results = decode_read_response(&bytes, 1 << 30).unwrap();
    results[0]
        .iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect()
}

#[test]
fn statuses_and_stored_samples_match_prometheus() {
    let Some(prom) = common::start_prometheus(
        "remote write receiver against Prometheus",
        "global: {}\n",
        &["--web.enable-remote-write-receiver"],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = promlite::Db::open(dir.path(), promlite::Options::default()).unwrap();
    let server = common::start_promlite(&db);
    let ours = format!("http://{}/api/v1/write", server.local_addr());
    let theirs = format!("{}/api/v1/write", prom.base());

    let snappy = |raw: &[u8]| snap::raw::Encoder::new().compress_vec(raw).unwrap();
    let good = encode_write_request(&[series("a", &[(1_000, 1.0), (2_000, 2.0), (5_000, 5.0)])]);
    let good_raw = snap::raw::Decoder::new().decompress_vec(&good).unwrap();
    let fresh = encode_write_request(&[series("d", &[(8_000, 8.0)])]);
    let mut with_unknown = snap::raw::Decoder::new().decompress_vec(&fresh).unwrap();
    with_unknown.extend_from_slice(&[(14 << 3), 7]); // field 14, varint 7
    let duplicate_label = {
        let mut raw = Vec::new();
        // TimeSeries { labels: [job=x, job=y], samples: [{1, 1000}] } by hand.
        let label = |n: &str, v: &str| {
            let mut l = vec![0x0a, n.len() as u8];
            l.extend_from_slice(n.as_bytes());
            l.extend_from_slice(&[0x12, v.len() as u8]);
            l.extend_from_slice(v.as_bytes());
            l
        };
        let mut ts = Vec::new();
        for l in [
            label("__name__", "rw_test"),
            label("job", "x"),
            label("job", "y"),
        ] {
            ts.push(0x0a);
            ts.push(l.len() as u8);
            ts.extend(l);
        }
        let sample = promlite_remote::proto::Sample {
            value: 1.0,
            timestamp: 1_000,
        }
        .encode_to_vec();
        ts.push(0x12);
        ts.push(sample.len() as u8);
        ts.extend(sample);
        raw.push(0x0a);
        raw.push(ts.len() as u8);
        raw.extend(ts);
        raw
    };

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("first batch", good.clone()),
        ("the same batch again (exact duplicates)", good.clone()),
        (
            "a new series plus one out-of-order sample",
            encode_write_request(&[
                series("b", &[(1_000, 1.0)]),
                series("a", &[(3_000, 3.0), (6_000, 6.0)]),
            ]),
        ),
        (
            "a conflicting value at a stored timestamp",
            encode_write_request(&[series("a", &[(5_000, 50.0)])]),
        ),
        (
            "in order again",
            encode_write_request(&[series("a", &[(7_000, 7.0)]), series("c", &[(7_000, 1.0)])]),
        ),
        ("bad snappy", b"definitely not snappy".to_vec()),
        ("uncompressed protobuf", good_raw.clone()),
        (
            "truncated protobuf",
            snappy(&good_raw[..good_raw.len() - 3]),
        ),
        ("truncated snappy", good[..good.len() / 2].to_vec()),
        ("unknown field", snappy(&with_unknown)),
        ("empty body", Vec::new()),
        ("duplicate label name", snappy(&duplicate_label)),
    ];
    for (what, body) in &cases {
        let (their_status, their_text) = common::post_bytes(&theirs, body, Some("snappy"));
        let (our_status, our_text) = common::post_bytes(&ours, body, Some("snappy"));
        // One deliberate difference: Prometheus 2.42 answers a label name given twice with
        // 500 ("label name ... is not unique: invalid sample"), which makes senders retry a
        // request that can never succeed; promlite answers 400 (bad request, not retried).
        let their_status = if *what == "duplicate label name" {
            assert_eq!(their_status, 500, "{their_text}");
            400
        } else {
            their_status
        };
        assert_eq!(
            our_status, their_status,
            "{what}: promlite {our_status} {our_text:?}, Prometheus {their_status} {their_text:?}"
        );
        assert_eq!(
            read_all(&format!("http://{}", server.local_addr())),
            read_all(&prom.base()),
            "{what}: stored samples differ"
        );
        eprintln!("{what}: both {our_status}; promlite says {our_text:?}");
    }

    // Bodies over the server's limit are refused before they are read (Prometheus has no
    // limit, so this is promlite's own rule), and nothing stored is lost.
    let before = read_all(&format!("http://{}", server.local_addr()));
    assert!(!before.is_empty());
    let huge = vec![0u8; 9 << 20];
    let (status, text) = common::post_bytes(&ours, &huge, Some("snappy"));
    assert_eq!(status, 413, "{text}");
    // A small body announcing a huge decompressed size is refused from its header.
    let bomb = snappy(&vec![0u8; 100 << 20]);
    assert!(bomb.len() < 8 << 20);
    let (status, text) = common::post_bytes(&ours, &bomb, Some("snappy"));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("exceeds the limit"), "{text}");
    let (status, _) = common::post_bytes(&ours, &good, Some("gzip"));
    assert_eq!(status, 415);
    let (status, _) = common::get(&format!("http://{}", server.local_addr()), "/api/v1/write");
    assert_eq!(status, 405);
    assert_eq!(read_all(&format!("http://{}", server.local_addr())), before);

    // Everything acknowledged survives a restart (it was in the WAL before the 2xx).
    server.shutdown();
    drop(db);
    let db = promlite::Db::open(dir.path(), promlite::Options::default()).unwrap();
    let server = common::start_promlite(&db);
    assert_eq!(read_all(&format!("http://{}", server.local_addr())), before);
    server.shutdown();
}
