//! Closed head chunks on disk, so the head's memory holds per series only
//! the open chunk and a small reference per closed one, whatever the sample
//! rate. One append-only file per block window under `chunks_head/`
//! (`<window index>.chunks`: the header `"PBHC" | version u8 | 3 zero
//! bytes`, then self-describing records `series ref | mint | maxt | count |
//! len | Gorilla chunk bytes | minute summaries | crc32`, back to back, the
//! summaries only in dense chunks (`minutes.rs`);
//! `storage/docs/format/chunks.md`), read back with positioned reads; a
//! mismatch is `Error::Corruption`.
//!
//! Durable up to what a head checkpoint (`engine/checkpoint.rs`) recorded:
//! a checkpoint fsyncs the files and notes their lengths, and opening
//! truncates each file to its noted length and scans it to give every
//! series back its closed chunks. Without a checkpoint the files are
//! deleted on open and rebuilt by WAL replay. A window's file is deleted
//! once the window is in a block. A chunk that cannot be written (a full
//! disk, or a store without a directory) stays in the window's memory map
//! instead, under the offset it would have had, so a chunk is always just
//! an offset; no checkpoint is taken while any chunk is kept that way.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::minutes::{self, minutes_carried};
use crate::error::IoContext;
use crate::{Error, Result, SeriesRef};

/// Versions of the head chunk file layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum HeadChunksVersion {
    /// Header, then `series ref | mint | maxt | count | len | chunk bytes |
    /// crc32` records. (Version 1, bare `chunk bytes | crc32`, was never
    /// read back across a restart, so nothing opens it.)
    V2 = 2,
    /// As version 2, with minute summaries between the chunk bytes and the
    /// crc32 in records of dense chunks ([`minutes_carried`]).
    V3 = 3,
}

impl HeadChunksVersion {
    pub(crate) const CURRENT: Self = Self::V3;
}

impl TryFrom<u8> for HeadChunksVersion {
    type Error = u8;

    fn try_from(v: u8) -> std::result::Result<Self, u8> {
        match v {
            2 => Ok(Self::V2),
            3 => Ok(Self::V3),
            other => Err(other),
        }
    }
}

pub(crate) const HEAD_CHUNKS_MAGIC: &[u8; 4] = b"PBHC";
/// Magic, version, 3 zero bytes; the first record starts after it.
pub(crate) const HEAD_CHUNKS_HEADER_LEN: u64 = 8;
/// `series ref u64 | mint i64 | maxt i64 | count u16 | len u16`, little-endian.
pub(crate) const RECORD_HEADER_LEN: usize = 28;
/// The crc32 ending each record, over the header, chunk bytes and minute summaries.
pub(crate) const RECORD_CRC_LEN: usize = 4;

/// A new [`WindowFile::id`].
fn next_file_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn header() -> [u8; HEAD_CHUNKS_HEADER_LEN as usize] {
    let [m0, m1, m2, m3] = *HEAD_CHUNKS_MAGIC;
    [m0, m1, m2, m3, HeadChunksVersion::CURRENT as u8, 0, 0, 0]
}

/// What a record says of its chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChunkMeta {
    pub(crate) sref: SeriesRef,
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
    pub(crate) count: u16,
    pub(crate) len: u16,
}

impl ChunkMeta {
    /// Whether a record of `version` for this chunk carries minute summaries.
    pub(crate) fn carries_minutes(&self, version: HeadChunksVersion) -> bool {
        version != HeadChunksVersion::V2 && minutes_carried(self.mint, self.maxt, self.count) > 0
    }

    /// Bytes of the minute summaries in the record, `with_minutes` or not.
    fn minutes_len(&self, with_minutes: bool) -> usize {
        if with_minutes {
            minutes_carried(self.mint, self.maxt, self.count) * minutes::ENTRY_LEN
        } else {
            0
        }
    }

    /// Bytes of the whole record, `with_minutes` summaries or not.
    pub(crate) fn record_len(&self, with_minutes: bool) -> usize {
        RECORD_HEADER_LEN + usize::from(self.len) + self.minutes_len(with_minutes) + RECORD_CRC_LEN
    }
}

