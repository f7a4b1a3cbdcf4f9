//! The write path: appending frames to the current segment, rotating to a
//! new segment, group-committed fsyncs, and deleting old segments.
//!
//! Two locks, always taken in this order when both are needed:
//! 1. `state` (the current segment and the end of what was written) is held
//!    only for the write syscalls, and across a rotation;
//! 2. `sync` (the synced position and whether a leader is fsyncing) is held
//!    only for bookkeeping, never across a syscall.
//!
//! Group commit: a caller of [`Writer::sync_through`] that finds no fsync in
//! progress becomes the leader, snapshots the written position and the
//! segment file under `state`, releases everything, fdatasyncs, publishes the
//! snapshot as synced and wakes the waiters. Callers arriving meanwhile wait
//! and are usually covered by the leader's fsync, so N concurrent appenders
//! need far fewer than N fsyncs.
//!
//! Positions are totally ordered, and a rotation fsyncs the old segment (and
//! the new one, and the directory) before anything is written to the new one,
//! so "synced up to a position in segment N" implies every earlier segment is
//! durable too.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::{Error, IoContext, Result};
#[cfg(feature = "fault-injection")]
use crate::file::Fault;
use crate::file::Fs;
use crate::frame::{self, FrameError, FRAME_HEADER_LEN};
use crate::poison::Poison;
use crate::segment::{self, SEGMENT_HEADER_LEN};
use crate::sync::SyncMode;
use crate::wal::{Position, WalOptions, WalStats};

/// Shared by every handle and the interval-sync thread.
#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    fs: Fs,
    segment_size: u64,
    mode: SyncMode,
    state: Mutex<WriteState>,
    sync: Mutex<SyncState>,
    synced_changed: Condvar,
    poison: Poison,
    frames_written: AtomicU64,
    bytes_written: AtomicU64,
    /// Serializes `truncate_before` calls with each other (not with writers).
    truncating: Mutex<()>,
    /// Segment holds by id: no segment numbered at or above the smallest
    /// held one is deleted by `truncate_before`.
    holds: Mutex<BTreeMap<u64, u64>>,
    next_hold: AtomicU64,
}

/// An open segment file.
#[derive(Debug)]
struct Segment {
    number: u64,
    path: PathBuf,
    file: File,
}

#[derive(Debug)]
struct WriteState {
    /// `Arc` so a sync leader can fsync it without holding `state`, even if
    /// a rotation replaces it meanwhile.
    segment: Arc<Segment>,
    /// End of the last frame written (or of the header).
    offset: u64,
    /// Frames in this segment; an empty segment takes any frame, however large.
    frames: u64,
    /// Reused buffer for small frames (at most `FRAME_HEADER_LEN + SMALL_FRAME` bytes).
    scratch: Vec<u8>,
}

/// Payloads up to this size are written with their header in one syscall.
const SMALL_FRAME: usize = 8 << 10;

impl WriteState {
    fn position(&self) -> Position {
        Position { segment: self.segment.number, offset: self.offset }
    }
}

#[derive(Debug)]
struct SyncState {
    /// Everything up to here is durable.
    synced: Position,
    /// A leader is fsyncing; others wait on `synced_changed`.
    leader: bool,
}

/// Creating a segment failed; says whether anything durable may be off.
enum CreateError {
    /// Nothing was fsynced yet: the old segment is still good to write to.
    Io(Error),
    /// An fsync failed: the caller must poison (or, at open, give up).
    Sync(String, io::Error),
}

impl Writer {
    /// Starts writing segment `number` in `dir` (which replay has checked).
    pub(crate) fn create(fs: Fs, dir: &Path, options: &WalOptions, number: u64) -> Result<Self> {
        let segment = create_segment(&fs, dir, number).map_err(|e| match e {
            CreateError::Io(e) => e,
            CreateError::Sync(context, source) => Error::Io { context, source },
        })?;
        let start = Position { segment: number, offset: SEGMENT_HEADER_LEN };
        Ok(Self {
            dir: dir.to_path_buf(),
            fs,
            segment_size: options.segment_size,
            mode: options.sync,
            state: Mutex::new(WriteState {
                segment: Arc::new(segment),
                offset: SEGMENT_HEADER_LEN,
                frames: 0,
                scratch: Vec::new(),
            }),
            sync: Mutex::new(SyncState { synced: start, leader: false }),
            synced_changed: Condvar::new(),
            poison: Poison::default(),
            frames_written: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            truncating: Mutex::new(()),
            holds: Mutex::new(BTreeMap::new()),
            next_hold: AtomicU64::new(0),
        })
    }

    pub(crate) fn mode(&self) -> SyncMode {
        self.mode
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poison.is_poisoned()
    }

