//! Aggregation operators over the series of each step, grouped `by` or
//! `without` labels: sum, avg, min, max, count, group, stddev, stdvar,
//! topk, bottomk, quantile, count_values.

use std::collections::HashMap;

use pulsedb_storage::Labels;

use super::functions::{avg, quantile, variance};
use super::labels::{format_value, keep_only, with, without};
use super::{by_step, EvalValue, Evaluator, SeriesCollector};
use crate::ast::{AggOp, Aggregate};
use crate::error::{Error, Result};

impl Evaluator<'_> {
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
            if !crate::parser_label_name_ok(l) {
                return Err(Error::Execution(format!("invalid label name {l:?}")));
            }
        }
        let series = self.eval_vector(&a.expr)?;
        // Each series' group, computed once.
        let mut group_of: Vec<usize> = Vec::with_capacity(series.len());
        let mut groups: Vec<Labels> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for s in &series {
            let key = if a.without { without(&s.labels, &a.grouping, true) } else { keep_only(&s.labels, &a.grouping) };
            let g = *index.entry(key.clone()).or_insert_with(|| {
                groups.push(key);
                groups.len() - 1
            });
            group_of.push(g);
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
                    AggOp::Sum => values().sum(),
                    AggOp::Avg => avg(values()),
                    AggOp::Count => m.len() as f64,
                    AggOp::Group => 1.0,
                    AggOp::Min => values().fold(f64::NAN, |acc, v| if acc > v || acc.is_nan() { v } else { acc }),
                    AggOp::Max => values().fold(f64::NAN, |acc, v| if acc < v || acc.is_nan() { v } else { acc }),
                    AggOp::Stdvar => variance(values()),
                    AggOp::Stddev => variance(values()).sqrt(),
                    AggOp::Quantile => quantile(param[i], &mut values().collect::<Vec<_>>()),
                    AggOp::Topk | AggOp::Bottomk => {
                        let k = param[i];
                        // Also skips a NaN k.
                        if k.partial_cmp(&1.0).is_none_or(|o| o.is_lt()) {
                            continue;
                        }
                        let k = (k as usize).min(m.len());
                        let mut ranked = m.clone();
                        // NaN ranks lowest for topk and highest for bottomk.
                        let top = a.op == AggOp::Topk;
                        ranked.sort_by(|x, y| match (x.1.is_nan(), y.1.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ if top => y.1.total_cmp(&x.1),
                            _ => x.1.total_cmp(&y.1),
                        });
                        for &(idx, v) in ranked.iter().take(k) {
                            out.push(series[idx].labels.clone(), i, v)?;
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
                };
                out.push(groups[g].clone(), i, value)?;
            }
        }
        Ok(EvalValue::Vector(out.finish()))
    }
}
