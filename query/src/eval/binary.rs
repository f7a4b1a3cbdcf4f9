//! Binary operators with Prometheus semantics: arithmetic and comparisons
//! between scalars and vectors (filtering, or 0/1 with `bool`), vector
//! matching (`on`, `ignoring`, `group_left`, `group_right`) and the set
//! operators `and`, `or`, `unless`.

use std::collections::{HashMap, HashSet};

use pulsedb_model::Labels;

use super::labels::{drop_metric_name, keep_only, signature, with, without};
use super::{by_step, EvalValue, Evaluator, SeriesCollector, StepSeries};
use crate::ast::{BinOp, BinaryExpr, Cardinality, VectorMatching};
use crate::error::{Error, Result};
use crate::gomath;

/// Arithmetic on two values.
fn arith(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Mod => a % b,
        BinOp::Pow => gomath::pow(a, b),
        BinOp::Atan2 => gomath::atan2(a, b),
        _ => f64::NAN,
    }
}

fn compare(op: BinOp, a: f64, b: f64) -> bool {
    match op {
        BinOp::Eq => a == b,
        BinOp::Neq => a != b,
        BinOp::Gt => a > b,
        BinOp::Lt => a < b,
        BinOp::Gte => a >= b,
        BinOp::Lte => a <= b,
        _ => false,
    }
}

/// Prometheus' `vectorElemBinop`: the value, and whether to keep the sample.
fn elem(op: BinOp, a: f64, b: f64) -> (f64, bool) {
    if op.is_comparison() {
        (a, compare(op, a, b))
    } else {
        (arith(op, a, b), true)
    }
}

/// Prometheus 2.42 drops the name for `+ - * / % ^` only: `atan2` keeps it.
fn drops_name(op: BinOp) -> bool {
    !op.is_comparison() && !op.is_set() && op != BinOp::Atan2
}

