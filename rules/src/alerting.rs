//! Alerting rules with Prometheus' semantics: each result series of the
//! rule's query is an alert, pending from the first evaluation that
//! returns it and firing once it has been returned for the rule's `for`;
//! when the query stops returning it, a pending alert is dropped and a
//! firing one resolves — after `keep_firing_for` more, if set. Active
//! alerts are written as the `ALERTS` series (value 1, with `alertstate`)
//! and `ALERTS_FOR_STATE` (value: when it became active, in seconds).

use std::collections::{BTreeMap, HashMap};

use pulsedb_model::{is_stale_nan, Labels, Matcher, Querier, SelectHints, METRIC_NAME};

use crate::file::Rule;
use crate::template::{expand, AlertContext, QueryFn};

/// How far back a restart looks for an alert's `ALERTS_FOR_STATE` (as
/// Prometheus' default `--rules.alert.for-outage-tolerance`).
const OUTAGE_TOLERANCE_MS: i64 = 3_600_000;

/// How long a resolved alert is kept (for its resolved notification).
const RESOLVED_RETENTION_MS: i64 = 15 * 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    Pending,
    Firing,
    /// Resolved, kept a while to be announced as such.
    Inactive,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Inactive => "inactive",
        }
    }
}

/// One alert of a rule.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Alert {
    /// The series' labels (no name) with the rule's labels and `alertname`.
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub value: f64,
    /// When it became pending (milliseconds).
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// When the query stopped returning it while `keep_firing_for` holds it.
    pub keep_firing_since: Option<i64>,
    /// When it was last handed out to be notified.
    pub last_sent: Option<i64>,
    /// The rule's query in the expression browser, below the server's
    /// URL (`/graph?g0.expr=…&g0.tab=1`): the alert's `generatorURL`.
    pub generator_path: String,
}

/// What alert templates may reach beyond the alert itself.
pub(crate) struct TemplateEnv<'a> {
    pub(crate) external_labels: &'a Labels,
    /// `--web.external-url`; `None` where there is none (rule unit tests).
    pub(crate) external_url: Option<&'a str>,
    /// Runs `query` in templates, at the evaluation time.
    pub(crate) query: Option<&'a QueryFn<'a>>,
}

/// An alerting rule and its alerts.
#[derive(Clone, Debug)]
pub struct AlertingRule {
    pub rule: Rule,
    alerts: HashMap<Labels, Alert>,
}

impl AlertingRule {
    pub fn new(rule: Rule) -> Self {
        Self { rule, alerts: HashMap::new() }
    }

    /// The alerts, pending, firing and recently resolved.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    /// Moves every alert on to time `t` given the query's result there;
    /// `env` is what its templates may reach.
    pub(crate) fn update(&mut self, result: Vec<(Labels, f64)>, t: i64, env: &TemplateEnv<'_>) {
        let rule = &self.rule;
        let mut seen = Vec::with_capacity(result.len());
        for (series, value) in result {
            let mut pairs: Vec<(String, String)> =
                series.iter().filter(|l| l.name != METRIC_NAME).map(|l| (l.name.clone(), l.value.clone())).collect();
            let cx = AlertContext {
                rule: &rule.name,
                labels: &series,
                value,
                external_labels: env.external_labels,
                external_url: env.external_url,
                query: env.query,
            };
            for (k, v) in &rule.labels {
                pairs.retain(|(n, _)| n != k);
                let v = expand(v, &cx);
                if !v.is_empty() {
                    pairs.push((k.clone(), v));
                }
            }
            pairs.retain(|(n, _)| n != "alertname");
            pairs.push(("alertname".to_string(), rule.name.clone()));
            let labels = Labels::new(pairs);
            let annotations = rule.annotations.iter().map(|(k, v)| (k.clone(), expand(v, &cx))).collect();
            let alert = self.alerts.entry(labels.clone()).or_insert_with(|| Alert {
                labels: labels.clone(),
                annotations: BTreeMap::new(),
                state: AlertState::Pending,
                value,
                active_at: t,
                fired_at: None,
                resolved_at: None,
                keep_firing_since: None,
                last_sent: None,
                generator_path: crate::template::table_link(&rule.expr),
            });
            if alert.state == AlertState::Inactive {
                // Back after resolving: a new alert.
                *alert = Alert {
                    state: AlertState::Pending,
                    active_at: t,
                    fired_at: None,
                    resolved_at: None,
                    ..alert.clone()
                };
            }
            alert.value = value;
            alert.annotations = annotations;
            alert.keep_firing_since = None;
            seen.push(labels);
        }
        let for_ms = rule.for_.as_millis() as i64;
        let keep_ms = rule.keep_firing_for.as_millis() as i64;
        self.alerts.retain(|labels, a| {
            if seen.contains(labels) {
                if a.state == AlertState::Pending && t - a.active_at >= for_ms {
                    a.state = AlertState::Firing;
                    a.fired_at = Some(t);
                }
                return true;
            }
            match a.state {
                AlertState::Pending => false,
                AlertState::Firing => {
                    let since = *a.keep_firing_since.get_or_insert(t);
                    if keep_ms > 0 && t - since < keep_ms {
                        return true;
                    }
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(t);
                    true
                }
                AlertState::Inactive => a.resolved_at.is_some_and(|r| t - r < RESOLVED_RETENTION_MS),
            }
        });
    }

