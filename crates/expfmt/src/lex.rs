//! Byte-level lexical primitives of the exposition formats, written as nom parsers over `&str`.
//!
//! Every function here has the nom signature `fn(&'a str) -> IResult<&'a str, T, Fail>`, so they
//! compose with nom's combinators, but each scans bytes directly (a class table for names,
//! `memchr` for quoted strings) because the sample line is the hot loop: about 1 ns per byte is
//! the budget. Delimiters are ASCII, so every split point is a `char` boundary and the borrowed
//! `&str` pieces need no UTF-8 re-validation (`split_at_checked` only checks the boundary byte).

use std::borrow::Cow;

use memchr::memchr3;

/// A recoverable parse failure: where (the unparsed rest of the input) and what was expected.
///
/// The position is kept as the remaining input so the caller, who knows where the line starts,
/// can turn it into a line and column. The message is only built on the failure path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail<'a> {
    /// The input at the point of failure.
    pub at: &'a str,
    /// What was expected, e.g. `expected '=' after label name "job"`.
    pub message: Cow<'static, str>,
}

impl<'a> Fail<'a> {
    pub fn new(at: &'a str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            at,
            message: message.into(),
        }
    }
}

impl<'a> nom::error::ParseError<&'a str> for Fail<'a> {
    fn from_error_kind(input: &'a str, _kind: nom::error::ErrorKind) -> Self {
        // Called on every failed alternative (e.g. each `tag` tried by `alt`), so it must not
        // allocate; callers that surface an error replace the message with a precise one.
        Fail::new(input, "syntax error")
    }

    fn append(_: &'a str, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result type of every primitive.
pub(crate) type PResult<'a, T> = nom::IResult<&'a str, T, Fail<'a>>;

/// A hard failure with `message` at `at`, for callers that return a bare `nom::Err`.
#[cold]
pub(crate) fn failure(at: &str, message: impl Into<Cow<'static, str>>) -> nom::Err<Fail<'_>> {
    nom::Err::Failure(Fail::new(at, message))
}

/// Fails with `message` at `at` (a hard failure: the line is malformed, do not backtrack).
#[inline]
pub(crate) fn fail<'a, T>(at: &'a str, message: impl Into<Cow<'static, str>>) -> PResult<'a, T> {
    Err(nom::Err::Failure(Fail::new(at, message)))
}

const LABEL_START: u8 = 1;
const LABEL_CONT: u8 = 2;
const METRIC_START: u8 = 4;
const METRIC_CONT: u8 = 8;
/// Bytes that end a value or timestamp token.
const TOKEN_END: u8 = 16;
/// Bytes that end the plain part of a quoted string: `"`, `\\`, newline.
const QUOTE_SPECIAL: u8 = 32;

/// Character classes of every byte, so name scanning is one table load per byte.
static CLASS: [u8; 256] = build_classes();

#[allow(
    clippy::indexing_slicing,
    reason = "the loop runs i over 0..256, the table's length"
)]
const fn build_classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let alpha = c.is_ascii_alphabetic() || c == b'_';
        let digit = c.is_ascii_digit();
        let mut class = 0;
        if alpha {
            class |= LABEL_START | LABEL_CONT | METRIC_START | METRIC_CONT;
        }
        if digit {
            class |= LABEL_CONT | METRIC_CONT;
        }
        if c == b':' {
            class |= METRIC_START | METRIC_CONT;
        }
        if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
            class |= TOKEN_END;
        }
        if c == b'"' || c == b'\\' || c == b'\n' {
            class |= QUOTE_SPECIAL;
        }
        table[i] = class;
        i += 1;
    }
    table
}

#[inline]
#[allow(
    clippy::indexing_slicing,
    reason = "CLASS has 256 entries, so every u8 indexes it"
)]
fn class(b: u8) -> u8 {
    // The table has 256 entries, so every u8 indexes it.
    CLASS[b as usize]
}

