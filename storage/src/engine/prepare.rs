//! Turning a batch into entries for the write path (`append.rs`): one per
//! series, rows naming the same series merged in the order they were added
//! (the last value of a repeated timestamp wins), keys built and hashed for
//! rows by labels, rows by handle checked to be this storage's and in the
//! head, new series' labels validated; and under the append lock, series
//! looked up again.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use hashbrown::HashTable;

use super::Inner;
use crate::head::MemSeries;
use crate::series_key::SeriesKey;
use crate::Labels;
use crate::{Batch, Error, Result, Sample, SeriesRef};
use pulsedb_model::{Row, SeriesHandle};

/// How a batch row names its series.
pub(super) enum Name<'a> {
    Labels(&'a Labels),
    /// By handle (the entry's series holds its key).
    Handle,
}

/// One series of a batch, samples sorted with duplicates resolved.
pub(super) struct Entry<'a> {
    pub(super) name: Name<'a>,
    /// Canonical key, as a range of `Prepared::keys`.
    pub(super) key: Range<usize>,
    pub(super) hash: u64,
    pub(super) samples: Cow<'a, [Sample]>,
    pub(super) series: Option<Arc<MemSeries>>,
    pub(super) sref: SeriesRef,
    /// The series enters the head with this batch (needs a WAL series record).
    pub(super) entering: bool,
    /// The series is new to the index too.
    pub(super) created: bool,
}

/// A batch turned into entries, one per distinct series.
pub(super) struct Prepared<'a> {
    pub(super) entries: Vec<Entry<'a>>,
    /// Every entry's canonical key, back to back.
    pub(super) keys: Vec<u8>,
}

impl Prepared<'_> {
    pub(super) fn key(&self, e: &Entry<'_>) -> &[u8] {
        self.keys.get(e.key.clone()).unwrap_or_default()
    }
}

/// Entries being built from a batch's rows, with an index to merge rows of one key.
struct RowsIn<'a> {
    entries: Vec<Entry<'a>>,
    /// Every keyed entry's canonical key, back to back.
    keys: Vec<u8>,
    /// Entry index by key hash.
    seen: HashTable<usize>,
}

impl<'a> RowsIn<'a> {
    /// The entry whose key equals the bytes at `key` (just written to `keys`).
    fn find(&self, hash: u64, key: Range<usize>) -> Option<usize> {
        let (keys, entries) = (&self.keys, &self.entries);
        self.seen.find(hash, |&i| keys.get(entries[i].key.clone()) == keys.get(key.clone())).copied()
    }

    /// Adds an entry; `keyed` ones can be found by their key.
    fn push(&mut self, entry: Entry<'a>, keyed: bool) {
        if keyed {
            let entries = &self.entries;
            self.seen.insert_unique(entry.hash, entries.len(), |&i| entries[i].hash);
        }
        self.entries.push(entry);
    }
}

impl<'a> Entry<'a> {
    /// A row by handle for head series `series`; `key` is its canonical
    /// key's range in `RowsIn::keys` when the row is keyed.
    fn by_handle(series: Arc<MemSeries>, samples: &'a [Sample], key: Range<usize>) -> Self {
        Entry {
            name: Name::Handle,
            key,
            hash: series.hash,
            samples: Cow::Borrowed(samples),
            sref: series.sref,
            series: Some(series),
            entering: false,
            created: false,
        }
    }

    /// The series as error messages name it; `series` is the head series
    /// of a row by handle (the entry's own, or where the append moved it).
    pub(super) fn describe(&self, series: Option<&MemSeries>) -> String {
        match &self.name {
            Name::Labels(labels) => labels.to_string(),
            Name::Handle => series
                .and_then(|s| Labels::from_key(&s.key.to_vec()).ok())
                .map_or_else(|| format!("series ref {}", self.sref.0), |l| l.to_string()),
        }
    }

    /// Sorts the samples by time, keeping the last value of a repeated timestamp.
    fn sort_samples(&mut self) {
        if self.samples.windows(2).all(|w| w[0].t < w[1].t) {
            return;
        }
        let samples = self.samples.to_mut();
        // Stable, so the last of equal timestamps stays last; keep it.
        samples.sort_by_key(|s| s.t);
        let mut deduped: Vec<Sample> = Vec::with_capacity(samples.len());
        for s in samples.drain(..) {
            match deduped.last_mut() {
                Some(last) if last.t == s.t => *last = s,
                _ => deduped.push(s),
            }
        }
        *samples = deduped;
    }
}

