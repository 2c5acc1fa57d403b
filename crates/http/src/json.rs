//! Prometheus-compatible JSON encoding of query results, listings and errors.
//!
//! The bodies are written by hand rather than through serde so that they match Prometheus's
//! bytes: sample values are strings formatted like Go's `strconv.FormatFloat(f, 'f', -1, 64)`
//! (`NaN`, `+Inf`, `-Inf` for the specials), timestamps are JSON numbers of seconds with the
//! milliseconds written as a fraction, and strings are escaped as Go's standard library does
//! (including the HTML-safe `\u003c`, `\u003e`, `\u0026`). The CLI's `--format json` prints
//! these same bodies.

use std::fmt::Write as _;

use promlite::{Labels, Timestamp, Value};

/// Appends a sample value the way Prometheus's API formats it: the shortest decimal that
/// round-trips, as Go's `strconv.FormatFloat(f, 'f', -1, 64)`, except that magnitudes below
/// 1e-6 or from 1e21 up use Go's exponent form (`1e-07`, `1.5e+21`), as Prometheus's
/// `jsonutil.MarshalFloat` does; and `NaN`, `+Inf`, `-Inf` for the specials.
pub fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else if v != 0.0 && (v.abs() < 1e-6 || v.abs() >= 1e21) {
        // Rust's LowerExp is also shortest-round-trip (`1.5e-7`); Go writes the exponent with
        // an explicit sign and at least two digits (`1.5e-07`).
        let formatted = format!("{v:e}");
        let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(digits) => ('-', digits),
            None => ('+', exponent),
        };
        let _ = write!(out, "{mantissa}e{sign}{digits:0>2}");
    } else {
        // Rust's Display for f64 is the shortest representation that round-trips and never
        // uses an exponent, which is exactly Go's 'f' format with precision -1.
        let _ = write!(out, "{v}");
    }
}

/// Appends a plain JSON number as Go's `encoding/json` writes a `float64`: like
/// [`write_float`] but with the exponent trimmed (`1.5e-7`), and never a special value (they are
/// written as `0`, as they cannot occur in the timings this is used for).
pub fn write_json_number(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push('0');
        return;
    }
    if v != 0.0 && (v.abs() < 1e-6 || v.abs() >= 1e21) {
        let formatted = format!("{v:e}");
        let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(digits) => ('-', digits),
            None => ('+', exponent),
        };
        let _ = write!(out, "{mantissa}e{sign}{digits}");
    } else {
        let _ = write!(out, "{v}");
    }
}

/// A sample value formatted as Prometheus does (see [`write_float`]).
pub fn format_float(v: f64) -> String {
    let mut s = String::new();
    write_float(&mut s, v);
    s
}

/// Appends a timestamp in milliseconds as JSON seconds: `1700000000`, `1700000000.5` is written
/// `1700000000.500`, as Prometheus writes the millisecond fraction with three digits.
pub fn write_timestamp(out: &mut String, t: Timestamp) {
    let magnitude = t.unsigned_abs();
    if t < 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", magnitude / 1000);
    let fraction = magnitude % 1000;
    if fraction != 0 {
        let _ = write!(out, ".{fraction:03}");
    }
}

/// Appends `s` as a JSON string literal with Go's escaping rules.
pub fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a label set as a JSON object in label order: `{"__name__":"up","job":"a"}`.
pub fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, &label.name);
        out.push(':');
        write_string(out, &label.value);
    }
    out.push('}');
}

/// Appends one `[t,"v"]` pair.
fn write_point(out: &mut String, t: Timestamp, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",\"");
    write_float(out, v);
    out.push_str("\"]");
}

/// Appends the `data` object of a query response: `{"resultType":...,"result":...}` followed by
/// `extra` members (already encoded, each starting with a comma), then the closing brace.
pub fn write_query_data(out: &mut String, value: &Value, extra: &str) {
    write_query_data_until(out, value, extra, &|| false);
}

/// How many series are encoded between two looks at the caller's stop condition.
const SERIES_PER_STOP_CHECK: usize = 256;

/// [`write_query_data`] that asks `stop` every 256 series (a query's
/// deadline holds while its answer is encoded); returns false, with `out` incomplete, if it
/// stopped.
pub fn write_query_data_until(
    out: &mut String,
    value: &Value,
    extra: &str,
    stop: &dyn Fn() -> bool,
) -> bool {
    out.push_str("{\"resultType\":\"");
    out.push_str(value.result_type());
    out.push_str("\",\"result\":");
    match value {
        Value::Scalar { t, v } => write_point(out, *t, *v),
        Value::String { t, v } => {
            out.push('[');
            write_timestamp(out, *t);
            out.push(',');
            write_string(out, v);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, sample) in samples.iter().enumerate() {
                if i % SERIES_PER_STOP_CHECK == SERIES_PER_STOP_CHECK - 1 && stop() {
                    return false;
                }
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &sample.labels);
                out.push_str(",\"value\":");
                write_point(out, sample.t, sample.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, one) in series.iter().enumerate() {
                if i % SERIES_PER_STOP_CHECK == SERIES_PER_STOP_CHECK - 1 && stop() {
                    return false;
                }
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &one.labels);
                out.push_str(",\"values\":[");
                for (j, sample) in one.samples.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(out, sample.t, sample.v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push_str(extra);
    out.push('}');
    true
}

/// Appends `,"name":["a","b"]` unless `items` is empty (Prometheus omits empty warnings).
fn write_string_list_member(out: &mut String, name: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, item);
    }
    out.push(']');
}

