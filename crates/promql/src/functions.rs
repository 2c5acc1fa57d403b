//! The PromQL function registry: every Prometheus 3 function with its signature (argument and
//! return types, arity), what kind of function it is and whether it is safe under the `@`
//! modifier.
//!
//! This is the one table every consumer reads: the parser resolves each call to its entry once
//! (a [`Call`](crate::Call) holds `&'static FunctionSig`) and type-checks against it;
//! [`Expr::value_type`](crate::Expr::value_type) reads the return type; the evaluator dispatches
//! on [`FunctionKind`] and decides step invariance from [`FunctionSig::at_modifier_unsafe`]; the
//! promqltest runner derives Prometheus's `@`-modifier test variants from the same flag.
//! Prometheus keeps the same facts in `promql/parser/functions.go` (`Functions`) and
//! `promql/functions.go` (`AtModifierUnsafeFunctions`).

use crate::ast::ValueType;

/// What a function does, as far as its callers need to know: the evaluator dispatches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    /// One value per series and step from the samples of a range-vector window (`rate`,
    /// `*_over_time`, `deriv`, ...); the range argument is a range selector or a subquery.
    Range,
    /// Arithmetic on each sample of an instant vector (`abs`, `sqrt`, `clamp`, `round`, ...),
    /// or on scalars (`pi`, `min_of`, `max_of`).
    Math,
    /// Evaluation time and calendar fields (`time`, `timestamp`, `hour`, `day_of_week`, ...).
    Time,
    /// Values of the query itself (`start`, `end`, `range`, `step`): constant for a query.
    QueryContext,
    /// Label rewriting (`label_replace`, `label_join`).
    Label,
    /// Result ordering (`sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`).
    Sort,
    /// Histogram functions (`histogram_quantile`, `histogram_count`, ...).
    Histogram,
    /// Conversions between scalars and vectors (`scalar`, `vector`).
    Conversion,
    /// `absent`: a series when its argument has none.
    Absent,
    /// `info`: joins info-metric labels onto series.
    Info,
}

/// The signature of a PromQL function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSig {
    /// The name as written in queries (case-sensitive).
    pub name: &'static str,
    /// Argument types. With `variadic != 0` the last type may repeat or be omitted.
    pub arg_types: &'static [ValueType],
    /// 0: exactly `arg_types.len()` arguments. `n > 0`: between `arg_types.len() - 1` and
    /// `arg_types.len() - 1 + n` arguments. `-1`: at least `arg_types.len() - 1`, unbounded.
    pub variadic: i32,
    /// The type of the result.
    pub return_type: ValueType,
    /// Prometheus marks the function experimental (behind a feature flag there; always
    /// enabled here, as in Prometheus's own test suite).
    pub experimental: bool,
    /// The result can change with the evaluation time even when every argument is step
    /// invariant (`time()`, the calendar functions, `predict_linear`, the query-context
    /// functions), or it reads its argument's sample timestamps (`timestamp`). Prometheus's
    /// `AtModifierUnsafeFunctions`.
    pub at_modifier_unsafe: bool,
    /// What the function does.
    pub kind: FunctionKind,
}

impl FunctionSig {
    /// The fewest arguments the function accepts.
    pub fn min_args(&self) -> usize {
        if self.variadic == 0 {
            self.arg_types.len()
        } else {
            self.arg_types.len().saturating_sub(1)
        }
    }

    /// The most arguments the function accepts; `None` when unbounded.
    pub fn max_args(&self) -> Option<usize> {
        match self.variadic {
            0 => Some(self.arg_types.len()),
            n if n > 0 => Some(self.min_args() + n as usize),
            _ => None,
        }
    }

    /// The expected type of argument `index` (0-based), if the function takes that many.
    pub fn arg_type(&self, index: usize) -> Option<ValueType> {
        match self.arg_types.get(index) {
            Some(t) => Some(*t),
            None if self.variadic != 0 => self.arg_types.last().copied(),
            None => None,
        }
    }

    /// The index of the range-vector argument of a [`FunctionKind::Range`] function.
    pub fn range_arg(&self) -> Option<usize> {
        self.arg_types.iter().position(|t| *t == ValueType::Matrix)
    }

    const fn with_variadic(mut self, n: i32) -> Self {
        self.variadic = n;
        self
    }

    const fn as_experimental(mut self) -> Self {
        self.experimental = true;
        self
    }

    const fn as_at_modifier_unsafe(mut self) -> Self {
        self.at_modifier_unsafe = true;
        self
    }
}

/// A fixed-arity, stable, `@`-safe function; the builders above change that.
const fn sig(
    name: &'static str,
    arg_types: &'static [ValueType],
    return_type: ValueType,
    kind: FunctionKind,
) -> FunctionSig {
    FunctionSig {
        name,
        arg_types,
        variadic: 0,
        return_type,
        experimental: false,
        at_modifier_unsafe: false,
        kind,
    }
}

