//! The engine ties the parts together: [`Storage`] owns the WAL, the head,
//! the label index and the list of blocks, and runs flushing, compaction
//! and retention in a background thread. Each path has its own file:
//! `open` (recovery), `append`, `read`, `flush`, `compact`, `retention`,
//! `maintenance` (the background thread).

mod append;
mod checkpoint;
mod prepare;
pub use checkpoint::CheckpointStats;
pub(crate) use checkpoint::CHECKPOINT_FILE;
mod compact;
mod flush;
mod forward;
pub use forward::{WalBatch, WalBatches, WalPosition, WalSeries};
mod limits;
mod maintenance;
mod means;
pub(crate) use means::MeansMap;
mod newest;
mod open;
mod read;
mod retention;
mod snapshot;

pub(crate) use read::SelectLimits;
pub use snapshot::SnapshotStats;
#[cfg(test)]
mod checkpoint_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use pulsedb_wal::Wal;

use crate::block::{Block, BlockMeta, BlockWriter};
#[cfg(any(test, feature = "fault-injection"))]
use crate::fault::{Fault, Faults};
use crate::fs::DirLock;
use crate::head::Head;
use crate::index::Index;
use crate::options::{Options, Resolved};
use crate::{Error, Result};
use flush::Ready;
use maintenance::Maintenance;

use crate::Series;

pub(crate) const WAL_DIR: &str = "wal";
pub(crate) const INDEX_DIR: &str = "index";
pub(crate) const BLOCKS_DIR: &str = "blocks";
pub(crate) const CHUNKS_HEAD_DIR: &str = "chunks_head";

/// An open pulsedb data directory. Thread-safe: share it by reference or
/// `Arc` between any number of writers and readers.
#[derive(Debug)]
pub struct Storage {
    inner: Arc<Inner>,
    maintenance: Option<Maintenance>,
}

/// State shared with the background thread.
#[derive(Debug)]
pub(crate) struct Inner {
    /// Tells this open storage from every other in the process: series
    /// handles carry it, so one issued elsewhere is refused.
    instance: u64,
    dir: PathBuf,
    options: Options,
    cfg: Resolved,
    wal: Wal,
    /// Segments kept for forwarders until they hold their own (`Options::wal_hold_from`).
    startup_hold: parking_lot::Mutex<Option<pulsedb_wal::SegmentHold>>,
    index: Index,
    /// Deleted ranges per series: reads, flushes and compactions leave them out.
    tombstones: crate::tombstones::Tombstones,
    head: Head,
    /// Sorted by `mint`; replaced whole (copy-on-write) by flush, compaction
    /// and retention so readers keep a consistent snapshot.
    blocks: RwLock<Arc<Vec<Arc<Block>>>>,
    /// Serialises appends from validation to WAL write and head apply.
    append: Mutex<AppendState>,
    /// Held (read) by a batch from its WAL write until its head apply is
    /// done; a flush takes it (write) after raising `min_valid` to wait for
    /// batches validated before the raise.
    apply_gate: RwLock<()>,
    /// Serialises flush, compaction, retention and checkpoints.
    maintenance: Mutex<()>,
    last_checkpoint: checkpoint::LastCheckpoint,
    /// Head chunk files of flushed windows, deleted once a checkpoint that
    /// does not list them is durable (`flush.rs`).
    detached_chunk_files: Mutex<Vec<PathBuf>>,
    /// Blocks renamed into place but neither registered nor removed (both
    /// failed). Each is removed before the next block is written, since a
    /// retry would write a second block for the same window or parents.
    orphans: Mutex<Vec<PathBuf>>,
    closed: AtomicBool,
    counters: Counters,
    #[cfg(any(test, feature = "fault-injection"))]
    faults: Faults,
    _lock: DirLock,
}

/// A number no other storage opened in this process has.
fn next_instance() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug)]
struct AppendState {
    next_ref: u64,
    /// Newest sample timestamp per WAL segment: a segment can be deleted
    /// once every sample in it is in a block.
    segment_maxt: BTreeMap<u64, i64>,
    /// Series entering the head per second (with `max_new_series_per_minute`).
    creation_rate: Option<limits::CreationRate>,
    /// The clock `creation_rate` counts seconds on.
    opened: std::time::Instant,
}

