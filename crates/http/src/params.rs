//! Parsing of Prometheus API parameters: timestamps, durations and URL-encoded forms.
//!
//! The rules follow Prometheus's `web/api/v1` handlers: a time is either a float of Unix seconds
//! (millisecond precision) or RFC 3339; a duration is either a float of seconds or a Prometheus
//! duration string (`1h30m`, units `y w d h m s ms`, each at most once and in that order).
//! The CLI uses the same functions, so both surfaces accept the same spellings.

use promlite::Timestamp;

/// The earliest time the API accepts, as Prometheus's `MinTime` (in milliseconds).
/// Used when `start` is absent from series and label requests.
pub const MIN_TIME: Timestamp = (i64::MIN / 1000 + 62_135_596_801) * 1000;
/// The latest time the API accepts, as Prometheus's `MaxTime` (in milliseconds).
/// Used when `end` is absent from series and label requests.
pub const MAX_TIME: Timestamp = (i64::MAX / 1000 - 62_135_596_801) * 1000 + 999;

/// Why a parameter value did not parse. The message is the part after
/// `invalid parameter "name": ` in Prometheus's error strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

/// Parses a timestamp: Unix seconds (`1700000000`, `1700000000.123`) or RFC 3339
/// (`2023-11-14T22:13:20Z`, `2023-11-14T23:13:20.5+01:00`). Returns milliseconds.
///
/// ```
/// use promlite_http::params::parse_time;
/// assert_eq!(parse_time("1.5").unwrap(), 1500);
/// assert_eq!(parse_time("1970-01-01T00:00:02Z").unwrap(), 2000);
/// assert!(parse_time("yesterday").is_err());
/// ```
pub fn parse_time(s: &str) -> Result<Timestamp, ParamError> {
    let err = || ParamError(format!("cannot parse {s:?} to a valid timestamp"));
    if looks_numeric(s) {
        if let Ok(secs) = s.parse::<f64>() {
            return seconds_to_millis(secs).ok_or_else(err);
        }
    }
    parse_rfc3339(s).ok_or_else(err)
}

/// Parses a duration: float seconds (`30`, `0.5`) or a Prometheus duration (`15s`, `1h30m`,
/// `1d`, `100ms`). Returns milliseconds; negative float seconds are allowed (the caller decides
/// whether a negative duration makes sense).
///
/// ```
/// use promlite_http::params::parse_duration;
/// assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
/// assert_eq!(parse_duration("2.5").unwrap(), 2_500);
/// assert!(parse_duration("1m1h").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<i64, ParamError> {
    if looks_numeric(s) {
        if let Ok(secs) = s.parse::<f64>() {
            return seconds_to_millis(secs).ok_or_else(|| {
                ParamError(format!(
                    "cannot parse {s:?} to a valid duration. It overflows int64"
                ))
            });
        }
    }
    parse_prometheus_duration(s)
        .ok_or_else(|| ParamError(format!("cannot parse {s:?} to a valid duration")))
}

/// True if `s` is spelled like a decimal float. Rust's float parser also accepts `inf`, `NaN`
/// and `infinity`, which Prometheus would turn into nonsense times; we reject them up front.
fn looks_numeric(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
}

/// Converts float seconds to integer milliseconds, rounding to the millisecond as Prometheus
/// does. `None` for non-finite values and values outside the `i64` millisecond range.
fn seconds_to_millis(secs: f64) -> Option<i64> {
    let ms = (secs * 1000.0).round();
    // 9.2e18 is below i64::MAX; anything larger would saturate silently in the cast.
    if !ms.is_finite() || ms.abs() > 9.2e18 {
        return None;
    }
    Some(ms as i64)
}

/// `^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$`, not empty.
fn parse_prometheus_duration(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    // Unit multipliers in the only order Prometheus accepts them.
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let bytes = s.as_bytes();
    let mut pos = 0usize;
    let mut next_unit = 0usize;
    let mut total: i64 = 0;
    while pos < bytes.len() {
        let digits_start = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if pos == digits_start {
            return None;
        }
        let number: i64 = s.get(digits_start..pos)?.parse().ok()?;
        let unit_start = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_alphabetic) {
            pos += 1;
        }
        let unit = s.get(unit_start..pos)?;
        let idx = UNITS.iter().position(|(name, _)| *name == unit)?;
        if idx < next_unit {
            return None;
        }
        next_unit = idx + 1;
        total = total.checked_add(number.checked_mul(UNITS.get(idx)?.1)?)?;
    }
    Some(total)
}