/// Length of the longest prefix of `s` whose bytes (after the first) are all in `cont`.
#[inline]
fn scan_name(s: &str, start: u8, cont: u8) -> usize {
    let bytes = s.as_bytes();
    match bytes.first() {
        Some(&b) if class(b) & start != 0 => {}
        _ => return 0,
    }
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        if class(b) & cont == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// True if `b` may start a legacy label name.
#[inline]
pub(crate) fn is_label_start(b: u8) -> bool {
    class(b) & LABEL_START != 0
}

/// The index of the first byte at or after `i` that cannot continue a label name.
#[inline]
pub(crate) fn scan_label_cont(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        if class(b) & LABEL_CONT == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// The index of the first space or tab at or after `i`, skipped.
#[inline]
pub(crate) fn skip_blanks(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t') = bytes.get(i) {
        i += 1;
    }
    i
}

/// The index of the first `"`, `\\` or newline at or after `i`. Label values are usually
/// short, so the first bytes are checked with a table before handing over to SIMD `memchr3`.
#[inline]
pub(crate) fn find_quote_special(bytes: &[u8], i: usize) -> Option<usize> {
    let tail = bytes.get(i..)?;
    for (k, &b) in tail.iter().take(16).enumerate() {
        if class(b) & QUOTE_SPECIAL != 0 {
            return Some(i + k);
        }
    }
    let rest = tail.get(16..)?;
    memchr3(b'"', b'\\', b'\n', rest).map(|k| i + 16 + k)
}

/// `s[start..end]`, failing instead of panicking if the bounds were not char boundaries.
#[inline]
pub(crate) fn slice(s: &str, start: usize, end: usize) -> Result<&str, nom::Err<Fail<'_>>> {
    match s.get(start..end) {
        Some(piece) => Ok(piece),
        None => Err(failure(s, "internal error: split inside a UTF-8 character")),
    }
}

/// Splits `s` at byte `i`, which the caller found at an ASCII delimiter (so it is a char
/// boundary); fails instead of panicking if that invariant were ever broken.
#[inline]
pub(crate) fn split(s: &str, i: usize) -> PResult<'_, &str> {
    match s.split_at_checked(i) {
        Some((head, rest)) => Ok((rest, head)),
        None => fail(s, "internal error: split inside a UTF-8 character"),
    }
}

/// A legacy metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`.
#[inline]
pub(crate) fn metric_name(s: &str) -> PResult<'_, &str> {
    let n = scan_name(s, METRIC_START, METRIC_CONT);
    if n == 0 {
        return fail(s, "expected metric name");
    }
    split(s, n)
}

/// Skips spaces and tabs.
#[inline]
pub(crate) fn blanks(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b' ' && b != b'\t' {
            break;
        }
        i += 1;
    }
    // Spaces and tabs are ASCII, so `i` is a char boundary; fall back to `s` if not.
    s.get(i..).unwrap_or(s)
}

/// One or more spaces or tabs.
#[inline]
pub(crate) fn blanks1<'a>(s: &'a str, what: &'static str) -> PResult<'a, ()> {
    let rest = blanks(s);
    if rest.len() == s.len() {
        return fail(s, what);
    }
    Ok((rest, ()))
}

/// Byte offset of the first backslash in `text` that does not start a valid escape: `\\`,
/// `\n`, and `\"` when `quote_ok` (label values, quoted names, OpenMetrics HELP; not the text
/// format's HELP). Parsers keep such sequences verbatim, as Prometheus does; callers warn.
pub fn first_invalid_escape(text: &str, quote_ok: bool) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\\', bytes.get(from..)?) {
        let at = from + i;
        match bytes.get(at + 1) {
            Some(b'\\' | b'n') => from = at + 2,
            Some(b'"') if quote_ok => from = at + 2,
            _ => return Some(at),
        }
    }
    None
}

/// A double-quoted string with the escapes `\\`, `\"` and `\n`; other backslash sequences are
/// kept verbatim, as Prometheus does. Borrowed unless an escape is present. The string must end
/// on the same line. `context` names what the string is, for the error message.
#[inline]
pub(crate) fn quoted<'a>(s: &'a str, context: &dyn Fn() -> String) -> PResult<'a, Cow<'a, str>> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return fail(s, format!("expected '\"' to start {}", context()));
    }
    let body = bytes.get(1..).unwrap_or_default();
    match memchr3(b'"', b'\\', b'\n', body) {
        Some(i) if body.get(i) == Some(&b'"') => {
            let text = s.get(1..1 + i).unwrap_or_default();
            let rest = s.get(i + 2..).unwrap_or_default();
            Ok((rest, Cow::Borrowed(text)))
        }
        Some(i) if body.get(i) == Some(&b'\\') => quoted_escaped(s, i, context),
        _ => fail(s, format!("unterminated quoted string in {}", context())),
    }
}

