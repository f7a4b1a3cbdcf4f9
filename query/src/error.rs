//! Errors of the query crate: parse errors that point at a line and
//! column, type errors, evaluation failures, and the limits that turn an
//! overload into a clear answer.

use std::fmt;

/// A position in the query text, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, col {}", self.line, self.col)
    }
}

/// Errors of parsing and evaluating a query.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text does not parse, or its types do not fit.
    #[error("parse error at {pos}: {message}")]
    Parse { pos: Pos, message: String },

    /// Evaluation failed for a reason the query explains (e.g. duplicate series).
    #[error("execution error: {0}")]
    Execution(String),

    /// The query would hold more samples in memory than allowed.
    #[error("query processing would load too many samples into memory (limit {limit}); narrow the selectors or the time range")]
    TooManySamples { limit: usize },

    /// The query ran longer than allowed.
    #[error("query timed out after {elapsed_ms} ms (limit {limit_ms} ms)")]
    Timeout { elapsed_ms: u128, limit_ms: u128 },

    /// Invalid query parameters (time range, step).
    #[error("bad query parameters: {0}")]
    BadParameters(String),

    #[error("storage: {0}")]
    Storage(#[from] pulsedb_model::StoreError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn parse(pos: Pos, message: impl Into<String>) -> Self {
        Error::Parse { pos, message: message.into() }
    }
}
