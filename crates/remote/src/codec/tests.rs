//! Codec tests: round trips, the frozen fixture, and every kind of bad body.

use prost::Message as _;

use super::*;

fn series(name: &str, job: &str, samples: &[(i64, f64)]) -> SeriesSamples {
    SeriesSamples {
        labels: Labels::from_pairs([("__name__", name), ("job", job)]),
        samples: samples.iter().map(|&(t, v)| Sample { t, v }).collect(),
    }
}

#[test]
fn write_requests_round_trip_with_stale_markers_bit_exact() {
    let input = vec![
        series("up", "api", &[(1_000, 1.0), (2_000, promlite::STALE_NAN)]),
        series("temp", "lab", &[(-5, f64::INFINITY), (7, 1e-300)]),
    ];
    let body = encode_write_request(&input);
    let batch = decode_write_request(&body, 1 << 20).unwrap();
    assert_eq!(batch.series.len(), 2);
    for (got, want) in batch.series.iter().zip(&input) {
        assert_eq!(got.labels, want.labels);
        let bits = |s: &SeriesSamples| -> Vec<(i64, u64)> {
            s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect()
        };
        assert_eq!(bits(got), bits(want));
    }
}

/// `testdata/remote/write_request_v1.bin`: two series hand-encoded per `prompb/types.proto`
/// (field numbers written out below, not produced by our encoder), snappy-compressed.
#[test]
fn frozen_fixture_decodes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/remote/write_request_v1.bin"
    );
    let body = std::fs::read(path).unwrap();
    let batch = decode_write_request(&body, 1 << 20).unwrap();
    assert_eq!(
        batch.series,
        vec![
            series(
                "up",
                "node",
                &[(1_700_000_000_000, 1.0), (1_700_000_015_000, 0.0)]
            ),
            SeriesSamples {
                labels: Labels::from_pairs([("__name__", "node_load1"), ("instance", "a:9100")]),
                samples: vec![Sample {
                    t: 1_700_000_000_000,
                    v: 0.25
                }],
            },
        ]
    );
}

/// Builds the fixture's protobuf bytes by hand: tags and lengths per `prompb/types.proto`.
fn hand_encoded_fixture() -> Vec<u8> {
    fn field_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
        out.push((tag << 3) | 2);
        prost::encoding::encode_varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }
    fn label(name: &str, value: &str) -> Vec<u8> {
        let mut out = Vec::new();
        field_bytes(&mut out, 1, name.as_bytes());
        field_bytes(&mut out, 2, value.as_bytes());
        out
    }
    fn sample(v: f64, t: i64) -> Vec<u8> {
        let mut out = vec![(1 << 3) | 1];
        out.extend_from_slice(&v.to_le_bytes());
        out.push(2 << 3);
        prost::encoding::encode_varint(t as u64, &mut out);
        out
    }
    fn ts(labels: &[(&str, &str)], samples: &[(f64, i64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (n, v) in labels {
            field_bytes(&mut out, 1, &label(n, v));
        }
        for &(v, t) in samples {
            field_bytes(&mut out, 2, &sample(v, t));
        }
        out
    }
    let mut request = Vec::new();
    field_bytes(
        &mut request,
        1,
        &ts(
            &[("__name__", "up"), ("job", "node")],
            &[(1.0, 1_700_000_000_000), (0.0, 1_700_000_015_000)],
        ),
    );
    field_bytes(
        &mut request,
        1,
        &ts(
            &[("__name__", "node_load1"), ("instance", "a:9100")],
            &[(0.25, 1_700_000_000_000)],
        ),
    );
    request
}

#[test]
fn fixture_matches_its_hand_encoding() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/remote/write_request_v1.bin"
    );
    if std::env::var_os("PROMLITE_WRITE_FIXTURES").is_some() {
        let body = snap::raw::Encoder::new()
            .compress_vec(&hand_encoded_fixture())
            .unwrap();
        std::fs::write(path, body).unwrap();
    }
    let body = std::fs::read(path).unwrap();
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    assert_eq!(raw, hand_encoded_fixture());
}

/// proto3 leaves out a double equal to 0.0, and -0.0 == 0.0: the sign of a negative zero is
/// lost on the wire (Prometheus's gogo-generated encoder does the same).
#[test]
fn negative_zero_arrives_as_zero() {
    let body = encode_write_request(&[series("z", "a", &[(1, -0.0)])]);
    let batch = decode_write_request(&body, 1 << 20).unwrap();
    assert_eq!(batch.series[0].samples[0].v.to_bits(), 0.0f64.to_bits());
}

