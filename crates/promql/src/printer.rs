//! Prints an [`Expr`] as canonical PromQL.
//!
//! Invariant: for every tree the parser produces, `parse(&expr.to_string()) == Ok(expr)` (up to
//! NaN literals, which are never equal to themselves). The printer adds parentheses only where
//! a hand-built tree would otherwise print as a differently shaped expression.

use std::fmt::{self, Write};

use promlite_model::labels::{is_legacy_metric_name, is_legacy_name};
use promlite_model::{MatchOp, Matcher, METRIC_NAME};

use crate::ast::{Aggregate, At, Binary, BinaryOp, Cardinality, Expr, UnaryOp, VectorSelector};
use crate::parser::is_reserved_metric_name;
use crate::quote::write_go_quoted;

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, self)
    }
}

/// Writes `s` as a double-quoted PromQL string literal that the lexer reads back unchanged
/// (Go's `strconv.Quote`, as Prometheus prints strings).
pub(crate) fn write_string_literal(out: &mut impl Write, s: &str) -> fmt::Result {
    write_go_quoted(out, s.as_bytes())
}

/// Formats milliseconds as a Prometheus duration (`1h30m`, `1s500ms`, `-5m`, `0s`). Years and
/// weeks are used only when they divide the duration exactly, as Prometheus does.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    let mut rest = ms.unsigned_abs();
    let units: [(&str, u64, bool); 7] = [
        ("y", 365 * 86_400_000, true),
        ("w", 7 * 86_400_000, true),
        ("d", 86_400_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1_000, false),
        ("ms", 1, false),
    ];
    for (unit, mult, exact) in units {
        if exact && !rest.is_multiple_of(mult) {
            continue;
        }
        let v = rest / mult;
        if v > 0 {
            let _ = write!(out, "{v}{unit}");
            rest -= v * mult;
        }
    }
    out
}

/// Formats a float the way the lexer reads it back exactly.
pub(crate) fn format_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    // Debug prints the shortest representation that round-trips, switching to exponent
    // notation for very large and very small magnitudes.
    let s = format!("{v:?}");
    match s.strip_suffix(".0") {
        Some(trimmed) => trimmed.to_string(),
        None => s,
    }
}

/// An `@` time as Prometheus prints it: seconds with exactly three decimals (`%.3f`).
fn format_timestamp(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let (secs, frac) = (abs / 1000, abs % 1000);
    format!("{sign}{secs}.{frac:03}")
}

fn write_label_name(f: &mut impl Write, name: &str) -> fmt::Result {
    if is_legacy_name(name) {
        f.write_str(name)
    } else {
        write_string_literal(f, name)
    }
}

fn write_matcher(f: &mut impl Write, m: &Matcher) -> fmt::Result {
    write_label_name(f, &m.name)?;
    f.write_str(m.op.as_str())?;
    write_string_literal(f, &m.value)
}

fn write_label_list(f: &mut impl Write, labels: &[String]) -> fmt::Result {
    f.write_char('(')?;
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_label_name(f, l)?;
    }
    f.write_char(')')
}

fn write_modifiers(f: &mut impl Write, offset: i64, at: Option<At>) -> fmt::Result {
    if let Some(at) = at {
        match at {
            At::Timestamp(ms) => write!(f, " @ {}", format_timestamp(ms))?,
            At::Start => f.write_str(" @ start()")?,
            At::End => f.write_str(" @ end()")?,
        }
    }
    if offset != 0 {
        write!(f, " offset {}", format_duration(offset))?;
    }
    Ok(())
}

