//! `info(v [, data-label-selector])`, Prometheus 3's experimental enrichment function.
//!
//! Semantics (Prometheus 3.x, `promql/info.go` and `promqltest/testdata/info.test`):
//!
//! - The **info series** are selected by the second argument's matchers (all of them, the
//!   `__name__` ones included), by `__name__="target_info"` when it has no `__name__` matcher
//!   (`__name__=~".+_info"` added when it has only negative ones), and by the values of the
//!   identifying labels `instance` and `job` found on the base series.
//!   Without any identifying value on a non-ignored base series nothing is selected.
//! - A base series whose name matches **every** one of these `__name__` matchers is an info
//!   series itself and passes through unchanged.
//! - The info side is read **as of the base samples' reference time**: the `@` and `offset`
//!   modifiers on the path from `v` down to its first vector selector (subqueries included)
//!   shift or pin it, so `info(m offset 2m)` enriches with the info series current two minutes
//!   earlier. Lookback applies as for any instant selector.
//! - At every step a base series matches, per info metric name, the info series with the same
//!   identifying labels (only those the base series has). Two such series present at one step:
//!   the one with the newer sample wins; equal sample times are an error.
//! - Every label of a matched info series except `__name__` (only the labels the selector names,
//!   when it has non-`__name__` matchers) is added unless the base series has it. Two info
//!   metrics giving one label different values is the error `conflicting label: <name>`.
//! - A base sample no info series matched is dropped if a non-`__name__` matcher rejects the
//!   empty value, else it passes through unenriched. The metric name and a pending delayed name
//!   removal are the base series'.
//!
//! **Value runs.** The info side is an ordinary instant selector
//! ([`Evaluator::vector_selector`]), so where storage keeps value runs for the info metric it is
//! answered from them and no info sample is decoded (`--explain` says so). Runs carry no sample
//! timestamps, which only the tie between two same-signature info series present at one step
//! needs; when that happens the info side is selected again from decoded samples.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use promlite_model::{LabelRef, Labels, MatchOp, Matcher, METRIC_NAME};
use promlite_promql::ast::{At, Call, Expr, Span, VectorSelector};

use crate::error::{Error, Result};
use crate::evaluator::{unparen, Evaluator};
use crate::series::{dup_labelset, Grid, Series, Val};

/// The default info metric.
const TARGET_INFO: &str = "target_info";

/// The info metrics a selector with only negative `__name__` matchers is confined to.
const INFO_PATTERN: &str = ".+_info";

/// Labels that identify the target an info series describes (hard-coded, as in Prometheus).
const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// The identifying label values of a series, in [`IDENTIFYING`] order (`None`: absent).
type IdKey = [Option<Arc<str>>; 2];

fn id_key(labels: &Labels) -> IdKey {
    IDENTIFYING.map(|name| {
        labels
            .iter()
            .find(|l| l.name == name)
            .map(|l| Arc::from(l.value))
    })
}

