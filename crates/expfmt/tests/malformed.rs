//! One test per class of malformed input: each asserts the error's line, column and message.

use promlite_expfmt::{Entry, Format, ParseError, Parser};

/// Parses `input` to the first error (including `to_labels` errors on samples).
fn first_error(input: &str, format: Format) -> ParseError {
    let mut parser = Parser::new(input, format);
    loop {
        match parser.next_entry() {
            Ok(Some(Entry::Sample(s))) => {
                if let Err(e) = s.to_labels() {
                    return e;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("expected an error for {input:?}"),
            Err(e) => return e,
        }
    }
}

fn check(input: &str, format: Format, line: u64, column: u64, message: &str) {
    let e = first_error(input, format);
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (line, column, message),
        "input {input:?}"
    );
}

fn prom(input: &str, line: u64, column: u64, message: &str) {
    check(input, Format::Prometheus, line, column, message);
}

fn om(input: &str, line: u64, column: u64, message: &str) {
    check(input, Format::OpenMetrics, line, column, message);
}

#[test]
fn missing_equals_after_label_name() {
    prom(
        "foo{job\"x\"} 1\n",
        1,
        8,
        "expected '=' after label name \"job\"",
    );
}

#[test]
fn error_display_names_line_and_column() {
    let e = first_error("ok 1\nfoo{job \"x\"} 1\n", Format::Prometheus);
    assert_eq!(
        e.to_string(),
        "line 2, column 9: expected '=' after label name \"job\""
    );
}

#[test]
fn unterminated_label_value() {
    prom(
        "foo{a=\"b} 1\n",
        1,
        7,
        "unterminated quoted string in the value of label \"a\"",
    );
    // A label value cannot span lines.
    prom(
        "foo{a=\"b\n\"} 1\n",
        1,
        7,
        "unterminated quoted string in the value of label \"a\"",
    );
}

#[test]
fn label_value_not_quoted() {
    prom(
        "foo{a=b} 1\n",
        1,
        7,
        "expected '\"' to start the value of label \"a\"",
    );
}

#[test]
fn invalid_label_name() {
    prom("foo{1a=\"b\"} 1\n", 1, 5, "expected label name or '}'");
    prom("foo{,} 1\n", 1, 5, "expected label name or '}'");
}

#[test]
fn missing_comma_between_labels() {
    prom(
        "foo{a=\"b\" c=\"d\"} 1\n",
        1,
        11,
        "expected ',' or '}' after label value",
    );
}

#[test]
fn unclosed_label_set() {
    prom(
        "foo{a=\"b\"\n",
        1,
        10,
        "expected ',' or '}' after label value",
    );
    prom("foo{a=\"b\",", 1, 11, "expected label name or '}'");
}

#[test]
fn missing_value() {
    prom(
        "foo{a=\"b\"}\n",
        1,
        11,
        "expected space before the sample value",
    );
    prom(
        "foo \n",
        1,
        5,
        "expected sample value (a float, NaN, +Inf or -Inf), found \"\"",
    );
}

#[test]
fn invalid_value() {
    prom(
        "foo abc\n",
        1,
        5,
        "expected sample value (a float, NaN, +Inf or -Inf), found \"abc\"",
    );
    prom(
        "foo{a=\"x\"} 1,5\n",
        1,
        12,
        "expected sample value (a float, NaN, +Inf or -Inf), found \"1,5\"",
    );
}

#[test]
fn invalid_prometheus_timestamp() {
    prom(
        "foo 1 1.5\n",
        1,
        7,
        "expected timestamp (integer milliseconds), found \"1.5\"",
    );
    prom(
        "foo 1 99999999999999999999\n",
        1,
        7,
        "expected timestamp (integer milliseconds), found \"99999999999999999999\"",
    );
}

#[test]
fn invalid_openmetrics_timestamp() {
    om(
        "foo 1 abc\n# EOF\n",
        1,
        7,
        "expected timestamp (float seconds), found \"abc\"",
    );
    om(
        "foo 1 NaN\n# EOF\n",
        1,
        7,
        "expected timestamp (float seconds), found \"NaN\"",
    );
}

#[test]
fn junk_after_timestamp() {
    prom("foo 1 2 3\n", 1, 9, "expected end of line after the sample");
}

#[test]
fn invalid_metric_name() {
    prom("1foo 1\n", 1, 1, "expected metric name");
    prom(
        "foo.bar 1\n",
        1,
        4,
        "expected space before the sample value",
    );
}

#[test]
fn quoted_metric_name_problems() {
    prom(
        "\"foo 1\n",
        1,
        1,
        "unterminated quoted string in the metric name",
    );
    prom(
        "{\"a\",\"b\"} 1\n",
        1,
        6,
        "metric name given twice (already \"a\")",
    );
    prom(
        "foo{\"b\"} 1\n",
        1,
        5,
        "metric name given twice (already \"foo\")",
    );
    prom(
        "{a=\"b\"} 1\n",
        1,
        1,
        "expected metric name (a quoted string) inside the label set",
    );
}

#[test]
fn invalid_type_line() {
    prom(
        "# TYPE foo bar\n",
        1,
        12,
        "expected metric type (counter, gauge, histogram, summary or untyped), found \"bar\"",
    );
    prom("# TYPE\n", 1, 7, "expected metric name after TYPE");
    prom("# HELP 1x text\n", 1, 8, "expected metric name after HELP");
    prom(
        "# TYPE foo\"bar\" gauge\n",
        1,
        11,
        "expected space after the metric name in TYPE",
    );
    om(
        "# TYPE foo untyped\n# EOF\n",
        1,
        12,
        "expected metric type (counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown), found \"untyped\"",
    );
}

#[test]
fn openmetrics_requires_eof() {
    om(
        "foo 1\n",
        2,
        1,
        "expected \"# EOF\" at the end of OpenMetrics input",
    );
    om(
        "",
        1,
        1,
        "expected \"# EOF\" at the end of OpenMetrics input",
    );
}

#[test]
fn openmetrics_rejects_content_after_eof() {
    om("# EOF\nfoo 1\n", 2, 1, "unexpected content after \"# EOF\"");
    om("# EOF\n\n", 2, 1, "unexpected content after \"# EOF\"");
}

#[test]
fn openmetrics_rejects_blank_lines() {
    om(
        "foo 1\n\nbar 2\n# EOF\n",
        2,
        1,
        "blank lines are not allowed in OpenMetrics",
    );
}

#[test]
fn openmetrics_rejects_carriage_returns() {
    om(
        "foo 1\r\n# EOF\n",
        1,
        6,
        "carriage return not allowed: OpenMetrics lines end with \\n only",
    );
    om(
        "# TYPE foo gauge\r\n# EOF\n",
        1,
        17,
        "carriage return not allowed: OpenMetrics lines end with \\n only",
    );
}

#[test]
fn openmetrics_metadata_order() {
    om(
        "# TYPE a counter\na_total 1\n# HELP a x\n# EOF\n",
        3,
        1,
        "HELP for metric family \"a\" after its samples",
    );
    om(
        "# TYPE a counter\n# TYPE a gauge\n# EOF\n",
        2,
        1,
        "second TYPE line for metric family \"a\"",
    );
}

#[test]
fn openmetrics_histogram_and_summary_labels() {
    om(
        "# TYPE h histogram\nh_bucket 1\n# EOF\n",
        2,
        1,
        "histogram sample \"h_bucket\" without a \"le\" label",
    );
    om(
        "# TYPE s summary\ns 1\n# EOF\n",
        2,
        1,
        "summary sample \"s\" without a \"quantile\" label",
    );
}

#[test]
fn malformed_exemplar() {
    om(
        "foo_total 1 # {a=\"b\"} x\n# EOF\n",
        1,
        23,
        "expected exemplar value, found \"x\"",
    );
    om(
        "foo_total 1 # a 1\n# EOF\n",
        1,
        15,
        "expected '{' starting the exemplar's label set",
    );
    om(
        "foo_total 1 # {a=\"b\"} 1 zz\n# EOF\n",
        1,
        25,
        "expected exemplar timestamp, found \"zz\"",
    );
}

#[test]
fn invalid_utf8() {
    let e = Parser::from_bytes(b"ok 1\nfoo{a=\"\xff\"} 1\n", Format::Prometheus).unwrap_err();
    assert_eq!(
        (e.line, e.column, e.message.as_str()),
        (2, 8, "invalid UTF-8")
    );
}

#[test]
fn duplicate_label_names() {
    prom(
        "foo{a=\"1\",a=\"2\"} 1\n",
        1,
        11,
        "duplicate label name \"a\"",
    );
    prom(
        "foo{__name__=\"bar\"} 1\n",
        1,
        5,
        "duplicate label name \"__name__\"",
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    prom(
        "foo{a=\"日本\",b} 1\n",
        1,
        13,
        "expected '=' after label name \"b\"",
    );
}

#[test]
fn parsing_resumes_on_the_next_line_after_an_error() {
    let mut parser = Parser::new("ok 1\nbad{ 1\nok 2\n", Format::Prometheus);
    let mut seen = Vec::new();
    loop {
        match parser.next_entry() {
            Ok(Some(Entry::Sample(s))) => seen.push(format!("{}:{}", s.line, s.value)),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => seen.push(format!("err {}:{}", e.line, e.column)),
        }
    }
    assert_eq!(seen, ["1:1", "err 2:6", "3:2"]);
}

#[test]
fn empty_quoted_metric_name() {
    // Found by the expfmt_parse fuzz target: `"" 1` parsed with an empty name, which renders
    // as `{""} 1`, which is rejected; an empty metric name is an error wherever it is written.
    prom("\"\" 1\n", 1, 1, "the metric name must not be empty");
    om("\"\" 1\n# EOF\n", 1, 1, "the metric name must not be empty");
    prom("{\"\"} 1\n", 1, 2, "the metric name must not be empty");
    prom(
        "{\"\", \"x\"} 1\n",
        1,
        2,
        "the metric name must not be empty",
    );
}
