//! pulsedb records its own `/metrics` into itself every interval (default
//! 15 s, `--self-monitor-interval`; 0 turns it off), as Prometheus scrapes
//! itself, with `job="pulsedb"` and `instance=<listen address>`: the
//! shipped "pulsedb itself" dashboard and any alert on pulsedb's health
//! read them like any series. The page's `# HELP`/`# TYPE` become metadata.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use pulsedb::{Batch, Labels, MetricMetadata};
use pulsedb_formats::text_format::{self, Dialect};

use super::AppState;

pub(crate) async fn run(state: Arc<AppState>, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        let worker = state.clone();
        match tokio::task::spawn_blocking(move || record(&worker)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "recording pulsedb's own metrics"),
            Err(e) => tracing::warn!(error = %e, "the self-monitoring task failed"),
        }
    }
}

/// Appends one reading of the metrics page; returns the samples written.
fn record(state: &AppState) -> Result<usize, String> {
    let page = super::metrics_text(state).map_err(|e| e.message)?;
    let (batch, metadata) = reading(&page, super::now_ms(), &state.config.listen)?;
    state.db.append(&batch).map_err(|e| e.to_string())?;
    state.db.record_metadata(&metadata).map_err(|e| e.to_string())?;
    Ok(batch.len())
}

/// The page's samples at `now`, labelled `job="pulsedb"` and `instance`, and its metadata.
fn reading(page: &str, now: i64, instance: &str) -> Result<(Batch, Vec<MetricMetadata>), String> {
    let mut batch = Batch::new();
    let mut metadata = BTreeMap::<String, MetricMetadata>::new();
    for (i, line) in page.lines().enumerate() {
        if let Some(m) = text_format::parse_metadata_line(line) {
            m.apply_to(&mut metadata);
            continue;
        }
        let Some((labels, sample)) =
            text_format::parse_line(line, Dialect::Prometheus, now, i + 1).map_err(|e| e.to_string())?
        else {
            continue;
        };
        let labels = Labels::new(
            labels
                .iter()
                .filter(|l| l.name != "job" && l.name != "instance")
                .map(|l| (l.name.clone(), l.value.clone()))
                .chain([("job".to_string(), "pulsedb".to_string()), ("instance".to_string(), instance.to_string())]),
        );
        batch.add(labels, [sample]);
    }
    Ok((batch, metadata.into_values().collect()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_page_becomes_labelled_samples_and_metadata() {
        let page = "# HELP pulsedb_head_series Series in the head.\n# TYPE pulsedb_head_series gauge\n\
                    pulsedb_head_series 12\npulsedb_http_requests_total{handler=\"/api/v1/query\",code=\"200\"} 3\n";
        let (batch, metadata) = reading(page, 1_000, "127.0.0.1:9201").unwrap();
        let rows: Vec<String> = batch.rows().map(|(l, s)| format!("{l} {} {}", s[0].t, s[0].v)).collect();
        assert_eq!(
            rows,
            [
                "pulsedb_head_series{instance=\"127.0.0.1:9201\", job=\"pulsedb\"} 1000 12",
                "pulsedb_http_requests_total{code=\"200\", handler=\"/api/v1/query\", instance=\"127.0.0.1:9201\", job=\"pulsedb\"} 1000 3",
            ]
        );
        assert_eq!(metadata.len(), 1);
        assert_eq!(metadata[0].help, "Series in the head.");
        assert_eq!(metadata[0].kind, pulsedb::MetricType::Gauge);
    }
}
