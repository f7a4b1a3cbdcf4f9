//! Kill -9 during a head checkpoint and during the shutdown snapshot (the
//! checkpoint `close` takes): a child process appends acknowledged batches,
//! then dies at a chosen point of the checkpoint (halfway through writing
//! its temporary file, once that file is durable but not yet renamed, and
//! right after the rename) through a fault that aborts the process. This
//! process reopens the directory after each death and checks that every
//! acknowledged sample is there with its exact value and nothing else is;
//! the next child continues on the same directory.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use pulsedb::{Db, Matcher, SyncMode};
use pulsedb_storage::{Fault, Storage};
use pulsedb_testkit::acked::AckedModel;
use pulsedb_testkit::crash_workload::{self, apply, batch_contents, is_refusal, to_batch};

const DIR_ENV: &str = "PULSEDB_CKPT_CHILD_DIR";
const START_ENV: &str = "PULSEDB_CKPT_CHILD_START";
const FAULT_ENV: &str = "PULSEDB_CKPT_CHILD_FAULT";
const MODE_ENV: &str = "PULSEDB_CKPT_CHILD_MODE";
/// Batches each child appends before it checkpoints.
const BATCHES: u64 = 60;

const FAULTS: [(&str, Fault); 3] = [
    ("writing", Fault::CrashWritingCheckpoint),
    ("before-rename", Fault::CrashBeforeCheckpointRename),
    ("after-rename", Fault::CrashAfterCheckpointRename),
];

/// The child: appends, prints `ACK n` / `REJ n`, then checkpoints (or
/// closes) with the fault armed, which aborts the process.
#[test]
#[ignore = "entry point of the checkpoint crash test's child process"]
fn checkpoint_crash_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let start: u64 = std::env::var(START_ENV).unwrap().parse().unwrap();
    let fault = std::env::var(FAULT_ENV).unwrap();
    let fault = FAULTS.iter().find(|(name, _)| *name == fault).unwrap().1;
    let storage = Storage::open(&dir, crash_workload::options(SyncMode::Always)).unwrap();
    let mut out = std::io::stdout();
    writeln!(out).unwrap();
    for n in start..start + BATCHES {
        let verdict = match storage.append(&to_batch(0, &batch_contents(0, n))) {
            Ok(()) => "ACK",
            Err(e) if is_refusal(&e) => "REJ",
            Err(e) => panic!("append failed: {e}"),
        };
        writeln!(out, "{verdict} {n}").unwrap();
        out.flush().unwrap();
    }
    storage.inject_fault(fault);
    if std::env::var(MODE_ENV).unwrap() == "close" {
        storage.close().unwrap();
    } else {
        storage.checkpoint().unwrap();
    }
    writeln!(out, "SURVIVED").unwrap();
}

fn read_db(dir: &Path) -> AckedModel {
    let db = Db::open(dir, crash_workload::options(SyncMode::Always)).unwrap();
    let got = AckedModel::read(&db, &[Matcher::equal("__name__", crash_workload::METRIC)]);
    db.close().unwrap();
    got
}

#[test]
fn acknowledged_samples_survive_kill_during_checkpoint_and_shutdown_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut model = AckedModel::new();
    let mut start = 0u64;
    for mode in ["checkpoint", "close"] {
        for (fault, _) in FAULTS {
            let output = Command::new(&exe)
                .args(["--exact", "crash_checkpoint::checkpoint_crash_child", "--ignored", "--nocapture"])
                .env(DIR_ENV, dir.path())
                .env(START_ENV, start.to_string())
                .env(FAULT_ENV, fault)
                .env(MODE_ENV, mode)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .output()
                .unwrap();
            let mut acked = 0;
            let mut survived = false;
            for line in BufReader::new(&output.stdout[..]).lines().map_while(Result::ok) {
                match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                    ["ACK", n] => {
                        apply(&mut model, 0, &batch_contents(0, n.parse().unwrap()));
                        acked += 1;
                    }
                    ["SURVIVED"] => survived = true,
                    _ => {}
                }
            }
            assert!(!survived && !output.status.success(), "{mode}/{fault}: the child was to die in the checkpoint");
            assert!(acked > BATCHES / 2, "{mode}/{fault}: only {acked} batches acknowledged");
            let got = read_db(dir.path());
            let diff = model.differences(&got, usize::MAX);
            assert!(
                diff.is_empty(),
                "{mode}/{fault}: {} acknowledged samples lost or changed, or extra samples read; first: {:#?}",
                diff.len(),
                &diff[..diff.len().min(5)]
            );
            start += BATCHES;
        }
    }
}
