//! PromQL lexer, AST, parser and printer; no evaluation.
#![warn(missing_docs)]

pub mod ast;