/// Evaluates the `info` call `c` over `grid`.
pub(crate) fn eval_info(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let base_expr = c
        .args
        .first()
        .ok_or_else(|| Error::BadQuery("info() needs an argument".into()))?;
    let base = ev.eval_vector(base_expr, grid)?;
    let selector: Vec<Matcher> = match c.args.get(1).map(unparen) {
        None => Vec::new(),
        Some(Expr::VectorSelector(vs)) => vs.matchers.clone(),
        Some(_) => {
            return Err(Error::BadQuery(
                "info(): expected label selectors as the second argument".into(),
            ))
        }
    };
    // The effective `__name__` matchers (Prometheus's rule): the selector's, `target_info`
    // without any, and `.+_info` added when all are negative (which alone would select every
    // other series as an info series).
    let mut name_matchers: Vec<Matcher> = selector
        .iter()
        .filter(|m| m.name == METRIC_NAME)
        .cloned()
        .collect();
    if name_matchers.is_empty() {
        name_matchers.push(Matcher::equal(METRIC_NAME, TARGET_INFO));
    } else if name_matchers.iter().all(|m| m.op.is_negative()) {
        name_matchers.push(
            Matcher::new(MatchOp::Regex, METRIC_NAME, INFO_PATTERN)
                .map_err(|e| Error::BadQuery(e.to_string()))?,
        );
    }
    let data_matchers: Vec<&Matcher> = selector.iter().filter(|m| m.name != METRIC_NAME).collect();
    let data_names: BTreeSet<&str> = data_matchers.iter().map(|m| m.name.as_str()).collect();
    // A base sample without any info match survives only if every data matcher accepts "".
    let keep_unmatched = data_matchers.iter().all(|m| m.matches_empty());

    // A base series is an info series itself (passed through unchanged) if its name
    // satisfies every effective `__name__` matcher.
    let ignored: Vec<bool> = base
        .iter()
        .map(|s| {
            let name = s.labels.metric_name().unwrap_or("");
            name_matchers.iter().all(|m| m.matches(name))
        })
        .collect();

    let mut id_values: [BTreeSet<&str>; 2] = [BTreeSet::new(), BTreeSet::new()];
    for (s, _) in base.iter().zip(&ignored).filter(|(_, &ign)| !ign) {
        for (set, name) in id_values.iter_mut().zip(IDENTIFYING) {
            if let Some(v) = s.labels.get(name) {
                set.insert(v);
            }
        }
    }
    let info = if id_values.iter().all(BTreeSet::is_empty) {
        Vec::new()
    } else {
        let mut matchers = name_matchers.clone();
        for (set, name) in id_values.iter().zip(IDENTIFYING) {
            if !set.is_empty() {
                matchers.push(Matcher::regex_set(name, set.iter().copied()));
            }
        }
        matchers.extend(data_matchers.iter().map(|&m| m.clone()));
        let (at, offset) = reference_time(ev, base_expr);
        let vs = VectorSelector {
            name: None,
            matchers,
            offset,
            at: at.map(At::Timestamp),
            span: Span::default(),
        };
        select_info(ev, &vs, grid)?
    };

    let input = Input {
        base: &base,
        ignored: &ignored,
        info: &info,
        data_names: &data_names,
        keep_unmatched,
    };
    Ok(Val::Vector(combine(&input, grid)?))
}

/// The `@` time (if pinned) and offset at which `expr`'s first vector selector reads its
/// samples, relative to the evaluation time: the reference time of step `t` is
/// `at.unwrap_or(t) - offset`.
fn reference_time(ev: &Evaluator<'_>, expr: &Expr) -> (Option<i64>, i64) {
    fn apply(state: (Option<i64>, i64), at: Option<i64>, offset: i64) -> (Option<i64>, i64) {
        match at {
            Some(a) => (Some(a), offset),
            None => (state.0, state.1.saturating_add(offset)),
        }
    }
    fn walk(
        ev: &Evaluator<'_>,
        expr: &Expr,
        state: (Option<i64>, i64),
    ) -> Option<(Option<i64>, i64)> {
        match expr {
            Expr::VectorSelector(vs) => Some(apply(state, ev.resolve_at(vs.at), vs.offset)),
            Expr::MatrixSelector(ms) => Some(apply(
                state,
                ev.resolve_at(ms.selector.at),
                ms.selector.offset,
            )),
            Expr::Subquery(sq) => walk(ev, &sq.expr, apply(state, ev.resolve_at(sq.at), sq.offset)),
            // The first selector in child order (operands left to right, arguments in order,
            // an aggregation's expression before its parameter).
            other => other.children().find_map(|child| walk(ev, child, state)),
        }
    }
    walk(ev, expr, (None, 0)).unwrap_or((None, 0))
}

/// One info series on the grid: its labels, signature parts and, per point, the timestamp of
/// the sample it came from when known.
struct InfoSeries {
    labels: Labels,
    name: Arc<str>,
    key: IdKey,
    /// `(step index, sample time)`; the time is `None` when read from value runs.
    points: Vec<(usize, Option<i64>)>,
}

/// Selects the info series. On the fast path the selector may be answered from value runs
/// (no sample timestamps); if two series with one signature are then present at one step, the
/// tie needs the timestamps and the selector is read again from samples.
fn select_info(
    ev: &mut Evaluator<'_>,
    vs: &VectorSelector,
    grid: &Grid,
) -> Result<Vec<InfoSeries>> {
    if ev.opts.fast_path {
        let found = ev.vector_selector(vs, grid, false)?;
        let info = to_info(found, grid, false);
        if !has_overlap(&info) {
            // Rule: sample times decide only between two same-signature series present at one
            // step; with none, values and presence (all the runs give) fix the answer and errors.
            return Ok(info);
        }
        ev.decide(|| {
            "info(): same-signature info series overlap, selected again from samples".into()
        });
    }
    let found = ev.vector_selector(vs, grid, true)?;
    Ok(to_info(found, grid, true))
}

