//! Math on instant vectors: `abs`, `ceil`, `floor`, `exp`, `sqrt`, `ln`,
//! `log2`, `log10`, `sgn`, `round`, and the clamps (`clamp`, `clamp_min`,
//! `clamp_max`). Each drops the metric name, as Prometheus does.

use super::{Function, Impl};
use crate::ast::Call;
use crate::error::Result;
use crate::eval::{EvalValue, Evaluator};
use crate::value::ValueType::{Scalar, Vector};

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("abs", &[Vector], Vector, Impl::Elementwise(f64::abs)),
    Function::new("ceil", &[Vector], Vector, Impl::Elementwise(f64::ceil)),
    Function::new("floor", &[Vector], Vector, Impl::Elementwise(f64::floor)),
    Function::new("exp", &[Vector], Vector, Impl::Elementwise(f64::exp)),
    Function::new("sqrt", &[Vector], Vector, Impl::Elementwise(f64::sqrt)),
    Function::new("ln", &[Vector], Vector, Impl::Elementwise(f64::ln)),
    Function::new("log2", &[Vector], Vector, Impl::Elementwise(f64::log2)),
    Function::new("log10", &[Vector], Vector, Impl::Elementwise(f64::log10)),
    Function::new("sgn", &[Vector], Vector, Impl::Elementwise(sgn)),
    Function::new("round", &[Vector, Scalar], Vector, Impl::Call(round)).variadic(1),
    Function::new("clamp", &[Vector, Scalar, Scalar], Vector, Impl::Call(clamp)),
    Function::new("clamp_max", &[Vector, Scalar], Vector, Impl::Call(clamp)),
    Function::new("clamp_min", &[Vector, Scalar], Vector, Impl::Call(clamp)),
];

/// -1, 0 or 1 by sign; NaN and ±0 are kept as they are.
fn sgn(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        v
    }
}

/// `round(v, to_nearest = 1)`: half rounds up, as Prometheus' `math.Floor(v*inv + 0.5) / inv`.
fn round(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let series = ev.eval_vector(&c.args[0])?;
    let to = match c.args.get(1) {
        Some(e) => ev.eval_scalar(e)?,
        None => vec![1.0; ev.steps],
    };
    ev.map_values(series, |i, v| {
        let inv = 1.0 / to[i];
        Some((v * inv + 0.5).floor() / inv)
    })
}

fn clamp(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let name = c.func.name;
    let series = ev.eval_vector(&c.args[0])?;
    let a = ev.eval_scalar(&c.args[1])?;
    let b = match c.args.get(2) {
        Some(e) => ev.eval_scalar(e)?,
        None => vec![f64::NAN; ev.steps],
    };
    ev.map_values(series, |i, v| match name {
        // Go's math.Max/Min: a NaN on either side gives NaN.
        "clamp_min" => Some(go_max(v, a[i])),
        "clamp_max" => Some(go_min(v, a[i])),
        _ if b[i] < a[i] => None,
        // max/min, with NaN bounds propagating as in Go's math.Max/Min.
        _ => Some(go_max(a[i], go_min(b[i], v))),
    })
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}
