//! One series in the head: its closed Gorilla chunks (`closed_chunk.rs`,
//! their bytes on disk, see `spill.rs`), the open chunk being appended to, and a small buffer of
//! out-of-order samples and overwrites that is merged back into the chunks
//! when it grows.
//!
//! Invariants: chunks hold strictly increasing timestamps and are ordered;
//! no chunk spans two block windows (so flushing a window drops whole
//! chunks); a sample in `ooo` overrides a chunk sample with the same timestamp.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use parking_lot::Mutex;

use super::closed_chunk::{decode_open, ClosedChunk};
use super::key_pool::PooledKey;
use super::minutes::MINUTE;
use super::out_of_order::OutOfOrder;
use super::spill::ChunkStore;
use super::summary::{must_cut, ChunkSummary};
use crate::chunk::xor::XorChunk;
use crate::{Result, Sample, SeriesRef};
use pulsedb_model::{push_bucket, summarize_into, RollupBucket, Summarizer};

/// Samples per head chunk before it is closed.
pub(crate) const CHUNK_SAMPLES: usize = 240;
/// Out-of-order samples buffered before they are merged into the chunks.
const OOO_MERGE_AT: usize = 32;

/// The mutable part of a series, behind its mutex.
#[derive(Debug)]
pub(crate) struct SeriesData {
    closed: Vec<ClosedChunk>,
    open: XorChunk,
    ooo: OutOfOrder,
    /// Newest timestamp ever accepted; `i64::MIN` before the first sample.
    newest: i64,
}

/// A series in the head. Shared by `Arc` between the head's maps and readers.
#[derive(Debug)]
pub(crate) struct MemSeries {
    pub(crate) sref: SeriesRef,
    /// Canonical labels key (see `Labels::to_key`), of pooled label pairs.
    pub(crate) key: PooledKey,
    /// `Head::hash_key(key)`.
    pub(crate) hash: u64,
    pub(crate) data: Mutex<SeriesData>,
    /// Mirror of `SeriesData::newest` that validation reads without the lock;
    /// written only under the data lock.
    newest: AtomicI64,
    /// Set when the head drops the series; holders of an `Arc` must look it up again.
    removed: AtomicBool,
}

impl MemSeries {
    pub(crate) fn new(sref: SeriesRef, key: PooledKey, hash: u64) -> Self {
        Self {
            sref,
            key,
            hash,
            newest: AtomicI64::new(i64::MIN),
            data: Mutex::new(SeriesData {
                closed: Vec::new(),
                open: XorChunk::new(),
                ooo: OutOfOrder::default(),
                newest: i64::MIN,
            }),
            removed: AtomicBool::new(false),
        }
    }

    pub(crate) fn removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
    }

    /// Newest timestamp accepted, `None` before the first sample.
    pub(crate) fn newest(&self) -> Option<i64> {
        let t = self.newest.load(Ordering::Acquire);
        (t != i64::MIN).then_some(t)
    }

    /// Puts back what a checkpoint held (see `SeriesData::restored`).
    pub(crate) fn restore(&self, data: SeriesData) {
        let mut locked = self.data.lock();
        *locked = data;
        self.newest.store(locked.newest, Ordering::Release);
    }

    /// Appends under the series lock and publishes the new newest timestamp.
    pub(crate) fn append_all(&self, samples: &[Sample], store: &ChunkStore) {
        self.append_locked(&mut self.data.lock(), samples, store);
    }

    /// Appends to `data`, which must be this series' locked data.
    pub(crate) fn append_locked(&self, data: &mut SeriesData, samples: &[Sample], store: &ChunkStore) {
        for s in samples {
            data.append(self.sref, s.t, s.v, store);
        }
        self.newest.store(data.newest, Ordering::Release);
    }
}

impl SeriesData {
    /// A series as a checkpoint left it: closed chunks found in the chunk
    /// files, the open chunk's samples (encoded again), the out-of-order
    /// buffer, and the newest timestamp ever accepted.
    pub(crate) fn restored(closed: Vec<ClosedChunk>, open: &[Sample], ooo: Vec<Sample>, newest: i64) -> Self {
        let mut chunk = XorChunk::new();
        for s in open {
            chunk.append(s.t, s.v);
        }
        Self { closed, open: chunk, ooo: OutOfOrder::from(ooo), newest }
    }

