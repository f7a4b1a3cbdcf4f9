//! Reads a sealed block through memory maps: finds a series' chunk list by
//! binary search in the index table, then decompresses only the frames a
//! query touches, verifying every checksum on the way.
#![deny(clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::format::{self, ChunkMeta, EntryExtras, EntryNewest, FrameKind};
use super::frame_cache;
use super::meta::BlockMeta;
use crate::chunk::sealed;
use crate::codec::DecodeError;
use crate::rollup;
use crate::{fs, Error, Result, Sample, SeriesRef};
use crate::{RollupBucket, RollupFields};

/// An open, immutable block.
#[derive(Debug)]
pub(crate) struct Block {
    /// Unique among the blocks this process opened: what a [`FrameCache`]
    /// tells blocks apart by (frame offsets repeat across blocks).
    id: u64,
    dir: PathBuf,
    meta: BlockMeta,
    index: Mmap,
    chunks: Mmap,
    /// Format 4: the rollup blobs' frames (before, they are in `chunks`).
    rollups: Option<Mmap>,
    table_offset: usize,
    series_count: usize,
    /// Whether any series keeps 1 min rollups, once looked up.
    minute_rollups: std::sync::OnceLock<bool>,
}

/// The most recently decompressed frame of each of a block's frame files,
/// so consecutive chunks (or rollup blobs) of one frame are decompressed
/// once, also when reads alternate between chunks and rollups. A frame is
/// known by its block and offset, so one cache may serve any blocks (one
/// per block keeps a frame for each when reads go back and forth).
///
/// A query's reads also share frames through the process-wide
/// [`frame_cache`]; a read of whole blocks once (compaction, checks) uses
/// [`FrameCache::unshared`], so it neither evicts what queries keep nor
/// takes its lock for every frame.
#[derive(Default)]
pub(crate) struct FrameCache {
    chunks: CachedFrame,
    rollups: CachedFrame,
    unshared: bool,
}

#[derive(Default)]
pub(super) struct CachedFrame {
    /// The block (its `id`) and offset of the frame cached (checksum verified).
    pub(super) frame: Option<(u64, u64)>,
    /// Its decompressed bytes (shared with [`frame_cache`]), or for an
    /// uncompressed frame the range of the mapped file holding them.
    raw: Option<Arc<Vec<u8>>>,
    stored: Option<(usize, usize)>,
}

impl FrameCache {
    /// A cache whose frames stay out of the process-wide one.
    pub(crate) fn unshared() -> Self {
        Self { unshared: true, ..Self::default() }
    }

    /// Whether what this cache reads may go to the process-wide caches.
    pub(super) fn is_shared(&self) -> bool {
        !self.unshared
    }

    pub(super) fn slot(&mut self, file: FrameFile) -> &mut CachedFrame {
        match file {
            FrameFile::Chunks => &mut self.chunks,
            FrameFile::Rollups => &mut self.rollups,
        }
    }
}

/// The files of a block that hold frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FrameFile {
    Chunks,
    Rollups,
}

impl FrameFile {
    fn name(self) -> &'static str {
        match self {
            Self::Chunks => format::CHUNKS_FILE,
            Self::Rollups => format::ROLLUPS_FILE,
        }
    }
}

thread_local! {
    /// One zstd context per thread: creating one costs more than
    /// decompressing a small frame.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

impl std::fmt::Debug for FrameCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameCache").field("chunks", &self.chunks.frame).field("rollups", &self.rollups.frame).finish()
    }
}

impl Block {
    /// Opens a block directory, checking `meta.json`, file headers and the
    /// index checksum.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let meta = BlockMeta::read(dir)?;
        let index_path = dir.join(format::INDEX_FILE);
        let chunks_path = dir.join(format::CHUNKS_FILE);
        let index = fs::map_sealed(&index_path)?;
        let chunks = fs::map_sealed(&chunks_path)?;
        format::check_header(&chunks, format::CHUNKS_MAGIC, meta.version())
            .map_err(|e| Error::corruption(&chunks_path, 0, e))?;
        format::check_header(&index, format::INDEX_MAGIC, meta.version())
            .map_err(|e| Error::corruption(&index_path, 0, e))?;
        let rollups = if meta.version().has_newest_and_rollups_file() {
            let path = dir.join(format::ROLLUPS_FILE);
            let rollups = fs::map_sealed(&path)?;
            format::check_header(&rollups, format::ROLLUPS_MAGIC, meta.version())
                .map_err(|e| Error::corruption(&path, 0, e))?;
            Some(rollups)
        } else {
            None
        };

