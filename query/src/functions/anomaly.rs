//! pulsedb's anomaly functions (extensions; no Prometheus function has
//! these names). Each step's answer comes from the samples of its window
//! only (`crate::anomaly`: the detector, fed from the window's anchor; see
//! `anomaly/stream.rs`), the range being the history the model learns from:
//! - `anomaly_score(v[range])`: in [0, 1], how unusual the latest sample is
//!   given the ones before it;
//! - `anomaly_max(v[range], recent)`: the highest score among the samples
//!   of the window's last `recent` seconds (so a range query at a coarse
//!   step misses no peak);
//! - `anomaly_lower(v[range], width)`, `anomaly_upper(v[range], width)`: the
//!   band the model expected the latest sample in, `width` error scales
//!   (mean absolute errors) either side of its prediction;
//! - `forecast(v[range], horizon)`: the value expected `horizon` seconds
//!   after the latest sample; `forecast_lower` and
//!   `forecast_upper(v[range], horizon, width)`: its band.
//!
//! A range query streams each series once (cost: samples + steps), not
//! once per step.
//!
//! Long histories are learnt at a coarser resolution: from a range of
//! [`MINUTE_MEANS_FROM`] (a day) the model sees the mean of each minute
//! `(end - 1m, end]` as one point at `end`, from [`HOUR_MEANS_FROM`] (60
//! days) the mean of each hour — read from the storage's rollups, so a day
//! of 1 s samples costs 1,440 points and no raw decoding, and memory per
//! series stays bounded. A series sampled at whole minutes no more than
//! once a minute is unchanged by minute means; a point appears once its
//! minute has ended, so the answers stay causal.

use pulsedb_model::{window_means_of_samples, Sample};
use rayon::prelude::*;

use super::smoothing::go_fixed;
use super::{Function, Impl};
use crate::anomaly::{anchor, Asked, Stream};
use crate::ast::{Call, Expr};
use crate::error::{Error, Result};
use crate::eval::{assemble, drop_metric_name, EvalValue, Evaluator, MatrixValue, StepSeries};
use crate::value::ValueType::{Matrix, Scalar, Vector};

const STREAM: Impl = Impl::Call(stream_call);

/// Ranges from which the model learns from minute means (a day), and from
/// hour means (60 days), instead of raw samples.
const MINUTE_MEANS_FROM: i64 = 86_400_000;
const HOUR_MEANS_FROM: i64 = 60 * 86_400_000;

/// The resolution a range's history is learnt at; `None`: raw samples.
fn means_resolution(range: i64) -> Option<i64> {
    if range >= HOUR_MEANS_FROM {
        Some(3_600_000)
    } else if range >= MINUTE_MEANS_FROM {
        Some(60_000)
    } else {
        None
    }
}

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("anomaly_score", &[Matrix], Vector, STREAM),
    Function::new("anomaly_max", &[Matrix, Scalar], Vector, STREAM),
    Function::new("anomaly_lower", &[Matrix, Scalar], Vector, STREAM),
    Function::new("anomaly_upper", &[Matrix, Scalar], Vector, STREAM),
    Function::new("forecast", &[Matrix, Scalar], Vector, STREAM),
    Function::new("forecast_lower", &[Matrix, Scalar, Scalar], Vector, STREAM),
    Function::new("forecast_upper", &[Matrix, Scalar, Scalar], Vector, STREAM),
];

/// A duration argument in seconds as milliseconds (checked by
/// [`check_arguments`]: never NaN or negative; `+Inf` is all time).
fn millis(seconds: f64) -> i64 {
    if seconds > 0.0 {
        (seconds * 1000.0).min(1e15) as i64
    } else {
        0
    }
}

/// A rule for one scalar argument: its name, the test a value must pass,
/// and what the error says was expected.
struct Argument {
    name: &'static str,
    valid: fn(f64) -> bool,
    expected: &'static str,
}

const RECENT: Argument =
    Argument { name: "recent", valid: |v| v >= 0.001, expected: "a number of seconds, at least 0.001" };
const WIDTH: Argument =
    Argument { name: "width", valid: |v| v >= 0.0 && v.is_finite(), expected: "a finite number >= 0" };
const HORIZON: Argument =
    Argument { name: "horizon", valid: |v| v >= 0.0 && v.is_finite(), expected: "a finite number of seconds >= 0" };

/// What each scalar argument may be, by function: a clear error for a
/// value that can only be a mistake, where it used to give an empty
/// answer (`recent` of 0, NaN) or a quietly different one (a negative
/// horizon as 0, a negative width as a band upside down). Checked at a
/// step that has an answer, so `scalar(v)`, NaN where `v` is empty, fails
/// only where it would be used.
fn check_arguments(function: &str, value_at: impl Fn(usize) -> f64) -> Result<()> {
    let rules: &[Argument] = match function {
        "anomaly_max" => &[RECENT],
        "anomaly_lower" | "anomaly_upper" => &[WIDTH],
        "forecast" => &[HORIZON],
        "forecast_lower" | "forecast_upper" => &[HORIZON, WIDTH],
        _ => &[],
    };
    for (k, Argument { name, valid, expected }) in rules.iter().enumerate() {
        let v = value_at(k);
        if !valid(v) {
            let got = go_fixed(v);
            return Err(Error::Execution(format!("invalid {name} for {function}: expected {expected}, got {got}")));
        }
    }
    Ok(())
}

