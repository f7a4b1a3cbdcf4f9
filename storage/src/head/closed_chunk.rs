//! A closed head chunk: what the head keeps of it in memory (72 bytes:
//! bounds, where its record is in the chunk files, flags and its summary)
//! and how it is read back from its record (`spill.rs`): decoded, as its
//! summary, or as its minute summaries (`minutes.rs`).

use super::minute_cache;
use super::minutes::{self, minutes_carried, MINUTE};
use super::spill::{decode_record, ChunkMeta, ChunkStore, Record};
use super::summary::ChunkSummary;
use crate::chunk::xor::{XorChunk, XorIter};
use crate::{Result, Sample, SeriesRef};
use pulsedb_model::RollupBucket;

/// A closed, immutable head chunk: 72 bytes in memory (its bounds, where
/// its bytes are in the store, and their summary), its bytes in the store.
#[derive(Debug)]
pub(crate) struct ClosedChunk {
    pub(super) mint: i64,
    /// `maxt - mint`; chunks never span more than a block window.
    span: u32,
    pub(super) count: u16,
    len: u16,
    /// Where the store put the record in the chunk's window, and in the top
    /// bits whether `summary` holds one ([`SUMMARIZED`]) and whether the
    /// record carries minute summaries ([`MINUTES`]): an `Option` and a
    /// `bool` would cost 8 bytes more per chunk, tens of chunks per series.
    at_flags: u64,
    /// Only when [`SUMMARIZED`] is set: none for a chunk holding a staleness
    /// marker, and until first needed for a chunk a restart found in the
    /// chunk files.
    summary: ChunkSummary,
}

/// The bit of `ClosedChunk::at_flags` saying the chunk has a summary (file
/// offsets never reach it).
const SUMMARIZED: u64 = 1 << 63;
/// The bit of `ClosedChunk::at_flags` saying its record carries minute
/// summaries (`minutes.rs`).
const MINUTES: u64 = 1 << 62;

impl ClosedChunk {
    pub(super) fn close(sref: SeriesRef, chunk: &XorChunk, store: &ChunkStore) -> Self {
        let bytes = chunk.bytes();
        let meta = ChunkMeta {
            sref,
            mint: chunk.mint(),
            maxt: chunk.maxt(),
            count: chunk.len() as u16,
            len: u16::try_from(bytes.len()).unwrap_or(u16::MAX),
        };
        // Decoding a chunk once as it closes is cheap next to appending its
        // samples, and saves decoding it on every rollup read. Only a dense
        // chunk's samples are collected, for its minute summaries.
        let mut iter = XorIter::new(&bytes, chunk.len());
        let carried = minutes_carried(meta.mint, meta.maxt, meta.count);
        let mut minutes = Vec::new();
        let summary = if carried > 0 {
            let samples: Vec<Sample> = iter.by_ref().collect();
            if !iter.is_corrupt() {
                minutes::encode(&samples, meta.mint, carried, &mut minutes);
            }
            ChunkSummary::of(samples)
        } else {
            ChunkSummary::of(iter.by_ref())
        };
        let summary = summary.filter(|_| !iter.is_corrupt());
        // The record carries a crc32: the file is read back with plain
        // reads, and a damaged chunk must be an error, not samples that are
        // silently wrong or missing. It names its series and bounds so that
        // a restart from a checkpoint can give each series its chunks back.
        let (at, with_minutes) = store.put(window(chunk.mint(), store.block_span), &meta, &bytes, &minutes);
        let mut chunk = Self::from_meta(&meta, at, with_minutes);
        chunk.set_summary(summary);
        chunk
    }

    /// The chunk a record at `at` describes, `with_minutes` summaries in it or not.
    pub(crate) fn from_meta(meta: &ChunkMeta, at: u64, with_minutes: bool) -> Self {
        debug_assert!(at & (SUMMARIZED | MINUTES) == 0, "offset {at} reaches the flag bits");
        Self {
            mint: meta.mint,
            span: u32::try_from(meta.maxt.saturating_sub(meta.mint)).unwrap_or(u32::MAX),
            count: meta.count,
            len: meta.len,
            at_flags: (at & !(SUMMARIZED | MINUTES)) | if with_minutes { MINUTES } else { 0 },
            summary: ChunkSummary::NONE,
        }
    }

    fn at(&self) -> u64 {
        self.at_flags & !(SUMMARIZED | MINUTES)
    }

    pub(super) fn has_minutes(&self) -> bool {
        self.at_flags & MINUTES != 0
    }

    pub(super) fn summary(&self) -> Option<ChunkSummary> {
        (self.at_flags & SUMMARIZED != 0).then_some(self.summary)
    }

    pub(super) fn set_summary(&mut self, summary: Option<ChunkSummary>) {
        self.summary = summary.unwrap_or(ChunkSummary::NONE);
        self.at_flags = (self.at_flags & !SUMMARIZED) | if summary.is_some() { SUMMARIZED } else { 0 };
    }

    pub(super) fn maxt(&self) -> i64 {
        self.mint + i64::from(self.span)
    }

