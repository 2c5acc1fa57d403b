//! `query`, `query-range`, `series`, `labels` and `label-values`: read commands over a data
//! directory, printing tables or Prometheus's JSON bodies.

use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlite::Timestamp;
use promlite_http::api::{api_error, check_range, ApiError};
use promlite_http::params::{format_rfc3339, parse_duration, parse_time, MAX_TIME, MIN_TIME};

use super::open_existing;
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

pub(super) fn time_param(name: &str, text: &str) -> Result<Timestamp, ApiError> {
    parse_time(text).map_err(|e| ApiError::invalid_param(name, e))
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
    let db = open_existing(&args.data.data_dir)?;
    let output = db
        .query(&args.expr, time)
        .map_err(|e| api_error(&e, "query"))?;
    print(&output::query(&output, args.format))?;
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
    let db = open_existing(&args.data.data_dir)?;
    let output = db
        .query_range(&args.expr, start, end, step)
        .map_err(|e| api_error(&e, "query"))?;
    print(&output::query(&output, args.format))
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
