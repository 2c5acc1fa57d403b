//! The functions rule templates may call: Go's builtins (`and`, `or`, `not`, `eq`, `ne`, `lt`,
//! `le`, `gt`, `ge`, `len`, `index`, `print`, `printf`, `println`, `html`, `js`, `urlquery`)
//! and Prometheus's (`humanize*`, `query`, `first`, `label`, `value`, `strvalue`, `args`,
//! `reReplaceAll`, `match`, `title`, `toUpper`, `toLower`, `safeHtml`, `graphLink`,
//! `tableLink`, `sortByLabel`, `stripPort`, `stripDomain`, `parseDuration`, `toTime`,
//! `externalURL`, `pathPrefix`), with Prometheus 2.42's formatting of every result.

use std::collections::BTreeMap;

use super::gofmt::{format_g, format_value, sprintf};
use super::value::{QuerySample, Value};

/// Every function name the parser accepts.
const FUNCTIONS: &[&str] = &[
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "html",
    "js",
    "urlquery",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "match",
    "title",
    "toUpper",
    "toLower",
    "safeHtml",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "stripPort",
    "stripDomain",
    "parseDuration",
    "toTime",
    "externalURL",
    "pathPrefix",
];

/// True if `name` is a function templates may call.
pub fn is_function(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

/// What a function needs from its surroundings.
pub trait Environment {
    /// Runs a PromQL query at the template's evaluation time.
    fn query(&self, expr: &str) -> Result<Vec<QuerySample>, String>;
    /// The external URL (`externalURL`, `graphLink`, `pathPrefix`).
    fn external_url(&self) -> &str;
}

fn want_args(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ));
    }
    Ok(())
}

/// Prometheus's `convertToFloat`: float64, int and numeric strings.
fn to_float(value: &Value) -> Result<f64, String> {
    match value {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => parse_go_float(s).ok_or_else(|| {
            format!(
                "strconv.ParseFloat: parsing {}: invalid syntax",
                super::gofmt::go_quote(s)
            )
        }),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

/// Go's `strconv.ParseFloat` for the inputs templates see (`Inf`, `NaN`, decimal, hex ints).
fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '_') {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn as_str<'v>(name: &str, value: &'v Value) -> Result<&'v str, String> {
    match value {
        Value::Str(s) => Ok(s),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        ))
        .map_err(|e| format!("{e} (in {name})")),
    }
}

fn as_sample(value: &Value) -> Result<&QuerySample, String> {
    match value {
        Value::Sample(s) => Ok(s),
        other => Err(format!(
            "wrong type for value; expected *template.sample; got {}",
            other.type_name()
        )),
    }
}

fn as_samples(value: &Value) -> Result<Vec<QuerySample>, String> {
    match value {
        Value::Samples(s) => Ok(s.clone()),
        other => Err(format!(
            "wrong type for value; expected template.queryResult; got {}",
            other.type_name()
        )),
    }
}

fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    if v.abs() >= 1.0 {
        let mut prefix = "";
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{prefix}", format_g(v, Some(4)));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

fn humanize_1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", format_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        // Go's int64(v) truncates toward zero; values past i64 saturate here.
        let duration = v as i64;
        let seconds = duration % 60;
        let minutes = (duration / 60) % 60;
        let hours = (duration / 60 / 60) % 24;
        let days = duration / 60 / 60 / 24;
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", format_g(v, Some(4)));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_g(v, Some(4)))
}

/// Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Go's `time.Time.String()` of a UTC time given in nanoseconds:
/// `2006-01-02 15:04:05.999999999 +0000 UTC` (fraction without trailing zeros).
fn go_time_string_ns(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!("{frac:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Go's `time.Time.String()` of a UTC time in milliseconds.
pub fn go_time_string(ms: i64) -> String {
    go_time_string_ns(ms.saturating_mul(1_000_000))
}

fn humanize_timestamp(v: f64) -> Result<String, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(format_g(v, Some(4)));
    }
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            format_g(v, None)
        ));
    }
    Ok(go_time_string_ns(ns as i64))
}

/// Go's `strings.Title`: upper-cases the first letter of each word (words are separated by
/// anything that is not a letter, digit, underscore or apostrophe).
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

fn compare_basic(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => Ok(x.partial_cmp(y).unwrap_or(Ordering::Less)),
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
        (Value::Nil, _) | (_, Value::Nil) => Err("invalid type for comparison".into()),
        _ => Err("incompatible types for comparison".into()),
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn url_query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `fmt.Sprint`: spaces between operands when neither is a string.
fn go_sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            let prev_str = matches!(args.get(i - 1), Some(Value::Str(_)));
            if !prev_str && !matches!(a, Value::Str(_)) {
                out.push(' ');
            }
        }
        out.push_str(&format_value(a));
    }
    out
}

