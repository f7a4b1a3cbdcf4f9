//! Power cuts, simulated with `pulsedb-powercut`: two writers append
//! numbered batches (the crash workload: flushes, compactions, head
//! checkpoints, WAL rotations and truncations all the time) while the sim records every
//! durability point of the data directory; the power is cut right after a
//! random one of them — in the write path, a flush, a compaction, a head
//! checkpoint, the WAL truncation that follows a flush or a checkpoint, or
//! the recovery of the previous cut —
//! and the directory a rebooted machine would find (unsynced bytes gone or
//! torn, unsynced directory entries gone, the label index rolled back to
//! its last sync) is opened as the next iteration's data directory.
//!
//! Each writer's batches that survive must be a prefix of what it wrote,
//! each batch all there or not at all, with exact values, and nothing else:
//! - `SyncMode::Always`: the prefix holds every batch acknowledged before
//!   the cut, and at most the one in flight;
//! - `SyncMode::Interval(d)`: it holds every batch acknowledged more than
//!   `d` (plus one fsync's time, allowed `FSYNC_SLACK`) before the cut.
//!
//! `PULSEDB_POWER_CUTS=500 cargo test --release -p pulsedb --test it power_cut`
//! is the soak; the suite runs a few cuts of each mode.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pulsedb::{Db, Matcher, SyncMode};
use pulsedb_powercut::{CutOptions, PowerCut};
use pulsedb_testkit::acked::AckedModel;
use pulsedb_testkit::crash_workload::{self, apply, batch_contents, is_refusal, to_batch};
use pulsedb_testkit::Rng;

const WRITERS: usize = 2;
/// How long one fsync of the interval thread may take beyond `d` on a busy test machine.
const FSYNC_SLACK: Duration = Duration::from_secs(1);
/// An iteration whose random cut has not come by then is cut on demand.
const MAX_RUN: Duration = Duration::from_secs(2);

/// What one writer did in one iteration: per batch (numbered from the
/// iteration's first), whether it was stored and when `append` returned.
#[derive(Default)]
struct WriterLog {
    outcomes: Vec<(bool, Instant)>,
}

/// What the witness saw at the moment of the cut.
#[derive(Clone, Default)]
struct AtCut {
    finished: Vec<usize>,
    at: Option<Instant>,
}

/// Each writer's batches `[first, first + finished)` of one iteration.
struct Iteration {
    first: u64,
    logs: Vec<WriterLog>,
    at_cut: AtCut,
}

fn metric() -> [Matcher; 1] {
    [Matcher::equal("__name__", crash_workload::METRIC)]
}

fn writer_part(model: &AckedModel, writer: usize) -> AckedModel {
    model.select(&[Matcher::equal("writer", writer.to_string())], i64::MIN, i64::MAX)
}

/// The writers' logs, and what they held at the cut: installed before the
/// data directory is opened, since the cut may fall during recovery.
struct Witness {
    logs: Arc<Vec<Mutex<WriterLog>>>,
    at_cut: Arc<Mutex<AtCut>>,
}

impl Witness {
    fn install(cut: &PowerCut) -> Self {
        let logs: Arc<Vec<Mutex<WriterLog>>> = Arc::new((0..WRITERS).map(|_| Mutex::default()).collect());
        let at_cut = Arc::new(Mutex::new(AtCut::default()));
        let (seen_logs, seen) = (Arc::clone(&logs), Arc::clone(&at_cut));
        cut.on_cut(move || {
            let mut seen = seen.lock().unwrap();
            seen.finished = seen_logs.iter().map(|l| l.lock().unwrap().outcomes.len()).collect();
            seen.at = Some(Instant::now());
        });
        Self { logs, at_cut }
    }
}

/// Runs the writers on `db` until the cut (or `MAX_RUN`, then cuts).
fn write_until_cut(db: &Db, cut: &PowerCut, witness: Witness, first: u64) -> Iteration {
    let Witness { logs, at_cut } = witness;
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (logs, stop) = (&logs, &stop);
            scope.spawn(move || {
                for n in first.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let stored = match db.append(&to_batch(writer, &batch_contents(writer, n))) {
                        Ok(()) => true,
                        Err(e) if is_refusal(&e) => false,
                        Err(e) => panic!("append failed: {e}"),
                    };
                    logs[writer].lock().unwrap().outcomes.push((stored, Instant::now()));
                    if writer == 0 && n % 97 == 0 {
                        db.flush().unwrap();
                    }
                    if writer == 1 && n % 151 == 0 {
                        db.compact().unwrap();
                    }
                    if writer == 1 && n % 41 == 0 {
                        db.checkpoint().unwrap();
                    }
                }
            });
        }
        while !cut.has_cut() && started.elapsed() < MAX_RUN {
            std::thread::sleep(Duration::from_millis(2));
        }
        cut.cut_now();
        stop.store(true, Ordering::SeqCst);
    });
    let logs = logs.iter().map(|l| std::mem::take(&mut *l.lock().unwrap())).collect();
    let at_cut = at_cut.lock().unwrap().clone();
    Iteration { first, logs, at_cut }
}

/// How many of each writer's batches must (`.0`) and may (`.1`) have survived.
fn bounds(iteration: &Iteration, sync: SyncMode) -> Vec<(usize, usize)> {
    let cut_at = iteration.at_cut.at.unwrap();
    iteration
        .logs
        .iter()
        .zip(&iteration.at_cut.finished)
        .map(|(log, &finished)| {
            // The batch in flight at the cut may be there; no later one can.
            let most = (finished + 1).min(log.outcomes.len());
            let least = match sync {
                SyncMode::Interval(d) => {
                    log.outcomes[..finished].iter().take_while(|(_, acked)| *acked + d + FSYNC_SLACK < cut_at).count()
                }
                _ => finished,
            };
            (least, most)
        })
        .collect()
}

