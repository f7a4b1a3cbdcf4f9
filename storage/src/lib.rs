//! pulsedb's storage engine: chunk codecs, the in-memory head, immutable
//! on-disk blocks, the RocksDB label index, rollups, compaction and
//! retention, implementing the model's `Querier` and `Appender`. The public
//! surface is [`Storage`] and the types it speaks (the shared ones come from
//! `pulsedb-model` and are re-exported); everything else is crate-private.
//! See `ARCHITECTURE.md` for the map.

mod block;
mod check;
mod chunk;
mod codec;
mod engine;
mod error;
#[cfg(any(test, feature = "fault-injection"))]
mod fault;
mod fs;
mod head;
mod index;
mod inspect;
#[doc(hidden)]
pub mod internals;
mod options;
mod querier;
mod record;
mod rollup;
mod series_key;
mod tombstones;

pub use check::{check, CheckReport};
pub use chunk::Codec;
pub use engine::{CheckpointStats, SnapshotStats, Storage, StorageStats, WalBatch, WalBatches, WalPosition, WalSeries};
pub use error::{Error, Result};
#[cfg(any(test, feature = "fault-injection"))]
#[doc(hidden)]
pub use fault::Fault;
pub use inspect::{inspect, repair_wal, BlockInfo, Inspection};
pub use options::{Options, SyncMode};
pub use pulsedb_model::{
    Batch, Label, LabelLimits, Labels, MatchOp, Matcher, RollupBucket, RollupFields, RollupSeries, Sample, Series,
    SeriesRef, RESOLUTIONS, STALE_NAN,
};
pub use pulsedb_wal::FSYNC_BUCKETS_SECONDS as WAL_FSYNC_BUCKETS_SECONDS;
pub use querier::StorageAppender;
