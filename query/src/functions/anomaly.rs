//! pulsedb's anomaly functions (extensions; no Prometheus function has
//! these names), each of the samples in a step's window only
//! (`crate::anomaly`), the range being the history the model learns from:
//! - `anomaly_score(v[range])`: in [0, 1], how unusual the latest sample is
//!   given the ones before it;
//! - `anomaly_max(v[range], recent)`: the highest score among the samples
//!   of the window's last `recent` seconds (so a range query at a coarse
//!   step misses no peak);
//! - `anomaly_lower(v[range], width)`, `anomaly_upper(v[range], width)`: the
//!   band the model expected the latest sample in, `width` error scales
//!   (mean absolute errors) either side of its prediction;
//! - `forecast(v[range], horizon)`: the value expected `horizon` seconds
//!   after the latest sample (the same time on earlier days, shifted by
//!   how far the series now is from its norm); `forecast_lower` and
//!   `forecast_upper(v[range], horizon, width)`: its band.

use super::{Function, Impl, Window, WindowFn};
use crate::anomaly::{band_last, forecast_last, score_last, score_max_after};
use crate::value::ValueType::{Matrix, Scalar, Vector};

const fn window(value: fn(&Window<'_>) -> Option<f64>) -> Impl {
    Impl::Window(WindowFn::plain(value))
}

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("anomaly_score", &[Matrix], Vector, window(|w| score_last(w.samples))),
    Function::new("anomaly_max", &[Matrix, Scalar], Vector, window(|w| score_max_after(w.samples, w.end - horizon(w)))),
    Function::new(
        "anomaly_lower",
        &[Matrix, Scalar],
        Vector,
        window(|w| band_last(w.samples, w.params[0]).map(|b| b.0)),
    ),
    Function::new(
        "anomaly_upper",
        &[Matrix, Scalar],
        Vector,
        window(|w| band_last(w.samples, w.params[0]).map(|b| b.1)),
    ),
    Function::new("forecast", &[Matrix, Scalar], Vector, window(|w| forecast_last(w.samples, horizon(w)).map(|f| f.0))),
    Function::new(
        "forecast_lower",
        &[Matrix, Scalar, Scalar],
        Vector,
        window(|w| forecast_last(w.samples, horizon(w)).map(|(f, scale)| f - w.params[1] * scale)),
    ),
    Function::new(
        "forecast_upper",
        &[Matrix, Scalar, Scalar],
        Vector,
        window(|w| forecast_last(w.samples, horizon(w)).map(|(f, scale)| f + w.params[1] * scale)),
    ),
];

/// The first scalar argument, a duration in seconds, in milliseconds; NaN or negative is 0.
fn horizon(w: &Window<'_>) -> i64 {
    let seconds = w.params[0];
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).min(1e15) as i64
    } else {
        0
    }
}
