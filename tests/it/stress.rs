//! Concurrency stress: writers, queries, flushes, compactions and retention
//! all at once, checked against a model of what was acknowledged.
//!
//! Writers take steps from a shared counter; step `k` is one batch with a
//! sample for every series at `BASE_T + k * 30 s`, values a function of
//! `(k, series)`. Steps race each other, so some arrive out of order (within
//! the window: accepted) or after their window was flushed (refused with
//! `OutOfBounds` / `OutOfOrder`: the model records them as refused). With
//! 1 h blocks and 30 h retention the simulated clock runs through many
//! blocks, compactions and whole-block deletions in a few seconds.
//!
//! Checked, while running: every query returns, for each series, exactly
//! the model's value at every step it returns; never a refused step; and
//! every step acknowledged before the query started and recent enough that
//! retention cannot have touched it. At the end, and again after a close
//! and reopen: the same for every acknowledged step within retention,
//! every series holds the same set of steps (batches are atomic), and
//! nothing acknowledged is missing.
//!
//! `PULSEDB_STRESS_SECONDS` sets the duration (default 5).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pulsedb::{Batch, Db, Error, Labels, Matcher, Options, StorageStats, SyncMode};

const BASE_T: i64 = 1_700_000_000_000;
const STEP_MS: i64 = 30_000;
const SERIES: usize = 8;
const WRITERS: usize = 3;
const QUERIERS: usize = 2;
const HOUR_MS: i64 = 3_600_000;
const RETENTION_MS: i64 = 30 * HOUR_MS;

fn options(background: bool) -> Options {
    let mut o = Options::default();
    o.sync = SyncMode::Interval(Duration::from_millis(20));
    o.block_span = Duration::from_secs(3600);
    o.out_of_order_window = Duration::from_secs(300);
    o.compaction_spans = vec![Duration::from_secs(3600), Duration::from_secs(4 * 3600)];
    o.retention = Duration::from_millis(RETENTION_MS as u64);
    o.wal_segment_size = 64 << 10;
    o.background_maintenance = background;
    o
}

fn t_of(step: u64) -> i64 {
    BASE_T + step as i64 * STEP_MS
}

fn step_of(t: i64) -> u64 {
    assert_eq!((t - BASE_T) % STEP_MS, 0, "t={t} is not on a step");
    ((t - BASE_T) / STEP_MS) as u64
}

fn labels(j: usize) -> Labels {
    Labels::metric("stress", [("series", j.to_string())])
}

fn value(step: u64, j: usize) -> f64 {
    match (step + j as u64) % 7 {
        0 => -0.0,
        1 => (step as f64) * 0.1 + j as f64,
        _ => (step * 31 + j as u64) as f64,
    }
}

#[derive(Default)]
struct Model {
    acked: BTreeSet<u64>,
    refused: BTreeSet<u64>,
}

/// Step sets per series from a select over everything, values checked.
fn read_steps(db: &Db, mint: i64) -> Vec<BTreeSet<u64>> {
    let series = db.select(&[Matcher::equal("__name__", "stress")], mint, i64::MAX).unwrap();
    let mut out = vec![BTreeSet::new(); SERIES];
    for s in series {
        let j: usize = s.labels.get("series").unwrap().parse().unwrap();
        let mut last = i64::MIN;
        for sample in &s.samples {
            assert!(sample.t > last, "series {j}: samples out of order at t={}", sample.t);
            last = sample.t;
            let step = step_of(sample.t);
            assert_eq!(sample.v.to_bits(), value(step, j).to_bits(), "series {j} step {step}: wrong value");
            out[j].insert(step);
        }
    }
    out
}

/// Steps whose samples retention can never have deleted: within retention
/// of anything that can have been stored by the time `taken` steps were handed out.
fn safe_from_retention(step: u64, taken: u64) -> bool {
    t_of(step) >= t_of(taken).saturating_sub(RETENTION_MS) + HOUR_MS
}

#[track_caller]
fn check_final(db: &Db, model: &Model, taken: u64) -> Vec<BTreeSet<u64>> {
    let steps = read_steps(db, i64::MIN);
    for (j, have) in steps.iter().enumerate() {
        assert_eq!(have, &steps[0], "series {j} holds different steps than series 0: a batch was split");
        if let Some(step) = have.iter().find(|s| !model.acked.contains(s)) {
            panic!("series {j} has step {step}, which was never acknowledged");
        }
        let missing: Vec<u64> = model
            .acked
            .iter()
            .copied()
            .filter(|&s| safe_from_retention(s, taken) && !have.contains(&s))
            .take(10)
            .collect();
        assert!(missing.is_empty(), "series {j}: acknowledged steps missing: {missing:?}…");
    }
    steps
}

