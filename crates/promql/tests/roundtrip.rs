//! Property tests: printing any well-typed tree and parsing it back gives the same tree, and
//! the parser never panics on arbitrary text.

use promlite_model::{MatchOp, Matcher};
use promlite_promql::{
    parse, Aggregate, AggregateOp, At, Binary, BinaryOp, Call, Cardinality, Expr, Group,
    MatchingLabels, MatrixSelector, Span, Subquery, UnaryOp, VectorMatching, VectorSelector,
};
use proptest::prelude::*;

/// Builds trees from a stream of choices, so proptest can shrink the stream toward small trees
/// (choice 0 always picks the simplest option).
struct Gen<'a> {
    choices: &'a [u32],
    pos: usize,
}

impl Gen<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let v = self.choices.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v as usize % n
    }

    fn from<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.pick(items.len())].clone()
    }

    fn flag(&mut self) -> bool {
        self.pick(2) == 1
    }
}

const METRICS: &[&str] = &[
    "foo",
    "http_requests_total",
    "sum",
    "by",
    "offset",
    "and",
    "start",
    "foo:bar",
    ":x",
    "nan_x",
    "Inf_x",
    "avg",
];
const LABELS: &[&str] = &[
    "job",
    "a",
    "on",
    "by",
    "a.b",
    "with space",
    "é",
    "sum",
    "group_left",
    "foo:bar",
];
const INCLUDE_LABELS: &[&str] = &["x", "y", "bool", "le"];
const VALUES: &[&str] = &[
    "",
    "v",
    "a\"b",
    "back\\slash",
    "new\nline",
    "tab\t",
    "ü→😀",
    "\u{1}\u{7f}\u{85}",
    "'",
    "`",
];
/// String-literal values made with byte escapes: PromQL strings are byte strings, so most are
/// not valid UTF-8 (they become [`Expr::ByteString`]); `\xc3\xa9` is `é`.
const BYTE_VALUES: &[&[u8]] = &[b"a\xc5z", b"\xff", b"\xe2\x82x", b"\xc3\xa9", b"\x80\"\\\n"];
const REGEXES: &[&str] = &[".*", ".+", "a|b", "fo+", "(?i)x", "[a-z]+", "\\d+", "a\\.b"];
const DURATIONS: &[i64] = &[
    1,
    500,
    1_000,
    60_000,
    300_000,
    5_400_000,
    86_400_000,
    604_800_000,
    31_536_000_000,
    90_061_001,
];
const TIMESTAMPS: &[i64] = &[0, 1_000, -1_000, 1_500, 123_456_789, -5, 1_700_000_000_123];
const NUMBERS: &[f64] = &[
    0.0,
    1.0,
    0.5,
    -1.0,
    -0.0,
    1e300,
    1e-300,
    123.456,
    9007199254740993.0,
    5e-324,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

fn span() -> Span {
    Span::default()
}

fn selector(g: &mut Gen<'_>) -> VectorSelector {
    let named = g.pick(3) != 0;
    let mut matchers = Vec::new();
    if !named {
        // At least one matcher must not match the empty string.
        matchers.push(Matcher::equal(g.from(LABELS), "nonempty"));
    }
    for _ in 0..g.pick(3) {
        let name = g.from(LABELS);
        let m = match g.pick(4) {
            0 => Matcher::equal(name, g.from(VALUES)),
            1 => Matcher::new(MatchOp::NotEqual, name, g.from(VALUES)).expect("no regex"),
            2 => Matcher::new(MatchOp::Regex, name, g.from(REGEXES)).expect("valid regex"),
            _ => Matcher::new(MatchOp::NotRegex, name, g.from(REGEXES)).expect("valid regex"),
        };
        matchers.push(m);
    }
    if g.pick(4) == 0 && !named {
        matchers.insert(0, Matcher::equal("__name__", "my.metric"));
    }
    let name = named.then(|| g.from(METRICS).to_string());
    if let Some(n) = &name {
        matchers.push(Matcher::equal("__name__", n.clone()));
    }
    let offset = if g.pick(3) == 0 {
        if g.flag() {
            -g.from(DURATIONS)
        } else {
            g.from(DURATIONS)
        }
    } else {
        0
    };
    VectorSelector {
        name,
        matchers,
        offset,
        at: at(g),
        span: span(),
    }
}

fn at(g: &mut Gen<'_>) -> Option<At> {
    match g.pick(6) {
        0 => Some(At::Timestamp(g.from(TIMESTAMPS))),
        1 => Some(At::Start),
        2 => Some(At::End),
        _ => None,
    }
}

fn paren(e: Expr) -> Expr {
    Expr::Paren(Box::new(e))
}

/// Wraps operands the way the parser would have seen them written, so the tree is canonical.
fn binary(op: BinaryOp, lhs: Expr, rhs: Expr, return_bool: bool, matching: VectorMatching) -> Expr {
    let needs = |e: &Expr, is_lhs: bool| match e {
        Expr::Binary(b) => {
            b.op.precedence() < op.precedence()
                || (b.op.precedence() == op.precedence() && op.is_right_associative() == is_lhs)
        }
        Expr::Unary(..) => is_lhs && op == BinaryOp::Pow,
        Expr::Number(v) => is_lhs && op == BinaryOp::Pow && v.is_sign_negative() && !v.is_nan(),
        _ => false,
    };
    let lhs = if needs(&lhs, true) { paren(lhs) } else { lhs };
    let rhs = if needs(&rhs, false) { paren(rhs) } else { rhs };
    Expr::Binary(Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        return_bool,
        matching,
    })
}

