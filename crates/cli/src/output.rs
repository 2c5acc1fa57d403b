//! Rendering of query results and listings: aligned tables for people, Prometheus's JSON bodies
//! for scripts.

use std::fmt::Write as _;

use promlite::{Labels, QueryOutput, Value};
use promlite_http::json;
use promlite_http::params::format_rfc3339;

use crate::args::OutputFormat;

/// Lays out rows as columns separated by two spaces, each as wide as its widest cell. The last
/// column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let n_cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (col_idx, cell) in row.iter().enumerate().take(n_cols) {
            if let Some(w) = widths.get_mut(col_idx) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (col_idx, cell) in cells.enumerate() {
            if col_idx > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if col_idx + 1 < n_cols {
                let pad = widths
                    .get(col_idx)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(cell.chars().count());
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// A query result in `format`. Table mode puts warnings and infos on stderr.
pub fn query(output: &QueryOutput, format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => {
            let mut body =
                json::query_success(&output.value, None, &output.warnings, &output.infos);
            body.push('\n');
            body
        }
        OutputFormat::Table => {
            for warning in &output.warnings {
                eprintln!("warning: {warning}");
            }
            for info in &output.infos {
                eprintln!("info: {info}");
            }
            value_table(&output.value)
        }
    }
}

/// A value as an aligned table.
pub fn value_table(value: &Value) -> String {
    match value {
        Value::Scalar { t, v } => table(
            &["TIME", "SCALAR"],
            &[vec![format_rfc3339(*t), json::format_float(*v)]],
        ),
        Value::String { t, v } => {
            table(&["TIME", "STRING"], &[vec![format_rfc3339(*t), v.clone()]])
        }
        Value::Vector(samples) => {
            let rows: Vec<Vec<String>> = samples
                .iter()
                .map(|s| vec![s.labels.to_string(), json::format_float(s.v)])
                .collect();
            let mut out = table(&["SERIES", "VALUE"], &rows);
            let _ = writeln!(out, "({} series)", samples.len());
            out
        }
        Value::Matrix(series) => {
            let mut rows = Vec::new();
            for one in series {
                for (sample_idx, sample) in one.samples.iter().enumerate() {
                    let name = if sample_idx == 0 {
                        one.labels.to_string()
                    } else {
                        String::new()
                    };
                    rows.push(vec![
                        name,
                        format_rfc3339(sample.t),
                        json::format_float(sample.v),
                    ]);
                }
            }
            let mut out = table(&["SERIES", "TIME", "VALUE"], &rows);
            let _ = writeln!(out, "({} series, {} points)", series.len(), rows.len());
            out
        }
    }
}

/// A series listing.
pub fn series(series: &[Labels], format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => json::success(&json::series_data(series), &[], &[]) + "\n",
        OutputFormat::Table => series.iter().map(|l| format!("{l}\n")).collect(),
    }
}

/// A label name or value listing.
pub fn strings(items: &[String], format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => json::success(&json::strings_data(items), &[], &[]) + "\n",
        OutputFormat::Table => items.iter().map(|s| format!("{s}\n")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_trims() {
        let rows = vec![
            vec!["a".to_string(), "1".to_string()],
            vec!["long name".to_string(), "22".to_string()],
        ];
        assert_eq!(
            table(&["NAME", "V"], &rows),
            "NAME       V\na          1\nlong name  22\n"
        );
    }
}
