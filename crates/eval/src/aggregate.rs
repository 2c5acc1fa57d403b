//! Aggregation operators (`sum`, `avg`, `topk`, `count_values`, ...) with `by`/`without`.
//!
//! Each input series is mapped to its group once (by a signature hash, verified on collision);
//! the steps are then walked in order, accumulating the series present at each step in input
//! order, exactly as Prometheus does (which matters for floating-point sums and for ties).

use promlite_model::{Labels, METRIC_NAME};
use promlite_promql::ast::{Aggregate, AggregateOp, Expr};
use rayon::prelude::*;

use crate::annotations::Kind;
use crate::error::{Error, Result};
use crate::evaluator::{expr_pos, Evaluator};
use crate::functions::label::FreshCopy;
use crate::go_compat::{fmt_float, fmt_g, go_sort, heap_less, GoHeap};
use crate::series::{Grid, OutBuilder, Series, SigTable, StepCursor, Val};

/// Neumaier-compensated addition (Prometheus's `kahansum.Inc`): returns the new sum and
/// compensation.
#[inline]
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// The φ-quantile of `values` (sorted in place, NaN first), interpolating between neighbours.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    let lv = values.get(lower as usize).copied().unwrap_or(f64::NAN);
    let uv = values.get(upper as usize).copied().unwrap_or(f64::NAN);
    lv * (1.0 - weight) + uv * weight
}

/// The running state of one group at one step, for every operator but `quantile`.
#[derive(Clone, Copy, Default)]
struct Core {
    seen: bool,
    value: f64,
    mean: f64,
    comp: f64,
    count: f64,
    incremental: bool,
    drop_name: bool,
}

/// [`Core`] plus the collected values `quantile` needs.
#[derive(Clone, Default)]
struct Acc {
    core: Core,
    values: Vec<f64>,
}

/// Above this many group × step cells the series-major walk (one [`Core`] per cell) would use
/// too much memory, and the step-major walk (one accumulator per group) is used instead.
const SERIES_MAJOR_MAX_CELLS: usize = 1 << 22;

