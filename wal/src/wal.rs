//! The public face: [`Wal`], its options, and [`Position`]. Each method
//! documents its contract and hands the work to `replay.rs` (open),
//! `writer.rs` (write path) or `sync.rs` (background syncing).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
#[cfg(feature = "fault-injection")]
use crate::file::Fault;
use crate::replay;
use crate::sync::{IntervalSyncer, SyncMode};
use crate::tail::{SegmentHold, WalTail};
use crate::writer::Writer;

/// Where a frame ends: segment number and the byte offset, within that
/// segment's file, just past the frame.
///
/// Positions are totally ordered (segment first, then offset), in the order
/// the frames were written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Segment number (the file is `{segment:08}.wal`).
    pub segment: u64,
    /// Byte offset of the end of the frame within the segment file.
    pub offset: u64,
}

/// How to open a [`Wal`]. Build with [`WalOptions::default`] or
/// [`WalOptions::new`] and the `with_*` methods, or set the fields.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// Target size of a segment file in bytes (default 128 MiB). A frame
    /// never spans segments: one that does not fit starts a new segment,
    /// and one larger than this gets a segment of its own.
    pub segment_size: u64,
    /// When frames are fsynced (default [`SyncMode::Always`]).
    pub sync: SyncMode,
    /// Segments numbered below this are neither read nor replayed on open
    /// (default 0: all are): a caller that keeps a checkpoint of everything
    /// before a segment replays only from there. They stay on disk until
    /// [`Wal::truncate_before`].
    pub replay_from: u64,
}

impl WalOptions {
    /// Default segment size: 128 MiB.
    pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;

    /// The defaults: 128 MiB segments, [`SyncMode::Always`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`WalOptions::segment_size`].
    #[must_use]
    pub fn with_segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// Sets [`WalOptions::sync`].
    #[must_use]
    pub fn with_sync(mut self, sync: SyncMode) -> Self {
        self.sync = sync;
        self
    }

    /// Sets [`WalOptions::replay_from`].
    #[must_use]
    pub fn with_replay_from(mut self, segment: u64) -> Self {
        self.replay_from = segment;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        match self.sync {
            SyncMode::Interval(every) if every.is_zero() => {
                Err(Error::InvalidOptions { reason: "SyncMode::Interval needs a non-zero interval" })
            }
            _ => Ok(()),
        }
    }
}

impl Default for WalOptions {
    fn default() -> Self {
        Self { segment_size: Self::DEFAULT_SEGMENT_SIZE, sync: SyncMode::default(), replay_from: 0 }
    }
}

/// Counters since this [`Wal`] was opened: what was written, fsync counts
/// and latencies (storage exports them as metrics), and the written and
/// durable positions.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalStats {
    /// Frames written.
    pub frames_written: u64,
    /// Bytes written in frames, headers included.
    pub bytes_written: u64,
    /// fdatasync/fsync calls on segment files and the directory, open included.
    pub fsyncs: u64,
    /// Cumulative counts of fsyncs that took at most each bound of
    /// [`FSYNC_BUCKETS_SECONDS`](crate::FSYNC_BUCKETS_SECONDS); the last entry is `+Inf` (all fsyncs).
    pub fsync_buckets: [u64; crate::FSYNC_BUCKETS_SECONDS.len() + 1],
    /// Total time spent in fsyncs, in nanoseconds.
    pub fsync_nanos: u64,
    /// End of the last frame written.
    pub written: Position,
    /// Everything up to here is durable.
    pub synced: Position,
}

/// A write-ahead log: a directory of segment files holding checksummed
/// frames of opaque bytes.
///
/// `Wal` is `Send + Sync`; share it as `&Wal` or `Arc<Wal>`. Concurrent
/// writes are serialized into one order; concurrent syncs share fsyncs.
///
/// One process, one `Wal` per directory: nothing stops a second one from
/// writing the same directory, and the result would be garbage.
pub struct Wal {
    writer: Arc<Writer>,
    syncer: Option<IntervalSyncer>,
    closed: bool,
}