/// Running totals, for `stats()` and the server's `/metrics`.
#[derive(Debug, Default)]
struct Counters {
    samples_appended: AtomicU64,
    samples_rejected: AtomicU64,
    series_created: AtomicU64,
    blocks_written: AtomicU64,
    compactions: AtomicU64,
    blocks_deleted: AtomicU64,
}

/// A snapshot of the engine's state and counters.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StorageStats {
    pub head_series: usize,
    pub head_chunks: usize,
    pub head_memory_bytes: usize,
    /// Closed head chunks kept on disk (`chunks_head/`), not in memory.
    pub head_chunk_disk_bytes: u64,
    pub head_mint: Option<i64>,
    pub head_maxt: Option<i64>,
    /// Time range of all stored data, blocks and head (`None` when empty).
    pub mint: Option<i64>,
    pub maxt: Option<i64>,
    pub blocks: usize,
    pub block_samples: u64,
    pub block_bytes: u64,
    pub wal_segments: usize,
    pub wal_bytes: u64,
    /// fsyncs of the WAL since open.
    pub wal_fsyncs: u64,
    /// Cumulative counts of WAL fsyncs at most as long as each bound of
    /// [`WAL_FSYNC_BUCKETS_SECONDS`](crate::WAL_FSYNC_BUCKETS_SECONDS), then all of them (`+Inf`).
    pub wal_fsync_buckets: Vec<u64>,
    /// Total seconds spent in WAL fsyncs since open.
    pub wal_fsync_seconds: f64,
    pub samples_appended: u64,
    pub samples_rejected: u64,
    pub series_created: u64,
    pub blocks_written: u64,
    pub compactions: u64,
    pub blocks_deleted: u64,
}

