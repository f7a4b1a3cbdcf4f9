//! Prometheus remote-read (`POST /api/v1/read`), `SAMPLES` response type:
//! each query's matchers and time range answered from storage, the response
//! snappy-compressed protobuf. Bounded like the query API: it takes a query
//! slot, at most [`MAX_QUERIES`] queries a request, and at most
//! `--query-max-samples` samples in all (422 past it), checked per query.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::body::read_limited;
use super::error::ApiError;
use super::AppState;
use pulsedb_formats::remote;

/// Queries one remote-read request may carry.
pub(crate) const MAX_QUERIES: usize = 1000;

pub(crate) async fn remote_read(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let limits = state.config.body_limits();
    let limit = limits.max_bytes;
    let body = read_limited(&parts.headers, body, limits).await?;
    let queries = remote::decode_read(&body, limit).map_err(|e| ApiError::bad_data(e.to_string()))?;
    if queries.len() > MAX_QUERIES {
        return Err(ApiError::bad_data(format!(
            "{} queries in one remote-read request, more than the limit of {MAX_QUERIES}",
            queries.len()
        )));
    }
    let max_samples = state.config.query.max_samples;
    let encoded = super::prom_api::blocking(&state, move |s| {
        let mut results = Vec::with_capacity(queries.len());
        let mut samples = 0usize;
        for q in &queries {
            let series = s.db.select(&q.matchers, q.start_ms, q.end_ms).map_err(|e| ApiError::from_storage(&e))?;
            samples += series.iter().map(|x| x.samples.len()).sum::<usize>();
            if samples > max_samples {
                return Err(ApiError::from_query(&pulsedb::QueryError::TooManySamples { limit: max_samples }));
            }
            results.push(series);
        }
        Ok(remote::encode_read_response(results))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/x-protobuf"), (header::CONTENT_ENCODING, "snappy")], encoded)
        .into_response())
}
