//! The engine abstraction: something that answers instant and range queries and says how long
//! each took.

use std::time::Duration;

use crate::answer::QueryResult;
use crate::error::Result;
use crate::promjson::ServerTimings;

/// The placeholder answer of a run whose answer the harness said it would not read
/// ([`Engine::want_answer`]).
pub const ANSWER_NOT_KEPT: &str = "answer not kept (not the first run)";

/// One timed query answer.
#[derive(Debug, Clone)]
pub struct Timed {
    /// The normalised answer (query errors are answers too).
    pub result: QueryResult,
    /// Wall time seen by the harness: for HTTP engines the whole request including JSON encoding,
    /// transfer and decoding of the body; for promlite the in-process call.
    pub wall: Duration,
    /// Server-side timings when the engine reports them (Prometheus with `stats=all`).
    pub server: ServerTimings,
}

/// A query engine under benchmark.
pub trait Engine {
    /// Short name used in the table (`promlite`, `prometheus`, `victoria-metrics`).
    fn name(&self) -> &'static str;

    /// Whether the harness reads the answer of the next query (it keeps each job's first
    /// answer only). An engine that builds the engine-neutral answer after its timed part may
    /// skip building one nobody reads, and return [`QueryResult::Error`] with
    /// [`ANSWER_NOT_KEPT`] instead; the default builds every answer.
    fn want_answer(&mut self, _wanted: bool) {}

    /// Evaluates `query` at `t_ms`.
    fn instant_query(&mut self, query: &str, t_ms: i64) -> Result<Timed>;

    /// Evaluates `query` at `start_ms, start_ms + step_ms, ...` up to `end_ms` inclusive.
    fn range_query(
        &mut self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Timed>;
}

/// Milliseconds as the seconds string the Prometheus API accepts, exactly: `1700000007.250`.
pub fn api_time(t_ms: i64) -> String {
    let sign = if t_ms < 0 { "-" } else { "" };
    let abs = t_ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_times_are_exact_seconds() {
        assert_eq!(api_time(1_700_000_007_250), "1700000007.250");
        assert_eq!(api_time(60_000), "60.000");
        assert_eq!(api_time(5), "0.005");
        assert_eq!(api_time(-1), "-0.001");
        assert_eq!(api_time(-1500), "-1.500");
    }
}
