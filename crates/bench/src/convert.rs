//! Streaming conversion of a timestamped OpenMetrics file (seconds) into Prometheus text with
//! millisecond timestamps, the input of VictoriaMetrics' `/api/v1/import/prometheus`.
//!
//! Only sample lines are kept; `# TYPE`/`# HELP`/`# EOF` and blank lines are dropped. A sample
//! line is `series value timestamp`; the series part is copied byte for byte (label values may
//! contain spaces, so it is delimited by scanning the quoted label block), the timestamp is
//! rewritten from decimal seconds to integer milliseconds without going through a float when it
//! is written in plain decimal.

use std::io::{self, BufRead, Read};
use std::path::PathBuf;

use crate::error::Error;

/// Converts one sample line; returns `None` for lines to drop. The error names the problem.
pub fn convert_line(line: &str) -> Result<Option<String>, String> {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.trim().is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let series_end = series_end(line)?;
    let (series, rest) = line.split_at(series_end);
    // Exemplars (`# {...} v t`) follow the timestamp; they are not imported.
    let rest = rest.split(" # ").next().unwrap_or("");
    let mut fields = rest.split_ascii_whitespace();
    let value = fields.next().ok_or("missing value")?;
    let timestamp = fields
        .next()
        .ok_or("missing timestamp (the import needs timestamped samples)")?;
    if fields.next().is_some() {
        return Err("unexpected text after the timestamp".into());
    }
    let ms = seconds_to_ms(timestamp)?;
    Ok(Some(format!("{series} {value} {ms}")))
}

/// Byte index just past the series part: the metric name and, if present, its `{...}` block.
fn series_end(line: &str) -> Result<usize, String> {
    let bytes = line.as_bytes();
    let name_end = bytes
        .iter()
        .position(|b| *b == b'{' || b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    if name_end == 0 {
        return Err("missing metric name".into());
    }
    if bytes.get(name_end) != Some(&b'{') {
        return Ok(name_end);
    }
    let mut in_quotes = false;
    let mut escaped = false;
    for (idx, b) in bytes.iter().enumerate().skip(name_end + 1) {
        match (in_quotes, escaped, *b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_quotes = false,
            (false, _, b'"') => in_quotes = true,
            (false, _, b'}') => return Ok(idx + 1),
            _ => {}
        }
    }
    Err("unterminated label set".into())
}

/// `1700000007.25` → `1700000007250`. Plain decimals are converted exactly; other spellings
/// (exponents) go through `f64` and are rounded to the millisecond.
pub fn seconds_to_ms(text: &str) -> Result<i64, String> {
    let bad = || format!("bad timestamp {text:?}");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !int_part.is_empty()
        && int_part.bytes().all(|b| b.is_ascii_digit())
        && frac_part.bytes().all(|b| b.is_ascii_digit());
    if plain {
        let secs: i64 = int_part.parse().map_err(|_| bad())?;
        let mut millis: i64 = 0;
        for (k, b) in frac_part.bytes().enumerate() {
            let digit = i64::from(b - b'0');
            match k {
                0 => millis += digit * 100,
                1 => millis += digit * 10,
                2 => millis += digit,
                // Sub-millisecond digits round half up on the first dropped digit.
                3 => millis += i64::from(digit >= 5),
                _ => break,
            }
        }
        let ms = secs
            .checked_mul(1000)
            .and_then(|s| s.checked_add(millis))
            .ok_or_else(bad)?;
        return Ok(if negative { -ms } else { ms });
    }
    let secs: f64 = text.parse().map_err(|_| bad())?;
    let ms = (secs * 1000.0).round();
    if !ms.is_finite() || ms.abs() > 9.0e15 {
        return Err(bad());
    }
    // In range by the check above.
    Ok(ms as i64)
}

/// A reader yielding the converted text of an OpenMetrics stream, for a streaming HTTP body.
/// Conversion errors surface as `io::Error`s naming the line; the typed error is kept in
/// its `error` field.
pub struct ConvertReader<R> {
    inner: R,
    path: PathBuf,
    line_no: u64,
    line: String,
    out: Vec<u8>,
    pos: usize,
    samples: u64,
    error: Option<Error>,
}

impl<R: BufRead> ConvertReader<R> {
    /// Wraps `inner`, which is read from `path` (for messages).
    pub fn new(inner: R, path: impl Into<PathBuf>) -> Self {
        Self {
            inner,
            path: path.into(),
            line_no: 0,
            line: String::new(),
            out: Vec::with_capacity(1 << 20),
            pos: 0,
            samples: 0,
            error: None,
        }
    }

    /// Samples converted so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The conversion error that ended the stream, if any.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    /// Refills `out` with about 1 MiB of converted lines. Returns false at end of input.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        while self.out.len() < (1 << 20) {
            self.line.clear();
            if self.inner.read_line(&mut self.line)? == 0 {
                break;
            }
            self.line_no += 1;
            match convert_line(&self.line) {
                Ok(Some(converted)) => {
                    self.out.extend_from_slice(converted.as_bytes());
                    self.out.push(b'\n');
                    self.samples += 1;
                }
                Ok(None) => {}
                Err(message) => {
                    let text = format!("{}:{}: {message}", self.path.display(), self.line_no);
                    self.error = Some(Error::Data {
                        path: self.path.clone(),
                        line: self.line_no,
                        message,
                    });
                    return Err(io::Error::new(io::ErrorKind::InvalidData, text));
                }
            }
        }
        Ok(!self.out.is_empty())
    }
}

