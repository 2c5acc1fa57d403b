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
    let steps = visible_steps(runs, grid, at, offset, lookback);
    let mut out = Vec::with_capacity(steps.len());
    // Index of the first run starting after the reference time; reference times never
    // decrease along the grid, so it only moves forward.
    let mut next = 0usize;
    for k in steps {
        let t = grid.t(k);
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

/// The indices of the grid steps that can have a point: those whose reference time lies
/// between the first run's start and the last run's end plus the lookback. Churned series
/// cover a fraction of a long range, so the walk in [`points`] skips the rest.
/// Rule: a step outside this range has no point (before the first run's start no run has
/// begun; at or after the last run's end plus the lookback, `present` is false for the last
/// run, and every earlier run ended before it), so skipping it cannot change the answer.
/// With `@` every step has the same reference time, and all steps are walked.
fn visible_steps(
    runs: &[ValueRun],
    grid: &Grid,
    at: Option<i64>,
    offset: i64,
    lookback: i64,
) -> std::ops::Range<usize> {
    let n = grid.len();
    let (Some(first), Some(last), None) = (runs.first(), runs.last(), at) else {
        return 0..n;
    };
    let step = i128::from(grid.step.max(1));
    let start = i128::from(grid.start);
    // Step k has reference time start + k * step - offset.
    let lo = i128::from(first.first) + i128::from(offset) - start;
    let hi = i128::from(last.last) + i128::from(lookback) + i128::from(offset) - start;
    // The first k with k * step >= lo, and one past the last k with k * step <= hi.
    let k_lo = (lo.max(0) + step - 1).div_euclid(step);
    let k_hi = hi.div_euclid(step) + 1;
    let clamp = |k: i128| usize::try_from(k.clamp(0, n as i128)).unwrap_or(0);
    clamp(k_lo)..clamp(k_hi).max(clamp(k_lo))
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
            assert!(got.len() <= visible_steps(&runs, &grid, None, 0, lookback).len());
        }
        // Without the marker the first run stays visible for the lookback after its last sample.
        let runs = vec![run(0, 50, 10, 1.0, None)];
        let got = points(&runs, &grid, None, 0, 30);
        assert_eq!(got.last().map(|p| p.t), Some(75));
    }

    /// Every step walked: what [`points`] did before it skipped invisible steps.
    fn points_every_step(
        runs: &[ValueRun],
        grid: &Grid,
        at: Option<i64>,
        offset: i64,
        lookback: i64,
    ) -> Vec<Sample> {
        let mut out = Vec::new();
        for t in grid.times() {
            let r = at.unwrap_or(t).saturating_sub(offset);
            let Some(run) = runs.iter().rev().find(|run| run.first <= r) else {
                continue;
            };
            let present = !is_stale_nan(run.value)
                && (r <= run.last
                    || (run.stale_at.is_none_or(|s| s > r) && run.last > r - lookback));
            if present {
                out.push(Sample::new(t, run.value));
            }
        }
        out
    }

    proptest::proptest! {
        /// Skipping the steps before the first run and after the last run's lookback
        /// (`visible_steps`) gives the points of the walk over every step.
        #[test]
        fn skipped_steps_have_no_points(
            gaps in proptest::collection::vec((1i64..400, 0i64..400, proptest::option::of(1i64..50)), 0..5),
            origin in -1_000i64..1_000,
            start in -2_000i64..2_000,
            len in 0i64..3_000,
            step in 1i64..200,
            offset in -500i64..500,
            lookback in 1i64..600,
            at in proptest::option::of(-1_000i64..3_000),
        ) {
            // Ordered runs: each starts after the previous one's end (or marker).
            let mut runs = Vec::new();
            let mut t = origin;
            for (i, (gap, width, marker)) in gaps.into_iter().enumerate() {
                let first = t + gap;
                let last = first + width;
                let stale_at = marker.map(|m| last + m);
                runs.push(run(first, last, lookback, i as f64, stale_at));
                t = stale_at.unwrap_or(last);
            }
            let grid = Grid::new(start, start + len, step);
            proptest::prop_assert_eq!(
                points(&runs, &grid, at, offset, lookback),
                points_every_step(&runs, &grid, at, offset, lookback)
            );
        }
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
