//! The evaluator. Like Prometheus, it evaluates an expression over all the
//! steps of a query at once: every node yields a value per step (an
//! instant query is a range query of one step). Selectors read each series
//! once for the whole range; functions over range vectors slide a window
//! over those samples; binary operators and aggregations work step by step.
//!
//! Files: `selectors.rs` (storage reads with select hints, lookback,
//! staleness, subqueries), `functions.rs`, `aggregate.rs`, `binary.rs`,
//! `labels.rs` (label-set surgery), `rollups.rs` (the rollup planner).

mod aggregate;
mod binary;
mod functions;
mod label_index;
mod labels;
mod rollups;
mod selectors;

pub(crate) use labels::{drop_metric_name, with as with_label, without as without_labels};
pub(crate) use selectors::matchers_of;

use std::time::{Duration, Instant};

use pulsedb_model::{Labels, Querier, Sample};

use crate::ast::{At, Expr};
use crate::error::{Error, Result};
use crate::parse_cache::parsed;
use crate::value::{InstantSample, Point, SeriesPoints, Value};
use label_index::LabelIndex;

/// Limits and defaults of query evaluation.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (default 5 min, as Prometheus).
    pub lookback_delta: Duration,
    /// Most samples a query may hold in memory at once (default 50 M, as Prometheus).
    pub max_samples: usize,
    /// Longest a query may run (default 2 min, as Prometheus).
    pub timeout: Duration,
    /// Step of subqueries written without one (`expr[1h:]`), Prometheus'
    /// default evaluation interval (1 min).
    pub default_subquery_step: Duration,
    /// Most intervals a range query may span, `(end - start) / step`, as
    /// Prometheus' API counts its limit of 11,000 (so up to 11,001 points).
    pub max_steps: usize,
    /// Answer `*_over_time`, `rate` and `increase` from storage rollups
    /// where that is exact (default true; false forces raw samples).
    pub use_rollups: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step: Duration::from_secs(60),
            max_steps: 11_000,
            use_rollups: true,
        }
    }
}

/// Evaluates queries against a [`Querier`].
#[derive(Clone, Debug, Default)]
pub struct Engine {
    options: EngineOptions,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Engine {
    pub fn new(options: EngineOptions) -> Self {
        Self { options }
    }

    /// Evaluates `query` at instant `t` (milliseconds).
    pub fn instant(&self, querier: &dyn Querier, query: &str, t: i64) -> Result<Value> {
        self.instant_expr(querier, &*parsed(query)?, t)
    }

    /// Evaluates a parsed expression at instant `t`.
    pub fn instant_expr(&self, querier: &dyn Querier, expr: &Expr, t: i64) -> Result<Value> {
        let mut ev = Evaluator::new(querier, &self.options, t, t, 1);
        let value = ev.eval(expr)?;
        Ok(match value {
            EvalValue::Scalar(v) => Value::Scalar { t, v: v.first().copied().unwrap_or(f64::NAN) },
            EvalValue::String(s) => Value::String { t, v: s },
            EvalValue::Vector(series) => Value::Vector(
                series
                    .into_iter()
                    .filter_map(|s| s.points.first().map(|&(_, v)| InstantSample { labels: s.labels, t, v }))
                    .collect(),
            ),
            EvalValue::Matrix(m) => {
                let (lo, hi) = m.window(t);
                let mut out: Vec<SeriesPoints> = m
                    .series
                    .into_iter()
                    .map(|s| SeriesPoints {
                        labels: s.labels,
                        points: window_of(&s.samples, lo, hi).iter().map(|x| Point { t: x.t, v: x.v }).collect(),
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect();
                out.sort_by(|a, b| a.labels.cmp(&b.labels));
                Value::Matrix(out)
            }
        })
    }

    /// Evaluates `query` at every `step` from `start` to `end` (milliseconds, inclusive).
    pub fn range(&self, querier: &dyn Querier, query: &str, start: i64, end: i64, step: i64) -> Result<Value> {
        self.range_expr(querier, &*parsed(query)?, start, end, step)
    }

    /// Evaluates a parsed expression over a range; the result is a matrix
    /// sorted by labels.
    pub fn range_expr(&self, querier: &dyn Querier, expr: &Expr, start: i64, end: i64, step: i64) -> Result<Value> {
        if step <= 0 {
            return Err(Error::BadParameters("zero or negative query resolution step widths are not accepted".into()));
        }
        if end < start {
            return Err(Error::BadParameters("end timestamp must not be before start time".into()));
        }
        let intervals = ((end - start) / step) as usize;
        if intervals > self.options.max_steps {
            // Prometheus' words, with the limit written as it writes 11,000.
            return Err(Error::BadParameters(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                thousands(self.options.max_steps)
            )));
        }
        let mut ev = Evaluator::new(querier, &self.options, start, end, step);
        let value = ev.eval(expr)?;
        let series = match value {
            EvalValue::Scalar(v) => vec![SeriesPoints {
                labels: Labels::default(),
                points: v.iter().enumerate().map(|(i, &v)| Point { t: ev.ts(i), v }).collect(),
            }],
            EvalValue::Vector(series) => series
                .into_iter()
                .map(|s| SeriesPoints {
                    labels: s.labels,
                    points: s.points.iter().map(|&(i, v)| Point { t: ev.ts(i), v }).collect(),
                })
                .collect(),
            EvalValue::String(_) | EvalValue::Matrix(_) => {
                return Err(Error::BadParameters(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    crate::parser::type_of(expr)
                )))
            }
        };
        let mut series: Vec<SeriesPoints> = series.into_iter().filter(|s| !s.points.is_empty()).collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Value::Matrix(series))
    }
}

