//! Read-only verification of a WAL directory (`pulsedb check`): every
//! frame's checksum, segment numbering, and where damage starts, without
//! changing a byte. Damage at the end of the last segment is a torn tail,
//! which opening cuts off by itself; damage anywhere else needs
//! [`repair`](crate::repair).

use std::path::Path;

use crate::error::{IoContext, Result};
use crate::file::Fs;
use crate::reader::{self, SegmentEnd};
use crate::repair::CorruptionSite;
use crate::segment;
use crate::CorruptionKind;

/// What [`verify`] found.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub segments: usize,
    /// Intact frames read (up to the first damage).
    pub frames: u64,
    /// Bytes of segment files.
    pub bytes: u64,
    /// The first damage that opening would refuse, if any.
    pub corruption: Option<CorruptionSite>,
    /// A torn tail at the end of the last segment (opening cuts it off; not damage).
    pub torn_tail: Option<CorruptionSite>,
}

/// Reads every segment in `dir`, calling `on_frame(segment, payload)` for
/// each intact frame; stops at the first damage that is not a torn tail.
pub fn verify(dir: impl AsRef<Path>, mut on_frame: impl FnMut(u64, &[u8])) -> Result<VerifyReport> {
    let dir = dir.as_ref();
    let fs = Fs::new();
    let numbers = segment::list(&fs, dir)?;
    let mut report = VerifyReport { segments: numbers.len(), ..VerifyReport::default() };
    for (i, &number) in numbers.iter().enumerate() {
        if let Some(&previous) = i.checked_sub(1).and_then(|p| numbers.get(p)) {
            if number != previous.saturating_add(1) {
                let site = CorruptionSite {
                    segment: previous.saturating_add(1),
                    offset: 0,
                    kind: CorruptionKind::MissingSegment,
                };
                report.corruption = Some(site);
                return Ok(report);
            }
        }
        let path = segment::path(dir, number);
        let file = fs.open_read(&path).context(|| format!("opening WAL segment {}", path.display()))?;
        report.bytes += fs.len(&file).context(|| format!("reading the size of {}", path.display()))?;
        let mut frames = 0;
        let end = reader::read_segment(&fs, &file, number, &path, |_, payload| {
            frames += 1;
            on_frame(number, payload);
            Ok(())
        })?;
        report.frames += frames;
        let last = i + 1 == numbers.len();
        // The same rule as replay: only the last segment may be torn, after its header.
        let (site, torn) = match end {
            SegmentEnd::Clean => continue,
            SegmentEnd::Corrupt { offset, kind, .. } => {
                (CorruptionSite { segment: number, offset, kind }, last && offset >= segment::SEGMENT_HEADER_LEN)
            }
            SegmentEnd::TornHeader { kind, .. } => (CorruptionSite { segment: number, offset: 0, kind }, last),
        };
        if torn {
            report.torn_tail = Some(site);
        } else {
            report.corruption = Some(site);
            return Ok(report);
        }
    }
    Ok(report)
}
