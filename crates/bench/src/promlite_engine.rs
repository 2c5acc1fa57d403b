//! The in-process promlite driver: ingests the generated cluster into a `promlite::Db` data
//! directory (once; later runs reopen it) and times `query`/`query_range` calls.

use std::path::Path;
use std::time::{Duration, Instant};

use promlite::{Db, EngineOptions, Options, StorageOptions, Value, WalSync};
use promlite_cluster::Cluster;

use crate::answer::{QueryResult, Series};
use crate::engine::{Engine, Timed};
use crate::error::{io_err, Error, Result};
use crate::promjson::ServerTimings;

/// Marker written into the data directory once ingestion and the flush into blocks finished.
const INGEST_DONE: &str = "promlite-bench-ingest.done";

/// True when `dir` holds a finished ingest (what [`Promlite::open_or_ingest`] reuses).
pub fn is_ingested(dir: &Path) -> bool {
    dir.join(INGEST_DONE).is_file()
}

/// promlite, in this process.
pub struct Promlite {
    db: Db,
    /// Whether the next answer is read ([`Engine::want_answer`]).
    answer_wanted: bool,
}

/// What ingestion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestStats {
    /// Samples replayed and stored (0 when reused).
    pub samples: u64,
    /// The replay, durable blocks included (zero when reused).
    pub elapsed: Duration,
}

fn promlite_err(e: impl std::fmt::Display) -> Error {
    Error::Promlite(e.to_string())
}

/// Storage and engine options for the benchmark: no WAL fsyncs during the bulk load, no
/// retention, the query limits raised to Prometheus's in [`crate::prometheus`].
fn options(fast_path: bool) -> Options {
    let storage = StorageOptions {
        wal_sync: WalSync::Never,
        ..StorageOptions::default()
    };
    let engine = EngineOptions {
        fast_path,
        max_samples: 2_000_000_000,
        timeout: Duration::from_secs(300),
        ..EngineOptions::default()
    };
    Options { storage, engine }
}

