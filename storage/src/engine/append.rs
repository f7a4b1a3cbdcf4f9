//! The write path: validate a batch, resolve or create its series, write
//! one WAL frame, apply it to the head, then wait for durability. Rows name
//! their series by labels (hashed and looked up by canonical key) or by a
//! handle `resolve` issued (looked up by ref: no key, no hash of labels;
//! refused if the series left the head or another storage issued it).
//!
//! ```text
//! append(batch) → canonical keys / refs, resolve in the head (read locks), validate new series' labels
//!   → rows naming one series merged
//!   → [append lock] check timestamps → refs for new series (index) → WAL write
//!   → new series into the head → [unlock] head apply
//!   → WAL sync (group commit) → acknowledge
//! ```
//! Nothing is applied before every check has passed, so a batch is atomic.
//! The WAL fsync happens outside the append lock, so concurrent batches
//! share one fsync. Series already in the head were validated when they
//! were created, so only new ones are checked again.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::MutexGuard;

use super::{AppendState, Inner};
use crate::head::{MemSeries, SeriesData};
use crate::record::BatchEncoder;
use crate::series_key::SeriesKey;
use crate::Labels;
use crate::{Batch, Error, Result, Sample, SeriesRef};

/// How a batch row names its series.
enum Name<'a> {
    Labels(&'a Labels),
    /// By handle: the series' canonical key, from the head.
    Handle(Arc<[u8]>),
}

/// One series of a batch, samples sorted with duplicates resolved.
struct Entry<'a> {
    name: Name<'a>,
    /// Canonical key, as a range of `Prepared::keys`.
    key: Range<usize>,
    hash: u64,
    samples: Cow<'a, [Sample]>,
    series: Option<Arc<MemSeries>>,
    sref: SeriesRef,
    /// The series enters the head with this batch (needs a WAL series record).
    entering: bool,
    /// The series is new to the index too.
    created: bool,
}

/// A batch turned into entries, one per distinct series.
struct Prepared<'a> {
    entries: Vec<Entry<'a>>,
    /// Every entry's canonical key, back to back.
    keys: Vec<u8>,
}

impl Prepared<'_> {
    fn key(&self, e: &Entry<'_>) -> &[u8] {
        self.keys.get(e.key.clone()).unwrap_or_default()
    }
}

