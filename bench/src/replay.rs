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

use super::ingest::{self, IngestFigures, RemoteWrite, Step};

/// The fleet as remote-write request bodies, per sender: what [`replay`]
/// sends. A request holds as many whole steps of its shard as fit in its
/// size (`--samples-per-request`), one sample per series entry: the shape
/// of a sender with samples waiting (Prometheus and vmagent fill a request
/// before its deadline then), where one step alone is a request of a
/// thousand or two samples.
pub(super) struct Encoded {
    senders: Vec<Sender>,
    pub(super) bytes: u64,
    pub(super) requests: u64,
    pub(super) seconds: f64,
}

/// One sender's requests, in order, and the series its shard created.
struct Sender {
    requests: Vec<Request>,
    series_created: u64,
}

struct Request {
    samples: u64,
    /// Steps of the shard it holds.
    steps: u64,
    body: Vec<u8>,
}

/// Encodes `spec` for `senders` concurrent senders in requests of up to
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
    per_request: usize,
    total_steps: u64,
    budget: u64,
) -> anyhow::Result<Option<Sender>> {
    let (mut batch, mut requests, mut bytes, mut steps_done) = (Batch::new(), Vec::new(), 0u64, 0u64);
    let mut steps = 0;
    let mut step_len = 0;
    loop {
        let before = batch.len();
        let more = batch.len() + step_len <= per_request && shard.next_step(&mut batch);
        if more {
            step_len = batch.len() - before;
            steps += 1;
            continue;
        }
        if batch.is_empty() {
            return Ok(Some(Sender { requests, series_created: shard.series_created() }));
        }
        for (samples, body) in RemoteWrite::encode(&batch, per_request)? {
            bytes += body.len() as u64;
            // The step count goes with the request that ends the steps.
            requests.push(Request { samples, steps: 0, body });
        }
        if let Some(last) = requests.last_mut() {
            last.steps = steps;
        }
        steps_done += steps;
        if bytes.saturating_mul(total_steps) / steps_done.max(1) > budget {
            return Ok(None);
        }
        (steps, step_len) = (0, 0);
        batch.clear();
    }
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
            move || -> anyhow::Result<Step> {
                let Some(request) = requests.next() else { return Ok(Step::Done(sender.series_created)) };
                sink.send(&request.body)?;
                Ok(Step::Wrote { samples: request.samples, steps: request.steps })
            }
        })
        .collect();
    let mut figures = ingest::drive(steppers, server_pid, progress)?;
    figures.encoded_beforehand_seconds = Some(encoded.seconds);
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

    /// The requests carry every sample the generator makes, in whole steps
    /// of at most the request's size, each sender's in time order.
    #[test]
    fn requests_hold_the_whole_fleet_in_whole_steps() {
        let spec = spec(6, 40);
        let per_step = |senders: usize| (spec.hosts.div_ceil(senders) * DevopsSpec::SERIES_PER_HOST) as u64;
        for (senders, per_request) in [(1, 1_000), (2, 500), (3, 100), (4, 10_000)] {
            let encoded = encode_fleet(&spec, senders, per_request, u64::MAX).unwrap().unwrap();
            assert_eq!(encoded.senders.len(), senders);
            let mut samples = 0;
            for sender in &encoded.senders {
                assert_eq!(sender.requests.iter().map(|r| r.steps).sum::<u64>(), spec.steps());
                let mut newest = i64::MIN;
                for request in &sender.requests {
                    let batch = pulsedb_formats::remote::decode_write(&request.body, 64 << 20).unwrap();
                    assert_eq!(batch.len() as u64, request.samples);
                    // A step bigger than a request is split; else whole steps fit.
                    assert!(request.samples <= (per_request as u64).max(per_step(senders)), "{senders} {per_request}");
                    let times: Vec<i64> = batch.rows().flat_map(|(_, s)| s.iter().map(|s| s.t)).collect();
                    assert!(times.iter().all(|&t| t >= newest), "out of order");
                    newest = times.iter().copied().max().unwrap_or(newest);
                    samples += request.samples;
                }
            }
            assert_eq!(samples, spec.total_samples(), "{senders} senders, {per_request} a request");
            assert_eq!(encoded.requests, encoded.senders.iter().map(|s| s.requests.len() as u64).sum::<u64>());
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
