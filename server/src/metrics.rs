//! The server's own metrics, rendered at `GET /metrics` in the Prometheus
//! text format: storage counters and sizes (from `Db::stats`), WAL fsync
//! latency, HTTP requests by handler and code, and query latency.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::{StorageStats, WAL_FSYNC_BUCKETS_SECONDS};

const LATENCY_BUCKETS_SECONDS: [f64; 14] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
struct Histogram {
    /// Per bucket, not cumulative; the last is `+Inf`.
    counts: [u64; LATENCY_BUCKETS_SECONDS.len() + 1],
    sum_seconds: f64,
}

impl Histogram {
    fn observe(&mut self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket =
            LATENCY_BUCKETS_SECONDS.iter().position(|&b| seconds <= b).unwrap_or(LATENCY_BUCKETS_SECONDS.len());
        self.counts[bucket] += 1;
        self.sum_seconds += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in LATENCY_BUCKETS_SECONDS.iter().zip(&self.counts) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.counts[LATENCY_BUCKETS_SECONDS.len()];
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}");
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum_seconds);
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Counters the HTTP layer keeps (storage keeps its own).
#[derive(Debug, Default)]
pub(crate) struct ServerMetrics {
    /// (handler, status code) → requests.
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    request_latency: Mutex<BTreeMap<String, Histogram>>,
    /// "instant" / "range" → latency.
    query_latency: Mutex<BTreeMap<&'static str, Histogram>>,
    pub(crate) remote_write_samples: AtomicU64,
    pub(crate) line_protocol_samples: AtomicU64,
    pub(crate) line_protocol_cached_series: AtomicU64,
    pub(crate) line_protocol_stale_retries: AtomicU64,
    /// Remote-write series appended by cached handle, and requests decoded
    /// again because a cached handle had gone stale.
    pub(crate) remote_write_cached_series: AtomicU64,
    pub(crate) remote_write_stale_retries: AtomicU64,
    /// Requests refused as bad input, by any write endpoint.
    pub(crate) rejected_writes: AtomicU64,
    /// Requests whose handler panicked (answered 500).
    pub(crate) panics: AtomicU64,
    /// Query evaluations running now (whether or not their client waits).
    pub(crate) queries_running: AtomicU64,
    /// Rule evaluations, failed ones, and group rounds that started late.
    pub(crate) rule_evaluations: AtomicU64,
    pub(crate) rule_failures: AtomicU64,
    pub(crate) rule_rounds_missed: AtomicU64,
    /// Time spent evaluating rule groups, in nanoseconds.
    pub(crate) rule_nanos: AtomicU64,
}

impl ServerMetrics {
    pub(crate) fn observe_request(&self, handler: &str, code: u16, elapsed: Duration) {
        *self.requests.lock().entry((handler.to_string(), code)).or_default() += 1;
        self.request_latency.lock().entry(handler.to_string()).or_default().observe(elapsed);
    }

    pub(crate) fn observe_query(&self, kind: &'static str, elapsed: Duration) {
        self.query_latency.lock().entry(kind).or_default().observe(elapsed);
    }

