//! Writes exposition text: the inverse of [`crate::Parser`] (used by tests, generators and
//! exporters).
//!
//! Names that fit the legacy charset are written bare; others are quoted, and a non-legacy
//! metric name goes inside the braces as Prometheus 3 writes it: `{"my.metric", a="b"} 1`.
//! Values use the shortest text that parses back to the same `f64`; note that the staleness
//! marker is written as plain `NaN` (its bit pattern is not representable in text).

use std::fmt::{self, Write};

use promlite_model::labels::{is_legacy_metric_name, is_legacy_name};
use promlite_model::{Labels, METRIC_NAME};

use crate::{Format, MetricType};

/// Writes `s` double-quoted, escaping `\`, `"` and newline (the only escapes the formats know).
pub fn write_quoted(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        out.write_str(s.get(start..i).unwrap_or_default())?;
        out.write_str(escaped)?;
        start = i + 1;
    }
    out.write_str(s.get(start..).unwrap_or_default())?;
    out.write_char('"')
}

/// Writes a sample value: `NaN`, `+Inf`, `-Inf`, or the shortest round-tripping decimal.
pub fn write_value(out: &mut impl Write, v: f64) -> fmt::Result {
    if v.is_nan() {
        out.write_str("NaN")
    } else if v == f64::INFINITY {
        out.write_str("+Inf")
    } else if v == f64::NEG_INFINITY {
        out.write_str("-Inf")
    } else {
        write!(out, "{v:?}")
    }
}

/// Writes a timestamp given in milliseconds: integer milliseconds for the Prometheus format,
/// seconds with three decimals for OpenMetrics.
pub fn write_timestamp(out: &mut impl Write, ms: i64, format: Format) -> fmt::Result {
    match format {
        Format::Prometheus => write!(out, "{ms}"),
        Format::OpenMetrics => {
            let sign = if ms < 0 { "-" } else { "" };
            let abs = ms.unsigned_abs();
            write!(out, "{sign}{}.{:03}", abs / 1000, abs % 1000)
        }
    }
}

/// Writes one sample line (with its trailing newline) from a metric name and label pairs in
/// the order given.
pub fn write_sample<'l>(
    out: &mut impl Write,
    name: &str,
    labels: impl IntoIterator<Item = (&'l str, &'l str)>,
    value: f64,
    timestamp_ms: Option<i64>,
    format: Format,
) -> fmt::Result {
    let legacy = is_legacy_metric_name(name);
    let mut first = true;
    if legacy {
        out.write_str(name)?;
    } else {
        out.write_char('{')?;
        write_quoted(out, name)?;
        first = false;
    }
    for (label, label_value) in labels {
        if first {
            out.write_char('{')?;
            first = false;
        } else {
            out.write_char(',')?;
        }
        if is_legacy_name(label) {
            out.write_str(label)?;
        } else {
            write_quoted(out, label)?;
        }
        out.write_char('=')?;
        write_quoted(out, label_value)?;
    }
    if !first {
        out.write_char('}')?;
    }
    out.write_char(' ')?;
    write_value(out, value)?;
    if let Some(ms) = timestamp_ms {
        out.write_char(' ')?;
        write_timestamp(out, ms, format)?;
    }
    out.write_char('\n')
}

/// Writes one sample line for a [`Labels`] set: `__name__` becomes the metric name, the other
/// labels follow in sorted order. A label set without `__name__` is written with an empty
/// quoted name, which the parser rejects: every sample needs a metric name.
pub fn write_labels_sample(
    out: &mut impl Write,
    labels: &Labels,
    value: f64,
    timestamp_ms: Option<i64>,
    format: Format,
) -> fmt::Result {
    let name = labels.metric_name().unwrap_or("");
    let rest = labels
        .iter()
        .filter(|l| l.name != METRIC_NAME)
        .map(|l| (l.name, l.value));
    write_sample(out, name, rest, value, timestamp_ms, format)
}

fn write_meta_name(out: &mut impl Write, name: &str) -> fmt::Result {
    if is_legacy_metric_name(name) {
        out.write_str(name)
    } else {
        write_quoted(out, name)
    }
}

/// Writes `# HELP name text`, escaping `\` and newline (and `"` in OpenMetrics).
pub fn write_help(out: &mut impl Write, name: &str, help: &str, format: Format) -> fmt::Result {
    out.write_str("# HELP ")?;
    write_meta_name(out, name)?;
    out.write_char(' ')?;
    for c in help.chars() {
        match c {
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '"' if format == Format::OpenMetrics => out.write_str("\\\"")?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('\n')
}

/// Writes `# TYPE name type` (`untyped` for [`MetricType::Unknown`] in the Prometheus format).
pub fn write_type(
    out: &mut impl Write,
    name: &str,
    metric_type: MetricType,
    format: Format,
) -> fmt::Result {
    out.write_str("# TYPE ")?;
    write_meta_name(out, name)?;
    let word = match (metric_type, format) {
        (MetricType::Unknown, Format::Prometheus) => "untyped",
        (t, _) => t.as_str(),
    };
    writeln!(out, " {word}")
}

/// Writes the OpenMetrics terminator `# EOF`.
pub fn write_eof(out: &mut impl Write) -> fmt::Result {
    out.write_str("# EOF\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_legacy_and_quoted_names() {
        let mut s = String::new();
        write_sample(
            &mut s,
            "up",
            [("job", "a\"b\\c\nd")],
            1.0,
            Some(5),
            Format::Prometheus,
        )
        .unwrap();
        write_sample(
            &mut s,
            "my.metric",
            [("label.name", "v")],
            f64::NAN,
            None,
            Format::Prometheus,
        )
        .unwrap();
        write_sample(
            &mut s,
            "x",
            [],
            f64::NEG_INFINITY,
            Some(-1250),
            Format::OpenMetrics,
        )
        .unwrap();
        assert_eq!(s, "up{job=\"a\\\"b\\\\c\\nd\"} 1.0 5\n{\"my.metric\",\"label.name\"=\"v\"} NaN\nx -Inf -1.250\n");
    }
}
