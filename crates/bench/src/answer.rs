//! Engine-neutral query answers and the comparison against the oracle (Prometheus).
//!
//! Every engine's answer is normalised into a [`QueryResult`]: label sets sorted by name, series
//! sorted by label set, timestamps in milliseconds. Prometheus does not promise an order for
//! vector results, so the order is not part of the answer.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

/// A label set as sorted `(name, value)` pairs (the metric name appears as `__name__`).
pub type LabelPairs = Vec<(String, String)>;

/// One output series: its labels and its points `(t_ms, value)` in increasing time order. An
/// instant vector element is a series with exactly one point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Sorted label pairs.
    pub labels: LabelPairs,
    /// Points in increasing timestamp order.
    pub points: Vec<(i64, f64)>,
}

impl Series {
    /// A series from labels in any order; sorts them.
    pub fn new(mut labels: LabelPairs, points: Vec<(i64, f64)>) -> Self {
        labels.sort();
        Self { labels, points }
    }
}

/// A normalised query answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum QueryResult {
    /// A scalar `(t_ms, value)`.
    Scalar(i64, f64),
    /// A string `(t_ms, value)`.
    String(i64, String),
    /// An instant vector: series with one point each, sorted by labels.
    Vector(Vec<Series>),
    /// A matrix (range query result): series sorted by labels.
    Matrix(Vec<Series>),
    /// The engine rejected or failed the query with this message.
    Error(String),
}

impl QueryResult {
    /// Sorts the series of a vector or matrix by label set (the canonical form).
    pub fn normalise(mut self) -> Self {
        if let QueryResult::Vector(series) | QueryResult::Matrix(series) = &mut self {
            for s in series.iter_mut() {
                s.labels.sort();
            }
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
        }
        self
    }

    /// Number of output series (1 for a scalar or string, 0 for an error).
    pub fn n_series(&self) -> usize {
        match self {
            QueryResult::Scalar(..) | QueryResult::String(..) => 1,
            QueryResult::Vector(s) | QueryResult::Matrix(s) => s.len(),
            QueryResult::Error(_) => 0,
        }
    }

    /// Total number of points (1 for a scalar or string, 0 for an error).
    pub fn n_points(&self) -> usize {
        match self {
            QueryResult::Scalar(..) | QueryResult::String(..) => 1,
            QueryResult::Vector(s) | QueryResult::Matrix(s) => {
                s.iter().map(|s| s.points.len()).sum()
            }
            QueryResult::Error(_) => 0,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            QueryResult::Scalar(..) => "scalar",
            QueryResult::String(..) => "string",
            QueryResult::Vector(_) => "vector",
            QueryResult::Matrix(_) => "matrix",
            QueryResult::Error(_) => "error",
        }
    }
}

/// The outcome of comparing an answer with the oracle's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Same label sets, timestamps and values (within tolerance); or both errors.
    Same,
    /// The answers differ; the string says where (first difference only, plus counts).
    Differs(String),
}

impl Verdict {
    /// True for [`Verdict::Same`].
    pub fn is_same(&self) -> bool {
        matches!(self, Verdict::Same)
    }
}

/// True if `a` and `b` are equal within relative tolerance `rel_tol`: identical, both NaN, or
/// `|a - b| <= rel_tol * max(|a|, |b|)`. Infinities must match exactly (the relative test would
/// otherwise accept `inf` against any finite value).
pub fn values_match(a: f64, b: f64, rel_tol: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    if !a.is_finite() || !b.is_finite() {
        return false;
    }
    (a - b).abs() <= rel_tol * a.abs().max(b.abs())
}

