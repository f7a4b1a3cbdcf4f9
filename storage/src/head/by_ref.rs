//! The head's series by ref. Refs are minted by one counter, so they are
//! dense: a slot per ref, in pages of [`PAGE`] consecutive refs, makes a
//! lookup an index into a page instead of a probe of a hash map of every
//! series, and reading refs in order (as every selection does) walks each
//! page in order. The hash probes' cache misses were 40 % of `count(m)`
//! over a million head series. A page is dropped when its last series
//! leaves, so refs minted and forgotten by churn cost nothing.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::MemSeries;
use crate::SeriesRef;

/// Refs per page: small enough that a page kept by one long-lived series
/// among churned ones wastes little (2 KiB), large enough that a run of
/// series read together shares a page.
const PAGE: u64 = 256;
/// Pages are spread over this many locks, so that writers of new series
/// and readers of others rarely meet.
const SHARDS: u64 = 64;

#[derive(Debug)]
struct Page {
    slots: Box<[Option<Arc<MemSeries>>]>,
    live: usize,
}

/// Page number to page. Refs are assigned here, never chosen by a client:
/// the fast hasher is safe.
type Shard = HashMap<u64, Page, foldhash::fast::RandomState>;

#[derive(Debug)]
pub(super) struct RefTable {
    shards: Box<[RwLock<Shard>]>,
}

/// A ref's shard, page number and slot.
fn place(sref: SeriesRef) -> (usize, u64, usize) {
    let page = sref.0 / PAGE;
    ((page % SHARDS) as usize, page, (sref.0 % PAGE) as usize)
}

impl RefTable {
    pub(super) fn new() -> Self {
        Self { shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect() }
    }

    /// `f` of the series under `sref`, under its shard's read lock.
    pub(super) fn with<R>(&self, sref: SeriesRef, f: impl FnOnce(&Arc<MemSeries>) -> R) -> Option<R> {
        let (shard, page, slot) = place(sref);
        self.shards[shard].read().get(&page).and_then(|p| p.slots[slot].as_ref()).map(f)
    }

    /// `f` of each item and the series under its ref, in order, until `f`
    /// returns `false`; a run of refs on one page is read under one read
    /// lock and one page lookup (a batch's handles, resolved together, are
    /// usually in ref order, a page's worth at a time). `f` must not take a
    /// shard lock nor wait for a series' data lock, as for [`Head::with`](super::Head::with).
    pub(super) fn for_each<T>(
        &self,
        items: impl Iterator<Item = (SeriesRef, T)>,
        mut f: impl FnMut(SeriesRef, T, Option<&Arc<MemSeries>>) -> bool,
    ) {
        let mut items = items.peekable();
        while let Some((first, item)) = items.next() {
            let (shard, page_no, slot) = place(first);
            let shard = self.shards[shard].read();
            let page = shard.get(&page_no);
            let series = |slot: usize| page.and_then(|p| p.slots[slot].as_ref());
            if !f(first, item, series(slot)) {
                return;
            }
            while let Some((next, item)) = items.next_if(|(s, _)| s.0 / PAGE == page_no) {
                if !f(next, item, series(place(next).2)) {
                    return;
                }
            }
        }
    }

    /// The series under `sref`, or `series` put there if there is none.
    pub(super) fn get_or_insert(
        &self,
        sref: SeriesRef,
        series: impl FnOnce() -> Arc<MemSeries>,
    ) -> (Arc<MemSeries>, bool) {
        let (shard, page, slot) = place(sref);
        let mut shard = self.shards[shard].write();
        let page = shard.entry(page).or_insert_with(|| Page { slots: vec![None; PAGE as usize].into(), live: 0 });
        if let Some(existing) = &page.slots[slot] {
            return (existing.clone(), false);
        }
        let series = series();
        page.slots[slot] = Some(series.clone());
        page.live += 1;
        (series, true)
    }

    /// Removes the series under `sref`; whether there was one.
    pub(super) fn remove(&self, sref: SeriesRef) -> bool {
        let (shard, page_no, slot) = place(sref);
        let mut shard = self.shards[shard].write();
        let Some(page) = shard.get_mut(&page_no) else { return false };
        if page.slots[slot].take().is_none() {
            return false;
        }
        page.live -= 1;
        if page.live == 0 {
            shard.remove(&page_no);
        }
        true
    }

    /// Every series, in no particular order.
    pub(super) fn all(&self, out: &mut Vec<Arc<MemSeries>>) {
        for shard in self.shards.iter() {
            out.extend(shard.read().values().flat_map(|p| p.slots.iter().flatten().cloned()));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn series(sref: u64) -> Arc<MemSeries> {
        Arc::new(MemSeries::new(SeriesRef(sref), super::super::key_pool::KeyPool::new().intern(b"k"), sref))
    }

    #[test]
    fn series_are_found_replaced_never_and_pages_dropped_when_empty() {
        let table = RefTable::new();
        let refs = [0, 1, PAGE - 1, PAGE, 7 * PAGE * SHARDS + 3, u64::MAX];
        for &r in &refs {
            let (s, inserted) = table.get_or_insert(SeriesRef(r), || series(r));
            assert!(inserted);
            assert_eq!(s.sref, SeriesRef(r));
            let (again, inserted) = table.get_or_insert(SeriesRef(r), || series(r + 1));
            assert!(!inserted && Arc::ptr_eq(&s, &again));
        }
        assert_eq!(table.with(SeriesRef(2), |s| s.sref), None);
        assert_eq!(table.with(SeriesRef(PAGE), |s| s.sref), Some(SeriesRef(PAGE)));
        // In runs on one page, across pages and shards, absent ones included, in the order asked.
        let asked = [0, 1, 2, PAGE - 1, PAGE, PAGE + 1, 1, 7 * PAGE * SHARDS + 3, u64::MAX, 0];
        let mut seen = Vec::new();
        table.for_each(asked.iter().enumerate().map(|(i, &r)| (SeriesRef(r), i)), |r, i, s| {
            seen.push((i, r.0, s.map(|s| s.sref.0)));
            true
        });
        let expected: Vec<_> = asked.iter().enumerate().map(|(i, &r)| (i, r, refs.contains(&r).then_some(r))).collect();
        assert_eq!(seen, expected);
        // Stopped where `f` says, within a page's run too.
        let mut calls = 0;
        table.for_each(asked.iter().map(|&r| (SeriesRef(r), ())), |_, (), _| {
            calls += 1;
            calls < 2
        });
        assert_eq!(calls, 2);
        let mut all = Vec::new();
        table.all(&mut all);
        assert_eq!(all.len(), refs.len());
        for &r in &refs {
            assert!(table.remove(SeriesRef(r)));
            assert!(!table.remove(SeriesRef(r)));
            assert_eq!(table.with(SeriesRef(r), |s| s.sref), None);
        }
        assert!(table.shards.iter().all(|s| s.read().is_empty()), "empty pages are dropped");
    }
}
