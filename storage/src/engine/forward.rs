//! Reading appended batches back out of the WAL, for forwarding them to
//! another store: [`WalBatches`] yields every durable batch after a saved
//! position, in the order it was appended, with each series' labels (from
//! the WAL's series records, or the label index for series introduced
//! before the position), and holds the segments it has not finished from
//! truncation. A startup hold ([`Options::wal_hold_from`](crate::Options))
//! keeps segments from before the forwarders start.

use std::collections::HashMap;

use pulsedb_wal::{Position, WalTail};

use super::{Inner, Storage};
use crate::record::{decode_batch, RefSample};
use crate::series_key::SeriesKey;
use crate::{Error, Labels, Result, Sample, SeriesRef};

/// A position in the WAL: the end of a frame (segment number, byte offset).
pub type WalPosition = Position;

/// One series of an appended batch as read back: its reference (stable for
/// the database's life, so a reader may cache what it derives from the
/// labels), its labels and its samples in time order. A batch is a slice
/// of these in the order the WAL holds them.
#[derive(Clone, Copy, Debug)]
pub struct WalSeries<'a> {
    pub series: u64,
    pub labels: &'a Labels,
    pub samples: &'a [Sample],
}

/// One appended batch as read back.
pub type WalBatch<'a> = [WalSeries<'a>];

/// Batches after a position, read as the WAL grows.
#[derive(Debug)]
pub struct WalBatches {
    tail: WalTail,
    inner: std::sync::Arc<Inner>,
    labels: HashMap<SeriesRef, Labels>,
    series_buf: Vec<(SeriesRef, Vec<u8>)>,
    samples_buf: Vec<RefSample>,
    /// The batch's samples, and per series its ref and range in them.
    samples: Vec<Sample>,
    runs: Vec<(SeriesRef, std::ops::Range<usize>)>,
    /// Samples of series neither the WAL nor the index knows (deleted).
    pub unresolved_samples: u64,
}

impl Storage {
    /// Batches appended after `from`; `None` starts at the oldest segment
    /// still on disk. [`Error::Wal`] with `SegmentGone` when `from`'s segment
    /// was deleted already (its batches are lost to this reader).
    pub fn wal_batches(&self, from: Option<WalPosition>) -> Result<WalBatches> {
        let from = match from {
            Some(p) => p,
            None => {
                let first = self.inner.wal.segments()?.first().copied().unwrap_or(self.inner.wal.current_segment());
                Position { segment: first, offset: 0 }
            }
        };
        Ok(WalBatches {
            tail: self.inner.wal.tail(from)?,
            inner: self.inner.clone(),
            labels: HashMap::new(),
            series_buf: Vec::new(),
            samples_buf: Vec::new(),
            samples: Vec::new(),
            runs: Vec::new(),
            unresolved_samples: 0,
        })
    }

    /// The end of the newest durable batch: where a reader that has caught up stands.
    pub fn wal_end(&self) -> WalPosition {
        self.inner.wal.readable_end()
    }

    /// The WAL's segments on disk, oldest first, with their sizes in bytes.
    pub fn wal_segments(&self) -> Result<Vec<(u64, u64)>> {
        let dir = self.inner.dir.join(super::WAL_DIR);
        self.inner
            .wal
            .segments()?
            .into_iter()
            .map(|s| {
                let path = dir.join(format!("{s:08}.wal"));
                let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                Ok((s, len))
            })
            .collect()
    }

    /// Lets go of the segments [`Options::wal_hold_from`](crate::Options)
    /// kept at open (call once every reader holds its own).
    pub fn release_startup_wal_hold(&self) {
        self.inner.startup_hold.lock().take();
    }
}

impl WalBatches {
    /// The end of the last batch read.
    pub fn position(&self) -> WalPosition {
        self.tail.position()
    }

    /// Lets the WAL delete segments before `position` (what was read before
    /// it is sent and will not be asked for again).
    pub fn release_before(&self, position: WalPosition) {
        self.tail.release_before(position);
    }

