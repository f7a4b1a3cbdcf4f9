//! One destination's forwarding. A reader thread reads batches from the WAL
//! after the saved position and deals each series' samples to a shard by
//! the hash of its labels, so a series' samples keep their WAL order; each
//! shard thread sends its share in requests of at most
//! `max_samples_per_send`, retrying one request until it is accepted or
//! refused for good before the next. A position is committed (and saved
//! every second) once every shard has finished every batch up to it.
//!
//! Nothing here is in the ingest path: a dead destination backs up its own
//! shards, then its reader stops reading, and the backlog stays in the WAL
//! (held from truncation) — up to `pulsedb_max_backlog_bytes` or `_age`,
//! past which the oldest is skipped, counted and logged.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pulsedb::{Labels, Sample, WalBatch, WalBatches, WalPosition};

use crate::client::{Client, Outcome};
use crate::config::Destination;
use crate::position;
use crate::stats::Stats;

/// Where forwarding reads: the database's WAL.
pub trait WalSource: Send + Sync + 'static {
    fn batches(&self, from: Option<WalPosition>) -> pulsedb::Result<WalBatches>;
    fn end(&self) -> WalPosition;
    fn segments(&self) -> pulsedb::Result<Vec<(u64, u64)>>;
}

impl WalSource for pulsedb::Db {
    fn batches(&self, from: Option<WalPosition>) -> pulsedb::Result<WalBatches> {
        self.wal_batches(from)
    }
    fn end(&self) -> WalPosition {
        self.wal_end()
    }
    fn segments(&self) -> pulsedb::Result<Vec<(u64, u64)>> {
        self.wal_segments()
    }
}

/// Batches dealt to a shard at once; a shard this far behind stops the reader.
const SHARD_QUEUE: usize = 32;
const SAVE_EVERY: Duration = Duration::from_secs(1);
const CHECK_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Control {
    /// Stop reading; finish what was read.
    draining: AtomicBool,
    /// Stop sending now (the drain's time is up): what is unsent stays unsent.
    abandon: AtomicBool,
    /// Batches up to this sequence number are skipped, not sent (backlog limit).
    skip_through: AtomicU64,
}

/// A running destination.
#[derive(Debug)]
pub(crate) struct Forwarder {
    pub(crate) stats: Arc<Stats>,
    control: Arc<Control>,
    thread: Option<JoinHandle<()>>,
}

impl Forwarder {
    /// Starts reading from the saved position (a new destination: from the WAL's end).
    pub(crate) fn start(
        source: Arc<dyn WalSource>,
        destination: Destination,
        external_labels: Labels,
        data_dir: &Path,
    ) -> Result<Self, String> {
        let client = Arc::new(Client::new(&destination).map_err(|e| format!("{}: {e}", destination.name))?);
        let stats =
            Arc::new(Stats { name: destination.name.clone(), url: destination.url.clone(), ..Stats::default() });
        let saved =
            position::load(data_dir, &destination.name).map_err(|e| format!("{}: position: {e}", destination.name))?;
        let reader = open_reader(&*source, saved, &stats)?;
        let control = Arc::new(Control::default());
        let run = Run {
            source,
            client,
            destination,
            external_labels,
            data_dir: data_dir.to_path_buf(),
            stats: stats.clone(),
            control: control.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("forward-{}", run.destination.name))
            .spawn(move || run.read(reader))
            .map_err(|e| format!("starting the forwarding thread: {e}"))?;
        Ok(Self { stats, control, thread: Some(thread) })
    }

