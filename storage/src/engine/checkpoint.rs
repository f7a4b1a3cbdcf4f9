//! Head checkpoints: so that a restart replays only the WAL written since
//! the last one, not the whole head's history. A checkpoint holds each
//! head series' key, open chunk and out-of-order buffer, the lengths of the
//! head chunk files (which hold the closed chunks, see `head/spill.rs`),
//! and the WAL segment from which replay must start.
//!
//! ```text
//! [maintenance lock]
//!   [append lock, apply gate] chunk file lengths → WAL rotation (segment S)
//!       → every series' open chunk and out-of-order buffer written to
//!         head.checkpoint.tmp (page cache; nothing held in memory)
//!   → fsync chunk files → index fsync → fsync head.checkpoint.tmp
//!   → rename to head.checkpoint, fsync directory
//! → later: WAL segments before S may be deleted (`truncate_wal`)
//! ```
//! Appends wait only while the head is written out. A crash anywhere before the
//! rename leaves the previous checkpoint and every WAL segment since it;
//! after it, the new one is complete and durable, and so is everything it
//! points at. Taken by the background thread once the WAL written since the
//! last one is larger than a segment and than the last checkpoint (so the
//! extra writing stays within about the WAL's own), and on `close` (the
//! shutdown snapshot: the next open then replays nothing).

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::Inner;
use crate::error::IoContext;
use crate::fs;
use crate::head::checkpoint::{CheckpointHeader, CheckpointSeries, CheckpointWriter};
use crate::Result;

/// The checkpoint's file name in the data directory.
pub(crate) const CHECKPOINT_FILE: &str = "head.checkpoint";
const CHECKPOINT_TMP: &str = "head.checkpoint.tmp";

/// What the last checkpoint of this open storage was.
#[derive(Debug, Default)]
pub(crate) struct LastCheckpoint {
    /// Replay starts at this WAL segment; earlier ones may be deleted.
    /// 0 before any checkpoint (nothing may be deleted on its account).
    pub(crate) wal_segment: std::sync::atomic::AtomicU64,
    /// `WalStats::bytes_written` when it was taken.
    pub(crate) wal_bytes_at: std::sync::atomic::AtomicU64,
    /// Its size in bytes.
    pub(crate) bytes: std::sync::atomic::AtomicU64,
}

impl LastCheckpoint {
    /// As of the checkpoint an open found.
    pub(crate) fn of(c: &crate::head::checkpoint::Checkpoint) -> Self {
        let last = Self::default();
        last.wal_segment.store(c.header.wal_segment, Ordering::Relaxed);
        last.bytes.store(c.len(), Ordering::Relaxed);
        last
    }

    /// The WAL segment replay starts at, before which segments may go (0: no checkpoint yet).
    pub(crate) fn segment(&self) -> u64 {
        self.wal_segment.load(Ordering::Acquire)
    }
}

/// A checkpoint written to its temporary file under the locks, not yet
/// durable.
pub(crate) struct Captured {
    header: CheckpointHeader,
    bytes: u64,
    series: usize,
    paused: std::time::Duration,
}

/// What a checkpoint wrote.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckpointStats {
    /// Series in it.
    pub series: usize,
    /// Size of `head.checkpoint`.
    pub bytes: u64,
    /// WAL replay on the next open starts at this segment.
    pub wal_segment: u64,
    /// How long appends waited while the head was written out.
    pub paused_seconds: f64,
}

impl Inner {
    /// Takes a checkpoint now; `None` when one cannot be taken (a head chunk
    /// kept in memory after a failed write), which is logged.
    pub(crate) fn checkpoint(&self) -> Result<Option<CheckpointStats>> {
        let _maintenance = self.maintenance.lock();
        self.checkpoint_holding_maintenance()
    }

    /// [`Inner::checkpoint`] for a caller that holds the maintenance lock
    /// (a flush, a snapshot).
    pub(crate) fn checkpoint_holding_maintenance(&self) -> Result<Option<CheckpointStats>> {
        let captured = {
            let _append = self.append.lock();
            let _applied = self.apply_gate.write();
            self.capture_checkpoint()?
        };
        captured.map(|c| self.persist_checkpoint(c)).transpose()
    }

    /// Whether the WAL written since the last checkpoint warrants a new one.
    pub(crate) fn checkpoint_due(&self) -> bool {
        let last = &self.last_checkpoint;
        let since = self.wal.stats().bytes_written.saturating_sub(last.wal_bytes_at.load(Ordering::Relaxed));
        since >= self.options.wal_segment_size.max(last.bytes.load(Ordering::Relaxed))
    }

