//! Sends alert notifications to Alertmanager's API v2 (`--alertmanager-url`,
//! several): alerts queue in a bounded queue (10,000; what does not fit is
//! dropped and counted), a sender task posts them in batches of up to 64
//! to every Alertmanager, retrying a failed post three times with backoff;
//! failures and drops are counted for `/metrics`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pulsedb::Labels;
use pulsedb_formats::api::labels_json;
use pulsedb_formats::timefmt::rfc3339;
use pulsedb_rules::{Alert, AlertState};
use serde_json::{json, Value as Json};
use tokio::sync::{watch, Notify};

const QUEUE_CAPACITY: usize = 10_000;
const BATCH: usize = 64;
const ATTEMPTS: u32 = 3;

/// The queue and its counters; shared by the rule tasks and the sender.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    urls: Vec<String>,
    queue: Mutex<VecDeque<Json>>,
    wake: Notify,
    pub(crate) sent: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) errors: AtomicU64,
}

impl Notifier {
    pub(crate) fn new(urls: Vec<String>) -> Self {
        Self { urls: urls.into_iter().map(|u| u.trim_end_matches('/').to_string()).collect(), ..Self::default() }
    }

    /// The notifier's `/metrics` lines.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, kind, value) in [
            (
                "pulsedb_notifications_sent_total",
                "Alerts delivered to an Alertmanager.",
                "counter",
                self.sent.load(Ordering::Relaxed),
            ),
            (
                "pulsedb_notifications_dropped_total",
                "Alerts dropped because the queue was full.",
                "counter",
                self.dropped.load(Ordering::Relaxed),
            ),
            (
                "pulsedb_notifications_errors_total",
                "Batches an Alertmanager did not take after every retry.",
                "counter",
                self.errors.load(Ordering::Relaxed),
            ),
            (
                "pulsedb_notifications_queue_length",
                "Alerts waiting to be sent.",
                "gauge",
                self.queue.lock().len() as u64,
            ),
        ] {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
        }
        out
    }

    /// Queues `alerts` (with the server's `external` labels); `ends_at` is
    /// when a firing alert expires at Alertmanager unless resent.
    /// Queues `alerts`; each links to its rule's query below `base_url`.
    pub(crate) fn enqueue(&self, alerts: &[Alert], external: &Labels, base_url: &str, ends_at: i64) {
        if self.urls.is_empty() || alerts.is_empty() {
            return;
        }
        let mut queue = self.queue.lock();
        for a in alerts {
            let mut labels = a.labels.clone();
            for l in external.iter().filter(|l| a.labels.get(&l.name).is_none()) {
                labels = pulsedb::Labels::new(
                    labels.iter().map(|x| (x.name.clone(), x.value.clone())).chain([(l.name.clone(), l.value.clone())]),
                );
            }
            let end = if a.state == AlertState::Inactive { a.resolved_at.unwrap_or(ends_at) } else { ends_at };
            let body = json!({
                "labels": labels_json(&labels),
                "annotations": a.annotations,
                "startsAt": rfc3339(a.fired_at.unwrap_or(a.active_at)),
                "endsAt": rfc3339(end),
                "generatorURL": format!("{base_url}{}", a.generator_path),
            });
            if queue.len() >= QUEUE_CAPACITY {
                queue.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            queue.push_back(body);
        }
        drop(queue);
        self.wake.notify_one();
    }

    /// Posts one batch to one Alertmanager, retrying.
    fn post(&self, url: &str, batch: &Json) -> bool {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
        for attempt in 0..ATTEMPTS {
            match agent.post(&format!("{url}/api/v2/alerts")).send_json(batch.clone()) {
                Ok(_) => return true,
                Err(e) => {
                    tracing::warn!(%url, attempt, error = %e, "sending alerts failed");
                    std::thread::sleep(Duration::from_millis(200 << attempt));
                }
            }
        }
        false
    }

    /// Sends until `stop` turns true, then sends what is left once.
    pub(crate) async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let stopping = tokio::select! {
                () = self.wake.notified() => false,
                () = tokio::time::sleep(Duration::from_secs(1)) => false,
                _ = stop.changed() => true,
            };
            loop {
                let batch: Vec<Json> = {
                    let mut q = self.queue.lock();
                    let n = q.len().min(BATCH);
                    q.drain(..n).collect()
                };
                if batch.is_empty() {
                    break;
                }
                let (me, n) = (Arc::clone(&self), batch.len() as u64);
                let body = Json::Array(batch);
                let _ = tokio::task::spawn_blocking(move || {
                    for url in &me.urls {
                        if me.post(url, &body) {
                            me.sent.fetch_add(n, Ordering::Relaxed);
                        } else {
                            me.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
                .await;
            }
            if stopping {
                break;
            }
        }
    }
}
