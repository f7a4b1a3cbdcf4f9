//! The ingest phase: writer threads generate their shard of the fleet step
//! by step and hand each step's batch to a sink (the embedded `Db`, or a
//! remote-write endpoint), or send request bodies encoded beforehand,
//! while a monitor records the rate every second.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::workload::DevopsSpec;
use anyhow::Context as _;
use pulsedb::Batch;

use super::process;

/// Writers may drift this many steps apart: remote-write peers refuse
/// samples far behind their newest (Prometheus: an hour), so no writer may
/// run far ahead of the others.
pub(super) const MAX_DRIFT_STEPS: u64 = 60;

/// Where batches go.
pub(super) trait Sink: Sync {
    fn write(&self, batch: &Batch) -> anyhow::Result<()>;

    /// How the figures name this client ([`IngestFigures::client`]).
    fn client(&self) -> &'static str;
}

impl Sink for pulsedb::Db {
    fn write(&self, batch: &Batch) -> anyhow::Result<()> {
        Ok(self.append(batch)?)
    }

    fn client(&self) -> &'static str {
        "embedded"
    }
}

/// A Prometheus remote-write endpoint (`…/api/v1/write`): protobuf + snappy.
pub(super) struct RemoteWrite {
    url: String,
    agent: ureq::Agent,
    /// Most samples in one request.
    per_request: usize,
}

/// Most samples per remote-write request by default: vmagent's
/// (`-remoteWrite.maxRowsPerBlock`); Prometheus' sender sends up to 2,000
/// (`max_samples_per_send`). Well under every receiver's body limit.
pub(super) const SAMPLES_PER_REQUEST: usize = 10_000;

/// Request bodies built series entry by series entry: protobuf straight
/// from the batch's rows, then snappy. (Building owned messages, or a
/// sub-batch of cloned label sets, per request was most of the client's
/// CPU.)
pub(super) struct BodyBuilder {
    raw: Vec<u8>,
    compressed: Vec<u8>,
    snappy: snap::raw::Encoder,
    samples: u64,
}

impl Default for BodyBuilder {
    fn default() -> Self {
        Self { raw: Vec::new(), compressed: Vec::new(), snappy: snap::raw::Encoder::new(), samples: 0 }
    }
}

impl BodyBuilder {
    /// Adds one series entry.
    pub(super) fn add(&mut self, labels: &pulsedb::Labels, samples: &[pulsedb::Sample]) {
        pulsedb_formats::remote_encode::put_labeled_series(&mut self.raw, labels, samples);
        self.samples += samples.len() as u64;
    }

    /// Samples added since the last body.
    pub(super) fn samples(&self) -> u64 {
        self.samples
    }

    /// The body of what was added, and its sample count; starts the next.
    pub(super) fn finish(&mut self) -> anyhow::Result<(u64, Vec<u8>)> {
        self.compressed.resize(snap::raw::max_compress_len(self.raw.len()), 0);
        let len =
            self.snappy.compress(&self.raw, &mut self.compressed).context("snappy-compressing a remote-write body")?;
        self.raw.clear();
        Ok((std::mem::take(&mut self.samples), self.compressed[..len].to_vec()))
    }
}

impl RemoteWrite {
    /// Requests of up to `per_request` samples (whole series entries).
    pub(super) fn new(base: &str, per_request: usize) -> Self {
        // One idle connection kept per writer (ureq keeps one per host by
        // default: the other writers opened a new connection per request).
        let agent =
            ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).max_idle_connections_per_host(64).build();
        Self { url: format!("{}/api/v1/write", base.trim_end_matches('/')), agent, per_request: per_request.max(1) }
    }

    /// Sends one encoded request and reads its answer.
    pub(super) fn send(&self, body: &[u8]) -> anyhow::Result<()> {
        let sent = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/x-protobuf")
            .set("Content-Encoding", "snappy")
            .set("X-Prometheus-Remote-Write-Version", "0.1.0")
            .send_bytes(body);
        match sent {
            // Read to its end, or ureq closes the connection instead of
            // reusing it: a new TCP connection per request (thousands in
            // TIME-WAIT) for every server measured.
            Ok(response) => {
                std::io::copy(&mut response.into_reader(), &mut std::io::sink())
                    .with_context(|| format!("reading the answer of {}", self.url))?;
                Ok(())
            }
            Err(ureq::Error::Status(code, r)) => {
                let text = r.into_string().unwrap_or_default();
                // The fleet covers the hours before now: a server whose
                // newest sample is already now (its own metrics) has
                // closed the older hours before the writers get there.
                let hint = if text.contains("out of bounds") {
                    "\nThe fleet's samples reach back --duration before now; this server already writes \
                     newer ones (pulsedb serve's own metrics, by default) and has closed those hours. \
                     Start it on an empty directory with --self-monitor-interval=0, or use --compare."
                } else {
                    ""
                };
                anyhow::bail!("{} answered {code}: {}{hint}", self.url, text.trim())
            }
            Err(e) => Err(e).with_context(|| format!("writing to {}", self.url)),
        }
    }
}

impl Sink for RemoteWrite {
    fn write(&self, batch: &Batch) -> anyhow::Result<()> {
        let mut body = BodyBuilder::default();
        let mut rows = batch.rows().peekable();
        while rows.peek().is_some() {
            while body.samples() < self.per_request as u64 {
                let Some((labels, row)) = rows.next() else { break };
                body.add(labels, row);
            }
            self.send(&body.finish()?.1)?;
        }
        Ok(())
    }

