//! Label values per name, held in memory once something listed them all
//! (a regex without a literal prefix, a negative matcher, the label values
//! API), so the next listing is a walk of a sorted set instead of one
//! RocksDB seek per value. New series add their values; deleted series
//! drop their names' sets, which are listed again when next needed.
//! Beside them, the values each recent regex matched (what a dashboard's
//! template variables ask again and again), valid while their name's set
//! is unchanged.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

/// The values of one label name, sorted.
pub(super) type Values = Arc<BTreeSet<String>>;

/// The values of one label name a matcher matched (or rejected).
pub(super) type Matching = Arc<Vec<String>>;

/// The version of values that were listed but not kept (an insert came
/// between): nothing derived from them is kept either.
pub(super) const NOT_KEPT: u64 = u64::MAX;

/// Regexes whose matching values are kept at most; past it the list starts over.
const MATCHES_KEPT: usize = 1_000;

#[derive(Debug, Default)]
pub(super) struct ValuesCache {
    /// Each name's values and the change that last touched them.
    names: RwLock<HashMap<String, (Values, u64)>>,
    /// By matcher (and whether its matches or its misses are wanted): the
    /// version of the name's values they were taken from, and the values.
    matches: RwLock<HashMap<String, (u64, Matching)>>,
    /// Bumped by every insert and delete, before the cache is updated for
    /// it: a listing read from RocksDB is kept only if none happened while
    /// it was read (it might lack a value an insert could not add to a set
    /// that was not there yet).
    changes: AtomicU64,
}

impl ValuesCache {
    /// `name`'s values and their version.
    pub(super) fn get(&self, name: &str) -> Option<(Values, u64)> {
        self.names.read().get(name).cloned()
    }

    /// What [`Self::keep_matching`] kept under `key` from values of `version`.
    pub(super) fn matching(&self, key: &str, version: u64) -> Option<Matching> {
        self.matches.read().get(key).filter(|(v, _)| *v == version).map(|(_, values)| values.clone())
    }

    pub(super) fn keep_matching(&self, key: String, version: u64, values: Matching) {
        if version == NOT_KEPT {
            return;
        }
        let mut matches = self.matches.write();
        if matches.len() >= MATCHES_KEPT {
            matches.clear();
        }
        matches.insert(key, (version, values));
    }

    /// Call before reading a listing that is to be [`Self::store`]d.
    pub(super) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Keeps `values` for `name` unless the index changed since `changes`.
    pub(super) fn store(&self, name: &str, values: BTreeSet<String>, changes: u64) -> (Values, u64) {
        let values = Arc::new(values);
        let mut names = self.names.write();
        if self.changes.load(Ordering::Acquire) != changes {
            return (values, NOT_KEPT);
        }
        names.insert(name.to_string(), (values.clone(), changes));
        (values, changes)
    }

    /// Labels of new series, already written to the index.
    pub(super) fn inserted<'a>(&self, labels: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let change = self.changes.fetch_add(1, Ordering::AcqRel) + 1;
        if self.names.read().is_empty() {
            return;
        }
        let mut names = self.names.write();
        for (name, value) in labels {
            if let Some((values, version)) = names.get_mut(name) {
                if !values.contains(value) {
                    Arc::make_mut(values).insert(value.to_string());
                    *version = change;
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
        // Versions come from one counter and the index serialises its
        // writes, so a relisted name cannot take an old version; dropping
        // every kept match as well keeps that true without relying on it.
        self.matches.write().clear();
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
        assert_eq!(*cache.get("pod").unwrap_or_default().0, set(&["a", "b", "c"]));
        assert!(cache.get("job").is_none(), "names not listed yet stay out");
        cache.deleted(["pod"]);
        assert!(cache.get("pod").is_none());
    }

    #[test]
    fn kept_matches_go_stale_with_their_values() {
        let cache = ValuesCache::default();
        let (_, version) = cache.store("pod", set(&["a1", "b1"]), cache.changes());
        cache.keep_matching("pod=~.*1".into(), version, Arc::new(vec!["a1".into(), "b1".into()]));
        assert!(cache.matching("pod=~.*1", version).is_some());
        cache.inserted([("job", "x")]);
        let (_, same) = cache.get("pod").unwrap_or_default();
        assert_eq!(same, version, "a value of another name changes nothing");
        cache.inserted([("pod", "c1")]);
        let (_, newer) = cache.get("pod").unwrap_or_default();
        assert!(cache.matching("pod=~.*1", newer).is_none());
    }

    #[test]
    fn a_listing_read_across_an_insert_is_not_kept() {
        let cache = ValuesCache::default();
        let seen = cache.changes();
        cache.inserted([("pod", "c")]);
        let (values, version) = cache.store("pod", set(&["a"]), seen);
        assert_eq!(*values, set(&["a"]), "the caller still gets what it read");
        cache.keep_matching("pod=~a".into(), version, Arc::new(vec!["a".into()]));
        assert!(cache.matching("pod=~a", version).is_none());
        assert!(cache.get("pod").is_none());
    }
}