pub(crate) fn eval_aggregate(ev: &mut Evaluator<'_>, a: &Aggregate, grid: &Grid) -> Result<Val> {
    let mut grouping = a.grouping.clone();
    grouping.sort();
    if a.op == AggregateOp::CountValues {
        return count_values(ev, a, grouping, grid);
    }
    let params = match (&a.param, a.op.takes_param()) {
        (Some(p), true) => Some(ev.eval_scalar(p, grid)?),
        _ => None,
    };
    // Operators whose output labels come from the grouping alone never see `__name__` unless
    // grouping by it; their input may keep its names (flagged) instead of rebuilding them.
    let names_ignored =
        !a.op.selects_series() && (a.without || !grouping.iter().any(|g| g == METRIC_NAME));
    // A copy-form `label_replace` argument is evaluated up to its vector here, and grouped
    // through its copy when that is exact (below).
    let read_through = match &*a.expr {
        Expr::Call(c)
            if ev.plan.grouping_reads_copy(a)
                && (grid.is_instant() || !ev.plan.step_invariant(&a.expr)) =>
        {
            Some(c)
        }
        _ => None,
    };
    let (input, names_kept, replace) = if let Some(c) = read_through {
        let (input, replace) = ev.eval_label_replace_input(&a.expr, c, grid)?;
        (input, false, Some(replace))
    } else if names_ignored {
        let (input, kept) = ev.eval_vector_names_ignored(&a.expr, grid)?;
        (input, kept, None)
    } else {
        (ev.eval_vector(&a.expr, grid)?, false, None)
    };
    // Rule: the plan allows this only for `by (...)` groupings without `__name__` whose output
    // labels are the group's grouping labels; `fresh_copy` holds only when no input series has
    // the copy's destination, so the `label_replace` cannot fail and each of its output series
    // is its input with the destination set to the source's value. Grouping and labelling the
    // groups through that view (`FreshCopy::value`) then reads exactly the labels the copied
    // sets would have had, and the aggregation reads nothing else of them (values and
    // `drop_name` are the input's, which `label_replace` keeps; a flag set here would mean a
    // pending name removal, which the generic order must see, so it applies the copy then).
    let copy = replace.as_ref().and_then(|r| {
        let pending_names = !ev.opts.delayed_name_removal && input.iter().any(|s| s.drop_name);
        r.fresh_copy(&input).filter(|_| !pending_names)
    });
    let input = match (&replace, copy) {
        (Some(r), None) => {
            let applied = r.apply(ev.opts.fast_path, input)?;
            if ev.opts.delayed_name_removal {
                applied
            } else {
                crate::evaluator::drop_names_and_merge(applied)?
            }
        }
        _ => input,
    };
    let mut sigs = SigTable::new(!a.without, &grouping);
    sigs.reserve(input.len());
    // The view helpers want each grouping name once (`by (a, a)` is valid PromQL).
    let mut view_names = Vec::new();
    if copy.is_some() {
        view_names.clone_from(&grouping);
        view_names.dedup();
    }
    let group_of: Vec<usize> = match copy {
        Some(view) => {
            ev.decide(|| "groups read through the label_replace copy".into());
            input
                .iter()
                .map(|s| sigs.ordinal_with(|buf| view_signature(&s.labels, view, &view_names, buf)))
                .collect()
        }
        None => input.iter().map(|s| sigs.ordinal(&s.labels)).collect(),
    };
    let n_groups = sigs.count;
    match a.op {
        AggregateOp::Topk
        | AggregateOp::Bottomk
        | AggregateOp::Limitk
        | AggregateOp::LimitRatio => {
            let params = params.unwrap_or_default();
            aggregate_k(ev, a, &input, &group_of, n_groups, &params, grid).map(Val::Vector)
        }
        _ => {
            // Output series per group, labelled from the group's first member.
            let mut out: Vec<Series> = Vec::with_capacity(n_groups);
            for (s, &g) in input.iter().zip(&group_of) {
                if g == out.len() {
                    let labels = match copy {
                        Some(view) => view_group_labels(&s.labels, view, &view_names),
                        None => group_labels(&s.labels, a.without, &grouping),
                    };
                    out.push(Series::new(labels, false));
                }
            }
            if a.op == AggregateOp::Quantile {
                if let Some(p) = &params {
                    let pos = a.param.as_deref().map(expr_pos).unwrap_or(0);
                    for &q in p.iter() {
                        if q.is_nan() || !(0.0..=1.0).contains(&q) {
                            ev.annotate(
                                Kind::Warning,
                                format!(
                                    "quantile value should be between 0 and 1, got {}",
                                    fmt_g(q)
                                ),
                                pos,
                            );
                        }
                    }
                }
            }
            let n_steps = grid.len();
            if a.op != AggregateOp::Quantile {
                if let Some(cells) = n_groups
                    .checked_mul(n_steps)
                    .filter(|&c| c <= SERIES_MAJOR_MAX_CELLS)
                {
                    aggregate_series_major(
                        ev, a.op, &input, &group_of, n_steps, cells, grid, &mut out,
                    )?;
                    out.retain(|s| !s.points.is_empty());
                    clear_kept_names(&mut out, names_kept);
                    return Ok(Val::Vector(out));
                }
            }
            let mut accs: Vec<Acc> = vec![Acc::default(); n_groups];
            let mut cursor = StepCursor::new(input.len());
            for (k, t) in grid.times().enumerate() {
                if k % 64 == 0 {
                    ev.check_deadline("expression evaluation")?;
                }
                for acc in accs.iter_mut() {
                    acc.core.seen = false;
                }
                for (si, s) in input.iter().enumerate() {
                    let Some(f) = cursor.at(&input, si, t) else {
                        continue;
                    };
                    let Some(acc) = group_of.get(si).and_then(|&g| accs.get_mut(g)) else {
                        continue;
                    };
                    if !acc.core.seen {
                        init_acc(acc, a.op, f, s.drop_name);
                    } else {
                        update_acc(acc, a.op, f, s.drop_name);
                    }
                }
                let q = params
                    .as_ref()
                    .and_then(|p| p.get(k))
                    .copied()
                    .unwrap_or(f64::NAN);
                for (acc, o) in accs.iter_mut().zip(out.iter_mut()) {
                    if !acc.core.seen {
                        continue;
                    }
                    let v = finish_acc(acc, a.op, q);
                    o.points.push(promlite_model::Sample::new(t, v));
                    o.drop_name = acc.core.drop_name;
                }
            }
            out.retain(|s| !s.points.is_empty());
            clear_kept_names(&mut out, names_kept);
            Ok(Val::Vector(out))
        }
    }
}

