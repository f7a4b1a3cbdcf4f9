//! The write path: validate a batch, resolve or create its series, write
//! one WAL frame, apply it to the head, then wait for durability.
//!
//! ```text
//! append(batch) → validate labels (no lock) → resolve series in the head (read locks)
//!   → [append lock] check timestamps → create series → WAL write → head apply [unlock]
//!   → WAL sync (group commit) → acknowledge
//! ```
//! Nothing is applied before every check has passed, so a batch is atomic.
//! The WAL fsync happens outside the append lock, so concurrent batches
//! share one fsync.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Inner;
use crate::head::MemSeries;
use crate::labels::Labels;
use crate::record::BatchEncoder;
use crate::{Batch, Error, Result, Sample, SeriesRef};

/// One series of a batch, samples sorted with duplicates resolved.
struct Entry<'a> {
    labels: &'a Labels,
    key: Vec<u8>,
    samples: Vec<Sample>,
    series: Option<Arc<MemSeries>>,
    /// The series enters the head with this batch (needs a WAL series record).
    entering: bool,
    /// The series is new to the index too.
    created: bool,
}

impl Inner {
    pub(crate) fn append(&self, batch: &Batch) -> Result<()> {
        self.check_open()?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut entries = self.prepare(batch).inspect_err(|_| self.reject(batch.len()))?;
        for e in &mut entries {
            e.series = self.head.get_by_key(&e.key);
        }

        let mut state = self.append.lock();
        self.check_open()?;
        let min_valid = self.head.min_valid();
        let ooo = self.cfg.ooo_window;
        for e in &mut entries {
            // Another batch may have created the series since we looked, or a
            // flush removed it from the head.
            if e.series.as_ref().is_none_or(|s| s.removed()) {
                e.series = self.head.get_by_key(&e.key);
            }
            let newest = e.series.as_ref().and_then(|s| s.data.lock().newest());
            for s in &e.samples {
                if s.t < min_valid {
                    self.reject(batch.len());
                    return Err(Error::OutOfBounds { series: e.labels.to_string(), timestamp: s.t, min_valid });
                }
                if let Some(newest) = newest {
                    let min_allowed = newest.saturating_sub(ooo);
                    if s.t < min_allowed {
                        self.reject(batch.len());
                        return Err(Error::OutOfOrder {
                            series: e.labels.to_string(),
                            timestamp: s.t,
                            newest,
                            min_allowed,
                        });
                    }
                }
            }
        }

        // Series not in the head: known to the index from before, or new.
        let entering: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].series.is_none()).collect();
        if let Some(limit) = self.options.max_active_series {
            let active = self.head.len();
            if !entering.is_empty() && active + entering.len() > limit {
                self.reject(batch.len());
                let first = entries[entering[0]].labels.to_string();
                return Err(Error::SeriesLimit { series: first, active, limit });
            }
        }
        let mut refs: HashMap<usize, SeriesRef> = HashMap::with_capacity(entering.len());
        for &i in &entering {
            let e = &mut entries[i];
            let sref = match self.index.lookup(&e.key)? {
                Some(sref) => sref,
                None => {
                    e.created = true;
                    let sref = SeriesRef(state.next_ref);
                    state.next_ref += 1;
                    sref
                }
            };
            e.entering = true;
            refs.insert(i, sref);
        }
        self.index.insert(entering.iter().filter(|&&i| entries[i].created).map(|&i| (refs[&i], entries[i].labels)))?;

        let sref_of = |i: usize, e: &Entry<'_>| e.series.as_ref().map_or_else(|| refs[&i], |s| s.sref);
        let mut order: Vec<(SeriesRef, usize)> = entries.iter().enumerate().map(|(i, e)| (sref_of(i, e), i)).collect();
        order.sort_unstable_by_key(|&(r, _)| r);

        let mut encoder = BatchEncoder::new();
        let entering_records: Vec<(SeriesRef, &[u8])> =
            order.iter().filter(|(_, i)| entries[*i].entering).map(|&(r, i)| (r, entries[i].key.as_slice())).collect();
        encoder.series(entering_records.into_iter());
        encoder.samples(order.iter().map(|&(r, i)| (r, entries[i].samples.as_slice())));
        let payload = encoder.finish();
        let pos = self.wal.write(&payload).inspect_err(|_| self.reject(batch.len()))?;

        let mut batch_maxt = i64::MIN;
        let span = self.head.block_span;
        for &(sref, i) in &order {
            let e = &mut entries[i];
            let series = match e.series.take() {
                Some(s) => s,
                None => self.head.get_or_insert(sref, &e.key),
            };
            let mut data = series.data.lock();
            for s in &e.samples {
                data.append(s.t, s.v, span);
            }
            batch_maxt = batch_maxt.max(e.samples.last().map_or(i64::MIN, |s| s.t));
        }
        let created = entries.iter().filter(|e| e.created).count() as u64;
        self.head.observe(batch_maxt);
        let seg = state.segment_maxt.entry(pos.segment).or_insert(i64::MIN);
        *seg = (*seg).max(batch_maxt);
        drop(state);

        self.counters.series_created.fetch_add(created, Ordering::Relaxed);
        self.wal.sync_to(pos)?;
        self.counters.samples_appended.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn reject(&self, samples: usize) {
        self.counters.samples_rejected.fetch_add(samples as u64, Ordering::Relaxed);
    }

    /// Validates labels and merges rows of the same series; samples sorted,
    /// the last value kept for a repeated timestamp.
    fn prepare<'a>(&self, batch: &'a Batch) -> Result<Vec<Entry<'a>>> {
        let mut entries: Vec<Entry<'a>> = Vec::new();
        let mut by_key: HashMap<Vec<u8>, usize> = HashMap::new();
        for (labels, samples) in batch.rows() {
            if samples.is_empty() {
                continue;
            }
            labels
                .validate(&self.options.label_limits)
                .map_err(|reason| Error::InvalidSeries { series: labels.to_string(), reason })?;
            let key = labels.to_key();
            match by_key.get(&key) {
                Some(&i) => entries[i].samples.extend_from_slice(samples),
                None => {
                    by_key.insert(key.clone(), entries.len());
                    entries.push(Entry {
                        labels,
                        key,
                        samples: samples.to_vec(),
                        series: None,
                        entering: false,
                        created: false,
                    });
                }
            }
        }
        for e in &mut entries {
            if !e.samples.windows(2).all(|w| w[0].t < w[1].t) {
                // Stable sort, then keep the last of each timestamp.
                e.samples.sort_by_key(|s| s.t);
                let mut deduped: Vec<Sample> = Vec::with_capacity(e.samples.len());
                for s in e.samples.drain(..) {
                    match deduped.last_mut() {
                        Some(last) if last.t == s.t => *last = s,
                        _ => deduped.push(s),
                    }
                }
                e.samples = deduped;
            }
        }
        Ok(entries)
    }
}
