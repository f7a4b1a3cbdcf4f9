//! The head: every series that received samples not yet written to a
//! block, in sharded `parking_lot`-locked maps (by canonical labels key, and
//! by ref in pages: `by_ref.rs`), each series with its own lock. Appends are validated and applied
//! by the engine (`engine/append.rs`); this module owns the maps and the
//! head-wide bounds.
//!
//! Keys are hashed once per lookup with a seeded foldhash (fast, and not
//! open to hash flooding by crafted label sets); the hash picks the shard
//! and is reused inside it.

mod by_ref;
pub(crate) mod checkpoint;
mod closed_chunk;
mod key_pool;
mod minute_cache;
mod minutes;
mod out_of_order;
mod series;
mod spill;
mod summary;

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::RwLock;

use crate::SeriesRef;
pub(crate) use closed_chunk::{decode_chunk, push_recovered, ClosedChunk};
pub(crate) use series::{MemSeries, SeriesData};
pub(crate) use spill::ChunkStore;

const SHARDS: usize = 64;

type KeyShard = RwLock<HashTable<Arc<MemSeries>>>;

/// The in-memory head.
#[derive(Debug)]
pub(crate) struct Head {
    by_key: Box<[KeyShard]>,
    by_ref: by_ref::RefTable,
    /// The label pairs the series' keys are made of.
    keys: key_pool::KeyPool,
    hasher: foldhash::quality::RandomState,
    len: AtomicUsize,
    /// Appends before this are rejected. A flush raises it to a window's
    /// end before reading the window, so the block gets every sample of it;
    /// it stays raised if the write fails, and the retry writes the same window.
    min_valid: AtomicI64,
    /// Every sample before this is in a registered block: windows are
    /// flushed oldest first, a failed one is retried before any later one,
    /// and this advances only once a window's block is registered. Head
    /// data, head chunk files and WAL segments before it may be dropped, and
    /// compaction merges only windows that end by it. Equals `min_valid`
    /// except while a flush writes its window or until a failed one succeeds.
    flushed_until: AtomicI64,
    /// Newest timestamp appended to any series.
    maxt: AtomicI64,
    /// At or before every sample the head has held (`i64::MAX` before the
    /// first): appends lower it, nothing raises it. With `flushed_until` it
    /// bounds the oldest window with head data without visiting every series.
    mint_floor: AtomicI64,
    /// Closed chunks of every series, by block window.
    pub(crate) store: ChunkStore,
}

impl Head {
    /// A head whose samples before `flushed_until` are all in blocks.
    pub(crate) fn new(store: ChunkStore, flushed_until: i64) -> Self {
        Self {
            by_key: (0..SHARDS).map(|_| RwLock::new(HashTable::new())).collect(),
            by_ref: by_ref::RefTable::new(),
            keys: key_pool::KeyPool::new(),
            hasher: foldhash::quality::RandomState::default(),
            len: AtomicUsize::new(0),
            min_valid: AtomicI64::new(flushed_until),
            flushed_until: AtomicI64::new(flushed_until),
            maxt: AtomicI64::new(i64::MIN),
            mint_floor: AtomicI64::new(i64::MAX),
            store,
        }
    }

