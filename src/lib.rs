//! pulsedb: an embedded, high-throughput metrics store.
//!
//! Open a data directory with [`Db::open`], append [`Batch`]es of samples,
//! read them back with [`Db::select`]. Writes are durable when `append`
//! returns (under the default [`SyncMode::Always`]); a crash never loses an
//! acknowledged sample.
//!
//! ```no_run
//! use pulsedb::{Batch, Db, Labels, Matcher, Options};
//!
//! # fn main() -> pulsedb::Result<()> {
//! let db = Db::open("pulsedb-data", Options::default())?;
//! let mut batch = Batch::new();
//! batch.push(Labels::metric("cpu_usage", [("host", "a")]), 1_700_000_000_000, 42.5);
//! db.append(&batch)?;
//! let series = db.select(&[Matcher::equal("host", "a")], 0, i64::MAX)?;
//! assert_eq!(series[0].samples[0].v, 42.5);
//! db.close()?;
//! # Ok(())
//! # }
//! ```

mod anomalies;
mod metadata;

use std::path::Path;

pub use anomalies::{AnomalousSeries, AnomalyRequest};

pub use pulsedb_model::{
    is_valid_label_name, Appender, Batch, Label, LabelLimits, Labels, MatchOp, Matcher, MetricMetadata, MetricType,
    Newest, Querier, RollupBucket, RollupFields, RollupSeries, Row, Sample, SelectHints, Series, SeriesHandle,
    SeriesRef, SeriesSample, Shard, StoreError, METRIC_NAME, STALE_NAN,
};
pub use pulsedb_query::{
    function_names as query_function_names, parse as parse_query, parse_matchers, Engine, EngineOptions,
    Error as QueryError, Expr, InstantSample, Point, SeriesPoints, Value, ValueType, ANOMALOUS,
    MAX_DEPTH as QUERY_MAX_DEPTH, STACK_SIZE as QUERY_STACK_SIZE,
};
use pulsedb_storage::Storage;
pub use pulsedb_storage::{
    CheckpointStats, Codec, Error, Options, Result, SnapshotStats, StorageStats, SyncMode, WalBatch, WalBatches,
    WalPosition, WalSeries, WAL_FSYNC_BUCKETS_SECONDS,
};

/// An open pulsedb database. `Db` is `Send + Sync`: share it (by reference
/// or in an `Arc`) between any number of writer and reader threads.
#[derive(Debug)]
pub struct Db {
    storage: Storage,
    engine: Engine,
    metadata: metadata::MetadataStore,
}

