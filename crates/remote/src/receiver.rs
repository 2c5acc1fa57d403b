//! Receiver logic of remote write and remote read over a [`Db`], independent of the HTTP
//! transport (`promlite-http` maps these results to status codes).
//!
//! **Write semantics (Prometheus 2.42's `writeHandler`):** a request is one transaction. Every
//! sample is appended in request order; the first sample storage refuses (out of order, a
//! duplicate timestamp with another value, older than the head accepts) rolls back the whole
//! request and the answer is 400, so the sender drops the batch instead of retrying it
//! forever. A sample equal in timestamp and value to the stored newest one is accepted and
//! ignored, which makes resending a batch idempotent. **Durability:** the commit is written
//! to the WAL (one `write(2)`, so it survives the process being killed; fsync per the data
//! directory's `WalSync` policy) before [`apply_write`] returns `Ok`, i.e. before any 2xx.

use promlite::{Db, Timestamp};
use promlite_model::{Queryable as _, SelectHints};

use crate::codec::{ReadRequest, SeriesSamples, WriteBatch};
use crate::{Error, Result};

/// Counts of one accepted write request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Series in the request.
    pub series: usize,
    /// Samples stored (exact duplicates of stored samples are accepted but not counted).
    pub samples_appended: u64,
    /// Exemplars dropped (promlite stores none).
    pub exemplars_dropped: usize,
}

/// Why a write request was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteRefusal {
    /// Storage refused a sample because of its timestamp: nothing of the request was stored.
    /// HTTP 400 (Prometheus: "out of order sample", "out of bounds", "duplicate sample for
    /// timestamp").
    #[error("{source} (timeseries[{series_index}], nothing of this request was stored)")]
    Sample {
        /// Index of the series in the request.
        series_index: usize,
        /// The storage error naming series and timestamp.
        source: promlite::Error,
    },
    /// Storage failed (I/O, full disk): nothing of the request was stored. HTTP 500, so the
    /// sender retries.
    #[error("storage failed, nothing of this request was stored: {0}")]
    Storage(promlite::Error),
}

impl WriteRefusal {
    /// The HTTP status Prometheus answers with.
    pub fn status(&self) -> u16 {
        match self {
            WriteRefusal::Sample { .. } => 400,
            WriteRefusal::Storage(_) => 500,
        }
    }
}

/// Appends a decoded write request as one transaction (see the module docs).
pub fn apply_write(db: &Db, batch: &WriteBatch) -> std::result::Result<WriteOutcome, WriteRefusal> {
    let mut appender = db.appender();
    // Metadata commits with the samples (one transaction); a later entry for a name wins.
    for (name, metadata) in &batch.families {
        appender.set_metadata(name, metadata.clone());
    }
    for (series_index, series) in batch.series.iter().enumerate() {
        let mut series_ref = None;
        for sample in &series.samples {
            let result = match series_ref {
                Some(r) => appender.append_ref(r, sample.t, sample.v),
                None => appender
                    .append(&series.labels, sample.t, sample.v)
                    .map(|r| series_ref = Some(r)),
            };
            if let Err(source) = result {
                appender.rollback();
                return Err(if source.is_sample_rejection() {
                    WriteRefusal::Sample {
                        series_index,
                        source,
                    }
                } else {
                    WriteRefusal::Storage(source)
                });
            }
        }
    }
    let samples_appended = appender.commit().map_err(WriteRefusal::Storage)?;
    Ok(WriteOutcome {
        series: batch.series.len(),
        samples_appended,
        exemplars_dropped: batch.exemplars,
    })
}

/// Answers a remote read request with samples: per query, every matching series with its
/// samples in `[start, end]`, sorted by labels. Fails when the answer would exceed
/// `max_samples` (Prometheus's `--storage.remote.read-sample-limit`, 5e7 by default).
pub fn answer_read(
    db: &Db,
    request: &ReadRequest,
    max_samples: usize,
) -> Result<Vec<Vec<SeriesSamples>>> {
    if !request.accepts_samples {
        return Err(Error::UnsupportedResponseType(
            request.accepted_response_types.clone(),
        ));
    }
    let mut total = 0usize;
    let mut results = Vec::with_capacity(request.queries.len());
    for query in &request.queries {
        let series = read_series(db, query.start, query.end, &query.matchers)?;
        total += series.iter().map(|s| s.samples.len()).sum::<usize>();
        if total > max_samples {
            return Err(Error::InvalidArgument(format!(
                "exceeded sample limit ({max_samples})"
            )));
        }
        results.push(series);
    }
    Ok(results)
}

/// The series matching `matchers` with their samples in `[start, end]` (series without a
/// sample there are left out), sorted by labels.
pub fn read_series(
    db: &Db,
    start: Timestamp,
    end: Timestamp,
    matchers: &[promlite::Matcher],
) -> Result<Vec<SeriesSamples>> {
    let model = |e: promlite_model::Error| Error::Db(promlite::Error::Query(e.into()));
    let querier = db.storage().querier(start, end).map_err(model)?;
    let hints = SelectHints {
        start,
        end,
        ..SelectHints::default()
    };
    let mut out = Vec::new();
    for mut series in querier.select(&hints, matchers).map_err(model)? {
        let mut samples = Vec::new();
        series
            .samples
            .collect_range(start, end, &mut samples)
            .map_err(model)?;
        if !samples.is_empty() {
            out.push(SeriesSamples {
                labels: series.labels,
                samples,
            });
        }
    }
    Ok(out)
}
