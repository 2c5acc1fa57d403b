//! Binary operators: scalar/scalar, vector/scalar and vector/vector with one-to-one,
//! many-to-one and one-to-many matching, and the set operators `and`, `or`, `unless`.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use promlite_model::{LabelRef, Labels, Sample, METRIC_NAME};
use promlite_promql::ast::{Binary, BinaryOp, Cardinality};

use crate::error::{Error, Result};
use rayon::prelude::*;

use crate::evaluator::{Deadline, Evaluator};
use crate::plan::JoinPlan;
use crate::series::{
    match_labels, Grid, OutBuilder, PrehashedHasher, Series, SigTable, StepCursor, Val,
};

pub(crate) fn eval_binary(ev: &mut Evaluator<'_>, b: &Binary, grid: &Grid) -> Result<Val> {
    // Rule: concurrency changes only when each side runs; `eval_pair` returns the sequential
    // outcome (left error first, annotations left then right), so it cannot change the answer
    // or the error.
    let mut join = ev.plan.join(b);
    if join == JoinPlan::Pushdown && ev.opts.parallel {
        // Rule: pushdown and concurrent sides both give the sequential outcome (see
        // `crate::join_cost`), so the storage estimate decides only which is faster.
        join = choose_by_estimate(ev, b, grid);
    } else if join == JoinPlan::Concurrent && ev.opts.parallel && !worth_a_handoff(ev, b) {
        // Rule: as above; sequential sides are the outcome `eval_pair` reproduces.
        join = JoinPlan::Sequential;
    }
    let concurrent = join == JoinPlan::Concurrent;
    let pushed = if join == JoinPlan::Pushdown {
        crate::pushdown::eval_binary_pushdown(ev, b, grid)?
    } else {
        None
    };
    let (lhs, rhs) = match pushed {
        Some(pair) => pair,
        None if concurrent => ev.eval_pair(&b.lhs, &b.rhs, grid)?,
        None => (ev.eval(&b.lhs, grid)?, ev.eval(&b.rhs, grid)?),
    };
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
            l.iter()
                .zip(r.iter())
                .map(|(&x, &y)| scalar_binop(b.op, x, y))
                .collect(),
        )),
        (Val::Vector(l), Val::Scalar(r)) => Ok(Val::Vector(vector_scalar(b, l, &r, false, grid))),
        (Val::Scalar(l), Val::Vector(r)) => Ok(Val::Vector(vector_scalar(b, r, &l, true, grid))),
        (Val::Vector(l), Val::Vector(r)) => {
            if b.op.is_set() {
                Ok(Val::Vector(set_op(ev, b, l, r, grid)?))
            } else {
                Ok(Val::Vector(vector_vector(ev, b, l, r, grid)?))
            }
        }
        (l, r) => Err(Error::BadQuery(format!(
            "binary expression must contain only scalar and instant vector types, got {} {} {}",
            l.type_name(),
            b.op.as_str(),
            r.type_name()
        ))),
    }
}

/// Pushdown or concurrent sides for a join the plan would push keys across, by the storage
/// estimate of how much the keys would filter (`crate::join_cost`), reported for `--explain`.
fn choose_by_estimate(ev: &mut Evaluator<'_>, b: &Binary, grid: &Grid) -> JoinPlan {
    let Some(estimate) = crate::join_cost::estimate_join(ev, b) else {
        ev.decide(|| "join keys pushed: storage has no estimate of the sides".into());
        return JoinPlan::Pushdown;
    };
    // A side spreads its per-series work over the threads only over many steps (range
    // functions, aggregations and joins split by series or by steps there); an instant query's
    // label_replace, joins and aggregations run on one thread per side.
    let spread_min_series = if grid.len() >= 2 * MIN_STEPS_PER_PART {
        Some(ev.opts.parallel_min_series)
    } else {
        None
    };
    if estimate.concurrent_is_cheaper(
        rayon::current_num_threads(),
        spread_min_series,
        ev.opts.concurrent_min_series,
    ) {
        ev.decide(|| {
            format!(
                "join sides evaluated concurrently instead of pushing keys: {} (keys would filter too little)",
                estimate.describe()
            )
        });
        JoinPlan::Concurrent
    } else {
        ev.decide(|| format!("join keys pushed: {}", estimate.describe()));
        JoinPlan::Pushdown
    }
}

