//! Closed head chunks on disk, so the head's memory holds per series only
//! the open chunk and a small reference per closed one, whatever the sample
//! rate. One append-only file per block window under `chunks_head/`
//! (`<window index>.chunks`: the header `"PBHC" | version u8 | 3 zero
//! bytes`, then Gorilla chunk bytes, each followed by a crc32 of them, u32
//! little-endian, back to back; `storage/docs/format/chunks.md`), read back
//! with positioned reads; a mismatch is `Error::Corruption`. Not a durable format: the WAL is, so the
//! files are deleted on open and rebuilt by replay, and deleted once their
//! window is in a block. A chunk that cannot be written (a full disk, or a
//! store without a directory) stays in the window's memory map instead,
//! under the offset it would have had, so a chunk is always just an offset.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::IoContext;
use crate::Result;

/// Versions of the head chunk file layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum HeadChunksVersion {
    /// Header, then `chunk bytes | crc32` records.
    V1 = 1,
}

impl HeadChunksVersion {
    pub(crate) const CURRENT: Self = Self::V1;
}

impl TryFrom<u8> for HeadChunksVersion {
    type Error = u8;

    fn try_from(v: u8) -> std::result::Result<Self, u8> {
        match v {
            1 => Ok(Self::V1),
            other => Err(other),
        }
    }
}

pub(crate) const HEAD_CHUNKS_MAGIC: &[u8; 4] = b"PBHC";
/// Magic, version, 3 zero bytes; the first chunk starts after it.
pub(crate) const HEAD_CHUNKS_HEADER_LEN: u64 = 8;

fn header() -> [u8; HEAD_CHUNKS_HEADER_LEN as usize] {
    let [m0, m1, m2, m3] = *HEAD_CHUNKS_MAGIC;
    [m0, m1, m2, m3, HeadChunksVersion::CURRENT as u8, 0, 0, 0]
}

/// One window's chunks: a file (when the store has a directory) and the
/// chunks that could not be written to it.
#[derive(Debug)]
struct WindowFile {
    file: Option<File>,
    /// Offsets are handed out from here, on disk or not.
    len: AtomicU64,
    resident: Mutex<HashMap<u64, Box<[u8]>>>,
}

/// The store of closed head chunks; shared by all series.
#[derive(Debug)]
pub(crate) struct ChunkStore {
    /// `None` keeps every chunk in memory (tests, or no directory).
    dir: Option<PathBuf>,
    pub(crate) block_span: i64,
    files: Mutex<BTreeMap<i64, Arc<WindowFile>>>,
    warned: AtomicBool,
}

impl ChunkStore {
    /// Uses `dir`, removing whatever an earlier process left there.
    pub(crate) fn open(dir: &Path, block_span: i64) -> Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
        Ok(Self { dir: Some(dir.to_path_buf()), ..Self::in_memory(block_span) })
    }

    pub(crate) fn in_memory(block_span: i64) -> Self {
        Self { dir: None, block_span, files: Mutex::new(BTreeMap::new()), warned: AtomicBool::new(false) }
    }

    fn window(&self, window: i64) -> Arc<WindowFile> {
        let mut files = self.files.lock();
        if let Some(f) = files.get(&window) {
            return f.clone();
        }
        let file = self.dir.as_ref().and_then(|dir| {
            let path = dir.join(format!("{window}.chunks"));
            OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&path)
                .and_then(|file| file.write_all_at(&header(), 0).map(|()| file))
                .map_err(|e| self.warn(&e))
                .ok()
        });
        // Offsets start past the header in memory too, so an offset means
        // the same wherever its chunk lives.
        let len = AtomicU64::new(HEAD_CHUNKS_HEADER_LEN);
        let f = Arc::new(WindowFile { file, len, resident: Mutex::new(HashMap::new()) });
        files.insert(window, f.clone());
        f
    }

    fn warn(&self, e: &std::io::Error) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %e, "cannot write head chunks to disk; keeping them in memory");
        }
    }

    /// Stores a closed chunk of block window `window`; returns its offset.
    pub(crate) fn put(&self, window: i64, bytes: Vec<u8>) -> u64 {
        let f = self.window(window);
        let offset = f.len.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if let Some(file) = &f.file {
            match file.write_all_at(&bytes, offset) {
                Ok(()) => return offset,
                Err(e) => self.warn(&e),
            }
        }
        f.resident.lock().insert(offset, bytes.into_boxed_slice());
        offset
    }

    /// The `len` bytes of the chunk at `offset` in `window`, read into `buf`.
    pub(crate) fn bytes<'a>(&self, window: i64, offset: u64, len: usize, buf: &'a mut Vec<u8>) -> Result<&'a [u8]> {
        let f = self.files.lock().get(&window).cloned().ok_or_else(|| {
            crate::Error::corruption("chunks_head", offset, format!("no head chunks for window {window}"))
        })?;
        buf.clear();
        if let Some(bytes) = f.resident.lock().get(&offset) {
            buf.extend_from_slice(bytes);
            return Ok(buf);
        }
        let file = f.file.as_ref().ok_or_else(|| {
            crate::Error::corruption("chunks_head", offset, format!("head chunk missing in window {window}"))
        })?;
        buf.resize(len, 0);
        file.read_exact_at(buf, offset).context(|| format!("reading head chunk of window {window}"))?;
        Ok(buf)
    }

    /// The file of `window`, for error messages.
    pub(crate) fn path(&self, window: i64) -> PathBuf {
        match &self.dir {
            Some(dir) => dir.join(format!("{window}.chunks")),
            None => PathBuf::from(format!("head chunks of window {window} (in memory)")),
        }
    }

    /// Deletes the files of every window before `window` (their chunks are in blocks).
    pub(crate) fn drop_before(&self, window: i64) {
        let mut files = self.files.lock();
        let keep = files.split_off(&window);
        let dropped = std::mem::replace(&mut *files, keep);
        drop(files);
        if let Some(dir) = &self.dir {
            for w in dropped.keys() {
                let _ = std::fs::remove_file(dir.join(format!("{w}.chunks")));
            }
        }
    }

    fn resident_in(f: &WindowFile) -> u64 {
        f.resident.lock().values().map(|b| b.len() as u64).sum()
    }

    /// Bytes of closed chunks on disk.
    pub(crate) fn disk_bytes(&self) -> u64 {
        let files = self.files.lock();
        files.values().filter(|f| f.file.is_some()).map(|f| f.len.load(Ordering::Relaxed) - Self::resident_in(f)).sum()
    }

    /// Bytes of closed chunks held in memory.
    pub(crate) fn resident_bytes(&self) -> u64 {
        self.files.lock().values().map(|f| Self::resident_in(f)).sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn files_start_with_magic_and_version_and_chunks_follow() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(dir.path(), 7_200_000).unwrap();
        let offset = store.put(3, vec![7, 8, 9]);
        assert_eq!(offset, HEAD_CHUNKS_HEADER_LEN);
        let bytes = std::fs::read(store.path(3)).unwrap();
        assert_eq!(&bytes[..4], HEAD_CHUNKS_MAGIC);
        assert_eq!(HeadChunksVersion::try_from(bytes[4]), Ok(HeadChunksVersion::CURRENT));
        assert_eq!(&bytes[8..], &[7, 8, 9]);
        let mut buf = Vec::new();
        assert_eq!(store.bytes(3, offset, 3, &mut buf).unwrap(), &[7, 8, 9]);
        assert_eq!(HeadChunksVersion::try_from(9), Err(9));
    }
}
