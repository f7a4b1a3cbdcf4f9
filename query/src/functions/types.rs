//! Types and time: `time`, `timestamp`, `vector`, `scalar`, and `absent`
//! (with the labels `absent` and `absent_over_time` give their result).

use pulsedb_model::{Labels, MatchOp};

use super::{Function, Impl};
use crate::ast::{Call, Expr};
use crate::error::Result;
use crate::eval::{by_step, drop_metric_name, EvalValue, Evaluator, StepSeries};
use crate::value::ValueType::{Scalar, Vector};

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("time", &[], Scalar, Impl::Call(time)),
    Function::new("timestamp", &[Vector], Vector, Impl::Call(timestamp)),
    Function::new("vector", &[Scalar], Vector, Impl::Call(vector)),
    Function::new("scalar", &[Vector], Scalar, Impl::Call(scalar)),
    Function::new("absent", &[Vector], Vector, Impl::Call(absent)),
];

fn time(ev: &mut Evaluator<'_>, _: &Call) -> Result<EvalValue> {
    Ok(EvalValue::Scalar((0..ev.steps).map(|i| ev.ts(i) as f64 / 1000.0).collect()))
}

fn vector(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let v = ev.eval_scalar(&c.args[0])?;
    let points = v.into_iter().enumerate().collect();
    Ok(EvalValue::Vector(vec![StepSeries { labels: Labels::default(), points }]))
}

/// The single sample's value at each step, NaN where there are none or several.
fn scalar(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let series = ev.eval_vector(&c.args[0])?;
    let mut out = vec![f64::NAN; ev.steps];
    for (i, samples) in by_step(&series, ev.steps).into_iter().enumerate() {
        if let [(_, v)] = samples.as_slice() {
            out[i] = *v;
        }
    }
    Ok(EvalValue::Scalar(out))
}

fn timestamp(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let series = match &c.args[0] {
        // The sample's own timestamp, not the step's.
        Expr::Vector(v) => ev.instant_samples(v, true)?,
        other => {
            let series = ev.eval_vector(other)?;
            series
                .into_iter()
                .map(|s| StepSeries {
                    labels: s.labels,
                    points: s.points.into_iter().map(|(i, _)| (i, ev.ts(i) as f64 / 1000.0)).collect(),
                })
                .collect()
        }
    };
    ev.relabel(series, |l| Some(drop_metric_name(l)))
}

fn absent(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let series = ev.eval_vector(&c.args[0])?;
    let present = by_step(&series, ev.steps);
    let labels = absent_labels(&c.args[0]);
    let points: Vec<(usize, f64)> =
        present.iter().enumerate().filter(|(_, s)| s.is_empty()).map(|(i, _)| (i, 1.0)).collect();
    Ok(EvalValue::Vector(if points.is_empty() { Vec::new() } else { vec![StepSeries { labels, points }] }))
}

/// Labels `absent()` gives its result: the argument selector's equality
/// matchers (not the name), a label matched twice left out.
pub(super) fn absent_labels(arg: &Expr) -> Labels {
    let matchers = match arg {
        Expr::Vector(v) => &v.matchers,
        Expr::Matrix(m) => &m.vector.matchers,
        _ => return Labels::default(),
    };
    let mut set: Vec<(String, String)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == pulsedb_model::METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !seen.contains(&m.name.as_str()) {
            set.push((m.name.clone(), m.value.clone()));
        } else {
            set.retain(|(n, _)| n != &m.name);
        }
        seen.push(&m.name);
    }
    Labels::new(set)
}