/// Writes the selector's name and matchers, without `offset`/`@`.
///
/// The parser stores a name written outside the braces both as `name` and as a trailing
/// `__name__="name"` matcher; that form prints as `name{...}`. Hand-built selectors whose `name`
/// has no matcher still print their name (re-parsing then adds the matcher).
fn write_selector_body(f: &mut impl Write, vs: &VectorSelector) -> fmt::Result {
    let is_name_matcher = |m: &Matcher, name: &str| {
        m.name == METRIC_NAME && m.op == MatchOp::Equal && m.value == name
    };
    let has_name_matcher = vs.matchers.iter().any(|m| m.name == METRIC_NAME);
    let mut shown: Vec<&Matcher> = vs.matchers.iter().collect();
    let mut bare = false;
    if let Some(name) = vs.name.as_deref() {
        let printable = is_legacy_metric_name(name) && !is_reserved_metric_name(name);
        if printable && vs.matchers.last().is_some_and(|m| is_name_matcher(m, name)) {
            shown.pop();
            bare = true;
        } else if printable && !has_name_matcher {
            bare = true;
        }
        if bare {
            f.write_str(name)?;
        }
    }
    let implied_name = match vs.name.as_deref() {
        Some(name) if !bare && !has_name_matcher => Some(Matcher::equal(METRIC_NAME, name)),
        _ => None,
    };
    if let Some(m) = &implied_name {
        shown.insert(0, m);
    }
    if !shown.is_empty() || !bare {
        f.write_char('{')?;
        for (i, m) in shown.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_matcher(f, m)?;
        }
        f.write_char('}')?;
    }
    Ok(())
}

fn needs_parens_as_operand(op: BinaryOp, operand: &Expr, is_lhs: bool) -> bool {
    match operand {
        Expr::Binary(inner) => {
            let (outer_p, inner_p) = (op.precedence(), inner.op.precedence());
            inner_p < outer_p || (inner_p == outer_p && op.is_right_associative() == is_lhs)
        }
        // Unary minus binds looser than `^`: `(-a) ^ b`.
        Expr::Unary(..) => is_lhs && op == BinaryOp::Pow,
        Expr::Number(v) => is_lhs && op == BinaryOp::Pow && v.is_sign_negative() && !v.is_nan(),
        _ => false,
    }
}

fn write_operand(f: &mut impl Write, e: &Expr, parens: bool) -> fmt::Result {
    if parens {
        f.write_char('(')?;
        write_expr(f, e)?;
        f.write_char(')')
    } else {
        write_expr(f, e)
    }
}

fn write_binary(f: &mut impl Write, b: &Binary) -> fmt::Result {
    write_operand(f, &b.lhs, needs_parens_as_operand(b.op, &b.lhs, true))?;
    write!(f, " {}", b.op.as_str())?;
    if b.return_bool {
        f.write_str(" bool")?;
    }
    if let Some(labels) = &b.matching.labels {
        f.write_str(if labels.on { " on" } else { " ignoring" })?;
        write_label_list(f, &labels.names)?;
    }
    if let Some(group) = &b.matching.group {
        f.write_str(if group.card == Cardinality::OneToMany {
            " group_right"
        } else {
            " group_left"
        })?;
        // Always with parentheses, as Prometheus prints it: `group_left (x)` would read `(x)`
        // as the label list.
        write_label_list(f, &group.include)?;
    }
    f.write_char(' ')?;
    write_operand(f, &b.rhs, needs_parens_as_operand(b.op, &b.rhs, false))
}

fn write_aggregate(f: &mut impl Write, a: &Aggregate) -> fmt::Result {
    f.write_str(a.op.as_str())?;
    if a.without || !a.grouping.is_empty() {
        f.write_str(if a.without { " without " } else { " by " })?;
        write_label_list(f, &a.grouping)?;
        f.write_char(' ')?;
    }
    f.write_char('(')?;
    if let Some(param) = &a.param {
        write_expr(f, param)?;
        f.write_str(", ")?;
    }
    write_expr(f, &a.expr)?;
    f.write_char(')')
}

/// True when `e` must be parenthesised to take a postfix `[...]`.
fn needs_parens_for_postfix(e: &Expr) -> bool {
    match e {
        Expr::Binary(_) | Expr::Unary(..) => true,
        Expr::Number(v) => v.is_sign_negative() && !v.is_nan(),
        _ => false,
    }
}

