//! `/api/v1/status/tsdb` (Prometheus' JSON shape: the head's series
//! counted by metric name, by label name and by label pair, the top
//! `limit` of each, default 10) and `/api/v1/status/storage` (pulsedb's
//! own: its storage statistics, as `/metrics` has them, in JSON).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{json, Value as Json};

use pulsedb::{Labels, MatchOp, Matcher};

use super::error::ApiError;
use super::prom_api::{blocking, json_response, params};
use super::AppState;

/// Counts for the cardinality view, from a set of series.
#[derive(Default)]
struct Cardinality {
    series: usize,
    by_metric: HashMap<String, u64>,
    values_by_name: HashMap<String, HashSet<String>>,
    by_pair: HashMap<(String, String), u64>,
}

impl Cardinality {
    fn add(&mut self, labels: &Labels) {
        self.series += 1;
        for l in labels.iter() {
            if l.name == pulsedb::METRIC_NAME {
                *self.by_metric.entry(l.value.clone()).or_default() += 1;
            }
            self.values_by_name.entry(l.name.clone()).or_default().insert(l.value.clone());
            *self.by_pair.entry((l.name.clone(), l.value.clone())).or_default() += 1;
        }
    }
}

/// The `limit` largest, largest first, ties by name (as Prometheus sorts them).
fn top(counts: impl IntoIterator<Item = (String, u64)>, limit: usize) -> Json {
    let mut all: Vec<(String, u64)> = counts.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(limit);
    Json::Array(all.into_iter().map(|(name, value)| json!({ "name": name, "value": value })).collect())
}

pub(crate) async fn tsdb(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    let p = params(&state, request).await?;
    let limit = match p.get("limit") {
        None => 10,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(ApiError::bad_data(format!("limit must be a positive number: {v:?}"))),
        },
    };
    let body = blocking(&state, move |s| {
        let stats = s.db.stats().map_err(|e| ApiError::from_storage(&e))?;
        let (mint, maxt) = (stats.head_mint.unwrap_or(0), stats.head_maxt.unwrap_or(-1));
        let any = Matcher::new(MatchOp::RegexMatch, pulsedb::METRIC_NAME, ".+")
            .map_err(|e| ApiError::internal(format!("matcher: {e}")))?;
        let mut c = Cardinality::default();
        if stats.head_maxt.is_some() {
            for labels in s.db.series(&[any], mint, maxt).map_err(|e| ApiError::from_storage(&e))? {
                c.add(&labels);
            }
        }
        let memory = c.values_by_name.iter().map(|(n, v)| (n.clone(), v.iter().map(|x| x.len() as u64).sum()));
        Ok(json!({
            "headStats": {
                "numSeries": c.series,
                "numLabelPairs": c.by_pair.len(),
                "chunkCount": stats.head_chunks,
                "minTime": stats.head_mint.unwrap_or(i64::MAX),
                "maxTime": stats.head_maxt.unwrap_or(i64::MIN),
            },
            "seriesCountByMetricName": top(c.by_metric.clone(), limit),
            "labelValueCountByLabelName": top(c.values_by_name.iter().map(|(n, v)| (n.clone(), v.len() as u64)), limit),
            "memoryInBytesByLabelName": top(memory, limit),
            "seriesCountByLabelValuePair": top(c.by_pair.iter().map(|((n, v), c)| (format!("{n}={v}"), *c)), limit),
        }))
    })
    .await?;
    Ok(json_response(body))
}

pub(crate) async fn storage(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let body = blocking(&state, |s| {
        let st = s.db.stats().map_err(|e| ApiError::from_storage(&e))?;
        let bytes_per_sample = if st.block_samples > 0 { st.block_bytes as f64 / st.block_samples as f64 } else { 0.0 };
        Ok(json!({
            "headSeries": st.head_series,
            "headChunks": st.head_chunks,
            "headMemoryBytes": st.head_memory_bytes,
            "headChunkDiskBytes": st.head_chunk_disk_bytes,
            "headMinTime": st.head_mint,
            "headMaxTime": st.head_maxt,
            "minTime": st.mint,
            "maxTime": st.maxt,
            "blocks": st.blocks,
            "blockSamples": st.block_samples,
            "blockBytes": st.block_bytes,
            "blockBytesPerSample": bytes_per_sample,
            "walSegments": st.wal_segments,
            "walBytes": st.wal_bytes,
            "walFsyncs": st.wal_fsyncs,
            "walFsyncSecondsMean": if st.wal_fsyncs > 0 { st.wal_fsync_seconds / st.wal_fsyncs as f64 } else { 0.0 },
            "samplesAppended": st.samples_appended,
            "samplesRejected": st.samples_rejected,
            "seriesCreated": st.series_created,
            "blocksWritten": st.blocks_written,
            "compactions": st.compactions,
            "blocksDeleted": st.blocks_deleted,
        }))
    })
    .await?;
    Ok(json_response(body))
}
