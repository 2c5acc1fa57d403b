//! The PromQL abstract syntax tree.
//!
//! This is the contract between the parser (this crate) and the evaluator (`promlite-eval`).
//! All durations and timestamps are milliseconds. Constant duration arithmetic
//! (`foo[5m + 1m]`) is folded by the parser, so the evaluator only sees plain numbers.

use promlite_model::Matcher;

use crate::functions::FunctionSig;

/// A byte range in the query text, for error messages (`start..end`, 0-based byte offsets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

/// The four PromQL value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A single number.
    Scalar,
    /// An instant vector.
    Vector,
    /// A range vector.
    Matrix,
    /// A string.
    String,
}

impl ValueType {
    /// The name Prometheus uses in messages and in the HTTP API (`scalar`, `vector`, `matrix`,
    /// `string`).
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }
}

/// A PromQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number literal (`1`, `1e3`, `0x1F`, `Inf`, `NaN`, `1_000`).
    Number(f64),
    /// A string literal, unescaped, whose value is valid UTF-8 (nearly every literal).
    String(String),
    /// A string literal whose unescaped value is not valid UTF-8: PromQL strings are Go byte
    /// strings, and `\x`/octal escapes can produce any byte (`"a\xc5z"`).
    ///
    /// Invariant: the bytes are never valid UTF-8; a valid value is always [`Expr::String`], so
    /// each value has one representation. Build either form with [`Expr::string_from_bytes`].
    ByteString(Vec<u8>),
    /// `foo{a="b"} offset 5m @ 100`
    VectorSelector(VectorSelector),
    /// `foo{a="b"}[5m]`
    MatrixSelector(MatrixSelector),
    /// `expr[1h:5m]`
    Subquery(Subquery),
    /// `-expr` / `+expr`
    Unary(UnaryOp, Box<Expr>),
    /// `lhs op rhs`
    Binary(Binary),
    /// `(expr)`
    Paren(Box<Expr>),
    /// `func(args...)`
    Call(Call),
    /// `sum by (a) (expr)`
    Aggregate(Aggregate),
}

/// An instant vector selector.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSelector {
    /// The metric name if written outside the braces (`foo{...}`); informational, the matchers
    /// already contain the equivalent `__name__="foo"` matcher.
    pub name: Option<String>,
    /// All label matchers, including `__name__`.
    pub matchers: Vec<Matcher>,
    /// `offset` in milliseconds (negative allowed); 0 when absent.
    pub offset: i64,
    /// The `@` modifier.
    pub at: Option<At>,
    /// Where the selector stands in the query.
    pub span: Span,
}

/// The `@` modifier's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// A fixed time in milliseconds.
    Timestamp(i64),
    /// `@ start()`
    Start,
    /// `@ end()`
    End,
}

/// A range vector selector.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSelector {
    /// The selector the range applies to.
    pub selector: VectorSelector,
    /// The range in milliseconds (> 0).
    pub range: i64,
}