/// The scores one step's answer reads (see [`answer`]).
fn asked(name: &str, hi: i64, p: impl Fn(usize) -> f64) -> Asked {
    match name {
        "anomaly_max" => Asked::ScoresAfter(hi - millis(p(0))),
        "anomaly_score" => Asked::LatestScore,
        _ => Asked::NoScore,
    }
}

/// One step's answer from a stream moved to that step's window.
fn answer(name: &str, stream: &Stream<'_>, hi: i64, p: impl Fn(usize) -> f64) -> Option<f64> {
    match name {
        "anomaly_max" => stream.max_after(hi - millis(p(0))),
        "anomaly_lower" => stream.band(p(0)).map(|b| b.0),
        "anomaly_upper" => stream.band(p(0)).map(|b| b.1),
        "forecast" => stream.forecast(millis(p(0))).map(|f| f.0),
        "forecast_lower" => stream.forecast(millis(p(0))).map(|(f, scale)| f - p(1) * scale),
        "forecast_upper" => stream.forecast(millis(p(0))).map(|(f, scale)| f + p(1) * scale),
        _ => stream.score(),
    }
}

fn stream_call(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let mut scalars = Vec::new();
    for arg in &c.args[1..] {
        scalars.push(ev.eval_scalar(arg)?);
    }
    let name = c.func.name;
    if let Expr::Matrix(selector) = &c.args[0] {
        if let Some(resolution) = means_resolution(selector.range) {
            // Each series answered as its means are read (in the store's
            // threads), so a selection's means are never all held: at a
            // day of minutes each, a ranking of 50,000 series held 1.25 GB.
            let this = &*ev;
            let visit = |m: &MatrixValue, means: &[Sample]| -> Result<Vec<Sample>> {
                let points = answers(this, name, &scalars, m, means, resolution)?;
                // The step's index stands for its time until the answer is assembled.
                Ok(points.into_iter().map(|(i, v)| Sample::new(i as i64, v)).collect())
            };
            let (series, visited) = ev.map_window_means_selector(selector, resolution, anchor, &visit)?;
            ev.account(visited)?;
            let out: Vec<StepSeries> = series
                .into_iter()
                .map(|s| StepSeries {
                    labels: drop_metric_name(&s.labels),
                    points: s.samples.iter().map(|p| (p.t as usize, p.v)).collect(),
                })
                .collect();
            return finish(ev, out);
        }
    }
    let mut m = ev.eval_matrix(&c.args[0])?;
    // A subquery's points: the same means, taken here.
    let span = means_resolution(m.range);
    if let Some(resolution) = span {
        for s in &mut m.series {
            s.samples = window_means_of_samples(&s.samples, resolution);
        }
    }
    let this = &*ev;
    let out: Vec<StepSeries> = m
        .series
        .par_iter()
        .map(|s| -> Result<StepSeries> {
            let points = answers(this, name, &scalars, &m, &s.samples, span.unwrap_or(0))?;
            Ok(StepSeries { labels: drop_metric_name(&s.labels), points })
        })
        .collect::<Result<_>>()?;
    finish(ev, out)
}

/// One series' answers at the query's steps, from its `samples` (raw, or
/// window means `span` long) in the windows of `m`: (step index, value).
fn answers(
    ev: &Evaluator<'_>,
    name: &str,
    scalars: &[Vec<f64>],
    m: &MatrixValue,
    samples: &[Sample],
    span: i64,
) -> Result<Vec<(usize, f64)>> {
    ev.check_time()?;
    let mut stream = Stream::of_means(samples, span);
    let mut points = Vec::new();
    for i in 0..ev.steps {
        let (_, hi) = m.window(ev.ts(i));
        let p = |k: usize| scalars.get(k).and_then(|v: &Vec<f64>| v.get(i)).copied().unwrap_or(f64::NAN);
        if !stream.advance(hi, m.range, asked(name, hi, p)) {
            continue;
        }
        check_arguments(name, p)?;
        if let Some(v) = answer(name, &stream, hi, p) {
            points.push((i, v));
        }
    }
    Ok(points)
}

/// The answers as the function's vector, once accounted.
fn finish(ev: &mut Evaluator<'_>, out: Vec<StepSeries>) -> Result<EvalValue> {
    ev.account(out.iter().map(|s| s.points.len()).sum())?;
    Ok(EvalValue::Vector(assemble(out)?))
}