/// For a join planned concurrent (its one side's keys would filter little): false if storage
/// estimates the smaller side too small to pay for handing it to another thread, i.e. it has
/// fewer than `concurrent_min_series` series (`crate::join_cost`: with nothing filtered,
/// running the sides at once saves at most the smaller side's time). The sides then run one
/// after the other. No estimate keeps the plan.
fn worth_a_handoff(ev: &mut Evaluator<'_>, b: &Binary) -> bool {
    let Some(estimate) = crate::join_cost::estimate_join(ev, b) else {
        return true;
    };
    let smaller = estimate.n_one.min(estimate.n_many);
    if smaller >= ev.opts.concurrent_min_series as u64 {
        return true;
    }
    ev.decide(|| {
        format!(
            "join sides evaluated one after the other: too small to pay for a thread handoff ({} one-side series, {} many-side)",
            estimate.n_one, estimate.n_many
        )
    });
    false
}

/// True for operators whose result is a different quantity than the operands (the metric
/// name goes).
fn changes_metric_schema(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Pow
            | BinaryOp::Mod
            | BinaryOp::Atan2
    )
}

fn btos(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Scalar/scalar operation (comparisons always return 0 or 1).
pub(crate) fn scalar_binop(op: BinaryOp, l: f64, r: f64) -> f64 {
    match op {
        BinaryOp::Eql => btos(l == r),
        BinaryOp::Neq => btos(l != r),
        BinaryOp::Gtr => btos(l > r),
        BinaryOp::Lss => btos(l < r),
        BinaryOp::Gte => btos(l >= r),
        BinaryOp::Lte => btos(l <= r),
        _ => elem_binop(op, l, r).0,
    }
}

/// One element operation: the value, and whether to keep it (comparisons filter).
#[inline]
pub(crate) fn elem_binop(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinaryOp::Add => (l + r, true),
        BinaryOp::Sub => (l - r, true),
        BinaryOp::Mul => (l * r, true),
        BinaryOp::Div => (l / r, true),
        BinaryOp::Pow => (l.powf(r), true),
        BinaryOp::Mod => (l % r, true),
        BinaryOp::Atan2 => (l.atan2(r), true),
        BinaryOp::Eql => (l, l == r),
        BinaryOp::Neq => (l, l != r),
        BinaryOp::Gtr => (l, l > r),
        BinaryOp::Lss => (l, l < r),
        BinaryOp::Gte => (l, l >= r),
        BinaryOp::Lte => (l, l <= r),
        // Set operators never reach element arithmetic.
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => (l, false),
    }
}

fn vector_scalar(
    b: &Binary,
    series: Vec<Series>,
    scalar: &[f64],
    swap: bool,
    grid: &Grid,
) -> Vec<Series> {
    let drops = changes_metric_schema(b.op) || b.return_bool;
    let mut out = Vec::with_capacity(series.len());
    for mut s in series {
        s.points.retain_mut(|p| {
            let sv = scalar.get(grid.index(p.t)).copied().unwrap_or(f64::NAN);
            let (lf, rf) = if swap { (sv, p.v) } else { (p.v, sv) };
            let (mut v, mut keep) = elem_binop(b.op, lf, rf);
            if b.op.is_comparison() && swap {
                v = rf;
            }
            if b.return_bool {
                v = btos(keep);
                keep = true;
            }
            p.v = v;
            keep
        });
        if s.points.is_empty() {
            continue;
        }
        if drops {
            s.drop_name = true;
        }
        out.push(s);
    }
    out
}