const S: ValueType = ValueType::Scalar;
const V: ValueType = ValueType::Vector;
const M: ValueType = ValueType::Matrix;
const STR: ValueType = ValueType::String;

use FunctionKind as Kind;

/// All functions, sorted by name.
static FUNCTIONS: &[FunctionSig] = &[
    sig("abs", &[V], V, Kind::Math),
    sig("absent", &[V], V, Kind::Absent),
    sig("absent_over_time", &[M], V, Kind::Range),
    sig("acos", &[V], V, Kind::Math),
    sig("acosh", &[V], V, Kind::Math),
    sig("asin", &[V], V, Kind::Math),
    sig("asinh", &[V], V, Kind::Math),
    sig("atan", &[V], V, Kind::Math),
    sig("atanh", &[V], V, Kind::Math),
    sig("avg_over_time", &[M], V, Kind::Range),
    sig("ceil", &[V], V, Kind::Math),
    sig("changes", &[M], V, Kind::Range),
    sig("clamp", &[V, S, S], V, Kind::Math),
    sig("clamp_max", &[V, S], V, Kind::Math),
    sig("clamp_min", &[V, S], V, Kind::Math),
    sig("cos", &[V], V, Kind::Math),
    sig("cosh", &[V], V, Kind::Math),
    sig("count_over_time", &[M], V, Kind::Range),
    sig("day_of_month", &[V], V, Kind::Time)
        .with_variadic(1)
        .as_at_modifier_unsafe(),
    sig("day_of_week", &[V], V, Kind::Time)
        .with_variadic(1)
        .as_at_modifier_unsafe(),
    sig("day_of_year", &[V], V, Kind::Time)
        .with_variadic(1)
        .as_at_modifier_unsafe(),
    sig("days_in_month", &[V], V, Kind::Time)
        .with_variadic(1)
        .as_at_modifier_unsafe(),
    sig("deg", &[V], V, Kind::Math),
    sig("delta", &[M], V, Kind::Range),
    sig("deriv", &[M], V, Kind::Range),
    sig("double_exponential_smoothing", &[M, S, S], V, Kind::Range).as_experimental(),
    sig("end", &[], S, Kind::QueryContext)
        .as_experimental()
        .as_at_modifier_unsafe(),
    sig("exp", &[V], V, Kind::Math),
    sig("first_over_time", &[M], V, Kind::Range).as_experimental(),
    sig("floor", &[V], V, Kind::Math),
    sig("histogram_avg", &[V], V, Kind::Histogram),
    sig("histogram_count", &[V], V, Kind::Histogram),
    sig("histogram_fraction", &[S, S, V], V, Kind::Histogram),
    sig("histogram_quantile", &[S, V], V, Kind::Histogram),
    sig("histogram_quantiles", &[V, STR, S, S], V, Kind::Histogram)
        .with_variadic(9)
        .as_experimental(),
    sig("histogram_stddev", &[V], V, Kind::Histogram),
    sig("histogram_stdvar", &[V], V, Kind::Histogram),
    sig("histogram_sum", &[V], V, Kind::Histogram),
    sig("hour", &[V], V, Kind::Time)
        .with_variadic(1)
        .as_at_modifier_unsafe(),
    sig("idelta", &[M], V, Kind::Range),
    sig("increase", &[M], V, Kind::Range),
    sig("info", &[V, V], V, Kind::Info)
        .with_variadic(1)
        .as_experimental(),
    sig("integral", &[M, S], V, Kind::Range)
        .with_variadic(1)
        .as_experimental(),
    sig("irate", &[M], V, Kind::Range),
    sig("label_join", &[V, STR, STR, STR], V, Kind::Label).with_variadic(-1),
    sig("label_replace", &[V, STR, STR, STR, STR], V, Kind::Label),
    sig("last_over_time", &[M], V, Kind::Range),
    sig("ln", &[V], V, Kind::Math),
    sig("log10", &[V], V, Kind::Math),
    sig("log2", &[V], V, Kind::Math),
    sig("mad_over_time", &[M], V, Kind::Range).as_experimental(),
    sig("max_of", &[S, S], S, Kind::Math).as_experimental(),
    sig("max_over_time", &[M], V, Kind::Range),
    sig("min_of", &[S, S], S, Kind::Math).as_experimental(),
    sig("min_over_time", &[M], V, Kind::Range),
    sig("minute", &[V], V, Kind::Time)
        .with_variadic(1)
        .as_at_modifier_unsafe(),
    sig("month", &[V], V, Kind::Time)
        .with_variadic(1)
        .as_at_modifier_unsafe(),
    sig("pi", &[], S, Kind::Math),
    sig("predict_linear", &[M, S], V, Kind::Range).as_at_modifier_unsafe(),
    sig("present_over_time", &[M], V, Kind::Range),
    sig("quantile_over_time", &[S, M], V, Kind::Range),
    sig("rad", &[V], V, Kind::Math),
    sig("range", &[], S, Kind::QueryContext)
        .as_experimental()
        .as_at_modifier_unsafe(),
    sig("rate", &[M], V, Kind::Range),
    sig("resets", &[M], V, Kind::Range),
    sig("round", &[V, S], V, Kind::Math).with_variadic(1),
    sig("scalar", &[V], S, Kind::Conversion),
    sig("sgn", &[V], V, Kind::Math),
    sig("sin", &[V], V, Kind::Math),
    sig("sinh", &[V], V, Kind::Math),
    sig("sort", &[V], V, Kind::Sort),
    sig("sort_by_label", &[V, STR], V, Kind::Sort)
        .with_variadic(-1)
        .as_experimental(),
    sig("sort_by_label_desc", &[V, STR], V, Kind::Sort)
        .with_variadic(-1)
        .as_experimental(),
    sig("sort_desc", &[V], V, Kind::Sort),
    sig("sqrt", &[V], V, Kind::Math),
    sig("start", &[], S, Kind::QueryContext)
        .as_experimental()
        .as_at_modifier_unsafe(),
    sig("stddev_over_time", &[M], V, Kind::Range),
    sig("stdvar_over_time", &[M], V, Kind::Range),
    sig("step", &[], S, Kind::QueryContext)
        .as_experimental()
        .as_at_modifier_unsafe(),
    sig("sum_over_time", &[M], V, Kind::Range),
    sig("tan", &[V], V, Kind::Math),
    sig("tanh", &[V], V, Kind::Math),
    sig("time", &[], S, Kind::Time).as_at_modifier_unsafe(),
    sig("timestamp", &[V], V, Kind::Time).as_at_modifier_unsafe(),
    sig("ts_of_first_over_time", &[M], V, Kind::Range).as_experimental(),
    sig("ts_of_last_over_time", &[M], V, Kind::Range).as_experimental(),
    sig("ts_of_max_over_time", &[M], V, Kind::Range).as_experimental(),
    sig("ts_of_min_over_time", &[M], V, Kind::Range).as_experimental(),
    sig("vector", &[S], V, Kind::Conversion),
    sig("year", &[V], V, Kind::Time)
        .with_variadic(1)
        .as_at_modifier_unsafe(),
];