fn to_info(found: Vec<Series>, grid: &Grid, with_times: bool) -> Vec<InfoSeries> {
    found
        .into_iter()
        .map(|s| {
            let name: Arc<str> = s.labels.metric_name().unwrap_or("").into();
            let key = id_key(&s.labels);
            let points = s
                .points
                .iter()
                .map(|p| {
                    // With `sample_ts` the value is the sample time in seconds (exact for any
                    // millisecond time below 2^53).
                    let t = with_times.then(|| (p.v * 1000.0).round() as i64);
                    (grid.index(p.t), t)
                })
                .collect();
            InfoSeries {
                labels: s.labels,
                name,
                key,
                points,
            }
        })
        .collect()
}

/// True if two info series with one signature (name and identifying labels) share a step.
fn has_overlap(info: &[InfoSeries]) -> bool {
    let mut by_sig: HashMap<(&str, &IdKey), Vec<usize>> = HashMap::new();
    for (i, s) in info.iter().enumerate() {
        by_sig.entry((&s.name, &s.key)).or_default().push(i);
    }
    by_sig.values().filter(|m| m.len() > 1).any(|members| {
        let mut steps: Vec<usize> = members
            .iter()
            .filter_map(|&i| info.get(i))
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        let n = steps.len();
        steps.sort_unstable();
        steps.dedup();
        steps.len() != n
    })
}

struct Input<'a> {
    base: &'a [Series],
    ignored: &'a [bool],
    info: &'a [InfoSeries],
    data_names: &'a BTreeSet<&'a str>,
    keep_unmatched: bool,
}

/// One signature group: the info series sharing a name and identifying labels.
struct Group {
    members: Vec<usize>,
    /// Per member, the index of its next point.
    cursors: Vec<usize>,
    /// The member chosen at the current step.
    chosen: Option<usize>,
}

/// A base series' last enrichment: the chosen info series per group of its signature, and
/// the output slot they gave (`None`: the sample is dropped).
type Cached = (Vec<Option<usize>>, Option<usize>);

