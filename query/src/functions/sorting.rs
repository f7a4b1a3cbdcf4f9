//! Sorting: `sort` and `sort_desc` by sample value (NaN last). Only an
//! instant query's order is visible, so they sort on the one step.

use super::{Function, Impl};
use crate::ast::Call;
use crate::error::Result;
use crate::eval::{EvalValue, Evaluator, StepSeries};
use crate::gosort;
use crate::value::ValueType::Vector;

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("sort", &[Vector], Vector, Impl::Call(sort)),
    Function::new("sort_desc", &[Vector], Vector, Impl::Call(sort)),
];

fn sort(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let mut series = ev.eval_vector(&c.args[0])?;
    let first = |s: &StepSeries| s.points.first().map_or(f64::NAN, |p| p.1);
    // Prometheus sorts with Go's sort.Sort and a reversed NaN-first
    // comparator: NaN ends up last, equal values in Go's order.
    if c.func.name == "sort_desc" {
        gosort::sort(&mut series, |a, b| first(b).is_nan() || first(b) < first(a));
    } else {
        gosort::sort(&mut series, |a, b| first(b).is_nan() || first(b) > first(a));
    }
    Ok(EvalValue::Vector(series))
}