    /// The whole `/metrics` page.
    pub(crate) fn render(&self, stats: &StorageStats, data_dir: &Path) -> String {
        let mut out = String::with_capacity(8192);
        let mut gauge = |name: &str, help: &str, kind: &str, value: f64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        gauge(
            "pulsedb_samples_ingested_total",
            "Samples appended to storage.",
            "counter",
            stats.samples_appended as f64,
        );
        gauge(
            "pulsedb_samples_rejected_total",
            "Samples refused by storage (out of order, out of bounds, invalid series, limits).",
            "counter",
            stats.samples_rejected as f64,
        );
        gauge("pulsedb_head_series", "Series in the in-memory head.", "gauge", stats.head_series as f64);
        gauge("pulsedb_head_chunks", "Chunks in the head, open and spilled.", "gauge", stats.head_chunks as f64);
        gauge(
            "pulsedb_head_memory_bytes",
            "Bytes of memory the head accounts for.",
            "gauge",
            stats.head_memory_bytes as f64,
        );
        gauge("pulsedb_series_created_total", "Series created since start.", "counter", stats.series_created as f64);
        gauge("pulsedb_blocks", "On-disk blocks.", "gauge", stats.blocks as f64);
        gauge("pulsedb_block_bytes", "Bytes of on-disk blocks.", "gauge", stats.block_bytes as f64);
        gauge("pulsedb_block_samples", "Samples in on-disk blocks.", "gauge", stats.block_samples as f64);
        gauge("pulsedb_blocks_written_total", "Blocks written by flushes.", "counter", stats.blocks_written as f64);
        gauge("pulsedb_compactions_total", "Compactions run.", "counter", stats.compactions as f64);
        gauge("pulsedb_wal_segments", "WAL segment files.", "gauge", stats.wal_segments as f64);
        gauge("pulsedb_wal_bytes", "Bytes of WAL segment files.", "gauge", stats.wal_bytes as f64);
        gauge("pulsedb_disk_bytes", "Bytes of every file in the data directory.", "gauge", dir_bytes(data_dir) as f64);
        gauge(
            "pulsedb_remote_write_samples_total",
            "Samples accepted over remote-write.",
            "counter",
            self.remote_write_samples.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_remote_write_cached_series_total",
            "Remote-write series appended by a cached handle, without building their labels.",
            "counter",
            self.remote_write_cached_series.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_remote_write_stale_retries_total",
            "Remote-write requests decoded and appended again because a cached series had left the head.",
            "counter",
            self.remote_write_stale_retries.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_line_protocol_samples_total",
            "Samples accepted over InfluxDB line protocol.",
            "counter",
            self.line_protocol_samples.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_line_protocol_cached_series_total",
            "Line protocol fields appended by a cached series handle, without building their labels.",
            "counter",
            self.line_protocol_cached_series.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_line_protocol_stale_retries_total",
            "Line protocol requests parsed and appended again because a cached series had left the head.",
            "counter",
            self.line_protocol_stale_retries.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_rejected_write_requests_total",
            "Write requests refused with a 4xx.",
            "counter",
            self.rejected_writes.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_rule_evaluations_total",
            "Rule evaluations (recording and alerting).",
            "counter",
            self.rule_evaluations.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_rule_evaluation_failures_total",
            "Rule evaluations that failed (the rule's error is in /api/v1/rules).",
            "counter",
            self.rule_failures.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_rule_group_iterations_missed_total",
            "Rule group rounds skipped because the previous one ran past their time.",
            "counter",
            self.rule_rounds_missed.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_rule_evaluation_seconds_total",
            "Time spent evaluating rule groups.",
            "counter",
            self.rule_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        );
        gauge(
            "pulsedb_engine_queries",
            "Query evaluations running now; each ends by its query timeout.",
            "gauge",
            self.queries_running.load(Ordering::Relaxed) as f64,
        );
        gauge(
            "pulsedb_http_handler_panics_total",
            "Requests whose handler panicked; each was answered 500 and the server went on.",
            "counter",
            self.panics.load(Ordering::Relaxed) as f64,
        );

        let _ = writeln!(
            out,
            "# HELP pulsedb_wal_fsync_duration_seconds Duration of WAL fsyncs.\n\
             # TYPE pulsedb_wal_fsync_duration_seconds histogram"
        );
        for (bound, count) in WAL_FSYNC_BUCKETS_SECONDS.iter().zip(&stats.wal_fsync_buckets) {
            let _ = writeln!(out, "pulsedb_wal_fsync_duration_seconds_bucket{{le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "pulsedb_wal_fsync_duration_seconds_bucket{{le=\"+Inf\"}} {}", stats.wal_fsyncs);
        let _ = writeln!(out, "pulsedb_wal_fsync_duration_seconds_sum {}", stats.wal_fsync_seconds);
        let _ = writeln!(out, "pulsedb_wal_fsync_duration_seconds_count {}", stats.wal_fsyncs);

        let _ = writeln!(
            out,
            "# HELP pulsedb_http_requests_total HTTP requests by handler and status code.\n\
             # TYPE pulsedb_http_requests_total counter"
        );
        for ((handler, code), n) in self.requests.lock().iter() {
            let _ = writeln!(out, "pulsedb_http_requests_total{{handler=\"{handler}\",code=\"{code}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP pulsedb_http_request_duration_seconds HTTP request latency by handler.\n\
             # TYPE pulsedb_http_request_duration_seconds histogram"
        );
        for (handler, h) in self.request_latency.lock().iter() {
            h.render(&mut out, "pulsedb_http_request_duration_seconds", &format!("handler=\"{handler}\""));
        }
        let _ = writeln!(
            out,
            "# HELP pulsedb_query_duration_seconds PromQL evaluation latency by query type.\n\
             # TYPE pulsedb_query_duration_seconds histogram"
        );
        for (kind, h) in self.query_latency.lock().iter() {
            h.render(&mut out, "pulsedb_query_duration_seconds", &format!("type=\"{kind}\""));
        }
        let _ = writeln!(
            out,
            "# HELP pulsedb_build_info pulsedb's version.\n# TYPE pulsedb_build_info gauge\n\
             pulsedb_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

/// Total size of the files under `dir` (0 for what cannot be read).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let mut h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(20));
        h.observe(Duration::from_secs(100));
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.001\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.025\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"30\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 3\n"), "{out}");
    }
}
