//! Reading the log while it is written: [`WalTail`] yields the frames after
//! a position, in order, up to what is durable, and follows the log across
//! segments as it grows; [`SegmentHold`] keeps segments from truncation
//! while a reader still needs them. Forwarding to other stores reads the
//! WAL this way, from a position it saved.

#![deny(clippy::indexing_slicing)]

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use crate::error::{CorruptionKind, Error, IoContext, Result};
use crate::frame::{self, FRAME_HEADER_LEN};
use crate::segment::{self, HeaderError, SEGMENT_HEADER_LEN};
use crate::wal::Position;
use crate::writer::Writer;

/// Keeps a segment and every later one from being deleted by
/// [`Wal::truncate_before`](crate::Wal::truncate_before) until it is dropped
/// or moved past them.
#[derive(Debug)]
pub struct SegmentHold {
    writer: Arc<Writer>,
    id: u64,
}

impl SegmentHold {
    pub(crate) fn new(writer: Arc<Writer>, segment: u64) -> Self {
        let id = writer.hold(segment);
        Self { writer, id }
    }

    /// Lets segments before `segment` go (a hold only ever moves forward).
    pub fn release_before(&self, segment: u64) {
        self.writer.move_hold(self.id, segment);
    }
}

impl Drop for SegmentHold {
    fn drop(&mut self) {
        self.writer.release_hold(self.id);
    }
}

/// Frames after a position, read as the log grows. Only durable frames are
/// read (everything under [`SyncMode::Never`](crate::SyncMode::Never), which
/// never syncs), so a reader never sees a frame a crash could take back.
///
/// The tail holds its segments: a segment it has not finished stays on disk
/// until [`WalTail::release_before`] says the reader is done with it.
#[derive(Debug)]
pub struct WalTail {
    writer: Arc<Writer>,
    hold: SegmentHold,
    /// End of the last frame read: the next read starts here.
    next: Position,
    /// The open segment being read, with its number.
    open: Option<(u64, BufReader<File>)>,
    payload: Vec<u8>,
}

impl WalTail {
    pub(crate) fn new(writer: Arc<Writer>, from: Position) -> Result<Self> {
        let hold = SegmentHold::new(writer.clone(), from.segment);
        let mut tail = Self { writer, hold, next: from, open: None, payload: Vec::new() };
        if tail.next.segment < tail.writer.current_segment() || tail.next.offset > 0 {
            // Fails now, not at the first read, when the segment is gone.
            tail.open_segment(tail.next.segment)?;
        }
        Ok(tail)
    }

    /// End of the last frame read (where the next read starts).
    pub fn position(&self) -> Position {
        self.next
    }

    /// Lets the WAL delete segments before `position.segment`: the reader
    /// will never ask for frames before `position` again.
    pub fn release_before(&self, position: Position) {
        self.hold.release_before(position.segment.min(self.next.segment));
    }

    /// Reads up to `max_frames` durable frames after [`WalTail::position`],
    /// calling `on_frame` with each one's end position and payload; returns
    /// how many were read (0: nothing new is durable yet). A damaged frame
    /// is [`Error::Corruption`]; a segment deleted before this tail held it
    /// is [`Error::SegmentGone`].
    pub fn read(&mut self, max_frames: usize, mut on_frame: impl FnMut(Position, &[u8])) -> Result<usize> {
        let end = self.writer.readable_end();
        if let Some((_, reader)) = &mut self.open {
            // Drops anything buffered past the last durable frame: bytes of a
            // write that failed may be cut and written again differently.
            reader.seek(SeekFrom::Start(self.next.offset)).context(|| "seeking in a WAL segment".to_string())?;
        }
        let mut read = 0;
        while read < max_frames && self.next < end {
            let segment = self.next.segment;
            // A segment before the end one is complete: read it to its end.
            let limit = if segment < end.segment { None } else { Some(end.offset) };
            self.open_segment(segment)?;
            let Some((_, reader)) = &mut self.open else { return Err(Error::SegmentGone { segment }) };
            let len = reader.get_ref().metadata().context(|| format!("reading WAL segment {segment:08}.wal"))?.len();
            let stop = limit.unwrap_or(len).min(len);
            if self.next.offset >= stop {
                if limit.is_none() {
                    self.next = Position { segment: segment + 1, offset: 0 };
                    self.open = None;
                    continue;
                }
                break;
            }
            let frame_end = read_frame(reader, segment, self.next.offset, stop, &mut self.payload)?;
            self.next = Position { segment, offset: frame_end };
            on_frame(self.next, &self.payload);
            read += 1;
        }
        Ok(read)
    }

    /// Opens `segment` for reading at `self.next` unless it is open already;
    /// starting a segment, its header is checked and skipped.
    fn open_segment(&mut self, segment: u64) -> Result<()> {
        let reopen = !matches!(&self.open, Some((n, _)) if *n == segment);
        if reopen {
            let path = segment::path(self.writer.dir(), segment);
            let file = match self.writer.fs().open_read(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::SegmentGone { segment }),
                Err(e) => return Err(e).context(|| format!("opening WAL segment {}", path.display())),
            };
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let reading = || format!("reading WAL segment {}", path.display());
            if self.next.offset == 0 {
                let mut header = [0; SEGMENT_HEADER_LEN as usize];
                reader.read_exact(&mut header).context(reading)?;
                match segment::decode_header(header) {
                    Ok(_) => {}
                    Err(HeaderError::UnsupportedVersion(version)) => {
                        return Err(Error::UnsupportedVersion { segment, version })
                    }
                    Err(HeaderError::AllZero | HeaderError::Bad) => {
                        return Err(Error::Corruption { segment, offset: 0, kind: CorruptionKind::BadHeader })
                    }
                }
                self.next.offset = SEGMENT_HEADER_LEN;
            } else {
                reader.seek(SeekFrom::Start(self.next.offset)).context(reading)?;
            }
            self.open = Some((segment, reader));
        }
        Ok(())
    }
}

/// Reads the frame starting at `offset` (which must end by `stop`) into
/// `payload`; returns where it ends.
fn read_frame(reader: &mut impl Read, segment: u64, offset: u64, stop: u64, payload: &mut Vec<u8>) -> Result<u64> {
    let corrupt = |kind| Error::Corruption { segment, offset, kind };
    if stop - offset < FRAME_HEADER_LEN as u64 {
        return Err(corrupt(CorruptionKind::Truncated));
    }
    let reading = || format!("reading WAL segment {segment:08}.wal at offset {offset}");
    let mut header = [0; FRAME_HEADER_LEN];
    reader.read_exact(&mut header).context(reading)?;
    let header = frame::decode_header(header).map_err(|e| corrupt(e.corruption_kind()))?;
    let end = offset + FRAME_HEADER_LEN as u64 + u64::from(header.len);
    if end > stop {
        return Err(corrupt(CorruptionKind::Truncated));
    }
    payload.resize(header.payload_len(), 0);
    reader.read_exact(payload).context(reading)?;
    header.verify(payload).map_err(|e| corrupt(e.corruption_kind()))?;
    Ok(end)
}