    /// After the first evaluation since a start: each pending alert that
    /// `ALERTS_FOR_STATE` shows active before the start (within the outage
    /// tolerance) keeps that activation time, so a restart neither forgets
    /// a firing alert nor makes it wait out `for` again.
    pub fn restore(&mut self, querier: &dyn Querier, t: i64) {
        let for_ms = self.rule.for_.as_millis() as i64;
        for a in self.alerts.values_mut().filter(|a| a.state == AlertState::Pending) {
            let mut matchers = vec![Matcher::equal(METRIC_NAME, "ALERTS_FOR_STATE")];
            matchers.extend(a.labels.iter().map(|l| Matcher::equal(&l.name, &l.value)));
            let Ok(series) = querier.select(&matchers, &SelectHints::range(t - OUTAGE_TOLERANCE_MS, t - 1)) else {
                continue;
            };
            let Some(last) =
                series.iter().filter(|s| s.labels.len() == a.labels.len() + 1).find_map(|s| s.samples.last())
            else {
                continue;
            };
            if is_stale_nan(last.v) || !last.v.is_finite() {
                continue;
            }
            let active_at = (last.v * 1000.0) as i64;
            if active_at < a.active_at {
                a.active_at = active_at;
                if t - active_at >= for_ms {
                    a.state = AlertState::Firing;
                    a.fired_at = Some(t);
                }
            }
        }
    }

    /// The alerts to notify at `t`, marked sent: as Prometheus, never a
    /// pending one; a resolved one until its resolution has been sent; a
    /// firing or resolved one again every `resend_ms`.
    pub fn to_notify(&mut self, t: i64, resend_ms: i64) -> Vec<Alert> {
        let mut out = Vec::new();
        for a in self.alerts.values_mut() {
            let due = match (a.state, a.last_sent) {
                (AlertState::Pending, _) => false,
                (_, None) => true,
                (AlertState::Inactive, Some(sent)) if a.resolved_at.is_some_and(|r| r > sent) => true,
                (_, Some(sent)) => t - sent >= resend_ms,
            };
            if due {
                a.last_sent = Some(t);
                out.push(a.clone());
            }
        }
        out
    }

    /// The `ALERTS` and `ALERTS_FOR_STATE` samples of the active alerts at `t`.
    pub fn series(&self) -> Vec<(Labels, f64)> {
        let mut out = Vec::new();
        for a in self.alerts.values().filter(|a| a.state != AlertState::Inactive) {
            let with = |name: &str, extra: Option<(&str, &str)>| {
                let mut pairs: Vec<(String, String)> =
                    a.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
                if let Some((k, v)) = extra {
                    pairs.push((k.to_string(), v.to_string()));
                }
                pairs.push((METRIC_NAME.to_string(), name.to_string()));
                Labels::new(pairs)
            };
            out.push((with("ALERTS", Some(("alertstate", a.state.as_str()))), 1.0));
            out.push((with("ALERTS_FOR_STATE", None), a.active_at as f64 / 1000.0));
        }
        out
    }
}
