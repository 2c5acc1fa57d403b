//! Table-driven tests of every relabelling action against Prometheus's documented behaviour
//! (the cases mirror `model/relabel/relabel_test.go` and the configuration docs), plus the
//! configuration checks Prometheus makes.

use promlite_model::Labels;
use promlite_scrape::relabel::process_labels;
use promlite_scrape::RelabelConfig;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// Parses `yaml` (a list of relabel configs) and relabels `input`.
fn check(yaml: &str, input: &[(&str, &str)], expected: Option<&[(&str, &str)]>) {
    let configs: Vec<RelabelConfig> =
        serde_yaml_ng::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
    let got = process_labels(&labels(input), &configs);
    assert_eq!(got, expected.map(labels), "{yaml}");
}

fn config_error(yaml: &str) -> String {
    serde_yaml_ng::from_str::<Vec<RelabelConfig>>(yaml)
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string())
}

#[test]
fn replace_with_defaults_copies_the_joined_value() {
    // Default regex (.*), replacement $1, separator ";".
    check(
        "- source_labels: [a, b]\n  target_label: c\n",
        &[("a", "foo"), ("b", "bar")],
        Some(&[("a", "foo"), ("b", "bar"), ("c", "foo;bar")]),
    );
    check(
        "- source_labels: [a, b]\n  separator: \"\"\n  target_label: c\n",
        &[("a", "foo"), ("b", "bar")],
        Some(&[("a", "foo"), ("b", "bar"), ("c", "foobar")]),
    );
}

#[test]
fn replace_is_anchored_and_skips_on_no_match() {
    check(
        "- source_labels: [a]\n  regex: \"f(.*)\"\n  target_label: d\n  replacement: \"ch${1}-ch${1}\"\n",
        &[("a", "foo")],
        Some(&[("a", "foo"), ("d", "choo-choo")]),
    );
    // "o" matches inside "foo" but not the whole value: anchored, so no change.
    check(
        "- source_labels: [a]\n  regex: \"o\"\n  target_label: d\n",
        &[("a", "foo")],
        Some(&[("a", "foo")]),
    );
}

#[test]
fn replace_with_an_empty_result_deletes_the_target() {
    check(
        "- source_labels: [a]\n  regex: \"(.*)\"\n  target_label: b\n  replacement: \"\"\n",
        &[("a", "foo"), ("b", "bar")],
        Some(&[("a", "foo")]),
    );
    // A missing source label is the empty string; (.*) matches it and $1 is empty.
    check(
        "- source_labels: [missing]\n  target_label: b\n",
        &[("a", "foo"), ("b", "bar")],
        Some(&[("a", "foo")]),
    );
}

#[test]
fn replace_expands_the_target_label_and_ignores_invalid_names() {
    check(
        "- source_labels: [a]\n  regex: \"some-([^-]+)-([^,]+)\"\n  target_label: \"${1}\"\n  replacement: \"${2}\"\n",
        &[("a", "some-name-value")],
        Some(&[("a", "some-name-value"), ("name", "value")]),
    );
    // The expanded name "1-x" is not a valid label name: nothing changes.
    check(
        "- source_labels: [a]\n  regex: \"(.*)\"\n  target_label: \"l_$1\"\n",
        &[("a", "1-x")],
        Some(&[("a", "1-x")]),
    );
    // `$1x` names the group "1x", which does not exist: it expands to nothing (Go's Expand).
    check(
        "- source_labels: [a]\n  regex: \"(.*)\"\n  target_label: b\n  replacement: \"$1x\"\n",
        &[("a", "foo"), ("b", "bar")],
        Some(&[("a", "foo")]),
    );
}

#[test]
fn keep_and_drop_match_the_whole_value() {
    let input = [("a", "foo")];
    check(
        "- source_labels: [a]\n  regex: \"f.*\"\n  action: keep\n",
        &input,
        Some(&input),
    );
    check(
        "- source_labels: [a]\n  regex: \"f\"\n  action: keep\n",
        &input,
        None,
    );
    check(
        "- source_labels: [a]\n  regex: \"f.*\"\n  action: drop\n",
        &input,
        None,
    );
    check(
        "- source_labels: [a]\n  regex: \"o+\"\n  action: drop\n",
        &input,
        Some(&input),
    );
    // Action names are case-insensitive.
    check(
        "- source_labels: [a]\n  regex: \"f.*\"\n  action: Drop\n",
        &input,
        None,
    );
}

