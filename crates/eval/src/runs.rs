//! Instant-vector selectors answered from value runs ([`Querier::select_runs`]) instead of
//! decoded samples: the owner-index fast path.
//!
//! Storage keeps, for kube-state-metrics metadata series (`kube_pod_owner`,
//! `kube_replicaset_owner`, `kube_pod_info`, ...), the stretches of consecutive samples with one
//! value. The seed's joins read those series through plain instant selectors on their "one"
//! side: `max(kube_pod_owner) by (...)`, the `kube_replicaset_owner` lookups inside the
//! five-`label_replace` Deployment resolution, the `kube_pod_info` joins of the modern queries.
//! Pod → ReplicaSet → Deployment resolution over time works unchanged: a pod whose owner changes
//! gets a new `kube_pod_owner` series (new owner labels) whose run starts when the old one's
//! ends, a ReplicaSet adopted by another Deployment likewise, so at every step exactly the
//! owner rows that the samples would show are present, and the joins above them see the same
//! vectors as on the generic path.
//!
//! **Exactness.** The generic selector takes, at reference time `r` (after `@` and `offset`),
//! the newest sample with `t <= r`, and returns its value if `t > r - lookback` and it is not a
//! staleness marker. From runs: if `r` falls inside a run (`first <= r <= last`), the newest
//! sample is a sample of that run less than `max_gap` old (or exactly at `r`), so it is present
//! with the run's value whenever `max_gap <= lookback`; any run violating that makes the whole
//! selector fall back to the generic path. If `r` falls after a run and before the next, the
//! newest sample is the run's `last`, or its `stale_at` marker once `r` reaches it. Before the
//! first run there is nothing (or only markers). Runs entirely outside the selector's window
//! cannot change any step, so storage may omit them.
//!
//! **Statistics.** `series_selected` counts the series returned; `samples_loaded` counts runs,
//! not samples (nothing is decoded), so the sample limit is checked against the run count.
//! A `max_samples` limit the generic path would hit on these selectors is therefore not hit
//! here, like the join-key pushdown, which also loads fewer samples than the generic path.

use promlite_model::{is_stale_nan, Matcher, Querier, Sample, SelectHints, SeriesRuns, ValueRun};
use rayon::prelude::*;

use crate::series::{Grid, Series};

/// The series' runs for a selector, if storage has them and they are exact for `lookback`.
/// A storage error also means "use the generic path", which then reports its own error (or
/// none), so errors stay exactly the generic path's.
pub(crate) fn select(
    querier: &dyn Querier,
    matchers: &[Matcher],
    hints: &SelectHints,
    lookback: i64,
) -> Option<Vec<SeriesRuns>> {
    if lookback <= 0 {
        // A sample at exactly `r` is absent with a zero lookback; runs cannot express that.
        return None;
    }
    let found = querier.select_runs(hints, matchers).ok().flatten()?;
    let usable = found
        .iter()
        .all(|s| s.runs.iter().all(|r| r.max_gap <= lookback) && is_ordered(&s.runs));
    usable.then_some(found)
}

/// True if the runs are well formed and strictly ordered in time, markers included.
fn is_ordered(runs: &[ValueRun]) -> bool {
    runs.iter()
        .all(|r| r.first <= r.last && r.stale_at.is_none_or(|s| s > r.last))
        && runs.windows(2).all(|w| match w {
            [a, b] => a.stale_at.unwrap_or(a.last) < b.first,
            _ => true,
        })
}

/// Number of runs, for the statistics.
pub(crate) fn count_runs(found: &[SeriesRuns]) -> usize {
    found.iter().map(|s| s.runs.len()).sum()
}

/// The points of each series on `grid`; series without any point are dropped.
pub(crate) fn series_on_grid(
    found: Vec<SeriesRuns>,
    grid: &Grid,
    at: Option<i64>,
    offset: i64,
    lookback: i64,
    parallel: bool,
) -> Vec<Series> {
    let g = *grid;
    let work = move |s: SeriesRuns| -> Option<Series> {
        let points = points(&s.runs, &g, at, offset, lookback);
        (!points.is_empty()).then_some(Series {
            labels: s.labels,
            drop_name: false,
            points,
        })
    };
    if parallel {
        found.into_par_iter().filter_map(work).collect()
    } else {
        found.into_iter().filter_map(work).collect()
    }
}

