//! The frozen result of a power cut and how it is written out as a
//! directory.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::state::{Durable, Listing, Node};

/// A small deterministic generator (splitmix64) for torn-tail lengths.
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max`.
    fn up_to(&mut self, max: u64) -> u64 {
        self.next() % (max.saturating_add(1)).max(1)
    }
}

/// What a machine would find on disk after the cut.
#[derive(Debug)]
pub(crate) struct Image {
    root: u64,
    files: HashMap<u64, Vec<u8>>,
    dirs: HashMap<u64, Listing>,
    checkpoints: HashMap<u64, PathBuf>,
    /// Unsynced bytes that reached the disk anyway, over all files.
    pub(crate) torn_bytes: u64,
}

impl Image {
    /// Freezes `durable`; with `tails`, each file keeps a random prefix of
    /// its unsynced bytes half of the time.
    pub(crate) fn capture(durable: &Durable, root: u64, mut tails: Option<&mut Rng>) -> Self {
        let mut torn_bytes = 0;
        let mut files = HashMap::with_capacity(durable.files.len());
        for (&ino, state) in &durable.files {
            let mut bytes = state.durable.clone();
            if let Some(rng) = tails.as_deref_mut() {
                let live = state.handle.metadata().map(|m| m.len()).unwrap_or(0);
                let synced = bytes.len() as u64;
                if live > synced && rng.up_to(1) == 1 {
                    let keep = rng.up_to(live - synced);
                    let mut tail = vec![0; usize::try_from(keep).unwrap_or(0)];
                    if state.handle.read_exact_at(&mut tail, synced).is_ok() {
                        torn_bytes += keep;
                        bytes.extend_from_slice(&tail);
                    }
                }
            }
            files.insert(ino, bytes);
        }
        Self { root, files, dirs: durable.dirs.clone(), checkpoints: durable.checkpoints.clone(), torn_bytes }
    }

    /// Writes the image as a new directory `dest`.
    pub(crate) fn write(&self, dest: &Path) -> io::Result<()> {
        self.write_dir(self.root, dest)
    }

    fn write_dir(&self, ino: u64, dest: &Path) -> io::Result<()> {
        fs::create_dir(dest)?;
        if let Some(checkpoint) = self.checkpoints.get(&ino) {
            return copy_tree(checkpoint, dest);
        }
        // A directory never synced since it was created has no durable entries.
        for (name, entry) in self.dirs.get(&ino).into_iter().flatten() {
            match *entry {
                Node::Dir(child) => self.write_dir(child, &dest.join(name))?,
                Node::File(file) => {
                    fs::write(dest.join(name), self.files.get(&file).map(Vec::as_slice).unwrap_or_default())?
                }
            }
        }
        Ok(())
    }
}

/// Copies the files under `from` into the existing directory `to`.
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            fs::create_dir(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
