//! Label keys of series by ref, kept in memory once read from RocksDB.
//! Series whose samples have left the head (blocks only) get their labels
//! from the index on every query, and dashboards ask for the same series
//! again and again: a RocksDB lookup costs microseconds per series (29 %
//! of a `last_over_time` over 1,600 block-only series), a map lookup tens
//! of nanoseconds.
//!
//! A ref's labels never change while the process runs, so an entry goes
//! stale only when its series is forgotten (retention), which removes it.
//! (A read racing that removal may put the dead ref back; it is never
//! asked for again, as the series is in no posting list. A restart may
//! give a forgotten ref to a new series, but starts with an empty cache.)
//! Bounded by bytes in two generations (`pulsedb_model::Generations`).

use std::sync::Arc;

use parking_lot::Mutex;
use pulsedb_model::Generations;

use crate::SeriesRef;

/// Bytes of keys (with per-entry overhead) kept at most: 32 MiB, about
/// 200 k series of node-exporter-like labels.
const BUDGET_BYTES: usize = 32 << 20;
/// Map and `Arc` bookkeeping per entry, counted against the budget.
const ENTRY_OVERHEAD: usize = 48;

pub(crate) struct KeyCache {
    generations: Mutex<Generations<SeriesRef, Arc<[u8]>, foldhash::fast::RandomState>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self { generations: Mutex::new(Generations::new(BUDGET_BYTES, |key| key.len() + ENTRY_OVERHEAD)) }
    }
}

impl KeyCache {
    /// Fills `out[i]` for each of `refs` the cache holds; returns the
    /// indexes it does not hold.
    pub(crate) fn get_many(&self, refs: &[SeriesRef], out: &mut [Option<Arc<[u8]>>]) -> Vec<usize> {
        let mut g = self.generations.lock();
        let mut missing = Vec::new();
        for (i, (sref, slot)) in refs.iter().zip(out.iter_mut()).enumerate() {
            *slot = g.get(sref);
            if slot.is_none() {
                missing.push(i);
            }
        }
        missing
    }

    pub(crate) fn insert(&self, entries: impl IntoIterator<Item = (SeriesRef, Arc<[u8]>)>) {
        let mut dropped = Vec::new();
        let mut g = self.generations.lock();
        for (sref, key) in entries {
            dropped.extend(g.insert(sref, key));
        }
        drop(g);
        // Freed after the lock is released, not while queries wait on it.
        drop(dropped);
    }

    pub(crate) fn remove(&self, refs: impl IntoIterator<Item = SeriesRef>) {
        let mut g = self.generations.lock();
        for sref in refs {
            g.remove(&sref);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_generation_and_removed_ones_are_gone() {
        let cache = KeyCache::default();
        let key: Arc<[u8]> = vec![7u8; 1000].into();
        let per_generation = BUDGET_BYTES / 2 / (1000 + ENTRY_OVERHEAD) + 1;
        cache.insert((0..per_generation as u64).map(|r| (SeriesRef(r), key.clone())));
        // The first generation is now the older one; a lookup promotes.
        let mut out = vec![None; 2];
        assert_eq!(cache.get_many(&[SeriesRef(0), SeriesRef(u64::MAX)], &mut out), vec![1]);
        assert_eq!(out[0].as_deref(), Some(&key[..]));
        cache.remove([SeriesRef(0), SeriesRef(1)]);
        assert_eq!(cache.get_many(&[SeriesRef(0), SeriesRef(1), SeriesRef(2)], &mut out[..]).len(), 2);
        // Another full generation drops what was not used since.
        cache.insert((per_generation as u64..2 * per_generation as u64).map(|r| (SeriesRef(r), key.clone())));
        cache.insert((2 * per_generation as u64..3 * per_generation as u64).map(|r| (SeriesRef(r), key.clone())));
        let mut out = vec![None; 1];
        assert_eq!(cache.get_many(&[SeriesRef(3)], &mut out), vec![0]);
    }
}