/// Compares `actual` with the oracle's `expected` answer. Both must be normalised (see
/// [`QueryResult::normalise`]). Two errors count as the same answer whatever their messages say:
/// engines word errors differently, but agreeing that a query is invalid is what matters.
pub fn compare(expected: &QueryResult, actual: &QueryResult, rel_tol: f64) -> Verdict {
    use QueryResult as Q;
    match (expected, actual) {
        (Q::Error(_), Q::Error(_)) => Verdict::Same,
        (Q::Error(e), other) => Verdict::Differs(format!(
            "oracle failed ({}), got a {}",
            short(e),
            other.kind()
        )),
        (other, Q::Error(e)) => Verdict::Differs(format!(
            "oracle returned a {}, got error: {}",
            other.kind(),
            short(e)
        )),
        (Q::Scalar(t1, v1), Q::Scalar(t2, v2)) => {
            if t1 != t2 {
                Verdict::Differs(format!("scalar timestamp {t2} != {t1}"))
            } else if !values_match(*v1, *v2, rel_tol) {
                Verdict::Differs(format!("scalar {v2} != {v1}"))
            } else {
                Verdict::Same
            }
        }
        (Q::String(t1, v1), Q::String(t2, v2)) => {
            if t1 == t2 && v1 == v2 {
                Verdict::Same
            } else {
                Verdict::Differs(format!("string ({t2}, {v2:?}) != ({t1}, {v1:?})"))
            }
        }
        (Q::Vector(a), Q::Vector(b)) | (Q::Matrix(a), Q::Matrix(b)) => {
            compare_series(a, b, rel_tol)
        }
        (a, b) => Verdict::Differs(format!("result type {} != {}", b.kind(), a.kind())),
    }
}

/// Merge-walks two label-sorted series lists, counting series only in one side and series whose
/// points differ; describes the first difference of each kind.
fn compare_series(expected: &[Series], actual: &[Series], rel_tol: f64) -> Verdict {
    let (mut i, mut j) = (0, 0);
    let mut missing = 0usize;
    let mut extra = 0usize;
    let mut differing = 0usize;
    let mut first: Option<String> = None;
    loop {
        let ord = match (expected.get(i), actual.get(j)) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(e), Some(a)) => e.labels.cmp(&a.labels),
        };
        match ord {
            Ordering::Less => {
                if let (None, Some(e)) = (&first, expected.get(i)) {
                    first = Some(format!("missing series {}", fmt_labels(&e.labels)));
                }
                missing += 1;
                i += 1;
            }
            Ordering::Greater => {
                if let (None, Some(a)) = (&first, actual.get(j)) {
                    first = Some(format!("unexpected series {}", fmt_labels(&a.labels)));
                }
                extra += 1;
                j += 1;
            }
            Ordering::Equal => {
                if let (Some(e), Some(a)) = (expected.get(i), actual.get(j)) {
                    if let Some(diff) = compare_points(&e.points, &a.points, rel_tol) {
                        if first.is_none() {
                            first = Some(format!("{}: {diff}", fmt_labels(&e.labels)));
                        }
                        differing += 1;
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    match first {
        None => Verdict::Same,
        Some(first) => Verdict::Differs(format!(
            "{missing} missing, {extra} unexpected, {differing} with other values (of {} expected series); first: {first}",
            expected.len()
        )),
    }
}

/// Describes the first point that differs, or `None` if the point lists match.
fn compare_points(expected: &[(i64, f64)], actual: &[(i64, f64)], rel_tol: f64) -> Option<String> {
    for (k, (e, a)) in expected.iter().zip(actual).enumerate() {
        if e.0 != a.0 {
            return Some(format!("point {k}: timestamp {} != {}", a.0, e.0));
        }
        if !values_match(e.1, a.1, rel_tol) {
            return Some(format!("at t={}: {} != {}", e.0, a.1, e.1));
        }
    }
    if expected.len() != actual.len() {
        return Some(format!("{} points != {}", actual.len(), expected.len()));
    }
    None
}

/// The steps (timestamps) at which two range answers differ: a step counts when a series has a
/// point there on one side only, or on both sides with values that do not match. `None` unless
/// both answers are matrices (normalised). Empty only if the answers agree at every step.
pub fn differing_steps(
    expected: &QueryResult,
    actual: &QueryResult,
    rel_tol: f64,
) -> Option<BTreeSet<i64>> {
    let (QueryResult::Matrix(expected), QueryResult::Matrix(actual)) = (expected, actual) else {
        return None;
    };
    let mut steps = BTreeSet::new();
    let (mut i, mut j) = (0, 0);
    loop {
        let (e, a) = (expected.get(i), actual.get(j));
        let ord = match (e, a) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(e), Some(a)) => e.labels.cmp(&a.labels),
        };
        match (ord, e, a) {
            (Ordering::Less, Some(e), _) => {
                steps.extend(e.points.iter().map(|p| p.0));
                i += 1;
            }
            (Ordering::Greater, _, Some(a)) => {
                steps.extend(a.points.iter().map(|p| p.0));
                j += 1;
            }
            (Ordering::Equal, Some(e), Some(a)) => {
                differing_points(&e.points, &a.points, rel_tol, &mut steps);
                i += 1;
                j += 1;
            }
            // Unreachable by the match above; stepping both keeps the walk finite regardless.
            _ => {
                i += 1;
                j += 1;
            }
        }
    }
    Some(steps)
}

/// Merge-walks two time-sorted point lists, adding every timestamp present on one side only or
/// with values that do not match.
fn differing_points(
    expected: &[(i64, f64)],
    actual: &[(i64, f64)],
    rel_tol: f64,
    steps: &mut BTreeSet<i64>,
) {
    let (mut i, mut j) = (0, 0);
    loop {
        match (expected.get(i), actual.get(j)) {
            (None, None) => break,
            (Some(e), None) => {
                steps.insert(e.0);
                i += 1;
            }
            (None, Some(a)) => {
                steps.insert(a.0);
                j += 1;
            }
            (Some(e), Some(a)) => match e.0.cmp(&a.0) {
                Ordering::Less => {
                    steps.insert(e.0);
                    i += 1;
                }
                Ordering::Greater => {
                    steps.insert(a.0);
                    j += 1;
                }
                Ordering::Equal => {
                    if !values_match(e.1, a.1, rel_tol) {
                        steps.insert(e.0);
                    }
                    i += 1;
                    j += 1;
                }
            },
        }
    }
}

/// The instant vector a range answer holds at step `t_ms`: every series with a point there,
/// with that one point (still sorted by labels, as the matrix was).
pub fn step_vector(series: &[Series], t_ms: i64) -> QueryResult {
    let at_step = series
        .iter()
        .filter_map(|s| {
            let idx = s.points.binary_search_by_key(&t_ms, |p| p.0).ok()?;
            let point = *s.points.get(idx)?;
            Some(Series {
                labels: s.labels.clone(),
                points: vec![point],
            })
        })
        .collect();
    QueryResult::Vector(at_step)
}

/// How a range answer that differs from the oracle's range answer fared against the oracle's
/// instant answers at the differing steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRecheck {
    /// At every differing step (listed, ascending) the answer equals the oracle's instant answer.
    SameAsInstant(Vec<i64>),
    /// The difference stands; the string says why.
    Differs(String),
}

