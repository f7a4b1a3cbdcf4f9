//! pulsedb's query language: a PromQL-compatible subset with Prometheus
//! semantics. [`parse`] turns text into an [`Expr`]; [`Engine`] evaluates
//! it at an instant or over a range against any [`Querier`] (the storage
//! read API), answering from rollups where that is exact.
//!
//! Modules: `lexer` and `parser` (text → tree, errors with line and
//! column), `parse_cache` (parsed queries by text), `ast` (the tree and its canonical text), `functions` (the
//! function table), `value` (result types), `eval/` (the evaluator).

mod anomaly;
mod ast;
mod error;
mod eval;
mod functions;
mod gomath;
mod gosort;
mod lexer;
mod parse_cache;
mod parser;
mod value;

pub use anomaly::ANOMALOUS;
pub use ast::{
    format_duration, AggOp, Aggregate, At, BinOp, BinaryExpr, Call, Cardinality, Expr, LabelMatcher, MatrixSelector,
    Subquery, VectorMatching, VectorSelector,
};
pub use error::{Error, Pos, Result};
pub use eval::{Engine, EngineOptions};
pub use functions::Function;
pub use gomath::format_float as go_format_float;

/// The name of every PromQL function the engine knows (Prometheus' and pulsedb's own).
pub fn function_names() -> impl Iterator<Item = &'static str> {
    functions::all().map(|f| f.name)
}
pub use parser::{parse, parse_matchers, type_of, MAX_DEPTH, MAX_QUERY_BYTES};

/// The stack a thread needs to parse and evaluate any query the limits
/// admit ([`MAX_DEPTH`]) without growing it, with room to spare:
/// `query/tests/it/limits.rs` evaluates the deepest queries of every kind on a
/// thread of a quarter of it in a debug build. The parser and evaluator also
/// grow the stack when it runs low (see [`grow_stack`]), so a query cannot
/// overflow a smaller one either; the server's threads get this much so that
/// they never need to.
pub const STACK_SIZE: usize = 32 << 20;

/// Stack left below which a recursion step moves to a new segment.
const RED_ZONE: usize = 256 << 10;
/// Size of each new stack segment.
const STACK_SEGMENT: usize = 4 << 20;

/// Runs `f`, on a freshly allocated stack segment if this thread's stack has
/// less than [`RED_ZONE`] left: called at each step of the parser's and the
/// evaluator's recursion.
pub(crate) fn grow_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}
pub use pulsedb_model::Querier;
pub use value::{InstantSample, Point, SeriesPoints, Value, ValueType};
