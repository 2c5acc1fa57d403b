//! PromQL lexer, AST, parser and printer; no evaluation.
//!
//! [`parse`] turns query text into an [`Expr`] and applies Prometheus's type checks; errors
//! carry the position as Prometheus prints it (`1:14: parse error: ...`). `Display` on [`Expr`]
//! prints canonical PromQL that parses back to the same tree.
//!
//! ```
//! use promlite_promql::{parse, Expr, ValueType};
//!
//! let expr = parse("sum by (namespace) (rate(container_cpu_usage_seconds_total[1m]))").unwrap();
//! assert_eq!(expr.value_type(), ValueType::Vector);
//! assert!(matches!(expr, Expr::Aggregate(_)));
//! assert!(parse(&expr.to_string()).unwrap().same_as(&expr));
//!
//! let err = parse("sum(foo) by").unwrap_err();
//! assert_eq!(err.position.column, 12);
//! ```
#![warn(missing_docs)]

pub mod ast;
mod error;
pub mod functions;
mod lexer;
mod parser;
mod printer;
pub mod quote;

pub use ast::{
    Aggregate, AggregateOp, At, Binary, BinaryOp, Call, Cardinality, Children, ChildrenMut, Expr,
    Group, MatchingLabels, MatrixSelector, Span, Subquery, UnaryOp, ValueType, VectorMatching,
    VectorSelector,
};
pub use error::{Error, ParseError, Position, Result};
pub use functions::{function, FunctionKind, FunctionSig};
pub use parser::{parse, MAX_DEPTH};
pub use printer::format_duration;

#[cfg(test)]
mod tests;
