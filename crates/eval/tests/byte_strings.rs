//! String literals whose escapes make invalid UTF-8 (`"a\xc5z"`) parse, as in Prometheus, and
//! fail at evaluation where a label name is needed, with Prometheus's messages.

use promlite_eval::{Engine, Error, Value};
use promlite_model::storage::MemStore;
use promlite_model::{Labels, Sample};

/// `m{version="1", src="a"}` and `m{version="2", src="b"}`, one sample at t=0.
fn store() -> MemStore {
    let db = MemStore::new();
    for (version, src) in [("1", "a"), ("2", "b")] {
        db.add(
            Labels::from_pairs([("__name__", "m"), ("version", version), ("src", src)]),
            Sample::new(0, 1.0),
        );
    }
    db
}

fn instant_err(query: &str) -> Error {
    match Engine::default().instant_query(&store(), query, 0) {
        Ok(out) => panic!("{query} evaluated to {:?}", out.value),
        Err(e) => e,
    }
}

fn instant_labels(query: &str) -> Vec<String> {
    let out = Engine::default()
        .instant_query(&store(), query, 0)
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    match out.value {
        Value::Vector(v) => v.iter().map(|s| s.labels.to_string()).collect(),
        other => panic!("{query}: expected a vector, got {other:?}"),
    }
}

#[test]
fn count_values_with_an_invalid_utf8_label_name_fails_at_evaluation() {
    // aggregators.test: `expect fail msg:invalid label name "a\xc5z"` (Go's %q of the bytes).
    let err = instant_err(r#"count_values("a\xc5z", version)"#);
    assert!(matches!(err, Error::Execution(_)), "{err:?}");
    assert_eq!(err.error_type(), "execution");
    assert_eq!(err.to_string(), r#"invalid label name "a\xc5z""#);

    let err = Engine::default()
        .range_query(&store(), r#"count_values("\377", m)"#, 0, 60_000, 15_000)
        .unwrap_err();
    assert_eq!(err.to_string(), r#"invalid label name "\xff""#);

    let err = instant_err(r#"count_values("", m)"#);
    assert_eq!(err.to_string(), r#"invalid label name """#);
}

#[test]
fn byte_escapes_that_form_utf8_are_ordinary_label_names() {
    // `\xc3\xa9` is the UTF-8 encoding of `é`; both samples have the value 1.
    assert_eq!(
        instant_labels(r#"count_values by (src) ("\xc3\xa9", m)"#),
        vec![
            r#"{src="a", "é"="1"}"#.to_string(),
            r#"{src="b", "é"="1"}"#.to_string()
        ]
    );
}

#[test]
fn label_functions_reject_invalid_utf8_label_names_and_regexes() {
    // functions.test: `label_replace(testmetric, "\xff", "", "src", "(.*)")` must fail. Prometheus
    // prints the raw bytes with %s; the message here shows them as U+FFFD.
    let err = instant_err(r#"label_replace(m, "\xff", "", "src", "(.*)")"#);
    assert_eq!(
        err.to_string(),
        "invalid destination label name in label_replace(): \u{fffd}"
    );
    let err = instant_err(r#"label_replace(m, "dst", "", "src", "a\xff")"#);
    assert_eq!(
        err.to_string(),
        "invalid regular expression in label_replace(): a\u{fffd}"
    );
    let err = instant_err(r#"label_join(m, "dst", "-", "src", "\xc5")"#);
    assert_eq!(
        err.to_string(),
        "invalid source label name in label_join(): \u{fffd}"
    );
    let err = instant_err(r#"label_join(m, "\xc5", "-", "src")"#);
    assert_eq!(
        err.to_string(),
        "invalid destination label name in label_join(): \u{fffd}"
    );
}

#[test]
fn invalid_utf8_values_are_shown_as_replacement_characters() {
    // Prometheus's JSON encoder writes invalid bytes as U+FFFD; promlite keeps strings as UTF-8.
    let out = Engine::default()
        .instant_query(&store(), r#""a\xc5z""#, 0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.value,
        Value::String {
            t: 0,
            v: "a\u{fffd}z".into()
        }
    );
    assert_eq!(
        instant_labels(r#"label_replace(m{src="a"}, "dst", "x\x80", "src", "(.*)")"#),
        vec!["{__name__=\"m\", dst=\"x\u{fffd}\", src=\"a\", version=\"1\"}".to_string()]
    );
}
