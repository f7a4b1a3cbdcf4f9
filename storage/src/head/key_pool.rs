//! Label pairs shared by the head's series keys. A canonical key
//! (`series_key.rs`) is its labels' `(name, value)` encodings back to back,
//! and most of those pairs recur across series (a metric name, `job`,
//! `instance`, a namespace), so the head keeps each distinct pair once and
//! each series a pointer per label: with Prometheus-like label sets the
//! whole key was 40 % of a series' memory (BENCHMARKS.md, "Head memory").
//!
//! A pair leaves the pool at the first [`KeyPool::sweep`] after the last
//! series holding it has left the head, so churning label values (pod
//! names, container ids) do not pile up.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::Mutex;

use crate::codec::ByteReader;

const SHARDS: usize = 64;

/// One label's bytes of a canonical key, shared by the series that have
/// that label. Boxed inside the `Arc` so that a series holds a thin pointer.
type Pair = Arc<Box<[u8]>>;

/// A canonical key as the shared pairs it is made of, in order.
pub(crate) struct PooledKey(Box<[Pair]>);

impl PooledKey {
    /// Whether this is the key `key`, byte for byte.
    pub(crate) fn is(&self, key: &[u8]) -> bool {
        let mut rest = key;
        for pair in self.0.iter() {
            match rest.strip_prefix(&***pair) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// Length of the key in bytes.
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(|p| p.len()).sum()
    }

    /// Appends the key's bytes to `out`.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.len());
        for pair in self.0.iter() {
            out.extend_from_slice(pair);
        }
    }

    /// The key's bytes in one allocation of their own.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// Heap bytes this key holds itself; its pairs are the pool's.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.0)
    }
}

impl fmt::Debug for PooledKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PooledKey({} labels, {} bytes)", self.0.len(), self.len())
    }
}

/// The distinct pairs of every key in the head, in shards locked apart.
pub(crate) struct KeyPool {
    shards: Box<[Mutex<HashTable<Pair>>]>,
    hasher: foldhash::quality::RandomState,
}

impl fmt::Debug for KeyPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPool").field("pairs", &self.pairs()).finish()
    }
}

impl KeyPool {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashTable::new())).collect(),
            hasher: foldhash::quality::RandomState::default(),
        }
    }

    /// `key` made of pooled pairs, adding the pairs not pooled yet.
    pub(crate) fn intern(&self, key: &[u8]) -> PooledKey {
        PooledKey(label_spans(key).map(|bytes| self.pair(bytes)).collect())
    }

    fn pair(&self, bytes: &[u8]) -> Pair {
        let hash = self.hasher.hash_one(bytes);
        let mut shard = self.shards[(hash >> 58) as usize % SHARDS].lock();
        if let Some(pair) = shard.find(hash, |p| ***p == *bytes) {
            return Arc::clone(pair);
        }
        let pair: Pair = Arc::new(bytes.into());
        shard.insert_unique(hash, Arc::clone(&pair), |p| self.hasher.hash_one(&***p));
        pair
    }

    /// Drops the pairs no key holds any more. A pair is cloned only under
    /// its shard's lock, which this holds, so one seen unused here cannot
    /// be in the middle of being handed out.
    pub(crate) fn sweep(&self) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let before = shard.len();
            shard.retain(|p| Arc::strong_count(p) > 1);
            // Rehashing is worth it only where pairs went (after churn).
            if shard.len() < before {
                shard.shrink_to_fit(|p| self.hasher.hash_one(&***p));
            }
        }
    }

    /// Number of distinct pairs held.
    pub(crate) fn pairs(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Heap bytes of the pool: each pair's bytes, its box and `Arc`, and
    /// its table slot.
    pub(crate) fn heap_bytes(&self) -> usize {
        let overhead = 2 * std::mem::size_of::<usize>() + std::mem::size_of::<Box<[u8]>>();
        self.shards
            .iter()
            .map(|s| {
                let shard = s.lock();
                shard.capacity() * std::mem::size_of::<Pair>() + shard.iter().map(|p| p.len() + overhead).sum::<usize>()
            })
            .sum()
    }
}

/// The byte spans of `key` that each hold one label (`uvarint len | name |
/// uvarint len | value`). Keys come from `SeriesKey::write_key`; should a
/// key not parse, its unparsed rest is one span, so it still round-trips
/// byte for byte.
fn label_spans(key: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = key;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut r = ByteReader::new(rest);
        let len = match r.bytes("label name").and_then(|_| r.bytes("label value")) {
            Ok(_) => r.position(),
            Err(_) => rest.len(),
        };
        let (span, after) = rest.split_at(len);
        rest = after;
        Some(span)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::series_key::SeriesKey;
    use proptest::prelude::*;
    use pulsedb_model::Labels;

    fn key(pairs: &[(&str, &str)]) -> Vec<u8> {
        Labels::new(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string()))).to_key()
    }

    #[test]
    fn shared_labels_are_held_once_and_swept_when_unused() {
        let pool = KeyPool::new();
        let a = pool.intern(&key(&[("__name__", "up"), ("job", "api"), ("pod", "a")]));
        let b = pool.intern(&key(&[("__name__", "up"), ("job", "api"), ("pod", "b")]));
        assert_eq!(pool.pairs(), 4);
        assert!(Arc::ptr_eq(&a.0[0], &b.0[0]));
        drop(a);
        pool.sweep();
        assert_eq!(pool.pairs(), 3, "pod=a is no one's any more");
        assert!(b.is(&key(&[("__name__", "up"), ("job", "api"), ("pod", "b")])));
        drop(b);
        pool.sweep();
        assert_eq!(pool.pairs(), 0);
        assert_eq!(pool.heap_bytes(), 0);
    }

    #[test]
    fn an_empty_key_and_a_key_that_does_not_parse_round_trip() {
        let pool = KeyPool::new();
        assert!(pool.intern(b"").is(b""));
        assert_eq!(pool.intern(b"").to_vec(), b"");
        let mut odd = key(&[("a", "b")]);
        odd.extend_from_slice(&[0xff, 0xff, 3, 1]);
        let pooled = pool.intern(&odd);
        assert_eq!(pooled.to_vec(), odd);
        assert!(pooled.is(&odd));
    }

    proptest! {
        #[test]
        fn pooled_keys_are_their_keys(
            sets in proptest::collection::vec(proptest::collection::vec(("[a-c]{1,2}", "[x-z]{0,2}"), 0..5), 1..12),
            other in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let pool = KeyPool::new();
            let keys: Vec<Vec<u8>> = sets.into_iter().map(|s| Labels::new(s).to_key()).collect();
            let pooled: Vec<PooledKey> = keys.iter().map(|k| pool.intern(k)).collect();
            for (k, p) in keys.iter().zip(&pooled) {
                prop_assert_eq!(&p.to_vec(), k);
                prop_assert_eq!(p.len(), k.len());
                for other_key in &keys {
                    prop_assert_eq!(p.is(other_key), other_key == k);
                }
                prop_assert_eq!(p.is(&other), &other == k);
                // A key is never equal to its own prefix or extension.
                if !k.is_empty() {
                    prop_assert!(!p.is(&k[..k.len() - 1]));
                }
                let mut longer = k.clone();
                longer.push(0);
                prop_assert!(!p.is(&longer));
            }
            let raw = pool.intern(&other);
            prop_assert_eq!(raw.to_vec(), other);
        }
    }
}
