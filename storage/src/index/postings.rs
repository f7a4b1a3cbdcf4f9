//! Postings: sorted lists of series refs, and the set algebra that turns a
//! list of matchers into one. Lists are read lazily from RocksDB and
//! intersected by leapfrogging with seeks, so a selective matcher limits
//! the work even when another matcher's list is huge.

use rocksdb::{DBRawIteratorWithThreadMode, DB};

use super::keys;

/// A sorted, seekable list of series refs.
pub(super) trait Postings {
    /// The first ref `>= target` at or after the current position.
    fn seek(&mut self, target: u64) -> Option<u64>;
    /// The ref after the current one (the first on the first call).
    fn next(&mut self) -> Option<u64>;
    /// A read error that ended the list early, if any.
    fn take_error(&mut self) -> Option<rocksdb::Error> {
        None
    }
}

/// One label pair's postings, straight from RocksDB keys.
pub(super) struct RocksPostings<'a> {
    iter: DBRawIteratorWithThreadMode<'a, DB>,
    prefix: Vec<u8>,
    started: bool,
    /// The ref the iterator is at (`None`: not started, or past the end).
    at: Option<u64>,
    error: Option<rocksdb::Error>,
}

/// Steps `seek` takes forward with `next` before it seeks: a leapfrog
/// intersection mostly asks for a ref a few entries ahead, and stepping
/// through a memtable or block is far cheaper than a fresh seek (a
/// skip-list or index search of byte comparisons).
const STEPS_BEFORE_SEEK: usize = 8;

impl<'a> RocksPostings<'a> {
    pub(super) fn new(db: &'a DB, prefix: Vec<u8>) -> Self {
        Self { iter: db.raw_iterator(), prefix, started: false, at: None, error: None }
    }

    fn current(&mut self) -> Option<u64> {
        self.at = self.read_current();
        self.at
    }

    fn read_current(&mut self) -> Option<u64> {
        if !self.iter.valid() {
            if let Err(e) = self.iter.status() {
                self.error = Some(e);
            }
            return None;
        }
        let key = self.iter.key()?;
        if key.len() != self.prefix.len() + 8 || !key.starts_with(&self.prefix) {
            return None;
        }
        keys::ref_suffix(key)
    }
}

impl Postings for RocksPostings<'_> {
    fn seek(&mut self, target: u64) -> Option<u64> {
        if self.started {
            // Already there, or a few entries ahead: no seek needed.
            match self.at {
                Some(r) if r >= target => return Some(r),
                None => return None,
                Some(_) => {}
            }
            for _ in 0..STEPS_BEFORE_SEEK {
                self.iter.next();
                match self.current() {
                    Some(r) if r >= target => return Some(r),
                    Some(_) => {}
                    None => return None,
                }
            }
        }
        self.started = true;
        let mut key = self.prefix.clone();
        key.extend_from_slice(&keys::ref_bytes(crate::SeriesRef(target)));
        self.iter.seek(&key);
        self.current()
    }

    fn next(&mut self) -> Option<u64> {
        if self.started {
            self.iter.next();
        } else {
            self.started = true;
            self.iter.seek(&self.prefix);
        }
        self.current()
    }

    fn take_error(&mut self) -> Option<rocksdb::Error> {
        self.error.take()
    }
}

/// A materialised list (a union of many values, or all series).
pub(super) struct VecPostings {
    refs: Vec<u64>,
    /// Index of the current element; meaningful once `started`.
    pos: usize,
    started: bool,
}

impl VecPostings {
    pub(super) fn new(mut refs: Vec<u64>) -> Self {
        refs.sort_unstable();
        refs.dedup();
        Self { refs, pos: 0, started: false }
    }
}

impl Postings for VecPostings {
    fn seek(&mut self, target: u64) -> Option<u64> {
        self.started = true;
        let rest = self.refs.get(self.pos..)?;
        self.pos += rest.partition_point(|&r| r < target);
        self.refs.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u64> {
        if self.started {
            self.pos += 1;
        }
        self.started = true;
        self.refs.get(self.pos).copied()
    }
}

/// Intersects `lists` (at least one) by leapfrogging, then drops every ref
/// found in one of `exclude`. Both kinds are consumed in increasing order.
pub(super) fn intersect_minus(
    lists: &mut [Box<dyn Postings + '_>],
    exclude: &mut [Box<dyn Postings + '_>],
) -> Vec<u64> {
    let mut out = Vec::new();
    let Some((first, rest)) = lists.split_first_mut() else {
        return out;
    };
    let mut candidate = match first.next() {
        Some(r) => r,
        None => return out,
    };
    'outer: loop {
        // Bring every list to the candidate; any overshoot becomes the new candidate.
        let mut agreed = false;
        while !agreed {
            agreed = true;
            for list in rest.iter_mut() {
                match list.seek(candidate) {
                    Some(r) if r == candidate => {}
                    Some(r) => {
                        match first.seek(r) {
                            Some(f) => candidate = f,
                            None => break 'outer,
                        }
                        agreed = false;
                        break;
                    }
                    None => break 'outer,
                }
            }
        }
        let excluded = exclude.iter_mut().any(|list| list.seek(candidate) == Some(candidate));
        if !excluded {
            out.push(candidate);
        }
        match first.seek(candidate.saturating_add(1)) {
            Some(r) if r > candidate => candidate = r,
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(refs: &[u64]) -> Box<dyn Postings> {
        Box::new(VecPostings::new(refs.to_vec()))
    }

    #[test]
    fn leapfrog_intersection_and_exclusion() {
        let a = boxed(&[1, 3, 5, 7, 9, 11]);
        let b = boxed(&[2, 3, 4, 5, 9, 10, 11, 12]);
        let c = boxed(&[3, 5, 9, 11, 13]);
        let ex = boxed(&[5]);
        assert_eq!(intersect_minus(&mut [a, b, c], &mut [ex]), vec![3, 9, 11]);
        assert_eq!(intersect_minus(&mut [boxed(&[1, 2])], &mut []), vec![1, 2]);
        assert_eq!(intersect_minus(&mut [boxed(&[1, 2]), boxed(&[])], &mut []), Vec::<u64>::new());
        assert_eq!(intersect_minus(&mut [boxed(&[u64::MAX])], &mut []), vec![u64::MAX]);
    }
}