/// A subquery `expr[range:step] offset o @ t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    /// The inner expression (must be an instant vector).
    pub expr: Box<Expr>,
    /// The range in milliseconds.
    pub range: i64,
    /// The resolution in milliseconds; `None` uses the engine's default evaluation interval.
    pub step: Option<i64>,
    /// `offset` in milliseconds.
    pub offset: i64,
    /// The `@` modifier.
    pub at: Option<At>,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `+`
    Pos,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^` (right-associative)
    Pow,
    /// `atan2`
    Atan2,
    /// `==`
    Eql,
    /// `!=`
    Neq,
    /// `>`
    Gtr,
    /// `<`
    Lss,
    /// `>=`
    Gte,
    /// `<=`
    Lte,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Eql => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Gtr => ">",
            BinaryOp::Lss => "<",
            BinaryOp::Gte => ">=",
            BinaryOp::Lte => "<=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Unless => "unless",
        }
    }

    /// Binding strength, higher binds tighter (Prometheus: `or` < `and unless` < comparisons <
    /// `+ -` < `* / % atan2` < `^`).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And | BinaryOp::Unless => 2,
            BinaryOp::Eql
            | BinaryOp::Neq
            | BinaryOp::Gtr
            | BinaryOp::Lss
            | BinaryOp::Gte
            | BinaryOp::Lte => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Atan2 => 5,
            BinaryOp::Pow => 6,
        }
    }

    /// True for `^`, the only right-associative operator.
    pub fn is_right_associative(self) -> bool {
        self == BinaryOp::Pow
    }

    /// True for comparison operators (which filter unless `bool` is given).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eql
                | BinaryOp::Neq
                | BinaryOp::Gtr
                | BinaryOp::Lss
                | BinaryOp::Gte
                | BinaryOp::Lte
        )
    }

    /// True for the set operators `and`, `or`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }
}

/// Matching cardinality of a vector/vector binary operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cardinality {
    /// Default for arithmetic and comparisons.
    OneToOne,
    /// `group_left`
    ManyToOne,
    /// `group_right`
    OneToMany,
    /// Set operators.
    ManyToMany,
}

/// The `on`/`ignoring` and `group_left`/`group_right` modifiers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VectorMatching {
    /// `Some` for `on(...)`/`ignoring(...)`; `None` when neither was written.
    pub labels: Option<MatchingLabels>,
    /// `group_left(...)`/`group_right(...)`: the side and the extra labels to copy from the
    /// "one" side. `None` when no grouping was written.
    pub group: Option<Group>,
}

/// `on(labels)` or `ignoring(labels)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchingLabels {
    /// True for `on`, false for `ignoring`.
    pub on: bool,
    /// The label names, as written.
    pub names: Vec<String>,
}

/// `group_left(include)` or `group_right(include)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `ManyToOne` for `group_left`, `OneToMany` for `group_right`.
    pub card: Cardinality,
    /// Labels to copy from the "one" side (may be empty).
    pub include: Vec<String>,
}

/// A binary operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    /// The operator.
    pub op: BinaryOp,
    /// Left operand.
    pub lhs: Box<Expr>,
    /// Right operand.
    pub rhs: Box<Expr>,
    /// The `bool` modifier on a comparison.
    pub return_bool: bool,
    /// Vector matching modifiers (only meaningful when both sides are vectors).
    pub matching: VectorMatching,
}

impl Binary {
    /// The effective cardinality: the written grouping, `ManyToMany` for set operators, else
    /// `OneToOne`.
    pub fn cardinality(&self) -> Cardinality {
        if self.op.is_set() {
            return Cardinality::ManyToMany;
        }
        self.matching
            .group
            .as_ref()
            .map_or(Cardinality::OneToOne, |g| g.card)
    }
}

/// A function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function, resolved once by the parser from the name as written (`rate`,
    /// `label_replace`, ...); the parser has checked that argument count and types fit.
    pub func: &'static FunctionSig,
    /// The arguments.
    pub args: Vec<Expr>,
    /// Where the call stands in the query.
    pub span: Span,
}

impl Call {
    /// The function's name.
    pub fn name(&self) -> &'static str {
        self.func.name
    }
}

/// Aggregation operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `count`
    Count,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `group`
    Group,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `topk`
    Topk,
    /// `bottomk`
    Bottomk,
    /// `quantile`
    Quantile,
    /// `count_values`
    CountValues,
    /// `limitk`
    Limitk,
    /// `limit_ratio`
    LimitRatio,
}

