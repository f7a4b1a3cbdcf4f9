//! Offline repair: cut the WAL at its first damaged byte, wherever it is,
//! so that [`Wal::open`](crate::Wal::open) succeeds again. This throws data
//! away, so it is never automatic, and it says loudly what it dropped.

use std::path::Path;

use crate::error::{CorruptionKind, IoContext, Result};
use crate::file::Fs;
use crate::reader::{self, SegmentEnd};
use crate::segment::{self, SEGMENT_HEADER_LEN};

/// Where a WAL was found damaged.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorruptionSite {
    /// Segment number (for a missing segment, the missing number).
    pub segment: u64,
    /// Byte offset in the segment file where the damage starts; the file
    /// now ends there (0: the segment was deleted).
    pub offset: u64,
    /// What was wrong.
    pub kind: CorruptionKind,
}

/// What [`repair`] did.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// The first damage found, where the WAL now ends; `None` if it was
    /// clean and nothing was changed.
    pub corruption: Option<CorruptionSite>,
    /// Bytes removed: the cut-off tail plus the whole deleted segments.
    pub bytes_dropped: u64,
    /// Segments deleted, ascending.
    pub segments_deleted: Vec<u64>,
}

impl RepairReport {
    /// Whether the WAL was intact and left untouched.
    pub fn is_clean(&self) -> bool {
        self.corruption.is_none()
    }
}

/// Truncates the WAL in `dir` at the first damaged frame in any segment:
/// that segment is cut where the bad frame starts (deleted if its header is
/// bad), every later segment is deleted, and the changes are fsynced.
/// Returns what was dropped (a clean report if nothing was wrong) and logs
/// it with `tracing::warn!`.
///
/// Run it only while no [`Wal`](crate::Wal) has the directory open.
///
/// Errors: [`Error::UnsupportedVersion`](crate::Error::UnsupportedVersion) if a segment has a format version
/// this build does not know (such data is not damaged, so it is never cut);
/// [`Error::Io`](crate::Error::Io).
pub fn repair(dir: impl AsRef<Path>) -> Result<RepairReport> {
    let dir = dir.as_ref();
    let fs = Fs::new();
    let numbers = segment::list(&fs, dir)?;
    let mut report = RepairReport::default();

    // Index of the first segment to delete whole, once damage is found.
    let mut delete_from = None;
    for (i, &number) in numbers.iter().enumerate() {
        if let Some(&previous) = i.checked_sub(1).and_then(|p| numbers.get(p)) {
            if number != previous.saturating_add(1) {
                report.corruption = Some(CorruptionSite {
                    segment: previous.saturating_add(1),
                    offset: 0,
                    kind: CorruptionKind::MissingSegment,
                });
                delete_from = Some(i);
                break;
            }
        }
        let path = segment::path(dir, number);
        let file = fs.open_read_write(&path).context(|| format!("opening WAL segment {}", path.display()))?;
        match reader::read_segment(&fs, &file, number, &path, |_, _| Ok(()))? {
            SegmentEnd::Clean => {}
            SegmentEnd::Corrupt { offset, kind, len } if offset >= SEGMENT_HEADER_LEN => {
                tracing::warn!(
                    segment = number,
                    offset,
                    bytes_dropped = len - offset,
                    %kind,
                    path = %path.display(),
                    "WAL repair: truncating segment at its first damaged frame"
                );
                fs.set_len(&file, offset).context(|| format!("truncating {} to {offset} bytes", path.display()))?;
                fs.sync_data(&file).context(|| format!("fdatasync of {}", path.display()))?;
                report.bytes_dropped += len - offset;
                report.corruption = Some(CorruptionSite { segment: number, offset, kind });
                delete_from = Some(i + 1);
                break;
            }
            SegmentEnd::Corrupt { kind, .. } | SegmentEnd::TornHeader { kind, .. } => {
                report.corruption = Some(CorruptionSite { segment: number, offset: 0, kind });
                delete_from = Some(i);
                break;
            }
        }
    }

    let doomed = delete_from.and_then(|i| numbers.get(i..)).unwrap_or_default();
    // Newest first, with a directory fsync after each removal: if we crash
    // halfway, the segments left are still contiguous.
    for &number in doomed.iter().rev() {
        let path = segment::path(dir, number);
        let len = fs
            .open_read(&path)
            .and_then(|f| fs.len(&f))
            .context(|| format!("reading the size of {}", path.display()))?;
        tracing::warn!(
            segment = number,
            bytes_dropped = len,
            path = %path.display(),
            "WAL repair: deleting segment after the damage"
        );
        fs.remove_file(&path).context(|| format!("deleting WAL segment {}", path.display()))?;
        fs.sync_dir(dir).context(|| format!("fsyncing WAL directory {}", dir.display()))?;
        report.bytes_dropped += len;
        report.segments_deleted.insert(0, number);
    }

    match &report.corruption {
        Some(site) => tracing::warn!(
            dir = %dir.display(),
            segment = site.segment,
            offset = site.offset,
            kind = %site.kind,
            bytes_dropped = report.bytes_dropped,
            segments_deleted = ?report.segments_deleted,
            "WAL repaired: everything from the first damaged byte on was dropped"
        ),
        None => tracing::info!(dir = %dir.display(), "WAL repair: no damage found"),
    }
    Ok(report)
}
