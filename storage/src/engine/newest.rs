//! Newest-sample reads from blocks (`SelectHints::newest`, e.g. an
//! instant selector or `last_over_time` at one time): for each series the
//! blocks are visited newest first, and the first that holds an accepted
//! sample in the range answers. A format 4 block answers from the series'
//! index entry when its newest sample lies within the range's end, without
//! decompressing a frame; otherwise the series' chunks in the range are read.

use std::sync::Arc;

use rayon::prelude::*;

use super::read::{SeriesRun, PARALLEL_RUN};
use crate::block::{Block, FrameCache};
use crate::{Result, Sample, SeriesRef};
use pulsedb_model::{is_stale_nan, Newest, RollupBucket, RollupFields};

/// Puts into `out[i]` the newest sample of `refs[i]` in `[from[i], maxt]`
/// that `which` accepts, if any block holds one. `blocks` are in time order
/// with disjoint windows.
pub(super) fn newest_from_blocks(
    blocks: &[Arc<Block>],
    refs: &[SeriesRef],
    from: &[i64],
    maxt: i64,
    which: Newest,
    parallel: bool,
    out: &mut [Vec<Sample>],
) -> Result<()> {
    let read_run = |((out, refs), from): (SeriesRun<'_>, &[i64])| {
        let mut caches: Vec<FrameCache> = blocks.iter().map(|_| FrameCache::default()).collect();
        let (mut metas, mut buckets) = (Vec::new(), Vec::new());
        for ((o, &sref), &from) in out.iter_mut().zip(refs).zip(from) {
            for (block, cache) in blocks.iter().zip(caches.iter_mut()).rev() {
                if !block.overlaps(from, maxt) {
                    continue;
                }
                if let Some(newest) = block.newest(sref, &mut metas)?.filter(|n| n.last.t <= maxt) {
                    match newest.get(which) {
                        Some(s) if s.t >= from => o.push(s),
                        // Older blocks hold only older samples.
                        Some(_) => {}
                        // Only staleness markers here; an older block may have more.
                        None => continue,
                    }
                    break;
                }
                if which == Newest::NotStale {
                    if let Some(found) = newest_from_minutes(block, sref, from, maxt, cache, &mut buckets)? {
                        o.extend(found);
                        if found.is_some() {
                            break;
                        }
                        continue;
                    }
                }
                block.read_series(sref, from, maxt, &mut metas, cache, o)?;
                keep_newest(o, which);
                if !o.is_empty() {
                    break;
                }
            }
        }
        Ok(())
    };
    if parallel {
        let runs = out.par_chunks_mut(PARALLEL_RUN).zip(refs.par_chunks(PARALLEL_RUN));
        runs.zip(from.par_chunks(PARALLEL_RUN)).try_for_each(read_run)
    } else {
        read_run(((out, refs), from))
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

/// Leaves only the newest sample of `samples` (time-ordered) that `which` accepts.
pub(super) fn keep_newest(samples: &mut Vec<Sample>, which: Newest) {
    let newest = samples.iter().rposition(|s| which == Newest::Any || !is_stale_nan(s.v));
    match newest {
        Some(i) => {
            samples.swap(0, i);
            samples.truncate(1);
        }
        None => samples.clear(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::engine::read::SelectLimits;
    use crate::{Batch, Labels, Matcher, Options, Storage, STALE_NAN};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 3_600_000;

    /// `a` has values each minute of [0, 2 h) and only staleness markers in
    /// [2 h, 4 h) (at 2 h 1 min and 2 h 2 min); `b` runs to 6 h so both
    /// windows are flushed into blocks.
    fn storage(dir: &std::path::Path) -> Storage {
        let options = Options { background_maintenance: false, sync: crate::SyncMode::Never, ..Options::default() };
        let storage = Storage::open(dir, options).unwrap();
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
        let options = Options { background_maintenance: false, sync: crate::SyncMode::Never, ..Options::default() };
        let storage = Storage::open(dir.path(), options).unwrap();
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
}
