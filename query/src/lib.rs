//! pulsedb's query language: a PromQL-compatible subset with Prometheus
//! semantics. [`parse`] turns text into an [`Expr`]; [`Engine`] evaluates
//! it at an instant or over a range against any [`Querier`] (the storage
//! read API), answering from rollups where that is exact.
//!
//! Modules: `lexer` and `parser` (text → tree, errors with line and
//! column), `ast` (the tree and its canonical text), `functions` (the
//! function table), `value` (result types), `eval/` (the evaluator).

mod ast;
mod error;
mod eval;
mod functions;
mod lexer;
mod parser;
mod value;

pub use ast::{
    format_duration, AggOp, Aggregate, At, BinOp, BinaryExpr, Call, Cardinality, Expr, LabelMatcher, MatrixSelector,
    Subquery, VectorMatching, VectorSelector,
};
pub use error::{Error, Pos, Result};
pub use eval::{Engine, EngineOptions};
pub use functions::Function;
pub use parser::{parse, parse_matchers, type_of};
pub use pulsedb_model::Querier;
pub use value::{InstantSample, Point, SeriesPoints, Value, ValueType};
