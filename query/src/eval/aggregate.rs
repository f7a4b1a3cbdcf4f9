//! Aggregation operators over the series of each step, grouped `by` or
//! `without` labels: sum, avg, min, max, count, group, stddev, stdvar,
//! topk, bottomk, quantile, count_values, and Prometheus 3's limitk and
//! limit_ratio.

use pulsedb_model::Labels;

use super::label_index::LabelIndex;
use super::labels::{format_value, keep_only, with, without};
use super::{by_step, EvalValue, Evaluator, SeriesCollector, StepSeries};
use crate::ast::{AggOp, Aggregate, Expr, VectorSelector};
use crate::error::{Error, Result};
use crate::functions::stats::quantile;
use crate::gosort;

impl Evaluator<'_> {
    /// What `a` aggregates. An aggregation that keeps only its `by` labels
    /// (or none) straight over a selector tells storage it uses only those,
    /// so no other label is decoded: `count(m)` over a million series spent
    /// half its time building label sets it then dropped. Not through
    /// functions: one that drops the metric name would then see series it
    /// must refuse as duplicates where their other labels made them unique.
    fn aggregated(&mut self, a: &Aggregate) -> Result<Vec<StepSeries>> {
        let keeps_by_labels = is_folded(a.op) && !a.without;
        if !keeps_by_labels || selector_of(&a.expr).is_none() {
            return self.eval_vector(&a.expr);
        }
        let outer = self.hint_only_labels.replace(a.grouping.clone());
        let series = self.eval_vector(&a.expr);
        self.hint_only_labels = outer;
        series
    }

    pub(crate) fn aggregate(&mut self, a: &Aggregate) -> Result<EvalValue> {
        let (param, label) = match (&a.param, a.op) {
            (Some(p), AggOp::CountValues) => match self.eval(p)? {
                super::EvalValue::String(s) => (Vec::new(), Some(s)),
                _ => return Err(Error::Execution("count_values needs a string parameter".into())),
            },
            (Some(p), _) => (self.eval_scalar(p)?, None),
            (None, _) => (Vec::new(), None),
        };
        if let Some(l) = &label {
            if !pulsedb_model::is_valid_label_name(l) {
                return Err(Error::Execution(format!("invalid label name {l:?}")));
            }
        }
        if let Some(selector) = one_group_over_a_selector(a).filter(|_| self.steps == 1) {
            return Ok(EvalValue::Vector(self.one_group_of_newest(a.op, selector)?));
        }
        let series = self.aggregated(a)?;
        // Each series' group, computed once.
        let mut group_of: Vec<usize> = Vec::with_capacity(series.len());
        let mut groups: Vec<Labels> = Vec::new();
        let mut index = LabelIndex::with_capacity(0);
        if !a.without && a.grouping.is_empty() {
            // One group, of no labels (`count(m)`, `sum(m)`): no key to
            // build and look up a million times.
            group_of.resize(series.len(), 0);
            groups.push(Labels::default());
        }
        for s in series.iter().skip(group_of.len()) {
            let key = if a.without { without(&s.labels, &a.grouping, true) } else { keep_only(&s.labels, &a.grouping) };
            let g = match index.find(&key, |g| &groups[g]) {
                Some(g) => g,
                None => {
                    groups.push(key);
                    index.insert(groups.len() - 1, |g| &groups[g]);
                    groups.len() - 1
                }
            };
            group_of.push(g);
        }
        if !a.op.has_param() {
            return Ok(EvalValue::Vector(self.simple_aggregate(a.op, &series, &group_of, groups)));
        }
        let mut out = SeriesCollector::default();
        for (i, samples) in by_step(&series, self.steps).into_iter().enumerate() {
            if samples.is_empty() {
                continue;
            }
            // Samples per group, in the order they came.
            let mut members: Vec<Vec<(usize, f64)>> = vec![Vec::new(); groups.len()];
            let mut order: Vec<usize> = Vec::new();
            for (idx, v) in samples {
                let g = group_of[idx];
                if members[g].is_empty() {
                    order.push(g);
                }
                members[g].push((idx, v));
            }
            for g in order {
                let m = &members[g];
                let values = || m.iter().map(|&(_, v)| v);
                let value = match a.op {
                    AggOp::Quantile => quantile(param[i], &mut values().collect::<Vec<_>>()),
                    AggOp::Topk | AggOp::Bottomk => {
                        let Some(k) = top_k_param(param[i])? else { continue };
                        for (idx, v) in top_k(a.op == AggOp::Topk, k, m) {
                            out.push(series[idx].labels.clone(), i, v)?;
                        }
                        continue;
                    }
                    AggOp::Limitk => {
                        let Some(k) = top_k_param(param[i])? else { continue };
                        // The first k of the group, in input order.
                        for &(idx, v) in m.iter().take(k) {
                            out.push(series[idx].labels.clone(), i, v)?;
                        }
                        continue;
                    }
                    AggOp::LimitRatio => {
                        let ratio = param[i].clamp(-1.0, 1.0);
                        for &(idx, v) in m {
                            if in_ratio(&series[idx].labels, ratio) {
                                out.push(series[idx].labels.clone(), i, v)?;
                            }
                        }
                        continue;
                    }
                    AggOp::CountValues => {
                        let name = label.as_deref().unwrap_or_default();
                        let mut counts: Vec<(String, f64)> = Vec::new();
                        for v in values() {
                            let key = format_value(v);
                            match counts.iter_mut().find(|(k, _)| *k == key) {
                                Some(c) => c.1 += 1.0,
                                None => counts.push((key, 1.0)),
                            }
                        }
                        for (value, count) in counts {
                            out.push(with(&groups[g], name, &value), i, count)?;
                        }
                        continue;
                    }
                    _ => continue,
                };
                out.push(groups[g].clone(), i, value)?;
            }
        }
        Ok(EvalValue::Vector(out.finish()))
    }

    /// `op` of one group (no grouping labels) over an instant selector at
    /// one step, folded from each series' newest sample as storage reads
    /// them ([`Evaluator::newest_values`]): no label set, no vector of
    /// points per series (`count(m)` over a million series).
    fn one_group_of_newest(&mut self, op: AggOp, selector: &VectorSelector) -> Result<Vec<StepSeries>> {
        let values = self.newest_values(selector)?;
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let value = match op {
            AggOp::Count => values.len() as f64,
            AggOp::Group => 1.0,
            _ => {
                let mut acc = Acc::default();
                for v in values {
                    acc.add(v);
                }
                acc.value(op)
            }
        };
        Ok(vec![StepSeries { labels: Labels::default(), points: vec![(0, value)] }])
    }

    /// sum, avg, count, group, min, max, stddev, stdvar: one accumulator per
    /// group, folded sample by sample, each group's points built directly.
    fn simple_aggregate(
        &self,
        op: AggOp,
        series: &[StepSeries],
        group_of: &[usize],
        groups: Vec<Labels>,
    ) -> Vec<StepSeries> {
        let mut acc = vec![Acc::default(); groups.len()];
        let mut points: Vec<Vec<(usize, f64)>> = vec![Vec::new(); groups.len()];
        let mut touched: Vec<usize> = Vec::new();
        if self.steps == 1 {
            // One step: the series in order are its samples in order (as
            // `by_step` would list them), without a vector of them all.
            for (s, &g) in series.iter().zip(group_of) {
                for &(_, v) in &s.points {
                    acc[g].add(v);
                }
            }
            return groups
                .into_iter()
                .zip(acc)
                .filter(|(_, acc)| acc.count > 0.0)
                .map(|(labels, acc)| StepSeries { labels, points: vec![(0, acc.value(op))] })
                .collect();
        }
        for (i, samples) in by_step(series, self.steps).into_iter().enumerate() {
            for (idx, v) in samples {
                let g = group_of[idx];
                if acc[g].count == 0.0 {
                    touched.push(g);
                }
                acc[g].add(v);
            }
            for g in touched.drain(..) {
                points[g].push((i, acc[g].value(op)));
                acc[g] = Acc::default();
            }
        }
        groups
            .into_iter()
            .zip(points)
            .map(|(labels, points)| StepSeries { labels, points })
            .filter(|s| !s.points.is_empty())
            .collect()
    }
}