    /// Reads the chunk's record from the store into `buf` and checks that
    /// it is this chunk's; `Err` names the file and offset.
    fn record<'a>(&self, store: &ChunkStore, buf: &'a mut Vec<u8>) -> Result<Record<'a>> {
        let window = window(self.mint, store.block_span);
        let meta =
            ChunkMeta { sref: SeriesRef(0), mint: self.mint, maxt: self.maxt(), count: self.count, len: self.len };
        let stored = store.bytes(window, self.at(), meta.record_len(self.has_minutes()), buf)?;
        let corrupt = |kind: &str| self.corruption(store, kind);
        let record = decode_record(stored, self.has_minutes()).map_err(corrupt)?;
        if record.meta.mint != self.mint || record.meta.maxt != self.maxt() || record.meta.count != self.count {
            return Err(corrupt("head chunk record is not the chunk the series expects"));
        }
        Ok(record)
    }

    pub(super) fn decode_into(
        &self,
        mint: i64,
        maxt: i64,
        store: &ChunkStore,
        buf: &mut Vec<u8>,
        out: &mut impl Extend<Sample>,
    ) -> Result<()> {
        let record = self.record(store, buf)?;
        decode_range(record.chunk, usize::from(self.count), mint, maxt, out)
            .map_err(|kind| self.corruption(store, kind))
    }

    /// Adds the chunk's minute summaries to `out` as buckets of
    /// `resolution` (a multiple of a minute); the chunk must carry them.
    /// Read once, they are kept process-wide (`minute_cache.rs`).
    pub(super) fn minutes_into(
        &self,
        resolution: i64,
        store: &ChunkStore,
        buf: &mut Vec<u8>,
        out: &mut Vec<RollupBucket>,
    ) -> Result<()> {
        let file_id = store.file_id(window(self.mint, store.block_span), self.at())?;
        let kept = minute_cache::minutes(file_id, self.at(), || {
            let record = self.record(store, buf)?;
            let mut minutes = Vec::with_capacity(record.minutes.len() / minutes::ENTRY_LEN);
            minutes::push_buckets(record.minutes, self.mint, MINUTE, &mut minutes)
                .map_err(|kind| self.corruption(store, kind))?;
            Ok(minutes)
        })?;
        minutes::rebucket(&kept, resolution, out).map_err(|kind| self.corruption(store, kind))
    }

    /// `Error::Corruption` of this chunk's record: its file and offset, and `kind`.
    fn corruption(&self, store: &ChunkStore, kind: &str) -> crate::Error {
        crate::Error::corruption(store.path(window(self.mint, store.block_span)), self.at(), kind)
    }
}

/// Appends the samples of a Gorilla chunk within `[mint, maxt]` to `out`
/// (a vector, or a `Summarizer` that buckets them as they are decoded);
/// `Err` when the chunk ends before its `count` samples or holds an
/// impossible code (samples already appended stay).
pub(super) fn decode_range(
    bytes: &[u8],
    count: usize,
    mint: i64,
    maxt: i64,
    out: &mut impl Extend<Sample>,
) -> Result<(), &'static str> {
    let mut iter = XorIter::new(bytes, count);
    if let Some(first) = iter.seek(mint).filter(|s| s.t <= maxt) {
        out.extend(std::iter::once(first).chain(iter.by_ref().take_while(|s| s.t <= maxt)));
    }
    if iter.is_corrupt() {
        return Err("head chunk does not decode");
    }
    Ok(())
}

/// `decode_range` of the open chunk, which lives in memory.
pub(super) fn decode_open(chunk: &XorChunk, mint: i64, maxt: i64, out: &mut impl Extend<Sample>) -> Result<()> {
    decode_range(&chunk.bytes(), chunk.len(), mint, maxt, out)
        .map_err(|kind| crate::Error::corruption("head (open chunk in memory)", 0, kind))
}

/// Adds a chunk found in the chunk files to a series' list, in file order.
/// A re-encoding after out-of-order samples (`merge_ooo`) writes new
/// records that start no later than the first chunk they replace, so a
/// record drops every chunk before it that ends at or after its start.
pub(crate) fn push_recovered(closed: &mut Vec<ClosedChunk>, meta: &ChunkMeta, at: u64, with_minutes: bool) {
    while closed.last().is_some_and(|c| c.maxt() >= meta.mint) {
        closed.pop();
    }
    closed.push(ClosedChunk::from_meta(meta, at, with_minutes));
}

/// Decodes a chunk's `count` samples from `bytes` (an open chunk a
/// checkpoint held); `Err` when they do not decode.
pub(crate) fn decode_chunk(bytes: &[u8], count: usize) -> Result<Vec<Sample>, &'static str> {
    let mut out = Vec::with_capacity(count);
    decode_range(bytes, count, i64::MIN, i64::MAX, &mut out)?;
    if out.len() != count {
        return Err("open chunk holds fewer samples than its count");
    }
    Ok(out)
}

/// Index of the aligned block window holding `t`.
#[inline]
pub(crate) fn window(t: i64, block_span: i64) -> i64 {
    t.div_euclid(block_span)
}