/// A success envelope around already-encoded `data`:
/// `{"status":"success","data":DATA[,"warnings":[...]][,"infos":[...]]}`.
pub fn success(data: &str, warnings: &[String], infos: &[String]) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str("{\"status\":\"success\",\"data\":");
    out.push_str(data);
    write_string_list_member(&mut out, "warnings", warnings);
    write_string_list_member(&mut out, "infos", infos);
    out.push('}');
    out
}

/// The full body of a successful query: the envelope around [`write_query_data`].
pub fn query_success(
    value: &Value,
    stats: Option<&str>,
    warnings: &[String],
    infos: &[String],
) -> String {
    let mut data = String::new();
    let extra = stats.map(|s| format!(",\"stats\":{s}")).unwrap_or_default();
    write_query_data(&mut data, value, &extra);
    success(&data, warnings, infos)
}

/// [`query_success`] that gives up (`None`) once `stop` says so (see
/// [`write_query_data_until`]).
pub fn query_success_until(
    value: &Value,
    stats: Option<&str>,
    warnings: &[String],
    infos: &[String],
    stop: &dyn Fn() -> bool,
) -> Option<String> {
    let mut data = String::new();
    let extra = stats.map(|s| format!(",\"stats\":{s}")).unwrap_or_default();
    write_query_data_until(&mut data, value, &extra, stop).then(|| success(&data, warnings, infos))
}

/// The `data` array of a series response: one label object per series.
pub fn series_data(series: &[Labels]) -> String {
    let mut out = String::from("[");
    for (i, labels) in series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_labels(&mut out, labels);
    }
    out.push(']');
    out
}

/// The `data` array of a label names or label values response.
pub fn strings_data(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, item);
    }
    out.push(']');
    out
}

/// An error body: `{"status":"error","errorType":TYPE,"error":MESSAGE}`.
pub fn error(error_type: &str, message: &str) -> String {
    let mut out = String::from("{\"status\":\"error\",\"errorType\":");
    write_string(&mut out, error_type);
    out.push_str(",\"error\":");
    write_string(&mut out, message);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite::{InstantSample, RangeSeries, Sample};

    #[test]
    fn floats_match_go_formatting() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (0.1, "0.1"),
            (-0.0, "-0"),
            (1e21, "1e+21"),
            (9.99e20, "999000000000000000000"),
            (1.5e-7, "1.5e-07"),
            (-2.5e-300, "-2.5e-300"),
            (1e-6, "0.000001"),
            (123456.789, "123456.789"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (promlite::STALE_NAN, "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float(*v), *want);
        }
    }

    #[test]
    fn json_numbers_match_go_encoding() {
        for (v, want) in [
            (0.25, "0.25"),
            (1.5e-7, "1.5e-7"),
            (2e21, "2e+21"),
            (0.0, "0"),
            (f64::NAN, "0"),
        ] {
            let mut s = String::new();
            write_json_number(&mut s, v);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn timestamps_are_seconds_with_millisecond_fraction() {
        let cases: &[(i64, &str)] = &[
            (0, "0"),
            (1500, "1.500"),
            (1_700_000_000_007, "1700000000.007"),
            (-1500, "-1.500"),
        ];
        for (t, want) in cases {
            let mut s = String::new();
            write_timestamp(&mut s, *t);
            assert_eq!(s, *want);
        }
    }

    #[test]
    fn strings_escape_like_go() {
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c\n<&>\u{1}\u{2028}é");
        assert_eq!(s, r#""a\"b\\c\n\u003c\u0026\u003e\u0001\u2028é""#);
    }

    #[test]
    fn vector_and_matrix_bodies() {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
        let vector = Value::Vector(vec![InstantSample {
            labels: labels.clone(),
            t: 1000,
            v: 1.0,
        }]);
        assert_eq!(
            query_success(&vector, None, &[], &[]),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1,"1"]}]}}"#
        );
        let matrix = Value::Matrix(vec![RangeSeries {
            labels,
            samples: vec![Sample::new(0, 0.5), Sample::new(15_000, f64::INFINITY)],
        }]);
        assert_eq!(
            query_success(&matrix, None, &["w".into()], &[]),
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[0,"0.5"],[15,"+Inf"]]}]},"warnings":["w"]}"#
        );
        assert_eq!(
            query_success(&Value::Scalar { t: 2500, v: 3.25 }, Some("{}"), &[], &[]),
            r#"{"status":"success","data":{"resultType":"scalar","result":[2.500,"3.25"],"stats":{}}}"#
        );
        assert_eq!(
            query_success(
                &Value::String {
                    t: 0,
                    v: "x".into()
                },
                None,
                &[],
                &[]
            ),
            r#"{"status":"success","data":{"resultType":"string","result":[0,"x"]}}"#
        );
        assert_eq!(
            query_success(&Value::Vector(vec![]), None, &[], &[]),
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
        );
    }

    #[test]
    fn error_and_listing_bodies() {
        assert_eq!(
            error("bad_data", "oops \"x\""),
            r#"{"status":"error","errorType":"bad_data","error":"oops \"x\""}"#
        );
        assert_eq!(
            success(&strings_data(&["a".into(), "b".into()]), &[], &[]),
            r#"{"status":"success","data":["a","b"]}"#
        );
        let series = [Labels::from_pairs([("a", "1")]), Labels::empty()];
        assert_eq!(series_data(&series), r#"[{"a":"1"},{}]"#);
    }
}