    /// What a checkpoint keeps of this series besides its closed chunks:
    /// the open chunk (sample count and bytes), the out-of-order buffer and
    /// the newest timestamp ever accepted.
    pub(crate) fn checkpoint_parts(&self) -> (u16, Vec<u8>, &[Sample], i64) {
        (self.open.len() as u16, self.open.bytes(), &self.ooo, self.newest)
    }

    /// Oldest timestamp held, `None` when empty.
    pub(crate) fn mint(&self) -> Option<i64> {
        let chunk_min = self.closed.first().map(|c| c.mint).or((!self.open.is_empty()).then(|| self.open.mint()));
        match (chunk_min, self.ooo.first().map(|s| s.t)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether any sample lies in `[mint, maxt]` (by chunk bounds, no decoding).
    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.closed.iter().any(|c| c.maxt() >= mint && c.mint <= maxt)
            || (!self.open.is_empty() && self.open.maxt() >= mint && self.open.mint() <= maxt)
            || self.ooo.iter().any(|s| s.t >= mint && s.t <= maxt)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_empty() && self.ooo.is_empty()
    }

    /// Appends one sample. In-order samples go to the open chunk; older ones
    /// (or a new value for an existing timestamp) go to the out-of-order
    /// buffer. The caller has checked the out-of-order window.
    pub(crate) fn append(&mut self, sref: SeriesRef, t: i64, v: f64, store: &ChunkStore) {
        let block_span = store.block_span;
        if self.newest == i64::MIN && self.is_empty() || t > self.newest {
            if !self.open.is_empty()
                && (self.open.len() >= CHUNK_SAMPLES || must_cut(self.open.len(), self.open.mint(), t, block_span))
            {
                self.close_open(sref, store);
            }
            self.open.append(t, v);
            self.newest = t;
            return;
        }
        self.ooo.put(Sample { t, v });
        if self.ooo.len() >= OOO_MERGE_AT {
            // Reading back spilled chunks can fail; then the buffer just
            // stays larger until the next try.
            if let Err(e) = self.merge_ooo(sref, store) {
                tracing::warn!(error = %e, "could not merge out-of-order samples yet");
            }
        }
    }

    fn close_open(&mut self, sref: SeriesRef, store: &ChunkStore) {
        let open = std::mem::replace(&mut self.open, XorChunk::new());
        // Grow one at a time: a series holds tens of closed chunks for its
        // whole life in the head, and doubling would waste a third of them.
        self.closed.reserve_exact(1);
        self.closed.push(ClosedChunk::close(sref, &open, store));
    }

    /// Re-encodes the chunks the out-of-order buffer touches with its samples merged in.
    fn merge_ooo(&mut self, sref: SeriesRef, store: &ChunkStore) -> Result<()> {
        let Some(first) = self.ooo.first().map(|s| s.t) else {
            return Ok(());
        };
        let keep = self.closed.iter().position(|c| c.maxt() >= first).unwrap_or(self.closed.len());
        let mut chunk_samples = Vec::new();
        let mut buf = Vec::new();
        for chunk in &self.closed[keep..] {
            chunk.decode_into(i64::MIN, i64::MAX, store, &mut buf, &mut chunk_samples)?;
        }
        if !self.open.is_empty() {
            decode_open(&self.open, i64::MIN, i64::MAX, &mut chunk_samples)?;
        }
        // Only once everything decoded: an error leaves the series as it was.
        self.closed.truncate(keep);
        let merged = merge_overriding(&chunk_samples, &self.ooo.take());
        self.open = XorChunk::new();
        for s in merged {
            if !self.open.is_empty()
                && (self.open.len() >= CHUNK_SAMPLES
                    || must_cut(self.open.len(), self.open.mint(), s.t, store.block_span))
            {
                self.close_open(sref, store);
            }
            self.open.append(s.t, s.v);
        }
        Ok(())
    }

    /// Samples with `mint <= t <= maxt`, in time order, appended to `out`.
    pub(crate) fn read(&self, mint: i64, maxt: i64, store: &ChunkStore, out: &mut Vec<Sample>) -> Result<()> {
        let start = out.len();
        let mut buf = Vec::new();
        for chunk in &self.closed {
            if chunk.maxt() >= mint && chunk.mint <= maxt {
                chunk.decode_into(mint, maxt, store, &mut buf, out)?;
            }
        }
        if !self.open.is_empty() && self.open.maxt() >= mint && self.open.mint() <= maxt {
            decode_open(&self.open, mint, maxt, out)?;
        }
        let lo = self.ooo.partition_point(|s| s.t < mint);
        let hi = self.ooo.partition_point(|s| s.t <= maxt);
        if let Some(ooo) = self.ooo.get(lo..hi).filter(|o| !o.is_empty()) {
            let merged = merge_overriding(&out[start..], ooo);
            out.truncate(start);
            out.extend(merged);
        }
        Ok(())
    }

    /// Rollup buckets of `resolution` over the samples in `[mint, maxt]`,
    /// continuing `out` ([`pulsedb_model::summarize_into`]'s result, up to
    /// the order sums are added in). A closed chunk inside the range and
    /// inside one bucket adds its summary, one inside the range that
    /// carries minute summaries adds those; the others are decoded.
    pub(crate) fn read_buckets(
        &mut self,
        mint: i64,
        maxt: i64,
        resolution: i64,
        store: &ChunkStore,
        out: &mut Vec<RollupBucket>,
    ) -> Result<()> {
        let mut raw = Vec::new();
        if self.ooo.iter().any(|s| s.t >= mint && s.t <= maxt) {
            // Overrides of chunk samples: the summaries are not the series'.
            self.read(mint, maxt, store, &mut raw)?;
            summarize_into(out, &raw, resolution);
            return Ok(());
        }
        let bucket = |t: i64| t.div_euclid(resolution);
        let mut buf = Vec::new();
        for chunk in self.closed.iter_mut().filter(|c| c.maxt() >= mint && c.mint <= maxt) {
            raw.clear();
            let in_range = chunk.mint >= mint && chunk.maxt() <= maxt;
            let whole = in_range && bucket(chunk.mint) == bucket(chunk.maxt());
            if whole && chunk.summary().is_none() {
                // A chunk a restart found: summarized on first use.
                chunk.decode_into(i64::MIN, i64::MAX, store, &mut buf, &mut raw)?;
                chunk.set_summary(ChunkSummary::of(raw.iter().copied()));
            }
            match chunk.summary().filter(|_| whole) {
                Some(summary) => {
                    let start = bucket(chunk.mint) * resolution;
                    push_bucket(out, summary.bucket(start, chunk.mint, chunk.maxt(), chunk.count));
                }
                None if in_range && chunk.has_minutes() && resolution.rem_euclid(MINUTE) == 0 => {
                    chunk.minutes_into(resolution, store, &mut buf, out)?;
                }
                None if raw.is_empty() => {
                    chunk.decode_into(mint, maxt, store, &mut buf, &mut Summarizer::new(out, resolution))?;
                }
                None => summarize_into(out, &raw, resolution),
            }
        }
        if !self.open.is_empty() && self.open.maxt() >= mint && self.open.mint() <= maxt {
            decode_open(&self.open, mint, maxt, &mut Summarizer::new(out, resolution))?;
        }
        Ok(())
    }

    /// The newest sample in `[mint, maxt]` (with `fresh`, the newest that
    /// is not a staleness marker), what an instant selector and
    /// `last_over_time` need: chunks are visited newest first, and a chunk
    /// that ends within the range gives its last value without decoding.
    pub(crate) fn newest_sample(
        &self,
        mint: i64,
        maxt: i64,
        fresh: bool,
        store: &ChunkStore,
    ) -> Result<Option<Sample>> {
        let usable = |s: &Sample| s.t >= mint && s.t <= maxt && !(fresh && pulsedb_model::is_stale_nan(s.v));
        let mut decoded = Vec::new();
        if !self.ooo.is_empty() {
            // Overrides of chunk samples: only a merged read is right.
            self.read(mint, maxt, store, &mut decoded)?;
            return Ok(decoded.into_iter().rev().find(usable));
        }
        if !self.open.is_empty() && self.open.mint() <= maxt {
            let last = Sample::new(self.open.maxt(), self.open.last_value());
            if usable(&last) {
                return Ok(Some(last));
            }
            decode_open(&self.open, mint, maxt, &mut decoded)?;
            if let Some(s) = decoded.iter().rev().find(|s| usable(s)) {
                return Ok(Some(*s));
            }
        }
        let mut buf = Vec::new();
        for chunk in self.closed.iter().rev().filter(|c| c.mint <= maxt) {
            if chunk.maxt() < mint {
                break;
            }
            // A summarized chunk holds no staleness marker: its last sample is usable.
            if let Some(summary) = chunk.summary().filter(|_| chunk.maxt() <= maxt) {
                return Ok(Some(Sample::new(chunk.maxt(), summary.last())));
            }
            decoded.clear();
            chunk.decode_into(mint, maxt, store, &mut buf, &mut decoded)?;
            if let Some(s) = decoded.iter().rev().find(|s| usable(s)) {
                return Ok(Some(*s));
            }
        }
        Ok(None)
    }

    /// Drops every sample before `t` (already written to a block). Chunks
    /// never span windows, so only whole chunks are dropped when `t` is a
    /// window boundary.
    pub(crate) fn truncate_before(&mut self, t: i64) {
        self.closed.retain(|c| c.maxt() >= t);
        if !self.open.is_empty() && self.open.maxt() < t {
            self.open = XorChunk::new();
        }
        self.ooo.keep_from(t);
    }

    /// Heap bytes held by this series' samples, beyond the struct itself
    /// (closed chunks' bytes are the store's).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.closed.capacity() * std::mem::size_of::<ClosedChunk>() + self.open.allocated() + self.ooo.heap_bytes()
    }

