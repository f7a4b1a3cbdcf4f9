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

/// Most refs kept over all sets (8 bytes each: 32 MiB).
const MOST_REFS: usize = 4 << 20;
/// Most sets kept.
const MOST_SETS: usize = 256;

#[derive(Debug)]
struct Kept {
    changes: u64,
    refs: Arc<Vec<SeriesRef>>,
    last_used: u64,
}

#[derive(Debug, Default)]
struct Sets {
    by_key: HashMap<String, Kept>,
    refs: usize,
    uses: u64,
}

#[derive(Debug, Default)]
pub(super) struct PostingsCache {
    sets: Mutex<Sets>,
}

/// The same text for the same matchers in any order.
pub(super) fn key_of(matchers: &[Matcher]) -> String {
    let mut parts: Vec<String> =
        matchers.iter().map(|m| format!("{}\u{0}{:?}\u{0}{}", m.name(), m.op(), m.value())).collect();
    parts.sort_unstable();
    parts.join("\u{1}")
}

impl PostingsCache {
    /// The set kept under `key` if the index is still at `changes`.
    pub(super) fn get(&self, key: &str, changes: u64) -> Option<Arc<Vec<SeriesRef>>> {
        let mut sets = self.sets.lock();
        sets.uses += 1;
        let uses = sets.uses;
        let kept = sets.by_key.get_mut(key).filter(|k| k.changes == changes)?;
        kept.last_used = uses;
        Some(kept.refs.clone())
    }

    /// Keeps `refs`, read at `changes`, under `key`, making room by
    /// dropping stale sets and then the least recently used.
    pub(super) fn keep(&self, key: String, changes: u64, refs: Arc<Vec<SeriesRef>>) {
        if refs.len() > MOST_REFS {
            return;
        }
        let mut sets = self.sets.lock();
        let sets = &mut *sets;
        if let Some(old) = sets.by_key.remove(&key) {
            sets.refs -= old.refs.len();
        }
        if sets.refs + refs.len() > MOST_REFS || sets.by_key.len() >= MOST_SETS {
            let mut dropped = 0;
            sets.by_key.retain(|_, k| {
                let keep = k.changes == changes;
                dropped += if keep { 0 } else { k.refs.len() };
                keep
            });
            sets.refs -= dropped;
        }
        while sets.refs + refs.len() > MOST_REFS || sets.by_key.len() >= MOST_SETS {
            let Some(oldest) = sets.by_key.iter().min_by_key(|(_, k)| k.last_used).map(|(key, _)| key.clone()) else {
                break;
            };
            if let Some(k) = sets.by_key.remove(&oldest) {
                sets.refs -= k.refs.len();
            }
        }
        sets.uses += 1;
        sets.refs += refs.len();
        let last_used = sets.uses;
        sets.by_key.insert(key, Kept { changes, refs, last_used });
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
        cache.keep(key.clone(), 7, refs(3));
        assert_eq!(cache.get(&key, 7).unwrap().len(), 3);
        assert!(cache.get(&key, 8).is_none(), "a series was inserted or deleted since");
        assert!(cache.get(&key_of(&m[..1]), 7).is_none());
    }

    #[test]
    fn the_least_recently_used_sets_make_room() {
        let cache = PostingsCache::default();
        let half = (MOST_REFS / 2) as u64;
        cache.keep("a".into(), 1, refs(half));
        cache.keep("b".into(), 1, refs(half));
        cache.get("a", 1).unwrap();
        cache.keep("c".into(), 1, refs(half));
        assert!(cache.get("b", 1).is_none(), "b was the least recently used");
        assert!(cache.get("a", 1).is_some() && cache.get("c", 1).is_some());
        cache.keep("too big".into(), 1, refs(MOST_REFS as u64 + 1));
        assert!(cache.get("too big", 1).is_none());
        assert!(cache.sets.lock().refs <= MOST_REFS);
    }
}