/// Inputs that kept their names (flagged `drop_name`) flag their groups too, but a group's
/// labels never include `__name__` here, so there is nothing left to drop (and no merge owed).
fn clear_kept_names(out: &mut [Series], names_kept: bool) {
    if names_kept {
        for s in out {
            s.drop_name = false;
        }
    }
}

/// The `by (names)` signature of the series `view` copies `labels` into, written as
/// `SigTable` writes its own (`name 0xff value 0xff` per present label, in name order).
/// `names` is sorted, each name once.
fn view_signature(labels: &Labels, view: FreshCopy<'_>, names: &[String], buf: &mut Vec<u8>) {
    for name in names {
        if let Some(value) = view.value(labels, name) {
            buf.extend_from_slice(name.as_bytes());
            buf.push(0xff);
            buf.extend_from_slice(value.as_bytes());
            buf.push(0xff);
        }
    }
}

/// `group_labels` of the series `view` copies `labels` into, for a `by (names)` aggregation
/// (`names` sorted, each name once).
fn view_group_labels(labels: &Labels, view: FreshCopy<'_>, names: &[String]) -> Labels {
    Labels::from_sorted_pairs(
        names
            .iter()
            .filter_map(|name| view.value(labels, name).map(|v| (name.as_str(), v))),
    )
}

/// Labels of an aggregation group: `without` drops the listed labels and the metric name, `by`
/// keeps only the listed labels.
fn group_labels(labels: &Labels, without: bool, grouping: &[String]) -> Labels {
    if without {
        labels.drop_names(grouping)
    } else if grouping.is_empty() {
        Labels::empty()
    } else {
        labels.keep(grouping)
    }
}

/// Walks the input series by series, each into its group's row of per-step cells. Within a
/// cell, series still arrive in input order, so every sum is accumulated in the same order as
/// the step-major walk (and Prometheus); but each series' points are read sequentially instead
/// of hopping across all series at every step, which dominated large range aggregations.
/// Groups are independent, so their rows are filled in parallel.
#[allow(clippy::too_many_arguments)]
fn aggregate_series_major(
    ev: &Evaluator<'_>,
    op: AggregateOp,
    input: &[Series],
    group_of: &[usize],
    n_steps: usize,
    cells: usize,
    grid: &Grid,
    out: &mut [Series],
) -> Result<()> {
    // Members of each group in input order (a counting sort by group), so that every group's
    // row can be filled independently, on any thread, in the same order.
    let n_groups = out.len();
    let mut starts = vec![0usize; n_groups + 1];
    for &g in group_of {
        if let Some(c) = starts.get_mut(g + 1) {
            *c += 1;
        }
    }
    for g in 0..n_groups {
        let before = starts.get(g).copied().unwrap_or(0);
        if let Some(c) = starts.get_mut(g + 1) {
            *c += before;
        }
    }
    let mut fill = starts.clone();
    let mut members = vec![0usize; group_of.len()];
    for (si, &g) in group_of.iter().enumerate() {
        if let Some(pos) = fill.get_mut(g) {
            if let Some(m) = members.get_mut(*pos) {
                *m = si;
            }
            *pos += 1;
        }
    }
    ev.check_deadline("expression evaluation")?;
    let mut table = vec![Core::default(); cells];
    let fill_row = |(g, row): (usize, &mut [Core])| {
        let (lo, hi) = (
            starts.get(g).copied().unwrap_or(0),
            starts.get(g + 1).copied().unwrap_or(0),
        );
        for &si in members.get(lo..hi).unwrap_or(&[]) {
            let Some(s) = input.get(si) else { continue };
            for p in &s.points {
                let Some(cell) = row.get_mut(grid.index(p.t)) else {
                    continue;
                };
                if cell.seen {
                    update_core(cell, op, p.v, s.drop_name);
                } else {
                    *cell = init_core(op, p.v, s.drop_name);
                }
            }
        }
    };
    if ev.parallel(input.len()) {
        table
            .par_chunks_mut(n_steps.max(1))
            .enumerate()
            .for_each(fill_row);
    } else {
        table
            .chunks_mut(n_steps.max(1))
            .enumerate()
            .for_each(fill_row);
    }
    ev.check_deadline("expression evaluation")?;
    for (row, o) in table.chunks_exact(n_steps.max(1)).zip(out.iter_mut()) {
        for (k, cell) in row.iter().enumerate() {
            if cell.seen {
                o.points.push(promlite_model::Sample::new(
                    grid.t(k),
                    finish_core(cell, op),
                ));
                o.drop_name = cell.drop_name;
            }
        }
    }
    Ok(())
}