impl Wal {
    /// Opens the WAL in `dir` (created if missing), replays every intact
    /// frame in order through `replay`, then starts a new segment (number =
    /// last + 1, or 1 for an empty directory) for writing; old segments are
    /// never appended to.
    ///
    /// Recovery policy:
    /// - **Last segment**: the first torn or corrupt frame (short header, bad
    ///   length, length past the end of the file, bad CRC) and everything
    ///   after it are cut off: the file is truncated to where that frame
    ///   starts, fsynced, and a `tracing::warn!` names the segment, the
    ///   offset and the bytes dropped. If its header never reached the disk
    ///   (the file is shorter than a header, or all zero) the file is deleted;
    ///   any other bad header is [`Error::Corruption`].
    /// - **Any other segment**: any damage is [`Error::Corruption`] with the
    ///   segment and offset; run [`repair`](crate::repair) to cut the WAL there.
    /// - A missing segment between the first and the last is
    ///   [`Error::Corruption`] of kind
    ///   [`MissingSegment`](crate::CorruptionKind::MissingSegment).
    /// - A segment of an unknown format version is [`Error::UnsupportedVersion`].
    ///
    /// Frames are replayed as they are read, so `replay` may already have
    /// seen frames when an error is returned. If `replay` fails, open stops
    /// with [`Error::Replay`] (nothing is truncated or created). Files in
    /// `dir` not named like segments are left alone.
    pub fn open<E>(
        dir: impl AsRef<Path>,
        options: WalOptions,
        replay: impl FnMut(Position, &[u8]) -> Result<(), E>,
    ) -> Result<Wal>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let writer = Arc::new(replay::open(dir.as_ref(), &options, replay)?);
        let syncer = match options.sync {
            SyncMode::Interval(every) => Some(IntervalSyncer::spawn(Arc::clone(&writer), every)?),
            SyncMode::Always | SyncMode::Never => None,
        };
        Ok(Wal { writer, syncer, closed: false })
    }

    /// Writes one frame holding `payload` to the OS (no fsync) and returns
    /// the position of its end. Rotates first if the frame does not fit in
    /// the current segment.
    ///
    /// Thread-safe; frames from concurrent callers are written one after the
    /// other, in the order of their positions. On an I/O error (a full disk)
    /// nothing of the frame is kept and later writes may succeed.
    ///
    /// Errors: [`Error::EmptyFrame`], [`Error::FrameTooLarge`] (over
    /// [`MAX_FRAME_LEN`](crate::MAX_FRAME_LEN)), [`Error::Io`],
    /// [`Error::Poisoned`].
    pub fn write(&self, payload: &[u8]) -> Result<Position> {
        self.writer.write(payload)
    }

    /// Makes everything up to `pos` durable as the [`SyncMode`] promises:
    /// in `Always` it returns once `pos` is fdatasynced (sharing the fsync
    /// with concurrent callers); in `Interval` and `Never` it returns at once.
    ///
    /// Errors: [`Error::Poisoned`] if this or an earlier fsync failed.
    pub fn sync_to(&self, pos: Position) -> Result<()> {
        self.writer.sync_to(pos)
    }

    /// [`write`](Self::write) then [`sync_to`](Self::sync_to).
    pub fn append(&self, payload: &[u8]) -> Result<Position> {
        let pos = self.writer.write(payload)?;
        self.writer.sync_to(pos)?;
        Ok(pos)
    }

    /// fdatasyncs everything written so far, whatever the [`SyncMode`].
    pub fn sync(&self) -> Result<()> {
        self.writer.sync_all()
    }

    /// Closes the current segment (fsynced) and starts a new, empty one,
    /// even if the current one holds no frames. Returns the new segment's
    /// number. Storage uses it to mark a checkpoint boundary.
    pub fn rotate(&self) -> Result<u64> {
        self.writer.rotate()
    }

    /// Number of the segment currently written.
    pub fn current_segment(&self) -> u64 {
        self.writer.current_segment()
    }

    /// Numbers of all segment files on disk, ascending.
    pub fn segments(&self) -> Result<Vec<u64>> {
        self.writer.segments()
    }

    /// A reader of the frames after `from` (a position a write or an earlier
    /// reader returned, or `Position { segment, offset: 0 }` for the start of
    /// a segment), following the log as it grows; it holds its segments from
    /// truncation until it releases them or is dropped.
    /// [`Error::SegmentGone`] if `from.segment` was already deleted.
    pub fn tail(&self, from: Position) -> Result<WalTail> {
        WalTail::new(self.writer.clone(), from)
    }

    /// Where readers may read up to: the end of the last durable frame
    /// (under [`SyncMode::Never`], of the last frame written).
    pub fn readable_end(&self) -> Position {
        self.writer.readable_end()
    }

    /// Keeps `segment` and every later one from [`Wal::truncate_before`]
    /// until the hold is dropped or released past them.
    pub fn hold(&self, segment: u64) -> SegmentHold {
        SegmentHold::new(self.writer.clone(), segment)
    }

    /// Deletes every segment numbered below `segment` (never the current
    /// one, nor a held one: `segment` is clamped to both), fsyncing the
    /// directory; returns how many files were deleted.
    pub fn truncate_before(&self, segment: u64) -> Result<usize> {
        self.writer.truncate_before(segment)
    }

    /// fdatasyncs everything written, stops the background thread and closes
    /// the files.
    ///
    /// Errors: [`Error::Poisoned`] if an fsync ever failed (nothing more is
    /// synced then).
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        // Stopped first, so no fsync runs after the final one.
        if let Some(mut syncer) = self.syncer.take() {
            syncer.stop();
        }
        self.writer.sync_all()
    }

    /// Counters since open; cheap (two short lock holds).
    pub fn stats(&self) -> WalStats {
        self.writer.stats()
    }

    /// Makes the next matching filesystem call fail (tests only).
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn inject_fault(&self, fault: Fault) {
        self.writer.inject_fault(fault);
    }
}

impl Drop for Wal {
    /// Stops the background thread. Unless closed, poisoned or in
    /// [`SyncMode::Never`] (whose point is to skip fsyncs), also makes a
    /// best-effort final fsync, logging a failure.
    fn drop(&mut self) {
        if let Some(mut syncer) = self.syncer.take() {
            syncer.stop();
        }
        if self.closed || self.writer.is_poisoned() || self.writer.mode() == SyncMode::Never {
            return;
        }
        if let Err(error) = self.writer.sync_all() {
            tracing::error!(%error, dir = %self.writer.dir().display(), "WAL: final fsync on drop failed");
        }
    }
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.writer.dir())
            .field("mode", &self.writer.mode())
            .field("current_segment", &self.writer.current_segment())
            .field("poisoned", &self.writer.is_poisoned())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Wal>();
    }

    #[test]
    fn positions_order_by_segment_then_offset() {
        let p = |segment, offset| Position { segment, offset };
        assert!(p(1, 900) < p(2, 8));
        assert!(p(2, 8) < p(2, 9));
    }

    #[test]
    fn zero_interval_is_rejected() {
        let options = WalOptions::new().with_sync(SyncMode::Interval(std::time::Duration::ZERO));
        assert!(matches!(options.validate(), Err(Error::InvalidOptions { .. })));
        assert!(WalOptions::default().validate().is_ok());
    }
}
