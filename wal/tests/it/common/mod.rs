//! Helpers shared by the integration tests (each test binary uses a subset).
#![allow(dead_code)]

use std::convert::Infallible;
use std::path::Path;

use pulsedb_wal::{Position, Result, Wal, WalOptions};

/// Replayed frames: end position and payload.
pub(crate) type Frames = Vec<(Position, Vec<u8>)>;

/// Opens the WAL and returns it with every replayed frame, in order.
pub(crate) fn open_collect(dir: &Path, options: WalOptions) -> Result<(Wal, Frames)> {
    let mut frames = Vec::new();
    let wal = Wal::open(dir, options, |pos, payload| {
        frames.push((pos, payload.to_vec()));
        Ok::<(), Infallible>(())
    })?;
    Ok((wal, frames))
}

/// Opens the WAL, returns the replayed payloads, and closes it again.
pub(crate) fn replay_payloads(dir: &Path) -> Result<Vec<Vec<u8>>> {
    let (wal, frames) = open_collect(dir, WalOptions::default())?;
    wal.close()?;
    Ok(frames.into_iter().map(|(_, payload)| payload).collect())
}

/// Options for tests that do not care about durability: no fsync per frame.
pub(crate) fn fast() -> WalOptions {
    WalOptions::new().with_sync(pulsedb_wal::SyncMode::Never)
}

pub(crate) fn file_len(dir: &Path, segment: u64) -> u64 {
    std::fs::metadata(dir.join(format!("{segment:08}.wal"))).map(|m| m.len()).expect("segment file exists")
}
