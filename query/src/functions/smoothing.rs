//! Double exponential smoothing: `holt_winters` (Prometheus 2.42) and
//! `double_exponential_smoothing` (its name since Prometheus 3, a pulsedb
//! extension here), the smoothed value of a window given a smoothing
//! factor and a trend factor, both strictly between 0 and 1.

use super::{Function, Impl, Window, WindowFn, MAX_SCALAR_PARAMS};
use crate::value::ValueType::{Matrix, Scalar, Vector};

const SMOOTHING: Impl = Impl::Window(WindowFn { check_params: Some(check_factors), ..WindowFn::plain(smooth) });

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("holt_winters", &[Matrix, Scalar, Scalar], Vector, SMOOTHING),
    Function::new("double_exponential_smoothing", &[Matrix, Scalar, Scalar], Vector, SMOOTHING),
];

/// Go's `%f`: six decimals, `+Inf`/`-Inf`/`NaN` spelled as Go does.
pub(super) fn go_fixed(v: f64) -> String {
    match v {
        f64::INFINITY => "+Inf".into(),
        f64::NEG_INFINITY => "-Inf".into(),
        _ if v.is_nan() => "NaN".into(),
        _ => format!("{v:.6}"),
    }
}

/// Prometheus' errors, in its words; a NaN factor passes, as there.
fn check_factors(params: &[f64; MAX_SCALAR_PARAMS]) -> Result<(), String> {
    let (sf, tf) = (params[0], params[1]);
    if sf <= 0.0 || sf >= 1.0 {
        return Err(format!("invalid smoothing factor. Expected: 0 < sf < 1, got: {}", go_fixed(sf)));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(format!("invalid trend factor. Expected: 0 < tf < 1, got: {}", go_fixed(tf)));
    }
    Ok(())
}

/// The smoothed value after the window's last sample (none for fewer than two).
fn smooth(w: &Window<'_>) -> Option<f64> {
    let (sf, tf) = (w.params[0], w.params[1]);
    let s = w.samples;
    if s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, s[0].v);
    let mut trend = s[1].v - s[0].v;
    for (i, sample) in s.iter().enumerate().skip(1) {
        let x = sf * sample.v;
        // The first step keeps the initial trend.
        if i > 1 {
            trend = tf * (s1 - s0) + (1.0 - tf) * trend;
        }
        let y = (1.0 - sf) * (s1 + trend);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}
