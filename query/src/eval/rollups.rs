//! The rollup planner: `*_over_time` (sum, count, avg, min, max, last),
//! `rate` and `increase` over a range selector are answered from storage
//! rollups when every step's window is made of whole buckets — the range
//! and each window's end (after `offset` and `@`) multiples of the
//! resolution — using the coarsest resolution that fits. The result is the
//! raw plan's: a window `[end - range, end]` is its whole buckets plus the
//! sample exactly at `end`, which is the first sample of the bucket starting
//! at `end`. Anything else is evaluated from raw samples.

use pulsedb_model::{RollupBucket, RollupFields, Sample, RESOLUTIONS};
use rayon::prelude::*;

use super::functions::extrapolated_rate_from;
use super::labels::drop_metric_name;
use super::selectors::matchers_of;
use super::{EvalValue, Evaluator, StepSeries};
use crate::ast::{Call, Expr};
use crate::error::Result;

const ROLLUP_FUNCTIONS: [&str; 8] = [
    "sum_over_time",
    "count_over_time",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "last_over_time",
    "rate",
    "increase",
];

impl Evaluator<'_> {
    /// The function's value from rollups, or `None` when the raw plan must answer.
    pub(crate) fn try_rollups(&mut self, c: &Call) -> Result<Option<EvalValue>> {
        let name = c.func.name;
        if !self.options.use_rollups || !ROLLUP_FUNCTIONS.contains(&name) {
            return Ok(None);
        }
        let Some(Expr::Matrix(m)) = c.args.first() else {
            return Ok(None);
        };
        let v = &m.vector;
        let at = self.resolve_at(v.at);
        let first_end = at.unwrap_or(self.start) - v.offset;
        let aligned = |res: i64| {
            m.range % res == 0
                && first_end.rem_euclid(res) == 0
                && (at.is_some() || self.step % res == 0 || self.steps == 1)
        };
        let Some(res) = RESOLUTIONS.iter().rev().copied().find(|&r| aligned(r)) else {
            return Ok(None);
        };
        let last_end = at.unwrap_or_else(|| self.ts(self.steps - 1)) - v.offset;
        // Every window needs counts and its edge sample (a bucket's first).
        let base = RollupFields::COUNT.with(RollupFields::FIRST);
        let fields = match name {
            "sum_over_time" | "avg_over_time" => base.with(RollupFields::SUM),
            "min_over_time" => base.with(RollupFields::MIN),
            "max_over_time" => base.with(RollupFields::MAX),
            "last_over_time" => base.with(RollupFields::LAST),
            "rate" | "increase" => base.with(RollupFields::LAST).with(RollupFields::CORRECTION),
            _ => base,
        };
        let Some(series) = self.querier.select_rollups(&matchers_of(v)?, first_end - m.range, last_end, res, fields)?
        else {
            return Ok(None);
        };
        self.account(series.iter().map(|s| s.buckets.len()).sum())?;
        let this = &*self;
        let out: Vec<StepSeries> = series
            .par_iter()
            .map(|s| -> Result<StepSeries> {
                this.check_time()?;
                let labels = if name == "last_over_time" { s.labels.clone() } else { drop_metric_name(&s.labels) };
                let mut points = Vec::new();
                // Window ends only move forward, so the bucket cursors do too.
                let (mut lo, mut hi) = (0usize, 0usize);
                for i in 0..this.steps {
                    let end = at.unwrap_or_else(|| this.ts(i)) - v.offset;
                    while lo < s.buckets.len() && s.buckets[lo].start < end - m.range {
                        lo += 1;
                    }
                    hi = hi.max(lo);
                    while hi < s.buckets.len() && s.buckets[hi].start < end {
                        hi += 1;
                    }
                    let whole = s.buckets.get(lo..hi).unwrap_or_default();
                    // The sample exactly at the window's end opens the next bucket.
                    let edge = s.buckets.get(hi).filter(|b| b.start == end && b.first.t == end).map(|b| b.first);
                    if let Some(v) = window_value(name, whole, edge, end - m.range, end) {
                        points.push((i, v));
                    }
                }
                Ok(StepSeries { labels, points })
            })
            .collect::<Result<_>>()?;
        Ok(Some(EvalValue::Vector(super::assemble(out)?)))
    }
}

/// One window's value from its whole buckets and the sample at its end.
fn window_value(name: &str, whole: &[RollupBucket], edge: Option<Sample>, lo: i64, hi: i64) -> Option<f64> {
    let count: u64 = whole.iter().map(|b| b.count).sum::<u64>() + u64::from(edge.is_some());
    if count == 0 {
        return None;
    }
    let sum = || whole.iter().map(|b| b.sum).sum::<f64>() + edge.map_or(0.0, |e| e.v);
    // Prometheus' min/max fold: NaN only when every value is NaN.
    let fold = |pick: fn(f64, f64) -> bool, get: fn(&RollupBucket) -> f64| {
        whole.iter().map(get).chain(edge.map(|e| e.v)).fold(f64::NAN, |acc, v| {
            if pick(v, acc) || acc.is_nan() {
                v
            } else {
                acc
            }
        })
    };
    match name {
        "count_over_time" => Some(count as f64),
        "sum_over_time" => Some(sum()),
        "avg_over_time" => Some(sum() / count as f64),
        "min_over_time" => Some(fold(|v, acc| v < acc, |b| b.min)),
        "max_over_time" => Some(fold(|v, acc| v > acc, |b| b.max)),
        "last_over_time" => edge.map(|e| e.v).or_else(|| whole.last().map(|b| b.last.v)),
        "rate" | "increase" => {
            let first = whole.first().map(|b| b.first).or(edge)?;
            let last = edge.or_else(|| whole.last().map(|b| b.last))?;
            let mut correction: f64 = whole.iter().map(|b| b.correction).sum();
            let mut prev: Option<f64> = None;
            for b in whole {
                if prev.is_some_and(|p| b.first.v < p) {
                    correction += prev.unwrap_or_default();
                }
                prev = Some(b.last.v);
            }
            if let (Some(e), Some(p)) = (edge, prev) {
                if e.v < p {
                    correction += p;
                }
            }
            extrapolated_rate_from(
                first,
                last,
                count as usize,
                last.v - first.v + correction,
                lo,
                hi,
                true,
                name == "rate",
            )
        }
        _ => None,
    }
}
