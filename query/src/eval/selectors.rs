//! Reading storage: instant vector selectors (the newest sample within the
//! lookback window, unless it is a staleness marker), range selectors (raw
//! samples, staleness markers dropped) and subqueries (an inner range
//! evaluation at its own aligned steps).

use std::sync::atomic::{AtomicUsize, Ordering};

use pulsedb_model::{is_stale_nan, Matcher, Newest, Sample, SelectHints, StoreError};

use super::{EvalValue, Evaluator, MatrixValue, RawSeries, StepSeries};
use crate::ast::{MatrixSelector, Subquery, VectorSelector};
use crate::error::{Error, Result};

/// What [`Evaluator::map_window_means_selector`] does with one series'
/// means (given the selector's shape: its range, offset and `@`): the
/// answer kept in their place.
pub(crate) type SeriesMeansMap<'a> = dyn Fn(&MatrixValue, &[Sample]) -> Result<Vec<Sample>> + Sync + 'a;

pub(crate) fn matchers_of(v: &VectorSelector) -> Result<Vec<Matcher>> {
    let mut out = Vec::with_capacity(v.matchers.len() + 1);
    if let Some(name) = &v.name {
        out.push(Matcher::equal(pulsedb_model::METRIC_NAME, name.clone()));
    }
    for m in &v.matchers {
        out.push(Matcher::new(m.op, m.name.clone(), m.value.clone()).map_err(|e| Error::Execution(e.to_string()))?);
    }
    Ok(out)
}

