//! `GET|POST /api/v1/anomalies`: pulsedb's own endpoint for "what is
//! abnormal right now?" — the series matching `match[]` ranked by anomaly
//! score over `window` (default 1h) ending at `time` (default now), each
//! with when it became abnormal; `history` (default 1d) is what each score
//! learns from, `limit` (default 20) how many come back.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{json, Value as Json};

use pulsedb::AnomalyRequest;
use pulsedb_formats::api::{format_time, format_value, labels_json};
use pulsedb_formats::timefmt::parse_duration_ms;

use super::error::ApiError;
use super::params::Params;
use super::prom_api::{blocking, json_response, params};
use super::AppState;

fn duration_or(p: &Params, key: &str, default: i64) -> Result<i64, ApiError> {
    match p.get(key) {
        None => Ok(default),
        Some(v) => match parse_duration_ms(v) {
            Ok(ms) if ms > 0 => Ok(ms),
            Ok(_) => Err(ApiError::bad_data(format!("invalid parameter {key:?}: must be positive"))),
            Err(e) => Err(ApiError::bad_data(format!("invalid parameter {key:?}: {e}"))),
        },
    }
}

pub(crate) async fn anomalies(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let p = params(&state, request).await?;
    let selectors: Vec<String> = p.all("match[]").map(str::to_string).collect();
    if selectors.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let mut req = AnomalyRequest::new(selectors, p.time_or("time", super::now_ms())?);
    req.window = duration_or(&p, "window", req.window)?;
    req.history = duration_or(&p, "history", req.history)?;
    if let Some(limit) = p.get("limit") {
        req.limit = limit
            .parse()
            .map_err(|_| ApiError::bad_data(format!("invalid parameter \"limit\": {limit:?} is not a count")))?;
    }
    let found = blocking(&state, move |s| s.db.anomalies(&req).map_err(|e| ApiError::from_query(&e))).await?;
    let rows: Vec<Json> = found
        .iter()
        .map(|a| {
            json!({
                "metric": labels_json(&a.labels),
                "score": format_value(a.score),
                "latest": format_value(a.latest),
                "since": a.since.map(format_time),
            })
        })
        .collect();
    Ok(json_response(Json::Array(rows)))
}
