//! Opening a WAL: replaying every segment in order, applying the recovery
//! policy (a torn tail of the last segment is cut off, damage anywhere else
//! is an error), and starting a fresh segment for writing.
//!
//! Why only the last segment may be torn: a rotation fsyncs the old segment
//! before the next one is created, so any segment but the last was complete
//! on disk; damage there is real corruption, which needs a human (or
//! [`repair`](crate::repair)), not a silent cut.

use std::error::Error as StdError;
use std::path::Path;

use crate::error::{CorruptionKind, Error, IoContext, Result};
use crate::file::Fs;
use crate::reader::{self, SegmentEnd};
use crate::segment::{self, SEGMENT_HEADER_LEN};
use crate::wal::{Position, WalOptions};
use crate::writer::Writer;

pub(crate) fn open<E>(
    dir: &Path,
    options: &WalOptions,
    mut replay: impl FnMut(Position, &[u8]) -> Result<(), E>,
) -> Result<Writer>
where
    E: Into<Box<dyn StdError + Send + Sync>>,
{
    options.validate()?;
    let fs = Fs::new();
    create_dir(&fs, dir)?;

    let numbers = segment::list(&fs, dir)?;
    if let Some(missing) = segment::first_gap(&numbers) {
        return Err(Error::Corruption { segment: missing, offset: 0, kind: CorruptionKind::MissingSegment });
    }

    let mut next = 1;
    for (i, &number) in numbers.iter().enumerate() {
        let is_last = i + 1 == numbers.len();
        if number < options.replay_from {
            // Checkpointed by the caller: not read at all.
            next = number.saturating_add(1);
            continue;
        }
        let path = segment::path(dir, number);
        let file = if is_last { fs.open_read_write(&path) } else { fs.open_read(&path) }
            .context(|| format!("opening WAL segment {}", path.display()))?;

        let end = reader::read_segment(&fs, &file, number, &path, |position, payload| {
            replay(position, payload).map_err(|e| Error::Replay { position, source: e.into() })
        })?;
        next = number.saturating_add(1);

        match end {
            SegmentEnd::Clean if is_last => {
                // The previous process may have died (SyncMode::Never,
                // Interval) before syncing it; the new segment's synced
                // positions must imply this one is durable.
                fs.sync_data(&file).context(|| format!("fdatasync of {}", path.display()))?;
            }
            SegmentEnd::Clean => {}
            SegmentEnd::Corrupt { offset, kind, len } if is_last && offset >= SEGMENT_HEADER_LEN => {
                tracing::warn!(
                    segment = number,
                    offset,
                    bytes_dropped = len - offset,
                    %kind,
                    path = %path.display(),
                    "WAL: cutting off the torn tail of the last segment"
                );
                fs.set_len(&file, offset).context(|| format!("truncating {} to {offset} bytes", path.display()))?;
                fs.sync_data(&file).context(|| format!("fdatasync of {}", path.display()))?;
            }
            SegmentEnd::TornHeader { len, kind } if is_last => {
                tracing::warn!(
                    segment = number,
                    bytes_dropped = len,
                    %kind,
                    path = %path.display(),
                    "WAL: deleting the last segment, whose header never reached the disk"
                );
                drop(file);
                fs.remove_file(&path).context(|| format!("deleting torn WAL segment {}", path.display()))?;
                fs.sync_dir(dir).context(|| format!("fsyncing WAL directory {}", dir.display()))?;
                next = number;
            }
            SegmentEnd::Corrupt { offset, kind, .. } => {
                return Err(Error::Corruption { segment: number, offset, kind })
            }
            SegmentEnd::TornHeader { kind, .. } => return Err(Error::Corruption { segment: number, offset: 0, kind }),
        }
    }

    Writer::create(fs, dir, options, next)
}

/// Creates `dir` if missing, and makes its entry in the parent durable.
/// (Only the immediate parent is fsynced; ancestors created along the way
/// are not.)
fn create_dir(fs: &Fs, dir: &Path) -> Result<()> {
    let created = fs.create_dir_all(dir).context(|| format!("creating WAL directory {}", dir.display()))?;
    if created {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fs.sync_dir(parent).context(|| format!("fsyncing directory {}", parent.display()))?;
    }
    Ok(())
}
