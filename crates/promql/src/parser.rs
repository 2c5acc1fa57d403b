//! The PromQL parser: precedence climbing over the lexer's tokens, with Prometheus's type
//! checks applied as each node is built.
//!
//! Binding, loosest to tightest: `or` < `and unless` < comparisons < `+ -` < `* / % atan2` <
//! unary `-`/`+` < `^` (right-associative) < the postfix `offset`, `@`, `[range]` and
//! `[range:step]`. So `-2 ^ 2` is `-(2 ^ 2)` and `-a * b` is `(-a) * b`, as in Prometheus, whose
//! grammar gives unary operators the precedence of `*`.
//!
//! Invariant: every recursive descent goes through [`Parser::expr`], which counts nesting, and
//! every node reports its tree depth; both are bounded by [`MAX_DEPTH`], so neither parsing nor
//! the recursive walks over the result (drop, print, evaluate) can overflow the stack.

use promlite_model::{MatchOp, Matcher, METRIC_NAME};

use crate::ast::{
    Aggregate, AggregateOp, At, Binary, BinaryOp, Call, Cardinality, Expr, Group, MatchingLabels,
    MatrixSelector, Span, Subquery, UnaryOp, ValueType, VectorMatching, VectorSelector,
};
use crate::error::ParseError;
use crate::functions::function;
use crate::lexer::{go_quote, tokenize, Token, TokenKind};

/// The deepest expression tree (and the deepest parser recursion) accepted. Deeper queries get
/// a parse error instead of risking the stack.
pub const MAX_DEPTH: u32 = 256;

/// Precedence of unary minus/plus: that of `*`, so only `^` binds tighter.
const UNARY_OPERAND_PRECEDENCE: u8 = 6;

/// Parses a PromQL expression and type-checks it as Prometheus does.
///
/// ```
/// let expr = promlite_promql::parse("sum by (job) (rate(http_requests_total[5m]))").unwrap();
/// assert_eq!(expr.to_string(), "sum by (job) (rate(http_requests_total[5m]))");
///
/// let err = promlite_promql::parse("rate(foo)").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
/// );
/// ```
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(input);
    let mut parser = Parser {
        input,
        tokens,
        pos: 0,
        nesting: 0,
        allow_empty_selector: false,
        check_error: None,
    };
    if parser.peek().kind == TokenKind::Eof {
        return Err(ParseError::new(input, 0, "no expression found in input"));
    }
    let node = parser.expr(0)?;
    if parser.peek().kind != TokenKind::Eof {
        return Err(parser.unexpected("", ""));
    }
    match parser.check_error {
        Some(type_error) => Err(type_error),
        None => Ok(node.expr),
    }
}

/// A parsed expression with its extent and tree depth.
struct Node {
    expr: Expr,
    start: usize,
    end: usize,
    depth: u32,
}

type PResult<T> = Result<T, ParseError>;

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    nesting: u32,
    /// Set while parsing the second argument of `info()`, whose label selector may consist of
    /// matchers that all match the empty string.
    allow_empty_selector: bool,
    /// The first type error (Prometheus's `checkAST` errors). Reported only if the whole query
    /// is syntactically valid, as Prometheus type-checks only then.
    check_error: Option<ParseError>,
}

/// Parsed call or aggregation arguments.
struct Args {
    nodes: Vec<Node>,
    /// Offset just past the closing parenthesis.
    end: usize,
    /// The argument while parsing which the first deferred type error was recorded, if that
    /// error was recorded inside this argument list.
    first_error_in: Option<usize>,
}

const AGGREGATORS: &[(&str, AggregateOp)] = &[
    ("avg", AggregateOp::Avg),
    ("bottomk", AggregateOp::Bottomk),
    ("count", AggregateOp::Count),
    ("count_values", AggregateOp::CountValues),
    ("group", AggregateOp::Group),
    ("limit_ratio", AggregateOp::LimitRatio),
    ("limitk", AggregateOp::Limitk),
    ("max", AggregateOp::Max),
    ("min", AggregateOp::Min),
    ("quantile", AggregateOp::Quantile),
    ("stddev", AggregateOp::Stddev),
    ("stdvar", AggregateOp::Stdvar),
    ("sum", AggregateOp::Sum),
    ("topk", AggregateOp::Topk),
];

/// Keywords (case-insensitive) that Prometheus's lexer emits as keyword tokens.
const KEYWORDS: &[&str] = &[
    "anchored",
    "bool",
    "by",
    "group_left",
    "group_right",
    "ignoring",
    "offset",
    "on",
    "smoothed",
    "without",
];

/// Keywords that can never be a metric name (Prometheus's `metric_identifier` excludes them).
const NOT_METRIC_NAMES: &[&str] = &[
    "bool",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "atan2",
];

/// The word operators.
const WORD_OPERATORS: &[&str] = &["and", "or", "unless", "atan2"];

fn aggregate_op(word: &str) -> Option<AggregateOp> {
    AGGREGATORS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|(_, op)| *op)
}

/// True for identifiers that the printer must not emit as a bare metric name.
pub(crate) fn is_reserved_metric_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    NOT_METRIC_NAMES.contains(&lower.as_str()) || lower == "inf" || lower == "nan"
}

/// Prometheus's name for a value type in messages (`instant vector`, `range vector`, ...).
pub(crate) fn documented_type(t: ValueType) -> &'static str {
    match t {
        ValueType::Scalar => "scalar",
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

/// Go's `%f`: six decimals, `+Inf`, `-Inf`, `NaN`.
fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v:.6}")
    }
}