/// Joins the base series with the info series step by step (see the module doc).
fn combine(input: &Input<'_>, grid: &Grid) -> Result<Vec<Series>> {
    // Groups ordered by (key, name); base series find theirs by key.
    let mut group_of: HashMap<(&IdKey, &str), usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<&IdKey, Vec<usize>> = HashMap::new();
    let mut order: Vec<usize> = (0..input.info.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&input.info[a], &input.info[b]);
        (&x.name, &x.labels).cmp(&(&y.name, &y.labels))
    });
    for i in order {
        let s = &input.info[i];
        let g = *group_of.entry((&s.key, &*s.name)).or_insert_with(|| {
            groups.push(Group {
                members: Vec::new(),
                cursors: Vec::new(),
                chosen: None,
            });
            by_key.entry(&s.key).or_default().push(groups.len() - 1);
            groups.len() - 1
        });
        if let Some(group) = groups.get_mut(g) {
            group.members.push(i);
            group.cursors.push(0);
        }
    }
    let base_groups: Vec<&[usize]> = input
        .base
        .iter()
        .map(|s| {
            by_key
                .get(&id_key(&s.labels))
                .map_or(&[][..], |v| v.as_slice())
        })
        .collect();

    let mut out: Vec<Series> = Vec::new();
    let mut slots: HashMap<Labels, usize> = HashMap::new();
    let mut last_step: Vec<usize> = Vec::new();
    let mut base_cursor = vec![0usize; input.base.len()];
    // Per base series: the choice its output slot was computed for, and that slot.
    let mut cached: Vec<Option<Cached>> = vec![None; input.base.len()];
    let mut slot_for =
        |labels: Labels, drop_name: bool, out: &mut Vec<Series>, last: &mut Vec<usize>| {
            *slots.entry(labels.clone()).or_insert_with(|| {
                out.push(Series::new(labels, drop_name));
                last.push(usize::MAX);
                out.len() - 1
            })
        };
    for (step, t) in grid.times().enumerate() {
        // Base samples at this step.
        let mut present = Vec::new();
        for (b, s) in input.base.iter().enumerate() {
            let Some(cursor) = base_cursor.get_mut(b) else {
                continue;
            };
            while s.points.get(*cursor).is_some_and(|p| p.t < t) {
                *cursor += 1;
            }
            if let Some(p) = s.points.get(*cursor).filter(|p| p.t == t) {
                present.push((b, p.v));
            }
        }
        if present.is_empty() {
            continue;
        }
        // The info series of every group at this step.
        for group in &mut groups {
            group.chosen = None;
            let mut best: Option<(usize, Option<i64>)> = None;
            for (member, cursor) in group.members.iter().zip(group.cursors.iter_mut()) {
                let Some(s) = input.info.get(*member) else {
                    continue;
                };
                while s.points.get(*cursor).is_some_and(|p| p.0 < step) {
                    *cursor += 1;
                }
                let Some(&(_, ts)) = s.points.get(*cursor).filter(|p| p.0 == step) else {
                    continue;
                };
                best = match best {
                    None => Some((*member, ts)),
                    Some((other, other_ts)) => match other_ts.cmp(&ts) {
                        std::cmp::Ordering::Greater => Some((other, other_ts)),
                        std::cmp::Ordering::Less => Some((*member, ts)),
                        std::cmp::Ordering::Equal => {
                            let existing = input.info.get(other).map(|s| s.labels.to_string());
                            return Err(Error::Execution(format!(
                                "found duplicate series for info metric: existing {} @ {}, new {} @ {}",
                                existing.unwrap_or_default(),
                                other_ts.unwrap_or(t),
                                s.labels,
                                ts.unwrap_or(t)
                            )));
                        }
                    },
                };
            }
            group.chosen = best.map(|b| b.0);
        }
        for (b, v) in present {
            let (Some(s), Some(own_groups)) = (input.base.get(b), base_groups.get(b)) else {
                continue;
            };
            let slot = if input.ignored.get(b).copied().unwrap_or(false) {
                Some(slot_for(
                    s.labels.clone(),
                    s.drop_name,
                    &mut out,
                    &mut last_step,
                ))
            } else {
                let choice: Vec<Option<usize>> = own_groups
                    .iter()
                    .map(|&g| groups.get(g).and_then(|g| g.chosen))
                    .collect();
                match cached.get(b) {
                    Some(Some((c, slot))) if *c == choice => *slot,
                    _ => {
                        let slot = enrich(input, s, &choice)?
                            .map(|labels| slot_for(labels, s.drop_name, &mut out, &mut last_step));
                        if let Some(c) = cached.get_mut(b) {
                            *c = Some((choice, slot));
                        }
                        slot
                    }
                }
            };
            let Some(slot) = slot else {
                continue;
            };
            if last_step.get(slot) == Some(&step) {
                return Err(dup_labelset());
            }
            if let (Some(series), Some(last)) = (out.get_mut(slot), last_step.get_mut(slot)) {
                series.points.push(promlite_model::Sample::new(t, v));
                *last = step;
            }
        }
    }
    Ok(out)
}

/// The output labels of base series `s` enriched by the chosen info series (one per group of
/// its signature, `None` where absent), or `None` when the sample is dropped.
fn enrich(input: &Input<'_>, s: &Series, choice: &[Option<usize>]) -> Result<Option<Labels>> {
    let mut added: Vec<LabelRef<'_>> = Vec::new();
    let mut matched = false;
    for info in choice.iter().flatten().filter_map(|&i| input.info.get(i)) {
        matched = true;
        for l in info.labels.iter() {
            if l.name == METRIC_NAME
                || (!input.data_names.is_empty() && !input.data_names.contains(l.name))
            {
                continue;
            }
            if let Some(prev) = added.iter().find(|a| a.name == l.name) {
                if prev.value != l.value {
                    return Err(Error::Execution(format!("conflicting label: {}", l.name)));
                }
                continue;
            }
            if s.labels.has(l.name) {
                continue;
            }
            added.push(l);
        }
    }
    if !matched && !input.keep_unmatched {
        return Ok(None);
    }
    if added.is_empty() {
        return Ok(Some(s.labels.clone()));
    }
    // Added names are absent from the base set, so the merge only inserts.
    added.sort_unstable_by(|x, y| x.name.cmp(y.name));
    Ok(Some(s.labels.edited(|_| true, &added)))
}
