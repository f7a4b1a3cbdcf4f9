//! Newest-sample reads (`SelectHints::newest`, `Querier::select_newest`:
//! an instant selector, `last_over_time` or an aggregation over a selector
//! at one time): each series' newest sample in the head, then the blocks
//! after it, newest first, until one holds an accepted sample in the
//! range. A format 4 block answers from the series' index entry when its
//! newest sample lies within the range's end, without decompressing a
//! frame; otherwise the series' chunks in the range are read. One sample
//! per series, no vector each. Where ranges are deleted, every sample is
//! read and filtered instead, then the newest taken.

use std::sync::Arc;

use rayon::prelude::*;

use super::read::{worth_parallel, SelectLimits, PARALLEL_RUN};
use super::Inner;
use crate::block::{Block, FrameCache};
use crate::head::MemSeries;
use crate::{Labels, Matcher, Result, Sample, SeriesRef};
use pulsedb_model::{Newest, RollupBucket, RollupFields, SeriesSample};

/// Refs whose head series one task reads: a page of the head's ref table
/// (a newest-sample read costs little per series: larger tasks than block
/// reads take).
const HEAD_RUN: usize = 256;

impl Inner {
    /// [`pulsedb_model::Querier::select_newest`] within `limits`: per
    /// matching series, its newest sample in `[mint, maxt]` that `which`
    /// accepts, in series-ref order. No vector per series: `count(m)`
    /// over a million series spent a third of its time allocating,
    /// filling and freeing them.
    pub(crate) fn select_newest(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        which: Newest,
        limits: &SelectLimits,
    ) -> Result<Vec<SeriesSample>> {
        if !self.tombstones.is_empty() {
            // The newest sample might be a deleted one: every sample is
            // read and filtered (as `select_limited` does when it sees
            // deletions), then the newest taken.
            let all = SelectLimits { newest: None, ..limits.clone() };
            let series = self.select_limited(matchers, mint, maxt, &all)?;
            return Ok(series.into_iter().filter_map(|s| SeriesSample::newest_of(s, which)).collect());
        }
        self.newest_without_deletions(matchers, mint, maxt, which, limits)
    }

    /// [`Inner::select_newest`] for a store whose tombstones were seen empty.
    pub(super) fn newest_without_deletions(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        which: Newest,
        limits: &SelectLimits,
    ) -> Result<Vec<SeriesSample>> {
        self.check_open()?;
        let mut refs = self.index.postings(matchers)?;
        if let Some(shard) = limits.shard {
            refs.retain(|&r| shard.holds(r));
        }
        let parallel = worth_parallel(refs.len(), mint, maxt, true);
        let no_labels = limits.only_labels.as_ref().is_some_and(Vec::is_empty);
        let mut found: Vec<Option<Sample>> = vec![None; refs.len()];
        // The head's series, for their labels (decoded from their keys).
        let mut keys: Vec<Option<Arc<MemSeries>>> = vec![None; if no_labels { 0 } else { refs.len() }];
        let read_head = |refs: &[SeriesRef], found: &mut [Option<Sample>], keys: &mut [Option<Arc<MemSeries>>]| {
            self.newest_in_head(refs, mint, maxt, which, found, keys)
        };
        if !parallel {
            read_head(&refs, &mut found, &mut keys)?;
        } else if no_labels {
            found
                .par_chunks_mut(HEAD_RUN)
                .zip(refs.par_chunks(HEAD_RUN))
                .try_for_each(|(f, r)| read_head(r, f, &mut []))?;
        } else {
            let runs = found.par_chunks_mut(HEAD_RUN).zip(keys.par_chunks_mut(HEAD_RUN));
            runs.zip(refs.par_chunks(HEAD_RUN)).try_for_each(|((f, k), r)| read_head(r, f, k))?;
        }
        limits.check(found.iter().flatten().count())?;
        let blocks = self.blocks();
        if blocks.iter().any(|b| b.overlaps(mint, maxt)) {
            newest_from_blocks(&blocks, &refs, mint, maxt, which, parallel, &mut found)?;
            limits.check(found.iter().flatten().count())?;
        }
        if no_labels {
            return Ok(found
                .into_iter()
                .flatten()
                .map(|sample| SeriesSample { labels: Labels::default(), sample })
                .collect());
        }
        let labels = self.labels_for(&refs, &keys, limits.only_labels.as_deref(), |i| found[i].is_some())?;
        Ok(labels
            .into_iter()
            .zip(found)
            .filter_map(|(labels, sample)| Some(SeriesSample { labels: labels?, sample: sample? }))
            .collect())
    }

