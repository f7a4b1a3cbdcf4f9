//! The write paths' series cache: the exact bytes naming a series in a
//! request → the series' handle in the database. For remote-write, the
//! bytes of a series' label fields as Prometheus sends them
//! (`pulsedb_formats::remote_wire`); for line protocol (a cache of its
//! own), a line's raw series section and field key
//! (`pulsedb_formats::line_protocol`). A series seen before is appended by
//! handle without building its labels; one not seen builds them, and is
//! cached once its append has created it.
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
use pulsedb_formats::line_protocol;
use pulsedb_formats::remote_wire::{self, Miss};

const SHARDS: usize = 64;
/// Series kept, in all (about 250 bytes each with Prometheus-like labels).
const CAPACITY: usize = 1 << 20;

struct Entry {
    hash: u64,
    wire_labels: Box<[u8]>,
    handle: SeriesHandle,
    /// Bytes of the series' label names and values (line protocol's
    /// expansion budget counts them).
    label_bytes: usize,
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
            let label_bytes = labels.iter().map(|l| l.name.len() + l.value.len()).sum();
            self.insert(wire_labels.into_boxed_slice(), handle, label_bytes);
        }
        Ok(())
    }

    fn insert(&self, wire_labels: Box<[u8]>, handle: SeriesHandle, label_bytes: usize) {
        let hash = self.hasher.hash_one(&wire_labels);
        let mut shard = self.shard(hash).lock();
        if let Some(entry) = shard.find_mut(hash, |e| e.wire_labels == wire_labels) {
            entry.handle = handle;
            entry.label_bytes = label_bytes;
            return;
        }
        if shard.len() >= CAPACITY / SHARDS {
            shard.clear();
        }
        shard.insert_unique(hash, Entry { hash, wire_labels, handle, label_bytes }, |e| e.hash);
    }
}

impl SeriesCache {
    fn find(&self, wire_labels: &[u8]) -> Option<(SeriesHandle, usize)> {
        let hash = self.hasher.hash_one(wire_labels);
        self.shard(hash).lock().find(hash, |e| &*e.wire_labels == wire_labels).map(|e| (e.handle, e.label_bytes))
    }
}

impl remote_wire::SeriesCache for SeriesCache {
    fn get(&self, wire_labels: &[u8]) -> Option<SeriesHandle> {
        self.find(wire_labels).map(|(handle, _)| handle)
    }
}

impl line_protocol::LineSeriesCache for SeriesCache {
    fn get(&self, key: &[u8]) -> Option<(SeriesHandle, usize)> {
        self.find(key)
    }
}
