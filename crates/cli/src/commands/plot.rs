//! `promlite plot`: a range query drawn as a PNG or SVG line chart (crates/plot).

use std::time::Duration;

use anyhow::Context as _;
use promlite_http::api::{api_error, check_range, ApiError};
use promlite_http::params::parse_duration;
use promlite_plot::{Chart, Format, PlotSeries};

use super::open_existing;
use super::query::time_param;
use crate::args::PlotArgs;

/// Points a default step aims for (Prometheus's graph page divides the range by 250).
const DEFAULT_POINTS: i64 = 250;

/// Runs the range query and writes the picture.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let out_name = args.out.to_string_lossy();
    let format = Format::from_file_name(&out_name)
        .with_context(|| format!("--out {out_name}: the file name must end in .png or .svg"))?;
    let start = time_param("start", &args.start)?;
    let end = time_param("end", &args.end)?;
    let step = match &args.step {
        Some(text) => parse_duration(text).map_err(|e| ApiError::invalid_param("step", e))?,
        // Whole seconds, at least one, as Prometheus's UI rounds its automatic step.
        None => ((end - start) / DEFAULT_POINTS / 1000).max(1) * 1000,
    };
    check_range(start, end, step)?;
    let db = open_existing(&args.data.data_dir)?;
    let output = db
        .query_range(
            &args.expr,
            start,
            end,
            Duration::from_millis(u64::try_from(step).unwrap_or(1)),
        )
        .map_err(|e| api_error(&e, "query"))?;
    let series = match output.value {
        promlite::Value::Matrix(matrix) => matrix
            .into_iter()
            .map(|s| PlotSeries {
                name: s.labels.to_string(),
                points: s.samples.iter().map(|p| (p.t, p.v)).collect(),
            })
            .collect(),
        promlite::Value::Scalar { .. } | promlite::Value::String { .. } => {
            anyhow::bail!("the expression's value is not a time series; plot needs a vector")
        }
        promlite::Value::Vector(vector) => vector
            .into_iter()
            .map(|s| PlotSeries {
                name: s.labels.to_string(),
                points: vec![(s.t, s.v)],
            })
            .collect(),
    };
    let chart = Chart {
        title: args.title.clone().unwrap_or_else(|| args.expr.clone()),
        series,
        start,
        end,
        step,
        unit: args
            .unit
            .clone()
            .unwrap_or_else(|| promlite_plot::axis::guess_unit(&args.expr).to_string()),
    };
    let n_series = chart.series.len();
    let bytes = promlite_plot::render(&chart, format, (args.width, args.height))
        .with_context(|| format!("drawing {out_name}"))?;
    std::fs::write(&args.out, bytes).with_context(|| format!("writing {out_name}"))?;
    eprintln!("wrote {out_name}: {n_series} series, step {}s", step / 1000);
    Ok(())
}
