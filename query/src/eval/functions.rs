//! Calling functions: dispatch through the registry (`crate::functions`)
//! and the two shapes most functions share — the same math on every sample
//! of an instant vector, and a window function slid over every series of a
//! range vector (in parallel, after the rollup planner had its chance).

use pulsedb_model::Labels;

use super::labels::drop_metric_name;
use super::{window_bounds, EvalValue, Evaluator, StepSeries};
use crate::ast::{Call, Expr};
use crate::error::{Error, Result};
use crate::functions::sliding::SlidingExtreme;
use crate::functions::{Impl, Window, WindowFn, MAX_SCALAR_PARAMS};
use crate::value::ValueType;

impl Evaluator<'_> {
    pub(crate) fn call(&mut self, c: &Call) -> Result<EvalValue> {
        let outer = self.hint_func.replace(c.func.name);
        let result = match &c.func.imp {
            Impl::Call(f) => f(self, c),
            Impl::Elementwise(f) => {
                let series = self.eval_vector(&c.args[0])?;
                self.map_values(series, |_, v| Some(f(v)))
            }
            Impl::Window(w) => self.range_function(c, w),
        };
        self.hint_func = outer;
        result
    }

    /// Applies `f(step, value)` to every sample, dropping the metric name.
    pub(crate) fn map_values(
        &mut self,
        series: Vec<StepSeries>,
        f: impl Fn(usize, f64) -> Option<f64>,
    ) -> Result<EvalValue> {
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
    pub(crate) fn relabel(
        &mut self,
        series: Vec<StepSeries>,
        f: impl Fn(&Labels) -> Option<Labels>,
    ) -> Result<EvalValue> {
        let series: Vec<StepSeries> = series
            .into_iter()
            .filter_map(|s| f(&s.labels).map(|labels| StepSeries { labels, points: s.points }))
            .collect();
        Ok(EvalValue::Vector(super::assemble(series)?))
    }

    pub(crate) fn string_arg(&mut self, e: &Expr) -> Result<String> {
        match self.eval(e)? {
            EvalValue::String(s) => Ok(s),
            _ => Err(Error::Execution(format!("expected a string, got {e}"))),
        }
    }

    /// A window function over the call's range vector (the rollup plan
    /// first, when the function has one), scalar arguments per step.
    fn range_function(&mut self, c: &Call, f: &WindowFn) -> Result<EvalValue> {
        if let Some(value) = self.try_rollups(c)? {
            return Ok(value);
        }
        let matrix_arg = c.func.args.iter().position(|t| *t == ValueType::Matrix).unwrap_or(0);
        let mut scalars: Vec<Vec<f64>> = Vec::new();
        for (i, a) in c.args.iter().enumerate() {
            if i != matrix_arg {
                scalars.push(self.eval_scalar(a)?);
            }
        }
        if scalars.len() > MAX_SCALAR_PARAMS {
            return Err(Error::Execution(format!("{} takes too many scalar arguments", c.func.name)));
        }
        let m = self.eval_matrix(&c.args[matrix_arg])?;
        // Series are independent: evaluate them in parallel when it pays.
        let this = &*self;
        let work = m.series.iter().map(|s| s.samples.len() + this.steps).sum();
        let out: Vec<StepSeries> = super::map_series(&m.series, work, |s| -> Result<StepSeries> {
            this.check_time()?;
            let labels = if f.keeps_name { s.labels.clone() } else { drop_metric_name(&s.labels) };
            let mut points = Vec::new();
            // Prefix count of value drops, so windows without a counter
            // reset skip the correction scan.
            let drops: Vec<u32> = if f.counts_resets {
                std::iter::once(0)
                    .chain(s.samples.windows(2).scan(0u32, |n, p| {
                        *n += u32::from(p[1].v < p[0].v);
                        Some(*n)
                    }))
                    .collect()
            } else {
                Vec::new()
            };
            // One step (an instant query) has one window: the plain fold.
            let mut sliding = f.extreme.filter(|_| this.steps > 1).map(|e| SlidingExtreme::new(e, &s.samples));
            for i in 0..this.steps {
                let step_time = this.ts(i);
                let (lo, hi) = m.window(step_time);
                let (a, b) = window_bounds(&s.samples, lo, hi);
                let samples = s.samples.get(a..b).unwrap_or_default();
                if samples.is_empty() {
                    continue;
                }
                if let Some(sliding) = &mut sliding {
                    points.extend(sliding.window(a, b).map(|v| (i, v)));
                    continue;
                }
                let mut params = [f64::NAN; MAX_SCALAR_PARAMS];
                for (slot, values) in params.iter_mut().zip(&scalars) {
                    *slot = values.get(i).copied().unwrap_or(f64::NAN);
                }
                if let Some(check) = f.check_params {
                    check(&params).map_err(Error::Execution)?;
                }
                let resets =
                    f.counts_resets.then(|| drops.get(b.saturating_sub(1)).zip(drops.get(a)).map_or(1, |(x, y)| x - y));
                let window = Window { samples, start: lo, end: hi, step_time, params, resets };
                if let Some(v) = (f.value)(&window) {
                    points.push((i, v));
                }
            }
            Ok(StepSeries { labels, points })
        })?;
        self.account(out.iter().map(|s| s.points.len()).sum())?;
        Ok(EvalValue::Vector(super::assemble(out)?))
    }
}
