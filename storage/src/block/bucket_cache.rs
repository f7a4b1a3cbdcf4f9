//! Rollup buckets of blocks, shared by every read of the process, so that
//! the same query asked again (a dashboard's refresh, a rule's next round)
//! neither decodes nor summarizes again. Entries are known by block id,
//! series, resolution and the fields read; blocks are immutable, so an
//! entry never goes stale (those of deleted blocks age out). Bounded by
//! bytes in two generations (`pulsedb_model::SharedGenerations`).
//!
//! - Decoded rollup blobs: any read decodes a series' whole blob, so its
//!   buckets are kept whatever the read's range (on compacted blocks,
//!   decoding the blobs of `topk` over every host's last five minutes was
//!   most of that query).
//! - Buckets summarized from raw samples, where a block keeps no rollups
//!   at the resolution: a block cut from the head keeps 1 h rollups only,
//!   so a `rate(x[1m])` over it (a dashboard's last hours, until the
//!   block's first compaction) decoded and summarized every sample on each
//!   refresh, most of `single-groupby-5-1-12` and `high-cpu-1`. A read
//!   covering at least half of the block summarizes the series' whole
//!   block and keeps it (a miss decodes at most twice what it needs);
//!   smaller reads, and series too sparse to have rollups, summarize just
//!   their range and keep nothing.

use std::sync::{Arc, OnceLock};

use pulsedb_model::{push_bucket, summarize_fields_into, RollupBucket, RollupFields, Sample, SharedGenerations};

use super::format::ChunkMeta;
use super::reader::{Block, FrameCache};
use super::writer::min_samples_per_bucket;
use crate::{Result, SeriesRef};

/// (block id, series, resolution, fields).
type BucketKey = (u64, SeriesRef, i64, RollupFields);

type Buckets = SharedGenerations<BucketKey, Arc<Vec<RollupBucket>>, foldhash::fast::RandomState>;

/// Buckets kept at most: 16 MiB (80 bytes each) in two generations of up
/// to 8: two hours of minute buckets for about 850 series stay in one (a
/// generation is dropped whole when the next fills).
const BUDGET_BYTES: usize = 16 << 20;

fn shared() -> &'static Buckets {
    static SHARED: OnceLock<Buckets> = OnceLock::new();
    SHARED.get_or_init(|| SharedGenerations::new(BUDGET_BYTES, weight))
}