/// A series' values at some of the query's steps (step index, value).
#[derive(Clone, Debug)]
pub(crate) struct StepSeries {
    pub(crate) labels: Labels,
    pub(crate) points: Vec<(usize, f64)>,
}

/// A range vector: raw samples per series, read for the whole query, with
/// the window each step sees.
#[derive(Clone, Debug)]
pub(crate) struct MatrixValue {
    pub(crate) series: Vec<RawSeries>,
    pub(crate) range: i64,
    pub(crate) offset: i64,
    /// A resolved `@` time, fixing the window for every step.
    pub(crate) at: Option<i64>,
}

#[derive(Clone, Debug)]
pub(crate) struct RawSeries {
    pub(crate) labels: Labels,
    pub(crate) samples: Vec<Sample>,
}

impl MatrixValue {
    /// The inclusive window `[t - range, t]` seen at step time `ts`.
    pub(crate) fn window(&self, ts: i64) -> (i64, i64) {
        let end = self.at.unwrap_or(ts) - self.offset;
        (end - self.range, end)
    }
}

/// `f` of every series, in order; on the pool's threads when there is
/// enough work (`work`: the samples or buckets `f` goes through in all)
/// to pay for handing it over (a wake-up and a wait, more than a few
/// thousand samples take).
pub(crate) fn map_series<T: Sync, R: Send>(
    items: &[T],
    work: usize,
    f: impl Fn(&T) -> Result<R> + Sync + Send,
) -> Result<Vec<R>> {
    use rayon::prelude::*;
    const PARALLEL_WORK: usize = 20_000;
    if items.len() < 2 || work < PARALLEL_WORK {
        items.iter().map(f).collect()
    } else {
        items.par_iter().map(f).collect()
    }
}

/// The samples of `samples` within `[lo, hi]`.
pub(crate) fn window_of(samples: &[Sample], lo: i64, hi: i64) -> &[Sample] {
    let (a, b) = window_bounds(samples, lo, hi);
    samples.get(a..b).unwrap_or_default()
}

/// Index range of the samples within `[lo, hi]`.
pub(crate) fn window_bounds(samples: &[Sample], lo: i64, hi: i64) -> (usize, usize) {
    let a = samples.partition_point(|s| s.t < lo);
    let b = samples.partition_point(|s| s.t <= hi);
    (a, b.max(a))
}

#[derive(Clone, Debug)]
pub(crate) enum EvalValue {
    /// One value per step.
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<StepSeries>),
    Matrix(MatrixValue),
}

