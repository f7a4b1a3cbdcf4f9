//! The series sets of recent matcher sets. A dashboard asks for the same
//! selectors every refresh, and a whole-metric selector over a million
//! series read its postings from RocksDB each time (60 % of `count(m)`).
//! A set is kept with the index's change count it was read at, and used
//! only while no series has been inserted or deleted since (the count is
//! bumped after every write, before it returns), so a new series is never
//! missing from an answer given after its append returned.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::{Matcher, SeriesRef};

/// Most bytes kept over all sets: their refs (8 bytes each) and keys.
const MOST_BYTES: usize = 32 << 20;
/// Most sets kept.
const MOST_SETS: usize = 256;

/// A matcher set: each matcher's name, operator and value, sorted. Kept
/// as the parts themselves, not joined into one string, so that no value
/// (label values may hold any byte) can make two sets look alike.
pub(super) type Key = Vec<(String, u8, String)>;

#[derive(Debug)]
struct Kept {
    changes: u64,
    refs: Arc<Vec<SeriesRef>>,
    last_used: u64,
}

impl Kept {
    fn bytes(&self, key: &Key) -> usize {
        key_bytes(key) + self.refs.len() * std::mem::size_of::<SeriesRef>()
    }
}

fn key_bytes(key: &Key) -> usize {
    key.iter().map(|(n, _, v)| n.len() + v.len() + std::mem::size_of::<(String, u8, String)>()).sum()
}

#[derive(Debug, Default)]
struct Sets {
    by_key: HashMap<Key, Kept>,
    bytes: usize,
    uses: u64,
}

#[derive(Debug, Default)]
pub(super) struct PostingsCache {
    sets: Mutex<Sets>,
}

/// The same key for the same matchers in any order.
pub(super) fn key_of(matchers: &[Matcher]) -> Key {
    let mut key: Key = matchers.iter().map(|m| (m.name().to_string(), m.op() as u8, m.value().to_string())).collect();
    key.sort_unstable();
    key
}

impl PostingsCache {
    /// The set kept under `key` if the index is still at `changes`.
    pub(super) fn get(&self, key: &Key, changes: u64) -> Option<Arc<Vec<SeriesRef>>> {
        let mut sets = self.sets.lock();
        sets.uses += 1;
        let uses = sets.uses;
        let kept = sets.by_key.get_mut(key).filter(|k| k.changes == changes)?;
        kept.last_used = uses;
        Some(kept.refs.clone())
    }

    /// Keeps `refs`, read at `changes`, under `key`, making room by
    /// dropping stale sets and then the least recently used. `current` is
    /// the index's change count now: a set read before a write is not kept
    /// (nor does it push out a newer one).
    pub(super) fn keep(&self, key: Key, changes: u64, current: u64, refs: Arc<Vec<SeriesRef>>) {
        let kept = Kept { changes, refs, last_used: 0 };
        let bytes = kept.bytes(&key);
        if changes != current || bytes > MOST_BYTES {
            return;
        }
        let mut sets = self.sets.lock();
        let sets = &mut *sets;
        if let Some(old) = sets.by_key.remove(&key) {
            sets.bytes -= old.bytes(&key);
        }
        if sets.bytes + bytes > MOST_BYTES || sets.by_key.len() >= MOST_SETS {
            let mut dropped = 0;
            sets.by_key.retain(|key, k| {
                let keep = k.changes == changes;
                dropped += if keep { 0 } else { k.bytes(key) };
                keep
            });
            sets.bytes -= dropped;
        }
        while sets.bytes + bytes > MOST_BYTES || sets.by_key.len() >= MOST_SETS {
            let Some(oldest) = sets.by_key.iter().min_by_key(|(_, k)| k.last_used).map(|(key, _)| key.clone()) else {
                break;
            };
            if let Some(k) = sets.by_key.remove(&oldest) {
                sets.bytes -= k.bytes(&oldest);
            }
        }
        sets.uses += 1;
        sets.bytes += bytes;
        let last_used = sets.uses;
        sets.by_key.insert(key, Kept { last_used, ..kept });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn refs(n: u64) -> Arc<Vec<SeriesRef>> {
        Arc::new((0..n).map(SeriesRef).collect())
    }

    #[test]
    fn a_set_serves_only_its_own_change_count() {
        let cache = PostingsCache::default();
        let m = [Matcher::equal("__name__", "up"), Matcher::equal("job", "a")];
        let key = key_of(&m);
        assert_eq!(key, key_of(&[m[1].clone(), m[0].clone()]), "order does not matter");
        cache.keep(key.clone(), 7, 7, refs(3));
        assert_eq!(cache.get(&key, 7).unwrap().len(), 3);
        assert!(cache.get(&key, 8).is_none(), "a series was inserted or deleted since");
        assert!(cache.get(&key_of(&m[..1]), 7).is_none());
        // Read before a write: not kept.
        cache.keep(key_of(&m[..1]), 7, 8, refs(1));
        assert!(cache.get(&key_of(&m[..1]), 7).is_none());
    }

    #[test]
    fn values_with_any_bytes_never_share_a_key() {
        // Joined into one text, these two sets would read alike.
        let one = [Matcher::equal("a", "1\u{1}c\u{0}Equal\u{0}2")];
        let two = [Matcher::equal("a", "1"), Matcher::equal("c", "2")];
        assert_ne!(key_of(&one), key_of(&two));
        let cache = PostingsCache::default();
        cache.keep(key_of(&one), 1, 1, refs(0));
        assert!(cache.get(&key_of(&two), 1).is_none());
    }

    #[test]
    fn the_least_recently_used_sets_make_room() {
        let cache = PostingsCache::default();
        // Two fit with their keys, three do not.
        let half = (MOST_BYTES / 16) as u64 - 16;
        let key = |k: &str| key_of(&[Matcher::equal("k", k)]);
        cache.keep(key("a"), 1, 1, refs(half));
        cache.keep(key("b"), 1, 1, refs(half));
        cache.get(&key("a"), 1).unwrap();
        cache.keep(key("c"), 1, 1, refs(half));
        assert!(cache.get(&key("b"), 1).is_none(), "b was the least recently used");
        assert!(cache.get(&key("a"), 1).is_some() && cache.get(&key("c"), 1).is_some());
        cache.keep(key("too big"), 1, 1, refs(MOST_BYTES as u64 / 8 + 1));
        assert!(cache.get(&key("too big"), 1).is_none());
        assert!(cache.sets.lock().bytes <= MOST_BYTES);
        // A long key counts too.
        let long = key_of(&[Matcher::equal("k", "x".repeat(MOST_BYTES))]);
        cache.keep(long.clone(), 1, 1, refs(0));
        assert!(cache.get(&long, 1).is_none());
    }
}
