//! [`Appender`]: the write contract between storage and whatever produces
//! samples inside the process (recording rules, importers). Samples
//! appended are invisible until [`Appender::commit`], which makes them
//! durable and visible together, or not at all.
//!
//! A caller that appends to the same series again and again resolves its
//! label set once ([`Appender::resolve`]) and then appends by the handle
//! ([`Appender::append_by_handle`]): no labels to copy, hash or compare per
//! sample, as Prometheus' `storage.Appender` appends by series reference.

use crate::{Labels, SeriesHandle, StoreError};

/// A transaction of samples for one store. Dropping an appender without
/// committing discards what it holds, like [`Appender::rollback`].
pub trait Appender: Send {
    /// Adds a sample of the series `labels` (milliseconds, any f64). Checks
    /// that need the store (limits, out-of-order) happen at commit, so one
    /// bad sample refuses the whole transaction.
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), StoreError>;

    /// A handle for the series `labels`, creating the series (durably, with
    /// no samples) if the store does not have it yet. A store may forget a
    /// handle's series once it holds no recent samples: appending by it then
    /// fails with a typed error at commit, and the caller resolves again.
    fn resolve(&mut self, labels: &Labels) -> Result<SeriesHandle, StoreError>;

    /// Adds a sample of the series `handle` names, as [`Appender::append`]
    /// does by labels. A handle the store did not issue, or whose series it
    /// has forgotten, refuses the transaction at commit with a typed error.
    fn append_by_handle(&mut self, handle: SeriesHandle, t: i64, v: f64) -> Result<(), StoreError>;

    /// Number of samples held and not yet committed.
    fn pending(&self) -> usize;

    /// Makes every held sample durable and visible atomically, then starts
    /// an empty transaction. On error nothing was stored and the samples
    /// are dropped.
    fn commit(&mut self) -> Result<(), StoreError>;

    /// Drops every held sample.
    fn rollback(&mut self);
}