#[test]
fn bad_snappy_is_a_snappy_error() {
    // A raw protobuf sent without compression: its first byte (0x0a) is read as a length
    // header and the rest is not a valid snappy stream.
    let raw = proto::WriteRequest::default().encode_to_vec();
    let err = decode_write_request(&[0x0a, 0x05, 0xff, 0xff], 1 << 20).unwrap_err();
    assert!(matches!(err, Error::Snappy { .. }), "{err}");
    assert!(err.to_string().starts_with("snappy:"), "{err}");
    // An empty body is not a snappy block either (Go's snappy says "corrupt input" too).
    assert!(raw.is_empty());
    let err = decode_write_request(&raw, 1 << 20).unwrap_err();
    assert!(matches!(err, Error::Snappy { .. }), "{err}");
    let err = decode_write_request(b"\xff\xff\xff\xff\xff\xff", 1 << 20).unwrap_err();
    assert!(matches!(err, Error::Snappy { .. }), "{err}");
}

#[test]
fn announced_size_over_the_limit_is_refused_before_decompressing() {
    let body = snap::raw::Encoder::new()
        .compress_vec(&vec![0u8; 10_000])
        .unwrap();
    let err = decode_write_request(&body, 1_000).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                len: 10_000,
                limit: 1_000
            }
        ),
        "{err}"
    );
}

#[test]
fn truncated_protobuf_names_the_field() {
    let full = proto::WriteRequest::decode(
        &*snap::raw::Decoder::new()
            .decompress_vec(&encode_write_request(&[series("up", "api", &[(1, 1.0)])]))
            .unwrap(),
    )
    .unwrap()
    .encode_to_vec();
    for cut in 1..full.len() {
        let body = snap::raw::Encoder::new()
            .compress_vec(&full[..cut])
            .unwrap();
        let err = decode_write_request(&body, 1 << 20).unwrap_err();
        match &err {
            Error::Protobuf { message, detail } => {
                assert_eq!(*message, "WriteRequest");
                assert!(!detail.is_empty());
            }
            other => panic!("cut at {cut}: expected a protobuf error, got {other}"),
        }
    }
}

#[test]
fn unknown_fields_are_skipped() {
    let mut raw = hand_encoded_fixture();
    // Field 15, varint: not in remote.proto; decoders must skip it.
    raw.extend_from_slice(&[15 << 3, 42]);
    let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    assert_eq!(
        decode_write_request(&body, 1 << 20).unwrap().series.len(),
        2
    );
}

#[test]
fn invalid_label_sets_are_refused_with_the_series_index() {
    let mut request = proto::WriteRequest::default();
    request
        .timeseries
        .push(series_to_proto(&series("up", "a", &[(1, 1.0)])));
    request.timeseries.push(proto::TimeSeries {
        labels: vec![
            proto::Label {
                name: "job".into(),
                value: "a".into(),
            },
            proto::Label {
                name: "job".into(),
                value: "b".into(),
            },
        ],
        ..Default::default()
    });
    let body = compress(&request.encode_to_vec());
    let err = decode_write_request(&body, 1 << 20).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidSeries {
                series_index: 1,
                ..
            }
        ),
        "{err}"
    );

    request.timeseries[1].labels = vec![proto::Label {
        name: "x".into(),
        value: String::new(),
    }];
    let err = decode_write_request(&compress(&request.encode_to_vec()), 1 << 20).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");

    request.timeseries[1].labels = vec![proto::Label {
        name: String::new(),
        value: "v".into(),
    }];
    let err = decode_write_request(&compress(&request.encode_to_vec()), 1 << 20).unwrap_err();
    assert!(err.to_string().contains("empty name"), "{err}");
}

#[test]
fn histograms_are_refused_not_dropped() {
    let mut ts = series_to_proto(&series("h", "a", &[]));
    ts.histograms.push(vec![0x08, 0x01]);
    let request = proto::WriteRequest {
        timeseries: vec![ts],
        metadata: Vec::new(),
    };
    let err = decode_write_request(&compress(&request.encode_to_vec()), 1 << 20).unwrap_err();
    assert!(
        matches!(
            err,
            Error::HistogramsUnsupported {
                series_index: 0,
                count: 1
            }
        ),
        "{err}"
    );
}