/// The record for a chunk of `bytes` (`meta.len` must be their length) and
/// its minute summaries (empty, or as many as [`minutes_carried`] says).
fn encode_record(meta: &ChunkMeta, bytes: &[u8], minutes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(meta.record_len(!minutes.is_empty()));
    out.extend_from_slice(&meta.sref.0.to_le_bytes());
    out.extend_from_slice(&meta.mint.to_le_bytes());
    out.extend_from_slice(&meta.maxt.to_le_bytes());
    out.extend_from_slice(&meta.count.to_le_bytes());
    out.extend_from_slice(&meta.len.to_le_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(minutes);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// What a record holds: its meta, chunk bytes and minute summaries (empty
/// where it carries none).
#[derive(Debug, PartialEq)]
pub(crate) struct Record<'a> {
    pub(crate) meta: ChunkMeta,
    pub(crate) chunk: &'a [u8],
    pub(crate) minutes: &'a [u8],
}

/// The record at the start of `buf`, carrying minute summaries or not as
/// its file's version and its bounds say, checked against its crc32; `Err`
/// says what is wrong.
pub(crate) fn decode_record(buf: &[u8], with_minutes: bool) -> std::result::Result<Record<'_>, &'static str> {
    let meta = read_meta(buf)?;
    let chunk_end = RECORD_HEADER_LEN + usize::from(meta.len);
    let body_end = chunk_end + meta.minutes_len(with_minutes);
    let crc = buf.get(body_end..body_end + RECORD_CRC_LEN).ok_or("head chunk record is cut short")?;
    let body = buf.get(..body_end).ok_or("head chunk record is cut short")?;
    if crc != crc32fast::hash(body).to_le_bytes() {
        return Err("head chunk checksum mismatch");
    }
    if meta.count == 0 || meta.maxt < meta.mint {
        return Err("head chunk record with impossible bounds");
    }
    Ok(Record {
        meta,
        chunk: body.get(RECORD_HEADER_LEN..chunk_end).unwrap_or_default(),
        minutes: body.get(chunk_end..).unwrap_or_default(),
    })
}

/// The meta in the header of the record at the start of `buf`, unchecked.
fn read_meta(buf: &[u8]) -> std::result::Result<ChunkMeta, &'static str> {
    let head: &[u8; RECORD_HEADER_LEN] =
        buf.get(..RECORD_HEADER_LEN).and_then(|h| h.try_into().ok()).ok_or("head chunk record is cut short")?;
    let u64_at = |i: usize| u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7].map(|k| head[i + k]));
    let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
    Ok(ChunkMeta {
        sref: SeriesRef(u64_at(0)),
        mint: u64_at(8) as i64,
        maxt: u64_at(16) as i64,
        count: u16_at(24),
        len: u16_at(26),
    })
}

/// One window's chunks: a file (when the store has a directory) and the
/// chunks that could not be written to it.
#[derive(Debug)]
struct WindowFile {
    /// Unique in the process ([`next_file_id`]): a window's file can be
    /// created again after it was detached, and kept minute buckets
    /// (`minute_cache.rs`) must not outlive the records they were read from.
    id: u64,
    file: Option<File>,
    /// What its records look like: a file recovered from an older version
    /// is appended to in that version.
    version: HeadChunksVersion,
    /// Offsets are handed out from here, on disk or not.
    len: AtomicU64,
    resident: Mutex<HashMap<u64, Box<[u8]>>>,
}