impl Db {
    /// Opens the database in `path`, creating the directory if needed. A
    /// lock file makes a second open of the same directory fail with
    /// [`Error::Locked`]. Recovery replays the write-ahead log.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        let storage = Storage::open(path.as_ref(), options)?;
        let metadata = metadata::MetadataStore::open(path.as_ref())?;
        Ok(Self { storage, engine: Engine::default(), metadata })
    }

    /// Durable appended batches after `from` (`None`: the oldest WAL segment
    /// on disk), for forwarding them elsewhere; see [`WalBatches`].
    pub fn wal_batches(&self, from: Option<WalPosition>) -> Result<WalBatches> {
        self.storage.wal_batches(from)
    }

    /// The end of the newest durable batch in the WAL.
    pub fn wal_end(&self) -> WalPosition {
        self.storage.wal_end()
    }

    /// The WAL's segments on disk (number, bytes), oldest first.
    pub fn wal_segments(&self) -> Result<Vec<(u64, u64)>> {
        self.storage.wal_segments()
    }

    /// Releases the segments [`Options::wal_hold_from`] kept at open.
    pub fn release_startup_wal_hold(&self) {
        self.storage.release_startup_wal_hold()
    }

    /// Keeps metric metadata (type, help, unit per metric family), the latest
    /// first; kept in the data directory across restarts.
    pub fn record_metadata(&self, items: &[MetricMetadata]) -> Result<()> {
        self.metadata.record(items)
    }

    /// The metadata kept for `metric` (or every family), at most `limit`
    /// families and `limit_per_metric` entries each, in name order.
    pub fn metadata(
        &self,
        metric: Option<&str>,
        limit: Option<usize>,
        limit_per_metric: Option<usize>,
    ) -> Vec<(String, Vec<MetricMetadata>)> {
        self.metadata.get(metric, limit, limit_per_metric)
    }

    /// Appends a batch atomically; returns once it is durable (see [`SyncMode`]).
    pub fn append(&self, batch: &Batch) -> Result<()> {
        self.storage.append(batch)
    }

    /// A handle for the series `labels`, to append by
    /// ([`Batch::add_by_handle`]) without hashing and comparing its labels
    /// each time; the series is created if new. See
    /// [`Storage::resolve`](pulsedb_storage::Storage::resolve) for when a
    /// handle goes stale (a typed error, never another series).
    pub fn resolve(&self, labels: &Labels) -> Result<SeriesHandle> {
        self.storage.resolve(labels)
    }

    /// A transaction of samples ([`Appender`]): appended samples become
    /// durable and visible together at `commit`, or not at all.
    pub fn appender(&self) -> impl Appender + '_ {
        self.storage.appender()
    }

    /// Series matching all `matchers`, with their samples in `[mint, maxt]`
    /// (milliseconds since the Unix epoch, inclusive), in time order.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>> {
        self.storage.select(matchers, mint, maxt)
    }

    /// Label sets of the series matching `matchers` with samples in `[mint, maxt]`.
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>> {
        self.storage.series(matchers, mint, maxt)
    }

    /// Every label name in use, sorted.
    pub fn label_names(&self) -> Result<Vec<String>> {
        self.storage.label_names()
    }

    /// Values of `name` among the series matching `matchers` (all series if empty).
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        self.storage.label_values(name, matchers)
    }

    /// Writes every finished window of the in-memory head to an on-disk
    /// block now. Returns the number of blocks written.
    pub fn flush(&self) -> Result<usize> {
        self.storage.flush()
    }

    /// Writes every window of the head ending at or before `t` as a
    /// block, passed by a newer sample or not (see
    /// [`Storage::flush_ending_by`](pulsedb_storage::Storage::flush_ending_by)).
    pub fn flush_ending_by(&self, t: i64) -> Result<usize> {
        self.storage.flush_ending_by(t)
    }

    /// Merges blocks into longer spans as the background compaction does,
    /// without applying retention; returns the merges done.
    pub fn compact_blocks(&self) -> Result<usize> {
        self.storage.compact_blocks()
    }

    /// Runs compaction and retention now instead of waiting for the background thread.
    pub fn compact(&self) -> Result<()> {
        self.storage.compact()
    }

    /// Evaluates a PromQL query at instant `t` (milliseconds).
    pub fn query(&self, query: &str, t: i64) -> Result<Value, QueryError> {
        self.engine.instant(self, query, t)
    }

    /// Evaluates a PromQL query at every `step` from `start` to `end`
    /// (milliseconds, inclusive); the result is a matrix sorted by labels.
    pub fn query_range(&self, query: &str, start: i64, end: i64, step: i64) -> Result<Value, QueryError> {
        self.engine.range(self, query, start, end, step)
    }

    /// Uses `options` (lookback, limits, timeout) for later queries.
    pub fn set_query_options(&mut self, options: EngineOptions) {
        self.engine = Engine::new(options);
    }

    /// Rollup buckets of `resolution` (1 min or 1 h) starting within `[mint, maxt]`.
    pub fn select_rollups(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        fields: RollupFields,
    ) -> Result<Option<Vec<RollupSeries>>> {
        self.storage.select_rollups(matchers, mint, maxt, resolution, fields)
    }

    /// Deletes the samples in `[mint, maxt]` (milliseconds, inclusive) of
    /// every series matching `matchers`: durable when this returns, never
    /// read again, left out of blocks written from now on. Returns how many
    /// series matched.
    pub fn delete_series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize> {
        self.storage.delete_series(matchers, mint, maxt)
    }

    /// Writes a consistent copy of the database to `dest` (which must not
    /// exist, on the same filesystem) while writes go on: every sample
    /// acknowledged before the call is in it, and [`Db::open`] opens it as
    /// is. `skip_head` keeps only what is already in blocks.
    pub fn snapshot(&self, dest: impl AsRef<Path>, skip_head: bool) -> Result<SnapshotStats> {
        self.storage.snapshot(dest.as_ref(), skip_head)
    }

    /// Writes a head checkpoint now, so that the next open replays only the
    /// write-ahead log written after it. The background thread takes one
    /// whenever the log has grown enough, and [`Db::close`] takes one, so
    /// calling this is only useful right before a planned hard stop.
    /// `None` when a head chunk is held in memory after a failed write.
    pub fn checkpoint(&self) -> Result<Option<CheckpointStats>> {
        self.storage.checkpoint()
    }

    /// Counters and sizes, for monitoring.
    pub fn stats(&self) -> Result<StorageStats> {
        self.storage.stats()
    }

    /// Stops background work and syncs everything to disk.
    pub fn close(self) -> Result<()> {
        let kept = self.metadata.flush();
        self.storage.close()?;
        kept
    }
}

impl Querier for Db {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StoreError> {
        Querier::select(&self.storage, matchers, hints)
    }

    fn select_newest(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<SeriesSample>, StoreError> {
        Querier::select_newest(&self.storage, matchers, hints)
    }

    fn select_rollups(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        resolution: i64,
        fields: RollupFields,
    ) -> Result<Option<Vec<RollupSeries>>, StoreError> {
        Querier::select_rollups(&self.storage, matchers, mint, maxt, resolution, fields)
    }

    fn select_window_means(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
        resolution: i64,
    ) -> Result<Vec<Series>, StoreError> {
        Querier::select_window_means(&self.storage, matchers, hints, resolution)
    }

    fn map_window_means(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
        resolution: i64,
        visit: &pulsedb_model::MeansVisitor<'_>,
    ) -> Result<Vec<Series>, StoreError> {
        Querier::map_window_means(&self.storage, matchers, hints, resolution, visit)
    }
}
