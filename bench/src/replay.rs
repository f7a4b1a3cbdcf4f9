//! The fleet encoded beforehand as remote-write requests and replayed to
//! each server compared (the default over HTTP; `--live-client` generates
//! while sending instead, as `ingest::run` does).
//!
//! Generating and encoding cost about half a microsecond of CPU a sample,
//! as much as a server spends taking the sample in, on the same two cores:
//! done while sending, that CPU was taken from the server measured. Done
//! before the timed ingest (as TSBS loads files it generated beforehand),
//! the servers get the cores, and every one gets the same bytes.

use std::time::Instant;

use crate::workload::{DevopsShard, DevopsSpec};
use pulsedb::Batch;

use super::ingest::{self, BodyBuilder, IngestFigures, Progress, RemoteWrite};

/// The fleet as remote-write request bodies, per sender: what [`replay`]
/// sends. Requests are filled to their size (`--samples-per-request`), a
/// time step's series entries continuing in the next request when it is
/// full, one sample per entry: the shape of a sender with samples waiting
/// (Prometheus and vmagent fill a request before its deadline then),
/// where one step alone would be a request of a thousand or two samples.
pub(super) struct Encoded {
    senders: Vec<Sender>,
    pub(super) bytes: u64,
    pub(super) requests: u64,
    pub(super) seconds: f64,
}

impl Encoded {
    /// Senders that send at once (at most one per host).
    pub(super) fn senders(&self) -> usize {
        self.senders.len()
    }
}

/// One sender's requests, in order, and the series its shard created.
struct Sender {
    requests: Vec<Request>,
    series_created: u64,
}

struct Request {
    samples: u64,
    /// Time steps of the shard this request completes.
    steps_completed: u64,
    body: Vec<u8>,
}

/// Most time steps one request may complete: the senders keep within
/// [`ingest::MAX_DRIFT_STEPS`] of each other counting whole requests, so
/// a request of many small steps must not let one run an hour ahead
/// (servers refuse samples far behind their newest).
const MAX_STEPS_PER_REQUEST: u64 = ingest::MAX_DRIFT_STEPS / 2;

/// Encodes `spec` for `senders` concurrent senders in requests of
/// `per_request` samples, or `None` when the bodies would take more than
/// `budget` bytes (projected as they are encoded): then the caller
/// generates while it sends, as [`ingest::run`] does.
pub(super) fn encode_fleet(
    spec: &DevopsSpec,
    senders: usize,
    per_request: usize,
    budget: u64,
) -> anyhow::Result<Option<Encoded>> {
    let started = Instant::now();
    let shards = spec.shards(senders);
    let share = budget / shards.len().max(1) as u64;
    let total_steps = spec.steps();
    let per_request = per_request.max(1) as u64;
    let encoded: Vec<anyhow::Result<Option<Sender>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shards
            .into_iter()
            .map(|mut shard| scope.spawn(move || encode_shard(&mut shard, per_request, total_steps, share)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("encoder panicked")))).collect()
    });
    let mut out = Vec::with_capacity(encoded.len());
    for sender in encoded {
        match sender? {
            Some(sender) => out.push(sender),
            None => return Ok(None),
        }
    }
    let requests = out.iter().flat_map(|s| &s.requests);
    let bytes = requests.clone().map(|r| r.body.len() as u64).sum();
    let requests = requests.count() as u64;
    Ok(Some(Encoded { senders: out, bytes, requests, seconds: started.elapsed().as_secs_f64() }))
}

/// One shard's requests; `None` once they project past `budget` bytes.
fn encode_shard(
    shard: &mut DevopsShard,
    per_request: u64,
    total_steps: u64,
    budget: u64,
) -> anyhow::Result<Option<Sender>> {
    let mut requests: Vec<Request> = Vec::new();
    let mut body = BodyBuilder::default();
    let (mut batch, mut bytes, mut steps_done, mut steps_open) = (Batch::new(), 0u64, 0u64, 0u64);
    while shard.next_step(&mut batch) {
        for (labels, row) in batch.rows() {
            body.add(labels, row);
            if body.samples() >= per_request {
                bytes += close(&mut body, std::mem::take(&mut steps_open), &mut requests)?;
                if bytes.saturating_mul(total_steps) / (steps_done + 1) > budget {
                    return Ok(None);
                }
            }
        }
        steps_done += 1;
        steps_open += 1;
        if steps_open >= MAX_STEPS_PER_REQUEST {
            bytes += close(&mut body, std::mem::take(&mut steps_open), &mut requests)?;
        }
        batch.clear();
    }
    close(&mut body, steps_open, &mut requests)?;
    Ok(Some(Sender { requests, series_created: shard.series_created() }))
}

