//! Evaluating a group's recording rules at one time: each rule's query
//! through the engine, its samples renamed to the rule and given the rule's
//! labels, written through an [`Appender`] in one transaction (the normal
//! append path: WAL, durable). A series a rule produced last time and not
//! this time gets a staleness marker, as Prometheus writes one.

use std::collections::{BTreeSet, HashMap};

use pulsedb_model::{Appender, Labels, Querier, METRIC_NAME, STALE_NAN};
use pulsedb_query::{Engine, Value};

use crate::file::{Group, Rule, RuleKind};

/// What one rule's last evaluation did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RuleOutcome {
    pub name: String,
    /// Series written (0 on error).
    pub series: usize,
    /// Why it failed, if it did (the other rules of the group still ran).
    pub error: Option<String>,
}

/// A group's recording rules with what each wrote last, for staleness.
#[derive(Debug)]
pub struct RecordingGroup {
    group: Group,
    previous: HashMap<usize, BTreeSet<Labels>>,
}

/// The series a recording rule writes for `labels`: renamed, the rule's labels set.
fn output_labels(rule: &Rule, labels: &Labels) -> Labels {
    let mut pairs: Vec<(String, String)> = labels
        .iter()
        .filter(|l| l.name != METRIC_NAME && !rule.labels.contains_key(&l.name))
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect();
    pairs.extend(rule.labels.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.clone(), v.clone())));
    pairs.push((METRIC_NAME.to_string(), rule.name.clone()));
    Labels::new(pairs)
}

impl RecordingGroup {
    pub fn new(group: Group) -> Self {
        Self { group, previous: HashMap::new() }
    }

    pub fn group(&self) -> &Group {
        &self.group
    }

    /// The samples one rule writes at `t`, or why it cannot.
    fn rule_samples(
        &self,
        engine: &Engine,
        querier: &dyn Querier,
        rule: &Rule,
        t: i64,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let value = engine.instant(querier, &rule.expr, t).map_err(|e| e.to_string())?;
        let samples: Vec<(Labels, f64)> = match value {
            Value::Vector(v) => v.into_iter().map(|s| (output_labels(rule, &s.labels), s.v)).collect(),
            Value::Scalar { v, .. } => vec![(output_labels(rule, &Labels::default()), v)],
            other => return Err(format!("rule result is not a vector or scalar: {:?}", other.value_type())),
        };
        let distinct: BTreeSet<&Labels> = samples.iter().map(|(l, _)| l).collect();
        if distinct.len() != samples.len() {
            return Err("vector contains metrics with the same labelset after applying rule labels".into());
        }
        if self.group.limit > 0 && samples.len() as u64 > self.group.limit {
            return Err(format!("exceeded limit of {} with {} series", self.group.limit, samples.len()));
        }
        Ok(samples)
    }

    /// Evaluates every recording rule at `t` (milliseconds) and commits
    /// what they wrote as one transaction; alerting rules are skipped.
    pub fn evaluate(
        &mut self,
        engine: &Engine,
        querier: &dyn Querier,
        appender: &mut dyn Appender,
        t: i64,
    ) -> Result<Vec<RuleOutcome>, pulsedb_model::StoreError> {
        let mut outcomes = Vec::new();
        let mut written: HashMap<usize, BTreeSet<Labels>> = HashMap::new();
        for (i, rule) in self.group.rules.iter().enumerate().filter(|(_, r)| r.kind == RuleKind::Record) {
            match self.rule_samples(engine, querier, rule, t) {
                Ok(samples) => {
                    let mut now = BTreeSet::new();
                    for (labels, v) in samples {
                        appender.append(&labels, t, v)?;
                        now.insert(labels);
                    }
                    outcomes.push(RuleOutcome { name: rule.name.clone(), series: now.len(), error: None });
                    written.insert(i, now);
                }
                Err(error) => {
                    outcomes.push(RuleOutcome { name: rule.name.clone(), series: 0, error: Some(error) });
                    written.insert(i, BTreeSet::new());
                }
            }
        }
        // Series that went away end now, for queries and for forwarding.
        for (i, before) in &self.previous {
            let now = written.get(i);
            for labels in before.iter().filter(|l| now.is_none_or(|n| !n.contains(*l))) {
                appender.append(labels, t, f64::from_bits(STALE_NAN))?;
            }
        }
        appender.commit()?;
        self.previous = written;
        Ok(outcomes)
    }
}
