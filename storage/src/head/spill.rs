//! Closed head chunks on disk, so the head's memory holds per series only
//! the open chunk and a small reference per closed one, whatever the sample
//! rate. One append-only file per block window under `chunks_head/`
//! (`<window index>.chunks`: Gorilla chunk bytes, each followed by a crc32
//! of them, u32 little-endian, back to back), read back with positioned
//! reads; a mismatch is `Error::Corruption`. Not a durable format: the WAL is, so the
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
                .map_err(|e| self.warn(&e))
                .ok()
        });
        let f = Arc::new(WindowFile { file, len: AtomicU64::new(0), resident: Mutex::new(HashMap::new()) });
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
