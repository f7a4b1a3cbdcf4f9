//! The remote-write series cache: the exact bytes of a series' label fields
//! as Prometheus sends them → the series' handle in the database. A series
//! seen before is then appended by handle, decoded without building its
//! labels (`pulsedb_formats::remote_wire`); one not seen builds them, and
//! is cached once its append has created it.
//!
//! Bounded: a shard that fills up is emptied (its series come back as
//! misses, one request each). A handle goes stale when its series leaves
//! the head: the append then fails whole with `StaleSeriesHandle`, the
//! write path decodes the request again without the cache, and learning
//! from that request replaces the stale entries.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use parking_lot::Mutex;
use pulsedb::{Batch, Db, SeriesHandle};
use pulsedb_formats::remote_wire::{self, Miss};

const SHARDS: usize = 64;
/// Series kept, in all (about 250 bytes each with Prometheus-like labels).
const CAPACITY: usize = 1 << 20;

struct Entry {
    hash: u64,
    wire_labels: Box<[u8]>,
    handle: SeriesHandle,
}

pub(crate) struct SeriesCache {
    shards: Box<[Mutex<HashTable<Entry>>]>,
    hasher: foldhash::quality::RandomState,
}

impl std::fmt::Debug for SeriesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesCache").field("series", &self.len()).finish()
    }
}

impl Default for SeriesCache {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashTable::new())).collect(),
            hasher: foldhash::quality::RandomState::default(),
        }
    }
}

impl SeriesCache {
    fn shard(&self, hash: u64) -> &Mutex<HashTable<Entry>> {
        &self.shards[(hash >> 58) as usize % SHARDS]
    }

    /// Series cached.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Caches the series `misses` name in `batch` (all appended by now):
    /// each resolves to the handle of the series its append created or found.
    pub(crate) fn learn(&self, db: &Db, batch: &Batch, misses: Vec<Miss>) -> pulsedb::Result<()> {
        let rows: Vec<_> = batch.rows().collect();
        for miss in misses {
            let (Some(wire_labels), Some((labels, _))) = (miss.wire_labels, rows.get(miss.row)) else { continue };
            let handle = db.resolve(labels)?;
            self.insert(wire_labels.into_boxed_slice(), handle);
        }
        Ok(())
    }

    fn insert(&self, wire_labels: Box<[u8]>, handle: SeriesHandle) {
        let hash = self.hasher.hash_one(&wire_labels);
        let mut shard = self.shard(hash).lock();
        if let Some(entry) = shard.find_mut(hash, |e| e.wire_labels == wire_labels) {
            entry.handle = handle;
            return;
        }
        if shard.len() >= CAPACITY / SHARDS {
            shard.clear();
        }
        shard.insert_unique(hash, Entry { hash, wire_labels, handle }, |e| e.hash);
    }
}

impl remote_wire::SeriesCache for SeriesCache {
    fn get(&self, wire_labels: &[u8]) -> Option<SeriesHandle> {
        let hash = self.hasher.hash_one(wire_labels);
        self.shard(hash).lock().find(hash, |e| &*e.wire_labels == wire_labels).map(|e| e.handle)
    }
}
