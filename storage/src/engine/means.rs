//! Window means for long histories (what the anomaly functions learn from
//! when their range is long): per series, the mean of each
//! `(end - resolution, end]` window ([`pulsedb_model::window_means`]), from
//! the blocks' rollups where they keep them and from raw samples elsewhere
//! (the head, series with too few samples per bucket, deleted ranges).
//!
//! Series are read in runs of [`PARALLEL_RUN`], each run's buckets turned
//! into means before the next, so memory holds the means — a day of 1 s
//! samples is 1,440 points at 1 min — never a long raw history. Within a
//! run the head is read before the block list is taken, as in `select`, so
//! a concurrent flush cannot hide a sample.

use std::sync::atomic::{AtomicUsize, Ordering};

use pulsedb_model::{summarize, summarize_into, window_means};
use rayon::prelude::*;

use super::read::{HeadRead, SelectLimits, PARALLEL_RUN};
use super::Inner;
use crate::block::FrameCache;
use crate::{Matcher, Result, RollupBucket, RollupFields, Sample, Series, SeriesRef};

/// What a window mean needs of a bucket.
const FIELDS: RollupFields = RollupFields::COUNT.with(RollupFields::SUM).with(RollupFields::FIRST);

impl Inner {
    /// See [`pulsedb_model::Querier::select_window_means`]; in series-ref
    /// order. `limits.max_samples` counts the raw samples the means stand for.
    pub(crate) fn select_window_means(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        limits: &SelectLimits,
    ) -> Result<Vec<Series>> {
        self.check_open()?;
        let resolution = resolution.max(1);
        // The first bucket a window ending at or after `mint` draws on.
        let from = (mint.saturating_sub(resolution)).div_euclid(resolution) * resolution;
        let mut refs = self.index.postings(matchers)?;
        if let Some(shard) = limits.shard {
            refs.retain(|&r| shard.holds(r));
        }
        let rollups_usable = crate::RESOLUTIONS.contains(&resolution) && self.cfg.block_span % resolution == 0;
        // Buckets cannot leave deleted samples out: those series read raw.
        let deleted: Vec<bool> = refs.iter().map(|&r| self.tombstones.overlaps(r, from, maxt)).collect();
        let counted = AtomicUsize::new(0);
        let runs: Vec<Vec<Series>> = refs
            .par_chunks(PARALLEL_RUN)
            .zip(deleted.par_chunks(PARALLEL_RUN))
            .map(|(refs, deleted)| {
                let buckets = self.run_buckets(refs, deleted, from, maxt, resolution, rollups_usable)?;
                let (keys, buckets): (Vec<_>, Vec<_>) = buckets.into_iter().unzip();
                let raw: usize = buckets.iter().flatten().map(|b| b.count as usize).sum();
                limits.check(counted.fetch_add(raw, Ordering::Relaxed) + raw)?;
                let means: Vec<Vec<Sample>> = buckets
                    .iter()
                    .map(|b| window_means(b, resolution).into_iter().filter(|s| s.t >= mint && s.t <= maxt).collect())
                    .collect();
                let labels = self.labels_for(refs, &keys, |i| !means[i].is_empty())?;
                Ok(labels
                    .into_iter()
                    .zip(means)
                    .filter_map(|(labels, samples)| Some(Series { labels: labels?, samples }))
                    .filter(|s| !s.samples.is_empty())
                    .collect())
            })
            .collect::<Result<_>>()?;
        Ok(runs.into_iter().flatten().collect())
    }

    /// Each of `refs`' buckets starting within `[from, maxt]` (the last may
    /// hold samples after `maxt`: only its first sample is used), with the
    /// series' head key when it is in the head.
    fn run_buckets(
        &self,
        refs: &[SeriesRef],
        deleted: &[bool],
        from: i64,
        maxt: i64,
        resolution: i64,
        rollups_usable: bool,
    ) -> Result<Vec<HeadRead<RollupBucket>>> {
        let mut raw = Vec::new();
        let mut out = Vec::with_capacity(refs.len());
        for (&sref, &deleted) in refs.iter().zip(deleted) {
            let Some(series) = self.head.get(sref) else {
                out.push((None, Vec::new()));
                continue;
            };
            let buckets = if deleted {
                raw.clear();
                series.data.lock().read(from, maxt, &self.head.store, &mut raw)?;
                self.tombstones.filter(sref, &mut raw);
                summarize(&raw, resolution)
            } else {
                let mut buckets = Vec::new();
                series.data.lock().read_buckets(from, maxt, resolution, &self.head.store, &mut buckets)?;
                buckets
            };
            out.push((Some(series.key.clone()), buckets));
        }
        let blocks = self.blocks();
        let covered_until = blocks.iter().map(|b| b.meta().maxt.saturating_add(1)).max().unwrap_or(i64::MIN);
        let mut merged: Vec<Vec<RollupBucket>> = vec![Vec::new(); refs.len()];
        for block in blocks.iter().filter(|b| b.overlaps(from, maxt)) {
            // A frame cache belongs to one block.
            let (mut cache, mut metas) = (FrameCache::default(), Vec::new());
            for ((&sref, &deleted), merged) in refs.iter().zip(deleted).zip(merged.iter_mut()) {
                if rollups_usable
                    && !deleted
                    && block.has_rollups(resolution)
                    && block.read_rollups(sref, resolution, from, maxt, FIELDS, &mut cache, merged)?
                {
                    continue;
                }
                raw.clear();
                let until = maxt.saturating_add(resolution - 1);
                block.read_series(sref, from, until, &mut metas, &mut cache, &mut raw)?;
                if deleted {
                    self.tombstones.filter(sref, &mut raw);
                }
                // Into the series' buckets directly: a vector per block,
                // extended into a growing one, was 6 % of /api/v1/anomalies.
                summarize_into(merged, &raw, resolution);
            }
        }
        for ((_, head), mut merged) in out.iter_mut().zip(merged) {
            merged.extend(head.drain(..).filter(|b| b.start >= covered_until));
            *head = merged;
        }
        Ok(out)
    }
}