/// The signature configuration of a vector/vector operation: `on` and the label names.
fn matching_of(b: &Binary) -> (bool, Vec<String>) {
    match &b.matching.labels {
        Some(m) => (m.on, m.names.clone()),
        None => (false, Vec::new()),
    }
}

/// Lists `(series index, value)` of the series that have a point at `t`.
fn gather(series: &[Series], cursor: &mut StepCursor, t: i64, out: &mut Vec<(usize, f64)>) {
    out.clear();
    for i in 0..series.len() {
        if let Some(v) = cursor.at(series, i, t) {
            out.push((i, v));
        }
    }
}

/// The signature of a set-operation series that cannot match any series on the other side.
const NO_MATCH: usize = usize::MAX;

/// The number of labels of `s` other than `__name__`.
fn plain_label_count(s: &Series) -> usize {
    s.labels.len() - usize::from(s.labels.has(METRIC_NAME))
}

/// `present[n]` is true if `n` occurs in `counts`.
fn count_set(counts: &[usize]) -> Vec<bool> {
    let mut present = vec![false; counts.iter().max().map_or(0, |&m| m + 1)];
    for &n in counts {
        if let Some(p) = present.get_mut(n) {
            *p = true;
        }
    }
    present
}

fn set_op(
    ev: &mut Evaluator<'_>,
    b: &Binary,
    lhs: Vec<Series>,
    rhs: Vec<Series>,
    grid: &Grid,
) -> Result<Vec<Series>> {
    let (on, names) = matching_of(b);
    let mut sigs = SigTable::new(on, &names);
    sigs.reserve(lhs.len() + rhs.len());
    // Under the default matching a signature is every label but `__name__`, so two series can
    // only match with as many such labels. A series whose count no series on the other side has
    // gets `NO_MATCH` (which indexes nothing in `present`) instead of a signature, sparing its
    // serialisation and hash: `x or kube_pod_owner` skips every right-hand series this way when
    // the left side carries fewer labels.
    // Rule: a series whose label count no series on the other side has cannot match under the
    // default matching, so skipping its signature cannot change the answer; set operations
    // raise no errors. Part of the fast path (off with `--no-fast-path`).
    let plain = ev.plan.set_op_counts(b);
    let counts = |side: &[Series]| -> Vec<usize> {
        if plain {
            side.iter().map(plain_label_count).collect()
        } else {
            Vec::new()
        }
    };
    let (lcounts, rcounts) = (counts(&lhs), counts(&rhs));
    let (lpresent, rpresent) = (count_set(&lcounts), count_set(&rcounts));
    let mut signatures = |side: &[Series], own: &[usize], other: &[bool]| -> Vec<usize> {
        side.iter()
            .enumerate()
            .map(|(i, s)| {
                let can_match = !plain || own.get(i).is_some_and(|&n| other.get(n) == Some(&true));
                if can_match {
                    sigs.ordinal(&s.labels)
                } else {
                    NO_MATCH
                }
            })
            .collect()
    };
    let lsig = signatures(&lhs, &lcounts, &rpresent);
    let rsig = signatures(&rhs, &rcounts, &lpresent);
    let mut present = vec![false; sigs.count];
    let mut out = OutBuilder::new(grid);
    let mut lslot: Vec<Option<usize>> = vec![None; lhs.len()];
    let mut rslot: Vec<Option<usize>> = vec![None; rhs.len()];
    let (mut lcur, mut rcur) = (StepCursor::new(lhs.len()), StepCursor::new(rhs.len()));
    let (mut lnow, mut rnow) = (Vec::new(), Vec::new());
    for (k, t) in grid.times().enumerate() {
        if k % 64 == 0 {
            ev.check_deadline("expression evaluation")?;
        }
        gather(&lhs, &mut lcur, t, &mut lnow);
        gather(&rhs, &mut rcur, t, &mut rnow);
        let mut emit =
            |side_series: &[Series], slots: &mut [Option<usize>], i: usize, v: f64| -> Result<()> {
                let Some(s) = side_series.get(i) else {
                    return Ok(());
                };
                let slot = match slots.get(i).copied().flatten() {
                    Some(slot) => slot,
                    None => {
                        let slot = out.slot(s.labels.clone(), s.drop_name);
                        if let Some(x) = slots.get_mut(i) {
                            *x = Some(slot);
                        }
                        slot
                    }
                };
                out.push(slot, t, v)
            };
        match b.op {
            BinaryOp::And | BinaryOp::Unless => {
                let want = b.op == BinaryOp::And;
                if want && rnow.is_empty() {
                    continue;
                }
                for &(j, _) in &rnow {
                    if let Some(p) = rsig.get(j).and_then(|&o| present.get_mut(o)) {
                        *p = true;
                    }
                }
                for &(i, v) in &lnow {
                    let hit = lsig
                        .get(i)
                        .and_then(|&o| present.get(o))
                        .copied()
                        .unwrap_or(false);
                    if hit == want {
                        emit(&lhs, &mut lslot, i, v)?;
                    }
                }
                for &(j, _) in &rnow {
                    if let Some(p) = rsig.get(j).and_then(|&o| present.get_mut(o)) {
                        *p = false;
                    }
                }
            }
            _ => {
                // `or`: everything on the left, plus right-hand series whose signature is absent
                // on the left at this step.
                for &(i, v) in &lnow {
                    if let Some(p) = lsig.get(i).and_then(|&o| present.get_mut(o)) {
                        *p = true;
                    }
                    emit(&lhs, &mut lslot, i, v)?;
                }
                for &(j, v) in &rnow {
                    let hit = rsig
                        .get(j)
                        .and_then(|&o| present.get(o))
                        .copied()
                        .unwrap_or(false);
                    if !hit {
                        emit(&rhs, &mut rslot, j, v)?;
                    }
                }
                for &(i, _) in &lnow {
                    if let Some(p) = lsig.get(i).and_then(|&o| present.get_mut(o)) {
                        *p = false;
                    }
                }
            }
        }
    }
    Ok(out.finish())
}