fn init_acc(acc: &mut Acc, op: AggregateOp, f: f64, drop_name: bool) {
    acc.core = init_core(op, f, drop_name);
    if op == AggregateOp::Quantile {
        acc.values.clear();
        acc.values.push(f);
    }
}

fn update_acc(acc: &mut Acc, op: AggregateOp, f: f64, drop_name: bool) {
    update_core(&mut acc.core, op, f, drop_name);
    if op == AggregateOp::Quantile {
        acc.values.push(f);
    }
}

fn finish_acc(acc: &mut Acc, op: AggregateOp, q: f64) -> f64 {
    match op {
        AggregateOp::Quantile => quantile(q, &mut acc.values),
        _ => finish_core(&acc.core, op),
    }
}

fn init_core(op: AggregateOp, f: f64, drop_name: bool) -> Core {
    let mut c = Core {
        seen: true,
        value: f,
        mean: f,
        comp: 0.0,
        count: 1.0,
        incremental: false,
        drop_name,
    };
    match op {
        AggregateOp::Stddev | AggregateOp::Stdvar => {
            c.value = if f.is_nan() || f.is_infinite() {
                f64::NAN
            } else {
                0.0
            };
        }
        AggregateOp::Group => c.value = 1.0,
        _ => {}
    }
    c
}

fn update_core(acc: &mut Core, op: AggregateOp, f: f64, drop_name: bool) {
    if drop_name {
        acc.drop_name = true;
    }
    match op {
        AggregateOp::Sum => {
            (acc.value, acc.comp) = kahan_inc(f, acc.value, acc.comp);
        }
        AggregateOp::Avg => {
            acc.count += 1.0;
            if !acc.incremental {
                let (nv, nc) = kahan_inc(f, acc.value, acc.comp);
                if !nv.is_infinite() {
                    acc.value = nv;
                    acc.comp = nc;
                    return;
                }
                // The running sum overflowed: switch to an incremental mean.
                acc.incremental = true;
                acc.mean = acc.value / (acc.count - 1.0);
                acc.comp /= acc.count - 1.0;
            }
            let q = (acc.count - 1.0) / acc.count;
            (acc.mean, acc.comp) = kahan_inc(f / acc.count, q * acc.mean, q * acc.comp);
        }
        AggregateOp::Max if acc.value < f || acc.value.is_nan() => acc.value = f,
        AggregateOp::Min if acc.value > f || acc.value.is_nan() => acc.value = f,
        AggregateOp::Count => acc.count += 1.0,
        AggregateOp::Stddev | AggregateOp::Stdvar => {
            acc.count += 1.0;
            let delta = f - acc.mean;
            acc.mean += delta / acc.count;
            acc.value += delta * (f - acc.mean);
        }
        _ => {}
    }
}