impl Evaluator<'_> {
    pub(crate) fn binary(&mut self, b: &BinaryExpr) -> Result<EvalValue> {
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        match (lhs, rhs) {
            (EvalValue::Scalar(l), EvalValue::Scalar(r)) => Ok(EvalValue::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(&a, &c)| {
                        if b.op.is_comparison() {
                            f64::from(u8::from(compare(b.op, a, c)))
                        } else {
                            arith(b.op, a, c)
                        }
                    })
                    .collect(),
            )),
            (EvalValue::Vector(v), EvalValue::Scalar(s)) => self.vector_scalar(b, v, &s, false),
            (EvalValue::Scalar(s), EvalValue::Vector(v)) => self.vector_scalar(b, v, &s, true),
            (EvalValue::Vector(l), EvalValue::Vector(r)) => {
                let default = VectorMatching { on: false, labels: Vec::new(), card: Cardinality::OneToOne };
                let matching = b.matching.as_ref().unwrap_or(&default);
                if b.op.is_set() {
                    self.set_op(b.op, &l, &r, matching)
                } else {
                    self.vector_vector(b, &l, &r, matching)
                }
            }
            _ => Err(Error::Execution(format!("invalid operands for \"{}\"", b.op.as_str()))),
        }
    }

    fn vector_scalar(&mut self, b: &BinaryExpr, v: Vec<StepSeries>, s: &[f64], scalar_left: bool) -> Result<EvalValue> {
        let drop = drops_name(b.op) || b.return_bool;
        let out = v
            .into_iter()
            .map(|series| {
                let points = series
                    .points
                    .into_iter()
                    .filter_map(|(i, x)| {
                        let (l, r) = if scalar_left { (s[i], x) } else { (x, s[i]) };
                        let (mut value, mut keep) = elem(b.op, l, r);
                        // A comparison keeps the vector's value even when it is on the right.
                        if b.op.is_comparison() && scalar_left {
                            value = r;
                        }
                        if b.return_bool {
                            value = f64::from(u8::from(keep));
                            keep = true;
                        }
                        keep.then_some((i, value))
                    })
                    .collect();
                let labels = if drop { drop_metric_name(&series.labels) } else { series.labels };
                StepSeries { labels, points }
            })
            .collect::<Vec<_>>();
        // Dropping the name can make two series collide.
        if drop {
            let mut c = SeriesCollector::default();
            let mut flat: Vec<(usize, Labels, f64)> = out
                .into_iter()
                .flat_map(|s| s.points.into_iter().map(move |(i, v)| (i, s.labels.clone(), v)))
                .collect();
            flat.sort_by_key(|x| x.0);
            for (i, l, v) in flat {
                c.push(l, i, v)?;
            }
            return Ok(EvalValue::Vector(c.finish()));
        }
        Ok(EvalValue::Vector(out))
    }

    fn set_op(&mut self, op: BinOp, l: &[StepSeries], r: &[StepSeries], m: &VectorMatching) -> Result<EvalValue> {
        let lsig: Vec<Labels> = l.iter().map(|s| signature(&s.labels, m.on, &m.labels)).collect();
        let rsig: Vec<Labels> = r.iter().map(|s| signature(&s.labels, m.on, &m.labels)).collect();
        let (lsteps, rsteps) = (by_step(l, self.steps), by_step(r, self.steps));
        let mut out = SeriesCollector::default();
        for i in 0..self.steps {
            let right: HashSet<&Labels> = rsteps[i].iter().map(|(idx, _)| &rsig[*idx]).collect();
            match op {
                BinOp::And | BinOp::Unless => {
                    for &(idx, v) in &lsteps[i] {
                        if right.contains(&lsig[idx]) == (op == BinOp::And) {
                            out.push(l[idx].labels.clone(), i, v)?;
                        }
                    }
                }
                _ => {
                    let left: HashSet<&Labels> = lsteps[i].iter().map(|(idx, _)| &lsig[*idx]).collect();
                    for &(idx, v) in &lsteps[i] {
                        out.push(l[idx].labels.clone(), i, v)?;
                    }
                    for &(idx, v) in &rsteps[i] {
                        if !left.contains(&rsig[idx]) {
                            out.push(r[idx].labels.clone(), i, v)?;
                        }
                    }
                }
            }
        }
        Ok(EvalValue::Vector(out.finish()))
    }

    fn vector_vector(
        &mut self,
        b: &BinaryExpr,
        l: &[StepSeries],
        r: &[StepSeries],
        m: &VectorMatching,
    ) -> Result<EvalValue> {
        // The "many" side is always handled as the left one.
        let swapped = matches!(m.card, Cardinality::OneToMany(_));
        let (many, one) = if swapped { (r, l) } else { (l, r) };
        let include: &[String] = match &m.card {
            Cardinality::ManyToOne(i) | Cardinality::OneToMany(i) => i,
            Cardinality::OneToOne => &[],
        };
        let many_sig: Vec<Labels> = many.iter().map(|s| signature(&s.labels, m.on, &m.labels)).collect();
        let one_sig: Vec<Labels> = one.iter().map(|s| signature(&s.labels, m.on, &m.labels)).collect();
        let (many_steps, one_steps) = (by_step(many, self.steps), by_step(one, self.steps));
        let side = if swapped { "left" } else { "right" };
        let mut out = SeriesCollector::default();
        // Result labels depend only on the pair of series, so cache them.
        let mut result_labels: HashMap<(usize, usize), Labels> = HashMap::new();
        for i in 0..self.steps {
            // As Prometheus: nothing can match when a side is empty, and
            // then its duplicates are no error.
            if many_steps[i].is_empty() || one_steps[i].is_empty() {
                continue;
            }
            let mut right: HashMap<&Labels, (usize, f64)> = HashMap::new();
            for &(idx, v) in &one_steps[i] {
                if let Some((prev, _)) = right.insert(&one_sig[idx], (idx, v)) {
                    return Err(Error::Execution(format!(
                        "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                        one_sig[idx], one[prev].labels, one[idx].labels
                    )));
                }
            }
            let mut matched: HashSet<&Labels> = HashSet::new();
            let mut inserted: HashSet<Labels> = HashSet::new();
            for &(idx, lv) in &many_steps[i] {
                let sig = &many_sig[idx];
                let Some(&(ridx, rv)) = right.get(sig) else {
                    continue;
                };
                let (vl, vr) = if swapped { (rv, lv) } else { (lv, rv) };
                let (mut value, keep) = elem(b.op, vl, vr);
                if b.return_bool {
                    value = f64::from(u8::from(keep));
                } else if !keep {
                    continue;
                }
                // Only samples a comparison keeps count as matches (Prometheus checks after filtering).
                if m.card == Cardinality::OneToOne && !matched.insert(sig) {
                    return Err(Error::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                            .into(),
                    ));
                }
                let labels = result_labels
                    .entry((idx, ridx))
                    .or_insert_with(|| result_metric(&many[idx].labels, &one[ridx].labels, b, m, include))
                    .clone();
                if !inserted.insert(labels.clone()) {
                    return Err(Error::Execution(if m.card == Cardinality::OneToOne {
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                            .into()
                    } else {
                        "multiple matches for labels: grouping labels must ensure unique matches".into()
                    }));
                }
                out.push(labels, i, value)?;
            }
        }
        Ok(EvalValue::Vector(out.finish()))
    }
}

/// Prometheus' `resultMetric`.
fn result_metric(many: &Labels, one: &Labels, b: &BinaryExpr, m: &VectorMatching, include: &[String]) -> Labels {
    let mut labels = if drops_name(b.op) || b.return_bool { drop_metric_name(many) } else { many.clone() };
    if m.card == Cardinality::OneToOne {
        labels = if m.on { keep_only(&labels, &m.labels) } else { without(&labels, &m.labels, false) };
    }
    for name in include {
        labels = with(&labels, name, one.get(name).unwrap_or(""));
    }
    labels
}
