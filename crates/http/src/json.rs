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
///
/// The digits come from `ryu`, several times faster than Rust's `Display` (a range query's body
/// is mostly these). Both give the shortest digits that round-trip; they differ only when the
/// value lies exactly halfway between two shortest candidates, where ryu rounds to even as Go
/// does (Prometheus 2.42 answers `-4325227095307.6562` for that literal; `Display` writes
/// `…6563`). ryu switches to exponent notation outside roughly [1e-5, 1e16), where Go's `'f'`
/// format does not, so those magnitudes take the plain path; ryu also writes integral values
/// as `1.0` where Go writes `1`. The property tests `fast_float_formatting_*` check that every
/// difference from the plain path is such a tie.
pub fn write_float(out: &mut String, v: f64) {
    if !v.is_finite() {
        write_float_plain(out, v);
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(v);
    if text.as_bytes().contains(&b'e') {
        write_float_plain(out, v);
    } else {
        out.push_str(text.strip_suffix(".0").unwrap_or(text));
    }
}

/// [`write_float`] through Rust's own float formatting: the reference the fast path is tested
/// against, and the path for the magnitudes where ryu's notation differs from Go's. (At exact
/// ties between two shortest digit strings it rounds up where Go rounds to even; see
/// [`write_float`].)
pub fn write_float_plain(out: &mut String, v: f64) {
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
    let mut buffer = itoa::Buffer::new();
    out.push_str(buffer.format(magnitude / 1000));
    let fraction = magnitude % 1000;
    if fraction != 0 {
        // Three digits, zero-padded: the fraction is below 1000.
        let digits = [
            b'.',
            b'0' + (fraction / 100) as u8,
            b'0' + (fraction / 10 % 10) as u8,
            b'0' + (fraction % 10) as u8,
        ];
        out.push_str(std::str::from_utf8(&digits).unwrap_or(".000"));
    }
}

/// Appends `s` as a JSON string literal with Go's escaping rules.
///
/// Runs of bytes that need no escape are copied whole; only `"`, `\\`, control characters,
/// `<`, `>`, `&` and U+2028/U+2029 (whose UTF-8 starts with 0xE2) stop the copy. Every other
/// byte, ASCII or part of a multi-byte character, is copied as it is, which is what the
/// character-by-character rule does too (`strings_escape_like_go_whatever_the_text` checks it).
pub fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut copied = 0;
    let mut idx = 0;
    while idx < bytes.len() {
        let byte = bytes[idx];
        let special = byte < 0x20 || matches!(byte, b'"' | b'\\' | b'<' | b'>' | b'&' | 0xE2);
        if !special {
            idx += 1;
            continue;
        }
        // `idx` is at an ASCII byte or the lead byte 0xE2, both character boundaries.
        let Some(rest) = s.get(idx..) else { break };
        let Some(c) = rest.chars().next() else { break };
        let escape: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '<' => Some("\\u003c"),
            '>' => Some("\\u003e"),
            '&' => Some("\\u0026"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            _ => None,
        };
        if escape.is_none() && (c as u32) >= 0x20 {
            // Another character starting with 0xE2: copied as it is.
            idx += c.len_utf8();
            continue;
        }
        out.push_str(s.get(copied..idx).unwrap_or(""));
        match escape {
            Some(text) => out.push_str(text),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        idx += c.len_utf8();
        copied = idx;
    }
    out.push_str(s.get(copied..).unwrap_or(""));
    out.push('"');
}

/// [`write_string`] character by character: the reference the run-copying path is tested
/// against.
#[cfg(test)]
fn write_string_plain(out: &mut String, s: &str) {
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
        write_string(out, label.name);
        out.push(':');
        write_string(out, label.value);
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

/// Appends one vector element `{"metric":{...},"value":[t,"v"]}`.
fn write_vector_sample(out: &mut String, sample: &promlite::InstantSample) {
    out.push_str("{\"metric\":");
    write_labels(out, &sample.labels);
    out.push_str(",\"value\":");
    write_point(out, sample.t, sample.v);
    out.push('}');
}

/// Appends one matrix element `{"metric":{...},"values":[[t,"v"],...]}`.
fn write_matrix_series(out: &mut String, one: &promlite::RangeSeries) {
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

/// Bytes of one label set's JSON object, roughly (escapes not counted): for reserving.
fn labels_size_hint(labels: &Labels) -> usize {
    labels
        .iter()
        .map(|l| l.name.len() + l.value.len() + 6)
        .sum::<usize>()
        + 2
}

fn vector_sample_size_hint(sample: &promlite::InstantSample) -> usize {
    labels_size_hint(&sample.labels) + 48
}

/// A point is at most about 32 bytes: `[1700000000.500,"0.123456789012"],`.
fn matrix_series_size_hint(one: &promlite::RangeSeries) -> usize {
    labels_size_hint(&one.labels) + 24 + one.samples.len() * 32
}

/// Roughly the bytes [`write_query_data`] writes for `value`, so the body is allocated once.
fn data_size_hint(value: &Value) -> usize {
    match value {
        Value::Vector(samples) => samples.iter().map(vector_sample_size_hint).sum(),
        Value::Matrix(series) => series.iter().map(matrix_series_size_hint).sum(),
        Value::Scalar { .. } | Value::String { .. } => 64,
    }
}

/// Encodes `items` one after the other, comma-separated, with `write` into `out`, asking `stop`
/// every 256 items; false if it stopped.
fn write_items<T>(
    out: &mut String,
    items: &[T],
    write: fn(&mut String, &T),
    stop: &dyn Fn() -> bool,
) -> bool {
    for (i, item) in items.iter().enumerate() {
        if i % SERIES_PER_STOP_CHECK == SERIES_PER_STOP_CHECK - 1 && stop() {
            return false;
        }
        if i > 0 {
            out.push(',');
        }
        write(out, item);
    }
    true
}

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
            if !write_items(out, samples, write_vector_sample, stop) {
                return false;
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            if !write_items(out, series, write_matrix_series, stop) {
                return false;
            }
            out.push(']');
        }
    }
    out.push_str(extra);
    out.push('}');
    true
}

/// The writer as it was before the envelope and the data shared one buffer: the reference of
/// `one_buffer_bodies_equal_the_copied_envelope`.
#[cfg(test)]
fn write_query_data_sequential(out: &mut String, value: &Value, extra: &str) {
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
    query_success_until(value, stats, warnings, infos, &|| false).unwrap_or_default()
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
    // Rule: the envelope and the data go into one buffer allocated once from
    // `data_size_hint` instead of the data being encoded apart and copied into the envelope;
    // the same bytes in the same order (`one_buffer_bodies_equal_the_copied_envelope`).
    let extra = stats.map(|s| format!(",\"stats\":{s}")).unwrap_or_default();
    let mut out = String::with_capacity(data_size_hint(value) + extra.len() + 128);
    out.push_str("{\"status\":\"success\",\"data\":");
    if !write_query_data_until(&mut out, value, &extra, stop) {
        return None;
    }
    write_string_list_member(&mut out, "warnings", warnings);
    write_string_list_member(&mut out, "infos", infos);
    out.push('}');
    Some(out)
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

    /// Checks the fast formatting of `v` against the plain path: equal, or (at an exact tie
    /// between two shortest digit strings) the same length, both round-tripping, and the fast
    /// one's last digit even as Go's round-half-even picks it.
    fn check_fast_float(v: f64) -> Result<(), String> {
        let (mut fast, mut plain) = (String::new(), String::new());
        write_float(&mut fast, v);
        write_float_plain(&mut plain, v);
        if fast == plain {
            return Ok(());
        }
        let round_trips = |text: &str| text.parse::<f64>().ok() == Some(v);
        let last_digit = |text: &str| text.bytes().last().map(|b| b - b'0');
        let significant = |text: &str| text.bytes().filter(u8::is_ascii_digit).count();
        // The exact decimal expansion of `v`: after the shortest digits comes a 5 and then
        // only zeros when (and only when) `v` is halfway between the two candidates.
        let digits = significant(plain.trim_start_matches(['-', '0', '.']));
        let exact = format!("{:.800e}", v.abs());
        let mantissa: String = exact
            .split('e')
            .next()
            .unwrap_or("")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let tail = mantissa.get(digits..).unwrap_or("");
        let is_tie = tail.starts_with('5') && tail[1..].bytes().all(|b| b == b'0');
        if is_tie
            && round_trips(&fast)
            && round_trips(&plain)
            && fast.len() == plain.len()
            && last_digit(&fast).is_some_and(|d| d % 2 == 0)
        {
            return Ok(());
        }
        Err(format!(
            "{v:e}: fast {fast:?}, plain {plain:?}, tail {tail:.20}"
        ))
    }

    #[test]
    #[allow(
        clippy::excessive_precision,
        reason = "the literals are the exact binary values, written as Prometheus was asked them"
    )]
    fn ties_round_to_even_as_prometheus_does() {
        // Prometheus 2.42's /api/v1/query answers for these literals (Go's FormatFloat).
        for (v, prometheus) in [
            (-4_325_227_095_307.656_25, "-4325227095307.6562"),
            (2_089_981_073_000_000.25, "2089981073000000.2"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(format_float(v), prometheus);
            check_fast_float(v).unwrap();
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

        #[test]
        fn fast_float_formatting_equals_the_plain_path(bits in proptest::prelude::any::<u64>()) {
            let v = f64::from_bits(bits);
            proptest::prop_assert!(check_fast_float(v).is_ok(), "{}", check_fast_float(v).unwrap_err());
        }

        #[test]
        fn fast_float_formatting_equals_the_plain_path_for_everyday_values(
            mantissa in 0u64..100_000_000_000,
            scale in -12i32..25,
            negative in proptest::prelude::any::<bool>(),
        ) {
            // Random bit patterns are mostly huge or tiny exponents; these are the values
            // samples have: counters, rates, ratios, byte counts, at every decimal magnitude
            // including the edges of ryu's and Go's notations (1e-6, 1e-5, 1e16, 1e21).
            let magnitude = mantissa as f64 * 10f64.powi(scale) / 1e6;
            let v = if negative { -magnitude } else { magnitude };
            proptest::prop_assert!(check_fast_float(v).is_ok(), "{}", check_fast_float(v).unwrap_err());
        }

        #[test]
        fn strings_escape_like_go_whatever_the_text(
            text in "(\\PC|[\\x00-\\x1f\"\\\\<>&\u{2028}\u{2029}\u{2026}\u{20ac}])*"
        ) {
            let (mut fast, mut plain) = (String::new(), String::new());
            write_string(&mut fast, &text);
            write_string_plain(&mut plain, &text);
            proptest::prop_assert_eq!(fast, plain);
        }
    }

    #[test]
    fn float_edges_of_both_notations() {
        for v in [
            1e-6,
            9.99999e-6,
            1e-5,
            1.5e-5,
            1e15,
            9.999999999999998e15,
            1e16,
            1.5e16,
            1e20,
            9.999999999999999e20,
            123.0,
            -0.0,
            0.0,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            check_fast_float(v).unwrap();
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

    /// A random answer: label values with characters that need escapes, values of every kind
    /// (specials, tiny and huge magnitudes, the staleness bit pattern), negative times.
    fn random_value(seed: u64, n_series: usize, matrix: bool) -> Value {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let texts = ["a", "pod-\"x\"", "<&>", "é\u{2028}", "\n\t", "kube-system"];
        let labels = |i: usize, next: &mut dyn FnMut() -> u64| {
            let v = texts[(next() % texts.len() as u64) as usize];
            Labels::from_pairs([
                ("__name__".to_string(), "m".to_string()),
                ("i".to_string(), i.to_string()),
                ("v".to_string(), v.to_string()),
            ])
        };
        let value = |next: &mut dyn FnMut() -> u64| match next() % 6 {
            0 => f64::from_bits(next()),
            1 => f64::NAN,
            2 => f64::from_bits(0x7ff0_0000_0000_0002),
            3 => (next() % 1_000_000) as f64 / 1000.0,
            4 => -1e-9 * (next() % 1000) as f64,
            _ => 1e22 * (next() % 7) as f64,
        };
        if matrix {
            Value::Matrix(
                (0..n_series)
                    .map(|i| RangeSeries {
                        labels: labels(i, &mut next),
                        samples: (0..(next() % 5) as i64)
                            .map(|k| Sample::new(k * 15_500 - 7_250, value(&mut next)))
                            .collect(),
                    })
                    .collect(),
            )
        } else {
            Value::Vector(
                (0..n_series)
                    .map(|i| InstantSample {
                        labels: labels(i, &mut next),
                        t: (next() % 3_000_000) as i64 - 1_000_000,
                        v: value(&mut next),
                    })
                    .collect(),
            )
        }
    }

    /// The envelope as it was built before: data encoded sequentially, then copied into it.
    fn query_success_sequential(
        value: &Value,
        stats: Option<&str>,
        warnings: &[String],
        infos: &[String],
    ) -> String {
        let mut data = String::new();
        let extra = stats.map(|s| format!(",\"stats\":{s}")).unwrap_or_default();
        write_query_data_sequential(&mut data, value, &extra);
        success(&data, warnings, infos)
    }

    #[test]
    fn one_buffer_bodies_equal_the_copied_envelope() {
        let warnings = ["w \"1\"".to_string()];
        for seed in 1..200u64 {
            for n_series in [0, 1, 2, 3, 7, 64, 300] {
                for matrix in [false, true] {
                    let value = random_value(seed * 7919 + n_series as u64, n_series, matrix);
                    for (stats, warnings, infos) in [
                        (Some("{}"), &warnings[..], &[][..]),
                        (None, &[][..], &["i".to_string()][..]),
                    ] {
                        let want = query_success_sequential(&value, stats, warnings, infos);
                        let got = query_success_until(&value, stats, warnings, infos, &|| false);
                        assert_eq!(
                            got.as_deref(),
                            Some(want.as_str()),
                            "seed {seed}, {n_series} series, matrix {matrix}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_stop_gives_the_answer_up() {
        let value = random_value(3, 2000, true);
        let calls = std::cell::Cell::new(0);
        let stop = || {
            calls.set(calls.get() + 1);
            calls.get() >= 3
        };
        assert_eq!(query_success_until(&value, None, &[], &[], &stop), None);
        assert_eq!(calls.get(), 3);
        assert!(query_success_until(&value, None, &[], &[], &|| false).is_some());
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