    /// Writes one frame (no fsync) and returns its end position.
    pub(crate) fn write(&self, payload: &[u8]) -> Result<Position> {
        let header = frame::encode_header(payload).map_err(|e| match e {
            FrameError::Empty => Error::EmptyFrame,
            _ => Error::FrameTooLarge { len: payload.len() },
        })?;
        let frame_len = (FRAME_HEADER_LEN + payload.len()) as u64;

        let mut state = self.state.lock();
        self.poison.check()?;
        if state.frames > 0 && state.offset + frame_len > self.segment_size {
            self.rotate_locked(&mut state)?;
        }
        let start = state.offset;
        let WriteState { segment, scratch, .. } = &mut *state;
        // Small frames are copied so header and payload go down in one
        // syscall; large ones are not worth the copy.
        let written = if payload.len() <= SMALL_FRAME {
            scratch.clear();
            scratch.extend_from_slice(&header);
            scratch.extend_from_slice(payload);
            self.fs.write_all_at(&segment.file, start, &[scratch])
        } else {
            self.fs.write_all_at(&segment.file, start, &[&header, payload])
        };
        if let Err(e) = written {
            return Err(self.undo_partial_write(segment, start, frame_len, e));
        }
        state.offset = start + frame_len;
        state.frames += 1;
        self.frames_written.fetch_add(1, Ordering::Relaxed);
        self.bytes_written.fetch_add(frame_len, Ordering::Relaxed);
        Ok(state.position())
    }

    /// A failed write may have stored part of the frame; cut it off so that
    /// the next frame starts where this one should have, and a crash cannot
    /// leave a half frame in front of later, good ones.
    fn undo_partial_write(&self, segment: &Segment, start: u64, frame_len: u64, error: io::Error) -> Error {
        match self.fs.set_len(&segment.file, start) {
            Ok(()) => Error::Io {
                context: format!(
                    "writing a {frame_len}-byte frame to {} at offset {start} (nothing of it was kept)",
                    segment.path.display()
                ),
                source: error,
            },
            Err(truncate_error) => {
                tracing::error!(
                    path = %segment.path.display(),
                    offset = start,
                    error = %error,
                    "WAL write failed and the partial frame could not be removed"
                );
                self.poison.poison(
                    format!(
                        "removing a partial frame from {} (truncating to {start} after a failed write: {error})",
                        segment.path.display()
                    ),
                    truncate_error,
                )
            }
        }
    }

    /// Makes everything up to `target` durable, according to the mode.
    pub(crate) fn sync_to(&self, target: Position) -> Result<()> {
        match self.mode {
            SyncMode::Always => self.sync_through(target),
            SyncMode::Interval(_) | SyncMode::Never => self.poison.check(),
        }
    }

    /// Makes everything written so far durable, whatever the mode.
    pub(crate) fn sync_all(&self) -> Result<()> {
        let target = self.state.lock().position();
        self.sync_through(target)
    }

    /// Group commit: returns once `target` (clamped to what was written) is
    /// durable, fsyncing as the leader or waiting for the leader's fsync.
    fn sync_through(&self, target: Position) -> Result<()> {
        let mut sync = self.sync.lock();
        loop {
            self.poison.check()?;
            if sync.synced >= target {
                return Ok(());
            }
            if sync.leader {
                self.synced_changed.wait(&mut sync);
                continue;
            }
            sync.leader = true;
            let result = MutexGuard::unlocked(&mut sync, || self.fsync_written());
            sync.leader = false;
            self.synced_changed.notify_all();
            // On error the WAL is poisoned; waiters see that when they wake.
            let durable = result?;
            sync.synced = sync.synced.max(durable);
            // Only a position nobody wrote is past what the leader saw (a
            // `write` that returned it finished before we got here); without
            // this we would fsync forever waiting for it.
            if durable < target {
                return Ok(());
            }
        }
    }

    /// The leader's part: fdatasync the segment being written; returns the
    /// position that is now durable.
    fn fsync_written(&self) -> Result<Position> {
        let (written, segment) = {
            let state = self.state.lock();
            (state.position(), Arc::clone(&state.segment))
        };
        self.fs
            .sync_data(&segment.file)
            .map_err(|e| self.poison.poison(format!("fdatasync of {}", segment.path.display()), e))?;
        Ok(written)
    }

    fn mark_synced(&self, position: Position) {
        let mut sync = self.sync.lock();
        sync.synced = sync.synced.max(position);
        self.synced_changed.notify_all();
    }

    /// Closes the current segment (fsynced) and starts the next; returns its number.
    pub(crate) fn rotate(&self) -> Result<u64> {
        let mut state = self.state.lock();
        self.poison.check()?;
        self.rotate_locked(&mut state)?;
        Ok(state.segment.number)
    }

