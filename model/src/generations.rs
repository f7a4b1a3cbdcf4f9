//! A map bounded by a weight budget that keeps what is used: the caches of
//! the read path (compiled regexes, parsed queries, series keys,
//! decompressed block frames, rollup buckets) all keep entries this way,
//! most through [`SharedGenerations`], its form shared between threads.
//!
//! Two generations: inserts go to the newer one, and when it holds half
//! the budget the older one is dropped whole and the newer one becomes the
//! older; a lookup that finds an entry in the older one moves it to the
//! newer. An LRU approximation at O(1) per operation, holding at most the
//! budget (plus one entry).

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard, PoisonError};

pub struct Generations<K, V, S = RandomState> {
    current: HashMap<K, V, S>,
    previous: HashMap<K, V, S>,
    current_weight: usize,
    budget: usize,
    weight: fn(&V) -> usize,
}

impl<K, V, S> std::fmt::Debug for Generations<K, V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generations")
            .field("entries", &(self.current.len() + self.previous.len()))
            .field("current_weight", &self.current_weight)
            .field("budget", &self.budget)
            .finish()
    }
}

impl<K: Hash + Eq, V: Clone, S: BuildHasher + Default> Generations<K, V, S> {
    /// Empty, holding entries of total `weight` up to about `budget`.
    pub fn new(budget: usize, weight: fn(&V) -> usize) -> Self {
        Self { current: HashMap::default(), previous: HashMap::default(), current_weight: 0, budget, weight }
    }

    /// The value kept for `key`, moved to the newer generation if it was
    /// in the older one.
    pub fn get<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        if let Some(value) = self.current.get(key) {
            return Some(value.clone());
        }
        let (key, value) = self.previous.remove_entry(key)?;
        // Dropped at once: the generation it would drop is being emptied.
        drop(self.insert(key, value.clone()));
        Some(value)
    }

    /// Keeps `value` for `key`. Returns the older generation when this
    /// insert dropped it, for the caller to free outside its lock.
    #[must_use = "the dropped generation is returned to be freed outside a lock"]
    pub fn insert(&mut self, key: K, value: V) -> Option<HashMap<K, V, S>> {
        let weight = (self.weight)(&value);
        // Two lookups missing the same key both insert it: a replaced
        // entry adds no weight.
        if self.current.insert(key, value).is_none() {
            self.current_weight += weight;
        }
        if self.current_weight < self.budget / 2 {
            return None;
        }
        self.current_weight = 0;
        Some(std::mem::replace(&mut self.previous, std::mem::take(&mut self.current)))
    }

    /// Forgets `key`.
    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.current.remove(key);
        self.previous.remove(key);
    }

    /// Entries kept, in both generations.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A [`Generations`] shared between threads: values are cloned out (an
/// `Arc` or a cheap handle), computed outside the lock, and a dropped
/// generation is freed after the lock is released, not while other
/// threads wait on it. A lock poisoned by a panicking thread is taken
/// anyway: the map is sound between operations.
pub struct SharedGenerations<K, V, S = RandomState> {
    map: Mutex<Generations<K, V, S>>,
}

impl<K, V, S> std::fmt::Debug for SharedGenerations<K, V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedGenerations").finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, V: Clone, S: BuildHasher + Default> SharedGenerations<K, V, S> {
    /// Empty, holding entries of total `weight` up to about `budget`.
    pub fn new(budget: usize, weight: fn(&V) -> usize) -> Self {
        Self { map: Mutex::new(Generations::new(budget, weight)) }
    }

    fn locked(&self) -> MutexGuard<'_, Generations<K, V, S>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value kept for `key`.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.locked().get(key)
    }

    /// Keeps `value` for `key`.
    pub fn keep(&self, key: K, value: V) {
        let dropped = self.locked().insert(key, value);
        drop(dropped);
    }

    /// The value kept for `key`, or `compute`'s, kept (errors are not).
    /// Two threads missing the same key both compute it.
    pub fn get_or_try_insert_with<Q, E>(&self, key: &Q, compute: impl FnOnce() -> Result<V, E>) -> Result<V, E>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(value) = self.get(key) {
            return Ok(value);
        }
        let value = compute()?;
        self.keep(key.to_owned(), value.clone());
        Ok(value)
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.locked().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_entries_survive_and_the_weight_stays_bounded() {
        let mut g: Generations<u32, Vec<u8>> = Generations::new(10_000, Vec::len);
        drop(g.insert(0, vec![0; 1000]));
        for i in 1..100 {
            drop(g.insert(i, vec![0; 1000]));
            if i % 3 == 0 {
                assert!(g.get(&0).is_some(), "entry 0 lost at {i}");
            }
            assert!(g.len() <= 10, "{} entries of 1,000 bytes", g.len());
        }
        assert!(g.get(&1).is_none(), "an entry not asked for again is dropped");
        g.remove(&0);
        assert!(g.get(&0).is_none());
    }

    #[test]
    fn a_full_generation_is_handed_back_and_a_replaced_entry_weighs_nothing() {
        let mut g: Generations<String, u8> = Generations::new(4, |_| 1);
        assert!(g.insert("a".into(), 1).is_none());
        assert!(g.insert("a".into(), 2).is_none(), "replacing adds no weight");
        let dropped = g.insert("b".into(), 3);
        assert_eq!(dropped.map(|m| m.len()), Some(0), "the empty older generation goes");
        assert_eq!(g.get("a"), Some(2));
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn shared_values_are_computed_once_and_errors_are_not_kept() {
        let shared: SharedGenerations<String, u32> = SharedGenerations::new(100, |_| 1);
        assert_eq!(shared.get_or_try_insert_with("a", || Ok::<_, ()>(1)), Ok(1));
        assert_eq!(shared.get_or_try_insert_with("a", || Err(())), Ok(1), "kept, not computed again");
        assert_eq!(shared.get_or_try_insert_with("b", || Err::<u32, _>("bad")), Err("bad"));
        assert_eq!(shared.get("b"), None, "an error is not kept");
        shared.keep("b".into(), 2);
        assert_eq!((shared.get("b"), shared.len()), (Some(2), 2));
    }
}