/// The result labels of a matched pair (Prometheus's `resultMetric`): `many` is the side whose
/// labels are kept, `one` supplies `group_x(...)` include labels.
fn result_labels(
    many: &Labels,
    one: &Labels,
    b: &Binary,
    card: Cardinality,
    on: bool,
    names: &[String],
) -> Labels {
    let drop_name = changes_metric_schema(b.op);
    let one_to_one = card == Cardinality::OneToOne;
    let include: &[String] = b.matching.group.as_ref().map_or(&[], |g| &g.include);
    // `group_x(...)` labels are borrowed from the one side, not copied; a name the one side
    // lacks is removed (an empty value in `set`).
    let mut set: Vec<LabelRef<'_>> = include
        .iter()
        .map(|name| LabelRef {
            name,
            value: one.get(name).unwrap_or(""),
        })
        .collect();
    set.sort_unstable_by(|x, y| x.name.cmp(y.name));
    set.dedup_by(|x, y| x.name == y.name);
    let keep = |l: LabelRef<'_>| {
        if drop_name && l.name == METRIC_NAME {
            return false;
        }
        if one_to_one {
            let listed = names.iter().any(|n| n == l.name);
            return listed == on;
        }
        true
    };
    many.edited(keep, &set)
}

fn vector_vector(
    ev: &mut Evaluator<'_>,
    b: &Binary,
    lhs: Vec<Series>,
    rhs: Vec<Series>,
    grid: &Grid,
) -> Result<Vec<Series>> {
    let (on, names) = matching_of(b);
    let card = b.cardinality();
    let mut sigs = SigTable::new(on, &names);
    sigs.reserve(lhs.len() + rhs.len());
    let lsig: Vec<usize> = lhs.iter().map(|s| sigs.ordinal(&s.labels)).collect();
    let rsig: Vec<usize> = rhs.iter().map(|s| sigs.ordinal(&s.labels)).collect();
    // For one-to-many, swap sides so the "many" side is always iterated and the "one" side is
    // looked up; values are swapped back for the operation.
    let swapped = card == Cardinality::OneToMany;
    let (many, one, many_sig, one_sig) = if swapped {
        (&rhs, &lhs, &rsig, &lsig)
    } else {
        (&lhs, &rhs, &lsig, &rsig)
    };
    let join = Join {
        b,
        on,
        names: &names,
        card,
        swapped,
        many,
        one,
        many_sig,
        one_sig,
        n_sigs: sigs.count,
        one_side_name: if swapped { "left" } else { "right" },
        grid,
        deadline: ev.deadline(),
    };
    let n_steps = grid.len();
    if n_steps > 1 && ev.plan.series_major(b) {
        match join.by_series(ev.parallel(many.len()))? {
            Ok(out) => {
                ev.decide(|| {
                    format!(
                        "vector matching walked series by series: {} output series",
                        out.len()
                    )
                });
                return Ok(out);
            }
            Err(why) => ev.decide(|| format!("vector matching walked step by step: {why}")),
        }
    }
    let parts = rayon::current_num_threads().min(n_steps / MIN_STEPS_PER_PART);
    if parts < 2 || !ev.parallel(many.len()) {
        return join.steps(0..n_steps).map(OutBuilder::finish);
    }
    // Steps are independent, so contiguous step ranges are joined in parallel. The first error
    // in step order is the first error of the earliest range that has one, as sequentially;
    // outputs are concatenated range by range, which keeps first-seen series order and time
    // order within each series.
    let per = n_steps.div_ceil(parts);
    let ranges: Vec<std::ops::Range<usize>> = (0..parts)
        .map(|p| (p * per).min(n_steps)..((p + 1) * per).min(n_steps))
        .collect();
    let results: Vec<Result<OutBuilder>> = ranges.into_par_iter().map(|r| join.steps(r)).collect();
    let mut merged: Option<OutBuilder> = None;
    for r in results {
        let part = r?;
        merged = Some(match merged {
            None => part,
            Some(mut acc) => {
                acc.append(part)?;
                acc
            }
        });
    }
    Ok(merged.map(OutBuilder::finish).unwrap_or_default())
}

