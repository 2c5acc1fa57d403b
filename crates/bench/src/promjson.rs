//! Parser for Prometheus HTTP API query responses (`/api/v1/query`, `/api/v1/query_range`), as
//! returned by Prometheus and by VictoriaMetrics' Prometheus-compatible API.
//!
//! Besides the result it extracts Prometheus's `stats=all` timings (`evalTotalTime`,
//! `execTotalTime`, in seconds), which measure server-side work without HTTP or JSON encoding.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::answer::{QueryResult, Series};
use crate::error::{Error, Result};

/// Server-side timings reported by Prometheus with `stats=all`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct ServerTimings {
    /// `evalTotalTime`: time spent evaluating the expression (includes reading samples).
    pub eval_total: Option<Duration>,
    /// `execTotalTime`: everything from queueing to the finished result (before JSON encoding).
    pub exec_total: Option<Duration>,
    /// `samples.totalQueryableSamples`: samples the query had to load.
    pub total_queryable_samples: Option<u64>,
}

/// A decoded response: the normalised answer, the server's timings if any, and warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// The normalised result, or [`QueryResult::Error`] for `"status": "error"`.
    pub result: QueryResult,
    /// Timings from `data.stats`, when the server sent them.
    pub timings: ServerTimings,
    /// Warnings the server attached.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Json,
    #[serde(default)]
    stats: Option<Stats>,
}

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    timings: Option<Timings>,
    #[serde(default)]
    samples: Option<Samples>,
}

#[derive(Deserialize)]
struct Timings {
    #[serde(default, rename = "evalTotalTime")]
    eval_total_time: Option<f64>,
    #[serde(default, rename = "execTotalTime")]
    exec_total_time: Option<f64>,
}

#[derive(Deserialize)]
struct Samples {
    #[serde(default, rename = "totalQueryableSamples")]
    total_queryable_samples: Option<u64>,
}

/// Decodes a response body. `engine` names the server in error messages.
pub fn parse_response(engine: &str, body: &str) -> Result<ApiResponse> {
    let envelope: Envelope = serde_json::from_str(body).map_err(|e| Error::Response {
        engine: engine.to_string(),
        offset: byte_offset(body, e.line(), e.column()),
        message: e.to_string(),
    })?;
    let bad = |message: String| Error::Response {
        engine: engine.to_string(),
        offset: 0,
        message,
    };
    let warnings = envelope.warnings;
    match envelope.status.as_str() {
        "error" => {
            let kind = envelope.error_type.unwrap_or_default();
            let message = envelope.error.unwrap_or_default();
            Ok(ApiResponse {
                result: QueryResult::Error(format!("{kind}: {message}")),
                timings: ServerTimings::default(),
                warnings,
            })
        }
        "success" => {
            let data = envelope
                .data
                .ok_or_else(|| bad("status success without data".into()))?;
            let result = decode_result(&data.result_type, &data.result).map_err(bad)?;
            let mut timings = ServerTimings::default();
            if let Some(stats) = data.stats {
                if let Some(t) = stats.timings {
                    timings.eval_total = t.eval_total_time.and_then(seconds);
                    timings.exec_total = t.exec_total_time.and_then(seconds);
                }
                timings.total_queryable_samples =
                    stats.samples.and_then(|s| s.total_queryable_samples);
            }
            Ok(ApiResponse {
                result: result.normalise(),
                timings,
                warnings,
            })
        }
        other => Err(bad(format!("unknown status {other:?}"))),
    }
}

/// A non-negative finite number of seconds as a duration.
fn seconds(s: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(s).ok()
}

/// serde_json reports 1-based line and column; turn them into a byte offset into `body`.
fn byte_offset(body: &str, line: usize, column: usize) -> usize {
    let line_start: usize = body
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    line_start + column.saturating_sub(1)
}

fn decode_result(result_type: &str, result: &Json) -> Result<QueryResult, String> {
    match result_type {
        "scalar" => {
            let (t, v) = decode_point(result)?;
            Ok(QueryResult::Scalar(t, v))
        }
        "string" => {
            let Some([t, v]) = result.as_array().map(Vec::as_slice) else {
                return Err("string result is not a [t, v] pair".into());
            };
            let t = decode_time(t)?;
            let v = v.as_str().ok_or("string result value is not a string")?;
            Ok(QueryResult::String(t, v.to_string()))
        }
        "vector" | "matrix" => {
            let items = result.as_array().ok_or("result is not an array")?;
            let mut series = Vec::with_capacity(items.len());
            for (idx, item) in items.iter().enumerate() {
                series.push(
                    decode_series(item, result_type == "matrix")
                        .map_err(|e| format!("result[{idx}]: {e}"))?,
                );
            }
            Ok(if result_type == "matrix" {
                QueryResult::Matrix(series)
            } else {
                QueryResult::Vector(series)
            })
        }
        other => Err(format!("unknown resultType {other:?}")),
    }
}

fn decode_series(item: &Json, is_matrix: bool) -> Result<Series, String> {
    let obj = item.as_object().ok_or("not an object")?;
    let metric = obj
        .get("metric")
        .and_then(Json::as_object)
        .ok_or("no metric object")?;
    let mut labels = Vec::with_capacity(metric.len());
    for (name, value) in metric {
        let value = value
            .as_str()
            .ok_or_else(|| format!("label {name} is not a string"))?;
        labels.push((name.clone(), value.to_string()));
    }
    let points = if is_matrix {
        let values = obj
            .get("values")
            .and_then(Json::as_array)
            .ok_or("no values array")?;
        values
            .iter()
            .map(decode_point)
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![decode_point(obj.get("value").ok_or("no value")?)?]
    };
    Ok(Series::new(labels, points))
}

