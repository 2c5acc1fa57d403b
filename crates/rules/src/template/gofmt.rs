//! Go's `fmt` number formatting as templates observe it: `%v`/`%g` of a float64 (shortest
//! digits, exponent form when the exponent is < -4 or >= 6), `%.Ng`, and a `printf` subset.
//!
//! Go and Rust both print the exactly rounded decimal expansion with ties to even, so taking
//! the digits from Rust's `{:e}` and laying them out by Go's rules gives Go's bytes.

use super::value::Value;

/// Significant digits and decimal point of a finite, non-zero float: `value = 0.DIGITS × 10^dp`.
/// `precision` = `None` asks for the shortest digits that round-trip.
fn digits(v: f64, precision: Option<usize>) -> (String, i32) {
    let formatted = match precision {
        Some(p) => format!("{:.*e}", p.max(1) - 1, v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exponent + 1)
}

fn special(v: f64, plus: bool) -> Option<String> {
    if v.is_nan() {
        return Some("NaN".into());
    }
    if v.is_infinite() {
        return Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into());
    }
    if v == 0.0 {
        let sign = if v.is_sign_negative() {
            "-"
        } else if plus {
            "+"
        } else {
            ""
        };
        return Some(format!("{sign}0"));
    }
    None
}

/// Go's `%g` (`precision` = `None`, as `%v` prints a float64) or `%.Ng`.
pub fn format_g(v: f64, precision: Option<usize>) -> String {
    if let Some(s) = special(v, false) {
        return s;
    }
    let (digits, dp) = digits(v, precision);
    let n_digits = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let mut eprec = precision.map_or(6, |p| i32::try_from(p.max(1)).unwrap_or(i32::MAX));
    if precision.is_some() && eprec > n_digits && n_digits >= dp {
        eprec = n_digits;
    }
    let exp = dp - 1;
    let sign = if v < 0.0 { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    format!("{sign}{}", fixed_from_digits(&digits, dp))
}

/// Lays out `0.DIGITS × 10^dp` in positional notation with no trailing zeros.
fn fixed_from_digits(digits: &str, dp: i32) -> String {
    let bytes = digits.as_bytes();
    let digit_at = |i: i32| -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| bytes.get(i))
            .map_or('0', |&b| char::from(b))
    };
    let n_digits = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
    let mut out = String::new();
    if dp > 0 {
        for i in 0..dp {
            out.push(digit_at(i));
        }
    } else {
        out.push('0');
    }
    let n_frac = (n_digits - dp).max(0);
    if n_frac > 0 {
        out.push('.');
        for i in dp..dp + n_frac {
            out.push(digit_at(i));
        }
    }
    out
}

/// Go's `%e` with `precision` fraction digits (default 6).
fn format_e(v: f64, precision: usize) -> String {
    if let Some(s) = special(v, false) {
        if v == 0.0 {
            let zeros = "0".repeat(precision);
            let dot = if precision > 0 { "." } else { "" };
            return format!("{s}{dot}{zeros}e+00");
        }
        return s;
    }
    let formatted = format!("{:.*e}", precision, v);
    let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let esign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{esign}{:02}", exponent.abs())
}

/// Go's `%f` with `precision` fraction digits.
fn format_f(v: f64, precision: usize) -> String {
    if let Some(s) = special(v, false) {
        if v == 0.0 {
            return format!("{:.*}", precision, v);
        }
        return s;
    }
    format!("{:.*}", precision, v)
}

