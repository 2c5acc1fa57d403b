//! Data-driven parser tests: `check(input, printed)` for valid queries, `check_shape` for
//! precedence, and `check_err(input, message)` for every class of bad query.

use crate::ast::{At, Expr, UnaryOp};
use crate::{parse, MAX_DEPTH};

/// Parses `input`, asserts the canonical print is `expected`, and that it parses back to the
/// same tree.
#[track_caller]
fn check(input: &str, expected: &str) {
    let expr = parse(input).unwrap_or_else(|e| panic!("{input:?} fails: {e}"));
    let printed = expr.to_string();
    assert_eq!(printed, expected, "printing {input:?}");
    let again = parse(&printed).unwrap_or_else(|e| panic!("printed {printed:?} fails: {e}"));
    assert!(
        again.same_as(&expr),
        "{printed:?} parses to a different tree than {input:?}"
    );
}

/// Fully parenthesised form of binary and unary nodes, to see how the parser grouped them.
fn shape(e: &Expr) -> String {
    match e {
        Expr::Binary(b) => format!("({} {} {})", shape(&b.lhs), b.op.as_str(), shape(&b.rhs)),
        Expr::Unary(op, inner) => {
            format!(
                "({}{})",
                if *op == UnaryOp::Neg { "-" } else { "+" },
                shape(inner)
            )
        }
        Expr::Paren(inner) => format!("[{}]", shape(inner)),
        other => other.to_string(),
    }
}

#[track_caller]
fn check_shape(input: &str, expected: &str) {
    let expr = parse(input).unwrap_or_else(|e| panic!("{input:?} fails: {e}"));
    assert_eq!(shape(&expr), expected, "grouping of {input:?}");
}

/// Asserts that `input` fails with exactly `expected` (the full Display, with position).
#[track_caller]
fn check_err(input: &str, expected: &str) {
    match parse(input) {
        Ok(expr) => panic!("{input:?} parsed as {expr} but should fail with {expected:?}"),
        Err(e) => assert_eq!(e.to_string(), expected, "error for {input:?}"),
    }
}

#[test]
fn number_literals() {
    check("1", "1");
    check("0x1f", "31");
    check("0X1F", "31");
    check("1_000", "1000");
    check("1_000.000_1", "1000.0001");
    check("1e3", "1000");
    check("12.34e+6", "12340000");
    check("12.34e-6", "1.234e-5");
    check(".5", "0.5");
    check("2.", "2");
    check("017", "15");
    check("Inf", "Inf");
    check("inF", "Inf");
    check("+Inf", "Inf");
    check("-inf", "-Inf");
    check("NaN", "NaN");
    check("nan", "NaN");
    check("-0.2e-6", "-2e-7");
    check("1e300", "1e300");
    // Prometheus 3: a duration where a number stands means seconds.
    check("5m", "300");
    check("1h30m", "5400");
    check("100ms", "0.1");
}