impl Entry<'_> {
    /// The series as error messages name it.
    fn describe(&self) -> String {
        match &self.name {
            Name::Labels(labels) => labels.to_string(),
            Name::Handle(key) => {
                Labels::from_key(key).map_or_else(|_| format!("series ref {}", self.sref.0), |l| l.to_string())
            }
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
    pub(crate) fn append(&self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            self.check_open()?;
            return Ok(());
        }
        self.append_rows(batch, false)
    }

    /// The series `labels` names, created with no samples (a WAL series
    /// record, the index, the head) if it is not in the head.
    pub(crate) fn resolve(&self, labels: &Labels) -> Result<SeriesRef> {
        let mut key = Vec::with_capacity(64);
        labels.write_key(&mut key);
        let hash = self.head.hash_key(&key);
        if let Some(series) = self.head.get_by_key(hash, &key).filter(|s| !s.removed()) {
            return Ok(series.sref);
        }
        let mut batch = Batch::new();
        batch.add(labels.clone(), []);
        self.append_rows(&batch, true)?;
        // Just created under the append lock; a flush may have removed it
        // again since (it has no samples): then it is created once more.
        match self.head.get_by_key(hash, &key) {
            Some(series) => Ok(series.sref),
            None => self.resolve(labels),
        }
    }

    /// Appends `batch`; rows without samples create their series when
    /// `create_empty`, and are skipped otherwise.
    fn append_rows(&self, batch: &Batch, create_empty: bool) -> Result<()> {
        self.check_open()?;
        let reject = |e: Error| {
            self.counters.samples_rejected.fetch_add(batch.len() as u64, Ordering::Relaxed);
            e
        };
        let mut prepared = self.prepare(batch, create_empty).map_err(reject)?;

        let mut state = self.append.lock();
        self.check_open()?;
        self.resolve_again(&mut prepared).map_err(reject)?;
        // Lock the series already in the head: a batch still applying to one
        // finishes first, so its newest timestamp is current when checked.
        // Declared before the guards that borrow it, so it outlives them.
        #[expect(clippy::needless_late_init, reason = "declaration order sets drop order: the guards borrow it")]
        let fresh: Vec<Option<Arc<MemSeries>>>;
        let held: Vec<Option<Arc<MemSeries>>> = prepared.entries.iter_mut().map(|e| e.series.take()).collect();
        let mut guards: Vec<Option<MutexGuard<'_, SeriesData>>> =
            held.iter().map(|s| s.as_ref().map(|s| s.data.lock())).collect();
        self.check_samples(&prepared, &held).map_err(reject)?;
        self.assign_refs(&mut prepared, &held, &mut state).map_err(reject)?;
        let Prepared { entries, keys } = &prepared;

        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_unstable_by_key(|&i| entries[i].sref);
        let mut encoder = BatchEncoder::new();
        let entering: Vec<(SeriesRef, &[u8])> = order
            .iter()
            .map(|&i| &entries[i])
            .filter(|e| e.entering)
            .map(|e| (e.sref, keys.get(e.key.clone()).unwrap_or_default()))
            .collect();
        encoder.series(entering.into_iter());
        // A series created empty has a series record and no samples.
        let rows: Vec<(SeriesRef, &[Sample])> =
            order.iter().map(|&i| (entries[i].sref, &*entries[i].samples)).filter(|(_, s)| !s.is_empty()).collect();
        encoder.samples(rows.into_iter());
        let pos = self.wal.write(&encoder.finish()).map_err(|e| reject(e.into()))?;
        // Series enter the head only once their series record is in the WAL:
        // had the write failed, the next batch for them would find them in
        // the head and write no series record, and replay would meet their
        // samples without one. Still under the append lock, and locked until
        // applied, so no other batch sees them before this one's samples.
        fresh = entries
            .iter()
            .map(|e| e.entering.then(|| self.head.get_or_insert(e.sref, keys.get(e.key.clone()).unwrap_or_default())))
            .collect();
        let now = state.opened.elapsed().as_secs();
        if let Some(rate) = state.creation_rate.as_mut() {
            rate.record(now, fresh.iter().flatten().count());
        }
        for (guard, series) in guards.iter_mut().zip(&fresh) {
            if let Some(series) = series {
                *guard = Some(series.data.lock());
            }
        }

        let batch_maxt = entries.iter().filter_map(|e| e.samples.last()).map(|s| s.t).max().unwrap_or(i64::MIN);
        self.head.observe(batch_maxt);
        let seg = state.segment_maxt.entry(pos.segment).or_insert(i64::MIN);
        *seg = (*seg).max(batch_maxt);
        // Flushes wait on this gate after raising min_valid, so they never
        // read a series while a batch validated before the raise still applies.
        let applying = self.apply_gate.read();
        drop(state);

        // Outside the append lock: the next batch can be validated and
        // written to the WAL while this one is applied to the head.
        for ((e, guard), series) in entries.iter().zip(guards.iter_mut()).zip(held.iter().zip(&fresh)) {
            if let (Some(data), Some(series)) = (guard.as_deref_mut(), series.0.as_ref().or(series.1.as_ref())) {
                series.append_locked(data, &e.samples, &self.head.store);
            }
        }
        drop(guards);
        drop(applying);

        let created = entries.iter().filter(|e| e.created).count() as u64;
        self.counters.series_created.fetch_add(created, Ordering::Relaxed);
        self.wal.sync_to(pos)?;
        self.counters.samples_appended.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Under the append lock: series not found before (another batch may
    /// have created them since) or removed by a flush are looked up again;
    /// a series named by handle that left the head is an error. Rows that
    /// now turn out to name one series are merged.
    fn resolve_again(&self, prepared: &mut Prepared<'_>) -> Result<()> {
        let mut found = false;
        for i in 0..prepared.entries.len() {
            let e = &prepared.entries[i];
            if e.series.as_ref().is_none_or(|s| s.removed()) {
                if let Name::Handle(_) = e.name {
                    return Err(Error::StaleSeriesHandle { series: e.sref.0 });
                }
                let series = self.head.get_by_key(e.hash, prepared.key(e));
                found |= series.is_some();
                prepared.entries[i].series = series;
            }
        }
        // Rows by labels are merged by key already; only one found again
        // here can meet a row by handle for its series.
        if found && prepared.entries.iter().any(|e| matches!(e.name, Name::Handle(_))) {
            merge_same_series(&mut prepared.entries);
        }
        Ok(())
    }

    /// Canonical keys, rows of the same series merged, samples sorted (the
    /// last value kept for a repeated timestamp), series looked up in the
    /// head, and labels of series not there validated.
    fn prepare<'a>(&self, batch: &'a Batch, create_empty: bool) -> Result<Prepared<'a>> {
        let mut entries: Vec<Entry<'a>> = Vec::with_capacity(batch.rows().len());
        let mut keys = Vec::with_capacity(batch.rows().len() * 64);
        // Entry index by key hash, to merge rows that name the same series.
        let mut seen: HashTable<usize> = HashTable::with_capacity(batch.rows().len());
        for (labels, samples) in batch.rows() {
            if samples.is_empty() && !create_empty {
                continue;
            }
            let start = keys.len();
            labels.write_key(&mut keys);
            let key = start..keys.len();
            let hash = self.head.hash_key(keys.get(key.clone()).unwrap_or_default());
            let duplicate = seen.find(hash, |&i| keys.get(entries[i].key.clone()) == keys.get(key.clone())).copied();
            if let Some(i) = duplicate {
                keys.truncate(start);
                entries[i].samples.to_mut().extend_from_slice(samples);
                continue;
            }
            let index = entries.len();
            seen.insert_unique(hash, index, |&i| entries[i].hash);
            entries.push(Entry {
                name: Name::Labels(labels),
                key,
                hash,
                samples: Cow::Borrowed(samples),
                series: None,
                sref: SeriesRef(0),
                entering: false,
                created: false,
            });
        }
        for (handle, samples) in batch.rows_by_handle() {
            if samples.is_empty() {
                continue;
            }
            let sref = handle.series();
            if handle.store() != self.instance {
                return Err(Error::ForeignSeriesHandle { series: sref.0 });
            }
            let series =
                self.head.get(sref).filter(|s| !s.removed()).ok_or(Error::StaleSeriesHandle { series: sref.0 })?;
            entries.push(Entry {
                name: Name::Handle(series.key.clone()),
                key: 0..0,
                hash: 0,
                samples: Cow::Borrowed(samples),
                series: Some(series),
                sref,
                entering: false,
                created: false,
            });
        }
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
                    return Err(Error::TooFarInFuture { series: e.describe(), timestamp: last.t, max_allowed });
                }
            }
        }
        Ok(prepared)
    }

    /// Under the append lock, with the batch's series locked: every sample
    /// must be at or after `min_valid` and within the out-of-order window of
    /// its series' newest sample.
    fn check_samples(&self, prepared: &Prepared<'_>, held: &[Option<Arc<MemSeries>>]) -> Result<()> {
        let min_valid = self.head.min_valid();
        let ooo = self.cfg.ooo_window;
        for (e, series) in prepared.entries.iter().zip(held) {
            let Some(first) = e.samples.first() else {
                continue;
            };
            if first.t < min_valid {
                return Err(Error::OutOfBounds { series: e.describe(), timestamp: first.t, min_valid });
            }
            if let Some(newest) = series.as_ref().and_then(|s| s.newest()) {
                let min_allowed = newest.saturating_sub(ooo);
                if first.t < min_allowed {
                    return Err(Error::OutOfOrder { series: e.describe(), timestamp: first.t, newest, min_allowed });
                }
            }
        }
        Ok(())
    }

    /// Gives every entry its ref: from the head, from the index (a series
    /// returning after it left the head), or a new one. New series go to the
    /// index first, so a crash after the WAL write cannot lose their labels.
    fn assign_refs(
        &self,
        prepared: &mut Prepared<'_>,
        held: &[Option<Arc<MemSeries>>],
        state: &mut AppendState,
    ) -> Result<()> {
        let entering: Vec<usize> = (0..prepared.entries.len()).filter(|&i| held[i].is_none()).collect();
        let now = state.opened.elapsed().as_secs();
        if let (Some(rate), Some(&first)) = (state.creation_rate.as_mut(), entering.first()) {
            if let Err(created) = rate.check(now, entering.len()) {
                let series = prepared.entries[first].describe();
                return Err(Error::SeriesRateLimit { series, created, limit: rate.limit() });
            }
        }
        if let Some(limit) = self.options.max_active_series {
            let active = self.head.len();
            if let Some(&first) = entering.first() {
                if active + entering.len() > limit {
                    let series = prepared.entries[first].describe();
                    return Err(Error::SeriesLimit { series, active, limit });
                }
            }
        }
        for (e, series) in prepared.entries.iter_mut().zip(held) {
            if let Some(series) = series {
                e.sref = series.sref;
            }
        }
        for &i in &entering {
            let known = self.index.lookup(prepared.key(&prepared.entries[i]))?;
            let e = &mut prepared.entries[i];
            e.entering = true;
            e.sref = match known {
                Some(sref) => sref,
                None => {
                    e.created = true;
                    state.next_ref += 1;
                    SeriesRef(state.next_ref - 1)
                }
            };
        }
        self.index.insert(prepared.entries.iter().filter(|e| e.created).filter_map(|e| match e.name {
            Name::Labels(labels) => Some((e.sref, labels)),
            Name::Handle(_) => None,
        }))
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