fn finish_core(acc: &Core, op: AggregateOp) -> f64 {
    match op {
        AggregateOp::Sum => acc.value + acc.comp,
        AggregateOp::Avg => {
            if acc.incremental {
                acc.mean + acc.comp
            } else {
                acc.value / acc.count + acc.comp / acc.count
            }
        }
        AggregateOp::Count => acc.count,
        AggregateOp::Stdvar => acc.value / acc.count,
        AggregateOp::Stddev => (acc.value / acc.count).sqrt(),
        _ => acc.value,
    }
}

/// The sampling offset of a series for `limit_ratio`, in `[0, 1)`.
fn ratio_offset(labels: &Labels) -> f64 {
    labels.stable_hash() as f64 / u64::MAX as f64
}

fn ratio_keeps(r: f64, offset: f64) -> bool {
    (r >= 0.0 && offset < r) || (r < 0.0 && offset >= 1.0 + r)
}

fn aggregate_k(
    ev: &mut Evaluator<'_>,
    a: &Aggregate,
    input: &[Series],
    group_of: &[usize],
    n_groups: usize,
    params: &[f64],
    grid: &Grid,
) -> Result<Vec<Series>> {
    let max = params.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = params.iter().copied().fold(f64::INFINITY, f64::min);
    let any_nan = params.iter().any(|p| p.is_nan());
    if a.op == AggregateOp::LimitRatio {
        if max == 0.0 && min == 0.0 {
            return Ok(Vec::new());
        }
        if any_nan {
            return Err(Error::Execution("Ratio value is NaN".into()));
        }
        let pos = a.param.as_deref().map(expr_pos).unwrap_or(0);
        if max > 1.0 {
            ev.annotate(
                Kind::Warning,
                format!(
                    "ratio value should be between -1 and 1, got {}, capping to 1",
                    fmt_g(max)
                ),
                pos,
            );
        }
        if min < -1.0 {
            ev.annotate(
                Kind::Warning,
                format!(
                    "ratio value should be between -1 and 1, got {}, capping to -1",
                    fmt_g(min)
                ),
                pos,
            );
        }
    } else {
        if max < 1.0 && !any_nan {
            return Ok(Vec::new());
        }
        if any_nan {
            return Err(Error::Execution("Parameter value is NaN".into()));
        }
        if min <= i64::MIN as f64 {
            return Err(Error::Execution(format!(
                "Scalar value {} underflows int64",
                fmt_g(min)
            )));
        }
        if max >= i64::MAX as f64 {
            return Err(Error::Execution(format!(
                "Scalar value {} overflows int64",
                fmt_g(max)
            )));
        }
    }
    let reverse = a.op == AggregateOp::Bottomk;
    let mut out = OutBuilder::new(grid);
    let mut slots: Vec<Option<usize>> = vec![None; input.len()];
    let mut cursor = StepCursor::new(input.len());
    let mut heaps: Vec<Option<GoHeap>> = (0..n_groups).map(|_| None).collect();
    for (k, t) in grid.times().enumerate() {
        if k % 64 == 0 {
            ev.check_deadline("expression evaluation")?;
        }
        let p = params.get(k).copied().unwrap_or(f64::NAN);
        let kk = (p as i64).min(input.len() as i64);
        let ratio = p.clamp(-1.0, 1.0);
        let skip = match a.op {
            AggregateOp::LimitRatio => p == 0.0,
            _ => kk < 1,
        };
        heaps.iter_mut().for_each(|h| *h = None);
        for si in 0..input.len() {
            let Some(f) = cursor.at(input, si, t) else {
                continue;
            };
            if skip {
                continue;
            }
            let Some(heap) = group_of.get(si).and_then(|&g| heaps.get_mut(g)) else {
                continue;
            };
            let heap = heap.get_or_insert_with(|| GoHeap {
                items: Vec::new(),
                reverse,
            });
            match a.op {
                AggregateOp::Topk | AggregateOp::Bottomk => {
                    if (heap.items.len() as i64) < kk {
                        heap.push((si, f));
                    } else if let Some(&(_, root)) = heap.items.first() {
                        let better = if reverse { root > f } else { root < f };
                        if better || (root.is_nan() && !f.is_nan()) {
                            if let Some(r) = heap.items.first_mut() {
                                *r = (si, f);
                            }
                            if kk > 1 {
                                heap.fix_root();
                            }
                        }
                    }
                }
                AggregateOp::Limitk => {
                    if (heap.items.len() as i64) < kk {
                        heap.push((si, f));
                    }
                }
                _ => {
                    let keep = input
                        .get(si)
                        .is_some_and(|s| ratio_keeps(ratio, ratio_offset(&s.labels)));
                    if keep {
                        heap.push((si, f));
                    }
                }
            }
        }
        for heap in heaps.iter_mut().flatten() {
            let mut items = std::mem::take(&mut heap.items);
            if matches!(a.op, AggregateOp::Topk | AggregateOp::Bottomk) {
                // sort.Reverse of the heap order: largest first for topk, smallest first for
                // bottomk, NaN last.
                go_sort(&mut items, |x, y| heap_less(y.1, x.1, reverse));
            }
            for (si, f) in items {
                let Some(s) = input.get(si) else { continue };
                let slot = match slots.get(si).copied().flatten() {
                    Some(slot) => slot,
                    None => {
                        let slot = out.slot(s.labels.clone(), s.drop_name);
                        if !grid.is_instant() {
                            if let Some(x) = slots.get_mut(si) {
                                *x = Some(slot);
                            }
                        }
                        slot
                    }
                };
                out.push(slot, t, f)?;
            }
        }
    }
    Ok(out.finish())
}