/// The selector's value at every step of `grid` from one series' runs (see the module doc).
fn points(
    runs: &[ValueRun],
    grid: &Grid,
    at: Option<i64>,
    offset: i64,
    lookback: i64,
) -> Vec<Sample> {
    let mut out = Vec::with_capacity(capacity(runs, grid, at, offset, lookback));
    // Index of the first run starting after the reference time; reference times never
    // decrease along the grid, so it only moves forward.
    let mut next = 0usize;
    for t in grid.times() {
        let r = at.unwrap_or(t).saturating_sub(offset);
        while runs.get(next).is_some_and(|run| run.first <= r) {
            next += 1;
        }
        let Some(run) = next.checked_sub(1).and_then(|i| runs.get(i)) else {
            continue;
        };
        if is_stale_nan(run.value) {
            continue;
        }
        let present = if r <= run.last {
            // Inside the run: the newest sample is less than `max_gap <= lookback` old.
            true
        } else if run.stale_at.is_some_and(|s| s <= r) {
            false
        } else {
            run.last > r.saturating_sub(lookback)
        };
        if present {
            out.push(Sample::new(t, run.value));
        }
    }
    out
}

/// An upper bound of the number of points (steps whose reference time lies between the first
/// run's start and the last run's end plus the lookback), so the point vector is allocated
/// once. Only a size hint.
fn capacity(runs: &[ValueRun], grid: &Grid, at: Option<i64>, offset: i64, lookback: i64) -> usize {
    let (Some(first), Some(last), None) = (runs.first(), runs.last(), at) else {
        return grid.len();
    };
    let step = i128::from(grid.step.max(1));
    let start = i128::from(grid.start);
    let lo = i128::from(first.first) + i128::from(offset) - start;
    let hi = i128::from(last.last) + i128::from(lookback) + i128::from(offset) - start;
    let k_lo = lo.max(0).div_euclid(step);
    let k_hi = hi.div_euclid(step) + 1;
    usize::try_from((k_hi - k_lo).clamp(0, grid.len() as i128)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(first: i64, last: i64, max_gap: i64, value: f64, stale_at: Option<i64>) -> ValueRun {
        ValueRun {
            first,
            last,
            max_gap,
            value,
            stale_at,
        }
    }

    /// The generic rule on raw samples, as `vector_selector` applies it.
    fn from_samples(samples: &[Sample], grid: &Grid, lookback: i64) -> Vec<Sample> {
        grid.times()
            .filter_map(|t| {
                let last = samples.iter().rev().find(|s| s.t <= t)?;
                (last.t > t - lookback && !is_stale_nan(last.v)).then_some(Sample::new(t, last.v))
            })
            .collect()
    }

    #[test]
    fn points_follow_runs_gaps_and_markers() {
        // Samples every 10 from 0 to 50 (value 1), a marker at 55, value 2 from 200 to 220.
        let mut samples: Vec<Sample> = (0..=5).map(|k| Sample::new(k * 10, 1.0)).collect();
        samples.push(Sample::new(55, promlite_model::STALE_NAN));
        samples.extend((20..=22).map(|k| Sample::new(k * 10, 2.0)));
        let runs = vec![run(0, 50, 10, 1.0, Some(55)), run(200, 220, 10, 2.0, None)];
        let grid = Grid::new(-5, 400, 5);
        for lookback in [10, 30, 100] {
            assert_eq!(
                points(&runs, &grid, None, 0, lookback),
                from_samples(&samples, &grid, lookback),
                "lookback {lookback}"
            );
        }
        for lookback in [10, 30, 100] {
            let got = points(&runs, &grid, None, 0, lookback);
            assert!(got.len() <= capacity(&runs, &grid, None, 0, lookback));
        }
        // Without the marker the first run stays visible for the lookback after its last sample.
        let runs = vec![run(0, 50, 10, 1.0, None)];
        let got = points(&runs, &grid, None, 0, 30);
        assert_eq!(got.last().map(|p| p.t), Some(75));
    }

    #[test]
    fn offset_and_at_shift_the_reference_time() {
        let runs = vec![run(100, 200, 10, 3.0, None)];
        let grid = Grid::new(0, 300, 50);
        let got: Vec<i64> = points(&runs, &grid, None, -100, 20)
            .iter()
            .map(|p| p.t)
            .collect();
        assert_eq!(got, vec![0, 50, 100]);
        let got = points(&runs, &grid, Some(150), 0, 20);
        assert_eq!(got.len(), 7);
    }

    #[test]
    fn ordering_check_rejects_overlaps() {
        assert!(is_ordered(&[
            run(0, 10, 5, 1.0, Some(15)),
            run(20, 30, 5, 1.0, None)
        ]));
        assert!(!is_ordered(&[
            run(0, 10, 5, 1.0, Some(20)),
            run(20, 30, 5, 1.0, None)
        ]));
        assert!(!is_ordered(&[
            run(0, 10, 5, 1.0, None),
            run(5, 30, 5, 1.0, None)
        ]));
        assert!(!is_ordered(&[run(10, 0, 5, 1.0, None)]));
    }
}