fn unary(g: &mut Gen<'_>, inner: Expr) -> Expr {
    let inner = match inner {
        // A sign on a literal folds into it, and only `^` binds tighter than a sign.
        Expr::Number(_) => paren(inner),
        Expr::Binary(ref b) if b.op != BinaryOp::Pow => paren(inner),
        other => other,
    };
    Expr::Unary(
        if g.flag() { UnaryOp::Neg } else { UnaryOp::Pos },
        Box::new(inner),
    )
}

fn call(func: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(Call {
        func: promlite_promql::function(func).expect("the generator calls known functions"),
        args,
        span: span(),
    })
}

fn scalar(g: &mut Gen<'_>, depth: u32) -> Expr {
    if depth == 0 {
        return Expr::Number(g.from(NUMBERS));
    }
    match g.pick(7) {
        0 | 1 => Expr::Number(g.from(NUMBERS)),
        2 => match g.pick(4) {
            0 => call("time", vec![]),
            1 => call("pi", vec![]),
            2 => call("scalar", vec![vector(g, depth - 1)]),
            _ => call("min_of", vec![scalar(g, depth - 1), scalar(g, depth - 1)]),
        },
        3 => {
            let op = g.from(&[
                BinaryOp::Add,
                BinaryOp::Sub,
                BinaryOp::Mul,
                BinaryOp::Div,
                BinaryOp::Mod,
                BinaryOp::Pow,
                BinaryOp::Atan2,
                BinaryOp::Gtr,
                BinaryOp::Eql,
            ]);
            let (l, r) = (scalar(g, depth - 1), scalar(g, depth - 1));
            binary(op, l, r, op.is_comparison(), VectorMatching::default())
        }
        4 => paren(scalar(g, depth - 1)),
        5 => {
            let inner = scalar(g, depth - 1);
            unary(g, inner)
        }
        _ => call("scalar", vec![vector(g, depth - 1)]),
    }
}

fn grouping(g: &mut Gen<'_>) -> Vec<String> {
    (0..g.pick(3)).map(|_| g.from(LABELS).to_string()).collect()
}