    /// Writes the head as of a fresh WAL segment to the temporary file
    /// (the page cache: nothing of it is held in memory). The caller holds
    /// the append lock and the apply gate (every frame written is applied,
    /// and none is written meanwhile), and the maintenance lock (no flush
    /// drops chunks meanwhile).
    pub(crate) fn capture_checkpoint(&self) -> Result<Option<Captured>> {
        let started = Instant::now();
        let Some(lengths) = self.head.store.lengths() else {
            tracing::warn!("head chunks are held in memory after a failed write; no checkpoint until they are flushed");
            return Ok(None);
        };
        let wal_segment = self.wal.rotate()?;
        let maxt = self.head.maxt();
        let header = CheckpointHeader { wal_segment, flushed_until: self.head.flushed_until(), maxt, lengths };
        let tmp = self.dir.join(CHECKPOINT_TMP);
        let writing = || format!("writing {}", tmp.display());
        let file = std::fs::File::create(&tmp).context(writing)?;
        let series = self.head.all();
        let buffered = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut writer = CheckpointWriter::new(buffered, &header, series.len() as u64).context(writing)?;
        let mut key = Vec::new();
        for (i, s) in series.iter().enumerate() {
            if i == series.len() / 2 {
                self.crash_halfway(&mut writer);
            }
            key.clear();
            s.key.write_to(&mut key);
            let data = s.data.lock();
            let (open_count, open, ooo, newest) = data.checkpoint_parts();
            let entry =
                CheckpointSeries { sref: s.sref, newest, key: &key, open_count, open: &open, ooo: ooo.to_vec() };
            writer.series(&entry).context(writing)?;
        }
        let (buffered, bytes) = writer.finish().context(writing)?;
        buffered.into_inner().map_err(|e| e.into_error()).context(writing)?;
        Ok(Some(Captured { header, bytes, series: series.len(), paused: started.elapsed() }))
    }

    /// Makes a captured checkpoint durable and the current one.
    pub(crate) fn persist_checkpoint(&self, c: Captured) -> Result<CheckpointStats> {
        let started = Instant::now();
        self.head.store.sync(c.header.lengths.keys().copied())?;
        // Series the checkpoint holds are not looked up in the index on
        // open, and their series records may go with the WAL segments.
        self.index.sync()?;
        let tmp = self.dir.join(CHECKPOINT_TMP);
        let path = self.dir.join(CHECKPOINT_FILE);
        let file = std::fs::File::open(&tmp).context(|| format!("opening {}", tmp.display()))?;
        fs::sync_file(&file, &tmp)?;
        #[cfg(any(test, feature = "fault-injection"))]
        self.crash_point(crate::fault::Fault::CrashBeforeCheckpointRename, || {});
        fs::rename_durable(&tmp, &path)?;
        #[cfg(any(test, feature = "fault-injection"))]
        self.crash_point(crate::fault::Fault::CrashAfterCheckpointRename, || {});
        let last = &self.last_checkpoint;
        last.wal_segment.store(c.header.wal_segment, Ordering::Release);
        last.wal_bytes_at.store(self.wal.stats().bytes_written, Ordering::Relaxed);
        last.bytes.store(c.bytes, Ordering::Relaxed);
        let stats = CheckpointStats {
            series: c.series,
            bytes: c.bytes,
            wal_segment: c.header.wal_segment,
            paused_seconds: c.paused.as_secs_f64(),
        };
        tracing::info!(
            series = stats.series,
            bytes = stats.bytes,
            wal_segment = stats.wal_segment,
            paused_ms = c.paused.as_millis() as u64,
            written_ms = started.elapsed().as_millis() as u64,
            "wrote head checkpoint"
        );
        Ok(stats)
    }
}

#[cfg(any(test, feature = "fault-injection"))]
impl Inner {
    /// With `fault` armed: runs `before`, then dies as `kill -9` would (no
    /// unwinding, no destructors), for the crash tests.
    fn crash_point(&self, fault: crate::fault::Fault, before: impl FnOnce()) {
        if self.faults.take(fault) {
            before();
            std::process::abort();
        }
    }

    /// Halfway through writing a checkpoint: dies there with
    /// `CrashWritingCheckpoint` armed, what was written so far on disk.
    fn crash_halfway<W: std::io::Write>(&self, writer: &mut CheckpointWriter<W>) {
        self.crash_point(crate::fault::Fault::CrashWritingCheckpoint, || {
            let _ = writer.inner().flush();
        });
    }
}

#[cfg(not(any(test, feature = "fault-injection")))]
impl Inner {
    #[inline]
    fn crash_halfway<W: std::io::Write>(&self, _: &mut CheckpointWriter<W>) {}
}

/// Removes the temporary file of a checkpoint a crash interrupted.
pub(crate) fn remove_leftover(dir: &std::path::Path) -> Result<()> {
    let tmp = dir.join(CHECKPOINT_TMP);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {
            tracing::warn!(path = %tmp.display(), "removed the leftover of an interrupted head checkpoint");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::Error::io(format!("removing {}", tmp.display()), e)),
    }
}
