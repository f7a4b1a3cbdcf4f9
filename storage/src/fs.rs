//! The platform layer: the data directory lock, file and directory fsync
//! (each a durability point the power-cut sim records), durable
//! atomic renames and read-only memory maps of sealed files. Everything
//! else in the crate goes through these few functions for the parts of
//! durability that plain `std::fs` calls do not give.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::IoContext;
use crate::{Error, Result};

/// Holds an exclusive advisory lock on `<dir>/LOCK` for its lifetime, so a
/// second open of the same directory (from any process) fails cleanly.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join("LOCK");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .context(|| format!("opening lock file {}", path.display()))?;
        // A lock released a moment ago can still look held: a child process
        // another thread forks gets a copy of every descriptor until its exec
        // closes them (close-on-exec), and flock belongs to the open file.
        // So WouldBlock is retried for half a second before it means "Locked".
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => return Err(Error::Locked { path: dir.to_path_buf() }),
                Err(fs::TryLockError::Error(e)) => return Err(Error::io(format!("locking {}", path.display()), e)),
            }
        }
    }
}

/// fsyncs a directory so that entries created, renamed or removed in it survive power loss.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    pulsedb_powercut::sync_dir(dir, || File::open(dir).and_then(|d| d.sync_all()))
        .context(|| format!("syncing directory {}", dir.display()))
}

/// fsyncs `file` (at `path`), bytes and metadata.
pub(crate) fn sync_file(file: &File, path: &Path) -> Result<()> {
    pulsedb_powercut::sync_file(file, || file.sync_all()).context(|| format!("syncing {}", path.display()))
}

/// Writes `bytes` to `path` and fsyncs it.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes).context(|| format!("writing {}", path.display()))?;
    sync_file(&file, path)
}

/// Renames `from` to `to` (same directory tree) and fsyncs the parent of `to`,
/// so the new name is durable before this returns.
pub(crate) fn rename_durable(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).context(|| format!("renaming {} to {}", from.display(), to.display()))?;
    sync_dir(to.parent().unwrap_or(Path::new(".")))
}

/// Removes a directory tree by first renaming it to a `.deleted-` name, so
/// that a crash midway never leaves a half-deleted directory under its real name.
pub(crate) fn remove_dir_durable(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Err(Error::io(format!("removing {}", dir.display()), std::io::ErrorKind::InvalidInput.into()));
    };
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let doomed = parent.join(format!(".deleted-{name}"));
    rename_durable(dir, &doomed)?;
    fs::remove_dir_all(&doomed).context(|| format!("removing {}", doomed.display()))?;
    sync_dir(parent)
}

/// Paths of `dir`'s entries whose names start with `prefix`.
pub(crate) fn entries_with_prefix(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).context(|| format!("listing {}", dir.display()))? {
        let entry = entry.context(|| format!("listing {}", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Maps a sealed file read-only.
pub(crate) fn map_sealed(path: &Path) -> Result<Mmap> {
    let file = File::open(path).context(|| format!("opening {}", path.display()))?;
    #[expect(unsafe_code, reason = "memory-mapping is the point: blocks are read without copying")]
    // SAFETY: the only files mapped are those of sealed blocks, which this
    // process wrote to a temporary directory, fsynced and renamed into place,
    // and never opens for writing again; deleting them (compaction, retention)
    // unlinks the name while the mapping keeps the inode alive. The mapping
    // could only change under us if another program truncated or rewrote the
    // file, which the directory lock and the format docs forbid.
    let map = unsafe { Mmap::map(&file) };
    map.context(|| format!("mapping {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn second_lock_fails_with_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let _first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err}");
    }

    #[test]
    fn mapped_file_survives_unlink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sealed");
        write_synced(&path, b"immutable bytes").unwrap();
        let map = map_sealed(&path).unwrap();
        fs::remove_file(&path).unwrap();
        assert_eq!(&map[..], b"immutable bytes");
    }

    #[test]
    fn durable_removal_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("block");
        fs::create_dir(&victim).unwrap();
        write_synced(&victim.join("f"), b"x").unwrap();
        remove_dir_durable(&victim).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