/// The buckets kept for `key`; counts a hit for tests.
fn kept(key: &BucketKey) -> Option<Arc<Vec<RollupBucket>>> {
    let buckets = shared().get(key);
    #[cfg(test)]
    if buckets.is_some() {
        HITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    buckets
}

/// Keeps `buckets` (shrunk to their length, which is what they weigh) for `key`.
fn keep(key: BucketKey, mut buckets: Vec<RollupBucket>) -> Arc<Vec<RollupBucket>> {
    buckets.shrink_to_fit();
    let buckets = Arc::new(buckets);
    shared().keep(key, buckets.clone());
    buckets
}

/// What an entry costs: its buckets, and the key, `Arc` and table slot
/// around them (so that empty entries, for series a block lacks, count).
fn weight(buckets: &Arc<Vec<RollupBucket>>) -> usize {
    const ENTRY_OVERHEAD: usize = 96;
    buckets.capacity() * std::mem::size_of::<RollupBucket>() + ENTRY_OVERHEAD
}

/// Whether a series' chunks average at least the samples a bucket that
/// make blocks keep rollups: sparser ones decode about as fast as their
/// buckets are looked up, and would fill the cache with entries of a few
/// buckets each (the bench's 30-day `avg_over_time(x[1h])` over coarse
/// data read slower with every one kept).
fn dense(metas: &[ChunkMeta], resolution: i64) -> bool {
    let (Some(first), Some(last)) = (metas.first(), metas.last()) else { return false };
    let buckets = last.maxt.div_euclid(resolution) - first.mint.div_euclid(resolution) + 1;
    let samples: u64 = metas.iter().map(|c| u64::from(c.samples)).sum();
    samples >= min_samples_per_bucket(resolution) * buckets.max(1).unsigned_abs()
}

/// What reading one series' samples needs, reused from series to series.
#[derive(Debug, Default)]
pub(crate) struct SeriesScratch {
    metas: Vec<ChunkMeta>,
    raw: Vec<Sample>,
}

impl Block {
    /// Appends the buckets of `resolution` starting within `[mint, maxt]`
    /// summarized from `sref`'s samples (`fields` right, the others
    /// meaningless) to `out`, continuing its last bucket: for a block
    /// without rollups at that resolution, or a series it keeps none for.
    /// `mint` should be a bucket's start (the rollup planner's windows
    /// are); buckets are read whole, samples up to `maxt`'s bucket's end.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn summarize_series(
        &self,
        sref: SeriesRef,
        (mint, maxt): (i64, i64),
        resolution: i64,
        fields: RollupFields,
        cache: &mut FrameCache,
        scratch: &mut SeriesScratch,
        out: &mut Vec<RollupBucket>,
    ) -> Result<()> {
        let SeriesScratch { metas, raw } = scratch;
        raw.clear();
        let until = maxt.saturating_add(resolution - 1);
        let meta = self.meta();
        let covered = until.min(meta.maxt).saturating_sub(mint.max(meta.mint));
        let keepable =
            covered >= meta.maxt.saturating_sub(meta.mint) / 2 && mint.rem_euclid(resolution) == 0 && cache.is_shared();
        let key = (self.id(), sref, resolution, fields);
        // Looked up before the series' entry is read: a hit needs nothing else.
        let buckets = match keepable.then(|| kept(&key)).flatten() {
            Some(buckets) => buckets,
            None => {
                self.chunk_metas(sref, metas)?;
                if !keepable || !dense(metas, resolution) {
                    self.decode_chunks(metas, mint, until, cache, raw)?;
                    summarize_fields_into(out, raw, resolution, fields);
                    return Ok(());
                }
                self.decode_chunks(metas, i64::MIN, i64::MAX, cache, raw)?;
                let mut whole = Vec::new();
                summarize_fields_into(&mut whole, raw, resolution, fields);
                keep(key, whole)
            }
        };
        for &b in starting_within(&buckets, mint, maxt) {
            push_bucket(out, b);
        }
        Ok(())
    }

    /// [`Block::read_rollups`] through the process-wide cache: the series'
    /// whole rollup blob decoded once (a read decodes all of it whatever
    /// its range) and its buckets kept, so the next read of any range of
    /// it (a dashboard's refresh, the last minutes of a `topk` over every
    /// host) decodes nothing.
    pub(crate) fn read_rollups_shared(
        &self,
        sref: SeriesRef,
        resolution: i64,
        (mint, maxt): (i64, i64),
        fields: RollupFields,
        cache: &mut FrameCache,
        out: &mut Vec<RollupBucket>,
    ) -> Result<bool> {
        if !cache.is_shared() {
            return self.read_rollups(sref, resolution, mint, maxt, fields, cache, out);
        }
        let key = (self.id(), sref, resolution, fields);
        let buckets = match kept(&key) {
            Some(buckets) => buckets,
            None => {
                let mut whole = Vec::new();
                if !self.read_rollups(sref, resolution, i64::MIN, i64::MAX, fields, cache, &mut whole)? {
                    return Ok(false);
                }
                keep(key, whole)
            }
        };
        out.extend_from_slice(starting_within(&buckets, mint, maxt));
        Ok(true)
    }
}