/// Joins shorter than this many steps per part are not split.
const MIN_STEPS_PER_PART: usize = 16;

/// Everything a vector-vector join needs, shared by the workers of a split join.
struct Join<'a> {
    b: &'a Binary,
    on: bool,
    names: &'a [String],
    card: Cardinality,
    swapped: bool,
    many: &'a [Series],
    one: &'a [Series],
    many_sig: &'a [usize],
    one_sig: &'a [usize],
    n_sigs: usize,
    one_side_name: &'static str,
    grid: &'a Grid,
    deadline: Deadline,
}

/// One many-side series matched with one one-side series by [`Join::by_series`].
struct Paired {
    /// The pair's signature ordinal.
    sig: usize,
    /// The first step at which both have a point (where the step walk creates the output
    /// series, whether or not a comparison keeps the point).
    first_t: i64,
    labels: Labels,
    /// `labels.table_hash()`.
    hash: u64,
    points: Vec<Sample>,
}

/// The one side of a signature, for [`Join::by_series`].
enum Partners {
    None,
    /// One series.
    One(usize),
    /// Several series, no two with a point at the same step: their points merged in time
    /// order, each with its series' index.
    Turns(Vec<(i64, f64, usize)>),
}

/// What a many-side series met of one one-side series, while [`Join::pair`] walks.
struct Meeting {
    one: usize,
    first_t: i64,
    points: Vec<Sample>,
}