    /// Stops reading and waits up to `timeout` for what was read to be sent;
    /// then stops sending. The saved position covers what was sent.
    pub(crate) fn stop(mut self, timeout: Duration) {
        self.control.draining.store(true, Relaxed);
        let deadline = Instant::now() + timeout;
        while self.thread.as_ref().is_some_and(|t| !t.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.control.abandon.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.control.draining.store(true, Relaxed);
        self.control.abandon.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn open_reader(source: &dyn WalSource, saved: Option<WalPosition>, stats: &Stats) -> Result<WalBatches, String> {
    match saved {
        None => source.batches(Some(source.end())).map_err(|e| format!("{}: reading the WAL: {e}", stats.name)),
        Some(p) => match source.batches(Some(p)) {
            Ok(r) => Ok(r),
            Err(e) => {
                // Its segment is gone (a backlog limit, or a WAL repaired by hand).
                tracing::error!(destination = %stats.name, position = ?p, error = %e,
                    "the saved forwarding position is no longer in the WAL; forwarding from the oldest segment left");
                *stats.last_error.lock() = format!("saved position {p:?} lost: {e}");
                source.batches(None).map_err(|e| format!("{}: reading the WAL: {e}", stats.name))
            }
        },
    }
}

struct Run {
    source: Arc<dyn WalSource>,
    client: Arc<Client>,
    destination: Destination,
    external_labels: Labels,
    data_dir: PathBuf,
    stats: Arc<Stats>,
    control: Arc<Control>,
}

/// Series (their encoded labels, `remote_encode::encode_labels`) with their samples, as a shard sends them.
type Rows = Vec<(Arc<[u8]>, Vec<Sample>)>;

/// What the reader knows of a series after meeting it once: whether the
/// filter keeps it, and then its labels' hash (its shard) and wire bytes.
type SeriesCache = HashMap<u64, Option<(u64, Arc<[u8]>)>>;

/// Work for a shard: the series of one WAL batch that hash to it (maybe none).
struct Deal {
    seq: u64,
    series: Rows,
}

struct Shard {
    tx: SyncSender<Deal>,
    done: Arc<AtomicU64>,
    /// Nanoseconds spent sending (its utilization decides the shard count).
    busy_ns: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

/// A read batch not yet committed: its sequence number, end and newest sample time.
struct Pending {
    seq: u64,
    end: WalPosition,
    newest: i64,
}

impl Run {
    fn read(self, mut reader: WalBatches) {
        let mut shards = self.spawn_shards(self.destination.queue.min_shards);
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let mut seq = 0u64;
        let mut committed = reader.position();
        let mut saved = committed;
        let (mut last_save, mut last_check) = (Instant::now(), Instant::now());
        let mut failed_at_check = 0;
        let mut newest_sent = i64::MIN;
        let mut cache = SeriesCache::new();
        // Batches up to here were sent before a crash: re-sent now, counted.
        let resend_until = position::load_sent(&self.data_dir, &self.destination.name).filter(|p| *p > committed);
        let (mut sent_hint, mut last_hint) = (committed, Instant::now());
        *self.stats.position.lock() = Some(committed);
        // Batches read but not yet in every shard's queue (a full queue never
        // blocks this loop, so positions, lag and the backlog limit go on).
        let mut stalled: VecDeque<Stalled> = VecDeque::new();
        // A new shard count waiting for every dealt batch to be sent.
        let mut resharding: Option<usize> = None;
        let mut busy_at_check = 0u64;
        'reading: while !self.control.draining.load(Relaxed) && !shards.is_empty() {
            let mut read = 0;
            if stalled.is_empty() && resharding.is_none() {
                let result = reader.read(16, |end, batch| {
                    seq += 1;
                    let (newest, parts) = self.deal(&mut cache, batch, shards.len());
                    if resend_until.is_some_and(|until| end <= until) {
                        let n: usize = parts.iter().flatten().map(|(_, s)| s.len()).sum();
                        self.stats.samples_resent.fetch_add(n as u64, Relaxed);
                    }
                    stalled.push_back(Stalled { seq, end, newest, parts: parts.into_iter().map(Some).collect() });
                });
                read = match result {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(destination = %self.stats.name, error = %e, "reading the WAL for forwarding");
                        *self.stats.last_error.lock() = format!("reading the WAL: {e}");
                        std::thread::sleep(Duration::from_secs(1));
                        0
                    }
                };
                self.stats.samples_dropped_unresolved.store(reader.unresolved_samples, Relaxed);
            }
            if !dispatch(&shards, &mut stalled, &mut pending) {
                break 'reading; // a shard was abandoned
            }
            let done = shards.iter().map(|s| s.done.load(Relaxed)).min().unwrap_or(seq);
            commit(&mut pending, done, &mut committed, &mut newest_sent);
            if committed != sent_hint && last_hint.elapsed() >= Duration::from_millis(50) {
                let _ = position::save_sent(&self.data_dir, &self.destination.name, committed);
                sent_hint = committed;
                last_hint = Instant::now();
            }
            if last_save.elapsed() >= SAVE_EVERY {
                if committed != saved {
                    self.save(committed, &reader);
                    saved = committed;
                }
                // Before anything was sent, the oldest unsent batch stands for it.
                let front = pending.front().map(|p| p.newest).or_else(|| stalled.front().map(|b| b.newest));
                let reference = if newest_sent == i64::MIN { front.unwrap_or(i64::MIN) } else { newest_sent };
                self.update_lag(committed, pending.is_empty() && stalled.is_empty(), reference);
                last_save = Instant::now();
            }
            if last_check.elapsed() >= CHECK_EVERY {
                last_check = Instant::now();
                if let Some(skipped) = self.enforce_backlog(committed, seq, &mut reader) {
                    let unsent: usize =
                        stalled.iter().flat_map(|b| b.parts.iter().flatten()).flatten().map(|(_, s)| s.len()).sum();
                    self.stats.samples_dropped_backlog.fetch_add(unsent as u64, Relaxed);
                    stalled.clear();
                    pending.clear();
                    committed = skipped;
                    saved = skipped;
                }
                let failed = self.stats.requests_failed.load(Relaxed);
                let failing = failed > failed_at_check;
                failed_at_check = failed;
                let busy: u64 = shards.iter().map(|s| s.busy_ns.load(Relaxed)).sum();
                let utilization =
                    busy.saturating_sub(busy_at_check) as f64 / (shards.len() as f64 * CHECK_EVERY.as_nanos() as f64);
                busy_at_check = busy;
                resharding = self.shards_wanted(shards.len(), utilization, failing);
            }
            if let Some(want) = resharding {
                // Every dealt batch sent: the shards are idle, and no series'
                // samples can overtake each other across the change.
                if stalled.is_empty() && pending.is_empty() {
                    let _ = drain(std::mem::take(&mut shards), &self.control);
                    tracing::info!(destination = %self.stats.name, to = want, "forwarding shards changed");
                    shards = self.spawn_shards(want);
                    busy_at_check = 0;
                    resharding = None;
                }
            }
            if read == 0 {
                // Waiting for room in a shard's queue is shorter than waiting for new batches.
                std::thread::sleep(Duration::from_millis(if stalled.is_empty() { 5 } else { 1 }));
            }
        }
        // Draining: the shards finish what they were dealt (until abandoned).
        let done = drain(shards, &self.control);
        commit(&mut pending, done, &mut committed, &mut newest_sent);
        self.save(committed, &reader);
    }

    /// Splits a batch by shard: filtered, with the external labels, hashed;
    /// each series worked out once and cached by its reference.
    fn deal(&self, cache: &mut SeriesCache, batch: &WalBatch<'_>, shards: usize) -> (i64, Vec<Rows>) {
        let mut parts: Vec<Rows> = (0..shards).map(|_| Vec::new()).collect();
        let mut newest = i64::MIN;
        for series in batch {
            let known = cache.entry(series.series).or_insert_with(|| {
                let filter = &self.destination.filter;
                (filter.is_empty() || filter.keeps(series.labels)).then(|| {
                    let labels = with_external(series.labels, &self.external_labels);
                    (hash(&labels), Arc::from(pulsedb_formats::remote_encode::encode_labels(&labels)))
                })
            });
            let Some((hash, labels)) = known else {
                self.stats.samples_filtered.fetch_add(series.samples.len() as u64, Relaxed);
                continue;
            };
            newest = newest.max(series.samples.last().map_or(i64::MIN, |s| s.t));
            if let Some(part) = parts.get_mut((*hash % shards as u64) as usize) {
                part.push((labels.clone(), series.samples.to_vec()));
            }
        }
        (newest, parts)
    }

    fn save(&self, committed: WalPosition, reader: &WalBatches) {
        match position::save(&self.data_dir, &self.destination.name, committed) {
            Ok(()) => reader.release_before(committed),
            Err(e) => {
                tracing::error!(destination = %self.stats.name, error = %e, "saving the forwarding position");
                *self.stats.last_error.lock() = format!("saving the position: {e}");
            }
        }
        *self.stats.position.lock() = Some(committed);
    }

    fn update_lag(&self, committed: WalPosition, caught_up: bool, newest_sent: i64) {
        let end = self.source.end();
        let bytes = self.unsent_bytes(committed, end);
        self.stats.lag_bytes.store(bytes, Relaxed);
        let lag =
            if caught_up && committed >= end || newest_sent == i64::MIN { 0 } else { (now_ms() - newest_sent).max(0) };
        self.stats.lag_ms.store(lag, Relaxed);
    }

    fn unsent_bytes(&self, committed: WalPosition, end: WalPosition) -> u64 {
        if committed >= end {
            return 0;
        }
        let segments = self.source.segments().unwrap_or_default();
        segments
            .iter()
            .filter(|(s, _)| *s >= committed.segment && *s <= end.segment)
            .map(|&(s, len)| {
                let len = if s == end.segment { end.offset.min(len) } else { len };
                if s == committed.segment {
                    len.saturating_sub(committed.offset)
                } else {
                    len
                }
            })
            .sum()
    }

    /// Past the backlog limit, skips to the oldest segment within it (or, for
    /// the age limit, to the WAL's end): what was dealt is dropped by the
    /// shards, what was not read is never read; both counted and logged.
    fn enforce_backlog(&self, committed: WalPosition, seq: u64, reader: &mut WalBatches) -> Option<WalPosition> {
        let end = self.source.end();
        let unsent = self.unsent_bytes(committed, end);
        let over_bytes = self.destination.max_backlog_bytes.is_some_and(|max| unsent > max);
        let lag = Duration::from_millis(self.stats.lag_ms.load(Relaxed).max(0) as u64);
        let over_age = self.destination.max_backlog_age.is_some_and(|max| lag > max);
        if !over_bytes && !over_age {
            return None;
        }
        let target = if over_bytes {
            let max = self.destination.max_backlog_bytes.unwrap_or(0);
            let segments = self.source.segments().unwrap_or_default();
            let mut kept = 0u64;
            let mut target = end.segment;
            for &(s, len) in segments.iter().rev() {
                kept += len;
                if kept > max {
                    break;
                }
                target = s;
            }
            WalPosition { segment: target, offset: 0 }
        } else {
            end
        };
        // Read again from there (what was read ahead of sending is dropped
        // with the rest); within the segment last sent from there is no frame
        // boundary to seek to but the end.
        let target = if target <= committed { end } else { target };
        self.control.skip_through.store(seq, Relaxed);
        let skipped_bytes = self.unsent_bytes(committed, target);
        match self.source.batches(Some(target)) {
            Ok(r) => *reader = r,
            Err(e) => {
                tracing::error!(destination = %self.stats.name, error = %e, "skipping the forwarding backlog");
                return None;
            }
        }
        tracing::warn!(destination = %self.stats.name, skipped_bytes, unsent, lag_seconds = lag.as_secs(),
            "forwarding backlog over its limit: skipped the oldest WAL bytes (never sent to this destination)");
        *self.stats.last_error.lock() = format!("backlog over its limit: skipped {skipped_bytes} bytes of WAL");
        self.stats.backlog_bytes_skipped.fetch_add(skipped_bytes, Relaxed);
        self.save(target, reader);
        Some(target)
    }

    /// The shard count to move to, if any: double while the destination
    /// falls more than 5 s behind and the shards are busy (more shards
    /// would not help a failing destination), halve when they are mostly
    /// idle and caught up; within `min_shards..=max_shards`.
    fn shards_wanted(&self, n: usize, utilization: f64, failing: bool) -> Option<usize> {
        let q = &self.destination.queue;
        let lag = self.stats.lag_ms.load(Relaxed);
        let want = if lag > 5_000 && utilization > 0.7 && !failing {
            (n * 2).min(q.max_shards)
        } else if lag < 1_000 && utilization < 0.25 && !failing {
            (n / 2).max(q.min_shards)
        } else {
            n
        };
        (want != n).then(|| {
            tracing::info!(destination = %self.stats.name, from = n, to = want, lag_ms = lag, utilization,
                "changing the forwarding shard count once what was dealt is sent");
            want
        })
    }

    fn spawn_shards(&self, n: usize) -> Vec<Shard> {
        self.stats.shards.store(n as u64, Relaxed);
        (0..n)
            .filter_map(|i| {
                let (tx, rx) = mpsc::sync_channel::<Deal>(SHARD_QUEUE);
                let done = Arc::new(AtomicU64::new(0));
                let busy_ns = Arc::new(AtomicU64::new(0));
                let sender = Sender {
                    busy_ns: busy_ns.clone(),
                    client: self.client.clone(),
                    stats: self.stats.clone(),
                    control: self.control.clone(),
                    max_per_send: self.destination.queue.max_samples_per_send,
                    min_backoff: self.destination.queue.min_backoff,
                    max_backoff: self.destination.queue.max_backoff,
                    done: done.clone(),
                    snappy: snap::raw::Encoder::new(),
                    compressed: Vec::new(),
                };
                std::thread::Builder::new()
                    .name(format!("forward-{}-{i}", self.destination.name))
                    .spawn(move || sender.run(rx))
                    .ok()
                    .map(|thread| Shard { tx, done, busy_ns, thread })
            })
            .collect()
    }
}

/// One shard's sending.
struct Sender {
    client: Arc<Client>,
    stats: Arc<Stats>,
    control: Arc<Control>,
    max_per_send: usize,
    min_backoff: Duration,
    max_backoff: Duration,
    done: Arc<AtomicU64>,
    busy_ns: Arc<AtomicU64>,
    /// Reused: its table is allocated once per shard, not per request.
    snappy: snap::raw::Encoder,
    compressed: Vec<u8>,
}

impl Sender {
    fn run(mut self, rx: mpsc::Receiver<Deal>) {
        loop {
            let first = match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(d) => d,
                Err(RecvTimeoutError::Timeout) if !self.control.abandon.load(Relaxed) => continue,
                Err(_) => return,
            };
            // What is queued now goes in this round (at most a queue's worth).
            let mut deals = vec![first];
            while deals.len() < SHARD_QUEUE {
                match rx.try_recv() {
                    Ok(d) => deals.push(d),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            let last_seq = deals.last().map_or(0, |d| d.seq);
            let skip = self.control.skip_through.load(Relaxed);
            let mut rows: Rows = Vec::new();
            for d in deals {
                if d.seq <= skip {
                    let n: usize = d.series.iter().map(|(_, s)| s.len()).sum();
                    self.stats.samples_dropped_backlog.fetch_add(n as u64, Relaxed);
                } else {
                    rows.extend(d.series);
                }
            }
            for (body, n) in requests(&rows, self.max_per_send) {
                if !self.send(&body, n, last_seq) {
                    return; // abandoned: `done` stays where it was
                }
            }
            self.done.store(last_seq, Relaxed);
        }
    }

    /// Sends one request (`n` samples) until it is accepted or refused; false if abandoned.
    fn send(&mut self, request: &[u8], n: u64, last_seq: u64) -> bool {
        self.compressed.resize(snap::raw::max_compress_len(request.len()), 0);
        let body = match self.snappy.compress(request, &mut self.compressed) {
            Ok(len) => &self.compressed[..len],
            Err(e) => {
                tracing::error!(destination = %self.stats.name, error = %e, "compressing a request");
                return true;
            }
        };
        let mut backoff = self.min_backoff;
        let mut jitter = Jitter::new();
        loop {
            let attempt = Instant::now();
            let outcome = self.client.send(body);
            self.busy_ns.fetch_add(attempt.elapsed().as_nanos() as u64, Relaxed);
            match outcome {
                Outcome::Sent => {
                    self.stats.samples_sent.fetch_add(n, Relaxed);
                    self.stats.requests_sent.fetch_add(1, Relaxed);
                    return true;
                }
                Outcome::Drop { status, reason } => {
                    self.stats.samples_dropped_refused.fetch_add(n, Relaxed);
                    self.stats.requests_refused.fetch_add(1, Relaxed);
                    tracing::warn!(destination = %self.stats.name, status, %reason, samples = n,
                        "the destination refused a request; its samples are dropped");
                    *self.stats.last_error.lock() = reason;
                    return true;
                }
                Outcome::Retry { after, reason } => {
                    self.stats.requests_failed.fetch_add(1, Relaxed);
                    self.stats.samples_retried.fetch_add(n, Relaxed);
                    *self.stats.last_error.lock() = reason;
                    let wait = after.unwrap_or_else(|| jitter.apply(backoff));
                    backoff = (backoff * 2).min(self.max_backoff);
                    let until = Instant::now() + wait;
                    while Instant::now() < until {
                        if self.control.abandon.load(Relaxed) {
                            return false;
                        }
                        if self.control.skip_through.load(Relaxed) >= last_seq {
                            self.stats.samples_dropped_backlog.fetch_add(n, Relaxed);
                            return true;
                        }
                        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
                    }
                }
            }
        }
    }
}

/// A batch read but not yet queued to every shard: the parts still to queue.
struct Stalled {
    seq: u64,
    end: WalPosition,
    newest: i64,
    parts: Vec<Option<Rows>>,
}

/// Queues what the shards have room for, batch by batch in order (a shard
/// whose queue is full takes nothing later until it has room), and moves
/// batches every shard has queued to `pending`. False if a shard is gone.
fn dispatch(shards: &[Shard], stalled: &mut VecDeque<Stalled>, pending: &mut VecDeque<Pending>) -> bool {
    let mut full = vec![false; shards.len()];
    for batch in stalled.iter_mut() {
        for (i, (shard, part)) in shards.iter().zip(batch.parts.iter_mut()).enumerate() {
            let Some(series) = part.take() else { continue };
            if full[i] {
                *part = Some(series);
                continue;
            }
            match shard.tx.try_send(Deal { seq: batch.seq, series }) {
                Ok(()) => {}
                Err(mpsc::TrySendError::Full(deal)) => {
                    *part = Some(deal.series);
                    full[i] = true;
                }
                Err(mpsc::TrySendError::Disconnected(_)) => return false,
            }
        }
    }
    while stalled.front().is_some_and(|b| b.parts.iter().all(Option::is_none)) {
        if let Some(b) = stalled.pop_front() {
            pending.push_back(Pending { seq: b.seq, end: b.end, newest: b.newest });
        }
    }
    true
}

/// Closes the shards' queues and waits for them (they finish what they
/// hold unless abandoned); returns the sequence number all of them finished.
///
/// A shard stuck in a request (a receiver that hangs, until the request's
/// timeout) is not waited for once the stop is abandoned: a second later
/// its thread is left to finish on its own, and what it holds counts as unsent.
fn drain(shards: Vec<Shard>, control: &Control) -> u64 {
    let mut done = u64::MAX;
    let mut threads = Vec::new();
    for shard in shards {
        drop(shard.tx);
        threads.push((shard.thread, shard.done));
    }
    let mut abandoned_at: Option<Instant> = None;
    while threads.iter().any(|(t, _)| !t.is_finished()) {
        if control.abandon.load(Relaxed) {
            let since = *abandoned_at.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(1) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for (thread, shard_done) in threads {
        if thread.is_finished() {
            let _ = thread.join();
        }
        done = done.min(shard_done.load(Relaxed));
    }
    done
}

/// Commits the batches every shard has finished.
fn commit(pending: &mut VecDeque<Pending>, done: u64, committed: &mut WalPosition, newest_sent: &mut i64) {
    while pending.front().is_some_and(|p| p.seq <= done) {
        if let Some(p) = pending.pop_front() {
            *committed = p.end;
            *newest_sent = (*newest_sent).max(p.newest);
        }
    }
}

/// Rows written as `WriteRequest`s of at most `max` samples each, in
/// order: (uncompressed protobuf, samples in it).
fn requests(rows: &Rows, max: usize) -> Vec<(Vec<u8>, u64)> {
    let max = max.max(1);
    let mut out = Vec::new();
    let mut body = Vec::new();
    let mut n = 0;
    for (labels, samples) in rows {
        for chunk in samples.chunks(max) {
            if n + chunk.len() > max && n > 0 {
                out.push((std::mem::take(&mut body), n as u64));
                n = 0;
            }
            pulsedb_formats::remote_encode::put_series(&mut body, labels, chunk);
            n += chunk.len();
        }
    }
    if n > 0 {
        out.push((body, n as u64));
    }
    out
}

/// External labels a series does not carry itself, added (as Prometheus does).
fn with_external(labels: &Labels, external: &Labels) -> Labels {
    if external.is_empty() || external.iter().all(|e| labels.get(&e.name).is_some()) {
        return labels.clone();
    }
    Labels::new(
        labels.iter().map(|l| (l.name.clone(), l.value.clone())).chain(
            external.iter().filter(|e| labels.get(&e.name).is_none()).map(|e| (e.name.clone(), e.value.clone())),
        ),
    )
}

fn hash(labels: &Labels) -> u64 {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    for l in labels.iter() {
        h.update(l.name.as_bytes());
        h.update(&[0xff]);
        h.update(l.value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Backoff with jitter: half to all of the wait, so shards retrying together spread out.
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        Self(now_ms() as u64 ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn apply(&mut self, d: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let fraction = 0.5 + (self.0 % 1000) as f64 / 2000.0;
        d.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_keep_order_and_size() {
        let a = Labels::metric("a", [("x", "1")]);
        let b = Labels::metric("b", [("x", "1")]);
        let rows: Rows = vec![
            (
                Arc::from(pulsedb_formats::remote_encode::encode_labels(&a)),
                (0..5).map(|t| Sample::new(t, 0.0)).collect(),
            ),
            (
                Arc::from(pulsedb_formats::remote_encode::encode_labels(&b)),
                (0..3).map(|t| Sample::new(t, 0.0)).collect(),
            ),
        ];
        let out = requests(&rows, 4);
        assert_eq!(out.iter().map(|r| r.1).collect::<Vec<_>>(), [4, 4]);
        let mut flat = Vec::new();
        for (body, _) in &out {
            let compressed = snap::raw::Encoder::new().compress_vec(body).unwrap_or_default();
            let batch = pulsedb_formats::remote::decode_write(&compressed, 1 << 20).unwrap_or_default();
            flat.extend(
                batch.rows().flat_map(|(l, s)| s.iter().map(move |s| (l.to_string(), s.t))).collect::<Vec<_>>(),
            );
        }
        let want: Vec<(String, i64)> =
            (0..5).map(|t| (a.to_string(), t)).chain((0..3).map(|t| (b.to_string(), t))).collect();
        assert_eq!(flat, want);
    }

    #[test]
    fn external_labels_fill_in_and_never_override() {
        let external = Labels::new([("cluster", "eu"), ("replica", "a")]);
        let with = with_external(&Labels::metric("up", [("replica", "own")]), &external);
        assert_eq!(with.to_string(), "up{cluster=\"eu\", replica=\"own\"}");
        assert_eq!(with_external(&Labels::metric("up", [("a", "b")]), &Labels::default()).to_string(), "up{a=\"b\"}");
    }

    #[test]
    fn jitter_stays_within_half_to_all() {
        let mut j = Jitter::new();
        for _ in 0..1000 {
            let d = j.apply(Duration::from_millis(1000));
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1000), "{d:?}");
        }
    }
}