/// Reads answered from the cache, for tests: other tests share the cache
/// (and may evict), so they check that this grew, not what the cache holds.
#[cfg(test)]
static HITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The time-ordered `buckets` that start within `[mint, maxt]`.
fn starting_within(buckets: &[RollupBucket], mint: i64, maxt: i64) -> &[RollupBucket] {
    let (from, to) = (buckets.partition_point(|b| b.start < mint), buckets.partition_point(|b| b.start <= maxt));
    buckets.get(from..to.max(from)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::block::{BlockWriter, Compaction};

    /// Kept or not, first read or again, every range answers what
    /// summarizing its own samples answers, with drops, staleness markers
    /// and gaps in the samples; a partial read keeps nothing.
    #[test]
    fn kept_buckets_answer_as_the_range_summarized() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::create(dir.path(), 0, 7_199_999, Compaction { level: 1, parents: vec![] }, 3).unwrap();
        // As the head's cut writes them: 1 h rollups only.
        w.retain_resolutions(|r| r != 60_000);
        let raw: Vec<Sample> = (0..7_200i64)
            .filter(|i| i % 997 > 20)
            .map(|i| {
                let v = if i % 1_500 == 7 { f64::from_bits(pulsedb_model::STALE_NAN) } else { (i % 1_234) as f64 };
                Sample::new(i * 1000, v)
            })
            .collect();
        w.add_series(SeriesRef(1), &raw).unwrap();
        let sparse: Vec<Sample> = (0..24i64).map(|i| Sample::new(i * 300_000, i as f64)).collect();
        w.add_series(SeriesRef(2), &sparse).unwrap();
        let (path, _) = w.finish().unwrap();
        let block = Block::open(&path).unwrap();
        assert!(!block.keeps_minute_rollups().unwrap(), "a block cut from the head keeps no minute rollups");
        let fields = [
            RollupFields::COUNT.with(RollupFields::FIRST).with(RollupFields::LAST).with(RollupFields::CORRECTION),
            RollupFields::ALL,
        ];
        let ranges = [(0, 7_199_999), (0, 3_600_000), (1_800_000, 7_140_000), (3_600_000, 4_000_000), (60_000, 60_000)];
        let mut hits_before_second_round = 0;
        for round in 0..2 {
            if round == 1 {
                hits_before_second_round = HITS.load(std::sync::atomic::Ordering::Relaxed);
            }
            for fields in fields {
                for (mint, maxt) in ranges {
                    let (mut cache, mut scratch, mut got) =
                        (FrameCache::default(), SeriesScratch::default(), Vec::new());
                    block
                        .summarize_series(
                            SeriesRef(1),
                            (mint, maxt),
                            60_000,
                            fields,
                            &mut cache,
                            &mut scratch,
                            &mut got,
                        )
                        .unwrap();
                    let until = maxt + 59_999;
                    let range: Vec<Sample> = raw.iter().copied().filter(|s| s.t >= mint && s.t <= until).collect();
                    let mut want = Vec::new();
                    summarize_fields_into(&mut want, &range, 60_000, fields);
                    assert_eq!(got, want, "round {round}, {fields:?}, [{mint}, {maxt}]");
                }
            }
        }
        // Reads of at least half the block were answered from what the first round kept.
        assert!(HITS.load(std::sync::atomic::Ordering::Relaxed) > hits_before_second_round);
        // A sparse series is summarized, not kept.
        let (mut cache, mut scratch, mut got) = (FrameCache::default(), SeriesScratch::default(), Vec::new());
        let fields = RollupFields::ALL;
        block
            .summarize_series(SeriesRef(2), (0, 7_199_999), 60_000, fields, &mut cache, &mut scratch, &mut got)
            .unwrap();
        assert_eq!(got, pulsedb_model::summarize(&sparse, 60_000));
        assert!(shared().get(&(block.id(), SeriesRef(2), 60_000, fields)).is_none(), "sparse: not kept");
        // Reads of a few minutes keep nothing.
        let other = Block::open(&path).unwrap();
        let (mut cache, mut scratch, mut got) = (FrameCache::default(), SeriesScratch::default(), Vec::new());
        let fields = RollupFields::ALL;
        other
            .summarize_series(SeriesRef(1), (3_600_000, 4_000_000), 60_000, fields, &mut cache, &mut scratch, &mut got)
            .unwrap();
        assert!(!got.is_empty());
        assert!(shared().get(&(other.id(), SeriesRef(1), 60_000, fields)).is_none(), "a partial read keeps nothing");
    }

    /// Through the cache or not, first read or again, a rollup read of any
    /// range answers what `read_rollups` answers.
    #[test]
    fn kept_rollup_blobs_answer_as_read_rollups() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::create(dir.path(), 0, 7_199_999, Compaction::default(), 3).unwrap();
        let raw: Vec<Sample> = (0..7_200i64).map(|i| Sample::new(i * 1000, ((i * 37) % 1_000) as f64)).collect();
        w.add_series(SeriesRef(1), &raw).unwrap();
        let (path, _) = w.finish().unwrap();
        let block = Block::open(&path).unwrap();
        let fields = RollupFields::COUNT.with(RollupFields::FIRST).with(RollupFields::LAST);
        let ranges = [(i64::MIN, i64::MAX), (0, 60_000), (3_540_000, 3_600_000), (7_140_000, i64::MAX), (5, 4)];
        for resolution in [60_000, 3_600_000] {
            let mut hits_before_second_round = 0;
            for round in 0..2 {
                if round == 1 {
                    hits_before_second_round = HITS.load(std::sync::atomic::Ordering::Relaxed);
                }
                for (mint, maxt) in ranges {
                    let (mut cache, mut got, mut want) = (FrameCache::default(), Vec::new(), Vec::new());
                    let kept =
                        block.read_rollups_shared(SeriesRef(1), resolution, (mint, maxt), fields, &mut cache, &mut got);
                    let read = block.read_rollups(SeriesRef(1), resolution, mint, maxt, fields, &mut cache, &mut want);
                    assert_eq!(
                        (kept.unwrap(), got),
                        (read.unwrap(), want),
                        "{resolution}, round {round}, [{mint}, {maxt}]"
                    );
                }
            }
            assert!(HITS.load(std::sync::atomic::Ordering::Relaxed) > hits_before_second_round);
        }
        // A series the block lacks: nothing to compute, nothing read.
        let mut got = Vec::new();
        assert!(block
            .read_rollups_shared(SeriesRef(2), 60_000, (0, 1), fields, &mut FrameCache::default(), &mut got)
            .unwrap());
        assert!(got.is_empty());
    }
}