impl Storage {
    /// Opens (creating if needed) the data directory at `dir`: takes its
    /// lock, opens the label index and blocks, and replays the WAL into the head.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self> {
        let inner = Arc::new(open::open(dir.as_ref(), options)?);
        let background = inner.options.background_maintenance || inner.options.background_checkpoints;
        let maintenance = background.then(|| Maintenance::start(inner.clone()));
        Ok(Self { inner, maintenance })
    }

    /// Appends a batch atomically: every sample is validated first, then
    /// written to the WAL and the head together. Returns once the batch is
    /// durable under the configured [`SyncMode`](crate::SyncMode).
    ///
    /// Errors name the offending series: [`Error::InvalidSeries`] for bad
    /// labels, [`Error::OutOfOrder`] / [`Error::OutOfBounds`] for samples
    /// too old to accept, [`Error::SeriesLimit`] beyond `max_active_series`,
    /// [`Error::SeriesRateLimit`] beyond `max_new_series_per_minute`,
    /// [`Error::TooFarInFuture`] beyond `max_future`.
    pub fn append(&self, batch: &crate::Batch) -> Result<()> {
        self.inner.append(batch)
    }

    /// Series matching all `matchers` with their samples in `[mint, maxt]`
    /// (milliseconds, inclusive), sorted by labels; series without samples
    /// in the range are left out.
    pub fn select(&self, matchers: &[crate::Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>> {
        self.inner.select(matchers, mint, maxt)
    }

    /// Rollup buckets of `resolution` starting within `[mint, maxt]` (see
    /// [`pulsedb_model::Querier::select_rollups`]): from blocks where they have
    /// them, computed from raw samples for the head and format 1 blocks.
    /// `None` when `resolution` is not one rollups are kept at. Only
    /// `fields` are guaranteed filled in.
    pub fn select_rollups(
        &self,
        matchers: &[crate::Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        fields: crate::RollupFields,
    ) -> Result<Option<Vec<crate::RollupSeries>>> {
        self.inner.select_rollups(matchers, mint, maxt, resolution, fields)
    }

    /// How many series match `matchers`, whatever their samples' times (an
    /// upper bound for any time range).
    pub fn count_series(&self, matchers: &[crate::Matcher]) -> Result<usize> {
        self.inner.check_open()?;
        Ok(self.inner.index.postings(matchers)?.len())
    }

    /// Label sets of the series matching `matchers` with samples in `[mint, maxt]`.
    pub fn series(&self, matchers: &[crate::Matcher], mint: i64, maxt: i64) -> Result<Vec<crate::Labels>> {
        self.inner.series(matchers, mint, maxt)
    }

    /// Every label name in use, sorted.
    pub fn label_names(&self) -> Result<Vec<String>> {
        self.inner.label_names()
    }

    /// Values of label `name` among series matching `matchers` (all series if empty), sorted.
    pub fn label_values(&self, name: &str, matchers: &[crate::Matcher]) -> Result<Vec<String>> {
        self.inner.label_values(name, matchers)
    }

    /// Writes the head's finished windows (those the newest sample has
    /// passed) to blocks now, without waiting for the out-of-order window.
    /// Samples older than the newest flushed window are rejected afterwards.
    pub fn flush(&self) -> Result<usize> {
        self.inner.check_open()?;
        self.inner.flush(Ready::Passed)
    }

    /// A handle for the series `labels`, to append to it by
    /// [`Batch::add_by_handle`](crate::Batch::add_by_handle) without its
    /// labels: the series is created (durably, with no samples) if it is not
    /// in the head. A handle goes stale when its series leaves the head (no
    /// samples since the last flushed window, or retention): appends by it
    /// then fail with [`Error::StaleSeriesHandle`] and the caller resolves
    /// again. Handles of another storage fail with
    /// [`Error::ForeignSeriesHandle`].
    pub fn resolve(&self, labels: &crate::Labels) -> Result<pulsedb_model::SeriesHandle> {
        self.inner.check_open()?;
        let sref = self.inner.resolve(labels)?;
        Ok(pulsedb_model::SeriesHandle::new(self.inner.instance, sref))
    }

    /// Writes every window of the head that ends at or before `t` as a
    /// block, whether or not a newer sample has passed it — what an import
    /// does at its end with `t` = now, so that history lands in blocks, not
    /// in the WAL. As after any flush, samples older than the last window
    /// written are refused from then on. Returns the blocks written.
    pub fn flush_ending_by(&self, t: i64) -> Result<usize> {
        self.inner.check_open()?;
        self.inner.flush(Ready::EndingBy(t))
    }

    /// Deletes the samples in `[mint, maxt]` of every series matching
    /// `matchers` (Prometheus' `delete_series`): durable when this returns,
    /// and from then on no read returns them; flushes and compactions leave
    /// them out of the blocks they write. The range is clamped to the newest
    /// sample stored, so samples appended later are not deleted. Returns how
    /// many series matched.
    pub fn delete_series(&self, matchers: &[crate::Matcher], mint: i64, maxt: i64) -> Result<usize> {
        self.inner.check_open()?;
        if mint > maxt {
            return Err(Error::InvalidOptions(format!("delete range [{mint}, {maxt}] ends before it starts")));
        }
        let refs = self.inner.index.postings(matchers)?;
        // As Prometheus clamps to the data: a range past the newest sample
        // stored must not hide samples appended later.
        let newest =
            self.inner.blocks().iter().map(|b| b.meta().maxt).max().unwrap_or(i64::MIN).max(self.inner.head.maxt());
        let maxt = maxt.min(newest);
        if !refs.is_empty() && mint <= maxt {
            self.inner.tombstones.add(&refs, mint, maxt)?;
        }
        Ok(refs.len())
    }

    /// Runs one round of compaction and retention now.
    pub fn compact(&self) -> Result<()> {
        self.compact_blocks()?;
        self.inner.apply_retention()?;
        Ok(())
    }

    /// Merges blocks into the longer spans the background compaction
    /// reaches (2 h → 12 h → 3 d by default), without applying retention.
    /// Returns the merges done.
    pub fn compact_blocks(&self) -> Result<usize> {
        self.inner.check_open()?;
        let mut merges = 0;
        while self.inner.compact_once()? {
            merges += 1;
        }
        Ok(merges)
    }

    /// Stops background work and closes the WAL, fsyncing it.
    pub fn close(mut self) -> Result<()> {
        if let Some(m) = self.maintenance.take() {
            m.stop();
        }
        self.inner.closed.store(true, Ordering::Release);
        // Wait for in-flight appends and maintenance to finish.
        let _append = self.inner.append.lock();
        let _applied = self.inner.apply_gate.write();
        let _maintenance = self.inner.maintenance.lock();
        self.inner.wal.sync()?;
        self.inner.index.flush()?;
        // The shutdown snapshot: the next open replays no WAL at all.
        if let Some(captured) = self.inner.capture_checkpoint()? {
            self.inner.persist_checkpoint(captured)?;
        }
        Ok(())
    }

    /// Writes a head checkpoint now, so that the next open replays only the
    /// WAL written after it (the background thread takes one whenever the
    /// WAL has grown by a segment and by the last checkpoint's size, and
    /// `close` takes one). `None` when a head chunk is held in memory after
    /// a failed write, which a checkpoint cannot reference.
    pub fn checkpoint(&self) -> Result<Option<CheckpointStats>> {
        self.inner.check_open()?;
        let stats = self.inner.checkpoint()?;
        self.inner.truncate_wal()?;
        Ok(stats)
    }

    /// [`Storage::select`] within the limits of a query's hints.
    pub(crate) fn inner_select_limited(
        &self,
        matchers: &[crate::Matcher],
        mint: i64,
        maxt: i64,
        limits: &SelectLimits,
    ) -> Result<Vec<Series>> {
        self.inner.select_limited(matchers, mint, maxt, limits)
    }

    /// Each matching series' newest sample, within the limits of a query's hints.
    pub(crate) fn inner_select_newest(
        &self,
        matchers: &[crate::Matcher],
        mint: i64,
        maxt: i64,
        which: pulsedb_model::Newest,
        limits: &SelectLimits,
    ) -> Result<Vec<pulsedb_model::SeriesSample>> {
        self.inner.select_newest(matchers, mint, maxt, which, limits)
    }

    /// Window means within the limits of a query's hints, each series'
    /// handed to `visit` as they are read (`Querier::select_window_means`
    /// with `visit` = `Ok`, `Querier::map_window_means`).
    pub(crate) fn inner_map_window_means(
        &self,
        matchers: &[crate::Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        limits: &SelectLimits,
        visit: &MeansMap<'_>,
    ) -> Result<Vec<Series>> {
        self.inner.map_window_means(matchers, mint, maxt, resolution, limits, visit)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn stats(&self) -> Result<StorageStats> {
        self.inner.stats()
    }

    /// Makes the next matching block operation fail (tests only).
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn inject_fault(&self, fault: Fault) {
        self.inner.faults.arm(fault);
    }

    /// Makes the next matching WAL operation fail (tests only).
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn inject_wal_fault(&self, fault: pulsedb_wal::Fault) {
        self.inner.wal.inject_fault(fault);
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(m) = self.maintenance.take() {
            m.stop();
        }
    }
}

impl Inner {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn blocks_dir(&self) -> PathBuf {
        self.dir.join(BLOCKS_DIR)
    }

    fn blocks(&self) -> Arc<Vec<Arc<Block>>> {
        self.blocks.read().clone()
    }

    fn stats(&self) -> Result<StorageStats> {
        let blocks = self.blocks();
        let (mut head_chunks, mut head_mint) = (0, None::<i64>);
        for series in self.head.all() {
            let data = series.data.lock();
            head_chunks += data.chunk_count();
            if let Some(t) = data.mint() {
                head_mint = Some(head_mint.map_or(t, |m| m.min(t)));
            }
        }
        let segments = self.wal.segments()?;
        let wal_dir = self.dir.join(WAL_DIR);
        let wal_bytes = std::fs::read_dir(&wal_dir)
            .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0);
        let wal_stats = self.wal.stats();
        let c = &self.counters;
        let maxt = self.head.maxt();
        let head_maxt = (maxt != i64::MIN).then_some(maxt);
        // The samples' own bounds, not the windows the blocks span.
        let filled = || blocks.iter().map(|b| &b.meta().stats).filter(|s| s.samples > 0);
        let block_mint = filled().map(|s| s.data_mint).min();
        let block_maxt = filled().map(|s| s.data_maxt).max();
        Ok(StorageStats {
            mint: [head_mint, block_mint].into_iter().flatten().min(),
            maxt: [head_maxt, block_maxt].into_iter().flatten().max(),
            head_series: self.head.len(),
            head_chunks,
            head_memory_bytes: self.head.memory(),
            head_chunk_disk_bytes: self.head.store.disk_bytes(),
            head_mint,
            head_maxt,
            blocks: blocks.len(),
            block_samples: blocks.iter().map(|b| b.meta().stats.samples).sum(),
            block_bytes: blocks.iter().map(|b| b.size_on_disk()).sum(),
            wal_segments: segments.len(),
            wal_bytes,
            wal_fsyncs: wal_stats.fsyncs,
            wal_fsync_buckets: wal_stats.fsync_buckets.to_vec(),
            wal_fsync_seconds: wal_stats.fsync_nanos as f64 / 1e9,
            samples_appended: c.samples_appended.load(Ordering::Relaxed),
            samples_rejected: c.samples_rejected.load(Ordering::Relaxed),
            series_created: c.series_created.load(Ordering::Relaxed),
            blocks_written: c.blocks_written.load(Ordering::Relaxed),
            compactions: c.compactions.load(Ordering::Relaxed),
            blocks_deleted: c.blocks_deleted.load(Ordering::Relaxed),
        })
    }

    /// Seals `writer` and opens the block it wrote. Once the directory has
    /// its final name the block must end up registered (by the caller) or
    /// removed: a retry would otherwise write a second block for the same
    /// window, or a second child of the same parents, and open refuses
    /// overlapping blocks. So after an error past the rename the block is
    /// removed here, and if even that fails, before the next block is
    /// written (`remove_orphans`).
    fn seal_block(&self, writer: BlockWriter) -> Result<(Block, BlockMeta)> {
        let final_dir = writer.final_dir();
        #[cfg(any(test, feature = "fault-injection"))]
        if self.faults.take(Fault::BlockWriteNoSpace) {
            writer.abort();
            return Err(Faults::error(Fault::BlockWriteNoSpace, format!("writing block {}", final_dir.display())));
        }
        let result = writer.finish().and_then(|(path, meta)| {
            #[cfg(any(test, feature = "fault-injection"))]
            if self.faults.take(Fault::BlockOpenFails) {
                return Err(Faults::error(Fault::BlockOpenFails, format!("opening block {}", path.display())));
            }
            Ok((Block::open(&path)?, meta))
        });
        if let Err(e) = &result {
            self.discard_block(&final_dir, e);
        }
        result
    }

    /// Removes a block that failed after (or during) its rename into place,
    /// or remembers it as an orphan when that fails too.
    fn discard_block(&self, dir: &Path, cause: &Error) {
        if matches!(std::fs::symlink_metadata(dir), Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            // Never renamed into place; the writer cleaned up its temporary directory.
            return;
        }
        tracing::warn!(block = %dir.display(), error = %cause, "removing a block that could not be registered");
        if let Err(e) = self.remove_block_dir(dir) {
            tracing::error!(
                block = %dir.display(),
                error = %e,
                "could not remove an unregistered block; no block is written until it is removed"
            );
            self.orphans.lock().push(dir.to_path_buf());
        }
    }

    /// Removes the blocks `discard_block` could not; fails (so the caller
    /// writes no block) while one of them is still there.
    fn remove_orphans(&self) -> Result<()> {
        let mut orphans = self.orphans.lock();
        while let Some(dir) = orphans.last() {
            self.remove_block_dir(dir)?;
            tracing::info!(block = %dir.display(), "removed a block left unregistered by an earlier failure");
            orphans.pop();
        }
        Ok(())
    }

    /// Removes a block directory durably; gone already counts as removed (a
    /// removal that failed after renaming it to `.deleted-` is finished on open).
    fn remove_block_dir(&self, dir: &Path) -> Result<()> {
        if matches!(std::fs::symlink_metadata(dir), Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            return Ok(());
        }
        #[cfg(any(test, feature = "fault-injection"))]
        if self.faults.take(Fault::BlockRemoveFails) {
            return Err(Faults::error(Fault::BlockRemoveFails, format!("removing {}", dir.display())));
        }
        crate::fs::remove_dir_durable(dir)
    }

    /// Replaces the block list: drops `remove` (by ULID) and adds `add`.
    fn swap_blocks(&self, remove: &[String], add: Option<Arc<Block>>) {
        let mut guard = self.blocks.write();
        let mut next: Vec<Arc<Block>> = guard.iter().filter(|b| !remove.contains(&b.meta().ulid)).cloned().collect();
        next.extend(add);
        next.sort_by_key(|b| (b.meta().mint, b.meta().maxt));
        *guard = Arc::new(next);
    }
}
