//! The read path: matchers → postings (label index) → samples from the
//! head, then from the blocks, merged per series in time order.
//!
//! ```text
//! select(matchers, mint, maxt) → index postings → head reads → block snapshot
//!   → per block: chunk table → frames (decompressed once) → sealed chunks
//!   → merge per series (duplicates resolved, head wins) → in series-ref order
//!     (creation order, as Prometheus' head returns series; `select` sorts by labels)
//! ```
//! The head is read before the block list is taken: a flush registers its
//! block before it drops the data from the head, so every sample is seen
//! in at least one of the two.

use std::collections::BTreeSet;
use std::sync::Arc;

use rayon::prelude::*;

use super::Inner;
use crate::block::{FrameCache, SeriesScratch};
use crate::head::{MemSeries, SeriesData};
use crate::series_key::SeriesKey;
use crate::Matcher;
use crate::{Error, Result, Sample, SeriesRef};
use crate::{Labels, Series};
use crate::{RollupBucket, RollupFields, RollupSeries};
use pulsedb_model::Newest;

/// What a run of series read from blocks goes into, and their refs.
pub(super) type SeriesRun<'a> = (&'a mut [Vec<Sample>], &'a [SeriesRef]);

/// A series (when in the head: its labels are decoded from its key) and
/// what was read of it there.
pub(super) type HeadRead<T> = (Option<Arc<MemSeries>>, Vec<T>);

/// Bounds on the work of one selection (from the query engine's hints).
#[derive(Clone, Debug, Default)]
pub(crate) struct SelectLimits {
    pub(crate) max_samples: Option<usize>,
    pub(crate) deadline: Option<std::time::Instant>,
    /// Only these series (a caller's share of a large selection).
    pub(crate) shard: Option<pulsedb_model::Shard>,
    /// Only each series' newest sample is wanted.
    pub(crate) newest: Option<Newest>,
    /// Only these labels are wanted ([`pulsedb_model::SelectHints::only_labels`]).
    pub(crate) only_labels: Option<Vec<String>>,
}

impl SelectLimits {
    pub(super) fn check(&self, samples: usize) -> Result<()> {
        if let Some(limit) = self.max_samples.filter(|&l| samples > l) {
            return Err(Error::Model(pulsedb_model::Error::TooManySamples { limit }));
        }
        if self.deadline.is_some_and(|d| std::time::Instant::now() > d) {
            return Err(Error::Model(pulsedb_model::Error::DeadlineExceeded));
        }
        Ok(())
    }
}

/// Series read by one parallel task (sharing one frame cache).
pub(super) const PARALLEL_RUN: usize = 64;

/// Whether reading `series` series over `[mint, maxt]` is worth the
/// pool's threads. Handing work to them costs a wake-up and a wait each
/// time (futex and `sched_yield` in the profiles of small suite queries),
/// more than reading a few series over a short span; a long span is worth
/// it even for a few (5 series over 12 h of 1 s samples read twice as
/// fast on 2 cores). Without sample counts before reading, the span
/// stands in for each series' samples.
pub(super) fn worth_parallel(series: usize, mint: i64, maxt: i64, newest_only: bool) -> bool {
    const SERIES: usize = 2 * PARALLEL_RUN;
    const SERIES_MINUTES: i64 = 500;
    let minutes = maxt.saturating_sub(mint) / 60_000;
    series >= SERIES || (series >= 2 && !newest_only && (series as i64).saturating_mul(minutes) >= SERIES_MINUTES)
}

/// Whether reading buckets of `series` series over `[mint, maxt]` is worth
/// the pool's threads. Less often than samples: a closed head chunk's
/// minute summaries are read, not decoded, so only the open chunk costs
/// per sample, and handing over 5 series' reads took a fifth of a
/// `single-groupby-5-1-12` query over HTTP (`sched_yield` of idle pool
/// threads on 2 cores).
fn worth_parallel_buckets(series: usize, mint: i64, maxt: i64) -> bool {
    const SERIES: usize = 16;
    series >= SERIES && worth_parallel(series, mint, maxt, false)
}

/// Whether the block reads of `series` series go to the pool: they are
/// handed over in runs of [`PARALLEL_RUN`], so fewer series make one run,
/// on one thread, for the cost of the hand-over.
fn blocks_in_parallel(parallel: bool, series: usize) -> bool {
    parallel && series > PARALLEL_RUN
}

/// `f` of every series ref, in order; on the pool's threads when `parallel`.
fn map_refs<R: Send>(
    parallel: bool,
    refs: &[SeriesRef],
    f: impl Fn(&SeriesRef) -> Result<R> + Sync + Send,
) -> Result<Vec<R>> {
    if parallel {
        refs.par_iter().map(f).collect()
    } else {
        refs.iter().map(f).collect()
    }
}