/// Whether `limit_ratio(ratio, …)` keeps a series: its label hash as a
/// fraction of 2^64 (Prometheus' xxHash64 of `name 0xff value 0xff …`), below
/// `ratio` — or, for a negative ratio, at or above `1 + ratio`, so `r` and
/// `-(1 - r)` split the series between them.
fn in_ratio(labels: &Labels, ratio: f64) -> bool {
    let mut bytes = Vec::new();
    for label in labels.iter() {
        bytes.extend_from_slice(label.name.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(label.value.as_bytes());
        bytes.push(0xff);
    }
    let offset = xxhash_rust::xxh64::xxh64(&bytes, 0) as f64 / u64::MAX as f64;
    if ratio >= 0.0 {
        offset < ratio
    } else {
        offset >= 1.0 + ratio
    }
}

/// `topk`/`bottomk`'s k at one step: an error past int64 as Prometheus
/// gives it, `None` (no output) below 1, else truncated.
fn top_k_param(k: f64) -> Result<Option<usize>> {
    // The largest float below 2^63 is the last one Go converts exactly.
    if k.is_nan() || !(-9_223_372_036_854_775_808.0..=9_223_372_036_854_774_784.0).contains(&k) {
        return Err(Error::Execution(format!("Scalar value {} overflows int64", crate::gomath::format_float(k))));
    }
    let k = k as i64;
    Ok((k >= 1).then(|| usize::try_from(k).unwrap_or(usize::MAX)))
}

/// The k largest (`top`) or smallest samples of one group, chosen and
/// ordered as Prometheus 2.42 does: a Go heap fed in input order (a value
/// equal to the root does not displace it; a NaN root always goes), then
/// Go's sort of the heap, NaN last.
fn top_k(top: bool, k: usize, members: &[(usize, f64)]) -> Vec<(usize, f64)> {
    // The heap keeps the weakest kept sample at its root.
    let heap_less = |a: &(usize, f64), b: &(usize, f64)| a.1.is_nan() || if top { a.1 < b.1 } else { a.1 > b.1 };
    let mut heap: Vec<(usize, f64)> = Vec::with_capacity(k.min(members.len()));
    for (n, &sample) in members.iter().enumerate() {
        if n == 0 {
            heap.push(sample);
            continue;
        }
        let root = heap[0].1;
        let displaces = if top { root < sample.1 } else { root > sample.1 };
        if heap.len() < k || displaces || root.is_nan() {
            if heap.len() == k {
                if k == 1 {
                    heap[0] = sample;
                    continue;
                }
                gosort::heap_pop(&mut heap, heap_less);
            }
            gosort::heap_push(&mut heap, sample, heap_less);
        }
    }
    if heap.len() > 1 {
        gosort::sort(&mut heap, |a, b| heap_less(b, a));
    }
    heap
}

/// A running aggregate of one group at one step.
#[derive(Clone, Default)]
struct Acc {
    count: f64,
    sum: f64,
    /// Incremental mean (Prometheus' avg, with its infinity rules).
    mean: f64,
    /// Welford's mean and second moment (stddev, stdvar): Prometheus keeps
    /// these apart from avg's mean, and so must we for the same last bits.
    welford_mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Acc {
    fn add(&mut self, v: f64) {
        if self.count == 0.0 {
            *self = Acc { count: 1.0, sum: v, mean: v, welford_mean: v, m2: 0.0, min: v, max: v };
            return;
        }
        self.count += 1.0;
        self.sum += v;
        if self.min > v || self.min.is_nan() {
            self.min = v;
        }
        if self.max < v || self.max.is_nan() {
            self.max = v;
        }
        let skip_mean = self.mean.is_infinite()
            && ((v.is_infinite() && (self.mean > 0.0) == (v > 0.0)) || (!v.is_infinite() && !v.is_nan()));
        if !skip_mean {
            self.mean += v / self.count - self.mean / self.count;
        }
        let delta = v - self.welford_mean;
        self.welford_mean += delta / self.count;
        self.m2 += delta * (v - self.welford_mean);
    }

    fn value(&self, op: AggOp) -> f64 {
        match op {
            AggOp::Sum => self.sum,
            AggOp::Avg => self.mean,
            AggOp::Count => self.count,
            AggOp::Group => 1.0,
            AggOp::Min => self.min,
            AggOp::Max => self.max,
            AggOp::Stdvar => self.m2 / self.count,
            AggOp::Stddev => (self.m2 / self.count).sqrt(),
            _ => f64::NAN,
        }
    }
}

/// sum, avg, min, max, count, group, stddev, stdvar: the aggregations
/// [`Evaluator::simple_aggregate`] folds one sample at a time.
fn is_folded(op: AggOp) -> bool {
    use AggOp::*;
    matches!(op, Sum | Avg | Min | Max | Count | Group | Stddev | Stdvar)
}

/// The selector under `a` when `a` is folded ([`is_folded`]) into one
/// group (no `by` labels, not `without`) straight over an instant selector.
fn one_group_over_a_selector(a: &Aggregate) -> Option<&VectorSelector> {
    if !is_folded(a.op) || a.without || !a.grouping.is_empty() {
        return None;
    }
    selector_of(&a.expr)
}

/// The instant vector selector `e` is, maybe in parentheses.
fn selector_of(e: &Expr) -> Option<&VectorSelector> {
    match e {
        Expr::Vector(v) => Some(v),
        Expr::Paren(inner) => selector_of(inner),
        _ => None,
    }
}