#[test]
fn read_requests_round_trip_and_check_matchers() {
    let queries = vec![ReadQuery {
        start: 10,
        end: 20,
        matchers: vec![
            Matcher::equal("__name__", "up"),
            Matcher::new(MatchOp::NotRegex, "job", "a|b").unwrap(),
        ],
    }];
    let decoded = decode_read_request(&encode_read_request(&queries), 1 << 20).unwrap();
    assert!(decoded.accepts_samples);
    assert_eq!(decoded.queries.len(), 1);
    assert_eq!((decoded.queries[0].start, decoded.queries[0].end), (10, 20));
    assert_eq!(decoded.queries[0].matchers, queries[0].matchers);

    let bad = proto::ReadRequest {
        queries: vec![proto::Query {
            start_timestamp_ms: 0,
            end_timestamp_ms: 1,
            matchers: vec![proto::LabelMatcher {
                r#type: 2,
                name: "a".into(),
                value: "(".into(),
            }],
            hints: None,
        }],
        accepted_response_types: Vec::new(),
    };
    let err = decode_read_request(&compress(&bad.encode_to_vec()), 1 << 20).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidMatcher {
                query_index: 0,
                matcher_index: 0,
                ..
            }
        ),
        "{err}"
    );

    let mut unknown = bad.clone();
    unknown.queries[0].matchers[0].r#type = 9;
    let err = decode_read_request(&compress(&unknown.encode_to_vec()), 1 << 20).unwrap_err();
    assert!(err.to_string().contains("unknown matcher type 9"), "{err}");

    let mut empty = bad;
    empty.queries[0].matchers.clear();
    let err = decode_read_request(&compress(&empty.encode_to_vec()), 1 << 20).unwrap_err();
    assert!(matches!(err, Error::NoMatchers(0)), "{err}");
}

#[test]
fn read_responses_round_trip() {
    let results = vec![vec![series("up", "a", &[(1, 1.0)])], vec![]];
    let decoded = decode_read_response(&encode_read_response(&results), 1 << 20).unwrap();
    assert_eq!(decoded, results);
}

proptest::proptest! {
    /// The fuzz targets' property on stable Rust: arbitrary bytes, raw or snappy-compressed,
    /// and valid bodies with bytes overwritten, decode to a value or a typed error.
    #[test]
    fn arbitrary_bodies_never_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        flips in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 0..8),
    ) {
        let compressed = compress(&bytes);
        for body in [&bytes, &compressed] {
            let _ = decode_write_request(body, 1 << 16);
            let _ = decode_read_request(body, 1 << 16);
            let _ = decode_read_response(body, 1 << 16);
        }
        let mut raw = hand_encoded_fixture();
        for &(at, byte) in &flips {
            let len = raw.len();
            raw[at % len] = byte;
        }
        let _ = decode_write_request(&compress(&raw), 1 << 16);
        let _ = decode_read_request(&compress(&raw), 1 << 16);
    }
}

#[test]
fn metadata_round_trips_and_unknown_types_decode_as_unknown() {
    let families = vec![
        (
            "http_requests_total".to_string(),
            promlite::MetricMetadata {
                metric_type: "counter".into(),
                help: "Requests.".into(),
                unit: String::new(),
            },
        ),
        (
            "temp".to_string(),
            promlite::MetricMetadata {
                metric_type: "stateset".into(),
                help: String::new(),
                unit: "celsius".into(),
            },
        ),
    ];
    let body = encode_write_request_with_metadata(&[series("up", "a", &[(1, 1.0)])], &families);
    let batch = decode_write_request(&body, 1 << 20).unwrap();
    assert_eq!(batch.metadata, 2);
    assert_eq!(batch.families, families);
    // A type number this build does not know, and an entry without a name (dropped).
    let request = proto::WriteRequest {
        timeseries: Vec::new(),
        metadata: vec![
            proto::MetricMetadata {
                r#type: 42,
                metric_family_name: "x".into(),
                help: "h".into(),
                unit: String::new(),
            },
            proto::MetricMetadata {
                r#type: 1,
                metric_family_name: String::new(),
                help: String::new(),
                unit: String::new(),
            },
        ],
    };
    let batch = decode_write_request(&compress(&request.encode_to_vec()), 1 << 20).unwrap();
    assert_eq!(batch.families.len(), 1);
    assert_eq!(batch.families[0].1.metric_type, "unknown");
}
