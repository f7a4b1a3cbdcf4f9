//! Label values per name, held in memory once something listed them all
//! (a regex without a literal prefix, a negative matcher, the label values
//! API), so the next listing is a walk of a sorted set instead of one
//! RocksDB seek per value. New series add their values; deleted series
//! drop their names' sets, which are listed again when next needed.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

/// The values of one label name, sorted.
pub(super) type Values = Arc<BTreeSet<String>>;

#[derive(Debug, Default)]
pub(super) struct ValuesCache {
    names: RwLock<HashMap<String, Values>>,
    /// Bumped by every insert and delete, before the cache is updated for
    /// it: a listing read from RocksDB is kept only if none happened while
    /// it was read (it might lack a value an insert could not add to a set
    /// that was not there yet).
    changes: AtomicU64,
}

impl ValuesCache {
    pub(super) fn get(&self, name: &str) -> Option<Values> {
        self.names.read().get(name).cloned()
    }

    /// Call before reading a listing that is to be [`Self::store`]d.
    pub(super) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Keeps `values` for `name` unless the index changed since `changes`.
    pub(super) fn store(&self, name: &str, values: BTreeSet<String>, changes: u64) -> Values {
        let values = Arc::new(values);
        let mut names = self.names.write();
        if self.changes.load(Ordering::Acquire) == changes {
            names.insert(name.to_string(), values.clone());
        }
        values
    }

    /// Labels of new series, already written to the index.
    pub(super) fn inserted<'a>(&self, labels: impl IntoIterator<Item = (&'a str, &'a str)>) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        if self.names.read().is_empty() {
            return;
        }
        let mut names = self.names.write();
        for (name, value) in labels {
            if let Some(values) = names.get_mut(name) {
                if !values.contains(value) {
                    Arc::make_mut(values).insert(value.to_string());
                }
            }
        }
    }

    /// Names of labels of deleted series, already deleted from the index.
    pub(super) fn deleted<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        let mut cached = self.names.write();
        for name in names {
            cached.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn inserts_add_values_and_deletes_drop_names() {
        let cache = ValuesCache::default();
        let seen = cache.changes();
        cache.store("pod", set(&["a", "b"]), seen);
        cache.inserted([("pod", "c"), ("job", "x")]);
        assert_eq!(*cache.get("pod").unwrap_or_default(), set(&["a", "b", "c"]));
        assert!(cache.get("job").is_none(), "names not listed yet stay out");
        cache.deleted(["pod"]);
        assert!(cache.get("pod").is_none());
    }

    #[test]
    fn a_listing_read_across_an_insert_is_not_kept() {
        let cache = ValuesCache::default();
        let seen = cache.changes();
        cache.inserted([("pod", "c")]);
        let values = cache.store("pod", set(&["a"]), seen);
        assert_eq!(*values, set(&["a"]), "the caller still gets what it read");
        assert!(cache.get("pod").is_none());
    }
}
