//! [`Appender`]: the write contract between storage and whatever produces
//! samples inside the process (recording rules, importers). Samples
//! appended are invisible until [`Appender::commit`], which makes them
//! durable and visible together, or not at all.
//!
//! Appending by series reference (resolve a label set once, then append by
//! its [`crate::SeriesRef`]) is the write-path issue's; it will be a further
//! method with a default, so implementations written now keep compiling.

use crate::{Labels, StoreError};

/// A transaction of samples for one store. Dropping an appender without
/// committing discards what it holds, like [`Appender::rollback`].
pub trait Appender: Send {
    /// Adds a sample of the series `labels` (milliseconds, any f64). Checks
    /// that need the store (limits, out-of-order) happen at commit, so one
    /// bad sample refuses the whole transaction.
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), StoreError>;

    /// Number of samples held and not yet committed.
    fn pending(&self) -> usize;

    /// Makes every held sample durable and visible atomically, then starts
    /// an empty transaction. On error nothing was stored and the samples
    /// are dropped.
    fn commit(&mut self) -> Result<(), StoreError>;

    /// Drops every held sample.
    fn rollback(&mut self);
}
