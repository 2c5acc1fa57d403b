//! Rule file parsing and validation tests; messages and positions as `promtool check rules`
//! 2.42 prints them for the same files (checked by the CLI differential test too).

use super::*;

fn errors(yaml: &str) -> Vec<String> {
    match parse_rule_file("r.yml", yaml) {
        Err(Error::InvalidRules { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
        Err(other) => vec![other.to_string()],
        Ok(_) => Vec::new(),
    }
}

#[test]
fn positioned_errors() {
    assert_eq!(
        errors("groups:\n- name: bad\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up\n"),
        ["5:11: group \"bad\", rule 1, \"job:up:sum\": could not parse expression: 1:17: parse error: unclosed left parenthesis"]
    );
    assert_eq!(
        errors("groups:\n- name: bad\n  rules:\n  - record: job-up-sum\n    expr: up\n"),
        ["4:13: group \"bad\", rule 1, \"job-up-sum\": invalid recording rule name: job-up-sum"]
    );
    assert_eq!(
        errors("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      x: '{{ nosuch }}'\n"),
        ["group \"g\", rule 1, \"A\": annotation \"x\": template: __alert_A:1: function \"nosuch\" not defined"]
    );
    assert_eq!(
        errors("groups:\n- name: g\n  rules:\n  - expr: up\n"),
        ["0:0: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set"]
    );
}

#[test]
fn yaml_errors_and_unknown_fields() {
    let e = errors("groups:\n- name: g\n  rules:\n  - record: a\n    exp: up\n");
    assert!(e[0].contains("unknown field `exp`"), "{e:?}");
    let e = errors("groups: [\n");
    assert!(e[0].starts_with("r.yml: yaml: "), "{e:?}");
}

#[test]
fn parses_every_field() {
    let file = parse_rule_file(
        "r.yml",
        "groups:\n- name: g\n  interval: 30s\n  query_offset: 1m\n  limit: 3\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n    keep_firing_for: 10m\n    labels: {severity: page}\n    annotations: {summary: 'x {{ $value }}'}\n",
    )
    .unwrap();
    let g = &file.groups[0];
    assert_eq!(
        (g.interval_ms, g.query_offset_ms, g.limit),
        (Some(30_000), Some(60_000), 3)
    );
    let RuleKind::Alerting {
        for_ms,
        keep_firing_for_ms,
        annotations,
        ..
    } = &g.rules[0].kind
    else {
        panic!("alerting rule expected");
    };
    assert_eq!(
        (*for_ms, *keep_firing_for_ms, annotations.len()),
        (300_000, 600_000, 1)
    );
}

#[test]
fn duplicates_are_found() {
    let file = parse_rule_file(
        "r.yml",
        "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n  - record: a\n    expr: up + 1\n",
    )
    .unwrap();
    assert_eq!(duplicate_rules(&file).len(), 1);
}
