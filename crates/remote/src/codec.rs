//! Encoder/decoder pairs for remote write and remote read bodies: protobuf ([`crate::proto`])
//! compressed with snappy's block format, converted at this edge to and from promlite's
//! model types ([`Labels`], [`Sample`], [`Matcher`]). Nothing outside this module sees the
//! protobuf types.
//!
//! Decoders never panic: every failure is an [`Error`] naming the layer and the position.

use prost::Message as _;

use promlite::{Labels, MatchOp, Matcher, Sample, Timestamp};

use crate::proto;
use crate::{Error, Result};

/// Default ceiling for a body's decompressed size (the snappy header's announced length is
/// checked before anything is allocated). Prometheus's own batches are well under 1 MiB.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// One series with its samples: the unit of a write request and of a read result.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSamples {
    /// The series' labels (sorted, no empty values: the [`Labels`] invariants).
    pub labels: Labels,
    /// Its samples, in the order they were given (increasing time for well-formed senders).
    pub samples: Vec<Sample>,
}

/// A decoded write request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    /// The series with their float samples.
    pub series: Vec<SeriesSamples>,
    /// Exemplars carried by the request (promlite stores none; counted for the response).
    pub exemplars: usize,
    /// Metadata entries carried by the request.
    pub metadata: usize,
    /// The request's metric metadata by family name (a later entry for a name wins), stored by
    /// the receiver with the samples.
    pub families: Vec<(String, promlite::MetricMetadata)>,
}

impl WriteBatch {
    /// Number of float samples over all series.
    pub fn samples(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}

/// One query of a read request.
#[derive(Debug, Clone)]
pub struct ReadQuery {
    /// Inclusive start, milliseconds.
    pub start: Timestamp,
    /// Inclusive end, milliseconds.
    pub end: Timestamp,
    /// Matchers, all of which must match.
    pub matchers: Vec<Matcher>,
}

/// A decoded read request.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// The queries, in order.
    pub queries: Vec<ReadQuery>,
    /// Whether the client accepts the `SAMPLES` response type (true when it lists none).
    pub accepts_samples: bool,
    /// The response types it listed, as sent.
    pub accepted_response_types: Vec<i32>,
}

/// Snappy-compresses `raw` in the block format.
fn compress(raw: &[u8]) -> Vec<u8> {
    // The block encoder fails only for inputs over ~4 GiB (snap's `max_compress_len` is 0
    // there); a remote write batch is megabytes at most, and the caller bounds it.
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .unwrap_or_default()
}

/// Snappy-decompresses `body`, refusing announced lengths above `limit`.
pub fn decompress(body: &[u8], limit: usize) -> Result<Vec<u8>> {
    let len = snap::raw::decompress_len(body).map_err(|e| Error::Snappy {
        detail: e.to_string(),
    })?;
    if len > limit {
        return Err(Error::TooLarge { len, limit });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| Error::Snappy {
            detail: e.to_string(),
        })
}

fn labels_to_proto(labels: &Labels) -> Vec<proto::Label> {
    labels
        .iter()
        .map(|l| proto::Label {
            name: l.name.to_string(),
            value: l.value.to_string(),
        })
        .collect()
}

fn series_to_proto(series: &SeriesSamples) -> proto::TimeSeries {
    proto::TimeSeries {
        labels: labels_to_proto(&series.labels),
        samples: series
            .samples
            .iter()
            .map(|s| proto::Sample {
                value: s.v,
                timestamp: s.t,
            })
            .collect(),
        exemplars: Vec::new(),
        histograms: Vec::new(),
    }
}