/// Ends the request being built as one completing `steps_completed` steps,
/// or, when it holds nothing yet (the steps ended exactly where the last
/// request did), credits them to the last request; returns the bytes added.
fn close(body: &mut BodyBuilder, steps_completed: u64, requests: &mut Vec<Request>) -> anyhow::Result<u64> {
    if body.samples() == 0 {
        if let Some(last) = requests.last_mut() {
            last.steps_completed += steps_completed;
        }
        return Ok(0);
    }
    let (samples, encoded) = body.finish()?;
    let bytes = encoded.len() as u64;
    requests.push(Request { samples, steps_completed, body: encoded });
    Ok(bytes)
}

/// Sends what [`encode_fleet`] encoded, a thread per sender, timed as [`ingest::run`] is.
pub(super) fn replay(
    encoded: &Encoded,
    sink: &RemoteWrite,
    server_pid: Option<u32>,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<IngestFigures> {
    let steppers = encoded
        .senders
        .iter()
        .map(|sender| {
            let mut requests = sender.requests.iter();
            move || -> anyhow::Result<Progress> {
                let Some(request) = requests.next() else { return Ok(Progress::Done(sender.series_created)) };
                sink.send(&request.body)?;
                Ok(Progress::Sent { samples: request.samples, steps_completed: request.steps_completed })
            }
        })
        .collect();
    let mut figures = ingest::drive(steppers, "replay", server_pid, progress)?;
    figures.encoded_beforehand_seconds = Some(encoded.seconds);
    figures.requests = Some(encoded.requests);
    Ok(figures)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(hosts: usize, steps: i64) -> DevopsSpec {
        DevopsSpec {
            hosts,
            interval_ms: 10_000,
            duration_ms: steps * 10_000,
            start_ms: 1_700_000_000_000,
            seed: 3,
            churn_per_hour: 0.5,
        }
    }

    /// The requests carry every sample the generator makes, once, each
    /// sender's in time order; every request but a sender's last is full,
    /// unless it ends the most steps a request may complete.
    #[test]
    fn requests_hold_the_whole_fleet_filled_to_their_size() {
        let spec = spec(6, 70);
        // Per-step sizes of 246 (1 sender), 123 (2), 82 (3), 41 (6 hosts, 8 senders).
        for (senders, per_request) in [(1, 1_000), (2, 500), (3, 100), (1, 100), (8, 10_000), (2, 123)] {
            let encoded = encode_fleet(&spec, senders, per_request, u64::MAX).unwrap().unwrap();
            assert_eq!(encoded.senders(), senders.min(spec.hosts));
            let mut samples = 0;
            for sender in &encoded.senders {
                let steps: u64 = sender.requests.iter().map(|r| r.steps_completed).sum();
                assert_eq!(steps, spec.steps(), "{senders} senders, {per_request} a request");
                let mut newest = i64::MIN;
                for (i, request) in sender.requests.iter().enumerate() {
                    let batch = pulsedb_formats::remote::decode_write(&request.body, 64 << 20).unwrap();
                    assert_eq!(batch.len() as u64, request.samples);
                    assert!(request.samples <= per_request as u64);
                    let last = i + 1 == sender.requests.len();
                    let capped = request.steps_completed == MAX_STEPS_PER_REQUEST;
                    assert!(
                        request.samples == per_request as u64 || last || capped,
                        "{senders} senders, {per_request} a request: request {i} holds {}",
                        request.samples
                    );
                    assert!(request.steps_completed <= MAX_STEPS_PER_REQUEST);
                    let times: Vec<i64> = batch.rows().flat_map(|(_, s)| s.iter().map(|s| s.t)).collect();
                    assert!(times.windows(2).all(|w| w[0] <= w[1]) && times[0] >= newest, "out of order");
                    newest = times[times.len() - 1];
                    samples += request.samples;
                }
            }
            assert_eq!(samples, spec.total_samples(), "{senders} senders, {per_request} a request");
        }
    }

    #[test]
    fn a_fleet_past_the_budget_is_not_encoded() {
        let spec = spec(4, 30);
        let whole = encode_fleet(&spec, 2, 1_000, u64::MAX).unwrap().unwrap();
        assert!(encode_fleet(&spec, 2, 1_000, whole.bytes / 2).unwrap().is_none());
        assert!(encode_fleet(&spec, 2, 1_000, whole.bytes * 2).unwrap().is_some());
    }
}