/// Slow path of [`quoted`]: `s` starts with the opening quote and the first backslash is at
/// `body_idx` bytes after it.
#[cold]
fn quoted_escaped<'a>(
    s: &'a str,
    body_idx: usize,
    context: &dyn Fn() -> String,
) -> PResult<'a, Cow<'a, str>> {
    let mut out = String::with_capacity(s.len().min(256));
    let mut pos = 1; // byte index in `s` of the next unconsumed byte
    let mut next_special = Some(body_idx + 1);
    loop {
        let Some(i) = next_special else {
            return fail(s, format!("unterminated quoted string in {}", context()));
        };
        out.push_str(s.get(pos..i).unwrap_or_default());
        match s.as_bytes().get(i) {
            Some(b'"') => {
                let rest = s.get(i + 1..).unwrap_or_default();
                return Ok((rest, Cow::Owned(out)));
            }
            Some(b'\\') => {
                match s.as_bytes().get(i + 1) {
                    Some(b'\\') => out.push('\\'),
                    Some(b'"') => out.push('"'),
                    Some(b'n') => out.push('\n'),
                    // Unknown escape: keep the backslash; the next character is copied as
                    // ordinary text below (it may itself be a quote that ends the string, or a
                    // newline that makes it unterminated).
                    Some(_) => {
                        out.push('\\');
                        pos = i + 1;
                        next_special = find_special(s, pos);
                        continue;
                    }
                    None => return fail(s, format!("unterminated quoted string in {}", context())),
                }
                pos = i + 2;
            }
            _ => return fail(s, format!("unterminated quoted string in {}", context())),
        }
        next_special = find_special(s, pos);
    }
}

#[inline]
fn find_special(s: &str, from: usize) -> Option<usize> {
    let tail = s.as_bytes().get(from..)?;
    let at = memchr3(b'"', b'\\', b'\n', tail)?;
    match tail.get(at) {
        Some(b'\n') => None,
        _ => Some(from + at),
    }
}

/// A value or timestamp token: everything up to a space, tab, CR, LF or the end.
#[inline]
pub(crate) fn token(s: &str) -> PResult<'_, &str> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if class(b) & TOKEN_END != 0 {
            break;
        }
        i += 1;
    }
    split(s, i)
}

/// Parses a sample value as Prometheus does (Go's `strconv.ParseFloat`): decimal or exponent
/// notation, `NaN`, `Inf`/`+Inf`/`-Inf` (case-insensitive, `Infinity` too).
#[inline]
pub(crate) fn parse_value(tok: &str) -> Option<f64> {
    // std's parser (Eisel-Lemire with a fast path) is fast enough: the bench shows value parsing
    // is a small part of the per-line cost. It accepts a superset of what we must accept
    // except Go's hex floats, which no exporter emits.
    let first = *tok.as_bytes().first()?;
    if first == b'_' || tok.contains('_') {
        return None;
    }
    tok.parse::<f64>().ok()
}

/// Parses a Prometheus text-format timestamp: integer milliseconds.
#[inline]
pub(crate) fn parse_timestamp_ms(tok: &str) -> Option<i64> {
    tok.parse::<i64>().ok()
}

