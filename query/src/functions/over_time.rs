//! Aggregations over time: `avg`, `sum`, `count`, `min`, `max`, `last`,
//! `present`, `quantile`, `stddev`, `stdvar` and `mad` `_over_time`, and
//! `absent_over_time`. The first six are also answered from rollups.

use pulsedb_model::RollupFields;

use super::sliding::Extreme;
use super::stats::{avg, quantile, sum, variance};
use super::types::absent_labels;
use super::{Buckets, Function, Impl, Window, WindowFn};
use crate::ast::Call;
use crate::error::Result;
use crate::eval::{window_of, EvalValue, Evaluator, StepSeries};
use crate::value::ValueType::{Matrix, Scalar, Vector};

const fn window(value: fn(&Window<'_>) -> Option<f64>) -> Impl {
    Impl::Window(WindowFn::plain(value))
}

/// `value` of one window, also computed over moving windows (`sliding.rs`).
const fn extreme(value: fn(&Window<'_>) -> Option<f64>, extreme: Extreme) -> Impl {
    Impl::Window(WindowFn { extreme: Some(extreme), ..WindowFn::plain(value) })
}

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("avg_over_time", &[Matrix], Vector, window(|w| Some(avg(w.samples.iter().map(|s| s.v)))))
        .rollup(RollupFields::SUM, |b| Some(b.mean())),
    Function::new("sum_over_time", &[Matrix], Vector, window(|w| Some(sum(w.samples.iter().map(|s| s.v)))))
        .rollup(RollupFields::SUM, |b| Some(b.sum())),
    Function::new("count_over_time", &[Matrix], Vector, window(|w| Some(w.samples.len() as f64)))
        .rollup(RollupFields::COUNT, |b| Some(b.count as f64)),
    Function::new("min_over_time", &[Matrix], Vector, extreme(min, Extreme::Min))
        .rollup(RollupFields::MIN, |b| Some(b.fold(|v, acc| v < acc, |x| x.min))),
    Function::new("max_over_time", &[Matrix], Vector, extreme(max, Extreme::Max))
        .rollup(RollupFields::MAX, |b| Some(b.fold(|v, acc| v > acc, |x| x.max))),
    Function::new(
        "last_over_time",
        &[Matrix],
        Vector,
        Impl::Window(WindowFn { keeps_name: true, ..WindowFn::plain(|w| w.samples.last().map(|s| s.v)) }),
    )
    .rollup(RollupFields::LAST, last_from_buckets),
    Function::new("present_over_time", &[Matrix], Vector, window(|_| Some(1.0))),
    Function::new(
        "quantile_over_time",
        &[Scalar, Matrix],
        Vector,
        window(|w| {
            let mut values: Vec<f64> = w.samples.iter().map(|s| s.v).collect();
            Some(quantile(w.params[0], &mut values))
        }),
    ),
    Function::new(
        "stddev_over_time",
        &[Matrix],
        Vector,
        window(|w| Some(variance(w.samples.iter().map(|s| s.v)).sqrt())),
    ),
    Function::new("stdvar_over_time", &[Matrix], Vector, window(|w| Some(variance(w.samples.iter().map(|s| s.v))))),
    // Prometheus 2.53 and later; an extension against 2.42.
    Function::new("mad_over_time", &[Matrix], Vector, window(median_absolute_deviation)),
    Function::new("absent_over_time", &[Matrix], Vector, Impl::Call(absent_over_time)),
];

/// The median of the distances from the median (Prometheus' `quantile(0.5, …)` both times).
fn median_absolute_deviation(w: &Window<'_>) -> Option<f64> {
    let mut values: Vec<f64> = w.samples.iter().map(|s| s.v).collect();
    let median = quantile(0.5, &mut values);
    let mut distances: Vec<f64> = w.samples.iter().map(|s| (s.v - median).abs()).collect();
    Some(quantile(0.5, &mut distances))
}

/// Prometheus' fold: the smallest non-NaN value, NaN only when all are NaN.
fn min(w: &Window<'_>) -> Option<f64> {
    Some(w.samples.iter().fold(f64::NAN, |m, s| if s.v < m || m.is_nan() { s.v } else { m }))
}

fn max(w: &Window<'_>) -> Option<f64> {
    Some(w.samples.iter().fold(f64::NAN, |m, s| if s.v > m || m.is_nan() { s.v } else { m }))
}

fn last_from_buckets(b: &Buckets<'_>) -> Option<f64> {
    b.edge.map(|e| e.v).or_else(|| b.whole.last().map(|x| x.last.v))
}

/// 1 at the steps where no series has a sample in the window.
fn absent_over_time(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let m = ev.eval_matrix(&c.args[0])?;
    let labels = absent_labels(&c.args[0]);
    let points: Vec<(usize, f64)> = (0..ev.steps)
        .filter(|&i| {
            let (lo, hi) = m.window(ev.ts(i));
            m.series.iter().all(|s| window_of(&s.samples, lo, hi).is_empty())
        })
        .map(|i| (i, 1.0))
        .collect();
    Ok(EvalValue::Vector(if points.is_empty() { Vec::new() } else { vec![StepSeries { labels, points }] }))
}
