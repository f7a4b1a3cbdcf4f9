//! Reads one segment file front to back, handing each intact frame to a
//! callback, and says how the segment ends: cleanly, or where the first bad
//! frame starts and why. It decides nothing; replay (`replay.rs`) and repair
//! (`repair.rs`) apply their own policies to the answer.

#![deny(clippy::indexing_slicing)]

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{CorruptionKind, Error, IoContext, Result};
use crate::file::Fs;
use crate::frame::{self, FRAME_HEADER_LEN};
use crate::segment::{self, HeaderError, SEGMENT_HEADER_LEN};
use crate::wal::Position;

/// How a segment file ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SegmentEnd {
    /// Every byte after the header belongs to an intact frame.
    Clean,
    /// The header never made it to disk: the file is shorter than a header or
    /// all zero. The segment holds no frames.
    TornHeader { len: u64, kind: CorruptionKind },
    /// The bytes from `offset` (the start of a frame, or 0 for a header that
    /// is not ours) to `len` are not intact frames.
    Corrupt { offset: u64, kind: CorruptionKind, len: u64 },
}

/// Reads segment `number` from `file` (opened at `path`), calling `on_frame`
/// with each intact frame's end position and payload, in order, up to the
/// first bad byte. Errors from `on_frame` stop the read and are returned.
///
/// An unknown format version is an error, not a [`SegmentEnd`]: those bytes
/// may be perfectly good, and no policy may cut them.
pub(crate) fn read_segment(
    fs: &Fs,
    file: &File,
    number: u64,
    path: &Path,
    mut on_frame: impl FnMut(Position, &[u8]) -> Result<()>,
) -> Result<SegmentEnd> {
    let reading = || format!("reading WAL segment {}", path.display());
    let len = fs.len(file).context(reading)?;
    let mut reader = fs.reader(file);

    if len < SEGMENT_HEADER_LEN {
        return Ok(SegmentEnd::TornHeader { len, kind: CorruptionKind::Truncated });
    }
    let mut header = [0; SEGMENT_HEADER_LEN as usize];
    reader.read_exact(&mut header).context(reading)?;
    match segment::decode_header(header) {
        Ok(_version) => {}
        Err(HeaderError::AllZero) => {
            return Ok(if rest_is_zero(&mut reader).context(reading)? {
                SegmentEnd::TornHeader { len, kind: CorruptionKind::BadHeader }
            } else {
                SegmentEnd::Corrupt { offset: 0, kind: CorruptionKind::BadHeader, len }
            });
        }
        Err(HeaderError::Bad) => return Ok(SegmentEnd::Corrupt { offset: 0, kind: CorruptionKind::BadHeader, len }),
        Err(HeaderError::UnsupportedVersion(version)) => {
            return Err(Error::UnsupportedVersion { segment: number, version })
        }
    }

    let mut offset = SEGMENT_HEADER_LEN;
    let mut payload = Vec::new();
    loop {
        let remaining = len - offset;
        if remaining == 0 {
            return Ok(SegmentEnd::Clean);
        }
        let corrupt = |kind| SegmentEnd::Corrupt { offset, kind, len };
        if remaining < FRAME_HEADER_LEN as u64 {
            return Ok(corrupt(CorruptionKind::Truncated));
        }
        let mut frame_header = [0; FRAME_HEADER_LEN];
        reader.read_exact(&mut frame_header).context(reading)?;
        let frame_header = match frame::decode_header(frame_header) {
            Ok(h) => h,
            Err(e) => return Ok(corrupt(e.corruption_kind())),
        };
        // Checked before allocating, so a garbage length cannot make us
        // allocate more than the file holds.
        if u64::from(frame_header.len) > remaining - FRAME_HEADER_LEN as u64 {
            return Ok(corrupt(CorruptionKind::Truncated));
        }
        payload.resize(frame_header.payload_len(), 0);
        reader.read_exact(&mut payload).context(reading)?;
        if let Err(e) = frame_header.verify(&payload) {
            return Ok(corrupt(e.corruption_kind()));
        }
        offset += FRAME_HEADER_LEN as u64 + u64::from(frame_header.len);
        on_frame(Position { segment: number, offset }, &payload)?;
    }
}

fn rest_is_zero(reader: &mut impl Read) -> std::io::Result<bool> {
    let mut chunk = vec![0; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        match chunk.get(..n) {
            None | Some([]) => return Ok(true),
            Some(read) if read.iter().any(|&b| b != 0) => return Ok(false),
            Some(_) => {}
        }
    }
}