#[test]
fn keepequal_and_dropequal_compare_with_the_target_label() {
    let same = [("a", "x"), ("b", "x")];
    let differ = [("a", "x"), ("b", "y")];
    let keep = "- source_labels: [a]\n  target_label: b\n  action: keepequal\n";
    let drop = "- source_labels: [a]\n  target_label: b\n  action: dropequal\n";
    check(keep, &same, Some(&same));
    check(keep, &differ, None);
    check(drop, &same, None);
    check(drop, &differ, Some(&differ));
}

#[test]
fn hashmod_is_md5_last_eight_bytes_big_endian() {
    // Expected values computed independently (Python: int.from_bytes(md5(v).digest()[8:],
    // "big") % modulus); the differential test also checks hashmod against Prometheus.
    check(
        "- source_labels: [a]\n  modulus: 1000\n  target_label: h\n  action: hashmod\n",
        &[("a", "foo")],
        Some(&[("a", "foo"), ("h", "696")]),
    );
    // md5("") for a missing source label.
    check(
        "- source_labels: [missing]\n  modulus: 10\n  target_label: h\n  action: hashmod\n",
        &[("a", "foo")],
        Some(&[("a", "foo"), ("h", "8")]),
    );
}

#[test]
fn labelmap_copies_matching_names() {
    check(
        "- regex: \"__meta_(.*)\"\n  action: labelmap\n",
        &[("__meta_zone", "eu"), ("a", "x")],
        Some(&[("__meta_zone", "eu"), ("a", "x"), ("zone", "eu")]),
    );
    check(
        "- regex: \"(b.*)\"\n  action: labelmap\n  replacement: \"${1}_copy\"\n",
        &[("a", "x"), ("b1", "y")],
        Some(&[("a", "x"), ("b1", "y"), ("b1_copy", "y")]),
    );
}

#[test]
fn labeldrop_and_labelkeep_match_names() {
    let input = [("a", "1"), ("b1", "2"), ("b2", "3")];
    check(
        "- regex: \"b.*\"\n  action: labeldrop\n",
        &input,
        Some(&[("a", "1")]),
    );
    check(
        "- regex: \"b.*\"\n  action: labelkeep\n",
        &input,
        Some(&[("b1", "2"), ("b2", "3")]),
    );
}

#[test]
fn lowercase_and_uppercase_write_the_target() {
    check(
        "- source_labels: [a, b]\n  target_label: l\n  action: lowercase\n",
        &[("a", "FoO"), ("b", "BaR")],
        Some(&[("a", "FoO"), ("b", "BaR"), ("l", "foo;bar")]),
    );
    check(
        "- source_labels: [a]\n  target_label: u\n  action: uppercase\n",
        &[("a", "FoO")],
        Some(&[("a", "FoO"), ("u", "FOO")]),
    );
}

#[test]
fn steps_run_in_order() {
    check(
        "- source_labels: [a]\n  target_label: b\n- source_labels: [b]\n  regex: foo\n  action: drop\n",
        &[("a", "foo")],
        None,
    );
}

#[test]
fn invalid_configs_are_rejected_as_prometheus_does() {
    for (yaml, message) in [
        ("- action: replace\n", "requires 'target_label' value"),
        (
            "- action: hashmod\n  target_label: h\n",
            "requires non-zero modulus",
        ),
        ("- action: lowercase\n", "requires 'target_label' value"),
        (
            "- action: labeldrop\n  source_labels: [a]\n",
            "requires only 'regex'",
        ),
        (
            "- action: keepequal\n  target_label: b\n  regex: x\n",
            "requires only 'source_labels'",
        ),
        (
            "- action: labelmap\n  replacement: \"1-x\"\n",
            "is invalid 'replacement'",
        ),
        ("- target_label: \"1bad\"\n", "is invalid 'target_label'"),
        ("- action: frobnicate\n", "unknown relabel action"),
        ("- regex: \"(\"\n  target_label: a\n", "invalid regex"),
        (
            "- target_label: a\n  sourcelabels: [b]\n",
            "unknown field `sourcelabels`",
        ),
    ] {
        let err = config_error(yaml);
        assert!(err.contains(message), "{yaml}: {err}");
    }
}