fn write_expr(f: &mut impl Write, e: &Expr) -> fmt::Result {
    match e {
        Expr::Number(v) => f.write_str(&format_number(*v)),
        Expr::String(s) => write_string_literal(f, s),
        // Invalid bytes print as `\xNN` escapes, which the lexer turns back into those bytes.
        Expr::ByteString(bytes) => write_go_quoted(f, bytes),
        Expr::VectorSelector(vs) => {
            write_selector_body(f, vs)?;
            write_modifiers(f, vs.offset, vs.at)
        }
        Expr::MatrixSelector(m) => {
            write_selector_body(f, &m.selector)?;
            write!(f, "[{}]", format_duration(m.range))?;
            write_modifiers(f, m.selector.offset, m.selector.at)
        }
        Expr::Subquery(s) => {
            write_operand(f, &s.expr, needs_parens_for_postfix(&s.expr))?;
            write!(f, "[{}:", format_duration(s.range))?;
            if let Some(step) = s.step {
                f.write_str(&format_duration(step))?;
            }
            f.write_char(']')?;
            write_modifiers(f, s.offset, s.at)
        }
        Expr::Unary(op, inner) => {
            f.write_char(if *op == UnaryOp::Neg { '-' } else { '+' })?;
            let parens = matches!(&**inner, Expr::Binary(b) if b.op != BinaryOp::Pow);
            write_operand(f, inner, parens)
        }
        Expr::Binary(b) => write_binary(f, b),
        Expr::Paren(inner) => {
            f.write_char('(')?;
            write_expr(f, inner)?;
            f.write_char(')')
        }
        Expr::Call(c) => {
            f.write_str(c.func.name)?;
            f.write_char('(')?;
            for (i, arg) in c.args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_expr(f, arg)?;
            }
            f.write_char(')')
        }
        Expr::Aggregate(a) => write_aggregate(f, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_format_like_prometheus() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(1_500), "1s500ms");
        assert_eq!(format_duration(-300_000), "-5m");
        assert_eq!(format_duration(90 * 86_400_000), "90d");
        assert_eq!(format_duration(14 * 86_400_000), "2w");
        assert_eq!(format_duration(365 * 86_400_000), "1y");
        assert_eq!(format_duration(i64::MIN).chars().next(), Some('-'));
    }

    #[test]
    fn numbers_and_timestamps() {
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(-0.5), "-0.5");
        assert_eq!(format_number(1e300), "1e300");
        assert_eq!(format_number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_timestamp(100_000), "100.000");
        assert_eq!(format_timestamp(-1_500), "-1.500");
        assert_eq!(format_timestamp(1_005), "1.005");
    }

    #[test]
    fn hand_built_selectors_keep_their_name() {
        let vs = |name: Option<&str>, matchers: Vec<Matcher>| {
            Expr::VectorSelector(VectorSelector {
                name: name.map(str::to_string),
                matchers,
                offset: 0,
                at: None,
                span: Default::default(),
            })
        };
        assert_eq!(vs(Some("foo"), vec![]).to_string(), "foo");
        assert_eq!(
            vs(Some("foo"), vec![Matcher::equal("a", "b")]).to_string(),
            r#"foo{a="b"}"#
        );
        assert_eq!(vs(Some("bool"), vec![]).to_string(), r#"{__name__="bool"}"#);
        assert_eq!(
            vs(Some("a.b"), vec![Matcher::equal("__name__", "a.b")]).to_string(),
            r#"{__name__="a.b"}"#
        );
        assert_eq!(
            vs(None, vec![Matcher::equal("__name__", "x")]).to_string(),
            r#"{__name__="x"}"#
        );
    }

    #[test]
    fn strings_escape_controls() {
        let mut s = String::new();
        write_string_literal(&mut s, "a\"b\\c\nd\u{1}\u{85}é").unwrap();
        assert_eq!(s, r#""a\"b\\c\nd\x01\u0085é""#);
    }
}
