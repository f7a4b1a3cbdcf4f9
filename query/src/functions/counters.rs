//! Counters and gauges' change: `rate`, `increase` (also answered from
//! rollups), `delta`, `irate`, `idelta`, `resets`, `changes`, `deriv` and
//! `predict_linear`, with Prometheus' extrapolation and counter-reset
//! handling.

use pulsedb_model::{RollupFields, Sample};

use super::stats::linear_regression;
use super::{Buckets, Function, Impl, Window, WindowFn};
use crate::value::ValueType::{Matrix, Scalar, Vector};

const fn window(value: fn(&Window<'_>) -> Option<f64>) -> Impl {
    Impl::Window(WindowFn::plain(value))
}

const fn counter(value: fn(&Window<'_>) -> Option<f64>) -> Impl {
    Impl::Window(WindowFn { counts_resets: true, ..WindowFn::plain(value) })
}

/// What a counter plan reads besides the count and first samples.
const COUNTER_FIELDS: RollupFields = RollupFields::LAST.with(RollupFields::CORRECTION);

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("rate", &[Matrix], Vector, counter(|w| counter_change(w, true)))
        .rollup(COUNTER_FIELDS, |b| counter_change_from_buckets(b, true)),
    Function::new("increase", &[Matrix], Vector, counter(|w| counter_change(w, false)))
        .rollup(COUNTER_FIELDS, |b| counter_change_from_buckets(b, false)),
    Function::new("delta", &[Matrix], Vector, window(|w| extrapolated_rate(w.samples, w.start, w.end, false, false))),
    Function::new("irate", &[Matrix], Vector, window(|w| instant_value(w.samples, true))),
    Function::new("idelta", &[Matrix], Vector, window(|w| instant_value(w.samples, false))),
    Function::new(
        "resets",
        &[Matrix],
        Vector,
        window(|w| Some(w.samples.windows(2).filter(|p| p[1].v < p[0].v).count() as f64)),
    ),
    Function::new(
        "changes",
        &[Matrix],
        Vector,
        window(|w| {
            let changed = |p: &[Sample]| p[1].v != p[0].v && !(p[1].v.is_nan() && p[0].v.is_nan());
            Some(w.samples.windows(2).filter(|p| changed(p)).count() as f64)
        }),
    ),
    Function::new(
        "deriv",
        &[Matrix],
        Vector,
        window(|w| (w.samples.len() >= 2).then(|| linear_regression(w.samples, w.samples[0].t).0)),
    ),
    Function::new(
        "predict_linear",
        &[Matrix, Scalar],
        Vector,
        window(|w| {
            (w.samples.len() >= 2).then(|| {
                let (slope, intercept) = linear_regression(w.samples, w.step_time);
                intercept + slope * w.params[0]
            })
        }),
    ),
];

/// `rate` (per second) or `increase` of a window; windows known to hold no
/// counter reset skip the correction scan.
fn counter_change(w: &Window<'_>, rate: bool) -> Option<f64> {
    let s = w.samples;
    if w.resets == Some(0) && s.len() >= 2 {
        let (first, last) = (s[0], s[s.len() - 1]);
        extrapolated_rate_from(first, last, s.len(), last.v - first.v, w.start, w.end, true, rate)
    } else {
        extrapolated_rate(s, w.start, w.end, true, rate)
    }
}

/// [`counter_change`] from rollup buckets: the corrections inside buckets
/// plus the resets between them and at the edge sample.
fn counter_change_from_buckets(b: &Buckets<'_>, rate: bool) -> Option<f64> {
    let first = b.whole.first().map(|x| x.first).or(b.edge)?;
    let last = b.edge.or_else(|| b.whole.last().map(|x| x.last))?;
    let mut correction: f64 = b.whole.iter().map(|x| x.correction).sum();
    let mut prev: Option<f64> = None;
    for x in b.whole {
        if prev.is_some_and(|p| x.first.v < p) {
            correction += prev.unwrap_or_default();
        }
        prev = Some(x.last.v);
    }
    if let (Some(e), Some(p)) = (b.edge, prev) {
        if e.v < p {
            correction += p;
        }
    }
    extrapolated_rate_from(first, last, b.count as usize, last.v - first.v + correction, b.start, b.end, true, rate)
}

/// Prometheus' `extrapolatedRate`: the increase over the samples in the
/// window `[range_start, range_end]`, extrapolated towards the window's
/// ends (not below zero for counters), per second for rates.
fn extrapolated_rate(w: &[Sample], range_start: i64, range_end: i64, counter: bool, rate: bool) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (first, last) = (w[0], w[w.len() - 1]);
    let mut result = last.v - first.v;
    if counter {
        let mut prev = first.v;
        for s in &w[1..] {
            if s.v < prev {
                result += prev;
            }
            prev = s.v;
        }
    }
    extrapolated_rate_from(first, last, w.len(), result, range_start, range_end, counter, rate)
}

/// The extrapolation of [`extrapolated_rate`], from a window's first and
/// last sample, its sample count and its (reset-corrected) difference.
#[allow(clippy::too_many_arguments)]
fn extrapolated_rate_from(
    first: Sample,
    last: Sample,
    count: usize,
    difference: f64,
    range_start: i64,
    range_end: i64,
    counter: bool,
    rate: bool,
) -> Option<f64> {
    if count < 2 {
        return None;
    }
    let mut result = difference;
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let average = sampled / (count - 1) as f64;
    if counter && result > 0.0 && first.v >= 0.0 {
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold { to_start } else { average / 2.0 };
    interval += if to_end < threshold { to_end } else { average / 2.0 };
    // Prometheus scales a factor, then the result once: (ext / sampled) / range.
    let mut factor = interval / sampled;
    if rate {
        factor /= range_seconds(range_end - range_start);
    }
    result *= factor;
    Some(result)
}

/// A range in seconds as Go's `Duration.Seconds()` computes it: whole
/// seconds plus the rest in nanoseconds over 1e9 (not milliseconds / 1000,
/// which rounds differently for ranges that are not whole seconds).
fn range_seconds(range_ms: i64) -> f64 {
    let nanos = i128::from(range_ms) * 1_000_000;
    let whole = nanos / 1_000_000_000;
    let rest = nanos % 1_000_000_000;
    whole as f64 + rest as f64 / 1e9
}

/// `irate`/`idelta`: from the last two samples.
fn instant_value(w: &[Sample], rate: bool) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (prev, last) = (w[w.len() - 2], w[w.len() - 1]);
    let mut result = if rate && last.v < prev.v { last.v } else { last.v - prev.v };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    if rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}
