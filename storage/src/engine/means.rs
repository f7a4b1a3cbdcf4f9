//! Window means for long histories (what the anomaly functions learn from
//! when their range is long): per series, the mean of each
//! `(end - resolution, end]` window ([`pulsedb_model::WindowMeans`]), from
//! the blocks' rollups where they keep them and from raw samples elsewhere
//! (the head, series with too few samples per bucket, deleted ranges).
//!
//! Series are read in runs of [`PARALLEL_RUN`], each run's samples and
//! buckets taken into means as they are read, so memory holds the means — a day of 1 s
//! samples is 1,440 points at 1 min — never a long raw history. A caller
//! that only needs something computed from each series' means (the
//! anomaly ranking: a score per series) passes a [`MeansMap`], run on
//! each series' means as its run is read, so even the means of a whole
//! selection are never held at once. Within a
//! run the head is read before the block list is taken, as in `select`, so
//! a concurrent flush cannot hide a sample.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pulsedb_model::WindowMeans;
use rayon::prelude::*;

use super::read::{SelectLimits, PARALLEL_RUN};
use super::Inner;
use crate::block::FrameCache;
use crate::head::MemSeries;
use crate::{Matcher, Result, RollupBucket, RollupFields, Sample, Series, SeriesRef};

/// Which summaries a selection's means may be read from (decided once per
/// selection): the blocks' rollups, the head's buckets.
#[derive(Clone, Copy)]
struct Summaries {
    rollups: bool,
    head_buckets: bool,
}

/// What a selection of window means does with one series' means
/// ([`Inner::map_window_means`]): its answer, in their place (`Ok` for
/// the means themselves).
pub(crate) type MeansMap<'a> = dyn Fn(Vec<Sample>) -> Result<Vec<Sample>> + Sync + 'a;

/// A series (when it is in the head: its labels come from its key) and its means.
type KeyedMeans = (Option<Arc<MemSeries>>, WindowMeans);

/// What a series' head gives its means: buckets from the chunks'
/// summaries, or raw samples where buckets cannot serve (deleted ranges, a
/// bucket led by a NaN, buckets that may straddle the blocks' end).
enum HeadMeans {
    Buckets(Vec<RollupBucket>),
    Samples(Vec<Sample>),
}

const MINUTE: i64 = 60_000;

/// What a window mean needs of a bucket.
const FIELDS: RollupFields = RollupFields::COUNT.with(RollupFields::SUM).with(RollupFields::FIRST);

impl Inner {
    /// See [`pulsedb_model::Querier::select_window_means`] (`visit` =
    /// `Ok`) and [`pulsedb_model::Querier::map_window_means`]: each
    /// series' means (those in `[mint, maxt]`) handed to `visit` once its
    /// run is read, and its answer kept in their place; in series-ref
    /// order. `limits.max_samples` counts the raw samples the means stand for.
    pub(crate) fn map_window_means(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        limits: &SelectLimits,
        visit: &MeansMap<'_>,
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
        // Blocks end on multiples of the block span (of today's, or of the
        // one they were written with): where the resolution does not divide
        // where they end, a head bucket can straddle the blocks' end and is
        // left out whole with the head samples after it, so read raw. A
        // flush meanwhile writes blocks that end on today's span.
        let head_buckets_fit = self.cfg.block_span % resolution == 0
            && self.blocks().iter().all(|b| b.meta().maxt.saturating_add(1).rem_euclid(resolution) == 0);
        // Buckets cannot leave deleted samples out: those series read raw.
        let deleted: Vec<bool> = refs.iter().map(|&r| self.tombstones.overlaps(r, from, maxt)).collect();
        let counted = AtomicUsize::new(0);
        let runs: Vec<Vec<Series>> = refs
            .par_chunks(PARALLEL_RUN)
            .zip(deleted.par_chunks(PARALLEL_RUN))
            .map(|(refs, deleted)| {
                let means = self.run_means(
                    refs,
                    deleted,
                    from,
                    maxt,
                    resolution,
                    Summaries { rollups: rollups_usable, head_buckets: head_buckets_fit },
                )?;
                // Saturating: bucket counts come from disk.
                let raw = means
                    .iter()
                    .fold(0usize, |n, (_, m)| n.saturating_add(m.samples().try_into().unwrap_or(usize::MAX)));
                limits.check(counted.fetch_add(raw, Ordering::Relaxed).saturating_add(raw))?;
                let (keys, means): (Vec<_>, Vec<_>) = means.into_iter().unzip();
                // Each series' means are visited as soon as they are cut to
                // the range, and dropped: a run's, never a selection's, are
                // held at once.
                let answers: Vec<Vec<Sample>> = means
                    .into_iter()
                    .map(|m| {
                        let mut means = m.finish();
                        means.retain(|s| s.t >= mint && s.t <= maxt);
                        if means.is_empty() {
                            Ok(means)
                        } else {
                            visit(means)
                        }
                    })
                    .collect::<Result<_>>()?;
                let labels = self.labels_for(refs, &keys, limits.only_labels.as_deref(), |i| !answers[i].is_empty())?;
                Ok(labels
                    .into_iter()
                    .zip(answers)
                    .filter_map(|(labels, samples)| Some(Series { labels: labels?, samples }))
                    .filter(|s| !s.samples.is_empty())
                    .collect())
            })
            .collect::<Result<_>>()?;
        Ok(runs.into_iter().flatten().collect())
    }