    /// Puts into `found[i]` the newest sample in `[mint, maxt]` that
    /// `which` accepts of the head's series under `refs[i]`, and into
    /// `keys[i]` (when `keys` is not empty) that series. A page of refs is
    /// looked up under one lock; a series whose data an append holds is
    /// read after, outside the head's locks (see `Head::with`).
    fn newest_in_head(
        &self,
        refs: &[SeriesRef],
        mint: i64,
        maxt: i64,
        which: Newest,
        found: &mut [Option<Sample>],
        keys: &mut [Option<Arc<MemSeries>>],
    ) -> Result<()> {
        let fresh = which == Newest::NotStale;
        let keep_keys = !keys.is_empty();
        let (mut held, mut failed) = (Vec::new(), None);
        self.head.for_each(refs.iter().copied().zip(0..), |_, i, series| {
            let Some(series) = series else { return true };
            let Some(data) = series.data.try_lock() else {
                held.push(i);
                return true;
            };
            match data.newest_sample(mint, maxt, fresh, &self.head.store) {
                Ok(sample) => found[i] = sample,
                Err(e) => failed = Some(e),
            }
            if keep_keys {
                keys[i] = Some(Arc::clone(series));
            }
            failed.is_none()
        });
        if let Some(e) = failed {
            return Err(e);
        }
        for i in held {
            if let Some(series) = self.head.get(refs[i]) {
                found[i] = series.data.lock().newest_sample(mint, maxt, fresh, &self.head.store)?;
                if keep_keys {
                    keys[i] = Some(series);
                }
            }
        }
        Ok(())
    }
}

/// Replaces `found[i]` (the head's newest sample of `refs[i]` in
/// `[mint, maxt]`, if any) with a newer one that `which` accepts, if a
/// block holds one: blocks matter only after the head's newest sample.
/// (A head staleness marker after it, over a block value at the same
/// time, would be missed: it cannot happen, as a flush raises the head's
/// lower bound before it writes a block, so head and block never hold
/// different samples for one time.) `blocks` are in time order with
/// disjoint windows.
pub(super) fn newest_from_blocks(
    blocks: &[Arc<Block>],
    refs: &[SeriesRef],
    mint: i64,
    maxt: i64,
    which: Newest,
    parallel: bool,
    found: &mut [Option<Sample>],
) -> Result<()> {
    let read_run = |(found, refs): (&mut [Option<Sample>], &[SeriesRef])| {
        let mut caches: Vec<FrameCache> = blocks.iter().map(|_| FrameCache::default()).collect();
        let (mut metas, mut buckets, mut read) = (Vec::new(), Vec::new(), Vec::new());
        for (o, &sref) in found.iter_mut().zip(refs) {
            let from = o.map_or(mint, |s| s.t.saturating_add(1).max(mint));
            for (block, cache) in blocks.iter().zip(caches.iter_mut()).rev() {
                if !block.overlaps(from, maxt) {
                    continue;
                }
                if let Some(newest) = block.newest(sref, &mut metas)?.filter(|n| n.last.t <= maxt) {
                    match newest.get(which) {
                        Some(s) if s.t >= from => *o = Some(s),
                        // Older blocks hold only older samples.
                        Some(_) => {}
                        // Only staleness markers here; an older block may have more.
                        None => continue,
                    }
                    break;
                }
                if which == Newest::NotStale {
                    if let Some(in_block) = newest_from_minutes(block, sref, from, maxt, cache, &mut buckets)? {
                        if in_block.is_some() {
                            *o = in_block;
                            break;
                        }
                        continue;
                    }
                }
                read.clear();
                block.read_series(sref, from, maxt, &mut metas, cache, &mut read)?;
                if let Some(s) = read.iter().rev().find(|s| which.accepts(s.v)) {
                    *o = Some(*s);
                    break;
                }
            }
        }
        Ok(())
    };
    if parallel {
        found.par_chunks_mut(PARALLEL_RUN).zip(refs.par_chunks(PARALLEL_RUN)).try_for_each(read_run)
    } else {
        read_run((found, refs))
    }
}