fn seconds_to_ms(seconds: f64) -> Option<i64> {
    // Prometheus rounds to nanoseconds, then truncates to milliseconds.
    let ns = (seconds * 1e9).round();
    let ms = (ns / 1e6).trunc();
    (ms.is_finite() && ms.abs() < 9.2e18).then_some(ms as i64)
}

/// Functions Prometheus allows in duration expressions; promlite folds durations to constants
/// and rejects these.
const DURATION_FUNCTIONS: &[&str] = &["step", "range", "min_of", "max_of", "start", "end"];

/// The largest duration in seconds that fits Go's `time.Duration`.
const MAX_DURATION_SECONDS: f64 = 9_223_372_036.854_775;

impl Parser<'_> {
    // ---- token helpers -------------------------------------------------------------------

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        let idx = (self.pos + n).min(self.tokens.len().saturating_sub(1));
        // The lexer always ends the stream with Eof or Error, so the list is never empty.
        static EOF: Token = Token {
            kind: TokenKind::Eof,
            start: 0,
            end: 0,
        };
        self.tokens.get(idx).unwrap_or(&EOF)
    }

    fn advance(&mut self) -> Token {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len().saturating_sub(1) {
            self.pos += 1;
        }
        tok
    }

    fn text(&self, tok: &Token) -> &str {
        self.input.get(tok.start..tok.end).unwrap_or("")
    }

    fn is_word(&self, tok: &Token, word: &str) -> bool {
        tok.kind == TokenKind::Ident && self.text(tok).eq_ignore_ascii_case(word)
    }

    fn peek_word(&self, word: &str) -> bool {
        self.is_word(self.peek(), word)
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.input, offset, message)
    }

    /// How Prometheus describes a token in "unexpected" messages.
    fn describe(&self, tok: &Token) -> String {
        let text = self.text(tok);
        let quoted_val = || {
            if text.chars().count() > 10 {
                let short: String = text.chars().take(10).collect();
                format!("{}...", go_quote(&short))
            } else {
                go_quote(text)
            }
        };
        match &tok.kind {
            TokenKind::Eof => "end of input".into(),
            TokenKind::Error(message) => message.clone(),
            TokenKind::Number(_) => format!("number {}", quoted_val()),
            TokenKind::Duration(_) => format!("duration {}", quoted_val()),
            TokenKind::String(_) | TokenKind::ByteString(_) => {
                format!("string {}", quoted_val())
            }
            TokenKind::Ident => {
                let lower = text.to_ascii_lowercase();
                if WORD_OPERATORS.contains(&lower.as_str()) {
                    format!("<op:{text}>")
                } else if aggregate_op(&lower).is_some() {
                    format!("<aggr:{text}>")
                } else if KEYWORDS.contains(&lower.as_str()) {
                    format!("<{text}>")
                } else if lower == "inf" || lower == "nan" {
                    format!("number {}", go_quote(text))
                } else if text.contains(':') {
                    format!("metric identifier {}", go_quote(text))
                } else {
                    format!("identifier {}", go_quote(text))
                }
            }
            TokenKind::Assign
            | TokenKind::LParen
            | TokenKind::RParen
            | TokenKind::LBrace
            | TokenKind::RBrace
            | TokenKind::LBracket
            | TokenKind::RBracket
            | TokenKind::Comma
            | TokenKind::Colon => go_quote(text),
            _ => format!("<op:{text}>"),
        }
    }

    /// Prometheus's "unexpected X in CONTEXT, expected Y" for the current token. A lexical
    /// error token reports its own message instead.
    fn unexpected(&self, context: &str, expected: &str) -> ParseError {
        let tok = self.peek();
        if let TokenKind::Error(message) = &tok.kind {
            return self.error(tok.start, message.clone());
        }
        let mut message = format!("unexpected {}", self.describe(tok));
        if !context.is_empty() {
            message.push_str(" in ");
            message.push_str(context);
        }
        if !expected.is_empty() {
            message.push_str(", expected ");
            message.push_str(expected);
        }
        self.error(tok.start, message)
    }

    fn expect(&mut self, kind: &TokenKind, context: &str, expected: &str) -> PResult<Token> {
        if &self.peek().kind == kind {
            Ok(self.advance())
        } else {
            Err(self.unexpected(context, expected))
        }
    }

    /// Records a type error unless an earlier one is already recorded.
    fn check(&mut self, offset: usize, message: String) {
        if self.check_error.is_none() {
            self.check_error = Some(self.error(offset, message));
        }
    }

    fn check_depth(&self, depth: u32, offset: usize) -> PResult<()> {
        if depth > MAX_DEPTH {
            return Err(self.error(
                offset,
                format!("expression nesting exceeds the maximum depth of {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    // ---- expressions ---------------------------------------------------------------------

    /// An expression whose binary operators all bind at least as tightly as `min_precedence`.
    fn expr(&mut self, min_precedence: u8) -> PResult<Node> {
        self.nesting += 1;
        let result = if self.nesting > MAX_DEPTH {
            Err(self.error(
                self.peek().start,
                format!("expression nesting exceeds the maximum depth of {MAX_DEPTH}"),
            ))
        } else {
            self.binary_expr(min_precedence)
        };
        self.nesting -= 1;
        result
    }

    fn binary_expr(&mut self, min_precedence: u8) -> PResult<Node> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek_binary_op() {
            let precedence = op.precedence();
            if precedence < min_precedence {
                break;
            }
            let op_tok = self.advance();
            let (return_bool, matching) = self.bin_modifiers()?;
            let next_min = if op.is_right_associative() {
                precedence
            } else {
                precedence + 1
            };
            let rhs = self.expr(next_min)?;
            lhs = self.binary(op, op_tok.start, lhs, rhs, return_bool, matching)?;
        }
        Ok(lhs)
    }

    fn peek_binary_op(&self) -> Option<BinaryOp> {
        let tok = self.peek();
        Some(match tok.kind {
            TokenKind::Add => BinaryOp::Add,
            TokenKind::Sub => BinaryOp::Sub,
            TokenKind::Mul => BinaryOp::Mul,
            TokenKind::Div => BinaryOp::Div,
            TokenKind::Mod => BinaryOp::Mod,
            TokenKind::Pow => BinaryOp::Pow,
            TokenKind::Eqlc => BinaryOp::Eql,
            TokenKind::Neq => BinaryOp::Neq,
            TokenKind::Gtr => BinaryOp::Gtr,
            TokenKind::Lss => BinaryOp::Lss,
            TokenKind::Gte => BinaryOp::Gte,
            TokenKind::Lte => BinaryOp::Lte,
            TokenKind::Ident => {
                let text = self.text(tok);
                if text.eq_ignore_ascii_case("and") {
                    BinaryOp::And
                } else if text.eq_ignore_ascii_case("or") {
                    BinaryOp::Or
                } else if text.eq_ignore_ascii_case("unless") {
                    BinaryOp::Unless
                } else if text.eq_ignore_ascii_case("atan2") {
                    BinaryOp::Atan2
                } else {
                    return None;
                }
            }
            _ => return None,
        })
    }

    /// `bool`, `on(...)`/`ignoring(...)` and `group_left(...)`/`group_right(...)` after an operator.
    fn bin_modifiers(&mut self) -> PResult<(bool, VectorMatching)> {
        let mut return_bool = false;
        let mut matching = VectorMatching::default();
        if self.peek_word("bool") {
            self.advance();
            return_bool = true;
        }
        let on = if self.peek_word("on") {
            Some(true)
        } else if self.peek_word("ignoring") {
            Some(false)
        } else {
            None
        };
        if let Some(on) = on {
            self.advance();
            let names = self.grouping_labels()?;
            matching.labels = Some(MatchingLabels { on, names });
            let card = if self.peek_word("group_left") {
                Some(Cardinality::ManyToOne)
            } else if self.peek_word("group_right") {
                Some(Cardinality::OneToMany)
            } else {
                None
            };
            if let Some(card) = card {
                self.advance();
                let include = if self.peek().kind == TokenKind::LParen {
                    self.grouping_labels()?
                } else {
                    Vec::new()
                };
                matching.group = Some(Group { card, include });
            }
        }
        // Prometheus 3.x's experimental `fill(v)` / `fill_left(v)` / `fill_right(v)` binary
        // modifiers have no place in the AST; refuse them clearly rather than as an unknown
        // function.
        let tok = self.peek().clone();
        if ["fill", "fill_left", "fill_right"]
            .iter()
            .any(|w| self.is_word(&tok, w))
            && self.peek_at(1).kind == TokenKind::LParen
        {
            let word = self.text(&tok).to_ascii_lowercase();
            return Err(self.error(
                tok.start,
                format!("the experimental {word}() binary operator modifier is not supported"),
            ));
        }
        Ok((return_bool, matching))
    }

    /// Builds a binary expression; records Prometheus's `checkAST` errors for it.
    fn binary(
        &mut self,
        op: BinaryOp,
        op_pos: usize,
        lhs: Node,
        rhs: Node,
        return_bool: bool,
        matching: VectorMatching,
    ) -> PResult<Node> {
        let lt = lhs.expr.value_type();
        let rt = rhs.expr.value_type();
        if return_bool && !op.is_comparison() {
            self.check(
                op_pos,
                "bool modifier can only be used on comparison operators".into(),
            );
        }
        if op.is_comparison() && !return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar
        {
            self.check(
                op_pos,
                "comparisons between scalars must use BOOL modifier".into(),
            );
        }
        if let (Some(labels), Some(group)) = (&matching.labels, &matching.group) {
            if labels.on {
                if let Some(dup) = labels.names.iter().find(|l| group.include.contains(l)) {
                    let message = format!(
                        "label {} must not occur in ON and GROUP clause at once",
                        go_quote(dup)
                    );
                    self.check(op_pos, message);
                }
            }
        }
        for (t, start) in [(lt, lhs.start), (rt, rhs.start)] {
            if t != ValueType::Scalar && t != ValueType::Vector {
                self.check(
                    start,
                    "binary expression must contain only scalar and instant vector types".into(),
                );
            }
        }
        let both_vectors = lt == ValueType::Vector && rt == ValueType::Vector;
        if !both_vectors {
            if matching
                .labels
                .as_ref()
                .is_some_and(|l| !l.names.is_empty())
            {
                self.check(
                    lhs.start,
                    "vector matching only allowed between instant vectors".into(),
                );
            }
        } else if op.is_set() && matching.group.is_some() {
            self.check(
                lhs.start,
                format!(
                    "no grouping allowed for {} operation",
                    go_quote(op.as_str())
                ),
            );
        }
        if op.is_set() && (lt == ValueType::Scalar || rt == ValueType::Scalar) {
            let message = format!(
                "set operator {} not allowed in binary scalar expression",
                go_quote(op.as_str())
            );
            self.check(lhs.start, message);
        }
        let depth = lhs.depth.max(rhs.depth) + 1;
        self.check_depth(depth, op_pos)?;
        let (start, end) = (lhs.start, rhs.end);
        Ok(Node {
            expr: Expr::Binary(Binary {
                op,
                lhs: Box::new(lhs.expr),
                rhs: Box::new(rhs.expr),
                return_bool,
                matching,
            }),
            start,
            end,
            depth,
        })
    }

    fn unary(&mut self) -> PResult<Node> {
        let op = match self.peek().kind {
            TokenKind::Sub => UnaryOp::Neg,
            TokenKind::Add => UnaryOp::Pos,
            _ => return self.postfix(),
        };
        let op_tok = self.advance();
        let operand = self.expr(UNARY_OPERAND_PRECEDENCE)?;
        if let Expr::Number(v) = operand.expr {
            // Prometheus folds a sign into a number literal.
            let v = if op == UnaryOp::Neg { -v } else { v };
            return Ok(Node {
                expr: Expr::Number(v),
                start: op_tok.start,
                end: operand.end,
                depth: operand.depth,
            });
        }
        let t = operand.expr.value_type();
        if t != ValueType::Scalar && t != ValueType::Vector {
            let message = format!(
                "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                go_quote(documented_type(t))
            );
            self.check(op_tok.start, message);
        }
        let depth = operand.depth + 1;
        self.check_depth(depth, op_tok.start)?;
        Ok(Node {
            expr: Expr::Unary(op, Box::new(operand.expr)),
            start: op_tok.start,
            end: operand.end,
            depth,
        })
    }

    /// A primary expression followed by any `[range]`, `[range:step]`, `offset` and `@`.
    fn postfix(&mut self) -> PResult<Node> {
        let mut node = self.primary()?;
        loop {
            let tok = self.peek().clone();
            node = match tok.kind {
                TokenKind::LBracket => self.range_or_subquery(node)?,
                TokenKind::At => self.at_modifier(node)?,
                TokenKind::Ident if self.is_word(&tok, "offset") => self.offset_modifier(node)?,
                TokenKind::Ident
                    if self.is_word(&tok, "anchored") || self.is_word(&tok, "smoothed") =>
                {
                    return Err(self.error(
                        tok.start,
                        format!(
                            "the experimental {} modifier is not supported",
                            self.text(&tok).to_ascii_lowercase()
                        ),
                    ));
                }
                _ => return Ok(node),
            };
        }
    }

    fn primary(&mut self) -> PResult<Node> {
        let tok = self.peek().clone();
        let leaf = |expr| Node {
            expr,
            start: tok.start,
            end: tok.end,
            depth: 1,
        };
        match &tok.kind {
            TokenKind::Number(v) => {
                self.advance();
                Ok(leaf(Expr::Number(*v)))
            }
            TokenKind::Duration(ms) => {
                // Prometheus 3: a duration where a number is expected means seconds.
                self.advance();
                Ok(leaf(Expr::Number(*ms as f64 / 1000.0)))
            }
            TokenKind::String(s) => {
                self.advance();
                Ok(leaf(Expr::String(s.clone())))
            }
            TokenKind::ByteString(bytes) => {
                self.advance();
                Ok(leaf(Expr::ByteString(bytes.clone())))
            }
            TokenKind::LParen => {
                self.advance();
                let inner = self.expr(0)?;
                let close = self.expect(&TokenKind::RParen, "", "")?;
                let depth = inner.depth + 1;
                self.check_depth(depth, tok.start)?;
                Ok(Node {
                    expr: Expr::Paren(Box::new(inner.expr)),
                    start: tok.start,
                    end: close.end,
                    depth,
                })
            }
            TokenKind::LBrace => self.vector_selector(None),
            TokenKind::Ident => self.ident_primary(tok),
            _ => Err(self.unexpected("", "")),
        }
    }

    fn ident_primary(&mut self, tok: Token) -> PResult<Node> {
        let text = self.text(&tok).to_string();
        let lower = text.to_ascii_lowercase();
        let leaf = |expr| Node {
            expr,
            start: tok.start,
            end: tok.end,
            depth: 1,
        };
        if lower == "inf" {
            self.advance();
            return Ok(leaf(Expr::Number(f64::INFINITY)));
        }
        if lower == "nan" {
            self.advance();
            return Ok(leaf(Expr::Number(f64::NAN)));
        }
        let next = self.peek_at(1).clone();
        if let Some(op) = aggregate_op(&lower) {
            if next.kind == TokenKind::LParen
                || self.is_word(&next, "by")
                || self.is_word(&next, "without")
            {
                return self.aggregate(op);
            }
        }
        if NOT_METRIC_NAMES.contains(&lower.as_str()) {
            return Err(self.unexpected("", ""));
        }
        // `word(` is a call unless the word is a keyword that can be a metric name (then the
        // `(` is a syntax error); names with colons are never functions.
        if next.kind == TokenKind::LParen
            && !text.contains(':')
            && (function(&text).is_some() || !KEYWORDS.contains(&lower.as_str()))
        {
            return self.call(tok);
        }
        self.vector_selector(Some(tok))
    }

    // ---- selectors -----------------------------------------------------------------------

    /// `name`, `name{...}` or `{...}`.
    fn vector_selector(&mut self, name_tok: Option<Token>) -> PResult<Node> {
        let start = self.peek().start;
        let mut end = self.peek().end;
        let name = name_tok.as_ref().map(|t| self.text(t).to_string());
        if name.is_some() {
            self.advance();
        }
        let allow_empty = std::mem::take(&mut self.allow_empty_selector);
        let mut matchers = Vec::new();
        if self.peek().kind == TokenKind::LBrace {
            self.advance();
            loop {
                if self.peek().kind == TokenKind::RBrace {
                    end = self.advance().end;
                    break;
                }
                matchers.push(self.label_matcher()?);
                match self.peek().kind {
                    TokenKind::Comma => {
                        self.advance();
                    }
                    TokenKind::RBrace => {}
                    _ => return Err(self.unexpected("label matching", "\",\" or \"}\"")),
                }
            }
        }
        if let Some(name) = &name {
            if let Some(m) = matchers.iter().find(|m| m.name == METRIC_NAME) {
                let message = format!(
                    "metric name must not be set twice: {} or {}",
                    go_quote(name),
                    go_quote(&m.value)
                );
                self.check(start, message);
            }
            matchers.push(Matcher::equal(METRIC_NAME, name.clone()));
        } else if !allow_empty && matchers.iter().all(Matcher::matches_empty) {
            self.check(
                start,
                "vector selector must contain at least one non-empty matcher".into(),
            );
        }
        let span = Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        };
        Ok(Node {
            expr: Expr::VectorSelector(VectorSelector {
                name,
                matchers,
                offset: 0,
                at: None,
                span,
            }),
            start,
            end,
            depth: 1,
        })
    }

    fn label_matcher(&mut self) -> PResult<Matcher> {
        let tok = self.peek().clone();
        let name = match &tok.kind {
            TokenKind::Ident => self.text(&tok).to_string(),
            TokenKind::String(s) => s.clone(),
            TokenKind::ByteString(bytes) => {
                // Label names and values are Rust strings in promlite, so a matcher cannot hold
                // invalid UTF-8. Prometheus accepts such names (they match no stored series,
                // whose labels are valid UTF-8); promlite rejects the query here instead.
                return Err(self.error(
                    tok.start,
                    format!(
                        "invalid label name {}: label names must be valid UTF-8",
                        crate::quote::go_quote(bytes)
                    ),
                ));
            }
            _ => return Err(self.unexpected("label matching", "identifier or \"}\"")),
        };
        self.advance();
        let op = match self.peek().kind {
            TokenKind::Assign => MatchOp::Equal,
            TokenKind::Neq => MatchOp::NotEqual,
            TokenKind::RegexMatch => MatchOp::Regex,
            TokenKind::RegexNoMatch => MatchOp::NotRegex,
            _ if matches!(tok.kind, TokenKind::String(_)) => {
                // A lone quoted name: `{"my.metric"}`.
                return Ok(Matcher::equal(METRIC_NAME, name));
            }
            _ => return Err(self.unexpected("label matching", "label matching operator")),
        };
        self.advance();
        let value_tok = self.peek().clone();
        let value = match &value_tok.kind {
            TokenKind::String(value) => value,
            TokenKind::ByteString(bytes) => {
                // Prometheus rejects invalid UTF-8 in regex matchers (Go's regexp compiler does)
                // and accepts it in `=`/`!=` matchers, where it matches like any value no series
                // has. promlite matchers hold Rust strings, so every form is rejected here.
                return Err(self.error(
                    value_tok.start,
                    format!(
                        "invalid label matcher value {}: label values must be valid UTF-8",
                        crate::quote::go_quote(bytes)
                    ),
                ));
            }
            _ => return Err(self.unexpected("label matching", "string")),
        };
        self.advance();
        Matcher::new(op, name, value.clone())
            .map_err(|e| self.error(value_tok.start, e.to_string()))
    }

    fn range_or_subquery(&mut self, node: Node) -> PResult<Node> {
        let open = self.advance();
        let range = self.positive_duration(
            "subquery or range selector",
            "number, duration, step(), or range()",
        )?;
        match self.peek().kind {
            TokenKind::RBracket => {
                let close = self.advance();
                let Expr::VectorSelector(selector) = node.expr else {
                    return Err(self.error(open.start, "ranges only allowed for vector selectors"));
                };
                if selector.offset != 0 {
                    return Err(self.error(open.start, "no offset modifiers allowed before range"));
                }
                if selector.at.is_some() {
                    return Err(self.error(open.start, "no @ modifiers allowed before range"));
                }
                Ok(Node {
                    expr: Expr::MatrixSelector(MatrixSelector { selector, range }),
                    start: node.start,
                    end: close.end,
                    depth: node.depth + 1,
                })
            }
            TokenKind::Colon => {
                self.advance();
                let step = if self.peek().kind == TokenKind::RBracket {
                    None
                } else {
                    Some(self.positive_duration(
                        "subquery selector",
                        "number, duration, step(), range(), or \"]\"",
                    )?)
                };
                let close = self.expect(&TokenKind::RBracket, "subquery selector", "\"]\"")?;
                let t = node.expr.value_type();
                if t != ValueType::Vector {
                    return Err(self.error(
                        node.start,
                        format!(
                            "subquery is only allowed on instant vector, got {} instead",
                            t.as_str()
                        ),
                    ));
                }
                let depth = node.depth + 1;
                self.check_depth(depth, open.start)?;
                Ok(Node {
                    expr: Expr::Subquery(Subquery {
                        expr: Box::new(node.expr),
                        range,
                        step,
                        offset: 0,
                        at: None,
                    }),
                    start: node.start,
                    end: close.end,
                    depth,
                })
            }
            _ => Err(self.unexpected("subquery or range", "\":\" or \"]\"")),
        }
    }

    fn offset_modifier(&mut self, mut node: Node) -> PResult<Node> {
        let kw = self.advance();
        let seconds = self.offset_duration()?;
        let offset =
            seconds_to_ms(seconds).ok_or_else(|| self.error(kw.start, "duration out of range"))?;
        let slot = match &mut node.expr {
            Expr::VectorSelector(vs) => &mut vs.offset,
            Expr::MatrixSelector(ms) => &mut ms.selector.offset,
            Expr::Subquery(sq) => &mut sq.offset,
            _ => {
                return Err(self.error(
                    node.start,
                    "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                ))
            }
        };
        if *slot != 0 {
            return Err(self.error(node.start, "offset may not be set multiple times"));
        }
        *slot = offset;
        node.end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(node.end, |t| t.end);
        Ok(node)
    }

    fn at_modifier(&mut self, mut node: Node) -> PResult<Node> {
        self.advance();
        let tok = self.peek().clone();
        let at = match &tok.kind {
            TokenKind::Ident if self.is_word(&tok, "start") || self.is_word(&tok, "end") => {
                self.advance();
                self.expect(&TokenKind::LParen, "@", "\"(\"")?;
                self.expect(&TokenKind::RParen, "@", "\")\"")?;
                if self.is_word(&tok, "start") {
                    At::Start
                } else {
                    At::End
                }
            }
            _ => {
                let seconds = self
                    .signed_number()
                    .ok_or_else(|| self.unexpected("@", "timestamp"))?;
                let ms = (seconds * 1000.0).round();
                if !seconds.is_finite() || ms >= i64::MAX as f64 || ms <= i64::MIN as f64 {
                    return Err(self.error(
                        node.start,
                        format!(
                            "timestamp out of bounds for @ modifier: {}",
                            go_float(seconds)
                        ),
                    ));
                }
                At::Timestamp(ms as i64)
            }
        };
        let slot = match &mut node.expr {
            Expr::VectorSelector(vs) => &mut vs.at,
            Expr::MatrixSelector(ms) => &mut ms.selector.at,
            Expr::Subquery(sq) => &mut sq.at,
            _ => {
                return Err(self.error(
                    node.start,
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                ))
            }
        };
        if slot.is_some() {
            return Err(self.error(node.start, "@ <timestamp> may not be set multiple times"));
        }
        *slot = Some(at);
        node.end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(node.end, |t| t.end);
        Ok(node)
    }

    /// An optionally signed number or duration (in seconds), consumed only if present.
    fn signed_number(&mut self) -> Option<f64> {
        let sign_len = usize::from(matches!(self.peek().kind, TokenKind::Add | TokenKind::Sub));
        let negative = self.peek().kind == TokenKind::Sub;
        let value_tok = self.peek_at(sign_len).clone();
        let value = match &value_tok.kind {
            TokenKind::Number(v) => *v,
            TokenKind::Duration(ms) => *ms as f64 / 1000.0,
            TokenKind::Ident if self.is_word(&value_tok, "inf") => f64::INFINITY,
            TokenKind::Ident if self.is_word(&value_tok, "nan") => f64::NAN,
            _ => return None,
        };
        for _ in 0..=sign_len {
            self.advance();
        }
        Some(if negative { -value } else { value })
    }

    // ---- durations -----------------------------------------------------------------------

    /// The operand of `offset`: a signed literal, or a parenthesised duration expression.
    /// (`foo offset 5m + 1m` is `(foo offset 5m) + 60`, as in Prometheus.)
    fn offset_duration(&mut self) -> PResult<f64> {
        let expected = "number, duration, step(), or range()";
        let negative = match self.peek().kind {
            TokenKind::Sub => {
                self.advance();
                true
            }
            TokenKind::Add => {
                self.advance();
                false
            }
            _ => false,
        };
        let tok = self.peek().clone();
        let value = match &tok.kind {
            TokenKind::Number(v) => {
                self.advance();
                *v
            }
            TokenKind::Duration(ms) => {
                self.advance();
                *ms as f64 / 1000.0
            }
            TokenKind::LParen => self.duration_primary("offset", expected)?,
            TokenKind::Ident if self.peek_at(1).kind == TokenKind::LParen => {
                self.duration_primary("offset", expected)?
            }
            _ => return Err(self.unexpected("offset", expected)),
        };
        let value = if negative { -value } else { value };
        if value.is_nan() || value.abs() > MAX_DURATION_SECONDS {
            return Err(self.error(tok.start, "duration out of range"));
        }
        Ok(value)
    }

    /// A range or subquery step: a duration expression that must be positive, in milliseconds.
    fn positive_duration(&mut self, context: &str, expected: &str) -> PResult<i64> {
        let start = self.peek().start;
        let seconds = self.duration_expr(0, context, expected)?;
        if seconds.is_nan() || seconds.abs() > MAX_DURATION_SECONDS {
            return Err(self.error(start, "duration out of range"));
        }
        match seconds_to_ms(seconds) {
            Some(ms) if ms > 0 => Ok(ms),
            _ => Err(self.error(start, "duration must be greater than 0")),
        }
    }

    /// Experimental duration arithmetic (`5m + 1m`, `(1h - 5m) * 2`), folded to seconds.
    fn duration_expr(&mut self, min_precedence: u8, context: &str, expected: &str) -> PResult<f64> {
        self.nesting += 1;
        let result = if self.nesting > MAX_DEPTH {
            Err(self.error(
                self.peek().start,
                format!("expression nesting exceeds the maximum depth of {MAX_DEPTH}"),
            ))
        } else {
            self.duration_binary(min_precedence, context, expected)
        };
        self.nesting -= 1;
        result
    }

    fn duration_binary(
        &mut self,
        min_precedence: u8,
        context: &str,
        expected: &str,
    ) -> PResult<f64> {
        let mut lhs = match self.peek().kind {
            TokenKind::Sub | TokenKind::Add => {
                let negative = self.advance().kind == TokenKind::Sub;
                let v = self.duration_expr(UNARY_OPERAND_PRECEDENCE, context, expected)?;
                if negative {
                    -v
                } else {
                    v
                }
            }
            _ => self.duration_primary(context, expected)?,
        };
        loop {
            let op = match self.peek().kind {
                TokenKind::Add => BinaryOp::Add,
                TokenKind::Sub => BinaryOp::Sub,
                TokenKind::Mul => BinaryOp::Mul,
                TokenKind::Div => BinaryOp::Div,
                TokenKind::Mod => BinaryOp::Mod,
                TokenKind::Pow => BinaryOp::Pow,
                _ => break,
            };
            let precedence = op.precedence();
            if precedence < min_precedence {
                break;
            }
            let op_tok = self.advance();
            let next_min = if op.is_right_associative() {
                precedence
            } else {
                precedence + 1
            };
            let rhs = self.duration_expr(next_min, context, expected)?;
            lhs = match op {
                BinaryOp::Add => lhs + rhs,
                BinaryOp::Sub => lhs - rhs,
                BinaryOp::Mul => lhs * rhs,
                BinaryOp::Div if rhs == 0.0 => {
                    return Err(self.error(op_tok.start, "division by zero"))
                }
                BinaryOp::Div => lhs / rhs,
                BinaryOp::Mod if rhs == 0.0 => {
                    return Err(self.error(op_tok.start, "modulo by zero"))
                }
                BinaryOp::Mod => lhs % rhs,
                _ => lhs.powf(rhs),
            };
        }
        Ok(lhs)
    }

    fn duration_primary(&mut self, context: &str, expected: &str) -> PResult<f64> {
        let tok = self.peek().clone();
        match &tok.kind {
            TokenKind::Number(v) => {
                self.advance();
                Ok(*v)
            }
            TokenKind::Duration(ms) => {
                self.advance();
                Ok(*ms as f64 / 1000.0)
            }
            TokenKind::LParen => {
                self.advance();
                let v = self.duration_expr(0, context, expected)?;
                self.expect(&TokenKind::RParen, context, "\")\"")?;
                Ok(v)
            }
            TokenKind::Ident if DURATION_FUNCTIONS.iter().any(|f| self.is_word(&tok, f)) => {
                let name = self.text(&tok).to_ascii_lowercase();
                if self.peek_at(1).kind != TokenKind::LParen {
                    // Like Prometheus: the keyword is taken, the next token is unexpected.
                    self.advance();
                    return Err(self.unexpected(context, expected));
                }
                Err(self.error(
                    tok.start,
                    format!("{name}() in a duration expression is not supported: durations must be constant"),
                ))
            }
            _ => Err(self.unexpected(context, expected)),
        }
    }

    // ---- calls and aggregations ----------------------------------------------------------

    /// `( args )`, with Prometheus's trailing-comma error. Also notes inside which argument the
    /// first deferred type error was recorded.
    fn call_args(&mut self, info_call: bool) -> PResult<Args> {
        self.expect(&TokenKind::LParen, "", "\"(\"")?;
        let had_error = self.check_error.is_some();
        let mut args = Args {
            nodes: Vec::new(),
            end: 0,
            first_error_in: None,
        };
        if self.peek().kind == TokenKind::RParen {
            args.end = self.advance().end;
            return Ok(args);
        }
        loop {
            self.allow_empty_selector = info_call && args.nodes.len() == 1;
            let arg = self.expr(0);
            self.allow_empty_selector = false;
            args.nodes.push(arg?);
            if !had_error && args.first_error_in.is_none() && self.check_error.is_some() {
                args.first_error_in = Some(args.nodes.len() - 1);
            }
            match self.peek().kind {
                TokenKind::Comma => {
                    let comma = self.advance();
                    if self.peek().kind == TokenKind::RParen {
                        return Err(self.error(
                            comma.start,
                            "trailing commas not allowed in function call args",
                        ));
                    }
                }
                TokenKind::RParen => {
                    args.end = self.advance().end;
                    return Ok(args);
                }
                _ => return Err(self.unexpected("", "")),
            }
        }
    }

    /// Keeps the first deferred type error in Prometheus's `checkAST` order for a call or
    /// aggregation: its own checks `own` first, then for each argument in `order` the errors
    /// inside it followed by its type mismatch.
    fn check_in_order(
        &mut self,
        args: &Args,
        own: Option<(usize, String)>,
        order: &[usize],
        mismatch: impl Fn(usize) -> Option<(usize, String)>,
    ) {
        if self.check_error.is_some() && args.first_error_in.is_none() {
            // Recorded before this node started: it comes first.
            return;
        }
        let inner = self.check_error.take();
        let mut first = own.map(|(offset, message)| self.error(offset, message));
        if first.is_none() {
            for &idx in order {
                if args.first_error_in == Some(idx) {
                    first = inner.clone();
                    break;
                }
                if let Some((offset, message)) = mismatch(idx) {
                    first = Some(self.error(offset, message));
                    break;
                }
            }
        }
        self.check_error = first.or(inner);
    }

    fn call(&mut self, name_tok: Token) -> PResult<Node> {
        let name = self.text(&name_tok).to_string();
        let Some(sig) = function(&name) else {
            return Err(self.error(
                name_tok.start,
                format!("unknown function with name {}", go_quote(&name)),
            ));
        };
        self.advance();
        let args = self.call_args(name == "info")?;
        let n = args.nodes.len();
        let quoted = go_quote(&name);
        // Prometheus checks a call's arity and `info`'s selector before its arguments.
        let min = sig.min_args();
        let mut own = match sig.max_args() {
            Some(max) if sig.variadic == 0 && n != max => Some((
                name_tok.start,
                format!("expected {max} argument(s) in call to {quoted}, got {n}"),
            )),
            _ if n < min => Some((
                name_tok.start,
                format!("expected at least {min} argument(s) in call to {quoted}, got {n}"),
            )),
            Some(max) if n > max => Some((
                name_tok.start,
                format!("expected at most {max} argument(s) in call to {quoted}, got {n}"),
            )),
            _ => None,
        };
        if own.is_none() && name == "info" {
            if let Some(selector) = args.nodes.get(1) {
                let t = selector.expr.value_type();
                own = match &selector.expr {
                    _ if t != ValueType::Vector => Some((
                        name_tok.start,
                        format!(
                            "expected type instant vector in call to function {quoted}, got {}",
                            documented_type(t)
                        ),
                    )),
                    Expr::VectorSelector(vs) if vs.name.is_some() => Some((
                        selector.start,
                        "expected label selectors only, got vector selector instead".into(),
                    )),
                    Expr::VectorSelector(_) => None,
                    _ => Some((selector.start, "expected label selectors only".into())),
                };
            }
        }
        let order: Vec<usize> = (0..n).collect();
        let mismatch = |i: usize| {
            let want = sig.arg_type(i)?;
            let node = args.nodes.get(i)?;
            let got = node.expr.value_type();
            (got != want).then(|| {
                let message = format!(
                    "expected type {} in call to function {quoted}, got {}",
                    documented_type(want),
                    documented_type(got)
                );
                (node.start, message)
            })
        };
        self.check_in_order(&args, own, &order, mismatch);
        let depth = args.nodes.iter().map(|a| a.depth).max().unwrap_or(0) + 1;
        self.check_depth(depth, name_tok.start)?;
        let end = args.end;
        let span = Span {
            start: u32::try_from(name_tok.start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        };
        Ok(Node {
            expr: Expr::Call(Call {
                func: sig,
                args: args.nodes.into_iter().map(|a| a.expr).collect(),
                span,
            }),
            start: name_tok.start,
            end,
            depth,
        })
    }

    /// `by (labels)` / `without (labels)` if present.
    fn aggregate_modifier(&mut self) -> PResult<Option<(bool, Vec<String>)>> {
        let without = if self.peek_word("by") {
            false
        } else if self.peek_word("without") {
            true
        } else {
            return Ok(None);
        };
        self.advance();
        Ok(Some((without, self.grouping_labels()?)))
    }

    fn aggregate(&mut self, op: AggregateOp) -> PResult<Node> {
        let op_tok = self.advance();
        let before = self.aggregate_modifier()?;
        if self.peek().kind != TokenKind::LParen {
            return Err(self.unexpected("aggregation", ""));
        }
        let args = self.call_args(false)?;
        let mut end = args.end;
        let modifier = match before {
            Some(m) => Some(m),
            None => {
                let after = self.aggregate_modifier()?;
                if after.is_some() {
                    end = self
                        .tokens
                        .get(self.pos.saturating_sub(1))
                        .map_or(end, |t| t.end);
                }
                after
            }
        };
        if args.nodes.is_empty() {
            return Err(self.error(
                op_tok.start,
                "no arguments for aggregate expression provided",
            ));
        }
        let desired = if op.takes_param() { 2 } else { 1 };
        if args.nodes.len() != desired {
            let message = format!(
                "wrong number of arguments for aggregate expression provided, expected {desired}, got {}",
                args.nodes.len()
            );
            return Err(self.error(op_tok.start, message));
        }
        // Prometheus checks the aggregated expression before the parameter.
        let expr_idx = desired - 1;
        let order: Vec<usize> = if desired == 2 { vec![1, 0] } else { vec![0] };
        let mismatch = |i: usize| {
            let node = args.nodes.get(i)?;
            let (want, context) = if i == expr_idx {
                (ValueType::Vector, "aggregation expression")
            } else if op == AggregateOp::CountValues {
                (ValueType::String, "aggregation parameter")
            } else {
                (ValueType::Scalar, "aggregation parameter")
            };
            let got = node.expr.value_type();
            (got != want).then(|| {
                let message = format!(
                    "expected type {} in {context}, got {}",
                    documented_type(want),
                    documented_type(got)
                );
                (node.start, message)
            })
        };
        self.check_in_order(&args, None, &order, mismatch);
        let mut nodes = args.nodes;
        let expr = nodes.pop().ok_or_else(|| {
            self.error(
                op_tok.start,
                "no arguments for aggregate expression provided",
            )
        })?;
        let param = nodes.pop();
        let depth = expr.depth.max(param.as_ref().map_or(0, |p| p.depth)) + 1;
        self.check_depth(depth, op_tok.start)?;
        let (without, grouping) = modifier.unwrap_or((false, Vec::new()));
        Ok(Node {
            expr: Expr::Aggregate(Aggregate {
                op,
                expr: Box::new(expr.expr),
                param: param.map(|p| Box::new(p.expr)),
                grouping,
                without,
            }),
            start: op_tok.start,
            end,
            depth,
        })
    }

    /// `(label, "quoted.label", ...)` after `by`, `without`, `on`, `ignoring`, `group_left`.
    fn grouping_labels(&mut self) -> PResult<Vec<String>> {
        self.expect(&TokenKind::LParen, "grouping opts", "\"(\"")?;
        let mut labels = Vec::new();
        loop {
            if self.peek().kind == TokenKind::RParen {
                self.advance();
                return Ok(labels);
            }
            let tok = self.peek().clone();
            let label = match &tok.kind {
                TokenKind::Ident => self.text(&tok).to_string(),
                TokenKind::String(s) => s.clone(),
                TokenKind::ByteString(bytes) => {
                    // Prometheus's check: a UTF-8 label name must be valid UTF-8.
                    return Err(self.error(
                        tok.start,
                        format!(
                            "invalid label name for grouping: {}",
                            crate::quote::go_quote(bytes)
                        ),
                    ));
                }
                _ => return Err(self.unexpected("grouping opts", "label")),
            };
            if label.is_empty() {
                return Err(self.error(
                    tok.start,
                    format!("invalid label name for grouping: {}", go_quote(&label)),
                ));
            }
            self.advance();
            labels.push(label);
            match self.peek().kind {
                TokenKind::Comma => {
                    self.advance();
                }
                TokenKind::RParen => {}
                _ => return Err(self.unexpected("grouping opts", "\",\" or \")\"")),
            }
        }
    }
}
