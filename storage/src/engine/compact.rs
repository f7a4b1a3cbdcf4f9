//! Compaction: merges the blocks of one aligned, finished window of a
//! longer span (2 h → 12 h → 3 d by default) into one block. Sealed chunks
//! are copied as they are unless a series' chunks are short enough to
//! merge, in which case they are re-encoded into full ones.
//! The new block names its parents in `meta.json`; it is registered and the
//! parents deleted only after it is durable, and a restart that finds both
//! deletes the parents (`open.rs`). A merged block that cannot be opened
//! after its rename is removed again (`Inner::seal_block`), so a retry never
//! leaves two children of the same parents. Readers holding the old block
//! list keep reading the parents through their mappings.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Inner;
use crate::block::{Block, BlockWriter, ChunkMeta, Compaction, EntryNewest, FrameCache, MAX_CHUNK_SAMPLES};
use crate::chunk::sealed;
use crate::rollup;
use crate::tombstones::Tombstones;
use crate::{fs, Result, SeriesRef};
use crate::{RollupBucket, Sample};

impl Inner {
    /// Performs at most one merge; returns whether it did.
    pub(crate) fn compact_once(&self) -> Result<bool> {
        let _maintenance = self.maintenance.lock();
        self.remove_orphans()?;
        let blocks = self.blocks();
        // Durable coverage, not `min_valid`: a window whose flush failed is
        // past `min_valid` but in no block yet, and a merged block spanning
        // it would make recovery skip its samples in the WAL.
        let flushed_until = self.head.flushed_until();
        for &span in self.cfg.compaction_spans.iter().skip(1) {
            let mut i = 0;
            while i < blocks.len() {
                let window = blocks[i].meta().mint.div_euclid(span);
                let group: Vec<Arc<Block>> =
                    blocks[i..].iter().take_while(|b| b.meta().mint.div_euclid(span) == window).cloned().collect();
                i += group.len();
                let (start, end) = (window * span, window * span + span);
                let mergeable = group.len() >= 2
                    && group.iter().all(|b| b.meta().maxt < end && b.meta().maxt - b.meta().mint + 1 < span)
                    && end <= flushed_until;
                if mergeable {
                    self.merge(&group, start, end - 1)?;
                    return Ok(true);
                }
            }
        }
        self.expire_minute_rollups(&blocks)
    }