/// Parses RFC 3339 with optional fractional seconds: `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`.
fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    let hour = num(11, 2)?;
    let minute = num(14, 2)?;
    let second = num(17, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't'))
    {
        return None;
    }
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut pos = 19;
    let mut millis = 0i64;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if pos == start {
            return None;
        }
        // Keep millisecond precision; extra digits (up to nanoseconds) are truncated as the
        // storage resolution is one millisecond.
        let frac = b.get(start..pos)?;
        for (i, digit) in frac.iter().take(3).enumerate() {
            millis += i64::from(digit - b'0') * [100, 10, 1].get(i).copied()?;
        }
    }
    let offset_secs = match b.get(pos) {
        Some(b'Z' | b'z') if pos + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if pos + 6 == b.len() && b.get(pos + 3) == Some(&b':') => {
            let oh = num(pos + 1, 2)?;
            let om = num(pos + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    secs.checked_mul(1000)?.checked_add(millis)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats milliseconds since the epoch as RFC 3339 in UTC with millisecond precision
/// (`2023-11-14T22:13:20.000Z`). Used by the CLI's table output.
pub fn format_rfc3339(t: Timestamp) -> String {
    let secs = t.div_euclid(1000);
    let millis = t.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // civil_from_days, the inverse of days_from_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Decodes an `application/x-www-form-urlencoded` string (a URL query or a form body) into
/// name/value pairs in order. `+` is a space; malformed `%` escapes are kept literally, as Go's
/// lenient decoders do for display, but invalid UTF-8 is replaced rather than rejected.
pub fn parse_form(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect()
}

/// Decodes one percent-encoded URL path segment (`+` stays a plus).
pub fn decode_path_segment(segment: &str) -> String {
    percent_decode(segment, false)
}

/// Decodes one percent-encoded URL path segment to its bytes (which need not be UTF-8; the
/// caller decides how to reject them).
pub fn decode_path_segment_bytes(segment: &str) -> Vec<u8> {
    percent_decode_bytes(segment, false)
}

/// Go's `%q` of a byte string: printable UTF-8 kept, `"` and `\\` escaped, invalid bytes as
/// `\xNN` (Prometheus's `invalid label name: "\xff"`).
pub fn go_quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                push_go_escaped(&mut out, valid);
                break;
            }
            Err(err) => {
                let (valid, after) = rest.split_at(err.valid_up_to());
                push_go_escaped(&mut out, std::str::from_utf8(valid).unwrap_or_default());
                let bad = err.error_len().unwrap_or(after.len()).max(1);
                for b in after.iter().take(bad) {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                rest = after.get(bad..).unwrap_or_default();
            }
        }
    }
    out.push('"');
    out
}

fn push_go_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(s, plus_is_space)).into_owned()
}

fn percent_decode_bytes(s: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
                let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    // Two hex digits are at most 0xff, so the cast cannot truncate.
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quoted_bytes() {
        assert_eq!(go_quote_bytes(b"\xff"), "\"\\xff\"");
        assert_eq!(go_quote_bytes(b"a\"b\xc5z"), "\"a\\\"b\\xc5z\"");
        assert_eq!(go_quote_bytes("h\u{e9}".as_bytes()), "\"h\u{e9}\"");
        assert_eq!(decode_path_segment_bytes("%ff%41"), vec![0xff, b'A']);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("0").unwrap(), 0);
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("1700000000.1234").unwrap(), 1_700_000_000_123);
        assert_eq!(parse_time("-1.5").unwrap(), -1500);
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T23:13:20.250+01:00").unwrap(),
            1_700_000_000_250
        );
        assert_eq!(
            parse_time("2024-02-29T00:00:00Z").unwrap(),
            1_709_164_800_000
        );
        for bad in [
            "",
            "NaN",
            "inf",
            "2023-02-29T00:00:00Z",
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13:20",
            "1e400",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s").unwrap(), 15_000);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(
            parse_duration("1y1w1d1h1m1s1ms").unwrap(),
            31_536_000_000 + 604_800_000 + 86_400_000 + 3_661_001
        );
        assert_eq!(parse_duration("100ms").unwrap(), 100);
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(parse_duration("0.001").unwrap(), 1);
        for bad in [
            "",
            "s",
            "1m1h",
            "1h1h",
            "1.5m",
            "-5m",
            "5 m",
            "99999999999999999999y",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn rfc3339_round_trip() {
        for t in [
            0,
            1_700_000_000_123,
            -1,
            951_782_400_000,
            253_402_300_799_999,
        ] {
            assert_eq!(
                parse_time(&format_rfc3339(t)).unwrap(),
                t,
                "{}",
                format_rfc3339(t)
            );
        }
        assert_eq!(
            format_rfc3339(1_700_000_000_000),
            "2023-11-14T22:13:20.000Z"
        );
    }

    #[test]
    fn path_segments_keep_plus() {
        assert_eq!(decode_path_segment("a+b%2Fc%zz"), "a+b/c%zz");
    }

    #[test]
    fn forms() {
        let got = parse_form("query=sum%28up%29+by+%28job%29&match%5B%5D=a&match[]=b&x&bad=%zz");
        let want: Vec<(String, String)> = [
            ("query", "sum(up) by (job)"),
            ("match[]", "a"),
            ("match[]", "b"),
            ("x", ""),
            ("bad", "%zz"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }
}
