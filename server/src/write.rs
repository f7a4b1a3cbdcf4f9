//! Write endpoints: Prometheus remote-write (`POST /api/v1/write`) and
//! InfluxDB line protocol (`POST /write`, `POST /api/v2/write`). A body is
//! decoded and checked whole before anything is appended, and the append
//! is one atomic batch, so a rejected request changes nothing. The answer
//! (204) is sent only once the batch is durable under the sync mode.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::body::{decode_content, read_limited};
use super::error::{ApiError, Dialect};
use super::params::Params;
use super::AppState;
use crate::Batch;
use pulsedb_formats::line_protocol::{self, Precision};
use pulsedb_formats::remote_wire::{self, CachedWrite};

pub(crate) async fn remote_write(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let result = async {
        let (parts, body) = request.into_parts();
        let limits = state.config.body_limits();
        let limit = limits.max_bytes;
        let body = read_limited(&parts.headers, body, limits).await?;
        let mut decoded = remote_wire::decode_write_cached(&body, limit, &state.series_cache)
            .map_err(|e| ApiError::bad_data(e.to_string()))?;
        let metadata = std::mem::take(&mut decoded.body.metadata);
        let samples = append_remote_write(&state, decoded, body, limit).await?;
        if !metadata.is_empty() {
            // Metadata comes with every request Prometheus sends; it rarely
            // changes, and the store writes its file at most once a second.
            let state = state.clone();
            tokio::task::spawn_blocking(move || state.db.record_metadata(&metadata))
                .await
                .map_err(|e| ApiError::internal(format!("metadata task failed: {e}")))?
                .map_err(|e| ApiError::from_storage(&e))?;
        }
        Ok(samples)
    }
    .await;
    finish(&state, result, |n| state.metrics.remote_write_samples.fetch_add(n, Ordering::Relaxed))
}

pub(crate) async fn influx_v1(State(state): State<Arc<AppState>>, request: Request) -> Response {
    influx(state, request, Dialect::InfluxV1).await
}

pub(crate) async fn influx_v2(State(state): State<Arc<AppState>>, request: Request) -> Response {
    influx(state, request, Dialect::InfluxV2).await
}

async fn influx(state: Arc<AppState>, request: Request, dialect: Dialect) -> Response {
    let result = async {
        let (parts, body) = request.into_parts();
        let limits = state.config.body_limits();
        let limit = limits.max_bytes;
        let params =
            Params::read(&parts.method, &parts.headers, parts.uri.query(), axum::body::Body::empty(), limits).await?;
        let precision = Precision::parse(params.get("precision").unwrap_or("ns")).map_err(ApiError::bad_data)?;
        let body = read_limited(&parts.headers, body, limits).await?;
        let body = decode_content(&parts.headers, body, limit)?;
        let batch = line_protocol::parse_bytes(&body, precision, super::now_ms())
            .map_err(|e| ApiError::bad_data(e.to_string()))?;
        append(&state, batch).await
    }
    .await
    .map_err(|e| e.in_dialect(dialect));
    finish(&state, result, |n| state.metrics.line_protocol_samples.fetch_add(n, Ordering::Relaxed))
}

/// Appends on a blocking thread (the append waits for its fsync); storage
/// checks every limit, the future one (`--max-future`) included. Returns the
/// samples written.
async fn append(state: &Arc<AppState>, batch: Batch) -> Result<u64, ApiError> {
    let samples = batch.len() as u64;
    if samples == 0 {
        return Ok(0);
    }
    let state = state.clone();
    tokio::task::spawn_blocking(move || state.db.append(&batch))
        .await
        .map_err(|e| ApiError::internal(format!("append task failed: {e}")))?
        .map_err(|e| ApiError::from_storage(&e))?;
    Ok(samples)
}

/// Appends a decoded remote-write request, then caches the series it
/// created. A cached handle gone stale (its series left the head) refuses
/// the whole batch: the body is decoded again without the cache and
/// appended by labels, and what it names replaces the stale entries.
async fn append_remote_write(
    state: &Arc<AppState>,
    decoded: CachedWrite,
    body: axum::body::Bytes,
    limit: usize,
) -> Result<u64, ApiError> {
    let samples = decoded.body.batch.len() as u64;
    if samples == 0 {
        return Ok(0);
    }
    let state = state.clone();
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        let db = &state.db;
        let cached = decoded.body.batch.rows_by_handle().len() as u64;
        let decoded = match db.append(&decoded.body.batch) {
            Err(pulsedb::Error::StaleSeriesHandle { .. }) => {
                state.metrics.remote_write_stale_retries.fetch_add(1, Ordering::Relaxed);
                let again = remote_wire::decode_write_cached(&body, limit, &remote_wire::NoCache)
                    .map_err(|e| ApiError::bad_data(e.to_string()))?;
                db.append(&again.body.batch).map_err(|e| ApiError::from_storage(&e))?;
                again
            }
            other => {
                other.map_err(|e| ApiError::from_storage(&e))?;
                state.metrics.remote_write_cached_series.fetch_add(cached, Ordering::Relaxed);
                decoded
            }
        };
        state.series_cache.learn(db, &decoded.body.batch, decoded.misses).map_err(|e| ApiError::from_storage(&e))
    })
    .await
    .map_err(|e| ApiError::internal(format!("append task failed: {e}")))??;
    Ok(samples)
}

/// 204 on success (counting the samples); the error response otherwise,
/// counting 4xx refusals.
fn finish(state: &AppState, result: Result<u64, ApiError>, count: impl FnOnce(u64) -> u64) -> Response {
    match result {
        Ok(samples) => {
            count(samples);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            if e.status.is_client_error() {
                state.metrics.rejected_writes.fetch_add(1, Ordering::Relaxed);
            }
            e.into_response()
        }
    }
}
