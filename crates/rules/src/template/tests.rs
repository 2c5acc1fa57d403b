//! Template engine tests: expansions Prometheus documents, Go's scoping and error wording.

use std::collections::BTreeMap;

use super::*;

struct NoQuery;

impl Environment for NoQuery {
    fn query(&self, expr: &str) -> Result<Vec<QuerySample>, String> {
        if expr == "up" {
            let mut labels = BTreeMap::new();
            labels.insert("__name__".to_string(), "up".to_string());
            labels.insert("instance".to_string(), "a:9100".to_string());
            return Ok(vec![QuerySample { labels, value: 1.0 }]);
        }
        Ok(Vec::new())
    }
    fn external_url(&self) -> &str {
        "http://prom.example:9090/prefix"
    }
}

fn data() -> AlertData {
    let mut labels = BTreeMap::new();
    labels.insert("instance".to_string(), "host-1:9100".to_string());
    labels.insert("job".to_string(), "node".to_string());
    AlertData {
        labels,
        external_labels: [("cluster".to_string(), "eu".to_string())]
            .into_iter()
            .collect(),
        external_url: "http://prom.example:9090/prefix".into(),
        value: 0.123456,
    }
}

fn check(text: &str, expected: &str) {
    let t = Template::parse_alert("A", text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(t.expand(&data(), &NoQuery).unwrap(), expected, "{text}");
}

#[test]
fn expansions() {
    check("{{ $labels.instance }} is down", "host-1:9100 is down");
    check("{{ .Labels.job }}/{{ $value }}", "node/0.123456");
    check("{{ $externalLabels.cluster }}", "eu");
    check("{{ $value | humanizePercentage }}", "12.35%");
    check("{{ humanize 1234567 }}", "1.235M");
    check("{{ printf \"%.2f\" $value }}", "0.12");
    check("{{ if gt $value 0.1 }}high{{ else }}low{{ end }}", "high");
    check(
        "{{ if lt $value 0.1 }}low{{ else if gt $value 0.5 }}vhigh{{ else }}mid{{ end }}",
        "mid",
    );
    check(
        "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
        "instance=host-1:9100;job=node;",
    );
    check("{{ with $labels.job }}job {{ . }}{{ end }}", "job node");
    check("{{ with $labels.nope }}x{{ else }}none{{ end }}", "none");
    check("{{ $labels.job | toUpper }}", "NODE");
    check("{{ \"hello world\" | title }}", "Hello World");
    check("a  {{- \" b \" -}}  c", "a b c");
    check("{{/* comment */}}x", "x");
    check(
        "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
        "2",
    );
    check("{{ $labels.missing }}", "");
    check(
        "{{ range query \"up\" }}{{ .Labels.instance }}={{ .Value }}{{ end }}",
        "a:9100=1",
    );
    check("{{ query \"up\" | first | value }}", "1");
    check(
        "{{ with query \"nothing\" }}x{{ else }}empty{{ end }}",
        "empty",
    );
    check(
        "{{ externalURL }}{{ pathPrefix }}",
        "http://prom.example:9090/prefix/prefix",
    );
    check(
        "{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}",
        "host-1",
    );
    check("{{ len $labels }}", "2");
    check("{{ index $labels \"job\" }}", "node");
    check("{{ and 1 0 }}|{{ or 0 \"x\" }}|{{ not false }}", "0|x|true");
    check("{{ eq $labels.job \"node\" }}", "true");
    check("{{ humanizeDuration 3661 }}", "1h 1m 1s");
    check("{{ humanize1024 2048 }}", "2ki");
    check("{{ 1e3 }} {{ 42 }}", "1000 42");
}

#[test]
fn parse_errors_name_the_problem() {
    let err = Template::parse_alert("A", "{{ nosuchfn 1 }}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: __alert_A:1: function \"nosuchfn\" not defined"
    );
    let err = Template::parse_alert("A", "{{ $nope }}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: __alert_A:1: undefined variable \"$nope\""
    );
    let err = Template::parse_alert("A", "line1\n{{ if true }}x").unwrap_err();
    assert!(err.to_string().contains("unexpected EOF"), "{err}");
    let err = Template::parse_alert("A", "{{ .x ").unwrap_err();
    assert!(err.to_string().contains("unclosed action"), "{err}");
    assert!(Template::parse_alert("A", "{{ define \"x\" }}{{ end }}").is_err());
    assert!(Template::parse_alert("A", "{{ end }}").is_err());
}

#[test]
fn exec_errors_are_reported() {
    let t = Template::parse_alert("A", "{{ humanize \"abc\" }}").unwrap();
    let err = t.expand(&data(), &NoQuery).unwrap_err();
    assert!(err.to_string().contains("error calling humanize"), "{err}");
    assert!(t
        .expand_or_error_text(&data(), &NoQuery)
        .starts_with("<error expanding template: "));
    let t = Template::parse_alert("A", "{{ query \"nothing\" | first }}").unwrap();
    assert!(t
        .expand(&data(), &NoQuery)
        .unwrap_err()
        .to_string()
        .contains("first() called on vector with no elements"));
}