/// Converts wire labels to a [`Labels`], rejecting what Prometheus's TSDB cannot store: an
/// empty name, a name given twice, or a set that is empty once empty values are dropped.
fn labels_from_proto(labels: Vec<proto::Label>, series_index: usize) -> Result<Labels> {
    let invalid = |detail: String| Error::InvalidSeries {
        series_index,
        detail,
    };
    let mut names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    if names.first().is_some_and(|n| n.is_empty()) {
        return Err(invalid("a label has an empty name".to_string()));
    }
    if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(invalid(format!("label name {:?} is given twice", pair[0])));
    }
    let out = Labels::from_pairs(labels.into_iter().map(|l| (l.name, l.value)));
    if out.is_empty() {
        return Err(invalid("the label set is empty".to_string()));
    }
    Ok(out)
}

fn series_from_proto(ts: proto::TimeSeries, series_index: usize) -> Result<SeriesSamples> {
    if !ts.histograms.is_empty() {
        return Err(Error::HistogramsUnsupported {
            series_index,
            count: ts.histograms.len(),
        });
    }
    Ok(SeriesSamples {
        labels: labels_from_proto(ts.labels, series_index)?,
        samples: ts
            .samples
            .into_iter()
            .map(|s| Sample {
                t: s.timestamp,
                v: s.value,
            })
            .collect(),
    })
}

fn protobuf_error(message: &'static str, err: &prost::DecodeError) -> Error {
    Error::Protobuf {
        message,
        detail: err.to_string(),
    }
}

/// Encodes a remote write 1.0 body: a `WriteRequest` protobuf, snappy-compressed.
pub fn encode_write_request(series: &[SeriesSamples]) -> Vec<u8> {
    encode_write_request_with_metadata(series, &[])
}

/// The wire numbers of `MetricMetadata.MetricType`, in order.
const METRIC_TYPES: [&str; 8] = [
    "unknown",
    "counter",
    "gauge",
    "histogram",
    "gaugehistogram",
    "summary",
    "info",
    "stateset",
];

/// [`encode_write_request`] carrying metric metadata as well.
pub fn encode_write_request_with_metadata(
    series: &[SeriesSamples],
    families: &[(String, promlite::MetricMetadata)],
) -> Vec<u8> {
    let request = proto::WriteRequest {
        timeseries: series.iter().map(series_to_proto).collect(),
        metadata: families
            .iter()
            .map(|(name, m)| proto::MetricMetadata {
                r#type: METRIC_TYPES
                    .iter()
                    .position(|t| *t == m.metric_type)
                    .and_then(|i| i32::try_from(i).ok())
                    .unwrap_or(0),
                metric_family_name: name.clone(),
                help: m.help.clone(),
                unit: m.unit.clone(),
            })
            .collect(),
    };
    compress(&request.encode_to_vec())
}

