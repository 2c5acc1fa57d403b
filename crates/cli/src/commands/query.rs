//! `query`, `query-range`, `series`, `labels` and `label-values`: read commands over a data
//! directory, printing tables or Prometheus's JSON bodies.

use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlite::Timestamp;
use promlite_http::api::{api_error, check_range, ApiError};
use promlite_http::params::{format_rfc3339, parse_duration, parse_time, MAX_TIME, MIN_TIME};

use super::{open_existing, open_existing_with};
use crate::args::{
    LabelValuesArgs, LabelsArgs, ListRange, OutputFormat, QueryArgs, QueryRangeArgs, SeriesArgs,
};
use crate::output;

fn now_ms() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// A time on the command line: what the API accepts, plus `now` and times relative to now
/// (`-5m`, `+1h`, `now-5m`). A bare signed number stays Unix seconds, as in the API.
pub(super) fn time_param(name: &str, text: &str) -> Result<Timestamp, ApiError> {
    let relative = text.strip_prefix("now").unwrap_or(text);
    if relative.is_empty() {
        return Ok(now_ms());
    }
    let signed = |sign: i64, rest: &str| -> Option<Result<Timestamp, ApiError>> {
        // `-300` is a Unix time; only a duration with a unit is relative.
        if !text.starts_with("now") && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        Some(
            parse_duration(rest)
                .map(|ms| now_ms().saturating_add(sign.saturating_mul(ms)))
                .map_err(|e| ApiError::invalid_param(name, e)),
        )
    };
    let parsed = match relative.as_bytes().first() {
        Some(b'-') => signed(-1, &relative[1..]),
        Some(b'+') => signed(1, &relative[1..]),
        _ => None,
    };
    match parsed {
        Some(result) => result,
        None => parse_time(text).map_err(|e| ApiError::invalid_param(name, e)),
    }
}

/// The `--timeout` flag as query options.
fn timeout_options(text: &str) -> Result<promlite::QueryOptions, ApiError> {
    let ms = parse_duration(text).map_err(|e| ApiError::invalid_param("timeout", e))?;
    Ok(promlite::QueryOptions {
        timeout: Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
        ..promlite::QueryOptions::default()
    })
}