/// Re-checks the range answer `actual`, which differs from the oracle's range answer
/// `expected`, step by step against the oracle's instant answers `instants` (keyed by step
/// time): each step where the two range answers differ must equal the instant answer at that
/// step exactly as [`compare`] judges it. Gives up (differs) when more than `max_steps` steps
/// differ, when a differing step has no instant answer, or when the answers are not matrices.
///
/// Rule: a range query's step is defined as the instant query at that time; where Prometheus's
/// own two evaluations disagree (a tie broken in Go map order by its range evaluation), an
/// answer equal to its deterministic instant evaluation is Prometheus's answer too. Every
/// step outside the differing ones already equals the range answer, so none is skipped.
pub fn recheck_steps(
    expected: &QueryResult,
    actual: &QueryResult,
    rel_tol: f64,
    max_steps: usize,
    instants: &BTreeMap<i64, QueryResult>,
) -> StepRecheck {
    let Some(steps) = differing_steps(expected, actual, rel_tol) else {
        return StepRecheck::Differs("not two range answers, nothing to re-check".into());
    };
    let QueryResult::Matrix(actual_series) = actual else {
        return StepRecheck::Differs("not a range answer".into());
    };
    if steps.is_empty() {
        return StepRecheck::Differs("no single step differs, yet the answers do".into());
    }
    if steps.len() > max_steps {
        return StepRecheck::Differs(format!(
            "{} steps differ, more than the {max_steps} re-checked",
            steps.len()
        ));
    }
    for &t_ms in &steps {
        let Some(instant) = instants.get(&t_ms) else {
            return StepRecheck::Differs(format!("no instant answer at t={t_ms}"));
        };
        if let Verdict::Differs(why) = compare(instant, &step_vector(actual_series, t_ms), rel_tol)
        {
            return StepRecheck::Differs(format!(
                "at t={t_ms} it differs from the instant answer too: {why}"
            ));
        }
    }
    StepRecheck::SameAsInstant(steps.into_iter().collect())
}

