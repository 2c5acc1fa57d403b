//! The PromQL crate's error types: [`ParseError`] with a Prometheus-style position.

use std::fmt;

/// Where an error stands in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Position {
    /// 0-based byte offset into the query.
    pub offset: usize,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in bytes from the start of the line (as Prometheus does).
    pub column: usize,
}

impl Position {
    /// Computes line and column of byte `offset` in `input`. Offsets past the end are clamped.
    pub fn at(input: &str, offset: usize) -> Position {
        let offset = offset.min(input.len());
        let before = input.as_bytes().get(..offset).unwrap_or_default();
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Position {
            offset,
            line,
            column: offset - line_start + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A query that does not parse or does not type-check.
///
/// Displays as Prometheus does: `1:14: parse error: unexpected <by> in aggregation`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: parse error: {message}")]
pub struct ParseError {
    /// Where the offending token or expression starts.
    pub position: Position,
    /// What is wrong, in Prometheus's wording where Prometheus has one.
    pub message: String,
}

impl ParseError {
    /// An error at byte `offset` of `input`.
    pub(crate) fn new(input: &str, offset: usize, message: impl Into<String>) -> Self {
        ParseError {
            position: Position::at(input, offset),
            message: message.into(),
        }
    }
}

/// Errors of the PromQL crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query text is not valid PromQL.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// `Result` with the PromQL crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_byte_columns() {
        let q = "sum(\n  foo\n) by";
        assert_eq!(
            Position::at(q, 0),
            Position {
                offset: 0,
                line: 1,
                column: 1
            }
        );
        assert_eq!(
            Position::at(q, 7),
            Position {
                offset: 7,
                line: 2,
                column: 3
            }
        );
        assert_eq!(
            Position::at(q, 13),
            Position {
                offset: 13,
                line: 3,
                column: 3
            }
        );
        assert_eq!(Position::at(q, 999).offset, q.len());
        let e = ParseError::new(q, 13, "unexpected end of input");
        assert_eq!(e.to_string(), "3:3: parse error: unexpected end of input");
    }
}
