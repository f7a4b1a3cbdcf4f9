//! pulsedb's storage engine: the data model, chunk codecs, the in-memory
//! head, immutable on-disk blocks, the RocksDB label index, compaction and
//! retention. The public surface is [`Storage`] and the types it speaks;
//! everything else is crate-private. See `ARCHITECTURE.md` for the map.

mod batch;
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
mod labels;
mod matcher;
mod options;
mod querier;
mod record;
mod rollup;

pub use batch::Batch;
pub use check::{check, CheckReport};
pub use chunk::Codec;
pub use engine::{Series, Storage, StorageStats};
pub use error::{Error, Result};
#[cfg(any(test, feature = "fault-injection"))]
#[doc(hidden)]
pub use fault::Fault;
pub use inspect::{inspect, repair_wal, BlockInfo, Inspection};
pub use labels::{Label, LabelLimits, Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher};
pub use options::{Options, SyncMode};
pub use pulsedb_wal::FSYNC_BUCKETS_SECONDS as WAL_FSYNC_BUCKETS_SECONDS;
pub use querier::Querier;
pub use rollup::{RollupBucket, RollupFields, RollupSeries, RESOLUTIONS, STALE_NAN};

/// One sample: a timestamp in milliseconds since the Unix epoch and a value.
/// Any f64 is legal, NaN included (Prometheus marks staleness with a NaN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}

impl Sample {
    pub fn new(t: i64, v: f64) -> Self {
        Self { t, v }
    }
}

/// Identifies a series for its whole life in one data directory; never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesRef(pub u64);