/// Decodes a remote write 1.0 body (snappy-compressed `WriteRequest`).
pub fn decode_write_request(body: &[u8], max_decompressed: usize) -> Result<WriteBatch> {
    let raw = decompress(body, max_decompressed)?;
    let request = proto::WriteRequest::decode(raw.as_slice())
        .map_err(|e| protobuf_error("WriteRequest", &e))?;
    let metadata = request.metadata.len();
    let families = request
        .metadata
        .into_iter()
        .filter(|m| !m.metric_family_name.is_empty())
        .map(|m| {
            let metric_type = usize::try_from(m.r#type)
                .ok()
                .and_then(|i| METRIC_TYPES.get(i))
                .copied()
                .unwrap_or("unknown");
            (
                m.metric_family_name,
                promlite::MetricMetadata {
                    metric_type: metric_type.to_string(),
                    help: m.help,
                    unit: m.unit,
                },
            )
        })
        .collect();
    let mut exemplars = 0;
    let mut series = Vec::with_capacity(request.timeseries.len());
    for (series_index, ts) in request.timeseries.into_iter().enumerate() {
        exemplars += ts.exemplars.len();
        series.push(series_from_proto(ts, series_index)?);
    }
    Ok(WriteBatch {
        series,
        exemplars,
        metadata,
        families,
    })
}

fn matcher_to_proto(matcher: &Matcher) -> proto::LabelMatcher {
    let kind = match matcher.op {
        MatchOp::Equal => proto::MatcherType::Eq,
        MatchOp::NotEqual => proto::MatcherType::Neq,
        MatchOp::Regex => proto::MatcherType::Re,
        MatchOp::NotRegex => proto::MatcherType::Nre,
    };
    proto::LabelMatcher {
        r#type: kind as i32,
        name: matcher.name.clone(),
        value: matcher.value.clone(),
    }
}

/// Encodes a remote read body (snappy-compressed `ReadRequest`) asking for `SAMPLES`.
pub fn encode_read_request(queries: &[ReadQuery]) -> Vec<u8> {
    let request = proto::ReadRequest {
        queries: queries
            .iter()
            .map(|q| proto::Query {
                start_timestamp_ms: q.start,
                end_timestamp_ms: q.end,
                matchers: q.matchers.iter().map(matcher_to_proto).collect(),
                hints: None,
            })
            .collect(),
        accepted_response_types: vec![proto::ResponseType::Samples as i32],
    };
    compress(&request.encode_to_vec())
}

/// Decodes a remote read body (snappy-compressed `ReadRequest`), compiling its matchers.
pub fn decode_read_request(body: &[u8], max_decompressed: usize) -> Result<ReadRequest> {
    let raw = decompress(body, max_decompressed)?;
    let request = proto::ReadRequest::decode(raw.as_slice())
        .map_err(|e| protobuf_error("ReadRequest", &e))?;
    let accepts_samples = request.accepted_response_types.is_empty()
        || request
            .accepted_response_types
            .contains(&(proto::ResponseType::Samples as i32));
    let mut queries = Vec::with_capacity(request.queries.len());
    for (query_index, query) in request.queries.into_iter().enumerate() {
        let mut matchers = Vec::with_capacity(query.matchers.len());
        for (matcher_index, m) in query.matchers.into_iter().enumerate() {
            let invalid = |detail: String| Error::InvalidMatcher {
                query_index,
                matcher_index,
                detail,
            };
            let op = match proto::MatcherType::try_from(m.r#type) {
                Ok(proto::MatcherType::Eq) => MatchOp::Equal,
                Ok(proto::MatcherType::Neq) => MatchOp::NotEqual,
                Ok(proto::MatcherType::Re) => MatchOp::Regex,
                Ok(proto::MatcherType::Nre) => MatchOp::NotRegex,
                Err(_) => return Err(invalid(format!("unknown matcher type {}", m.r#type))),
            };
            matchers.push(Matcher::new(op, m.name, m.value).map_err(|e| invalid(e.to_string()))?);
        }
        if matchers.is_empty() {
            return Err(Error::NoMatchers(query_index));
        }
        queries.push(ReadQuery {
            start: query.start_timestamp_ms,
            end: query.end_timestamp_ms,
            matchers,
        });
    }
    Ok(ReadRequest {
        queries,
        accepts_samples,
        accepted_response_types: request.accepted_response_types,
    })
}

/// Encodes a `SAMPLES` remote read response: one result (a list of series) per query.
pub fn encode_read_response(results: &[Vec<SeriesSamples>]) -> Vec<u8> {
    let response = proto::ReadResponse {
        results: results
            .iter()
            .map(|series| proto::QueryResult {
                timeseries: series.iter().map(series_to_proto).collect(),
            })
            .collect(),
    };
    compress(&response.encode_to_vec())
}

/// Decodes a `SAMPLES` remote read response.
pub fn decode_read_response(
    body: &[u8],
    max_decompressed: usize,
) -> Result<Vec<Vec<SeriesSamples>>> {
    let raw = decompress(body, max_decompressed)?;
    let response = proto::ReadResponse::decode(raw.as_slice())
        .map_err(|e| protobuf_error("ReadResponse", &e))?;
    response
        .results
        .into_iter()
        .map(|result| {
            result
                .timeseries
                .into_iter()
                .enumerate()
                .map(|(i, ts)| series_from_proto(ts, i))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests;
