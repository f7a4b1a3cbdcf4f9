//! Query results: the four PromQL value types.

use std::fmt;

use pulsedb_model::Labels;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Scalar,
    String,
    Vector,
    Matrix,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::Scalar => "scalar",
            ValueType::String => "string",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
        })
    }
}

/// One point: milliseconds and value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
}

/// A series with its points, time-ordered.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesPoints {
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// A sample of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// The result of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar {
        t: i64,
        v: f64,
    },
    String {
        t: i64,
        v: String,
    },
    /// An instant query's vector (order as the query defines: sorted only by `sort*`/`topk`…).
    Vector(Vec<InstantSample>),
    /// A range query's result, or an instant query of a range vector; sorted by labels.
    Matrix(Vec<SeriesPoints>),
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Scalar { .. } => ValueType::Scalar,
            Value::String { .. } => ValueType::String,
            Value::Vector(_) => ValueType::Vector,
            Value::Matrix(_) => ValueType::Matrix,
        }
    }
}