impl Promlite {
    /// Opens the data directory `dir`, first replaying `openmetrics` (the file the other
    /// engines import) unless a finished ingest is there. The replay is `Db::replay_file`, the
    /// path a user replaying a capture takes (parallel parse, blocks written directly, durable
    /// when it returns), so the setup log times it beside the other engines' ingest of the
    /// same file; queries then read blocks, as Prometheus's do.
    pub fn open_or_ingest(
        dir: &Path,
        openmetrics: &Path,
        fast_path: bool,
    ) -> Result<(Self, IngestStats)> {
        let marker = dir.join(INGEST_DONE);
        if marker.is_file() {
            let db = Db::open(dir, options(fast_path)).map_err(promlite_err)?;
            return Ok((
                Self {
                    db,
                    answer_wanted: true,
                },
                IngestStats {
                    samples: 0,
                    elapsed: Duration::ZERO,
                },
            ));
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io_err(dir))?;
        }
        let started = Instant::now();
        let db = Db::open(dir, options(fast_path)).map_err(promlite_err)?;
        let stats = db.replay_file(openmetrics).map_err(promlite_err)?;
        let elapsed = started.elapsed();
        let samples = stats.input.samples - stats.rejected_samples;
        std::fs::write(&marker, format!("{samples} samples\n")).map_err(io_err(&marker))?;
        Ok((
            Self {
                db,
                answer_wanted: true,
            },
            IngestStats { samples, elapsed },
        ))
    }

    /// An engine over an existing database (tests, benches).
    pub fn from_db(db: Db) -> Self {
        Self {
            db,
            answer_wanted: true,
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// Appends every sample of `cluster` to `db`, committing at each new scrape timestamp.
pub fn ingest(db: &Db, cluster: &Cluster) -> Result<u64> {
    let mut appender = db.appender();
    let mut first_error: Option<promlite::Error> = None;
    let mut current_t = i64::MIN;
    let mut samples = 0u64;
    cluster.for_each_sample(|labels, t, v| {
        if first_error.is_some() {
            return;
        }
        if t != current_t {
            if let Err(e) = appender.commit() {
                first_error = Some(e);
                return;
            }
            current_t = t;
        }
        match appender.append(labels, t, v) {
            Ok(_) => samples += 1,
            Err(e) => first_error = Some(e),
        }
    });
    if let Some(e) = first_error {
        return Err(promlite_err(e));
    }
    appender.commit().map_err(promlite_err)?;
    Ok(samples)
}

/// Converts promlite's value into the engine-neutral answer.
pub fn to_result(value: Value) -> QueryResult {
    let labels_of = |labels: &promlite::Labels| -> Vec<(String, String)> {
        labels
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect()
    };
    let result = match value {
        Value::Scalar { t, v } => QueryResult::Scalar(t, v),
        Value::String { t, v } => QueryResult::String(t, v),
        Value::Vector(samples) => QueryResult::Vector(
            samples
                .iter()
                .map(|s| Series::new(labels_of(&s.labels), vec![(s.t, s.v)]))
                .collect(),
        ),
        Value::Matrix(series) => QueryResult::Matrix(
            series
                .iter()
                .map(|s| {
                    Series::new(
                        labels_of(&s.labels),
                        s.samples.iter().map(|p| (p.t, p.v)).collect(),
                    )
                })
                .collect(),
        ),
    };
    result.normalise()
}

/// The timed outcome. An answer the harness does not read is not converted: converting
/// allocates a `String` pair per label, which between two timed runs only churns the allocator
/// and the caches the next run then starts with (the server engines' processes never see the
/// harness's conversions).
fn timed(
    started: Instant,
    outcome: promlite::Result<promlite::QueryOutput>,
    wanted: bool,
) -> Timed {
    let wall = started.elapsed();
    let result = match outcome {
        Ok(_) if !wanted => QueryResult::Error(crate::engine::ANSWER_NOT_KEPT.into()),
        Ok(output) => to_result(output.value),
        Err(e) => QueryResult::Error(e.to_string()),
    };
    Timed {
        result,
        wall,
        server: ServerTimings::default(),
    }
}

impl Engine for Promlite {
    fn name(&self) -> &'static str {
        "promlite"
    }

    fn want_answer(&mut self, wanted: bool) {
        self.answer_wanted = wanted;
    }

    fn instant_query(&mut self, query: &str, t_ms: i64) -> Result<Timed> {
        let started = Instant::now();
        let outcome = self.db.query(query, t_ms);
        Ok(timed(started, outcome, self.answer_wanted))
    }

    fn range_query(
        &mut self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Timed> {
        let step = Duration::from_millis(
            u64::try_from(step_ms).map_err(|_| Error::Options(format!("step {step_ms} ms")))?,
        );
        let started = Instant::now();
        let outcome = self.db.query_range(query, start_ms, end_ms, step);
        Ok(timed(started, outcome, self.answer_wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite::{InstantSample, Labels, RangeSeries, Sample};

    #[test]
    fn values_convert_to_sorted_answers() {
        let v = Value::Vector(vec![
            InstantSample {
                labels: Labels::from_pairs([("pod", "b")]),
                t: 5,
                v: 2.0,
            },
            InstantSample {
                labels: Labels::from_pairs([("pod", "a"), ("__name__", "x")]),
                t: 5,
                v: 1.0,
            },
        ]);
        let QueryResult::Vector(series) = to_result(v) else {
            panic!("not a vector")
        };
        assert_eq!(
            series[0].labels,
            vec![
                ("__name__".to_string(), "x".to_string()),
                ("pod".into(), "a".into())
            ]
        );
        assert_eq!(series[1].points, vec![(5, 2.0)]);
        let m = Value::Matrix(vec![RangeSeries {
            labels: Labels::from_pairs([("a", "1")]),
            samples: vec![Sample::new(1, 1.5), Sample::new(2, 2.5)],
        }]);
        let QueryResult::Matrix(series) = to_result(m) else {
            panic!("not a matrix")
        };
        assert_eq!(series[0].points, vec![(1, 1.5), (2, 2.5)]);
        assert_eq!(
            to_result(Value::Scalar { t: 3, v: 4.0 }),
            QueryResult::Scalar(3, 4.0)
        );
    }
}
