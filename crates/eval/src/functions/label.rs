//! Label functions: `label_replace` and `label_join`.

use promlite_model::METRIC_NAME;
use promlite_promql::ast::Call;

use crate::error::{Error, Result};
use crate::evaluator::{merge_same_labels, Evaluator};
use crate::series::{Grid, Val};

use super::{arg, label_name_arg, string_arg, string_arg_bytes, unknown_function};

/// Evaluates a [`promlite_promql::FunctionKind::Label`] call.
pub(super) fn eval_label(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    match c.name() {
        "label_replace" => label_replace(ev, c, grid),
        "label_join" => label_join(ev, c, grid),
        name => Err(unknown_function(name)),
    }
}

fn label_replace(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let replace = LabelReplace::prepare(ev, c)?;
    let series = ev.eval_vector(LabelReplace::vector_arg(c)?, grid)?;
    replace.apply(ev.opts.fast_path, series).map(Val::Vector)
}

/// A `label_replace` call's arguments, checked in Prometheus's order before its vector is
/// evaluated, so that a consumer fusing it (`crate::aggregate`) raises the same errors first.
pub(crate) struct LabelReplace {
    dst: String,
    repl: String,
    src: String,
    how: ReplaceHow,
}

enum ReplaceHow {
    /// The copy form (`crate::plan`).
    Copy(crate::pushdown::CopyKind),
    Regex(regex::Regex),
}

/// `label_replace(_, dst, "$1", src, "(.*)" | "(.+)")` on vectors where no series has `dst`:
/// each output series is its input with `dst` set to the input's `src` value when it has one
/// (both regexes then match, and a copy of nothing leaves `dst` absent either way).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FreshCopy<'a> {
    pub(crate) dst: &'a str,
    pub(crate) src: &'a str,
}

impl FreshCopy<'_> {
    /// The value label `name` has on the output series of `labels`.
    #[inline]
    pub(crate) fn value<'l>(
        &self,
        labels: &'l promlite_model::Labels,
        name: &str,
    ) -> Option<&'l str> {
        if name == self.dst {
            labels.get(self.src)
        } else {
            labels.get(name)
        }
    }
}

impl LabelReplace {
    /// The call's vector argument (evaluated after [`prepare`](Self::prepare)).
    pub(crate) fn vector_arg(c: &Call) -> Result<&promlite_promql::ast::Expr> {
        arg(c, 0)
    }

    pub(crate) fn prepare(ev: &Evaluator<'_>, c: &Call) -> Result<LabelReplace> {
        let dst = label_name_arg(c, 1)?;
        let repl = string_arg(c, 2)?;
        let src = string_arg(c, 3)?;
        // Go's regexp compiler rejects invalid UTF-8 (the regex is checked first, as there).
        let re_bytes = string_arg_bytes(c, 4)?;
        let re_src = std::str::from_utf8(re_bytes).map_err(|_| {
            Error::Execution(format!(
                "invalid regular expression in label_replace(): {}",
                String::from_utf8_lossy(re_bytes)
            ))
        })?;
        // Fast path: `"$1"` with `(.*)`/`(.+)` copies the source value unchanged, so the regex
        // engine (and a String per series) is not needed; the shared label string is reused.
        // Those two regexes are valid, so nothing is compiled at all: compiling one costs more
        // than the rest of a small query.
        // The plan reads the same literals (`crate::plan`); off the fast path it never copies.
        let how = match ev.plan.label_copy(c) {
            Some(kind) => ReplaceHow::Copy(kind),
            None => {
                ReplaceHow::Regex(regex::Regex::new(&format!("^(?s:{re_src})$")).map_err(|_| {
                    Error::Execution(format!(
                        "invalid regular expression in label_replace(): {re_src}"
                    ))
                })?)
            }
        };
        let dst = dst.map_err(|dst| {
            Error::Execution(format!(
                "invalid destination label name in label_replace(): {dst}"
            ))
        })?;
        Ok(LabelReplace {
            dst,
            repl,
            src,
            how,
        })
    }