impl AggregateOp {
    /// The operator's name.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateOp::Sum => "sum",
            AggregateOp::Avg => "avg",
            AggregateOp::Count => "count",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Group => "group",
            AggregateOp::Stddev => "stddev",
            AggregateOp::Stdvar => "stdvar",
            AggregateOp::Topk => "topk",
            AggregateOp::Bottomk => "bottomk",
            AggregateOp::Quantile => "quantile",
            AggregateOp::CountValues => "count_values",
            AggregateOp::Limitk => "limitk",
            AggregateOp::LimitRatio => "limit_ratio",
        }
    }

    /// True for operators whose output is some of their input series, labels and all
    /// (`topk`, `bottomk`, `limitk`, `limit_ratio`), rather than one series per group.
    pub fn selects_series(self) -> bool {
        matches!(
            self,
            AggregateOp::Topk
                | AggregateOp::Bottomk
                | AggregateOp::Limitk
                | AggregateOp::LimitRatio
        )
    }

    /// True for operators that take a parameter before the expression.
    pub fn takes_param(self) -> bool {
        matches!(
            self,
            AggregateOp::Topk
                | AggregateOp::Bottomk
                | AggregateOp::Quantile
                | AggregateOp::CountValues
                | AggregateOp::Limitk
                | AggregateOp::LimitRatio
        )
    }
}

/// An aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The operator.
    pub op: AggregateOp,
    /// The aggregated expression.
    pub expr: Box<Expr>,
    /// The parameter for `topk`, `quantile`, `count_values`, ...
    pub param: Option<Box<Expr>>,
    /// Grouping labels, as written.
    pub grouping: Vec<String>,
    /// True for `without(...)`, false for `by(...)` or no clause.
    pub without: bool,
}

impl Expr {
    /// A string literal with value `bytes`: [`Expr::String`] when they are valid UTF-8,
    /// [`Expr::ByteString`] otherwise.
    pub fn string_from_bytes(bytes: Vec<u8>) -> Expr {
        match String::from_utf8(bytes) {
            Ok(s) => Expr::String(s),
            Err(e) => Expr::ByteString(e.into_bytes()),
        }
    }

    /// The value of a string literal of either form, as bytes; `None` for other expressions
    /// (parentheses included).
    pub fn string_bytes(&self) -> Option<&[u8]> {
        match self {
            Expr::String(s) => Some(s.as_bytes()),
            Expr::ByteString(b) => Some(b),
            _ => None,
        }
    }