    fn rotate_locked(&self, state: &mut WriteState) -> Result<()> {
        let old = &state.segment;
        // Durable before the next segment exists: replay treats only the
        // last segment's tail as possibly torn.
        self.fs
            .sync_data(&old.file)
            .map_err(|e| self.poison.poison(format!("fdatasync of {}", old.path.display()), e))?;
        let closed_at = state.position();
        self.mark_synced(closed_at);

        let next = old.number.saturating_add(1);
        let segment = create_segment(&self.fs, &self.dir, next).map_err(|e| match e {
            CreateError::Io(e) => e,
            CreateError::Sync(context, source) => self.poison.poison(context, source),
        })?;
        tracing::debug!(segment = next, "WAL rotated to a new segment");
        state.segment = Arc::new(segment);
        state.offset = SEGMENT_HEADER_LEN;
        state.frames = 0;
        self.mark_synced(state.position());
        Ok(())
    }

    pub(crate) fn current_segment(&self) -> u64 {
        self.state.lock().segment.number
    }

    pub(crate) fn segments(&self) -> Result<Vec<u64>> {
        segment::list(&self.fs, &self.dir)
    }

    /// Holds segment `segment` and every later one against truncation;
    /// returns the hold's id.
    pub(crate) fn hold(&self, segment: u64) -> u64 {
        // Under `truncating`, so a truncation is wholly before this hold
        // (the caller then finds the segment gone) or respects it.
        let _no_truncation_meanwhile = self.truncating.lock();
        let id = self.next_hold.fetch_add(1, Ordering::Relaxed);
        self.holds.lock().insert(id, segment);
        id
    }

    /// Moves hold `id` to `segment` (never backwards: deleted segments do not come back).
    pub(crate) fn move_hold(&self, id: u64, segment: u64) {
        if let Some(held) = self.holds.lock().get_mut(&id) {
            *held = (*held).max(segment);
        }
    }

    pub(crate) fn release_hold(&self, id: u64) {
        self.holds.lock().remove(&id);
    }

    /// Where readers may read up to: what is durable, or under
    /// [`SyncMode::Never`] (which never syncs) what was written.
    pub(crate) fn readable_end(&self) -> Position {
        match self.mode {
            SyncMode::Never => self.state.lock().position(),
            _ => self.sync.lock().synced,
        }
    }

    pub(crate) fn fs(&self) -> &Fs {
        &self.fs
    }

    /// Deletes the segments numbered below `before` (clamped to the current
    /// one and to the oldest held segment).
    pub(crate) fn truncate_before(&self, before: u64) -> Result<usize> {
        let _one_at_a_time = self.truncating.lock();
        let oldest_held = self.holds.lock().values().min().copied().unwrap_or(u64::MAX);
        let limit = before.min(self.current_segment()).min(oldest_held);
        let mut deleted = 0;
        // Oldest first, with a directory fsync after each removal, so a crash
        // keeps a prefix of the removals and the survivors stay contiguous
        // (a gap would be reported as a missing segment at the next open).
        // A failed directory fsync does not poison: at worst a deleted,
        // fully synced segment comes back and is replayed once more.
        for number in self.segments()?.into_iter().take_while(|&n| n < limit) {
            let path = segment::path(&self.dir, number);
            match self.fs.remove_file(&path) {
                Ok(()) => deleted += 1,
                // Someone else removed it: the goal is reached all the same.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).context(|| format!("deleting WAL segment {}", path.display())),
            }
            self.fs.sync_dir(&self.dir).context(|| format!("fsyncing WAL directory {}", self.dir.display()))?;
        }
        Ok(deleted)
    }

    pub(crate) fn stats(&self) -> WalStats {
        let written = self.state.lock().position();
        let synced = self.sync.lock().synced;
        let (fsync_buckets, fsync_nanos) = self.fs.fsync_latency();
        WalStats {
            frames_written: self.frames_written.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            fsyncs: self.fs.fsyncs(),
            fsync_buckets,
            fsync_nanos,
            written,
            synced,
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    #[cfg(feature = "fault-injection")]
    pub(crate) fn inject_fault(&self, fault: Fault) {
        self.fs.inject(fault);
    }
}

/// Creates segment `number`: file, header, fdatasync, directory fsync. After
/// this returns, the segment exists durably with a valid header.
fn create_segment(fs: &Fs, dir: &Path, number: u64) -> Result<Segment, CreateError> {
    let path = segment::path(dir, number);
    let file =
        fs.create_new(&path).context(|| format!("creating WAL segment {}", path.display())).map_err(CreateError::Io)?;
    if let Err(e) = fs.write_all_at(&file, 0, &[&segment::encode_header()]) {
        // Best effort: a leftover short file is a torn header, which the
        // next open deletes.
        let _ = fs.remove_file(&path);
        return Err(CreateError::Io(Error::Io {
            context: format!("writing the header of WAL segment {}", path.display()),
            source: e,
        }));
    }
    if let Err(e) = fs.sync_data(&file) {
        return Err(CreateError::Sync(format!("fdatasync of {}", path.display()), e));
    }
    if let Err(e) = fs.sync_dir(dir) {
        return Err(CreateError::Sync(
            format!("fsync of WAL directory {} after creating {}", dir.display(), path.display()),
            e,
        ));
    }
    Ok(Segment { number, path, file })
}