#[test]
fn writers_queries_flushes_compaction_and_retention_at_once() {
    let seconds: u64 = std::env::var("PULSEDB_STRESS_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), options(true)).unwrap());
    let next_step = Arc::new(AtomicU64::new(0));
    let model = Arc::new(Mutex::new(Model::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let queries = Arc::new(AtomicU64::new(0));

    let mut threads = Vec::new();
    for _ in 0..WRITERS {
        let (db, next_step, model) = (db.clone(), next_step.clone(), model.clone());
        threads.push(std::thread::spawn(move || {
            while Instant::now() < deadline {
                let step = next_step.fetch_add(1, Ordering::SeqCst);
                let mut batch = Batch::new();
                for j in 0..SERIES {
                    batch.push(labels(j), t_of(step), value(step, j));
                }
                match db.append(&batch) {
                    Ok(()) => model.lock().acked.insert(step),
                    Err(Error::OutOfBounds { .. } | Error::OutOfOrder { .. }) => model.lock().refused.insert(step),
                    Err(e) => panic!("step {step}: {e}"),
                };
            }
        }));
    }
    // Explicit flushes (forced: they do not wait out the out-of-order
    // window) and compaction + retention, beside the background thread's.
    {
        let (db, stop) = (db.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                db.flush().unwrap();
                std::thread::sleep(Duration::from_millis(30));
            }
        }));
    }
    {
        let (db, stop) = (db.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                db.compact().unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
        }));
    }
    for q in 0..QUERIERS {
        let (db, next_step, model, stop, queries) =
            (db.clone(), next_step.clone(), model.clone(), stop.clone(), queries.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let acked_before: BTreeSet<u64> = model.lock().acked.clone();
                // Alternately the recent past and everything.
                let taken = next_step.load(Ordering::SeqCst);
                let mint = if q % 2 == 0 { t_of(taken.saturating_sub(600)) } else { i64::MIN };
                let steps = read_steps(&db, mint);
                let taken_after = next_step.load(Ordering::SeqCst);
                let model = model.lock();
                for (j, have) in steps.iter().enumerate() {
                    if let Some(step) = have.iter().find(|s| model.refused.contains(s)) {
                        panic!("series {j}: step {step} was refused but is readable");
                    }
                    if let Some(step) = have.iter().find(|&&s| s >= taken_after) {
                        panic!("series {j}: step {step} was never written");
                    }
                    let missing: Vec<u64> = acked_before
                        .iter()
                        .copied()
                        .filter(|&s| t_of(s) >= mint && safe_from_retention(s, taken_after) && !have.contains(&s))
                        .take(10)
                        .collect();
                    assert!(missing.is_empty(), "series {j}: acknowledged steps missing from a query: {missing:?}…");
                }
                queries.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    let writers: Vec<_> = threads.drain(..WRITERS).collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let db = Arc::into_inner(db).unwrap();
    let taken = next_step.load(Ordering::SeqCst);
    let model = Arc::into_inner(model).unwrap().into_inner();
    let stats: StorageStats = db.stats().unwrap();
    eprintln!(
        "stress: {taken} steps ({} simulated hours) in {seconds} s: {} acknowledged, {} refused; \
         {} queries; {} blocks written, {} compactions, {} blocks deleted, {} blocks now",
        taken as i64 * STEP_MS / HOUR_MS,
        model.acked.len(),
        model.refused.len(),
        queries.load(Ordering::Relaxed),
        stats.blocks_written,
        stats.compactions,
        stats.blocks_deleted,
        stats.blocks,
    );
    assert_eq!(model.acked.len() + model.refused.len(), taken as usize, "every step answered");
    let before = check_final(&db, &model, taken);
    db.close().unwrap();

    let db = Db::open(dir.path(), options(false)).unwrap();
    let after = check_final(&db, &model, taken);
    assert_eq!(after, before, "a reopen changes nothing");
    db.close().unwrap();
}

/// Appends that create series while reads select them never deadlock. An
/// append holds the data locks of its batch's known series while it adds
/// the new ones to the head's ref table; a read that held a ref-table lock
/// while it waited for a series' data lock deadlocked with it (each batch
/// here touches the series the previous one created, on the same page of
/// refs as the one it creates).
#[test]
fn appends_creating_series_and_reads_never_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), options(false)).unwrap());
    let running = Arc::new(AtomicBool::new(true));
    let (done, finished) = std::sync::mpsc::channel();
    let mut threads = Vec::new();
    for writer in 0..2u64 {
        let (db, running, done) = (db.clone(), running.clone(), done.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while running.load(Ordering::Relaxed) {
                let mut batch = Batch::new();
                for k in [n.saturating_sub(1), n] {
                    let labels = Labels::metric("m", [("w", writer.to_string()), ("n", k.to_string())]);
                    batch.add(labels, [pulsedb::Sample::new(BASE_T + n as i64, 1.0)]);
                }
                db.append(&batch).unwrap();
                n += 1;
            }
            done.send(()).unwrap();
        }));
    }
    for _ in 0..2 {
        let (db, running, done) = (db.clone(), running.clone(), done.clone());
        threads.push(std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                db.query("count(m)", BASE_T + 60_000).unwrap();
            }
            done.send(()).unwrap();
        }));
    }
    std::thread::sleep(Duration::from_secs(3));
    running.store(false, Ordering::Relaxed);
    for _ in 0..threads.len() {
        finished.recv_timeout(Duration::from_secs(60)).expect("a writer or reader is stuck: deadlock");
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
}
