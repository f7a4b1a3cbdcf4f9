//! Prometheus' HTTP query API: `query`, `query_range`, `series`, `labels`,
//! `label/<name>/values`, `status/buildinfo`, `metadata` and
//! `query_exemplars`, with Prometheus' parameter rules and JSON shapes so
//! Grafana's Prometheus data source works unchanged.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};

use super::error::ApiError;
use super::params::Params;
use super::AppState;
use crate::Labels;
use pulsedb_formats::api::{labels_json, query_response, success};
use pulsedb_formats::timefmt;

/// The Prometheus version whose PromQL and API this server answers like;
/// Grafana reads `version` to choose features.
const PROMETHEUS_COMPATIBLE_VERSION: &str = "2.42.0";

pub(crate) async fn params(state: &AppState, request: Request) -> Result<Params, ApiError> {
    let (parts, body) = request.into_parts();
    Params::read(&parts.method, &parts.headers, parts.uri.query(), body, state.config.body_limits()).await
}

pub(crate) fn json_response(data: Json) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], success(data).to_string()).into_response()
}

/// Runs blocking storage or query work off the reactor
/// ([`crate::off_reactor`]), bounded by the query concurrency limit.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = state
        .query_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::internal("the server is shutting down"))?;
    let state = state.clone();
    // The slot goes with the evaluation, not the request: a client that
    // hangs up does not free it while the work still runs.
    crate::off_reactor::run("query task", move || {
        let _permit = permit;
        let _running = Running::start(&state.metrics.queries_running);
        work(&state)
    })
    .await?
}

/// Counts one running evaluation until dropped (also by a panic).
struct Running<'a>(&'a AtomicU64);

impl<'a> Running<'a> {
    fn start(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) async fn query(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let p = params(&state, request).await?;
    let query = p.required("query")?.to_string();
    let t = p.time_or("time", super::now_ms())?;
    let started = Instant::now();
    let body = blocking(&state, move |s| {
        s.db.query(&query, t).map(|v| query_response(&v)).map_err(|e| ApiError::from_query(&e))
    })
    .await;
    state.metrics.observe_query("instant", started.elapsed());
    Ok(([(header::CONTENT_TYPE, "application/json")], body?).into_response())
}

pub(crate) async fn query_range(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let p = params(&state, request).await?;
    let query = p.required("query")?.to_string();
    let start = p.time("start")?;
    let end = p.time("end")?;
    if end < start {
        return Err(ApiError::bad_data("invalid parameter \"end\": end timestamp must not be before start time"));
    }
    let step = p.duration("step").map_err(|e| {
        let zero_or_negative = |s: &str| s.parse::<f64>().is_ok_and(|s| s <= 0.0) || timefmt::is_zero_duration(s);
        if p.get("step").is_some_and(zero_or_negative) {
            ApiError::bad_data("zero or negative query resolution step widths are not accepted. Try a positive integer")
        } else {
            e
        }
    })?;
    // The resolution limit (11,000 steps, as Prometheus) is the engine's
    // `EngineOptions::max_steps`, checked there once for every caller.
    let started = Instant::now();
    let body = blocking(&state, move |s| {
        s.db.query_range(&query, start, end, step).map(|v| query_response(&v)).map_err(|e| ApiError::from_query(&e))
    })
    .await;
    state.metrics.observe_query("range", started.elapsed());
    Ok(([(header::CONTENT_TYPE, "application/json")], body?).into_response())
}

/// `start`/`end` of the metadata endpoints: everything when absent.
fn time_range(p: &Params) -> Result<(i64, i64), ApiError> {
    Ok((p.time_or("start", i64::MIN)?, p.time_or("end", i64::MAX)?))
}

pub(crate) async fn series(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let p = params(&state, request).await?;
    let sets = p.match_sets()?;
    if sets.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let (start, end) = time_range(&p)?;
    let found = blocking(&state, move |s| {
        let mut all = BTreeSet::<Labels>::new();
        for matchers in &sets {
            all.extend(s.db.series(matchers, start, end).map_err(|e| ApiError::from_storage(&e))?);
        }
        Ok(all)
    })
    .await?;
    Ok(json_response(Json::Array(found.iter().map(labels_json).collect())))
}

pub(crate) async fn labels(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let p = params(&state, request).await?;
    let sets = p.match_sets()?;
    let (start, end) = time_range(&p)?;
    let names = blocking(&state, move |s| {
        if sets.is_empty() {
            return s.db.label_names().map_err(|e| ApiError::from_storage(&e));
        }
        let mut names = BTreeSet::new();
        for matchers in &sets {
            for labels in s.db.series(matchers, start, end).map_err(|e| ApiError::from_storage(&e))? {
                names.extend(labels.iter().map(|l| l.name.clone()));
            }
        }
        Ok(names.into_iter().collect())
    })
    .await?;
    Ok(json_response(json!(names)))
}

pub(crate) async fn label_values(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let p = params(&state, request).await?;
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let sets = p.match_sets()?;
    let values = blocking(&state, move |s| {
        if sets.is_empty() {
            return s.db.label_values(&name, &[]).map_err(|e| ApiError::from_storage(&e));
        }
        let mut values = BTreeSet::new();
        for matchers in &sets {
            values.extend(s.db.label_values(&name, matchers).map_err(|e| ApiError::from_storage(&e))?);
        }
        Ok(values.into_iter().collect())
    })
    .await?;
    Ok(json_response(json!(values)))
}

pub(crate) async fn buildinfo() -> Response {
    json_response(json!({
        "version": PROMETHEUS_COMPATIBLE_VERSION,
        "revision": format!("pulsedb-{}", env!("CARGO_PKG_VERSION")),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
        "pulsedbVersion": env!("CARGO_PKG_VERSION"),
    }))
}

/// pulsedb keeps no metric metadata (HELP/TYPE), so this is always empty.
/// Prometheus' `/api/v1/metadata`: `metric`, `limit` and `limit_per_metric`
/// (negative or absent: no limit) → `{family: [{type, help, unit}]}`.
pub(crate) async fn metadata(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let p = params(&state, request).await?;
    let limit = |key: &str| -> Result<Option<usize>, ApiError> {
        match p.get(key) {
            None | Some("") => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n < 0 => Ok(None),
                Ok(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
                Err(_) => Err(ApiError::bad_data(format!("invalid parameter {key:?}: {v:?} is not a number"))),
            },
        }
    };
    let (limit, per_metric) = (limit("limit")?, limit("limit_per_metric")?);
    let metric = p.get("metric").filter(|m| !m.is_empty()).map(str::to_string);
    let found = state.db.metadata(metric.as_deref(), limit, per_metric);
    let mut out = serde_json::Map::new();
    for (name, entries) in found {
        let list = entries
            .iter()
            .map(|e| json!({ "type": e.kind.as_str(), "help": e.help, "unit": e.unit }))
            .collect::<Vec<_>>();
        out.insert(name, Json::Array(list));
    }
    Ok(json_response(Json::Object(out)))
}

/// pulsedb stores no exemplars.
pub(crate) async fn query_exemplars() -> Response {
    json_response(json!([]))
}
