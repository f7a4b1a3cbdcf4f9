//! The crate's one error type, the kinds of corruption, and a helper that
//! attaches "what were we doing, on which path" to I/O errors.

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::wal::Position;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the WAL.
///
/// Messages name what was wrong and where (segment number, byte offset,
/// path); the underlying cause, if any, is available through
/// [`std::error::Error::source`].
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// An I/O operation failed. `context` says what was being done, with the path.
    #[error("I/O error while {context}")]
    Io {
        /// What was being done, e.g. `"writing a frame to /data/wal/00000003.wal at offset 4096"`.
        context: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A segment holds bytes that are not a valid frame or header, in a place
    /// where the WAL cannot assume a torn write (anywhere but the tail of the
    /// last segment), or segments are missing.
    #[error("corrupt WAL: segment {segment:08}.wal at byte offset {offset}: {kind}")]
    Corruption {
        /// Number of the segment holding the bad bytes (the missing one for
        /// [`CorruptionKind::MissingSegment`]).
        segment: u64,
        /// Byte offset within the segment file where the bad frame or header starts.
        offset: u64,
        /// What exactly is wrong.
        kind: CorruptionKind,
    },

    /// A reader asked for a segment that was deleted (truncated) before it
    /// held it; what it held stays until released.
    #[error("WAL segment {segment:08}.wal is gone: it was truncated before this reader held it")]
    SegmentGone {
        /// Number of the segment.
        segment: u64,
    },

    /// A segment was written by a format version this build does not know.
    #[error("WAL segment {segment:08}.wal has format version {version}, this build reads only version 1")]
    UnsupportedVersion {
        /// Number of the segment.
        segment: u64,
        /// The version byte found in its header.
        version: u8,
    },

    /// An earlier fsync (or the clean-up of a failed write) failed, so what is
    /// on disk is unknown; the WAL refuses every later write, sync and rotate.
    /// Reopen the WAL to recover: replay shows what actually reached the disk.
    #[error("WAL is poisoned: {context} failed, so no further writes are accepted; reopen the WAL to recover")]
    Poisoned {
        /// The operation that failed first, with the path.
        context: Arc<str>,
        /// The error of that first failure (shared by every `Poisoned` error).
        #[source]
        source: Arc<io::Error>,
    },

    /// The `replay` callback given to [`Wal::open`](crate::Wal::open) returned an error.
    #[error("replay callback failed on the frame ending at segment {} offset {}", position.segment, position.offset)]
    Replay {
        /// End position of the frame the callback rejected.
        position: Position,
        /// The callback's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A payload longer than [`MAX_FRAME_LEN`](crate::MAX_FRAME_LEN) bytes.
    #[error("frame payload of {len} bytes exceeds the limit of {} bytes", crate::MAX_FRAME_LEN)]
    FrameTooLarge {
        /// The payload's length in bytes.
        len: usize,
    },

    /// An empty payload: frames carry at least one byte, so that a run of
    /// zero bytes on disk can never look like a valid frame.
    #[error("frame payload is empty; frames must carry at least one byte")]
    EmptyFrame,

    /// [`WalOptions`](crate::WalOptions) that cannot work.
    #[error("invalid WAL options: {reason}")]
    InvalidOptions {
        /// What is wrong with them.
        reason: &'static str,
    },
}

/// What is wrong with the bytes at a [`Error::Corruption`] site.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CorruptionKind {
    /// The 8-byte segment header is not `PWAL`, version, three zero bytes.
    BadHeader,
    /// A frame's length field is 0 or larger than [`MAX_FRAME_LEN`](crate::MAX_FRAME_LEN).
    BadLength,
    /// The file ends inside a frame header or payload.
    Truncated,
    /// A frame's CRC does not match its length and payload.
    BadChecksum,
    /// A segment number between the first and the last segment has no file.
    MissingSegment,
}

impl fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadHeader => "bad segment header",
            Self::BadLength => "frame length is zero or over the limit",
            Self::Truncated => "file ends inside a frame",
            Self::BadChecksum => "frame checksum mismatch",
            Self::MissingSegment => "segment file is missing",
        })
    }
}

/// Attaches a description of the operation (and its path) to an I/O error.
pub(crate) trait IoContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io { context: what(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let e = Error::Corruption { segment: 3, offset: 4096, kind: CorruptionKind::BadChecksum };
        assert_eq!(e.to_string(), "corrupt WAL: segment 00000003.wal at byte offset 4096: frame checksum mismatch");
        let e: Result<()> = Err(io::Error::other("disk on fire")).context(|| "syncing x".into());
        let Err(e) = e else { panic!("context must keep the error") };
        assert_eq!(e.to_string(), "I/O error while syncing x");
        assert_eq!(std::error::Error::source(&e).map(ToString::to_string), Some("disk on fire".to_owned()));
    }
}