    /// Each of `refs`' window means from its buckets starting within
    /// `[from, maxt]` (the last may hold samples after `maxt`: only its
    /// first sample is used), with the series' head key when it is in the
    /// head. Blocks' raw samples go into the means directly: summarizing
    /// them into buckets first (80 bytes each, in vectors grown block by
    /// block) was a third of /api/v1/anomalies.
    fn run_means(
        &self,
        refs: &[SeriesRef],
        deleted: &[bool],
        from: i64,
        maxt: i64,
        resolution: i64,
        summaries: Summaries,
    ) -> Result<Vec<KeyedMeans>> {
        let mut raw = Vec::new();
        let mut out = Vec::with_capacity(refs.len());
        for (&sref, &deleted) in refs.iter().zip(deleted) {
            let Some(series) = self.head.get(sref) else {
                out.push((None, HeadMeans::Buckets(Vec::new())));
                continue;
            };
            let mut data = series.data.lock();
            let mut buckets = Vec::new();
            let by_buckets = !deleted && summaries.head_buckets;
            if by_buckets {
                data.read_buckets(from, maxt, resolution, &self.head.store, &mut buckets)?;
            }
            let head = if by_buckets && buckets.iter().all(WindowMeans::takes_exactly) {
                HeadMeans::Buckets(buckets)
            } else {
                let mut samples = Vec::new();
                data.read(from, maxt, &self.head.store, &mut samples)?;
                self.tombstones.filter(sref, &mut samples);
                HeadMeans::Samples(samples)
            };
            out.push((Some(series.clone()), head));
        }
        let blocks = self.blocks();
        let covered_until = blocks.iter().map(|b| b.meta().maxt.saturating_add(1)).max().unwrap_or(i64::MIN);
        let mut means: Vec<WindowMeans> = refs.iter().map(|_| WindowMeans::new(resolution)).collect();
        let mut rollups = Vec::new();
        for block in blocks.iter().filter(|b| b.overlaps(from, maxt)) {
            // A frame cache belongs to one block.
            let (mut cache, mut metas) = (FrameCache::default(), Vec::new());
            // Blocks cut from the head keep no 1 min rollups: asking each
            // series' entry for them first read every entry twice.
            let rollups_here = summaries.rollups
                && block.has_rollups(resolution)
                && (resolution != MINUTE || block.keeps_minute_rollups()?);
            for ((&sref, &deleted), means) in refs.iter().zip(deleted).zip(means.iter_mut()) {
                if rollups_here && !deleted {
                    rollups.clear();
                    if block.read_rollups(sref, resolution, from, maxt, FIELDS, &mut cache, &mut rollups)?
                        && rollups.iter().all(WindowMeans::takes_exactly)
                    {
                        rollups.iter().for_each(|b| means.add_bucket(b));
                        continue;
                    }
                }
                raw.clear();
                let until = maxt.saturating_add(resolution - 1);
                block.read_series(sref, from, until, &mut metas, &mut cache, &mut raw)?;
                if deleted {
                    self.tombstones.filter(sref, &mut raw);
                }
                means.add_samples(&raw);
            }
        }
        let out = out
            .into_iter()
            .zip(means)
            .map(|((key, head), mut means)| {
                match head {
                    HeadMeans::Buckets(b) => {
                        b.iter().filter(|b| b.start >= covered_until).for_each(|b| means.add_bucket(b))
                    }
                    HeadMeans::Samples(s) => {
                        s.iter().filter(|s| s.t >= covered_until).for_each(|&s| means.add_sample(s))
                    }
                }
                (key, means)
            })
            .collect();
        Ok(out)
    }
}