    /// The type the expression evaluates to, as Prometheus's type checker sees it.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) | Expr::ByteString(_) => ValueType::String,
            Expr::VectorSelector(_) | Expr::Aggregate(_) => ValueType::Vector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Unary(_, inner) | Expr::Paren(inner) => inner.value_type(),
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar
                    && b.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Call(c) => c.func.return_type,
        }
    }

    /// The direct sub-expressions, in the order Prometheus's `Children` lists them (operands
    /// left to right, call arguments in order, an aggregation's expression before its
    /// parameter). A matrix selector has none: its selector is not an [`Expr`].
    pub fn children(&self) -> Children<'_> {
        let (first, second, rest): (Option<&Expr>, Option<&Expr>, &[Expr]) = match self {
            Expr::Number(_)
            | Expr::String(_)
            | Expr::ByteString(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_) => (None, None, &[]),
            Expr::Subquery(sq) => (Some(&sq.expr), None, &[]),
            Expr::Unary(_, inner) | Expr::Paren(inner) => (Some(inner), None, &[]),
            Expr::Binary(b) => (Some(&b.lhs), Some(&b.rhs), &[]),
            Expr::Call(c) => (None, None, &c.args),
            Expr::Aggregate(a) => (Some(&a.expr), a.param.as_deref(), &[]),
        };
        Children {
            first,
            second,
            rest: rest.iter(),
        }
    }

    /// [`Expr::children`], mutably.
    pub fn children_mut(&mut self) -> ChildrenMut<'_> {
        let (first, second, rest): (Option<&mut Expr>, Option<&mut Expr>, &mut [Expr]) = match self
        {
            Expr::Number(_)
            | Expr::String(_)
            | Expr::ByteString(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_) => (None, None, &mut []),
            Expr::Subquery(sq) => (Some(&mut sq.expr), None, &mut []),
            Expr::Unary(_, inner) | Expr::Paren(inner) => (Some(inner), None, &mut []),
            Expr::Binary(b) => (Some(&mut b.lhs), Some(&mut b.rhs), &mut []),
            Expr::Call(c) => (None, None, &mut c.args),
            Expr::Aggregate(a) => (Some(&mut a.expr), a.param.as_deref_mut(), &mut []),
        };
        ChildrenMut {
            first,
            second,
            rest: rest.iter_mut(),
        }
    }

    /// Visits `self` and its descendants in pre-order (Prometheus's `parser.Inspect`): `visit`
    /// sees a node before its children and returns whether to descend into them. Recursion is
    /// as deep as the tree, which the parser bounds ([`crate::MAX_DEPTH`]).
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Expr) -> bool) {
        if visit(self) {
            for child in self.children() {
                child.walk(visit);
            }
        }
    }

    /// [`Expr::walk`] with mutable access: `visit` may change a node (not replace its
    /// children's count) before its children are visited.
    pub fn walk_mut(&mut self, visit: &mut impl FnMut(&mut Expr) -> bool) {
        if visit(self) {
            for child in self.children_mut() {
                child.walk_mut(visit);
            }
        }
    }

    /// Structural equality: like `==` but ignores [`Span`]s and treats NaN literals as equal.
    /// Printing and re-parsing a tree gives a tree that is `same_as` the original.
    pub fn same_as(&self, other: &Expr) -> bool {
        fn selector(a: &VectorSelector, b: &VectorSelector) -> bool {
            a.name == b.name && a.matchers == b.matchers && a.offset == b.offset && a.at == b.at
        }
        // The nodes' own fields (what `children` does not cover), then the children pairwise.
        let own = match (self, other) {
            (Expr::Number(a), Expr::Number(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Expr::String(a), Expr::String(b)) => a == b,
            (Expr::ByteString(a), Expr::ByteString(b)) => a == b,
            (Expr::VectorSelector(a), Expr::VectorSelector(b)) => selector(a, b),
            (Expr::MatrixSelector(a), Expr::MatrixSelector(b)) => {
                a.range == b.range && selector(&a.selector, &b.selector)
            }
            (Expr::Subquery(a), Expr::Subquery(b)) => {
                a.range == b.range && a.step == b.step && a.offset == b.offset && a.at == b.at
            }
            (Expr::Unary(op_a, _), Expr::Unary(op_b, _)) => op_a == op_b,
            (Expr::Binary(a), Expr::Binary(b)) => {
                a.op == b.op && a.return_bool == b.return_bool && a.matching == b.matching
            }
            (Expr::Paren(_), Expr::Paren(_)) => true,
            (Expr::Call(a), Expr::Call(b)) => a.func.name == b.func.name,
            (Expr::Aggregate(a), Expr::Aggregate(b)) => {
                a.op == b.op && a.grouping == b.grouping && a.without == b.without
            }
            _ => false,
        };
        own && self.children().count() == other.children().count()
            && self
                .children()
                .zip(other.children())
                .all(|(x, y)| x.same_as(y))
    }
}

/// The direct sub-expressions of an [`Expr`]; see [`Expr::children`].
#[derive(Debug, Clone)]
pub struct Children<'a> {
    first: Option<&'a Expr>,
    second: Option<&'a Expr>,
    rest: std::slice::Iter<'a, Expr>,
}

impl<'a> Iterator for Children<'a> {
    type Item = &'a Expr;

    fn next(&mut self) -> Option<&'a Expr> {
        self.first
            .take()
            .or_else(|| self.second.take())
            .or_else(|| self.rest.next())
    }
}

/// The direct sub-expressions of an [`Expr`], mutably; see [`Expr::children_mut`].
#[derive(Debug)]
pub struct ChildrenMut<'a> {
    first: Option<&'a mut Expr>,
    second: Option<&'a mut Expr>,
    rest: std::slice::IterMut<'a, Expr>,
}

impl<'a> Iterator for ChildrenMut<'a> {
    type Item = &'a mut Expr;

    fn next(&mut self) -> Option<&'a mut Expr> {
        self.first
            .take()
            .or_else(|| self.second.take())
            .or_else(|| self.rest.next())
    }
}
