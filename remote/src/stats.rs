//! A destination's counters and gauges, for `/metrics` and
//! `/api/v1/status/forwarding`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;
use pulsedb::WalPosition;
use serde_json::{json, Value};

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) samples_sent: AtomicU64,
    pub(crate) samples_retried: AtomicU64,
    /// Samples sent again after a restart that had been sent before it.
    pub(crate) samples_resent: AtomicU64,
    pub(crate) samples_dropped_refused: AtomicU64,
    pub(crate) samples_dropped_backlog: AtomicU64,
    pub(crate) samples_dropped_unresolved: AtomicU64,
    pub(crate) samples_filtered: AtomicU64,
    /// WAL bytes skipped unread past the backlog limit.
    pub(crate) backlog_bytes_skipped: AtomicU64,
    pub(crate) requests_sent: AtomicU64,
    pub(crate) requests_failed: AtomicU64,
    pub(crate) requests_refused: AtomicU64,
    pub(crate) shards: AtomicU64,
    /// Bytes of WAL not yet sent.
    pub(crate) lag_bytes: AtomicU64,
    /// Milliseconds between now and the newest sample sent, while not caught up; 0 when caught up.
    pub(crate) lag_ms: AtomicI64,
    pub(crate) position: Mutex<Option<WalPosition>>,
    pub(crate) last_error: Mutex<String>,
}

impl Stats {
    pub(crate) fn json(&self) -> Value {
        let position = *self.position.lock();
        json!({
            "name": self.name,
            "url": self.url,
            "samplesSent": self.samples_sent.load(Relaxed),
            "samplesRetried": self.samples_retried.load(Relaxed),
            "samplesResent": self.samples_resent.load(Relaxed),
            "samplesDropped": {
                "refused": self.samples_dropped_refused.load(Relaxed),
                "backlog": self.samples_dropped_backlog.load(Relaxed),
                "unresolved": self.samples_dropped_unresolved.load(Relaxed),
            },
            "samplesFiltered": self.samples_filtered.load(Relaxed),
            "backlogBytesSkipped": self.backlog_bytes_skipped.load(Relaxed),
            "requestsSent": self.requests_sent.load(Relaxed),
            "requestsFailed": self.requests_failed.load(Relaxed),
            "requestsRefused": self.requests_refused.load(Relaxed),
            "shards": self.shards.load(Relaxed),
            "lagSeconds": self.lag_ms.load(Relaxed) as f64 / 1000.0,
            "lagBytes": self.lag_bytes.load(Relaxed),
            "position": position.map(|p| json!({ "segment": p.segment, "offset": p.offset })),
            "lastError": *self.last_error.lock(),
        })
    }
}

/// The metrics of every destination, in the text format.
pub(crate) fn render(all: &[&Stats]) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, v) in rows {
            out.push_str(&format!("{name}{{{labels}}} {v}\n"));
        }
    };
    let label = |s: &Stats| format!("destination=\"{}\"", s.name.replace('\\', "\\\\").replace('"', "\\\""));
    let each = |f: &dyn Fn(&Stats) -> f64| all.iter().map(|s| (label(s), f(s))).collect::<Vec<_>>();
    family(
        "pulsedb_forward_samples_sent_total",
        "counter",
        "Samples a destination accepted.",
        each(&|s| s.samples_sent.load(Relaxed) as f64),
    );
    family(
        "pulsedb_forward_samples_retried_total",
        "counter",
        "Samples sent again after a failed attempt (5xx, 429, network); a receiver may have kept some of the first attempt: possible duplicates.",
        each(&|s| s.samples_retried.load(Relaxed) as f64),
    );
    family(
        "pulsedb_forward_samples_resent_total",
        "counter",
        "Samples sent again after a restart that had been sent before it (duplicates at the receiver).",
        each(&|s| s.samples_resent.load(Relaxed) as f64),
    );
    let mut dropped = Vec::new();
    for s in all {
        for (reason, v) in [
            ("refused", &s.samples_dropped_refused),
            ("backlog", &s.samples_dropped_backlog),
            ("unresolved_series", &s.samples_dropped_unresolved),
        ] {
            dropped.push((format!("{},reason=\"{reason}\"", label(s)), v.load(Relaxed) as f64));
        }
    }
    family(
        "pulsedb_forward_samples_dropped_total",
        "counter",
        "Samples not forwarded: refused by the receiver (4xx), skipped past the backlog limit, or of series deleted before they were read.",
        dropped,
    );
    family(
        "pulsedb_forward_backlog_skipped_bytes_total",
        "counter",
        "WAL bytes skipped unread because the destination's backlog passed its limit.",
        each(&|s| s.backlog_bytes_skipped.load(Relaxed) as f64),
    );
    family(
        "pulsedb_forward_samples_filtered_total",
        "counter",
        "Samples the destination's filter left out.",
        each(&|s| s.samples_filtered.load(Relaxed) as f64),
    );
    let mut requests = Vec::new();
    for s in all {
        for (outcome, v) in
            [("sent", &s.requests_sent), ("failed", &s.requests_failed), ("refused", &s.requests_refused)]
        {
            requests.push((format!("{},outcome=\"{outcome}\"", label(s)), v.load(Relaxed) as f64));
        }
    }
    family("pulsedb_forward_requests_total", "counter", "Remote-write requests by outcome.", requests);
    family(
        "pulsedb_forward_shards",
        "gauge",
        "Shards sending to the destination.",
        each(&|s| s.shards.load(Relaxed) as f64),
    );
    family(
        "pulsedb_forward_lag_seconds",
        "gauge",
        "How far behind now the newest sample sent is, while the destination is not caught up; 0 when caught up.",
        each(&|s| s.lag_ms.load(Relaxed) as f64 / 1000.0),
    );
    family(
        "pulsedb_forward_lag_bytes",
        "gauge",
        "Bytes of WAL not yet sent to the destination.",
        each(&|s| s.lag_bytes.load(Relaxed) as f64),
    );
    out
}
