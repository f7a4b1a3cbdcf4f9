//! Where each label set sits in a list, found by hashing it once: the
//! grouping and assembling steps of evaluation look every series up by its
//! labels. A hash table of positions instead of a map keyed by `Labels`
//! keeps no second copy of each label set (a clone is an allocation per
//! label) and hashes with foldhash instead of SipHash (together 10 % of a
//! `last_over_time` over 1,600 series).

use hashbrown::HashTable;
use pulsedb_model::Labels;

pub(crate) struct LabelIndex {
    table: HashTable<usize>,
    hasher: foldhash::fast::RandomState,
}

impl LabelIndex {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self { table: HashTable::with_capacity(n), hasher: foldhash::fast::RandomState::default() }
    }

    /// The position of `labels` in `list` (whose label sets `labels_at`
    /// returns), if recorded.
    pub(crate) fn find<'a>(&self, labels: &Labels, labels_at: impl Fn(usize) -> &'a Labels) -> Option<usize> {
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, labels);
        self.table.find(hash, |&i| labels_at(i) == labels).copied()
    }

    /// Records that `labels_at(at)` is at `at`; the caller checked with
    /// [`LabelIndex::find`] that no equal label set is recorded.
    pub(crate) fn insert<'a>(&mut self, at: usize, labels_at: impl Fn(usize) -> &'a Labels) {
        let hasher = &self.hasher;
        let hash = std::hash::BuildHasher::hash_one(hasher, labels_at(at));
        self.table.insert_unique(hash, at, |&i| std::hash::BuildHasher::hash_one(hasher, labels_at(i)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_label_set_it_recorded_and_no_other() {
        let list: Vec<Labels> =
            (0..1000).map(|i| Labels::metric("m", [("host", format!("h{i}")), ("mode", "user".into())])).collect();
        let mut index = LabelIndex::with_capacity(0);
        for i in 0..list.len() {
            index.insert(i, |j| &list[j]);
        }
        for (i, l) in list.iter().enumerate() {
            assert_eq!(index.find(l, |j| &list[j]), Some(i));
        }
        assert_eq!(index.find(&Labels::metric("m", [("host", "h1".to_string())]), |j| &list[j]), None);
    }
}