impl<R: BufRead> Read for ConvertReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let available = self.out.get(self.pos..).unwrap_or_default();
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_lines_get_millisecond_timestamps() {
        let cases = [
            ("up 1 1700000000", "up 1 1700000000000"),
            ("up 1 1700000007.25", "up 1 1700000007250"),
            ("up 1 1700000007.0005", "up 1 1700000007001"),
            (
                r#"up{a="x y",b="}\" {"} 2.5 10.5"#,
                r#"up{a="x y",b="}\" {"} 2.5 10500"#,
            ),
            ("up{} NaN 1.5e3", "up{} NaN 1500000"),
            ("up 1 2 # {trace_id=\"a\"} 1 2", "up 1 2000"),
        ];
        for (input, want) in cases {
            assert_eq!(convert_line(input), Ok(Some(want.to_string())), "{input}");
        }
    }

    #[test]
    fn comments_and_blank_lines_are_dropped() {
        for input in ["# TYPE up gauge", "# EOF", "", "   "] {
            assert_eq!(convert_line(input), Ok(None), "{input:?}");
        }
    }

    #[test]
    fn bad_lines_are_errors() {
        for input in [
            "up 1",
            "up{a=\"1\" 1 2",
            "{a=\"1\"} 1 2",
            "up 1 x",
            "up 1 2 3",
            "up 1 1e300",
        ] {
            assert!(convert_line(input).is_err(), "accepted {input:?}");
        }
    }

    #[test]
    fn timestamps_convert_exactly() {
        assert_eq!(seconds_to_ms("0.001"), Ok(1));
        assert_eq!(seconds_to_ms("-1.5"), Ok(-1500));
        assert_eq!(seconds_to_ms("1700000000.123"), Ok(1_700_000_000_123));
        assert!(seconds_to_ms("").is_err());
        assert_eq!(seconds_to_ms(".5"), Ok(500));
        assert!(seconds_to_ms("1.2.3").is_err());
        assert!(seconds_to_ms("99999999999999999999").is_err());
    }

    #[test]
    fn the_reader_streams_converted_lines_and_reports_the_failing_line() {
        let input = "# TYPE up gauge\nup 1 1\nup 2 2.5\n# EOF\n";
        let mut reader = ConvertReader::new(input.as_bytes(), "in.om");
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "up 1 1000\nup 2 2500\n");
        assert_eq!(reader.samples(), 2);

        let mut reader = ConvertReader::new("up 1 1\nup 2\n".as_bytes(), "in.om");
        let err = reader.read_to_string(&mut String::new()).unwrap_err();
        assert!(
            err.to_string().starts_with("in.om:2: missing timestamp"),
            "{err}"
        );
        let typed = reader.take_error().unwrap();
        assert!(matches!(typed, Error::Data { line: 2, .. }), "{typed}");
    }
}
