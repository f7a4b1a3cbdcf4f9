//! Classic histograms: `histogram_quantile` over `le` buckets (native
//! histograms are not stored by pulsedb).

use std::collections::HashMap;

use pulsedb_model::Labels;

use super::{Function, Impl};
use crate::ast::Call;
use crate::error::Result;
use crate::eval::{by_step, without_labels, EvalValue, Evaluator, SeriesCollector};
use crate::value::ValueType::{Scalar, Vector};

pub(super) static FUNCTIONS: &[Function] =
    &[Function::new("histogram_quantile", &[Scalar, Vector], Vector, Impl::Call(histogram_quantile))];

fn histogram_quantile(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let q = ev.eval_scalar(&c.args[0])?;
    let series = ev.eval_vector(&c.args[1])?;
    // Bucket series grouped by their labels without `le` and the name.
    let mut groups: HashMap<Labels, Vec<(usize, f64)>> = HashMap::new();
    for (idx, s) in series.iter().enumerate() {
        let Some(le) = s.labels.get("le").and_then(parse_le) else {
            continue;
        };
        let key = without_labels(&s.labels, &["le".to_string()], true);
        groups.entry(key).or_default().push((idx, le));
    }
    let mut keys: Vec<&Labels> = groups.keys().collect();
    keys.sort();
    let mut out = SeriesCollector::default();
    let per_step = by_step(&series, ev.steps);
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

fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
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
}