    /// Rewrites (as a compaction of one parent) the first block that still
    /// keeps 1 min rollups though its window ended more than
    /// `minute_rollups_for` before the newest sample; returns whether it
    /// did. Blocks are compacted soon after their window ends, inside the
    /// span, so without this they would keep them until retention.
    fn expire_minute_rollups(&self, blocks: &[Arc<Block>]) -> Result<bool> {
        if !self.options.rollups {
            return Ok(false);
        }
        let expired_before = self.newest_stored(blocks).saturating_sub(self.cfg.minute_rollups_for);
        for block in blocks.iter().filter(|b| b.meta().maxt < expired_before) {
            if block.keeps_minute_rollups()? {
                self.merge(std::slice::from_ref(block), block.meta().mint, block.meta().maxt)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn merge(&self, parents: &[Arc<Block>], mint: i64, maxt: i64) -> Result<()> {
        let level = parents.iter().map(|b| b.meta().compaction.level).max().unwrap_or(1) + 1;
        let parent_ids: Vec<String> = parents.iter().map(|b| b.meta().ulid.clone()).collect();
        let mut writer = BlockWriter::create(
            &self.blocks_dir(),
            mint,
            maxt,
            Compaction { level, parents: parent_ids.clone() },
            self.options.zstd_level,
        )?;
        let newest = self.newest_stored(&self.blocks());
        let span = self.cfg.minute_rollups_for;
        let rollups = self.options.rollups;
        writer.retain_resolutions(|r| rollups && rollup::kept_in_block(r, level, maxt, newest, span));
        if let Err(e) = copy_series(parents, &mut writer, &self.tombstones, (mint, maxt)) {
            writer.abort();
            return Err(e);
        }
        let (merged, meta) = self.seal_block(writer)?;
        tracing::info!(block = %merged.dir().display(), parents = parents.len(), level, samples = meta.stats.samples, "compacted blocks");
        self.swap_blocks(&parent_ids, Some(Arc::new(merged)));
        for parent in parents {
            fs::remove_dir_durable(parent.dir())?;
        }
        self.counters.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Copies every series of `parents` (time-ordered, disjoint windows) into
/// `writer`, in ref order. A series whose chunks are on average less than
/// half full (low-frequency data cut into short windows), or with deleted
/// ranges in the window (applied here), is re-encoded into full chunks;
/// otherwise its sealed chunks are copied as they are.
fn copy_series(
    parents: &[Arc<Block>],
    writer: &mut BlockWriter,
    tombstones: &Tombstones,
    (mint, maxt): (i64, i64),
) -> Result<()> {
    let mut refs: Vec<SeriesRef> = parents.iter().flat_map(|b| b.series_refs()).collect();
    refs.sort_unstable();
    refs.dedup();
    let mut caches: Vec<FrameCache> = parents.iter().map(|_| FrameCache::unshared()).collect();
    let mut metas: Vec<ChunkMeta> = Vec::new();
    let mut chunks: Vec<(ChunkMeta, Vec<u8>)> = Vec::new();
    let mut samples = Vec::new();
    for sref in refs {
        chunks.clear();
        for (block, cache) in parents.iter().zip(caches.iter_mut()) {
            block.chunk_metas(sref, &mut metas)?;
            for meta in &metas {
                chunks.push((*meta, block.chunk_bytes(meta, cache)?.to_vec()));
            }
        }
        let total: usize = chunks.iter().map(|(m, _)| m.samples as usize).sum();
        let deleted = tombstones.overlaps(sref, mint, maxt);
        if deleted || (chunks.len() > 1 && total < chunks.len() * MAX_CHUNK_SAMPLES / 2) {
            samples.clear();
            for (meta, bytes) in &chunks {
                sealed::decode(bytes, &mut samples).map_err(|e| {
                    crate::Error::corruption("compaction input", meta.frame, format!("series {}: {e}", sref.0))
                })?;
            }
            tombstones.filter(sref, &mut samples);
            if !samples.is_empty() {
                writer.add_series(sref, &samples)?;
            }
        } else {
            let rollups = merged_rollups(parents, &mut caches, sref, writer.resolutions())?;
            let Some(newest) = newest_of(parents, &chunks, sref, &mut samples)? else { continue };
            writer.add_sealed_chunks(sref, chunks.iter().map(|(m, b)| (*m, b.as_slice())), &rollups, &newest)?;
        }
    }
    Ok(())
}

/// `sref`'s newest samples over `parents` (time-ordered, disjoint
/// windows): from their format 4 index entries, newest parent first; when
/// a parent predates format 4, decoded from `chunks` (the series' sealed
/// chunks over all parents, in time order) from the last back until a
/// sample that is not a staleness marker turns up.
fn newest_of(
    parents: &[Arc<Block>],
    chunks: &[(ChunkMeta, Vec<u8>)],
    sref: SeriesRef,
    samples: &mut Vec<crate::Sample>,
) -> Result<Option<EntryNewest>> {
    let mut last = None;
    let mut metas = Vec::new();
    for block in parents.iter().rev() {
        if !block.meta().version().has_newest_and_rollups_file() {
            return decode_newest(chunks, sref, samples);
        }
        // None: the parent does not hold the series.
        if let Some(found) = block.newest(sref, &mut metas)?.and_then(|entry| with_fresh(&mut last, entry)) {
            return Ok(Some(found));
        }
    }
    Ok(last.map(|last| EntryNewest { last, fresh: None }))
}

/// `found` (from a run older than those seen, whose newest sample is
/// `last` once set) as the answer, if it has a sample that is not a
/// staleness marker.
fn with_fresh(last: &mut Option<crate::Sample>, found: EntryNewest) -> Option<EntryNewest> {
    let last = *last.get_or_insert(found.last);
    found.fresh.map(|fresh| EntryNewest { last, fresh: Some(fresh) })
}

/// [`newest_of`] by decoding `chunks` from the last one back.
fn decode_newest(
    chunks: &[(ChunkMeta, Vec<u8>)],
    sref: SeriesRef,
    samples: &mut Vec<crate::Sample>,
) -> Result<Option<EntryNewest>> {
    let mut last = None;
    for (meta, bytes) in chunks.iter().rev() {
        samples.clear();
        sealed::decode(bytes, samples)
            .map_err(|e| crate::Error::corruption("compaction input", meta.frame, format!("series {}: {e}", sref.0)))?;
        if let Some(found) = EntryNewest::of(samples).and_then(|run| with_fresh(&mut last, run)) {
            return Ok(Some(found));
        }
    }
    Ok(last.map(|last| EntryNewest { last, fresh: None }))
}

/// `sref`'s rollups over all `parents` (disjoint windows, in time order):
/// read where a parent has them, computed from its samples where it does not
/// (format 1 blocks, 1 min rollups of blocks cut from the head, a gauge's
/// left-out correction). A parent's samples are decoded once for all
/// resolutions.
fn merged_rollups(
    parents: &[Arc<Block>],
    caches: &mut [FrameCache],
    sref: SeriesRef,
    resolutions: &[i64],
) -> Result<Vec<(i64, Vec<RollupBucket>)>> {
    let mut out = Vec::with_capacity(resolutions.len());
    let mut decoded: Vec<Option<Vec<Sample>>> = vec![None; parents.len()];
    for &res in resolutions {
        let mut buckets = Vec::new();
        for ((block, cache), samples) in parents.iter().zip(caches.iter_mut()).zip(decoded.iter_mut()) {
            if block.has_rollups(res)
                && block.read_rollups(sref, res, i64::MIN, i64::MAX, crate::RollupFields::ALL, cache, &mut buckets)?
            {
                continue;
            }
            let samples = match samples {
                Some(samples) => samples,
                None => {
                    let mut read = Vec::new();
                    block.read_series(sref, i64::MIN, i64::MAX, &mut Vec::new(), cache, &mut read)?;
                    samples.insert(read)
                }
            };
            buckets.extend(rollup::compute_for_storage(samples, res));
        }
        out.push((res, buckets));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;
    use crate::{Batch, Labels, Options, Sample, Storage};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 3_600_000;

    /// One series at 2 s for 10 h (30 samples a minute, enough for 1 min
    /// rollups), 2 h blocks compacted into 8 h.
    fn storage(dir: &std::path::Path, minute_rollups_for: Duration) -> Storage {
        let options = Options {
            background_maintenance: false,
            sync: crate::SyncMode::Never,
            compaction_spans: vec![Duration::from_secs(2 * 3600), Duration::from_secs(8 * 3600)],
            minute_rollups_for,
            ..Options::default()
        };
        let storage = Storage::open(dir, options).unwrap();
        let samples: Vec<Sample> = (0..10 * HOUR).step_by(2000).map(|t| Sample::new(t, (t % 7) as f64)).collect();
        let mut batch = Batch::new();
        batch.add(Labels::metric("m", [("a", "b")]), samples);
        storage.append(&batch).unwrap();
        storage.flush().unwrap();
        storage
    }

    /// For each block: (level, has 1 min rollups, has 1 h rollups).
    fn rollups_kept(storage: &Storage) -> Vec<(u32, bool, bool)> {
        let kept = |block: &Block, res: i64| {
            let sref = block.series_refs().next().unwrap();
            let mut cache = FrameCache::default();
            block
                // The count, as every blob keeps it (a gauge's correction may be left out).
                .read_rollups(sref, res, i64::MIN, i64::MAX, crate::RollupFields::COUNT, &mut cache, &mut Vec::new())
                .unwrap()
        };
        storage.inner.blocks().iter().map(|b| (b.meta().compaction.level, kept(b, MIN), kept(b, HOUR))).collect()
    }

    #[test]
    fn blocks_from_the_head_keep_hours_and_compaction_adds_recent_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let storage = storage(dir.path(), Duration::from_secs(7 * 24 * 3600));
        let flushed = rollups_kept(&storage);
        assert!(flushed.len() >= 4, "{flushed:?}");
        assert!(flushed.iter().all(|&k| k == (1, false, true)), "{flushed:?}");
        storage.compact().unwrap();
        assert_eq!(rollups_kept(&storage)[0], (2, true, true));
    }

    #[test]
    fn minute_rollups_expire_from_blocks_that_grow_old() {
        let dir = tempfile::tempdir().unwrap();
        let storage = storage(dir.path(), Duration::from_secs(7 * 24 * 3600));
        storage.compact().unwrap();
        assert_eq!(rollups_kept(&storage)[0], (2, true, true));
        let before = storage.select(&[crate::Matcher::equal("a", "b")], i64::MIN, i64::MAX).unwrap();
        // Eight days later the 8 h block is past the span: rewritten with 1 h rollups only.
        let mut batch = Batch::new();
        batch.push(Labels::metric("m", [("a", "c")]), 8 * 24 * HOUR, 1.0);
        storage.append(&batch).unwrap();
        storage.compact().unwrap();
        assert_eq!(rollups_kept(&storage)[0], (3, false, true));
        assert_eq!(storage.select(&[crate::Matcher::equal("a", "b")], i64::MIN, i64::MAX).unwrap(), before);
        // Once: the rewritten block is not rewritten again.
        let blocks = storage.inner.blocks();
        storage.compact().unwrap();
        assert!(Arc::ptr_eq(&blocks[0], &storage.inner.blocks()[0]));
    }

    #[test]
    fn compaction_of_data_older_than_the_minute_span_keeps_only_hours() {
        let dir = tempfile::tempdir().unwrap();
        // The merged window ends at 8 h, the newest sample is near 10 h.
        let storage = storage(dir.path(), Duration::from_secs(3600));
        storage.compact().unwrap();
        assert_eq!(rollups_kept(&storage)[0], (2, false, true));
    }
}
