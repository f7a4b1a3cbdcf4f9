//! Flushing: writing a finished window of the head as a block, then
//! dropping that window from the head and the WAL segments that only held it.
//!
//! ```text
//! [append lock] raise min_valid to the window end (later samples for it are rejected)
//!   → WAL fsync (nothing in the block can be lost with the WAL's tail)
//!   → read each head series' window → BlockWriter → fsync, rename (durable)
//!   → register the block → flushed_until = window end
//!   → drop the window from the head → [append lock] remove empty series
//!   → index fsync → delete WAL segments whose newest sample is before flushed_until
//! ```
//! A crash at any point loses nothing: until the rename the WAL still has
//! every sample; after it, replay skips what the block holds.
//!
//! A failure (a full disk) loses nothing either: `flushed_until` has not
//! moved, so the head, its chunk files and the WAL keep the window, and the
//! next flush writes the same window again before any later one. `min_valid`
//! stays at the window end meanwhile, so the retry writes the same samples
//! and blocks stay contiguous, which recovery relies on (everything before
//! the newest block's end is in blocks).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Inner;
use crate::block::{BlockWriter, Compaction};
use crate::Result;

/// Which head windows are ready to become blocks.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ready {
    /// Those the newest sample has passed by the out-of-order window (the
    /// background flush: a late sample for them can still be taken).
    PastOutOfOrder,
    /// Those the newest sample has passed ([`crate::Storage::flush`]).
    Passed,
    /// Every one ending at or before this time, passed or not (the end of
    /// an import: a window wholly in the past gets no more samples), in
    /// windows as long as the compaction spans allow.
    EndingBy(i64),
}

impl Inner {
    /// Flushes every window that is `ready`, oldest first; returns how
    /// many blocks were written.
    pub(crate) fn flush(&self, ready: Ready) -> Result<usize> {
        let _maintenance = self.maintenance.lock();
        self.remove_orphans()?;
        let mut written = 0;
        let flushed = (|| {
            while let Some((start, end)) = self.next_flushable_window(ready) {
                if self.flush_window(start, end)? {
                    written += 1;
                }
            }
            Ok::<_, crate::Error>(())
        })();
        // Also after a failed window: those flushed before it are done.
        self.delete_detached_chunk_files()?;
        flushed?;
        if written > 0 {
            // Start a fresh segment so the older ones stop growing and can be
            // deleted once the windows they hold are flushed too.
            self.wal.rotate()?;
        }
        self.truncate_wal()?;
        Ok(written)
    }