impl Inner {
    pub(crate) fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>> {
        let mut out = self.select_limited(matchers, mint, maxt, &SelectLimits::default())?;
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    /// [`Inner::select`] in series-ref order, failing as soon as the samples read pass
    /// `limits.max_samples` or the clock passes `limits.deadline` (checked
    /// after the head and after each block, so no read runs long past them).
    pub(crate) fn select_limited(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        limits: &SelectLimits,
    ) -> Result<Vec<Series>> {
        // With deleted ranges, every sample is read (the newest might be a
        // deleted one) and filtered after the merge. Looked at once: a
        // delete landing between two looks would filter away the one
        // newest sample read and leave the series empty.
        let deletions = !self.tombstones.is_empty();
        if let Some(which) = limits.newest.filter(|_| !deletions) {
            let newest = self.newest_without_deletions(matchers, mint, maxt, which, limits)?;
            return Ok(newest.into_iter().map(|s| Series { labels: s.labels, samples: vec![s.sample] }).collect());
        }
        self.check_open()?;
        let mut refs = self.index.postings(matchers)?;
        if let Some(shard) = limits.shard {
            refs.retain(|&r| shard.holds(r));
        }
        // Series are read in parallel, in runs that share a frame cache
        // (neighbouring series share compressed frames).
        let parallel = worth_parallel(refs.len(), mint, maxt, false);
        // A selection that keeps no label needs no key.
        let keys_needed = limits.only_labels.as_ref().is_none_or(|names| !names.is_empty());
        let read_head = |&sref: &SeriesRef| -> Result<HeadRead<Sample>> {
            let mut out = Vec::new();
            let mut read = |series: &Arc<MemSeries>, data: &SeriesData| -> Result<Option<Arc<MemSeries>>> {
                data.read(mint, maxt, &self.head.store, &mut out)?;
                Ok(keys_needed.then(|| Arc::clone(series)))
            };
            let key = match self.head.with(sref, |series| series.data.try_lock().map(|data| read(series, &data))) {
                None => None,
                Some(Some(key)) => key?,
                // An append holds the series: wait for it outside the head's
                // shard lock (see `Head::with`).
                Some(None) => match self.head.get(sref) {
                    Some(series) => {
                        let data = series.data.lock();
                        read(&series, &data)?
                    }
                    None => None,
                },
            };
            Ok((key, out))
        };
        let head = map_refs(parallel, &refs, read_head)?;
        let (head_keys, head_samples): (Vec<_>, Vec<_>) = head.into_iter().unzip();
        let head_count: usize = head_samples.iter().map(Vec::len).sum();
        limits.check(head_count)?;
        let blocks = self.blocks();
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); refs.len()];
        for block in blocks.iter().filter(|b| b.overlaps(mint, maxt)) {
            let read_run = |(out, refs): SeriesRun<'_>| {
                let (mut cache, mut metas) = (FrameCache::default(), Vec::new());
                for (o, &sref) in out.iter_mut().zip(refs) {
                    block.read_series(sref, mint, maxt, &mut metas, &mut cache, o)?;
                }
                Ok::<_, Error>(())
            };
            if blocks_in_parallel(parallel, refs.len()) {
                samples.par_chunks_mut(PARALLEL_RUN).zip(refs.par_chunks(PARALLEL_RUN)).try_for_each(read_run)?;
            } else {
                read_run((&mut samples, &refs))?;
            }
            limits.check(head_count + samples.iter().map(Vec::len).sum::<usize>())?;
        }
        let merge = |(merged, head): (&mut Vec<Sample>, Vec<Sample>)| merge_head(merged, head);
        if parallel {
            samples.par_iter_mut().zip(head_samples).for_each(merge);
        } else {
            samples.iter_mut().zip(head_samples).for_each(merge);
        }
        if deletions || !self.tombstones.is_empty() {
            for (s, &sref) in samples.iter_mut().zip(&refs) {
                self.tombstones.filter(sref, s);
            }
        }
        let labels = self.labels_for(&refs, &head_keys, limits.only_labels.as_deref(), |i| !samples[i].is_empty())?;
        let out: Vec<Series> = labels
            .into_iter()
            .zip(samples)
            .filter_map(|(labels, samples)| Some(Series { labels: labels?, samples }).filter(|s| !s.samples.is_empty()))
            .collect();
        // Postings are in ref order, which is creation order: the query
        // engine adds floats in this order, as Prometheus does.
        Ok(out)
    }

    pub(crate) fn select_rollups(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        fields: RollupFields,
    ) -> Result<Option<Vec<RollupSeries>>> {
        self.check_open()?;
        if !crate::RESOLUTIONS.contains(&resolution) || self.cfg.block_span % resolution != 0 {
            return Ok(None);
        }
        // Blocks written with another block span before a reopen may start
        // or end inside a bucket, which would then come in two parts: the
        // raw plan answers. (A flush meanwhile writes blocks of today's span.)
        let aligned = |t: i64| t.rem_euclid(resolution) == 0;
        if !self.blocks().iter().all(|b| aligned(b.meta().mint) && aligned(b.meta().maxt.saturating_add(1))) {
            return Ok(None);
        }
        let refs = self.index.postings(matchers)?;
        // Buckets cannot leave deleted samples out: the raw plan answers.
        let until = maxt.saturating_add(resolution - 1);
        if refs.iter().any(|&r| self.tombstones.overlaps(r, mint, until)) {
            return Ok(None);
        }
        // The head first, then the block list, as in `select`; many series in parallel.
        let parallel = worth_parallel_buckets(refs.len(), mint, until);
        let read_head = |&sref: &SeriesRef| -> Result<HeadRead<RollupBucket>> {
            let Some(series) = self.head.get(sref) else { return Ok((None, Vec::new())) };
            let mut buckets = Vec::new();
            series.data.lock().read_buckets(mint, until, resolution, &self.head.store, &mut buckets)?;
            Ok((Some(series), buckets))
        };
        let head = map_refs(parallel, &refs, read_head)?;
        let (head_keys, head_buckets): (Vec<_>, Vec<_>) = head.into_iter().unzip();
        let blocks = self.blocks();
        let mut buckets: Vec<Vec<RollupBucket>> = vec![Vec::new(); refs.len()];
        let covered_until = blocks.iter().map(|b| b.meta().maxt.saturating_add(1)).max().unwrap_or(i64::MIN);
        for block in blocks.iter().filter(|b| b.overlaps(mint, maxt)) {
            let read_run = |(out, refs): (&mut [Vec<RollupBucket>], &[SeriesRef])| {
                let (mut cache, mut scratch) = (FrameCache::default(), SeriesScratch::default());
                for (o, &sref) in out.iter_mut().zip(refs) {
                    if block.has_rollups(resolution)
                        && block.read_rollups_shared(sref, resolution, (mint, maxt), fields, &mut cache, o)?
                    {
                        continue;
                    }
                    block.summarize_series(sref, (mint, maxt), resolution, fields, &mut cache, &mut scratch, o)?;
                }
                Ok::<_, Error>(())
            };
            if blocks_in_parallel(parallel, refs.len()) {
                buckets.par_chunks_mut(PARALLEL_RUN).zip(refs.par_chunks(PARALLEL_RUN)).try_for_each(read_run)?;
            } else {
                read_run((&mut buckets, &refs))?;
            }
        }
        for (merged, head) in buckets.iter_mut().zip(head_buckets) {
            merged.extend(head.into_iter().filter(|b| b.start >= covered_until && b.start <= maxt));
        }
        let labels = self.labels_for(&refs, &head_keys, None, |i| !buckets[i].is_empty())?;
        let out: Vec<RollupSeries> = labels
            .into_iter()
            .zip(buckets)
            .filter_map(|(labels, buckets)| {
                Some(RollupSeries { labels: labels?, buckets }).filter(|s| !s.buckets.is_empty())
            })
            .collect();
        Ok(Some(out))
    }

    /// Label sets of series with at least one sample in `[mint, maxt]`.
    pub(crate) fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>> {
        self.check_open()?;
        let refs = self.index.postings(matchers)?;
        let mut present = vec![false; refs.len()];
        let mut head_keys: Vec<Option<Arc<MemSeries>>> = vec![None; refs.len()];
        for (i, &sref) in refs.iter().enumerate() {
            if let Some(series) = self.head.get(sref) {
                present[i] = series.data.lock().overlaps(mint, maxt);
                head_keys[i] = Some(series);
            }
        }
        let mut metas = Vec::new();
        for block in self.blocks().iter().filter(|b| b.overlaps(mint, maxt)) {
            for (i, &sref) in refs.iter().enumerate() {
                if !present[i] {
                    block.chunk_metas(sref, &mut metas)?;
                    present[i] = metas.iter().any(|c| c.maxt >= mint && c.mint <= maxt);
                }
            }
        }
        // A series with deleted ranges is there only if a sample is left.
        for (i, &sref) in refs.iter().enumerate() {
            if present[i] && self.tombstones.overlaps(sref, mint, maxt) {
                present[i] = !self.read_one(sref, mint, maxt)?.is_empty();
            }
        }
        let labels = self.labels_for(&refs, &head_keys, None, |i| present[i])?;
        let mut out: Vec<Labels> = labels.into_iter().flatten().collect();
        out.sort();
        Ok(out)
    }

    /// One series' samples in `[mint, maxt]`, deleted ranges left out.
    fn read_one(&self, sref: SeriesRef, mint: i64, maxt: i64) -> Result<Vec<Sample>> {
        let mut out = Vec::new();
        let mut metas = Vec::new();
        for block in self.blocks().iter().filter(|b| b.overlaps(mint, maxt)) {
            // A cache per block: frame offsets repeat across blocks.
            block.read_series(sref, mint, maxt, &mut metas, &mut FrameCache::default(), &mut out)?;
        }
        if let Some(series) = self.head.get(sref) {
            let mut head = Vec::new();
            series.data.lock().read(mint, maxt, &self.head.store, &mut head)?;
            merge_head(&mut out, head);
        }
        self.tombstones.filter(sref, &mut out);
        Ok(out)
    }

    pub(crate) fn label_names(&self) -> Result<Vec<String>> {
        self.check_open()?;
        self.index.label_names()
    }

    /// Values of `name` among series matching `matchers` (all series when empty).
    pub(crate) fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        self.check_open()?;
        if matchers.is_empty() {
            return self.index.label_values(name);
        }
        let refs = self.index.postings(matchers)?;
        let keys = vec![None; refs.len()];
        let values: BTreeSet<String> = self
            .labels_for(&refs, &keys, Some(&[name.to_string()]), |_| true)?
            .into_iter()
            .flatten()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        Ok(values.into_iter().collect())
    }

    /// Labels of `refs[i]` where `wanted(i)`, from the head's key when
    /// known, else from the index in one batched read.
    /// The labels of `refs` that are `wanted` (from the head's keys where
    /// given, else from the index), only the names in `only` when given.
    pub(super) fn labels_for(
        &self,
        refs: &[SeriesRef],
        head_keys: &[Option<Arc<MemSeries>>],
        only: Option<&[String]>,
        wanted: impl Fn(usize) -> bool,
    ) -> Result<Vec<Option<Labels>>> {
        let mut out: Vec<Option<Labels>> = vec![None; refs.len()];
        if only.is_some_and(<[String]>::is_empty) {
            // No label kept: nothing to decode, nor to look up.
            for (i, labels) in out.iter_mut().enumerate() {
                *labels = wanted(i).then(Labels::default);
            }
            return Ok(out);
        }
        let (mut missing, mut key) = (Vec::new(), Vec::new());
        for (i, series) in head_keys.iter().enumerate() {
            if !wanted(i) {
                continue;
            }
            match series {
                Some(series) => {
                    key.clear();
                    series.key.write_to(&mut key);
                    out[i] = Some(self.decode_labels(&key, only)?);
                }
                None => missing.push(i),
            }
        }
        let missing_refs: Vec<SeriesRef> = missing.iter().map(|&i| refs[i]).collect();
        for (i, key) in missing.into_iter().zip(self.index.labels_keys(&missing_refs)?) {
            if let Some(key) = key {
                out[i] = Some(self.decode_labels(&key, only)?);
            }
        }
        Ok(out)
    }

    fn decode_labels(&self, key: &[u8], only: Option<&[String]>) -> Result<Labels> {
        match only {
            None => Labels::from_key(key),
            Some(names) => Labels::from_key_only(key, names),
        }
        .map_err(|e| Error::corruption(self.dir.join(super::INDEX_DIR), e.offset as u64, e.to_string()))
    }
}

/// Appends head samples after block samples; where they overlap (a window
/// flushed while we read), sorts and keeps the head's value per timestamp.
fn merge_head(merged: &mut Vec<Sample>, head: Vec<Sample>) {
    if head.is_empty() {
        return;
    }
    if merged.is_empty() {
        *merged = head;
        return;
    }
    let overlap = merged.last().is_some_and(|last| head.first().is_some_and(|first| first.t <= last.t));
    merged.extend(head);
    if overlap {
        // Stable: for equal timestamps the head sample (later) comes last.
        merged.sort_by_key(|s| s.t);
        let mut out: Vec<Sample> = Vec::with_capacity(merged.len());
        for s in merged.drain(..) {
            match out.last_mut() {
                Some(last) if last.t == s.t => *last = s,
                _ => out.push(s),
            }
        }
        *merged = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_wins_on_overlap() {
        let mut blocks = vec![Sample::new(1, 1.0), Sample::new(2, 2.0)];
        merge_head(&mut blocks, vec![Sample::new(2, 20.0), Sample::new(3, 30.0)]);
        assert_eq!(blocks, vec![Sample::new(1, 1.0), Sample::new(2, 20.0), Sample::new(3, 30.0)]);
    }
}
