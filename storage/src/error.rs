//! The storage crate's error type: every failure a caller can see, typed,
//! with the file, offset or series it concerns.

use std::io;
use std::path::PathBuf;

/// Errors of the storage engine.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A WAL failure other than poisoning (which becomes [`Error::Poisoned`]).
    #[error("write-ahead log: {0}")]
    Wal(#[source] pulsedb_wal::Error),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// A failure of the RocksDB label index. The source is boxed so that no
    /// RocksDB type is part of this crate's API (its version is pinned).
    #[error("label index: {context}: {source}")]
    Index {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// Stored bytes that fail a checksum or do not decode.
    #[error("corruption in {file} at byte {offset}: {kind}")]
    Corruption { file: PathBuf, offset: u64, kind: String },

    #[error("{file}: format version {version} is not supported (this build reads version {supported})")]
    UnsupportedVersion { file: PathBuf, version: u32, supported: u32 },

    /// A series handle whose series is no longer in the head (it held no
    /// recent samples and was dropped, or was never created): resolve its
    /// labels again.
    #[error(
        "series ref {series} is not in the head: its series was dropped (no recent samples) or never \
         created; resolve its labels again"
    )]
    StaleSeriesHandle { series: u64 },

    /// A series handle another database issued.
    #[error("series ref {series} was issued by another database (or an earlier open of this one)")]
    ForeignSeriesHandle { series: u64 },

    /// A series whose labels break the rules (see `LabelLimits`).
    #[error("invalid series {series}: {reason}")]
    InvalidSeries { series: String, reason: String },

    /// A sample further behind the series' newest one than the out-of-order window allows.
    #[error(
        "sample for {series} at t={timestamp} is too old: out-of-order samples must be at or after \
         t={min_allowed} (the series' newest sample t={newest} minus the out-of-order window)"
    )]
    OutOfOrder { series: String, timestamp: i64, newest: i64, min_allowed: i64 },

    /// A sample in a time range already written to blocks.
    #[error(
        "sample for {series} at t={timestamp} is out of bounds: data before t={min_valid} is already \
         written to blocks"
    )]
    OutOfBounds { series: String, timestamp: i64, min_valid: i64 },

    /// A sample further ahead of the wall clock than `Options::max_future` allows.
    #[error(
        "sample for {series} at t={timestamp} is too far in the future: the limit is t={max_allowed} \
         (now plus max_future)"
    )]
    TooFarInFuture { series: String, timestamp: i64, max_allowed: i64 },

    /// A model value built from bad input (a matcher whose regex does not compile).
    #[error(transparent)]
    Model(#[from] pulsedb_model::Error),

    /// What a caller's visitor of the series read returned
    /// (`Querier::map_window_means`), handed back as it was.
    #[error(transparent)]
    Caller(pulsedb_model::StoreError),

    #[error("invalid options: {0}")]
    InvalidOptions(String),

    /// Another process (or another `Db` in this one) has the directory open.
    #[error("data directory {path} is locked: another pulsedb instance has it open")]
    Locked { path: PathBuf },

    /// Too many active series; appends for new series are refused.
    #[error(
        "series limit reached: {active} active series, the limit is {limit}; new series are rejected (first: {series})"
    )]
    SeriesLimit { series: String, active: usize, limit: usize },

    /// Too many series entered the head in the last minute
    /// (`max_new_series_per_minute`); appends for new series are refused
    /// until older ones age out of the window.
    #[error(
        "series creation limit reached: {created} series were created in the last minute, the limit is {limit} \
         per minute; new series are rejected (first: {series})"
    )]
    SeriesRateLimit { series: String, created: usize, limit: usize },

    /// A write failed in a way that makes further writes unsafe (a failed
    /// WAL fsync: the kernel may have dropped the data and forgotten the
    /// error). Every later append fails with this too; reads keep working.
    /// Reopening the directory recovers what is on disk.
    #[error("storage is poisoned by an earlier failure and accepts no more writes: {0}")]
    Poisoned(String),

    #[error("storage is closed")]
    Closed,
}

impl From<pulsedb_wal::Error> for Error {
    fn from(e: pulsedb_wal::Error) -> Self {
        match e {
            pulsedb_wal::Error::Poisoned { ref source, .. } => Error::Poisoned(format!("{e} ({source})")),
            e => Error::Wal(e),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    pub(crate) fn index(context: impl Into<String>, source: rocksdb::Error) -> Self {
        Error::Index { context: context.into(), source: Box::new(source) }
    }

    pub(crate) fn corruption(file: impl Into<PathBuf>, offset: u64, kind: impl Into<String>) -> Self {
        Error::Corruption { file: file.into(), offset, kind: kind.into() }
    }
}

/// Adds a context string to io results.
pub(crate) trait IoContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::result::Result<T, io::Error> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}
