//! Property test: render → parse gives back the same name, labels, value and timestamp, for
//! arbitrary UTF-8 metric and label names and values with escapes, in both formats.

use promlite_expfmt::render::{write_eof, write_labels_sample, write_sample};
use promlite_expfmt::{Entry, Format, Parser};
use promlite_model::Labels;
use proptest::prelude::*;

/// Names: mostly legacy ones, sometimes arbitrary UTF-8 that needs quoting.
fn name(legacy: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => legacy,
        1 => "[a-z.\"\\\\\n\t{}=, #é日🦀-]{1,12}",
        1 => any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

/// Label values: arbitrary UTF-8, biased towards the characters that need escaping.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ./:_-]{0,20}",
        "[a\"\\\\\n\r\t }{,=#é日🦀]{0,12}",
        any::<String>(),
    ]
}

fn sample_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        any::<f64>(),
        (-1e6..1e6f64),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp_ms: Option<i64>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        name("[a-zA-Z_:][a-zA-Z0-9_:]{0,15}"),
        proptest::collection::btree_map(name("[a-zA-Z_][a-zA-Z0-9_]{0,10}"), value(), 0..6),
        sample_value(),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(name, labels, value, timestamp_ms)| Case {
            name,
            // `__name__` would duplicate the metric name; the map already keeps names unique.
            labels: labels
                .into_iter()
                .filter(|(n, _)| n != "__name__")
                .collect(),
            value,
            timestamp_ms,
        })
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn check_roundtrip(cases: &[Case], format: Format) -> Result<(), TestCaseError> {
    let mut text = String::new();
    for c in cases {
        let pairs = c.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        write_sample(&mut text, &c.name, pairs, c.value, c.timestamp_ms, format).unwrap();
    }
    if format == Format::OpenMetrics {
        write_eof(&mut text).unwrap();
    }
    let mut parser = Parser::new(&text, format);
    let mut i = 0;
    loop {
        let entry = parser
            .next_entry()
            .map_err(|e| TestCaseError::fail(format!("{e} in {text:?}")))?;
        match entry {
            None => break,
            Some(Entry::Eof) => {}
            Some(Entry::Sample(s)) => {
                let c = cases
                    .get(i)
                    .ok_or_else(|| TestCaseError::fail("too many samples"))?;
                i += 1;
                prop_assert_eq!(s.name, c.name.as_str());
                let got: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|p| (p.name.to_string(), p.value.to_string()))
                    .collect();
                prop_assert_eq!(&got, &c.labels);
                prop_assert!(
                    same_value(s.value, c.value),
                    "value {} != {}",
                    s.value,
                    c.value
                );
                prop_assert_eq!(s.timestamp_ms, c.timestamp_ms);
                let expected = Labels::from_pairs(
                    std::iter::once(("__name__".to_string(), c.name.clone()))
                        .chain(c.labels.iter().cloned()),
                );
                prop_assert_eq!(
                    s.to_labels()
                        .map_err(|e| TestCaseError::fail(e.to_string()))?,
                    expected
                );
            }
            Some(other) => return Err(TestCaseError::fail(format!("unexpected entry {other:?}"))),
        }
    }
    prop_assert_eq!(i, cases.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn prometheus_render_parse_roundtrip(cases in proptest::collection::vec(case(), 1..8)) {
        check_roundtrip(&cases, Format::Prometheus)?;
    }

    #[test]
    fn openmetrics_render_parse_roundtrip(cases in proptest::collection::vec(case(), 1..8)) {
        check_roundtrip(&cases, Format::OpenMetrics)?;
    }

    #[test]
    fn labels_render_parse_roundtrip(
        pairs in proptest::collection::vec((name("[a-z_]{1,8}"), value()), 0..6),
        metric in name("[a-z_:]{1,12}"),
        v in sample_value(),
    ) {
        let labels = Labels::from_pairs(
            pairs.into_iter().filter(|(n, _)| n != "__name__").chain(std::iter::once(("__name__".to_string(), metric))),
        );
        let mut text = String::new();
        write_labels_sample(&mut text, &labels, v, None, Format::Prometheus).unwrap();
        let mut parser = Parser::new(&text, Format::Prometheus);
        let Some(Entry::Sample(s)) = parser.next_entry().map_err(|e| TestCaseError::fail(e.to_string()))? else {
            return Err(TestCaseError::fail("no sample"));
        };
        prop_assert_eq!(s.to_labels().map_err(|e| TestCaseError::fail(e.to_string()))?, labels);
        prop_assert!(same_value(s.value, v));
    }
}
