//! Prometheus remote-read (`POST /api/v1/read`), `SAMPLES` response type:
//! each query's matchers and time range answered from storage, the response
//! snappy-compressed protobuf.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::body::read_limited;
use super::error::ApiError;
use super::AppState;
use pulsedb_formats::remote;

pub(crate) async fn remote_read(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let limits = state.config.body_limits();
    let limit = limits.max_bytes;
    let body = read_limited(&parts.headers, body, limits).await?;
    let queries = remote::decode_read(&body, limit).map_err(|e| ApiError::bad_data(e.to_string()))?;
    let worker = state.clone();
    let encoded = tokio::task::spawn_blocking(move || {
        let mut results = Vec::with_capacity(queries.len());
        for q in &queries {
            results.push(worker.db.select(&q.matchers, q.start_ms, q.end_ms).map_err(|e| ApiError::from_storage(&e))?);
        }
        Ok::<_, ApiError>(remote::encode_read_response(results))
    })
    .await
    .map_err(|e| ApiError::internal(format!("read task failed: {e}")))??;
    Ok(([(header::CONTENT_TYPE, "application/x-protobuf"), (header::CONTENT_ENCODING, "snappy")], encoded)
        .into_response())
}