/// `{a="1", b="2"}` for messages.
pub fn fmt_labels(labels: &[(String, String)]) -> String {
    let mut out = String::from("{");
    for (k, (name, value)) in labels.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{name}={value:?}");
    }
    out.push('}');
    out
}

/// The first line of an error message, at most 120 characters, for table cells.
fn short(message: &str) -> String {
    let line = message.lines().next().unwrap_or("");
    line.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(labels: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
        Series::new(
            labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            points.to_vec(),
        )
    }

    fn vector(series: Vec<Series>) -> QueryResult {
        QueryResult::Vector(series).normalise()
    }

    #[test]
    fn value_tolerance_is_relative() {
        assert!(values_match(1.0, 1.0 + 1e-10, 1e-9));
        assert!(!values_match(1.0, 1.0 + 1e-8, 1e-9));
        assert!(values_match(1e12, 1e12 + 100.0, 1e-9));
        assert!(!values_match(1e-12, 2e-12, 1e-9));
        assert!(values_match(f64::NAN, f64::NAN, 1e-9));
        assert!(!values_match(f64::NAN, 0.0, 1e-9));
        assert!(values_match(f64::INFINITY, f64::INFINITY, 1e-9));
        assert!(!values_match(f64::INFINITY, f64::NEG_INFINITY, 1e-9));
        assert!(!values_match(f64::INFINITY, 1e300, 1e-9));
        assert!(values_match(0.0, -0.0, 1e-9));
    }

    #[test]
    fn order_of_series_does_not_matter() {
        let a = vector(vec![
            s(&[("pod", "a")], &[(1000, 1.0)]),
            s(&[("pod", "b")], &[(1000, 2.0)]),
        ]);
        let b = vector(vec![
            s(&[("pod", "b")], &[(1000, 2.0)]),
            s(&[("pod", "a")], &[(1000, 1.0)]),
        ]);
        assert_eq!(compare(&a, &b, 1e-9), Verdict::Same);
    }

    #[test]
    fn label_order_inside_a_series_does_not_matter() {
        let a = vector(vec![s(&[("a", "1"), ("b", "2")], &[(0, 1.0)])]);
        let b = vector(vec![s(&[("b", "2"), ("a", "1")], &[(0, 1.0)])]);
        assert_eq!(compare(&a, &b, 1e-9), Verdict::Same);
    }

    #[test]
    fn missing_extra_and_different_series_are_counted() {
        let expected = vector(vec![
            s(&[("pod", "a")], &[(0, 1.0)]),
            s(&[("pod", "b")], &[(0, 2.0)]),
            s(&[("pod", "c")], &[(0, 3.0)]),
        ]);
        let actual = vector(vec![
            s(&[("pod", "b")], &[(0, 2.5)]),
            s(&[("pod", "c")], &[(0, 3.0)]),
            s(&[("pod", "d")], &[(0, 4.0)]),
        ]);
        let Verdict::Differs(msg) = compare(&expected, &actual, 1e-9) else {
            panic!("expected a difference")
        };
        assert!(
            msg.starts_with("1 missing, 1 unexpected, 1 with other values (of 3 expected series)"),
            "{msg}"
        );
        assert!(msg.contains(r#"missing series {pod="a"}"#), "{msg}");
    }

    #[test]
    fn a_differing_value_within_tolerance_is_the_same() {
        let expected = vector(vec![s(&[("pod", "a")], &[(0, 0.1 + 0.2)])]);
        let actual = vector(vec![s(&[("pod", "a")], &[(0, 0.3)])]);
        assert_eq!(compare(&expected, &actual, 1e-9), Verdict::Same);
        assert!(!compare(&expected, &actual, 0.0).is_same());
    }

    #[test]
    fn matrix_points_are_compared_by_time_and_count() {
        let expected = QueryResult::Matrix(vec![s(&[("x", "1")], &[(0, 1.0), (60_000, 2.0)])]);
        let shifted = QueryResult::Matrix(vec![s(&[("x", "1")], &[(0, 1.0), (61_000, 2.0)])]);
        let shorter = QueryResult::Matrix(vec![s(&[("x", "1")], &[(0, 1.0)])]);
        let Verdict::Differs(msg) = compare(&expected, &shifted, 1e-9) else {
            panic!("timestamps differ")
        };
        assert!(msg.contains("point 1: timestamp 61000 != 60000"), "{msg}");
        let Verdict::Differs(msg) = compare(&expected, &shorter, 1e-9) else {
            panic!("lengths differ")
        };
        assert!(msg.contains("1 points != 2"), "{msg}");
        assert_eq!(compare(&expected, &expected.clone(), 1e-9), Verdict::Same);
    }

    #[test]
    fn errors_agree_with_errors_only() {
        let err = QueryResult::Error("many-to-many matching not allowed".into());
        let other_err = QueryResult::Error("found duplicate series for the match group".into());
        let ok = vector(vec![]);
        assert_eq!(compare(&err, &other_err, 1e-9), Verdict::Same);
        let Verdict::Differs(msg) = compare(&err, &ok, 1e-9) else {
            panic!("error vs ok")
        };
        assert!(msg.contains("oracle failed (many-to-many"), "{msg}");
        assert!(!compare(&ok, &err, 1e-9).is_same());
    }

    #[test]
    fn result_types_must_match() {
        let v = vector(vec![]);
        let m = QueryResult::Matrix(vec![]);
        let Verdict::Differs(msg) = compare(&v, &m, 1e-9) else {
            panic!("types differ")
        };
        assert_eq!(msg, "result type matrix != vector");
        assert!(!compare(
            &QueryResult::Scalar(0, 1.0),
            &QueryResult::Scalar(1, 1.0),
            1e-9
        )
        .is_same());
        assert!(compare(
            &QueryResult::Scalar(0, 1.0),
            &QueryResult::Scalar(0, 1.0),
            1e-9
        )
        .is_same());
    }

    fn matrix(series: Vec<Series>) -> QueryResult {
        QueryResult::Matrix(series).normalise()
    }

    /// The tie of the churn shape: pod `p` has a series on node `n1` and, after it moved, one on
    /// `n2`; `topk by (pod) (1, ...)` keeps one of the two at t=60,000 where both tie at 1.
    /// Prometheus's range evaluation kept `n2` there, its instant evaluation `n1`.
    fn tie() -> (QueryResult, QueryResult) {
        let prometheus_range = matrix(vec![
            s(&[("node", "n1"), ("pod", "p")], &[(0, 1.0)]),
            s(
                &[("node", "n2"), ("pod", "p")],
                &[(60_000, 1.0), (120_000, 1.0)],
            ),
        ]);
        let engine_range = matrix(vec![
            s(&[("node", "n1"), ("pod", "p")], &[(0, 1.0), (60_000, 1.0)]),
            s(&[("node", "n2"), ("pod", "p")], &[(120_000, 1.0)]),
        ]);
        (prometheus_range, engine_range)
    }

    fn instants(at: &[(i64, QueryResult)]) -> BTreeMap<i64, QueryResult> {
        at.iter().cloned().collect()
    }

    #[test]
    fn differing_steps_are_one_sided_points_and_values_outside_tolerance() {
        let (prometheus_range, engine_range) = tie();
        assert_eq!(
            differing_steps(&prometheus_range, &engine_range, 1e-9),
            Some(BTreeSet::from([60_000]))
        );
        let expected = matrix(vec![
            s(&[("x", "1")], &[(0, 1.0), (60_000, 2.0), (120_000, 3.0)]),
            s(&[("x", "2")], &[(60_000, 5.0)]),
        ]);
        let actual = matrix(vec![
            s(
                &[("x", "1")],
                &[(0, 1.0 + 1e-12), (60_000, 2.5), (180_000, 4.0)],
            ),
            s(&[("x", "3")], &[(240_000, 5.0)]),
        ]);
        assert_eq!(
            differing_steps(&expected, &actual, 1e-9),
            Some(BTreeSet::from([60_000, 120_000, 180_000, 240_000]))
        );
        assert_eq!(
            differing_steps(&expected, &expected.clone(), 1e-9),
            Some(BTreeSet::new())
        );
        assert_eq!(differing_steps(&vector(vec![]), &actual, 1e-9), None);
    }

    #[test]
    fn step_vector_takes_the_point_at_the_step() {
        let (_, engine_range) = tie();
        let QueryResult::Matrix(series) = &engine_range else {
            unreachable!("tie() builds matrices")
        };
        assert_eq!(
            step_vector(series, 60_000),
            vector(vec![s(&[("node", "n1"), ("pod", "p")], &[(60_000, 1.0)])])
        );
        assert_eq!(step_vector(series, 30_000), vector(vec![]));
    }

    #[test]
    fn a_differing_step_equal_to_the_instant_answer_is_same_as_instant() {
        let (prometheus_range, engine_range) = tie();
        let oracle = instants(&[(
            60_000,
            vector(vec![s(&[("node", "n1"), ("pod", "p")], &[(60_000, 1.0)])]),
        )]);
        assert_eq!(
            recheck_steps(&prometheus_range, &engine_range, 1e-9, 200, &oracle),
            StepRecheck::SameAsInstant(vec![60_000])
        );
    }

    #[test]
    fn a_differing_step_that_matches_neither_answer_differs() {
        let (prometheus_range, _) = tie();
        // The engine kept both tied series at t=60,000: neither Prometheus answer has that.
        let engine_range = matrix(vec![
            s(&[("node", "n1"), ("pod", "p")], &[(0, 1.0), (60_000, 1.0)]),
            s(
                &[("node", "n2"), ("pod", "p")],
                &[(60_000, 1.0), (120_000, 1.0)],
            ),
        ]);
        let oracle = instants(&[(
            60_000,
            vector(vec![s(&[("node", "n1"), ("pod", "p")], &[(60_000, 1.0)])]),
        )]);
        let StepRecheck::Differs(why) =
            recheck_steps(&prometheus_range, &engine_range, 1e-9, 200, &oracle)
        else {
            panic!("an answer unlike both of Prometheus's was accepted")
        };
        assert!(
            why.starts_with(
                "at t=60000 it differs from the instant answer too: 0 missing, 1 unexpected"
            ),
            "{why}"
        );
        // A value off by more than the tolerance at the step differs as well.
        let (_, engine_range) = tie();
        let off = instants(&[(
            60_000,
            vector(vec![s(&[("node", "n1"), ("pod", "p")], &[(60_000, 1.5)])]),
        )]);
        assert!(matches!(
            recheck_steps(&prometheus_range, &engine_range, 1e-9, 200, &off),
            StepRecheck::Differs(_)
        ));
    }

    #[test]
    fn recheck_gives_up_without_an_instant_answer_or_beyond_the_step_bound() {
        let (prometheus_range, engine_range) = tie();
        let StepRecheck::Differs(why) = recheck_steps(
            &prometheus_range,
            &engine_range,
            1e-9,
            200,
            &BTreeMap::new(),
        ) else {
            panic!("accepted without an instant answer")
        };
        assert_eq!(why, "no instant answer at t=60000");
        let oracle = instants(&[(
            60_000,
            vector(vec![s(&[("node", "n1"), ("pod", "p")], &[(60_000, 1.0)])]),
        )]);
        let StepRecheck::Differs(why) =
            recheck_steps(&prometheus_range, &engine_range, 1e-9, 0, &oracle)
        else {
            panic!("accepted beyond the step bound")
        };
        assert_eq!(why, "1 steps differ, more than the 0 re-checked");
        let error = QueryResult::Error("bad".into());
        assert!(matches!(
            recheck_steps(&prometheus_range, &error, 1e-9, 200, &oracle),
            StepRecheck::Differs(_)
        ));
    }
}
