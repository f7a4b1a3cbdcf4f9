//! Power cuts, simulated. A `kill -9` keeps the page cache, so crash tests
//! built on it never see what a power cut does: every byte not yet fsynced
//! is gone, and so is every directory entry whose directory was not
//! fsynced after it changed.
//!
//! pulsedb's WAL and storage route each durability point through this
//! crate: [`sync_file`] (fsync/fdatasync of a file), [`sync_dir`] (fsync of
//! a directory) and [`index_synced`] (the RocksDB label index made
//! durable). With no [`PowerCut`] installed these are the plain call plus
//! one atomic load. A test installs a [`PowerCut`] on a data directory; from
//! then on every durability point under it records what a power cut would
//! keep, and at a chosen point (the n-th sync, or on demand) the sim
//! freezes that as an image, which [`PowerCut::materialize`] writes out as
//! the directory a machine would find after rebooting:
//! - a file holds the bytes it had at its last fsync, optionally followed
//!   by a random prefix of the bytes written since (a torn tail: some
//!   unsynced pages did reach the disk);
//! - a directory holds the entries it had at its last fsync (keyed by
//!   inode, so a directory renamed after it was synced keeps its content);
//!   an entry never made durable is not there, a removal never made
//!   durable is undone;
//! - the label index is the RocksDB checkpoint taken at its last sync (or
//!   what it was when the sim was installed).
//!
//! The model assumes pulsedb's own files are append-only or written once
//! (true of WAL segments, block files, `meta.json` and tombstones); a file
//! shrunk by truncation is read again in full at its next sync.

mod image;
mod registry;
mod sim;
mod state;

pub use sim::{CutOptions, PowerCut};

use std::fs::File;
use std::io;
use std::path::Path;

/// Runs `sync` (an fsync or fdatasync of `file`) and, if `file` lies under
/// an installed [`PowerCut`], records its bytes as durable.
pub fn sync_file(file: &File, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    match registry::sim_for_file(file) {
        None => sync(),
        Some(sim) => sim.sync_file(file, sync),
    }
}

/// Runs `sync` (an fsync of directory `dir`) and, if `dir` lies under an
/// installed [`PowerCut`], records its entries as durable.
pub fn sync_dir(dir: &Path, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    match registry::sim_for_path(dir) {
        None => sync(),
        Some(sim) => sim.sync_dir(dir, sync),
    }
}

/// Tells an installed [`PowerCut`] that the RocksDB database in `dir` was
/// just made durable; it calls `checkpoint` with a directory that does not
/// exist yet, to take a consistent copy (a RocksDB checkpoint) that stands
/// for the index in an image. Without a sim, does nothing.
pub fn index_synced<E>(dir: &Path, checkpoint: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), E> {
    match registry::sim_for_path(dir) {
        None => Ok(()),
        Some(sim) => sim.index_synced(dir, checkpoint),
    }
}