impl Join<'_> {
    /// The whole join walked series by series: each many-side series' points are merged with
    /// those of its signature's one side, so each output series is written in one go instead
    /// of one point per step across all of them (the step walk's cursors touch every series at
    /// every step, which over a range grid is bound by cache misses). `Err` gives why the walk
    /// declined, before or after walking; [`Join::steps`] then does the join.
    ///
    /// Rule: it runs only where no match can fail, so its answer is the step walk's and there
    /// is no error to reproduce (apart from the deadline's):
    /// - no two one-side series of a signature have a point at the same step (one series, or
    ///   several that take turns, as `topk by (...) (1, ...)` gives when a pod moves node), so
    ///   no step sees a duplicate one side and a many-side series meets at most one partner
    ///   per step;
    /// - the result label sets of all (many-side, one-side) pairs that meet are pairwise
    ///   distinct (by hash; a collision only declines), so no `group_x` step sees two equal
    ///   results and no output series receives points from two pairs;
    /// - one-to-one, no two pairs share a signature.
    ///
    /// The step walk creates an output series at the first step its pair matches, in many-side
    /// order within a step; sorting the pairs by (first matched step, many-side index) gives the
    /// same series order, which `limitk` and float sums downstream read. Points follow time
    /// order within a series as in the step walk.
    fn by_series(&self, parallel: bool) -> Result<std::result::Result<Vec<Series>, &'static str>> {
        // Each signature's one-side series: the first, and any others after it.
        let mut first_of: Vec<Option<usize>> = vec![None; self.n_sigs];
        let mut others: Vec<(usize, usize)> = Vec::new();
        for (j, &o) in self.one_sig.iter().enumerate() {
            match first_of.get_mut(o) {
                Some(slot @ None) => *slot = Some(j),
                Some(Some(_)) => others.push((o, j)),
                None => {}
            }
        }
        let mut partners: Vec<Partners> = first_of
            .iter()
            .map(|first| first.map_or(Partners::None, Partners::One))
            .collect();
        // Several series of one signature: merged into one timeline, or a decline if two meet.
        others.sort_unstable();
        for group in others.chunk_by(|a, b| a.0 == b.0) {
            let Some(&(o, _)) = group.first() else {
                continue;
            };
            let first = first_of.get(o).copied().flatten();
            let mut timeline = Vec::new();
            for j in first.into_iter().chain(group.iter().map(|&(_, j)| j)) {
                let Some(os) = self.one.get(j) else { continue };
                timeline.extend(os.points.iter().map(|q| (q.t, q.v, j)));
            }
            timeline.sort_by_key(|&(t, _, _)| t);
            if timeline.windows(2).any(|w| w[0].0 == w[1].0) {
                return Ok(Err("two one-side series of a signature meet at a step"));
            }
            if let Some(p) = partners.get_mut(o) {
                *p = Partners::Turns(timeline);
            }
        }
        let pairs: Vec<usize> = (0..self.many.len())
            .filter(|&i| {
                self.many_sig
                    .get(i)
                    .and_then(|&o| partners.get(o))
                    .is_some_and(|p| !matches!(p, Partners::None))
            })
            .collect();
        let walk = |(n, &i): (usize, &usize)| -> Result<Vec<Paired>> {
            if n.is_multiple_of(64) {
                self.deadline.check("expression evaluation")?;
            }
            let o = self.many_sig.get(i).copied().unwrap_or(usize::MAX);
            Ok(match partners.get(o) {
                Some(Partners::One(j)) => {
                    let one = self.one.get(*j).map_or(&[][..], |s| &s.points[..]);
                    self.pair(i, o, one.iter().map(|q| (q.t, q.v, *j)))
                }
                Some(Partners::Turns(timeline)) => self.pair(i, o, timeline.iter().copied()),
                _ => Vec::new(),
            })
        };
        let walked: Vec<Vec<Paired>> = if parallel {
            pairs
                .par_iter()
                .enumerate()
                .map(walk)
                .collect::<Result<_>>()?
        } else {
            pairs.iter().enumerate().map(walk).collect::<Result<_>>()?
        };
        let mut paired: Vec<Paired> = walked.into_iter().flatten().collect();
        let mut hashes: HashSet<u64, BuildHasherDefault<PrehashedHasher>> = HashSet::default();
        hashes.reserve(paired.len());
        let mut sig_taken = vec![false; self.n_sigs];
        for p in &paired {
            if !hashes.insert(p.hash) {
                return Ok(Err("two matched series have equal result labels"));
            }
            if self.card == Cardinality::OneToOne {
                match sig_taken.get_mut(p.sig) {
                    Some(taken) if *taken => {
                        return Ok(Err("two matched left-hand series share a signature"))
                    }
                    Some(taken) => *taken = true,
                    None => {}
                }
            }
        }
        // Stable: the pairs are in many-side order already, and one many-side series' pairs
        // have distinct first steps.
        paired.sort_by_key(|p| p.first_t);
        Ok(Ok(paired
            .into_iter()
            .filter(|p| !p.points.is_empty())
            .map(|p| Series {
                labels: p.labels,
                drop_name: self.b.return_bool,
                points: p.points,
            })
            .collect()))
    }

    /// Many-side series `i` (of signature `sig`) matched at every step where it and the one
    /// side (`(t, value, one-side index)` in time order, at most one per step) have a point:
    /// one [`Paired`] per one-side series it meets, in the order it first meets them.
    fn pair(
        &self,
        i: usize,
        sig: usize,
        one: impl Iterator<Item = (i64, f64, usize)>,
    ) -> Vec<Paired> {
        let Some(ms) = self.many.get(i) else {
            return Vec::new();
        };
        let mp = &ms.points;
        let b = self.b;
        let mut meetings: Vec<Meeting> = Vec::new();
        // The meeting of the previous match: partners change rarely.
        let mut current = usize::MAX;
        let mut x = 0;
        let mut one = one.peekable();
        while let (Some(p), Some(&(qt, qv, j))) = (mp.get(x), one.peek()) {
            if p.t < qt {
                x += 1;
                continue;
            }
            if p.t > qt {
                one.next();
                continue;
            }
            if meetings.get(current).is_none_or(|m| m.one != j) {
                current = match meetings.iter().position(|m| m.one == j) {
                    Some(k) => k,
                    None => {
                        meetings.push(Meeting {
                            one: j,
                            first_t: p.t,
                            points: Vec::with_capacity(mp.len() - x),
                        });
                        meetings.len() - 1
                    }
                };
            }
            let (fl, fr) = if self.swapped { (qv, p.v) } else { (p.v, qv) };
            let (mut value, keep) = elem_binop(b.op, fl, fr);
            if b.return_bool {
                value = btos(keep);
            }
            if keep || b.return_bool {
                if let Some(m) = meetings.get_mut(current) {
                    m.points.push(Sample::new(p.t, value));
                }
            }
            x += 1;
            one.next();
        }
        meetings
            .into_iter()
            .filter_map(|m| {
                let os = self.one.get(m.one)?;
                let labels =
                    result_labels(&ms.labels, &os.labels, b, self.card, self.on, self.names);
                Some(Paired {
                    sig,
                    first_t: m.first_t,
                    hash: labels.table_hash(),
                    labels,
                    points: m.points,
                })
            })
            .collect()
    }

    /// Joins the grid steps with indices in `steps`.
    fn steps(&self, steps: std::ops::Range<usize>) -> Result<OutBuilder> {
        let Join {
            b,
            on,
            names,
            card,
            swapped,
            many,
            one,
            many_sig,
            one_sig,
            one_side_name,
            grid,
            ..
        } = *self;
        let mut one_at: Vec<Option<(usize, f64)>> = vec![None; self.n_sigs];
        // One-to-one: the step at which a signature was last matched.
        let mut matched_step: Vec<usize> = vec![usize::MAX; self.n_sigs];
        // (signature, result label hash) pairs already produced at this step; the label hash
        // is a good hash already, so the set does not rehash it.
        let mut matched_sets: HashSet<(usize, u64), BuildHasherDefault<PrehashedHasher>> =
            HashSet::default();
        // The last (one-side index, result labels, their hash, output slot) each many-side
        // series produced; matches are usually stable across steps.
        let mut pair_cache: Vec<Option<(usize, Labels, u64, usize)>> = vec![None; many.len()];
        let mut out = OutBuilder::new(grid);
        let (mut mcur, mut ocur) = (StepCursor::new(many.len()), StepCursor::new(one.len()));
        let (mut mnow, mut onow) = (Vec::new(), Vec::new());

        for k in steps.clone() {
            let t = grid.t(k);
            if (k - steps.start).is_multiple_of(64) {
                self.deadline.check("expression evaluation")?;
            }
            gather(many, &mut mcur, t, &mut mnow);
            gather(one, &mut ocur, t, &mut onow);
            if mnow.is_empty() || onow.is_empty() {
                continue;
            }
            for &(j, v) in &onow {
                let Some(&o) = one_sig.get(j) else { continue };
                let Some(slot) = one_at.get_mut(o) else {
                    continue;
                };
                if let Some((prev, _)) = *slot {
                    let (Some(a), Some(c)) = (one.get(j), one.get(prev)) else {
                        continue;
                    };
                    let matched = match_labels(&a.labels, on, names);
                    let (mut d1, mut d2) = (a.labels.to_string(), c.labels.to_string());
                    if d1 > d2 {
                        std::mem::swap(&mut d1, &mut d2);
                    }
                    return Err(Error::Execution(format!(
                        "found duplicate series for the match group {matched} on the {one_side_name} hand-side of the operation: [{d1}, {d2}];many-to-many matching not allowed: matching labels must be unique on one side"
                    )));
                }
                *slot = Some((j, v));
            }
            matched_sets.clear();
            for &(i, v) in &mnow {
                let Some(&o) = many_sig.get(i) else { continue };
                let Some((j, rv)) = one_at.get(o).copied().flatten() else {
                    continue;
                };
                let (fl, fr) = if swapped { (rv, v) } else { (v, rv) };
                let (mut value, keep) = elem_binop(b.op, fl, fr);
                if b.return_bool {
                    value = btos(keep);
                }
                let cached = match pair_cache.get(i) {
                    Some(Some((cj, _, hash, slot))) if *cj == j => Some((*hash, *slot)),
                    _ => None,
                };
                let entry = match cached {
                    Some(e) => e,
                    None => {
                        let (Some(ms), Some(os)) = (many.get(i), one.get(j)) else {
                            continue;
                        };
                        let labels = result_labels(&ms.labels, &os.labels, b, card, on, names);
                        let hash = labels.table_hash();
                        let slot = out.slot(labels.clone(), b.return_bool);
                        if let Some(c) = pair_cache.get_mut(i) {
                            *c = Some((j, labels, hash, slot));
                        }
                        (hash, slot)
                    }
                };
                if card == Cardinality::OneToOne {
                    if let Some(m) = matched_step.get_mut(o) {
                        if *m == k {
                            return Err(Error::Execution(
                                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                                    .into(),
                            ));
                        }
                        *m = k;
                    }
                } else if !matched_sets.insert((o, entry.0)) {
                    return Err(Error::Execution(
                        "multiple matches for labels: grouping labels must ensure unique matches"
                            .into(),
                    ));
                }
                if !keep && !b.return_bool {
                    continue;
                }
                out.push(entry.1, t, value)?;
            }
            for &(j, _) in &onow {
                if let Some(x) = one_sig.get(j).and_then(|&o| one_at.get_mut(o)) {
                    *x = None;
                }
            }
        }
        Ok(out)
    }
}