/// Looks up a function by its exact name.
///
/// `holt_winters` is not here: Prometheus 3 renamed it to `double_exponential_smoothing`.
pub fn function(name: &str) -> Option<&'static FunctionSig> {
    FUNCTIONS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .and_then(|i| FUNCTIONS.get(i))
}

/// Every known function, sorted by name.
pub fn functions() -> &'static [FunctionSig] {
    FUNCTIONS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in FUNCTIONS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn lookups_and_arity() {
        let rate = function("rate").expect("rate exists");
        assert_eq!(rate.arg_types, &[ValueType::Matrix]);
        assert_eq!((rate.min_args(), rate.max_args()), (1, Some(1)));
        let round = function("round").expect("round exists");
        assert_eq!((round.min_args(), round.max_args()), (1, Some(2)));
        let join = function("label_join").expect("label_join exists");
        assert_eq!((join.min_args(), join.max_args()), (3, None));
        assert_eq!(join.arg_type(7), Some(ValueType::String));
        assert_eq!(
            function("time").map(|f| f.return_type),
            Some(ValueType::Scalar)
        );
        assert!(function("holt_winters").is_none());
        assert!(function("RATE").is_none());
    }

    /// Prometheus 3's `AtModifierUnsafeFunctions` (promql/functions.go), which both its engine
    /// (step invariance) and its test harness (`@` variants) read.
    #[test]
    fn at_modifier_unsafe_is_prometheus_list() {
        let unsafe_names: Vec<&str> = FUNCTIONS
            .iter()
            .filter(|f| f.at_modifier_unsafe)
            .map(|f| f.name)
            .collect();
        assert_eq!(
            unsafe_names,
            [
                "day_of_month",
                "day_of_week",
                "day_of_year",
                "days_in_month",
                "end",
                "hour",
                "minute",
                "month",
                "predict_linear",
                "range",
                "start",
                "step",
                "time",
                "timestamp",
                "year",
            ]
        );
    }

    #[test]
    fn kinds_follow_the_signatures() {
        for f in FUNCTIONS {
            // A range function is exactly one that takes a range vector.
            assert_eq!(
                f.kind == FunctionKind::Range,
                f.range_arg().is_some(),
                "{}",
                f.name
            );
            if f.kind == FunctionKind::QueryContext {
                assert!(f.arg_types.is_empty() && f.return_type == ValueType::Scalar);
                assert!(f.at_modifier_unsafe, "{}", f.name);
            }
        }
    }
}