    /// Deletes the head chunk files of windows flushed since the last call.
    /// The current checkpoint may list them (and a restart would then need
    /// them, if the window's block is later removed by retention or was
    /// never written because deletions emptied it), so a new checkpoint,
    /// which does not, is made durable first. The caller holds the
    /// maintenance lock.
    fn delete_detached_chunk_files(&self) -> Result<()> {
        let doomed = std::mem::take(&mut *self.detached_chunk_files.lock());
        if doomed.is_empty() {
            return Ok(());
        }
        if self.last_checkpoint.segment() > 0 {
            let persisted = self.checkpoint_holding_maintenance();
            if !matches!(persisted, Ok(Some(_))) {
                // Kept for the next try; a restart meanwhile still finds them.
                self.detached_chunk_files.lock().extend(doomed);
                return persisted.map(|_| ());
            }
        }
        for path in doomed {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }

    /// The oldest window of head data, if it is `ready` to become a block.
    pub(crate) fn next_flushable_window(&self, ready: Ready) -> Option<(i64, i64)> {
        let maxt = self.head.maxt();
        if maxt == i64::MIN {
            return None;
        }
        let span = self.cfg.block_span;
        let ready_window = |start: i64| -> Option<(i64, i64)> {
            let end = start.checked_add(span)?;
            match ready {
                Ready::PastOutOfOrder => (maxt >= end.saturating_add(self.cfg.ooo_window)).then_some((start, end)),
                Ready::Passed => (maxt >= end).then_some((start, end)),
                // Up to the end of the longest compaction span that is over by
                // `t`: history is written in blocks compaction would have
                // made, not thousands of 2 h blocks merged afterwards.
                Ready::EndingBy(t) => self
                    .cfg
                    .compaction_spans
                    .iter()
                    .rev()
                    .filter_map(|&s| start.div_euclid(s).checked_add(1)?.checked_mul(s))
                    .chain([end])
                    .find(|&e| e <= t)
                    .map(|e| (start, e)),
            }
        };
        // Head data is at or after both bounds, so no window before theirs
        // holds any, and a later window is ready only after it: while it is
        // not, the visit of every series below (each second, a million
        // series' locks) is skipped.
        let earliest = self.head.mint_floor().max(self.head.flushed_until());
        if earliest != i64::MAX && ready_window(earliest.div_euclid(span) * span).is_none() {
            return None;
        }
        let head_mint = self.head.all().iter().filter_map(|s| s.data.lock().mint()).min()?;
        // From `flushed_until`, not `min_valid`: a window whose write failed
        // has `min_valid` past it and must be written again.
        ready_window(head_mint.max(self.head.flushed_until()).div_euclid(span) * span)
    }

    /// Writes `[start, end)` as a block (or an older window, see below).
    /// Returns false when it held no samples.
    pub(super) fn flush_window(&self, start: i64, end: i64) -> Result<bool> {
        {
            let _append = self.append.lock();
            self.head.raise_min_valid(end);
            // Batches validated before the raise finish applying first.
            drop(self.apply_gate.write());
        }
        // Under `SyncMode::Interval` the window's newest samples may not be
        // durable in the WAL yet. A block made durable before them would
        // keep part of a batch whose other part a power cut takes with the
        // WAL tail; syncing first means a block never holds a sample the
        // WAL could still lose (found by the power-cut test).
        self.wal.sync()?;
        let series = self.head.all();
        // The window was chosen without the append lock, so a batch validated
        // before the raise may have brought a series with samples older than
        // `start`. Nothing older can arrive now; write their window first, as
        // dropping the head before `end` below would lose them.
        let span = self.cfg.block_span;
        let oldest = series.iter().filter_map(|s| s.data.lock().mint()).min();
        let (start, end) = match oldest {
            Some(t) if t < start => {
                let start = t.max(self.head.flushed_until()).div_euclid(span) * span;
                (start, start + span)
            }
            _ => (start, end),
        };
        let mut writer = BlockWriter::create(
            &self.blocks_dir(),
            start,
            end - 1,
            Compaction { level: 1, parents: vec![] },
            self.options.zstd_level,
        )?;
        // A window longer than a block span (an import's, `Ready::EndingBy`)
        // is written as compaction would have made it, and never compacted
        // again: its rollups are a compacted block's.
        let level = if end - start > span { 2 } else { 1 };
        let rollups = self.options.rollups;
        writer.retain_resolutions(|r| {
            rollups && crate::rollup::kept_in_block(r, level, end - 1, self.head.maxt(), self.cfg.minute_rollups_for)
        });
        let mut samples = Vec::new();
        let mut any = false;
        for s in &series {
            samples.clear();
            if let Err(e) = s.data.lock().read(start, end - 1, &self.head.store, &mut samples) {
                writer.abort();
                return Err(e);
            }
            // Deleted samples never reach a block.
            self.tombstones.filter(s.sref, &mut samples);
            if !samples.is_empty() {
                any = true;
                if let Err(e) = writer.add_series(s.sref, &samples) {
                    writer.abort();
                    return Err(e);
                }
            }
        }
        if any {
            let (block, meta) = self.seal_block(writer)?;
            tracing::info!(
                block = %block.dir().display(),
                series = meta.stats.series,
                samples = meta.stats.samples,
                bytes = block.size_on_disk(),
                "wrote block"
            );
            self.swap_blocks(&[], Some(Arc::new(block)));
            self.counters.blocks_written.fetch_add(1, Ordering::Relaxed);
        } else {
            writer.abort();
        }
        // Only now is the window's data dropped from the head and the WAL.
        self.head.advance_flushed_until(end);
        let mut emptied = Vec::new();
        for s in &series {
            let mut data = s.data.lock();
            data.truncate_before(end);
            if data.is_empty() {
                emptied.push(s.clone());
            }
        }
        drop(series);
        let detached = self.head.store.detach_before(end.div_euclid(self.cfg.block_span));
        self.detached_chunk_files.lock().extend(detached);
        let append = self.append.lock();
        for s in emptied {
            // Re-check under the append lock: a batch may have added samples since.
            if s.data.lock().is_empty() {
                self.head.remove(&s);
            }
        }
        drop(append);
        // Removed series are dropped by now, unless a reader still holds one
        // (its labels go at the next flush).
        self.head.forget_removed_keys();
        Ok(any)
    }

    /// Deletes the WAL segments whose samples are all in blocks or before
    /// the last head checkpoint (which holds the rest of them), unless a
    /// forwarder holds them. The index is synced first, since it becomes
    /// the only record of their series.
    pub(super) fn truncate_wal(&self) -> Result<()> {
        // Not `min_valid`: that is past a window whose write failed.
        let flushed_until = self.head.flushed_until();
        let current = self.wal.current_segment();
        let checkpointed = self.last_checkpoint.segment();
        let first_kept = {
            let state = self.append.lock();
            let segments = self.wal.segments()?;
            segments
                .iter()
                .copied()
                .find(|&seg| {
                    seg >= current
                        || (seg >= checkpointed && state.segment_maxt.get(&seg).is_some_and(|&t| t >= flushed_until))
                })
                .unwrap_or(current)
        };
        if self.wal.segments()?.first().is_none_or(|&first| first >= first_kept) {
            return Ok(());
        }
        self.index.sync()?;
        let deleted = self.wal.truncate_before(first_kept)?;
        self.append.lock().segment_maxt.retain(|&seg, _| seg >= first_kept);
        tracing::debug!(deleted, first_kept, "truncated WAL");
        Ok(())
    }
}
