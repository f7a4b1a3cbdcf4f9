//! Evaluating a rule group at one time: each rule's query through the
//! engine; a recording rule's samples renamed to the rule and given its
//! labels, an alerting rule's alerts moved on and written as `ALERTS` and
//! `ALERTS_FOR_STATE`; everything through an [`Appender`] in one
//! transaction (the normal append path: WAL, durable). A series a rule
//! wrote last time and not this time gets a staleness marker, as
//! Prometheus writes one. Each rule's health, last error and evaluation
//! time are kept for `/api/v1/rules`.

use std::collections::{BTreeSet, HashMap};

use pulsedb_model::{Appender, Labels, Querier, METRIC_NAME, STALE_NAN};
use pulsedb_query::{Engine, Value};

use crate::alerting::{AlertingRule, TemplateEnv};
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

/// A rule's state as of its last evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RuleStatus {
    /// When it was last evaluated (milliseconds), if ever.
    pub last_evaluation: Option<i64>,
    pub last_error: Option<String>,
    pub evaluation_seconds: f64,
}

/// A rule group with its alerts and what each rule wrote last.
#[derive(Debug)]
pub struct RuleGroup {
    group: Group,
    external: Labels,
    external_url: Option<String>,
    alerting: HashMap<usize, AlertingRule>,
    status: Vec<RuleStatus>,
    previous: HashMap<usize, BTreeSet<Labels>>,
    /// Whether alerts were restored from `ALERTS_FOR_STATE` yet.
    restored: bool,
    /// When the whole group was last evaluated (ms) and how long it took (s).
    last_round: Option<(i64, f64)>,
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

/// A query at `t` as series and values (a scalar is one series without labels).
fn query(engine: &Engine, querier: &dyn Querier, expr: &str, t: i64) -> Result<Vec<(Labels, f64)>, String> {
    match engine.instant(querier, expr, t).map_err(|e| e.to_string())? {
        Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
        Value::Scalar { v, .. } => Ok(vec![(Labels::default(), v)]),
        // Prometheus' words, which do not name the type.
        _ => Err("rule result is not a vector or scalar".to_string()),
    }
}

impl RuleGroup {
    /// A group; `external` are the server's external labels (for templates).
    pub fn new(group: Group, external: Labels) -> Self {
        let alerting = group
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == RuleKind::Alert)
            .map(|(i, r)| (i, AlertingRule::new(r.clone())))
            .collect();
        let status = vec![RuleStatus::default(); group.rules.len()];
        Self {
            group,
            external,
            external_url: None,
            alerting,
            status,
            previous: HashMap::new(),
            restored: false,
            last_round: None,
        }
    }

    /// Sets the URL alert templates see as `externalURL` (`--web.external-url`).
    pub fn with_external_url(mut self, url: impl Into<String>) -> Self {
        self.external_url = Some(url.into());
        self
    }

    pub fn group(&self) -> &Group {
        &self.group
    }

    /// The alerting rule at `index` in the group, with its alerts.
    pub fn alerting_rule(&self, index: usize) -> Option<&AlertingRule> {
        self.alerting.get(&index)
    }

    /// The group's alerts to notify at `t` (see [`AlertingRule::to_notify`]).
    pub fn to_notify(&mut self, t: i64, resend_ms: i64) -> Vec<crate::Alert> {
        self.alerting.values_mut().flat_map(|rule| rule.to_notify(t, resend_ms)).collect()
    }

    /// When the group was last evaluated (milliseconds) and how long all
    /// its rules took (seconds).
    pub fn last_round(&self) -> Option<(i64, f64)> {
        self.last_round
    }

    /// Each rule's state as of its last evaluation, in the group's order.
    pub fn status(&self) -> &[RuleStatus] {
        &self.status
    }

    /// The samples one recording rule writes at `t`, or why it cannot.
    fn rule_samples(
        &self,
        engine: &Engine,
        querier: &dyn Querier,
        rule: &Rule,
        t: i64,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let samples: Vec<(Labels, f64)> =
            query(engine, querier, &rule.expr, t)?.into_iter().map(|(l, v)| (output_labels(rule, &l), v)).collect();
        let distinct: BTreeSet<&Labels> = samples.iter().map(|(l, _)| l).collect();
        if distinct.len() != samples.len() {
            return Err("vector contains metrics with the same labelset after applying rule labels".into());
        }
        if self.group.limit > 0 && samples.len() as u64 > self.group.limit {
            return Err(format!("exceeded limit of {} with {} series", self.group.limit, samples.len()));
        }
        Ok(samples)
    }

    /// Evaluates every rule at `t` (milliseconds) and commits what they
    /// wrote as one transaction.
    pub fn evaluate(
        &mut self,
        engine: &Engine,
        querier: &dyn Querier,
        appender: &mut dyn Appender,
        t: i64,
    ) -> Result<Vec<RuleOutcome>, pulsedb_model::StoreError> {
        // A group with `query_offset` evaluates, and writes, that far back.
        let t = t - self.group.query_offset.map_or(0, |d| d.as_millis() as i64);
        let template_query = |expr: &str| {
            query(engine, querier, expr, t).map(|result| {
                result
                    .into_iter()
                    .map(|(l, v)| (l.iter().map(|l| (l.name.clone(), l.value.clone())).collect(), v))
                    .collect()
            })
        };
        let env = TemplateEnv {
            external_labels: &self.external,
            external_url: self.external_url.as_deref(),
            query: Some(&template_query),
        };
        let round_started = std::time::Instant::now();
        let mut outcomes = Vec::new();
        let mut written: HashMap<usize, BTreeSet<Labels>> = HashMap::new();
        for i in 0..self.group.rules.len() {
            let started = std::time::Instant::now();
            let rule = &self.group.rules[i];
            let result = match rule.kind {
                RuleKind::Record => self.rule_samples(engine, querier, rule, t),
                RuleKind::Alert => query(engine, querier, &rule.expr, t).map(|result| {
                    let alerting = self.alerting.get_mut(&i).expect("every alerting rule has its state");
                    alerting.update(result, t, &env);
                    if !self.restored {
                        alerting.restore(querier, t);
                    }
                    alerting.series()
                }),
            };
            let rule = &self.group.rules[i];
            let (series, error) = match result {
                Ok(samples) => {
                    let mut now = BTreeSet::new();
                    for (labels, v) in samples {
                        appender.append(&labels, t, v)?;
                        now.insert(labels);
                    }
                    (now, None)
                }
                Err(error) => (BTreeSet::new(), Some(error)),
            };
            outcomes.push(RuleOutcome { name: rule.name.clone(), series: series.len(), error: error.clone() });
            self.status[i] = RuleStatus {
                last_evaluation: Some(t),
                last_error: error,
                evaluation_seconds: started.elapsed().as_secs_f64(),
            };
            written.insert(i, series);
        }
        // Series that went away end now, for queries and for forwarding.
        for (i, before) in &self.previous {
            let now = written.get(i);
            for labels in before.iter().filter(|l| now.is_none_or(|n| !n.contains(*l))) {
                appender.append(labels, t, f64::from_bits(STALE_NAN))?;
            }
        }
        appender.commit()?;
        self.last_round = Some((t, round_started.elapsed().as_secs_f64()));
        self.restored = true;
        self.previous = written;
        Ok(outcomes)
    }
}
