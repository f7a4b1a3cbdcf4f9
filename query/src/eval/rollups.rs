//! The rollup planner: `*_over_time` (sum, count, avg, min, max, last),
//! `rate` and `increase` over a range selector are answered from storage
//! rollups when every step's window is made of whole buckets — the range
//! and each window's end (after `offset` and `@`) multiples of the
//! resolution — using the coarsest resolution that fits. The result is the
//! raw plan's: a window `[end - range, end]` is its whole buckets plus the
//! sample exactly at `end`, which is the first sample of the bucket starting
//! at `end`. Anything else is evaluated from raw samples.

use pulsedb_model::{RollupFields, RESOLUTIONS};

use super::labels::drop_metric_name;
use super::selectors::matchers_of;
use super::{EvalValue, Evaluator, StepSeries};
use crate::ast::{Call, Expr};
use crate::error::Result;
use crate::functions::{Buckets, Impl};

impl Evaluator<'_> {
    /// The function's value from rollups, or `None` when the raw plan must answer.
    pub(crate) fn try_rollups(&mut self, c: &Call) -> Result<Option<EvalValue>> {
        let (Some(plan), true) = (&c.func.rollup, self.options.use_rollups) else {
            return Ok(None);
        };
        let keeps_name = matches!(&c.func.imp, Impl::Window(w) if w.keeps_name);
        let Some(Expr::Matrix(m)) = c.args.first() else {
            return Ok(None);
        };
        let v = &m.vector;
        let at = self.resolve_at(v.at);
        // At one evaluation time, `last_over_time` reads each series'
        // newest sample (`SelectHints::newest`), which beats any bucket.
        if c.func.name == "last_over_time" && (self.steps == 1 || at.is_some()) {
            return Ok(None);
        }
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
        let fields = RollupFields::COUNT.with(RollupFields::FIRST).with(plan.fields);
        let Some(series) = self.querier.select_rollups(&matchers_of(v)?, first_end - m.range, last_end, res, fields)?
        else {
            return Ok(None);
        };
        let buckets: usize = series.iter().map(|s| s.buckets.len()).sum();
        // The sample limit counts the raw samples the buckets stand for:
        // a query may not read more through summaries than it could raw.
        let raw: u64 = series.iter().flat_map(|s| &s.buckets).map(|b| b.count).sum();
        self.account(usize::try_from(raw).unwrap_or(usize::MAX))?;
        let this = &*self;
        let work = buckets + series.len() * self.steps;
        let out: Vec<StepSeries> = super::map_series(&series, work, |s| -> Result<StepSeries> {
            this.check_time()?;
            let labels = if keeps_name { s.labels.clone() } else { drop_metric_name(&s.labels) };
            let mut points = Vec::new();
            // Window ends only move forward, so the bucket cursors do too.
            let (mut lo, mut hi) = (0usize, 0usize);
            let end_of = |i: usize| at.unwrap_or_else(|| this.ts(i)) - v.offset;
            // Steps whose window ends before the first bucket hold nothing
            // (a dashboard's 12 h over a series two hours old: most of them).
            let first_step = s.buckets.first().map_or(this.steps, |b| {
                let (mut lo, mut hi) = (0, this.steps);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if end_of(mid) < b.start {
                        lo = mid + 1
                    } else {
                        hi = mid
                    }
                }
                lo
            });
            for i in first_step..this.steps {
                let end = end_of(i);
                while lo < s.buckets.len() && s.buckets[lo].start < end - m.range {
                    lo += 1;
                }
                if lo == s.buckets.len() {
                    // Every later window starts after the last bucket.
                    break;
                }
                hi = hi.max(lo);
                while hi < s.buckets.len() && s.buckets[hi].start < end {
                    hi += 1;
                }
                let whole = s.buckets.get(lo..hi).unwrap_or_default();
                // The sample exactly at the window's end opens the next bucket.
                let edge = s.buckets.get(hi).filter(|b| b.start == end && b.first.t == end).map(|b| b.first);
                let count: u64 = whole.iter().map(|b| b.count).sum::<u64>() + u64::from(edge.is_some());
                if count == 0 {
                    continue;
                }
                let window = Buckets { whole, edge, start: end - m.range, end, count };
                if let Some(v) = (plan.value)(&window) {
                    points.push((i, v));
                }
            }
            Ok(StepSeries { labels, points })
        })?;
        Ok(Some(EvalValue::Vector(super::assemble(out)?)))
    }
}