    /// The copy this call makes on `series`, if it is in the copy form and no series has the
    /// destination label (nor is it `__name__`, whose removal a flag defers): then every output
    /// series' labels follow from its input's through [`FreshCopy::value`], and no two outputs
    /// can be equal (see [`apply`](Self::apply)), so the call cannot fail.
    pub(crate) fn fresh_copy(&self, series: &[crate::series::Series]) -> Option<FreshCopy<'_>> {
        let ReplaceHow::Copy(_) = self.how else {
            return None;
        };
        let dst = self.dst.as_str();
        (dst != METRIC_NAME && !series.iter().any(|s| s.labels.has(dst))).then_some(FreshCopy {
            dst,
            src: &self.src,
        })
    }

    /// `label_replace` of the evaluated `series`; `memoize` (the fast path) reuses the regex's
    /// outcome for a source value equal to the previous series'.
    pub(crate) fn apply(
        &self,
        memoize: bool,
        mut series: Vec<crate::series::Series>,
    ) -> Result<Vec<crate::series::Series>> {
        let LabelReplace {
            dst,
            repl,
            src,
            how,
        } = self;
        // The output has distinct label sets without checking when no input series has
        // `dst`: inputs are distinct (every vector the evaluator produces is), and each output
        // is either its input unchanged or its input plus `dst`, so two outputs can only be
        // equal if their inputs were. `__name__` is excluded: its removal is deferred by a flag.
        let mut dst_anywhere = dst == METRIC_NAME;
        // Rule: the regex's match and expansion depend only on the source value, so a series
        // whose source value equals the previous series' reuses that outcome instead of
        // running the regex again. With the source label `""` (no label has an empty name, so
        // every value is `""`: the kubernetes-mixin's
        // `label_replace(..., "workload_type", "deployment", "", "")`) the regex runs once for
        // the whole vector; replicas of one object sit next to each other in label order and
        // share values too. Off the fast path every series runs it.
        // The previous source value and its outcome: the value to set, or `None` for no match.
        let mut memo: Option<(String, Option<String>)> = None;
        for s in &mut series {
            let re = match how {
                ReplaceHow::Copy(kind) => {
                    // One walk over the set finds `dst` and `src` and builds the copy (one new
                    // buffer, or the set itself if `dst` already has the value).
                    let (had_dst, copied) = s.labels.copied(src, dst);
                    dst_anywhere = dst_anywhere || had_dst;
                    let copied = match (copied, kind) {
                        (Some(labels), _) => Some(labels),
                        // `(.*)` matches the absent source's "": the copy removes `dst`,
                        // which changes the set only where it is present.
                        (None, crate::pushdown::CopyKind::Any) if had_dst => {
                            Some(s.labels.without_label(dst))
                        }
                        (None, _) => None,
                    };
                    if let Some(labels) = copied {
                        s.labels = labels;
                        if dst == METRIC_NAME {
                            s.drop_name = false;
                        }
                    }
                    continue;
                }
                ReplaceHow::Regex(re) => re,
            };
            dst_anywhere = dst_anywhere || s.labels.has(dst);
            let src_val = s.labels.get(src).unwrap_or("");
            let outcome = match &mut memo {
                Some((key, outcome)) if memoize && key == src_val => outcome.as_deref(),
                _ => {
                    let outcome = re.captures(src_val).map(|caps| {
                        let mut value = String::new();
                        caps.expand(repl, &mut value);
                        value
                    });
                    let (key, kept) = memo.get_or_insert_with(|| (String::new(), None));
                    // Off the fast path the key is never compared: no copy of it either.
                    if memoize {
                        key.clear();
                        key.push_str(src_val);
                    }
                    *kept = outcome;
                    kept.as_deref()
                }
            };
            if let Some(value) = outcome {
                s.labels = s.labels.with_pair(dst, value);
                if dst == METRIC_NAME {
                    s.drop_name = false;
                }
            }
        }
        if !dst_anywhere {
            return Ok(series);
        }
        merge_same_labels(series)
    }
}

fn label_join(ev: &mut Evaluator<'_>, c: &Call, grid: &Grid) -> Result<Val> {
    let dst = label_name_arg(c, 1)?;
    let sep = string_arg(c, 2)?;
    let mut srcs = Vec::new();
    for i in 3..c.args.len() {
        let s = label_name_arg(c, i)?.map_err(|s| {
            Error::Execution(format!("invalid source label name in label_join(): {s}"))
        })?;
        srcs.push(s);
    }
    let dst = dst.map_err(|dst| {
        Error::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        ))
    })?;
    let mut series = ev.eval_vector(arg(c, 0)?, grid)?;
    for s in &mut series {
        let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
        let value = joined.join(&sep);
        let mut lb = s.labels.builder();
        lb.set(dst.as_str(), value);
        s.labels = lb.build();
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(Val::Vector(merge_same_labels(series)?))
}