    /// Reads up to `max_batches` durable batches, calling `on_batch` with
    /// each one's end position and series; returns how many were read (0:
    /// nothing new yet).
    pub fn read(&mut self, max_batches: usize, mut on_batch: impl FnMut(WalPosition, &WalBatch<'_>)) -> Result<usize> {
        let mut frames = Vec::new();
        self.tail.read(max_batches, |pos, payload| frames.push((pos, payload.to_vec())))?;
        for (pos, payload) in &frames {
            self.decode(pos.segment, payload)?;
            let mut batch = Vec::with_capacity(self.runs.len());
            for (sref, range) in &self.runs {
                if let (Some(labels), Some(samples)) = (self.labels.get(sref), self.samples.get(range.clone())) {
                    batch.push(WalSeries { series: sref.0, labels, samples });
                }
            }
            on_batch(*pos, &batch);
        }
        Ok(frames.len())
    }

    fn decode(&mut self, segment: u64, payload: &[u8]) -> Result<()> {
        let corrupt =
            |offset: usize, reason: String| Error::corruption(format!("wal segment {segment}"), offset as u64, reason);
        decode_batch(payload, &mut self.series_buf, &mut self.samples_buf)
            .map_err(|e| corrupt(e.offset, e.to_string()))?;
        for (sref, key) in self.series_buf.drain(..) {
            let labels = Labels::from_key(&key).map_err(|e| corrupt(e.offset, e.to_string()))?;
            self.labels.insert(sref, labels);
        }
        // Series introduced before this reader's start: from the label index.
        let mut missing: Vec<SeriesRef> =
            self.samples_buf.iter().map(|s| s.sref).filter(|r| !self.labels.contains_key(r)).collect();
        missing.dedup();
        if !missing.is_empty() {
            for (sref, key) in missing.iter().zip(self.inner.index.labels_keys_uncached(&missing)?) {
                if let Some(key) = key {
                    let labels = Labels::from_key(&key).map_err(|e| corrupt(e.offset, e.to_string()))?;
                    self.labels.insert(*sref, labels);
                }
            }
        }
        self.samples.clear();
        self.runs.clear();
        let mut rest = self.samples_buf.as_slice();
        while let Some(first) = rest.first() {
            let run = rest.iter().take_while(|s| s.sref == first.sref).count();
            let (this, next) = rest.split_at(run);
            rest = next;
            if self.labels.contains_key(&first.sref) {
                let start = self.samples.len();
                self.samples.extend(this.iter().map(|s| Sample { t: s.t, v: s.v }));
                self.runs.push((first.sref, start..self.samples.len()));
            } else {
                self.unresolved_samples += this.len() as u64;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;
    use crate::{Batch, Options};

    const HOUR: i64 = 3_600_000;

    fn options() -> Options {
        Options {
            background_maintenance: false,
            sync: crate::SyncMode::Never,
            // Small segments, so flushes truncate several.
            wal_segment_size: 64 << 10,
            retention: Duration::ZERO,
            ..Options::default()
        }
    }

    /// An hour of one sample a minute for `hosts` series per batch, hours `from..to`.
    fn fill(storage: &Storage, hosts: usize, from: i64, to: i64) -> Vec<(String, i64, f64)> {
        let mut appended = Vec::new();
        for h in from..to {
            let mut batch = Batch::new();
            for host in 0..hosts {
                let labels = Labels::metric("m", [("host", format!("h{host}"))]);
                let samples: Vec<Sample> =
                    (0..60).map(|m| Sample::new(h * HOUR + m * 60_000, (h * 100 + m) as f64 + host as f64)).collect();
                appended.extend(samples.iter().map(|s| (labels.to_string(), s.t, s.v)));
                batch.add(labels, samples);
            }
            storage.append(&batch).unwrap();
        }
        appended
    }

    fn read_all(reader: &mut WalBatches) -> Vec<(String, i64, f64)> {
        let mut got = Vec::new();
        while reader
            .read(100, |_, batch| {
                for s in batch {
                    got.extend(s.samples.iter().map(|x| (s.labels.to_string(), x.t, x.v)));
                }
            })
            .unwrap()
            > 0
        {}
        got
    }

    #[test]
    fn every_appended_batch_reads_back_in_order_from_the_start_or_a_position() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), options()).unwrap();
        let appended = fill(&storage, 5, 0, 3);
        let mut reader = storage.wal_batches(None).unwrap();
        let mut positions = Vec::new();
        reader.read(1, |pos, _| positions.push(pos)).unwrap();
        let rest = read_all(&mut reader);
        assert_eq!(rest, appended[5 * 60..], "after the first batch, the others in order");
        assert_eq!(reader.position(), storage.wal_end());
        // From the first batch's end: the same two batches again.
        let mut again = storage.wal_batches(Some(positions[0])).unwrap();
        assert_eq!(read_all(&mut again), rest);
        // Later appends arrive as the WAL grows.
        let more = fill(&storage, 5, 3, 4);
        assert_eq!(read_all(&mut reader).len(), more.len());
    }

    #[test]
    fn a_reader_holds_its_segments_and_knows_series_from_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), options()).unwrap();
        fill(&storage, 50, 0, 2);
        let start = storage.wal_end();
        let mut reader = storage.wal_batches(Some(start)).unwrap();
        // Flushes would truncate every segment before the current one.
        let later = fill(&storage, 50, 2, 8);
        storage.flush().unwrap();
        let segments_kept = storage.wal_segments().unwrap();
        assert!(segments_kept.first().is_some_and(|(s, _)| *s <= start.segment), "{segments_kept:?}");
        // The series records are in segments before `start`: labels come from the index.
        assert_eq!(read_all(&mut reader), later);
        assert_eq!(reader.unresolved_samples, 0);
        // Released, the next flush may delete what the reader has passed.
        reader.release_before(reader.position());
        drop(reader);
        fill(&storage, 50, 8, 11);
        storage.flush().unwrap();
        assert!(storage.wal_segments().unwrap()[0].0 > start.segment);
    }

    #[test]
    fn the_startup_hold_keeps_segments_until_released_and_a_lost_segment_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), options()).unwrap();
        fill(&storage, 50, 0, 2);
        let saved = storage.wal_end();
        storage.close().unwrap();
        let storage = Storage::open(dir.path(), Options { wal_hold_from: Some(saved.segment), ..options() }).unwrap();
        fill(&storage, 50, 2, 8);
        storage.flush().unwrap();
        assert!(storage.wal_batches(Some(saved)).is_ok(), "held since open");
        storage.release_startup_wal_hold();
        fill(&storage, 50, 8, 11);
        storage.flush().unwrap();
        let gone = storage.wal_batches(Some(saved)).unwrap_err();
        assert!(gone.to_string().contains("segment"), "{gone}");
    }
}