/// State of one query's evaluation.
pub(crate) struct Evaluator<'a> {
    querier: &'a dyn Querier,
    options: &'a EngineOptions,
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) step: i64,
    pub(crate) steps: usize,
    started: Instant,
    /// Samples loaded so far, against `max_samples`.
    samples: usize,
    /// The function whose arguments are being evaluated, for [`pulsedb_model::SelectHints`].
    hint_func: Option<&'static str>,
    /// The labels an aggregation over a selector keeps, for
    /// [`pulsedb_model::SelectHints::only_labels`].
    hint_only_labels: Option<Vec<String>>,
}

impl<'a> Evaluator<'a> {
    fn new(querier: &'a dyn Querier, options: &'a EngineOptions, start: i64, end: i64, step: i64) -> Self {
        let steps = ((end - start) / step) as usize + 1;
        Self {
            querier,
            options,
            start,
            end,
            step,
            steps,
            started: Instant::now(),
            samples: 0,
            hint_func: None,
            hint_only_labels: None,
        }
    }

    /// Time of step `i`.
    pub(crate) fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    pub(crate) fn lookback(&self) -> i64 {
        ms(self.options.lookback_delta)
    }

    /// A store's error as the query's: its stops at our limits become ours.
    pub(crate) fn store_error(&self, e: pulsedb_model::StoreError) -> Error {
        // The engine's own error, from a function a store called back
        // (`Querier::map_window_means`): as it was.
        let e = match e.downcast::<Error>() {
            Ok(engine) => return engine,
            Err(e) => e,
        };
        match e.downcast_ref::<pulsedb_model::Error>() {
            Some(pulsedb_model::Error::TooManySamples { .. }) => {
                Error::TooManySamples { limit: self.options.max_samples }
            }
            Some(pulsedb_model::Error::DeadlineExceeded) => {
                let elapsed = self.started.elapsed();
                Error::Timeout { elapsed_ms: elapsed.as_millis(), limit_ms: self.options.timeout.as_millis() }
            }
            _ => Error::Storage(e),
        }
    }

    pub(crate) fn check_time(&self) -> Result<()> {
        let elapsed = self.started.elapsed();
        // `>=`, so a zero timeout refuses every query: what the server's
        // limit test relies on to be independent of the machine's speed.
        if elapsed >= self.options.timeout {
            return Err(Error::Timeout { elapsed_ms: elapsed.as_millis(), limit_ms: self.options.timeout.as_millis() });
        }
        Ok(())
    }

    /// Counts `n` more samples held, failing past the limit.
    pub(crate) fn account(&mut self, n: usize) -> Result<()> {
        self.samples = self.samples.saturating_add(n);
        if self.samples > self.options.max_samples {
            return Err(Error::TooManySamples { limit: self.options.max_samples });
        }
        Ok(())
    }

    pub(crate) fn resolve_at(&self, at: Option<At>) -> Option<i64> {
        at.map(|a| match a {
            At::Time(t) => t,
            At::Start => self.start,
            At::End => self.end,
        })
    }

    pub(crate) fn eval(&mut self, expr: &Expr) -> Result<EvalValue> {
        crate::grow_stack(|| self.eval_node(expr))
    }

    fn eval_node(&mut self, expr: &Expr) -> Result<EvalValue> {
        self.check_time()?;
        match expr {
            Expr::Number(v) => Ok(EvalValue::Scalar(vec![*v; self.steps])),
            Expr::String(s) => Ok(EvalValue::String(s.clone())),
            Expr::Paren(e) => self.eval(e),
            Expr::Neg(e) => Ok(match self.eval(e)? {
                EvalValue::Scalar(v) => EvalValue::Scalar(v.into_iter().map(|x| -x).collect()),
                EvalValue::Vector(series) => EvalValue::Vector(
                    series
                        .into_iter()
                        .map(|s| StepSeries {
                            labels: labels::drop_metric_name(&s.labels),
                            points: s.points.into_iter().map(|(i, v)| (i, -v)).collect(),
                        })
                        .collect(),
                ),
                other => other,
            }),
            Expr::Vector(v) => self.vector_selector(v),
            Expr::Matrix(m) => self.matrix_selector(m),
            Expr::Subquery(s) => self.subquery(s),
            Expr::Call(c) => self.call(c),
            Expr::Aggregate(a) => self.aggregate(a),
            Expr::Binary(b) => self.binary(b),
        }
    }