fn vector(g: &mut Gen<'_>, depth: u32) -> Expr {
    if depth == 0 {
        return Expr::VectorSelector(selector(g));
    }
    match g.pick(9) {
        0 | 1 => Expr::VectorSelector(selector(g)),
        2 => match g.pick(6) {
            0 => call(
                g.from(&["abs", "ceil", "sort", "timestamp", "sgn", "absent"]),
                vec![vector(g, depth - 1)],
            ),
            1 => call(
                g.from(&["rate", "increase", "sum_over_time", "changes"]),
                vec![matrix(g, depth - 1)],
            ),
            2 => call(
                "quantile_over_time",
                vec![scalar(g, depth - 1), matrix(g, depth - 1)],
            ),
            3 => {
                let mut args = vec![vector(g, depth - 1)];
                for _ in 0..4 {
                    args.push(string_literal(g));
                }
                call("label_replace", args)
            }
            4 => call(
                "round",
                if g.flag() {
                    vec![vector(g, depth - 1)]
                } else {
                    vec![vector(g, depth - 1), scalar(g, depth - 1)]
                },
            ),
            _ => call("vector", vec![scalar(g, depth - 1)]),
        },
        3 => {
            let op = g.from(&[
                AggregateOp::Sum,
                AggregateOp::Avg,
                AggregateOp::Count,
                AggregateOp::Min,
                AggregateOp::Max,
                AggregateOp::Group,
                AggregateOp::Stddev,
                AggregateOp::Stdvar,
                AggregateOp::Topk,
                AggregateOp::Bottomk,
                AggregateOp::Quantile,
                AggregateOp::CountValues,
                AggregateOp::Limitk,
                AggregateOp::LimitRatio,
            ]);
            let param = if op == AggregateOp::CountValues {
                Some(Box::new(string_literal(g)))
            } else if op.takes_param() {
                Some(Box::new(scalar(g, depth - 1)))
            } else {
                None
            };
            let without = g.pick(3) == 0;
            let grouping = grouping(g);
            Expr::Aggregate(Aggregate {
                op,
                expr: Box::new(vector(g, depth - 1)),
                param,
                grouping,
                without,
            })
        }
        4 | 5 => {
            let op = g.from(&[
                BinaryOp::Add,
                BinaryOp::Sub,
                BinaryOp::Mul,
                BinaryOp::Div,
                BinaryOp::Mod,
                BinaryOp::Pow,
                BinaryOp::Atan2,
                BinaryOp::Eql,
                BinaryOp::Neq,
                BinaryOp::Gtr,
                BinaryOp::Lss,
                BinaryOp::Gte,
                BinaryOp::Lte,
                BinaryOp::And,
                BinaryOp::Or,
                BinaryOp::Unless,
            ]);
            let shape = if op.is_set() { 0 } else { g.pick(3) };
            let (lhs, rhs) = match shape {
                0 => (vector(g, depth - 1), vector(g, depth - 1)),
                1 => (scalar(g, depth - 1), vector(g, depth - 1)),
                _ => (vector(g, depth - 1), scalar(g, depth - 1)),
            };
            let return_bool = op.is_comparison() && g.flag();
            let mut matching = VectorMatching::default();
            if shape == 0 && g.flag() {
                matching.labels = Some(MatchingLabels {
                    on: g.flag(),
                    names: grouping(g),
                });
                if !op.is_set() && g.flag() {
                    let card = if g.flag() {
                        Cardinality::ManyToOne
                    } else {
                        Cardinality::OneToMany
                    };
                    let include = (0..g.pick(3))
                        .map(|_| g.from(INCLUDE_LABELS).to_string())
                        .collect();
                    matching.group = Some(Group { card, include });
                }
            }
            binary(op, lhs, rhs, return_bool, matching)
        }
        6 => paren(vector(g, depth - 1)),
        7 => {
            let inner = vector(g, depth - 1);
            unary(g, inner)
        }
        _ => call("max_over_time", vec![matrix(g, depth - 1)]),
    }
}

fn matrix(g: &mut Gen<'_>, depth: u32) -> Expr {
    if depth == 0 || g.flag() {
        let mut vs = selector(g);
        let (offset, at) = (vs.offset, vs.at);
        // Modifiers of a range selector are written after the range; keep them as generated.
        vs.offset = offset;
        vs.at = at;
        return Expr::MatrixSelector(MatrixSelector {
            selector: vs,
            range: g.from(DURATIONS),
        });
    }
    let inner = vector(g, depth - 1);
    let inner = match inner {
        Expr::Binary(_) | Expr::Unary(..) => paren(inner),
        other => other,
    };
    let offset = if g.flag() { g.from(DURATIONS) } else { 0 };
    Expr::Subquery(Subquery {
        expr: Box::new(inner),
        range: g.from(DURATIONS),
        step: if g.flag() {
            Some(g.from(DURATIONS))
        } else {
            None
        },
        offset,
        at: at(g),
    })
}

/// A string literal: usually UTF-8, sometimes arbitrary bytes.
fn string_literal(g: &mut Gen<'_>) -> Expr {
    if g.pick(4) == 3 {
        Expr::string_from_bytes(g.from(BYTE_VALUES).to_vec())
    } else {
        Expr::String(g.from(VALUES).to_string())
    }
}

fn top(g: &mut Gen<'_>) -> Expr {
    match g.pick(6) {
        0 => scalar(g, 4),
        1 => matrix(g, 4),
        2 => string_literal(g),
        _ => vector(g, 4),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// print → parse → same tree, for every well-typed canonical tree.
    #[test]
    fn printed_trees_parse_back(choices in prop::collection::vec(any::<u32>(), 0..200)) {
        let mut g = Gen { choices: &choices, pos: 0 };
        let expr = top(&mut g);
        let printed = expr.to_string();
        if std::env::var_os("SHOW_TREES").is_some() { eprintln!("{printed}"); }
        let parsed = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}\n{e}")))?;
        prop_assert!(parsed.same_as(&expr), "printed: {}\nreprinted: {}\n{:?}\n{:?}", printed, parsed, expr, parsed);
        prop_assert_eq!(parsed.to_string(), printed);
    }

    /// Arbitrary PromQL-ish text never panics, and whatever parses prints back to itself.
    #[test]
    fn arbitrary_text_never_panics(text in "[a-z_:{}()\\[\\]=~!<>+*/%^@,\"'` 0-9.\\-#\n]{0,60}") {
        if let Ok(expr) = parse(&text) {
            let printed = expr.to_string();
            let again = parse(&printed).map_err(|e| TestCaseError::fail(format!("{text:?} printed as {printed:?}: {e}")))?;
            prop_assert!(again.same_as(&expr), "{:?} printed as {:?}", text, printed);
        }
    }
}