    /// The hash `get_by_key` and `get_or_insert` expect for `key`.
    pub(crate) fn hash_key(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn key_shard(&self, hash: u64) -> &KeyShard {
        &self.by_key[(hash >> 58) as usize % SHARDS]
    }

    /// Looks a series up by canonical key; `hash` is `hash_key(key)`.
    pub(crate) fn get_by_key(&self, hash: u64, key: &[u8]) -> Option<Arc<MemSeries>> {
        self.key_shard(hash).read().find(hash, |s| s.key.is(key)).cloned()
    }

    pub(crate) fn get(&self, sref: SeriesRef) -> Option<Arc<MemSeries>> {
        self.by_ref.with(sref, Arc::clone)
    }

    /// `f` of each item and the series under its ref, in order, until `f`
    /// returns `false`; a run of refs on one page is read under one read
    /// lock. `f` must not take a shard lock nor wait for a series' data
    /// lock, as for [`Head::with`].
    pub(crate) fn for_each<T>(
        &self,
        items: impl Iterator<Item = (SeriesRef, T)>,
        f: impl FnMut(SeriesRef, T, Option<&Arc<MemSeries>>) -> bool,
    ) {
        self.by_ref.for_each(items, f);
    }

    /// `f` of the series under `sref`, under its shard's read lock: no
    /// reference count taken and dropped unless `f` clones the `Arc` (for
    /// reads of many series, where those two atomic writes cost as much as
    /// the read). `f` must not
    /// take a shard lock, nor wait for a series' data lock: an append holds
    /// data locks while it takes a shard's write lock for a new series, so
    /// waiting here would deadlock with it (try the lock; if it is held,
    /// [`Head::get`] the series and wait outside).
    pub(crate) fn with<R>(&self, sref: SeriesRef, f: impl FnOnce(&Arc<MemSeries>) -> R) -> Option<R> {
        self.by_ref.with(sref, f)
    }

    /// Adds a series, or returns the one already there under that ref.
    pub(crate) fn get_or_insert(&self, sref: SeriesRef, key: &[u8]) -> Arc<MemSeries> {
        if let Some(existing) = self.get(sref) {
            return existing;
        }
        let hash = self.hash_key(key);
        // Into the key map under the ref map's lock, as lookups by key
        // expect every series found by ref to be there too.
        let (series, inserted) = self.by_ref.get_or_insert(sref, || {
            let series = Arc::new(MemSeries::new(sref, self.keys.intern(key), hash));
            self.key_shard(hash).write().insert_unique(hash, series.clone(), |s| s.hash);
            series
        });
        if inserted {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        series
    }

    /// Removes a series that has no samples left.
    pub(crate) fn remove(&self, series: &MemSeries) {
        series.mark_removed();
        if self.by_ref.remove(series.sref) {
            let mut shard = self.key_shard(series.hash).write();
            if let Ok(entry) = shard.find_entry(series.hash, |s| s.sref == series.sref) {
                entry.remove();
            }
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Lets go of the label pairs of series removed so far (call after
    /// removing a batch of series; it visits every pair).
    pub(crate) fn forget_removed_keys(&self) {
        self.keys.sweep();
    }

    /// Distinct label pairs the head's keys hold.
    #[cfg(test)]
    pub(crate) fn key_pairs(&self) -> usize {
        self.keys.pairs()
    }

    /// Every series, ordered by ref.
    pub(crate) fn all(&self) -> Vec<Arc<MemSeries>> {
        let mut out: Vec<Arc<MemSeries>> = Vec::with_capacity(self.len());
        self.by_ref.all(&mut out);
        out.sort_unstable_by_key(|s| s.sref);
        out
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub(crate) fn min_valid(&self) -> i64 {
        self.min_valid.load(Ordering::Acquire)
    }

    pub(crate) fn raise_min_valid(&self, t: i64) {
        self.min_valid.fetch_max(t, Ordering::AcqRel);
    }

    pub(crate) fn flushed_until(&self) -> i64 {
        self.flushed_until.load(Ordering::Acquire)
    }

    /// Records that every sample before `t` is in a registered block.
    pub(crate) fn advance_flushed_until(&self, t: i64) {
        self.flushed_until.fetch_max(t, Ordering::AcqRel);
    }

    /// Newest timestamp in the head, `i64::MIN` when nothing was appended.
    pub(crate) fn maxt(&self) -> i64 {
        self.maxt.load(Ordering::Acquire)
    }

    pub(crate) fn observe(&self, t: i64) {
        self.maxt.fetch_max(t, Ordering::AcqRel);
    }

    pub(crate) fn mint_floor(&self) -> i64 {
        self.mint_floor.load(Ordering::Acquire)
    }

    /// Records that a sample at `t` entered the head.
    pub(crate) fn observe_mint(&self, t: i64) {
        self.mint_floor.fetch_min(t, Ordering::AcqRel);
    }

    /// Bytes held by series and their samples in memory: each series'
    /// struct, key and heap, its two map entries (estimated), the label
    /// pairs of their keys, and closed chunks the store keeps in memory.
    pub(crate) fn memory(&self) -> usize {
        let per_entry = 2 * (std::mem::size_of::<Arc<MemSeries>>() + 16) + std::mem::size_of::<MemSeries>();
        let series: usize =
            self.all().iter().map(|s| per_entry + s.key.heap_bytes() + s.data.lock().heap_bytes()).sum();
        series + self.keys.heap_bytes() + self.store.resident_bytes() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_lookup_remove() {
        let head = Head::new(ChunkStore::in_memory(7_200_000), i64::MIN);
        let a = head.get_or_insert(SeriesRef(7), b"a");
        let again = head.get_or_insert(SeriesRef(7), b"a");
        assert!(Arc::ptr_eq(&a, &again));
        let hash = head.hash_key(b"a");
        assert_eq!(head.get_by_key(hash, b"a").map(|s| s.sref), Some(SeriesRef(7)));
        assert_eq!(head.len(), 1);
        head.remove(&a);
        assert!(head.get(SeriesRef(7)).is_none());
        assert!(head.get_by_key(hash, b"a").is_none());
        assert_eq!(head.len(), 0);
    }
}
