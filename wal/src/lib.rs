//! The pulsedb write-ahead log: frames, checksums, fsyncs and replays opaque
//! byte payloads. It knows nothing of samples or series; `pulsedb-storage`
//! encodes its records into the payloads.
//!
//! A WAL is a directory of segment files (`00000001.wal`, `00000002.wal`, …),
//! each an 8-byte header followed by frames (`len`, `crc`, payload). The byte
//! layout is in `docs/format/wal.md`.
//!
//! ```no_run
//! use pulsedb_wal::{SyncMode, Wal, WalOptions};
//!
//! # fn main() -> pulsedb_wal::Result<()> {
//! let mut replayed = 0;
//! let wal = Wal::open("data/wal", WalOptions::new().with_sync(SyncMode::Always), |_pos, _payload| {
//!     replayed += 1; // decode the record and apply it
//!     Ok::<(), std::convert::Infallible>(())
//! })?;
//! let pos = wal.append(b"an encoded record")?; // durable when this returns
//! wal.rotate()?;                               // checkpoint boundary
//! wal.truncate_before(pos.segment + 1)?;       // after the checkpoint is safe
//! wal.close()?;
//! # Ok(())
//! # }
//! ```
//!
//! Durability is chosen per WAL with [`SyncMode`]; each variant says what
//! survives a process crash and what survives a power loss. A failed fsync
//! poisons the WAL ([`Error::Poisoned`]); reopen it to recover.
//!
//! Modules:
//! - `wal`: the public [`Wal`] handle, [`WalOptions`], [`Position`].
//! - `writer`: the write path: frames to the current segment, rotation,
//!   group commit, deleting old segments.
//! - `sync`: [`SyncMode`] and the interval-sync thread.
//! - `replay`: open, replay and the torn-tail policy.
//! - `repair`: offline [`repair`].
//! - `verify`: reads every segment and reports damage without changing it.
//! - `tail`: [`WalTail`], reading frames after a position as the log grows,
//!   and [`SegmentHold`], keeping segments from truncation.
//! - `reader`: reads one segment and reports how it ends.
//! - `segment`: segment file names, header, listing.
//! - `frame`: the pure frame codec.
//! - `file`: every filesystem call, and fault injection.
//! - `poison`: the poison flag.
//! - `error`: [`Error`], [`CorruptionKind`].

mod error;
mod file;
mod frame;
mod poison;
mod reader;
mod repair;
mod replay;
mod segment;
mod sync;
mod tail;
mod verify;
mod wal;
mod writer;

pub use crate::error::{CorruptionKind, Error, Result};
pub use crate::file::FSYNC_BUCKETS_SECONDS;
pub use crate::frame::MAX_FRAME_LEN;
pub use crate::repair::{repair, CorruptionSite, RepairReport};
pub use crate::sync::SyncMode;
pub use crate::tail::{SegmentHold, WalTail};
pub use crate::verify::{verify, VerifyReport};
pub use crate::wal::{Position, Wal, WalOptions, WalStats};

// The pure frame codec, for fuzz targets and benches only.
#[doc(hidden)]
pub use crate::frame::{decode_frame, encode_frame, FrameError, FRAME_HEADER_LEN};

#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub use crate::file::Fault;