/// How a value prints with `%v` / `{{ . }}`: Go's default formats.
pub fn format_value(value: &Value) -> String {
    match value {
        Value::Nil => "<no value>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_g(*f, None),
        Value::Str(s) => s.clone(),
        Value::Map(m) => {
            let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("map[{}]", items.join(" "))
        }
        Value::ArgMap(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", format_value(v)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
        Value::Sample(s) => {
            let items: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("&{{map[{}] {}}}", items.join(" "), format_g(s.value, None))
        }
        Value::Samples(samples) => {
            let items: Vec<String> = samples
                .iter()
                .map(|s| format_value(&Value::Sample(s.clone())))
                .collect();
            format!("[{}]", items.join(" "))
        }
        Value::Time(ms) => super::funcs::go_time_string(*ms),
    }
}

/// One parsed `%` directive.
#[derive(Default)]
struct Directive {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Directive {
    fn pad(&self, body: String) -> String {
        let Some(width) = self.width else { return body };
        let len = body.chars().count();
        if len >= width {
            return body;
        }
        let fill = width - len;
        if self.minus {
            return format!("{body}{}", " ".repeat(fill));
        }
        if self.zero {
            // Zero padding goes after the sign.
            let (sign, digits) = match body.strip_prefix(['-', '+']) {
                Some(rest) => (body.get(..1).unwrap_or(""), rest),
                None => ("", body.as_str()),
            };
            return format!("{sign}{}{digits}", "0".repeat(fill));
        }
        format!("{}{body}", " ".repeat(fill))
    }

    fn sign(&self, body: String, negative: bool) -> String {
        if negative || body.starts_with('-') {
            body
        } else if self.plus {
            format!("+{body}")
        } else if self.space {
            format!(" {body}")
        } else {
            body
        }
    }
}

/// Go's wrong-type form `%!f(string=x)`: the value prints with the directive's precision
/// still applied (`%.1f` of "1.5G" gives `%!f(string=1)`).
fn bad_verb(verb: char, d: &Directive, value: &Value) -> String {
    let type_name = match value {
        Value::Nil => return format!("%!{verb}(<nil>)"),
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::Map(_) => "map[string]string",
        Value::ArgMap(_) => "map[string]interface {}",
        Value::Sample(_) => "*template.sample",
        Value::Samples(_) => "template.queryResult",
        Value::Time(_) => "*time.Time",
    };
    let shown = match (value, d.precision) {
        (Value::Str(s), Some(p)) => s.chars().take(p).collect(),
        _ => format_value(value),
    };
    format!("%!{verb}({type_name}={shown})")
}

/// Go-quoted string (`%q`): double quotes, Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn format_one(verb: char, d: &Directive, value: &Value) -> String {
    let body = match (verb, value) {
        ('v', v) => match v {
            Value::Float(f) => d.sign(format_g(*f, d.precision), *f < 0.0),
            Value::Int(i) => d.sign(i.to_string(), *i < 0),
            other => format_value(other),
        },
        ('s', Value::Str(s)) => match d.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('s', Value::Map(_) | Value::ArgMap(_) | Value::Bool(_)) => format_value(value),
        ('q', Value::Str(s)) => go_quote(s),
        ('t', Value::Bool(b)) => b.to_string(),
        ('d', Value::Int(i)) => d.sign(i.to_string(), *i < 0),
        ('x', Value::Int(i)) => format!("{}{:x}", if *i < 0 { "-" } else { "" }, i.unsigned_abs()),
        ('X', Value::Int(i)) => format!("{}{:X}", if *i < 0 { "-" } else { "" }, i.unsigned_abs()),
        ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('f' | 'F', Value::Float(f)) => d.sign(format_f(*f, d.precision.unwrap_or(6)), *f < 0.0),
        ('e', Value::Float(f)) => d.sign(format_e(*f, d.precision.unwrap_or(6)), *f < 0.0),
        ('g', Value::Float(f)) => d.sign(format_g(*f, d.precision), *f < 0.0),
        ('f' | 'F', Value::Int(_)) | ('e' | 'g', Value::Int(_)) => bad_verb(verb, d, value),
        _ => bad_verb(verb, d, value),
    };
    let _ = d.sharp;
    d.pad(body)
}

/// Go's `fmt.Sprintf` for the verbs templates use (`%s %v %d %f %F %e %g %x %X %q %t %%`,
/// flags `-+0 #`, width and precision). A verb that does not fit its argument prints Go's
/// `%!d(string=x)` form; missing and extra arguments print `%!d(MISSING)` / `%!(EXTRA ...)`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut arg_idx = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut d = Directive::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => d.minus = true,
                '+' => d.plus = true,
                '0' => d.zero = true,
                ' ' => d.space = true,
                '#' => d.sharp = true,
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&w) = chars.peek().filter(|c| c.is_ascii_digit()) {
            width.push(w);
            chars.next();
        }
        d.width = width.parse().ok();
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut precision = String::new();
            while let Some(&p) = chars.peek().filter(|c| c.is_ascii_digit()) {
                precision.push(p);
                chars.next();
            }
            d.precision = Some(precision.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(arg_idx) {
            Some(value) => out.push_str(&format_one(verb, &d, value)),
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
        arg_idx += 1;
    }
    if arg_idx < args.len() {
        let extra: Vec<String> = args
            .get(arg_idx..)
            .unwrap_or_default()
            .iter()
            .map(|v| match v {
                Value::Str(s) => format!("string={s}"),
                Value::Float(f) => format!("float64={}", format_g(*f, None)),
                Value::Int(i) => format!("int={i}"),
                other => format_value(other),
            })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_g_matches_go() {
        for (v, go) in [
            (1.0, "1"),
            (0.5, "0.5"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(format_g(v, None), go, "{v}");
        }
    }

    #[test]
    fn precision_g_matches_go() {
        for (v, go) in [
            (1234.5, "1234"),
            (1235.5, "1236"),
            (10000.0, "1e+04"),
            (100.0, "100"),
            (123.0, "123"),
            (12340.0, "1.234e+04"),
            (0.5, "0.5"),
            (1.5, "1.5"),
            (0.0, "0"),
            (1.23456, "1.235"),
        ] {
            assert_eq!(format_g(v, Some(4)), go, "{v}");
        }
    }

    #[test]
    fn printf_subset() {
        assert_eq!(sprintf("%.2f", &[Value::Float(1.23456)]), "1.23");
        assert_eq!(sprintf("%d items", &[Value::Int(3)]), "3 items");
        assert_eq!(
            sprintf(
                "%5s|%-5s|",
                &[Value::Str("a".into()), Value::Str("b".into())]
            ),
            "    a|b    |"
        );
        assert_eq!(sprintf("%d", &[Value::Str("x".into())]), "%!d(string=x)");
        assert_eq!(
            sprintf("%s %s", &[Value::Str("x".into())]),
            "x %!s(MISSING)"
        );
        assert_eq!(sprintf("100%%", &[]), "100%");
        assert_eq!(sprintf("%e", &[Value::Float(1234.5)]), "1.234500e+03");
        assert_eq!(sprintf("%q", &[Value::Str("a\"b".into())]), "\"a\\\"b\"");
    }
}
