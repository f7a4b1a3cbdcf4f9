//! Math on instant vectors: `abs`, `ceil`, `floor`, `exp`, `sqrt`, `ln`,
//! `log2`, `log10`, `sgn`, `round`, the clamps (`clamp`, `clamp_min`,
//! `clamp_max`), the trigonometric and hyperbolic functions and their
//! inverses, `deg`, `rad`, and the scalar `pi()`. Each drops the metric
//! name, as Prometheus does. Transcendental functions use Go's float64
//! math (`crate::gomath`), so the last bits are Prometheus' too.

use super::{Function, Impl};
use crate::ast::Call;
use crate::error::Result;
use crate::eval::{EvalValue, Evaluator};
use crate::gomath;
use crate::value::ValueType::{Scalar, Vector};

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("abs", &[Vector], Vector, Impl::Elementwise(f64::abs)),
    Function::new("ceil", &[Vector], Vector, Impl::Elementwise(f64::ceil)),
    Function::new("floor", &[Vector], Vector, Impl::Elementwise(f64::floor)),
    Function::new("exp", &[Vector], Vector, Impl::Elementwise(gomath::exp)),
    Function::new("sqrt", &[Vector], Vector, Impl::Elementwise(f64::sqrt)),
    Function::new("ln", &[Vector], Vector, Impl::Elementwise(gomath::log)),
    Function::new("log2", &[Vector], Vector, Impl::Elementwise(gomath::log2)),
    Function::new("log10", &[Vector], Vector, Impl::Elementwise(gomath::log10)),
    Function::new("sin", &[Vector], Vector, Impl::Elementwise(gomath::sin)),
    Function::new("cos", &[Vector], Vector, Impl::Elementwise(gomath::cos)),
    Function::new("tan", &[Vector], Vector, Impl::Elementwise(gomath::tan)),
    Function::new("asin", &[Vector], Vector, Impl::Elementwise(gomath::asin)),
    Function::new("acos", &[Vector], Vector, Impl::Elementwise(gomath::acos)),
    Function::new("atan", &[Vector], Vector, Impl::Elementwise(gomath::atan)),
    Function::new("sinh", &[Vector], Vector, Impl::Elementwise(gomath::sinh)),
    Function::new("cosh", &[Vector], Vector, Impl::Elementwise(gomath::cosh)),
    Function::new("tanh", &[Vector], Vector, Impl::Elementwise(gomath::tanh)),
    Function::new("asinh", &[Vector], Vector, Impl::Elementwise(gomath::asinh)),
    Function::new("acosh", &[Vector], Vector, Impl::Elementwise(gomath::acosh)),
    Function::new("atanh", &[Vector], Vector, Impl::Elementwise(gomath::atanh)),
    Function::new("deg", &[Vector], Vector, Impl::Elementwise(gomath::deg)),
    Function::new("rad", &[Vector], Vector, Impl::Elementwise(gomath::rad)),
    Function::new("pi", &[], Scalar, Impl::Call(pi)),
    Function::new("sgn", &[Vector], Vector, Impl::Elementwise(sgn)),
    Function::new("round", &[Vector, Scalar], Vector, Impl::Call(round)).variadic(1),
    Function::new("clamp", &[Vector, Scalar, Scalar], Vector, Impl::Call(clamp)),
    Function::new("clamp_max", &[Vector, Scalar], Vector, Impl::Call(clamp)),
    Function::new("clamp_min", &[Vector, Scalar], Vector, Impl::Call(clamp)),
];

fn pi(ev: &mut Evaluator<'_>, _: &Call) -> Result<EvalValue> {
    Ok(EvalValue::Scalar(vec![std::f64::consts::PI; ev.steps]))
}

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
