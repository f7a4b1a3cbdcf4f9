//! Function evaluation with Prometheus semantics: extrapolated `rate`,
//! `increase` and `delta`, counter resets, linear regression for `deriv`
//! and `predict_linear`, the `*_over_time` family, math on vectors, label
//! rewriting and classic-histogram quantiles.

use std::collections::HashMap;

use rayon::prelude::*;

use pulsedb_model::{Labels, MatchOp, Sample};
use regex::Regex;

use super::labels::{drop_metric_name, with};
use super::{by_step, window_bounds, window_of, EvalValue, Evaluator, SeriesCollector, StepSeries};
use crate::ast::{Call, Expr};
use crate::error::{Error, Result};
use crate::value::ValueType;

impl Evaluator<'_> {
    pub(crate) fn call(&mut self, c: &Call) -> Result<EvalValue> {
        let outer = self.hint_func.replace(c.func.name);
        let result = self.call_function(c);
        self.hint_func = outer;
        result
    }

    fn call_function(&mut self, c: &Call) -> Result<EvalValue> {
        let name = c.func.name;
        if name == "time" {
            return Ok(EvalValue::Scalar((0..self.steps).map(|i| self.ts(i) as f64 / 1000.0).collect()));
        }
        if c.func.args.contains(&ValueType::Matrix) {
            return self.range_function(c);
        }
        match name {
            "vector" => {
                let v = self.eval_scalar(&c.args[0])?;
                let points = v.into_iter().enumerate().collect();
                Ok(EvalValue::Vector(vec![StepSeries { labels: Labels::default(), points }]))
            }
            "scalar" => {
                let series = self.eval_vector(&c.args[0])?;
                let mut out = vec![f64::NAN; self.steps];
                for (i, samples) in by_step(&series, self.steps).into_iter().enumerate() {
                    if let [(_, v)] = samples.as_slice() {
                        out[i] = *v;
                    }
                }
                Ok(EvalValue::Scalar(out))
            }
            "timestamp" => {
                let series = match &c.args[0] {
                    // The sample's own timestamp, not the step's.
                    Expr::Vector(v) => self.instant_samples(v, true)?,
                    other => {
                        let series = self.eval_vector(other)?;
                        series
                            .into_iter()
                            .map(|s| StepSeries {
                                labels: s.labels,
                                points: s.points.into_iter().map(|(i, _)| (i, self.ts(i) as f64 / 1000.0)).collect(),
                            })
                            .collect()
                    }
                };
                self.relabel(series, |l| Some(drop_metric_name(l)))
            }
            "absent" => {
                let series = self.eval_vector(&c.args[0])?;
                let present = by_step(&series, self.steps);
                let labels = absent_labels(&c.args[0]);
                let points: Vec<(usize, f64)> =
                    present.iter().enumerate().filter(|(_, s)| s.is_empty()).map(|(i, _)| (i, 1.0)).collect();
                Ok(EvalValue::Vector(if points.is_empty() { Vec::new() } else { vec![StepSeries { labels, points }] }))
            }
            "sort" | "sort_desc" => {
                let mut series = self.eval_vector(&c.args[0])?;
                let desc = name == "sort_desc";
                // Only an instant query's order is visible; sort on its one step.
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
            "label_replace" => self.label_replace(c),
            "label_join" => self.label_join(c),
            "histogram_quantile" => self.histogram_quantile(c),
            "round" => {
                let series = self.eval_vector(&c.args[0])?;
                let to = match c.args.get(1) {
                    Some(e) => self.eval_scalar(e)?,
                    None => vec![1.0; self.steps],
                };
                self.map_values(series, |i, v| {
                    let inv = 1.0 / to[i];
                    Some((v * inv + 0.5).floor() / inv)
                })
            }
            "clamp" | "clamp_min" | "clamp_max" => {
                let series = self.eval_vector(&c.args[0])?;
                let a = self.eval_scalar(&c.args[1])?;
                let b = match c.args.get(2) {
                    Some(e) => self.eval_scalar(e)?,
                    None => vec![f64::NAN; self.steps],
                };
                self.map_values(series, |i, v| match name {
                    // Go's math.Max/Min: a NaN on either side gives NaN.
                    "clamp_min" => Some(go_max(v, a[i])),
                    "clamp_max" => Some(go_min(v, a[i])),
                    _ if b[i] < a[i] => None,
                    // max/min, with NaN bounds propagating as in Go's math.Max/Min.
                    _ => Some(go_max(a[i], go_min(b[i], v))),
                })
            }
            _ => {
                let f: fn(f64) -> f64 = match name {
                    "abs" => f64::abs,
                    "ceil" => f64::ceil,
                    "floor" => f64::floor,
                    "exp" => f64::exp,
                    "sqrt" => f64::sqrt,
                    "ln" => f64::ln,
                    "log2" => f64::log2,
                    "log10" => f64::log10,
                    "sgn" => |v: f64| {
                        if v > 0.0 {
                            1.0
                        } else if v < 0.0 {
                            -1.0
                        } else {
                            v
                        }
                    },
                    other => return Err(Error::Execution(format!("function {other} is not implemented"))),
                };
                let series = self.eval_vector(&c.args[0])?;
                self.map_values(series, |_, v| Some(f(v)))
            }
        }
    }

    /// Applies `f(step, value)` to every sample, dropping the metric name.
    fn map_values(&mut self, series: Vec<StepSeries>, f: impl Fn(usize, f64) -> Option<f64>) -> Result<EvalValue> {
        let series = series
            .into_iter()
            .map(|s| StepSeries {
                labels: drop_metric_name(&s.labels),
                points: s.points.into_iter().filter_map(|(i, v)| f(i, v).map(|v| (i, v))).collect(),
            })
            .collect();
        self.relabel(series, |l| Some(l.clone()))
    }

    /// Rewrites labels, merging series that end up equal (an error where
    /// they collide at a step).
    fn relabel(&mut self, series: Vec<StepSeries>, f: impl Fn(&Labels) -> Option<Labels>) -> Result<EvalValue> {
        let series: Vec<StepSeries> = series
            .into_iter()
            .filter_map(|s| f(&s.labels).map(|labels| StepSeries { labels, points: s.points }))
            .collect();
        Ok(EvalValue::Vector(super::assemble(series)?))
    }

    fn string_arg(&mut self, e: &Expr) -> Result<String> {
        match self.eval(e)? {
            EvalValue::String(s) => Ok(s),
            _ => Err(Error::Execution(format!("expected a string, got {e}"))),
        }
    }

    fn label_replace(&mut self, c: &Call) -> Result<EvalValue> {
        let series = self.eval_vector(&c.args[0])?;
        let dst = self.string_arg(&c.args[1])?;
        let replacement = self.string_arg(&c.args[2])?;
        let src = self.string_arg(&c.args[3])?;
        let pattern = self.string_arg(&c.args[4])?;
        let regex = Regex::new(&format!("^(?s:{pattern})$"))
            .map_err(|e| Error::Execution(format!("invalid regular expression in label_replace(): {pattern}: {e}")))?;
        if !pulsedb_model::is_valid_label_name(&dst) {
            return Err(Error::Execution(format!("invalid destination label name in label_replace(): {dst}")));
        }
        let series: Vec<StepSeries> = series
            .into_iter()
            .map(|s| {
                let value = s.labels.get(&src).unwrap_or("");
                let labels = match regex.captures(value) {
                    Some(caps) => {
                        let mut out = String::new();
                        caps.expand(&replacement, &mut out);
                        with(&s.labels, &dst, &out)
                    }
                    None => s.labels.clone(),
                };
                StepSeries { labels, points: s.points }
            })
            .collect();
        self.relabel(series, |l| Some(l.clone()))
    }

    fn label_join(&mut self, c: &Call) -> Result<EvalValue> {
        let series = self.eval_vector(&c.args[0])?;
        let dst = self.string_arg(&c.args[1])?;
        let sep = self.string_arg(&c.args[2])?;
        let mut srcs = Vec::new();
        for a in &c.args[3..] {
            srcs.push(self.string_arg(a)?);
        }
        if !pulsedb_model::is_valid_label_name(&dst) {
            return Err(Error::Execution(format!("invalid destination label name in label_join(): {dst}")));
        }
        let series: Vec<StepSeries> = series
            .into_iter()
            .map(|s| {
                let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
                StepSeries { labels: with(&s.labels, &dst, &joined.join(&sep)), points: s.points }
            })
            .collect();
        self.relabel(series, |l| Some(l.clone()))
    }

    fn histogram_quantile(&mut self, c: &Call) -> Result<EvalValue> {
        let q = self.eval_scalar(&c.args[0])?;
        let series = self.eval_vector(&c.args[1])?;
        // Bucket series grouped by their labels without `le` and the name.
        let mut groups: HashMap<Labels, Vec<(usize, f64)>> = HashMap::new();
        for (idx, s) in series.iter().enumerate() {
            let Some(le) = s.labels.get("le").and_then(parse_le) else {
                continue;
            };
            let key = super::labels::without(&s.labels, &["le".to_string()], true);
            groups.entry(key).or_default().push((idx, le));
        }
        let mut keys: Vec<&Labels> = groups.keys().collect();
        keys.sort();
        let mut out = SeriesCollector::default();
        let per_step = by_step(&series, self.steps);
        let mut value_at: HashMap<usize, f64> = HashMap::new();
        for (i, samples) in per_step.into_iter().enumerate() {
            value_at.clear();
            value_at.extend(samples);
            for key in &keys {
                let mut buckets: Vec<(f64, f64)> =
                    groups[*key].iter().filter_map(|(idx, le)| value_at.get(idx).map(|v| (*le, *v))).collect();
                if buckets.is_empty() {
                    continue;
                }
                out.push((*key).clone(), i, bucket_quantile(q[i], &mut buckets))?;
            }
        }
        Ok(EvalValue::Vector(out.finish()))
    }

    fn range_function(&mut self, c: &Call) -> Result<EvalValue> {
        if let Some(value) = self.try_rollups(c)? {
            return Ok(value);
        }
        let name = c.func.name;
        let matrix_arg = c.func.args.iter().position(|t| *t == ValueType::Matrix).unwrap_or(0);
        let mut scalars: Vec<Vec<f64>> = Vec::new();
        for (i, a) in c.args.iter().enumerate() {
            if i != matrix_arg {
                scalars.push(self.eval_scalar(a)?);
            }
        }
        let m = self.eval_matrix(&c.args[matrix_arg])?;
        if name == "absent_over_time" {
            let labels = absent_labels(&c.args[0]);
            let points: Vec<(usize, f64)> = (0..self.steps)
                .filter(|&i| {
                    let (lo, hi) = m.window(self.ts(i));
                    m.series.iter().all(|s| window_of(&s.samples, lo, hi).is_empty())
                })
                .map(|i| (i, 1.0))
                .collect();
            return Ok(EvalValue::Vector(if points.is_empty() {
                Vec::new()
            } else {
                vec![StepSeries { labels, points }]
            }));
        }
        // Series are independent: evaluate them in parallel.
        let this = &*self;
        let out: Vec<StepSeries> = m
            .series
            .par_iter()
            .map(|s| -> Result<StepSeries> {
                this.check_time()?;
                let labels = if name == "last_over_time" { s.labels.clone() } else { drop_metric_name(&s.labels) };
                let mut points = Vec::new();
                // Prefix count of value drops, so windows without a counter
                // reset skip the correction scan.
                let drops: Vec<u32> = if matches!(name, "rate" | "increase") {
                    std::iter::once(0)
                        .chain(s.samples.windows(2).scan(0u32, |n, p| {
                            *n += u32::from(p[1].v < p[0].v);
                            Some(*n)
                        }))
                        .collect()
                } else {
                    Vec::new()
                };
                for i in 0..this.steps {
                    let ts = this.ts(i);
                    let (lo, hi) = m.window(ts);
                    let (a, b) = window_bounds(&s.samples, lo, hi);
                    let w = s.samples.get(a..b).unwrap_or_default();
                    if w.is_empty() {
                        continue;
                    }
                    let param = |k: usize| scalars.get(k).and_then(|v| v.get(i)).copied().unwrap_or(f64::NAN);
                    let v = match name {
                        "rate" | "increase" => {
                            let resets = drops.get(b.saturating_sub(1)).zip(drops.get(a)).map_or(1, |(x, y)| x - y);
                            if resets == 0 && w.len() >= 2 {
                                let (first, last) = (w[0], w[w.len() - 1]);
                                extrapolated_rate_from(
                                    first,
                                    last,
                                    w.len(),
                                    last.v - first.v,
                                    lo,
                                    hi,
                                    true,
                                    name == "rate",
                                )
                            } else {
                                extrapolated_rate(w, lo, hi, true, name == "rate")
                            }
                        }
                        "delta" => extrapolated_rate(w, lo, hi, false, false),
                        "irate" => instant_value(w, true),
                        "idelta" => instant_value(w, false),
                        "resets" => Some(w.windows(2).filter(|p| p[1].v < p[0].v).count() as f64),
                        "changes" => Some(
                            w.windows(2).filter(|p| p[1].v != p[0].v && !(p[1].v.is_nan() && p[0].v.is_nan())).count()
                                as f64,
                        ),
                        "deriv" => (w.len() >= 2).then(|| linear_regression(w, w[0].t).0),
                        "predict_linear" => (w.len() >= 2).then(|| {
                            let (slope, intercept) = linear_regression(w, ts);
                            intercept + slope * param(0)
                        }),
                        "avg_over_time" => Some(avg(w.iter().map(|s| s.v))),
                        "sum_over_time" => Some(w.iter().map(|s| s.v).sum()),
                        "count_over_time" => Some(w.len() as f64),
                        "min_over_time" => {
                            Some(w.iter().fold(f64::NAN, |m, s| if s.v < m || m.is_nan() { s.v } else { m }))
                        }
                        "max_over_time" => {
                            Some(w.iter().fold(f64::NAN, |m, s| if s.v > m || m.is_nan() { s.v } else { m }))
                        }
                        "last_over_time" => w.last().map(|s| s.v),
                        "present_over_time" => Some(1.0),
                        "quantile_over_time" => {
                            let mut values: Vec<f64> = w.iter().map(|s| s.v).collect();
                            Some(quantile(param(0), &mut values))
                        }
                        "stddev_over_time" => Some(variance(w.iter().map(|s| s.v)).sqrt()),
                        "stdvar_over_time" => Some(variance(w.iter().map(|s| s.v))),
                        other => return Err(Error::Execution(format!("function {other} is not implemented"))),
                    };
                    if let Some(v) = v {
                        points.push((i, v));
                    }
                }
                Ok(StepSeries { labels, points })
            })
            .collect::<Result<_>>()?;
        self.account(out.iter().map(|s| s.points.len()).sum())?;
        Ok(EvalValue::Vector(super::assemble(out)?))
    }
}

