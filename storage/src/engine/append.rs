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
//! were created, so only new ones are checked again. Turning the batch
//! into entries is `prepare.rs`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::MutexGuard;

use super::prepare::{Name, Prepared};
use super::{AppendState, Inner};
use crate::head::{MemSeries, SeriesData};
use crate::record::BatchEncoder;
use crate::series_key::SeriesKey;
use crate::Labels;
use crate::{Batch, Error, Result, Sample, SeriesRef};

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
        // Each entry's samples are sorted (prepare.rs), as `batch_maxt` relies on too.
        let batch_mint = entries.iter().filter_map(|e| e.samples.first()).map(|s| s.t).min();
        self.head.observe_mint(batch_mint.unwrap_or(i64::MAX));
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
                return Err(Error::OutOfBounds {
                    series: e.describe(series.as_deref()),
                    timestamp: first.t,
                    min_valid,
                });
            }
            if let Some(newest) = series.as_ref().and_then(|s| s.newest()) {
                let min_allowed = newest.saturating_sub(ooo);
                if first.t < min_allowed {
                    return Err(Error::OutOfOrder {
                        series: e.describe(series.as_deref()),
                        timestamp: first.t,
                        newest,
                        min_allowed,
                    });
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
                // Entering series are never rows by handle.
                let series = prepared.entries[first].describe(None);
                return Err(Error::SeriesRateLimit { series, created, limit: rate.limit() });
            }
        }
        if let Some(limit) = self.options.max_active_series {
            let active = self.head.len();
            if let Some(&first) = entering.first() {
                if active + entering.len() > limit {
                    let series = prepared.entries[first].describe(None);
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
            Name::Handle => None,
        }))
    }
}
