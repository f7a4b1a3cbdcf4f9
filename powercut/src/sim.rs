//! [`PowerCut`], the handle a test holds, and the sim behind it that the
//! durability hooks record into.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::image::{Image, Rng};
use crate::registry::{self, descriptor_path};
use crate::state::Durable;

/// How a [`PowerCut`] behaves.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct CutOptions {
    /// Seeds the choice of torn tails.
    pub seed: u64,
    /// Whether unsynced bytes may partly survive (a random prefix of them,
    /// per file, half of the time); otherwise every unsynced byte is lost.
    pub torn_tails: bool,
}

impl Default for CutOptions {
    fn default() -> Self {
        Self { seed: 0x5EED, torn_tails: true }
    }
}

type OnCut = Box<dyn FnMut() + Send>;

struct Inner {
    durable: Durable,
    root_ino: u64,
    events: u64,
    cut_at: Option<u64>,
    image: Option<Image>,
    cause: Option<String>,
    rng: Rng,
    torn_tails: bool,
    on_cut: Option<OnCut>,
    errors: Vec<String>,
    checkpoints_taken: u64,
}

pub(crate) struct Sim {
    root: PathBuf,
    shadow: PathBuf,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("root", &self.root).finish_non_exhaustive()
    }
}

impl Sim {
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }

    // The lock is held across the real sync so that no cut can fall
    // between the sync and its record, and two syncs of one file cannot
    // record out of order.

    pub(crate) fn sync_file(&self, file: &File, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let mut inner = self.lock();
        if inner.image.is_some() {
            return sync();
        }
        let pending = inner.durable.read_before_sync(file);
        sync()?;
        let what = fs::read_link(descriptor_path(file)).map(|p| self.relative(&p)).unwrap_or_default();
        match pending {
            Ok(pending) => inner.durable.commit(pending),
            Err(e) => inner.errors.push(format!("recording the fsync of {what}: {e}")),
        }
        self.event(&mut inner, || format!("fsync of {what}"));
        Ok(())
    }

    pub(crate) fn sync_dir(&self, dir: &Path, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let mut inner = self.lock();
        if inner.image.is_some() {
            return sync();
        }
        let listing = inner.durable.list(dir);
        sync()?;
        match listing {
            Ok((ino, listing)) => {
                inner.durable.dirs.insert(ino, listing);
            }
            Err(e) => inner.errors.push(format!("listing {}: {e}", dir.display())),
        }
        self.event(&mut inner, || format!("fsync of directory {}", self.relative(dir)));
        Ok(())
    }

    pub(crate) fn index_synced<E>(&self, dir: &Path, checkpoint: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), E> {
        let mut inner = self.lock();
        if inner.image.is_some() {
            return Ok(());
        }
        inner.checkpoints_taken += 1;
        let dest = self.shadow.join(format!("index-{}", inner.checkpoints_taken));
        checkpoint(&dest)?;
        match fs::metadata(dir) {
            Ok(meta) => {
                if let Some(old) = inner.durable.checkpoints.insert(meta.ino(), dest) {
                    let _ = fs::remove_dir_all(old);
                }
            }
            Err(e) => inner.errors.push(format!("index directory {}: {e}", dir.display())),
        }
        self.event(&mut inner, || format!("sync of the index {}", self.relative(dir)));
        Ok(())
    }

    fn event(&self, inner: &mut Inner, cause: impl FnOnce() -> String) {
        inner.events += 1;
        if inner.cut_at.is_some_and(|at| inner.events >= at) {
            Self::cut(inner, cause());
        }
    }

    fn cut(inner: &mut Inner, cause: String) {
        if inner.image.is_some() {
            return;
        }
        // Tails are read before the test's witness runs, so any byte in
        // them was written before whatever the witness counts.
        let tails = inner.torn_tails.then_some(&mut inner.rng);
        let image = Image::capture(&inner.durable, inner.root_ino, tails);
        if let Some(on_cut) = inner.on_cut.as_mut() {
            on_cut();
        }
        inner.image = Some(image);
        inner.cause = Some(cause);
    }
}

/// A power cut armed on one directory tree; see the crate docs. Dropping
/// it uninstalls it.
#[derive(Debug)]
pub struct PowerCut {
    sim: Arc<Sim>,
}

impl PowerCut {
    /// Installs a sim on `root` (created if missing). What is there now
    /// counts as durable. Directories named `<root>.powercut` next to it
    /// hold index checkpoints while the sim lives.
    pub fn install(root: &Path, options: CutOptions) -> io::Result<Self> {
        fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let shadow = root.with_file_name(format!("{name}.powercut"));
        if shadow.exists() {
            fs::remove_dir_all(&shadow)?;
        }
        fs::create_dir(&shadow)?;
        let mut durable = Durable::default();
        let root_ino = durable.adopt_tree(&root)?;
        let inner = Inner {
            durable,
            root_ino,
            events: 0,
            cut_at: None,
            image: None,
            cause: None,
            rng: Rng::new(options.seed),
            torn_tails: options.torn_tails,
            on_cut: None,
            errors: Vec::new(),
            checkpoints_taken: 0,
        };
        let sim = Arc::new(Sim { root, shadow, inner: Mutex::new(inner) });
        registry::install(Arc::clone(&sim));
        Ok(Self { sim })
    }

    /// Cuts the power right after the `n`-th durability point from now
    /// (`n` ≥ 1), inside the thread that reaches it.
    pub fn cut_after(&self, n: u64) {
        let mut inner = self.sim.lock();
        inner.cut_at = Some(inner.events + n.max(1));
    }

    /// Runs `f` at the moment of the cut, under the sim's lock: a test
    /// reads there what had been acknowledged (it must not sync anything).
    pub fn on_cut(&self, f: impl FnMut() + Send + 'static) {
        self.sim.lock().on_cut = Some(Box::new(f));
    }

    /// Cuts the power now, unless it already was.
    pub fn cut_now(&self) {
        Sim::cut(&mut self.sim.lock(), "on demand".to_string());
    }

    pub fn has_cut(&self) -> bool {
        self.sim.lock().image.is_some()
    }

    /// Durability points recorded so far.
    pub fn events(&self) -> u64 {
        self.sim.lock().events
    }

    /// The durability point the cut came right after (`fsync of
    /// wal/00000003`, `fsync of directory blocks`, …).
    pub fn cause(&self) -> Option<String> {
        self.sim.lock().cause.clone()
    }

    /// Unsynced bytes the image kept as torn tails.
    pub fn torn_bytes(&self) -> u64 {
        self.sim.lock().image.as_ref().map_or(0, |image| image.torn_bytes)
    }

    /// Problems the sim met while recording (a synced file rewritten in
    /// place, an unreadable file): a test should require none.
    pub fn errors(&self) -> Vec<String> {
        self.sim.lock().errors.clone()
    }

    /// Writes what the machine would find after the cut as the new
    /// directory `dest`. Fails if there was no cut yet.
    pub fn materialize(&self, dest: &Path) -> io::Result<()> {
        let inner = self.sim.lock();
        let image = inner.image.as_ref().ok_or_else(|| io::Error::other("no power cut happened yet"))?;
        image.write(dest)
    }
}

impl Drop for PowerCut {
    fn drop(&mut self) {
        registry::uninstall(&self.sim);
        let _ = fs::remove_dir_all(&self.sim.shadow);
    }
}