/// Labels `absent()` gives its result: the argument selector's equality
/// matchers (not the name), a label matched twice left out.
fn absent_labels(arg: &Expr) -> Labels {
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

fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// Prometheus' `extrapolatedRate`: the increase over the samples in the
/// window `[range_start, range_end]`, extrapolated towards the window's
/// ends (not below zero for counters), per second for rates.
pub(crate) fn extrapolated_rate(
    w: &[Sample],
    range_start: i64,
    range_end: i64,
    counter: bool,
    rate: bool,
) -> Option<f64> {
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
pub(crate) fn extrapolated_rate_from(
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
    result *= interval / sampled;
    if rate {
        result /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(result)
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

/// Least-squares slope and intercept, x in seconds relative to `intercept_time`.
pub(crate) fn linear_regression(w: &[Sample], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut sum_y, mut sum_xy, mut sum_x2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let init = w[0].v;
    let mut constant = true;
    for (i, s) in w.iter().enumerate() {
        if constant && i > 0 && s.v != init {
            constant = false;
        }
        n += 1.0;
        let x = (s.t - intercept_time) as f64 / 1e3;
        sum_x += x;
        sum_y += s.v;
        sum_xy += x * s.v;
        sum_x2 += x * x;
    }
    if constant {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    (slope, sum_y / n - slope * sum_x / n)
}

/// Mean, computed incrementally as Prometheus does so that huge values do
/// not overflow, with its handling of infinities.
pub(crate) fn avg(values: impl Iterator<Item = f64>) -> f64 {
    let (mut mean, mut count) = (0.0f64, 0.0f64);
    for v in values {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        mean += v / count - mean / count;
    }
    mean
}

/// Population variance (Welford).
pub(crate) fn variance(values: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut aux) = (0.0f64, 0.0f64, 0.0f64);
    for v in values {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        aux += delta * (v - mean);
    }
    aux / count
}

/// Prometheus' `quantile`: linear interpolation between closest ranks.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaN sorts first, as in Prometheus' value heap.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Prometheus' `bucketQuantile` over (upper bound, cumulative count) buckets.
fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Merge buckets with the same upper bound.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(le, count) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == le => last.1 += count,
            _ => merged.push((le, count)),
        }
    }
    let buckets = merged;
    // Make counts monotonic (scrapes are not atomic).
    let mut buckets = buckets;
    let mut max = f64::NEG_INFINITY;
    for b in buckets.iter_mut() {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = buckets[..buckets.len() - 1].partition_point(|x| x.1 < rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let (mut start, end, mut count) = (0.0, buckets[b].0, buckets[b].1);
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_quantile_interpolates() {
        let mut b = vec![(0.1, 10.0), (0.5, 60.0), (f64::INFINITY, 100.0)];
        assert!((bucket_quantile(0.5, &mut b) - (0.1 + 0.4 * 40.0 / 50.0)).abs() < 1e-12);
        let mut b = vec![(0.1, 10.0), (f64::INFINITY, 100.0)];
        assert_eq!(bucket_quantile(0.99, &mut b), 0.1);
    }

    #[test]
    fn quantile_matches_prometheus() {
        assert_eq!(quantile(0.5, &mut [1.0, 2.0, 3.0, 4.0]), 2.5);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
    }
}
