//! `pulsedb inspect DIR | head -1` and friends: a reader that closes the
//! pipe early must end the command quietly (no panic, no error message),
//! as any Unix filter does.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use pulsedb::{Batch, Db, Labels, Options};

#[test]
fn offline_commands_exit_quietly_when_the_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut batch = Batch::new();
    // Enough output that the command is still writing when the pipe closes.
    for s in 0..2_000 {
        let labels = Labels::metric("pipe_test", [("series", s.to_string())]);
        batch.add(labels, (0..50).map(|i| pulsedb::Sample::new(1_700_000_000_000 + i * 1000, i as f64)));
    }
    db.append(&batch).unwrap();
    db.close().unwrap();
    let d = dir.path().to_str().unwrap();

    for args in [vec!["export", "--data-dir", d], vec!["inspect", d]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pulsedb"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        // The reader is dropped here: the pipe is closed after one line.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty(), "{args:?} printed nothing");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert!(
            out.status.success() || out.status.signal() == Some(libc_sigpipe()),
            "{args:?} ended with {:?}: {stderr}",
            out.status
        );
    }
}

/// SIGPIPE's number on Linux.
fn libc_sigpipe() -> i32 {
    13
}