impl Inner {
    /// Under the append lock: series not found before (another batch may
    /// have created them since) or removed by a flush are looked up again;
    /// a series named by handle that left the head is an error. Rows that
    /// now turn out to name one series are merged.
    pub(super) fn resolve_again(&self, prepared: &mut Prepared<'_>) -> Result<()> {
        let mut found = false;
        for i in 0..prepared.entries.len() {
            let e = &prepared.entries[i];
            if e.series.as_ref().is_none_or(|s| s.removed()) {
                if let Name::Handle = e.name {
                    return Err(Error::StaleSeriesHandle { series: e.sref.0 });
                }
                let series = self.head.get_by_key(e.hash, prepared.key(e));
                found |= series.is_some();
                prepared.entries[i].series = series;
            }
        }
        // Rows by labels are merged by key already; only one found again
        // here can meet a row by handle for its series.
        if found && prepared.entries.iter().any(|e| matches!(e.name, Name::Handle)) {
            merge_same_series(&mut prepared.entries);
        }
        Ok(())
    }

    /// Canonical keys, rows of the same series merged, samples sorted (the
    /// last value kept for a repeated timestamp), series looked up in the
    /// head, and labels of series not there validated.
    pub(super) fn prepare<'a>(&self, batch: &'a Batch, create_empty: bool) -> Result<Prepared<'a>> {
        // Rows naming one series are merged in the order they were added
        // (the last value of a repeated timestamp wins); when a batch names
        // series both ways, rows by handle take part by their series' key.
        let mixed = batch.rows().len() > 0 && batch.rows_by_handle().len() > 0;
        let keyed = if mixed { batch.rows().len() + batch.rows_by_handle().len() } else { batch.rows().len() };
        let mut rows_in = RowsIn {
            entries: Vec::with_capacity(batch.rows().len() + batch.rows_by_handle().len()),
            keys: Vec::with_capacity(keyed * 64),
            seen: HashTable::with_capacity(keyed),
        };
        if mixed {
            for row in batch.rows_in_order() {
                match row {
                    Row::Labels(labels, samples) => self.add_labels_row(&mut rows_in, labels, samples, create_empty),
                    Row::Handle(handle, samples) => self.add_handle_row(&mut rows_in, handle, samples)?,
                }
            }
        } else {
            for (labels, samples) in batch.rows() {
                self.add_labels_row(&mut rows_in, labels, samples, create_empty);
            }
            self.add_handle_rows(&mut rows_in, batch)?;
        }
        let RowsIn { entries, keys, .. } = rows_in;
        let mut prepared = Prepared { entries, keys };
        let max_allowed = self.options.max_future.map(|d| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        });
        for i in 0..prepared.entries.len() {
            let e = &prepared.entries[i];
            if let Name::Labels(labels) = e.name {
                let series = self.head.get_by_key(e.hash, prepared.key(e));
                if series.is_none() {
                    labels
                        .validate(&self.options.label_limits)
                        .map_err(|reason| Error::InvalidSeries { series: labels.to_string(), reason })?;
                }
                prepared.entries[i].series = series;
            }
        }
        // A row by labels and one by handle, or two by handle, may name the same series.
        if batch.rows_by_handle().len() > 0 {
            merge_same_series(&mut prepared.entries);
        }
        for e in &mut prepared.entries {
            e.sort_samples();
            if let (Some(max_allowed), Some(last)) = (max_allowed, e.samples.last()) {
                if last.t > max_allowed {
                    return Err(Error::TooFarInFuture {
                        series: e.describe(e.series.as_deref()),
                        timestamp: last.t,
                        max_allowed,
                    });
                }
            }
        }
        Ok(prepared)
    }

    /// Adds a row by labels: merged into an earlier row of the same key, or a new entry.
    fn add_labels_row<'a>(&self, rows: &mut RowsIn<'a>, labels: &'a Labels, samples: &'a [Sample], create_empty: bool) {
        if samples.is_empty() && !create_empty {
            return;
        }
        let start = rows.keys.len();
        labels.write_key(&mut rows.keys);
        let key = start..rows.keys.len();
        let hash = self.head.hash_key(rows.keys.get(key.clone()).unwrap_or_default());
        if let Some(i) = rows.find(hash, key.clone()) {
            rows.keys.truncate(start);
            rows.entries[i].samples.to_mut().extend_from_slice(samples);
            return;
        }
        rows.push(
            Entry {
                name: Name::Labels(labels),
                key,
                hash,
                samples: Cow::Borrowed(samples),
                series: None,
                sref: SeriesRef(0),
                entering: false,
                created: false,
            },
            true,
        );
    }

    /// Adds the rows by handle of a batch that names no series by labels,
    /// checked in row order as [`add_handle_row`](Self::add_handle_row)
    /// checks them (the first foreign or stale handle refuses the batch)
    /// but not keyed: rows naming one series are merged by ref afterwards
    /// (`merge_same_series`). Their series are looked up a page of refs at
    /// a time: one read lock and one page lookup for a run of handles
    /// resolved together, where a lookup each was most of the head's share
    /// of a remote-write request's time.
    fn add_handle_rows<'a>(&self, rows: &mut RowsIn<'a>, batch: &'a Batch) -> Result<()> {
        let named = batch.rows_by_handle().filter(|(_, samples)| !samples.is_empty());
        let mut refused = None;
        self.head.for_each(
            named.map(|(handle, samples)| (handle.series(), (handle, samples))),
            |_, (handle, samples), series| match self.handle_series(handle, series) {
                Ok(series) => {
                    rows.push(Entry::by_handle(Arc::clone(series), samples, 0..0), false);
                    true
                }
                Err(e) => {
                    refused = Some(e);
                    false
                }
            },
        );
        refused.map_or(Ok(()), Err)
    }

    /// Adds a row by handle of a batch naming series both ways: its series
    /// must be this storage's and in the head, and it is merged with earlier
    /// rows of the same key.
    fn add_handle_row<'a>(&self, rows: &mut RowsIn<'a>, handle: SeriesHandle, samples: &'a [Sample]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let series = self.handle_series(handle, self.head.get(handle.series()).as_ref())?.clone();
        let start = rows.keys.len();
        series.key.write_to(&mut rows.keys);
        let key = start..rows.keys.len();
        if let Some(i) = rows.find(series.hash, key.clone()) {
            rows.keys.truncate(start);
            rows.entries[i].samples.to_mut().extend_from_slice(samples);
            return Ok(());
        }
        rows.push(Entry::by_handle(series, samples, key), true);
        Ok(())
    }

    /// The head series a handle names, `found` under its ref: refused if
    /// another storage issued the handle or the series left the head.
    fn handle_series<'s>(&self, handle: SeriesHandle, found: Option<&'s Arc<MemSeries>>) -> Result<&'s Arc<MemSeries>> {
        let sref = handle.series();
        if handle.store() != self.instance {
            return Err(Error::ForeignSeriesHandle { series: sref.0 });
        }
        found.filter(|s| !s.removed()).ok_or(Error::StaleSeriesHandle { series: sref.0 })
    }
}

