//! Kill -9 crash test: a child process appends batches with
//! `SyncMode::Always` from two threads and reports each acknowledgment on
//! stdout; this process kills it at a random moment (flushes, compactions,
//! head checkpoints and WAL rotations are happening all the time), reopens the directory and
//! checks that every acknowledged sample is there with its exact value, that
//! a batch in flight at the kill is all there or not at all, and that
//! nothing else is. The next iteration continues on the same directory.
//!
//! `PULSEDB_CRASH_ITERATIONS=500 cargo test --release --test crash_kill9`
//! runs a soak; the default is 20 iterations.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pulsedb::{Db, Labels, Matcher, Options, SyncMode};
use pulsedb_testkit::acked::AckedModel;
use pulsedb_testkit::crash_workload::{self, apply, batch_contents, is_refusal, series_labels, to_batch};
use pulsedb_testkit::Rng;

const THREADS: usize = 2;
const CHILD_ENV: &str = "PULSEDB_CRASH_CHILD_DIR";
const START_ENV: &str = "PULSEDB_CRASH_CHILD_START";

fn options() -> Options {
    crash_workload::options(SyncMode::Always)
}

/// The child: writes until killed, printing `ACK thread n` / `REJ thread n`.
#[test]
#[ignore = "entry point of the crash test's child process"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let start: u64 = std::env::var(START_ENV).unwrap().parse().unwrap();
    let db = Db::open(&dir, options()).unwrap();
    let out = std::sync::Mutex::new(std::io::stdout());
    // libtest has printed "test crash_child ... " without a newline.
    writeln!(out.lock().unwrap()).unwrap();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (db, out) = (&db, &out);
            scope.spawn(move || {
                for n in start.. {
                    let verdict = match db.append(&to_batch(thread, &batch_contents(thread, n))) {
                        Ok(()) => "ACK",
                        Err(e) if is_refusal(&e) => "REJ",
                        Err(e) => panic!("append failed: {e}"),
                    };
                    let mut out = out.lock().unwrap();
                    writeln!(out, "{verdict} {thread} {n}").unwrap();
                    out.flush().unwrap();
                    drop(out);
                    if thread == 0 && n % 97 == 0 {
                        db.flush().unwrap();
                    }
                    if thread == 1 && n % 151 == 0 {
                        db.compact().unwrap();
                    }
                    if thread == 1 && n % 41 == 0 {
                        db.checkpoint().unwrap();
                    }
                }
            });
        }
    });
}

/// Everything stored, a timestamp read twice failing.
fn read_db(dir: &Path) -> AckedModel {
    let db = Db::open(dir, options()).unwrap();
    let got = AckedModel::read(&db, &[Matcher::equal("__name__", crash_workload::METRIC)]);
    let newest = got.iter().filter_map(|(_, samples)| samples.keys().next_back().copied()).max();
    if let Some(newest) = newest {
        rollups_match_raw(&db, newest);
    }
    db.close().unwrap();
    got
}

/// 1 min rollup answers over the last 10 minutes (the head's minute
/// summaries of dense chunks, recovered from a checkpoint or rebuilt by
/// replay, and block rollups) are the raw samples' answers.
fn rollups_match_raw(db: &Db, newest: i64) {
    let mut raw_options = pulsedb::EngineOptions::default();
    raw_options.use_rollups = false;
    let raw = pulsedb::Engine::new(raw_options);
    let end = newest.div_euclid(60_000) * 60_000;
    for q in ["count_over_time(crash_test[1m])", "max_over_time(crash_test[1m])", "last_over_time(crash_test[1m])"] {
        let a = db.query_range(q, end - 600_000, end, 60_000).unwrap();
        let b = raw.range(db, q, end - 600_000, end, 60_000).unwrap();
        let bits = |v: pulsedb::Value| match v {
            pulsedb::Value::Matrix(m) => m
                .into_iter()
                .map(|s| (s.labels, s.points.iter().map(|p| (p.t, p.v.to_bits())).collect::<Vec<_>>()))
                .collect::<Vec<_>>(),
            other => panic!("{q}: {other:?}"),
        };
        assert_eq!(bits(a), bits(b), "{q}: rollups and raw samples differ");
    }
}

#[test]
fn acknowledged_samples_survive_kill_9() {
    let iterations: usize = std::env::var("PULSEDB_CRASH_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut model = AckedModel::new();
    let mut next_batch = 0u64;
    let mut rng = Rng::new(0xC0FFEE);
    let mut total_acked = 0usize;
    let started = Instant::now();
    for iteration in 0..iterations {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_kill9::crash_child", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env(START_ENV, next_batch.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + rng.below(900)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());

        // Every batch a writer finished, in order; what it did not report is in flight.
        let mut reported: Vec<BTreeMap<u64, bool>> = vec![BTreeMap::new(); THREADS];
        for line in stdout.lines().map_while(Result::ok) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let [verdict @ ("ACK" | "REJ"), thread, n] = parts.as_slice() {
                reported[thread.parse::<usize>().unwrap()].insert(n.parse().unwrap(), *verdict == "ACK");
            }
        }
        let mut in_flight = Vec::new();
        let mut last = next_batch;
        for (thread, batches) in reported.iter().enumerate() {
            let mut n = next_batch;
            while let Some(&acked) = batches.get(&n) {
                if acked {
                    apply(&mut model, thread, &batch_contents(thread, n));
                    total_acked += 1;
                }
                n += 1;
            }
            in_flight.push((thread, n));
            last = last.max(n);
        }

        let got = read_db(dir.path());
        // A batch in flight is all there or not at all: adopt whichever happened.
        for &(thread, n) in &in_flight {
            let contents = batch_contents(thread, n);
            let mut with = model.clone();
            apply(&mut with, thread, &contents);
            let touched: Vec<(Labels, i64)> = contents.iter().map(|(j, s)| (series_labels(thread, *j), s.t)).collect();
            let matches = |m: &AckedModel| {
                touched
                    .iter()
                    .all(|(labels, t)| got.get(labels).and_then(|s| s.get(t)) == m.get(labels).and_then(|s| s.get(t)))
            };
            if matches(&with) && !matches(&model) {
                model = with;
            } else {
                assert!(matches(&model), "iteration {iteration}: batch {n} of writer {thread} is partly applied");
            }
        }
        let diff = model.differences(&got, usize::MAX);
        assert!(
            diff.is_empty(),
            "iteration {iteration}: {} acknowledged samples lost or changed, or extra samples read; first: {:#?}",
            diff.len(),
            &diff[..diff.len().min(5)]
        );
        // Batch numbers are never reused: both writers restart past the
        // larger in-flight number (the slower one's gap was never written).
        next_batch = last + 1;
    }
    eprintln!(
        "crash test: {iterations} kill -9 iterations, {total_acked} acknowledged batches verified in {:?}",
        started.elapsed()
    );
    assert!(total_acked > iterations, "the child made too little progress to prove anything");
}