    /// Evaluates `expr` expecting a scalar.
    pub(crate) fn eval_scalar(&mut self, expr: &Expr) -> Result<Vec<f64>> {
        match self.eval(expr)? {
            EvalValue::Scalar(v) => Ok(v),
            _ => Err(Error::Execution(format!("expected a scalar, got {expr}"))),
        }
    }

    pub(crate) fn eval_vector(&mut self, expr: &Expr) -> Result<Vec<StepSeries>> {
        match self.eval(expr)? {
            EvalValue::Vector(v) => Ok(v),
            _ => Err(Error::Execution(format!("expected an instant vector, got {expr}"))),
        }
    }

    pub(crate) fn eval_matrix(&mut self, expr: &Expr) -> Result<MatrixValue> {
        match self.eval(expr)? {
            EvalValue::Matrix(m) => Ok(m),
            _ => Err(Error::Execution(format!("expected a range vector, got {expr}"))),
        }
    }
}

/// Per step, the samples of a vector: `(series index, value)`.
pub(crate) fn by_step(series: &[StepSeries], steps: usize) -> Vec<Vec<(usize, f64)>> {
    let mut out: Vec<Vec<(usize, f64)>> = vec![Vec::new(); steps];
    for (idx, s) in series.iter().enumerate() {
        for &(i, v) in &s.points {
            if let Some(slot) = out.get_mut(i) {
                slot.push((idx, v));
            }
        }
    }
    out
}

/// Builds a vector from whole series (points in step order), merging those
/// whose labels coincide (a function dropped the metric name that told them
/// apart) and refusing two values at one step for one label set, as
/// Prometheus does. Cheaper than [`SeriesCollector`]: one hash per series.
pub(crate) fn assemble(series: Vec<StepSeries>) -> Result<Vec<StepSeries>> {
    let mut index = LabelIndex::with_capacity(series.len());
    let mut out: Vec<StepSeries> = Vec::with_capacity(series.len());
    for s in series {
        if s.points.is_empty() {
            continue;
        }
        let Some(i) = index.find(&s.labels, |i| &out[i].labels) else {
            out.push(s);
            index.insert(out.len() - 1, |i| &out[i].labels);
            continue;
        };
        let existing = std::mem::take(&mut out[i].points);
        let mut merged = Vec::with_capacity(existing.len() + s.points.len());
        let (mut a, mut b) = (existing.into_iter().peekable(), s.points.into_iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    return Err(Error::Execution(format!(
                        "vector cannot contain metrics with the same labelset {}",
                        s.labels
                    )))
                }
                (Some(x), Some(y)) if x.0 < y.0 => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            merged.extend(next);
        }
        out[i].points = merged;
    }
    Ok(out)
}

/// Collects output samples into series by label set, refusing two samples
/// with the same labels at the same step, as Prometheus does.
pub(crate) struct SeriesCollector {
    index: LabelIndex,
    series: Vec<StepSeries>,
}

impl Default for SeriesCollector {
    fn default() -> Self {
        Self { index: LabelIndex::with_capacity(0), series: Vec::new() }
    }
}

impl SeriesCollector {
    pub(crate) fn push(&mut self, labels: Labels, step: usize, v: f64) -> Result<()> {
        let series = &mut self.series;
        let idx = match self.index.find(&labels, |i| &series[i].labels) {
            Some(i) => i,
            None => {
                series.push(StepSeries { labels, points: Vec::new() });
                self.index.insert(series.len() - 1, |i| &series[i].labels);
                series.len() - 1
            }
        };
        let s = &mut self.series[idx];
        if s.points.last().is_some_and(|&(i, _)| i == step) {
            return Err(Error::Execution(format!("vector cannot contain metrics with the same labelset {}", s.labels)));
        }
        s.points.push((step, v));
        Ok(())
    }

    pub(crate) fn finish(self) -> Vec<StepSeries> {
        self.series
    }
}

/// `11000` → `"11,000"`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