/// `[1700000000.123, "1.5"]` → `(1700000000123, 1.5)`.
fn decode_point(pair: &Json) -> Result<(i64, f64), String> {
    let Some([t, v]) = pair.as_array().map(Vec::as_slice) else {
        return Err("point is not a [t, v] pair".into());
    };
    let t = decode_time(t)?;
    let v = v.as_str().ok_or("sample value is not a string")?;
    Ok((t, parse_value(v)?))
}

/// Seconds as a JSON number (with millisecond precision) → milliseconds.
fn decode_time(t: &Json) -> Result<i64, String> {
    let secs = t.as_f64().ok_or("timestamp is not a number")?;
    let ms = (secs * 1000.0).round();
    if !ms.is_finite() || ms.abs() > 9.0e15 {
        return Err(format!("timestamp {secs} out of range"));
    }
    // In range by the check above, so the conversion is exact.
    Ok(ms as i64)
}

/// A sample value as Prometheus formats it: Go's shortest float, `NaN`, `+Inf`, `-Inf`.
pub fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s
            .parse::<f64>()
            .map_err(|_| format!("bad sample value {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_with_stats() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"pod":"b","namespace":"x"},"value":[1700000007.5,"2.25"]},
            {"metric":{"pod":"a","namespace":"x"},"value":[1700000007.5,"NaN"]}],
            "stats":{"timings":{"evalTotalTime":0.25,"resultSortTime":0,"queryPreparationTime":0.001,
            "innerEvalTime":0.2,"execQueueTime":0.00001,"execTotalTime":0.5},
            "samples":{"totalQueryableSamples":1234,"peakSamples":10}}}}"#;
        let r = parse_response("prometheus", body).unwrap();
        let QueryResult::Vector(series) = &r.result else {
            panic!("not a vector: {:?}", r.result)
        };
        assert_eq!(series.len(), 2);
        // Normalised: sorted by labels, so pod="a" comes first.
        assert_eq!(
            series[0].labels,
            vec![
                ("namespace".to_string(), "x".to_string()),
                ("pod".into(), "a".into())
            ]
        );
        assert_eq!(series[0].points.len(), 1);
        assert_eq!(series[0].points[0].0, 1_700_000_007_500);
        assert!(series[0].points[0].1.is_nan());
        assert_eq!(series[1].points, vec![(1_700_000_007_500, 2.25)]);
        assert_eq!(r.timings.eval_total, Some(Duration::from_millis(250)));
        assert_eq!(r.timings.exec_total, Some(Duration::from_millis(500)));
        assert_eq!(r.timings.total_queryable_samples, Some(1234));
    }

    #[test]
    fn matrix_without_stats() {
        let body = r#"{"status":"success","isPartial":false,"data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up"},"values":[[1.001,"1"],[61.001,"+Inf"],[121.001,"-Inf"]]}]}}"#;
        let r = parse_response("victoria-metrics", body).unwrap();
        let QueryResult::Matrix(series) = &r.result else {
            panic!("not a matrix")
        };
        assert_eq!(
            series[0].points,
            vec![
                (1001, 1.0),
                (61_001, f64::INFINITY),
                (121_001, f64::NEG_INFINITY)
            ]
        );
        assert_eq!(r.timings, ServerTimings::default());
    }

    #[test]
    fn scalar_and_string() {
        let r = parse_response(
            "p",
            r#"{"status":"success","data":{"resultType":"scalar","result":[10,"3"]}}"#,
        )
        .unwrap();
        assert_eq!(r.result, QueryResult::Scalar(10_000, 3.0));
        let r = parse_response(
            "p",
            r#"{"status":"success","data":{"resultType":"string","result":[10,"hi"]}}"#,
        )
        .unwrap();
        assert_eq!(r.result, QueryResult::String(10_000, "hi".into()));
    }

    #[test]
    fn error_status_is_an_answer() {
        let body = r#"{"status":"error","errorType":"execution","error":"many-to-many matching not allowed","warnings":["w"]}"#;
        let r = parse_response("prometheus", body).unwrap();
        assert_eq!(
            r.result,
            QueryResult::Error("execution: many-to-many matching not allowed".into())
        );
        assert_eq!(r.warnings, vec!["w".to_string()]);
    }

    #[test]
    fn malformed_bodies_are_errors_with_offsets() {
        let err =
            parse_response("prometheus", "{\"status\":\"success\",\n\"data\": [").unwrap_err();
        let Error::Response { engine, offset, .. } = err else {
            panic!("wrong error kind: {err}")
        };
        assert_eq!(engine, "prometheus");
        assert!(
            offset >= 21,
            "offset {offset} should point into the second line"
        );
        for body in [
            r#"{"status":"success"}"#,
            r#"{"status":"weird","data":null}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["1","1"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1e300,"1"]}}"#,
            r#"{"status":"success","data":{"resultType":"histogram","result":[]}}"#,
        ] {
            assert!(parse_response("p", body).is_err(), "accepted {body}");
        }
    }

    #[test]
    fn values_in_go_formatting() {
        assert_eq!(parse_value("1e-05"), Ok(1e-5));
        assert_eq!(parse_value("0.30000000000000004"), Ok(0.1 + 0.2));
        assert_eq!(parse_value("-Inf"), Ok(f64::NEG_INFINITY));
        assert!(parse_value("").is_err());
        assert!(parse_value("1,5").is_err());
    }
}