/// Finds, per writer, the prefix of its batches that `got` holds on top of
/// `models`, within `bounds`, and adopts it; fails if there is none.
fn settle(got: &AckedModel, models: &mut [AckedModel], iteration: &Iteration, bounds: &[(usize, usize)], label: &str) {
    let mut series = 0;
    for (writer, model) in models.iter_mut().enumerate() {
        let have = writer_part(got, writer);
        series += have.series_count();
        let (least, most) = bounds[writer];
        let log = &iteration.logs[writer];
        let mut candidate = model.clone();
        let mut adopted = None;
        for (k, &(stored, _)) in log.outcomes[..most].iter().enumerate() {
            if k >= least && candidate == have {
                adopted = Some(candidate.clone());
                break;
            }
            if stored {
                apply(&mut candidate, writer, &batch_contents(writer, iteration.first + k as u64));
            }
        }
        if adopted.is_none() && candidate == have {
            adopted = Some(candidate.clone());
        }
        let Some(adopted) = adopted else {
            let diff = candidate.differences(&have, 8);
            panic!(
                "{label}: writer {writer}'s surviving batches are no prefix of {least}..={most} of its {} batches (acknowledged, lost or torn); against all {most}: {diff:#?}",
                log.outcomes.len()
            );
        };
        *model = adopted;
    }
    assert_eq!(series, got.series_count(), "{label}: series of no writer were read");
}

/// Which kind of durability point a cut fell after, for the summary.
fn phase(cause: &str) -> &'static str {
    let wal = cause.contains("wal");
    match () {
        _ if cause.starts_with("sync of the index") => "index sync",
        _ if cause == "on demand" => "on demand",
        _ if cause.starts_with("fsync of directory") && wal => "WAL directory",
        _ if cause.starts_with("fsync of directory") => "block or data directory",
        _ if wal => "WAL segment",
        _ if cause.contains("blocks") => "block file",
        _ if cause.contains("chunks_head") || cause.contains("head.checkpoint") => "head checkpoint",
        _ => "other file",
    }
}

fn power_cuts(sync: SyncMode, cuts: usize, seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(seed);
    let mut dir: PathBuf = tmp.path().join("gen-0");
    let mut models = vec![AckedModel::new(); WRITERS];
    let mut pending: Option<(Iteration, Vec<(usize, usize)>)> = None;
    let mut next_batch = 0u64;
    // Durability points a whole run reaches: cuts are drawn below it.
    let mut reach = 400u64;
    let mut phases: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut batches, mut torn) = (0usize, 0u64);
    let started = Instant::now();
    for i in 0..=cuts {
        let mut options = CutOptions::default();
        options.seed = rng.next_u64();
        let cut = PowerCut::install(&dir, options).unwrap();
        let witness = Witness::install(&cut);
        if i < cuts {
            cut.cut_after(1 + rng.below(reach));
        }
        // Opening recovers from the previous cut, and may itself be cut.
        let db = Db::open(&dir, crash_workload::options(sync)).unwrap();
        let got = AckedModel::read(&db, &metric());
        if let Some((iteration, bounds)) = pending.take() {
            settle(&got, &mut models, &iteration, &bounds, &format!("cut {i} ({sync:?})"));
        }
        if i == cuts {
            db.close().unwrap();
            break;
        }
        let events_before = cut.events();
        let iteration = write_until_cut(&db, &cut, witness, next_batch);
        if cut.cause().as_deref() == Some("on demand") {
            reach = reach.max(cut.events() - events_before);
        }
        db.close().unwrap();
        assert!(cut.errors().is_empty(), "the sim could not record: {:?}", cut.errors());
        *phases.entry(phase(&cut.cause().unwrap_or_default())).or_default() += 1;
        torn += cut.torn_bytes();
        batches += iteration.logs.iter().map(|l| l.outcomes.len()).sum::<usize>();
        next_batch += iteration.logs.iter().map(|l| l.outcomes.len() as u64).max().unwrap_or(0) + 1;

        let next = tmp.path().join(format!("gen-{}", i + 1));
        cut.materialize(&next).unwrap();
        drop(cut);
        remove(&dir);
        dir = next;
        let b = bounds(&iteration, sync);
        pending = Some((iteration, b));
    }
    eprintln!(
        "power cut ({sync:?}): {cuts} cuts, {batches} batches written, {} samples verified, {torn} torn bytes kept, in {:?}; cut after: {phases:?}",
        models.iter().map(AckedModel::samples).sum::<usize>(),
        started.elapsed()
    );
    assert!(models.iter().all(|m| m.samples() > 0), "a writer made no durable progress: the test proved nothing");
}

fn remove(dir: &Path) {
    std::fs::remove_dir_all(dir).unwrap();
}

fn cuts_from_env(default: usize) -> usize {
    std::env::var("PULSEDB_POWER_CUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn acknowledged_samples_survive_power_cuts_with_sync_always() {
    power_cuts(SyncMode::Always, cuts_from_env(12), 0x0B1A_C0A7);
}

#[test]
fn power_cuts_lose_at_most_the_sync_interval() {
    power_cuts(SyncMode::Interval(Duration::from_millis(100)), cuts_from_env(12) / 2, 0x1A7E);
}
