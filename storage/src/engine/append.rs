//! The write path: validate a batch, resolve or create its series, write
//! one WAL frame, apply it to the head, then wait for durability.
//!
//! ```text
//! append(batch) → canonical keys, resolve in the head (read locks), validate new series' labels
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

/// One series of a batch, samples sorted with duplicates resolved.
struct Entry<'a> {
    labels: &'a Labels,
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

impl Inner {
    pub(crate) fn append(&self, batch: &Batch) -> Result<()> {
        self.check_open()?;
        if batch.is_empty() {
            return Ok(());
        }
        let reject = |e: Error| {
            self.counters.samples_rejected.fetch_add(batch.len() as u64, Ordering::Relaxed);
            e
        };
        let mut prepared = self.prepare(batch).map_err(reject)?;

        let mut state = self.append.lock();
        self.check_open()?;
        self.resolve_again(&mut prepared);
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
        encoder.samples(order.iter().map(|&i| (entries[i].sref, &*entries[i].samples)));
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
    /// have created them since) or removed by a flush are looked up again.
    fn resolve_again(&self, prepared: &mut Prepared<'_>) {
        for i in 0..prepared.entries.len() {
            let e = &prepared.entries[i];
            if e.series.as_ref().is_none_or(|s| s.removed()) {
                let series = self.head.get_by_key(e.hash, prepared.key(e));
                prepared.entries[i].series = series;
            }
        }
    }

    /// Canonical keys, rows of the same series merged, samples sorted (the
    /// last value kept for a repeated timestamp), series looked up in the
    /// head, and labels of series not there validated.
    fn prepare<'a>(&self, batch: &'a Batch) -> Result<Prepared<'a>> {
        let mut entries: Vec<Entry<'a>> = Vec::with_capacity(batch.rows().len());
        let mut keys = Vec::with_capacity(batch.rows().len() * 64);
        // Entry index by key hash, to merge rows that name the same series.
        let mut seen: HashTable<usize> = HashTable::with_capacity(batch.rows().len());
        for (labels, samples) in batch.rows() {
            if samples.is_empty() {
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
                labels,
                key,
                hash,
                samples: Cow::Borrowed(samples),
                series: None,
                sref: SeriesRef(0),
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
            let series = self.head.get_by_key(e.hash, prepared.key(e));
            if series.is_none() {
                e.labels
                    .validate(&self.options.label_limits)
                    .map_err(|reason| Error::InvalidSeries { series: e.labels.to_string(), reason })?;
            }
            let e = &mut prepared.entries[i];
            e.series = series;
            if !e.samples.windows(2).all(|w| w[0].t < w[1].t) {
                let samples = e.samples.to_mut();
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
            if let (Some(max_allowed), Some(last)) = (max_allowed, e.samples.last()) {
                if last.t > max_allowed {
                    return Err(Error::TooFarInFuture { series: e.labels.to_string(), timestamp: last.t, max_allowed });
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
                return Err(Error::OutOfBounds { series: e.labels.to_string(), timestamp: first.t, min_valid });
            }
            if let Some(newest) = series.as_ref().and_then(|s| s.newest()) {
                let min_allowed = newest.saturating_sub(ooo);
                if first.t < min_allowed {
                    return Err(Error::OutOfOrder {
                        series: e.labels.to_string(),
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
                let series = prepared.entries[first].labels.to_string();
                return Err(Error::SeriesRateLimit { series, created, limit: rate.limit() });
            }
        }
        if let Some(limit) = self.options.max_active_series {
            let active = self.head.len();
            if let Some(&first) = entering.first() {
                if active + entering.len() > limit {
                    let series = prepared.entries[first].labels.to_string();
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
        self.index.insert(prepared.entries.iter().filter(|e| e.created).map(|e| (e.sref, e.labels)))
    }
}