#[test]
fn string_literals() {
    check(r#""foo""#, r#""foo""#);
    check("'foo'", r#""foo""#);
    check("`fo\\o`", r#""fo\\o""#);
    check(r#""a\"b""#, r#""a\"b""#);
    check(r"'a\'b'", r#""a'b""#);
    check(r#""\u00e9\U0001F600\x41\101""#, r#""é😀AA""#);
    check(r#""tab\there""#, r#""tab\there""#);
    check("\"#not a comment\"", "\"#not a comment\"");
    check("`multi\nline`", r#""multi\nline""#);
    check(r#"("Foo")"#, r#"("Foo")"#);
    check(r#""\a\b\f\v\x00""#, r#""\a\b\f\v\x00""#);
}

/// PromQL strings are Go byte strings: `\x` and octal escapes may produce invalid UTF-8, which
/// Prometheus accepts at parse time (`count_values("a\xc5z", x)` fails only at evaluation).
#[test]
fn string_literals_with_invalid_utf8_are_byte_strings() {
    let expr = parse(r#""a\xc5z""#).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(expr, Expr::ByteString(vec![b'a', 0xc5, b'z']));
    assert_eq!(expr.string_bytes(), Some(&b"a\xc5z"[..]));
    // Printed with Go's quoting: the invalid byte as `\xNN`, so it parses back to the same bytes.
    check(r#""a\xc5z""#, r#""a\xc5z""#);
    check(r#"'\305\xFF'"#, r#""\xc5\xff""#);
    // A byte escape sequence that forms valid UTF-8 is an ordinary string.
    check(r#""\xc3\xa9""#, r#""é""#);
    assert_eq!(parse(r#""\xc3\xa9""#), Ok(Expr::String("é".into())));
    check(
        r#"count_values("a\xc5z", version)"#,
        r#"count_values("a\xc5z", version)"#,
    );
    check(
        r#"label_replace(m, "\xff", "x\x80", "src", "(.*)")"#,
        r#"label_replace(m, "\xff", "x\x80", "src", "(.*)")"#,
    );
    // Where promlite needs a Rust string (label names, matcher values), a positioned error.
    check_err(
        r#"sum by ("a\xc5z") (m)"#,
        r#"1:9: parse error: invalid label name for grouping: "a\xc5z""#,
    );
    check_err(
        r#"m{a="\xff"}"#,
        r#"1:5: parse error: invalid label matcher value "\xff": label values must be valid UTF-8"#,
    );
    check_err(
        r#"{"\xff"}"#,
        r#"1:2: parse error: invalid label name "\xff": label names must be valid UTF-8"#,
    );
}

#[test]
fn vector_selectors() {
    check("foo", "foo");
    check("foo:bar:baz", "foo:bar:baz");
    check(":foo", ":foo");
    check(
        r#"foo{a="b",c!="d",e=~"f",g!~"h"}"#,
        r#"foo{a="b", c!="d", e=~"f", g!~"h"}"#,
    );
    check(r#"foo{a="b",}"#, r#"foo{a="b"}"#);
    check(r#"foo {a='b'}"#, r#"foo{a="b"}"#);
    check(r#"{__name__="foo"}"#, r#"{__name__="foo"}"#);
    check(r#"{__name__=~"foo|bar"}"#, r#"{__name__=~"foo|bar"}"#);
    check(r#"{"my.metric"}"#, r#"{__name__="my.metric"}"#);
    check(
        r#"{"my.metric", "label.name"="v"}"#,
        r#"{__name__="my.metric", "label.name"="v"}"#,
    );
    check(
        r#"foo{"label with space"!="x"}"#,
        r#"foo{"label with space"!="x"}"#,
    );
    // Inside braces every word is a label name, keywords included.
    check(
        r#"foo{on="x", by="y", sum="z", offset="o", inf="i", bool="b"}"#,
        r#"foo{on="x", by="y", sum="z", offset="o", inf="i", bool="b"}"#,
    );
    // Aggregators, `offset`, `by` and set operators can be metric names.
    check(r#"sum{a="b"}"#, r#"sum{a="b"}"#);
    check("sum", "sum");
    check("offset", "offset");
    check("by + without", "by + without");
    check("and or or", "and or or");
    check("start + end", "start + end");
    check("foo # a comment\n", "foo");
    check("# leading comment\nfoo", "foo");
}

#[test]
fn vector_selector_matchers_are_stored_with_the_name_last() {
    let Ok(Expr::VectorSelector(vs)) = parse(r#"foo{a="b"}"#) else {
        panic!("selector expected")
    };
    assert_eq!(vs.name.as_deref(), Some("foo"));
    let names: Vec<&str> = vs.matchers.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["a", "__name__"]);
    assert_eq!((vs.span.start, vs.span.end), (0, 10));
}

#[test]
fn range_selectors_offsets_and_at() {
    check("foo[5m]", "foo[5m]");
    check("foo[1h30m]", "foo[1h30m]");
    check("foo[90]", "foo[1m30s]");
    check("foo[1.5]", "foo[1s500ms]");
    check("foo[ 5m ]", "foo[5m]");
    check("foo offset 5m", "foo offset 5m");
    check("foo offset -5m", "foo offset -5m");
    check("foo OFFSET 1h", "foo offset 1h");
    check("foo offset 10", "foo offset 10s");
    check("foo[5m] offset 1w", "foo[5m] offset 1w");
    check("foo @ 100", "foo @ 100.000");
    check("foo @ 100.5", "foo @ 100.500");
    check("foo @ -1", "foo @ -1.000");
    check("foo @ start()", "foo @ start()");
    check("foo @ end()", "foo @ end()");
    check("foo offset 5m @ 100", "foo @ 100.000 offset 5m");
    check("foo @ 100 offset 5m", "foo @ 100.000 offset 5m");
    check("foo[5m] @ 100 offset 1m", "foo[5m] @ 100.000 offset 1m");
    let Ok(Expr::MatrixSelector(m)) = parse("foo[5m] offset 1m @ end()") else {
        panic!("matrix expected")
    };
    assert_eq!(
        (m.range, m.selector.offset, m.selector.at),
        (300_000, 60_000, Some(At::End))
    );
}

#[test]
fn duration_arithmetic_is_folded() {
    check("foo[5m+1m]", "foo[6m]");
    check("foo[2 * 5m]", "foo[10m]");
    check("foo[(1h - 5m) / 5]", "foo[11m]");
    check("foo[1h % 7m]", "foo[4m]");
    check("foo[2^3]", "foo[8s]");
    check("foo[-5m + 10m]", "foo[5m]");
    check("foo offset (1h-5m)", "foo offset 55m");
    check("foo offset -(5m)", "foo offset -5m");
    check("foo[10m:1m+1m]", "foo[10m:2m]");
    // Only a parenthesised duration expression follows `offset`.
    check_shape("foo offset 5m * 2", "(foo offset 5m * 2)");
    check_shape("foo offset -2^2", "(foo offset -2s ^ 2)");
}

#[test]
fn subqueries() {
    check("foo[5m:1m]", "foo[5m:1m]");
    check("foo[5m:]", "foo[5m:]");
    check("rate(foo[5m])[1h:5m]", "rate(foo[5m])[1h:5m]");
    check("(foo + bar)[5m:]", "(foo + bar)[5m:]");
    check("foo offset 5m[10m:]", "foo offset 5m[10m:]");
    check("foo[5m:1m] offset 1h @ 10", "foo[5m:1m] @ 10.000 offset 1h");
    check(
        "max_over_time(rate(foo[5m])[30m:1m] @ end())",
        "max_over_time(rate(foo[5m])[30m:1m] @ end())",
    );
    check("sum(foo)[5m:]", "sum(foo)[5m:]");
    let Ok(Expr::Subquery(s)) = parse("foo[1h:]") else {
        panic!("subquery expected")
    };
    assert_eq!((s.range, s.step), (3_600_000, None));
}

#[test]
fn unary_operators() {
    check("-foo", "-foo");
    check("+foo", "+foo");
    check("- -1", "1");
    check("-(2)", "-(2)");
    check("2 ^ -1", "2 ^ -1");
    check("1 - -1", "1 - -1");
    check("-foo offset 5m", "-foo offset 5m");
    check_shape("-2^2", "(-(2 ^ 2))");
    check_shape("-2^-2", "(-(2 ^ -2))");
    check_shape("-a * b", "((-a) * b)");
    check_shape("-a + b", "((-a) + b)");
    check_shape("a * -b ^ c", "(a * (-(b ^ c)))");
    check_shape("- - a", "(-(-a))");
    let Ok(Expr::Number(v)) = parse("-2") else {
        panic!("a folded literal expected")
    };
    assert_eq!(v, -2.0);
}

#[test]
fn binary_precedence_and_associativity() {
    check_shape("a + b * c", "(a + (b * c))");
    check_shape("a * b + c", "((a * b) + c)");
    check_shape("a - b - c", "((a - b) - c)");
    check_shape("a / b * c % d", "(((a / b) * c) % d)");
    check_shape("a ^ b ^ c", "(a ^ (b ^ c))");
    check_shape("a * b ^ c", "(a * (b ^ c))");
    check_shape("a atan2 b * c", "((a atan2 b) * c)");
    check_shape("a + b atan2 c", "(a + (b atan2 c))");
    check_shape("a > b + c", "(a > (b + c))");
    check_shape("a == b and c", "((a == b) and c)");
    check_shape("a or b and c", "(a or (b and c))");
    check_shape("a and b unless c", "((a and b) unless c)");
    check_shape("a or b or c", "((a or b) or c)");
    check_shape("(a + b) * c", "([(a + b)] * c)");
    check_shape("a + b offset 5m", "(a + b offset 5m)");
    check("a + b * c ^ d", "a + b * c ^ d");
    check("(a + b) * c", "(a + b) * c");
    check("1 + 2 * 3", "1 + 2 * 3");
    check("A AND B", "A and B");
}

#[test]
fn binary_modifiers() {
    check("foo > bool 1", "foo > bool 1");
    check("1 > bool 2", "1 > bool 2");
    check("foo == bool bar", "foo == bool bar");
    check(
        "foo * on(a, b) group_left(c) bar",
        "foo * on(a, b) group_left(c) bar",
    );
    check(
        "foo * ignoring(a) group_right bar",
        "foo * ignoring(a) group_right() bar",
    );
    check(
        "foo * on (a) group_left () bar",
        "foo * on(a) group_left() bar",
    );
    // `(...)` right after `group_left` is always its label list.
    check_err(
        "foo * on(a) group_left (bar)",
        "1:29: parse error: unexpected end of input",
    );
    check("foo / on() bar", "foo / on() bar");
    // Shrunk proptest failure: an empty include list printed without `()` swallowed a
    // parenthesised right-hand side as the label list.
    check("a * on(x) group_right() (b)", "a * on(x) group_right() (b)");
    check("foo + ignoring() bar", "foo + ignoring() bar");
    check("foo and on(a) bar", "foo and on(a) bar");
    check("foo or ignoring(a, b,) bar", "foo or ignoring(a, b) bar");
    check("foo unless on(job) bar", "foo unless on(job) bar");
    check("foo atan2 bar", "foo atan2 bar");
    check("foo == bool on(a) bar", "foo == bool on(a) bar");
    check(
        r#"foo * on("a.b", on, by) bar"#,
        r#"foo * on("a.b", on, by) bar"#,
    );
    check("random + on() metricA", "random + on() metricA");
    // Prometheus drops empty matching between a scalar and a vector; promlite keeps it as written.
    check("1 + on() foo", "1 + on() foo");
    let Ok(Expr::Binary(b)) = parse("a * on(x) group_right(y) b") else {
        panic!("binary expected")
    };
    assert_eq!(b.cardinality(), crate::Cardinality::OneToMany);
    let Ok(Expr::Binary(b)) = parse("a and b") else {
        panic!("binary expected")
    };
    assert_eq!(b.cardinality(), crate::Cardinality::ManyToMany);
}

#[test]
fn aggregations() {
    check("sum(foo)", "sum(foo)");
    check("sum by (a) (foo)", "sum by (a) (foo)");
    check("sum(foo) by (a)", "sum by (a) (foo)");
    check("sum without (a) (foo)", "sum without (a) (foo)");
    check("sum(foo) without (a, b)", "sum without (a, b) (foo)");
    check("sum by () (foo)", "sum(foo)");
    check("sum without () (foo)", "sum without () (foo)");
    check("sum by (a,) (foo)", "sum by (a) (foo)");
    check(
        r#"sum by (on, by, "a.b", foo:bar) (foo)"#,
        r#"sum by (on, by, "a.b", "foo:bar") (foo)"#,
    );
    check("SUM BY (job) (foo)", "sum by (job) (foo)");
    check("avg(foo)", "avg(foo)");
    check("count(foo)", "count(foo)");
    check("min(foo)", "min(foo)");
    check("max(foo)", "max(foo)");
    check("group(foo)", "group(foo)");
    check("stddev(foo)", "stddev(foo)");
    check("stdvar(foo)", "stdvar(foo)");
    check("topk(5, foo)", "topk(5, foo)");
    check("topk by (a) (5, foo)", "topk by (a) (5, foo)");
    check(
        "bottomk(1, foo) without (a)",
        "bottomk without (a) (1, foo)",
    );
    check("quantile(0.9, foo)", "quantile(0.9, foo)");
    check(r#"count_values("v", foo)"#, r#"count_values("v", foo)"#);
    check("limitk(2, foo)", "limitk(2, foo)");
    check("limit_ratio(0.5, foo)", "limit_ratio(0.5, foo)");
    check("topk(scalar(bar), foo)", "topk(scalar(bar), foo)");
    check("sum(foo) by (a) + 1", "sum by (a) (foo) + 1");
    check(
        "quantile without(point)(NaN, data)",
        "quantile without (point) (NaN, data)",
    );
}

#[test]
fn function_calls() {
    check("rate(foo[5m])", "rate(foo[5m])");
    check(
        r#"label_replace(foo, "a", "$1", "b", "(.*)")"#,
        r#"label_replace(foo, "a", "$1", "b", "(.*)")"#,
    );
    check(
        r#"label_join(foo, "a", ",", "b", "c", "d")"#,
        r#"label_join(foo, "a", ",", "b", "c", "d")"#,
    );
    check("round(foo)", "round(foo)");
    check("round(foo, 5)", "round(foo, 5)");
    check("time()", "time()");
    check("pi()", "pi()");
    check("vector(1)", "vector(1)");
    check("scalar(foo)", "scalar(foo)");
    check(
        "histogram_quantile(0.9, rate(foo[5m]))",
        "histogram_quantile(0.9, rate(foo[5m]))",
    );
    check(
        "predict_linear(foo[5m], 1h)",
        "predict_linear(foo[5m], 3600)",
    );
    check(r#"info(foo, {data=~".*"})"#, r#"info(foo, {data=~".*"})"#);
    check("info(foo)", "info(foo)");
    check("min_of(1, 2)", "min_of(1, 2)");
    check(
        r#"sort_by_label(foo, "a", "b")"#,
        r#"sort_by_label(foo, "a", "b")"#,
    );
    check("sort_by_label(foo)", "sort_by_label(foo)");
    check(
        "quantile_over_time(0.5, foo[5m])",
        "quantile_over_time(0.5, foo[5m])",
    );
    check("days_in_month()", "days_in_month()");
    check("step()", "step()");
    check("start() + range()", "start() + range()");
    check(
        "double_exponential_smoothing(foo[5m], 0.5, 0.5)",
        "double_exponential_smoothing(foo[5m], 0.5, 0.5)",
    );
    check(
        "ts_of_max_over_time(foo[5m])",
        "ts_of_max_over_time(foo[5m])",
    );
    check("clamp(foo, 0, 1)", "clamp(foo, 0, 1)");
    check(
        "absent(nonexistent{job=\"x\"})",
        "absent(nonexistent{job=\"x\"})",
    );
}

#[test]
fn value_types() {
    use crate::ValueType::*;
    let t = |q: &str| {
        parse(q)
            .map(|e| e.value_type())
            .unwrap_or_else(|e| panic!("{q}: {e}"))
    };
    assert_eq!(t("1"), Scalar);
    assert_eq!(t(r#""s""#), String);
    assert_eq!(t("foo"), Vector);
    assert_eq!(t("foo[5m]"), Matrix);
    assert_eq!(t("foo[5m:]"), Matrix);
    assert_eq!(t("1 + 2 * 3"), Scalar);
    assert_eq!(t("1 + foo"), Vector);
    assert_eq!(t("-(time())"), Scalar);
    assert_eq!(t("scalar(foo)"), Scalar);
    assert_eq!(t("sum(foo)"), Vector);
}

#[test]
fn lexical_errors() {
    check_err("", "1:1: parse error: no expression found in input");
    check_err(
        "# only a comment",
        "1:1: parse error: no expression found in input",
    );
    check_err("(foo", "1:5: parse error: unclosed left parenthesis");
    check_err("foo)", "1:5: parse error: unexpected right parenthesis ')'");
    check_err("foo[5m", "1:7: parse error: unclosed left bracket");
    check_err("foo]", "1:4: parse error: unexpected right bracket ']'");
    check_err(
        r#"foo{a="b""#,
        "1:10: parse error: unexpected end of input inside braces",
    );
    check_err("foo}", "1:4: parse error: unexpected character: '}'");
    check_err(r#""foo"#, "1:1: parse error: unterminated quoted string");
    check_err("`foo", "1:1: parse error: unterminated raw string");
    check_err(
        r#""\q""#,
        "1:1: parse error: unknown escape sequence U+0071 'q'",
    );
    check_err(
        r#""\xZZ""#,
        "1:1: parse error: illegal character U+005A 'Z' in escape sequence",
    );
    check_err("foo $ bar", "1:5: parse error: unexpected character: '$'");
    check_err(
        r#"foo{a:b="c"}"#,
        "1:6: parse error: unexpected character inside braces: ':'",
    );
    check_err(
        "foo ! bar",
        "1:5: parse error: unexpected character after '!': ' '",
    );
    check_err(
        "5mx",
        r#"1:1: parse error: bad number or duration syntax: "5mx""#,
    );
    check_err(
        "1.5h",
        r#"1:1: parse error: unknown unit "." in duration "1.5h""#,
    );
    check_err(
        "5m1h",
        r#"1:1: parse error: not a valid duration string: "5m1h""#,
    );
    check_err(
        "1e",
        r#"1:1: parse error: bad number or duration syntax: "1e""#,
    );
    check_err(
        "0x",
        r#"1:1: parse error: error parsing number: strconv.ParseFloat: parsing "0x": invalid syntax"#,
    );
    check_err(
        "1__0",
        r#"1:1: parse error: bad number or duration syntax: "1__""#,
    );
    check_err(
        "foo[5m[1m]]",
        "1:7: parse error: unexpected left bracket '['",
    );
}

#[test]
fn syntax_errors() {
    check_err(
        "foo bar",
        r#"1:5: parse error: unexpected identifier "bar""#,
    );
    check_err("foo and", "1:8: parse error: unexpected end of input");
    check_err("1 +", "1:4: parse error: unexpected end of input");
    check_err("bool", "1:1: parse error: unexpected <bool>");
    check_err(
        "foo + on",
        "1:9: parse error: unexpected end of input in grouping opts, expected \"(\"",
    );
    check_err(
        "sum(foo) by",
        "1:12: parse error: unexpected end of input in grouping opts, expected \"(\"",
    );
    check_err(
        "sum by (a b) (foo)",
        r#"1:11: parse error: unexpected identifier "b" in grouping opts, expected "," or ")""#,
    );
    check_err(
        "sum by (1) (foo)",
        r#"1:9: parse error: unexpected number "1" in grouping opts, expected label"#,
    );
    check_err(
        r#"sum by ("") (foo)"#,
        r#"1:9: parse error: invalid label name for grouping: """#,
    );
    check_err(
        "sum by (a) foo",
        r#"1:12: parse error: unexpected identifier "foo" in aggregation"#,
    );
    check_err(
        "sum(foo) by (a) by (b)",
        "1:17: parse error: unexpected <by>",
    );
    check_err(
        "foo{a}",
        r#"1:6: parse error: unexpected "}" in label matching, expected label matching operator"#,
    );
    check_err(
        "foo{a=}",
        r#"1:7: parse error: unexpected "}" in label matching, expected string"#,
    );
    check_err(
        r#"foo{a="b" c="d"}"#,
        r#"1:11: parse error: unexpected identifier "c" in label matching, expected "," or "}""#,
    );
    check_err(
        "foo{,}",
        r#"1:5: parse error: unexpected "," in label matching, expected identifier or "}""#,
    );
    check_err(
        r#"foo{__name__ == "bar"}"#,
        r#"1:15: parse error: unexpected "=" in label matching, expected string"#,
    );
    check_err(
        "foo[step]",
        r#"1:9: parse error: unexpected "]" in subquery or range selector, expected number, duration, step(), or range()"#,
    );
    check_err(
        "foo @ bar",
        r#"1:7: parse error: unexpected identifier "bar" in @, expected timestamp"#,
    );
    check_err(
        "foo offset bar",
        r#"1:12: parse error: unexpected identifier "bar" in offset, expected number, duration, step(), or range()"#,
    );
    check_err(
        "foo[]",
        r#"1:5: parse error: unexpected "]" in subquery or range selector, expected number, duration, step(), or range()"#,
    );
    check_err(
        "foo[5m 1m]",
        r#"1:8: parse error: unexpected duration "1m" in subquery or range, expected ":" or "]""#,
    );
    check_err(
        "foo[5m:1m 1]",
        r#"1:11: parse error: unexpected number "1" in subquery selector, expected "]""#,
    );
    check_err(
        "rate(foo[5m],)",
        "1:13: parse error: trailing commas not allowed in function call args",
    );
    check_err(
        "foo + fill(0) bar",
        "1:7: parse error: the experimental fill() binary operator modifier is not supported",
    );
    check_err(
        "foo + on(a) fill_left(1) bar",
        "1:13: parse error: the experimental fill_left() binary operator modifier is not supported",
    );
    // Without parentheses `fill` is an ordinary metric name.
    check("fill + fill", "fill + fill");
    check_err(
        "foo anchored",
        "1:5: parse error: the experimental anchored modifier is not supported",
    );
    check_err("foo:bar(x)", r#"1:8: parse error: unexpected "(""#);
}

#[test]
fn type_errors() {
    check_err(
        "rate(foo)",
        r#"1:6: parse error: expected type range vector in call to function "rate", got instant vector"#,
    );
    check_err(
        "abs(foo[5m])",
        r#"1:5: parse error: expected type instant vector in call to function "abs", got range vector"#,
    );
    check_err(
        r#"label_replace(foo, 1, "", "", "")"#,
        r#"1:20: parse error: expected type string in call to function "label_replace", got scalar"#,
    );
    check_err(
        r#"label_join(foo, "a", ",", "b", 1)"#,
        r#"1:32: parse error: expected type string in call to function "label_join", got scalar"#,
    );
    check_err(
        "rate()",
        r#"1:1: parse error: expected 1 argument(s) in call to "rate", got 0"#,
    );
    check_err(
        "round(foo, 1, 2)",
        r#"1:1: parse error: expected at most 2 argument(s) in call to "round", got 3"#,
    );
    check_err(
        r#"label_join(foo, "a")"#,
        r#"1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 2"#,
    );
    check_err(
        "nosuchfn(foo)",
        r#"1:1: parse error: unknown function with name "nosuchfn""#,
    );
    check_err(
        "holt_winters(foo[5m], 0.5, 0.5)",
        r#"1:1: parse error: unknown function with name "holt_winters""#,
    );
    check_err(
        "RATE(foo[5m])",
        r#"1:1: parse error: unknown function with name "RATE""#,
    );
    check_err(
        "sum()",
        "1:1: parse error: no arguments for aggregate expression provided",
    );
    check_err(
        "topk(foo)",
        "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1",
    );
    check_err(
        "sum(1, foo)",
        "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2",
    );
    check_err(
        "sum(1)",
        "1:5: parse error: expected type instant vector in aggregation expression, got scalar",
    );
    check_err("sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector");
    check_err(
        r#"topk("a", foo)"#,
        "1:6: parse error: expected type scalar in aggregation parameter, got string",
    );
    check_err(
        "count_values(1, foo)",
        "1:14: parse error: expected type string in aggregation parameter, got scalar",
    );
    check_err(
        r#""foo" + 1"#,
        "1:1: parse error: binary expression must contain only scalar and instant vector types",
    );
    check_err(
        "1 + foo[5m]",
        "1:5: parse error: binary expression must contain only scalar and instant vector types",
    );
    check_err(
        "1 > 2",
        "1:3: parse error: comparisons between scalars must use BOOL modifier",
    );
    check_err(
        "foo + bool bar",
        "1:5: parse error: bool modifier can only be used on comparison operators",
    );
    check_err(
        "1 and foo",
        r#"1:1: parse error: set operator "and" not allowed in binary scalar expression"#,
    );
    check_err(
        "foo or 1",
        r#"1:1: parse error: set operator "or" not allowed in binary scalar expression"#,
    );
    check_err(
        "foo and on(a) group_left bar",
        r#"1:1: parse error: no grouping allowed for "and" operation"#,
    );
    check_err(
        "1 + on(a) foo",
        "1:1: parse error: vector matching only allowed between instant vectors",
    );
    check_err(
        "foo * on(a) group_left(a) bar",
        r#"1:5: parse error: label "a" must not occur in ON and GROUP clause at once"#,
    );
    check_err(
        "-foo[5m]",
        r#"1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector""#,
    );
    check_err(
        r#"-"foo""#,
        r#"1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string""#,
    );
    check_err(
        "info(foo, bar + 1)",
        "1:11: parse error: expected label selectors only",
    );
}

#[test]
fn selector_errors() {
    check_err(
        "{}",
        "1:1: parse error: vector selector must contain at least one non-empty matcher",
    );
    check_err(
        r#"{a=""}"#,
        "1:1: parse error: vector selector must contain at least one non-empty matcher",
    );
    check_err(
        r#"{a=~".*", b!="x"}"#,
        "1:1: parse error: vector selector must contain at least one non-empty matcher",
    );
    check_err(
        r#"foo{__name__="bar"}"#,
        r#"1:1: parse error: metric name must not be set twice: "foo" or "bar""#,
    );
    check_err(
        r#"foo{"bar"}"#,
        r#"1:1: parse error: metric name must not be set twice: "foo" or "bar""#,
    );
    let err = parse(r#"foo{a=~"("}"#).expect_err("invalid regex");
    assert_eq!(err.position.column, 8);
    assert!(
        err.message.starts_with("invalid regular expression \"(\""),
        "{err}"
    );
    check_err(
        "(foo)[5m]",
        "1:6: parse error: ranges only allowed for vector selectors",
    );
    check_err(
        "foo[5m][5m]",
        "1:8: parse error: ranges only allowed for vector selectors",
    );
    check_err(
        "foo offset 5m[5m]",
        "1:14: parse error: no offset modifiers allowed before range",
    );
    check_err(
        "foo @ 1 [5m]",
        "1:9: parse error: no @ modifiers allowed before range",
    );
    check_err(
        "1[5m:]",
        "1:1: parse error: subquery is only allowed on instant vector, got scalar instead",
    );
    check_err(
        "foo[5m][1m:]",
        "1:1: parse error: subquery is only allowed on instant vector, got matrix instead",
    );
    check_err(
        "(foo) offset 5m",
        "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
    );
    check_err(
        "foo offset 5m offset 1m",
        "1:1: parse error: offset may not be set multiple times",
    );
    check_err(
        "foo @ 1 @ 2",
        "1:1: parse error: @ <timestamp> may not be set multiple times",
    );
    check_err(
        "sum(foo) @ 1",
        "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
    );
    check_err(
        "foo @ Inf",
        "1:1: parse error: timestamp out of bounds for @ modifier: +Inf",
    );
    check_err(
        "foo @ -Inf",
        "1:1: parse error: timestamp out of bounds for @ modifier: -Inf",
    );
    check_err(
        "foo[0s]",
        "1:5: parse error: duration must be greater than 0",
    );
    check_err(
        "foo[-5m]",
        "1:5: parse error: duration must be greater than 0",
    );
    check_err(
        "foo[5m:0]",
        "1:8: parse error: duration must be greater than 0",
    );
    check_err("foo[5m/0]", "1:7: parse error: division by zero");
    check_err("foo[5m%0]", "1:7: parse error: modulo by zero");
    check_err(
        "foo[step()]",
        "1:5: parse error: step() in a duration expression is not supported: durations must be constant",
    );
    check_err("foo[300y]", "1:5: parse error: duration out of range");
}

#[test]
fn syntax_errors_win_over_type_errors_and_type_errors_follow_prometheus_order() {
    // Prometheus type-checks only a syntactically valid query.
    check_err(
        "rate(foo) bar",
        r#"1:11: parse error: unexpected identifier "bar""#,
    );
    check_err(r#"{a=""} offset"#, "1:14: parse error: unexpected end of input in offset, expected number, duration, step(), or range()");
    // A call's arity is checked before its arguments.
    check_err(
        "rate(foo[5m], rate(bar))",
        r#"1:1: parse error: expected 1 argument(s) in call to "rate", got 2"#,
    );
    // Arguments in order: the errors inside one, then its type.
    check_err(
        "clamp(foo[5m], abs(1), 2)",
        r#"1:7: parse error: expected type instant vector in call to function "clamp", got range vector"#,
    );
    check_err(
        "clamp(foo, abs(1), 2)",
        r#"1:16: parse error: expected type instant vector in call to function "abs", got scalar"#,
    );
    // An aggregation's expression is checked before its parameter.
    check_err(
        r#"topk("x", 1)"#,
        "1:11: parse error: expected type instant vector in aggregation expression, got scalar",
    );
    check_err(
        r#"topk(-"x", foo)"#,
        r#"1:6: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string""#,
    );
    // Binary operands before the operator's own checks.
    check_err(
        "rate(foo) > 1",
        r#"1:6: parse error: expected type range vector in call to function "rate", got instant vector"#,
    );
    check_err(
        "{a=\"\"} + rate(x)",
        "1:1: parse error: vector selector must contain at least one non-empty matcher",
    );
}

#[test]
fn errors_report_line_and_column() {
    check_err(
        "sum(\n  rate(foo)\n)",
        r#"2:8: parse error: expected type range vector in call to function "rate", got instant vector"#,
    );
    let err = parse("foo +\n\n  bar baz").expect_err("two metrics in a row");
    assert_eq!(
        (err.position.line, err.position.column, err.position.offset),
        (3, 7, 13)
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let limit = format!("expression nesting exceeds the maximum depth of {MAX_DEPTH}");
    let n = 100_000;
    let parens = format!("{}1{}", "(".repeat(n), ")".repeat(n));
    let unary = format!("{}1", "-".repeat(n));
    let chain = format!("1{}", " + 1".repeat(n));
    let pow_chain = format!("1{}", " ^ 1".repeat(n));
    let calls = format!("{}foo{}", "abs(".repeat(n), ")".repeat(n));
    let aggs = format!("{}foo{}", "sum(".repeat(n), ")".repeat(n));
    let subqueries = format!("foo{}", "[5m:]".repeat(n));
    let durations = format!("foo[{}5m{}]", "(".repeat(n), ")".repeat(n));
    for query in [parens, unary, chain, pow_chain, calls, aggs, durations] {
        let err = parse(&query).expect_err("too deep");
        assert!(err.message.contains(&limit), "{}", err.message);
    }
    // A chain of subqueries fails type checking before it gets deep.
    assert!(parse(&subqueries).is_err());
    // Just inside the limit is fine and prints back.
    let ok = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH as usize - 2),
        ")".repeat(MAX_DEPTH as usize - 2)
    );
    check(&ok, &ok);
}

/// The nodes `walk` visits, printed, in visiting order.
fn walked(query: &str, descend_into_subqueries: bool) -> Vec<String> {
    let expr = parse(query).unwrap_or_else(|e| panic!("{query:?} fails: {e}"));
    let mut seen = Vec::new();
    expr.walk(&mut |e| {
        seen.push(e.to_string());
        descend_into_subqueries || !matches!(e, Expr::Subquery(_))
    });
    seen
}

#[test]
fn walk_visits_in_prometheus_child_order() {
    assert_eq!(
        walked("topk(2, rate(a[1m])) / on(x) -(b)", true),
        [
            "topk(2, rate(a[1m])) / on(x) -(b)",
            "topk(2, rate(a[1m]))",
            "rate(a[1m])",
            "a[1m]",
            "2",
            "-(b)",
            "(b)",
            "b",
        ]
    );
    assert_eq!(
        walked(
            "label_join(max_over_time(m[5m:1m]), \"d\", \",\", \"s\")",
            true
        ),
        [
            "label_join(max_over_time(m[5m:1m]), \"d\", \",\", \"s\")",
            "max_over_time(m[5m:1m])",
            "m[5m:1m]",
            "m",
            "\"d\"",
            "\",\"",
            "\"s\"",
        ]
    );
    // `false` from the visitor skips the node's children, not its siblings.
    assert_eq!(walked("m[5m:1m] @ 10", false), ["m[5m:1m] @ 10.000"]);
    assert_eq!(walked("sum(m)", false), ["sum(m)", "m"]);
}

#[test]
fn walk_mut_changes_every_visited_node() {
    let mut expr = parse("a + sum(b offset 1m) + max_over_time(c[1m:])").expect("parses");
    expr.walk_mut(&mut |e| {
        if let Expr::VectorSelector(vs) = e {
            vs.at.get_or_insert(At::Timestamp(5_000));
        }
        !matches!(e, Expr::Subquery(_))
    });
    assert_eq!(
        expr.to_string(),
        "a @ 5.000 + sum(b @ 5.000 offset 1m) + max_over_time(c[1m:])"
    );
    assert_eq!(expr.children().count(), 2);
    assert_eq!(parse("m").expect("parses").children().count(), 0);
}

#[test]
fn same_as_tells_trees_apart() {
    let same = |a: &str, b: &str| {
        parse(a)
            .expect("parses")
            .same_as(&parse(b).expect("parses"))
    };
    assert!(same("sum by (a) (rate(m[1m]))", "sum by (a) (rate(m[1m]))"));
    assert!(same("NaN + abs(x)", "NaN + abs(x)"));
    for (a, b) in [
        ("a + b", "a - b"),
        ("a + b", "a + c"),
        ("topk(1, a)", "topk(2, a)"),
        ("sum(a)", "count(a)"),
        ("sum by (x) (a)", "sum without (x) (a)"),
        ("round(a)", "round(a, 2)"),
        ("abs(a)", "ceil(a)"),
        ("(a)", "a"),
        ("-a", "+a"),
        ("a[5m:1m]", "a[5m:2m]"),
        ("a[5m:1m] offset 1m", "a[5m:1m]"),
        ("a[1m]", "a[2m]"),
        ("a @ 10", "a"),
    ] {
        assert!(!same(a, b), "{a} vs {b}");
        assert!(!same(b, a), "{b} vs {a}");
    }
}
