//! Numerics several families share, computed as Prometheus computes them
//! (same order of operations, same NaN and infinity handling).

use pulsedb_model::Sample;

/// Neumaier's compensated sum: the running sum and its compensation,
/// added together at the end (Prometheus' `kahanSumInc`).
#[derive(Clone, Copy, Default)]
pub(crate) struct KahanSum {
    sum: f64,
    c: f64,
}

impl KahanSum {
    pub(crate) fn add(&mut self, inc: f64) {
        let t = self.sum + inc;
        if self.sum.abs() >= inc.abs() {
            self.c += (self.sum - t) + inc;
        } else {
            self.c += (inc - t) + self.sum;
        }
        self.sum = t;
    }

    /// Sum plus compensation, whatever the sum (linear regression adds
    /// them before using the sums).
    fn with_c(&self) -> f64 {
        self.sum + self.c
    }

    /// The sum without its compensation.
    pub(crate) fn raw(&self) -> f64 {
        self.sum
    }

    /// The compensated sum (an infinite sum as it is: its compensation is NaN).
    pub(crate) fn value(&self) -> f64 {
        if self.sum.is_infinite() {
            self.sum
        } else {
            self.sum + self.c
        }
    }
}

/// `sum_over_time`: compensated, as Prometheus 2.42 sums a window.
pub(crate) fn sum(values: impl Iterator<Item = f64>) -> f64 {
    let mut sum = KahanSum::default();
    values.for_each(|v| sum.add(v));
    sum.value()
}

/// Least-squares slope and intercept, x in seconds relative to
/// `intercept_time`, with compensated sums as Prometheus computes them.
pub(crate) fn linear_regression(w: &[Sample], intercept_time: i64) -> (f64, f64) {
    let (mut sum_x, mut sum_y, mut sum_xy, mut sum_x2) =
        (KahanSum::default(), KahanSum::default(), KahanSum::default(), KahanSum::default());
    let mut n = 0.0;
    let init = w[0].v;
    let mut constant = true;
    for (i, s) in w.iter().enumerate() {
        if constant && i > 0 && s.v != init {
            constant = false;
        }
        n += 1.0;
        let x = (s.t - intercept_time) as f64 / 1e3;
        sum_x.add(x);
        sum_y.add(s.v);
        sum_xy.add(x * s.v);
        sum_x2.add(x * x);
    }
    if constant {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let (sum_x, sum_y, sum_xy, sum_x2) = (sum_x.with_c(), sum_y.with_c(), sum_xy.with_c(), sum_x2.with_c());
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    (slope, sum_y / n - slope * sum_x / n)
}

/// Mean as Prometheus' `avg_over_time` computes it: incrementally (huge
/// values do not overflow), compensated, with its handling of infinities.
pub(crate) fn avg(values: impl Iterator<Item = f64>) -> f64 {
    let mut mean = KahanSum::default();
    let mut count = 0.0f64;
    for v in values {
        count += 1.0;
        let m = mean.raw();
        if m.is_infinite() && ((v.is_infinite() && (m > 0.0) == (v > 0.0)) || (!v.is_infinite() && !v.is_nan())) {
            continue;
        }
        mean.add(v / count - m / count);
    }
    mean.value()
}

/// Population variance (Welford, compensated), as Prometheus'
/// `stdvar_over_time`.
pub(crate) fn variance(values: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut aux) = (0.0f64, KahanSum::default(), KahanSum::default());
    for v in values {
        count += 1.0;
        let delta = v - mean.with_c();
        mean.add(delta / count);
        aux.add(delta * (v - mean.with_c()));
    }
    aux.with_c() / count
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_prometheus() {
        assert_eq!(quantile(0.5, &mut [1.0, 2.0, 3.0, 4.0]), 2.5);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
    }
}