/// Merges entries found to be one head series (a row by labels and one by
/// handle, or rows resolved again under the lock) into the first of them,
/// samples in row order; a series must appear once, or its lock would be
/// taken twice.
fn merge_same_series(entries: &mut Vec<Entry<'_>>) {
    let refs = || entries.iter().filter_map(|e| e.series.as_ref().map(|s| s.sref));
    // Handles resolved in order come in increasing ref order: nothing to merge.
    if refs().zip(refs().skip(1)).all(|(a, b)| a < b) {
        return;
    }
    let mut by_ref: Vec<(SeriesRef, usize)> =
        entries.iter().enumerate().filter_map(|(i, e)| e.series.as_ref().map(|s| (s.sref, i))).collect();
    // Stable: the first entry of a series stays first, the others follow in row order.
    by_ref.sort_by_key(|&(sref, _)| sref);
    let mut merged = vec![false; entries.len()];
    for run in by_ref.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
        let first = run[0].1;
        for &(_, i) in &run[1..] {
            let samples = std::mem::take(entries[i].samples.to_mut());
            entries[first].samples.to_mut().extend(samples);
            merged[i] = true;
        }
        entries[first].sort_samples();
    }
    if merged.contains(&true) {
        let mut merged = merged.into_iter();
        entries.retain(|_| !merged.next().unwrap_or(false));
    }
}
