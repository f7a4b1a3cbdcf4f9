//! Sorting: `sort` and `sort_desc` by sample value (NaN last). Only an
//! instant query's order is visible, so they sort on the one step.

use super::{Function, Impl};
use crate::ast::Call;
use crate::error::Result;
use crate::eval::{EvalValue, Evaluator, StepSeries};
use crate::value::ValueType::Vector;

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("sort", &[Vector], Vector, Impl::Call(sort)),
    Function::new("sort_desc", &[Vector], Vector, Impl::Call(sort)),
];

fn sort(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let mut series = ev.eval_vector(&c.args[0])?;
    let desc = c.func.name == "sort_desc";
    let first = |s: &StepSeries| s.points.first().map_or(f64::NAN, |p| p.1);
    series.sort_by(|a, b| {
        let (x, y) = (first(a), first(b));
        match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if desc => y.total_cmp(&x),
            _ => x.total_cmp(&y),
        }
    });
    Ok(EvalValue::Vector(series))
}