/// Calls function `name` on evaluated `args`. `and`/`or` are handled by the executor (they
/// short-circuit).
pub fn call(name: &str, args: &[Value], env: &dyn Environment) -> Result<Value, String> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Nil);
    let one = |args: &[Value]| want_args(name, args, 1);
    Ok(match name {
        "not" => {
            one(args)?;
            Value::Bool(!arg(0).is_true())
        }
        "eq" => {
            if args.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            let first = arg(0);
            let mut any = false;
            for other in args.get(1..).unwrap_or_default() {
                if compare_basic(&first, other)? == std::cmp::Ordering::Equal {
                    any = true;
                }
            }
            Value::Bool(any)
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            want_args(name, args, 2)?;
            let ord = compare_basic(&arg(0), &arg(1))?;
            use std::cmp::Ordering::*;
            Value::Bool(match name {
                "ne" => ord != Equal,
                "lt" => ord == Less,
                "le" => ord != Greater,
                "gt" => ord == Greater,
                _ => ord != Less,
            })
        }
        "len" => {
            one(args)?;
            let n = match arg(0) {
                Value::Str(s) => s.len(),
                Value::Map(m) => m.len(),
                Value::ArgMap(m) => m.len(),
                Value::Samples(s) => s.len(),
                other => return Err(format!("len of type {}", other.type_name())),
            };
            Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
        }
        "index" => {
            let mut item = arg(0);
            for key in args.get(1..).unwrap_or_default() {
                item = match (&item, key) {
                    (Value::Map(m), Value::Str(k)) => m
                        .get(k)
                        .map_or(Value::Str(String::new()), |v| Value::Str(v.clone())),
                    (Value::ArgMap(m), Value::Str(k)) => m.get(k).cloned().unwrap_or(Value::Nil),
                    (Value::Samples(s), Value::Int(i)) => {
                        match usize::try_from(*i).ok().and_then(|i| s.get(i)) {
                            Some(s) => Value::Sample(s.clone()),
                            None => {
                                return Err(format!("error calling index: index out of range: {i}"))
                            }
                        }
                    }
                    (other, _) => {
                        return Err(format!(
                            "error calling index: can't index item of type {}",
                            other.type_name()
                        ));
                    }
                };
            }
            item
        }
        "print" => Value::Str(go_sprint(args)),
        "println" => {
            let parts: Vec<String> = args.iter().map(format_value).collect();
            Value::Str(format!("{}\n", parts.join(" ")))
        }
        "printf" => {
            let Some(Value::Str(format)) = args.first() else {
                return Err("wrong type for value; expected string".into());
            };
            Value::Str(sprintf(format, args.get(1..).unwrap_or_default()))
        }
        "html" => Value::Str(html_escape(&go_sprint(args))),
        "urlquery" => Value::Str(url_query_escape(&go_sprint(args))),
        "js" => Value::Str(
            go_sprint(args)
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
                .replace('"', "\\\"")
                .replace('<', "\\u003C")
                .replace('>', "\\u003E"),
        ),
        "humanize" => {
            one(args)?;
            Value::Str(humanize(
                to_float(&arg(0)).map_err(|e| format!("error calling humanize: {e}"))?,
            ))
        }
        "humanize1024" => {
            one(args)?;
            Value::Str(humanize_1024(
                to_float(&arg(0)).map_err(|e| format!("error calling humanize1024: {e}"))?,
            ))
        }
        "humanizeDuration" => {
            one(args)?;
            Value::Str(humanize_duration(
                to_float(&arg(0)).map_err(|e| format!("error calling humanizeDuration: {e}"))?,
            ))
        }
        "humanizePercentage" => {
            one(args)?;
            let v =
                to_float(&arg(0)).map_err(|e| format!("error calling humanizePercentage: {e}"))?;
            Value::Str(format!("{}%", format_g(v * 100.0, Some(4))))
        }
        "humanizeTimestamp" => {
            one(args)?;
            let v =
                to_float(&arg(0)).map_err(|e| format!("error calling humanizeTimestamp: {e}"))?;
            Value::Str(
                humanize_timestamp(v)
                    .map_err(|e| format!("error calling humanizeTimestamp: {e}"))?,
            )
        }
        "toTime" => {
            one(args)?;
            let v = to_float(&arg(0)).map_err(|e| format!("error calling toTime: {e}"))?;
            Value::Time((v * 1000.0) as i64)
        }
        "query" => {
            one(args)?;
            let expr = as_str(name, &args[0])?;
            Value::Samples(
                env.query(expr)
                    .map_err(|e| format!("error calling query: {e}"))?,
            )
        }
        "first" => {
            one(args)?;
            let samples = as_samples(&arg(0))?;
            match samples.into_iter().next() {
                Some(s) => Value::Sample(s),
                None => {
                    return Err(
                        "error calling first: first() called on vector with no elements".into(),
                    )
                }
            }
        }
        "label" => {
            want_args(name, args, 2)?;
            let label = as_str(name, &args[0])?;
            let sample = as_sample(&args[1])?;
            Value::Str(sample.labels.get(label).cloned().unwrap_or_default())
        }
        "value" => {
            one(args)?;
            Value::Float(as_sample(&args[0])?.value)
        }
        "strvalue" => {
            one(args)?;
            Value::Str(
                as_sample(&args[0])?
                    .labels
                    .get("__value__")
                    .cloned()
                    .unwrap_or_default(),
            )
        }
        "args" => {
            let mut m = BTreeMap::new();
            for (i, a) in args.iter().enumerate() {
                m.insert(format!("arg{i}"), a.clone());
            }
            Value::ArgMap(m)
        }
        "reReplaceAll" => {
            want_args(name, args, 3)?;
            let pattern = as_str(name, &args[0])?;
            let repl = as_str(name, &args[1])?;
            let text = as_str(name, &args[2])?;
            let re = regex::Regex::new(pattern)
                .map_err(|e| format!("error calling reReplaceAll: {e}"))?;
            // Go's `$1` expands like Rust's, except Rust reads `$1x` as a group named `1x`;
            // Go does the same (longest name), so the syntax agrees.
            Value::Str(re.replace_all(text, repl).into_owned())
        }
        "match" => {
            want_args(name, args, 2)?;
            let pattern = as_str(name, &args[0])?;
            let text = as_str(name, &args[1])?;
            let re = regex::Regex::new(pattern).map_err(|e| format!("error calling match: {e}"))?;
            Value::Bool(re.is_match(text))
        }
        "title" => Value::Str(title(as_str(name, &arg(0))?)),
        "toUpper" => Value::Str(as_str(name, &arg(0))?.to_uppercase()),
        "toLower" => Value::Str(as_str(name, &arg(0))?.to_lowercase()),
        "safeHtml" => Value::Str(as_str(name, &arg(0))?.to_string()),
        "graphLink" | "tableLink" => {
            let first_arg = arg(0);
            let expr = as_str(name, &first_arg)?;
            let tab = if name == "graphLink" { 0 } else { 1 };
            Value::Str(format!(
                "/graph?g0.expr={}&g0.tab={tab}",
                url_query_escape(expr)
            ))
        }
        "sortByLabel" => {
            want_args(name, args, 2)?;
            let label = as_str(name, &args[0])?.to_string();
            let mut samples = as_samples(&args[1])?;
            samples.sort_by(|a, b| a.labels.get(&label).cmp(&b.labels.get(&label)));
            Value::Samples(samples)
        }
        "stripPort" => {
            let first_arg = arg(0);
            let host = as_str(name, &first_arg)?;
            let stripped = match host.rsplit_once(':') {
                Some((h, _)) if h.starts_with('[') && h.ends_with(']') => {
                    h.trim_start_matches('[').trim_end_matches(']').to_string()
                }
                Some((h, _)) if !h.contains(':') => h.to_string(),
                _ => host.to_string(),
            };
            Value::Str(stripped)
        }
        "stripDomain" => {
            let first_arg = arg(0);
            let host = as_str(name, &first_arg)?;
            let (h, port) = match host.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p)),
                _ => (host, None),
            };
            if h.parse::<std::net::Ipv4Addr>().is_ok() {
                return Ok(Value::Str(host.to_string()));
            }
            let short = h.split('.').next().unwrap_or(h);
            Value::Str(match port {
                Some(p) => format!("{short}:{p}"),
                None => short.to_string(),
            })
        }
        "parseDuration" => {
            let first_arg = arg(0);
            let text = as_str(name, &first_arg)?;
            let ms = crate::duration::parse(text)
                .map_err(|e| format!("error calling parseDuration: {e}"))?;
            Value::Float(ms as f64 / 1000.0)
        }
        "externalURL" => Value::Str(env.external_url().to_string()),
        "pathPrefix" => {
            let url = env.external_url();
            let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
            Value::Str(after_scheme.find('/').map_or(String::new(), |i| {
                after_scheme.get(i..).unwrap_or("").to_string()
            }))
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_family_matches_prometheus_docs() {
        assert_eq!(humanize(1234567.0), "1.235M");
        assert_eq!(humanize(0.00123), "1.23m");
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize(999.0), "999");
        assert_eq!(humanize_1024(1048576.0), "1Mi");
        assert_eq!(humanize_duration(3661.0), "1h 1m 1s");
        assert_eq!(humanize_duration(90061.0), "1d 1h 1m 1s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(0.0015), "1.5ms");
        assert_eq!(humanize_duration(0.0), "0s");
        assert_eq!(
            humanize_timestamp(1435065584.128).unwrap(),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
        assert_eq!(
            humanize_timestamp(0.0).unwrap(),
            "1970-01-01 00:00:00 +0000 UTC"
        );
        assert_eq!(title("hello world-foo"), "Hello World-Foo");
    }
}
