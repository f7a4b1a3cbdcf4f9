//! The process-wide list of installed sims, looked up by path. Empty in
//! normal runs, where a lookup is one atomic load.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::sim::Sim;

static INSTALLED: AtomicUsize = AtomicUsize::new(0);
static SIMS: Mutex<Vec<Arc<Sim>>> = Mutex::new(Vec::new());

fn sims() -> MutexGuard<'static, Vec<Arc<Sim>>> {
    // A test that panicked while holding the list leaves it usable.
    SIMS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn install(sim: Arc<Sim>) {
    sims().push(sim);
    INSTALLED.fetch_add(1, Ordering::SeqCst);
}

pub(crate) fn uninstall(sim: &Arc<Sim>) {
    let mut sims = sims();
    let before = sims.len();
    sims.retain(|s| !Arc::ptr_eq(s, sim));
    if sims.len() < before {
        INSTALLED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The sim whose root holds `path`, if any.
pub(crate) fn sim_for_path(path: &Path) -> Option<Arc<Sim>> {
    if INSTALLED.load(Ordering::Acquire) == 0 {
        return None;
    }
    // Roots are canonical; so must the path be (a relative data directory,
    // a symlinked temp directory).
    let path = path.canonicalize().ok()?;
    sims().iter().find(|sim| path.starts_with(sim.root())).cloned()
}

/// The sim whose root holds the open `file`, found by the path the kernel
/// has for its descriptor.
pub(crate) fn sim_for_file(file: &File) -> Option<Arc<Sim>> {
    if INSTALLED.load(Ordering::Acquire) == 0 {
        return None;
    }
    let path: PathBuf = std::fs::read_link(descriptor_path(file)).ok()?;
    sims().iter().find(|sim| path.starts_with(sim.root())).cloned()
}

/// `/proc/self/fd/N`: opening it opens the same inode again, whatever
/// mode `file` was opened with.
pub(crate) fn descriptor_path(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}