/// Parses an OpenMetrics timestamp (float seconds) into milliseconds.
///
/// Plain decimals are converted exactly (digits after the third decimal are truncated toward
/// zero), so `1520879607.789` is exactly `1520879607789`; a float product would sometimes give
/// `...788`. Exponent notation falls back to `trunc(seconds * 1000)`. NaN, infinities and values
/// outside the `i64` millisecond range are rejected.
pub(crate) fn parse_timestamp_secs(tok: &str) -> Option<i64> {
    let bytes = tok.as_bytes();
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, bytes.get(1..)?),
        b'+' => (false, bytes.get(1..)?),
        _ => (false, bytes),
    };
    let dot = digits.iter().position(|&b| b == b'.');
    let (int_part, frac_part) = match dot {
        Some(d) => (digits.get(..d)?, digits.get(d + 1..)?),
        None => (digits, &[][..]),
    };
    let plain = !(int_part.is_empty() && frac_part.is_empty())
        && int_part.iter().all(u8::is_ascii_digit)
        && frac_part.iter().all(u8::is_ascii_digit);
    if plain {
        // i128 so that i64::MIN milliseconds (whose magnitude exceeds i64::MAX) converts.
        let mut ms: i128 = 0;
        for &d in int_part {
            ms = ms.checked_mul(10)?.checked_add(i128::from(d - b'0'))?;
            if ms > i128::from(i64::MAX) / 1000 + 1 {
                return None;
            }
        }
        ms *= 1000;
        let mut scale = 100;
        for &d in frac_part.iter().take(3) {
            ms += i128::from(d - b'0') * scale;
            scale /= 10;
        }
        return i64::try_from(if negative { -ms } else { ms }).ok();
    }
    let secs: f64 = tok.parse().ok()?;
    let ms = (secs * 1000.0).trunc();
    // 2^63 as f64; i64::MAX itself is not representable and rounds up to it.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&ms) {
        return None;
    }
    Some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<(String, bool, &str), String> {
        match quoted(s, &|| "test".to_string()) {
            Ok((rest, v)) => Ok((v.to_string(), matches!(v, Cow::Borrowed(_)), rest)),
            Err(nom::Err::Failure(f) | nom::Err::Error(f)) => Err(f.message.into_owned()),
            Err(nom::Err::Incomplete(_)) => Err("incomplete".into()),
        }
    }

    #[test]
    fn quoted_borrows_without_escapes() {
        assert_eq!(q(r#""abc" x"#), Ok(("abc".into(), true, " x")));
        assert_eq!(q(r#""" x"#), Ok(("".into(), true, " x")));
    }

    #[test]
    fn quoted_unescapes_known_escapes_and_keeps_unknown() {
        assert_eq!(q(r#""a\\b\"c\nd"}"#), Ok(("a\\b\"c\nd".into(), false, "}")));
        assert_eq!(q(r#""a\tb\"""#), Ok(("a\\tb\"".into(), false, "")));
        // An unknown escape followed by the closing quote: the quote still ends the string.
        assert_eq!(q(r#""a\x"!"#), Ok(("a\\x".into(), false, "!")));
    }

    #[test]
    fn quoted_rejects_unterminated() {
        assert!(q("\"abc").is_err());
        assert!(q("\"ab\nc\"").is_err());
        assert!(q("\"ab\\").is_err());
        assert!(q("\"ab\\\n\"").is_err());
        assert!(q("\"a\\\\b").is_err());
    }

    #[test]
    fn openmetrics_timestamps_convert_exactly() {
        assert_eq!(
            parse_timestamp_secs("1520879607.789"),
            Some(1_520_879_607_789)
        );
        assert_eq!(parse_timestamp_secs("1520879607"), Some(1_520_879_607_000));
        assert_eq!(parse_timestamp_secs("1.5"), Some(1500));
        assert_eq!(parse_timestamp_secs("-1.25"), Some(-1250));
        assert_eq!(parse_timestamp_secs("0.0019"), Some(1));
        assert_eq!(parse_timestamp_secs("1.5e3"), Some(1_500_000));
        assert_eq!(parse_timestamp_secs("NaN"), None);
        assert_eq!(parse_timestamp_secs("."), None);
        assert_eq!(parse_timestamp_secs(""), None);
        assert_eq!(parse_timestamp_secs("99999999999999999999"), None);
    }

    #[test]
    fn values_follow_go_parse_float() {
        assert_eq!(parse_value("1.5"), Some(1.5));
        assert_eq!(parse_value("-2e-3"), Some(-0.002));
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_value("Inf"), Some(f64::INFINITY));
        assert!(parse_value("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_value("1_000"), None);
        assert_eq!(parse_value("abc"), None);
        assert_eq!(parse_value(""), None);
    }
}