        let len = index.len();
        let corrupt = |offset: usize, kind: &str| Error::corruption(&index_path, offset as u64, kind);
        if len < format::FILE_HEADER_LEN + format::FOOTER_LEN {
            return Err(corrupt(0, "index shorter than header and footer"));
        }
        let footer = index.get(len - format::FOOTER_LEN..).ok_or_else(|| corrupt(0, "no footer"))?;
        let field = |at: usize| -> u64 {
            let mut b = [0u8; 8];
            b.copy_from_slice(footer.get(at..at + 8).unwrap_or(&[0; 8]));
            u64::from_le_bytes(b)
        };
        let (table_offset, series_count) = (field(0), field(8));
        if footer.get(20..24) != Some(format::INDEX_MAGIC.as_slice()) {
            return Err(corrupt(len - 4, "bad footer magic"));
        }
        let mut crc = [0u8; 4];
        crc.copy_from_slice(footer.get(16..20).unwrap_or(&[0; 4]));
        let covered = index.get(..len - 8).unwrap_or_default();
        if crc32fast::hash(covered) != u32::from_le_bytes(crc) {
            return Err(corrupt(len - 8, "index checksum mismatch"));
        }
        let table_end = usize::try_from(series_count)
            .ok()
            .and_then(|n| n.checked_mul(format::TABLE_ENTRY_LEN))
            .and_then(|n| n.checked_add(usize::try_from(table_offset).ok()?));
        if table_end != Some(len - format::FOOTER_LEN) || (table_offset as usize) < format::FILE_HEADER_LEN {
            return Err(corrupt(len - format::FOOTER_LEN, "series table does not fit the index"));
        }
        if series_count != meta.stats.series {
            return Err(corrupt(len - format::FOOTER_LEN, "series count differs from meta.json"));
        }
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(Self {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            rollups,
            table_offset: table_offset as usize,
            series_count: series_count as usize,
            minute_rollups: std::sync::OnceLock::new(),
        })
    }

    /// Unique in the process: what caches know the block's reads by.
    pub(super) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes of the block's files.
    pub(crate) fn size_on_disk(&self) -> u64 {
        (self.index.len() + self.chunks.len() + self.rollups.as_ref().map_or(0, |r| r.len())) as u64
    }

    /// Whether the block's window overlaps `[mint, maxt]`.
    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.meta.mint <= maxt && self.meta.maxt >= mint
    }

    fn table_entry(&self, i: usize) -> (u64, u64) {
        let at = self.table_offset + i * format::TABLE_ENTRY_LEN;
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        // In bounds: the table was checked to fit the file on open.
        a.copy_from_slice(self.index.get(at..at + 8).unwrap_or(&[0; 8]));
        b.copy_from_slice(self.index.get(at + 8..at + 16).unwrap_or(&[0; 8]));
        (u64::from_le_bytes(a), u64::from_le_bytes(b))
    }

    /// Every series ref in the block, ascending.
    pub(crate) fn series_refs(&self) -> impl Iterator<Item = SeriesRef> + '_ {
        (0..self.series_count).map(|i| SeriesRef(self.table_entry(i).0))
    }

    /// The chunk list of `sref`, empty when the block does not have it.
    pub(crate) fn chunk_metas(&self, sref: SeriesRef, out: &mut Vec<ChunkMeta>) -> Result<()> {
        self.entry(sref, out, None)
    }

    /// Whether the block may hold rollups at `resolution` (format 2+ blocks
    /// whose window the resolution divides; blocks cut from the head keep
    /// no 1 min rollups, and `read_rollups` says so per series).
    pub(crate) fn has_rollups(&self, resolution: i64) -> bool {
        self.meta.version().has_rollups() && (self.meta.maxt - self.meta.mint + 1) % resolution == 0
    }

    /// Whether any series of the block keeps 1 min rollups (series entries
    /// read until one does, once per open block), so that compaction
    /// rewrites an old block without them only once.
    pub(crate) fn keeps_minute_rollups(&self) -> Result<bool> {
        const MINUTE: i64 = 60_000;
        if let Some(&kept) = self.minute_rollups.get() {
            return Ok(kept);
        }
        let mut kept = false;
        if self.has_rollups(MINUTE) {
            let (mut metas, mut extras) = (Vec::new(), EntryExtras::default());
            for sref in self.series_refs() {
                self.entry(sref, &mut metas, Some(&mut extras))?;
                if extras.rollups.iter().any(|r| r.resolution == MINUTE) {
                    kept = true;
                    break;
                }
            }
        }
        Ok(*self.minute_rollups.get_or_init(|| kept))
    }

    /// Appends `sref`'s rollup buckets at `resolution` starting within
    /// `[mint, maxt]` to `out`; false when the block keeps none for this
    /// series (it has too few samples per bucket) or its blob left out a
    /// field `fields` needs, so the caller computes them from its chunks.
    /// Callers check [`Block::has_rollups`] first.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn read_rollups(
        &self,
        sref: SeriesRef,
        resolution: i64,
        mint: i64,
        maxt: i64,
        fields: RollupFields,
        cache: &mut FrameCache,
        out: &mut Vec<RollupBucket>,
    ) -> Result<bool> {
        let (mut metas, mut extras) = (Vec::new(), EntryExtras::default());
        self.entry(sref, &mut metas, Some(&mut extras))?;
        let Some(r) = extras.rollups.iter().find(|r| r.resolution == resolution) else {
            // A series the block lacks has nothing to compute either.
            return Ok(metas.is_empty());
        };
        let file = if self.rollups.is_some() { FrameFile::Rollups } else { FrameFile::Chunks };
        let bytes = self.frame_bytes(file, r.frame, r.offset, r.len, cache)?;
        let start = out.len();
        let decoded = rollup::decode(bytes, fields, out)
            .map_err(|e| self.file_error(file, r.frame, format!("rollups of series {}: {e}", sref.0)))?;
        if !decoded {
            // The blob left out a column the read needs (format 6: a gauge's correction).
            return Ok(false);
        }
        // Buckets are time-ordered: cut the ends outside [mint, maxt] in place.
        let tail = out.get(start..).unwrap_or_default();
        let (a, b) = (tail.partition_point(|x| x.start < mint), tail.partition_point(|x| x.start <= maxt));
        out.truncate(start + b.max(a));
        out.drain(start..start + a);
        Ok(true)
    }

    /// As [`Block::read_rollups`] over the whole block with every field
    /// the blob keeps: all of them, or all but a left-out correction (for
    /// checks, which verify every column there is).
    pub(crate) fn read_rollups_kept(
        &self,
        sref: SeriesRef,
        resolution: i64,
        cache: &mut FrameCache,
        out: &mut Vec<RollupBucket>,
    ) -> Result<bool> {
        if self.read_rollups(sref, resolution, i64::MIN, i64::MAX, RollupFields::ALL, cache, out)? {
            return Ok(true);
        }
        self.read_rollups(sref, resolution, i64::MIN, i64::MAX, RollupFields::ALL_BUT_CORRECTION, cache, out)
    }

    /// `sref`'s newest samples without reading a chunk: `Ok(None)` when the
    /// block does not hold the series or predates format 4 (then read its
    /// chunks).
    pub(crate) fn newest(&self, sref: SeriesRef, metas: &mut Vec<ChunkMeta>) -> Result<Option<EntryNewest>> {
        if !self.meta.version().has_newest_and_rollups_file() {
            return Ok(None);
        }
        let mut extras = EntryExtras::default();
        self.entry(sref, metas, Some(&mut extras))?;
        Ok(extras.newest)
    }

    fn entry(&self, sref: SeriesRef, out: &mut Vec<ChunkMeta>, extras: Option<&mut EntryExtras>) -> Result<()> {
        out.clear();
        let (mut lo, mut hi) = (0usize, self.series_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (r, offset) = self.table_entry(mid);
            if r == sref.0 {
                let bytes = usize::try_from(offset)
                    .ok()
                    .filter(|&o| o >= format::FILE_HEADER_LEN && o < self.table_offset)
                    .and_then(|o| self.index.get(o..self.table_offset))
                    .ok_or_else(|| self.index_error(offset as usize, "series entry offset out of range"))?;
                return format::decode_series_entry(bytes, self.meta.version(), out, extras)
                    .map_err(|e| self.decode_error(offset as usize, e));
            }
            if r < sref.0 {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(())
    }

    fn index_error(&self, offset: usize, kind: &str) -> Error {
        Error::corruption(self.dir.join(format::INDEX_FILE), offset as u64, kind)
    }

    fn decode_error(&self, base: usize, e: DecodeError) -> Error {
        self.index_error(base + e.offset, &e.to_string())
    }

    fn chunks_error(&self, offset: u64, kind: impl Into<String>) -> Error {
        self.file_error(FrameFile::Chunks, offset, kind)
    }

    fn file_error(&self, file: FrameFile, offset: u64, kind: impl Into<String>) -> Error {
        Error::corruption(self.dir.join(file.name()), offset, kind)
    }

    /// The bytes of one sealed chunk.
    pub(crate) fn chunk_bytes<'a>(&'a self, chunk: &ChunkMeta, cache: &'a mut FrameCache) -> Result<&'a [u8]> {
        self.frame_bytes(FrameFile::Chunks, chunk.frame, chunk.offset, chunk.len, cache)
    }

    /// `len` bytes at `offset` in the raw bytes of the frame at
    /// `frame_offset` in `file`.
    fn frame_bytes<'a>(
        &'a self,
        file: FrameFile,
        frame_offset: u64,
        offset: u32,
        len: u32,
        cache: &'a mut FrameCache,
    ) -> Result<&'a [u8]> {
        let mapped: &[u8] = match (file, &self.rollups) {
            (FrameFile::Rollups, Some(rollups)) => rollups,
            _ => &self.chunks,
        };
        let shared = !cache.unshared;
        let cache = cache.slot(file);
        if cache.frame != Some((self.id, frame_offset)) {
            // Verified and decompressed once per frame, however many chunks
            // it holds and however many reads ask for it while it is kept.
            cache.frame = None;
            match frame_cache::get(&(self.id, file, frame_offset)).filter(|_| shared) {
                Some(raw) => (cache.raw, cache.stored) = (Some(raw), None),
                None => self.load_frame(mapped, file, frame_offset, shared, cache)?,
            }
            cache.frame = Some((self.id, frame_offset));
        }
        let raw: &[u8] = match cache.stored {
            Some((a, b)) => mapped.get(a..b).unwrap_or_default(),
            None => cache.raw.as_deref().map_or(&[], Vec::as_slice),
        };
        let start = offset as usize;
        raw.get(start..start + len as usize)
            .ok_or_else(|| self.file_error(file, frame_offset, "chunk or rollup blob lies outside its frame"))
    }

    /// Reads the frame at `frame_offset` of `mapped` (`file`) into `cache`,
    /// verifying its checksum and decompressing it; a decompressed frame
    /// is kept process-wide too when `shared`.
    fn load_frame(
        &self,
        mapped: &[u8],
        file: FrameFile,
        frame_offset: u64,
        shared: bool,
        cache: &mut CachedFrame,
    ) -> Result<()> {
        let frame_at = usize::try_from(frame_offset).unwrap_or(usize::MAX);
        let frame =
            format::read_frame(mapped, frame_at).map_err(|e| self.file_error(file, frame_offset, format!("{e}")))?;
        if frame.kind == FrameKind::Raw {
            let begin = frame.stored.as_ptr() as usize - mapped.as_ptr() as usize;
            (cache.raw, cache.stored) = (None, Some((begin, begin + frame.stored.len())));
            return Ok(());
        }
        let fail = |e: std::io::Error| self.file_error(file, frame_offset, format!("frame does not decompress: {e}"));
        let mut raw = Vec::with_capacity(frame.raw_len);
        DECOMPRESSOR
            .with(|cell| {
                let mut slot = cell.borrow_mut();
                if slot.is_none() {
                    *slot = Some(zstd::bulk::Decompressor::new()?);
                }
                match slot.as_mut() {
                    Some(d) => d.decompress_to_buffer(frame.stored, &mut raw).map(|_| ()),
                    None => Err(std::io::ErrorKind::Other.into()),
                }
            })
            .map_err(fail)?;
        if raw.len() != frame.raw_len {
            return Err(self.file_error(file, frame_offset, "frame decompresses to the wrong size"));
        }
        let raw = Arc::new(raw);
        if shared {
            frame_cache::keep((self.id, file, frame_offset), raw.clone());
        }
        (cache.raw, cache.stored) = (Some(raw), None);
        Ok(())
    }

    /// Appends the samples of `sref` within `[mint, maxt]` to `out`.
    pub(crate) fn read_series(
        &self,
        sref: SeriesRef,
        mint: i64,
        maxt: i64,
        metas: &mut Vec<ChunkMeta>,
        cache: &mut FrameCache,
        out: &mut Vec<Sample>,
    ) -> Result<()> {
        self.chunk_metas(sref, metas)?;
        self.decode_chunks(metas, mint, maxt, cache, out)
    }

    /// Appends the samples within `[mint, maxt]` of the chunks `metas`
    /// (one series' chunk metas, as [`Block::chunk_metas`] gives them) to `out`.
    pub(super) fn decode_chunks(
        &self,
        metas: &[ChunkMeta],
        mint: i64,
        maxt: i64,
        cache: &mut FrameCache,
        out: &mut Vec<Sample>,
    ) -> Result<()> {
        for chunk in metas.iter().filter(|c| c.maxt >= mint && c.mint <= maxt) {
            let bytes = self.chunk_bytes(chunk, cache)?;
            let start = out.len();
            sealed::decode(bytes, out)
                .map_err(|e| self.chunks_error(chunk.frame, format!("chunk at frame offset {}: {e}", chunk.offset)))?;
            if out.len() - start != chunk.samples as usize {
                return Err(self.chunks_error(chunk.frame, "chunk sample count differs from the index"));
            }
            if chunk.mint < mint || chunk.maxt > maxt {
                let kept: Vec<Sample> = out.drain(start..).filter(|s| s.t >= mint && s.t <= maxt).collect();
                out.extend(kept);
            }
        }
        Ok(())
    }
}
