//! `/federate` serves what Prometheus 2.42 serves: the same series (values of every text
//! form, escaped label values, a series ended by a staleness marker, one older than the
//! lookback) are pushed into a real Prometheus and stored in promlite, and both `/federate`
//! bodies are compared byte for byte, for several `match[]` combinations, plus the status of
//! a request without `match[]` and of a bad selector.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use promlite::{Labels, Sample};
use promlite_remote::codec::{encode_write_request, SeriesSamples};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn s(pairs: &[(&str, &str)], samples: Vec<(i64, f64)>) -> SeriesSamples {
    SeriesSamples {
        labels: Labels::from_pairs(pairs.iter().copied()),
        samples: samples.into_iter().map(|(t, v)| Sample { t, v }).collect(),
    }
}

#[test]
fn federation_bodies_match_prometheus_byte_for_byte() {
    let Some(prom) = common::start_prometheus(
        "/federate against Prometheus",
        "global: {}\n",
        &["--web.enable-remote-write-receiver"],
    ) else {
        return;
    };
    let db = promlite::Db::in_memory();
    let server = common::start_promlite(&db);
    let ours = format!("http://{}", server.local_addr());
    let now = now_ms();
    let recent = |v: f64| vec![(now - 60_000, 0.5), (now - 30_000, v)];
    let values = [
        1.0,
        0.0,
        -1.0,
        0.1,
        1e6,
        1234567.0,
        123456.0,
        1.5e-7,
        0.0001,
        0.00001,
        1e21,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -2.5e-300,
        100.25,
    ];
    let mut series = Vec::new();
    for (i, v) in values.iter().enumerate().take(11) {
        series.push(s(
            &[("__name__", "fed_value"), ("i", &format!("{i:02}"))],
            recent(*v),
        ));
    }
    for (i, v) in values.iter().enumerate().skip(11) {
        series.push(s(
            &[("__name__", "fed_other"), ("i", &format!("{i:02}"))],
            recent(*v),
        ));
    }
    series.push(s(
        &[
            ("__name__", "fed_escape"),
            ("path", "C:\\dir \"quoted\"\nline two"),
            ("zone", "é"),
        ],
        recent(3.0),
    ));
    series.push(s(
        &[("__name__", "fed_stale"), ("job", "gone")],
        vec![(now - 60_000, 1.0), (now - 30_000, promlite::STALE_NAN)],
    ));
    series.push(s(
        &[("__name__", "fed_old"), ("job", "old")],
        vec![(now - 400_000, 1.0)],
    ));
    series.push(s(&[("job", "nameless")], recent(7.0)));
    series.push(s(&[("__name__", "Fed_upper"), ("a", "b")], recent(2.0)));
    let body = encode_write_request(&series);
    for base in [&prom.base(), &ours] {
        let (status, text) =
            common::post_bytes(&format!("{base}/api/v1/write"), &body, Some("snappy"));
        assert_eq!(status, 204, "{base}: {text}");
    }

    let cases = [
        "match[]=%7B__name__%3D~%22fed_.%2B%7CFed_.%2B%22%7D",
        "match[]=fed_value&match[]=%7Bi%3D~%2201%7C12%22%7D",
        "match[]=fed_escape",
        "match[]=fed_stale&match[]=fed_old",
        "match[]=%7Bjob%3D%22nameless%22%7D",
        "match[]=%7B__name__%3D~%22.%2B%22%7D&match[]=fed_value",
    ];
    for query in cases {
        let (their_status, theirs) = common::get(&prom.base(), &format!("/federate?{query}"));
        let (our_status, mine) = common::get(&ours, &format!("/federate?{query}"));
        assert_eq!((our_status, their_status), (200, 200), "{query}");
        // Prometheus also federates its own series (none here: it scrapes nothing), and no
        // external labels are configured, so the bodies must be equal.
        assert_eq!(mine, theirs, "{query}");
        // Left out entirely: the nameless series (skipped), the one whose newest sample is a
        // staleness marker, and the one older than the 5 m lookback.
        let expect_empty = query.contains("nameless") || query.contains("stale");
        assert_eq!(mine.is_empty(), expect_empty, "{query}: {mine}");
    }
    let (their_status, theirs) = common::get(&prom.base(), "/federate");
    let (our_status, mine) = common::get(&ours, "/federate");
    assert_eq!((our_status, mine.as_str()), (their_status, theirs.as_str()));
    let (their_status, _) = common::get(&prom.base(), "/federate?match[]=%7Bfoo");
    let (our_status, text) = common::get(&ours, "/federate?match[]=%7Bfoo");
    assert_eq!(our_status, their_status, "{text}");
    drop(prom);
    server.shutdown();
}