    /// Number of chunks (closed plus open).
    pub(crate) fn chunk_count(&self) -> usize {
        self.closed.len() + usize::from(!self.open.is_empty())
    }
}

/// Merges two time-ordered runs; on equal timestamps `overrides` wins.
fn merge_overriding(base: &[Sample], overrides: &[Sample]) -> Vec<Sample> {
    let mut out = Vec::with_capacity(base.len() + overrides.len());
    let (mut i, mut j) = (0, 0);
    while i < base.len() && j < overrides.len() {
        let (b, o) = (base[i], overrides[j]);
        if b.t < o.t {
            out.push(b);
            i += 1;
        } else {
            out.push(o);
            j += 1;
            if b.t == o.t {
                i += 1;
            }
        }
    }
    out.extend_from_slice(&base[i..]);
    out.extend_from_slice(&overrides[j..]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const SPAN: i64 = 7_200_000;

    fn series() -> MemSeries {
        MemSeries::new(SeriesRef(1), super::super::key_pool::KeyPool::new().intern(b"k"), 0)
    }

    fn store() -> ChunkStore {
        ChunkStore::in_memory(SPAN)
    }

    /// A chunk store under `dir` when `on_disk`, else in memory.
    fn store_in(dir: &std::path::Path, on_disk: bool, block_span: i64) -> ChunkStore {
        if on_disk {
            ChunkStore::open(&dir.join("chunks_head"), block_span).unwrap()
        } else {
            ChunkStore::in_memory(block_span)
        }
    }

    fn read_all(s: &MemSeries, store: &ChunkStore) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        s.data.lock().read(i64::MIN, i64::MAX, store, &mut out).unwrap();
        out.iter().map(|s| (s.t, s.v.to_bits())).collect()
    }

    #[test]
    fn out_of_order_and_overwrites_read_back_in_order() {
        let (s, store) = (series(), store());
        {
            let mut d = s.data.lock();
            for t in [10, 20, 30, 15, 20, 5] {
                d.append(SeriesRef(1), t, t as f64 * 2.0, &store);
            }
            d.append(SeriesRef(1), 20, 99.0, &store);
        }
        let got: Vec<(i64, f64)> = read_all(&s, &store).into_iter().map(|(t, v)| (t, f64::from_bits(v))).collect();
        assert_eq!(got, vec![(5, 10.0), (10, 20.0), (15, 30.0), (20, 99.0), (30, 60.0)]);
    }

    #[test]
    fn chunks_are_cut_at_window_boundaries_and_truncated_whole() {
        let (s, store) = (series(), store());
        let mut d = s.data.lock();
        for t in (SPAN - 5000..SPAN + 5000).step_by(1000) {
            d.append(SeriesRef(1), t, 1.0, &store);
        }
        assert_eq!(d.chunk_count(), 2);
        d.truncate_before(SPAN);
        let mut out = Vec::new();
        d.read(i64::MIN, i64::MAX, &store, &mut out).unwrap();
        assert_eq!(out.first().map(|s| s.t), Some(SPAN));
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn closed_chunks_live_on_disk_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = ChunkStore::open(&dir.path().join("chunks_head"), SPAN).unwrap();
        let s = series();
        for t in 0..1000i64 {
            s.data.lock().append(SeriesRef(1), t * 1000, (t % 97) as f64 / 10.0, &store);
        }
        let d = s.data.lock();
        assert_eq!(d.chunk_count(), 1000usize.div_ceil(CHUNK_SAMPLES));
        assert!(store.disk_bytes() > 0);
        assert!(d.heap_bytes() < 1500, "{} bytes resident", d.heap_bytes());
        assert_eq!(std::mem::size_of::<ClosedChunk>(), 72);
        let mut out = Vec::new();
        d.read(100_000, 900_000, &store, &mut out).unwrap();
        assert_eq!(out.len(), 801);
        assert_eq!(out[0], Sample::new(100_000, 0.3));
    }

    #[test]
    fn chunks_of_one_sample_a_second_carry_minute_summaries() {
        let store = store();
        for (interval, carried) in [(1_000, true), (2_000, true), (15_000, false)] {
            let s = series();
            let mut d = s.data.lock();
            for i in 0..1000 {
                d.append(SeriesRef(1), 3_600_000 + i * interval, i as f64, &store);
            }
            assert!(d.closed.len() >= 2);
            assert!(d.closed.iter().all(|c| c.has_minutes() == carried), "every {interval} ms");
        }
    }

    #[test]
    fn minute_summaries_read_once_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), true, 7_200_000);
        let s = series();
        let mut d = s.data.lock();
        for i in 0..1200 {
            d.append(SeriesRef(1), 60_000 + i * 1_000, i as f64, &store);
        }
        assert!(d.closed.iter().all(|c| c.has_minutes()));
        let (mint, maxt) = (60_000, 1_139_999);
        let mut first = Vec::new();
        d.read_buckets(mint, maxt, 60_000, &store, &mut first).unwrap();
        assert_eq!(first.len(), 18);
        // Every record is gone from the file: the minutes come from memory.
        std::fs::File::options().write(true).open(store.path(0)).unwrap().set_len(8).unwrap();
        assert!(d.read(mint, maxt, &store, &mut Vec::new()).is_err());
        let mut again = Vec::new();
        d.read_buckets(mint, maxt, 60_000, &store, &mut again).unwrap();
        assert_eq!(format!("{again:?}"), format!("{first:?}"));
        let mut hours = Vec::new();
        d.read_buckets(mint, maxt, 3_600_000, &store, &mut hours).unwrap();
        assert_eq!(hours.iter().map(|b| b.count).sum::<u64>(), first.iter().map(|b| b.count).sum::<u64>());
    }

    /// Random appends (in and out of order, NaN, staleness markers, values
    /// that drop like counter resets) with chunks cut often.
    fn value_strategy() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => (0u32..1000).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(f64::from_bits(pulsedb_model::STALE_NAN)),
            2 => -1e3..1e3f64,
        ]
    }

    fn filled(ops: &[(i64, f64)], store: &ChunkStore, recovered: bool) -> MemSeries {
        let s = series();
        {
            let mut d = s.data.lock();
            for &(t, v) in ops {
                d.append(SeriesRef(1), t * 7_000, v, store);
            }
            if recovered {
                d.closed.iter_mut().for_each(|c| c.set_summary(None));
            }
        }
        s
    }

    /// Buckets read from `s` in `[mint, maxt]` are those of its raw samples
    /// (twice: a first read may summarize chunks a restart found).
    fn buckets_match_raw(
        s: &MemSeries,
        store: &ChunkStore,
        mint: i64,
        maxt: i64,
        resolution: i64,
    ) -> Result<(), TestCaseError> {
        let mut raw = Vec::new();
        s.data.lock().read(mint, maxt, store, &mut raw).unwrap();
        let want = pulsedb_model::summarize(&raw, resolution);
        for _ in 0..2 {
            let mut got = Vec::new();
            s.data.lock().read_buckets(mint, maxt, resolution, store, &mut got).unwrap();
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                let exact = |b: &RollupBucket| {
                    (
                        b.start,
                        b.count,
                        b.min.to_bits(),
                        b.max.to_bits(),
                        b.first.t,
                        b.first.v.to_bits(),
                        b.last.t,
                        b.last.v.to_bits(),
                    )
                };
                prop_assert_eq!(exact(g), exact(w));
                // Values are at most 1e3: adding in another order moves sums by rounding only.
                let close =
                    |a: f64, b: f64| a.to_bits() == b.to_bits() || (a - b).abs() <= 1e-12 * 1e3 * w.count as f64;
                prop_assert!(close(g.sum, w.sum), "{} vs {}", g.sum, w.sum);
                prop_assert!(close(g.correction, w.correction), "{} vs {}", g.correction, w.correction);
            }
        }
        Ok(())
    }

    proptest! {
        /// Buckets from chunk summaries are the buckets of the raw samples.
        #[test]
        fn buckets_from_summaries_match_raw(
            ops in proptest::collection::vec((0i64..3000, value_strategy()), 1..800),
            range in (0i64..3000, 0i64..3000),
            resolution in prop_oneof![Just(60_000i64), Just(3_600_000), Just(7_000)],
            recovered in any::<bool>(),
        ) {
            let store = ChunkStore::in_memory(7_200_000);
            let s = filled(&ops, &store, recovered);
            let (mint, maxt) = (range.0.min(range.1) * 7_000, range.0.max(range.1) * 7_000 + 3_000);
            buckets_match_raw(&s, &store, mint, maxt, resolution)?;
        }

        /// Dense chunks (about one sample a second, gaps now and then, and
        /// now and then a step back: out-of-order samples and overwrites,
        /// merged into re-encoded chunks) answer from their minute summaries
        /// what their raw samples' buckets are, also as a restart finds them.
        #[test]
        fn buckets_from_minute_summaries_match_raw(
            steps in proptest::collection::vec((
                prop_oneof![200 => Just(1_000i64), 10 => 1i64..2_000, 1 => 1i64..300_000, 2 => -60_000i64..0],
                value_strategy(),
            ), 1..2000),
            range in (0i64..2_000_000, 0i64..2_000_000),
            resolution in prop_oneof![Just(60_000i64), Just(120_000), Just(3_600_000), Just(7_000)],
            on_disk in any::<bool>(),
            recovered in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let store = store_in(dir.path(), on_disk, 7_200_000);
            let s = series();
            {
                let mut d = s.data.lock();
                let mut t = 0;
                for &(dt, v) in &steps {
                    t += dt;
                    d.append(SeriesRef(1), t, v, &store);
                }
                if recovered {
                    d.closed.iter_mut().for_each(|c| c.set_summary(None));
                }
            }
            let (mint, maxt) = (range.0.min(range.1), range.0.max(range.1));
            buckets_match_raw(&s, &store, mint, maxt, resolution)?;
            buckets_match_raw(&s, &store, i64::MIN, i64::MAX, resolution)?;
        }

        /// The newest sample without decoding is the newest sample read.
        #[test]
        fn newest_sample_matches_raw(
            ops in proptest::collection::vec((0i64..3000, value_strategy()), 1..800),
            range in (0i64..3000, 0i64..3000),
            fresh in any::<bool>(),
            recovered in any::<bool>(),
        ) {
            let store = ChunkStore::in_memory(7_200_000);
            let s = filled(&ops, &store, recovered);
            let (mint, maxt) = (range.0.min(range.1) * 7_000, range.0.max(range.1) * 7_000);
            let mut raw = Vec::new();
            s.data.lock().read(mint, maxt, &store, &mut raw).unwrap();
            let want = raw.into_iter().rev().find(|x| !(fresh && pulsedb_model::is_stale_nan(x.v)));
            let got = s.data.lock().newest_sample(mint, maxt, fresh, &store).unwrap();
            prop_assert_eq!(got.map(|x| (x.t, x.v.to_bits())), want.map(|x| (x.t, x.v.to_bits())));
        }
    }

    proptest! {
        #[test]
        fn matches_a_map_model(ops in proptest::collection::vec((0i64..2000, any::<i32>()), 1..600), on_disk in any::<bool>()) {
            let dir = tempfile::tempdir().unwrap();
            let store = store_in(dir.path(), on_disk, 600_000);
            let s = series();
            let mut model = BTreeMap::new();
            {
                let mut d = s.data.lock();
                for &(t, v) in &ops {
                    d.append(SeriesRef(1), t * 1000, f64::from(v), &store);
                    model.insert(t * 1000, f64::from(v).to_bits());
                }
            }
            let want: Vec<(i64, u64)> = model.into_iter().collect();
            prop_assert_eq!(read_all(&s, &store), want.clone());
            let mut ranged = Vec::new();
            s.data.lock().read(500_000, 900_000, &store, &mut ranged).unwrap();
            let want_range: Vec<i64> = want.iter().map(|w| w.0).filter(|t| (500_000..=900_000).contains(t)).collect();
            prop_assert_eq!(ranged.iter().map(|s| s.t).collect::<Vec<_>>(), want_range);
        }
    }
}
