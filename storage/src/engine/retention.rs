//! Retention: deletes whole blocks whose window ended more than the
//! retention period before the newest sample stored, then forgets series
//! that no longer have data anywhere, so the label index does not grow
//! forever under churn.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Inner;
use crate::block::Block;
use crate::series_key::SeriesKey;
use crate::Labels;
use crate::{fs, Result, SeriesRef};

impl Inner {
    /// The newest sample's time in `blocks` and the head (`i64::MIN` when
    /// there is none): what retention and the 1 min rollups measure from.
    pub(crate) fn newest_stored(&self, blocks: &[Arc<Block>]) -> i64 {
        blocks.iter().map(|b| b.meta().stats.data_maxt).max().unwrap_or(i64::MIN).max(self.head.maxt())
    }

    /// Returns how many blocks were deleted.
    pub(crate) fn apply_retention(&self) -> Result<usize> {
        if self.cfg.retention <= 0 {
            return Ok(0);
        }
        let _maintenance = self.maintenance.lock();
        let blocks = self.blocks();
        let newest = self.newest_stored(&blocks);
        if newest == i64::MIN {
            return Ok(0);
        }
        let cutoff = newest.saturating_sub(self.cfg.retention);
        let (expired, kept): (Vec<_>, Vec<_>) = blocks.iter().cloned().partition(|b| b.meta().maxt < cutoff);
        // Deleted ranges that end before the oldest block kept have nothing
        // left to hide once the expired blocks are unregistered (a kept block
        // may straddle the cutoff, so not `cutoff`; with no block kept the
        // head may hold anything, so nothing is forgotten).
        let oldest_kept = kept.iter().map(|b| b.meta().mint).min();
        if !expired.is_empty() {
            let ids: Vec<String> = expired.iter().map(|b| b.meta().ulid.clone()).collect();
            self.swap_blocks(&ids, None);
        }
        if let Some(oldest) = oldest_kept {
            self.tombstones.drop_before(oldest)?;
        }
        if expired.is_empty() {
            return Ok(0);
        }

        // Series of the expired blocks that live nowhere else are forgotten.
        let mut candidates: Vec<SeriesRef> = expired.iter().flat_map(|b| b.series_refs()).collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut metas = Vec::new();
        let mut gone = Vec::new();
        for sref in candidates {
            if self.head.get(sref).is_some() {
                continue;
            }
            let mut elsewhere = false;
            for block in &kept {
                block.chunk_metas(sref, &mut metas)?;
                if !metas.is_empty() {
                    elsewhere = true;
                    break;
                }
            }
            if !elsewhere {
                gone.push(sref);
            }
        }
        let keys = self.index.labels_keys_uncached(&gone)?;
        let doomed: Vec<(SeriesRef, Labels)> =
            gone.into_iter().zip(keys).filter_map(|(r, k)| Some((r, Labels::from_key(&k?).ok()?))).collect();
        {
            // Under the append lock, so no batch re-creates one of these series meanwhile.
            let _append = self.append.lock();
            let doomed: Vec<&(SeriesRef, Labels)> =
                doomed.iter().filter(|(r, _)| self.head.get(*r).is_none()).collect();
            self.index.delete(doomed.iter().map(|(r, l)| (*r, l)))?;
            let forgotten: Vec<SeriesRef> = doomed.iter().map(|(r, _)| *r).collect();
            self.tombstones.forget(&forgotten)?;
        }
        for block in &expired {
            fs::remove_dir_durable(block.dir())?;
            tracing::info!(block = %block.dir().display(), "deleted block past retention");
        }
        self.counters.blocks_deleted.fetch_add(expired.len() as u64, Ordering::Relaxed);
        Ok(expired.len())
    }
}
