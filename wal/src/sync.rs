//! Durability policy ([`SyncMode`]) and the background thread that fsyncs
//! periodically in [`SyncMode::Interval`]. The group-commit fsync itself lives
//! in `writer.rs`; this thread is one more caller of it.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::{IoContext, Result};
use crate::writer::Writer;

/// When written frames are fsynced, and so what survives a crash.
///
/// Every mode survives a *process* crash for everything [`Wal::write`]
/// returned for: `write` hands the bytes to the OS before returning, and the
/// page cache outlives the process. The modes differ in what survives a
/// *power loss or OS crash*, where only fsynced bytes are safe.
///
/// [`Wal::write`]: crate::Wal::write
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SyncMode {
    /// [`Wal::append`](crate::Wal::append) and [`Wal::sync_to`](crate::Wal::sync_to)
    /// return only after the frame is fdatasynced.
    ///
    /// - Process crash: every frame written survives.
    /// - Power loss: every frame whose `append`/`sync_to` returned `Ok`
    ///   survives; frames only `write`n may be lost.
    ///
    /// Concurrent callers share fsyncs (group commit): one caller fsyncs for
    /// everyone waiting, so throughput grows with the number of writers.
    #[default]
    Always,
    /// A background thread fdatasyncs every `d` if anything is unsynced;
    /// `sync_to` returns at once.
    ///
    /// - Process crash: every frame written survives.
    /// - Power loss: frames written in the last `d` (plus the time one fsync
    ///   takes) may be lost; older ones survive.
    ///
    /// `d` must be non-zero.
    Interval(Duration),
    /// No fsync except when a segment is closed (rotation, [`Wal::close`](crate::Wal::close))
    /// or [`Wal::sync`](crate::Wal::sync) is called. Meant for bulk import.
    ///
    /// - Process crash: every frame written survives.
    /// - Power loss or OS crash: everything since the last rotation, `sync`
    ///   or `close` may be lost, and replay keeps only the frames before the
    ///   first one the disk did not get. Unsafe unless the import can be redone.
    Never,
}

/// The [`SyncMode::Interval`] thread. Stopped (and joined) on drop.
#[derive(Debug)]
pub(crate) struct IntervalSyncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl IntervalSyncer {
    pub(crate) fn spawn(writer: Arc<Writer>, every: Duration) -> Result<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = thread::Builder::new()
            .name("pulsedb-wal-sync".into())
            .spawn({
                let stop = Arc::clone(&stop);
                move || run(&writer, every, &stop)
            })
            .context(|| "spawning the WAL interval-sync thread".into())?;
        Ok(Self { stop, thread: Some(thread) })
    }

    /// Stops the thread and waits for it; a sync in progress finishes first.
    pub(crate) fn stop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock() = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("WAL interval-sync thread panicked");
            }
        }
    }
}

impl Drop for IntervalSyncer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(writer: &Writer, every: Duration, stop: &(Mutex<bool>, Condvar)) {
    let (stopped, wake) = stop;
    let mut stopped = stopped.lock();
    loop {
        // `None`: an interval too long to represent is never due.
        let deadline = Instant::now().checked_add(every);
        while !*stopped {
            match deadline {
                Some(deadline) => {
                    if wake.wait_until(&mut stopped, deadline).timed_out() {
                        break;
                    }
                }
                None => wake.wait(&mut stopped),
            }
        }
        if *stopped {
            return;
        }
        let synced = MutexGuard::unlocked(&mut stopped, || writer.sync_all());
        // A failed fsync has poisoned the WAL and logged why; writers get
        // `Error::Poisoned` from now on, and fsyncs are never retried.
        if synced.is_err() && writer.is_poisoned() {
            return;
        }
    }
}
