//! The admin API (role `admin` when authentication is on), as Prometheus'
//! `/api/v1/admin/tsdb/*`: `snapshot` writes a consistent copy of the data
//! directory under `<data-dir>/snapshots/<name>` that `pulsedb serve
//! --data-dir` opens as is; `delete_series` deletes the samples of the
//! series matching `match[]` between `start` and `end` (tombstones: gone
//! from reads at once, left out of blocks by flushes and compactions).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::params::Params;
use crate::AppState;

/// Directory under the data directory that holds snapshots.
pub(crate) const SNAPSHOTS_DIR: &str = "snapshots";

/// `POST|PUT /api/v1/admin/tsdb/snapshot[?skip_head=true]` → `{"name": …}`.
pub(crate) async fn snapshot(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let p = Params::read(&parts.method, &parts.headers, parts.uri.query(), body, state.config.body_limits()).await?;
    let skip_head = match p.get("skip_head") {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => return Err(ApiError::bad_data(format!("invalid skip_head {other:?}: use true or false"))),
    };
    let name = snapshot_name();
    let dest = state.config.data_dir.join(SNAPSHOTS_DIR).join(&name);
    let worker = state.clone();
    tokio::task::spawn_blocking(move || {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| ApiError::internal(format!("creating {}: {e}", parent.display())))?;
        }
        worker.db.snapshot(&dest, skip_head).map_err(|e| ApiError::from_storage(&e))
    })
    .await
    .map_err(|e| ApiError::internal(format!("snapshot task failed: {e}")))??;
    tracing::info!(%name, skip_head, "snapshot written");
    let body = json!({ "status": "success", "data": { "name": name } }).to_string();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `POST|PUT /api/v1/admin/tsdb/delete_series?match[]=…[&start=…][&end=…]` → 204.
pub(crate) async fn delete_series(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let p = Params::read(&parts.method, &parts.headers, parts.uri.query(), body, state.config.body_limits()).await?;
    let sets = p.match_sets()?;
    if sets.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let start = p.time_or("start", i64::MIN)?;
    let end = p.time_or("end", i64::MAX)?;
    let worker = state.clone();
    let deleted = tokio::task::spawn_blocking(move || {
        let mut series = 0;
        for matchers in &sets {
            series += worker.db.delete_series(matchers, start, end).map_err(|e| ApiError::from_storage(&e))?;
        }
        Ok::<_, ApiError>(series)
    })
    .await
    .map_err(|e| ApiError::internal(format!("delete task failed: {e}")))??;
    tracing::info!(series = deleted, start, end, "series deleted");
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// `20261130T172900Z-<16 hex digits>`: sortable by time, unique.
fn snapshot_name() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let (y, m, d) = pulsedb_formats::timefmt::civil_from_days(days);
    let rest = secs.rem_euclid(86_400);
    let noise = u64::from(now.subsec_nanos()) ^ (std::process::id() as u64) << 32;
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{noise:016x}", rest / 3600, rest % 3600 / 60, rest % 60)
}