/// For a person at a terminal: the query with a caret under the position a parse error names.
fn show_error_position(err: &promlite::Error, query: &str, format: OutputFormat) {
    let promlite::Error::Query(promlite::QueryError::Parse(parse)) = err else {
        return;
    };
    if format != OutputFormat::Table {
        return;
    }
    let Some(line) = query.lines().nth(parse.position.line.saturating_sub(1)) else {
        return;
    };
    // Columns count bytes; the caret goes under the character starting at that byte.
    let column = parse.position.column.saturating_sub(1).min(line.len());
    let width = line
        .get(..column)
        .map_or(column, |prefix| prefix.chars().count());
    eprintln!("  {line}\n  {}^", " ".repeat(width));
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Tells a person at a terminal why an instant query over old data came back empty.
fn hint_if_empty(
    db: &promlite::Db,
    output: &promlite::QueryOutput,
    time: Timestamp,
    format: OutputFormat,
) {
    let empty = matches!(&output.value, promlite::Value::Vector(v) if v.is_empty());
    if !empty || format != OutputFormat::Table {
        return;
    }
    if let Some((min_t, max_t)) = db.time_range() {
        if time < min_t || time > max_t + db.engine_options().lookback_delta_ms {
            eprintln!(
                "note: the data spans {} .. {}; pass --time to query inside it",
                format_rfc3339(min_t),
                format_rfc3339(max_t)
            );
        }
    }
}

/// `promlite query`.
pub fn instant(args: &QueryArgs) -> anyhow::Result<()> {
    let time = match &args.time {
        Some(text) => time_param("time", text)?,
        None => now_ms(),
    };
    let mut options = timeout_options(&args.timeout)?;
    options.explain = args.explain;
    let db = open_existing_with(
        &args.data.data_dir,
        super::apply_extensions(
            &args.extensions,
            engine_options(args.no_fast_path, &args.runs)?,
        ),
    )?;
    let output = db.query_with(&args.expr, time, &options).map_err(|e| {
        show_error_position(&e, &args.expr, args.format);
        api_error(&e, "query")
    })?;
    print(&output::query(&output, args.format))?;
    print_explain(&output, args.explain);
    hint_if_empty(&db, &output, time, args.format);
    Ok(())
}

/// `promlite query-range`.
pub fn range(args: &QueryRangeArgs) -> anyhow::Result<()> {
    let start = time_param("start", &args.start)?;
    let end = time_param("end", &args.end)?;
    let step = parse_duration(&args.step).map_err(|e| ApiError::invalid_param("step", e))?;
    check_range(start, end, step)?;
    let step = Duration::from_millis(u64::try_from(step).unwrap_or(1));
    let mut options = timeout_options(&args.timeout)?;
    options.explain = args.explain;
    let db = open_existing_with(
        &args.data.data_dir,
        super::apply_extensions(
            &args.extensions,
            engine_options(args.no_fast_path, &args.runs)?,
        ),
    )?;
    let output = db
        .query_range_with(&args.expr, start, end, step, &options)
        .map_err(|e| {
            show_error_position(&e, &args.expr, args.format);
            api_error(&e, "query")
        })?;
    print(&output::query(&output, args.format))?;
    print_explain(&output, args.explain);
    Ok(())
}

/// Database options for a query command: the defaults, or without the fast path, with the
/// value-run index flags applied.
fn engine_options(
    no_fast_path: bool,
    runs: &crate::args::RunIndexArgs,
) -> anyhow::Result<promlite::Options> {
    let mut options = super::apply_run_index(runs, promlite::Options::default())?;
    options.engine.fast_path = !no_fast_path;
    Ok(options)
}

/// `--explain`: the evaluator's decisions on stderr, so stdout stays the result alone.
fn print_explain(output: &promlite::QueryOutput, explain: bool) {
    if explain {
        eprint!("\nexplain:\n{}", promlite::render_explain(&output.explain));
    }
}

fn list_bounds(range: &ListRange) -> Result<(Timestamp, Timestamp), ApiError> {
    let start = range
        .start
        .as_deref()
        .map_or(Ok(MIN_TIME), |t| time_param("start", t))?;
    let end = range
        .end
        .as_deref()
        .map_or(Ok(MAX_TIME), |t| time_param("end", t))?;
    Ok((start, end))
}

/// `promlite series`.
pub fn series(args: &SeriesArgs) -> anyhow::Result<()> {
    let (start, end) = list_bounds(&args.range)?;
    let db = open_existing(&args.data.data_dir)?;
    let selectors: Vec<&str> = args.matchers.iter().map(String::as_str).collect();
    let series = db
        .series(&selectors, start, end)
        .map_err(|e| api_error(&e, "match[]"))?;
    if series.is_empty() && args.range.format == OutputFormat::Table {
        eprintln!("no series match {}", selectors.join(", "));
    }
    print(&output::series(&series, args.range.format))
}

/// `promlite labels`.
pub fn labels(args: &LabelsArgs) -> anyhow::Result<()> {
    let (start, end) = list_bounds(&args.range)?;
    let db = open_existing(&args.data.data_dir)?;
    let selectors: Vec<&str> = args.matchers.iter().map(String::as_str).collect();
    let names = db
        .label_names(&selectors, start, end)
        .map_err(|e| api_error(&e, "match[]"))?;
    print(&output::strings(&names, args.range.format))
}

/// `promlite label-values`.
pub fn label_values(args: &LabelValuesArgs) -> anyhow::Result<()> {
    let (start, end) = list_bounds(&args.range)?;
    let db = open_existing(&args.data.data_dir)?;
    let selectors: Vec<&str> = args.matchers.iter().map(String::as_str).collect();
    let values = db
        .label_values(&args.name, &selectors, start, end)
        .map_err(|e| api_error(&e, "match[]"))?;
    print(&output::strings(&values, args.range.format))
}
