//! Write endpoints: Prometheus remote-write (`POST /api/v1/write`) and
//! InfluxDB line protocol (`POST /write`, `POST /api/v2/write`). A body is
//! decoded and checked whole before anything is appended, and the append
//! is one atomic batch, so a rejected request changes nothing. The answer
//! (204) is sent only once the batch is durable under the sync mode.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::body::{decode_content, read_limited};
use super::error::{ApiError, Dialect};
use super::params::Params;
use super::series_cache::SeriesCache;
use super::AppState;
use crate::Batch;
use pulsedb_formats::line_protocol::{self, Precision};
use pulsedb_formats::remote_wire::{self, CachedWrite, Miss};

pub(crate) async fn remote_write(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let result = async {
        let (parts, body) = request.into_parts();
        let limits = state.config.body_limits();
        let limit = limits.max_bytes;
        let body = read_limited(&parts.headers, body, limits).await?;
        let decoded = remote_wire::decode_write_cached(&body, limit, &state.series_cache)
            .map_err(|e| ApiError::bad_data(e.to_string()))?;
        let CachedWrite { body: write, misses } = decoded;
        let metadata = write.metadata;
        let uncached = move || {
            let again = remote_wire::decode_write_cached(&body, limit, &remote_wire::NoCache)
                .map_err(|e| ApiError::bad_data(e.to_string()))?;
            Ok(Decoded { batch: again.body.batch, misses: again.misses })
        };
        let decoded = Decoded { batch: write.batch, misses };
        let samples = append_cached(&state, Protocol::RemoteWrite, decoded, uncached).await?;
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
        let now = super::now_ms();
        let lines = line_protocol::parse_bytes_cached(&body, precision, now, &state.line_cache)
            .map_err(|e| ApiError::bad_data(e.to_string()))?;
        let uncached = move || {
            let again = line_protocol::parse_bytes_cached(&body, precision, now, &line_protocol::NoLineCache)
                .map_err(|e| ApiError::bad_data(e.to_string()))?;
            Ok(Decoded { batch: again.batch, misses: again.misses })
        };
        append_cached(&state, Protocol::LineProtocol, Decoded { batch: lines.batch, misses: lines.misses }, uncached)
            .await
    }
    .await
    .map_err(|e| e.in_dialect(dialect));
    finish(&state, result, |n| state.metrics.line_protocol_samples.fetch_add(n, Ordering::Relaxed))
}

/// A decoded request: rows by handle for series a cache knew, by labels
/// for the others, and those to cache once appended.
struct Decoded {
    batch: Batch,
    misses: Vec<Miss>,
}

/// Which write path, for its cache and counters.
#[derive(Clone, Copy)]
enum Protocol {
    RemoteWrite,
    LineProtocol,
}

impl Protocol {
    fn cache(self, state: &AppState) -> &SeriesCache {
        match self {
            Protocol::RemoteWrite => &state.series_cache,
            Protocol::LineProtocol => &state.line_cache,
        }
    }

    /// Series appended by handle, and requests decoded again for a stale handle.
    fn counters(self, state: &AppState) -> (&AtomicU64, &AtomicU64) {
        let m = &state.metrics;
        match self {
            Protocol::RemoteWrite => (&m.remote_write_cached_series, &m.remote_write_stale_retries),
            Protocol::LineProtocol => (&m.line_protocol_cached_series, &m.line_protocol_stale_retries),
        }
    }
}

/// Appends a decoded request on a blocking thread (the append waits for
/// its fsync; storage checks every limit, the future one (`--max-future`)
/// included), then caches the series it created. A cached handle gone
/// stale (its series left the head) refuses the whole batch: `uncached`
/// decodes the body again without the cache, that is appended by labels,
/// and what it names replaces the stale entries. Returns the samples
/// written.
async fn append_cached(
    state: &Arc<AppState>,
    protocol: Protocol,
    decoded: Decoded,
    uncached: impl FnOnce() -> Result<Decoded, ApiError> + Send + 'static,
) -> Result<u64, ApiError> {
    let samples = decoded.batch.len() as u64;
    if samples == 0 {
        return Ok(0);
    }
    let state = state.clone();
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        let db = &state.db;
        let (cached_series, stale_retries) = protocol.counters(&state);
        let cached = decoded.batch.rows_by_handle().len() as u64;
        let decoded = match db.append(&decoded.batch) {
            Err(pulsedb::Error::StaleSeriesHandle { .. }) => {
                stale_retries.fetch_add(1, Ordering::Relaxed);
                let again = uncached()?;
                db.append(&again.batch).map_err(|e| ApiError::from_storage(&e))?;
                again
            }
            other => {
                other.map_err(|e| ApiError::from_storage(&e))?;
                cached_series.fetch_add(cached, Ordering::Relaxed);
                decoded
            }
        };
        protocol.cache(&state).learn(db, &decoded.batch, decoded.misses).map_err(|e| ApiError::from_storage(&e))
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