/// A chunk found in a window's file by [`ChunkStore::recover`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Recovered {
    pub(crate) meta: ChunkMeta,
    /// Offset of its record in the window's file.
    pub(crate) at: u64,
    /// Whether the record carries minute summaries.
    pub(crate) minutes: bool,
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

    /// Uses `dir` as a checkpoint left it: the file of each window in
    /// `lengths` from `first_window` on is cut to its noted length and
    /// scanned; every other file is deleted (written after the checkpoint,
    /// which replay writes again, or of a window already in a block).
    /// Returns the store and the chunks found, window by window in order,
    /// each window's in file order.
    pub(crate) fn recover(
        dir: &Path,
        block_span: i64,
        lengths: &BTreeMap<i64, u64>,
        first_window: i64,
    ) -> Result<(Self, Vec<Recovered>)> {
        std::fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
        let store = Self { dir: Some(dir.to_path_buf()), ..Self::in_memory(block_span) };
        for entry in std::fs::read_dir(dir).context(|| format!("listing {}", dir.display()))? {
            let entry = entry.context(|| format!("listing {}", dir.display()))?;
            let window = entry.file_name().to_str().and_then(|n| n.strip_suffix(".chunks")?.parse::<i64>().ok());
            if window.is_none_or(|w| w < first_window || !lengths.contains_key(&w)) {
                let path = entry.path();
                std::fs::remove_file(&path).context(|| format!("removing {}", path.display()))?;
            }
        }
        let mut found = Vec::new();
        for (&window, &len) in lengths.range(first_window..) {
            let path = store.path(window);
            let file = OpenOptions::new().read(true).write(true).open(&path).map_err(|e| {
                Error::corruption(&path, 0, format!("head chunk file the checkpoint needs cannot be opened: {e}"))
            })?;
            let on_disk = file.metadata().context(|| format!("reading {}", path.display()))?.len();
            if on_disk < len {
                return Err(Error::corruption(
                    &path,
                    on_disk,
                    format!("head chunk file is shorter than the {len} bytes the checkpoint made durable"),
                ));
            }
            if on_disk > len {
                file.set_len(len).context(|| format!("truncating {} to {len} bytes", path.display()))?;
                // Durable before records are appended again after `len`: a
                // file is then only ever appended to between two syncs.
                crate::fs::sync_file(&file, &path)?;
            }
            let mut bytes = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
            file.read_exact_at(&mut bytes, 0).context(|| format!("reading {}", path.display()))?;
            let (version, records) = scan(&bytes).map_err(|(at, kind)| Error::corruption(&path, at, kind))?;
            found.extend(records);
            let f = WindowFile {
                id: next_file_id(),
                file: Some(file),
                version,
                len: AtomicU64::new(len),
                resident: Mutex::new(HashMap::new()),
            };
            store.files.lock().insert(window, Arc::new(f));
        }
        Ok((store, found))
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
        let version = HeadChunksVersion::CURRENT;
        let f = Arc::new(WindowFile { id: next_file_id(), file, version, len, resident: Mutex::new(HashMap::new()) });
        files.insert(window, f.clone());
        f
    }

    fn warn(&self, e: &std::io::Error) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %e, "cannot write head chunks to disk; keeping them in memory");
        }
    }

    /// Stores the record of a chunk of block window `window` with its
    /// minute summaries (see [`encode_record`]) where the window's file
    /// version and the chunk's bounds say a record carries them; returns
    /// its offset and whether they were stored.
    ///
    /// This alone decides, from the header as a scan does, so a record's
    /// length always reads back as written: `minutes` of another length
    /// than the header implies (none, for a chunk that did not decode as it
    /// closed) are stored as bytes that read as corrupt, like a bad chunk.
    pub(crate) fn put(&self, window: i64, meta: &ChunkMeta, bytes: &[u8], minutes: &[u8]) -> (u64, bool) {
        let f = self.window(window);
        let with_minutes = meta.carries_minutes(f.version);
        let expected = meta.minutes_len(with_minutes);
        debug_assert!(minutes.is_empty() || minutes.len() == meta.minutes_len(true), "{} bytes", minutes.len());
        let unreadable;
        let minutes = match (with_minutes, minutes.len() == expected) {
            (false, _) => &[][..],
            (true, true) => minutes,
            (true, false) => {
                unreadable = vec![0xff; expected];
                &unreadable[..]
            }
        };
        let record = encode_record(meta, bytes, minutes);
        let offset = f.len.fetch_add(record.len() as u64, Ordering::Relaxed);
        if let Some(file) = &f.file {
            match file.write_all_at(&record, offset) {
                Ok(()) => return (offset, with_minutes),
                Err(e) => self.warn(&e),
            }
        }
        f.resident.lock().insert(offset, record.into_boxed_slice());
        (offset, with_minutes)
    }

    /// The file of `window`; `offset` is for the error when there is none.
    fn file(&self, window: i64, offset: u64) -> Result<Arc<WindowFile>> {
        self.files
            .lock()
            .get(&window)
            .cloned()
            .ok_or_else(|| Error::corruption("chunks_head", offset, format!("no head chunks for window {window}")))
    }

    /// The process-unique id of `window`'s file (`offset` is for the error
    /// when there is none): with an offset, it names a record for as long
    /// as the process runs.
    pub(crate) fn file_id(&self, window: i64, offset: u64) -> Result<u64> {
        self.file(window, offset).map(|f| f.id)
    }

    /// The `len` bytes of the record at `offset` in `window`, read into `buf`.
    pub(crate) fn bytes<'a>(&self, window: i64, offset: u64, len: usize, buf: &'a mut Vec<u8>) -> Result<&'a [u8]> {
        let f = self.file(window, offset)?;
        buf.clear();
        if let Some(bytes) = f.resident.lock().get(&offset) {
            buf.extend_from_slice(bytes);
            return Ok(buf);
        }
        let file = f.file.as_ref().ok_or_else(|| {
            Error::corruption("chunks_head", offset, format!("head chunk missing in window {window}"))
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

    /// Forgets every window before `window` (their chunks are in blocks)
    /// and returns their files, for the caller to delete once no durable
    /// checkpoint lists them any more.
    pub(crate) fn detach_before(&self, window: i64) -> Vec<PathBuf> {
        let mut files = self.files.lock();
        let keep = files.split_off(&window);
        let dropped = std::mem::replace(&mut *files, keep);
        drop(files);
        match &self.dir {
            Some(dir) => dropped.keys().map(|w| dir.join(format!("{w}.chunks"))).collect(),
            None => Vec::new(),
        }
    }

    /// Each window's file length, for a checkpoint; `None` when a chunk is
    /// only in memory (a failed write, or no directory), which a checkpoint
    /// cannot reference. Writes in flight must be finished (the caller
    /// holds the head still).
    pub(crate) fn lengths(&self) -> Option<BTreeMap<i64, u64>> {
        let files = self.files.lock();
        let mut out = BTreeMap::new();
        for (&window, f) in files.iter() {
            if f.file.is_none() || !f.resident.lock().is_empty() {
                return None;
            }
            out.insert(window, f.len.load(Ordering::Acquire));
        }
        Some(out)
    }

    /// fdatasyncs the files of `windows` still present (a flush may have
    /// deleted some since their lengths were taken).
    pub(crate) fn sync(&self, windows: impl IntoIterator<Item = i64>) -> Result<()> {
        for window in windows {
            let Some(f) = self.files.lock().get(&window).cloned() else { continue };
            if let Some(file) = &f.file {
                crate::fs::sync_file(file, &self.path(window))?;
            }
        }
        if let Some(dir) = &self.dir {
            crate::fs::sync_dir(dir)?;
        }
        Ok(())
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

/// The version and every record of a whole file's `bytes`, in order;
/// `Err((offset, what))` at the first bad one.
fn scan(bytes: &[u8]) -> std::result::Result<(HeadChunksVersion, Vec<Recovered>), (u64, String)> {
    let head = bytes.get(..HEAD_CHUNKS_HEADER_LEN as usize).ok_or((0, "head chunk file has no header".to_string()))?;
    if &head[..4] != HEAD_CHUNKS_MAGIC {
        return Err((0, "not a head chunk file (bad magic)".into()));
    }
    let version =
        HeadChunksVersion::try_from(head[4]).map_err(|v| (4, format!("unsupported head chunk file version {v}")))?;
    let mut out = Vec::new();
    let mut at = HEAD_CHUNKS_HEADER_LEN as usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let bad = |kind: &str| (at as u64, kind.to_string());
        // The record's header says whether minute summaries follow its chunk.
        let minutes = read_meta(rest).map_err(bad)?.carries_minutes(version);
        let meta = decode_record(rest, minutes).map_err(bad)?.meta;
        out.push(Recovered { meta, at: at as u64, minutes });
        at += meta.record_len(minutes);
    }
    Ok((version, out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn meta(sref: u64, mint: i64) -> ChunkMeta {
        ChunkMeta { sref: SeriesRef(sref), mint, maxt: mint + 10, count: 2, len: 3 }
    }

    /// Puts a chunk without minute summaries; returns its offset.
    fn put(store: &ChunkStore, window: i64, meta: &ChunkMeta, bytes: &[u8]) -> u64 {
        store.put(window, meta, bytes, &[]).0
    }

    fn bare(meta: ChunkMeta, chunk: &[u8]) -> Record<'_> {
        Record { meta, chunk, minutes: &[] }
    }

    #[test]
    fn files_start_with_magic_and_version_and_records_follow() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(dir.path(), 7_200_000).unwrap();
        let record = encode_record(&meta(5, 100), &[7, 8, 9], &[]);
        let offset = put(&store, 3, &meta(5, 100), &[7, 8, 9]);
        assert_eq!(offset, HEAD_CHUNKS_HEADER_LEN);
        let bytes = std::fs::read(store.path(3)).unwrap();
        assert_eq!(&bytes[..4], HEAD_CHUNKS_MAGIC);
        assert_eq!(HeadChunksVersion::try_from(bytes[4]), Ok(HeadChunksVersion::CURRENT));
        assert_eq!(&bytes[8..], &record[..]);
        let mut buf = Vec::new();
        let read = store.bytes(3, offset, record.len(), &mut buf).unwrap();
        assert_eq!(decode_record(read, false), Ok(bare(meta(5, 100), &[7, 8, 9])));
        assert_eq!(HeadChunksVersion::try_from(1), Err(1));
    }

    #[test]
    fn damaged_records_are_refused() {
        let mut record = encode_record(&meta(5, 100), &[7, 8, 9], &[]);
        assert!(decode_record(&record[..record.len() - 1], false).is_err());
        record[RECORD_HEADER_LEN] ^= 1;
        assert_eq!(decode_record(&record, false), Err("head chunk checksum mismatch"));
    }

    #[test]
    fn recover_cuts_files_to_the_checkpoint_and_drops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(dir.path(), 1000).unwrap();
        put(&store, 1, &meta(1, 1000), &[1, 2, 3]);
        put(&store, 2, &meta(1, 2000), &[4, 5, 6]);
        let lengths = store.lengths().unwrap();
        store.sync(lengths.keys().copied()).unwrap();
        // Written after the checkpoint: a record in window 2, and window 3.
        put(&store, 2, &meta(2, 2005), &[0, 0, 0]);
        put(&store, 3, &meta(1, 3000), &[9, 9, 9]);
        drop(store);

        let (store, found) = ChunkStore::recover(dir.path(), 1000, &lengths, 2).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].meta, meta(1, 2000));
        assert!(!store.path(1).exists() && !store.path(3).exists());
        assert_eq!(std::fs::metadata(store.path(2)).unwrap().len(), lengths[&2]);
        // Appends continue after the kept records.
        assert_eq!(put(&store, 2, &meta(3, 2001), &[1, 1, 1]), lengths[&2]);
    }

    #[test]
    fn recover_reports_a_damaged_or_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(dir.path(), 1000).unwrap();
        put(&store, 1, &meta(1, 1000), &[1, 2, 3]);
        let lengths = store.lengths().unwrap();
        drop(store);
        let path = dir.path().join("1.chunks");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEAD_CHUNKS_HEADER_LEN as usize + RECORD_HEADER_LEN] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let err = ChunkStore::recover(dir.path(), 1000, &lengths, 0).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
        std::fs::remove_file(&path).unwrap();
        let err = ChunkStore::recover(dir.path(), 1000, &lengths, 0).unwrap_err().to_string();
        assert!(err.contains("cannot be opened"), "{err}");
    }

    /// 240 samples at 1 s: four minutes, dense enough for minute summaries.
    fn dense(sref: u64) -> ChunkMeta {
        ChunkMeta { sref: SeriesRef(sref), mint: 0, maxt: 239_000, count: 240, len: 3 }
    }

    /// Puts a dense chunk with `minutes` and a sparse one after it,
    /// checkpoints and recovers the store; returns it with the dense
    /// chunk's record bytes, after checking where both records were found.
    fn dense_then_sparse_recovered(dir: &Path, minutes: &[u8]) -> (ChunkStore, Vec<u8>) {
        let store = ChunkStore::open(dir, 1_000_000).unwrap();
        let (at, with_minutes) = store.put(0, &dense(1), &[1, 2, 3], minutes);
        assert!(with_minutes, "the header says the record carries them");
        let (next, _) = store.put(0, &meta(2, 10), &[4, 5, 6], &[]);
        assert_eq!(next, at + dense(1).record_len(true) as u64);
        let lengths = store.lengths().unwrap();
        store.sync(lengths.keys().copied()).unwrap();
        drop(store);
        let (store, found) = ChunkStore::recover(dir, 1_000_000, &lengths, 0).unwrap();
        assert_eq!(found.iter().map(|r| (r.at, r.minutes)).collect::<Vec<_>>(), [(at, true), (next, false)]);
        let mut buf = Vec::new();
        store.bytes(0, at, dense(1).record_len(true), &mut buf).unwrap();
        (store, buf)
    }

    #[test]
    fn dense_records_carry_minute_summaries_through_a_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let minutes: Vec<u8> = (0..4 * minutes::ENTRY_LEN).map(|i| i as u8).collect();
        let (_store, read) = dense_then_sparse_recovered(dir.path(), &minutes);
        let read = &read[..];
        assert_eq!(decode_record(read, true), Ok(Record { meta: dense(1), chunk: &[1, 2, 3], minutes: &minutes }));
        // Read as if it carried none, the summaries fail the checksum.
        assert!(decode_record(read, false).is_err());
    }

    #[test]
    fn a_dense_chunk_without_summaries_keeps_the_file_readable() {
        let dir = tempfile::tempdir().unwrap();
        // As `close` passes a chunk that did not decode: no summaries.
        let (_store, read) = dense_then_sparse_recovered(dir.path(), &[]);
        let record = decode_record(&read, true).unwrap();
        let err = minutes::push_buckets(record.minutes, 0, minutes::MINUTE, &mut Vec::new()).unwrap_err();
        assert!(err.contains("impossible"), "{err}");
    }

    #[test]
    fn a_version_2_file_is_read_and_appended_to_without_minute_summaries() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = vec![b'P', b'B', b'H', b'C', 2, 0, 0, 0];
        file.extend(encode_record(&dense(1), &[1, 2, 3], &[]));
        std::fs::write(dir.path().join("0.chunks"), &file).unwrap();
        let lengths = BTreeMap::from([(0, file.len() as u64)]);
        let (store, found) = ChunkStore::recover(dir.path(), 1_000_000, &lengths, 0).unwrap();
        assert_eq!(found.iter().map(|r| (r.at, r.minutes)).collect::<Vec<_>>(), [(HEAD_CHUNKS_HEADER_LEN, false)]);
        let minutes = vec![0; 4 * minutes::ENTRY_LEN];
        let (at, with_minutes) = store.put(0, &dense(2), &[4, 5, 6], &minutes);
        assert!(!with_minutes, "a version 2 file holds no minute summaries");
        let lengths = store.lengths().unwrap();
        store.sync(lengths.keys().copied()).unwrap();
        drop(store);
        let (_, found) = ChunkStore::recover(dir.path(), 1_000_000, &lengths, 0).unwrap();
        assert_eq!(found.iter().map(|r| (r.at, r.minutes)).collect::<Vec<_>>()[1], (at, false));
    }
}