/// The newest sample of `sref` in `[from, maxt]` that is not a staleness
/// marker, from the block's minute rollups (a bucket's last sample, or the
/// first of the bucket starting at `maxt` when it lies on `maxt`): `None`
/// when they cannot say (no minute rollups for the series, or `maxt` not
/// on a minute, whose bucket would hold later samples too), else what the
/// block holds in the range. `last_over_time` at a minute before the
/// block's newest sample (a dashboard's instant query, lastpoint) then
/// reads a few buckets instead of decoding a 2,048-sample chunk per series.
fn newest_from_minutes(
    block: &Block,
    sref: SeriesRef,
    from: i64,
    maxt: i64,
    cache: &mut FrameCache,
    buckets: &mut Vec<RollupBucket>,
) -> Result<Option<Option<Sample>>> {
    const MINUTE: i64 = 60_000;
    if maxt.rem_euclid(MINUTE) != 0 || from > maxt || !block.has_rollups(MINUTE) {
        return Ok(None);
    }
    buckets.clear();
    let fields = RollupFields::COUNT.with(RollupFields::FIRST).with(RollupFields::LAST);
    let first_bucket = from.div_euclid(MINUTE).saturating_mul(MINUTE);
    if !block.read_rollups(sref, MINUTE, first_bucket, maxt, fields, cache, buckets)? {
        return Ok(None);
    }
    // Buckets leave staleness markers out, so their ends are fresh samples.
    let on_maxt = buckets.last().filter(|b| b.start == maxt && b.count > 0 && b.first.t == maxt).map(|b| b.first);
    let before = buckets.iter().rev().find(|b| b.start < maxt && b.count > 0).map(|b| b.last);
    Ok(Some(on_maxt.or(before).filter(|s| s.t >= from)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::engine::read::SelectLimits;
    use crate::{Batch, Labels, Matcher, Options, Storage, STALE_NAN};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 3_600_000;

    /// A store with no background work and no fsync.
    fn open(dir: &std::path::Path) -> Storage {
        let options = Options { background_maintenance: false, sync: crate::SyncMode::Never, ..Options::default() };
        Storage::open(dir, options).unwrap()
    }

    /// `a` has values each minute of [0, 2 h) and only staleness markers in
    /// [2 h, 4 h) (at 2 h 1 min and 2 h 2 min); `b` runs to 6 h so both
    /// windows are flushed into blocks.
    fn storage(dir: &std::path::Path) -> Storage {
        let storage = open(dir);
        let mut batch = Batch::new();
        let mut a: Vec<Sample> = (0..120).map(|m| Sample::new(m * MIN, m as f64)).collect();
        a.push(Sample::new(2 * HOUR + MIN, f64::from_bits(STALE_NAN)));
        a.push(Sample::new(2 * HOUR + 2 * MIN, f64::from_bits(STALE_NAN)));
        batch.add(Labels::metric("a", [("k", "v")]), a);
        batch.add(Labels::metric("b", [("k", "v")]), (0..360).map(|m| Sample::new(m * MIN, 1.0)));
        storage.append(&batch).unwrap();
        assert_eq!(storage.flush().unwrap(), 2);
        storage
    }

    fn newest(storage: &Storage, mint: i64, maxt: i64, which: Option<Newest>) -> Vec<(i64, u64)> {
        let limits = SelectLimits { newest: which, ..SelectLimits::default() };
        let mut got = storage.inner.select_limited(&[Matcher::equal("__name__", "a")], mint, maxt, &limits).unwrap();
        let mut samples = got.pop().map(|s| s.samples).unwrap_or_default();
        if which.is_none() {
            return samples.iter().map(|s| (s.t, s.v.to_bits())).collect();
        }
        samples.truncate(1);
        samples.iter().map(|s| (s.t, s.v.to_bits())).collect()
    }

    #[test]
    fn a_block_of_staleness_markers_falls_back_to_older_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let storage = storage(dir.path());
        let stale = STALE_NAN;
        let at = |t: i64, v: f64| vec![(t, v.to_bits())];
        let end = 2 * HOUR + 5 * MIN;
        assert_eq!(newest(&storage, end - 10 * MIN, end, Some(Newest::NotStale)), at(119 * MIN, 119.0));
        assert_eq!(newest(&storage, end - 10 * MIN, end, Some(Newest::Any)), vec![(2 * HOUR + 2 * MIN, stale)]);
        // Only markers in range: nothing fresh, though older blocks have values.
        assert_eq!(newest(&storage, 2 * HOUR, end, Some(Newest::NotStale)), vec![]);
        // An end inside the block: its chunks are read, not its entry.
        assert_eq!(newest(&storage, 0, 2 * HOUR + MIN + 1, Some(Newest::Any)), vec![(2 * HOUR + MIN, stale)]);
        assert_eq!(newest(&storage, 0, HOUR + 30_000, Some(Newest::Any)), at(HOUR, 60.0));
    }

    #[test]
    fn newest_reads_equal_the_newest_of_full_reads_at_every_range() {
        let dir = tempfile::tempdir().unwrap();
        let storage = storage(dir.path());
        for maxt in (0..5 * HOUR).step_by(7 * MIN as usize + 1234) {
            for span in [MIN, 10 * MIN, HOUR, 4 * HOUR] {
                let all = newest(&storage, maxt - span, maxt, None);
                for which in [Newest::Any, Newest::NotStale] {
                    let want: Vec<(i64, u64)> = all
                        .iter()
                        .rev()
                        .find(|(_, v)| which == Newest::Any || !pulsedb_model::is_stale_nan(f64::from_bits(*v)))
                        .into_iter()
                        .copied()
                        .collect();
                    assert_eq!(
                        newest(&storage, maxt - span, maxt, Some(which)),
                        want,
                        "{which:?} at {maxt} over {span}"
                    );
                }
            }
        }
    }

    /// Blocks compacted with minute rollups answer `last_over_time` at a
    /// minute from their buckets: the same as the newest of a full read,
    /// with staleness markers, gaps and a sample on the minute itself.
    #[test]
    fn newest_from_minute_rollups_equal_the_newest_of_full_reads() {
        let dir = tempfile::tempdir().unwrap();
        let storage = open(dir.path());
        // Every second over 12 h (dense enough for minute rollups), a
        // staleness marker every 97th, silent from minute 300 to 330 and
        // for the first 4 s of every 13th minute; then a later window so
        // the first one is flushed and compacted.
        let samples: Vec<Sample> = (0..12 * HOUR / 1_000)
            .map(|i| i * 1_000)
            .filter(|t| !(300 * MIN..330 * MIN).contains(t) && t % (13 * MIN) >= 4_000)
            .map(|t| Sample::new(t, if (t / 1_000) % 97 == 5 { f64::from_bits(STALE_NAN) } else { (t % 7_919) as f64 }))
            .collect();
        let mut batch = Batch::new();
        batch.add(Labels::metric("a", [("k", "v")]), samples);
        batch.add(Labels::metric("b", [("k", "v")]), (0..16 * 60).map(|m| Sample::new(m * MIN, 1.0)));
        storage.append(&batch).unwrap();
        storage.flush().unwrap();
        assert!(storage.compact_blocks().unwrap() > 0, "the first 12 h merged, with minute rollups");
        for maxt in (MIN..12 * HOUR).step_by(17 * MIN as usize) {
            for span in [MIN, 10 * MIN, 45 * MIN, 90_500, i64::MAX / 2] {
                let all = newest(&storage, maxt - span, maxt, None);
                let want: Vec<(i64, u64)> = all
                    .iter()
                    .rev()
                    .find(|(_, v)| !pulsedb_model::is_stale_nan(f64::from_bits(*v)))
                    .into_iter()
                    .copied()
                    .collect();
                assert_eq!(newest(&storage, maxt - span, maxt, Some(Newest::NotStale)), want, "at {maxt} over {span}");
            }
        }
    }

    /// Labels come whole, only those asked for, or none; a series whose
    /// data an append holds is read once the append lets go, not skipped.
    #[test]
    fn select_newest_keeps_the_labels_asked_for_and_waits_for_a_held_series() {
        let dir = tempfile::tempdir().unwrap();
        let storage = open(dir.path());
        const SERIES: usize = 3_000;
        let mut batch = Batch::new();
        for i in 0..SERIES {
            let labels = Labels::metric("m", [("i", i.to_string()), ("odd", (i % 2).to_string())]);
            batch.add(labels, [Sample::new(1_000, 0.5), Sample::new(2_000, i as f64)]);
        }
        storage.append(&batch).unwrap();
        let matchers = [Matcher::equal("__name__", "m")];
        let select = |only: Option<Vec<String>>, which| {
            let limits = SelectLimits { only_labels: only, ..SelectLimits::default() };
            storage.inner.select_newest(&matchers, 0, 5_000, which, &limits).unwrap()
        };
        let whole = select(None, Newest::Any);
        assert_eq!(whole.len(), SERIES);
        for (i, s) in whole.iter().enumerate() {
            assert_eq!((s.sample.t, s.sample.v), (2_000, i as f64));
            assert_eq!(s.labels, Labels::metric("m", [("i", i.to_string()), ("odd", (i % 2).to_string())]));
        }
        let samples = |found: &[SeriesSample]| found.iter().map(|s| s.sample).collect::<Vec<_>>();
        let odd = select(Some(vec!["odd".into()]), Newest::NotStale);
        assert_eq!(samples(&odd), samples(&whole));
        assert!(odd.iter().enumerate().all(|(i, s)| s.labels == Labels::new([("odd", (i % 2).to_string())])));
        let bare = select(Some(Vec::new()), Newest::Any);
        assert_eq!(samples(&bare), samples(&whole));
        assert!(bare.iter().all(|s| s.labels.is_empty()));

        let held = storage.inner.head.get(storage.inner.index.postings(&matchers).unwrap()[SERIES / 2]).unwrap();
        let guard = held.data.lock();
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| select(Some(Vec::new()), Newest::Any));
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(guard);
            assert_eq!(samples(&reader.join().unwrap()), samples(&whole));
        });
    }

    /// Hundreds of series (read in parallel runs) in blocks and the head,
    /// some ending early, with staleness markers: every range's newest
    /// samples are those of a full read.
    #[test]
    fn select_newest_equals_the_newest_of_full_reads_in_parallel() {
        let dir = tempfile::tempdir().unwrap();
        let storage = open(dir.path());
        const SERIES: i64 = 400;
        let mut batch = Batch::new();
        for i in 0..SERIES {
            let end = if i % 3 == 0 { 2 * HOUR + i * 7_000 } else { 5 * HOUR };
            let samples = (0..).map(|k| k * (30_000 + i * 13)).take_while(|&t| t < end).map(|t| {
                let stale = (t / 30_000 + i) % 17 == 0;
                Sample::new(t, if stale { f64::from_bits(STALE_NAN) } else { (t % 1_000 + i) as f64 })
            });
            batch.add(Labels::metric("p", [("i", i.to_string())]), samples);
        }
        storage.append(&batch).unwrap();
        assert!(storage.flush().unwrap() >= 1);
        let matchers = [Matcher::equal("__name__", "p")];
        let bits = |s: &Sample| (s.t, s.v.to_bits());
        for maxt in [HOUR + 1, 2 * HOUR - 1, 2 * HOUR + 100_000, 3 * HOUR + 12_345, 6 * HOUR] {
            for span in [40_000, 10 * MIN, 3 * HOUR] {
                let mint = maxt - span;
                let all = storage.inner.select_limited(&matchers, mint, maxt, &SelectLimits::default()).unwrap();
                for which in [Newest::Any, Newest::NotStale] {
                    let want: Vec<(String, (i64, u64))> = all
                        .iter()
                        .filter_map(|s| {
                            Some((s.labels.to_string(), bits(s.samples.iter().rev().find(|x| which.accepts(x.v))?)))
                        })
                        .collect();
                    let got =
                        storage.inner.select_newest(&matchers, mint, maxt, which, &SelectLimits::default()).unwrap();
                    let got: Vec<(String, (i64, u64))> =
                        got.iter().map(|s| (s.labels.to_string(), bits(&s.sample))).collect();
                    assert_eq!(got, want, "{which:?} in [{mint}, {maxt}]");
                }
            }
        }
    }
}