fn count_values(
    ev: &mut Evaluator<'_>,
    a: &Aggregate,
    mut grouping: Vec<String>,
    grid: &Grid,
) -> Result<Val> {
    let Some(label_bytes) = a
        .param
        .as_deref()
        .map(crate::evaluator::unparen)
        .and_then(Expr::string_bytes)
    else {
        return Err(Error::BadQuery(
            "count_values: expected string parameter".into(),
        ));
    };
    // Prometheus 3 checks the name with its UTF-8 scheme (non-empty, valid UTF-8) before
    // evaluating the input, and prints the literal Go-quoted: `invalid label name "a\xc5z"`.
    let label = match std::str::from_utf8(label_bytes) {
        Ok(name) if !name.is_empty() => name.to_string(),
        _ => {
            return Err(Error::Execution(format!(
                "invalid label name {}",
                promlite_promql::quote::go_quote(label_bytes)
            )))
        }
    };
    if !a.without {
        grouping.push(label.clone());
        grouping.sort();
    }
    let input = ev.eval_vector(&a.expr, grid)?;
    let mut out = OutBuilder::new(grid);
    let mut cursor = StepCursor::new(input.len());
    for t in grid.times() {
        let mut groups: Vec<(Labels, f64)> = Vec::new();
        let mut index: std::collections::HashMap<Labels, usize> = std::collections::HashMap::new();
        for (si, s) in input.iter().enumerate() {
            let Some(f) = cursor.at(&input, si, t) else {
                continue;
            };
            let mut lb = s.labels.builder();
            lb.set(label.as_str(), fmt_float(f));
            let with_value = lb.build();
            let key = group_labels(&with_value, a.without, &grouping);
            match index.get(&key) {
                Some(&i) => {
                    if let Some(g) = groups.get_mut(i) {
                        g.1 += 1.0;
                    }
                }
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push((key, 1.0));
                }
            }
        }
        for (labels, count) in groups {
            let slot = out.slot(labels, false);
            out.push(slot, t, count)?;
        }
    }
    Ok(Val::Vector(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kahan_recovers_lost_low_bits() {
        let (mut s, mut c) = (0.0, 0.0);
        for v in [1e16, 1.0, -1e16] {
            (s, c) = kahan_inc(v, s, c);
        }
        assert_eq!(s + c, 1.0);
    }

    #[test]
    fn quantile_interpolates() {
        let mut v = vec![4.0, 1.0, 2.0, 3.0];
        assert_eq!(quantile(0.5, &mut v), 2.5);
        assert_eq!(quantile(2.0, &mut v), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }
}