impl Evaluator<'_> {
    /// `range` is the range selector's, 0 for an instant selector;
    /// `newest`, when only each series' newest sample is used.
    fn select(
        &mut self,
        v: &VectorSelector,
        mint: i64,
        maxt: i64,
        range: i64,
        newest: Option<Newest>,
    ) -> Result<Vec<RawSeries>> {
        let matchers = matchers_of(v)?;
        let mut hints = self.hints(mint, maxt, range);
        hints.newest = newest;
        let series = self.querier.select(&matchers, &hints).map_err(|e| self.store_error(e))?;
        let total: usize = series.iter().map(|s| s.samples.len()).sum();
        self.account(total)?;
        Ok(series.into_iter().map(|s| RawSeries { labels: s.labels, samples: s.samples }).collect())
    }

    /// What storage is told of a selection in `[mint, maxt]`: the query's
    /// step, the function it feeds, what is left of the sample budget and
    /// the deadline.
    fn hints(&self, mint: i64, maxt: i64, range: i64) -> SelectHints {
        let mut hints = SelectHints::range(mint, maxt).with_step(self.step).with_range(range);
        hints.func = self.hint_func;
        hints.only_labels = self.hint_only_labels.clone();
        hints.max_samples = Some(self.options.max_samples.saturating_sub(self.samples));
        hints.deadline = self.started.checked_add(self.options.timeout);
        hints
    }

    /// The reference time of step `i` for a selector with this offset and `@`.
    fn ref_time(&self, i: usize, offset: i64, at: Option<i64>) -> i64 {
        at.unwrap_or_else(|| self.ts(i)) - offset
    }

    pub(crate) fn vector_selector(&mut self, v: &VectorSelector) -> Result<EvalValue> {
        Ok(EvalValue::Vector(self.instant_samples(v, false)?))
    }

    /// Per step, each series' newest sample within the lookback window; its
    /// value, or (for `timestamp()`) its timestamp in seconds.
    pub(crate) fn instant_samples(&mut self, v: &VectorSelector, timestamps: bool) -> Result<Vec<StepSeries>> {
        let at = self.resolve_at(v.at);
        let lookback = self.lookback();
        let (first, last) = (self.ref_time(0, v.offset, at), self.ref_time(self.steps - 1, v.offset, at));
        // One reference time (an instant query, or `@`): the newest sample is all it uses.
        let newest = (first == last).then_some(Newest::Any);
        let raw = self.select(v, first - lookback, last, 0, newest)?;
        let mut out = Vec::with_capacity(raw.len());
        for (n, series) in raw.into_iter().enumerate() {
            // The clock every 1,024 series: read per series, it was 6 % of
            // `count(m)` over a million.
            if n % 1024 == 0 {
                self.check_time()?;
            }
            if self.steps == 1 {
                // One step: its point takes the place of the samples (the
                // same size), so a million series cost no allocation here.
                let reft = first;
                let newest = series.samples.partition_point(|s| s.t <= reft).checked_sub(1);
                let Some(p) = newest.filter(|&p| {
                    let s = series.samples[p];
                    s.t >= reft - lookback && !is_stale_nan(s.v)
                }) else {
                    continue;
                };
                let point = |s: Sample| (0, if timestamps { s.t as f64 / 1000.0 } else { s.v });
                let points: Vec<(usize, f64)> = series.samples.into_iter().skip(p).take(1).map(point).collect();
                out.push(StepSeries { labels: series.labels, points });
                continue;
            }
            let mut points = Vec::new();
            let mut pos = 0usize;
            for i in 0..self.steps {
                let reft = self.ref_time(i, v.offset, at);
                // Reference times never decrease, so the cursor only moves forward.
                while pos < series.samples.len() && series.samples[pos].t <= reft {
                    pos += 1;
                }
                let Some(s) = pos.checked_sub(1).and_then(|p| series.samples.get(p)) else {
                    continue;
                };
                if s.t < reft - lookback || is_stale_nan(s.v) {
                    continue;
                }
                points.push((i, if timestamps { s.t as f64 / 1000.0 } else { s.v }));
            }
            if !points.is_empty() {
                out.push(StepSeries { labels: series.labels, points });
            }
        }
        self.account(out.iter().map(|s| s.points.len()).sum())?;
        Ok(out)
    }

    /// At a query of one step, the values of [`Evaluator::instant_samples`]'
    /// points, in series order, without labels: each series' newest sample
    /// within the lookback window, unless it is a staleness marker, read
    /// through [`pulsedb_model::Querier::select_newest`] (one entry per
    /// series, no vector each).
    pub(crate) fn newest_values(&mut self, v: &VectorSelector) -> Result<Vec<f64>> {
        debug_assert_eq!(self.steps, 1, "one step");
        let at = self.resolve_at(v.at);
        let lookback = self.lookback();
        let reft = self.ref_time(0, v.offset, at);
        let mut hints = self.hints(reft - lookback, reft, 0);
        hints.newest = Some(Newest::Any);
        hints.only_labels = Some(Vec::new());
        let newest = self.querier.select_newest(&matchers_of(v)?, &hints).map_err(|e| self.store_error(e))?;
        self.account(newest.len())?;
        self.check_time()?;
        let values: Vec<f64> = newest
            .into_iter()
            .map(|s| s.sample)
            .filter(|s| s.t >= reft - lookback && s.t <= reft && !is_stale_nan(s.v))
            .map(|s| s.v)
            .collect();
        self.account(values.len())?;
        Ok(values)
    }

    pub(crate) fn matrix_selector(&mut self, m: &MatrixSelector) -> Result<EvalValue> {
        let v = &m.vector;
        let at = self.resolve_at(v.at);
        let first = self.ref_time(0, v.offset, at);
        let last = self.ref_time(self.steps - 1, v.offset, at);
        let newest = (first == last && self.hint_func == Some("last_over_time")).then_some(Newest::NotStale);
        let mut raw = self.select(v, first - m.range, last, m.range, newest)?;
        for s in &mut raw {
            s.samples.retain(|x| !is_stale_nan(x.v));
        }
        raw.retain(|s| !s.samples.is_empty());
        Ok(EvalValue::Matrix(MatrixValue { series: raw, range: m.range, offset: v.offset, at }))
    }

    /// A range selector read as the means of its `resolution` windows
    /// ([`pulsedb_model::Querier::map_window_means`]) instead of raw
    /// samples, each series' means handed to `visit` (with the selector's
    /// shape: its range, offset and `@`) as they are read and only its
    /// answer kept: what the anomaly functions learn long histories from,
    /// without holding every series' means at once. `learns_from(end,
    /// range)` is the earliest sample the window ending at `end` uses (its
    /// start, `end - range`, or later): nothing before the first step's is
    /// read. Also returns how many means were visited, for the caller to
    /// account.
    pub(crate) fn map_window_means_selector(
        &self,
        m: &MatrixSelector,
        resolution: i64,
        learns_from: fn(i64, i64) -> i64,
        visit: &SeriesMeansMap<'_>,
    ) -> Result<(Vec<RawSeries>, usize)> {
        let v = &m.vector;
        let at = self.resolve_at(v.at);
        let first = self.ref_time(0, v.offset, at);
        let last = self.ref_time(self.steps - 1, v.offset, at);
        let hints = self.hints(learns_from(first, m.range).max(first - m.range), last, m.range);
        let shape = MatrixValue { series: Vec::new(), range: m.range, offset: v.offset, at };
        let visited = AtomicUsize::new(0);
        let visit = |means: &[Sample]| {
            visited.fetch_add(means.len(), Ordering::Relaxed);
            visit(&shape, means).map_err(StoreError::new)
        };
        let series = self
            .querier
            .map_window_means(&matchers_of(v)?, &hints, resolution, &visit)
            .map_err(|e| self.store_error(e))?;
        let series = series.into_iter().map(|s| RawSeries { labels: s.labels, samples: s.samples }).collect();
        Ok((series, visited.into_inner()))
    }

    /// Evaluates the inner expression at steps aligned to multiples of the
    /// subquery step, covering every outer step's window, as Prometheus does.
    pub(crate) fn subquery(&mut self, s: &Subquery) -> Result<EvalValue> {
        let at = self.resolve_at(s.at);
        let step = s.step.unwrap_or_else(|| super::ms(self.options.default_subquery_step));
        let (outer_start, outer_end) = match at {
            Some(t) => (t, t),
            None => (self.start, self.end),
        };
        let lo = outer_start - s.offset - s.range;
        // Go's integer division truncates toward zero; so does Rust's.
        let mut start = step * (lo / step);
        if start < lo {
            start += step;
        }
        let end = outer_end - s.offset;
        let mut series = Vec::new();
        if start <= end {
            // Every step of the inner evaluation is a point held for each of
            // its series: past the sample limit, refuse before allocating.
            let steps = (end - start) / step + 1;
            if usize::try_from(steps).map_or(true, |n| n > self.options.max_samples) {
                return Err(Error::TooManySamples { limit: self.options.max_samples });
            }
            let mut inner = Evaluator::new(self.querier, self.options, start, end, step);
            inner.samples = self.samples;
            // The query's deadline, not a new one per subquery.
            inner.started = self.started;
            let value = inner.eval(&s.expr)?;
            self.samples = inner.samples;
            match value {
                EvalValue::Vector(v) => {
                    for st in v {
                        let samples: Vec<Sample> =
                            st.points.iter().map(|&(i, v)| Sample { t: inner.ts(i), v }).collect();
                        series.push(RawSeries { labels: st.labels, samples });
                    }
                }
                EvalValue::Scalar(v) => {
                    let samples = v.iter().enumerate().map(|(i, &v)| Sample { t: inner.ts(i), v }).collect();
                    series.push(RawSeries { labels: Default::default(), samples });
                }
                _ => return Err(Error::Execution("subquery of something other than an instant vector".into())),
            }
        }
        Ok(EvalValue::Matrix(MatrixValue { series, range: s.range, offset: s.offset, at }))
    }
}
