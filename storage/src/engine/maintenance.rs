//! The background thread: flushes windows once the out-of-order window has
//! passed, then compacts and applies retention (`background_maintenance`),
//! and takes a head checkpoint when one is due (`background_checkpoints`). It never holds the append
//! lock for longer than a few map updates, so writers are not blocked.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::flush::Ready;
use super::Inner;

const TICK: Duration = Duration::from_secs(1);

/// Handle to the background thread; stopping joins it.
#[derive(Debug)]
pub(super) struct Maintenance {
    signal: Arc<Signal>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Signal {
    stop: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Maintenance {
    pub(super) fn start(inner: Arc<Inner>) -> Self {
        let signal = Arc::new(Signal::default());
        let thread_signal = signal.clone();
        let thread = std::thread::Builder::new()
            .name("pulsedb-maintenance".into())
            .spawn(move || run(&inner, &thread_signal))
            .ok();
        if thread.is_none() {
            tracing::error!("could not start the maintenance thread; flush and compact must be called explicitly");
        }
        Self { signal, thread }
    }

    pub(super) fn stop(mut self) {
        self.signal.stop.store(true, Ordering::Release);
        {
            let _guard = self.signal.lock.lock();
            self.signal.wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(inner: &Inner, signal: &Signal) {
    while !signal.stop.load(Ordering::Acquire) {
        if let Err(e) = step(inner) {
            // Retried on the next tick; a full disk may be freed meanwhile.
            tracing::error!(error = %e, "background maintenance failed");
        }
        let mut guard = signal.lock.lock();
        if !signal.stop.load(Ordering::Acquire) {
            signal.wake.wait_for(&mut guard, TICK);
        }
    }
}

fn step(inner: &Inner) -> crate::Result<()> {
    if inner.options.background_maintenance {
        if inner.next_flushable_window(Ready::PastOutOfOrder).is_some() {
            inner.flush(Ready::PastOutOfOrder)?;
        }
        while inner.compact_once()? {}
        inner.apply_retention()?;
    }
    if inner.options.background_checkpoints && inner.checkpoint_due() && inner.checkpoint()?.is_some() {
        inner.truncate_wal()?;
    }
    Ok(())
}
