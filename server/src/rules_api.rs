//! `GET /api/v1/rules` and `GET /api/v1/alerts` in Prometheus' JSON
//! shapes: every group with its rules (health, last error, evaluation
//! time, an alerting rule's alerts), and every pending or firing alert.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value as Json};

use pulsedb_formats::api::labels_json;
use pulsedb_formats::timefmt::rfc3339;
use pulsedb_rules::{Alert, AlertState, RuleGroup, RuleKind};

use super::prom_api::json_response;
use super::AppState;

/// Prometheus prints an alert's value with Go's `%e`-like shortest form.
fn alert_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let s = format!("{v:e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

fn alert_json(a: &Alert) -> Json {
    json!({
        "labels": labels_json(&a.labels),
        "annotations": a.annotations,
        "state": a.state.as_str(),
        "activeAt": rfc3339(a.active_at),
        "value": alert_value(a.value),
    })
}

fn group_json(g: &RuleGroup, default_interval: std::time::Duration) -> Json {
    let group = g.group();
    let rules: Vec<Json> = group
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let status = &g.status()[i];
            let health = match (&status.last_error, status.last_evaluation) {
                (Some(_), _) => "err",
                (None, Some(_)) => "ok",
                (None, None) => "unknown",
            };
            let mut rule = json!({
                "name": r.name,
                "query": r.expr,
                "labels": r.labels,
                "health": health,
                "lastError": status.last_error.clone().unwrap_or_default(),
                "evaluationTime": status.evaluation_seconds,
                "lastEvaluation": status.last_evaluation.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), rfc3339),
                "type": if r.kind == RuleKind::Alert { "alerting" } else { "recording" },
            });
            if let (Some(alerting), Some(obj)) = (g.alerting_rule(i), rule.as_object_mut()) {
                let alerts: Vec<&Alert> = alerting.alerts().filter(|a| a.state != AlertState::Inactive).collect();
                let state = if alerts.iter().any(|a| a.state == AlertState::Firing) {
                    "firing"
                } else if alerts.is_empty() {
                    "inactive"
                } else {
                    "pending"
                };
                obj.insert("state".into(), json!(state));
                obj.insert("duration".into(), json!(r.for_.as_secs_f64()));
                obj.insert("keepFiringFor".into(), json!(r.keep_firing_for.as_secs_f64()));
                obj.insert("annotations".into(), json!(r.annotations));
                obj.insert("alerts".into(), Json::Array(alerts.into_iter().map(alert_json).collect()));
            }
            rule
        })
        .collect();
    let (last, seconds) = g.last_round().map_or((None, 0.0), |(t, s)| (Some(t), s));
    json!({
        "name": group.name,
        "file": "",
        "interval": group.interval.unwrap_or(default_interval).as_secs_f64(),
        "limit": group.limit,
        "rules": rules,
        "evaluationTime": seconds,
        "lastEvaluation": last.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), rfc3339),
    })
}

pub(crate) async fn rules(State(state): State<Arc<AppState>>) -> Response {
    let interval = state.config.rule_evaluation_interval;
    let groups: Vec<Json> = state.rules.lock().await.groups.iter().map(|g| group_json(&g.lock(), interval)).collect();
    json_response(json!({ "groups": groups }))
}

pub(crate) async fn alerts(State(state): State<Arc<AppState>>) -> Response {
    let mut alerts = Vec::new();
    let groups = state.rules.lock().await.groups.clone();
    for g in &groups {
        let g = g.lock();
        for i in 0..g.group().rules.len() {
            if let Some(rule) = g.alerting_rule(i) {
                alerts.extend(rule.alerts().filter(|a| a.state != AlertState::Inactive).map(alert_json));
            }
        }
    }
    json_response(json!({ "alerts": alerts }))
}
