//! The durable state under a sim's root, by inode: each file's bytes at its
//! last sync, each directory's entries at its last sync, and the index
//! checkpoints. Every inode seen is kept open, so its number cannot be
//! reused by a new file while the sim runs.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::registry::descriptor_path;

/// Files up to this size are read in full at each sync and checked to have
/// only grown; larger ones are read from where the last sync ended.
const FULL_READ_LIMIT: u64 = 4 << 20;

/// A directory entry, by inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    File(u64),
    Dir(u64),
}

pub(crate) type Listing = BTreeMap<OsString, Node>;

#[derive(Debug)]
pub(crate) struct FileState {
    /// A read-only handle on the inode.
    pub(crate) handle: File,
    /// The bytes as of the last sync (empty if never synced).
    pub(crate) durable: Vec<u8>,
}

/// Bytes read before a sync, applied once it returned.
#[derive(Debug)]
pub(crate) struct PendingFile {
    ino: u64,
    bytes: Vec<u8>,
    /// `bytes` continue the durable bytes rather than replace them.
    append: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Durable {
    pub(crate) files: HashMap<u64, FileState>,
    pub(crate) dirs: HashMap<u64, Listing>,
    dir_handles: HashMap<u64, File>,
    /// Index directory inode → its latest checkpoint.
    pub(crate) checkpoints: HashMap<u64, PathBuf>,
}

fn read_range(file: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0; usize::try_from(len).map_err(io::Error::other)?];
    file.read_exact_at(&mut bytes, offset)?;
    Ok(bytes)
}

impl Durable {
    /// Records everything under `dir` as durable (what a clean shutdown
    /// left before the sim was installed); returns `dir`'s inode.
    pub(crate) fn adopt_tree(&mut self, dir: &Path) -> io::Result<u64> {
        let (ino, listing) = self.list(dir)?;
        for (name, entry) in &listing {
            match *entry {
                Node::Dir(_) => {
                    self.adopt_tree(&dir.join(name))?;
                }
                Node::File(file) => {
                    if let Some(state) = self.files.get_mut(&file) {
                        let len = state.handle.metadata()?.len();
                        state.durable = read_range(&state.handle, 0, len)?;
                    }
                }
            }
        }
        self.dirs.insert(ino, listing);
        Ok(ino)
    }

    /// `dir`'s inode and its entries now, pinning every inode they name.
    /// An entry that vanishes while being listed is left out.
    pub(crate) fn list(&mut self, dir: &Path) -> io::Result<(u64, Listing)> {
        let ino = fs::metadata(dir)?.ino();
        if let Entry::Vacant(slot) = self.dir_handles.entry(ino) {
            slot.insert(File::open(dir)?);
        }
        let mut listing = Listing::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() {
                let Ok(handle) = File::open(&path) else { continue };
                self.dir_handles.entry(meta.ino()).or_insert(handle);
                listing.insert(entry.file_name(), Node::Dir(meta.ino()));
            } else if meta.is_file() {
                if let Entry::Vacant(slot) = self.files.entry(meta.ino()) {
                    let Ok(handle) = File::open(&path) else { continue };
                    if handle.metadata()?.ino() != meta.ino() {
                        continue; // replaced between the stat and the open
                    }
                    slot.insert(FileState { handle, durable: Vec::new() });
                }
                listing.insert(entry.file_name(), Node::File(meta.ino()));
            }
        }
        Ok((ino, listing))
    }

    /// Reads what `file` holds now, to be made durable by the sync about
    /// to run. A file that shrank is read in full; one whose synced bytes
    /// changed in place is reported as an error (the model's assumption).
    pub(crate) fn read_before_sync(&mut self, file: &File) -> io::Result<PendingFile> {
        let meta = file.metadata()?;
        let ino = meta.ino();
        if let Entry::Vacant(slot) = self.files.entry(ino) {
            slot.insert(FileState { handle: File::open(descriptor_path(file))?, durable: Vec::new() });
        }
        let state = &self.files[&ino];
        let len = meta.len();
        let synced = state.durable.len() as u64;
        if len >= synced && len > FULL_READ_LIMIT {
            let bytes = read_range(&state.handle, synced, len - synced)?;
            return Ok(PendingFile { ino, bytes, append: true });
        }
        let bytes = read_range(&state.handle, 0, len)?;
        if len >= synced && bytes[..state.durable.len()] != state.durable[..] {
            return Err(io::Error::other(format!(
                "inode {ino}: bytes already synced were rewritten in place (the power-cut model assumes append-only files)"
            )));
        }
        Ok(PendingFile { ino, bytes, append: false })
    }

    pub(crate) fn commit(&mut self, pending: PendingFile) {
        if let Some(state) = self.files.get_mut(&pending.ino) {
            if pending.append {
                state.durable.extend_from_slice(&pending.bytes);
            } else {
                state.durable = pending.bytes;
            }
        }
    }
}