    fn client(&self) -> &'static str {
        "live"
    }
}

/// What an ingest run measured.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub(super) struct IngestFigures {
    pub(super) samples: u64,
    pub(super) series_created: u64,
    pub(super) seconds: f64,
    /// CPU seconds of this process during ingest (generation included
    /// unless the requests were encoded beforehand).
    pub(super) cpu_seconds: f64,
    /// CPU seconds of the server process, when the sink is one.
    pub(super) server_cpu_seconds: Option<f64>,
    /// Seconds spent generating and encoding the requests before the
    /// timed ingest, when they were replayed (`None`: generated while sent).
    pub(super) encoded_beforehand_seconds: Option<f64>,
    /// Writers (or senders) at work at once.
    pub(super) concurrency: usize,
    /// `"embedded"` (the API in process), or over remote-write `"replay"`
    /// (requests encoded beforehand) or `"live"` (generated while sent).
    pub(super) client: &'static str,
    /// Requests sent, when replayed.
    pub(super) requests: Option<u64>,
    /// Samples per wall second, one entry per second of the run.
    pub(super) timeline: Vec<f64>,
}

impl IngestFigures {
    pub(super) fn rate(&self) -> f64 {
        self.samples as f64 / self.seconds.max(1e-9)
    }
}

/// How far one writer (or sender) got in one call.
pub(super) enum Progress {
    /// Sent `samples`, which completed `steps_completed` time steps of its
    /// shard (0 when the step goes on in its next request).
    Sent { samples: u64, steps_completed: u64 },
    /// Has nothing left; the series its shard created.
    Done(u64),
}

/// Generates `spec` on `writers` threads into `sink`, each step's batch
/// generated just before it is written.
pub(super) fn run(
    spec: &DevopsSpec,
    writers: usize,
    sink: &dyn Sink,
    server_pid: Option<u32>,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<IngestFigures> {
    let steppers = spec
        .shards(writers)
        .into_iter()
        .map(|mut shard| {
            let mut batch = Batch::new();
            move || -> anyhow::Result<Progress> {
                batch.clear();
                if !shard.next_step(&mut batch) {
                    return Ok(Progress::Done(shard.series_created()));
                }
                sink.write(&batch)?;
                Ok(Progress::Sent { samples: batch.len() as u64, steps_completed: 1 })
            }
        })
        .collect();
    drive(steppers, sink.client(), server_pid, progress)
}

/// Runs one thread per stepper until each is done, keeping them within
/// [`MAX_DRIFT_STEPS`] of each other, while a monitor records the rate
/// every second; `client` names them in the figures.
pub(super) fn drive<F>(
    steppers: Vec<F>,
    client: &'static str,
    server_pid: Option<u32>,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<IngestFigures>
where
    F: FnMut() -> anyhow::Result<Progress> + Send,
{
    let concurrency = steppers.len();
    let positions: Vec<AtomicU64> = steppers.iter().map(|_| AtomicU64::new(0)).collect();
    let written = AtomicU64::new(0);
    let (failed, done) = (AtomicBool::new(false), AtomicBool::new(false));
    let (cpu_before, server_before) = (process::cpu_seconds(), server_pid.map(process::cpu_seconds_of));
    let started = Instant::now();
    let mut timeline = Vec::new();
    let results: Vec<anyhow::Result<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = steppers
            .into_iter()
            .enumerate()
            .map(|(i, mut next)| {
                let (positions, written, failed) = (&positions, &written, &failed);
                scope.spawn(move || -> anyhow::Result<u64> {
                    let mut step = 0u64;
                    loop {
                        // Another writer failed: the run is over.
                        if failed.load(Ordering::Relaxed) {
                            return Ok(0);
                        }
                        while positions.iter().map(|p| p.load(Ordering::Relaxed)).min().unwrap_or(step)
                            + MAX_DRIFT_STEPS
                            < step
                        {
                            if failed.load(Ordering::Relaxed) {
                                return Ok(0);
                            }
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        match next() {
                            Ok(Progress::Sent { samples, steps_completed }) => {
                                written.fetch_add(samples, Ordering::Relaxed);
                                step += steps_completed;
                                positions[i].store(step, Ordering::Relaxed);
                            }
                            Ok(Progress::Done(series_created)) => {
                                positions[i].store(u64::MAX, Ordering::Relaxed);
                                return Ok(series_created);
                            }
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                positions[i].store(u64::MAX, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                })
            })
            .collect();
        // The monitor: one rate sample per second until the writers finish.
        let monitor = scope.spawn(|| {
            let mut last = 0;
            let mut next = started + Duration::from_secs(1);
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                let now = written.load(Ordering::Relaxed);
                progress.set_position(now);
                if Instant::now() >= next {
                    timeline.push((now - last) as f64);
                    last = now;
                    next += Duration::from_secs(1);
                }
            }
        });
        let results =
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("writer panicked")))).collect();
        done.store(true, Ordering::Relaxed);
        let _ = monitor.join();
        results
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut series_created = 0;
    for r in results {
        series_created += r?;
    }
    let samples = written.load(Ordering::Relaxed);
    progress.set_position(samples);
    Ok(IngestFigures {
        samples,
        series_created,
        seconds,
        cpu_seconds: process::cpu_seconds() - cpu_before,
        server_cpu_seconds: server_pid.zip(server_before).map(|(pid, before)| process::cpu_seconds_of(pid) - before),
        encoded_beforehand_seconds: None,
        concurrency,
        client,
        requests: None,
        timeline,
    })
}
